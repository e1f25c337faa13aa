"""Unit tests for the metadata rules of the HTML path: title, authors, date, source, layout.

The snippets are cut down from real pages (see tests/fixtures/cleaning/README.md
for their origin and licence); each test names the site it comes from.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, timezone

import pytest
from lxml.html import document_fromstring

from services.cleaning.extract import extract_from_html
from services.cleaning.html_meta import read_metadata
from services.cleaning.layout import is_layout_table, unwrap_layout_tables
from services.cleaning.names import names_from_byline
from services.cleaning.page import clean_value, read_page
from services.cleaning.published import parse_datetime, plausible
from services.cleaning.source import display_name, registrable_domain, site_identity
from services.cleaning.titles import choose_title, strip_site_name

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def _meta(html: str, url: str | None = "https://example.org/a") -> object:
    return read_metadata(document_fromstring(html), url, NOW)


def _page(head: str = "", body: str = "") -> str:
    return f"<html><head>{head}</head><body>{body}</body></html>"


# --------------------------------------------------------------------------- titles


@pytest.mark.parametrize(
    ("title", "names", "expected"),
    [
        # itsalltriptome.com: og:site_name after a bar
        (
            "How To Book a Flight For Beginners | It's All Trip To Me",
            ["It's All Trip To Me"],
            "How To Book a Flight For Beginners",
        ),
        # tastewise.io: no declared name, the domain's label is the site
        (
            "Health And Nutrition Trends For 2026 - Tastewise",
            ["tastewise.io", "tastewise"],
            "Health And Nutrition Trends For 2026",
        ),
        # tastifyfood.com: site name first
        (
            "Tastify | Top 7 Corporate Catering Trends for 2024",
            ["Tastify"],
            "Top 7 Corporate Catering Trends for 2024",
        ),
        # blog.rust-lang.org: a short tail after a bar, declared nowhere
        ("What do people love about Rust? | Rust Blog", [], "What do people love about Rust?"),
        # a dash inside the headline is not a separator to cut at
        ("Spider-Man 2 review: swinging high", ["Example"], "Spider-Man 2 review: swinging high"),
    ],
)
def test_strip_site_name(title: str, names: list[str], expected: str) -> None:
    assert strip_site_name(title, names) == expected


def test_visible_h1_wins_over_an_seo_title() -> None:
    # bloomreach.com: <title>/og:title are an SEO rewording of the <h1>
    title = choose_title(
        ["How Machine Learning Personalizes Ecommerce Shopping Experiences"],
        [None, "Using Machine Learning To Personalize Shopping Experiences"],
        ["Bloomreach"],
    )
    assert title == "How Machine Learning Personalizes Ecommerce Shopping Experiences"


def test_h1_that_is_a_section_heading_loses_to_the_declared_title() -> None:
    # gist.github.com: the page's <h1>s are the gist's section headings
    title = choose_title(
        ["Discord", "Mintlify", "Conclusion"],
        [
            None,
            "How we pwned X (Twitter), Vercel, Cursor, Discord, and hundreds of companies "
            "through a supply-chain attack",
        ],
        ["github.com", "github"],
    )
    assert title is not None and title.startswith("How we pwned X")


def test_h1_naming_the_site_is_not_the_headline() -> None:
    # theyogahabituk.blog: the blog's name is the <h1>
    title = choose_title(
        ["Yoga Pathways"],
        [None, "Yoga Won't Fix the Plumbing, But It Might Save Your Sanity"],
        ["Yoga Pathways"],
    )
    assert title == "Yoga Won't Fix the Plumbing, But It Might Save Your Sanity"


def test_label_before_the_headline_is_dropped() -> None:
    # silverbackstrategies.com: <h1><strong>Blog:</strong> Best ...</h1>
    title = choose_title(
        ["Blog: Best Social Media Advertising Agencies in the U.S. in 2025 (Ranked & Reviewed)"],
        ["Best Social Media Advertising Agencies in the U.S. in 2025 (Ranked & Reviewed)"],
        ["Silverback Strategies"],
    )
    assert title == "Best Social Media Advertising Agencies in the U.S. in 2025 (Ranked & Reviewed)"


def test_truncated_json_ld_headline_is_completed_from_another_title() -> None:
    # stylebyemilyhenderson.com: JSON-LD headline cut at 110 characters
    full = (
        "Fix It Friday: Struggling With How To Arrange Your Living Room? We Help 4 Readers "
        "Find Solutions (Including One Universal Trick That 9/10 Works)"
    )
    title = choose_title([], [full[:104], full + " - Emily Henderson"], ["Emily Henderson"])
    assert title == full


def test_markup_in_og_title_is_not_kept_literally() -> None:
    html = _page('<meta property="og:title" content="&lt;i&gt;Dune&lt;/i&gt; review">')
    assert _meta(html).title == "Dune review"  # type: ignore[attr-defined]


def test_entities_encoded_twice_are_decoded() -> None:
    # appinventiv.com: JSON-LD "&#8211;" inside an HTML page
    assert (
        clean_value("Shaping eCommerce &amp;#8211; 10 Benefits")
        == "Shaping eCommerce – 10 Benefits"
    )


# --------------------------------------------------------------------------- authors


@pytest.mark.parametrize(
    ("byline", "names"),
    [
        ("By Keith Barry Senior Autos Reporter Updated March 11, 2026", ["Keith Barry"]),
        ("View all posts by Ray Ansari", ["Ray Ansari"]),
        ("About the Author Alex Woodbury Subscribe", ["Alex Woodbury"]),
        ("Written by Meghan Neville\nContent Marketing Coordinator", ["Meghan Neville"]),
        ("by Jeff Foust\nMonday, November 18, 2019", ["Jeff Foust"]),
        ("Dec. 19, 2025 · Niko Matsakis\non behalf of Vision Doc group", ["Niko Matsakis"]),
        ("16 December 2025 by Sam O'Brien", ["Sam O'Brien"]),
        (
            "By Charles Patterson, WCI Columnist\nAugust 19, 2025 | 33 Comments",
            ["Charles Patterson"],
        ),
        (
            "Article by: Cara Dumaplin RN, BSN, Certified Pediatric Sleep Consultant",
            ["Cara Dumaplin"],
        ),
        ("By Jared Newman and Sam Singleton", ["Jared Newman", "Sam Singleton"]),
        ("Posted\nby\nBeauHD\non Friday December 19, 2025", ["BeauHD"]),
        ("Personal finance\nJanuary 27, 2025", []),  # a category and a date: no name
        ("By Category", []),  # a menu entry
    ],
)
def test_names_from_byline(byline: str, names: list[str]) -> None:
    assert names_from_byline(byline) == names


def test_declared_names_may_be_handles_or_single_words() -> None:
    assert names_from_byline("inikosoftseo", strict=False) == ["inikosoftseo"]
    assert names_from_byline("Parisa Ostovari", strict=False) == ["Parisa Ostovari"]


def test_json_ld_author_reference_is_followed() -> None:
    # Yoast graph (itsalltriptome.com style): the article points at a Person by @id
    html = _page(
        '<script type="application/ld+json">{"@graph": ['
        '{"@type": "Article", "headline": "H", "author": {"@id": "https://x.org/#/p/1"}},'
        '{"@type": "Person", "@id": "https://x.org/#/p/1", "name": "Ahmet Serhan"}]}</script>'
    )
    assert _meta(html).authors == ["Ahmet Serhan"]  # type: ignore[attr-defined]


def test_several_marked_authors_are_all_kept() -> None:
    # redfin.com: two rel=author links in one byline
    html = _page(
        body='<div class="post-byline">Published on December 2nd, 2025 by '
        '<a rel="author" class="author url fn" href="/a/chen">Chen Zhao</a> and '
        '<a rel="author" class="author url fn" href="/a/daryl">Daryl Fairweather</a></div>'
    )
    assert _meta(html).authors == ["Chen Zhao", "Daryl Fairweather"]  # type: ignore[attr-defined]


def test_menu_entries_starting_with_by_are_not_bylines() -> None:
    # paycom.com: "By Company Size" in a dropdown menu
    html = _page(
        body='<nav><ul class="dropdown-menu"><li>By Company Size</li><li>By Role</li></ul></nav>'
        '<div class="byline">By Ana de Souza</div>'
    )
    assert _meta(html).authors == ["Ana de Souza"]  # type: ignore[attr-defined]


def test_the_site_as_byline_is_kept_when_nothing_else_names_an_author() -> None:
    # silverbackstrategies.com: "Silverback Strategies | October 15, 2025"
    html = _page(
        '<meta property="og:site_name" content="Silverback Strategies">',
        '<div class="at-author">Silverback Strategies | October 15, 2025</div>',
    )
    assert _meta(html).authors == ["Silverback Strategies"]  # type: ignore[attr-defined]


def test_person_beats_the_site_credited_in_json_ld() -> None:
    html = _page(
        '<meta property="og:site_name" content="Cleveland Clinic">'
        '<script type="application/ld+json">{"@type": "Article", "author": '
        '{"@type": "Person", "name": "Cleveland Clinic"}}</script>',
        '<p class="byline">By Holly Wilgus</p>',
    )
    assert _meta(html).authors == ["Holly Wilgus"]  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-12-01T09:15:00Z", datetime(2025, 12, 1, 9, 15, tzinfo=UTC)),
        ("2024-05-09 00:00:00 +0000", datetime(2024, 5, 9, tzinfo=UTC)),
        ("2025-01-04T00:00:00.000Z", datetime(2025, 1, 4, tzinfo=UTC)),
        (
            "2024-04-05T10:30:00-0400",
            datetime(2024, 4, 5, 10, 30, tzinfo=timezone(timedelta(hours=-4))),
        ),
        ("2023-09-30 19:49:39", datetime(2023, 9, 30, 19, 49, 39, tzinfo=UTC)),
        ("Fri, 19 Dec 2025 10:00:00 GMT", datetime(2025, 12, 19, 10, tzinfo=UTC)),
        ("December 17, 2025", datetime(2025, 12, 17, tzinfo=UTC)),
        ("20250617", datetime(2025, 6, 17, tzinfo=UTC)),
        ("1766138400", datetime(2025, 12, 19, 10, tzinfo=UTC)),
        ("not a date", None),
        ("2025-13-45", None),
    ],
)
def test_parse_datetime(value: str, expected: datetime | None) -> None:
    assert parse_datetime(value) == expected


def test_time_of_day_and_zone_are_kept() -> None:
    html = _page('<meta property="article:published_time" content="2025-12-01T09:15:00+01:00">')
    published = _meta(html).published_at  # type: ignore[attr-defined]
    assert published == datetime(2025, 12, 1, 8, 15, tzinfo=UTC)
    assert published.utcoffset() == timedelta(hours=1)


def test_modification_date_is_not_the_publication_date() -> None:
    # greatbigphotographyworld.com: both declared, the published one wins
    html = _page(
        '<meta property="article:modified_time" content="2025-08-19T13:25:59+00:00">'
        '<meta property="article:published_time" content="2025-01-29T20:47:55+00:00">'
    )
    assert _meta(html).published_at == datetime(2025, 1, 29, 20, 47, 55, tzinfo=UTC)  # type: ignore[attr-defined]


def test_date_labelled_as_update_below_the_headline_is_passed_over() -> None:
    html = _page(
        '<script type="application/ld+json">{"@type": "NewsArticle", '
        '"datePublished": "2024-04-18T06:00:00Z"}</script>',
        "<h1>Your Car Maintenance Checklist</h1><p>Updated April 10, 2025</p>",
    )
    assert _meta(html).published_at == datetime(2024, 4, 18, 6, tzinfo=UTC)  # type: ignore[attr-defined]


def test_date_shown_below_the_headline_wins_over_structured_data() -> None:
    # uschamber.com: a reworked article shows its new date; its JSON-LD keeps the old one
    html = _page(
        '<script type="application/ld+json">{"@type": "Article", '
        '"datePublished": "2025-11-29T12:28:31-05:00"}</script>',
        "<h1>Best free accounting software</h1><p>Published August 13, 2025</p>",
    )
    assert _meta(html).published_at == datetime(2025, 8, 13, tzinfo=UTC)  # type: ignore[attr-defined]


def test_future_and_ancient_dates_are_dropped_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        assert plausible(datetime(2099, 1, 1, tzinfo=UTC), NOW, "test") is None
        assert plausible(datetime(1850, 1, 1, tzinfo=UTC), NOW, "test") is None
    assert "implausible publication date" in caplog.text
    # Two days ahead is clock skew or a time zone, not an error.
    assert plausible(NOW + timedelta(days=1), NOW, "test") == NOW + timedelta(days=1)


def test_implausible_declared_date_gives_way_to_the_next_witness() -> None:
    html = _page(
        '<meta property="article:published_time" content="2099-01-01T00:00:00Z">'
        '<meta name="parsely-pub-date" content="2025-03-01T08:00:00Z">'
    )
    assert _meta(html).published_at == datetime(2025, 3, 1, 8, tzinfo=UTC)  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- source


@pytest.mark.parametrize(
    ("url", "domain"),
    [
        ("https://www.nj.com/news/2025/01/story.html", "nj.com"),
        ("https://news.bbc.co.uk/2/hi/1.stm", "bbc.co.uk"),
        ("https://user.github.io/post", "user.github.io"),
        ("http://192.168.0.1/x", "192.168.0.1"),
        ("http://localhost:8000/a", None),
        ("javascript:alert(1)", None),
        ("not a url", None),
        ("https://" + "a" * 300 + ".com/", None),
        (None, None),
    ],
)
def test_registrable_domain(url: str | None, domain: str | None) -> None:
    assert registrable_domain(url) == domain


def test_display_name_is_declared_name_else_the_domain() -> None:
    assert display_name("nj.com", [None, ""]) == "nj.com"  # never "Nj"
    assert display_name("nj.com", ["NJ.com"]) == "NJ.com"
    assert display_name("x.com", ["https://x.com/"]) == "x.com"


def test_fetch_url_beats_the_page_canonical() -> None:
    html = _page('<link rel="canonical" href="https://www.reuters.com/a">')
    assert _meta(html, "https://evil.example/a").site.domain == "evil.example"  # type: ignore[attr-defined]
    assert _meta(html, None).site.domain == "reuters.com"  # type: ignore[attr-defined]


def test_site_identity_uses_og_site_name() -> None:
    identity = site_identity("https://www.thespacereview.com/article/3834/1", ["The Space Review"])
    assert (identity.domain, identity.name) == ("thespacereview.com", "The Space Review")


def test_hostile_json_ld_is_bounded() -> None:
    deep = "[" * 5000 + "]" * 5000
    html = _page(f'<script type="application/ld+json">{deep}</script>')
    facts = read_page(document_fromstring(html))
    assert facts.json_ld == []


# --------------------------------------------------------------------------- layout


SPACE_REVIEW_LIKE = """<html><body><table><tr><td width="150">menu</td><td>
<h1 class="headline">Seeking a bigger role for a big rocket</h1>
<h3 class="byline">by Jeff Foust<br><span class="datetime">Monday, November 18, 2019</span></h3>
<p>Earlier this month, NASA announced the newest milestone in the development of its
long-awaited Space Launch System, with four engines installed into the core stage.</p>
<table align="right" width="250"><tr><td class="pullquote">"If you don't have a big booster,
you're not going to make it," Stafford said of returning to the Moon.</td></tr></table>
<p>The SLS has been a key part of NASA's exploration plans since the 2010 NASA authorization
act that directed the agency to develop it, despite cost and schedule issues.</p>
<p>Recently, though, NASA is getting criticism from the opposite direction, from members of
Congress who suggest that NASA is not using SLS enough in its exploration architecture.</p>
</td></tr></table></body></html>"""


def test_layout_tables_become_paragraphs() -> None:
    result = extract_from_html(SPACE_REVIEW_LIKE, url="https://www.thespacereview.com/a/3834")
    assert "|" not in result.text
    paragraphs = result.text.split("\n\n")
    assert len(paragraphs) >= 3
    assert paragraphs[0].startswith("Earlier this month")
    assert result.authors == ["Jeff Foust"]
    assert result.title == "Seeking a bigger role for a big rocket"
    assert result.site_domain == "thespacereview.com"


def test_data_tables_are_left_alone() -> None:
    tree = document_fromstring(
        "<html><body><table><tr><th>Year</th><th>Launches</th></tr>"
        "<tr><td>2019</td><td>102</td></tr><tr><td>2020</td><td>114</td></tr></table>"
        "</body></html>"
    )
    table = next(tree.iter("table"))
    assert not is_layout_table(table)
    assert unwrap_layout_tables(tree) == 0


def test_korean_rights_notice_is_furniture() -> None:
    paragraph = "".join(
        f"<p>{'엘제이의 리벤지인가, 류화영의 코스프레인가. ' * 6}</p>" for _ in range(4)
    )
    html = (
        "<html><head><title>엘제이-류화영 진흙탕 싸움 - Entermedia</title></head><body>"
        f"<article><h1>엘제이-류화영 진흙탕 싸움</h1>{paragraph}"
        "<p>저작권자 ⓒ '대중문화컨텐츠 전문가그룹' 엔터미디어, 무단전재 및 재배포금지</p>"
        "</article></body></html>"
    )
    result = extract_from_html(html, url="http://entermedia.co.kr/news/news_view.html?idx=8576")
    assert result.title == "엘제이-류화영 진흙탕 싸움"
    assert "무단전재" not in result.text
    assert result.language == "ko"


def test_scraped_text_gets_its_site_from_the_url() -> None:
    from pathlib import Path

    from services.cleaning.extract import clean

    seed = Path(__file__).resolve().parents[1] / "fixtures" / "cleaning"
    text = (seed / "seed_000_e1ee1b6c240190f4.txt").read_text(encoding="utf-8")
    result = clean(None, text, url="https://www.lemonde.fr/en/international/article/x.html")
    assert (result.site_domain, result.site_name) == ("lemonde.fr", "lemonde.fr")
