"""Cross-article resolution: each entity of an article to its canonical entity.

The in-article pass (:mod:`services.entities.normalize`) already turned "Putin"
into "Vladimir Putin" when the article names him in full. This pass links the
article's entities to entities seen in other articles, through an
:class:`~services.entities.registry.EntityStore`. Rules, in order, for an entity of
the people / organisations / places facets:

1. **Corrections table forms.** "AP" -> "Associated Press", "U.S." -> "United
   States", "Kiev" -> "Kyiv" (``data/corrections.yaml``).
2. **Territories.** A place or organisation name that is exactly a country's (or a
   listed territory's) name is that territory, with its Wikidata QID as id; a
   country is a place whatever the sentence said ("Russia" as ORG is still Russia).
3. **Exact name key** (case, accents, dots, hyphens ignored).
4. **People's variants.** A full name also matches by its transliteration key
   ("Volodymyr Zelenskiy" = "Volodymyr Zelensky") and by first and last name
   ("Owen John Dempsey" = "Owen Dempsey").
5. **Lone surname.** A one-word PERSON mention with no record of its own, or whose
   record is not a person, goes to the one known person with that surname
   (transliteration-insensitive: "Zelenskiy" finds "Volodymyr Zelensky"), or to
   the dominant one (:data:`DOMINANCE` times more articles than the next). Only
   PERSON-labelled mentions: an ORG "Ford" must not become Gerald Ford.
6. Otherwise a new entity.

When a full name is first seen after its lone surname ("Trump" in earlier
articles, then "Donald Trump"), the lone-surname person is merged into the full
name, if that is the only full name with this surname.

Types are votes: each article votes once per entity with its own label's group
(the in-article majority), and the entity's type is the group with most votes,
unless the corrections table or the gazetteer fixes it.

A batch of articles resolves in one store batch (:meth:`Resolver.resolve_batch`):
the store is asked up front for every key the batch's names lead to
(:meth:`Resolver.lookup_keys`), so a shared store answers in one round trip and
serialises writers per batch. Merges made by a batch are returned with it
(:class:`Merge`, the survivor as the batch leaves it) so the stage can announce
them; the batch's own articles already carry the survivors' ids.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

from services.entities.corrections import FACETS, Corrections, default_corrections
from services.entities.keys import first_last_key, loose_key, name_key, surname_key
from services.entities.normalize import Entity, group_for
from services.entities.registry import EntityRecord, EntityStore, MemoryStore, entity_id
from services.entities.territories import Gazetteer, default_gazetteer

__all__ = ["DOMINANCE", "MIN_ARTICLES", "LookupKeys", "Merge", "ResolvedEntity", "Resolver"]

# A lone surname goes to the most mentioned person with that surname when that
# person is in at least this many times as many articles as the runner-up.
DOMINANCE: Final = 3
# ... and only a person already seen in this many articles: a lone "Williams" is
# not the John Williams of one other article (common surnames), while a lone
# "Trump" is the Donald Trump of many.
MIN_ARTICLES: Final = 2
_LABEL_OF_GROUP: Final = {"people": "PERSON", "organisations": "ORG", "places": "GPE"}


@dataclass
class ResolvedEntity:
    """An article's entity, linked to its canonical entity."""

    id: str
    name: str
    type: str  # facet group the entity's evidence supports
    label: str  # a spaCy label consistent with ``type``
    count: int
    surface_forms: list[str]
    offsets: list[tuple[int, int]]
    external_id: str | None = None
    # The article's own names for it before resolution ("Trump", "U.S.").
    article_names: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Merge:
    """Entity ``old_id`` turned out to be ``new_id`` (the survivor after the batch)."""

    old_id: str
    new_id: str
    name: str  # the survivor's display name


@dataclass
class LookupKeys:
    """What a batch's resolution will ask the store: alias keys, ids, surname keys."""

    aliases: set[str] = field(default_factory=set)
    ids: set[str] = field(default_factory=set)
    surnames: set[str] = field(default_factory=set)


class Resolver:
    """Resolve articles' entities against a store (in memory unless one is given)."""

    def __init__(
        self,
        store: EntityStore | None = None,
        corrections: Corrections | None = None,
        gazetteer: Gazetteer | None = None,
    ) -> None:
        self.store: EntityStore = store if store is not None else MemoryStore()
        self._corrections = corrections or default_corrections()
        self._gazetteer = gazetteer or default_gazetteer()
        self._merges: list[tuple[str, str]] = []  # (loser, survivor), in order

    def resolve(self, entities: Sequence[Entity]) -> list[ResolvedEntity]:
        """Link one article's entities (a batch of one; its merges are not returned)."""
        return self.resolve_batch([entities])[0][0]

    def resolve_batch(
        self, articles: Sequence[Sequence[Entity]]
    ) -> tuple[list[list[ResolvedEntity]], list[list[Merge]]]:
        """Link each article's entities, in order, in one store batch.

        Updates the store (votes, names, aliases) as it goes: an article is
        evidence for the next ones. Returns, per article, its entities (entities
        resolving to one id merged, sorted by count) and the merges its entities
        caused. Ids merged away during the batch are replaced by their survivor's
        in every article of the batch.
        """
        keys = self.lookup_keys(articles)
        with self.store.batch(keys.aliases, keys.ids, keys.surnames):
            self._merges = []
            results: list[list[ResolvedEntity]] = []
            caused: list[list[tuple[str, str]]] = []
            for entities in articles:
                start = len(self._merges)
                results.append(self._resolve_article(entities))
                caused.append(self._merges[start:])
            if not self._merges:
                return results, [[] for _ in articles]
            survivors = self._survivors()
            merges = [
                [
                    Merge(old, survivors[old].id, survivors[old].name)
                    for old, _ in pairs
                    if old in survivors
                ]
                for pairs in caused
            ]
            return [self._relabel(r, survivors) for r in results], merges

    def lookup_keys(self, articles: Sequence[Sequence[Entity]]) -> LookupKeys:
        """The store lookups resolving ``articles`` will make, as far as names tell
        (the store loads the rest when asked)."""
        keys = LookupKeys()
        for entities in articles:
            for entity in entities:
                if entity.group in FACETS:
                    self._add_keys(keys, entity)
        return keys

    def _add_keys(self, keys: LookupKeys, entity: Entity) -> None:
        forms = [entity.canonical]
        if entity.canonical.startswith("The "):
            forms.append(entity.canonical[4:])
        keys.aliases.add(name_key(entity.canonical))
        for form in forms:
            name = self._corrections.rename(form)
            keys.aliases |= {name_key(form), name_key(name)}
            territory = self._gazetteer.lookup(name)
            if territory is not None:
                keys.ids.add(territory.qid)
                continue
            surname = surname_key(name)
            keys.aliases |= {loose_key(name), first_last_key(name) or "", surname}
            keys.surnames.add(surname)
        keys.aliases.discard("")
        keys.surnames.discard("")

    def _survivors(self) -> dict[str, EntityRecord]:
        """Id merged in this batch -> its survivor as the batch leaves it (a
        survivor may have been merged again later in the batch)."""
        found: dict[str, EntityRecord] = {}
        for old, survivor in self._merges:
            record = self.store.get(survivor)
            if record is not None and record.id != old:
                found[old] = record
        return found

    def _relabel(
        self, resolved: list[ResolvedEntity], survivors: dict[str, EntityRecord]
    ) -> list[ResolvedEntity]:
        """An article's entities with merged ids replaced (and then joined)."""
        out: dict[str, ResolvedEntity] = {}
        for entity in resolved:
            record = survivors.get(entity.id)
            if record is not None:
                entity.id, entity.name, entity.external_id = (
                    record.id,
                    record.name,
                    record.external_id,
                )
                if record.type != entity.type:
                    entity.type = record.type
                    entity.label = _LABEL_OF_GROUP.get(record.type, entity.label)
            existing = out.get(entity.id)
            if existing is None:
                out[entity.id] = entity
                continue
            existing.count += entity.count
            existing.surface_forms += [
                s for s in entity.surface_forms if s not in existing.surface_forms
            ]
            existing.offsets = sorted(existing.offsets + entity.offsets)
            existing.article_names += entity.article_names
        return sorted(out.values(), key=lambda e: (-e.count, e.name))

    def _resolve_article(self, entities: Sequence[Entity]) -> list[ResolvedEntity]:
        out: dict[str, ResolvedEntity] = {}
        voted: set[str] = set()
        for entity in entities:
            if entity.group not in FACETS:
                self._add(out, _unresolved(entity), entity)
                continue
            record, name = self._find(entity)
            if record.id not in voted:
                voted.add(record.id)
                record.articles += 1
                record.type_votes[entity.group] += 1
                record.names[name] += 1
            record.aliases |= self._keys(name, entity)
            self._save(record, name)
            self._add(out, self._resolved(record, entity), entity)
        return sorted(out.values(), key=lambda e: (-e.count, e.name))

    def current(self, entity_id: str) -> EntityRecord | None:
        """The record an id stands for now (after merges)."""
        return self.store.get(entity_id)

    # ------------------------------------------------------------------ lookup
    def _find(self, entity: Entity) -> tuple[EntityRecord, str]:
        """The record for ``entity`` (existing or new) and the name it goes by."""
        name = self._corrections.rename(_without_the(entity.canonical, self._known))
        territory = (
            self._gazetteer.lookup(name) if entity.group in ("places", "organisations") else None
        )
        if territory is not None:
            record = self.store.get(territory.qid) or EntityRecord(
                id=territory.qid,
                fixed_name=territory.name,
                fixed_type="places" if territory.is_country else None,
                external_id=territory.qid,
            )
            return record, territory.name
        person = entity.group == "people"
        keys = [name_key(name)]
        if person:
            keys += [loose_key(name), first_last_key(name) or ""]
        hits = self.store.find(k for k in keys if k)
        exact = hits.get(keys[0])
        single = len(name.split()) == 1
        if person and single:
            return self._find_surname(name, entity, exact)
        if exact is not None:
            return exact, name
        if person:
            for key in keys[1:]:
                if key in hits and hits[key].type == "people":
                    return hits[key], name
        return self._new(name, entity), name

    def _known(self, name: str) -> bool:
        """Whether ``name`` is a territory, a corrections form or a stored alias."""
        if self._gazetteer.lookup(name) or self._corrections.rename(name) != name:
            return True
        key = name_key(name)
        return bool(self.store.find([key]))

    def _find_surname(
        self, name: str, entity: Entity, exact: EntityRecord | None
    ) -> tuple[EntityRecord, str]:
        """A one-word person name: its own record, or the full name it stands for.

        A record that already is a full name ("trump" after a merge) is taken as
        is. A lone-surname record, or a record of another type, gives way to the
        one (or dominant) full name with that surname; a lone-surname record is then
        merged into it, so its earlier articles follow.
        """
        if exact is not None and exact.type == "people" and len(exact.name.split()) >= 2:
            return exact, name
        match = self._surname_match(name) if entity.label == "PERSON" else None
        if match is None:
            return (exact, name) if exact is not None else (self._new(name, entity), name)
        if exact is not None and exact.type == "people":
            self._merge(exact, match)
        return match, match.name

    def _surname_match(self, surname: str) -> EntityRecord | None:
        """The one (or the dominant) known person with this surname."""
        people = self.store.people_with_surname(surname_key(surname))
        people = [r for r in people if r.type == "people"]
        if not people or max(r.articles for r in people) < MIN_ARTICLES:
            return None
        people.sort(key=lambda r: -r.articles)
        if len(people) == 1 or people[0].articles >= DOMINANCE * people[1].articles:
            return people[0]
        return None

    def _new(self, name: str, entity: Entity) -> EntityRecord:
        key = name_key(name)
        return EntityRecord(id=entity_id(key), fixed_type=self._corrections.fixed_type(name))

    @staticmethod
    def _keys(name: str, entity: Entity) -> set[str]:
        """Alias keys this article adds: the name, and people's variant keys."""
        keys = {name_key(name), name_key(entity.canonical)}
        if entity.group == "people":
            keys |= {loose_key(name), first_last_key(name) or ""}
        return {k for k in keys if k}

    # ------------------------------------------------------------------ update
    def _save(self, record: EntityRecord, name: str) -> None:
        """Save; a person's full name also indexes its surname and absorbs a
        lone-surname record of the same person (see the module docstring)."""
        is_full_name = record.type == "people" and len(name.split()) >= 2
        surname = surname_key(name) if is_full_name else None
        self.store.save(record, surname=surname)
        if surname is None:
            return
        bare = self.store.find([surname]).get(surname)
        if (
            bare is not None
            and bare.id != record.id
            and bare.type == "people"
            and len(bare.name.split()) == 1
            and record.articles >= MIN_ARTICLES
            and [r.id for r in self.store.people_with_surname(surname)] == [record.id]
        ):
            self._merge(bare, record)

    def _merge(self, loser: EntityRecord, survivor: EntityRecord) -> None:
        if loser.id != survivor.id:
            self._merges.append((loser.id, survivor.id))
            self.store.merge(loser, survivor)

    def _resolved(self, record: EntityRecord, entity: Entity) -> ResolvedEntity:
        group = record.type
        label = (
            entity.label
            if group_for(entity.label) == group
            else _LABEL_OF_GROUP.get(group, entity.label)
        )
        return ResolvedEntity(
            id=record.id,
            name=record.name,
            type=group,
            label=label,
            count=entity.count,
            surface_forms=list(entity.surface_forms),
            offsets=list(entity.offsets),
            external_id=record.external_id,
            article_names=[entity.canonical],
        )

    @staticmethod
    def _add(out: dict[str, ResolvedEntity], resolved: ResolvedEntity, entity: Entity) -> None:
        """Add to the article's result, merging entities that resolved to one id."""
        existing = out.get(resolved.id)
        if existing is None:
            out[resolved.id] = resolved
            return
        existing.count += entity.count
        existing.surface_forms += [
            s for s in entity.surface_forms if s not in existing.surface_forms
        ]
        existing.offsets = sorted(existing.offsets + list(entity.offsets))
        existing.article_names.append(entity.canonical)


def _without_the(name: str, known: Callable[[str], bool]) -> str:
    """``name`` without a leading "The" when the rest is a known name.

    The in-article pass keeps a capitalised "The" unless the bare name occurs in
    the same article ("The Hague" must keep it); across articles the bare name may
    be known from elsewhere ("The United States" at a sentence start).
    """
    if name.startswith("The ") and known(name[4:]):
        return name[4:]
    return name


def _unresolved(entity: Entity) -> ResolvedEntity:
    """Entities outside the three facets (dates, groups, events) keep their article
    name; their id is still stable (hash of group and name key)."""
    return ResolvedEntity(
        id=entity_id(f"{entity.group}:{name_key(entity.canonical)}"),
        name=entity.canonical,
        type=entity.group,
        label=entity.label,
        count=entity.count,
        surface_forms=list(entity.surface_forms),
        offsets=list(entity.offsets),
        article_names=[entity.canonical],
    )
