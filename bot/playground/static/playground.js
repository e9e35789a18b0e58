/* expertbot playground: the offline sandbox page (contract: docs/playground-api.md).
 * Plain ES2020, no framework, no build step, no external resources. */
"use strict";

(function () {
  const API = "/play/api";
  const POLL_MS = 1000;
  const DEFAULT_BANNER = "Sandbox: nothing leaves this machine. Telegram and email are simulated here.";
  const REGIONS = typeof Intl.DisplayNames === "function" ? new Intl.DisplayNames(["en"], { type: "region" }) : null;
  const COUNTRY_NAMES = new Proxy({}, { get: (_, code) => { try { return (REGIONS && REGIONS.of(String(code))) || code; } catch (e) { return code; } } });
  const COUNTRY_ORDER = ["LV", "EE"];
  const TELEGRAM_STATES = {
    active: "Telegram: active",
    unlinked: "Telegram: not linked yet",
    blocked: "Telegram: blocked the bot",
    stopped: "Telegram: stopped the bot",
  };
  const AVATAR_COLOURS = ["#1d4f91", "#0f766e", "#7c3aed", "#b45309", "#be123c", "#0e7490", "#4d7c0f", "#9d174d"];
  const ICONS = {
    telegram: '<svg viewBox="0 0 24 24" width="13" height="13" focusable="false"><path fill="currentColor" d="M21.4 3.5 2.8 10.7c-1.3.5-1.2 1.2-.2 1.5l4.7 1.5 1.8 5.6c.2.6.4.8.9.8s.6-.2.9-.5l2.3-2.2 4.7 3.5c.9.5 1.5.2 1.7-.8l3.1-14.6c.3-1.3-.4-1.9-1.3-1.5ZM8.6 13.4l9.1-5.7c.4-.3.8-.1.5.2l-7.5 6.8-.3 3.3-1.8-4.6Z"/></svg>',
    mail: '<svg viewBox="0 0 24 24" width="13" height="13" focusable="false"><path fill="none" stroke="currentColor" stroke-width="2.2" stroke-linejoin="round" d="M3.5 5.5h17v13h-17zM4 6.5l8 6 8-6"/></svg>',
    file: '<svg viewBox="0 0 24 24" width="20" height="20" focusable="false"><path fill="currentColor" d="M6 2h8l6 6v12a2 2 0 0 1-2 2H6a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2Zm7 1.5V9h5.5L13 3.5Z"/></svg>',
    clip: '<svg viewBox="0 0 24 24" width="12" height="12" focusable="false"><path fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" d="M20 11.5 12 19.5a5 5 0 0 1-7-7l8.5-8.5a3.3 3.3 0 0 1 4.7 4.7L9.7 17.2a1.7 1.7 0 0 1-2.4-2.4L15 7"/></svg>',
  };

  // ------------------------------------------------------------------ DOM helpers

  const byId = (id) => document.getElementById(id);

  /** Build an element; text children become text nodes (never HTML). */
  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    if (attrs) {
      for (const [name, value] of Object.entries(attrs)) {
        if (value === null || value === undefined || value === false) continue;
        if (name === "class") node.className = value;
        else if (name === "style") Object.assign(node.style, value);
        else if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
        else node.setAttribute(name, value === true ? "" : String(value));
      }
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  /** replaceChildren without the null/false placeholders of conditional children. */
  function setChildren(node, ...children) {
    node.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  }

  /** One of the constant inline icons above (no external files). */
  function icon(name, cls) {
    const span = document.createElement("span");
    span.className = "icon" + (cls ? " " + cls : "");
    span.setAttribute("aria-hidden", "true");
    span.innerHTML = ICONS[name];
    return span;
  }

  function plural(n, one, many) {
    return `${n} ${n === 1 ? one : many}`;
  }

  function fold(text) {
    return String(text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function initials(name) {
    const parts = String(name || "?").trim().split(/\s+/);
    const first = parts[0] ? Array.from(parts[0])[0] : "?";
    const last = parts.length > 1 ? Array.from(parts[parts.length - 1])[0] : "";
    return (first + last).toUpperCase();
  }

  function avatarColour(name) {
    let hash = 0;
    for (const ch of String(name || "")) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
    return AVATAR_COLOURS[hash % AVATAR_COLOURS.length];
  }

  function avatar(name, cls) {
    return h("span", { class: "avatar" + (cls ? " " + cls : ""), style: { background: avatarColour(name) }, "aria-hidden": "true" }, initials(name));
  }

  function cssEscape(value) {
    return window.CSS && CSS.escape ? CSS.escape(value) : String(value).replace(/["\\]/g, "\\$&");
  }

  /**
   * Keyed re-render of `container`'s children: an item whose JSON did not change keeps its
   * node (focus, hover, text selection, <details> state stay); changed items are rebuilt and
   * a focused control inside them is focused again in the new node (matched by data-focus).
   */
  function reconcile(container, items, keyOf, render) {
    const old = new Map();
    for (const node of Array.from(container.children)) {
      if (node._key !== undefined) old.set(node._key, node);
    }
    const keep = new Set();
    let previous = null;
    for (const item of items) {
      const key = String(keyOf(item));
      const sig = JSON.stringify(item);
      let node = old.get(key);
      if (!node || node._sig !== sig) {
        const fresh = render(item);
        fresh._key = key;
        fresh._sig = sig;
        if (node) {
          const focusKey = focusedKeyIn(node);
          node.replaceWith(fresh);
          restoreFocus(fresh, focusKey);
        }
        node = fresh;
      }
      old.delete(key);
      keep.add(node);
      const wanted = previous ? previous.nextElementSibling : container.firstElementChild;
      if (node !== wanted) container.insertBefore(node, wanted);
      previous = node;
    }
    for (const node of Array.from(container.children)) {
      if (!keep.has(node)) node.remove();
    }
  }

  function focusedKeyIn(node) {
    const active = document.activeElement;
    if (!active || !node.contains(active)) return null;
    return active.getAttribute("data-focus");
  }

  function restoreFocus(node, focusKey) {
    if (!focusKey) return;
    const target = node.querySelector(`[data-focus="${cssEscape(focusKey)}"]`);
    if (target) target.focus({ preventScroll: true });
  }

  // ------------------------------------------------------------------ elements and state

  const E = {
    banner: byId("sandbox-banner"),
    clock: byId("clock"),
    queue: byId("queue-note"),
    conn: byId("conn"),
    jumps: byId("jumps"),
    jumpHour: byId("jump-hour"),
    search: byId("people-search"),
    peopleList: byId("people-list"),
    peopleCount: byId("people-count"),
    peopleEmpty: byId("people-empty"),
    personCard: byId("person-card"),
    device: byId("device"),
    tabs: { telegram: byId("tab-telegram"), email: byId("tab-email") },
    tabCount: { telegram: byId("tab-count-telegram"), email: byId("tab-count-email") },
    chatPane: byId("chat-pane"),
    chatScroll: byId("chat-scroll"),
    chatList: byId("chat-list"),
    chatNotice: byId("chat-notice"),
    chatNew: byId("chat-new"),
    joinBox: byId("join-box"),
    composer: byId("composer"),
    input: byId("tg-input"),
    inputLabel: byId("tg-input-label"),
    send: byId("tg-send"),
    mailPane: byId("mail-pane"),
    mailAddress: byId("mail-address"),
    mailList: byId("mail-list"),
    mailNotice: byId("mail-notice"),
    mailHead: byId("mail-head"),
    mailFrame: byId("mail-frame"),
    toasts: byId("toasts"),
  };

  const S = {
    started: false,
    version: null,
    stateSeq: 0,
    stateApplied: 0,
    people: [],
    byKey: new Map(),
    sel: { person: null, tab: "telegram", mail: null },
    chatSeq: 0,
    chatApplied: 0,
    chatFor: null,
    chatEmptySig: "",
    joinSig: "",
    stick: true,
    atBottom: true,
    sending: false,
    mailSeq: 0,
    mailApplied: 0,
    mailFor: null,
    mailData: null,
    mailHeadSig: "",
    loadedMailUrl: null,
    firstMail: new Map(),
    openedMail: new Set(),
    seen: new Map(),
    drafts: new Map(),
    peopleStructure: "",
    panesBusy: false,
    panesAgain: false,
    timeBusy: false,
    connected: true,
    lastPollError: "",
    lastPollErrorAt: 0,
  };

  const personKey = (p) => p.email || p.name;
  const selectedPerson = () => (S.sel.person === null ? null : S.byKey.get(S.sel.person) || null);

  // ------------------------------------------------------------------ network

  class ApiError extends Error {}
  class NetworkError extends Error {}

  async function api(method, path, body) {
    const init = { method, cache: "no-store", headers: { Accept: "application/json" } };
    if (method !== "GET") {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body || {});
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (err) {
      setConnected(false);
      throw new NetworkError("The playground server does not answer. Is `expertbot run` still running?");
    }
    setConnected(true);
    let data = null;
    try {
      data = await response.json();
    } catch (err) {
      data = null;
    }
    if (!response.ok) {
      const text = data && typeof data.error === "string" && data.error ? data.error : `${method} ${path} failed (HTTP ${response.status}).`;
      throw new ApiError(text);
    }
    return data || {};
  }

  function report(err) {
    toast(err && err.message ? err.message : String(err), "error");
  }

  /** Errors of background loads: no toast for a lost connection (the marker shows it), and
   * the same message at most every 15 s. */
  function reportQuietly(err) {
    if (err instanceof NetworkError) return;
    const text = err && err.message ? err.message : String(err);
    const now = Date.now();
    if (text === S.lastPollError && now - S.lastPollErrorAt < 15000) return;
    S.lastPollError = text;
    S.lastPollErrorAt = now;
    toast(text, "error");
  }

  function setConnected(ok) {
    if (ok === S.connected) return;
    S.connected = ok;
    E.conn.hidden = ok;
    document.body.classList.toggle("is-offline", !ok);
    if (ok) S.version = null; // catch up on everything once the server is back
  }

  // ------------------------------------------------------------------ toasts

  function toast(text, kind, ms) {
    kind = kind || "info";
    const node = h("div", { class: `toast toast-${kind}` },
      kind === "bot" ? h("span", { class: "toast-kind" }, "Bot") : null,
      kind === "error" ? h("span", { class: "toast-kind" }, "Error") : null,
      h("span", { class: "toast-text" }, text),
      h("button", { type: "button", class: "toast-close", "aria-label": "Dismiss", onclick: () => node.remove() }, "×"));
    E.toasts.append(node);
    while (E.toasts.children.length > 4) E.toasts.firstElementChild.remove();
    const life = ms || (kind === "error" ? 9000 : 5000);
    setTimeout(() => {
      node.classList.add("leaving");
      setTimeout(() => node.remove(), 250);
    }, life);
  }

  // ------------------------------------------------------------------ polling

  async function poll() {
    try {
      await pollOnce(false);
    } catch (err) {
      reportQuietly(err);
    } finally {
      setTimeout(poll, POLL_MS);
    }
  }

  async function pollOnce(force) {
    const seq = ++S.stateSeq;
    const state = await api("GET", `${API}/state`);
    if (seq < S.stateApplied) {
      if (force) await refreshPanes(); // a newer poll won the race; an action still wants fresh panes
      return;
    }
    S.stateApplied = seq;
    applyState(state);
    if (force || state.version !== S.version) {
      S.version = state.version;
      await refreshPanes();
    }
  }

  /** After an action of the page: fetch everything now, whatever the version says. */
  async function refreshNow() {
    try {
      await pollOnce(true);
    } catch (err) {
      reportQuietly(err);
    }
  }

  async function refreshPanes() {
    if (S.panesBusy) {
      S.panesAgain = true;
      return;
    }
    S.panesBusy = true;
    try {
      do {
        S.panesAgain = false;
        await loadSelected();
      } while (S.panesAgain);
    } finally {
      S.panesBusy = false;
    }
  }

  // ------------------------------------------------------------------ state: top bar

  function applyState(state) {
    setText(E.banner, state.banner || DEFAULT_BANNER);
    applyClock(state.clock);
    const note = state.queue && state.queue.note ? state.queue.note : "";
    setText(E.queue, note);
    E.queue.hidden = !note;
    renderJumps(Array.isArray(state.jumps) ? state.jumps : []);

    S.people = Array.isArray(state.people) ? state.people : [];
    S.byKey = new Map(S.people.map((p) => [personKey(p), p]));
    for (const p of S.people) {
      const key = personKey(p);
      if (!S.seen.has(key)) S.seen.set(key, { chat: p.chat_count || 0, mail: p.mail_count || 0 });
    }

    if (!S.started) {
      S.started = true;
      const wanted = readHash();
      const key = wanted.person !== null ? wanted.person : defaultPersonKey();
      if (key !== null) {
        selectPerson(key, { tab: wanted.tab, mail: wanted.person === key ? wanted.mail : null, load: false });
      }
    } else if (!selectedPerson() && S.people.length) {
      const wanted = readHash();
      const key = wanted.person !== null ? wanted.person : defaultPersonKey();
      selectPerson(key, { tab: wanted.tab, mail: wanted.person === key ? wanted.mail : null });
    }
    markSeen();
    renderPeople();
    renderPersonCard();
    renderTabs();
  }

  /** Change a text only when it differs (keeps a text selection alive across polls). */
  function setText(node, text) {
    if (node.textContent !== text) node.textContent = text;
  }

  function applyClock(clock) {
    if (!clock) return;
    const sig = JSON.stringify([clock.local, clock.zone, clock.shifted, clock.shift_label]);
    if (E.clock._sig === sig) return;
    E.clock._sig = sig;
    const parts = [h("span", { class: "clock-local" }, clock.local || "")];
    if (clock.zone) parts.push(h("span", { class: "clock-zone" }, clock.zone));
    if (clock.shifted && clock.shift_label) {
      parts.push(h("span", { class: "clock-shift", title: "The playground's clock was moved forward by this much" }, clock.shift_label));
    }
    E.clock.replaceChildren(...parts);
  }

  function renderJumps(jumps) {
    reconcile(E.jumps, jumps, (j) => j.id, (j) =>
      h("button", { type: "button", class: "jump", "data-jump": j.id, "data-focus": `jump:${j.id}`, title: j.detail ? `${j.label}: ${j.detail}` : j.label },
        h("span", { class: "jump-label" }, j.label),
        j.detail ? h("span", { class: "jump-detail" }, j.detail) : null));
  }

  async function moveTime(body, button) {
    if (S.timeBusy) return;
    S.timeBusy = true;
    document.querySelectorAll(".timebar button").forEach((b) => b.setAttribute("aria-disabled", "true"));
    if (button) button.classList.add("pending");
    try {
      const result = await api("POST", `${API}/clock`, body);
      if (result.clock) applyClock(result.clock);
      let text = result.clock && result.clock.local ? `Time is now ${result.clock.local}.` : "Time moved forward.";
      if (typeof result.queued === "number") text += ` ${plural(result.queued, "message", "messages")} queued for delivery.`;
      toast(text, "info");
    } catch (err) {
      report(err);
    } finally {
      S.timeBusy = false;
      document.querySelectorAll(".timebar button").forEach((b) => b.removeAttribute("aria-disabled"));
      if (button) button.classList.remove("pending");
      refreshNow();
    }
  }

  // ------------------------------------------------------------------ people

  function defaultPersonKey() {
    const onTelegram = (p) => p.telegram === "active" && !p.coordinator;
    const first =
      S.people.find((p) => onTelegram(p) && p.role === "regional_expert" && p.has_email) ||
      S.people.find(onTelegram) ||
      S.people[0];
    return first ? personKey(first) : null;
  }

  function countryRank(code) {
    const i = COUNTRY_ORDER.indexOf(code);
    return i === -1 ? COUNTRY_ORDER.length : i;
  }

  function groupPeople() {
    const countries = new Map();
    for (const p of S.people) {
      const country = p.country || "—";
      if (!countries.has(country)) countries.set(country, new Map());
      const roles = countries.get(country);
      const role = p.role_label || p.role || "Other";
      if (!roles.has(role)) roles.set(role, []);
      roles.get(role).push(p);
    }
    return Array.from(countries.entries())
      .map(([code, roles], order) => ({ code, roles, order }))
      .sort((a, b) => countryRank(a.code) - countryRank(b.code) || (countryRank(a.code) === COUNTRY_ORDER.length ? a.code.localeCompare(b.code) : 0) || a.order - b.order);
  }

  function renderPeople() {
    const groups = groupPeople();
    const structure = JSON.stringify(groups.map((g) => [g.code, Array.from(g.roles.entries()).map(([role, list]) => [role, list.map(personKey)])]));
    if (structure !== S.peopleStructure) {
      S.peopleStructure = structure;
      const focusKey = focusedKeyIn(E.peopleList);
      const parts = groups.map((g) => {
        const count = Array.from(g.roles.values()).reduce((n, list) => n + list.length, 0);
        return h("section", { class: "country", "data-country": g.code },
          h("h3", { class: "country-title" }, h("span", null, COUNTRY_NAMES[g.code] || g.code), h("span", { class: "country-code" }, g.code), h("span", { class: "group-count" }, String(count))),
          Array.from(g.roles.entries()).map(([role, list]) =>
            h("div", { class: "role-group" },
              h("h4", { class: "role-title" }, role),
              h("ul", { class: "people" }, list.map((p) => h("li", { class: "person-slot", "data-slot": personKey(p) }))))));
      });
      E.peopleList.replaceChildren(...parts);
      restoreFocus(E.peopleList, focusKey);
    }
    for (const p of S.people) {
      const key = personKey(p);
      const slot = E.peopleList.querySelector(`[data-slot="${cssEscape(key)}"]`);
      if (!slot) continue;
      const seen = S.seen.get(key) || { chat: 0, mail: 0 };
      const sig = JSON.stringify([p, key === S.sel.person, (p.chat_count || 0) > seen.chat, (p.mail_count || 0) > seen.mail]);
      const current = slot.firstElementChild;
      if (current && current._sig === sig) continue;
      const fresh = renderPerson(p, key === S.sel.person, (p.chat_count || 0) > seen.chat, (p.mail_count || 0) > seen.mail);
      fresh._sig = sig;
      const focusKey = current ? focusedKeyIn(current) : null;
      slot.replaceChildren(fresh);
      restoreFocus(slot, focusKey);
    }
    setText(E.peopleCount, S.people.length ? plural(S.people.length, "person", "people") : "");
    applySearch();
  }

  function renderPerson(p, selected, newChat, newMail) {
    const key = personKey(p);
    const tgState = p.telegram || "unlinked";
    const tgTitle = (TELEGRAM_STATES[tgState] || `Telegram: ${tgState}`) + `, ${plural(p.chat_count || 0, "message", "messages")}`;
    const lang = (p.language || "").toUpperCase();
    return h("button", {
      type: "button", class: "person" + (selected ? " selected" : "") + (p.coordinator ? " is-coordinator" : ""),
      "data-person": key, "data-focus": `person:${key}`, "aria-pressed": selected ? "true" : "false",
      onclick: () => {
        selectPerson(key, {});
        // Stacked columns (a phone or a narrow window): bring the chosen person's phone into view.
        const device = document.querySelector(".device-col");
        if (device && window.matchMedia("(max-width: 1199px)").matches) device.scrollIntoView({ behavior: "smooth", block: "start" });
      },
    },
    avatar(p.name),
    h("span", { class: "person-main" },
      h("span", { class: "person-top" },
        h("span", { class: "person-name" }, p.name),
        p.coordinator ? h("span", { class: "tag tag-coord", title: "The coordinator: sees answers, gets the digests" }, "Coordinator") : null),
      h("span", { class: "person-sub" }, [p.municipality, p.municipality ? null : p.organization].filter(Boolean).join(" · ") || "—"),
      h("span", { class: "person-chan" },
        lang ? h("span", { class: "tag tag-lang", title: `Language: ${lang}` }, lang) : null,
        h("span", { class: `chan chan-tg chan-${tgState}` + (newChat ? " has-new" : ""), title: tgTitle },
          icon("telegram"), h("span", { class: "sr-only" }, tgTitle), h("span", { class: "chan-count", "aria-hidden": "true" }, String(p.chat_count || 0))),
        p.has_email
          ? h("span", { class: "chan chan-mail" + (newMail ? " has-new" : ""), title: `Email: ${plural(p.mail_count || 0, "message", "messages")}` },
            icon("mail"), h("span", { class: "sr-only" }, `Email, ${plural(p.mail_count || 0, "message", "messages")}`), h("span", { class: "chan-count", "aria-hidden": "true" }, String(p.mail_count || 0)))
          : h("span", { class: "chan chan-none", title: "No email address" }, icon("mail"), h("span", { class: "sr-only" }, "No email address"), h("span", { "aria-hidden": "true" }, "–")))));
  }

  function applySearch() {
    const query = fold(E.search.value.trim());
    let shown = 0;
    for (const slot of E.peopleList.querySelectorAll(".person-slot")) {
      const p = S.byKey.get(slot.getAttribute("data-slot"));
      const match = !query || (p && [p.name, p.municipality, p.email].some((v) => fold(v).includes(query)));
      slot.hidden = !match;
      if (match) shown += 1;
    }
    for (const group of E.peopleList.querySelectorAll(".role-group, .country")) {
      group.hidden = !group.querySelector(".person-slot:not([hidden])");
    }
    E.peopleEmpty.hidden = shown > 0 || !S.people.length;
    setText(E.peopleEmpty, S.people.length ? `No one matches “${E.search.value.trim()}”.` : "");
    if (!S.people.length) {
      E.peopleEmpty.hidden = false;
      setText(E.peopleEmpty, "No people yet. Import contacts, or start the playground with its demo data.");
    }
  }

  function markSeen() {
    const p = selectedPerson();
    if (!p) return;
    const seen = S.seen.get(personKey(p)) || { chat: 0, mail: 0 };
    if (S.sel.tab === "telegram") seen.chat = p.chat_count || 0;
    else seen.mail = p.mail_count || 0;
    S.seen.set(personKey(p), seen);
  }

  // ------------------------------------------------------------------ selection

  function selectPerson(key, opts) {
    opts = opts || {};
    const person = S.byKey.get(key);
    if (!person) return;
    const changed = key !== S.sel.person;
    if (changed) {
      if (S.sel.person !== null) S.drafts.set(S.sel.person, E.input.value);
      S.sel.person = key;
      S.sel.mail = opts.mail !== undefined && opts.mail !== null ? String(opts.mail) : null;
      E.input.value = S.drafts.get(key) || "";
      autoGrow();
      clearPanes();
    }
    let tab = opts.tab === "email" || opts.tab === "telegram" ? opts.tab : S.sel.tab;
    if (tab === "email" && !person.has_email) tab = "telegram";
    const tabChanged = tab !== S.sel.tab;
    S.sel.tab = tab;
    writeHash();
    if (opts.load === false) return;
    markSeen();
    renderPeople();
    renderPersonCard();
    renderTabs();
    if (changed || tabChanged) loadSelected().catch(reportQuietly);
  }

  function selectTab(tab, focus) {
    const p = selectedPerson();
    if (!p || tab === S.sel.tab || (tab === "email" && !p.has_email)) {
      if (focus) E.tabs[tab].focus();
      return;
    }
    S.sel.tab = tab;
    writeHash();
    markSeen();
    renderPeople();
    renderPersonCard();
    renderTabs();
    if (focus) E.tabs[tab].focus();
    if (tab === "telegram") S.stick = true;
    loadSelected().catch(reportQuietly);
  }

  function clearPanes() {
    S.chatFor = null;
    S.chatEmptySig = "";
    S.joinSig = "";
    S.stick = true;
    E.chatList.replaceChildren();
    E.chatNew.hidden = true;
    showChatNotice(h("div", { class: "notice-card" }, h("p", null, "Loading…")));
    E.joinBox.hidden = true;
    E.composer.hidden = true;
    S.mailFor = null;
    S.mailData = null;
    S.mailHeadSig = "";
    E.mailList.replaceChildren();
    E.mailNotice.hidden = false;
    setText(E.mailNotice, "Loading…");
    E.mailHead.replaceChildren();
    setText(E.mailAddress, "");
    setFrame(null);
  }

  /** The person in the hash: their key (email, or name), or their numeric id as the server's
   * redirects write it (/#person=14&tab=telegram). Returns the key, or null. */
  function resolvePerson(value) {
    if (value === null || value === undefined || value === "") return null;
    if (S.byKey.has(value)) return value;
    if (/^\d+$/.test(value)) {
      const found = S.people.find((p) => String(p.id) === value);
      if (found) return personKey(found);
    }
    return null;
  }

  function readHash() {
    const params = new URLSearchParams(location.hash.replace(/^#/, ""));
    return { person: resolvePerson(params.get("person")), tab: params.get("tab"), mail: params.get("mail") };
  }

  function writeHash() {
    const params = new URLSearchParams();
    if (S.sel.person !== null) params.set("person", S.sel.person);
    params.set("tab", S.sel.tab);
    if (S.sel.mail !== null) params.set("mail", S.sel.mail);
    const hash = "#" + params.toString();
    if (location.hash !== hash) history.replaceState(null, "", hash);
  }

  function onHashChange() {
    const wanted = readHash();
    if (wanted.person === null) return;
    if (wanted.person !== S.sel.person) {
      selectPerson(wanted.person, { tab: wanted.tab, mail: wanted.mail });
    } else {
      if ((wanted.tab === "telegram" || wanted.tab === "email") && wanted.tab !== S.sel.tab) selectTab(wanted.tab, false);
      if (wanted.mail && wanted.mail !== S.sel.mail) selectMail(wanted.mail);
      writeHash();
    }
  }

  function renderPersonCard() {
    const p = selectedPerson();
    if (!p) {
      E.personCard._sig = "";
      E.personCard.replaceChildren(h("p", { class: "muted" }, S.people.length ? "Select a person on the left." : "Nobody to show yet."));
      if (S.started) showChatNotice(h("div", { class: "notice-card" }, h("p", null, "No one selected.")));
      return;
    }
    const sig = JSON.stringify(p);
    if (E.personCard._sig === sig) return;
    E.personCard._sig = sig;
    const tgState = p.telegram || "unlinked";
    E.personCard.replaceChildren(
      avatar(p.name, "avatar-lg"),
      h("div", { class: "person-card-main" },
        h("h2", { class: "person-card-name" }, p.name,
          p.coordinator ? h("span", { class: "tag tag-coord" }, "Coordinator") : null),
        h("p", { class: "person-card-sub" }, [p.role_label, p.organization, p.municipality].filter(Boolean).join(" · ")),
        h("p", { class: "person-card-tags" },
          p.language ? h("span", { class: "tag tag-lang" }, p.language.toUpperCase()) : null,
          p.country ? h("span", { class: "tag" }, COUNTRY_NAMES[p.country] || p.country) : null,
          h("span", { class: `tag tag-tg tag-tg-${tgState}` }, TELEGRAM_STATES[tgState] || `Telegram: ${tgState}`),
          p.email ? h("span", { class: "tag tag-mail" }, p.email) : h("span", { class: "tag" }, "No email"))));
  }

  function renderTabs() {
    const p = selectedPerson();
    for (const tab of ["telegram", "email"]) {
      const active = S.sel.tab === tab;
      E.tabs[tab].setAttribute("aria-selected", active ? "true" : "false");
      E.tabs[tab].tabIndex = active ? 0 : -1;
      E.tabs[tab].classList.toggle("active", active);
    }
    E.chatPane.hidden = S.sel.tab !== "telegram";
    E.mailPane.hidden = S.sel.tab !== "email";
    E.tabs.email.disabled = !!p && !p.has_email;
    E.tabs.email.title = p && !p.has_email ? "This person has no email address" : "";
    if (p) {
      const seen = S.seen.get(personKey(p)) || { chat: 0, mail: 0 };
      setTabCount("telegram", p.chat_count || 0, (p.chat_count || 0) > seen.chat);
      setTabCount("email", p.has_email ? p.mail_count || 0 : null, (p.mail_count || 0) > seen.mail);
      setText(E.inputLabel, `Message to the bot, as ${p.name}`);
    }
  }

  function setTabCount(tab, count, isNew) {
    const node = E.tabCount[tab];
    node.textContent = count === null ? "" : String(count);
    node.hidden = count === null;
    node.classList.toggle("has-new", !!isNew);
  }

  // ------------------------------------------------------------------ panes

  async function loadSelected() {
    const p = selectedPerson();
    if (!p) return;
    if (S.sel.tab === "telegram") await loadChat(p);
    else await loadMail(p);
  }

  function stillSelected(p, tab) {
    return S.sel.person === personKey(p) && S.sel.tab === tab;
  }

  // ---- Telegram

  async function loadChat(p) {
    const seq = ++S.chatSeq;
    const data = await api("GET", `${API}/chat/${encodeURIComponent(p.id)}`);
    if (seq < S.chatApplied || !stillSelected(p, "telegram")) return;
    S.chatApplied = seq;
    renderChat(data, p);
  }

  function nearBottom() {
    const sc = E.chatScroll;
    return sc.scrollHeight - sc.scrollTop - sc.clientHeight < 56;
  }

  function scrollChatToBottom() {
    E.chatScroll.scrollTop = E.chatScroll.scrollHeight;
    E.chatNew.hidden = true;
    S.atBottom = true;
  }

  function renderChat(data, p) {
    const key = personKey(p);
    const first = S.chatFor !== key;
    const stick = first || S.stick || nearBottom();
    const messages = Array.isArray(data.messages) ? data.messages : [];
    const before = E.chatList.lastElementChild ? E.chatList.lastElementChild._key : null;
    S.chatFor = key;
    reconcile(E.chatList, messages, (m) => m.id, (m) => renderMessage(m, p));

    const noticeSig = JSON.stringify([key, data.joined, data.can_join, messages.length === 0, p.has_email, p.telegram]);
    if (noticeSig !== S.chatEmptySig) {
      S.chatEmptySig = noticeSig;
      if (!data.joined) {
        const body = data.can_join
          ? [h("p", null, h("strong", null, `${p.name} has not opened the bot yet.`)),
            h("p", null, "In real life they would follow the personal invite link from their invitation email or letter. Here you can do it for them: “Join on Telegram” opens the bot as them, and the bot greets them.")]
          : [h("p", null, h("strong", null, `${p.name} is not on Telegram here.`)),
            h("p", null, p.has_email ? "The bot reaches them by email: see their mailbox." : "They have neither Telegram nor an email address, so the bot cannot reach them.")];
        showChatNotice(h("div", { class: "notice-card" }, body));
      } else if (!messages.length) {
        showChatNotice(h("div", { class: "notice-card" }, h("p", null, "No messages yet. Type a command below, e.g. /help.")));
      } else {
        showChatNotice(null);
      }
    }

    const joinSig = JSON.stringify([key, data.joined, data.can_join, p.has_email]);
    if (joinSig !== S.joinSig) {
      S.joinSig = joinSig;
      if (data.joined) {
        E.joinBox.replaceChildren();
        E.joinBox.hidden = true;
        E.composer.hidden = false;
      } else {
        E.composer.hidden = true;
        E.joinBox.hidden = false;
        setChildren(E.joinBox,
          data.can_join ? h("button", { type: "button", id: "tg-join", class: "btn btn-primary btn-wide", onclick: (e) => join(p, e.currentTarget) }, "Join on Telegram") : null,
          !data.can_join && p.has_email ? h("button", { type: "button", class: "btn btn-wide", onclick: () => selectTab("email", true) }, "Open the mailbox") : null);
        if (!E.joinBox.children.length) E.joinBox.hidden = true;
      }
    }

    const after = E.chatList.lastElementChild ? E.chatList.lastElementChild._key : null;
    if (stick) {
      scrollChatToBottom();
      S.stick = false;
    } else if (after !== before && after !== null) {
      E.chatNew.hidden = false;
    }
  }

  function showChatNotice(node) {
    E.chatNotice.replaceChildren(...(node ? [node] : []));
    E.chatNotice.hidden = !node;
  }

  function renderMessage(m, p) {
    const text = h("div", { class: "tg-text" });
    text.innerHTML = m.html || ""; // sanitised by the server (b, i, u, s, code, pre, a, blockquote, br)
    for (const a of text.querySelectorAll("a[href]")) {
      a.target = "_blank";
      a.rel = "noopener noreferrer";
    }
    const doc = m.document
      ? h("a", { class: "tg-doc", href: m.document.url, download: m.document.name || "", title: `Download ${m.document.name || "the file"}` },
        icon("file", "tg-doc-icon"),
        h("span", { class: "tg-doc-main" }, h("span", { class: "tg-doc-name" }, m.document.name || "file"), h("span", { class: "tg-doc-action" }, "Download")))
      : null;
    const meta = h("span", { class: "tg-meta" },
      m.edited ? h("span", { class: "tg-edited" }, "edited") : null,
      h("time", { class: "tg-time" }, m.time_local || ""));
    const rows = Array.isArray(m.buttons) ? m.buttons.filter((row) => Array.isArray(row) && row.length) : [];
    const keyboard = rows.length
      ? h("div", { class: "tg-keyboard", role: "group", "aria-label": "Buttons of this message" },
        rows.map((row, r) => h("div", { class: "tg-row" }, row.map((b, c) => renderButton(b, m, p, r, c)))))
      : null;
    return h("li", { class: "tg-message " + (m.from_bot ? "from-bot" : "from-user"), "data-message-id": m.id },
      h("div", { class: "tg-bubble" + (doc ? " has-doc" : "") }, doc, text, meta),
      keyboard);
  }

  function renderButton(b, m, p, r, c) {
    const focus = `tgbtn:${m.id}:${r}:${c}`;
    if (b.url) {
      return h("button", { type: "button", class: "tg-button tg-url", "data-focus": focus, title: b.url, onclick: () => { if (/^(https?|tg):/i.test(b.url)) window.open(b.url, "_blank", "noopener"); else toast("This button's link is not a web address.", "error"); } },
        h("span", null, b.text), h("span", { class: "tg-url-mark", "aria-hidden": "true" }, "↗"));
    }
    if (b.data === undefined || b.data === null) {
      return h("button", { type: "button", class: "tg-button", "data-focus": focus, disabled: true, title: "This kind of button does nothing in the playground" }, b.text);
    }
    return h("button", { type: "button", class: "tg-button", "data-focus": focus, "data-data": b.data,
      onclick: (e) => press(p, m.id, b.data, e.currentTarget) }, b.text);
  }

  async function press(p, messageId, data, button) {
    if (button.classList.contains("pending")) return;
    button.classList.add("pending");
    button.setAttribute("aria-busy", "true");
    S.stick = nearBottom() || S.stick;
    try {
      const result = await api("POST", `${API}/chat/${encodeURIComponent(p.id)}/press`, { message_id: messageId, data });
      if (result.answer) toast(result.answer, "bot");
    } catch (err) {
      report(err);
    } finally {
      button.classList.remove("pending");
      button.removeAttribute("aria-busy");
      refreshNow();
    }
  }

  async function sendMessage() {
    const p = selectedPerson();
    const text = E.input.value.trim();
    if (!p || !text || S.sending) return;
    S.sending = true;
    E.send.classList.add("pending");
    const key = personKey(p);
    try {
      await api("POST", `${API}/chat/${encodeURIComponent(p.id)}/send`, { text });
      if (S.sel.person === key && E.input.value.trim() === text) {
        E.input.value = "";
        autoGrow();
      }
      S.drafts.delete(key);
      S.stick = true;
    } catch (err) {
      report(err);
    } finally {
      S.sending = false;
      E.send.classList.remove("pending");
      refreshNow();
    }
  }

  async function join(p, button) {
    if (button.disabled) return;
    button.disabled = true;
    try {
      await api("POST", `${API}/chat/${encodeURIComponent(p.id)}/join`, {});
      toast(`${p.name} opened the bot on Telegram.`, "info");
      S.stick = true;
    } catch (err) {
      report(err);
      button.disabled = false;
    } finally {
      await refreshNow();
      if (S.sel.person === personKey(p) && !E.composer.hidden) E.input.focus({ preventScroll: true });
    }
  }

  function autoGrow() {
    E.input.style.height = "auto";
    E.input.style.height = Math.min(E.input.scrollHeight, 140) + "px";
  }

  // ---- Email

  async function loadMail(p) {
    const seq = ++S.mailSeq;
    const data = await api("GET", `${API}/mail/${encodeURIComponent(p.id)}`);
    if (seq < S.mailApplied || !stillSelected(p, "email")) return;
    S.mailApplied = seq;
    renderMailbox(data, p);
  }

  function mailSort(messages) {
    return messages.slice().sort((a, b) => {
      const x = Number(a.id);
      const y = Number(b.id);
      return Number.isFinite(x) && Number.isFinite(y) ? y - x : String(b.id).localeCompare(String(a.id));
    });
  }

  function renderMailbox(data, p) {
    const key = personKey(p);
    const messages = mailSort(Array.isArray(data.messages) ? data.messages : []);
    if (!S.firstMail.has(key)) S.firstMail.set(key, new Set(messages.map((m) => String(m.id))));
    S.mailFor = key;
    S.mailData = messages;
    setText(E.mailAddress, data.address ? `Inbox of ${data.address}` : "");

    const ids = messages.map((m) => String(m.id));
    if (S.sel.mail === null || !ids.includes(S.sel.mail)) {
      S.sel.mail = ids.length ? ids[0] : null;
      writeHash();
    }
    if (S.sel.mail !== null) S.openedMail.add(S.sel.mail);

    const first = S.firstMail.get(key);
    reconcile(E.mailList, messages.map((m) => ({ m, unread: !first.has(String(m.id)) && !S.openedMail.has(String(m.id)) })),
      (x) => x.m.id, (x) => renderMailItem(x.m, x.unread));
    markSelectedMail();
    E.mailNotice.hidden = messages.length > 0;
    setText(E.mailNotice, messages.length ? "" : "No emails yet.");
    renderMailReader();
  }

  function renderMailItem(m, unread) {
    const id = String(m.id);
    const attachments = Array.isArray(m.attachments) ? m.attachments : [];
    const item = h("li", { class: "mail-item" + (unread ? " unread" : ""), "data-mail-id": id },
      h("button", { type: "button", class: "mail-open", "data-focus": `mail:${id}`, onclick: () => selectMail(id) },
        h("span", { class: "mail-row" },
          h("span", { class: "mail-from" }, m.from || ""),
          h("time", { class: "mail-time" }, m.time_local || "")),
        h("span", { class: "mail-subject" }, unread ? h("span", { class: "dot", "aria-hidden": "true" }) : null, m.subject || "(no subject)", unread ? h("span", { class: "sr-only" }, " (new)") : null),
        h("span", { class: "mail-preview" }, m.preview || "")),
      attachments.length
        ? h("span", { class: "mail-attachments" }, attachments.map((a) =>
          h("a", { class: "att", href: a.url, download: a.name || "", title: `Download ${a.name}` }, icon("clip"), h("span", null, a.name))))
        : null);
    item.addEventListener("click", (e) => {
      if (e.target.closest("a, button")) return;
      selectMail(id);
    });
    return item;
  }

  function markSelectedMail() {
    for (const item of E.mailList.children) {
      const selected = item.getAttribute("data-mail-id") === S.sel.mail;
      item.classList.toggle("selected", selected);
      const button = item.querySelector(".mail-open");
      if (button) {
        if (selected) button.setAttribute("aria-current", "true");
        else button.removeAttribute("aria-current");
      }
    }
  }

  function selectMail(id) {
    id = String(id);
    if (id === S.sel.mail) return;
    S.sel.mail = id;
    S.openedMail.add(id);
    writeHash();
    const item = E.mailList.querySelector(`[data-mail-id="${cssEscape(id)}"]`);
    if (item) item.classList.remove("unread");
    const dot = item && item.querySelector(".dot");
    if (dot) dot.remove();
    markSelectedMail();
    renderMailReader();
  }

  function renderMailReader() {
    const m = (S.mailData || []).find((x) => String(x.id) === S.sel.mail) || null;
    const sig = JSON.stringify(m);
    if (sig !== S.mailHeadSig) {
      S.mailHeadSig = sig;
      const attachments = m && Array.isArray(m.attachments) ? m.attachments : [];
      setChildren(E.mailHead, ...(m ? [
        h("div", { class: "mail-head-top" },
          h("h3", { class: "mail-head-subject" }, m.subject || "(no subject)"),
          m.html_url ? h("a", { class: "mail-newtab", href: m.html_url, target: "_blank", rel: "noopener" }, "Open in a new tab ↗") : null),
        h("p", { class: "mail-head-meta" }, h("span", null, m.from || ""), h("time", null, m.time_local || "")),
        attachments.length
          ? h("p", { class: "mail-attachments" }, attachments.map((a) =>
            h("a", { class: "att", href: a.url, download: a.name || "" }, icon("clip"), h("span", null, a.name))))
          : null,
      ] : []));
    }
    setFrame(m ? m.html_url : null);
  }

  /** Load a URL in the mail frame only when it is a different email: the page inside may be
   * half-way through a form. */
  function setFrame(url) {
    if (url === S.loadedMailUrl) return;
    S.loadedMailUrl = url;
    if (url) {
      E.mailFrame.src = url;
      E.mailFrame.hidden = false;
    } else {
      E.mailFrame.hidden = true;
      E.mailFrame.src = "about:blank";
    }
  }

  // ------------------------------------------------------------------ wiring

  function wire() {
    E.jumpHour.addEventListener("click", () => moveTime({ minutes: 60 }, E.jumpHour));
    E.jumps.addEventListener("click", (e) => {
      const button = e.target.closest("[data-jump]");
      if (button) moveTime({ jump: button.getAttribute("data-jump") }, button);
    });
    E.search.addEventListener("input", applySearch);
    E.search.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        E.search.value = "";
        applySearch();
      } else if (e.key === "Enter") {
        const first = E.peopleList.querySelector(".person-slot:not([hidden]) .person");
        if (first) first.click();
      }
    });
    for (const tab of ["telegram", "email"]) {
      E.tabs[tab].addEventListener("click", () => selectTab(tab, false));
      E.tabs[tab].addEventListener("keydown", (e) => {
        if (e.key === "ArrowLeft" || e.key === "ArrowRight" || e.key === "Home" || e.key === "End") {
          e.preventDefault();
          const other = tab === "telegram" ? "email" : "telegram";
          const target = e.key === "Home" ? "telegram" : e.key === "End" ? "email" : other;
          if (!E.tabs[target].disabled) selectTab(target, true);
        }
      });
    }
    E.composer.addEventListener("submit", (e) => {
      e.preventDefault();
      sendMessage();
    });
    E.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        sendMessage();
      }
    });
    E.input.addEventListener("input", () => {
      autoGrow();
      if (S.sel.person !== null) S.drafts.set(S.sel.person, E.input.value);
    });
    E.chatScroll.addEventListener("scroll", () => {
      S.atBottom = nearBottom();
      if (S.atBottom) E.chatNew.hidden = true;
    }, { passive: true });
    if (window.ResizeObserver) {
      // The chat keeps showing its newest message when the window or the composer resizes.
      new ResizeObserver(() => {
        if (S.atBottom && !E.chatPane.hidden) E.chatScroll.scrollTop = E.chatScroll.scrollHeight;
      }).observe(E.chatScroll);
    }
    E.chatNew.addEventListener("click", scrollChatToBottom);
    window.addEventListener("hashchange", onHashChange);
  }

  wire();
  poll();
})();
