// Staff inbox (served only to a logged-in browser: the session is an HttpOnly cookie this script never sees).
// Ticket text only ever reaches the page through textContent, never as markup.
"use strict";

(() => {
  const REFRESH_MS = 20000;
  const GROUPS = [
    ["emergency", "Emergency"],
    ["urgent", "Urgent"],
    ["routine", "Routine"],
  ];
  const ROLE_LABELS = { user: "Patient", bot: "Bot" };

  const $ = (id) => document.getElementById(id);

  class Unauthorized extends Error {}

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
      throw new Error((data && data.message) || `Request failed (HTTP ${response.status}).`);
    }
    return data;
  }

  function renderTicket(ticket) {
    const received = formatTime(ticket.created_at);
    const headingId = `ticket-${ticket.id}`;
    const status = ticket.status === "claimed" ? `claimed by ${ticket.claimed_by}` : ticket.status;
    const article = el("article", {
      className: `ticket urgency-${ticket.urgency}`,
      attrs: { "aria-labelledby": headingId, "data-ticket-id": ticket.id },
    });
    article.append(
      el("h4", { text: ticket.reason || "Handoff", attrs: { id: headingId } }),
      el("p", { className: "meta" }, [
        "Received ",
        el("time", { text: received, attrs: { datetime: ticket.created_at } }),
        ` · via ${ticket.channel} · ${status}`,
      ]),
      el("p", { className: "message", text: ticket.message }),
    );

    if (ticket.transcript.length) {
      const list = el("ol", { className: "transcript", attrs: { "aria-label": "Conversation" } });
      for (const turn of ticket.transcript) {
        list.append(el("li", {}, [
          el("span", { className: "role", text: `${ROLE_LABELS[turn.role] || turn.role}: ` }),
          turn.text,
        ]));
      }
      article.append(el("h5", { text: "Conversation" }), list);
    }
    if (ticket.follow_ups.length) {
      const list = el("ul", { className: "follow-ups", attrs: { "aria-label": "Follow-ups" } });
      for (const follow of ticket.follow_ups) {
        list.append(el("li", { text: `${formatTime(follow.created_at)}: ${follow.text}` }));
      }
      article.append(el("h5", { text: "Follow-ups" }), list);
    }

    const what = `${ticket.urgency} ticket "${ticket.reason}" received ${received}`;
    const claim = el("button", {
      text: "Claim",
      attrs: { type: "button", "aria-label": `Claim ${what}` },
    });
    claim.disabled = ticket.status !== "open";
    claim.addEventListener("click", () => claimTicket(ticket));
    const resolve = el("button", {
      text: "Resolve",
      attrs: { type: "button", "aria-label": `Resolve ${what}` },
    });
    resolve.addEventListener("click", () => resolveTicket(ticket));
    article.append(el("div", { className: "actions" }, [claim, resolve]));
    return article;
  }

  function render(tickets) {
    const groups = $("groups");
    groups.replaceChildren();
    for (const [urgency, label] of GROUPS) {
      const mine = tickets.filter((t) => t.urgency === urgency);
      const section = el("section", {
        className: "group",
        attrs: { "aria-labelledby": `group-${urgency}` },
      });
      section.append(el("h3", { text: `${label} (${mine.length})`, attrs: { id: `group-${urgency}` } }));
      if (mine.length) {
        for (const ticket of mine) section.append(renderTicket(ticket));
      } else {
        section.append(el("p", { className: "empty", text: "None." }));
      }
      groups.append(section);
    }
  }

  async function load(background = false) {
    try {
      const tickets = await api("/staff/api/tickets?status=active", { background: background === true });
      render(tickets);
      say(`${tickets.length} open ticket(s). Updated ${new Date().toLocaleTimeString()}.`);
    } catch (error) {
      handleError(error);
    }
  }

  async function claimTicket(ticket) {
    try {
      // The server claims it for the signed-in account; no name is sent.
      await api(`/staff/api/tickets/${encodeURIComponent(ticket.id)}/claim`, { method: "POST" });
      say(`Claimed: ${ticket.reason}.`);
    } catch (error) {
      handleError(error);
    }
    await load();
  }

  async function resolveTicket(ticket) {
    try {
      await api(`/staff/api/tickets/${encodeURIComponent(ticket.id)}/resolve`, { method: "POST" });
      say(`Resolved: ${ticket.reason}.`);
    } catch (error) {
      handleError(error);
    }
    await load();
  }

  function handleError(error) {
    if (error instanceof Unauthorized) {
      window.location.assign("/staff"); // the session ended: the server shows the login form
    } else {
      say(error.message || "Something went wrong.");
    }
  }

  function start() {
    $("refresh").addEventListener("click", () => load());
    setInterval(() => load(true), REFRESH_MS);
    load();
  }

  start();
})();
