"""Alert computation on a real database, at fixed moments: each kind raised and resolved on its own, runs that
change nothing when nothing changed, reopening, a failing source, the advisory lock, and who sees what."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text, update

from inventory.agreements import service as agreements
from inventory.agreements.schemas import AgreementCreate, AgreementLineCreate, CheckCreate, SettleRequest
from inventory.alerts import queries
from inventory.alerts.compute import LOCK_KEY, apply, clock_at, collect
from inventory.alerts.kinds import Found, Source
from inventory.alerts.registry import SOURCES
from inventory.alerts.runner import compute_alerts
from inventory.alerts.visibility import Viewer, sees
from inventory.leases import service as leases
from inventory.leases.schemas import LeaseCreate, LeaseExtend, LeaseLineCreate, LeaseReturn, ReturnLine
from inventory.quotas.schemas import QuotaCreate
from inventory.quotas.service import create_quota
from inventory.readiness.checks import record_check
from inventory.readiness.plans import create_plan
from inventory.readiness.schemas import CheckCreate as UnitCheck
from inventory.readiness.schemas import PlanCreate
from inventory.response import dispatch, incidents
from inventory.response.schemas import Approval, DispatchCreate, DispatchLineRequest, ExecuteRequest, IncidentCreate
from inventory.stock.assets import create_asset
from inventory.stock.schemas import AssetCreate, MovementLine, TransferReceive
from inventory.stock.transfers import receive_transfer
from inventory.store.db import Database
from inventory.store.models import Alert, AlertDelivery, Location
from tests.alerts_support import (
    ADMIN,
    CONFIG,
    PUBLIC_URL,
    World,
    alert_rows,
    at,
    day,
    make_world,
    open_keys,
    post,
    receive,
    run,
)

ORAL = Approval(mode="oral", approved_by="县防指 王副指挥长")


async def test_lots_expiring_then_expired_then_gone_then_back_reopen_the_same_row(db: Database) -> None:
    w = await make_world(db)
    water = await receive(db, w.depot_in, w.water, 30, lot="W1", expiry=day(10))
    await receive(db, w.bin_in, w.water, 10, lot="W1", expiry=day(10))  # a bin's stock counts at its depot
    await receive(db, w.depot_in, w.tent, 10, lot="T1", expiry=day(40))
    await receive(db, w.depot_out, w.tent, 5)  # no lot, no expiry: never an alert
    first = await run(db, at(0))
    assert first.computed and first.opened == 1 and first.by_kind == {"lot_expiring": 1}
    (alert,) = (await alert_rows(db)).values()
    assert (alert.kind, alert.severity, alert.region_code, alert.location_id, alert.subject_id) == (
        "lot_expiring", "normal", "360121", w.depot_in, water)
    assert "还有 10 天" in alert.title and "现存 40 箱" in alert.detail, (alert.title, alert.detail)
    # The tent lot is 40 days out: its category's lead is 30 days; water's is 15.
    again = await run(db, at(0, hours=1))
    assert (again.opened, again.seen_again, again.resolved) == (0, 1, 0)
    assert [a.id for a in (await alert_rows(db)).values()] == [alert.id]

    later = await run(db, at(11))
    keys = await open_keys(db)
    assert keys == {f"lot_expired:{water}:{w.depot_in}", f"lot_expiring:{await tent_lot(db, w)}:{w.depot_in}:{day(40)}"}
    assert (later.opened, later.resolved) == (2, 1)
    expired = (await alert_rows(db))[f"lot_expired:{water}:{w.depot_in}"]
    assert expired.severity == "high" and "已于" in expired.title

    await post(db, kind="issue", location_id=w.depot_in, counterparty="县防汛抢险队",
               lines=[MovementLine(item_type_id=w.water, quantity=30, lot_id=water)])
    await run(db, at(12))
    assert f"lot_expired:{water}:{w.depot_in}" in await open_keys(db), "the bin still holds 10"
    await post(db, kind="issue", location_id=w.bin_in, counterparty="县防汛抢险队",
               lines=[MovementLine(item_type_id=w.water, quantity=10, lot_id=water)])
    gone = await run(db, at(12, hours=1))
    assert gone.resolved == 1 and f"lot_expired:{water}:{w.depot_in}" not in await open_keys(db)
    async with db.write() as s:  # acknowledged before it went away: reopening clears that
        await s.execute(update(Alert).where(Alert.id == expired.id).values(acknowledged_at=at(12), acknowledged_by="k"))

    await receive(db, w.depot_in, w.water, 3, lot="W1", expiry=day(10))
    back = await run(db, at(13))
    assert back.reopened == 1 and back.opened == 0
    row = (await alert_rows(db))[f"lot_expired:{water}:{w.depot_in}"]
    # The same row, open again; being high, it was queued for delivery again in this run.
    assert (row.id, row.times_opened, row.resolved_at, row.acknowledged_at, row.notified_at) == (
        expired.id, 2, None, None, at(13))
    assert row.first_seen == expired.first_seen and row.opened_at == at(13) and "现存 3 箱" in row.detail


async def tent_lot(db: Database, w: World) -> int:
    from tests.alerts_support import lot_id

    return await lot_id(db, w.tent, "T1")


async def test_two_runs_at_the_same_moment_leave_the_same_rows(db: Database) -> None:
    w = await make_world(db)
    await receive(db, w.depot_in, w.water, 5, lot="W1", expiry=day(3))
    await receive(db, w.depot_out, w.water, 5, lot="W2", expiry=day(1))
    await run(db, at(2))

    def snapshot(rows: dict[str, Alert]) -> list[tuple[object, ...]]:
        return [(a.id, a.dedupe_key, a.kind, a.severity, a.title, a.detail, a.first_seen, a.last_seen,
                 a.resolved_at, a.notified_at) for a in rows.values()]

    before = snapshot(await alert_rows(db))
    report = await run(db, at(2))
    assert snapshot(await alert_rows(db)) == before and len(before) == 2
    assert (report.opened, report.reopened, report.resolved, report.seen_again) == (0, 0, 0, 2)


async def test_leases_due_then_overdue_then_extended_then_returned(db: Database) -> None:
    w = await make_world(db)
    await receive(db, w.depot_in, w.tent, 10)
    async with db.write() as s:
        lease = await leases.create_lease(s, LeaseCreate(
            direction="out", counterparty="进贤县应急管理局", location_id=w.depot_in, start_date=day(0),
            due_date=day(2), lines=[LeaseLineCreate(item_type_id=w.tent, quantity=2)], contact_name="周科长"), ADMIN)
    await run(db, at(0))
    assert await open_keys(db) == set(), "a draft lease has not been handed over"
    async with db.write() as s:
        await leases.hand_over(s, lease.id, ADMIN)
    await run(db, at(0))
    assert await open_keys(db) == {f"lease_due:{lease.id}:{day(2)}"}
    await run(db, at(3))
    overdue = (await alert_rows(db))[f"lease_overdue:{lease.id}:{day(2)}"]
    assert await open_keys(db) == {overdue.dedupe_key}
    assert overdue.severity == "high" and "逾期 1 天" in overdue.title and "周科长" in overdue.detail
    async with db.write() as s:
        await leases.extend(s, lease.id, LeaseExtend(due_date=day(10), reason="汛期延长"), ADMIN)
    await run(db, at(3))
    assert await open_keys(db) == set(), "extended to day 10: neither due within 3 days nor overdue"
    await run(db, at(8))
    assert await open_keys(db) == {f"lease_due:{lease.id}:{day(10)}"}
    async with db.write() as s:
        line = (await leases_lines(db, lease.id))[0]
        await leases.take_back(s, lease.id, LeaseReturn(lines=[ReturnLine(line_id=line, quantity=2)]), ADMIN)
    await run(db, at(12))
    assert await open_keys(db) == set()


async def leases_lines(db: Database, lease_id: int) -> list[int]:
    from inventory.store.models import LeaseLine

    async with db.read() as s:
        return list(await s.scalars(select(LeaseLine.id).where(LeaseLine.lease_id == lease_id)))


def _agreement(w: World, **over: object) -> AgreementCreate:
    body: dict[str, object] = {
        "number": "XY-1", "name": "饮用水协议代储", "vendor_location_id": w.vendor_in, "kind": "physical",
        "valid_from": day(-100), "valid_until": day(20), "response_hours": 6, "check_interval_days": 90,
        "lines": [AgreementLineCreate(item_type_id=w.water, quantity=100)], **over}
    return AgreementCreate(**body)  # type: ignore[arg-type]


async def test_an_agreement_expiring_and_due_a_check_until_checked_and_expired(db: Database) -> None:
    w = await make_world(db)
    async with db.write() as s:
        a = await agreements.create_agreement(s, _agreement(w), ADMIN)
    await run(db, at(0))
    check_key = f"agreement_check_due:{a.id}:{day(-10)}"
    assert await open_keys(db) == {f"agreement_expiring:{a.id}:{day(20)}", check_key}
    assert "已逾期 10 天" in (await alert_rows(db))[check_key].title
    async with db.write() as s:
        await agreements.record_check(s, a.id, CheckCreate(checked_on=day(0), method="spot", result="pass"), ADMIN)
    await run(db, at(0))
    assert await open_keys(db) == {f"agreement_expiring:{a.id}:{day(20)}"}
    await run(db, at(21))
    assert await open_keys(db) == set(), "an expired agreement is no longer expiring"


async def test_a_call_off_to_settle_then_overdue_then_settled(db: Database) -> None:
    w = await make_world(db)
    async with db.write() as s:
        a = await agreements.create_agreement(s, _agreement(w, valid_until=day(300)), ADMIN)
        await agreements.record_check(s, a.id, CheckCreate(checked_on=day(0), method="spot", result="pass"), ADMIN)
        inc = await incidents.create_incident(s, IncidentCreate(
            name="向塘镇圩堤管涌", kind="flood", region_code="360121", lat=28.50, lon=115.95), actor="commander")
        d = await dispatch.create_dispatch(s, inc.id, DispatchCreate(approval=Approval(
            mode="written", approved_by="王指挥长", document_no="赣应急〔2026〕9号"),
            lines=[DispatchLineRequest(item_type="WATER", quantity=10, agreement_id=a.id)]), actor="commander")
        await dispatch.execute_dispatch(s, d.id, ExecuteRequest(), ADMIN)
    from inventory.store.models import AgreementCallOff

    async with db.read() as s:
        c = await s.scalar(select(AgreementCallOff))
    assert c is not None and c.settlement_due is not None
    due = c.settlement_due
    await run(db, at((due - day(0)).days - 10))
    assert await open_keys(db) == set()
    await run(db, at((due - day(0)).days - 3))
    assert await open_keys(db) == {f"settlement_due:{c.id}:{due}"}
    await run(db, at((due - day(0)).days + 2))
    row = (await alert_rows(db))[f"settlement_overdue:{c.id}:{due}"]
    assert await open_keys(db) == {row.dedupe_key} and row.severity == "high" and row.location_id == w.vendor_in
    async with db.write() as s:
        await agreements.settle_calloff(s, a.id, c.id, SettleRequest(note="已付款"), ADMIN)
    await run(db, at((due - day(0)).days + 3))
    assert await open_keys(db) == set()


async def test_paperwork_of_an_oral_order_is_overdue_after_48_hours_until_recorded(db: Database) -> None:
    w = await make_world(db)
    await receive(db, w.depot_in, w.tent, 10)
    async with db.write() as s:
        inc = await incidents.create_incident(s, IncidentCreate(
            name="向塘镇圩堤管涌", kind="flood", region_code="360121", lat=28.50, lon=115.95), actor="commander")
        d = await dispatch.create_dispatch(s, inc.id, DispatchCreate(approval=ORAL, lines=[
            DispatchLineRequest(item_type="TENT", quantity=2, from_location_id=w.depot_in)]), actor="commander")
    await run(db, at(hours=47))
    assert await open_keys(db) == set()
    await run(db, at(hours=50))
    row = (await alert_rows(db))[f"paperwork_overdue:{d.id}"]
    assert await open_keys(db) == {row.dedupe_key}
    assert row.severity == "high" and row.location_id == inc.location_id and row.region_code == "360121"
    async with db.write() as s:
        await dispatch.record_paperwork(s, d.id, "赣应急〔2026〕12号")
    await run(db, at(hours=51))
    assert await open_keys(db) == set()


async def test_a_transfer_in_transit_too_long_until_received_and_a_cancelled_one_never(db: Database) -> None:
    w = await make_world(db)
    await receive(db, w.depot_out, w.tent, 10)
    sent = await post(db, kind="transfer", location_id=w.depot_out, to_location_id=w.depot_in,
                      lines=[MovementLine(item_type_id=w.tent, quantity=3)])
    cancelled = await post(db, kind="transfer", location_id=w.depot_out, to_location_id=w.depot_in,
                           lines=[MovementLine(item_type_id=w.tent, quantity=1)])
    from inventory.stock.reversal import reverse_document

    async with db.write() as s:
        await reverse_document(s, cancelled, "录入错误", actor="admin")
    await run(db, at(2))
    assert await open_keys(db) == set()
    await run(db, at(3, hours=1))
    row = (await alert_rows(db))[f"transfer_in_transit:{sent}"]
    assert await open_keys(db) == {row.dedupe_key}
    assert row.location_id == w.depot_in and "3 件未收货" in row.detail and "东湖区储备库" in row.title
    async with db.write() as s:
        await receive_transfer(s, sent, TransferReceive(), actor="admin")
    await run(db, at(4))
    assert await open_keys(db) == set()


async def test_a_unit_due_a_check_then_overdue_then_checked(db: Database) -> None:
    w = await make_world(db)
    async with db.write() as s:
        unit = await create_asset(s, AssetCreate(item_type_id=w.pump, serial_number="P-1", location_id=w.bin_in),
                                  actor="admin")
        await create_plan(s, PlanCreate(task="visual_check", item_type_id=w.pump, interval_days=30), ADMIN)
    await run(db, at(20))
    assert await open_keys(db) == set()
    await run(db, at(25))
    assert {k.split(":")[0] for k in await open_keys(db)} == {"check_due"}
    await run(db, at(31))
    (key,) = await open_keys(db)
    row = (await alert_rows(db))[key]
    assert row.kind == "check_overdue" and row.severity == "high" and row.location_id == w.depot_in
    assert row.subject_id == unit.id and "P-1" in row.title and "逾期" in row.detail
    async with db.write() as s:
        await record_check(s, unit.id, UnitCheck(task="visual_check", result="ok"), ADMIN, now=at(31))
    await run(db, at(31, hours=1))
    assert await open_keys(db) == set()


async def test_stock_below_its_quota_then_near_it_then_enough(db: Database) -> None:
    w = await make_world(db)
    await receive(db, w.depot_out, w.tent, 5)
    async with db.write() as s:
        q = await create_quota(s, QuotaCreate(location_id=w.depot_out, item_type_id=w.tent, minimum=10,
                                              warning_margin=5), ADMIN)
    await run(db, at(0))
    row = (await alert_rows(db))[f"quota_below:{q.id}"]
    assert await open_keys(db) == {row.dedupe_key} and row.severity == "high" and row.region_code == "360102"
    assert "缺 5 顶" in row.detail
    await receive(db, w.depot_out, w.tent, 7)
    await run(db, at(0, hours=1))
    assert await open_keys(db) == {f"quota_warning:{q.id}"}
    await receive(db, w.depot_out, w.tent, 10)
    await run(db, at(0, hours=2))
    assert await open_keys(db) == set()


async def test_a_failing_source_leaves_its_alerts_as_they_were(db: Database) -> None:
    w = await make_world(db)
    await receive(db, w.depot_in, w.water, 5, lot="W1", expiry=day(3))
    await run(db, at(0))
    assert len(await open_keys(db)) == 1

    async def broken(*_: object) -> list[Found]:
        raise RuntimeError("a bug in one query")

    sources = [Source("lots", ("lot_expired", "lot_expiring"), broken), *[s for s in SOURCES if s.name != "lots"]]
    async with db.write() as s:
        collected = await collect(s, clock_at(at(30)), CONFIG, sources)
        changes = await apply(s, collected, clock_at(at(30)))
    assert changes.failed_sources == ["lots"] and changes.resolved == 0
    assert len(await open_keys(db)) == 1


@pytest.mark.parametrize("backend", ["postgres"])  # the advisory lock is PostgreSQL's; SQLite has one writer
async def test_on_postgresql_a_run_is_skipped_while_another_process_holds_the_lock(db: Database) -> None:
    w = await make_world(db)
    await receive(db, w.depot_in, w.water, 5, lot="W1", expiry=day(3))
    async with db.write() as other:
        assert await other.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
        assert await compute_alerts(db, at(0), CONFIG, PUBLIC_URL) is None
    assert await open_keys(db) == set()
    done = await compute_alerts(db, at(0), CONFIG, PUBLIC_URL)
    assert done is not None and done[0].opened == 1


VIEWERS = {
    "keeper of 南昌县": (Viewer("keeper", ("360121",), ()), "in"),
    "keeper of the 东湖区 depot": (Viewer("keeper", (), (0,)), "out"),  # location id filled in below
    "commander of 南昌市": (Viewer("commander", ("3601",), ()), "all"),
    "commander of 南昌县": (Viewer("commander", ("360121",), ()), "in+duties"),
    "auditor": (Viewer("auditor", (), ()), "all"),
    "keeper without scope": (Viewer("keeper", (), ()), "none"),
}


async def test_who_sees_what_by_role_and_scope_in_lists_counts_and_recipients_alike(db: Database) -> None:
    w = await make_world(db)
    await receive(db, w.depot_in, w.water, 5, lot="W1", expiry=day(3))
    await receive(db, w.depot_out, w.water, 5, lot="W2", expiry=day(2))
    async with db.write() as s:
        await agreements.create_agreement(s, _agreement(w), ADMIN)
    await run(db, at(0))
    rows = await alert_rows(db)
    async with db.read() as s:
        paths = dict((await s.execute(select(Location.id, Location.path))).all())
    by_place = {"in": {k for k, a in rows.items() if a.location_id == w.depot_in},
                "out": {k for k, a in rows.items() if a.location_id == w.depot_out},
                "duties": {k for k, a in rows.items() if a.location_id == w.vendor_in}}
    assert by_place["in"] and by_place["out"] and len(by_place["duties"]) == 2
    expected = {"in": by_place["in"], "out": by_place["out"], "all": set(rows), "none": set(),
                "in+duties": by_place["in"] | by_place["duties"]}
    for name, (viewer, sees_what) in VIEWERS.items():
        if viewer.scope_locations:
            viewer = Viewer(viewer.role, (), (w.depot_out,))
        async with db.read() as s:
            listed = {a.id for a in (await queries.list_alerts(s, viewer, limit=500)).items}
            count = await queries.open_count(s, viewer)
        want = {rows[k].id for k in expected[sees_what]}
        assert listed == want, name
        assert count == len(want), name
        in_python = {a.id for a in rows.values() if sees(viewer, a.kind, a.region_code, paths.get(a.location_id))}
        assert in_python == want, name


async def test_no_deliveries_are_queued_without_any_channel(db: Database) -> None:
    w = await make_world(db)
    await receive(db, w.depot_in, w.water, 5, lot="W1", expiry=day(0))
    await run(db, at(2))
    async with db.read() as s:
        assert (await s.scalars(select(AlertDelivery))).all() == []
        assert all(a.notified_at == at(2) for a in await s.scalars(select(Alert).where(Alert.severity == "high")))


def test_a_clock_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        clock_at(dt.datetime(2026, 12, 5, 8, 0))
