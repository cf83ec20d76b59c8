"""CSRF protection of the phone pages' forms: tokens bound to the session, signed with a key that outlives restarts.

A token is ``nonce.mac`` where ``mac`` signs the nonce together with a digest of the session cookie the
browser sends (or with "no session"). It travels twice: in a cookie and in the form (``_csrf_token``) or
the ``X-CSRFToken`` header; a write is let through only when both are the same token and it verifies
against the request's own session cookie. So:

- a page loaded before a restart can still be posted after it: the key is configured
  (``INVENTORY_SECRET_KEY``) or made once and kept in the database (:mod:`inventory.access.secret_key`);
- a page (any GET) whose cookie does not verify — made with another key, for another session, or not
  a token at all — gets a fresh token and cookie, so a stale cookie never locks a phone out;
- a cookie planted by a sibling subdomain does not pass for a signed-in user: its maker cannot sign a
  token for a session cookie they do not know. On https the cookie is ``__Host-inv_csrf``, which
  browsers accept only from this host itself.

The API (``/api/``) takes bearer tokens only and is not CSRF-checked; nor are health checks, the API
description and static files.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any, cast

from litestar import Litestar, Request
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.enums import RequestEncodingType, ScopeType
from litestar.exceptions import PermissionDeniedException
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from api.audit_trail import REFUSAL
from api.auth import SESSION_COOKIE
from api.errors import http_error_handler
from api.page_text import is_page
from inventory.access.secret_key import shared_secret
from inventory.config import Settings

COOKIE = "inv_csrf"
HOST_COOKIE = "__Host-inv_csrf"  # https only: browsers refuse it from other hosts and without Secure
FIELD = "_csrf_token"
HEADER = "x-csrftoken"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
_STATE_KEY = "csrf_secret"
REFUSED = "CSRF 校验未通过：表单已过期或来源不明，请刷新页面后重试 (CSRF token verification failed)"


def cookie_name(settings: Settings) -> str:
    """The CSRF cookie's name: ``__Host-`` prefixed when the service is served over https."""
    return HOST_COOKIE if settings.public_url.startswith("https") else COOKIE


def _binding(session: str | None) -> str:
    return hashlib.sha256(session.encode()).hexdigest() if session else "-"


def _mac(secret: str, nonce: str, session: str | None) -> str:
    message = f"{nonce}|{_binding(session)}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def make_token(secret: str, session: str | None) -> str:
    """A new token for the browser holding this session cookie (None: not signed in)."""
    nonce = secrets.token_hex(16)
    return f"{nonce}.{_mac(secret, nonce, session)}"


def token_verifies(secret: str, token: str | None, session: str | None) -> bool:
    """True when the token was made with this key for this session cookie."""
    if not token or len(token) > 200:
        return False
    nonce, _, mac = token.partition(".")
    return bool(nonce) and hmac.compare_digest(mac, _mac(secret, nonce, session))


async def signing_secret(app: Litestar) -> str:
    """The configured key, else the one kept in the database (read once per process)."""
    settings: Settings = app.state.settings
    if settings.secret_key:
        return settings.secret_key
    cached: str | None = app.state.get(_STATE_KEY)
    if cached is None:
        cached = await shared_secret(app.state.db)  # race-safe: concurrent first requests read the same key
        app.state[_STATE_KEY] = cached
    return cached


class CSRFMiddleware:
    """Checks the token of every page write; gives every page GET a valid token (a fresh one when needed)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or not is_page(scope["path"]):
            await self.app(scope, receive, send)
            return
        litestar_app: Litestar = scope["litestar_app"]
        settings: Settings = litestar_app.state.settings
        secret = await signing_secret(litestar_app)
        request: Request[Any, Any, Any] = litestar_app.request_class(scope=scope, receive=receive)
        name = cookie_name(settings)
        session = request.cookies.get(SESSION_COOKIE)
        cookie = request.cookies.get(name)
        state = ScopeState.from_scope(scope)
        if scope["method"] in SAFE_METHODS:
            if cookie is not None and token_verifies(secret, cookie, session):
                state.csrf_token = cookie
                await self.app(scope, receive, send)
                return
            token = state.csrf_token = make_token(secret, session)
            await self.app(scope, receive, self._setting_cookie(send, name, token, settings))
            return
        submitted = request.headers.get(HEADER)
        if not submitted and request.content_type[0] in (RequestEncodingType.URL_ENCODED,
                                                         RequestEncodingType.MULTI_PART):
            value = (await request.form()).get(FIELD)
            submitted = value if isinstance(value, str) else None
        if submitted and cookie and hmac.compare_digest(submitted, cookie) and token_verifies(secret, cookie, session):
            state.csrf_token = submitted
            await self.app(scope, receive, send)
            return
        cast(dict[str, Any], scope)[REFUSAL] = REFUSED
        answer = http_error_handler(request, PermissionDeniedException(REFUSED))
        await answer.to_asgi_response(None, request)(scope, receive, send)

    @staticmethod
    def _setting_cookie(send: Send, name: str, token: str, settings: Settings) -> Send:
        cookie = Cookie(key=name, value=token, path="/", httponly=True, samesite="lax",
                        secure=settings.public_url.startswith("https"))

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableScopeHeaders.from_message(message).add("set-cookie", cookie.to_header(header=""))
            await send(message)

        return wrapped
