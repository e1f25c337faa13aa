"""The scraped-text path: keep the article's paragraphs, drop the furniture.

A page someone else flattened to text, one block per line, still carrying menus,
share counters, teasers, comment forms and footers. No markup is left, so link
density and tag names are gone; the cleaner judges the lines alone.
"""

from __future__ import annotations

from services.cleaning.bylines import authors_of
from services.cleaning.dates import date_of
from services.cleaning.headline import find_title
from services.cleaning.language import detect_language, stopwords_for
from services.cleaning.region import (
    choose_region,
    extend_continuations,
    line_weights,
    skip_standfirst,
)
from services.cleaning.result import Extracted, ExtractionError
from services.cleaning.scraped import lines_of
from services.cleaning.teasers import credit_of, teaser_headline
from services.cleaning.text import reject_unusable, word_count

# Credit lines close an article: they are looked for among this many lines on each
# side of the region's end (below it too, since they weigh negative and fall
# outside). Elsewhere a short "... with AP" line is more likely a sentence.
CREDIT_REACH = 3
# A page whose longest kept line is shorter than this holds labels, not an article.
MIN_PARAGRAPH_WORDS = 4


def extract_from_text(text: str, title_hint: str | None = None) -> Extracted:
    """Clean an already-scraped page: keep the article's paragraphs, drop the furniture.

    Steps: split into lines (blank lines separate blocks) and weigh each by how much
    it reads like prose; find the headline; take the run of lines below it (or the
    heaviest run on the page) as the article, so menus above and footers, related
    links and comment threads below stay out; inside the run drop what is still
    furniture (teasers, counters, bylines, comment forms, headline copies); pull
    agency credit lines ("The world with AFP") out into ``credit``. ``title_hint`` (a
    headline known from elsewhere, such as a feed) wins over the guessed one.
    Raises :class:`ExtractionError` when no article is left.
    """
    reject_unusable(text, "text")
    page_language, stopwords = stopwords_for(text)
    lines = lines_of(text, stopwords)
    if not lines:
        raise ExtractionError("text input has no words")

    guess = find_title(lines, title_hint, page_language)
    start, end = choose_region(line_weights(lines, guess), guess.lines)
    end = extend_continuations(lines, end)
    start = skip_standfirst(lines, start, end)

    credit: list[str] = []
    body: list[str] = []
    related: list[str] = []
    for line in lines[start : end + CREDIT_REACH]:
        at_tail = line.index >= end - CREDIT_REACH
        agencies = credit_of(line.text) if at_tail else None
        headline = teaser_headline(line.text)
        if headline is not None:
            related.append(headline)
        elif agencies is not None:
            credit.extend(a for a in agencies if a not in credit)
        elif line.index < end and not (
            line.index in guess.lines
            or line.furniture
            or line.numeric
            or line.words == 0
            or line.duplicate
            or line.byline
            or line.dateline
        ):
            body.append(line.text)
    # Without any prose the region is the whole page; menu items alone are no article.
    if not any(word_count(paragraph) >= MIN_PARAGRAPH_WORDS for paragraph in body):
        raise ExtractionError("no article text found: every line looks like page furniture")

    # Bylines and dates sit between the headline and the body (sometimes below a
    # standfirst); teaser cards higher up the page carry stamps of their own.
    top = min((i for i in guess.lines if i > 0), default=0)
    stamps = [line for line in lines[top:end] if line.byline or line.dateline]
    authors = next((a for a in (authors_of(line.text) for line in stamps) if a), [])
    published = next((d for d in (date_of(line.text) for line in stamps) if d), None)
    body_text = "\n\n".join(body)
    return Extracted(
        title=guess.title,
        text=body_text,
        authors=authors,
        published_at=published,
        language=detect_language(body_text),
        site_name=guess.site_name,
        credit=credit,
        input_format="text",
        related=related,
    )
