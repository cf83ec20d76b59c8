"""Pre-positioning plans on a real database: the workflow through the ledger, refusals, coverage by hand."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from inventory.access.scope import Principal
from inventory.availability.eta import EtaConfig
from inventory.catalog.schemas import ItemTypeCreate
from inventory.catalog.service import create_item_type
from inventory.errors import Conflict, InsufficientStock, InvalidInput, PermissionDenied
from inventory.places.geo import haversine_km
from inventory.places.locations import create_location
from inventory.places.schemas import LocationCreate
from inventory.plans.coverage import Point, allot, plan_coverage
from inventory.plans.schemas import PlanCreate, PlanLineIn, PlanUpdate, RecallRequest
from inventory.plans.service import (
    approve_plan,
    create_plan,
    execute_plan,
    get_plan,
    list_plans,
    plan_read,
    recall_plan,
    update_plan,
)
from inventory.plans.standing import apportion
from inventory.scan.actions import receive_asset
from inventory.stock.assets import create_asset
from inventory.stock.ledger import post_document
from inventory.stock.schemas import AssetCreate, LotSpec, MovementCreate, MovementLine, ReceiveLine, TransferReceive
from inventory.stock.transfers import get_transfer, receive_transfer, transfer_read
from inventory.stock.verify import verify_ledger
from inventory.store.db import Database
from inventory.store.models import (
    Asset,
    Balance,
    Document,
    Plan,
    PlanLine,
    PlanProposal,
    RiskNeed,
    RiskPoint,
    utcnow,
)

AUTHOR = Principal(1, "zhang", "张指挥", "commander", ("360121",), (), 0)
APPROVER = Principal(2, "li", "李局长", "commander", ("3601",), (), 0)
KEEPER = Principal(3, "wang", "王保管", "keeper", ("360121",), (), 0)
FAR = Principal(4, "gan", "赣州指挥", "commander", ("3607",), (), 0)
ADMIN = Principal(5, "admin", "管理员", "admin", (), (), 0)


@dataclass
class World:
    """南昌县: a depot (with a shelf) holding 20 tents and three pumps, a staging site at 向塘; 东湖区: a depot."""

    depot: int
    shelf: int
    staging: int
    other: int
    tent: int
    pump: int
    pumps: list[int]


async def make_world(db: Database) -> World:
    async with db.write() as s:
        depot = await create_location(s, LocationCreate(code="D-NCX", name="南昌县储备库", kind="depot",
                                                        region_code="360121", lat=28.55, lon=115.94))
        shelf = await create_location(s, LocationCreate(code="D-NCX-A1", name="A1 货架", kind="bin",
                                                        region_code="360121", parent_id=depot.id))
        staging = await create_location(s, LocationCreate(code="S-XT", name="向塘镇前置点", kind="staging",
                                                          region_code="360121", lat=28.45, lon=115.98))
        other = await create_location(s, LocationCreate(code="D-DHQ", name="东湖区储备库", kind="depot",
                                                        region_code="360102", lat=28.68, lon=115.90))
        tent = await create_item_type(s, ItemTypeCreate(code="TENT-12", name="救灾帐篷", unit="顶", tracking="bulk",
                                                        category="shelter"))
        pump = await create_item_type(s, ItemTypeCreate(code="PUMP-300", name="移动泵车", unit="台",
                                                        tracking="serial", category="pump"))
        pumps = [(await create_asset(s, AssetCreate(item_type_id=pump.id, serial_number=f"BC-{n}",
                                                    location_id=depot.id), actor="wang")).id for n in (1, 2, 3)]
        await post_document(s, MovementCreate(kind="receipt", location_id=depot.id, lines=[
            MovementLine(item_type_id=tent.id, quantity=20, lot=LotSpec(number="T-1"))]), actor="wang")
        await post_document(s, MovementCreate(kind="receipt", location_id=other.id, lines=[
            MovementLine(item_type_id=tent.id, quantity=50)]), actor="wang")
    return World(depot.id, shelf.id, staging.id, other.id, tent.id, pump.id, pumps)


async def balance(db: Database, location: int, item: int) -> tuple[int, int]:
    """(on hand, in transit) of an item at a location, all lots."""
    async with db.read() as s:
        row = (await s.execute(select(func.coalesce(func.sum(Balance.on_hand), 0),
                                      func.coalesce(func.sum(Balance.in_transit), 0))
                               .where(Balance.location_id == location, Balance.item_type_id == item))).one()
    return int(row[0]), int(row[1])


async def unit(db: Database, asset_id: int) -> tuple[str, int | None]:
    async with db.read() as s:
        a = await s.get(Asset, asset_id)
        assert a is not None
        return a.status, a.location_id


async def read(db: Database, plan_id: int) -> Any:
    async with db.read() as s:
        return await plan_read(s, await get_plan(s, plan_id))


async def assert_verified(db: Database) -> None:
    async with db.read() as s:
        report = await verify_ledger(s)
    assert report.ok, report.differences


async def make_plan(db: Database, w: World, lines: list[PlanLineIn], who: Principal = AUTHOR, **over: Any) -> int:
    async with db.write() as s:
        plan = await create_plan(s, PlanCreate(name="2027年主汛期向塘前置", region_code="360121", season="2027年主汛期",
                                               lines=lines, **over), who)
    return plan.id


def tents(w: World, quantity: int, source: int | None = None) -> PlanLineIn:
    return PlanLineIn(from_location_id=source or w.depot, to_location_id=w.staging, item_type_id=w.tent,
                      quantity=quantity)


async def step(db: Database, action: Any, plan_id: int, *args: Any) -> Plan:
    async with db.write() as s:
        plan: Plan = await action(s, plan_id, *args)
        return plan


async def documents(db: Database) -> int:
    async with db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(Document)) or 0)


async def test_a_plan_goes_through_the_ledger_out_to_the_staging_site_and_back_after_the_season(db: Database) -> None:
    w = await make_world(db)
    lines = [tents(w, 12),
             PlanLineIn(from_location_id=w.depot, to_location_id=w.staging, item_type_id=w.pump,
                        asset_ids=[w.pumps[0]]),
             PlanLineIn(from_location_id=w.depot, to_location_id=w.staging, item_type_id=w.pump, quantity=1)]
    plan_id = await make_plan(db, w, lines)
    draft = await read(db, plan_id)
    assert (draft.status, draft.status_zh, draft.target_minutes, draft.author) == ("draft", "草稿", 360, "zhang")
    assert draft.item_type_ids == [w.tent, w.pump]
    assert [(ln.quantity, ln.to_name, ln.transfer_id) for ln in draft.lines] == [
        (12, "向塘镇前置点", None), (1, "向塘镇前置点", None), (1, "向塘镇前置点", None)]
    assert await balance(db, w.depot, w.tent) == (20, 0), "a draft moves nothing"

    await step(db, approve_plan, plan_id, APPROVER)
    executed = await step(db, execute_plan, plan_id, ADMIN)
    assert executed.status == "executing" and executed.executed_by == "admin"
    after = await read(db, plan_id)
    transfer_ids = {ln.transfer_id for ln in after.lines}
    assert len(transfer_ids) == 1 and None not in transfer_ids, "one transfer per from-location and staging site"
    assert {ln.transfer_status for ln in after.lines} == {"in_transit"}
    picked = after.lines[2].asset_ids
    assert len(picked) == 1 and picked[0] in w.pumps[1:], "a counted unit is picked at execution and kept"
    assert await balance(db, w.depot, w.tent) == (8, 0)
    assert await balance(db, w.staging, w.tent) == (0, 12)
    assert await unit(db, w.pumps[0]) == ("in_transit", w.staging)
    [transfer] = transfer_ids
    async with db.read() as s:
        doc = await s.get(Document, transfer)
        assert doc is not None and (doc.reference, doc.reason, doc.actor) == (
            f"PLAN-{plan_id}", "前置计划 2027年主汛期向塘前置", "admin")
    await assert_verified(db)

    # The keeper at the staging site signs for the units from their scan pages, then receives the tents.
    async with db.write() as s:
        await receive_asset(s, KEEPER, w.pumps[0])
        await receive_asset(s, KEEPER, picked[0])
    assert (await read(db, plan_id)).status == "executing", "the tents are still in transit"
    async with db.write() as s:
        await receive_transfer(s, transfer, TransferReceive(lines=[ReceiveLine(item_type_id=w.tent, quantity=12)]),
                               actor="wang")
    in_place = await read(db, plan_id)
    assert (in_place.status, in_place.status_zh) == ("in_place", "已就位") and in_place.in_place_at is not None
    assert [ln.received for ln in in_place.lines] == [12, 1, 1]
    assert await balance(db, w.staging, w.tent) == (12, 0)
    async with db.read() as s:
        listed = await list_plans(s, status="in_place")
        assert [p.id for p in listed.items] == [plan_id] and listed.items[0].status == "in_place"
        assert (await list_plans(s, status="executing")).total == 0
        assert (await list_plans(s, region_code="3601")).items[0].line_count == 3
        assert (await list_plans(s, region_code="360102")).total == 0

    # During the season five tents and one pump are used at the staging site: they are not recalled.
    async with db.write() as s:
        await post_document(s, MovementCreate(kind="issue", location_id=w.staging, counterparty="向塘镇抢险队",
                                              lines=[MovementLine(item_type_id=w.tent, quantity=5),
                                                     MovementLine(item_type_id=w.pump, quantity=1,
                                                                  asset_ids=[picked[0]])]), actor="wang")
    recalled = await step(db, recall_plan, plan_id, RecallRequest(reason="汛期结束"), APPROVER)
    assert (recalled.status, recalled.recalled_by, recalled.in_place_at is not None) == ("recalled", "li", True)
    back = await read(db, plan_id)
    assert [(ln.received, ln.recalled) for ln in back.lines] == [(12, 7), (1, 1), (1, 0)]
    [recall_transfer] = {ln.recall_transfer_id for ln in back.lines}
    assert recall_transfer is not None and {ln.recall_status for ln in back.lines} == {"in_transit"}
    assert await balance(db, w.staging, w.tent) == (0, 0)
    assert await balance(db, w.depot, w.tent) == (8, 7)
    assert await unit(db, w.pumps[0]) == ("in_transit", w.depot)
    assert (await unit(db, picked[0]))[0] == "deployed"
    async with db.write() as s:
        sent_back = await transfer_read(s, await get_transfer(s, recall_transfer))
        assert (sent_back.from_location_id, sent_back.to_location_id) == (w.staging, w.depot)
        await receive_transfer(s, recall_transfer, TransferReceive(), actor="wang")
    assert await balance(db, w.depot, w.tent) == (15, 0)
    assert await unit(db, w.pumps[0]) == ("available", w.depot)
    assert {ln.recall_status for ln in (await read(db, plan_id)).lines} == {"received"}
    await assert_verified(db)


async def test_lines_beyond_the_stock_are_refused_with_the_shortfall_and_nothing_is_saved(db: Database) -> None:
    w = await make_world(db)
    with pytest.raises(InsufficientStock) as caught:
        await make_plan(db, w, [tents(w, 12), tents(w, 10)])
    err = caught.value
    assert "南昌县储备库" in err.detail and "救灾帐篷" in err.detail and "可用 20顶" in err.detail
    assert "计划调出 22顶" in err.detail and "缺 2顶" in err.detail and err.field == "lines.0.quantity"
    assert err.extra["shortfall"] == [{
        "lines": [0, 1], "location_id": w.depot, "location_name": "南昌县储备库", "item_type_id": w.tent,
        "item_name": "救灾帐篷", "unit": "顶", "requested": 22, "available": 20, "shortfall": 2}]
    # Stock on the depot's shelf is sent from the shelf: the refusal says so.
    async with db.write() as s:
        await post_document(s, MovementCreate(kind="receipt", location_id=w.shelf, lines=[
            MovementLine(item_type_id=w.tent, quantity=4)]), actor="wang")
    with pytest.raises(InsufficientStock, match="其货位上另有 4顶"):
        await make_plan(db, w, [tents(w, 21)])
    with pytest.raises(InsufficientStock) as caught:
        await make_plan(db, w, [PlanLineIn(from_location_id=w.depot, to_location_id=w.staging,
                                           item_type_id=w.pump, quantity=4)])
    assert caught.value.extra["shortfall"][0]["available"] == 3
    async with db.read() as s:
        assert await s.scalar(select(func.count()).select_from(Plan)) == 0
    assert await make_plan(db, w, [tents(w, 20), tents(w, 4, w.shelf)])


async def test_approval_needs_another_commander_in_scope_and_a_plan_with_lines(db: Database) -> None:
    w = await make_world(db)
    plan_id = await make_plan(db, w, [tents(w, 5)])
    with pytest.raises(PermissionDenied, match="不能审批本人制定的前置计划"):
        await step(db, approve_plan, plan_id, AUTHOR)
    with pytest.raises(PermissionDenied, match="保管员 无权"):
        await step(db, approve_plan, plan_id, KEEPER)
    with pytest.raises(PermissionDenied, match="辖区"):
        await step(db, approve_plan, plan_id, FAR)
    with pytest.raises(Conflict, match="草稿，审批后才能执行"):
        await step(db, execute_plan, plan_id, ADMIN)
    assert (await read(db, plan_id)).status == "draft"
    approved = await step(db, approve_plan, plan_id, APPROVER)
    assert (approved.status, approved.approved_by) == ("approved", "li")
    with pytest.raises(Conflict, match="已审批"):
        await step(db, approve_plan, plan_id, ADMIN)
    with pytest.raises(Conflict, match="只有草稿"):
        await step(db, update_plan, plan_id, PlanUpdate(name="改名"), AUTHOR)
    empty = await make_plan(db, w, [])
    with pytest.raises(Conflict, match="没有调拨明细"):
        await step(db, approve_plan, empty, APPROVER)


async def test_keepers_and_other_counties_may_not_make_plans_of_places_outside_their_scope(db: Database) -> None:
    w = await make_world(db)
    with pytest.raises(PermissionDenied):
        await make_plan(db, w, [tents(w, 1)], who=KEEPER)
    with pytest.raises(PermissionDenied, match="360121"):
        await make_plan(db, w, [tents(w, 1)], who=FAR)
    with pytest.raises(PermissionDenied) as caught:
        await make_plan(db, w, [tents(w, 1, w.other)])
    assert caught.value.extra == {"location_id": w.other}
    with pytest.raises(InvalidInput) as bad:
        await make_plan(db, w, [PlanLineIn(from_location_id=w.depot, to_location_id=w.shelf, item_type_id=w.tent,
                                           quantity=1)])
    assert bad.value.field == "lines.0.to_location_id"
    with pytest.raises(InvalidInput) as same:
        await make_plan(db, w, [PlanLineIn(from_location_id=w.shelf, to_location_id=w.depot, item_type_id=w.tent,
                                           quantity=1)])
    assert same.value.field == "lines.0.to_location_id" and "相同" in same.value.detail
    with pytest.raises(InvalidInput) as units:
        await make_plan(db, w, [PlanLineIn(from_location_id=w.depot, to_location_id=w.staging, item_type_id=w.tent,
                                           asset_ids=[w.pumps[0]])])
    assert units.value.field == "lines.0.asset_ids"
    plan_id = await make_plan(db, w, [tents(w, 1)], target_minutes=240, level="city")
    assert (await read(db, plan_id)).target_minutes == 240
    assert (await read(db, await make_plan(db, w, [], level="province"))).target_minutes == 600


async def test_execute_checks_the_stock_again_and_posts_nothing_when_it_no_longer_fits(db: Database) -> None:
    w = await make_world(db)
    plan_id = await make_plan(db, w, [tents(w, 15), PlanLineIn(
        from_location_id=w.depot, to_location_id=w.staging, item_type_id=w.pump, asset_ids=[w.pumps[0]])])
    await step(db, approve_plan, plan_id, APPROVER)
    async with db.write() as s:
        await post_document(s, MovementCreate(kind="issue", location_id=w.depot, counterparty="县防汛抢险队",
                                              lines=[MovementLine(item_type_id=w.tent, quantity=8)]), actor="wang")
    before = await documents(db)
    with pytest.raises(InsufficientStock) as caught:
        await step(db, execute_plan, plan_id, APPROVER)
    assert "前置计划未执行" in caught.value.detail
    assert caught.value.extra["shortfall"] == [{
        "lines": [0], "location_id": w.depot, "location_name": "南昌县储备库", "item_type_id": w.tent,
        "item_name": "救灾帐篷", "unit": "顶", "requested": 15, "available": 12, "shortfall": 3}]
    assert await documents(db) == before
    assert (await read(db, plan_id)).status == "approved"
    assert await unit(db, w.pumps[0]) == ("available", w.depot)
    # A named unit gone since approval is a 409 too, naming it.
    async with db.write() as s:
        await post_document(s, MovementCreate(kind="receipt", location_id=w.depot, lines=[
            MovementLine(item_type_id=w.tent, quantity=3)]), actor="wang")
        await post_document(s, MovementCreate(kind="issue", location_id=w.depot, counterparty="县防汛抢险队", lines=[
            MovementLine(item_type_id=w.pump, quantity=1, asset_ids=[w.pumps[0]])]), actor="wang")
    with pytest.raises(Conflict, match="BC-1"):
        await step(db, execute_plan, plan_id, APPROVER)
    assert await balance(db, w.staging, w.tent) == (0, 0)


async def test_recall_waits_for_transfers_in_transit_and_updates_only_drafts(db: Database) -> None:
    w = await make_world(db)
    plan_id = await make_plan(db, w, [tents(w, 6)])
    changed = await step(db, update_plan, plan_id, PlanUpdate(name="改后的计划", lines=[tents(w, 9), PlanLineIn(
        from_location_id=w.depot, to_location_id=w.staging, item_type_id=w.pump, quantity=2)]), AUTHOR)
    assert changed.name == "改后的计划" and changed.item_type_ids == [w.tent, w.pump]
    assert [ln.quantity for ln in (await read(db, plan_id)).lines] == [9, 2]
    with pytest.raises(InsufficientStock):
        await step(db, update_plan, plan_id, PlanUpdate(lines=[tents(w, 99)]), AUTHOR)
    assert [ln.quantity for ln in (await read(db, plan_id)).lines] == [9, 2], "a refused update changes nothing"
    await step(db, approve_plan, plan_id, APPROVER)
    with pytest.raises(Conflict, match="执行后"):
        await step(db, recall_plan, plan_id, RecallRequest(), APPROVER)
    await step(db, execute_plan, plan_id, APPROVER)
    with pytest.raises(Conflict, match="仍在途") as caught:
        await step(db, recall_plan, plan_id, RecallRequest(), APPROVER)
    assert len(caught.value.extra["transfer_ids"]) == 1
    with pytest.raises(Conflict, match="执行"):
        await step(db, execute_plan, plan_id, APPROVER)
    async with db.write() as s:
        await receive_transfer(s, caught.value.extra["transfer_ids"][0], TransferReceive(), actor="wang")
    async with db.read() as s:
        stored = await s.get(Plan, plan_id)
        assert stored is not None and stored.status == "executing", "the row catches up at the next write"
    recalled = await step(db, recall_plan, plan_id, RecallRequest(), APPROVER)
    assert recalled.status == "recalled" and recalled.in_place_at is not None
    assert await balance(db, w.depot, w.tent) == (11, 9)
    await assert_verified(db)


async def test_a_plan_made_from_a_finished_proposal_takes_its_lines_and_keeps_the_proposal(db: Database) -> None:
    w = await make_world(db)
    async with db.write() as s:
        done = PlanProposal(status="done", objective="stock", region_code="360121",
                            params={"item_type_id": w.tent, "time_limit_seconds": 30}, progress={},
                            answer={"sites": [str(w.staging)], "moves": [
                                {"from": str(w.depot), "to": str(w.staging), "quantity": 8}]},
                            error="", created_by="zhang", finished_at=utcnow())
        running = PlanProposal(status="running", objective="stock", region_code="360121",
                               params={"item_type_id": w.tent, "time_limit_seconds": 600}, progress={},
                               answer=None, error="", created_by="zhang")
        s.add_all([done, running])
    plan_id = await make_plan(db, w, [], proposal_id=done.id)
    plan = await read(db, plan_id)
    assert plan.proposal_id == done.id and plan.item_type_ids == [w.tent]
    assert [(ln.from_location_id, ln.to_location_id, ln.item_type_id, ln.quantity) for ln in plan.lines] == [
        (w.depot, w.staging, w.tent, 8)]
    with pytest.raises(Conflict):
        await make_plan(db, w, [], proposal_id=running.id)
    with pytest.raises(InvalidInput) as unknown:
        await make_plan(db, w, [], proposal_id=999_999)
    assert unknown.value.field == "proposal_id"
    by_hand = await read(db, await make_plan(db, w, [tents(w, 2)], proposal_id=done.id))
    assert [ln.quantity for ln in by_hand.lines] == [2], "lines given by hand win over the proposal's"


# ---- coverage --------------------------------------------------------------------------------------------------

STAGING_AT = (28.55, 115.94)  # 南昌县
FAR_DEPOT_AT = (25.85, 114.93)  # about 310 km south (赣州)


def eta_minutes(kind_minutes: float, a: tuple[float, float], b: tuple[float, float]) -> float:
    """The default estimate by hand: mobilisation + km × 1.4 ÷ 40 km/h."""
    return kind_minutes + haversine_km(*a, *b) * 1.4 / 40 * 60


async def add_point(db: Database, code: str, at: tuple[float, float], weight: float, needs: dict[int, int]) -> int:
    async with db.write() as s:
        p = RiskPoint(code=code, name=f"风险点 {code}", kind="village", region_code="360121", lat=at[0], lon=at[1],
                      weight=weight, note="", created_by="test")
        s.add(p)
        await s.flush()
        for item, quantity in needs.items():
            s.add(RiskNeed(risk_point_id=p.id, item_type_id=item, quantity=quantity))
    return p.id


async def test_coverage_reaches_the_points_near_the_layout_heaviest_first_and_names_what_each_lacks(
        db: Database) -> None:
    async with db.write() as s:
        staging = await create_location(s, LocationCreate(code="S-1", name="前置点", kind="staging",
                                                          region_code="360121", lat=STAGING_AT[0], lon=STAGING_AT[1]))
        depot = await create_location(s, LocationCreate(code="D-FAR", name="远方储备库", kind="depot",
                                                        region_code="360121", lat=FAR_DEPOT_AT[0],
                                                        lon=FAR_DEPOT_AT[1]))
        tent = await create_item_type(s, ItemTypeCreate(code="TENT", name="救灾帐篷", unit="顶", tracking="bulk",
                                                        category="shelter"))
        await post_document(s, MovementCreate(kind="receipt", location_id=depot.id, lines=[
            MovementLine(item_type_id=tent.id, quantity=10)]), actor="wang")
    near_staging = (28.595, 115.94)  # 5 km north of the staging site
    near_too = (28.55, 116.04)  # 10 km east of it
    near_depot = (25.895, 114.93)  # 5 km north of the far depot
    nowhere = (29.7, 117.8)  # 200 km from the staging site, 500 from the depot
    p1 = await add_point(db, "P1", near_staging, 100, {tent.id: 4})
    p2 = await add_point(db, "P2", near_too, 80, {tent.id: 4})
    p3 = await add_point(db, "P3", near_depot, 50, {tent.id: 3})
    p4 = await add_point(db, "P4", nowhere, 30, {tent.id: 1})
    await add_point(db, "P5", near_staging, 500, {})  # needs nothing of the plan's item types: not listed
    by_hand = {p1: eta_minutes(15, STAGING_AT, near_staging), p2: eta_minutes(15, STAGING_AT, near_too),
               p3: eta_minutes(30, FAR_DEPOT_AT, near_depot), p4: eta_minutes(15, STAGING_AT, nowhere)}
    assert by_hand[p1] < 360 and by_hand[p2] < 360 and by_hand[p3] < 360 and by_hand[p4] > 360
    assert eta_minutes(30, FAR_DEPOT_AT, near_too) > 360 and eta_minutes(15, STAGING_AT, near_depot) > 360
    async with db.write() as s:
        plan = await create_plan(s, PlanCreate(name="汛前前置", region_code="360121", lines=[PlanLineIn(
            from_location_id=depot.id, to_location_id=staging.id, item_type_id=tent.id, quantity=6)]), ADMIN)

    async def coverage() -> Any:
        async with db.read() as s:
            return await plan_coverage(s, plan.id, EtaConfig())

    # P1 (heaviest) takes 4 of the 6 staged; P2 gets the other 2 (short 2: the depot is 300 km away);
    # P3 takes 3 of the 4 left at the far depot; P4 is beyond 6 h of everything.
    c = await coverage()
    got = {p.risk_point_id: (p.covered, [(n.needed, n.covered, n.shortfall) for n in p.needs]) for p in c.points}
    assert got == {p1: (True, [(4, 4, 0)]), p2: (False, [(4, 2, 2)]), p3: (True, [(3, 3, 0)]),
                   p4: (False, [(1, 0, 1)])}
    assert [p.risk_point_id for p in c.points] == [p1, p2, p3, p4]
    assert (c.total_weight, c.covered_weight, c.target_minutes) == (260, 150, 360)
    assert c.points[0].needs[0].sources == [{"location_id": staging.id, "name": "前置点", "quantity": 4,
                                             "eta_minutes": round(by_hand[p1], 1)}]
    assert c.points[3].nearest_minutes == round(by_hand[p4], 1)
    assert c.sites == [{"location_id": staging.id, "name": "前置点", "lat": STAGING_AT[0], "lon": STAGING_AT[1],
                        "lines": [{"line_id": c.sites[0]["lines"][0]["line_id"], "from_location_id": depot.id,
                                   "item_type_id": tent.id, "item_name": "救灾帐篷", "quantity": 6}]}]

    # Executed (in transit) and received, the layout is the same; recalled, the staging site is empty again.
    await step(db, approve_plan, plan.id, APPROVER)
    await step(db, execute_plan, plan.id, APPROVER)
    assert [p.covered for p in (await coverage()).points] == [True, False, True, False]
    async with db.write() as s:
        [line] = list(await s.scalars(select(PlanLine).where(PlanLine.plan_id == plan.id)))
        assert line.transfer_id is not None
        await receive_transfer(s, line.transfer_id, TransferReceive(), actor="wang")
    assert [p.covered for p in (await coverage()).points] == [True, False, True, False]
    await step(db, recall_plan, plan.id, RecallRequest(), APPROVER)
    recalled = await coverage()
    assert [(p.risk_point_id, p.covered) for p in recalled.points] == [(p1, False), (p2, False), (p3, True),
                                                                        (p4, False)]
    assert recalled.covered_weight == 50


def test_allot_serves_both_points_where_heaviest_first_nearest_first_would_leave_one_short() -> None:
    # Greedy (heaviest point first, nearest site first) gives A site 100 and leaves B, which only 100 reaches,
    # with nothing; the allotment serves A from 200 instead.
    points = [Point(1, 90, {7: 1}, [(10.0, 100), (40.0, 200)]), Point(2, 10, {7: 1}, [(20.0, 100), (900.0, 200)])]
    taken = allot(points, {(100, 7): 1, (200, 7): 1}, 60)
    assert [(t.site_id, t.quantity) for t in taken[(1, 7)]] == [(200, 1)]
    assert [(t.site_id, t.quantity) for t in taken[(2, 7)]] == [(100, 1)]


def test_allot_serves_the_heaviest_point_and_prefers_the_nearest_site_within_the_target() -> None:
    points = [Point(1, 10, {7: 5}, [(30.0, 100), (50.0, 200)]),
              Point(2, 90, {7: 4}, [(20.0, 100), (400.0, 200)])]
    taken = allot(points, {(100, 7): 6, (200, 7): 10}, 360)
    assert [(t.site_id, t.quantity) for t in taken[(2, 7)]] == [(100, 4)], "heaviest first, the far site is too far"
    assert [(t.site_id, t.quantity) for t in taken[(1, 7)]] == [(100, 2), (200, 3)]
    assert allot(points, {}, 360) == {(1, 7): [], (2, 7): []}


def test_a_transfer_s_quantities_go_to_the_unit_s_line_and_bulk_to_lines_in_order() -> None:
    lines = [PlanLine(id=1, item_type_id=7, quantity=5, asset_ids=[]),
             PlanLine(id=2, item_type_id=7, quantity=4, asset_ids=[]),
             PlanLine(id=3, item_type_id=8, quantity=2, asset_ids=[31, 32])]
    assert apportion(lines, {(7, None): 7, (8, 31): 1, (8, 32): 0}) == {1: 5, 2: 2, 3: 1}
    assert apportion(lines, {}) == {1: 0, 2: 0, 3: 0}
