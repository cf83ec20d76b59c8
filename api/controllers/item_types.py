"""Item types (物资品目)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from api.controllers.paging import AfterId
from api.deps import IdempotencyKey, IdParam, Limit, Offset
from api.writes import run_write
from inventory.access.scope import Principal
from inventory.catalog import service as catalog
from inventory.catalog.schemas import ItemTypeCreate, ItemTypeRead, ItemTypeUpdate
from inventory.schemas import Page, Tag, Tracking
from inventory.store.db import Database


class ItemTypeController(Controller):
    """The catalogue."""

    path = "/api/v1/item-types"
    tags = ["item-types"]

    @post("/", opt={"action": "catalog.write"})
    async def create_item_type(
        self, request: Request[Any, Any, Any], db: Database, principal: Principal,
        data: ItemTypeCreate,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[ItemTypeRead]:
        """Create a catalogue entry."""

        async def work(session: AsyncSession) -> ItemTypeRead:
            return catalog.item_type_read(await catalog.create_item_type(session, data))

        return await run_write(request, db, principal, work)

    @get("/", opt={"action": "read"})
    async def list_item_types(
        self, db: Database, limit: Limit = 50, offset: Offset = 0,
        tag: Tag | None = None,
        category: Annotated[str | None, Parameter(max_length=40)] = None,
        tracking: Tracking | None = None,
        attr: Annotated[
            list[str] | None,
            Parameter(description="属性比较，可重复，如 flow_m3h>=300、fuel=diesel", max_length=80),
        ] = None,
        q: Annotated[str | None, Parameter(max_length=50)] = None, after_id: AfterId = None,
    ) -> Page[ItemTypeRead]:
        """Catalogue entries filtered by tag, category, tracking, text and attribute comparisons, by id."""
        async with db.heavy_read() as session:
            return await catalog.list_item_types(
                session, tag=tag, category=category, attrs=attr or [], tracking=tracking, q=q,
                limit=limit, offset=offset, after_id=after_id,
            )

    @get("/{item_type_id:int}", opt={"action": "read"})
    async def get_item_type(self, db: Database, item_type_id: IdParam) -> ItemTypeRead:
        """One catalogue entry."""
        async with db.read() as session:
            return catalog.item_type_read(await catalog.get_item_type(session, item_type_id))

    @patch("/{item_type_id:int}", opt={"action": "catalog.write"})
    async def update_item_type(
        self, request: Request[Any, Any, Any], db: Database, principal: Principal,
        item_type_id: IdParam, data: ItemTypeUpdate,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[ItemTypeRead]:
        """Change some fields of a catalogue entry."""

        async def work(session: AsyncSession) -> ItemTypeRead:
            return catalog.item_type_read(await catalog.update_item_type(session, item_type_id, data))

        return await run_write(request, db, principal, work, status_code=200)
