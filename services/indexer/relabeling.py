"""Relabelling a stored document after a merge: the pure part, no servers.

A merge (``identities.merged``) says every article labelled ``old`` now belongs to
``new``. For a story that is one field (``story_id``); for an entity it touches the
entity list and everything derived from it: the name facets (``people``, …),
``entity_keys`` and the id fields (``entity_ids``, ``<group>_ids``). This
Elasticsearch build has no scripting, so the new values are computed here from
the document's ``_source`` and written as a partial ``doc`` update.

Everything here is idempotent: a document that no longer carries ``old`` gives
no update, so a merge applied twice (a redelivery, a replay) changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from shared.contracts.index import ENTITY_FACETS, entity_id_fields, entity_key

# The facet groups to_document fills from the entity list ("dates" has no key field).
_NAME_GROUPS: tuple[str, ...] = (*ENTITY_FACETS, "dates")


def entity_fields(entities: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Every document field derived from the entity list, as
    :func:`shared.contracts.index.to_document` makes them (a unit test holds the
    two together): name facets per group, ``entity_keys``, id fields."""
    listed = [e for e in entities if isinstance(e, Mapping)]
    groups: dict[str, list[str]] = {g: [] for g in _NAME_GROUPS}
    keys: set[str] = set()
    for entity in listed:
        name, group = entity.get("canonical"), entity.get("group")
        if not isinstance(name, str) or not isinstance(group, str):
            continue
        if group in groups and name not in groups[group]:
            groups[group].append(name)
        if group in ENTITY_FACETS:
            entity_id = entity.get("id")
            keys.add(entity_key(name, group, entity_id if isinstance(entity_id, str) else None))
    return {**groups, "entity_keys": sorted(keys), **entity_id_fields(listed)}


def _combine(kept: dict[str, Any], other: Mapping[str, Any]) -> None:
    """Fold a second entry of one entity (same id and group) into the first."""
    kept["count"] = int(kept.get("count") or 0) + int(other.get("count") or 0)
    forms = list(kept.get("surface_forms") or [])
    forms += [f for f in other.get("surface_forms") or [] if f not in forms]
    kept["surface_forms"] = forms
    offsets = {tuple(o) for o in [*(kept.get("offsets") or []), *(other.get("offsets") or [])]}
    kept["offsets"] = [list(o) for o in sorted(offsets)]


def relabel_entities(
    entities: Sequence[Mapping[str, Any]], old: str, new: str, name: str | None = None
) -> list[dict[str, Any]] | None:
    """The entity list with ``old`` become ``new`` (named ``name`` when given), or
    None when no entity carries ``old``. When the article already had ``new`` too
    (it named "Trump" and "Donald Trump"), the two entries become one: counts
    added, surface forms and offsets joined, the survivor's name kept."""
    if not any(isinstance(e, Mapping) and e.get("id") == old for e in entities):
        return None
    survivor_name = name or next(
        (e.get("canonical") for e in entities if isinstance(e, Mapping) and e.get("id") == new),
        None,
    )
    out: list[dict[str, Any]] = []
    seen: dict[tuple[str, Any], dict[str, Any]] = {}
    for entity in entities:
        if not isinstance(entity, Mapping):
            continue
        entry = dict(entity)
        if entry.get("id") in (old, new):
            entry["id"] = new
            if isinstance(survivor_name, str) and survivor_name:
                entry["canonical"] = survivor_name
            first = seen.get((new, entry.get("group")))
            if first is not None:
                _combine(first, entry)
                continue
            seen[(new, entry.get("group"))] = entry
        out.append(entry)
    return out


def entity_update(
    source: Mapping[str, Any], old: str, new: str, name: str | None = None
) -> dict[str, Any] | None:
    """The partial document that relabels entity ``old`` in a stored document,
    or None when it does not mention ``old`` (nothing to do)."""
    entities = source.get("entities")
    if not isinstance(entities, list):
        return None
    relabelled = relabel_entities(entities, old, new, name)
    if relabelled is None:
        return None
    return {"entities": relabelled, **entity_fields(relabelled)}


def story_update(source: Mapping[str, Any], old: str, new: str) -> dict[str, Any] | None:
    """The partial document that moves a stored document from story ``old`` to
    ``new``, or None when it is not in ``old``."""
    return {"story_id": new} if source.get("story_id") == old else None
