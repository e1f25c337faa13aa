"""Indexer stage: ``articles.enriched`` -> Elasticsearch (+ ``articles.indexed``).

Documents are written in bulk with ``_id = article_id``, so re-delivery
overwrites instead of duplicating. Elasticsearch being down, overloaded (429)
or failing (5xx) is a temporary failure: the batch is retried with backoff
and nothing is acknowledged meanwhile. A document Elasticsearch refuses for
itself (a 4xx on that item, e.g. a mapping conflict) is bad data for the DLQ.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from elastic_transport import ConnectionError as ESConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, AsyncElasticsearch

from services.indexer.settings import IndexerSettings
from shared.contracts.index import alias_name, ensure_index, to_document
from shared.contracts.models import EnrichedArticleV1, IndexedArticleV1
from shared.contracts.topics import ENRICHED, INDEXED
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


def bulk_body(articles: list[EnrichedArticleV1], alias: str) -> list[dict[str, Any]]:
    body: list[dict[str, Any]] = []
    for article in articles:
        body.append({"index": {"_index": alias, "_id": article.article_id}})
        doc = to_document(article)
        doc["indexed_at"] = datetime.now(UTC).isoformat()
        body.append(doc)
    return body


def results_from_bulk(
    articles: list[EnrichedArticleV1], response: dict[str, Any], indexed_topic: str
) -> list[Result]:
    """Per-item outcome of a bulk response. Raises TemporaryFailure if any
    item failed for a reason that may pass on retry (429, 5xx)."""
    results: list[Result] = []
    now = datetime.now(UTC)
    for article, entry in zip(articles, response["items"], strict=True):
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
        notice = IndexedArticleV1(
            article_id=article.article_id,
            index=outcome["_index"],
            result="created" if outcome.get("result") == "created" else "updated",
            title=article.title,
            source=article.source,
            published_at=article.published_at,
            received_at=article.received_at,
            indexed_at=now,
        )
        metrics.ARTICLE_AGE_SECONDS.labels("indexer").observe(
            max(0.0, (now - article.received_at).total_seconds())
        )
        results.append(
            Result(
                article.article_id,
                outputs=[Output(article.article_id, notice, topic=indexed_topic)],
                status_detail={"index": outcome["_index"]},
            )
        )
    return results


def _alias_missing(entry: dict[str, Any]) -> bool:
    error = entry.get("index", {}).get("error") or {}
    return bool(error.get("type") in ("index_not_found_exception", "aliases_not_found_exception"))


class BulkIndexer:
    """Writes batches to the index alias; recreates the index if it vanished."""

    def __init__(self, settings: IndexerSettings) -> None:
        self.namespace = settings.namespace
        self.es = AsyncElasticsearch(settings.es_url, request_timeout=30)
        self.alias = alias_name(settings.namespace)
        self.indexed_topic = INDEXED.full_name(settings.namespace)
        self.index_ready = False
        self.replicas = settings.index_replicas

    async def __call__(self, items: list[Item[Any]]) -> list[Result]:
        articles: list[EnrichedArticleV1] = [item.value for item in items]
        try:
            if not self.index_ready:
                await ensure_index(self.es, self.namespace, self.replicas)
                self.index_ready = True
            # require_alias: never let Elasticsearch auto-create a plain
            # `articles` index with guessed mappings if the alias is gone.
            response = await self.es.bulk(
                operations=bulk_body(articles, self.alias), refresh=False, require_alias=True
            )
        except (ESConnectionError, ConnectionTimeout) as exc:
            raise TemporaryFailure(f"Elasticsearch unreachable: {exc}") from exc
        except ApiError as exc:
            if exc.meta.status == 429 or exc.meta.status >= 500:
                raise TemporaryFailure(f"Elasticsearch {exc.meta.status}: {exc}") from exc
            raise
        if any(_alias_missing(entry) for entry in response.body["items"]):
            self.index_ready = False  # deleted under us: recreate it, then retry the batch
            raise TemporaryFailure(f"alias {self.alias} is missing; recreating the index")
        return results_from_bulk(articles, response.body, self.indexed_topic)


def make_handler(settings: IndexerSettings) -> BatchHandler:
    return BulkIndexer(settings)


INDEXER = StageDefinition(
    name="indexer",
    input=ENRICHED,
    output=INDEXED,
    done_status="indexed",
    settings=IndexerSettings,
    make_handler=make_handler,
)
