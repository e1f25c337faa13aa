"""Phrases that mark a line as page furniture rather than article text.

Menus, share bars, comment forms, cookie banners, rights notices, "related
stories" headings and author boxes, in several languages. Every rule is general;
none is keyed to a site.
"""

# Typographic punctuation and other scripts are matched on purpose (RUF001).
from __future__ import annotations

import re

# The patterns below group their alternatives by where they may start: at the line
# start (one ``^(?:...)``), at a word start (one ``\b(?:...)``), elsewhere. Python's
# re tries every alternative at every position; behind one shared anchor a whole
# group fails at once where the anchor does not hold, which makes a search over a
# line several times cheaper than with each alternative behind its own anchor.

# Furniture phrases, matched only on lines of at most BOILERPLATE_MAX_WORDS words so
# that an article that *talks* about newsletters or sharing keeps its paragraphs.
# Checked against the hand-made article bodies of the evaluation set: they match
# about one article line in 150, mostly lines that are furniture anyway.
BOILERPLATE_MAX_WORDS = 25
BOILERPLATE_RE = re.compile(
    r"""
    ^(?:
      # teasers and link lists
      (?:read|see|watch)\s+(?:also|more)\b | more\s*: | related\s*(?:[:|]|$) | recommended\b
      | (?:most\s+)?(?:popular|read)\s*$ | (?:previous|next)\s+(?:post|article|story)\b
      | (?:show|view|see)\s+(?:all|more)\b | continue\s+reading\b | click\s+here\b
      # comment forms and counters
      | (?:post|add|write)\s+a\s+comment
      | \d+\s+(?:comments?|replies|responses?|shares?|views?)\s*$ | comments?\s*(?:\(\d+\))?\s*$
      | notify\s+me\b
      # sharing and following
      | share\b | (?:tweet|pin\s+it|e-?mail|print|whatsapp|facebook|twitter|linkedin|reddit
        |pinterest|flipboard|pocket|telegram|copy\s+link)\s*$
      | partager\b | teilen\b | condividi\b | compartir\b | compartilhe\b | follow\s+(?:us\b|@)
      # subscriptions, accounts, newsletters
      | subscribe\b | sign\s+(?:in|up)\b | log\s*(?:in|out)\b | register\s*$
      | (?:get|receive|sign\s+up\s+for|subscribe\s+to)\b.*\balerts?\b | abonnez-vous
      | already\s+a\s+subscriber
      # cookies and legal
      | ©
      # navigation and page chrome
      | skip\s+to\b | back\s+to\s+top\b | (?:tags?|filed\s+under|posted\s+in|categories|topics)\s*:
      | (?:advertisement|advert|ad|anzeige|publicité|pubblicità|publicidad|sponsored)\s*$
      | (?:close|video|report|shares?|sms|buffer|pin|x|menu|search|home|more|load\s+more
        |show\s+more)\s*$
      | image/svg | <(?:img|div|span|a|iframe|script|p|br)\b[^>]*>
      # pictures and their credits
      | (?:photo|image|picture|credit|source)s?\s*: | (?:image|media|photo|video)\s+caption\b
      | (?:image|photo|slide)\s+\d+\s+(?:of|/)\s+\d+ | \d+\s+(?:of|/)\s+\d+$ | file\s+photo\b
      | (?:photo(?:graph)?|image|video|illustration)\s+by\b
      # reporting credits and contact lines
      | \(?(?:additional\s+)?(?:reporting|writing|editing|compiled)\s+by\b
      | reach\s+the\s+(?:reporter|author|writer)s?\b
      | (?:contact|email)\s+the\s+(?:reporter|author|writer)s?\b
    )
    | \b(?:
      # teasers and link lists
      you\s+(?:may|might)\s+(?:also\s+)?(?:like|enjoy)\b | sponsored\s+links?\b
      | affiliate\s+commission\b
      # comment forms and counters
      | leave\s+a\s+(?:reply|comment)\b | please\s+enter\s+your\b | must\s+be\s+logged\s+in\b
      | email\s+address\s+will\s+not\s+be\s+published\b | required\s+fields\s+are\s+marked\b
      | save\s+my\s+name\b
      # sharing and following
      | share\s+(?:this|on|via)\b
      | follow\s+(?:us|me|him|her|them|\S+(?:\s+\S+)?)\s+on\s+(?:twitter|facebook|instagram
        |linkedin)\b
      # subscriptions, accounts, newsletters
      | subscribe\s+(?:now|to|today)\b | sign\s+up\s+(?:for|to)\b | newsletter\b | your\s+inbox\b
      | unsubscribe\b | breaking\s+news\s+emails?\b | reserved\s+for\s+(?:our\s+)?subscribers\b
      | subscribers\s+only\b | abonnieren\b
      # cookies and legal
      | (?:we|this\s+(?:web)?site)\s+uses?\s+cookies\b | cookie\s+(?:policy|settings|consent)\b
      | accept\s+(?:all\s+)?cookies\b | copyright\b | all\s+rights\s+reserved\b | privacy\s+policy\b
      | terms\s+(?:of\s+(?:use|service)|and\s+conditions|&\s+conditions)\b
      | tous\s+droits\s+réservés\b | alle\s+rechte\s+vorbehalten\b | trust\s+principles\b
      # navigation and page chrome
      | this\s+slideshow\s+requires\s+javascript\b | enable\s+javascript\b
      | created\s+with\s+sketch\b
      # pictures and their credits
      | getty\s+images\b | shutterstock\b | credit\s*(?:\.\.\.|…|:) | submitted\s+photo\b | reuters/
      # reporting credits and contact lines
      | may\s+be\s+reached\s+at\b | have\s+a\s+(?:news\s+)?tip\b
    )
    | \((?:image|photo|picture)(?:\s+credit)?\s*:.*\)$
    | /\s*(?:ap|afp|reuters|getty|associated\s+press|epa)\s*$
    """,
    re.IGNORECASE | re.VERBOSE,
)

# Words that turn a mention of cookies into a consent banner, in several languages.
_COOKIE_CONTEXT = (
    r"website|site|sito|sitio|seite|webseite|browsing|navigation|navigazione|navegación"
    r"|experience|esperienza|experiencia|expérience|consent|consenso|einwilligung|opt[- ]out"
    r"|accept|accetta|acepta|akzeptieren|preferences|privacy"
)
# Furniture recognisable at any length: cookie banners (a mention of cookies and a
# word of their context, in either order) and legal footers run to
# several sentences, so the short-line rule above would let them pass as prose.
# Rights notices of Korean, Japanese and Chinese sites ("무단전재 및 재배포금지":
# no reproduction or redistribution; "ⓒ", the circled c they use for ©).
_CJK_RIGHTS = (
    r"ⓒ | 무단\s*전재 | 재배포\s*금지 | 저작권자 | 無断転載 | 無断複製 | 版权所有 | 版權所有"
)
LONG_BOILERPLATE_RE = re.compile(
    rf"""^(?=.*\bcookies?\b).*\b(?:{_COOKIE_CONTEXT})\b
    | ^© | ©\s*(?:19|20)\d\d | \b(?:all\s+rights\s+reserved|registered\s+trademarks?\s+of)\b
    | {_CJK_RIGHTS}""",
    re.IGNORECASE | re.VERBOSE,
)


# Every alternative of LONG_BOILERPLATE_RE holds one of these (case folded): lines
# without any, nearly all of them, are passed without running the pattern. Keep the
# two in step.
_LONG_BOILERPLATE_HINTS = (
    "cookie",
    "©",
    "rights",
    "trademark",
    "ⓒ",
    "무단",
    "재배포",
    "저작권자",
    "無断",
    "版权所有",
    "版權所有",
)


def is_long_boilerplate(text: str) -> bool:
    """Furniture at any length: a cookie banner, a rights notice (LONG_BOILERPLATE_RE)."""
    # Substring tests, not one regex alternation of the hints: Python's re
    # scans an alternation of literals position by position, 3.5x slower on a
    # 400-character paragraph (the usual body line); the regex wins only on
    # lines under ~100 characters.
    folded = text.casefold()
    if not any(hint in folded for hint in _LONG_BOILERPLATE_HINTS):
        return False
    return bool(LONG_BOILERPLATE_RE.search(text))


# The opening line of a comment thread. A thread never sits inside an article, so
# once an article has been read this line is a wall (see line_weights).
COMMENTS_START_RE = re.compile(
    r"""
    ^(?:\[?\s*\d+\s+(?:comments?|responses?|replies|reactions?)\b
      | (?:(?:top\s+rated|all|view|show|read\s+all|load|see)\s+)?(?:comments?|replies)\s*
        (?:\(\d+\))?\s*\]?\s*:?$
      | post\s+a\s+comment\b | add\s+(?:a\s+)?comment\b | join\s+the\s+(?:conversation|discussion)\b
      | reply\s*$ | commentaires?\s*$ | kommentare?\s*$ | commenti\s*$ | comentarios?\s*$
      | комментарии\s*$ | kommentar\s+schreiben\b)
    | \b(?:leave\s+a\s+(?:reply|comment)\b | comments\s+are\s+closed\b
      | (?:says|said|wrote|writes)\s*:\s*$ | lascia\s+un\s+commento\b
      | laisser\s+un\s+commentaire\b | deja\s+un\s+comentario\b | deixe\s+um\s+comentário\b
      | schreibe\s+einen\s+kommentar\b)
    """,
    re.IGNORECASE | re.VERBOSE,
)
# Headings of what follows an article: related stories, most read, author boxes.
# They can also interrupt an article (an inline "Related" box), so they cost a high
# but finite price rather than being walls.
SECTION_BREAK_MAX_WORDS = 8
SECTION_BREAK_RE = re.compile(
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
AUTHOR_BOX_RE = re.compile(
    r"^(?:About|ABOUT|Über|Sobre|À propos de|A proposito di|Об авторе)\s+"
    r"[A-ZÀ-ÝА-Я][\w'.-]+(?:\s+[A-ZÀ-ÝА-Я][\w'.-]+){0,3}$"
)
# Footer rights notices. Like a comment opener they end the article (see line_weights).
RIGHTS_RE = re.compile(
    r"""\b(?:all\s+rights\s+reserved\b | tous\s+droits\s+réservés\b | alle\s+rechte\s+vorbehalten\b
      | todos\s+los\s+derechos\s+reservados\b | tutti\s+i\s+diritti\s+riservati\b
      | todos\s+os\s+direitos\s+reservados\b | copyright\s*(?:©|\(c\))?\s*(?:19|20)\d\d)
    | """
    + _CJK_RIGHTS,
    re.IGNORECASE | re.VERBOSE,
)
