"""In-article name resolution: which mentions of one article name the same entity.

Pure functions over ``(name, label)`` pairs, in document order; the caller
(:func:`services.entities.normalize.normalise_mentions`) has cleaned the spans.
Every rule only ever maps a name to another name of the same article. Three
passes, in order:

* **Variants.** Mentions whose names differ only by case, or by hyphen versus space
  ("Kim Jong-un" / "Kim Jong Un": romanised Korean and Chinese given names are
  written both ways; "kyiv" / "Kyiv"), share one canonical name: the most frequent
  variant; on a tie, names prefer a capitalised variant and values (numbers, dates)
  a lower-case one. Acronyms keep their case ("US" is not "Us"). A capitalised
  "The " is dropped when the same name also appears without it.
* **Short forms.** A single-token mention resolves to the unique full PERSON name of
  the article (two tokens or more, labelled PERSON at least once) that it starts or
  ends: "Putin" -> "Vladimir Putin", "Kim" -> "Kim Jong-un". PERSON mentions may match
  the first or the last token (given name or surname, and East Asian family names come
  first); mentions the model labelled otherwise (ORG, GPE, ...) may only match the
  last token, since on news text the model often tags a lone surname ("Trump",
  "Sondland") as ORG/GPE, whereas a first-token match ("Apple" vs a mislabelled
  PERSON "Apple Watches") is usually the model's error in the other direction. A
  resolved mention takes the PERSON label. If two full names qualify the mention is
  left alone. A lone PERSON surname whose full name the model never labelled PERSON
  ("Rudolph" beside "Mason Rudolph"/ORG) resolves to it by last token, and the full
  name becomes PERSON. Other labels are never resolved by prefix or suffix, so
  "Korea" stays "Korea" even when "North Korea" appears.
* **Acronyms.** An all-capitals ORG/GPE/NORP/LOC/FAC mention ("NATO", "U.N.")
  resolves to the unique multi-word ORG/GPE/LOC/FAC/NORP name of the article whose
  initials spell it ("North Atlantic Treaty Organization").
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Final

__all__ = ["resolve_names"]

# Labels whose lone-surname mentions may be resolved to a full PERSON name (see the
# module docstring). NORP is left out: its single tokens are demonyms and parties
# ("Russian", "Democrats"), which must not become people.
_SURNAME_MISLABELS: Final = frozenset({"ORG", "GPE", "LOC", "FAC", "PRODUCT", "WORK_OF_ART"})
_ACRONYM_LABELS: Final = frozenset({"ORG", "GPE", "LOC", "FAC", "NORP"})
# Labels of values rather than names: their capitalised variants are sentence-initial.
_VALUE_LABELS: Final = frozenset(
    {"DATE", "TIME", "CARDINAL", "ORDINAL", "QUANTITY", "MONEY", "PERCENT"}
)


_HYPHENS = re.compile(r"[-\u2010-\u2013]")  # hyphen-minus, hyphens, figure and en dash
# Words skipped when reading the initials of a name: function words ("Bank of
# England" -> BE) and legal suffixes ("Apple, Inc." must not spell "AI").
_ACRONYM_STOPWORDS: Final = frozenset(
    {"of", "the", "and", "for", "de", "du", "des", "la", "&"}
    | {"inc", "corp", "co", "ltd", "llc", "plc"}
)
# Hyphenated parts count as words for initials ("United States-Ukraine" is USU).
_WORD_SPLIT = re.compile(r"[\s\-\u2010-\u2013]+")


def _variant_key(name: str) -> str:
    """Key under which spelling variants of one name collide (case, hyphen vs space).

    An acronym keeps its case: "US" is not "Us", "WHO" is not "Who".
    """
    if _acronym(name) is not None:
        return name
    return " ".join(_HYPHENS.sub(" ", name).casefold().split())


def _pick_variant(
    counts: Counter[str], first_seen: Mapping[str, int], prefer_capitals: bool
) -> str:
    """Representative of a set of variants: the most frequent, then by capitalisation.

    Frequency comes first because a sentence-initial capital is noise ("One" vs
    "one"). On a tie, names prefer the capitalised variant ("Kyiv" over "kyiv") and
    values (numbers, dates) the lower-case one; then the earliest variant wins.
    """

    def rank(name: str) -> tuple[int, bool, int]:
        capitalised = name[:1].isupper()
        return (-counts[name], capitalised != prefer_capitals, first_seen[name])

    return min(counts, key=rank)


def _initials(name: str) -> str:
    """Upper-case initials of a multi-word name, skipping function words.

    Hyphenated parts count as words, so "United States-Ukraine" spells USU, not US.
    """
    words = (w.strip(".,") for w in _WORD_SPLIT.split(name))
    kept = [w for w in words if w and w.casefold() not in _ACRONYM_STOPWORDS]
    return "".join(w[0] for w in kept if w[:1].isalpha()).upper()


def _acronym(name: str) -> str | None:
    """The letters of an all-capitals acronym ("NATO", "U.N."), else ``None``."""
    letters = name.replace(".", "")
    if 2 <= len(letters) <= 6 and letters.isalpha() and letters.isupper() and " " not in name:
        return letters
    return None


def _resolve_variants(mentions: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """First pass: drop a redundant capitalised "The" and unify spelling variants.

    Takes and returns ``(name, label)`` per mention, in the order of ``mentions``.
    """
    keys = {_variant_key(text) for text, _ in mentions}
    names: list[str] = []
    for text, _ in mentions:
        name = text
        if name.startswith("The ") and _variant_key(name[4:]) in keys:
            name = name[4:]
        names.append(name)

    counts: defaultdict[str, Counter[str]] = defaultdict(Counter)
    value_votes: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    for index, (name, (_, label)) in enumerate(zip(names, mentions, strict=True)):
        key = _variant_key(name)
        counts[key][name] += 1
        value_votes[key] += 1 if label in _VALUE_LABELS else -1
        first_seen.setdefault(name, index)
    chosen = {
        key: _pick_variant(variants, first_seen, prefer_capitals=value_votes[key] < 0)
        for key, variants in counts.items()
    }
    return [
        (chosen[_variant_key(name)], label)
        for name, (_, label) in zip(names, mentions, strict=True)
    ]


def _index_full_names(
    canonical: Sequence[tuple[str, str]], labels: frozenset[str]
) -> tuple[defaultdict[str, set[str]], defaultdict[str, set[str]]]:
    """Names of two tokens or more with one of ``labels``, by first and last token."""
    by_first: defaultdict[str, set[str]] = defaultdict(set)
    by_last: defaultdict[str, set[str]] = defaultdict(set)
    for name, label in canonical:
        tokens = name.split()
        if label in labels and len(tokens) >= 2:
            by_first[tokens[0]].add(name)
            by_last[tokens[-1]].add(name)
    return by_first, by_last


def _resolve_person_short_forms(canonical: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Second pass: expand lone given names and surnames to the article's full PERSON name.

    A lone PERSON surname whose full name the model only ever labelled otherwise
    ("Rudolph" beside "Mason Rudolph"/ORG) is resolved too, by last token, and the
    full name is relabelled PERSON: a name used alone as a person's is a person's.
    """
    by_first, by_last = _index_full_names(canonical, frozenset({"PERSON"}))
    _, other_by_last = _index_full_names(canonical, _SURNAME_MISLABELS)

    out: list[tuple[str, str]] = []
    promoted: set[str] = set()
    for name, label in canonical:
        candidates: set[str] = set()
        if " " not in name and name[:1].isupper():
            if label == "PERSON":
                candidates = by_first.get(name, set()) | by_last.get(name, set())
                if not candidates and len(other_by_last.get(name, ())) == 1:
                    candidates = set(other_by_last[name])
                    promoted |= candidates
            elif label in _SURNAME_MISLABELS:
                candidates = set(by_last.get(name, set()))
        if len(candidates) == 1:
            out.append((candidates.pop(), "PERSON"))
        else:
            out.append((name, label))
    return [(name, "PERSON" if name in promoted else label) for name, label in out]


def _resolve_acronyms(canonical: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Third pass: expand an acronym to the unique article name whose initials spell it."""
    expansions: defaultdict[str, set[str]] = defaultdict(set)
    for name, label in canonical:
        if label in _ACRONYM_LABELS and len(name.split()) >= 2:
            initials = _initials(name)
            if len(initials) >= 2:
                expansions[initials].add(name)

    out: list[tuple[str, str]] = []
    for name, label in canonical:
        letters = _acronym(name) if label in _ACRONYM_LABELS else None
        candidates = expansions.get(letters, set()) if letters else set()
        out.append((next(iter(candidates)), label) if len(candidates) == 1 else (name, label))
    return out


def resolve_names(mentions: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Canonical ``(name, label)`` of each ``(name, label)`` mention of one article."""
    canonical = _resolve_variants(mentions)
    canonical = _resolve_person_short_forms(canonical)
    return _resolve_acronyms(canonical)
