"""The outward search behind ``nearest_available``: a growing arrival horizon until nothing unseen could matter.

A site of kind k at great-circle distance d cannot arrive sooner than mobilisation(k) + d × m, where m is
the fewest travel minutes per km anywhere (a vendor's lead time only adds). So every source arriving
within a horizon of T minutes lies within (T − mobilisation(k)) / m of the origin: reading, for each
kind, the sites inside a box of that radius finds all of them. If the sources arriving within T are
enough (``limit`` reached or ``quantity`` covered), nothing unseen can come before the last one listed
and the answer is exact. Otherwise T grows — to where the sources seen so far would be enough, or so
that the fastest kind's radius doubles — until every kind's radius covers ``max_km`` (or the earth).

Each round reads the boxes with one of two plans (:mod:`inventory.availability_sql`): site-first, whose
cost grows with the area, or stock-first, whose cost is the wanted item types' stock wherever it is.
Small boxes are read site-first; once the fastest kind's radius passes ``SITE_FIRST_KM``, a capped count
of the wanted item types' stock rows decides: below ``RARE_STOCK_ROWS`` the rest is read stock-first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.availability_sql import SITE_KINDS, Plan, bucket, candidates_statement, stock_rows_statement
from inventory.db import dialect_name
from inventory.eta import EtaConfig
from inventory.geo import bbox_around, haversine_km

INITIAL_RADIUS_KM: Final = 8.0
"""How far the fastest kind of site is looked for in the first round."""
SITE_FIRST_KM: Final = 20.0
"""Up to this radius (for the fastest kind) boxes are read site-first whatever the item types."""
RARE_STOCK_ROWS: Final = 2000
"""Below this many stock rows of the wanted item types, wider boxes are read stock-first."""
SITE_GROWTH: Final = 2.0
ITEM_GROWTH: Final = 4.0
WORLD_KM: Final = 20_100.0
"""Farther than any two points on earth: a box this big holds everything."""
_EMPTY: Final = (1.0, 0.0, 1.0, 0.0)  # min > max: no site lies inside
_EDGES: Final = ("min_lat", "max_lat", "min_lon", "max_lon")


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

    def ids(self) -> dict[str, Any]:
        """The item type bind parameters."""
        return ({"bulk_ids": self.bulk_ids} if self.bulk_ids else {}) | (
            {"serial_ids": self.serial_ids} if self.serial_ids else {})


def kind_radii(q: Query, eta: EtaConfig, horizon: float, limit_km: float) -> dict[str, float | None]:
    """How far a site of each kind can be and still arrive within ``horizon`` minutes (None: it cannot)."""
    radii: dict[str, float | None] = {}
    for kind in SITE_KINDS:
        spare = horizon - eta.mobilisation(kind)
        radii[kind] = min(spare / eta.min_minutes_per_km, limit_km) if kind in q.kinds and spare >= 0 else None
    return radii


def _box_params(origin: tuple[float, float], radii: dict[str, float | None]) -> dict[str, float]:
    """Bind parameters: a box per kind, and the outer box around them all."""
    boxes = {kind: _EMPTY if radius is None else bbox_around(*origin, radius) for kind, radius in radii.items()}
    used = [box for kind, box in boxes.items() if radii[kind] is not None]
    outer = (min(b[0] for b in used), max(b[1] for b in used), min(b[2] for b in used),
             max(b[3] for b in used)) if used else _EMPTY
    params = {f"{kind}_{name}": box[i] for kind, box in boxes.items() for i, name in enumerate(_EDGES)}
    return params | dict(zip(_EDGES, outer, strict=True))


async def _candidates(
    session: AsyncSession, q: Query, plan: Plan, radii: dict[str, float | None], eta: EtaConfig,
) -> list[Candidate]:
    """Every (site, item type) with stock available inside its kind's box (and within ``max_km``), ranked."""
    stmt = candidates_statement(dialect_name(session), plan, bucket(len(q.bulk_ids)), bucket(len(q.serial_ids)))
    params: dict[str, Any] = {**_box_params(q.origin, radii), "today": q.today, **q.ids()}
    lat, lon = q.origin
    found = []
    sites: dict[int, tuple[float, float]] = {}  # every item type at a site shares its distance and eta
    for row in await session.execute(stmt, params):
        site = sites.get(row.site_id)
        if site is None:
            d = haversine_km(lat, lon, row.lat, row.lon)
            site = sites[row.site_id] = (eta.eta_minutes(row.kind, row.region_code, d, row.agreement_lead_hours), d)
        if q.max_km is None or site[1] <= q.max_km:
            found.append(Candidate(site[0], site[1], row.site_id, row.item_type_id, int(row.available), row))
    found.sort(key=rank_key)
    return found


async def _is_rare(session: AsyncSession, q: Query) -> bool:
    """True when the wanted item types have fewer than RARE_STOCK_ROWS stock rows in all (counted with a cap)."""
    stmt = stock_rows_statement(bool(q.bulk_ids), bool(q.serial_ids), RARE_STOCK_ROWS)
    return int(await session.scalar(stmt, q.ids()) or 0) < RARE_STOCK_ROWS


async def search_sources(session: AsyncSession, q: Query, eta: EtaConfig) -> list[Candidate]:
    """The sources of the answer, in order, widening the arrival horizon until nothing unseen could change them."""
    fastest = min(eta.mobilisation(k) for k in q.kinds)
    limit_km = WORLD_KM if q.max_km is None else min(q.max_km, WORLD_KM)
    horizon = fastest + min(INITIAL_RADIUS_KM, limit_km) * eta.min_minutes_per_km
    everything = max(eta.mobilisation(k) for k in q.kinds) + limit_km * eta.min_minutes_per_km
    plan: Plan = "site"
    decided = False
    while True:
        found = await _candidates(session, q, plan, kind_radii(q, eta, horizon, limit_km), eta)
        if horizon >= everything:
            return take_sources(found, q.quantity, q.limit)[0]
        # Every source arriving within the horizon has been seen; later ones, not necessarily.
        taken, stopped = take_sources([c for c in found if c.eta <= horizon], q.quantity, q.limit)
        if stopped:
            return taken
        seen, enough = take_sources(found, q.quantity, q.limit)
        # The stock-first plan costs the same whatever the boxes: widen faster.
        wider = fastest + (ITEM_GROWTH if plan == "item" else SITE_GROWTH) * (horizon - fastest)
        horizon = min(max(seen[-1].eta, horizon + 1) if enough else wider, everything)
        if not decided and (horizon - fastest) / eta.min_minutes_per_km > SITE_FIRST_KM:
            decided = True
            plan = "item" if await _is_rare(session, q) else "site"
