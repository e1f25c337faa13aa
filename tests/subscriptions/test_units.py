"""Pure pieces of subscriptions: limits and hostile input, signatures,
backoff, the Atom feed, the live-count rules."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser
import pytest
from pydantic import ValidationError

from services.subscriptions.delivery import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    backoff_s,
    signature,
    signed_headers,
    verify_signature,
)
from services.subscriptions.feed import atom_feed, xml_text
from services.subscriptions.live import LiveLimits, count_query, since_problem
from services.subscriptions.matching import forms_by_text, restricted, subscription_query
from services.subscriptions.models import SubscriptionIn, limit_problems, parse_entity
from services.subscriptions.settings import SubscriptionsSettings
from services.subscriptions.store import owner_of

SETTINGS = SubscriptionsSettings(api_keys="k1,k2", max_per_key=3, max_filter_values=3)


def problems(**body: Any) -> list[tuple[str, str]]:
    fields = SubscriptionIn.model_validate({"name": "n", **body})
    url = str(fields.webhook_url) if fields.webhook_url else None
    return limit_problems(fields, fields.name, url, SETTINGS)


def test_settings_split_keys_and_fall_back_to_the_ingestion_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert [k.get_secret_value() for k in SETTINGS.api_keys] == ["k1", "k2"]
    monkeypatch.setenv("NEWSFLOW_INGESTION_API_KEYS", "a, b")
    assert [k.get_secret_value() for k in SubscriptionsSettings().api_keys] == ["a", "b"]


def test_a_plain_subscription_passes() -> None:
    assert problems(q="election results", people=["Ada Lovelace"]) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"q": "x" * 501}, "q"),
        ({"q": "a* b* c*"}, "q"),  # expanding words cost on every article
        ({"q": "*wild"}, "q"),
        ({"q": ""}, "q"),  # follows everything
        ({"q": "a", "people": ["p1", "p2"], "places": ["x", "y"]}, "filters"),
        ({"q": "a", "name": "   "}, "name"),
        ({"q": "a", "name": "n" * 201}, "name"),
        ({"q": "a", "webhook_url": "http://127.0.0.1:9200/"}, "webhook_url"),
        ({"q": "a", "webhook_url": "http://[::ffff:10.0.0.1]/hook"}, "webhook_url"),
        ({"q": "a", "webhook_url": "http://0x7f.1/hook"}, "webhook_url"),
        ({"q": "a", "webhook_url": "http://localhost:8080/hook"}, "webhook_url"),
        ({"q": "a", "webhook_url": "https://user:pw@example.org/hook"}, "webhook_url"),
    ],
)
def test_limits_and_hostile_input_are_refused(body: dict[str, Any], field: str) -> None:
    assert field in [f for f, _ in problems(**body)]


@pytest.mark.parametrize(
    "body",
    [
        {"q": "a", "webhook_url": "ftp://example.org/x"},
        {"q": "a", "from": "9999-12-31"},
        {"q": "a", "entity": "planet:Mars"},
        {"q": "a", "unknown": 1},
        {"q": "a", "people": "not a list"},
    ],
)
def test_invalid_bodies_are_refused_by_the_model(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SubscriptionIn.model_validate({"name": "n", **body})


def test_entities_name_a_facet_field() -> None:
    assert parse_entity("person: Ada  Lovelace") == ("people", "Ada Lovelace")
    assert parse_entity("Organization:UN") == ("organisations", "UN")
    body = SubscriptionIn.model_validate({"name": "n", "entity": "place:Paris"})
    assert body.entity == "places:Paris" and problems(entity="place:Paris") == []


@pytest.mark.parametrize("entity_id", ["Q7259", "ent_0123456789abcdef"])
def test_an_entity_id_filters_on_entity_ids(entity_id: str) -> None:
    """What the entity pages' Follow button saves: the entity's id."""
    assert parse_entity(f" {entity_id} ") == ("entity_ids", entity_id)
    body = SubscriptionIn.model_validate({"name": "n", "entity": entity_id})
    assert body.entity == entity_id and problems(entity=entity_id) == []
    assert subscription_query(body)["bool"]["filter"][-1] == {"term": {"entity_ids": entity_id}}


@pytest.mark.parametrize(
    "entity",
    ["Q", "q42", "Q42x", "ent_0123", "ent_0123456789ABCDEF", "42", "Q" + "7" * 24, "Q" + "9" * 300],
)
def test_what_is_not_an_entity_id_is_refused(entity: str) -> None:
    with pytest.raises(ValidationError):
        SubscriptionIn.model_validate({"name": "n", "entity": entity})


def test_the_saved_query_is_the_search_builder_s() -> None:
    from services.search.query import matching_query

    fields = SubscriptionIn.model_validate(
        {"name": "n", "q": "  election   results ", "source": ["b", "a", "a"], "to": "2024-01-31"}
    )
    request = fields.search_request()
    assert request.q == "election results" and request.source == ("a", "b")
    assert subscription_query(fields) == matching_query(request, prefix_last=False)
    # No prefix matching of the last word: a saved search is not being typed.
    assert "prefix" not in str(subscription_query(fields))
    followed = SubscriptionIn.model_validate({"name": "n", "entity": "person:Ada Lovelace"})
    assert subscription_query(followed)["bool"]["filter"][-1] == {
        "term": {"people": "Ada Lovelace"}
    }
    body = restricted(subscription_query(fields), ["x"])
    assert body["query"]["bool"]["filter"][0] == {"ids": {"values": ["x"]}}


def test_analysed_forms_are_split_back_by_offsets() -> None:
    texts = ["Running elections", "the", "covid-19", "😀x"]
    tokens = [
        {"token": "running", "start_offset": 0},
        {"token": "election", "start_offset": 8},
        {"token": "covid", "start_offset": 22},
        {"token": "19", "start_offset": 28},
        {"token": "x", "start_offset": 33},  # after a surrogate pair (2 UTF-16 units)
    ]
    assert forms_by_text(texts, tokens) == [{"running", "election"}, set(), {"covid", "19"}, {"x"}]


def test_owners_are_hashes_never_keys() -> None:
    assert owner_of("k1") != owner_of("k2") and "k1" not in owner_of("k1")
    assert len(owner_of("k1")) == 32


# ---------------------------------------------------------------- webhooks
def test_signature_round_trip_and_refusals() -> None:
    body = b'{"a": 1}'
    headers = signed_headers("whsec_x", body, "sub:art", 1, now=1_700_000_000)
    ts, sig = headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER]
    assert headers[DELIVERY_HEADER] == "sub:art" and sig == signature("whsec_x", int(ts), body)
    assert verify_signature("whsec_x", body, ts, sig, now=1_700_000_100)
    assert not verify_signature("whsec_y", body, ts, sig, now=1_700_000_100)
    assert not verify_signature("whsec_x", body + b" ", ts, sig, now=1_700_000_100)
    assert not verify_signature("whsec_x", body, ts, sig, now=1_700_001_000)  # too old
    assert not verify_signature("whsec_x", body, "x", sig)
    assert not verify_signature("whsec_x", body, ts, None)


def test_backoff_doubles_to_its_cap_with_jitter() -> None:
    rng = random.Random(1)
    delays = [backoff_s(n, 2.0, 30.0, rng) for n in range(1, 8)]
    for n, delay in enumerate(delays, start=1):
        base = min(30.0, 2.0 * 2 ** (n - 1))
        assert 0.8 * base <= delay <= 1.2 * base


# ---------------------------------------------------------------- feed
def test_the_feed_is_valid_atom_with_hostile_text_escaped() -> None:
    hostile = 'Breaking <script>alert(1)</script> & "quotes" \x00\x0b\u202e bidi'
    items: list[dict[str, Any]] = [
        {
            "article_id": "0" * 32,
            "title": hostile,
            "url": "https://example.org/a?x=1&y=2",
            "source": "evil <source>",
            "published_at": "2024-03-01T10:00:00+00:00",
            "matched_at": "2024-03-02T10:00:00+00:00",
        },
        {"article_id": "1" * 32, "title": None, "url": "javascript:alert(1)", "source": "s"},
    ]
    xml = atom_feed(
        subscription_id="a" * 16,
        name="My <follow>",
        items=items,
        base_url="http://127.0.0.1:8000/",
        updated=datetime(2024, 1, 1, tzinfo=UTC),
    )
    parsed = feedparser.parse(xml)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.feed.title == "Newsflow: My <follow>"
    first, second = parsed.entries
    assert first.title == 'Breaking <script>alert(1)</script> & "quotes"  bidi'
    assert first.link == "https://example.org/a?x=1&y=2"
    assert first.id == f"urn:newsflow:article:{'0' * 32}"
    assert all("javascript" not in link.href for link in second.links)
    assert b"<script>" not in xml and b"\x00" not in xml


def test_xml_text_drops_what_xml_cannot_hold() -> None:
    assert xml_text("a\x00b\x1fc\ufffed") == "abcd"
    assert len(xml_text("x" * 5000)) == 1000


# ---------------------------------------------------------------- live
def test_live_limits_per_client_and_in_total() -> None:
    limits = LiveLimits(per_client=2, total=3)
    assert limits.acquire("a") and limits.acquire("a") and not limits.acquire("a")
    assert limits.acquire("b") and not limits.acquire("c")
    limits.release("a")
    assert limits.acquire("c")


def test_since_must_be_recent() -> None:
    now = datetime(2024, 5, 1, tzinfo=UTC)
    assert since_problem(now - timedelta(hours=1), now, 86_400) is None
    assert since_problem(now - timedelta(days=2), now, 86_400) is not None
    assert since_problem(now + timedelta(hours=1), now, 86_400) is not None
    query = count_query({"match_all": {}}, now)
    assert query["bool"]["filter"][1]["range"]["indexed_at"]["gt"].startswith("2024-05-01")
