"""The demo's leases (租赁、借用): a pump leased in from a 泵业 firm, a boat lent to a neighbouring county, and
tents lent to a county Red Cross that are overdue — so /leases, the scan page and the fee totals have content."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.access.scope import Principal
from inventory.clock import beijing_today
from inventory.leases.schemas import LeaseCreate, LeaseLineCreate
from inventory.leases.service import create_lease, hand_over
from inventory.stock.documents import CHINA
from inventory.store.models import Asset, ItemType, Lease, Location

KEEPER = Principal(user_id=0, username="demo-keeper", display_name="演示保管员", role="admin", scope_regions=(),
                   scope_locations=(), token_id=0)
PREFIX = "DEMO-ZJ-"


async def _ids(session: AsyncSession, depot: str, item: str) -> tuple[int | None, int | None]:
    loc = await session.scalar(select(Location.id).where(Location.code == depot))
    it = await session.scalar(select(ItemType.id).where(ItemType.code == item))
    return loc, it


async def ensure_demo_leases(session: AsyncSession) -> tuple[int, int]:
    """Make the three demo leases unless the demo made them before; (created, skipped)."""
    if await session.scalar(select(Lease.id).where(Lease.agreement_number.startswith(PREFIX))):
        return 0, 3
    today = beijing_today()
    made = 0
    # A pump leased in for the flood season from a pump maker, paid per day, at 安义县's depot.
    depot, pump = await _ids(session, "D-360123", "PUMP-SUB-400")
    if depot and pump:
        made += await _make(session, LeaseCreate(
            direction="in", counterparty="江西洪都泵业有限公司", counterparty_kind="firm", contact_name="陈经理",
            contact_phone="0791-88123456", agreement_number=f"{PREFIX}2026-001", location_id=depot,
            start_date=today - dt.timedelta(days=12), due_date=today + dt.timedelta(days=48), fee_basis="per_day",
            rate=350, deposit=20000, notes="汛期租赁大流量潜水泵",
            lines=[LeaseLineCreate(item_type_id=pump, serial_number="HD-ZL400-0815",
                                   condition_out="完好，随机附件齐全")]))
    # A boat lent free of charge to a neighbouring county (东乡区, 抚州市) from 进贤县's depot.
    depot, boat = await _ids(session, "D-360124", "BOAT-ASL-12")
    unit = await session.scalar(select(Asset.id).where(Asset.location_id == depot, Asset.item_type_id == boat,
                                                       Asset.status == "available").order_by(Asset.id).limit(1))
    if depot and boat and unit:
        made += await _make(session, LeaseCreate(
            direction="out", counterparty="抚州市东乡区应急管理局", contact_name="吴科长", contact_phone="0794-4321000",
            agreement_number=f"{PREFIX}2026-002", location_id=depot, start_date=today - dt.timedelta(days=3),
            due_date=today + dt.timedelta(days=11), fee_basis="free", notes="跨区域支援借用",
            lines=[LeaseLineCreate(item_type_id=boat, asset_id=unit, condition_out="完好")]))
    # Tents lent to a county Red Cross: past due, 10 days overdue.
    depot, tent = await _ids(session, "D-360112", "TENT-12")
    if depot and tent:
        made += await _make(session, LeaseCreate(
            direction="out", counterparty="新建区红十字会", contact_name="熊干事", contact_phone="0791-83771234",
            agreement_number=f"{PREFIX}2026-003", location_id=depot, start_date=today - dt.timedelta(days=40),
            due_date=today - dt.timedelta(days=10), fee_basis="per_day", rate=5, notes="安置点临时借用",
            lines=[LeaseLineCreate(item_type_id=tent, quantity=10, condition_out="完好")]))
    return made, 3 - made


async def _make(session: AsyncSession, data: LeaseCreate) -> int:
    lease = await create_lease(session, data, KEEPER)
    await hand_over(session, lease.id, KEEPER)
    # The goods changed hands on the start date (the demo is loaded today).
    lease.out_at = dt.datetime.combine(data.start_date, dt.time(9, 0), CHINA)
    await session.flush()
    return 1
