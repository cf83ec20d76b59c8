"""Stock documents (单据): kinds and voucher numbers, the occurred-at rule, inserting and reading documents.

Documents and their movements are append-only. Documents are inserted by the posting code (ledger.py,
reversal.py, transfers.py here; the write-off, dispatch and stocktake services).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.clock import BEIJING
from inventory.errors import InvalidInput
from inventory.store.lookup import get_or_not_found, scalar_or_not_found
from inventory.store.models import Document, Movement, utcnow

PREFIX = {
    "receipt": "RK", "issue": "CK", "transfer": "DB", "transfer_receipt": "SH", "adjustment": "PD",
    "write_off": "BF", "return": "GH", "reservation": "YL", "dispatch": "DY",
}
KIND_ZH = {
    "receipt": "入库", "issue": "出库", "transfer": "调拨", "transfer_receipt": "调拨收货", "adjustment": "盘盈盘亏",
    "write_off": "报废", "return": "归还", "reservation": "预留", "dispatch": "动用",
}
MAX_FUTURE = dt.timedelta(minutes=10)
_INSERT_DOCUMENT = insert(Document).returning(Document.id)


CHINA = BEIJING  # 北京时间 (inventory.clock)


def document_number(kind: str, created_at: dt.datetime, doc_id: int) -> str:
    """The voucher number people see: kind, Beijing date and id (derived, never stored, never reused)."""
    return f"{PREFIX[kind]}{created_at.astimezone(CHINA):%Y%m%d}-{doc_id:06d}"


_NUMBER = re.compile(rf"(?:{'|'.join(PREFIX.values())})[0-9]{{8}}-([0-9]{{6,}})")


def parse_document_number(number: str) -> int | None:
    """The document id inside a voucher number, or None when it is not one."""
    match = _NUMBER.fullmatch(number.strip().upper())
    return int(match.group(1)) if match else None


async def insert_document(session: AsyncSession, **values: Any) -> Document:
    """Insert a document with one Core statement; the returned object is a detached, read-only copy."""
    values.setdefault("created_at", utcnow())
    for name in ("reason", "reference", "counterparty"):
        values.setdefault(name, "")
    for name in ("to_location_id", "approver", "reverses_id", "transfer_id"):
        values.setdefault(name, None)
    conn = await session.connection()
    doc_id = (await conn.execute(_INSERT_DOCUMENT, values)).scalar_one()
    return Document(id=doc_id, **values)


def occurred_at_or_now(value: dt.datetime | None) -> dt.datetime:
    now = utcnow()
    if value is None:
        return now
    if value.tzinfo is None:
        value = value.replace(tzinfo=CHINA)  # a phone in China sends local time
    if value > now + MAX_FUTURE:
        raise InvalidInput(f"发生时间 {value.isoformat()} 晚于当前时间", field="occurred_at")
    return value


async def get_document(session: AsyncSession, document_id: int, *, lock: bool = False) -> Document:
    """The document with this id, or NotFound; ``lock`` queues concurrent writers on it (PostgreSQL)."""
    if lock:
        return await scalar_or_not_found(
            session, select(Document).where(Document.id == document_id)
            .with_for_update(key_share=True).execution_options(populate_existing=True), f"单据 id={document_id}")
    return await get_or_not_found(session, Document, document_id, f"单据 id={document_id}")


async def movements_by_document(session: AsyncSession, doc_ids: list[int]) -> dict[int, list[Movement]]:
    """Movements of several documents, grouped by document id."""
    grouped: dict[int, list[Movement]] = defaultdict(list)
    if doc_ids:
        for m in await session.scalars(select(Movement).where(Movement.document_id.in_(doc_ids)).order_by(Movement.id)):
            grouped[m.document_id].append(m)
    return grouped
