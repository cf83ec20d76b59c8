"""Quarterly stocktake (盘点): snapshot, counting sheet, counts in, variance, approval, adjustments.

The rule for movements during a count: the variance compares what was counted with the book *as
of the count*, taken to be the moment the counted sheet is imported. The book at the count is
the snapshot's book plus every movement posted between the snapshot and the import; movements
after the import (before approval) are real changes and are not touched by the adjustment.

The importer computes the difference itself: the sheet's 差异 and 账面数量 cells are never input. Every
difference needs a 差异原因 before approval, from the sheet or entered by the approver (the audit log
records who); a difference far beyond the book is flagged for the approver to check.

A refused upload keeps little: its first ``MAX_ERRORS`` errors (values and messages shortened) with the
count of all, and a marked-up copy made afterwards off the event loop and outside the write
transaction (:func:`attach_error_copy`), only for small sheets; copies of refusals older than
``COPY_RETENTION`` are dropped whenever another refusal is recorded.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from importers.count_sheet import MAX_ERRORS, ParsedSheet, RowError
from importers.error_copy import marked_copy
from importers.sheet_writer import SheetHeader, SheetRow, VarianceLine, write_count_sheet, write_variance
from inventory.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from inventory.places.locations import get_location
from inventory.places.refs import load_item, load_place
from inventory.stock.ledger import Posting, apply_change, insert_document, move_asset
from inventory.stocktake.rules import TOO_LARGE, beijing_date, count_too_large, far_beyond_book, needs_reason
from inventory.stocktake.schemas import (
    ImportError_,
    LineReason,
    StocktakeCreate,
    StocktakeRead,
    Variance,
    VarianceRow,
)
from inventory.store.db import Database
from inventory.store.models import (
    Asset,
    Balance,
    ItemType,
    Location,
    Lot,
    Movement,
    Stocktake,
    StocktakeLine,
    StocktakeUpload,
    utcnow,
)

HELD = ("available", "reserved", "maintenance")
MAX_REASON = 200  # stocktake_lines.reason
COPY_RETENTION = dt.timedelta(days=30)  # marked-up copies of refused uploads
MAX_VALUE_SHOWN = 100  # characters of a cell value kept in a stored error
MAX_MESSAGE = 300
RULE = ("差异 = 实盘数量 − 盘点时账面数量。盘点时账面数量 = 快照账面数量 + 快照之后至导入盘点表之间过账的出入库；"
        "导入之后、审批之前的出入库是真实发生的变动，不计入差异。The variance compares the count with the book "
        "as of the import of the counted sheet.")


class SheetRejected(InvalidInput):
    """An uploaded sheet with errors: nothing applied; the errors and a marked-up copy are kept."""

    def __init__(self, errors: list[ImportError_], upload_id: int, total: int | None = None) -> None:
        total = len(errors) if total is None else total
        shown = "；".join(f"第 {e.row} 行「{e.column}」{e.value!r}：{e.message}" for e in errors[:5])
        more = f"（另有 {total - 5} 处）" if total > 5 else ""
        listed = f"；errors 只列出前 {len(errors):,} 处" if total > len(errors) else ""
        super().__init__(f"盘点表有 {total} 处错误，未导入任何数据：{shown}{more}{listed}", field="file",
                         extra={"errors": [{"row": e.row, "column": e.column, "value": e.value,
                                            "message": e.message} for e in errors],
                                "errors_total": total, "upload_id": upload_id})


def stocktake_number(st: Stocktake) -> str:
    """The 盘点单号 printed on the sheet and checked when it comes back."""
    return f"PD{st.period}-{st.id:06d}"


async def stocktake_read(session: AsyncSession, st: Stocktake) -> StocktakeRead:
    """The public view of a stocktake."""
    lines = int(await session.scalar(select(func.count()).select_from(StocktakeLine)
                                     .where(StocktakeLine.stocktake_id == st.id)) or 0)
    return StocktakeRead(st.id, stocktake_number(st), st.location_id, st.period, st.status, st.counted_by,
                         st.supervised_by, st.created_by, st.created_at, lines, st.imported_by, st.imported_at,
                         st.approved_by, st.approved_at, st.adjustment_document_id)


async def get_stocktake(session: AsyncSession, stocktake_id: int) -> Stocktake:
    """The stocktake with this id, or NotFound."""
    st = await session.get(Stocktake, stocktake_id)
    if st is None:
        raise NotFound(f"盘点单 id={stocktake_id} 不存在")
    return st


async def _subtree(session: AsyncSession, location_id: int) -> list[int]:
    loc = await get_location(session, location_id, field="location_id")
    return list(await session.scalars(select(Location.id).where(Location.path.startswith(loc.path))))


async def create_stocktake(session: AsyncSession, data: StocktakeCreate, *, actor: str) -> Stocktake:
    """Open a stocktake and snapshot the book: every lot with stock, every held asset."""
    places = await _subtree(session, data.location_id)
    st = Stocktake(location_id=data.location_id, period=data.period, status="open", counted_by=data.counted_by,
                   supervised_by=data.supervised_by, created_by=actor, created_at=utcnow(),
                   snapshot_movement_id=int(await session.scalar(select(func.max(Movement.id))) or 0))
    session.add(st)
    await session.flush()
    serial = select(ItemType.id).where(ItemType.tracking == "serial")
    rows: list[dict[str, object]] = [
        {"stocktake_id": st.id, "location_id": b.location_id, "item_type_id": b.item_type_id, "lot_id": b.lot_id,
         "asset_id": None, "book_at_snapshot": b.on_hand, "reason": ""}
        for b in await session.scalars(select(Balance).where(
            Balance.location_id.in_(places), Balance.on_hand > 0, Balance.item_type_id.not_in(serial)))
    ]
    rows += [
        {"stocktake_id": st.id, "location_id": a.location_id, "item_type_id": a.item_type_id, "lot_id": None,
         "asset_id": a.id, "book_at_snapshot": 1, "reason": ""}
        for a in await session.scalars(select(Asset).where(Asset.location_id.in_(places), Asset.status.in_(HELD)))
    ]
    if rows:
        await (await session.connection()).execute(_INSERT_LINE, rows)
    return st


_INSERT_LINE = insert(StocktakeLine)


_LINE_COLUMNS = (
    StocktakeLine.id, StocktakeLine.location_id, StocktakeLine.item_type_id, StocktakeLine.lot_id,
    StocktakeLine.asset_id, StocktakeLine.book_at_snapshot, StocktakeLine.book_at_count, StocktakeLine.counted,
    StocktakeLine.reason, StocktakeLine.sheet_row, ItemType.code.label("item_code"),
    ItemType.name.label("item_name"), ItemType.spec, ItemType.unit, Location.name.label("place"),
    Lot.number.label("lot_number"), Lot.production_date,
    Lot.expiry_date, Asset.serial_number, Asset.label_code,
)


async def _line_details(session: AsyncSession, stocktake_id: int) -> list[Row[Any]]:
    """Every line with what the sheet and the report show of it, as plain rows (no ORM objects: 100,000 lines)."""
    rows: Sequence[Any] = (await session.execute(
        select(*_LINE_COLUMNS)
        .join(ItemType, ItemType.id == StocktakeLine.item_type_id)
        .join(Location, Location.id == StocktakeLine.location_id)
        .outerjoin(Lot, Lot.id == StocktakeLine.lot_id).outerjoin(Asset, Asset.id == StocktakeLine.asset_id)
        .where(StocktakeLine.stocktake_id == stocktake_id)
        .order_by(ItemType.code, Location.path, Lot.expiry_date, Asset.serial_number, StocktakeLine.id))).all()
    return list(rows)


async def counting_sheet(session: AsyncSession, stocktake_id: int, *, now: dt.datetime | None = None) -> bytes:
    """The counting sheet (xlsx) for this stocktake, dated the day it is printed in 北京时间."""
    st = await get_stocktake(session, stocktake_id)
    loc = await get_location(session, st.location_id)
    rows = [SheetRow(item_code=ln.item_code, book_quantity=ln.book_at_snapshot, name=ln.item_name, spec=ln.spec,
                     unit=ln.unit, lot_number=ln.lot_number or "", production_date=ln.production_date,
                     expiry_date=ln.expiry_date, place=ln.place, serial_number=ln.serial_number or "",
                     label_code=ln.label_code or "")
            for ln in await _line_details(session, st.id)]
    header = SheetHeader(place=loc.name, stocktake_id=stocktake_number(st), count_date=beijing_date(now or utcnow()),
                         counter=st.counted_by, supervisor=st.supervised_by)
    return write_count_sheet(header, rows)


def _shortened(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


def row_error(row: int, column: str, value: object, message: str) -> ImportError_:
    """An import error as stored and answered: a long value or message is cut (a cell may hold 32,767 characters)."""
    return ImportError_(row, _shortened(column, 64), _shortened("" if value is None else str(value), MAX_VALUE_SHOWN),
                        _shortened(message, MAX_MESSAGE))


def whole_number(value: int | Decimal | None) -> int | None:
    if value is None or isinstance(value, int):
        return value
    return int(value) if value == value.to_integral_value() else None


async def import_counts(session: AsyncSession, stocktake_id: int, sheet: ParsedSheet, original: bytes, *,
                        actor: str, progress: Callable[[int], None] | None = None) -> StocktakeUpload:
    """Match the counted rows to the snapshot; every error refuses the whole file (nothing applied).

    A refusal is recorded without its marked-up copy of ``original``: :func:`attach_error_copy` makes that
    after this transaction, off the event loop.
    """
    st = await get_stocktake(session, stocktake_id)
    if st.status == "approved":
        raise Conflict(f"盘点单 {stocktake_number(st)} 已审批结案，不能再导入")
    errors = [row_error(e.row, e.column, e.value, e.message) for e in sheet.errors]
    number = stocktake_number(st)
    if sheet.stocktake_id and sheet.stocktake_id.strip() != number:
        errors.insert(0, row_error(sheet.header_row, "盘点单号", sheet.stocktake_id,
                            f"这是另一份盘点单的表（{sheet.stocktake_id}），本盘点单是 {number}"))
    details = await _line_details(session, st.id)
    by_label = {ln.label_code: ln for ln in details if ln.asset_id is not None and ln.label_code}
    by_serial = {(ln.item_code, ln.serial_number): ln for ln in details if ln.asset_id is not None}
    by_lot: dict[tuple[str, str], list[tuple[Row[Any], str]]] = defaultdict(list)
    for ln in details:
        if ln.asset_id is None:
            by_lot[(ln.item_code, ln.lot_number or "")].append((ln, ln.place))
    codes = {c: (i, t) for c, i, t in (await session.execute(select(ItemType.code, ItemType.id, ItemType.tracking)))}
    matched: dict[int, tuple[int | None, str, int]] = {}
    found: list[tuple[int, int, str, int]] = []  # new stock not on the book: item id, count, reason, row
    for n, row in enumerate(sheet.rows, 1):
        if progress and n % 1000 == 0:
            progress(n)
        line = None
        if row.item_code not in codes:
            errors.append(row_error(row.row, "物资编号", row.item_code, "物资编号不存在于物资目录"))
            continue
        item_id, item_tracking = codes[row.item_code]
        if item_tracking == "serial":
            line = by_label.get(row.label_code or "") or by_serial.get((row.item_code, row.serial_number or ""))
            if line is None:
                errors.append(row_error(row.row, "序列号", row.serial_number or row.label_code,
                                 "这件装备不在本次盘点的账面快照中（请核对序列号或标签编码）"))
                continue
        else:
            candidates = by_lot.get((row.item_code, row.lot_number or ""), [])
            if len(candidates) > 1 and row.place:
                candidates = [c for c in candidates if c[1] == row.place]
            if len(candidates) > 1:
                errors.append(row_error(row.row, "存放位置", row.place, "同一批次存放在多个库位，请填写存放位置"))
                continue
            if candidates:
                line = candidates[0][0]
            elif row.lot_number:
                errors.append(row_error(row.row, "批号", row.lot_number, "该批号不在本次盘点的账面快照中"))
                continue
        counted = whole_number(row.counted)
        if row.counted is not None and counted is None:
            errors.append(row_error(row.row, "实盘数量", row.counted, "数量须为整数"))
            continue
        if counted is not None and count_too_large(counted):
            errors.append(row_error(row.row, "实盘数量", row.counted, TOO_LARGE))
            continue
        if item_tracking == "serial" and counted not in (None, 0, 1):
            errors.append(row_error(row.row, "实盘数量", row.counted, "单件装备的实盘数量只能是 1（在）或 0（不在）"))
            continue
        if line is None:
            if counted:
                found.append((item_id, counted, row.reason or "", row.row))
            continue
        if line.id in matched:
            errors.append(row_error(row.row, "物资编号", row.item_code, f"与第 {matched[line.id][2]} 行是同一盘点行"))
            continue
        matched[line.id] = (counted, row.reason or "", row.row)
    if not sheet.errors and not any(row.counted is not None for row in sheet.rows):
        errors.append(row_error(sheet.header_row, "实盘数量", None,
                                "未填写任何实盘数量：整张表的「实盘数量」列都是空的，请填写清点到的数量后再导入"))
    if errors:
        return await record_refusal(session, "counts", st.id, errors, sheet, actor=actor)
    await _apply_counts(session, st, details, matched, found)
    _take_people(st, sheet)
    st.status, st.imported_by, st.imported_at = "counted", actor, utcnow()
    upload = StocktakeUpload(stocktake_id=st.id, kind="counts", uploaded_by=actor, uploaded_at=utcnow(),
                             accepted=True, errors={}, error_copy=None)
    session.add(upload)
    await session.flush()
    return upload


def _take_people(st: Stocktake, sheet: ParsedSheet) -> None:
    """Who counted and who supervised, as the returned sheet names them (header, or the 责任人 column)."""
    counter = sheet.header.get("盘点人") or "、".join(dict.fromkeys(r.counted_by for r in sheet.rows if r.counted_by))
    if counter:
        st.counted_by = counter[:64]
    if supervisor := sheet.header.get("监盘人"):
        st.supervised_by = supervisor[:64]


def msgspec_dict(e: ImportError_) -> dict[str, object]:
    """An import error as a plain dict (stored with the upload)."""
    return {"row": e.row, "column": e.column, "value": e.value, "message": e.message}


def column_letters(sheet: ParsedSheet) -> dict[str, str]:
    """Column header (canonical, and as written where the parser saw it) → letter, to mark the bad cells."""
    return {**sheet.columns, **{e.column: e.letter for e in [*sheet.errors, *sheet.book_errors] if e.letter}}


async def record_refusal(session: AsyncSession, kind: str, stocktake_id: int | None, errors: list[ImportError_],
                         sheet: ParsedSheet, *, actor: str, now: dt.datetime | None = None) -> StocktakeUpload:
    """Record a refused upload: its first MAX_ERRORS errors and how many there were (the copy comes later).

    Copies kept with refusals older than COPY_RETENTION are dropped here, on every refusal.
    """
    now = now or utcnow()
    await session.execute(update(StocktakeUpload).where(
        StocktakeUpload.accepted.is_(False), StocktakeUpload.error_copy.is_not(None),
        StocktakeUpload.uploaded_at < now - COPY_RETENTION).values(error_copy=None))
    upload = StocktakeUpload(stocktake_id=stocktake_id, kind=kind, uploaded_by=actor, uploaded_at=now,
                             accepted=False, errors={"errors": [msgspec_dict(e) for e in errors[:MAX_ERRORS]],
                                                     "total": len(errors) + sheet.errors_omitted},
                             error_copy=None)
    session.add(upload)
    await session.flush()
    return upload


def error_cells(upload: StocktakeUpload, sheet: ParsedSheet) -> list[RowError]:
    """The stored errors of a refused upload as the cells to mark in its copy."""
    letters = column_letters(sheet)
    return [RowError(row=int(str(e["row"])), column=str(e["column"]), value=e["value"], message=str(e["message"]),
                     letter=letters.get(str(e["column"]), "")) for e in upload.errors.get("errors", [])]


async def attach_error_copy(db: Database, upload: StocktakeUpload, sheet: ParsedSheet,
                            original: bytes) -> bytes | None:
    """Mark up a copy of a refused upload in a worker thread, then keep it in a short write of its own.

    Returns the copy (also set on ``upload``), or ``None`` when the sheet is too large for one.
    """
    listed = error_cells(upload, sheet)
    omitted = int(upload.errors.get("total", len(listed))) - len(listed)
    copy = await asyncio.to_thread(marked_copy, original, listed, omitted=omitted)
    if copy is not None:
        async with db.write() as session:
            await session.execute(update(StocktakeUpload).where(StocktakeUpload.id == upload.id)
                                  .values(error_copy=copy))
    upload.error_copy = copy
    return copy


_UPDATE_LINE = update(StocktakeLine).where(StocktakeLine.id == bindparam("b_id")).values(
    counted=bindparam("b_counted"), book_at_count=bindparam("b_book"), reason=bindparam("b_reason"),
    sheet_row=bindparam("b_row"))


async def _apply_counts(session: AsyncSession, st: Stocktake, details: list[Row[Any]],
                        matched: dict[int, tuple[int | None, str, int]],
                        found: list[tuple[int, int, str, int]]) -> None:
    """Replace any earlier counts with these, and record the book at the moment of this count."""
    conn = await session.connection()
    await conn.execute(delete(StocktakeLine).where(StocktakeLine.stocktake_id == st.id,
                                                   StocktakeLine.book_at_snapshot == 0))
    places = {ln.location_id for ln in details} or {st.location_id}
    book = {(loc, item, lot): qty for loc, item, lot, qty in await session.execute(
        select(Balance.location_id, Balance.item_type_id, Balance.lot_key, Balance.on_hand)
        .where(Balance.location_id.in_(places)))}
    # an asset is still on the book at the count if it is held where the snapshot had it
    held = {row.id: row.location_id for row in await session.execute(
        select(Asset.id, Asset.location_id).where(Asset.location_id.in_(places), Asset.status.in_(HELD)))}
    params = []
    for ln in details:
        if ln.asset_id is not None:
            now = 1 if held.get(ln.asset_id) == ln.location_id else 0
        else:
            now = book.get((ln.location_id, ln.item_type_id, ln.lot_id or 0), 0)
        counted, reason, row = matched.get(ln.id, (None, "", None))
        params.append({"b_id": ln.id, "b_counted": counted, "b_book": now, "b_reason": reason[:200], "b_row": row})
    if params:
        await conn.execute(_UPDATE_LINE, params)
    if found:
        await conn.execute(_INSERT_LINE, [
            {"stocktake_id": st.id, "location_id": st.location_id, "item_type_id": item_id, "lot_id": None,
             "asset_id": None, "book_at_snapshot": 0, "book_at_count": book.get((st.location_id, item_id, 0), 0),
             "counted": counted, "reason": reason[:200], "sheet_row": row}
            for item_id, counted, reason, row in found])


async def variance(session: AsyncSession, stocktake_id: int) -> Variance:
    """Book, counted, difference and reason per line; lines not counted are listed, never taken as zero."""
    st = await get_stocktake(session, stocktake_id)
    rows = []
    for ln in await _line_details(session, st.id):
        diff = None if ln.counted is None or ln.book_at_count is None else ln.counted - ln.book_at_count
        rows.append(VarianceRow(ln.id, ln.location_id, ln.place, ln.item_type_id, ln.item_code, ln.item_name,
                                ln.unit, ln.lot_number, ln.serial_number, ln.book_at_snapshot, ln.book_at_count,
                                ln.counted, diff, ln.reason, ln.spec, ln.sheet_row, needs_reason(diff, ln.reason),
                                far_beyond_book(ln.book_at_count, diff)))
    counted = [r for r in rows if r.counted is not None]
    return Variance(stocktake=await stocktake_read(session, st), lines=counted,
                    not_counted=[r for r in rows if r.counted is None],
                    gain=sum(r.difference for r in counted if r.difference and r.difference > 0),
                    loss=-sum(r.difference for r in counted if r.difference and r.difference < 0),
                    lines_with_difference=sum(1 for r in counted if r.difference), rule=RULE,
                    missing_reasons=sum(r.needs_reason for r in counted),
                    far_beyond_book=sum(r.far_beyond_book for r in counted))


async def variance_sheet(session: AsyncSession, stocktake_id: int) -> bytes:
    """The variance report as xlsx, dated the day of the count (the import of the counted sheet) in 北京时间."""
    report = await variance(session, stocktake_id)
    st = await get_stocktake(session, stocktake_id)
    loc = await get_location(session, st.location_id)
    lines = [VarianceLine(item_code=r.item_code, book_quantity=r.book_at_count if r.book_at_count is not None
                          else r.book_at_snapshot, counted=r.counted, name=r.item_name, spec=r.spec, unit=r.unit,
                          lot_number=r.lot_number or "", place=r.location_name, serial_number=r.serial_number or "",
                          reason=r.reason, needs_reason=r.needs_reason, far_beyond_book=r.far_beyond_book)
             for r in [*report.lines, *report.not_counted]]
    return write_variance(SheetHeader(place=loc.name, stocktake_id=stocktake_number(st),
                                      count_date=beijing_date(st.imported_at or utcnow()), counter=st.counted_by,
                                      supervisor=st.supervised_by), lines)


def _describe_line(ln: Row[Any]) -> str:
    """A stocktake line as the approver finds it on the sheet: row, item, lot, serial, place."""
    where = "、".join(part for part in (f"批号 {ln.lot_number}" if ln.lot_number else "",
                                        f"序列号 {ln.serial_number}" if ln.serial_number else "", ln.place) if part)
    row = f"第 {ln.sheet_row} 行 " if ln.sheet_row else ""
    return f"{row}{ln.item_code} {ln.item_name}（{where}）"


def _checked_reasons(st: Stocktake, details: list[Row[Any]], reasons: Sequence[LineReason]) -> dict[int, str]:
    """The reasons the approver entered, by line id; a line of another stocktake, twice, or blank is a 422."""
    known = {ln.id for ln in details}
    entered: dict[int, str] = {}
    errors = []
    for n, given in enumerate(reasons):
        text = given.reason.strip()
        if given.line_id not in known:
            errors.append({"field": f"reasons[{n}].line_id",
                           "message": f"盘点行 id={given.line_id} 不属于盘点单 {stocktake_number(st)}"})
        elif given.line_id in entered:
            errors.append({"field": f"reasons[{n}].line_id", "message": f"盘点行 id={given.line_id} 的原因填写了两次"})
        elif not text or len(text) > MAX_REASON:
            errors.append({"field": f"reasons[{n}].reason",
                           "message": "差异原因不能为空白" if not text else f"差异原因最多 {MAX_REASON} 字"})
        else:
            entered[given.line_id] = text
    if errors:
        raise InvalidInput("审批时填写的差异原因有误：" + "；".join(e["message"] for e in errors), field="reasons",
                           extra={"errors": errors})
    return entered


_UPDATE_REASON = update(StocktakeLine).where(StocktakeLine.id == bindparam("b_id")).values(
    reason=bindparam("b_reason"))


def _refuse_missing_reasons(details: list[Row[Any]], entered: dict[int, str]) -> None:
    """A 422 naming every line with a difference and no reason (the sheet's or the approver's)."""
    missing = []
    for ln in details:
        diff = None if ln.counted is None or ln.book_at_count is None else ln.counted - ln.book_at_count
        if needs_reason(diff, entered.get(ln.id, ln.reason)):
            flag = "，差异远超账面数量，请先核实" if far_beyond_book(ln.book_at_count, diff) else ""
            missing.append({"field": "reasons", "line_id": ln.id, "row": ln.sheet_row, "item_code": ln.item_code,
                            "message": f"{_describe_line(ln)}：差异 {diff:+d}{flag}，缺少差异原因"})
    if missing:
        shown = "；".join(e["message"] for e in missing[:5]) + (f"（另有 {len(missing) - 5} 行）" if len(missing) > 5
                                                                 else "")
        raise InvalidInput(f"有 {len(missing)} 行有差异但没有填写差异原因，不能审批。请在盘点表「差异原因」列填写后"
                           f"重新导入，或在审批时按盘点行填写（reasons）：{shown}", field="reasons",
                           extra={"errors": missing})


async def approve(session: AsyncSession, stocktake_id: int, *, actor: str,
                  reasons: Sequence[LineReason] = ()) -> Stocktake:
    """Post one 盘盈/盘亏 adjustment for every difference and close; approving twice changes nothing.

    Every difference needs a 差异原因: the sheet's, or one in ``reasons`` (which replaces the sheet's);
    without them the approval is refused, every line lacking one named.
    """
    st = await get_stocktake(session, stocktake_id)
    if st.status == "approved":
        if reasons:
            raise Conflict(f"盘点单 {stocktake_number(st)} 已审批结案，不能再填写差异原因")
        return st
    if st.status != "counted":
        raise Conflict(f"盘点单 {stocktake_number(st)} 尚未导入盘点表，不能审批")
    if st.imported_by == actor:
        raise PermissionDenied("审批人不能是导入盘点表的人（须由另一名指挥人员或管理员审批）")
    details = await _line_details(session, st.id)
    entered = _checked_reasons(st, details, reasons)
    _refuse_missing_reasons(details, entered)
    if entered:
        await (await session.connection()).execute(_UPDATE_REASON, [
            {"b_id": line_id, "b_reason": text} for line_id, text in entered.items()])
    lines = [ln for ln in await session.scalars(select(StocktakeLine).where(StocktakeLine.stocktake_id == st.id))
             if ln.counted is not None and ln.book_at_count is not None and ln.counted != ln.book_at_count]
    if lines:
        doc = await insert_document(session, kind="adjustment", location_id=st.location_id, actor=actor,
                                    approver=actor, occurred_at=utcnow(),
                                    reason=f"盘点调整（盘盈/盘亏）{stocktake_number(st)}",
                                    reference=stocktake_number(st))
        posting = Posting(doc.id)
        for ln in lines:
            diff = (ln.counted or 0) - (ln.book_at_count or 0)
            place = await load_place(session, ln.location_id)
            item = await load_item(session, ln.item_type_id)
            move = None
            if ln.asset_id is not None:
                asset = await session.get(Asset, ln.asset_id)
                assert asset is not None
                if diff < 0:
                    move = await move_asset(session, asset, expect_status=("available", "maintenance"),
                                            expect_location=ln.location_id, status="lost", location_id=None,
                                            field=f"lines.{ln.id}")
                else:
                    move = await move_asset(session, asset, expect_status=("lost",), expect_location=None,
                                            status="available", location_id=ln.location_id,
                                            field=f"lines.{ln.id}")
            await apply_change(session, posting, place, item, ln.lot_id, "on_hand", diff, asset_id=ln.asset_id,
                               move=move, field=f"lines.{ln.id}")
        await posting.write(session)
        st.adjustment_document_id = doc.id
    st.status, st.approved_by, st.approved_at = "approved", actor, utcnow()
    await session.flush()
    return st
