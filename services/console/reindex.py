"""``newsflow reindex``: build the next version of the articles index
(``articles-v{N+1}``, with the current template: new mappings, analysers)
from the current one, then point the ``articles`` alias at it in one atomic
``update_aliases`` call. Search goes to the alias, so it answers throughout,
always from one complete index.

The distribution we run has no ``_reindex`` (its reindex module is missing),
so the copy is done from here: a point-in-time snapshot of the old index read
with ``search_after`` and written with ``_bulk``, same ``_id`` and ``_source``.

The indexer keeps writing (to the alias, so to the old index until the swap)
while this runs. Nothing written meanwhile is lost:

1. the snapshot copy takes what existed when it started;
2. catch-up passes copy again what the old index received since (by the
   documents' ``indexed_at``, with a margin for bulk requests in flight),
   until a pass finds nothing new;
3. the alias swaps (remove old + add new, one call): new writes go to the
   new index from here on;
4. after a short settle (requests already on their way to the old index), a
   last pass copies what the old index got since the previous pass, but only
   where the new index has no newer version of the document: it writes with
   ``op_type=create`` or ``if_seq_no``/``if_primary_term``, so a document the
   indexer wrote to the new index meanwhile always wins.

The old index is kept (roll back by pointing the alias at it again) unless
``--delete-old``.

A template change rolls out this way: the new index is created from the
current template (new mappings and analysers), and every copied document is
put in the current shape on the way (``upgrade_document``: fields derived at
index time, such as the per-language copies of title and body, are computed
again; fields the mapping dropped are left out), so the new index holds what
the indexer would write today.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.contracts.index import (
    alias_name,
    index_name,
    index_template,
    index_version,
    template_name,
    upgrade_document,
)

# How far before a pass's start the next pass looks again: covers the clock of
# the indexer that stamped `indexed_at` and its bulk requests still in flight
# (they time out after 30 s).
MARGIN = timedelta(seconds=60)
MAX_CATCH_UP_PASSES = 5
PIT_KEEP_ALIVE = "2m"


class ReindexError(Exception):
    """The reindex cannot proceed; nothing visible to search has changed."""


@dataclass
class ReindexReport:
    old: str
    new: str
    copied: int = 0
    caught_up: int = 0
    settled: int = 0
    old_count: int = 0
    new_count: int = 0
    seconds: float = 0.0

    def render(self) -> str:
        return (
            f"{self.new} built from {self.old} in {self.seconds:.1f}s: {self.copied} copied, "
            f"{self.caught_up} caught up before the swap, {self.settled} after; "
            f"alias now -> {self.new} ({self.new_count} docs; {self.old} has "
            f"{self.old_count})"
        )


# ---------------------------------------------------------------- pure
def next_version(namespace: str, existing: Iterable[str]) -> int:
    """One more than the highest version of the namespace's indices, so that
    a leftover of an interrupted reindex is never reused."""
    versions = [v for v in (index_version(namespace, n) for n in existing) if v is not None]
    return max(versions, default=0) + 1


def swap_actions(alias: str, old: str, new: str) -> list[dict[str, Any]]:
    """The one `update_aliases` call that moves reads and writes at once."""
    return [
        {"remove": {"index": old, "alias": alias}},
        {"add": {"index": new, "alias": alias, "is_write_index": True}},
    ]


def _stamp(doc: dict[str, Any] | None) -> datetime | None:
    raw = (doc or {}).get("indexed_at")
    if not raw:
        return None
    moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def settle_operation(
    hit: dict[str, Any], current: dict[str, Any] | None, new: str
) -> list[dict[str, Any]]:
    """Bulk lines for one document of the final pass, or none: copy it only
    where the new index has no newer version, guarded against a concurrent
    write by the indexer (create / compare-and-set on seq_no)."""
    if current is None or not current.get("found"):
        return [{"create": {"_index": new, "_id": hit["_id"]}}, upgrade_document(hit["_source"])]
    old_stamp, new_stamp = _stamp(hit["_source"]), _stamp(current.get("_source"))
    if old_stamp is None or (new_stamp is not None and new_stamp >= old_stamp):
        return []
    return [
        {
            "index": {
                "_index": new,
                "_id": hit["_id"],
                "if_seq_no": current["_seq_no"],
                "if_primary_term": current["_primary_term"],
            }
        },
        upgrade_document(hit["_source"]),
    ]


# ---------------------------------------------------------------- I/O
def _pages(es: Any, index: str, query: dict[str, Any], size: int) -> Iterator[list[dict[str, Any]]]:
    """Every document of `index` matching `query`, page by page, from a
    point-in-time snapshot (so concurrent writes do not shift the pages)."""
    pit = es.open_point_in_time(index=index, keep_alive=PIT_KEEP_ALIVE)["id"]
    after: list[Any] | None = None
    try:
        while True:
            kwargs: dict[str, Any] = {"search_after": after} if after else {}
            found = es.search(
                pit={"id": pit, "keep_alive": PIT_KEEP_ALIVE},
                query=query,
                sort=["_shard_doc"],
                size=size,
                track_total_hits=False,
                **kwargs,
            )
            pit = found["pit_id"]
            hits = found["hits"]["hits"]
            if not hits:
                return
            yield hits
            after = hits[-1]["sort"]
    finally:
        es.close_point_in_time(id=pit)


def _bulk(es: Any, operations: list[dict[str, Any]], tolerate_conflicts: bool) -> int:
    """Send bulk lines; the number of documents written. Any refusal fails the
    reindex, except version conflicts where asked (the indexer's newer write won)."""
    if not operations:
        return 0
    response = es.bulk(operations=operations, refresh=False)
    written = 0
    for item in response["items"]:
        outcome = next(iter(item.values()))
        status = int(outcome.get("status", 500))
        if status < 300:
            written += 1
        elif not (status == 409 and tolerate_conflicts):
            raise ReindexError(
                f"Elasticsearch refused {outcome.get('_id')}: {outcome.get('error')}"
            )
    return written


def _copy(es: Any, old: str, new: str, query: dict[str, Any], size: int) -> int:
    copied = 0
    for hits in _pages(es, old, query, size):
        ops: list[dict[str, Any]] = []
        for hit in hits:
            ops += [{"index": {"_index": new, "_id": hit["_id"]}}, upgrade_document(hit["_source"])]
        copied += _bulk(es, ops, tolerate_conflicts=False)
    return copied


def _since(moment: datetime) -> dict[str, Any]:
    return {"range": {"indexed_at": {"gte": (moment - MARGIN).isoformat()}}}


def _settle(es: Any, old: str, new: str, since: datetime, size: int) -> int:
    written = 0
    for hits in _pages(es, old, _since(since), size):
        current = es.mget(index=new, ids=[h["_id"] for h in hits], source_includes=["indexed_at"])[
            "docs"
        ]
        by_id = {doc["_id"]: doc for doc in current}
        ops: list[dict[str, Any]] = []
        for hit in hits:
            ops += settle_operation(hit, by_id.get(hit["_id"]), new)
        written += _bulk(es, ops, tolerate_conflicts=True)
    return written


def reindex(
    es: Any,
    namespace: str,
    page_size: int = 1000,
    settle_s: float = 2.0,
    delete_old: bool = False,
    replicas: int = 0,
    say: Callable[[str], None] = print,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> ReindexReport:
    """Build articles-v{N+1}, swap the alias, return what was done."""
    from elasticsearch import NotFoundError

    started = time.monotonic()
    alias = alias_name(namespace)
    try:
        old = next(iter(es.indices.get_alias(name=alias).body))
    except NotFoundError as exc:
        raise ReindexError(f"no alias {alias}: nothing indexed in this namespace yet") from exc
    existing = es.indices.get(index=f"{namespace}articles-v*").body
    new = index_name(namespace, next_version(namespace, existing))
    report = ReindexReport(old, new)

    template = index_template(namespace, replicas)
    es.indices.put_index_template(name=template_name(namespace), **template)
    # No refreshes while bulk-loading; the template's interval comes back before the swap.
    es.indices.create(index=new, settings={"index": {"refresh_interval": "-1"}})
    say(f"created {new} (from template {template_name(namespace)}); copying {old}")

    mark = clock()
    report.copied = _copy(es, old, new, {"match_all": {}}, page_size)
    say(f"copied {report.copied} documents; catching up with writes made meanwhile")
    for _ in range(MAX_CATCH_UP_PASSES):
        pass_start = clock()
        es.indices.refresh(index=old)
        caught = _copy(es, old, new, _since(mark), page_size)
        report.caught_up += caught
        mark = pass_start
        if caught == 0:
            break

    interval = template["template"]["settings"].get("refresh_interval", "1s")
    es.indices.put_settings(index=new, settings={"index": {"refresh_interval": interval}})
    es.indices.refresh(index=new)
    es.indices.update_aliases(actions=swap_actions(alias, old, new))
    say(f"alias {alias} -> {new}")

    time.sleep(settle_s)  # bulk requests already on their way to the old index
    es.indices.refresh(index=old)
    report.settled = _settle(es, old, new, mark, page_size)
    es.indices.refresh(index=new)
    report.old_count = int(es.count(index=old)["count"])
    report.new_count = int(es.count(index=new)["count"])
    if delete_old:
        es.indices.delete(index=old)
        say(f"deleted {old}")
    report.seconds = time.monotonic() - started
    return report
