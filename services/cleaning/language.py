"""Language of a text and the function-word lists the scraped-text cleaner weighs lines by."""

# Word lists read best as one string per language (SIM905 would spell them out).
# ruff: noqa: SIM905

from __future__ import annotations

# py3langid is unreliable on a few words; below this many letters we say "unknown".
_MIN_LANGUAGE_LETTERS = 20
# An article's language is settled by its first paragraphs.
BODY_SAMPLE_CHARS = 1_000
# A scraped page's language is judged on more: its long lines, up to this many
# characters, so menus in another language do not decide it.
PAGE_SAMPLE_CHARS = 20_000


def detect_language(text: str, limit: int = BODY_SAMPLE_CHARS) -> str | None:
    """ISO 639-1 code of the text's language, or ``None`` when it is too short to tell.

    Only the first ``limit`` characters are classified: py3langid's cost grows with
    the text while its answer settles within a few sentences.
    """
    text = text[:limit]
    if not _has_letters(text, _MIN_LANGUAGE_LETTERS):
        return None
    language = _classify(text)
    return str(language) if language else None


def _has_letters(text: str, count: int) -> bool:
    """Does ``text`` hold at least ``count`` letters? (stops counting there)"""
    for ch in text:
        if ch.isalpha():
            count -= 1
            if count <= 0:
                return True
    return count <= 0


def _classify(text: str) -> object:
    """``py3langid.classify(text)[0]``, with its byte walk done by numpy (:mod:`.langid_walk`).

    Imported here: py3langid loads its model on first use, and code that never
    needs a language should not pay for importing it.
    """
    import py3langid

    from services.cleaning.langid_walk import classify

    try:
        language = classify(text)
    except Exception:  # py3langid's internals are not as pinned: the library answers
        language = None
    if language is None:  # another py3langid version, or a text the walk leaves to it
        language, _score = py3langid.classify(text)
    return language


# The most frequent function words of the languages we see most. A sentence is full
# of them, a menu item or a headline has few. Languages without a list (Japanese,
# Korean, Chinese, ...) are judged on length and end punctuation alone.
STOPWORDS: dict[str, frozenset[str]] = {
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


def stopwords_for(text: str) -> tuple[str | None, frozenset[str] | None]:
    """Language of the page (judged on its longer lines) and its stopword list, if any."""
    sample = "\n".join(line for line in text.splitlines() if len(line) > 80)
    language = detect_language(sample or text, limit=PAGE_SAMPLE_CHARS)
    return language, STOPWORDS.get(language or "")
