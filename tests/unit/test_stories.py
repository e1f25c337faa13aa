"""Unit tests of the stories core: features, near-duplicates, clustering, state, metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.stories import neardup
from services.stories.clustering import StoryClusterer, article_time
from services.stories.evaluate import Labelled, bcubed, evaluate_docs, pairwise, parse_line
from services.stories.features import (
    MAX_TOKENS,
    cosine,
    entity_keys,
    extract_terms,
    is_year,
    normalise,
    weigh,
    word_tokens,
    years_of,
)
from services.stories.models import (
    ArticleIn,
    Story,
    story_from_dict,
    story_id_for,
    story_to_dict,
)
from services.stories.scoring import Params, score
from services.stories.state import DAY, MemoryState

T0 = datetime(2024, 3, 1, 12, tzinfo=UTC)

FIRE_A = (
    "A fire ripped through a Waitrose supermarket in Banstead, Surrey, on Friday night. "
    "More than 50 firefighters tackled the blaze, which began on the roof of the store, "
    "and residents of Banstead High Street were evacuated as a precaution. Surrey Police "
    "said the fire is being treated as potentially suspicious and detectives will examine "
    "the site once the Banstead store is safe to enter."
)
FIRE_B = (
    "Firefighters spent the night at the Waitrose store in Banstead after a blaze gutted "
    "the Surrey supermarket. Surrey Police say the Banstead fire, which started on the roof "
    "on Friday, is potentially suspicious. Residents near Banstead High Street were moved "
    "from their homes while more than 50 firefighters fought the flames."
)
QUAKE = (
    "An earthquake of magnitude 6.1 struck Qeshm island off southern Iran on Sunday, "
    "killing ten people in mud-brick villages, Iranian state television said. The quake "
    "levelled homes in several villages on Qeshm, and rescue teams from Bandar Abbas "
    "reached the island by boat. Dozens of people were injured in the Qeshm earthquake."
)


def art(article_id: str, text: str, hours: float = 0.0, **kwargs: object) -> ArticleIn:
    when = T0 + timedelta(hours=hours)
    return ArticleIn(article_id, text, published_at=when, received_at=when, **kwargs)  # type: ignore[arg-type]


def run(articles: list[ArticleIn], state: MemoryState | None = None) -> dict[str, str]:
    clusterer = StoryClusterer(state or MemoryState())
    result = clusterer.process(articles)
    return {a.article_id: a.story_id for a in result.assignments}


# ---------------------------------------------------------------------- features
def test_word_tokens_are_bounded_and_lowercased() -> None:
    assert word_tokens("The Hague, THE hague") == ["the", "hague", "the", "hague"]
    assert len(word_tokens("word " * (MAX_TOKENS * 3))) == MAX_TOKENS


def test_terms_boost_title_lead_and_names_but_drop_stopwords() -> None:
    terms = extract_terms("The mayor of Banstead said the fire was out.", "Banstead fire")
    counts = terms.counts
    assert "the" not in counts and "said" not in counts
    # body 1 + lead 1 + title 3 + name 1 (capitalised mid-sentence)
    assert counts["banstead"] == pytest.approx(6.0)
    assert counts["mayor"] == pytest.approx(
        2.0
    )  # body + lead, not a name (sentence start? no: lower)


def test_weigh_gives_unit_vectors_and_rare_terms_weigh_more() -> None:
    terms = extract_terms("banstead fire fire")
    vector = weigh(terms, {"banstead": 1, "fire": 50}, 100)
    assert sum(w * w for w in vector.values()) == pytest.approx(1.0)
    assert vector["banstead"] > vector["fire"]
    assert weigh(extract_terms(""), {}, 0) == {}


def test_cosine_and_normalise() -> None:
    a = normalise({"x": 3.0, "y": 4.0})
    assert cosine(a, a) == pytest.approx(1.0)
    assert cosine(a, {"z": 1.0}) == 0.0
    assert normalise({}) == {}


def test_entity_keys_are_typed_lowercased_and_capped() -> None:
    keys = entity_keys(["Kristi  Noem"], ["Apple"], ["South Dakota", ""])
    assert keys == {"p:kristi noem", "o:apple", "l:south dakota"}
    assert len(entity_keys([f"p{i}" for i in range(10_000)], [], [])) == 60


def test_numbers_count_extra_and_years_are_recognised() -> None:
    terms = extract_terms("Quake kills 300 villagers in 2008.", number_boost=3.0)
    assert terms.counts["300"] == pytest.approx(1.0 + 1.0 + 3.0)  # body + lead + number
    assert terms.counts["villagers"] == pytest.approx(2.0)  # body + lead only
    assert extract_terms("Quake kills 300.").counts["300"] == pytest.approx(2.0)  # off by default
    assert is_year("2008") and is_year("1999")
    assert not any(is_year(t) for t in ("300", "1800", "20x8", "20081"))
    assert years_of({"2008": 0.5, "300": 0.2, "quake": 0.1, "2013": 0.1}) == {"2008", "2013"}


def _story(centroid: dict[str, float]) -> Story:
    return Story("s", 1, size=1, centroid=centroid)


def test_years_the_story_never_states_lower_the_score() -> None:
    params = Params(year_weight=0.1)
    vector = normalise({"quake": 1.0, "iran": 1.0, "2013": 1.0})
    story = _story({"quake": 1.0, "iran": 1.0, "2005": 1.0})
    plain = score(vector, frozenset(), None, story, params)
    conflicting = score(vector, frozenset(), None, story, params, frozenset({"2013"}))
    assert conflicting.score == pytest.approx(plain.score - 0.1)
    assert conflicting.text == plain.text  # the text similarity itself is untouched
    # half of the article's years are the story's: half the penalty
    both = score(vector, frozenset(), None, story, params, frozenset({"2013", "2005"}))
    assert both.score == pytest.approx(plain.score - 0.05)


def test_no_year_on_either_side_is_no_evidence() -> None:
    params = Params(year_weight=0.1)
    vector = normalise({"quake": 1.0, "iran": 1.0})
    undated_story = _story({"quake": 1.0, "iran": 1.0})
    plain = score(vector, frozenset(), None, undated_story, params)
    dated_article = score(vector, frozenset(), None, undated_story, params, frozenset({"2013"}))
    assert dated_article.score == pytest.approx(plain.score)
    dated_story = _story({"quake": 1.0, "iran": 1.0, "2005": 1.0})
    assert score(vector, frozenset(), None, dated_story, params).score == pytest.approx(
        score(vector, frozenset(), None, dated_story, Params(year_weight=0.0)).score
    )


def test_same_kind_of_event_in_another_year_founds_its_own_story() -> None:
    text = (
        "Magnitude {m} earthquake strikes Qeshm island off southern Iran, {y}. The quake "
        "levelled homes in mud-brick villages on Qeshm and rescue teams from Bandar Abbas "
        "reached the island by boat, Iranian state television said on {d} {y}."
    )
    first = text.format(m="6.1", y="2005", d="Sunday")
    second = text.format(m="5.9", y="2008", d="Monday").replace("levelled homes", "damaged houses")
    no_penalty = Params(year_weight=0.0, dup_threshold=1.1)
    with_penalty = Params(dup_threshold=1.1)
    scores = {}
    for name, params in (("without", no_penalty), ("with", with_penalty)):
        clusterer = StoryClusterer(MemoryState(), params)
        clusterer.process([art("a", first)])
        joining, _, _ = clusterer._features(art("b", second, hours=1), 3600.0, in_centroid=True)
        story = next(iter(clusterer.state.load_stories([story_id_for("a")]).values()))
        scores[name] = score(joining.vector, joining.entities, None, story, params, joining.years)
    assert scores["with"].score == pytest.approx(scores["without"].score - 0.1)


# ---------------------------------------------------------------------- near-duplicates
def test_signature_is_stable_and_copies_match() -> None:
    sig_a = neardup.signature(FIRE_A)
    sig_copy = neardup.signature(FIRE_A.replace("Friday night", "Friday evening") + " (PA)")
    sig_other = neardup.signature(FIRE_B)
    assert sig_a is not None and sig_copy is not None and sig_other is not None
    assert (sig_a == neardup.signature(FIRE_A)).all()
    assert neardup.similarity(sig_a, sig_copy) >= neardup.THRESHOLD
    assert neardup.similarity(sig_a, sig_other) < neardup.THRESHOLD
    assert len(set(neardup.band_keys(sig_a)) & set(neardup.band_keys(sig_copy))) > 0
    raw = neardup.signature_from_bytes(sig_a.tobytes())
    assert raw is not None and (raw == sig_a).all()
    assert neardup.signature_from_bytes(b"short") is None


def test_short_texts_are_never_duplicates() -> None:
    assert neardup.signature("Breaking: fire in Banstead") is None
    assert neardup.signature("") is None


# ---------------------------------------------------------------------- clustering
def test_same_event_groups_and_other_event_stays_apart() -> None:
    stories = run([art("a", FIRE_A), art("b", FIRE_B, 1), art("c", QUAKE, 2)])
    assert stories["a"] == stories["b"] == story_id_for("a")
    assert stories["c"] == story_id_for("c")


def test_wire_copy_is_folded_and_counted() -> None:
    copy = FIRE_A.replace("Friday night", "Friday evening")
    result = StoryClusterer(MemoryState()).process(
        [art("a", FIRE_A), art("b", copy, 1), art("c", FIRE_A, 2)]
    )
    first, second, third = result.assignments
    assert first.duplicate_of is None and first.copies == 1
    assert second.duplicate_of == "a" and second.copies == 2
    assert third.duplicate_of == "a" and third.copies == 3
    assert first.story_id == second.story_id == third.story_id
    (summary,) = result.stories
    assert summary.size == 3


def test_replay_returns_the_remembered_assignment_and_changes_nothing() -> None:
    state = MemoryState()
    clusterer = StoryClusterer(state)
    first = clusterer.process([art("a", FIRE_A), art("b", FIRE_B, 1)])
    again = clusterer.process([art("b", FIRE_B, 1), art("a", FIRE_A)])
    assert [a.replayed for a in again.assignments] == [True, True]
    assert {a.article_id: a.story_id for a in again.assignments} == {
        a.article_id: a.story_id for a in first.assignments
    }
    assert again.stories == [] and again.merges == []
    assert state.size()["assignments"] == 2


def test_same_order_gives_the_same_ids_and_state_is_per_instance() -> None:
    articles = [art("a", FIRE_A), art("c", QUAKE, 1), art("b", FIRE_B, 2)]
    assert run(articles) == run(articles)


def test_bridging_article_merges_stories_into_the_older_id() -> None:
    # First a bar no article reaches and no merging: two stories for one event.
    params = Params(threshold=0.99, merge_threshold=2.0, merge_centroid=2.0)
    state = MemoryState()
    clusterer = StoryClusterer(state, params)
    clusterer.process([art("a", FIRE_A), art("b", FIRE_B, 1)])
    assert state.resolve(story_id_for("b")) == story_id_for("b")
    # With a normal threshold the next report joins one and bridges the other.
    # (Copies off: the bridge quotes both texts, which would make it a copy of one.)
    clusterer.params = Params(merge_threshold=0.3, merge_centroid=2.0, dup_threshold=1.1)
    result = clusterer.process([art("c", FIRE_A + " " + FIRE_B, 2)])
    assert [(m.old, m.into) for m in result.merges] == [(story_id_for("b"), story_id_for("a"))]
    assert result.assignments[0].story_id == story_id_for("a")
    assert state.resolve(story_id_for("b")) == story_id_for("a")
    (summary,) = result.stories
    assert summary.size == 3 and summary.merged_from == (story_id_for("b"),)


def test_story_summary_keeps_title_sources_entities_and_times() -> None:
    result = StoryClusterer(MemoryState()).process(
        [
            art(
                "a",
                FIRE_A,
                0,
                title="Fire at Banstead Waitrose",
                source="bbc.co.uk",
                places=("Banstead",),
                organisations=("Waitrose",),
            ),
            art(
                "b",
                FIRE_B,
                5,
                title="Banstead store gutted",
                source="itv.com",
                places=("Banstead", "Surrey"),
            ),
        ]
    )
    (story,) = result.stories
    assert story.title in {"Fire at Banstead Waitrose", "Banstead store gutted"}
    assert set(story.sources) == {"bbc.co.uk", "itv.com"}
    assert story.places[0] == "banstead"
    assert story.organisations == ("waitrose",)
    assert story.first_seen == T0 and story.last_seen == T0 + timedelta(hours=5)


def test_window_keeps_old_stories_out() -> None:
    stories = run([art("a", FIRE_A), art("b", FIRE_B, hours=24 * 8)])
    assert stories["a"] != stories["b"]


def test_article_time_prefers_publication_but_not_from_the_future() -> None:
    received = T0
    ok = ArticleIn("a", "x", published_at=T0 - timedelta(hours=3), received_at=received)
    future = ArticleIn("a", "x", published_at=T0 + timedelta(days=400), received_at=received)
    naive = ArticleIn("a", "x", published_at=datetime(2024, 1, 1))
    assert article_time(ok, 0.0) == (T0 - timedelta(hours=3)).timestamp()
    assert article_time(future, 0.0) == received.timestamp()
    assert article_time(naive, 42.0) == 42.0


def test_hostile_inputs_do_not_break_the_batch() -> None:
    huge = "spam " * 2_000_000
    result = StoryClusterer(MemoryState()).process(
        [
            art("empty", ""),
            art("huge", huge, 1, title="x" * 100_000, people=tuple(f"p{i}" for i in range(5000))),
            art("punct", "!!! ??? ...", 2),
        ]
    )
    assert len({a.story_id for a in result.assignments}) == 3


def test_memory_state_forgets_what_left_the_window() -> None:
    state = MemoryState(window=2 * DAY, remember=3 * DAY)
    clusterer = StoryClusterer(state, Params(window=2 * DAY, remember=3 * DAY))
    clusterer.process([art("a", FIRE_A)])
    clusterer.process([art(f"q{i}", QUAKE + f" day {i}", hours=24 * i) for i in range(1, 6)])
    sizes = state.size()
    assert state.get_assignment("a") is None  # older than `remember`
    assert sizes["stories"] <= 3 and sizes["signatures"] <= 3


def test_story_serialisation_round_trips() -> None:
    state = MemoryState()
    StoryClusterer(state).process([art("a", FIRE_A, title="t", source="s", places=("X",))])
    story = state.load_stories([story_id_for("a")])[story_id_for("a")]
    back = story_from_dict(story_to_dict(story))
    assert back.story_id == story.story_id and back.size == 1
    assert back.heads[0].title == "t" and back.entities == {"l:x": 1}


# ---------------------------------------------------------------------- evaluation
def test_bcubed_and_pairwise_on_a_known_case() -> None:
    gold = {"1": "a", "2": "a", "3": "b"}
    assert bcubed(gold, gold) == (1.0, 1.0, 1.0)
    assert pairwise(gold, gold) == (1.0, 1.0, 1.0)
    merged = {"1": "x", "2": "x", "3": "x"}
    p, r, _ = bcubed(merged, gold)
    assert p == pytest.approx((2 / 3 + 2 / 3 + 1 / 3) / 3) and r == 1.0
    pp, pr, _ = pairwise(merged, gold)
    assert pp == pytest.approx(1 / 3) and pr == 1.0


def test_evaluate_docs_reports_stories_baseline_and_duplicates() -> None:
    docs = [
        Labelled(art("a", FIRE_A), "fire"),
        Labelled(art("b", FIRE_B), "fire"),
        Labelled(art("c", FIRE_A), "fire"),
        Labelled(art("d", QUAKE), "quake"),
    ]
    report = evaluate_docs(docs, seeds=(0, 1))
    assert report["stories"]["bcubed_f1"] == 1.0
    assert "threshold" in report["baseline"]
    assert sorted(report["duplicate_groups"][0]) == ["a", "c"]
    assert "stories_time_order" in report


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "not JSON"),
        ("[1]", "not a JSON object"),
        ('{"id": "a", "text": ""}', "'text'"),
        ('{"id": 3, "text": "t", "event": "e"}', "'id'"),
    ],
)
def test_parse_line_rejects_bad_records(line: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_line(line, 7)


def test_parse_line_reads_optional_fields() -> None:
    doc = parse_line(
        '{"id": "a", "text": "t", "event": "e", "title": "T", '
        '"published_at": "2024-03-01T12:00:00Z", "people": ["Ann", 3]}',
        1,
    )
    assert doc.article.title == "T" and doc.article.published_at == T0
    assert doc.article.people == ("Ann",)
