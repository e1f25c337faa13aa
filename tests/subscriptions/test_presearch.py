"""The presearcher's requirements are never stronger than the query: a
subscription it drops for an article cannot match that article."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.subscriptions.matching import subscription_query
from services.subscriptions.models import Subscription
from services.subscriptions.presearch import (
    Presearcher,
    TextNeeds,
    document_keys,
    key,
    query_needs,
    requirements,
    text_needs,
)


def sub(sid: str = "0" * 16, **fields: object) -> Subscription:
    return Subscription(
        id=sid,
        owner="a" * 32,
        name="n",
        webhook_secret="s",
        feed_token_hash="b" * 64,
        created_at=datetime(2024, 1, 1, tzinfo=UTC),
        **fields,
    )


@pytest.mark.parametrize(
    ("q", "needs"),
    [
        ("election results", TextNeeds(all_of=("election", "results"))),
        ('"Vladimir Putin" visit', TextNeeds(all_of=("Vladimir", "Putin", "visit"))),
        ("putin -russia", TextNeeds(all_of=("putin",))),
        ('-"north korea" summit', TextNeeds(all_of=("summit",))),
        ("ukr* war", TextNeeds(all_of=("war",))),
        ("elekshun~1 results", TextNeeds(all_of=("results",))),
        ("c++ code", TextNeeds(all_of=("c", "code"))),
        ("covid-19 vaccine", TextNeeds(all_of=("covid-19", "vaccine"))),
        ("police | court", TextNeeds(any_of=("police", "court"))),
        ("police | -court", TextNeeds()),
        ("police | court*", TextNeeds()),
        ("(police court)", TextNeeds()),
        ('unbalanced "quote', TextNeeds()),
        ("escaped\\+plus", TextNeeds()),
        ("-alone", TextNeeds()),
        ("", TextNeeds()),
    ],
)
def test_text_needs_follow_simple_query_string(q: str, needs: TextNeeds) -> None:
    assert text_needs(q) == needs


def forms_of(needs: list[frozenset[tuple[str, str]]]) -> dict[tuple[str, str], frozenset[str]]:
    """Lower-cased words as every field's analysis ('results' also -> 'result')."""
    forms = {}
    for group in needs:
        for field, text in group:
            tokens = {t for t in text.lower().split() if t.isalnum()}
            forms[(field, text)] = frozenset(tokens | {t.rstrip("s") for t in tokens})
    return forms


SQS = {"fields": ["title^3", "body"], "default_operator": "and", "quote_field_suffix": ".std"}


def test_needs_of_a_simple_query_string_per_word_and_field() -> None:
    needs = query_needs({"simple_query_string": {**SQS, "query": "election -war"}})
    assert needs == [
        frozenset({(f, "election") for f in ("title", "body", "title.std", "body.std")})
    ]


def test_needs_of_bool_filters_multi_match_and_terms() -> None:
    query = {
        "bool": {
            "filter": [
                {"multi_match": {"query": "election results", "fields": ["title^2", "body"]}},
                {"range": {"published_at": {"gte": "2024-01-01"}}},
                {"terms": {"people": ["Ada Lovelace", "Alan Turing"]}},
                {"term": {"places": "Paris"}},
            ],
            "must_not": [{"term": {"source": "x"}}],
        }
    }
    assert query_needs(query) == [
        frozenset({("title", "election results"), ("body", "election results")}),
        frozenset({("people", "Ada Lovelace"), ("people", "Alan Turing")}),
        frozenset({("places", "Paris")}),
    ]


@pytest.mark.parametrize(
    "query",
    [
        {"multi_match": {"query": "x", "fields": ["title"], "fuzziness": "AUTO"}},
        {"multi_match": {"query": "x", "fields": ["title"], "type": "bool_prefix"}},
        {"multi_match": {"query": "x", "fields": ["*"]}},
        {"match": {"title": {"query": "x", "fuzziness": 1}}},
        {"wildcard": {"title": "x*"}},
        {"bool": {"should": [{"term": {"a": "1"}}], "must": [{"range": {"d": {}}}]}},
        {"bool": {"should": [{"term": {"a": "1"}}, {"wildcard": {"b": "x*"}}]}},
        {"bool": {"must_not": [{"term": {"a": "1"}}]}},
    ],
)
def test_what_could_match_without_a_known_term_requires_nothing(query: dict[str, Any]) -> None:
    assert query_needs(query) == []


def test_a_should_that_must_match_is_one_group_of_its_branches() -> None:
    query = {
        "bool": {
            "should": [
                {"bool": {"filter": [{"term": {"a": "1"}}, {"term": {"b": "2"}}]}},
                {"term": {"c": "3"}},
            ],
            "minimum_should_match": 1,
        }
    }
    assert query_needs(query) == [frozenset({("a", "1"), ("c", "3")})]


def test_requirements_drop_atoms_without_forms() -> None:
    needs = [frozenset({("title", "!!!"), ("body", "!!!")}), frozenset({("title", "election")})]
    groups = requirements(needs, forms_of(needs))
    assert groups == (frozenset({key("title", "election")}),)


def test_the_requirements_of_the_search_builders_query_hold_for_its_matches() -> None:
    """Whatever the search builder makes of a subscription, an article with
    every word in its title is a candidate (soundness on the real builder)."""
    s = sub(q="election results", people=["Ada Lovelace"], entity="place:Paris")
    needs = query_needs(subscription_query(s))
    forms = forms_of(needs)
    index = Presearcher.build({"a" * 16: requirements(needs, forms)})
    fields = {field for group in needs for field, _ in group}
    terms = {f: {"election", "result", "results", "ada lovelace", "paris"} for f in fields}
    for f in fields:
        terms[f] |= {t for (ff, _), found in forms.items() if ff == f for t in found}
    assert index.candidates(document_keys(terms)) == ["a" * 16]


def test_candidates_need_every_group() -> None:
    subs = {
        "a" * 16: (frozenset({key("title", "election")}), frozenset({key("title", "result")})),
        "b" * 16: (frozenset({key("title", "election")}), frozenset({key("source", "bbc")})),
        "c" * 16: (frozenset({key("title", "police"), key("title", "court")}),),
        "d" * 16: (),  # no requirement: always a candidate
    }
    index = Presearcher.build(subs)
    assert len(index) == 4 and index.always == {"d" * 16}
    doc = document_keys({"title": {"election", "result"}, "source": {"other"}})
    assert index.candidates(doc) == ["a" * 16, "d" * 16]
    doc = document_keys({"title": {"election", "court"}, "source": {"bbc"}})
    assert index.candidates(doc) == ["b" * 16, "c" * 16, "d" * 16]
    assert index.candidates(document_keys({})) == ["d" * 16]
    # A key is per field: the word in another field is not the key.
    assert index.candidates(document_keys({"body": {"election", "result"}})) == ["d" * 16]


def test_subscriptions_are_reindexed_and_removed_one_by_one() -> None:
    election = (frozenset({key("title", "election")}),)
    index = Presearcher.build({"a" * 16: election, "b" * 16: election, "c" * 16: ()})
    doc = document_keys({"title": {"election", "court"}})
    assert index.candidates(doc) == ["a" * 16, "b" * 16, "c" * 16]
    index.add("a" * 16, (frozenset({key("title", "court")}),))  # its query changed
    index.remove("b" * 16)
    index.add("c" * 16, election)  # it has a requirement now
    assert index.candidates(document_keys({"title": {"court"}})) == ["a" * 16]
    assert index.candidates(doc) == ["a" * 16, "c" * 16]
    index.remove("a" * 16)
    index.remove("c" * 16)
    index.remove("z" * 16)  # unknown: nothing to do
    assert len(index) == 0 and index.by_key == {} and index.always == set()
