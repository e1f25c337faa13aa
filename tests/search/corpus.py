"""A fixture corpus for the search tests, and its life in Elasticsearch.

Real article bodies (44 pages of a public extraction benchmark, in fixtures/),
made into ``EnrichedArticleV1`` objects with varied sources, languages and
dates, and entities found by a small gazetteer in the text, so facets have
realistic, uneven counts. A few articles are built for specific assertions:

* marker words ("narwhal", "quokka") planted in known articles, for phrase
  and exclusion tests whose answer is known without trusting the analyzer;
* two syndicated copies (a seed's opening paragraphs under another source),
  which `similar` must rank first for their seed;
* a hostile article whose title, body and an entity carry markup and script.

Indexing goes through the indexer's own path: ``ensure_index`` (template,
versioned index, alias), then a bulk with ``_id = article_id`` and
``to_document``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import py3langid
from elasticsearch import AsyncElasticsearch
from redis.asyncio import Redis

from shared.contracts.index import alias_name, ensure_index, template_name, to_document
from shared.contracts.models import EnrichedArticleV1, EntityV1

# The 44 articles used, copied from the public article-extraction benchmark
# (Scrapinghub, MIT licence: fixtures/LICENSE-extraction-benchmark) so that
# the tests need nothing outside the repository.
ARTICLES_FILE = Path(__file__).resolve().parent / "fixtures" / "articles.json.gz"
ARTICLES = 44
HOSTILE_MARKUP = '<script>window.__pwned=1</script> <img src=x onerror="window.__pwned=1">'
HOSTILE_WORD = "zanzibarite"
HOSTILE_ENTITY = '<b onmouseover="window.__pwned=1">Evil Corp</b>'
BASE_DATE = datetime(2023, 1, 2, 8, 30, tzinfo=UTC)

GAZETTEER: dict[str, tuple[tuple[str, str], ...]] = {
    "people": tuple(
        (name, "PERSON")
        for name in (
            "Donald Trump",
            "Joe Biden",
            "Elizabeth Warren",
            "Bernie Sanders",
            "Xi Jinping",
            "Adam Neumann",
            "Myles Garrett",
            "Mason Rudolph",
            "Barack Obama",
            "Hillary Clinton",
            "Rafael Nadal",
            "Jeff Bezos",
            "Nancy Pelosi",
            "Vladimir Putin",
        )
    ),
    "organisations": tuple(
        (name, "ORG")
        for name in (
            "Twitter",
            "Amazon",
            "Apple",
            "NASA",
            "Reuters",
            "Facebook",
            "Netflix",
            "Congress",
            "BBC",
            "WeWork",
            "FBI",
            "Nintendo",
            "Google",
            "Uber",
            "CNN",
            "Volkswagen",
            "Samsung",
        )
    ),
    "places": tuple(
        (name, "GPE")
        for name in (
            "United States",
            "Washington",
            "China",
            "New York",
            "London",
            "Europe",
            "Russia",
            "Japan",
            "Australia",
            "Texas",
            "Germany",
            "California",
            "Florida",
            "Chicago",
            "Spain",
            "Canada",
            "India",
            "Hong Kong",
            "Korea",
            "Italy",
            "Brazil",
            "Mexico",
            "Paris",
        )
    ),
}


def _article_id(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def title_from(url: str, body: str) -> str:
    """A headline from the URL slug ("google-stadia-microsoft-..."), else the
    body's first sentence."""
    slug = [p for p in urlparse(url).path.split("/") if p]
    words = [w for w in re.split(r"[-_]+", slug[-1].rsplit(".", 1)[0]) if w] if slug else []
    # Drop ids ("n1086531", "11574168580") that slugs carry.
    words = [w for w in words if len(w) < 20 and not (any(c.isdigit() for c in w) and len(w) > 4)]
    words = [w for w in words if not w.isdigit()]
    if len(words) >= 4:
        text = " ".join(words[:14])
        return text[0].upper() + text[1:]
    first = re.split(r"(?<=[.!?])\s", body.strip(), maxsplit=1)[0]
    return first[:100]


# Ids as the entity registry gives them: a Wikidata id for a territory (a
# few here), else "ent_" + 16 hex (a hash of the name, stable across runs).
WIKIDATA_IDS = {"United States": "Q30", "Germany": "Q183", "China": "Q148"}


def gazetteer_id(name: str) -> str:
    return WIKIDATA_IDS.get(name) or "ent_" + hashlib.sha256(name.encode()).hexdigest()[:16]


def find_entities(text: str) -> list[EntityV1]:
    entities = []
    for group, names in GAZETTEER.items():
        for name, label in names:
            spans = [m.span() for m in re.finditer(rf"\b{re.escape(name)}\b", text)]
            if spans:
                entities.append(
                    EntityV1(
                        canonical=name,
                        id=gazetteer_id(name),
                        label=label,
                        group=group,
                        count=len(spans),
                        surface_forms=[name],
                        offsets=spans,
                    )
                )
    return sorted(entities, key=lambda e: -e.count)


def make_article(
    *,
    key: str,
    url: str | None,
    source: str,
    title: str,
    text: str,
    published_at: datetime | None,
    language: str | None,
    extra_entities: Iterable[EntityV1] = (),
) -> EnrichedArticleV1:
    received = (published_at or BASE_DATE) + timedelta(hours=1)
    return EnrichedArticleV1(
        article_id=_article_id(key),
        url=url,
        source=source,
        title=title,
        text=text,
        authors=["Staff reporter"],
        published_at=published_at,
        language=language,
        word_count=len(text.split()),
        fingerprint=_fingerprint(text),
        input_format="text",
        received_at=received,
        entities=[*find_entities(text), *extra_entities],
        ner_model="gazetteer==test",
    )


def _language(text: str) -> str:
    code = str(py3langid.classify(text)[0])
    return code if re.fullmatch(r"[a-z]{2,3}", code) else "en"


def _marker(index: int) -> str:
    """Marker sentences: 'narwhal quokka' as a phrase in every 6th article,
    both words apart in every 4th (not also 6th), 'quokka' alone in every 5th."""
    if index % 6 == 0:
        return "A narwhal quokka parade was also reported."
    if index % 4 == 0:
        return "A quokka was seen; no narwhal was."
    if index % 5 == 0:
        return "Quokka sightings rose."
    return ""


def build_corpus() -> list[EnrichedArticleV1]:
    """Deterministic: the same articles, ids and dates on every run."""
    stored: list[dict[str, str]] = json.loads(gzip.decompress(ARTICLES_FILE.read_bytes()))
    usable = [v for v in stored if len(v["articleBody"]) >= 400]
    per_site = Counter(urlparse(v["url"]).netloc for v in usable)
    # Sites with two articles first, so the source facet has counts above 1;
    # a hash of the URL then mixes them (sites do not come in blocks of dates).
    rows = sorted(
        usable,
        key=lambda v: (
            -per_site[urlparse(v["url"]).netloc],
            hashlib.sha256(v["url"].encode()).hexdigest(),
        ),
    )[:ARTICLES]
    rows.sort(key=lambda v: hashlib.sha256(v["url"].encode()).hexdigest())
    articles = []
    for i, row in enumerate(rows):
        body = row["articleBody"].strip()
        if marker := _marker(i):
            body = f"{body}\n\n{marker}"
        # Every 9th article has no publication date.
        published = None if i % 9 == 4 else BASE_DATE + timedelta(days=17 * i, hours=i % 7)
        articles.append(
            make_article(
                key=row["url"],
                url=row["url"],
                source=urlparse(row["url"]).netloc.removeprefix("www."),
                title=title_from(row["url"], body),
                text=body,
                published_at=published,
                language=_language(body),
            )
        )
    articles.extend(syndicated_copies(articles))
    articles.append(hostile_article())
    return articles


def syndicated_copies(articles: list[EnrichedArticleV1]) -> list[EnrichedArticleV1]:
    """Two long English articles republished (opening paragraphs) by a wire."""
    seeds = [a for a in articles if a.language == "en" and len(a.text) > 3000][:2]
    copies = []
    for seed in seeds:
        opening = "\n\n".join(seed.text.split("\n\n")[:6])
        copies.append(
            make_article(
                key=f"copy:{seed.article_id}",
                url=None,
                source="wire.example",
                title=f"{seed.title} (wire copy)",
                text=opening,
                published_at=(seed.published_at or BASE_DATE) + timedelta(hours=5),
                language="en",
            )
        )
    return copies


def hostile_article() -> EnrichedArticleV1:
    body = (
        f"The {HOSTILE_WORD} report quoted this markup verbatim: {HOSTILE_MARKUP}\n\n"
        f"Readers should see it as text. {HOSTILE_MARKUP} Nothing in it may run."
    )
    return make_article(
        key="hostile",
        url="https://hostile.example/story",
        source="hostile.example",
        title=f"Hostile {HOSTILE_MARKUP} {HOSTILE_WORD} headline",
        text=body,
        published_at=BASE_DATE + timedelta(days=400),
        language="en",
        extra_entities=[
            EntityV1(
                canonical=HOSTILE_ENTITY,
                id=gazetteer_id(HOSTILE_ENTITY),
                label="ORG",
                group="organisations",
                count=1,
            )
        ],
    )


# ----------------------------------------------------------------- expectations
def facet_values(article: EnrichedArticleV1, facet: str) -> list[str]:
    """What the index stores for a facet (the same rule as to_document)."""
    if facet == "source":
        return [article.source]
    if facet == "language":
        return [article.language] if article.language else []
    if facet == "author":
        return sorted(set(article.authors))
    return sorted({e.canonical for e in article.entities if e.group == facet})


def facet_counts(articles: Iterable[EnrichedArticleV1], facet: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for article in articles:
        counts.update(facet_values(article, facet))
    return counts


# ----------------------------------------------------------------- Elasticsearch
async def index_corpus(
    es: AsyncElasticsearch, namespace: str, articles: list[EnrichedArticleV1]
) -> None:
    await ensure_index(es, namespace)
    operations: list[dict[str, Any]] = []
    for article in articles:
        operations.append({"index": {"_index": alias_name(namespace), "_id": article.article_id}})
        document = to_document(article)
        document["indexed_at"] = datetime.now(UTC).isoformat()
        operations.append(document)
    response = await es.bulk(operations=operations, refresh="wait_for")
    if response["errors"]:
        failed = [i for i in response["items"] if i["index"].get("error")]
        raise AssertionError(f"bulk indexing failed: {failed[:3]}")


async def drop_namespace(es: AsyncElasticsearch, redis: Redis | None, namespace: str) -> None:
    """Delete the namespace's indices, template and Redis keys."""
    await es.options(ignore_status=404).indices.delete(index=f"{namespace}articles-v*")
    await es.options(ignore_status=404).indices.delete_index_template(name=template_name(namespace))
    if redis is not None:
        keys = [key async for key in redis.scan_iter(match=f"{namespace}*", count=1000)]
        if keys:
            await redis.delete(*keys)
