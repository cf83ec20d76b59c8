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
from inventory.errors import InventoryError

T = TypeVar("T")
REPLAYED = "Idempotent-Replayed"


async def run_write(
    request: Request[Any, Any, Any], db: Database, actor: str, work: Callable[[AsyncSession], Awaitable[T]],
    *, status_code: int = 201,
) -> Response[T]:
    """Run ``work`` in one write transaction; with an Idempotency-Key, replay instead of repeating.

    The key is looked up before the work and stored with the response in the same transaction,
    so a key is only ever stored together with the changes it answered for. Two concurrent
    requests with one key (PostgreSQL) collide on the key's primary key: the later one rolls
    back entirely and answers with the earlier one's response.
    """
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
            body = msgspec.json.encode(await work(session))
            await idempotency.remember(session, actor, key, request.method, request.url.path, fingerprint,
                                       status_code, body)
    except (IntegrityError, InventoryError) as exc:
        if isinstance(exc, IntegrityError) and not idempotency.is_duplicate_key(exc):
            raise
        async with db.read() as session:
            previous = await idempotency.find_response(session, actor, key, fingerprint)
        if previous is None:
            raise
        return _replay(previous.status_code, previous.response_body, previous.content_type)
    return Response(msgspec.Raw(body), status_code=status_code, media_type="application/json")  # type: ignore[arg-type]


def _replay(status_code: int, body: bytes, content_type: str) -> Response[Any]:
    return Response(msgspec.Raw(body), status_code=status_code, media_type=content_type,
                    headers={REPLAYED: "true"})
