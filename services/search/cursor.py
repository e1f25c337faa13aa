"""The opaque paging cursor: where the next page starts, in which snapshot.

from/size paging stops at 10,000 hits; past that (and for any client that
walks a whole result set) the API hands out a cursor. It carries

* ``after``: the sort values of the last hit sent (``search_after``). Every
  sort ends on the unique ``article_id``, so the position is exact;
* ``pit``: the point in time the walk reads from, so hits do not shift
  between pages while documents are indexed. The first page of a search runs
  without one (most searches never ask for page two, and opening a point in
  time for each would cost a round trip and server memory); the first
  request *with* a cursor opens it, and later pages keep it alive;
* ``seen``: hits sent so far, to tell whether another page exists;
* ``identity``: a digest of the query, filters, sort and grouping. A cursor
  replayed with another query is refused rather than quietly answering
  nonsense.

Results grouped by story (``group=story``, Elasticsearch ``collapse``) cannot
continue after a sort position: Elasticsearch allows ``search_after`` with
``collapse`` only when sorting on the collapse field alone. Their cursor has
an empty ``after`` and continues at offset ``seen`` (from/size) inside the
same point in time, which keeps pages stable; like page numbers, it stops at
10,000 stories (``group=none`` walks every article without a limit).

If the point in time has expired (a client paused longer than its keep-alive),
the page is still answered from the live index at the same sort position.
The token is base64url JSON: opaque by contract, but not a secret; a
tampered one at worst fails to decode (422) or finds nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

from services.search.models import SearchRequest
from services.search.query import MAX_RESULT_WINDOW

_VERSION = 1


class InvalidCursor(ValueError):
    """The cursor cannot be read, or was made for another search."""


@dataclass(frozen=True)
class Cursor:
    identity: str
    after: list[Any]
    seen: int
    pit: str | None = None


def identity_of(request: SearchRequest) -> str:
    """Short digest of what fixes the ordered result list."""
    identity = {**request.result_set_identity(), "group": request.group}
    raw = orjson.dumps(identity, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(raw).hexdigest()[:16]


def encode(cursor: Cursor) -> str:
    payload = {
        "v": _VERSION,
        "i": cursor.identity,
        "a": cursor.after,
        "n": cursor.seen,
        "p": cursor.pit,
    }
    return base64.urlsafe_b64encode(orjson.dumps(payload)).rstrip(b"=").decode("ascii")


def decode(token: str, request: SearchRequest) -> Cursor:
    """Read a cursor and check that it belongs to this search."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = orjson.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor("the cursor is not one this API made") from exc
    if not isinstance(payload, dict) or payload.get("v") != _VERSION:
        raise InvalidCursor("the cursor is not one this API made")
    after, seen, pit = payload.get("a"), payload.get("n"), payload.get("p")
    if not isinstance(after, list) or not isinstance(seen, int) or seen < 0:
        raise InvalidCursor("the cursor is not one this API made")
    if pit is not None and not isinstance(pit, str):
        raise InvalidCursor("the cursor is not one this API made")
    if payload.get("i") != identity_of(request):
        raise InvalidCursor(
            "the cursor belongs to another search (query, filters, sort or grouping)"
        )
    # Grouped walks go by offset (empty `after`), the others by sort position.
    if (request.group == "story") == bool(after) or (not after and seen >= MAX_RESULT_WINDOW):
        raise InvalidCursor("the cursor is not one this API made")
    return Cursor(identity=payload["i"], after=after, seen=seen, pit=pit)


def continuation(position: Cursor) -> dict[str, Any]:
    """How ``query.build_search_body`` continues a walk from ``position``."""
    return {"search_after": position.after} if position.after else {"offset": position.seen}


def following(
    request: SearchRequest, raw: dict[str, Any], seen: int, stories: int | None
) -> Cursor | None:
    """The cursor after this page, if more hits follow: for a grouped search
    the position is an offset among `stories` (within the result window),
    else the sort values of the page's last hit. It carries the point in time
    the page was read from, if any."""
    hits = raw["hits"]["hits"]
    seen_now = seen + len(hits)
    grouped = request.group == "story"
    total = min(stories or 0, MAX_RESULT_WINDOW) if grouped else raw["hits"]["total"]["value"]
    if not hits or seen_now >= total:
        return None
    return Cursor(
        identity=identity_of(request),
        after=[] if grouped else hits[-1]["sort"],
        seen=seen_now,
        pit=raw.get("pit_id"),
    )
