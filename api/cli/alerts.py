"""``inventory alerts run | recipient``: compute and deliver alerts (for cron), and set where a person's go."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from typing import TYPE_CHECKING

from api.cli.terminal import CommandGroups, say
from inventory.config import Settings
from inventory.store.db import Database

if TYPE_CHECKING:
    from inventory.alerts.config import AlertConfig


def add_commands(groups: CommandGroups) -> None:
    """Add ``alerts run`` and ``alerts recipient``."""
    alerts = groups.add_parser("alerts", help="告警 alerts")
    sub = alerts.add_subparsers(dest="alerts_command", required=True)
    run_cmd = sub.add_parser("run", help="compute alerts, queue and send their deliveries (prints what it did)")
    run_cmd.add_argument("--no-send", action="store_true", help="compute and queue only; send nothing")
    run_cmd.add_argument("--at", help="run as of this RFC 3339 time (default: now)")
    who = sub.add_parser("recipient", help="set a user's alert e-mail and own webhook")
    who.add_argument("name")
    who.add_argument("--email", help="address for alert e-mail")
    who.add_argument("--no-email", action="store_true", help="stop e-mail to this user")
    who.add_argument("--webhook-url", help="the user's own webhook (its secret is read from standard input)")
    who.add_argument("--no-webhook", action="store_true", help="back to the service's webhook")
    alerts.set_defaults(handler=run)


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Run one ``alerts`` command."""
    from inventory.alerts.config import load_alert_config

    try:
        config = load_alert_config()
    except ValueError as exc:
        say(f"配置错误 configuration error: {exc}")
        return 2
    if args.alerts_command == "run":
        at = None
        if args.at:
            try:
                at = dt.datetime.fromisoformat(args.at)
            except ValueError:
                at = None
            if at is None or at.tzinfo is None:
                say(f"错误 error: --at 应为带时区的 RFC 3339 时间，如 2026-12-05T08:00:00+08:00（收到 {args.at!r}）")
                return 2
        return asyncio.run(_run(settings, config, at, send=not args.no_send))
    return asyncio.run(_recipient(settings, args))


async def _run(settings: Settings, config: AlertConfig, at: dt.datetime | None, *, send: bool) -> int:
    from inventory.alerts.kinds import KINDS
    from inventory.alerts.runner import run_alerts

    db = Database(settings.database_url)
    try:
        report = await run_alerts(db, config, settings.public_url, now=at, send=send)
    finally:
        await db.dispose()
    if not report.computed:
        say("另一进程正在计算告警，本次跳过计算 (another process is computing alerts; skipped)")
    else:
        say(f"告警计算完成 alerts computed: 新增 opened {report.opened}，重新打开 reopened {report.reopened}，"
            f"仍存在 still open {report.seen_again}，已解除 resolved {report.resolved}；"
            f"待处理共 open {report.open_total}")
        for kind, n in report.by_kind.items():
            say(f"  {KINDS[kind].zh if kind in KINDS else kind} {kind}: {n}")
        for name in report.failed_sources:
            say(f"  警告 warning: 来源 {name} 计算失败，其告警保持不变 (source failed; its alerts left as they were)")
    d = report.deliveries
    sent = f"，已送达 delivered {d.delivered}，失败 failed {d.failed}" if send else "（未发送 --no-send）"
    say(f"推送 deliveries: 新排队 queued {d.queued}{sent}；待重试 waiting {d.waiting}")
    return 1 if report.failed_sources else 0


async def _recipient(settings: Settings, args: argparse.Namespace) -> int:
    from inventory.access.users import get_user_by_name
    from inventory.alerts.recipients import Webhook, set_email, set_own_webhook
    from inventory.errors import InventoryError

    secret = None
    if args.webhook_url:
        secret = sys.stdin.readline().strip()
        if len(secret) < 16:
            say("错误 error: webhook 签名密钥从标准输入读入，至少 16 个字符 (secret from stdin, ≥ 16 characters)")
            return 2
    db = Database(settings.database_url)
    try:
        async with db.write() as session:
            user = await get_user_by_name(session, args.name)
            if args.email or args.no_email:
                await set_email(session, user, None if args.no_email else args.email)
            if args.webhook_url or args.no_webhook:
                await set_own_webhook(session, user.id, Webhook(args.webhook_url, secret or "")
                                      if args.webhook_url else None)
            email, name = user.email, user.username
    except InventoryError as exc:
        say(f"错误 error: {exc.detail}")
        return 1
    finally:
        await db.dispose()
    hook = args.webhook_url or ("服务统一 webhook (service webhook)" if args.no_webhook else "未改 unchanged")
    say(f"{name}：告警邮件 e-mail {email or '无 none'}；webhook {hook}")
    return 0
