"""Reserve quotas (储备定额) on a real database: status and seasons, writes, the import, the min_stock migration."""

from __future__ import annotations

import datetime as dt
import itertools
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text

from inventory.access.scope import Principal
from inventory.catalog.schemas import ItemTypeCreate
from inventory.catalog.service import create_item_type
from inventory.errors import Conflict, InvalidInput, PermissionDenied
from inventory.places.locations import create_location
from inventory.places.schemas import LocationCreate
from inventory.quotas import rules, service
from inventory.quotas.imports import QuotaSheetRejected, import_quotas
from inventory.quotas.schemas import QuotaCreate, QuotaSheetProblem, QuotaSheetRow, QuotaUpdate, Season
from inventory.quotas.status import quota_status
from inventory.stock.assets import create_asset
from inventory.stock.ledger import post_document
from inventory.stock.schemas import AssetCreate, LotSpec, MovementCreate, MovementLine
from inventory.store.db import Database
from inventory.store.migrate import upgrade
from tests.api import snapshot

ADMIN = Principal(0, "admin", "管理员", "admin", (), (), 0)
COMMANDER = Principal(7, "commander", "指挥员", "commander", ("360121",), (), 0)
TODAY = dt.date(2026, 11, 20)
FLOOD = Season(start="04-01", end="09-30", minimum=20)


@dataclass
class World:
    depot: int
    bin: int
    point: int
    other: int
    tent: int
    pump: int


async def make_world(db: Database) -> World:
    """南昌县: a depot with a bin and a reserve point; 东湖区: another depot. Tents (bulk) and pumps (serial)."""
    async with db.write() as s:
        depot = await create_location(s, LocationCreate(code="D-NC", name="南昌县储备库", kind="depot",
                                                        region_code="360121", lat=28.55, lon=115.94))
        shelf = await create_location(s, LocationCreate(code="D-NC-A1", name="A1 货架", kind="bin",
                                                        region_code="360121", parent_id=depot.id))
        point = await create_location(s, LocationCreate(code="P-XT", name="向塘镇储备点", kind="reserve_point",
                                                        region_code="360121", lat=28.45, lon=115.98))
        other = await create_location(s, LocationCreate(code="D-DH", name="东湖区储备库", kind="depot",
                                                        region_code="360102", lat=28.68, lon=115.90))
        tent = await create_item_type(s, ItemTypeCreate(code="TENT", name="救灾帐篷", unit="顶", tracking="bulk",
                                                        category="shelter"))
        pump = await create_item_type(s, ItemTypeCreate(code="PUMP", name="排涝泵", unit="台", tracking="serial",
                                                        category="pump"))
    return World(depot.id, shelf.id, point.id, other.id, tent.id, pump.id)


async def receive(db: Database, location: int, item: int, quantity: int, *, lot: str | None = None,
                  expiry: dt.date | None = None) -> None:
    spec = LotSpec(number=lot, expiry_date=expiry) if lot else None
    async with db.write() as s:
        await post_document(s, MovementCreate(kind="receipt", location_id=location, lines=[
            MovementLine(item_type_id=item, quantity=quantity, lot=spec)]), actor="test")


async def add_pump(db: Database, location: int, item: int, serial: str, **over: Any) -> None:
    async with db.write() as s:
        await create_asset(s, AssetCreate(item_type_id=item, serial_number=serial, location_id=location, **over))


async def set_quota(db: Database, location: int, item: int, minimum: int, margin: int = 0,
                    season: Season | None = None, who: Principal = ADMIN) -> int:
    async with db.write() as s:
        q = await service.create_quota(s, QuotaCreate(location_id=location, item_type_id=item, minimum=minimum,
                                                      warning_margin=margin, season=season), who)
    return q.id


async def status(db: Database, **kw: Any) -> Any:
    async with db.read() as s:
        return await quota_status(s, **{"today": TODAY, **kw})


async def test_status_counts_what_is_available_at_the_site_and_its_bins_and_gives_each_quota_its_level(
    db: Database,
) -> None:
    w = await make_world(db)
    await receive(db, w.depot, w.tent, 8)
    await receive(db, w.bin, w.tent, 4, lot="L-FRESH", expiry=TODAY + dt.timedelta(days=30))
    await receive(db, w.depot, w.tent, 100, lot="L-OLD", expiry=TODAY - dt.timedelta(days=1))  # expired: not counted
    await receive(db, w.other, w.tent, 50)
    await add_pump(db, w.bin, w.pump, "P-1", readiness="ok")
    await add_pump(db, w.depot, w.pump, "P-2", readiness="fault")  # faulty: not counted
    tents = await set_quota(db, w.depot, w.tent, 10, margin=5)  # 12 available: within the margin
    pumps = await set_quota(db, w.depot, w.pump, 1)  # 1 ready unit: ok
    empty = await set_quota(db, w.point, w.tent, 5, margin=2)  # nothing there: below by 5
    far = await set_quota(db, w.other, w.tent, 60)  # 东湖区: outside 南昌县

    page = await status(db, region="360121")
    got = {(i.quota_id, i.available, i.minimum_in_force, i.shortfall, i.level) for i in page.items}
    assert got == {(tents, 12, 10, 0, "warning"), (pumps, 1, 1, 0, "ok"), (empty, 0, 5, 5, "below")}
    assert [i.quota_id for i in page.items] == [empty, tents, pumps]  # worst first
    assert (page.counts.below, page.counts.warning, page.counts.ok, page.total) == (1, 1, 1, 3)
    assert page.items[0].location_code == "P-XT" and page.items[0].unit == "顶" and page.on == TODAY

    whole = await status(db, region="36")
    assert {i.quota_id: (i.available, i.level) for i in whole.items}[far] == (50, "below")
    below = await status(db, region="36", level="below")
    assert [i.quota_id for i in below.items] == [far, empty] and below.total == 2  # the larger shortfall first
    assert below.counts.ok == 1 and below.counts.warning == 1
    assert [i.quota_id for i in (await status(db, region="36", category="pump")).items] == [pumps]
    assert [i.quota_id for i in (await status(db, item_type="PUMP")).items] == [pumps]
    assert [i.quota_id for i in (await status(db, item_type=str(w.tent), limit=1, offset=1)).items] == [empty]


async def test_reserved_stock_and_a_closed_location_do_not_count(db: Database) -> None:
    w = await make_world(db)
    await receive(db, w.point, w.tent, 9)
    quota = await set_quota(db, w.point, w.tent, 5, margin=2)
    assert [(i.available, i.level) for i in (await status(db, region="360121")).items] == [(9, "ok")]
    async with db.write() as s:
        await s.execute(text("UPDATE balances SET reserved = 3 WHERE location_id = :p"), {"p": w.point})
    assert [(i.available, i.level) for i in (await status(db, region="360121")).items] == [(6, "warning")]
    async with db.write() as s:
        await s.execute(text("UPDATE locations SET active = :f WHERE id = :p"), {"p": w.point, "f": False})
    page = await status(db, region="360121")
    assert page.items == [] and page.total == 0, f"quota {quota} of a closed location is listed"


async def test_the_season_minimum_is_in_force_in_its_season_only_both_ends_included(db: Database) -> None:
    w = await make_world(db)
    await receive(db, w.depot, w.tent, 15)
    await set_quota(db, w.depot, w.tent, 10, margin=3, season=FLOOD)
    for day, in_season, minimum, level in [
        (dt.date(2026, 3, 31), False, 10, "ok"), (dt.date(2026, 4, 1), True, 20, "below"),
        (dt.date(2026, 7, 15), True, 20, "below"), (dt.date(2026, 9, 30), True, 20, "below"),
        (dt.date(2026, 10, 1), False, 10, "ok"),
    ]:
        [item] = (await status(db, today=day)).items
        assert (item.in_season, item.minimum_in_force, item.level) == (in_season, minimum, level), day
        assert item.shortfall == max(0, minimum - 15) and item.season == FLOOD


async def test_a_season_over_the_new_year_covers_both_sides_of_it(db: Database) -> None:
    w = await make_world(db)
    await receive(db, w.depot, w.tent, 12)
    await set_quota(db, w.depot, w.tent, 10, season=Season(start="11-15", end="02-28", minimum=30, name="冬春"))
    for day, in_season in [(dt.date(2026, 11, 14), False), (dt.date(2026, 11, 15), True),
                           (dt.date(2026, 12, 31), True), (dt.date(2027, 1, 1), True), (dt.date(2027, 2, 28), True),
                           (dt.date(2027, 3, 1), False)]:
        [item] = (await status(db, today=day)).items
        assert (item.in_season, item.level) == (in_season, "below" if in_season else "ok"), day


async def test_the_sql_status_agrees_with_the_pure_rules_on_every_case(db: Database) -> None:
    w = await make_world(db)
    async with db.write() as s:
        items = [(await create_item_type(s, ItemTypeCreate(code=f"G-{n}", name=f"物资{n}", unit="件",
                                                           tracking="bulk", category="grid"))).id for n in range(24)]
    seasons = [None, Season(start="04-01", end="09-30", minimum=9), Season(start="12-01", end="01-31", minimum=7)]
    cases = list(itertools.product([0, 4, 6, 9], [0, 2], seasons))[:24]
    for item, (held, margin, season) in zip(items, cases, strict=True):
        if held:
            await receive(db, w.depot, item, held)
        await set_quota(db, w.depot, item, 5, margin=margin, season=season)
    for day in (dt.date(2026, 1, 15), dt.date(2026, 6, 1), dt.date(2026, 10, 1), dt.date(2026, 12, 1)):
        page = await status(db, category="grid", today=day, limit=500)
        assert page.total == len(cases)
        by_item = {i.item_type_id: i for i in page.items}
        for item, (held, margin, season) in zip(items, cases, strict=True):
            minimum = rules.minimum_in_force(5, (season.start, season.end, season.minimum) if season else None, day)
            got = by_item[item]
            assert (got.available, got.minimum_in_force, got.level) == (held, minimum, rules.level(held, minimum,
                                                                                                     margin)), day


async def test_a_quota_is_refused_at_a_bin_twice_for_one_item_below_its_season_or_outside_the_scope(
    db: Database,
) -> None:
    w = await make_world(db)
    with pytest.raises(InvalidInput) as at_bin:
        await set_quota(db, w.bin, w.tent, 5)
    assert at_bin.value.field == "location_id" and "南昌县储备库" in at_bin.value.detail
    await set_quota(db, w.depot, w.tent, 5)
    with pytest.raises(Conflict):
        await set_quota(db, w.depot, w.tent, 7)
    with pytest.raises(InvalidInput) as low:
        await set_quota(db, w.point, w.tent, 10, season=Season(start="04-01", end="09-30", minimum=9))
    assert low.value.field == "season.minimum"
    with pytest.raises(InvalidInput) as no_day:
        await set_quota(db, w.point, w.tent, 10, season=Season(start="02-30", end="09-30", minimum=19))
    assert no_day.value.field == "season.start"
    with pytest.raises(PermissionDenied):
        await set_quota(db, w.other, w.tent, 5, who=COMMANDER)
    assert await set_quota(db, w.point, w.tent, 5, who=COMMANDER)


async def test_an_update_keeps_the_season_above_the_minimum_and_null_removes_it(db: Database) -> None:
    w = await make_world(db)
    quota = await set_quota(db, w.depot, w.tent, 10, season=FLOOD)
    async with db.write() as s:
        with pytest.raises(InvalidInput) as raised:
            await service.update_quota(s, quota, QuotaUpdate(minimum=25), ADMIN)
    assert raised.value.field == "minimum"
    async with db.write() as s:
        await service.update_quota(s, quota, QuotaUpdate(minimum=25, season=None, warning_margin=4), ADMIN)
    async with db.read() as s:
        read = await service.quota_read(s, quota)
    assert (read.minimum, read.warning_margin, read.season) == (25, 4, None)


def sheet_row(n: int, location: str, item: str, minimum: int, **over: Any) -> QuotaSheetRow:
    return QuotaSheetRow(row=n, location_code=location, item_code=item, minimum=minimum, **over)


async def run_import(db: Database, rows: list[QuotaSheetRow], problems: list[QuotaSheetProblem] | None = None,
                     who: Principal = ADMIN) -> Any:
    async with db.write() as s:
        return await import_quotas(s, rows, problems or [], who)


async def test_an_import_creates_and_replaces_quotas_and_the_same_sheet_again_changes_nothing(db: Database) -> None:
    w = await make_world(db)
    kept = await set_quota(db, w.other, w.tent, 3)  # not on the sheet: left alone
    await set_quota(db, w.depot, w.tent, 1)
    rows = [sheet_row(4, "D-NC", "TENT", 10, warning_margin=2, season_minimum=20, season_start="04-01",
                      season_end="09-30"),
            sheet_row(5, "P-XT", "PUMP", 2, note="汛前补齐")]
    first = await run_import(db, rows)
    assert (first.rows, first.created, first.updated, first.unchanged) == (2, 1, 1, 0)
    before = await snapshot.state(db)
    again = await run_import(db, rows)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert snapshot.changed(before, await snapshot.state(db)) == []
    async with db.read() as s:
        quotas = {(q.location_code, q.item_code): q for q in (await service.list_quotas(s, limit=10)).items}
    assert quotas[("D-NC", "TENT")].season == FLOOD and quotas[("D-NC", "TENT")].warning_margin == 2
    assert quotas[("P-XT", "PUMP")].note == "汛前补齐" and quotas[("D-DH", "TENT")].id == kept
    changed = await run_import(db, [sheet_row(4, "D-NC", "TENT", 10, warning_margin=2)])  # season columns empty
    assert (changed.updated, changed.unchanged) == (1, 0)
    async with db.read() as s:
        assert (await service.quota_read(s, quotas[("D-NC", "TENT")].id)).season is None


async def test_an_import_with_any_bad_row_is_refused_whole_naming_each_row_and_changes_nothing(db: Database) -> None:
    w = await make_world(db)
    await set_quota(db, w.depot, w.tent, 1)
    before = await snapshot.state(db)
    rows = [sheet_row(4, "D-NC", "TENT", 50),  # good, but the sheet is refused whole
            sheet_row(5, "NO-SUCH", "TENT", 5), sheet_row(6, "D-NC-A1", "TENT", 5),
            sheet_row(7, "P-XT", "NOPE", 5), sheet_row(8, "D-NC", "TENT", 6),
            sheet_row(9, "P-XT", "PUMP", 9, season_minimum=3, season_start="04-01", season_end="09-30")]
    cell = QuotaSheetProblem(10, "最低储备量", "abc", "最低储备量：「abc」不是数字")
    with pytest.raises(QuotaSheetRejected) as raised:
        await run_import(db, rows, [cell])
    errors = raised.value.extra["errors"]
    assert [(e["row"], e["column"]) for e in errors] == [
        (5, "库点编码"), (6, "库点编码"), (7, "物资编码"), (8, "物资编码"), (9, "汛期最低储备量"), (10, "最低储备量")]
    assert "NO-SUCH" in errors[0]["message"] and "货位" in errors[1]["message"] and "第 4 行" in errors[3]["message"]
    assert raised.value.extra["errors_total"] == 6 and "6 处错误" in raised.value.detail
    assert snapshot.changed(before, await snapshot.state(db)) == []


async def test_an_import_naming_a_location_outside_the_scope_is_refused(db: Database) -> None:
    await make_world(db)
    before = await snapshot.state(db)
    with pytest.raises(PermissionDenied):
        await run_import(db, [sheet_row(4, "D-NC", "TENT", 5), sheet_row(5, "D-DH", "TENT", 5)], who=COMMANDER)
    assert snapshot.changed(before, await snapshot.state(db)) == []
    assert (await run_import(db, [sheet_row(4, "D-NC", "TENT", 5)], who=COMMANDER)).created == 1


async def test_the_demo_has_quotas_and_a_county_depot_always_under_one(db: Database) -> None:
    from inventory.demo.loader import CITY_DEPOT, load_demo
    from inventory.demo.quotas import ensure_demo_quotas

    async with db.write() as s:
        await load_demo(s)
    page = await status(db, region="3601", level="below", limit=500)
    assert ("D-360121", "TENT-36", 30) in {(i.location_code, i.item_code, i.minimum_in_force) for i in page.items}
    flood = await status(db, region="3601", item_type="FLOOD-BAG-SAND", today=dt.date(2026, 6, 1), limit=500)
    assert flood.total >= 10 and {(i.in_season, i.minimum_in_force) for i in flood.items} == {(True, 3000)}
    async with db.write() as s:
        made, kept = await ensure_demo_quotas(s, CITY_DEPOT)
    assert made == 0 and kept == page.counts.below + page.counts.warning + page.counts.ok


# ---- the migration of item_types.min_stock (0014)

@pytest.fixture
async def old_url(backend: str, request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[str]:
    """An empty database of this backend migrated to 0013, the last revision with ``item_types.min_stock``."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
        upgrade(url, "0013")
        yield url
        return
    from tests.conftest import _pg_execute, _pg_url_for

    if request.getfixturevalue("postgres_template") is None:
        pytest.skip("PostgreSQL not reachable")
    name = f"inv_q14_{os.getpid()}"
    await _pg_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    await _pg_execute(f"CREATE DATABASE {name}")
    try:
        upgrade(_pg_url_for(name), "0013")
        yield _pg_url_for(name)
    finally:
        await _pg_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


_NOW = dt.datetime(2026, 11, 1, 8, 0)
_PLACES = [  # id, code, kind, parent, site, active
    (1, "D-A", "depot", None, 1, True), (2, "D-A-1", "bin", 1, 1, True), (3, "D-C", "depot", None, 3, True),
    (4, "P-R", "reserve_point", None, 4, True), (5, "D-X", "depot", None, 5, False),
]
_ITEMS = [(1, "TENT", "bulk", 100), (2, "PUMP", "serial", 2), (3, "ZERO", "bulk", 0), (4, "NONE", "bulk", 5)]
_BALANCES = [  # location, item, on hand
    (2, 1, 30),  # tents in depot A's bin: a quota at A
    (4, 1, 50),  # at a reserve point: not a depot
    (5, 1, 10),  # at a closed depot
    (3, 1, 0),  # nothing on hand at C
    (1, 3, 5),  # min_stock 0
]
_UNITS = [(3, 2, "available"), (1, 2, "retired")]  # location, item, status


async def _old_rows(url: str) -> None:
    old = Database(url)
    try:
        async with old.write() as s:
            for pid, code, kind, parent, site, active in _PLACES:
                await s.execute(text(
                    "INSERT INTO locations (id, code, name, kind, parent_id, path, site_id, region_code, address, "
                    "contact_name, contact_phone, lat, lon, coord_approximate, active, created_at, updated_at) VALUES "
                    "(:i, :c, :c, :k, :p, :path, :s, '360121', '', '', '', 28.5, 115.9, :f, :a, :t, :t)"),
                    {"i": pid, "c": code, "k": kind, "p": parent, "path": f"/{parent}/{pid}/" if parent else f"/{pid}/",
                     "s": site, "a": active, "f": False, "t": _NOW})
            for iid, code, tracking, min_stock in _ITEMS:
                await s.execute(text(
                    "INSERT INTO item_types (id, code, name, spec, unit, tracking, category, tags_mask, attributes, "
                    "min_stock, active, created_at, updated_at) VALUES "
                    "(:i, :c, :c, '', '件', :tr, 'test', 0, '{}', :m, :a, :t, :t)"),
                    {"i": iid, "c": code, "tr": tracking, "m": min_stock, "a": True, "t": _NOW})
            for n, (loc, item, on_hand) in enumerate(_BALANCES, start=1):
                await s.execute(text(
                    "INSERT INTO balances (id, location_id, item_type_id, lot_key, on_hand, reserved, in_transit, "
                    "updated_at) VALUES (:n, :l, :i, 0, :o, 0, 0, :t)"),
                    {"n": n, "l": loc, "i": item, "o": on_hand, "t": _NOW})
            for n, (loc, item, status_) in enumerate(_UNITS, start=1):
                await s.execute(text(
                    "INSERT INTO assets (id, item_type_id, serial_number, status, location_id, ownership, readiness, "
                    "fault_note, notes, created_at, updated_at) VALUES "
                    "(:n, :i, :sn, :st, :l, 'owned', 'ok', '', '', :t, :t)"),
                    {"n": n, "i": item, "sn": f"SN-{n}", "st": status_, "l": loc, "t": _NOW})
    finally:
        await old.dispose()


async def test_min_stock_becomes_a_quota_at_each_open_depot_holding_the_item_and_the_column_goes(old_url: str) -> None:
    await _old_rows(old_url)
    upgrade(old_url)
    new = Database(old_url)
    try:
        async with new.read() as s:
            quotas = (await s.execute(text(
                "SELECT location_id, item_type_id, minimum, warning_margin, season_start, created_by, note "
                "FROM reserve_quotas ORDER BY location_id, item_type_id"))).all()
            columns = (await s.execute(text("SELECT * FROM item_types LIMIT 1"))).keys()
    finally:
        await new.dispose()
    assert [tuple(q) for q in quotas] == [(1, 1, 100, 0, None, "migration-0014", "由品目最低库存 min_stock 迁移"),
                                          (3, 2, 2, 0, None, "migration-0014", "由品目最低库存 min_stock 迁移")]
    assert "min_stock" not in list(columns) and "code" in list(columns)
