"""Rows the service keeps for itself: idempotency keys, settings, the label-code registry."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from inventory.store.models.base import Base, utcnow


class IdempotencyKey(Base):
    """A write's key and its stored response, so a retried request is applied exactly once."""

    __tablename__ = "idempotency_keys"
    actor: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(300))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[bytes] = mapped_column(LargeBinary)
    content_type: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class Setting(Base):
    """Small key/value state shared between processes (e.g. demo markers)."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class LabelCode(Base):
    """Every QR label code ever issued: what it names, and what replaced it if it was re-issued."""

    __tablename__ = "label_codes"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    target_type: Mapped[str] = mapped_column(String(10))  # asset | lot | location
    target_id: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[dt.datetime | None] = mapped_column()
    replaced_by: Mapped[str | None] = mapped_column(String(16))
    __table_args__ = (Index("ix_label_codes_target", "target_type", "target_id"),)
