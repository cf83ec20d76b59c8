"""Leases (租赁、借用): contracts with a counterparty, their lines, and the extensions that keep the due history."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from inventory.store.models.base import Base, utcnow


class Lease(Base):
    """A lease: ours lent out (direction ``out``) or theirs held by us (direction ``in``); status is derived."""

    __tablename__ = "leases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    direction: Mapped[str] = mapped_column(String(3), index=True)  # in | out
    agreement_number: Mapped[str] = mapped_column(String(60), default="")
    counterparty: Mapped[str] = mapped_column(String(100), index=True)
    counterparty_kind: Mapped[str] = mapped_column(String(4), default="unit")  # unit | firm
    contact_name: Mapped[str] = mapped_column(String(50), default="")
    contact_phone: Mapped[str] = mapped_column(String(30), default="")
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)  # our depot handling it
    counterparty_location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))  # 借出在外
    start_date: Mapped[dt.date] = mapped_column(Date)
    due_date: Mapped[dt.date] = mapped_column(Date, index=True)  # the current due date (extensions move it)
    fee_basis: Mapped[str] = mapped_column(String(8), default="free")  # per_day | per_use | lump_sum | free
    rate: Mapped[float] = mapped_column(Float, default=0.0)
    deposit: Mapped[float] = mapped_column(Float, default=0.0)
    notes: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    out_at: Mapped[dt.datetime | None] = mapped_column()  # when the goods changed hands
    closed_at: Mapped[dt.datetime | None] = mapped_column()  # when the last line came back or was settled
    __table_args__ = (
        CheckConstraint("direction IN ('in', 'out')", name="direction"),
        CheckConstraint("fee_basis IN ('per_day', 'per_use', 'lump_sum', 'free')", name="fee_basis"),
        CheckConstraint("due_date >= start_date", name="due"),
    )


class LeaseLine(Base):
    """One line of a lease: a serial unit, or a quantity of an item type (and lot); what went and came back."""

    __tablename__ = "lease_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lease_id: Mapped[int] = mapped_column(ForeignKey("leases.id"), index=True)
    item_type_id: Mapped[int] = mapped_column(ForeignKey("item_types.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"))
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id"), index=True)
    serial_number: Mapped[str] = mapped_column(String(60), default="")  # a leased-in unit, before it is received
    quantity: Mapped[int] = mapped_column(Integer)
    returned: Mapped[int] = mapped_column(Integer, default=0)  # came back ok or damaged
    damaged: Mapped[int] = mapped_column(Integer, default=0)
    lost: Mapped[int] = mapped_column(Integer, default=0)
    condition_out: Mapped[str] = mapped_column(String(200), default="")
    condition_back: Mapped[str] = mapped_column(String(200), default="")
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("returned + lost <= quantity AND damaged <= returned", name="back"),
    )


class LeaseExtension(Base):
    """An extension (续租): the due date before and after; rows are never changed, so the history stays."""

    __tablename__ = "lease_extensions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lease_id: Mapped[int] = mapped_column(ForeignKey("leases.id"), index=True)
    previous_due: Mapped[dt.date] = mapped_column(Date)
    new_due: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200), default="")
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
