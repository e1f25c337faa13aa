"""The live count (``/v1/search/live``) served by the search app on the real
stack: it counts an entity's new articles as the entity page counts its
articles (``entity=<id>``, validated as ``/v1/entities/{id}`` validates
ids), it takes every search ``/v1/search`` takes and refuses what it
refuses, and the entity page of Chromium shows "1 new article — show".

The subscriptions routes read their settings from the environment (as in
production), so the module sets it for its namespace."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from elasticsearch import AsyncElasticsearch
from playwright.sync_api import Page, expect

from services.search.limits import MAX_ENTITY_ID_CHARS as MAX_ID_CHARS
from services.subscriptions.settings import SubscriptionsSettings
from shared.contracts.models import EnrichedArticleV1
from shared.runtime.settings import SearchSettings
from tests.conftest import ES_URL, REDIS_URL
from tests.search.browser import TRACK_STREAMS, ServedApp, open_streams, shot
from tests.search.conftest import index_articles
from tests.subscriptions.rig import enriched

pytestmark = pytest.mark.integration
ADA, BABBAGE, UI_ENTITY, NOBODY = "Q990001", "ent_00000000000000aa", "Q990003", "Q990002"


def about(n: str, title: str, *people: tuple[str, str]) -> EnrichedArticleV1:
    return enriched(
        title,
        f"{title}. " * 20,
        n=f"live-entity-{n}",
        people=[name for name, _ in people],
        people_ids=[i for _, i in people],
    )


class Site:
    def __init__(self, url: str, namespace: str, pool: ThreadPoolExecutor) -> None:
        self.url = url
        self.ns = namespace
        self.pool = pool

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)

    def index(self, *articles: EnrichedArticleV1) -> None:
        """Straight into the index (indexed_at: now), visible at once."""

        async def run() -> None:
            es = AsyncElasticsearch(ES_URL, request_timeout=60)
            try:
                await index_articles(es, self.ns, list(articles))
            finally:
                await es.close()

        # In a thread of its own: sync Playwright keeps an event loop in this one.
        self.pool.submit(asyncio.run, run()).result()


@pytest.fixture(scope="module")
def site(namespace: str) -> Iterator[Site]:
    env = {
        "NEWSFLOW_NAMESPACE": namespace,
        "NEWSFLOW_ELASTICSEARCH_URL": ES_URL,
        "NEWSFLOW_REDIS_URL": REDIS_URL,
        "NEWSFLOW_SUBSCRIPTIONS_LIVE_POLL_S": "0.2",
        "NEWSFLOW_SUBSCRIPTIONS_LIVE_HEARTBEAT_S": "0.5",
        # Streams are opened one after the other here; whether the previous
        # one is released yet is not what this module tests.
        "NEWSFLOW_SUBSCRIPTIONS_LIVE_MAX_PER_CLIENT": "100",
    }
    patch = pytest.MonkeyPatch()
    for name, value in env.items():
        patch.setenv(name, value)
    settings = SearchSettings(
        namespace=namespace, cache_ttl_s=0, rate_limit_requests=0, max_concurrent_per_client=0
    )
    with ThreadPoolExecutor(max_workers=1) as pool:
        try:
            with ServedApp(settings) as served:
                made = Site(served.url, namespace, pool)
                made.index(
                    about("start-1", "Ada writes notes", ("Ada Lovelace", ADA)),
                    about("start-2", "Babbage builds", ("Charles Babbage", BABBAGE)),
                    about("start-3", "Ui entity first", ("Grace Hopper", UI_ENTITY)),
                )
                yield made
        finally:
            patch.undo()


def first_count(site: Site, **params: Any) -> int:
    """The count the stream sends at once."""
    with (
        site.http() as http,
        http.stream("GET", "/v1/search/live", params=params) as stream,
    ):
        assert stream.status_code == 200, stream.read()
        name = None
        for line in stream.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: ") and name == "count":
                return int(json.loads(line[6:])["count"])
    raise AssertionError("the stream ended without a count")


def live_status(site: Site, params: dict[str, Any]) -> int:
    with (
        site.http() as http,
        http.stream("GET", "/v1/search/live", params=params) as stream,
    ):
        return stream.status_code


def page_articles(site: Site, entity_id: str) -> int:
    with site.http() as http:
        answer = http.get(f"/v1/entities/{entity_id}")
    assert answer.status_code == 200, answer.text
    return int(answer.json()["articles"])


# ----------------------------------------------------------------- entity
def test_an_entity_counts_its_new_articles_as_its_page_counts_them(site: Site) -> None:
    before = page_articles(site, ADA)
    since = datetime.now(UTC).isoformat()
    site.index(
        about("new-1", "Ada and the engine", ("Ada Lovelace", ADA)),
        about("new-2", "Ada and Babbage", ("Ada Lovelace", ADA), ("Charles Babbage", BABBAGE)),
        about("new-3", "Unrelated harbour news"),
    )
    after = page_articles(site, ADA)
    assert after - before == 2
    assert first_count(site, entity=ADA, since=since) == after - before
    assert first_count(site, entity=BABBAGE, since=since) == 1
    assert first_count(site, entity=NOBODY, since=since) == 0
    # With the other parameters, as /v1/search combines filters (AND).
    assert first_count(site, entity=ADA, q="engine", since=since) == 1
    # The last word also as a prefix, as the search box lists it.
    with site.http() as http:
        listed = http.get("/v1/search", params={"q": "engi", "people": ADA}).json()
    assert listed["total"] == 1 and "engine" in listed["hits"][0]["title"]
    assert first_count(site, entity=ADA, q="engi", since=since) == 1
    assert first_count(site, entity=ADA, people=BABBAGE, since=since) == 1
    assert first_count(site, since=since) == 3


MALFORMED_IDS = [
    "Q",
    "q1",
    "Q1x",
    "Q1\n",
    " Q1",
    "ent_0123",
    "ent_0123456789ABCDEF",
    "Q" + "1" * MAX_ID_CHARS,  # one character too long
    "person:Ada Lovelace",  # a subscription's "type:name": no id
    "<script>",
]
WELL_FORMED_IDS = ["Q1", "Q" + "1" * (MAX_ID_CHARS - 1), "ent_0123456789abcdef", ADA]


@pytest.mark.parametrize("entity_id", MALFORMED_IDS + WELL_FORMED_IDS)
def test_the_entity_id_is_validated_as_the_entity_page_validates_it(
    site: Site, entity_id: str
) -> None:
    since = datetime.now(UTC).isoformat()
    with site.http() as http:
        page = http.get(f"/v1/entities/{quote(entity_id, safe='')}")
    live = live_status(site, {"entity": entity_id, "since": since})
    malformed = entity_id in MALFORMED_IDS
    assert (page.status_code == 422) is malformed, (page.status_code, page.text)
    assert live == (422 if malformed else 200)


def test_the_live_route_reads_the_search_limits() -> None:
    # Entity id and filter rules are the search's own (services.search.limits),
    # imported by both; the query limits are settings, read from the same variables.
    search, subscriptions = SearchSettings(), SubscriptionsSettings()
    assert subscriptions.search_max_query_chars == search.max_query_chars
    assert subscriptions.search_max_expanding_terms == search.max_expanding_terms


def test_the_search_limits_are_read_from_the_search_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NEWSFLOW_SEARCH_MAX_EXPANDING_TERMS", "1")
    monkeypatch.setenv("NEWSFLOW_SEARCH_MAX_QUERY_CHARS", "40")
    live = SubscriptionsSettings()
    assert live.search_max_expanding_terms == SearchSettings().max_expanding_terms == 1
    assert live.search_max_query_chars == 40


# ----------------------------------------------------------------- limits
def values(n: int) -> list[str]:
    return [f"value {i}" for i in range(n)]


# (parameters, what /v1/search answers); the live route must answer the same.
CASES: list[tuple[str, dict[str, Any], int]] = [
    ("three fuzzy words: over a subscription's 2", {"q": "alpha~ beta~ gamma~"}, 200),
    ("five expanding words: the search's limit", {"q": "al~ be~ ga~ de* ep*"}, 200),
    ("six expanding words", {"q": "al~ be~ ga~ de* ep* ze~"}, 422),
    ("25 filter values: over a subscription's 20", {"people": values(25)}, 200),
    ("50 values of one facet and more of others", {"source": values(50), "author": values(9)}, 200),
    ("51 values of one facet", {"source": values(51)}, 422),
    ("a filter value of 400 characters", {"source": ["s" * 400]}, 200),
    ("500 characters of words", {"q": "w" * 500}, 200),
    ("501 characters of words", {"q": "w" * 501}, 422),
    ("a leading wildcard", {"q": "*news"}, 422),
    ("from after to", {"from": "2024-05-01", "to": "2024-01-01"}, 422),
    ("the year 9999", {"to": "9999-12-31"}, 422),
    ("no words, no filter", {}, 200),
]


@pytest.mark.parametrize(("params", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_live_route_takes_what_the_search_takes(
    site: Site, params: dict[str, Any], expected: int
) -> None:
    with site.http() as http:
        search = http.get("/v1/search", params=params)
    assert search.status_code == expected, search.text
    since = datetime.now(UTC).isoformat()
    assert live_status(site, {**params, "since": since}) == expected


def test_a_since_too_far_back_is_still_refused(site: Site) -> None:
    # The one rule of the live count's own: counting stays cheap.
    old = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    assert live_status(site, {"q": "ada", "since": old}) == 422


# ----------------------------------------------------------------- page
def test_an_entity_page_shows_its_new_articles_live(page: Page, site: Site) -> None:
    page.context.add_init_script(TRACK_STREAMS)
    live = re.compile(rf"/v1/search/live\?entity={UI_ENTITY}&since=")
    with page.expect_request(live):
        page.goto(f"{site.url}?entity={UI_ENTITY}")
    expect(page.locator("#entity-title")).to_have_text("Grace Hopper")
    expect(page.locator(".entity-page .hit-meta")).to_contain_text("1 article")
    banner = page.locator("#entity-live-banner")
    expect(banner).to_be_hidden()

    site.index(about("ui-1", "Hopper finds a bug", ("Grace Hopper", UI_ENTITY)))
    site.index(about("ui-2", "Someone else entirely", ("Ada Lovelace", ADA)))
    expect(banner).to_have_text("1 new article — show", timeout=30_000)
    shot(page, "entity-live-banner")

    # "show": the page drawn again, with the article, and counting from then.
    with page.expect_request(live):
        banner.get_by_role("button", name="show").click()
    expect(page.locator(".entity-page .hit-meta")).to_contain_text("2 articles")
    expect(page.locator(".entity-latest")).to_contain_text("Hopper finds a bug")
    expect(page.locator("#entity-live-banner")).to_be_hidden()
    assert len(open_streams(page)) == 1

    # Back to the search: the entity's stream is closed, the search's opened.
    with page.expect_request(re.compile(r"/v1/search/live\?(?!entity=)")):
        page.locator(".entity-page .back").click()
    expect(page.locator("#results")).to_be_visible()
    [stream] = open_streams(page)
    assert "entity=" not in stream
