"""People, organisations and places facets by identity. Pure, like ``query``.

An entity facet counts entity ids (``people_ids`` …): one entity is one
value whatever names the articles used for it ("Trump", "Donald Trump"),
and each value comes back with its display name (``entitynames``). Filters
take ids (``people=ent_…``, ``places=Q30``); a value that is not an id is
an older link's name and filters the name field (``people=Donald Trump``),
so saved searches and bookmarks keep working. Ids and names of one facet
combine with OR, like any values of a facet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from services.search import stored
from services.search.entitynames import is_entity_id
from services.search.models import FACET_FIELDS, FacetBucket, FacetName
from shared.contracts.index import ENTITY_ID_FIELDS, ENTITY_KEY_SEP

ID_FIELDS: dict[FacetName, str] = {
    "people": ENTITY_ID_FIELDS["people"],
    "organisations": ENTITY_ID_FIELDS["organisations"],
    "places": ENTITY_ID_FIELDS["places"],
}
# Entity chips on a result line, per group.
CHIPS_PER_GROUP = 6


def split_values(values: Iterable[str]) -> tuple[list[str], list[str]]:
    """(ids, names) among a facet's filter values."""
    ids: list[str] = []
    names: list[str] = []
    for value in values:
        (ids if is_entity_id(value) else names).append(value)
    return ids, names


def entity_clause(name: FacetName, values: Sequence[str]) -> dict[str, Any]:
    """Any of the values: ids on the id field, names on the name field."""
    ids, names = split_values(values)
    clauses = []
    if ids:
        clauses.append({"terms": {ID_FIELDS[name]: ids}})
    if names:
        clauses.append({"terms": {FACET_FIELDS[name]: names}})
    if len(clauses) == 1:
        return clauses[0]
    return {"bool": {"should": clauses, "minimum_should_match": 1}}


def entity_aggregations(name: FacetName, size: int, selected: Sequence[str]) -> dict[str, Any]:
    """Top ids of the facet, plus the selected ids and names counted on
    their own (a chosen value stays listed even outside the top)."""
    aggs: dict[str, Any] = {
        "top": {
            "terms": {
                "field": ID_FIELDS[name],
                "size": size,
                "order": [{"_count": "desc"}, {"_key": "asc"}],
            }
        }
    }
    ids, names = split_values(selected)
    for agg, field, values in (
        ("selected", ID_FIELDS[name], ids),
        ("selected_names", FACET_FIELDS[name], names),
    ):
        if values:
            aggs[agg] = {
                "terms": {
                    "field": field,
                    "include": values,
                    "size": len(values),
                    "min_doc_count": 0,
                }
            }
    return aggs


def _buckets(agg: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    found = ((agg.get(name) or {}).get("buckets")) or []
    return [b for b in found if isinstance(b, dict)]


def entity_buckets(
    agg: Mapping[str, Any], selected: Sequence[str], names: Mapping[str, str]
) -> list[FacetBucket]:
    return [FacetBucket.model_validate(b) for b in entity_bucket_fields(agg, selected, names)]


def entity_bucket_fields(
    agg: Mapping[str, Any], selected: Sequence[str], names: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Top ids first (with their names), then any selected value the top
    list left out: an id with its name, a name filter as itself. As
    ``FacetBucket``'s fields (a search's answer is built as dicts:
    ``results.search_answer``)."""
    chosen = set(selected)
    buckets = [
        {
            "value": (key := str(b["key"])),
            "id": key,
            "name": names.get(key, key),
            "count": int(b["doc_count"]),
            "selected": key in chosen,
        }
        for b in _buckets(agg, "top")
    ]
    listed = {b["value"] for b in buckets}
    extra = {
        str(b["key"]): int(b["doc_count"])
        for part in ("selected", "selected_names")
        for b in _buckets(agg, part)
    }
    for value in selected:
        if value in listed:
            continue
        entity_id = value if is_entity_id(value) else None
        buckets.append(
            {
                "value": value,
                "id": entity_id,
                "name": names.get(value, value),
                "count": extra.get(value, 0),
                "selected": True,
            }
        )
    return buckets


def facet_ids(aggs: Mapping[str, Any] | None) -> list[str]:
    """Every id the entity facets of a search answer list."""
    found: list[str] = []
    for name in ID_FIELDS:
        agg = (aggs or {}).get(f"facet_{name}") or {}
        for part in ("top", "selected"):
            found += [str(b["key"]) for b in _buckets(agg, part)]
    return found


def hit_ids(source: Mapping[str, Any]) -> dict[str, list[str]]:
    """The ids a result line shows, per group (the first few of each)."""
    found: dict[str, list[str]] = {}
    for group, field in ID_FIELDS.items():
        # stored.texts without its call per item: an id is nearly always a
        # string as stored; anything else is read as a text first, as there.
        value = source.get(field)
        items = value if isinstance(value, list) else [value]
        read = (i if type(i) is str else stored.text(i) for i in items[:CHIPS_PER_GROUP])
        found[group] = [i for i in read if is_entity_id(i)]
    return found


def hits_ids(hits: Iterable[Mapping[str, Any]]) -> list[str]:
    return [
        entity_id
        for hit in hits
        for ids in hit_ids(hit.get("_source") or {}).values()
        for entity_id in ids
    ]


def hit_entity_fields(source: Mapping[str, Any], names: Mapping[str, str]) -> list[dict[str, Any]]:
    """``models.EntityRef``'s fields per entity chip of a result line."""
    return [
        {"id": entity_id, "name": names.get(entity_id, entity_id), "group": group}
        for group, ids in hit_ids(source).items()
        for entity_id in ids
    ]


def search_ids(raw: Mapping[str, Any]) -> list[str]:
    """Ids a search answer shows (facets and hits): named in one lookup."""
    hits = ((raw.get("hits") or {}).get("hits")) or []
    return list(dict.fromkeys([*facet_ids(raw.get("aggregations")), *hits_ids(hits)]))


def parse_key(key: str) -> tuple[str, str, str | None] | None:
    """(display name, group, id) of an `entity_keys` term, None if malformed."""
    parts = key.split(ENTITY_KEY_SEP)
    if len(parts) not in (3, 4) or not parts[2] or not parts[1]:
        return None
    entity_id = parts[3] if len(parts) == 4 and is_entity_id(parts[3]) else None
    if len(parts) == 4 and entity_id is None:
        return None
    return parts[2], parts[1], entity_id
