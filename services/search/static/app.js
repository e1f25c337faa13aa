/*
 * Newsflow search UI, part 2: the page. Plain JavaScript, no build step;
 * util.js (loaded first) brings the DOM, highlight and date helpers.
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
 *
 * Answers arrive out of order: every request that fills a part of the page
 * (results, suggestions, a facet's value search, the article) is aborted when
 * a newer one starts, and an answer is drawn only if it is still the answer to
 * what is on screen (a request id, or the query it was for).
 */
"use strict";

(() => {
  const {
    el, fill, appendHighlighted, safeHttpUrl, fmtCount, plural, fmtDate, fmtDay, dayDate,
    dayBefore, parseDay, monthFormat, dateFormat, DAY, PRESETS, presetFrom,
  } = window.NewsflowUI;

  const FACETS = [
    { name: "source", title: "Sources", chip: "Source", search: "Search sources" },
    { name: "language", title: "Languages", chip: "Language" },
    { name: "author", title: "Authors", chip: "Author", search: "Search authors" },
    { name: "people", title: "People", chip: "Person", search: "Search people" },
    { name: "organisations", title: "Organisations", chip: "Organisation", search: "Search organisations" },
    { name: "places", title: "Places", chip: "Place", search: "Search places" },
  ];
  const FACET_NAMES = FACETS.map((f) => f.name);
  // Entity pages and links live in entity.js (window.NewsflowEntity); these
  // are the only ways app.js reaches it, and each works without it.
  const ENTITY = {
    ID: /^(Q\d{1,20}|ent_[0-9a-f]{16})$/,
    FACETS: ["people", "organisations", "places"],
    nameOf: (id) => (window.NewsflowEntity ? window.NewsflowEntity.nameOf(id) : null),
    link: (id, name) => (window.NewsflowEntity && id ? window.NewsflowEntity.link(id, name) : null),
    rememberAll(body) {
      const page = window.NewsflowEntity;
      if (!page) return;
      for (const facet of ENTITY.FACETS) {
        for (const bucket of (body.facets && body.facets[facet]) || []) page.remember(bucket.id, bucket.name);
      }
      for (const hit of body.hits || []) for (const e of hit.entities || []) page.remember(e.id, e.name);
    },
    /** Show the entity page of the state (true), or take it away (false). */
    view(next) {
      const page = window.NewsflowEntity;
      const on = Boolean(next.entity && page);
      document.body.classList.toggle("is-entity", on);
      if (!on) {
        if (page) page.hide();
        return false;
      }
      document.body.classList.remove("is-reading");
      ui.results.hidden = true;
      ui.sidebar.hidden = true;
      ui.reader.hidden = true;
      announce(null);
      page.show(next.entity);
      return true;
    },
  };
  // Stories live in story.js (window.NewsflowStory): grouped hits, the
  // "Group by story" toggle and the story page (?story=<id>); each hook works
  // without it.
  const STORY = {
    ID: /^[0-9a-f]{32}$/,
    hooks: {
      state: () => state,
      navigate: (next, options) => navigate(next, options),
      withChange: (change) => withChange(change),
      hrefFor: (next) => hrefFor(next),
      articleLink: (id, content) => articleLink(id, content),
      getJson: (url, signal) => getJson(url, signal),
      setBusy: (delta) => setBusy(delta),
    },
    /** Show the story page of the state (true), or take it away (false). */
    view(next) {
      const page = window.NewsflowStory;
      if (!page || !page.show(next, STORY.hooks)) return false;
      document.body.classList.remove("is-reading");
      ui.results.hidden = true;
      ui.sidebar.hidden = true;
      ui.reader.hidden = true;
      announce(null);
      return true;
    },
    group: (hit) => (window.NewsflowStory ? window.NewsflowStory.group(hit, STORY.hooks) : null),
    summary: (body) => (window.NewsflowStory ? window.NewsflowStory.summary(body) : null),
    /** What pages count: stories when grouped, else articles. */
    units: (body) => (typeof body.stories === "number" ? body.stories : body.total),
    wire: () => window.NewsflowStory && window.NewsflowStory.wireToggle(STORY.hooks),
  };
  const ENTITY_GROUPS = [
    { group: "people", title: "People" },
    { group: "organisations", title: "Organisations" },
    { group: "places", title: "Places" },
    { group: "groups", title: "Groups" },
    { group: "events", title: "Events" },
    { group: "dates", title: "Dates" },
    { group: "other", title: "Other" },
  ];
  const SORTS = ["relevance", "newest", "oldest"];
  const PAGE_SIZE = 20;
  const FACET_SIZE = 15;
  const FACET_VISIBLE = 6;
  const MAX_WINDOW = 10000; // the API's page-number limit (deeper: cursor)
  const SEARCH_DELAY_MS = 200;
  const SUGGEST_DELAY_MS = 120;
  const NARROW = window.matchMedia("(max-width: 820px)");

  const $ = (id) => document.getElementById(id);
  const ui = {
    form: $("search-form"), q: $("q"), sort: $("sort"), suggestions: $("suggestions"),
    helpToggle: $("help-toggle"), help: $("syntax-help"), progress: $("progress"),
    sidebar: $("sidebar"), facetsToggle: $("filters-toggle"), filterCount: $("filter-count"),
    facets: $("facets"), facetLists: $("facet-lists"), presets: $("presets"), from: $("from"),
    to: $("to"), dateProblem: $("date-problem"), main: $("main"), results: $("results"),
    chips: $("chips"), summary: $("summary"), exportLinks: $("export"), spelling: $("spelling"),
    histogram: $("histogram"), chart: $("chart"), yaxis: $("yaxis"), bars: $("bars"),
    axis: $("axis"), undated: $("undated"), hits: $("hits"), pager: $("pager"), reader: $("reader"),
  };

  let languageNames = null;
  try {
    languageNames = new Intl.DisplayNames(["en"], { type: "language" });
  } catch {
    languageNames = null;
  }

  function languageName(code) {
    if (!code) return "";
    try {
      const name = languageNames && languageNames.of(code);
      return name && name !== code ? name : code.toUpperCase();
    } catch {
      return code.toUpperCase();
    }
  }

  const facetLabel = (facet, value) => (facet === "language" ? languageName(value) : ENTITY.nameOf(value) || value);

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

  // ------------------------------------------------------------ state <-> URL
  const ARTICLE_ID = /^[0-9a-f]{32}$/;

  function emptyState() {
    const state = { q: "", sort: "relevance", page: 1, from: "", to: "", within: "", exact: false, article: "", entity: "" };
    state.group = "story"; // story.js: "none" lists every article
    state.story = "";
    for (const name of FACET_NAMES) state[name] = [];
    return state;
  }

  function readState(search) {
    const params = new URLSearchParams(search);
    const state = emptyState();
    state.q = params.get("q") || "";
    state.sort = SORTS.includes(params.get("sort")) ? params.get("sort") : "relevance";
    state.page = Math.max(1, parseInt(params.get("page") || "1", 10) || 1);
    state.from = DAY.test(params.get("from") || "") ? params.get("from") : "";
    state.to = DAY.test(params.get("to") || "") ? params.get("to") : "";
    state.within = PRESETS.some((p) => p.value === params.get("within")) ? params.get("within") : "";
    state.exact = params.get("exact") === "1";
    state.article = ARTICLE_ID.test(params.get("article") || "") ? params.get("article") : "";
    state.entity = ENTITY.ID.test(params.get("entity") || "") ? params.get("entity") : ""; // entity.js
    state.group = params.get("group") === "none" ? "none" : "story"; // story.js
    state.story = STORY.ID.test(params.get("story") || "") ? params.get("story") : "";
    for (const name of FACET_NAMES) state[name] = [...new Set(params.getAll(name).filter(Boolean))];
    return state;
  }

  /** Query parameters of a state; `api` gives what /v1/search takes. */
  function toParams(state, api) {
    const params = new URLSearchParams();
    if (state.q) params.set("q", state.q);
    for (const name of FACET_NAMES) for (const value of state[name]) params.append(name, value);
    if (api && state.within) params.set("from", presetFrom(state.within));
    else if (state.from) params.set("from", state.from);
    if (state.to && !(api && state.within)) params.set("to", state.to);
    if (!api && state.within) params.set("within", state.within);
    if (state.sort !== "relevance") params.set("sort", state.sort);
    if (state.exact) params.set(api ? "correct" : "exact", api ? "false" : "1");
    if (state.page > 1) params.set("page", String(state.page));
    if (!api && state.article) params.set("article", state.article);
    if (!api && state.entity) params.set("entity", state.entity);
    if (state.group === "none") params.set("group", "none"); // story.js
    if (!api && state.story) params.set("story", state.story);
    return params;
  }

  function hrefFor(state) {
    const query = toParams(state, false).toString();
    return query ? `?${query}` : location.pathname;
  }

  const hasDates = (state) => Boolean(state.from || state.to || state.within);
  const reversed = (state) => Boolean(state.from && state.to && state.from > state.to);
  const filterCount = (state) =>
    FACET_NAMES.reduce((n, name) => n + state[name].length, 0) + (hasDates(state) ? 1 : 0);

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
    return { ...state, page: 1, article: "", entity: "", story: "", ...change };
  }

  /** On a phone the filters cover the results: a choice closes them and
      shows the results it gave, from their top. */
  function closePanelOnPhone() {
    if (!NARROW.matches || !ui.sidebar.classList.contains("is-open")) return false;
    ui.sidebar.classList.remove("is-open");
    ui.facetsToggle.setAttribute("aria-expanded", "false");
    return true;
  }

  function filterChange(next) {
    const closed = closePanelOnPhone();
    navigate(next, closed ? { scrollTop: true, focusMain: true } : undefined);
  }

  function toggleFilter(facet, value) {
    const values = state[facet].includes(value)
      ? state[facet].filter((v) => v !== value)
      : [...state[facet], value];
    filterChange(withChange({ [facet]: values }));
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

  function searchParams() {
    const params = toParams(state, true);
    params.set("size", String(PAGE_SIZE));
    params.set("facet_size", String(FACET_SIZE));
    return params;
  }

  async function runSearch() {
    const key = searchParams().toString();
    if (key === shownSearch) { // already on screen (e.g. back from an article)
      announce(state);
      return;
    }
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
    if (ENTITY.view(state)) { // an entity page (entity.js): no story page under it
      STORY.view({ ...state, story: "" });
      return;
    }
    if (STORY.view(state)) return; // a story page (story.js)
    const reading = Boolean(state.article);
    document.body.classList.toggle("is-reading", reading);
    ui.results.hidden = reading;
    ui.sidebar.hidden = reading;
    ui.reader.hidden = !reading;
    if (reading) {
      announce(null);
      showArticle(state.article);
      return;
    }
    document.title = state.q ? `${state.q} – Newsflow search` : "Newsflow search";
    if (reversed(state)) {
      // Nothing to ask the server: say what is wrong where the dates are,
      // and keep every filter on screen.
      announce(null);
      if (searchRequest) searchRequest.abort();
      shownSearch = null;
      renderChips();
      renderRangeProblem();
      return;
    }
    runSearch();
  }

  function syncControls() {
    if (document.activeElement !== ui.q || !typing) ui.q.value = state.q;
    ui.sort.value = state.q || state.sort === "oldest" ? state.sort : "newest";
    // Without words there is nothing to rank: newest or oldest first.
    ui.sort.options[0].disabled = !state.q;
    if (document.activeElement !== ui.from) ui.from.value = fmtDay(state.from);
    if (document.activeElement !== ui.to) ui.to.value = fmtDay(state.to);
    renderPresets();
    if (!reversed(state)) showDateProblem("");
    const count = filterCount(state);
    ui.filterCount.hidden = count === 0;
    ui.filterCount.textContent = String(count);
  }

  function renderSearchError(error) {
    announce(null);
    renderChips();
    ui.spelling.hidden = true;
    ui.exportLinks.hidden = true;
    const message = error.status === 422
      ? `This search cannot be run: ${error.message}.`
      : error.status === 429
        ? `Too many searches at once: ${error.message}.`
        : error.status
          ? `The search failed (${error.message}). Try again in a moment.`
          : "The search service cannot be reached. Try again in a moment.";
    fill(ui.summary, el("span", { class: "error" }, message));
    ui.hits.replaceChildren();
    ui.pager.replaceChildren();
    ui.histogram.hidden = true;
  }

  function renderRangeProblem() {
    const message = `The start date (${fmtDay(state.from)}) is after the end date (${fmtDay(state.to)}).`;
    showDateProblem(message);
    ui.spelling.hidden = true;
    ui.exportLinks.hidden = true;
    fill(ui.summary, el("span", { class: "error" }, message), " ",
      el("button", { type: "button", class: "link-button", onclick: swapDates }, "Swap the dates"));
    ui.hits.replaceChildren();
    ui.pager.replaceChildren();
    ui.histogram.hidden = true;
  }

  function swapDates() {
    navigate(withChange({ from: state.to, to: state.from, within: "" }));
  }

  function renderResults(body) {
    ENTITY.rememberAll(body); // names of the ids in filters, facets and chips
    renderChips();
    renderSummary(body);
    renderSpelling(body);
    renderExport(body);
    renderFacets(body.facets);
    renderHistogram(body.histogram);
    renderHits(body.hits, STORY.units(body));
    renderPager(STORY.units(body));
    // A spelling correction applied: the results on screen answer its
    // words, so they are what is counted live and followed.
    announce({ ...state, q: answeredWords(body) });
  }

  /** The words the results answer: the correction when one was applied. */
  function answeredWords(body) {
    const spelling = body.spelling;
    return spelling && spelling.applied && spelling.suggestion ? spelling.suggestion : state.q;
  }

  // ------------------------------------------------------------ hooks for follow.js and live.js
  /** Tell the page's add-ons which search the results on screen answer
      (null: none, e.g. an article is open): `state` as the URL has it, and
      `params` as /v1/search takes them, without paging, sort or spelling. */
  function announce(shown) {
    const detail = shown
      ? { state: { ...shown }, params: toParams({ ...shown, page: 1, sort: "relevance", exact: false, group: "story" }, true).toString() }
      : null;
    document.dispatchEvent(new CustomEvent("newsflow:search", { detail }));
  }

  /** Run the search on screen again (live.js: "show" the new articles). */
  window.NewsflowApp = {
    /** entity.js: go to the state `change` makes (as a filter or link does), or its href. */
    go(change, options) {
      navigate(withChange(change), options);
    },
    href: (change) => hrefFor(withChange(change)),
    reload() {
      shownSearch = null;
      runSearch();
    },
  };

  function renderSummary(body) {
    const shown = answeredWords(body);
    const parts = [el("strong", null, plural(body.total, "article", "articles")), STORY.summary(body)];
    if (shown) parts.push(" for ", el("q", null, shown));
    parts.push(el("span", { class: "took" }, ` · ${body.took_ms} ms`));
    fill(ui.summary, parts);
  }

  function queryLink(label, change) {
    const target = withChange(change);
    return el("a", {
      href: hrefFor(target),
      onclick: (event) => {
        if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
        event.preventDefault();
        ui.q.value = target.q;
        navigate(target, { focusMain: true });
      },
    }, label);
  }

  /** "Showing results for … / Search instead for …" (nothing matched as typed). */
  function renderSpelling(body) {
    const spelling = body.spelling;
    if (!spelling || !state.q) {
      ui.spelling.hidden = true;
      return;
    }
    const parts = [];
    if (spelling.applied && spelling.suggestion) {
      parts.push("No article matches ", el("q", null, state.q), ". Did you mean ",
        queryLink(spelling.suggestion, { q: spelling.suggestion, exact: false }), "? Showing its results.");
    } else if (spelling.fuzzy) {
      parts.push("No article matches ", el("q", null, state.q), " as typed; showing articles with close words.");
    }
    parts.push(" ", queryLink("Search only for what I typed", { exact: true }));
    fill(ui.spelling, parts);
    ui.spelling.hidden = false;
  }

  function renderExport(body) {
    ui.exportLinks.hidden = body.total === 0;
    if (!body.total) return;
    const params = toParams(state, true);
    params.delete("page");
    const link = (format, label) => {
      const query = new URLSearchParams(params);
      query.set("format", format);
      return el("a", { class: "export-link", href: `/v1/search/export?${query}`, download: "" }, label);
    };
    fill(ui.exportLinks,
      el("span", { class: "muted" }, "Download"),
      link("csv", "CSV"), link("json", "JSON"), link("ndjson", "NDJSON"));
    ui.exportLinks.title = `All ${plural(body.total, "article", "articles")} of this search (up to 50,000)`;
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
    const preset = PRESETS.find((p) => p.value === state.within);
    if (hasDates(state)) {
      const range = preset ? preset.chip : `${state.from ? fmtDay(state.from) : "…"} – ${state.to ? fmtDay(state.to) : "…"}`;
      chips.push(chip("Published", range, () => navigate(withChange({ from: "", to: "", within: "" }), { focusMain: true })));
    }
    if (chips.length > 1) {
      const cleared = withChange({ from: "", to: "", within: "" });
      for (const name of FACET_NAMES) cleared[name] = [];
      chips.push(el("button", { type: "button", class: "link-button", onclick: () => navigate(cleared, { focusMain: true }) }, "Clear all"));
    }
    ui.chips.replaceChildren(...chips);
    ui.chips.hidden = chips.length === 0;
  }

  // ------------------------------------------------------------ facets
  const expandedFacets = new Set();
  const facetSearch = {}; // facet -> { text, request, seq }
  let lastFacets = null;

  function facetItem(facetName, bucket, index, hidden, prefix) {
    const id = `f-${prefix}-${facetName}-${index}`;
    const input = el("input", {
      type: "checkbox",
      id,
      checked: state[facetName].includes(bucket.value),
      onchange: () => toggleFilter(facetName, bucket.value),
    });
    input.dataset.key = `${facetName}\u001f${bucket.value}`;
    const label = bucket.name || facetLabel(facetName, bucket.value); // entities: id -> name
    return el("li", { class: "facet-item", hidden },
      input,
      el("label", { for: id },
        el("span", { class: "facet-value", title: label }, label),
        el("span", { class: "facet-count" }, fmtCount(bucket.count))),
      ENTITY.link(bucket.id, bucket.name));
  }

  function facetSection(facet, buckets) {
    const expanded = expandedFacets.has(facet.name);
    const searching = facetSearch[facet.name] && facetSearch[facet.name].text;
    const list = el("ul", { class: "facet-list", "data-list": "top", hidden: Boolean(searching) },
      buckets.map((bucket, index) =>
        facetItem(facet.name, bucket, index, !expanded && index >= FACET_VISIBLE && !bucket.selected, "t")));
    const more = buckets.length > FACET_VISIBLE && !searching
      ? el("button", {
          type: "button",
          class: "link-button facet-more",
          "aria-expanded": String(expanded),
          onclick: () => {
            if (expanded) expandedFacets.delete(facet.name);
            else expandedFacets.add(facet.name);
            renderFacets(lastFacets);
          },
        }, expanded ? "Show fewer" : `Show ${buckets.length - FACET_VISIBLE} more`)
      : null;
    const box = facet.search ? facetSearchBox(facet) : null;
    const found = el("ul", { class: "facet-list facet-found", "data-list": "found", hidden: !searching });
    return el("section", { class: "facet", "data-facet": facet.name, "aria-labelledby": `t-${facet.name}` },
      el("h2", { class: "facet-title", id: `t-${facet.name}` }, facet.title), box, list, found, more);
  }

  function facetSearchBox(facet) {
    const input = el("input", {
      type: "search",
      class: "facet-search",
      placeholder: `${facet.search}…`,
      "aria-label": facet.search,
      autocomplete: "off",
      spellcheck: "false",
      maxlength: "60",
    });
    input.value = (facetSearch[facet.name] && facetSearch[facet.name].text) || "";
    input.dataset.key = `search\u001f${facet.name}`;
    let timer = 0;
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => searchFacetValues(facet.name, input.value.trim()), 150);
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && input.value) {
        event.preventDefault();
        input.value = "";
        searchFacetValues(facet.name, "");
      }
    });
    return input;
  }

  /** Any value of a facet, not only the top ones: /v1/search/facets/…,
      counted under the current search. */
  async function searchFacetValues(facetName, text) {
    const entry = facetSearch[facetName] || (facetSearch[facetName] = { text: "", request: null, seq: 0 });
    entry.text = text;
    if (entry.request) entry.request.abort();
    const section = ui.facetLists.querySelector(`.facet[data-facet="${facetName}"]`);
    if (!section) return;
    const top = section.querySelector('[data-list="top"]');
    const found = section.querySelector('[data-list="found"]');
    const more = section.querySelector(".facet-more");
    if (!text) {
      top.hidden = false;
      found.hidden = true;
      if (more) more.hidden = false;
      return;
    }
    const seq = ++entry.seq;
    const request = new AbortController();
    entry.request = request;
    const params = searchParams();
    params.delete("page");
    params.delete("size");
    params.delete("facet_size");
    params.set("prefix", text);
    params.set("limit", "20");
    try {
      const body = await getJson(`/v1/search/facets/${facetName}?${params}`, request.signal);
      if (seq !== entry.seq || entry.text !== text) return; // a newer search is on its way
      top.hidden = true;
      if (more) more.hidden = true;
      found.hidden = false;
      fill(found, body.items.length
        ? body.items.map((bucket, index) => facetItem(facetName, bucket, index, false, "s"))
        : el("li", { class: "facet-none muted" }, `No ${facetName === "author" ? "author" : "value"} starts so in these results.`));
    } catch (error) {
      if (error.name !== "AbortError" && seq === entry.seq) {
        fill(found, el("li", { class: "facet-none error" }, error.message));
        found.hidden = false;
      }
    }
  }

  function renderFacets(facets) {
    lastFacets = facets;
    if (!facets) {
      ui.facetLists.replaceChildren();
      return;
    }
    // Re-rendering replaces the inputs; keep keyboard focus on the same one.
    const focused = ui.facetLists.contains(document.activeElement) ? document.activeElement : null;
    const focusKey = focused && focused.dataset.key ? focused.dataset.key : null;
    const sections = [];
    for (const facet of FACETS) {
      const buckets = facets[facet.name] || [];
      if (!buckets.length && !(facetSearch[facet.name] && facetSearch[facet.name].text)) continue;
      sections.push(facetSection(facet, buckets));
    }
    ui.facetLists.replaceChildren(...sections);
    for (const [name, entry] of Object.entries(facetSearch)) {
      if (entry.text) searchFacetValues(name, entry.text); // counts follow the new search
    }
    if (focusKey) {
      const again = [...ui.facetLists.querySelectorAll("input")].find((i) => i.dataset.key === focusKey);
      if (again) again.focus();
    }
  }

  // ------------------------------------------------------------ dates
  function renderPresets() {
    fill(ui.presets, PRESETS.map((preset) => el("button", {
      type: "button",
      class: "preset",
      "aria-pressed": String(state.within === preset.value),
      title: `Published in the ${preset.chip}`,
      onclick: () => {
        const within = state.within === preset.value ? "" : preset.value;
        filterChange(withChange({ within, from: "", to: "" }));
      },
    }, preset.label)));
  }

  function showDateProblem(message) {
    ui.dateProblem.hidden = !message;
    ui.dateProblem.textContent = message;
    ui.from.setAttribute("aria-invalid", String(Boolean(message)));
    ui.to.setAttribute("aria-invalid", String(Boolean(message)));
  }

  /** A typed date is read when the field is left (or Enter): one format
      everywhere ("20 Nov 2019"), ISO and day-first digits accepted. */
  function applyDates() {
    const typed = { from: ui.from.value.trim(), to: ui.to.value.trim() };
    const days = { from: typed.from ? parseDay(typed.from) : "", to: typed.to ? parseDay(typed.to) : "" };
    for (const side of ["from", "to"]) {
      if (days[side] === null) {
        showDateProblem(`“${typed[side]}” is not a date. Write it like 20 Nov 2019.`);
        return;
      }
    }
    // Written back in the page's one format, whatever was typed.
    ui.from.value = fmtDay(days.from);
    ui.to.value = fmtDay(days.to);
    if (days.from === state.from && days.to === state.to) {
      if (!reversed(state)) showDateProblem("");
      return;
    }
    filterChange(withChange({ from: days.from, to: days.to, within: "" }));
  }

  for (const input of [ui.from, ui.to]) {
    input.addEventListener("change", applyDates);
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        applyDates();
      }
    });
  }

  // ------------------------------------------------------------ histogram
  let histogram = null; // { buckets, interval } on screen
  let focusBar = 0;
  let brush = null; // { anchor, end } indices while selecting

  /** A round top for the vertical scale: 1, 2, 5 × 10^n at or above `max`. */
  function niceTop(max) {
    const power = 10 ** Math.floor(Math.log10(Math.max(1, max)));
    for (const step of [1, 2, 5, 10]) if (step * power >= max) return step * power;
    return 10 * power;
  }

  function renderHistogram(data) {
    const hadFocus = ui.bars.contains(document.activeElement);
    histogram = data && data.buckets.length ? data : null;
    ui.histogram.hidden = !histogram && !(data && data.undated);
    brush = null;
    if (!histogram) {
      ui.bars.replaceChildren();
      ui.axis.replaceChildren();
      ui.yaxis.replaceChildren();
    } else {
      const top = niceTop(Math.max(1, ...histogram.buckets.map((b) => b.count)));
      focusBar = Math.min(focusBar, histogram.buckets.length - 1);
      const bars = histogram.buckets.map((bucket, index) => {
        const label = `${bucketLabel(bucket, histogram.interval)}: ${plural(bucket.count, "article", "articles")}`;
        const bar = el("span", { class: "bar-fill" });
        bar.style.height = bucket.count ? `${Math.max(3, (bucket.count / top) * 100)}%` : "0";
        return el("button", {
          type: "button",
          class: bucket.count ? "bar" : "bar is-empty",
          tabindex: index === focusBar ? "0" : "-1",
          "aria-label": label,
          title: label,
          "data-index": String(index),
        }, bar);
      });
      ui.bars.replaceChildren(...bars);
      if (hadFocus) bars[focusBar].focus();
      // A handful of buckets (a short corpus or range) should not become slabs.
      ui.chart.style.maxWidth = `${Math.max(bars.length * 56 + 48, 280)}px`;
      fill(ui.yaxis,
        el("span", null, fmtCount(top)),
        top >= 2 ? el("span", null, fmtCount(top / 2)) : el("span"),
        el("span", null, "0"));
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
    navigate(withChange({ from, to, within: "" }));
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
    // By id when the hit has them (a filter by id, a link to the entity's page).
    const refs = hit.entities && hit.entities.length ? hit.entities : null;
    for (const facet of ["people", "organisations", "places"]) {
      const items = refs
        ? refs.filter((e) => e.group === facet).map((e) => ({ value: e.id, name: e.name, id: e.id }))
        : (hit[facet] || []).map((name) => ({ value: name, name, id: null }));
      for (const { value, name, id } of items) {
        const active = state[facet].includes(value);
        const button = el("button", {
          type: "button",
          class: `chip chip-${facet}${active ? " is-on" : ""}`,
          "aria-pressed": String(active),
          title: `Filter by ${name}`,
          onclick: () => addFilter(facet, value),
        }, name);
        const page = ENTITY.link(id, name);
        chips.push(page ? el("span", { class: `chip-pair chip-${facet}` }, button, page) : button);
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

  const lastPage = (total) => Math.min(Math.ceil(total / PAGE_SIZE), Math.floor(MAX_WINDOW / PAGE_SIZE));

  function renderHits(hits, total) {
    if (!hits.length && total > 0) {
      const pages = lastPage(total);
      ui.hits.replaceChildren(el("li", { class: "empty" },
        el("strong", null, `There is no page ${fmtCount(state.page)}: this search has ${plural(pages, "page", "pages")}.`), " ",
        el("button", { type: "button", class: "link-button", onclick: () => navigate({ ...state, page: pages }) }, `Go to page ${fmtCount(pages)}`)));
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
      if (hit.authors && hit.authors.length) meta.push(el("span", { class: "hit-authors" }, `By ${hit.authors.slice(0, 3).join(", ")}`));
      if (hit.language && hit.language !== "en") meta.push(el("span", { class: "lang" }, languageName(hit.language)));
      return el("li", { class: "hit" },
        el("h3", { class: "hit-title" }, articleLink(hit.id, title)),
        el("div", { class: "hit-meta" }, meta),
        hit.snippets.length ? snippet : null,
        entityChips(hit),
        STORY.group(hit));
    }));
  }

  function renderPager(total) {
    const pages = lastPage(total);
    if (pages <= 1 && state.page <= 1) {
      ui.pager.replaceChildren();
      return;
    }
    // A page past the last one (an old link) is nobody's current page.
    const current = state.page;
    const go = (page) => () => navigate({ ...state, page }, { scrollTop: true, focusMain: true });
    const button = (label, page, extra) =>
      el("button", { type: "button", class: "page", onclick: go(page), ...extra }, label);
    const previous = Math.min(current - 1, pages);
    const items = [button("‹ Previous", previous, { disabled: previous < 1, "aria-label": "Previous page" })];
    const shown = new Set([1, pages, current - 1, current, current + 1].filter((p) => p >= 1 && p <= pages));
    let last = 0;
    for (const page of [...shown].sort((a, b) => a - b)) {
      if (page - last > 1) items.push(el("span", { class: "page-gap", "aria-hidden": "true" }, "…"));
      items.push(page === current
        ? el("span", { class: "page is-current", "aria-current": "page" }, String(page))
        : button(String(page), page, { "aria-label": `Page ${page}` }));
      last = page;
    }
    items.push(button("Next ›", current + 1, { disabled: current >= pages, "aria-label": "Next page" }));
    ui.pager.replaceChildren(...items);
  }

  // ------------------------------------------------------------ article view
  let articleRequest = null;
  let shownArticle = null; // id and query of the article on screen

  async function showArticle(id) {
    const key = `${id} ${state.q}`;
    if (shownArticle === key) return;
    if (articleRequest) articleRequest.abort();
    const request = new AbortController();
    articleRequest = request;
    ui.reader.replaceChildren(backButton(), el("p", { class: "muted" }, "Loading the article…"));
    setBusy(1);
    try {
      const query = state.q ? `?${new URLSearchParams({ q: state.q })}` : "";
      const [article, similar] = await Promise.all([
        getJson(`/v1/articles/${id}${query}`, request.signal),
        getJson(`/v1/articles/${id}/similar?size=5`, request.signal).catch(() => null),
      ]);
      if (request !== articleRequest) return;
      shownArticle = key;
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
    const value = entity.id || entity.name; // filters by id when it has one
    const search = () => {
      const next = facet
        ? withChange({ [facet]: state[facet].includes(value) ? state[facet] : [...state[facet], value] })
        : withChange({ q: `"${entity.name.replaceAll('"', "")}"` });
      navigate(next, { scrollTop: true });
    };
    const button = el("button", {
      type: "button",
      class: `chip chip-${entity.group}`,
      title: facet ? `Show articles about ${entity.name}` : `Search for “${entity.name}”`,
      onclick: search,
    }, label);
    const page = ENTITY.link(entity.id, entity.name);
    return page ? el("span", { class: `chip-pair chip-${entity.group}` }, button, page) : button;
  }

  /** Paragraphs of the text, the query's words marked when the API marked them. */
  function articleParagraphs(article) {
    const source = article.text_html || article.text;
    return source.split(/\n\s*\n/).map((p) => p.trim()).filter(Boolean).map((p) =>
      article.text_html ? appendHighlighted(el("p"), p) : el("p", null, p));
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

    const related = similar
      ? el("section", { class: "similar", "aria-labelledby": "similar-title" },
          el("h2", { id: "similar-title" }, "Similar articles"),
          similar.items.length
            ? el("ul", null, similar.items.map((item) => el("li", null,
                articleLink(item.id, item.title || "(untitled)"),
                el("span", { class: "muted" }, ` ${item.source}${item.published_at ? ` · ${fmtDate(item.published_at)}` : ""}`),
                item.same_story ? el("span", { class: "story-copy same-story" }, "same story") : null)))
            : el("p", { class: "muted" }, "No other article is close enough to this one."))
      : null;

    const title = el("h1", { id: "reader-title", tabindex: "-1" });
    if (article.title_html) appendHighlighted(title, article.title_html);
    else title.textContent = article.title || "(untitled)";
    fill(ui.reader,
      backButton(),
      el("header", { class: "reader-head" },
        title,
        el("div", { class: "hit-meta" }, meta),
        original ? el("a", { class: "original", href: original, target: "_blank", rel: "noopener noreferrer" }, `Read at ${new URL(original).hostname} ↗`) : null),
      groups.length ? el("section", { class: "entities", "aria-label": "Entities in this article" }, groups) : null,
      el("div", { class: "reader-body" }, articleParagraphs(article)),
      related,
    );
    title.focus({ preventScroll: true });
  }

  // ------------------------------------------------------------ search box + suggestions
  let searchTimer = 0;
  let suggestTimer = 0;
  let suggestRequest = null;
  let suggestSeq = 0;
  let suggestions = [];
  let suggestionsFor = null; // the text of the box the suggestions on screen answer
  let activeSuggestion = -1;

  function commitQuery(immediate) {
    clearTimeout(searchTimer);
    const q = ui.q.value.trim();
    if (q === state.q && !state.article) return;
    const run = () => {
      // The first keystroke of a burst adds a history entry; the rest refine it.
      navigate(withChange({ q, exact: false }), { replace: typing, keepTyping: true });
      typing = true;
    };
    if (immediate) run();
    else searchTimer = setTimeout(run, SEARCH_DELAY_MS);
  }

  function closeSuggestions() {
    suggestions = [];
    suggestionsFor = null;
    activeSuggestion = -1;
    ui.suggestions.hidden = true;
    ui.suggestions.replaceChildren();
    ui.q.setAttribute("aria-expanded", "false");
    ui.q.removeAttribute("aria-activedescendant");
  }

  /** Suggestions answer what was typed when they were asked for: once the
      text changes they are gone at once, never clickable while stale. */
  const suggestionsCurrent = () => suggestionsFor !== null && suggestionsFor === ui.q.value.trim();

  function paintSuggestions() {
    [...ui.suggestions.children].forEach((item, index) => {
      item.setAttribute("aria-selected", String(index === activeSuggestion));
    });
    if (activeSuggestion >= 0) ui.q.setAttribute("aria-activedescendant", `sugg-${activeSuggestion}`);
    else ui.q.removeAttribute("aria-activedescendant");
  }

  function chooseSuggestion(item) {
    if (!suggestionsCurrent()) {
      closeSuggestions();
      return;
    }
    closeSuggestions();
    clearTimeout(searchTimer);
    typing = false;
    if (item.id && !item.facet) { // an entity that is no facet: its page
      ui.q.value = "";
      navigate(withChange({ q: "", entity: item.id }));
    } else if (item.facet) {
      const value = item.id || item.name; // by id (older indexes: by name)
      if (item.id && window.NewsflowEntity) window.NewsflowEntity.remember(item.id, item.name);
      const values = state[item.facet].includes(value) ? state[item.facet] : [...state[item.facet], value];
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
    if (suggestRequest) suggestRequest.abort();
    if (q.length < 2 || q.length > 60 || /["|()*~\-:]/.test(q)) {
      closeSuggestions();
      return;
    }
    const seq = ++suggestSeq;
    const request = new AbortController();
    suggestRequest = request;
    try {
      const body = await getJson(`/v1/entities/suggest?${new URLSearchParams({ q, size: "7" })}`, request.signal);
      // Drawn only if nothing was typed since it was asked for.
      if (seq !== suggestSeq || q !== ui.q.value.trim() || document.activeElement !== ui.q) return;
      suggestions = body.items;
      activeSuggestion = -1;
      if (!suggestions.length) {
        closeSuggestions();
        return;
      }
      suggestionsFor = q;
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
      if (error.name !== "AbortError" && seq === suggestSeq) closeSuggestions();
    }
  }

  ui.q.addEventListener("input", () => {
    if (!suggestionsCurrent()) closeSuggestions();
    if (suggestRequest) suggestRequest.abort();
    commitQuery(false);
    clearTimeout(suggestTimer);
    suggestTimer = setTimeout(fetchSuggestions, SUGGEST_DELAY_MS);
  });

  ui.q.addEventListener("keydown", (event) => {
    const open = !ui.suggestions.hidden && suggestions.length > 0 && suggestionsCurrent();
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

  ui.helpToggle.addEventListener("click", () => {
    const open = ui.help.hidden;
    ui.help.hidden = !open;
    ui.helpToggle.setAttribute("aria-expanded", String(open));
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !ui.help.hidden) {
      ui.help.hidden = true;
      ui.helpToggle.setAttribute("aria-expanded", "false");
    }
  });

  ui.sort.addEventListener("change", () => navigate(withChange({ sort: ui.sort.value })));

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
  STORY.wire();
  render();
  if (!state.article && !state.q) ui.q.focus();
})();
