"""Incidents (事件): where an emergency is, with a staging location that dispatched stock travels to."""

from __future__ import annotations

import secrets

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.errors import Conflict
from inventory.places.geo import to_wgs84, validate_point
from inventory.places.locations import create_location
from inventory.places.regions import require_region
from inventory.places.schemas import LocationCreate
from inventory.response.schemas import IncidentCreate, IncidentRead
from inventory.schemas import Page
from inventory.store.keyset import check_paging, page_rows
from inventory.store.lookup import get_or_not_found
from inventory.store.models import Incident, utcnow


def incident_read(i: Incident) -> IncidentRead:
    """The public view of an incident."""
    return IncidentRead(i.id, i.name, i.kind, i.region_code, i.lat, i.lon, i.source_crs, i.status, i.location_id,
                        i.created_by, i.created_at, i.closed_at, i.level)


async def create_incident(session: AsyncSession, data: IncidentCreate, *, actor: str) -> Incident:
    """Open an incident; a staging location at its point receives what is dispatched."""
    await require_region(session, data.region_code)
    validate_point(data.lat, data.lon, region_code=data.region_code)
    lat, lon = to_wgs84(data.lat, data.lon, data.crs)
    # A random suffix, not a count of incidents: two commanders opening incidents at the same moment counted
    # the same number, and the second staging place's code collided (a 500 on PostgreSQL).
    code = f"INC-{utcnow():%Y%m%d}-{secrets.token_hex(4).upper()}"
    site = await create_location(session, LocationCreate(
        code=code, name=f"事件现场：{data.name}"[:100], kind="staging", region_code=data.region_code,
        lat=data.lat, lon=data.lon, crs=data.crs))
    incident = Incident(name=data.name, kind=data.kind, region_code=data.region_code, lat=lat, lon=lon,
                        source_crs=data.crs, source_lat=data.lat, source_lon=data.lon, status="open",
                        location_id=site.id, created_by=actor, created_at=utcnow(), level=data.level)
    session.add(incident)
    await session.flush()
    return incident


async def get_incident(session: AsyncSession, incident_id: int) -> Incident:
    """The incident with this id, or NotFound."""
    return await get_or_not_found(session, Incident, incident_id, f"事件 id={incident_id}")


async def list_incidents(session: AsyncSession, *, status: str | None, limit: int, offset: int,
                         after_id: int | None = None) -> Page[IncidentRead]:
    """Incidents, newest first (by id; ``after_id``: the older ones after it)."""
    check_paging(offset, after_id)
    stmt = select(Incident)
    if status:
        stmt = stmt.where(Incident.status == status)
    total = int(await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    if after_id is not None:
        stmt = stmt.where(Incident.id < after_id)
    rows, next_id = page_rows((await session.scalars(
        stmt.order_by(Incident.id.desc()).limit(limit + 1).offset(offset))).all(), limit, lambda i: i.id)
    return Page([incident_read(i) for i in rows], total, limit, offset, next_id)


async def close_incident(session: AsyncSession, incident_id: int) -> Incident:
    """Close an incident: no new dispatch orders (returns still go through)."""
    incident = await get_incident(session, incident_id)
    if incident.status == "closed":
        raise Conflict(f"事件 {incident.name} 已关闭")
    incident.status, incident.closed_at = "closed", utcnow()
    await session.flush()
    return incident
