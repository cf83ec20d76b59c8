"""Security headers on every response (pages, API, and the router's own 404/405/CSRF answers)."""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
HEADERS: dict[str, str] = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


async def add_security_headers(message: Message, scope: Scope) -> None:
    """``before_send`` hook: runs for every response, including those produced before routing."""
    if message["type"] == "http.response.start":
        headers = MutableScopeHeaders.from_message(message)
        for name, value in HEADERS.items():
            if name not in headers:
                headers[name] = value


async def complete_allow_header(message: Message, scope: Scope) -> None:
    """``before_send`` hook: ``OPTIONS`` lists every method of the path, not only those of the first handler.

    Litestar 2 builds the automatic OPTIONS answer when the first handler of a path is registered and
    does not update it for the handlers added later (litestar-org/litestar#4169, fixed in 3.0), so
    ``OPTIONS /api/v1/assets`` answered ``Allow: OPTIONS, POST`` without GET.
    """
    if message["type"] != "http.response.start" or scope.get("method") != "OPTIONS":
        return
    headers = MutableScopeHeaders.from_message(message)
    template = scope.get("path_template")
    if "allow" not in headers or not template:
        return
    methods = {m for route in scope["app"].routes if route.path_format == template for m in route.methods}
    if methods:
        headers["allow"] = ", ".join(sorted(methods))
