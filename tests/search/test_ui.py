"""The web UI in a real headless Chromium, against the app served by uvicorn.

The corpus (tests/search/corpus.py) includes a hostile article whose title,
body and one entity carry ``<script>`` and ``onerror=`` markup; the UI must
show it as text and run none of it. Screenshots go to tests/artifacts/ (git
ignored); their paths are printed (`pytest -s` shows them).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote_plus

import pytest
from elasticsearch import AsyncElasticsearch
from playwright.sync_api import Browser, Page, expect

from shared.contracts.models import EnrichedArticleV1
from tests.search.browser import facet_counts_on_page, serve_indexed, shot
from tests.search.corpus import (
    HOSTILE_ENTITY,
    HOSTILE_MARKUP,
    HOSTILE_WORD,
    build_corpus,
    facet_counts,
    gazetteer_id,
    index_corpus,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def corpus() -> list[EnrichedArticleV1]:
    return build_corpus()


@pytest.fixture(scope="module")
def base_url(corpus: list[EnrichedArticleV1]) -> Iterator[str]:
    async def index(es: AsyncElasticsearch, namespace: str) -> None:
        await index_corpus(es, namespace, corpus)

    yield from serve_indexed(index)


# ----------------------------------------------------------------- tests
def test_search_facets_url_state_and_article(
    page: Page, base_url: str, corpus: list[EnrichedArticleV1]
) -> None:
    page.goto(base_url)
    expect(page.locator("#summary strong")).to_have_text(f"{len(corpus)} articles")
    expect(page.locator(".hit")).to_have_count(20)
    shot(page, "home")

    # Typing searches as you type (debounced); the URL follows.
    page.locator("#q").press_sequentially("quokka", delay=30)
    quokka = sum("quokka" in a.text.lower() for a in corpus)
    expect(page.locator("#summary strong")).to_have_text(f"{quokka} articles")
    expect(page).to_have_url(re.compile(r"\?q=quokka$"))
    expect(page.locator(".hit mark").first).to_have_text(re.compile("quokka", re.I))
    languages_before = facet_counts_on_page(page, "language")

    # Choosing a source: list, counts and URL change.
    source_item = page.locator('.facet[data-facet="source"] .facet-item').first
    source = source_item.locator(".facet-value").inner_text()
    source_count = int(source_item.locator(".facet-count").inner_text())
    source_item.locator("label").click()
    expect(page).to_have_url(re.compile(rf"source={re.escape(source)}"))
    expect(page.locator("#summary strong")).to_have_text(re.compile(rf"^{source_count} articles?$"))
    expect(page.locator(".chip-active")).to_contain_text(source)
    assert facet_counts_on_page(page, "language") != languages_before
    expect(page.locator(".hit")).to_have_count(source_count)
    shot(page, "filtered")

    # Reload: the same state from the URL alone.
    url = page.url
    page.reload()
    expect(page.locator("#q")).to_have_value("quokka")
    expect(page.locator("#summary strong")).to_have_text(re.compile(rf"^{source_count} articles?$"))
    expect(page.locator('.facet[data-facet="source"] input:checked')).to_have_count(1)
    assert page.url == url

    # Back undoes the filter, forward redoes it.
    page.go_back()
    expect(page.locator("#summary strong")).to_have_text(f"{quokka} articles")
    page.go_forward()
    expect(page.locator("#summary strong")).to_have_text(re.compile(rf"^{source_count} articles?$"))

    # The article view: text, entities, similar articles; back returns.
    first = page.locator(".hit-title a").first
    title = first.inner_text()
    first.click()
    expect(page.locator("#reader-title")).to_have_text(title.strip())
    expect(page).to_have_url(re.compile(r"article=[0-9a-f]{32}"))
    expect(page.locator(".reader-body p").first).to_be_visible()
    shot(page, "article", full_page=True)
    page.locator(".back").first.click()
    expect(page.locator("#results")).to_be_visible()
    expect(page.locator("#summary strong")).to_have_text(re.compile(rf"^{source_count} articles?$"))


def test_entity_chip_and_histogram_narrow_the_search(
    page: Page, base_url: str, corpus: list[EnrichedArticleV1]
) -> None:
    page.goto(base_url)
    expect(page.locator(".hit")).to_have_count(20)
    place, count = facet_counts(corpus, "places").most_common(1)[0]
    page.locator(".hit .chip-places", has_text=re.compile(rf"^{re.escape(place)}$")).first.click()
    # The chip filters by the entity's id (its name shows on the filter's chip).
    expect(page).to_have_url(re.compile(re.escape(f"places={quote_plus(gazetteer_id(place))}")))
    expect(page.locator(".chip-active")).to_contain_text(place)
    expect(page.locator("#summary strong")).to_have_text(re.compile(rf"^{count} articles?$"))

    page.goto(base_url)
    expect(page.locator(".bar").first).to_be_visible()
    bar = page.locator(".bar:not(.is-empty)").first
    bar.click()
    expect(page).to_have_url(re.compile(r"from=\d{4}-\d\d-\d\d&to=\d{4}-\d\d-\d\d"))
    expect(page.locator(".chip-active")).to_contain_text("Published")
    shot(page, "histogram-range")


def test_hostile_article_renders_as_text(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}?q={HOSTILE_WORD}")
    hit = page.locator(".hit-title a").first
    expect(hit).to_contain_text("<script>window.__pwned=1</script>")
    expect(hit.locator("mark")).to_have_text(HOSTILE_WORD)
    expect(page.locator(".hit-snippet").first).to_contain_text('onerror="window.__pwned=1"')
    hit.click()
    expect(page.locator("#reader-title")).to_contain_text(HOSTILE_MARKUP)
    expect(page.locator(".reader-body")).to_contain_text(HOSTILE_MARKUP)
    expect(page.locator(".entities")).to_contain_text(HOSTILE_ENTITY)
    # Nothing from the article became an element, and nothing ran.
    assert page.locator("#reader script, #reader img, #results img, .hits b").count() == 0
    # Only our own files (util.js, app.js, follow.js, …): no script from the article.
    assert page.locator("script").count() == page.locator('script[src^="/static/"]').count()
    assert page.locator('script[src="/static/app.js"]').count() == 1
    assert page.evaluate("() => typeof window.__pwned") == "undefined"
    page.locator(".entities .chip", has_text="Evil Corp").hover()
    assert page.evaluate("() => typeof window.__pwned") == "undefined"
    shot(page, "hostile", full_page=True)


def test_keyboard_and_suggestions(page: Page, base_url: str) -> None:
    page.goto(base_url)
    expect(page.locator(".hit")).to_have_count(20)
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("/")
    expect(page.locator("#q")).to_be_focused()
    page.keyboard.type("germ", delay=40)
    option = page.locator("#suggestions [role=option]").first
    expect(option).to_contain_text("Germany")
    page.keyboard.press("ArrowDown")
    expect(option).to_have_attribute("aria-selected", "true")
    shot(page, "suggest")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"places=Q183"))  # Germany, by its id
    expect(page.locator("#q")).to_have_value("")
    expect(page.locator(".chip-active")).to_contain_text("Germany")

    # A facet toggled from the keyboard keeps the focus through the re-render.
    checkbox = page.locator('.facet[data-facet="language"] input').first
    checkbox.focus()
    page.keyboard.press("Space")
    expect(page).to_have_url(re.compile(r"language="))
    expect(page.locator('.facet[data-facet="language"] input:checked')).to_be_focused()

    # The histogram: arrows move, shift+arrows select a span, Enter applies it.
    page.goto(base_url)
    page.locator(".bar").first.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    expect(page.locator(".bar.is-brushed")).to_have_count(3)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"from=\d{4}-\d\d-\d\d&to=\d{4}-\d\d-\d\d"))


def test_phone_width(browser: Browser, base_url: str) -> None:
    context = browser.new_context(
        viewport={"width": 375, "height": 812}, device_scale_factor=2, is_mobile=True
    )
    page = context.new_page()
    page.goto(f"{base_url}?q=quokka")
    expect(page.locator(".hit").first).to_be_visible()
    # Nothing wider than the screen.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
    shot(page, "phone")
    page.locator("#filters-toggle").click()
    expect(page.locator("#facets")).to_be_visible()
    shot(page, "phone-filters")
    context.close()
