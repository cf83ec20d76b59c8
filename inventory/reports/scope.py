"""The scope of a report: one location with its bins, or every location of a region; how lines roll up."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from inventory.errors import InvalidInput
from inventory.places.regions import require_region
from inventory.reports.schemas import PlaceBrief, ReportScope
from inventory.stock.lot_queries import find_location
from inventory.store.models import Location

MAX_PLACES = 50_000  # a province has about 20,000 locations


@dataclass(frozen=True)
class Scoped:
    """A resolved scope: the struct reports carry, the locations it covers and where each one's lines go."""

    scope: ReportScope
    places: Select[int]  # ids of every location covered (a subquery for IN)
    line_of: dict[int, int]  # location id → the location its lines are shown under

    def where(self, column: InstrumentedAttribute[int] | ColumnElement[int]) -> ColumnElement[bool]:
        """``column`` (a location id) lies in the scope."""
        return column.in_(self.places)


async def resolve_scope(session: AsyncSession, *, location: str | None, region: str | None) -> Scoped:
    """The scope named by a location (id or code) or a region code — exactly one of them.

    A location covers itself and everything below it (its bins), all shown as one location. A region covers
    every location whose region code starts with it; a bin's lines go to its site (``Location.site_id``).
    """
    location = (location or "").strip() or None
    region = (region or "").strip() or None
    if (location is None) == (region is None):
        raise InvalidInput("请选择报表范围：填写地点（编号或 id）或行政区划代码，二者选一", field="location"
                           if location is None else "region")
    if location is not None:
        loc = await find_location(session, location, field="location")
        places = select(Location.id).where(Location.path.startswith(loc.path, autoescape=True))
        ids = list(await session.scalars(places.limit(MAX_PLACES)))
        scope = ReportScope(kind="location", name=loc.name, code=loc.code, location_id=loc.id,
                            region_code=loc.region_code)
        return Scoped(scope, places, dict.fromkeys(ids, loc.id))
    assert region is not None
    reg = await require_region(session, region, field="region")
    places = select(Location.id).where(Location.region_code.startswith(reg.code, autoescape=True))
    rows = (await session.execute(
        select(Location.id, func.coalesce(Location.site_id, Location.id))
        .where(Location.region_code.startswith(reg.code, autoescape=True)).limit(MAX_PLACES))).all()
    scope = ReportScope(kind="region", name=reg.name, code=reg.code, region_code=reg.code)
    return Scoped(scope, places, {int(i): int(site) for i, site in rows})


async def place_briefs(session: AsyncSession, ids: set[int]) -> dict[int, PlaceBrief]:
    """Code, name and region of these locations."""
    if not ids:
        return {}
    rows = await session.execute(select(Location.id, Location.code, Location.name, Location.region_code)
                                 .where(Location.id.in_(sorted(ids))))
    return {i: PlaceBrief(id=i, code=code, name=name, region_code=rc) for i, code, name, rc in rows}
