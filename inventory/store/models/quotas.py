"""Reserve quotas (储备定额): the least a location must hold of an item type, higher in a season such as 汛期."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from inventory.store.models.base import Base, utcnow


class ReserveQuota(Base):
    """A location's quota of one item type: a minimum, a warning margin above it, and optionally a season.

    The season runs from ``season_start`` to ``season_end`` (month-day ``MM-DD``, both days included; a season
    whose end comes before its start runs over the new year), and ``season_minimum`` is in force during it.
    """

    __tablename__ = "reserve_quotas"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    item_type_id: Mapped[int] = mapped_column(ForeignKey("item_types.id"), index=True)
    minimum: Mapped[int] = mapped_column(Integer)
    warning_margin: Mapped[int] = mapped_column(Integer, default=0)
    season_name: Mapped[str] = mapped_column(String(20), default="")
    season_start: Mapped[str | None] = mapped_column(String(5))  # MM-DD
    season_end: Mapped[str | None] = mapped_column(String(5))  # MM-DD
    season_minimum: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        UniqueConstraint("location_id", "item_type_id", name="uq_reserve_quotas_location_item"),
        CheckConstraint("minimum >= 0", name="minimum"),
        CheckConstraint("warning_margin >= 0", name="warning_margin"),
        CheckConstraint(
            "(season_start IS NULL AND season_end IS NULL AND season_minimum IS NULL) OR "
            "(season_start IS NOT NULL AND season_end IS NOT NULL AND season_minimum IS NOT NULL "
            "AND season_minimum >= minimum)", name="season"),
    )
