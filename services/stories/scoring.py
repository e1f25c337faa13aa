"""Pure scoring and updating of stories: how close an article is to a story, and the
story after the article (or another story) joins it.

Nothing here touches state; every function returns new objects, so a failed batch
leaves loaded stories untouched and the in-memory state stays consistent.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from services.stories.features import add_scaled, cosine, is_year, normalise, top_terms
from services.stories.models import Head, Story, centroid_norm
from services.stories.state import DAY

__all__ = [
    "Params",
    "Scored",
    "add_article",
    "merge_stories",
    "score",
]

_MAX_SOURCES = 200  # distinct sources kept per story (the most frequent)
_MAX_ENTITIES = 120  # distinct entities kept per story (the most frequent)


@dataclass(frozen=True, slots=True)
class Params:
    """Tunables of the clustering, set on the dev events: ``tune`` split (ECB+ topics
    1-22), checked on ``check`` (topics 23-35) and the odd/even topic folds. Said
    plainly: ``number_boost`` and ``year_weight`` were screened on all 772, and the
    join ``threshold`` 0.26 is not tune's own best (0.22 there, which loses on check;
    see ``--cv``) but ties the best on all 772. A later pass (size-aware thresholds,
    name conflicts, link weighting, merge rules) changed no default: nothing improved
    every split on both metrics. ``bench/eval_stories.py`` holds the figures."""

    window: float = 7 * DAY  # how far back (article time) a story or a copy is looked for
    remember: float = 30 * DAY  # how long an article's assignment is remembered for replays
    threshold: float = 0.26  # score at or above which an article joins a story
    link_weight: float = 0.5  # share of best-link (vs centroid) similarity in the score
    merge_threshold: float = 0.45  # score to a second story that makes the article a bridge
    merge_cohesion: float = 0.30  # centroid-to-centroid cosine two bridged stories need
    merge_centroid: float = 0.60  # centroid-to-centroid cosine that merges without a bridge
    merge_floor: float = 0.20  # article score below which a candidate is not a merge candidate
    entity_weight: float = 0.05  # bonus for shared people/organisations/places
    entity_saturation: int = 3  # shared entities that give the full bonus
    entity_floor: float = 0.22  # text similarity below which entities give no bonus
    time_weight: float = 0.10  # penalty when the article is far in time from the story
    time_scale: float = 3 * DAY  # distance outside the story's time span for the full penalty
    lead_boost: float = 1.0  # extra count for each word of the lead (first words)
    title_boost: float = 3.0  # extra count for each word of the title
    name_boost: float = 3.0  # extra count for each capitalised mid-sentence word
    number_boost: float = 3.0  # extra count for each number (counts, ages, amounts, years)
    year_weight: float = 0.10  # penalty when the article's years are not the story's
    query_terms: int = 25  # article terms used to look up candidate stories
    posting_terms: int = 40  # story terms under which the story is found
    per_term: int = 64  # most recent stories read per term
    max_candidates: int = 64  # stories scored per article (most shared terms first)
    centroid_terms: int = 300  # terms kept in a story centroid
    heads: int = 5  # most central articles kept per story (title, best link)
    dup_threshold: float = 0.5  # estimated shingle Jaccard for a near-duplicate
    copies_in_centroid: bool = False  # whether near-duplicates also move the centroid


@dataclass(frozen=True, slots=True)
class Scored:
    """A candidate story and the article's score against it."""

    story: Story
    score: float
    text: float


def _centroid_cosine(vector: Mapping[str, float], story: Story) -> float:
    """Cosine of a unit vector with the story centroid, without normalising the centroid."""
    norm = centroid_norm(story)
    if norm == 0.0:
        return 0.0
    centroid = story.centroid
    return sum(w * centroid.get(t, 0.0) for t, w in vector.items()) / norm


def _entity_bonus(entities: frozenset[str], story: Story, text: float, params: Params) -> float:
    if not entities or not story.entities or text < params.entity_floor:
        return 0.0
    shared = sum(1 for key in entities if key in story.entities)
    return params.entity_weight * min(1.0, shared / params.entity_saturation)


def _year_penalty(years: frozenset[str], story: Story, params: Params) -> float:
    """A conflict of stated dates: the share of the article's years that its story never
    states, when the story states some year. Two events of one kind (two earthquakes,
    two trades of a player) often differ by the year the text gives, where the words
    of the event are the same; a story stating no year, or an article stating none,
    gives no evidence either way. Years come from the centroid's terms (no extra
    state); the scan stops at the first year and runs only when one is missing."""
    if not years or params.year_weight == 0.0:
        return 0.0
    centroid = story.centroid
    missing = sum(1 for year in years if year not in centroid)
    if missing == 0 or not any(is_year(term) for term in centroid):
        return 0.0
    return params.year_weight * missing / len(years)


def _time_penalty(time: float | None, story: Story, params: Params) -> float:
    if time is None or story.first_seen is None or story.last_seen is None:
        return 0.0
    gap = max(0.0, story.first_seen - time, time - story.last_seen)
    return params.time_weight * min(1.0, gap / params.time_scale)


def score(
    vector: Mapping[str, float],
    entities: frozenset[str],
    time: float | None,
    story: Story,
    params: Params,
    years: frozenset[str] = frozenset(),
) -> Scored:
    """Text similarity (centroid blended with best link to a central article), plus an
    entity bonus, minus a time penalty and a penalty for conflicting years (``years``:
    those the article states). Entities only add: an article without them is scored
    on text alone, as on the dev set."""
    centroid = _centroid_cosine(vector, story)
    link = max((cosine(vector, h.vector) for h in story.heads), default=centroid)
    text = (1.0 - params.link_weight) * centroid + params.link_weight * link
    total = text + _entity_bonus(entities, story, text, params)
    total -= _time_penalty(time, story, params)
    total -= _year_penalty(years, story, params)
    return Scored(story, total, text)


def _capped(counts: Mapping[str, int], limit: int) -> dict[str, int]:
    if len(counts) <= limit:
        return dict(counts)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return dict(ranked[:limit])


def _counted(base: Mapping[str, int], keys: Iterable[str], limit: int) -> dict[str, int]:
    out = dict(base)
    for key in keys:
        out[key] = out.get(key, 0) + 1
    return _capped(out, limit)


def _earliest(a: float | None, b: float | None) -> float | None:
    values = [v for v in (a, b) if v is not None]
    return min(values) if values else None


def _latest(a: float | None, b: float | None) -> float | None:
    values = [v for v in (a, b) if v is not None]
    return max(values) if values else None


def _rank_heads(heads: Iterable[Head], centroid: Mapping[str, float], keep: int) -> list[Head]:
    """Heads re-scored against the new centroid; most central first (ties by id)."""
    unit = normalise(centroid)
    rescored = [Head(h.article_id, h.title, h.vector, cosine(h.vector, unit)) for h in heads]
    rescored.sort(key=lambda h: (-h.centrality, h.article_id))
    return rescored[:keep]


@dataclass(frozen=True, slots=True)
class Joining:
    """What an article brings to a story."""

    article_id: str
    title: str | None
    vector: dict[str, float]
    entities: frozenset[str]
    source: str | None
    time: float | None
    in_centroid: bool = True
    years: frozenset[str] = frozenset()  # years among the vector's terms


def add_article(story: Story, art: Joining, params: Params) -> Story:
    """``story`` with ``art`` added (a new object; ``story`` is not changed)."""
    centroid = story.centroid
    heads = story.heads
    if art.in_centroid and art.vector:
        centroid = top_terms(add_scaled(dict(centroid), art.vector), params.centroid_terms)
        candidate = Head(art.article_id, art.title, art.vector)
        heads = _rank_heads([*story.heads, candidate], centroid, params.heads)
    sources = story.sources
    if art.source:
        sources = _counted(story.sources, [art.source[:200]], _MAX_SOURCES)
    return Story(
        story_id=story.story_id,
        seq=story.seq,
        size=story.size + 1,
        first_seen=_earliest(story.first_seen, art.time),
        last_seen=_latest(story.last_seen, art.time),
        centroid=centroid,
        heads=heads,
        sources=sources,
        entities=_counted(story.entities, art.entities, _MAX_ENTITIES),
        merged_from=list(story.merged_from),
    )


def merge_stories(keep: Story, gone: Story, params: Params) -> Story:
    """One story holding both: ``keep``'s id and creation number, everything summed."""
    centroid = top_terms(add_scaled(dict(keep.centroid), gone.centroid), params.centroid_terms)
    sources = dict(keep.sources)
    for name, n in gone.sources.items():
        sources[name] = sources.get(name, 0) + n
    entities = dict(keep.entities)
    for key, n in gone.entities.items():
        entities[key] = entities.get(key, 0) + n
    return Story(
        story_id=keep.story_id,
        seq=keep.seq,
        size=keep.size + gone.size,
        first_seen=_earliest(keep.first_seen, gone.first_seen),
        last_seen=_latest(keep.last_seen, gone.last_seen),
        centroid=centroid,
        heads=_rank_heads([*keep.heads, *gone.heads], centroid, params.heads),
        sources=_capped(sources, _MAX_SOURCES),
        entities=_capped(entities, _MAX_ENTITIES),
        merged_from=[*keep.merged_from, gone.story_id, *gone.merged_from],
    )


def centroid_cosine(a: Story, b: Story) -> float:
    """Cosine between two stories' centroids."""
    norms = centroid_norm(a) * centroid_norm(b)
    if norms == 0.0:
        return 0.0
    small, large = sorted((a.centroid, b.centroid), key=len)
    return sum(w * large.get(t, 0.0) for t, w in small.items()) / norms


def posting_terms(story: Story, params: Params) -> list[str]:
    """The story terms under which it is indexed for candidate lookup."""
    return list(top_terms(story.centroid, params.posting_terms))


def is_finite(value: float) -> bool:
    """True for a usable number (guards times taken from messages)."""
    return math.isfinite(value)
