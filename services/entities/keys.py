"""Keys under which names of one entity collide, across articles and sources.

Pure string functions, shared by the corrections table and the resolver so a
name is looked up the same way everywhere.

* :func:`name_key`: what spelling does not change. Case, accents, dots, apostrophes
  and hyphens are ignored: "U.S." = "US", "Kim Jong-un" = "Kim Jong Un",
  "Beto O'Rourke" = "Beto ORourke", "Zelenskyy" stays apart from "Zelensky".
* :func:`loose_key`: also what transliteration changes, for people only. Doubled
  letters collapse and the endings -iy/-yy/-yi/-ij/-ii/-i after "sk"/"ck" become -y,
  so "Zelensky", "Zelenskiy", "Zelenskyy" and "Zelenskyi" share a key. Nothing
  broader (no phonetic codes): those merge different people. Used on whole names
  (first and last name must both agree) and on lone surnames.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Final

__all__ = ["first_last_key", "loose_key", "name_key", "surname_key"]

_DROPPED: Final = re.compile(r"[.'\u2019`\u00b4]")
_SEPARATORS: Final = re.compile(r"[\s\-\u2010-\u2015_/]+")
_DOUBLED: Final = re.compile(r"(\w)\1+")
# Slavic adjectival surname endings in their English transliterations.
_SLAVIC_ENDING: Final = re.compile(r"(?<=[sc]k)(?:iy|yy|yi|ij|ii|i)\b")


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


# Names repeat across mentions and articles; the caches keep key building off the
# profile (34k calls per 126 articles before). Bounded, so memory stays flat.
@functools.lru_cache(maxsize=65_536)
def name_key(name: str) -> str:
    """Case-, accent- and punctuation-insensitive key of a name."""
    text = _DROPPED.sub("", _strip_accents(name)).casefold()
    return " ".join(_SEPARATORS.split(text)).strip()


@functools.lru_cache(maxsize=65_536)
def loose_key(name: str) -> str:
    """:func:`name_key` that also ignores transliteration variants (people only)."""
    key = _SLAVIC_ENDING.sub("y", name_key(name))
    return _DOUBLED.sub(r"\1", key)


def surname_key(name: str) -> str:
    """Loose key of the last word of a person's name ("Volodymyr Zelenskiy" -> "zelensky")."""
    words = name.split()
    return loose_key(words[-1]) if words else ""


def first_last_key(name: str) -> str | None:
    """Loose key of first and last word of a name of three words or more.

    "Owen John Dempsey" -> "owen dempsey", so a middle name present in one article
    and absent in another does not split the person. ``None`` for shorter names
    (their loose key already is their first and last word).
    """
    words = name.split()  # "Kim Jong-un" is two words here, "Kim Jong Un" three
    if len(words) < 3:
        return None
    return f"{loose_key(words[0])} {loose_key(words[-1])}"
