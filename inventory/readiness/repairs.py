"""Repairs (送修): a unit sent to a repairer is in maintenance until it comes back repaired, available and ready.

The status changes go through :func:`inventory.stock.ledger.move_asset` (a conditional UPDATE), so a unit
taken out or reserved a moment before cannot be sent away as well; one repair away at a time per unit is
kept by a partial unique index.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.access.scope import Principal
from inventory.clock import beijing_today
from inventory.errors import Conflict, InvalidInput
from inventory.readiness.checks import STATUS_ZH, open_repair
from inventory.readiness.schemas import RepairBack, RepairCreate, RepairRead
from inventory.schemas import EARLIEST_YEAR
from inventory.stock.assets import get_asset
from inventory.stock.custody import require_unit_scope
from inventory.stock.ledger import move_asset
from inventory.store.lookup import get_or_not_found
from inventory.store.models import Asset, AssetRepair, utcnow


def _day(value: dt.date | None, today: dt.date, field: str, label: str) -> dt.date:
    day = value or today
    if day > today:
        raise InvalidInput(f"{label} {day} 晚于今天", field=field)
    if day.year < EARLIEST_YEAR:
        raise InvalidInput(f"{label} {day} 早于 {EARLIEST_YEAR} 年", field=field)
    return day


async def send_to_repair(session: AsyncSession, asset_id: int, data: RepairCreate, principal: Principal,
                         today: dt.date | None = None) -> AssetRepair:
    """Send a unit (available, or in maintenance after a damage report) to a repairer; it is in maintenance."""
    today = today or beijing_today()
    asset = await get_asset(session, asset_id)
    await require_unit_scope(session, principal, asset)
    sent = _day(data.sent_on, today, "sent_on", "送修日期")
    away = await open_repair(session, asset.id)
    if away is not None:
        raise Conflict(f"装备 {asset.serial_number} 已于 {away.sent_on} 送修（{away.vendor}），尚未返回")
    if asset.status not in ("available", "maintenance"):
        raise Conflict(f"装备 {asset.serial_number} 当前{STATUS_ZH.get(asset.status, asset.status)}，不能送修")
    repair = AssetRepair(asset_id=asset.id, vendor=data.vendor.strip(),
                         problem=(data.problem.strip() or asset.fault_note)[:300], sent_on=sent,
                         sent_by=principal.username, status_before=asset.status, cost=data.cost, created_at=utcnow())
    session.add(repair)
    try:
        await session.flush()
    except IntegrityError as exc:  # sent away by another request a moment ago
        raise Conflict(f"装备 {asset.serial_number} 已送修，尚未返回") from exc
    await move_asset(session, asset, expect_status=("available", "maintenance"), expect_location=asset.location_id,
                     status="maintenance", location_id=asset.location_id, field="asset_id")
    return repair


async def repair_back(session: AsyncSession, repair_id: int, data: RepairBack, principal: Principal,
                      today: dt.date | None = None) -> AssetRepair:
    """The unit is back, repaired: what was done and the cost are recorded; it is available and ready again."""
    today = today or beijing_today()
    repair = await get_or_not_found(session, AssetRepair, repair_id, f"送修记录 id={repair_id}")
    asset = await get_asset(session, repair.asset_id)
    await require_unit_scope(session, principal, asset)
    if repair.back_on is not None:
        raise Conflict(f"送修记录 #{repair.id} 已于 {repair.back_on} 登记返回")
    back = _day(data.back_on, today, "back_on", "返回日期")
    if back < repair.sent_on:
        raise InvalidInput(f"返回日期 {back} 早于送修日期 {repair.sent_on}", field="back_on")
    if not data.work_done.strip():
        raise InvalidInput("请写明维修内容（work_done）", field="work_done")
    now = utcnow()
    cost = data.cost if data.cost is not None else repair.cost
    done = await session.execute(
        update(AssetRepair).where(AssetRepair.id == repair.id, AssetRepair.back_on.is_(None))
        .values(back_on=back, work_done=data.work_done.strip(), cost=cost, returned_by=principal.username,
                returned_at=now)
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"送修记录 #{repair.id} 已登记返回")
    await session.refresh(repair)
    await move_asset(session, asset, expect_status=("maintenance", "available"), expect_location=asset.location_id,
                     status="available", location_id=asset.location_id, field="asset_id")
    asset.readiness, asset.fault_note, asset.updated_at = "ok", "", now
    await session.flush()
    return repair


async def repair_read(session: AsyncSession, r: AssetRepair) -> RepairRead:
    """The public view of a repair."""
    serial = await session.scalar(select(Asset.serial_number).where(Asset.id == r.asset_id))
    return RepairRead(id=r.id, asset_id=r.asset_id, serial_number=serial or "", vendor=r.vendor, problem=r.problem,
                      sent_on=r.sent_on, sent_by=r.sent_by, back_on=r.back_on, work_done=r.work_done, cost=r.cost,
                      returned_by=r.returned_by, away=r.back_on is None, created_at=r.created_at)
