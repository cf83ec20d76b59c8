"""Users and their passwords (Argon2): creating, reading, changing and checking them, and the first admin."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import weakref
from collections.abc import Sequence
from typing import Annotated

import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.access.permissions import ROLES
from inventory.access.tokens import announce_change, revoke_all
from inventory.errors import Conflict, InvalidInput
from inventory.schemas import Id
from inventory.store.lookup import get_or_not_found, scalar_or_not_found
from inventory.store.models import User, utcnow

MIN_PASSWORD = 10
MAX_PASSWORD = 256
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("timing-equaliser-not-a-password")


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
    return await get_or_not_found(session, User, user_id, f"用户 id={user_id}")


async def get_user_by_name(session: AsyncSession, username: str) -> User:
    """The user with this username, or NotFound."""
    return await scalar_or_not_found(session, select(User).where(User.username == username), f"用户 {username}")


async def update_user(session: AsyncSession, user_id: int, data: UserUpdate, password_hash: str | None = None) -> User:
    """Change a user; disabling one revokes every token they hold (a new password's hash may come precomputed)."""
    user = await get_user(session, user_id)
    await announce_change(session)  # role, scope or state may change: no process may use the old principal
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


async def ensure_bootstrap_admin(session: AsyncSession, password: str | None) -> bool:
    """Create ``admin`` with this password when there are no users at all; True if created."""
    if not password or await count_users(session):
        return False
    await create_user(session, UserCreate(username="admin", password=password, role="admin",
                                          display_name="系统管理员"))
    return True
