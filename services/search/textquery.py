"""The scored part of a search: parsed terms (``syntax``) to Elasticsearch
clauses, and the query the highlighter marks. Pure.

How a word is scored. Every text is indexed three ways (shared/contracts/
index.py): as written (``.exact``), folded (accents off, word parts), and
stemmed in the article's language (``title_en`` …). A word is one
``most_fields`` clause over all of them, whose scores add up: a document
with the word as typed matches all three and outranks one that has only a
folded or stemmed form of it. Titles count about four times the body, a
byline three times (so a name finds what its person wrote).

Every word must match (AND), each in any field, so the words of one query
may sit in the title, the body and the byline. The last word also matches
as the start of a word (``Trum`` → Trump) through the edge n-gram fields:
one term lookup, whatever the corpus, scored below a whole-word match.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

from services.search.syntax import ParsedQuery, Term, parse
from shared.contracts.analysis import ANALYSIS
from shared.contracts.index import STEMMED_LANGUAGES

# A fuzzy word matches at most this many indexed words (Elasticsearch's
# default, 50, multiplied over the fields and every fuzzy word, made a query
# of 100 of them cost seconds), sharing its first letter.
FUZZY_MAX_EXPANSIONS = 10
FUZZY_PREFIX_LENGTH = 1
# The edge n-grams stop at 15 characters; a longer prefix is expanded from
# the folded field's terms instead, at most this many.
PREFIX_GRAM_MAX = 15
PREFIX_MAX_EXPANSIONS = 20


def _stemmed(field: str, boost: float) -> list[str]:
    return [f"{field}_{lang}^{boost}" for lang in STEMMED_LANGUAGES]


TITLE_FIELDS: tuple[str, ...] = ("title.exact^6", "title^4", *_stemmed("title", 3))
BODY_FIELDS: tuple[str, ...] = ("body.exact^1.5", "body^1", *_stemmed("body", 0.8))
AUTHOR_FIELDS: tuple[str, ...] = ("authors^3",)
# Where a plain word is looked for, and how much each form counts.
WORD_FIELDS: tuple[str, ...] = (*TITLE_FIELDS, *BODY_FIELDS, *AUTHOR_FIELDS)
# Quoted phrases: the words as written or folded, never stemmed.
PHRASE_FIELDS: tuple[str, ...] = (
    "title.exact^6",
    "title^4",
    "body.exact^1.5",
    "body^1",
    "authors^3",
)
FUZZY_FIELDS: tuple[str, ...] = ("title^4", "body^1", "authors^3")
PREFIX_FIELDS: tuple[str, ...] = ("title.prefix^2", "body.prefix^0.5")
# The word being typed, as a prefix: well below a whole word (whose clause
# scores on top of this one when the word is complete).
TYPING_FIELDS: tuple[str, ...] = ("title.prefix^1", "body.prefix^0.2")
# Every field a word may match in, without boosts (subscriptions analyse
# words with each of them).
MATCH_FIELDS: tuple[str, ...] = tuple(
    dict.fromkeys(f.split("^")[0] for f in (*WORD_FIELDS, *PREFIX_FIELDS))
)
# Fields the highlighter marks (those with offsets, or short): the folded
# field and the article's stemmed one.
HIGHLIGHT_TITLES: tuple[str, ...] = ("title", *(f"title_{lang}" for lang in STEMMED_LANGUAGES))
HIGHLIGHT_BODIES: tuple[str, ...] = ("body", *(f"body_{lang}" for lang in STEMMED_LANGUAGES))
HIGHLIGHT_FIELDS: tuple[str, ...] = (*HIGHLIGHT_TITLES, *HIGHLIGHT_BODIES)
# Words (or "phrases") given to the highlighter: its cost grows with their
# number for every hit of the page, and a snippet rarely shows more anyway.
MAX_HIGHLIGHT_TERMS = 8


def fold(text: str) -> str:
    """Lower-cased, accents off: how the folded fields store a word."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _synonym_words() -> frozenset[str]:
    rules = ANALYSIS["filter"]["newsflow_synonyms"]["synonyms"]
    return frozenset(fold(word.strip()) for rule in rules for word in rule.split(","))


SYNONYM_WORDS = _synonym_words()


# ----------------------------------------------------------------- one term
def _multi(text: str, fields: Sequence[str], **options: Any) -> dict[str, Any]:
    return {
        "multi_match": {
            "query": text,
            "fields": list(fields),
            "type": "most_fields",
            "operator": "and",
            **options,
        }
    }


def _word_fields(term: Term) -> tuple[str, ...]:
    return TITLE_FIELDS if term.field == "title" else WORD_FIELDS


def _phrase_fields(term: Term) -> tuple[str, ...]:
    if term.field == "title":
        return ("title.exact^6", "title^4")
    if term.field == "author":
        return AUTHOR_FIELDS
    return PHRASE_FIELDS


def source_clause(value: str) -> dict[str, Any]:
    """`source:nytimes` finds nytimes.com: the source itself, or one of its
    names followed by a dot (a keyword prefix: one pass over the few
    source names, never over text)."""
    name = value.strip().lower().removeprefix("www.")
    return {
        "bool": {
            "should": [{"term": {"source": name}}, {"prefix": {"source": f"{name}."}}],
            "minimum_should_match": 1,
        }
    }


def _prefix_clause(term: Term, fields: Sequence[str]) -> dict[str, Any]:
    if len(term.text) <= PREFIX_GRAM_MAX:
        return _multi(term.text, fields)
    # Longer than any indexed n-gram: expand from the folded fields' words.
    plain = [f.split(".")[0] for f in fields]
    return {
        "multi_match": {
            "query": term.text,
            "fields": list(dict.fromkeys(plain)),
            "type": "bool_prefix",
            "operator": "and",
            "max_expansions": PREFIX_MAX_EXPANSIONS,
        }
    }


def _word_clause(term: Term, typing: bool) -> dict[str, Any]:
    """A plain word in its forms; the word being typed also as a prefix,
    a word of the synonym list also through its synonyms."""
    fields = _word_fields(term)
    # A word that analyses to nothing must not empty the query (AND of
    # nothing); a negated one must not exclude everything.
    zero = "none" if term.negated else "all"
    clause = _multi(term.text, fields, zero_terms_query=zero)
    alternatives = [clause]
    if typing:
        typed = [f for f in TYPING_FIELDS if term.field == "all" or f.startswith("title")]
        alternatives.append(_multi(term.text, typed))
    if term.field == "all" and fold(term.text) in SYNONYM_WORDS:
        alternatives.append(
            {"match": {"body": {"query": term.text, "analyzer": "newsflow_synonyms_search"}}}
        )
    if len(alternatives) == 1:
        return clause
    return {"bool": {"should": alternatives, "minimum_should_match": 1}}


def term_clause(term: Term, *, typing: bool = False) -> dict[str, Any]:
    """The clause of one term (its negation is the caller's business)."""
    if term.field == "source":
        return source_clause(term.text)
    if term.field == "author" and term.kind != "phrase":
        return _multi(term.text, AUTHOR_FIELDS)
    if term.kind == "phrase":
        return {
            "multi_match": {
                "query": term.text,
                "fields": list(_phrase_fields(term)),
                "type": "phrase",
                "slop": term.slop,
            }
        }
    if term.kind == "prefix":
        fields = ("title.prefix^2",) if term.field == "title" else PREFIX_FIELDS
        return _prefix_clause(term, fields)
    if term.kind == "fuzzy":
        fields = ("title^4",) if term.field == "title" else FUZZY_FIELDS
        return _multi(
            term.text,
            fields,
            fuzziness=term.fuzziness,
            max_expansions=FUZZY_MAX_EXPANSIONS,
            prefix_length=FUZZY_PREFIX_LENGTH,
        )
    return _word_clause(term, typing)


# ----------------------------------------------------------------- a query
def _group_clause(group: Sequence[Term], typing_term: Term | None) -> dict[str, Any]:
    clauses = [term_clause(t, typing=t is typing_term) for t in group]
    if len(clauses) == 1:
        return clauses[0]
    return {"bool": {"should": clauses, "minimum_should_match": 1}}


def parsed_query(parsed: ParsedQuery, *, prefix_last: bool = True) -> dict[str, Any]:
    """AND of the groups (OR within one), minus the excluded terms."""
    if not parsed.groups and not parsed.excluded:
        return {"match_all": {}}
    typing_term = parsed.last_word if prefix_last else None
    must = [_group_clause(group, typing_term) for group in parsed.groups]
    must_not = [term_clause(t) for t in parsed.excluded]
    if len(must) == 1 and not must_not:
        return must[0]
    query: dict[str, Any] = {"must": must or [{"match_all": {}}]}
    if must_not:
        query["must_not"] = must_not
    return {"bool": query}


def text_query(q: str, *, prefix_last: bool = True) -> dict[str, Any]:
    """The scored part of a search for `q` (match_all without words).
    ``prefix_last``: match the last word as a prefix too (the search box
    searches as one types)."""
    return parsed_query(parse(q), prefix_last=prefix_last)


# ----------------------------------------------------------------- highlighting
def highlight_terms(parsed: ParsedQuery) -> list[Term]:
    """What the highlighter marks: the distinct words and phrases searched
    for, without their operators (a fuzzy or prefix word is marked where it
    appears as typed: an expanding word costs the highlighter an automaton
    per hit), neither excluded ones nor source or author filters; the first
    MAX_HIGHLIGHT_TERMS."""
    found: list[Term] = []
    seen: set[tuple[str, str]] = set()
    for group in parsed.groups:
        for term in group:
            if term.field in ("source", "author"):
                continue
            key = ("phrase" if term.kind == "phrase" else "word", fold(term.text))
            if key in seen:
                continue
            seen.add(key)
            found.append(term)
            if len(found) == MAX_HIGHLIGHT_TERMS:
                return found
    return found


def field_highlight_query(parsed: ParsedQuery, field: str) -> dict[str, Any]:
    """Any of the highlight terms, in one highlighted field (match_none when
    there is nothing to mark). One query per field: a query over every
    highlighted field made the highlighter rewrite all of them for each
    field of each hit, and cost more than the search itself."""
    clauses: list[dict[str, Any]] = []
    for term in highlight_terms(parsed):
        if term.kind == "phrase":
            clauses.append({"match_phrase": {field: {"query": term.text, "slop": term.slop}}})
        else:
            clauses.append({"match": {field: {"query": term.text}}})
    if not clauses:
        return {"match_none": {}}
    return clauses[0] if len(clauses) == 1 else {"bool": {"should": clauses}}
