/*
 * Newsflow search UI: live counts (issue 16). While results are on screen,
 * the page listens to /v1/search/live (Server-Sent Events) for the same
 * search and shows "3 new articles — show"; "show" runs the search again.
 * An entity page (entity.js) is counted the same way, with `entity=<id>`:
 * it sends "newsflow:entity" with the banner to fill and how to reload.
 *
 * Politeness, since every open page holds a connection:
 * - one stream per page, closed as soon as the search changes, an article
 *   is opened, the tab is hidden or the page goes away (reopened, with the
 *   same starting point, when the tab is shown again);
 * - EventSource reconnects by itself after a dropped connection or the
 *   server's "end" (the delay the server announced); a stream the server
 *   refuses (429 too many, 503) is retried here with a doubling delay, a few
 *   times, then left alone until the search changes. (EventSource does not
 *   tell the status; the server takes every search /v1/search takes, so a
 *   422 only comes from a clock far off, and is bounded the same way);
 * - results drawn more than a day ago (a tab hidden overnight) are not
 *   counted, the server would refuse so old a start: the banner says they
 *   are old and offers to refresh them.
 *
 * "New" means indexed after the results were drawn, by this browser's clock
 * (the server refuses a start more than a minute ahead of its own).
 */
"use strict";

(() => {
  const { el, plural } = window.NewsflowUI;

  const RETRY_FIRST_MS = 10_000;
  const RETRY_MAX_MS = 300_000;
  const MAX_REFUSALS = 6;
  // The server counts from at most a day back (live_max_age_s, 86,400 s
  // unless an operator lowers it) and refuses an older start. Results drawn
  // longer ago than this (a tab left hidden overnight) are not counted but
  // said to be old, with a way to refresh them.
  const MAX_AGE_MS = 23 * 3_600_000;

  // What is counted: { key, params, since, banner (null: the search page's),
  // reload }. `lastSearch`: the search page's, kept while an entity page is
  // shown, so that back on the same results the count goes on from its start.
  let current = null;
  let lastSearch = null;
  let active = false; // its results are on screen (not an article, not an error)
  let source = null;
  let refusals = 0;
  let retryTimer = 0;
  let fresh = false; // the next announcement follows a "show": count from then
  let banner = null;

  /** A search's identity: a relative window ("last 7 days") stays one search
      though its start moves every minute. */
  function keyOf(detail) {
    const params = new URLSearchParams(detail.params);
    if (detail.state.within) {
      params.delete("from");
      params.set("within", detail.state.within);
    }
    return params.toString();
  }

  function ensureBanner() {
    if (banner && banner.isConnected) return banner;
    const hits = document.getElementById("hits");
    if (!hits) return null;
    banner = el("div", { class: "live-banner", id: "live-banner", role: "status", "aria-live": "polite", hidden: true });
    hits.before(banner);
    return banner;
  }

  function bannerOf(target) {
    if (!target) return null;
    if (!target.banner) return ensureBanner();
    return target.banner.isConnected ? target.banner : null;
  }

  function showCount(count) {
    const node = bannerOf(current);
    if (!node) return;
    if (!(count > 0)) {
      node.hidden = true;
      node.replaceChildren();
      return;
    }
    node.replaceChildren(
      el("span", { class: "live-count" }, plural(count, "new article", "new articles")),
      " — ",
      el("button", { type: "button", class: "link-button live-show", onclick: showNew }, "show"));
    node.hidden = false;
  }

  function showStale() {
    const node = bannerOf(current);
    if (!node) return;
    node.replaceChildren(
      "These results are more than a day old — ",
      el("button", { type: "button", class: "link-button live-show", onclick: showNew }, "refresh"));
    node.hidden = false;
  }

  function showNew() {
    showCount(0);
    fresh = true;
    if (current) current.reload();
  }

  function reloadSearch() {
    window.NewsflowApp.reload();
    const main = document.getElementById("main");
    if (main) main.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }

  function close() {
    clearTimeout(retryTimer);
    if (source) source.close();
    source = null;
  }

  function open() {
    close();
    if (!current || !active || document.hidden || !window.EventSource) return;
    if (Date.now() - Date.parse(current.since) > MAX_AGE_MS) {
      showStale();
      return;
    }
    const params = new URLSearchParams(current.params);
    params.set("since", current.since);
    const stream = new EventSource(`/v1/search/live?${params}`);
    source = stream;
    stream.addEventListener("count", (event) => {
      if (stream !== source) return;
      refusals = 0;
      let data = null;
      try {
        data = JSON.parse(event.data);
      } catch {
        return;
      }
      if (data && Number.isInteger(data.count)) showCount(data.count);
    });
    stream.addEventListener("error", () => {
      // CONNECTING: the browser retries by itself. CLOSED: the server refused
      // the stream (an HTTP error); retry later, less and less often.
      if (stream !== source || stream.readyState !== EventSource.CLOSED) return;
      source = null;
      refusals += 1;
      if (refusals > MAX_REFUSALS) return;
      const delay = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** (refusals - 1));
      retryTimer = setTimeout(open, delay * (0.8 + Math.random() * 0.4));
    });
  }

  /** Nothing to count on screen (an article, an error, no page yet). */
  function pause() {
    active = false;
    close();
    showCount(0);
  }

  /** Count `target` from now on, in place of what was counted. */
  function watch(target) {
    showCount(0);
    fresh = false;
    refusals = 0;
    active = true;
    current = target;
    open();
  }

  document.addEventListener("newsflow:search", (event) => {
    const detail = event.detail;
    if (!detail) {
      // An article (or an error) in place of the results: stop counting,
      // and go on from the same start when the same results come back.
      pause();
      return;
    }
    const key = keyOf(detail);
    // Same search (back from an article or an entity page, another page,
    // another sort): keep counting from the same start.
    if (lastSearch && lastSearch.key === key && !fresh) {
      active = true;
      if (current !== lastSearch) {
        close();
        current = lastSearch;
      }
      if (!source) open();
      return;
    }
    lastSearch = { key, params: detail.params, since: new Date().toISOString(), banner: null, reload: reloadSearch };
    watch(lastSearch);
  });

  // From entity.js: { id, since (when the page was asked for), banner,
  // reload }, or null when the page goes away. Each page drawn counts from
  // its own request: its numbers are as fresh as that.
  document.addEventListener("newsflow:entity", (event) => {
    const detail = event.detail;
    if (!detail) {
      if (current && current.banner) pause();
      return;
    }
    const params = new URLSearchParams({ entity: detail.id });
    watch({ key: `entity:${detail.id}`, params: params.toString(), since: detail.since, banner: detail.banner, reload: detail.reload });
  });

  document.addEventListener("visibilitychange", () => {
    if (document.hidden) close();
    else if (active && current && !source) open();
  });
  window.addEventListener("pagehide", close);
  window.addEventListener("pageshow", (event) => {
    if (event.persisted && active && current && !source) open(); // back from the page cache
  });
})();
