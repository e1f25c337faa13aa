"""Unit tests of cross-article resolution (resolver, store, territories).

Articles are given as the in-article pass leaves them (normalised mentions of real
sentences from the sample corpus, merged into entities); no spaCy. The territory
table is the real one (package ``rigour``, offline).
"""

from __future__ import annotations

from services.entities.keys import name_key
from services.entities.normalize import Entity, Mention, merge_entities, normalise_mentions
from services.entities.registry import EntityRecord, MemoryStore, entity_id
from services.entities.resolve import DOMINANCE, MIN_ARTICLES, Merge, ResolvedEntity, Resolver
from services.entities.territories import Gazetteer, Territory, default_gazetteer


def article(text: str, spans: list[tuple[str, str]]) -> list[Entity]:
    """The merged entities of ``text`` given its NER spans, left to right."""
    mentions: list[Mention] = []
    cursor = 0
    for surface, label in spans:
        start = text.index(surface, cursor)
        mentions.append(Mention(surface, label, start, start + len(surface)))
        cursor = start + 1
    return merge_entities(normalise_mentions(mentions))


def names(resolved: list[ResolvedEntity]) -> dict[str, tuple[str, str]]:
    """article name -> (canonical name, type)."""
    return {n: (e.name, e.type) for e in resolved for n in e.article_names}


FULL_TRUMP = article(
    "U.S. President Donald Trump said he would raise tariffs on Chinese imports.",
    [("U.S.", "GPE"), ("Donald Trump", "PERSON")],
)
FULL_TRUMP_2 = article(
    "Sondland had a newly revealed summertime phone call with President Donald Trump.",
    [("Sondland", "PERSON"), ("Donald Trump", "PERSON")],
)
LONE_TRUMP = article(
    "In each case, President Trump tied himself to the outcome.",
    [("Trump", "PERSON")],
)


# ----------------------------------------------------------------------- surnames
def test_a_lone_surname_goes_to_the_known_full_name() -> None:
    resolver = Resolver()
    first = resolver.resolve(FULL_TRUMP)
    resolver.resolve(FULL_TRUMP_2)
    lone = resolver.resolve(LONE_TRUMP)
    assert names(lone)["Trump"] == ("Donald Trump", "people")
    trump_id = {e.name: e.id for e in first}["Donald Trump"]
    assert lone[0].id == trump_id


def test_a_surname_seen_first_is_merged_into_the_full_name_later() -> None:
    resolver = Resolver()
    (early,) = resolver.resolve(LONE_TRUMP)
    assert early.name == "Trump"
    for entities in (FULL_TRUMP, FULL_TRUMP_2):
        resolver.resolve(entities)
    record = resolver.current(early.id)  # the old id now redirects
    assert record is not None and record.name == "Donald Trump"
    assert record.id != early.id


def test_a_batch_returns_the_merges_its_articles_made() -> None:
    resolver = Resolver()
    resolver.resolve(LONE_TRUMP)
    _, merges = resolver.resolve_batch([FULL_TRUMP, FULL_TRUMP_2])
    lone, full = entity_id(name_key("Trump")), entity_id(name_key("Donald Trump"))
    assert merges == [[], [Merge(lone, full, "Donald Trump")]]


def test_an_id_merged_in_a_batch_is_replaced_in_its_earlier_articles() -> None:
    resolved, merges = Resolver().resolve_batch([LONE_TRUMP, FULL_TRUMP, FULL_TRUMP_2])
    full = entity_id(name_key("Donald Trump"))
    assert [(e.id, e.name, e.type) for e in resolved[0]] == [(full, "Donald Trump", "people")]
    assert [m.new_id for m in merges[2]] == [full]


def test_one_article_is_not_enough_evidence_for_a_common_surname() -> None:
    """A lone "Williams" (a basketball score line) is not the Fed's John Williams."""
    resolver = Resolver()
    resolver.resolve(
        article(
            "John Williams, the president of the Federal Reserve Bank of New York, said.",
            [("John Williams", "PERSON")],
        )
    )
    (lone,) = resolver.resolve(
        article("Upshaw 3 points. Williams 6 points.", [("Williams", "PERSON")])
    )
    assert lone.name == "Williams"
    assert MIN_ARTICLES >= 2


def test_two_people_with_one_surname_need_a_dominant_one() -> None:
    resolver = Resolver()
    for _ in range(DOMINANCE):
        resolver.resolve(FULL_TRUMP)
    melania = article("First lady Melania Trump visited.", [("Melania Trump", "PERSON")])
    resolver.resolve(melania)
    resolver.resolve(melania)  # 3 articles against 2: ambiguous
    assert names(resolver.resolve(LONE_TRUMP))["Trump"] == ("Trump", "people")
    for _ in range(3):
        resolver.resolve(FULL_TRUMP)  # 6 against 2: dominant
    assert names(resolver.resolve(LONE_TRUMP))["Trump"][0] == "Donald Trump"


def test_an_organisation_named_like_a_person_stays_an_organisation() -> None:
    resolver = Resolver()
    author = article("the late author John M. Ford wrote it.", [("John M. Ford", "PERSON")])
    resolver.resolve(author)
    resolver.resolve(author)
    company = article(
        "clients including Ford, Macy's, Kellogg's, NBC and Fox.", [("Ford", "ORG"), ("NBC", "ORG")]
    )
    assert names(resolver.resolve(company))["Ford"] == ("Ford", "organisations")


# ----------------------------------------------------------------------- variants
def test_transliteration_variants_are_one_person() -> None:
    resolver = Resolver()
    ap = resolver.resolve(
        article(
            "when he asked Ukraine President Volodymyr Zelenskiy for the investigations",
            [("Volodymyr Zelenskiy", "PERSON")],
        )
    )
    bbc = resolver.resolve(
        article(
            "to pressure the country's President Volodymyr Zelensky into announcing an inquiry",
            [("Volodymyr Zelensky", "PERSON")],
        )
    )
    lone = resolver.resolve(
        article("his July 25th call with Ukrainian president Zelensky", [("Zelensky", "PERSON")])
    )
    assert ap[0].id == bbc[0].id == lone[0].id


def test_a_middle_name_does_not_split_a_person() -> None:
    resolver = Resolver()
    first = resolver.resolve(
        article(
            "one of the study authors, Owen Dempsey, a chest doctor at the Aberdeen Royal "
            "Infirmary.",
            [("Owen Dempsey", "PERSON"), ("Aberdeen Royal Infirmary", "ORG")],
        )
    )
    second = resolver.resolve(
        article(
            "spoke to Dr. Owen John Dempsey, a consultant chest physician in Aberdeen",
            [("Owen John Dempsey", "PERSON"), ("Aberdeen", "GPE")],
        )
    )
    ids = {n: e.id for e in first + second for n in e.article_names}
    assert ids["Owen Dempsey"] == ids["Owen John Dempsey"]


# ----------------------------------------------------------------------- forms
def test_country_forms_are_one_territory_with_its_qid() -> None:
    resolver = Resolver()
    text = "the US and the U.S. and the USA and the United States and America"
    spans = [
        ("US", "GPE"),
        ("U.S.", "GPE"),
        ("USA", "GPE"),
        ("United States", "GPE"),
        ("America", "GPE"),
    ]
    resolved = resolver.resolve(article(text, spans))
    assert [(e.id, e.name, e.type, e.external_id, e.count) for e in resolved] == [
        ("Q30", "United States", "places", "Q30", 5)
    ]
    uk = resolver.resolve(
        article(
            "China's ambassador to Britain accused the UK.",
            [("China", "GPE"), ("Britain", "GPE"), ("UK", "GPE")],
        )
    )
    assert {(e.name, e.external_id) for e in uk} == {("China", "Q148"), ("United Kingdom", "Q145")}


def test_a_country_labelled_organisation_is_still_the_country() -> None:
    resolver = Resolver()
    (russia,) = resolver.resolve(article("Russia said it would respond.", [("Russia", "ORG")]))
    assert (russia.id, russia.type, russia.label) == ("Q159", "places", "GPE")


def test_sentence_initial_the_before_a_known_name() -> None:
    resolver = Resolver()
    (us,) = resolver.resolve(
        article("The United States lost to Canada.", [("The United States", "GPE")])
    )
    assert us.id == "Q30"
    (hague,) = resolver.resolve(article("The Hague ruled.", [("The Hague", "GPE")]))
    assert hague.name == "The Hague"


def test_agency_abbreviation_and_name_are_one_organisation() -> None:
    resolver = Resolver()
    (ap,) = resolver.resolve(article("AP reported it first.", [("AP", "ORG")]))
    (full,) = resolver.resolve(
        article("The Associated Press reports that 28 people", [("The Associated Press", "ORG")])
    )
    assert ap.id == full.id and ap.name == "Associated Press"


# ----------------------------------------------------------------------- types
def test_type_is_decided_by_votes_across_articles() -> None:
    resolver = Resolver()
    person = article("Ceres Robotics said no.", [("Ceres Robotics", "PERSON")])
    org = article("Ceres Robotics, Palo Alto, California", [("Ceres Robotics", "ORG")])
    (first,) = resolver.resolve(person)
    assert first.type == "people"  # one sentence's guess, for now
    resolver.resolve(org)
    (third,) = resolver.resolve(org)
    assert (third.type, third.label, third.id) == ("organisations", "ORG", first.id)
    record = resolver.current(first.id)
    assert record is not None and record.type_votes == {"people": 1, "organisations": 2}


def test_ids_are_stable_and_do_not_depend_on_the_type() -> None:
    one, two = Resolver(), Resolver()
    (a,) = one.resolve(article("Ceres Robotics said no.", [("Ceres Robotics", "PERSON")]))
    (b,) = two.resolve(article("Ceres Robotics said no.", [("Ceres Robotics", "ORG")]))
    assert a.id == b.id == entity_id(name_key("Ceres Robotics"))


def test_entities_outside_the_facets_pass_through_with_an_id() -> None:
    resolver = Resolver()
    resolved = resolver.resolve(
        article("on Tuesday, November 12", [("Tuesday, November 12", "DATE")])
    )
    assert [(e.type, e.name) for e in resolved] == [("dates", "Tuesday, November 12")]
    assert resolved[0].id.startswith("ent_")


# ----------------------------------------------------------------------- store
def test_memory_store_follows_chains_of_merges() -> None:
    store = MemoryStore()
    a, b, c = (EntityRecord(id=i, aliases={i}) for i in ("a", "b", "c"))
    for record in (a, b, c):
        store.save(record)
    store.merge(a, b)
    store.merge(b, c)
    assert store.get("a") is c and store.find(["a", "b", "zzz"]) == {"a": c, "b": c}
    assert len(store) == 1


def test_gazetteer_only_matches_exact_names() -> None:
    table = default_gazetteer()
    assert table.lookup("Seoul") is None  # a city, not South Korea
    assert table.lookup("Korea") is None  # which one?
    assert table.lookup("Washington") is None  # state, city or government
    assert table.lookup("Türkiye") == table.lookup("Turkey")
    fr = Territory("France", "Q142", "fr", True)
    de = Territory("Germany", "Q183", "de", True)
    ambiguous = Gazetteer([(fr, ["France", "Gaul"]), (de, ["Germany", "Gaul"])])
    assert ambiguous.lookup("Gaul") is None and ambiguous.lookup("france") == fr
