/*
 * Newsflow search UI: plain JavaScript, no build step.
 *
 * Two rules shape this file:
 *
 * 1. The URL is the state. Query, filters, dates, sort, page and the open
 *    article live in the query string; every change goes through navigate(),
 *    which writes history (pushState) and renders from the state. Reload,
 *    copy/paste, back and forward therefore all work the same way.
 *
 * 2. Article text is untrusted. Nothing from the API is ever parsed as HTML:
 *    the DOM is built with createElement/textContent. Highlight fragments come
 *    from the API HTML-escaped with <mark> as the only tags; they are split on
 *    those two literal tags, the pieces un-escaped by hand, and inserted as
 *    text nodes inside real <mark> elements. There is no innerHTML here.
 */
"use strict";

(() => {
  const FACETS = [
    { name: "source", title: "Sources", chip: "Source" },
    { name: "language", title: "Languages", chip: "Language" },
    { name: "people", title: "People", chip: "Person" },
    { name: "organisations", title: "Organisations", chip: "Organisation" },
    { name: "places", title: "Places", chip: "Place" },
  ];
  const FACET_NAMES = FACETS.map((f) => f.name);
  const ENTITY_GROUPS = [
    { group: "people", title: "People" },
    { group: "organisations", title: "Organisations" },
    { group: "places", title: "Places" },
    { group: "groups", title: "Groups" },
    { group: "events", title: "Events" },
    { group: "dates", title: "Dates" },
    { group: "other", title: "Other" },
  ];
  const PAGE_SIZE = 20;
  const FACET_SIZE = 15;
  const FACET_VISIBLE = 6;
  const MAX_WINDOW = 10000; // the API's page-number limit (deeper: cursor)
  const SEARCH_DELAY_MS = 200;
  const SUGGEST_DELAY_MS = 120;

  const $ = (id) => document.getElementById(id);
  const ui = {
    form: $("search-form"),
    q: $("q"),
    sort: $("sort"),
    suggestions: $("suggestions"),
    progress: $("progress"),
    sidebar: $("sidebar"),
    facetsToggle: $("filters-toggle"),
    filterCount: $("filter-count"),
    facets: $("facets"),
    facetLists: $("facet-lists"),
    from: $("from"),
    to: $("to"),
    main: $("main"),
    results: $("results"),
    chips: $("chips"),
    summary: $("summary"),
    histogram: $("histogram"),
    chart: $("chart"),
    bars: $("bars"),
    axis: $("axis"),
    undated: $("undated"),
    hits: $("hits"),
    pager: $("pager"),
    reader: $("reader"),
  };

  // ------------------------------------------------------------ DOM helpers
  /** Build an element. Strings among children become text nodes, never HTML. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const ENTITY_REF = /&(#[xX][0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g;
  const NAMED = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

  /** replaceChildren without its habit of turning null into the text "null". */
  function fill(parent, ...children) {
    parent.replaceChildren(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
    return parent;
  }

  /** Undo the highlighter's HTML encoder, to get the article's own text back. */
  function unescapeEntities(text) {
    return text.replace(ENTITY_REF, (match, ref) => {
      if (ref[0] !== "#") return NAMED[ref];
      const code = ref[1] === "x" || ref[1] === "X" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      try {
        return String.fromCodePoint(code);
      } catch {
        return match;
      }
    });
  }

  /** Append a highlight fragment ("a &lt;b&gt; <mark>c</mark>") as text + <mark>. */
  function appendHighlighted(parent, fragment) {
    let marked = false;
    for (const part of fragment.split(/(<\/?mark>)/)) {
      if (part === "<mark>") marked = true;
      else if (part === "</mark>") marked = false;
      else if (part) {
        const text = document.createTextNode(unescapeEntities(part));
        parent.append(marked ? el("mark", null, text) : text);
      }
    }
    return parent;
  }

  /** Only http(s) links from article metadata; anything else is not a link. */
  function safeHttpUrl(value) {
    if (!value) return null;
    try {
      const url = new URL(value);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch {
      return null;
    }
  }

  // ------------------------------------------------------------ formatting
  const numberFormat = new Intl.NumberFormat("en-GB");
  const dateFormat = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
  const monthFormat = new Intl.DateTimeFormat("en-GB", { month: "short", year: "numeric", timeZone: "UTC" });
  let languageNames = null;
  try {
    languageNames = new Intl.DisplayNames(["en"], { type: "language" });
  } catch {
    languageNames = null;
  }

  const fmtCount = (n) => numberFormat.format(n);
  const plural = (n, one, many) => `${fmtCount(n)} ${n === 1 ? one : many}`;
  const fmtDate = (iso) => (iso ? dateFormat.format(new Date(iso)) : "");
  const dayDate = (day) => new Date(`${day}T00:00:00Z`);

  function languageName(code) {
    if (!code) return "";
    try {
      const name = languageNames && languageNames.of(code);
      return name && name !== code ? name : code.toUpperCase();
    } catch {
      return code.toUpperCase();
    }
  }

  function facetLabel(facet, value) {
    return facet === "language" ? languageName(value) : value;
  }

  function bucketLabel(bucket, interval) {
    const start = dayDate(bucket.start);
    switch (interval) {
      case "day": return dateFormat.format(start);
      case "week": return `Week of ${dateFormat.format(start)}`;
      case "month": return monthFormat.format(start);
      case "quarter": return `Q${Math.floor(start.getUTCMonth() / 3) + 1} ${start.getUTCFullYear()}`;
      case "decade": return `${start.getUTCFullYear()}s`;
      default: return String(start.getUTCFullYear());
    }
  }

  /** The day before an ISO day (a bucket's exclusive end -> inclusive "to"). */
  function dayBefore(day) {
    const date = dayDate(day);
    date.setUTCDate(date.getUTCDate() - 1);
    return date.toISOString().slice(0, 10);
  }

  // ------------------------------------------------------------ state <-> URL
  const DAY = /^\d{4}-\d{2}-\d{2}$/;
  const ARTICLE_ID = /^[0-9a-f]{32}$/;

  function emptyState() {
    const state = { q: "", sort: "relevance", page: 1, from: "", to: "", article: "" };
    for (const name of FACET_NAMES) state[name] = [];
    return state;
  }

  function readState(search) {
    const params = new URLSearchParams(search);
    const state = emptyState();
    state.q = params.get("q") || "";
    state.sort = params.get("sort") === "newest" ? "newest" : "relevance";
    state.page = Math.max(1, parseInt(params.get("page") || "1", 10) || 1);
    state.from = DAY.test(params.get("from") || "") ? params.get("from") : "";
    state.to = DAY.test(params.get("to") || "") ? params.get("to") : "";
    state.article = ARTICLE_ID.test(params.get("article") || "") ? params.get("article") : "";
    for (const name of FACET_NAMES) state[name] = [...new Set(params.getAll(name).filter(Boolean))];
    return state;
  }

  /** Query parameters of a state; `api` leaves out what only the page uses. */
  function toParams(state, api) {
    const params = new URLSearchParams();
    if (state.q) params.set("q", state.q);
    for (const name of FACET_NAMES) for (const value of state[name]) params.append(name, value);
    if (state.from) params.set("from", state.from);
    if (state.to) params.set("to", state.to);
    if (state.sort !== "relevance") params.set("sort", state.sort);
    if (state.page > 1) params.set("page", String(state.page));
    if (!api && state.article) params.set("article", state.article);
    return params;
  }

  function hrefFor(state) {
    const query = toParams(state, false).toString();
    return query ? `?${query}` : location.pathname;
  }

  const filterCount = (state) =>
    FACET_NAMES.reduce((n, name) => n + state[name].length, 0) + (state.from || state.to ? 1 : 0);

  let state = readState(location.search);
  let typing = false; // consecutive keystrokes replace one history entry

  /** The one way the page changes: new state -> URL (history) -> render. */
  function navigate(next, options) {
    const opts = options || {};
    if (!opts.replace) rememberScroll();
    state = next;
    const href = hrefFor(state);
    const entry = { fromResults: Boolean(opts.fromResults) };
    if (opts.replace) history.replaceState(entry, "", href);
    else history.pushState(entry, "", href);
    if (!opts.keepTyping) typing = false;
    render();
    if (opts.scrollTop) window.scrollTo(0, 0);
    // The control that was used is about to be replaced: continue from the
    // top of the results rather than from nowhere.
    if (opts.focusMain) ui.main.focus({ preventScroll: true });
  }

  function rememberScroll() {
    history.replaceState({ ...(history.state || {}), scrollY: window.scrollY }, "", location.href);
  }

  function withChange(change) {
    return { ...state, page: 1, article: "", ...change };
  }

  function toggleFilter(facet, value) {
    const values = state[facet].includes(value)
      ? state[facet].filter((v) => v !== value)
      : [...state[facet], value];
    navigate(withChange({ [facet]: values }));
  }

  function removeFilter(facet, value) {
    navigate(withChange({ [facet]: state[facet].filter((v) => v !== value) }), { focusMain: true });
  }

  function addFilter(facet, value) {
    if (!state[facet].includes(value)) {
      navigate(withChange({ [facet]: [...state[facet], value] }), { scrollTop: true, focusMain: true });
    }
  }

  // ------------------------------------------------------------ fetching
  let searchRequest = null;
  let shownSearch = null; // query string of the results on screen
  let busyCount = 0;

  function setBusy(delta) {
    busyCount = Math.max(0, busyCount + delta);
    ui.progress.hidden = busyCount === 0;
    ui.results.setAttribute("aria-busy", String(busyCount > 0));
  }

  async function getJson(url, signal) {
    const response = await fetch(url, { signal, headers: { Accept: "application/json" } });
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    if (!response.ok) {
      const reason = body && typeof body.reason === "string" ? body.reason : `HTTP ${response.status}`;
      const error = new Error(reason);
      error.status = response.status;
      throw error;
    }
    return body;
  }

  async function runSearch() {
    const params = toParams(state, true);
    params.set("size", String(PAGE_SIZE));
    params.set("facet_size", String(FACET_SIZE));
    const key = params.toString();
    if (key === shownSearch) return; // already on screen (e.g. back from an article)
    if (searchRequest) searchRequest.abort();
    const request = new AbortController();
    searchRequest = request;
    setBusy(1);
    try {
      const body = await getJson(`/v1/search?${key}`, request.signal);
      if (request !== searchRequest) return;
      shownSearch = key;
      renderResults(body);
    } catch (error) {
      if (error.name === "AbortError" || request !== searchRequest) return;
      shownSearch = null;
      renderSearchError(error);
    } finally {
      setBusy(-1);
    }
  }

  // ------------------------------------------------------------ rendering
  function render() {
    syncControls();
    const reading = Boolean(state.article);
    document.body.classList.toggle("is-reading", reading);
    ui.results.hidden = reading;
    ui.sidebar.hidden = reading;
    ui.reader.hidden = !reading;
    if (reading) {
      showArticle(state.article);
    } else {
      document.title = state.q ? `${state.q} – Newsflow search` : "Newsflow search";
      runSearch();
    }
  }

  function syncControls() {
    if (document.activeElement !== ui.q || !typing) ui.q.value = state.q;
    // Without words there is nothing to rank: results are newest first.
    ui.sort.value = state.q ? state.sort : "newest";
    ui.sort.disabled = !state.q;
    ui.from.value = state.from;
    ui.to.value = state.to;
    const count = filterCount(state);
    ui.filterCount.hidden = count === 0;
    ui.filterCount.textContent = String(count);
  }

  function renderSearchError(error) {
    ui.summary.textContent = "";
    ui.summary.append(el("span", { class: "error" }, error.status ? `Search failed: ${error.message}` : "The search service cannot be reached. Try again in a moment."));
    ui.hits.replaceChildren();
    ui.pager.replaceChildren();
    ui.histogram.hidden = true;
  }

  function renderResults(body) {
    renderChips();
    renderSummary(body);
    renderFacets(body.facets);
    renderHistogram(body.histogram);
    renderHits(body.hits, body.total);
    renderPager(body.total);
  }

  function renderSummary(body) {
    const parts = [el("strong", null, plural(body.total, "article", "articles"))];
    if (state.q) parts.push(" for ", el("q", null, state.q));
    parts.push(el("span", { class: "took" }, ` · ${body.took_ms} ms`));
    ui.summary.replaceChildren(...parts);
  }

  function chip(label, value, onRemove) {
    return el(
      "button",
      { type: "button", class: "chip chip-active", "aria-label": `Remove filter ${label}: ${value}`, onclick: onRemove },
      el("span", { class: "chip-label" }, `${label}: `),
      el("span", { class: "chip-value" }, value),
      el("span", { class: "chip-x", "aria-hidden": "true" }, "×"),
    );
  }

  function renderChips() {
    const chips = [];
    for (const facet of FACETS) {
      for (const value of state[facet.name]) {
        chips.push(chip(facet.chip, facetLabel(facet.name, value), () => removeFilter(facet.name, value)));
      }
    }
    if (state.from || state.to) {
      const range = `${state.from ? fmtDate(state.from) : "…"} – ${state.to ? fmtDate(state.to) : "…"}`;
      chips.push(chip("Published", range, () => navigate(withChange({ from: "", to: "" }), { focusMain: true })));
    }
    if (chips.length > 1) {
      const cleared = withChange({ from: "", to: "" });
      for (const name of FACET_NAMES) cleared[name] = [];
      chips.push(el("button", { type: "button", class: "link-button", onclick: () => navigate(cleared, { focusMain: true }) }, "Clear all"));
    }
    ui.chips.replaceChildren(...chips);
    ui.chips.hidden = chips.length === 0;
  }

  const expandedFacets = new Set();

  function renderFacets(facets) {
    if (!facets) {
      ui.facetLists.replaceChildren();
      return;
    }
    // Re-rendering replaces the checkboxes; keep keyboard focus on the same one.
    const focused = ui.facetLists.contains(document.activeElement) ? document.activeElement : null;
    const focusKey = focused && focused.dataset.key ? focused.dataset.key : null;
    const sections = [];
    for (const facet of FACETS) {
      const buckets = facets[facet.name] || [];
      if (!buckets.length) continue;
      const expanded = expandedFacets.has(facet.name);
      const items = buckets.map((bucket, index) => {
        const id = `f-${facet.name}-${index}`;
        const input = el("input", {
          type: "checkbox",
          id,
          checked: bucket.selected,
          onchange: () => toggleFilter(facet.name, bucket.value),
        });
        input.dataset.key = `${facet.name}\u001f${bucket.value}`;
        return el(
          "li",
          { class: "facet-item", hidden: !expanded && index >= FACET_VISIBLE && !bucket.selected },
          input,
          el("label", { for: id },
            el("span", { class: "facet-value" }, facetLabel(facet.name, bucket.value)),
            el("span", { class: "facet-count" }, fmtCount(bucket.count))),
        );
      });
      const more = buckets.length > FACET_VISIBLE
        ? el("button", {
            type: "button",
            class: "link-button facet-more",
            "aria-expanded": String(expanded),
            onclick: () => {
              if (expanded) expandedFacets.delete(facet.name);
              else expandedFacets.add(facet.name);
              renderFacets(facets);
            },
          }, expanded ? "Show fewer" : `Show ${buckets.length - FACET_VISIBLE} more`)
        : null;
      sections.push(
        el("section", { class: "facet", "data-facet": facet.name, "aria-labelledby": `t-${facet.name}` },
          el("h2", { class: "facet-title", id: `t-${facet.name}` }, facet.title),
          el("ul", { class: "facet-list" }, items),
          more),
      );
    }
    ui.facetLists.replaceChildren(...sections);
    if (focusKey) {
      const again = [...ui.facetLists.querySelectorAll("input")].find((i) => i.dataset.key === focusKey);
      if (again) again.focus();
    }
  }

  // ------------------------------------------------------------ histogram
  let histogram = null; // { buckets, interval } on screen
  let focusBar = 0;
  let brush = null; // { anchor, end } indices while selecting

  function renderHistogram(data) {
    const hadFocus = ui.bars.contains(document.activeElement);
    histogram = data && data.buckets.length ? data : null;
    ui.histogram.hidden = !histogram && !(data && data.undated);
    brush = null;
    if (!histogram) {
      ui.bars.replaceChildren();
      ui.axis.replaceChildren();
    } else {
      const max = Math.max(1, ...histogram.buckets.map((b) => b.count));
      focusBar = Math.min(focusBar, histogram.buckets.length - 1);
      const bars = histogram.buckets.map((bucket, index) => {
        const label = `${bucketLabel(bucket, histogram.interval)}: ${plural(bucket.count, "article", "articles")}`;
        const fill = el("span", { class: "bar-fill" });
        fill.style.height = bucket.count ? `${Math.max(4, (bucket.count / max) * 100)}%` : "0";
        return el("button", {
          type: "button",
          class: bucket.count ? "bar" : "bar is-empty",
          tabindex: index === focusBar ? "0" : "-1",
          "aria-label": label,
          title: label,
          "data-index": String(index),
        }, fill);
      });
      ui.bars.replaceChildren(...bars);
      if (hadFocus) bars[focusBar].focus();
      // A handful of buckets (a short corpus or range) should not become slabs.
      ui.chart.style.maxWidth = `${Math.max(bars.length * 56, 240)}px`;
      const first = histogram.buckets[0];
      const last = histogram.buckets[histogram.buckets.length - 1];
      fill(ui.axis,
        el("span", null, bucketLabel(first, histogram.interval)),
        histogram.buckets.length > 1 ? el("span", null, bucketLabel(last, histogram.interval)) : null,
      );
    }
    const undated = data ? data.undated : 0;
    ui.undated.hidden = !undated;
    ui.undated.textContent = undated
      ? `${plural(undated, "article has", "articles have")} no publication date (not in the chart; a date range excludes them).`
      : "";
  }

  function paintBrush() {
    const [lo, hi] = brush ? [Math.min(brush.anchor, brush.end), Math.max(brush.anchor, brush.end)] : [-1, -1];
    for (const bar of ui.bars.children) {
      const index = Number(bar.dataset.index);
      bar.classList.toggle("is-brushed", index >= lo && index <= hi);
    }
  }

  function applyBrush() {
    if (!brush || !histogram) return;
    const lo = Math.min(brush.anchor, brush.end);
    const hi = Math.max(brush.anchor, brush.end);
    const from = histogram.buckets[lo].start;
    const to = dayBefore(histogram.buckets[hi].end);
    brush = null;
    navigate(withChange({ from, to }));
  }

  function barIndexAt(clientX) {
    const rect = ui.bars.getBoundingClientRect();
    const n = ui.bars.children.length;
    const index = Math.floor(((clientX - rect.left) / rect.width) * n);
    return Math.max(0, Math.min(n - 1, index));
  }

  ui.bars.addEventListener("pointerdown", (event) => {
    if (!histogram || event.button !== 0) return;
    const index = barIndexAt(event.clientX);
    brush = { anchor: index, end: index };
    ui.bars.setPointerCapture(event.pointerId);
    paintBrush();
    event.preventDefault();
  });
  ui.bars.addEventListener("pointermove", (event) => {
    if (!brush) return;
    brush.end = barIndexAt(event.clientX);
    paintBrush();
  });
  ui.bars.addEventListener("pointerup", () => applyBrush());
  ui.bars.addEventListener("pointercancel", () => {
    brush = null;
    paintBrush();
  });
  ui.bars.addEventListener("click", (event) => {
    // Keyboard "clicks" (Enter/Space) arrive without a pointer brush.
    if (event.detail === 0 && histogram) {
      const bar = event.target.closest(".bar");
      if (!bar) return;
      const index = Number(bar.dataset.index);
      brush = brush || { anchor: index, end: index };
      applyBrush();
    }
  });
  ui.bars.addEventListener("keydown", (event) => {
    if (!histogram) return;
    const n = histogram.buckets.length;
    const step = { ArrowLeft: -1, ArrowRight: 1, Home: -n, End: n }[event.key];
    if (step === undefined) return;
    event.preventDefault();
    const next = Math.max(0, Math.min(n - 1, focusBar + step));
    if (event.shiftKey) {
      brush = brush || { anchor: focusBar, end: focusBar };
      brush.end = next;
    } else {
      brush = null;
    }
    focusBar = next;
    for (const bar of ui.bars.children) bar.tabIndex = Number(bar.dataset.index) === focusBar ? 0 : -1;
    ui.bars.children[focusBar].focus();
    paintBrush();
  });

  // ------------------------------------------------------------ hits
  function entityChips(hit) {
    const chips = [];
    for (const facet of ["people", "organisations", "places"]) {
      for (const name of hit[facet] || []) {
        const active = state[facet].includes(name);
        chips.push(el("button", {
          type: "button",
          class: `chip chip-${facet}${active ? " is-on" : ""}`,
          "aria-pressed": String(active),
          title: `Filter by ${name}`,
          onclick: () => addFilter(facet, name),
        }, name));
      }
    }
    return chips.length ? el("div", { class: "hit-entities", "aria-label": "Entities" }, chips) : null;
  }

  function articleLink(id, content) {
    const target = { ...state, article: id };
    return el("a", {
      href: hrefFor(target),
      onclick: (event) => {
        if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
        event.preventDefault();
        navigate(target, { fromResults: !state.article, scrollTop: true });
      },
    }, content);
  }

  function renderHits(hits, total) {
    if (!hits.length && total > 0) {
      ui.hits.replaceChildren(el("li", { class: "empty" },
        el("strong", null, "This page is past the last one."), " ",
        el("button", { type: "button", class: "link-button", onclick: () => navigate({ ...state, page: 1 }) }, "Go to the first page")));
      return;
    }
    if (!hits.length) {
      const hint = filterCount(state) ? "Try removing a filter, or fewer words." : "Try other words, or fewer of them.";
      ui.hits.replaceChildren(el("li", { class: "empty" }, el("strong", null, "No articles match."), " ", hint));
      return;
    }
    ui.hits.replaceChildren(...hits.map((hit) => {
      const title = el("span");
      if (hit.title_html) appendHighlighted(title, hit.title_html);
      else title.textContent = hit.title || "(untitled)";
      const snippet = el("p", { class: "hit-snippet" });
      hit.snippets.forEach((fragment, index) => {
        if (index) snippet.append(el("span", { class: "gap", "aria-hidden": "true" }, " … "));
        appendHighlighted(snippet, fragment);
      });
      const meta = [el("span", { class: "hit-source" }, hit.source)];
      if (hit.published_at) meta.push(el("time", { datetime: hit.published_at }, fmtDate(hit.published_at)));
      else meta.push(el("span", { class: "muted" }, "undated"));
      if (hit.language && hit.language !== "en") meta.push(el("span", { class: "lang" }, languageName(hit.language)));
      return el("li", { class: "hit" },
        el("h3", { class: "hit-title" }, articleLink(hit.id, title)),
        el("div", { class: "hit-meta" }, meta),
        hit.snippets.length ? snippet : null,
        entityChips(hit));
    }));
  }

  function renderPager(total) {
    const pages = Math.min(Math.ceil(total / PAGE_SIZE), Math.floor(MAX_WINDOW / PAGE_SIZE));
    if (pages <= 1) {
      ui.pager.replaceChildren();
      return;
    }
    const current = Math.min(state.page, pages);
    const go = (page) => () => navigate({ ...state, page }, { scrollTop: true, focusMain: true });
    const button = (label, page, extra) =>
      el("button", { type: "button", class: "page", onclick: go(page), ...extra }, label);
    const items = [button("‹ Previous", current - 1, { disabled: current === 1, "aria-label": "Previous page" })];
    const shown = new Set([1, pages, current - 1, current, current + 1].filter((p) => p >= 1 && p <= pages));
    let last = 0;
    for (const page of [...shown].sort((a, b) => a - b)) {
      if (page - last > 1) items.push(el("span", { class: "page-gap", "aria-hidden": "true" }, "…"));
      items.push(page === current
        ? el("span", { class: "page is-current", "aria-current": "page" }, String(page))
        : button(String(page), page, { "aria-label": `Page ${page}` }));
      last = page;
    }
    items.push(button("Next ›", current + 1, { disabled: current === pages, "aria-label": "Next page" }));
    ui.pager.replaceChildren(...items);
  }

  // ------------------------------------------------------------ article view
  let articleRequest = null;
  let shownArticle = null;

  async function showArticle(id) {
    if (shownArticle === id) return;
    if (articleRequest) articleRequest.abort();
    const request = new AbortController();
    articleRequest = request;
    ui.reader.replaceChildren(backButton(), el("p", { class: "muted" }, "Loading the article…"));
    setBusy(1);
    try {
      const [article, similar] = await Promise.all([
        getJson(`/v1/articles/${id}`, request.signal),
        getJson(`/v1/articles/${id}/similar?size=5`, request.signal).catch(() => null),
      ]);
      if (request !== articleRequest) return;
      shownArticle = id;
      renderArticle(article, similar);
    } catch (error) {
      if (error.name === "AbortError" || request !== articleRequest) return;
      shownArticle = null;
      const message = error.status === 404 ? "This article is not in the index." : `The article could not be loaded: ${error.message}`;
      ui.reader.replaceChildren(backButton(), el("p", { class: "error" }, message));
    } finally {
      setBusy(-1);
    }
  }

  function backButton() {
    return el("button", {
      type: "button",
      class: "back",
      onclick: () => {
        if (history.state && history.state.fromResults) history.back();
        else navigate({ ...state, article: "" });
      },
    }, "← Back to results");
  }

  function entityChip(entity) {
    const facet = FACET_NAMES.includes(entity.group) ? entity.group : null;
    const label = [entity.name, el("span", { class: "chip-count" }, String(entity.count))];
    const search = () => {
      const next = facet
        ? withChange({ [facet]: state[facet].includes(entity.name) ? state[facet] : [...state[facet], entity.name] })
        : withChange({ q: `"${entity.name.replaceAll('"', "")}"` });
      navigate(next, { scrollTop: true });
    };
    return el("button", {
      type: "button",
      class: `chip chip-${entity.group}`,
      title: facet ? `Show articles about ${entity.name}` : `Search for “${entity.name}”`,
      onclick: search,
    }, label);
  }

  function renderArticle(article, similar) {
    document.title = `${article.title || "Article"} – Newsflow`;
    const meta = [el("span", { class: "hit-source" }, article.site_name || article.source)];
    if (article.published_at) meta.push(el("time", { datetime: article.published_at }, fmtDate(article.published_at)));
    if (article.authors.length) meta.push(el("span", null, `By ${article.authors.join(", ")}`));
    if (article.credit.length) meta.push(el("span", null, `With ${article.credit.join(", ")}`));
    if (article.language) meta.push(el("span", null, languageName(article.language)));
    if (article.word_count) meta.push(el("span", null, plural(article.word_count, "word", "words")));
    const original = safeHttpUrl(article.url);

    const groups = ENTITY_GROUPS.map(({ group, title }) => {
      const entities = article.entities.filter((e) => e.group === group);
      if (!entities.length) return null;
      return el("div", { class: "entity-group" },
        el("h3", null, title),
        el("div", { class: "entity-chips" }, entities.map(entityChip)));
    }).filter(Boolean);

    const paragraphs = article.text.split(/\n\s*\n/).map((p) => p.trim()).filter(Boolean)
      .map((p) => el("p", null, p));

    const related = similar
      ? el("section", { class: "similar", "aria-labelledby": "similar-title" },
          el("h2", { id: "similar-title" }, "Similar articles"),
          similar.items.length
            ? el("ul", null, similar.items.map((item) => el("li", null,
                articleLink(item.id, item.title || "(untitled)"),
                el("span", { class: "muted" }, ` ${item.source}${item.published_at ? ` · ${fmtDate(item.published_at)}` : ""}`))))
            : el("p", { class: "muted" }, "No other article is close enough to this one."))
      : null;

    const title = el("h1", { id: "reader-title", tabindex: "-1" }, article.title || "(untitled)");
    fill(ui.reader,
      backButton(),
      el("header", { class: "reader-head" },
        title,
        el("div", { class: "hit-meta" }, meta),
        original ? el("a", { class: "original", href: original, target: "_blank", rel: "noopener noreferrer" }, `Read at ${new URL(original).hostname} ↗`) : null),
      groups.length ? el("section", { class: "entities", "aria-label": "Entities in this article" }, groups) : null,
      el("div", { class: "reader-body" }, paragraphs),
      related,
    );
    title.focus({ preventScroll: true });
  }

  // ------------------------------------------------------------ search box + suggestions
  let searchTimer = 0;
  let suggestTimer = 0;
  let suggestRequest = null;
  let suggestions = [];
  let activeSuggestion = -1;

  function commitQuery(immediate) {
    clearTimeout(searchTimer);
    const q = ui.q.value.trim();
    if (q === state.q && !state.article) return;
    const run = () => {
      // The first keystroke of a burst adds a history entry; the rest refine it.
      navigate(withChange({ q }), { replace: typing, keepTyping: true });
      typing = true;
    };
    if (immediate) run();
    else searchTimer = setTimeout(run, SEARCH_DELAY_MS);
  }

  function closeSuggestions() {
    suggestions = [];
    activeSuggestion = -1;
    ui.suggestions.hidden = true;
    ui.suggestions.replaceChildren();
    ui.q.setAttribute("aria-expanded", "false");
    ui.q.removeAttribute("aria-activedescendant");
  }

  function paintSuggestions() {
    [...ui.suggestions.children].forEach((item, index) => {
      item.setAttribute("aria-selected", String(index === activeSuggestion));
    });
    if (activeSuggestion >= 0) ui.q.setAttribute("aria-activedescendant", `sugg-${activeSuggestion}`);
    else ui.q.removeAttribute("aria-activedescendant");
  }

  function chooseSuggestion(item) {
    closeSuggestions();
    clearTimeout(searchTimer);
    typing = false;
    if (item.facet) {
      const values = state[item.facet].includes(item.name) ? state[item.facet] : [...state[item.facet], item.name];
      ui.q.value = "";
      navigate(withChange({ q: "", [item.facet]: values }));
    } else {
      ui.q.value = `"${item.name.replaceAll('"', "")}"`;
      navigate(withChange({ q: ui.q.value }));
    }
  }

  const GROUP_LABEL = { people: "Person", organisations: "Organisation", places: "Place", groups: "Group", events: "Event" };

  async function fetchSuggestions() {
    const q = ui.q.value.trim();
    if (q.length < 2 || q.length > 60 || /["|()*~\-]/.test(q)) {
      closeSuggestions();
      return;
    }
    if (suggestRequest) suggestRequest.abort();
    const request = new AbortController();
    suggestRequest = request;
    try {
      const body = await getJson(`/v1/entities/suggest?${new URLSearchParams({ q, size: "7" })}`, request.signal);
      if (request !== suggestRequest || document.activeElement !== ui.q) return;
      suggestions = body.items;
      activeSuggestion = -1;
      if (!suggestions.length) {
        closeSuggestions();
        return;
      }
      ui.suggestions.replaceChildren(...suggestions.map((item, index) => el("li", {
        id: `sugg-${index}`,
        role: "option",
        class: "suggestion",
        "aria-selected": "false",
        onmousedown: (event) => event.preventDefault(), // keep focus in the box
        onclick: () => chooseSuggestion(item),
      },
      el("span", { class: `dot dot-${item.group}`, "aria-hidden": "true" }),
      el("span", { class: "suggestion-name" }, item.name),
      el("span", { class: "suggestion-meta" }, `${GROUP_LABEL[item.group] || item.group} · ${plural(item.count, "article", "articles")}`))));
      ui.suggestions.hidden = false;
      ui.q.setAttribute("aria-expanded", "true");
    } catch (error) {
      if (error.name !== "AbortError") closeSuggestions();
    }
  }

  ui.q.addEventListener("input", () => {
    commitQuery(false);
    clearTimeout(suggestTimer);
    suggestTimer = setTimeout(fetchSuggestions, SUGGEST_DELAY_MS);
  });

  ui.q.addEventListener("keydown", (event) => {
    const open = !ui.suggestions.hidden && suggestions.length > 0;
    if (event.key === "ArrowDown" && open) {
      event.preventDefault();
      activeSuggestion = (activeSuggestion + 1) % suggestions.length;
      paintSuggestions();
    } else if (event.key === "ArrowUp" && open) {
      event.preventDefault();
      activeSuggestion = activeSuggestion <= 0 ? suggestions.length - 1 : activeSuggestion - 1;
      paintSuggestions();
    } else if (event.key === "Escape" && open) {
      event.preventDefault();
      closeSuggestions();
    } else if (event.key === "Enter" && open && activeSuggestion >= 0) {
      event.preventDefault();
      chooseSuggestion(suggestions[activeSuggestion]);
    }
  });

  ui.q.addEventListener("blur", () => {
    setTimeout(closeSuggestions, 100);
    typing = false;
  });

  ui.form.addEventListener("submit", (event) => {
    event.preventDefault();
    closeSuggestions();
    commitQuery(true);
    typing = false;
  });

  ui.sort.addEventListener("change", () => navigate(withChange({ sort: ui.sort.value })));

  for (const input of [ui.from, ui.to]) {
    input.addEventListener("change", () => {
      const from = DAY.test(ui.from.value) ? ui.from.value : "";
      const to = DAY.test(ui.to.value) ? ui.to.value : "";
      if (from && to && from > to) return; // wait until the range makes sense
      navigate(withChange({ from, to }));
    });
  }

  ui.facetsToggle.addEventListener("click", () => {
    const open = ui.facetsToggle.getAttribute("aria-expanded") !== "true";
    ui.facetsToggle.setAttribute("aria-expanded", String(open));
    ui.sidebar.classList.toggle("is-open", open);
  });

  $("home").addEventListener("click", (event) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    ui.q.value = "";
    navigate(emptyState(), { scrollTop: true });
    ui.q.focus();
  });

  // "/" jumps to the search box, as on most search sites.
  document.addEventListener("keydown", (event) => {
    const target = event.target;
    const editing = target instanceof HTMLInputElement || target instanceof HTMLSelectElement || target instanceof HTMLTextAreaElement;
    if (event.key === "/" && !editing && !event.metaKey && !event.ctrlKey) {
      event.preventDefault();
      ui.q.focus();
      ui.q.select();
    }
  });

  window.addEventListener("popstate", (event) => {
    state = readState(location.search);
    typing = false;
    closeSuggestions();
    render();
    const y = event.state && typeof event.state.scrollY === "number" ? event.state.scrollY : null;
    if (y !== null && !state.article) requestAnimationFrame(() => window.scrollTo(0, y));
  });

  history.scrollRestoration = "manual";
  history.replaceState({ ...(history.state || {}) }, "", location.href);
  render();
  if (!state.article && !state.q) ui.q.focus();
})();
