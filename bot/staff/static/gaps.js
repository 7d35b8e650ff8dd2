// Content gaps page. Uses the inbox's staff login (its session cookie).
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);

  function cell(tag, text) {
    const node = document.createElement(tag);
    node.textContent = text;
    return node;
  }

  async function load(days) {
    const response = await fetch(`/staff/api/gaps?days=${encodeURIComponent(days)}`, {
      credentials: "same-origin",
      cache: "no-store",
    });
    if (response.status === 401) {
      $("status").textContent = "Log in on the staff inbox first, then come back to this page.";
      $("gaps").hidden = true;
      return;
    }
    const data = await response.json();
    if (!response.ok) {
      $("status").textContent = data.message || `Request failed (HTTP ${response.status}).`;
      return;
    }
    const rows = $("rows");
    rows.replaceChildren();
    for (const medicine of data.medicines) {
      for (const gap of medicine.aspects) {
        const tr = document.createElement("tr");
        tr.append(
          cell("td", medicine.drug || "(no medicine named)"),
          cell("td", gap.aspect || "(not known)"),
          cell("td", gap.reason),
          cell("td", String(gap.count)),
        );
        rows.append(tr);
      }
    }
    const total = data.medicines.reduce((sum, m) => sum + m.total, 0);
    $("status").textContent = `${total} unanswered question(s) in the last ${data.days} days.`;
    $("gaps").hidden = data.medicines.length === 0;
  }

  $("range").addEventListener("submit", (event) => {
    event.preventDefault();
    load($("days").value).catch((err) => {
      $("status").textContent = String(err);
    });
  });
  load($("days").value).catch((err) => {
    $("status").textContent = String(err);
  });
})();
