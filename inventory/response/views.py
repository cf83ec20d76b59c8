"""Reading incidents and dispatch orders for people: filtered incident lists, an incident with its orders, one
order with its lines, vouchers and history, and the place choices of the incident form.

The API's read models (``incident_read``, ``dispatch_read``) stay where they are; these views add the names
(item types, places, regions, keepers) a commander reads, in a fixed number of queries per page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.places.centres import centres_gcj02
from inventory.response.incidents import get_incident, incident_read
from inventory.response.order_views import (
    INCIDENT_STATUS_ZH,
    KIND_ZH,
    OPEN_ORDER_STATUSES,
    ORDERS_SHOWN,
    OrderView,
    beijing_midnight,
    order_views,
    overdue_conditions,
    place_names,
)
from inventory.response.schemas import IncidentRead
from inventory.store.models import (
    Dispatch,
    Incident,
    Location,
    Region,
    utcnow,
)


@dataclass
class RegionChoice:
    """A county with its townships, for the incident form's place list."""

    code: str
    name: str
    townships: list[tuple[str, str]]


async def region_choices(session: AsyncSession, city: str) -> list[RegionChoice]:
    """The counties of a city (4-digit code) and their townships, in code order."""
    rows = (await session.execute(select(Region.code, Region.name, Region.level, Region.parent_code).where(
        Region.code.startswith(city, autoescape=True), Region.level.in_((3, 4))).order_by(Region.code))).all()
    counties = {code: RegionChoice(code, name, []) for code, name, level, parent in rows
                if level == 3 and parent == city}
    for code, name, level, parent in rows:
        if level == 4 and parent in counties:
            counties[parent].townships.append((code, name))
    return list(counties.values())


def region_centre(code: str) -> tuple[float, float] | None:
    """The published centre (GCJ-02 lat, lon) of a region or, for a township, of its county; None if unknown."""
    for n in (12, 9, 6, 4, 2):
        if len(code) >= n and (centre := centres_gcj02().get(code[:n].ljust(12, "0"))):
            return centre
    return None


# --------------------------------------------------------------------------- incident list


@dataclass(frozen=True)
class IncidentFilter:
    """What the incident list is narrowed to; dates are Beijing days, both ends included."""

    status: str | None = "open"
    kind: str | None = None
    q: str = ""
    since: dt.date | None = None
    until: dt.date | None = None
    limit: int = 20
    offset: int = 0


@dataclass
class IncidentRow:
    """An incident in the list: where, since when, and how its orders stand."""

    incident: IncidentRead
    kind_zh: str
    status_zh: str
    place: str
    orders: int = 0
    open_orders: int = 0
    overdue_orders: int = 0


async def _rows(session: AsyncSession, incidents: list[Incident], now: dt.datetime) -> list[IncidentRow]:
    ids = [i.id for i in incidents]
    places = await place_names(session, {i.region_code for i in incidents})
    rows = {i.id: IncidentRow(incident_read(i), KIND_ZH.get(i.kind, i.kind), INCIDENT_STATUS_ZH.get(i.status, i.status),
                              places.get(i.region_code, i.region_code)) for i in incidents}
    if ids:
        for incident_id, status, n in (await session.execute(
                select(Dispatch.incident_id, Dispatch.status, func.count()).where(Dispatch.incident_id.in_(ids))
                .group_by(Dispatch.incident_id, Dispatch.status))).all():
            rows[incident_id].orders += int(n)
            if status in OPEN_ORDER_STATUSES:
                rows[incident_id].open_orders += int(n)
        for incident_id, n in (await session.execute(
                select(Dispatch.incident_id, func.count())
                .where(Dispatch.incident_id.in_(ids), *overdue_conditions(now))
                .group_by(Dispatch.incident_id))).all():
            rows[incident_id].overdue_orders = int(n)
    return [rows[i] for i in ids]


async def incident_rows(session: AsyncSession, f: IncidentFilter,
                        now: dt.datetime | None = None) -> tuple[list[IncidentRow], int]:
    """One page of incidents, newest first, with their order counts; and how many match in all."""
    stmt = select(Incident)
    if f.status:
        stmt = stmt.where(Incident.status == f.status)
    if f.kind:
        stmt = stmt.where(Incident.kind == f.kind)
    if f.q:
        stmt = stmt.where(Incident.name.contains(f.q, autoescape=True))
    if f.since:
        stmt = stmt.where(Incident.created_at >= beijing_midnight(f.since))
    if f.until:
        stmt = stmt.where(Incident.created_at < beijing_midnight(f.until + dt.timedelta(days=1)))
    total = int(await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    found = list(await session.scalars(stmt.order_by(Incident.created_at.desc(), Incident.id.desc())
                                       .limit(f.limit).offset(f.offset)))
    return await _rows(session, found, now or utcnow()), total


# --------------------------------------------------------------------------- orders


@dataclass
class IncidentView:
    """An incident with its staging place and its orders."""

    row: IncidentRow
    site_name: str
    site_code: str
    orders: list[OrderView]
    more_orders: bool
    source_crs: str
    source_lat: float
    source_lon: float

    @property
    def open_orders(self) -> list[OrderView]:
        """Orders still under way (closing the incident leaves them so)."""
        return [o for o in self.orders if o.read.status in OPEN_ORDER_STATUSES]


async def incident_view(session: AsyncSession, incident_id: int, now: dt.datetime | None = None) -> IncidentView:
    """One incident and its newest orders with their details; NotFound when there is none."""
    now = now or utcnow()
    incident = await get_incident(session, incident_id)
    row = (await _rows(session, [incident], now))[0]
    site = await session.get(Location, incident.location_id)
    found = list(await session.scalars(select(Dispatch).where(Dispatch.incident_id == incident.id)
                                       .order_by(Dispatch.id.desc()).limit(ORDERS_SHOWN + 1)))
    orders = await order_views(session, found[:ORDERS_SHOWN], now=now)
    return IncidentView(row=row, site_name=site.name if site else "", site_code=site.code if site else "",
                        orders=orders, more_orders=len(found) > ORDERS_SHOWN, source_crs=incident.source_crs,
                        source_lat=incident.source_lat, source_lon=incident.source_lon)
