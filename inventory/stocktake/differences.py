"""Posting the differences of a stocktake: the variance report, its reasons, approval and the adjustment.

The variance compares the count with the book at the count (:mod:`inventory.stocktake.counting`). Every
difference needs a 差异原因 before approval, from the sheet or entered by the approver (the audit log
records who); a difference far beyond the book is flagged for the approver to check.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.errors import Conflict, InvalidInput, PermissionDenied
from inventory.places.refs import load_item, load_place
from inventory.stock.documents import insert_document
from inventory.stock.ledger import Posting, apply_change, move_asset
from inventory.stocktake.counting import get_stocktake, line_details, sheet_heading, stocktake_number, stocktake_read
from inventory.stocktake.rules import far_beyond_book, needs_reason
from inventory.stocktake.schemas import LineReason, Variance, VarianceRow, VarianceSheet
from inventory.store.models import Asset, Stocktake, StocktakeLine, utcnow

MAX_REASON = 200  # stocktake_lines.reason
RULE = ("差异 = 实盘数量 − 盘点时账面数量。盘点时账面数量 = 快照账面数量 + 快照之后至导入盘点表之间过账的出入库；"
        "导入之后、审批之前的出入库是真实发生的变动，不计入差异。The variance compares the count with the book "
        "as of the import of the counted sheet.")


async def variance(session: AsyncSession, stocktake_id: int) -> Variance:
    """Book, counted, difference and reason per line; lines not counted are listed, never taken as zero."""
    st = await get_stocktake(session, stocktake_id)
    rows = []
    for ln in await line_details(session, st.id):
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


async def variance_sheet(session: AsyncSession, stocktake_id: int) -> VarianceSheet:
    """The variance report to print, dated the day of the count (the import of the counted sheet) in 北京时间."""
    report = await variance(session, stocktake_id)
    st = await get_stocktake(session, stocktake_id)
    return VarianceSheet(heading=await sheet_heading(session, st, st.imported_at or utcnow()),
                         lines=[*report.lines, *report.not_counted])


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
    details = await line_details(session, st.id)
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
