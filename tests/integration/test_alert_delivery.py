"""Alert deliveries against real local receivers: an HTTP server that checks every signature, and an SMTP
server (aiosmtpd). One digest per person per day, high severity at once, each person only what they may see;
a receiver that is down gets nothing lost: the delivery is retried with backoff and arrives exactly once."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import email
import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from inventory.alerts.compute import clock_at
from inventory.alerts.config import AlertConfig
from inventory.alerts.delivery import deliver_due
from inventory.alerts.messages import verify
from inventory.alerts.recipients import Webhook, set_own_webhook
from inventory.alerts.runner import run_alerts
from inventory.alerts.schemas import RunReport
from inventory.stock.documents import CHINA
from inventory.store.db import Database
from inventory.store.models import Alert, AlertDelivery, User
from tests.alerts_support import TODAY, World, day, make_world, receive, run

SECRET = "county-gateway-secret-0001"
KEEPER_SECRET = "keeper-own-secret-0002"


def morning(days: int, hour: int = 9) -> dt.datetime:
    """``hour`` o'clock Beijing time, ``days`` after today."""
    return dt.datetime.combine(TODAY + dt.timedelta(days=days), dt.time(hour), CHINA)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


class Receiver:
    """A webhook receiver in a thread: checks each signature with its secret, answers 204 (or 401 if wrong)."""

    def __init__(self, port: int, secret: str) -> None:
        self.port, self.secret = port, secret
        self.received: list[dict[str, Any]] = []
        self.refused = 0
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                header = self.headers.get("X-Inventory-Signature", "")
                parts = dict(p.split("=", 1) for p in header.split(","))
                mac = hmac.new(receiver.secret.encode(), parts.get("t", "").encode() + b"." + body,
                               hashlib.sha256).hexdigest()
                if not hmac.compare_digest(mac, parts.get("v1", "")):
                    receiver.refused += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                receiver.received.append({"body": json.loads(body), "raw": body, "signature": header,
                                          "delivery": self.headers["X-Inventory-Delivery"],
                                          "event": self.headers["X-Inventory-Event"],
                                          "type": self.headers["Content-Type"]})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    made: list[Receiver] = []
    yield made
    for r in made:
        r.stop()


class Mailbox:
    """aiosmtpd's handler: keeps every message."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


async def add_user(db: Database, username: str, role: str, *, regions: tuple[str, ...] = (),
                   email_to: str | None = None) -> int:
    async with db.write() as s:
        user = User(username=username, display_name=username, phone="13800000000", role=role,
                    scope_regions=list(regions), scope_locations=[], active=True, password_hash="x", email=email_to)
        s.add(user)
        await s.flush()
        return user.id


async def two_lots(db: Database, w: World) -> None:
    """An expired lot in 南昌县 (high) and an expiring one in 东湖区 (normal), as of tomorrow."""
    await receive(db, w.depot_in, w.water, 5, lot="W1", expiry=day(0))
    await receive(db, w.depot_out, w.water, 5, lot="W2", expiry=day(5))


async def deliveries(db: Database) -> list[AlertDelivery]:
    async with db.read() as s:
        return list(await s.scalars(select(AlertDelivery).order_by(AlertDelivery.id)))


async def test_each_person_gets_what_they_may_see_signed_urgent_at_once_and_one_digest_a_day(
    db: Database, receivers: list[Receiver],
) -> None:
    w = await make_world(db)
    await two_lots(db, w)
    gateway = Receiver(free_port(), SECRET).start()
    own = Receiver(free_port(), KEEPER_SECRET).start()
    receivers += [gateway, own]
    keeper = await add_user(db, "keeper-ncx", "keeper", regions=("360121",))
    commander = await add_user(db, "commander-nc", "commander", regions=("3601",))
    await add_user(db, "auditor", "auditor")  # reads alerts, receives none
    async with db.write() as s:
        await set_own_webhook(s, keeper, Webhook(own.url, KEEPER_SECRET))
    config = AlertConfig(webhook_url=gateway.url, webhook_secret=SECRET)

    report = await run(db, morning(1), config, send=True)
    assert (report.deliveries.queued, report.deliveries.delivered, report.deliveries.failed) == (4, 4, 0)
    async with db.read() as s:
        alerts = {a.kind: a.id for a in await s.scalars(select(Alert))}
    by = {(m["body"]["recipient"]["username"], m["event"]): m for m in gateway.received + own.received}
    assert set(by) == {("keeper-ncx", "urgent"), ("keeper-ncx", "digest"), ("commander-nc", "urgent"),
                       ("commander-nc", "digest")}
    assert {m["body"]["recipient"]["username"] for m in own.received} == {"keeper-ncx"}, "the keeper's own hook"
    assert [a["id"] for a in by[("keeper-ncx", "digest")]["body"]["alerts"]] == [alerts["lot_expired"]]
    assert [a["id"] for a in by[("commander-nc", "urgent")]["body"]["alerts"]] == [alerts["lot_expired"]]
    assert {a["id"] for a in by[("commander-nc", "digest")]["body"]["alerts"]} == set(alerts.values())
    stamp = int(morning(1).timestamp())
    for m in by.values():
        secret = KEEPER_SECRET if m in own.received else SECRET
        assert verify(secret, m["signature"], m["raw"], now=stamp)
        assert not verify(secret, m["signature"], m["raw"] + b" ", now=stamp)
        assert m["type"].startswith("application/json") and m["body"]["recipient"]["phone"] == "13800000000"
        assert len(m["body"]["text"].encode()) <= 2048 and "过期" in m["body"]["text"]
    digest = by[("commander-nc", "digest")]["body"]
    assert digest["count"] == 2 and digest["high"] == 1 and digest["url"] == "http://inventory.test/alerts"
    async with db.read() as s:
        assert all(a.last_sent == morning(1) for a in await s.scalars(select(Alert)))

    again = await run(db, morning(1, 15), config, send=True)
    assert again.deliveries.queued == 0 and len(gateway.received) + len(own.received) == 4
    next_day = await run(db, morning(2, 7), config, send=True)
    assert next_day.deliveries.queued == 0, "before the digest hour (08:00) nothing is due"
    await run(db, morning(2), config, send=True)
    assert sorted((m["body"]["recipient"]["username"], m["event"]) for m in gateway.received + own.received
                  if m["body"]["day"] == str(day(2))) == [("commander-nc", "digest"), ("keeper-ncx", "digest")]
    assert commander and len(await deliveries(db)) == 6


async def test_a_receiver_that_is_down_gets_every_message_once_when_it_comes_back(
    db: Database, receivers: list[Receiver],
) -> None:
    w = await make_world(db)
    await two_lots(db, w)
    await add_user(db, "commander-nc", "commander", regions=("3601",))
    gateway = Receiver(free_port(), SECRET)  # not started: nothing listens on its port
    receivers.append(gateway)
    config = AlertConfig(webhook_url=gateway.url, webhook_secret=SECRET)
    t = morning(1)

    first = await run(db, t, config, send=True)
    assert (first.deliveries.queued, first.deliveries.delivered, first.deliveries.failed) == (2, 0, 1)
    tried, untried = await deliveries(db)
    assert (tried.attempts, tried.next_attempt_at, tried.delivered_at) == (1, t + dt.timedelta(seconds=60), None)
    assert "无法送达" in tried.last_error, tried.last_error
    assert (untried.attempts, untried.next_attempt_at) == (0, t), "the same target is down: not tried this round"

    soon = await deliver_due(db, clock_at(t + dt.timedelta(seconds=30)), config)
    assert (soon.delivered, soon.failed) == (0, 1)
    tried, untried = await deliveries(db)
    assert tried.attempts == 1 and untried.attempts == 1, "the first waits out its backoff; the second was tried"
    again = await deliver_due(db, clock_at(t + dt.timedelta(seconds=91)), config)
    tried, _ = await deliveries(db)
    assert again.failed == 1 and tried.attempts == 2 and tried.next_attempt_at == t + dt.timedelta(seconds=91 + 120)

    gateway.start()
    back = await deliver_due(db, clock_at(t + dt.timedelta(hours=1)), config)
    assert (back.delivered, back.failed, back.waiting) == (2, 0, 0)
    later = await deliver_due(db, clock_at(t + dt.timedelta(hours=2)), config)
    assert later.delivered == 0
    assert sorted(m["event"] for m in gateway.received) == ["digest", "urgent"]
    assert len({m["delivery"] for m in gateway.received}) == 2
    assert all(d.delivered_at == t + dt.timedelta(hours=1) and d.last_error == "" for d in await deliveries(db))


async def test_a_receiver_that_refuses_the_signature_is_recorded_and_retried(
    db: Database, receivers: list[Receiver],
) -> None:
    w = await make_world(db)
    await two_lots(db, w)
    await add_user(db, "commander-nc", "commander", regions=("3601",))
    gateway = Receiver(free_port(), "another-secret-entirely").start()
    receivers.append(gateway)
    report = await run(db, morning(1), AlertConfig(webhook_url=gateway.url, webhook_secret=SECRET), send=True)
    assert report.deliveries.failed == 1 and gateway.refused == 1 and gateway.received == []
    assert any("HTTP 401" in d.last_error for d in await deliveries(db))
    gateway.secret = SECRET  # the gateway is given the right secret
    sent = await deliver_due(db, clock_at(morning(1, 12)), AlertConfig(webhook_url=gateway.url, webhook_secret=SECRET))
    assert sent.delivered == 2 and len(gateway.received) == 2


async def test_e_mail_goes_through_smtp_and_waits_while_the_server_is_down(db: Database) -> None:
    w = await make_world(db)
    await two_lots(db, w)
    await add_user(db, "commander-nc", "commander", regions=("3601",), email_to="zhihui@yjj.nc.gov.cn")
    await add_user(db, "keeper-ncx", "keeper", regions=("360121",))  # no e-mail, no webhook: nothing to send
    port = free_port()
    config = AlertConfig(smtp_host="127.0.0.1", smtp_port=port, smtp_from="alerts@yjj.nc.gov.cn")
    t = morning(1)
    down = await run(db, t, config, send=True)
    assert (down.deliveries.queued, down.deliveries.failed) == (2, 1)
    assert all(d.channel == "email" and d.target == "zhihui@yjj.nc.gov.cn" for d in await deliveries(db))

    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        back = await deliver_due(db, clock_at(t + dt.timedelta(minutes=10)), config)
        again = await deliver_due(db, clock_at(t + dt.timedelta(minutes=20)), config)
    finally:
        controller.stop()
    assert (back.delivered, again.delivered) == (2, 0)
    assert len(mailbox.messages) == 2
    mails = [email.message_from_bytes(m.content, policy=default_policy) for m in mailbox.messages]
    subjects = sorted(str(m["Subject"]) for m in mails)
    assert subjects[0].startswith("【应急物资告警】commander-nc") and "紧急告警" in subjects[1], subjects
    assert all(m["To"] == "zhihui@yjj.nc.gov.cn" and m["From"] == "alerts@yjj.nc.gov.cn" for m in mails)
    bodies = [m.get_body(preferencelist=("plain",)).get_content() for m in mails]  # type: ignore[union-attr]
    assert all("W1" in b and "http://inventory.test/alerts" in b for b in bodies)
    assert any("W2" in b for b in bodies) and not all("W2" in b for b in bodies), "W2 only in the digest"


def test_configuration_copies_are_independent() -> None:
    config = AlertConfig()
    changed = dataclasses.replace(config, expiry_days=10)
    assert config.expiry_days_for("shelter") == 30 and changed.expiry_days_for("shelter") == 10
    assert config.expiry_days_for("water") == 15 and config.longest_expiry_days == 30


async def test_two_processes_running_at_once_send_each_message_once(
    db: Database, receivers: list[Receiver],
) -> None:
    w = await make_world(db)
    await two_lots(db, w)
    for n in range(3):
        await add_user(db, f"commander-{n}", "commander", regions=("3601",))
    gateway = Receiver(free_port(), SECRET).start()
    receivers.append(gateway)
    config = AlertConfig(webhook_url=gateway.url, webhook_secret=SECRET)

    async def other_process() -> RunReport:
        other = Database(db.url)  # a second server process on the same database, with its own event loop
        try:
            return await run_alerts(other, config, "http://inventory.test", now=morning(1))
        finally:
            await other.dispose()

    reports = await asyncio.gather(run_alerts(db, config, "http://inventory.test", now=morning(1)),
                                   asyncio.to_thread(asyncio.run, other_process()))
    assert sum(r.deliveries.queued for r in reports) == 6, "an urgent message and a digest for each of three"
    assert sum(r.deliveries.delivered for r in reports) == 6
    assert len(gateway.received) == 6
    assert len({m["body"]["key"] for m in gateway.received}) == 6
    async with db.read() as s:
        assert await s.scalar(select(func.count()).select_from(Alert)) == 2
