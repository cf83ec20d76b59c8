"""Agreement reserves (协议储备): agreements with firms, their lines, checks and drills, and call-offs."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from inventory.store.models.base import Base, utcnow


class Agreement(Base):
    """A firm's promise: goods it holds for us (``physical``, 实物代储) or output it makes (``capacity``, 产能储备)."""

    __tablename__ = "agreements"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    vendor_location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)  # kind vendor
    kind: Mapped[str] = mapped_column(String(8))  # physical | capacity
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date] = mapped_column(Date, index=True)
    response_hours: Mapped[float] = mapped_column(Float)  # 到位时限
    delivery_point: Mapped[str] = mapped_column(String(200), default="")
    price_mechanism: Mapped[str] = mapped_column(String(8), default="fixed")  # fixed | market | subsidy
    rotation_by: Mapped[str] = mapped_column(String(8), default="vendor")  # vendor | bureau
    check_interval_days: Mapped[int] = mapped_column(Integer, default=90)
    contact_name: Mapped[str] = mapped_column(String(50), default="")
    contact_phone: Mapped[str] = mapped_column(String(30), default="")
    notes: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        CheckConstraint("kind IN ('physical', 'capacity')", name="kind"),
        CheckConstraint("price_mechanism IN ('fixed', 'market', 'subsidy')", name="price_mechanism"),
        CheckConstraint("rotation_by IN ('vendor', 'bureau')", name="rotation_by"),
        CheckConstraint("valid_until >= valid_from", name="validity"),
        CheckConstraint("response_hours > 0", name="response_hours"),
        CheckConstraint("check_interval_days > 0", name="check_interval"),
    )


class AgreementLine(Base):
    """An item type the agreement promises: the quantity held (physical) or made per day (capacity).

    ``outstanding`` is what call-offs have asked for and the firm has not yet delivered; the line offers
    ``quantity − outstanding``. A call-off raises it with one conditional UPDATE, so concurrent call-offs
    can never promise more than the line holds (the CHECK is the last guard).
    """

    __tablename__ = "agreement_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), index=True)
    item_type_id: Mapped[int] = mapped_column(ForeignKey("item_types.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    outstanding: Mapped[int] = mapped_column(Integer, default=0)
    __table_args__ = (
        UniqueConstraint("agreement_id", "item_type_id", name="uq_agreement_lines_item"),
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("outstanding >= 0 AND outstanding <= quantity", name="outstanding"),
    )


class AgreementCheck(Base):
    """A check of an agreement (定期检查, 抽查) or a drill (拉动演练) with its measured response time."""

    __tablename__ = "agreement_checks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), index=True)
    checked_on: Mapped[dt.date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(8))  # regular | spot | drill
    result: Mapped[str] = mapped_column(String(10))  # pass | deficient | fail
    deficiency: Mapped[str] = mapped_column(String(300), default="")
    requested_at: Mapped[dt.datetime | None] = mapped_column()  # drill: goods asked for
    arrived_at: Mapped[dt.datetime | None] = mapped_column()  # drill: goods at the delivery point
    recorded_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        CheckConstraint("method IN ('regular', 'spot', 'drill')", name="method"),
        CheckConstraint("result IN ('pass', 'deficient', 'fail')", name="result"),
        CheckConstraint("arrived_at IS NULL OR (requested_at IS NOT NULL AND arrived_at >= requested_at)",
                        name="drill_times"),
    )


class AgreementCheckCount(Base):
    """What a check counted of one line (on hand at the firm, not lots: agreed stock circulates)."""

    __tablename__ = "agreement_check_counts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    check_id: Mapped[int] = mapped_column(ForeignKey("agreement_checks.id"), index=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("agreement_lines.id"))
    counted: Mapped[int] = mapped_column(Integer)
    __table_args__ = (CheckConstraint("counted >= 0", name="counted"),)


class AgreementCallOff(Base):
    """A call-off (调用) of an agreement line by a dispatch line: reserved → called_off → delivered (or released)."""

    __tablename__ = "agreement_calloffs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), index=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("agreement_lines.id"))
    item_type_id: Mapped[int] = mapped_column(ForeignKey("item_types.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    dispatch_id: Mapped[int] = mapped_column(ForeignKey("dispatches.id"), index=True)
    dispatch_line_id: Mapped[int] = mapped_column(ForeignKey("dispatch_lines.id"), unique=True)
    state: Mapped[str] = mapped_column(String(10), default="reserved")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    called_at: Mapped[dt.datetime | None] = mapped_column()
    delivered_at: Mapped[dt.datetime | None] = mapped_column()
    receipt_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    settlement_due: Mapped[dt.date | None] = mapped_column(Date, index=True)
    settled_at: Mapped[dt.datetime | None] = mapped_column()
    settled_by: Mapped[str] = mapped_column(String(64), default="")
    settlement_note: Mapped[str] = mapped_column(String(200), default="")
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("state IN ('reserved', 'called_off', 'delivered', 'released')", name="state"),
    )
