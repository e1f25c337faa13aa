"""An entity's page (``GET /v1/entities/{id}``): the request body and the
answer's shape. Pure, like ``query``: the route is in ``entities``.

Everything the page shows of the articles comes from one Elasticsearch
request on ``entity_ids``: the latest articles (the hits), the article count
(the total), mentions over time, top sources, the entities named alongside
it per type, and, for an entity the registry does not know, the names it
was indexed under and the type most articles gave it.

Mentions over time: a day histogram of ``sort_date`` (publication date,
else reception: every article has one) with empty days left out, so its
size follows the entity's articles, not its span; the days are then summed
into the interval that fits the span (the search histogram's rule, at most
HISTOGRAM_MAX_BUCKETS bars), here, without a second request.
(``auto_date_histogram`` would do it in Elasticsearch, but the node's
distribution lacks the module that has it.)
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel, Field

from services.search import stored
from services.search.entitynames import EntityCardLike
from services.search.histogram import choose_interval
from services.search.models import HistogramBucket, Interval
from services.search.results import interval_end
from shared.contracts.index import ENTITY_ID_FIELDS, ENTITY_KEY_SEP

TOP_SOURCES = 10
# Names an entity was indexed under, read for an entity the registry lacks.
STORED_NAMES = 10
WIKIDATA = "https://www.wikidata.org/wiki/"


# ----------------------------------------------------------------- answer
class EntityHistogram(BaseModel):
    interval: Interval
    buckets: list[HistogramBucket]


class RelatedEntity(BaseModel):
    id: str
    name: str
    type: str = Field(description="Its group: people, organisations, places, groups, events.")
    count: int = Field(description="Articles naming both.")


class SourceCount(BaseModel):
    source: str
    count: int


class EntityArticle(BaseModel):
    id: str
    title: str | None
    url: str | None = None
    source: str
    published_at: date | None = Field(
        default=None, description="Publication date, else the day it was received."
    )


class EntityPage(BaseModel):
    id: str = Field(description="The entity's id (the survivor's, after a merge).")
    name: str
    type: str
    aliases: list[str] = Field(description="Other names it was found under.")
    external_id: str | None = Field(default=None, description="Wikidata id, when known.")
    external_url: str | None = None
    articles: int = Field(description="Articles naming it.")
    histogram: EntityHistogram
    related: list[RelatedEntity] = Field(
        description="Entities named in the same articles, most shared first."
    )
    sources: list[SourceCount]
    latest: list[EntityArticle]
    known: bool = Field(
        description="Known to the entity registry (else name and type come from the articles)."
    )


def is_wikidata(value: str) -> bool:
    return value.startswith("Q") and value[1:].isdigit() and len(value) <= 24


# ----------------------------------------------------------------- request
def build_entity_body(entity_id: str, latest: int, related: int) -> dict[str, Any]:
    """One request for the whole page (``entity_id`` is a validated id:
    letters, digits and '_' only, safe inside the names regex)."""
    aggs: dict[str, Any] = {
        "histogram": {
            "date_histogram": {
                "field": "sort_date",
                "calendar_interval": "day",
                "min_doc_count": 1,
                "format": "yyyy-MM-dd",
            }
        },
        "sources": {"terms": {"field": "source", "size": TOP_SOURCES}},
        "types": {
            "filters": {
                "filters": {
                    group: {"term": {field: entity_id}} for group, field in ENTITY_ID_FIELDS.items()
                }
            }
        },
        "names": {
            "terms": {
                "field": "entity_keys",
                "include": f".*{ENTITY_KEY_SEP}{entity_id}",
                "size": STORED_NAMES,
            }
        },
    }
    for group, field in ENTITY_ID_FIELDS.items():
        aggs[f"related_{group}"] = {
            "terms": {"field": field, "size": related, "exclude": [entity_id]}
        }
    return {
        "size": latest,
        "track_total_hits": True,
        "query": {"term": {"entity_ids": entity_id}},
        "sort": [{"sort_date": {"order": "desc"}}, {"article_id": {"order": "asc"}}],
        "_source": ["title", "url", "source", "published_at", "sort_date"],
        "aggs": aggs,
    }


# ----------------------------------------------------------------- shaping
def _buckets(raw: dict[str, Any], name: str) -> list[dict[str, Any]]:
    agg = (raw.get("aggregations") or {}).get(name) or {}
    found = agg.get("buckets") or []
    return [b for b in found if isinstance(b, dict)] if isinstance(found, list) else []


def related_ids(raw: dict[str, Any]) -> list[str]:
    return [str(b["key"]) for g in ENTITY_ID_FIELDS for b in _buckets(raw, f"related_{g}")]


def related_from(raw: dict[str, Any], names: dict[str, str]) -> list[RelatedEntity]:
    """Co-occurring entities of every type, most shared first; an entity
    listed under two types (a type decided later) once, under its first."""
    found: dict[str, RelatedEntity] = {}
    for group in ENTITY_ID_FIELDS:
        for bucket in _buckets(raw, f"related_{group}"):
            key = str(bucket["key"])
            if key not in found:
                found[key] = RelatedEntity(
                    id=key, name=names.get(key, key), type=group, count=int(bucket["doc_count"])
                )
    return sorted(found.values(), key=lambda e: (-e.count, e.name))


def stored_names(raw: dict[str, Any]) -> list[str]:
    """Names the articles gave the entity, most used first."""
    names = []
    for bucket in _buckets(raw, "names"):
        parts = str(bucket["key"]).split(ENTITY_KEY_SEP)
        if len(parts) == 4 and parts[2]:
            names.append(parts[2])
    return list(dict.fromkeys(names))


def stored_type(raw: dict[str, Any]) -> str:
    """The type most of its articles gave it."""
    agg = ((raw.get("aggregations") or {}).get("types") or {}).get("buckets") or {}
    counts = Counter({g: int((b or {}).get("doc_count") or 0) for g, b in agg.items()})
    best = counts.most_common(1)
    return best[0][0] if best and best[0][1] else "other"


def _bucket_day(raw: dict[str, Any]) -> date | None:
    moment = stored.instant(raw.get("key"))
    return moment.astimezone(UTC).date() if moment else None


def interval_start(day: date, interval: Interval) -> date:
    """First day of the calendar interval holding `day` (weeks start on
    Monday, like Elasticsearch's; decades on years ending in 0)."""
    if interval == "day":
        return day
    if interval == "week":
        return day - timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    if interval == "quarter":
        return date(day.year, day.month - (day.month - 1) % 3, 1)
    if interval == "year":
        return date(day.year, 1, 1)
    return date(day.year - day.year % 10, 1, 1)


def histogram_of(raw: dict[str, Any]) -> EntityHistogram:
    """The non-empty days summed into the interval that fits their span,
    every interval from the first to the last listed (gaps show)."""
    days: dict[date, int] = {}
    for bucket in _buckets(raw, "histogram"):
        if (day := _bucket_day(bucket)) is not None:
            days[day] = days.get(day, 0) + int(bucket.get("doc_count") or 0)
    if not days:
        return EntityHistogram(interval="day", buckets=[])
    first, last = min(days), max(days)
    interval = choose_interval(
        datetime.combine(first, time.min, UTC), datetime.combine(last, time.min, UTC)
    )
    counts: dict[date, int] = {}
    for day, count in days.items():
        start = interval_start(day, interval)
        counts[start] = counts.get(start, 0) + count
    buckets = []
    start = interval_start(first, interval)
    while start <= last:
        try:
            end = interval_end(start, interval)
        except ValueError:  # past 9999-12-31
            break
        buckets.append(HistogramBucket(start=start, end=end, count=counts.get(start, 0)))
        start = end
    return EntityHistogram(interval=interval, buckets=buckets)


def latest_from(raw: dict[str, Any]) -> list[EntityArticle]:
    items = []
    for hit in (raw.get("hits") or {}).get("hits") or []:
        source = hit.get("_source") or {}
        moment = stored.instant(source.get("published_at")) or stored.instant(
            source.get("sort_date")
        )
        items.append(
            EntityArticle(
                id=str(hit["_id"]),
                title=stored.text(source.get("title"), stored.MAX_TITLE_CHARS),
                url=stored.text(source.get("url"), 4_000),
                source=stored.text(source.get("source")) or "",
                published_at=moment.astimezone(UTC).date() if moment else None,
            )
        )
    return items


def page_from(
    entity_id: str,
    card: EntityCardLike | None,
    raw: dict[str, Any],
    names: dict[str, str],
) -> EntityPage:
    """The page of `entity_id`: the registry's card when there is one, the
    articles' names and type otherwise."""
    indexed = stored_names(raw)
    name = card.name if card else (indexed[0] if indexed else names.get(entity_id, entity_id))
    aliases = [a for a in (card.aliases if card else indexed) if a != name]
    external = (card.external_id if card else None) or (
        entity_id if entity_id.startswith("Q") else None
    )
    return EntityPage(
        id=entity_id,
        name=name,
        type=card.type if card else stored_type(raw),
        aliases=list(dict.fromkeys(aliases)),
        external_id=external,
        external_url=f"{WIKIDATA}{external}" if external and is_wikidata(external) else None,
        articles=int(((raw.get("hits") or {}).get("total") or {}).get("value") or 0),
        histogram=histogram_of(raw),
        related=related_from(raw, names),
        sources=[
            SourceCount(source=str(b["key"]), count=int(b["doc_count"]))
            for b in _buckets(raw, "sources")
        ],
        latest=latest_from(raw),
        known=card is not None,
    )
