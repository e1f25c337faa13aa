"""The fields around the body of a served page: headline, authors, date and source.

Reads the parsed page once (:func:`~services.cleaning.page.read_page`) and asks
each field's rules: :mod:`~services.cleaning.titles`,
:mod:`~services.cleaning.authors`, :mod:`~services.cleaning.published` and
:mod:`~services.cleaning.source`. Read-only: the tree is not changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lxml.html import HtmlElement

from services.cleaning.authors import choose_authors
from services.cleaning.page import (
    ARTICLE_TYPES,
    ORGANISATION_TYPES,
    PageFacts,
    clean_value,
    element_text,
)
from services.cleaning.page import read_page as read_page_facts
from services.cleaning.published import published_at
from services.cleaning.source import SiteIdentity, registrable_domain, site_identity
from services.cleaning.text import normalise_line
from services.cleaning.titles import MAX_H1, choose_title

_TAG_RE = re.compile(r"<[^>]{0,500}>")
_HIDDEN_CLASS_RE = re.compile(r"sr-only|screen-reader|visually-hidden|visuallyhidden|hidden", re.I)


@dataclass(frozen=True)
class PageMetadata:
    """What the page says around its body; ``None``/empty where it says nothing usable."""

    title: str | None
    authors: list[str]
    published_at: datetime | None
    site: SiteIdentity
    lang: str | None


def _hidden(element: HtmlElement) -> bool:
    style = (element.get("style") or "").replace(" ", "").casefold()
    return (
        element.get("hidden") is not None
        or element.get("aria-hidden") == "true"
        or "display:none" in style
        or bool(_HIDDEN_CLASS_RE.search(element.get("class") or ""))
    )


def _visible_h1s(tree: HtmlElement) -> list[tuple[HtmlElement, str]]:
    """The page's visible ``<h1>`` elements with their text (screen-reader-only ones left out)."""
    h1s: list[tuple[HtmlElement, str]] = []
    for element in tree.iter("h1"):
        if len(h1s) >= MAX_H1:
            break
        if _hidden(element):
            continue
        text = " ".join(element_text(element).split())
        if text:
            h1s.append((element, text))
    return h1s


def _headline_element(h1s: list[tuple[HtmlElement, str]], title: str | None) -> HtmlElement | None:
    """The ``<h1>`` that is the article's headline, for the stamps next to it.

    Those showing the chosen title, else the first; among them, one inside the
    page's content (``<article>``, ``<main>``): sticky site headers repeat the
    headline beside the site's own "today" date.
    """
    candidates = [h1 for h1, text in h1s if text == title] or [h1 for h1, _text in h1s[:1]]
    in_content = (
        h1 for h1 in candidates if any(a.tag in ("article", "main") for a in h1.iterancestors())
    )
    return next(in_content, candidates[0] if candidates else None)


def _publisher_names(facts: PageFacts) -> list[str]:
    """Names the JSON-LD gives the publisher, the website and the organisation."""
    names: list[str] = []
    for obj in facts.objects_of(ARTICLE_TYPES):
        publisher: Any = obj.get("publisher")
        for item in publisher if isinstance(publisher, list) else [publisher]:
            if isinstance(item, dict) and (name := clean_value(item.get("name"))):
                names.append(name)
    for obj in facts.objects_of(ORGANISATION_TYPES):
        if name := clean_value(obj.get("name")):
            names.append(name)
    return names


def _declared_titles(facts: PageFacts) -> list[str | None]:
    """JSON-LD headline, og:title, twitter:title and ``<title>``, markup removed."""
    headline = next(
        (
            clean_value(o.get("headline"))
            for o in facts.objects_of(ARTICLE_TYPES)
            if o.get("headline")
        ),
        None,
    )
    titles = [
        headline,
        clean_value(facts.first_meta("og:title")),
        clean_value(facts.first_meta("twitter:title")),
        facts.title_tag,
    ]
    # HTML inside og:title ("<i>Dune</i> review") is markup, not text.
    return [normalise_line(_TAG_RE.sub("", t)) if t else None for t in titles]


def read_metadata(tree: HtmlElement, url: str | None, now: datetime | None = None) -> PageMetadata:
    """Headline, authors, publication date and site identity of a parsed page."""
    facts = read_page_facts(tree)
    # The fetch URL names the site; a page's own canonical link only stands in
    # when there is none (a page must not be able to pass itself off as another site).
    site_url = url or facts.canonical or facts.first_meta("og:url")
    declared_names = [clean_value(facts.first_meta("og:site_name")), *_publisher_names(facts)]
    declared_names.append(clean_value(facts.first_meta("application-name")))
    site = site_identity(site_url, declared_names)
    site_names = [n for n in declared_names if n]
    domain = site.domain or registrable_domain(site_url)
    if domain:
        site_names += [domain, domain.split(".")[0]]
    h1s = _visible_h1s(tree)
    title = choose_title([text for _h1, text in h1s], _declared_titles(facts), site_names)
    # The date stamp belongs next to the headline the reader sees.
    headline = _headline_element(h1s, title)
    return PageMetadata(
        title=title,
        authors=choose_authors(tree, facts, site_names),
        published_at=published_at(tree, facts, site_url, now, headline),
        site=site,
        lang=facts.lang,
    )
