"""msgspec structs for readiness: maintenance plans, checks, repairs, and the readiness report."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from inventory.readiness.rules import State
from inventory.schemas import Id, Percent, Strict

Task = Literal["run_test", "battery_charge", "visual_check", "annual_service", "pre_flood_check", "other"]
Anchor = Literal["completion", "calendar"]
CheckResult = Literal["ok", "fault", "not_ready"]
TaskState = Literal["ok", "due_soon", "overdue"]

TASK_ZH = {"run_test": "试运行", "battery_charge": "电池充电", "visual_check": "外观检查",
           "annual_service": "年度保养", "pre_flood_check": "汛前检查", "other": "其他检查"}
RESULT_ZH = {"ok": "正常", "fault": "有故障", "not_ready": "未就绪"}
STATE_ZH = {"ready": "完好", "due_soon": "即将到期", "overdue": "检查逾期", "fault": "故障/未就绪",
            "in_maintenance": "维修中"}
TASK_STATE_ZH = {"ok": "未到期", "due_soon": "即将到期", "overdue": "已逾期"}
Text300 = Annotated[str, msgspec.Meta(max_length=300)]


class PlanCreate(Strict):
    """A maintenance plan for an item type (``item_type_id``) or one unit (``asset_id``, overriding its type's).

    ``completion``: every ``interval_days`` or ``interval_months`` after the task was last done.
    ``calendar``: every year on ``due_month``/``due_day`` (e.g. 汛前检查 by 1 April).
    """

    task: Task
    item_type_id: Id | None = None
    asset_id: Id | None = None
    anchor: Anchor = "completion"
    interval_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] | None = None
    interval_months: Annotated[int, msgspec.Meta(ge=1, le=120)] | None = None
    due_month: Annotated[int, msgspec.Meta(ge=1, le=12)] | None = None
    due_day: Annotated[int, msgspec.Meta(ge=1, le=31)] | None = None
    starts_on: dt.date | None = None
    title: Annotated[str, msgspec.Meta(max_length=100)] = ""
    run_minutes: Annotated[int, msgspec.Meta(ge=1, le=1440)] | None = None
    load_pct: Percent | None = None
    instructions: Annotated[str, msgspec.Meta(max_length=500)] = ""


class PlanRead(msgspec.Struct):
    """A plan, with its schedule in words (``schedule_zh``)."""

    id: int
    item_type_id: int | None
    item_name: str | None
    asset_id: int | None
    serial_number: str | None
    task: Task
    task_zh: str
    title: str
    anchor: Anchor
    interval_days: int | None
    interval_months: int | None
    due_month: int | None
    due_day: int | None
    schedule_zh: str
    starts_on: dt.date
    run_minutes: int | None
    load_pct: int | None
    instructions: str
    active: bool
    replaced_by_id: int | None
    replaces_id: int | None
    created_by: str
    created_at: dt.datetime


class CheckCreate(Strict):
    """A check of one unit: the task, when (not in the future; now if left out), the result and the readings.

    A run test (``run_test``) needs ``run_minutes``; a fault or a unit not ready needs ``fault_description``.
    """

    task: Task
    result: CheckResult
    performed_at: dt.datetime | None = None
    performed_by: Annotated[str, msgspec.Meta(max_length=64)] = ""
    battery_pct: Percent | None = None
    battery_voltage: Annotated[float, msgspec.Meta(gt=0, le=1000)] | None = None
    fuel_pct: Percent | None = None
    run_minutes: Annotated[int, msgspec.Meta(ge=1, le=1440)] | None = None
    load_pct: Percent | None = None
    fault_description: Text300 = ""
    notes: Annotated[str, msgspec.Meta(max_length=200)] = ""


class CheckRead(msgspec.Struct):
    """A recorded check."""

    id: int
    asset_id: int
    task: Task
    task_zh: str
    result: CheckResult
    result_zh: str
    performed_at: dt.datetime
    performed_by: str
    battery_pct: int | None
    battery_voltage: float | None
    fuel_pct: int | None
    run_minutes: int | None
    load_pct: int | None
    fault_description: str
    notes: str
    recorded_by: str
    created_at: dt.datetime


class RepairCreate(Strict):
    """Send a unit to a repairer (送修): it is in maintenance until it comes back."""

    vendor: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    sent_on: dt.date | None = None
    problem: Text300 = ""
    cost: Annotated[float, msgspec.Meta(ge=0, le=100_000_000)] | None = None


class RepairBack(Strict):
    """The unit is back from the repairer, repaired: what was done and what it cost; it is available and ready."""

    work_done: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
    back_on: dt.date | None = None
    cost: Annotated[float, msgspec.Meta(ge=0, le=100_000_000)] | None = None


class RepairRead(msgspec.Struct):
    """A repair: away while ``back_on`` is null."""

    id: int
    asset_id: int
    serial_number: str
    vendor: str
    problem: str
    sent_on: dt.date
    sent_by: str
    back_on: dt.date | None
    work_done: str
    cost: float | None
    returned_by: str
    away: bool
    created_at: dt.datetime


class TaskDueRead(msgspec.Struct):
    """One task of a unit: its plan, last done, next due and how that stands."""

    plan_id: int
    task: Task
    task_zh: str
    title: str
    own_plan: bool  # the unit's own plan rather than its item type's
    last_done: dt.date | None
    due: dt.date
    state: TaskState
    state_zh: str
    run_minutes: int | None
    load_pct: int | None
    instructions: str


class UnitReadiness(msgspec.Struct):
    """A unit's derived readiness with the reason in Chinese, and its tasks."""

    asset_id: int
    serial_number: str
    label_code: str | None
    item_type_id: int
    item_code: str
    item_name: str
    category: str
    location_id: int | None
    location_name: str | None
    region_code: str | None
    status: str
    state: State
    state_zh: str
    reason: str
    next_due: dt.date | None
    last_checked_at: dt.datetime | None
    tasks: list[TaskDueRead]


class StateCounts(msgspec.Struct):
    """How many units are in each state (``units`` all of them)."""

    units: int = 0
    ready: int = 0
    due_soon: int = 0
    overdue: int = 0
    fault: int = 0
    in_maintenance: int = 0


class CategoryCounts(msgspec.Struct):
    """The counts of one item category."""

    category: str
    counts: StateCounts


class RegionCounts(msgspec.Struct):
    """The counts of one child region (or of the region itself, for places coded to it)."""

    region_code: str
    region_name: str
    counts: StateCounts


class ReadinessReport(msgspec.Struct):
    """Units held in a region (available, reserved or in maintenance) by state; a page of those not ready."""

    region_code: str
    region_name: str
    category: str | None
    today: dt.date
    states: list[State]
    total: StateCounts
    by_category: list[CategoryCounts]
    by_region: list[RegionCounts]
    items: list[UnitReadiness]
    listed: int  # units in ``states``, of which ``items`` is one page
    limit: int
    offset: int
