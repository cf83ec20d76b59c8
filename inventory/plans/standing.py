"""Where a plan's transfers stand, read from the ledger in a few grouped queries, and what each line got.

A transfer is ``cancelled`` when reversed, ``in_transit`` while anything sent is neither received nor closed
short, else ``received`` — the rule of :func:`inventory.stock.transfers.transfer_read`, for many transfers at once.
Lines share a transfer when they go from one location to one staging site: a unit counts for the line naming
it, bulk quantities go to the lines of their item type in line order.

A plan is in place once every line's transfer is received; it is derived here whenever a plan is read, at
the time of its last receipt (the keepers' receipts never touch the plan), and written on the plan row by the
plan's next write.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.store.models import Document, Movement, Plan, PlanLine

Key = tuple[int, int | None]  # item type, unit


@dataclass
class TransferFigures:
    """One transfer: its status, what it sent and what was signed for, per item type and unit."""

    status: str = "received"  # in_transit | received | cancelled
    sent: dict[Key, int] = field(default_factory=dict)
    received: dict[Key, int] = field(default_factory=dict)
    last_receipt_at: dt.datetime | None = None


async def transfer_figures(session: AsyncSession, transfer_ids: Collection[int]) -> dict[int, TransferFigures]:
    """The figures of these transfers (ids of transfer documents)."""
    ids = sorted(set(transfer_ids))
    if not ids:
        return {}
    sent: dict[int, dict[Key, int]] = defaultdict(dict)
    for doc, item, asset, qty in await session.execute(
            select(Movement.document_id, Movement.item_type_id, Movement.asset_id, func.sum(Movement.quantity))
            .where(Movement.document_id.in_(ids), Movement.bucket == "in_transit")
            .group_by(Movement.document_id, Movement.item_type_id, Movement.asset_id)):
        sent[doc][(item, asset)] = int(qty)
    received: dict[int, dict[Key, int]] = defaultdict(lambda: defaultdict(int))
    still: dict[int, int] = defaultdict(int)  # what receipts took out of in transit (negative)
    for transfer, bucket, item, asset, qty in (await session.execute(
            select(Document.transfer_id, Movement.bucket, Movement.item_type_id, Movement.asset_id,
                   func.sum(Movement.quantity))
            .join(Document, Document.id == Movement.document_id).where(Document.transfer_id.in_(ids))
            .group_by(Document.transfer_id, Movement.bucket, Movement.item_type_id, Movement.asset_id))):
        assert transfer is not None
        if bucket == "on_hand":
            received[transfer][(item, asset)] += int(qty)
        elif bucket == "in_transit":
            still[transfer] += int(qty)
    last = dict((await session.execute(
        select(Document.transfer_id, func.max(Document.created_at)).where(Document.transfer_id.in_(ids))
        .group_by(Document.transfer_id))).all())
    cancelled = set(await session.scalars(select(Document.reverses_id).where(Document.reverses_id.in_(ids))))
    figures = {}
    for t in ids:
        outstanding = sum(sent[t].values()) + still[t]
        status = "cancelled" if t in cancelled else "in_transit" if outstanding > 0 else "received"
        figures[t] = TransferFigures(status, dict(sent[t]), {k: q for k, q in received[t].items() if q > 0},
                                     last.get(t))
    return figures


def apportion(lines: Sequence[PlanLine], quantities: Mapping[Key, int]) -> dict[int, int]:
    """How much of a transfer's quantities belongs to each of its lines (line id → quantity)."""
    left = dict(quantities)
    share: dict[int, int] = {}
    for ln in lines:
        if ln.asset_ids:
            share[ln.id] = sum(1 for a in ln.asset_ids if left.get((ln.item_type_id, a), 0) > 0)
            continue
        have = left.get((ln.item_type_id, None), 0)
        share[ln.id] = min(ln.quantity, have)
        left[(ln.item_type_id, None)] = have - share[ln.id]
    return share


def by_transfer(lines: Sequence[PlanLine], *, recall: bool = False) -> dict[int, list[PlanLine]]:
    """The lines of each transfer out (or back, with ``recall``), in line order."""
    groups: dict[int, list[PlanLine]] = defaultdict(list)
    for ln in sorted(lines, key=lambda ln: ln.id):
        tid = ln.recall_transfer_id if recall else ln.transfer_id
        if tid is not None:
            groups[tid].append(ln)
    return dict(groups)


@dataclass
class LineFigures:
    """Each line's transfers' status and what it got: received at the staging site, sent back."""

    status: dict[int, str]
    received: dict[int, int]
    recall_status: dict[int, str]
    recalled: dict[int, int]
    in_place_at: dt.datetime | None


async def line_figures(session: AsyncSession, plan: Plan, lines: Sequence[PlanLine]) -> LineFigures:
    """The figures of a plan's lines, and when it came to be in place (None while it is not)."""
    out, back = by_transfer(lines), by_transfer(lines, recall=True)
    figures = await transfer_figures(session, [*out, *back])
    status: dict[int, str] = {}
    received: dict[int, int] = {}
    recall_status: dict[int, str] = {}
    recalled: dict[int, int] = {}
    for tid, group in out.items():
        received |= apportion(group, figures[tid].received)
        status |= {ln.id: figures[tid].status for ln in group}
    for tid, group in back.items():
        recalled |= apportion(group, figures[tid].sent)
        recall_status |= {ln.id: figures[tid].status for ln in group}
    in_place_at = plan.in_place_at
    if in_place_at is None and plan.status == "executing" and lines and all(
            status.get(ln.id) == "received" for ln in lines):
        receipts = [at for t in out if (at := figures[t].last_receipt_at) is not None]
        in_place_at = max(receipts, default=None) or plan.executed_at
    return LineFigures(status, received, recall_status, recalled, in_place_at)


def shown_status(plan: Plan, in_place_at: dt.datetime | None) -> str:
    """The plan's status as read now: an executing plan whose transfers are all received is in place."""
    return "in_place" if plan.status == "executing" and in_place_at is not None else plan.status


async def settle(session: AsyncSession, plan: Plan) -> None:
    """Write on the row that an executing plan came to be in place, if it has (for writes only)."""
    if plan.status != "executing":
        return
    lines = list(await session.scalars(select(PlanLine).where(PlanLine.plan_id == plan.id)))
    figures = await line_figures(session, plan, lines)
    if figures.in_place_at is not None:
        plan.status, plan.in_place_at = "in_place", figures.in_place_at
        await session.flush()
