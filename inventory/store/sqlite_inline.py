"""An aiosqlite-compatible connection that runs sqlite3 calls inline on the event loop.

Used for every SQLite connection of :class:`inventory.store.db.Database`. aiosqlite sends every call
(cursor, execute, fetch, close) to a helper thread and back — about four thread hops per
statement, which cost more than the statements themselves: SQLite statements on a local WAL file
take microseconds, so they run directly on the event loop.

The writer connection also groups writes: each write's transaction (as SQLAlchemy sees it) is a
SAVEPOINT inside one SQLite transaction that several writes share, committed once for all of them
(:meth:`InlineConnection.commit_group`). See ``Database.write`` for when that happens.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from inventory.errors import InvalidInput


def _has_nul(values: Any) -> bool:
    """True when a NUL character is in any text of ``values`` (a parameter tuple, dict, or list of them)."""
    for value in values.values() if isinstance(values, dict) else values:
        if isinstance(value, str):
            if "\x00" in value:
                return True
        elif isinstance(value, list | tuple | dict) and _has_nul(value):
            return True
    return False


def refuse_nul(parameters: Any) -> None:
    """InvalidInput (422) when a bound value holds a NUL character (see ``inventory.store.db._refuse_nul_text``)."""
    if _has_nul(parameters):
        raise InvalidInput("文本中不能含有空字符 NUL（\\x00），请删除后重试 (text must not contain NUL)")


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
        refuse_nul(parameters)
        self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any] | dict[str, Any]]) -> InlineCursor:
        """Run one statement for many parameter sets."""
        if not isinstance(parameters, list | tuple):
            parameters = list(parameters)
        refuse_nul(parameters)
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
    """The subset of aiosqlite.Connection that SQLAlchemy's aiosqlite adapter uses.

    With ``grouped`` (the writer), :meth:`begin_write` opens the shared transaction if none is open
    and a savepoint for this write; SQLAlchemy's commit and rollback then release or roll back to that
    savepoint only, and the shared transaction ends with :meth:`commit_group` or :meth:`rollback_group`.
    """

    def __init__(self, path: str, *, grouped: bool = False) -> None:
        self._conn: sqlite3.Connection | None = sqlite3.connect(path, isolation_level=None)
        self.grouped = grouped
        self._savepoint = False

    def begin_write(self) -> None:
        """Begin one write: the shared transaction (taking the write lock) if needed, then its savepoint."""
        conn = self._require()
        if not conn.in_transaction:
            conn.execute("BEGIN IMMEDIATE")
        conn.execute("SAVEPOINT write")
        self._savepoint = True

    def commit_group(self) -> None:
        """Commit the shared transaction: every write released into it since it began."""
        conn = self._require()
        if conn.in_transaction:
            conn.execute("COMMIT")

    def rollback_group(self) -> None:
        """Roll back the shared transaction (after a failed commit)."""
        conn = self._require()
        self._savepoint = False
        if conn.in_transaction:
            conn.execute("ROLLBACK")

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
        """Commit the current transaction (grouped: keep this write's changes in the shared one)."""
        if not self.grouped:
            self._require().commit()
        elif self._savepoint:
            self._savepoint = False
            self._require().execute("RELEASE write")

    async def rollback(self) -> None:
        """Roll back the current transaction (grouped: this write's changes only)."""
        if not self.grouped:
            self._require().rollback()
        elif self._savepoint:  # not after a release: the pool's reset on return must keep the group
            self._savepoint = False
            conn = self._require()
            conn.execute("ROLLBACK TO write")
            conn.execute("RELEASE write")

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

    def begin_read(self) -> None:
        """Begin a read transaction: its statements all see the same committed state."""
        self._require().execute("BEGIN")

    def end_read(self) -> None:
        """End the read transaction begun by :meth:`begin_read`."""
        conn = self._require()
        if conn.in_transaction:
            conn.execute("ROLLBACK")

    def fetchall(self, sql: str, parameters: Sequence[Any] | dict[str, Any]) -> list[Any]:
        """Run one read statement straight on sqlite3 (no SQLAlchemy), for a hot path that needs no typing."""
        refuse_nul(parameters)
        return self._require().execute(sql, parameters).fetchall()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        """Register a SQL function."""
        self._require().create_function(*args, **kwargs)

    @property
    def isolation_level(self) -> str | None:
        """Always None: transactions are begun explicitly."""
        return self._require().isolation_level


def inline_creator(path: str, *, grouped: bool = False) -> Any:
    """An ``async_creator`` for create_async_engine that opens an inline connection to ``path``."""

    async def create() -> InlineConnection:
        return InlineConnection(path, grouped=grouped)

    return create
