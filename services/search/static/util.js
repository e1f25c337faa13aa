/*
 * Newsflow search UI, part 1: pure helpers (DOM building, highlight
 * fragments, dates and numbers). No state; app.js uses them through
 * window.NewsflowUI. Nothing here ever parses text as HTML.
 */
"use strict";

(() => {
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

  /** replaceChildren without its habit of turning null into the text "null". */
  function fill(parent, ...children) {
    parent.replaceChildren(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
    return parent;
  }

  const ENTITY_REF = /&(#[xX][0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g;
  const NAMED = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

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

  // ------------------------------------------------------------ numbers and dates
  // One date format everywhere on the page, inputs included: "20 Nov 2019".
  const numberFormat = new Intl.NumberFormat("en-GB");
  const dateFormat = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
  const monthFormat = new Intl.DateTimeFormat("en-GB", { month: "short", year: "numeric", timeZone: "UTC" });
  const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
  const DAY = /^\d{4}-\d{2}-\d{2}$/;

  const fmtCount = (n) => numberFormat.format(n);
  const plural = (n, one, many) => `${fmtCount(n)} ${n === 1 ? one : many}`;
  const fmtDate = (iso) => (iso ? dateFormat.format(new Date(iso)) : "");
  const dayDate = (day) => new Date(`${day}T00:00:00Z`);
  const fmtDay = (day) => (day ? dateFormat.format(dayDate(day)) : "");

  /** "YYYY-MM-DD" of a real calendar day, or null. */
  function isoDay(year, month, day) {
    if (!(year >= 1000 && year <= 9999 && month >= 1 && month <= 12 && day >= 1 && day <= 31)) return null;
    const date = new Date(Date.UTC(year, month - 1, day));
    if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return null;
    return date.toISOString().slice(0, 10);
  }

  function monthNumber(word) {
    const index = MONTHS.indexOf(word.slice(0, 3).toLowerCase());
    return index >= 0 ? index + 1 : 0;
  }

  /**
   * A day typed by a person, as "YYYY-MM-DD" (null if it is none): the page's
   * own format ("20 Nov 2019", "20 November 2019"), ISO ("2019-11-20"), or
   * day first with digits ("20/11/2019", "20.11.2019"), as the page reads dates.
   */
  function parseDay(text) {
    const value = String(text || "").trim().replace(/,/g, " ").replace(/\s+/g, " ");
    let m = value.match(/^(\d{4})-(\d{1,2})-(\d{1,2})$/);
    if (m) return isoDay(+m[1], +m[2], +m[3]);
    m = value.match(/^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$/);
    if (m) return isoDay(+m[3], +m[2], +m[1]);
    m = value.match(/^(\d{1,2}) ([A-Za-z]{3,9})\.? (\d{4})$/);
    if (m) return isoDay(+m[3], monthNumber(m[2]), +m[1]);
    m = value.match(/^([A-Za-z]{3,9})\.? (\d{1,2}) (\d{4})$/);
    if (m) return isoDay(+m[3], monthNumber(m[1]), +m[2]);
    return null;
  }

  /** The day before an ISO day (a bucket's exclusive end -> inclusive "to"). */
  function dayBefore(day) {
    const date = dayDate(day);
    date.setUTCDate(date.getUTCDate() - 1);
    return date.toISOString().slice(0, 10);
  }

  // Date presets: the URL keeps the preset (a shared link stays "last 7 days");
  // the API gets the instant it starts at, to the minute.
  const PRESETS = [
    { value: "24h", label: "24 h", chip: "last 24 hours", ms: 24 * 3600e3 },
    { value: "7d", label: "7 days", chip: "last 7 days", ms: 7 * 86400e3 },
    { value: "30d", label: "30 days", chip: "last 30 days", ms: 30 * 86400e3 },
    { value: "1y", label: "Year", chip: "last 12 months", ms: 365 * 86400e3 },
  ];

  function presetFrom(value, now) {
    const preset = PRESETS.find((p) => p.value === value);
    if (!preset) return "";
    const start = new Date((now || Date.now()) - preset.ms);
    start.setUTCSeconds(0, 0);
    return start.toISOString().replace(".000Z", "Z");
  }

  window.NewsflowUI = {
    el, fill, appendHighlighted, unescapeEntities, safeHttpUrl,
    fmtCount, plural, fmtDate, fmtDay, dayDate, dayBefore, parseDay, monthFormat, dateFormat,
    DAY, PRESETS, presetFrom,
  };
})();
