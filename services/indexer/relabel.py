"""Relabel stage: ``identities.merged`` -> Elasticsearch (partial updates).

A merge says every article labelled ``old_id`` now belongs to ``new_id`` (a story
bridged to another, an entity found under a second name). Articles indexed
before the merge carry ``old_id``; this stage finds them (a ``term`` search on
``story_id`` or ``entity_ids``, paged with ``search_after``) and rewrites them
with ``_bulk`` ``update`` operations holding partial documents: this
Elasticsearch build has neither scripting nor ``_update_by_query``, so the new
values are computed here from ``_source`` (:mod:`services.indexer.relabeling`).

Order of the steps, and why:

1. the redirect ``old -> new`` is recorded first (:mod:`services.indexer.redirects`),
   so that articles still in flight to the indexer are relabelled there;
2. the index is refreshed, so the search sees every document written before;
3. the documents are found and rewritten, page by page, each update guarded by
   the version it was computed from (:mod:`services.indexer.versioned`): the
   indexer may update the same document at the same moment (a late redirect),
   and neither may undo the other's change.

Merges apply one at a time in the order they were made (the topic has one
partition, and one worker reads it). Everything is idempotent: a document that
no longer carries ``old_id`` is not found again, so a merge applied twice (a
retried batch, a replay) changes nothing. Elasticsearch or Redis down, 429 or
5xx: a temporary failure, the batch is retried; an invalid merge record goes to
``identities.merged.dlq`` (the runtime checks the contract).
"""

from __future__ import annotations

import logging
from typing import Any

from elastic_transport import ConnectionError as ESConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, AsyncElasticsearch, NotFoundError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.indexer.redirects import Redirects
from services.indexer.relabeling import entity_update, story_update
from services.indexer.settings import RelabelSettings
from services.indexer.versioned import Versioned, update_versioned, versioned_hit
from shared.contracts.index import alias_name
from shared.contracts.models import MergeV1
from shared.contracts.topics import MERGED
from shared.runtime.stage import BatchHandler, Item, Result, StageDefinition, TemporaryFailure

log = logging.getLogger(__name__)

# What each kind of merge reads and rewrites.
_FIELD = {"story": "story_id", "entity": "entity_ids"}
_SOURCE = {"story": ["story_id"], "entity": ["entities", "entity_ids"]}


def partial_update(merge: MergeV1, source: dict[str, Any]) -> dict[str, Any] | None:
    """The partial document a merge makes of one stored document (None: unchanged)."""
    if merge.kind == "story":
        return story_update(source, merge.old_id, merge.new_id)
    return entity_update(source, merge.old_id, merge.new_id, merge.name)


class Relabeller:
    """Applies merges to the indexed articles, in order."""

    def __init__(self, settings: RelabelSettings, redis: Redis | None = None) -> None:
        self.es = AsyncElasticsearch(settings.es_url, request_timeout=30)
        self.alias = alias_name(settings.namespace)
        self.page_size = settings.page_size
        client = redis or Redis.from_url(
            settings.redis_dsn, socket_timeout=5.0, socket_connect_timeout=5.0
        )
        self.redirects = Redirects(client, settings.namespace)

    async def __call__(self, items: list[Item[Any]]) -> list[Result]:
        results = []
        for item in items:
            merge: MergeV1 = item.value
            try:
                merge = await self._final(merge)
                await self.redirects.record(merge.kind, merge.old_id, merge.new_id, merge.name)
                updated = await self.apply(merge)
            except (RedisError, OSError) as exc:
                raise TemporaryFailure(f"redirect map in Redis: {exc!r}") from exc
            except (ESConnectionError, ConnectionTimeout) as exc:
                raise TemporaryFailure(f"Elasticsearch unreachable: {exc}") from exc
            except ApiError as exc:
                if exc.meta.status == 429 or exc.meta.status >= 500:
                    raise TemporaryFailure(f"Elasticsearch {exc.meta.status}: {exc}") from exc
                raise
            log.info(
                "merge applied",
                extra={
                    "kind": merge.kind,
                    "old_id": merge.old_id,
                    "new_id": merge.new_id,
                    "documents": updated,
                },
            )
            results.append(Result(None, status_detail={"documents": updated}))
        return results

    async def _final(self, merge: MergeV1) -> MergeV1:
        """The merge aimed at the survivor as known now. Merges made by different
        workers can arrive out of order (B -> C before A -> B): A's articles must
        go to C, where B's already are, not to B."""
        stories, entities = ([merge.new_id], []) if merge.kind == "story" else ([], [merge.new_id])
        target = (await self.redirects.lookup(stories, entities)).get((merge.kind, merge.new_id))
        if target is None or target.new_id == merge.old_id:
            return merge
        return merge.model_copy(update={"new_id": target.new_id, "name": target.name or merge.name})

    async def apply(self, merge: MergeV1) -> int:
        """Rewrite every indexed document labelled ``merge.old_id``; how many changed."""
        try:
            await self.es.indices.refresh(index=self.alias)
        except NotFoundError:
            return 0  # no index yet: nothing was written with the old id
        query = {"term": {_FIELD[merge.kind]: merge.old_id}}
        after: list[Any] | None = None
        updated = 0
        while True:
            kwargs: dict[str, Any] = {"search_after": after} if after else {}
            found = await self.es.search(
                index=self.alias,
                query=query,
                sort=[{"article_id": "asc"}],
                size=self.page_size,
                source_includes=_SOURCE[merge.kind],
                seq_no_primary_term=True,
                **kwargs,
            )
            hits = found["hits"]["hits"]
            if not hits:
                return updated
            updated += await self._update(merge, hits)
            after = hits[-1]["sort"]

    async def _update(self, merge: MergeV1, hits: list[dict[str, Any]]) -> int:
        def partial(doc: Versioned) -> dict[str, Any] | None:
            return partial_update(merge, doc.source)

        docs = [versioned_hit(hit) for hit in hits]
        applied = await update_versioned(self.es, docs, partial, _SOURCE[merge.kind])
        return len(applied)


def make_handler(settings: RelabelSettings) -> BatchHandler:
    return Relabeller(settings)


RELABEL = StageDefinition(
    name="relabel",
    input=MERGED,
    output=None,
    done_status=None,
    settings=RelabelSettings,
    make_handler=make_handler,
)
