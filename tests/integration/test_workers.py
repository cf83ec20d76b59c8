"""Several server processes on one PostgreSQL database (``inventory serve --workers N``), and SQLite's refusal.

Real processes: ``python -m api.cli serve`` as a subprocess, on a fresh database of this test. Two servers on
two ports make it certain which process answers each request; one ``--workers 2`` run shows both of its
workers answering (each request's server side is found among the workers' sockets in ``/proc``) and a
revocation reaching both.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from api.cli.serve import SQLITE_WORKERS_REFUSED
from inventory.access import tokens
from inventory.access.scope import Principal
from inventory.access.token_listener import TokenChangeListener, listener_application_name
from inventory.access.tokens import CHANNEL, TokenCache
from inventory.store.db import Database
from inventory.store.models import User, utcnow
from tests.api.helpers import location_body
from tests.conftest import TEST_PASSWORD, _pg_execute

ROOT = Path(__file__).resolve().parents[2]
ME = "/api/v1/auth/me"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Server:
    """A ``serve`` subprocess, its port and where its output goes."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base(self) -> str:
        """Its base URL."""
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        """What it printed so far."""
        return self.log.read_text(encoding="utf-8", errors="replace")


def _environment(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INVENTORY_")}
    env.update(INVENTORY_DATABASE_URL=database_url, INVENTORY_ALERT_EVERY_MINUTES="0", PYTHONUNBUFFERED="1")
    return env


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """``start_server(database_url, *extra_args)`` → a running ``serve`` subprocess (stopped after the test)."""
    servers: list[Server] = []

    def start(database_url: str, *extra: str) -> Server:
        port = _free_port()
        log = tmp_path / f"serve-{port}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "api.cli", "serve", "--port", str(port), *extra], cwd=ROOT,
                env=_environment(database_url), stdout=out, stderr=subprocess.STDOUT)
        server = Server(process, port, log)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.process.terminate()
    for server in servers:
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


async def _ready(*servers: Server, seconds: float = 45) -> None:
    """Wait until every server answers /ready (fail with its output if it stops or takes too long)."""
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(timeout=2) as client:
        for server in servers:
            while True:
                assert server.process.poll() is None, f"serve exited early:\n{server.output()}"
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(f"{server.base}/ready")).status_code == 200:
                        break
                assert time.monotonic() < deadline, f"serve was not ready in time:\n{server.output()}"
                await asyncio.sleep(0.1)


async def _add_admin(db: Database, password_hash: str, username: str = "admin") -> None:
    async with db.write() as session:
        session.add(User(username=username, display_name=username, phone="", role="admin", scope_regions=[],
                         scope_locations=[], active=True, password_hash=password_hash))


async def _token(client: httpx.AsyncClient, base: str, username: str, password: str = TEST_PASSWORD) -> str:
    r = await client.post(f"{base}/api/v1/auth/token", json={"username": username, "password": password})
    assert r.status_code == 201, r.text
    token: str = r.json()["token"]
    return token


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _refused_before_the_cache_expires(http: httpx.AsyncClient, url: str, headers: dict[str, str],
                                           cached_at: float) -> httpx.Response:
    """The 401 a token gets once its change has reached the process — well before the process's cache would
    have let the principal go (:attr:`TokenCache.ttl` after ``cached_at``, when it was last resolved there).

    "At once" is as soon as PostgreSQL delivers the notification: normally within a millisecond of the
    commit, on a loaded machine after the listening backend is next scheduled; hence a short wait, not none.
    """
    deadline = cached_at + tokens.TOKENS.ttl - 1.0
    while True:
        r = await http.get(url, headers=headers)
        if r.status_code == 401:
            assert time.monotonic() < deadline, "refused only when the cache would have expired anyway"
            return r
        assert r.status_code == 200, r.text
        assert time.monotonic() < deadline, "the change did not reach the other process"
        await asyncio.sleep(0.01)


# --- SQLite: refused -------------------------------------------------------------------------------------------


def test_serve_with_workers_on_sqlite_is_refused_before_anything_starts(tmp_path: Path) -> None:
    path = tmp_path / "inventory.db"
    port = _free_port()
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "serve", "--workers", "2", "--port", str(port)], cwd=ROOT,
        env=_environment(f"sqlite+aiosqlite:///{path}"), capture_output=True, text=True, timeout=60)
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert SQLITE_WORKERS_REFUSED in done.stderr
    assert "SQLite" in output and "INVENTORY_DATABASE_URL" in output and "PostgreSQL" in output
    assert output.index("写入者") < output.index("SQLite has one writer")  # Chinese first, then English
    assert "listening" not in output and "Uvicorn" not in output
    assert not path.exists()  # not even migrated
    assert not _listening(port)


# --- PostgreSQL: two processes, one database -------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["postgres"])
async def test_a_revocation_a_reservation_and_a_write_through_one_process_are_seen_by_the_other(
    db: Database, password_hash: str, start_server: Callable[..., Server],
) -> None:
    await _add_admin(db, password_hash)
    a, b = start_server(db.url), start_server(db.url)
    await _ready(a, b)
    async with httpx.AsyncClient(timeout=10) as http:
        # A token issued by A works on B (and is now in B's cache) until A revokes it: then B refuses at once.
        token = await _token(http, a.base, "admin")
        for _ in range(3):
            cached_at = time.monotonic()
            assert (await http.get(f"{b.base}{ME}", headers=_bearer(token))).status_code == 200
        assert (await http.delete(f"{a.base}/api/v1/auth/token", headers=_bearer(token))).status_code == 204
        refused = await _refused_before_the_cache_expires(http, f"{b.base}{ME}", _bearer(token), cached_at)
        assert "注销" in refused.json()["detail"]

        # The other way round: a keeper signed in through B and used on A, disabled through B: A refuses at once.
        admin = _bearer(await _token(http, b.base, "admin"))
        r = await http.post(f"{a.base}/api/v1/users", headers=admin, json={
            "username": "zhang", "password": TEST_PASSWORD, "role": "keeper", "scope_regions": ["360121"]})
        assert r.status_code == 201, r.text
        keeper_id = r.json()["id"]
        keeper = _bearer(await _token(http, b.base, "zhang"))
        for _ in range(3):
            cached_at = time.monotonic()
            assert (await http.get(f"{a.base}{ME}", headers=keeper)).status_code == 200
        r = await http.patch(f"{b.base}/api/v1/users/{keeper_id}", headers=admin, json={"active": False})
        assert r.status_code == 200, r.text
        refused = await _refused_before_the_cache_expires(http, f"{a.base}{ME}", keeper, cached_at)
        assert "停用" in refused.json()["detail"] or "注销" in refused.json()["detail"]

        # A write through A: B sees the balance.
        depot = (await http.post(f"{a.base}/api/v1/locations", headers=admin, json=location_body("D-W"))).json()["id"]
        r = await http.post(f"{a.base}/api/v1/item-types", headers=admin, json={
            "code": "BAG", "name": "编织袋", "unit": "条", "tracking": "bulk", "category": "flood_control"})
        assert r.status_code == 201, r.text
        bag = r.json()["id"]
        where = {"location_id": depot, "item_type_id": bag}

        async def stock_on_b() -> tuple[int, int]:
            rows = (await http.get(f"{b.base}/api/v1/stock", headers=admin, params=where)).json()["items"]
            return sum(row["on_hand"] for row in rows), sum(row["reserved"] for row in rows)

        r = await http.post(f"{a.base}/api/v1/movements", headers=admin, json={
            "kind": "receipt", "location_id": depot, "lines": [{"item_type_id": bag, "quantity": 100}]})
        assert r.status_code == 201, r.text
        assert await stock_on_b() == (100, 0)
        r = await http.post(f"{a.base}/api/v1/movements", headers=admin, json={
            "kind": "issue", "location_id": depot, "counterparty": "县防汛抢险队",
            "lines": [{"item_type_id": bag, "quantity": 10}]})
        assert r.status_code == 201, r.text
        assert await stock_on_b() == (90, 0)

        # A dispatch reservation through A: B sees the reserved quantity, and will not reserve it twice.
        r = await http.post(f"{a.base}/api/v1/incidents", headers=admin, json={
            "name": "向塘镇内涝", "kind": "waterlogging", "region_code": "360121", "lat": 28.50, "lon": 115.95})
        assert r.status_code == 201, r.text
        incident = r.json()["id"]
        order = {"lines": [{"item_type": "BAG", "quantity": 60, "from_location_id": depot}],
                 "approval": {"mode": "oral", "approved_by": "值班领导"}}
        r = await http.post(f"{a.base}/api/v1/incidents/{incident}/dispatches", headers=admin, json=order)
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "reserved"
        assert await stock_on_b() == (90, 60)
        r = await http.post(f"{b.base}/api/v1/incidents/{incident}/dispatches", headers=admin, json=order)
        assert r.status_code == 409, r.text  # only 30 left to reserve
        assert r.json()["shortfall"][0]["available"] == 30


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            found |= {int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()}
    return found


def _answered_by(server_port: int, client_port: int, pids: set[int]) -> int | None:
    """Which of these processes holds the server side of the TCP connection from ``client_port``."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1].rsplit(":", 1)[1], fields[2].rsplit(":", 1)[1]
        if int(local, 16) == server_port and int(remote, 16) == client_port:
            inodes.add(f"socket:[{fields[9]}]")
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                        return pid
    return None


@dataclass(frozen=True)
class Answer:
    """One request on a new connection: when it was sent, its status, and the worker that answered it."""

    sent_at: float
    status: int
    worker: int


def _get_me(port: int, token: str, pids: set[int]) -> Answer:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        sent_at = time.monotonic()
        conn.request("GET", ME, headers=_bearer(token))
        response = conn.getresponse()
        response.read()
        worker = _answered_by(port, conn.sock.getsockname()[1], pids)  # the connection is still open (keep-alive)
        assert worker is not None, "no worker holds the connection's server side"
        return Answer(sent_at, response.status, worker)
    finally:
        conn.close()


async def _until_each_worker(port: int, token: str, pids: set[int], status: int, deadline: float) -> list[Answer]:
    """Requests on new connections, 8 at a time, until every worker has answered ``status`` (by ``deadline``)."""
    answers: list[Answer] = []
    while {a.worker for a in answers if a.status == status} != pids:
        assert time.monotonic() < deadline, f"not every worker answered {status}: {answers}"
        answers += await asyncio.gather(*(asyncio.to_thread(_get_me, port, token, pids) for _ in range(8)))
    return answers


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="finds the answering worker through Linux's /proc")
@pytest.mark.parametrize("backend", ["postgres"])
async def test_serve_with_two_workers_answers_from_both_and_a_revocation_reaches_both(
    db: Database, password_hash: str, start_server: Callable[..., Server],
) -> None:
    await _add_admin(db, password_hash)
    server = start_server(db.url, "--workers", "2")
    await _ready(server)
    out = server.output()
    assert "Started parent process" in out, out
    # Both workers built the application: each listens for token changes on a connection named after it.
    deadline = time.monotonic() + 20
    while True:
        async with db.read() as session:
            names = set(await session.scalars(text(
                "SELECT application_name FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name LIKE 'inventory token listener %'")))
        workers = _children(server.process.pid)
        if len(names) == 2:
            break
        assert time.monotonic() < deadline, (names, server.output())
        await asyncio.sleep(0.2)
    pids = {pid for pid in workers if listener_application_name(pid) in names}
    assert len(pids) == 2, (names, workers)

    async with httpx.AsyncClient(timeout=10) as http:
        token = await _token(http, server.base, "admin")
    answers = await _until_each_worker(server.port, token, pids, 200, time.monotonic() + 30)
    assert {a.status for a in answers} == {200}  # both workers answered, and each has the token cached now
    # Each worker's cache would keep the principal until the cache time after that worker last resolved it.
    cached_at = min(max(a.sent_at for a in answers if a.worker == pid) for pid in pids)
    async with httpx.AsyncClient(timeout=10) as http:
        assert (await http.delete(f"{server.base}/api/v1/auth/token", headers=_bearer(token))).status_code == 204
    answers = await _until_each_worker(server.port, token, pids, 401, cached_at + tokens.TOKENS.ttl - 1.0)
    settled = await _until_each_worker(server.port, token, pids, 401, time.monotonic() + 30)
    assert {a.status for a in settled} == {401}  # and stays refused everywhere


# --- The listener itself, in this process -----------------------------------------------------------------------


PRINCIPAL = Principal(1, "zhang", "张", "keeper", ("360121",), (), 1)


def _far() -> Any:
    return utcnow().replace(year=utcnow().year + 1)


def test_a_principal_read_before_the_cache_was_emptied_is_not_remembered() -> None:
    cache = TokenCache()
    generation = cache.generation
    cache.clear()  # a change arrived while the principal was being read
    cache.put("t", "bearer", PRINCIPAL, _far(), generation)
    assert cache.get("t", "bearer") is None
    cache.put("t", "bearer", PRINCIPAL, _far(), cache.generation)
    assert cache.get("t", "bearer") == PRINCIPAL
    cache.suspend()
    assert cache.get("t", "bearer") is None
    cache.put("t", "bearer", PRINCIPAL, _far(), cache.generation)
    assert cache.get("t", "bearer") is None  # nothing is remembered while suspended
    cache.resume()
    cache.put("t", "bearer", PRINCIPAL, _far(), cache.generation)
    assert cache.get("t", "bearer") == PRINCIPAL


async def _until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not in time"
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def _listening_cache(db: Database) -> AsyncIterator[tuple[TokenChangeListener, TokenCache]]:
    cache = TokenCache(ttl=60)  # only a notification or a lost connection empties it within a test
    listener = TokenChangeListener(db, cache, check_every=0.2, check_timeout=1.0, retry_max=0.2)
    async with listener.running():
        yield listener, cache
    assert not cache.suspended  # a listener that stopped leaves the cache as it found it


def _cached(cache: TokenCache) -> bool:
    cache.put("t", "bearer", PRINCIPAL, _far(), cache.generation)
    return cache.get("t", "bearer") is not None


async def test_on_sqlite_the_listener_does_nothing(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    try:
        async with _listening_cache(db) as (listener, cache):
            assert not listener.listening
            assert _cached(cache)
    finally:
        await db.dispose()


@pytest.mark.parametrize("backend", ["postgres"])
async def test_a_committed_change_empties_the_cache_and_a_rolled_back_one_does_not(db: Database) -> None:
    async with _listening_cache(db) as (listener, cache):
        assert listener.listening
        assert _cached(cache)

        async def change_then_fail() -> None:
            async with db.write() as session:
                await tokens.announce_change(session)
                raise RuntimeError("rolled back")

        with pytest.raises(RuntimeError):
            await change_then_fail()
        await asyncio.sleep(0.3)
        assert cache.get("t", "bearer") is not None
        async with db.write() as session:
            await tokens.announce_change(session)
        await _until(lambda: cache.get("t", "bearer") is None)


@pytest.mark.parametrize("backend", ["postgres"])
async def test_a_lost_listener_stops_the_cache_until_it_listens_again(db: Database) -> None:
    name = make_url(db.url).database
    async with _listening_cache(db) as (listener, cache):
        assert listener.listening and listener.connections == 1
        assert _cached(cache)
        backend_pid = listener.backend_pid
        await _pg_execute(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false")  # it cannot come back at once
        try:
            await _pg_execute(f"SELECT pg_terminate_backend({backend_pid})")
            await _until(lambda: cache.suspended)
            assert cache.get("t", "bearer") is None
            await asyncio.sleep(0.6)  # a few refused reconnections
            assert cache.suspended and not listener.listening
            assert not _cached(cache)  # fail safe: nothing is remembered while no notification can arrive
        finally:
            await _pg_execute(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true")
        await _until(lambda: listener.listening)
        assert listener.connections == 2 and listener.backend_pid != backend_pid
        assert _cached(cache)
        async with db.write() as session:  # and the new connection hears changes
            await session.execute(select(func.pg_notify(CHANNEL, "")))
        await _until(lambda: cache.get("t", "bearer") is None)


@pytest.mark.parametrize("backend", ["postgres"])
async def test_a_listener_that_cannot_connect_keeps_the_cache_off(db: Database) -> None:
    unreachable = Database(db.url.rsplit("/", 1)[0] + "/inventory_no_such_database")
    try:
        cache = TokenCache(ttl=60)
        listener = TokenChangeListener(unreachable, cache, retry_max=0.2, first_wait=1.0)
        async with listener.running():
            assert not listener.listening
            assert cache.suspended and not _cached(cache)
        assert not cache.suspended
    finally:
        await unreachable.dispose()

