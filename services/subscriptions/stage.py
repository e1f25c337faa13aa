"""The two stream stages of subscriptions.

``matcher``: ``articles.indexed`` -> ``subscriptions.matched``. Per batch:
read the new articles (in real time: they are not searchable yet), find the
subscriptions they may match with the presearcher, wait until the articles
are searchable (refreshing the index when they are not yet), let
Elasticsearch decide (the candidates' queries, identical ones once, as
named queries of a few combined searches restricted to their candidate
articles, see ``ArticleIndex.verify``), then claim each
(subscription, article) pair in Redis with SET NX: only a pair never
claimed before is produced, so a match is produced at most once whatever
replays, restarts or second matchers do. (The claim is taken just before the
runtime sends the batch's outputs; a process killed in between loses those
matches rather than sending them twice, as the issue asks.)

``webhooks``: ``subscriptions.matched`` -> the subscription's Atom feed
list and, when it has a webhook, a delivery job in Redis that the
dispatcher thread sends (``services.subscriptions.dispatcher``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from elastic_transport import ConnectionError as ESConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, AsyncElasticsearch
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.subscriptions import metrics
from services.subscriptions.delivery import Job, JobQueue
from services.subscriptions.dispatcher import Dispatcher
from services.subscriptions.matching import (
    ArticleIndex,
    Document,
    SearchUnavailable,
    subscription_query,
)
from services.subscriptions.models import Subscription
from services.subscriptions.presearch import (
    Presearcher,
    atoms_of,
    document_keys,
    query_needs,
    requirements,
)
from services.subscriptions.settings import MatcherSettings, WebhooksSettings
from services.subscriptions.store import SubscriptionStore
from shared.contracts.models import IndexedArticleV1, SubscriptionMatchV1
from shared.contracts.topics import INDEXED, MATCHED
from shared.runtime.stage import (
    BatchHandler,
    Item,
    Output,
    Result,
    StageDefinition,
    TemporaryFailure,
)

log = logging.getLogger(__name__)
_TEMPORARY = (ESConnectionError, ConnectionTimeout, RedisError, OSError, SearchUnavailable)


def _temporary_api_error(exc: ApiError) -> bool:
    return exc.meta.status == 429 or exc.meta.status >= 500


class Subscriptions:
    """The active subscriptions and their presearch index, kept up to date
    from the store's change log (checked at most every `interval_s`): only
    the subscriptions changed since the last look are read and reindexed,
    so a change costs the matcher one subscription, not all of them. All
    are read again at start, when the log no longer reaches back far enough,
    and when the index behind the alias changes (its analysis gives the
    words' forms)."""

    def __init__(self, store: SubscriptionStore, index: ArticleIndex, interval_s: float) -> None:
        self.store = store
        self.index = index
        self.interval_s = interval_s
        self.active: dict[str, Subscription] = {}
        self.queries: dict[str, dict[str, Any]] = {}
        self.presearcher = Presearcher()
        self.fields: list[str] = []
        self._version = -1
        self._target: str | None = None
        self._checked = float("-inf")

    async def refresh(self) -> None:
        """Apply the changes since the last look. Reads first, then swaps:
        a failure (retried with the batch) leaves the last state whole."""
        if time.monotonic() - self._checked < self.interval_s:
            return
        target = await self.index.target()
        changes = None
        if self._version >= 0 and target == self._target:
            changes = await self.store.changes_since(self._version)
        if changes is None:
            version = await self.store.version()  # before the read: no change missed
            await self._apply(await self.store.all(), None)
            self._version, self._target = version, target
            log.info(
                "subscriptions loaded",
                extra={"active": len(self.active), "unindexed": len(self.presearcher.always)},
            )
        elif changes[1]:
            await self._apply(await self.store.many(changes[1]), changes[1])
            self._version = changes[0]
            log.info("subscriptions changed", extra={"changed": len(changes[1])})
        metrics.ACTIVE.set(len(self.active))
        metrics.UNINDEXED.set(len(self.presearcher.always))
        self._checked = time.monotonic()

    async def _apply(self, subs: Sequence[Subscription], changed: Sequence[str] | None) -> None:
        """Index `subs` (the current state of the `changed` ids, or of all
        of them when `changed` is None); the ones gone or paused drop out."""
        live = [s for s in subs if not s.paused]
        queries = {s.id: subscription_query(s) for s in live}
        needs = {sid: query_needs(query) for sid, query in queries.items()}
        forms = await self.index.forms(atoms_of(needs.values()))
        fields = {f for (f, _), found in forms.items() if found}
        if changed is None:
            self.active, self.queries, self.presearcher = {}, {}, Presearcher()
            self.fields = []
        for sid in changed or ():
            self.active.pop(sid, None)
            self.queries.pop(sid, None)
            self.presearcher.remove(sid)
        for sub in live:
            self.active[sub.id] = sub
            self.queries[sub.id] = queries[sub.id]
            self.presearcher.add(sub.id, requirements(needs[sub.id], forms))
        self.fields = sorted(fields.union(self.fields))


def match_record(sid: str, doc: Document, notice: IndexedArticleV1) -> SubscriptionMatchV1:
    """The match record, from the indexed document (which has the URL) and
    the notice (which has when it was indexed)."""
    source = doc.source
    fields: dict[str, Any] = {
        "subscription_id": sid,
        "article_id": doc.article_id,
        "title": source.get("title") if isinstance(source.get("title"), str) else None,
        "source": str(source.get("source") or notice.source),
        "published_at": source.get("published_at") or notice.published_at,
        "indexed_at": notice.indexed_at,
    }
    for optional in ("url", "language"):
        try:  # a stored value the contract refuses is left out, not fatal
            SubscriptionMatchV1.model_validate({**fields, optional: source.get(optional)})
        except ValidationError:
            continue
        fields[optional] = source.get(optional)
    return SubscriptionMatchV1.model_validate(fields)


class Matcher:
    """The matcher stage's handler."""

    def __init__(
        self, settings: MatcherSettings, store: SubscriptionStore, index: ArticleIndex
    ) -> None:
        self.settings = settings
        self.store = store
        self.index = index
        self.subscriptions = Subscriptions(store, index, settings.reload_interval_s)

    async def __call__(self, items: list[Item[Any]]) -> list[Result]:
        try:
            return await self._match(items)
        except _TEMPORARY as exc:
            raise TemporaryFailure(f"matcher dependency unavailable: {exc!r}") from exc
        except ApiError as exc:
            if _temporary_api_error(exc):
                raise TemporaryFailure(f"Elasticsearch {exc.meta.status}: {exc}") from exc
            raise

    async def _match(self, items: list[Item[Any]]) -> list[Result]:
        notices: list[IndexedArticleV1] = [item.value for item in items]
        await self.subscriptions.refresh()
        outputs: dict[str, list[Output]] = {}
        if self.subscriptions.active:
            outputs = await self._outputs(notices)
        results = []
        for notice in notices:
            # An article twice in a batch: its matches go with the first one.
            results.append(Result(notice.article_id, outputs=outputs.pop(notice.article_id, [])))
        return results

    async def _outputs(self, notices: Sequence[IndexedArticleV1]) -> dict[str, list[Output]]:
        subs = self.subscriptions
        ids = list(dict.fromkeys(n.article_id for n in notices))
        clock = _Phases()
        docs = await self.index.documents(ids, subs.fields)
        clock.done("read")
        candidates: dict[str, list[str]] = {}
        for doc in docs.values():
            keys = document_keys(doc.terms)
            for sid in subs.presearcher.candidates(keys):
                candidates.setdefault(sid, []).append(doc.article_id)
        metrics.CANDIDATES.observe(len(candidates))
        clock.done("presearch")
        if not candidates:
            return {}
        visible = sorted({a for found in candidates.values() for a in found})
        waited = await self.index.wait_visible(
            visible,
            poll_s=self.settings.visibility_poll_s,
            timeout_s=self.settings.visibility_timeout_s,
            force=self.settings.visibility == "refresh",
        )
        metrics.VISIBILITY_WAIT.observe(waited)
        clock.done("visible")
        matched = await self.index.verify(
            candidates,
            subs.queries,
            chunk=self.settings.verify_chunk,
            concurrency=self.settings.verify_concurrency,
        )
        clock.done("verify")
        fresh = await self.store.claim(matched, self.settings.claim_ttl_s)
        metrics.DUPLICATE_MATCHES.inc(fresh.count(False))
        clock.done("claim")
        by_id = {n.article_id: n for n in notices}
        outputs: dict[str, list[Output]] = {}
        for (sid, article), new in zip(matched, fresh, strict=True):
            if not new:
                continue
            record = match_record(sid, docs[article], by_id[article])
            outputs.setdefault(article, []).append(Output(sid, record))
            metrics.MATCHES.inc()
            age = (datetime.now(UTC) - record.indexed_at).total_seconds()
            metrics.MATCH_LATENCY.observe(max(0.0, age))
        clock.done("records")
        return outputs


class _Phases:
    """Times the steps of a batch into PHASE_SECONDS (where a batch's time goes)."""

    def __init__(self) -> None:
        self.last = time.monotonic()

    def done(self, phase: str) -> None:
        now = time.monotonic()
        metrics.PHASE_SECONDS.labels(phase).observe(now - self.last)
        self.last = now


def make_matcher(settings: MatcherSettings) -> BatchHandler:
    redis = Redis.from_url(settings.redis_dsn)
    es = AsyncElasticsearch(settings.es_url, request_timeout=settings.es_timeout_s)
    return Matcher(
        settings,
        SubscriptionStore(redis, settings.namespace),
        ArticleIndex(es, settings.namespace),
    )


MATCHER = StageDefinition(
    name="matcher",
    input=INDEXED,
    output=MATCHED,
    done_status=None,
    settings=MatcherSettings,
    make_handler=make_matcher,
)


# ---------------------------------------------------------------- webhooks
def feed_entry(match: SubscriptionMatchV1) -> dict[str, Any]:
    return match.model_dump(
        mode="json",
        include={"article_id", "title", "url", "source", "published_at", "matched_at"},
    )


class MatchRecorder:
    """The webhooks stage's handler: feed entry, then a webhook job."""

    def __init__(
        self,
        settings: WebhooksSettings,
        store: SubscriptionStore,
        queue: JobQueue,
        wake: Any = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.queue = queue
        self.wake = wake

    async def __call__(self, items: list[Item[Any]]) -> list[Result]:
        try:
            results = await self._record(items)
        except (RedisError, OSError) as exc:
            raise TemporaryFailure(f"Redis unavailable: {exc!r}") from exc
        if self.wake is not None:
            self.wake()
        return results

    async def _record(self, items: list[Item[Any]]) -> list[Result]:
        """Feed entries and webhook jobs of the whole batch, each kind in
        one Redis round trip."""
        ids = sorted({item.value.subscription_id for item in items})
        subs: Mapping[str, Subscription] = {s.id: s for s in await self.store.many(ids)}
        now = time.time()
        entries: list[tuple[str, dict[str, Any], float]] = []
        jobs: list[Job] = []
        for item in items:
            match: SubscriptionMatchV1 = item.value
            sub = subs.get(match.subscription_id)
            if sub is None:  # deleted since the match
                continue
            entries.append((sub.id, feed_entry(match), match.matched_at.timestamp()))
            if sub.webhook_url:
                jobs.append(self._job(item, now))
        await self.store.add_feed_entries(entries, self.settings.feed_entries)
        await self.queue.enqueue_many(jobs, due=now)
        return [Result(item.value.article_id) for item in items]

    @staticmethod
    def _job(item: Item[Any], now: float) -> Job:
        match: SubscriptionMatchV1 = item.value
        return Job(
            subscription_id=match.subscription_id,
            article_id=match.article_id,
            first_at=now,
            topic=item.topic,
            partition=item.partition,
            offset=item.offset,
            key=item.key.decode("utf-8", "replace") if item.key is not None else None,
            value=item.raw.decode("utf-8"),
        )


def make_recorder(settings: WebhooksSettings) -> BatchHandler:
    redis = Redis.from_url(settings.redis_dsn)
    dispatcher = Dispatcher(settings)
    dispatcher.start()
    return MatchRecorder(
        settings,
        SubscriptionStore(redis, settings.namespace),
        JobQueue(redis, settings.namespace, settings.delivered_ttl_s),
        wake=dispatcher.wake,
    )


WEBHOOKS = StageDefinition(
    name="webhooks",
    input=MATCHED,
    output=None,
    done_status=None,
    settings=WebhooksSettings,
    make_handler=make_recorder,
)
