"""Unit tests for the labelled date line, the witness asked before htmldate.

Snippets are cut down from the shapes seen on real pages: a shop blog's "Post time:
01-04-2024" at the article's end, a public-health page's "Last Updated: June 2022"
beside a citation date in the text.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from lxml.html import document_fromstring

from services.cleaning.html_meta import read_metadata
from services.cleaning.stamp_lines import labelled_stamp, line_date

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def _page(body: str, lang: str = "en") -> str:
    return f'<html lang="{lang}"><head><title>t</title></head><body>{body}</body></html>'


def _published(html: str) -> datetime | None:
    return read_metadata(document_fromstring(html), "https://example.org/a", NOW).published_at


@pytest.mark.parametrize(
    ("value", "lang", "expected"),
    [
        ("June 2022", "en", datetime(2022, 6, 1, tzinfo=UTC)),
        ("01-04-2024", "en", datetime(2024, 1, 4, tzinfo=UTC)),
        ("01-04-2024", "en-US", datetime(2024, 1, 4, tzinfo=UTC)),
        # day-first or month-first cannot be told apart outside US English
        ("01-04-2024", "en-GB", None),
        ("01-04-2024", "fr", None),
        ("01-04-2024", None, None),
        # unambiguous whichever the order
        ("25/04/2024", "fr", datetime(2024, 4, 25, tzinfo=UTC)),
        ("04/25/2024", None, datetime(2024, 4, 25, tzinfo=UTC)),
        ("13/13/2024", "en", None),
        ("April 3, 2021", "de", datetime(2021, 4, 3, tzinfo=UTC)),
        ("2021-04-03", None, datetime(2021, 4, 3, tzinfo=UTC)),
        ("Frobnary 2022", "en", None),
        ("3 hours ago", "en", None),
    ],
)
def test_line_date(value: str, lang: str | None, expected: datetime | None) -> None:
    assert line_date(value, lang) == expected


def test_a_post_time_at_the_end_of_the_article_is_its_date() -> None:
    html = _page(
        "<h1>Best e-bikes</h1><p>Long text about bikes, written for riders.</p>"
        "<div class='meta'><span>Post time:</span> <span>01-04-2024</span></div>"
    )
    assert _published(html) == datetime(2024, 1, 4, tzinfo=UTC)


def test_the_last_update_beats_a_citation_date_in_the_text() -> None:
    html = _page(
        "<h1>Meditation</h1><p>A study (Psychological Medicine. August 18, 2020) found"
        " that many things were true of many people over many years of study.</p>"
        "<p>Last Updated: June 2022</p>"
    )
    assert _published(html) == datetime(2022, 6, 1, tzinfo=UTC)


def test_a_publication_line_wins_over_an_earlier_update_line() -> None:
    tree = document_fromstring(
        _page("<p>Updated: March 3, 2024</p><p>Published on: February 1, 2024</p>")
    )
    assert labelled_stamp(tree, "en", NOW) == datetime(2024, 2, 1, tzinfo=UTC)


def test_long_lines_scripts_and_large_containers_are_not_labels() -> None:
    tree = document_fromstring(
        _page(
            "<p>Posted on March 3, 2024 by the editors of a site who wrote a long sentence</p>"
            "<script>var s = 'Posted: March 4, 2024';</script>"
            "<div>Posted: <b>a</b><b>b</b><b>c</b><b>d</b><b>e</b><b>f</b> March 5, 2024</div>"
        )
    )
    assert labelled_stamp(tree, "en", NOW) is None


def test_implausible_dates_are_passed_over() -> None:
    tree = document_fromstring(
        _page("<p>Posted: March 3, 2099</p><p>Posted: 1850-01-01</p><p>Updated: May 2, 2023</p>")
    )
    assert labelled_stamp(tree, "en", NOW) == datetime(2023, 5, 2, tzinfo=UTC)


def test_a_hostile_page_of_many_small_elements_is_read() -> None:
    body = "<div>" + "<span>Posted: soon</span>" * 20_000 + "</div><p>Updated: May 2, 2023</p>"
    tree = document_fromstring(_page(body))
    assert labelled_stamp(tree, "en", NOW) == datetime(2023, 5, 2, tzinfo=UTC)


def test_labels_inside_noscript_or_template_are_not_read() -> None:
    tree = document_fromstring(
        _page(
            "<noscript><div><p>Posted: March 3, 2024</p></div></noscript>"
            "<template><p>Posted: March 4, 2024</p></template><p>Updated: May 2, 2023</p>"
        )
    )
    assert labelled_stamp(tree, "en", NOW) == datetime(2023, 5, 2, tzinfo=UTC)


def test_a_deeply_nested_page_is_read() -> None:
    body = "<div>" * 250 + "<p>Posted: May 2, 2023</p>" + "</div>" * 250
    tree = document_fromstring(_page(body))
    assert labelled_stamp(tree, "en", NOW) == datetime(2023, 5, 2, tzinfo=UTC)
