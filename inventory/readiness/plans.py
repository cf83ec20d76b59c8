"""Maintenance plans (保养计划): record and list them, and keep each unit's next due date in step with them.

``assets.next_inspection_due`` is the earliest due date over the unit's tasks (see
:mod:`inventory.readiness.rules`); ``nearest`` leaves a unit out once that date has passed. It is
recomputed here whenever a plan or a check changes it. A unit without plans keeps the rule it had
before plans existed: its last inspection plus its item type's ``inspection_interval_days``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from inventory.access.scope import Principal
from inventory.catalog.service import get_item_type
from inventory.clock import beijing_today
from inventory.errors import Conflict, InvalidInput
from inventory.readiness import rules
from inventory.readiness.schemas import TASK_ZH, PlanCreate, PlanRead
from inventory.schemas import EARLIEST_YEAR, LATEST_YEAR, Page
from inventory.stock.assets import next_due as legacy_due
from inventory.store.lookup import get_or_not_found
from inventory.store.models import Asset, AssetCheck, ItemType, MaintenancePlan, utcnow

IN_THREAD = 500  # units: from this many on, the due dates are worked out off the event loop


def schedule(p: MaintenancePlan) -> rules.Schedule:
    """The rules' view of a plan."""
    return rules.Schedule(p.id, p.task, p.anchor, p.interval_days, p.interval_months, p.due_month, p.due_day,
                          p.starts_on, for_unit=p.asset_id is not None)


def schedule_zh(p: MaintenancePlan) -> str:
    """The schedule in words: 每 30 天 / 每 1 个月（自上次完成起）, 每年 4 月 1 日前."""
    if p.anchor == "calendar":
        return f"每年 {p.due_month} 月 {p.due_day} 日前"
    every = f"{p.interval_months} 个月" if p.interval_months else f"{p.interval_days} 天"
    return f"每 {every}（自上次完成起）"


def _check_schedule(data: PlanCreate) -> None:
    if data.anchor == "completion":
        if (data.interval_days is None) == (data.interval_months is None):
            raise InvalidInput("按完成日计的计划须填写间隔天数 interval_days 或间隔月数 interval_months（二者选一）",
                               field="interval_days")
        for name in ("due_month", "due_day"):
            if getattr(data, name) is not None:
                raise InvalidInput(f"按完成日计的计划不填 {name}（只有按日历 calendar 的计划填写）", field=name)
        return
    for name in ("interval_days", "interval_months"):
        if getattr(data, name) is not None:
            raise InvalidInput(f"按日历的计划每年一次，不填 {name}", field=name)
    if data.due_month is None:
        raise InvalidInput("按日历的计划须填写每年到期的月份 due_month", field="due_month")
    if data.due_day is None:
        raise InvalidInput("按日历的计划须填写每年到期的日 due_day", field="due_day")
    try:
        dt.date(2000, data.due_month, data.due_day)
    except ValueError:
        raise InvalidInput(f"{data.due_month} 月没有 {data.due_day} 日", field="due_day") from None


async def create_plan(session: AsyncSession, data: PlanCreate, principal: Principal,
                      today: dt.date | None = None) -> MaintenancePlan:
    """Record a plan; it replaces the active plan of the same target and task. The units' due dates follow."""
    if (data.item_type_id is None) == (data.asset_id is None):
        raise InvalidInput("请指定物资品目 item_type_id 或单件装备 asset_id（二者选一）", field="item_type_id")
    _check_schedule(data)
    starts = data.starts_on or today or beijing_today()
    if not EARLIEST_YEAR <= starts.year <= LATEST_YEAR:
        raise InvalidInput(f"计划开始日期 starts_on 应在 {EARLIEST_YEAR}–{LATEST_YEAR} 年之间", field="starts_on")
    if data.run_minutes is not None and data.task != "run_test":
        raise InvalidInput("只有试运行 run_test 的计划填写运行分钟数 run_minutes", field="run_minutes")
    if data.item_type_id is not None:
        it = await get_item_type(session, data.item_type_id, field="item_type_id")
        if it.tracking != "serial":
            raise InvalidInput(f"{it.name} 按数量管理，保养计划只适用于单件装备", field="item_type_id")
        same = MaintenancePlan.item_type_id == it.id
    else:
        assert data.asset_id is not None
        await get_or_not_found(session, Asset, data.asset_id, f"装备 id={data.asset_id}", input_field="asset_id")
        same = MaintenancePlan.asset_id == data.asset_id
    previous = await session.scalar(select(MaintenancePlan).where(same, MaintenancePlan.task == data.task,
                                                                  MaintenancePlan.active.is_(True)).with_for_update())
    if previous is not None:
        previous.active = False
        await session.flush()
    plan = MaintenancePlan(
        item_type_id=data.item_type_id, asset_id=data.asset_id, task=data.task, title=data.title.strip(),
        anchor=data.anchor, interval_days=data.interval_days, interval_months=data.interval_months,
        due_month=data.due_month, due_day=data.due_day, starts_on=starts, run_minutes=data.run_minutes,
        load_pct=data.load_pct, instructions=data.instructions.strip(), active=True, created_by=principal.username,
        created_at=utcnow())
    session.add(plan)
    try:
        await session.flush()
    except IntegrityError as exc:  # another plan for the same target and task at the same moment
        raise Conflict(f"同一{TASK_ZH[data.task]}计划正在被另一请求更换，请稍后重试", field="task") from exc
    if previous is not None:
        previous.replaced_by_id = plan.id
    if data.item_type_id is not None:
        await refresh_due(session, Asset.item_type_id == data.item_type_id)
    else:
        await refresh_due(session, Asset.id == data.asset_id)
    await session.flush()
    return plan


async def plan_read(session: AsyncSession, p: MaintenancePlan) -> PlanRead:
    """The public view of a plan."""
    item_name = serial = None
    if p.item_type_id is not None:
        item_name = await session.scalar(select(ItemType.name).where(ItemType.id == p.item_type_id))
    if p.asset_id is not None:
        serial = await session.scalar(select(Asset.serial_number).where(Asset.id == p.asset_id))
    replaces = await session.scalar(select(MaintenancePlan.id).where(MaintenancePlan.replaced_by_id == p.id))
    return PlanRead(
        id=p.id, item_type_id=p.item_type_id, item_name=item_name, asset_id=p.asset_id, serial_number=serial,
        task=p.task, task_zh=TASK_ZH[p.task], title=p.title, anchor=p.anchor,  # type: ignore[arg-type]
        interval_days=p.interval_days, interval_months=p.interval_months, due_month=p.due_month,
        due_day=p.due_day, schedule_zh=schedule_zh(p), starts_on=p.starts_on, run_minutes=p.run_minutes,
        load_pct=p.load_pct, instructions=p.instructions, active=p.active, replaced_by_id=p.replaced_by_id,
        replaces_id=replaces, created_by=p.created_by, created_at=p.created_at)


async def list_plans(session: AsyncSession, *, item_type_id: int | None, asset_id: int | None, task: str | None,
                     active: bool | None, limit: int, offset: int) -> Page[PlanRead]:
    """Plans, newest first; ``asset_id`` also lists the plans of the unit's item type (what applies to it)."""
    stmt = select(MaintenancePlan)
    if item_type_id is not None:
        stmt = stmt.where(MaintenancePlan.item_type_id == item_type_id)
    if asset_id is not None:
        unit_type = select(Asset.item_type_id).where(Asset.id == asset_id).scalar_subquery()
        stmt = stmt.where((MaintenancePlan.asset_id == asset_id) | (MaintenancePlan.item_type_id == unit_type))
    if task is not None:
        stmt = stmt.where(MaintenancePlan.task == task)
    if active is not None:
        stmt = stmt.where(MaintenancePlan.active.is_(active))
    total = int(await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = list(await session.scalars(stmt.order_by(MaintenancePlan.id.desc()).limit(limit).offset(offset)))
    return Page(items=[await plan_read(session, p) for p in rows], total=total, limit=limit, offset=offset)


async def unit_schedules(session: AsyncSession, units: ColumnElement[bool]) -> dict[int, list[rules.Schedule]]:
    """The plans that apply to each unit matching ``units`` (a condition on ``Asset``), by asset id."""
    kinds = select(Asset.item_type_id).where(units).distinct()
    by_item: dict[int, list[rules.Schedule]] = defaultdict(list)
    for p in await session.scalars(select(MaintenancePlan).where(MaintenancePlan.active.is_(True),
                                                                 MaintenancePlan.item_type_id.in_(kinds))):
        assert p.item_type_id is not None
        by_item[p.item_type_id].append(schedule(p))
    by_unit: dict[int, list[rules.Schedule]] = defaultdict(list)
    own = (select(MaintenancePlan).join(Asset, Asset.id == MaintenancePlan.asset_id)
           .where(MaintenancePlan.active.is_(True), units))
    for p in await session.scalars(own):
        assert p.asset_id is not None
        by_unit[p.asset_id].append(schedule(p))
    pairs = await session.execute(select(Asset.id, Asset.item_type_id).where(units))
    return {a: rules.effective(by_item.get(it, []), by_unit.get(a, [])) for a, it in pairs
            if a in by_unit or it in by_item}


async def last_done(session: AsyncSession, units: ColumnElement[bool]) -> dict[int, dict[str, dt.date]]:
    """When each task was last done on each unit matching ``units`` (the Beijing date of its latest check)."""
    rows = await session.execute(
        select(AssetCheck.asset_id, AssetCheck.task, func.max(AssetCheck.performed_at))
        .join(Asset, Asset.id == AssetCheck.asset_id).where(units).group_by(AssetCheck.asset_id, AssetCheck.task))
    done: dict[int, dict[str, dt.date]] = defaultdict(dict)
    for asset_id, task, at in rows:
        done[asset_id][task] = rules.local_day(at)
    return done


def _new_dues(units: Sequence[Any], plans: dict[int, list[rules.Schedule]],
              done: dict[int, dict[str, dt.date]]) -> list[dict[str, Any]]:
    """(id, next due) of the units whose due date changes: from their plans, or without plans the old rule."""
    changes = []
    for asset_id, created_at, last_inspected, current, interval in units:
        if asset_id in plans:
            due = rules.earliest_due(plans[asset_id], done.get(asset_id, {}), rules.local_day(created_at))
        else:
            due = legacy_due(last_inspected, interval)
        if due != current:
            changes.append({"id": asset_id, "next_inspection_due": due})
    return changes


async def refresh_due(session: AsyncSession, units: ColumnElement[bool]) -> int:
    """Recompute ``next_inspection_due`` of the units matching ``units``; how many changed.

    On SQLite each changed unit also rewrites its site's ``site_stock`` rows (the triggers): a plan for
    an item type with many units is a heavy write, as it should be rare.
    """
    plans = await unit_schedules(session, units)
    done = await last_done(session, units)
    rows = (await session.execute(
        select(Asset.id, Asset.created_at, Asset.last_inspected_at, Asset.next_inspection_due,
               ItemType.inspection_interval_days).join(ItemType, ItemType.id == Asset.item_type_id)
        .where(units))).all()
    if len(rows) >= IN_THREAD:
        changes = await asyncio.to_thread(_new_dues, rows, plans, done)
    else:
        changes = _new_dues(rows, plans, done)
    if changes:
        await session.execute(update(Asset), changes)
        due = {c["id"]: c["next_inspection_due"] for c in changes}
        for obj in list(session.identity_map.values()):  # units loaded before see the new dates
            if isinstance(obj, Asset) and obj.id in due:
                set_committed_value(obj, "next_inspection_due", due[obj.id])
    return len(changes)
