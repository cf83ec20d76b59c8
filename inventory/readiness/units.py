"""A unit's readiness for people: its state with the reason in Chinese, its tasks and when each falls due.

Built for a handful of units at a time (a page of the readiness report, one scanned unit): the plans and
last checks of exactly those units are read, so the cost follows the page, not the stock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.clock import beijing_today
from inventory.readiness import rules
from inventory.readiness.plans import last_done, unit_schedules
from inventory.readiness.schemas import STATE_ZH, TASK_STATE_ZH, TASK_ZH, TaskDueRead, UnitReadiness
from inventory.store.models import Asset, AssetRepair, ItemType, Location, MaintenancePlan


def _days(n: int) -> str:
    return "今天" if n == 0 else f"{n} 天"


def reason(state: rules.State, asset: Asset, tasks: Sequence[rules.TaskDue], repair: AssetRepair | None,
           today: dt.date) -> str:
    """Why the unit is in its state, in Chinese."""
    if state == "in_maintenance":
        if repair is not None:
            why = f"（{repair.problem}）" if repair.problem else ""
            return f"送修中：{repair.vendor}，{repair.sent_on} 送出{why}"
        return f"维修保养中：{asset.fault_note or '未填写原因'}"
    if state == "fault":
        note = asset.fault_note or "未填写说明"
        return note if note.startswith("未就绪") else f"故障：{note}"
    due = asset.next_inspection_due
    if state == "overdue":
        late = [t for t in tasks if t.state == "overdue"]
        if late:
            return "；".join(f"{TASK_ZH[t.schedule.task]}逾期 {(today - t.due).days} 天（应于 {t.due} 前完成）"
                            for t in late)
        assert due is not None
        return f"检查逾期 {(today - due).days} 天（应于 {due} 前检查）"
    if state == "due_soon":
        soon = [t for t in tasks if t.state == "due_soon"]
        if soon:
            return "；".join(f"{TASK_ZH[t.schedule.task]}将于 {t.due} 到期（还有 {_days((t.due - today).days)}）"
                            for t in soon)
        assert due is not None
        return f"检查将于 {due} 到期（还有 {_days((due - today).days)}）"
    return f"完好，下次检查 {due}" if due else "完好"


async def _plans_by_id(session: AsyncSession, ids: set[int]) -> dict[int, MaintenancePlan]:
    if not ids:
        return {}
    return {p.id: p for p in await session.scalars(select(MaintenancePlan).where(MaintenancePlan.id.in_(ids)))}


def task_read(t: rules.TaskDue, plan: MaintenancePlan) -> TaskDueRead:
    """The public view of one task of a unit."""
    return TaskDueRead(plan_id=plan.id, task=plan.task, task_zh=TASK_ZH[plan.task],  # type: ignore[arg-type]
                       title=plan.title, own_plan=plan.asset_id is not None, last_done=t.last_done, due=t.due,
                       state=t.state, state_zh=TASK_STATE_ZH[t.state], run_minutes=plan.run_minutes,
                       load_pct=plan.load_pct, instructions=plan.instructions)


async def units_readiness(session: AsyncSession, asset_ids: Sequence[int],
                          today: dt.date | None = None) -> list[UnitReadiness]:
    """The readiness of these units, in the order given (unknown ids left out)."""
    today = today or beijing_today()
    if not asset_ids:
        return []
    ids = list(dict.fromkeys(asset_ids))
    units = Asset.id.in_(ids)
    rows = {a.id: (a, it, loc) for a, it, loc in (await session.execute(
        select(Asset, ItemType, Location).join(ItemType, ItemType.id == Asset.item_type_id)
        .outerjoin(Location, Location.id == Asset.location_id).where(units))).all()}
    schedules = await unit_schedules(session, units)
    done = await last_done(session, units)
    repairs = {r.asset_id: r for r in await session.scalars(
        select(AssetRepair).where(AssetRepair.asset_id.in_(ids), AssetRepair.back_on.is_(None)))}
    plans = await _plans_by_id(session, {s.plan_id for ss in schedules.values() for s in ss})
    out = []
    for asset_id in ids:
        if asset_id not in rows:
            continue
        a, it, loc = rows[asset_id]
        tasks = rules.task_dues(schedules.get(a.id, []), done.get(a.id, {}), rules.local_day(a.created_at), today)
        state = rules.unit_state(a.status, a.readiness, a.next_inspection_due, today)
        out.append(UnitReadiness(
            asset_id=a.id, serial_number=a.serial_number, label_code=a.label_code, item_type_id=it.id,
            item_code=it.code, item_name=it.name, category=it.category, location_id=a.location_id,
            location_name=loc.name if loc else None, region_code=loc.region_code if loc else None, status=a.status,
            state=state, state_zh=STATE_ZH[state], reason=reason(state, a, tasks, repairs.get(a.id), today),
            next_due=a.next_inspection_due, last_checked_at=a.last_inspected_at,
            tasks=[task_read(t, plans[t.schedule.plan_id]) for t in tasks]))
    return out
