"""Quarterly stocktake (盘点), opening and counting: snapshot, the lines of the counting sheet, counts in.

The rule for movements during a count: the variance compares what was counted with the book *as
of the count*, taken to be the moment the counted sheet is imported. The book at the count is
the snapshot's book plus every movement posted between the snapshot and the import; movements
after the import (before approval) are real changes and are not touched by the adjustment.

The import computes the difference itself: the sheet's 差异 and 账面数量 cells are never input. It takes
the rows the Excel layer read (:class:`~inventory.stocktake.schemas.CountedSheet`) and matches them to
the snapshot in a worker thread; every error refuses the whole sheet (:mod:`inventory.stocktake.uploads`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row, bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.errors import Conflict
from inventory.places.locations import get_location
from inventory.stocktake.rules import TOO_LARGE, beijing_date, count_too_large, whole_number
from inventory.stocktake.schemas import (
    CountedSheet,
    CountingSheet,
    ImportError_,
    SheetHeading,
    SheetLine,
    StocktakeCreate,
    StocktakeRead,
)
from inventory.stocktake.uploads import record_refusal, row_error
from inventory.store.lookup import get_or_not_found
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
    return await get_or_not_found(session, Stocktake, stocktake_id, f"盘点单 id={stocktake_id}")


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


async def line_details(session: AsyncSession, stocktake_id: int) -> list[Row[Any]]:
    """Every line with what the sheet and the report show of it, as plain rows (no ORM objects: 100,000 lines)."""
    rows: Sequence[Any] = (await session.execute(
        select(*_LINE_COLUMNS)
        .join(ItemType, ItemType.id == StocktakeLine.item_type_id)
        .join(Location, Location.id == StocktakeLine.location_id)
        .outerjoin(Lot, Lot.id == StocktakeLine.lot_id).outerjoin(Asset, Asset.id == StocktakeLine.asset_id)
        .where(StocktakeLine.stocktake_id == stocktake_id)
        .order_by(ItemType.code, Location.path, Lot.expiry_date, Asset.serial_number, StocktakeLine.id))).all()
    return list(rows)


async def sheet_heading(session: AsyncSession, st: Stocktake, day: dt.datetime) -> SheetHeading:
    """The heading of a sheet of this stocktake, dated the 北京时间 day of ``day``."""
    loc = await get_location(session, st.location_id)
    return SheetHeading(place=loc.name, number=stocktake_number(st), count_date=beijing_date(day),
                        counted_by=st.counted_by, supervised_by=st.supervised_by)


async def counting_sheet(session: AsyncSession, stocktake_id: int, *, now: dt.datetime | None = None) -> CountingSheet:
    """The lines of the counting sheet for this stocktake, dated the day it is printed in 北京时间."""
    st = await get_stocktake(session, stocktake_id)
    heading = await sheet_heading(session, st, now or utcnow())
    lines = [SheetLine(item_code=ln.item_code, book_quantity=ln.book_at_snapshot, name=ln.item_name, spec=ln.spec,
                       unit=ln.unit, lot_number=ln.lot_number or "", production_date=ln.production_date,
                       expiry_date=ln.expiry_date, place=ln.place, serial_number=ln.serial_number or "",
                       label_code=ln.label_code or "")
             for ln in await line_details(session, st.id)]
    return CountingSheet(heading=heading, lines=lines)


@dataclass
class Matched:
    """The counted rows matched to the snapshot, or the errors that refuse the sheet."""

    errors: list[ImportError_]
    counts: dict[int, tuple[int | None, str, int]] = field(default_factory=dict)  # line id → count, reason, row
    found: list[tuple[int, int, str, int]] = field(default_factory=list)  # not on the book: item id, count, reason, row


def match_counts(number: str, sheet: CountedSheet, details: Sequence[Row[Any]], codes: dict[str, tuple[int, str]],
                 progress: Callable[[int], None] | None = None) -> Matched:
    """Match every counted row to a line of the snapshot ``details`` (no I/O: run it in a worker thread).

    ``number`` is the stocktake's 盘点单号 and ``codes`` the catalogue (物资编号 → item id, tracking).
    """
    errors = [row_error(e.row, e.column, e.value, e.message) for e in sheet.problems]
    if sheet.number and sheet.number.strip() != number:
        errors.insert(0, row_error(sheet.header_row, "盘点单号", sheet.number,
                                   f"这是另一份盘点单的表（{sheet.number}），本盘点单是 {number}"))
    by_label = {ln.label_code: ln for ln in details if ln.asset_id is not None and ln.label_code}
    by_serial = {(ln.item_code, ln.serial_number): ln for ln in details if ln.asset_id is not None}
    by_lot: dict[tuple[str, str], list[tuple[Row[Any], str]]] = defaultdict(list)
    for ln in details:
        if ln.asset_id is None:
            by_lot[(ln.item_code, ln.lot_number or "")].append((ln, ln.place))
    result = Matched(errors)
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
                result.found.append((item_id, counted, row.reason or "", row.row))
            continue
        if line.id in result.counts:
            errors.append(row_error(row.row, "物资编号", row.item_code,
                                    f"与第 {result.counts[line.id][2]} 行是同一盘点行"))
            continue
        result.counts[line.id] = (counted, row.reason or "", row.row)
    if not sheet.problems and not any(row.counted is not None for row in sheet.rows):
        errors.append(row_error(sheet.header_row, "实盘数量", None,
                                "未填写任何实盘数量：整张表的「实盘数量」列都是空的，请填写清点到的数量后再导入"))
    return result


async def import_counts(session: AsyncSession, stocktake_id: int, sheet: CountedSheet, *, actor: str,
                        progress: Callable[[int], None] | None = None) -> StocktakeUpload:
    """Match the counted rows to the snapshot; every error refuses the whole file (nothing applied).

    The rows are matched in a worker thread. A refusal is recorded without its marked-up copy: the Excel
    edge makes that after this transaction, off the event loop.
    """
    st = await get_stocktake(session, stocktake_id)
    if st.status == "approved":
        raise Conflict(f"盘点单 {stocktake_number(st)} 已审批结案，不能再导入")
    details = await line_details(session, st.id)
    codes = {c: (i, t) for c, i, t in (await session.execute(select(ItemType.code, ItemType.id, ItemType.tracking)))}
    matched = await asyncio.to_thread(match_counts, stocktake_number(st), sheet, details, codes, progress)
    if matched.errors:
        return await record_refusal(session, "counts", st.id, matched.errors, sheet, actor=actor)
    await _apply_counts(session, st, details, matched)
    _take_people(st, sheet)
    st.status, st.imported_by, st.imported_at = "counted", actor, utcnow()
    upload = StocktakeUpload(stocktake_id=st.id, kind="counts", uploaded_by=actor, uploaded_at=utcnow(),
                             accepted=True, errors={}, error_copy=None)
    session.add(upload)
    await session.flush()
    return upload


def _take_people(st: Stocktake, sheet: CountedSheet) -> None:
    """Who counted and who supervised, as the returned sheet names them (header, or the 责任人 column)."""
    counter = sheet.counted_by or "、".join(dict.fromkeys(r.counted_by for r in sheet.rows if r.counted_by))
    if counter:
        st.counted_by = counter[:64]
    if supervisor := sheet.supervised_by:
        st.supervised_by = supervisor[:64]


_UPDATE_LINE = update(StocktakeLine).where(StocktakeLine.id == bindparam("b_id")).values(
    counted=bindparam("b_counted"), book_at_count=bindparam("b_book"), reason=bindparam("b_reason"),
    sheet_row=bindparam("b_row"))


async def _apply_counts(session: AsyncSession, st: Stocktake, details: list[Row[Any]], matched: Matched) -> None:
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
        counted, reason, row = matched.counts.get(ln.id, (None, "", None))
        params.append({"b_id": ln.id, "b_counted": counted, "b_book": now, "b_reason": reason[:200], "b_row": row})
    if params:
        await conn.execute(_UPDATE_LINE, params)
    if matched.found:
        await conn.execute(_INSERT_LINE, [
            {"stocktake_id": st.id, "location_id": st.location_id, "item_type_id": item_id, "lot_id": None,
             "asset_id": None, "book_at_snapshot": 0, "book_at_count": book.get((st.location_id, item_id, 0), 0),
             "counted": counted, "reason": reason[:200], "sheet_row": row}
            for item_id, counted, reason, row in matched.found])
