"""A national-scale database for benchmarks (PostgreSQL): 500,000 locations, the province's 200 item types,
5,000,000 units of bulk stock over balances and 1,000,000 serial units.

No national region codes ship with the service (only Jiangxi's, ``inventory/places/data/``), so the country is
synthesised: 25 copies of the Jiangxi pattern of bench/province.py — its 100 counties and 1,767 townships, each
copy 20,000 locations with the province's kinds mix, held item types, quantity and status distributions — placed
over China's extent (lat 18–53, lon 73–135). Each copy is centred near the middle of a mainland province; the 21
eastern and central copies keep Jiangxi's size, so the east is dense and copies there touch or overlap, and the
four western ones and the north-east are stretched (``spread``: county centres and every scatter farther apart,
up to 3×), so the west is sparse.

Region codes: copy 0 is Jiangxi itself, at its real place with its real codes (the rows the migrations load);
every other copy gets synthetic region rows — province, cities, counties and townships — Jiangxi's codes with
``36`` replaced by a two-digit number GB/T 2260 gives no province, named ``…（合成NN）``, written with the rest
(``locations.region_code`` references ``regions``). Synthetic rather than Jiangxi's codes reused nationally,
because the region code is what the ETA configuration keys on (``INVENTORY_ETA_OVERRIDES``: a road factor and
speed per region-code prefix, :mod:`inventory.availability.eta`): a prefix must mean one area, not 25 copies
of it across the country. The search itself never reads region codes.

Units: each copy holds 200,000 bulk units and 40,000 serial units (with their book balances). Places hold as
many item types as in the province, so balances are about 25× the province's (≈3.4 million rows) for 5× the
units: most rows hold 1 unit, depots the bulk of it (``bench.province._balances``).

Streamed: one copy is generated, written with PostgreSQL ``COPY`` (asyncpg's ``copy_records_to_table`` on the
connection of the load transaction) and dropped before the next, so memory stays that of one province. The load
is one transaction with ``session_replication_role = replica`` (no triggers, foreign keys included: the rows
are consistent by construction); ``site_stock`` is then filled once by :func:`inventory.stock.site_stock.rebuild`,
and the database vacuumed and analysed (what autovacuum would soon do after a bulk load; index-only reads of
``site_stock`` need the visibility map). Seeded, so every run builds the same country.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, cast

from sqlalchemy import JSON, select, text
from sqlalchemy.sql.schema import CallableColumnDefault, ScalarElementColumnDefault

from bench.province import (
    LOCATIONS,
    Province,
    _assets,
    _balances,
    _centres,
    _counties_and_towns,
    _item_types,
    _locations,
    _lots,
)
from inventory.clock import beijing_today
from inventory.stock import site_stock
from inventory.store.db import Database
from inventory.store.models import Asset, Balance, ItemType, ItemTypeAttribute, Location, Lot, Region

BULK_UNITS = 5_000_000
ASSETS = 1_000_000
JIANGXI = "36"
# (lat, lon, spread) of each copy: near the middle of a mainland province; the first is Jiangxi at its own place.
COPIES: tuple[tuple[float, float, float], ...] = (
    (0.0, 0.0, 1.0),  # Jiangxi: real codes and centres
    (27.6, 111.7, 1.0), (30.9, 112.4, 1.0), (31.8, 117.2, 1.0), (29.2, 120.0, 1.0), (26.0, 118.2, 1.0),
    (23.4, 113.4, 1.0), (23.8, 108.8, 1.0), (32.9, 119.6, 1.0), (36.3, 118.2, 1.0), (33.9, 113.6, 1.0),
    (38.3, 115.6, 1.0), (37.6, 112.3, 1.0), (41.3, 122.6, 1.0), (26.8, 106.8, 1.0), (35.3, 109.0, 1.1),
    (30.5, 103.0, 1.4), (24.8, 101.6, 1.4), (43.6, 126.2, 1.2), (47.5, 127.5, 1.6), (37.5, 101.5, 1.8),
    (43.5, 114.0, 2.2), (35.5, 96.0, 2.2), (31.5, 88.5, 2.8), (41.5, 85.0, 3.0),
)
LOCATIONS_TOTAL = LOCATIONS * len(COPIES)
# GB/T 2260 province codes: the synthetic copies take two-digit numbers not among them.
REAL_PROVINCES = frozenset({11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
                            50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82})
SYNTHETIC_PROVINCES = tuple(f"{n}" for n in range(16, 100) if n not in REAL_PROVINCES)[:len(COPIES) - 1]


class _County(NamedTuple):
    code: str


class _Copy(NamedTuple):
    """One copy of the Jiangxi pattern: its counties, townships per county and centres (WGS-84) by code."""

    prefix: str
    counties: list[_County]
    towns: dict[str, list[str]]
    centres: dict[str, tuple[float, float]]
    spread: float
    regions: list[dict[str, Any]]  # the synthetic region rows to write (none for Jiangxi itself)


def _copies(regions: Sequence[Any]) -> list[_Copy]:
    """The 25 copies: Jiangxi's region tree and county centres, moved, stretched and renumbered."""
    counties, towns = _counties_and_towns(regions)
    centres = _centres()
    county_centres = [centres.get(c.code, centres[c.code[:4]]) for c in counties]
    mid_lat = sum(lat for lat, _ in county_centres) / len(county_centres)
    mid_lon = sum(lon for _, lon in county_centres) / len(county_centres)
    copies = [_Copy(JIANGXI, [_County(c.code) for c in counties], towns, centres, 1.0, [])]
    for prefix, (lat, lon, spread) in zip(SYNTHETIC_PROVINCES, COPIES[1:], strict=True):
        squeeze = math.cos(math.radians(mid_lat)) / math.cos(math.radians(lat))  # keep distances in km

        def code(c: str, prefix: str = prefix) -> str:
            return prefix + c[len(JIANGXI):]

        rows = [{"code": code(r.code), "name": f"{r.name}（合成{prefix}）", "level": r.level,
                 "parent_code": code(r.parent_code) if r.parent_code else None}
                for r in sorted(regions, key=lambda r: (r.level, r.code))]
        copies.append(_Copy(
            prefix, [_County(code(c.code)) for c in counties],
            {code(county): [code(t) for t in ts] for county, ts in towns.items()},
            {code(c): (round(lat + (a - mid_lat) * spread, 6), round(lon + (o - mid_lon) * spread * squeeze, 6))
             for c, (a, o) in centres.items()},
            spread, rows))
    return copies


class _Copier:
    """Writes dict rows to a table with COPY, the model's Python-side defaults filled in (as ``insert`` would)."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.seconds = 0.0

    async def __call__(self, table: Any, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        t0 = time.perf_counter()
        columns = table.__table__.columns
        given = [c for c in columns if c.key in rows[0]]
        fixed: dict[str, Any] = {}
        for c in columns:
            if c.key in rows[0]:
                continue
            if isinstance(c.default, ScalarElementColumnDefault):
                fixed[c.name] = c.default.arg
            elif isinstance(c.default, CallableColumnDefault):
                value = cast(Any, c.default.arg)(None)  # wrapped to take an execution context
                if isinstance(value, dt.datetime) and value.tzinfo:  # stored as UTC without zone
                    value = value.astimezone(dt.UTC).replace(tzinfo=None)
                fixed[c.name] = value
        as_json = {c.key for c in given if isinstance(c.type, JSON)}
        keys = [c.key for c in given]
        tail = tuple(fixed.values())
        if as_json:
            records = [tuple(json.dumps(r[k]) if k in as_json else r[k] for k in keys) + tail for r in rows]
        else:
            records = [tuple(r[k] for k in keys) + tail for r in rows]
        await self.raw.copy_records_to_table(table.__tablename__, records=records,
                                             columns=[c.name for c in given] + list(fixed))
        self.seconds += time.perf_counter() - t0


async def build_national(db: Database, say: Callable[[str], None], seed: int = 36) -> Province:
    """Fill a freshly migrated PostgreSQL database with the country; returns what queries can draw from."""
    if db.is_sqlite:
        raise ValueError("national scale is built on PostgreSQL only (COPY, no-trigger bulk load)")
    started = time.perf_counter()
    today = beijing_today()
    async with db.engine.connect() as conn:
        regions = list((await conn.execute(select(Region))).all())
    rng = random.Random(seed)
    types, attrs = _item_types(rng)
    bulk = [t for t in types if t["tracking"] == "bulk"]
    serial = [t for t in types if t["tracking"] == "serial"]
    lots, lots_of = _lots(rng, bulk, today)
    copies = _copies(regions)
    generating = time.perf_counter() - started
    counts: Counter[str] = Counter()
    points: list[tuple[float, float]] = []
    totals: Counter[str] = Counter()
    async with db.engine.begin() as conn:
        await conn.execute(text("SET LOCAL session_replication_role = replica"))  # bulk load: no triggers
        copy = _Copier((await conn.get_raw_connection()).driver_connection)
        await copy(Region, [r for c in copies for r in c.regions])
        for model, rows in ((ItemType, types), (ItemTypeAttribute, attrs), (Lot, lots)):
            await copy(model, rows)
        for k, c in enumerate(copies):
            t0 = time.perf_counter()
            crng = random.Random(seed * 1000 + k)
            locations = _locations(crng, list(c.counties), c.towns, c.centres, first_id=k * LOCATIONS + 1,
                                   spread=c.spread)
            balances = _balances(crng, locations, bulk, lots_of, BULK_UNITS // len(copies))
            per_copy = ASSETS // len(copies)
            assets, book = _assets(crng, locations, serial, today, per_copy, first_serial=k * per_copy)
            t1 = time.perf_counter()
            generating += t1 - t0
            for generated, rows in ((Location, locations), (Balance, balances + book), (Asset, assets)):
                await copy(generated, rows)
            counts.update(loc["kind"] for loc in locations)
            points += [(loc["lat"], loc["lon"]) for loc in locations if loc["kind"] != "bin"]
            totals.update({"locations": len(locations), "balances": len(balances), "units": sum(
                b["on_hand"] for b in balances), "book balances": len(book), "assets": len(assets)})
            say(f"  copy {k + 1}/{len(copies)} ({c.prefix}): generated in {t1 - t0:.1f} s, written in "
                f"{time.perf_counter() - t1:.1f} s")
        for table in ("locations", "item_types", "lots"):  # rows came with their ids
            await conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), MAX(id)) FROM {table}"))
        t0 = time.perf_counter()
        await conn.execute(text("SET LOCAL session_replication_role = origin"))
        written = await site_stock.rebuild(conn)
        rebuilt = time.perf_counter() - t0
    t0 = time.perf_counter()
    async with db.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM (ANALYZE)"))
    vacuumed = time.perf_counter() - t0
    say(f"national: {totals['locations']} locations ({len(copies)} copies, "
        f"{sum(len(c.regions) for c in copies)} synthetic regions), {len(types)} item types, "
        f"{totals['balances']} bulk balances ({totals['units']} units), {totals['assets']} serial units "
        f"({totals['book balances']} book balances)")
    say(f"generated in {generating:.1f} s, written by COPY in {copy.seconds:.1f} s, site_stock {written} rows in "
        f"{rebuilt:.1f} s, VACUUM ANALYZE in {vacuumed:.1f} s; built in {time.perf_counter() - started:.1f} s")
    return Province(points, [t["code"] for t in types], sorted({t["category"] for t in types}), dict(counts))
