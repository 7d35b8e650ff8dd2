/*
 * Clinic chat widget. Embed with one tag:
 *   <script src=".../widget.js" data-bot-url="https://bot.example.org" data-clinic-phone="555-0100"
 *           data-token-url="/portal/token" defer></script>
 * data-token-url is optional: a same-origin URL of the portal that returns {"token": "<JWT>"} for the
 * logged-in patient. Without it the bot issues an anonymous session (demo).
 * data-messages-url (with data-token-url): the portal's URL of the care team's replies to this patient
 * (GET, and POST <url>/read). The widget fetches them when the page loads and when it opens, polls every
 * 45 s while open, shows them as messages from the care team and marks the launcher until they are read.
 * They are keyed by the patient's sign-in, so they show on any device.
 *
 * No framework, no build step, no outside requests except the bot and the portal itself. Every piece of user and bot text is put in
 * the page with textContent, never as HTML. The widget lives in a shadow root so portal styles don't leak in.
 */
(function () {
  "use strict";

  var script = document.currentScript || document.querySelector("script[data-bot-url]");
  if (!script || window.__clinicChatWidget) return;
  window.__clinicChatWidget = true;

  var botUrl = (script.getAttribute("data-bot-url") || "").replace(/\/+$/, "");
  var cfg = {
    endpoint: botUrl + "/webhooks/web/webhook",
    clinicPhone: script.getAttribute("data-clinic-phone") || "",
    tokenUrl: script.getAttribute("data-token-url") || "",
    messagesUrl: script.getAttribute("data-token-url") ? script.getAttribute("data-messages-url") || "" : "",
    title: script.getAttribute("data-title") || "Medicine questions",
    cssUrl: script.getAttribute("data-css-url") || new URL("widget.css", script.src || location.href).href,
  };
  var STORE_KEY = "clinic-chat:" + botUrl;
  var MAX_CHARS = 2000;
  var MAX_ITEMS = 200;
  var TIMEOUT_MS = 45000;
  var POLL_MS = 45000;
  var CARE_TEAM = "Your care team";
  var URGENCY = {
    emergency: { label: "Emergency", note: "Get help now." },
    urgent: { label: "Urgent", note: "Your message was sent to the care team." },
    routine: { label: "Sent to the care team", note: "Staff will see it during clinic hours." },
  };
  var HOTLINES = {
    "911": { big: "Call 911", tel: "911" },
    "988": { big: "Call or text 988", tel: "988", small: "Suicide & Crisis Lifeline" },
    poison_control: { big: "Poison Control: 1-800-222-1222", tel: "18002221222" },
  };

  // ---- state, kept in sessionStorage so a reload keeps the conversation ----
  var state = load();
  var busy = false;
  var jwtToken = null;
  var unread = [];  // ids of care-team messages not yet marked read
  var pollTimer = null;

  function fresh() {
    return { v: 1, session: null, open: false, items: [], handoff: null };
  }
  function load() {
    try {
      var saved = JSON.parse(window.sessionStorage.getItem(STORE_KEY) || "null");
      if (saved && saved.v === 1 && Array.isArray(saved.items)) return saved;
    } catch (e) { /* storage blocked or corrupt: start over */ }
    return fresh();
  }
  function save() {
    state.items = state.items.slice(-MAX_ITEMS);
    try { window.sessionStorage.setItem(STORE_KEY, JSON.stringify(state)); } catch (e) { /* private mode */ }
  }

  // ---- DOM helpers: textContent only ----
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function str(value) {
    return typeof value === "string" ? value : "";
  }
  function telHref(phone) {
    var digits = str(phone).replace(/[^0-9+]/g, "");
    return digits ? "tel:" + digits : null;
  }
  function phoneLink(phone, className) {
    var href = telHref(phone);
    var link = el(href ? "a" : "span", className, phone);
    if (href) link.href = href;
    return link;
  }
  function offlineText() {
    return "Sorry, the chat isn't available right now. " +
      (cfg.clinicPhone ? "Please call the clinic at " + cfg.clinicPhone + ". " : "") +
      "In an emergency, call 911.";
  }

  // ---- build the widget ----
  var host = el("div");
  host.hidden = true;
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  var css = el("link");
  css.rel = "stylesheet";
  css.href = cfg.cssUrl;
  css.addEventListener("load", function () { host.hidden = false; });
  css.addEventListener("error", function () { host.hidden = false; });
  root.appendChild(css);

  var wrap = el("div", "ecz");
  var launcher = el("button", "ecz-launcher", "Chat");
  launcher.type = "button";
  var badge = el("span", "ecz-badge");
  badge.hidden = true;
  badge.setAttribute("aria-hidden", "true");
  launcher.appendChild(badge);
  launcher.setAttribute("aria-label", "Open chat");
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "ecz-panel");

  var panel = el("section", "ecz-panel");
  panel.id = "ecz-panel";
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-labelledby", "ecz-title");
  panel.setAttribute("aria-describedby", "ecz-disclaimer");

  var header = el("div", "ecz-header");
  var title = el("h2", "ecz-title", cfg.title);
  title.id = "ecz-title";
  var clearBtn = el("button", "ecz-header-btn", "Clear");
  clearBtn.type = "button";
  clearBtn.setAttribute("aria-label", "Clear conversation");
  var closeBtn = el("button", "ecz-header-btn ecz-close", "\u00d7");
  closeBtn.type = "button";
  closeBtn.setAttribute("aria-label", "Close chat");
  header.append(title, clearBtn, closeBtn);

  var disclaimer = el("p", "ecz-disclaimer",
    "General information from the clinic's handouts, not medical advice. In an emergency, call 911.");
  disclaimer.id = "ecz-disclaimer";

  var banner = el("div", "ecz-banner-slot");
  var log = el("div", "ecz-log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  log.setAttribute("aria-label", "Conversation");
  log.tabIndex = 0;

  var typing = el("div", "ecz-typing");
  typing.setAttribute("role", "status");

  var form = el("form", "ecz-form");
  form.noValidate = true;
  var input = el("input", "ecz-input");
  input.type = "text";
  input.id = "ecz-input";
  input.maxLength = MAX_CHARS;
  input.autocomplete = "off";
  input.placeholder = "Type your question";
  input.setAttribute("aria-label", "Message");
  var sendBtn = el("button", "ecz-send", "Send");
  sendBtn.type = "submit";
  form.append(input, sendBtn);

  panel.append(header, disclaimer, banner, log, typing, form);
  wrap.append(launcher, panel);
  root.appendChild(wrap);

  // ---- rendering ----
  function renderItem(item, live) {
    var node;
    if (item.kind === "user") {
      node = el("div", "ecz-msg ecz-msg--user");
      node.append(el("span", "ecz-sr", "You said: "), el("span", "ecz-text", item.text));
    } else if (item.kind === "bot") {
      node = el("div", "ecz-msg ecz-msg--bot");
      node.append(el("span", "ecz-sr", "Assistant: "), el("span", "ecz-text", item.text));
    } else if (item.kind === "care") {
      node = el("div", "ecz-msg ecz-msg--care");
      node.setAttribute("role", "article");
      node.setAttribute("aria-label", "Message from " + CARE_TEAM);
      node.append(el("p", "ecz-care-name", CARE_TEAM), el("span", "ecz-text", item.text));
    } else if (item.kind === "from") {
      node = el("p", "ecz-sources", "From: " + item.sources.join("; "));
    } else if (item.kind === "handoff") {
      node = handoffCard(item, "ecz-handoff");
    } else {
      node = el("p", "ecz-note", item.text);
    }
    log.appendChild(node);
    if (live !== false) log.scrollTop = log.scrollHeight;
    return node;
  }

  function handoffCard(item, className) {
    var level = URGENCY[item.urgency] ? item.urgency : "routine";
    var card = el("div", className + " " + className + "--" + level);
    card.appendChild(el("p", "ecz-handoff-label", URGENCY[level].label));
    var hotline = HOTLINES[item.hotline] || (level === "emergency" ? HOTLINES["911"] : null);
    if (hotline) {
      var big = el("a", "ecz-hotline", hotline.big);
      big.href = "tel:" + hotline.tel;
      card.appendChild(big);
      if (hotline.small) card.appendChild(el("p", "ecz-handoff-note", hotline.small));
    }
    card.appendChild(el("p", "ecz-handoff-note", URGENCY[level].note +
      (item.ticket ? " Reference: " + item.ticket + "." : "")));
    var phone = item.phone || cfg.clinicPhone;
    if (phone) {
      var line = el("p", "ecz-handoff-phone", "Clinic phone: ");
      line.appendChild(phoneLink(phone, "ecz-phone"));
      card.appendChild(line);
    }
    return card;
  }

  function renderBanner(announce) {
    banner.replaceChildren();
    panel.classList.remove("ecz-panel--handoff", "ecz-panel--emergency");
    if (!state.handoff) return;
    var box = handoffCard(state.handoff, "ecz-banner");
    if (announce) box.setAttribute("role", state.handoff.urgency === "emergency" ? "alert" : "status");
    banner.appendChild(box);
    panel.classList.add("ecz-panel--handoff");
    if (state.handoff.urgency === "emergency") panel.classList.add("ecz-panel--emergency");
  }

  function renderReplies() {
    var old = log.querySelectorAll(".ecz-replies");
    for (var i = 0; i < old.length; i++) old[i].remove();
    var lastBot = null;
    for (var j = state.items.length - 1; j >= 0 && state.items[j].kind !== "user"; j--) {
      if (state.items[j].kind === "bot" && state.items[j].buttons && state.items[j].buttons.length) {
        lastBot = state.items[j];
        break;
      }
    }
    if (!lastBot) return;
    var group = el("div", "ecz-replies");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Suggested replies");
    lastBot.buttons.forEach(function (b) {
      var btn = el("button", "ecz-reply", b.title);
      btn.type = "button";
      btn.addEventListener("click", function () {
        send(b.payload, b.title);
        input.focus();
      });
      group.appendChild(btn);
    });
    log.appendChild(group);
    log.scrollTop = log.scrollHeight;
  }

  function renderAll() {
    log.replaceChildren();
    state.items.forEach(function (item) { renderItem(item, false); });
    renderReplies();
    renderBanner(false);
    log.scrollTop = log.scrollHeight;
  }

  function add(item) {
    state.items.push(item);
    save();
    renderItem(item);
  }

  function setBusy(on) {
    busy = on;
    sendBtn.disabled = on;
    log.setAttribute("aria-busy", on ? "true" : "false");
    typing.replaceChildren();
    if (on) {
      typing.append(el("span", "ecz-sr", "The assistant is typing"),
        el("span", "ecz-dot"), el("span", "ecz-dot"), el("span", "ecz-dot"));
    }
  }

  // ---- talking to the bot ----
  function UserError(message) { this.message = message; }

  function getToken(force) {
    if (jwtToken && !force) return Promise.resolve(jwtToken);
    return fetch(cfg.tokenUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data || typeof data.token !== "string") throw new UserError("Please sign in to the portal to use the chat.");
        jwtToken = data.token;
        return jwtToken;
      }, function (e) {
        throw e instanceof UserError ? e : new UserError(offlineText());
      });
  }

  function post(text, retried) {
    var body = { message: text };
    var ready = Promise.resolve();
    if (cfg.tokenUrl) {
      ready = getToken(retried).then(function (t) { body.token = t; });
    } else if (state.session) {
      body.session = state.session;
    }
    return ready.then(function () {
      var controller = window.AbortController ? new AbortController() : null;
      var timer = controller ? setTimeout(function () { controller.abort(); }, TIMEOUT_MS) : null;
      // text/plain keeps this a CORS "simple" request: no preflight, so it works whatever Rasa's --cors is.
      return fetch(cfg.endpoint, {
        method: "POST",
        headers: { "Content-Type": "text/plain;charset=UTF-8" },
        body: JSON.stringify(body),
        mode: "cors",
        credentials: "omit",
        cache: "no-store",
        signal: controller ? controller.signal : undefined,
      }).then(function (resp) {
        clearTimeout(timer);
        return resp.json().catch(function () { return null; }).then(function (data) {
          return { status: resp.status, ok: resp.ok, data: data };
        });
      }, function () {
        clearTimeout(timer);
        throw new UserError(offlineText());
      });
    }).then(function (res) {
      if (res.status === 401 && !retried) {
        if (!cfg.tokenUrl) {
          state.session = null;
          save();
        }
        return post(text, true);
      }
      var data = res.data;
      if (!res.ok || !data || !Array.isArray(data.messages)) {
        throw new UserError(data && typeof data.message === "string" && data.message ? data.message : offlineText());
      }
      if (typeof data.session === "string" && data.session) {
        state.session = data.session;
        save();
      }
      return data.messages;
    });
  }

  function renderTurn(messages) {
    var answer = null;
    var handoff = null;
    messages.forEach(function (m) {
      if (!m || typeof m !== "object") return;
      if (str(m.text)) {
        var buttons = Array.isArray(m.buttons) ? m.buttons.filter(function (b) {
          return b && str(b.title) && str(b.payload);
        }).map(function (b) { return { title: b.title, payload: b.payload }; }) : [];
        add({ kind: "bot", text: m.text, buttons: buttons });
      }
      if (m.custom && typeof m.custom === "object") {
        if (m.custom.kind === "answer") answer = m.custom;
        if (m.custom.kind === "handoff") handoff = m.custom;
      }
    });
    if (answer && Array.isArray(answer.sources)) {
      var sources = answer.sources.filter(function (s) { return str(s); }).slice(0, 5);
      if (sources.length) add({ kind: "from", sources: sources });
    }
    if (handoff) {
      var item = {
        kind: "handoff",
        urgency: str(handoff.urgency),
        hotline: str(handoff.hotline) || null,
        ticket: str(handoff.ticket_id),
        phone: str(handoff.clinic_phone),
      };
      add(item);
      state.handoff = item;
      save();
      renderBanner(true);
    }
    renderReplies();
    log.scrollTop = log.scrollHeight;
  }

  function send(text, shown) {
    text = str(text).trim();
    if (busy || !text) return;
    if (text.length > MAX_CHARS) {
      add({ kind: "note", text: "Please keep your message under " + MAX_CHARS + " characters." });
      return;
    }
    add({ kind: "user", text: shown || text });
    renderReplies();
    setBusy(true);
    post(text, false).then(renderTurn, function (e) {
      add({ kind: "note", text: e instanceof UserError ? e.message : offlineText() });
    }).then(function () { setBusy(false); });
  }

  // ---- the care team's replies (signed-in patients) ----
  function showUnread() {
    var n = unread.length;
    badge.hidden = n === 0;
    badge.textContent = n ? String(n) : "";
    launcher.classList.toggle("ecz-launcher--unread", n > 0);
    launcher.setAttribute("aria-label", n ? "Open chat, " + n + " new message" + (n > 1 ? "s" : "") +
      " from " + CARE_TEAM.toLowerCase() : "Open chat");
  }

  function portalCall(url, options, retried) {
    return getToken(retried).then(function (t) {
      var headers = Object.assign({ Authorization: "Bearer " + t }, options.headers || {});
      return fetch(url, Object.assign({}, options, { headers: headers, credentials: "same-origin", cache: "no-store" }));
    }).then(function (resp) {
      if (resp.status === 401 && !retried) return portalCall(url, options, true);
      if (!resp.ok) throw new UserError("");
      return resp.json();
    });
  }

  function markRead() {
    if (!unread.length || panel.hidden) return;
    var ids = unread.slice();
    portalCall(cfg.messagesUrl + "/read", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ ids: ids }),
    }, false).then(function () {
      unread = unread.filter(function (id) { return ids.indexOf(id) < 0; });
      showUnread();
    }, function () { /* kept unread: the next poll tries again */ });
  }

  function fetchMessages() {
    if (!cfg.messagesUrl) return;
    portalCall(cfg.messagesUrl, { method: "GET" }, false).then(function (data) {
      if (!data || !Array.isArray(data.messages)) return;
      var shown = {};
      state.items.forEach(function (item) { if (item.kind === "care") shown[item.id] = true; });
      unread = [];
      data.messages.forEach(function (m) {
        if (!m || !str(m.id) || !str(m.text)) return;
        if (!shown[m.id]) add({ kind: "care", id: m.id, text: m.text });
        if (m.unread === true) unread.push(m.id);
      });
      showUnread();
      markRead();
    }, function () { /* the portal is unreachable or the sign-in lapsed: try again at the next poll */ });
  }

  function poll(on) {
    if (pollTimer) clearInterval(pollTimer);
    pollTimer = on && cfg.messagesUrl ? setInterval(fetchMessages, POLL_MS) : null;
  }

  // ---- open / close, keyboard ----
  function setOpen(open, focus) {
    state.open = open;
    save();
    panel.hidden = !open;
    launcher.hidden = open;
    launcher.setAttribute("aria-expanded", open ? "true" : "false");
    poll(open);
    if (open) {
      log.scrollTop = log.scrollHeight;
      if (focus) input.focus();
      fetchMessages();
    } else if (focus) {
      launcher.focus();
    }
  }

  launcher.addEventListener("click", function () { setOpen(true, true); });
  closeBtn.addEventListener("click", function () { setOpen(false, true); });
  clearBtn.addEventListener("click", function () {
    state = fresh();
    state.open = true;
    jwtToken = null;
    save();
    renderAll();
    add({ kind: "note", text: "Conversation cleared." });
    input.focus();
  });
  panel.addEventListener("keydown", function (e) {
    if (e.key === "Escape") {
      e.preventDefault();
      setOpen(false, true);
    }
  });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    if (busy) return;
    var text = input.value;
    if (!text.trim()) return;
    input.value = "";
    send(text);
  });

  // Fill the log before the widget joins the page, so restoring a conversation isn't read out again.
  renderAll();
  setOpen(!!state.open, false);
  if (!state.open) fetchMessages();  // the launcher shows unread replies before the chat is opened
  (document.body || document.documentElement).appendChild(host);
})();
