"""What a subscription is: a saved search (the same ``q`` and filters as
``/v1/search``, or an entity), its owner, its delivery channels and its state.

A subscription is validated through the search's own request model
(:class:`services.search.models.SearchRequest`), so a saved search means
exactly what the same search means on ``/v1/search``: words and filters are
normalised the same way and the same date window applies. The limits that
depend on the deployment (lengths, counts, costly words, webhook addresses)
are checked by :func:`limit_problems`, which the API and the CLI share.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator

from services.search.limits import ENTITY_ID_PATTERN, MAX_ENTITY_ID_CHARS, query_problem
from services.search.models import FACET_NAMES, DateBound, SearchRequest
from services.subscriptions.settings import SubscriptionsSettings
from shared.contracts.models import SubscriptionId, utc_now
from shared.contracts.sanity import strip_bidi_controls
from shared.runtime.addresses import AddressPolicy, literal_refusal

EntityField = Literal["people", "organisations", "places", "groups", "events", "entity_ids"]
# An entity by id, as the entity pages name it (/entity/{id}): a Wikidata id,
# or the id the entities stage gives an entity it could not link. Articles
# hold every id of theirs in the index field `entity_ids`.
ENTITY_ID = re.compile(ENTITY_ID_PATTERN)  # the search's own rule (services.search.limits)
ENTITY_IDS_FIELD: EntityField = "entity_ids"
# "type:name" as entity pages will name an entity; singular and US forms too.
ENTITY_TYPES: dict[str, EntityField] = {
    "people": "people",
    "person": "people",
    "organisations": "organisations",
    "organisation": "organisations",
    "organizations": "organisations",
    "organization": "organisations",
    "org": "organisations",
    "places": "places",
    "place": "places",
    "groups": "groups",
    "group": "groups",
    "events": "events",
    "event": "events",
}
_MAX_ENTITY_CHARS = 300
FilterValues = Annotated[list[str], Field(default_factory=list, max_length=200)]


def clean_text(value: str) -> str:
    """Control and bidi characters dropped, spaces collapsed: a name or query
    that looks the same on screen is the same."""
    visible = "".join(ch for ch in strip_bidi_controls(value) if ch.isprintable() or ch == " ")
    return " ".join(visible.split())


def parse_entity(value: str) -> tuple[EntityField, str]:
    """``"person:Vladimir Putin"`` -> ``("people", "Vladimir Putin")``;
    an entity id, ``"Q7747"`` -> ``("entity_ids", "Q7747")``."""
    if ENTITY_ID.match(value.strip()):
        if len(value.strip()) > MAX_ENTITY_ID_CHARS:  # as the entity pages refuse it
            raise ValueError(f"entity ids are at most {MAX_ENTITY_ID_CHARS} characters")
        return ENTITY_IDS_FIELD, value.strip()
    kind, sep, name = value.partition(":")
    field = ENTITY_TYPES.get(kind.strip().lower())
    name = clean_text(name)
    if not sep or field is None or not name:
        types = ", ".join(sorted({*ENTITY_TYPES.values()}))
        raise ValueError(
            f"expected an entity id (Q123, ent_ and 16 hex digits) or 'type:name' "
            f"with a type among {types}"
        )
    if len(name) > _MAX_ENTITY_CHARS:
        raise ValueError(f"entity names are at most {_MAX_ENTITY_CHARS} characters")
    return field, unicodedata.normalize("NFC", name)


class SearchFields(BaseModel):
    """The saved search: what ``/v1/search`` takes, plus an entity."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    q: str = Field(default="", max_length=5000, description="As `q` of /v1/search.")
    people: FilterValues
    organisations: FilterValues
    places: FilterValues
    source: FilterValues
    language: FilterValues
    author: FilterValues
    date_from: DateBound | None = Field(default=None, alias="from")
    date_to: DateBound | None = Field(default=None, alias="to")
    entity: str | None = Field(
        default=None,
        max_length=_MAX_ENTITY_CHARS + 20,
        description="An entity: its id (e.g. 'Q7259', as on the entity pages), matching "
        "articles that hold this id; or 'type:name' (e.g. 'person:Ada Lovelace'), matching "
        "articles that name it, like the facet filter of that type.",
        examples=["Q7259", "person:Ada Lovelace"],
    )

    @field_validator("entity")
    @classmethod
    def _entity(cls, value: str | None) -> str | None:
        if value is None:
            return None
        field, name = parse_entity(value)
        return name if field == ENTITY_IDS_FIELD else f"{field}:{name}"

    def search_request(self) -> SearchRequest:
        """The /v1/search request this subscription saves (normalised and
        validated by the search's own model; raises ValueError)."""
        # Every facet the search has; one this model does not know yet is
        # simply not set (the search evolves on its own).
        facets = {name: tuple(getattr(self, name, ())) for name in FACET_NAMES}
        return SearchRequest(
            q=clean_text(self.q), date_from=self.date_from, date_to=self.date_to, **facets
        )

    def entity_filter(self) -> tuple[EntityField, str] | None:
        return parse_entity(self.entity) if self.entity else None

    def normalised(self) -> dict[str, Any]:
        """The search fields as the search model normalises them."""
        request = self.search_request()
        return {
            "q": request.q,
            **{n: list(getattr(request, n)) for n in FACET_NAMES if n in SearchFields.model_fields},
            "date_from": request.date_from,
            "date_to": request.date_to,
            "entity": self.entity,
        }


class SubscriptionIn(SearchFields):
    """``POST /v1/subscriptions``: at least a name and a query (or a filter)."""

    name: str = Field(min_length=1, max_length=5000)
    webhook_url: AnyHttpUrl | None = Field(
        default=None, description="Where to POST each match (signed); public addresses only."
    )


class SubscriptionPatch(BaseModel):
    """``PATCH /v1/subscriptions/{id}``: the fields given replace the stored
    ones (``webhook_url: null`` removes the webhook); ``rotate_secrets`` makes
    a new webhook secret and feed token, answered once."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str | None = Field(default=None, min_length=1, max_length=5000)
    q: str | None = Field(default=None, max_length=5000)
    people: list[str] | None = Field(default=None, max_length=200)
    organisations: list[str] | None = Field(default=None, max_length=200)
    places: list[str] | None = Field(default=None, max_length=200)
    source: list[str] | None = Field(default=None, max_length=200)
    language: list[str] | None = Field(default=None, max_length=200)
    author: list[str] | None = Field(default=None, max_length=200)
    date_from: DateBound | None = Field(default=None, alias="from")
    date_to: DateBound | None = Field(default=None, alias="to")
    entity: str | None = None
    webhook_url: AnyHttpUrl | None = None
    rotate_secrets: bool = False


class Subscription(SearchFields):
    """A subscription as stored (Redis). ``owner`` is a hash of the API key
    that created it; the webhook secret is kept to sign, the feed token only
    as a hash (it is only ever compared)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: SubscriptionId
    owner: str = Field(pattern=r"^[0-9a-f]{32}$")
    name: str
    webhook_url: str | None = None
    webhook_secret: str
    feed_token_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    paused: bool = False
    paused_reason: str | None = None
    paused_at: datetime | None = None
    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)


class DeliveryState(BaseModel):
    """How the webhook of a subscription is doing."""

    consecutive_failures: int = 0
    last_error: str | None = None
    last_error_at: datetime | None = None
    last_delivered_at: datetime | None = None
    pending: int = Field(default=0, description="Deliveries waiting for a (re)try.")


class SubscriptionOut(BaseModel):
    """A subscription as its owner sees it (no secret, no owner hash)."""

    id: str
    name: str
    q: str
    people: list[str]
    organisations: list[str]
    places: list[str]
    source: list[str]
    language: list[str]
    author: list[str] = Field(default_factory=list)
    date_from: date | datetime | None = Field(default=None, serialization_alias="from")
    date_to: date | datetime | None = Field(default=None, serialization_alias="to")
    entity: str | None
    webhook_url: str | None
    paused: bool
    paused_reason: str | None
    paused_at: datetime | None
    created_at: datetime
    updated_at: datetime
    feed_path: str = Field(description="The Atom feed; add ?token=<the feed token>.")
    delivery: DeliveryState


class SubscriptionCreated(SubscriptionOut):
    """What ``POST`` (and a rotation) answers, once: the secrets."""

    feed_url: str = Field(description="The Atom feed of the latest matches, token included.")
    feed_token: str
    webhook_secret: str = Field(
        description="Key of the HMAC-SHA256 signature of every webhook request."
    )


def view(sub: Subscription, delivery: DeliveryState) -> SubscriptionOut:
    return SubscriptionOut(
        **sub.model_dump(include=set(SubscriptionOut.model_fields) - {"feed_path", "delivery"}),
        feed_path=f"/v1/subscriptions/{sub.id}/feed.atom",
        delivery=delivery,
    )


# ---------------------------------------------------------------- limits
_USERINFO = re.compile(r"^[a-z][a-z0-9+.\-]*://[^/?#]*@", re.IGNORECASE)


def webhook_problem(url: str, settings: SubscriptionsSettings) -> str | None:
    """Why a webhook URL is refused, or None. Names are checked again at
    every connection by the delivery worker (DNS can change)."""
    if len(url) > settings.max_url_chars:
        return f"at most {settings.max_url_chars} characters"
    if _USERINFO.match(url):
        return "credentials in the URL are refused (they would end up in logs)"
    refusal = literal_refusal(url, AddressPolicy(tuple(settings.allowed_networks)))
    if refusal is not None:
        return refusal.replace("the poller only reads", "webhooks only go to").replace(
            "NEWSFLOW_POLLER_ALLOWED_NETWORKS", "NEWSFLOW_WEBHOOKS_ALLOWED_NETWORKS"
        )
    return None


def _search_problems(
    fields: SearchFields, settings: SubscriptionsSettings
) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    try:
        request = fields.search_request()
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        return [("q", str(exc).splitlines()[-1].strip())]
    if len(request.q) > settings.max_query_chars:
        problems.append(("q", f"at most {settings.max_query_chars} characters"))
    elif (problem := query_problem(request.q, settings.max_expanding_terms)) is not None:
        problems.append(("q", problem))
    values = sum(len(v) for v in request.filters().values()) + (1 if fields.entity else 0)
    if values > settings.max_filter_values:
        problems.append(("filters", f"at most {settings.max_filter_values} filter values"))
    if len(max((v for vs in request.filters().values() for v in vs), key=len, default="")) > 300:
        problems.append(("filters", "filter values are at most 300 characters"))
    if not request.q and not request.filters() and not fields.entity:
        problems.append(("q", "give words, a filter or an entity: an empty search follows all"))
    return problems


def limit_problems(
    fields: SearchFields, name: str | None, webhook_url: str | None, settings: SubscriptionsSettings
) -> list[tuple[str, str]]:
    """Every limit the subscription breaks, as (field, reason)."""
    problems = _search_problems(fields, settings)
    if name is not None and not clean_text(name):
        problems.append(("name", "must not be blank"))
    elif name is not None and len(clean_text(name)) > settings.max_name_chars:
        problems.append(("name", f"at most {settings.max_name_chars} characters"))
    if webhook_url is not None and (problem := webhook_problem(webhook_url, settings)):
        problems.append(("webhook_url", problem))
    return problems
