"""Audit entries for write attempts that failed (successful writes are audited inside their transaction).

A refused or failed write is recorded **before** its answer leaves: the answer's first message is held
until the entry is committed. A crash can therefore lose an entry only together with its answer, for a
request that changed nothing — never an answered refusal. Writes refused before routing (an unknown
path, a method the path does not take) never reach the route's middleware; :func:`audit_routing_refusal`
records them from Litestar's ``after_exception`` hook, which runs before the error answer is sent.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from inventory.access.audit import AuditRecord, record
from inventory.access.scope import Principal
from inventory.store.db import Database

log = logging.getLogger("api.audit")
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
REFUSAL = "inventory.refusal"
"""Scope key: why a middleware refused the request, when its answer (an HTML page) does not say it in JSON."""
_HELD_BODY = 64_000  # an error answer longer than this is sent on once its entry is written


def outcome_for(status: int) -> str:
    """A word for how a write ended."""
    if status < 400:
        return "ok"
    if status in (401, 403):
        return "denied"
    if status >= 500:
        return "error"
    return "rejected"


def client_ip(scope: Scope) -> str:
    """The peer address of the request."""
    client = scope.get("client")
    return str(client[0]) if client else ""


def header(scope: Scope, name: bytes) -> str | None:
    """One request header, decoded."""
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _summary(scope: Scope, body: bytes) -> str:
    said: Any = scope.get(REFUSAL)
    if said:
        return str(said)
    try:
        return str(json.loads(body).get("detail", ""))
    except (ValueError, AttributeError):
        return ""


async def record_refusal(scope: Scope, status: int, summary: str) -> None:
    """Write the audit entry of a refused or failed write; a failure to write it is logged, never raised."""
    principal: Principal | None = scope.get("user") if isinstance(scope.get("user"), Principal) else None
    handler = scope.get("route_handler")
    action = str(handler.opt.get("action", "")) if handler is not None else ""
    entry = AuditRecord(
        user_id=principal.user_id if principal else None, username=principal.username if principal else "-",
        role=principal.role if principal else "-", client_ip=client_ip(scope), action=action or "unknown",
        method=str(scope.get("method", "")), path=str(scope.get("path", "")),
        target_ids=",".join(str(v) for v in (scope.get("path_params") or {}).values()),
        idempotency_key=header(scope, b"idempotency-key"), outcome=outcome_for(status), status_code=status,
        summary=summary,
    )
    app: Any = scope["app"]
    db: Database = app.state.db
    try:
        async with db.write() as session:
            await record(session, entry)
    except Exception:  # never turn a refusal into a crash
        log.exception("could not write the audit entry for a failed write")


class AuditFailuresMiddleware:
    """Records every refused or failed write (401, 403, 404, 409, 422, 5xx) in the audit log before answering."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if str(scope["type"]) != "http" or scope.get("method") in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        held: list[Message] = []
        status = size = 0

        async def capture(message: Message) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start" and int(message["status"]) >= 400:
                status = int(message["status"])
                held.append(message)
                return
            if not held:
                await send(message)
                return
            held.append(message)
            if message["type"] == "http.response.body":
                size += len(message.get("body", b""))
                if message.get("more_body", False) and size < _HELD_BODY:
                    return
            await self._release(scope, status, held, send)

        await self.app(scope, receive, capture)
        if held:  # the answer ended without a last body message
            await self._release(scope, status, held, send)

    @staticmethod
    async def _release(scope: Scope, status: int, held: list[Message], send: Send) -> None:
        """Record the refusal, then send what was held back."""
        messages = list(held)
        held.clear()
        body = b"".join(bytes(m.get("body", b"")) for m in messages if m["type"] == "http.response.body")
        await record_refusal(scope, status, _summary(scope, body[:8000]))
        for message in messages:
            await send(message)


async def audit_routing_refusal(exc: Exception, scope: Scope) -> None:
    """``after_exception`` hook: a write to an unknown path or with a method its path does not take.

    Such a request fails in the router, before any route middleware; only those are recorded here (a
    request that was routed has ``route_handler`` in its scope and is recorded by the middleware).
    """
    if str(scope.get("type")) != "http" or scope.get("method") in SAFE_METHODS or scope.get("route_handler"):
        return
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    detail = exc.detail if isinstance(exc, HTTPException) else type(exc).__name__
    await record_refusal(scope, status, f"{detail}: {scope.get('method')} {scope.get('path')}")
