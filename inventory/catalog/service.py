"""Item types (物资品目): the catalogue, with tags and typed attributes filtered in SQL."""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, delete, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.catalog.rules import (
    AttrFilter,
    mask_to_tags,
    normalise_attributes,
    parse_attr_filter,
    tag_bit,
    tags_to_mask,
    validate_gbt38565,
)
from inventory.catalog.schemas import ItemTypeCreate, ItemTypeRead, ItemTypeUpdate
from inventory.errors import Conflict, InvalidInput
from inventory.schemas import Page
from inventory.store.keyset import Order, after_row, check_paging, page_rows
from inventory.store.lookup import get_or_not_found
from inventory.store.models import Asset, Balance, ItemType, ItemTypeAttribute, utcnow

_BY_ID: Order = ((ItemType.id, False),)  # the order of list_item_types

_OPS: dict[str, Callable[[Any, Any], ColumnElement[bool]]] = {
    ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt,
    "=": operator.eq, "==": operator.eq, "!=": operator.ne,
}


def item_type_read(it: ItemType) -> ItemTypeRead:
    """The public view of an item type."""
    return ItemTypeRead(
        id=it.id, code=it.code, gbt_code=it.gbt_code, name=it.name, spec=it.spec, unit=it.unit,
        tracking=it.tracking, category=it.category, tags=mask_to_tags(it.tags_mask),
        attributes=dict(it.attributes), shelf_life_days=it.shelf_life_days,
        inspection_interval_days=it.inspection_interval_days, active=it.active,
        created_at=it.created_at, updated_at=it.updated_at,
    )


async def get_item_type(session: AsyncSession, item_type_id: int, *, field: str | None = None) -> ItemType:
    """The item type with this id; NotFound, or InvalidInput naming ``field`` when it came in a body."""
    return await get_or_not_found(session, ItemType, item_type_id, f"物资品目 id={item_type_id}", input_field=field)


async def find_item_type(session: AsyncSession, ref: str, *, field: str = "item_type") -> ItemType:
    """An item type by id (digits) or by local code."""
    it = None
    if ref.isascii() and ref.isdigit() and len(ref) < 10:  # "²" is a digit to str.isdigit, not to int()
        it = await session.get(ItemType, int(ref))
    if it is None:
        it = await session.scalar(select(ItemType).where(ItemType.code == ref))
    if it is None:
        raise InvalidInput(f"物资品目 {ref} 不存在（可填 id 或物资编号）", field=field)
    return it


async def _write_attributes(session: AsyncSession, it: ItemType, attrs: dict[str, float | str]) -> None:
    await session.execute(delete(ItemTypeAttribute).where(ItemTypeAttribute.item_type_id == it.id))
    for name, value in attrs.items():
        num = value if isinstance(value, float) else None
        text = value if isinstance(value, str) else None
        session.add(ItemTypeAttribute(item_type_id=it.id, name=name, num_value=num, str_value=text))
    it.attributes = dict(attrs)


async def create_item_type(session: AsyncSession, data: ItemTypeCreate) -> ItemType:
    """Create a catalogue entry; codes are unique, the GB/T 38565 code is checked structurally."""
    if data.gbt_code is not None:
        validate_gbt38565(data.gbt_code)
    attrs = normalise_attributes(data.attributes)
    if await session.scalar(select(ItemType.id).where(ItemType.code == data.code)):
        raise Conflict(f"物资编号 {data.code} 已存在", field="code")
    it = ItemType(
        code=data.code, gbt_code=data.gbt_code, name=data.name, spec=data.spec, unit=data.unit,
        tracking=data.tracking, category=data.category, tags_mask=tags_to_mask(data.tags), attributes={},
        shelf_life_days=data.shelf_life_days, inspection_interval_days=data.inspection_interval_days,
        active=True,
    )
    session.add(it)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"物资编号 {data.code} 已存在", field="code") from exc
    await _write_attributes(session, it, attrs)
    await session.flush()
    return it


async def _has_stock(session: AsyncSession, it: ItemType) -> bool:
    balance = exists().where(Balance.item_type_id == it.id)
    asset = exists().where(Asset.item_type_id == it.id)
    return bool(await session.scalar(select(balance | asset)))


async def update_item_type(session: AsyncSession, item_type_id: int, data: ItemTypeUpdate) -> ItemType:
    """Apply a partial change; tracking mode cannot change once stock or assets exist."""
    it = await get_item_type(session, item_type_id)
    changes = {f: v for f in data.__struct_fields__ if (v := getattr(data, f)) is not msgspec.UNSET}
    if changes.get("gbt_code") is not None:
        validate_gbt38565(changes["gbt_code"])
    if "tracking" in changes and changes["tracking"] != it.tracking and await _has_stock(session, it):
        raise InvalidInput(
            f"物资品目 {it.code} 已有库存或装备，不能把管理方式从 {it.tracking} 改为 {changes['tracking']}",
            field="tracking",
        )
    if "attributes" in changes:
        await _write_attributes(session, it, normalise_attributes(changes.pop("attributes")))
    if "tags" in changes:
        it.tags_mask = tags_to_mask(changes.pop("tags"))
    for name, value in changes.items():
        setattr(it, name, value)
    it.updated_at = utcnow()
    await session.flush()
    return it


def attr_condition(flt: AttrFilter) -> ColumnElement[bool]:
    """An EXISTS condition on ItemType matching one attribute comparison."""
    column = ItemTypeAttribute.num_value if isinstance(flt.value, float) else ItemTypeAttribute.str_value
    return exists().where(
        ItemTypeAttribute.item_type_id == ItemType.id,
        ItemTypeAttribute.name == flt.name,
        _OPS[flt.op](column, flt.value),
    )


def item_type_conditions(
    *, tag: str | None = None, category: str | None = None, attrs: Sequence[str] = ()
) -> list[ColumnElement[bool]]:
    """SQL conditions on ItemType for the catalogue filters shared by lists and availability."""
    conditions: list[ColumnElement[bool]] = []
    if tag:
        conditions.append(ItemType.tags_mask.op("&")(tag_bit(tag)) != 0)
    if category:
        conditions.append(ItemType.category == category)
    conditions.extend(attr_condition(parse_attr_filter(text)) for text in attrs)
    return conditions


async def list_item_types(
    session: AsyncSession, *, tag: str | None, category: str | None, attrs: Sequence[str],
    tracking: str | None, q: str | None, limit: int, offset: int, after_id: int | None = None,
) -> Page[ItemTypeRead]:
    """Catalogue entries filtered by tag, category, tracking, text and attribute comparisons, by id."""
    check_paging(offset, after_id)
    stmt = select(ItemType).where(*item_type_conditions(tag=tag, category=category, attrs=attrs))
    if tracking:
        stmt = stmt.where(ItemType.tracking == tracking)
    if q:
        stmt = stmt.where(ItemType.name.contains(q, autoescape=True) | ItemType.code.contains(q, autoescape=True))
    total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows, next_id = page_rows((await session.scalars(
        stmt.where(await after_row(session, _BY_ID, after_id)).order_by(ItemType.id).limit(limit + 1).offset(offset)
    )).all(), limit, lambda r: r.id)
    return Page(items=[item_type_read(r) for r in rows], total=total or 0, limit=limit, offset=offset,
                next_after_id=next_id)
