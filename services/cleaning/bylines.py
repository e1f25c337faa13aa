"""Author names from bylines ("By Jane Doe and John Roe | Updated ...")."""

# Word lists read best as one string (SIM905 would spell them out).
# ruff: noqa: SIM905

from __future__ import annotations

import re

from services.cleaning.dates import MONTHS

# Bylines: "By Jane Doe | Updated ...", "Posted by John Roe on May 5", "Par Marie Dupont".
_BYLINE_RE = re.compile(
    r"^(?:by|par|von|di|por|door|від|от|written\s+by|posted\s+by)\s+"
    r"(?P<names>[^\d|•·,;]{3,80}?)(?:\s*[|•·,;]|\s+(?:updated|published|on|and\s+\d)\b|\s+\d|$)",
    re.IGNORECASE,
)
BYLINE_MAX_WORDS = 15


# Lower-case words that belong inside names ("Ludwig van Beethoven", "Ana de Souza").
_NAME_PARTICLES = frozenset("van von de der den da di du del della la le bin al el dos das".split())


def _name_of(raw: str) -> str | None:
    """A person's name from the start of a byline fragment, or ``None``.

    Stops at the first word that cannot be part of a name: "Regan September 15"
    gives "Regan", "Moritz Bachmann publiziert am" gives "Moritz Bachmann".
    """
    words: list[str] = []
    for word in raw.split():
        if word.casefold().strip(".") in MONTHS:
            break
        if not word[:1].isupper() and word not in _NAME_PARTICLES:
            break
        words.append(word)
    name = " ".join(words).strip(" -–—|:,")
    # Names are capitalised and short: "By the numbers" is a subheading, not a byline.
    return name if name[:1].isupper() and 1 <= len(name.split()) <= 4 else None


def authors_of(text: str) -> list[str]:
    """Names from a byline like "By Jane Doe and John Roe | Updated ..."."""
    match = _BYLINE_RE.match(text)
    if not match:
        return []
    fragments = re.split(r"\s*(?:,|&|\band\b|\bet\b|\bund\b|\by\b|\be\b)\s*", match.group("names"))
    return [name for name in map(_name_of, fragments) if name]
