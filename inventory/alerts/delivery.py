"""Sending queued deliveries: a signed webhook POST or an e-mail, retried with backoff until it arrives.

Each due delivery is first *claimed* with a conditional UPDATE (its attempt counted, its next attempt
pushed a few minutes on), so two processes never send the same one at once; then it is sent outside any
transaction, in a worker thread (``urllib`` and ``smtplib`` from the standard library); then the outcome is
written: ``delivered_at``, or ``last_error`` and the next attempt after 1, 2, 4 … minutes (at most an
hour apart). Nothing is dropped: a delivery is tried until it arrives. After one failure to a target, the
other deliveries to it wait for the next round instead of each waiting for the same timeout.

The service only ever calls the URLs and the SMTP server it is configured with (a county gateway, an
intranet relay), never a public cloud endpoint of its own accord.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.alerts.config import AlertConfig
from inventory.alerts.kinds import Clock, clip
from inventory.alerts.messages import SIGNATURE_HEADER, email_text, sign
from inventory.alerts.recipients import Webhook, own_webhooks
from inventory.store.db import Database
from inventory.store.models import Alert, AlertDelivery

CLAIM = dt.timedelta(minutes=5)  # a claimed delivery is not picked again for this long (a crashed sender's)
BATCH = 100


class DeliveryError(Exception):
    """A delivery did not arrive; the message says why (kept as ``last_error``)."""


@dataclass
class Outcome:
    """What one round of sending did."""

    delivered: int = 0
    failed: int = 0
    waiting: int = 0


def backoff(attempts: int, config: AlertConfig) -> dt.timedelta:
    """The wait before the next attempt after ``attempts`` failed ones: 1, 2, 4 … minutes, at most an hour."""
    seconds = config.retry_base_seconds * 2 ** max(0, min(attempts - 1, 20))
    return dt.timedelta(seconds=min(seconds, config.retry_max_seconds))


def post_webhook(url: str, body: bytes, headers: dict[str, str], timeout: float) -> None:
    """POST the body; DeliveryError unless the receiver answers 2xx."""
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            status = answer.status
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"webhook 返回 HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryError(f"webhook 无法送达：{getattr(exc, 'reason', exc)}") from exc
    if not 200 <= status < 300:
        raise DeliveryError(f"webhook 返回 HTTP {status}")


def send_email(config: AlertConfig, to: str, subject: str, text: str, message_id: str) -> None:
    """Send one plain-text e-mail through the configured SMTP server; DeliveryError on any failure."""
    if not config.smtp_host:
        raise DeliveryError("未配置 SMTP 服务器（INVENTORY_SMTP_HOST）")
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = config.smtp_from, to, subject
    mail["Date"], mail["Message-ID"] = formatdate(localtime=False), message_id
    mail.set_content(text, cte="base64")  # any relay passes it, 8BITMIME or not
    try:
        with smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=config.send_timeout_seconds) as smtp:
            if config.smtp_starttls:
                smtp.starttls()
            if config.smtp_user and config.smtp_password:
                smtp.login(config.smtp_user, config.smtp_password)
            smtp.send_message(mail)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"邮件无法送达：{exc}") from exc


async def _send(d: AlertDelivery, secret: str | None, config: AlertConfig, clock: Clock) -> None:
    body = d.payload.encode()
    if d.channel == "email":
        data = json.loads(d.payload)
        msgid = make_msgid(idstring=f"alert-delivery-{d.id}", domain="inventory.local")
        await asyncio.to_thread(send_email, config, d.target, data["subject"], email_text(data), msgid)
        return
    if not secret:
        raise DeliveryError("未配置 webhook 签名密钥（INVENTORY_ALERT_WEBHOOK_SECRET），不发送未签名的消息")
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "inventory-alerts/1",
               SIGNATURE_HEADER: sign(secret, int(clock.now.timestamp()), body),
               "X-Inventory-Delivery": str(d.id), "X-Inventory-Event": d.kind}
    await asyncio.to_thread(post_webhook, d.target, body, headers, config.send_timeout_seconds)


async def _claim(db: Database, d: AlertDelivery, clock: Clock) -> bool:
    """Count the attempt and hold the delivery for a while; False when another process took it first."""
    async with db.write() as session:
        result = await session.execute(
            update(AlertDelivery).where(AlertDelivery.id == d.id, AlertDelivery.delivered_at.is_(None),
                                        AlertDelivery.next_attempt_at == d.next_attempt_at)
            .values(attempts=AlertDelivery.attempts + 1, next_attempt_at=clock.now + CLAIM)
            .execution_options(synchronize_session=False))
        return bool(getattr(result, "rowcount", 0) == 1)


async def _record(db: Database, d: AlertDelivery, error: str | None, clock: Clock, config: AlertConfig) -> None:
    async with db.write() as session:
        if error is None:
            await session.execute(update(AlertDelivery).where(AlertDelivery.id == d.id)
                                  .values(delivered_at=clock.now, last_error="")
                                  .execution_options(synchronize_session=False))
            await session.execute(update(Alert).where(Alert.id.in_([int(i) for i in d.alert_ids]))
                                  .values(last_sent=clock.now).execution_options(synchronize_session=False))
        else:
            await session.execute(update(AlertDelivery).where(AlertDelivery.id == d.id)
                                  .values(last_error=clip(error, 500),
                                          next_attempt_at=clock.now + backoff(d.attempts + 1, config))
                                  .execution_options(synchronize_session=False))


def _secret_for(d: AlertDelivery, own: dict[int, Webhook], config: AlertConfig) -> str | None:
    """The secret that signs a webhook delivery: its recipient's own webhook's, or the service's."""
    mine = own.get(d.user_id)
    if mine is not None and mine.url == d.target:
        return mine.secret
    return config.webhook_secret if d.target == config.webhook_url else None


async def deliver_due(db: Database, clock: Clock, config: AlertConfig, *, limit: int = BATCH) -> Outcome:
    """Send the deliveries that are due; record each outcome."""
    async with db.read() as session:
        due = list(await session.scalars(
            select(AlertDelivery)
            .where(AlertDelivery.delivered_at.is_(None), AlertDelivery.next_attempt_at <= clock.now)
            .order_by(AlertDelivery.next_attempt_at, AlertDelivery.id).limit(limit)))
        own = await own_webhooks(session) if due else {}
    outcome = Outcome()
    down: set[str] = set()
    for d in due:
        if d.target in down or not await _claim(db, d, clock):
            continue
        try:
            await _send(d, _secret_for(d, own, config), config, clock)
        except DeliveryError as exc:
            down.add(d.target)
            outcome.failed += 1
            await _record(db, d, str(exc), clock, config)
        else:
            outcome.delivered += 1
            await _record(db, d, None, clock, config)
    async with db.read() as session:
        outcome.waiting = await waiting(session)
    return outcome


async def waiting(session: AsyncSession) -> int:
    """Deliveries not yet arrived."""
    return await session.scalar(select(func.count()).select_from(AlertDelivery)
                                .where(AlertDelivery.delivered_at.is_(None))) or 0
