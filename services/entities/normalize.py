"""Pure normalisation and merging of named-entity mentions.

spaCy's small English model gives raw spans: they can carry possessives
("North Korea's"), quotes and punctuation, run across line breaks of flattened web
pages, or be bare numbers. The same person is mentioned as "Vladimir Putin" once and
"Putin" afterwards, and the model sometimes labels the surname alone as ORG or GPE.
This module turns raw :class:`Mention` objects into clean :class:`NormalisedMention`
objects resolved to one canonical name per article, then merges them into
:class:`Entity` records.

Everything here is pure (no spaCy, no I/O) so it can be unit-tested in milliseconds
and reused on mentions from any source.

Decisions (each one is applied the same way to every article):

* **Line breaks.** A single newline inside a span is folded to one space (a name
  hard-wrapped over two lines is still one name). A blank line is a paragraph break:
  nothing legitimate runs across it, so the span is cut there and its first part kept
  (the part where the model started the entity).
* **Punctuation.** Leading and trailing punctuation is trimmed, except ``%``, ``#``,
  ``@`` and ``&`` (they belong to "5%", "#MeToo", "AT&T") and the final period of an
  abbreviation ("U.S.", "Jr.", "Inc."). Currency symbols are symbols, not
  punctuation, so "$5" stays intact.
* **Possessives.** A trailing "'s" or "\u2019s" is removed ("North Korea's" ->
  "North Korea"). Known limitation: names that really end in "'s" ("McDonald's")
  lose it too; every mention of them loses it the same way, so they still merge.
* **Leading "the".** Lower-case "the " is dropped ("the Kremlin" -> "Kremlin",
  "the United States" -> "United States"), because mid-sentence it is grammar, not
  part of the name; so are the French and Spanish articles the WikiNER models
  include ("la France", "l'Élysée"). Capitalised "The " is kept in the surface text, because it is
  often part of the name ("The Hague", "The New York Times"); it is dropped from the
  *canonical* name only when the same name also appears without it in the article
  (sentence-initial "The United States ..." then merges with "United States").
* **Garbage.** Mentions are dropped when, after cleaning, they are empty, a single
  character, contain no letter or digit, or are a bare number (digits and separators
  only) with any label other than DATE ("27" share counters, "0" comment counters).
* **Resolution.** Names of one entity in the article (spelling variants, a
  surname beside the full name, an acronym beside its expansion) share one
  canonical name: :mod:`services.entities.inarticle` says how.
* **Labels.** An entity's label is the most frequent label of its mentions (after
  short-form resolution relabelled surnames as PERSON). Ties go to the more specific
  label in :data:`_LABEL_PRIORITY` (PERSON first).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Final

from services.entities.inarticle import resolve_names

__all__ = [
    "GROUPS",
    "OTHER_GROUP",
    "Entity",
    "Mention",
    "NormalisedMention",
    "clean_surface",
    "group_for",
    "merge_entities",
    "normalise_mentions",
]

# spaCy (OntoNotes) label -> group used by the API and the search facets.
GROUPS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "PERSON": "people",
        "ORG": "organisations",
        "GPE": "places",
        "LOC": "places",
        "FAC": "places",
        "NORP": "groups",
        "EVENT": "events",
        "DATE": "dates",
    }
)
OTHER_GROUP: Final = "other"

# Tie-break order when two labels get the same number of votes: the more specific,
# more useful label first. PERSON leads because the model's usual confusion on names
# is PERSON -> ORG (ORG is its fallback for an unknown capitalised span).
_LABEL_PRIORITY: Final[tuple[str, ...]] = (
    "PERSON",
    "ORG",
    "GPE",
    "LOC",
    "FAC",
    "NORP",
    "EVENT",
    "PRODUCT",
    "WORK_OF_ART",
    "LAW",
    "LANGUAGE",
    "DATE",
    "TIME",
    "MONEY",
    "PERCENT",
    "QUANTITY",
    "ORDINAL",
    "CARDINAL",
)

# Punctuation kept at the edges of a span because it belongs to the entity.
_KEEP_EDGE: Final = frozenset("%#@&")
# Honorifics the model occasionally includes in PERSON spans; never part of the name.
# No "^": these are used with Pattern.match(text, pos), which anchors at pos itself
# (a "^" would only match at the real start of the string).
_HONORIFIC = re.compile(r"(?:Mr|Mrs|Ms|Mx|Dr|Prof)\.?\s+(?=\S)")
# Lower-case articles: English, and the French and Spanish ones the WikiNER
# models include in spans ("la France", "l'Élysée", "el Gobierno").
_LEADING_THE = re.compile(r"(?:(?:the|le|la|les|el|los|las)\s+|l['\u2019])(?=\S)")
_POSSESSIVE = re.compile(r"['\u2019][sS]$")
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n")
_WHITESPACE = re.compile(r"\s+")
_BARE_NUMBER = re.compile(r"^[\d\s.,]+$")


def group_for(label: str) -> str:
    """Group of a spaCy label; labels without a group of their own are "other"."""
    return GROUPS.get(label, OTHER_GROUP)


@dataclass(frozen=True)
class Mention:
    """One raw entity span as the NER model returned it.

    ``text`` is exactly ``original[start:end]`` of the text given to the pipeline.
    """

    text: str
    label: str
    start: int
    end: int


@dataclass(frozen=True)
class NormalisedMention:
    """A cleaned mention with the article-level name it resolves to.

    ``text`` equals ``original[start:end]`` with whitespace runs folded to one space;
    ``canonical`` is the name shared by all mentions of the same entity in the article.
    ``label`` is the model's label, except for short forms resolved to a PERSON name,
    which are relabelled PERSON.
    """

    text: str
    canonical: str
    label: str
    group: str
    start: int
    end: int


@dataclass(frozen=True)
class Entity:
    """All mentions of one entity in one article, merged."""

    canonical: str
    label: str
    group: str
    count: int
    surface_forms: list[str]
    offsets: list[tuple[int, int]]


def _is_edge_punct(char: str) -> bool:
    """Whether ``char`` is trimmed from the edges of a span (whitespace or punctuation)."""
    if char.isspace():
        return True
    return unicodedata.category(char).startswith("P") and char not in _KEEP_EDGE


def _keeps_final_period(text: str) -> bool:
    """Whether a final "." belongs to an abbreviation ("U.S.", "Jr.", "Inc.", "J.").

    spaCy's tokenizer splits a sentence-final period from ordinary words, so a period
    still attached to an entity is nearly always part of an abbreviation. We keep it
    when the last word has another period ("U.S.") or is a short capitalised word.
    """
    last_word = text[:-1].rsplit(maxsplit=1)[-1] if text[:-1].strip() else ""
    if not last_word:
        return False
    if "." in last_word:
        return True
    return len(last_word) <= 3 and last_word.isalpha() and last_word[0].isupper()


def clean_surface(text: str, start: int, label: str = "") -> tuple[str, int, int] | None:
    """Clean one span; return ``(folded_text, start, end)`` or ``None`` if nothing is left.

    ``text`` is the raw span and ``start`` its offset in the original document. The
    returned offsets delimit the cleaned span in that same document, so that
    ``original[start:end]`` with whitespace folded equals the returned text. ``label``
    only matters for PERSON, whose honorifics ("Mr.") are dropped.
    """
    lo, hi = 0, len(text)
    paragraph = _PARAGRAPH_BREAK.search(text)
    if paragraph is not None:
        hi = paragraph.start()
    # Trim repeatedly: removing a possessive or "the" can expose more punctuation
    # ('"North Korea's",' -> "North Korea's" -> "North Korea").
    while True:
        before = (lo, hi)
        while lo < hi and _is_edge_punct(text[lo]):
            lo += 1
        while lo < hi and _is_edge_punct(text[hi - 1]):
            if text[hi - 1] == "." and _keeps_final_period(text[lo:hi]):
                break
            hi -= 1
        possessive = _POSSESSIVE.search(text, lo, hi)
        if possessive is not None and possessive.start() > lo:
            hi = possessive.start()
        leading = _LEADING_THE.match(text, lo, hi)
        if leading is not None:
            lo = leading.end()
        if label == "PERSON":
            honorific = _HONORIFIC.match(text, lo, hi)
            if honorific is not None:
                lo = honorific.end()
        if (lo, hi) == before:
            break
    if lo >= hi:
        return None
    return _WHITESPACE.sub(" ", text[lo:hi]), start + lo, start + hi


def _is_garbage(text: str, label: str) -> bool:
    """Whether a cleaned span carries no usable entity (see the module docstring)."""
    if len(text) < 2 or not any(char.isalnum() for char in text):
        return True
    return label != "DATE" and _BARE_NUMBER.match(text) is not None


def normalise_mentions(mentions: list[Mention]) -> list[NormalisedMention]:
    """Clean, filter and resolve the mentions of one article.

    Returns the surviving mentions in document order, each with its canonical name.
    All resolution is local to the article: a name is only ever expanded to another
    name that occurs in the same list.
    """
    cleaned: list[NormalisedMention] = []
    for mention in sorted(mentions, key=lambda m: (m.start, m.end)):
        if mention.end - mention.start != len(mention.text):
            raise ValueError(f"mention offsets do not match its text: {mention!r}")
        result = clean_surface(mention.text, mention.start, mention.label)
        if result is None or _is_garbage(result[0], mention.label):
            continue
        text, start, end = result
        cleaned.append(
            NormalisedMention(text, text, mention.label, group_for(mention.label), start, end)
        )

    canonical = resolve_names([(m.text, m.label) for m in cleaned])

    resolved: list[NormalisedMention] = []
    for item, (name, label) in zip(cleaned, canonical, strict=True):
        resolved.append(replace(item, canonical=name, label=label, group=group_for(label)))
    return resolved


def _vote_label(labels: Sequence[str]) -> str:
    """Most frequent label; ties go to the label earliest in :data:`_LABEL_PRIORITY`."""
    counts = Counter(labels)

    def rank(label: str) -> tuple[int, int, str]:
        priority = (
            _LABEL_PRIORITY.index(label) if label in _LABEL_PRIORITY else len(_LABEL_PRIORITY)
        )
        return (-counts[label], priority, label)

    return min(counts, key=rank)


def merge_entities(mentions: list[NormalisedMention]) -> list[Entity]:
    """Merge mentions sharing a canonical name into entities.

    Each entity counts its mentions, lists its distinct surface forms (first seen
    first) and its offsets (in document order), and takes the majority label. Entities
    are sorted by count (descending), then canonical name, so output is deterministic.
    """
    grouped: defaultdict[str, list[NormalisedMention]] = defaultdict(list)
    for mention in sorted(mentions, key=lambda m: (m.start, m.end)):
        grouped[mention.canonical].append(mention)

    entities: list[Entity] = []
    for name, members in grouped.items():
        label = _vote_label([m.label for m in members])
        entities.append(
            Entity(
                canonical=name,
                label=label,
                group=group_for(label),
                count=len(members),
                surface_forms=list(dict.fromkeys(m.text for m in members)),
                offsets=[(m.start, m.end) for m in members],
            )
        )
    entities.sort(key=lambda e: (-e.count, e.canonical))
    return entities
