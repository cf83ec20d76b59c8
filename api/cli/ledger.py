"""``inventory ledger verify``: recompute every balance from the ledger; non-zero exit when anything disagrees."""

from __future__ import annotations

import argparse
import asyncio

from api.cli.terminal import CommandGroups, say
from inventory.config import Settings
from inventory.store.db import Database


def add_commands(groups: CommandGroups) -> None:
    """Add ``ledger verify``."""
    ledger = groups.add_parser("ledger", help="出入库流水 stock ledger")
    ledger.add_subparsers(dest="ledger_command", required=True).add_parser(
        "verify", help="recompute every balance from the ledger and compare")
    ledger.set_defaults(handler=run)


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Recompute balances from the ledger; non-zero exit when anything disagrees."""
    return asyncio.run(_verify(settings))


async def _verify(settings: Settings) -> int:
    from inventory.stock.verify import verify_ledger

    db = Database(settings.database_url)
    try:
        async with db.read() as session:
            report = await verify_ledger(session)
    finally:
        await db.dispose()
    if report.ok:
        say(f"账实相符 ledger OK: {report.movements} 条流水, {report.balances} 条余额, 无差异 no differences")
        return 0
    say(f"发现 {len(report.differences)} 处差异 differences found "
        f"({report.movements} movements, {report.balances} balances):")
    for d in report.differences:
        lot = f" 批次 lot {d.lot_id}" if d.lot_id else ""
        source = "库存 stock" if d.figure.startswith("site_stock") else "流水 ledger"
        say(f"  地点 location {d.location_id} 品目 item {d.item_type_id}{lot} {d.figure}: "
            f"账面 stored {d.stored} ≠ {source} {d.expected}")
    return 1
