"""Newsflow's Elasticsearch analysis plugin (deploy/elasticsearch/plugin) on the real node.

Every component is run through `_analyze`, then the recommended `analysis` block of
deploy/elasticsearch/analysis.md is used to create an index and answer the queries of issue 14
("C++" must not find USB-C, "AT&T" not "inverted T", "Weizsacker" must find Weizsäcker...).
The plugin is installed by `stack.sh up`: when it is missing these tests fail, they never skip.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from elasticsearch import BadRequestError, Elasticsearch

from tests.conftest import ES_URL, REPO, new_namespace

pytestmark = pytest.mark.integration

PLUGIN = "newsflow-analysis"
ANALYSIS_DOC = REPO / "deploy" / "elasticsearch" / "analysis.md"


@pytest.fixture(scope="module")
def es() -> Iterator[Elasticsearch]:
    client = Elasticsearch(ES_URL, request_timeout=30)
    try:
        nodes = client.nodes.info(metric="plugins")["nodes"].values()
        installed = {plugin["name"] for node in nodes for plugin in node["plugins"]}
    except Exception as exc:  # any transport error means: no node to test against
        pytest.fail(f"Elasticsearch at {ES_URL} is unreachable ({exc}); start it with `make up`")
    if PLUGIN not in installed:
        pytest.fail(
            f"the {PLUGIN} plugin is not installed on {ES_URL} (installed: {sorted(installed)}); "
            "`make up` (deploy/local/stack.sh) builds and installs it",
            pytrace=False,
        )
    yield client
    client.close()


def analyze(es: Elasticsearch, text: str, filters: list[Any], tokenizer: Any = None) -> list[str]:
    body = es.indices.analyze(
        tokenizer=tokenizer or "newsflow_tokenizer", filter=filters, text=text
    )
    return [t["token"] for t in body["tokens"]]


def test_tokenizer_keeps_symbol_words_and_drops_emoji(es: Elasticsearch) -> None:
    text = "C++, C# (AT&T) U.S. USB-C e-mail trump 🚀 said. l’économie 1,000"
    assert analyze(es, text, []) == [
        "C++", "C#", "AT&T", "U.S.", "USB-C", "e-mail", "trump", "said", "l'économie", "1,000",
    ]  # fmt: skip


def test_tokenizer_drops_overlong_tokens(es: Elasticsearch) -> None:
    blob = "x" * 5000
    assert analyze(es, f"before {blob} after", []) == ["before", "after"]
    short = {"type": "newsflow_tokenizer", "max_token_length": 5}
    assert analyze(es, "tiny enormous", [], tokenizer=short) == ["tiny"]


def test_folding(es: Elasticsearch) -> None:
    assert analyze(es, "Weizsäcker Ölpreis straße", ["lowercase", "newsflow_folding"]) == [
        "weizsacker",
        "olpreis",
        "strasse",
    ]
    keep = {"type": "newsflow_folding", "preserve_original": True}
    assert analyze(es, "Weizsäcker", ["lowercase", keep]) == ["weizsacker", "weizsäcker"]


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("C++", {"c++"}),
        ("C#", {"c#"}),
        ("AT&T", {"at&t"}),
        ("U.S.", {"u.s.", "us", "u", "s"}),
        ("USB-C", {"usb-c", "usbc", "usb", "c"}),
        ("e-mail", {"e-mail", "email", "e", "mail"}),
        ("COVID-19", {"covid-19", "covid19", "covid", "19"}),
        ("iPhone", {"iphone"}),
    ],
)
def test_word_delimiter(es: Elasticsearch, text: str, tokens: set[str]) -> None:
    assert set(analyze(es, text, ["newsflow_word_delimiter", "lowercase"])) == tokens


def test_word_delimiter_can_split_symbols_when_asked(es: Elasticsearch) -> None:
    split_all = {"type": "newsflow_word_delimiter", "letter_chars": ""}
    assert set(analyze(es, "AT&T", [split_all, "lowercase"])) == {"at&t", "att", "at", "t"}


def test_english_possessive_and_kstem(es: Elasticsearch) -> None:
    chain = ["lowercase", "newsflow_english_possessive", "newsflow_kstem"]
    assert analyze(es, "Trump's elections voted", chain) == ["trump", "election", "vote"]
    assert analyze(es, "Trump’s", chain) == ["trump"]


def test_french_elision_and_light_stem(es: Elasticsearch) -> None:
    assert analyze(es, "l'économie L’État qu'il", ["newsflow_french_elision", "lowercase"]) == [
        "économie",
        "état",
        "il",
    ]
    stems = analyze(
        es,
        "l'économie économies",
        ["newsflow_french_elision", "lowercase", "newsflow_french_light_stem"],
    )
    assert stems[0] == stems[1]
    custom = {"type": "newsflow_french_elision", "articles": ["x"]}
    assert analyze(es, "x'a l'a", [custom]) == ["a", "l'a"]


def test_spanish_light_stem(es: Elasticsearch) -> None:
    stems = analyze(
        es, "elecciones elección", ["lowercase", "newsflow_spanish_light_stem", "newsflow_folding"]
    )
    assert stems[0] == stems[1]


def test_edge_ngrams(es: Elasticsearch) -> None:
    assert analyze(es, "Trump", ["lowercase", "newsflow_edge_ngram"]) == [
        "tr",
        "tru",
        "trum",
        "trump",
    ]
    custom = {"type": "newsflow_edge_ngram", "min_gram": 3, "max_gram": 4}
    assert analyze(es, "Trump", ["lowercase", custom]) == ["tru", "trum"]


def test_synonyms_inline(es: Elasticsearch) -> None:
    syn = {
        "type": "newsflow_synonym_graph",
        "synonyms": ["u.s., usa, united states", "nyc => new york city"],
    }
    tokens = analyze(es, "USA and NYC", ["lowercase", "newsflow_folding", syn])
    assert set(tokens) == {"usa", "u.s.", "united", "states", "and", "new", "york", "city"}
    assert "nyc" not in tokens


@pytest.mark.parametrize(
    ("component", "message"),
    [
        ({"type": "newsflow_edge_ngram", "min_gram": 5, "max_gram": 3}, "[max_gram] must be"),
        ({"type": "newsflow_edge_ngram", "max_gram": 100000}, "[max_gram] must be"),
        ({"type": "newsflow_synonym_graph", "synonyms": ["&& => x"]}, "invalid synonym rule"),
        ({"type": "newsflow_word_delimiter", "letter_chars": "x" * 40}, "[letter_chars]"),
    ],
)
def test_bad_settings_are_refused(es: Elasticsearch, component: dict, message: str) -> None:
    with pytest.raises(BadRequestError) as refused:
        analyze(es, "x", [component])
    assert message in str(refused.value.info)


def test_lenient_synonyms_skip_bad_rules(es: Elasticsearch) -> None:
    syn = {"type": "newsflow_synonym_graph", "synonyms": ["&& => x", "a, b"], "lenient": True}
    assert set(analyze(es, "a", [syn])) == {"a", "b"}


# ---------------------------------------------------------------- the recommended block


def recommended_settings() -> dict[str, Any]:
    """The JSON block that follows the marker comment in analysis.md."""
    text = ANALYSIS_DOC.read_text(encoding="utf-8")
    match = re.search(r"newsflow-analysis-settings.*?```json\n(.*?)```", text, re.S)
    assert match, f"no marked JSON block in {ANALYSIS_DOC}"
    return dict(json.loads(match.group(1)))


DOCS = {
    "cpp": "Learning C++ in 2024 is still useful",
    "usbc": "The new USB-C charger and the Path C trail",
    "att": "AT&T stock rose after the deal",
    "tee": "An inverted T shape at the top",
    "weiz": "Weizsäcker spoke in Berlin",
    "trump": "Trump's election campaign",
    "us": "the U.S. economy grew",
    "email": "Send me an e-mail",
    "usb_space": "USB C ports everywhere",
    "states": "The United States of America",
    "fr": "L'économie française et les économies d'énergie",
    "es": "Las elecciones presidenciales",
}


@pytest.fixture(scope="module")
def index(es: Elasticsearch) -> Iterator[str]:
    name = f"{new_namespace()}analysis-check"
    fields = {
        "exact": {"type": "text", "analyzer": "newsflow_exact"},
        "folded": {
            "type": "text",
            "analyzer": "newsflow_folded",
            "search_analyzer": "newsflow_folded_search",
        },
        "fr": {"type": "text", "analyzer": "newsflow_fr", "search_analyzer": "newsflow_fr_search"},
        "es": {"type": "text", "analyzer": "newsflow_es", "search_analyzer": "newsflow_es_search"},
        "prefix": {
            "type": "text",
            "analyzer": "newsflow_prefix",
            "search_analyzer": "newsflow_prefix_search",
        },
    }
    body = {
        "type": "text",
        "analyzer": "newsflow_en",
        "search_analyzer": "newsflow_en_search",
        "fields": fields,
    }
    es.indices.create(
        index=name,
        settings={"number_of_shards": 1, "number_of_replicas": 0, **recommended_settings()},
        mappings={"properties": {"body": body}},
    )
    try:
        for doc_id, text in DOCS.items():
            es.index(index=name, id=doc_id, document={"body": text})
        es.indices.refresh(index=name)
        yield name
    finally:
        es.options(ignore_status=404).indices.delete(index=name)


def hits(es: Elasticsearch, index: str, query: dict[str, Any]) -> set[str]:
    result = es.search(index=index, query=query, size=50)
    return {h["_id"] for h in result["hits"]["hits"]}


def match(field: str, text: str, **options: Any) -> dict[str, Any]:
    return {"match": {field: {"query": text, "operator": "and", **options}}}


@pytest.mark.parametrize(
    ("field", "text", "expected"),
    [
        ("body", "C++", {"cpp"}),
        ("body.folded", "C++", {"cpp"}),
        ("body", "AT&T", {"att"}),
        ("body", "Weizsacker", {"weiz"}),
        ("body.folded", "weizsacker", {"weiz"}),
        ("body", "USB-C", {"usbc", "usb_space"}),
        ("body", "U.S.", {"us"}),
        ("body", "email", {"email"}),
        ("body", "e-mail", {"email"}),
        ("body", "trump elections", {"trump"}),
        ("body", "trump 🚀", {"trump"}),
        ("body.exact", "C++", {"cpp"}),
        ("body.prefix", "Trum", {"trump"}),
        ("body.prefix", "weizsa", {"weiz"}),
        ("body.fr", "économie", {"fr"}),
        ("body.fr", "economies", {"fr"}),
        ("body.es", "eleccion", {"es"}),
    ],
)
def test_recommended_analyzers_answer_issue_queries(
    es: Elasticsearch, index: str, field: str, text: str, expected: set[str]
) -> None:
    assert hits(es, index, match(field, text)) == expected


def test_phrases_keep_positions(es: Elasticsearch, index: str) -> None:
    assert hits(es, index, {"match_phrase": {"body.exact": "AT&T stock"}}) == {"att"}
    assert hits(es, index, {"match_phrase": {"body": "AT&T stock"}}) == {"att"}
    assert hits(es, index, {"match_phrase": {"body": "USB-C charger"}}) == {"usbc"}
    assert hits(es, index, {"match_phrase": {"body": "U.S. economy"}}) == {"us"}


def test_query_time_synonyms(es: Elasticsearch, index: str) -> None:
    query = match("body.folded", "USA", analyzer="newsflow_synonyms_search")
    assert hits(es, index, query) == {"us", "states"}


def test_wildcards_are_folded(es: Elasticsearch, index: str) -> None:
    query = {"query_string": {"query": "Weizsä*", "default_field": "body.folded"}}
    assert hits(es, index, query) == {"weiz"}
