"""``inventory serve``: migrate, make the first admin, optionally load the demo, then serve HTTP."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
from urllib.parse import urlsplit

from api.cli import serve_app
from api.cli.db import upgrade_database
from api.cli.demo import load_demo_data
from api.cli.terminal import CommandGroups, say
from inventory.config import Settings
from inventory.store.db import Database

_ALL_INTERFACES = ("0.0.0.0", "::", "")
SQLITE_WORKERS_REFUSED = (
    "不能以多个服务进程运行：SQLite 数据库同一时间只允许一个写入者，多个进程会互相等待写锁。"
    "需要多个服务进程时，请设置 INVENTORY_DATABASE_URL=postgresql+asyncpg://用户@主机/数据库 使用 PostgreSQL；"
    "SQLite 请去掉 --workers。\n"
    "--workers N needs PostgreSQL: SQLite has one writer, so several server processes would wait on each "
    "other's write lock. Use PostgreSQL via INVENTORY_DATABASE_URL=postgresql+asyncpg://user@host/db, "
    "or leave out --workers on SQLite."
)


def add_commands(groups: CommandGroups) -> None:
    """Add ``serve``."""
    serve = groups.add_parser("serve", help="启动服务 start the HTTP service (applies migrations first)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--demo", action="store_true", help="load the Nanchang demo data first")
    serve.add_argument("--workers", type=_positive, default=1, metavar="N",
                       help="服务进程数（仅 PostgreSQL） server processes (PostgreSQL only; default 1)")
    serve.set_defaults(handler=run)


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"进程数应为正整数 (a positive whole number): {text!r}")
    return number


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Migrate, optionally load the demo, then serve HTTP."""
    return serve(settings, args.host, args.port, args.demo, workers=args.workers)


def serve(settings: Settings, host: str, port: int, demo: bool, *, workers: int = 1) -> int:
    """Migrate, optionally load the demo, then serve HTTP in ``workers`` processes (2 or more: PostgreSQL only).

    Migrations, the first admin and the demo run once, here, before any server process starts. Exit
    code 2, with nothing done, for several workers on SQLite.
    """
    import uvicorn

    if workers > 1 and settings.is_sqlite:
        print(SQLITE_WORKERS_REFUSED, file=sys.stderr, flush=True)
        return 2
    public_url, warning = serve_public_url(os.environ.get("INVENTORY_PUBLIC_URL"), host, port)
    settings = dataclasses.replace(settings, public_url=public_url)
    upgrade_database(settings)
    asyncio.run(_bootstrap(settings, quiet=demo))
    if demo:
        asyncio.run(load_demo_data(settings, with_users=True))
    say(f"二维码地址 QR codes carry {public_url}/s/…")
    if warning:
        say(warning)
    shown = "127.0.0.1" if host in _ALL_INTERFACES else host
    say(f"服务地址 listening on http://{_url_host(shown)}:{port}/  (API: /api/v1, OpenAPI: /schema/openapi.json)")
    if workers > 1:
        say(f"服务进程 {workers} 个 server processes, one PostgreSQL database")
        # Each worker is a new interpreter (spawned) that builds its own application from the environment:
        # these settings (with the public URL decided here) go with it.
        os.environ.update(worker_environment(settings))
        uvicorn.run(f"{serve_app.__name__}:{serve_app.app_factory.__name__}", factory=True, workers=workers,
                    host=host, port=port, log_level="info", access_log=False)
        return 0
    uvicorn.run(serve_app.build_app(settings), host=host, port=port, log_level="info", access_log=False)
    return 0


def worker_environment(settings: Settings) -> dict[str, str]:
    """The ``INVENTORY_*`` variables from which a worker process's ``load_settings()`` rebuilds these settings."""
    env = {
        "INVENTORY_DATABASE_URL": settings.database_url,
        "INVENTORY_PUBLIC_URL": settings.public_url,
        "INVENTORY_CORS_ORIGINS": ",".join(settings.cors_origins),
        "INVENTORY_RESPONSE_TARGET_HOURS": ",".join(f"{level}={hours!r}"
                                                    for level, hours in settings.response_target_hours.items()),
    }
    if settings.secret_key:
        env["INVENTORY_SECRET_KEY"] = settings.secret_key
    return env


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


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


async def _bootstrap(settings: Settings, *, quiet: bool = False) -> None:
    from inventory.access.users import count_users, ensure_bootstrap_admin

    db = Database(settings.database_url)
    try:
        async with db.write() as session:
            made = await ensure_bootstrap_admin(session, settings.bootstrap_admin_password)
            users = await count_users(session)
    finally:
        await db.dispose()
    if made:
        say("已创建管理员 admin（密码取自 INVENTORY_BOOTSTRAP_ADMIN_PASSWORD） bootstrap admin created")
    elif users == 0 and not quiet:
        say("提示：尚无用户。设置 INVENTORY_BOOTSTRAP_ADMIN_PASSWORD 后重启，或运行 inventory users add "
            "(no users yet: set INVENTORY_BOOTSTRAP_ADMIN_PASSWORD or run inventory users add)")
