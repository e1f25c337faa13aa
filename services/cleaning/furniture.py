"""Phrases that mark a line as page furniture rather than article text.

Menus, share bars, comment forms, cookie banners, rights notices, "related
stories" headings and author boxes, in several languages. Every rule is general;
none is keyed to a site.
"""

# Typographic punctuation and other scripts are matched on purpose (RUF001).
from __future__ import annotations

import re

# Furniture phrases, matched only on lines of at most BOILERPLATE_MAX_WORDS words so
# that an article that *talks* about newsletters or sharing keeps its paragraphs.
# Checked against the hand-made article bodies of the evaluation set: they match
# about one article line in 150, mostly lines that are furniture anyway.
BOILERPLATE_MAX_WORDS = 25
BOILERPLATE_RE = re.compile(
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
# Rights notices of Korean, Japanese and Chinese sites ("무단전재 및 재배포금지":
# no reproduction or redistribution; "ⓒ", the circled c they use for ©).
_CJK_RIGHTS = (
    r"ⓒ | 무단\s*전재 | 재배포\s*금지 | 저작권자 | 無断転載 | 無断複製 | 版权所有 | 版權所有"
)
LONG_BOILERPLATE_RE = re.compile(
    rf"""\bcookies?\b.*\b(?:{_COOKIE_CONTEXT})\b | \b(?:{_COOKIE_CONTEXT})\b.*\bcookies?\b
    | ^© | ©\s*(?:19|20)\d\d | \ball\s+rights\s+reserved\b | \bregistered\s+trademarks?\s+of\b
    | {_CJK_RIGHTS}""",
    re.IGNORECASE | re.VERBOSE,
)


# The opening line of a comment thread. A thread never sits inside an article, so
# once an article has been read this line is a wall (see line_weights).
COMMENTS_START_RE = re.compile(
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
    r"""\ball\s+rights\s+reserved\b | \btous\s+droits\s+réservés\b | \balle\s+rechte\s+vorbehalten\b
    | \btodos\s+los\s+derechos\s+reservados\b | \btutti\s+i\s+diritti\s+riservati\b
    | \btodos\s+os\s+direitos\s+reservados\b | \bcopyright\s*(?:©|\(c\))?\s*(?:19|20)\d\d
    | """
    + _CJK_RIGHTS,
    re.IGNORECASE | re.VERBOSE,
)
