"""Heavy reads do not hold up the others: a slow list answers while ``/health`` keeps answering (issue 22).

The audit log is filled with 200,000 entries of forty targets each, by a raw bulk insert (``executemany`` on
SQLite, ``COPY`` on PostgreSQL; the table has no insert triggers), so that an auditor's search by target — a
scan of every row, once to count and once for the page — takes a good fraction of a second. It runs through
the HTTP application while ``/health`` is asked every 10 ms, and the worst wait of a probe (from when it was
due to its answer, so that a probe held back by a blocked event loop counts) must stay well below the slow
request's own time. On SQLite the same request with its statements inline on the event loop
(``Database.read()`` in place of ``heavy_read()``) is shown to stall the probes: inline statements never give
the loop a turn, so a probe due while the request runs waits for nearly all of it (measured: 320–430 ms for a
320–440 ms request, against 3–10 ms with ``heavy_read()``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from inventory.store.db import Database, sqlite_path

ROWS = 200_000
SLOW = ("/api/v1/audit", {"target": "7", "limit": 500})  # matches nothing: every row is read, twice
PROBE_EVERY = 0.010
COLUMNS = ("at", "user_id", "username", "role", "client_ip", "action", "method", "path", "target_type",
           "target_ids", "idempotency_key", "outcome", "status_code", "summary")


def _targets(i: int) -> str:
    """The ids an entry touched: forty of them (a stocktake's lines), none of them 7."""
    return ",".join(str(100_000 + 40 * i + k) for k in range(40))[:300]


def _audit_rows(n: int, *, as_text: bool) -> list[tuple[Any, ...]]:
    start = dt.datetime(2026, 1, 1)
    rows = []
    for i in range(n):
        at = start + dt.timedelta(seconds=i)
        rows.append((at.isoformat(" ", "microseconds") if as_text else at, 1 + i % 50, f"keeper{i % 50}", "keeper",
                     "10.0.0.7", "movements.post", "POST", "/api/v1/movements", "stocktake_line", _targets(i), None,
                     "ok", 201, "收货 10 件"))
    return rows


async def _fill_audit_log(db: Database, n: int) -> None:
    """``n`` audit entries written around the service, in one transaction."""
    if db.is_sqlite:
        conn = sqlite3.connect(sqlite_path(db.url), timeout=10)
        try:
            marks = ", ".join("?" for _ in COLUMNS)
            conn.executemany(f"INSERT INTO audit_log ({', '.join(COLUMNS)}) VALUES ({marks})",
                             _audit_rows(n, as_text=True))
            conn.commit()
        finally:
            conn.close()
        return
    import asyncpg

    conn = await asyncpg.connect(db.url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.copy_records_to_table("audit_log", records=_audit_rows(n, as_text=False), columns=COLUMNS)
        await conn.execute("ANALYZE audit_log")
    finally:
        await conn.close()


async def _worst_health_during(probe: Any, slow: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    """Run ``slow`` while asking ``/health`` every 10 ms: (its duration, the worst wait of a probe).

    A probe's wait counts from when it was due, not from when the loop got round to sending it: a probe
    that a blocked event loop held back waited as long as a client outside would have.
    """
    started = time.perf_counter()
    finished: list[float] = []

    async def timed() -> None:
        await slow()
        finished.append(time.perf_counter() - started)

    task = asyncio.create_task(timed())
    worst, due = 0.0, time.perf_counter()
    while True:
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        r = await probe.get("/health")
        assert r.status_code == 200
        worst = max(worst, time.perf_counter() - due)
        if task.done():
            break
        due = max(due + PROBE_EVERY, time.perf_counter())
    await task
    return finished[0], worst


async def test_a_slow_list_does_not_hold_up_health(db: Database, client: Any, anonymous: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    t0 = time.perf_counter()
    await _fill_audit_log(db, ROWS)
    built = time.perf_counter() - t0
    assert built < 30, f"building {ROWS} audit entries took {built:.1f} s"
    path, params = SLOW

    async def slow() -> None:
        r = await client.get(path, params=params)
        assert r.status_code == 200, r.text
        assert r.json()["total"] == 0

    await slow()  # warm: the heavy connection opened, the pages cached
    alone = time.perf_counter()
    await slow()
    alone = time.perf_counter() - alone
    assert alone > 0.2, f"the slow request took only {alone * 1000:.0f} ms: not slow enough to show anything"

    took, worst = await _worst_health_during(anonymous, slow)
    assert took > 0.2, took
    assert worst < 0.5 * took, f"/health waited {worst * 1000:.0f} ms while the list took {took * 1000:.0f} ms"
    assert worst < 0.25, f"/health waited {worst * 1000:.0f} ms"

    if db.is_sqlite:  # the same request with its statements inline on the event loop stalls every probe
        monkeypatch.setattr(db, "heavy_read", db.read)
        took_inline, worst_inline = await _worst_health_during(anonymous, slow)
        assert worst_inline > 0.3 * took_inline, (worst_inline, took_inline)
        assert worst_inline > 2 * worst, (worst_inline, worst)


async def test_a_heavy_read_sees_what_was_just_written(client: Any) -> None:
    """A heavy read runs on a connection of its own (SQLite): it still sees a write answered just before."""
    from tests.api.helpers import location_body

    for n in range(3):
        r = await client.post("/api/v1/locations", json=location_body(f"HR-{n}"))
        assert r.status_code == 201, r.text
        listed = await client.get("/api/v1/locations", params={"q": "HR-", "limit": 500})
        assert listed.status_code == 200, listed.text
        assert [loc["code"] for loc in listed.json()["items"]] == [f"HR-{k}" for k in range(n + 1)]


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_on_sqlite_a_heavy_read_runs_on_a_connection_of_its_own(db: Database) -> None:
    from sqlalchemy import text

    async with db.heavy_read() as heavy, db.read() as inline:
        assert heavy.get_bind() is not inline.get_bind()
        assert (await heavy.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        assert (await heavy.execute(text("PRAGMA journal_mode"))).scalar() == "wal"


async def test_heavy_reads_take_turns_and_one_inside_another_never_waits_for_itself(db: Database) -> None:
    from sqlalchemy import text

    from inventory.store import db as store

    running = peak = 0

    async def one() -> None:
        nonlocal running, peak
        async with db.heavy_read() as session:
            running += 1
            peak = max(peak, running)
            async with db.heavy_read() as inner:  # within its own turn: no second turn asked for
                assert (await inner.execute(text("SELECT 1"))).scalar() == 1
            await session.execute(text("SELECT 1"))
            await asyncio.sleep(0.02)
            running -= 1

    await asyncio.wait_for(asyncio.gather(*(one() for _ in range(store.HEAVY_READS + 3))), timeout=30)
    assert peak == store.HEAVY_READS
