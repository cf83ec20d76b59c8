"""Regions (行政区划): the GB/T 2260 tree."""

from __future__ import annotations

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from inventory.errors import InvalidInput
from inventory.places.schemas import RegionRead
from inventory.schemas import Page
from inventory.store.lookup import get_or_not_found
from inventory.store.models import Region


async def get_region(session: AsyncSession, code: str) -> Region:
    """The region with this code, or NotFound."""
    return await get_or_not_found(session, Region, code, f"行政区划代码 {code}", field="code")


async def require_region(session: AsyncSession, code: str, field: str = "region_code") -> Region:
    """The region for an input field; an unknown code is the caller's input error (422)."""
    region = await session.get(Region, code)
    if region is None:
        raise InvalidInput(f"行政区划代码 {code} 不存在（应为 GB/T 2260 代码，如 3601、360121）", field=field)
    return region


async def list_regions(
    session: AsyncSession, *, parent: str | None, level: int | None, q: str | None, limit: int, offset: int
) -> Page[RegionRead]:
    """Regions under ``parent`` (direct children), or of a level, or matching a name."""
    child = aliased(Region)
    stmt = select(Region, exists().where(child.parent_code == Region.code).label("has_children"))
    if parent is not None:
        await get_region(session, parent)
        stmt = stmt.where(Region.parent_code == parent)
    if level is not None:
        stmt = stmt.where(Region.level == level)
    if q:
        stmt = stmt.where(Region.name.contains(q, autoescape=True))
    total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = (await session.execute(stmt.order_by(Region.code).limit(limit).offset(offset))).all()
    items = [RegionRead(r.code, r.name, r.level, r.parent_code, bool(has)) for r, has in rows]
    return Page(items=items, total=total or 0, limit=limit, offset=offset)
