"""Users (admin manages, auditor reads)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, patch, post
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import IdempotencyKey, IdParam
from api.writes import run_write
from inventory.access import users
from inventory.access.scope import Principal
from inventory.access.users import UserCreate, UserRead, UserUpdate
from inventory.store.db import Database


class UserController(Controller):
    """Accounts, roles and scopes."""

    path = "/api/v1/users"
    tags = ["users"]

    @get("/", opt={"action": "users.read"})
    async def list_users(self, db: Database) -> list[UserRead]:
        """Every user."""
        async with db.heavy_read() as session:
            return [users.user_read(u) for u in await users.list_users(session)]

    @get("/{user_id:int}", opt={"action": "users.read"})
    async def get_user(self, db: Database, user_id: IdParam) -> UserRead:
        """One user."""
        async with db.read() as session:
            return users.user_read(await users.get_user(session, user_id))

    @post("/", opt={"action": "users.manage"})
    async def create_user(
        self, request: Request[Any, Any, Any], db: Database, principal: Principal, data: UserCreate,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[UserRead]:
        """Create a user (password at least 10 characters; it is stored as an Argon2 hash)."""
        password_hash = await users.hash_password(data.password)  # off the loop, before the write

        async def work(session: AsyncSession) -> UserRead:
            return users.user_read(await users.create_user(session, data, password_hash))

        return await run_write(request, db, principal, work)

    @patch("/{user_id:int}", opt={"action": "users.manage"})
    async def update_user(
        self, request: Request[Any, Any, Any], db: Database, principal: Principal, user_id: IdParam,
        data: UserUpdate, idempotency_key: IdempotencyKey = None,
    ) -> Response[UserRead]:
        """Change role, scope, password or disable; disabling revokes the user's tokens."""
        password_hash = None
        if isinstance(data.password, str):
            password_hash = await users.hash_password(data.password)  # off the loop, before the write

        async def work(session: AsyncSession) -> UserRead:
            return users.user_read(await users.update_user(session, user_id, data, password_hash))

        return await run_write(request, db, principal, work, status_code=200)
