"""``inventory alerts run | recipient`` against a real database: what a cron run prints, and a person's channels."""

from __future__ import annotations

import asyncio
import io
import sys
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import select

from api.cli import main
from inventory.alerts.recipients import own_webhooks
from inventory.store.db import Database
from inventory.store.models import User
from tests.alerts_support import make_world, receive
from tests.integration.test_alert_delivery import SECRET, Receiver, add_user, free_port, morning, two_lots

Cli = Callable[..., Awaitable[tuple[int, str]]]


@pytest.fixture
def cli(db: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    """``await cli(*argv, stdin=…)`` → (exit code, what was printed), on this test's database."""
    monkeypatch.setenv("INVENTORY_DATABASE_URL", db.url)
    monkeypatch.setenv("INVENTORY_PUBLIC_URL", "http://inventory.test")
    for name in ("INVENTORY_ALERT_WEBHOOK_URL", "INVENTORY_ALERT_WEBHOOK_SECRET", "INVENTORY_SMTP_HOST"):
        monkeypatch.delenv(name, raising=False)

    async def run(*argv: str, stdin: str = "") -> tuple[int, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = await asyncio.to_thread(main, list(argv))  # main calls asyncio.run
        return code, capsys.readouterr().out

    return run


async def test_a_cron_run_prints_what_it_found_and_what_it_delivered(
    db: Database, cli: Cli, monkeypatch: pytest.MonkeyPatch,
) -> None:
    w = await make_world(db)
    await two_lots(db, w)
    await add_user(db, "commander-nc", "commander", regions=("3601",))
    gateway = Receiver(free_port(), SECRET).start()
    try:
        monkeypatch.setenv("INVENTORY_ALERT_WEBHOOK_URL", gateway.url)
        monkeypatch.setenv("INVENTORY_ALERT_WEBHOOK_SECRET", SECRET)
        code, out = await cli("alerts", "run", "--at", morning(1).isoformat())
        assert code == 0, out
        assert "新增 opened 2" in out and "过期批次仍在库 lot_expired: 1" in out and "临期批次 lot_expiring: 1" in out
        assert "新排队 queued 2" in out and "已送达 delivered 2" in out and "待重试 waiting 0" in out
        assert len(gateway.received) == 2
        code, out = await cli("alerts", "run", "--at", morning(1, 10).isoformat(), "--no-send")
        assert code == 0 and "新增 opened 0" in out and "仍存在 still open 2" in out and "未发送" in out
    finally:
        gateway.stop()
    code, out = await cli("alerts", "run", "--at", "2026-12-05T08:00:00")
    assert code == 2 and "带时区" in out
    monkeypatch.setenv("INVENTORY_ALERT_DIGEST_HOUR", "24")
    code, out = await cli("alerts", "run")
    assert code == 2 and "INVENTORY_ALERT_DIGEST_HOUR" in out


async def test_a_recipient_gets_an_e_mail_address_and_a_webhook_of_their_own(db: Database, cli: Cli) -> None:
    w = await make_world(db)
    await receive(db, w.depot_in, w.tent, 1)
    user = await add_user(db, "keeper-ncx", "keeper", regions=("360121",))
    code, out = await cli("alerts", "recipient", "keeper-ncx", "--email", "baoguan@ncx.gov.cn")
    assert code == 0 and "baoguan@ncx.gov.cn" in out, out
    code, out = await cli("alerts", "recipient", "keeper-ncx", "--webhook-url", "http://10.1.2.3:8080/relay",
                          stdin="a-secret-long-enough\n")
    assert code == 0, out
    async with db.read() as s:
        assert await s.scalar(select(User.email).where(User.id == user)) == "baoguan@ncx.gov.cn"
        hooks = await own_webhooks(s)
    assert (hooks[user].url, hooks[user].secret) == ("http://10.1.2.3:8080/relay", "a-secret-long-enough")
    code, out = await cli("alerts", "recipient", "keeper-ncx", "--email", "not-an-address")
    assert code == 1 and "email" in out
    code, out = await cli("alerts", "recipient", "keeper-ncx", "--webhook-url", "ftp://x",
                          stdin="a-secret-long-enough\n")
    assert code == 1 and "webhook_url" in out
    code, out = await cli("alerts", "recipient", "keeper-ncx", "--webhook-url", "http://x/", stdin="short\n")
    assert code == 2 and "16" in out
    code, out = await cli("alerts", "recipient", "nobody", "--no-email")
    assert code == 1 and "nobody" in out
    code, out = await cli("alerts", "recipient", "keeper-ncx", "--no-email", "--no-webhook")
    assert code == 0
    async with db.read() as s:
        assert await s.scalar(select(User.email).where(User.id == user)) is None
        assert user not in await own_webhooks(s)
