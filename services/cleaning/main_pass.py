"""trafilatura's main extractor (``extract_content``) with its selectors run in Python.

A transcription of ``trafilatura.main_extractor.extract_content``, ``_extract`` and
``prune_unwanted_sections`` of trafilatura 2.3.1 (Apache-2.0) for the options the
stage uses (``focus="balanced"``, no tables/images/links kept out of the defaults),
where the XPath expressions with regular expressions are replaced by the
equivalent functions of :mod:`~services.cleaning.selectors`. Every other step
calls trafilatura's own functions, in the same order, so the result is the same
(checked against ``bare_extraction`` on every evaluation page and in the unit
tests); only :mod:`~services.cleaning.cascade` calls it, and only on the
trafilatura version it was written for.
"""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from typing import Any

from lxml.etree import Element, XPath, strip_elements, strip_tags
from lxml.html import HtmlElement

from services.cleaning.selectors import (
    BODY_SELECTORS,
    Selector,
    captions,
    hidden_discard,
    overall_discard,
    teasers,
)

# _extract's "//p//text()" (the whole document's, as in trafilatura), as plain
# strings: only their length is read, and lxml's "smart" strings cost an object each.
_PARAGRAPH_TEXTS = XPath("//p//text()", smart_strings=False)


def _prune_with_backup(tree: HtmlElement, selectors: tuple[Selector, ...]) -> None:
    """``prune_unwanted_nodes(..., with_backup=True)``: prune unless it takes 6/7 of the text."""
    from trafilatura.xml import delete_element

    matches = dict.fromkeys(element for select in selectors for element in select(tree))
    outer = [e for e in matches if not _has_ancestor_in(e, matches, tree)]
    old_len = len(tree.text_content())
    if old_len - sum(len(e.text_content()) for e in outer) > old_len / 7:
        for element in outer:
            delete_element(element)


def _has_ancestor_in(
    element: HtmlElement, matches: dict[HtmlElement, None], top: HtmlElement
) -> bool:
    """Is an ancestor of ``element`` below ``top`` in ``matches``?

    The matches are all under ``top``, so the walk stops there rather than at the
    document root (trafilatura walks on: the same answer, at more cost).
    """
    for ancestor in element.iterancestors():
        if ancestor is top:
            return False
        if ancestor in matches:
            return True
    return False


def _prune(tree: HtmlElement, select: Selector) -> None:
    from trafilatura.xml import delete_element

    for element in select(tree):
        delete_element(element)


def _prune_sections(tree: HtmlElement, potential_tags: set[str], options: Any) -> HtmlElement:
    """``prune_unwanted_sections`` (teasers are pruned: the main pass, not the recovery)."""
    from trafilatura.htmlprocessing import delete_by_link_density, link_density_test_tables
    from trafilatura.xml import delete_element

    favor_precision = options.focus == "precision"
    _prune_with_backup(tree, (overall_discard, hidden_discard))
    if "graphic" not in potential_tags:
        _prune(tree, captions)
    if options.focus != "recall":
        _prune(tree, teasers)
        if favor_precision:  # not the stage's options: trafilatura's own selectors
            from trafilatura.htmlprocessing import prune_unwanted_nodes
            from trafilatura.xpaths import PRECISION_DISCARD_XPATH

            tree = prune_unwanted_nodes(tree, PRECISION_DISCARD_XPATH)
    for _ in range(2):
        tree = delete_by_link_density(
            tree, "div", backtracking=True, favor_precision=favor_precision
        )
        tree = delete_by_link_density(
            tree, "list", backtracking=False, favor_precision=favor_precision
        )
        tree = delete_by_link_density(
            tree, "p", backtracking=False, favor_precision=favor_precision
        )
    if "table" in potential_tags or favor_precision:
        boilerplate = [e for e in tree.iter("table") if link_density_test_tables(e) is True]
        for element in boilerplate:
            delete_element(element, keep_tail=False)
    if favor_precision:
        while len(tree) > 0 and (tree[-1].tag == "head"):
            delete_element(tree[-1], keep_tail=False)
        tree = delete_by_link_density(tree, "head", backtracking=False, favor_precision=True)
        tree = delete_by_link_density(tree, "quote", backtracking=False, favor_precision=True)
    strip_tags(tree, "span", *(() if "ref" in potential_tags else ("ref",)))
    return tree


def _potential_tags(options: Any) -> set[str]:
    from trafilatura.settings import TAG_CATALOG

    tags = set(TAG_CATALOG)
    if options.tables is True:
        tags.update(["table", "td", "th", "tr"])
    if options.images is True:
        tags.add("graphic")
    if options.links is True:
        tags.add("ref")
    return tags


def _subelements(subtree: HtmlElement, potential_tags: set[str]) -> list[HtmlElement]:
    """The elements of a candidate container to convert (the frame itself for one text run)."""
    from trafilatura.settings import INLINE_FORMATTABLE

    subelems: list[HtmlElement] = subtree.xpath(".//*")
    tags = {e.tag for e in subelems}
    if tags == {"lb"} or (
        subtree.tag == "div" and "div" in potential_tags and tags <= INLINE_FORMATTABLE | {"lb"}
    ):
        return [subtree]
    return subelems


def _convert(
    subelems: list[HtmlElement], result_body: Any, potential_tags: set[str], options: Any
) -> None:
    """Append the converted elements of a container to the result (``_extract``'s inner loop)."""
    from trafilatura.htmlprocessing import process_node
    from trafilatura.main_extractor import REBUILT_BLOCKS, handle_textelem
    from trafilatura.utils import text_chars_test

    for elem in subelems:
        if elem.getroottree().getroot() is result_body:
            continue
        tag, tail = elem.tag, elem.tail
        processed = handle_textelem(elem, potential_tags, options)
        if processed is not None:
            result_body.append(processed)
            if elem.getroottree().getroot() is not result_body:
                elem.tag = "done"
        if (
            tag in REBUILT_BLOCKS
            and text_chars_test(tail)
            and (processed is None or processed.tail is None)
        ):
            tail_elem = Element("p")
            tail_elem.text = tail
            if process_node(tail_elem, options) is not None:
                result_body.append(tail_elem)


def _extract(tree: HtmlElement, options: Any) -> tuple[Any, str, set[str]]:
    """``trafilatura.main_extractor._extract`` with :data:`BODY_SELECTORS`."""
    from trafilatura.htmlprocessing import process_node
    from trafilatura.main_extractor import NOT_AT_THE_END
    from trafilatura.utils import text_chars_test
    from trafilatura.xml import delete_element

    potential_tags = _potential_tags(options)
    result_body = Element("body")
    for select in BODY_SELECTORS:
        subtree = next(iter(select(tree)), None)
        if subtree is None:
            continue
        subtree = _prune_sections(subtree, potential_tags, options)
        if len(subtree) == 0:
            continue
        ptest = _PARAGRAPH_TEXTS(subtree)
        factor = 1 if options.focus == "precision" else 3
        if not ptest or len("".join(ptest)) < options.min_extracted_size * factor:
            potential_tags.add("div")
        subelems = _subelements(subtree, potential_tags)
        lead, start = None, len(result_body)
        if subelems != [subtree] and text_chars_test(subtree.text):
            lead = Element("p")
            lead.text = subtree.text
            lead = process_node(lead, options)
        _convert(subelems, result_body, potential_tags, options)
        while len(result_body) > 0 and (result_body[-1].tag in NOT_AT_THE_END):
            delete_element(result_body[-1], keep_tail=False)
        if sum(e.tag != "graphic" for e in result_body) > 1:
            if lead is not None:
                result_body.insert(start, lead)
            break
    temp_text = " ".join(result_body.itertext()).strip()
    return result_body, temp_text, potential_tags


def _kept(tree: HtmlElement) -> Callable[[], HtmlElement]:
    return lambda: tree


def extract_content(
    cleaned_tree: HtmlElement,
    options: Any,
    rebuild: Callable[[], HtmlElement] | None = None,
) -> tuple[Any, str]:
    """``trafilatura.main_extractor.extract_content``, main pass with :func:`_extract`.

    trafilatura keeps a copy of the tree as it was before :func:`_extract` for the
    recovery of a short result, which few pages need (4 % of the evaluation
    pages). ``rebuild``, when given, makes that same tree again (the caller's
    steps run anew on the tree they started from: they are deterministic), only
    when it is needed; without it the copy is taken up front as trafilatura does.
    """
    from trafilatura.main_extractor import _elem_text, recover_wild_text
    from trafilatura.settings import MIN_DUPLICATE_LENGTH
    from trafilatura.utils import SPACING_PROTECTED, text_chars_test
    from trafilatura.xml import delete_element

    backup_of = rebuild if rebuild is not None else _kept(deepcopy(cleaned_tree))
    order = list(cleaned_tree.iter())
    result_body, temp_text, potential_tags = _extract(cleaned_tree, options)
    if len(result_body) == 0 or len(temp_text) < options.min_extracted_size:
        backup_tree = backup_of()
        consumed = {
            twin for elem, twin in zip(order, backup_tree.iter(), strict=True) if elem.tag == "done"
        }
        result_body = recover_wild_text(backup_tree, result_body, options, potential_tags, consumed)
        temp_text = " ".join(result_body.itertext()).strip()
    previous = None
    for element in list(result_body):
        current = _elem_text(element)
        if current and current == previous and len(current) > MIN_DUPLICATE_LENGTH:
            delete_element(element, keep_tail=False)
        else:
            previous = current
    strip_elements(result_body, "done")
    strip_tags(result_body, "div")
    for linebreak in result_body.iter("lb"):
        if (
            linebreak.tail
            and not text_chars_test(linebreak.tail)
            and not any(a.tag in SPACING_PROTECTED for a in linebreak.iterancestors())
        ):
            linebreak.tail = None
    return result_body, temp_text
