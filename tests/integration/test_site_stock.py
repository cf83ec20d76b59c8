"""``site_stock``: the triggers keep it equal to what the stock tables say, whatever changes them.

Every test also checks it when it ends (the ``db`` fixture); here the changes are random and raw —
balances, units, places and lots changed behind the services' back — and after each one the table must
equal a full recomputation, and ``nearest`` must still agree with the brute force. On PostgreSQL,
writers that touch the same rows of the table in opposite orders all commit (no deadlock).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import sqlite3
from typing import Any

import pytest
from sqlalchemy import insert, text

from inventory.stock import site_stock
from inventory.stock.verify import verify_ledger
from inventory.store.db import Database
from inventory.store.migrate import downgrade, upgrade
from inventory.store.models import Balance, Lot
from tests.integration.test_availability import (
    ETAS,
    REGIONS,
    TODAY,
    _check_against_brute_force,
    build_random_world,
    snapshot,
)


async def _ids(db: Database, sql: str) -> list[Any]:
    async with db.read() as s:
        return [r[0] for r in await s.execute(text(sql))]


def _day(db: Database, day: dt.date | None) -> dt.date | str | None:
    """A date as each driver takes it in raw SQL."""
    return day.isoformat() if day is not None and db.is_sqlite else day


async def _random_change(db: Database, rng: random.Random) -> str:
    """One raw change to a balance, a unit, a place or a lot; what it was."""
    what = rng.choice(["balance", "balance", "balance_move", "balance_delete", "unit", "unit", "unit_move",
                       "unit_delete", "place_active", "place_coords", "place_site", "place_kind", "place_region",
                       "lot"])
    statements: dict[str, tuple[str, dict[str, Any]]] = {}
    if what == "balance":
        bal = rng.choice(await _ids(db, "SELECT id FROM balances"))
        on_hand = rng.choice([0, 1, 3, 50])
        statements[what] = ("UPDATE balances SET on_hand = :o, reserved = :r WHERE id = :i",
                            {"o": on_hand, "r": rng.randint(0, on_hand), "i": bal})
    elif what == "balance_move":
        bal = rng.choice(await _ids(db, "SELECT id FROM balances"))
        to = rng.choice(await _ids(db, "SELECT id FROM locations"))
        statements[what] = ("UPDATE balances SET location_id = :l WHERE id = :i AND NOT EXISTS (SELECT 1 FROM "
                            "balances O WHERE O.location_id = :l AND O.item_type_id = balances.item_type_id "
                            "AND O.lot_key = balances.lot_key)", {"l": to, "i": bal})
    elif what == "balance_delete":
        statements[what] = ("DELETE FROM balances WHERE id = :i",
                            {"i": rng.choice(await _ids(db, "SELECT id FROM balances"))})
    elif what == "unit":
        unit = rng.choice(await _ids(db, "SELECT id FROM assets"))
        statements[what] = (
            "UPDATE assets SET status = :s, readiness = :r, next_inspection_due = :d WHERE id = :i",
            {"s": rng.choice(["available", "available", "reserved", "maintenance", "deployed"]),
             "r": rng.choice(["ok", "unknown", "fault"]),
             "d": _day(db, rng.choice([None, TODAY - dt.timedelta(days=1), TODAY, TODAY + dt.timedelta(days=9)])),
             "i": unit})
    elif what == "unit_move":
        unit = rng.choice(await _ids(db, "SELECT id FROM assets"))
        to = rng.choice([None, *await _ids(db, "SELECT id FROM locations")])
        statements[what] = ("UPDATE assets SET location_id = :l WHERE id = :i", {"l": to, "i": unit})
    elif what == "unit_delete":
        statements[what] = ("DELETE FROM assets WHERE id = :i",
                            {"i": rng.choice(await _ids(db, "SELECT id FROM assets"))})
    elif what == "place_active":
        statements[what] = ("UPDATE locations SET active = NOT active WHERE id = :i",
                            {"i": rng.choice(await _ids(db, "SELECT id FROM locations"))})
    elif what == "place_coords":
        site = rng.choice(await _ids(db, "SELECT id FROM locations WHERE kind <> 'bin'"))
        lat, lon = (None, None) if rng.random() < 0.2 else (rng.uniform(28.1, 29.1), rng.uniform(115.4, 116.5))
        statements[what] = ("UPDATE locations SET lat = :a, lon = :o WHERE id = :i", {"a": lat, "o": lon, "i": site})
    elif what == "place_site":  # a bin put under another site
        bins = await _ids(db, "SELECT id FROM locations WHERE kind = 'bin'")
        sites = await _ids(db, "SELECT id FROM locations WHERE kind <> 'bin'")
        statements[what] = ("UPDATE locations SET site_id = :s WHERE id = :i",
                            {"s": rng.choice(sites), "i": rng.choice(bins)})
    elif what == "place_kind":
        statements[what] = ("UPDATE locations SET kind = :k WHERE id = :i AND kind <> 'bin'",
                            {"k": rng.choice(["depot", "vendor", "staging", "reserve_point"]),
                             "i": rng.choice(await _ids(db, "SELECT id FROM locations"))})
    elif what == "place_region":  # what PostgreSQL's table keeps of a site to rank it by
        statements[what] = ("UPDATE locations SET region_code = :r, agreement_lead_hours = :h WHERE id = :i",
                            {"r": rng.choice(REGIONS), "h": rng.choice([None, 4.0, 48.0]),
                             "i": rng.choice(await _ids(db, "SELECT id FROM locations"))})
    else:
        lot = rng.choice(await _ids(db, "SELECT id FROM lots"))
        statements[what] = ("UPDATE lots SET expiry_date = :e WHERE id = :i",
                            {"e": _day(db, rng.choice([None, TODAY - dt.timedelta(days=5),
                                                       TODAY + dt.timedelta(days=5)])), "i": lot})
    sql, params = statements[what]
    async with db.write() as s:
        await s.execute(text(sql), params)
    return f"{what} {params}"


async def _differences(db: Database) -> list[tuple[int, int, str, int, int]]:
    async with db.read() as s:
        return await site_stock.differences(await s.connection())


async def test_site_stock_follows_every_raw_change_and_nearest_still_agrees_with_brute_force(db: Database) -> None:
    await build_random_world(db)
    assert await _differences(db) == []
    async with db.read() as s:
        assert await s.scalar(text("SELECT COUNT(*) FROM site_stock")) > 100
    rng = random.Random(7)
    for step in range(250):
        change = await _random_change(db, rng)
        assert await _differences(db) == [], f"after step {step}: {change}"
        if step % 50 == 49:
            snap = await snapshot(db)
            for n in range(6):
                q = {"lat": rng.uniform(28.1, 29.1), "lon": rng.uniform(115.4, 116.5), "crs": "wgs84",
                     "quantity": rng.choice([1, 5, 60]), "limit": 10, "max_km": None,
                     "include_agreement": n % 2 == 0,
                     **rng.choice([{"category": "pump"}, {"item_type": "BAG"}, {"tag": "fast"}])}
                await _check_against_brute_force(db, snap, q, ETAS["regional"])


async def test_verify_reports_a_site_stock_row_that_disagrees(db: Database) -> None:
    await build_random_world(db)
    async with db.read() as s:  # (the world has balances without movements: only site_stock matters here)
        assert [d for d in (await verify_ledger(s)).differences if d.figure.startswith("site_stock")] == []
    async with db.write() as s:
        site, item, good_until = (await s.execute(text(
            "SELECT site_id, item_type_id, good_until FROM site_stock ORDER BY site_id LIMIT 1"))).one()
        await s.execute(text("UPDATE site_stock SET available = available + 3 WHERE site_id = :s AND "
                             "item_type_id = :i AND good_until = :g"), {"s": site, "i": item, "g": good_until})
    async with db.read() as s:
        found = [d for d in (await verify_ledger(s)).differences if d.figure.startswith("site_stock")]
    assert [(d.location_id, d.item_type_id, d.figure, d.stored - d.expected) for d in found] == [
        (site, item, f"site_stock:{good_until}", 3)]
    async with db.write() as s:  # put it back: the fixture checks the table when the test ends
        await s.execute(text("UPDATE site_stock SET available = available - 3 WHERE site_id = :s AND "
                             "item_type_id = :i AND good_until = :g"), {"s": site, "i": item, "g": good_until})


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_the_migration_fills_the_table_from_stock_already_there_and_creates_every_trigger(
    db: Database, tmp_path: Any,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0005")  # the schema before site_stock
    # Today's models write lots.quality (migration 0009) and no longer item_types.min_stock (gone in 0014): lend
    # the old schema the one and take the other away while the world is built with them, then undo both so
    # every later migration runs as on a real old file.
    with sqlite3.connect(tmp_path / "old.db") as conn:
        conn.execute("ALTER TABLE lots ADD COLUMN quality VARCHAR(40) NOT NULL DEFAULT ''")
        conn.execute("ALTER TABLE item_types DROP COLUMN min_stock")
    old = Database(url)
    try:
        await build_random_world(old)
    finally:
        await old.dispose()
    with sqlite3.connect(tmp_path / "old.db") as conn:
        conn.execute("ALTER TABLE lots DROP COLUMN quality")
        conn.execute("ALTER TABLE item_types ADD COLUMN min_stock INTEGER NOT NULL DEFAULT 0")
    upgrade(url)
    migrated = Database(url)
    try:
        assert await _differences(migrated) == []
        async with migrated.read() as s:
            assert await s.scalar(text("SELECT COUNT(*) FROM site_stock")) > 100
    finally:
        await migrated.dispose()
    with sqlite3.connect(tmp_path / "old.db") as conn:
        triggers = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    assert set(site_stock.TRIGGERS) <= triggers


@pytest.mark.parametrize("backend", ["postgres"])
async def test_the_postgresql_migration_fills_the_table_from_stock_already_there_and_creates_every_trigger(
    db: Database, db_url: str,
) -> None:
    await build_random_world(db)
    await db.dispose()
    downgrade(db_url, "0018")  # the schema before site_stock on PostgreSQL, with the world's stock in it
    async with db.read() as s:
        assert await s.scalar(text("SELECT to_regclass('site_stock')")) is None
    upgrade(db_url)
    assert await _differences(db) == []
    async with db.read() as s:
        assert await s.scalar(text("SELECT COUNT(*) FROM site_stock")) > 100
        triggers = {(r[0], r[1]) for r in await s.execute(text(
            "SELECT event_object_table, trigger_name FROM information_schema.triggers"))}
    assert {(table, name) for table, names in site_stock.PG_TRIGGERS.items() for name in names} <= triggers


@pytest.mark.parametrize("backend", ["postgres"])
async def test_writers_touching_the_same_site_stock_rows_in_opposite_orders_all_commit(db: Database) -> None:
    """Twenty transactions, half changing site A then site B, half B then A, each through balances of its own
    (its own lot, all lots with one expiry day): every one commits, none deadlocks, the table stays right."""
    await build_random_world(db)
    async with db.read() as s:
        site_a, site_b = [r[0] for r in await s.execute(text(
            "SELECT id FROM locations WHERE kind = 'depot' AND active AND lat IS NOT NULL ORDER BY id LIMIT 2"))]
        item = await s.scalar(text("SELECT id FROM item_types WHERE code = 'BAG'"))
    pairs = 10
    async with db.write() as s:
        first_lot = await s.scalar(text("SELECT COALESCE(MAX(id), 0) + 1 FROM lots"))  # (the world sets lot ids)
        lots = [await s.scalar(insert(Lot).values(id=first_lot + n, item_type_id=item, number=f"CROSS-{n}",
                                                  expiry_date=TODAY + dt.timedelta(days=30)).returning(Lot.id))
                for n in range(2 * pairs)]
        await s.execute(insert(Balance), [
            {"location_id": site, "item_type_id": item, "lot_id": lot, "lot_key": lot, "on_hand": 100, "reserved": 0,
             "in_transit": 0} for lot in lots for site in (site_a, site_b)])
    both_in = asyncio.Barrier(2 * pairs)
    running = 0
    peak = 0

    async def writer(n: int) -> None:
        nonlocal running, peak
        first, second = (site_a, site_b) if n % 2 else (site_b, site_a)
        async with db.write() as s:
            running += 1
            peak = max(peak, running)
            await s.execute(text("UPDATE balances SET on_hand = on_hand - 1 WHERE location_id = :l AND lot_id = :t"),
                            {"l": first, "t": lots[n]})
            await both_in.wait()  # every transaction has changed its first site before any changes its second
            await s.execute(text("UPDATE balances SET on_hand = on_hand + 2 WHERE location_id = :l AND lot_id = :t"),
                            {"l": second, "t": lots[n]})
            running -= 1

    await asyncio.gather(*(writer(n) for n in range(2 * pairs)))
    assert peak == 2 * pairs
    assert await _differences(db) == []
    async with db.read() as s:
        got = dict((await s.execute(text(
            "SELECT site_id, available FROM site_stock WHERE item_type_id = :i AND good_until = :g "
            "AND site_id IN (:a, :b)"), {"i": item, "g": TODAY + dt.timedelta(days=30), "a": site_a, "b": site_b}
        )).all())
    assert got == {site_a: 2 * pairs * 100 + pairs * (2 - 1), site_b: 2 * pairs * 100 + pairs * (2 - 1)}
