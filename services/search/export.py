"""Exporting a whole result set (``/v1/search/export``): CSV, JSON, NDJSON.

Streamed: the result set is walked page by page with ``search_after``
inside a point in time (opened through the deployment's point-in-time cap;
at the cap the walk reads the live index at the same sort positions, exact
because every sort ends on the unique id), each page encoded and sent before
the next is asked for. Memory stays one page whatever the size of the
export; the rows stop at a cap (``ExportSettings.max_rows``).

The first page is read before the response starts, so the headers can say
how many rows come (``X-Total-Count``, ``X-Export-Rows``,
``X-Export-Truncated``) and a search that matches nothing as typed is
exported for its spelling correction, like the page shows it.

CSV cells are safe to open in a spreadsheet: a cell starting with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return (a formula, for Excel and
LibreOffice) gets a leading ``'``.
"""

from __future__ import annotations

import csv
import io
import logging
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import orjson
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.search import stored
from services.search.models import SearchRequest
from services.search.query import SNIPPET_CHARS, build_search_body
from services.search.syntax import ParsedQuery, parse
from services.search.textquery import HIGHLIGHT_BODIES, field_highlight_query

if TYPE_CHECKING:
    from services.search.service import SearchService

log = logging.getLogger(__name__)

ExportFormat = Literal["csv", "json", "ndjson"]
MEDIA_TYPES: dict[ExportFormat, str] = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "ndjson": "application/x-ndjson",
}
ENTITY_GROUPS = ("people", "organisations", "places", "groups", "events")
COLUMNS = (
    "id",
    "url",
    "source",
    "title",
    "authors",
    "published_at",
    "language",
    *ENTITY_GROUPS,
    "snippet",
    "story_id",
    "duplicate_of",
)
EXPORT_SOURCE = (
    "article_id",
    "url",
    "source",
    "title",
    "authors",
    "published_at",
    "language",
    *ENTITY_GROUPS,
    "story_id",
    "duplicate_of",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
LIST_SEPARATOR = "; "


class ExportSettings(BaseSettings):
    """Bounds of one export (``NEWSFLOW_SEARCH_EXPORT_*``)."""

    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_SEARCH_EXPORT_")
    max_rows: int = Field(default=50_000, ge=1, le=1_000_000)
    page_size: int = Field(default=1_000, ge=10, le=5_000)
    # Exports running at once in one process (each one holds a page in memory
    # and keeps Elasticsearch busy); one per client address.
    max_concurrent: int = Field(default=4, ge=1, le=100)


# ----------------------------------------------------------------- rows
def snippet_of(raw: dict[str, Any]) -> str:
    """The best passage as plain text (the highlighter marks nothing here):
    the article's stemmed field first, else the folded one (which falls back
    to the lead when nothing matched)."""
    marks = raw.get("highlight") or {}
    for name in (*HIGHLIGHT_BODIES[1:], HIGHLIGHT_BODIES[0]):
        if fragments := marks.get(name):
            return " … ".join(" ".join(str(f).split()) for f in fragments)
    return ""


def export_row(raw: dict[str, Any]) -> dict[str, Any]:
    """One hit as an exported record (JSON shape: lists stay lists, entities
    by type)."""
    source = raw.get("_source") or {}
    published = stored.instant(source.get("published_at"))
    return {
        "id": raw["_id"],
        "url": stored.text(source.get("url"), 4_000),
        "source": stored.text(source.get("source")) or "",
        "title": stored.text(source.get("title"), stored.MAX_TITLE_CHARS),
        "authors": stored.texts(source.get("authors")),
        "published_at": published.isoformat() if published else None,
        "language": stored.text(source.get("language")),
        "entities": {group: stored.texts(source.get(group)) for group in ENTITY_GROUPS},
        "snippet": snippet_of(raw),
        "story_id": stored.text(source.get("story_id"), 64),
        "duplicate_of": stored.text(source.get("duplicate_of"), 64),
    }


def csv_safe(text: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_cells(row: dict[str, Any]) -> list[str]:
    flat = {**row, **row["entities"]}
    cells = []
    for column in COLUMNS:
        value = flat.get(column)
        if isinstance(value, list):
            value = LIST_SEPARATOR.join(value)
        cells.append(csv_safe("" if value is None else str(value)))
    return cells


def _csv_line(cells: Iterable[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(list(cells))
    return out.getvalue().encode()


class Encoder:
    """Bytes of one export format: a head, one chunk per row, a tail."""

    def __init__(self, fmt: ExportFormat) -> None:
        self.fmt = fmt
        self._rows = 0

    def head(self) -> bytes:
        if self.fmt == "csv":
            # The BOM makes spreadsheets read the file as UTF-8.
            return "\ufeff".encode() + _csv_line(COLUMNS)
        return b"[\n" if self.fmt == "json" else b""

    def row(self, row: dict[str, Any]) -> bytes:
        self._rows += 1
        if self.fmt == "csv":
            return _csv_line(csv_cells(row))
        line = orjson.dumps(row)
        if self.fmt == "ndjson":
            return line + b"\n"
        return (b",\n" if self._rows > 1 else b"") + line

    def tail(self) -> bytes:
        return b"\n]\n" if self.fmt == "json" else b""


# ----------------------------------------------------------------- bodies
def plain_highlight(parsed: ParsedQuery) -> dict[str, Any]:
    """One passage per hit as plain text (no tags, no HTML escaping)."""
    fields: dict[str, Any] = {
        name: {"fragment_size": SNIPPET_CHARS, "number_of_fragments": 1}
        for name in HIGHLIGHT_BODIES
    }
    fields[HIGHLIGHT_BODIES[0]]["no_match_size"] = SNIPPET_CHARS
    if not parsed.empty:
        for name, field in fields.items():
            field["highlight_query"] = field_highlight_query(parsed, name)
    return {"pre_tags": [""], "post_tags": [""], "fields": fields}


def export_request(request: SearchRequest, page_size: int) -> SearchRequest:
    """The search as an export walks it: every page of the result set from
    the first, no facets, every article (never grouped by story: the rows
    carry `story_id` to group them by)."""
    return request.model_copy(
        update={
            "page": 1,
            "size": page_size,
            "with_facets": False,
            "cursor": None,
            "group": "none",
        }
    )


def build_export_body(
    request: SearchRequest,
    *,
    text: ParsedQuery | None = None,
    search_after: list[Any] | None = None,
    pit_id: str | None = None,
    timeout: str | None = None,
) -> dict[str, Any]:
    body = build_search_body(
        request, search_after=search_after, pit_id=pit_id, timeout=timeout, text=text
    )
    body["_source"] = list(EXPORT_SOURCE)
    body["highlight"] = plain_highlight(text if text is not None else parse(request.q))
    return body


# ----------------------------------------------------------------- the walk
class ExportSlots:
    """Exports running in this process: at most `limit`, one per client. A
    slot is given back when its stream ends; one whose stream never ran
    (the client left before the first byte) frees itself after
    `longest_s`."""

    def __init__(self, limit: int, longest_s: float = 900.0) -> None:
        self.limit = limit
        self.longest_s = longest_s
        self._clients: dict[str, float] = {}  # client -> when its slot lapses

    def take(self, client: str) -> str | None:
        """None if the export may start (then it holds a slot), else why not."""
        now = time.monotonic()
        for lapsed in [c for c, until in self._clients.items() if until <= now]:
            del self._clients[lapsed]
        if client in self._clients:
            return "one export at a time per address: wait for the running one to finish"
        if len(self._clients) >= self.limit:
            return "the server is busy with other exports: try again in a minute"
        self._clients[client] = now + self.longest_s
        return None

    def give_back(self, client: str) -> None:
        self._clients.pop(client, None)


@dataclass
class Export:
    """A started export: what its headers say, and the bytes to stream."""

    total: int
    rows: int
    corrected: str | None
    chunks: AsyncIterator[bytes]


async def start_export(
    service: SearchService,
    request: SearchRequest,
    fmt: ExportFormat,
    settings: ExportSettings,
    on_end: Any = None,
) -> Export:
    """Read the first page (the spelling remedy applied as on the page),
    then return the stream of the whole export. ``on_end`` is called when
    the stream ends, however it ends."""
    walk = export_request(request, settings.page_size)
    text: ParsedQuery | None = None
    corrected: str | None = None
    pit = await service.open_pit()
    try:
        first = await service.run(build_export_body(walk, pit_id=pit, timeout=service.timeout))
    except BaseException:
        if pit is not None:
            await service.close_pit(pit)
        raise
    if first["hits"]["total"]["value"] == 0 and walk.correct and walk.q:
        remedy = await service.respell(walk, None, None)
        if remedy is not None:
            _page, text, spelling = remedy
            corrected = spelling.suggestion
            body = build_export_body(walk, text=text, pit_id=pit, timeout=service.timeout)
            first = await service.run(body)
    total = int(first["hits"]["total"]["value"])
    rows = min(total, settings.max_rows)
    chunks = _stream(service, walk, fmt, first, text, rows, on_end)
    return Export(total=total, rows=rows, corrected=corrected, chunks=chunks)


async def _stream(
    service: SearchService,
    walk: SearchRequest,
    fmt: ExportFormat,
    page: dict[str, Any],
    text: ParsedQuery | None,
    rows: int,
    on_end: Any,
) -> AsyncIterator[bytes]:
    encoder = Encoder(fmt)
    sent = 0
    pit = page.get("pit_id")
    try:
        yield encoder.head()
        while True:
            hits = page["hits"]["hits"][: rows - sent]
            if hits:
                yield b"".join(encoder.row(export_row(hit)) for hit in hits)
                sent += len(hits)
            if not hits or sent >= rows:
                break
            body = build_export_body(
                walk, text=text, search_after=hits[-1]["sort"], pit_id=pit, timeout=service.timeout
            )
            page = await service.run(body)
            pit = page.get("pit_id") or pit
        yield encoder.tail()
        log.info("export sent", extra={"rows": sent, "format": fmt})
    finally:
        if isinstance(pit, str):
            await service.close_pit(pit)
        if on_end is not None:
            on_end()


def filename(fmt: ExportFormat, now: datetime | None = None) -> str:
    moment = now or datetime.now(UTC)
    return f"newsflow-search-{moment:%Y%m%d-%H%M%S}.{fmt}"
