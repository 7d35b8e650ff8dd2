// Staff inbox (served only to a logged-in browser: the session is an HttpOnly cookie this script never sees).
// Ticket text only ever reaches the page through textContent, never as markup.
//
// Element ids and classes are stable: browser tests drive the page by them.
//   #status            polite live region: what just happened (loaded, claimed, errors)
//   #filters           the filter form: #f-emergency #f-urgent #f-routine (checkboxes), #f-status, #f-channel,
//                      #f-assigned (selects), #f-older #f-newer (hours), #f-apply (submit)
//   #counts            true counts for the filter: total, per urgency, per status
//   #ticket-list       the list; each ticket is a button .ticket-row[data-id] (aria-current="true" when open),
//                      with .overdue on rows past their target
//   #more              loads the next page (hidden on the last page); #list-end says "Showing n of N"
//   #detail            the open ticket: #detail-title, #detail-meta, #detail-timing (waited vs target, .overdue),
//                      #detail-way-back, #detail-message, #transcript, #follow-ups, #replies, #notes
//   #claim #resolve    actions on the open ticket; #reassign-to + #reassign (form #reassign-form)
//   #reply-text + #reply-send   a reply to the person (form #reply-form); #reply-status shows its errors
//   #note-text + #note-add      an internal note (form #note-form)
//   #refresh           reloads the list from the top (the timed refresh sends X-Staff-Background: 1, so it does not
//                      keep an idle session alive); #signed-in and #audit-link are me.js's
"use strict";

(() => {
  const REFRESH_MS = 30000;
  const PAGE_SIZE = 50;
  const ROLE_LABELS = { user: "Patient", bot: "Bot", staff: "Care team" };
  const URGENCIES = ["emergency", "urgent", "routine"];
  const STATUSES = ["open", "claimed", "resolved"];
  const WAY_BACK = { sms: "SMS (reply goes to the person's phone)", web: "Web widget (shown when they open it)" };
  const REPLY_ERRORS = {
    no_way_back: "No way to reply in this channel: call the clinic number.",
    opted_out: "This person has opted out of text messages: call the clinic number.",
  };

  const $ = (id) => document.getElementById(id);
  const state = { cursor: null, shown: 0, openId: null, ticket: null };

  class Unauthorized extends Error {}
  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  function el(tag, options = {}, children = []) {
    const node = document.createElement(tag);
    if (options.className) node.className = options.className;
    if (options.text !== undefined) node.textContent = options.text;
    for (const [name, value] of Object.entries(options.attrs || {})) node.setAttribute(name, value);
    for (const child of children) node.append(child);
    return node;
  }

  function say(text) {
    $("status").textContent = text;
  }

  function formatTime(iso) {
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
  }

  function duration(seconds) {
    const minutes = Math.round(seconds / 60);
    if (seconds < 60) return `${Math.round(seconds)} s`;
    if (minutes < 60) return `${minutes} min`;
    const hours = Math.floor(minutes / 60);
    if (hours < 48) return `${hours} h ${minutes % 60} min`;
    return `${Math.floor(hours / 24)} d ${hours % 24} h`;
  }

  function timingText(t) {
    const waited = t.first_action_at ? `First action after ${duration(t.waited_seconds)}` : `Waiting ${duration(t.waited_seconds)}`;
    return `${waited} · target ${t.target} (${duration(t.target_seconds)})${t.overdue ? " · Overdue" : ""}`;
  }

  async function api(path, options = {}) {
    // The server refuses cookie-authenticated POSTs without this header: another site's form cannot send it.
    const headers = { "X-Staff-CSRF": "1" };
    // A timed refresh is not the person's activity: it must not keep an idle session alive.
    if (options.background) headers["X-Staff-Background"] = "1";
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, {
      method: options.method || "GET",
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      cache: "no-store",
      credentials: "same-origin",
    });
    if (response.status === 401) throw new Unauthorized();
    let data = null;
    try {
      data = await response.json();
    } catch (_) {
      data = null;
    }
    if (!response.ok) {
      const message = (data && data.message) || `Request failed (HTTP ${response.status}).`;
      throw new ApiError(response.status, (data && data.error) || "", message);
    }
    return data;
  }

  function handleError(error) {
    if (error instanceof Unauthorized) {
      window.location.assign("/staff"); // the session ended: the server shows the login form
    } else {
      say(error.message || "Something went wrong.");
    }
  }

  // The list ------------------------------------------------------------------------------------------------

  function query(cursor) {
    const params = new URLSearchParams();
    const form = $("filters");
    const urgencies = URGENCIES.filter((u) => $(`f-${u}`).checked);
    if (urgencies.length) params.set("urgency", urgencies.join(","));
    params.set("status", form.elements.status.value);
    for (const name of ["channel", "assigned", "older_than", "newer_than"]) {
      const value = form.elements[name].value.trim();
      if (value) params.set(name, value);
    }
    params.set("limit", String(PAGE_SIZE));
    if (cursor) params.set("cursor", cursor);
    return `/staff/api/tickets?${params}`;
  }

  function row(ticket) {
    const who = ticket.status === "claimed" ? `claimed by ${ticket.claimed_by}` : ticket.status;
    const button = el("button", {
      className: `ticket-row urgency-${ticket.urgency}${ticket.overdue ? " overdue" : ""}`,
      attrs: { type: "button", "data-id": ticket.id, "aria-controls": "detail" },
    }, [
      el("span", { className: "badge", text: ticket.urgency }),
      el("span", { className: "reason", text: ticket.reason || "Handoff" }),
      el("span", { className: "meta", text: `${who} · via ${ticket.channel} · ${formatTime(ticket.created_at)}` }),
      el("span", { className: "meta", text: timingText(ticket) }),
    ]);
    if (ticket.id === state.openId) button.setAttribute("aria-current", "true");
    button.addEventListener("click", () => openTicket(ticket.id));
    return el("li", {}, [button]);
  }

  function showCounts(counts) {
    const parts = [`${counts.total} ticket(s)`];
    for (const u of URGENCIES) parts.push(`${u} ${counts.by_urgency[u] || 0}`);
    for (const s of STATUSES) parts.push(`${s} ${counts.by_status[s] || 0}`);
    $("counts").textContent = parts.join(" · ");
  }

  async function loadList(append = false, quiet = false, background = false) {
    try {
      const page = await api(query(append ? state.cursor : null), { background });
      const list = $("ticket-list");
      if (!append) {
        list.replaceChildren();
        state.shown = 0;
      }
      for (const ticket of page.tickets) list.append(row(ticket));
      state.shown += page.tickets.length;
      state.cursor = page.next_cursor;
      showCounts(page.counts);
      $("more").hidden = !page.next_cursor;
      $("list-end").textContent = `Showing ${state.shown} of ${page.counts.total}.`;
      if (!quiet) say(`${state.shown} of ${page.counts.total} ticket(s) shown. Updated ${new Date().toLocaleTimeString()}.`);
    } catch (error) {
      handleError(error);
    }
  }

  // The open ticket -----------------------------------------------------------------------------------------

  function fillList(id, items, render) {
    const list = $(id);
    list.replaceChildren(...items.map(render));
    if (!items.length) list.append(el("li", { className: "empty", text: "None." }));
  }

  function showTicket(ticket) {
    state.ticket = ticket;
    state.openId = ticket.id;
    $("detail").hidden = false;
    $("detail-title").textContent = ticket.reason || "Handoff";
    const who = ticket.status === "claimed" ? `claimed by ${ticket.claimed_by}` : ticket.status;
    $("detail-meta").textContent =
      `${ticket.urgency} · ${who} · via ${ticket.channel} · received ${formatTime(ticket.created_at)}`;
    $("detail-timing").textContent = timingText(ticket);
    $("detail-timing").classList.toggle("overdue", Boolean(ticket.overdue));
    $("detail-way-back").textContent = `Way back: ${WAY_BACK[ticket.reply_channel] || "none (call the clinic number)"}`;
    $("detail-message").textContent = ticket.message;
    fillList("transcript", ticket.transcript, (turn) => el("li", {}, [
      el("span", { className: "role", text: `${ROLE_LABELS[turn.role] || turn.role}: ` }),
      turn.text,
    ]));
    fillList("follow-ups", ticket.follow_ups, (f) => el("li", { text: `${formatTime(f.created_at)}: ${f.text}` }));
    fillList("replies", ticket.replies || [], (r) => el("li", {
      text: `${formatTime(r.created_at)} ${r.staff} (${r.status}${r.error ? `: ${r.error}` : ""}): ${r.text}`,
    }));
    fillList("notes", ticket.notes || [], (n) => el("li", { text: `${formatTime(n.created_at)} ${n.staff}: ${n.text}` }));
    $("claim").disabled = ticket.status !== "open";
    $("resolve").disabled = ticket.status === "resolved";
    $("reassign").disabled = ticket.status === "resolved";
    for (const button of document.querySelectorAll(".ticket-row")) {
      if (button.dataset.id === ticket.id) button.setAttribute("aria-current", "true");
      else button.removeAttribute("aria-current");
    }
  }

  async function openTicket(id, focus = true) {
    try {
      showTicket(await api(`/staff/api/tickets/${encodeURIComponent(id)}`));
      if (focus) {
        $("reply-status").textContent = "";
        $("detail-title").focus();
      }
    } catch (error) {
      handleError(error);
    }
  }

  async function act(path, body, done) {
    const id = state.openId;
    if (!id) return false;
    try {
      const data = await api(`/staff/api/tickets/${encodeURIComponent(id)}/${path}`, { method: "POST", body });
      showTicket(data.ticket || data);
      await loadList(false, true);
      say(done);
      return true;
    } catch (error) {
      handleError(error);
      return false;
    }
  }

  async function sendReply(event) {
    event.preventDefault();
    const text = $("reply-text").value.trim();
    if (!text) {
      $("reply-status").textContent = "Write the reply first.";
      return;
    }
    $("reply-status").textContent = "";
    try {
      const data = await api(`/staff/api/tickets/${encodeURIComponent(state.openId)}/reply`, {
        method: "POST",
        body: { text },
      });
      $("reply-text").value = "";
      if (data && data.ticket) showTicket(data.ticket);
      await loadList(false, true);
      say("Reply sent.");
    } catch (error) {
      if (error instanceof Unauthorized) return handleError(error);
      const known = REPLY_ERRORS[error.code];
      const failed = error.code === "send_failed" ? `Sending failed: ${error.message} Nothing reached the person.` : "";
      $("reply-status").textContent = known || failed || error.message;
      if (error.code === "send_failed") await openTicket(state.openId, false);
    }
  }

  async function addNote(event) {
    event.preventDefault();
    const text = $("note-text").value.trim();
    if (!text) {
      say("Write the note first.");
      return;
    }
    if (await act("notes", { text }, "Note added.")) $("note-text").value = "";
  }

  async function reassign(event) {
    event.preventDefault();
    const to = $("reassign-to").value.trim();
    if (!to) {
      say("Enter the username to reassign to.");
      return;
    }
    await act("reassign", { to }, `Reassigned to ${to}.`);
  }

  function start() {
    $("filters").addEventListener("submit", (event) => {
      event.preventDefault();
      loadList();
    });
    for (const id of ["f-status", "f-channel", "f-assigned", ...URGENCIES.map((u) => `f-${u}`)]) {
      $(id).addEventListener("change", () => loadList());
    }
    $("more").addEventListener("click", () => loadList(true));
    $("refresh").addEventListener("click", () => loadList());
    // No body: the server claims it for the signed-in account.
    $("claim").addEventListener("click", () => act("claim", undefined, "Claimed."));
    $("resolve").addEventListener("click", () => act("resolve", undefined, "Resolved."));
    $("reassign-form").addEventListener("submit", reassign);
    $("reply-form").addEventListener("submit", sendReply);
    $("note-form").addEventListener("submit", addNote);
    setInterval(() => {
      if (state.shown <= PAGE_SIZE && !document.hidden) loadList(false, false, true);
    }, REFRESH_MS);
    loadList();
  }

  start();
})();
