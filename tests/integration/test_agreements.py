"""Agreement reserves (协议储备) on a real database: availability, validity, checks and drills, call-offs, races."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select, update

from inventory.access.scope import Principal
from inventory.agreements import queries, service
from inventory.agreements.schemas import AgreementCreate, AgreementLineCreate, CheckCount, CheckCreate, SettleRequest
from inventory.availability.service import availability_summary, nearest_available
from inventory.catalog.schemas import ItemTypeCreate
from inventory.catalog.service import create_item_type
from inventory.clock import beijing_today
from inventory.errors import Conflict, InsufficientStock, InvalidInput
from inventory.places.locations import create_location
from inventory.places.schemas import LocationCreate
from inventory.response import dispatch, incidents
from inventory.response.order_views import order_view
from inventory.response.schemas import Approval, DispatchCreate, DispatchLineRequest, ExecuteRequest, IncidentCreate
from inventory.stock.verify import verify_ledger
from inventory.store.db import Database
from inventory.store.models import AgreementCallOff, AgreementLine, Asset, Balance

ADMIN = Principal(0, "admin", "管理员", "admin", (), (), 0)
ORAL = Approval(mode="oral", approved_by="县防指 王副指挥长")
TODAY = beijing_today()
INCIDENT_AT = (28.50, 115.95)


@dataclass
class World:
    market: int
    maker: int
    water: int
    pump: int
    incident: int
    staging: int


async def make_world(db: Database) -> World:
    async with db.write() as s:
        market = await create_location(s, LocationCreate(
            code="V-MKT", name="南昌县某超市配送中心", kind="vendor", region_code="360121", lat=28.54, lon=115.93))
        maker = await create_location(s, LocationCreate(
            code="V-PUMP", name="江西某泵业有限公司", kind="vendor", region_code="360111", lat=28.75, lon=116.02))
        water = await create_item_type(s, ItemTypeCreate(code="WATER", name="瓶装饮用水", unit="箱", tracking="bulk",
                                                         category="living"))
        pump = await create_item_type(s, ItemTypeCreate(code="PUMP-500", name="排涝泵", unit="台", tracking="serial",
                                                        category="pump"))
        inc = await incidents.create_incident(s, IncidentCreate(
            name="向塘镇圩堤管涌", kind="flood", region_code="360121", lat=INCIDENT_AT[0], lon=INCIDENT_AT[1]),
            actor="commander")
    return World(market.id, maker.id, water.id, pump.id, inc.id, inc.location_id)


def agreement(w: World, *, number: str = "XY-2026-01", kind: str = "physical", vendor: int | None = None,
              item: int | None = None, quantity: int = 200, valid_from: dt.date | None = None,
              valid_until: dt.date | None = None, hours: float = 6) -> AgreementCreate:
    return AgreementCreate(
        number=number, name="生活物资协议代储", vendor_location_id=vendor or w.market, kind=kind,  # type: ignore[arg-type]
        valid_from=valid_from or TODAY - dt.timedelta(days=100),
        valid_until=valid_until or TODAY + dt.timedelta(days=200),
        response_hours=hours, lines=[AgreementLineCreate(item_type_id=item or w.water, quantity=quantity)])


async def nearest_water(db: Database, quantity: int = 1, today: dt.date = TODAY) -> list[tuple[int | None, int]]:
    async with db.reader() as r:
        answer = await nearest_available(r, lat=INCIDENT_AT[0], lon=INCIDENT_AT[1], item_type="WATER",
                                         quantity=quantity, limit=20, today=today)
    return [(s.agreement.id if s.agreement else None, s.available) for s in answer.sources]


async def test_a_valid_agreement_is_offered_with_its_response_hours_and_an_expired_one_never(db: Database) -> None:
    w = await make_world(db)
    async with db.write() as s:
        valid = await service.create_agreement(s, agreement(w, hours=6), ADMIN)
        expired = await service.create_agreement(s, agreement(
            w, number="XY-OLD", quantity=999, valid_from=TODAY - dt.timedelta(days=400),
            valid_until=TODAY - dt.timedelta(days=1)), ADMIN)
        pending = await service.create_agreement(s, agreement(
            w, number="XY-NEXT", quantity=777, valid_from=TODAY + dt.timedelta(days=1)), ADMIN)
    assert await nearest_water(db, 1000) == [(valid.id, 200)]
    async with db.reader() as r:
        answer = await nearest_available(r, lat=INCIDENT_AT[0], lon=INCIDENT_AT[1], item_type="WATER", today=TODAY)
    src = answer.sources[0]
    assert src.agreement is not None and src.agreement.number == "XY-2026-01" and src.agreement.kind == "physical"
    assert src.agreement_lead_minutes == 360 and src.eta_minutes > 360
    # The expired agreement was good yesterday; the pending one is, from tomorrow.
    assert await nearest_water(db, 1000, TODAY - dt.timedelta(days=1)) == [(valid.id, 200), (expired.id, 999)]
    assert sorted(await nearest_water(db, 2000, TODAY + dt.timedelta(days=1))) == sorted(
        [(valid.id, 200), (pending.id, 777)])
    async with db.read() as s:
        summary = await availability_summary(s, region="3601", item_type="WATER", today=TODAY)
        assert summary.total.available == 200 and summary.total.on_hand == 0
        without = await availability_summary(s, region="3601", item_type="WATER", include_agreement=False,
                                             today=TODAY)
        assert without.total.available == 0
        read = await queries.agreement_read(s, expired)
        assert read.status == "expired"
    async with db.reader() as r:
        answer = await nearest_available(r, lat=INCIDENT_AT[0], lon=INCIDENT_AT[1], item_type="WATER",
                                         include_agreement=False, today=TODAY)
    assert answer.sources == []


async def test_bad_agreements_are_refused_with_the_field_named(db: Database) -> None:
    w = await make_world(db)
    async with db.write() as s:
        await service.create_agreement(s, agreement(w), ADMIN)
    cases = [
        (agreement(w, number="X1", valid_from=TODAY, valid_until=TODAY - dt.timedelta(days=1)), InvalidInput,
         "valid_until"),
        (agreement(w, number="X2", vendor=w.staging), InvalidInput, "vendor_location_id"),
        (agreement(w, number="XY-2026-01"), Conflict, "number"),
        (agreement(w, number="X3", item=99999), InvalidInput, "lines.0.item_type_id"),
    ]
    for data, error, field in cases:
        with pytest.raises(error) as caught:
            async with db.write() as s:
                await service.create_agreement(s, data, ADMIN)
        assert caught.value.field == field, (data.number, caught.value.detail)
    async with db.read() as s:
        assert await s.scalar(select(func.count()).select_from(AgreementLine)) == 1


async def test_a_drill_shows_its_measured_response_time_beside_the_promised_one(db: Database) -> None:
    w = await make_world(db)
    async with db.write() as s:
        a = await service.create_agreement(s, agreement(w, hours=6), ADMIN)
        line = (await queries.agreement_lines(s, a.id))[0]
        asked = dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.UTC)
        await service.record_check(s, a.id, CheckCreate(
            checked_on=TODAY - dt.timedelta(days=10), method="drill", result="deficient", deficiency="晚到 1.5 小时",
            requested_at=asked, arrived_at=asked + dt.timedelta(hours=7, minutes=30),
            counts=[CheckCount(line_id=line.id, counted=180)]), ADMIN)
    async with db.read() as s:
        read = await queries.agreement_read(s, await queries.get_agreement(s, a.id))
    drill = read.last_drill
    assert drill is not None and drill.measured_response_hours == 7.5 and drill.promised_response_hours == 6
    assert drill.on_time is False and drill.counts[0].counted == 180 and drill.counts[0].promised == 200
    assert read.next_check_due == TODAY - dt.timedelta(days=10) + dt.timedelta(days=90)
    with pytest.raises(InvalidInput) as caught:
        async with db.write() as s:
            await service.record_check(s, a.id, CheckCreate(checked_on=TODAY, method="drill", result="pass",
                                                            requested_at=asked), ADMIN)
    assert caught.value.field == "arrived_at"


async def test_a_call_off_reserves_is_called_delivered_into_the_ledger_and_frees_the_line(db: Database) -> None:
    w = await make_world(db)
    async with db.write() as s:
        a = await service.create_agreement(s, agreement(w, quantity=200), ADMIN)
        d = await dispatch.create_dispatch(s, w.incident, DispatchCreate(approval=ORAL, lines=[
            DispatchLineRequest(item_type="WATER", quantity=150)]), actor="commander")
    assert await nearest_water(db, 1000) == [(a.id, 50)]  # nearest filled the order from the agreement
    async with db.read() as s:
        (line,) = (await order_view(s, d.id)).lines
        assert (line.agreement_id, line.agreement_number, line.site_id) == (a.id, "XY-2026-01", w.market)
    async with db.write() as s:
        await dispatch.execute_dispatch(s, d.id, ExecuteRequest(), ADMIN)
    async with db.read() as s:
        (c,) = await queries.list_calloffs(s, a.id)
        assert c.state == "called_off" and c.settlement_due == queries.add_month(c.called_at.date())  # type: ignore[union-attr]
    async with db.write() as s:
        await dispatch.deliver_dispatch(s, d.id, ADMIN)
    # Delivered: the 150 are stock at the staging place, and the firm holds the full promise again.
    assert await nearest_water(db, 1000) == [(None, 150), (a.id, 200)]
    async with db.read() as s:
        on_hand = await s.scalar(select(Balance.on_hand).where(Balance.location_id == w.staging,
                                                               Balance.item_type_id == w.water))
        assert on_hand == 150
        (c,) = await queries.list_calloffs(s, a.id)
        assert c.state == "delivered" and c.receipt_id is not None
        assert (await verify_ledger(s)).ok
    async with db.write() as s:
        await service.settle_calloff(s, a.id, c.id, SettleRequest(), ADMIN)
    with pytest.raises(Conflict):
        async with db.write() as s:
            await service.settle_calloff(s, a.id, c.id, SettleRequest(), ADMIN)


async def test_serial_goods_of_a_capacity_agreement_arrive_as_units_and_cancel_gives_the_line_back(
    db: Database,
) -> None:
    w = await make_world(db)
    async with db.write() as s:
        a = await service.create_agreement(s, agreement(w, number="CN-01", kind="capacity", vendor=w.maker,
                                                        item=w.pump, quantity=3, hours=24), ADMIN)
        d1 = await dispatch.create_dispatch(s, w.incident, DispatchCreate(approval=ORAL, lines=[
            DispatchLineRequest(item_type="PUMP-500", quantity=2, agreement_id=a.id)]), actor="commander")
        d2 = await dispatch.create_dispatch(s, w.incident, DispatchCreate(approval=ORAL, lines=[
            DispatchLineRequest(item_type="PUMP-500", quantity=1, agreement_id=a.id)]), actor="commander")
    async with db.write() as s:
        await dispatch.cancel_dispatch(s, d2.id, actor="commander")
        await dispatch.execute_dispatch(s, d1.id, ExecuteRequest(), ADMIN)
        await dispatch.deliver_dispatch(s, d1.id, ADMIN)
    async with db.read() as s:
        units = list(await s.scalars(select(Asset).where(Asset.item_type_id == w.pump)))
        assert len(units) == 2 and {u.location_id for u in units} == {w.staging}
        assert all(u.serial_number.startswith("CN-01-") for u in units)
        line = await s.scalar(select(AgreementLine).where(AgreementLine.agreement_id == a.id))
        assert line is not None and line.outstanding == 0
        states = sorted(c.state for c in await s.scalars(select(AgreementCallOff)))
        assert states == ["delivered", "released"]
        assert (await verify_ledger(s)).ok


async def test_an_expired_agreement_cannot_be_called_off(db: Database) -> None:
    w = await make_world(db)
    async with db.write() as s:
        a = await service.create_agreement(s, agreement(w, valid_from=TODAY - dt.timedelta(days=30),
                                                        valid_until=TODAY - dt.timedelta(days=1)), ADMIN)
    with pytest.raises(Conflict) as caught:
        async with db.write() as s:
            await dispatch.create_dispatch(s, w.incident, DispatchCreate(approval=ORAL, lines=[
                DispatchLineRequest(item_type="WATER", quantity=1, agreement_id=a.id)]), actor="commander")
    assert "已过期" in caught.value.detail and caught.value.field == "lines.0.agreement_id"
    with pytest.raises(InsufficientStock):  # nor does nearest fill an order from it
        async with db.write() as s:
            await dispatch.create_dispatch(s, w.incident, DispatchCreate(approval=ORAL, lines=[
                DispatchLineRequest(item_type="WATER", quantity=1)]), actor="commander")


async def test_concurrent_call_offs_never_promise_more_than_the_agreement_holds(db: Database) -> None:
    w = await make_world(db)
    async with db.write() as s:
        a = await service.create_agreement(s, agreement(w, quantity=100), ADMIN)

    async def order(qty: int) -> int:
        try:
            async with db.write() as s:
                await dispatch.create_dispatch(s, w.incident, DispatchCreate(approval=ORAL, lines=[
                    DispatchLineRequest(item_type="WATER", quantity=qty, agreement_id=a.id)]), actor="commander")
            return qty
        except InsufficientStock:
            return 0

    got = await asyncio.gather(*(order(30) for _ in range(8)))
    assert sum(got) == 90 and got.count(30) == 3
    async with db.read() as s:
        line = await s.scalar(select(AgreementLine).where(AgreementLine.agreement_id == a.id))
        assert line is not None and line.outstanding == 90
        called = await s.scalar(select(func.sum(AgreementCallOff.quantity)))
        assert called == 90


async def test_ledger_verify_reports_an_agreement_line_whose_outstanding_disagrees_with_its_call_offs(
    db: Database,
) -> None:
    w = await make_world(db)
    async with db.write() as s:
        a = await service.create_agreement(s, agreement(w, quantity=100), ADMIN)
        await dispatch.create_dispatch(s, w.incident, DispatchCreate(approval=ORAL, lines=[
            DispatchLineRequest(item_type="WATER", quantity=30, agreement_id=a.id)]), actor="commander")
    async with db.read() as s:
        assert (await verify_ledger(s)).ok
    async with db.write() as s:  # what a hand edit of the database would do
        await s.execute(update(AgreementLine).values(outstanding=0))
    async with db.read() as s:
        report = await verify_ledger(s)
    assert [(d.location_id, d.figure, d.stored, d.expected) for d in report.differences] == [
        (w.market, "agreement_outstanding:XY-2026-01", 0, 30)]
