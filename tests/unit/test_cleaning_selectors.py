"""The Python selectors and page loader select and parse exactly what trafilatura's do.

:mod:`services.cleaning.selectors` replaces trafilatura's XPath expressions and
:func:`services.cleaning.cascade.load_page` its ``load_html``, for speed; both must
give the same elements and the same tree, on real pages (the fixtures) and on
snippets built to hit the XPath corners (attribute order, the ``ol``/``ul`` rule,
case-folded tokens, ``<main>``, hidden elements).
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from copy import copy
from pathlib import Path

import pytest
from lxml import etree
from lxml.html import HtmlElement
from trafilatura import xpaths
from trafilatura.baseline import html2txt
from trafilatura.htmlprocessing import convert_tags, prune_unwanted_nodes, tree_cleaning
from trafilatura.settings import BASIC_CLEAN_XPATH
from trafilatura.utils import load_html

from services.cleaning import cascade, selectors

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cleaning"

_SNIPPET = """<html><head><title>t</title></head><body>
<div id="comments" class="x">c</div><ul class="comment-list">l</ul><ol id="commentary">o</ol>
<ol class="x" id="comment-3">o2</ol><section class="post-comments">s</section>
<div class="infinite-scroll"><h1>h</h1></div><aside id="mvp-post-add-box"><h1>h</h1></aside>
<div class="elementor-share-buttons">s</div>
<article class="post"><div class="Teaser">t</div><span id="fig-caption">c</span>
<div class="cookie-wall" id="a">k</div><div id="cookie" class="b">k2</div>
<p role="Navigation">n</p><div data-component="MostPopularStories">m</div>
<div data-lp-replacement-content="">r</div><span class="share-bar">s</span>
<div id="nav-top">n</div><div class="article-body">b</div><div class="ad-slot">a</div>
<p style="display: none">h</p><p id="hidden-x">h</p><p class="reply-box" id="r">r</p>
<p id="reply-1" class="z">r2</p><p aria-hidden="true">a</p><p class="text hidden">h</p>
<div class="FullText">f</div><div id="story-body">s</div><div class="Main-Content">m</div>
<section role="main-area">r</section><main>m</main><div class="mainbar">b</div>
<div class="entry">e</div><div itemprop="articleBody">ab</div><div class="content-main">c</div>
<div id="site-Footer" class="x">f</div><div class="x" id="footer">f2</div><p class="footer">f3</p>
<span id="CookieBot">b</span><aside>a</aside><footer>f4</footer><template>t</template>
</article></body></html>"""

_PAIRS: list[tuple[str, object, Callable[[HtmlElement], list[HtmlElement]]]] = [
    ("raw tree prune", xpaths.RAW_TREE_PRUNE_XPATH[0], selectors.raw_tree_prune),
    ("share buttons", xpaths.RAW_TREE_PRUNE_XPATH[1], selectors.share_buttons),
    ("comments and lists", xpaths.REMOVE_COMMENTS_AND_LISTS_XPATH[0], selectors.comments_and_lists),
    ("overall discard", xpaths.OVERALL_DISCARD_XPATH[0], selectors.overall_discard),
    ("hidden", xpaths.OVERALL_DISCARD_XPATH[1], selectors.hidden_discard),
    ("teasers", xpaths.TEASER_DISCARD_XPATH[0], selectors.teasers),
    ("captions", xpaths.DISCARD_IMAGE_ELEMENTS[0], selectors.captions),
    ("basic clean", BASIC_CLEAN_XPATH, selectors.basic_clean),
]


def _pages() -> list[str]:
    pages = [_SNIPPET]
    for path in sorted(FIXTURES.glob("*.html.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            pages.append(f.read())
    return pages


def _trees() -> list[HtmlElement]:
    """Each page raw and as the main extractor sees it (cleaned, tags converted)."""
    options = cascade._options()
    trees = []
    for page in _pages():
        raw = load_html(page)
        assert raw is not None
        trees += [raw, convert_tags(tree_cleaning(copy(raw), options), options, None)]
    return trees


@pytest.mark.parametrize(("name", "xpath", "select"), _PAIRS, ids=[p[0] for p in _PAIRS])
def test_selector_returns_what_its_xpath_returns(
    name: str, xpath: Callable[[HtmlElement], list[HtmlElement]], select: object
) -> None:
    assert callable(select)
    hits = 0
    for tree in _trees():
        expected = list(xpath(tree))
        assert select(tree) == expected, name
        hits += bool(expected)
    assert hits, f"{name}: no page exercises it"


@pytest.mark.parametrize("index", range(len(xpaths.BODY_XPATH)))
def test_body_selector_finds_the_container_its_xpath_finds_first(index: int) -> None:
    hits = 0
    for tree in _trees():
        expected = next((e for e in xpaths.BODY_XPATH[index](tree) if e is not None), None)
        found = selectors.BODY_SELECTORS[index](tree)
        assert found == ([expected] if expected is not None else [])
        hits += expected is not None
    assert hits


@pytest.mark.parametrize(
    "page",
    [
        *_pages(),
        "<!DOCTYPE html PUBLIC '-//W3C//DTD XHTML 1.0//EN' 'x.dtd'/>\n"
        "<html><body><p>x</p></body></html>",
        "<html/>\n<body><p>self-closed html</p></body>",
        "<html><body><p>control\x0bcharacters\x1f and \ufffe removed</p></body></html>",
        "<p>a fragment, not a page</p>",
        '<?xml version="1.0" encoding="utf-8"?><html><body><p>declared</p></body></html>',
    ],
)
def test_load_page_parses_what_load_html_parses(page: str) -> None:
    expected = load_html(page)
    tree = cascade.load_page(page)
    if expected is None:
        assert tree is None
    else:
        assert tree is not None
        assert etree.tostring(tree) == etree.tostring(expected)


def test_page_text_is_what_html2txt_gives() -> None:
    hits = 0
    for tree in _trees():
        # html2txt on the tree as the cascade has it (raw, or converted on the way).
        expected = html2txt(tree)
        assert cascade._page_text(tree) == expected
        hits += bool(selectors.basic_clean(tree))
    assert hits


def test_raw_prune_in_one_pass_leaves_the_tree_both_xpaths_leave() -> None:
    hits = 0
    for tree in _trees():
        expected, pruned = copy(tree), copy(tree)
        prune_unwanted_nodes(expected, xpaths.RAW_TREE_PRUNE_XPATH)
        prune_unwanted_nodes(pruned, [selectors.raw_prune_and_share_buttons])
        assert etree.tostring(pruned) == etree.tostring(expected)
        hits += bool(selectors.raw_prune_and_share_buttons(tree))
    assert hits


def test_basic_clean_reads_cookie_banners_as_the_case_blind_expression_does() -> None:
    # ASCII classes are settled by a word test, the others by the expression, which
    # also pairs "k" with the Kelvin sign and "s" with the long s.
    values = ["CONSENT-Manager", "notice__Cookie", "x cmplz-y", "cookies", "cookie\u212a-bar"]
    values += ["coo\u212aie-bar", "con\u017fent-sdk", "oNeTrUsT", "moove_gdpr", "borlabs", "plain"]
    body = "".join(f'<div class="{v}">a</div><p id="{v}">b</p>' for v in values)
    tree = load_html(f"<html><body>{body}</body></html>")
    assert tree is not None
    found = selectors.basic_clean(tree)
    assert found == BASIC_CLEAN_XPATH(tree)
    assert len(found) == 2 * 8  # all but "cookies", "cookieK-bar" and "plain"


@pytest.mark.parametrize(
    "body",
    [
        # Deleted elements' tails go to a block or an inline host, or to the parent's text.
        "<div>a<aside>x</aside>t1<span>s</span><footer>f</footer>t2<script>j</script>t3</div>",
        "<p><script>j</script>first<b>b</b><style>c</style>\x0b tail </p>x<aside>a</aside>y",
        "<section><aside><footer>n</footer>in</aside>out<br>z"
        "<div class='cookie-banner'>c</div></section>",
        "<span>i<template>t</template>tail</span><li>l\u200bx</li><td>\x85t</td>",
        "<div>with <!-- a comment --> inside<aside>a</aside>tail</div>",  # html2txt's own steps
    ],
)
def test_page_text_read_in_place_is_what_html2txt_gives(body: str) -> None:
    tree = load_html(f"<html><body>{body}</body></html>")
    assert tree is not None
    assert cascade._page_text(tree) == html2txt(tree)
