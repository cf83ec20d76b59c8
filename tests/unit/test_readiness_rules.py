"""The readiness rules without a database: due dates by interval or calendar, overrides, derived state."""

from __future__ import annotations

import datetime as dt

import pytest

from inventory.readiness import rules

D = dt.date
NEW_YEAR = D(2027, 1, 1)


def plan(task: str = "run_test", *, days: int | None = None, months: int | None = None,
         month: int | None = None, day: int | None = None, starts: D = NEW_YEAR, plan_id: int = 1,
         for_unit: bool = False) -> rules.Schedule:
    anchor = "calendar" if month else "completion"
    return rules.Schedule(plan_id, task, anchor, days, months, month, day, starts, for_unit)


@pytest.mark.parametrize(("start", "months", "expected"), [
    (D(2027, 1, 31), 1, D(2027, 2, 28)), (D(2028, 1, 31), 1, D(2028, 2, 29)), (D(2027, 11, 15), 3, D(2028, 2, 15)),
    (D(2027, 5, 10), 12, D(2028, 5, 10)), (D(2027, 8, 31), 1, D(2027, 9, 30)),
])
def test_add_months_keeps_the_day_or_takes_the_months_last(start: D, months: int, expected: D) -> None:
    assert rules.add_months(start, months) == expected


def test_a_completion_plan_falls_due_one_interval_after_the_task_was_last_done() -> None:
    monthly = plan(months=1)
    assert rules.next_due(monthly, D(2027, 3, 10), D(2026, 6, 1)) == D(2027, 4, 10)
    assert rules.next_due(plan(days=30), D(2027, 3, 10), D(2026, 6, 1)) == D(2027, 4, 9)


def test_a_new_plan_or_a_new_unit_gets_one_interval_before_its_first_due_date() -> None:
    monthly = plan(months=1, starts=D(2027, 1, 1))
    assert rules.next_due(monthly, None, D(2026, 6, 1)) == D(2027, 2, 1)  # never done: from the plan's start
    assert rules.next_due(monthly, D(2026, 11, 1), D(2026, 6, 1)) == D(2027, 2, 1)  # done before the plan began
    assert rules.next_due(monthly, None, D(2027, 3, 5)) == D(2027, 4, 5)  # a unit registered later: from then


def test_a_calendar_plan_falls_due_every_year_on_its_date_and_a_check_shortly_before_counts_for_it() -> None:
    flood = plan("pre_flood_check", month=4, day=1, starts=D(2027, 1, 1))
    assert rules.next_due(flood, None, D(2026, 1, 1)) == D(2027, 4, 1)
    assert rules.next_due(flood, D(2027, 3, 1), D(2026, 1, 1)) == D(2028, 4, 1)  # done in March: this year's
    assert rules.next_due(flood, D(2027, 4, 1), D(2026, 1, 1)) == D(2028, 4, 1)  # on the day
    assert rules.next_due(flood, D(2027, 4, 20), D(2026, 1, 1)) == D(2028, 4, 1)  # late, for this year
    too_early = D(2027, 4, 1) - dt.timedelta(days=rules.CALENDAR_WINDOW_DAYS + 1)
    assert rules.next_due(flood, too_early, D(2026, 1, 1)) == D(2027, 4, 1)  # last autumn's does not count
    leap = plan("annual_service", month=2, day=29, starts=D(2027, 1, 1))
    assert rules.next_due(leap, None, D(2026, 1, 1)) == D(2027, 2, 28)


def test_a_units_own_plan_replaces_its_item_types_plan_for_that_task_only() -> None:
    item = [plan("run_test", months=1, plan_id=1), plan("battery_charge", days=14, plan_id=2)]
    own = [plan("run_test", days=7, plan_id=3, for_unit=True), plan("visual_check", days=90, plan_id=4,
                                                                   for_unit=True)]
    chosen = {s.task: s.plan_id for s in rules.effective(item, own)}
    assert chosen == {"run_test": 3, "battery_charge": 2, "visual_check": 4}


def test_the_unit_is_due_at_its_earliest_task_and_its_tasks_are_listed_soonest_first() -> None:
    plans = [plan("run_test", months=1, plan_id=1), plan("battery_charge", days=14, plan_id=2)]
    done = {"run_test": D(2027, 3, 1), "battery_charge": D(2027, 3, 10)}
    assert rules.earliest_due(plans, done, D(2026, 1, 1)) == D(2027, 3, 24)
    tasks = rules.task_dues(plans, done, D(2026, 1, 1), today=D(2027, 3, 28))
    assert [(t.schedule.task, t.due, t.state) for t in tasks] == [
        ("battery_charge", D(2027, 3, 24), "overdue"), ("run_test", D(2027, 4, 1), "due_soon")]
    assert rules.earliest_due([], done, D(2026, 1, 1)) is None


@pytest.mark.parametrize(("status", "readiness", "due", "expected"), [
    ("maintenance", "fault", D(2027, 1, 1), "in_maintenance"),
    ("available", "fault", None, "fault"),
    ("available", "ok", D(2027, 3, 9), "overdue"),
    ("available", "unknown", D(2027, 3, 10), "due_soon"),
    ("available", "ok", D(2027, 3, 17), "due_soon"),
    ("reserved", "ok", D(2027, 3, 18), "ready"),
    ("available", "unknown", None, "ready"),
])
def test_the_derived_state_takes_the_most_serious_condition(status: str, readiness: str, due: D | None,
                                                            expected: str) -> None:
    assert rules.unit_state(status, readiness, due, D(2027, 3, 10)) == expected


def test_a_check_may_not_lie_in_the_future_beyond_a_phones_clock_drift() -> None:
    now = dt.datetime(2027, 3, 10, 8, 0, tzinfo=dt.UTC)
    assert rules.check_window(now + dt.timedelta(minutes=4), now)
    assert not rules.check_window(now + dt.timedelta(minutes=6), now)


def test_days_are_counted_in_beijing_time() -> None:
    assert rules.local_day(dt.datetime(2027, 3, 10, 17, 0, tzinfo=dt.UTC)) == D(2027, 3, 11)
    assert rules.local_day(dt.datetime(2027, 3, 10, 15, 59)) == D(2027, 3, 10)  # naive: UTC
