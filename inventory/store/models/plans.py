"""Pre-positioning (精准化前置): risk points and their needs, optimiser proposals, plans and their lines."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from inventory.store.models.base import Base, utcnow


class RiskPoint(Base):
    """A place at risk in a flood (堤段, 低洼村庄, 下穿通道, 学校, 水库…) with a weight and needs per item type.

    ``lat``/``lon`` are WGS-84 (converted from the CRS they were given in); ``weight`` is the people at risk
    or a priority — the optimiser maximises covered weight.
    """

    __tablename__ = "risk_points"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # the 风险隐患点 list's own number, e.g. NCX-DF-01
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16), index=True)  # embankment | village | underpass | school | ...
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    weight: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (CheckConstraint("weight > 0", name="weight"),)


class RiskNeed(Base):
    """What one risk point would need of one item type (two pumps, 500 sandbags)."""

    __tablename__ = "risk_needs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    risk_point_id: Mapped[int] = mapped_column(ForeignKey("risk_points.id", ondelete="CASCADE"), index=True)
    item_type_id: Mapped[int] = mapped_column(ForeignKey("item_types.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    __table_args__ = (
        UniqueConstraint("risk_point_id", "item_type_id", name="uq_risk_needs_point_item"),
        CheckConstraint("quantity > 0", name="quantity"),
    )


class PlanProposal(Base):
    """One optimiser run: what was asked, its progress while it runs, and its answer (kept with a plan)."""

    __tablename__ = "plan_proposals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(8), index=True)  # running | done | failed
    objective: Mapped[str] = mapped_column(String(8))  # coverage | median | stock
    region_code: Mapped[str] = mapped_column(String(12))  # the scope the candidates and points came from
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    progress: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    answer: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column()


class Plan(Base):
    """A pre-positioning plan (前置计划): draft → approved → executing → in_place → recalled."""

    __tablename__ = "plans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    season: Mapped[str] = mapped_column(String(20), default="")  # e.g. 2027年主汛期
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)  # whose plan it is
    target_minutes: Mapped[int] = mapped_column(Integer)
    item_type_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(10), index=True, default="draft")
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("plan_proposals.id"))
    note: Mapped[str] = mapped_column(String(200), default="")
    author: Mapped[str] = mapped_column(String(64))
    approved_by: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[dt.datetime | None] = mapped_column()
    executed_by: Mapped[str | None] = mapped_column(String(64))
    executed_at: Mapped[dt.datetime | None] = mapped_column()
    in_place_at: Mapped[dt.datetime | None] = mapped_column()
    recalled_by: Mapped[str | None] = mapped_column(String(64))
    recalled_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        CheckConstraint("target_minutes > 0", name="target_minutes"),
        CheckConstraint("status IN ('draft', 'approved', 'executing', 'in_place', 'recalled')", name="status"),
    )


class PlanLine(Base):
    """Move ``quantity`` of an item type (or the named units) from a location to a staging site.

    Executing the plan posts ``transfer_id`` (a transfer through the ledger, received by the keeper at the
    staging site by scanning); recalling it posts ``recall_transfer_id`` back to where it came from.
    """

    __tablename__ = "plan_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    from_location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    to_location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    item_type_id: Mapped[int] = mapped_column(ForeignKey("item_types.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    asset_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)  # named serial units, if any
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), index=True)
    recall_transfer_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("from_location_id <> to_location_id", name="distinct_ends"),
    )
