"""Issue 16 in Chromium: "Follow this search" (the key asked once, the feed
shown, the subscriptions listed, paused, resumed, deleted), a refused key,
a hostile subscription name, and the live "1 new article — show" banner
fed by an article that went through the real indexer (Kafka -> indexer
worker -> Elasticsearch) while the page was open.

The search app (with the subscriptions routes it mounts) is served for a
namespace of this module; the subscriptions settings are read from the
environment, as in production, so the module sets it."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import feedparser
import httpx
import pytest
from elasticsearch import AsyncElasticsearch
from kafka import KafkaProducer
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from shared.contracts.models import EnrichedArticleV1
from shared.runtime.settings import SearchSettings
from tests.conftest import ES_URL, KAFKA, REDIS_URL, service_env
from tests.search.browser import TRACK_STREAMS, ServedApp, open_streams, shot
from tests.search.conftest import index_articles
from tests.subscriptions.rig import Worker, enriched, indexing_stages, listen_ports

pytestmark = pytest.mark.integration
KEY, OTHER_KEY = "follow-key-a", "follow-key-b"
STORAGE = "newsflow.apiKey"
HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> &amp; "q" 👀'
# Chromium logs every HTTP error answer in the console; these tests ask for
# refusals on purpose (a wrong key), and check what the page says instead.
EXPECTED_CONSOLE = re.compile(r"the server responded with a status of 401")


@dataclass
class Site:
    url: str
    ns: str
    producer: KafkaProducer
    workers: list[Worker]  # from articles.enriched to the index

    def api(self, key: str = KEY) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"X-API-Key": key}, timeout=30)

    def ingest(self, article: EnrichedArticleV1) -> None:
        """Into the pipeline at articles.enriched: the workers index it (indexed_at: now)."""
        value = article.model_dump_json().encode()
        topic = f"{self.ns}articles.enriched"
        self.producer.send(topic, key=article.article_id.encode(), value=value).get(30)

    def subscriptions(self, key: str = KEY) -> list[dict[str, Any]]:
        with self.api(key) as http:
            answer = http.get("/v1/subscriptions")
        assert answer.status_code == 200, answer.text
        return list(answer.json())

    def named(self, name: str) -> list[dict[str, Any]]:
        return [s for s in self.subscriptions() if s["name"] == name]


STARTING_ARTICLES = [
    enriched("Harbour strike ends after talks", "Dockers return to work. " * 20, n="f-1"),
    enriched(
        "Harbour dredging plan approved",
        "The council approved the plan. " * 20,
        n="f-2",
        source="port.example",
    ),
    enriched("Parliament debates budget", "Long debate in parliament. " * 20, n="f-3"),
]


@pytest.fixture(scope="module")
def site(namespace: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    env = {
        "NEWSFLOW_NAMESPACE": namespace,
        "NEWSFLOW_ELASTICSEARCH_URL": ES_URL,
        "NEWSFLOW_REDIS_URL": REDIS_URL,
        "NEWSFLOW_SUBSCRIPTIONS_API_KEYS": f"{KEY},{OTHER_KEY}",
        "NEWSFLOW_SUBSCRIPTIONS_LIVE_POLL_S": "0.3",
        "NEWSFLOW_SUBSCRIPTIONS_LIVE_HEARTBEAT_S": "1",
    }
    patch = pytest.MonkeyPatch()
    for name, value in env.items():
        patch.setenv(name, value)
    settings = SearchSettings(
        namespace=namespace, cache_ttl_s=0, rate_limit_requests=0, max_concurrent_per_client=0
    )

    async def index() -> None:
        es = AsyncElasticsearch(ES_URL, request_timeout=60)
        try:
            await index_articles(es, namespace, STARTING_ARTICLES)
        finally:
            await es.close()

    # In a thread: sync Playwright runs an event loop in this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, index()).result()
    logs = tmp_path_factory.mktemp("follow-logs")
    stages = indexing_stages()
    worker_env = service_env(namespace)
    ports = listen_ports(len(stages))
    workers = [Worker(s, p, worker_env, logs) for s, p in zip(stages, ports, strict=True)]
    producer = KafkaProducer(bootstrap_servers=KAFKA, acks="all")
    try:
        with ServedApp(settings) as served:
            yield Site(served.url, namespace, producer, workers)
    finally:
        producer.close()
        for worker in workers:
            worker.stop()
        patch.undo()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """As tests/search/conftest.py's page (any script or console error fails
    the test), the deliberate 401 answers aside."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not EXPECTED_CONSOLE.search(message.text):
            problems.append(f"console error: {message.text}")

    page.on("console", on_console)
    yield page
    context.close()
    assert not problems, problems


def with_saved_key(page: Page, key: str = KEY) -> None:
    page.context.add_init_script(f"localStorage.setItem({json.dumps(STORAGE)}, {json.dumps(key)})")


def follow_dialog(page: Page) -> Any:
    page.locator("#follow-button").click()
    dialog = page.locator("dialog.follow-dialog")
    expect(dialog).to_be_visible()
    return dialog


# ----------------------------------------------------------------- follow
def test_following_a_search_saves_its_words_and_filters(page: Page, site: Site) -> None:
    page.goto(f"{site.url}?q=harbour&source=port.example&from=2020-01-01")
    expect(page.locator(".hit-title").first).to_contain_text("Harbour dredging")
    dialog = follow_dialog(page)
    expect(dialog.get_by_label("Name")).to_have_value("harbour")
    dialog.get_by_label("Name").fill("Port works")
    dialog.get_by_label("API key").fill(KEY)
    dialog.get_by_role("button", name="Follow", exact=True).click()

    expect(dialog.get_by_role("heading")).to_have_text("Following this search")
    feed = dialog.locator("#follow-feed")
    expect(feed).to_have_value(re.compile(r"/v1/subscriptions/[0-9a-f]{16}/feed\.atom\?token="))
    [made] = site.named("Port works")
    assert made["q"] == "harbour" and made["source"] == ["port.example"]
    assert made["from"].startswith("2020-01-01")
    assert made["people"] == [] and made["entity"] is None and made["paused"] is False
    assert made["id"] in feed.input_value()
    atom = httpx.get(feed.input_value(), timeout=30)
    assert atom.status_code == 200 and "Port works" in feedparser.parse(atom.content).feed.title
    # Asked once: kept in this browser.
    assert page.evaluate(f"localStorage.getItem({json.dumps(STORAGE)})") == KEY
    shot(page, "follow-created")

    # Manage: pause, resume, delete (twice: it asks first).
    dialog.get_by_role("button", name="Manage subscriptions").click()
    item = dialog.locator(f'.sub-item[data-id="{made["id"]}"]')
    expect(item.locator(".sub-name")).to_have_text("Port works")
    expect(item.locator(".sub-search")).to_contain_text("Source: port.example")
    item.get_by_role("button", name="Pause Port works").click()
    expect(item.locator(".sub-state")).to_have_text("Paused")
    assert site.named("Port works")[0]["paused"] is True
    expect(dialog.get_by_role("status").first).to_have_text("“Port works” paused.")
    shot(page, "follow-manage")
    item.get_by_role("button", name="Resume Port works").click()
    expect(item.locator(".sub-state")).to_have_text("Active")
    assert site.named("Port works")[0]["paused"] is False
    item.get_by_role("button", name="Delete Port works").click()
    expect(item.get_by_role("button", name="Delete Port works")).to_have_text("Really delete?")
    assert site.named("Port works")  # not before the second click
    item.get_by_role("button", name="Delete Port works").click()
    expect(item).to_have_count(0)
    assert site.named("Port works") == []

    # The key is asked once: the next follow does not ask again.
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()
    again = follow_dialog(page)
    expect(again.get_by_label("API key")).to_have_count(0)
    expect(again).to_contain_text("Using the API key saved in this browser")


def test_a_refused_key_says_why_and_is_not_kept(page: Page, site: Site) -> None:
    page.goto(f"{site.url}?q=parliament")
    expect(page.locator(".hit").first).to_be_visible()
    dialog = follow_dialog(page)
    dialog.get_by_label("API key").fill("not-a-key")
    dialog.get_by_role("button", name="Follow", exact=True).click()
    alert = dialog.get_by_role("alert")
    expect(alert).to_have_text(
        "The API key was refused: unknown API key. Check it, or enter another key."
    )
    assert page.evaluate(f"localStorage.getItem({json.dumps(STORAGE)})") is None
    assert site.named("parliament") == []
    shot(page, "follow-wrong-key")
    # The dialog stays, with the name as typed: another key goes through.
    dialog.get_by_label("API key").fill(OTHER_KEY)
    dialog.get_by_role("button", name="Follow", exact=True).click()
    expect(dialog.get_by_role("heading")).to_have_text("Following this search")
    assert [s["q"] for s in site.subscriptions(OTHER_KEY) if s["name"] == "parliament"] == [
        "parliament"
    ]


def test_a_stored_key_that_stopped_working_is_forgotten(page: Page, site: Site) -> None:
    with_saved_key(page, "revoked-key")
    page.goto(f"{site.url}?q=parliament")
    page.locator("#follow-manage").click()
    dialog = page.locator("dialog.follow-dialog")
    expect(dialog.get_by_role("alert")).to_contain_text("The API key was refused: unknown API key")
    expect(dialog.get_by_label("API key")).to_be_visible()
    assert page.evaluate(f"localStorage.getItem({json.dumps(STORAGE)})") is None


def test_a_hostile_subscription_name_is_shown_as_text(page: Page, site: Site) -> None:
    with site.api() as http:
        answer = http.post("/v1/subscriptions", json={"name": HOSTILE, "q": "harbour <b>x</b>"})
    assert answer.status_code == 201, answer.text
    sid = answer.json()["id"]
    with_saved_key(page)
    page.goto(f"{site.url}?q={quote('harbour')}")
    page.locator("#follow-manage").click()
    item = page.locator(f'dialog .sub-item[data-id="{sid}"]')
    expect(item.locator(".sub-name")).to_have_text(answer.json()["name"])
    expect(item.locator(".sub-search")).to_have_text("“harbour <b>x</b>”")
    assert page.locator("dialog img, dialog script, dialog b").count() == 0
    assert page.evaluate("window.__pwned") is None
    shot(page, "follow-hostile")


def test_an_entity_page_can_follow_an_entity_id(page: Page, site: Site) -> None:
    """window.newsflowFollow, as the entity pages will call it."""
    with_saved_key(page)
    page.goto(site.url)
    expect(page.locator(".hit").first).to_be_visible()
    page.evaluate("window.newsflowFollow({ name: 'Ada Lovelace', entity: 'Q7259' })")
    dialog = page.locator("dialog.follow-dialog")
    expect(dialog).to_contain_text("Entity: Q7259")
    dialog.get_by_role("button", name="Follow", exact=True).click()
    expect(dialog.get_by_role("heading")).to_have_text("Following this search")
    [made] = site.named("Ada Lovelace")
    assert made["entity"] == "Q7259" and made["q"] == ""


def test_following_on_a_phone(page: Page, site: Site) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{site.url}?q=harbour")
    expect(page.locator(".hit").first).to_be_visible()
    dialog = follow_dialog(page)
    box = dialog.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    expect(dialog.get_by_label("API key")).to_be_in_viewport()
    shot(page, "follow-phone")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.locator("#follow-button")).to_be_focused()


# ----------------------------------------------------------------- live
def test_an_open_page_shows_new_articles_live(page: Page, site: Site) -> None:
    page.context.add_init_script(TRACK_STREAMS)
    with page.expect_request(re.compile(r"/v1/search/live\?q=zephyranthes&since=")):
        page.goto(f"{site.url}?q=zephyranthes")
    expect(page.locator("#hits")).to_contain_text("No articles match")
    expect(page.locator("#follow-button")).to_be_visible()
    expect(page.locator("#live-banner")).to_be_hidden()

    site.ingest(enriched("Zephyranthes bloom after the rain", "Rain lilies. " * 20, n="live-1"))
    site.ingest(enriched("Nothing to see", "Other words. " * 20, n="live-other"))
    banner = page.locator("#live-banner")
    expect(banner).to_have_text("1 new article — show", timeout=60_000)
    shot(page, "live-banner")

    # "show": the results again, and counting from now.
    with page.expect_request(re.compile(r"/v1/search/live\?q=zephyranthes&since=")):
        banner.get_by_role("button", name="show").click()
    expect(page.locator(".hit-title").first).to_contain_text("Zephyranthes bloom")
    expect(banner).to_be_hidden()
    assert len(open_streams(page)) == 1

    # Another search: the old stream is closed, one for the new search opened.
    with page.expect_request(re.compile(r"/v1/search/live\?q=harbour&since=")):
        page.locator("#q").fill("harbour")
        page.locator("#q").press("Enter")
    expect(page.locator(".hit").first).to_contain_text("Harbour")
    [stream] = open_streams(page)
    assert "q=harbour&" in stream


HIDE_OR_SHOW = """hidden => {
  Object.defineProperty(document, "hidden", { configurable: true, get: () => hidden });
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def test_results_left_for_over_a_day_are_said_to_be_old(page: Page, site: Site) -> None:
    # The server counts from at most a day back: a tab hidden longer than
    # that does not open a stream it would refuse, it offers to refresh. The
    # page's clock starts 23.5 hours back and jumps to now while it is hidden,
    # so that both of its starts are within the day the server takes.
    page.clock.install(time=datetime.now(UTC) - timedelta(hours=23, minutes=30))
    page.context.add_init_script(TRACK_STREAMS)
    page.goto(f"{site.url}?q=harbour")
    expect(page.locator(".hit").first).to_be_visible()
    page.wait_for_function("() => window.__streams.some(s => s.readyState === 1)")
    page.evaluate(HIDE_OR_SHOW, True)
    assert open_streams(page) == []
    page.clock.fast_forward("23:30:00")
    page.evaluate(HIDE_OR_SHOW, False)
    banner = page.locator("#live-banner")
    expect(banner).to_contain_text("These results are more than a day old")
    assert open_streams(page) == []
    with page.expect_request(re.compile(r"/v1/search/live\?q=harbour&since=")):
        banner.get_by_role("button", name="refresh").click()
    expect(banner).to_be_hidden()
    [stream] = open_streams(page)
    assert "q=harbour&" in stream


def test_an_article_open_pauses_the_count_and_back_resumes_it(page: Page, site: Site) -> None:
    page.context.add_init_script(TRACK_STREAMS)
    with page.expect_request(re.compile(r"/v1/search/live\?q=quokka&since=")):
        page.goto(f"{site.url}?q=quokka")
    expect(page.locator("#hits")).to_contain_text("No articles match")
    page.goto(f"{site.url}?q=harbour")
    expect(page.locator(".hit").first).to_be_visible()
    page.wait_for_function("() => window.__streams.some(s => s.readyState === 1)")

    page.locator(".hit-title a").first.click()
    expect(page.locator("#reader")).to_be_visible()
    expect(page.locator("#follow-bar")).to_be_hidden()
    assert open_streams(page) == []
    # Indexed while the article is read: new for the results left behind.
    site.ingest(enriched("Harbour reopens to ships", "Ships again. " * 20, n="live-2"))
    page.locator(".back").click()
    expect(page.locator(".hit").first).to_be_visible()
    expect(page.locator("#live-banner")).to_have_text("1 new article — show", timeout=60_000)
    assert len(open_streams(page)) == 1
