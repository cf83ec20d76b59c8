"""Readiness on a real database: checks take units out of ``nearest`` and back, plans make them overdue,
repairs take them away and bring them back, and the report counts them per category and region."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select, update

from inventory.access.scope import Principal
from inventory.availability.service import nearest_available
from inventory.catalog.schemas import ItemTypeCreate
from inventory.catalog.service import create_item_type
from inventory.clock import beijing_today
from inventory.errors import Conflict, InvalidInput, PermissionDenied
from inventory.places.locations import create_location
from inventory.places.schemas import LocationCreate
from inventory.readiness import checks, plans, repairs
from inventory.readiness.report import readiness_report
from inventory.readiness.rules import add_months
from inventory.readiness.schemas import CheckCreate, PlanCreate, RepairBack, RepairCreate
from inventory.readiness.units import units_readiness
from inventory.stock.assets import create_asset
from inventory.stock.schemas import AssetCreate
from inventory.store.db import Database
from inventory.store.models import Asset, AssetCheck, AssetRepair, MaintenancePlan, utcnow

ADMIN = Principal(0, "admin", "管理员", "admin", (), (), 0)
KEEPER = Principal(1, "keeper-ncx", "南昌县保管员", "keeper", ("360121",), (), 0)
OUTSIDER = Principal(2, "keeper-dhq", "东湖区保管员", "keeper", ("360102",), (), 0)
TODAY = beijing_today()
NOW = utcnow()
LEVEE = (28.50, 115.95)


@dataclass
class World:
    depot: int
    far_depot: int
    generator: int
    pump: int
    gens: list[int]
    far_pump: int


async def make_world(db: Database, *, registered_days_ago: int = 0) -> World:
    """Two 50 kW generators at 南昌县's depot, a pump at 东湖区's; units registered ``registered_days_ago``."""
    async with db.write() as s:
        depot = await create_location(s, LocationCreate(code="D-NCX", name="南昌县综合应急物资储备库", kind="depot",
                                                        region_code="360121", lat=28.55, lon=115.94))
        far = await create_location(s, LocationCreate(code="D-DHQ", name="东湖区应急物资储备库", kind="depot",
                                                      region_code="360102", lat=28.68, lon=115.90))
        gen = await create_item_type(s, ItemTypeCreate(code="GEN-50", name="柴油发电机组", unit="台", tracking="serial",
                                                       category="generator", attributes={"power_kw": 50}))
        pump = await create_item_type(s, ItemTypeCreate(code="PUMP-300", name="移动泵车", unit="台", tracking="serial",
                                                        category="pump"))
        gens = [(await create_asset(s, AssetCreate(item_type_id=gen.id, serial_number=f"FD-{n}",
                                                   location_id=depot.id))).id for n in (1, 2)]
        far_pump = (await create_asset(s, AssetCreate(item_type_id=pump.id, serial_number="BC-9",
                                                      location_id=far.id))).id
        if registered_days_ago:
            await s.execute(update(Asset).values(created_at=NOW - dt.timedelta(days=registered_days_ago)))
    return World(depot.id, far.id, gen.id, pump.id, gens, far_pump)


async def generators_nearby(db: Database, today: dt.date = TODAY) -> int:
    async with db.reader() as r:
        answer = await nearest_available(r, lat=LEVEE[0], lon=LEVEE[1], item_type="GEN-50", quantity=10, limit=20,
                                         today=today)
    return sum(s.available for s in answer.sources)


async def check(db: Database, asset_id: int, who: Principal = KEEPER, **fields: object) -> AssetCheck:
    data = CheckCreate(**{"task": "visual_check", "result": "ok", **fields})  # type: ignore[arg-type]
    async with db.write() as s:
        return await checks.record_check(s, asset_id, data, who)


async def unit(db: Database, asset_id: int) -> Asset:
    async with db.read() as s:
        found = await s.get(Asset, asset_id)
    assert found is not None
    return found


async def test_a_fault_takes_a_generator_out_of_nearest_and_only_a_later_good_check_brings_it_back(
        db: Database) -> None:
    w = await make_world(db)
    gen = w.gens[0]
    assert await generators_nearby(db) == 2
    found = NOW - dt.timedelta(hours=3)
    await check(db, gen, task="run_test", result="fault", performed_at=found, run_minutes=5, load_pct=30,
                fault_description="启动 5 分钟后熄火，疑燃油滤清器堵塞")
    assert await generators_nearby(db) == 1
    a = await unit(db, gen)
    assert (a.readiness, a.fault_note, a.status) == ("fault", "启动 5 分钟后熄火，疑燃油滤清器堵塞", "available")

    # An earlier good check, entered afterwards, does not overturn the newer finding.
    await check(db, gen, performed_at=found - dt.timedelta(days=1))
    assert await generators_nearby(db) == 1
    async with db.read() as s:
        report = await readiness_report(s, region="3601", category="generator", today=TODAY)
    assert [(u.asset_id, u.state, u.reason) for u in report.items] == [
        (gen, "fault", "故障：启动 5 分钟后熄火，疑燃油滤清器堵塞")]

    await check(db, gen, task="run_test", performed_at=found + dt.timedelta(hours=1), run_minutes=30, load_pct=35)
    assert await generators_nearby(db) == 2
    a = await unit(db, gen)
    assert (a.readiness, a.fault_note) == ("ok", "")
    assert a.last_inspected_at == found + dt.timedelta(hours=1)
    async with db.read() as s:
        history = await checks.list_checks(s, gen)
    assert [(c.task, c.result) for c in history.items] == [("run_test", "ok"), ("run_test", "fault"),
                                                           ("visual_check", "ok")]
    assert history.items[1].run_minutes == 5 and history.items[0].load_pct == 35


async def test_a_unit_not_ready_is_out_of_nearest_with_its_reason(db: Database) -> None:
    w = await make_world(db)
    await check(db, w.gens[1], task="battery_charge", result="not_ready", battery_pct=12, battery_voltage=11.2,
                fault_description="启动电池亏电，已充电待复测")
    assert await generators_nearby(db) == 1
    async with db.read() as s:
        [u] = await units_readiness(s, [w.gens[1]], TODAY)
    assert (u.state, u.reason) == ("fault", "未就绪：启动电池亏电，已充电待复测")
    assert (await unit(db, w.gens[1])).battery_pct == 12


async def test_a_monthly_run_test_plan_makes_generators_overdue_and_a_run_brings_one_back(db: Database) -> None:
    w = await make_world(db, registered_days_ago=90)
    started = TODAY - dt.timedelta(days=90)
    async with db.write() as s:
        plan = await plans.create_plan(s, PlanCreate(
            item_type_id=w.generator, task="run_test", interval_months=1, starts_on=started, run_minutes=30,
            load_pct=30, instructions="带载不低于额定功率 30%，运行 30 分钟"), ADMIN)
    first_due = add_months(started, 1)
    assert [(await unit(db, g)).next_inspection_due for g in w.gens] == [first_due, first_due]
    assert await generators_nearby(db) == 0
    assert await generators_nearby(db, today=first_due) == 2  # on the due day itself they still count

    await check(db, w.gens[0], task="run_test", run_minutes=30, load_pct=32)
    await check(db, w.gens[1], task="run_test", run_minutes=30, performed_at=NOW - dt.timedelta(days=40))
    assert (await unit(db, w.gens[0])).next_inspection_due == add_months(TODAY, 1)
    assert await generators_nearby(db) == 1
    async with db.read() as s:
        report = await readiness_report(s, region="3601", category="generator", today=TODAY)
    [late] = report.items
    due = add_months((NOW - dt.timedelta(days=40)).astimezone(dt.timezone(dt.timedelta(hours=8))).date(), 1)
    assert (late.asset_id, late.state, late.next_due) == (w.gens[1], "overdue", due)
    assert late.reason == f"试运行逾期 {(TODAY - due).days} 天（应于 {due} 前完成）"
    assert [(t.task, t.plan_id, t.state, t.run_minutes) for t in late.tasks] == [("run_test", plan.id, "overdue", 30)]
    assert (report.total.units, report.total.overdue, report.total.ready + report.total.due_soon) == (2, 1, 1)


async def test_a_units_own_plan_overrides_its_type_and_a_new_plan_replaces_the_old(db: Database) -> None:
    w = await make_world(db, registered_days_ago=10)
    registered = TODAY - dt.timedelta(days=10)
    async with db.write() as s:
        old = await plans.create_plan(s, PlanCreate(item_type_id=w.generator, task="run_test", interval_days=60,
                                                    starts_on=registered), ADMIN)
        new = await plans.create_plan(s, PlanCreate(item_type_id=w.generator, task="run_test", interval_months=1,
                                                    starts_on=registered), ADMIN)
        own = await plans.create_plan(s, PlanCreate(asset_id=w.gens[1], task="run_test", interval_days=7,
                                                    starts_on=registered), ADMIN)
        flood = await plans.create_plan(s, PlanCreate(item_type_id=w.generator, task="pre_flood_check",
                                                      anchor="calendar", due_month=4, due_day=1,
                                                      starts_on=registered), ADMIN)
    async with db.read() as s:
        listed = await plans.list_plans(s, item_type_id=None, asset_id=w.gens[1], task=None, active=True, limit=10,
                                        offset=0)
        replaced = await s.get(MaintenancePlan, old.id)
    assert [p.id for p in listed.items] == [flood.id, own.id, new.id]
    assert replaced is not None and (replaced.active, replaced.replaced_by_id) == (False, new.id)
    assert listed.items[2].replaces_id == old.id and listed.items[2].schedule_zh == "每 1 个月（自上次完成起）"
    april = dt.date(registered.year if registered <= dt.date(registered.year, 4, 1) else registered.year + 1, 4, 1)
    assert (await unit(db, w.gens[0])).next_inspection_due == min(add_months(registered, 1), april)
    assert (await unit(db, w.gens[1])).next_inspection_due == registered + dt.timedelta(days=7)
    assert await generators_nearby(db) == 1  # the unit checked weekly is 3 days overdue


async def test_a_repair_takes_the_unit_away_and_back_ready(db: Database) -> None:
    w = await make_world(db)
    gen = w.gens[0]
    await check(db, gen, result="fault", fault_description="发电机输出电压不稳")
    async with db.write() as s:
        repair = await repairs.send_to_repair(s, gen, RepairCreate(vendor="南昌某机电维修有限公司"), KEEPER)
    a = await unit(db, gen)
    assert (a.status, repair.problem, repair.sent_on) == ("maintenance", "发电机输出电压不稳", TODAY)
    async with db.read() as s:
        report = await readiness_report(s, region="360121", today=TODAY)
    assert [(u.state, u.reason) for u in report.items] == [
        ("in_maintenance", f"送修中：南昌某机电维修有限公司，{TODAY} 送出（发电机输出电压不稳）")]
    refused = [lambda s: repairs.send_to_repair(s, gen, RepairCreate(vendor="另一家"), KEEPER),
               lambda s: checks.record_check(s, gen, CheckCreate(task="visual_check", result="ok"), KEEPER)]
    for attempt in refused:
        with pytest.raises(Conflict):
            async with db.write() as s:
                await attempt(s)
    assert await generators_nearby(db) == 1

    with pytest.raises(InvalidInput) as caught:
        async with db.write() as s:
            await repairs.repair_back(s, repair.id, RepairBack(work_done="更换调压板",
                                                               back_on=TODAY - dt.timedelta(days=1)), KEEPER)
    assert caught.value.field == "back_on"
    async with db.write() as s:
        back = await repairs.repair_back(s, repair.id, RepairBack(work_done="更换调压板", cost=860.0), KEEPER)
    assert (back.back_on, back.cost, back.returned_by) == (TODAY, 860.0, "keeper-ncx")
    a = await unit(db, gen)
    assert (a.status, a.readiness, a.fault_note) == ("available", "ok", "")
    assert await generators_nearby(db) == 2
    with pytest.raises(Conflict):
        async with db.write() as s:
            await repairs.repair_back(s, repair.id, RepairBack(work_done="再次"), KEEPER)
    # A check found before the return does not undo the repair.
    await check(db, gen, result="fault", fault_description="旧记录补录", performed_at=NOW - dt.timedelta(days=1))
    assert (await unit(db, gen)).readiness == "ok"


async def test_bad_checks_and_plans_are_refused_naming_the_field_and_nothing_is_recorded(db: Database) -> None:
    w = await make_world(db)
    gen = w.gens[0]
    bad_checks = [
        ({"task": "run_test"}, "run_minutes"),
        ({"battery_pct": 101}, "battery_pct"),
        ({"fuel_pct": -1}, "fuel_pct"),
        ({"task": "run_test", "run_minutes": 30, "load_pct": 130}, "load_pct"),
        ({"performed_at": NOW + dt.timedelta(hours=1)}, "performed_at"),
        ({"result": "fault"}, "fault_description"),
    ]
    for fields, field in bad_checks:
        with pytest.raises(InvalidInput) as caught:
            await check(db, gen, **fields)
        assert caught.value.field == field, (fields, caught.value.detail)
    bad_plans = [
        (PlanCreate(task="run_test", interval_days=30), "item_type_id"),
        (PlanCreate(task="run_test", item_type_id=w.generator, asset_id=gen, interval_days=30), "item_type_id"),
        (PlanCreate(task="run_test", item_type_id=w.generator), "interval_days"),
        (PlanCreate(task="run_test", item_type_id=w.generator, interval_days=30, interval_months=1), "interval_days"),
        (PlanCreate(task="pre_flood_check", item_type_id=w.generator, anchor="calendar", due_month=2, due_day=30),
         "due_day"),
        (PlanCreate(task="pre_flood_check", item_type_id=w.generator, anchor="calendar", due_month=4),
         "due_day"),
        (PlanCreate(task="visual_check", item_type_id=w.generator, interval_days=30, run_minutes=30), "run_minutes"),
        (PlanCreate(task="visual_check", item_type_id=99999, interval_days=30), "item_type_id"),
        (PlanCreate(task="visual_check", asset_id=99999, interval_days=30), "asset_id"),
    ]
    for data, field in bad_plans:
        with pytest.raises(InvalidInput) as caught:
            async with db.write() as s:
                await plans.create_plan(s, data, ADMIN)
        assert caught.value.field == field, (data, caught.value.detail)
    async with db.read() as s:
        for model in (AssetCheck, MaintenancePlan):
            assert await s.scalar(select(func.count()).select_from(model)) == 0
    assert (await unit(db, gen)).readiness == "unknown"


async def test_a_keeper_records_nothing_for_another_countys_units(db: Database) -> None:
    w = await make_world(db)
    async with db.write() as s:
        repair = await repairs.send_to_repair(s, w.far_pump, RepairCreate(vendor="东湖某维修厂"), ADMIN)
    attempts = [
        lambda s: checks.record_check(s, w.far_pump, CheckCreate(task="visual_check", result="ok"), KEEPER),
        lambda s: repairs.send_to_repair(s, w.far_pump, RepairCreate(vendor="某厂"), KEEPER),
        lambda s: repairs.repair_back(s, repair.id, RepairBack(work_done="修好"), KEEPER),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied):
            async with db.write() as s:
                await attempt(s)
    async with db.read() as s:
        assert await s.scalar(select(func.count()).select_from(AssetCheck)) == 0
        assert (await s.get(AssetRepair, repair.id)).back_on is None  # type: ignore[union-attr]
    with pytest.raises(Conflict):  # the outsider's own unit, but away at the repairer
        await check(db, w.far_pump, who=OUTSIDER)


async def test_the_report_counts_units_per_category_and_child_region(db: Database) -> None:
    w = await make_world(db)
    await check(db, w.gens[0], result="fault", fault_description="漏油")
    async with db.write() as s:
        await repairs.send_to_repair(s, w.far_pump, RepairCreate(vendor="东湖某维修厂", problem="叶轮磨损"), ADMIN)
    async with db.read() as s:
        city = await readiness_report(s, region="3601", today=TODAY)
        county = await readiness_report(s, region="360121", today=TODAY, states=["ready", "fault"])
        pumps = await readiness_report(s, region="3601", category="pump", today=TODAY)
    counts = {c.category: (c.counts.units, c.counts.fault, c.counts.in_maintenance, c.counts.ready)
              for c in city.by_category}
    assert counts == {"generator": (2, 1, 0, 1), "pump": (1, 0, 1, 0)}
    regions = {r.region_code: (r.region_name, r.counts.units) for r in city.by_region if r.counts.units}
    assert regions == {"360121": ("南昌县", 2), "360102": ("东湖区", 1)}
    assert [u.asset_id for u in city.items] == [w.far_pump, w.gens[0]]  # in maintenance before at fault
    assert city.listed == 2 and city.total.units == 3
    assert [(u.asset_id, u.state) for u in county.items] == [(w.gens[0], "fault"), (w.gens[1], "ready")]
    # The depot is coded to the county itself, not to one of its townships: it counts as the county's own.
    assert {r.region_code: r.counts.units for r in county.by_region if r.counts.units} == {"360121": 2}
    assert all(len(r.region_code) == 12 for r in county.by_region[:-1]) and len(county.by_region) > 10
    assert [u.asset_id for u in pumps.items] == [w.far_pump] and pumps.total.units == 1
    async with db.read() as s:
        second = await readiness_report(s, region="3601", today=TODAY, limit=1, offset=1)
    assert [u.asset_id for u in second.items] == [w.gens[0]] and second.listed == 2


async def test_the_demo_has_a_generator_overdue_for_its_monthly_run_and_loads_its_plans_once(db: Database) -> None:
    from inventory.demo.loader import load_demo

    for _ in range(2):
        async with db.write() as s:
            await load_demo(s)
    async with db.read() as s:
        report = await readiness_report(s, region="3601", category="generator", states=["overdue"])
        plan_count = await s.scalar(select(func.count()).select_from(MaintenancePlan))
        run_logs = await s.scalar(select(func.count()).select_from(AssetCheck))
    assert (plan_count, run_logs) == (2, 2)
    overdue = [u for u in report.items if u.item_code == "GEN-DSL-30"]
    assert len(overdue) == 1 and overdue[0].reason.startswith("试运行逾期")
    assert abs((overdue[0].tasks[0].last_done - TODAY).days + 70) <= 1  # type: ignore[operator]
