"""Reading leases: their derived status, fees to date, one lease as shown, lists with filters, yearly fee totals."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.clock import BEIJING, beijing_today
from inventory.leases.schemas import (
    STATUS_ZH,
    ExtensionRead,
    FeeRead,
    FeeSummary,
    FeeTotal,
    LeaseLineRead,
    LeaseRead,
)
from inventory.schemas import Page
from inventory.store.lookup import get_or_not_found
from inventory.store.models import ItemType, Lease, LeaseExtension, LeaseLine, WriteOffRequest


def reference(lease_id: int) -> str:
    """The reference every document of a lease carries."""
    return f"LEASE-{lease_id}"




def _date(value: dt.datetime) -> dt.date:
    return value.astimezone(BEIJING).date()


def derive_status(lease: Lease, lines: list[LeaseLine], today: dt.date) -> str:
    """draft, active, overdue, returned or closed_short."""
    if lease.out_at is None:
        return "draft"
    if lease.closed_at is not None:
        return "closed_short" if any(ln.lost or ln.damaged for ln in lines) else "returned"
    return "overdue" if lease.due_date < today else "active"


def fee(lease: Lease, today: dt.date) -> FeeRead:
    """The fee to date (or at return): per day counts the days held, late days are the days past due."""
    if lease.out_at is None:
        return FeeRead(lease.fee_basis, lease.rate, 0, 0, 0.0)
    end = _date(lease.closed_at) if lease.closed_at else today
    start = max(lease.start_date, _date(lease.out_at)) if lease.out_at else lease.start_date
    days = max(1, (end - min(start, end)).days)
    late = max(0, (end - lease.due_date).days)
    amount = {"per_day": lease.rate * days, "per_use": lease.rate, "lump_sum": lease.rate, "free": 0.0}[
        lease.fee_basis]
    return FeeRead(lease.fee_basis, lease.rate, days, late, round(amount, 2))


async def get_lease(session: AsyncSession, lease_id: int) -> Lease:
    """The lease with this id, or NotFound."""
    return await get_or_not_found(session, Lease, lease_id, f"租借合同 id={lease_id}")


async def lease_lines(session: AsyncSession, lease_id: int) -> list[LeaseLine]:
    return list(await session.scalars(select(LeaseLine).where(LeaseLine.lease_id == lease_id).order_by(LeaseLine.id)))


async def lease_read(session: AsyncSession, lease: Lease, today: dt.date | None = None) -> LeaseRead:
    """The public view of a lease."""
    today = today or beijing_today()
    lines = await lease_lines(session, lease.id)
    names = {row.id: row.name for row in await session.execute(select(ItemType.id, ItemType.name).where(
        ItemType.id.in_({ln.item_type_id for ln in lines})))}
    exts = await session.scalars(select(LeaseExtension).where(LeaseExtension.lease_id == lease.id)
                                 .order_by(LeaseExtension.id))
    write_offs = await session.scalars(select(WriteOffRequest.id).where(
        WriteOffRequest.reason.startswith(f"租借合同 #{lease.id} ")).order_by(WriteOffRequest.id))
    status = derive_status(lease, lines, today)
    return LeaseRead(
        id=lease.id, direction=lease.direction, status=status, status_zh=STATUS_ZH[status],
        agreement_number=lease.agreement_number, counterparty=lease.counterparty,
        counterparty_kind=lease.counterparty_kind, contact_name=lease.contact_name, contact_phone=lease.contact_phone,
        location_id=lease.location_id, counterparty_location_id=lease.counterparty_location_id,
        start_date=lease.start_date, due_date=lease.due_date, fee_basis=lease.fee_basis, rate=lease.rate,
        deposit=lease.deposit, notes=lease.notes, created_by=lease.created_by, created_at=lease.created_at,
        out_at=lease.out_at, closed_at=lease.closed_at,
        lines=[LeaseLineRead(ln.id, ln.item_type_id, names.get(ln.item_type_id, ""), ln.lot_id, ln.asset_id,
                             ln.serial_number, ln.quantity, ln.returned, ln.damaged, ln.lost,
                             ln.quantity - ln.returned - ln.lost, ln.condition_out, ln.condition_back)
               for ln in lines],
        extensions=[ExtensionRead(e.previous_due, e.new_due, e.reason, e.actor, e.created_at) for e in exts],
        fee=fee(lease, today), write_off_request_ids=list(write_offs),
    )


async def list_leases(
    session: AsyncSession, *, status: str | None, direction: str | None, due_within_days: int | None,
    counterparty: str | None, limit: int, offset: int, today: dt.date | None = None,
) -> Page[LeaseRead]:
    """Leases, overdue first then by due date; status is derived, so it is filtered after reading."""
    today = today or beijing_today()
    stmt = select(Lease)
    if direction:
        stmt = stmt.where(Lease.direction == direction)
    if counterparty:
        stmt = stmt.where(Lease.counterparty.contains(counterparty, autoescape=True))
    if due_within_days is not None:
        stmt = stmt.where(Lease.closed_at.is_(None), Lease.due_date <= today + dt.timedelta(days=due_within_days))
    reads = [await lease_read(session, lease, today)
             for lease in await session.scalars(stmt.order_by(Lease.due_date, Lease.id))]
    if status:
        reads = [r for r in reads if r.status == status]
    rank = {"overdue": 0, "active": 1, "draft": 2, "closed_short": 3, "returned": 4}
    reads.sort(key=lambda r: (rank[r.status], r.due_date, r.id))
    return Page(reads[offset:offset + limit], len(reads), limit, offset)


async def fee_summary(session: AsyncSession, year: int, today: dt.date | None = None) -> FeeSummary:
    """Per counterparty: fees the bureau pays (leased in) and is owed (lent out) for leases started in ``year``."""
    today = today or beijing_today()
    totals: dict[str, FeeTotal] = {}
    leases = await session.scalars(select(Lease).where(
        Lease.start_date >= dt.date(year, 1, 1), Lease.start_date <= dt.date(year, 12, 31)).order_by(Lease.id))
    for lease in leases:
        t = totals.setdefault(lease.counterparty, FeeTotal(lease.counterparty, 0, 0.0, 0.0))
        amount = fee(lease, today).amount
        t.leases += 1
        if lease.direction == "in":
            t.payable = round(t.payable + amount, 2)
        else:
            t.receivable = round(t.receivable + amount, 2)
    rows = sorted(totals.values(), key=lambda t: t.counterparty)
    return FeeSummary(year, round(sum(t.payable for t in rows), 2), round(sum(t.receivable for t in rows), 2), rows)
