"""Issuing, re-issuing and resolving QR label codes for assets, lots and locations."""

from __future__ import annotations

from typing import Literal

import msgspec
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.errors import Conflict, NotFound
from inventory.store.models import Asset, LabelCode, Location, Lot, utcnow
from labels.codes import InvalidCode, new_code, parse_code

Kind = Literal["asset", "lot", "location"]
_TABLES: dict[str, type[Asset] | type[Lot] | type[Location]] = {"asset": Asset, "lot": Lot, "location": Location}
KIND_ZH = {"asset": "装备", "lot": "批次", "location": "地点"}


class Resolution(msgspec.Struct):
    """What a scanned code names, and whether it is still the current label."""

    code: str
    kind: str
    target_id: int
    active: bool
    replaced_by: str | None


async def issue_label(session: AsyncSession, kind: Kind, target_id: int) -> str:
    """A new code for the target; it becomes the target's current label."""
    for _ in range(20):
        code = new_code(kind)
        if await session.get(LabelCode, code) is None:
            break
    else:  # pragma: no cover - 40 random bits colliding twenty times
        raise Conflict("无法生成不重复的标签编码，请重试")
    session.add(LabelCode(code=code, target_type=kind, target_id=target_id, issued_at=utcnow()))
    table = _TABLES[kind]
    await session.execute(update(table).where(table.id == target_id).values(label_code=code)
                          .execution_options(synchronize_session="fetch"))
    await session.flush()
    return code


async def ensure_label(session: AsyncSession, kind: Kind, target_id: int) -> str:
    """The target's current code, issuing one if it has none yet."""
    table = _TABLES[kind]
    current = await session.scalar(select(table.label_code).where(table.id == target_id))
    return current or await issue_label(session, kind, target_id)


async def resolve(session: AsyncSession, text: str) -> Resolution:
    """What a code names; InvalidCode for a malformed code, NotFound for one never issued."""
    parsed = parse_code(text)
    row = await session.get(LabelCode, parsed.code)
    if row is None:
        raise NotFound(f"标签编码 {parsed.code} 格式正确，但系统中没有这个标签（可能不是本系统打印的）")
    return Resolution(row.code, row.target_type, row.target_id, row.retired_at is None, row.replaced_by)


async def reissue_label(session: AsyncSession, text: str) -> str:
    """Retire a damaged label and issue a new one for the same thing; the old code then says 'replaced by'."""
    found = await resolve(session, text)
    if not found.active:
        raise Conflict(f"标签 {found.code} 已停用，已由 {found.replaced_by} 替换")
    new = await issue_label(session, found.kind, found.target_id)  # type: ignore[arg-type]
    await session.execute(update(LabelCode).where(LabelCode.code == found.code)
                          .values(retired_at=utcnow(), replaced_by=new))
    return new


__all__ = ["InvalidCode", "Resolution", "ensure_label", "issue_label", "reissue_label", "resolve"]
