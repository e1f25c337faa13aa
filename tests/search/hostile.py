"""What a hostile writer can leave in the index and a hostile reader can ask.

The documents below are written straight to Elasticsearch (``write_raw``), as a
buggy or compromised writer could: the index mapping is the only check they
pass, so they carry every shape the mapping accepts but the indexer would never
write (numbers where text is expected, lists where one value is, dates at the
edge of what Elasticsearch stores, a title over the highlighter's limit...).
The search must answer every query over them without a 5xx.

The small synthetic corpus (``synthetic_corpus``) is made here, from a fixed
word list, so that these tests need nothing outside the repository.
"""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import AsyncElasticsearch

from shared.contracts.index import alias_name, ensure_index
from shared.contracts.models import EnrichedArticleV1
from tests.search.corpus import make_article

HOSTILE_MARK = "zzhostile"
BIDI = "\u202e\u2066evil\u2069\u202d"
HTML = '<img src=x onerror="window.__pwned=1"><script>alert(1)</script>'

_WORDS = (
    "market",
    "election",
    "budget",
    "river",
    "storm",
    "court",
    "minister",
    "football",
    "energy",
    "climate",
    "harbour",
    "vaccine",
    "strike",
    "railway",
    "museum",
    "festival",
    "drought",
    "summit",
    "treaty",
    "bridge",
    "airline",
    "senate",
    "protest",
    "satellite",
    "wildfire",
    "orchestra",
    "bakery",
    "bicycle",
    "factory",
    "school",
    "hospital",
    "village",
    "island",
    "mountain",
    "desert",
    "ocean",
    "forest",
    "garden",
    "kitchen",
    "abacus",
    "abbey",
    "able",
    "about",
    "above",
    "accept",
    "access",
    "accord",
    "account",
    "acid",
    "across",
    "act",
)


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(8, 16))]
    return " ".join(words).capitalize() + "."


def synthetic_corpus(count: int = 40, seed: int = 11) -> list[EnrichedArticleV1]:
    """Ordinary articles: a few paragraphs each, dated over two years (every
    seventh undated), from four sources."""
    rng = random.Random(seed)
    base = datetime(2023, 3, 1, 9, 0, tzinfo=UTC)
    articles = []
    for i in range(count):
        paragraphs = [" ".join(_sentence(rng) for _ in range(5)) for _ in range(4)]
        articles.append(
            make_article(
                key=f"synthetic:{seed}:{i}",
                url=f"https://news{i % 4}.example/story/{i}",
                source=f"news{i % 4}.example",
                title=_sentence(rng)[:80],
                text="\n\n".join(paragraphs),
                published_at=None if i % 7 == 3 else base + timedelta(days=17 * i),
                language="en",
            )
        )
    return articles


def hostile_id(name: str) -> str:
    """A valid article id (32 hex digits), so the article routes reach the
    stored document."""
    return hashlib.sha256(f"hostile:{name}".encode()).hexdigest()[:32]


def _doc(name: str, **fields: Any) -> dict[str, Any]:
    article_id = name if len(name) > 32 else hostile_id(name)
    return {"article_id": article_id, **fields}


def _next_year() -> str:
    return (datetime.now(UTC) + timedelta(days=365)).isoformat()


def hostile_documents() -> dict[str, dict[str, Any]]:
    """id -> raw document, each one a shape the mapping accepts."""
    big_title = f"{HOSTILE_MARK} " + "headline " * 130_000  # ~1.2 M chars > highlight limit
    docs = [
        _doc("h-huge-title", title=big_title, body=f"{HOSTILE_MARK} short body", source="big.x"),
        _doc("h-huge-body", title=f"{HOSTILE_MARK} long", body=("market " * 400_000)),
        _doc("h-only-id"),
        _doc("h-title-number", title=12345, body=f"{HOSTILE_MARK} numeric title", source=7),
        _doc("h-title-list", title=["one", HOSTILE_MARK], source=["a.x", "b.x"], body="x"),
        _doc("h-authors-string", title=HOSTILE_MARK, authors="Solo Writer", people=[1, 2]),
        _doc("h-word-count", title=HOSTILE_MARK, word_count="12", language=42),
        _doc("h-word-count-float", title=HOSTILE_MARK, word_count=12.7),
        _doc(
            "h-date-9999",
            title=HOSTILE_MARK,
            published_at="9999-12-31T23:59:59Z",
            sort_date="9999-12-31T23:59:59Z",
            received_at="9999-12-31T23:59:59Z",
        ),
        _doc("h-date-next-year", title=HOSTILE_MARK, published_at=_next_year()),
        _doc("h-date-0001", title=HOSTILE_MARK, published_at="0001-01-01T00:00:00Z"),
        _doc("h-date-epoch-huge", title=HOSTILE_MARK, published_at=253402300800000),
        _doc("h-date-epoch-negative", title=HOSTILE_MARK, published_at=-62135596800001),
        _doc("h-date-year-only", title=HOSTILE_MARK, published_at="2024"),
        _doc("h-date-1800", title=HOSTILE_MARK, published_at="1800-02-03"),
        _doc(
            "h-bidi-html",
            title=f"{BIDI} {HTML} {HOSTILE_MARK}",
            source=f"{BIDI}{HTML}",
            authors=[BIDI, HTML],
            body=f"{HOSTILE_MARK} {HTML} {BIDI}",
            people=[HTML],
            entity_keys=[f"{HTML.lower()}\x1fpeople\x1f{HTML}"],
        ),
        _doc(
            "h-entities-odd",
            title=HOSTILE_MARK,
            entities=[{"canonical": 1}, "x", None, {"label": "ORG"}],
            entity_keys=["zz-no-separator", "zz-one\x1fseparator", "\x1f\x1f", "zz\x1f\x1f\x1f"],
        ),
        _doc("h-entities-string", title=HOSTILE_MARK, entities="not a list"),
        _doc("h-nul", title=f"{HOSTILE_MARK}\x00nul", body="\x00\x01\x1f", source="\x00"),
        _doc("x" * 300, title=HOSTILE_MARK, body="an id that is not a hash"),
    ]
    return {doc["article_id"]: doc for doc in docs}


async def write_raw(
    es: AsyncElasticsearch, namespace: str, documents: dict[str, dict[str, Any]]
) -> None:
    """Index documents as they are, bypassing the indexer's checks."""
    await ensure_index(es, namespace)
    operations: list[dict[str, Any]] = []
    for doc_id, document in documents.items():
        operations += [{"index": {"_index": alias_name(namespace), "_id": doc_id}}, document]
    response = await es.bulk(operations=operations, refresh="wait_for")
    if response["errors"]:
        failed = [i["index"] for i in response["items"] if i["index"].get("error")]
        raise AssertionError(f"the mapping refused a hostile document: {failed[:3]}")


def fuzzy_bomb(terms: int = 100) -> str:
    """The query of the report: two-letter fuzzy words OR-ed, ~500 chars."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = [letters[i % 26] + letters[(i * 7 + 1) % 26] + "~2" for i in range(terms)]
    return "|".join(words)[:499]


# Queries a careless or hostile reader sends; none may get a 5xx.
HOSTILE_QUERIES: tuple[str, ...] = (
    "",
    HOSTILE_MARK,
    fuzzy_bomb(),
    fuzzy_bomb(8),
    "*",
    "*a",
    "a*",
    "a* b* c* d* e*",
    "*" * 50,
    "~" * 50,
    "a~99",
    "ab~2",
    '"a b"~999',
    '"' * 100,
    "(" * 200,
    ")" * 200,
    "-" * 100,
    "|" * 100,
    "+" * 100,
    "\\" * 100,
    "a " * 249,
    "é" * 400,
    "\x00\x01\x1f",
    BIDI,
    HTML,
    "title:foo AND body:/.*/",
    "market~2|energy~2|climate~2|summit~2|treaty~2",
    "mark* | elec* | budg* | riv* | stor*",
)
