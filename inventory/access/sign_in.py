"""Signing in with a password: throttled per username, and never holding up anyone else's work.

One sign-in is short steps around a slow one:

1. in a write transaction, count the attempt (:func:`reserve_attempt`) — five in 15 minutes and the
   rest are throttled without being checked, however many arrive at once;
2. read the user's hash;
3. check the password (Argon2, deliberately ~0.2–0.5 s of CPU) in a worker thread, **outside any
   transaction**: inside the write it held SQLite's single writer — and on the event loop, every
   request — for the whole check, so a flood of anonymous sign-ins made other users' writes wait for
   all of it. At most :attr:`PasswordChecks.concurrency` checks run at once (half the cores, so
   hashing never takes all of them); a sign-in that would have more than
   :attr:`PasswordChecks.max_pending` ahead of it is answered "busy" at once (503, Retry-After) and
   its attempt is not counted;
4. on success, in one write transaction: drop the reserved attempt and issue the token.

The throttle itself (attempts stored in ``login_failures``) is here too.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import os
import weakref
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.access.tokens import TOKEN_TTL, issue_token
from inventory.access.users import verify_password
from inventory.store.db import Database
from inventory.store.models import LoginFailure, User, utcnow

BUSY_RETRY_AFTER = 2  # seconds: about what the checks already queued take to run
THROTTLE_WINDOW = dt.timedelta(minutes=15)
THROTTLE_LIMIT = 5


async def throttled_for(session: AsyncSession, username: str, now: dt.datetime | None = None) -> int:
    """Seconds until this username may try again, 0 when it may try now (a read: see :func:`reserve_attempt`)."""
    now = now or utcnow()
    recent = list(await session.scalars(
        select(LoginFailure.at).where(LoginFailure.username == username, LoginFailure.at > now - THROTTLE_WINDOW)
        .order_by(LoginFailure.at.desc()).limit(THROTTLE_LIMIT)))
    if len(recent) < THROTTLE_LIMIT:
        return 0
    return max(1, int((recent[-1] + THROTTLE_WINDOW - now).total_seconds()) + 1)


def _attempt_lock(username: str) -> int:
    """The PostgreSQL advisory lock key of one username's sign-in attempts (a signed 64-bit number)."""
    return int.from_bytes(hashlib.sha256(f"sign-in:{username}".encode()).digest()[:8], "big", signed=True)


async def reserve_attempt(session: AsyncSession, username: str, client_ip: str) -> tuple[int | None, int]:
    """Count a sign-in attempt before its password is checked: ``(attempt id, 0)``, or ``(None, seconds to wait)``.

    Call in a write transaction. The attempt is stored as a failure at once, so concurrent attempts
    count it while its password is being checked; :func:`release_attempt` removes it if it succeeds.
    Counting and storing are one step per username: on SQLite the single writer runs one write at a
    time, on PostgreSQL a transaction-scoped advisory lock on the username serialises them (without
    it, forty parallel guesses each counted the others' uncommitted rows as absent and all were
    checked). A throttled attempt is not stored: the window runs from the attempts actually checked.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(_attempt_lock(username))))
    now = utcnow()
    wait = await throttled_for(session, username, now)
    if wait:
        return None, wait
    attempt = LoginFailure(username=username[:64], client_ip=client_ip[:64], at=now)
    session.add(attempt)
    await session.flush()
    return attempt.id, 0


async def release_attempt(session: AsyncSession, attempt_id: int) -> None:
    """Forget a reserved attempt that turned out not to be a failure (right password, or never checked)."""
    await session.execute(delete(LoginFailure).where(LoginFailure.id == attempt_id)
                          .execution_options(synchronize_session=False))


async def record_failure(session: AsyncSession, username: str, client_ip: str) -> None:
    """Remember a failed sign-in for throttling."""
    session.add(LoginFailure(username=username[:64], client_ip=client_ip[:64], at=utcnow()))
    await session.flush()


class PasswordChecks:
    """Password verifications in worker threads, a few at a time, with a bounded queue."""

    def __init__(self, concurrency: int, max_pending: int) -> None:
        self.concurrency = concurrency
        self.max_pending = max_pending
        self.pending = 0  # checks running or waiting in this process
        self._slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary())

    async def check(self, stored: str | None, password: str) -> bool | None:
        """True/False for the password, or None when too many checks are already waiting (try later)."""
        if self.pending >= self.max_pending:
            return None
        self.pending += 1
        try:
            loop = asyncio.get_running_loop()
            slots = self._slots.get(loop)
            if slots is None:
                slots = self._slots[loop] = asyncio.Semaphore(self.concurrency)
            async with slots:
                return await asyncio.to_thread(verify_password, stored, password)
        finally:
            self.pending -= 1


PASSWORD_CHECKS = PasswordChecks(concurrency=max(1, (os.cpu_count() or 2) // 2), max_pending=16)


@dataclass(frozen=True)
class SignIn:
    """How a sign-in ended: ``ok`` (with the token), ``wrong``, ``throttled`` or ``busy`` (with ``retry_after``)."""

    outcome: Literal["ok", "wrong", "throttled", "busy"]
    retry_after: int = 0
    token: str = ""
    expires_at: dt.datetime | None = None
    user: User | None = None


async def sign_in(db: Database, username: str, password: str, client_ip: str, *, kind: str = "bearer",
                  ttl: dt.timedelta = TOKEN_TTL) -> SignIn:
    """Check a username and password (throttled) and issue a token of ``kind``; the same answer for unknown users."""
    username = username[:64]
    async with db.write() as session:
        attempt, wait = await reserve_attempt(session, username, client_ip)
    if attempt is None:
        return SignIn("throttled", retry_after=wait)
    async with db.read() as session:
        found = (await session.execute(select(User.id, User.password_hash, User.active)
                                       .where(User.username == username))).first()
    stored = found.password_hash if found is not None else None
    ok = await PASSWORD_CHECKS.check(stored, password)
    if ok is None:
        async with db.write() as session:
            await release_attempt(session, attempt)
        return SignIn("busy", retry_after=BUSY_RETRY_AFTER)
    if not ok or found is None or not found.active:
        return SignIn("wrong")  # the reserved attempt stays: it is this failure
    async with db.write() as session:
        user = await session.get(User, found.id)
        if user is None or not user.active or user.password_hash != stored:  # changed while it was checked
            return SignIn("wrong")
        await release_attempt(session, attempt)
        token, row = await issue_token(session, user, kind=kind, ttl=ttl)
    return SignIn("ok", token=token, expires_at=row.expires_at, user=user)
