"""Where the entity registry lives in Redis: key names, record encoding, redirect Lua.

Shared by the writer (:mod:`services.entities.registry_redis`, the entities workers)
and the reader (:mod:`services.entities.directory`, the search API), so both agree on
one layout. Every key is under ``<namespace>entities:``:

==================  ==============================================  =================
key                 value                                           grows with
==================  ==============================================  =================
``rec:<id>``        the record (JSON, :func:`encode_record`)        distinct entities
``name``            hash id -> display name (live records only)     distinct entities
``alias``           hash name key -> id                             distinct names
``redirect``        hash merged id -> id it was merged into         merges
``surname``         hash surname key -> JSON list of full-name ids  distinct surnames
``merges:outbox``   list ``old \\t new``: merges not yet sent       merges in flight
``lock``            the writers' lock (:class:`RedisStore`)         (one key)
==================  ==============================================  =================

Nothing expires: an id handed to an article must keep resolving for as long as
the article is searchable. The outbox holds a merge from the transaction that
makes it until the stage has sent it, seconds in practice. Growth follows the
vocabulary of named entities, not the number of articles (see
:mod:`services.entities.registry_redis` for sizes).

Ids in ``redirect`` may chain (a lone "Trump" merged into "Donald Trump", which
a later merge could absorb again); readers follow at most :data:`MAX_HOPS` hops
inside Lua, so any lookup is one round trip.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Final

import orjson

from services.entities.registry import EntityRecord

__all__ = [
    "FINAL_LUA",
    "ID_PATTERN",
    "MAX_FORMS",
    "MAX_HOPS",
    "Layout",
    "decode_record",
    "encode_record",
    "text",
]

ID_PATTERN: Final = re.compile(r"^(Q\d{1,12}|ent_[0-9a-f]{16})$")
MAX_HOPS: Final = 32
# Display forms kept per record (the most used): a record must not grow with
# every misspelling an entity is ever given.
MAX_FORMS: Final = 50

# A Lua function following redirects (KEYS[1] is the redirect hash); scripts that
# need it start with this text.
FINAL_LUA: Final = f"""
local function final(id)
  local hops = 0
  local nxt = redis.call('HGET', KEYS[1], id)
  while nxt and hops < {MAX_HOPS} do
    id = nxt
    hops = hops + 1
    nxt = redis.call('HGET', KEYS[1], id)
  end
  return id
end
"""


class Layout:
    """Key names of one namespace's registry."""

    def __init__(self, namespace: str = "") -> None:
        self.prefix = f"{namespace}entities:"
        self.alias = self.prefix + "alias"
        self.redirect = self.prefix + "redirect"
        self.names = self.prefix + "name"
        self.surnames = self.prefix + "surname"
        self.lock = self.prefix + "lock"
        self.outbox = self.prefix + "merges:outbox"
        self.record_prefix = self.prefix + "rec:"

    def record(self, entity_id: str) -> str:
        return self.record_prefix + entity_id


def text(value: bytes | str | None) -> str | None:
    """A Redis reply as text, whichever way the client decodes."""
    if value is None:
        return None
    return value.decode("utf-8") if isinstance(value, bytes) else value


def encode_record(record: EntityRecord) -> bytes:
    """The record as stored; ``name`` and ``type`` are the derived values, for readers."""
    forms = sorted(record.names.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_FORMS]
    return orjson.dumps(
        {
            "id": record.id,
            "name": record.name,
            "type": record.type,
            "names": dict(forms),
            "votes": dict(record.type_votes),
            "aliases": sorted(record.aliases),
            "articles": record.articles,
            "fixed_name": record.fixed_name,
            "fixed_type": record.fixed_type,
            "external_id": record.external_id,
        }
    )


def decode_record(raw: bytes | str) -> EntityRecord:
    data: dict[str, Any] = orjson.loads(raw)
    return EntityRecord(
        id=data["id"],
        names=Counter(data.get("names") or {}),
        type_votes=Counter(data.get("votes") or {}),
        aliases=set(data.get("aliases") or ()),
        articles=int(data.get("articles") or 0),
        fixed_name=data.get("fixed_name"),
        fixed_type=data.get("fixed_type"),
        external_id=data.get("external_id"),
    )
