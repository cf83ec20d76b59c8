"""The map's figures: per site (depots, reserve points, vendors… with coordinates) what is available of the
categories a commander looks at first, how many units are faulty or overdue for inspection, how many agreements
(协议储备) bind the firm of a vendor site today; and the open incidents to draw beside them.

"Available" is the rule of :mod:`inventory.availability.service` (its :func:`site_stock_rows`, not a copy):
unreserved bulk stock in unexpired lots plus ready serial units plus what valid agreements' lines offer at their
vendor sites, bins counted at their site, inactive places never. Every active site with coordinates is listed, one
with nothing booked too (a firm's warehouse that only has an agreement shows its agreement figures). Read in one
short transaction by the caller (``db.read()``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Final

import msgspec
from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from inventory.availability.schemas import ItemTypeBrief
from inventory.availability.service import site_stock_rows
from inventory.clock import beijing_today
from inventory.places.schemas import SITE_KINDS
from inventory.store.models import Agreement, Asset, Incident, ItemType, Location

__all__ = ["MAP_CATEGORIES", "IncidentPoint", "MapOverview", "SiteFigures", "map_overview", "map_sites",
           "open_incidents"]

MAP_CATEGORIES: Final = ("pump", "boat", "generator")
"""The categories counted per site by default: 排涝泵, 舟艇, 发电机."""
MAX_SITES: Final = 5000
"""Sites listed at most (a prefecture has a few hundred)."""


class SiteFigures(msgspec.Struct, kw_only=True):
    """A site on the map: where it is, whom to call, what is available per category, what is not ready."""

    id: int
    code: str
    name: str
    kind: str
    region_code: str
    lat: float
    lon: float
    contact_name: str
    contact_phone: str
    label_code: str | None
    available: dict[str, int]
    """Available units per category of the question (every category asked is a key, 0 when none)."""
    faults: int = 0
    """Serial units held here (available or in maintenance) whose readiness is ``fault``."""
    overdue: int = 0
    """Serial units held here, available and not faulty, whose inspection is overdue (so not counted available)."""
    agreements: int = 0
    """Agreements (协议储备) valid today whose firm's warehouse this is (their lines count in ``available``)."""


class IncidentPoint(msgspec.Struct, kw_only=True):
    """An open incident to draw on the map, with what is available at its staging location (事件现场)."""

    id: int
    name: str
    kind: str
    region_code: str
    lat: float
    lon: float
    created_at: dt.datetime
    location_id: int
    available: dict[str, int] = msgspec.field(default_factory=dict)
    """Available units per category at the staging location (delivered there); filled by :func:`map_overview`."""


class MapOverview(msgspec.Struct, kw_only=True):
    """What the map shows: the sites, and the open incidents (their staging locations folded into them)."""

    sites: list[SiteFigures]
    incidents: list[IncidentPoint]


async def map_sites(
    session: AsyncSession, region_prefix: str, *, categories: Sequence[str] = MAP_CATEGORIES,
    today: dt.date | None = None,
) -> list[SiteFigures]:
    """Every active site with coordinates under ``region_prefix`` (a GB/T 2260 prefix), ordered by region code
    and site code, with available units per category in ``categories`` and its faulty/overdue units."""
    today = today or beijing_today()
    kinds = list(SITE_KINDS)
    sites = list(await session.scalars(
        select(Location)
        .where(Location.active.is_(True), Location.kind.in_(kinds), Location.lat.is_not(None),
               Location.lon.is_not(None), Location.region_code.startswith(region_prefix, autoescape=True))
        .order_by(Location.region_code, Location.code).limit(MAX_SITES)))
    if not sites:
        return []
    rows = (await session.execute(
        select(ItemType.id, ItemType.code, ItemType.name, ItemType.unit, ItemType.tracking, ItemType.category)
        .where(ItemType.category.in_(list(categories))).order_by(ItemType.id))).all()
    types = [ItemTypeBrief(id=r[0], code=r[1], name=r[2], unit=r[3], tracking=r[4], category=r[5]) for r in rows]
    category_of = {t.id: t.category for t in types}
    available: dict[int, dict[str, int]] = {s.id: dict.fromkeys(categories, 0) for s in sites}
    if types:
        stock = site_stock_rows(region_prefix, types, kinds, today)
        per_site = (select(stock.c.site_id, stock.c.item_type_id, func.sum(stock.c.available))
                    .group_by(stock.c.site_id, stock.c.item_type_id))
        for site_id, item_type_id, n in await session.execute(per_site):
            if site_id in available and n:
                available[site_id][category_of[item_type_id]] += int(n)
    faults, overdue = await _not_ready(session, region_prefix, kinds, today)
    agreements = await _valid_agreements(session, region_prefix, today)
    return [
        SiteFigures(id=s.id, code=s.code, name=s.name, kind=s.kind, region_code=s.region_code, lat=float(s.lat or 0),
                    lon=float(s.lon or 0), contact_name=s.contact_name, contact_phone=s.contact_phone,
                    label_code=s.label_code, available=available[s.id], faults=faults.get(s.id, 0),
                    overdue=overdue.get(s.id, 0), agreements=agreements.get(s.id, 0))
        for s in sites
    ]


async def _valid_agreements(session: AsyncSession, region_prefix: str, today: dt.date) -> dict[int, int]:
    """Per vendor site id under ``region_prefix``: how many agreements bind the firm today."""
    stmt = (select(Agreement.vendor_location_id, func.count(Agreement.id))
            .join(Location, Location.id == Agreement.vendor_location_id)
            .where(Location.region_code.startswith(region_prefix, autoescape=True), Agreement.valid_from <= today,
                   Agreement.valid_until >= today)
            .group_by(Agreement.vendor_location_id))
    return {site_id: int(n) for site_id, n in await session.execute(stmt)}


async def _not_ready(
    session: AsyncSession, region_prefix: str, kinds: list[str], today: dt.date,
) -> tuple[dict[int, int], dict[int, int]]:
    """Per site id: serial units with a fault (available or in maintenance), and available ones overdue."""
    site, held_at = aliased(Location), aliased(Location)
    fault = Asset.readiness == "fault"
    is_overdue = (Asset.status == "available") & ~fault & (Asset.next_inspection_due < today)
    stmt = (select(site.id, func.sum(case((fault, 1), else_=0)), func.sum(case((is_overdue, 1), else_=0)))
            .select_from(Asset).join(held_at, held_at.id == Asset.location_id)
            .join(site, held_at.site_id == site.id)
            .where(site.active, held_at.active, site.kind.in_(kinds),
                   site.region_code.startswith(region_prefix, autoescape=True),
                   Asset.status.in_(("available", "maintenance")), fault | is_overdue)
            .group_by(site.id))
    faults: dict[int, int] = {}
    overdue: dict[int, int] = {}
    for site_id, n_fault, n_overdue in await session.execute(stmt):
        if n_fault:
            faults[site_id] = int(n_fault)
        if n_overdue:
            overdue[site_id] = int(n_overdue)
    return faults, overdue


async def open_incidents(session: AsyncSession, region_prefix: str, *, limit: int = 500) -> list[IncidentPoint]:
    """The open incidents under ``region_prefix``, newest first."""
    rows = await session.scalars(
        select(Incident).where(Incident.status == "open",
                               Incident.region_code.startswith(region_prefix, autoescape=True))
        .order_by(Incident.created_at.desc(), Incident.id.desc()).limit(limit))
    return [IncidentPoint(id=i.id, name=i.name, kind=i.kind, region_code=i.region_code, lat=i.lat, lon=i.lon,
                          created_at=i.created_at, location_id=i.location_id) for i in rows]


async def map_overview(
    session: AsyncSession, region_prefix: str, *, categories: Sequence[str] = MAP_CATEGORIES,
    today: dt.date | None = None,
) -> MapOverview:
    """The sites and open incidents under ``region_prefix``. An incident's staging location (created with it, at
    the same point) is not listed as a site of its own: an open incident's marker shows its figures, and a closed
    incident's scene is no longer on the map."""
    sites = await map_sites(session, region_prefix, categories=categories, today=today)
    incidents = await open_incidents(session, region_prefix)
    scenes = set(await session.scalars(select(Incident.location_id).where(
        Incident.region_code.startswith(region_prefix, autoescape=True))))
    by_scene = {i.location_id: i for i in incidents}
    for site in sites:
        if site.id in by_scene:
            by_scene[site.id].available = site.available
    for incident in incidents:
        if not incident.available:
            incident.available = dict.fromkeys(categories, 0)
    return MapOverview(sites=[s for s in sites if s.id not in scenes], incidents=incidents)
