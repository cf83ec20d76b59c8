"""Incidents and dispatch orders."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Float,
    ForeignKey,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from inventory.store.models.base import Base, utcnow


class Incident(Base):
    """An emergency (事件): where it is, and the staging location that dispatched stock travels to."""

    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    source_crs: Mapped[str] = mapped_column(String(8))
    source_lat: Mapped[float] = mapped_column(Float)
    source_lon: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(8), default="open")
    # Response level (响应级别): county | city | province; sets the dispatch orders' arrival target.
    level: Mapped[str] = mapped_column(String(8), default="county", server_default="county")
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column()


class Dispatch(Base):
    """A dispatch order (动用指令): approved by a commander, stock reserved at once, executed by keepers."""

    __tablename__ = "dispatches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    approval_mode: Mapped[str] = mapped_column(String(8))  # written | oral
    approved_by: Mapped[str] = mapped_column(String(64))
    document_no: Mapped[str | None] = mapped_column(String(64))
    paperwork_due_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    paperwork_received_at: Mapped[dt.datetime | None] = mapped_column()
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)  # ordered (下达)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    executed_at: Mapped[dt.datetime | None] = mapped_column()  # the first execution (出库)
    delivered_at: Mapped[dt.datetime | None] = mapped_column()  # everything signed for at the incident
    # Response-time target (inventory.response.targets), fixed when ordered; None on orders older than 0015.
    target_hours: Mapped[float | None] = mapped_column(Float)
    target_due_at: Mapped[dt.datetime | None] = mapped_column(index=True)  # created_at + target_hours
    estimated_minutes: Mapped[float | None] = mapped_column(Float)  # the slowest line's estimated arrival


class DispatchLine(Base):
    """One allocation of a dispatch: a quantity of an item (a lot, or one asset) at one source."""

    __tablename__ = "dispatch_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dispatch_id: Mapped[int] = mapped_column(ForeignKey("dispatches.id"), index=True)
    item_type_id: Mapped[int] = mapped_column(ForeignKey("item_types.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"))
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(12), default="reserved")  # reserved|executed|released
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    agreement_id: Mapped[int | None] = mapped_column(ForeignKey("agreements.id"))  # a call-off (调用) of it
