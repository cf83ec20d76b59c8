"""The stock ledger on a real database: documents, movements, balances, lots, assets, transfers, reversal."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select, text

import inventory.stock.ledger
from inventory.access.scope import Principal
from inventory.catalog.schemas import ItemTypeCreate
from inventory.catalog.service import create_item_type
from inventory.clock import beijing_today
from inventory.errors import Conflict, InsufficientStock, InvalidInput, InventoryError, NotFound
from inventory.places.locations import create_location
from inventory.places.schemas import LocationCreate
from inventory.stock import balances
from inventory.stock.assets import create_asset, update_asset
from inventory.stock.documents import CHINA
from inventory.stock.ledger import post_document
from inventory.stock.queries import list_movements, list_stock, read_document, stock_card
from inventory.stock.reversal import reverse_document
from inventory.stock.schemas import (
    AssetCreate,
    AssetUpdate,
    LotSpec,
    MovementCreate,
    MovementLine,
    ReceiveLine,
    StockRow,
    TransferReceive,
)
from inventory.stock.transfers import get_transfer, list_transfers, receive_transfer, transfer_read
from inventory.stock.verify import verify_ledger
from inventory.store.db import Database
from inventory.store.models import Asset, Balance, Document, Lot, Movement, User
from inventory.write_offs.schemas import WriteOffCreate, WriteOffLineRequest
from inventory.write_offs.service import approve_write_off, request_write_off

TODAY = beijing_today()


@dataclass
class World:
    """Two depots (one with a bin), two bulk item types, a serial pump type and three pumps."""

    depot: int
    bin: int
    jinxian: int
    tent: int
    water: int
    pump: int
    pumps: list[int]


async def make_world(db: Database) -> World:
    """Locations in 南昌县 and 进贤县, tents, bottled water with a shelf life, and pumps at the depot."""
    async with db.write() as s:
        depot = await create_location(s, LocationCreate(
            code="D-NCX", name="南昌县综合应急物资储备库", kind="depot", region_code="360121", lat=28.55, lon=115.94))
        shelf = await create_location(s, LocationCreate(
            code="D-NCX-A1", name="A区1号货架", kind="bin", region_code="360121", parent_id=depot.id))
        jinxian = await create_location(s, LocationCreate(
            code="D-JXX", name="进贤县应急物资储备库", kind="depot", region_code="360124", lat=28.37, lon=116.24))
        tent = await create_item_type(s, ItemTypeCreate(
            code="TENT-12", name="12平方米单帐篷", unit="顶", tracking="bulk", category="shelter"))
        water = await create_item_type(s, ItemTypeCreate(
            code="WATER-550", name="瓶装饮用水", unit="箱", tracking="bulk", category="food", shelf_life_days=365))
        pump = await create_item_type(s, ItemTypeCreate(
            code="PUMP-300", name="移动泵车", unit="台", tracking="serial", category="pump",
            attributes={"flow_m3h": 300}))
        pumps = [await create_asset(s, AssetCreate(item_type_id=pump.id, serial_number=f"BC-{n}",
                                                   location_id=depot.id), actor="keeper") for n in (1, 2, 3)]
        # Write-offs are approved by a commander; the keeper who posts documents is a user too.
        for username, role in (("王局长", "commander"), ("keeper", "keeper"), ("李保管", "keeper")):
            s.add(User(username=username, display_name=username, role=role, password_hash="not-used"))
        return World(depot.id, shelf.id, jinxian.id, tent.id, water.id, pump.id, [p.id for p in pumps])


def line(item: int, qty: int, **kw: Any) -> MovementLine:
    """One document line."""
    return MovementLine(item_type_id=item, quantity=qty, **kw)


async def post(db: Database, kind: str, location: int, *lines: MovementLine, actor: str = "keeper",
               **kw: Any) -> int:
    """Post a document in its own transaction; its id."""
    async with db.write() as s:
        doc = await post_document(s, MovementCreate(kind=kind, location_id=location, lines=list(lines),  # type: ignore[arg-type]
                                                    **kw), actor=actor)
        return doc.id


CHIEF = Principal(0, "王局长", "王局长", "commander", ("3601",), (), 0)


async def write_off(db: Database, location: int, *lines: WriteOffLineRequest, reason: str) -> int:
    """Request a write-off as the keeper and have 王局长 approve it; the 报废单's id."""
    async with db.write() as s:
        req = await request_write_off(s, WriteOffCreate(location_id=location, lines=list(lines), reason=reason),
                                      actor="keeper")
    async with db.write() as s:
        approved = await approve_write_off(s, req.id, CHIEF)
    assert approved.document_id is not None
    return approved.document_id


async def reverse(db: Database, doc_id: int, reason: str = "录入错误") -> int:
    """Reverse a document in its own transaction; the reversal's id."""
    async with db.write() as s:
        return (await reverse_document(s, doc_id, reason, actor="keeper")).id


async def receive(db: Database, transfer_id: int, **kw: Any) -> int:
    """Receive a transfer in its own transaction; the receipt's id."""
    async with db.write() as s:
        return (await receive_transfer(s, transfer_id, TransferReceive(**kw), actor="keeper")).id


async def figures(db: Database, location: int, item: int, lot: int | None = None) -> tuple[int, int, int]:
    """(on hand, reserved, in transit) of one balance row; zeros when there is none."""
    async with db.read() as s:
        row = (await s.execute(select(Balance.on_hand, Balance.reserved, Balance.in_transit).where(
            Balance.location_id == location, Balance.item_type_id == item, Balance.lot_key == (lot or 0)))).first()
    return (row[0], row[1], row[2]) if row else (0, 0, 0)


async def stock_row(db: Database, location: int, item: int, *, include_children: bool = False) -> StockRow | None:
    """The stock row of an item at a location, as the stock list shows it."""
    async with db.read() as s:
        page = await list_stock(s, location_id=location, item_type_id=item, region=None,
                                include_children=include_children, limit=50, offset=0)
    assert len(page.items) <= 1
    return page.items[0] if page.items else None


async def asset_state(db: Database, asset_id: int) -> tuple[str, int | None]:
    """(status, location) of an asset."""
    async with db.read() as s:
        asset = await s.get(Asset, asset_id)
        assert asset is not None
        return asset.status, asset.location_id


async def lot_id(db: Database, item: int, number: str) -> int:
    """The id of a lot by number."""
    async with db.read() as s:
        found = await s.scalar(select(Lot.id).where(Lot.item_type_id == item, Lot.number == number))
    assert found is not None
    return found


async def snapshot(db: Database) -> tuple[int, int, int, list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Everything a failed write must leave untouched: documents, movements, lots, balances, assets."""
    async with db.read() as s:
        docs = await s.scalar(select(func.count()).select_from(Document)) or 0
        moves = await s.scalar(select(func.count()).select_from(Movement)) or 0
        lots = await s.scalar(select(func.count()).select_from(Lot)) or 0
        bals = [tuple(r) for r in (await s.execute(select(
            Balance.location_id, Balance.item_type_id, Balance.lot_key, Balance.on_hand, Balance.reserved,
            Balance.in_transit).order_by(Balance.id))).all()]
        assets = [tuple(r) for r in (await s.execute(
            select(Asset.id, Asset.status, Asset.location_id).order_by(Asset.id))).all()]
    return docs, moves, lots, bals, assets


async def assert_books_agree(db: Database) -> None:
    """verify_ledger finds no difference."""
    async with db.read() as s:
        report = await verify_ledger(s)
    assert report.differences == []
    assert report.movements > 0


async def refused(db: Database, error: type[InventoryError], kind: str, location: int, *lines: MovementLine,
                  **kw: Any) -> InventoryError:
    """Post a document that must fail with ``error`` and write nothing; the error."""
    before = await snapshot(db)
    with pytest.raises(error) as info:
        await post(db, kind, location, *lines, **kw)
    assert await snapshot(db) == before
    return info.value


# --- receipts and issues ---------------------------------------------------------------------------------------


async def test_receipt_and_issue_change_on_hand_in_one_document_each(db: Database) -> None:
    w = await make_world(db)
    received = await post(db, "receipt", w.depot, line(w.tent, 120), counterparty="江西省应急物资储备中心")
    issued = await post(db, "issue", w.depot, line(w.tent, 45), counterparty="莲塘镇人民政府")
    assert await figures(db, w.depot, w.tent) == (75, 0, 0)
    returned = await post(db, "return", w.depot, line(w.tent, 5), counterparty="莲塘镇人民政府")
    assert await figures(db, w.depot, w.tent) == (80, 0, 0)
    async with db.read() as s:
        doc = await read_document(s, issued)
        assert (await read_document(s, received)).number.startswith("RK")
        assert (await read_document(s, returned)).number.startswith("GH")
    assert doc.kind == "issue"
    assert doc.actor == "keeper"
    assert doc.number == f"CK{doc.created_at.astimezone(CHINA):%Y%m%d}-{issued:06d}"  # Beijing date
    assert [(m.location_id, m.bucket, m.quantity) for m in doc.movements] == [(w.depot, "on_hand", -45)]
    row = await stock_row(db, w.depot, w.tent)
    assert row is not None
    assert (row.on_hand, row.reserved, row.available, row.in_transit) == (80, 0, 80, 0)
    await assert_books_agree(db)


async def test_issue_of_more_than_available_is_refused_with_what_is_available_and_writes_nothing(
    db: Database,
) -> None:
    w = await make_world(db)
    await post(db, "receipt", w.depot, line(w.tent, 3))
    err = await refused(db, InsufficientStock, "issue", w.depot, line(w.tent, 5))
    assert err.extra["available"] == 3
    assert err.extra["requested"] == 5
    assert err.field == "lines.0.quantity"
    assert "3" in err.detail
    assert await figures(db, w.depot, w.tent) == (3, 0, 0)


async def test_reserved_stock_is_on_hand_but_not_available_to_issue(db: Database) -> None:
    w = await make_world(db)
    await post(db, "receipt", w.depot, line(w.tent, 10))
    async with db.write() as s:  # no reservation documents yet: set the figure the way dispatches will
        assert await balances.reserve(s, w.depot, w.tent, None, 4)
    row = await stock_row(db, w.depot, w.tent)
    assert row is not None
    assert (row.on_hand, row.reserved, row.available) == (10, 4, 6)
    err = await refused(db, InsufficientStock, "issue", w.depot, line(w.tent, 7))
    assert err.extra["available"] == 6
    await post(db, "issue", w.depot, line(w.tent, 6))
    assert await figures(db, w.depot, w.tent) == (4, 4, 0)


async def test_a_document_whose_second_line_is_short_writes_none_of_its_lines(db: Database) -> None:
    w = await make_world(db)
    await post(db, "receipt", w.depot, line(w.tent, 10), line(w.water, 2, lot=LotSpec(number="W1")))
    err = await refused(db, InsufficientStock, "issue", w.depot, line(w.tent, 4), line(w.water, 3))
    assert err.field == "lines.1.quantity"
    assert await figures(db, w.depot, w.tent) == (10, 0, 0)


async def test_zero_and_negative_quantities_are_invalid_and_name_the_line(db: Database) -> None:
    w = await make_world(db)
    await post(db, "receipt", w.depot, line(w.tent, 5))
    for kind, qty in [("receipt", 0), ("issue", 0), ("receipt", -2), ("issue", -1), ("return", -1),
                      ("transfer", -1), ("adjustment", 0)]:
        err = await refused(db, InvalidInput, kind, w.depot, line(w.tent, 1), line(w.tent, qty), reason="盘点",
                            approver="王局长", to_location_id=w.jinxian if kind == "transfer" else None)
        assert err.field == "lines.1.quantity", kind


async def test_unknown_item_lot_asset_and_location_are_invalid_with_the_field_at_fault(db: Database) -> None:
    w = await make_world(db)
    await post(db, "receipt", w.depot, line(w.water, 5, lot=LotSpec(number="W1")))
    water_lot = await lot_id(db, w.water, "W1")
    cases: list[tuple[str, int, MovementLine, str]] = [
        ("receipt", w.depot, line(9999, 1), "lines.0.item_type_id"),
        ("issue", w.depot, line(w.water, 1, lot_id=9999), "lines.0.lot_id"),
        ("issue", w.depot, line(w.tent, 1, lot_id=water_lot), "lines.0.lot_id"),
        ("issue", w.depot, line(w.pump, 1, asset_ids=[9999]), "lines.0.asset_ids.0"),
        ("receipt", 9999, line(w.tent, 1), "location_id"),
    ]
    for kind, location, bad, field in cases:
        err = await refused(db, InvalidInput, kind, location, bad)
        assert err.field == field, (kind, bad)
    err = await refused(db, InvalidInput, "transfer", w.depot, line(w.tent, 1), to_location_id=9999)
    assert err.field == "to_location_id"


async def test_bulk_line_with_asset_ids_and_serial_line_without_them_are_invalid(db: Database) -> None:
    w = await make_world(db)
    await post(db, "receipt", w.depot, line(w.tent, 5))
    bulk = await refused(db, InvalidInput, "issue", w.depot, line(w.tent, 1, asset_ids=[w.pumps[0]]))
    assert bulk.field == "lines.0.asset_ids"
    serial = await refused(db, InvalidInput, "issue", w.depot, line(w.pump, 1))
    assert serial.field == "lines.0.asset_ids"
    mismatch = await refused(db, InvalidInput, "issue", w.depot, line(w.pump, 2, asset_ids=[w.pumps[0]]))
    assert mismatch.field == "lines.0.quantity"
    twice = await refused(db, InvalidInput, "issue", w.depot, line(w.pump, 2, asset_ids=[w.pumps[0]] * 2))
    assert twice.field == "lines.0.asset_ids.1"
    lotted = await refused(db, InvalidInput, "receipt", w.depot,
                           line(w.pump, 1, asset_ids=[w.pumps[0]], lot=LotSpec(number="X")))
    assert lotted.field == "lines.0.lot"


async def test_transfer_to_the_same_location_or_without_a_destination_is_invalid(db: Database) -> None:
    w = await make_world(db)
    await post(db, "receipt", w.depot, line(w.tent, 5))
    same = await refused(db, InvalidInput, "transfer", w.depot, line(w.tent, 1), to_location_id=w.depot)
    assert same.field == "to_location_id"
    missing = await refused(db, InvalidInput, "transfer", w.depot, line(w.tent, 1))
    assert missing.field == "to_location_id"
    stray = await refused(db, InvalidInput, "issue", w.depot, line(w.tent, 1), to_location_id=w.jinxian)
    assert stray.field == "to_location_id"


async def test_document_dated_in_the_future_is_invalid(db: Database) -> None:
    w = await make_world(db)
    tomorrow = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    err = await refused(db, InvalidInput, "receipt", w.depot, line(w.tent, 1), occurred_at=tomorrow)
    assert err.field == "occurred_at"


# --- lots and FEFO ---------------------------------------------------------------------------------------------


async def test_issue_takes_the_first_expiring_lot_first_and_spans_lots(db: Database) -> None:
    w = await make_world(db)
    await post(db, "receipt", w.depot,
               line(w.water, 10, lot=LotSpec(number="W-LATE", expiry_date=TODAY + dt.timedelta(days=300))),
               line(w.water, 4, lot=LotSpec(number="W-SOON", expiry_date=TODAY + dt.timedelta(days=20))))
    late, soon = await lot_id(db, w.water, "W-LATE"), await lot_id(db, w.water, "W-SOON")
    doc = await post(db, "issue", w.depot, line(w.water, 6))
    assert await figures(db, w.depot, w.water, soon) == (0, 0, 0)
    assert await figures(db, w.depot, w.water, late) == (8, 0, 0)
    async with db.read() as s:
        moves = (await read_document(s, doc)).movements
    assert sorted((m.lot_id, m.quantity) for m in moves) == sorted([(soon, -4), (late, -2)])
    row = await stock_row(db, w.depot, w.water)
    assert row is not None
    assert row.on_hand == 8
    assert [lot.lot_number for lot in row.lots] == ["W-LATE"]


async def test_expired_lot_is_never_picked_automatically(db: Database) -> None:
    w = await make_world(db)
    await post(db, "receipt", w.depot,
               line(w.water, 5, lot=LotSpec(number="W-OLD", production_date=TODAY - dt.timedelta(days=400),
                                             expiry_date=TODAY - dt.timedelta(days=1))),
               line(w.water, 3, lot=LotSpec(number="W-NEW", expiry_date=TODAY + dt.timedelta(days=200))))
    old, new = await lot_id(db, w.water, "W-OLD"), await lot_id(db, w.water, "W-NEW")
    err = await refused(db, InsufficientStock, "issue", w.depot, line(w.water, 4))
    assert err.extra["available"] == 3
    assert "过期" in err.detail
    await post(db, "issue", w.depot, line(w.water, 3))
    assert await figures(db, w.depot, w.water, old) == (5, 0, 0)
    assert await figures(db, w.depot, w.water, new) == (0, 0, 0)
    row = await stock_row(db, w.depot, w.water)
    assert row is not None
    assert [(lot.lot_number, lot.expired) for lot in row.lots] == [("W-OLD", True)]
    # The expired lot leaves only when someone names it or writes it off.
    await write_off(db, w.depot, WriteOffLineRequest(item_type_id=w.water, quantity=2), reason="过期报废")
    await post(db, "issue", w.depot, line(w.water, 1, lot_id=old))
    assert await figures(db, w.depot, w.water, old) == (2, 0, 0)


async def test_a_named_lot_is_used_even_when_another_expires_first(db: Database) -> None:
    w = await make_world(db)
    await post(db, "receipt", w.depot,
               line(w.water, 5, lot=LotSpec(number="W-SOON", expiry_date=TODAY + dt.timedelta(days=10))),
               line(w.water, 5, lot=LotSpec(number="W-LATE", expiry_date=TODAY + dt.timedelta(days=100))))
    soon, late = await lot_id(db, w.water, "W-SOON"), await lot_id(db, w.water, "W-LATE")
    await post(db, "issue", w.depot, line(w.water, 2, lot_id=late))
    assert await figures(db, w.depot, w.water, late) == (3, 0, 0)
    assert await figures(db, w.depot, w.water, soon) == (5, 0, 0)
    err = await refused(db, InsufficientStock, "issue", w.depot, line(w.water, 4, lot_id=late))
    assert err.extra["available"] == 3


async def test_receipt_reuses_a_lot_by_number_and_refuses_a_conflicting_expiry(db: Database) -> None:
    w = await make_world(db)
    expiry = TODAY + dt.timedelta(days=90)
    await post(db, "receipt", w.depot, line(w.water, 5, lot=LotSpec(number="W-2026A", expiry_date=expiry)))
    await post(db, "receipt", w.jinxian, line(w.water, 7, lot=LotSpec(number="W-2026A")))
    async with db.read() as s:
        lots = (await s.scalars(select(Lot).where(Lot.item_type_id == w.water))).all()
    assert [(lot.number, lot.expiry_date) for lot in lots] == [("W-2026A", expiry)]
    assert await figures(db, w.jinxian, w.water, lots[0].id) == (7, 0, 0)
    err = await refused(db, InvalidInput, "receipt", w.depot,
                        line(w.water, 1, lot=LotSpec(number="W-2026A", expiry_date=expiry + dt.timedelta(days=1))))
    assert err.field == "lines.0.lot.expiry_date"
    backwards = await refused(db, InvalidInput, "receipt", w.depot, line(w.water, 1, lot=LotSpec(
        number="W-NEW", production_date=TODAY, expiry_date=TODAY - dt.timedelta(days=1))))
    assert backwards.field == "lines.0.lot.expiry_date"


async def test_new_lot_without_expiry_gets_one_from_the_shelf_life(db: Database) -> None:
    w = await make_world(db)
    made = TODAY - dt.timedelta(days=30)
    await post(db, "receipt", w.depot, line(w.water, 5, lot=LotSpec(number="W-B", production_date=made)))
    async with db.read() as s:
        lot = await s.scalar(select(Lot).where(Lot.number == "W-B"))
    assert lot is not None
    assert lot.expiry_date == made + dt.timedelta(days=365)


async def test_an_issue_cannot_create_a_lot(db: Database) -> None:
    w = await make_world(db)
    await post(db, "receipt", w.depot, line(w.water, 5, lot=LotSpec(number="W-A")))
    err = await refused(db, InvalidInput, "issue", w.depot, line(w.water, 1, lot=LotSpec(number="W-A")))
    assert err.field == "lines.0.lot"


# --- serial units ----------------------------------------------------------------------------------------------


async def test_registering_a_unit_receives_it_at_its_depot(db: Database) -> None:
    w = await make_world(db)
    assert await asset_state(db, w.pumps[0]) == ("available", w.depot)
    assert await figures(db, w.depot, w.pump) == (3, 0, 0)
    await assert_books_agree(db)


async def test_issued_unit_is_deployed_and_its_return_makes_it_available_again(db: Database) -> None:
    w = await make_world(db)
    issued = await post(db, "issue", w.depot, line(w.pump, 1, asset_ids=[w.pumps[0]]), counterparty="向塘镇抢险队")
    assert await asset_state(db, w.pumps[0]) == ("deployed", None)
    assert await figures(db, w.depot, w.pump) == (2, 0, 0)
    async with db.read() as s:
        moves = (await read_document(s, issued)).movements
    assert [(m.asset_id, m.quantity) for m in moves] == [(w.pumps[0], -1)]
    await post(db, "return", w.jinxian, line(w.pump, 1, asset_ids=[w.pumps[0]]))
    assert await asset_state(db, w.pumps[0]) == ("available", w.jinxian)
    assert await figures(db, w.jinxian, w.pump) == (1, 0, 0)
    await assert_books_agree(db)


async def test_a_unit_that_is_not_available_cannot_be_issued(db: Database) -> None:
    w = await make_world(db)
    await post(db, "issue", w.depot, line(w.pump, 1, asset_ids=[w.pumps[0]]))
    again = await refused(db, Conflict, "issue", w.depot, line(w.pump, 1, asset_ids=[w.pumps[0]]))
    assert again.field == "lines.0.asset_ids.0"
    async with db.write() as s:
        await update_asset(s, w.pumps[1], AssetUpdate(status="maintenance"))
    broken = await refused(db, Conflict, "issue", w.depot, line(w.pump, 2, asset_ids=[w.pumps[2], w.pumps[1]]))
    assert broken.field == "lines.0.asset_ids.1"
    elsewhere = await refused(db, Conflict, "issue", w.jinxian, line(w.pump, 1, asset_ids=[w.pumps[2]]))
    assert elsewhere.field == "lines.0.asset_ids.0"
    assert await asset_state(db, w.pumps[2]) == ("available", w.depot)
    # A unit in maintenance can still be written off, with approval.
    await write_off(db, w.depot, WriteOffLineRequest(item_type_id=w.pump, quantity=1, asset_ids=[w.pumps[1]]),
                    reason="叶轮报废")
    assert await asset_state(db, w.pumps[1]) == ("retired", None)
    await assert_books_agree(db)


async def test_a_unit_in_a_bin_is_issued_from_its_depot(db: Database) -> None:
    w = await make_world(db)
    await post(db, "transfer", w.depot, line(w.pump, 1, asset_ids=[w.pumps[0]]), to_location_id=w.bin)
    async with db.read() as s:
        transfer = (await list_transfers(s, status="in_transit", location_id=w.bin, limit=10, offset=0)).items[0]
    await receive(db, transfer.id)
    assert await asset_state(db, w.pumps[0]) == ("available", w.bin)
    await post(db, "issue", w.depot, line(w.pump, 1, asset_ids=[w.pumps[0]]))
    assert await figures(db, w.bin, w.pump) == (0, 0, 0)
    assert await asset_state(db, w.pumps[0]) == ("deployed", None)
    await assert_books_agree(db)


async def test_serial_transfer_leaves_at_once_and_is_available_only_once_received(db: Database) -> None:
    w = await make_world(db)
    sent = await post(db, "transfer", w.depot, line(w.pump, 2, asset_ids=[w.pumps[0], w.pumps[1]]),
                      to_location_id=w.jinxian)
    assert await figures(db, w.depot, w.pump) == (1, 0, 0)
    assert await figures(db, w.jinxian, w.pump) == (0, 0, 2)
    assert await asset_state(db, w.pumps[0]) == ("in_transit", w.jinxian)
    # In transit is not available: the unit cannot be issued at either end.
    await refused(db, Conflict, "issue", w.jinxian, line(w.pump, 1, asset_ids=[w.pumps[0]]))
    await refused(db, Conflict, "issue", w.depot, line(w.pump, 1, asset_ids=[w.pumps[0]]))
    await assert_books_agree(db)
    await receive(db, sent, lines=[ReceiveLine(item_type_id=w.pump, quantity=1, asset_ids=[w.pumps[1]])])
    assert await asset_state(db, w.pumps[1]) == ("available", w.jinxian)
    assert await asset_state(db, w.pumps[0]) == ("in_transit", w.jinxian)
    assert await figures(db, w.jinxian, w.pump) == (1, 0, 1)
    async with db.read() as s:
        read = await transfer_read(s, await get_transfer(s, sent))
    assert read.status == "in_transit"
    assert {(ln.asset_id, ln.received, ln.outstanding) for ln in read.lines} == {(w.pumps[0], 0, 1),
                                                                                 (w.pumps[1], 1, 0)}
    with pytest.raises(InvalidInput) as info:
        await receive(db, sent, lines=[ReceiveLine(item_type_id=w.pump, quantity=1)])
    assert info.value.field == "lines.0.asset_ids"
    await receive(db, sent)
    assert await asset_state(db, w.pumps[0]) == ("available", w.jinxian)
    assert await figures(db, w.jinxian, w.pump) == (2, 0, 0)
    await assert_books_agree(db)


# --- transfers -------------------------------------------------------------------------------------------------


async def test_bulk_transfer_received_short_leaves_the_rest_in_transit(db: Database) -> None:
    w = await make_world(db)
    await post(db, "receipt", w.depot, line(w.tent, 50))
    sent = await post(db, "transfer", w.depot, line(w.tent, 30), to_location_id=w.jinxian)
    assert await figures(db, w.depot, w.tent) == (20, 0, 0)
    assert await figures(db, w.jinxian, w.tent) == (0, 0, 30)
    await receive(db, sent, lines=[ReceiveLine(item_type_id=w.tent, quantity=18)])
    assert await figures(db, w.jinxian, w.tent) == (18, 0, 12)
    async with db.read() as s:
        read = await transfer_read(s, await get_transfer(s, sent))
        pending = await list_transfers(s, status="in_transit", location_id=None, limit=10, offset=0)
    assert read.status == "in_transit"
    assert [(ln.sent, ln.received, ln.lost, ln.outstanding) for ln in read.lines] == [(30, 18, 0, 12)]
    assert [t.id for t in pending.items] == [sent]
    row = await stock_row(db, w.jinxian, w.tent)
    assert row is not None
    assert (row.on_hand, row.available, row.in_transit) == (18, 18, 12)
    await assert_books_agree(db)


async def test_receiving_more_than_was_sent_is_invalid_and_writes_nothing(db: Database) -> None:
    w = await make_world(db)
    await post(db, "receipt", w.depot, line(w.tent, 50))
    sent = await post(db, "transfer", w.depot, line(w.tent, 10), to_location_id=w.jinxian)
    await receive(db, sent, lines=[ReceiveLine(item_type_id=w.tent, quantity=4)])
    before = await snapshot(db)
    for bad, field in [(ReceiveLine(item_type_id=w.tent, quantity=7), "lines.0.quantity"),
                       (ReceiveLine(item_type_id=w.water, quantity=1), "lines.0.item_type_id"),
                       (ReceiveLine(item_type_id=w.tent, quantity=1, lot_id=9999), "lines.0.lot_id"),
                       (ReceiveLine(item_type_id=w.tent, quantity=1, asset_ids=[w.pumps[0]]), "lines.0.asset_ids.0")]:
        with pytest.raises(InvalidInput) as info:
            await receive(db, sent, lines=[bad])
        assert info.value.field == field
    assert await snapshot(db) == before


async def test_close_short_records_the_loss_with_its_reason_and_needs_one(db: Database) -> None:
    w = await make_world(db)
    await post(db, "receipt", w.depot, line(w.tent, 50))
    sent = await post(db, "transfer", w.depot, line(w.tent, 10), to_location_id=w.jinxian)
    before = await snapshot(db)
    with pytest.raises(InvalidInput) as info:
        await receive(db, sent, lines=[ReceiveLine(item_type_id=w.tent, quantity=8)], close_short=True)
    assert info.value.field == "loss_reason"
    assert await snapshot(db) == before
    receipt = await receive(db, sent, lines=[ReceiveLine(item_type_id=w.tent, quantity=8)], close_short=True,
                            loss_reason="途中遇洪水冲走 2 顶")
    assert await figures(db, w.jinxian, w.tent) == (8, 0, 0)
    async with db.read() as s:
        read = await transfer_read(s, await get_transfer(s, sent))
        doc = await read_document(s, receipt)
    assert read.status == "received"
    assert [(ln.sent, ln.received, ln.lost, ln.outstanding) for ln in read.lines] == [(10, 8, 2, 0)]
    assert doc.kind == "transfer_receipt"
    assert doc.reason == "途中遇洪水冲走 2 顶"
    assert doc.transfer_id == sent
    with pytest.raises(Conflict):
        await receive(db, sent)
    await assert_books_agree(db)


async def test_close_short_of_a_unit_marks_it_lost(db: Database) -> None:
    w = await make_world(db)
    sent = await post(db, "transfer", w.depot, line(w.pump, 1, asset_ids=[w.pumps[0]]), to_location_id=w.jinxian)
    await receive(db, sent, lines=[], close_short=True, loss_reason="运输车辆侧翻")
    assert await asset_state(db, w.pumps[0]) == ("lost", None)
    assert await figures(db, w.jinxian, w.pump) == (0, 0, 0)
    await assert_books_agree(db)


async def test_transfers_are_listed_by_status(db: Database) -> None:
    w = await make_world(db)
    await post(db, "receipt", w.depot, line(w.tent, 50))
    first = await post(db, "transfer", w.depot, line(w.tent, 5), to_location_id=w.jinxian)
    second = await post(db, "transfer", w.depot, line(w.tent, 5), to_location_id=w.jinxian)
    third = await post(db, "transfer", w.depot, line(w.pump, 1, asset_ids=[w.pumps[0]]), to_location_id=w.jinxian)
    await receive(db, first)
    await reverse(db, second, "调拨取消")
    async with db.read() as s:
        def ids(page: Any) -> list[int]:
            return [t.id for t in page.items]

        assert ids(await list_transfers(s, status="in_transit", location_id=None, limit=10, offset=0)) == [third]
        assert ids(await list_transfers(s, status="received", location_id=None, limit=10, offset=0)) == [first]
        assert ids(await list_transfers(s, status="cancelled", location_id=None, limit=10, offset=0)) == [second]
        everything = await list_transfers(s, status=None, location_id=w.jinxian, limit=2, offset=0)
    assert everything.total == 3
    assert ids(everything) == [third, second]
    assert await figures(db, w.depot, w.tent) == (45, 0, 0)


# --- reversal --------------------------------------------------------------------------------------------------


async def test_reversing_an_issue_restores_stock_and_the_unit_and_keeps_the_original(db: Database) -> None:
    w = await make_world(db)
    await post(db, "receipt", w.depot, line(w.tent, 10))
    issued = await post(db, "issue", w.depot, line(w.tent, 4), line(w.pump, 1, asset_ids=[w.pumps[0]]))
    reversal = await reverse(db, issued, "出库数量录错")
    assert await figures(db, w.depot, w.tent) == (10, 0, 0)
    assert await figures(db, w.depot, w.pump) == (3, 0, 0)
    assert await asset_state(db, w.pumps[0]) == ("available", w.depot)
    async with db.read() as s:
        original = await read_document(s, issued)
        undo = await read_document(s, reversal)
    assert original.reversed_by_id == reversal
    assert undo.reverses_id == issued
    assert undo.reason == "出库数量录错"
    assert undo.reference == original.number
    assert sorted(m.quantity for m in undo.movements) == sorted(-m.quantity for m in original.movements)
    await assert_books_agree(db)


async def test_a_document_is_reversed_at_most_once_and_a_reversal_is_never_reversed(db: Database) -> None:
    w = await make_world(db)
    received = await post(db, "receipt", w.depot, line(w.tent, 10))
    reversal = await reverse(db, received)
    before = await snapshot(db)
    for doc_id in (received, reversal):
        with pytest.raises(Conflict):
            await reverse(db, doc_id)
    with pytest.raises(NotFound):
        await reverse(db, 9999)
    assert await snapshot(db) == before
    assert await figures(db, w.depot, w.tent) == (0, 0, 0)


async def test_reversing_a_receipt_whose_stock_has_left_is_refused(db: Database) -> None:
    w = await make_world(db)
    received = await post(db, "receipt", w.depot, line(w.tent, 10))
    await post(db, "issue", w.depot, line(w.tent, 8))
    before = await snapshot(db)
    with pytest.raises(InsufficientStock):
        await reverse(db, received)
    assert await snapshot(db) == before


async def test_a_transfer_with_a_receipt_is_reversed_only_after_its_receipt(db: Database) -> None:
    w = await make_world(db)
    await post(db, "receipt", w.depot, line(w.tent, 20))
    sent = await post(db, "transfer", w.depot, line(w.tent, 10), line(w.pump, 1, asset_ids=[w.pumps[0]]),
                      to_location_id=w.jinxian)
    receipt = await receive(db, sent, lines=[ReceiveLine(item_type_id=w.tent, quantity=6)])
    before = await snapshot(db)
    with pytest.raises(Conflict) as info:
        await reverse(db, sent)
    assert "收货" in info.value.detail
    assert await snapshot(db) == before
    await reverse(db, receipt)
    assert await figures(db, w.jinxian, w.tent) == (0, 0, 10)
    await reverse(db, sent)
    assert await figures(db, w.depot, w.tent) == (20, 0, 0)
    assert await figures(db, w.jinxian, w.tent) == (0, 0, 0)
    assert await asset_state(db, w.pumps[0]) == ("available", w.depot)
    async with db.read() as s:
        assert (await transfer_read(s, await get_transfer(s, sent))).status == "cancelled"
    with pytest.raises(Conflict):
        await receive(db, sent)
    await assert_books_agree(db)


async def test_reversing_a_receipt_of_a_unit_puts_it_back_in_transit(db: Database) -> None:
    w = await make_world(db)
    sent = await post(db, "transfer", w.depot, line(w.pump, 1, asset_ids=[w.pumps[0]]), to_location_id=w.jinxian)
    receipt = await receive(db, sent)
    assert await asset_state(db, w.pumps[0]) == ("available", w.jinxian)
    await reverse(db, receipt)
    assert await asset_state(db, w.pumps[0]) == ("in_transit", w.jinxian)
    assert await figures(db, w.jinxian, w.pump) == (0, 0, 1)
    await receive(db, sent)
    assert await asset_state(db, w.pumps[0]) == ("available", w.jinxian)
    await assert_books_agree(db)


# --- write-off and adjustment ----------------------------------------------------------------------------------


async def test_a_write_off_is_never_posted_directly_but_requested_and_approved(db: Database) -> None:
    w = await make_world(db)
    await post(db, "receipt", w.depot, line(w.tent, 10))
    direct = await refused(db, InvalidInput, "write_off", w.depot, line(w.tent, 1), reason="霉变", approver="王局长")
    assert direct.field == "kind"
    assert "/api/v1/write-offs" in direct.detail
    assert await figures(db, w.depot, w.tent) == (10, 0, 0)
    doc = await write_off(db, w.depot, WriteOffLineRequest(item_type_id=w.tent, quantity=2), reason="霉变")
    async with db.read() as s:
        read = await read_document(s, doc)
    assert (read.kind, read.actor, read.approver, read.reason) == ("write_off", "keeper", "王局长", "霉变")
    assert read.number.startswith("BF")
    assert await figures(db, w.depot, w.tent) == (8, 0, 0)


async def test_adjustment_lowers_and_raises_stock_and_needs_a_reason(db: Database) -> None:
    w = await make_world(db)
    await post(db, "receipt", w.depot, line(w.tent, 10))
    err = await refused(db, InvalidInput, "adjustment", w.depot, line(w.tent, -2))
    assert err.field == "reason"
    await post(db, "adjustment", w.depot, line(w.tent, -3), reason="盘亏")
    assert await figures(db, w.depot, w.tent) == (7, 0, 0)
    await post(db, "adjustment", w.depot, line(w.tent, 5), reason="盘盈")
    assert await figures(db, w.depot, w.tent) == (12, 0, 0)
    short = await refused(db, InsufficientStock, "adjustment", w.depot, line(w.tent, -13), reason="盘亏")
    assert short.extra["available"] == 12
    await post(db, "adjustment", w.depot, line(w.pump, -1, asset_ids=[w.pumps[0]]), reason="丢失")
    assert await asset_state(db, w.pumps[0]) == ("lost", None)
    await post(db, "adjustment", w.depot, line(w.pump, 1, asset_ids=[w.pumps[0]]), reason="找回")
    assert await asset_state(db, w.pumps[0]) == ("available", w.depot)
    await assert_books_agree(db)


# --- reading: stock, stock card, movements ---------------------------------------------------------------------


async def test_stock_in_a_bin_shows_at_its_depot_only_with_include_children(db: Database) -> None:
    w = await make_world(db)
    await post(db, "receipt", w.bin, line(w.tent, 7))
    await post(db, "receipt", w.depot, line(w.tent, 2))
    own = await stock_row(db, w.depot, w.tent)
    rolled = await stock_row(db, w.depot, w.tent, include_children=True)
    in_bin = await stock_row(db, w.bin, w.tent, include_children=True)
    assert own is not None
    assert rolled is not None
    assert in_bin is not None
    assert (own.location_id, own.on_hand) == (w.depot, 2)
    assert (rolled.location_id, rolled.on_hand, rolled.available) == (w.depot, 9, 9)
    assert (in_bin.location_id, in_bin.on_hand) == (w.bin, 7)
    await post(db, "receipt", w.bin, line(w.water, 1, lot=LotSpec(number="W1")))
    assert await stock_row(db, w.depot, w.water) is None
    async with db.read() as s:
        everything = await list_stock(s, location_id=w.depot, item_type_id=None, region=None,
                                      include_children=True, limit=50, offset=0)
        jiangxi = await list_stock(s, location_id=None, item_type_id=None, region="360124",
                                   include_children=False, limit=50, offset=0)
    assert [(r.location_id, r.item_code, r.on_hand) for r in everything.items] == [
        (w.depot, "TENT-12", 9), (w.depot, "WATER-550", 1), (w.depot, "PUMP-300", 3)]
    assert jiangxi.total == 0


async def test_stock_card_shows_each_movement_with_the_running_balance(db: Database) -> None:
    w = await make_world(db)
    await post(db, "receipt", w.depot, line(w.tent, 20))
    await post(db, "issue", w.depot, line(w.tent, 5))
    sent = await post(db, "transfer", w.depot, line(w.tent, 6), to_location_id=w.jinxian)
    await receive(db, sent, lines=[ReceiveLine(item_type_id=w.tent, quantity=4)])
    async with db.read() as s:
        source = await stock_card(s, location_id=w.depot, item_type_id=w.tent)
        dest = await stock_card(s, location_id=w.jinxian, item_type_id=w.tent)
    assert [(ln.kind, ln.quantity, ln.balance) for ln in source.lines] == [
        ("receipt", 20, 20), ("issue", -5, 15), ("transfer", -6, 9)]
    assert (source.opening, source.closing) == (0, 9)
    assert [(ln.bucket, ln.quantity, ln.balance, ln.in_transit_balance) for ln in dest.lines] == [
        ("in_transit", 6, 0, 6), ("in_transit", -4, 0, 2), ("on_hand", 4, 4, 2)]
    later = source.lines[1].occurred_at
    async with db.read() as s:
        since = await stock_card(s, location_id=w.depot, item_type_id=w.tent, since=later)
    assert since.opening == 20
    assert [ln.balance for ln in since.lines] == [15, 9]


async def test_a_stock_card_cut_at_its_line_limit_says_so_and_still_closes_on_the_book(db: Database) -> None:
    w = await make_world(db)
    await post(db, "receipt", w.depot, line(w.tent, 20))
    for _ in range(4):
        await post(db, "issue", w.depot, line(w.tent, 2))
    async with db.read() as s:
        cut = await stock_card(s, location_id=w.depot, item_type_id=w.tent, limit=3)
        whole = await stock_card(s, location_id=w.depot, item_type_id=w.tent, limit=10)
    assert [ln.balance for ln in cut.lines] == [20, 18, 16]
    assert (cut.truncated, cut.closing) == (True, 12)
    assert (whole.truncated, whole.closing, len(whole.lines)) == (False, 12, 5)


async def test_movements_filter_by_location_item_kind_and_document(db: Database) -> None:
    w = await make_world(db)
    received = await post(db, "receipt", w.depot, line(w.tent, 20), line(w.water, 3, lot=LotSpec(number="W1")))
    issued = await post(db, "issue", w.depot, line(w.tent, 5))
    await post(db, "transfer", w.depot, line(w.tent, 6), to_location_id=w.jinxian)

    async def movements(**kw: Any) -> list[tuple[int, int, int]]:
        args: dict[str, Any] = {"location_id": None, "item_type_id": None, "kind": None, "document_id": None,
                                "since": None, "until": None, "limit": 100, "offset": 0, **kw}
        async with db.read() as s:
            page = await list_movements(s, **args)
        assert page.total == len(page.items)
        return [(m.document_id, m.location_id, m.quantity) for m in page.items]

    assert await movements(kind="issue") == [(issued, w.depot, -5)]
    assert await movements(location_id=w.jinxian) == [(issued + 1, w.jinxian, 6)]
    assert await movements(item_type_id=w.water) == [(received, w.depot, 3)]
    assert sorted(await movements(document_id=received)) == [(received, w.depot, 3), (received, w.depot, 20)]
    assert await movements(kind="receipt", item_type_id=w.tent) == [(received, w.depot, 20)]
    assert await movements(until=dt.datetime(2000, 1, 1, tzinfo=dt.UTC)) == []
    newest_first = await movements(location_id=w.depot, item_type_id=w.tent)
    assert [q for _, _, q in newest_first] == [-6, -5, 20]


# --- the ledger guards itself -----------------------------------------------------------------------------------


async def test_the_database_refuses_to_edit_or_delete_documents_and_movements(db: Database) -> None:
    w = await make_world(db)
    await post(db, "receipt", w.depot, line(w.tent, 10))
    before = await snapshot(db)
    for statement in ("UPDATE movements SET quantity = 5", "DELETE FROM movements",
                      "UPDATE documents SET reason = 'changed'", "DELETE FROM documents"):
        with pytest.raises(Exception, match="append-only") as info:
            async with db.write() as s:
                await s.execute(text(statement))
        assert not isinstance(info.value, InventoryError)
    assert await snapshot(db) == before


async def test_a_write_that_fails_half_way_leaves_nothing_behind(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    w = await make_world(db)
    await post(db, "receipt", w.depot, line(w.tent, 10))
    before = await snapshot(db)
    real = inventory.stock.ledger.apply_change
    calls: list[int] = []

    async def flaky(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("power cut after the first movement")
        await real(*args, **kwargs)

    monkeypatch.setattr(inventory.stock.ledger, "apply_change", flaky)
    with pytest.raises(RuntimeError):
        await post(db, "transfer", w.depot, line(w.tent, 4), line(w.pump, 1, asset_ids=[w.pumps[0]]),
                   to_location_id=w.jinxian)
    assert len(calls) == 2
    assert await snapshot(db) == before
    calls.clear()
    with pytest.raises(RuntimeError):
        await post(db, "issue", w.depot, line(w.tent, 1), line(w.pump, 1, asset_ids=[w.pumps[0]]))
    assert await snapshot(db) == before
    monkeypatch.undo()
    await post(db, "issue", w.depot, line(w.tent, 1), line(w.pump, 1, asset_ids=[w.pumps[0]]))
    assert await figures(db, w.depot, w.tent) == (9, 0, 0)
    await assert_books_agree(db)


async def test_verify_ledger_reports_a_tampered_balance(db: Database) -> None:
    w = await make_world(db)
    await post(db, "receipt", w.depot, line(w.tent, 10))
    await post(db, "issue", w.depot, line(w.tent, 4))
    await assert_books_agree(db)
    async with db.write() as s:
        await s.execute(text("UPDATE balances SET on_hand = on_hand + 7 WHERE location_id = :loc AND "
                             "item_type_id = :item"), {"loc": w.depot, "item": w.tent})
    async with db.read() as s:
        report = await verify_ledger(s)
    assert not report.ok
    assert [(d.location_id, d.item_type_id, d.figure, d.stored, d.expected) for d in report.differences] == [
        (w.depot, w.tent, "on_hand", 13, 6)]


async def test_verify_ledger_reports_a_unit_whose_books_disagree_with_its_place(db: Database) -> None:
    w = await make_world(db)
    async with db.write() as s:
        await s.execute(text("UPDATE assets SET location_id = :loc WHERE id = :id"),
                        {"loc": w.jinxian, "id": w.pumps[0]})
    async with db.read() as s:
        report = await verify_ledger(s)
    assert sorted((d.location_id, d.figure, d.stored, d.expected) for d in report.differences) == [
        (w.depot, "serial_on_hand", 3, 2), (w.jinxian, "serial_on_hand", 0, 1)]
