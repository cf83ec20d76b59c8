"""收发存报表: opening, receipts, issues, transfers, adjustments, write-offs and closing per location × item type.

Figures come from the movements themselves (the ledger is the truth), grouped in one statement, so the
opening and the period are read from the same snapshot. A movement counts in the period that holds its
document's ``occurred_at`` (Beijing time; :mod:`inventory.reports.periods`), in the column its document's
kind gives it (:mod:`inventory.reports.rules`, which also states the rule for reversals and transit). At
the end of any period, ``closing`` per (location, item type) is the sum of every on-hand movement before
that instant — for a period that ends after the last movement, exactly what ``inventory ledger verify``
recomputes, and what the balances hold.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.reports.periods import Period
from inventory.reports.rules import amount, column_of
from inventory.reports.schemas import BalanceReport, BalanceRow, Figures, ItemBrief
from inventory.reports.scope import Scoped, place_briefs
from inventory.store.models import Document, ItemType, Movement, utcnow

MAX_ROWS = 2000
RULE = ("按单据发生时间（北京时间）计入期间。冲销单计入其本身发生的期间，记在原单据所在栏目，以负数（红字）表示，"
        "已打印的以前期间报表不变。调拨：发货时在调出方记“调出”，在途期间记在收货方“在途”栏，收货时在收货方记“调入”。"
        "期末结存 = 期初结存 + 本期收入 − 本期发出。")

Key = tuple[int, int]  # (location shown, item type)


async def figures_by_line(session: AsyncSession, scoped: Scoped, period: Period) -> dict[Key, Figures]:
    """The figures of every (location, item type) in the scope with something to show for the period."""
    # One expression object in SELECT and GROUP BY (the same binds), or PostgreSQL refuses the grouping.
    before = Document.occurred_at < period.start
    reversal = Document.reverses_id.is_not(None)
    positive = func.sum(case((Movement.quantity > 0, Movement.quantity), else_=0))
    negative = func.sum(case((Movement.quantity < 0, Movement.quantity), else_=0))
    stmt = (
        select(Movement.location_id, Movement.item_type_id, Movement.bucket, Document.kind, reversal, before,
               positive, negative)
        .select_from(Movement).join(Document, Document.id == Movement.document_id)
        .where(scoped.where(Movement.location_id), Movement.bucket != "reserved", Document.occurred_at < period.end)
        .group_by(Movement.location_id, Movement.item_type_id, Movement.bucket, Document.kind, reversal, before)
    )
    lines: dict[Key, Figures] = defaultdict(Figures)
    for loc, item, bucket, kind, is_reversal, is_before, plus, minus in await session.execute(stmt):
        figures = lines[(scoped.line_of.get(loc, loc), item)]
        for quantity in (int(plus or 0), int(minus or 0)):
            if not quantity:
                continue
            if bucket == "in_transit":
                figures.in_transit_closing += quantity
                if is_before:
                    figures.in_transit_opening += quantity
                continue
            figures.closing += quantity
            if is_before:
                figures.opening += quantity
            else:
                column = column_of(kind, quantity, bool(is_reversal))
                figures.add_to(column, amount(column, quantity))
    return {key: f for key, f in lines.items() if not f.empty}


async def item_briefs(session: AsyncSession, ids: set[int]) -> dict[int, ItemBrief]:
    """The catalogue entries with these ids."""
    if not ids:
        return {}
    rows = await session.execute(select(ItemType.id, ItemType.code, ItemType.name, ItemType.spec, ItemType.unit,
                                        ItemType.category).where(ItemType.id.in_(sorted(ids))))
    return {i: ItemBrief(id=i, code=code, name=name, spec=spec, unit=unit, category=category)
            for i, code, name, spec, unit, category in rows}


async def receipts_issues(session: AsyncSession, scoped: Scoped, period: Period, *, max_rows: int = MAX_ROWS,
                          now: dt.datetime | None = None) -> BalanceReport:
    """The 收发存 report of a scope for a period (first ``max_rows`` lines; totals cover every line)."""
    lines = await figures_by_line(session, scoped, period)
    places = await place_briefs(session, {loc for loc, _ in lines})
    items = await item_briefs(session, {item for _, item in lines})
    rows = sorted((BalanceRow(location=places[loc], item=items[item], figures=f) for (loc, item), f in lines.items()),
                  key=lambda r: (r.location.region_code, r.location.code, r.item.code))
    totals = Figures()
    for row in rows:
        totals.accumulate(row.figures)
    return BalanceReport(
        scope=scoped.scope, period=period, period_label=period.label, period_span=period.span, rows=rows[:max_rows],
        totals=totals, truncated=len(rows) > max_rows, max_rows=max_rows, generated_at=now or utcnow(), rule=RULE)
