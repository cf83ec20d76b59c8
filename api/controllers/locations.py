"""Locations (储备点位)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from api.controllers.paging import AfterId
from api.deps import IdempotencyKey, IdParam, Limit, Offset
from api.writes import run_write
from inventory.access.scope import Principal
from inventory.places import locations
from inventory.places.schemas import LocationCreate, LocationRead, LocationUpdate
from inventory.schemas import MAX_ID, LocationKind, Page
from inventory.store.db import Database


class LocationController(Controller):
    """Depots, reserve points, vendors, vehicles, staging sites and bins."""

    path = "/api/v1/locations"
    tags = ["locations"]

    @post("/", opt={"action": "locations.write"})
    async def create_location(
        self, request: Request[Any, Any, Any], db: Database, principal: Principal,
        data: LocationCreate,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[LocationRead]:
        """Create a location (coordinates in wgs84, gcj02 or bd09; stored as WGS-84)."""

        async def work(session: AsyncSession) -> LocationRead:
            return locations.location_read(await locations.create_location(session, data))

        return await run_write(request, db, principal, work)

    @get("/", opt={"action": "read"})
    async def list_locations(
        self, db: Database, limit: Limit = 50, offset: Offset = 0,
        kind: LocationKind | None = None,
        region: Annotated[str | None, Parameter(pattern=r"^[0-9]{1,12}$", description="行政区划代码前缀")] = None,
        parent: Annotated[int | None, Parameter(ge=1, le=MAX_ID, description="上级地点 id")] = None,
        q: Annotated[str | None, Parameter(max_length=50)] = None, after_id: AfterId = None,
    ) -> Page[LocationRead]:
        """Locations by kind, region prefix, parent or text, by id."""
        async with db.heavy_read() as session:
            return await locations.list_locations(
                session, kind=kind, region=region, parent_id=parent, q=q, limit=limit, offset=offset,
                after_id=after_id,
            )

    @get("/{location_id:int}", opt={"action": "read"})
    async def get_location(self, db: Database, location_id: IdParam) -> LocationRead:
        """One location."""
        async with db.read() as session:
            return locations.location_read(await locations.get_location(session, location_id))

    @patch("/{location_id:int}", opt={"action": "locations.write"})
    async def update_location(
        self, request: Request[Any, Any, Any], db: Database, principal: Principal,
        location_id: IdParam, data: LocationUpdate,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[LocationRead]:
        """Change some fields of a location."""

        async def work(session: AsyncSession) -> LocationRead:
            return locations.location_read(await locations.update_location(session, location_id, data))

        return await run_write(request, db, principal, work, status_code=200)
