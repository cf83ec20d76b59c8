"""Requests for stock between units (物资调用申请): lines, and the answers that accept or decline them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from inventory.store.models.base import Base, utcnow


class SupplyRequest(Base):
    """One unit asks another (the owning unit or the level above) for stock toward an incident.

    ``from_region_code`` is the requesting unit, ``to_region_code`` the unit asked; the commanders whose scope
    covers ``to_region_code`` answer it. ``status`` is ``open`` while some line is neither accepted nor declined
    in full, then ``answered``.
    """

    __tablename__ = "supply_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    from_region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    to_region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    purpose: Mapped[str] = mapped_column(String(200))
    destination: Mapped[str] = mapped_column(String(200))
    needed_by: Mapped[dt.datetime] = mapped_column()
    transport: Mapped[str] = mapped_column(String(20))
    contact_name: Mapped[str] = mapped_column(String(50))
    contact_phone: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(10), default="open", index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[dt.datetime | None] = mapped_column()
    __table_args__ = (
        CheckConstraint("status IN ('open', 'answered')", name="status"),
        CheckConstraint("from_region_code <> to_region_code", name="not_own_unit"),
    )


class SupplyRequestLine(Base):
    """What is needed: an item type, or a category with attribute conditions; how many; how much is answered."""

    __tablename__ = "supply_request_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("supply_requests.id"), index=True)
    item_type_id: Mapped[int | None] = mapped_column(ForeignKey("item_types.id"))
    category: Mapped[str | None] = mapped_column(String(40))
    attrs: Mapped[str] = mapped_column(String(400), default="")  # conditions joined by "；", e.g. flow_m3h>=300
    quantity: Mapped[int] = mapped_column(Integer)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    declined: Mapped[int] = mapped_column(Integer, default=0)
    __table_args__ = (
        CheckConstraint("quantity > 0 AND accepted >= 0 AND declined >= 0 AND accepted + declined <= quantity",
                        name="answered_within_quantity"),
        CheckConstraint("item_type_id IS NOT NULL OR category IS NOT NULL", name="names_what"),
    )


class SupplyRequestAnswer(Base):
    """One answer of the unit asked: an acceptance (with the dispatch order it created) or a refusal."""

    __tablename__ = "supply_request_answers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("supply_requests.id"))
    kind: Mapped[str] = mapped_column(String(8))  # accept | decline
    dispatch_id: Mapped[int | None] = mapped_column(ForeignKey("dispatches.id"), index=True)
    reason: Mapped[str] = mapped_column(String(200), default="")
    answered_by: Mapped[str] = mapped_column(String(64))
    answered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        CheckConstraint("kind IN ('accept', 'decline')", name="kind"),
        Index("ix_supply_request_answers_request", "request_id", "id"),
    )


class SupplyRequestAnswerLine(Base):
    """How much of one request line an answer accepted (as which item type) or declined."""

    __tablename__ = "supply_request_answer_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("supply_request_answers.id"), index=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("supply_request_lines.id"), index=True)
    item_type_id: Mapped[int | None] = mapped_column(ForeignKey("item_types.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity"),)
