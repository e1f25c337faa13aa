/*
 * Newsflow search UI, entity pages (`?entity=<id>`): an entity's name, type,
 * aliases and Wikidata link, its articles over time, the entities named
 * alongside it, its sources and latest articles, from /v1/entities/{id}.
 *
 * app.js owns the URL state and calls show(id) / hide(); this file draws the
 * page and gives app.js small links to it (link(id, name)) for facet values
 * and entity chips. Names it has seen (facets, chips, suggestions) are
 * remembered (remember/nameOf) so an id filter's chip shows a name.
 * A page drawn tells live.js ("newsflow:entity") to count the entity's new
 * articles into its banner; "show" draws the page again.
 * Like app.js, nothing from the API is parsed as HTML (util.js's el()).
 */
"use strict";

(() => {
  const { el, fill, fmtCount, plural, fmtDay, dayDate, dayBefore, monthFormat, dateFormat, safeHttpUrl } = window.NewsflowUI;

  const ENTITY_ID = /^(Q\d{1,20}|ent_[0-9a-f]{16})$/;
  const TYPES = {
    people: { one: "Person", many: "People", facet: "people" },
    organisations: { one: "Organisation", many: "Organisations", facet: "organisations" },
    places: { one: "Place", many: "Places", facet: "places" },
    groups: { one: "Group", many: "Groups" },
    events: { one: "Event", many: "Events" },
    other: { one: "Entity", many: "Other" },
  };
  const names = new Map(); // id -> display name, from every answer seen

  const app = () => window.NewsflowApp;

  function remember(id, name) {
    if (id && name && ENTITY_ID.test(id)) names.set(id, name);
  }

  const nameOf = (id) => names.get(id) || null;

  /** The small link from a facet value or a chip to the entity's page. */
  function link(id, name) {
    if (!ENTITY_ID.test(id || "")) return null;
    remember(id, name);
    return el("a", {
      class: "entity-link",
      href: app().href({ entity: id }),
      title: `Page of ${name || id}`,
      "aria-label": `Page of ${name || id}`,
      onclick: (event) => {
        if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
        event.preventDefault();
        event.stopPropagation();
        open(id);
      },
    }, "↗");
  }

  function open(id) {
    app().go({ entity: id }, { scrollTop: true });
  }

  // ------------------------------------------------------------ the page
  let view = null;
  let request = null;
  let shown = null; // id on screen

  function container() {
    if (!view) {
      view = el("section", { class: "entity-page", id: "entity-view", "aria-labelledby": "entity-title", hidden: true });
      document.getElementById("main").append(view);
    }
    return view;
  }

  /** live.js: count this page's new articles (null: stop counting). */
  function announce(detail) {
    document.dispatchEvent(new CustomEvent("newsflow:entity", { detail }));
  }

  function hide() {
    if (request) request.abort();
    if (view) view.hidden = true;
    shown = null;
    announce(null);
  }

  async function show(id) {
    const page = container();
    page.hidden = false;
    if (shown === id) return;
    if (request) request.abort();
    announce(null);
    const current = new AbortController();
    request = current;
    // "New" articles: indexed after the page was asked for (none missed).
    const since = new Date().toISOString();
    fill(page, backLink(), el("p", { class: "muted" }, "Loading…"));
    try {
      const response = await fetch(`/v1/entities/${encodeURIComponent(id)}`, { signal: current.signal, headers: { Accept: "application/json" } });
      const body = await response.json().catch(() => null);
      if (current !== request) return;
      if (!response.ok) {
        const reason = body && typeof body.reason === "string" ? body.reason : `HTTP ${response.status}`;
        const message = response.status === 404 ? "No article names this entity." : `The entity could not be loaded: ${reason}`;
        fill(page, backLink(), el("p", { class: "error" }, message));
        shown = null;
        return;
      }
      // A merged id answers with its survivor: the URL follows.
      if (body.id !== id) app().go({ entity: body.id }, { replace: true });
      shown = body.id;
      render(body, since);
    } catch (error) {
      if (error.name === "AbortError" || current !== request) return;
      shown = null;
      fill(page, backLink(), el("p", { class: "error" }, "The search service cannot be reached. Try again in a moment."));
    }
  }

  function backLink() {
    return el("a", {
      class: "back",
      href: app().href({ entity: "" }),
      onclick: (event) => {
        if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
        event.preventDefault();
        app().go({ entity: "" });
      },
    }, "← Back to search");
  }

  /** The search for this entity's articles: its id as a filter (people,
      organisations, places), else its name as a phrase. */
  function articlesChange(entity) {
    const type = TYPES[entity.type] || TYPES.other;
    if (type.facet) return { entity: "", [type.facet]: [entity.id] };
    return { entity: "", q: `"${entity.name.replaceAll('"', "")}"` };
  }

  function reload(id) {
    shown = null;
    show(id);
  }

  function render(entity, since) {
    remember(entity.id, entity.name);
    document.title = `${entity.name} – Newsflow`;
    const type = TYPES[entity.type] || TYPES.other;
    const external = safeHttpUrl(entity.external_url);
    const search = articlesChange(entity);
    const actions = [
      el("a", {
        class: "entity-articles",
        href: app().href(search),
        onclick: (event) => {
          if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
          event.preventDefault();
          app().go(search, { scrollTop: true });
        },
      }, `Search its ${plural(entity.articles, "article", "articles")}`),
    ];
    if (typeof window.newsflowFollow === "function") {
      actions.push(el("button", {
        type: "button",
        class: "follow-button entity-follow",
        onclick: () => window.newsflowFollow({ name: entity.name, entity: entity.id }),
      }, "Follow"));
    }
    const title = el("h1", { id: "entity-title", tabindex: "-1" }, entity.name);
    const banner = el("div", { class: "live-banner", id: "entity-live-banner", role: "status", "aria-live": "polite", hidden: true });
    fill(container(),
      backLink(),
      el("header", { class: "entity-head" },
        el("p", { class: `entity-type chip chip-${entity.type}` }, type.one),
        title,
        el("div", { class: "hit-meta" },
          el("span", null, plural(entity.articles, "article", "articles")),
          external ? el("a", { href: external, target: "_blank", rel: "noopener noreferrer" }, `Wikidata ${entity.external_id} ↗`) : null,
          entity.known ? null : el("span", { class: "muted" }, "named as the articles name it")),
        entity.aliases.length ? el("p", { class: "entity-aliases muted" }, `Also: ${entity.aliases.join(" · ")}`) : null,
        el("div", { class: "entity-actions" }, actions)),
      banner,
      histogram(entity),
      el("div", { class: "entity-columns" }, related(entity), sources(entity)),
      latest(entity));
    title.focus({ preventScroll: true });
    announce({ id: entity.id, since, banner, reload: () => reload(entity.id) });
  }

  // ------------------------------------------------------------ parts
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

  /** Mentions over time, drawn like the search page's chart; a bar opens
      the search for the entity in that period. */
  function histogram(entity) {
    const data = entity.histogram;
    if (!data.buckets.length) return null;
    const top = Math.max(1, ...data.buckets.map((b) => b.count));
    const search = articlesChange(entity);
    const bars = data.buckets.map((bucket) => {
      const label = `${bucketLabel(bucket, data.interval)}: ${plural(bucket.count, "article", "articles")}`;
      const fill_ = el("span", { class: "bar-fill" });
      fill_.style.height = bucket.count ? `${Math.max(3, (bucket.count / top) * 100)}%` : "0";
      const change = { ...search, from: bucket.start, to: dayBefore(bucket.end), within: "" };
      return el("a", {
        class: bucket.count ? "bar" : "bar is-empty",
        href: app().href(change),
        "aria-label": label,
        title: label,
        onclick: (event) => {
          if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
          event.preventDefault();
          app().go(change, { scrollTop: true });
        },
      }, fill_);
    });
    const chart = el("div", { class: "chart" },
      el("div", { class: "yaxis", "aria-hidden": "true" }, el("span", null, fmtCount(top)), el("span"), el("span", null, "0")),
      el("div", { class: "plot" },
        el("div", { class: "bars entity-bars", role: "group", "aria-label": "Articles over time" }, bars),
        el("div", { class: "axis", "aria-hidden": "true" },
          el("span", null, bucketLabel(data.buckets[0], data.interval)),
          data.buckets.length > 1 ? el("span", null, bucketLabel(data.buckets[data.buckets.length - 1], data.interval)) : null)));
    chart.style.maxWidth = `${Math.max(bars.length * 56 + 48, 280)}px`;
    return el("figure", { class: "histogram entity-histogram" },
      el("figcaption", { class: "entity-caption" }, "Mentions over time"), chart);
  }

  function related(entity) {
    const byType = new Map();
    for (const other of entity.related) {
      remember(other.id, other.name);
      if (!byType.has(other.type)) byType.set(other.type, []);
      byType.get(other.type).push(other);
    }
    const groups = Object.keys(TYPES).filter((t) => byType.has(t)).map((t) =>
      el("div", { class: "entity-group" },
        el("h3", null, TYPES[t].many),
        el("div", { class: "entity-chips" }, byType.get(t).map((other) => el("a", {
          class: `chip chip-${other.type} entity-chip`,
          href: app().href({ entity: other.id }),
          title: `${other.name}: named with ${entity.name} in ${plural(other.count, "article", "articles")}`,
          onclick: (event) => {
            if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
            event.preventDefault();
            open(other.id);
          },
        }, other.name, el("span", { class: "chip-count" }, fmtCount(other.count)))))));
    return el("section", { class: "entity-related", "aria-labelledby": "entity-related-title" },
      el("h2", { id: "entity-related-title" }, "Named alongside"),
      groups.length ? groups : el("p", { class: "muted" }, "No other entity in its articles."));
  }

  function sources(entity) {
    return el("section", { class: "entity-sources", "aria-labelledby": "entity-sources-title" },
      el("h2", { id: "entity-sources-title" }, "Top sources"),
      entity.sources.length
        ? el("ol", null, entity.sources.map((s) => el("li", null,
            el("span", { class: "hit-source" }, s.source), " ", el("span", { class: "muted" }, fmtCount(s.count)))))
        : el("p", { class: "muted" }, "None."));
  }

  function latest(entity) {
    return el("section", { class: "similar entity-latest", "aria-labelledby": "entity-latest-title" },
      el("h2", { id: "entity-latest-title" }, "Latest articles"),
      el("ul", null, entity.latest.map((article) => el("li", null,
        el("a", {
          href: app().href({ entity: "", article: article.id }),
          onclick: (event) => {
            if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
            event.preventDefault();
            app().go({ entity: "", article: article.id }, { scrollTop: true });
          },
        }, article.title || "(untitled)"),
        el("span", { class: "muted" }, ` ${article.source}${article.published_at ? ` · ${fmtDay(article.published_at)}` : ""}`)))));
  }

  window.NewsflowEntity = { show, hide, link, remember, nameOf, ENTITY_ID };
})();
