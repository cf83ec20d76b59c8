"""Reading agreements: derived status, what each line offers, checks and drills, call-offs and settlements."""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from typing import Final

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.agreements.schemas import (
    AgreementKind,
    AgreementLineRead,
    AgreementRead,
    AgreementStatus,
    CallOffRead,
    CheckCountRead,
    CheckRead,
)
from inventory.clock import beijing_today
from inventory.schemas import Page
from inventory.store.lookup import get_or_not_found
from inventory.store.models import (
    Agreement,
    AgreementCallOff,
    AgreementCheck,
    AgreementCheckCount,
    AgreementLine,
    ItemType,
    Location,
)

EXPIRING_DAYS: Final = 30
"""An agreement with this many days or fewer left is listed as expiring (即将到期): time to renew it."""
_STATUS_ORDER: Final = {"expiring": 0, "valid": 1, "pending": 2, "expired": 3}


def add_month(day: dt.date) -> dt.date:
    """The same day of the next month (the month's last day when it has none): when a settlement falls due."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def agreement_status(a: Agreement, today: dt.date) -> AgreementStatus:
    """Pending before ``valid_from``, expired after ``valid_until``, expiring in its last ``EXPIRING_DAYS``."""
    if today < a.valid_from:
        return "pending"
    if today > a.valid_until:
        return "expired"
    return "expiring" if (a.valid_until - today).days <= EXPIRING_DAYS else "valid"


def is_valid_on(a: Agreement, today: dt.date) -> bool:
    """The agreement binds the firm today (only then does it count in availability or take call-offs)."""
    return a.valid_from <= today <= a.valid_until


async def get_agreement(session: AsyncSession, agreement_id: int) -> Agreement:
    """The agreement with this id, or NotFound."""
    return await get_or_not_found(session, Agreement, agreement_id, f"协议储备 id={agreement_id}")


def _measured_hours(c: AgreementCheck) -> float | None:
    if c.method != "drill" or c.requested_at is None or c.arrived_at is None:
        return None
    return round((c.arrived_at - c.requested_at).total_seconds() / 3600, 2)


def check_read(c: AgreementCheck, promised: float, counts: list[CheckCountRead]) -> CheckRead:
    """A check; a drill's measured response time (arrived − requested) beside the promised hours."""
    measured = _measured_hours(c)
    return CheckRead(
        id=c.id, agreement_id=c.agreement_id, checked_on=c.checked_on, method=c.method,  # type: ignore[arg-type]
        result=c.result, deficiency=c.deficiency, requested_at=c.requested_at,  # type: ignore[arg-type]
        arrived_at=c.arrived_at, measured_response_hours=measured, promised_response_hours=promised,
        on_time=None if measured is None else measured <= promised, counts=counts, recorded_by=c.recorded_by,
        created_at=c.created_at)


async def agreement_lines(session: AsyncSession, agreement_id: int) -> list[AgreementLineRead]:
    """The lines with their item types, in id order; ``available`` is what the line offers while valid."""
    rows = await session.execute(
        select(AgreementLine, ItemType.code, ItemType.name, ItemType.unit)
        .join(ItemType, ItemType.id == AgreementLine.item_type_id)
        .where(AgreementLine.agreement_id == agreement_id).order_by(AgreementLine.id))
    return [AgreementLineRead(id=ln.id, item_type_id=ln.item_type_id, item_code=code, item_name=name, unit=unit,
                              quantity=ln.quantity, outstanding=ln.outstanding,
                              available=ln.quantity - ln.outstanding)
            for ln, code, name, unit in rows]


async def list_checks(session: AsyncSession, a: Agreement) -> list[CheckRead]:
    """Every check and drill of an agreement, newest first, with what each counted."""
    checks = list(await session.scalars(select(AgreementCheck).where(AgreementCheck.agreement_id == a.id)
                                        .order_by(AgreementCheck.checked_on.desc(), AgreementCheck.id.desc())))
    counts: dict[int, list[CheckCountRead]] = defaultdict(list)
    if checks:
        rows = await session.execute(
            select(AgreementCheckCount.check_id, AgreementLine.id, ItemType.name, AgreementLine.quantity,
                   AgreementCheckCount.counted)
            .join(AgreementLine, AgreementLine.id == AgreementCheckCount.line_id)
            .join(ItemType, ItemType.id == AgreementLine.item_type_id)
            .where(AgreementCheckCount.check_id.in_([c.id for c in checks])).order_by(AgreementCheckCount.id))
        for check_id, line_id, name, promised, counted in rows:
            counts[check_id].append(CheckCountRead(line_id=line_id, item_name=name, promised=promised,
                                                   counted=counted))
    return [check_read(c, a.response_hours, counts[c.id]) for c in checks]


def calloff_read(c: AgreementCallOff, item_name: str, today: dt.date) -> CallOffRead:
    """A call-off; overdue when its settlement date has passed unpaid."""
    overdue = bool(c.settlement_due and c.settled_at is None and c.settlement_due < today)
    return CallOffRead(id=c.id, agreement_id=c.agreement_id, item_type_id=c.item_type_id, item_name=item_name,
                       quantity=c.quantity, dispatch_id=c.dispatch_id, state=c.state,  # type: ignore[arg-type]
                       created_at=c.created_at, called_at=c.called_at, delivered_at=c.delivered_at,
                       receipt_id=c.receipt_id, settlement_due=c.settlement_due, settled_at=c.settled_at,
                       settlement_note=c.settlement_note, settlement_overdue=overdue)


async def list_calloffs(session: AsyncSession, agreement_id: int, today: dt.date | None = None) -> list[CallOffRead]:
    """The call-offs of an agreement, newest first."""
    today = today or beijing_today()
    rows = await session.execute(
        select(AgreementCallOff, ItemType.name).join(ItemType, ItemType.id == AgreementCallOff.item_type_id)
        .where(AgreementCallOff.agreement_id == agreement_id).order_by(AgreementCallOff.id.desc()))
    return [calloff_read(c, name, today) for c, name in rows]


async def agreement_read(session: AsyncSession, a: Agreement, today: dt.date | None = None) -> AgreementRead:
    """An agreement with its status, lines, last check and drill, next check due and overdue settlements."""
    today = today or beijing_today()
    vendor = await session.get(Location, a.vendor_location_id)
    assert vendor is not None
    checks = await list_checks(session, a)
    last_check = checks[0] if checks else None
    last_drill = next((c for c in checks if c.method == "drill"), None)
    next_due = (last_check.checked_on if last_check else a.valid_from) + dt.timedelta(days=a.check_interval_days)
    calloffs = await list_calloffs(session, a.id, today)
    status = agreement_status(a, today)
    return AgreementRead(
        id=a.id, number=a.number, name=a.name, vendor_location_id=vendor.id, vendor_name=vendor.name,
        vendor_region_code=vendor.region_code, lat=vendor.lat, lon=vendor.lon,
        kind=a.kind, valid_from=a.valid_from, valid_until=a.valid_until,  # type: ignore[arg-type]
        status=status, days_left=(a.valid_until - today).days, response_hours=a.response_hours,
        delivery_point=a.delivery_point, price_mechanism=a.price_mechanism,  # type: ignore[arg-type]
        rotation_by=a.rotation_by, check_interval_days=a.check_interval_days,  # type: ignore[arg-type]
        contact_name=a.contact_name, contact_phone=a.contact_phone, notes=a.notes,
        lines=await agreement_lines(session, a.id), last_check=last_check, last_drill=last_drill,
        next_check_due=next_due, check_overdue=status != "expired" and next_due < today,
        settlements_overdue=sum(1 for c in calloffs if c.settlement_overdue), created_by=a.created_by,
        created_at=a.created_at)


async def list_agreements(
    session: AsyncSession, *, status: AgreementStatus | None = None, kind: AgreementKind | None = None,
    check_due: bool | None = None, vendor: str | None = None, item_type_id: int | None = None,
    limit: int = 50, offset: int = 0, today: dt.date | None = None,
) -> Page[AgreementRead]:
    """Agreements, expiring first (then valid, pending, expired; by end date); filters as named.

    ``check_due`` keeps those whose next check is past due; ``vendor`` matches the firm's or the agreement's
    name or number. A county holds tens of agreements, not thousands: they are read whole and filtered here.
    """
    today = today or beijing_today()
    stmt = select(Agreement).join(Location, Location.id == Agreement.vendor_location_id)
    if kind:
        stmt = stmt.where(Agreement.kind == kind)
    if vendor:
        stmt = stmt.where(or_(Location.name.contains(vendor, autoescape=True),
                              Agreement.name.contains(vendor, autoescape=True),
                              Agreement.number.contains(vendor, autoescape=True)))
    if item_type_id is not None:
        stmt = stmt.where(Agreement.id.in_(select(AgreementLine.agreement_id)
                                           .where(AgreementLine.item_type_id == item_type_id)))
    found = list(await session.scalars(stmt.order_by(Agreement.valid_until, Agreement.id)))
    if status:
        found = [a for a in found if agreement_status(a, today) == status]
    reads = [await agreement_read(session, a, today) for a in found]
    if check_due is not None:
        reads = [r for r in reads if r.check_overdue == check_due]
    reads.sort(key=lambda r: (_STATUS_ORDER[r.status], r.valid_until, r.id))
    return Page(reads[offset:offset + limit], len(reads), limit, offset)
