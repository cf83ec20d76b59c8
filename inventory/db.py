"""Engine, sessions and transactions for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from inventory.errors import InvalidInput
from inventory.sqlite_inline import inline_creator


def sqlite_path(url: str) -> str:
    """The file (or ``:memory:``) a SQLite URL points at."""
    return make_url(url).database or ":memory:"


def _configure_sqlite(engine: AsyncEngine, *, immediate: bool) -> None:
    """WAL, foreign keys, a busy timeout, and transactions that really begin (consistent reads)."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        if dbapi_connection.isolation_level is not None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


def _refuse_nul_text(engine: AsyncEngine) -> None:
    """A NUL character in a bound value is a 422, on both databases, wherever the text came from.

    PostgreSQL cannot store or compare text containing NUL (``invalid byte sequence for encoding
    "UTF8": 0x00``), which made a name, a search term or a path segment with ``\\u0000``/``%00``
    a 500 there, while SQLite silently stored it.
    """

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _check(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if _has_nul(parameters):
            raise InvalidInput("文本中不能含有空字符 NUL（\\x00），请删除后重试 (text must not contain NUL)")


class Database:
    """One engine per process. Writes on SQLite are serialised in-process (one writer at a time)."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo}
        if not self.is_sqlite:
            kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        self.engine = create_async_engine(url, **kwargs)
        self.write_engine = self.engine
        if self.is_sqlite:
            # One writer connection, taking the write lock at BEGIN: no lock upgrades, no busy waits.
            self.write_engine = create_async_engine(
                url, echo=echo, pool_size=1, max_overflow=0, async_creator=inline_creator(sqlite_path(url)))
            _configure_sqlite(self.engine, immediate=False)
            _configure_sqlite(self.write_engine, immediate=True)
        _refuse_nul_text(self.engine)
        if self.write_engine is not self.engine:
            _refuse_nul_text(self.write_engine)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self.write_sessionmaker = async_sessionmaker(self.write_engine, expire_on_commit=False)
        self._write_lock = asyncio.Lock()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reading; the transaction is rolled back at the end."""
        async with self.sessionmaker() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits once at the end, or rolls back entirely on error."""
        if self.is_sqlite:
            async with self._write_lock, self.write_sessionmaker() as session, session.begin():
                yield session
        else:
            async with self.write_sessionmaker() as session, session.begin():
                yield session

    async def ping(self) -> bool:
        """True when the database answers a trivial query."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
        if self.write_engine is not self.engine:
            await self.write_engine.dispose()


def dialect_name(session: AsyncSession) -> str:
    """``sqlite`` or ``postgresql``: the few places that differ ask this."""
    return session.get_bind().dialect.name
