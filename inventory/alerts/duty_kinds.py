"""Alerts found in obligations with a date: leases due back, agreements expiring or due a check, call-offs to
settle, and the written order an oral dispatch approval still owes.

The rules are those of the owning packages (``leases.queries.derive_status``, ``agreements.queries.
agreement_status``, the settlement rule of ``agreements.queries.calloff_read``, ``response.order_views.
overdue_conditions``), applied here to every open row at once.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.agreements.queries import agreement_status
from inventory.alerts.config import AlertConfig
from inventory.alerts.kinds import Clock, Found, Source, clip
from inventory.leases.queries import derive_status
from inventory.response.order_views import overdue_conditions
from inventory.stock.documents import CHINA
from inventory.store.models import (
    Agreement,
    AgreementCallOff,
    AgreementCheck,
    Dispatch,
    Incident,
    ItemType,
    Lease,
    Location,
)


def _days(n: int) -> str:
    return "今天" if n == 0 else f"{n} 天"


async def leases_due(session: AsyncSession, clock: Clock, config: AlertConfig) -> list[Found]:
    """Leases handed over and not closed: overdue (high) or due within ``lease_due_days`` (normal)."""
    rows = await session.execute(
        select(Lease, Location.name, Location.region_code).join(Location, Location.id == Lease.location_id)
        .where(Lease.out_at.is_not(None), Lease.closed_at.is_(None),
               Lease.due_date <= clock.today + dt.timedelta(days=config.lease_due_days))
        .order_by(Lease.due_date, Lease.id))
    found = []
    for lease, depot, region in rows:
        what = (f"借给{lease.counterparty}的物资" if lease.direction == "out"
                else f"向{lease.counterparty}租借的物资")
        contact = " ".join(p for p in (lease.contact_name, lease.contact_phone) if p)
        detail = clip(f"经办库点 {depot}；合同 {lease.agreement_number or '#' + str(lease.id)}"
                      + (f"；联系人 {contact}" if contact else ""), 500)
        if derive_status(lease, [], clock.today) == "overdue":
            late = (clock.today - lease.due_date).days
            found.append(Found("lease_overdue", f"lease_overdue:{lease.id}:{lease.due_date}", "high", "lease",
                               lease.id, region, lease.location_id,
                               clip(f"逾期未还：{what}应于 {lease.due_date} 归还，已逾期 {late} 天", 200), detail,
                               lease.due_date))
        else:
            left = (lease.due_date - clock.today).days
            found.append(Found("lease_due", f"lease_due:{lease.id}:{lease.due_date}", "normal", "lease", lease.id,
                               region, lease.location_id,
                               clip(f"租借即将到期：{what}应于 {lease.due_date} 归还（还有{_days(left)}）", 200),
                               detail, lease.due_date))
    return found


async def agreements_due(session: AsyncSession, clock: Clock, config: AlertConfig) -> list[Found]:
    """Agreements in their last 30 days, and agreements whose next check falls due within the lead time."""
    last = (select(AgreementCheck.agreement_id, func.max(AgreementCheck.checked_on).label("checked_on"))
            .group_by(AgreementCheck.agreement_id).subquery())
    rows = await session.execute(
        select(Agreement, last.c.checked_on, Location.name, Location.region_code)
        .join(Location, Location.id == Agreement.vendor_location_id)
        .outerjoin(last, last.c.agreement_id == Agreement.id)
        .where(Agreement.valid_until >= clock.today).order_by(Agreement.valid_until, Agreement.id))
    found = []
    for a, checked_on, firm, region in rows:
        status = agreement_status(a, clock.today)
        name = f"{a.name}（{a.number}，{firm}）"
        if status == "expiring":
            left = (a.valid_until - clock.today).days
            found.append(Found("agreement_expiring", f"agreement_expiring:{a.id}:{a.valid_until}", "normal",
                               "agreement", a.id, region, a.vendor_location_id,
                               clip(f"协议即将到期：{name}将于 {a.valid_until} 到期（还有{_days(left)}）", 200),
                               "到期后不再计入可调用储备，请及时续签", a.valid_until))
        next_due = (checked_on or a.valid_from) + dt.timedelta(days=a.check_interval_days)
        if next_due <= clock.today + dt.timedelta(days=config.agreement_check_due_days):
            late = (clock.today - next_due).days
            when = f"已逾期 {late} 天" if late > 0 else f"还有{_days(-late)}"
            found.append(Found("agreement_check_due", f"agreement_check_due:{a.id}:{next_due}", "normal",
                               "agreement", a.id, region, a.vendor_location_id,
                               clip(f"协议储备检查到期：{name}应于 {next_due} 前检查（{when}）", 200),
                               f"上次检查 {checked_on or '无'}，每 {a.check_interval_days} 天检查一次", next_due))
    return found


async def settlements_due(session: AsyncSession, clock: Clock, config: AlertConfig) -> list[Found]:
    """Call-offs not yet settled: overdue (high) or falling due within ``settlement_due_days`` (normal)."""
    rows = await session.execute(
        select(AgreementCallOff, Agreement.number, Agreement.name, Agreement.vendor_location_id, ItemType.name,
               ItemType.unit, Location.region_code)
        .join(Agreement, Agreement.id == AgreementCallOff.agreement_id)
        .join(ItemType, ItemType.id == AgreementCallOff.item_type_id)
        .join(Location, Location.id == Agreement.vendor_location_id)
        .where(AgreementCallOff.settlement_due.is_not(None), AgreementCallOff.settled_at.is_(None),
               AgreementCallOff.settlement_due <= clock.today + dt.timedelta(days=config.settlement_due_days))
        .order_by(AgreementCallOff.settlement_due, AgreementCallOff.id))
    found = []
    for c, number, name, vendor, item, unit, region in rows:
        due = c.settlement_due
        assert due is not None
        what = f"{name}（{number}）调用 {item} {c.quantity} {unit}"
        detail = f"动用指令 #{c.dispatch_id}；协议调用后一个月内结算"
        if due < clock.today:
            found.append(Found("settlement_overdue", f"settlement_overdue:{c.id}:{due}", "high", "calloff", c.id,
                               region, vendor,
                               clip(f"结算逾期：{what}应于 {due} 前结算，已逾期 {(clock.today - due).days} 天", 200),
                               detail, due))
        else:
            found.append(Found("settlement_due", f"settlement_due:{c.id}:{due}", "normal", "calloff", c.id, region,
                               vendor, clip(f"待结算：{what}应于 {due} 前结算（还有{_days((due - clock.today).days)}）",
                                            200), detail, due))
    return found


async def paperwork_overdue(session: AsyncSession, clock: Clock, config: AlertConfig) -> list[Found]:
    """Dispatch orders approved orally whose written order is past its 48 h deadline."""
    rows = await session.execute(
        select(Dispatch, Incident.name, Incident.region_code, Incident.location_id)
        .join(Incident, Incident.id == Dispatch.incident_id)
        .where(*overdue_conditions(clock.now)).order_by(Dispatch.paperwork_due_at, Dispatch.id))
    found = []
    for d, incident, region, staging in rows:
        assert d.paperwork_due_at is not None
        due = d.paperwork_due_at.astimezone(CHINA)
        hours = int((clock.now - d.paperwork_due_at).total_seconds() // 3600)
        found.append(Found("paperwork_overdue", f"paperwork_overdue:{d.id}", "high", "dispatch", d.id, region,
                           staging, clip(f"书面手续逾期：动用指令 #{d.id}（{incident}）应于 {due:%m-%d %H:%M} 前补办，"
                                         f"已逾期 {hours} 小时", 200),
                           clip(f"{d.approved_by} 口头批准；请补办书面动用指令并登记文号", 500), due.date()))
    return found


SOURCES = (
    Source("leases", ("lease_overdue", "lease_due"), leases_due),
    Source("agreements", ("agreement_expiring", "agreement_check_due"), agreements_due),
    Source("settlements", ("settlement_overdue", "settlement_due"), settlements_due),
    Source("paperwork", ("paperwork_overdue",), paperwork_overdue),
)
