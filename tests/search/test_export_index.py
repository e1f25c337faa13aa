"""Unit tests of the export's rows and encodings, and of the index document
shape (per-language fields, upgrades of stored documents). No server."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from services.search.export import (
    COLUMNS,
    Encoder,
    ExportSlots,
    build_export_body,
    csv_safe,
    export_request,
    export_row,
)
from services.search.models import SearchRequest
from shared.contracts.index import (
    DERIVED_FIELDS,
    compatibility_patch,
    index_template,
    language_fields,
    stemmed_language,
    to_document,
    upgrade_document,
)
from shared.contracts.models import EnrichedArticleV1, EntityV1

HIT: dict[str, Any] = {
    "_id": "a" * 32,
    "_source": {
        "url": "https://example.com/x",
        "source": "example.com",
        "title": '=HYPERLINK("http://evil","click")',
        "authors": ["Ada Lovelace", "-Bob"],
        "published_at": "2019-11-20T10:00:00Z",
        "language": "en",
        "people": ["Ada Lovelace"],
        "places": ["London", "Paris"],
    },
    "highlight": {"body": ["first  passage\nwith lines"], "body_en": ["the stemmed one"]},
}


# ----------------------------------------------------------------- export
@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_csv_cells_never_start_a_formula(text: str, safe: str) -> None:
    assert csv_safe(text) == safe


def test_export_row() -> None:
    row = export_row(HIT)
    assert row["id"] == "a" * 32 and row["source"] == "example.com"
    assert row["published_at"] == "2019-11-20T10:00:00+00:00"
    assert row["entities"]["places"] == ["London", "Paris"]
    assert row["entities"]["organisations"] == []
    assert row["snippet"] == "the stemmed one"  # the article's language first
    bare = export_row({"_id": "b", "_source": {"title": 5, "published_at": "+10000-01-01"}})
    assert bare["title"] == "5" and bare["published_at"] is None and bare["snippet"] == ""


@pytest.mark.parametrize("fmt", ["csv", "json", "ndjson"])
def test_encodings_parse_back(fmt: Any) -> None:
    encoder = Encoder(fmt)
    rows = [export_row(HIT), export_row({**HIT, "_id": "b" * 32})]
    data = encoder.head() + b"".join(encoder.row(r) for r in rows) + encoder.tail()
    if fmt == "json":
        assert [r["id"] for r in orjson.loads(data)] == ["a" * 32, "b" * 32]
    elif fmt == "ndjson":
        lines = data.decode().splitlines()
        assert [orjson.loads(line)["id"] for line in lines] == ["a" * 32, "b" * 32]
    else:
        table = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
        assert list(table[0]) == list(COLUMNS)
        first = table[0]
        assert first["title"].startswith("'=HYPERLINK")
        assert first["authors"] == "Ada Lovelace; -Bob"  # the cell starts with A
        assert first["places"] == "London; Paris"


def test_an_empty_json_export_is_an_empty_array() -> None:
    encoder = Encoder("json")
    assert orjson.loads(encoder.head() + encoder.tail()) == []


def test_export_body_walks_from_the_first_hit_without_facets() -> None:
    request = export_request(SearchRequest(q="trump", page=7, size=5), 1000)
    assert (request.page, request.size, request.with_facets) == (1, 1000, False)
    body = build_export_body(request, search_after=["x"], pit_id="P")
    assert body["search_after"] == ["x"] and body["pit"]["id"] == "P"
    assert "aggs" not in body
    assert body["highlight"]["pre_tags"] == [""]  # plain text snippets
    assert "encoder" not in body["highlight"]
    assert set(body["_source"]) >= {"url", "authors", "groups", "events"}


def test_export_slots() -> None:
    slots = ExportSlots(limit=2)
    assert slots.take("a") is None
    assert "one export at a time" in (slots.take("a") or "")
    assert slots.take("b") is None
    assert "busy" in (slots.take("c") or "")
    slots.give_back("a")
    assert slots.take("c") is None
    lapsing = ExportSlots(limit=1, longest_s=0)
    assert lapsing.take("a") is None and lapsing.take("b") is None  # a's slot lapsed


# ----------------------------------------------------------------- index documents
def article(language: str | None) -> EnrichedArticleV1:
    now = datetime(2019, 11, 20, tzinfo=UTC)
    return EnrichedArticleV1(
        article_id="c" * 32,
        source="example.com",
        title="Élections",
        text="Les électeurs votent.",
        authors=["Amy Kuperinsky"],
        language=language,
        published_at=now,
        received_at=now,
        entities=[EntityV1(canonical="Marseille", label="GPE", group="places", count=1)],
        ner_model="test",
        word_count=3,
        fingerprint="f" * 16,
        input_format="text",
    )


@pytest.mark.parametrize(
    ("language", "fields"),
    [
        ("fr", {"title_fr", "body_fr"}),
        ("en", {"title_en", "body_en"}),
        ("es", {"title_es", "body_es"}),
        ("de", set()),
        (None, set()),
    ],
)
def test_per_language_fields_are_chosen_from_the_language(
    language: str | None, fields: set[str]
) -> None:
    document = to_document(article(language))
    assert set(document) & set(DERIVED_FIELDS) == fields
    for name in fields:
        assert document[name] in ("Élections", "Les électeurs votent.")
    mapped = set(index_template("x-")["template"]["mappings"]["properties"])
    assert set(document) <= mapped  # the mapping is strict


def test_stemmed_language_codes() -> None:
    assert [stemmed_language(c) for c in ("en", "FR", "es-MX", "fr_CA", "pt", "", 5, None)] == [
        "en",
        "fr",
        "es",
        "fr",
        None,
        None,
        None,
        None,
    ]
    assert language_fields("it", "t", "b") == {}


def test_upgrade_makes_any_stored_version_current() -> None:
    current = to_document(article("fr"))
    assert upgrade_document(current) == current  # idempotent
    version_1 = {k: v for k, v in current.items() if k not in DERIVED_FIELDS}
    version_1["obsolete_field"] = "x"
    upgraded = upgrade_document(version_1)
    assert upgraded == current
    # A language changed by a fix: the derived copies follow it.
    moved = upgrade_document({**current, "language": "es"})
    assert "title_fr" not in moved and moved["title_es"] == "Élections"


def test_an_older_index_gets_only_the_fields_it_lacks_with_standard_analysis() -> None:
    old = {
        "title": {"type": "text", "analyzer": "english_hunspell"},
        "body": {"type": "text"},
        "authors": {"type": "keyword"},
    }
    patch = compatibility_patch(old)
    assert "title" not in patch and "authors" not in patch
    assert patch["title_fr"] == {"type": "text"}  # no analyzer the old index lacks
    assert patch["entities"] == {"type": "object"}
    assert "published_at" in patch


class FakeService:
    """Serves a result set of `total` hits in pages, recording requests."""

    timeout = None

    def __init__(self, total: int) -> None:
        self.total = total
        self.requests: list[dict[str, Any]] = []
        self.closed: list[str] = []

    async def open_pit(self) -> str:
        return "PIT"

    async def close_pit(self, pit: str) -> None:
        self.closed.append(pit)

    async def respell(self, *args: Any) -> None:
        return None

    async def run(self, body: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(body)
        start = body["search_after"][0] + 1 if "search_after" in body else 0
        hits = [
            {"_id": f"{n:032d}", "_source": {"title": f"t{n}"}, "sort": [n]}
            for n in range(start, min(start + body["size"], self.total))
        ]
        return {"hits": {"total": {"value": self.total}, "hits": hits}, "pit_id": "PIT"}


@pytest.mark.asyncio
async def test_export_streams_page_by_page_up_to_the_cap() -> None:
    from services.search.export import ExportSettings, start_export

    service = FakeService(total=95)
    ended: list[bool] = []
    settings = ExportSettings(page_size=10, max_rows=42)
    run = await start_export(
        service,  # type: ignore[arg-type]
        SearchRequest(q="x"),
        "ndjson",
        settings,
        on_end=lambda: ended.append(True),
    )
    assert (run.total, run.rows) == (95, 42)
    chunks = aiter_(run.chunks)
    assert await anext(chunks) == b""  # ndjson has no head
    first = await anext(chunks)
    assert first.count(b"\n") == 10
    assert len(service.requests) == 1  # the next page is asked for only when needed
    rest = [chunk async for chunk in chunks]
    lines = (first + b"".join(rest)).splitlines()
    assert len(lines) == 42
    assert [orjson.loads(line)["id"] for line in lines] == [f"{n:032d}" for n in range(42)]
    assert len(service.requests) == 5  # 10 + 10 + 10 + 10 + 2 rows
    assert all(r["pit"]["id"] == "PIT" for r in service.requests)
    assert service.closed == ["PIT"] and ended == [True]


def aiter_(chunks: Any) -> Any:
    return chunks.__aiter__()
