"""Search latency over a large index: the API beside the same query sent straight
to Elasticsearch.

The index is filled with synthetic articles (100,000 by default), each an
:class:`~shared.contracts.models.EnrichedArticleV1` turned into a document by
:func:`shared.contracts.index.to_document`, exactly what the indexer writes. They are
made from the cleaned sample articles and the entities NER found in them: a window
of a sample's paragraphs plus one paragraph of another sample as the body, most of
that sample's entities plus a few drawn from all samples', one of 60 sources
(a few big, many small), a publication date over five years (some undated). So
facets have long tails and full-text hits vary from a handful to tens of thousands.

Queries are made from the same material (mid-frequency words, entity names, facet
values, date ranges) and each is sent twice, once to ``/v1/search`` (with every
facet and the histogram, the response cache off) and once as the body the API's
own query builder makes (:func:`services.search.query.build_search_body`) straight
to Elasticsearch, alternating which goes first. Both go through one HTTP client
type over keep-alive connections, so the ratio is what the API layer adds.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from _pipeline import percentiles
from elasticsearch import Elasticsearch
from elasticsearch.helpers import parallel_bulk

from services.cleaning.extract import word_count
from services.entities.normalize import Entity
from shared.contracts.index import alias_name, index_name, index_template, to_document
from shared.contracts.models import CleanArticleV1, EnrichedArticleV1, EntityV1

_EPOCH = datetime(2021, 1, 1, tzinfo=UTC)
_SPAN_DAYS = 5 * 365
# Too common to be what someone searches for (a word list reads best as one string).
_STOP_WORDS = (
    "that with from this have were been their they which would there about after "
    "also into more said than when what other some could them these only over such "
    "most like just where then while many those because being very even before under "
    "since very will your does here each both much made make through against between "
    "during"
)
_STOP = frozenset(_STOP_WORDS.split())


@dataclass(frozen=True)
class Material:
    """What synthetic documents and queries are made of."""

    articles: list[CleanArticleV1]
    paragraphs: list[list[str]]
    entities: list[list[EntityV1]]
    pool: dict[str, list[EntityV1]]
    sources: list[str]
    source_weights: list[float]
    vocabulary: list[str]


def material(cleaned: Sequence[CleanArticleV1], found: Sequence[list[Entity]]) -> Material:
    entities = [
        [
            EntityV1(
                canonical=e.canonical,
                label=e.label,
                group=e.group,
                count=e.count,
                surface_forms=list(e.surface_forms)[:5],
            )
            for e in merged
        ]
        for merged in found
    ]
    pool: dict[str, list[EntityV1]] = {"people": [], "organisations": [], "places": []}
    seen: set[tuple[str, str]] = set()
    for merged in entities:
        for e in merged:
            if e.group in pool and (e.group, e.canonical) not in seen:
                seen.add((e.group, e.canonical))
                pool[e.group].append(e)
    sources = [f"news{n:02d}.example" for n in range(60)]
    weights = [1 / (rank + 1) for rank in range(len(sources))]  # Zipf-like
    words = Counter(
        w for a in cleaned for w in re.findall(r"[a-z]{5,}", a.text.lower()) if w not in _STOP
    )
    # Mid-frequency words: what people search for, neither "people" nor a typo.
    vocabulary = [w for w, _ in words.most_common(2000)[50:]]
    return Material(
        articles=list(cleaned),
        paragraphs=[a.text.split("\n\n") for a in cleaned],
        entities=entities,
        pool=pool,
        sources=sources,
        source_weights=weights,
        vocabulary=vocabulary,
    )


def synthetic_article(m: Material, n: int, rng: random.Random) -> EnrichedArticleV1:
    base = rng.randrange(len(m.articles))
    source_article = m.articles[base]
    paragraphs = m.paragraphs[base]
    width = rng.randint(3, 8)
    start = rng.randrange(max(1, len(paragraphs) - width + 1))
    body = paragraphs[start : start + width]
    other = m.paragraphs[rng.randrange(len(m.paragraphs))]
    body.insert(rng.randint(0, len(body)), rng.choice(other))
    text = "\n\n".join(body)[:4000]
    own = m.entities[base]
    entities = rng.sample(own, k=max(0, round(len(own) * rng.uniform(0.6, 1.0))))
    for group in ("people", "organisations", "places"):
        if m.pool[group]:
            entities.extend(rng.sample(m.pool[group], k=min(len(m.pool[group]), rng.randint(0, 2))))
    unique = {(e.group, e.canonical): e for e in entities}
    published = (
        None
        if rng.random() < 0.03
        else _EPOCH + timedelta(seconds=rng.randrange(_SPAN_DAYS * 86400))
    )
    received = (published or _EPOCH + timedelta(days=_SPAN_DAYS)) + timedelta(hours=1)
    title = source_article.title if rng.random() < 0.5 else body[0][:120]
    return EnrichedArticleV1(
        article_id=f"{n:032x}",
        url=f"https://bench.example/a/{n}",
        source=rng.choices(m.sources, weights=m.source_weights)[0],
        title=title,
        text=text,
        authors=source_article.authors,
        published_at=published,
        language=source_article.language,
        site_name=source_article.site_name,
        word_count=word_count(text),
        fingerprint=f"{rng.getrandbits(64):016x}",
        input_format=source_article.input_format,
        received_at=received,
        cleaned_at=received,
        enriched_at=received,
        entities=list(unique.values()),
        ner_model="bench-synthetic",
    )


def load_index(
    es: Elasticsearch, es_url: str, namespace: str, m: Material, count: int
) -> dict[str, Any]:
    """Create the index as the indexer does (template, versioned index, alias) and
    bulk-load ``count`` synthetic documents; refresh off while loading, then put
    back to the template's value."""
    import asyncio

    from elasticsearch import AsyncElasticsearch

    from shared.contracts.index import ensure_index

    async def create() -> None:
        client = AsyncElasticsearch(es_url)
        try:
            await ensure_index(client, namespace)
        finally:
            await client.close()

    asyncio.run(create())
    index = index_name(namespace)
    refresh = index_template(namespace)["template"]["settings"]["refresh_interval"]
    es.indices.put_settings(index=index, settings={"index": {"refresh_interval": "-1"}})
    rng = random.Random(20240601)

    def actions() -> Iterator[dict[str, Any]]:
        for n in range(count):
            article = synthetic_article(m, n, rng)
            yield {"_index": index, "_id": article.article_id, "_source": to_document(article)}

    started = time.perf_counter()
    failed = 0
    for ok, _ in parallel_bulk(
        es,
        actions(),
        thread_count=2,
        chunk_size=500,
        max_chunk_bytes=10_000_000,
        raise_on_error=False,
    ):
        failed += not ok
    es.indices.put_settings(index=index, settings={"index": {"refresh_interval": refresh}})
    es.indices.refresh(index=index)
    seconds = time.perf_counter() - started
    stats = es.indices.stats(index=index, metric="store,docs")["indices"][index]["primaries"]
    return {
        "documents": int(stats["docs"]["count"]),
        "failed": failed,
        "load_seconds": round(seconds, 1),
        "docs_per_s": round(count / seconds),
        "store_mib": round(stats["store"]["size_in_bytes"] / 2**20),
    }


def queries(m: Material, count: int, seed: int = 7) -> list[dict[str, Any]]:
    """A mix of what people do: words, phrases, names, facet filters, date ranges."""
    rng = random.Random(seed)
    popular = {g: [e.canonical for e in pool[:300]] for g, pool in m.pool.items()}
    out: list[dict[str, Any]] = []
    for _ in range(count):
        kind = rng.random()
        params: dict[str, Any] = {}
        if kind < 0.30:
            params["q"] = rng.choice(m.vocabulary)
        elif kind < 0.50:
            params["q"] = " ".join(rng.sample(m.vocabulary, 2))
        elif kind < 0.60:
            group = rng.choice([g for g in popular if popular[g]])
            params["q"] = f'"{rng.choice(popular[group])}"'
        elif kind < 0.80:
            params["q"] = rng.choice(m.vocabulary)
            group = rng.choice(["people", "organisations", "places", "source"])
            if group == "source":
                params["source"] = [rng.choices(m.sources, weights=m.source_weights)[0]]
            elif popular[group]:
                params[group] = [rng.choice(popular[group][:50])]
        elif kind < 0.90:
            params["q"] = rng.choice(m.vocabulary)
            start = _EPOCH + timedelta(days=rng.randrange(_SPAN_DAYS - 400))
            params["from"] = start.date().isoformat()
            params["to"] = (start + timedelta(days=rng.randint(30, 400))).date().isoformat()
        elif kind < 0.95:
            params["sort"] = "newest"
            params["source"] = [rng.choices(m.sources, weights=m.source_weights)[0]]
        else:
            params["q"] = rng.choice(m.vocabulary)
            params["places"] = [rng.choice(popular["places"][:30])] if popular["places"] else []
            params["people"] = [rng.choice(popular["people"][:30])] if popular["people"] else []
            params["language"] = ["en"]
        out.append(params)
    return out


def direct_body(params: dict[str, Any], bounds: Any) -> dict[str, Any]:
    """The body the API builds for these parameters, built by the API's own code."""
    from services.search.models import SearchRequest
    from services.search.query import build_search_body

    request = SearchRequest(
        q=params.get("q", ""),
        people=tuple(params.get("people", ())),
        organisations=tuple(params.get("organisations", ())),
        places=tuple(params.get("places", ())),
        source=tuple(params.get("source", ())),
        language=tuple(params.get("language", ())),
        date_from=params.get("from"),
        date_to=params.get("to"),
        sort=params.get("sort", "relevance"),
    )
    return build_search_body(request, bounds=bounds)


def index_bounds(es_url: str, alias: str) -> Any:
    """The corpus' date bounds, as the API computes them (once a minute)."""
    from services.search.query import build_bounds_body
    from services.search.results import bounds_from

    response = httpx.post(f"{es_url}/{alias}/_search", json=build_bounds_body(), timeout=30)
    return bounds_from(response.json())


def measure(
    api_url: str, es_url: str, namespace: str, m: Material, count: int, warmup: int = 30
) -> dict[str, Any]:
    alias = alias_name(namespace)
    bounds = index_bounds(es_url, alias)
    mix = queries(m, warmup + count)
    bodies = [orjson.dumps(direct_body(p, bounds)) for p in mix]
    api_times: list[float] = []
    es_times: list[float] = []
    mismatches = 0
    cache_headers: Counter[str] = Counter()
    search_url = f"/{alias}/_search?ignore_unavailable=true&allow_no_indices=true"
    with (
        httpx.Client(base_url=api_url, timeout=60) as api,
        httpx.Client(base_url=es_url, timeout=60) as direct,
    ):

        def via_api(params: dict[str, Any]) -> tuple[float, int]:
            started = time.perf_counter()
            response = api.get("/v1/search", params=params)
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise RuntimeError(
                    f"/v1/search {params}: {response.status_code} {response.text[:300]}"
                )
            cache_headers[response.headers.get("X-Cache", "-")] += 1
            return elapsed, int(response.json()["total"])

        def via_es(body: bytes) -> tuple[float, int]:
            started = time.perf_counter()
            response = direct.post(
                search_url, content=body, headers={"Content-Type": "application/json"}
            )
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise RuntimeError(f"direct search: {response.status_code} {response.text[:300]}")
            return elapsed, int(response.json()["hits"]["total"]["value"])

        for n, (params, body) in enumerate(zip(mix, bodies, strict=True)):
            if n % 2 == 0:
                (t_api, total_api), (t_es, total_es) = via_api(params), via_es(body)
            else:
                (t_es, total_es), (t_api, total_api) = via_es(body), via_api(params)
            if n < warmup:
                continue
            api_times.append(t_api * 1000)
            es_times.append(t_es * 1000)
            mismatches += total_api != total_es
    api_p = percentiles(api_times)
    es_p = percentiles(es_times)
    ratio = {k: round(float(api_p[k] or 0) / float(es_p[k] or 1), 2) for k in ("p50", "p95", "p99")}
    return {
        "queries": count,
        "warmup_queries": warmup,
        "api_ms": api_p,
        "direct_es_ms": es_p,
        "api_over_direct": ratio,
        "total_mismatches": mismatches,
        "x_cache": dict(cache_headers),
        "sample_queries": mix[warmup : warmup + 8],
    }
