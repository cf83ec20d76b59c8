"""The audit trail: every write attempt, who made it and how it ended. Append-only."""

from __future__ import annotations

import datetime as dt

import msgspec
from sqlalchemy import String, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.schemas import Page
from inventory.store.db import append_row
from inventory.store.keyset import Order, after_row, check_paging, page_rows
from inventory.store.models import AuditEntry, utcnow


class AuditRecord(msgspec.Struct, kw_only=True):
    """What is written for one write attempt."""

    user_id: int | None
    username: str
    role: str
    client_ip: str
    action: str
    method: str
    path: str
    target_type: str = ""
    target_ids: str = ""
    idempotency_key: str | None = None
    outcome: str
    status_code: int
    summary: str = ""


class AuditRead(AuditRecord, kw_only=True):
    """One entry of the audit log."""

    id: int
    at: dt.datetime


_INSERT = insert(AuditEntry)
_NEWEST_FIRST: Order = ((AuditEntry.id, True),)  # the order of list_audit
_LENGTHS: dict[str, int] = {c.name: c.type.length for c in AuditEntry.__table__.columns
                            if isinstance(c.type, String) and c.type.length}


def _fit(name: str, value: object) -> object:
    """Text as the column can hold it: NUL spelled out (PostgreSQL refuses it), cut to the column's length."""
    if not isinstance(value, str):
        return value
    return value.replace("\x00", "\\x00")[: _LENGTHS.get(name)]


async def record(session: AsyncSession, entry: AuditRecord) -> None:
    """Append one entry (in the caller's transaction, so it commits with the change it describes).

    A refused request is recorded with what it sent, which can be anything: every text is made to fit
    its column, so that an over-long ``Idempotency-Key`` or a NUL in an unknown field's name does not
    lose the entry (on PostgreSQL both made the insert fail).
    """
    values = {name: _fit(name, value) for name, value in msgspec.structs.asdict(entry).items()}
    values["at"] = utcnow()
    await append_row(session, _INSERT, values)


async def list_audit(
    session: AsyncSession, *, username: str | None, target: str | None, action: str | None,
    outcome: str | None, since: dt.datetime | None, until: dt.datetime | None, limit: int, offset: int,
    after_id: int | None = None,
) -> Page[AuditRead]:
    """Entries newest first (by id; ``after_id``: the older ones after it); ``target`` matches ``type:id`` or an id."""
    check_paging(offset, after_id)
    stmt = select(AuditEntry)
    if username:
        stmt = stmt.where(AuditEntry.username == username)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if outcome:
        stmt = stmt.where(AuditEntry.outcome == outcome)
    if target:
        kind, _, ident = target.rpartition(":")
        if kind:
            stmt = stmt.where(AuditEntry.target_type == kind)
        ids = AuditEntry.target_ids
        stmt = stmt.where((ids == ident) | ids.startswith(f"{ident},", autoescape=True)
                          | ids.endswith(f",{ident}", autoescape=True) | ids.contains(f",{ident},", autoescape=True))
    if since:
        stmt = stmt.where(AuditEntry.at >= since)
    if until:
        stmt = stmt.where(AuditEntry.at < until)
    total = await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows, next_id = page_rows((await session.scalars(
        stmt.where(await after_row(session, _NEWEST_FIRST, after_id)).order_by(AuditEntry.id.desc())
        .limit(limit + 1).offset(offset))).all(), limit, lambda r: r.id)
    items = [AuditRead(
        id=r.id, at=r.at, user_id=r.user_id, username=r.username, role=r.role, client_ip=r.client_ip,
        action=r.action, method=r.method, path=r.path, target_type=r.target_type, target_ids=r.target_ids,
        idempotency_key=r.idempotency_key, outcome=r.outcome, status_code=r.status_code, summary=r.summary,
    ) for r in rows]
    return Page(items, total, limit, offset, next_id)
