"""The sign-in page and signing out: a session cookie for the phone pages."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import parse_qs

from litestar import Request, Response, get, post
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from api.audit_trail import client_ip
from api.auth import SESSION_COOKIE
from api.pages.common import PAGE, page_context, page_principal
from inventory.access import tokens
from inventory.access.sign_in import sign_in as password_sign_in
from inventory.config import Settings
from inventory.store.db import Database

SESSION_TTL = dt.timedelta(hours=12)


def _safe_next(value: str | None) -> str:
    return value if value and value.startswith("/") and not value.startswith("//") else "/"


@get("/login", opt=PAGE, include_in_schema=False)
async def login_page(next_path: Annotated[str | None, QueryParameter(name="next")] = None) -> Template:
    """The sign-in form."""
    return Template("login.html", context=page_context(None, next=_safe_next(next_path), error=None, username=""))


@post("/login", opt=PAGE, include_in_schema=False, status_code=303)
async def login(request: Request[Any, Any, Any], db: Database, settings: Settings) -> Response[Any]:
    """Check the password (throttled like the API) and set the session cookie."""
    form = parse_qs((await request.body()).decode())
    username = (form.get("username") or [""])[0].strip()[:64]
    password = (form.get("password") or [""])[0]
    target = _safe_next((form.get("next") or ["/"])[0])
    result = await password_sign_in(db, username, password, client_ip(request.scope), kind="session",
                                    ttl=SESSION_TTL)
    wait = result.retry_after
    if result.outcome == "throttled":
        return Template("login.html", status_code=429, headers={"Retry-After": str(wait)}, context=page_context(
            None, next=target, username=username, error=f"登录失败次数过多，请 {wait // 60 + 1} 分钟后再试"))
    if result.outcome == "busy":
        return Template("login.html", status_code=503, headers={"Retry-After": str(wait)}, context=page_context(
            None, next=target, username=username, error=f"登录的人太多，请 {wait} 秒后再试"))
    if result.outcome != "ok":
        return Template("login.html", status_code=401, context=page_context(
            None, next=target, username=username, error="用户名或密码错误，或账号已停用"))
    response: Response[Any] = Redirect(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, result.token, max_age=int(SESSION_TTL.total_seconds()), httponly=True,
                        samesite="lax", secure=settings.public_url.startswith("https"), path="/")
    return response


@post("/logout", opt=PAGE, include_in_schema=False, status_code=303)
async def logout(request: Request[Any, Any, Any], db: Database) -> Response[Any]:
    """Revoke the session and clear the cookie."""
    principal = await page_principal(request, db)
    if principal is not None:
        async with db.write() as session:
            await tokens.revoke_token(session, principal.token_id)
    response: Response[Any] = Redirect("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


HANDLERS = [login_page, login, logout]
