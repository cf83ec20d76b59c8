"""The one command-line entry point: ``inventory serve | db upgrade | demo load | ledger verify``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from inventory.config import Settings, load_settings
from inventory.db import Database
from inventory.migrate import upgrade


def _say(message: str) -> None:
    print(message, flush=True)


def cmd_db_upgrade(settings: Settings) -> int:
    """Apply every pending migration."""
    _say(f"数据库迁移 migrating {_redact(settings.database_url)} …")
    upgrade(settings.database_url)
    _say("数据库已是最新结构 database is up to date")
    return 0


async def _load_demo(settings: Settings) -> None:
    from inventory.demo import load_demo

    db = Database(settings.database_url)
    try:
        async with db.write() as session:
            await load_demo(session, progress=_say)
    finally:
        await db.dispose()


def cmd_demo_load(settings: Settings) -> int:
    """Load the Nanchang demo data (idempotent)."""
    cmd_db_upgrade(settings)
    asyncio.run(_load_demo(settings))
    return 0


async def _verify(settings: Settings) -> int:
    from inventory.verify import verify_ledger

    db = Database(settings.database_url)
    try:
        async with db.read() as session:
            report = await verify_ledger(session)
    finally:
        await db.dispose()
    if report.ok:
        _say(f"账实相符 ledger OK: {report.movements} 条流水, {report.balances} 条余额, 无差异 no differences")
        return 0
    _say(f"发现 {len(report.differences)} 处差异 differences found "
         f"({report.movements} movements, {report.balances} balances):")
    for d in report.differences:
        lot = f" 批次 lot {d.lot_id}" if d.lot_id else ""
        _say(f"  地点 location {d.location_id} 品目 item {d.item_type_id}{lot} {d.figure}: "
             f"账面 stored {d.stored} ≠ 流水 ledger {d.expected}")
    return 1


def cmd_ledger_verify(settings: Settings) -> int:
    """Recompute balances from the ledger; non-zero exit when anything disagrees."""
    return asyncio.run(_verify(settings))


def cmd_serve(settings: Settings, host: str, port: int, demo: bool) -> int:
    """Migrate, optionally load the demo, then serve HTTP."""
    import uvicorn

    from api.app import create_app

    cmd_db_upgrade(settings)
    if demo:
        asyncio.run(_load_demo(settings))
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    _say(f"服务地址 listening on http://{shown}:{port}/  (API: /api/v1, OpenAPI: /schema/openapi.json)")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info", access_log=False)
    return 0


def _redact(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        creds, _, host = rest.rpartition("@")
        user = creds.split(":", 1)[0]
        return f"{scheme}{sep}{user}:***@{host}"
    return url


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests)."""
    parser = argparse.ArgumentParser(prog="inventory", description="应急物资装备管理 emergency inventory service")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="启动服务 start the HTTP service (applies migrations first)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--demo", action="store_true", help="load the Nanchang demo data first")
    db = sub.add_parser("db", help="数据库 database")
    db.add_subparsers(dest="db_command", required=True).add_parser("upgrade", help="apply migrations")
    ledger = sub.add_parser("ledger", help="出入库流水 stock ledger")
    ledger.add_subparsers(dest="ledger_command", required=True).add_parser(
        "verify", help="recompute every balance from the ledger and compare")
    demo = sub.add_parser("demo", help="演示数据 demo data")
    demo.add_subparsers(dest="demo_command", required=True).add_parser("load", help="load demo data")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line."""
    args = build_parser().parse_args(argv)
    settings = load_settings()
    if args.command == "serve":
        return cmd_serve(settings, args.host, args.port, args.demo)
    if args.command == "db":
        return cmd_db_upgrade(settings)
    if args.command == "demo":
        return cmd_demo_load(settings)
    if args.command == "ledger":
        return cmd_ledger_verify(settings)
    return 2


if __name__ == "__main__":
    sys.exit(main())
