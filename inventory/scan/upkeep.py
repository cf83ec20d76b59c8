"""What a scanned unit's page shows of its upkeep: its state, the tasks falling due, its last checks, and the
one-tap checks offered for the tasks due."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from inventory.readiness.checks import list_checks
from inventory.readiness.schemas import TASK_ZH, CheckRead, TaskDueRead, UnitReadiness
from inventory.readiness.units import units_readiness

LAST_CHECKS = 5
QUICK_TASKS = 3  # one-tap "done, all well" buttons for the tasks due soonest


@dataclass(frozen=True)
class QuickCheck:
    """A one-tap check: the task done and found well, with the plan's run minutes and load for a run test."""

    task: str
    label: str
    run_minutes: int | None = None
    load_pct: int | None = None


@dataclass
class Upkeep:
    """The upkeep part of a unit's scan page."""

    unit: UnitReadiness | None = None
    last_checks: list[CheckRead] = field(default_factory=list)
    quick: list[QuickCheck] = field(default_factory=list)
    first_task: str = "visual_check"  # preselected in the check form: the task due soonest
    run_minutes: int | None = None  # prefilled when that task is a run test with a planned length
    load_pct: int | None = None
    tasks_zh: dict[str, str] = field(default_factory=lambda: dict(TASK_ZH))


def readings_zh(c: CheckRead) -> str:
    """A check's readings in a few words: 电量 80%，油量 60%，运行 30 分钟（负载 35%）."""
    parts = []
    if c.battery_pct is not None:
        parts.append(f"电量 {c.battery_pct}%")
    if c.battery_voltage is not None:
        parts.append(f"电压 {c.battery_voltage:g} V")
    if c.fuel_pct is not None:
        parts.append(f"油量 {c.fuel_pct}%")
    if c.run_minutes is not None:
        parts.append(f"运行 {c.run_minutes} 分钟" + (f"（负载 {c.load_pct}%）" if c.load_pct is not None else ""))
    if c.fault_description:
        parts.append(c.fault_description)
    return "，".join(parts)


def _quick(t: TaskDueRead) -> QuickCheck | None:
    if t.task == "run_test":
        if t.run_minutes is None:
            return None  # the minutes are the point of a run test: the form asks for them
        load = f"，负载 {t.load_pct}%" if t.load_pct is not None else ""
        return QuickCheck(t.task, f"{t.task_zh}正常（{t.run_minutes} 分钟{load}）", t.run_minutes, t.load_pct)
    return QuickCheck(t.task, f"{t.task_zh}正常")


async def unit_upkeep(session: AsyncSession, asset_id: int, today: dt.date | None = None) -> Upkeep:
    """The unit's readiness, tasks and last checks for its scan page."""
    found = await units_readiness(session, [asset_id], today)
    if not found:
        return Upkeep()
    unit = found[0]
    due = [t for t in unit.tasks if t.state != "ok"]
    quick = [q for t in due[:QUICK_TASKS] if (q := _quick(t)) is not None]
    first = unit.tasks[0] if unit.tasks else None
    run = first is not None and first.task == "run_test"
    return Upkeep(unit=unit, last_checks=(await list_checks(session, asset_id, limit=LAST_CHECKS)).items,
                  quick=quick, first_task=first.task if first else "visual_check",
                  run_minutes=first.run_minutes if run and first else None,
                  load_pct=first.load_pct if run and first else None)
