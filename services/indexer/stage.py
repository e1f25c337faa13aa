"""Indexer stage: ``articles.grouped`` -> Elasticsearch (+ ``articles.indexed``,
``articles.indexed.v2``).

Documents are written in bulk with ``_id = article_id``, so re-delivery
overwrites instead of duplicating. Elasticsearch being down, overloaded (429)
or failing (5xx) is a temporary failure: the batch is retried with backoff
and nothing is acknowledged meanwhile. A document Elasticsearch refuses for
itself (a 4xx on that item, e.g. a mapping conflict) is bad data for the DLQ.

Every indexed article is announced twice: v1 on ``articles.indexed``
(unchanged, for the consumers that read it) and v2 on ``articles.indexed.v2``
(with its story and entity ids).

Ids merged away while an article was in flight are rewritten before the write,
from the relabel stage's redirect map (:mod:`services.indexer.redirects`): one
lookup before the bulk request and one after it. The relabel stage records a
redirect and only then searches for the documents to rewrite, so a document is
either written after the redirect exists (the first lookup, or failing that the
second, sees it) or was written before the relabel stage searched (and that
search, after a refresh, finds it). The second lookup's updates are guarded by
the version the bulk write gave each document (:mod:`services.indexer.versioned`),
since the relabel stage may be rewriting the same document at that moment.
Without Redis the lookups are skipped with a warning: Redis is optional here as
everywhere in the pipeline.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from elastic_transport import ConnectionError as ESConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, AsyncElasticsearch
from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.indexer.redirects import Kind, Redirects, Target
from services.indexer.relabeling import entity_update
from services.indexer.settings import IndexerSettings
from services.indexer.versioned import Versioned, update_versioned
from shared.contracts.index import alias_name, ensure_index, to_document
from shared.contracts.models import EnrichedArticleV1, IndexedArticleV1, IndexedArticleV2
from shared.contracts.topics import GROUPED, INDEXED, INDEXED_V2
from shared.runtime import metrics
from shared.runtime.stage import (
    BatchHandler,
    Item,
    Output,
    Result,
    StageDefinition,
    TemporaryFailure,
)

log = logging.getLogger(__name__)


Redirected = dict[tuple[Kind, str], Target]
# After a failed lookup in the redirect map, batches go without it this long.
_REDIS_RETRY_S = 2.0


def documents(articles: list[EnrichedArticleV1]) -> list[dict[str, Any]]:
    """The search documents of a batch, stamped with the time of indexing."""
    now = datetime.now(UTC).isoformat()
    return [{**to_document(article), "indexed_at": now} for article in articles]


def bulk_body(articles: list[EnrichedArticleV1], alias: str) -> list[dict[str, Any]]:
    return index_body(documents(articles), alias)


def index_body(docs: list[dict[str, Any]], alias: str) -> list[dict[str, Any]]:
    body: list[dict[str, Any]] = []
    for doc in docs:
        body.append({"index": {"_index": alias, "_id": doc["article_id"]}})
        body.append(doc)
    return body


def ids_of(docs: Iterable[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """The story ids and entity ids a batch of documents carries."""
    stories: list[str] = []
    entities: list[str] = []
    for doc in docs:
        if isinstance(doc.get("story_id"), str):
            stories.append(doc["story_id"])
        entities.extend(e for e in doc.get("entity_ids") or [] if isinstance(e, str))
    return stories, entities


def redirect(doc: dict[str, Any], found: Redirected) -> dict[str, Any]:
    """Apply the redirects to one document in place; the fields that changed."""
    changed: dict[str, Any] = {}
    story = found.get(("story", doc.get("story_id") or ""))
    if story is not None:
        doc["story_id"] = changed["story_id"] = story.new_id
    for old in list(doc.get("entity_ids") or []):
        target = found.get(("entity", old))
        update = entity_update(doc, old, target.new_id, target.name) if target else None
        if update is not None:
            doc.update(update)
            changed.update(update)
    return changed


def notices(
    article: EnrichedArticleV1, doc: dict[str, Any], index: str, result: str, now: datetime
) -> tuple[IndexedArticleV1, IndexedArticleV2]:
    """The v1 and v2 notices of one indexed article (v2 with its ids as written)."""
    created: Any = "created" if result == "created" else "updated"
    v1 = IndexedArticleV1(
        article_id=article.article_id,
        index=index,
        result=created,
        title=article.title,
        source=article.source,
        published_at=article.published_at,
        received_at=article.received_at,
        indexed_at=now,
    )
    v2 = IndexedArticleV2(
        article_id=article.article_id,
        index=index,
        result=created,
        title=article.title,
        url=article.url,
        source=article.source,
        language=article.language,
        published_at=article.published_at,
        story_id=doc.get("story_id"),
        duplicate_of=doc.get("duplicate_of"),
        copies=doc.get("copies") or 1,
        entity_ids=list(doc.get("entity_ids") or []),
        received_at=article.received_at,
        indexed_at=now,
    )
    return v1, v2


def results_from_bulk(
    articles: list[EnrichedArticleV1],
    response: dict[str, Any],
    indexed_topic: str,
    docs: list[dict[str, Any]] | None = None,
    indexed_v2_topic: str | None = None,
) -> list[Result]:
    """Per-item outcome of a bulk response. Raises TemporaryFailure if any
    item failed for a reason that may pass on retry (429, 5xx)."""
    results: list[Result] = []
    now = datetime.now(UTC)
    written = docs if docs is not None else documents(articles)
    for article, doc, entry in zip(articles, written, response["items"], strict=True):
        outcome = entry["index"]
        status = int(outcome.get("status", 500))
        if status == 429 or status >= 500:
            raise TemporaryFailure(f"Elasticsearch answered {status} for {article.article_id}")
        if status >= 400:
            error = outcome.get("error", {})
            results.append(
                Result(
                    article.article_id,
                    rejected=(
                        f"Elasticsearch refused the document ({status}): "
                        f"{error.get('type')}: {error.get('reason')}"
                    ),
                    error_type="IndexingRefused",
                )
            )
            continue
        v1, v2 = notices(article, doc, outcome["_index"], outcome.get("result", ""), now)
        outputs = [Output(article.article_id, v1, topic=indexed_topic)]
        if indexed_v2_topic is not None:
            outputs.append(Output(article.article_id, v2, topic=indexed_v2_topic))
        metrics.ARTICLE_AGE_SECONDS.labels("indexer").observe(
            max(0.0, (now - article.received_at).total_seconds())
        )
        results.append(
            Result(article.article_id, outputs=outputs, status_detail={"index": outcome["_index"]})
        )
    return results


def _alias_missing(entry: dict[str, Any]) -> bool:
    error = entry.get("index", {}).get("error") or {}
    return bool(error.get("type") in ("index_not_found_exception", "aliases_not_found_exception"))


def _temporary(exc: Exception) -> TemporaryFailure | None:
    """The temporary failure an Elasticsearch error is, or None (a real error)."""
    if isinstance(exc, (ESConnectionError, ConnectionTimeout)):
        return TemporaryFailure(f"Elasticsearch unreachable: {exc}")
    if isinstance(exc, ApiError) and (exc.meta.status == 429 or exc.meta.status >= 500):
        return TemporaryFailure(f"Elasticsearch {exc.meta.status}: {exc}")
    return None


class BulkIndexer:
    """Writes batches to the index alias; recreates the index if it vanished."""

    def __init__(self, settings: IndexerSettings, redis: Redis | None = None) -> None:
        self.namespace = settings.namespace
        self.es = AsyncElasticsearch(settings.es_url, request_timeout=30)
        self.alias = alias_name(settings.namespace)
        self.indexed_topic = INDEXED.full_name(settings.namespace)
        self.indexed_v2_topic = INDEXED_V2.full_name(settings.namespace)
        self.index_ready = False
        self.replicas = settings.index_replicas
        client = redis or Redis.from_url(
            settings.redis_dsn, socket_timeout=2.0, socket_connect_timeout=2.0
        )
        self.redirects = Redirects(client, settings.namespace)
        self._redis_retry_at = 0.0

    async def _lookup(self, docs: list[dict[str, Any]]) -> Redirected:
        if time.monotonic() < self._redis_retry_at:
            return {}  # Redis failed a moment ago: do not make every batch wait for it
        stories, entities = ids_of(docs)
        try:
            return await self.redirects.lookup(stories, entities)
        except (RedisError, OSError) as exc:
            self._redis_retry_at = time.monotonic() + _REDIS_RETRY_S
            log.warning(
                "redirect map unavailable, indexing ids as they came", extra={"error": repr(exc)}
            )
            return {}

    async def __call__(self, items: list[Item[Any]]) -> list[Result]:
        articles: list[EnrichedArticleV1] = [item.value for item in items]
        docs = documents(articles)
        found = await self._lookup(docs)
        for doc in docs:
            redirect(doc, found)
        try:
            response = await self._write(docs)
            if any(_alias_missing(entry) for entry in response["items"]):
                self.index_ready = False  # deleted under us: recreate it, then retry the batch
                raise TemporaryFailure(f"alias {self.alias} is missing; recreating the index")
            fixes = await self._late_redirects(docs, response)
        except (ESConnectionError, ConnectionTimeout, ApiError) as exc:
            temporary = _temporary(exc)
            if temporary is None:
                raise
            raise temporary from exc
        if fixes:
            log.info("relabelled in-flight articles after writing", extra={"count": fixes})
        return results_from_bulk(
            articles, response, self.indexed_topic, docs, self.indexed_v2_topic
        )

    async def _write(self, docs: list[dict[str, Any]]) -> dict[str, Any]:
        if not self.index_ready:
            await ensure_index(self.es, self.namespace, self.replicas)
            self.index_ready = True
        # require_alias: never let Elasticsearch auto-create a plain
        # `articles` index with guessed mappings if the alias is gone.
        response = await self.es.bulk(
            operations=index_body(docs, self.alias), refresh=False, require_alias=True
        )
        return dict(response.body)

    async def _late_redirects(self, docs: list[dict[str, Any]], response: dict[str, Any]) -> int:
        """Redirects recorded while the batch was being written: the documents they
        touch are updated at once (partial docs, guarded by the version just
        written), and ``docs`` too, for the notices."""
        found = await self._lookup(docs)
        if not found:
            return 0
        written = [
            Versioned(o["_index"], doc["article_id"], o["_seq_no"], o["_primary_term"], doc)
            for doc, o in zip(docs, (entry["index"] for entry in response["items"]), strict=True)
            if int(o.get("status", 500)) < 300
        ]
        by_id = {doc["article_id"]: doc for doc in docs}

        def partial(doc: Versioned) -> dict[str, Any] | None:
            return redirect(doc.source, found) or None  # in place: ``docs`` follow

        applied = await update_versioned(self.es, written, partial)
        for doc, _ in applied:
            local = by_id.get(doc.id)
            if local is not None and local is not doc.source:  # read again after a conflict
                local.update(doc.source)
        return len(applied)


def make_handler(settings: IndexerSettings) -> BatchHandler:
    return BulkIndexer(settings)


INDEXER = StageDefinition(
    name="indexer",
    input=GROUPED,
    output=INDEXED,
    done_status="indexed",
    settings=IndexerSettings,
    make_handler=make_handler,
    extra_outputs=(INDEXED_V2,),
)
