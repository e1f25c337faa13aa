"""The corrections table (``data/corrections.yaml``), loaded and checked once.

The file is data so that a person fixing a frequent confusion ("Twitter" taken for a
person, "AP" apart from "Associated Press") edits a list, not the rules. This module
parses it into lookup tables keyed by :func:`services.entities.keys.name_key`,
refusing a malformed file loudly (a typo must fail the unit tests, not silently
drop a correction), and applies it to an article's normalised mentions
(:func:`apply_corrections`); the resolver uses its name forms across articles.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import yaml

from services.entities.keys import name_key
from services.entities.normalize import NormalisedMention, group_for

__all__ = [
    "DATA_FILE",
    "FACETS",
    "TYPES",
    "Corrections",
    "apply_corrections",
    "default_corrections",
    "load_corrections",
]

DATA_FILE: Final = Path(__file__).resolve().parent / "data" / "corrections.yaml"
FACETS: Final = frozenset({"people", "organisations", "places"})
# Groups the table may assign: the facets, and two that keep a name out of them.
TYPES: Final = FACETS | {"events", "other"}
_SECTIONS: Final = frozenset(
    {
        "types",
        "head_words",
        "not_people",
        "drop",
        "aliases",
        "places",
        "state_abbreviations",
        "products",
    }
)


@dataclass(frozen=True)
class Corrections:
    """Lookup tables of the corrections file; every key is a ``name_key``."""

    types: Mapping[str, str]  # name -> group it always belongs to
    head_words: Mapping[str, str]  # casefolded head word -> group
    not_people: frozenset[str]
    drop: frozenset[str]
    aliases: Mapping[str, str]  # other form -> canonical name (any type)
    places: Mapping[str, str]  # other form -> canonical place name
    state_abbreviations: Mapping[str, str]  # "ct" -> "Connecticut" (after "Town, ")
    # All product patterns as one alternation: one scan of the text instead of
    # one per pattern (25 scans cost ~8% of the step on long pages).
    products: re.Pattern[str] | None

    def rename(self, name: str) -> str:
        """Canonical form of ``name`` if the table knows one, else ``name``."""
        key = name_key(name)
        return self.places.get(key) or self.aliases.get(key) or name

    def fixed_type(self, name: str) -> str | None:
        """The facet group ``name`` always belongs to, if the table says so."""
        key = name_key(name)
        if key in self.types:
            return self.types[key]
        if key in self._place_names:
            return "places"
        return None

    def head_type(self, name: str) -> str | None:
        """The group the name's head word implies ("... Productions": organisations).

        The head is the last word, or the last word before "of" ("Department of
        Social Services", "University of Colorado"); one-word names have none.
        """
        words = name.split()
        if len(words) < 2:
            return None
        if "of" in words[1:]:
            words = words[: words.index("of", 1)]
        return self.head_words.get(words[-1].casefold())

    def knows(self, name: str) -> bool:
        """Whether ``name`` is a form or a canonical name of the aliases tables."""
        return name_key(name) in self._known_names

    @functools.cached_property
    def _known_names(self) -> frozenset[str]:
        tables = (self.aliases, self.places)
        canonical = {name_key(name) for table in tables for name in table.values()}
        return frozenset(canonical | {key for table in tables for key in table})

    @functools.cached_property
    def _place_names(self) -> frozenset[str]:
        return frozenset(name_key(name) for name in self.places.values())


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"{where}: expected a list of non-empty strings, got {value!r}")
    return value


def _forms(section: Any, where: str) -> dict[str, str]:
    """``{canonical: [forms]}`` -> ``{key(form): canonical}``, each form once."""
    if not isinstance(section, dict):
        raise ValueError(f"{where}: expected a mapping of name -> list of forms")
    table: dict[str, str] = {}
    for canonical, forms in section.items():
        for form in _strings(forms, f"{where}.{canonical}"):
            key = name_key(form)
            if table.get(key, canonical) != canonical:
                raise ValueError(f"{where}: {form!r} given for {table[key]!r} and {canonical!r}")
            table[key] = str(canonical)
    return table


def _types(section: Any, where: str, key: Callable[[str], str]) -> dict[str, str]:
    if not isinstance(section, dict) or not set(section) <= TYPES:
        raise ValueError(f"{where}: expected keys among {sorted(TYPES)}, got {section!r}")
    table: dict[str, str] = {}
    for group, names in section.items():
        for name in _strings(names, f"{where}.{group}"):
            table[key(name)] = group
    return table


def parse_corrections(raw: Any) -> Corrections:
    """Check and index the parsed YAML document."""
    if not isinstance(raw, dict):
        raise ValueError("corrections: expected a mapping at the top level")
    unknown = set(raw) - _SECTIONS
    if unknown:
        raise ValueError(f"corrections: unknown sections {sorted(unknown)}")
    patterns = _strings(raw.get("products", []), "products")
    try:
        for pattern in patterns:
            re.compile(pattern)  # each one alone, so an error names the culprit
        products = re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None
    except re.error as exc:
        raise ValueError(f"products: bad pattern: {exc}") from exc
    return Corrections(
        types=MappingProxyType(_types(raw.get("types", {}), "types", name_key)),
        head_words=MappingProxyType(_types(raw.get("head_words", {}), "head_words", str.casefold)),
        not_people=frozenset(map(name_key, _strings(raw.get("not_people", []), "not_people"))),
        drop=frozenset(map(name_key, _strings(raw.get("drop", []), "drop"))),
        aliases=MappingProxyType(_forms(raw.get("aliases", {}), "aliases")),
        places=MappingProxyType(_forms(raw.get("places", {}), "places")),
        state_abbreviations=MappingProxyType(
            _forms(raw.get("state_abbreviations", {}), "state_abbreviations")
        ),
        products=products,
    )


def load_corrections(path: Path = DATA_FILE) -> Corrections:
    """Read and check a corrections file (``yaml.safe_load``: data, never code)."""
    return parse_corrections(yaml.safe_load(path.read_text(encoding="utf-8")))


@functools.cache
def default_corrections() -> Corrections:
    """The shipped table, read once per process."""
    return load_corrections()


# ------------------------------------------------------------------ applying it
# Labels whose names may be a family plural: "the Bidens", "the Obamas".
_FAMILY_LABELS: Final = frozenset({"GPE", "LOC", "ORG", "NORP", "PERSON"})
# Labels of names, the only ones the table judges.
_NAME_LABELS: Final = frozenset({"PERSON", "ORG", "GPE", "LOC", "FAC", "NORP"})
# Label standing for each facet group when the corrections table fixes the type.
_LABEL_OF_GROUP: Final = {
    "people": "PERSON",
    "organisations": "ORG",
    "places": "GPE",
    "events": "EVENT",
    "other": "PRODUCT",
}


def _state_after_town(
    text: str, mention: NormalisedMention, corrections: Corrections
) -> str | None:
    """The state an abbreviation stands for in "Uncasville, CT" / "Hayward, Calif."."""
    state = corrections.state_abbreviations.get(name_key(mention.text))
    if state is None or not text[: mention.start].endswith(", "):
        return None
    before = text[max(0, mention.start - 40) : mention.start - 2].split()
    return state if before and before[-1][:1].isupper() else None


def _family_surnames(mentions: Sequence[NormalisedMention]) -> frozenset[str]:
    """Plural forms of the article's people's surnames ("Biden" -> "bidens")."""
    return frozenset(
        name_key(m.canonical.split()[-1]) + "s"
        for m in mentions
        if m.label == "PERSON" and len(m.canonical.split()) >= 2
    )


def _corrected(
    mention: NormalisedMention, families: frozenset[str], corrections: Corrections
) -> NormalisedMention | None:
    key = name_key(mention.canonical)
    if key in corrections.drop:
        return None
    fixed = corrections.fixed_type(mention.canonical) or corrections.head_type(mention.canonical)
    if mention.label == "PERSON" and key in corrections.not_people and fixed is None:
        return None
    if mention.label in _FAMILY_LABELS and key in families:
        return None
    if fixed is not None and group_for(mention.label) != fixed:
        label = _LABEL_OF_GROUP[fixed]
        return replace(mention, label=label, group=group_for(label))
    return mention


def apply_corrections(
    text: str, mentions: Sequence[NormalisedMention], corrections: Corrections
) -> list[NormalisedMention]:
    """Apply the table to one article's normalised mentions, on canonical names.

    In order: a US state abbreviation right after "Town, " becomes the state; the
    drop list removes; never-people labelled PERSON go (unless the table types
    them); a family plural of a surname of the article ("the Bidens" beside "Joe
    Biden") goes; a fixed type or a head word relabels ("Twitter" -> ORG,
    "Dick Clark Productions" -> ORG, "American Music Awards" -> EVENT).
    """
    families = _family_surnames(mentions)
    out: list[NormalisedMention] = []
    for mention in mentions:
        if mention.label not in _NAME_LABELS:
            out.append(mention)
            continue
        state = _state_after_town(text, mention, corrections)
        if state is not None:
            out.append(replace(mention, canonical=state, label="GPE", group="places"))
            continue
        corrected = _corrected(mention, families, corrections)
        if corrected is not None:
            out.append(corrected)
    return out
