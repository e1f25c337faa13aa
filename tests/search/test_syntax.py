"""Unit tests of what people type: the query syntax, spelling remedies and
the facet value patterns. No server."""

from __future__ import annotations

import re
from typing import Any

import pytest

from services.search.facetsearch import build_facet_values_body, value_pattern
from services.search.models import SearchRequest
from services.search.spelling import (
    MAX_SPELL_WORDS,
    auto_fuzziness,
    build_spelling_body,
    corrected,
    fuzzy_variant,
    match_case,
    render_query,
)
from services.search.syntax import ParsedQuery, Term, parse


def words(q: str) -> list[tuple[str, str, str, bool]]:
    return [(t.text, t.kind, t.field, t.negated) for t in parse(q).terms]


# ----------------------------------------------------------------- syntax
@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("trump 🚀", [("trump", "word", "all", False)]),
        ("🚀 — & … ©", []),
        ("C++ C# AT&T", [("C++", "word", "all", False), ("C#", "word", "all", False),
                         ("AT&T", "word", "all", False)]),
        ("USB-C e-mail U.S.", [("USB-C", "word", "all", False), ("e-mail", "word", "all", False),
                               ("U.S.", "word", "all", False)]),
        ('"exact phrase"~3', [("exact phrase", "phrase", "all", False)]),
        ('-"a b" -c', [("a b", "phrase", "all", True), ("c", "word", "all", True)]),
        ("pre* typo~", [("pre", "prefix", "all", False), ("typo", "fuzzy", "all", False)]),
        ('author:"Amy K" by:kuper', [("Amy K", "phrase", "author", False),
                                     ("kuper", "word", "author", False)]),
        ("source:nyt -site:x.com title:war", [("nyt", "word", "source", False),
                                              ("war", "word", "title", False),
                                              ("x.com", "word", "source", True)]),
        ("foo:bar author: x", [("foo:bar", "word", "all", False), ("author:", "word", "all", False),
                               ("x", "word", "all", False)]),
        ('unclosed "quote here', [("unclosed", "word", "all", False),
                                  ("quote", "word", "all", False), ("here", "word", "all", False)]),
        (r"escaped\* a\~2", [("escaped*", "word", "all", False), ("a~2", "word", "all", False)]),
        ("(a) +b", [("a", "word", "all", False), ("+b", "word", "all", False)]),
    ],
)  # fmt: skip
def test_parse(q: str, expected: list[tuple[str, str, str, bool]]) -> None:
    assert words(q) == expected


def test_or_binds_tighter_than_and() -> None:
    parsed = parse("x a | b | c y")
    assert [[t.text for t in g] for g in parsed.groups] == [["x"], ["a", "b", "c"], ["y"]]
    assert parse("| a |").groups == ((Term("a"),),)


def test_slop_and_fuzziness_are_bounded() -> None:
    [phrase] = parse('"a b"~999').terms
    assert phrase.slop == 10
    [fuzzy] = parse("word~7").terms
    assert fuzzy.fuzziness == 2
    [plain] = parse("word~0").terms
    assert plain.kind == "word"


def test_leading_wildcards_are_flagged() -> None:
    for q in ("*news", "*", "-*", "**", "a *b"):
        assert parse(q).leading_wildcard, q
    assert not parse("news* a~").leading_wildcard


def test_the_word_being_typed() -> None:
    last = parse("donald tru").last_word
    assert last is not None and last.text == "tru"
    for q in ('"a phrase"', "a | b", "word*", "-word", "source:x", "a~"):
        assert parse(q).last_word is None, q


def test_parse_is_linear_and_total() -> None:
    hostile = '"' * 5000 + "\\" * 5000 + "|-~*:()" * 2000
    parse(hostile)  # no error, no quadratic blow-up
    assert parse("").empty


# ----------------------------------------------------------------- spelling
def suggestion(text: str) -> dict[str, Any]:
    return {"suggest": {"spelling": [{"options": [{"text": text, "score": 0.01}]}]}}


def test_spelling_body_covers_plain_words_only() -> None:
    body = build_spelling_body(parse('Macbok "exact words" keybord -excluded source:x'))
    assert body is not None
    assert body["suggest"]["text"] == "Macbok keybord"
    phrase = body["suggest"]["spelling"]["phrase"]
    assert phrase["max_errors"] == 2
    assert all(g["suggest_mode"] == "missing" for g in phrase["direct_generator"])
    assert build_spelling_body(parse('"only a phrase"')) is None
    long = " ".join(f"w{i}" for i in range(MAX_SPELL_WORDS + 1))
    assert build_spelling_body(parse(long)) is None


def test_correction_keeps_the_query_and_its_case() -> None:
    parsed = parse('Macbok "pro max" keybord -apple')
    fixed = corrected(parsed, suggestion("macbook keyboard"))
    assert fixed is not None
    assert render_query(fixed) == 'Macbook "pro max" keyboard -apple'
    assert corrected(parsed, suggestion("macbok keybord")) is None  # nothing changed
    assert corrected(parsed, suggestion("one two three")) is None  # does not line up
    assert corrected(parsed, {}) is None
    assert match_case("NASAA", "nasa") == "NASA"


def test_fuzzy_variant_is_bounded() -> None:
    fuzzy = fuzzy_variant(parse("amy kuprinsky"), max_fuzzy=5)
    assert fuzzy is not None
    assert [(t.text, t.kind, t.fuzziness) for t in fuzzy.terms] == [
        ("amy", "word", 0),
        ("kuprinsky", "fuzzy", 2),
    ]
    assert [auto_fuzziness(w) for w in ("ab", "abcd", "plague", "abcdefgh")] == [0, 1, 1, 2]
    assert fuzzy_variant(parse("alpha bravo charlie delta echoes foxtrot"), max_fuzzy=5) is None
    assert fuzzy_variant(parse("a b"), max_fuzzy=5) is None
    # Typed expanding words count against the same cap.
    assert fuzzy_variant(parse("v* x* y* z* w* word"), max_fuzzy=5) is None


def test_render_round_trips() -> None:
    q = 'a | b "c d"~2 e* f~1 author:"G H" -source:i.com'
    assert render_query(parse(q)) == q
    assert render_query(ParsedQuery()) == ""


# ----------------------------------------------------------------- facet values
def matches(prefix: str, value: str) -> bool:
    # Lucene regexps are anchored; the constructs used read the same in Python.
    return re.fullmatch(value_pattern(prefix), value) is not None


def test_facet_values_match_word_starts_whatever_case_and_accents() -> None:
    assert matches("weiz", "Richard von Weizsäcker")
    assert matches("WEIZSÄ", "Richard von Weizsacker")
    assert matches("nyt", "nytimes.com") and matches("times", "nytimes.com") is False
    assert matches("kuper", "Amy Kuperinsky") and matches("amy k", "Amy Kuperinsky")
    assert matches("lee", "Tim Berners-Lee")
    assert not matches("rinsky", "Amy Kuperinsky")


@pytest.mark.parametrize("prefix", [".*", "a|b", "(", "[a-z]", "\\", '"', "~@#&<>", "a{1,9}"])
def test_facet_value_pattern_escapes_regex_syntax(prefix: str) -> None:
    pattern = value_pattern(prefix)
    re.compile(pattern)
    assert not matches(prefix, "Anything At All")
    assert matches(prefix, f"x {prefix}y")


def test_facet_values_body_counts_like_the_facet() -> None:
    request = SearchRequest(q="trump", source=["a.com"], author=["X"])
    body = build_facet_values_body(request, "source", "ny", 500)
    values = body["aggs"]["values"]
    # Every filter but the facet's own.
    assert values["filter"] == {"terms": {"authors.keyword": ["X"]}}
    terms = values["aggs"]["top"]["terms"]
    assert terms["field"] == "source" and terms["size"] == 50
    assert "include" in terms
    everything = build_facet_values_body(request, "source", "", 10)["aggs"]["values"]["aggs"]
    assert "include" not in everything["top"]["terms"]
