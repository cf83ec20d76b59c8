"""The outward search behind ``nearest_available``: growing boxes until nothing farther could change the answer.

No source at great-circle distance d can arrive sooner than min mobilisation + d × (fewest travel
minutes per km anywhere). So once the sources inside radius R are enough (``limit`` reached or
``quantity`` covered) and the last one listed arrives no later than that bound at R, every source
outside R would rank after it: the answer is exact. Otherwise the radius grows — doubling, or straight
to the radius the bound needs — and beyond ``SITE_PLAN_MAX_KM`` one last query starts from the stock of
the wanted item types instead of from the sites (see :mod:`inventory.availability_sql`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.availability_sql import Plan, candidates_statement
from inventory.db import dialect_name
from inventory.eta import EtaConfig
from inventory.geo import bbox_around, haversine_km

INITIAL_RADIUS_KM: Final = 12.0
"""First search radius: a county seat's surroundings."""
SITE_PLAN_MAX_KM: Final = 60.0
"""Above this radius a box holds too many sites to visit one by one; start from the stock instead."""
GROWTH_MIN: Final = 1.25
_WORLD: Final = (-90.0, 90.0, -180.0, 180.0)


@dataclass(frozen=True, slots=True)
class Candidate:
    """Stock available at one site for one item type, with its distance and estimated arrival."""

    eta: float
    distance: float
    site_id: int
    item_type_id: int
    available: int
    row: Row[Any]


def rank_key(c: Candidate) -> tuple[float, float, int, int]:
    """Sources order: estimated arrival, distance, location id, item type id."""
    return c.eta, c.distance, c.site_id, c.item_type_id


def take_sources(ranked: Sequence[Candidate], quantity: int, limit: int) -> tuple[list[Candidate], bool]:
    """The leading candidates until their total reaches ``quantity`` or ``limit`` are taken; and whether one did."""
    taken: list[Candidate] = []
    total = 0
    for c in ranked:
        taken.append(c)
        total += c.available
        if total >= quantity or len(taken) >= limit:
            return taken, True
    return taken, False


@dataclass(frozen=True, slots=True)
class Query:
    """What the search looks for: where from, which item types, how many, from which kinds of site."""

    origin: tuple[float, float]
    bulk_ids: list[int]
    serial_ids: list[int]
    quantity: int
    limit: int
    max_km: float | None
    kinds: list[str]
    today: dt.date


async def _candidates(
    session: AsyncSession, q: Query, plan: Plan, box: tuple[float, float, float, float], eta: EtaConfig,
) -> list[Candidate]:
    """Every (site, item type) with stock available inside ``box`` (and within ``max_km``), ranked."""
    stmt = candidates_statement(dialect_name(session), plan, bool(q.bulk_ids), bool(q.serial_ids))
    params: dict[str, Any] = {"min_lat": box[0], "max_lat": box[1], "min_lon": box[2], "max_lon": box[3],
                              "kinds": q.kinds, "today": q.today}
    if q.bulk_ids:
        params["bulk_ids"] = q.bulk_ids
    if q.serial_ids:
        params["serial_ids"] = q.serial_ids
    lat, lon = q.origin
    found = []
    for row in await session.execute(stmt, params):
        d = haversine_km(lat, lon, row.lat, row.lon)
        if q.max_km is not None and d > q.max_km:
            continue
        minutes = eta.eta_minutes(row.kind, row.region_code, d, row.agreement_lead_hours)
        found.append(Candidate(minutes, d, row.site_id, row.item_type_id, int(row.available), row))
    found.sort(key=rank_key)
    return found


async def search_sources(session: AsyncSession, q: Query, eta: EtaConfig) -> list[Candidate]:
    """The sources of the answer, in order, searching outward until nothing farther could change them."""
    min_mobilisation = min(eta.mobilisation(k) for k in q.kinds)
    radius = INITIAL_RADIUS_KM if q.max_km is None else min(INITIAL_RADIUS_KM, q.max_km)
    while True:
        final = radius > SITE_PLAN_MAX_KM or (q.max_km is not None and radius >= q.max_km)
        if radius > SITE_PLAN_MAX_KM:
            found = await _candidates(session, q, "item",
                                      _WORLD if q.max_km is None else bbox_around(*q.origin, q.max_km), eta)
        else:
            found = await _candidates(session, q, "site", bbox_around(*q.origin, radius), eta)
        # Inside the radius every site has been seen; in the corners of the box, not necessarily.
        certain = found
        taken, stopped = take_sources(certain, q.quantity, q.limit)
        if final:
            return taken
        if stopped:
            if taken[-1].eta <= eta.lower_bound(min_mobilisation, radius):
                return taken
            # A site up to this radius could still arrive before the last source taken: look that far.
            radius = max(radius * GROWTH_MIN, (taken[-1].eta - min_mobilisation) / eta.min_minutes_per_km)
        else:
            radius *= 2
        if q.max_km is not None:
            radius = min(radius, q.max_km)
