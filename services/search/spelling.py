"""Typos: what to search when the words as typed match nothing. Pure.

Two remedies, tried in this order by the service, only for a search that
found nothing (a query with hits is left alone, and so is its cost):

1. **A correction** ("Did you mean …"): Elasticsearch's phrase suggester
   (core, no module needed) proposes, for words no article contains, close
   words that do, and picks the likeliest combination of them using word
   frequencies in the bodies. ``macbok keyboard`` → ``macbook keyboard``.
   The search then answers for the correction, and says so.
2. **Fuzzy words**: with no correction, or one that finds nothing either,
   each plain word may differ by a typo or two (one from 4 letters, two
   from 8), as a person reading would allow. Bounded like ``word~`` (the
   same expansion cap), and only for short queries.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from services.search.syntax import ParsedQuery, Term, render

# Spelling work is per word: longer queries are not corrected (a query of
# 60 words that matches nothing is not a typo).
MAX_SPELL_WORDS = 10
SUGGEST_FIELD = "body.exact"
SUGGEST_GENERATORS = ("body.exact", "title.exact")


def spelling_words(parsed: ParsedQuery) -> list[Term]:
    """The plain words that may be corrected, in query order."""
    return [
        t
        for group in parsed.groups
        for t in group
        if t.kind == "word" and t.field in ("all", "title")
    ]


def build_spelling_body(parsed: ParsedQuery) -> dict[str, Any] | None:
    """A suggest-only request for the plain words, or None (no word, or too
    many). Only words no article contains get candidates
    (``suggest_mode: missing``), at most two edits away, sharing the first
    letter; at most two words of the query are changed."""
    words = spelling_words(parsed)
    if not words or len(words) > MAX_SPELL_WORDS:
        return None
    generators = [
        {
            "field": field,
            "suggest_mode": "missing",
            "max_edits": 2,
            "prefix_length": 1,
            "min_word_length": 3,
        }
        for field in SUGGEST_GENERATORS
    ]
    return {
        "size": 0,
        "track_total_hits": False,
        "suggest": {
            "text": " ".join(t.text for t in words),
            "spelling": {
                "phrase": {
                    "field": SUGGEST_FIELD,
                    "analyzer": "newsflow_exact",
                    "size": 1,
                    "max_errors": 2,
                    "direct_generator": generators,
                }
            },
        },
    }


def match_case(typed: str, word: str) -> str:
    """The suggested word (lower-cased by the analysis) in the typed word's
    case: "Macbok" → "Macbook", "NASAA" → "NASA"."""
    if typed.isupper() and len(typed) > 1:
        return word.upper()
    if typed[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def corrected(parsed: ParsedQuery, response: dict[str, Any]) -> ParsedQuery | None:
    """The query with the suggested words in place of the typed ones, or
    None (no suggestion, or one that does not line up word for word)."""
    entries = (response.get("suggest") or {}).get("spelling") or []
    options = entries[0].get("options") if entries else None
    if not options:
        return None
    suggested = str(options[0].get("text", "")).split()
    words = spelling_words(parsed)
    if len(suggested) != len(words):
        return None
    changes = {
        id(term): match_case(term.text, new)
        for term, new in zip(words, suggested, strict=True)
        if new != term.text.lower()
    }
    if not changes:
        return None
    groups = tuple(
        tuple(replace(t, text=changes[id(t)]) if id(t) in changes else t for t in group)
        for group in parsed.groups
    )
    return replace(parsed, groups=groups)


def auto_fuzziness(word: str) -> int:
    """Typos a word of this length may carry: one from 4 letters, two from
    8 (Elasticsearch's AUTO:4,8). Most typos are one edit (a swap of two
    letters counts one); allowing two in a six-letter word finds other
    words ("plague" ~ "place")."""
    return 0 if len(word) < 4 else 1 if len(word) < 8 else 2


def fuzzy_variant(parsed: ParsedQuery, max_fuzzy: int) -> ParsedQuery | None:
    """Every plain word of 4 letters or more as a fuzzy word, or None when
    none would change or more than `max_fuzzy` would (each one costs an
    expansion, like a typed `word~`)."""
    words = [t for t in spelling_words(parsed) if auto_fuzziness(t.text)]
    already = sum(1 for t in parsed.terms if t.kind in ("fuzzy", "prefix"))
    if not words or len(words) + already > max_fuzzy:
        return None
    chosen = {id(t) for t in words}
    groups = tuple(
        tuple(
            replace(t, kind="fuzzy", fuzziness=auto_fuzziness(t.text)) if id(t) in chosen else t
            for t in group
        )
        for group in parsed.groups
    )
    return replace(parsed, groups=groups)


def render_query(parsed: ParsedQuery) -> str:
    """A parsed query written back in the search syntax."""
    parts = [" | ".join(render(t) for t in group) for group in parsed.groups]
    parts += [render(t) for t in parsed.excluded]
    return " ".join(parts)
