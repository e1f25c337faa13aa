/*
 * Newsflow search UI: live counts (issue 16). While results are on screen,
 * the page listens to /v1/search/live (Server-Sent Events) for the same
 * search and shows "3 new articles — show"; "show" runs the search again.
 *
 * Politeness, since every open page holds a connection:
 * - one stream per page, closed as soon as the search changes, an article
 *   is opened, the tab is hidden or the page goes away (reopened, with the
 *   same starting point, when the tab is shown again);
 * - EventSource reconnects by itself after a dropped connection or the
 *   server's "end" (the delay the server announced); a stream the server
 *   refuses (429 too many, 422, 503) is retried here with a doubling delay,
 *   a few times, then left alone until the search changes.
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

  let current = null; // { key, params, since }: the search being counted
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

  function showCount(count) {
    const node = ensureBanner();
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

  function showNew() {
    showCount(0);
    fresh = true;
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

  document.addEventListener("newsflow:search", (event) => {
    const detail = event.detail;
    if (!detail) {
      // An article (or an error) in place of the results: stop counting,
      // and go on from the same start when the same results come back.
      active = false;
      close();
      showCount(0);
      return;
    }
    const key = keyOf(detail);
    active = true;
    // Same search (back from an article, another page, another sort): keep
    // counting from the same start.
    if (current && current.key === key && !fresh) {
      if (!source) open();
      return;
    }
    fresh = false;
    refusals = 0;
    current = { key, params: detail.params, since: new Date().toISOString() };
    showCount(0);
    open();
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
