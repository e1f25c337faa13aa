"""Countries and territories with their Wikidata ids, from the ``rigour`` package.

``rigour`` ships ~600 territories (countries, dependencies, sub-national
jurisdictions) with QIDs, ISO codes and names, offline. Only exact names are used
here, never its fuzzy or weak-name lookup: ``lookup_territory`` maps "Seoul" to
South Korea, "Gaza" to Palestine and "IN" to India, which is right for a
sanctions database and wrong for a news facet (a mention of Seoul is not a
mention of South Korea). Sub-national territories are left out on purpose: their
names collide with cities and people ("Washington" is a state, a city and a
president; "New York" a state and a city), and a wrong QID is worse than none.

So a place mention gets a QID when its name is, key for key, the name, full name
or "in a sentence" name of a country (or of the few non-country territories listed
in :data:`_EXTRA`); the corrections table adds the English forms rigour lacks
("US", "Britain").
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from services.entities.corrections import default_corrections
from services.entities.keys import name_key

__all__ = ["Gazetteer", "Territory", "default_gazetteer"]

# Not countries in rigour, but places news names as such; "zz" (Global), "un" (an
# organisation) and "ip" (Cyberspace) are left out.
_EXTRA: Final = frozenset(
    {"aq", "ps", "pk-km", "eu", "hk", "mo", "gb-eng", "gb-sct", "gb-wls", "gb-nir"}
)
_PARENTHESISED: Final = re.compile(r"\(.*\)")


@dataclass(frozen=True)
class Territory:
    """One territory: display name, Wikidata QID, ISO 3166 code (lower case)."""

    name: str
    qid: str
    code: str
    is_country: bool


class Gazetteer:
    """Exact-name lookup of territories (see the module docstring)."""

    def __init__(
        self,
        territories: Iterable[tuple[Territory, Iterable[str]]],
        aliases: Mapping[str, str] | None = None,
    ) -> None:
        """``aliases`` maps other forms (as name keys) to a preferred name: when that
        name or one of its forms is a territory's, the forms join the territory and
        the preferred name becomes its display name ("Turkey" over rigour's
        "Türkiye", "US" and "Britain" added)."""
        entries = list(territories)
        entries.extend(_alias_entries(entries, aliases or {}))
        by_key: dict[str, Territory] = {}
        for territory, names in entries:
            for name in names:
                key = name_key(name)
                # Two territories under one name (none in rigour 2.6.1) would make
                # the name ambiguous: keep neither.
                if key in by_key and by_key[key].qid != territory.qid:
                    by_key[key] = _AMBIGUOUS
                else:
                    by_key[key] = territory
        self._by_key: Mapping[str, Territory] = MappingProxyType(
            {k: t for k, t in by_key.items() if t is not _AMBIGUOUS and k}
        )

    def __len__(self) -> int:
        return len(self._by_key)

    def lookup(self, name: str) -> Territory | None:
        """The territory named exactly ``name`` (modulo case, accents, dots)."""
        return self._by_key.get(name_key(name))


_AMBIGUOUS: Final = Territory(name="", qid="", code="", is_country=False)


def _alias_entries(
    entries: list[tuple[Territory, Iterable[str]]], aliases: Mapping[str, str]
) -> list[tuple[Territory, list[str]]]:
    """Entries for the preferred names of ``aliases`` that designate a territory."""
    by_key = {name_key(n): t for t, names in entries for n in names}
    forms: dict[str, list[str]] = {}
    for form_key, preferred in aliases.items():
        forms.setdefault(preferred, [preferred]).append(form_key)
    out: list[tuple[Territory, list[str]]] = []
    for preferred, names in forms.items():
        found = {by_key[name_key(n)] for n in names if name_key(n) in by_key}
        if len(found) != 1:
            continue  # not a territory (a US state), or two of them: no QID
        territory = found.pop()
        renamed = Territory(preferred, territory.qid, territory.code, territory.is_country)
        # The territory's own names now display the preferred name too.
        own = [n for t, ns in entries if t == territory for n in ns]
        out.append((renamed, [*names, *own]))
    return out


def _names(name: str, full_name: str, in_sentence: str) -> list[str]:
    """The forms of a territory's name worth matching in news text."""
    names = [name, full_name, in_sentence.removeprefix("the ")]
    return [n for n in names if n and not _PARENTHESISED.search(n)]


@functools.cache
def default_gazetteer() -> Gazetteer:
    """The gazetteer built from the installed ``rigour`` and the place forms of the
    corrections table (once per process, ~0.5 s)."""
    from rigour.territories import get_territories  # heavy import, only when needed

    entries: list[tuple[Territory, list[str]]] = []
    for t in get_territories():
        if t.is_historical or not t.qid or not (t.is_country or t.code in _EXTRA):
            continue
        territory = Territory(name=t.name, qid=t.qid, code=t.code, is_country=t.is_country)
        entries.append((territory, _names(t.name, t.full_name, t.in_sentence)))
    return Gazetteer(entries, default_corrections().places)
