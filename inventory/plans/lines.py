"""A plan's lines, checked against places, item types, units and the stock they would move.

A line moves a quantity of a bulk item type, or serial units of one item type, from a location to a staging
site (a stock-holding site: staging, depot, reserve point, vehicle or vendor warehouse; not a bin). Serial units
are named (``asset_ids``: available, at the from-location or its bins) or only counted (``quantity``: ready
units are picked when the plan is executed).

What a from-location can give is what the ledger could send from it in a transfer: bulk stock on hand less
reserved in lots not expired, at the location itself (the ledger takes a bulk line from that place only, so
stock on a shelf is sent from the shelf); ready units (available, not faulty) at the location and its bins, and
the named ones. The lines from one location of one item type are checked together; any line short refuses the
whole plan with the shortfall per location and item type (:class:`InsufficientStock`, a 409).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.access.scope import Principal, require_scope
from inventory.clock import beijing_today
from inventory.errors import Conflict, InsufficientStock, InvalidInput
from inventory.places.refs import Item, load_item
from inventory.places.schemas import SITE_KINDS
from inventory.plans.schemas import PlanLineIn
from inventory.scan.resolve import LOCATION_KIND_ZH, STATUS_ZH
from inventory.store.models import Asset, Balance, ItemType, Location, Lot


@dataclass
class CheckedLine:
    """A line whose places, item type and units were found good; ``quantity`` counts named units too."""

    index: int
    source: Location
    target: Location
    item: Item
    quantity: int
    asset_ids: list[int] = field(default_factory=list)


async def _place(session: AsyncSession, location_id: int, f: str, row: int) -> Location:
    loc = await session.get(Location, location_id)
    if loc is None:
        raise InvalidInput(f"第 {row} 行：地点 id={location_id} 不存在", field=f)
    if not loc.active:
        raise InvalidInput(f"第 {row} 行：{loc.name} 已停用", field=f)
    return loc


async def check_lines(session: AsyncSession, lines: Sequence[PlanLineIn], principal: Principal) -> list[CheckedLine]:
    """Each line's places (existing, open, in the user's scope), item type and units; InvalidInput names the field."""
    checked: list[CheckedLine] = []
    named: dict[int, int] = {}  # unit → the line (1-based) naming it
    for i, line in enumerate(lines):
        f, row = f"lines.{i}", i + 1
        source = await _place(session, line.from_location_id, f"{f}.from_location_id", row)
        target = await _place(session, line.to_location_id, f"{f}.to_location_id", row)
        if target.kind not in SITE_KINDS:
            raise InvalidInput(f"第 {row} 行：{target.name} 是{LOCATION_KIND_ZH.get(target.kind, target.kind)}，"
                               "前置地点须为前置点、储备库、储备点、车辆或协议企业仓库", field=f"{f}.to_location_id")
        if target.id in (source.id, source.site_id):
            raise InvalidInput(f"第 {row} 行：物资已在 {target.name}，前置地点不能与出发地点相同",
                               field=f"{f}.to_location_id")
        await require_scope(session, principal, source.id, target.id)
        try:
            item = await load_item(session, line.item_type_id, field=f"{f}.item_type_id")
        except InvalidInput as exc:
            raise InvalidInput(f"第 {row} 行：{exc.detail}", field=exc.field) from None
        if item.tracking == "bulk":
            if line.asset_ids:
                raise InvalidInput(f"第 {row} 行：{item.name} 按数量管理，不能填装备 asset_ids", field=f"{f}.asset_ids")
            if line.quantity is None:
                raise InvalidInput(f"第 {row} 行：请填写 {item.name} 的数量 quantity", field=f"{f}.quantity")
            checked.append(CheckedLine(i, source, target, item, line.quantity))
            continue
        if not line.asset_ids:
            if line.quantity is None:
                raise InvalidInput(f"第 {row} 行：{item.name} 按单件管理，请列出装备 asset_ids 或填写台数 quantity",
                                   field=f"{f}.quantity")
            checked.append(CheckedLine(i, source, target, item, line.quantity))
            continue
        if line.quantity is not None and line.quantity != len(line.asset_ids):
            raise InvalidInput(f"第 {row} 行：数量 {line.quantity} 与装备件数 {len(line.asset_ids)} 不符",
                               field=f"{f}.quantity")
        for j, asset_id in enumerate(line.asset_ids):
            if asset_id in named:
                raise InvalidInput(f"装备 id={asset_id} 在第 {named[asset_id]} 行和第 {row} 行都出现了",
                                   field=f"{f}.asset_ids.{j}")
            named[asset_id] = row
        await _check_units(session, source, item, line.asset_ids, f, row)
        checked.append(CheckedLine(i, source, target, item, len(line.asset_ids), list(line.asset_ids)))
    return checked


async def _check_units(session: AsyncSession, source: Location, item: Item, asset_ids: list[int], f: str,
                       row: int) -> None:
    """Every named unit is of the line's item type, at the from-location (or its bins) and available."""
    found = {a.id: (a, path) for a, path in (await session.execute(
        select(Asset, Location.path).outerjoin(Location, Location.id == Asset.location_id)
        .where(Asset.id.in_(asset_ids))))}
    for j, asset_id in enumerate(asset_ids):
        asset, path = found.get(asset_id, (None, None))
        if asset is None or asset.item_type_id != item.id:
            raise InvalidInput(f"第 {row} 行：装备 id={asset_id} 不存在或不是 {item.name}", field=f"{f}.asset_ids.{j}")
        if path is None or not path.startswith(source.path):
            raise Conflict(f"第 {row} 行：装备 {asset.serial_number} 不在 {source.name}", field=f"{f}.asset_ids.{j}",
                           extra={"asset_id": asset.id, "location_id": asset.location_id})
        if asset.status != "available":
            raise Conflict(f"第 {row} 行：装备 {asset.serial_number} 当前{STATUS_ZH.get(asset.status, asset.status)}，"
                           "不能前置", field=f"{f}.asset_ids.{j}",
                           extra={"asset_id": asset.id, "asset_status": asset.status})


def _ready_units(source: Location, item_type_id: int) -> list[ColumnElement[bool]]:
    """Conditions of a unit the plan may pick: at the location or its bins, available and not faulty."""
    return [Asset.item_type_id == item_type_id, Asset.status == "available", Asset.readiness != "fault",
            Asset.location_id.in_(select(Location.id).where(Location.path.startswith(source.path)))]


async def bulk_available(session: AsyncSession, location_id: int, item_type_id: int, today: dt.date, *,
                         path: str | None = None) -> int:
    """Unreserved stock in lots not expired at the location (with ``path``: at it and its bins)."""
    where = [Balance.item_type_id == item_type_id, Balance.on_hand > Balance.reserved,
             or_(Lot.expiry_date.is_(None), Lot.expiry_date >= today)]
    where.append(Balance.location_id.in_(select(Location.id).where(Location.path.startswith(path)))
                 if path is not None else Balance.location_id == location_id)
    total = await session.scalar(select(func.sum(Balance.on_hand - Balance.reserved))
                                 .outerjoin(Lot, Lot.id == Balance.lot_id).where(*where))
    return int(total or 0)


async def _serial_available(session: AsyncSession, source: Location, item_type_id: int, named: set[int]) -> int:
    ready = set(await session.scalars(select(Asset.id).where(*_ready_units(source, item_type_id))))
    return len(ready | named)


async def check_stock(session: AsyncSession, lines: Sequence[CheckedLine], outcome: str) -> None:
    """Refuse (409, nothing written) when the lines from a location ask more of an item type than it can give.

    ``outcome`` says what did not happen ("前置计划未保存"); the detail names each location and item type with
    what was asked, what is available and the shortfall; ``extra["shortfall"]`` lists the same per location
    and item type, with the lines (0-based) concerned.
    """
    groups: dict[tuple[int, int], list[CheckedLine]] = defaultdict(list)
    for ln in lines:
        groups[(ln.source.id, ln.item.id)].append(ln)
    today = beijing_today()  # the ledger's day for expired lots
    said: list[str] = []
    shortfalls: list[dict[str, object]] = []
    first: int | None = None  # the first line short
    for group in groups.values():
        source, item = group[0].source, group[0].item
        asked = sum(ln.quantity for ln in group)
        hint = ""
        if item.tracking == "bulk":
            available = await bulk_available(session, source.id, item.id, today)
            if asked > available:
                on_shelves = await bulk_available(session, source.id, item.id, today, path=source.path) - available
                if on_shelves > 0:
                    hint = f"（其货位上另有 {on_shelves}{item.unit}，请以货位为出发地点）"
        else:
            named = {a for ln in group for a in ln.asset_ids}
            available = await _serial_available(session, source, item.id, named)
        if asked <= available:
            continue
        first = group[0].index if first is None else first
        rows = "、".join(str(ln.index + 1) for ln in group)
        said.append(f"第 {rows} 行：{source.name} 的 {item.name} 可用 {available}{item.unit}，"
                    f"计划调出 {asked}{item.unit}，缺 {asked - available}{item.unit}{hint}")
        shortfalls.append({"lines": [ln.index for ln in group], "location_id": source.id,
                           "location_name": source.name, "item_type_id": item.id, "item_name": item.name,
                           "unit": item.unit, "requested": asked, "available": available,
                           "shortfall": asked - available})
    if first is not None:
        raise InsufficientStock(f"库存不足，{outcome}：{'；'.join(said)}", field=f"lines.{first}.quantity",
                                extra={"shortfall": shortfalls})


async def pick_units(session: AsyncSession, source: Location, item_type_id: int, quantity: int,
                     taken: set[int]) -> list[int]:
    """Ready units at the location (or its bins) for a line that only counts them, lowest ids first."""
    ids = list(await session.scalars(
        select(Asset.id).where(*_ready_units(source, item_type_id), Asset.id.not_in(taken) if taken else true())
        .order_by(Asset.id).limit(quantity)))
    if len(ids) < quantity:  # checked just before, so only a concurrent change gets here
        raise InsufficientStock(f"{source.name} 的可用装备不足 {quantity} 台（只有 {len(ids)} 台）",
                                extra={"location_id": source.id, "item_type_id": item_type_id,
                                       "requested": quantity, "available": len(ids)})
    taken.update(ids)
    return ids


async def check_item_types(session: AsyncSession, item_type_ids: Sequence[int]) -> None:
    """Every id names an item type (InvalidInput names the first that does not)."""
    known = set(await session.scalars(select(ItemType.id).where(ItemType.id.in_(item_type_ids))))
    for j, item_id in enumerate(item_type_ids):
        if item_id not in known:
            raise InvalidInput(f"物资品目 id={item_id} 不存在", field=f"item_type_ids.{j}")
