"""Entity pages in a real headless Chromium (``?entity=<id>``, entity.js):
the page itself, the links to it from facet values and entity chips,
filters by id that show names, autocomplete choosing an entity by id.
Screenshots go to tests/artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from elasticsearch import AsyncElasticsearch
from playwright.sync_api import Browser, Page, expect

from shared.contracts.models import EnrichedArticleV1
from tests.search.browser import serve_indexed, shot
from tests.search.corpus import build_corpus, gazetteer_id, index_corpus
from tests.search.entity_registry import LONE_TRUMP, TRUMP, TRUMP_NAME, US, seed_registry

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def corpus() -> list[EnrichedArticleV1]:
    return build_corpus()


@pytest.fixture(scope="module")
def base_url(stack: None, corpus: list[EnrichedArticleV1]) -> Iterator[str]:
    async def index(es: AsyncElasticsearch, namespace: str) -> None:
        await index_corpus(es, namespace, corpus)
        from shared.runtime.settings import SearchSettings

        seed_registry(SearchSettings().redis_dsn, namespace)

    yield from serve_indexed(index)


def trump_articles(corpus: list[EnrichedArticleV1]) -> int:
    return sum(any(e.id == TRUMP for e in a.entities) for a in corpus)


def test_entity_page(page: Page, base_url: str, corpus: list[EnrichedArticleV1]) -> None:
    page.goto(f"{base_url}?entity={TRUMP}")
    expect(page.locator("#entity-title")).to_have_text(TRUMP_NAME)
    expect(page.locator(".entity-type")).to_have_text("Person")
    expect(page.locator(".entity-aliases")).to_contain_text("Donald Trump")
    count = trump_articles(corpus)
    expect(page.locator(".entity-page .hit-meta")).to_contain_text(f"{count} articles")
    bars = page.locator(".entity-bars .bar:not(.is-empty)")
    expect(bars.first).to_be_visible()
    assert bars.count() >= 1
    expect(page.locator(".entity-related .entity-chip").first).to_be_visible()
    expect(page.locator(".entity-sources li").first).to_be_visible()
    expect(page.locator(".entity-latest li")).to_have_count(min(10, count))
    # The search page is gone meanwhile.
    expect(page.locator("#results")).to_be_hidden()
    expect(page.locator("#sidebar")).to_be_hidden()
    shot(page, "entity", full_page=True)

    # Follow hands the entity to follow.js.
    page.evaluate("() => { window.__followed = []; }")
    page.evaluate("() => { window.newsflowFollow = (s) => window.__followed.push(s); }")
    page.locator(".entity-follow").click()
    assert page.evaluate("() => window.__followed") == [{"name": TRUMP_NAME, "entity": TRUMP}]

    # A co-occurring entity opens its own page; back returns.
    other = page.locator(".entity-related .entity-chip").first
    other_name = other.evaluate("n => n.firstChild.textContent")
    other.click()
    expect(page.locator("#entity-title")).to_have_text(other_name)
    expect(page).to_have_url(re.compile(rf"entity={re.escape(gazetteer_id(other_name))}"))
    page.go_back()
    expect(page.locator("#entity-title")).to_have_text(TRUMP_NAME)

    # "Search its articles" filters the search by the id; the chip shows the name.
    page.locator(".entity-articles").click()
    expect(page).to_have_url(re.compile(rf"people={TRUMP}"))
    expect(page.locator("#summary strong")).to_have_text(f"{count} articles")
    expect(page.locator(".chip-active")).to_contain_text(TRUMP_NAME)
    expect(page.locator(".entity-page")).to_be_hidden()


def test_merged_id_and_unknown_id(page: Page, browser: Browser, base_url: str) -> None:
    page.goto(f"{base_url}?entity={LONE_TRUMP}")
    expect(page.locator("#entity-title")).to_have_text(TRUMP_NAME)
    expect(page).to_have_url(re.compile(rf"entity={TRUMP}"))
    # A malformed id is no entity page at all: the search shows.
    page.goto(f"{base_url}?entity=%3Cscript%3E")
    expect(page.locator(".hit").first).to_be_visible()
    # An unknown id: the API's 404 is said on the page. (A page of its own:
    # the browser logs the 404 as a console error, which `page` refuses.)
    context = browser.new_context()
    try:
        unknown = context.new_page()
        unknown.goto(f"{base_url}?entity=ent_0123456789abcdef")
        expect(unknown.locator(".entity-page .error")).to_have_text("No article names this entity.")
    finally:
        context.close()


def test_wikidata_link(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}?entity={US}")
    expect(page.locator("#entity-title")).to_have_text("United States")
    link = page.locator('.entity-page a[href="https://www.wikidata.org/wiki/Q30"]')
    expect(link).to_have_text("Wikidata Q30 ↗")


def test_facets_and_chips_link_to_entity_pages(page: Page, base_url: str) -> None:
    page.goto(base_url)
    expect(page.locator(".hit").first).to_be_visible()
    # Facet values show names; the checkbox filters by id, the link opens the page.
    people = page.locator('.facet[data-facet="people"] .facet-item')
    trump = people.filter(has_text=TRUMP_NAME)
    expect(trump).to_have_count(1)
    trump.locator("label").click()
    expect(page).to_have_url(re.compile(rf"people={TRUMP}"))
    expect(page.locator(".chip-active")).to_contain_text(TRUMP_NAME)
    page.locator('.facet[data-facet="people"] .facet-item', has_text=TRUMP_NAME).locator(
        ".entity-link"
    ).click()
    expect(page).to_have_url(re.compile(rf"\?.*entity={TRUMP}"))
    expect(page.locator("#entity-title")).to_have_text(TRUMP_NAME)
    page.go_back()
    expect(page.locator(".hit").first).to_be_visible()

    # Every entity chip of a result has its link.
    hit = page.locator(".hit").first
    pairs = hit.locator(".hit-entities .chip-pair")
    assert pairs.count() == hit.locator(".hit-entities .chip").count() > 0
    place_chip = hit.locator(".hit-entities .chip-pair.chip-places").first
    if place_chip.count():
        name = place_chip.locator("button").inner_text()
        place_chip.locator(".entity-link").click()
        expect(page.locator("#entity-title")).to_have_text(name)
        page.go_back()

    # The article view's chips too.
    page.locator(".hit-title a").first.click()
    expect(page.locator("#reader-title")).to_be_visible()
    chips = page.locator(".entities .chip-pair")
    expect(chips.first).to_be_visible()
    name = chips.first.locator("button").evaluate("n => n.firstChild.textContent")
    chips.first.locator(".entity-link").click()
    expect(page.locator("#entity-title")).to_have_text(
        name if gazetteer_id(name) != TRUMP else TRUMP_NAME
    )
    shot(page, "entity-from-article")


def test_autocomplete_chooses_the_entity_by_id(page: Page, base_url: str) -> None:
    page.goto(base_url)
    page.locator("#q").press_sequentially("dona", delay=40)
    option = page.locator("#suggestions [role=option]").first
    expect(option).to_contain_text(TRUMP_NAME)
    expect(option).to_contain_text("Person")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"people={TRUMP}"))
    expect(page.locator(".chip-active")).to_contain_text(TRUMP_NAME)
