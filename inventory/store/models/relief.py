"""Relief handed to households (救灾物资发放): households, distributions and their lines."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from inventory.store.models.base import Base, utcnow


class Household(Base):
    """A household that receives relief: the head's name, the ID number only as its last four characters and a
    salted hash (to find the same household again, never to show or recover the number), village and size."""

    __tablename__ = "relief_households"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    head_name: Mapped[str] = mapped_column(String(50))
    id_last4: Mapped[str] = mapped_column(String(4))
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)  # HMAC-SHA256 of the number, with a kept salt
    village: Mapped[str] = mapped_column(String(50), index=True)  # 村（社区）
    township_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))  # 乡镇（街道）, if known
    size: Mapped[int] = mapped_column(Integer)  # 家庭人口
    phone: Mapped[str] = mapped_column(String(20), default="", server_default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Distribution(Base):
    """One handing-out to one household in one round of an incident, posted as an issue through the ledger."""

    __tablename__ = "relief_distributions"
    __table_args__ = (Index("ix_relief_distributions_incident_round", "incident_id", "round"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("relief_households.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)  # 发放轮次, from 1
    village: Mapped[str] = mapped_column(String(50))  # the household's village when handed out (the register's)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))  # where it was handed out from
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))  # the issue (出库) in the ledger
    reason: Mapped[str] = mapped_column(String(200), default="", server_default="")  # why again, if so
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow)  # when it was really handed out


class DistributionLine(Base):
    """One item and quantity of a distribution."""

    __tablename__ = "relief_distribution_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    distribution_id: Mapped[int] = mapped_column(ForeignKey("relief_distributions.id"), index=True)
    item_type_id: Mapped[int] = mapped_column(ForeignKey("item_types.id"))
    quantity: Mapped[int] = mapped_column(Integer)
