"""The cheaper forms of the cleaning stage's text steps give what the plain forms give.

Fingerprints are dedup keys compared across versions (Redis), so the SimHash is
checked against a plain loop over its 64 bits; the whole-text normalisation
against the line-by-line one; the vectorised language walk against py3langid;
the bounded word count against the full one, the word count against the \\w+ runs.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter

import py3langid
import pytest

from services.cleaning import langid_walk, language
from services.cleaning.fingerprint import fingerprint
from services.cleaning.text import (
    WORD_RE,
    normalise_body_text,
    normalise_line,
    normalise_lines,
    word_count,
    words_up_to,
)

_TEXTS = [
    "",
    "one",
    "two words",
    "The government announced new measures on Tuesday. " * 30,
    "Le gouvernement a annoncé mardi de nouvelles mesures, « dit-il ».\n\nDeuxième paragraphe.",
    "ΟΔΟΣ ΣΤΗΝ ΑΘΗΝΑ ΚΑΙ ΤΟ ΣΧΟΛΕΙΟ",  # capital sigma: lower case depends on neighbours
    "İSTANBUL'DA BÜYÜK TOPLANTI",  # capital I with dot: lower case is two characters
    "東京都は火曜日に新しい対策を発表した。\n市民は歓迎している。",
    "서울시는 화요일 새로운 대책을 발표했다",
    "Curly \u2018quotes\u2019 and \u201cdouble\u201d ones\u00a0with NBSP,\u200b zero width",
    "lines \r\n with CR\u2028and separators\x0bhere\n\n\n  spaced   out  \t\n",
    "e\u0301 composed, \ufb01 ligature, soft\u00adhyphen \u2003em space\n \u3000ideographic",
]


def _reference_fingerprint(text: str) -> str:
    """The SimHash as first written: a loop over the 64 bits of each shingle's hash."""
    words = [w.lower() for w in WORD_RE.findall(normalise_body_text(text))]
    if not words:
        return "0" * 16
    triples = zip(words, words[1:], words[2:], strict=False) if len(words) >= 3 else [words]
    totals = [0] * 64
    for gram, weight in Counter(map(" ".join, triples)).items():
        value = int.from_bytes(hashlib.blake2b(gram.encode(), digest_size=8).digest(), "big")
        for bit in range(64):
            totals[bit] += weight if value >> bit & 1 else -weight
    return f"{sum(1 << bit for bit in range(64) if totals[bit] > 0):016x}"


def _random_texts(count: int) -> list[str]:
    pieces = [*"ab cdeΣİ\n\n \t\u00a0\u200b’“x1é\u0301\u2003\u3000", "word ", "the ", "\n ", " \n"]
    pieces += ["\r", "\u2028", "ﬁ", "\u201f", "\u2032", "\ufeff"]
    rng = random.Random(12)
    return ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 60))) for _ in range(count)]


@pytest.mark.parametrize("text", _TEXTS)
def test_fingerprint_is_the_plain_simhash(text: str) -> None:
    assert fingerprint(text) == _reference_fingerprint(text)


def test_fingerprint_is_the_plain_simhash_on_random_texts() -> None:
    for text in _random_texts(2_000):
        assert fingerprint(text) == _reference_fingerprint(text), repr(text)


def test_normalise_lines_is_normalise_line_line_by_line() -> None:
    for text in [*_TEXTS, *_random_texts(5_000)]:
        expected = [line for line in map(normalise_line, text.splitlines()) if line]
        assert normalise_lines(text) == expected, repr(text)


def test_words_up_to_is_the_word_count_up_to_the_limit() -> None:
    long = "word " * 400 + "東京都は火曜日に新しい対策を発表した" * 20
    for text in [*_TEXTS, long, long[::-1], "x" * 1_000 + " y"]:
        for limit in (0, 1, 8, 25):
            counted = words_up_to(text, limit)
            full = word_count(text)
            assert counted == full if full <= limit else counted > limit


def test_word_count_is_the_count_of_word_runs() -> None:
    # ASCII texts are counted on bytes, the others with the expression: both
    # must give the \w+ runs (CJK aside, which counts two characters a word).
    rng = random.Random(7)
    ascii_texts = [
        "".join(rng.choice("ab_9 -.\n\tZ") for _ in range(rng.randint(0, 30))) for _ in range(3_000)
    ]
    for text in [*_TEXTS, *_random_texts(2_000), *ascii_texts, "_", " a", "a ", "\x00a\x7fb"]:
        if not any("\u3040" <= ch <= "\ud7af" or "\uf900" <= ch <= "\ufaff" for ch in text):
            assert word_count(text) == len(WORD_RE.findall(text)), repr(text)


@pytest.mark.parametrize("text", [t for t in _TEXTS if t.strip()])
def test_language_walk_gives_what_py3langid_gives(text: str) -> None:
    assert langid_walk.classify(text) == py3langid.classify(text)[0]


def test_language_walk_on_random_texts() -> None:
    for text in _random_texts(500):
        found = langid_walk.classify(text)
        if found is not None:  # None: left to py3langid (no feature at all)
            assert found == py3langid.classify(text)[0], repr(text)


def test_a_short_window_is_caught_and_left_to_py3langid(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "The government announced new measures on Tuesday."
    monkeypatch.setattr(langid_walk, "_WINDOW", 1)  # shorter than the automaton's depth
    assert langid_walk.classify(text) is None
    assert language.detect_language(text) == "en"


def test_internals_not_as_pinned_leave_the_answer_to_py3langid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = "The government announced new measures on Tuesday."
    # The walk's model cannot be built: remembered as unsupported, not raised.
    monkeypatch.setattr(py3langid.langid, "_get_identifier", lambda: object())
    langid_walk._model.cache_clear()
    try:
        assert langid_walk._model() is None
        assert langid_walk.classify(text) is None
    finally:
        monkeypatch.undo()
        langid_walk._model.cache_clear()

    # The walk itself fails: the worker still gets py3langid's answer, no exception.
    def broken(_text: str) -> str | None:
        raise AttributeError("_sparse_score")

    monkeypatch.setattr(langid_walk, "classify", broken)
    assert language.detect_language(text) == "en"


def test_language_falls_back_to_py3langid(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "The government announced new measures on Tuesday."
    monkeypatch.setattr(langid_walk, "classify", lambda _text: None)
    assert language.detect_language(text) == "en"
