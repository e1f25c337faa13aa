"""Searching the values of one facet (``/v1/search/facets/{facet}``): any
source, person or author can be chosen, not only the top 15 the facet list
shows. Pure: a prefix in, a pattern and a body out.

The values are the facet's own terms, counted like the search page counts
them (the search's words and dates, every facet filter but this facet's),
restricted by a Lucene regular expression (a terms aggregation's
``include``) that matches a value when one of its words starts with the
prefix, whatever the case and accents: ``weiz`` finds "Richard von
Weizsäcker", ``nyt`` finds "nytimes.com". The pattern is built from escaped
characters and classes only, so nothing a caller types is read as regex
syntax, and its automaton grows linearly with the prefix (capped by the
API).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Any

from services.search.models import FACET_FIELDS, FacetName, SearchRequest
from services.search.query import all_of, facet_clauses, scored_query

MAX_PREFIX_CHARS = 60
MAX_VALUES = 50
# What may precede the start of a word inside a value.
_WORD_BREAK = "[ \\-'./_(]"


def _fold(ch: str) -> str:
    decomposed = unicodedata.normalize("NFKD", ch.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=1)
def _variants() -> dict[str, frozenset[str]]:
    """Base letter -> every Latin letter that folds to it, both cases."""
    table: dict[str, set[str]] = {}
    for code in range(0x41, 0x250):
        ch = chr(code)
        base = _fold(ch)
        if len(base) == 1 and base.isascii() and base.isalpha():
            cases = {ch, ch.lower(), ch.upper()}
            table.setdefault(base, set()).update(c for c in cases if len(c) == 1)
    return {base: frozenset(chars) for base, chars in table.items()}


def _escape(ch: str) -> str:
    return ch if ch.isalnum() else "\\" + ch


def char_class(ch: str) -> str:
    """A regex for one typed character: a letter matches its cases and
    accented forms, anything else itself (escaped)."""
    base = _fold(ch)
    if len(base) == 1 and base in _variants():
        chars = sorted(_variants()[base])
        return "[" + "".join(_escape(c) for c in chars) + "]"
    if ch.isalpha():
        cases = {c for c in (ch, ch.lower(), ch.upper()) if len(c) == 1}
        return "[" + "".join(sorted(cases)) + "]"
    return _escape(ch)


def value_pattern(prefix: str) -> str:
    """Lucene regex (anchored, like every `include`) for values with a word
    starting with `prefix` (spaces in it match spaces)."""
    words = prefix.split()
    typed = "[ ]".join("".join(char_class(ch) for ch in word) for word in words)
    return f"(.*{_WORD_BREAK})?{typed}.*"


def normalise(prefix: str) -> str:
    visible = "".join(ch for ch in prefix if ch.isprintable())
    return " ".join(visible.split())[:MAX_PREFIX_CHARS]


def build_facet_values_body(
    request: SearchRequest, facet: FacetName, prefix: str, size: int
) -> dict[str, Any]:
    """Values of `facet` among the request's results (every facet filter
    but this one), most frequent first; those matching `prefix` (all of
    them when it is empty)."""
    others = [clause for name, clause in facet_clauses(request).items() if name != facet]
    terms: dict[str, Any] = {
        "field": FACET_FIELDS[facet],
        "size": min(size, MAX_VALUES),
        "order": [{"_count": "desc"}, {"_key": "asc"}],
    }
    if prefix:
        terms["include"] = value_pattern(prefix)
    return {
        "size": 0,
        "track_total_hits": False,
        "query": scored_query(request),
        "aggs": {"values": {"filter": all_of(others), "aggs": {"top": {"terms": terms}}}},
    }
