"""msgspec structs for alerts: one alert as people see it, and what a run of the computation did."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec

AlertStatus = Literal["open", "acknowledged", "resolved"]
STATUS_ZH = {"open": "待处理", "acknowledged": "已确认", "resolved": "已解除"}


class AlertRead(msgspec.Struct):
    """An alert: what it is about, where, how serious, and where it stands."""

    id: int
    kind: str
    kind_zh: str
    severity: Literal["high", "normal"]
    severity_zh: str
    status: AlertStatus
    status_zh: str
    title: str
    detail: str
    subject_type: str
    subject_id: int
    region_code: str
    location_id: int | None
    location_name: str | None
    due_on: dt.date | None
    first_seen: dt.datetime
    last_seen: dt.datetime
    opened_at: dt.datetime
    times_opened: int
    last_sent: dt.datetime | None
    acknowledged_by: str | None
    acknowledged_at: dt.datetime | None
    resolved_at: dt.datetime | None


class DeliveryCounts(msgspec.Struct):
    """Deliveries queued by a run, and the outcome of the attempts it made."""

    queued: int = 0
    delivered: int = 0
    failed: int = 0
    waiting: int = 0  # not delivered yet, to be retried


class RunReport(msgspec.Struct):
    """One run: whether it computed (another process may hold the lock), the changes, the deliveries."""

    at: dt.datetime
    computed: bool
    opened: int = 0
    reopened: int = 0
    seen_again: int = 0
    resolved: int = 0
    open_total: int = 0
    failed_sources: list[str] = msgspec.field(default_factory=list)
    by_kind: dict[str, int] = msgspec.field(default_factory=dict)
    deliveries: DeliveryCounts = msgspec.field(default_factory=DeliveryCounts)
