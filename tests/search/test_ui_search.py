"""Issue 14 in Chromium: what a person sees typing, correcting, filtering,
choosing dates, exporting, on a desktop and on a phone.

Two corpora: the samples (tests/search/samples.py, the issue's own cases:
Weizsacker, C++, AT&T, typos, bylines) and the fixture corpus of
tests/search/corpus.py (it has entities, for suggestions).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from elasticsearch import AsyncElasticsearch
from playwright.sync_api import Browser, Page, expect

from shared.contracts.models import EnrichedArticleV1
from tests.search.browser import TRACK_STREAMS, open_streams, serve_indexed, shot, summary_total
from tests.search.conftest import index_articles
from tests.search.corpus import build_corpus, index_corpus

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def samples_url(samples: dict[str, EnrichedArticleV1]) -> Iterator[str]:
    async def index(es: AsyncElasticsearch, namespace: str) -> None:
        await index_articles(es, namespace, list(samples.values()))

    yield from serve_indexed(index)


@pytest.fixture(scope="module")
def entities_url() -> Iterator[str]:
    async def index(es: AsyncElasticsearch, namespace: str) -> None:
        await index_corpus(es, namespace, build_corpus())

    yield from serve_indexed(index)


def watch_for_empty_results(page: Page) -> None:
    """Record whether "No articles match" is ever drawn from now on."""
    page.evaluate(
        """() => {
          window.__emptied = false;
          new MutationObserver(() => {
            if (document.getElementById("hits").textContent.includes("No articles match")) {
              window.__emptied = true;
            }
          }).observe(document.getElementById("hits"), { childList: true, subtree: true });
        }"""
    )


# ----------------------------------------------------------------- the observed cases
def test_typing_never_flashes_an_empty_page(page: Page, samples_url: str) -> None:
    page.goto(samples_url)
    expect(page.locator(".hit").first).to_be_visible()
    watch_for_empty_results(page)
    page.locator("#q").press_sequentially("Trum", delay=260)  # slower than the debounce
    expect(page).to_have_url(re.compile(r"\?q=Trum$"))
    expect(page.locator(".hit-title").first).to_contain_text("Trump")
    assert page.evaluate("() => window.__emptied") is False
    shot(page, "typing-prefix")


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("Weizsacker", "Son of former German president"),
        ("C++", "Why C++ still runs"),
        ("AT&T", "Black Friday deals on Apple"),
    ],
)
def test_folding_and_symbols(page: Page, samples_url: str, q: str, expected: str) -> None:
    page.goto(f"{samples_url}?q={quote(q)}")
    expect(page.locator(".hit-title").first).to_contain_text(expected)
    if q != "AT&T":
        expect(page.locator(".hit")).to_have_count(1)


def test_an_emoji_changes_nothing(page: Page, samples_url: str) -> None:
    page.goto(f"{samples_url}?q=trump")
    expect(page.locator(".hit").first).to_be_visible()
    plain = summary_total(page)
    page.goto(f"{samples_url}?q={quote('trump 🚀')}")
    expect(page.locator("#summary strong")).to_have_text(f"{plain} articles")


def test_did_you_mean(page: Page, samples_url: str) -> None:
    page.context.add_init_script(TRACK_STREAMS)
    page.goto(f"{samples_url}?q={quote('macbok keyboard')}")
    spelling = page.locator("#spelling")
    expect(spelling).to_contain_text("Did you mean")
    expect(spelling.get_by_role("link", name="macbook keyboard")).to_be_visible()
    expect(page.locator(".hit")).to_have_count(3)
    expect(page.locator(".hit mark").first).to_have_text(re.compile("macbook|keyboard", re.I))
    # The results are the correction's: so is the live count of new ones.
    page.wait_for_function("() => window.__streams.some(s => s.readyState !== 2)")
    [stream] = open_streams(page)
    assert "q=macbook+keyboard&" in stream
    shot(page, "did-you-mean")
    page.get_by_role("link", name="Search only for what I typed").click()
    expect(page).to_have_url(re.compile(r"exact=1"))
    expect(page.locator(".hits .empty")).to_contain_text("No articles match")
    page.go_back()
    spelling.get_by_role("link", name="macbook keyboard").click()
    expect(page.locator("#q")).to_have_value("macbook keyboard")
    expect(page.locator("#spelling")).to_be_hidden()


def test_byline_author_facet_and_its_search_box(page: Page, samples_url: str) -> None:
    page.goto(f"{samples_url}?q={quote('Amy Kuperinsky')}")
    expect(page.locator(".hit")).to_have_count(1)
    expect(page.locator(".hit-meta")).to_contain_text("By Amy Kuperinsky")
    page.goto(samples_url)
    box = page.locator('.facet[data-facet="author"] .facet-search')
    box.press_sequentially("kuper", delay=40)
    found = page.locator('.facet[data-facet="author"] .facet-found .facet-item')
    expect(found).to_have_count(1)
    expect(found).to_contain_text("Amy Kuperinsky")
    shot(page, "facet-search")
    found.locator("label").click()
    expect(page).to_have_url(re.compile(r"author=Amy\+Kuperinsky"))
    expect(page.locator(".hit")).to_have_count(1)
    expect(page.locator(".chip-active")).to_contain_text("Amy Kuperinsky")


def test_any_source_can_be_chosen(page: Page, samples_url: str) -> None:
    page.goto(f"{samples_url}?q=trump")
    box = page.locator('.facet[data-facet="source"] .facet-search')
    box.press_sequentially("nyt", delay=40)
    item = page.locator('.facet[data-facet="source"] .facet-found .facet-item')
    expect(item).to_have_count(1)
    expect(item.locator(".facet-value")).to_have_text("nytimes.com")
    item.locator("label").click()
    expect(page).to_have_url(re.compile(r"source=nytimes.com"))
    expect(page.locator(".hit-source").first).to_have_text("nytimes.com")


def test_article_view_marks_the_query(page: Page, samples_url: str) -> None:
    page.goto(f"{samples_url}?q=Weizsacker")
    page.locator(".hit-title a").first.click()
    expect(page.locator(".reader-body mark").first).to_have_text("Weizsäcker")
    expect(page.locator(".similar")).to_be_visible()


def test_similar_articles_or_none(page: Page, samples_url: str) -> None:
    page.goto(f"{samples_url}?q={quote('C++')}")
    page.locator(".hit-title a").first.click()
    expect(page.locator(".similar")).to_contain_text("No other article is close enough")
    page.goto(f"{samples_url}?q=WeWork")
    page.locator(".hit-title a").first.click()
    expect(page.locator(".similar li")).to_have_count(1)
    expect(page.locator(".similar li a")).to_contain_text("WeWork")


# ----------------------------------------------------------------- dates, chart, pages
def test_dates_one_format_presets_and_a_reversed_range(page: Page, samples_url: str) -> None:
    page.goto(f"{samples_url}?q=trump&source=nytimes.com")
    expect(page.locator(".hit").first).to_be_visible()
    page.locator("#from").fill("18 Nov 2019")
    page.locator("#to").fill("2019-11-20")
    page.locator("#to").press("Enter")
    expect(page).to_have_url(re.compile(r"from=2019-11-18&to=2019-11-20"))
    # Written back in the page's own format.
    expect(page.locator("#to")).to_have_value("20 Nov 2019")
    expect(page.locator(".chip-active").last).to_contain_text("18 Nov 2019 – 20 Nov 2019")
    expect(page.locator(".hit time").first).to_have_text(re.compile(r"^\d{1,2} Nov 2019$"))

    # A reversed range: a sentence, a way out, and every filter kept.
    page.locator("#from").fill("21 Nov 2019")
    page.locator("#from").press("Enter")
    problem = page.locator("#date-problem")
    expect(problem).to_contain_text("is after the end date")
    expect(page.locator("#summary")).not_to_contain_text("must not")
    expect(page.locator(".chip-active").first).to_contain_text("nytimes.com")
    shot(page, "reversed-dates")
    page.get_by_role("button", name="Swap the dates").click()
    expect(page).to_have_url(re.compile(r"from=2019-11-20&to=2019-11-21"))
    expect(problem).to_be_hidden()

    # Something that is no date.
    page.locator("#from").fill("yesterday-ish")
    page.locator("#from").press("Enter")
    expect(problem).to_contain_text("is not a date")

    # Presets: relative, in the URL, a chip; the corpus is from 2019.
    page.goto(f"{samples_url}?q=trump")
    page.locator("#presets").get_by_role("button", name="Year").click()
    expect(page).to_have_url(re.compile(r"within=1y"))
    expect(page.locator(".chip-active")).to_contain_text("last 12 months")
    expect(page.locator(".hits .empty")).to_contain_text("No articles match")


def test_reversed_range_in_a_link(page: Page, samples_url: str) -> None:
    page.goto(f"{samples_url}?q=trump&source=nytimes.com&from=2019-12-01&to=2019-11-01")
    expect(page.locator("#summary")).to_contain_text("is after the end date")
    expect(page.locator(".chip-active").first).to_contain_text("nytimes.com")
    expect(page.locator("#from")).to_have_value("1 Dec 2019")


def test_histogram_spans_the_results_with_a_scale(page: Page, samples_url: str) -> None:
    page.goto(f"{samples_url}?q=trump")
    expect(page.locator(".bar").first).to_be_visible()
    labels = page.locator("#yaxis span")
    expect(labels).to_have_count(3)
    expect(labels.last).to_have_text("0")
    # The samples were published within days: drawn by day, not one bar.
    assert page.locator(".bar").count() > 1
    expect(page.locator("#axis span").first).to_have_text(re.compile(r"Nov 2019$"))


def test_a_page_past_the_last(page: Page, samples_url: str) -> None:
    page.goto(f"{samples_url}?page=99")
    expect(page.locator(".hits .empty")).to_contain_text("There is no page 99")
    expect(page.locator(".page.is-current")).to_have_count(0)
    page.locator(".hits .empty button").click()
    expect(page.locator(".page.is-current")).to_have_text("7")


# ----------------------------------------------------------------- export
def test_export_button_downloads_the_result_set(page: Page, samples_url: str) -> None:
    page.goto(f"{samples_url}?q=trump")
    expect(page.locator(".hit").first).to_be_visible()
    total = summary_total(page)
    with page.expect_download() as download:
        page.locator("#export").get_by_role("link", name="CSV").click()
    path = download.value.path()
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert len(rows) == total
    assert {"id", "url", "title", "authors", "snippet"} <= set(rows[0])
    assert download.value.suggested_filename.endswith(".csv")


def test_syntax_help(page: Page, samples_url: str) -> None:
    page.goto(samples_url)
    page.locator("#help-toggle").click()
    help_panel = page.locator("#syntax-help")
    expect(help_panel).to_be_visible()
    for syntax in ('"exact phrase"', "-word", "a | b", "elect*", "word~", "author:kuperinsky"):
        expect(help_panel).to_contain_text(syntax)
    page.keyboard.press("Escape")
    expect(help_panel).to_be_hidden()


# ----------------------------------------------------------------- suggestions
def test_stale_suggestions_disappear_at_once(page: Page, entities_url: str) -> None:
    page.goto(entities_url)
    q = page.locator("#q")
    q.press_sequentially("twit", delay=40)
    option = page.locator("#suggestions [role=option]").first
    expect(option).to_contain_text("Twitter")
    # The next keystroke makes them stale: gone before any answer could come.
    q.press("x")
    assert page.locator("#suggestions").is_hidden()
    page.wait_for_timeout(600)
    expect(page.locator("#suggestions")).to_be_hidden()
    expect(page).not_to_have_url(re.compile(r"organisations=Twitter"))


def test_phone_suggestions_whole_and_filters_show_their_results(
    browser: Browser, entities_url: str
) -> None:
    context = browser.new_context(
        viewport={"width": 375, "height": 812}, device_scale_factor=2, is_mobile=True
    )
    page = context.new_page()
    page.goto(entities_url)
    page.locator("#q").press_sequentially("dona", delay=40)
    name = page.locator("#suggestions .suggestion-name").first
    expect(name).to_have_text("Donald Trump")
    # Not cut: the name's box holds the whole of it.
    assert name.evaluate("n => n.scrollWidth <= n.clientWidth + 1")
    shot(page, "phone-suggest")
    page.keyboard.press("Escape")
    page.locator("#filters-toggle").click()
    expect(page.locator("#facets")).to_be_visible()
    page.locator('.facet[data-facet="language"] .facet-item label').first.click()
    expect(page).to_have_url(re.compile(r"language="))
    # The panel closes and the results it gave are on screen.
    expect(page.locator("#facets")).to_be_hidden()
    summary = page.locator("#summary").bounding_box()
    assert summary is not None and 0 <= summary["y"] < 812
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
    shot(page, "phone-after-filter")
    context.close()
