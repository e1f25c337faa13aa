"""Pure cleaning logic of the cleaning stage: raw page in, the article alone out.

Two kinds of input reach the stage:

* **HTML** as served by the site: trafilatura extracts the body and we tidy what it
  returns (:mod:`services.cleaning.from_html`).
* **Already-scraped text**: a page someone else flattened to text, one block per
  line, still carrying menus, share counters, teasers, comment forms and footers;
  the cleaner judges the lines alone (:mod:`services.cleaning.from_text`).

This module is the stage's entry point: :func:`clean` picks the path, and the
names the stage and the console use are re-exported here so they import one
module. Each concern lives in its own module:

==============================  =====================================================
``text``                        normalisation, word count, unusable-input check
``language``                    language detection, function-word lists
``fingerprint``                 SimHash of bodies for near-duplicate detection
``furniture`` / ``teasers``     furniture phrases; teasers and agency credit lines
``scraped`` / ``headline`` /    scraped text: line signals, the headline, the
``region``                      region search
``bylines`` / ``dates``         author names and dates found in page text
``page`` / ``html_meta``        a served page's declared metadata, and the fields
                                around its body: ``titles``, ``names`` and
                                ``authors``, ``published`` (with ``stamps``, the
                                dates shown next to the headline), ``source``
``layout``                      layout tables turned back into blocks
``cascade``                     trafilatura's extraction, run at less cost
``lead``                        the top of a body: headline copy, labels, stamps
``from_text`` / ``from_html``   the two extraction paths
==============================  =====================================================

Nothing here touches the network, the environment or the file system: the stage
and the CLI call these functions and own the I/O. Every rule is general (line
shape, punctuation, function words, repetition, position, boilerplate phrases in
several languages); none is keyed to a site, because the evaluation pages are not
the pages the pipeline will see.
"""

from __future__ import annotations

from dataclasses import replace

from services.cleaning.fingerprint import fingerprint, hamming_distance
from services.cleaning.from_html import extract_from_html
from services.cleaning.from_text import extract_from_text
from services.cleaning.language import detect_language
from services.cleaning.result import Extracted, ExtractionError
from services.cleaning.source import registrable_domain
from services.cleaning.text import normalise_body_text, normalise_line, word_count

__all__ = [
    "Extracted",
    "ExtractionError",
    "clean",
    "detect_language",
    "extract_from_html",
    "extract_from_text",
    "fingerprint",
    "hamming_distance",
    "normalise_body_text",
    "word_count",
]


def clean(
    html: str | None,
    text: str | None,
    url: str | None = None,
    title_hint: str | None = None,
) -> Extracted:
    """Clean whichever form of the page a message carries, preferring HTML.

    HTML keeps the page's structure and gives the better body, so it goes first;
    scraped text is used when there is no HTML or the HTML holds no article. A
    headline known from the source (``title_hint``) wins over the extracted one.
    ``url`` (where the page was fetched) names the site: ``site_domain``.
    Raises :class:`ExtractionError` when neither form yields an article.
    """
    # isspace() answers what strip() would, without copying a whole page.
    has_text = text is not None and text != "" and not text.isspace()
    if html and not html.isspace():
        try:
            result = extract_from_html(html, url=url)
        except ExtractionError:
            if not has_text:
                raise
        else:
            if title_hint and title_hint.strip():
                result = replace(result, title=normalise_line(title_hint))
            return result
    if text and has_text:
        result = extract_from_text(text, title_hint=title_hint)
        # Scraped text has no markup to name its site: the URL is the only witness.
        domain = registrable_domain(url)
        return replace(result, site_domain=domain, site_name=result.site_name or domain)
    raise ExtractionError("message carries neither HTML nor text")
