"""``inventory users add | list | disable | set-password``: accounts from the command line."""

from __future__ import annotations

import argparse
import asyncio
import sys

from api.cli.terminal import CommandGroups, say
from inventory.config import Settings
from inventory.store.db import Database


def add_commands(groups: CommandGroups) -> None:
    """Add ``users add | list | disable | set-password``."""
    users = groups.add_parser("users", help="用户 accounts")
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
    users.set_defaults(handler=run)


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Run one ``users`` command."""
    return asyncio.run(_users(settings, args))


async def _users(settings: Settings, args: argparse.Namespace) -> int:
    from inventory.access.users import UserCreate, UserUpdate, create_user, get_user_by_name, list_users, update_user
    from inventory.errors import InventoryError

    db = Database(settings.database_url)
    try:
        if args.users_command == "list":
            async with db.read() as session:
                users = await list_users(session)
            say(f"{'用户名 username':<22}{'角色 role':<12}{'状态':<6}辖区 scope")
            for u in users:
                scope = ",".join([*u.scope_regions, *(f"loc:{i}" for i in u.scope_locations)]) or "-"
                say(f"{u.username:<22}{u.role:<12}{'启用' if u.active else '停用':<6}{scope}")
            return 0
        if args.users_command == "add":
            password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
            if not password:
                say("需要密码：用 --password-stdin 从标准输入读入 (password required via --password-stdin)")
                return 2
            bad = [s for s in args.scope if not (_digits(s, 12) or (s.startswith("loc:") and _digits(s[4:], 9)))]
            if bad:
                say(f"错误 error: 辖区 {', '.join(bad)} 不合法：应为行政区划代码前缀（如 360121）或 loc:地点id")
                return 1
            regions = [s for s in args.scope if _digits(s, 12)]
            locations = [int(s.removeprefix("loc:")) for s in args.scope if s.startswith("loc:")]
            async with db.write() as session:
                user = await create_user(session, UserCreate(
                    username=args.name, password=password, role=args.role, display_name=args.display_name or "",
                    phone=args.phone or "", scope_regions=regions, scope_locations=locations))
            say(f"已创建用户 created {user.username} ({user.role}), 辖区 scope: {', '.join(args.scope) or '-'}")
            return 0
        if args.users_command == "set-password":
            password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
            if not password:
                say("需要新密码：用 --password-stdin 从标准输入读入 (new password required via --password-stdin)")
                return 2
            async with db.write() as session:
                user = await get_user_by_name(session, args.name)
                await update_user(session, user.id, UserUpdate(password=password))
            say(f"已为 {args.name} 设置新密码，其原有登录已全部注销 (password set for {args.name}; "
                "every existing sign-in revoked)")
            return 0
        async with db.write() as session:
            user = await get_user_by_name(session, args.name)
            await update_user(session, user.id, UserUpdate(active=False))
        say(f"已停用用户 disabled {args.name}，其登录凭证已全部注销 (all tokens revoked)")
        return 0
    except InventoryError as exc:
        say(f"错误 error: {exc.detail}")
        return 1
    finally:
        await db.dispose()


def _digits(text: str, most: int) -> bool:
    """ASCII digits only (``str.isdigit`` also accepts "²"), at most ``most`` of them."""
    return text.isascii() and text.isdigit() and len(text) <= most
