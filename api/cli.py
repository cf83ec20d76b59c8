"""The one command-line entry point: ``inventory serve | db upgrade | demo load | ledger verify``."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from inventory.config import Settings, load_settings
from inventory.store.db import Database
from inventory.store.migrate import upgrade


def _say(message: str) -> None:
    print(message, flush=True)


def cmd_db_upgrade(settings: Settings) -> int:
    """Apply every pending migration."""
    _say(f"数据库迁移 migrating {_redact(settings.database_url)} …")
    upgrade(settings.database_url)
    _say("数据库已是最新结构 database is up to date")
    return 0


async def _load_demo(settings: Settings, *, with_users: bool = False) -> None:
    from inventory.demo.loader import load_demo
    from inventory.demo.users import ensure_demo_users

    db = Database(settings.database_url)
    try:
        async with db.write() as session:
            await load_demo(session, progress=_say)
            created = await ensure_demo_users(session) if with_users else []
    finally:
        await db.dispose()
    if created:
        _say("演示账号 demo accounts (密码只显示这一次 passwords are shown only now):")
        for username, role, password in created:
            _say(f"  {username:<16} {role:<10} {password}")
    elif with_users:
        _say("演示账号已存在，密码在首次创建时已显示 (demo accounts exist; passwords were shown when created)")


async def _bootstrap(settings: Settings, *, quiet: bool = False) -> None:
    from inventory.access.accounts import count_users, ensure_bootstrap_admin

    db = Database(settings.database_url)
    try:
        async with db.write() as session:
            made = await ensure_bootstrap_admin(session, settings.bootstrap_admin_password)
            users = await count_users(session)
    finally:
        await db.dispose()
    if made:
        _say("已创建管理员 admin（密码取自 INVENTORY_BOOTSTRAP_ADMIN_PASSWORD） bootstrap admin created")
    elif users == 0 and not quiet:
        _say("提示：尚无用户。设置 INVENTORY_BOOTSTRAP_ADMIN_PASSWORD 后重启，或运行 inventory users add "
             "(no users yet: set INVENTORY_BOOTSTRAP_ADMIN_PASSWORD or run inventory users add)")


def cmd_demo_load(settings: Settings) -> int:
    """Load the Nanchang demo data (idempotent)."""
    cmd_db_upgrade(settings)
    asyncio.run(_load_demo(settings))
    return 0


async def _verify(settings: Settings) -> int:
    from inventory.stock.verify import verify_ledger

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
        source = "库存 stock" if d.figure.startswith("site_stock") else "流水 ledger"
        _say(f"  地点 location {d.location_id} 品目 item {d.item_type_id}{lot} {d.figure}: "
             f"账面 stored {d.stored} ≠ {source} {d.expected}")
    return 1


async def _users(settings: Settings, args: argparse.Namespace) -> int:
    from inventory.access import accounts
    from inventory.errors import InventoryError

    db = Database(settings.database_url)
    try:
        if args.users_command == "list":
            async with db.read() as session:
                users = await accounts.list_users(session)
            _say(f"{'用户名 username':<22}{'角色 role':<12}{'状态':<6}辖区 scope")
            for u in users:
                scope = ",".join([*u.scope_regions, *(f"loc:{i}" for i in u.scope_locations)]) or "-"
                _say(f"{u.username:<22}{u.role:<12}{'启用' if u.active else '停用':<6}{scope}")
            return 0
        if args.users_command == "add":
            password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
            if not password:
                _say("需要密码：用 --password-stdin 从标准输入读入 (password required via --password-stdin)")
                return 2
            bad = [s for s in args.scope if not (_digits(s, 12) or (s.startswith("loc:") and _digits(s[4:], 9)))]
            if bad:
                _say(f"错误 error: 辖区 {', '.join(bad)} 不合法：应为行政区划代码前缀（如 360121）或 loc:地点id")
                return 1
            regions = [s for s in args.scope if _digits(s, 12)]
            locations = [int(s.removeprefix("loc:")) for s in args.scope if s.startswith("loc:")]
            async with db.write() as session:
                user = await accounts.create_user(session, accounts.UserCreate(
                    username=args.name, password=password, role=args.role, display_name=args.display_name or "",
                    phone=args.phone or "", scope_regions=regions, scope_locations=locations))
            _say(f"已创建用户 created {user.username} ({user.role}), 辖区 scope: {', '.join(args.scope) or '-'}")
            return 0
        if args.users_command == "set-password":
            password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
            if not password:
                _say("需要新密码：用 --password-stdin 从标准输入读入 (new password required via --password-stdin)")
                return 2
            async with db.write() as session:
                user = await accounts.get_user_by_name(session, args.name)
                await accounts.update_user(session, user.id, accounts.UserUpdate(password=password))
            _say(f"已为 {args.name} 设置新密码，其原有登录已全部注销 (password set for {args.name}; "
                 "every existing sign-in revoked)")
            return 0
        async with db.write() as session:
            user = await accounts.get_user_by_name(session, args.name)
            await accounts.update_user(session, user.id, accounts.UserUpdate(active=False))
        _say(f"已停用用户 disabled {args.name}，其登录凭证已全部注销 (all tokens revoked)")
        return 0
    except InventoryError as exc:
        _say(f"错误 error: {exc.detail}")
        return 1
    finally:
        await db.dispose()


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
        _say("读取标签内容 collecting label contents …")
        # No cap here (the operator's own run, e.g. a county's first labelling): collecting holds only short
        # transactions and rendering none, so a server on the same database never waits for it.
        contents = await sheet_contents(db, settings.public_url, codes=args.code, location_id=location_id,
                                        item_type_id=item_type_id, capped=False)
    except (InventoryError, InvalidCode) as exc:
        _say(f"错误 error: {getattr(exc, 'detail', None) or getattr(exc, 'reason_zh', exc)}")
        return None
    finally:
        await db.dispose()
    return contents


def _progress(done: int, total: int) -> None:
    if done == total or done % 100 == 0:
        print(f"\r  {done}/{total}", end="\n" if done == total else "", flush=True)


def cmd_labels_sheet(settings: Settings, args: argparse.Namespace) -> int:
    """Write a PDF sheet of labels, showing progress."""
    from inventory.scan.label_data import render_contents, truncation_note
    from labels.fonts import FontMissing, font_path
    from labels.sheets import TEMPLATES

    if args.template not in TEMPLATES:
        _say(f"模板 {args.template} 不存在，可选 templates: {', '.join(TEMPLATES)}")
        return 2
    try:
        font_path()  # fail before reading the database: without the font nothing can be printed
    except FontMissing as exc:
        _say(f"错误 error: {exc}")
        return 1
    contents = asyncio.run(_label_contents(settings, args))
    if contents is None:
        return 1
    if not contents:
        _say("没有可打印的标签 nothing to print")
        return 1
    _say(f"排版 {len(contents)} 张标签 rendering {len(contents)} labels on {args.template} …")
    try:
        sheet = render_contents(contents, args.template, progress=_progress)
    except FontMissing as exc:
        _say(f"错误 error: {exc}")
        return 1
    Path(args.out).write_bytes(sheet.pdf)
    _say(f"已写入 wrote {args.out} ({len(sheet.pdf) // 1024} KB, {len(contents)} labels)")
    if sheet.truncated:
        _say(truncation_note(sheet.truncated))
    return 0


def _bar(label: str) -> Any:
    """A one-line progress display for long imports."""

    def show(rows: int) -> None:
        print(f"\r  {label} {rows} 行 rows", end="", flush=True)

    return show


async def _stocktake_import(settings: Settings, args: argparse.Namespace) -> int:
    from importers.count_sheet import SheetUnreadable, parse_count_sheet
    from inventory.errors import InventoryError
    from inventory.places.locations import get_location_by_code
    from inventory.stocktake import service as stocktake
    from inventory.stocktake.opening_balances import import_opening_balances

    raw = await asyncio.to_thread(Path(args.file).read_bytes)
    try:
        sheet = await asyncio.to_thread(parse_count_sheet, raw, progress=_bar("读取 reading"))
    except SheetUnreadable as exc:
        _say(f"\n错误 error: {exc}")
        return 1
    _say(f"\n读取完成 read {len(sheet.rows)} 行, {len(sheet.errors)} 处格式错误")
    db = Database(settings.database_url)
    try:
        async with db.write() as session:
            if args.command == "stocktake":
                upload = await stocktake.import_counts(session, args.stocktake, sheet, raw, actor=args.actor,
                                                       progress=_bar("核对 matching"))
            else:
                location = await get_location_by_code(session, args.location)
                upload, _ = await import_opening_balances(session, location.id, sheet, raw, actor=args.actor,
                                                          progress=_bar("核对 matching"))
        # the marked-up copy of a refusal: made in a worker thread after the import's transaction
        copy = None if upload.accepted else await stocktake.attach_error_copy(db, upload, sheet, raw)
    except InventoryError as exc:
        _say(f"\n错误 error: {exc.detail}")
        return 1
    finally:
        await db.dispose()
    if not upload.accepted:
        errors = upload.errors.get("errors", [])
        total = upload.errors.get("total", len(errors))
        _say(f"\n拒绝导入，共 {total} 处错误，未导入任何数据 (refused, nothing applied):")
        for e in errors[:50]:
            _say(f"  第 {e['row']} 行「{e['column']}」{e['value']!r}：{e['message']}")
        if copy:
            out = Path(args.file).with_suffix(".errors.xlsx")
            await asyncio.to_thread(out.write_bytes, copy)
            _say(f"已写出标注错误的副本 marked-up copy: {out}")
        return 1
    _say(f"\n已导入 imported {len(sheet.rows)} 行（未填实盘数 {len(sheet.not_counted)} 行）")
    return 0


def cmd_ledger_verify(settings: Settings) -> int:
    """Recompute balances from the ledger; non-zero exit when anything disagrees."""
    return asyncio.run(_verify(settings))


def _digits(text: str, most: int) -> bool:
    """ASCII digits only (``str.isdigit`` also accepts "²"), at most ``most`` of them."""
    return text.isascii() and text.isdigit() and len(text) <= most


_ALL_INTERFACES = ("0.0.0.0", "::", "")


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def serve_public_url(configured: str | None, host: str, port: int) -> tuple[str, str | None]:
    """The base URL printed into QR codes, and a warning when a phone could not open it.

    Unset, it follows ``--host``/``--port`` (all interfaces show as 127.0.0.1). A loopback public URL
    while listening on every interface is what phones on the network would scan: warn.
    """
    if configured:
        url = configured.rstrip("/")
    else:
        shown = "127.0.0.1" if host in _ALL_INTERFACES else host
        url = f"http://{_url_host(shown)}:{port}"
    hostname = (urlsplit(url).hostname or "").lower()
    loopback = hostname == "localhost" or hostname.startswith("127.") or hostname == "::1"
    if loopback and host in _ALL_INTERFACES:
        return url, (f"警告 warning: 二维码中的地址 {url} 是本机回环地址，手机扫码无法打开；"
                     f"请设置 INVENTORY_PUBLIC_URL=http://<本机局域网地址>:{port} "
                     f"(the QR base URL is a loopback address a phone cannot open: set INVENTORY_PUBLIC_URL)")
    return url, None


def cmd_serve(settings: Settings, host: str, port: int, demo: bool) -> int:
    """Migrate, optionally load the demo, then serve HTTP."""
    import uvicorn

    from api.app import create_app

    public_url, warning = serve_public_url(os.environ.get("INVENTORY_PUBLIC_URL"), host, port)
    settings = dataclasses.replace(settings, public_url=public_url)
    cmd_db_upgrade(settings)
    asyncio.run(_bootstrap(settings, quiet=demo))
    if demo:
        asyncio.run(_load_demo(settings, with_users=True))
    _say(f"二维码地址 QR codes carry {public_url}/s/…")
    if warning:
        _say(warning)
    shown = "127.0.0.1" if host in _ALL_INTERFACES else host
    _say(f"服务地址 listening on http://{_url_host(shown)}:{port}/  (API: /api/v1, OpenAPI: /schema/openapi.json)")
    app = create_app(settings)
    # Everything built so far (the app, the libraries, the region tables) lives as long as the process:
    # keep it out of the cyclic garbage collector, whose full passes over it paused every request for
    # ~80 ms every few seconds under load.
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
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
    labels = sub.add_parser("labels", help="二维码标签 QR labels")
    sheet = labels.add_subparsers(dest="labels_command", required=True).add_parser(
        "sheet", help="a PDF sheet of labels for printing")
    sheet.add_argument("--template", default="a4-3x8", help="a4-3x8, a4-2x5, roll-50x30, roll-60x40")
    sheet.add_argument("--code", action="append", default=[], help="a label code; repeatable")
    sheet.add_argument("--location", help="location code: everything kept there (bins included)")
    sheet.add_argument("--item-type", help="item type code or id")
    sheet.add_argument("--out", default="labels.pdf")
    st = sub.add_parser("stocktake", help="盘点 stocktake")
    st_import = st.add_subparsers(dest="stocktake_command", required=True).add_parser(
        "import", help="import a counted sheet (.xlsx)")
    st_import.add_argument("file")
    st_import.add_argument("--stocktake", type=int, required=True, help="stocktake id")
    st_import.add_argument("--actor", default="cli", help="who imports (recorded; cannot also approve)")
    imp = sub.add_parser("import", help="导入 imports")
    opening = imp.add_subparsers(dest="import_command", required=True).add_parser(
        "opening-balances", help="a new depot's existing stock from a counting-sheet-format .xlsx")
    opening.add_argument("file")
    opening.add_argument("--location", required=True, help="location code")
    opening.add_argument("--actor", default="cli")
    ledger = sub.add_parser("ledger", help="出入库流水 stock ledger")
    ledger.add_subparsers(dest="ledger_command", required=True).add_parser(
        "verify", help="recompute every balance from the ledger and compare")
    users = sub.add_parser("users", help="用户 accounts")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    add = users_sub.add_parser("add", help="create a user")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=["admin", "commander", "keeper", "auditor"])
    add.add_argument("--scope", action="append", default=[], help="region prefix (360121) or loc:ID; repeatable")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.add_argument("--display-name")
    add.add_argument("--phone")
    users_sub.add_parser("list", help="list users")
    disable = users_sub.add_parser("disable", help="disable a user and revoke their tokens")
    disable.add_argument("name")
    set_password = users_sub.add_parser("set-password", help="set a new password (e.g. a forgotten demo password)")
    set_password.add_argument("name")
    set_password.add_argument("--password-stdin", action="store_true", help="read the new password from standard input")
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
    if args.command in ("stocktake", "import"):
        return asyncio.run(_stocktake_import(settings, args))
    if args.command == "labels":
        return cmd_labels_sheet(settings, args)
    if args.command == "users":
        return asyncio.run(_users(settings, args))
    return 2


if __name__ == "__main__":
    sys.exit(main())
