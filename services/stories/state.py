"""What the stories core remembers, behind one small interface, and its in-memory form.

The clustering code (:mod:`services.stories.clustering`) reads and writes state only
through :class:`StoryState`, so the same code runs on :class:`MemoryState` (unit tests,
the evaluation, the cost bench) and on :class:`~services.stories.redis_state.RedisState`
(the stage: shared by workers, survives restarts).

Everything one article changes is handed over as one :class:`Change` and applied at
once (a Redis transaction in the Redis state), so a crash never leaves an article half
counted: either its assignment and every story update exist, or none does and a
replay computes them again.

The sliding window
------------------
Every entry carries the *article time* (publication, else reception) of its last
update. Reads ignore entries older than ``since`` (the caller's window), and entries
idle for longer than the window are dropped: here by a sweep as article time advances,
in Redis by key TTLs. Memory is thus bounded by the traffic of one window, not by
the age of the stream.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from services.stories.models import Assignment, Merge, Story

__all__ = [
    "DAY",
    "Change",
    "MemoryState",
    "Stored",
    "StoryState",
]

DAY = 86_400.0
# A merge chain longer than this is a bug or a hostile state; resolution stops there.
_MAX_REDIRECTS = 32


@dataclass(frozen=True, slots=True)
class Stored:
    """A remembered assignment: story id at the time, first copy, group size."""

    story_id: str
    duplicate_of: str | None
    copies: int


@dataclass(slots=True)
class Change:
    """Everything one new article changes; applied atomically by :meth:`StoryState.commit`."""

    assignment: Assignment
    time: float
    day: int
    terms: Collection[str]
    signature: bytes | None = None
    bands: list[str] = field(default_factory=list)
    stories: list[tuple[Story, list[str]]] = field(default_factory=list)
    merges: list[Merge] = field(default_factory=list)


class StoryState(Protocol):
    """Storage the clustering needs. Reads never change state; only :meth:`commit` does."""

    def get_assignment(self, article_id: str) -> Stored | None:
        """The remembered assignment of an article seen before, else None."""
        ...

    def resolve(self, story_id: str) -> str:
        """``story_id`` followed through merges to the story that holds it now."""
        ...

    def watermark(self) -> float:
        """Latest article time committed (0.0 before the first)."""
        ...

    def doc_freqs(self, terms: Collection[str], days: range) -> tuple[dict[str, int], int]:
        """Document frequency of each term over the given days, and the number of documents."""
        ...

    def dup_candidates(self, bands: list[str], since: float) -> list[str]:
        """Articles sharing a band with the caller, seen at or after ``since``, oldest first."""
        ...

    def signatures(self, article_ids: list[str]) -> dict[str, bytes]:
        """Stored MinHash signatures of those articles that still have one."""
        ...

    def copies(self, root: str) -> int:
        """Size of the near-duplicate group whose first copy is ``root`` (0 if unknown)."""
        ...

    def story_candidates(self, terms: list[str], since: float, per_term: int) -> Counter[str]:
        """Stories indexed under any of ``terms`` with activity since ``since``, each
        with the number of those terms it is indexed under (at most ``per_term`` most
        recent stories read per term)."""
        ...

    def load_stories(self, story_ids: Iterable[str]) -> dict[str, Story]:
        """Stored stories by id (missing or expired ones left out)."""
        ...

    def next_seq(self) -> int:
        """A creation number larger than every one handed out before."""
        ...

    def commit(self, change: Change) -> None:
        """Apply ``change`` as one unit."""
        ...


class MemoryState:
    """:class:`StoryState` in process memory: for tests, evaluation and benchmarks.

    Expiry follows article time: once the watermark has moved a day past the last
    sweep, entries idle for longer than ``window`` seconds are dropped."""

    def __init__(self, window: float = 7 * DAY, remember: float = 30 * DAY) -> None:
        self.window = window
        self.remember = max(remember, window)
        self._assignments: dict[str, tuple[Stored, float]] = {}
        self._redirects: dict[str, tuple[str, float]] = {}
        self._df: dict[int, Counter[str]] = defaultdict(Counter)
        self._docs: Counter[int] = Counter()
        self._bands: dict[str, dict[str, float]] = defaultdict(dict)
        self._signatures: dict[str, tuple[bytes, float]] = {}
        self._copies: dict[str, tuple[int, float]] = {}
        self._postings: dict[str, dict[str, float]] = defaultdict(dict)
        self._stories: dict[str, tuple[Story, float]] = {}
        self._seq = 0
        self._watermark = 0.0
        self._swept = 0.0

    # ------------------------------------------------------------------ reads
    def get_assignment(self, article_id: str) -> Stored | None:
        entry = self._assignments.get(article_id)
        return entry[0] if entry else None

    def resolve(self, story_id: str) -> str:
        for _ in range(_MAX_REDIRECTS):
            entry = self._redirects.get(story_id)
            if entry is None:
                break
            story_id = entry[0]
        return story_id

    def watermark(self) -> float:
        return self._watermark

    def doc_freqs(self, terms: Collection[str], days: range) -> tuple[dict[str, int], int]:
        buckets = [self._df[d] for d in days if d in self._df]
        freqs = {t: sum(b.get(t, 0) for b in buckets) for t in terms}
        return freqs, sum(self._docs.get(d, 0) for d in days)

    def dup_candidates(self, bands: list[str], since: float) -> list[str]:
        found: dict[str, float] = {}
        for band in bands:
            for article_id, seen in self._bands.get(band, {}).items():
                if seen >= since:
                    found[article_id] = seen
        return sorted(found, key=lambda a: (found[a], a))

    def signatures(self, article_ids: list[str]) -> dict[str, bytes]:
        return {a: self._signatures[a][0] for a in article_ids if a in self._signatures}

    def copies(self, root: str) -> int:
        entry = self._copies.get(root)
        return entry[0] if entry else 0

    def story_candidates(self, terms: list[str], since: float, per_term: int) -> Counter[str]:
        hits: Counter[str] = Counter()
        for term in terms:
            posting = self._postings.get(term)
            if not posting:
                continue
            recent = sorted(
                (s for s, seen in posting.items() if seen >= since),
                key=lambda s: (-posting[s], s),
            )[:per_term]
            hits.update(recent)
        return hits

    def load_stories(self, story_ids: Iterable[str]) -> dict[str, Story]:
        return {s: self._stories[s][0] for s in story_ids if s in self._stories}

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    # ------------------------------------------------------------------ writes
    def commit(self, change: Change) -> None:
        now = change.time
        a = change.assignment
        self._assignments[a.article_id] = (Stored(a.story_id, a.duplicate_of, a.copies), now)
        self._df[change.day].update(change.terms)
        self._docs[change.day] += 1
        if change.signature is not None:
            self._signatures[a.article_id] = (change.signature, now)
            for band in change.bands:
                self._bands[band][a.article_id] = now
        root = a.duplicate_of or a.article_id
        self._copies[root] = (a.copies, now)
        for story, terms in change.stories:
            self._stories[story.story_id] = (story, now)
            for term in terms:
                self._postings[term][story.story_id] = story.last_seen or now
        for merge in change.merges:
            self._redirects[merge.old] = (merge.into, now)
            self._stories.pop(merge.old, None)
        self._watermark = max(self._watermark, now)
        if self._watermark - self._swept >= DAY:
            self._sweep(self._watermark - self.window, self._watermark - self.remember)
            self._swept = self._watermark

    def _sweep(self, cutoff: float, forget: float) -> None:
        """Drop window entries idle since before ``cutoff`` and remembered assignments
        older than ``forget`` (article time)."""
        for table, limit in (
            (self._assignments, forget),
            (self._redirects, forget),
            (self._signatures, cutoff),
            (self._copies, cutoff),
        ):
            for key in [k for k, v in table.items() if v[1] < limit]:
                del table[key]
        for key in [k for k, v in self._stories.items() if v[1] < cutoff]:
            del self._stories[key]
        for index in (self._bands, self._postings):
            for key in list(index):
                kept = {i: seen for i, seen in index[key].items() if seen >= cutoff}
                if kept:
                    index[key] = kept
                else:
                    del index[key]
        oldest_day = int(cutoff // DAY)
        for day in [d for d in self._df if d < oldest_day]:
            del self._df[day]
            self._docs.pop(day, None)

    def size(self) -> dict[str, int]:
        """Entry counts per table (for the cost bench)."""
        return {
            "assignments": len(self._assignments),
            "stories": len(self._stories),
            "postings": sum(len(p) for p in self._postings.values()),
            "bands": sum(len(b) for b in self._bands.values()),
            "signatures": len(self._signatures),
            "df_terms": sum(len(c) for c in self._df.values()),
        }
