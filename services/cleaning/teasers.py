"""Teasers for other stories ("Read also | ...") and agency credit lines ("The world with AFP").

Both sit inside an article's container but are not its text: a teaser's headline
goes to ``related``, a credit line's agencies to ``credit``.
"""

from __future__ import annotations

import re

from services.cleaning.text import word_count

# Teasers for other stories ("Read also | ...", "Lire aussi : ...") can be as long as
# a sentence, so they are recognised by their opening words and separator instead.
TEASER_RE = re.compile(
    r"""^(?:(?:read|see|watch)\s+(?:also|more)|related(?:\s+(?:articles?|stories|news))?
    |(?:à\s+)?lire\s+(?:aussi|également)|voir\s+aussi|lesen\s+sie\s+(?:auch|mehr)
    |mehr\s+zum\s+thema|leggi\s+anche|lee\s+también|leia\s+(?:também|mais)|читайте\s+также
    |baca\s+juga)\s*[|:»>\-–—]""",
    re.IGNORECASE | re.VERBOSE,
)
# "Article reserved for our subscribers." and the like, before a teaser's headline.
_SUBSCRIBER_PREFIX_RE = re.compile(
    r"^(?:article|content|story)\s+reserved\s+for\s+(?:our\s+)?subscribers\.?\s*"
    r"|^(?:subscribers?\s+only|premium|exclusive)\s*[.:|]\s*",
    re.IGNORECASE,
)


def teaser_headline(text: str) -> str | None:
    """The headline a "Read also | ..." teaser points to, else ``None``."""
    match = TEASER_RE.match(text)
    if match is None:
        return None
    headline = _SUBSCRIBER_PREFIX_RE.sub("", text[match.end() :].strip()).strip()
    return headline or None


# News agencies a story can be credited to, as credit lines spell them.
_AGENCIES = (
    "AFP|AP|Associated Press|Agence France-Presse|Reuters|dpa|DPA|ANSA|EFE|Xinhua|Kyodo|"
    "Yonhap|PTI|IANS|ANI|UNI|Bloomberg|TASS|Interfax|RIA Novosti|UPI|KNA|APA|SDA|ATS|"
    "Belga|ANP|Lusa|Europa Press|Anadolu|AA|CNA|Bernama|Antara|NTB|TT|Ritzau|STT|PAP|CTK|"
    "MTI|HINA|Tanjug|BTA|Agerpres|Ukrinform|NHK|CP|The Canadian Press|AAP|SAPA|NAN|KCNA|"
    "agencies|Agencies|wires|Wires"
)
_AGENCY_JOIN = r"\s*(?:,|/|&|\band\b|\bet\b|\bund\b|\by\b|\be\b)\s*"
# "Le Monde avec AFP", "The world with AFP", "With Reuters and AP", "(AFP)", "— Reuters".
# Case-sensitive: "AP" the agency, not "ap" in a word.
_CREDIT_RE = re.compile(
    rf"""^(?:.{{0,40}}?\b(?:with|With|avec|Avec|mit|con|com|and|und|et|y|e)\s+|[(\[—–-]\s*)?
    (?P<agencies>(?:{_AGENCIES})(?:{_AGENCY_JOIN}(?:{_AGENCIES}))*)\s*[)\].]?\s*$""",
    re.VERBOSE,
)
_AGENCY_SPLIT_RE = re.compile(_AGENCY_JOIN)
_CREDIT_MAX_WORDS = 8


def credit_of(text: str) -> list[str] | None:
    """Agencies named by a credit line such as "The world with AFP", else ``None``."""
    if word_count(text) > _CREDIT_MAX_WORDS:
        return None
    match = _CREDIT_RE.match(text.strip())
    if not match:
        return None
    return [a for a in _AGENCY_SPLIT_RE.split(match.group("agencies")) if a]
