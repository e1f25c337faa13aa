"""The Elasticsearch side of Newsflow: index template, versioned index behind
an alias, and the mapping from an enriched article to a search document.

Searches always go to the alias ``articles``; the data lives in a versioned
index (``articles-v2``) so that a reindex can build ``articles-v3`` and swap
the alias atomically while search keeps answering.

Text analysis comes from our own plugin (``newsflow_*`` components, see
deploy/elasticsearch/analysis.md). Every text is analysed three ways, so a
query can score the closest form highest:

* ``<field>.exact``: the words as written, lower-cased (``C++``, ``Weizsäcker``);
* ``<field>``: folded (accents off, ``USB-C`` also as ``usb``/``c``/``usbc``);
  the analysis of every language, and the one highlighted;
* ``<field>_<lang>`` for English, French and Spanish articles: folded and
  stemmed by that language's rules. Which one is filled is chosen here, from
  the article's language (``to_document``); other languages have none.

Plus ``<field>.prefix`` (edge n-grams, for the word being typed) and a
searchable, facetable ``authors``. Version 2 introduced this analysis;
``upgrade_document`` turns a stored document of any earlier version into the
current shape, which ``newsflow reindex`` applies to every copied document.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from elasticsearch import AsyncElasticsearch, NotFoundError

from shared.contracts.analysis import ANALYSIS
from shared.contracts.models import EnrichedArticleV1, GroupedArticleV1
from shared.contracts.sanity import plausible_publication

log = logging.getLogger(__name__)

# 2: newsflow_* analysis, per-language stemmed fields, searchable authors.
# 3: stories (story_id, duplicate_of, copies) and entity ids (entity_ids, <group>_ids).
INDEX_VERSION = 3

# Facet fields, one per entity group, plus the article's own facets.
ENTITY_FACETS: dict[str, str] = {
    "people": "people",
    "organisations": "organisations",
    "places": "places",
    "groups": "groups",
    "events": "events",
}
# Entity ids per group (facets by identity; display names from the registry)
# and of every group together (`entity_ids`: entity pages, following an entity).
ENTITY_ID_FIELDS: dict[str, str] = {group: f"{group}_ids" for group in ENTITY_FACETS}
FACET_FIELDS: tuple[str, ...] = (
    "people",
    "organisations",
    "places",
    "source",
    "language",
    "authors.keyword",
)

# Languages with a stemmed copy of title and body (fields `title_<lang>`,
# `body_<lang>`); any other language is searched through the folded fields.
STEMMED_LANGUAGES: tuple[str, ...] = ("en", "fr", "es")
# Per-language fields are derived from title, body and language: never stored
# on their own, always recomputed (to_document, upgrade_document).
DERIVED_FIELDS: tuple[str, ...] = tuple(
    f"{field}_{lang}" for lang in STEMMED_LANGUAGES for field in ("title", "body")
)

# Separates the parts of an `entity_keys` term: "<lower name>\x1f<group>\x1f<Name>",
# then "\x1f<entity id>" when the entity has one (index v3; autocomplete and
# facet value search answer with the id). Prefix autocomplete is a terms
# aggregation with an `include` regex on the lower-cased head, ranked by how
# many articles mention the entity.
ENTITY_KEY_SEP = "\x1f"


def index_name(namespace: str, version: int = INDEX_VERSION) -> str:
    return f"{namespace}articles-v{version}"


def alias_name(namespace: str) -> str:
    return f"{namespace}articles"


def template_name(namespace: str) -> str:
    return f"{namespace}newsflow-articles"


def _text(analyzer: str, search_analyzer: str | None = None, **extra: Any) -> dict[str, Any]:
    field = {"type": "text", "analyzer": analyzer, **extra}
    if search_analyzer:
        field["search_analyzer"] = search_analyzer
    return field


# The word being typed: edge n-grams of every word (2..15 characters, longer
# words whole). Only "which documents" matters for it, so no positions,
# frequencies or norms: one posting list per prefix, read by a term lookup.
_PREFIX = _text("newsflow_prefix", "newsflow_prefix_search", index_options="docs", norms=False)
_EXACT = _text("newsflow_exact")


def text_properties() -> dict[str, Any]:
    """The searchable text fields (see the module doc)."""
    properties: dict[str, Any] = {
        "title": {
            # Offsets here too: a page highlights the title of every hit, and
            # re-analysing it for each highlighted field cost more than the search.
            **_text("newsflow_folded", "newsflow_folded_search", index_options="offsets"),
            "fields": {
                "exact": _EXACT,
                "prefix": _PREFIX,
                "raw": {"type": "keyword", "ignore_above": 512},
            },
        },
        "body": {
            # Offsets in the postings make highlighting long articles cheap
            # (no re-analysis at query time).
            **_text("newsflow_folded", "newsflow_folded_search", index_options="offsets"),
            "fields": {"exact": _EXACT, "prefix": _PREFIX},
        },
        # Bylines are searched like text (folded: "Kuperinsky", "Muller" for
        # "Müller") and counted as written (`authors.keyword`, the facet).
        "authors": {
            **_text("newsflow_folded", "newsflow_folded_search"),
            "fields": {"keyword": {"type": "keyword", "ignore_above": 256}},
        },
    }
    for lang in STEMMED_LANGUAGES:
        stemmed = _text(f"newsflow_{lang}", f"newsflow_{lang}_search", index_options="offsets")
        properties[f"title_{lang}"] = stemmed
        properties[f"body_{lang}"] = stemmed
    return properties


def index_template(namespace: str, replicas: int = 0) -> dict[str, Any]:
    """Composable index template for every version of the articles index."""
    keyword = {"type": "keyword"}
    return {
        "index_patterns": [f"{namespace}articles-v*"],
        "priority": 200,
        "_meta": {
            "owner": "newsflow",
            "description": "Cleaned, enriched news articles",
            "version": INDEX_VERSION,
        },
        "template": {
            "settings": {
                "number_of_shards": 1,
                # One copy per shard on a second node in a cluster (index_replicas).
                "number_of_replicas": replicas,
                "refresh_interval": "1s",
                "analysis": ANALYSIS,
            },
            "mappings": {
                "dynamic": "strict",
                "properties": {
                    "article_id": keyword,
                    "url": {"type": "keyword", "index": False},
                    "source": keyword,
                    "site_name": keyword,
                    **text_properties(),
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
                    "entity_ids": keyword,
                    **{field: keyword for field in ENTITY_ID_FIELDS.values()},
                    # Stories: the story the article belongs to, the first copy of
                    # its text (wire copies) and the size of that copy group.
                    "story_id": keyword,
                    "duplicate_of": keyword,
                    "copies": {"type": "integer"},
                    "grouped_at": {"type": "date"},
                    # The full entity list, for display only (not searchable).
                    "entities": {"type": "object", "enabled": False},
                },
            },
        },
    }


def stemmed_language(language: object) -> str | None:
    """The stemmed language of an article's language code ("en", "fr-CA",
    "ES"), None for any other language or none."""
    if not isinstance(language, str):
        return None
    code = language.strip().lower().replace("_", "-").split("-", 1)[0]
    return code if code in STEMMED_LANGUAGES else None


def language_fields(language: object, title: object, body: object) -> dict[str, Any]:
    """The per-language copies of title and body: one language's pair, or
    nothing (other languages are searched folded, without stemming)."""
    lang = stemmed_language(language)
    if lang is None:
        return {}
    return {f"title_{lang}": title, f"body_{lang}": body}


def entity_id_fields(entities: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """`entity_ids` and `<group>_ids` from an article's entity list (as stored:
    dicts with `id` and `group`); entities without an id are left out."""
    fields: dict[str, list[str]] = {"entity_ids": []}
    fields.update({field: [] for field in ENTITY_ID_FIELDS.values()})
    for entity in entities:
        entity_id, group = entity.get("id"), entity.get("group")
        if not isinstance(entity_id, str) or not entity_id:
            continue
        if entity_id not in fields["entity_ids"]:
            fields["entity_ids"].append(entity_id)
        field = ENTITY_ID_FIELDS.get(group) if isinstance(group, str) else None
        if field is not None and entity_id not in fields[field]:
            fields[field].append(entity_id)
    return fields


def story_fields(article: EnrichedArticleV1) -> dict[str, Any]:
    """The story fields of a grouped article. An article that went around the
    stories stage (an older producer, a replay of enriched input) is a story of
    its own, so that collapsing results on `story_id` never lumps such
    articles together under a missing value."""
    if not isinstance(article, GroupedArticleV1):
        return {"story_id": article.article_id, "copies": 1}
    return {
        "story_id": article.story_id,
        "duplicate_of": article.duplicate_of,
        "copies": article.copies,
        "grouped_at": article.grouped_at.isoformat(),
    }


def entity_key(name: str, group: str, entity_id: str | None) -> str:
    """One `entity_keys` term (see ENTITY_KEY_SEP)."""
    parts = (name.lower(), group, name, *((entity_id,) if entity_id else ()))
    return ENTITY_KEY_SEP.join(parts)


def to_document(article: EnrichedArticleV1) -> dict[str, Any]:
    """The search document of an enriched article. `_id` is the article id."""
    groups: dict[str, list[str]] = {g: [] for g in (*ENTITY_FACETS, "dates")}
    keys: list[str] = []
    for entity in article.entities:
        if entity.group in groups and entity.canonical not in groups[entity.group]:
            groups[entity.group].append(entity.canonical)
        if entity.group in ENTITY_FACETS:
            keys.append(entity_key(entity.canonical, entity.group, entity.id))
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
        **language_fields(article.language, article.title, article.text),
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
        **entity_id_fields(entity.model_dump() for entity in article.entities),
        **story_fields(article),
        "entities": [e.model_dump(mode="json") for e in article.entities],
    }


def current_fields() -> frozenset[str]:
    """Top-level fields a document of the current version may have."""
    return frozenset(index_template("")["template"]["mappings"]["properties"])


def upgrade_document(source: Mapping[str, Any]) -> dict[str, Any]:
    """A stored document of any earlier version in the current shape: fields
    the mapping no longer has dropped (it is strict), derived fields
    recomputed from title, body and language. The current shape is left as
    it is, so applying it twice changes nothing. `newsflow reindex` applies
    it to every document it copies, which is what lets a template change
    roll out through the alias swap."""
    keep = current_fields() - set(DERIVED_FIELDS)
    document = {key: value for key, value in source.items() if key in keep}
    document.update(
        language_fields(document.get("language"), document.get("title"), document.get("body"))
    )
    entities = document.get("entities")
    if isinstance(entities, list) and "entity_ids" not in document:
        document.update(entity_id_fields(e for e in entities if isinstance(e, Mapping)))
        # Keys end with the entity's id since v3 (autocomplete answers with it).
        document["entity_keys"] = sorted(
            {
                entity_key(
                    e["canonical"], e["group"], e["id"] if isinstance(e.get("id"), str) else None
                )
                for e in entities
                if isinstance(e, Mapping)
                and isinstance(e.get("canonical"), str)
                and e.get("group") in ENTITY_FACETS
            }
        )
    if not document.get("story_id") and isinstance(document.get("article_id"), str):
        document["story_id"] = document["article_id"]  # a story of its own (see story_fields)
    return document


def _portable(field: Mapping[str, Any]) -> dict[str, Any]:
    """A field's mapping without what an older index may lack (our analyzers,
    sub-fields): the type alone, so a document is accepted, analysed by
    `standard` until the reindex."""
    portable = {key: value for key, value in field.items() if key == "type"}
    if "properties" in field:
        portable["properties"] = {name: _portable(sub) for name, sub in field["properties"].items()}
    return portable or {"type": "object"}


def compatibility_patch(existing: Mapping[str, Any]) -> dict[str, Any]:
    """Properties to add to an older index's mapping so that it accepts
    documents of the current shape: every current top-level field it lacks,
    in its portable form. Fields it has keep their mapping (a keyword
    `authors` still takes a list of names)."""
    wanted = index_template("")["template"]["mappings"]["properties"]
    return {name: _portable(field) for name, field in wanted.items() if name not in existing}


async def _patch_older_index(es: AsyncElasticsearch, namespace: str, index: str) -> None:
    """An index of an earlier version behind the alias (code deployed, no
    reindex yet): let it accept current documents, so the indexer never
    dead-letters articles during an upgrade. `newsflow reindex` then builds
    the current version."""
    version = index_version(namespace, index)
    if version is None or version >= INDEX_VERSION:
        return
    mapping = await es.indices.get_mapping(index=index)
    existing = mapping[index]["mappings"].get("properties", {})
    if patch := compatibility_patch(existing):
        await es.indices.put_mapping(index=index, properties=patch)
    log.warning(
        "the articles alias points to an older index version; run `newsflow reindex`",
        extra={"index": index, "version": version, "current_version": INDEX_VERSION},
    )


async def ensure_index(es: AsyncElasticsearch, namespace: str, replicas: int = 0) -> str:
    """Create the template, the current index version and the alias if
    missing. Idempotent; safe to call from every worker at start. Returns the
    concrete index name the alias points to."""
    await es.indices.put_index_template(
        name=template_name(namespace), **index_template(namespace, replicas)
    )
    alias = alias_name(namespace)
    try:
        current = await es.indices.get_alias(name=alias)
        existing = next(iter(current.body))
    except NotFoundError:
        pass
    else:
        await _patch_older_index(es, namespace, existing)
        return existing
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
