"""Idempotency keys: a retried write returns the first response and writes nothing again."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import NamedTuple

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.errors import Conflict, InvalidInput
from inventory.store.db import insert_with_appended
from inventory.store.models import IdempotencyKey, utcnow

RETENTION = dt.timedelta(days=45)  # at least 30 days, as promised to clients
MAX_KEY_LENGTH = 100
_FIND = select(
    IdempotencyKey.method, IdempotencyKey.path, IdempotencyKey.request_hash, IdempotencyKey.status_code,
    IdempotencyKey.response_body, IdempotencyKey.content_type,
).where(IdempotencyKey.actor == bindparam("actor"), IdempotencyKey.key == bindparam("key"))
_INSERT = insert(IdempotencyKey)


class StoredResponse(NamedTuple):
    """What was answered the first time a key was used."""

    method: str
    path: str
    request_hash: str
    status_code: int
    response_body: bytes
    content_type: str


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    """A hash of what the request asks for; the same key must come with the same request."""
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def check_key(key: str) -> str:
    """A usable key, or InvalidInput naming the header."""
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput(f"Idempotency-Key 须为 1–{MAX_KEY_LENGTH} 个可打印字符", field="Idempotency-Key")
    return key


async def find_response(
    session: AsyncSession, actor: str, key: str, fingerprint: str
) -> StoredResponse | None:
    """The stored response for this key, None if new; Conflict if the key came with another request."""
    conn = await session.connection()
    row = (await conn.execute(_FIND, {"actor": actor, "key": key})).first()
    if row is None:
        return None
    if row.request_hash != fingerprint:
        raise Conflict(
            f"Idempotency-Key {key} 已用于另一个不同的请求（{row.method} {row.path}）；"
            "重试请使用原请求内容，新请求请换新键",
            field="Idempotency-Key",
        )
    return StoredResponse(*row)


async def remember(
    session: AsyncSession, actor: str, key: str, method: str, path: str, fingerprint: str, status_code: int,
    body: bytes,
) -> None:
    """Store the response under the key, in the write's own transaction.

    On PostgreSQL the rows the write appended so far (its audit entry) are inserted by the same statement.
    """
    await insert_with_appended(session, _INSERT, {
        "actor": actor, "key": key, "method": method, "path": path[:300], "request_hash": fingerprint,
        "status_code": status_code, "response_body": body, "content_type": "application/json", "created_at": utcnow()})


def is_duplicate_key(exc: IntegrityError) -> bool:
    """True when an IntegrityError came from the idempotency table's primary key."""
    text = str(exc.orig).lower()
    return "idempotency_keys" in text or "pk_idempotency_keys" in text


async def prune(session: AsyncSession, now: dt.datetime | None = None) -> int:
    """Forget keys older than the retention period; returns how many were removed."""
    cutoff = (now or utcnow()) - RETENTION
    result = await session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
