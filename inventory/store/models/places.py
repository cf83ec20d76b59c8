"""Regions (GB/T 2260) and locations: depots, reserve points, vendors' sites, vehicles, bins."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from inventory.store.models.base import Base, utcnow


class Region(Base):
    """GB/T 2260 administrative division: 36 → 3601 → 360121 → 360121100000."""

    __tablename__ = "regions"
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[int] = mapped_column(Integer)  # 1 province, 2 city, 3 county, 4 township
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)


class Location(Base):
    """A depot, reserve point, vendor warehouse, vehicle, staging site or bin; a tree."""

    __tablename__ = "locations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"), index=True)
    path: Mapped[str] = mapped_column(String(400), index=True)  # "/1/7/" ancestors and self
    # The nearest location that is not a bin (itself unless it is a bin): where its stock is counted
    # for availability and dispatch.
    site_id: Mapped[int | None] = mapped_column(Integer, index=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    address: Mapped[str] = mapped_column(String(200), default="")
    contact_name: Mapped[str] = mapped_column(String(50), default="")
    contact_phone: Mapped[str] = mapped_column(String(30), default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    source_crs: Mapped[str | None] = mapped_column(String(8))
    source_lat: Mapped[float | None] = mapped_column(Float)
    source_lon: Mapped[float | None] = mapped_column(Float)
    coord_approximate: Mapped[bool] = mapped_column(Boolean, default=False)
    agreement_lead_hours: Mapped[float | None] = mapped_column(Float)  # vendor commitment (协议储备)
    label_code: Mapped[str | None] = mapped_column(String(20), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (Index("ix_locations_lat_lon", "lat", "lon"),)
