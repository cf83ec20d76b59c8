"""``inventory stocktake import`` and ``inventory import opening-balances``: counted sheets (.xlsx) in."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from api.cli.terminal import CommandGroups, say
from inventory.config import Settings
from inventory.store.db import Database


def add_commands(groups: CommandGroups) -> None:
    """Add ``stocktake import`` and ``import opening-balances``."""
    st = groups.add_parser("stocktake", help="盘点 stocktake")
    st_import = st.add_subparsers(dest="stocktake_command", required=True).add_parser(
        "import", help="import a counted sheet (.xlsx)")
    st_import.add_argument("file")
    st_import.add_argument("--stocktake", type=int, required=True, help="stocktake id")
    st_import.add_argument("--actor", default="cli", help="who imports (recorded; cannot also approve)")
    st.set_defaults(handler=run)
    imp = groups.add_parser("import", help="导入 imports")
    opening = imp.add_subparsers(dest="import_command", required=True).add_parser(
        "opening-balances", help="a new depot's existing stock from a counting-sheet-format .xlsx")
    opening.add_argument("file")
    opening.add_argument("--location", required=True, help="location code")
    opening.add_argument("--actor", default="cli")
    imp.set_defaults(handler=run)


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Import a counted sheet into a stocktake, or a new depot's opening balances."""
    return asyncio.run(_import_sheet(settings, args))


def _bar(label: str) -> Any:
    """A one-line progress display for long imports."""

    def show(rows: int) -> None:
        print(f"\r  {label} {rows} 行 rows", end="", flush=True)

    return show


async def _import_sheet(settings: Settings, args: argparse.Namespace) -> int:
    from api.stocktake_sheets import attach_error_copy, read_upload
    from importers.count_sheet import SheetUnreadable
    from inventory.errors import InventoryError
    from inventory.places.locations import get_location_by_code
    from inventory.stocktake.counting import import_counts
    from inventory.stocktake.opening_balances import import_opening_balances

    raw = await asyncio.to_thread(Path(args.file).read_bytes)
    try:
        uploaded = await read_upload(raw, progress=_bar("读取 reading"))
    except SheetUnreadable as exc:
        say(f"\n错误 error: {exc}")
        return 1
    sheet = uploaded.sheet
    say(f"\n读取完成 read {len(sheet.rows)} 行, {len(sheet.problems)} 处格式错误")
    db = Database(settings.database_url)
    try:
        async with db.write() as session:
            if args.command == "stocktake":
                upload = await import_counts(session, args.stocktake, sheet, actor=args.actor,
                                             progress=_bar("核对 matching"))
            else:
                location = await get_location_by_code(session, args.location)
                upload, _ = await import_opening_balances(session, location.id, sheet, actor=args.actor,
                                                          progress=_bar("核对 matching"))
        # the marked-up copy of a refusal: made in a worker thread after the import's transaction
        copy = None if upload.accepted else await attach_error_copy(db, upload, uploaded)
    except InventoryError as exc:
        say(f"\n错误 error: {exc.detail}")
        return 1
    finally:
        await db.dispose()
    if not upload.accepted:
        errors = upload.errors.get("errors", [])
        total = upload.errors.get("total", len(errors))
        say(f"\n拒绝导入，共 {total} 处错误，未导入任何数据 (refused, nothing applied):")
        for e in errors[:50]:
            say(f"  第 {e['row']} 行「{e['column']}」{e['value']!r}：{e['message']}")
        if copy:
            out = Path(args.file).with_suffix(".errors.xlsx")
            await asyncio.to_thread(out.write_bytes, copy)
            say(f"已写出标注错误的副本 marked-up copy: {out}")
        return 1
    say(f"\n已导入 imported {len(sheet.rows)} 行（未填实盘数 {sheet.not_counted} 行）")
    return 0
