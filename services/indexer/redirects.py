"""Where merged-away ids now point: written by the relabel stage, read by the indexer.

The race it closes: an article labelled with story (or entity) ``old`` is in flight
between the stage that labelled it and the indexer while the relabel stage
rewrites every indexed ``old`` to ``new``. The relabel stage searches, the article
is written a moment later, and nobody would ever rewrite it. So the relabel
stage first records ``old -> new`` here, then searches; the indexer looks every
id of its batch up (one ``MGET``) before it writes, and once more right after
(see :mod:`services.indexer.stage`), so each article is caught by one side or
the other.

Keys ``<namespace>relabel:redirect:<kind>:<old>`` hold ``new`` (and the entity's
display name after a tab), with no TTL: besides articles in flight (seconds to
minutes old), a replay of older input (a DLQ replayed up to its 30 days of
retention, an indexer replay) still carries the old ids, and only this map
relabels it. One key per merge, the same growth as the permanent redirects of the
entity registry and far below the stories' per-article keys. A redirect to an id
that was merged again is followed, a few hops at most.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from redis.asyncio import Redis

Kind = Literal["story", "entity"]
# Chains (a -> b, then b -> c) are followed this far; longer ones are a bug.
_MAX_HOPS = 8


@dataclass(frozen=True, slots=True)
class Target:
    """Where an id now points: the survivor and, for an entity, its name."""

    new_id: str
    name: str | None = None


class Redirects:
    """The redirect map in Redis (async client)."""

    def __init__(self, client: Redis, namespace: str) -> None:
        self.client = client
        self.prefix = f"{namespace}relabel:redirect:"

    def key(self, kind: Kind, old: str) -> str:
        return f"{self.prefix}{kind}:{old}"

    async def record(self, kind: Kind, old: str, new: str, name: str | None = None) -> None:
        await self.client.set(self.key(kind, old), f"{new}\t{name or ''}")

    async def lookup(
        self, story_ids: Iterable[str], entity_ids: Iterable[str]
    ) -> dict[tuple[Kind, str], Target]:
        """Where each of these ids now points (only those that were merged away):
        one MGET for the batch, one more per hop for the rare chains."""
        wanted: list[tuple[Kind, str]] = [
            *(("story", s) for s in dict.fromkeys(story_ids)),
            *(("entity", e) for e in dict.fromkeys(entity_ids)),
        ]
        found: dict[tuple[Kind, str], Target] = {}
        pending = wanted
        hops = 0
        while pending and hops < _MAX_HOPS:
            values = await self.client.mget([self.key(kind, old) for kind, old in pending])
            step: dict[tuple[Kind, str], Target] = {}
            for (kind, old), raw in zip(pending, values, strict=True):
                if raw is None:
                    continue
                text = raw.decode() if isinstance(raw, bytes) else str(raw)
                new, _, name = text.partition("\t")
                step[(kind, old)] = Target(new, name or None)
            found.update(step)
            pending = [(kind, t.new_id) for (kind, _), t in step.items() if t.new_id]
            hops += 1
        return {key: _follow(found, key) for key in wanted if key in found}


def _follow(found: dict[tuple[Kind, str], Target], key: tuple[Kind, str]) -> Target:
    """The end of the chain from ``key``; the name of the last hop that had one."""
    target = found[key]
    name = target.name
    for _ in range(_MAX_HOPS):
        nxt = found.get((key[0], target.new_id))
        if nxt is None or nxt.new_id == key[1]:
            break
        target = nxt
        name = nxt.name or name
    return Target(target.new_id, name)
