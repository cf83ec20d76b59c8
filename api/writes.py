"""Running a write: one transaction, exactly once per Idempotency-Key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec
from litestar import Request, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from inventory import idempotency
from inventory.db import Database
from inventory.errors import Conflict

T = TypeVar("T")
REPLAYED = "Idempotent-Replayed"


async def run_write(
    request: Request[Any, Any, Any], db: Database, actor: str, work: Callable[[AsyncSession], Awaitable[T]],
    *, status_code: int = 201,
) -> Response[T]:
    """Run ``work`` in one write transaction; with an Idempotency-Key, replay instead of repeating."""
    raw_key = request.headers.get("idempotency-key")
    if raw_key is None:
        async with db.write() as session:
            result = await work(session)
        return Response(result, status_code=status_code)
    key = idempotency.check_key(raw_key)
    fingerprint = idempotency.request_fingerprint(request.method, request.url.path, await request.body())
    try:
        async with db.write() as session:
            previous = await idempotency.find_response(session, actor, key, fingerprint)
            if previous is not None:
                return _replay(previous.status_code, previous.response_body, previous.content_type)
            row = await idempotency.claim(session, actor, key, request.method, request.url.path, fingerprint)
            result = await work(session)
            body = msgspec.json.encode(result)
            row.status_code, row.response_body = status_code, body
    except IntegrityError as exc:
        if not idempotency.is_duplicate_key(exc):
            raise
        # A concurrent request with the same key committed first: answer with its response.
        async with db.read() as session:
            previous = await idempotency.find_response(session, actor, key, fingerprint)
        if previous is None or previous.status_code == 0:
            raise Conflict("同一 Idempotency-Key 的请求正在处理，请稍后重试", field="Idempotency-Key") from exc
        return _replay(previous.status_code, previous.response_body, previous.content_type)
    return Response(msgspec.Raw(body), status_code=status_code, media_type="application/json")  # type: ignore[arg-type]


def _replay(status_code: int, body: bytes, content_type: str) -> Response[Any]:
    return Response(msgspec.Raw(body), status_code=status_code, media_type=content_type,
                    headers={REPLAYED: "true"})
