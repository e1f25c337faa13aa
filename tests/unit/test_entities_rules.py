"""Unit tests of the mention rules: name keys, the corrections table, masks, junk
and corrections. No spaCy: mentions are built by hand on real text from the sample
corpus (``samples/pages``, MIT), quoted below so the tests need no other file.
"""

from __future__ import annotations

import pytest

from services.entities.corrections import (
    apply_corrections,
    default_corrections,
    load_corrections,
    parse_corrections,
)
from services.entities.filters import (
    clean_mentions,
    join_known_names,
    junk_reason,
    masked_spans,
    ner_input,
)
from services.entities.keys import first_last_key, loose_key, name_key, surname_key
from services.entities.normalize import Mention, merge_entities, normalise_mentions

TABLE = default_corrections()

# Real openings and sentences of sample articles.
AP_DATELINE = (
    "WASHINGTON (AP) — Ambassador Gordon Sondland, the most anticipated witness in the "
    "impeachment inquiry, is likely to be unpredictable when he faces questions about his "
    "evolving accounts of the Trump administration's dealings with Ukraine."
)
AP_STATE_DATELINE = (
    "HAYWARD, Calif. (AP) — The Latest on a deadly stabbing on a San Francisco Bay Area "
    "commuter train (all times local):"
)
REUTERS_DATELINE = (
    "(Reuters) — The New York State Attorney General (NYAG) is investigating WeWork, "
    "according to two people familiar with the matter."
)
BOEING = (
    "following two catastrophic crashes of its popular 737 Max jet in less than five months "
    "that killed a total of 346 people."
)
DEALS = "Apple iPhone 11 Pro Max for $999\n\nNintendo Switch Lite for $200 - See it now: Amazon"
TOUR = "June 30 -- Mohegan Sun Arena, Uncasville, CT\n\nJuly 3 -- Xfinity Center, Mansfield, MA"
CT_SCAN = (
    "But when Dr. Owen Dempsey took a look, he disagreed and performed a more detailed CT scan."
)
DOOBIES = 'bringing out McDonald during an encore to perform "Takin\' It to the Streets."'
BIDENS = (
    "Sondland referred to investigations into the Bidens and Burisma in 2016, Vindman "
    "testified. Joe Biden was vice president."
)
CBP = "marijuana, methamphetamine, and fentanyl — from Customs and Border Protection."
KOREAN_CREDITS = "Art Director_Park Dong Woo, Lighting Design_Sin Ho, Costume Design_Lee Ho Jun"


def mentions_in(text: str, spans: list[tuple[str, str]]) -> list[Mention]:
    """Mentions of (surface, label) pairs, located left to right in ``text``."""
    out: list[Mention] = []
    cursor = 0
    for surface, label in spans:
        start = text.index(surface, cursor)
        out.append(Mention(surface, label, start, start + len(surface)))
        cursor = start + 1
    return out


def kept(text: str, spans: list[tuple[str, str]]) -> list[str]:
    return [m.text for m in clean_mentions(text, mentions_in(text, spans), TABLE)]


def corrected(text: str, spans: list[tuple[str, str]]) -> dict[str, str]:
    """canonical -> label after normalisation and the corrections table."""
    normalised = normalise_mentions(clean_mentions(text, mentions_in(text, spans), TABLE))
    return {m.canonical: m.label for m in apply_corrections(text, normalised, TABLE)}


# ----------------------------------------------------------------------- keys
def test_name_key_ignores_case_accents_dots_and_hyphens() -> None:
    assert name_key("U.S.") == name_key("US") == "us"
    assert name_key("Kim Jong-un") == name_key("Kim Jong Un")
    assert name_key("Émile Zola") == "emile zola"
    assert name_key("Zelenskyy") != name_key("Zelensky")


def test_loose_key_merges_transliterations_of_zelensky_only() -> None:
    variants = ["Zelensky", "Zelenskiy", "Zelenskyy", "Zelenskyi"]
    assert {loose_key(v) for v in variants} == {"zelensky"}
    assert loose_key("Volodymyr Zelenskiy") == loose_key("Volodymyr Zelensky")
    assert loose_key("Putin") != loose_key("Putina")


def test_person_keys() -> None:
    assert first_last_key("Owen John Dempsey") == "owen dempsey"
    assert first_last_key("Owen Dempsey") is None
    assert surname_key("Volodymyr Zelenskiy") == "zelensky"
    # A hyphenated given name is one word: "Kim Jong-un" has no middle name.
    assert first_last_key("Kim Jong-un") is None


# ----------------------------------------------------------------------- the table
def test_shipped_table_loads_and_knows_the_issue_examples() -> None:
    table = load_corrections()
    assert table.rename("U.S.") == table.rename("USA") == "United States"
    assert table.rename("AP") == "Associated Press"
    assert table.rename("Britain") == "United Kingdom"
    assert table.fixed_type("Twitter") == "organisations"
    assert table.fixed_type("SpaceX") == "organisations"
    assert table.fixed_type("United States") == "places"
    assert table.head_type("Dick Clark Productions") == "organisations"
    assert table.head_type("Department of Social Services") == "organisations"
    assert table.head_type("American Music Awards") == "events"
    assert table.head_type("Donald Trump") is None
    assert table.knows("Customs and Border Protection")


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"typos": []}, "unknown sections"),
        ({"types": {"persons": ["Bob"]}}, "types"),
        ({"aliases": {"A": ["X"], "B": ["x"]}}, "given for"),
        ({"drop": "House"}, "list of non-empty strings"),
        ({"products": ["iPhone("]}, "bad pattern"),
        (["not", "a", "mapping"], "top level"),
    ],
)
def test_malformed_tables_are_refused(raw: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_corrections(raw)


# ----------------------------------------------------------------------- masks
def test_datelines_mask_the_city_and_the_agency() -> None:
    assert kept(
        AP_DATELINE, [("WASHINGTON", "GPE"), ("AP", "ORG"), ("Gordon Sondland", "PERSON")]
    ) == ["Gordon Sondland"]
    assert kept(AP_STATE_DATELINE, [("HAYWARD", "GPE"), ("Calif.", "GPE"), ("AP", "ORG")]) == []
    assert kept(REUTERS_DATELINE, [("Reuters", "ORG"), ("WeWork", "ORG")]) == ["WeWork"]
    assert kept("(CNN)President Donald Trump said", [("CNN", "ORG")]) == []


def test_a_named_agency_outside_a_dateline_is_a_mention() -> None:
    text = "According to Reuters, the NYAG's questions include if WeWork founder..."
    assert kept(text, [("Reuters", "ORG")]) == ["Reuters"]


@pytest.mark.parametrize(
    "text, surface",
    [
        ("The core stage of the first SLS. (credit: NASA/Jude Guidry)", "Jude Guidry"),
        ("Protesters in Hong Kong.\nPhoto: Getty Images\nThe march went on.", "Getty Images"),
        ("Police at the scene. AP Photo/Evan Vucci", "Evan Vucci"),
        ("The rest of the story.\n\nWith AFP", "AFP"),
        ("North Korea ratified the treaty.\n\nThe world with AFP", "AFP"),
        ("Keith Bradsher contributed reporting from Hong Kong.", "Keith Bradsher"),
    ],
)
def test_credits_are_masked(text: str, surface: str) -> None:
    assert kept(text, [(surface, "ORG")]) == []


def test_product_names_are_masked() -> None:
    assert kept(BOEING, [("Max", "PERSON")]) == []
    assert kept(
        DEALS, [("Max", "PERSON"), ("Nintendo Switch Lite", "PERSON"), ("Amazon", "ORG")]
    ) == ["Amazon"]


def test_quoted_titles_are_masked_but_quoted_names_are_not() -> None:
    assert kept(DOOBIES, [("McDonald", "PERSON"), ("Takin", "PERSON"), ("Streets", "ORG")]) == [
        "McDonald"
    ]
    text = 'Trump assailed Williams as part of the "Never Trumpers" who oppose him.'
    assert kept(text, [("Williams", "PERSON")]) == ["Williams"]


def test_masks_survive_hostile_text() -> None:
    """Long runs of what the patterns look for (a catastrophic pattern would hang
    here for hours), and masks that stay inside the text."""
    hostile = "(" * 50_000 + "WASHINGTON " * 20_000 + '"' * 30_000 + "A-" * 50_000 + "\n"
    spans = masked_spans(hostile, TABLE)
    assert all(0 <= start < end <= len(hostile) for start, end in spans)


# ----------------------------------------------------------------------- junk
@pytest.mark.parametrize(
    "text, surface, label, reason",
    [
        ("He said it would rain. It did.", "He", "PERSON", "pronoun"),
        ("cocaine, heroin, marijuana and fentanyl", "marijuana", "PERSON", "lowercase"),
        ("a 2.4GHz 16-inch MacBook Pro, with 512GB of flash storage", "GB", "ORG", "unit"),
        ("Tested by: John Milbank RRP: 49.95 Euro (£40)", "Euro", "PERSON", "model number"),
        ("Tested by: John Milbank RRP: 49.95 Euro (£40)", "RRP", "PERSON", "shouting"),
        (KOREAN_CREDITS, "Art Director_Park Dong Woo", "PERSON", "markup"),
        ("Tue – Sat 4PM (Closed on Sun & Mon)", "Sun & Mon", "ORG", "calendar"),
        ("엘제이-류화영 진흙탕 싸움, 공적인 사안으로", "류화영", "PERSON", "script"),
        (DOOBIES, "Takin", "PERSON", "truncated"),
        ("Price: $20\nDescription\nA sturdy bag.", "Description", "PERSON", "alone on a line"),
        ("Share this:\nTwitter\nFacebook", "Twitter", "ORG", "alone on a line"),
        ("Drop the files here. Then drop the rest.", "Drop", "PERSON", "common word"),
        (
            "to join its Commercial Lunar Payload Services program (CLPS).",
            "Commercial Lunar Payload Services",
            "ORG",
            "programme",
        ),
    ],
)
def test_junk_reasons(text: str, surface: str, label: str, reason: str) -> None:
    (mention,) = mentions_in(text, [(surface, label)])
    assert junk_reason(text, mention) == reason


@pytest.mark.parametrize(
    "text, surface, label",
    [
        ("accused the UK and the US of meddling", "US", "GPE"),
        ("In 2016 Trump won the election", "Trump", "PERSON"),
        ("French general Charles de Gaulle", "Charles de Gaulle", "PERSON"),
        ("the eBay marketplace", "eBay", "ORG"),
        ("the 3M company", "3M", "ORG"),
    ],
)
def test_names_that_look_odd_are_kept(text: str, surface: str, label: str) -> None:
    (mention,) = mentions_in(text, [(surface, label)])
    assert junk_reason(text, mention) is None


def test_technology_acronyms_are_not_organisations() -> None:
    text = "The AI startup hired an API designer and an SEO consultant from IBM."
    spans = [("AI", "GPE"), ("API", "ORG"), ("SEO", "ORG"), ("IBM", "ORG")]
    assert corrected(text, spans) == {"IBM": "ORG"}


def test_values_are_not_judged() -> None:
    (mention,) = mentions_in("on Monday, 12 November", [("12 November", "DATE")])
    assert junk_reason("on Monday, 12 November", mention) is None


def test_underscores_become_spaces_without_moving_offsets() -> None:
    prepared = ner_input(KOREAN_CREDITS)
    assert len(prepared) == len(KOREAN_CREDITS)
    assert "Design Lee Ho Jun" in prepared


# ----------------------------------------------------------------------- corrections
def test_state_abbreviation_after_a_town_is_the_state() -> None:
    assert corrected(TOUR, [("Uncasville", "GPE"), ("CT", "ORG"), ("MA", "ORG")]) == {
        "Uncasville": "GPE",
        "Connecticut": "GPE",
        "Massachusetts": "GPE",
    }


def test_ct_elsewhere_is_dropped() -> None:
    assert corrected(CT_SCAN, [("Owen Dempsey", "PERSON"), ("CT", "ORG")]) == {
        "Owen Dempsey": "PERSON"
    }


def test_fixed_types_and_never_people() -> None:
    text = (
        "Twitter users mocked it. SpaceX will fly to the Moon. Bird flu is back. Meth. We're on it."
    )
    spans = [("Twitter", "PERSON"), ("SpaceX", "PERSON"), ("Moon", "PERSON"), ("Bird", "PERSON")]
    spans.append(("Meth", "GPE"))
    assert corrected(text, spans) == {"Twitter": "ORG", "SpaceX": "ORG", "Moon": "GPE"}


def test_head_words_decide_the_type() -> None:
    text = (
        "The company that runs the AMAs, Dick Clark Productions, denies it. She will play "
        "at the American Music Awards. NASA's Hubble Space Telescope saw it."
    )
    spans = [
        ("Dick Clark Productions", "PERSON"),
        ("American Music Awards", "ORG"),
        ("Hubble Space Telescope", "ORG"),
    ]
    assert corrected(text, spans) == {
        "Dick Clark Productions": "ORG",
        "American Music Awards": "EVENT",
        "Hubble Space Telescope": "PRODUCT",
    }
    entities = merge_entities(
        apply_corrections(text, normalise_mentions(mentions_in(text, spans)), TABLE)
    )
    assert {e.canonical: e.group for e in entities}["Hubble Space Telescope"] == "other"


def test_a_family_plural_is_not_a_place() -> None:
    assert corrected(BIDENS, [("Bidens", "GPE"), ("Burisma", "ORG"), ("Joe Biden", "PERSON")]) == {
        "Burisma": "ORG",
        "Joe Biden": "PERSON",
    }


def test_known_names_split_by_the_model_are_joined() -> None:
    joined = join_known_names(
        CBP, mentions_in(CBP, [("Customs", "ORG"), ("Border Protection", "ORG")]), TABLE
    )
    assert [m.text for m in joined] == ["Customs and Border Protection"]
    text = "Apple and Google both said no."
    both = mentions_in(text, [("Apple", "ORG"), ("Google", "ORG")])
    assert [m.text for m in join_known_names(text, both, TABLE)] == ["Apple", "Google"]


def test_a_surname_alone_finds_a_full_name_the_model_mislabelled() -> None:
    text = (
        "Garrett pulled off Steelers quarterback Mason Rudolph's helmet and hit "
        "Rudolph with it. Mason Rudolph was not hurt."
    )
    spans = [("Mason Rudolph", "ORG"), ("Rudolph", "PERSON"), ("Mason Rudolph", "ORG")]
    entities = merge_entities(normalise_mentions(mentions_in(text, spans)))
    assert [(e.canonical, e.label, e.count) for e in entities] == [("Mason Rudolph", "PERSON", 3)]


def test_lowercase_articles_are_not_part_of_a_name() -> None:
    text = "Le président a défendu la France et l'Élysée."
    spans = [("la France", "LOC"), ("l'Élysée", "LOC")]
    assert [m.canonical for m in normalise_mentions(mentions_in(text, spans))] == [
        "France",
        "Élysée",
    ]
