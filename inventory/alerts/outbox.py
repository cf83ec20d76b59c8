"""Queueing deliveries: one digest per recipient and channel per day, and high-severity alerts at once.

Runs in the computation's transaction (under its lock), right after the alerts are brought up to date:

- **urgent** — every open high-severity alert not yet notified (new, or reopened) goes at once to each
  recipient who may see it, all of one run in one message per channel; the alerts are then marked
  ``notified_at``, so the next run does not send them again;
- **digest** — from ``digest_hour`` (Beijing time) on, each recipient with open alerts they may see gets
  one digest per channel per day (key ``digest:<day>:<user>:<channel>``; a second run that day finds
  the key and queues nothing).

Each message is stored with its body in ``alert_deliveries``; :mod:`inventory.alerts.delivery` sends it and
retries it until it arrives.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.alerts.config import AlertConfig
from inventory.alerts.kinds import Clock
from inventory.alerts.messages import AlertLine, encode, message
from inventory.alerts.recipients import Recipient, recipients
from inventory.alerts.visibility import sees
from inventory.stock.documents import CHINA
from inventory.store.models import Alert, AlertDelivery, Location

_OFF_LOOP = 50_000  # recipients × alerts beyond which choosing runs in a thread


@dataclass(frozen=True)
class OpenAlert:
    """An open alert with what choosing its recipients needs."""

    line: AlertLine
    location_path: str | None
    notified: bool


@dataclass(frozen=True)
class Planned:
    """One message to queue."""

    recipient: Recipient
    event: str  # digest | urgent
    lines: tuple[AlertLine, ...]


def choose(people: Sequence[Recipient], alerts: Sequence[OpenAlert], *, digest: bool) -> list[Planned]:
    """Who gets which alerts this run — no I/O."""
    planned = []
    for person in people:
        mine = [a for a in alerts if sees(person.viewer, a.line.kind, a.line.region_code, a.location_path)]
        urgent = tuple(a.line for a in mine if a.line.severity == "high" and not a.notified)
        if urgent:
            planned.append(Planned(person, "urgent", urgent))
        if digest and mine:
            planned.append(Planned(person, "digest", tuple(a.line for a in mine)))
    return planned


async def _open_alerts(session: AsyncSession) -> list[OpenAlert]:
    rows = await session.execute(
        select(Alert, Location.path).outerjoin(Location, Location.id == Alert.location_id)
        .where(Alert.resolved_at.is_(None), Alert.acknowledged_at.is_(None))
        .order_by(Alert.severity != "high", Alert.due_on.is_(None), Alert.due_on, Alert.id))
    return [OpenAlert(AlertLine(a.id, a.kind, a.severity, a.title, a.detail, a.region_code, a.location_id,
                                a.due_on, a.first_seen), path, a.notified_at is not None)
            for a, path in rows]


def _recipient_fields(r: Recipient) -> dict[str, object]:
    return {"user_id": r.user_id, "username": r.username, "display_name": r.display_name, "role": r.role,
            "phone": r.phone, "email": r.email}


async def queue_deliveries(session: AsyncSession, clock: Clock, config: AlertConfig, public_url: str) -> int:
    """Queue this run's urgent messages and (from the digest hour) today's digests; how many were queued."""
    alerts = await _open_alerts(session)
    unsent = [a.line.id for a in alerts if a.line.severity == "high" and not a.notified]
    local = clock.now.astimezone(CHINA)
    digest = local.hour >= config.digest_hour
    people = await recipients(session, config) if alerts and (unsent or digest) else []
    if len(people) * len(alerts) > _OFF_LOOP:
        planned = await asyncio.to_thread(choose, people, alerts, digest=digest)
    else:
        planned = choose(people, alerts, digest=digest)
    sent_today = set(await session.scalars(select(AlertDelivery.key).where(
        AlertDelivery.kind == "digest", AlertDelivery.digest_day == clock.today)))
    queued = 0
    for p in planned:
        for channel, target in p.recipient.channels:
            if p.event == "digest":
                key = f"digest:{clock.today}:{p.recipient.user_id}:{channel}"
                if key in sent_today:
                    continue
            else:
                key = f"urgent:{clock.now.isoformat()}:{p.recipient.user_id}:{channel}:{p.lines[0].id}"
            body = message(p.event, key, _recipient_fields(p.recipient), list(p.lines), at=clock.now,
                           day=clock.today, public_url=public_url)
            session.add(AlertDelivery(
                key=key, kind=p.event, user_id=p.recipient.user_id, channel=channel, target=target,
                digest_day=clock.today if p.event == "digest" else None, alert_ids=[a.id for a in p.lines],
                payload=encode(body), attempts=0, next_attempt_at=clock.now, last_error="", created_at=clock.now))
            queued += 1
    for start in range(0, len(unsent), 500):
        await session.execute(update(Alert).where(Alert.id.in_(unsent[start:start + 500]))
                              .values(notified_at=clock.now).execution_options(synchronize_session=False))
    await session.flush()
    return queued
