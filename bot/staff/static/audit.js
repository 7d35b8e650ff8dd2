// The audit trail page (admins only: the API answers 403 to anyone else). Text reaches the page only as textContent.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  let cursor = null;

  function say(text) {
    $("status").textContent = text;
  }

  function query(extra = {}) {
    const params = new URLSearchParams();
    for (const name of ["ticket", "actor"]) {
      const value = $(name).value.trim();
      if (value) params.set(name, value);
    }
    for (const [name, value] of Object.entries(extra)) params.set(name, value);
    const text = params.toString();
    return text ? `?${text}` : "";
  }

  function cell(text) {
    const td = document.createElement("td");
    td.textContent = text || "";
    return td;
  }

  function row(entry) {
    const tr = document.createElement("tr");
    const when = cell("");
    const time = document.createElement("time");
    time.dateTime = entry.at;
    time.textContent = new Date(entry.at).toLocaleString();
    when.append(time);
    tr.append(when, cell(entry.actor), cell(entry.action), cell(entry.ticket_id), cell(entry.remote), cell(entry.detail));
    return tr;
  }

  async function load(more) {
    const response = await fetch(`/staff/api/audit${query(more && cursor ? { cursor } : {})}`, {
      cache: "no-store",
      credentials: "same-origin",
    });
    if (response.status === 401) {
      window.location.assign("/staff");
      return;
    }
    const data = await response.json().catch(() => null);
    if (!response.ok || !data) {
      say((data && data.message) || `The audit trail could not be loaded (HTTP ${response.status}).`);
      return;
    }
    if (!more) $("rows").replaceChildren();
    for (const entry of data.entries) $("rows").append(row(entry));
    cursor = data.next_cursor;
    $("entries").hidden = false;
    $("more").hidden = !cursor;
    const shown = $("rows").children.length;
    say(`${shown} entr${shown === 1 ? "y" : "ies"} shown${cursor ? "; older ones follow" : ""}.`);
  }

  $("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    $("export").href = `/staff/api/audit/export${query()}`;
    load(false);
  });
  $("more").addEventListener("click", () => load(true));
  load(false);
})();
