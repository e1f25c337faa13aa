"""Unit tests for the top of an extracted body (headline copy, labels, stamps) and for
the trafilatura cascade the HTML path runs.

Real snippets: the Korean page is ``tests/fixtures/cleaning/entermedia_0ec95c72.html.gz``
(page ``0ec95c72…`` of the article-extraction benchmark, MIT licence); the others are
lines of pages of the metadata evaluation set, each test naming its site (see
tests/fixtures/cleaning/README.md).
"""

from __future__ import annotations

import gzip
from copy import copy
from pathlib import Path

import pytest
import trafilatura
from lxml.html import HtmlElement
from trafilatura.baseline import html2txt
from trafilatura.utils import load_html

from services.cleaning import cascade
from services.cleaning.extract import extract_from_html
from services.cleaning.furniture import BOILERPLATE_RE, COMMENTS_START_RE, LONG_BOILERPLATE_RE
from services.cleaning.lead import is_stamp_line, repeats_headline, trim_lead

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cleaning"
KOREAN_PAGE = FIXTURES / "entermedia_0ec95c72.html.gz"
WSJ_PAGE = FIXTURES / "wsj_042bb7b5.html.gz"
KOREAN_URL = "http://entermedia.co.kr/news/news_view.html?idx=8576"
KOREAN_TITLE = "엘제이-류화영 진흙탕 싸움, 공적인 사안으로 봐야하는 이유"


def _read(path: Path) -> str:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return f.read()


# --------------------------------------------------------------------------- the lead


@pytest.mark.parametrize(
    ("line", "title", "expected"),
    [
        # entermedia.co.kr: the headline as a list item, the title with the site name
        (f"- {KOREAN_TITLE}", f"{KOREAN_TITLE} - Entermedia", True),
        # wcxb (3036): a label before the headline
        (
            "Blog: Best Social Media Advertising Agencies",
            "Best Social Media Advertising Agencies",
            True,
        ),
        # blog.rust-lang.org: a section heading that rewords the headline is article text
        ("What do people appreciate about Rust?", "What do people love about Rust?", False),
        # a sentence that starts like the headline is article text
        (
            "Brexit vote delayed again as ministers argue over the timetable for weeks",
            "Brexit vote delayed",
            False,
        ),
        ("", "Anything", False),
    ],
)
def test_repeats_headline(line: str, title: str, expected: bool) -> None:
    assert repeats_headline(line, title) is expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("기사입력 :[ 2018-08-25 15:24 ]", True),  # entermedia.co.kr
        ("Published 10:02 AM EST Nov 19, 2019", True),
        ("UPDATED: Tue., Nov. 19, 2019", True),  # argusleader.com
        ("November 19, 2019 / 12:21 AM / Updated 14 hours ago", True),  # reuters.com
        ("by: Ziyi Xu, Dec 17, 2025", True),  # lmsys.org
        ("2024-11-06", True),
        ("[Submitted on 18 Dec 2025]", True),  # arxiv.org
        ("The House voted on October 29, 2019 to recognize the genocide.", False),
        ("Tip #1 - You are a target to hackers", False),
        ("Sustainability", False),
    ],
)
def test_is_stamp_line(line: str, expected: bool) -> None:
    assert is_stamp_line(line) is expected


def test_trim_lead_drops_labels_headline_copy_and_stamp() -> None:
    lines = [
        "Entermedia 주요뉴스",
        f"- {KOREAN_TITLE}",
        "기사입력 :[ 2018-08-25 15:24 ]",
        "엘제이의 리벤지인가, 류화영의 코스프레인가",
        "[엔터미디어=정덕현의 이슈공감] 엘제이의 리벤지인가, 류화영의 피해자 코스프레인가.",
    ]
    assert trim_lead(lines, f"{KOREAN_TITLE} - Entermedia") == lines[3:]


def test_trim_lead_keeps_an_introduction_above_a_heading_like_the_headline() -> None:
    # healthy air fryer recipes (wcxb 4633): the intro comes before a heading
    lines = [
        "I'm ALWAYS getting asked if having an air fryer is worth it. Is it worth storing?",
        "Healthy Air Fryer Recipes",
        "These air fryer recipes make it easy to eat healthier at home!",
    ]
    assert trim_lead(lines, "7 Healthy Air Fryer Recipes") == lines


def test_trim_lead_drops_a_stamp_at_the_top_without_a_headline_copy() -> None:
    lines = ["UPDATED: Tue., Nov. 19, 2019", "South Dakota's viral campaign has faced backlash."]
    assert trim_lead(lines, "Meth. We're on it.") == lines[1:]
    assert trim_lead(lines[1:], None) == lines[1:]


def test_korean_page_body_starts_with_the_article() -> None:
    result = extract_from_html(_read(KOREAN_PAGE), url=KOREAN_URL)
    assert result.title == KOREAN_TITLE
    first_lines = result.text.split("\n\n")[:2]
    assert first_lines[0] == "엘제이의 리벤지인가, 류화영의 코스프레인가"
    assert first_lines[1].startswith("[엔터미디어=정덕현의 이슈공감]")
    for furniture in ("주요뉴스", "기사입력", "무단전재"):
        assert furniture not in result.text
    assert result.language == "ko"


# --------------------------------------------------------------------------- furniture patterns


@pytest.mark.parametrize(
    ("line", "pattern"),
    [
        ("Read also | A teaser", BOILERPLATE_RE),  # at the line start
        ("You might also like", BOILERPLATE_RE),  # at a word start
        ("A fine view (Photo credit: Jane Doe)", BOILERPLATE_RE),  # elsewhere
        ("Smoke over the city / AFP", BOILERPLATE_RE),
        ("This website uses cookies to improve your experience.", LONG_BOILERPLATE_RE),
        ("To give you the best experience, we use cookies.", LONG_BOILERPLATE_RE),
        ("Copyright © 2019 All rights reserved.", LONG_BOILERPLATE_RE),
        ("저작권자 ⓒ 엔터미디어, 무단전재 및 재배포금지", LONG_BOILERPLATE_RE),
        ("12 Comments", COMMENTS_START_RE),
        ("Jane says:", COMMENTS_START_RE),
    ],
)
def test_furniture_patterns_match(line: str, pattern: object) -> None:
    assert pattern.search(line)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "line",
    [
        "The cookie jar was empty when the children came home.",
        "She shared the news with her family on Sunday.",
        "Comments from the minister came later that day.",
    ],
)
def test_furniture_patterns_leave_prose_alone(line: str) -> None:
    assert not BOILERPLATE_RE.search(line) or len(line.split()) > 25
    assert not LONG_BOILERPLATE_RE.search(line)
    assert not COMMENTS_START_RE.search(line)


# --------------------------------------------------------------------------- the cascade

_FILLER = "".join(
    f'<div class="teaser"><a href="/s/{i}">Another story number {i} with a longer teaser '
    f"line that goes on</a><span>by Someone Else, a staff writer</span></div>"
    for i in range(60)
)
# Each page takes another road through the cascade: the recall gate settled by the
# bound ("article", and the Korean page), the baseline rescue ("short", "nbsp and
# scripts"), the gate measured by html2txt and the recall retry ("short in teasers",
# and the WSJ page).
_PAGES = {
    "article": "<html><body><article><h1>Title</h1>"
    + "".join(
        f"<p>Paragraph {i} of the story, with enough words to be text. " * 3 + "</p>"
        for i in range(12)
    )
    + "</article></body></html>",
    "short": "<html><body><div><p>Only a few words here.</p></div></body></html>",
    "short in teasers": "<html><body><nav>Home News Sport</nav><main><h1>Brief</h1>"
    + "<p>A brief item of news, a few sentences long, and it says little more than that. </p>" * 4
    + f"</main><section>{_FILLER}</section></body></html>",
    "nbsp and scripts": "<html><body><p>Text&nbsp;&nbsp; with\u00a0spaces.</p>"
    "<script>var x = 'a long script body that html2txt drops';</script>"
    "<div><span>a</span><span>b</span></div></body></html>",
}


def _trees() -> list[HtmlElement]:
    trees = [load_html(html) for html in _PAGES.values()] + [load_html(_read(WSJ_PAGE))]
    trees.append(load_html(_read(KOREAN_PAGE)))
    return [t for t in trees if t is not None]


@pytest.mark.parametrize("index", range(len(_PAGES) + 2))
def test_cascade_gives_what_bare_extraction_gives(index: int) -> None:
    tree = _trees()[index]
    document = trafilatura.bare_extraction(
        copy(tree), with_metadata=False, include_comments=False, fast=True
    )
    expected = getattr(document, "text", None)
    assert cascade.extract_text(copy(tree)) == expected


@pytest.mark.parametrize("index", range(len(_PAGES) + 2))
def test_page_text_bound_is_an_upper_bound(index: int) -> None:
    tree = _trees()[index]
    assert cascade._page_text_bound(tree) >= len(html2txt(tree))


def test_other_trafilatura_versions_go_through_bare_extraction(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tree = load_html(_read(WSJ_PAGE))
    assert tree is not None
    expected = cascade.extract_text(copy(tree))

    def refuse(*_args: object, **_kwargs: object) -> str:
        raise AssertionError("the cascade must not run on another trafilatura version")

    monkeypatch.setattr(trafilatura, "__version__", "9.9.9")
    monkeypatch.setattr(cascade, "_cascade", refuse)
    assert cascade.extract_text(copy(tree)) == expected
