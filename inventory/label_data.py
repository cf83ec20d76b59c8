"""What goes on a label: the regulated fields for assets, lots and locations, read from the books."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.errors import Conflict, InvalidInput, NotFound
from inventory.label_codes import ensure_label, resolve
from inventory.ledger import CHINA
from inventory.models import Asset, Balance, Document, ItemType, Location, Lot, Movement, Region
from inventory.scan import LOCATION_KIND_ZH
from labels.codes import scan_url
from labels.content import LabelContent, asset_label, location_label, lot_label

MAX_SHEET_LABELS = 5000


async def _asset(session: AsyncSession, public_url: str, asset: Asset) -> LabelContent:
    it = await session.get(ItemType, asset.item_type_id)
    loc = await session.get(Location, asset.location_id) if asset.location_id else None
    assert it is not None
    code = await ensure_label(session, "asset", asset.id)
    return asset_label(code, scan_url(public_url, code), it.name, it.spec, asset.serial_number,
                       loc.name if loc else None)


async def _lot(session: AsyncSession, public_url: str, lot: Lot) -> LabelContent:
    it = await session.get(ItemType, lot.item_type_id)
    assert it is not None
    on_hand = int(await session.scalar(select(func.coalesce(func.sum(Balance.on_hand), 0))
                                       .where(Balance.lot_id == lot.id)) or 0)
    # 入库时间: when the first receipt happened (the document's occurred_at), as a date in 北京时间.
    received = await session.scalar(select(func.min(Document.occurred_at)).join(
        Movement, Movement.document_id == Document.id).where(
        Movement.lot_id == lot.id, Movement.quantity > 0, Movement.bucket == "on_hand"))
    code = await ensure_label(session, "lot", lot.id)
    return lot_label(code, scan_url(public_url, code), it.name, it.spec, lot.origin, lot.number,
                     f"{on_hand}{it.unit}", lot.production_date, lot.expiry_date,
                     received.astimezone(CHINA).date() if received else None, quality=lot.quality)


async def _location(session: AsyncSession, public_url: str, loc: Location) -> LabelContent:
    region = await session.get(Region, loc.region_code)
    code = await ensure_label(session, "location", loc.id)
    return location_label(code, scan_url(public_url, code), loc.name, region.name if region else loc.region_code,
                          LOCATION_KIND_ZH.get(loc.kind, loc.kind))


async def content_for_code(session: AsyncSession, public_url: str, code: str) -> LabelContent:
    """The label of one current code (a retired code is not printed again: Conflict names its successor)."""
    found = await resolve(session, code)
    if not found.active:
        raise Conflict(f"标签 {found.code} 已停用，请打印新标签 {found.replaced_by}")
    if found.kind == "asset":
        asset = await session.get(Asset, found.target_id)
        assert asset is not None
        return await _asset(session, public_url, asset)
    if found.kind == "lot":
        lot = await session.get(Lot, found.target_id)
        assert lot is not None
        return await _lot(session, public_url, lot)
    loc = await session.get(Location, found.target_id)
    assert loc is not None
    return await _location(session, public_url, loc)


async def sheet_contents(
    session: AsyncSession, public_url: str, *, codes: Sequence[str] = (), location_id: int | None = None,
    item_type_id: int | None = None, progress: Callable[[int, int], None] | None = None,
) -> list[LabelContent]:
    """Labels for a list of codes, or for everything at a location (its bins too) and/or of an item type."""
    if not codes and location_id is None and item_type_id is None:
        raise InvalidInput("请给出标签编码列表，或地点、物资品目", field="codes")
    contents: list[LabelContent] = []
    for i, code in enumerate(codes, 1):
        try:
            contents.append(await content_for_code(session, public_url, code))
        except (NotFound, Conflict) as exc:  # a code in the request: the request is at fault (422)
            raise InvalidInput(f"第 {i} 个标签 {code}：{exc.detail}", field=f"codes.{i - 1}") from exc
        if progress:
            progress(i, len(codes))
    if location_id is None and item_type_id is None:
        return contents
    assets = select(Asset).where(Asset.location_id.is_not(None)).order_by(Asset.item_type_id, Asset.serial_number)
    lots = select(Lot).join(Balance, Balance.lot_id == Lot.id).where(Balance.on_hand > 0).distinct()
    places: list[Location] = []
    if location_id is not None:
        loc = await session.get(Location, location_id)
        if loc is None:
            raise InvalidInput(f"地点 id={location_id} 不存在", field="location_id")
        subtree = select(Location.id).where(Location.path.startswith(loc.path))
        assets = assets.where(Asset.location_id.in_(subtree))
        lots = lots.where(Balance.location_id.in_(subtree))
        if item_type_id is None:
            places = list(await session.scalars(select(Location).where(Location.id.in_(subtree))
                                                .order_by(Location.path)))
    if item_type_id is not None:
        assets = assets.where(Asset.item_type_id == item_type_id)
        lots = lots.where(Lot.item_type_id == item_type_id)
    targets: list[Location | Asset | Lot] = [*places, *await session.scalars(assets), *await session.scalars(lots)]
    if len(targets) + len(contents) > MAX_SHEET_LABELS:
        raise InvalidInput(f"一次最多打印 {MAX_SHEET_LABELS} 张标签，请缩小范围", field="location_id")
    for i, target in enumerate(targets, 1):
        if isinstance(target, Location):
            contents.append(await _location(session, public_url, target))
        elif isinstance(target, Asset):
            contents.append(await _asset(session, public_url, target))
        else:
            contents.append(await _lot(session, public_url, target))
        if progress:
            progress(i, len(targets))
    return contents
