"""Pure cleaning logic of the cleaning stage: raw page in, the article alone out.

Two kinds of input reach the stage:

* **HTML** as served by the site. trafilatura is the reference extractor for this
  case (F1 0.951 on the project's evaluation set with its defaults), so it does the
  work and we only tidy what it returns (see :func:`extract_from_html`).
* **Already-scraped text**: a page someone else flattened to text, one block per
  line, still carrying menus, share counters, teasers, comment forms and footers.
  No markup is left, so link density and tag names are gone; the cleaner judges the
  lines alone (see :func:`extract_from_text`).

Nothing here touches the network, the environment or the file system: the Faust
worker and the CLI call these functions and own the I/O. Every rule is general
(line shape, punctuation, function words, repetition, position, boilerplate phrases
in several languages); none is keyed to a site, because the evaluation pages are
not the pages the pipeline will see.
"""

# This module matches text in many scripts and typographic punctuation on purpose
# (Cyrillic stopwords, en dashes, fullwidth CJK stops), which RUF001 reports as
# look-alike characters; and its word lists read best as one string per language,
# which SIM905 would have spelled out as long list literals.
# ruff: noqa: SIM905

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal

__all__ = [
    "Extracted",
    "ExtractionError",
    "clean",
    "detect_language",
    "extract_from_html",
    "extract_from_text",
    "fingerprint",
    "hamming_distance",
    "normalise_text",
    "word_count",
]


class ExtractionError(ValueError):
    """Raised for input that holds no article at all (empty, binary, only furniture).

    It is a *bad data* error: the worker sends the message to the dead-letter topic
    with this message as the reason and never retries it.
    """


@dataclass(frozen=True)
class Extracted:
    """The article found in one page, ready for the ``articles.clean`` topic."""

    title: str | None
    text: str  # article body only; paragraphs separated by "\n\n"
    authors: list[str]
    published_at: datetime | None  # timezone-aware (UTC when the page gives no zone)
    language: str | None  # ISO 639-1, e.g. "en"
    site_name: str | None
    credit: list[str]  # agencies credited by lines like "The world with AFP" -> ["AFP"]
    input_format: Literal["html", "text"]
    # Headlines of other stories the page inlines in the article ("Read also | ...").
    # Kept out of the body, but they say what the article is related to, so the
    # entities stage reads them too.
    related: list[str] = field(default_factory=list)


# =========================================================================== text basics

# Typographic quotes and apostrophes are folded to their ASCII forms. Sites mix the
# ASCII apostrophe and U+2019 freely and search tokenizers treat the two as
# different characters, so one form keeps search and de-duplication consistent.
# Guillemets are language punctuation, not a typographic variant: they are kept.
_QUOTE_MAP = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
    }
)
# Invisible characters that only split words for search: zero-width space, word
# joiner, BOM, soft hyphen. ZWNJ and ZWJ are kept: Persian and emoji need them.
_INVISIBLE_RE = re.compile("[\u200b\u2060\ufeff\u00ad]")
# Any horizontal whitespace (NBSP, thin space, tab, ...), never a newline.
_HSPACE_RE = re.compile(r"[^\S\n]+")
_WORD_RE = re.compile(r"\w+")
# Scripts written without spaces, where a \w+ run is a whole phrase.
_CJK_RE = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
# py3langid is unreliable on a few words; below this many letters we say "unknown".
_MIN_LANGUAGE_LETTERS = 20
_SIMHASH_BITS = 64


def _normalise_line(line: str) -> str:
    line = unicodedata.normalize("NFC", line)
    line = _INVISIBLE_RE.sub("", line).translate(_QUOTE_MAP)
    return _HSPACE_RE.sub(" ", line).strip()


def normalise_text(text: str) -> str:
    """Canonical body form: NFC, straight quotes, single spaces, ``\\n\\n`` between paragraphs.

    Every line break marks a paragraph boundary: trafilatura emits one paragraph per
    line and scraped text keeps one block per line, so re-flowing lines would merge
    paragraphs. Within a paragraph any run of whitespace becomes one space; empty
    paragraphs are dropped. Curly quotes and apostrophes become ``'`` and ``"``
    (see ``_QUOTE_MAP`` for why); invisible zero-width characters are removed.
    """
    lines = (_normalise_line(line) for line in text.splitlines())
    return "\n\n".join(line for line in lines if line)


def word_count(text: str) -> int:
    """Number of words, counting CJK script at two characters per word.

    ``\\w+`` runs alone would count a whole Japanese sentence as one word.
    """
    count = 0
    for token in _WORD_RE.findall(text):
        cjk = len(_CJK_RE.findall(token))
        if cjk:
            count += (cjk + 1) // 2 + (1 if len(token) > cjk else 0)
        else:
            count += 1
    return count


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text's language, or ``None`` when it is too short to tell."""
    if sum(ch.isalpha() for ch in text) < _MIN_LANGUAGE_LETTERS:
        return None
    # Imported here: py3langid loads its model on first use, and code that never
    # needs a language should not pay for importing numpy.
    import py3langid

    language, _score = py3langid.classify(text)
    return str(language) if language else None


def fingerprint(text: str) -> str:
    """64-bit SimHash of the text over word 3-shingles, as 16 hex characters.

    Near-duplicates (the same wire story with another footer, a corrected typo)
    differ in a few bits; unrelated texts in about half of the 64. Compare two with
    :func:`hamming_distance`. Words are lower-cased after :func:`normalise_text`, so
    case, quotes and spacing never matter. blake2b gives hashes that are stable
    across processes and machines (Python's ``hash`` is salted per process).
    """
    words = [w.lower() for w in _WORD_RE.findall(normalise_text(text))]
    if not words:
        return "0" * (_SIMHASH_BITS // 4)
    grams = Counter(" ".join(words[i : i + 3]) for i in range(max(1, len(words) - 2)))
    totals = [0] * _SIMHASH_BITS
    for gram, weight in grams.items():
        value = int.from_bytes(hashlib.blake2b(gram.encode(), digest_size=8).digest(), "big")
        for bit in range(_SIMHASH_BITS):
            totals[bit] += weight if value >> bit & 1 else -weight
    result = sum(1 << bit for bit in range(_SIMHASH_BITS) if totals[bit] > 0)
    return f"{result:016x}"


def hamming_distance(a: str, b: str) -> int:
    """Number of differing bits between two :func:`fingerprint` values."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def _reject_unusable(raw: str, kind: str) -> None:
    """Raise :class:`ExtractionError` for empty or binary input, saying which."""
    if not raw or not raw.strip():
        raise ExtractionError(f"empty {kind} input")
    sample = raw[:20_000]
    # Binary decoded as text shows up as NULs, C0/C1 control characters and U+FFFD.
    bad = sum(
        1
        for ch in sample
        if ch == "\ufffd" or (unicodedata.category(ch) == "Cc" and ch not in "\n\r\t\f\v")
    )
    if "\x00" in sample or bad > 0.02 * len(sample):
        raise ExtractionError(
            f"{kind} input looks binary: {bad} control or replacement characters "
            f"in its first {len(sample)}"
        )


# =========================================================================== line signals
#
# Scraped text has lost its markup, so each line is judged by what is left: its
# length, whether it reads like a sentence (function words, end punctuation),
# whether it is a known furniture phrase, whether the page repeats it, and where it
# sits relative to the headline.

# The most frequent function words of the languages we see most. A sentence is full
# of them, a menu item or a headline has few. Languages without a list (Japanese,
# Korean, Chinese, ...) are judged on length and end punctuation alone.
_STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        "the of and to a in is it that for on was with as he she by at from his her be "
        "are were have has had not this but they their you we i or an which will would "
        "said its who been also more there one after about than into up out if can all "
        "so when what no our them over only could some other most him these those do "
        "did my me your us".split()
    ),
    "fr": frozenset(
        "le la les de des du un une et en à au aux est que qui dans pour par sur pas plus "
        "ne se ce il elle ils son sa ses avec a été sont ou mais comme nous vous leur "
        "cette l d qu s n y ont était".split()
    ),
    "de": frozenset(
        "der die das und in zu den von mit ist des sich dem nicht ein eine als auch es an "
        "er sie auf für im dass bei wird aus hat nach wie werden um noch am sind war zum "
        "zur einen einer wir ich aber oder so".split()
    ),
    "es": frozenset(
        "de la que el en y a los del se las por un para con no una su al lo como más pero "
        "sus le ha es o fue este ya entre cuando muy sin sobre también esta son".split()
    ),
    "it": frozenset(
        "di e il la che in a per un è del le non una si da con i al della sono come ma più "
        "anche dei nel alla gli lo ha ed se delle questo l".split()
    ),
    "pt": frozenset(
        "de a o que e do da em um para é com não uma os no se na por mais as dos como mas "
        "foi ao ele das tem à seu sua ou ser quando muito nos já também".split()
    ),
    "nl": frozenset(
        "de en van het een in is dat op te zijn met voor niet aan er om ook als maar bij "
        "door over naar dan nog wordt die".split()
    ),
    "ru": frozenset(
        "и в не на что с по как это а он к из то у за от его но же о ее её так для был "
        "она они все бы было уже при".split()
    ),
    "id": frozenset(
        "yang dan di ini itu dengan untuk dari dalam tidak akan pada juga ke ada adalah "
        "oleh karena saat bisa".split()
    ),
}

# Furniture phrases, matched only on lines of at most _BOILERPLATE_MAX_WORDS words so
# that an article that *talks* about newsletters or sharing keeps its paragraphs.
# Checked against the hand-made article bodies of the evaluation set: they match
# about one article line in 150, mostly lines that are furniture anyway.
_BOILERPLATE_MAX_WORDS = 25
_BOILERPLATE_RE = re.compile(
    r"""
    # teasers and link lists
    ^(?:read|see|watch)\s+(?:also|more)\b | ^more\s*: | ^related\s*(?:[:|]|$) | ^recommended\b
    | \byou\s+(?:may|might)\s+(?:also\s+)?(?:like|enjoy)\b | ^(?:most\s+)?(?:popular|read)\s*$
    | ^(?:previous|next)\s+(?:post|article|story)\b | ^(?:show|view|see)\s+(?:all|more)\b
    | ^continue\s+reading\b | ^click\s+here\b | \bsponsored\s+links?\b | \baffiliate\s+commission\b
    # comment forms and counters
    | \bleave\s+a\s+(?:reply|comment)\b | \bplease\s+enter\s+your\b
    | ^(?:post|add|write)\s+a\s+comment
    | ^\d+\s+(?:comments?|replies|responses?|shares?|views?)\s*$ | ^comments?\s*(?:\(\d+\))?\s*$
    | \bmust\s+be\s+logged\s+in\b | \bemail\s+address\s+will\s+not\s+be\s+published\b
    | \brequired\s+fields\s+are\s+marked\b | \bsave\s+my\s+name\b | ^notify\s+me\b
    # sharing and following
    | ^share\b | \bshare\s+(?:this|on|via)\b | ^(?:tweet|pin\s+it|e-?mail|print|whatsapp|facebook
      |twitter|linkedin|reddit|pinterest|flipboard|pocket|telegram|copy\s+link)\s*$
    | ^partager\b | ^teilen\b | ^condividi\b | ^compartir\b | ^compartilhe\b | ^follow\s+(?:us\b|@)
    | \bfollow\s+(?:us|me|him|her|them|\S+(?:\s+\S+)?)\s+on
      \s+(?:twitter|facebook|instagram|linkedin)\b
    # subscriptions, accounts, newsletters
    | ^subscribe\b | \bsubscribe\s+(?:now|to|today)\b | \bsign\s+up\s+(?:for|to)\b
    | ^sign\s+(?:in|up)\b | ^log\s*(?:in|out)\b | ^register\s*$ | \bnewsletter\b | \byour\s+inbox\b
    | \bunsubscribe\b | ^(?:get|receive|sign\s+up\s+for|subscribe\s+to)\b.*\balerts?\b
    | \bbreaking\s+news\s+emails?\b | \breserved\s+for\s+(?:our\s+)?subscribers\b
    | \bsubscribers\s+only\b | ^abonnez-vous | \babonnieren\b | ^already\s+a\s+subscriber
    # cookies and legal
    | \b(?:we|this\s+(?:web)?site)\s+uses?\s+cookies\b | \bcookie\s+(?:policy|settings|consent)\b
    | \baccept\s+(?:all\s+)?cookies\b | ^© | \bcopyright\b | \ball\s+rights\s+reserved\b
    | \bprivacy\s+policy\b | \bterms\s+(?:of\s+(?:use|service)|and\s+conditions|&\s+conditions)\b
    | \btous\s+droits\s+réservés\b | \balle\s+rechte\s+vorbehalten\b | \btrust\s+principles\b
    # navigation and page chrome
    | ^skip\s+to\b | ^back\s+to\s+top\b | ^(?:tags?|filed\s+under|posted\s+in|categories|topics)\s*:
    | ^(?:advertisement|advert|ad|anzeige|publicité|pubblicità|publicidad|sponsored)\s*$
    | ^(?:close|video|report|shares?|sms|buffer|pin|x|menu|search|home|more|load\s+more
      |show\s+more)\s*$
    | \bthis\s+slideshow\s+requires\s+javascript\b | \benable\s+javascript\b
    | \bcreated\s+with\s+sketch\b | ^image/svg | ^<(?:img|div|span|a|iframe|script|p|br)\b[^>]*>
    # pictures and their credits
    | \bgetty\s+images\b | \bshutterstock\b | ^(?:photo|image|picture|credit|source)s?\s*:
    | ^(?:image|media|photo|video)\s+caption\b | ^(?:image|photo|slide)\s+\d+\s+(?:of|/)\s+\d+
    | ^\d+\s+(?:of|/)\s+\d+$ | \((?:image|photo|picture)(?:\s+credit)?\s*:.*\)$ | ^file\s+photo\b
    | \bcredit\s*(?:\.\.\.|…|:) | ^(?:photo(?:graph)?|image|video|illustration)\s+by\b
    | \bsubmitted\s+photo\b | \breuters/ | /\s*(?:ap|afp|reuters|getty|associated\s+press|epa)\s*$
    # reporting credits and contact lines
    | ^\(?(?:additional\s+)?(?:reporting|writing|editing|compiled)\s+by\b
    | \bmay\s+be\s+reached\s+at\b | ^reach\s+the\s+(?:reporter|author|writer)s?\b
    | ^(?:contact|email)\s+the\s+(?:reporter|author|writer)s?\b | \bhave\s+a\s+(?:news\s+)?tip\b
    """,
    re.IGNORECASE | re.VERBOSE,
)

# Words that turn a mention of cookies into a consent banner, in several languages.
_COOKIE_CONTEXT = (
    r"website|site|sito|sitio|seite|webseite|browsing|navigation|navigazione|navegación"
    r"|experience|esperienza|experiencia|expérience|consent|consenso|einwilligung|opt[- ]out"
    r"|accept|accetta|acepta|akzeptieren|preferences|privacy"
)
# Furniture recognisable at any length: cookie banners and legal footers run to
# several sentences, so the short-line rule above would let them pass as prose.
_LONG_BOILERPLATE_RE = re.compile(
    rf"""\bcookies?\b.*\b(?:{_COOKIE_CONTEXT})\b | \b(?:{_COOKIE_CONTEXT})\b.*\bcookies?\b
    | ^© | ©\s*(?:19|20)\d\d | \ball\s+rights\s+reserved\b | \bregistered\s+trademarks?\s+of\b""",
    re.IGNORECASE | re.VERBOSE,
)
# Teasers for other stories ("Read also | ...", "Lire aussi : ...") can be as long as
# a sentence, so they are recognised by their opening words and separator instead.
_TEASER_RE = re.compile(
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


def _teaser_headline(text: str) -> str | None:
    """The headline a "Read also | ..." teaser points to, else ``None``."""
    match = _TEASER_RE.match(text)
    if match is None:
        return None
    headline = _SUBSCRIBER_PREFIX_RE.sub("", text[match.end() :].strip()).strip()
    return headline or None


# The opening line of a comment thread. A thread never sits inside an article, so
# once an article has been read this line is a wall (see _weights).
_COMMENTS_START_RE = re.compile(
    r"""
    ^\[?\s*\d+\s+(?:comments?|responses?|replies|reactions?)\b
    | ^(?:(?:top\s+rated|all|view|show|read\s+all|load|see)\s+)?(?:comments?|replies)\s*
      (?:\(\d+\))?\s*\]?\s*:?$
    | \bleave\s+a\s+(?:reply|comment)\b | ^post\s+a\s+comment\b | ^add\s+(?:a\s+)?comment\b
    | ^join\s+the\s+(?:conversation|discussion)\b | \bcomments\s+are\s+closed\b
    | \b(?:says|said|wrote|writes)\s*:\s*$ | ^reply\s*$ | ^commentaires?\s*$ | ^kommentare?\s*$
    | ^commenti\s*$ | ^comentarios?\s*$ | ^комментарии\s*$ | \blascia\s+un\s+commento\b
    | \blaisser\s+un\s+commentaire\b | \bdeja\s+un\s+comentario\b | \bdeixe\s+um\s+comentário\b
    | \bschreibe\s+einen\s+kommentar\b | ^kommentar\s+schreiben\b
    """,
    re.IGNORECASE | re.VERBOSE,
)
# Headings of what follows an article: related stories, most read, author boxes.
# They can also interrupt an article (an inline "Related" box), so they cost a high
# but finite price rather than being walls.
_SECTION_BREAK_MAX_WORDS = 8
_SECTION_BREAK_RE = re.compile(
    r"""
    ^(?:(?:related|similar)(?:\s+(?:articles?|stories|posts|news|content|coverage|reading|links?
        |videos?))?
      |more(?:\s+\S+){1,4}|recommended(?:\s+for\s+you)?
      |you\s+(?:may|might)\s+also\s+(?:like|be\s+interested\s+in)
      |about\s+the\s+authors?|most\s+(?:popular|read|viewed|shared)|trending(?:\s+\w+)?
      |latest\s+(?:news|stories|articles|headlines)|popular\s+(?:stories|posts|articles)|read\s+next
      |what\s+to\s+read\s+next|editor'?s\s+picks?|top\s+stories|next\s+up(?:\s+\S+){0,3}
      |explore\s+further|further\s+reading|see\s+also|also\s+on\s+\S+|don'?t\s+miss
      |(?:artigos|notícias|artículos|noticias)\s+relacionad[oa]s|articoli\s+correlati
      |ähnliche\s+artikel|weitere\s+artikel|das\s+könnte\s+sie\s+auch\s+interessieren
      |sur\s+le\s+même\s+sujet|les\s+plus\s+lus|lo\s+más\s+leído|i\s+più\s+letti|mais\s+lidas
      |похожие\s+(?:новости|статьи)|関連記事|関連ニュース|おすすめ記事|人気記事|관련\s*기사
      |相关文章|相關文章)\s*(?:[:.…]+)?\s*$
    """,
    re.IGNORECASE | re.VERBOSE,
)
# Author boxes: "About Jane Doe", "Über Moritz Bachmann", "Sobre Carlos Nadalim".
# Case-sensitive on purpose: the name must be capitalised, so "About time" is not one.
_AUTHOR_BOX_RE = re.compile(
    r"^(?:About|ABOUT|Über|Sobre|À propos de|A proposito di|Об авторе)\s+"
    r"[A-ZÀ-ÝА-Я][\w'.-]+(?:\s+[A-ZÀ-ÝА-Я][\w'.-]+){0,3}$"
)
# Footer rights notices. Like a comment opener they end the article (see _weights).
_RIGHTS_RE = re.compile(
    r"""\ball\s+rights\s+reserved\b | \btous\s+droits\s+réservés\b | \balle\s+rechte\s+vorbehalten\b
    | \btodos\s+los\s+derechos\s+reservados\b | \btutti\s+i\s+diritti\s+riservati\b
    | \btodos\s+os\s+direitos\s+reservados\b | \bcopyright\s*(?:©|\(c\))?\s*(?:19|20)\d\d""",
    re.IGNORECASE | re.VERBOSE,
)

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

# Bylines: "By Jane Doe | Updated ...", "Posted by John Roe on May 5", "Par Marie Dupont".
_BYLINE_RE = re.compile(
    r"^(?:by|par|von|di|por|door|від|от|written\s+by|posted\s+by)\s+"
    r"(?P<names>[^\d|•·,;]{3,80}?)(?:\s*[|•·,;]|\s+(?:updated|published|on|and\s+\d)\b|\s+\d|$)",
    re.IGNORECASE,
)
_BYLINE_MAX_WORDS = 15
# Publication stamps: "Published 10:02 AM EST Nov 19, 2019", "Mis à jour le ...".
_PUBLISHED_RE = re.compile(
    r"^(?:published|updated|posted|last\s+(?:updated|modified)|first\s+published"
    r"|publish(?:ed)?\s+date|publié|mis\s+à\s+jour|veröffentlicht|aktualisiert|pubblicato"
    r"|aggiornato|publicado|actualizado)\b",
    re.IGNORECASE,
)
# Clock times and relative times: "10:43", "6:34 am", "2 days ago", "32M ago".
_TIME_RE = re.compile(
    r"\b\d{1,2}:\d{2}\b"
    r"|\b\d+\s*(?:s|m|h|d|w|secs?|mins?|minutes?|hrs?|hours?|days?|weeks?|months?)\s+ago\b",
    re.IGNORECASE,
)
_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH_NAMES = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATE_PATTERNS = (
    re.compile(r"\b(?P<y>(?:19|20)\d\d)-(?P<m>\d\d)-(?P<d>\d\d)\b"),
    re.compile(
        rf"\b(?P<mon>{_MONTH_NAMES})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>(?:19|20)\d\d)\b",
        re.IGNORECASE,
    ),
    re.compile(
        rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<mon>{_MONTH_NAMES})\.?,?\s+(?P<y>(?:19|20)\d\d)\b",
        re.IGNORECASE,
    ),
)
_DATELINE_MAX_WORDS = 8

# Sentence-final punctuation, optionally followed by closing quotes or brackets.
_SENTENCE_END_RE = re.compile(r"[.!?…。！？:;][\"'”’»)\]]*$")
_NUMERIC_RE = re.compile(r"^[\d\s.,:/%+×x-]*\d[\d\s.,:/%+kKmM×x-]*$")
# Separators sites put between the headline and their name in <title>.
_TITLE_SEPARATOR_RE = re.compile(r"\s+[|–—:·•»-]\s+|\s+-{2}\s+|\s*::\s*")

# A line is a copy when this share of its 4-word shingles already appeared above it
# (only lines of at least _DUPLICATE_MIN_TOKENS words are checked).
_DUPLICATE_SHINGLE = 4
_DUPLICATE_SHARE = 0.8
_DUPLICATE_MIN_TOKENS = 6


@dataclass
class _Line:
    """One non-empty line of scraped text and what the cleaner learned about it."""

    index: int  # position among the non-empty lines
    block: int  # id of its run of non-empty lines (a blank line starts a new run)
    text: str
    words: int
    stop_ratio: float | None  # share of function words; None without a stopword list
    digit_share: float  # share of tokens holding a digit
    sentence_end: bool
    numeric: bool  # a counter or figure alone ("27", "0", "1,234")
    boilerplate: bool
    section_break: bool
    comments_start: bool
    rights: bool  # a footer rights notice ("All rights reserved")
    dateline: bool = False  # a short line that is mostly a date, a time or a stamp
    byline: bool = False
    repeats: int = 1  # occurrences of the same text on the page
    duplicate: bool = False  # most of its text already appeared higher up the page

    @property
    def furniture(self) -> bool:
        return self.boilerplate or self.section_break or self.comments_start or self.rights


def _key(text: str) -> str:
    """Comparison key: lower-cased words only, so punctuation and case never matter."""
    return " ".join(_WORD_RE.findall(text.casefold()))


def _make_line(index: int, block: int, text: str, stopwords: frozenset[str] | None) -> _Line:
    """Signals that depend on the line alone (page-level ones come in _lines_of)."""
    tokens = [t.casefold() for t in _WORD_RE.findall(text)]
    words = word_count(text)
    stop_ratio = None
    if stopwords is not None and tokens:
        stop_ratio = sum(t in stopwords for t in tokens) / len(tokens)
    digit_share = sum(any(c.isdigit() for c in t) for t in tokens) / len(tokens) if tokens else 0.0
    short = words <= _BOILERPLATE_MAX_WORDS
    return _Line(
        index=index,
        block=block,
        text=text,
        words=words,
        stop_ratio=stop_ratio,
        digit_share=digit_share,
        sentence_end=bool(_SENTENCE_END_RE.search(text)),
        numeric=bool(_NUMERIC_RE.match(text)),
        boilerplate=bool(_TEASER_RE.match(text) or _LONG_BOILERPLATE_RE.search(text))
        or (short and bool(_BOILERPLATE_RE.search(text))),
        section_break=words <= _SECTION_BREAK_MAX_WORDS
        and bool(_SECTION_BREAK_RE.match(text) or _AUTHOR_BOX_RE.match(text)),
        comments_start=short and bool(_COMMENTS_START_RE.search(text)),
        rights=bool(_RIGHTS_RE.search(text)),
    )


def _lines_of(text: str, stopwords: frozenset[str] | None) -> list[_Line]:
    """Split scraped text into judged lines, adding the signals that need the whole page."""
    lines: list[_Line] = []
    block = 0
    for raw in text.splitlines():
        normalised = _normalise_line(raw)
        if not normalised:
            block += 1
            continue
        lines.append(_make_line(len(lines), block, normalised, stopwords))
    counts = Counter(_key(line.text) for line in lines)
    seen: set[tuple[str, ...]] = set()
    for line in lines:
        line.repeats = counts[_key(line.text)]
        # Embedded posts end on "— Name (@handle) November 18, 2019": article text.
        quoted = line.text.startswith(("—", "–", "-")) or "(@" in line.text
        stamp = bool(_TIME_RE.search(line.text) or _date_of(line.text))
        line.dateline = not quoted and (
            (line.words <= _DATELINE_MAX_WORDS and stamp)
            or (line.words <= 20 and bool(_PUBLISHED_RE.match(line.text)))
        )
        line.byline = line.words <= _BYLINE_MAX_WORDS and (
            line.text.casefold() == "by" or bool(_authors_of(line.text))
        )
        # Pages repeat their article in hidden blocks (structured data, print and AMP
        # copies, pull quotes): the second copy of a text is never new content.
        tokens = _key(line.text).split()
        n = _DUPLICATE_SHINGLE
        grams = {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}
        if len(tokens) >= _DUPLICATE_MIN_TOKENS and grams:
            line.duplicate = len(grams & seen) >= _DUPLICATE_SHARE * len(grams)
            seen |= grams
    return lines


def _is_prose(line: _Line) -> bool:
    """Does the line read like running text rather than a label, a link or a headline?"""
    if line.boilerplate or line.numeric or line.digit_share > 0.3:
        return False  # furniture, counters, dates, prices, archive lists
    if line.stop_ratio is None:
        # No stopword list for this language (Japanese, Korean, ...): only end
        # punctuation or sheer length tells a sentence from a link title.
        return (line.words >= 6 and line.sentence_end) or line.words >= 40
    if line.stop_ratio < 0.15:
        return False
    return line.words >= 12 or (line.words >= 6 and line.sentence_end)


def _stopwords_for(text: str) -> tuple[str | None, frozenset[str] | None]:
    """Language of the page (judged on its longer lines) and its stopword list, if any."""
    sample = "\n".join(line for line in text.splitlines() if len(line) > 80)[:20_000]
    language = detect_language(sample or text[:20_000])
    return language, _STOPWORDS.get(language or "")


# =========================================================================== headline


@dataclass(frozen=True)
class _TitleGuess:
    title: str | None
    site_name: str | None
    lines: frozenset[int]  # indices of the lines that repeat the headline


def _split_title(first_line: str) -> list[str]:
    """Parts of a ``<title>``-like line: "Headline - Site" -> ["Headline", "Site"]."""
    return [p.strip() for p in _TITLE_SEPARATOR_RE.split(first_line) if p.strip()]


def _is_title_repeat(key: str, title_key: str, first_key: str) -> bool:
    """Headline copies and breadcrumbs ending with the headline ("Home News <title>")."""
    if not key or not title_key:
        return False
    if key in (title_key, first_key):
        return True
    return key.endswith(" " + title_key) and len(key.split()) - len(title_key.split()) <= 6


def _content_words(key: str, stopwords: frozenset[str]) -> set[str]:
    """Distinct words of a comparison key that carry meaning (no function words)."""
    return {w for w in key.split() if w not in stopwords}


def _find_title(
    lines: Sequence[_Line], title_hint: str | None, language: str | None
) -> _TitleGuess:
    """Guess the headline, the site name and the lines that repeat the headline.

    Pages say their headline several times: in ``<title>`` (which scraped text
    usually starts with, often followed by the site name), in the breadcrumb, in
    the ``<h1>``. The headline is the first short line that matches the headline
    part of the first line, that the first line mostly contains, or that shares
    most of its meaningful words with it (sites reword the ``<h1>``).
    """
    if not lines:
        return _TitleGuess(None, None, frozenset())
    first = lines[0].text
    first_key = _key(first)
    parts = _split_title(first)
    # The longest part of "Headline | Site" is the headline; the others name the site
    # (and the site's logo line repeats all over the page: it must not win).
    headline_part = _key(max(parts, key=lambda p: len(_WORD_RE.findall(p)))) if parts else ""
    stopwords = _STOPWORDS.get(language or "", frozenset())
    headline_words = _content_words(headline_part, stopwords)
    counts = Counter(_key(line.text) for line in lines)

    best: tuple[float, str] | None = None
    for line in lines[1:]:
        key = _key(line.text)
        n = len(key.split())
        if n < 2 or n > 30 or line.boilerplate or line.numeric:
            continue
        score = 0.0
        if key in (headline_part, first_key):
            score += 5
        elif key in first_key:
            # Must cover most of the first line, or a menu item ("MacBook Pro") passes.
            score += 3 if n >= 0.5 * len(first_key.split()) else 1
        elif n >= 4 and headline_words and not line.text.endswith("."):
            words = _content_words(key, stopwords)
            shared = len(words & headline_words)
            if shared >= 0.6 * len(words) and shared >= 0.4 * len(headline_words):
                score += 3
        score += min(counts[key] - 1, 2)  # repetition is evidence too
        # Strictly better only: the earliest strong candidate wins, since the <h1>
        # comes before any teaser list that might quote the headline.
        if score >= 3 and (best is None or score > best[0]):
            best = (score, line.text)

    title = best[1] if best else (max(parts, key=len) if len(parts) > 1 else None)
    site = None
    if title is not None and len(parts) > 1:
        others = [p for p in parts if _key(p) != _key(title) and len(p.split()) <= 5]
        site = others[-1] if others else None
    # The first line is itself a headline copy only when it looks like <title>.
    first_copy = first_key if len(parts) > 1 else ""
    # A hint is one more name for the headline: the page's own copies still mark
    # where the article starts, and the hint is what the caller gets back.
    title_keys = [_key(t) for t in (title, title_hint) if t and t.strip()]
    repeats = frozenset(
        line.index
        for line in lines
        if not (line.comments_start or line.boilerplate)
        and any(_is_title_repeat(_key(line.text), key, first_copy) for key in title_keys)
    )
    if title_hint and title_hint.strip():
        title = _normalise_line(title_hint)
    return _TitleGuess(title, site, repeats)


# =========================================================================== region search
#
# The article is one stretch of the page. Each line gets a weight (prose positive,
# furniture negative) and the article is the run of lines with the largest total,
# preferably the one starting right below the headline.

# A prose line is worth its words; other lines cost a little, furniture more.
_BOILERPLATE_COST = 10.0
_SHORT_LINE_COST = 3.0  # a line of 1-3 words that is not prose: menu items, labels
_DATELINE_COST = 8.0  # a bare date, time or byline: a teaser card's stamp more often than not
_UNPROSE_COST = 2.0  # plus a quarter point per word, for longer lines that are not prose
# A section break (related stories, most read) costs more than a short list of
# teasers is worth, but less than the rest of an article it interrupts.
_SECTION_BREAK_COST = 50.0
# Prose alone between furniture is a teaser card's summary more often than an
# article paragraph (which sits among paragraphs); below a date or byline, almost
# always. Such lines keep this share of their weight.
_ISOLATED_FACTOR = 0.5
_CARD_FACTOR = 0.1
# Below a comment-thread opener the prose is readers' text, below a rights notice
# it is footer: it keeps this share of its weight.
_AFTER_WALL_FACTOR = 0.1
# A comment opener or rights notice is a wall (the search cannot cross it) only
# after this many words of prose since the headline: a "Comments" button in the
# share bar above the article must not end the article before it starts.
_MIN_PROSE_BEFORE_WALL = 60
# How far below the headline (in lines) its article may start: byline, date, share
# buttons and a picture sit in between.
_HEADLINE_REACH = 12
# The run starting below the headline is the article unless some other run is more
# than this many times heavier (then the "headline" was a teaser for another story).
_HEADLINE_TRUST = 10.0
_MAX_HEADLINES_TRIED = 5


def _weight(line: _Line, is_title: bool) -> float:
    """How much a line says "article here" (positive) or "page furniture" (negative)."""
    if line.section_break or line.comments_start:
        return -_SECTION_BREAK_COST
    if line.boilerplate:
        return -(_BOILERPLATE_COST + min(line.words, 10))
    if line.numeric or line.words == 0 or line.duplicate:
        return -2.0
    if is_title:
        return -_SHORT_LINE_COST
    if line.dateline or line.byline:
        return -_DATELINE_COST
    # Text a page repeats is navigation or teasers; an article says things once.
    if _is_prose(line) and line.repeats < 3 and not (line.repeats > 1 and line.words < 12):
        return float(line.words)
    if line.words <= 3:
        return -_SHORT_LINE_COST
    return -(_UNPROSE_COST + 0.25 * line.words)


def _weights(lines: Sequence[_Line], title: _TitleGuess) -> list[float]:
    """Region-search weight of every line, with teaser cards and walls accounted for."""
    base = [_weight(line, line.index in title.lines) for line in lines]
    weights = list(base)
    for i, w in enumerate(base):
        alone = (i == 0 or base[i - 1] <= 0) and (i + 1 == len(base) or base[i + 1] <= 0)
        if w > 0 and alone:
            stamped = any(line.dateline or line.byline for line in lines[max(0, i - 3) : i])
            weights[i] = w * (_CARD_FACTOR if stamped else _ISOLATED_FACTOR)

    prose_since_headline = 0.0
    behind_wall = False
    for i, line in enumerate(lines):
        if i in title.lines and (behind_wall or prose_since_headline < _MIN_PROSE_BEFORE_WALL):
            # A headline behind a wall starts the page over (a header with its own
            # notices can precede the article); a headline copy in a "trending" list
            # below the article does not.
            prose_since_headline = 0.0
            behind_wall = False
        if behind_wall and weights[i] > 0:
            weights[i] *= _AFTER_WALL_FACTOR
        elif weights[i] > 0:
            prose_since_headline += line.words
        if (line.comments_start or line.rights) and prose_since_headline >= _MIN_PROSE_BEFORE_WALL:
            weights[i] = -math.inf
            behind_wall = True
    return weights


def _heaviest_run(weights: Sequence[float]) -> tuple[float, int, int] | None:
    """(total, start, end) of the run of lines with the largest total weight.

    Kadane's maximum-sum subarray. ``None`` when no line weighs positive.
    """
    best: tuple[float, int, int] | None = None
    run, run_start = 0.0, 0
    for i, w in enumerate(weights):
        if run <= 0:
            run, run_start = w, i
        else:
            run += w
        if run > 0 and (best is None or run > best[0]):
            best = (run, run_start, i + 1)
    return best


def _run_below(
    weights: Sequence[float], headline: int, headlines: frozenset[int]
) -> tuple[float, int, int] | None:
    """Heaviest run starting at the first prose line just below a headline line."""
    start = None
    for i in range(headline + 1, min(len(weights), headline + 1 + _HEADLINE_REACH)):
        if weights[i] > 0:
            start = i
            break
        if i in headlines or weights[i] == -math.inf:
            return None
    if start is None:
        return None
    best: tuple[float, int, int] | None = None
    run = 0.0
    for i in range(start, len(weights)):
        run += weights[i]
        if run == -math.inf:
            break
        if best is None or run > best[0]:
            best = (run, start, i + 1)
    return best


def _choose_region(weights: Sequence[float], headlines: frozenset[int]) -> tuple[int, int]:
    """[start, end) of the article: below its headline if that holds up, else the heaviest run.

    The text right below the headline is nearly always the article (or its
    standfirst). Trusting that protects short stories on pages with big menus of
    teasers-with-summaries, long footers or comment threads.
    """
    free = _heaviest_run(weights)
    # The <h1> is among the first copies; a page repeating its headline more often
    # repeats it in link lists (and each try costs a pass over the page).
    tried = sorted(h for h in headlines if h > 0)[:_MAX_HEADLINES_TRIED]
    below = [r for h in tried if (r := _run_below(weights, h, headlines))]
    if below:
        anchored = max(below)
        if free is None or anchored[0] * _HEADLINE_TRUST >= free[0]:
            return anchored[1], anchored[2]
    if free is None:
        return 0, len(weights)
    return free[1], free[2]


# How many lines into the region a byline or date may sit below a standfirst.
_STANDFIRST_REACH = 6


def _skip_standfirst(lines: Sequence[_Line], start: int, end: int) -> int:
    """Move the region's start below a byline or date that follows its first lines.

    A standfirst (the summary under the headline) reads like prose and opens the
    region, but the byline and the date come after it, right before the article.
    The start only moves if prose remains below.
    """
    new_start = start
    for line in lines[start + 1 : min(end, start + _STANDFIRST_REACH)]:
        if line.byline or line.dateline:
            new_start = line.index + 1
    if any(_is_prose(line) for line in lines[new_start:end]):
        return new_start
    return start


def _extend_continuations(lines: Sequence[_Line], end: int) -> int:
    """Move the region's end over text its last line announces or leaves unfinished.

    The search stops at the last prose line, but an article can end on a list
    ("Tour dates:" then one short line per date) or on a sentence the page split
    over lines; both weigh negative yet belong to the article.
    """
    while 0 < end < len(lines):
        last, following = lines[end - 1], lines[end]
        if following.furniture or following.duplicate:
            break
        if last.text.endswith(":"):
            block = following.block  # the announced list runs to the end of its block
            while end < len(lines) and lines[end].block == block and not lines[end].furniture:
                end += 1
            break
        # An unfinished sentence, or a line announcing what comes next ("Dates:").
        if (
            last.text.endswith((",", "、", ";"))
            or following.text[:1].islower()
            or following.text.endswith(":")
        ):
            end += 1
            continue
        break
    return end


# =========================================================================== metadata in lines


def _credit_of(text: str) -> list[str] | None:
    """Agencies named by a credit line such as "The world with AFP", else ``None``."""
    if word_count(text) > _CREDIT_MAX_WORDS:
        return None
    match = _CREDIT_RE.match(text.strip())
    if not match:
        return None
    return [a for a in _AGENCY_SPLIT_RE.split(match.group("agencies")) if a]


# Lower-case words that belong inside names ("Ludwig van Beethoven", "Ana de Souza").
_NAME_PARTICLES = frozenset("van von de der den da di du del della la le bin al el dos das".split())


def _name_of(raw: str) -> str | None:
    """A person's name from the start of a byline fragment, or ``None``.

    Stops at the first word that cannot be part of a name: "Regan September 15"
    gives "Regan", "Moritz Bachmann publiziert am" gives "Moritz Bachmann".
    """
    words: list[str] = []
    for word in raw.split():
        if word.casefold().strip(".") in _MONTHS:
            break
        if not word[:1].isupper() and word not in _NAME_PARTICLES:
            break
        words.append(word)
    name = " ".join(words).strip(" -–—|:,")
    # Names are capitalised and short: "By the numbers" is a subheading, not a byline.
    return name if name[:1].isupper() and 1 <= len(name.split()) <= 4 else None


def _authors_of(text: str) -> list[str]:
    """Names from a byline like "By Jane Doe and John Roe | Updated ..."."""
    match = _BYLINE_RE.match(text)
    if not match:
        return []
    fragments = re.split(r"\s*(?:,|&|\band\b|\bet\b|\bund\b|\by\b|\be\b)\s*", match.group("names"))
    return [name for name in map(_name_of, fragments) if name]


def _date_of(text: str) -> datetime | None:
    """First unambiguous calendar date in a line (ISO or English month name), UTC midnight.

    Numeric dates like 06/07/2019 are skipped: day-first and month-first sites
    cannot be told apart from the text alone.
    """
    for pattern in _DATE_PATTERNS:
        match = pattern.search(text)
        if not match:
            continue
        groups = match.groupdict()
        month = int(groups["m"]) if groups.get("m") else _MONTHS[groups["mon"].lower()]
        try:
            return datetime(int(groups["y"]), month, int(groups["d"]), tzinfo=UTC)
        except ValueError:
            continue
    return None


# =========================================================================== text entry point

# Credit lines close an article: they are looked for among this many lines on each
# side of the region's end (below it too, since they weigh negative and fall
# outside). Elsewhere a short "... with AP" line is more likely a sentence.
_CREDIT_REACH = 3
# A page whose longest kept line is shorter than this holds labels, not an article.
_MIN_PARAGRAPH_WORDS = 4


def extract_from_text(text: str, title_hint: str | None = None) -> Extracted:
    """Clean an already-scraped page: keep the article's paragraphs, drop the furniture.

    Steps: split into lines (blank lines separate blocks) and weigh each by how much
    it reads like prose; find the headline; take the run of lines below it (or the
    heaviest run on the page) as the article, so menus above and footers, related
    links and comment threads below stay out; inside the run drop what is still
    furniture (teasers, counters, bylines, comment forms, headline copies); pull
    agency credit lines ("The world with AFP") out into ``credit``. ``title_hint`` (a
    headline known from elsewhere, such as a feed) wins over the guessed one.
    Raises :class:`ExtractionError` when no article is left.
    """
    _reject_unusable(text, "text")
    page_language, stopwords = _stopwords_for(text)
    lines = _lines_of(text, stopwords)
    if not lines:
        raise ExtractionError("text input has no words")

    guess = _find_title(lines, title_hint, page_language)
    start, end = _choose_region(_weights(lines, guess), guess.lines)
    end = _extend_continuations(lines, end)
    start = _skip_standfirst(lines, start, end)

    credit: list[str] = []
    body: list[str] = []
    related: list[str] = []
    for line in lines[start : end + _CREDIT_REACH]:
        at_tail = line.index >= end - _CREDIT_REACH
        agencies = _credit_of(line.text) if at_tail else None
        headline = _teaser_headline(line.text)
        if headline is not None:
            related.append(headline)
        elif agencies is not None:
            credit.extend(a for a in agencies if a not in credit)
        elif line.index < end and not (
            line.index in guess.lines
            or line.furniture
            or line.numeric
            or line.words == 0
            or line.duplicate
            or line.byline
            or line.dateline
        ):
            body.append(line.text)
    # Without any prose the region is the whole page; menu items alone are no article.
    if not any(word_count(paragraph) >= _MIN_PARAGRAPH_WORDS for paragraph in body):
        raise ExtractionError("no article text found: every line looks like page furniture")

    # Bylines and dates sit between the headline and the body (sometimes below a
    # standfirst); teaser cards higher up the page carry stamps of their own.
    top = min((i for i in guess.lines if i > 0), default=0)
    stamps = [line for line in lines[top:end] if line.byline or line.dateline]
    authors = next((a for a in (_authors_of(line.text) for line in stamps) if a), [])
    published = next((d for d in (_date_of(line.text) for line in stamps) if d), None)
    body_text = "\n\n".join(body)
    return Extracted(
        title=guess.title,
        text=body_text,
        authors=authors,
        published_at=published,
        language=detect_language(body_text),
        site_name=guess.site_name,
        credit=credit,
        input_format="text",
        related=related,
    )


# =========================================================================== HTML

# Block elements end a line when the fallback flattens HTML; paragraph-like ones
# also leave a blank line, the way scraped text looks.
_PARAGRAPH_TAGS = frozenset(
    "p h1 h2 h3 h4 h5 h6 blockquote pre table ul ol dl figure header footer nav aside "
    "section article main form".split()
)
_LINE_TAGS = frozenset("div li tr td th dd dt figcaption br hr option label".split())
_SKIPPED_TAGS = frozenset("script style noscript template svg head iframe object canvas".split())


def _html_to_text(html: str) -> str:
    """Flatten HTML to one block per line, ``<title>`` first, for the text cleaner.

    Used when trafilatura finds no body. ``text_content()`` would glue menus and
    paragraphs into one line and leave the text cleaner nothing to tell apart.
    """
    import lxml.etree
    import lxml.html  # trafilatura's own dependency; imported with it, lazily

    try:
        root = lxml.html.document_fromstring(html)
    except (ValueError, lxml.etree.ParserError) as exc:
        raise ExtractionError(f"HTML input cannot be parsed: {exc}") from exc
    parts: list[str] = []
    title = root.findtext(".//title")
    if title and title.strip():
        parts.append(title.strip() + "\n\n")

    def walk(element: lxml.html.HtmlElement) -> None:
        tag = element.tag if isinstance(element.tag, str) else ""  # comments have no tag
        if tag and tag not in _SKIPPED_TAGS:
            breaker = "\n\n" if tag in _PARAGRAPH_TAGS else "\n" if tag in _LINE_TAGS else ""
            parts.append(breaker)
            parts.append(element.text or "")
            for child in element:
                walk(child)
            parts.append(breaker)
        parts.append(element.tail or "")

    body = root.find("body")
    walk(body if body is not None else root)
    # Runs of blank lines become one, so blocks are separated exactly as in scraped text.
    return re.sub(r"[^\S\n]*\n(?:[^\S\n]*\n)+", "\n\n", "".join(parts)).strip()


def _parse_date(value: str | None) -> datetime | None:
    """trafilatura's date string as an aware datetime (UTC when it carries no zone)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _split_authors(value: str | None) -> list[str]:
    """trafilatura joins authors with "; "; some sites add "and" or "&" themselves."""
    if not value:
        return []
    return [n.strip() for n in re.split(r"\s*;\s*|\s+and\s+|\s*&\s*", value) if n.strip()]


def _tidy_body(text: str, title: str | None) -> tuple[str, list[str], list[str]]:
    """Drop the furniture lines trafilatura kept and pull credit lines out of its body.

    trafilatura removes most boilerplate, but the headline it sometimes starts the
    body with, a "Read also | ..." teaser, a "Comments" heading or a "The world with
    AFP" credit inside the article container survive it. Only line-level rules
    apply here (no region search): the body stays trafilatura's. Returns the
    normalised body, the credited agencies and the teasers' headlines.
    """
    credit: list[str] = []
    kept: list[str] = []
    related: list[str] = []
    raw_lines = [r for r in (_normalise_line(raw) for raw in text.splitlines()) if r]
    if raw_lines and title and _key(raw_lines[0]) == _key(title):
        raw_lines = raw_lines[1:]
    for index, raw in enumerate(raw_lines):
        line = _make_line(index, index, raw, None)
        at_tail = index >= len(raw_lines) - _CREDIT_REACH
        agencies = _credit_of(line.text) if at_tail else None
        headline = _teaser_headline(line.text)
        if headline is not None:
            related.append(headline)
        elif agencies is not None:
            credit.extend(a for a in agencies if a not in credit)
        elif not (line.boilerplate or line.section_break or line.comments_start):
            kept.append(line.text)
    return "\n\n".join(kept), credit, related


def extract_from_html(html: str, url: str | None = None) -> Extracted:
    """Extract the article from a served HTML page with trafilatura and tidy the result.

    trafilatura runs with its defaults (the evaluation's reference row) except that
    comments are left out, since ``text`` is the article alone; given a string it
    never fetches anything. Title, authors, date and site name are trafilatura's;
    the language is detected on the extracted body, which is more reliable than a
    page's ``lang`` attribute. When trafilatura finds no body, the page is flattened
    and goes through :func:`extract_from_text`. Raises :class:`ExtractionError` for
    empty, binary or article-less pages.
    """
    _reject_unusable(html, "HTML")
    # Imported here: trafilatura pulls in lxml, htmldate, courlan and more, which
    # code that only handles text should not pay for.
    import trafilatura
    from trafilatura.settings import Document, set_date_params

    # The default date search, but keeping the time of day, not only the date.
    date_params = {**set_date_params(True), "outputformat": "%Y-%m-%dT%H:%M:%S%z"}
    result = trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=True,
        include_comments=False,
        date_extraction_params=date_params,
    )
    # bare_extraction returns a dict only when asked to (as_dict=True).
    document = result if isinstance(result, Document) else None
    if document is None:
        return replace(extract_from_text(_html_to_text(html)), input_format="html")
    title = _normalise_line(document.title) if document.title else None
    body, credit, related = _tidy_body(document.text or "", title)
    # As in the text path, a body of labels alone ("Home", "News") is no article.
    if not any(word_count(p) >= _MIN_PARAGRAPH_WORDS for p in body.split("\n\n")):
        fallback = extract_from_text(_html_to_text(html))
        return replace(
            fallback,
            title=title or fallback.title,
            site_name=document.sitename or fallback.site_name,
            input_format="html",
        )
    return Extracted(
        title=title,
        text=body,
        authors=_split_authors(document.author),
        published_at=_parse_date(document.date),
        language=detect_language(body) or document.language,
        site_name=document.sitename or None,
        credit=credit,
        input_format="html",
        related=related,
    )


def clean(
    html: str | None,
    text: str | None,
    url: str | None = None,
    title_hint: str | None = None,
) -> Extracted:
    """Clean whichever form of the page a message carries, preferring HTML.

    HTML keeps the page's structure and gives the better body, so it goes first;
    scraped text is used when there is no HTML or the HTML holds no article. A
    headline known from the source (``title_hint``) wins over the extracted one.
    Raises :class:`ExtractionError` when neither form yields an article.
    """
    has_text = bool(text and text.strip())
    if html and html.strip():
        try:
            result = extract_from_html(html, url=url)
        except ExtractionError:
            if not has_text:
                raise
        else:
            if title_hint and title_hint.strip():
                result = replace(result, title=_normalise_line(title_hint))
            return result
    if text and has_text:
        return extract_from_text(text, title_hint=title_hint)
    raise ExtractionError("message carries neither HTML nor text")
