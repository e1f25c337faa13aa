"""Stories in Chromium: a grouped result ("N articles from M sources") that
expands to the story's articles, the "Group by story" toggle, and the story
page with its timeline, sources and entities. The corpus is the one of
test_stories_search.py (GroupedArticleV1 documents written through
to_document)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from elasticsearch import AsyncElasticsearch
from playwright.sync_api import Browser, Page, expect

from tests.search.browser import serve_indexed, shot, summary_total
from tests.search.conftest import index_articles
from tests.search.test_stories_search import METH, WORD, build_stories

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stories_url() -> Iterator[str]:
    async def index(es: AsyncElasticsearch, namespace: str) -> None:
        await index_articles(es, namespace, list(build_stories().values()))

    yield from serve_indexed(index)


def test_grouped_result_expands_to_its_story(page: Page, stories_url: str) -> None:
    corpus = build_stories()
    page.goto(f"{stories_url}?q={WORD}&sort=oldest")
    expect(page.locator("#summary")).to_contain_text("12 articles in 7 stories")
    assert summary_total(page) == len(corpus)  # the bold count is still articles
    expect(page.locator(".hit")).to_have_count(7)
    hit = page.locator(".hit").filter(has_text=corpus["meth-wire"].title or "")
    toggle = hit.locator(".story-toggle")
    expect(toggle).to_have_text("4 articles from 3 sources")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    others = hit.locator(".story-others")
    expect(others).to_be_hidden()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(others).to_be_visible()
    expect(others.locator("li")).to_have_count(4)  # three articles and the story link
    expect(others).to_contain_text(corpus["meth-copy-1"].title or "")
    expect(others.locator(".story-copy").first).to_have_text("copy")
    shot(page, "stories-grouped-expanded")

    # Ungrouped: every article on its own line, the choice in the URL.
    page.locator("#group-toggle").uncheck()
    expect(page).to_have_url(re.compile(r"group=none"))
    expect(page.locator(".hit")).to_have_count(12)
    expect(page.locator(".story-toggle")).to_have_count(0)
    expect(page.locator("#summary")).not_to_contain_text("stories")
    shot(page, "stories-ungrouped")
    page.go_back()
    expect(page.locator(".hit")).to_have_count(7)
    expect(page.locator("#group-toggle")).to_be_checked()


def test_story_page(page: Page, stories_url: str) -> None:
    corpus = build_stories()
    page.goto(f"{stories_url}?q={WORD}&sort=oldest")
    hit = page.locator(".hit").filter(has_text=corpus["meth-wire"].title or "")
    hit.locator(".story-toggle").click()
    hit.locator(".story-all a").click()
    expect(page).to_have_url(re.compile(rf"story={METH}"))
    view = page.locator("#story-view")
    expect(view.locator("h1")).to_have_text(corpus["meth-wire"].title or "")
    expect(view.locator(".story-count")).to_have_text("4 articles from 3 sources")
    expect(page.locator("#results")).to_be_hidden()
    timeline = view.locator(".timeline-item")
    expect(timeline).to_have_count(4)
    ids = [timeline.nth(i).get_attribute("data-id") for i in range(4)]
    keys = ("meth-wire", "meth-copy-1", "meth-copy-2", "meth-take")
    assert ids == [corpus[k].article_id for k in keys]
    expect(timeline.nth(1).locator(".story-copy")).to_have_text("copy")
    expect(view.locator(".story-sources li")).to_have_count(3)
    expect(view.locator(".story-sources")).to_contain_text("kotatv.com 2")
    expect(view.locator(".story-entities .chip-people")).to_have_text("Kristi Noem 4")
    shot(page, "stories-story-page", full_page=True)

    # An article of the timeline opens, and back returns to the story.
    timeline.nth(3).locator(".timeline-title a").click()
    expect(page.locator("#reader h1")).to_have_text(corpus["meth-take"].title or "")
    # Its similar articles start with the rest of its story.
    similar = page.locator(".similar li")
    expect(similar.first.locator(".same-story")).to_have_text("same story")
    expect(page.locator(".similar .same-story")).to_have_count(3)
    page.go_back()
    expect(view.locator("h1")).to_have_text(corpus["meth-wire"].title or "")
    # Back to the results, as they were.
    view.locator(".back").click()
    expect(page.locator(".hit")).to_have_count(7)
    expect(page).not_to_have_url(re.compile("story="))
    # The story's link on a result, without expanding it.
    page.locator(".hit").filter(has_text="Duvet hack 0").locator(".story-page-link").click()
    expect(page.locator("#story-view .story-count")).to_have_text("3 articles from 3 sources")


def test_story_page_opened_directly(page: Page, stories_url: str) -> None:
    page.goto(f"{stories_url}?story={METH}")
    expect(page.locator("#story-view h1")).to_be_visible()
    expect(page.locator("#story-view .timeline-item")).to_have_count(4)
    # A malformed id is no story: the search page shows.
    page.goto(f"{stories_url}?story=<script>")
    expect(page.locator("#story-view")).to_be_hidden()
    expect(page.locator(".hit").first).to_be_visible()


def test_unknown_story_page(browser: Browser, stories_url: str) -> None:
    """Its own page: the 404 it shows is also logged by Chromium, which the
    `page` fixture counts as an error."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{stories_url}?story={'c3' * 16}")
        expect(page.locator("#story-view .error")).to_have_text("This story is not in the index.")
        expect(page.locator("#story-view .back")).to_be_visible()
    finally:
        context.close()
    assert errors == []
