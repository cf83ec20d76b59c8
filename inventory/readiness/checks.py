"""Check records (检查记录): append-only; the latest one decides whether a unit is fit, the plans when it is next due.

A check found at fault (``fault``) or not ready (``not_ready``: a flat battery, no fuel) makes the unit not
ready — ``assets.readiness`` 'fault', which ``nearest`` leaves out — until a later good check or a repair
record. "Later" is by when the check was done, not when it was recorded: a check entered afterwards with
an earlier time adds to the history and the schedule but does not overturn a newer finding.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.access.scope import Principal
from inventory.errors import Conflict, InvalidInput
from inventory.readiness import rules
from inventory.readiness.plans import refresh_due
from inventory.readiness.schemas import RESULT_ZH, TASK_ZH, CheckCreate, CheckRead
from inventory.schemas import Page
from inventory.stock.assets import get_asset
from inventory.stock.custody import require_unit_scope
from inventory.stock.ledger import move_asset
from inventory.store.models import Asset, AssetCheck, AssetRepair, utcnow

HELD = ("available", "reserved", "maintenance")
"""Units at a place of ours: the ones checked, and counted by the readiness report."""
STATUS_ZH = {"reserved": "已预留", "deployed": "已出库使用", "in_transit": "调拨在途", "leased_out": "已借出",
             "lost": "丢失", "retired": "已报废"}


def _percent(value: int | None, field: str, label: str) -> None:
    if value is not None and not 0 <= value <= 100:
        raise InvalidInput(f"{label}须在 0–100 之间（收到 {value}）", field=field)


def _validate(data: CheckCreate, when: dt.datetime, now: dt.datetime) -> None:
    """The rules a check must meet beyond its shape (the phone form builds one without the API's validation)."""
    if data.task not in TASK_ZH:
        raise InvalidInput(f"未知的检查项目 {data.task}", field="task")
    if data.result not in RESULT_ZH:
        raise InvalidInput(f"未知的检查结果 {data.result}（应为正常、有故障或未就绪）", field="result")
    if not rules.check_window(when, now):
        raise InvalidInput(f"检查时间 {when.astimezone(rules.LOCAL):%Y-%m-%d %H:%M} 晚于当前时间", field="performed_at")
    _percent(data.battery_pct, "battery_pct", "电量")
    _percent(data.fuel_pct, "fuel_pct", "油量")
    _percent(data.load_pct, "load_pct", "负载")
    if data.run_minutes is not None and not 1 <= data.run_minutes <= 1440:
        raise InvalidInput(f"运行分钟数须在 1–1440 之间（收到 {data.run_minutes}）", field="run_minutes")
    if data.battery_voltage is not None and not 0 < data.battery_voltage <= 1000:
        raise InvalidInput(f"电池电压须大于 0、不超过 1000 V（收到 {data.battery_voltage}）", field="battery_voltage")
    if data.task == "run_test" and data.run_minutes is None:
        raise InvalidInput("试运行须填写运行分钟数（run_minutes）", field="run_minutes")
    if data.result != "ok" and not data.fault_description.strip():
        raise InvalidInput(f"检查结果为“{RESULT_ZH[data.result]}”时，须写明情况（fault_description）",
                           field="fault_description")


async def latest_condition(session: AsyncSession, asset_id: int) -> dt.datetime | None:
    """When the unit's condition was last established: its latest check, or a repair's return."""
    checked = await session.scalar(select(func.max(AssetCheck.performed_at)).where(AssetCheck.asset_id == asset_id))
    repaired = await session.scalar(select(func.max(AssetRepair.returned_at)).where(AssetRepair.asset_id == asset_id))
    return max((t for t in (checked, repaired) if t is not None), default=None)


async def open_repair(session: AsyncSession, asset_id: int) -> AssetRepair | None:
    """The repair the unit is away on, if any."""
    found: AssetRepair | None = await session.scalar(
        select(AssetRepair).where(AssetRepair.asset_id == asset_id, AssetRepair.back_on.is_(None)))
    return found


async def checkable_unit(session: AsyncSession, asset_id: int, principal: Principal) -> Asset:
    """The unit, if the user may check it (scope) and it can be checked (held by us, not away at a repairer)."""
    asset = await get_asset(session, asset_id)
    await require_unit_scope(session, principal, asset)
    if asset.status not in HELD:
        raise Conflict(f"装备 {asset.serial_number} 当前{STATUS_ZH.get(asset.status, asset.status)}，不在库，"
                       "不能记录检查")
    away = await open_repair(session, asset.id)
    if away is not None:
        raise Conflict(f"装备 {asset.serial_number} 已于 {away.sent_on} 送修（{away.vendor}），请先登记修复返回")
    return asset


async def record_check(session: AsyncSession, asset_id: int, data: CheckCreate, principal: Principal,
                       now: dt.datetime | None = None) -> AssetCheck:
    """Record a check; if it is the unit's latest, it sets the unit fit or not; the plans set its next due date."""
    now = now or utcnow()
    asset = await checkable_unit(session, asset_id, principal)
    when = data.performed_at or now
    if when.tzinfo is None:
        when = when.replace(tzinfo=rules.LOCAL)  # a phone in China sends local time
    _validate(data, when, now)
    when = when.astimezone(dt.UTC)  # as stored, so the answer reads the same as a later GET
    newest = await latest_condition(session, asset.id)
    check = AssetCheck(
        asset_id=asset.id, task=data.task, performed_at=when,
        performed_by=data.performed_by.strip() or principal.display_name or principal.username, result=data.result,
        battery_pct=data.battery_pct, battery_voltage=data.battery_voltage, fuel_pct=data.fuel_pct,
        run_minutes=data.run_minutes, load_pct=data.load_pct, fault_description=data.fault_description.strip(),
        notes=data.notes.strip(), recorded_by=principal.username, created_at=now)
    session.add(check)
    back_in_service = False
    if newest is None or when >= newest:
        ok = data.result == "ok"
        asset.readiness = "ok" if ok else "fault"
        prefix = "未就绪：" if data.result == "not_ready" else ""
        asset.fault_note = "" if ok else (prefix + data.fault_description.strip())[:200]
        asset.battery_pct = data.battery_pct if data.battery_pct is not None else asset.battery_pct
        asset.fuel_pct = data.fuel_pct if data.fuel_pct is not None else asset.fuel_pct
        back_in_service = ok and asset.status == "maintenance"
    if asset.last_inspected_at is None or when > asset.last_inspected_at:
        asset.last_inspected_at = when
    asset.updated_at = now
    await session.flush()
    if back_in_service:  # found fit after being reported damaged: available again
        await move_asset(session, asset, expect_status=("maintenance",), expect_location=asset.location_id,
                         status="available", location_id=asset.location_id, field="asset_id")
    await refresh_due(session, Asset.id == asset.id)
    return check


def check_read(c: AssetCheck) -> CheckRead:
    """The public view of a check."""
    return CheckRead(
        id=c.id, asset_id=c.asset_id, task=c.task, task_zh=TASK_ZH[c.task],  # type: ignore[arg-type]
        result=c.result, result_zh=RESULT_ZH[c.result], performed_at=c.performed_at,  # type: ignore[arg-type]
        performed_by=c.performed_by, battery_pct=c.battery_pct, battery_voltage=c.battery_voltage,
        fuel_pct=c.fuel_pct, run_minutes=c.run_minutes, load_pct=c.load_pct, fault_description=c.fault_description,
        notes=c.notes, recorded_by=c.recorded_by, created_at=c.created_at)


async def list_checks(session: AsyncSession, asset_id: int, *, task: str | None = None, limit: int = 50,
                      offset: int = 0) -> Page[CheckRead]:
    """The unit's checks, the latest done first."""
    await get_asset(session, asset_id)
    stmt = select(AssetCheck).where(AssetCheck.asset_id == asset_id)
    if task is not None:
        stmt = stmt.where(AssetCheck.task == task)
    total = int(await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = await session.scalars(stmt.order_by(AssetCheck.performed_at.desc(), AssetCheck.id.desc())
                                 .limit(limit).offset(offset))
    return Page(items=[check_read(c) for c in rows], total=total, limit=limit, offset=offset)
