"""Alerts (告警) and their deliveries: one row per condition found, and one per message sent to a person."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from inventory.store.models.base import Base, utcnow


class Alert(Base):
    """A condition that needs someone's attention (a lot expiring, a lease overdue…), kept by its dedupe key.

    Computing alerts upserts by ``dedupe_key``: a condition found again only moves ``last_seen``; one no
    longer found gets ``resolved_at``; a resolved one found again is reopened (``times_opened`` counts it).
    ``region_code`` and ``location_id`` decide who sees it; ``notified_at`` is when a high-severity alert
    was queued for immediate delivery, ``last_sent`` when a delivery naming it last arrived.
    """

    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    subject_type: Mapped[str] = mapped_column(String(16))  # lot | lease | agreement | dispatch | transfer …
    subject_id: Mapped[int] = mapped_column(Integer)
    severity: Mapped[str] = mapped_column(String(8))  # high | normal
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    title: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(String(500), default="")
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    first_seen: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(default=utcnow)
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    times_opened: Mapped[int] = mapped_column(Integer, default=1)
    notified_at: Mapped[dt.datetime | None] = mapped_column()
    last_sent: Mapped[dt.datetime | None] = mapped_column()
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column()
    resolved_at: Mapped[dt.datetime | None] = mapped_column()
    __table_args__ = (
        # Open alerts (neither resolved nor acknowledged) are what the nav counts on every page.
        Index("ix_alerts_open", "resolved_at", "acknowledged_at"),
        CheckConstraint("severity IN ('high', 'normal')", name="severity"),
    )


class AlertDelivery(Base):
    """One message to one person by one channel: a day's digest or the high-severity alerts of one run.

    The body is kept as sent, so a retry sends the same message; ``attempts``, ``next_attempt_at`` and
    ``last_error`` record the retries while the receiver is down, ``delivered_at`` when it arrived.
    """

    __tablename__ = "alert_deliveries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)  # digest:2026-12-05:7:email, urgent:…
    kind: Mapped[str] = mapped_column(String(8))  # digest | urgent
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    channel: Mapped[str] = mapped_column(String(8))  # webhook | email
    target: Mapped[str] = mapped_column(String(300))  # the URL or the e-mail address
    digest_day: Mapped[dt.date | None] = mapped_column(Date)
    alert_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    payload: Mapped[str] = mapped_column(Text)  # the JSON body
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    delivered_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        Index("ix_alert_deliveries_due", "delivered_at", "next_attempt_at"),
        CheckConstraint("kind IN ('digest', 'urgent')", name="kind"),
        CheckConstraint("channel IN ('webhook', 'email')", name="channel"),
    )
