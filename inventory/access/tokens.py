"""Opaque tokens: issuing, resolving (through a short-lived cache of principals) and revoking them."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.access.scope import Principal
from inventory.errors import Unauthenticated
from inventory.store.db import dialect_name
from inventory.store.models import AuthToken, User, utcnow

TOKEN_TTL = dt.timedelta(hours=12)
CHANNEL = "inventory_token_changes"
"""The PostgreSQL notification channel on which a change of tokens or users is announced (:func:`announce_change`)."""


def hash_token(token: str) -> str:
    """How a token is stored: its SHA-256, so a database leak gives no usable token."""
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_token(session: AsyncSession, user: User, kind: str = "bearer",
                      ttl: dt.timedelta = TOKEN_TTL) -> tuple[str, AuthToken]:
    """A new random token for the user; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    row = AuthToken(token_hash=hash_token(token), user_id=user.id, kind=kind, created_at=utcnow(),
                    expires_at=utcnow() + ttl)
    session.add(row)
    await session.flush()
    return token, row


_RESOLVE = (
    select(AuthToken.id, AuthToken.expires_at, AuthToken.revoked_at, User.id, User.username, User.display_name,
           User.role, User.scope_regions, User.scope_locations, User.active)
    .join(User, User.id == AuthToken.user_id)
)


async def resolve_token(session: AsyncSession, token: str, kind: str | None = None) -> Principal:
    """The principal behind a token; Unauthenticated when unknown, expired, revoked or disabled."""
    return (await _resolve(session, token, kind))[0]


async def _resolve(session: AsyncSession, token: str, kind: str | None) -> tuple[Principal, dt.datetime]:
    stmt = _RESOLVE.where(AuthToken.token_hash == hash_token(token))
    if kind is not None:
        stmt = stmt.where(AuthToken.kind == kind)
    row = (await session.execute(stmt)).first()
    if row is None:
        raise Unauthenticated("登录凭证无效，请重新登录 (invalid token)")
    token_id, expires_at, revoked_at, user_id, username, display, role, regions, locations, active = row
    if revoked_at is not None:
        raise Unauthenticated("登录凭证已注销，请重新登录 (token revoked)")
    if expires_at <= utcnow():
        raise Unauthenticated("登录已过期，请重新登录 (token expired)")
    if not active:
        raise Unauthenticated("账号已停用，请联系管理员 (account disabled)")
    return Principal(user_id, username, display, role, tuple(regions or ()), tuple(locations or ()),
                     token_id), expires_at


class TokenCache:
    """Principals of recently resolved tokens, kept for a few seconds.

    Every API request presents its token; resolving it costs a read transaction, about as much as the
    rest of a small write. A resolved token is remembered for ``ttl`` seconds (never past its own
    expiry). Revoking a token, disabling a user or changing a user's role, scope or password through
    this package (:func:`announce_change`) empties the cache at once.

    Across processes: on PostgreSQL the same change sends a ``NOTIFY`` on :data:`CHANNEL` in its own
    transaction, delivered when it commits, and every server process listens for it
    (:mod:`inventory.access.token_listener`) and empties its cache — so a token revoked through one
    process is refused by every other as soon as PostgreSQL delivers the notification (normally within a
    millisecond of the commit; on a loaded machine when the listening backend is next scheduled). While
    a registered listener is not connected (starting, or its connection lost) the cache is *suspended*:
    nothing is remembered and every request reads the database, since a notification could be missed. A
    change made without :func:`announce_change` (an SQL ``UPDATE`` by hand), or by another process on
    SQLite (``inventory users disable`` beside a running server), takes effect within ``ttl`` seconds.

    A principal read from the database while the cache was emptied is not remembered (the read may have
    seen the state before the change): :meth:`put` takes the :attr:`generation` read before the lookup.
    """

    def __init__(self, ttl: float = 5.0, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[tuple[str, str | None], tuple[float, Principal]] = {}
        self._generation = 0
        self._suspended = 0  # registered listeners not connected now: while any, nothing is cached

    @property
    def generation(self) -> int:
        """How many times the cache was emptied; read it before resolving a token, hand it to :meth:`put`."""
        return self._generation

    @property
    def suspended(self) -> bool:
        """True while some registered listener is not connected (nothing is cached then)."""
        return self._suspended > 0

    def get(self, token: str, kind: str | None) -> Principal | None:
        """The remembered principal, or None when unknown or too old (always None while suspended)."""
        if self._suspended:
            return None
        key = (hash_token(token), kind)
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            del self._entries[key]
            return None
        return entry[1]

    def put(self, token: str, kind: str | None, principal: Principal, expires_at: dt.datetime,
            generation: int | None = None) -> None:
        """Remember a principal just resolved from the database.

        Not remembered while suspended, nor when the cache was emptied since ``generation`` was read.
        """
        if self._suspended or (generation is not None and generation != self._generation):
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        left = min(self.ttl, (expires_at - utcnow()).total_seconds())
        if left > 0:
            self._entries[(hash_token(token), kind)] = (time.monotonic() + left, principal)

    def clear(self) -> None:
        """Forget every principal (a token or a user changed)."""
        self._entries.clear()
        self._generation += 1

    def suspend(self) -> None:
        """A listener is registered but not connected: forget everything and cache nothing until :meth:`resume`."""
        self._suspended += 1
        self.clear()

    def resume(self) -> None:
        """That listener is connected (or gone): forget what may be stale, cache again once none is suspended."""
        self._suspended = max(0, self._suspended - 1)
        self.clear()


TOKENS = TokenCache()


async def cached_principal(
    session_factory: Callable[[], AbstractAsyncContextManager[AsyncSession]], token: str, kind: str | None = None,
) -> Principal:
    """``resolve_token`` through :data:`TOKENS`; ``session_factory()`` opens a read session when needed."""
    principal = TOKENS.get(token, kind)
    if principal is not None:
        return principal
    generation = TOKENS.generation
    async with session_factory() as session:
        principal, expires_at = await _resolve(session, token, kind)
    TOKENS.put(token, kind, principal, expires_at, generation)
    return principal


async def announce_change(session: AsyncSession) -> None:
    """A token or a user changes in this transaction: empty this process's cache, and (PostgreSQL) tell the others.

    The ``NOTIFY`` is part of the transaction: it is delivered to every listening process (this one
    too) when the transaction commits, and not at all when it rolls back.
    """
    TOKENS.clear()
    if dialect_name(session) == "postgresql":
        await session.execute(select(func.pg_notify(CHANNEL, "")))


async def revoke_token(session: AsyncSession, token_id: int) -> None:
    """Revoke one token."""
    await announce_change(session)
    await session.execute(update(AuthToken).where(AuthToken.id == token_id, AuthToken.revoked_at.is_(None))
                          .values(revoked_at=utcnow()).execution_options(synchronize_session=False))


async def revoke_all(session: AsyncSession, user_id: int) -> None:
    """Revoke every token of a user."""
    await announce_change(session)
    await session.execute(update(AuthToken).where(AuthToken.user_id == user_id, AuthToken.revoked_at.is_(None))
                          .values(revoked_at=utcnow()).execution_options(synchronize_session=False))
