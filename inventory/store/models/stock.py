"""Stock: lots, serial units, the append-only ledger (documents, movements) and balances."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from inventory.store.models.base import Base, utcnow


class Lot(Base):
    """A batch of a bulk item type (批次): number, origin, production and expiry dates."""

    __tablename__ = "lots"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_type_id: Mapped[int] = mapped_column(ForeignKey("item_types.id"))
    number: Mapped[str] = mapped_column(String(60))
    origin: Mapped[str] = mapped_column(String(100), default="")
    quality: Mapped[str] = mapped_column(String(40), default="", server_default="")  # 质量: 合格, 一等品…
    production_date: Mapped[dt.date | None] = mapped_column(Date)
    expiry_date: Mapped[dt.date | None] = mapped_column(Date, index=True)
    label_code: Mapped[str | None] = mapped_column(String(20), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("item_type_id", "number", name="uq_lots_item_type_number"),)


class Asset(Base):
    """A serial unit (装备单件) with status, location, ownership and readiness."""

    __tablename__ = "assets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_type_id: Mapped[int] = mapped_column(ForeignKey("item_types.id"), index=True)
    serial_number: Mapped[str] = mapped_column(String(60))
    label_code: Mapped[str | None] = mapped_column(String(20), unique=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"), index=True)
    ownership: Mapped[str] = mapped_column(String(12), default="owned")
    readiness: Mapped[str] = mapped_column(String(8), default="unknown")  # ok | fault | unknown
    battery_pct: Mapped[int | None] = mapped_column(Integer)
    fuel_pct: Mapped[int | None] = mapped_column(Integer)
    fault_note: Mapped[str] = mapped_column(String(200), default="")
    last_inspected_at: Mapped[dt.datetime | None] = mapped_column()
    next_inspection_due: Mapped[dt.date | None] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        Index("ix_assets_item_status", "item_type_id", "status"),
        Index("ix_assets_location_item_status", "location_id", "item_type_id", "status"),  # availability, site-first
        UniqueConstraint("item_type_id", "serial_number", name="uq_assets_item_type_serial"),
        CheckConstraint("battery_pct IS NULL OR (battery_pct BETWEEN 0 AND 100)", name="battery"),
        CheckConstraint("fuel_pct IS NULL OR (fuel_pct BETWEEN 0 AND 100)", name="fuel"),
    )


class Document(Base):
    """A voucher (单据) posting movements; append-only — a correction is a reversing document."""

    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    to_location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    actor: Mapped[str] = mapped_column(String(64))
    approver: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    occurred_at: Mapped[dt.datetime] = mapped_column()
    reason: Mapped[str] = mapped_column(String(200), default="")
    reference: Mapped[str] = mapped_column(String(100), default="")
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), unique=True)
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), index=True)
    counterparty: Mapped[str] = mapped_column(String(100), default="")  # person, unit or incident
    __table_args__ = (
        CheckConstraint(
            "kind IN ('receipt', 'issue', 'transfer', 'transfer_receipt', 'adjustment', 'write_off', "
            "'return', 'reservation', 'dispatch')",
            name="kind",
        ),
    )


class Movement(Base):
    """One signed change of one bucket (on_hand, in_transit, reserved) at one place; append-only."""

    __tablename__ = "movements"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    item_type_id: Mapped[int] = mapped_column(ForeignKey("item_types.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"))
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id"), index=True)
    bucket: Mapped[str] = mapped_column(String(10))
    quantity: Mapped[int] = mapped_column(Integer)
    # For a serial unit: its status and place before and after, so a reversal can restore them.
    asset_status_before: Mapped[str | None] = mapped_column(String(16))
    asset_status_after: Mapped[str | None] = mapped_column(String(16))
    asset_location_before: Mapped[int | None] = mapped_column(Integer)
    asset_location_after: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        Index("ix_movements_location_item", "location_id", "item_type_id", "id"),
        Index("ix_movements_item_created", "item_type_id", "created_at"),
        CheckConstraint("quantity <> 0", name="nonzero"),
        CheckConstraint("bucket IN ('on_hand', 'in_transit', 'reserved')", name="bucket"),
    )


class Balance(Base):
    """Current figures per (location, item type, lot); kept with the movements, recomputable."""

    __tablename__ = "balances"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    item_type_id: Mapped[int] = mapped_column(ForeignKey("item_types.id"), index=True)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"))
    lot_key: Mapped[int] = mapped_column(Integer, default=0)  # lot_id or 0: NULL-free uniqueness
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    in_transit: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        UniqueConstraint("location_id", "item_type_id", "lot_key", name="uq_balances_key"),
        CheckConstraint("on_hand >= 0", name="on_hand"),
        CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="reserved"),
        CheckConstraint("in_transit >= 0", name="in_transit"),
    )
