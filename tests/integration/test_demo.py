"""The 南昌市 demo loader: locations, catalogue, assets, an open incident with orders, leases, agreement reserves,
idempotency, progress and no commit."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from inventory.access.scope import Principal
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

    # One reserve point per 镇 and 乡 (none per 街道), 洗药湖管理处's and 梅岭's forest-fire point (both 湾里).
    points = [loc for loc in locs if loc.kind == "reserve_point"]
    towns = {t.code for t in townships if t.name.endswith(("镇", "乡"))}
    assert len(points) == len(towns) + 2 and len(towns) > 70
    assert {p.region_code for p in points} == towns | {"360112405000"}
    assert by_code["RP-360112116-FF"].region_code == "360112116000"
    assert by_code["RP-360112116-FF"].name == "梅岭镇森林防火物资储备点"
    parent_of = {t.code: t.parent_code for t in townships}
    for p in points:
        assert p.name.endswith(("救灾物资储备点", "森林防火物资储备点"))
        assert p.coord_approximate
        assert p.source_crs == "wgs84"
        assert p.lat is not None
        assert p.lon is not None
        county = boundary_at(p.lon, p.lat)
        assert county is not None and county.adcode == parent_of[p.region_code], (p.code, p.name, p.lat, p.lon)
        wanli = p.region_code[:9] in {"360112113", "360112114", "360112115", "360112116", "360112405"}
        assert ("（湾里管理局）" in p.address) == wanli, p.address
    assert by_code["RP-360112116"].address == "江西省南昌市新建区（湾里管理局）梅岭镇人民政府院内"
    assert len({(p.lat, p.lon) for p in points}) == len(points), "no two points on the same spot"

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
    assert all(v.region_code.startswith("3601") and len(v.region_code) in (6, 12) for v in vendors)
    # The warehouses holding the bureau's equipment are in development zones, with those zones' township codes.
    assert {v.code: v.region_code for v in vendors if len(v.region_code) == 12} == {
        "V-PUMP-360121": "360121403000", "V-POWER-360124": "360124401000", "V-BOAT-360112": "360112404000",
        "V-UAV-360111": "360111400000"}
    assert by_code["V-PUMP-360121"].address == "江西省南昌市南昌县小蓝经济开发区"
    for v in vendors:
        county = boundary_at(v.lon, v.lat) if v.lat is not None and v.lon is not None else None
        assert county is not None and county.adcode == v.region_code[:6], v.name
    assert all(loc.contact_name and loc.contact_phone for loc in locs if loc.kind != "staging")


FLOOD_PRONE = ("360121", "360112", "360124")  # 南昌县, 新建区, 进贤县
URBAN = ("360102", "360103", "360104", "360111", "360113")  # 东湖区, 西湖区, 青云谱区, 青山湖区, 红谷滩区


async def test_the_flood_prone_counties_hold_more_than_every_urban_district(db: Database) -> None:
    await _load(db)
    async with db.read() as session:
        rows = await session.execute(
            select(Location.region_code, Balance.on_hand - Balance.reserved)
            .join(Location, Location.id == Balance.location_id).join(ItemType, ItemType.id == Balance.item_type_id)
            .where(ItemType.tracking == "bulk", Location.kind != "vendor"))
        units = await session.execute(
            select(Location.region_code, func.count(Asset.id)).join(Location, Location.id == Asset.location_id)
            .where(Location.kind != "vendor").group_by(Location.region_code))
    bulk: dict[str, int] = {}
    for region, available in rows:
        bulk[region[:6]] = bulk.get(region[:6], 0) + int(available)
    equipment: dict[str, int] = {}
    for region, n in units:
        equipment[region[:6]] = equipment.get(region[:6], 0) + int(n)
    for county in FLOOD_PRONE:
        for district in URBAN:
            assert bulk[county] > bulk[district], (county, district, bulk)
            assert equipment[county] > equipment.get(district, 0), (county, district, equipment)


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
    radio = next(t for t in types if t.code == "COMM-370-HT")  # the 370 MHz 应急指挥窄带无线通信网
    assert radio.name == "370M数字集群手持终端" and "370 MHz" in radio.spec and "350" not in radio.spec
    names = {t.name for t in types}
    assert {"龙吸水排水抢险车", "冲锋舟", "橡皮艇", "柴油发电机组", "救生衣", "救灾帐篷", "棉被",
            "背负式风力灭火机"} <= names
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
                      "incidents": 1, "dispatches": 3, "movements": counts["movements"], "agreements": 3,
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
    executed, pending, lent = views
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
    # The third is the city's answer to 南昌县's request, from 新建区's depot, executed by 新建区's keeper.
    assert (lent.read.status, lent.read.approval_mode) == ("in_transit", "oral")
    assert {ln.source for ln in lent.lines} == {"新建区综合应急物资储备库"}
    assert lent.executed_by == ["demo-keeper-xinjian"]


async def test_demo_requests_between_units_one_accepted_one_declined_one_waiting(db: Database) -> None:
    from inventory.supply_requests.service import list_requests

    await _load(db)
    city = Principal(user_id=0, username="c", display_name="c", role="commander", scope_regions=("3601",),
                     scope_locations=(), token_id=0)
    county = Principal(user_id=0, username="n", display_name="n", role="commander", scope_regions=("360121",),
                       scope_locations=(), token_id=0)
    async with db.read() as session:
        sent = (await list_requests(session, county, box="outgoing")).items
        incoming = (await list_requests(session, city, box="incoming", status="open")).items
    by_outcome = {r.outcome: r for r in sent}
    assert sorted(by_outcome) == ["accepted", "declined", "pending"]
    accepted, declined, waiting = by_outcome["accepted"], by_outcome["declined"], by_outcome["pending"]
    assert (accepted.from_region_name, accepted.to_region_name) == ("南昌县", "南昌市")
    assert {ln.item_name for ln in accepted.lines} == {"橡皮艇", "救灾帐篷"}
    assert accepted.answers[0].dispatch_status == "in_transit" and accepted.answers[0].approval_mode == "oral"
    assert declined.to_region_name == "新建区" and "棉被" in declined.answers[0].reason
    assert waiting.status == "open" and waiting.lines[0].category == "pump"
    assert [r.id for r in incoming] == [waiting.id]  # the city has one request to answer


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
