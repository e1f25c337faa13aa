"""Issue 14's observed cases, through the API, on the samples as `make run`
loads them (plus the supplement's French, Spanish and C++ articles).

Each test is what a person typed and what they expect to see. Expected
articles are named by their sample key (tests/search/samples.py) and their
text checked here, not copied from a previous run.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from typing import Any

import httpx
import orjson
import pytest

from shared.contracts.models import EnrichedArticleV1

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

Corpus = dict[str, EnrichedArticleV1]


async def search(api: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await api.get("/v1/search", params={"size": 50, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def keys(body: dict[str, Any], samples: Corpus) -> list[str]:
    by_id = {a.article_id: k for k, a in samples.items()}
    return [by_id[hit["id"]] for hit in body["hits"]]


def containing(samples: Corpus, pattern: str) -> set[str]:
    """Keys of the articles whose title, text or byline match `pattern`."""
    rx = re.compile(pattern, re.IGNORECASE)
    return {
        key
        for key, a in samples.items()
        if rx.search(f"{a.title or ''}\n{a.text}\n{' '.join(a.authors)}")
    }


# ----------------------------------------------------------------- folding, symbols
async def test_weizsacker_without_the_umlaut(
    samples_api: httpx.AsyncClient, samples: Corpus
) -> None:
    expected = containing(samples, "Weizsäcker")
    assert len(expected) == 1
    for q in ("Weizsacker", "Weizsäcker", "weizsacker", "WEIZSÄCKER"):
        body = await search(samples_api, q=q)
        assert set(keys(body, samples)) == expected, q
        assert body["spelling"] is None  # found as typed, no correction needed
    snippet = body["hits"][0]["snippets"][0]
    assert "<mark>Weizsäcker</mark>" in snippet


async def test_cpp_finds_cpp_only(samples_api: httpx.AsyncClient, samples: Corpus) -> None:
    body = await search(samples_api, q="C++")
    found = set(keys(body, samples))
    assert found == containing(samples, r"C\+\+") == {"en-cpp-game-engines"}
    assert not found & containing(samples, r"USB-C|Path C")


async def test_att_first(samples_api: httpx.AsyncClient, samples: Corpus) -> None:
    body = await search(samples_api, q="AT&T")
    found = keys(body, samples)
    assert found[0] in containing(samples, "AT&T")
    assert set(found) == containing(samples, "AT&T")
    inverted_t = containing(samples, 'inverted "T"')
    assert inverted_t and not inverted_t & set(found)


async def test_emoji_never_empties_a_query(samples_api: httpx.AsyncClient) -> None:
    plain = await search(samples_api, q="trump")
    assert plain["total"] >= 10
    for q in ("trump 🚀", "🚀 trump", "trump 🚀🚀 ✨", "trump —"):
        body = await search(samples_api, q=q)
        assert [h["id"] for h in body["hits"]] == [h["id"] for h in plain["hits"]], q
    alone = await search(samples_api, q="🚀")
    assert alone["total"] == plain["total"] or alone["total"] > plain["total"]


# ----------------------------------------------------------------- typos
@pytest.mark.parametrize(
    ("q", "suggestion", "pattern"),
    [
        ("macbok keyboard", "macbook keyboard", r"macbook(?s:.*)keyboard|keyboard(?s:.*)macbook"),
        ("impeachmnet", "impeachment", r"impeachment"),
    ],
)
async def test_typos_are_corrected_and_said(
    samples_api: httpx.AsyncClient, samples: Corpus, q: str, suggestion: str, pattern: str
) -> None:
    body = await search(samples_api, q=q)
    assert body["spelling"] == {"suggestion": suggestion, "applied": True, "fuzzy": False}
    assert set(keys(body, samples)) == containing(samples, pattern)
    assert body["query"]["q"] == q  # the echo is what was typed
    # Turned off, the typo finds nothing.
    strict = await search(samples_api, q=q, correct="false")
    assert strict["total"] == 0 and strict["spelling"] is None


async def test_a_misspelt_byline_is_found_by_close_words(
    samples_api: httpx.AsyncClient, samples: Corpus
) -> None:
    body = await search(samples_api, q="amy kuprinsky")
    assert body["spelling"]["fuzzy"] is True
    assert keys(body, samples) == sorted(containing(samples, "Kuperinsky"))


async def test_a_search_with_hits_is_not_corrected(samples_api: httpx.AsyncClient) -> None:
    body = await search(samples_api, q="keyboard")
    assert body["total"] > 0 and body["spelling"] is None


# ----------------------------------------------------------------- typing
async def test_the_word_being_typed_matches_as_a_prefix(
    samples_api: httpx.AsyncClient, samples: Corpus
) -> None:
    trump = containing(samples, r"\btrump\b")
    typed = await search(samples_api, q="Trum")
    assert typed["total"] >= len(trump)
    top = set(keys(typed, samples)[:10])
    assert top <= trump
    # Whole words outrank prefixes: the complete word gives the same top.
    whole = await search(samples_api, q="Trump")
    assert set(keys(whole, samples)) == trump
    # Every partial form on the way to a word shows results.
    for partial in ("Tr", "Tru", "Trum", "Donald Tr", "Donald Trum"):
        assert (await search(samples_api, q=partial))["total"] > 0, partial


# ----------------------------------------------------------------- bylines and facets
async def test_bylines_are_searchable_and_a_facet(
    samples_api: httpx.AsyncClient, samples: Corpus
) -> None:
    hers = {k for k, a in samples.items() if "Amy Kuperinsky" in a.authors}
    assert len(hers) == 1 and samples[next(iter(hers))].source == "nj.com"
    body = await search(samples_api, q="Amy Kuperinsky")
    assert set(keys(body, samples)) == hers
    assert {b["value"] for b in body["facets"]["author"]} == {"Amy Kuperinsky"}
    filtered = await search(samples_api, author="Amy Kuperinsky")
    assert set(keys(filtered, samples)) == hers
    assert (await search(samples_api, q='author:"amy kuperinsky"'))["total"] == 1


async def test_any_facet_value_can_be_found(
    samples_api: httpx.AsyncClient, samples: Corpus
) -> None:
    response = await samples_api.get("/v1/search/facets/author", params={"prefix": "kuper"})
    assert response.status_code == 200
    assert [i["value"] for i in response.json()["items"]] == ["Amy Kuperinsky"]
    # Counted under the search: nytimes.com has 2 articles about Trump.
    nyt = sum(1 for a in samples.values() if a.source == "nytimes.com" and "Trump" in a.text)
    response = await samples_api.get(
        "/v1/search/facets/source", params={"prefix": "NYT", "q": "trump"}
    )
    items = {i["value"]: i["count"] for i in response.json()["items"]}
    assert items == {"nytimes.com": nyt}
    bad = await samples_api.get("/v1/search/facets/nope", params={"prefix": "x"})
    assert bad.status_code == 422
    too_long = await samples_api.get("/v1/search/facets/author", params={"prefix": "a" * 61})
    assert too_long.status_code == 422


@pytest.mark.parametrize("prefix", ["a" * 60, "(.*)" * 15, "é" * 60, "a b " * 15, "\\" * 30, "[^"])
async def test_hostile_facet_prefixes_are_text(samples_api: httpx.AsyncClient, prefix: str) -> None:
    response = await samples_api.get(
        "/v1/search/facets/people", params={"prefix": prefix, "limit": 50}
    )
    assert response.status_code == 200, response.text
    assert response.json()["items"] == []


# ----------------------------------------------------------------- languages
@pytest.mark.parametrize(
    ("q", "key"),
    [
        ("grèves", "fr-greve-sncf"),
        ("greve", "fr-greve-sncf"),
        ("élection municipale", "fr-municipales-marseille"),
        ("l'économie", "fr-bce-taux"),
        ("inundación", "es-inundaciones-valencia"),
        ("salarios", "es-salario-minimo"),
    ],
)
async def test_french_and_spanish_are_stemmed_as_such(
    samples_api: httpx.AsyncClient, samples: Corpus, q: str, key: str
) -> None:
    body = await search(samples_api, q=q, correct="false")
    assert keys(body, samples)[0] == key


# ----------------------------------------------------------------- article, similar, sort
async def test_the_article_view_marks_the_query(
    samples_api: httpx.AsyncClient, samples: Corpus
) -> None:
    [key] = containing(samples, "Weizsäcker")
    article_id = samples[key].article_id
    body = (await samples_api.get(f"/v1/articles/{article_id}", params={"q": "Weizsacker"})).json()
    assert body["text"] == samples[key].text
    assert body["text_html"].count("<mark>Weizsäcker</mark>") == samples[key].text.count(
        "Weizsäcker"
    )
    plain = (await samples_api.get(f"/v1/articles/{article_id}")).json()
    assert plain["text_html"] is None and plain["title_html"] is None


async def test_similar_lists_close_articles_or_none(
    samples_api: httpx.AsyncClient, samples: Corpus
) -> None:
    wework = sorted(containing(samples, "WeWork"))
    assert len(wework) == 2
    items = (await samples_api.get(f"/v1/articles/{samples[wework[0]].article_id}/similar")).json()[
        "items"
    ]
    assert items[0]["id"] == samples[wework[1]].article_id
    assert all(0 < i["score"] <= 1 for i in items)
    # An article about nothing else in the corpus: none rather than unrelated ones.
    lonely = samples["en-cpp-game-engines"].article_id
    assert (await samples_api.get(f"/v1/articles/{lonely}/similar")).json()["items"] == []


async def test_oldest_first(samples_api: httpx.AsyncClient) -> None:
    body = await search(samples_api, q="trump", sort="oldest")
    dates = [datetime.fromisoformat(h["published_at"]) for h in body["hits"] if h["published_at"]]
    assert dates == sorted(dates) and len(dates) > 5


# ----------------------------------------------------------------- export
async def test_export_formats_hold_the_whole_result_set(
    samples_api: httpx.AsyncClient, samples: Corpus
) -> None:
    # Exports list every article (never grouped by story).
    body = await search(samples_api, q="trump", size=100, facets="false", group="none")
    expected = [h["id"] for h in body["hits"]]
    csv_response = await samples_api.get("/v1/search/export", params={"q": "trump"})
    assert csv_response.status_code == 200
    assert csv_response.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv_response.headers["content-disposition"]
    assert csv_response.headers["x-total-count"] == str(len(expected))
    rows = list(csv.DictReader(io.StringIO(csv_response.content.decode("utf-8-sig"))))
    assert [r["id"] for r in rows] == expected
    for row in rows:
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row.values())
    ndjson = await samples_api.get("/v1/search/export", params={"q": "trump", "format": "ndjson"})
    lines = [orjson.loads(line) for line in ndjson.content.splitlines()]
    assert [r["id"] for r in lines] == expected
    assert set(lines[0]) == {
        "id", "url", "source", "title", "authors", "published_at", "language", "entities",
        "snippet", "story_id", "duplicate_of",
    }  # fmt: skip
    as_json = await samples_api.get("/v1/search/export", params={"q": "trump", "format": "json"})
    assert [r["id"] for r in orjson.loads(as_json.content)] == expected
    corrected = await samples_api.get("/v1/search/export", params={"q": "impeachmnet"})
    assert corrected.headers["x-spelling-applied"] == "true"
    assert int(corrected.headers["x-export-rows"]) == len(containing(samples, "impeachment"))
