"""Unit tests for the cleaning stage's pure logic (no servers).

The seed article and the two evaluation pages these tests need are copies under
``tests/fixtures/cleaning/`` (see its README for their origin and licence): tests
never read ``../shared``.
"""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.cleaning.extract import (
    Extracted,
    ExtractionError,
    clean,
    detect_language,
    extract_from_html,
    extract_from_text,
    fingerprint,
    hamming_distance,
    normalise_body_text,
    word_count,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cleaning"
SEED = FIXTURES / "seed_000_e1ee1b6c240190f4.txt"

# Every paragraph of the seed article, in order ("Coordination of their positions."
# is a subheading inside the article and belongs to it).
SEED_PARAGRAPHS = [
    "North Korea has ratified a historic defense agreement with Russia, sealing its "
    "rapprochement in the context of the war led by Moscow in Ukraine, the official North "
    "Korean news agency KCNA reported on Tuesday, November 12.",
    'The agreement "was ratified in the form of a decree" signed by the North Korean leader, '
    "Kim Jong-un, on November 11, KCNA specifies, a day after the announcement in Moscow that "
    "the Russian president, Vladimir Putin, also signed this mutual defense treaty.",
    "This treaty, signed during a rare visit by Vladimir Putin to Pyongyang in June, between "
    "these two countries, the nightmare of the United States, provides in particular "
    '"immediate military aid" reciprocal in the event of an attack against one of the two '
    "countries.",
    "According to kyiv, some 11,000 North Korean soldiers are already deployed in Russia and "
    "have begun fighting the Ukrainians on Russian territory, in the Kursk region, a small part "
    "of which has been occupied by Ukrainian forces on the offensive since August. The Kremlin "
    "has so far evaded questions about this presence of North Korean reinforcements.",
    "Coordination of their positions.",
    "The agreement formalizes months of deepening security cooperation between the two "
    "countries, communist allies during the Cold War.",
    "Russia and North Korea have grown significantly closer since Russia's attack on Ukraine "
    "began in 2022.",
    "The agreement also commits the two countries to cooperate internationally to oppose "
    "Western sanctions and coordinate their positions at the United Nations.",
    "North Korean Foreign Minister Choe Son-hui recently visited Moscow, where she said her "
    'country "I would stand firmly with the Russian comrades until Victory Day". He described '
    'the offensive against Ukraine as "sacred fight" and praised the wisdom of Vladimir Putin.',
]

# An evaluation page with rich metadata (a WSJ story) and one with a comment thread.
WSJ_PAGE = FIXTURES / "wsj_042bb7b5.html.gz"
COMMENTED_PAGE = FIXTURES / "comments_ac3c0355.txt"


@pytest.fixture(scope="module")
def seed_result() -> Extracted:
    return extract_from_text(SEED.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- seed article


def test_seed_keeps_every_article_paragraph_in_order(seed_result: Extracted) -> None:
    assert seed_result.text.split("\n\n") == SEED_PARAGRAPHS


@pytest.mark.parametrize(
    "furniture",
    [
        "Home Breaking News",
        "Read also",
        "LEAVE A REPLY",
        "Please enter your comment",
        "Please enter your name here",
        "The world with AFP",
        "reserved for our subscribers",
    ],
)
def test_seed_drops_page_furniture(seed_result: Extracted, furniture: str) -> None:
    assert furniture not in seed_result.text


def test_seed_drops_share_counters(seed_result: Extracted) -> None:
    assert "27" not in seed_result.text.split("\n\n")
    assert "0" not in seed_result.text.split("\n\n")


def test_seed_metadata(seed_result: Extracted) -> None:
    assert seed_result.title == "North Korea ratifies defense treaty with Russia"
    assert seed_result.credit == ["AFP"]
    assert seed_result.language == "en"
    assert seed_result.input_format == "text"
    # The headline is metadata, not body text.
    assert seed_result.title not in seed_result.text


def test_title_hint_wins_over_the_guess() -> None:
    result = extract_from_text(SEED.read_text(encoding="utf-8"), title_hint="  A  better title ")
    assert result.title == "A better title"
    assert result.text.split("\n\n") == SEED_PARAGRAPHS


# --------------------------------------------------------------------------- general rules


# A page in the shape scraped text takes (blank lines between blocks), built from
# generic furniture rather than any real site's.
SYNTHETIC_PAGE = "\n".join(
    [
        "Council approves new river bridge | The Daily Example",
        "",
        "Home",
        "News",
        "Sport",
        "Weather",
        "",
        "Council approves new river bridge",
        "",
        "The vote ends a decade of debate over how the two halves of the city should meet.",
        "",
        "By Jane Doe",
        "Published March 3, 2024",
        "",
        "Share",
        "Tweet",
        "",
        "The city council voted on Monday to approve the construction of a new bridge across "
        "the river, ending a debate that had lasted for more than a decade.",
        "",
        "Construction is expected to begin next spring and will take about three years, "
        "according to the city's transport department.",
        "",
        "Officials said the bridge would carry both cars and bicycles, and that a separate "
        "lane would be reserved for buses.",
        "",
        "The bridge will have:",
        "Two car lanes",
        "A bus lane",
        "A cycle path",
        "",
        "Related articles",
        "Mayor opens new library",
        "Flood warnings lifted across the region",
        "",
        "12 Comments",
        "",
        "bob42 says:",
        "This is the best news I have read all year and I cannot wait to finally cross the "
        "river without a long detour through the industrial area.",
        "",
        "\u00a9 2024 The Daily Example. All rights reserved.",
    ]
)


def test_general_rules_on_a_synthetic_page() -> None:
    result = extract_from_text(SYNTHETIC_PAGE)
    paragraphs = result.text.split("\n\n")
    # Menus, headline, standfirst, byline and share buttons above; related links,
    # comments and the rights notice below: none of it is the article.
    assert paragraphs[0].startswith("The city council voted on Monday")
    assert paragraphs[2].startswith("Officials said the bridge")
    # A list the last paragraph announces ends the article, though its lines are short.
    assert paragraphs[3:] == [
        "The bridge will have:",
        "Two car lanes",
        "A bus lane",
        "A cycle path",
    ]
    assert result.title == "Council approves new river bridge"
    assert result.site_name == "The Daily Example"
    assert result.authors == ["Jane Doe"]
    assert result.published_at == datetime(2024, 3, 3, tzinfo=UTC)


def test_byline_names_stop_at_non_name_words() -> None:
    page = SYNTHETIC_PAGE.replace("By Jane Doe", "By Jane Doe and Ana de Souza September 2, 2024")
    assert extract_from_text(page).authors == ["Jane Doe", "Ana de Souza"]


def test_comment_thread_is_left_out_of_an_eval_page() -> None:
    text = COMMENTED_PAGE.read_text(encoding="utf-8")
    result = extract_from_text(text)
    assert result.text.startswith("Our goal with hosting quarterly open threads")
    assert "said:" not in result.text
    assert "Blattman" not in result.text  # the first reader's question


# --------------------------------------------------------------------------- HTML


def test_html_eval_page_has_title_date_and_body() -> None:
    with gzip.open(WSJ_PAGE, "rt", encoding="utf-8") as f:
        result = extract_from_html(f.read())
    assert result.title is not None
    assert result.title.startswith("Google Stadia, Microsoft xCloud, Apple Arcade")
    assert result.published_at is not None
    assert result.published_at.tzinfo is not None
    assert result.published_at.date().isoformat() == "2019-11-19"
    assert "Gaming used to be so simple." in result.text
    assert result.language == "en"
    assert result.input_format == "html"


def test_html_credit_line_is_pulled_out_of_the_body() -> None:
    paragraphs = "".join(f"<p>{p}</p>" for p in SEED_PARAGRAPHS)
    page = (
        "<html><head><title>North Korea ratifies defense treaty with Russia</title></head>"
        f"<body><article><h1>North Korea ratifies defense treaty with Russia</h1>{paragraphs}"
        "<p>The world with AFP</p></article></body></html>"
    )
    result = extract_from_html(page)
    assert result.credit == ["AFP"]
    assert "The world with AFP" not in result.text
    assert "Victory Day" in result.text


def test_html_without_article_markup_goes_through_the_text_cleaner() -> None:
    # Only <div>s and <br>s: the flattened page still has a headline and paragraphs.
    body = "<br>".join(SEED_PARAGRAPHS)
    page = (
        "<html><head><title>North Korea ratifies defense treaty with Russia - Example</title>"
        "</head><body><div>Home</div><div>World</div>"
        f"<div>North Korea ratifies defense treaty with Russia</div><div>{body}</div>"
        "<div>LEAVE A REPLY</div></body></html>"
    )
    result = extract_from_html(page)
    assert result.input_format == "html"
    assert "Victory Day" in result.text
    assert "LEAVE A REPLY" not in result.text


def test_html_of_only_navigation_raises() -> None:
    with pytest.raises(ExtractionError):
        extract_from_html("<html><body><ul><li>Home</li><li>News</li></ul></body></html>")


def test_clean_prefers_html_and_falls_back_to_text() -> None:
    seed = SEED.read_text(encoding="utf-8")
    assert clean(None, seed).input_format == "text"
    assert clean("   ", seed).input_format == "text"
    page = "<html><body>" + "".join(f"<p>{p}</p>" for p in SEED_PARAGRAPHS) + "</body></html>"
    from_html = clean(page, seed, title_hint="Hinted")
    assert from_html.input_format == "html"
    assert from_html.title == "Hinted"


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("raw", ["", "   \n\t  ", "\x00\x01\x02binary\x00" * 50])
def test_text_without_an_article_raises(raw: str) -> None:
    with pytest.raises(ExtractionError):
        extract_from_text(raw)


@pytest.mark.parametrize("raw", ["", " \n ", bytes(range(256)).decode("latin-1") * 20])
def test_html_without_an_article_raises(raw: str) -> None:
    with pytest.raises(ExtractionError):
        extract_from_html(raw)


def test_binary_error_says_why() -> None:
    with pytest.raises(ExtractionError, match="binary"):
        extract_from_text("\x00\x01\x02" * 100)


def test_page_of_only_furniture_raises() -> None:
    with pytest.raises(ExtractionError, match="no article"):
        extract_from_text("Home\nNews\nSport\n\nShare\nTweet\n\nPrivacy Policy\n")


def test_clean_with_nothing_raises() -> None:
    with pytest.raises(ExtractionError):
        clean(None, None)


# --------------------------------------------------------------------------- text helpers


def test_normalise_body_text_folds_whitespace_quotes_and_unicode() -> None:
    raw = (
        "  First\u00a0 line\twith   \u201cquotes\u201d and it\u2019s\n\n\n  \n"
        "Cafe\u0301 second\u200b line  \n"
    )
    assert normalise_body_text(raw) == 'First line with "quotes" and it\'s\n\nCaf\u00e9 second line'


def test_normalise_body_text_is_idempotent() -> None:
    once = normalise_body_text("A  \u2018b\u2019\n\nc")
    assert normalise_body_text(once) == once


def test_word_count() -> None:
    assert word_count("Hello, world: three words") == 4
    assert word_count("") == 0
    # CJK text counts about two characters per word, not one per run.
    assert word_count("東京都は月曜日に発表した") == 6


def test_detect_language() -> None:
    assert detect_language("") is None
    assert detect_language("Hi there") is None
    assert detect_language("The government announced new measures on Tuesday.") == "en"
    assert detect_language("Le gouvernement a annoncé mardi de nouvelles mesures.") == "fr"


def test_fingerprint_shape_and_stability() -> None:
    value = fingerprint("Some article text about a river bridge.")
    assert len(value) == 16
    int(value, 16)  # valid hex
    assert fingerprint("Some article text about a river bridge.") == value
    # Case, quotes and spacing do not change it.
    assert fingerprint("SOME  article text about a river bridge!") == value
    assert fingerprint("") == "0" * 16


def test_fingerprint_near_duplicates_are_close_and_different_texts_far() -> None:
    article = "\n\n".join(SEED_PARAGRAPHS)
    edited = article.replace(
        "The Kremlin has so far evaded questions about this presence of North Korean "
        "reinforcements.",
        "The Kremlin declined to comment.",
    )
    with_footer = article + "\n\nThe world with AFP"
    other = (
        "The city council voted on Monday to approve the construction of a new bridge across "
        "the river, ending a debate that had lasted for more than a decade. Construction is "
        "expected to begin next spring and will take about three years."
    )
    assert hamming_distance(fingerprint(article), fingerprint(edited)) <= 8
    assert hamming_distance(fingerprint(article), fingerprint(with_footer)) <= 8
    assert hamming_distance(fingerprint(article), fingerprint(other)) >= 20
