"""An aiosqlite-compatible connection that runs sqlite3 calls inline on the event loop.

Used only for the single SQLite writer connection. aiosqlite sends every call (cursor, execute,
fetch, close) to a helper thread and back — about four thread hops per statement, which caps a
write transaction of a dozen statements at a few hundred per second. SQLite statements on a
local WAL file take microseconds, so the writer runs them directly: writes are already
serialised by the Database write lock, and reads keep using aiosqlite's threads.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any


class InlineCursor:
    """The subset of aiosqlite.Cursor that SQLAlchemy's aiosqlite adapter uses."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> InlineCursor:
        """Run one statement."""
        self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any] | dict[str, Any]]) -> InlineCursor:
        """Run one statement for many parameter sets."""
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchall(self) -> list[Any]:
        """All remaining rows."""
        return self._cursor.fetchall()

    async def fetchone(self) -> Any:
        """The next row."""
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        """The next ``size`` rows."""
        return self._cursor.fetchmany(size or self._cursor.arraysize)

    async def close(self) -> None:
        """Close the cursor."""
        self._cursor.close()

    @property
    def description(self) -> Any:
        """Column description of the last statement."""
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        """Rows changed by the last statement."""
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        """Row id of the last insert."""
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        """Default fetchmany size."""
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class InlineConnection:
    """The subset of aiosqlite.Connection that SQLAlchemy's aiosqlite adapter uses."""

    def __init__(self, path: str) -> None:
        self._conn: sqlite3.Connection | None = sqlite3.connect(path, isolation_level=None)

    @property
    def _connection(self) -> sqlite3.Connection | None:  # checked by the adapter before commit/rollback
        return self._conn

    def _require(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError("Connection closed")
        return self._conn

    def cursor(self) -> InlineCursor:
        """A new cursor (entered with ``async with`` by the adapter)."""
        return InlineCursor(self._require().cursor())

    async def commit(self) -> None:
        """Commit the current transaction."""
        self._require().commit()

    async def rollback(self) -> None:
        """Roll back the current transaction."""
        self._require().rollback()

    async def close(self) -> None:
        """Close the connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def stop(self) -> None:
        """Close at once (SQLAlchemy's terminate)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        """Register a SQL function."""
        self._require().create_function(*args, **kwargs)

    @property
    def isolation_level(self) -> str | None:
        """Always None: transactions are begun explicitly."""
        return self._require().isolation_level


def inline_creator(path: str) -> Any:
    """An ``async_creator`` for create_async_engine that opens an inline connection to ``path``."""

    async def create() -> InlineConnection:
        return InlineConnection(path)

    return create
