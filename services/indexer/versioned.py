"""Partial updates that never overwrite a change they did not see.

Both writers of partial documents (the relabel stage, and the indexer when a
redirect appears while its batch is being written) compute the new values from
a copy of the document they read: the entity list, say, with one id replaced.
Two of them at once on one document would each write their list, and the last
would undo the other's merge. So every update carries the document's
``_seq_no`` and ``_primary_term`` as read (``if_seq_no``/``if_primary_term``);
Elasticsearch refuses it with a 409 if the document changed since, and the
document is then read again and its update computed again from the fresh copy,
a few times at most (:data:`MAX_ATTEMPTS`); past that the batch is retried
later as a temporary failure.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from elasticsearch import AsyncElasticsearch

from shared.runtime.stage import TemporaryFailure

__all__ = ["MAX_ATTEMPTS", "Versioned", "update_versioned", "versioned_hit"]

log = logging.getLogger(__name__)

# Rounds of "read again, compute again" for documents that keep changing; each
# conflict means another writer got through, so a few rounds settle any real race.
MAX_ATTEMPTS: Final = 5

Partial = Callable[["Versioned"], dict[str, Any] | None]


@dataclass
class Versioned:
    """A document as read: where it is, its version, and (part of) its source."""

    index: str
    id: str
    seq_no: int
    primary_term: int
    source: dict[str, Any]


def versioned_hit(hit: dict[str, Any]) -> Versioned:
    """A search hit or ``mget`` entry read with ``seq_no_primary_term``."""
    source = hit.get("_source") or {}
    return Versioned(hit["_index"], hit["_id"], hit["_seq_no"], hit["_primary_term"], source)


async def update_versioned(
    es: AsyncElasticsearch,
    docs: Sequence[Versioned],
    partial: Partial,
    source_includes: list[str] | None = None,
) -> list[tuple[Versioned, dict[str, Any]]]:
    """Apply ``partial(doc)`` (None: nothing to do) to each document, guarded by its
    version; a document changed meanwhile is read again (``source_includes`` of it)
    and retried. Returns the updates applied, each with the document version they
    were computed from. 429/5xx, or conflicts past :data:`MAX_ATTEMPTS`, raise
    :class:`TemporaryFailure`; a deleted document is skipped; another refusal is
    logged and skipped (the same update would be refused again)."""
    applied: list[tuple[Versioned, dict[str, Any]]] = []
    pending = list(docs)
    for _ in range(MAX_ATTEMPTS):
        planned = [(doc, p) for doc in pending if (p := partial(doc)) is not None]
        if not planned:
            return applied
        response = await es.bulk(operations=_body(planned), refresh=False)
        conflicts: list[Versioned] = []
        for (doc, update), entry in zip(planned, response.body["items"], strict=True):
            status = _outcome(entry["update"])
            if status == 409:
                conflicts.append(doc)
            elif status < 300:
                applied.append((doc, update))
        if not conflicts:
            return applied
        pending = await _read_again(es, conflicts, source_includes)
    raise TemporaryFailure(f"{len(pending)} documents kept changing under a partial update")


def _body(planned: list[tuple[Versioned, dict[str, Any]]]) -> list[dict[str, Any]]:
    body: list[dict[str, Any]] = []
    for doc, update in planned:
        guard = {"if_seq_no": doc.seq_no, "if_primary_term": doc.primary_term}
        body.append({"update": {"_index": doc.index, "_id": doc.id, **guard}})
        body.append({"doc": update})
    return body


def _outcome(outcome: dict[str, Any]) -> int:
    """The status of one update; raises on a temporary one, logs a refusal."""
    status = int(outcome.get("status", 500))
    if status == 429 or status >= 500:
        raise TemporaryFailure(f"Elasticsearch answered {status} to a partial update")
    if 400 <= status < 500 and status not in (404, 409):
        # Not retried: the same partial document would be refused again.
        error = outcome.get("error")
        log.warning("partial update refused", extra={"id": outcome.get("_id"), "error": error})
    return status


async def _read_again(
    es: AsyncElasticsearch, docs: list[Versioned], source_includes: list[str] | None
) -> list[Versioned]:
    """The documents as they are now (those deleted meanwhile left out)."""
    kwargs: dict[str, Any] = {"source_includes": source_includes} if source_includes else {}
    found = await es.mget(docs=[{"_index": d.index, "_id": d.id} for d in docs], **kwargs)
    return [versioned_hit(entry) for entry in found["docs"] if entry.get("found")]
