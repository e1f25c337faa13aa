"""The headline of a served page: which of its titles is the article's, without the site name.

A page states its title up to five times: ``<title>``, ``og:title``,
``twitter:title``, the JSON-LD ``headline`` and the visible ``<h1>``. The first
four are written for search engines and link previews, and usually carry the site
name ("Headline | Site") or an SEO rewording; the ``<h1>`` is what the reader sees
above the article. So the visible ``<h1>`` wins when it is plausibly the headline
(it is not the site's logo, not a navigation label, and, when several exist, the
one closest to the declared titles); otherwise the declared titles are used, with
the site name stripped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from services.cleaning.text import WORD_RE, comparison_key, normalise_line

# Separators sites put between a headline and their name ("Headline | Site",
# "Site - Headline", "Headline • Site"). A colon is not one: "Apple: the review"
# is a headline.
_SEPARATOR_RE = re.compile(r"\s+[|–—·•»~/-]\s+|\s+-{2}\s+|\s*::\s*|\s+\|\s*|\s*\|\s+")
# Separators after which a short tail is a site or section name even when it is
# not declared anywhere ("What people love about Rust | Rust Blog"). Dashes are
# left out: headlines use them themselves ("Spider-Man 2 - the review").
_TAIL_SEPARATOR_RE = re.compile(r"\s+[|•·»]\s+|\s+\|\s*|\s*\|\s+")
_MAX_TAIL_WORDS = 4
# Headlines are short; anything longer is a paragraph that a template put in <h1>.
_MAX_HEADLINE_WORDS = 40
# Below this similarity an <h1> is not a rewording of a declared title but some
# other heading (a section title, a widget's label).
_MIN_SIMILARITY = 0.3
# "Title: ...", "Blog: ...": a one-word label before the headline.
_LABEL_RE = re.compile(r"^([^\W\d_]+)\s*:\s*(?=\S)")
# Visible <h1>s read per page; more are a template's widgets, not headlines.
MAX_H1 = 8


def _words(text: str) -> set[str]:
    return set(comparison_key(text).split())


def similarity(a: str, b: str) -> float:
    """Dice coefficient of the two texts' word sets (0 when either is empty).

    Symmetric on purpose: a one-word ``<h1>`` ("Discord") inside a long title is
    a section heading, not a rewording of the title.
    """
    wa, wb = _words(a), _words(b)
    if not wa or not wb:
        return 0.0
    return 2 * len(wa & wb) / (len(wa) + len(wb))


def _squash(text: str) -> str:
    """Letters and digits only, lower case: "Driving-Tests.org" -> "drivingtestsorg"."""
    return "".join(WORD_RE.findall(text.casefold())).replace("_", "")


def is_site_name(part: str, site_names: Iterable[str]) -> bool:
    """Does a title part name the site (its declared name, or its domain's label)?

    "Help Net Security" matches the declared name; "Tastewise" matches the
    domain label ``tastewise``; "NoGood" matches "NoGood™: Growth Marketing Agency"
    because a declared name may carry a slogan after its first word group.
    """
    squashed = _squash(part)
    if not squashed:
        return False
    for name in site_names:
        other = _squash(name)
        if not other:
            continue
        if squashed == other:
            return True
        # "Splunk" vs "splunk.com"; "KFF" vs "kff.org": a declared name or domain
        # that starts with the part and only adds a suffix or slogan after it.
        if len(squashed) >= 3 and other.startswith(squashed) and len(squashed) >= 0.4 * len(other):
            return True
        # "Drink Koia" in "Koia – Drink Koia": a declared name made of several parts.
        if len(squashed) >= 4 and any(squashed == _squash(p) for p in _SEPARATOR_RE.split(name)):
            return True
    return False


def _strip_tail(title: str) -> str:
    """Drop a short last part after a bar: "Headline | Rust Blog" -> "Headline"."""
    matches = list(_TAIL_SEPARATOR_RE.finditer(title))
    if not matches:
        return title
    last = matches[-1]
    head, tail = title[: last.start()].strip(), title[last.end() :].strip()
    if len(tail.split()) <= _MAX_TAIL_WORDS and len(head.split()) >= 2 * len(tail.split()):
        return head
    return title


def strip_site_name(title: str, site_names: Sequence[str]) -> str:
    """Drop the site's name from either end of a declared title.

    Only parts split off by a separator are dropped, and only when they name the
    site (see :func:`is_site_name`): a title is never cut down to nothing, and a
    part that merely repeats a word of the site name stays.
    """
    title = _strip_tail(title)
    parts = [p for p in _SEPARATOR_RE.split(title) if p.strip()]
    if len(parts) < 2:
        return title.strip()
    while len(parts) > 1 and is_site_name(parts[-1], site_names):
        parts.pop()
    while len(parts) > 1 and is_site_name(parts[0], site_names):
        parts.pop(0)
    if len(parts) == len(_SEPARATOR_RE.split(title)):
        return title.strip()
    # Rejoin what is left with the page's own separators.
    start = title.find(parts[0])
    end = title.rfind(parts[-1]) + len(parts[-1])
    return title[start:end].strip() if 0 <= start < end else " ".join(parts)


def _plausible_h1(text: str, site_names: Sequence[str]) -> bool:
    words = len(text.split())
    return 1 <= words <= _MAX_HEADLINE_WORDS and not is_site_name(text, site_names)


def _without_label(h1: str, declared: Sequence[str]) -> str:
    """Drop a "Blog:" label the page's declared titles do not carry."""
    match = _LABEL_RE.match(h1)
    if match and not any(t.casefold().startswith(match.group(1).casefold()) for t in declared):
        return h1[match.end() :]
    return h1


def _complete(title: str, declared: Sequence[str]) -> str:
    """The longest declared title that this one is a cut-off start of.

    JSON-LD headlines are capped at 110 characters by search-engine guidelines, so
    sites truncate them ("... (Including"); another declared title has it whole.
    """
    stem = title.rstrip(".… ").casefold()
    longer = [t for t in declared if len(t) > len(title) and t.casefold().startswith(stem)]
    return max(longer, key=len) if longer else title


def _best_h1(h1s: Sequence[str], declared: Sequence[str]) -> str | None:
    """The ``<h1>`` closest to a declared title, if close enough to be the headline."""
    if not declared:
        return h1s[0] if h1s else None
    scored = [(max(similarity(h, t) for t in declared), -i, h) for i, h in enumerate(h1s)]
    if not scored:
        return None
    score, _, best = max(scored)
    return best if score >= _MIN_SIMILARITY else None


def choose_title(
    h1s: Sequence[str], declared: Sequence[str | None], site_names: Sequence[str]
) -> str | None:
    """The headline among the page's visible ``<h1>``s and declared titles.

    ``declared`` is in order of trust (JSON-LD headline, og:title, twitter:title,
    ``<title>``). The ``<h1>`` closest to a declared title is the headline as the
    reader sees it (declared titles are often SEO rewordings); without one close
    enough, the first declared title without the site name; without any, the first
    ``<h1>``.
    """
    cleaned = [strip_site_name(normalise_line(t), site_names) for t in declared if t]
    cleaned = [t for t in cleaned if t and not is_site_name(t, site_names)]
    candidates = [normalise_line(h) for h in h1s]
    candidates = [_without_label(h, cleaned) for h in candidates if _plausible_h1(h, site_names)]
    best = _best_h1(candidates, cleaned)
    if best is not None:
        return best
    return _complete(cleaned[0], cleaned) if cleaned else None
