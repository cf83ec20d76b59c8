"""Quarterly stocktakes: the count, its lines and the uploaded sheets."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from inventory.store.models.base import Base, utcnow


class Stocktake(Base):
    """A stocktake (盘点) of a location and its bins: snapshot, counted sheet, approval, adjustment."""

    __tablename__ = "stocktakes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    period: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(10), default="open")  # open | counted | approved
    counted_by: Mapped[str] = mapped_column(String(64), default="")
    supervised_by: Mapped[str] = mapped_column(String(64), default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    snapshot_movement_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    imported_by: Mapped[str | None] = mapped_column(String(64))
    imported_at: Mapped[dt.datetime | None] = mapped_column()
    approved_by: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[dt.datetime | None] = mapped_column()
    adjustment_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))


class StocktakeLine(Base):
    """One line of the snapshot: a lot (or lot-less stock) at a place, or one asset; then its count."""

    __tablename__ = "stocktake_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stocktake_id: Mapped[int] = mapped_column(ForeignKey("stocktakes.id"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    item_type_id: Mapped[int] = mapped_column(ForeignKey("item_types.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"))
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id"))
    book_at_snapshot: Mapped[int] = mapped_column(Integer)
    book_at_count: Mapped[int | None] = mapped_column(Integer)
    counted: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200), default="")
    sheet_row: Mapped[int | None] = mapped_column(Integer)


class StocktakeUpload(Base):
    """Every uploaded counting sheet: accepted, or refused with its errors and a marked-up copy."""

    __tablename__ = "stocktake_uploads"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stocktake_id: Mapped[int | None] = mapped_column(ForeignKey("stocktakes.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # counts | opening
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    accepted: Mapped[bool] = mapped_column(Boolean)
    errors: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error_copy: Mapped[bytes | None] = mapped_column(LargeBinary)
