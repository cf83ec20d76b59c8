"""Assets (装备单件)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, patch, post
from litestar.params import Parameter

from api.deps import Limit, Offset
from inventory import assets
from inventory.db import Database
from inventory.schemas import AssetCreate, AssetRead, AssetStatus, AssetUpdate, Page


class AssetController(Controller):
    """Serial units."""

    path = "/api/v1/assets"
    tags = ["assets"]

    @post("/")
    async def create_asset(self, db: Database, data: AssetCreate) -> AssetRead:
        """Register a serial unit at a location."""
        async with db.write() as session:
            return assets.asset_read(await assets.create_asset(session, data))

    @get("/")
    async def list_assets(
        self, db: Database, limit: Limit = 50, offset: Offset = 0,
        item_type_id: int | None = None, location_id: int | None = None, status: AssetStatus | None = None,
        serial: Annotated[str | None, Parameter(max_length=60)] = None,
    ) -> Page[AssetRead]:
        """Assets by item type, location, status or serial number."""
        async with db.read() as session:
            return await assets.list_assets(
                session, item_type_id=item_type_id, location_id=location_id, status=status, serial=serial,
                limit=limit, offset=offset,
            )

    @get("/{asset_id:int}")
    async def get_asset(self, db: Database, asset_id: int) -> AssetRead:
        """One asset."""
        async with db.read() as session:
            return assets.asset_read(await assets.get_asset(session, asset_id))

    @patch("/{asset_id:int}")
    async def update_asset(self, db: Database, asset_id: int, data: AssetUpdate) -> AssetRead:
        """Change readiness and descriptive fields (moves go through the ledger)."""
        async with db.write() as session:
            return assets.asset_read(await assets.update_asset(session, asset_id, data))
