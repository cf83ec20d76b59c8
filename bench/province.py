"""A province-scale database for benchmarks: Jiangxi with 20,000 locations, 200 item types, 1,000,000 units of
bulk stock over balances and 100,000 serial units.

The schema comes from the migrations; rows are written with Core ``executemany`` in large batches (no ORM
objects per row). Seeded, so every run builds the same province. bench/national.py builds a country of 25
copies with the same generators.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from inventory.clock import beijing_today
from inventory.places.geo import to_wgs84
from inventory.stock import site_stock
from inventory.store.db import Database
from inventory.store.models import Asset, Balance, ItemType, ItemTypeAttribute, Location, Lot, Region

LOCATIONS = 20_000
BULK_UNITS = 1_000_000
ASSETS = 100_000
SERIAL_CATEGORIES = {"pump": 12, "generator": 8, "boat": 6, "lighting": 6, "uav": 4, "chainsaw": 4, "radio": 4,
                     "rescue_tool": 6}
BULK_CATEGORIES = {"tent": 10, "bedding": 15, "clothing": 10, "flood": 20, "food": 20, "water": 10,
                   "medical": 15, "tools": 20, "fuel": 10, "hygiene": 20}
PERISHABLE = {"food", "water", "medical", "fuel", "hygiene"}
# (kind, how many, km scatter around the county centre, bulk item types held (lo, hi), weight of quantities)
PLACES = (("vendor", 300, 25.0, (5, 15), 4.0), ("vehicle", 1500, 30.0, (2, 5), 0.5),
          ("staging", 800, 25.0, (5, 15), 2.0))
BINS = 3000
STATUSES = (("available", 85), ("maintenance", 5), ("deployed", 4), ("reserved", 2), ("leased_out", 2),
            ("in_transit", 1), ("lost", 1))
BATCH = 20_000


@dataclass
class Province:
    """What the queries draw from."""

    points: list[tuple[float, float]]
    item_codes: list[str]
    categories: list[str]
    counts: dict[str, int]


def _centres() -> dict[str, tuple[float, float]]:
    """WGS-84 (lat, lon) of each county and city centre, by 6-digit or 4-digit code."""
    path = resources.files("inventory.places") / "data" / "jiangxi-centres-gcj02.csv"
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    result = {}
    for r in rows:
        code = r["adcode"].rstrip("0")
        code = code.ljust(6, "0")[:6] if len(code) > 4 else code.ljust(4, "0")
        result[code] = to_wgs84(float(r["latitude"]), float(r["longitude"]), "gcj02")
    return result


def _counties_and_towns(regions: Sequence[Any]) -> tuple[list[Any], dict[str, list[str]]]:
    """The counties (level 3) in code order, and the township codes (level 4) of each county."""
    counties = sorted((r for r in regions if r.level == 3), key=lambda r: str(r.code))
    towns: dict[str, list[str]] = {}
    for r in regions:
        if r.level == 4 and r.parent_code:
            towns.setdefault(r.parent_code, []).append(r.code)
    return counties, towns


def _scatter(rng: random.Random, lat: float, lon: float, km: float) -> tuple[float, float]:
    d = abs(rng.gauss(0, km / 2))
    bearing = rng.uniform(0, 2 * math.pi)
    return (round(lat + d * math.cos(bearing) / 111.32, 6),
            round(lon + d * math.sin(bearing) / (111.32 * math.cos(math.radians(lat))), 6))


def _zipf(n: int, s: float = 1.0) -> list[float]:
    return [1.0 / (i + 1) ** s for i in range(n)]


async def _insert(conn: AsyncConnection, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        await conn.execute(insert(table), list(rows[start:start + BATCH]))


def _locations(rng: random.Random, counties: list[Any], towns: dict[str, list[str]],
               centres: dict[str, tuple[float, float]], *, first_id: int = 1,
               spread: float = 1.0) -> list[dict[str, Any]]:
    """Depots per county, a reserve point per township, villages, vendors, vehicles, staging sites, then bins.

    ``LOCATIONS`` rows with ids from ``first_id``; ``spread`` widens every scatter around a county centre (a
    province whose counties lie farther apart: bench/national.py).
    """
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rows: list[dict[str, Any]] = []

    def add(kind: str, region: str, lat: float | None, lon: float | None, parent: dict[str, Any] | None = None,
            lead: float | None = None) -> dict[str, Any]:
        n = len(rows) + first_id
        row = {"id": n, "code": f"BL-{n:05d}", "name": f"{kind} {n}", "kind": kind, "region_code": region,
               "parent_id": parent["id"] if parent else None,
               "path": f"{parent['path'] if parent else '/'}{n}/",
               "site_id": parent["site_id"] if parent and kind == "bin" else n, "address": "",
               "contact_name": "王保管", "contact_phone": f"139{n:08d}", "lat": lat, "lon": lon,
               "source_crs": "wgs84", "source_lat": lat, "source_lon": lon, "coord_approximate": True,
               "agreement_lead_hours": lead, "label_code": None, "active": rng.random() > 0.02,
               "created_at": now, "updated_at": now}
        rows.append(row)
        return row

    def county_point(county: Any, km: float) -> tuple[str, float, float]:
        lat, lon = centres.get(county.code, centres[county.code[:4]])
        region = rng.choice(towns.get(county.code) or [county.code])
        return (region, *_scatter(rng, lat, lon, km * spread))

    depots = [add("depot", c.code, *centres.get(c.code, centres[c.code[:4]])) for c in counties]
    for county in counties:
        for town in towns.get(county.code, []):
            _, lat, lon = county_point(county, 18.0)
            add("reserve_point", town, lat, lon)
    for kind, count, km, _, _ in PLACES:
        for _ in range(count):
            lead = rng.choice([2.0, 4.0, 6.0, 8.0, 12.0, 24.0]) if kind == "vendor" else None
            add(kind, *county_point(rng.choice(counties), km), lead=lead)
    while len(rows) < LOCATIONS - BINS:
        add("reserve_point", *county_point(rng.choice(counties), 28.0))
    holders = depots * 8 + [r for r in rows if r["kind"] in ("reserve_point", "vendor")][:4000]
    while len(rows) < LOCATIONS:
        parent = rng.choice(holders)
        add("bin", parent["region_code"], parent["lat"], parent["lon"], parent=parent)
    return rows


def _item_types(rng: random.Random) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    flows = [50, 100, 200, 300, 400, 500, 600, 850, 1000, 1500]
    types, attrs = [], []
    n = 0
    for tracking, categories in (("serial", SERIAL_CATEGORIES), ("bulk", BULK_CATEGORIES)):
        for category, count in categories.items():
            for i in range(count):
                n += 1
                values: dict[str, float] = {"weight_kg": float(rng.randint(1, 900))}
                if category == "pump":
                    values |= {"flow_m3h": float(flows[i % len(flows)]), "head_m": float(rng.randint(8, 40))}
                elif category == "generator":
                    values |= {"power_kw": float(rng.choice([5, 10, 30, 50, 100, 150, 200, 300]))}
                elif category == "boat":
                    values |= {"capacity_persons": float(rng.choice([6, 8, 10, 12, 20]))}
                types.append({"id": n, "code": f"{category.upper()}-{i:02d}", "gbt_code": None,
                              "name": f"{category} {i}", "spec": "", "unit": "台" if tracking == "serial" else "件",
                              "tracking": tracking, "category": category, "tags_mask": rng.randint(0, 15),
                              "attributes": values, "shelf_life_days": 730 if category in PERISHABLE else None,
                              "inspection_interval_days": 180 if tracking == "serial" else None,
                              "active": True})
                attrs += [{"item_type_id": n, "name": k, "num_value": v, "str_value": None} for k, v in values.items()]
    return types, attrs


def _lots(rng: random.Random, bulk: list[dict[str, Any]],
          today: dt.date) -> tuple[list[dict[str, Any]], dict[int, list[int]]]:
    """Eight lots of each perishable item type; and the lot ids of each."""
    lots: list[dict[str, Any]] = []
    lots_of: dict[int, list[int]] = {}
    for it in bulk:
        if it["shelf_life_days"]:
            lots_of[it["id"]] = []
            for k in range(8):
                lots.append({"id": len(lots) + 1, "item_type_id": it["id"], "number": f"{it['code']}-{k}",
                             "origin": "", "expiry_date": today + dt.timedelta(days=rng.randint(-60, 700))})
                lots_of[it["id"]].append(len(lots))
    return lots, lots_of


def _balances(rng: random.Random, locations: list[dict[str, Any]], bulk: list[dict[str, Any]],
              lots_of: dict[int, list[int]], units: int = BULK_UNITS) -> list[dict[str, Any]]:
    """Balances whose on-hand quantities add up to ``units`` exactly.

    Each place holds a number of item types by its kind, popular ones more often (Zipf), each a lognormal
    quantity weighted by the kind; the quantities are then scaled to ``units``, at least 1 each. When the
    rows are too many for that (bench/national.py: a fifth of the units over as many places), every row holds 1 and
    the rest of the units is shared by the same weights.
    """
    held = {"depot": (60, 120, 40.0), "reserve_point": (3, 12, 1.0), "vendor": (5, 15, 4.0), "vehicle": (2, 5, 0.5),
            "staging": (5, 15, 2.0), "bin": (3, 10, 6.0)}
    weights = _zipf(len(bulk), 0.8)
    rows: list[dict[str, Any]] = []
    for loc in locations:
        lo, hi, scale = held[loc["kind"]]
        chosen = {it["id"]: it for it in rng.choices(bulk, weights, k=rng.randint(lo, hi))}
        for it_id in chosen:
            lot = rng.choice(lots_of[it_id]) if it_id in lots_of else None
            rows.append({"location_id": loc["id"], "item_type_id": it_id, "lot_id": lot, "lot_key": lot or 0,
                         "on_hand": scale * rng.lognormvariate(0, 1)})
    raw = [r["on_hand"] for r in rows]
    factor = units / sum(raw)
    quantities = [max(1, int(x * factor)) for x in raw]
    if sum(quantities) > units:
        if len(rows) > units:
            raise ValueError(f"{len(rows)} balances cannot hold {units} units, at least 1 each")
        factor = (units - len(rows)) / sum(raw)
        quantities = [1 + int(x * factor) for x in raw]
    quantities[0] += units - sum(quantities)
    for r, q in zip(rows, quantities, strict=True):
        r["on_hand"] = q
    for r in rows:
        r["reserved"] = rng.randint(0, r["on_hand"]) if rng.random() < 0.03 else 0
        r["in_transit"] = rng.randint(1, 20) if rng.random() < 0.02 else 0
    return rows


def _assets(rng: random.Random, locations: list[dict[str, Any]], serial: list[dict[str, Any]], today: dt.date,
            count: int = ASSETS, first_serial: int = 0) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``count`` serial units (numbered from ``first_serial``), mostly at depots, vendors and vehicles; and their
    book balances per place and type."""
    weight = {"depot": 300, "reserve_point": 3, "vendor": 50, "vehicle": 8, "staging": 10, "bin": 10}
    places = rng.choices(locations, [weight[loc["kind"]] for loc in locations], k=count)
    kinds = rng.choices(serial, _zipf(len(serial), 0.7), k=count)
    statuses, status_weights = zip(*STATUSES, strict=True)
    rows = []
    book: Counter[tuple[int, int]] = Counter()
    for n, (loc, it) in enumerate(zip(places, kinds, strict=True)):
        due = None if rng.random() < 0.2 else today + dt.timedelta(days=rng.randint(-120, 300))
        rows.append({"item_type_id": it["id"], "serial_number": f"SN{first_serial + n:06d}", "label_code": None,
                     "status": rng.choices(statuses, status_weights)[0], "location_id": loc["id"],
                     "ownership": "consigned" if loc["kind"] == "vendor" else "owned",
                     "readiness": rng.choices(("ok", "unknown", "fault"), (70, 25, 5))[0],
                     "next_inspection_due": due})
        book[(loc["id"], it["id"])] += 1
    balances = [{"location_id": loc, "item_type_id": it, "lot_id": None, "lot_key": 0, "on_hand": count,
                 "reserved": 0, "in_transit": 0} for (loc, it), count in book.items()]
    return rows, balances


async def build_province(db: Database, say: Callable[[str], None], seed: int = 36) -> Province:
    """Fill a freshly migrated database; returns what queries can draw from."""
    rng = random.Random(seed)
    today = beijing_today()
    started = time.perf_counter()
    async with db.engine.connect() as conn:
        regions = list((await conn.execute(select(Region))).all())
    counties, towns = _counties_and_towns(regions)
    locations = _locations(rng, counties, towns, _centres())
    types, attrs = _item_types(rng)
    bulk = [t for t in types if t["tracking"] == "bulk"]
    lots, lots_of = _lots(rng, bulk, today)
    balances = _balances(rng, locations, bulk, lots_of)
    assets, book = _assets(rng, locations, [t for t in types if t["tracking"] == "serial"], today)
    say(f"generated in {time.perf_counter() - started:.1f} s: {len(locations)} locations, {len(types)} item types, "
        f"{len(balances)} bulk balances ({sum(b['on_hand'] for b in balances)} units), {len(assets)} serial units")
    async with db.engine.begin() as conn:
        if not db.is_sqlite:  # a bulk load: no row triggers; site_stock is filled once at the end instead
            await conn.execute(text("SET LOCAL session_replication_role = replica"))
        for table, rows in ((Location, locations), (ItemType, types), (ItemTypeAttribute, attrs), (Lot, lots),
                            (Balance, balances + book), (Asset, assets)):
            t0 = time.perf_counter()
            await _insert(conn, table, rows)
            say(f"  {table.__tablename__}: {len(rows)} rows in {time.perf_counter() - t0:.1f} s")
        if not db.is_sqlite:
            t0 = time.perf_counter()
            await conn.execute(text("SET LOCAL session_replication_role = origin"))
            written = await site_stock.rebuild(conn)
            say(f"  site_stock: {written} rows in {time.perf_counter() - t0:.1f} s")
    if not db.is_sqlite:  # autovacuum would soon do this after a bulk load; SQLite's plans do not depend on it
        async with db.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("ANALYZE"))
    say(f"built in {time.perf_counter() - started:.1f} s")
    counts = Counter(loc["kind"] for loc in locations)
    points = [(loc["lat"], loc["lon"]) for loc in locations if loc["kind"] != "bin"]
    return Province(points, [t["code"] for t in types], sorted({t["category"] for t in types}), dict(counts))


async def load_province(db: Database) -> Province:
    """The Province of a database built earlier by :func:`build_province` (to time it again without rebuilding)."""
    async with db.read() as session:
        locations = (await session.execute(select(Location.kind, Location.lat, Location.lon))).all()
        codes = list(await session.scalars(select(ItemType.code).order_by(ItemType.id)))
        categories = sorted(set(await session.scalars(select(ItemType.category))))
    counts = Counter(kind for kind, _, _ in locations)
    points = [(lat, lon) for kind, lat, lon in locations if kind != "bin" and lat is not None and lon is not None]
    return Province(points, codes, categories, dict(counts))
