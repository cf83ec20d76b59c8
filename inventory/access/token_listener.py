"""Keeping the token cache right across server processes: PostgreSQL ``LISTEN`` on the token-change channel.

Every server process on PostgreSQL runs one :class:`TokenChangeListener` for as long as its application runs
(an application lifespan, :meth:`TokenChangeListener.running`). It holds a connection of its own (not one of
the pool's) on which it listens to :data:`inventory.access.tokens.CHANNEL`; each notification — a token
revoked, a user disabled, a role, scope or password changed, in whichever process, committed —
empties the process's :data:`~inventory.access.tokens.TOKENS` cache.

Fail safe: a notification missed would leave a revoked token usable here for up to the cache's time.
So the cache is *suspended* (nothing remembered, every request reads the database) from the moment
the listener starts until it is connected and listening, and again from the moment its connection is
lost (the driver reports it closed, or a check every :attr:`check_every` seconds does not answer within
:attr:`check_timeout`) until a new connection listens. Reconnecting is retried with a growing wait
(at most :attr:`retry_max` seconds); each new connection empties the cache before it is used again.

On SQLite there is one server process (``serve --workers`` is refused there) and nothing to listen
to: the listener does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from inventory.access.tokens import CHANNEL, TOKENS, TokenCache
from inventory.store.db import Database

log = logging.getLogger("inventory.tokens")

# Keys of a SQLAlchemy asyncpg URL's query that SQLAlchemy itself consumes (asyncpg.connect would refuse them).
_SQLALCHEMY_ONLY = ("prepared_statement_cache_size", "prepared_statement_name_func", "async_fallback",
                    "async_creator_fn")


def listener_application_name(pid: int | None = None) -> str:
    """The ``application_name`` of a process's listening connection (shown in ``pg_stat_activity``)."""
    return f"inventory token listener {pid if pid is not None else os.getpid()}"


class TokenChangeListener:
    """One process's listening connection and the loop that keeps it (module doc)."""

    def __init__(self, db: Database, cache: TokenCache = TOKENS, *, check_every: float = 5.0,
                 check_timeout: float = 2.0, retry_max: float = 5.0, first_wait: float = 5.0) -> None:
        self.db = db
        self.cache = cache
        self.check_every = check_every
        self.check_timeout = check_timeout
        self.retry_max = retry_max
        self.first_wait = first_wait  # startup waits this long at most for the first connection
        self.connections = 0  # how many times a connection was made and listened on (for tests and diagnostics)
        self._connection: Any = None
        self._suspended = False
        self._lost = asyncio.Event()
        self._first = asyncio.Event()

    @property
    def listening(self) -> bool:
        """True while a connection listens (and so the cache may be used)."""
        return self._connection is not None and not self._suspended

    @property
    def backend_pid(self) -> int | None:
        """The PostgreSQL backend process of the listening connection, if any."""
        return int(self._connection.get_server_pid()) if self._connection is not None else None

    @contextlib.asynccontextmanager
    async def running(self, _app: object = None) -> AsyncIterator[TokenChangeListener]:
        """An application lifespan: listen while the block runs (waiting briefly for the first connection)."""
        if self.db.is_sqlite:
            yield self
            return
        self._lost, self._first = asyncio.Event(), asyncio.Event()  # this event loop's
        self._go_down()
        task = asyncio.get_running_loop().create_task(self._keep_listening(), name="token-listener")
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._first.wait(), self.first_wait)
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await self._close()
            if self._suspended:
                self._suspended = False
                self.cache.resume()
            else:
                self.cache.clear()  # nothing tells this process of changes any more: start afresh

    def _go_down(self) -> None:
        """Suspend the cache (once per outage)."""
        if not self._suspended:
            self._suspended = True
            self.cache.suspend()

    def _come_up(self) -> None:
        """Resume the cache: a connection listens now (the cache is emptied on the way)."""
        if self._suspended:
            self._suspended = False
            self.cache.resume()

    def _notified(self, _connection: object, _pid: int, _channel: str, _payload: str) -> None:
        self.cache.clear()

    def _terminated(self, connection: object) -> None:
        if connection is not self._connection:
            return  # an earlier connection's late report
        self._go_down()  # as soon as the driver reports it, before the watching task wakes: nothing is heard now
        self._lost.set()

    async def _connect(self) -> Any:
        """A new connection of its own to the database of the URL, listening on the channel."""
        engine = self.db.engine
        args, kwargs = engine.dialect.create_connect_args(engine.url)
        for key in _SQLALCHEMY_ONLY:
            kwargs.pop(key, None)
        settings = dict(kwargs.pop("server_settings", None) or {})
        settings["application_name"] = listener_application_name()
        connection = await asyncpg.connect(*args, timeout=self.check_timeout * 5, server_settings=settings, **kwargs)
        try:
            self._lost.clear()
            connection.add_termination_listener(self._terminated)
            await connection.add_listener(CHANNEL, self._notified)
        except BaseException:
            connection.terminate()
            raise
        return connection

    async def _keep_listening(self) -> None:
        """Connect, listen and check the connection; on any loss suspend the cache and connect again."""
        wait = 0.1
        warned = False
        while True:
            try:
                self._connection = await self._connect()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not warned:
                    log.warning("令牌变更监听连接失败，登录缓存已停用，稍后重试 (token listener cannot connect: %r; "
                                "the token cache is off until it does)", exc)
                    warned = True
                self._first.set()
                await asyncio.sleep(wait)
                wait = min(wait * 2, self.retry_max)
                continue
            wait, warned = 0.1, False
            self.connections += 1
            self._come_up()
            self._first.set()
            try:
                await self._watch()
                log.warning("令牌变更监听连接已断开，登录缓存已停用，正在重连 (token listener connection closed)")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("令牌变更监听连接中断，登录缓存已停用，正在重连 (token listener lost: %r)", exc)
            finally:
                self._go_down()
                await self._close()

    async def _watch(self) -> None:
        """Return when the connection is lost: closed, or not answering a check in time."""
        while not self._lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), self.check_every)
            if self._lost.is_set():
                return
            await self._connection.fetchval("SELECT 1", timeout=self.check_timeout)

    async def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None or connection.is_closed():
            return
        connection.remove_termination_listener(self._terminated)
        try:
            await asyncio.wait_for(connection.close(), self.check_timeout)
        except Exception:  # closing politely failed: drop it
            connection.terminate()
