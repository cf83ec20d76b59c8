"""The 南昌市 demo loader: locations, catalogue, assets, an open incident with orders, leases, agreement reserves,
idempotency, progress and no commit."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from inventory.agreements.queries import get_agreement, list_agreements, list_checks
from inventory.agreements.schemas import CheckRead
from inventory.availability.service import nearest_available
from inventory.catalog.service import list_item_types
from inventory.clock import beijing_today
from inventory.demo.agreements import AGREEMENT_FIRMS
from inventory.demo.loader import load_demo
from inventory.demo.response import INCIDENT_NAME
from inventory.places.boundaries import boundary_at
from inventory.places.geo import haversine_km
from inventory.response.order_views import order_views
from inventory.store.db import Database
from inventory.store.models import (
    Agreement,
    AgreementCheck,
    Asset,
    Balance,
    Dispatch,
    Incident,
    ItemType,
    ItemTypeAttribute,
    Location,
    Movement,
    Region,
)


async def _load(db: Database) -> None:
    async with db.write() as session:
        await load_demo(session)


async def _counts(db: Database) -> dict[str, int]:
    async with db.read() as session:
        return {
            model.__tablename__: await session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Location, ItemType, ItemTypeAttribute, Asset, Incident, Dispatch, Movement, Agreement,
                          AgreementCheck)
        }


async def test_demo_places_depots_reserve_points_bins_and_vendors(db: Database) -> None:
    await _load(db)
    async with db.read() as session:
        counties = list(await session.scalars(select(Region).where(Region.parent_code == "3601", Region.level == 3)))
        county = aliased(Region)
        townships = list(await session.scalars(
            select(Region).join(county, Region.parent_code == county.code)
            .where(county.parent_code == "3601", Region.level == 4)
        ))
        locs = list(await session.scalars(select(Location)))
    by_code = {loc.code: loc for loc in locs}
    depots = {loc.region_code: loc for loc in locs if loc.kind == "depot"}

    city = depots.pop("3601")
    assert city.name == "南昌市应急物资储备库"
    assert set(depots) == {c.code for c in counties}
    assert len(counties) >= 9
    for c in counties:
        depot = depots[c.code]
        assert depot.name == f"{c.name}综合应急物资储备库"
        assert depot.source_crs == "gcj02"
        assert depot.lat is not None
        assert depot.lon is not None
        assert depot.source_lat is not None
        assert depot.source_lon is not None
        shift = haversine_km(depot.lat, depot.lon, depot.source_lat, depot.source_lon)
        assert 0.1 < shift < 1.0, f"{depot.name}: GCJ-02 → WGS-84 shift {shift:.3f} km"
    nanchang = depots["360121"]
    assert (nanchang.source_lat, nanchang.source_lon) == (28.558296, 115.933742)
    assert not nanchang.coord_approximate

    points = [loc for loc in locs if loc.kind == "reserve_point"]
    assert len(points) == len(townships) > 100
    assert {p.region_code for p in points} == {t.code for t in townships}
    parent_of = {t.code: t.parent_code for t in townships}
    for p in points:
        assert p.name.endswith("救灾物资储备点")
        assert p.coord_approximate
        assert p.source_crs == "wgs84"
        assert p.lat is not None
        assert p.lon is not None
        depot = depots[parent_of[p.region_code] or ""]
        assert depot.lat is not None
        assert depot.lon is not None
        assert 1.0 < haversine_km(p.lat, p.lon, depot.lat, depot.lon) < 16.0

    for depot_code in ("NC-CITY-DEPOT", "D-360121"):
        depot = by_code[depot_code]
        bins = [loc for loc in locs if loc.kind == "bin" and loc.parent_id == depot.id]
        assert sorted(b.name for b in bins) == ["货架 A", "货架 B"]
        assert all(b.path.startswith(depot.path) and b.lat == depot.lat for b in bins)

    vendors = [loc for loc in locs if loc.kind == "vendor"]
    assert len(vendors) == 7  # four holding stock booked to the bureau, three firms with agreements
    staging = [loc for loc in locs if loc.kind == "staging"]  # the open incident's 现场收货点
    assert [s.region_code for s in staging] == ["360121105000"]
    assert all(v.agreement_lead_hours is not None and 4 <= v.agreement_lead_hours <= 24 for v in vendors)
    assert all(v.region_code.startswith("3601") and len(v.region_code) == 6 for v in vendors)
    assert all(loc.contact_name and loc.contact_phone for loc in locs if loc.kind != "staging")


async def test_demo_catalogue_and_assets_answer_a_commanders_questions(db: Database) -> None:
    await _load(db)
    async with db.read() as session:
        types = list(await session.scalars(select(ItemType)))
        big_pumps = await list_item_types(
            session, tag=None, category=None, attrs=["flow_m3h>=300"], tracking="serial", q=None,
            limit=100, offset=0,
        )
        smart = await list_item_types(
            session, tag="smart", category=None, attrs=[], tracking=None, q=None, limit=100, offset=0
        )
        assets = list(await session.scalars(select(Asset)))
        kinds = dict((await session.execute(select(Location.id, Location.kind))).all())
        ledger_rows = [await session.scalar(select(func.count()).select_from(m)) for m in (Balance, Movement)]

    assert len(types) >= 38
    assert {t.unit for t in types} >= {"台", "艘", "架", "部", "顶", "床", "件", "袋", "箱", "套", "张", "包"}
    assert big_pumps.total >= 6
    assert {p.code for p in big_pumps.items} >= {"PUMP-LXS-1500", "PUMP-DRB-1000", "PUMP-VPS-850"}
    assert smart.total > 0
    robot = next(t for t in types if t.code == "PUMP-DRB-1000")
    assert robot.attributes["flow_m3h"] == 1000.0
    assert robot.attributes["head_m"] == 10.0
    assert all(t.inspection_interval_days for t in types if t.tracking == "serial")
    assert any(t.shelf_life_days for t in types if t.category in ("water", "food"))

    serial_ids = {t.id for t in types if t.tracking == "serial"}
    assert 200 <= len(assets) <= 1000
    assert {a.item_type_id for a in assets} <= serial_ids
    # One boat of the executed dispatch order is on its way to the incident's staging place.
    assert {kinds[a.location_id] for a in assets if a.location_id} == {"depot", "reserve_point", "vendor", "staging",
                                                                           "counterparty"}
    assert all(a.location_id is not None for a in assets)
    assert {a.status for a in assets} == {"available", "maintenance", "in_transit", "leased_out"}
    assert any(a.ownership == "leased_in" for a in assets)
    today = beijing_today()
    assert any(a.next_inspection_due and a.next_inspection_due < today for a in assets)
    assert any(a.next_inspection_due and a.next_inspection_due >= today for a in assets)
    assert any(a.battery_pct is not None for a in assets)
    assert any(a.fuel_pct is not None for a in assets)
    # every unit entered the books through a receipt document: one movement per asset
    assert ledger_rows[1] is not None and ledger_rows[1] >= len(assets)


async def test_second_load_creates_nothing_and_says_so(db: Database) -> None:
    first_messages: list[str] = []
    async with db.write() as session:
        first = await load_demo(session, progress=first_messages.append)
    counts = await _counts(db)

    second_messages: list[str] = []
    async with db.write() as session:
        second = await load_demo(session, progress=second_messages.append)

    assert first.created > 0
    assert (first.locations_skipped, first.item_types_skipped, first.assets_skipped) == (0, 0, 0)
    # The leases add a 借出在外 place per borrower (2) and the leased-in pump (1) beyond the summary's figures.
    assert (first.leases_created, second.leases_skipped) == (3, 3)
    assert (first.agreements_created, second.agreements_created, second.agreements_skipped) == (3, 0, 3)
    assert counts == {"locations": first.locations_created + 2, "item_types": first.item_types_created,
                      "item_type_attributes": counts["item_type_attributes"], "assets": first.assets_created + 1,
                      "incidents": 1, "dispatches": 2, "movements": counts["movements"], "agreements": 3,
                      "agreement_checks": 6}
    assert (first.incidents_created, second.incidents_skipped) == (1, 1)
    assert second.created == 0
    assert (second.locations_skipped, second.item_types_skipped, second.assets_skipped) == (
        first.locations_created, first.item_types_created, first.assets_created
    )
    assert await _counts(db) == counts

    assert any("储备库" in m for m in first_messages)
    assert any("装备" in m for m in first_messages)
    assert any("事件" in m for m in first_messages)
    assert any(m.startswith("协议储备") and "3 份" in m for m in first_messages)
    assert any(m.startswith("协议储备") and "已存在跳过 3 份" in m for m in second_messages)
    assert first_messages[-1] == first.describe()
    assert "已存在" in second_messages[-1]
    assert all(m.strip() for m in first_messages + second_messages)


async def test_load_leaves_committing_to_the_caller(db: Database) -> None:
    async with db.write_sessionmaker() as session:
        summary = await load_demo(session)
        assert summary.assets_created > 0
        await session.rollback()
    assert await _counts(db) == {"locations": 0, "item_types": 0, "item_type_attributes": 0, "assets": 0,
                                 "incidents": 0, "dispatches": 0, "movements": 0, "agreements": 0,
                                 "agreement_checks": 0}


async def test_demo_has_an_open_incident_in_nanchang_with_an_executed_and_a_reserved_order(db: Database) -> None:
    await _load(db)
    async with db.read() as session:
        incident = await session.scalar(select(Incident).where(Incident.name == INCIDENT_NAME))
        assert incident is not None
        orders = list(await session.scalars(select(Dispatch).where(Dispatch.incident_id == incident.id)
                                            .order_by(Dispatch.id)))
        views = await order_views(session, orders)
        reserved = (await session.execute(select(func.sum(Balance.reserved)))).scalar()
    assert (incident.status, incident.kind, incident.region_code) == ("open", "flood", "360121105000")
    assert incident.lat is not None and 28 < incident.lat < 29 and 115.5 < incident.lon < 116.5
    county = boundary_at(incident.lon, incident.lat)
    assert county is not None and county.adcode == "360121", "the incident's point lies in its own county (南昌县)"
    executed, pending = views
    # The first order, approved in writing, left the 南昌县 depot with the demo keeper: in transit to the scene.
    assert (executed.read.status, executed.read.approval_mode, executed.paperwork) == (
        "in_transit", "written", "received")
    assert {ln.state for ln in executed.lines} == {"executed"}
    assert {ln.source for ln in executed.lines} == {"南昌县综合应急物资储备库"}
    assert executed.executed_by == ["demo-keeper"]
    assert [v.step for v in executed.vouchers] == ["下达指令，预留物资", "出库执行，调往事件现场"]
    assert any(ln.serial_number for ln in executed.lines)
    # The second, approved orally, is reserved at the nearest sources; its written paperwork is due, not overdue.
    assert (pending.read.status, pending.read.approval_mode, pending.paperwork) == ("reserved", "oral", "due")
    assert {ln.state for ln in pending.lines} == {"reserved"}
    assert {ln.item_code for ln in pending.lines} == {"FLOOD-BAG-SAND", "WATER-550", "TENT-12"}
    assert reserved == sum(ln.quantity for ln in pending.lines) + 6  # and the demo write-off's six quilts


async def test_demo_leases_a_pump_in_lends_a_boat_out_and_has_one_overdue(db: Database) -> None:
    from inventory.leases.queries import list_leases
    from inventory.stock.verify import verify_ledger

    await _load(db)
    async with db.read() as session:
        page = await list_leases(session, status=None, direction=None, due_within_days=None, counterparty=None,
                                 limit=50, offset=0)
        report = await verify_ledger(session)
    assert report.ok, report.differences
    by_status = [(r.status, r.direction, r.counterparty) for r in page.items]
    assert by_status[0] == ("overdue", "out", "新建区红十字会")
    assert [s for s, _, _ in by_status].count("overdue") == 1
    pump = next(r for r in page.items if r.direction == "in")
    assert "泵业" in pump.counterparty and pump.status == "active" and pump.fee.amount > 0
    boat = next(r for r in page.items if r.lines[0].item_name == "冲锋舟")
    assert boat.direction == "out" and boat.status == "active" and boat.lines[0].asset_id


async def test_demo_agreements_are_offered_by_nearest_with_their_response_hours(db: Database) -> None:
    await _load(db)
    async with db.reader() as r:  # everything there is, near the demo incident in 南昌县
        water = await nearest_available(r, lat=28.594, lon=116.041, item_type="WATER-550", quantity=10**8, limit=500)
        pumps = await nearest_available(r, lat=28.594, lon=116.041, category="pump", quantity=10**8, limit=500)
        few = await nearest_available(r, lat=28.594, lon=116.041, category="pump", quantity=10**8, limit=5)
    async with db.read() as session:
        page = await list_agreements(session)
        firms = {loc.code: loc for loc in await session.scalars(
            select(Location).where(Location.code.in_([f.code for f in AGREEMENT_FIRMS])))}

    by_number = {a.number: a for a in page.items}
    market, maker, tents = by_number["DEMO-XY-001"], by_number["DEMO-XY-002"], by_number["DEMO-XY-003"]
    assert page.total == 3
    offered = [s for s in water.sources if s.agreement is not None]
    assert [(s.agreement.id, s.location.name, s.available, s.agreement_lead_minutes) for s in offered
            if s.agreement] == [(market.id, market.vendor_name, 2000, 240)]
    assert any(s.agreement is None for s in water.sources), "the depots' own water is offered too"
    made = {(s.agreement.id, s.item_type.code, s.available, s.agreement.kind, s.agreement_lead_minutes)
            for s in pumps.sources if s.agreement}
    assert made == {(maker.id, "PUMP-SUB-400", 6, "capacity", 1440), (maker.id, "PUMP-SUB-300", 10, "capacity", 1440)}
    assert not any(s.agreement for s in few.sources), "a day away: not among the five soonest"

    assert (market.kind, market.price_mechanism, market.rotation_by, market.response_hours) == (
        "physical", "market", "vendor", 4)
    assert [ln.item_code for ln in market.lines] == ["WATER-550", "FOOD-NOODLE"]
    assert (maker.kind, maker.response_hours) == ("capacity", 24)
    assert {ln.item_name for ln in tents.lines} == {"救灾帐篷", "救灾棉帐篷"} and tents.response_hours == 12
    assert [a.status for a in page.items] == ["expiring", "valid", "valid"]  # the tent firm's, 20 days left
    assert tents.days_left == 20 and market.valid_from <= beijing_today() <= market.valid_until
    for a in (market, maker, tents):
        assert a.last_check is not None and a.last_drill is not None and not a.check_overdue
        assert a.last_drill.measured_response_hours is not None
    assert [a.last_drill.on_time for a in (market, maker, tents) if a.last_drill] == [True, True, False]
    assert tents.last_drill and tents.last_drill.measured_response_hours == pytest.approx(13.67, abs=0.01)
    assert tents.last_check and tents.last_check.method == "drill"
    counted = {c.item_name: (c.counted, c.promised) for c in (await _checks(db, tents.id))[1].counts}
    assert counted == {"救灾帐篷": (500, 500), "救灾棉帐篷": (180, 200)}
    # Each firm's warehouse lies in its own county, on the shipped boundaries.
    for firm in AGREEMENT_FIRMS:
        loc = firms[firm.code]
        assert loc.kind == "vendor" and loc.lat is not None and loc.lon is not None
        county = boundary_at(loc.lon, loc.lat)
        assert county is not None and county.adcode == firm.region_code, firm.name


async def _checks(db: Database, agreement_id: int) -> list[CheckRead]:
    async with db.read() as session:
        return await list_checks(session, await get_agreement(session, agreement_id))
