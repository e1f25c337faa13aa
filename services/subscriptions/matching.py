"""The matcher's questions to Elasticsearch: the saved query of a
subscription, the new articles' keys, the analysed forms of query words,
whether new documents are visible yet, and the final verdicts.

The query of a subscription is built by the search's own builder
(``services.search.query.matching_query``), run in filter context (no score
is needed to decide a match). ``_msearch`` runs one search per
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

import orjson
from elasticsearch import AsyncElasticsearch, NotFoundError

from services.search.query import matching_query
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
# Queries per combined search: each one is a few clauses, well under
# Elasticsearch's clause limit (several thousand on a 1 GB heap).
_COMBINED_CHUNK = 100


def subscription_query(sub: SearchFields, *, prefix_last: bool = False) -> dict[str, Any]:
    """The query deciding which articles the saved search lists, as
    /v1/search decides it (``matching_query``: words, date range, facet
    filters), without the search box's prefix matching of the last word (a
    saved search is not being typed: "result" must not follow "resultant",
    and a prefix would make the presearch useless), plus the entity. The
    live count of an open page keeps the prefix (`prefix_last`): it counts
    what that page lists."""
    query = matching_query(sub.search_request(), prefix_last=prefix_last)
    if (entity := sub.entity_filter()) is not None:
        query["bool"]["filter"].append({"term": {entity[0]: entity[1]}})
    return query


def restricted(query: dict[str, Any], ids: Sequence[str]) -> dict[str, Any]:
    """A search body running `query` on these documents only."""
    return {
        "query": {"bool": {"filter": [{"ids": {"values": list(ids)}}, query]}},
        "size": len(ids),
        "_source": False,
        "track_total_hits": False,
    }


def combined(
    queries: Mapping[str, dict[str, Any]], articles: Mapping[str, Sequence[str]]
) -> dict[str, Any]:
    """One search answering for several queries: each one named and
    restricted to its own candidate articles; a hit's ``matched_queries``
    are the names of those it matched."""
    ids = sorted({a for name in queries for a in articles[name]})
    should = [
        {"bool": {"filter": [{"ids": {"values": list(articles[name])}}, query], "_name": name}}
        for name, query in queries.items()
    ]
    return {
        "query": {
            "bool": {
                "filter": [{"ids": {"values": ids}}],
                "should": should,
                "minimum_should_match": 1,
            }
        },
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
        the next refresh). The two reads go out together: one round trip."""
        sources = self.es.mget(
            index=self.alias, ids=list(ids), source_includes=list(SOURCE_FIELDS), realtime=True
        )
        if not fields:
            answer, vectors = await sources, None
        else:
            answer, vectors = await asyncio.gather(sources, self._vectors(ids, fields))
        docs = {
            d["_id"]: Document(d["_id"], d.get("_source") or {})
            for d in answer["docs"]
            if d.get("found")
        }
        for entry in (vectors or {}).get("docs", []):
            doc = docs.get(entry.get("_id", ""))
            for name, vector in (entry.get("term_vectors") or {}).items():
                if doc is not None:
                    doc.terms.setdefault(name, set()).update(vector.get("terms", {}))
        return docs

    async def _vectors(self, ids: Sequence[str], fields: Sequence[str]) -> Any:
        return await self.es.mtermvectors(
            index=self.alias,
            ids=list(ids),
            fields=list(fields),
            term_statistics=False,
            field_statistics=False,
            positions=False,
            offsets=False,
            payloads=False,
            realtime=True,
        )

    async def wait_visible(
        self, ids: Sequence[str], *, poll_s: float, timeout_s: float, force: bool
    ) -> float:
        """Block until searches see these documents (written with
        refresh=false, they appear at the next refresh, within a second).
        With `force`, refresh the index at once when they are not visible
        yet; otherwise poll, and refresh after `timeout_s`. Returns the
        seconds waited."""
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
        self,
        candidates: Mapping[str, Sequence[str]],
        queries: Mapping[str, dict[str, Any]],
        *,
        chunk: int = _COMBINED_CHUNK,
        concurrency: int = 2,
    ) -> list[tuple[str, str]]:
        """(subscription, article) pairs Elasticsearch confirms, among the
        candidate pairs. Identical queries (many people follow the same
        name) are asked once; up to `chunk` queries go in one search, each
        named, restricted to their candidate articles: each hit says which
        named queries it matched (``matched_queries``), so a batch costs a
        few searches instead of one per subscription. All of a batch's
        searches go in one ``_msearch``, `concurrency` run at once.

        Raises on a failing search only when it may pass on retry (429,
        5xx); a combined search Elasticsearch refuses (a query it will not
        run, too many clauses) is asked again one query at a time, so that
        only the refused query counts as no match (logged)."""
        groups: dict[bytes, list[str]] = {}
        for sid in sorted(candidates):
            groups.setdefault(orjson.dumps(queries[sid], option=orjson.OPT_SORT_KEYS), []).append(
                sid
            )
        named = {f"q{k}": sids for k, sids in enumerate(groups.values())}
        articles = {
            name: sorted({a for s in sids for a in candidates[s]}) for name, sids in named.items()
        }
        order = list(named)
        chunks = [order[k : k + chunk] for k in range(0, len(order), max(1, chunk))]
        searches: list[dict[str, Any]] = []
        for names in chunks:
            searches += [{}, combined({n: queries[named[n][0]] for n in names}, articles)]
        found: dict[str, set[str]] = {}
        if searches:
            answer = await self.es.msearch(
                index=self.alias, searches=searches, max_concurrent_searches=concurrency
            )
            for names, response in zip(chunks, answer["responses"], strict=True):
                await self._read_combined(names, response, queries, named, articles, found)
        return [
            (sid, article)
            for name, sids in named.items()
            for sid in sids
            for article in sorted(found.get(name, ()))
            if article in candidates[sid]
        ]

    async def _read_combined(
        self,
        names: list[str],
        response: Mapping[str, Any],
        queries: Mapping[str, dict[str, Any]],
        named: Mapping[str, list[str]],
        articles: Mapping[str, list[str]],
        found: dict[str, set[str]],
    ) -> None:
        status = int(response.get("status", 500)) if "error" in response else 200
        if status == 200 or status == 429 or status >= 500:  # _hits raises on the last two
            for hit in _hits(",".join(names), response):
                for name in hit.get("matched_queries") or ():
                    found.setdefault(str(name), set()).add(hit["_id"])
            return
        # Refused as a whole: one search per query, the refused one alone lost.
        searches: list[dict[str, Any]] = []
        for name in names:
            searches += [{}, restricted(queries[named[name][0]], articles[name])]
        answer = await self.es.msearch(index=self.alias, searches=searches)
        for name, single in zip(names, answer["responses"], strict=True):
            for hit in _hits(",".join(named[name]), single):
                found.setdefault(name, set()).add(hit["_id"])


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
