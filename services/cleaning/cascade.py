"""trafilatura's extraction cascade, run the way the cleaning stage calls it, at less cost.

The stage calls ``trafilatura.bare_extraction(tree, fast=True, include_comments=False,
with_metadata=False)``. For that configuration the cascade of trafilatura 2.3.1
(``trafilatura.core.trafilatura_sequence``) is: prune the raw tree, clean and convert
a copy, run the main extractor, rescue a short result with the baseline, and retry in
recall mode when the result is short *and* covers under a fifth of the page's text.
Three of its costs buy nothing here:

* ``bare_extraction`` copies the tree it is given. The stage has read the page's
  metadata already and needs the tree no more, so :func:`extract_text` takes it over.
* ``_prepare_tree`` keeps a backup copy of the cleaned tree for the external
  comparison, which ``fast`` mode never runs.
* the recall gate measures the page's text with ``html2txt`` (a copy, an XPath with
  regular expressions over every element, a pass over the text): about 7 ms on a
  typical page, on every page whose extraction is under 3,000 characters. An upper
  bound of that length, computed in C by XPath, settles the gate on most of them
  (:func:`_page_text_bound`); ``html2txt`` runs only where it cannot.

Same steps, same order, same arguments otherwise, so the text is the same: checked
against ``bare_extraction`` on every evaluation page, and in the unit tests. The
cascade leans on trafilatura's internals, so it runs only on the version it was
written for (``SUPPORTED_VERSION``); any other version goes through
``bare_extraction`` unchanged.
"""

from __future__ import annotations

from copy import copy
from functools import cache
from typing import Any

from lxml.html import HtmlElement

SUPPORTED_VERSION = "2.3.1"
# Elements basic_cleaning() always deletes, inner text and all.
_ALWAYS_DROPPED = ".//script|.//style|.//svg|.//template"


def _page_text_bound(tree: HtmlElement) -> float:
    """An upper bound of ``len(trafilatura.baseline.html2txt(tree))``.

    ``html2txt`` deletes some elements (``basic_cleaning``; a deleted element's tail
    stays), puts a space at both ends of each block element's text and tail, and joins
    the white-space-separated runs of what remains with single spaces. So its length
    is at most: the body's text with white space folded (XPath ``normalize-space``,
    which folds less than Python's ``split``: never shorter), less the folded text of
    the elements always deleted (plus two for the spaces that folding may have saved
    around each of them), plus two per element for the spaces a block may insert.
    """
    body = tree.find(".//body")
    node = body if body is not None else tree
    total = float(node.xpath("string-length(normalize-space(.))"))
    dropped = node.xpath(_ALWAYS_DROPPED)
    removed = sum(float(e.xpath("string-length(normalize-space(.))")) for e in dropped)
    elements = float(node.xpath("count(.//*)"))
    return total - removed + 2 * len(dropped) + 2 * elements + 2


def _cascade(tree: HtmlElement, url: str | None, options: Any) -> str | None:
    # trafilatura's internals, imported here like the rest of trafilatura (module
    # docstring: only for SUPPORTED_VERSION).
    from trafilatura.baseline import baseline, html2txt
    from trafilatura.core import (
        ESCALATION_ACCEPT_RATIO,
        ESCALATION_MAX_LENGTH,
        ESCALATION_PAGE_SHARE,
        _forum_thread_page,
        _recall_retry,
    )
    from trafilatura.htmlprocessing import convert_tags, prune_unwanted_nodes, tree_cleaning
    from trafilatura.main_extractor import extract_content
    from trafilatura.xml import xmltotxt
    from trafilatura.xpaths import RAW_TREE_PRUNE_XPATH, REMOVE_COMMENTS_AND_LISTS_XPATH

    is_forum = _forum_thread_page(tree)
    tree = prune_unwanted_nodes(tree, RAW_TREE_PRUNE_XPATH)
    if not is_forum:  # comments are off: their containers and lists go from the raw tree
        tree = prune_unwanted_nodes(tree, REMOVE_COMMENTS_AND_LISTS_XPATH)
    cleaned = convert_tags(tree_cleaning(copy(tree), options), options, url)
    body, text = extract_content(cleaned, options)
    if len(text) < options.min_extracted_size:  # the baseline rescue
        rescued, rescued_text, rescued_length = baseline(tree)
        if rescued_length > len(text):
            body, text = rescued, rescued_text
    # The recall escalation: a short result covering little of the page.
    if (
        0 < len(text) < ESCALATION_MAX_LENGTH
        and len(text) < ESCALATION_PAGE_SHARE * _page_text_bound(tree)
        and len(text) < ESCALATION_PAGE_SHARE * len(html2txt(tree))
    ):
        recall = copy(options)
        recall.focus = "recall"
        retried, retried_text = _recall_retry(tree, recall, url)
        if len(retried_text) >= options.min_extracted_size and len(
            retried_text
        ) > ESCALATION_ACCEPT_RATIO * len(text):
            body, text = retried, retried_text
    if len(text) < options.min_output_size:
        return None
    return str(xmltotxt(body, options.formatting))


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
