"""Sign-in: opaque bearer tokens, with throttling that does not reveal which usernames exist."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.openapi import ResponseSpec

from api.audit_trail import client_ip
from api.auth import PUBLIC
from api.errors import PROBLEM, problem
from api.openapi import Problem, problem_responses
from inventory.access import tokens, users
from inventory.access.scope import Principal
from inventory.access.sign_in import sign_in as password_sign_in
from inventory.access.users import UserRead
from inventory.store.db import Database


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

    @post("/token", opt=PUBLIC, status_code=201, responses={
        **problem_responses(401, 429),
        503: ResponseSpec(data_container=Problem, media_type=PROBLEM, generate_examples=False,
                          description="同时登录的请求过多，见 Retry-After (too many sign-ins at once)")})
    async def sign_in(self, request: Request[Any, Any, Any], db: Database, data: TokenRequest) -> Response[Any]:
        """Exchange username and password for a token; five failures in 15 minutes → 429."""
        result = await password_sign_in(db, data.username.strip(), data.password, client_ip(request.scope))
        if result.outcome == "throttled":
            return problem(429, f"登录失败次数过多，请 {result.retry_after} 秒后再试 (too many failed sign-ins)",
                           headers={"Retry-After": str(result.retry_after)})
        if result.outcome == "busy":
            return problem(503, f"登录请求过多，请 {result.retry_after} 秒后再试 (too many sign-ins at once)",
                           headers={"Retry-After": str(result.retry_after)})
        if result.outcome == "wrong" or result.user is None or result.expires_at is None:
            return problem(401, "用户名或密码错误，或账号已停用 (wrong username or password)",
                           headers={"WWW-Authenticate": 'Bearer realm="inventory"'})
        answer = TokenResponse(result.token, "bearer", result.expires_at, users.user_read(result.user))
        return Response(answer, status_code=201, headers={"Cache-Control": "no-store"})

    @delete("/token", opt={"action": "session"}, status_code=204)
    async def sign_out(self, db: Database, principal: Principal) -> None:
        """Revoke the token used for this request."""
        async with db.write() as session:
            await tokens.revoke_token(session, principal.token_id)

    @get("/me", opt={"action": "session"})
    async def me(self, db: Database, principal: Principal) -> UserRead:
        """Who this token belongs to."""
        async with db.read() as session:
            return users.user_read(await users.get_user(session, principal.user_id))
