"""Users, passwords (Argon2), opaque tokens, sign-in throttling and scope checks."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import os
import secrets
import time
import weakref
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Annotated

import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.access.permissions import ROLE_ZH, ROLES
from inventory.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Unauthenticated
from inventory.schemas import Id
from inventory.store.models import AuthToken, Location, LoginFailure, User, utcnow

TOKEN_TTL = dt.timedelta(hours=12)
THROTTLE_WINDOW = dt.timedelta(minutes=15)
THROTTLE_LIMIT = 5
MIN_PASSWORD = 10
MAX_PASSWORD = 256
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("timing-equaliser-not-a-password")


class Principal(msgspec.Struct, frozen=True):
    """The signed-in user as the rest of the code sees them."""

    user_id: int
    username: str
    display_name: str
    role: str
    scope_regions: tuple[str, ...]
    scope_locations: tuple[int, ...]
    token_id: int


# As long as the columns (longer text was a 500 on PostgreSQL, which enforces VARCHAR lengths).
DisplayName = Annotated[str, msgspec.Meta(max_length=64)]
PhoneText = Annotated[str, msgspec.Meta(max_length=30)]


class UserCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A new user; the password is only ever taken, never returned."""

    username: str
    password: str
    role: str
    display_name: DisplayName = ""
    phone: PhoneText = ""
    scope_regions: list[str] = msgspec.field(default_factory=list)
    scope_locations: list[Id] = msgspec.field(default_factory=list)


class UserUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A partial change of a user."""

    display_name: DisplayName | msgspec.UnsetType = msgspec.UNSET
    phone: PhoneText | msgspec.UnsetType = msgspec.UNSET
    role: str | msgspec.UnsetType = msgspec.UNSET
    scope_regions: list[str] | msgspec.UnsetType = msgspec.UNSET
    scope_locations: list[Id] | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET
    password: str | msgspec.UnsetType = msgspec.UNSET


class UserRead(msgspec.Struct):
    """A user as shown to admins and auditors (no password, no hash)."""

    id: int
    username: str
    display_name: str
    phone: str
    role: str
    scope_regions: list[str]
    scope_locations: list[int]
    active: bool
    created_at: dt.datetime


def user_read(u: User) -> UserRead:
    """The public view of a user."""
    return UserRead(u.id, u.username, u.display_name, u.phone, u.role, list(u.scope_regions),
                    list(u.scope_locations), u.active, u.created_at)


def hash_token(token: str) -> str:
    """How a token is stored: its SHA-256, so a database leak gives no usable token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(f"密码须为 {MIN_PASSWORD}–{MAX_PASSWORD} 个字符", field="password")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InvalidInput(f"角色 {role} 不存在，可选：{', '.join(ROLES)}", field="role")


def _check_scope_regions(regions: Sequence[str]) -> None:
    for r in regions:
        if not (r.isascii() and r.isdigit() and 2 <= len(r) <= 12):
            raise InvalidInput(f"辖区代码 {r} 不合法（应为行政区划代码前缀，如 360121）", field="scope_regions")


_HASH_SLOTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


async def hash_password(password: str) -> str:
    """The Argon2 hash of a new password, checked first and computed in a worker thread.

    Callers hash before opening a write transaction: ~0.2 s of Argon2 must hold up neither the event loop
    nor the SQLite writer.
    """
    _check_password(password)
    loop = asyncio.get_running_loop()
    slots = _HASH_SLOTS.get(loop)
    if slots is None:
        slots = _HASH_SLOTS[loop] = asyncio.Semaphore(max(1, (os.cpu_count() or 2) // 2))
    async with slots:  # a few at a time: the event loop keeps a core for everybody else
        return await asyncio.to_thread(_hasher.hash, password)


async def create_user(session: AsyncSession, data: UserCreate, password_hash: str | None = None) -> User:
    """Create a user with an Argon2 password hash (``password_hash`` from :func:`hash_password`, if known)."""
    username = data.username.strip()
    if not username or len(username) > 64 or not username.isprintable() or " " in username:
        raise InvalidInput("用户名须为 1–64 个字符，不含空格", field="username")
    _check_role(data.role)
    _check_password(data.password)
    _check_scope_regions(data.scope_regions)
    if await session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(f"用户名 {username} 已存在", field="username")
    user = User(username=username, display_name=data.display_name, phone=data.phone, role=data.role,
                scope_regions=list(data.scope_regions), scope_locations=list(data.scope_locations), active=True,
                password_hash=password_hash or await hash_password(data.password))
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"用户名 {username} 已存在", field="username") from exc
    return user


async def get_user(session: AsyncSession, user_id: int) -> User:
    """The user with this id, or NotFound."""
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(f"用户 id={user_id} 不存在")
    return user


async def get_user_by_name(session: AsyncSession, username: str) -> User:
    """The user with this username, or NotFound."""
    user = await session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"用户 {username} 不存在")
    return user


async def update_user(session: AsyncSession, user_id: int, data: UserUpdate, password_hash: str | None = None) -> User:
    """Change a user; disabling one revokes every token they hold (a new password's hash may come precomputed)."""
    user = await get_user(session, user_id)
    TOKENS.clear()  # role, scope or state may change: no request may use the old principal
    changes = {f: v for f in data.__struct_fields__ if (v := getattr(data, f)) is not msgspec.UNSET}
    demoted = changes.get("role", "admin") != "admin" or changes.get("active") is False
    if user.role == "admin" and user.active and demoted:
        others = await session.scalar(select(func.count()).select_from(User).where(
            User.role == "admin", User.active.is_(True), User.id != user.id))
        if not others:
            raise Conflict("不能停用或降级最后一个管理员账号", field="role")
    if "role" in changes:
        _check_role(changes["role"])
    if "scope_regions" in changes:
        _check_scope_regions(changes["scope_regions"])
    if "password" in changes:
        password = changes.pop("password")
        user.password_hash = password_hash or await hash_password(password)
        await revoke_all(session, user.id)
    for name, value in changes.items():
        setattr(user, name, value)
    if changes.get("active") is False:
        await revoke_all(session, user.id)
    user.updated_at = utcnow()
    await session.flush()
    return user


async def list_users(session: AsyncSession) -> list[User]:
    """Every user, by username."""
    return list(await session.scalars(select(User).order_by(User.username)))


async def count_users(session: AsyncSession) -> int:
    """How many users exist (for bootstrap)."""
    return int(await session.scalar(select(func.count()).select_from(User)) or 0)


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


def verify_password(stored: str | None, password: str) -> bool:
    """Argon2 verification (deliberately slow: run it in a worker thread, outside any transaction).

    ``stored`` None (no such user) is checked against a dummy hash, so it costs the same.
    """
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


async def authenticate(session: AsyncSession, username: str, password: str) -> User | None:
    """The active user with this password, else None (for the command line; requests use ``sign_in``).

    The hash is checked in a worker thread; do not call this inside a write transaction.
    """
    user = await session.scalar(select(User).where(User.username == username))
    ok = await asyncio.to_thread(verify_password, user.password_hash if user is not None else None, password)
    if user is None or not ok or not user.active:
        return None
    return user


async def record_failure(session: AsyncSession, username: str, client_ip: str) -> None:
    """Remember a failed sign-in for throttling."""
    session.add(LoginFailure(username=username[:64], client_ip=client_ip[:64], at=utcnow()))
    await session.flush()


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
    this module empties the cache at once; a change made by another process (``inventory users
    disable`` beside a running server, a second server process on PostgreSQL) takes effect within
    ``ttl`` seconds.
    """

    def __init__(self, ttl: float = 5.0, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[tuple[str, str | None], tuple[float, Principal]] = {}

    def get(self, token: str, kind: str | None) -> Principal | None:
        """The remembered principal, or None when unknown or too old."""
        key = (hash_token(token), kind)
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            del self._entries[key]
            return None
        return entry[1]

    def put(self, token: str, kind: str | None, principal: Principal, expires_at: dt.datetime) -> None:
        """Remember a principal just resolved from the database."""
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        left = min(self.ttl, (expires_at - utcnow()).total_seconds())
        if left > 0:
            self._entries[(hash_token(token), kind)] = (time.monotonic() + left, principal)

    def clear(self) -> None:
        """Forget every principal (a token or a user changed)."""
        self._entries.clear()


TOKENS = TokenCache()


async def cached_principal(
    session_factory: Callable[[], AbstractAsyncContextManager[AsyncSession]], token: str, kind: str | None = None,
) -> Principal:
    """``resolve_token`` through :data:`TOKENS`; ``session_factory()`` opens a read session when needed."""
    principal = TOKENS.get(token, kind)
    if principal is not None:
        return principal
    async with session_factory() as session:
        principal, expires_at = await _resolve(session, token, kind)
    TOKENS.put(token, kind, principal, expires_at)
    return principal


async def revoke_token(session: AsyncSession, token_id: int) -> None:
    """Revoke one token."""
    TOKENS.clear()
    await session.execute(update(AuthToken).where(AuthToken.id == token_id, AuthToken.revoked_at.is_(None))
                          .values(revoked_at=utcnow()).execution_options(synchronize_session=False))


async def revoke_all(session: AsyncSession, user_id: int) -> None:
    """Revoke every token of a user."""
    TOKENS.clear()
    await session.execute(update(AuthToken).where(AuthToken.user_id == user_id, AuthToken.revoked_at.is_(None))
                          .values(revoked_at=utcnow()).execution_options(synchronize_session=False))


async def in_scope(session: AsyncSession, principal: Principal, location_id: int) -> bool:
    """True when the location (or the location whose bin it is) lies in the user's scope."""
    if principal.role == "admin":
        return True
    row = (await (await session.connection()).execute(
        select(Location.region_code, Location.path).where(Location.id == location_id))).first()
    if row is None:
        return True  # unknown targets are refused later with a clearer 422/404
    region_code, path = row
    if any(region_code.startswith(prefix) for prefix in principal.scope_regions):
        return True
    ancestors = {int(p) for p in path.strip("/").split("/") if p}
    return bool(ancestors & set(principal.scope_locations))


async def require_scope(session: AsyncSession, principal: Principal, *location_ids: int | None) -> None:
    """PermissionDenied unless every given location is in the user's scope."""
    for location_id in location_ids:
        if location_id is None:
            continue
        if not await in_scope(session, principal, location_id):
            scope = "、".join([*principal.scope_regions, *(f"地点{i}" for i in principal.scope_locations)]) or "无"
            raise PermissionDenied(
                f"{ROLE_ZH.get(principal.role, principal.role)} {principal.username} 的辖区（{scope}）不包括地点 "
                f"id={location_id}，不能在此办理 (outside your scope)",
                extra={"location_id": location_id},
            )


def principal_error(role: str, action: str) -> PermissionDenied:
    """The 403 for a role that may not take an action."""
    return PermissionDenied(f"{ROLE_ZH.get(role, role)} 无权执行此操作（{action}）(role not permitted)",
                            extra={"action": action, "role": role})


async def ensure_bootstrap_admin(session: AsyncSession, password: str | None) -> bool:
    """Create ``admin`` with this password when there are no users at all; True if created."""
    if not password or await count_users(session):
        return False
    await create_user(session, UserCreate(username="admin", password=password, role="admin",
                                          display_name="系统管理员"))
    return True
