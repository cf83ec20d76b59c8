"""台账: the stock ledger of a location (with its bins) for a period — every on-hand movement, in order.

One entry per voucher, item type and lot (a voucher moving twenty serial units of one type is one entry
of 20), ordered by item type, then by the document's ``occurred_at``, then by voucher. Each item starts at
its opening balance and runs to its closing balance, the same figures as the 收发存 report
(:mod:`inventory.reports.receipts_issues`); a reversal stays on the side of what it undoes with a negative
figure (:mod:`inventory.reports.rules`). Stock in transit is not on hand: it enters the ledger when received.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.errors import InvalidInput
from inventory.reports.periods import Period
from inventory.reports.receipts_issues import figures_by_line, item_briefs
from inventory.reports.rules import entry_label, entry_sides
from inventory.reports.schemas import LedgerEntry, LedgerItem, StockLedger
from inventory.reports.scope import Scoped
from inventory.stock.documents import CHINA, document_number
from inventory.store.models import Document, ItemType, Location, Lot, Movement, User, utcnow

MAX_ENTRIES = 3000
RULE = ("按单据发生时间（北京时间）排序，每张单据每个品目（批次）一行；冲销单以负数记在原单据同一方向栏。"
        "在途物资不计入结存，收货时记“调入”。")


async def _documents(session: AsyncSession, ids: set[int]) -> dict[int, Document]:
    docs: dict[int, Document] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), 1000):
        for doc in await session.scalars(select(Document).where(Document.id.in_(ordered[start:start + 1000]))):
            docs[doc.id] = doc
    return docs


async def _names(session: AsyncSession, docs: dict[int, Document]) -> tuple[dict[int, str], dict[int, int]]:
    """Names of the other ends of transfers, and the sender of each transfer a receipt belongs to."""
    transfers = {d.transfer_id for d in docs.values() if d.transfer_id}
    sender: dict[int, int] = {}
    if transfers:
        sender = dict((await session.execute(
            select(Document.id, Document.location_id).where(Document.id.in_(sorted(transfers))))).all())
    places = {d.to_location_id for d in docs.values() if d.to_location_id} | set(sender.values())
    names: dict[int, str] = {}
    if places:
        names = dict((await session.execute(
            select(Location.id, Location.name).where(Location.id.in_(sorted(places))))).all())
    return names, sender


def _summary(doc: Document, names: dict[int, str], sender: dict[int, int]) -> str:
    parts: list[str] = []
    if doc.reverses_id is not None:
        parts.append(f"冲销 {doc.reference}")
    elif doc.kind == "transfer" and doc.to_location_id:
        parts.append(f"调往 {names.get(doc.to_location_id, '')}")
    elif doc.kind == "transfer_receipt" and doc.transfer_id in sender:
        parts.append(f"来自 {names.get(sender[doc.transfer_id], '')}，调拨单 {doc.reference}")
    elif doc.reference:
        parts.append(doc.reference)
    parts += [text for text in (doc.counterparty, doc.reason) if text]
    return "；".join(dict.fromkeys(p.strip() for p in parts if p.strip()))


async def stock_ledger(session: AsyncSession, scoped: Scoped, period: Period, *, max_entries: int = MAX_ENTRIES,
                       now: dt.datetime | None = None) -> StockLedger:
    """The 台账 of a location for a period (at most ``max_entries`` entries; opening and closing always whole)."""
    if scoped.scope.kind != "location" or scoped.scope.location_id is None:
        raise InvalidInput("台账按地点编制：请选择一个地点（储备库、储备点等）", field="location")
    figures = await figures_by_line(session, scoped, period)
    plus = func.sum(case((Movement.quantity > 0, Movement.quantity), else_=0))
    minus = func.sum(case((Movement.quantity < 0, Movement.quantity), else_=0))
    rows = (await session.execute(
        select(ItemType.code, Movement.item_type_id, Document.occurred_at, Document.id, Movement.lot_id, plus, minus)
        .select_from(Movement).join(Document, Document.id == Movement.document_id)
        .join(ItemType, ItemType.id == Movement.item_type_id)
        .where(scoped.where(Movement.location_id), Movement.bucket == "on_hand",
               Document.occurred_at >= period.start, Document.occurred_at < period.end)
        .group_by(ItemType.code, Movement.item_type_id, Document.occurred_at, Document.id, Movement.lot_id)
        .order_by(ItemType.code, Movement.item_type_id, Document.occurred_at, Document.id, Movement.lot_id)
        .limit(max_entries + 1))).all()
    truncated = len(rows) > max_entries
    rows = rows[:max_entries]
    docs = await _documents(session, {r[3] for r in rows})
    names, sender = await _names(session, docs)
    lot_ids = sorted({r[4] for r in rows if r[4] is not None})
    lots = dict((await session.execute(select(Lot.id, Lot.number).where(Lot.id.in_(lot_ids)))).all())
    actors = {d.actor for d in docs.values()}
    people = dict((await session.execute(
        select(User.username, User.display_name).where(User.username.in_(sorted(actors))))).all())
    item_ids = {item for _, item in figures} | {r[1] for r in rows}
    items = await item_briefs(session, item_ids)
    entries: dict[int, list[LedgerEntry]] = defaultdict(list)
    running = {item: f.opening for (_, item), f in figures.items()}
    for _, item_id, occurred, doc_id, lot_id, up, down in rows:
        doc = docs[doc_id]
        reversal = doc.reverses_id is not None
        for quantity in (int(up or 0), int(down or 0)):
            if not quantity:
                continue
            running[item_id] = running.get(item_id, 0) + quantity
            quantity_in, quantity_out = entry_sides(quantity, reversal)
            entries[item_id].append(LedgerEntry(
                occurred_at=occurred, date=occurred.astimezone(CHINA).date(), document_id=doc.id,
                document_number=document_number(doc.kind, doc.created_at, doc.id), kind=doc.kind,
                kind_zh=entry_label(doc.kind, quantity, reversal), reversal=reversal,
                lot_number=lots.get(lot_id, "") if lot_id is not None else "", quantity_in=quantity_in,
                quantity_out=quantity_out, balance=running[item_id], actor=doc.actor,
                actor_name=people.get(doc.actor) or doc.actor, summary=_summary(doc, names, sender)))
    ledger_items = []
    for item_id in sorted(item_ids, key=lambda i: (items[i].code, i)):
        f = figures.get((scoped.scope.location_id, item_id))
        if f is None or not (f.opening or f.closing or f.total_in or f.total_out or entries[item_id]):
            continue
        ledger_items.append(LedgerItem(item=items[item_id], opening=f.opening, total_in=f.total_in,
                                       total_out=f.total_out, closing=f.closing, entries=entries[item_id]))
    return StockLedger(
        scope=scoped.scope, period=period, period_label=period.label, period_span=period.span, items=ledger_items,
        truncated=truncated, max_entries=max_entries, generated_at=now or utcnow(), rule=RULE)
