"""A database connection lost in the middle of a request answers 503 with Retry-After, not 500.

The write did not happen (its transaction died with the connection), and the client's Idempotency-Key
makes the retry safe: it is applied exactly once, and a further retry replays the answer.
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import asyncpg
import pytest

from inventory.store.db import Database, sqlite_path
from tests.api.helpers import item_type_body, location_body

MOVEMENTS = "/api/v1/movements"
PROBLEM = "application/problem+json"


async def created(client: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """A write that must succeed; its body."""
    r = await client.post(path, json=body)
    assert r.status_code == 201, f"setup {path}: {r.text}"
    result: dict[str, Any] = r.json()
    return result


async def depot_and_tent(client: Any) -> tuple[int, int]:
    """A depot and a bulk item type."""
    depot = (await created(client, "/api/v1/locations", location_body()))["id"]
    tent = (await created(client, "/api/v1/item-types", item_type_body(
        "TENT-12", name="12平方米单帐篷", unit="顶", tracking="bulk", category="shelter", gbt_code=None,
        attributes={}, tags=[])))["id"]
    return depot, tent


def receipt(depot: int, tent: int, quantity: int) -> dict[str, Any]:
    """A receipt of tents."""
    return {"kind": "receipt", "location_id": depot, "lines": [{"item_type_id": tent, "quantity": quantity}]}


async def on_hand(client: Any, depot: int, tent: int) -> int:
    """Tents on hand at the depot."""
    r = await client.get("/api/v1/stock", params={"location_id": depot, "item_type_id": tent})
    assert r.status_code == 200, r.text
    return sum(int(row["on_hand"]) for row in r.json()["items"])


def assert_unavailable(r: Any) -> None:
    """A 503 problem with Retry-After and a Chinese detail that tells the client to retry."""
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert int(r.headers["retry-after"]) >= 1
    body = r.json()
    assert body["status"] == 503
    assert "数据库" in body["detail"] and "重试" in body["detail"], body


def dsn(db: Database) -> str:
    """The test database's address for asyncpg itself."""
    return db.url.replace("postgresql+asyncpg://", "postgresql://")


async def backend_waiting_on_a_lock(admin: asyncpg.Connection) -> int:
    """The server process of the application's request, once it waits for the lock the test holds (20 s at most)."""
    async with asyncio.timeout(20):
        while True:
            pid = await admin.fetchval(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND wait_event_type = 'Lock' LIMIT 1")
            if pid is not None:
                return int(pid)
            await asyncio.sleep(0.02)


@pytest.mark.parametrize("backend", ["postgres"])
async def test_a_connection_killed_mid_write_answers_503_and_the_same_key_then_applies_once(
    client: Any, db: Database,
) -> None:
    depot, tent = await depot_and_tent(client)
    headers = {"Idempotency-Key": "receipt-killed-mid-write"}
    locker = await asyncpg.connect(dsn(db))
    try:
        lock = locker.transaction()
        await lock.start()
        await locker.execute("LOCK TABLE documents IN EXCLUSIVE MODE")  # reads pass, the receipt's insert waits
        request = asyncio.create_task(client.post(MOVEMENTS, json=receipt(depot, tent, 7), headers=headers))
        pid = await backend_waiting_on_a_lock(locker)
        assert await locker.fetchval("SELECT pg_terminate_backend($1)", pid)
        await lock.rollback()
        assert_unavailable(await request)
    finally:
        await locker.close()
    assert await on_hand(client, depot, tent) == 0  # the write died with its connection
    retried = await client.post(MOVEMENTS, json=receipt(depot, tent, 7), headers=headers)
    assert retried.status_code == 201, retried.text
    assert "idempotent-replayed" not in retried.headers
    again = await client.post(MOVEMENTS, json=receipt(depot, tent, 7), headers=headers)
    assert (again.status_code, again.headers.get("idempotent-replayed")) == (201, "true")
    assert again.json() == retried.json()
    assert await on_hand(client, depot, tent) == 7


@pytest.mark.parametrize("backend", ["postgres"])
async def test_connections_killed_between_requests_are_replaced_without_an_error(client: Any, db: Database) -> None:
    depot, tent = await depot_and_tent(client)
    admin = await asyncpg.connect(dsn(db))
    try:
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()")
    finally:
        await admin.close()
    assert killed >= 1  # the application's pooled connections
    r = await client.post(MOVEMENTS, json=receipt(depot, tent, 3), headers={"Idempotency-Key": "after-restart"})
    assert r.status_code == 201, r.text
    assert await on_hand(client, depot, tent) == 3


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_sqlite_file_locked_by_another_process_answers_503_and_the_same_key_then_applies_once(
    client: Any, db: Database,
) -> None:
    depot, tent = await depot_and_tent(client)
    headers = {"Idempotency-Key": "receipt-while-locked"}
    other = sqlite3.connect(sqlite_path(db.url), isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process (a backup, a CLI import) holds the write lock
        assert_unavailable(await client.post(MOVEMENTS, json=receipt(depot, tent, 5), headers=headers))
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert await on_hand(client, depot, tent) == 0
    retried = await client.post(MOVEMENTS, json=receipt(depot, tent, 5), headers=headers)
    assert retried.status_code == 201, retried.text
    again = await client.post(MOVEMENTS, json=receipt(depot, tent, 5), headers=headers)
    assert again.headers.get("idempotent-replayed") == "true"
    assert await on_hand(client, depot, tent) == 5


UNREACHABLE = {"sqlite": "sqlite+aiosqlite:///{tmp}/no-such-folder/inventory.db",
               "postgres": "postgresql+asyncpg://postgres@127.0.0.1:1/inventory"}  # nothing listens on port 1


async def test_a_database_that_cannot_be_reached_answers_503_not_500(backend: str, tmp_path: Any) -> None:
    from api.app import create_app
    from inventory.config import load_settings
    from tests.conftest import http_client

    url = UNREACHABLE[backend].format(tmp=tmp_path)
    database = Database(url)
    app = create_app(load_settings(database_url=url, public_url="http://inventory.test"), db=database)
    try:
        async with http_client(app) as c:
            assert_unavailable(await c.get("/api/v1/locations", headers={"Authorization": "Bearer some-token"}))
            assert_unavailable(await c.post(MOVEMENTS, json={}, headers={"Authorization": "Bearer some-token"}))
            assert (await c.get("/ready")).status_code == 503
            page = await c.get("/", headers={"Cookie": "inv_session=some-session"})
            assert (page.status_code, page.headers.get("retry-after")) == (503, "5")
            assert "暂时无法办理" in page.text
    finally:
        await database.dispose()


async def test_a_database_error_that_is_a_bug_still_answers_500(client: Any, db: Database) -> None:
    from sqlalchemy import text

    async with db.write() as session:  # a table the code expects is gone: no retry will help
        await session.execute(text("DROP TABLE incidents" + ("" if db.is_sqlite else " CASCADE")))
    r = await client.get("/api/v1/incidents")
    assert r.status_code == 500, r.text
    assert "retry-after" not in r.headers
