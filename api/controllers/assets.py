"""Assets (装备单件)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from api.controllers.paging import AfterId
from api.deps import IdempotencyKey, IdParam, Limit, Offset, OptionalId
from api.writes import run_write
from inventory.access.scope import Principal, require_scope
from inventory.readiness.plans import refresh_due
from inventory.schemas import AssetStatus, Page
from inventory.stock import assets, custody
from inventory.stock.schemas import AssetCreate, AssetRead, AssetUpdate
from inventory.store.db import Database
from inventory.store.models import Asset


class AssetController(Controller):
    """Serial units."""

    path = "/api/v1/assets"
    tags = ["assets"]

    @post("/", opt={"action": "assets.write"})
    async def create_asset(
        self, request: Request[Any, Any, Any], db: Database, principal: Principal,
        data: AssetCreate,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[AssetRead]:
        """Register a serial unit at a location."""

        async def work(session: AsyncSession) -> AssetRead:
            await require_scope(session, principal, data.location_id)
            asset = await assets.create_asset(session, data, actor=principal.username)
            await refresh_due(session, Asset.id == asset.id)  # its maintenance plans set the first due date
            return assets.asset_read(asset)

        return await run_write(request, db, principal, work)

    @get("/", opt={"action": "read"})
    async def list_assets(
        self, db: Database, limit: Limit = 50, offset: Offset = 0,
        item_type_id: OptionalId = None, location_id: OptionalId = None, status: AssetStatus | None = None,
        serial: Annotated[str | None, Parameter(max_length=60)] = None, after_id: AfterId = None,
    ) -> Page[AssetRead]:
        """Assets by item type, location, status or serial number, by id."""
        async with db.heavy_read() as session:
            return await assets.list_assets(
                session, item_type_id=item_type_id, location_id=location_id, status=status, serial=serial,
                limit=limit, offset=offset, after_id=after_id,
            )

    @get("/{asset_id:int}", opt={"action": "read"})
    async def get_asset(self, db: Database, asset_id: IdParam) -> AssetRead:
        """One asset."""
        async with db.read() as session:
            return assets.asset_read(await assets.get_asset(session, asset_id))

    @patch("/{asset_id:int}", opt={"action": "assets.write"})
    async def update_asset(
        self, request: Request[Any, Any, Any], db: Database, principal: Principal,
        asset_id: IdParam, data: AssetUpdate,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[AssetRead]:
        """Change readiness and descriptive fields (moves go through the ledger)."""

        async def work(session: AsyncSession) -> AssetRead:
            await custody.require_unit_scope(session, principal, await assets.get_asset(session, asset_id))
            return assets.asset_read(await assets.update_asset(session, asset_id, data))

        return await run_write(request, db, principal, work, status_code=200)
