"""Running a write: one transaction, exactly once per idempotency key, audited with the change."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec
from litestar import Request, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.audit_trail import client_ip
from inventory.access.audit import AuditRecord, record
from inventory.access.scope import Principal
from inventory.errors import InventoryError
from inventory.store import idempotency
from inventory.store.db import Database

T = TypeVar("T")
REPLAYED = "Idempotent-Replayed"


def describe(result: object) -> tuple[str, str, str]:
    """(target type, target ids, short summary) of a write's result, for the audit log."""
    if result is None:
        return "", "", "同一幂等键的重复请求，返回首次结果 (replayed)"
    kind = type(result).__name__.removesuffix("Read").lower()
    ident = str(getattr(result, "id", ""))
    parts = [str(getattr(result, name)) for name in ("kind", "number", "code", "serial_number", "username", "name",
                                                     "summary")
             if getattr(result, name, None)]
    return kind, ident, " ".join(parts)[:500]


@dataclass
class Written(Generic[T]):
    """The outcome of a write: the fresh result, or the stored answer of an earlier identical request."""

    result: T | None
    body: bytes
    status_code: int
    replayed: bool


async def write_once(
    request: Request[Any, Any, Any], db: Database, principal: Principal,
    work: Callable[[AsyncSession], Awaitable[T]], *, key: str | None, fingerprint_body: bytes,
    status_code: int = 201,
) -> Written[T]:
    """Run ``work`` in one write transaction with its audit entry; a known key replays instead.

    The key is stored with the response in the write's own transaction, so a key is only ever stored
    together with the changes it answered for. A new key (the usual case) costs no lookup: the work
    runs and the key is inserted. A key already used makes that insert fail, which rolls the whole
    transaction back — the work included — and the stored answer is replayed; so does a refusal
    (409, 422) of a retried request whose first try succeeded. Two concurrent requests with one key
    collide the same way: the later one rolls back entirely and answers with the earlier response.
    """
    action = str(request.route_handler.opt.get("action", ""))

    def audit(result: object, outcome: str) -> AuditRecord:
        target_type, target_ids, summary = describe(result)
        return AuditRecord(
            user_id=principal.user_id, username=principal.username, role=principal.role,
            client_ip=client_ip(request.scope), action=action, method=request.method, path=request.url.path,
            target_type=target_type, target_ids=target_ids, idempotency_key=key, outcome=outcome,
            status_code=status_code, summary=summary,
        )

    if key is None:
        async with db.write() as session:
            result = await work(session)
            await record(session, audit(result, "ok"))
        return Written(result, b"", status_code, replayed=False)
    fingerprint = idempotency.request_fingerprint(request.method, request.url.path, fingerprint_body)
    try:
        async with db.write() as session:
            result = await work(session)
            body = msgspec.json.encode(result)
            await record(session, audit(result, "ok"))  # on PostgreSQL inserted by remember()'s statement
            await idempotency.remember(session, principal.username, key, request.method, request.url.path,
                                       fingerprint, status_code, body)
    except (IntegrityError, InventoryError) as exc:
        if isinstance(exc, IntegrityError) and not idempotency.is_duplicate_key(exc):
            raise
        # Through the writer: on SQLite the first request may still be in the group being committed.
        async with db.write() as session:
            previous = await idempotency.find_response(session, principal.username, key, fingerprint)
            if previous is not None:
                await record(session, audit(None, "replayed"))
        if previous is None:
            raise
        return Written(None, previous.response_body, previous.status_code, replayed=True)
    return Written(result, body, status_code, replayed=False)


async def run_write(
    request: Request[Any, Any, Any], db: Database, principal: Principal,
    work: Callable[[AsyncSession], Awaitable[T]], *, status_code: int = 201,
) -> Response[T]:
    """An API write: the ``Idempotency-Key`` header makes a retry answer with the first response."""
    raw_key = request.headers.get("idempotency-key")
    key = idempotency.check_key(raw_key) if raw_key is not None else None
    body = await request.body() if key is not None else b""
    written = await write_once(request, db, principal, work, key=key, fingerprint_body=body,
                               status_code=status_code)
    if written.replayed:
        return Response(msgspec.Raw(written.body), status_code=written.status_code,  # type: ignore[arg-type]
                        media_type="application/json", headers={REPLAYED: "true"})
    if key is None:
        return Response(written.result, status_code=status_code)  # type: ignore[arg-type]
    return Response(msgspec.Raw(written.body), status_code=status_code,  # type: ignore[arg-type]
                    media_type="application/json")
