"""trafilatura's extraction cascade, run the way the cleaning stage calls it, at less cost.

The stage calls ``trafilatura.bare_extraction(tree, fast=True, include_comments=False,
with_metadata=False)``. For that configuration the cascade of trafilatura 2.3.1
(``trafilatura.core.trafilatura_sequence``) is: prune the raw tree, clean and convert
a copy, run the main extractor, rescue a short result with the baseline, and retry in
recall mode when the result is short *and* covers under a fifth of the page's text.
Four of its costs buy nothing here:

* ``bare_extraction`` copies the tree it is given. The stage has read the page's
  metadata already and needs the tree no more, so :func:`extract_text` takes it over.
* ``_prepare_tree`` keeps a backup copy of the cleaned tree for the external
  comparison, which ``fast`` mode never runs (the recall retry, ``_recall_retry``,
  is written out here for that reason, with the main extractor of
  :mod:`~services.cleaning.main_pass` in recall mode).
* ``extract_content`` copies the cleaned tree up front for the recovery of a short
  result, which few pages need: the copy is made again (:func:`_cleaned_copy`)
  only on those.
* the recall gate measures the page's text with ``html2txt`` (a copy, an XPath with
  regular expressions over every element, a pass over the text): about 7 ms on a
  typical page, on every page whose extraction is under 3,000 characters. An upper
  bound of that length, computed in C (XPath, and lxml's tag filter), settles the
  gate on most of them (:func:`_page_text_bound`); ``html2txt`` runs only where it
  cannot, with its regular-expression XPath run in Python (:func:`_page_text`).

Same steps, same order, same arguments otherwise, so the text is the same: checked
against ``bare_extraction`` on every evaluation page, and in the unit tests. The
cascade leans on trafilatura's internals, so it runs only on the version it was
written for (``SUPPORTED_VERSION``); any other version goes through
``bare_extraction`` unchanged.
"""

from __future__ import annotations

from copy import copy
from functools import cache, partial
from typing import Any

from lxml.html import HtmlElement

from services.cleaning.main_pass import extract_content
from services.cleaning.selectors import (
    basic_clean,
    comments_and_lists,
    raw_prune_and_share_buttons,
)

SUPPORTED_VERSION = "2.3.1"
# Elements basic_cleaning() always deletes, inner text and all.
_ALWAYS_DROPPED = ".//script|.//style|.//svg|.//template"


@cache
def _folded_length() -> Any:
    """XPath ``string-length(normalize-space(.))``, compiled once (not per element)."""
    from lxml.etree import XPath

    return XPath("string-length(normalize-space(.))")


@cache
def _block_tags() -> tuple[str, ...]:
    """The elements ``html2txt`` spaces out (its ``_BLOCK_ELEMS``)."""
    from trafilatura.baseline import _BLOCK_ELEMS

    return tuple(sorted(_BLOCK_ELEMS))


def _block_count(node: HtmlElement) -> int:
    """How many of ``node`` and its descendants are block elements.

    One walk of the tree (``iter`` with the tags, like ``_spaced_text``): XPath's
    union of one ``descendant-or-self::tag`` step per tag walks it once per tag,
    and a single step testing the names in a predicate is slower still.
    """
    return sum(1 for _ in node.iter(*_block_tags()))


def _page_text_bound(tree: HtmlElement) -> float:
    """An upper bound of ``len(trafilatura.baseline.html2txt(tree))``.

    ``html2txt`` deletes some elements (``basic_cleaning``; a deleted element's tail
    stays), puts a space at both ends of each block element's text and tail, and joins
    the white-space-separated runs of what remains with single spaces. So its length
    is at most: the body's text with white space folded (XPath ``normalize-space``,
    which folds less than Python's ``split``: never shorter), less the folded text of
    the elements always deleted (plus two for the spaces that folding may have saved
    around each of them), plus two per block element for the spaces it may insert
    (inline elements get none).
    """
    body = tree.find(".//body")
    node = body if body is not None else tree
    folded_length = _folded_length()
    total = float(folded_length(node))
    dropped = node.xpath(_ALWAYS_DROPPED)
    removed = sum(float(folded_length(e)) for e in dropped)
    blocks = float(_block_count(node))
    return total - removed + 2 * len(dropped) + 2 * blocks + 2


def _page_text(tree: HtmlElement) -> str:
    """``trafilatura.baseline.html2txt(tree)`` with ``BASIC_CLEAN_XPATH`` run in Python.

    The XPath tests a regular expression on every element's class and id, each test
    a call from libxml2 back into Python: about 7 ms on a long page, where the
    same selection in Python (:func:`~services.cleaning.selectors.basic_clean`)
    costs a fraction. The other steps are html2txt's own, on a copy of the tree.
    """
    from lxml.etree import Comment, Entity, ProcessingInstruction
    from trafilatura.baseline import _spaced_text
    from trafilatura.xml import delete_element

    body = tree.find(".//body")
    if body is None:  # an element without <body> is itself the content
        body = tree
    dropped = basic_clean(body)
    if next(body.iter(Comment, ProcessingInstruction, Entity), None) is None:
        return _spaced_text_of(body, set(dropped))
    # A deleted element's tail may go to a comment before it: html2txt's own steps.
    body = copy(body)
    for element in basic_clean(body):
        delete_element(element)
    return str(_spaced_text(body))


def _spaced_text_of(root: HtmlElement, dropped: set[HtmlElement]) -> str:
    """``_spaced_text(root)`` after ``delete_element`` of each of ``dropped``, read in place.

    Those steps prefix a space to the text and the tail of every block element
    (the text without control characters, ``remove_control_characters``), and
    ``delete_element`` hands a deleted element's tail to its previous sibling's
    tail, or to its parent's text: the same place in reading order, filtered as
    that host's is. So the pieces are collected in reading order without the copy
    and the writes into the tree (a walk with a stack: pages nest deeply).
    """
    from trafilatura.utils import remove_control_characters as printable

    blocks = frozenset(_block_tags())
    pieces: list[str] = []
    # (node, None) opens a node; (node, host) emits the tail of a closed node:
    # host is True/False for a kept node (is it a block?), for a deleted one
    # whether its tail's host is a block.
    stack: list[tuple[HtmlElement, bool | None]] = [(root, None)]
    while stack:
        node, host_block = stack.pop()
        if host_block is not None:
            tail = node.tail or ""
            if node in dropped or not host_block:
                pieces.append(printable(tail) if host_block else tail)
            else:
                pieces.append(" " + printable(tail))
            continue
        block = node.tag in blocks
        pieces.append(" " + printable(node.text or "") if block else node.text or "")
        if node is not root:
            stack.append((node, block))
        host = block  # the host of a deleted first child's tail: this node's text
        children: list[tuple[HtmlElement, bool | None]] = []
        for child in node:
            if child in dropped:
                children.append((child, host))
            else:
                host = child.tag in blocks
                children.append((child, None))
        stack.extend(reversed(children))
    return " ".join("".join(pieces).split())


def _cleaned_copy(tree: HtmlElement, options: Any, url: str | None) -> HtmlElement:
    """A copy of the pruned page, cleaned and converted for the main extractor.

    The same steps on the same tree give the same copy: :func:`extract_content`
    calls this again when it needs the tree as it was before its pass.
    """
    from trafilatura.htmlprocessing import convert_tags, tree_cleaning

    return convert_tags(tree_cleaning(copy(tree), options), options, url)


def _cascade(tree: HtmlElement, url: str | None, options: Any) -> str | None:
    # trafilatura's internals, imported here like the rest of trafilatura (module
    # docstring: only for SUPPORTED_VERSION).
    from trafilatura.baseline import baseline
    from trafilatura.core import (
        ESCALATION_ACCEPT_RATIO,
        ESCALATION_MAX_LENGTH,
        ESCALATION_PAGE_SHARE,
        _forum_thread_page,
    )
    from trafilatura.htmlprocessing import prune_unwanted_nodes
    from trafilatura.xml import xmltotxt

    is_forum = _forum_thread_page(tree)
    # RAW_TREE_PRUNE_XPATH (both, one pass) and REMOVE_COMMENTS_AND_LISTS_XPATH, in Python.
    tree = prune_unwanted_nodes(tree, [raw_prune_and_share_buttons])
    if not is_forum:  # comments are off: their containers and lists go from the raw tree
        tree = prune_unwanted_nodes(tree, [comments_and_lists])
    # extract_content makes the cleaned tree again if it needs a copy (rarely).
    cleaned = partial(_cleaned_copy, tree, options, url)
    body, text = extract_content(cleaned(), options, cleaned)
    if len(text) < options.min_extracted_size:  # the baseline rescue
        rescued, rescued_text, rescued_length = baseline(tree)
        if rescued_length > len(text):
            body, text = rescued, rescued_text
    # The recall escalation: a short result covering little of the page.
    if (
        0 < len(text) < ESCALATION_MAX_LENGTH
        and len(text) < ESCALATION_PAGE_SHARE * _page_text_bound(tree)
        and len(text) < ESCALATION_PAGE_SHARE * len(_page_text(tree))
    ):
        recall = copy(options)
        recall.focus = "recall"
        # _recall_retry: the main extractor again, in recall mode, on a fresh cleaned
        # copy; with the selectors in Python, and without _prepare_tree's backup copy.
        cleaned = partial(_cleaned_copy, tree, recall, url)
        retried, retried_text = extract_content(cleaned(), recall, cleaned)
        if len(retried_text) >= options.min_extracted_size and len(
            retried_text
        ) > ESCALATION_ACCEPT_RATIO * len(text):
            body, text = retried, retried_text
    if len(text) < options.min_output_size:
        return None
    return str(xmltotxt(body, options.formatting))


# What trafilatura.utils.INVALID_XML_CHARS removes, as the UTF-8 bytes to look for.
_INVALID_XML_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])


def _has_invalid_xml_chars(html: str, raw: bytes) -> bool:
    """Does ``html`` (``raw`` in UTF-8) hold a character ``INVALID_XML_CHARS`` removes?

    Its regular expression walks the whole page in Python's engine (~1.7 ms on a
    180 kB page); the control characters are single bytes in UTF-8 that
    ``bytes.translate`` finds in C, and the two non-characters are found by ``in``.
    """
    if "\ufffe" in html or "\uffff" in html:
        return True
    return len(raw.translate(None, _INVALID_XML_BYTES)) != len(raw)


@cache
def _parser() -> Any:
    """trafilatura's ``HTML_PARSER`` (same options), but ``HtmlElement`` for every element.

    lxml.html's parser asks a Python function (``HtmlElementClassLookup.lookup``)
    for the class of each element the code touches: thousands of calls per page,
    since the tree is walked a dozen times. A C lookup giving ``HtmlElement`` (and
    lxml.html's comment and processing-instruction classes) spares them; the only
    difference is that ``<form>``, ``<input>``, ``<select>``, ``<textarea>`` and
    ``<label>`` lose lxml.html's form helpers (``.value``, ``.inputs``...), which
    neither trafilatura, htmldate nor this package use. Same options, same tree.
    """
    from lxml.etree import ElementDefaultClassLookup, HTMLParser
    from lxml.html import HtmlComment, HtmlProcessingInstruction

    parser = HTMLParser(
        collect_ids=False,
        default_doctype=False,
        encoding="utf-8",
        remove_comments=True,
        remove_pis=True,
    )
    parser.set_element_class_lookup(
        ElementDefaultClassLookup(
            element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction
        )
    )
    return parser


def _repaired(html: str, raw: bytes, beginning: str) -> tuple[str, bytes]:
    """``repair_faulty_html`` without its first step (nothing to remove), on the text
    and its UTF-8 bytes alike (the bytes are re-encoded only where the text changed)."""
    from trafilatura.utils import DOCTYPE_TAG, FAULTY_HTML

    if "doctype" in beginning:
        firstline, newline, rest = html.partition("\n")
        repaired, count = DOCTYPE_TAG.subn("", firstline, count=1)
        # partition leaves no newline when there is none; repair_faulty_html adds one.
        html = repaired + "\n" + rest
        if count or not newline:
            cut = len(firstline.encode("utf-8")) + len(newline)
            raw = repaired.encode("utf-8") + b"\n" + raw[cut:]
    for line in html[:4096].splitlines()[:4]:
        if "<html" in line and line.endswith("/>"):
            html = FAULTY_HTML.sub(r"\1>", html, count=1)
            raw = html.encode("utf-8")
            break
    return html, raw


def load_page(html: str) -> HtmlElement | None:
    """``trafilatura.utils.load_html`` for a page given as a string, at less cost.

    The same steps (``repair_faulty_html``, the parse, the bytes fallback, the
    rejection of a dubious one-element tree), except that:

    * the removal of characters invalid in XML runs only on pages that hold some,
      which is rare (:func:`_has_invalid_xml_chars`);
    * the page is parsed from its UTF-8 bytes, which are at hand for that check:
      libxml2 reads them directly instead of converting Python's internal form
      (the parser's encoding is fixed to UTF-8, so the tree is the one the string
      gives; a page that yields no tree that way takes ``load_html``'s steps);
    * elements are plain ``HtmlElement`` (:func:`_parser`).

    Pages holding lone surrogates (no UTF-8 form) and other trafilatura versions
    go through ``load_html`` itself.
    """
    import trafilatura
    from trafilatura.utils import load_html

    try:
        raw = html.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: load_html's own handling
        return load_html(html)
    if trafilatura.__version__ != SUPPORTED_VERSION or _has_invalid_xml_chars(html, raw):
        return load_html(html)
    from lxml.html import fromstring
    from trafilatura.utils import is_dubious_html

    beginning = html[:50].lower()
    check_flag = is_dubious_html(beginning)
    html, raw = _repaired(html, raw, beginning)
    tree: HtmlElement | None
    try:
        tree = fromstring(raw, parser=_parser())
    # load_html's own contract: a parser error leaves no tree, its steps are tried next.
    except Exception:
        tree = None
    if tree is None or len(tree) < 1:
        tree = _parse_as_load_html(html)
    if tree is not None and check_flag and len(tree) < 2:
        return None
    return tree


def _parse_as_load_html(html: str) -> HtmlElement | None:
    """``load_html``'s parse of a repaired page: the string first, then its bytes."""
    from lxml.html import fromstring
    from trafilatura.utils import fromstring_bytes

    tree: HtmlElement | None = None
    fallback_parse = False
    try:
        tree = fromstring(html, parser=_parser())
    except ValueError:  # "Unicode strings with encoding declaration are not supported."
        tree = fromstring_bytes(html)
        fallback_parse = True
    except Exception:
        tree = None
    if (tree is None or len(tree) < 1) and not fallback_parse:
        tree = fromstring_bytes(html)
    return tree


@cache
def _options() -> Any:
    """The stage's trafilatura options, built once (reading them from the config costs)."""
    from trafilatura.settings import Extractor

    return Extractor(fast=True, comments=False, output_format="python")


def extract_text(tree: HtmlElement, url: str | None = None) -> str | None:
    """The article text trafilatura extracts from a parsed page (comments left out).

    Takes the tree over: it is pruned in place. ``None`` when trafilatura finds
    nothing (or rejects the page).
    """
    import trafilatura

    if trafilatura.__version__ != SUPPORTED_VERSION:
        document = trafilatura.bare_extraction(
            tree, url=url, with_metadata=False, include_comments=False, fast=True
        )
        return getattr(document, "text", None)
    options = copy(_options())
    options.url = options.source = url
    try:
        return _cascade(tree, url, options)
    # bare_extraction's own contract: a page it cannot handle yields nothing.
    except (TypeError, ValueError):
        return None
