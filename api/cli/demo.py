"""``inventory demo load``: the Nanchang demo data (idempotent); ``serve --demo`` loads it with the demo accounts."""

from __future__ import annotations

import argparse
import asyncio

from api.cli.db import upgrade_database
from api.cli.terminal import CommandGroups, say
from inventory.config import Settings
from inventory.store.db import Database


def add_commands(groups: CommandGroups) -> None:
    """Add ``demo load``."""
    demo = groups.add_parser("demo", help="演示数据 demo data")
    demo.add_subparsers(dest="demo_command", required=True).add_parser("load", help="load demo data")
    demo.set_defaults(handler=run)


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Load the Nanchang demo data (idempotent)."""
    upgrade_database(settings)
    asyncio.run(load_demo_data(settings))
    return 0


async def load_demo_data(settings: Settings, *, with_users: bool = False) -> None:
    """Load the demo data and, ``with_users``, make the demo accounts, showing their passwords once; then compute
    the alerts, so the demo opens with a realistic list (nothing is sent)."""
    from inventory.alerts.config import load_alert_config
    from inventory.alerts.kinds import KINDS
    from inventory.alerts.runner import run_alerts
    from inventory.demo.loader import load_demo
    from inventory.demo.users import ensure_demo_users

    db = Database(settings.database_url)
    try:
        async with db.write() as session:
            await load_demo(session, progress=say)
            created = await ensure_demo_users(session) if with_users else []
        report = await run_alerts(db, load_alert_config(), settings.public_url, send=False)
    finally:
        await db.dispose()
    say(f"告警 alerts: 待处理 {report.open_total} 条 open"
        + ("（" + "，".join(f"{KINDS[k].zh} {n}" for k, n in report.by_kind.items()) + "）" if report.by_kind else ""))
    if created:
        say("演示账号 demo accounts (密码只显示这一次 passwords are shown only now):")
        for username, role, password in created:
            say(f"  {username:<24} {role:<10} {password}")
    elif with_users:
        say("演示账号已存在，密码在首次创建时已显示 (demo accounts exist; passwords were shown when created)")
