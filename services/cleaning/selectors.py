"""trafilatura's XPath selectors, evaluated in Python: the same elements at a fraction of the cost.

trafilatura 2.3.1 finds the article container and the boilerplate to prune with
XPath expressions whose tests are EXSLT regular expressions (``re:test``). lxml runs
each ``re:test`` as a call back into Python, per candidate element and attribute, and
libxml2 walks ``.//*[self::div or ...]`` slowly: on the sample corpus these
selectors were a quarter of the cleaning stage's CPU. Here each one is a plain loop
over ``iterdescendants(tags)`` (libxml2 filters the tags) testing the attribute
strings with the *same* regular expressions, compiled once.

Each function returns exactly the node list its XPath returns, in document order
(the unit tests compare both on every fixture page, and ``SELECTORS`` pairs each
function with the XPath it replaces). XPath details kept:

* ``.//*`` is the descendants of the context node, elements only, not itself;
* a missing attribute is the empty string, and ``@id|@class`` is the string value of
  whichever of the two comes first in the source (XPath's first node in document
  order), not of both;
* ``X[1]`` on a step keeps the first match per parent; a caller that takes the first
  result gets the first match in document order either way, so the body selectors
  return that one alone.

They are only used with the trafilatura version :mod:`~services.cleaning.cascade`
was written for.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from lxml import etree
from lxml.html import HtmlElement

Selector = Callable[[HtmlElement], list[HtmlElement]]

# Tag sets of the expressions (``self::div or self::list ...``); "list", "item" are
# trafilatura's converted names for ul/ol and li.
_RAW_TAGS = ("div", "section", "aside")
_COMMENT_TAGS = ("div", "list", "section", "details", "ol", "ul")
_DISCARD_TAGS = ("div", "item", "list", "p", "section", "span")
_BODY_TAGS = ("article", "div", "main", "section")

# The regular expressions of trafilatura.xpaths, verbatim.
_INFINITE = re.compile("mvp-post-add-(?:box|wrap)|infinite-?scroll")
_POST_ADD = re.compile("mvp-post-add-(?:box|wrap)")
_COMMENTS_ID = "[Cc]omment(?!ary)|comol"
_COMMENTS_CLASS = re.compile("^[Cc]omment(?!ary)|(?:article|post)-comments")
_COMMENTS_SECTION_ID = re.compile(f"^(?:{_COMMENTS_ID}|disqus_thread|dsq-comments)")
_COMMENTS_LIST_ID = re.compile(f"^(?:{_COMMENTS_ID})")
_BOTH = "^shar|social|viral|newsletter|syndication|tags|sidebar|banner|bread-?crumb|button|author"
_DISCARD_ID = re.compile(
    f"{_BOTH}|^(?:jp-|dpsp-content)|bmdh|footer|Footer|share|Share|nav|Nav|menu|related"
    "|message-container|premium|^ad-"
)
_DISCARD_CLASS = re.compile(
    f"{_BOTH}|^(?:nav|post-nav|ZendeskForm)|subnav|avigation|navbar|navbox|menu|bar"
    "| ad |-ad-|(?:^| )ad-|dfp[Aa]d|outbrain|taboola|criteo|paid-?content|widget"
    "|footer|Footer|byline|Byline|share-|sociable|embedded|embed|tag-list"
    "|consent|modal-content|permission|elated|next-|-stories|most-popular|more-on"
    "|meta|rating|attachment|timestamp|user-info|user-profile|-icon|article-infos"
    "|message-container|slide|viewport|overlay|options|expand|obfuscated|blurred"
    "|mol-factbox|yin|zlylin|nfoline"
)
# "cookie" and "hidden" (literal patterns) are tested with ``in``.
_HIDDEN_ID = re.compile("reader-comments|akismet")
_HIDDEN_CLASS = re.compile(
    "^hide-|comments-title|nocomments|-reply-|message|akismet|suggest-links|-hide-|hide-print"
    "| hidden| hide|noprint|notloaded"
)
_BODY_ID_1 = re.compile(
    "(?:entry|article|art)-content|article__content|article(?:-|__)?body|articleBody|body-text"
)
_BODY_CLASS_1 = re.compile(
    "post[-_]text|post-body|post-?entry|post[-_]?content|postContent|post_inner_wrapper"
    "|article-?text|articleText|(?:entry|page|text|article|art)-content|article__content"
    "|article(?:-|__)?body|articleBody|ArticleContent|body-text|article__container"
)
_BODY_ID_3 = re.compile("^primary|story-body")
_BODY_CLASS_3 = re.compile(
    "^article |post-bodycopy|story-?content|(?:theme|blog|section|single)-content|single-post"
    "|main-column|wpb_text_column|story-body|field-body"
)
_FULLTEXT = re.compile("fulltext", re.IGNORECASE)
_BODY_ID_4 = re.compile("content-main|content-body|contentBody")
_BODY_CLASS_4 = re.compile("content[-_]main|content(?:-|__)body")
# BASIC_CLEAN_XPATH (trafilatura.settings): what html2txt leaves out of a page's text.
_BASIC_CLEAN_TAGS = frozenset(
    ("aside", "fencedframe", "footer", "script", "style", "svg", "template")
)
_COOKIE_CONSENT = re.compile(
    "cookie[-_]?(?:banner|bar|consent|law|notice|policy|description)|notice[-_]{0,2}cookie"
    "|consent[-_]?(?:banner|manager|sdk)|borlabs|cookiebot|cmplz|onetrust|moove[-_]?gdpr",
    re.IGNORECASE,
)


# Every alternative of _COOKIE_CONSENT holds one of these words.
_COOKIE_WORDS = ("cookie", "consent", "borlabs", "cmplz", "onetrust", "moove")


def _is_cookie_consent(value: str) -> bool:
    """``_COOKIE_CONSENT.search(value)``, most values settled without the expression.

    Its case-insensitive search tries each alternative at each position; on an
    ASCII value it matches only where the lower-cased value holds one of
    ``_COOKIE_WORDS``, which ``in`` finds in C. (Other values go to the expression:
    case-insensitive matching also pairs "k" with the Kelvin sign, "s" with "ſ".)
    """
    if value.isascii():
        folded = value.lower()
        if not any(word in folded for word in _COOKIE_WORDS):
            return False
    return _COOKIE_CONSENT.search(value) is not None


def _first_of(element: HtmlElement, one: str, other: str) -> str:
    """XPath's ``string(@one|@other)``: the value of whichever comes first in the source."""
    for key, value in element.items():
        if key in (one, other):
            return str(value)
    return ""


def _attr(element: HtmlElement, name: str) -> str:
    # (the loops over every element of a page read their attributes inline: a
    # call per element and attribute costs more than the test)
    return str(element.get(name) or "")


def basic_clean(tree: HtmlElement) -> list[HtmlElement]:
    """``BASIC_CLEAN_XPATH``: asides, footers, scripts, styles, cookie banners.

    The XPath tests its regular expression through a call back into Python per
    element and attribute; one pass over the elements here, skipping those with
    neither class nor id (a missing attribute is "", which no test matches).
    """
    found = []
    search = _is_cookie_consent
    for element in tree.iterdescendants(etree.Element):
        tag = element.tag
        if tag in _BASIC_CLEAN_TAGS:
            found.append(element)
            continue
        class_, id_ = element.get("class"), element.get("id")
        if class_ is None and id_ is None:
            continue
        if (
            (tag == "div" and "footer" in _first_of(element, "class", "id"))
            or search(class_ or "")
            or search(id_ or "")
        ):
            found.append(element)
    return found


def raw_tree_prune(tree: HtmlElement) -> list[HtmlElement]:
    """Both of ``RAW_TREE_PRUNE_XPATH``: infinite-scroll containers, Elementor share bars."""
    found = []
    for element in tree.iterdescendants(*_RAW_TAGS):
        id_, class_ = _attr(element, "id"), _attr(element, "class")
        if (_INFINITE.search(id_) or _INFINITE.search(class_)) and (
            next(element.iterdescendants("h1"), None) is None
            or _POST_ADD.search(id_)
            or _POST_ADD.search(class_)
        ):
            found.append(element)
    return found


def share_buttons(tree: HtmlElement) -> list[HtmlElement]:
    """The second of ``RAW_TREE_PRUNE_XPATH``."""
    return [
        element
        for element in tree.iterdescendants(*_RAW_TAGS)
        if "elementor-share-buttons" in _attr(element, "class")
    ]


def raw_prune_and_share_buttons(tree: HtmlElement) -> list[HtmlElement]:
    """Both of ``RAW_TREE_PRUNE_XPATH`` in one pass over the tree, in document order.

    ``prune_unwanted_nodes`` deletes the first one's elements, then the second's
    among what is left. Deleting the union in document order leaves the same tree:
    the second test reads the class alone, so the first one's deletions change
    none of its answers; an element inside one already deleted is deleted from
    the detached copy only; and deleting disjoint elements in either order puts
    their tails in the same places.
    """
    found = []
    for element in tree.iterdescendants(*_RAW_TAGS):
        id_, class_ = str(element.get("id") or ""), str(element.get("class") or "")
        if "elementor-share-buttons" in class_ or (
            (_INFINITE.search(id_) or _INFINITE.search(class_))
            and (
                next(element.iterdescendants("h1"), None) is None
                or _POST_ADD.search(id_)
                or _POST_ADD.search(class_)
            )
        ):
            found.append(element)
    return found


def comments_and_lists(tree: HtmlElement) -> list[HtmlElement]:
    """``REMOVE_COMMENTS_AND_LISTS_XPATH``: comment sections, and lists that are comment threads."""
    found = []
    for element in tree.iterdescendants(*_COMMENT_TAGS):
        id_, class_ = str(element.get("id") or ""), str(element.get("class") or "")
        if not (_COMMENTS_SECTION_ID.search(id_) or _COMMENTS_CLASS.search(class_)):
            continue
        if (
            element.tag not in ("ol", "ul")
            or _COMMENTS_LIST_ID.search(id_)
            or _COMMENTS_CLASS.search(class_)
        ):
            found.append(element)
    return found


def overall_discard(tree: HtmlElement) -> list[HtmlElement]:
    """The first of ``OVERALL_DISCARD_XPATH``: navigation, share bars, ads, bylines, ..."""
    found = []
    for element in tree.iterdescendants(*_DISCARD_TAGS):
        # As in hidden_discard: the attributes read once, and an element without
        # any (no test matches the empty strings) passed at once.
        items = element.items()
        if not items:
            continue
        attributes = dict(items)
        if (
            "data-lp-replacement-content" in attributes
            or "nav" in str(attributes.get("role") or "").replace("N", "n")
            or "MostPopularStories" in str(attributes.get("data-component") or "")
            or "cookie" in _first_in(items, "id", "class")
            or _DISCARD_ID.search(str(attributes.get("id") or ""))
            or _DISCARD_CLASS.search(str(attributes.get("class") or ""))
        ):
            found.append(element)
    return found


def _first_in(items: list[tuple[str, str]], one: str, other: str) -> str:
    """:func:`_first_of` over an element's ``items()`` already read."""
    for key, value in items:  # (a plain loop: a generator per call costs more)
        if key in (one, other):
            return str(value)
    return ""


def hidden_discard(tree: HtmlElement) -> list[HtmlElement]:
    """The second of ``OVERALL_DISCARD_XPATH``: hidden elements, reply forms, comment titles.

    It tests every element, so each one's attributes are read once (one ``items()``),
    and one without attributes, which no test can match, is passed at once.
    """
    found = []
    for element in tree.iterdescendants(etree.Element):
        items = element.items()
        if not items:
            continue
        attributes = dict(items)
        class_ = str(attributes.get("class") or "")
        style = str(attributes.get("style") or "")
        if (
            class_ == "comments-title"
            or _first_in(items, "id", "class").startswith("reply-")
            or "hidden" in _first_in(items, "id", "style")
            or "display:none" in style
            or "display: none" in style
            or _HIDDEN_ID.search(str(attributes.get("id") or ""))
            or _HIDDEN_CLASS.search(class_)
            or attributes.get("aria-hidden") == "true"
        ):
            found.append(element)
    return found


def teasers(tree: HtmlElement) -> list[HtmlElement]:
    """``TEASER_DISCARD_XPATH``."""
    return [
        element
        for element in tree.iterdescendants(*_DISCARD_TAGS)
        # (the attributes read inline: a call per element and attribute costs more)
        if "teaser" in str(element.get("id") or "").replace("T", "t")
        or "teaser" in str(element.get("class") or "").replace("T", "t")
    ]


def captions(tree: HtmlElement) -> list[HtmlElement]:
    """``DISCARD_IMAGE_ELEMENTS``."""
    return [
        element
        for element in tree.iterdescendants(*_DISCARD_TAGS)
        if "caption" in str(element.get("id") or "") or "caption" in str(element.get("class") or "")
    ]


def _first(
    tree: HtmlElement, tags: tuple[str, ...], test: Callable[[HtmlElement], object]
) -> list[HtmlElement]:
    return next(([e] for e in tree.iterdescendants(*tags) if test(e)), [])


def _article_content(element: HtmlElement) -> bool:
    class_, id_ = _attr(element, "class"), _attr(element, "id")
    return bool(
        class_ in ("post", "entry")
        or element.get("itemprop") == "articleBody"
        or id_ == "articleContent"
        or _BODY_ID_1.search(id_)
        or _BODY_CLASS_1.search(class_)
    )


def _story(element: HtmlElement) -> bool:
    class_, id_ = _attr(element, "class"), _attr(element, "id")
    return bool(
        element.get("role") == "article"
        or id_ in ("article", "story")
        or class_ in ("postarea", "art-postcontent", "text", "cell", "story")
        or _BODY_ID_3.search(id_)
        or _FULLTEXT.search(class_)
        or _BODY_CLASS_3.search(class_)
    )


def _main_content(element: HtmlElement) -> bool:
    class_, id_ = _attr(element, "class"), _attr(element, "id")
    return bool(
        id_ == "content"
        or class_ == "content"
        or _BODY_ID_4.search(id_)
        or _BODY_CLASS_4.search(class_)
        or "main-content" in id_.replace("C", "c").replace("M", "m")
        or "main-content" in class_.replace("C", "c").replace("M", "m")
        or "page-content" in class_.replace("C", "c").replace("P", "p")
    )


def _main(element: HtmlElement) -> bool:
    if element.tag == "main":
        return True
    return element.tag != "main" and any(
        _attr(element, name).startswith("main") for name in ("class", "id", "role")
    )


BODY_SELECTORS: tuple[Selector, ...] = (
    lambda tree: _first(tree, _BODY_TAGS, _article_content),
    lambda tree: _first(tree, ("article",), lambda _e: True),
    lambda tree: _first(tree, _BODY_TAGS, _story),
    lambda tree: _first(tree, _BODY_TAGS, _main_content),
    lambda tree: _first(tree, ("article", "div", "section", "main"), _main),
)
"""``BODY_XPATH``, in order: the first candidate container of each kind, as a list of one."""
