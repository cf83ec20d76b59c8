"""Stocktakes on a real database: snapshot, counting sheet, counts import, variance, approval, opening balances."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select, update

from api.stocktake_sheets import attach_error_copy, counting_workbook, parse_upload, variance_workbook
from importers.count_sheet import SheetUnreadable, parse_count_sheet
from importers.sheet_writer import SheetHeader, SheetRow, write_count_sheet
from inventory.errors import Conflict, InvalidInput, PermissionDenied
from inventory.places.locations import create_location
from inventory.places.schemas import LocationCreate
from inventory.stock.ledger import post_document
from inventory.stock.schemas import MAX_QUANTITY, MovementCreate, MovementLine
from inventory.stock.verify import verify_ledger
from inventory.stocktake import counting, differences
from inventory.stocktake.opening_balances import import_opening_balances
from inventory.stocktake.rules import TOO_LARGE
from inventory.stocktake.schemas import LineReason, StocktakeCreate, Variance
from inventory.store.db import Database
from inventory.store.models import Asset, Document, Lot, Movement, Stocktake, StocktakeLine, StocktakeUpload
from tests.stocktake_support import (
    BIN_NAME,
    DEPOT_NAME,
    Key,
    World,
    asset_status,
    cached_error,
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
        st = await counting.create_stocktake(s, StocktakeCreate(
            location_id=location or w.depot, period="2026Q4", counted_by="李保管", supervised_by="赵监盘"),
            actor=IMPORTER)
        return st.id


async def sheet_of(db: Database, stocktake_id: int) -> bytes:
    async with db.read() as s:
        return await counting_workbook(await counting.counting_sheet(s, stocktake_id))


async def upload(db: Database, stocktake_id: int, data: bytes, actor: str = IMPORTER) -> StocktakeUpload:
    """Parse and import a filled sheet in one transaction, then mark up a refused one's copy (as the endpoint does)."""
    parsed = parse_upload(data)
    async with db.write() as s:
        up = await counting.import_counts(s, stocktake_id, parsed.sheet, actor=actor)
    if not up.accepted:
        await attach_error_copy(db, up, parsed)
    return up


async def approve(db: Database, stocktake_id: int, actor: str = APPROVER,
                  reasons: dict[int, str] | None = None) -> Stocktake:
    async with db.write() as s:
        return await differences.approve(s, stocktake_id, actor=actor, reasons=[
            LineReason(line_id=line_id, reason=reason) for line_id, reason in (reasons or {}).items()])


async def report(db: Database, stocktake_id: int) -> Variance:
    async with db.read() as s:
        return await differences.variance(s, stocktake_id)


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
        read = await counting.stocktake_read(s, await counting.get_stocktake(s, st_id))
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
    filled = fill(await sheet_of(db, st_id), counts, reasons={
        ("TENT-12", "", DEPOT_NAME, ""): "破损2顶", ("WATER-550", "L1", BIN_NAME, ""): "上次入库漏记",
        ("PUMP-300", "", DEPOT_NAME, "BC-2"): "借出未归还"})
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
        xlsx = await variance_workbook(await differences.variance_sheet(s, st_id))
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
    await upload(db, st_id, fill(await sheet_of(db, st_id), lambda k: 0 if k[3] == "BC-3" else full_count(k),
                                 reasons={("PUMP-300", "", DEPOT_NAME, "BC-3"): "现场未找到"}))
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
    assert (await upload(db, st_id, fill(sheet, counts, reasons={("TENT-12", "", DEPOT_NAME, ""): "霉变"}))).accepted
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


# --- sheets as people really fill them ------------------------------------------------------------------------


def _line(v: Variance, code: str, lot: str | None = None, place: str = DEPOT_NAME, serial: str | None = None) -> Any:
    return by_key(v)[code, lot, place, serial]


async def test_a_count_beyond_the_movement_bound_is_refused_and_one_at_the_bound_needs_a_reason(db: Database) -> None:
    w = await make_world(db)
    st_id = await open_stocktake(db, w)
    sheet = await sheet_of(db, st_id)
    huge = fill(sheet, lambda k: 99_999_999_999_999 if k[0] == "TENT-12" else full_count(k))
    row = next(r["_row"] for r in rows_of(huge) if r["物资编号"] == "TENT-12")
    errors, copy = await _refused(db, st_id, huge)
    assert errors == [(row, "实盘数量", "99999999999999", TOO_LARGE)]
    assert "1,000,000,000" in TOO_LARGE
    assert marked(copy) == ({row: TOO_LARGE}, {(row, "实盘数量")})

    at_bound = fill(sheet, lambda k: MAX_QUANTITY if k[0] == "TENT-12" else full_count(k))
    assert (await upload(db, st_id, at_bound)).accepted
    tent = _line(await report(db, st_id), "TENT-12")
    assert (tent.difference, tent.far_beyond_book, tent.needs_reason) == (MAX_QUANTITY - 100, True, True)
    with pytest.raises(InvalidInput, match="差异远超账面数量"):
        await approve(db, st_id)
    await approve(db, st_id, reasons={tent.line_id: "省厅调拨帐篷整批到库未入账"})
    assert await on_hand(db, w.depot, w.tent) == MAX_QUANTITY
    await ledger_ok(db)


async def test_a_difference_far_beyond_the_book_is_flagged_and_an_ordinary_one_is_not(db: Database) -> None:
    w = await make_world(db)
    st_id = await open_stocktake(db, w)
    counts = {("TENT-12", "", DEPOT_NAME, ""): 5000,  # book 100: 4,900 more, over 10× and over 100
              ("WATER-550", "L1", BIN_NAME, ""): 130,  # book 30: 100 more, over 10× but not over 100
              ("WATER-550", "L2", DEPOT_NAME, ""): 221,  # book 20: 201 more, over 10× and over 100
              ("WATER-550", "L1", DEPOT_NAME, ""): 5}  # book 50: 45 fewer
    data = fill(await sheet_of(db, st_id), lambda k: counts.get(k, full_count(k)),
                reasons=dict.fromkeys(counts, "待核实"))
    assert (await upload(db, st_id, data)).accepted
    v = await report(db, st_id)
    flagged = {(r.item_code, r.lot_number, r.location_name) for r in v.lines if r.far_beyond_book}
    assert flagged == {("TENT-12", None, DEPOT_NAME), ("WATER-550", "L2", DEPOT_NAME)}
    assert (v.far_beyond_book, v.missing_reasons) == (2, 0)
    async with db.read() as s:
        xlsx = await variance_workbook(await differences.variance_sheet(s, st_id))
    table = {(r["物资编号"], r["批号"], r["存放位置"]): r for r in rows_of(xlsx)}
    assert "差异远超账面数量" in table["TENT-12", None, DEPOT_NAME]["核查提示"]
    assert table["WATER-550", "L1", BIN_NAME]["核查提示"] is None
    assert next(r for r in rows_of(xlsx) if r["序号"] == "合计")["核查提示"] == "差异远超账面 2 项"


async def test_differences_without_a_reason_are_listed_and_approval_names_every_line_lacking_one(
    db: Database,
) -> None:
    w = await make_world(db)
    st_id = await open_stocktake(db, w)
    counts: dict[Key, object] = {("TENT-12", "", DEPOT_NAME, ""): 98, ("WATER-550", "L1", BIN_NAME, ""): 31,
                                 ("PUMP-300", "", DEPOT_NAME, "BC-2"): 0}
    data = fill(await sheet_of(db, st_id), lambda k: counts.get(k, full_count(k)),
                reasons={("TENT-12", "", DEPOT_NAME, ""): "破损2顶"})
    assert (await upload(db, st_id, data)).accepted  # accepted: the reasons may still come from the approver
    v = await report(db, st_id)
    water, pump = _line(v, "WATER-550", "L1", BIN_NAME), _line(v, "PUMP-300", serial="BC-2")
    assert [(r.item_code, r.sheet_row) for r in v.lines if r.needs_reason] == [
        ("PUMP-300", pump.sheet_row), ("WATER-550", water.sheet_row)]
    assert v.missing_reasons == 2 and not _line(v, "TENT-12").needs_reason
    async with db.read() as s:
        xlsx = await variance_workbook(await differences.variance_sheet(s, st_id))
    table = {(r["物资编号"], r["批号"], r["存放位置"], r["序列号"]): r for r in rows_of(xlsx)}
    assert "缺差异原因" in table["WATER-550", "L1", BIN_NAME, None]["核查提示"]
    assert "缺差异原因" in table["PUMP-300", None, DEPOT_NAME, "BC-2"]["核查提示"]
    assert table["TENT-12", None, DEPOT_NAME, None]["核查提示"] is None
    assert next(r for r in rows_of(xlsx) if r["序号"] == "合计")["核查提示"] == "缺差异原因 2 项"

    before = await state(db, st_id)
    with pytest.raises(InvalidInput) as caught:
        await approve(db, st_id)
    assert "2 行有差异但没有填写差异原因" in caught.value.detail
    errors = caught.value.extra["errors"]
    assert [(e["line_id"], e["row"], e["item_code"]) for e in errors] == [
        (pump.line_id, pump.sheet_row, "PUMP-300"), (water.line_id, water.sheet_row, "WATER-550")]
    assert errors[1]["message"] == (f"第 {water.sheet_row} 行 WATER-550 瓶装饮用水（批号 L1、{BIN_NAME}）：差异 +1，"
                                    "缺少差异原因")
    assert "序列号 BC-2" in errors[0]["message"] and "差异 -1" in errors[0]["message"]
    assert await state(db, st_id) == before
    with pytest.raises(InvalidInput) as caught:  # one reason given: still refused, naming the other line
        await approve(db, st_id, reasons={water.line_id: "上次入库漏记"})
    assert [e["line_id"] for e in caught.value.extra["errors"]] == [pump.line_id]
    assert await state(db, st_id) == before  # the reason sent with a refused approval is not kept

    st = await approve(db, st_id, reasons={water.line_id: "上次入库漏记", pump.line_id: " 借给消防救援站未归还 "})
    assert st.status == "approved"
    v = await report(db, st_id)
    assert [(r.item_code, r.reason) for r in v.lines if r.difference] == [
        ("PUMP-300", "借给消防救援站未归还"), ("TENT-12", "破损2顶"), ("WATER-550", "上次入库漏记")]
    assert v.missing_reasons == 0
    assert await on_hand(db, w.bin, w.water, w.lot1) == 31 and await asset_status(db, w.pumps[1]) == ("lost", None)
    with pytest.raises(Conflict, match="已审批结案"):
        await approve(db, st_id, reasons={water.line_id: "改个说法"})
    await ledger_ok(db)


async def test_reasons_entered_at_approval_must_name_lines_of_this_stocktake_once_and_say_something(
    db: Database,
) -> None:
    w = await make_world(db)
    st_id = await open_stocktake(db, w)
    other = await open_stocktake(db, w)
    data = fill(await sheet_of(db, st_id), lambda k: 98 if k[0] == "TENT-12" else full_count(k))
    assert (await upload(db, st_id, data)).accepted
    tent = _line(await report(db, st_id), "TENT-12").line_id
    foreign = _line(await report(db, other), "TENT-12").line_id
    before = await state(db, st_id)
    for given, field, words in [
        ([(foreign, "盘亏")], "reasons[0].line_id", "不属于盘点单"),
        ([(tent, "盘亏"), (tent, "破损")], "reasons[1].line_id", "填写了两次"),
        ([(tent, " \u3000 ")], "reasons[0].reason", "不能为空白"),
    ]:
        with pytest.raises(InvalidInput) as caught:
            async with db.write() as s:
                await differences.approve(s, st_id, actor=APPROVER,
                                        reasons=[LineReason(line_id=i, reason=r) for i, r in given])
        assert [e["field"] for e in caught.value.extra["errors"]] == [field]
        assert words in caught.value.detail
        assert await state(db, st_id) == before


async def test_a_sheet_with_no_count_filled_in_is_refused(db: Database) -> None:
    w = await make_world(db)
    st_id = await open_stocktake(db, w)
    errors, copy = await _refused(db, st_id, fill(await sheet_of(db, st_id), {}))
    assert [(row, column) for row, column, _, _ in errors] == [(6, "实盘数量")]
    assert errors[0][3].startswith("未填写任何实盘数量")
    assert "未填写任何实盘数量" in str(openpyxl.load_workbook(io.BytesIO(copy)).active.cell(6, 17).value)
    async with db.read() as s:
        assert (await counting.get_stocktake(s, st_id)).status == "open"


async def test_a_count_typed_as_full_width_text_is_read_and_the_sheets_difference_and_book_are_ignored(
    db: Database,
) -> None:
    w = await make_world(db)
    st_id = await open_stocktake(db, w)

    def retype_book(ws: Any, header: int, cols: dict[str, int]) -> None:
        for r in range(header + 1, ws.max_row + 1):
            if ws.cell(r, cols["物资编号"]).value == "TENT-12":
                ws.cell(r, cols["账面数量"]).value = "一百"  # the keeper retyped the book in words
            if ws.cell(r, cols["存放位置"]).value == BIN_NAME:
                ws.cell(r, cols["账面数量"]).value = 999  # ... and here a wrong number

    counts = {("TENT-12", "", DEPOT_NAME, ""): "９８", ("WATER-550", "L1", BIN_NAME, ""): "\u3000３０ "}
    data = fill(await sheet_of(db, st_id), lambda k: counts.get(k, full_count(k)), edit=retype_book,
                reasons={("TENT-12", "", DEPOT_NAME, ""): "破损"})
    rows = {(r["物资编号"], r["存放位置"], r["批号"]): r["_row"] for r in rows_of(data)}
    tent, shelf = rows["TENT-12", DEPOT_NAME, None], rows["WATER-550", BIN_NAME, "L1"]
    data = cached_error(data, {f"N{n}": f'IF(M{n}="","",M{n}-L{n})' for n in (tent, shelf)})
    assert parse_count_sheet(data).rows[0].difference is None  # the parser sees #VALUE! and leaves it out
    up = await upload(db, st_id, data)
    assert up.accepted, up.errors
    v = await report(db, st_id)
    assert (_line(v, "TENT-12").counted, _line(v, "TENT-12").difference) == (98, -2)
    water = _line(v, "WATER-550", "L1", BIN_NAME)
    assert (water.book_at_count, water.counted, water.difference) == (30, 30, 0)


async def test_the_counting_sheet_is_dated_with_the_beijing_date(db: Database) -> None:
    w = await make_world(db)
    st_id = await open_stocktake(db, w)
    evening = dt.datetime(2026, 3, 31, 17, 30, tzinfo=dt.UTC)  # 01:30 on 1 April in Beijing
    async with db.read() as s:
        data = await counting_workbook(await counting.counting_sheet(s, st_id, now=evening))
    assert parse_count_sheet(data).header["盘点日期"] == "2026-04-01"


async def test_the_variance_workbook_gives_the_count_date_in_beijing_time_and_each_items_spec(db: Database) -> None:
    w = await make_world(db)
    st_id = await open_stocktake(db, w)
    assert (await upload(db, st_id, fill(await sheet_of(db, st_id), full_count))).accepted
    async with db.write() as s:  # imported in the evening, UTC: already the next day in Beijing
        await s.execute(update(Stocktake).where(Stocktake.id == st_id)
                        .values(imported_at=dt.datetime(2026, 3, 31, 16, 5, tzinfo=dt.UTC)))
    async with db.read() as s:
        xlsx = await variance_workbook(await differences.variance_sheet(s, st_id))
    assert parse_count_sheet(xlsx).header["盘点日期"] == "2026-04-01"
    assert {r["物资编号"]: r["规格型号"] for r in rows_of(xlsx) if r["物资编号"]} == {
        "TENT-12": "3×4米", "WATER-550": None, "PUMP-300": None}
    assert _line(await report(db, st_id), "TENT-12").spec == "3×4米"


async def test_the_person_named_responsible_on_the_sheet_is_recorded_as_who_counted(db: Database) -> None:
    w = await make_world(db)
    st_id = await open_stocktake(db, w)

    def responsible(ws: Any, header: int, cols: dict[str, int]) -> None:
        for row in ws.iter_rows(min_row=1, max_row=header - 1):
            for cell in row:
                if cell.value == "盘点人":
                    cell.value = "责任人"
                    ws.cell(cell.row, cell.column + 1).value = "王五"
                if cell.value == "监盘人":
                    ws.cell(cell.row, cell.column + 1).value = "钱七"

    assert (await upload(db, st_id, fill(await sheet_of(db, st_id), full_count, edit=responsible))).accepted
    async with db.read() as s:
        st = await counting.get_stocktake(s, st_id)
    assert (st.counted_by, st.supervised_by) == ("王五", "钱七")


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
    parsed = parse_upload(data)
    async with db.write() as s:
        up, docs = await import_opening_balances(s, depot, parsed.sheet, actor="admin")
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
    parsed = parse_upload(data)
    async with db.read() as s:
        docs_before = await s.scalar(select(func.count()).select_from(Document))
    async with db.write() as s:
        up, docs = await import_opening_balances(s, depot, parsed.sheet, actor="admin")
    assert not up.accepted and docs == []
    await attach_error_copy(db, up, parsed)
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


async def test_opening_balances_refuse_a_quantity_beyond_the_movement_bound_and_read_the_book_only_when_uncounted(
    db: Database,
) -> None:
    w = await make_world(db)
    depot = await _new_depot(db)
    data = write_count_sheet(SheetHeader(place="新建区"), [
        SheetRow(item_code="TENT-12", book_quantity=40),
        SheetRow(item_code="WATER-550", book_quantity=60, lot_number="L7"),
        SheetRow(item_code="PUMP-300", book_quantity=1, serial_number="BC-NEW-9"),
    ])

    def retyped(ws: Any, header: int, cols: dict[str, int]) -> None:
        ws.cell(header + 1, cols["实盘数量"]).value = 99_999_999_999_999
        ws.cell(header + 2, cols["账面数量"]).value = "六十"  # no count here: the book is the quantity
        ws.cell(header + 3, cols["账面数量"]).value = "#VALUE!"
        ws.cell(header + 3, cols["实盘数量"]).value = 1  # counted: the book cell does not matter

    data = fill(data, {}, edit=retyped)
    parsed = parse_upload(data)
    async with db.write() as s:
        up, docs = await import_opening_balances(s, depot, parsed.sheet, actor="admin")
    assert not up.accepted and docs == []
    await attach_error_copy(db, up, parsed)
    assert [(e["row"], e["column"], e["value"], e["message"]) for e in up.errors["errors"]] == [
        (7, "实盘数量", "99999999999999", TOO_LARGE), (8, "账面数量", "六十", "账面数量：「六十」不是数字")]
    assert up.error_copy is not None
    assert marked(up.error_copy)[1] == {(7, "实盘数量"), (8, "账面数量")}
    assert await on_hand(db, depot, w.tent) == 0
