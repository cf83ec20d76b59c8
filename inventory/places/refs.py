"""Light read-only views of locations and item types for the write path (Core queries, no ORM load)."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.store.lookup import not_found
from inventory.store.models import ItemType, Location


class Place(NamedTuple):
    """What the ledger needs to know about a location."""

    id: int
    name: str
    kind: str
    path: str
    region_code: str


class Item(NamedTuple):
    """What the ledger needs to know about an item type."""

    id: int
    code: str
    name: str
    unit: str
    tracking: str
    shelf_life_days: int | None


_PLACE = select(Location.id, Location.name, Location.kind, Location.path, Location.region_code).where(
    Location.id == bindparam("id"))
_ITEM = select(ItemType.id, ItemType.code, ItemType.name, ItemType.unit, ItemType.tracking,
               ItemType.shelf_life_days).where(ItemType.id == bindparam("id"))


async def load_place(session: AsyncSession, location_id: int, *, field: str | None = None) -> Place:
    """The location with this id; NotFound, or InvalidInput naming ``field`` when it came in a body."""
    conn = await session.connection()
    row = (await conn.execute(_PLACE, {"id": location_id})).first()
    if row is None:
        raise not_found(f"地点 id={location_id}", input_field=field)
    return Place(*row)


async def load_item(session: AsyncSession, item_type_id: int, *, field: str | None = None) -> Item:
    """The item type with this id; NotFound, or InvalidInput naming ``field``."""
    conn = await session.connection()
    row = (await conn.execute(_ITEM, {"id": item_type_id})).first()
    if row is None:
        raise not_found(f"物资品目 id={item_type_id}", input_field=field)
    return Item(*row)
