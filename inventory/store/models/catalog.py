"""The catalogue: item types and their typed attributes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from inventory.store.models.base import Base, utcnow


class ItemType(Base):
    """A catalogue entry (物资品目): bulk or serial, tags, typed attributes."""

    __tablename__ = "item_types"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    gbt_code: Mapped[str | None] = mapped_column(String(7), index=True)
    name: Mapped[str] = mapped_column(String(100))
    spec: Mapped[str] = mapped_column(String(200), default="")
    unit: Mapped[str] = mapped_column(String(16))
    tracking: Mapped[str] = mapped_column(String(8))  # bulk | serial
    category: Mapped[str] = mapped_column(String(40), index=True)
    tags_mask: Mapped[int] = mapped_column(Integer, default=0)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    shelf_life_days: Mapped[int | None] = mapped_column(Integer)
    inspection_interval_days: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (CheckConstraint("tracking IN ('bulk', 'serial')", name="tracking"),)


class ItemTypeAttribute(Base):
    """One typed attribute of an item type, normalised so filters run in SQL on both databases."""

    __tablename__ = "item_type_attributes"
    item_type_id: Mapped[int] = mapped_column(ForeignKey("item_types.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    num_value: Mapped[float | None] = mapped_column(Float)
    str_value: Mapped[str | None] = mapped_column(String(100))
    __table_args__ = (Index("ix_item_type_attributes_name_num", "name", "num_value"),)
