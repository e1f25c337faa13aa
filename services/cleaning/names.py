"""Person names out of byline text ("By Keith Barry Senior Autos Reporter" -> Keith Barry).

Bylines carry more than names: a lead-in ("By", "Written by", "View all posts
by"), the writer's role ("Senior Autos Reporter", "Founder & Lead Reviewer"), a
date, a comment counter, a "Subscribe" button. The name is what is left at the
start once the lead-in is gone and the text is cut at the first word that cannot
belong to a name. Several names ("A, B and C") become a list.
"""

# Word lists read best as one string (SIM905 would spell them out).
# ruff: noqa: SIM905

from __future__ import annotations

import re

from services.cleaning.dates import MONTHS

# Lead-ins before the names, longest first so "Written by" wins over "by".
_LEAD_IN_RE = re.compile(
    r"""^(?:
        (?:view|see|read|more)\s+(?:all\s+)?(?:posts?|articles?|stories)\s+(?:by|from)
      | (?:all\s+)?(?:posts?|articles?|stories)\s+by
      | about\s+the\s+authors?
      | (?:written|posted|published|reported|compiled|created|authored|words|text|story|article
        |recipe|contributed|produced)\s+by
      | (?:authors?|writers?|written\s+by|byline|reporter|posted\s+by|contributors?)\s*[:：]
      | authors? | by | par | von | por | door | di
    )(?!\w)\s*[:：]?\s*""",
    re.IGNORECASE | re.VERBOSE,
)
# "16 December 2025 by Sam O'Brien": a date or label before "by" is dropped with it.
_INNER_BY_RE = re.compile(r"^.{0,60}?\b(?:by|By|BY)\s+(?=\S)")
_LONE_LEAD_IN_RE = re.compile(
    r"\b(posted|written|published|reported|by|by:)[^\S\n]*\n\s*", re.IGNORECASE
)
# Separators between the parts of a byline ("Dec. 19, 2025 · Niko Matsakis").
_SEGMENT_RE = re.compile(r"\s*(?:[|•·]|\n)\s*")
# Where the names of a segment end and something else (date, role, share) begins.
_CUT_RE = re.compile(r"\s*(?:[/—–]|\s-\s|\(|\[|:|\bon\s+\w+\s+\d|\d).*$", re.DOTALL)
# Words that end the names: roles, stamps and widgets. Case-insensitive.
_STOP_WORDS = frozenset(
    (
        "updated published posted last modified reviewed fact checked edited subscribe follow "
        "email share tweet contact bio profile profiles author's authors author full view "
        "more read posts articles comments comment min minute minutes hour hours ago senior "
        "junior former lead chief head deputy associate assistant executive managing staff "
        "contributing contributor contributors correspondent reporter reporters writer "
        "writers editor editors columnist journalist founder cofounder co-founder ceo cto cfo "
        "coo president vice vp director manager coordinator consultant specialist expert "
        "educator reviewer analyst strategist producer photographer photojournalist "
        "illustrator designer developer engineer scientist researcher professor lecturer "
        "teacher trainer coach nutritionist dietitian attorney lawyer physician doctor nurse "
        "officer owner partner content marketing marketer sales communications digital social "
        "media seo news certified licensed registered board team's is was has and/or master monday "
        "tuesday wednesday thursday friday saturday sunday today yesterday mon tue wed thu fri "
        "from "
        "sat login log sign member members account category categories type topic topics "
        "size role industry region tag tags sponsored here hello welcome menu home"
    ).split()
)
# Credentials after a name: "Cara Dumaplin RN, BSN" -> "Cara Dumaplin".
_CREDENTIAL_RE = re.compile(
    r"^(?:M\.?D|Ph\.?D|R\.?N|BSN|MSN|RD|RDN|LD|CPT|CSCS|MBA|MPH|MS|MA|BA|BS|JD|CPA|CFP|DDS|DMD"
    r"|DO|DVM|PharmD|FACP|FACLM|FAAP|NP|PA-C|LCSW|LPC|PsyD|EdD|Esq|Jr|Sr|II|III|IV)\.?,?$"
)
# Words joining several names.
_JOIN_RE = re.compile(r"\s*(?:,|;|&|\band\b|\bund\b|\bet\b|\by\b|\be\b)\s*")
# Lower-case words that belong inside names ("Ludwig van Beethoven", "Ana de Souza").
NAME_PARTICLES = frozenset(
    ("van von de der den da di du del della la le bin al el dos das ter ten").split()
)
_MAX_NAME_WORDS = 5
_MAX_NAMES = 10


def _name_words(fragment: str, strict: bool, single: bool) -> tuple[str | None, bool]:
    """The leading words of a fragment that can form a name, and whether a role followed."""
    words: list[str] = []
    stopped = False
    for word in fragment.split():
        bare = word.strip(".,;:!?\"'()")
        folded = bare.casefold()
        if not bare or folded in _STOP_WORDS or folded in MONTHS or "@" in word or "://" in word:
            stopped = bool(bare)
            break
        if _CREDENTIAL_RE.match(word):  # "Cara Dumaplin, RN": RN is no second author
            break
        if strict and not bare[:1].isupper() and folded not in NAME_PARTICLES:
            break
        words.append(word.strip(",;:\"'"))
    while words and words[-1].casefold() in NAME_PARTICLES:
        words.pop()
    # Visible bylines give full names; a lone word there is a label ("Personal")
    # unless something says it is a name ("By BeauHD", an author-name element).
    if not words or len(words) > _MAX_NAME_WORDS or (strict and not single and len(words) < 2):
        return None, stopped
    name = " ".join(words)
    # A name has letters; a lone initial or a one-letter token is an avatar's monogram.
    return (name if sum(ch.isalpha() for ch in name) >= 2 else None), stopped


def _segment_names(segment: str, strict: bool, single: bool) -> list[str]:
    stripped = _LEAD_IN_RE.sub("", segment, count=1)
    single = single or stripped != segment
    segment = stripped
    inner = _INNER_BY_RE.match(segment)
    if inner and any(ch.isdigit() for ch in inner.group(0)):
        segment = segment[inner.end() :]
    segment = _CUT_RE.sub("", segment)
    names: list[str] = []
    for position, fragment in enumerate(_JOIN_RE.split(segment)):
        name, role_followed = _name_words(fragment, strict, single and not position)
        # After the first name, a fragment running into a role word is the role
        # ("Charles Patterson, WCI Columnist"), not another author.
        if name and not (position and role_followed) and name not in names:
            names.append(name)
        if len(names) >= _MAX_NAMES:
            break
    return names


def names_from_byline(text: str, *, strict: bool = True, single: bool = False) -> list[str]:
    """The person names a byline text gives, in order, without duplicates.

    The byline is read part by part (parts are split by bars, bullets and line
    breaks) and the first part that names someone wins, so a date or a category
    before the names is passed over. ``strict`` (visible page text) requires
    capitalised words and full names; declared metadata (JSON-LD,
    ``meta[name=author]``) may hold a single name or a lower-case handle and is
    read with ``strict=False``. A one-word name is taken from visible text only
    after a lead-in ("By BeauHD") or when ``single`` says the text is a name.
    """
    if not text or len(text) > 300:
        return []
    # "Posted\nby\nBeauHD": a lead-in on a line of its own belongs to the next line.
    text = _LONE_LEAD_IN_RE.sub(r"\1 ", text.strip())
    for segment in _SEGMENT_RE.split(text):
        names = _segment_names(" ".join(segment.split()), strict, single)
        if names:
            return names
    return []
