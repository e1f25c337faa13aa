"""Unit tests for the publication date of served pages (stamps, witnesses, their order).

The snippets are cut down from real pages of the metadata evaluation set (see
tests/fixtures/cleaning/README.md for their origin and licence); each test names
the site it comes from.
"""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from lxml import etree
from lxml.html import document_fromstring

from services.cleaning.dates import moment_of
from services.cleaning.html_meta import read_metadata
from services.cleaning.published import date_in_url
from services.cleaning.stamps import (
    UPDATE_RE,
    _pieces_within,
    headline_stamps,
    pieces_within_reversed,
    time_stamps,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cleaning"

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def _published(html: str, url: str | None = "https://example.org/a") -> datetime | None:
    return read_metadata(document_fromstring(html), url, NOW).published_at


def _page(head: str = "", body: str = "") -> str:
    return f"<html><head>{head}</head><body>{body}</body></html>"


# --------------------------------------------------------------------------- stamp lines


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # pcworld.com: a time and a named zone
        (
            "Sam Singleton Nov 25, 2025 5:00 am PST",
            datetime(2025, 11, 25, 5, tzinfo=timezone(timedelta(hours=-8))),
        ),
        # pocket-lint.com: 24-hour clock, GMT
        ("Joshua Waller 30 January 2025 / 23:07 GMT", datetime(2025, 1, 30, 23, 7, tzinfo=UTC)),
        (
            "1 May 2024 14h30 CEST",
            datetime(2024, 5, 1, 14, 30, tzinfo=timezone(timedelta(hours=2))),
        ),
        (
            "May 1, 2024 9:15 (GMT+05:30)",
            datetime(2024, 5, 1, 9, 15, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        ),
        (
            "Nov 2, 2025 12:30 am EST",
            datetime(2025, 11, 2, 0, 30, tzinfo=timezone(timedelta(hours=-5))),
        ),
        # gameinformer.com: a clock without a zone says nothing certain: the day alone
        ("Matt Miller on Dec 16, 2025 at 11:00 AM", datetime(2025, 12, 16, tzinfo=UTC)),
        # CST names two zones (US Central, China): the day alone
        ("March 3, 2025 10:02 CST", datetime(2025, 3, 3, tzinfo=UTC)),
        ("no date here 10:02 UTC", None),
    ],
)
def test_moment_of_a_stamp_line(line: str, expected: datetime | None) -> None:
    assert moment_of(line) == expected


def test_date_below_the_headline_keeps_its_shown_time_and_zone() -> None:
    html = _page(
        body="<h1>Best live TV streaming service</h1><p>Sam Singleton Nov 25, 2025 5:00 am PST</p>"
    )
    assert _published(html) == datetime(2025, 11, 25, 13, tzinfo=UTC)


# --------------------------------------------------------------------------- shown vs declared


def test_shown_day_with_a_declared_instant_on_it_keeps_the_instant() -> None:
    # wsj.com: "Nov. 18, 2019" shown in New York; the JSON-LD says 00:04 UTC the next day
    html = _page(
        '<script type="application/ld+json">{"@type": "NewsArticle", '
        '"datePublished": "2019-11-19T00:04:00.000Z"}</script>',
        "<h1>Is Football Violence a Crime?</h1><p>Nov. 18, 2019</p>",
    )
    assert _published(html) == datetime(2019, 11, 19, 0, 4, tzinfo=UTC)


def test_shown_date_without_label_wins_even_when_it_is_the_declared_modification() -> None:
    # coffeekev.com-like: the reader sees January 1, 2026 as the article's date; the
    # CMS keeps its first draft (readers of such pages took the shown date 4 times
    # in 6 on the evaluation pages).
    html = _page(
        '<meta property="article:published_time" content="2022-05-10T17:34:08+00:00">'
        '<meta property="article:modified_time" content="2026-01-01T21:00:18+00:00">',
        "<h1>Best Drip Coffee Makers (2026): Real Reviews, No Fluff</h1>"
        "<ul><li>Kev</li><li>January 1, 2026</li><li>2 Comments</li></ul>",
    )
    assert _published(html) == datetime(2026, 1, 1, tzinfo=UTC)


def test_shown_date_labelled_as_an_update_is_passed_over() -> None:
    html = _page(
        '<meta property="article:published_time" content="2022-05-10T17:34:08+00:00">',
        "<h1>Best Drip Coffee Makers</h1><p>Last updated: January 1, 2026</p>",
    )
    assert _published(html) == datetime(2022, 5, 10, 17, 34, 8, tzinfo=UTC)


def test_utc_instant_is_expressed_in_the_zone_of_the_page() -> None:
    # whatever.scalzi.com: WordPress declares UTC, its stamps say New York time
    html = _page(
        '<meta property="article:published_time" content="2025-12-19T02:41:41+00:00">',
        "<h1>Day Eighteen</h1><p>Text of the post, long enough to be a paragraph.</p>"
        '<ol class="comment-list"><li><time datetime="2025-12-18T21:46:01-05:00">'
        "December 18, 2025, 9:46 pm</time></li></ol>",
    )
    found = _published(html)
    assert found == datetime(2025, 12, 19, 2, 41, 41, tzinfo=UTC)  # the same instant
    assert found is not None
    assert found.utcoffset() == timedelta(hours=-5)
    assert found.date().isoformat() == "2025-12-18"  # on the site's own day


def test_day_alone_or_page_without_offsets_stays_in_utc() -> None:
    day_alone = _page(
        '<meta property="article:published_time" content="2025-12-19">',
        '<h1>A</h1><time datetime="2025-12-18T21:46:01-05:00">x</time>',
    )
    assert _published(day_alone) == datetime(2025, 12, 19, tzinfo=UTC)
    assert _published(day_alone).utcoffset() == timedelta(0)  # type: ignore[union-attr]
    no_offsets = _page('<meta property="article:published_time" content="2025-12-19T02:41Z">')
    assert _published(no_offsets).utcoffset() == timedelta(0)  # type: ignore[union-attr]


def test_line_opening_with_the_date_is_a_stamp_however_long() -> None:
    # sumissura.com: "February 4 2026 - Average reading time: 12 min" under the headline
    html = _page(
        '<meta property="article:published_time" content="2023-09-30 19:49:39">',
        "<h1>24 Sustainable Clothing Brands</h1>"
        "<p>February 4 2025 - Average reading time: 12 min</p><p>Written by: Nancy</p>",
    )
    assert _published(html) == datetime(2025, 2, 4, tzinfo=UTC)
    sentence = _page(
        '<meta property="article:published_time" content="2023-09-30 19:49:39">',
        "<h1>Brands</h1><p>We reviewed the brands again in February 2025 and found that "
        "February 4 2025 was the day most of them changed prices.</p>",
    )
    assert _published(sentence) == datetime(2023, 9, 30, 19, 49, 39, tzinfo=UTC)


def test_kicker_date_may_sit_one_label_above_the_headline() -> None:
    # seniorliving.org: the date, a "Listen" button, then the headline
    html = _page(
        body="<div><p>November 21, 2025</p><button>Listen</button>"
        "<h1>Best Travel Insurance for Seniors</h1><p>We chose one.</p></div>"
    )
    assert _published(html) == datetime(2025, 11, 21, tzinfo=UTC)


def test_shown_date_other_than_the_modification_still_wins() -> None:
    # gameinformer.com-like: reworked list, new date shown, CMS keeps the first draft
    html = _page(
        '<meta property="article:published_time" content="2024-08-29T10:00:00+00:00">'
        '<meta property="article:modified_time" content="2025-12-15T20:15:15+00:00">',
        "<h1>The Best Board Games Of 2025</h1>"
        '<p><a href="/author/matt">Matt Miller</a> on Dec 16, 2025 at 11:00 AM</p>',
    )
    assert _published(html) == datetime(2025, 12, 16, tzinfo=UTC)


def test_the_headline_in_the_article_beats_its_copy_in_a_sticky_header() -> None:
    # nationalreview.com: the site header repeats the headline beside today's date
    html = _page(
        '<meta property="article:published_time" content="2019-11-19T11:30:42+00:00">',
        '<div class="site-header"><h1>The Impeachment Clock</h1><div>Search</div>'
        '<span class="site-header__below-date">Nov. 20, 2019</span></div>'
        "<main><article><header><h1>The Impeachment Clock</h1><p>By Someone</p>"
        '<time datetime="2019-11-19T06:30:42-05:00">November 19, 2019 6:30 AM</time>'
        "</header><p>Each day closer to the election is one day nearer.</p></article></main>",
    )
    assert _published(html) == datetime(2019, 11, 19, 11, 30, 42, tzinfo=UTC)


def test_date_right_above_the_headline_is_its_kicker() -> None:
    # ironhack.com: the date and reading time sit above the headline; nothing is declared
    html = _page(
        body='<a href="/blog">Back to all articles</a><div><p>February 4, 2025 - 11 minutes</p>'
        "<h1>Cloud Computing Innovations: What's Next in 2025?</h1>"
        "<p>What does 2025 have in store for cloud computing?</p></div>"
    )
    assert _published(html) == datetime(2025, 2, 4, tzinfo=UTC)
    tree = document_fromstring(html)
    stamps = headline_stamps(next(tree.iter("h1")))
    assert (stamps.above, stamps.below) == (datetime(2025, 2, 4, tzinfo=UTC), None)


def test_marked_publication_time_beats_a_declared_date_set_on_each_save() -> None:
    # uschamber.com: JSON-LD datePublished equals dateModified; the reader sees "Published"
    filler = "".join(
        f"<p>Paragraph {i} of the guide, long enough to be text.</p>" for i in range(20)
    )
    html = _page(
        '<script type="application/ld+json">{"@type": "Article", '
        '"datePublished": "2025-11-29T12:28:31-05:00", '
        '"dateModified": "2025-11-29T12:28:31-05:00"}</script>',
        f"<h1>10 Free Accounting Tools for Your Small Business</h1>{filler}"
        '<div class="article-body__published">Published '
        '<time pubdate datetime="2025-08-13" title="August 13, 2025">August 13, 2025</time></div>',
    )
    assert _published(html) == datetime(2025, 8, 13, tzinfo=UTC)


def test_last_active_is_not_a_publication() -> None:
    # gist.github.com: "Last active" under the title is activity, not publication
    tree = document_fromstring(
        _page(body="<h1>gist.md</h1><p>Last active December 20, 2025 13:58</p>")
    )
    stamps = headline_stamps(next(tree.iter("h1")))
    assert stamps.below == datetime(2025, 12, 20, tzinfo=UTC)
    assert UPDATE_RE.search(stamps.below_label)


# --------------------------------------------------------------------------- <time> elements


def test_times_of_other_stories_lose_to_the_article_stamp() -> None:
    # casact.org: menus list other stories with <time>; the article's comes later in the page
    menu = "".join(
        f'<div class="views-row"><div class="views-field-field-date"><div class="field-content">'
        f'<time datetime="{d}T12:00:00Z" class="datetime">x</time></div></div></div>'
        for d in ("2025-01-31", "2025-01-06", "2022-08-02")
    )
    html = _page(
        body=f'<div class="view view-menu-career-news">{menu}</div>'
        '<article class="node"><div class="node__content"><h1>Candidate Experience</h1>'
        '<div class="node__meta">'
        '<time datetime="2017-03-01T12:00:00Z" class="datetime">03/01/2017</time></div>'
        "<p>Body text.</p></div></article>"
    )
    assert _published(html) == datetime(2017, 3, 1, 12, tzinfo=UTC)


def test_time_elements_in_comments_and_updates_are_left_out() -> None:
    tree = document_fromstring(
        _page(
            body="<h1>Headline</h1>"
            '<time class="updated" datetime="2025-02-01T00:00:00Z">Feb 1</time>'
            '<aside><time datetime="2025-03-01T00:00:00Z">Mar 1</time></aside>'
            '<div class="comment-list"><time datetime="2025-04-01T00:00:00Z">Apr 1</time></div>'
            '<p>By Jane <time class="entry-date published" '
            'datetime="2025-01-15T09:00:00Z">Jan 15</time></p>'
        )
    )
    assert time_stamps(tree, next(tree.iter("h1"))) == [(True, "2025-01-15T09:00:00Z")]


def test_the_stamp_in_an_article_footer_counts() -> None:
    # WordPress themes (Twenty Fifteen and kin) put "Posted on" at the article's end
    paragraphs = "".join(
        f"<p>Paragraph {i} of the post, long enough to be text.</p>" for i in range(20)
    )
    html = _page(
        body=f'<article><h1 class="entry-title">A post</h1><div class="entry-content">{paragraphs}'
        '</div><footer class="entry-footer"><span class="posted-on">'
        '<time class="entry-date published" datetime="2019-05-02T10:00:00+00:00">May 2, 2019</time>'
        '<time class="updated" datetime="2020-01-01T08:00:00+00:00">January 1, 2020</time>'
        "</span></footer></article><footer>© 2024 A blog</footer>"
    )
    tree = document_fromstring(html)
    assert time_stamps(tree, next(tree.iter("h1"))) == [(True, "2019-05-02T10:00:00+00:00")]
    assert _published(html) == datetime(2019, 5, 2, 10, tzinfo=UTC)


def test_the_number_of_time_elements_read_is_bounded() -> None:
    # A hostile page: thousands of <time> elements before the article's
    many = "<time datetime='2001-01-01'>x</time>" * 5_000
    tree = document_fromstring(
        _page(body=f"<div>{many}</div><h1>H</h1><time pubdate datetime='2025-01-01'>y</time>")
    )
    assert len(time_stamps(tree, next(tree.iter("h1")))) <= 200


# --------------------------------------------------------------------------- URL and fallback


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://blog.rust-lang.org/2025/12/19/what-do-people-love-about-rust", "2025-12-19"),
        ("https://www.statnews.com/2025/12/18/weight-loss-drugs/", "2025-12-18"),
        ("https://example.org/2019-11-20/story.html", "2019-11-20"),
        ("https://example.org/archive/2025/12/page.html", None),  # a month is no day
        ("https://example.org/2019/13/45/x", None),
        ("https://example.org/a?date=2019/11/20/", None),  # the query is not the path
        ("https://example.org/12345/2019/11/20", "2019-11-20"),
        (None, None),
        ("https://example.org/" + "2019/" * 10_000, None),
    ],
)
def test_date_in_url(url: str | None, expected: str | None) -> None:
    assert date_in_url(url) == expected


def test_a_year_alone_found_by_the_last_resort_search_is_dropped() -> None:
    from htmldate import find_date

    # kingarthurbaking.com-like: nothing dates the page but a copyright line
    html = _page(
        body="<h1>Easy Everyday Sourdough Bread</h1><p>Mix the flour.</p>"
        "<footer>© 2025 King Arthur</footer>"
    )
    # htmldate answers with the copyright year as January 1st ...
    assert (
        find_date(html, extensive_search=True, original_date=True, max_date="2026-01-17")
        == "2025-01-01"
    )
    # ... which is no publication day.
    assert _published(html) is None


def test_stamps_of_a_hostile_page_are_read_without_harm() -> None:
    # Nesting as deep as the parser allows, and thousands of empty elements
    # between the headline and everything else.
    deep = "<div>" * 250 + "x" + "</div>" * 250
    empty = "<span></span>" * 20_000
    tree = document_fromstring(
        _page(body=f"{deep}<p>Jan 3, 2024</p>{empty}<h1>T</h1>{empty}{deep}<p>May 5, 2024</p>")
    )
    stamps = headline_stamps(next(tree.iter("h1")))
    # Empty elements add no text: the date lines are the nearest pieces on each side.
    assert stamps.above == datetime(2024, 1, 3, tzinfo=UTC)
    assert stamps.below == datetime(2024, 5, 5, tzinfo=UTC)


def test_pieces_read_backwards_are_the_pieces_in_reverse() -> None:
    # Hidden subtrees (script, svg), nested inline runs, tails and a hidden root.
    page = document_fromstring(
        "<html><body><div>a<span>b<i>c</i>d</span>e<script>x</script>f"
        "<p>g<svg><text>y</text></svg>h</p>i</div>j<style>z</style></body></html>"
    )
    elements = list(page.iter())
    assert any(e.tag == "script" for e in elements)
    # And every element of the real pages among the fixtures.
    for path in sorted(FIXTURES.glob("*.html.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            # Comments stay in (this parser keeps them): the walks must pass them by.
            elements += list(document_fromstring(f.read()).iter(etree.Element))
    for element in elements:
        expected = list(reversed(list(_pieces_within(element))))
        assert list(pieces_within_reversed(element)) == expected, element.tag
