"""Locations (储备点位): depots, reserve points, vendors, vehicles, staging sites and bins."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.errors import Conflict, InvalidInput
from inventory.places.geo import to_wgs84, validate_point
from inventory.places.regions import require_region
from inventory.places.schemas import LocationCreate, LocationRead, LocationUpdate
from inventory.schemas import Page
from inventory.store.keyset import Order, after_row, check_paging, page_rows
from inventory.store.label_codes import issue_label
from inventory.store.lookup import get_or_not_found, scalar_or_not_found
from inventory.store.models import Location, utcnow

_BY_ID: Order = ((Location.id, False),)  # the order of list_locations


def location_read(loc: Location) -> LocationRead:
    """The public view of a location."""
    return LocationRead(
        id=loc.id, code=loc.code, name=loc.name, kind=loc.kind, parent_id=loc.parent_id,
        region_code=loc.region_code, address=loc.address, contact_name=loc.contact_name,
        contact_phone=loc.contact_phone, lat=loc.lat, lon=loc.lon, source_crs=loc.source_crs,
        source_lat=loc.source_lat, source_lon=loc.source_lon, coord_approximate=loc.coord_approximate,
        agreement_lead_hours=loc.agreement_lead_hours, label_code=loc.label_code, active=loc.active,
        created_at=loc.created_at, updated_at=loc.updated_at,
    )


async def get_location(session: AsyncSession, location_id: int, *, field: str | None = None) -> Location:
    """The location with this id; NotFound (or InvalidInput naming ``field`` when it came in a body)."""
    return await get_or_not_found(session, Location, location_id, f"地点 id={location_id}", input_field=field)


async def get_location_by_code(session: AsyncSession, code: str) -> Location:
    """The location with this code, or NotFound."""
    return await scalar_or_not_found(session, select(Location).where(Location.code == code), f"地点编号 {code}")


def _set_coordinates(
    loc: Location, lat: float | None, lon: float | None, crs: str, region_code: str
) -> None:
    if (lat is None) != (lon is None):
        missing = "lon" if lon is None else "lat"
        raise InvalidInput("纬度和经度须同时填写或同时留空", field=missing)
    if lat is None or lon is None:
        loc.lat = loc.lon = loc.source_lat = loc.source_lon = None
        loc.source_crs = None
        return
    validate_point(lat, lon, region_code=region_code)
    wlat, wlon = to_wgs84(lat, lon, crs)  # type: ignore[arg-type]
    loc.lat, loc.lon = round(wlat, 7), round(wlon, 7)
    loc.source_crs, loc.source_lat, loc.source_lon = crs, lat, lon


async def create_location(session: AsyncSession, data: LocationCreate) -> Location:
    """Create a location; a bin must sit inside an existing location."""
    await require_region(session, data.region_code)
    if await session.scalar(select(Location.id).where(Location.code == data.code)):
        raise Conflict(f"地点编号 {data.code} 已存在", field="code")
    parent = None
    if data.parent_id is not None:
        parent = await get_location(session, data.parent_id, field="parent_id")
    if data.kind == "bin" and parent is None:
        raise InvalidInput("库位/货架 (bin) 必须指定所属地点 parent_id", field="parent_id")
    if parent is not None and parent.kind == "bin" and data.kind != "bin":
        raise InvalidInput(f"{data.kind} 不能放在库位 (bin) 之下", field="parent_id")
    loc = Location(
        code=data.code, name=data.name, kind=data.kind, parent_id=data.parent_id, path="",
        region_code=data.region_code, address=data.address, contact_name=data.contact_name,
        contact_phone=data.contact_phone, coord_approximate=data.coord_approximate,
        agreement_lead_hours=data.agreement_lead_hours, active=True,
    )
    lat, lon, crs = data.lat, data.lon, data.crs
    if lat is None and lon is None and parent is not None and data.kind == "bin":
        lat, lon, crs = parent.lat, parent.lon, "wgs84"  # a bin sits where its depot is
    _set_coordinates(loc, lat, lon, crs, data.region_code)
    session.add(loc)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"地点编号 {data.code} 已存在", field="code") from exc
    loc.path = f"{parent.path if parent else '/'}{loc.id}/"
    loc.site_id = loc.id if loc.kind != "bin" or parent is None else parent.site_id
    await session.flush()
    await issue_label(session, "location", loc.id)
    await session.refresh(loc)
    return loc


async def update_location(session: AsyncSession, location_id: int, data: LocationUpdate) -> Location:
    """Apply a partial change, keeping the tree acyclic and coordinates valid."""
    loc = await get_location(session, location_id)
    changes = {f: v for f in data.__struct_fields__ if (v := getattr(data, f)) is not msgspec.UNSET}
    region_code = changes.get("region_code", loc.region_code)
    if "region_code" in changes:
        await require_region(session, region_code)
    kind = changes.get("kind", loc.kind)
    parent_id = changes.get("parent_id", loc.parent_id)
    if kind == "bin" and parent_id is None:
        raise InvalidInput("库位/货架 (bin) 必须指定所属地点 parent_id", field="parent_id")
    if "parent_id" in changes and parent_id != loc.parent_id:
        await _reparent(session, loc, parent_id)
    if {"lat", "lon", "crs", "region_code"} & changes.keys():
        if "lat" in changes or "lon" in changes:
            lat, lon = changes.get("lat", loc.source_lat), changes.get("lon", loc.source_lon)
            crs = changes.get("crs", "wgs84")
        else:
            lat, lon = loc.source_lat, loc.source_lon
            crs = changes.get("crs", loc.source_crs or "wgs84")
        _set_coordinates(loc, lat, lon, crs, region_code)
    for name in ("name", "kind", "region_code", "address", "contact_name", "contact_phone",
                 "coord_approximate", "agreement_lead_hours", "active"):
        if name in changes:
            setattr(loc, name, changes[name])
    if "kind" in changes:
        subtree = (await session.scalars(select(Location).where(Location.path.startswith(loc.path)))).all()
        await _refresh_sites(session, subtree)
    loc.updated_at = utcnow()
    await session.flush()
    return loc


async def _reparent(session: AsyncSession, loc: Location, parent_id: int | None) -> None:
    old_path = loc.path
    if parent_id is None:
        new_prefix = "/"
    else:
        parent = await get_location(session, parent_id, field="parent_id")
        if parent.path.startswith(old_path):
            raise InvalidInput(
                f"不能把地点 {loc.code} 移到它自己或它的下级 {parent.code} 之下（会形成循环）", field="parent_id"
            )
        new_prefix = parent.path
    new_path = f"{new_prefix}{loc.id}/"
    descendants = (await session.scalars(select(Location).where(Location.path.startswith(old_path)))).all()
    for d in descendants:
        d.path = new_path + d.path[len(old_path):]
    loc.parent_id = parent_id
    await _refresh_sites(session, descendants)


async def _refresh_sites(session: AsyncSession, changed: Sequence[Location]) -> None:
    """Recompute the site (nearest non-bin ancestor-or-self) of locations whose place in the tree changed."""
    ids = {int(p) for loc in changed for p in loc.path.strip("/").split("/") if p}
    kinds = dict((await session.execute(select(Location.id, Location.kind).where(Location.id.in_(ids)))).all())
    kinds.update({loc.id: loc.kind for loc in changed})
    for loc in changed:
        chain = [int(p) for p in loc.path.strip("/").split("/") if p]
        loc.site_id = next((i for i in reversed(chain) if kinds.get(i) != "bin"), loc.id)


async def list_locations(
    session: AsyncSession, *, kind: str | None, region: str | None, parent_id: int | None,
    q: str | None, limit: int, offset: int, after_id: int | None = None,
) -> Page[LocationRead]:
    """Locations filtered by kind, region code prefix, parent and name/code text, by id (``after_id``: after it)."""
    check_paging(offset, after_id)
    stmt = select(Location)
    if kind:
        stmt = stmt.where(Location.kind == kind)
    if region:
        stmt = stmt.where(Location.region_code.startswith(region, autoescape=True))
    if parent_id is not None:
        stmt = stmt.where(Location.parent_id == parent_id)
    if q:
        stmt = stmt.where(Location.name.contains(q, autoescape=True) | Location.code.contains(q, autoescape=True))
    total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows, next_id = page_rows((await session.scalars(
        stmt.where(await after_row(session, _BY_ID, after_id)).order_by(Location.id).limit(limit + 1).offset(offset)
    )).all(), limit, lambda r: r.id)
    return Page(items=[location_read(r) for r in rows], total=total or 0, limit=limit, offset=offset,
                next_after_id=next_id)
