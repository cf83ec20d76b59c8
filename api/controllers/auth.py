"""Sign-in: opaque bearer tokens, with throttling that does not reveal which usernames exist."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post

from api.audit_trail import client_ip
from api.auth import PUBLIC
from api.errors import problem
from api.openapi import problem_responses
from inventory import accounts
from inventory.accounts import Principal, UserRead
from inventory.db import Database


class TokenRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Username and password."""

    username: Annotated[str, msgspec.Meta(max_length=64)]
    password: Annotated[str, msgspec.Meta(max_length=256)]


class TokenResponse(msgspec.Struct):
    """A bearer token for ``Authorization: Bearer …``; shown once, stored only hashed."""

    token: str
    token_type: str
    expires_at: dt.datetime
    user: UserRead


class AuthController(Controller):
    """Tokens."""

    path = "/api/v1/auth"
    tags = ["auth"]

    @post("/token", opt=PUBLIC, status_code=201, responses=problem_responses(401, 429))
    async def sign_in(self, request: Request[Any, Any, Any], db: Database, data: TokenRequest) -> Response[Any]:
        """Exchange username and password for a token; five failures in 15 minutes → 429."""
        username = data.username.strip()[:64]
        async with db.read() as session:
            wait = await accounts.throttled_for(session, username)
        if wait:
            return problem(429, f"登录失败次数过多，请 {wait} 秒后再试 (too many failed sign-ins)",
                           headers={"Retry-After": str(wait)})
        async with db.write() as session:
            user = await accounts.authenticate(session, username, data.password)
            if user is None:
                await accounts.record_failure(session, username, client_ip(request.scope))
            else:
                token, row = await accounts.issue_token(session, user)
                answer = TokenResponse(token, "bearer", row.expires_at, accounts.user_read(user))
        if user is None:
            return problem(401, "用户名或密码错误，或账号已停用 (wrong username or password)",
                           headers={"WWW-Authenticate": 'Bearer realm="inventory"'})
        return Response(answer, status_code=201, headers={"Cache-Control": "no-store"})

    @delete("/token", opt={"action": "session"}, status_code=204)
    async def sign_out(self, db: Database, principal: Principal) -> None:
        """Revoke the token used for this request."""
        async with db.write() as session:
            await accounts.revoke_token(session, principal.token_id)

    @get("/me", opt={"action": "session"})
    async def me(self, db: Database, principal: Principal) -> UserRead:
        """Who this token belongs to."""
        async with db.read() as session:
            return accounts.user_read(await accounts.get_user(session, principal.user_id))
