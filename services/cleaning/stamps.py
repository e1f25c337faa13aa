"""Date stamps a reader sees on a served page: next to the headline and in ``<time>``.

The structured data of a page (JSON-LD, meta tags) is written by its CMS; the stamp
the reader sees is written for them. Both are read by :mod:`~services.cleaning.published`,
which decides between them; this module only finds the stamps, and finds them where
they belong to *this* article: right below (or right above) the headline, and in
``<time>`` elements ranked by how close they sit to it. Teaser lists, menus,
sidebars and comment threads carry dates of other stories and other people; they
are passed over by position, never by site.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice

from lxml import etree
from lxml.html import HtmlElement

from services.cleaning.dates import moment_of, starts_with_date

# "Updated", "Modified", "Last reviewed" in a label: the stamp is not the publication.
UPDATE_RE = re.compile(
    r"updat|modif|edited|revised|reviewed|last\s+active|aktualisiert|mis\s+à\s+jour|actualizado",
    re.I,
)
_STAMP_CLASS_RE = re.compile(
    r"publish|pubdate|post-date|entry-date|article-date|posted|byline", re.I
)
# Containers of other stories' or other people's dates. Not <footer> nor "widget":
# article footers carry the "Posted on" stamp in common blog themes, and page
# builders wrap everything, the article's own date included, in widgets.
_ASIDE_TAGS = frozenset(("nav", "aside", "menu"))
_ASIDE_CLASS_RE = re.compile(
    r"comment|related|sidebar|recent|popular|trending|recommend|teaser|more-from|menu", re.I
)
# How many ancestors are checked for an aside container (deeper ones are page shells).
_ASIDE_DEPTH = 12
_MAX_TIME_ELEMENTS = 200
# The stretch right below the headline: a byline, the date, a reading time, a share
# bar: about fifteen visible text pieces. Further down, teaser and sidebar dates
# begin. Above it, the date of a kicker sits right before the headline. And the
# longest piece that is a date line rather than a sentence mentioning a date.
_BELOW_PIECES = 15
_STAMP_MAX_WORDS = 8
_DATED_LINE_MAX_WORDS = 16
# A kicker's date may be parted from the headline by one label ("Listen", a category).
_ABOVE_PIECES = 2
_NO_TEXT_TAGS = frozenset(("script", "style", "noscript", "template", "svg"))


@dataclass(frozen=True)
class HeadlineStamps:
    """Dates shown next to the headline: the first line below it and the last above it.

    ``below_label`` is the stamp line with the piece before it ("Updated" often
    sits in its own element), so the caller can tell an update from a publication.
    """

    below: datetime | None = None
    below_label: str = ""
    above: datetime | None = None


def _is_copyright(label: str) -> bool:
    return "©" in label or "copyright" in label.casefold()


def _visible(element: HtmlElement) -> bool:
    return isinstance(element.tag, str) and element.tag not in _NO_TEXT_TAGS


def _pieces_within(element: HtmlElement) -> Iterator[str | None]:
    """The visible text inside an element in document order (its own tail excluded).

    Iterative (``iterwalk``), so a hostile page nested thousands deep costs time in
    proportion, not a recursion error.
    """
    hidden = 0
    for event, node in etree.iterwalk(element, events=("start", "end")):
        if event == "start":
            hidden += not _visible(node)
            if not hidden:
                yield node.text
        else:
            hidden -= not _visible(node)
            if not hidden and node is not element:
                yield node.tail


def pieces_within_reversed(element: HtmlElement) -> Iterator[str | None]:
    """:func:`_pieces_within` last first, walking the tree backwards.

    The text right before the headline is the end of its preceding siblings: read
    backwards, a sibling costs the pieces the caller reads, not its whole subtree
    (a page's menu or header). Iterative, like :func:`_pieces_within`: a visible
    element's pieces are its text, then each child element's (when visible) and tail.
    """
    if not _visible(element):
        return
    frames = [(element, reversed(element))]
    while frames:
        node, children = frames[-1]
        child = next(children, None)
        if child is None:
            frames.pop()
            yield node.text
            continue
        if not isinstance(child.tag, str):
            continue  # iterwalk passes comments and processing instructions by, tails too
        yield child.tail
        if _visible(child):
            frames.append((child, reversed(child)))


def _pieces_after(headline: HtmlElement) -> Iterator[str | None]:
    """Text pieces after the headline in document order (its own text excluded).

    Walks outwards from the headline and stops when the caller stops reading, so
    a page costs what its first lines below the headline cost, not its length.
    """
    yield headline.tail
    node: HtmlElement | None = headline
    while node is not None:
        for sibling in node.itersiblings():
            yield from _pieces_within(sibling)
            yield sibling.tail
        node = node.getparent()
        if node is not None:
            yield node.tail


def _pieces_before(headline: HtmlElement) -> Iterator[str | None]:
    """Text pieces before the headline, nearest first."""
    node = headline
    while True:
        for sibling in node.itersiblings(preceding=True):
            yield sibling.tail
            yield from pieces_within_reversed(sibling)
        parent = node.getparent()
        if parent is None:
            return
        yield parent.text if _visible(parent) else None
        node = parent


def _text_pieces(headline: HtmlElement) -> tuple[list[str], list[str]]:
    """The visible text pieces right before the headline (nearest first), and the first after it."""
    folded = (" ".join((p or "").split()) for p in _pieces_before(headline))
    above = list(islice((p for p in folded if p), _ABOVE_PIECES))
    below = islice(
        (p for p in (" ".join((t or "").split()) for t in _pieces_after(headline)) if p),
        _BELOW_PIECES,
    )
    return above, list(below)


def _stamp_in(piece: str) -> datetime | None:
    """The date of a short line ("Published March 3, 2025 · 4 min read"); not of a sentence.

    A line that opens with the date is a stamp however long its tail ("February 4
    2026 - Average reading time: 12 min"), up to a sentence's length.
    """
    words = len(piece.split())
    if words > _STAMP_MAX_WORDS and not (
        words <= _DATED_LINE_MAX_WORDS and starts_with_date(piece)
    ):
        return None
    return moment_of(piece)


def headline_stamps(headline: HtmlElement | None) -> HeadlineStamps:
    """The dates shown right below and right above the headline, if any.

    Below: the first short date line after the headline, with its label; a
    copyright line does not count. Above: the piece right before the headline,
    where magazines put a kicker with the date ("February 4, 2025 - 11 minutes").
    """
    if headline is None:
        return HeadlineStamps()
    above_pieces, below_pieces = _text_pieces(headline)
    above = next(filter(None, map(_stamp_in, above_pieces)), None)
    previous = ""
    for piece in (" ".join(c.split()) for c in below_pieces):
        if not piece:
            continue
        if (found := _stamp_in(piece)) is not None:
            label = f"{previous} {piece}"
            if _is_copyright(label):
                break
            return HeadlineStamps(found, label, above)
        previous = piece
    return HeadlineStamps(above=above)


def _label_of(element: HtmlElement) -> str:
    """Class, id and itemprop of an element and its parent, and the text before it."""
    parent = element.getparent()
    own = " ".join(filter(None, (element.get(a) for a in ("class", "id", "itemprop"))))
    around = ""
    if parent is not None:
        around = " ".join(filter(None, (parent.get(a) for a in ("class", "id", "itemprop"))))
        around += " " + (parent.text or "")
    previous = element.getprevious()
    if previous is not None:
        around += " " + (previous.tail or "") + " " + (previous.text or "")
    return f"{own} {around}"


def _in_aside(element: HtmlElement) -> bool:
    """Inside a menu, sidebar, footer, comment thread or list of other stories?"""
    for depth, ancestor in enumerate(element.iterancestors()):
        if depth >= _ASIDE_DEPTH:
            break
        if ancestor.tag in _ASIDE_TAGS or _ASIDE_CLASS_RE.search(ancestor.get("class") or ""):
            return True
    return False


def _distance_map(headline: HtmlElement | None) -> dict[HtmlElement, int]:
    """The headline and its ancestors, each with how many steps below it the headline is."""
    if headline is None:
        return {}
    distances = {headline: 0}
    for steps, ancestor in enumerate(headline.iterancestors(), start=1):
        distances[ancestor] = steps
    return distances


def _distance(element: HtmlElement, to_headline: dict[HtmlElement, int]) -> int:
    """Tree distance from an element to the headline (0 when there is none)."""
    if not to_headline:
        return 0
    for steps, ancestor in enumerate(element.iterancestors(), start=1):
        if ancestor in to_headline:
            return steps + to_headline[ancestor]
    return 1_000


def time_stamps(tree: HtmlElement, headline: HtmlElement | None) -> list[tuple[bool, str]]:
    """``(marked, value)`` of ``<time>`` elements that may date this article, best first.

    Ones labelled as updates and ones inside asides (menus, sidebars, comments,
    related stories) are left out. Marked publication stamps (``pubdate``,
    ``itemprop``/classes like ``datePublished``, ``entry-date``) come first, then
    the unmarked one nearest the headline; each group is ordered by tree distance
    to the headline, so the article's own stamp beats a teaser list's.
    """
    to_headline = _distance_map(headline)
    ranked: list[tuple[bool, int, int, str]] = []
    for count, element in enumerate(tree.iter("time")):
        if count >= _MAX_TIME_ELEMENTS:
            break
        value = element.get("datetime") or element.text_content()
        label = _label_of(element) + " " + element.text_content()[:40]
        if not value or UPDATE_RE.search(label) or _in_aside(element):
            continue
        marked = element.get("pubdate") is not None or bool(_STAMP_CLASS_RE.search(label))
        ranked.append((not marked, _distance(element, to_headline), count, value[:80]))
    ranked.sort()
    marked_ones = [(True, value) for unmarked, _d, _o, value in ranked if not unmarked]
    nearest_plain = [(False, value) for unmarked, _d, _o, value in ranked if unmarked][:1]
    return marked_ones + nearest_plain
