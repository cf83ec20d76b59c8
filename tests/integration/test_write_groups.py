"""Writes on SQLite share commits (group commit); each write is still all-or-nothing and durable when it returns.

The same properties are checked on PostgreSQL, where every write has its own transaction.
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from inventory.access.audit import AuditRecord, record
from inventory.store.db import Database
from inventory.store.models import AuditEntry, Location, Movement


def location(code: str) -> Location:
    return Location(code=code, name=f"储备点{code}", kind="reserve_point", region_code="360121", path="/")


def audit(summary: str) -> AuditRecord:
    return AuditRecord(user_id=None, username="tester", role="admin", client_ip="127.0.0.1", action="test",
                       method="POST", path="/test", target_type="location", target_ids="", idempotency_key=None,
                       outcome="ok", status_code=201, summary=summary)


async def visible(db: Database, code: str) -> tuple[bool, bool]:
    """(location row, audit row) of this code, as a new read session sees them."""
    async with db.read() as session:
        loc = await session.scalar(select(func.count()).select_from(Location).where(Location.code == code))
        entry = await session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.summary == code))
    return bool(loc), bool(entry)


async def write(db: Database, code: str, *, fail: bool = False) -> str:
    async with db.write() as session:
        session.add(location(code))
        await session.flush()
        await record(session, audit(code))
        if fail:
            raise RuntimeError(f"write {code} fails after its rows")
    assert await visible(db, code) == (True, True), f"{code} returned before it was committed"
    return code


async def test_concurrent_writes_are_each_visible_when_they_return(db: Database) -> None:
    codes = [f"G{i:02d}" for i in range(30)]
    done = await asyncio.gather(*(write(db, c) for c in codes))
    assert done == codes
    if db.is_sqlite:
        assert 1 <= db.group_commits < len(codes), "concurrent writes should have shared commits"


async def test_a_failing_write_among_concurrent_ones_leaves_nothing_and_spares_the_others(db: Database) -> None:
    codes = [f"F{i:02d}" for i in range(12)]
    results = await asyncio.gather(*(write(db, c, fail=(i % 4 == 1)) for i, c in enumerate(codes)),
                                   return_exceptions=True)
    for i, (code, result) in enumerate(zip(codes, results, strict=True)):
        if i % 4 == 1:
            assert isinstance(result, RuntimeError)
            assert await visible(db, code) == (False, False)
        else:
            assert result == code
            assert await visible(db, code) == (True, True)


@pytest.mark.parametrize("backend", ["sqlite"])  # group commit is the SQLite writer's; PostgreSQL commits each write
async def test_when_the_shared_commit_fails_every_write_of_the_group_fails_and_nothing_stays(db: Database) -> None:
    async def breaks_at_commit() -> None:
        # A real fault that only shows at COMMIT: a foreign key checked at the end of the transaction.
        async with db.write() as session:
            await session.execute(text("PRAGMA defer_foreign_keys = ON"))
            await session.execute(text(
                "INSERT INTO movements (document_id, location_id, item_type_id, bucket, quantity, created_at) "
                "VALUES (999999, 999999, 999999, 'on_hand', 1, '2026-01-01 00:00:00')"))

    results = await asyncio.gather(write(db, "C1"), breaks_at_commit(), write(db, "C2"), return_exceptions=True)
    assert all(isinstance(r, sqlite3.IntegrityError) for r in results), results
    assert await visible(db, "C1") == (False, False)
    assert await visible(db, "C2") == (False, False)
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Movement)) == 0
    assert await write(db, "C3") == "C3"  # the writer goes on after the failed group


async def test_a_constraint_error_inside_one_write_rolls_back_that_write_only(db: Database) -> None:
    async def duplicate(code: str) -> Any:
        async with db.write() as session:
            session.add(location(code))
            await session.flush()
            await record(session, audit(code + "-dup"))
            session.add(location("D1"))  # the code D1 exists: unique violation at flush
            await session.flush()

    await write(db, "D1")
    results = await asyncio.gather(write(db, "D2"), duplicate("D3"), write(db, "D4"), return_exceptions=True)
    assert results[0] == "D2" and results[2] == "D4"
    assert isinstance(results[1], IntegrityError)
    assert await visible(db, "D3") == (False, False)
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(AuditEntry)
                                    .where(AuditEntry.summary == "D3-dup")) == 0
