"""Response-time targets of dispatch orders on a real database, at fixed times: the target by the incident's
level, the estimate at ordering, delivery within or after the target, and the late list in SQL."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from inventory.access.scope import Principal
from inventory.availability.eta import EtaConfig
from inventory.availability.service import nearest_available
from inventory.catalog.schemas import ItemTypeCreate
from inventory.catalog.service import create_item_type
from inventory.config import load_settings, parse_response_target_hours
from inventory.places.geo import haversine_km
from inventory.places.locations import create_location
from inventory.places.schemas import LocationCreate
from inventory.response import dispatch, incidents
from inventory.response.schemas import (
    Approval,
    DispatchCreate,
    DispatchLineRequest,
    ExecuteRequest,
    IncidentCreate,
    ResponseLevel,
)
from inventory.stock.ledger import post_document
from inventory.stock.schemas import LotSpec, MovementCreate, MovementLine
from inventory.store.db import Database
from inventory.store.models import Dispatch

ADMIN = Principal(0, "admin", "管理员", "admin", (), (), 0)
ORAL = Approval(mode="oral", approved_by="县防指 王副指挥长")
T0 = dt.datetime(2026, 7, 1, 2, 0, tzinfo=dt.UTC)  # 10:00 in Beijing
INCIDENT_AT = (28.50, 115.95)  # 向塘镇, 南昌县
GANZHOU = (25.83, 114.93)  # 章贡区, some 300 km south


@dataclass
class World:
    near: int
    far: int
    incident: int


async def make_world(db: Database, level: ResponseLevel = "county") -> World:
    """南昌县's depot a few km from the incident, 赣州's some 300 km away, 1000 woven bags each."""
    async with db.write() as s:
        near = await create_location(s, LocationCreate(code="D-NEAR", name="南昌县储备库", kind="depot",
                                                        region_code="360121", lat=28.55, lon=115.94))
        far = await create_location(s, LocationCreate(code="D-GZ", name="赣州市储备库", kind="depot",
                                                       region_code="360702", lat=GANZHOU[0], lon=GANZHOU[1]))
        bags = await create_item_type(s, ItemTypeCreate(code="BAG", name="编织袋", unit="条", tracking="bulk",
                                                        category="flood_control", shelf_life_days=1000))
        for loc in (near, far):
            await post_document(s, MovementCreate(kind="receipt", location_id=loc.id, lines=[
                MovementLine(item_type_id=bags.id, quantity=1000, lot=LotSpec(number=f"L-{loc.code}"))]), actor="t")
        inc = await incidents.create_incident(s, IncidentCreate(
            name="向塘镇圩堤管涌", kind="flood", region_code="360121", lat=INCIDENT_AT[0], lon=INCIDENT_AT[1],
            level=level), actor="commander")
    return World(near.id, far.id, inc.id)


def bags(quantity: int, source: int | None = None) -> DispatchLineRequest:
    return DispatchLineRequest(item_type="BAG", quantity=quantity, from_location_id=source)


async def place(db: Database, w: World, *lines: DispatchLineRequest, at: dt.datetime = T0,
                targets: dict[str, float] | None = None) -> Dispatch:
    async with db.write() as s:
        return await dispatch.create_dispatch(s, w.incident, DispatchCreate(approval=ORAL, lines=list(lines)),
                                              actor="commander", now=at, targets=targets)


def eta_from(lat: float, lon: float, region: str) -> float:
    """What EtaConfig says for a depot at (lat, lon) to the incident, rounded as nearest_available rounds."""
    return round(EtaConfig().eta_minutes("depot", region, haversine_km(*INCIDENT_AT, lat, lon), None), 1)


async def test_an_order_whose_slowest_line_misses_the_target_says_so(db: Database) -> None:
    w = await make_world(db, level="city")
    far_eta = eta_from(*GANZHOU, "360702")
    assert far_eta > 8 * 60  # the premise: bags from 赣州 cannot reach 向塘镇 within a city-level 8 hours
    d = await place(db, w, bags(10, w.near), bags(10, w.far))
    async with db.read() as s:
        read = await dispatch.dispatch_read(s, d, T0)
    assert (read.ordered_at, read.created_at, read.target_hours) == (T0, T0, 8.0)
    assert read.target_due_at == T0 + dt.timedelta(hours=8)
    assert read.estimated_minutes == far_eta  # the slowest line, not the near one
    assert read.estimate_meets_target is False
    assert (read.executed_at, read.delivered_at, read.delivered_within_target, read.late) == (None, None, None, False)

    quick = await place(db, w, bags(10, w.near))
    async with db.read() as s:
        read = await dispatch.dispatch_read(s, quick, T0)
    assert read.estimated_minutes == eta_from(28.55, 115.94, "360121")
    assert read.estimate_meets_target is True


async def test_a_line_without_a_source_takes_the_eta_nearest_available_gave_its_source(db: Database) -> None:
    w = await make_world(db)
    async with db.read() as s:
        answer = await nearest_available(s, lat=INCIDENT_AT[0], lon=INCIDENT_AT[1], item_type="BAG", quantity=1500,
                                         limit=10)
    assert [src.location.id for src in answer.sources] == [w.near, w.far]
    only_near = await place(db, w, bags(100))
    assert only_near.estimated_minutes == answer.sources[0].eta_minutes
    assert only_near.estimated_minutes < answer.sources[1].eta_minutes
    d = await place(db, w, bags(1500))  # the 900 left at 南昌县, 600 from 赣州
    async with db.read() as s:
        read = await dispatch.dispatch_read(s, d, T0)
    assert sorted(ln.location_id for ln in read.lines) == sorted([w.near, w.far])
    assert read.estimated_minutes == answer.sources[1].eta_minutes
    assert (read.target_hours, read.estimate_meets_target) == (6.0, False)


async def test_the_target_follows_the_level_and_the_configured_hours(db: Database) -> None:
    w = await make_world(db, level="province")
    assert (await place(db, w, bags(1, w.near))).target_hours == 10.0
    configured = parse_response_target_hours("province=12, county=4")
    d = await place(db, w, bags(1, w.near), targets=dict(configured))
    assert d.target_hours == 12.0
    assert d.target_due_at == T0 + dt.timedelta(hours=12)
    assert dict(configured) == {"county": 4.0, "city": 8.0, "province": 12.0}


def test_bad_target_hours_in_the_environment_stop_the_settings_naming_the_variable() -> None:
    assert load_settings().response_target_hours == {"county": 6.0, "city": 8.0, "province": 10.0}
    assert load_settings(response_target_hours="city=7.5").response_target_hours["city"] == 7.5
    for bad in ("town=6", "county=0", "county=abc", "county", "province=1000"):
        with pytest.raises(ValueError, match="INVENTORY_RESPONSE_TARGET_HOURS") as caught:
            load_settings(response_target_hours=bad)
        assert bad.split("=")[0] in str(caught.value)


async def test_delivery_within_and_after_the_target(db: Database) -> None:
    w = await make_world(db)  # county: 6 hours
    on_time = await place(db, w, bags(10, w.near), bags(10, w.far))
    late = await place(db, w, bags(10, w.near))
    async with db.write() as s:  # the near depot issues after an hour, 赣州 after two: executed = the first
        await dispatch.execute_dispatch(s, on_time.id, ExecuteRequest(from_location_id=w.near), ADMIN,
                                        now=T0 + dt.timedelta(hours=1))
        await dispatch.execute_dispatch(s, on_time.id, ExecuteRequest(from_location_id=w.far), ADMIN,
                                        now=T0 + dt.timedelta(hours=2))
        await dispatch.execute_dispatch(s, late.id, ExecuteRequest(), ADMIN, now=T0 + dt.timedelta(hours=3))
    async with db.write() as s:
        await dispatch.deliver_dispatch(s, on_time.id, ADMIN, now=T0 + dt.timedelta(hours=6))  # exactly on time
        await dispatch.deliver_dispatch(s, late.id, ADMIN, now=T0 + dt.timedelta(hours=6, minutes=1))
    later = T0 + dt.timedelta(days=2)
    async with db.read() as s:
        good = await dispatch.dispatch_read(s, await dispatch.get_dispatch(s, on_time.id), later)
        bad = await dispatch.dispatch_read(s, await dispatch.get_dispatch(s, late.id), later)
    assert (good.status, good.executed_at, good.delivered_at) == ("delivered", T0 + dt.timedelta(hours=1),
                                                                  T0 + dt.timedelta(hours=6))
    assert (good.delivered_within_target, good.late) == (True, False)
    assert (bad.status, bad.executed_at, bad.delivered_at) == ("delivered", T0 + dt.timedelta(hours=3),
                                                               T0 + dt.timedelta(hours=6, minutes=1))
    assert (bad.delivered_within_target, bad.late) == (False, True)


async def test_a_partial_delivery_leaves_the_order_undelivered_until_the_rest_arrives(db: Database) -> None:
    w = await make_world(db)
    d = await place(db, w, bags(10, w.near), bags(10, w.far))
    async with db.write() as s:
        await dispatch.execute_dispatch(s, d.id, ExecuteRequest(from_location_id=w.near), ADMIN,
                                        now=T0 + dt.timedelta(hours=1))
        await dispatch.deliver_dispatch(s, d.id, ADMIN, now=T0 + dt.timedelta(hours=2))
    async with db.read() as s:
        read = await dispatch.dispatch_read(s, await dispatch.get_dispatch(s, d.id), T0 + dt.timedelta(hours=7))
    assert (read.status, read.delivered_at, read.delivered_within_target, read.late) == ("executing", None, None,
                                                                                          True)


async def list_ids(db: Database, late: bool | None, now: dt.datetime) -> list[int]:
    async with db.read() as s:
        page = await dispatch.list_dispatches(s, incident_id=None, status=None, source=None, paperwork=None,
                                              limit=50, offset=0, now=now, late=late)
    if late is not None:  # the SQL filter and the rule each order shows agree
        assert all(item.late is late for item in page.items)
    return sorted(item.id for item in page.items)


async def test_late_lists_exactly_the_late_ones(db: Database) -> None:
    w = await make_world(db)  # county: 6 hours
    hour = dt.timedelta(hours=1)
    made = {name: await place(db, w, bags(5, w.near), at=T0 + offset * hour) for name, offset in (
        ("delivered_late", 0), ("delivered_on_time", 0), ("open_past_due", 0), ("open_in_time", 3),
        ("cancelled_past_due", 0))}
    ids = {name: d.id for name, d in made.items()}
    async with db.write() as s:
        for name in ("delivered_late", "delivered_on_time"):
            await dispatch.execute_dispatch(s, ids[name], ExecuteRequest(), ADMIN, now=T0 + hour)
        await dispatch.deliver_dispatch(s, ids["delivered_late"], ADMIN, now=T0 + 7 * hour)
        await dispatch.deliver_dispatch(s, ids["delivered_on_time"], ADMIN, now=T0 + 5 * hour)
        await dispatch.cancel_dispatch(s, ids["cancelled_past_due"], actor="commander")
    now = T0 + 8 * hour  # "open_in_time" was ordered at T0+3h: due at T0+9h
    assert await list_ids(db, True, now) == sorted([ids["delivered_late"], ids["open_past_due"]])
    assert await list_ids(db, False, now) == sorted([ids["delivered_on_time"], ids["open_in_time"],
                                                     ids["cancelled_past_due"]])
    assert await list_ids(db, True, T0 + 10 * hour) == sorted([ids["delivered_late"], ids["open_past_due"],
                                                               ids["open_in_time"]])
    # Two hours in, no open order was due yet; only the delivery recorded late counts (whatever the clock says).
    assert await list_ids(db, True, T0 + 2 * hour) == [ids["delivered_late"]]
    assert len(await list_ids(db, None, now)) == 5


async def test_an_agreement_line_counts_the_firms_response_hours_as_nearest_available_does(db: Database) -> None:
    from inventory.agreements import service as agreements
    from tests.integration.test_agreements import agreement
    from tests.integration.test_agreements import make_world as agreement_world

    w = await agreement_world(db)
    async with db.write() as s:
        a = await agreements.create_agreement(s, agreement(w, quantity=200, hours=5), ADMIN)
    async with db.reader() as r:
        answer = await nearest_available(r, lat=INCIDENT_AT[0], lon=INCIDENT_AT[1], item_type="WATER", quantity=1,
                                         limit=5)
    (source,) = answer.sources
    assert source.agreement is not None and source.agreement_lead_minutes == 300
    async with db.write() as s:
        named = await dispatch.create_dispatch(s, w.incident, DispatchCreate(approval=ORAL, lines=[
            DispatchLineRequest(item_type="WATER", quantity=10, agreement_id=a.id)]), actor="commander", now=T0)
        nearest = await dispatch.create_dispatch(s, w.incident, DispatchCreate(approval=ORAL, lines=[
            DispatchLineRequest(item_type="WATER", quantity=10)]), actor="commander", now=T0)
    assert named.estimated_minutes == nearest.estimated_minutes == source.eta_minutes
    assert source.eta_minutes > 6 * 60  # 5 hours promised, plus the firm's mobilisation and the road
    async with db.read() as s:
        read = await dispatch.dispatch_read(s, named, T0)
    assert (read.target_hours, read.estimate_meets_target) == (6.0, False)
