"""Readiness of serial units: maintenance plans, the append-only check records, and repairs."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, Date, Float, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from inventory.store.models.base import Base, utcnow

TASKS = ("run_test", "battery_charge", "visual_check", "annual_service", "pre_flood_check", "other")
_TASK_SQL = ", ".join(f"'{t}'" for t in TASKS)


class MaintenancePlan(Base):
    """What keeps units of an item type (or one unit, overriding its type's plan for a task) ready, and how often.

    ``completion``: due one interval after the task was last done. ``calendar``: due every year on
    ``due_month``/``due_day`` (汛前检查 before the flood season). A new plan for the same target and task
    replaces the active one (``active`` false, ``replaced_by_id`` set): plans are never edited or deleted.
    """

    __tablename__ = "maintenance_plans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_type_id: Mapped[int | None] = mapped_column(ForeignKey("item_types.id"), index=True)
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id"), index=True)
    task: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(100), default="")
    anchor: Mapped[str] = mapped_column(String(10), default="completion")  # completion | calendar
    interval_days: Mapped[int | None] = mapped_column(Integer)
    interval_months: Mapped[int | None] = mapped_column(Integer)
    due_month: Mapped[int | None] = mapped_column(Integer)
    due_day: Mapped[int | None] = mapped_column(Integer)
    starts_on: Mapped[dt.date] = mapped_column(Date)
    run_minutes: Mapped[int | None] = mapped_column(Integer)  # a run test's length (试运行分钟)
    load_pct: Mapped[int | None] = mapped_column(Integer)  # and its load (≥ 30 % of rated for generators)
    instructions: Mapped[str] = mapped_column(String(500), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("maintenance_plans.id"))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        CheckConstraint("(item_type_id IS NULL) <> (asset_id IS NULL)", name="target"),
        CheckConstraint(f"task IN ({_TASK_SQL})", name="task"),
        CheckConstraint("anchor IN ('completion', 'calendar')", name="anchor"),
        CheckConstraint(
            "(anchor = 'completion' AND due_month IS NULL AND due_day IS NULL "
            "AND ((interval_days IS NULL) <> (interval_months IS NULL))) OR "
            "(anchor = 'calendar' AND interval_days IS NULL AND interval_months IS NULL "
            "AND due_month BETWEEN 1 AND 12 AND due_day BETWEEN 1 AND 31)", name="schedule"),
        CheckConstraint("interval_days IS NULL OR interval_days > 0", name="interval_days"),
        CheckConstraint("interval_months IS NULL OR interval_months > 0", name="interval_months"),
        # One active plan per target and task; the partial index is what makes a concurrent second one fail.
        Index("uq_maintenance_plans_item_task", "item_type_id", "task", unique=True,
              sqlite_where=text("active AND item_type_id IS NOT NULL"),
              postgresql_where=text("active AND item_type_id IS NOT NULL")),
        Index("uq_maintenance_plans_asset_task", "asset_id", "task", unique=True,
              sqlite_where=text("active AND asset_id IS NOT NULL"),
              postgresql_where=text("active AND asset_id IS NOT NULL")),
    )


class AssetCheck(Base):
    """One check of one unit (检查记录), append-only: the task, when, by whom, the result and the readings."""

    __tablename__ = "asset_checks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"))
    task: Mapped[str] = mapped_column(String(16))
    performed_at: Mapped[dt.datetime] = mapped_column()
    performed_by: Mapped[str] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(String(10))  # ok | fault | not_ready
    battery_pct: Mapped[int | None] = mapped_column(Integer)
    battery_voltage: Mapped[float | None] = mapped_column(Float)
    fuel_pct: Mapped[int | None] = mapped_column(Integer)
    run_minutes: Mapped[int | None] = mapped_column(Integer)
    load_pct: Mapped[int | None] = mapped_column(Integer)
    fault_description: Mapped[str] = mapped_column(String(300), default="")
    notes: Mapped[str] = mapped_column(String(200), default="")
    recorded_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        Index("ix_asset_checks_asset_task_performed", "asset_id", "task", "performed_at"),
        CheckConstraint(f"task IN ({_TASK_SQL})", name="task"),
        CheckConstraint("result IN ('ok', 'fault', 'not_ready')", name="result"),
        CheckConstraint("battery_pct IS NULL OR (battery_pct BETWEEN 0 AND 100)", name="battery"),
        CheckConstraint("fuel_pct IS NULL OR (fuel_pct BETWEEN 0 AND 100)", name="fuel"),
        CheckConstraint("load_pct IS NULL OR (load_pct BETWEEN 0 AND 100)", name="load"),
        CheckConstraint("run_minutes IS NULL OR run_minutes > 0", name="run_minutes"),
        CheckConstraint("task <> 'run_test' OR run_minutes IS NOT NULL", name="run_test_minutes"),
    )


class AssetRepair(Base):
    """A unit sent to a repairer (送修); once back, what was done and what it cost. Away while ``back_on`` is null."""

    __tablename__ = "asset_repairs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), index=True)
    vendor: Mapped[str] = mapped_column(String(100))
    problem: Mapped[str] = mapped_column(String(300), default="")
    sent_on: Mapped[dt.date] = mapped_column(Date)
    sent_by: Mapped[str] = mapped_column(String(64))
    status_before: Mapped[str] = mapped_column(String(16))  # what the unit was when sent (available | maintenance)
    back_on: Mapped[dt.date | None] = mapped_column(Date)
    work_done: Mapped[str] = mapped_column(String(300), default="")
    cost: Mapped[float | None] = mapped_column(Float)  # yuan
    returned_by: Mapped[str] = mapped_column(String(64), default="")
    returned_at: Mapped[dt.datetime | None] = mapped_column()  # when the return was recorded
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        CheckConstraint("back_on IS NULL OR back_on >= sent_on", name="dates"),
        CheckConstraint("cost IS NULL OR cost >= 0", name="cost"),
        # One repair away at a time per unit.
        Index("uq_asset_repairs_away", "asset_id", unique=True, sqlite_where=text("back_on IS NULL"),
              postgresql_where=text("back_on IS NULL")),
    )
