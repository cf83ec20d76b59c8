"""Quota status: each quota beside what its location has available, worst first, reckoned in SQL.

What is available at a location follows the rule of :mod:`inventory.availability.service` (its
:func:`~inventory.availability.service.site_stock_rows`): unreserved bulk stock in unexpired lots, ready serial
units, at the site and its bins, and at a vendor's warehouse what valid agreements offer. The minimum in force
on the day is the season's while the season runs (``MM-DD`` start to end, both included, over new year when
the end comes first), else the ordinary one. A quota is ``below`` under that minimum, ``warning`` within its
warning margin above it, ``ok`` otherwise; the shortfall is what ``below`` lacks. Quotas of closed locations are
left out. The rules are those of :mod:`inventory.quotas.rules`, written in SQL so that levels filter and pages
are cut in the database.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import Subquery

from inventory.availability.schemas import ItemTypeBrief
from inventory.availability.service import site_stock_rows
from inventory.clock import beijing_today
from inventory.errors import InvalidInput
from inventory.places.regions import require_region
from inventory.places.schemas import SITE_KINDS
from inventory.quotas.rules import LEVELS, Level, month_day
from inventory.quotas.schemas import LevelCounts, QuotaStatus, QuotaStatusPage, Season
from inventory.store.models import ItemType, Location, ReserveQuota

Q = ReserveQuota


def _in_season(day: dt.date) -> ColumnElement[bool]:
    """SQL: the quota's season covers ``day`` (NULL, i.e. not true, for a quota without a season)."""
    md = literal(month_day(day))
    start, end = Q.season_start, Q.season_end
    return or_(and_(start <= end, start <= md, md <= end), and_(start > end, or_(md >= start, md <= end)))


def _item_condition(item_type: str) -> ColumnElement[bool]:
    """The item type with this id or code (as :func:`inventory.catalog.service.find_item_type` reads it)."""
    if item_type.isascii() and item_type.isdigit() and len(item_type) < 10:
        return or_(ItemType.id == int(item_type), ItemType.code == item_type)
    return ItemType.code == item_type


def _conditions(region: str | None, item_type: str | None, category: str | None) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [Location.active.is_(True)]
    if region:
        where.append(Location.region_code.startswith(region, autoescape=True))
    if item_type:
        where.append(_item_condition(item_type))
    if category:
        where.append(ItemType.category == category)
    return where


def _from_quotas(*columns: Any) -> Any:
    return (select(*columns).select_from(Q).join(Location, Location.id == Q.location_id)
            .join(ItemType, ItemType.id == Q.item_type_id))


async def _types(session: AsyncSession, where: list[ColumnElement[bool]]) -> list[ItemTypeBrief]:
    rows = await session.execute(_from_quotas(ItemType.id, ItemType.code, ItemType.name, ItemType.unit,
                                              ItemType.tracking, ItemType.category).where(*where).distinct())
    return [ItemTypeBrief(id=r[0], code=r[1], name=r[2], unit=r[3], tracking=r[4], category=r[5]) for r in rows]


def _status_rows(region: str, types: list[ItemTypeBrief], where: list[ColumnElement[bool]], day: dt.date) -> Subquery:
    """One row per quota: its location, item type, minimum in force, available, shortfall, level and its rank."""
    stock = site_stock_rows(region, types, list(SITE_KINDS), day)
    held = (select(stock.c.site_id, stock.c.item_type_id, func.sum(stock.c.available).label("available"))
            .group_by(stock.c.site_id, stock.c.item_type_id).subquery())
    in_season = _in_season(day)
    minimum = case((in_season, Q.season_minimum), else_=Q.minimum)
    available = func.coalesce(held.c.available, 0)
    level = case((available < minimum, "below"), (available < minimum + Q.warning_margin, "warning"), else_="ok")
    rank = case((available < minimum, 0), (available < minimum + Q.warning_margin, 1), else_=2)
    rows: Subquery = (_from_quotas(
        Q.id.label("quota_id"), Q.location_id, Location.code.label("location_code"),
        Location.name.label("location_name"), Location.kind.label("location_kind"), Location.region_code,
        Q.item_type_id, ItemType.code.label("item_code"), ItemType.name.label("item_name"), ItemType.unit,
        ItemType.category, Q.minimum, Q.warning_margin, Q.season_name, Q.season_start, Q.season_end,
        Q.season_minimum, case((in_season, True), else_=False).label("in_season"), minimum.label("minimum_in_force"),
        available.label("available"), case((available < minimum, minimum - available), else_=0).label("shortfall"),
        level.label("level"), rank.label("rank"))
        .outerjoin(held, and_(held.c.site_id == Q.location_id, held.c.item_type_id == Q.item_type_id))
        .where(*where).subquery())
    return rows


def _status(r: Any) -> QuotaStatus:
    season = (Season(start=r.season_start, end=r.season_end, minimum=r.season_minimum, name=r.season_name or "汛期")
              if r.season_start is not None else None)
    return QuotaStatus(
        quota_id=r.quota_id, location_id=r.location_id, location_code=r.location_code, location_name=r.location_name,
        location_kind=r.location_kind, region_code=r.region_code, item_type_id=r.item_type_id, item_code=r.item_code,
        item_name=r.item_name, unit=r.unit, category=r.category, minimum=r.minimum, warning_margin=r.warning_margin,
        season=season, in_season=bool(r.in_season), minimum_in_force=int(r.minimum_in_force),
        available=int(r.available), shortfall=int(r.shortfall), level=r.level)


async def quota_status(
    session: AsyncSession, *, region: str | None = None, item_type: str | None = None, category: str | None = None,
    level: Level | None = None, limit: int = 50, offset: int = 0, today: dt.date | None = None,
) -> QuotaStatusPage:
    """Each quota under ``region`` with what is available, the minimum in force ``today``, shortfall and level.

    Worst first: below, then warning, then ok; then the largest shortfall, location code, item code. ``counts``
    are taken before the ``level`` filter. ``item_type`` is an id or a code (an unknown one is a 422).
    """
    day = today or beijing_today()
    if region:
        await require_region(session, region, field="region")
    if level is not None and level not in LEVELS:
        raise InvalidInput(f"level 应为 ok、warning 或 below，收到 {level!r}", field="level")
    where = _conditions(region, item_type, category)
    if item_type and not await session.scalar(select(ItemType.id).where(_item_condition(item_type))):
        raise InvalidInput(f"物资品目 {item_type} 不存在（可填 id 或物资编号）", field="item_type")
    types = await _types(session, where)
    if not types:
        return QuotaStatusPage(items=[], total=0, limit=limit, offset=offset, on=day, counts=LevelCounts())
    rows = _status_rows(region or "", types, where, day)
    counts = LevelCounts(**{lv: int(n) for lv, n in await session.execute(
        select(rows.c.level, func.count()).group_by(rows.c.level))})
    page = select(rows)
    if level is not None:
        page = page.where(rows.c.level == level)
    result = await session.execute(page.order_by(rows.c.rank, rows.c.shortfall.desc(), rows.c.location_code,
                                                 rows.c.item_code).limit(limit).offset(offset))
    total = getattr(counts, level) if level else counts.below + counts.warning + counts.ok
    return QuotaStatusPage(items=[_status(r) for r in result], total=total, limit=limit, offset=offset, on=day,
                           counts=counts)
