"""Online story clustering with near-duplicate folding: the entry point of the stories core.

:class:`StoryClusterer` takes articles in arrival order and decides, for each:

1. **Seen before?** Its remembered assignment is returned (story id followed through
   later merges), and nothing changes: replays and restarts give the same answer.
2. **A copy?** Its MinHash signature is looked up in the LSH buckets of the window; a
   match at or above the Jaccard threshold makes it a copy of the *first* copy seen,
   and it joins that copy's story without pulling the centroid further (a wire story
   republished fifty times is still one report).
3. **Which story?** Candidate stories sharing its heaviest terms are scored
   (:func:`services.stories.scoring.score`); the best one at or above the threshold
   takes it, else it founds a new story whose id derives from its own id.
4. **A bridge?** If it also scores high against another candidate whose centroid is
   close to the chosen story's, the two stories merge: the older (created first)
   keeps its id, the other is redirected to it, and the merge is reported.

Ids depend only on article ids and arrival order, never on randomness or the clock,
so the same input order always gives the same ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from services.stories import neardup
from services.stories.features import entity_keys, extract_terms, top_terms, weigh, years_of
from services.stories.models import (
    ArticleIn,
    Assignment,
    BatchResult,
    Merge,
    Story,
    StorySummary,
    story_id_for,
    summarise,
)
from services.stories.scoring import (
    Joining,
    Params,
    Scored,
    add_article,
    centroid_cosine,
    is_finite,
    merge_stories,
    posting_terms,
    score,
)
from services.stories.state import DAY, Change, StoryState

__all__ = ["StoryClusterer", "article_time"]

# A publication date this far after reception is a feed's error, not a scoop.
_FUTURE_SLACK = DAY


def _epoch(value: datetime | None) -> float | None:
    if value is None or value.tzinfo is None:
        return None  # naive datetimes are ambiguous; the contracts always carry a zone
    stamp = value.timestamp()
    return stamp if is_finite(stamp) else None


def article_time(article: ArticleIn, fallback: float) -> float:
    """When the article happened, for windows and time distance: its publication time,
    unless missing or later than reception (plus a day), then its reception time,
    then ``fallback`` (the state's watermark) for articles without any time."""
    published = _epoch(article.published_at)
    received = _epoch(article.received_at)
    if published is not None and (received is None or published <= received + _FUTURE_SLACK):
        return published
    if received is not None:
        return received
    return fallback


@dataclass(slots=True)
class _Batch:
    """Stories and merges a batch touched, for the result."""

    changed: dict[str, Story] = field(default_factory=dict)
    merges: list[Merge] = field(default_factory=list)


class StoryClusterer:
    """Assigns articles to stories, one batch at a time, against a :class:`StoryState`.

    Not thread-safe: one clusterer per state writer. Several workers sharing one Redis
    state must serialise their batches (``RedisState.lock``)."""

    def __init__(self, state: StoryState, params: Params | None = None) -> None:
        self.state = state
        self.params = params or Params()

    def process(self, articles: Sequence[ArticleIn]) -> BatchResult:
        """Assign each article in order; see :class:`~services.stories.models.BatchResult`."""
        batch = _Batch()
        assignments = [self._assign(article, batch) for article in articles]
        final: dict[str, StorySummary] = {}
        for story_id in batch.changed:
            current = self.state.resolve(story_id)
            story = self.state.load_stories([current]).get(current)
            if story is not None:
                final[current] = summarise(story)
        return BatchResult(assignments, list(final.values()), batch.merges)

    # ------------------------------------------------------------------ one article
    def _assign(self, article: ArticleIn, batch: _Batch) -> Assignment:
        stored = self.state.get_assignment(article.article_id)
        if stored is not None:
            return Assignment(
                article.article_id,
                self.state.resolve(stored.story_id),
                stored.duplicate_of,
                stored.copies,
                replayed=True,
            )
        time = article_time(article, self.state.watermark())
        since = time - self.params.window
        sig = neardup.signature(article.text)
        bands = neardup.band_keys(sig) if sig is not None else []
        original = self._original(sig, bands, since)
        joining, terms, day = self._features(article, time, in_centroid=original is None)
        best: Scored | None = None
        others: list[Scored] = []
        if original is not None:
            root, original_story = original
            copies = self.state.copies(root) + 1
            chosen = self._load_one(original_story)
        else:
            root, copies = None, 1
            chosen, best, others = self._choose(joining, since, time)
        updated = add_article(chosen, joining, self.params)
        stories, merges = self._merge(updated, self._to_merge(updated, best, others))
        assignment = Assignment(article.article_id, stories[0].story_id, root, copies)
        self.state.commit(
            Change(
                assignment=assignment,
                time=time,
                day=day,
                terms=terms,
                signature=sig.tobytes() if sig is not None else None,
                bands=bands,
                stories=[(s, posting_terms(s, self.params)) for s in stories],
                merges=merges,
            )
        )
        for changed in stories:
            batch.changed[changed.story_id] = changed
        batch.merges.extend(merges)
        return assignment

    def _features(
        self, article: ArticleIn, time: float, *, in_centroid: bool
    ) -> tuple[Joining, list[str], int]:
        params = self.params
        terms = extract_terms(
            article.text,
            article.title,
            lead_boost=params.lead_boost,
            title_boost=params.title_boost,
            name_boost=params.name_boost,
            number_boost=params.number_boost,
        )
        day = int(time // DAY)
        window_days = max(1, int(params.window // DAY))
        freqs, n_docs = self.state.doc_freqs(
            terms.counts.keys(), range(day - window_days + 1, day + 1)
        )
        # Count the article itself, as if it had been added first: its own terms then
        # have df >= 1 and the very first article gets a finite, sane vector.
        freqs = {t: n + 1 for t, n in freqs.items()}
        vector = weigh(terms, freqs, n_docs + 1)
        joining = Joining(
            article_id=article.article_id,
            title=(article.title or "").strip()[:500] or None,
            vector=vector,
            entities=entity_keys(article.people, article.organisations, article.places),
            source=article.source,
            time=time,
            in_centroid=in_centroid or params.copies_in_centroid,
            years=years_of(vector),
        )
        return joining, list(terms.counts), day

    def _original(
        self, sig: neardup.Signature | None, bands: list[str], since: float
    ) -> tuple[str, str] | None:
        """(first copy's id, its story id) when the text is a near-duplicate."""
        if sig is None:
            return None
        candidates = self.state.dup_candidates(bands, since)
        if not candidates:
            return None
        raw = self.state.signatures(candidates)
        pairs = [
            (a, s)
            for a in candidates
            if a in raw and (s := neardup.signature_from_bytes(raw[a])) is not None
        ]
        match = neardup.best_match(sig, pairs, self.params.dup_threshold)
        if match is None:
            return None
        stored = self.state.get_assignment(match[0])
        if stored is None:
            return None  # expired between the two reads: treat as new text
        root = stored.duplicate_of or match[0]
        return root, self.state.resolve(stored.story_id)

    def _load_one(self, story_id: str) -> Story:
        story = self.state.load_stories([story_id]).get(story_id)
        if story is None:  # the story expired while its copy was still remembered
            return Story(story_id=story_id, seq=self.state.next_seq())
        return story

    def _candidates(self, joining: Joining, since: float) -> list[Story]:
        params = self.params
        query = list(top_terms(joining.vector, params.query_terms))
        hits = self.state.story_candidates(query, since, params.per_term)
        ranked = sorted(hits, key=lambda s: (-hits[s], s))[: params.max_candidates]
        stories = self.state.load_stories(self.state.resolve(s) for s in ranked)
        return [s for s in stories.values() if s.last_seen is None or s.last_seen >= since]

    def _choose(
        self, joining: Joining, since: float, time: float
    ) -> tuple[Story, Scored | None, list[Scored]]:
        """The story the article joins (a new one when none passes its bar), how it
        scored, and the other candidates (for merges)."""
        params = self.params
        scored = [
            score(joining.vector, joining.entities, time, story, params, joining.years)
            for story in self._candidates(joining, since)
        ]
        passing = [s for s in scored if s.score >= params.threshold]
        # Highest score first; on a tie, the older story.
        passing.sort(key=lambda s: (-s.score, s.story.seq))
        if not passing:
            new = Story(story_id_for(joining.article_id), seq=self.state.next_seq())
            return new, None, scored
        best = passing[0]
        return best.story, best, [s for s in scored if s is not best]

    def _to_merge(self, updated: Story, best: Scored | None, others: list[Scored]) -> list[Story]:
        """Candidates to fold into ``updated``: those the article bridges (it scores high
        on both and the two are alike), and those whose centroid has become as close to
        the grown story as two halves of one story are."""
        params = self.params
        out = []
        for other in sorted(others, key=lambda s: s.story.seq):
            if other.score < params.merge_floor:
                continue  # far from the article: its centroid is not worth comparing
            cohesion = centroid_cosine(updated, other.story)
            bridged = (
                best is not None
                and min(best.score, other.score) >= params.merge_threshold
                and cohesion >= params.merge_cohesion
            )
            if bridged or cohesion >= params.merge_centroid:
                out.append(other.story)
        return out

    def _merge(self, updated: Story, others: list[Story]) -> tuple[list[Story], list[Merge]]:
        """Fold ``others`` into ``updated``; the oldest id survives."""
        if not others:
            return [updated], []
        group = sorted([updated, *others], key=lambda s: s.seq)
        keep = group[0]
        merges: list[Merge] = []
        for gone in group[1:]:
            keep = merge_stories(keep, gone, self.params)
            merges.append(Merge(gone.story_id, keep.story_id))
        return [keep], merges
