"""Shared fixtures: a fresh, migrated database per test on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from inventory.store.db import Database
from inventory.store.migrate import upgrade

POSTGRES_URL = os.environ.get(
    "INVENTORY_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("INVENTORY_REQUIRE_POSTGRES") == "1"
_counter = itertools.count()


def _postgres_admin_url() -> str:
    return POSTGRES_URL


def _run(coro: Any) -> None:
    """Run a coroutine to completion from sync code, even inside a running event loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coro).result()


async def _pg_execute(sql: str) -> None:
    import asyncpg

    dsn = _postgres_admin_url().replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _pg_url_for(name: str) -> str:
    base, _, _ = POSTGRES_URL.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str | None]:
    """A PostgreSQL database migrated once, used as the template of each test's database."""
    name = f"inv_tmpl_{os.getpid()}"
    try:
        _run(_pg_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        _run(_pg_execute(f"CREATE DATABASE {name}"))
    except Exception as exc:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL is required (INVENTORY_REQUIRE_POSTGRES=1) but unreachable: {exc!r}")
        yield None
        return
    upgrade(_pg_url_for(name))
    yield name
    _run(_pg_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    """Which database the test runs on."""
    backend: str = request.param
    return backend


@pytest.fixture
async def db_url(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[str]:
    """A fresh, migrated database for this test only."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.db"
        shutil.copyfile(template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    template_name: str | None = request.getfixturevalue("postgres_template")
    if template_name is None:
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL} (set INVENTORY_TEST_POSTGRES_URL)")
    name = f"inv_t_{os.getpid()}_{next(_counter)}"
    await _pg_execute(f"CREATE DATABASE {name} TEMPLATE {template_name}")
    try:
        yield _pg_url_for(name)
    finally:
        await _pg_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    """The Database for this test's fresh database.

    Whatever the test did, ``site_stock`` (kept by triggers) must still agree with the stock tables when
    it ends: every test that writes stock checks the triggers on its way, on both databases.
    """
    database = Database(db_url)
    try:
        yield database
        from inventory.stock import site_stock

        async with database.read() as session:
            assert await site_stock.differences(await session.connection()) == [], \
                "site_stock disagrees with the balances and units"
    finally:
        await database.dispose()


TEST_PASSWORD = "test-password-123"


@pytest.fixture(scope="session")
def password_hash() -> str:
    """One Argon2 hash of TEST_PASSWORD, computed once (hashing is deliberately slow)."""
    from argon2 import PasswordHasher

    return PasswordHasher().hash(TEST_PASSWORD)


@pytest.fixture
def app(db: Database) -> Any:
    """The application on this test's database."""
    from api.app import create_app
    from inventory.config import load_settings

    return create_app(load_settings(database_url=db.url, public_url="http://inventory.test"), db=db)


@pytest.fixture
def sign_in(db: Database, password_hash: str) -> Any:
    """``await sign_in(role, username=…, scope_regions=…, scope_locations=…)`` → a bearer token."""
    from inventory.access.tokens import issue_token
    from inventory.store.models import User

    async def make(role: str, username: str | None = None, scope_regions: list[str] | None = None,
                   scope_locations: list[int] | None = None) -> str:
        async with db.write() as session:
            user = User(username=username or role, display_name=username or role, phone="", role=role,
                        scope_regions=scope_regions or [], scope_locations=scope_locations or [], active=True,
                        password_hash=password_hash)
            session.add(user)
            await session.flush()
            token, _ = await issue_token(session, user)
        return token

    return make


def http_client(app: Any) -> Any:
    """An httpx client calling the app in this event loop (the app's database pool lives here too)."""
    import httpx

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("10.0.0.7", 50000)),
                             base_url="http://inventory.test")


@pytest.fixture
async def anonymous(app: Any) -> AsyncIterator[Any]:
    """An HTTP client with no credentials."""
    async with http_client(app) as c:
        yield c


@pytest.fixture
async def client_as(app: Any, sign_in: Any) -> AsyncIterator[Any]:
    """``await client_as(role, …)`` → an HTTP client signed in as a new user of that role."""
    from contextlib import AsyncExitStack

    async with AsyncExitStack() as stack:

        async def make(role: str, username: str | None = None, **scope: Any) -> Any:
            token = await sign_in(role, username, **scope)
            c = await stack.enter_async_context(http_client(app))
            c.headers["Authorization"] = f"Bearer {token}"
            return c

        yield make


@pytest.fixture
async def client(client_as: Any) -> Any:
    """An HTTP client signed in as ``admin`` (every permission); a commander ``approver`` also exists."""
    c = await client_as("admin", "admin")
    await client_as("commander", "approver")
    return c
