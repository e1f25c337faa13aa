"""Data shapes of the stories core: what goes in, what comes out, what the state keeps.

Kept free of Kafka, Redis and pydantic: the stage maps its topic messages onto
:class:`ArticleIn` and the results back onto its contracts, and the state backends
serialise :class:`Story` with :func:`story_to_dict` / :func:`story_from_dict`.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "ArticleIn",
    "Assignment",
    "BatchResult",
    "Head",
    "Merge",
    "Story",
    "StorySummary",
    "centroid_norm",
    "story_from_dict",
    "story_id_for",
    "story_to_dict",
    "summarise",
]


@dataclass(frozen=True, slots=True)
class ArticleIn:
    """One article as the stories step sees it (from ``articles.enriched``).

    ``people``, ``organisations`` and ``places`` are canonical entity names; leave
    them empty when there are none (the text alone still clusters). Times are aware
    datetimes; ``published_at`` is preferred, ``received_at`` is the fallback and
    the cap (a publication date after reception is a feed's error)."""

    article_id: str
    text: str
    title: str | None = None
    language: str | None = None
    published_at: datetime | None = None
    received_at: datetime | None = None
    source: str | None = None
    people: tuple[str, ...] = ()
    organisations: tuple[str, ...] = ()
    places: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Assignment:
    """Where one article went.

    ``duplicate_of`` is the first copy seen of its text (None when it is the first or
    has no copy); ``copies`` is the size of its near-duplicate group when it arrived
    (1 for a text seen once). ``replayed`` is True when the article had been seen
    before and this is the remembered answer (its story id followed through merges).
    """

    article_id: str
    story_id: str
    duplicate_of: str | None
    copies: int
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class Merge:
    """Story ``old`` was folded into ``into``: every article of ``old`` now belongs
    to ``into``; the index and subscribers should rewrite ``old`` to ``into``."""

    old: str
    into: str


@dataclass(slots=True)
class Head:
    """One of a story's most central articles: its title candidates and link targets."""

    article_id: str
    title: str | None
    vector: dict[str, float]
    centrality: float = 0.0


@dataclass(slots=True)
class Story:
    """The state of one story, as stored.

    ``centroid`` is the (truncated) sum of its members' unit vectors; ``seq`` is the
    order in which stories were created, which decides which id survives a merge
    (the older one). Counters are capped by :mod:`services.stories.clustering`."""

    story_id: str
    seq: int
    size: int = 0
    first_seen: float | None = None
    last_seen: float | None = None
    centroid: dict[str, float] = field(default_factory=dict)
    heads: list[Head] = field(default_factory=list)
    sources: dict[str, int] = field(default_factory=dict)
    entities: dict[str, int] = field(default_factory=dict)
    merged_from: list[str] = field(default_factory=list)
    # Euclidean norm of ``centroid``, cached: scoring divides by it for every
    # candidate. 0.0 means "not computed yet" (see ``centroid_norm``).
    norm: float = 0.0


def centroid_norm(story: Story) -> float:
    """Norm of the story's centroid, computed once and cached on the object."""
    if story.norm == 0.0 and story.centroid:
        story.norm = math.sqrt(sum(w * w for w in story.centroid.values()))
    return story.norm


@dataclass(frozen=True, slots=True)
class StorySummary:
    """What downstream needs of a story that changed (``stories.updated``)."""

    story_id: str
    title: str | None
    title_article_id: str | None
    size: int
    sources: tuple[str, ...]
    people: tuple[str, ...]
    organisations: tuple[str, ...]
    places: tuple[str, ...]
    first_seen: datetime | None
    last_seen: datetime | None
    merged_from: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BatchResult:
    """Result of one batch: one assignment per input article in input order, the
    final state of every story the batch changed, and the merges it made."""

    assignments: list[Assignment]
    stories: list[StorySummary]
    merges: list[Merge]


def story_id_for(article_id: str) -> str:
    """Id of the story founded by ``article_id``: 32 hex characters, deterministic,
    distinct from the article id itself so the two are never confused."""
    return hashlib.sha256(f"story:{article_id}".encode()).hexdigest()[:32]


def _to_datetime(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def summarise(story: Story, top: int = 20) -> StorySummary:
    """Public view of ``story``: top sources and entities by count (ties by name)."""

    def ranked(prefix: str, counts: dict[str, int]) -> tuple[str, ...]:
        items = [(k[len(prefix) :], n) for k, n in counts.items() if k.startswith(prefix)]
        items.sort(key=lambda kv: (-kv[1], kv[0]))
        return tuple(name for name, _ in items[:top])

    title_head = next((h for h in story.heads if h.title), None)
    return StorySummary(
        story_id=story.story_id,
        title=title_head.title if title_head else None,
        title_article_id=title_head.article_id if title_head else None,
        size=story.size,
        sources=ranked("", story.sources),
        people=ranked("p:", story.entities),
        organisations=ranked("o:", story.entities),
        places=ranked("l:", story.entities),
        first_seen=_to_datetime(story.first_seen),
        last_seen=_to_datetime(story.last_seen),
        merged_from=tuple(story.merged_from),
    )


def story_to_dict(story: Story) -> dict[str, Any]:
    """JSON-ready form of ``story`` (vector weights rounded to keep blobs small)."""
    return {
        "id": story.story_id,
        "seq": story.seq,
        "size": story.size,
        "first": story.first_seen,
        "last": story.last_seen,
        "c": {t: round(w, 5) for t, w in story.centroid.items()},
        "h": [
            [h.article_id, h.title, {t: round(w, 5) for t, w in h.vector.items()}, h.centrality]
            for h in story.heads
        ],
        "src": story.sources,
        "ent": story.entities,
        "mf": story.merged_from,
    }


def story_from_dict(data: dict[str, Any]) -> Story:
    """Inverse of :func:`story_to_dict`."""
    return Story(
        story_id=data["id"],
        seq=int(data["seq"]),
        size=int(data["size"]),
        first_seen=data["first"],
        last_seen=data["last"],
        centroid=dict(data["c"]),
        heads=[Head(a, t, dict(v), float(c)) for a, t, v, c in data["h"]],
        sources=dict(data["src"]),
        entities=dict(data["ent"]),
        merged_from=list(data["mf"]),
    )
