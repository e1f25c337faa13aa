"""The authors of a served page, from what it declares and what it shows.

Witnesses, in order of trust:

1. the JSON-LD article's ``author`` when it names people (``@id`` references into
   the page's graph are followed);
2. the byline the reader sees: elements marked as an author's name
   (``rel=author``, ``itemprop=author``, classes like ``byline-name``,
   ``author-name``, links to an author page), then whole byline elements and
   "By ..." lines, cleaned by :func:`~services.cleaning.names.names_from_byline`;
3. ``meta[name=author]`` and its variants;
4. an organisation credited as author (JSON-LD), which is often the site itself.

A name equal to the site's own name is kept only as the last resort: "Cleveland
Clinic" as the author of a Cleveland Clinic page says nothing the source does not.
"""

# Word lists read best as one string (SIM905 would spell them out).
# ruff: noqa: SIM905

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from collections.abc import Set as AbstractSet
from functools import lru_cache
from typing import Any

from lxml.html import HtmlElement

from services.cleaning.names import names_from_byline
from services.cleaning.page import (
    ARTICLE_TYPES,
    ORGANISATION_TYPES,
    PageFacts,
    clean_value,
    element_text,
)
from services.cleaning.titles import is_site_name

_META_AUTHOR_KEYS = (
    "author",
    "article:author",
    "parsely-author",
    "sailthru.author",
    "dc.creator",
    "dcterms.creator",
    "citation_author",
    "byl",
)
# Class and id words (split at "-", "_" and camelCase) that mark an author's name
# ("author-name", "byline__name", "creatorName") or a whole byline.
_AUTHOR_WORDS = frozenset(("author", "authors", "byline", "writer", "creator", "contributor"))
_NAME_WORDS = frozenset(("name", "link", "title", "fn"))
# Author boxes' biographies, avatars and share buttons mention names that are not the byline.
_NOT_BYLINE_WORDS = frozenset(
    "comment comments avatar image img photo bio description social share desc about info".split()
)
_CLASS_SPLIT_RE = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z])(?=[A-Z])")
# Links to an author's page: their text is the name.
_AUTHOR_HREF_RE = re.compile(r"/(?:author|authors|writers?|contributors?|people|staff)/")
# Comment threads and navigation menus ("By Category", "By Type") hold no byline.
_FURNITURE_WORDS = frozenset(
    "comment comments menu nav navbar navigation dropdown breadcrumb breadcrumbs megamenu "
    "submenu".split()
)
# Substrings one of which a class must hold to name an author or a furniture block.
_CLASS_HINTS_RE = re.compile("|".join(sorted(_AUTHOR_WORDS | _FURNITURE_WORDS)))
_BY_TEXT_RE = re.compile(
    r"^\s*(?:(?:written|posted|reported|story|words)\s+)?by\s*[:：]?\s+\S"
    r"|^\s*(?:authors?|writers?)\s*[:：]\s*\S",
    re.IGNORECASE,
)
# Elements examined per witness kind; bylines sit near the top of a page.
_MAX_ELEMENTS = 40


def _json_ld_names(value: object, by_id: dict[str, dict[str, Any]]) -> Iterator[tuple[str, bool]]:
    """(name, is_person) of each author in a JSON-LD ``author`` value."""
    values = value if isinstance(value, list) else [value]
    for item in values[:20]:
        if isinstance(item, str):
            name = clean_value(item)
            if name:
                yield name, True
            continue
        if not isinstance(item, dict):
            continue
        if "name" not in item and isinstance(item.get("@id"), str):
            item = by_id.get(item["@id"], item)
        types = item.get("@type")
        type_list = types if isinstance(types, list) else [types]
        is_org = any(isinstance(t, str) and t.casefold() in ORGANISATION_TYPES for t in type_list)
        names = item.get("name")
        for name in names if isinstance(names, list) else [names]:
            cleaned = clean_value(name)
            if cleaned:
                yield cleaned, not is_org


def declared_authors(facts: PageFacts) -> tuple[list[str], list[str]]:
    """(people, organisations) the JSON-LD article names as its authors."""
    by_id = {o["@id"]: o for o in facts.json_ld if isinstance(o.get("@id"), str) and "name" in o}
    people: list[str] = []
    organisations: list[str] = []
    for obj in facts.objects_of(ARTICLE_TYPES) or facts.json_ld:
        if "author" not in obj:
            continue
        for name, is_person in _json_ld_names(obj["author"], by_id):
            target = people if is_person else organisations
            for person in names_from_byline(name, strict=False) if is_person else [name]:
                if person not in target:
                    target.append(person)
        if people or organisations:
            break
    return people, organisations


_NO_WORDS: frozenset[str] = frozenset()
# Class strings longer than this are read without the cache (a page could fill it
# with huge ones and keep them in memory after it is done).
_MAX_CACHED_CLASSES = 200


def _class_words(element: HtmlElement) -> AbstractSet[str]:
    class_, id_ = element.get("class"), element.get("id")
    if not class_ and not id_:  # most elements: nothing to read
        return _NO_WORDS
    classes = f"{class_ or ''} {id_ or ''}"
    if len(classes) > _MAX_CACHED_CLASSES:
        return _words_of(classes)
    return _cached_words_of(classes)


def _words_of(classes: str) -> frozenset[str]:
    # Most elements name no author: a substring test spares splitting their classes.
    folded = classes.casefold()
    if not _CLASS_HINTS_RE.search(folded):
        return _NO_WORDS
    return frozenset(w.casefold() for w in _CLASS_SPLIT_RE.split(classes) if w)


# Menus and lists repeat the same classes on every item, and sites on every page:
# the words of a class string are read once.
_cached_words_of = lru_cache(maxsize=4096)(_words_of)


def _in_furniture(element: HtmlElement) -> bool:
    """Inside a comment thread or a menu? (``<body>`` classes describe the page, not this.)"""
    for ancestor in element.iterancestors():
        if ancestor.tag in ("body", "html"):
            return False
        if ancestor.tag == "nav" or _class_words(ancestor) & _FURNITURE_WORDS:
            return True
    return False


def _name_elements(tree: HtmlElement) -> Iterator[HtmlElement]:
    """Elements that hold an author's name alone, in page order."""
    for element in tree.iter("a", "span", "div", "p", "h3", "h4", "h5", "strong", "address"):
        # The tests in turn, the cheap ones first (most elements have no rel or itemprop).
        rel, itemprop = element.get("rel"), element.get("itemprop")
        if (rel and "author" in rel.casefold().split()) or (
            itemprop and itemprop.casefold() == "author"
        ):
            yield element
            continue
        words = _class_words(element)
        if (words & _AUTHOR_WORDS and words & _NAME_WORDS) or (
            element.tag == "a" and _AUTHOR_HREF_RE.search(element.get("href") or "")
        ):
            yield element


def _byline_elements(tree: HtmlElement) -> Iterator[HtmlElement]:
    """Elements that are a whole byline, or a line starting with "By", in page order."""
    tags = ("div", "span", "p", "li", "address", "section", "header", "a", "small")
    for element in tree.iter(*tags, "h2", "h3", "h4", "h5", "h6"):
        words = _class_words(element)
        if (words & _AUTHOR_WORDS and not words & _NOT_BYLINE_WORDS) or (
            element.text and _BY_TEXT_RE.match(element.text)
        ):
            yield element


def _names_in(element: HtmlElement, single: bool) -> list[str]:
    if _in_furniture(element):
        return []
    text = element_text(element)
    return names_from_byline(text, single=single) if 0 < len(text) <= 300 else []


def visible_authors(tree: HtmlElement) -> list[str]:
    """Names in the byline the reader sees; the first witness that gives any wins.

    Several authors are often marked one by one (``<a rel=author>A</a> and <a
    rel=author>B</a>``): marked names sharing the first one's parent are kept too.
    """
    body = tree.find("body")
    root = body if body is not None else tree
    for finder, single in ((_name_elements, True), (_byline_elements, False)):
        names: list[str] = []
        parent = None
        for count, element in enumerate(finder(root)):
            if count >= _MAX_ELEMENTS or (parent is not None and element.getparent() is not parent):
                break
            found = _names_in(element, single)
            if found:
                names += [n for n in found if n not in names]
                parent = element.getparent()
        if names:
            return names
    return []


def meta_authors(facts: PageFacts, organisations: Sequence[str] = ()) -> list[str]:
    """Names from ``meta[name=author]`` and its variants (URLs and handles left out).

    A value that is the name of an organisation the JSON-LD credits is kept whole:
    "Center for Drug Evaluation and Research" is one author, not two.
    """
    known = {o.casefold() for o in organisations}
    names: list[str] = []
    for key in _META_AUTHOR_KEYS:
        for value in facts.meta.get(key, ()):
            value = clean_value(value) or ""
            if value.startswith(("http:", "https:", "@")):
                continue
            found = [value] if value.casefold() in known else names_from_byline(value, strict=False)
            for name in found:
                if name not in names:
                    names.append(name)
        if names:
            break
    return names


def choose_authors(tree: HtmlElement, facts: PageFacts, site_names: Sequence[str]) -> list[str]:
    """The article's authors by the order of trust in the module docstring."""
    people, organisations = declared_authors(facts)
    own = [p for p in people if is_site_name(p, site_names)]
    people = [p for p in people if p not in own]
    if people:
        return people
    meta = meta_authors(facts, organisations)
    visible = visible_authors(tree)
    # A fuller list in the metadata (citation_author) wins over a byline naming
    # only the first of the same authors.
    if visible and len(meta) > len(visible) and set(visible) <= set(meta):
        visible = meta
    for names in (visible, meta):
        kept = [n for n in names if not is_site_name(n, site_names)]
        if kept:
            return kept
    # The site itself as the byline ("Silverback Strategies | October 15, 2025")
    # is still what the page says; the JSON-LD organisation comes after it.
    return own or visible or organisations or meta
