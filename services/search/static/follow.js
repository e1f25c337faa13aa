/*
 * Newsflow search UI: following a search (issue 16). A "Follow this search"
 * button beside the results saves the search on screen as a subscription
 * (POST /v1/subscriptions), shows its Atom feed, and lists the key's
 * subscriptions to pause, resume or delete them. Entity pages call
 * window.newsflowFollow({ name, q, filters, entity }) for their own button.
 *
 * The API needs a key (X-API-Key). It is asked for once, in the dialog, and
 * kept in this browser's localStorage only after the API accepted it; a key
 * the API refuses is forgotten at once. "Forget the key" removes it.
 *
 * Names and queries come back from the API as the user (or anyone with the
 * key) typed them: like article text, they are only ever set as text
 * (util.js's el()), never parsed as HTML.
 */
"use strict";

(() => {
  const { el, fill, fmtDay } = window.NewsflowUI;

  const STORAGE_KEY = "newsflow.apiKey";
  const FILTERS = [
    { name: "people", label: "Person" },
    { name: "organisations", label: "Organisation" },
    { name: "places", label: "Place" },
    { name: "source", label: "Source" },
    { name: "language", label: "Language" },
    { name: "author", label: "Author" },
  ];
  const NAME_MAX = 200; // the API's default limit (longer names get a 422 with the reason)
  const API = "/v1/subscriptions";

  // ------------------------------------------------------------ the key
  // localStorage may be unavailable (privacy settings): the key then lives
  // as long as the page.
  let memoryKey = null;

  function storedKey() {
    try {
      return window.localStorage.getItem(STORAGE_KEY) || memoryKey;
    } catch {
      return memoryKey;
    }
  }

  function storeKey(key) {
    memoryKey = key;
    try {
      window.localStorage.setItem(STORAGE_KEY, key);
    } catch {
      /* kept in memory only */
    }
  }

  function forgetKey() {
    memoryKey = null;
    try {
      window.localStorage.removeItem(STORAGE_KEY);
    } catch {
      /* nothing stored */
    }
    renderBar();
  }

  // ------------------------------------------------------------ the API
  async function call(method, path, key, body) {
    const headers = { Accept: "application/json", "X-API-Key": key };
    if (body) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined });
    } catch {
      const error = new Error("the subscriptions service cannot be reached; try again in a moment");
      error.status = 0;
      throw error;
    }
    let payload = null;
    try {
      payload = response.status === 204 ? null : await response.json();
    } catch {
      payload = null;
    }
    if (!response.ok) {
      const reason = payload && typeof payload.reason === "string" ? payload.reason : `HTTP ${response.status}`;
      const error = new Error(reason);
      error.status = response.status;
      throw error;
    }
    return payload;
  }

  const refused = (error) => error.status === 401 || error.status === 403;

  /** What to tell the person, from the API's own reason. */
  function problem(error, doing) {
    const reason = error.message.replace(/\.$/, "");
    if (refused(error)) return `The API key was refused: ${reason}. Check it, or enter another key.`;
    if (error.status === 422) return `This search cannot be followed: ${reason}.`;
    if (error.status === 409) return `No more subscriptions for this key: ${reason}.`;
    if (error.status === 404) return `This subscription no longer exists (${reason}).`;
    if (error.status === 429 || error.status === 503) return `${reason}. Try again in a moment.`;
    if (error.status === 0) return `${reason[0].toUpperCase()}${reason.slice(1)}.`;
    return `${doing} failed (${reason}). Try again in a moment.`;
  }

  // ------------------------------------------------------------ what is followed
  /** A subscription request from what a page follows. */
  function normalise(spec) {
    const given = spec || {};
    const filters = given.filters || {};
    const body = { q: typeof given.q === "string" ? given.q.trim() : "" };
    for (const { name } of FILTERS) {
      const values = Array.isArray(filters[name]) ? filters[name].filter((v) => typeof v === "string" && v) : [];
      if (values.length) body[name] = values;
    }
    if (filters.from) body.from = String(filters.from);
    if (filters.to) body.to = String(filters.to);
    if (given.entity) body.entity = String(given.entity);
    const name = typeof given.name === "string" && given.name.trim() ? given.name.trim() : defaultName(body);
    return { body, name: name.slice(0, NAME_MAX) };
  }

  function defaultName(body) {
    if (body.q) return body.q;
    const values = FILTERS.flatMap(({ name }) => body[name] || []);
    return values.length ? values.join(", ") : body.entity || "My search";
  }

  /** One line saying what a subscription (or a request) follows. */
  function describe(sub) {
    const parts = [];
    if (sub.q) parts.push(`“${sub.q}”`);
    for (const { name, label } of FILTERS) {
      for (const value of sub[name] || []) parts.push(`${label}: ${value}`);
    }
    if (sub.entity) parts.push(`Entity: ${sub.entity}`);
    const day = (value) => (/^\d{4}-\d{2}-\d{2}$/.test(String(value)) ? fmtDay(value) : String(value));
    if (sub.from) parts.push(`from ${day(sub.from)}`);
    if (sub.to) parts.push(`to ${day(sub.to)}`);
    return parts.join(" · ") || "everything";
  }

  // ------------------------------------------------------------ the dialog
  let dialog = null;
  let returnFocus = null;

  function openDialog(...children) {
    if (!dialog) {
      dialog = el("dialog", { class: "follow-dialog", "aria-labelledby": "follow-title" });
      dialog.addEventListener("close", () => {
        dialog.replaceChildren();
        if (returnFocus && returnFocus.isConnected) returnFocus.focus();
        returnFocus = null;
      });
      document.body.append(dialog);
    }
    if (!dialog.open) returnFocus = document.activeElement;
    fill(dialog, ...children);
    if (!dialog.open) dialog.showModal();
    const first = dialog.querySelector("input:not([readonly]), button.follow-primary, input, button");
    if (first) first.focus();
  }

  const closeDialog = () => dialog && dialog.open && dialog.close();
  const title = (text) => el("h2", { id: "follow-title", class: "follow-title" }, text);
  const button = (label, onclick, extra) => el("button", { type: "button", onclick, ...extra }, label);
  const closeButton = () => button("Close", closeDialog, { class: "follow-secondary" });

  function alertLine(message) {
    return el("p", { class: "follow-error", role: "alert", hidden: !message }, message || "");
  }

  function keyField() {
    return el("label", { class: "follow-field" },
      el("span", null, "API key"),
      el("input", { type: "password", name: "key", autocomplete: "off", spellcheck: "false", required: true }),
      el("span", { class: "follow-hint" }, "Kept in this browser (localStorage) so you are asked once; “Forget the key” removes it."));
  }

  // ------------------------------------------------------------ follow
  function showFollow(spec, message) {
    const key = storedKey();
    const nameInput = el("input", { type: "text", name: "name", maxlength: NAME_MAX, required: true, autocomplete: "off", value: spec.name });
    const error = alertLine(message);
    const submit = el("button", { type: "submit", class: "follow-primary" }, "Follow");
    const form = el("form", { class: "follow-form" },
      el("p", { class: "follow-what" }, "New articles matching ", el("strong", null, describe(spec.body)), " will be listed in a feed."),
      el("label", { class: "follow-field" }, el("span", null, "Name"), nameInput),
      key
        ? el("p", { class: "follow-hint" }, "Using the API key saved in this browser. ",
            button("Use another key", () => { forgetKey(); showFollow({ ...spec, name: nameInput.value }); }, { class: "link-button" }))
        : keyField(),
      error,
      el("div", { class: "follow-actions" }, submit, button("Cancel", closeDialog, { class: "follow-secondary" })));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const usedKey = key || form.elements.key.value.trim();
      const name = nameInput.value.trim() || spec.name;
      submit.disabled = true;
      submit.textContent = "Following…";
      try {
        const made = await call("POST", API, usedKey, { ...spec.body, name });
        storeKey(usedKey);
        renderBar();
        showCreated(made);
      } catch (failure) {
        if (refused(failure)) {
          forgetKey();
          showFollow({ ...spec, name }, problem(failure, "Following"));
          return;
        }
        error.textContent = problem(failure, "Following");
        error.hidden = false;
        submit.disabled = false;
        submit.textContent = "Follow";
      }
    });
    openDialog(title("Follow this search"), form);
    // After a refused key, the key is what to change.
    if (message && form.elements.key) form.elements.key.focus();
  }

  function showCreated(made) {
    const feed = el("input", { type: "text", readonly: true, class: "follow-feed", id: "follow-feed", value: made.feed_url, "aria-describedby": "follow-feed-hint" });
    const copied = el("span", { class: "follow-hint", role: "status" });
    const copy = async () => {
      feed.select();
      try {
        await navigator.clipboard.writeText(made.feed_url);
        copied.textContent = "Copied.";
      } catch {
        copied.textContent = "Selected: press Ctrl+C (⌘C) to copy.";
      }
    };
    openDialog(
      title("Following this search"),
      el("p", { class: "follow-what" }, "“", el("strong", { class: "follow-name" }, made.name), "” follows ", describe(made), "."),
      el("label", { class: "follow-field", for: "follow-feed" }, el("span", null, "Atom feed of its new articles")),
      el("div", { class: "follow-copy" }, feed, button("Copy", copy, { class: "follow-secondary" })),
      el("p", { class: "follow-hint", id: "follow-feed-hint" },
        "Add this address to a feed reader. It holds a secret token and is shown only now: keep it private."),
      copied,
      el("div", { class: "follow-actions" },
        button("Manage subscriptions", () => showManage(), { class: "follow-primary" }), closeButton()));
  }

  // ------------------------------------------------------------ manage
  function showKeyForm(then, message) {
    const error = alertLine(message);
    const form = el("form", { class: "follow-form" },
      el("p", { class: "follow-what" }, "Your subscriptions belong to the API key that created them."),
      keyField(), error,
      el("div", { class: "follow-actions" },
        el("button", { type: "submit", class: "follow-primary" }, "Continue"), closeButton()));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const key = form.elements.key.value.trim();
      if (key) then(key);
    });
    openDialog(title("Your subscriptions"), form);
  }

  async function showManage(status) {
    const key = storedKey();
    if (!key) {
      showKeyForm((given) => listWith(given, status));
      return;
    }
    await listWith(key, status);
  }

  async function listWith(key, status) {
    let subs;
    try {
      subs = await call("GET", API, key);
    } catch (failure) {
      if (refused(failure)) {
        forgetKey();
        showKeyForm((given) => listWith(given), problem(failure, "Listing"));
      } else {
        openDialog(title("Your subscriptions"), alertLine(problem(failure, "Listing")),
          el("div", { class: "follow-actions" }, closeButton()));
      }
      return;
    }
    storeKey(key);
    renderBar();
    const list = subs.length
      ? el("ul", { class: "sub-list" }, subs.map((sub) => subscriptionItem(sub, key)))
      : el("p", { class: "muted" }, "No subscription yet: search, then “Follow this search”.");
    openDialog(
      title("Your subscriptions"),
      el("p", { class: "follow-hint", role: "status" }, status || ""),
      list,
      el("div", { class: "follow-actions" },
        button("Forget the key", () => { forgetKey(); closeDialog(); }, { class: "follow-secondary" }),
        button("Use another key", () => { forgetKey(); showManage(); }, { class: "follow-secondary" }),
        closeButton()));
  }

  function subscriptionItem(sub, key) {
    const act = async (method, path, done) => {
      try {
        await call(method, path, key);
        await listWith(key, done);
      } catch (failure) {
        await listWith(key, problem(failure, "The change"));
      }
    };
    const base = `${API}/${encodeURIComponent(sub.id)}`;
    const remove = button("Delete", () => {
      if (remove.dataset.confirm) {
        act("DELETE", base, `“${sub.name}” deleted.`);
        return;
      }
      remove.dataset.confirm = "1";
      remove.textContent = "Really delete?";
      remove.classList.add("is-danger");
    }, { class: "follow-secondary", "aria-label": `Delete ${sub.name}` });
    const toggle = sub.paused
      ? button("Resume", () => act("POST", `${base}/resume`, `“${sub.name}” resumed.`), { class: "follow-secondary", "aria-label": `Resume ${sub.name}` })
      : button("Pause", () => act("POST", `${base}/pause`, `“${sub.name}” paused.`), { class: "follow-secondary", "aria-label": `Pause ${sub.name}` });
    const failing = sub.delivery && sub.delivery.last_error && sub.delivery.consecutive_failures;
    return el("li", { class: "sub-item", "data-id": sub.id },
      el("div", { class: "sub-head" },
        el("strong", { class: "sub-name" }, sub.name),
        el("span", { class: sub.paused ? "sub-state is-paused" : "sub-state" }, sub.paused ? "Paused" : "Active")),
      el("p", { class: "sub-search" }, describe(sub)),
      sub.paused && sub.paused_reason ? el("p", { class: "sub-reason" }, `Paused: ${sub.paused_reason}`) : null,
      failing ? el("p", { class: "sub-reason" }, `Webhook failing: ${sub.delivery.last_error}`) : null,
      el("div", { class: "sub-actions" }, toggle, remove));
  }

  // ------------------------------------------------------------ the bar beside the results
  let shown = null; // the search on screen (app.js's announcement), or null
  let bar = null;

  function followable(state) {
    return Boolean(state && (state.q || FILTERS.some(({ name }) => (state[name] || []).length) || state.from || state.to));
  }

  /** What "Follow this search" saves: the words and filters on screen. A
      relative window ("last 7 days") is not saved: a follow is about what
      comes next. Explicit dates are kept, as the search has them. */
  function specOf(state) {
    const filters = { from: state.from || "", to: state.to || "" };
    for (const { name } of FILTERS) filters[name] = state[name] || [];
    return { q: state.q, filters };
  }

  function renderBar() {
    const row = document.querySelector("#results .summary-row");
    if (!row) return;
    if (!bar) {
      bar = el("div", { class: "follow-bar", id: "follow-bar" },
        button("Follow this search", () => shown && window.newsflowFollow(specOf(shown)), { class: "follow-button", id: "follow-button" }),
        button("Subscriptions", () => showManage(), { class: "link-button", id: "follow-manage" }));
      row.append(bar);
    }
    bar.hidden = !shown;
    bar.querySelector("#follow-button").hidden = !followable(shown);
    bar.querySelector("#follow-manage").hidden = !storedKey();
  }

  document.addEventListener("newsflow:search", (event) => {
    shown = event.detail ? event.detail.state : null;
    renderBar();
  });

  /** Open the follow dialog for a search or an entity:
      { name, q, filters: { people: [...], source: [...], from, to, ... }, entity }. */
  window.newsflowFollow = (spec) => showFollow(normalise(spec));
  window.newsflowSubscriptions = () => showManage();
})();
