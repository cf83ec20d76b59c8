"""``inventory db upgrade``: apply every pending migration."""

from __future__ import annotations

import argparse

from api.cli.terminal import CommandGroups, say
from inventory.config import Settings
from inventory.store.migrate import upgrade


def add_commands(groups: CommandGroups) -> None:
    """Add ``db upgrade``."""
    db = groups.add_parser("db", help="数据库 database")
    db.add_subparsers(dest="db_command", required=True).add_parser("upgrade", help="apply migrations")
    db.set_defaults(handler=run)


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Run ``db upgrade``."""
    return upgrade_database(settings)


def upgrade_database(settings: Settings) -> int:
    """Apply every pending migration."""
    say(f"数据库迁移 migrating {_redact(settings.database_url)} …")
    upgrade(settings.database_url)
    say("数据库已是最新结构 database is up to date")
    return 0


def _redact(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        creds, _, host = rest.rpartition("@")
        user = creds.split(":", 1)[0]
        return f"{scheme}{sep}{user}:***@{host}"
    return url
