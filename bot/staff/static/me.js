// Who is signed in, for the staff pages' header: fills #signed-in (and shows admin-only links) from /staff/api/me.
// Text only ever reaches the page through textContent.
"use strict";

(() => {
  const ROLE_LABELS = { staff: "staff", clinician: "clinician", admin: "administrator", machine: "machine" };

  async function show() {
    const target = document.getElementById("signed-in");
    if (!target) return;
    let me;
    try {
      const response = await fetch("/staff/api/me", { cache: "no-store", credentials: "same-origin" });
      if (!response.ok) return;
      me = await response.json();
    } catch (_) {
      return;
    }
    target.textContent = `Signed in as ${me.name} (${ROLE_LABELS[me.role] || me.role})`;
    target.dataset.username = me.username;
    const audit = document.getElementById("audit-link");
    if (audit && me.role === "admin") audit.hidden = false;
    // With single sign-on the proxy holds the sign-in: logging out is done there.
    const logout = document.getElementById("logout");
    if (logout && me.via === "proxy") logout.hidden = true;
  }

  show();
})();
