"""Stocktakes on a real database: snapshot, counting sheet, counts import, variance, approval, opening balances."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select

from importers.count_sheet import SheetUnreadable, parse_count_sheet
from importers.sheet_writer import SheetHeader, SheetRow, write_count_sheet
from inventory import stocktake
from inventory.db import Database
from inventory.errors import Conflict, PermissionDenied
from inventory.ledger import post_document
from inventory.ledger_schemas import MovementCreate, MovementLine
from inventory.locations import create_location
from inventory.models import Asset, Document, Lot, Movement, Stocktake, StocktakeLine, StocktakeUpload
from inventory.opening_balances import import_opening_balances
from inventory.schemas import LocationCreate
from inventory.stocktake_schemas import StocktakeCreate, Variance
from inventory.verify import verify_ledger
from tests.stocktake_support import (
    BIN_NAME,
    DEPOT_NAME,
    Key,
    World,
    asset_status,
    fill,
    full_count,
    make_world,
    marked,
    on_hand,
    rows_of,
)

IMPORTER = "李保管"
APPROVER = "王局长"


async def open_stocktake(db: Database, w: World, location: int | None = None) -> int:
    async with db.write() as s:
        st = await stocktake.create_stocktake(s, StocktakeCreate(
            location_id=location or w.depot, period="2026Q4", counted_by="李保管", supervised_by="赵监盘"),
            actor=IMPORTER)
        return st.id


async def sheet_of(db: Database, stocktake_id: int) -> bytes:
    async with db.read() as s:
        return await stocktake.counting_sheet(s, stocktake_id)


async def upload(db: Database, stocktake_id: int, data: bytes, actor: str = IMPORTER) -> StocktakeUpload:
    """Parse and import a filled sheet in one transaction (as the endpoint does)."""
    parsed = parse_count_sheet(data)
    async with db.write() as s:
        return await stocktake.import_counts(s, stocktake_id, parsed, data, actor=actor)


async def approve(db: Database, stocktake_id: int, actor: str = APPROVER) -> Stocktake:
    async with db.write() as s:
        return await stocktake.approve(s, stocktake_id, actor=actor)


async def report(db: Database, stocktake_id: int) -> Variance:
    async with db.read() as s:
        return await stocktake.variance(s, stocktake_id)


async def post(db: Database, kind: str, location: int, *lines: MovementLine) -> int:
    async with db.write() as s:
        return (await post_document(s, MovementCreate(kind=kind, location_id=location,  # type: ignore[arg-type]
                                                      lines=list(lines)), actor=IMPORTER)).id


async def ledger_ok(db: Database) -> None:
    async with db.read() as s:
        assert (await verify_ledger(s)).ok


def by_key(v: Variance) -> dict[tuple[str, str | None, str, str | None], Any]:
    return {(r.item_code, r.lot_number, r.location_name, r.serial_number): r for r in [*v.lines, *v.not_counted]}


async def state(db: Database, stocktake_id: int) -> tuple[Any, ...]:
    """Everything an import may change: the stocktake, its lines, documents and movements."""
    async with db.read() as s:
        st = await s.get(Stocktake, stocktake_id)
        assert st is not None
        lines = (await s.execute(select(StocktakeLine.id, StocktakeLine.counted, StocktakeLine.book_at_count,
                                        StocktakeLine.reason).where(StocktakeLine.stocktake_id == stocktake_id)
                                 .order_by(StocktakeLine.id))).all()
        docs = await s.scalar(select(func.count()).select_from(Document))
        moves = await s.scalar(select(func.count()).select_from(Movement))
        return st.status, st.imported_by, tuple(lines), docs, moves


# --- snapshot and sheet ---------------------------------------------------------------------------------------


async def test_the_snapshot_holds_every_lot_in_every_bin_and_every_held_asset(db: Database) -> None:
    w = await make_world(db)
    st_id = await open_stocktake(db, w)
    async with db.read() as s:
        lines = list(await s.scalars(select(StocktakeLine).where(StocktakeLine.stocktake_id == st_id)))
    got = sorted((ln.location_id, ln.item_type_id, ln.lot_id, ln.asset_id, ln.book_at_snapshot) for ln in lines)
    assert got == sorted([
        (w.depot, w.tent, None, None, 100), (w.depot, w.water, w.lot1, None, 50), (w.bin, w.water, w.lot1, None, 30),
        (w.depot, w.water, w.lot2, None, 20), *((w.depot, w.pump, None, p, 1) for p in w.pumps),
    ])  # the other depot's tents are not in it
    assert all(ln.counted is None and ln.book_at_count is None for ln in lines)
    async with db.read() as s:
        read = await stocktake.stocktake_read(s, await stocktake.get_stocktake(s, st_id))
    assert (read.status, read.lines, read.number) == ("open", 7, f"PD2026Q4-{st_id:06d}")


async def test_the_counting_sheet_lists_one_row_per_line_and_one_per_asset_with_serial_and_label(
    db: Database,
) -> None:
    w = await make_world(db)
    st_id = await open_stocktake(db, w)
    data = await sheet_of(db, st_id)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb.active
    head = {str(ws.cell(r, c).value) for r in range(1, 6) for c in range(1, 17) if ws.cell(r, c).value}
    assert {"盘点日期", "地点", "盘点人", "监盘人", "李保管", "赵监盘", DEPOT_NAME, f"PD2026Q4-{st_id:06d}"} <= head
    assert ws.freeze_panes == "A7"
    assert ws.page_setup.orientation == "landscape" and str(ws.page_setup.paperSize) == "9"
    assert ws.column_dimensions["B"].width == 16
    assert any("M7" in str(dv.sqref) and dv.type == "whole" for dv in ws.data_validations.dataValidation)
    rows = rows_of(data)
    assert len(rows) == 7
    pumps = [r for r in rows if r["物资编号"] == "PUMP-300"]
    async with db.read() as s:
        labels = {a.serial_number: a.label_code for a in await s.scalars(select(Asset))}
    assert sorted((r["序列号"], r["标签编码"], r["账面数量"]) for r in pumps) == [
        (f"BC-{n}", labels[f"BC-{n}"], 1) for n in (1, 2, 3)]
    assert all(labels.values())
    water = sorted((r["批号"], r["存放位置"], r["账面数量"]) for r in rows if r["物资编号"] == "WATER-550")
    assert water == sorted([("L1", DEPOT_NAME, 50), ("L1", BIN_NAME, 30), ("L2", DEPOT_NAME, 20)])
    # the same lot in two bins parses as two rows, not as the same row twice
    parsed = parse_count_sheet(fill(data, full_count))
    assert parsed.errors == [] and len(parsed.rows) == 7


# --- the round trip -------------------------------------------------------------------------------------------


async def test_round_trip_sheet_fill_import_variance_approve_by_another(db: Database) -> None:
    w = await make_world(db)
    st_id = await open_stocktake(db, w)
    counts: dict[Key, object] = {
        ("TENT-12", "", DEPOT_NAME, ""): 98, ("WATER-550", "L1", DEPOT_NAME, ""): 50,
        ("WATER-550", "L1", BIN_NAME, ""): 31, ("PUMP-300", "", DEPOT_NAME, "BC-1"): 1,
        ("PUMP-300", "", DEPOT_NAME, "BC-2"): 0, ("PUMP-300", "", DEPOT_NAME, "BC-3"): 1,
    }  # L2 left blank: not counted
    filled = fill(await sheet_of(db, st_id), counts, reasons={("TENT-12", "", DEPOT_NAME, ""): "破损2顶"})
    up = await upload(db, st_id, filled)
    assert up.accepted, up.errors
    v = await report(db, st_id)
    assert v.stocktake.status == "counted" and v.stocktake.imported_by == IMPORTER
    rows = by_key(v)
    assert (rows["TENT-12", None, DEPOT_NAME, None].difference, rows["TENT-12", None, DEPOT_NAME, None].reason) == (
        -2, "破损2顶")
    assert rows["WATER-550", "L1", BIN_NAME, None].difference == 1
    assert rows["WATER-550", "L1", DEPOT_NAME, None].difference == 0
    assert rows["PUMP-300", None, DEPOT_NAME, "BC-2"].difference == -1
    assert [(r.item_code, r.lot_number, r.counted, r.difference) for r in v.not_counted] == [
        ("WATER-550", "L2", None, None)]  # listed, not taken as zero
    assert (v.gain, v.loss, v.lines_with_difference, len(v.lines)) == (1, 3, 3, 6)
    async with db.read() as s:
        xlsx = await stocktake.variance_sheet(s, st_id)
    table = {(r["物资编号"], r["批号"], r["存放位置"], r["序列号"]): r for r in rows_of(xlsx)}
    assert (table["TENT-12", None, DEPOT_NAME, None]["账面数量"], table["TENT-12", None, DEPOT_NAME, None]["差异"],
            table["TENT-12", None, DEPOT_NAME, None]["差异原因"]) == (100, -2, "破损2顶")
    assert table["WATER-550", "L2", DEPOT_NAME, None]["实盘数量"] is None
    total = next(r for r in rows_of(xlsx) if r["序号"] == "合计")
    assert (total["账面数量"], total["实盘数量"], total["差异"]) == (203, 181, -2)

    with pytest.raises(PermissionDenied):
        await approve(db, st_id, actor=IMPORTER)
    st = await approve(db, st_id)
    assert st.status == "approved" and st.approved_by == APPROVER and st.adjustment_document_id is not None
    assert await on_hand(db, w.depot, w.tent) == 98
    assert await on_hand(db, w.bin, w.water, w.lot1) == 31
    assert await on_hand(db, w.depot, w.water, w.lot1) == 50
    assert await on_hand(db, w.depot, w.water, w.lot2) == 20  # not counted: untouched
    assert await on_hand(db, w.depot, w.pump) == 2
    assert await asset_status(db, w.pumps[1]) == ("lost", None)
    async with db.read() as s:
        doc = await s.get(Document, st.adjustment_document_id)
        assert doc is not None and doc.kind == "adjustment"
        moves = list(await s.scalars(select(Movement).where(Movement.document_id == doc.id)))
        assert len(moves) == 3  # one document, one movement per difference
    await ledger_ok(db)

    before = await state(db, st_id)
    again = await approve(db, st_id)  # twice is a no-op
    assert again.adjustment_document_id == st.adjustment_document_id
    assert await state(db, st_id) == before
    with pytest.raises(Conflict):
        await upload(db, st_id, filled)  # an approved stocktake takes no more counts


async def test_a_found_asset_is_brought_back_by_the_adjustment(db: Database) -> None:
    w = await make_world(db)
    st_id = await open_stocktake(db, w)
    await upload(db, st_id, fill(await sheet_of(db, st_id), lambda k: 0 if k[3] == "BC-3" else full_count(k)))
    await approve(db, st_id)
    assert await asset_status(db, w.pumps[2]) == ("lost", None)
    st2 = await open_stocktake(db, w)
    assert all(r["序列号"] != "BC-3" for r in rows_of(await sheet_of(db, st2)))
    await ledger_ok(db)


async def test_movements_between_snapshot_and_import_are_in_the_book_at_the_count(db: Database) -> None:
    w = await make_world(db)
    st_id = await open_stocktake(db, w)
    sheet = await sheet_of(db, st_id)
    await post(db, "issue", w.depot, MovementLine(item_type_id=w.tent, quantity=10))  # after the snapshot
    await post(db, "receipt", w.bin, MovementLine(item_type_id=w.water, quantity=5, lot_id=w.lot1))
    # the keeper counts what is there at the count: 90 tents, 35 water in the bin (the sheet still says 100/30)
    counts = {**{k: full_count(k) for k in [("WATER-550", "L1", DEPOT_NAME, ""), ("WATER-550", "L2", DEPOT_NAME, "")]},
              ("TENT-12", "", DEPOT_NAME, ""): 88, ("WATER-550", "L1", BIN_NAME, ""): 35}
    assert (await upload(db, st_id, fill(sheet, counts))).accepted
    rows = by_key(await report(db, st_id))
    tent = rows["TENT-12", None, DEPOT_NAME, None]
    assert (tent.book_at_snapshot, tent.book_at_count, tent.counted, tent.difference) == (100, 90, 88, -2)
    bin_water = rows["WATER-550", "L1", BIN_NAME, None]
    assert (bin_water.book_at_snapshot, bin_water.book_at_count, bin_water.difference) == (30, 35, 0)
    # a movement after the import and before approval is a real change, not part of the variance
    await post(db, "issue", w.depot, MovementLine(item_type_id=w.tent, quantity=5))
    await approve(db, st_id)
    assert await on_hand(db, w.depot, w.tent) == 83
    assert await on_hand(db, w.bin, w.water, w.lot1) == 35
    await ledger_ok(db)


async def test_a_corrected_upload_replaces_the_previous_counts(db: Database) -> None:
    w = await make_world(db)
    st_id = await open_stocktake(db, w)
    sheet = await sheet_of(db, st_id)
    assert (await upload(db, st_id, fill(sheet, lambda k: 80 if k[0] == "TENT-12" else full_count(k),
                                         reasons={("TENT-12", "", DEPOT_NAME, ""): "少了"}))).accepted
    assert (await upload(db, st_id, fill(sheet, lambda k: None if k[1] == "L2" else full_count(k)))).accepted
    v = await report(db, st_id)
    rows = by_key(v)
    assert (rows["TENT-12", None, DEPOT_NAME, None].counted, rows["TENT-12", None, DEPOT_NAME, None].reason) == (
        100, "")
    assert [r.lot_number for r in v.not_counted] == ["L2"]  # counted first, blank now: the new file rules
    assert v.lines_with_difference == 0
    async with db.read() as s:
        assert await s.scalar(select(func.count()).select_from(StocktakeUpload)) == 2
    st = await approve(db, st_id)
    assert st.adjustment_document_id is None and st.status == "approved"
    assert await on_hand(db, w.depot, w.tent) == 100


# --- bad input: refused whole, every error listed ----------------------------------------------------------------


def _add_row(values: dict[str, object]) -> Any:
    def edit(ws: Any, header: int, cols: dict[str, int]) -> None:
        r = ws.max_row + 1
        for name, value in values.items():
            ws.cell(r, cols[name]).value = value
    return edit


async def _refused(db: Database, st_id: int, data: bytes) -> tuple[list[tuple[int, str, str, str]], bytes]:
    before = await state(db, st_id)
    up = await upload(db, st_id, data)
    assert not up.accepted
    assert await state(db, st_id) == before  # nothing applied
    errors = [(int(e["row"]), str(e["column"]), str(e["value"]), str(e["message"])) for e in up.errors["errors"]]
    assert up.error_copy is not None
    return errors, up.error_copy


async def test_every_bad_row_is_listed_and_the_whole_file_refused(db: Database) -> None:
    w = await make_world(db)
    st_id = await open_stocktake(db, w)
    sheet = await sheet_of(db, st_id)
    # a first good import: a refused re-upload must leave these counts as they are
    assert (await upload(db, st_id, fill(sheet, full_count))).accepted

    def bad(key: Key) -> object:
        if key[0] == "TENT-12":
            return -3  # negative
        if key[1] == "L2":
            return "二十"  # not a number
        if key[3] == "BC-1":
            return 0.5  # fractional count of a serial item
        return full_count(key)

    def extra_rows(ws: Any, h: int, c: dict[str, int]) -> None:
        _add_row({"物资编号": "NOPE-1", "实盘数量": 3})(ws, h, c)  # unknown item code
        _add_row({"物资编号": "WATER-550", "批号": "L9", "存放位置": DEPOT_NAME, "实盘数量": 4})(ws, h, c)  # lot
        _add_row({"物资编号": "WATER-550", "批号": "L1", "存放位置": BIN_NAME, "实盘数量": 30})(ws, h, c)  # twice

    data = fill(sheet, bad, edit=extra_rows)
    rows = {(r["物资编号"], r["批号"], r["存放位置"], r["序列号"]): r["_row"] for r in rows_of(data)}
    errors, copy = await _refused(db, st_id, data)
    tent, l2 = rows["TENT-12", None, DEPOT_NAME, None], rows["WATER-550", "L2", DEPOT_NAME, None]
    bc1 = rows["PUMP-300", None, DEPOT_NAME, "BC-1"]
    last = max(rows.values())
    got = {(row, column): (value, message) for row, column, value, message in errors}
    assert set(got) == {(tent, "实盘数量"), (l2, "实盘数量"), (bc1, "实盘数量"), (last - 2, "物资编号"),
                        (last - 1, "批号"), (last, "物资编号")}
    assert got[tent, "实盘数量"] == ("-3", "实盘数量：「-3」是负数，数量不能小于 0")
    assert got[l2, "实盘数量"] == ("二十", "实盘数量：「二十」不是数字")
    assert got[bc1, "实盘数量"][0] == "0.5" and "整数" in got[bc1, "实盘数量"][1]
    assert got[last - 2, "物资编号"] == ("NOPE-1", "物资编号不存在于物资目录")
    assert got[last - 1, "批号"] == ("L9", "该批号不在本次盘点的账面快照中")
    assert got[last, "物资编号"][0] == "WATER-550" and "重复" in got[last, "物资编号"][1]
    notes, red = marked(copy)
    assert set(notes) == {tent, l2, bc1, last - 2, last - 1, last}
    assert "负数" in notes[tent] and "不在本次盘点" in notes[last - 1]
    assert {(tent, "实盘数量"), (l2, "实盘数量"), (bc1, "实盘数量"), (last - 1, "批号")} <= red
    assert all(row in notes for row, _ in red)
    rows_v = by_key(await report(db, st_id))
    assert rows_v["TENT-12", None, DEPOT_NAME, None].counted == 100  # the earlier counts stand


async def test_a_serial_item_counted_two_is_refused(db: Database) -> None:
    w = await make_world(db)
    st_id = await open_stocktake(db, w)
    data = fill(await sheet_of(db, st_id), lambda k: 2 if k[3] == "BC-2" else full_count(k))
    row = next(r["_row"] for r in rows_of(data) if r["序列号"] == "BC-2")
    errors, copy = await _refused(db, st_id, data)
    assert errors == [(row, "实盘数量", "2", "单件装备的实盘数量只能是 1（在）或 0（不在）")]
    notes, red = marked(copy)
    assert set(notes) == {row} and red == {(row, "实盘数量")}


async def test_the_sheet_of_another_stocktake_is_refused(db: Database) -> None:
    w = await make_world(db)
    first = await open_stocktake(db, w)
    second = await open_stocktake(db, w)
    errors, copy = await _refused(db, second, fill(await sheet_of(db, first), full_count))
    assert len(errors) == 1
    row, column, value, message = errors[0]
    assert (row, column, value) == (6, "盘点单号", f"PD2026Q4-{first:06d}")
    assert f"PD2026Q4-{second:06d}" in message and "另一份盘点单" in message
    wb = openpyxl.load_workbook(io.BytesIO(copy))
    assert "另一份盘点单" in " ".join(str(c.value) for c in wb.active[6] if c.value)


@pytest.mark.parametrize(("content", "message"), [
    (b"", "文件是空的"),
    ("序号,物资编号,实盘数量\n1,TENT-12,20\n".encode(), "不是有效的 Excel"),
])
async def test_a_file_that_is_not_an_xlsx_is_refused_before_anything(db: Database, content: bytes,
                                                                      message: str) -> None:
    w = await make_world(db)
    st_id = await open_stocktake(db, w)
    before = await state(db, st_id)
    with pytest.raises(SheetUnreadable, match=message):
        parse_count_sheet(content)
    assert await state(db, st_id) == before


async def test_an_approved_stocktake_refuses_counts(db: Database) -> None:
    w = await make_world(db)
    st_id = await open_stocktake(db, w)
    data = fill(await sheet_of(db, st_id), full_count)
    await upload(db, st_id, data)
    await approve(db, st_id)
    before = await state(db, st_id)
    with pytest.raises(Conflict, match="已审批"):
        await upload(db, st_id, data, actor="admin")
    assert await state(db, st_id) == before


async def test_approving_before_any_count_is_refused(db: Database) -> None:
    w = await make_world(db)
    st_id = await open_stocktake(db, w)
    with pytest.raises(Conflict, match="尚未导入"):
        await approve(db, st_id)


# --- opening balances ---------------------------------------------------------------------------------------------


async def _new_depot(db: Database) -> int:
    async with db.write() as s:
        return (await create_location(s, LocationCreate(
            code="D-NEW", name="新建区应急物资储备库", kind="depot", region_code="360121", lat=28.7, lon=115.8))).id


async def test_opening_balances_are_received_with_a_serial_row_creating_an_asset(db: Database) -> None:
    w = await make_world(db)
    depot = await _new_depot(db)
    import datetime as dt
    data = write_count_sheet(SheetHeader(place="新建区应急物资储备库"), [
        SheetRow(item_code="TENT-12", book_quantity=40),
        SheetRow(item_code="WATER-550", book_quantity=60, lot_number="L7", production_date=dt.date(2026, 1, 5),
                 expiry_date=dt.date(2027, 1, 5)),
        SheetRow(item_code="PUMP-300", book_quantity=1, serial_number="BC-NEW-9"),
    ])
    data = fill(data, lambda k: 45 if k[0] == "TENT-12" else None)  # 实盘数量 wins over 账面数量
    parsed = parse_count_sheet(data)
    async with db.write() as s:
        up, docs = await import_opening_balances(s, depot, parsed, data, actor="admin")
    assert up.accepted and len(docs) == 1 and docs[0].kind == "receipt"
    assert await on_hand(db, depot, w.tent) == 45
    async with db.read() as s:
        lot = await s.scalar(select(Lot).where(Lot.number == "L7"))
        assert lot is not None and lot.expiry_date == dt.date(2027, 1, 5)
        asset = await s.scalar(select(Asset).where(Asset.serial_number == "BC-NEW-9"))
        assert asset is not None and (asset.location_id, asset.status) == (depot, "available")
    assert await on_hand(db, depot, w.water, lot.id) == 60
    assert await on_hand(db, depot, w.pump) == 1
    await ledger_ok(db)


async def test_opening_balances_with_errors_refuse_every_row(db: Database) -> None:
    w = await make_world(db)
    depot = await _new_depot(db)
    data = write_count_sheet(SheetHeader(place="新建区"), [
        SheetRow(item_code="TENT-12", book_quantity=40),
        SheetRow(item_code="NOPE-1", book_quantity=3),
        SheetRow(item_code="PUMP-300", book_quantity=1),  # no serial number
        SheetRow(item_code="PUMP-300", book_quantity=1, serial_number="BC-1"),  # already registered
    ])
    data = fill(data, lambda k: -1 if k[0] == "TENT-12" else None)
    parsed = parse_count_sheet(data)
    async with db.read() as s:
        docs_before = await s.scalar(select(func.count()).select_from(Document))
    async with db.write() as s:
        up, docs = await import_opening_balances(s, depot, parsed, data, actor="admin")
    assert not up.accepted and docs == []
    got = [(e["row"], e["column"]) for e in up.errors["errors"]]
    assert sorted(got) == [(7, "实盘数量"), (8, "物资编号"), (9, "序列号"), (10, "序列号")]
    assert "不存在" in next(e["message"] for e in up.errors["errors"] if e["row"] == 8)
    assert up.error_copy is not None
    notes, red = marked(up.error_copy)
    assert set(notes) == {7, 8, 9, 10} and (7, "实盘数量") in red
    async with db.read() as s:
        assert await s.scalar(select(func.count()).select_from(Document)) == docs_before
        assert await s.scalar(select(func.count()).select_from(Asset)) == 3
    assert await on_hand(db, depot, w.tent) == 0
