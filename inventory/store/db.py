"""Engine, sessions and transactions for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Insert, bindparam, event, exc, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.util import await_only

from inventory.store.sqlite_inline import InlineConnection, inline_creator, refuse_nul

_SQLITE = sqlite.dialect()
SQLITE_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA foreign_keys=ON", "PRAGMA busy_timeout=10000",
                  "PRAGMA synchronous=NORMAL")
"""Set on every SQLite connection: SQLAlchemy's pooled ones and those of :meth:`Database.reader`."""

APPENDED = "inventory.appended_rows"
PENDING = "inventory.pending_rows"
TURN = "inventory.turn"
HEAVY_READS = max(1, (os.cpu_count() or 2) // 2)
"""Heavy reads running at once per process (see Database.heavy_read)."""
_IN_HEAVY_READ: ContextVar[bool] = ContextVar("inventory_in_heavy_read", default=False)
TURN_WAIT = 1.0  # seconds a write waits for its turn before it queues in PostgreSQL instead (see Turns)
MAX_GROUP = 64  # writes sharing one SQLite commit at most (bounds the wait of the first)


def sqlite_path(url: str) -> str:
    """The file (or ``:memory:``) a SQLite URL points at."""
    return make_url(url).database or ":memory:"


def _configure_sqlite(engine: AsyncEngine, *, writer: bool) -> None:
    """WAL, foreign keys, a busy timeout, and transactions that really begin (consistent reads).

    The writer's transactions are savepoints in a shared transaction that takes the write lock at
    BEGIN (no lock upgrades, no busy waits); see :meth:`Database.write`.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        if dbapi_connection.isolation_level is not None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        if writer:
            conn.connection.driver_connection.begin_write()
        else:
            conn.exec_driver_sql("BEGIN")


def _refuse_nul_text(engine: AsyncEngine) -> None:
    """A NUL character in a bound value is a 422, on both databases, wherever the text came from.

    PostgreSQL cannot store or compare text containing NUL (``invalid byte sequence for encoding
    "UTF8": 0x00``), which made a name, a search term or a path segment with ``\\u0000``/``%00``
    a 500 there, while SQLite silently stored it. On SQLite the inline cursor makes the same check
    (cheaper than an engine event on every statement).
    """

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _check(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        refuse_nul(parameters)


def _begin_on_checkout(engine: AsyncEngine) -> None:
    """PostgreSQL: a connection taken from the pool begins its transaction at once, which also proves it alive.

    SQLAlchemy's ``pool_pre_ping`` costs three round trips per checkout on asyncpg (BEGIN, an empty
    query, ROLLBACK), and the transaction's own BEGIN a fourth with the first statement. Here the
    BEGIN is sent on checkout instead, and is the ping: a connection the server has closed (a restart,
    an administrator's ``pg_terminate_backend``) fails it, or is already seen closed, and the pool
    replaces every connection older than now before the caller runs anything. The first statement
    then finds the transaction begun. (Setting an isolation level on the connection, as an AUTOCOMMIT
    maintenance statement does, rolls this transaction back first, as SQLAlchemy always does.)
    """

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        driver = dbapi_connection.driver_connection
        if driver.is_closed():
            raise exc.InvalidatePoolError("connection closed by the server")
        if dbapi_connection.autocommit or getattr(dbapi_connection, "_transaction", None) is not None:
            return
        try:
            await_only(dbapi_connection._start_transaction())
        except Exception as error:
            if driver.is_closed() or engine.dialect.is_disconnect(cast(Any, error), dbapi_connection, None):
                raise exc.InvalidatePoolError(f"connection lost: {error}") from error
            raise


class Session(AsyncSession):
    """An AsyncSession that hands out its transaction's connection without asking again each time.

    The write path takes ``await session.connection()`` before each of its Core statements; the plain
    call re-resolves the binding and the transaction state every time (about 10 µs, a tenth of a small
    statement). The connection of an active transaction never changes, so it is kept with it.
    """

    _kept: tuple[Any, AsyncConnection] | None = None

    async def connection(self, bind_arguments: Any = None, execution_options: Any = None,
                         **kw: Any) -> AsyncConnection:
        """The connection of the current transaction (beginning one if needed)."""
        if bind_arguments is not None or execution_options is not None or kw:
            return await super().connection(bind_arguments, execution_options, **kw)
        transaction = self.sync_session.get_transaction()
        kept = self._kept
        if kept is not None and kept[0] is transaction and transaction is not None and transaction.is_active:
            return kept[1]
        conn = await super().connection()
        self._kept = (self.sync_session.get_transaction(), conn)
        return conn


class Turns:
    """First come, first served among this process's write transactions that change the same stock (PostgreSQL).

    Writers of one balance row queue in PostgreSQL for its row lock, but not in arrival order: each writer
    leaves a new version of the row, and the waiters race for it, so some waited many turns (p99 150 ms
    where p50 was 25 ms in bench/movements.py: one balance, 16 clients). A write that takes its turn here
    first waits behind this process's earlier writers in arrival order, and reaches PostgreSQL with at
    most one writer per process ahead of it (p99 about 50 ms, and a third less PostgreSQL CPU per write).
    A turn is held until the transaction ends (:meth:`Database.write` gives it back).

    Only an order, never needed for correctness — the row locks are. So a write waits at most
    :data:`TURN_WAIT` for its turn, and then queues in PostgreSQL as before: a transaction that holds a
    turn and waits on a lock held by one that waits for the turn cannot hang.
    """

    def __init__(self) -> None:
        self._queues: dict[Hashable, deque[asyncio.Future[None]]] = {}  # a key present is held; its waiters

    async def take(self, key: Hashable) -> bool:
        """Wait for the turn of ``key`` (True), or give up after :data:`TURN_WAIT` seconds (False)."""
        queue = self._queues.get(key)
        if queue is None:
            self._queues[key] = deque()
            return True
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue.append(waiter)
        try:
            await asyncio.wait([waiter], timeout=TURN_WAIT)
        except BaseException:  # cancelled while waiting: a turn given meanwhile goes on to the next
            if waiter.done() and not waiter.cancelled():
                self.give_back(key)
            waiter.cancel()
            raise
        if waiter.done() and not waiter.cancelled():
            return True
        waiter.cancel()  # give_back() skips it
        return False

    def give_back(self, key: Hashable) -> None:
        """End the turn of ``key``: the next waiter's starts."""
        queue = self._queues[key]
        while queue:
            waiter = queue.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        del self._queues[key]


@dataclass
class _TurnState:
    """A write transaction's turn: asked for at most once, before its first change of stock."""

    turns: Turns
    asked: bool = False
    held: list[Hashable] = field(default_factory=list)


async def wait_turn(session: AsyncSession, key: Hashable) -> None:
    """PostgreSQL, in :meth:`Database.write`: wait for this process's earlier writers of ``key`` (see :class:`Turns`).

    Call it just before the transaction's first change of stock (a later call, or one after
    :func:`no_turn`, does nothing): one turn per transaction, so turns cannot wait on each other.
    """
    state: _TurnState | None = session.info.get(TURN)
    if state is None or state.asked:
        return
    state.asked = True
    if await state.turns.take(key):
        state.held.append(key)


def no_turn(session: AsyncSession) -> None:
    """This transaction changes stock without a turn: it will not take one later (see :func:`wait_turn`)."""
    state: _TurnState | None = session.info.get(TURN)
    if state is not None:
        state.asked = True


class Database:
    """One engine per process. Writes on SQLite are serialised in-process (one writer at a time)."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo}
        if not self.is_sqlite:
            # 20 kept open: a server under load runs more than 10 requests at once, and every connection
            # opened past the pool is closed on return (a new PostgreSQL backend, its statements prepared again).
            kwargs.update(pool_size=20, max_overflow=10)
        if self.is_sqlite:
            # Statements on a local SQLite file take microseconds: they run inline on the event loop
            # (inventory.store.sqlite_inline) instead of costing aiosqlite's thread hops.
            kwargs.update(async_creator=inline_creator(sqlite_path(url)))
        self.engine = create_async_engine(url, **kwargs)
        self.write_engine = self.engine
        if self.is_sqlite:
            # One writer connection, whose writes are grouped into shared transactions (see write()).
            self.write_engine = create_async_engine(
                url, echo=echo, pool_size=1, max_overflow=0,
                async_creator=inline_creator(sqlite_path(url), grouped=True))
            _configure_sqlite(self.engine, writer=False)
            _configure_sqlite(self.write_engine, writer=True)
        if not self.is_sqlite:
            _refuse_nul_text(self.engine)
            _begin_on_checkout(self.engine)
        self.heavy_engine = self.engine
        if self.is_sqlite and sqlite_path(url) != ":memory:":
            # Reads whose cost grows with the data run their statements in aiosqlite's worker threads, on
            # connections of their own, so that the event loop keeps answering meanwhile (heavy_read()).
            self.heavy_engine = create_async_engine(url, echo=echo, pool_size=4, max_overflow=4)
            _configure_sqlite(self.heavy_engine, writer=False)
            _refuse_nul_text(self.heavy_engine)
        self._heavy_turns = asyncio.Semaphore(HEAVY_READS)
        self.heavy_sessionmaker = async_sessionmaker(self.heavy_engine, expire_on_commit=False, class_=Session)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False, class_=Session)
        self.write_sessionmaker = async_sessionmaker(self.write_engine, expire_on_commit=False, class_=Session)
        self._write_lock = asyncio.Lock()
        self._group: asyncio.Future[None] | None = None  # SQLite: writes released but not yet committed
        self._group_writes = 0
        self._flusher: asyncio.Task[None] | None = None
        self._appended: list[tuple[Any, dict[str, Any]]] = []  # rows of the group's writes, not yet inserted
        self.group_commits = 0  # SQLite: shared transactions committed (for tests and diagnostics)
        self._raw_readers: list[InlineConnection] = []  # SQLite: idle connections of reader()
        self._turns = Turns()  # PostgreSQL: writers of the same stock in arrival order (wait_turn)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reading; the transaction is rolled back at the end."""
        async with self.sessionmaker() as session:
            yield session

    @asynccontextmanager
    async def heavy_read(self) -> AsyncIterator[AsyncSession]:
        """A session for a read whose cost grows with the data: lists and their deep pages, summaries, reports,
        exports, the ledger check, sheets. On SQLite its statements run in a worker thread (aiosqlite) on a
        connection of its own — a statement there takes the time it takes, but the event loop keeps answering
        ``/health``, scans, sign-ins and ``nearest`` meanwhile; the small bounded reads stay on :meth:`read` and
        :meth:`reader`, inline, where a thread hop would cost more than the statement. On PostgreSQL it is
        :meth:`read` (asyncpg never blocks the loop while PostgreSQL works).

        At most :data:`HEAVY_READS` run at once per process, the others wait their turn: on a machine with few
        cores, heavy reads running side by side would take every core from the writes and ``/health`` (on
        PostgreSQL the database's own CPU too)."""
        if _IN_HEAVY_READ.get():  # a heavy read within one: it already holds its turn
            async with self.heavy_sessionmaker() as session:
                yield session
            return
        async with self._heavy_turns:
            token = _IN_HEAVY_READ.set(True)
            try:
                async with self.heavy_sessionmaker() as session:
                    yield session
            finally:
                _IN_HEAVY_READ.reset(token)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits once at the end, or rolls back entirely on error.

        On SQLite the block returns only once its changes are committed, but the commit is shared
        (group commit): one writer connection runs the writes one at a time, each in a savepoint of a
        shared transaction, and that transaction commits when the event loop has run every write
        that was ready to run — so a burst of concurrent writes costs one commit, not one each. A
        write that fails rolls back to its savepoint and leaves the others untouched; if the commit
        itself fails, every write of the group fails with it.

        On PostgreSQL each write is a transaction of its own; its appended rows (:func:`append_row`) go
        with its next :func:`insert_with_appended` or just before the commit, and a turn it took
        (:func:`wait_turn`) ends when the transaction does.
        """
        if not self.is_sqlite:
            turn = _TurnState(self._turns)
            try:
                async with self.write_sessionmaker() as session, session.begin():
                    pending: list[tuple[Any, dict[str, Any]]] = []
                    session.info[PENDING] = pending
                    session.info[TURN] = turn
                    yield session
                    await _insert_pending(session, pending)
            finally:
                for key in turn.held:
                    self._turns.give_back(key)
            return
        async with self._write_lock:
            if self._group is None:
                self._group = asyncio.get_running_loop().create_future()
            group = self._group
            try:
                async with self.write_sessionmaker() as session, session.begin():
                    appended: list[tuple[Any, dict[str, Any]]] = []
                    session.info[APPENDED] = appended
                    yield session
                self._appended.extend(appended)  # this write succeeded: its rows commit with the group
            finally:
                self._group_writes += 1
                if self._group_writes >= MAX_GROUP:
                    await self._commit_group()
                elif self._flusher is None:
                    self._flusher = asyncio.get_running_loop().create_task(self._flush())
        await asyncio.shield(group)

    async def _flush(self) -> None:
        """Commit the open group once the writes ready to run before this task have run."""
        async with self._write_lock:
            self._flusher = None
            await self._commit_group()

    async def _commit_group(self) -> None:
        """Commit the shared transaction and answer every write waiting for it (called holding the lock)."""
        group, self._group, self._group_writes = self._group, None, 0
        appended, self._appended = self._appended, []
        if group is None:
            return
        async with self.write_engine.connect() as conn:
            writer = cast(InlineConnection, (await conn.get_raw_connection()).driver_connection)
            try:
                for statement in dict.fromkeys(stmt for stmt, _ in appended):
                    await conn.execute(statement, [values for stmt, values in appended if stmt is statement])
                await conn.commit()
                writer.commit_group()
                self.group_commits += 1
            except Exception as exc:
                writer.rollback_group()
                group.set_exception(exc)
                group.exception()  # the writes that failed themselves do not wait for it
                return
        group.set_result(None)

    async def ping(self) -> bool:
        """True when the database answers a trivial query."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Reader]:
        """What a hot read path takes: on SQLite a read transaction on a connection of its own, used without
        SQLAlchemy (a session costs ~0.15 ms to begin and end, more than a commander's query itself); on
        PostgreSQL a read session."""
        if not self.is_sqlite:
            async with self.read() as session:
                yield session
            return
        conn = self._raw_readers.pop() if self._raw_readers else self._open_raw_reader()
        try:
            conn.begin_read()
            yield conn
        finally:
            try:
                conn.end_read()
            except Exception:  # a connection that cannot end its transaction is not reused
                await conn.close()
            else:
                self._raw_readers.append(conn)

    def _open_raw_reader(self) -> InlineConnection:
        conn = InlineConnection(sqlite_path(self.url))
        for pragma in SQLITE_PRAGMAS:
            conn.fetchall(pragma, ())
        return conn

    async def dispose(self) -> None:
        """Commit what is pending and close every pooled connection."""
        if self._group is not None:
            async with self._write_lock:
                await self._commit_group()
        while self._raw_readers:
            await self._raw_readers.pop().close()
        await self.engine.dispose()
        if self.heavy_engine is not self.engine:
            await self.heavy_engine.dispose()
        if self.write_engine is not self.engine:
            await self.write_engine.dispose()


async def append_row(session: AsyncSession, statement: Any, values: dict[str, Any]) -> None:
    """Insert a row that the write itself never reads back (an audit entry), in the write's transaction.

    On SQLite the rows of a group's writes are inserted together (one ``executemany`` per statement)
    just before the group commits; a write that fails drops its rows with its other changes. On
    PostgreSQL, in :meth:`Database.write`, the row goes with the write's next :func:`insert_with_appended`
    (the same statement, no round trip of its own), or else is inserted just before the commit.
    Elsewhere the row is inserted at once.
    """
    appended: list[tuple[Any, dict[str, Any]]] | None = session.info.get(PENDING, session.info.get(APPENDED))
    if appended is not None:
        appended.append((statement, values))
    else:
        await (await session.connection()).execute(statement, values)


async def insert_with_appended(session: AsyncSession, statement: Insert, values: dict[str, Any]) -> None:
    """Insert one row; on PostgreSQL the rows appended so far in this write go in the same statement.

    They become data-modifying CTEs (``WITH a0 AS (INSERT …) INSERT …``): one round trip instead of
    one each, inside the write's transaction as before. On SQLite (whose appended rows wait for the
    group commit) and outside :meth:`Database.write` it is a plain insert.
    """
    pending: list[tuple[Any, dict[str, Any]]] | None = session.info.get(PENDING)
    conn = await session.connection()
    if not pending:
        await conn.execute(statement, values)
        return
    combined = _with_appended(statement, tuple(values), tuple((stmt, tuple(row)) for stmt, row in pending))
    params = {f"m_{name}": value for name, value in values.items()}
    for n, (_, row) in enumerate(pending):
        params.update({f"a{n}_{name}": value for name, value in row.items()})
    await conn.execute(combined, params)
    pending.clear()


@lru_cache(maxsize=64)
def _with_appended(statement: Insert, names: tuple[str, ...],
                   appended: tuple[tuple[Insert, tuple[str, ...]], ...]) -> Insert:
    """``statement`` for these columns, with an INSERT CTE for each appended row (built once per shape)."""
    combined = statement.values({name: bindparam(f"m_{name}") for name in names})
    for n, (stmt, columns) in enumerate(appended):
        combined = combined.add_cte(stmt.values({name: bindparam(f"a{n}_{name}") for name in columns}).cte(f"a{n}"))
    return combined


async def _insert_pending(session: AsyncSession, pending: list[tuple[Any, dict[str, Any]]]) -> None:
    """Insert the appended rows no statement took along, before the commit (PostgreSQL)."""
    if not pending:
        return
    conn = await session.connection()
    for statement in dict.fromkeys(stmt for stmt, _ in pending):
        rows = [values for stmt, values in pending if stmt is statement]
        await conn.execute(statement, rows if len(rows) > 1 else rows[0])
    pending.clear()


def dialect_name(session: AsyncSession) -> str:
    """``sqlite`` or ``postgresql``: the few places that differ ask this."""
    return session.get_bind().dialect.name


Reader = AsyncSession | InlineConnection
"""What a hot read path accepts: a session, or (SQLite) a connection of :meth:`Database.reader`."""


def reader_dialect(reader: Reader) -> str:
    """``sqlite`` or ``postgresql``, for a session or a reader connection."""
    return "sqlite" if isinstance(reader, InlineConnection) else dialect_name(reader)


async def raw_sqlite(reader: Reader) -> InlineConnection:
    """The SQLite connection itself, for a hot read that SQLAlchemy's per-statement work would double."""
    if isinstance(reader, InlineConnection):
        return reader
    conn = await (await reader.connection()).get_raw_connection()
    return cast(InlineConnection, conn.driver_connection)


@lru_cache(maxsize=1024)
def sqlite_text(statement: ClauseElement) -> tuple[str, tuple[Any, ...]]:
    """A Core statement compiled once for SQLite: its SQL text and positional parameters (values inlined as binds).

    For statements built once per distinct request (kept in an ``lru_cache`` by their maker) and run with
    :func:`raw_sqlite`: neither building nor compiling is paid again. Only for parameters sqlite3 takes as
    they are (numbers and text): no SQLAlchemy type processing happens on this path.
    """
    compiled = cast(SQLCompiler, statement.compile(dialect=_SQLITE, compile_kwargs={"render_postcompile": True}))
    names = compiled.positiontup or ()
    return str(compiled), tuple(compiled.params[name] for name in names)
