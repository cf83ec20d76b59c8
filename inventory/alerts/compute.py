"""Computing alerts: run every source, then upsert the rows by dedupe key and resolve what was not found.

Idempotent: a second run at the same moment finds the same conditions and changes only ``last_seen``.
A condition found for the first time is a new row; one found again stays the same row; an open alert of a
kind whose source ran and did not find it is resolved (``resolved_at``) on its own. **Reopening:** a
resolved alert whose dedupe key is found again is reopened — the same row, ``resolved_at`` and the
acknowledgement cleared, ``times_opened`` counted up, and (if high) delivered again — rather than a new
row, so the dedupe key stays unique and the alert keeps its history. Dedupe keys carry the date that makes
a condition what it is (a lease's due date, a lot's expiry), so an extended lease or a new check date is a
new alert, while stock of an expired lot that comes back is the old alert reopened.

On PostgreSQL only one process computes at a time: the transaction takes ``pg_try_advisory_xact_lock``
and a process that does not get it skips the run. On SQLite the sources read in a read transaction and
the changes are written in one write transaction (one writer at a time).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.alerts.config import AlertConfig
from inventory.alerts.kinds import Clock, Found, Source
from inventory.alerts.registry import SOURCES
from inventory.stock.documents import CHINA
from inventory.store.db import dialect_name
from inventory.store.models import Alert

log = logging.getLogger("inventory.alerts")
LOCK_KEY = 0x696E765F616C7274  # "inv_alrt": the advisory lock every process of one database agrees on
_IN_CHUNK = 500
_OFF_LOOP = 2000  # more changes than this are worked out in a thread, off the event loop


@dataclass
class Collected:
    """What the sources found, which kinds were looked for, and which sources failed."""

    found: dict[str, Found] = field(default_factory=dict)
    kinds_checked: set[str] = field(default_factory=set)
    failed: list[str] = field(default_factory=list)


@dataclass
class Changes:
    """What a run did to the alert rows."""

    opened: int = 0
    reopened: int = 0
    seen_again: int = 0
    resolved: int = 0
    failed_sources: list[str] = field(default_factory=list)
    by_kind: dict[str, int] = field(default_factory=dict)  # conditions found per kind


async def try_lock(session: AsyncSession) -> bool:
    """PostgreSQL: take the alerts' advisory lock for this transaction, or False when another process has it."""
    if dialect_name(session) != "postgresql":
        return True
    return bool(await session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": LOCK_KEY}))


async def collect(session: AsyncSession, clock: Clock, config: AlertConfig,
                  sources: Sequence[Source] = SOURCES) -> Collected:
    """Run every source; a failing one is logged and named, and its kinds are left as they were."""
    out = Collected()
    for source in sources:
        try:
            async with session.begin_nested():
                found = await source.find(session, clock, config)
        except Exception:
            log.exception("alert source %s failed", source.name)
            out.failed.append(source.name)
            continue
        out.kinds_checked.update(source.kinds)
        for f in found:
            out.found[f.dedupe_key] = f
    return out


_FIELDS = ("kind", "severity", "subject_type", "subject_id", "region_code", "location_id", "title", "detail",
           "due_on")


def _same(row: Alert, f: Found) -> bool:
    return all(getattr(row, name) == getattr(f, name) for name in _FIELDS)


def work_out(existing: list[Alert], collected: Collected) -> tuple[list[Found], list[Alert], list[Alert], list[Alert]]:
    """(new conditions, rows found again, rows to reopen, rows to resolve) — no I/O."""
    by_key = {row.dedupe_key: row for row in existing}
    new = [f for key, f in collected.found.items() if key not in by_key]
    again: list[Alert] = []
    reopen: list[Alert] = []
    resolve: list[Alert] = []
    for row in existing:
        if row.dedupe_key in collected.found:
            (reopen if row.resolved_at is not None else again).append(row)
        elif row.resolved_at is None and row.kind in collected.kinds_checked:
            resolve.append(row)
    return new, again, reopen, resolve


async def _existing(session: AsyncSession, keys: list[str]) -> list[Alert]:
    """Every unresolved alert, and the resolved ones whose key was found again."""
    rows = {a.id: a for a in await session.scalars(select(Alert).where(Alert.resolved_at.is_(None)))}
    for start in range(0, len(keys), _IN_CHUNK):
        chunk = keys[start:start + _IN_CHUNK]
        for a in await session.scalars(select(Alert).where(Alert.dedupe_key.in_(chunk),
                                                           Alert.resolved_at.is_not(None))):
            rows[a.id] = a
    return list(rows.values())


async def apply(session: AsyncSession, collected: Collected, clock: Clock) -> Changes:
    """Upsert the found conditions by dedupe key, reopen the resolved ones found again, resolve the rest."""
    existing = await _existing(session, list(collected.found))
    if len(existing) + len(collected.found) > _OFF_LOOP:
        new, again, reopen, resolve = await asyncio.to_thread(work_out, existing, collected)
    else:
        new, again, reopen, resolve = work_out(existing, collected)
    now = clock.now
    for f in new:
        session.add(Alert(**{name: getattr(f, name) for name in _FIELDS}, dedupe_key=f.dedupe_key, first_seen=now,
                          last_seen=now, opened_at=now, times_opened=1))
    for row in again + reopen:
        f = collected.found[row.dedupe_key]
        if not _same(row, f):
            for name in _FIELDS:
                setattr(row, name, getattr(f, name))
        row.last_seen = now
    for row in reopen:
        row.resolved_at = row.acknowledged_at = row.acknowledged_by = row.notified_at = None
        row.opened_at = now
        row.times_opened += 1
    for row in resolve:
        row.resolved_at = now
    await session.flush()
    by_kind: dict[str, int] = {}
    for f in collected.found.values():
        by_kind[f.kind] = by_kind.get(f.kind, 0) + 1
    return Changes(opened=len(new), reopened=len(reopen), seen_again=len(again), resolved=len(resolve),
                   failed_sources=list(collected.failed), by_kind=dict(sorted(by_kind.items())))


def clock_at(now: dt.datetime) -> Clock:
    """The Clock of an aware datetime: the moment and its date in Beijing time."""
    if now.tzinfo is None:
        raise ValueError("alerts run at an aware time (UTC or +08:00)")
    return Clock(now=now, today=now.astimezone(CHINA).date())
