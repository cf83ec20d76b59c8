"""Readiness rules with no I/O: when a task falls due, which plans apply to a unit, and the unit's derived state.

A unit's state, most serious first: ``in_maintenance`` (status maintenance: damaged, or away at a repairer),
``fault`` (the last check found a fault or the unit not ready, and no later good check or repair since),
``overdue`` (a task's due date has passed), ``due_soon`` (a task falls due within :data:`DUE_SOON_DAYS`),
``ready``. ``nearest`` counts units that are ``ready`` or ``due_soon`` (and available): it reads the same
``assets`` columns (readiness, next_inspection_due, status) that :func:`unit_state` reads.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from inventory.clock import BEIJING

LOCAL = BEIJING  # inventory.clock
"""Days are counted in Beijing time: a check at 23:30 on the 5th is done on the 5th."""
DUE_SOON_DAYS = 7
CALENDAR_WINDOW_DAYS = 90
"""A calendar task (every year on a date) done up to this many days before the date counts for that year."""

State = Literal["ready", "due_soon", "overdue", "fault", "in_maintenance"]
STATES: tuple[State, ...] = ("in_maintenance", "fault", "overdue", "due_soon", "ready")  # most serious first
NOT_READY: tuple[State, ...] = ("in_maintenance", "fault", "overdue")


@dataclass(frozen=True)
class Schedule:
    """How often a plan's task falls due (the parts of a plan the rules need)."""

    plan_id: int
    task: str
    anchor: str  # completion | calendar
    interval_days: int | None
    interval_months: int | None
    due_month: int | None
    due_day: int | None
    starts_on: dt.date
    for_unit: bool = False  # a unit's own plan (an override of its item type's plan for this task)


def local_day(when: dt.datetime) -> dt.date:
    """The Beijing date of a time (a naive time is taken as UTC, as the database keeps it)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(LOCAL).date()


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later, or the month's last day when it has none (31 Jan + 1 month → 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def yearly_on_or_after(month: int, day: int, since: dt.date) -> dt.date:
    """The first ``month``/``day`` on or after ``since`` (29 Feb falls on 28 Feb in other years)."""
    for year in (since.year, since.year + 1):
        found = dt.date(year, month, min(day, calendar.monthrange(year, month)[1]))
        if found >= since:
            return found
    raise AssertionError("unreachable: a date recurs within a year")


def next_due(s: Schedule, last_done: dt.date | None, registered: dt.date) -> dt.date:
    """When the task is next due, given when it was last done and when the unit was registered.

    The duty begins at the later of the plan's start and the unit's registration: a new plan (or a new
    unit) gets one interval before its first due date, however long ago the task was last done.
    """
    since = max(s.starts_on, registered)
    if s.anchor == "calendar":
        assert s.due_month is not None and s.due_day is not None
        if last_done is None or last_done < since:
            return yearly_on_or_after(s.due_month, s.due_day, since)
        this_year = yearly_on_or_after(s.due_month, s.due_day, last_done)
        if (this_year - last_done).days <= CALENDAR_WINDOW_DAYS:  # done for this year's date: next year's
            return yearly_on_or_after(s.due_month, s.due_day, this_year + dt.timedelta(days=1))
        return this_year
    base = max(last_done, since) if last_done is not None else since
    if s.interval_months is not None:
        return add_months(base, s.interval_months)
    assert s.interval_days is not None
    return base + dt.timedelta(days=s.interval_days)


def effective(item_plans: Iterable[Schedule], unit_plans: Iterable[Schedule]) -> list[Schedule]:
    """The plans that apply to a unit: its item type's, each replaced by the unit's own plan for the same task."""
    by_task = {s.task: s for s in item_plans}
    by_task.update({s.task: s for s in unit_plans})
    return sorted(by_task.values(), key=lambda s: s.task)


@dataclass(frozen=True)
class TaskDue:
    """One task of a unit: the plan, when it was last done, when it is next due and how that stands today."""

    schedule: Schedule
    last_done: dt.date | None
    due: dt.date
    state: Literal["ok", "due_soon", "overdue"]


def task_state(due: dt.date, today: dt.date) -> Literal["ok", "due_soon", "overdue"]:
    """``overdue`` after the due date, ``due_soon`` within :data:`DUE_SOON_DAYS` of it, else ``ok``."""
    if due < today:
        return "overdue"
    return "due_soon" if (due - today).days <= DUE_SOON_DAYS else "ok"


def task_dues(plans: Iterable[Schedule], last_done: Mapping[str, dt.date], registered: dt.date,
              today: dt.date) -> list[TaskDue]:
    """Every task of a unit, the soonest due first."""
    dues = []
    for s in plans:
        due = next_due(s, last_done.get(s.task), registered)
        dues.append(TaskDue(s, last_done.get(s.task), due, task_state(due, today)))
    return sorted(dues, key=lambda d: (d.due, d.schedule.task))


def earliest_due(plans: Iterable[Schedule], last_done: Mapping[str, dt.date],
                 registered: dt.date) -> dt.date | None:
    """The unit's next inspection date: the earliest due date over its tasks (None without plans)."""
    return min((next_due(s, last_done.get(s.task), registered) for s in plans), default=None)


def unit_state(status: str, readiness: str, next_due_on: dt.date | None, today: dt.date) -> State:
    """The derived state of a unit from the columns ``nearest`` reads too (see the module docstring)."""
    if status == "maintenance":
        return "in_maintenance"
    if readiness == "fault":
        return "fault"
    if next_due_on is None:
        return "ready"
    state = task_state(next_due_on, today)
    return "ready" if state == "ok" else state


def check_window(performed: dt.datetime, now: dt.datetime, *, slack: dt.timedelta = dt.timedelta(minutes=5)) -> bool:
    """True unless a check's time lies in the future (a phone's clock a few minutes ahead is allowed)."""
    return performed <= now + slack
