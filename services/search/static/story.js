/*
 * Newsflow search UI: stories. Results come grouped by story from the API
 * (group=story); this file draws what is about stories and nothing else:
 *
 * - under a grouped hit, "N articles from M sources", a button that expands
 *   to the story's next best articles, and a link to the story page;
 * - the "Group by story" toggle in the summary row (group=none in the URL
 *   when off);
 * - the story page (?story=<id> in the URL, like ?article=): its title,
 *   sources, entities and the timeline of its articles.
 *
 * app.js owns the state and the URL: it calls window.NewsflowStory.view()
 * on every render and .group() for each hit, passing `hooks` (navigate,
 * withChange, articleLink, the current state...). Nothing from the API is
 * parsed as HTML: text goes in through el() as text nodes.
 */
"use strict";

(() => {
  const { el, fill, safeHttpUrl, fmtCount, plural, fmtDate } = window.NewsflowUI;
  const STORY_ID = /^[0-9a-f]{32}$/;
  const ENTITY_TITLES = { people: "People", organisations: "Organisations", places: "Places", groups: "Groups", events: "Events" };
  const FACETS = ["people", "organisations", "places"];

  const $ = (id) => document.getElementById(id);
  const view = () => $("story-view");

  // ------------------------------------------------------------ links
  const plainClick = (event) =>
    event.button === 0 && !event.metaKey && !event.ctrlKey && !event.shiftKey && !event.altKey;

  function storyLink(id, content, hooks, attrs) {
    const target = { ...hooks.state(), story: id, article: "" };
    return el("a", {
      class: "story-link",
      href: hooks.hrefFor(target),
      ...attrs,
      onclick: (event) => {
        if (!plainClick(event)) return;
        event.preventDefault();
        hooks.navigate(target, { fromResults: !hooks.state().story, scrollTop: true });
      },
    }, content);
  }

  const countLabel = (story) => {
    return `${plural(story.articles, "article", "articles")} from ${plural(story.sources, "source", "sources")}`;
  };

  function articleLine(item, hooks) {
    const meta = [el("span", { class: "hit-source" }, item.source)];
    if (item.published_at) meta.push(" · ", el("time", { datetime: item.published_at }, fmtDate(item.published_at)));
    return el("li", null,
      hooks.articleLink(item.id, item.title || "(untitled)"), " ",
      el("span", { class: "story-meta" }, meta),
      item.duplicate_of ? el("span", { class: "story-copy", title: "A copy of another article's text" }, "copy") : null);
  }

  // ------------------------------------------------------------ grouped hits
  /** "N articles from M sources" under a grouped hit (null for a story of one). */
  function group(hit, hooks) {
    const story = hit.story;
    if (!story || story.articles < 2) return null;
    const list = el("ul", { class: "story-others", id: `story-others-${hit.id}`, hidden: true },
      story.others.map((item) => articleLine(item, hooks)));
    const toggle = el("button", {
      type: "button",
      class: "story-toggle",
      "aria-expanded": "false",
      "aria-controls": list.id,
      onclick: () => {
        const open = toggle.getAttribute("aria-expanded") !== "true";
        toggle.setAttribute("aria-expanded", String(open));
        list.hidden = !open;
      },
    }, countLabel(story));
    const all = storyLink(story.id, story.articles > story.others.length + 1 ? `All ${fmtCount(story.articles)} articles of the story →` : "Story page →", hooks);
    list.append(el("li", { class: "story-all" }, all));
    const page = storyLink(story.id, "Story →", hooks, { class: "story-link story-page-link", title: "The story: timeline, sources, entities" });
    return el("div", { class: "hit-story" }, toggle, " ", page, list);
  }

  // ------------------------------------------------------------ story page
  let request = null;
  let shown = null;

  /** Show the story of the state (true), or take the story view away (false).
      An article opened from the story page is app.js's to show. */
  function show(next, hooks) {
    const toggle = $("group-toggle");
    if (toggle) toggle.checked = next.group !== "none";
    const on = Boolean(next.story && STORY_ID.test(next.story) && !next.article);
    document.body.classList.toggle("is-story", on);
    if (!view()) return false;
    view().hidden = !on;
    if (!on) return false;
    load(next.story, hooks);
    return true;
  }

  function back(hooks) {
    return el("button", {
      type: "button",
      class: "back",
      onclick: () => {
        if (history.state && history.state.fromResults) history.back();
        else hooks.navigate({ ...hooks.state(), story: "" });
      },
    }, "← Back to results");
  }

  async function load(id, hooks) {
    if (shown === id) return;
    if (request) request.abort();
    const mine = new AbortController();
    request = mine;
    fill(view(), back(hooks), el("p", { class: "muted" }, "Loading the story…"));
    hooks.setBusy(1);
    try {
      const story = await hooks.getJson(`/v1/stories/${id}`, mine.signal);
      if (mine !== request) return;
      shown = id;
      render(story, hooks);
    } catch (error) {
      if (error.name === "AbortError" || mine !== request) return;
      shown = null;
      const message = error.status === 404 ? "This story is not in the index." : `The story could not be loaded: ${error.message}`;
      fill(view(), back(hooks), el("p", { class: "error" }, message));
    } finally {
      hooks.setBusy(-1);
    }
  }

  function sourcesSection(story, hooks) {
    return el("section", { class: "story-sources", "aria-labelledby": "story-sources-title" },
      el("h2", { id: "story-sources-title" }, plural(story.source_count, "source", "sources")),
      el("ul", null, story.sources.map((s) => el("li", null,
        el("button", {
          type: "button",
          class: "chip chip-source",
          title: `Search this story's words in ${s.source}`,
          onclick: () => hooks.navigate(hooks.withChange({ source: [s.source], story: "" }), { scrollTop: true }),
        }, s.source, " ", el("span", { class: "chip-count" }, String(s.count)))))));
  }

  function entitiesSection(story, hooks) {
    const groups = Object.entries(story.entities || {}).filter(([, found]) => found.length);
    if (!groups.length) return null;
    return el("section", { class: "entities story-entities", "aria-label": "Entities of this story" },
      groups.map(([group, found]) => el("div", { class: "entity-group" },
        el("h3", null, ENTITY_TITLES[group] || group),
        el("div", { class: "entity-chips" }, found.map((entity) => {
          const facet = FACETS.includes(group) ? group : null;
          return el("button", {
            type: "button",
            class: `chip chip-${group}`,
            title: facet ? `Articles about ${entity.name}` : `Search for “${entity.name}”`,
            onclick: () => hooks.navigate(facet
              ? hooks.withChange({ [facet]: [entity.name], story: "" })
              : hooks.withChange({ q: `"${entity.name.replaceAll('"', "")}"`, story: "" }), { scrollTop: true }),
          }, entity.name, " ", el("span", { class: "chip-count" }, String(entity.count)));
        })))));
  }

  function timelineSection(story, hooks) {
    const titles = new Map(story.timeline.map((item) => [item.id, item.title]));
    const items = story.timeline.map((item) => {
      const original = safeHttpUrl(item.url);
      const meta = [el("span", { class: "hit-source" }, item.source)];
      if (item.duplicate_of) {
        const of = titles.get(item.duplicate_of);
        meta.push(el("span", { class: "story-copy", title: of ? `A copy of “${of}”` : "A copy of another article's text" }, "copy"));
      }
      if (original) meta.push(el("a", { href: original, target: "_blank", rel: "noopener noreferrer" }, "original ↗"));
      return el("li", { class: "timeline-item", "data-id": item.id },
        item.date ? el("time", { class: "timeline-date", datetime: item.date }, fmtDate(item.date)) : el("span", { class: "timeline-date muted" }, "undated"),
        el("div", { class: "timeline-body" },
          el("h3", { class: "timeline-title" }, hooks.articleLink(item.id, item.title || "(untitled)")),
          el("div", { class: "hit-meta" }, meta)));
    });
    return el("section", { class: "story-timeline", "aria-labelledby": "story-timeline-title" },
      el("h2", { id: "story-timeline-title" }, "Timeline"),
      el("ol", { class: "timeline" }, items),
      story.timeline_truncated ? el("p", { class: "muted" }, `The first ${fmtCount(story.timeline.length)} of ${fmtCount(story.articles)} articles.`) : null);
  }

  function render(story, hooks) {
    document.title = `${story.title || "Story"} – Newsflow`;
    const span = story.first_seen && story.last_seen
      ? (fmtDate(story.first_seen) === fmtDate(story.last_seen) ? fmtDate(story.first_seen) : `${fmtDate(story.first_seen)} – ${fmtDate(story.last_seen)}`)
      : null;
    const title = el("h1", { id: "story-title", tabindex: "-1" }, story.title || "(untitled story)");
    fill(view(),
      back(hooks),
      el("header", { class: "reader-head story-head" },
        el("p", { class: "story-kicker muted" }, "Story"),
        title,
        el("div", { class: "hit-meta" },
          el("span", { class: "story-count" }, countLabel({ articles: story.articles, sources: story.source_count })),
          span ? el("span", null, span) : null,
          hooks.articleLink(story.central_article_id, "Read its central article"))),
      sourcesSection(story, hooks),
      entitiesSection(story, hooks),
      timelineSection(story, hooks));
    title.focus({ preventScroll: true });
  }

  // ------------------------------------------------------------ summary row
  /** " in N stories" after the article count of a grouped search. */
  function summary(body) {
    return typeof body.stories === "number" ? ` in ${plural(body.stories, "story", "stories")}` : null;
  }

  /** The "Group by story" toggle; app.js calls it once. */
  function wireToggle(hooks) {
    const toggle = $("group-toggle");
    if (!toggle) return;
    toggle.addEventListener("change", () => {
      hooks.navigate(hooks.withChange({ group: toggle.checked ? "story" : "none" }), { focusMain: true });
    });
  }

  window.NewsflowStory = { group, show, summary, wireToggle };
})();
