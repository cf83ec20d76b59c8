"""Audit entries for write attempts that failed (successful writes are audited inside their transaction)."""

from __future__ import annotations

import json
import logging
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from inventory.accounts import Principal
from inventory.audit import AuditRecord, record
from inventory.db import Database

log = logging.getLogger("api.audit")
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


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


class AuditFailuresMiddleware:
    """Records every refused or failed write (401, 403, 404, 409, 422, 5xx) in the audit log."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if str(scope["type"]) != "http" or scope.get("method") in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        status = 0
        body = bytearray()

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and status >= 400 and len(body) < 8000:
                body.extend(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, capture)
        if status >= 400:
            try:
                await self._record(scope, status, bytes(body))
            except Exception:  # the answer is already sent; never turn a refusal into a crash
                log.exception("could not write the audit entry for a failed write")

    async def _record(self, scope: Scope, status: int, body: bytes) -> None:
        principal: Principal | None = scope.get("user") if isinstance(scope.get("user"), Principal) else None
        handler = scope.get("route_handler")
        action = str(handler.opt.get("action", "")) if handler is not None else ""
        try:
            detail = str(json.loads(body).get("detail", ""))
        except (ValueError, AttributeError):
            detail = ""
        entry = AuditRecord(
            user_id=principal.user_id if principal else None, username=principal.username if principal else "-",
            role=principal.role if principal else "-", client_ip=client_ip(scope), action=action or "unknown",
            method=str(scope.get("method", "")), path=str(scope.get("path", "")),
            target_ids=",".join(str(v) for v in (scope.get("path_params") or {}).values()),
            idempotency_key=header(scope, b"idempotency-key"), outcome=outcome_for(status), status_code=status,
            summary=detail,
        )
        app: Any = scope["app"]
        db: Database = app.state.db
        async with db.write() as session:
            await record(session, entry)
