"""Reading lots (批次): one lot with its label code, and lists by item type, place and expiry."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.catalog.service import find_item_type
from inventory.errors import InvalidInput
from inventory.schemas import Page
from inventory.stock.schemas import LotRead
from inventory.store.keyset import Order, after_row, check_paging, order_by, page_rows
from inventory.store.lookup import get_or_not_found
from inventory.store.models import Balance, Location, Lot

# The order of list_lots: first-expiring first, undated last, then oldest first.
_LOT_ORDER: Order = ((Lot.expiry_date.is_(None), False), (Lot.expiry_date, False), (Lot.id, False))


def lot_read(lot: Lot) -> LotRead:
    """The public view of a lot."""
    return LotRead(
        id=lot.id, item_type_id=lot.item_type_id, number=lot.number, origin=lot.origin, quality=lot.quality,
        production_date=lot.production_date, expiry_date=lot.expiry_date, label_code=lot.label_code,
        created_at=lot.created_at,
    )


async def get_lot(session: AsyncSession, lot_id: int) -> Lot:
    """The lot with this id, or NotFound."""
    return await get_or_not_found(session, Lot, lot_id, f"批次 id={lot_id}")


async def find_location(session: AsyncSession, ref: str, *, field: str = "location") -> Location:
    """A location by id (digits) or by code; InvalidInput naming ``field`` when there is none."""
    loc = None
    if ref.isascii() and ref.isdigit() and len(ref) < 10:
        loc = await session.get(Location, int(ref))
    if loc is None:
        loc = await session.scalar(select(Location).where(Location.code == ref))
    if loc is None:
        raise InvalidInput(f"地点 {ref} 不存在（可填 id 或地点编号）", field=field)
    return loc


async def list_lots(
    session: AsyncSession, *, item_type: str | None = None, location: str | None = None,
    include_children: bool = False, expiring_before: dt.date | None = None, limit: int = 50, offset: int = 0,
    after_id: int | None = None,
) -> Page[LotRead]:
    """Lots, first-expiring first (undated last), then oldest first; ``after_id``: the lots after that one.

    ``item_type``: id or code. ``location``: id or code; only lots with stock on hand there (and in its bins
    with ``include_children``). ``expiring_before``: lots whose expiry date is before that day, so
    ``expiring_before=today`` lists the expired ones.
    """
    check_paging(offset, after_id)
    where: list[ColumnElement[bool]] = []
    if item_type is not None:
        where.append(Lot.item_type_id == (await find_item_type(session, item_type)).id)
    if location is not None:
        loc = await find_location(session, location)
        places = (Balance.location_id.in_(select(Location.id).where(Location.path.startswith(loc.path)))
                  if include_children else Balance.location_id == loc.id)
        where.append(Lot.id.in_(select(Balance.lot_id).where(places, Balance.on_hand > 0)))
    if expiring_before is not None:
        where.append(Lot.expiry_date < expiring_before)
    total = await session.scalar(select(func.count()).select_from(Lot).where(*where)) or 0
    rows, next_id = page_rows((await session.scalars(
        select(Lot).where(*where, await after_row(session, _LOT_ORDER, after_id)).order_by(*order_by(_LOT_ORDER))
        .limit(limit + 1).offset(offset))).all(), limit, lambda lot: lot.id)
    return Page([lot_read(lot) for lot in rows], total, limit, offset, next_id)
