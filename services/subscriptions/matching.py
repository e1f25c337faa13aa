"""The matcher's questions to Elasticsearch: the saved query of a
subscription, the new articles' keys, the analysed forms of query words,
whether new documents are visible yet, and the final verdicts.

The query of a subscription is built by the search's own builder
(``services.search.query``): the words as ``text_query``, the date range as
``date_clause``, each facet as ``facet_clauses``, all in filter context (no
score is needed to decide a match). ``_msearch`` runs one search per
candidate subscription restricted to its candidate articles (``ids``).
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import AsyncElasticsearch, NotFoundError

from services.search.query import date_clause, facet_clauses, text_query
from services.subscriptions.models import SearchFields
from services.subscriptions.presearch import Atom
from shared.contracts.index import alias_name

log = logging.getLogger(__name__)

# What a match record and the presearcher need of a document.
SOURCE_FIELDS = (
    "title",
    "url",
    "source",
    "language",
    "published_at",
    "people",
    "organisations",
    "places",
    "groups",
    "events",
)
# Elasticsearch refuses an _analyze of more than 10,000 tokens (index.analyze.max_token_count).
_ANALYZE_CHUNK = 1000
_MSEARCH_CHUNK = 500


def subscription_query(sub: SearchFields) -> dict[str, Any]:
    """The query deciding which articles the saved search lists, as
    /v1/search would: words, date range and facet filters (the search puts
    the facets in its post_filter, which narrows the hits the same way)."""
    request = sub.search_request()
    clauses: list[dict[str, Any]] = []
    if request.q:
        clauses.append(text_query(request.q))
    if (dates := date_clause(request)) is not None:
        clauses.append(dates)
    clauses.extend(facet_clauses(request).values())
    if (entity := sub.entity_filter()) is not None:
        clauses.append({"term": {entity[0]: entity[1]}})
    return {"bool": {"filter": clauses}} if clauses else {"match_all": {}}


def restricted(query: dict[str, Any], ids: Sequence[str]) -> dict[str, Any]:
    """A search body running `query` on these documents only."""
    return {
        "query": {"bool": {"filter": [{"ids": {"values": list(ids)}}, query]}},
        "size": len(ids),
        "_source": False,
        "track_total_hits": False,
    }


def _utf16_len(text: str) -> int:
    # Elasticsearch's offsets count UTF-16 code units (Java strings).
    return len(text.encode("utf-16-le")) // 2


def forms_by_text(texts: Sequence[str], tokens: Iterable[dict[str, Any]]) -> list[set[str]]:
    """Split the tokens of one _analyze over an array of texts back into
    each text's tokens: each value starts one offset after the previous one
    ends (the offset gap of text fields)."""
    starts: list[int] = []
    position = 0
    for text in texts:
        starts.append(position)
        position += _utf16_len(text) + 1
    found: list[set[str]] = [set() for _ in texts]
    for token in tokens:
        k = bisect.bisect_right(starts, int(token["start_offset"])) - 1
        if 0 <= k < len(texts):
            found[k].add(str(token["token"]))
    return found


@dataclass
class Document:
    """What the matcher knows of a new article: its source fields and the
    terms indexed in the fields the subscriptions' queries search."""

    article_id: str
    source: dict[str, Any]
    terms: dict[str, set[str]] = field(default_factory=dict)


class ArticleIndex:
    """The articles alias of one namespace, as the matcher uses it."""

    def __init__(self, es: AsyncElasticsearch, namespace: str) -> None:
        self.es = es
        self.alias = alias_name(namespace)
        self._forms: dict[Atom, frozenset[str]] = {}
        self._forms_of: str | None = None

    async def target(self) -> str | None:
        """The concrete index behind the alias (None before the first article)."""
        try:
            found = await self.es.indices.get_alias(name=self.alias)
        except NotFoundError:
            return None
        return sorted(found.body)[-1]

    async def forms(self, atoms: Iterable[Atom]) -> dict[Atom, frozenset[str]]:
        """Each (field, text)'s analysed forms, by the field's own analysis.
        Cached per concrete index: a reindex (new analysis) starts afresh."""
        wanted = set(atoms)
        target = await self.target()
        if target != self._forms_of:
            self._forms, self._forms_of = {}, target
        by_field: dict[str, list[str]] = {}
        for name, text in sorted(wanted - self._forms.keys()):
            by_field.setdefault(name, []).append(text)
        if target is not None:
            for field_name, texts in by_field.items():
                for start in range(0, len(texts), _ANALYZE_CHUNK):
                    chunk = texts[start : start + _ANALYZE_CHUNK]
                    answer = await self.es.indices.analyze(
                        index=target, field=field_name, text=chunk
                    )
                    for text, found in zip(
                        chunk, forms_by_text(chunk, answer["tokens"]), strict=True
                    ):
                        self._forms[(field_name, text)] = frozenset(found)
        return {atom: self._forms.get(atom, frozenset()) for atom in wanted}

    async def documents(self, ids: Sequence[str], fields: Sequence[str]) -> dict[str, Document]:
        """The new articles and the terms indexed in `fields`, read in real
        time (a document is readable by id at once, searchable only after
        the next refresh)."""
        answer = await self.es.mget(
            index=self.alias, ids=list(ids), source_includes=list(SOURCE_FIELDS), realtime=True
        )
        docs = {
            d["_id"]: Document(d["_id"], d.get("_source") or {})
            for d in answer["docs"]
            if d.get("found")
        }
        if fields and docs:
            vectors = await self.es.mtermvectors(
                index=self.alias,
                ids=list(docs),
                fields=list(fields),
                term_statistics=False,
                field_statistics=False,
                positions=False,
                offsets=False,
                payloads=False,
                realtime=True,
            )
            for entry in vectors["docs"]:
                doc = docs.get(entry.get("_id", ""))
                for name, vector in (entry.get("term_vectors") or {}).items():
                    if doc is not None:
                        doc.terms.setdefault(name, set()).update(vector.get("terms", {}))
        return docs

    async def wait_visible(
        self, ids: Sequence[str], *, poll_s: float, timeout_s: float, force: bool
    ) -> float:
        """Block until searches see these documents (written with
        refresh=false, they appear at the next refresh, within a second);
        past `timeout_s`, or at once when `force`, refresh the index.
        Returns the seconds waited."""
        started = time.monotonic()
        query = {"ids": {"values": list(ids)}}
        while True:
            counted = await self.es.count(index=self.alias, query=query)
            if int(counted["count"]) >= len(ids):
                return time.monotonic() - started
            if force or time.monotonic() - started >= timeout_s:
                await self.es.indices.refresh(index=self.alias)
                return time.monotonic() - started
            await asyncio.sleep(poll_s)

    async def verify(
        self, candidates: Mapping[str, Sequence[str]], queries: Mapping[str, dict[str, Any]]
    ) -> list[tuple[str, str]]:
        """(subscription, article) pairs Elasticsearch confirms. Raises on a
        failing search only when it may pass on retry (429, 5xx); a search
        Elasticsearch refuses for itself is logged and counts as no match."""
        order = sorted(candidates)
        matched: list[tuple[str, str]] = []
        for start in range(0, len(order), _MSEARCH_CHUNK):
            chunk = order[start : start + _MSEARCH_CHUNK]
            searches: list[dict[str, Any]] = []
            for sid in chunk:
                searches += [{}, restricted(queries[sid], candidates[sid])]
            answer = await self.es.msearch(index=self.alias, searches=searches)
            for sid, response in zip(chunk, answer["responses"], strict=True):
                matched.extend((sid, hit["_id"]) for hit in _hits(sid, response))
        return matched


class SearchUnavailable(Exception):
    """A search of the batch failed for a reason that may pass (429, 5xx)."""


def _hits(sid: str, response: Mapping[str, Any]) -> list[dict[str, Any]]:
    if "error" not in response:
        return list(response["hits"]["hits"])
    status = int(response.get("status", 500))
    if status == 429 or status >= 500:
        raise SearchUnavailable(f"Elasticsearch answered {status}: {response['error']}")
    log.error("a subscription's query was refused", extra={"subscription": sid, "status": status})
    return []
