"""The headline of already-scraped text, the site name beside it, and its copies on the page."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from services.cleaning.language import STOPWORDS
from services.cleaning.scraped import Line
from services.cleaning.text import WORD_RE, comparison_key, normalise_line

# Separators sites put between the headline and their name in <title>.
_TITLE_SEPARATOR_RE = re.compile(r"\s+[|–—:·•»-]\s+|\s+-{2}\s+|\s*::\s*")


@dataclass(frozen=True)
class TitleGuess:
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


def find_title(lines: Sequence[Line], title_hint: str | None, language: str | None) -> TitleGuess:
    """Guess the headline, the site name and the lines that repeat the headline.

    Pages say their headline several times: in ``<title>`` (which scraped text
    usually starts with, often followed by the site name), in the breadcrumb, in
    the ``<h1>``. The headline is the first short line that matches the headline
    part of the first line, that the first line mostly contains, or that shares
    most of its meaningful words with it (sites reword the ``<h1>``).
    """
    if not lines:
        return TitleGuess(None, None, frozenset())
    first = lines[0].text
    first_key = comparison_key(first)
    parts = _split_title(first)
    # The longest part of "Headline | Site" is the headline; the others name the site
    # (and the site's logo line repeats all over the page: it must not win).
    headline_part = (
        comparison_key(max(parts, key=lambda p: len(WORD_RE.findall(p)))) if parts else ""
    )
    stopwords = STOPWORDS.get(language or "", frozenset())
    headline_words = _content_words(headline_part, stopwords)
    counts = Counter(comparison_key(line.text) for line in lines)

    best: tuple[float, str] | None = None
    for line in lines[1:]:
        key = comparison_key(line.text)
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
        others = [
            p for p in parts if comparison_key(p) != comparison_key(title) and len(p.split()) <= 5
        ]
        site = others[-1] if others else None
    # The first line is itself a headline copy only when it looks like <title>.
    first_copy = first_key if len(parts) > 1 else ""
    # A hint is one more name for the headline: the page's own copies still mark
    # where the article starts, and the hint is what the caller gets back.
    title_keys = [comparison_key(t) for t in (title, title_hint) if t and t.strip()]
    repeats = frozenset(
        line.index
        for line in lines
        if not (line.comments_start or line.boilerplate)
        and any(_is_title_repeat(comparison_key(line.text), key, first_copy) for key in title_keys)
    )
    if title_hint and title_hint.strip():
        title = normalise_line(title_hint)
    return TitleGuess(title, site, repeats)
