"""Stories stage: ``articles.enriched`` -> ``articles.grouped`` (+ ``identities.merged``).

The logic is the stories core (:class:`~services.stories.clustering.StoryClusterer`
over a :class:`~services.stories.redis_state.RedisState`); this module maps the
contracts onto it and back:

* each enriched article becomes a :class:`GroupedArticleV1` with its ``story_id``,
  ``duplicate_of`` and ``copies``; an article seen before (a replay, a batch
  redelivered after a crash) gets its remembered assignment, so replays give
  the same ``story_id`` (followed through later merges);
* each merge of two stories becomes a :class:`MergeV1` (``kind="story"``) on
  ``identities.merged``, keyed by the old id, its ``new_id`` the survivor at the
  time it is sent; the relabel stage rewrites the indexed articles.

Workers share the state in Redis and take turns, one batch at a time
(``RedisState.lock``): the clustering reads, decides, then writes, and two
workers deciding at once could both found a story for one event.

Merges go through an outbox in Redis, written in the very transaction that makes
them (:class:`OutboxState`): a batch that fails at any point after (Redis blips,
the lock is lost, Kafka is down and the worker is killed, the dead-letter limit
stops it) is retried, and its articles come back as remembered assignments that
make no merge any more; the outbox still holds the merges. Every batch *peeks*
at the outbox and sends what it holds as outputs of the batch itself (not of one
article, so a rejected article never takes them along); only once the runtime
has delivered them does the batch's ``after_delivery`` hook remove exactly the
entries it sent. So a merge is sent at least once, by this worker or another;
re-sending one is harmless, relabelling is idempotent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import redis
from pydantic import ValidationError
from redis.client import Pipeline

from services.stories.clustering import StoryClusterer
from services.stories.models import ArticleIn, Assignment
from services.stories.redis_state import RedisState
from services.stories.scoring import Params
from services.stories.settings import StoriesSettings
from services.stories.state import DAY, Change
from shared.contracts.models import EnrichedArticleV1, GroupedArticleV1, MergeV1
from shared.contracts.topics import ENRICHED, GROUPED, MERGED
from shared.runtime.stage import (
    BatchHandler,
    BatchResult,
    Item,
    Output,
    Result,
    StageDefinition,
    TemporaryFailure,
)

log = logging.getLogger(__name__)

# Outbox entries sent per batch at most: the outbox is drained by every batch, so
# it holds a few entries; this only bounds a batch after a long outage.
_OUTBOX_PEEK = 500


def article_in(article: EnrichedArticleV1) -> ArticleIn:
    """What the clustering sees of an enriched article: text, title, times, source
    and the canonical names of its people, organisations and places."""
    groups: dict[str, list[str]] = {"people": [], "organisations": [], "places": []}
    for entity in article.entities:
        names = groups.get(entity.group)
        if names is not None and entity.canonical not in names:
            names.append(entity.canonical)
    return ArticleIn(
        article_id=article.article_id,
        text=article.text,
        title=article.title,
        language=article.language,
        published_at=article.published_at,
        received_at=article.received_at,
        source=article.source,
        people=tuple(groups["people"]),
        organisations=tuple(groups["organisations"]),
        places=tuple(groups["places"]),
    )


def grouped(article: EnrichedArticleV1, assignment: Assignment, now: datetime) -> GroupedArticleV1:
    """The enriched article placed in its story."""
    return GroupedArticleV1.model_validate(
        {
            **article.model_dump(),
            "story_id": assignment.story_id,
            "duplicate_of": assignment.duplicate_of,
            "copies": max(1, assignment.copies),
            "grouped_at": now,
        }
    )


def merge_outputs(pairs: Sequence[tuple[str, str]], topic: str) -> list[Output]:
    """One :class:`MergeV1` per (old id, final survivor) pair, keyed by the old id.
    A pair that is no valid merge (same id after following the chain, an id of
    the wrong shape) is dropped with a warning: there is nothing to relabel."""
    outputs = []
    for old, new in dict.fromkeys(pairs):
        try:
            merge = MergeV1(kind="story", old_id=old, new_id=new)
        except ValidationError as exc:
            log.warning(
                "story merge dropped", extra={"old_id": old, "new_id": new, "error": str(exc)}
            )
            continue
        outputs.append(Output(old, merge, topic=topic))
    return outputs


class OutboxState(RedisState):
    """The Redis state plus the merges outbox (see the module docstring)."""

    @property
    def outbox_key(self) -> str:
        return f"{self.prefix}merges:outbox"

    def _queue(self, pipe: Pipeline, change: Change) -> None:
        super()._queue(pipe, change)
        if change.merges:
            # In the commit's own transaction: made and queued for sending, or neither.
            # No TTL: an entry leaves only once sent.
            pipe.rpush(self.outbox_key, *(f"{m.old}\t{m.into}" for m in change.merges))

    def peek_merges(self, limit: int = _OUTBOX_PEEK) -> tuple[list[str], list[tuple[str, str]]]:
        """The outbox's first entries, left in place, and their (old id, survivor
        now) pairs in the order made."""
        raw = self.client.lrange(self.outbox_key, 0, limit - 1)
        entries = [e.decode() if isinstance(e, bytes) else str(e) for e in raw]
        pairs = []
        for entry in entries:
            old, _, into = entry.partition("\t")
            pairs.append((old, self.resolve(into)))
        return entries, pairs

    def remove_merges(self, entries: Sequence[str]) -> None:
        """Remove these entries, once each (sent). By value, not by position: other
        workers append and remove meanwhile; an identical entry is the same message."""
        if not entries:
            return
        pipe = self.client.pipeline(transaction=False)
        for entry in entries:
            pipe.lrem(self.outbox_key, 1, entry)
        pipe.execute()


class StoriesHandler:
    """Clusters a batch under the writers' lock, then sends what the merges outbox holds."""

    def __init__(self, settings: StoriesSettings, client: redis.Redis | None = None) -> None:
        self.settings = settings
        client = client or redis.Redis.from_url(
            settings.redis_dsn,
            decode_responses=False,
            socket_timeout=10,
            socket_connect_timeout=5,
        )
        window, remember = settings.window_days * DAY, settings.remember_days * DAY
        self.state = OutboxState(client, settings.namespace, window=window, remember=remember)
        params = Params(**{**settings.params, "window": window, "remember": remember})  # type: ignore[arg-type]
        self.clusterer = StoryClusterer(self.state, params)
        self.merged_topic = MERGED.full_name(settings.namespace)
        # One batch at a time in this process too: the clusterer is not thread-safe.
        self._local = asyncio.Lock()

    def _cluster(
        self, articles: list[EnrichedArticleV1]
    ) -> tuple[list[Assignment], list[str], list[Output]]:
        with self.state.lock(self.settings.lock_timeout_s, self.settings.lock_wait_s):
            result = self.clusterer.process([article_in(a) for a in articles])
        entries, pairs = self.state.peek_merges()
        return result.assignments, entries, merge_outputs(pairs, self.merged_topic)

    async def __call__(self, items: list[Item[Any]]) -> BatchResult:
        articles: list[EnrichedArticleV1] = [item.value for item in items]
        try:
            async with self._local:
                assignments, entries, merges = await asyncio.to_thread(self._cluster, articles)
        except redis.RedisError as exc:  # down, timed out, or the lock lost/not had in time
            raise TemporaryFailure(f"stories state in Redis: {exc!r}") from exc
        now = datetime.now(UTC)
        results = [
            self._result(article, assignment, now)
            for article, assignment in zip(articles, assignments, strict=True)
        ]

        async def sent() -> None:
            # Every peeked entry, also those merge_outputs dropped: they never will be sent.
            await asyncio.to_thread(self.state.remove_merges, entries)

        return BatchResult(results, merges, sent if entries else None)

    @staticmethod
    def _result(article: EnrichedArticleV1, assignment: Assignment, now: datetime) -> Result:
        try:
            output = grouped(article, assignment, now)
        except ValidationError as exc:
            # A bug (the assignment breaks the contract), this article's alone: to the
            # DLQ, without failing the batch (its clustering is committed already).
            return Result(
                article.article_id,
                rejected=f"grouped article breaks its contract: {exc}",
                error_type="ValidationError",
                systemic=True,
            )
        return Result(
            article.article_id,
            outputs=[Output(article.article_id, output)],
            status_detail={
                "story_id": assignment.story_id,
                "copies": assignment.copies,
                **({"replayed": True} if assignment.replayed else {}),
            },
        )


def make_handler(settings: StoriesSettings) -> BatchHandler:
    return StoriesHandler(settings)


STORIES = StageDefinition(
    name="stories",
    input=ENRICHED,
    output=GROUPED,
    done_status="grouped",
    settings=StoriesSettings,
    make_handler=make_handler,
    extra_outputs=(MERGED,),
)
