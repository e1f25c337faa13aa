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

from services.search.entityfacets import ID_FIELDS, parse_key
from services.search.models import (
    FACET_FIELDS,
    FacetBucket,
    FacetName,
    FacetValuesResponse,
    SearchRequest,
)
from services.search.query import all_of, facet_clauses, scored_query
from shared.contracts.index import ENTITY_KEY_SEP

MAX_PREFIX_CHARS = 60
MAX_VALUES = 50
EXTRA_KEYS = 10
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


def entity_key_pattern(prefix: str, group: str) -> str:
    """Lucene regex for `entity_keys` terms of `group` with an id whose name
    has a word starting with `prefix` (only the name part is searched)."""
    sep = ENTITY_KEY_SEP
    typed = "[ ]".join("".join(char_class(ch) for ch in word) for word in prefix.split())
    name = f"([^{sep}]*{_WORD_BREAK})?{typed}[^{sep}]*"
    return f"{name}{sep}{group}{sep}[^{sep}]*{sep}[^{sep}]+"


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
    if facet in ID_FIELDS:
        # Entity values are ids; a prefix searches their names, which only
        # the `entity_keys` terms hold next to the id (a few extra: one
        # entity may have a key per name it was indexed under).
        terms["field"] = ID_FIELDS[facet]
        if prefix:
            terms.update(field="entity_keys", include=entity_key_pattern(prefix, facet))
            terms["size"] += EXTRA_KEYS
    return {
        "size": 0,
        "track_total_hits": False,
        "query": scored_query(request),
        "aggs": {"values": {"filter": all_of(others), "aggs": {"top": {"terms": terms}}}},
    }


def _values(raw: dict[str, Any]) -> list[dict[str, Any]]:
    aggs = raw.get("aggregations") or {}
    return list(((aggs.get("values") or {}).get("top") or {}).get("buckets") or [])


def value_ids(raw: dict[str, Any], facet: FacetName) -> list[str]:
    """The entity ids among the values found (to be named)."""
    if facet not in ID_FIELDS:
        return []
    ids = []
    for bucket in _values(raw):
        parsed = parse_key(str(bucket["key"]))
        ids.append(parsed[2] if parsed else str(bucket["key"]))
    return [i for i in ids if i]


def _entity_counts(raw: dict[str, Any], prefix: str) -> dict[str, tuple[str, int]]:
    """id -> (indexed name, articles); keys of one id (several names) summed."""
    found: dict[str, tuple[str, int]] = {}
    for bucket in _values(raw):
        key, count = str(bucket["key"]), int(bucket["doc_count"])
        if not prefix:
            found[key] = (key, count)
            continue
        parsed = parse_key(key)
        if parsed is None or parsed[2] is None:
            continue
        name, entity_id = parsed[0], parsed[2]
        before = found.get(entity_id)
        found[entity_id] = (before[0], before[1] + count) if before else (name, count)
    return found


def facet_values_from(
    raw: dict[str, Any],
    request: SearchRequest,
    facet: FacetName,
    prefix: str,
    names: dict[str, str],
    size: int,
) -> FacetValuesResponse:
    """The answer of ``/v1/search/facets/{facet}``; entity values are ids
    with their display names (`names`, else the indexed name)."""
    chosen = set(getattr(request, facet))
    if facet not in ID_FIELDS:
        items = [
            FacetBucket(value=(v := str(b["key"])), count=b["doc_count"], selected=v in chosen)
            for b in _values(raw)
        ]
        return FacetValuesResponse(facet=facet, q=prefix, items=items)
    counts = sorted(_entity_counts(raw, prefix).items(), key=lambda item: -item[1][1])
    items = [
        FacetBucket(
            value=entity_id,
            id=entity_id,
            name=names.get(entity_id, name),
            count=count,
            selected=entity_id in chosen,
        )
        for entity_id, (name, count) in counts[:size]
    ]
    return FacetValuesResponse(facet=facet, q=prefix, items=items)
