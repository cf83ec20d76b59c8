"""Write-off requests on a real database: pending changes no stock, one approval posts once, the books agree."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from inventory.access.scope import Principal
from inventory.catalog.schemas import ItemTypeCreate
from inventory.catalog.service import create_item_type
from inventory.clock import beijing_today
from inventory.errors import Conflict, InsufficientStock, InvalidInput, InventoryError, NotFound, PermissionDenied
from inventory.places.locations import create_location
from inventory.places.schemas import LocationCreate
from inventory.stock.assets import create_asset, update_asset
from inventory.stock.ledger import post_document
from inventory.stock.queries import read_document
from inventory.stock.reversal import reverse_document
from inventory.stock.schemas import AssetCreate, AssetUpdate, LotSpec, MovementCreate, MovementLine
from inventory.stock.verify import verify_ledger
from inventory.store.db import Database
from inventory.store.models import Asset, Balance, Document, Lot, WriteOffLine, WriteOffRequest
from inventory.write_offs.schemas import WriteOffCreate, WriteOffLineRequest
from inventory.write_offs.service import (
    approve_write_off,
    cancel_write_off,
    get_write_off,
    reject_write_off,
    request_write_off,
)
from inventory.write_offs.views import list_write_offs, pending_queue, write_off_read

TODAY = beijing_today()
KEEPER = Principal(1, "keeper", "南昌县保管员", "keeper", ("360121",), (), 0)
COLLEAGUE = Principal(2, "李保管", "李保管", "keeper", ("360121",), (), 0)
CHIEF = Principal(3, "王局长", "王局长", "commander", ("3601",), (), 0)
DEPUTY = Principal(4, "刘副局长", "刘副局长", "commander", ("360121",), (), 0)
FAR_CHIEF = Principal(5, "赣州指挥", "赣州指挥", "commander", ("3607",), (), 0)
ADMIN = Principal(6, "admin", "管理员", "admin", (), (), 0)
AUDITOR = Principal(7, "审计", "审计", "auditor", (), (), 0)


@dataclass
class World:
    """南昌县's depot (with a bin) holding ten tents, water in an expired and a fresh lot, and two pumps."""

    depot: int
    bin: int
    tent: int
    water: int
    pump: int
    pumps: list[int]
    old_water: int
    new_water: int


async def make_world(db: Database) -> World:
    """The depot and its stock, received through the ledger."""
    async with db.write() as s:
        depot = await create_location(s, LocationCreate(
            code="D-NCX", name="南昌县综合应急物资储备库", kind="depot", region_code="360121", lat=28.55, lon=115.94))
        shelf = await create_location(s, LocationCreate(
            code="D-NCX-A1", name="A区1号货架", kind="bin", region_code="360121", parent_id=depot.id))
        tent = await create_item_type(s, ItemTypeCreate(
            code="TENT-12", name="12平方米单帐篷", unit="顶", tracking="bulk", category="shelter"))
        water = await create_item_type(s, ItemTypeCreate(
            code="WATER-550", name="瓶装饮用水", unit="箱", tracking="bulk", category="food", shelf_life_days=365))
        pump = await create_item_type(s, ItemTypeCreate(
            code="PUMP-300", name="移动泵车", unit="台", tracking="serial", category="pump"))
        pumps = [await create_asset(s, AssetCreate(item_type_id=pump.id, serial_number=f"BC-{n}",
                                                   location_id=depot.id), actor="keeper") for n in (1, 2)]
        await post_document(s, MovementCreate(kind="receipt", location_id=depot.id, lines=[
            MovementLine(item_type_id=tent.id, quantity=10),
            MovementLine(item_type_id=water.id, quantity=5, lot=LotSpec(
                number="W-OLD", production_date=TODAY - dt.timedelta(days=400),
                expiry_date=TODAY - dt.timedelta(days=1))),
            MovementLine(item_type_id=water.id, quantity=5, lot=LotSpec(
                number="W-NEW", expiry_date=TODAY + dt.timedelta(days=200))),
        ]), actor="keeper")
        lots = {lot.number: lot.id for lot in await s.scalars(select(Lot))}
    return World(depot.id, shelf.id, tent.id, water.id, pump.id, [p.id for p in pumps], lots["W-OLD"],
                 lots["W-NEW"])


def line(item: int, qty: int, **kw: Any) -> WriteOffLineRequest:
    """One line of a request."""
    return WriteOffLineRequest(item_type_id=item, quantity=qty, **kw)


async def request(db: Database, location: int, *lines: WriteOffLineRequest, reason: str = "霉变",
                  actor: str = "keeper") -> int:
    """A write-off request in its own transaction; its id."""
    async with db.write() as s:
        return (await request_write_off(s, WriteOffCreate(location_id=location, lines=list(lines), reason=reason),
                                        actor=actor)).id


async def decide(db: Database, verb: str, request_id: int, who: Principal, reason: str = "") -> WriteOffRequest:
    """Approve, reject or cancel in its own transaction."""
    async with db.write() as s:
        if verb == "approve":
            return await approve_write_off(s, request_id, who)
        if verb == "reject":
            return await reject_write_off(s, request_id, reason, who)
        return await cancel_write_off(s, request_id, who)


async def refused(db: Database, error: type[InventoryError], verb: str, request_id: int, who: Principal,
                  reason: str = "") -> InventoryError:
    """A decision that must fail with ``error`` and change nothing; the error."""
    before = await snapshot(db)
    with pytest.raises(error) as info:
        await decide(db, verb, request_id, who, reason)
    assert await snapshot(db) == before
    return info.value


async def snapshot(db: Database) -> tuple[Any, ...]:
    """Every balance, every unit's status, the documents and the requests' states."""
    async with db.read() as s:
        return (
            (await s.execute(select(Balance.location_id, Balance.item_type_id, Balance.lot_key, Balance.on_hand,
                                    Balance.reserved).order_by(Balance.id))).all(),
            (await s.execute(select(Asset.id, Asset.status, Asset.location_id).order_by(Asset.id))).all(),
            await s.scalar(select(func.count()).select_from(Document)),
            (await s.execute(select(WriteOffRequest.id, WriteOffRequest.status).order_by(WriteOffRequest.id))).all(),
        )


async def figures(db: Database, location: int, item: int, lot: int | None = None) -> tuple[int, int]:
    """(on hand, reserved) of one balance row."""
    async with db.read() as s:
        row = (await s.execute(select(Balance.on_hand, Balance.reserved).where(
            Balance.location_id == location, Balance.item_type_id == item, Balance.lot_key == (lot or 0)))).first()
    return (row[0], row[1]) if row else (0, 0)


async def write_off_documents(db: Database) -> list[Document]:
    """Every posted 报废单."""
    async with db.read() as s:
        return list(await s.scalars(select(Document).where(Document.kind == "write_off").order_by(Document.id)))


async def status_of(db: Database, request_id: int) -> str:
    """Where a request stands."""
    async with db.read() as s:
        return (await get_write_off(s, request_id)).status


async def asset_state(db: Database, asset_id: int) -> tuple[str, int | None]:
    """(status, location) of a unit."""
    async with db.read() as s:
        asset = await s.get(Asset, asset_id)
        assert asset is not None
        return asset.status, asset.location_id


async def assert_books_agree(db: Database) -> None:
    """``inventory ledger verify`` finds no difference."""
    async with db.read() as s:
        assert (await verify_ledger(s)).differences == []


async def issue(db: Database, location: int, item: int, qty: int) -> None:
    """Issue through the ledger in its own transaction."""
    async with db.write() as s:
        await post_document(s, MovementCreate(kind="issue", location_id=location, lines=[
            MovementLine(item_type_id=item, quantity=qty)]), actor="keeper")


# --- pending ---------------------------------------------------------------------------------------------------


async def test_a_pending_request_changes_no_stock_but_sets_it_aside_so_it_cannot_be_issued(db: Database) -> None:
    w = await make_world(db)
    rid = await request(db, w.depot, line(w.tent, 4))
    assert await status_of(db, rid) == "pending"
    assert await figures(db, w.depot, w.tent) == (10, 4)
    assert await write_off_documents(db) == []
    with pytest.raises(InsufficientStock):
        await issue(db, w.depot, w.tent, 7)
    await issue(db, w.depot, w.tent, 6)
    assert await figures(db, w.depot, w.tent) == (4, 4)
    async with db.read() as s:
        read = await write_off_read(s, await get_write_off(s, rid))
    assert (read.status, read.requested_by, read.reason, read.document_id) == ("pending", "keeper", "霉变", None)
    assert [(ln.item_type_id, ln.location_id, ln.lot_id, ln.quantity) for ln in read.lines] == [
        (w.tent, w.depot, None, 4)]
    await assert_books_agree(db)


async def test_a_request_for_more_than_is_free_is_refused_whole_and_sets_nothing_aside(db: Database) -> None:
    w = await make_world(db)
    before = await snapshot(db)
    with pytest.raises(InsufficientStock) as info:
        await request(db, w.depot, line(w.tent, 2), line(w.water, 11))
    assert info.value.field == "lines.1.quantity"
    assert info.value.extra["available"] == 10
    assert await snapshot(db) == before


async def test_bad_requests_name_the_field_at_fault_and_change_nothing(db: Database) -> None:
    w = await make_world(db)
    async with db.write() as s:
        elsewhere = await create_location(s, LocationCreate(
            code="D-JXX", name="进贤县应急物资储备库", kind="depot", region_code="360124", lat=28.37, lon=116.24))
        stray = await create_asset(s, AssetCreate(item_type_id=w.pump, serial_number="BC-9",
                                                  location_id=elsewhere.id), actor="keeper")
    before = await snapshot(db)
    cases: list[tuple[type[InventoryError], int, list[WriteOffLineRequest], str, str]] = [
        (InvalidInput, w.depot, [line(w.tent, 1)], "  ", "reason"),
        (InvalidInput, 9999, [line(w.tent, 1)], "霉变", "location_id"),
        (InvalidInput, w.depot, [line(9999, 1)], "霉变", "lines.0.item_type_id"),
        (InvalidInput, w.depot, [line(w.tent, 1, asset_ids=[w.pumps[0]])], "霉变", "lines.0.asset_ids"),
        (InvalidInput, w.depot, [line(w.tent, 1, lot_id=w.old_water)], "霉变", "lines.0.lot_id"),
        (InvalidInput, w.depot, [line(w.pump, 2, asset_ids=[w.pumps[0]])], "霉变", "lines.0.asset_ids"),
        (InvalidInput, w.depot, [line(w.pump, 1, asset_ids=[w.pumps[0]]),
                                 line(w.pump, 1, asset_ids=[w.pumps[0]])], "霉变", "lines.1.asset_ids.0"),
        (Conflict, w.depot, [line(w.pump, 1, asset_ids=[stray.id])], "霉变", "lines.0.asset_ids.0"),
    ]
    for error, location, lines, reason, field in cases:
        with pytest.raises(error) as info:
            await request(db, location, *lines, reason=reason)
        assert info.value.field == field, (field, info.value.detail)
        assert info.value.detail
    assert await snapshot(db) == before


# --- approval --------------------------------------------------------------------------------------------------


async def test_approval_posts_the_write_off_exactly_once_and_the_ledger_verifies(db: Database) -> None:
    w = await make_world(db)
    rid = await request(db, w.depot, line(w.tent, 4), reason="仓库漏雨霉变")
    approved = await decide(db, "approve", rid, CHIEF)
    assert (approved.status, approved.decided_by) == ("approved", "王局长")
    assert approved.decided_at is not None
    assert await figures(db, w.depot, w.tent) == (6, 0)
    [doc] = await write_off_documents(db)
    assert approved.document_id == doc.id
    async with db.read() as s:
        read = await read_document(s, doc.id)
    assert (read.actor, read.approver, read.reason, read.reference) == ("keeper", "王局长", "仓库漏雨霉变",
                                                                        f"WRITEOFF-{rid}")
    assert read.number.startswith("BF")
    assert [(m.bucket, m.quantity) for m in read.movements] == [("on_hand", -4)]
    err = await refused(db, Conflict, "approve", rid, DEPUTY)
    assert "已批准" in err.detail
    await refused(db, Conflict, "reject", rid, DEPUTY, "不同意")
    await refused(db, Conflict, "cancel", rid, KEEPER)
    assert len(await write_off_documents(db)) == 1
    await assert_books_agree(db)


async def test_the_requester_cannot_approve_or_reject_his_own_request(db: Database) -> None:
    w = await make_world(db)
    rid = await request(db, w.depot, line(w.tent, 1), actor="admin")
    for verb in ("approve", "reject"):
        err = await refused(db, PermissionDenied, verb, rid, ADMIN, "不要了")
        assert "本人" in err.detail
    assert await status_of(db, rid) == "pending"
    assert (await decide(db, "approve", rid, CHIEF)).status == "approved"


async def test_a_keeper_or_auditor_cannot_approve_and_a_commander_only_within_his_scope(db: Database) -> None:
    w = await make_world(db)
    rid = await request(db, w.depot, line(w.tent, 1))
    for who in (COLLEAGUE, AUDITOR, FAR_CHIEF):
        await refused(db, PermissionDenied, "approve", rid, who)
    assert await status_of(db, rid) == "pending"
    assert (await decide(db, "approve", rid, DEPUTY)).status == "approved"
    await assert_books_agree(db)


async def test_an_unknown_request_is_not_found(db: Database) -> None:
    await make_world(db)
    for verb in ("approve", "reject", "cancel"):
        await refused(db, NotFound, verb, 4242, ADMIN, "理由")


# --- rejection and cancellation --------------------------------------------------------------------------------


async def test_rejection_needs_a_reason_frees_the_stock_and_cannot_be_followed_by_approval(db: Database) -> None:
    w = await make_world(db)
    rid = await request(db, w.depot, line(w.tent, 3))
    blank = await refused(db, InvalidInput, "reject", rid, CHIEF, "   ")
    assert blank.field == "reason"
    rejected = await decide(db, "reject", rid, CHIEF, "尚可修复，送修")
    assert (rejected.status, rejected.decided_by, rejected.rejection_reason) == ("rejected", "王局长", "尚可修复，送修")
    assert await figures(db, w.depot, w.tent) == (10, 0)
    err = await refused(db, Conflict, "approve", rid, DEPUTY)
    assert "已驳回" in err.detail
    assert await write_off_documents(db) == []
    await issue(db, w.depot, w.tent, 10)  # everything is free again
    await assert_books_agree(db)


async def test_only_the_requester_or_an_admin_cancels_a_pending_request(db: Database) -> None:
    w = await make_world(db)
    rid = await request(db, w.depot, line(w.tent, 3))
    for who in (COLLEAGUE, CHIEF):
        await refused(db, PermissionDenied, "cancel", rid, who)
    cancelled = await decide(db, "cancel", rid, KEEPER)
    assert (cancelled.status, cancelled.decided_by) == ("cancelled", "keeper")
    assert await figures(db, w.depot, w.tent) == (10, 0)
    await refused(db, Conflict, "approve", rid, CHIEF)
    other = await request(db, w.depot, line(w.tent, 2))
    assert (await decide(db, "cancel", other, ADMIN)).status == "cancelled"
    assert await write_off_documents(db) == []
    await assert_books_agree(db)


# --- what exactly is written off -------------------------------------------------------------------------------


async def test_a_unit_in_maintenance_waits_reserved_and_is_retired_on_approval_or_back_in_maintenance(
    db: Database,
) -> None:
    w = await make_world(db)
    async with db.write() as s:
        await update_asset(s, w.pumps[1], AssetUpdate(status="maintenance"))
    unit = line(w.pump, 1, asset_ids=[w.pumps[1]])
    first = await request(db, w.depot, unit, reason="叶轮断裂")
    assert await asset_state(db, w.pumps[1]) == ("reserved", w.depot)
    assert await figures(db, w.depot, w.pump) == (2, 1)
    await decide(db, "reject", first, CHIEF, "先送厂家检测")
    assert await asset_state(db, w.pumps[1]) == ("maintenance", w.depot)
    assert await figures(db, w.depot, w.pump) == (2, 0)
    second = await request(db, w.depot, unit, reason="厂家确认无法修复")
    approved = await decide(db, "approve", second, CHIEF)
    assert await asset_state(db, w.pumps[1]) == ("retired", None)
    assert await figures(db, w.depot, w.pump) == (1, 0)
    await assert_books_agree(db)
    assert approved.document_id is not None
    async with db.write() as s:  # a mistaken write-off is undone by reversing its 报废单
        await reverse_document(s, approved.document_id, "误报废", actor="keeper")
    assert await asset_state(db, w.pumps[1]) == ("maintenance", w.depot)
    assert await figures(db, w.depot, w.pump) == (2, 0)
    await assert_books_agree(db)


async def test_a_unit_in_a_bin_is_written_off_from_its_depot(db: Database) -> None:
    w = await make_world(db)
    async with db.write() as s:
        bin_pump = await create_asset(s, AssetCreate(item_type_id=w.pump, serial_number="BC-BIN", location_id=w.bin),
                                      actor="keeper")
    rid = await request(db, w.depot, line(w.pump, 1, asset_ids=[bin_pump.id]))
    assert await figures(db, w.bin, w.pump) == (1, 1)
    await decide(db, "approve", rid, CHIEF)
    assert await asset_state(db, bin_pump.id) == ("retired", None)
    assert await figures(db, w.bin, w.pump) == (0, 0)
    await assert_books_agree(db)


async def test_expired_lots_are_set_aside_first_and_a_named_lot_is_the_one_written_off(db: Database) -> None:
    w = await make_world(db)
    fefo = await request(db, w.depot, line(w.water, 3), reason="过期")
    named = await request(db, w.depot, line(w.water, 2, lot_id=w.new_water), reason="包装破损")
    assert await figures(db, w.depot, w.water, w.old_water) == (5, 3)
    assert await figures(db, w.depot, w.water, w.new_water) == (5, 2)
    for rid in (fefo, named):
        await decide(db, "approve", rid, CHIEF)
    assert await figures(db, w.depot, w.water, w.old_water) == (2, 0)
    assert await figures(db, w.depot, w.water, w.new_water) == (3, 0)
    await assert_books_agree(db)


async def test_what_was_set_aside_is_what_is_written_off_even_if_an_earlier_expiring_lot_arrives(
    db: Database,
) -> None:
    w = await make_world(db)
    rid = await request(db, w.depot, line(w.tent, 3))  # the lot-less tents
    async with db.write() as s:
        await post_document(s, MovementCreate(kind="receipt", location_id=w.depot, lines=[MovementLine(
            item_type_id=w.tent, quantity=5, lot=LotSpec(number="T-SOON", expiry_date=TODAY + dt.timedelta(days=5)))]),
            actor="keeper")
        soon = await s.scalar(select(Lot.id).where(Lot.number == "T-SOON"))
    await decide(db, "approve", rid, CHIEF)
    assert await figures(db, w.depot, w.tent) == (7, 0)
    assert await figures(db, w.depot, w.tent, soon) == (5, 0)
    await assert_books_agree(db)


# --- lists and the approver's queue ----------------------------------------------------------------------------


async def test_the_queue_shows_pending_requests_in_scope_and_who_may_decide(db: Database) -> None:
    w = await make_world(db)
    async with db.write() as s:
        await update_asset(s, w.pumps[0], AssetUpdate(status="maintenance"))
    mine = await request(db, w.depot, line(w.water, 2), line(w.pump, 1,
                                                                              asset_ids=[w.pumps[0]]))
    admins = await request(db, w.depot, line(w.tent, 1), actor="admin")
    done = await request(db, w.depot, line(w.tent, 1))
    await decide(db, "cancel", done, KEEPER)
    async with db.read() as s:
        chief = await pending_queue(s, CHIEF)
        admin = await pending_queue(s, ADMIN)
        far = await pending_queue(s, FAR_CHIEF)
        keeper = await pending_queue(s, KEEPER)
        page = await list_write_offs(s, status="pending", location_id=w.depot, limit=50, offset=0)
    assert [(q.id, q.can_decide) for q in chief] == [(mine, True), (admins, True)]
    assert [(q.id, q.can_decide) for q in admin] == [(mine, True), (admins, False)]
    assert "本人" in admin[1].why_not
    assert far == []
    assert [q.can_decide for q in keeper] == [False, False]
    first = chief[0]
    assert (first.location_name, first.requested_by, first.reason) == ("南昌县综合应急物资储备库", "keeper", "霉变")
    assert [(ln.item_name, ln.quantity, ln.unit) for ln in first.lines] == [
        ("瓶装饮用水", 2, "箱"), ("移动泵车", 1, "台")]
    assert "W-OLD" in first.lines[0].detail
    assert "BC-1" in first.lines[1].detail and "维修" in first.lines[1].detail
    assert [r.id for r in page.items] == [admins, mine]
    assert page.total == 2


async def test_two_approvers_at_once_post_the_write_off_once(db: Database) -> None:
    w = await make_world(db)
    rid = await request(db, w.depot, line(w.tent, 4))
    running = peak = 0

    async def approve(who: Principal) -> str:
        nonlocal running, peak
        try:
            async with db.write() as s:
                running += 1
                peak = max(peak, running)
                try:
                    await approve_write_off(s, rid, who)
                finally:
                    running -= 1
        except Conflict:
            return "409"
        return "ok"

    outcomes = await asyncio.wait_for(asyncio.gather(*[approve(who) for who in (CHIEF, DEPUTY, ADMIN) * 2]), 60)
    assert sorted(outcomes) == ["409"] * 5 + ["ok"]
    assert peak == 1 if db.is_sqlite else peak > 1
    assert len(await write_off_documents(db)) == 1
    assert await figures(db, w.depot, w.tent) == (6, 0)
    async with db.read() as s:
        assert await s.scalar(select(func.count()).select_from(WriteOffLine)) == 1
    await assert_books_agree(db)


async def test_an_approval_racing_a_cancellation_decides_once(db: Database) -> None:
    w = await make_world(db)
    rid = await request(db, w.depot, line(w.tent, 4))

    async def attempt(verb: str, who: Principal) -> str:
        try:
            await decide(db, verb, rid, who)
        except Conflict:
            return f"{verb}:409"
        return f"{verb}:ok"

    outcomes = sorted(await asyncio.gather(attempt("approve", CHIEF), attempt("cancel", KEEPER)))
    assert outcomes in (["approve:409", "cancel:ok"], ["approve:ok", "cancel:409"])
    on_hand = 6 if "approve:ok" in outcomes else 10
    assert await figures(db, w.depot, w.tent) == (on_hand, 0)
    assert len(await write_off_documents(db)) == (1 if on_hand == 6 else 0)
    await assert_books_agree(db)
