"""``GET /v1/entities/{id}``: an entity's page, for people, organisations,
places (any entity with an id).

The registry (``services.entities.directory``) knows the entity's name,
type, aliases and external id, and follows merges: an id that was merged
into another redirects (308) to the survivor's page. The articles give the
rest in one Elasticsearch request (``entitypage``), and the names of the
entities met alongside in one registry round trip (``entitynames``). An
entity the registry does not know but the articles have (an index older
than the registry) still has its page, named as the articles name it.
"""

# No `from __future__ import annotations`: FastAPI reads the route's
# parameter annotations at run time.
import logging
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRouter
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.search.entitynames import ENTITY_ID_PATTERN, MAX_ID_CHARS, EntityCardLike
from services.search.entitypage import EntityPage, build_entity_body, page_from, related_ids
from services.search.models import ErrorOut
from services.search.service import SearchService

log = logging.getLogger(__name__)

EntityId = Annotated[
    str,
    PathParam(
        pattern=ENTITY_ID_PATTERN,
        max_length=MAX_ID_CHARS,
        description="Entity id: a Wikidata id (Q30) or 'ent_' + 16 hex.",
    ),
]
RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "No entity with this id."},
    308: {"description": "The id was merged into another: its page."},
}


async def _service(request: Request) -> SearchService:
    service: SearchService = request.app.state.service
    return service


async def _card(service: SearchService, entity_id: str) -> EntityCardLike | None:
    """The registry's card, None when it has none or cannot answer (the
    page is then drawn from the articles alone)."""
    directory = service.names.directory
    if directory is None:
        return None
    try:
        return await directory.get(entity_id)
    except Exception as exc:  # Redis down: the articles still make a page
        log.warning("entity registry unavailable for a card", extra={"error": repr(exc)})
        return None


def entities_router(**options: Any) -> APIRouter:
    """The route, with the app's common `responses` and `dependencies`."""
    router = APIRouter(prefix="/v1", **options)

    @router.get(
        "/entities/{entity_id}",
        response_model=EntityPage,
        responses=RESPONSES,
        summary="An entity's page",
    )
    async def entity(
        entity_id: EntityId,
        http: Request,
        service: Annotated[SearchService, Depends(_service)],
        latest: Annotated[int, Query(ge=1, le=50, description="Latest articles listed.")] = 10,
        related: Annotated[
            int, Query(ge=1, le=50, description="Co-occurring entities per type.")
        ] = 10,
    ) -> Any:
        """Name, type, aliases, external id, articles over time, the
        entities named alongside (per type), top sources, latest articles."""
        card = await _card(service, entity_id)
        if card is not None and card.id != entity_id:
            target = http.url.replace(path=f"/v1/entities/{card.id}")
            return RedirectResponse(str(target), status_code=308)
        raw = await service.run(build_entity_body(entity_id, latest, related))
        total = ((raw.get("hits") or {}).get("total") or {}).get("value") or 0
        if card is None and not total:
            raise StarletteHTTPException(404, f"no entity with id {entity_id}")
        names = await service.names.names(related_ids(raw))
        return page_from(entity_id, card, raw, names)

    return router
