"""``inventory labels sheet``: a PDF sheet of QR labels for printing, with progress."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from api.cli.terminal import CommandGroups, say
from inventory.config import Settings
from inventory.store.db import Database


def add_commands(groups: CommandGroups) -> None:
    """Add ``labels sheet``."""
    labels = groups.add_parser("labels", help="二维码标签 QR labels")
    sheet = labels.add_subparsers(dest="labels_command", required=True).add_parser(
        "sheet", help="a PDF sheet of labels for printing")
    sheet.add_argument("--template", default="a4-3x8", help="a4-3x8, a4-2x5, roll-50x30, roll-60x40")
    sheet.add_argument("--code", action="append", default=[], help="a label code; repeatable")
    sheet.add_argument("--location", help="location code: everything kept there (bins included)")
    sheet.add_argument("--item-type", help="item type code or id")
    sheet.add_argument("--out", default="labels.pdf")
    labels.set_defaults(handler=run)


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Write a PDF sheet of labels, showing progress."""
    from inventory.scan.label_data import render_contents, truncation_note
    from labels.fonts import FontMissing, font_path
    from labels.sheets import TEMPLATES

    if args.template not in TEMPLATES:
        say(f"模板 {args.template} 不存在，可选 templates: {', '.join(TEMPLATES)}")
        return 2
    try:
        font_path()  # fail before reading the database: without the font nothing can be printed
    except FontMissing as exc:
        say(f"错误 error: {exc}")
        return 1
    contents = asyncio.run(_label_contents(settings, args))
    if contents is None:
        return 1
    if not contents:
        say("没有可打印的标签 nothing to print")
        return 1
    say(f"排版 {len(contents)} 张标签 rendering {len(contents)} labels on {args.template} …")
    try:
        sheet = render_contents(contents, args.template, progress=_progress)
    except FontMissing as exc:
        say(f"错误 error: {exc}")
        return 1
    Path(args.out).write_bytes(sheet.pdf)
    say(f"已写入 wrote {args.out} ({len(sheet.pdf) // 1024} KB, {len(contents)} labels)")
    if sheet.truncated:
        say(truncation_note(sheet.truncated))
    return 0


async def _label_contents(settings: Settings, args: argparse.Namespace) -> list[Any] | None:
    from inventory.catalog.service import find_item_type
    from inventory.errors import InventoryError
    from inventory.places.locations import get_location_by_code
    from inventory.scan.label_data import sheet_contents
    from labels.codes import InvalidCode

    db = Database(settings.database_url)
    try:
        async with db.read() as session:
            location_id = (await get_location_by_code(session, args.location)).id if args.location else None
            item_type_id = (await find_item_type(session, args.item_type)).id if args.item_type else None
        say("读取标签内容 collecting label contents …")
        # No cap here (the operator's own run, e.g. a county's first labelling): collecting holds only short
        # transactions and rendering none, so a server on the same database never waits for it.
        contents = await sheet_contents(db, settings.public_url, codes=args.code, location_id=location_id,
                                        item_type_id=item_type_id, capped=False)
    except (InventoryError, InvalidCode) as exc:
        say(f"错误 error: {getattr(exc, 'detail', None) or getattr(exc, 'reason_zh', exc)}")
        return None
    finally:
        await db.dispose()
    return contents


def _progress(done: int, total: int) -> None:
    if done == total or done % 100 == 0:
        print(f"\r  {done}/{total}", end="\n" if done == total else "", flush=True)
