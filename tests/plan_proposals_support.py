"""A small region for optimiser proposals, and brute force over site subsets to know its optimum.

南昌县 (360121): four candidate sites — two staging sites, a reserve point and a depot — and eight risk points
with weights; sandbags (bulk) at the depot (some on a shelf, some in an expired lot) and at one staging site.
Around it: a depot in 东湖区 (outside the region), a closed staging site, a shelf (a bin) and a vendor's warehouse.

The expected answers are computed here from the same travel rule as ``nearest`` (``EtaConfig.eta_minutes`` on
``haversine_km``, pair by pair) over every subset of sites, never written down as numbers.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from inventory.access.scope import Principal
from inventory.availability.eta import EtaConfig
from inventory.catalog.schemas import ItemTypeCreate
from inventory.catalog.service import create_item_type
from inventory.clock import beijing_today
from inventory.places.geo import haversine_km
from inventory.places.locations import create_location, update_location
from inventory.places.schemas import LocationCreate, LocationUpdate
from inventory.stock.ledger import post_document
from inventory.stock.schemas import LotSpec, MovementCreate, MovementLine
from inventory.store.db import Database
from inventory.store.models import RiskNeed, RiskPoint

ADMIN = Principal(0, "admin", "管理员", "admin", (), (), 0)
COMMANDER = Principal(7, "commander", "指挥员", "commander", ("360121",), (), 0)
OTHER_COMMANDER = Principal(8, "dh-commander", "东湖区指挥员", "commander", ("360102",), (), 0)
REGION = "360121"
YESTERDAY = beijing_today() - dt.timedelta(days=2)

# (code, kind, lat, lon)
SITES = (("S1", "staging", 28.60, 115.80), ("S2", "reserve_point", 28.45, 115.95),
         ("S3", "depot", 28.70, 116.05), ("S4", "staging", 28.35, 115.75))
# (code, lat, lon, weight, sandbags needed or 0)
POINTS = (("R1", 28.62, 115.83, 120.0, 3), ("R2", 28.58, 115.78, 80.0, 2), ("R3", 28.47, 115.97, 200.0, 4),
          ("R4", 28.43, 115.92, 60.0, 2), ("R5", 28.72, 116.08, 150.0, 5), ("R6", 28.68, 116.01, 90.0, 0),
          ("R7", 28.33, 115.72, 40.0, 1), ("R8", 28.52, 115.88, 110.0, 0))
SANDBAGS_AT = {"S3": (2, 3), "S4": (2, 0)}  # site → (on the site itself, on its shelf)


@dataclass(frozen=True)
class Place:
    """A candidate site as the brute force sees it."""

    id: int
    kind: str
    lat: float
    lon: float
    region_code: str = REGION


@dataclass(frozen=True)
class Point:
    """A risk point as the brute force sees it."""

    id: int
    lat: float
    lon: float
    weight: float
    need: int = 0


@dataclass
class World:
    """Ids of the region's places, points and item types."""

    sites: dict[str, Place]
    points: dict[str, Point]
    sandbag: int
    pump: int
    shelf: int
    outside: int  # a depot in 东湖区
    closed: int  # a closed staging site in 南昌县
    vendor: int  # a firm's warehouse in 南昌县
    extra: list[int] = field(default_factory=list)

    def site_ids(self) -> list[int]:
        """The four candidates' ids in S1…S4 order."""
        return [self.sites[c].id for c, *_ in SITES]


async def add_points(db: Database, points: Sequence[tuple[str, float, float, float, int]], item: int | None,
                     region: str = REGION) -> dict[str, Point]:
    """Risk points (with a need of ``item`` where the last number is above 0), written as the risk-point API would."""
    made: dict[str, Point] = {}
    async with db.write() as s:
        for code, lat, lon, weight, need in points:
            row = RiskPoint(code=code, name=f"风险点{code}", kind="village", region_code=region, lat=lat, lon=lon,
                            weight=weight, note="", created_by="test")
            s.add(row)
            await s.flush()
            if need and item is not None:
                s.add(RiskNeed(risk_point_id=row.id, item_type_id=item, quantity=need))
            made[code] = Point(row.id, lat, lon, weight, need)
    return made


async def receive(db: Database, location: int, item: int, quantity: int, *, lot: str | None = None,
                  expiry: dt.date | None = None) -> None:
    """A receipt of bulk stock (in a lot when ``lot`` is given)."""
    spec = LotSpec(number=lot, expiry_date=expiry) if lot else None
    async with db.write() as s:
        await post_document(s, MovementCreate(kind="receipt", location_id=location, lines=[
            MovementLine(item_type_id=item, quantity=quantity, lot=spec)]), actor="test")


async def make_world(db: Database) -> World:
    """The region of the module doc, with its stock."""
    async with db.write() as s:
        sites: dict[str, Place] = {}
        for code, kind, lat, lon in SITES:
            loc = await create_location(s, LocationCreate(code=code, name=f"候选{code}", kind=kind,
                                                          region_code=REGION, lat=lat, lon=lon))
            sites[code] = Place(loc.id, kind, lat, lon)
        shelf = await create_location(s, LocationCreate(code="S3-A1", name="S3 货架", kind="bin", region_code=REGION,
                                                        parent_id=sites["S3"].id))
        outside = await create_location(s, LocationCreate(code="D-DH", name="东湖区储备库", kind="depot",
                                                          region_code="360102", lat=28.68, lon=115.90))
        closed = await create_location(s, LocationCreate(code="S-CLOSED", name="已撤前置点", kind="staging",
                                                         region_code=REGION, lat=28.50, lon=115.90))
        vendor = await create_location(s, LocationCreate(code="V-NC", name="协议企业仓库", kind="vendor",
                                                         region_code=REGION, lat=28.55, lon=115.94))
        sandbag = await create_item_type(s, ItemTypeCreate(code="SANDBAG", name="编织袋", unit="条", tracking="bulk",
                                                           category="flood"))
        pump = await create_item_type(s, ItemTypeCreate(code="PUMP", name="排涝泵", unit="台", tracking="serial",
                                                        category="pump"))
    async with db.write() as s:
        await update_location(s, closed.id, LocationUpdate(active=False))
    points = await add_points(db, POINTS, sandbag.id)
    for code, (on_site, on_shelf) in SANDBAGS_AT.items():
        if on_site:
            await receive(db, sites[code].id, sandbag.id, on_site)
        if on_shelf:
            await receive(db, shelf.id, sandbag.id, on_shelf)
    await receive(db, sites["S3"].id, sandbag.id, 40, lot="OLD", expiry=YESTERDAY)  # expired: never counts
    await receive(db, outside.id, sandbag.id, 100)  # outside the region: never counts
    return World(sites, points, sandbag.id, pump.id, shelf.id, outside.id, closed.id, vendor.id)


# ---- brute force ---------------------------------------------------------------------------------------------

def minutes(site: Place, point: Point | Place, eta: EtaConfig | None = None) -> float:
    """The ``nearest`` estimate from a site to a point, pair by pair."""
    return (eta or EtaConfig()).eta_minutes(site.kind, site.region_code,
                                            haversine_km(site.lat, site.lon, point.lat, point.lon), None)


def best_coverage(sites: Sequence[Place], points: Sequence[Point], p: int,
                  target: float) -> tuple[float, list[set[int]]]:
    """The most weight within ``target`` that ``p`` sites can cover, and every subset that does."""
    scores = {combo: sum(pt.weight for pt in points if min(minutes(s, pt) for s in combo) <= target)
              for combo in itertools.combinations(sites, p)}
    best = max(scores.values())
    return best, [{s.id for s in combo} for combo, v in scores.items() if v == best]


def best_median(sites: Sequence[Place], points: Sequence[Point], p: int) -> tuple[float, list[set[int]]]:
    """The least Σ weight × minutes to the nearest chosen site over ``p`` sites, and every subset reaching it."""
    scores = {combo: sum(pt.weight * min(minutes(s, pt) for s in combo) for pt in points)
              for combo in itertools.combinations(sites, p)}
    best = min(scores.values())
    return best, [{s.id for s in combo} for combo, v in scores.items() if abs(v - best) <= 1e-9 * best]


def _compositions(total: int, parts: int) -> list[tuple[int, ...]]:
    """Every way to put ``total`` identical units into ``parts`` ordered boxes."""
    out = []
    for bars in itertools.combinations(range(total + parts - 1), parts - 1):
        edges = (-1, *bars, total + parts - 1)
        out.append(tuple(edges[k + 1] - edges[k] - 1 for k in range(parts)))
    return out


def best_stock(sites: Sequence[Place], points: Sequence[Point], units: int, target: float) -> float:
    """The best Σ weight × covered / need over every placement of ``units`` units on the sites.

    Exact only when each point is within ``target`` of at most one site (checked): the points of one site
    then share its units alone, and giving them to the highest weight per unit need first is optimal.
    """
    reach = {pt.id: [j for j, s in enumerate(sites) if minutes(s, pt) <= target] for pt in points if pt.need}
    assert all(len(r) <= 1 for r in reach.values()), "the brute force needs points reached by one site at most"
    best = 0.0
    for placed in _compositions(units, len(sites)):
        value = 0.0
        for j in range(len(sites)):
            left = placed[j]
            mine = sorted((pt for pt in points if pt.need and reach[pt.id] == [j]),
                          key=lambda pt: -pt.weight / pt.need)
            for pt in mine:
                take = min(left, pt.need)
                value += pt.weight * take / pt.need
                left -= take
        best = max(best, value)
    return best


def scattered(n: int, seed: int, box: tuple[float, float, float, float] = (28.30, 28.75, 115.70, 116.10)
              ) -> list[tuple[float, float]]:
    """``n`` reproducible points in a box of 南昌县."""
    rng = random.Random(seed)
    return [(round(rng.uniform(box[0], box[1]), 5), round(rng.uniform(box[2], box[3]), 5)) for _ in range(n)]


async def add_sites(db: Database, n: int, seed: int) -> list[int]:
    """``n`` more staging sites scattered over the region (a larger instance)."""
    ids = []
    async with db.write() as s:
        for k, (lat, lon) in enumerate(scattered(n, seed)):
            loc = await create_location(s, LocationCreate(code=f"X{seed}-{k}", name=f"前置点{k}", kind="staging",
                                                          region_code=REGION, lat=lat, lon=lon))
            ids.append(loc.id)
    return ids


async def add_many_points(db: Database, n: int, seed: int) -> None:
    """``n`` more risk points scattered over the region (a larger instance)."""
    rng = random.Random(seed)
    await add_points(db, [(f"Y{seed}-{k}", lat, lon, float(rng.randint(1, 500)), 0)
                          for k, (lat, lon) in enumerate(scattered(n, seed + 1))], None)
