"""Dispatch orders a line at a time on a real database: a keeper executes, signs for and brings back single
lines (a scanned unit or lot), each county's keeper his own sources, at the time it really happened."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from inventory.access.scope import Principal
from inventory.catalog.schemas import ItemTypeCreate
from inventory.catalog.service import create_item_type
from inventory.errors import InvalidInput, PermissionDenied
from inventory.places.locations import create_location
from inventory.places.schemas import LocationCreate
from inventory.response import dispatch, incidents
from inventory.response.field import waiting_orders
from inventory.response.schemas import (
    Approval,
    DeliverRequest,
    DispatchCreate,
    DispatchLineRequest,
    ExecuteRequest,
    IncidentCreate,
    ReturnRequest,
)
from inventory.stock.assets import create_asset
from inventory.stock.ledger import post_document
from inventory.stock.schemas import AssetCreate, LotSpec, MovementCreate, MovementLine
from inventory.stock.verify import verify_ledger
from inventory.store.db import Database
from inventory.store.models import Asset, Balance, Dispatch, DispatchLine, Document

ORAL = Approval(mode="oral", approved_by="县防指 王副指挥长")
KEEPER_A = Principal(1, "keeper-ncx", "南昌县保管员", "keeper", ("360121",), (), 0)  # 南昌县: the incident's county
KEEPER_B = Principal(2, "keeper-jxx", "进贤县保管员", "keeper", ("360124",), (), 0)  # 进贤县
ADMIN = Principal(0, "admin", "管理员", "admin", (), (), 0)
BEIJING = dt.timezone(dt.timedelta(hours=8))


@dataclass
class World:
    depot_a: int
    depot_b: int
    incident: int
    staging: int
    bags: int
    pump: int
    pumps_a: list[int]
    pump_b: int


async def make_world(db: Database) -> World:
    """Two pumps and 100 bags (lot L-A) at 南昌县's depot, one pump at 进贤县's; an incident in 南昌县."""
    async with db.write() as s:
        a = await create_location(s, LocationCreate(code="D-NCX", name="南昌县储备库", kind="depot",
                                                     region_code="360121", lat=28.55, lon=115.94))
        b = await create_location(s, LocationCreate(code="D-JXX", name="进贤县储备库", kind="depot",
                                                     region_code="360124", lat=28.37, lon=116.24))
        bags = await create_item_type(s, ItemTypeCreate(code="BAG", name="编织袋", unit="条", tracking="bulk",
                                                        category="flood_control"))
        pump = await create_item_type(s, ItemTypeCreate(code="PUMP-500", name="排涝泵", unit="台", tracking="serial",
                                                        category="pump", attributes={"flow_m3h": 500}))
        await post_document(s, MovementCreate(kind="receipt", location_id=a.id, lines=[
            MovementLine(item_type_id=bags.id, quantity=100, lot=LotSpec(number="L-A"))]), actor="t")
        pumps_a = [(await create_asset(s, AssetCreate(item_type_id=pump.id, serial_number=f"A-{i}",
                                                      location_id=a.id))).id for i in range(2)]
        pump_b = (await create_asset(s, AssetCreate(item_type_id=pump.id, serial_number="B-0",
                                                    location_id=b.id))).id
        inc = await incidents.create_incident(s, IncidentCreate(
            name="向塘镇圩堤管涌", kind="flood", region_code="360121", lat=28.50, lon=115.95), actor="commander")
    return World(a.id, b.id, inc.id, inc.location_id, bags.id, pump.id, pumps_a, pump_b)


async def order(db: Database, w: World, *lines: DispatchLineRequest) -> int:
    async with db.write() as s:
        d = await dispatch.create_dispatch(s, w.incident, DispatchCreate(approval=ORAL, lines=list(lines)),
                                           actor="commander")
    return d.id


def pumps(source: int, quantity: int = 1) -> DispatchLineRequest:
    return DispatchLineRequest(item_type="PUMP-500", quantity=quantity, from_location_id=source)


async def lines_of(db: Database, dispatch_id: int) -> list[DispatchLine]:
    async with db.read() as s:
        return list(await s.scalars(select(DispatchLine).where(DispatchLine.dispatch_id == dispatch_id)
                                    .order_by(DispatchLine.id)))


async def status(db: Database, dispatch_id: int) -> str:
    async with db.read() as s:
        d = await s.get(Dispatch, dispatch_id)
        assert d is not None
        return d.status


async def books_true(db: Database) -> None:
    async with db.read() as s:
        assert (await verify_ledger(s)).ok


async def test_executing_one_line_by_id_leaves_the_others_reserved_and_the_order_executing(db: Database) -> None:
    w = await make_world(db)
    d = await order(db, w, pumps(w.depot_a, 2))
    first, second = await lines_of(db, d)
    async with db.write() as s:
        await dispatch.execute_dispatch(s, d, ExecuteRequest(line_ids=[first.id]), KEEPER_A)
    assert [ln.state for ln in await lines_of(db, d)] == ["executed", "reserved"]
    assert await status(db, d) == "executing"
    async with db.read() as s:
        units = {a.id: (a.status, a.location_id) for a in await s.scalars(select(Asset).where(
            Asset.id.in_([first.asset_id, second.asset_id])))}
    assert units == {first.asset_id: ("in_transit", w.staging), second.asset_id: ("reserved", w.depot_a)}
    async with db.write() as s:
        await dispatch.execute_dispatch(s, d, ExecuteRequest(line_ids=[second.id]), KEEPER_A)
    assert await status(db, d) == "in_transit"
    await books_true(db)


async def test_a_lot_line_executes_its_whole_quantity(db: Database) -> None:
    w = await make_world(db)
    d = await order(db, w, DispatchLineRequest(item_type="BAG", quantity=30, from_location_id=w.depot_a))
    (line,) = await lines_of(db, d)
    assert (line.quantity, line.lot_id is not None) == (30, True)
    async with db.write() as s:
        await dispatch.execute_dispatch(s, d, ExecuteRequest(line_ids=[line.id]), KEEPER_A)
    async with db.read() as s:
        at_depot = (await s.execute(select(Balance.on_hand, Balance.reserved).where(
            Balance.location_id == w.depot_a, Balance.item_type_id == w.bags))).one()
        on_the_way = await s.scalar(select(Balance.in_transit).where(
            Balance.location_id == w.staging, Balance.item_type_id == w.bags))
    assert tuple(at_depot) == (70, 0)
    assert on_the_way == 30
    assert await status(db, d) == "in_transit"
    await books_true(db)


async def test_an_order_over_two_counties_is_executed_by_each_countys_keeper(db: Database) -> None:
    w = await make_world(db)
    d = await order(db, w, pumps(w.depot_a), pumps(w.depot_b))
    line_a, line_b = await lines_of(db, d)
    async with db.read() as s:
        waiting_a = await waiting_orders(s, KEEPER_A)
        waiting_b = await waiting_orders(s, KEEPER_B)
    assert [(o.dispatch_id, o.to_execute, o.others) for o in waiting_a] == [(d, 1, 1)]
    assert [ln.line_id for ln in waiting_a[0].lines if ln.mine] == [line_a.id]
    assert [ln.line_id for ln in waiting_b[0].lines if ln.mine] == [line_b.id]
    with pytest.raises(PermissionDenied):
        async with db.write() as s:
            await dispatch.execute_dispatch(s, d, ExecuteRequest(line_ids=[line_b.id]), KEEPER_A)
    assert [ln.state for ln in await lines_of(db, d)] == ["reserved", "reserved"]
    async with db.write() as s:  # no lines named: only his own source
        await dispatch.execute_dispatch(s, d, ExecuteRequest(), KEEPER_A)
    assert [ln.state for ln in await lines_of(db, d)] == ["executed", "reserved"]
    assert await status(db, d) == "executing"
    async with db.read() as s:
        # A's line is on its way to his own county's incident: he now signs for it; B still executes his.
        after_a = await waiting_orders(s, KEEPER_A)
        after_b = await waiting_orders(s, KEEPER_B)
    assert [(o.to_execute, o.to_deliver) for o in after_a] == [(0, 1)]
    assert [(o.to_execute, o.to_deliver) for o in after_b] == [(1, 0)]
    async with db.write() as s:
        await dispatch.execute_dispatch(s, d, ExecuteRequest(), KEEPER_B)
    assert [ln.state for ln in await lines_of(db, d)] == ["executed", "executed"]
    assert await status(db, d) == "in_transit"
    async with db.read() as s:
        assert await waiting_orders(s, KEEPER_B) == []
        assert [o.to_deliver for o in await waiting_orders(s, KEEPER_A)] == [2]
    await books_true(db)


async def test_delivering_one_line_delivers_the_order_only_when_all_are(db: Database) -> None:
    w = await make_world(db)
    d = await order(db, w, pumps(w.depot_a, 2))
    first, second = await lines_of(db, d)
    async with db.write() as s:
        await dispatch.execute_dispatch(s, d, ExecuteRequest(), KEEPER_A)
    async with db.write() as s:
        await dispatch.deliver_dispatch(s, d, KEEPER_A, data=DeliverRequest(line_ids=[first.id]))
    assert [ln.state for ln in await lines_of(db, d)] == ["delivered", "executed"]
    assert await status(db, d) == "in_transit"
    async with db.read() as s:
        unit = await s.get(Asset, first.asset_id)
        assert unit is not None
        assert (unit.status, unit.location_id) == ("available", w.staging)
    async with db.write() as s:
        await dispatch.deliver_dispatch(s, d, KEEPER_A, data=DeliverRequest(line_ids=[second.id]))
    async with db.read() as s:
        done = await s.get(Dispatch, d)
        assert done is not None
        assert (done.status, done.delivered_at is not None) == ("delivered", True)
    await books_true(db)


async def test_returning_one_line_returns_the_order_when_none_is_left(db: Database) -> None:
    w = await make_world(db)
    d = await order(db, w, pumps(w.depot_a, 2))
    first, second = await lines_of(db, d)
    async with db.write() as s:
        await dispatch.execute_dispatch(s, d, ExecuteRequest(), KEEPER_A)
    async with db.write() as s:
        await dispatch.deliver_dispatch(s, d, KEEPER_A)
    async with db.write() as s:
        await dispatch.return_dispatch(s, d, ReturnRequest(to_location_id=w.depot_a, line_ids=[first.id]), KEEPER_A)
    assert [ln.state for ln in await lines_of(db, d)] == ["returned", "delivered"]
    assert await status(db, d) == "delivered"
    with pytest.raises(PermissionDenied):  # 进贤县's keeper brings back nothing of 南昌县's
        async with db.write() as s:
            await dispatch.return_dispatch(s, d, ReturnRequest(to_location_id=w.depot_b, line_ids=[second.id]),
                                           KEEPER_B)
    async with db.write() as s:
        await dispatch.return_dispatch(s, d, ReturnRequest(to_location_id=w.depot_a, line_ids=[second.id]),
                                       KEEPER_A)
    assert await status(db, d) == "returned"
    async with db.read() as s:
        assert {(a.status, a.location_id) for a in await s.scalars(select(Asset).where(
            Asset.id.in_(w.pumps_a)))} == {("available", w.depot_a)}
    await books_true(db)


async def test_a_future_occurred_at_is_refused_and_changes_nothing(db: Database) -> None:
    w = await make_world(db)
    d = await order(db, w, pumps(w.depot_a))
    (line,) = await lines_of(db, d)
    tomorrow = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    with pytest.raises(InvalidInput) as caught:
        async with db.write() as s:
            await dispatch.execute_dispatch(s, d, ExecuteRequest(line_ids=[line.id], occurred_at=tomorrow), KEEPER_A)
    assert caught.value.field == "occurred_at"
    assert [ln.state for ln in await lines_of(db, d)] == ["reserved"]


# --------------------------------------------------------------------------- over HTTP


async def _http_world(db: Database, client: Any) -> tuple[World, int]:
    w = await make_world(db)
    r = await client.post(f"/api/v1/incidents/{w.incident}/dispatches", json={
        "lines": [{"item_type": "PUMP-500", "quantity": 2, "from_location_id": w.depot_a}],
        "approval": {"mode": "oral", "approved_by": "值班领导"}})
    assert r.status_code == 201, r.text
    return w, int(r.json()["id"])


async def test_occurred_at_lands_on_the_documents_the_stock_card_shows(db: Database, client: Any,
                                                                      client_as: Any) -> None:
    w, d = await _http_world(db, client)
    keeper = await client_as("keeper", "k-ncx", scope_regions=["360121"])
    first, _ = [ln["id"] for ln in (await client.get(f"/api/v1/dispatches/{d}")).json()["lines"]]
    left = dt.datetime(2026, 7, 1, 9, 30, tzinfo=BEIJING)  # from a paper note: the phone was dead that day
    arrived = dt.datetime(2026, 7, 1, 11, 5, tzinfo=BEIJING)
    back = dt.datetime(2026, 7, 3, 16, 0, tzinfo=BEIJING)
    r = await keeper.post(f"/api/v1/dispatches/{d}/execute", json={"line_ids": [first],
                                                                  "occurred_at": left.isoformat()})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "executing"
    assert dt.datetime.fromisoformat(r.json()["executed_at"]) == left
    r = await keeper.post(f"/api/v1/dispatches/{d}/deliver", json={"line_ids": [first],
                                                                  "occurred_at": "2026-07-01T11:05:00+08:00"})
    assert r.status_code == 200, r.text
    r = await keeper.post(f"/api/v1/dispatches/{d}/return", json={
        "to_location_id": w.depot_a, "line_ids": [first], "occurred_at": back.isoformat()})
    assert r.status_code == 200, r.text
    card = (await client.get("/api/v1/stock/card", params={"location_id": w.depot_a,
                                                           "item_type_id": w.pump})).json()
    times = {(ln["kind"], ln["quantity"]): dt.datetime.fromisoformat(ln["occurred_at"]) for ln in card["lines"]
             if ln["bucket"] == "on_hand" and ln["kind"] in ("transfer", "transfer_receipt")}
    assert times == {("transfer", -1): left, ("transfer_receipt", 1): back}
    staging = (await client.get("/api/v1/stock/card", params={"location_id": w.staging,
                                                              "item_type_id": w.pump})).json()
    received = [dt.datetime.fromisoformat(ln["occurred_at"]) for ln in staging["lines"]
                if ln["kind"] == "transfer_receipt" and ln["bucket"] == "on_hand" and ln["quantity"] == 1]
    assert received == [arrived]


async def test_a_future_occurred_at_is_422_over_http(db: Database, client: Any) -> None:
    _, d = await _http_world(db, client)
    later = (dt.datetime.now(BEIJING) + dt.timedelta(days=2)).isoformat()
    r = await client.post(f"/api/v1/dispatches/{d}/execute", json={"occurred_at": later})
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["occurred_at"]
    assert (await client.get(f"/api/v1/dispatches/{d}")).json()["status"] == "reserved"


async def test_a_retried_line_execution_posts_one_document(db: Database, client: Any) -> None:
    _, d = await _http_world(db, client)
    first = (await client.get(f"/api/v1/dispatches/{d}")).json()["lines"][0]["id"]
    answers = [await client.post(f"/api/v1/dispatches/{d}/execute", json={"line_ids": [first]},
                                 headers={"Idempotency-Key": "exec-line-once"}) for _ in range(2)]
    assert [r.status_code for r in answers] == [200, 200]
    assert answers[0].json() == answers[1].json()
    assert answers[1].headers.get("Idempotent-Replayed") == "true"
    async with db.read() as s:
        transfers = await s.scalar(select(func.count()).select_from(Document).where(
            Document.kind == "transfer", Document.reference == f"DISPATCH-{d}"))
    assert transfers == 1
    states = [ln["state"] for ln in (await client.get(f"/api/v1/dispatches/{d}")).json()["lines"]]
    assert states == ["executed", "reserved"]
