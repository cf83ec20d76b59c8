"""One run of alerts — compute, queue deliveries, send what is due — and the timer ``serve`` runs it on.

``inventory alerts run`` (cron) and the timer inside ``serve`` call :func:`run_alerts`. On PostgreSQL the
computing and queueing happen in one transaction holding ``pg_try_advisory_xact_lock``: with several
server processes only one computes at a time and the others skip that round (they still send what is
due: sending claims each delivery itself). On SQLite the sources read in a read transaction and the
changes and queued messages are written in one write transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable

from sqlalchemy import func, select

from inventory.alerts.compute import Changes, apply, clock_at, collect, try_lock
from inventory.alerts.config import AlertConfig
from inventory.alerts.delivery import deliver_due
from inventory.alerts.outbox import queue_deliveries
from inventory.alerts.schemas import DeliveryCounts, RunReport
from inventory.store.db import Database
from inventory.store.models import Alert, utcnow

log = logging.getLogger("inventory.alerts")
TICK_SECONDS = 60  # deliveries due for a retry are sent at least this often


async def compute_alerts(db: Database, now: dt.datetime, config: AlertConfig,
                         public_url: str) -> tuple[Changes, int] | None:
    """Bring the alerts up to date and queue their deliveries; None when another process is computing."""
    clock = clock_at(now)
    if db.is_sqlite:
        async with db.heavy_read() as session:  # it reads every source in full: off the event loop of serve
            collected = await collect(session, clock, config)
        async with db.write() as session:
            changes = await apply(session, collected, clock)
            return changes, await queue_deliveries(session, clock, config, public_url)
    async with db.write() as session:
        if not await try_lock(session):
            return None
        changes = await apply(session, await collect(session, clock, config), clock)
        return changes, await queue_deliveries(session, clock, config, public_url)


async def run_alerts(db: Database, config: AlertConfig, public_url: str, *, now: dt.datetime | None = None,
                     send: bool = True) -> RunReport:
    """Compute alerts, queue their deliveries and (``send``) send what is due; what it did."""
    now = now or utcnow()
    done = await compute_alerts(db, now, config, public_url)
    report = RunReport(at=now, computed=done is not None)
    if done is not None:
        changes, queued = done
        report.opened, report.reopened, report.seen_again = changes.opened, changes.reopened, changes.seen_again
        report.resolved, report.failed_sources, report.by_kind = (changes.resolved, changes.failed_sources,
                                                                   changes.by_kind)
        report.deliveries.queued = queued
    if send:
        outcome = await deliver_due(db, clock_at(now), config)
        report.deliveries = DeliveryCounts(report.deliveries.queued, outcome.delivered, outcome.failed,
                                           outcome.waiting)
    async with db.read() as session:
        report.open_total = await session.scalar(select(func.count()).select_from(Alert).where(
            Alert.resolved_at.is_(None), Alert.acknowledged_at.is_(None))) or 0
    return report


async def run_periodically(db: Database, config: AlertConfig, public_url: str, *,
                           clock: Callable[[], dt.datetime] = utcnow) -> None:
    """Compute every ``every_minutes`` and send what is due every minute, until cancelled."""
    last_compute: dt.datetime | None = None
    period = dt.timedelta(minutes=config.every_minutes)
    while True:
        now = clock()
        try:
            if last_compute is None or now - last_compute >= period:
                report = await run_alerts(db, config, public_url, now=now)
                last_compute = now
                log.info("alerts: %d opened, %d resolved, %d open; %d queued, %d delivered, %d failed",
                         report.opened, report.resolved, report.open_total, report.deliveries.queued,
                         report.deliveries.delivered, report.deliveries.failed)
            else:
                await deliver_due(db, clock_at(now), config)
        except asyncio.CancelledError:
            raise
        except Exception:  # a bad round is logged; the next one tries again
            log.exception("alerts run failed")
        await asyncio.sleep(min(TICK_SECONDS, period.total_seconds()))


@contextlib.asynccontextmanager
async def alert_timer(db: Database, config: AlertConfig, public_url: str) -> AsyncIterator[None]:
    """Run :func:`run_periodically` in the background for the life of the block; cancelled on leaving it."""
    if config.every_minutes <= 0:
        yield
        return
    task = asyncio.get_running_loop().create_task(run_periodically(db, config, public_url), name="alert-timer")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
