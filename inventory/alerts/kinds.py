"""The registry of alert kinds: what each is called, who it is for, and the query (source) that finds it.

A *source* is one query over the data that yields :class:`Found` conditions for the kinds it owns (lots
expiring and expired come from one query over balances). Computing alerts runs every source; an open
alert of a kind whose source ran and did not find it again is resolved. A source that fails resolves
nothing (its alerts stay as they were until it runs again). A new kind is a :class:`Kind` in
:data:`KINDS` and a :class:`Source` added to :data:`SOURCES` by :mod:`inventory.alerts.registry`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from inventory.alerts.config import AlertConfig

Severity = Literal["high", "normal"]
KEEPERS_UP: Final = frozenset({"admin", "commander", "keeper"})
COMMAND: Final = frozenset({"admin", "commander"})


@dataclass(frozen=True)
class Kind:
    """One kind of alert: its Chinese name and the roles it is for (auditors see every kind, receive none)."""

    name: str
    zh: str
    audience: frozenset[str]


KINDS: Final[dict[str, Kind]] = {k.name: k for k in (
    Kind("lot_expired", "过期批次仍在库", KEEPERS_UP),
    Kind("lot_expiring", "临期批次", KEEPERS_UP),
    Kind("quota_below", "低于储备定额", KEEPERS_UP),
    Kind("quota_warning", "接近储备定额下限", KEEPERS_UP),
    Kind("check_overdue", "装备检查逾期", KEEPERS_UP),
    Kind("check_due", "装备检查即将到期", KEEPERS_UP),
    Kind("lease_overdue", "租借逾期未还", KEEPERS_UP),
    Kind("lease_due", "租借即将到期", KEEPERS_UP),
    Kind("transfer_in_transit", "调拨在途超期", KEEPERS_UP),
    Kind("paperwork_overdue", "动用指令书面手续逾期", COMMAND),
    Kind("agreement_expiring", "协议储备即将到期", COMMAND),
    Kind("agreement_check_due", "协议储备检查到期", COMMAND),
    Kind("settlement_overdue", "协议调用结算逾期", COMMAND),
    Kind("settlement_due", "协议调用待结算", COMMAND),
)}
SEVERITY_ZH: Final = {"high": "紧急", "normal": "一般"}


@dataclass(frozen=True)
class Found:
    """A condition found by a source: one alert row, identified by its dedupe key."""

    kind: str
    dedupe_key: str
    severity: Severity
    subject_type: str
    subject_id: int
    region_code: str
    location_id: int | None
    title: str
    detail: str = ""
    due_on: dt.date | None = None


@dataclass(frozen=True)
class Clock:
    """The moment a computation runs for, and that moment's date in Beijing time."""

    now: dt.datetime
    today: dt.date


Finder = Callable[[AsyncSession, Clock, AlertConfig], Awaitable[list[Found]]]


@dataclass(frozen=True)
class Source:
    """One query that finds the conditions of ``kinds``."""

    name: str
    kinds: tuple[str, ...]
    find: Finder


def audience_kinds(role: str) -> frozenset[str]:
    """The kinds a role sees: every kind for admins and auditors, else those whose audience holds the role."""
    if role in ("admin", "auditor"):
        return frozenset(KINDS)
    return frozenset(name for name, k in KINDS.items() if role in k.audience)


def clip(text: str, length: int) -> str:
    """``text`` cut to ``length`` characters, with an ellipsis when cut."""
    return text if len(text) <= length else text[:length - 1] + "…"
