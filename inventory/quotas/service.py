"""Writing and reading quotas: one per (location, item type), set at a site (a bin's stock counts at its site).

A commander sets the quotas of his region (``quotas.write``, scoped); an admin anyone's. The season's minimum
may not be below the ordinary one. Writes flush; the request commits.
"""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.access.scope import Principal, require_scope
from inventory.errors import Conflict, InvalidInput
from inventory.places.refs import load_item
from inventory.places.regions import require_region
from inventory.quotas.rules import check_month_day
from inventory.quotas.schemas import QuotaCreate, QuotaRead, QuotaUpdate, Season
from inventory.schemas import Page
from inventory.store.lookup import get_or_not_found
from inventory.store.models import ItemType, Location, ReserveQuota, utcnow

_READ = (ReserveQuota, Location.code, Location.name, Location.region_code, ItemType.code, ItemType.name,
         ItemType.spec, ItemType.unit)
MAX_SHEET_ROWS = 100_000  # quotas listed in one downloaded sheet


def season_of(q: ReserveQuota) -> Season | None:
    """The quota's season, if it has one."""
    if q.season_start is None or q.season_end is None or q.season_minimum is None:
        return None
    return Season(start=q.season_start, end=q.season_end, minimum=q.season_minimum, name=q.season_name or "汛期")


def _read(row: Any) -> QuotaRead:
    q: ReserveQuota = row[0]
    return QuotaRead(
        id=q.id, location_id=q.location_id, location_code=row[1], location_name=row[2], region_code=row[3],
        item_type_id=q.item_type_id, item_code=row[4], item_name=row[5], item_spec=row[6], unit=row[7],
        minimum=q.minimum, warning_margin=q.warning_margin, season=season_of(q), note=q.note, created_by=q.created_by,
        created_at=q.created_at, updated_by=q.updated_by, updated_at=q.updated_at)


def _joined() -> Select[*tuple[Any, ...]]:
    return (select(*_READ).join(Location, Location.id == ReserveQuota.location_id)
            .join(ItemType, ItemType.id == ReserveQuota.item_type_id))


async def quota_read(session: AsyncSession, quota_id: int) -> QuotaRead:
    """The public view of a quota (NotFound when there is none)."""
    await get_quota(session, quota_id)
    return _read((await session.execute(_joined().where(ReserveQuota.id == quota_id))).one())


async def get_quota(session: AsyncSession, quota_id: int) -> ReserveQuota:
    """The quota with this id, or NotFound."""
    return await get_or_not_found(session, ReserveQuota, quota_id, f"储备定额 id={quota_id}")


def check_season(minimum: int, season: Season | None, *, field: str = "season") -> None:
    """InvalidInput unless the season's days exist and its minimum is not below the ordinary ``minimum``."""
    if season is None:
        return
    check_month_day(season.start, field=f"{field}.start")
    check_month_day(season.end, field=f"{field}.end")
    if season.minimum < minimum:
        raise InvalidInput(f"{season.name}最低储备量 {season.minimum} 低于平时的最低储备量 {minimum}",
                           field=f"{field}.minimum")


def set_season(q: ReserveQuota, season: Season | None) -> None:
    """Write the season's fields onto the quota (all empty without one)."""
    q.season_name = season.name if season else ""
    q.season_start = season.start if season else None
    q.season_end = season.end if season else None
    q.season_minimum = season.minimum if season else None


async def quota_site(session: AsyncSession, location_id: int, *, field: str = "location_id") -> int:
    """The id of a location a quota may be set at: an open site, not a bin (InvalidInput names the bin's site)."""
    loc = await get_or_not_found(session, Location, location_id, f"地点 id={location_id}", input_field=field)
    if loc.kind == "bin":
        site = await session.get(Location, loc.site_id) if loc.site_id else None
        where = f"，请设在其所属的 {site.name}（id={site.id}）" if site else ""
        raise InvalidInput(f"储备定额按库点设定，{loc.name} 是货位{where}", field=field)
    if not loc.active:
        raise InvalidInput(f"{loc.name} 已停用，不能设定储备定额", field=field)
    return loc.id


async def create_quota(session: AsyncSession, data: QuotaCreate, principal: Principal) -> ReserveQuota:
    """Set a quota at a location in the user's scope; a second quota of the same item there is a 409."""
    site = await quota_site(session, data.location_id)
    await require_scope(session, principal, site)
    item = await load_item(session, data.item_type_id, field="item_type_id")
    check_season(data.minimum, data.season)
    taken = await session.scalar(select(ReserveQuota.id).where(ReserveQuota.location_id == site,
                                                               ReserveQuota.item_type_id == item.id))
    if taken:
        raise Conflict(f"该地点已有 {item.name} 的储备定额（id={taken}），请修改它（PATCH /api/v1/quotas/{taken}）",
                       field="item_type_id", extra={"quota_id": taken})
    now = utcnow()
    q = ReserveQuota(location_id=site, item_type_id=item.id, minimum=data.minimum, warning_margin=data.warning_margin,
                     note=data.note, created_by=principal.username, created_at=now, updated_by=principal.username,
                     updated_at=now)
    set_season(q, data.season)
    session.add(q)
    try:
        await session.flush()
    except IntegrityError as exc:  # the same quota set a moment ago
        raise Conflict(f"该地点已有 {item.name} 的储备定额", field="item_type_id") from exc
    return q


async def update_quota(session: AsyncSession, quota_id: int, data: QuotaUpdate, principal: Principal) -> ReserveQuota:
    """Change a quota of a location in the user's scope (the season is replaced whole, or removed with null)."""
    q = await get_quota(session, quota_id)
    await require_scope(session, principal, q.location_id)
    minimum = q.minimum if data.minimum is msgspec.UNSET else data.minimum
    season = season_of(q) if data.season is msgspec.UNSET else data.season
    if data.season is not msgspec.UNSET:
        check_season(minimum, season)
    elif season is not None and season.minimum < minimum:
        raise InvalidInput(f"最低储备量 {minimum} 高于{season.name}最低储备量 {season.minimum}", field="minimum")
    q.minimum = minimum
    set_season(q, season)
    if data.warning_margin is not msgspec.UNSET:
        q.warning_margin = data.warning_margin
    if data.note is not msgspec.UNSET:
        q.note = data.note
    q.updated_by, q.updated_at = principal.username, utcnow()
    await session.flush()
    return q


async def delete_quota(session: AsyncSession, quota_id: int, principal: Principal) -> QuotaRead:
    """Remove a quota of a location in the user's scope; what it was."""
    q = await get_quota(session, quota_id)
    await require_scope(session, principal, q.location_id)
    read = await quota_read(session, quota_id)
    await session.delete(q)
    await session.flush()
    return read


async def list_quotas(
    session: AsyncSession, *, region: str | None = None, location_id: int | None = None,
    item_type_id: int | None = None, limit: int = 50, offset: int = 0,
) -> Page[QuotaRead]:
    """Quotas by location code, then item code; filtered by region (code prefix), location and item type."""
    stmt = _joined()
    if region:
        stmt = stmt.where(Location.region_code.startswith(region, autoescape=True))
    if location_id is not None:
        stmt = stmt.where(ReserveQuota.location_id == location_id)
    if item_type_id is not None:
        stmt = stmt.where(ReserveQuota.item_type_id == item_type_id)
    total = await session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = await session.execute(stmt.order_by(Location.code, ItemType.code).limit(limit).offset(offset))
    return Page(items=[_read(r) for r in rows], total=total or 0, limit=limit, offset=offset)


async def quotas_for_sheet(session: AsyncSession, region: str) -> list[QuotaRead]:
    """Every quota under ``region`` (at most MAX_SHEET_ROWS), by location and item code, for the sheet to fill in."""
    await require_region(session, region, field="region")
    stmt = _joined().where(Location.region_code.startswith(region, autoescape=True))
    rows = await session.execute(stmt.order_by(Location.code, ItemType.code).limit(MAX_SHEET_ROWS))
    return [_read(r) for r in rows]
