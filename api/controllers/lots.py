"""Lots (批次): finding a batch and the code on its label."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec
from litestar import Controller, get
from litestar.params import Parameter

from api.controllers.paging import AfterId
from api.deps import IdParam, Limit, Offset
from inventory.errors import InvalidInput
from inventory.schemas import EARLIEST_YEAR, LATEST_YEAR, Page
from inventory.stock import lot_queries
from inventory.stock.schemas import LotRead
from inventory.store.db import Database

ItemTypeRef = Annotated[str | None, Parameter(max_length=40, description="物资品目 id 或物资编号 item type id or code")]
LocationRef = Annotated[str | None, Parameter(max_length=40, description="地点 id 或地点编号 location id or code")]
QueryDate = Annotated[
    str | None, Parameter(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", schema_extra={"format": "date"},
                          description="日期，如 2026-12-31：有效期在这一天之前的批次")
]


def parse_date(value: str | None, field: str) -> dt.date | None:
    """The day a ``QueryDate`` parameter names; 422 when it is not a real date within 1900–2999."""
    if value is None:
        return None
    try:
        day = msgspec.convert(value, dt.date)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"{field} 须为日期，如 2026-12-31（收到 {value!r}）", field=field) from exc
    if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
        raise InvalidInput(f"{field} 超出范围，应在 {EARLIEST_YEAR}–{LATEST_YEAR} 年之间", field=field)
    return day


class LotController(Controller):
    """Batches of bulk goods, each with its label code."""

    path = "/api/v1/lots"
    tags = ["lots"]

    @get("/", opt={"action": "read"})
    async def list_lots(
        self, db: Database, limit: Limit = 50, offset: Offset = 0,
        item_type: ItemTypeRef = None,
        location: LocationRef = None,
        include_children: Annotated[bool, Parameter(description="含该地点下的货架库位")] = False,
        expiring_before: QueryDate = None, after_id: AfterId = None,
    ) -> Page[LotRead]:
        """Lots, first-expiring first: of an item type, with stock on hand at a location, expiring before a day."""
        async with db.heavy_read() as session:
            return await lot_queries.list_lots(
                session, item_type=item_type, location=location, include_children=include_children,
                expiring_before=parse_date(expiring_before, "expiring_before"), limit=limit, offset=offset,
                after_id=after_id,
            )

    @get("/{lot_id:int}", opt={"action": "read"})
    async def get_lot(self, db: Database, lot_id: IdParam) -> LotRead:
        """One lot with its label code."""
        async with db.read() as session:
            return lot_queries.lot_read(await lot_queries.get_lot(session, lot_id))
