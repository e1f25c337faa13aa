"""Which raw NER spans are not mentions at all, and corrections on the rest.

Pure functions over the article text and spaCy's spans; no model here. Three
kinds of rule, applied in this order by :func:`clean_mentions`:

1. **Masked regions** (:func:`masked_spans`): parts of the text that name an entity
   without being *about* it. A dateline ("WASHINGTON (AP) —", "HANOI, Vietnam (AP)
   —", "(Reuters) -", "(CNN)") names the filing city and the agency of every wire
   story; a credit ("Photo: Getty Images", "(credit: NASA/Jude Guidry)", "With
   AFP") names who took the picture. Counting those made AP a top organisation
   from datelines alone (issue 13). Product names matched by the corrections
   table are masked too: "Max" of "737 Max" and "Switch" of "Nintendo Switch" are
   not people.
2. **Junk spans** (:func:`junk_reason`): pronouns, numbers in a person's or a
   place's name, all-lowercase spans, markup residue ("Art Director_Park"), letters
   of another script than the model's, spans too long to be a name, a unit after a
   number ("512GB"), a word cut by an apostrophe ("Takin'").
3. **Corrections** after in-article normalisation, on canonical names:
   :func:`services.entities.corrections.apply_corrections`.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from typing import Final

from services.entities.corrections import Corrections
from services.entities.keys import name_key
from services.entities.normalize import Mention

__all__ = [
    "AGENCIES",
    "NAME_LABELS",
    "clean_mentions",
    "join_known_names",
    "junk_reason",
    "masked_spans",
    "ner_input",
]

# Wire agencies and broadcasters whose name appears in datelines and credits.
AGENCIES: Final = (
    "AP|Associated Press|Reuters|AFP|CNN|UPI|Bloomberg|dpa|DPA|EFE|ANSA|Xinhua|Yonhap"
    "|TASS|Kyodo|PA|IANS|PTI|ANI|AAP|CP|KCNA|Belga|ANP|Anadolu"
)
_DASH: Final = r"[-\u2013\u2014]{1,2}"
_CAPS_WORD: Final = r"[A-Z][A-Z.'\u2019-]+"
_PLACE_WORD: Final = r"[A-Z][A-Za-z.'\u2019-]*"
_DATELINE_PLACE: Final = (
    rf"{_CAPS_WORD}(?:[ ]{_CAPS_WORD}){{0,3}}(?:,[ ]{_PLACE_WORD}(?:[ ]{_PLACE_WORD}){{0,2}})?"
)
_MASKS: Final = (
    # "WASHINGTON (AP) —", "ST. JOSEPH, Mich. (AP) —", "(Reuters) -", "(CNN)President"
    re.compile(rf"(?m)^[ \t]*(?:{_DATELINE_PLACE}[ ]*)?\((?:{AGENCIES})\)[ ]*(?:{_DASH}|:)?"),
    # "LONDON — ", "HANOI, Vietnam -- " (a dateline without agency)
    re.compile(rf"(?m)^[ \t]*{_DATELINE_PLACE}[ ]?{_DASH}[ ]"),
    # an agency in parentheses anywhere: "(AP)", "(AFP)"
    re.compile(rf"\((?:{AGENCIES})\)"),
    # "(Photo: ...)", "(credit: NASA/Jude Guidry)", "(Image by ...)"
    re.compile(
        r"(?i)\((?:photo|photograph|image|picture|credit|source|video|illustration|graphic)s?"
        r"\b[^()\n]{0,150}\)"
    ),
    # a credit line: "Photo: Getty Images", "Image credit - Reuters"
    re.compile(
        r"(?im)^[ \t]*(?:photo|photograph|image|picture|credit|source|illustration|caption)s?"
        r"(?:[ ](?:by|credit))?[ \t]*[:|\u2013\u2014-][^\n]{0,200}$"
    ),
    # "AP Photo/Evan Vucci", "Reuters/Kevin Lamarque", "Getty Images"
    re.compile(
        rf"\b(?:{AGENCIES}|EPA|Getty|Shutterstock|Alamy)(?:[ ](?:Photo|Images|Pictures))?"
        r"/[A-Z][\w.'-]*(?:[ ][A-Z][\w.'-]*){0,3}"
    ),
    re.compile(r"\b(?:via[ ])?Getty[ ]Images\b"),
    # "With AFP", "The world with AFP", "(with Reuters)", "- AFP" closing a line
    re.compile(rf"(?im)\bwith[ ](?:{AGENCIES})(?:[ ]?(?:and|,|&)[ ]?(?:{AGENCIES}))*\)?\.?[ \t]*$"),
    re.compile(rf"(?m){_DASH}[ ]?(?:{AGENCIES})[ \t]*$"),
    # "Associated Press writers Alan Fram and Zeke Miller contributed to this
    # report.", "Keith Bradsher contributed reporting from Hong Kong."
    re.compile(r"(?im)^[^\n]{0,200}\bcontributed[ ](?:reporting|to[ ]this[ ]report)[^\n]{0,200}$"),
)
# A quoted title: 3-10 words, mostly capitalised, with a lower-case small word
# ("Takin' It to the Streets"): a song or a book, not mentions of its words.
_QUOTED: Final = re.compile(r'"([^"\n]{5,90})"')
_SMALL_WORDS: Final = frozenset(
    ["a", "an", "and", "at", "by", "for", "in", "of", "on", "or", "the", "to", "with"]
)

# Labels of names: the rules below judge these; values (DATE, MONEY, ...) pass.
NAME_LABELS: Final = frozenset({"PERSON", "ORG", "GPE", "LOC", "FAC", "NORP"})
_NO_DIGITS: Final = frozenset({"PERSON", "GPE", "LOC", "NORP"})
# Pronouns and determiners the small models return as names (English, French,
# Spanish: the languages with a model).
_PRONOUNS: Final = frozenset(
    [
        "i",
        "me",
        "you",
        "he",
        "him",
        "she",
        "her",
        "it",
        "we",
        "us",
        "they",
        "them",
        "my",
        "your",
        "his",
        "its",
        "our",
        "their",
        "this",
        "that",
        "these",
        "those",
        "who",
        "whom",
        "whose",
        "what",
        "mine",
        "yours",
        "ours",
        "theirs",
        "hers",
        "je",
        "tu",
        "il",
        "elle",
        "nous",
        "vous",
        "ils",
        "elles",
        "on",
        "lui",
        "leur",
        "ce",
        "cela",
        "ça",
        "yo",
        "tú",
        "él",
        "ella",
        "nosotros",
        "vosotros",
        "ellos",
        "ellas",
        "usted",
        "ustedes",
    ]
)
# Lower-case particles that may open a name ("de Gaulle", "van Gogh", "al-Assad").
_PARTICLES: Final = frozenset(
    [
        "de",
        "da",
        "di",
        "del",
        "della",
        "van",
        "von",
        "der",
        "den",
        "le",
        "la",
        "al",
        "el",
        "bin",
        "ibn",
        "du",
    ]
)
_MARKUP: Final = re.compile(r"[_@|=<>{}\[\]\\]|https?:|www\.|\.com\b")
_LATIN_LETTER: Final = re.compile(r"[A-Za-z\u00c0-\u024f]")
_NON_LATIN_LETTER: Final = re.compile(r"[^\W\d_A-Za-z\u00c0-\u024f\u1e00-\u1eff]")
_NUMBER_BEFORE: Final = re.compile(r"(?:^|\s)(\d[\d.,]*)[ ]$")
_YEAR: Final = re.compile(r"1[89]\d\d|20\d\d")
# Names made only of weekday and month abbreviations: "(Closed on Sun & Mon)".
_CALENDAR_WORDS: Final = frozenset(
    [
        "mon",
        "tue",
        "tues",
        "wed",
        "thu",
        "thur",
        "thurs",
        "fri",
        "sat",
        "sun",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "&",
        "and",
        "-",
        "to",
    ]
)
# "the Commercial Lunar Payload Services program": a name followed by one of these
# nouns names a programme, not an organisation (three words or more only: "the
# NASA program" is NASA's).
_PROGRAMME_AFTER: Final = re.compile(r"[ ](?:program|programme|initiative|scheme)\b")
_MAX_WORDS: Final = 7
# Longer than any real name: a run of text the model took for one (and a bound
# on what the resolver keys and caches, whatever a hostile page holds).
_MAX_CHARS: Final = 100
_MAX_PERSON_WORDS: Final = 4


def ner_input(text: str) -> str:
    """``text`` as the model should read it, character for character as long.

    Underscores become spaces: scraped credit lists glue roles to names
    ("Costume Design_Lee Ho Jun") and spaCy keeps "Design_Lee" one token, so the
    model returns "Ho Jun". Same length, so every offset still points into
    ``text``.
    """
    return text.replace("_", " ")


def masked_spans(text: str, corrections: Corrections) -> list[tuple[int, int]]:
    """Sorted, merged ``[start, end)`` regions whose spans are not mentions."""
    spans = [m.span() for pattern in _MASKS for m in pattern.finditer(text)]
    if corrections.products is not None:
        spans.extend(m.span() for m in corrections.products.finditer(text))
    spans.extend(m.span() for m in _QUOTED.finditer(text) if _is_title(m.group(1)))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _is_title(quoted: str) -> bool:
    """Whether a quoted string reads as the title of a work (see :data:`_QUOTED`)."""
    words = quoted.split()
    if not 3 <= len(words) <= 10:
        return False
    capitalised = sum(1 for w in words if w[:1].isupper())
    small = any(w in _SMALL_WORDS for w in words[1:])
    return small and capitalised >= 0.6 * len(words)


def _overlaps(spans: Sequence[tuple[int, int]], starts: Sequence[int], lo: int, hi: int) -> bool:
    """Whether ``[lo, hi)`` overlaps one of the sorted, disjoint ``spans``."""
    i = bisect.bisect_right(starts, lo) - 1
    if i >= 0 and spans[i][1] > lo:
        return True
    return i + 1 < len(spans) and spans[i + 1][0] < hi


def _shape_reason(surface: str, label: str, latin: bool) -> str | None:
    """Junk judged on the span alone."""
    words = surface.split()
    if latin and _NON_LATIN_LETTER.search(surface):
        return "script"
    # "US" and "IT" are names; "Us" and "It" (sentence-initial) are pronouns.
    if name_key(surface) in _PRONOUNS and not surface.isupper():
        return "pronoun"
    if not any(char.isupper() for char in surface) and _LATIN_LETTER.search(surface):
        return "lowercase"
    first = words[0] if words else ""
    if first[:1].islower() and first.islower() and first.casefold() not in _PARTICLES:
        return "lowercase"
    if label in _NO_DIGITS and any(char.isdigit() for char in surface):
        return "number"
    if _MARKUP.search(surface):
        return "markup"
    too_many = len(words) > _MAX_WORDS or (label == "PERSON" and len(words) > _MAX_PERSON_WORDS)
    if too_many or len(surface) > _MAX_CHARS:
        return "fragment"
    if label == "PERSON" and surface.isupper() and sum(c.isalpha() for c in surface) > 1:
        return "shouting"  # "RRP", "LEAVE A REPLY": acronyms and buttons, not people
    if all(word.casefold().strip(".,") in _CALENDAR_WORDS for word in words):
        return "calendar"
    return None


def _context_reason(surface: str, before: str, after: str) -> str | None:
    """Junk judged on the characters around the span (``after``: the next 16)."""
    if before[-1:].isdigit():
        return "unit"  # "512GB", "2.4GHz"
    number = _NUMBER_BEFORE.search(before)
    if number and " " not in surface and not _YEAR.fullmatch(number.group(1)):
        return "model number"  # "737 Max", "49.95 Euro"; not "in 2016 Trump"
    if (
        after[:1]
        and after[0] in "'\u2019"
        and after[1:2] in ("", " ")
        and not surface.endswith("s")
    ):
        return "truncated"  # "Takin' It to the Streets"
    if len(surface.split()) >= 3 and _PROGRAMME_AFTER.match(after):
        return "programme"
    return None


def _line_of(text: str, start: int, end: int) -> str:
    """The line of ``text`` holding ``[start, end)``, stripped."""
    lo = text.rfind("\n", 0, start) + 1
    hi = text.find("\n", end)
    return text[lo : hi if hi >= 0 else len(text)].strip()


def _word_reason(text: str, mention: Mention, surface: str) -> str | None:
    """Junk judged on a one-word name's other uses in the article."""
    if " " in surface:
        return None
    if _line_of(text, mention.start, mention.end) == surface:
        return "alone on a line"  # a heading, a button, a share link: "Description", "Twitter"
    if mention.label == "PERSON" and re.search(rf"\b{re.escape(surface.lower())}\b", text):
        return "common word"  # "Drop" beside "drop": a word, not a name
    return None


def junk_reason(text: str, mention: Mention, latin: bool = True) -> str | None:
    """Why ``mention`` (a span of ``text``) is no mention, or ``None`` if it is one."""
    if mention.label not in NAME_LABELS:
        return None
    surface = mention.text.strip()
    reason = _shape_reason(surface, mention.label, latin)
    if reason is not None:
        return reason
    before = text[max(0, mention.start - 16) : mention.start]
    reason = _context_reason(surface, before, text[mention.end : mention.end + 16])
    return reason if reason is not None else _word_reason(text, mention, surface)


def join_known_names(
    text: str, mentions: Sequence[Mention], corrections: Corrections
) -> list[Mention]:
    """Join two same-label mentions around "and"/"&" when the whole is a known name.

    The small models split "Customs and Border Protection" into "Customs" and
    "Border Protection"; when the corrections table knows the joined name, it is
    one mention again. Only known names: "Apple and Google" stays two.
    """
    out: list[Mention] = []
    for mention in sorted(mentions, key=lambda m: (m.start, m.end)):
        previous = out[-1] if out else None
        if (
            previous is not None
            and previous.label == mention.label
            and text[previous.end : mention.start] in (" and ", " & ")
            and corrections.knows(text[previous.start : mention.end])
        ):
            joined = text[previous.start : mention.end]
            out[-1] = Mention(joined, mention.label, previous.start, mention.end)
        else:
            out.append(mention)
    return out


def clean_mentions(
    text: str, mentions: Iterable[Mention], corrections: Corrections, latin: bool = True
) -> list[Mention]:
    """The mentions of ``text`` that are mentions: outside masks, and not junk."""
    masks = masked_spans(text, corrections)
    starts = [start for start, _ in masks]
    kept = [
        m
        for m in mentions
        if not (m.label in NAME_LABELS and _overlaps(masks, starts, m.start, m.end))
        and junk_reason(text, m, latin) is None
    ]
    return join_known_names(text, kept, corrections)
