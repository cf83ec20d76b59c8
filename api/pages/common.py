"""What every phone page shares: the public-route marker, the signed-in user, the way to the sign-in page,
the templates' common context and the check that a form was already carried out."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any
from urllib.parse import quote, urlencode

from litestar import Request
from litestar.response import Redirect, Template

from api.auth import SESSION_COOKIE
from inventory.access import tokens
from inventory.access.permissions import ROLE_ZH
from inventory.access.scope import Principal
from inventory.alerts.queries import open_count, principal_viewer
from inventory.clock import BEIJING
from inventory.errors import Conflict, Unauthenticated
from inventory.store import idempotency
from inventory.store.db import Database

# Pages skip the token middleware and the permission guard: they read the session cookie themselves.
PAGE = {"action": "public", "exclude_from_auth": True}
# The open alerts the signed-in user may see, counted by page_principal for a GET and shown in every page's
# nav by page_context (one COUNT over the open-alert index); reset at the start of each page's request.
_OPEN_ALERTS: ContextVar[int | None] = ContextVar("open_alerts", default=None)


async def page_principal(request: Request[Any, Any, Any], db: Database) -> Principal | None:
    """The user of the session cookie, or None when not signed in (pages then redirect to sign-in)."""
    _OPEN_ALERTS.set(None)
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        principal = await tokens.cached_principal(db.read, token, "session")
    except Unauthenticated:
        return None
    if request.method == "GET":
        async with db.read() as session:
            _OPEN_ALERTS.set(await open_count(session, principal_viewer(principal)))
    return principal


def login_redirect(path: str) -> Redirect:
    """To the sign-in page, coming back to ``path`` afterwards."""
    return Redirect(f"/login?next={quote(path)}", status_code=303)


def page_context(principal: Principal | None, **extra: Any) -> dict[str, Any]:
    """What every template gets: the user, their role in Chinese, Beijing time, the open alerts' count, ``extra``."""
    return {"principal": principal, "role_zh": ROLE_ZH.get(principal.role, "") if principal else "", "tz": BEIJING,
            "open_alerts": _OPEN_ALERTS.get() if principal else None, **extra}


async def form_already_done(db: Database, principal: Principal, path: str, key: str, body: bytes) -> bool:
    """True when this form (same idempotency key and content) was already carried out."""
    fingerprint = idempotency.request_fingerprint("POST", path, body)
    try:
        async with db.read() as session:
            return await idempotency.find_response(session, principal.username, key, fingerprint) is not None
    except Conflict:
        return False


def pager_urls(path: str, query: dict[str, str], offset: int, page_size: int,
               total: int) -> tuple[str | None, str | None]:
    """The previous and next page of a list at ``path`` with these filters (None where there is none)."""
    prev_url = f"{path}?{urlencode({**query, 'offset': max(0, offset - page_size)})}" if offset else None
    next_url = f"{path}?{urlencode({**query, 'offset': offset + page_size})}" if offset + page_size < total else None
    return prev_url, next_url


def missing(principal: Principal, message: str) -> Template:
    """The Chinese 404 page of a thing (an incident, an order, a request) that does not exist."""
    return Template("scan_error.html", status_code=404, context=page_context(
        principal, code=None, heading="未找到", message=message, replaced_by=None))
