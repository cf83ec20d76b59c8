"""The outward search behind ``nearest_available``: a growing arrival horizon until nothing unseen could matter.

A site of kind k at great-circle distance d cannot arrive sooner than mobilisation(k) + d × m, where m is
the fewest travel minutes per km anywhere (a vendor's lead time only adds). So every source arriving
within a horizon of T minutes lies within (T − mobilisation(k)) / m of the origin: reading, for each
kind, the sites inside a box of that radius finds all of them. If the sources arriving within T are
enough (``limit`` reached or ``quantity`` covered), nothing unseen can come before the last one listed
and the answer is exact. Otherwise T grows — to where the sources seen so far would be enough, or so
that the fastest kind's radius doubles — until every kind's radius covers ``max_km`` (or the earth).

Each round reads ``site_stock`` for the boxes (:mod:`inventory.stock.site_stock`, :mod:`inventory.availability.sql`):
one index range per wanted item type over the boxes' latitude band.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.availability.eta import EtaConfig
from inventory.availability.ownership import OwnScope
from inventory.availability.sql import PG_CANDIDATES, PG_SITE_DETAILS, SQLITE_CANDIDATES, SiteRow
from inventory.places.geo import bbox_around, haversine_km
from inventory.places.schemas import SITE_KINDS
from inventory.store.db import Reader, raw_sqlite, reader_dialect

INITIAL_RADIUS_KM: Final = 6.0
"""How far the fastest kind of site is looked for in the first round: a round's cost grows with the latitude
band it reads (measured on the province bench: 6 km best at the tail)."""
SITE_GROWTH: Final = 2.0
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
    row: SiteRow | Row[Any]
    agreement_id: int = 0
    """The agreement (协议储备) whose line this is; 0 for stock held at the site."""


def rank_key(c: Candidate) -> tuple[float, float, int, int, int]:
    """Sources order: estimated arrival, distance, location id, item type id, agreement id (stock first)."""
    return c.eta, c.distance, c.site_id, c.item_type_id, c.agreement_id


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
    own: OwnScope | None = None
    """With ``own``, only the sites it owns are sources (the asking user's own stock)."""

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


async def _candidates(reader: Reader, q: Query, boxes: dict[str, float], eta: EtaConfig) -> list[Candidate]:
    """Every (site, item type) with stock available inside its kind's box (and within ``max_km``), ranked."""
    rows: Sequence[Any]
    if reader_dialect(reader) == "sqlite":
        # The hottest statement of a commander's query, run on the sqlite3 connection itself: SQLAlchemy's
        # binding and row handling would cost more than SQLite's own work here.
        rows = [SiteRow._make(r) for r in (await raw_sqlite(reader)).fetchall(SQLITE_CANDIDATES, {
            **boxes, "today": q.today.isoformat(), "item_ids": json.dumps(q.bulk_ids + q.serial_ids)})]
    else:
        session = cast(AsyncSession, reader)  # PostgreSQL: always a session
        rows = (await session.execute(PG_CANDIDATES, {
            **boxes, "today": q.today, "item_ids": q.bulk_ids + q.serial_ids})).all()
    return _ranked(q, rows, eta)


def _ranked(q: Query, rows: Sequence[Any], eta: EtaConfig) -> list[Candidate]:
    """Candidates of the candidates statement's rows (within ``max_km``), in answer order."""
    lat, lon = q.origin
    found = []
    # Every item type at a site shares its distance and eta (an agreement's, its response hours).
    sites: dict[tuple[int, int], tuple[float, float]] = {}
    own = q.own
    for row in rows:
        if own is not None and not own.owns(row.site_id, row.region_code):
            continue
        key = (row.site_id, row.agreement_id or 0)
        site = sites.get(key)
        if site is None:
            d = haversine_km(lat, lon, row.lat, row.lon)
            site = sites[key] = (eta.eta_minutes(row.kind, row.region_code, d, row.agreement_lead_hours), d)
        if q.max_km is None or site[1] <= q.max_km:
            found.append(Candidate(site[0], site[1], row.site_id, row.item_type_id, int(row.available), row,
                                   row.agreement_id or 0))
    found.sort(key=rank_key)
    return found


def _growth(q: Query, found: Sequence[Candidate]) -> float:
    """How much farther to look next: double with nothing seen, less when what was seen is nearly enough."""
    if not found:
        return SITE_GROWTH
    per_source = max(1.0, sum(c.available for c in found) / len(found))
    wanted = min(q.limit, math.ceil(q.quantity / per_source))
    return min(SITE_GROWTH, max(1.25, 1.2 * math.sqrt(wanted / len(found))))


async def search_sources(reader: Reader, q: Query, eta: EtaConfig) -> list[Candidate]:
    """The sources of the answer, in order, widening the arrival horizon until nothing unseen could change them."""
    taken = await _search(reader, q, eta)
    missing = sorted({c.site_id for c in taken if c.row.code is None})
    if not missing:
        return taken
    # PostgreSQL ranked from site_stock alone: the sites' names and contacts, for the sources taken only.
    session = cast(AsyncSession, reader)
    details = {r.id: r for r in await session.execute(PG_SITE_DETAILS, {"ids": missing})}
    return [c if c.row.code is not None else dataclasses.replace(c, row=SiteRow._make(c.row)._replace(
        code=details[c.site_id].code, name=details[c.site_id].name, contact_name=details[c.site_id].contact_name,
        contact_phone=details[c.site_id].contact_phone)) for c in taken]


async def _search(reader: Reader, q: Query, eta: EtaConfig) -> list[Candidate]:
    """:func:`search_sources` before the details of the sites are read."""
    fastest = min(eta.mobilisation(k) for k in q.kinds)
    limit_km = WORLD_KM if q.max_km is None else min(q.max_km, WORLD_KM)
    horizon = fastest + min(INITIAL_RADIUS_KM, limit_km) * eta.min_minutes_per_km
    everything = max(eta.mobilisation(k) for k in q.kinds) + limit_km * eta.min_minutes_per_km
    boxes = _box_params(q.origin, kind_radii(q, eta, horizon, limit_km))
    while True:
        found = await _candidates(reader, q, boxes, eta)
        if horizon >= everything:
            return take_sources(found, q.quantity, q.limit)[0]
        # Every source arriving within the horizon has been seen; later ones, not necessarily.
        taken, stopped = take_sources([c for c in found if c.eta <= horizon], q.quantity, q.limit)
        if stopped:
            return taken
        # If the sources seen would do, look as far as the last of them could come from; else widen.
        seen, enough = take_sources(found, q.quantity, q.limit)
        wider = fastest + _growth(q, found) * (horizon - fastest)
        horizon = _capped(max(seen[-1].eta, horizon + 1) if enough else wider, fastest, limit_km, everything, eta)
        boxes = _box_params(q.origin, kind_radii(q, eta, horizon, limit_km))


def _capped(horizon: float, fastest: float, limit_km: float, everything: float, eta: EtaConfig) -> float:
    """Once the fastest kind's radius reaches the limit, read every kind that far (the last round)."""
    if (horizon - fastest) / eta.min_minutes_per_km >= limit_km:
        return everything
    return min(horizon, everything)
