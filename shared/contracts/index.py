"""The Elasticsearch side of Newsflow: index template, versioned index behind
an alias, and the mapping from an enriched article to a search document.

Searches always go to the alias ``articles``; the data lives in a versioned
index (``articles-v1``) so that a reindex can build ``articles-v2`` and swap
the alias atomically while search keeps answering.
"""

from __future__ import annotations

from typing import Any

from elasticsearch import AsyncElasticsearch, NotFoundError

from shared.contracts.models import EnrichedArticleV1
from shared.contracts.sanity import plausible_publication

INDEX_VERSION = 1

# Facet fields, one per entity group, plus the article's own facets.
ENTITY_FACETS: dict[str, str] = {
    "people": "people",
    "organisations": "organisations",
    "places": "places",
    "groups": "groups",
    "events": "events",
}
FACET_FIELDS: tuple[str, ...] = ("people", "organisations", "places", "source", "language")

# Separates the parts of an `entity_keys` term: "<lower name>\x1f<group>\x1f<Name>".
# Prefix autocomplete is a terms aggregation with an `include` regex on the
# lower-cased head, ranked by how many articles mention the entity.
ENTITY_KEY_SEP = "\x1f"


def index_name(namespace: str, version: int = INDEX_VERSION) -> str:
    return f"{namespace}articles-v{version}"


def alias_name(namespace: str) -> str:
    return f"{namespace}articles"


def template_name(namespace: str) -> str:
    return f"{namespace}newsflow-articles"


def index_template(namespace: str) -> dict[str, Any]:
    """Composable index template for every version of the articles index."""
    text_en = {
        "type": "text",
        "analyzer": "english_hunspell",
        "search_analyzer": "english_hunspell",
    }
    keyword = {"type": "keyword"}
    return {
        "index_patterns": [f"{namespace}articles-v*"],
        "priority": 200,
        "_meta": {"owner": "newsflow", "description": "Cleaned, enriched news articles"},
        "template": {
            "settings": {
                "number_of_shards": 1,
                "number_of_replicas": 0,
                "refresh_interval": "1s",
                "analysis": {
                    # The integ-test distribution has no analysis-common module
                    # (no porter_stem, no asciifolding): English stemming comes
                    # from hunspell, which core ships, with the en_US dictionary
                    # installed under config/hunspell by deploy/.
                    "filter": {
                        "en_stop": {"type": "stop", "stopwords": "_english_"},
                        "en_hunspell": {"type": "hunspell", "locale": "en_US", "dedup": True},
                    },
                    "analyzer": {
                        "english_hunspell": {
                            "type": "custom",
                            "tokenizer": "standard",
                            "filter": ["lowercase", "en_stop", "en_hunspell"],
                        }
                    },
                    "normalizer": {"lower": {"type": "custom", "filter": ["lowercase"]}},
                },
            },
            "mappings": {
                "dynamic": "strict",
                "properties": {
                    "article_id": keyword,
                    "url": {"type": "keyword", "index": False},
                    "source": keyword,
                    "site_name": keyword,
                    "title": {
                        **text_en,
                        # `title.std` matches exact word forms (no stemming);
                        # the search boosts it a little above the stemmed field.
                        "fields": {
                            "std": {"type": "text", "analyzer": "standard"},
                            "raw": {"type": "keyword", "ignore_above": 512},
                        },
                    },
                    "body": {
                        **text_en,
                        # Offsets in the postings make highlighting long
                        # articles cheap (no re-analysis at query time).
                        "index_options": "offsets",
                        "fields": {"std": {"type": "text", "analyzer": "standard"}},
                    },
                    "authors": keyword,
                    "credit": keyword,
                    "language": keyword,
                    "input_format": keyword,
                    "published_at": {"type": "date"},
                    # Sort key "newest": publication time, else when we got it.
                    "sort_date": {"type": "date"},
                    "received_at": {"type": "date"},
                    "cleaned_at": {"type": "date"},
                    "enriched_at": {"type": "date"},
                    "indexed_at": {"type": "date"},
                    "word_count": {"type": "integer"},
                    "fingerprint": keyword,
                    "ner_model": keyword,
                    "people": keyword,
                    "organisations": keyword,
                    "places": keyword,
                    "groups": keyword,
                    "events": keyword,
                    "dates": keyword,
                    "entity_keys": keyword,
                    # The full entity list, for display only (not searchable).
                    "entities": {"type": "object", "enabled": False},
                },
            },
        },
    }


def to_document(article: EnrichedArticleV1) -> dict[str, Any]:
    """The search document of an enriched article. `_id` is the article id."""
    groups: dict[str, list[str]] = {g: [] for g in (*ENTITY_FACETS, "dates")}
    keys: list[str] = []
    for entity in article.entities:
        if entity.group in groups and entity.canonical not in groups[entity.group]:
            groups[entity.group].append(entity.canonical)
        if entity.group in ENTITY_FACETS:
            keys.append(
                ENTITY_KEY_SEP.join((entity.canonical.lower(), entity.group, entity.canonical))
            )
    # A date outside 1900 … now + 2 days is a typo or an attack, whoever let it
    # through: indexed as unknown, it cannot top `sort=newest` or skew charts.
    published = (
        article.published_at.isoformat()
        if article.published_at and plausible_publication(article.published_at)
        else None
    )
    return {
        "article_id": article.article_id,
        "url": str(article.url) if article.url else None,
        "source": article.source,
        "site_name": article.site_name,
        "title": article.title,
        "body": article.text,
        "authors": article.authors,
        "credit": article.credit,
        "language": article.language,
        "input_format": article.input_format,
        "published_at": published,
        "sort_date": published or article.received_at.isoformat(),
        "received_at": article.received_at.isoformat(),
        "cleaned_at": article.cleaned_at.isoformat(),
        "enriched_at": article.enriched_at.isoformat(),
        "word_count": article.word_count,
        "fingerprint": article.fingerprint,
        "ner_model": article.ner_model,
        **groups,
        "entity_keys": sorted(set(keys)),
        "entities": [e.model_dump(mode="json") for e in article.entities],
    }


async def ensure_index(es: AsyncElasticsearch, namespace: str) -> str:
    """Create the template, the current index version and the alias if
    missing. Idempotent; safe to call from every worker at start. Returns the
    concrete index name the alias points to."""
    await es.indices.put_index_template(name=template_name(namespace), **index_template(namespace))
    alias = alias_name(namespace)
    try:
        current = await es.indices.get_alias(name=alias)
        return next(iter(current.body))
    except NotFoundError:
        pass
    index = index_name(namespace)
    if not await es.indices.exists(index=index):
        try:
            await es.indices.create(index=index, aliases={alias: {"is_write_index": True}})
        except Exception as exc:  # another worker won the race
            if "resource_already_exists_exception" not in str(exc):
                raise
    if not await es.indices.exists_alias(name=alias, index=index):
        await es.indices.put_alias(index=index, name=alias, is_write_index=True)
    return index


def index_version(namespace: str, name: str) -> int | None:
    """The version of a concrete index of the namespace (``articles-v3`` -> 3),
    None for any other name. `newsflow reindex` builds version max + 1."""
    prefix = index_name(namespace, 0).removesuffix("0")
    rest = name.removeprefix(prefix)
    return int(rest) if name.startswith(prefix) and rest.isdigit() else None
