"""Authentication (bearer tokens for the API; the phone pages' session cookie is read by the pages) and the guard."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.handlers.base import BaseRouteHandler
from litestar.handlers.http_handlers import HTTPRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import Receive, Scope, Send

from api.errors import domain_error_handler
from inventory.access.permissions import PERMISSIONS, allowed
from inventory.access.scope import Principal, principal_error
from inventory.access.tokens import cached_principal
from inventory.errors import Unauthenticated
from inventory.store.db import Database

SESSION_COOKIE = "inv_session"
PUBLIC = {"action": "public", "exclude_from_auth": True}


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The token in ``Authorization: Bearer …``, if any."""
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


class TokenAuthMiddleware(AbstractAuthenticationMiddleware):
    """Resolves the bearer token to a Principal on every request.

    Bearer tokens only: the phone pages' session cookie is not taken here. The API is not CSRF-checked,
    and a browser sends cookies with a cross-site "simple" request (a ``text/plain`` POST needs no
    preflight), so a cookie accepted here would let any web page write as the phone's user. The pages
    read the cookie themselves (``api.pages.common.page_principal``), behind the CSRF check.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a missing or bad token here, so that the 401 passes through the outer middleware.

        An exception escaping a middleware is answered outside the whole middleware stack, which would
        leave the 401 without its security headers and a refused write without its audit entry. Errors
        of the handler itself never get here: Litestar answers them inside the stack.
        """
        try:
            await super().__call__(scope, receive, send)
        except Unauthenticated as exc:
            if scope["type"] != ScopeType.HTTP:
                raise
            request: Request[Any, Any, Any] = Request(scope, receive, send)
            await domain_error_handler(request, exc).to_asgi_response(None, request)(scope, receive, send)

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        """401 unless a valid, unexpired, unrevoked token of an active user is presented."""
        token = bearer_token(connection)
        if not token:
            raise Unauthenticated("需要登录：请在 Authorization 头中携带 Bearer 令牌 (sign in first)")
        db: Database = connection.app.state.db
        principal = await cached_principal(db.read, token, "bearer")
        return AuthenticationResult(user=principal, auth=token)


def is_framework_options(handler: BaseRouteHandler) -> bool:
    """True for the OPTIONS handler Litestar adds to every path (not one of ours, so it names no action)."""
    return (isinstance(handler, HTTPRouteHandler) and handler.http_methods == {"OPTIONS"}
            and not handler.include_in_schema and handler.handler_name == "options_handler")


async def permission_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Refuse a role that the permission table does not allow for this route's action.

    A coroutine, not a plain function: Litestar runs a synchronous guard in a worker thread, a thread
    hop on every request.
    """
    action = handler.opt.get("action")
    if action is None and connection.scope["path"].startswith("/schema"):
        return  # the OpenAPI description is public
    if action is None and is_framework_options(handler):
        return  # Litestar's own OPTIONS answer: the Allow header (and CORS preflight), no data
    if action not in PERMISSIONS:
        raise RuntimeError(f"route {handler} has no permission entry (opt['action'])")
    if action == "public":
        return
    principal: Principal = connection.user
    if not allowed(action, principal.role):
        raise principal_error(principal.role, action)
