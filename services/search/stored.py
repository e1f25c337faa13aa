"""Reading stored documents defensively.

The index mapping is the only check a document passed: a text field may hold
a number or a list, a keyword list a single value, a date any instant
Elasticsearch can store (the year 10000, or before year 1), the display-only
``entities`` anything at all. The indexer never writes such things, but a
reindex, a manual fix or a bug could, and one such document must not turn
every search that finds it into a 500. These functions take whatever JSON is
stored and return the type the API promises, or nothing.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

# A stored title is shown whole in a result line; a hostile one (a megabyte)
# is cut: the article view still has the body.
MAX_TITLE_CHARS = 1_000
MAX_LABEL_CHARS = 500
MAX_LIST_ITEMS = 200


def text(value: Any, limit: int = MAX_LABEL_CHARS) -> str | None:
    """A string: the value itself, the first string of a list, a number
    written out; None for anything else. Cut at `limit` characters."""
    if type(value) is str:  # nearly always: the checks below are for the rest
        return value if len(value) <= limit else value[: limit - 1] + "…"
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str | int | float)), None)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        return None
    return value if len(value) <= limit else value[: limit - 1] + "…"


def texts(value: Any, limit: int = MAX_LIST_ITEMS) -> list[str]:
    """A list of strings from a list, a single value, or nothing."""
    items = value if isinstance(value, list) else [value]
    # A short string, nearly always, is kept as it is without a call.
    found = (
        item if type(item) is str and len(item) <= MAX_LABEL_CHARS else text(item)
        for item in items[:limit]
    )
    return [item for item in found if item is not None]


def integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def instant(value: Any) -> datetime | None:
    """A stored date: ISO 8601 text or epoch milliseconds (what the
    mapping's default format accepts). Anything Python cannot represent
    (Elasticsearch stores years up to 292 million) or cannot read is None."""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value / 1000, tz=UTC)
        if isinstance(value, str):
            moment = datetime.fromisoformat(value)
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def entity(value: Any) -> dict[str, Any] | None:
    """One stored entity with the fields the article view shows, or None."""
    if not isinstance(value, dict):
        return None
    name, label, group = (text(value.get(k)) for k in ("canonical", "label", "group"))
    if name is None:
        return None
    count = integer(value.get("count"))
    found = {"name": name, "label": label or "", "group": group or "", "count": count or 0}
    entity_id = value.get("id")
    if isinstance(entity_id, str) and re.fullmatch(r"Q\d{1,20}|ent_[0-9a-f]{16}", entity_id):
        found["id"] = entity_id
    return found
