"""Dispatch orders on a real database: all-or-nothing reservation, lifecycle, paperwork, races."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from inventory.access.scope import Principal
from inventory.catalog.schemas import ItemTypeCreate
from inventory.catalog.service import create_item_type
from inventory.errors import InsufficientStock, InvalidInput
from inventory.places.locations import create_location
from inventory.places.schemas import LocationCreate
from inventory.response import dispatch, incidents
from inventory.response.schemas import (
    Approval,
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
from inventory.store.models import Asset, Balance, Dispatch, DispatchLine

ADMIN = Principal(0, "admin", "管理员", "admin", (), (), 0)
ORAL = Approval(mode="oral", approved_by="县防指 王副指挥长")


@dataclass
class World:
    near: int
    far: int
    incident: int
    bags: int
    pump: int


async def make_world(db: Database, *, bags_near: int = 100, bags_far: int = 500, pumps_near: int = 2) -> World:
    async with db.write() as s:
        near = await create_location(s, LocationCreate(code="D-NEAR", name="南昌县储备库", kind="depot",
                                                        region_code="360121", lat=28.55, lon=115.94))
        far = await create_location(s, LocationCreate(code="D-FAR", name="东湖区储备库", kind="depot",
                                                       region_code="360102", lat=28.68, lon=115.90))
        bags = await create_item_type(s, ItemTypeCreate(code="BAG", name="编织袋", unit="条", tracking="bulk",
                                                        category="flood_control", shelf_life_days=1000))
        pump = await create_item_type(s, ItemTypeCreate(code="PUMP-500", name="排涝泵", unit="台", tracking="serial",
                                                        category="pump", attributes={"flow_m3h": 500}))
        for loc, qty in ((near, bags_near), (far, bags_far)):
            if not qty:
                continue
            await post_document(s, MovementCreate(kind="receipt", location_id=loc.id, lines=[
                MovementLine(item_type_id=bags.id, quantity=qty, lot=LotSpec(number=f"L-{loc.code}"))]), actor="t")
        for i in range(pumps_near):
            await create_asset(s, AssetCreate(item_type_id=pump.id, serial_number=f"P-{i}", location_id=near.id))
        inc = await incidents.create_incident(s, IncidentCreate(
            name="向塘镇圩堤管涌", kind="flood", region_code="360121", lat=28.50, lon=115.95), actor="commander")
    return World(near.id, far.id, inc.id, bags.id, pump.id)


async def reserved_total(db: Database) -> int:
    async with db.read() as s:
        return int(await s.scalar(select(func.coalesce(func.sum(Balance.reserved), 0))) or 0)


async def test_a_line_that_cannot_be_met_reserves_nothing_and_names_every_shortfall(db: Database) -> None:
    w = await make_world(db)
    order = DispatchCreate(approval=ORAL, lines=[
        DispatchLineRequest(item_type="BAG", quantity=50),
        DispatchLineRequest(item_type="PUMP-500", quantity=5),
        DispatchLineRequest(item_type="BAG", quantity=80, from_location_id=w.near)])
    with pytest.raises(InsufficientStock) as caught:
        async with db.write() as s:
            await dispatch.create_dispatch(s, w.incident, order, actor="commander")
    shortfall = caught.value.extra["shortfall"]
    assert [(x["line"], x["requested"], x["available"]) for x in shortfall] == [(1, 5, 2), (2, 80, 50)]
    assert "排涝泵" in caught.value.detail
    assert await reserved_total(db) == 0
    async with db.read() as s:
        assert await s.scalar(select(func.count()).select_from(Dispatch)) == 0
        assert set(await s.scalars(select(Asset.status))) == {"available"}


async def test_nearest_sources_are_reserved_first_and_the_rest_from_farther(db: Database) -> None:
    w = await make_world(db)
    async with db.write() as s:
        d = await dispatch.create_dispatch(s, w.incident, DispatchCreate(approval=ORAL, lines=[
            DispatchLineRequest(item_type="BAG", quantity=150), DispatchLineRequest(item_type="PUMP-500", quantity=2)]),
            actor="commander")
        read = await dispatch.dispatch_read(s, d)
    bag_lines = {ln.location_id: ln.quantity for ln in read.lines if ln.item_type_id == w.bags}
    assert bag_lines == {w.near: 100, w.far: 50}
    assert sum(1 for ln in read.lines if ln.asset_id) == 2
    assert await reserved_total(db) == 152
    async with db.read() as s:
        assert set(await s.scalars(select(Asset.status))) == {"reserved"}
        assert (await verify_ledger(s)).ok


async def test_oral_approval_is_due_in_48_hours_and_listed_when_overdue(db: Database) -> None:
    w = await make_world(db)
    async with db.write() as s:
        d = await dispatch.create_dispatch(s, w.incident, DispatchCreate(approval=ORAL, lines=[
            DispatchLineRequest(item_type="BAG", quantity=1)]), actor="commander")
    assert d.paperwork_due_at is not None
    assert abs((d.paperwork_due_at - d.created_at) - dt.timedelta(hours=48)) < dt.timedelta(seconds=1)
    later = d.created_at + dt.timedelta(hours=49)
    async with db.read() as s:
        now_page = await dispatch.list_dispatches(s, incident_id=None, status=None, source=None, paperwork="overdue",
                                                  limit=10, offset=0)
        late_page = await dispatch.list_dispatches(s, incident_id=None, status=None, source=None,
                                                   paperwork="overdue", limit=10, offset=0, now=later)
    assert now_page.total == 0
    assert [x.id for x in late_page.items] == [d.id]
    assert late_page.items[0].paperwork_overdue
    async with db.write() as s:
        await dispatch.record_paperwork(s, d.id, "南昌县防指〔2026〕12号")
    async with db.read() as s:
        after = await dispatch.list_dispatches(s, incident_id=None, status=None, source=None, paperwork="overdue",
                                               limit=10, offset=0, now=later)
    assert after.total == 0


async def test_written_approval_needs_its_document_number(db: Database) -> None:
    w = await make_world(db)
    with pytest.raises(InvalidInput) as caught:
        async with db.write() as s:
            await dispatch.create_dispatch(s, w.incident, DispatchCreate(
                approval=Approval(mode="written", approved_by="县长"), lines=[
                    DispatchLineRequest(item_type="BAG", quantity=1)]), actor="commander")
    assert caught.value.field == "approval.document_no"


async def test_execute_deliver_and_return_keep_the_books_true(db: Database) -> None:
    w = await make_world(db)
    async with db.write() as s:
        d = await dispatch.create_dispatch(s, w.incident, DispatchCreate(approval=ORAL, lines=[
            DispatchLineRequest(item_type="BAG", quantity=30, from_location_id=w.near),
            DispatchLineRequest(item_type="PUMP-500", quantity=1)]), actor="commander")
    async with db.write() as s:
        assert (await dispatch.execute_dispatch(s, d.id, ExecuteRequest(), ADMIN)).status == "in_transit"
    async with db.read() as s:
        near_bags = await s.scalar(select(Balance.on_hand).where(Balance.location_id == w.near,
                                                                 Balance.item_type_id == w.bags))
        statuses = sorted(await s.scalars(select(Asset.status)))
    assert near_bags == 70
    assert statuses == ["available", "in_transit"]
    assert await reserved_total(db) == 0
    async with db.write() as s:
        assert (await dispatch.deliver_dispatch(s, d.id, ADMIN)).status == "delivered"
        incident = await incidents.get_incident(s, w.incident)
        at_site = await s.scalar(select(Balance.on_hand).where(Balance.location_id == incident.location_id,
                                                               Balance.item_type_id == w.bags))
    assert at_site == 30
    async with db.write() as s:  # 10 bags were used on the levee
        await post_document(s, MovementCreate(kind="issue", location_id=incident.location_id, counterparty="抢险队",
                                              lines=[MovementLine(item_type_id=w.bags, quantity=10)]), actor="t")
    async with db.write() as s:
        assert (await dispatch.return_dispatch(s, d.id, ReturnRequest(to_location_id=w.near), ADMIN)).status \
            == "returned"
        back = await s.scalar(select(Balance.on_hand).where(Balance.location_id == w.near,
                                                            Balance.item_type_id == w.bags))
        pumps_home = await s.scalar(select(func.count()).select_from(Asset).where(
            Asset.location_id == w.near, Asset.status == "available"))
        assert (await verify_ledger(s)).ok
    assert back == 90
    assert pumps_home == 2


async def test_cancel_releases_what_is_still_reserved(db: Database) -> None:
    w = await make_world(db)
    async with db.write() as s:
        d = await dispatch.create_dispatch(s, w.incident, DispatchCreate(approval=ORAL, lines=[
            DispatchLineRequest(item_type="BAG", quantity=120), DispatchLineRequest(item_type="PUMP-500", quantity=2)]),
            actor="commander")
    async with db.write() as s:
        assert (await dispatch.cancel_dispatch(s, d.id, actor="commander")).status == "cancelled"
        states = set(await s.scalars(select(DispatchLine.state)))
        assert (await verify_ledger(s)).ok
    assert states == {"released"}
    assert await reserved_total(db) == 0
    async with db.read() as s:
        assert set(await s.scalars(select(Asset.status))) == {"available"}


async def test_two_commanders_racing_for_the_last_units_one_wins(db: Database) -> None:
    w = await make_world(db, bags_near=10, bags_far=0, pumps_near=1)

    async def order() -> str:
        try:
            async with db.write() as s:
                await dispatch.create_dispatch(s, w.incident, DispatchCreate(approval=ORAL, lines=[
                    DispatchLineRequest(item_type="BAG", quantity=10), DispatchLineRequest(item_type="PUMP-500",
                                                                                         quantity=1)]),
                    actor="commander")
        except InsufficientStock:
            return "409"
        return "ok"

    outcomes = await asyncio.gather(*[order() for _ in range(6)])
    assert sorted(outcomes) == ["409"] * 5 + ["ok"]
    assert await reserved_total(db) == 11
    async with db.read() as s:
        assert (await verify_ledger(s)).ok
        assert await s.scalar(select(func.min(Balance.on_hand - Balance.reserved))) >= 0
