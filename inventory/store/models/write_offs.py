"""Write-off requests (报废/报损) and their lines, approved by a second person."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from inventory.store.models.base import Base, utcnow


class WriteOffRequest(Base):
    """A write-off request (报废申请): stock set aside until a commander or admin, not the requester, decides."""

    __tablename__ = "write_off_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    requested_by: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime | None] = mapped_column()
    rejection_reason: Mapped[str] = mapped_column(String(200), default="")
    reservation_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))  # the 报废单 posted on approval
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'rejected', 'cancelled')", name="status"),
    )


class WriteOffLine(Base):
    """Stock a write-off request holds: a quantity of one lot (or lot-less stock) or one unit, at one place."""

    __tablename__ = "write_off_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("write_off_requests.id"), index=True)
    item_type_id: Mapped[int] = mapped_column(ForeignKey("item_types.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"))
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    asset_status: Mapped[str | None] = mapped_column(String(16))  # the unit's status before it was set aside
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity"),)
