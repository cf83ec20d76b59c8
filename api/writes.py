"""Running a write: one transaction, exactly once per Idempotency-Key, audited with the change."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec
from litestar import Request, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.audit_trail import client_ip
from inventory import idempotency
from inventory.accounts import Principal
from inventory.audit import AuditRecord, record
from inventory.db import Database
from inventory.errors import InventoryError

T = TypeVar("T")
REPLAYED = "Idempotent-Replayed"


def describe(result: object) -> tuple[str, str, str]:
    """(target type, target ids, short summary) of a write's result, for the audit log."""
    kind = type(result).__name__.removesuffix("Read").lower()
    ident = str(getattr(result, "id", ""))
    parts = [str(getattr(result, name)) for name in ("kind", "number", "code", "serial_number", "username", "name")
             if getattr(result, name, None)]
    return kind, ident, " ".join(parts)[:500]


async def run_write(
    request: Request[Any, Any, Any], db: Database, principal: Principal,
    work: Callable[[AsyncSession], Awaitable[T]], *, status_code: int = 201,
) -> Response[T]:
    """Run ``work`` in one write transaction with its audit entry; with an Idempotency-Key, replay.

    The key is looked up before the work and stored with the response in the same transaction,
    so a key is only ever stored together with the changes it answered for. Two concurrent
    requests with one key (PostgreSQL) collide on the key's primary key: the later one rolls
    back entirely and answers with the earlier one's response.
    """
    raw_key = request.headers.get("idempotency-key")
    key = idempotency.check_key(raw_key) if raw_key is not None else None
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
        return Response(result, status_code=status_code)
    fingerprint = idempotency.request_fingerprint(request.method, request.url.path, await request.body())
    try:
        async with db.write() as session:
            previous = await idempotency.find_response(session, principal.username, key, fingerprint)
            if previous is not None:
                await record(session, audit(None, "replayed"))
                return _replay(previous.status_code, previous.response_body, previous.content_type)
            result = await work(session)
            body = msgspec.json.encode(result)
            await idempotency.remember(session, principal.username, key, request.method, request.url.path,
                                       fingerprint, status_code, body)
            await record(session, audit(result, "ok"))
    except (IntegrityError, InventoryError) as exc:
        if isinstance(exc, IntegrityError) and not idempotency.is_duplicate_key(exc):
            raise
        async with db.read() as session:
            previous = await idempotency.find_response(session, principal.username, key, fingerprint)
        if previous is None:
            raise
        return _replay(previous.status_code, previous.response_body, previous.content_type)
    return Response(msgspec.Raw(body), status_code=status_code, media_type="application/json")  # type: ignore[arg-type]


def _replay(status_code: int, body: bytes, content_type: str) -> Response[Any]:
    return Response(msgspec.Raw(body), status_code=status_code, media_type=content_type,
                    headers={REPLAYED: "true"})
