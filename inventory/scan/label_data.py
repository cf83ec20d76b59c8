"""What goes on a label: the regulated fields for assets, lots and locations, read from the books.

A sheet is collected in short transactions whatever its size, and never renders inside one: the
selection is resolved, capped and checked against the user's scope in one read; codes still missing
(a thing labelled for the first time) are issued in small writes that do nothing else; the contents
are then read in bulk — a handful of queries per thousand labels, not a few per label. The caller
renders the contents afterwards, outside any transaction and off the event loop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Final, TypeVar

import msgspec
from sqlalchemy import false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from inventory.access.permissions import ROLE_ZH
from inventory.access.scope import Principal, require_scope
from inventory.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from inventory.scan.resolve import LOCATION_KIND_ZH
from inventory.stock.documents import CHINA
from inventory.store.db import Database
from inventory.store.label_codes import KIND_ZH, Kind, ensure_label, resolve
from inventory.store.models import Asset, Balance, Document, ItemType, LabelCode, Location, Lot, Movement, Region
from labels.codes import InvalidCode, display_code, parse_code, scan_url
from labels.content import LabelContent, asset_label, location_label, lot_label
from labels.sheets import render_sheet

MAX_SHEET_LABELS: Final = 5000
"""Labels in one sheet requested over the API, whatever the selection (codes, a location, an item type)."""
ISSUE_BATCH: Final = 100
"""Codes issued per write: another user's write waits for at most one such batch, never for a whole sheet."""
_CHUNK: Final = 1000  # ids per IN (…) list: well below SQLite's and asyncpg's limits on bound parameters

Target = tuple[Kind, int]
"""What one label names: ("asset", 7), ("lot", 3) or ("location", 12)."""
T = TypeVar("T")


def _chunks(items: Sequence[T], size: int = _CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


async def content_for_code(session: AsyncSession, public_url: str, code: str) -> LabelContent:
    """The label of one current code (a retired code is not printed again: Conflict names its successor)."""
    found = await resolve(session, code)
    if not found.active:
        raise Conflict(f"标签 {found.code} 已停用，请打印新标签 {found.replaced_by}")
    target: Target = (found.kind, found.target_id)  # type: ignore[assignment]
    return (await _contents(session, public_url, [target]))[0]


async def sheet_contents(
    db: Database, public_url: str, *, codes: Sequence[str] = (), location_id: int | None = None,
    item_type_id: int | None = None, principal: Principal | None = None, capped: bool = True,
) -> list[LabelContent]:
    """Labels for a list of codes, and/or for everything at a location (its bins too) and/or of an item type.

    ``principal`` (None: the command line, unrestricted) must have every label in scope: a keeper prints
    only what his places hold or last held, and an item type alone means its things at his places.
    ``capped``: at most ``MAX_SHEET_LABELS`` labels, counted before anything is read in full (InvalidInput
    naming the field otherwise). Its reads grow with the selection: they run on a heavy read (off the event loop
    on SQLite); the codes still missing are issued in writes of their own, committed before the last read.
    """
    async with db.heavy_read() as session:
        targets = await _selected(session, codes=codes, location_id=location_id, item_type_id=item_type_id,
                                  principal=principal, limit=MAX_SHEET_LABELS if capped else None)
        missing = await _missing_codes(session, targets)
        if not missing:
            return await _contents(session, public_url, targets)
    for batch in _chunks(missing, ISSUE_BATCH):
        async with db.write() as session:
            for kind, ident in batch:
                await ensure_label(session, kind, ident)  # re-reads the code: a concurrent issue is kept
    async with db.heavy_read() as session:
        return await _contents(session, public_url, targets)


def _too_many(count: int, limit: int, field: str) -> InvalidInput:
    return InvalidInput(f"一次最多打印 {limit} 张标签，所选有 {count} 张，请缩小范围分批打印", field=field)


async def _selected(
    session: AsyncSession, *, codes: Sequence[str], location_id: int | None, item_type_id: int | None,
    principal: Principal | None, limit: int | None,
) -> list[Target]:
    """What the sheet prints, in order: the codes as listed, then the places, units and lots selected."""
    if not codes and location_id is None and item_type_id is None:
        raise InvalidInput("请给出标签编码列表，或地点、物资品目", field="codes")
    if limit is not None and len(codes) > limit:
        raise _too_many(len(codes), limit, "codes")
    scoped = principal is not None and principal.role != "admin"
    targets = await _listed(session, codes)
    if scoped and targets:
        assert principal is not None
        await _require_listed_in_scope(session, principal, codes, targets)
    if location_id is None and item_type_id is None:
        return targets
    places_q = select(Location.id)
    if location_id is not None:
        loc = await session.get(Location, location_id)
        if loc is None:
            raise InvalidInput(f"地点 id={location_id} 不存在", field="location_id")
        if scoped:
            assert principal is not None
            await require_scope(session, principal, location_id)
        places_q = places_q.where(Location.path.startswith(loc.path, autoescape=True))
    if item_type_id is not None and await session.get(ItemType, item_type_id) is None:
        raise InvalidInput(f"物资品目 id={item_type_id} 不存在", field="item_type_id")
    if scoped:
        assert principal is not None
        places_q = places_q.where(_scope_clause(principal))
    restrict_places = location_id is not None or scoped
    assets = select(Asset.id).where(Asset.location_id.is_not(None))
    held = select(Balance.lot_id).where(Balance.on_hand > 0, Balance.lot_id.is_not(None))
    if restrict_places:
        assets = assets.where(Asset.location_id.in_(places_q))
        held = held.where(Balance.location_id.in_(places_q))
    lots = select(Lot.id).where(Lot.id.in_(held))
    places = places_q if item_type_id is None else None
    if item_type_id is not None:
        assets = assets.where(Asset.item_type_id == item_type_id)
        lots = lots.where(Lot.item_type_id == item_type_id)
    queries = [q for q in (places, assets, lots) if q is not None]
    if limit is not None:
        count = len(targets)
        for query in queries:
            count += int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
        if count > limit:
            raise _too_many(count, limit, "location_id" if location_id is not None else "item_type_id")
    if places is not None:
        targets += [("location", i) for i in await session.scalars(
            select(Location.id).where(Location.id.in_(places)).order_by(Location.path))]
    targets += [("asset", i) for i in await session.scalars(
        select(Asset.id).where(Asset.id.in_(assets)).order_by(Asset.item_type_id, Asset.serial_number, Asset.id))]
    targets += [("lot", i) for i in await session.scalars(
        select(Lot.id).where(Lot.id.in_(lots)).order_by(Lot.item_type_id, Lot.number, Lot.id))]
    return targets


async def _listed(session: AsyncSession, codes: Sequence[str]) -> list[Target]:
    """What each listed code names; a code that is malformed, unknown or retired is the request's fault (422)."""
    parsed: list[str] = []
    for i, text in enumerate(codes):
        try:
            parsed.append(parse_code(text).code)
        except InvalidCode as exc:
            raise InvalidInput(f"第 {i + 1} 个标签编码 {text} 有误：{exc.reason_zh}", field=f"codes.{i}") from exc
    rows: dict[str, tuple[str, int, bool, str | None]] = {}
    for chunk in _chunks(sorted(set(parsed))):
        for code, kind, ident, retired_at, replaced_by in await session.execute(
                select(LabelCode.code, LabelCode.target_type, LabelCode.target_id, LabelCode.retired_at,
                       LabelCode.replaced_by).where(LabelCode.code.in_(chunk))):
            rows[code] = (kind, ident, retired_at is None, replaced_by)
    targets: list[Target] = []
    for i, code in enumerate(parsed):
        if code not in rows:
            error: NotFound | Conflict = NotFound(
                f"标签编码 {code} 格式正确，但系统中没有这个标签（可能不是本系统打印的）")
        elif not rows[code][2]:
            error = Conflict(f"标签 {code} 已停用，请打印新标签 {rows[code][3]}")
        else:
            kind, ident, _, _ = rows[code]
            targets.append((kind, ident))  # type: ignore[arg-type]
            continue
        raise InvalidInput(f"第 {i + 1} 个标签 {code}：{error.detail}", field=f"codes.{i}") from error
    return targets


def _scope_clause(principal: Principal) -> ColumnElement[bool]:
    """SQL: the location (or the location whose bin it is) lies in the user's scope (as access.scope.in_scope)."""
    terms = [Location.region_code.startswith(prefix, autoescape=True) for prefix in principal.scope_regions]
    terms += [Location.path.contains(f"/{ident}/") for ident in principal.scope_locations]
    return or_(*terms) if terms else false()


async def _require_listed_in_scope(
    session: AsyncSession, principal: Principal, codes: Sequence[str], targets: Sequence[Target],
) -> None:
    """PermissionDenied unless every listed label names something of the user's places (custody's rules, in bulk).

    A unit answers by where it is or, while it is out, where its latest movement was; a lot by the places
    holding some of it; a place by itself.
    """
    allowed = set(await session.scalars(select(Location.id).where(_scope_clause(principal))))
    places: dict[Target, set[int]] = {}
    ids = _ids_by_kind(targets)
    for chunk in _chunks(ids["asset"]):
        out: list[int] = []
        for ident, where in await session.execute(select(Asset.id, Asset.location_id).where(Asset.id.in_(chunk))):
            if where is None:
                out.append(ident)
            else:
                places[("asset", ident)] = {where}
        if out:
            latest = select(func.max(Movement.id)).where(Movement.asset_id.in_(out)).group_by(Movement.asset_id)
            for unit, where in await session.execute(
                    select(Movement.asset_id, Movement.location_id).where(Movement.id.in_(latest))):
                if unit is not None:
                    places[("asset", unit)] = {where}
    for chunk in _chunks(ids["lot"]):
        for lot_id, where in await session.execute(select(Balance.lot_id, Balance.location_id).where(
                Balance.lot_id.in_(chunk), or_(Balance.on_hand > 0, Balance.in_transit > 0))):
            if lot_id is not None:
                places.setdefault(("lot", lot_id), set()).add(where)
    for ident in ids["location"]:
        places[("location", ident)] = {ident}
    for i, (code, target) in enumerate(zip(codes, targets, strict=True)):
        if not places.get(target, set()) & allowed:
            raise PermissionDenied(
                f"{ROLE_ZH.get(principal.role, principal.role)} {principal.username}：第 {i + 1} 个标签 {code} "
                f"所指的{KIND_ZH[target[0]]}不在您的辖区内（或已无库存、无出入库记录），不能打印 (outside your scope)",
                extra={"code": code, "index": i},
            )


KINDS: Final[tuple[Kind, ...]] = ("asset", "lot", "location")
_TABLES: Final[dict[Kind, type[Asset] | type[Lot] | type[Location]]] = {
    "asset": Asset, "lot": Lot, "location": Location}


def _ids_by_kind(targets: Iterable[Target]) -> dict[Kind, list[int]]:
    """The ids of each kind, each once, in their first order."""
    ids: dict[Kind, dict[int, None]] = {kind: {} for kind in KINDS}
    for kind, ident in targets:
        ids[kind][ident] = None
    return {kind: list(found) for kind, found in ids.items()}


async def _missing_codes(session: AsyncSession, targets: Sequence[Target]) -> list[Target]:
    """The targets that have no label code yet (each once)."""
    missing: list[Target] = []
    for kind, ids in _ids_by_kind(targets).items():
        table = _TABLES[kind]
        for chunk in _chunks(ids):
            missing += [(kind, i) for i in await session.scalars(
                select(table.id).where(table.id.in_(chunk), table.label_code.is_(None)).order_by(table.id))]
    return missing


async def _contents(session: AsyncSession, public_url: str, targets: Sequence[Target]) -> list[LabelContent]:
    """The label of each target, in order, read in bulk (every target has its code by now)."""
    ids = _ids_by_kind(targets)
    assets: dict[int, Asset] = {}
    lots: dict[int, Lot] = {}
    locations: dict[int, Location] = {}
    on_hand: dict[int, int] = {}
    received: dict[int, dt.datetime] = {}
    for chunk in _chunks(ids["asset"]):
        assets.update((a.id, a) for a in await session.scalars(select(Asset).where(Asset.id.in_(chunk))))
        await asyncio.sleep(0)  # on SQLite statements run inline: let other requests in between chunks
    for chunk in _chunks(ids["lot"]):
        await asyncio.sleep(0)
        lots.update((lot.id, lot) for lot in await session.scalars(select(Lot).where(Lot.id.in_(chunk))))
        on_hand.update((lot_id, int(total or 0)) for lot_id, total in await session.execute(
            select(Balance.lot_id, func.sum(Balance.on_hand)).where(Balance.lot_id.in_(chunk))
            .group_by(Balance.lot_id)) if lot_id is not None)
        # 入库时间: when the first receipt happened (the document's occurred_at), as a date in 北京时间.
        received.update((lot_id, first) for lot_id, first in await session.execute(
            select(Movement.lot_id, func.min(Document.occurred_at))
            .join(Document, Movement.document_id == Document.id)
            .where(Movement.lot_id.in_(chunk), Movement.quantity > 0, Movement.bucket == "on_hand")
            .group_by(Movement.lot_id)) if lot_id is not None)
    place_ids = sorted({*ids["location"], *(a.location_id for a in assets.values() if a.location_id)})
    for chunk in _chunks(place_ids):
        locations.update((loc.id, loc) for loc in await session.scalars(
            select(Location).where(Location.id.in_(chunk))))
    type_ids = sorted({*(a.item_type_id for a in assets.values()), *(lot.item_type_id for lot in lots.values())})
    item_types = {it.id: it for it in await session.scalars(select(ItemType).where(ItemType.id.in_(type_ids)))}
    region_codes = sorted({locations[i].region_code for i in ids["location"]})
    regions = {row.code: row.name for row in await session.execute(
        select(Region.code, Region.name).where(Region.code.in_(region_codes)))}
    contents: list[LabelContent] = []
    for kind, ident in targets:
        if kind == "asset":
            asset = assets[ident]
            it = item_types[asset.item_type_id]
            code = _code(asset.label_code, kind, ident)
            where = locations[asset.location_id].name if asset.location_id else None
            contents.append(asset_label(code, scan_url(public_url, code), it.name, it.spec, asset.serial_number,
                                        where))
        elif kind == "lot":
            lot = lots[ident]
            it = item_types[lot.item_type_id]
            code = _code(lot.label_code, kind, ident)
            first = received.get(ident)
            contents.append(lot_label(
                code, scan_url(public_url, code), it.name, it.spec, lot.origin, lot.number,
                f"{on_hand.get(ident, 0)}{it.unit}", lot.production_date, lot.expiry_date,
                first.astimezone(CHINA).date() if first is not None else None,
                quality=lot.quality))
        else:
            loc = locations[ident]
            code = _code(loc.label_code, kind, ident)
            contents.append(location_label(code, scan_url(public_url, code), loc.name,
                                           regions.get(loc.region_code, loc.region_code),
                                           LOCATION_KIND_ZH.get(loc.kind, loc.kind)))
    return contents


def _code(code: str | None, kind: str, ident: int) -> str:
    if code is None:  # pragma: no cover - sheet_contents issues every missing code before reading
        raise Conflict(f"{KIND_ZH[kind]} id={ident} 还没有标签编码，请重试")
    return code


class RenderedSheet(msgspec.Struct, frozen=True):
    """A PDF sheet, and the labels whose layout had to cut a field with "…" (code, fields cut)."""

    pdf: bytes
    truncated: tuple[tuple[str, tuple[str, ...]], ...]


def render_contents(contents: Sequence[LabelContent], template: str,
                    progress: Callable[[int, int], None] | None = None) -> RenderedSheet:
    """Render a sheet (CPU work: call it in a worker thread, outside any transaction), noting what was cut."""
    truncated: list[tuple[str, tuple[str, ...]]] = []
    pdf = render_sheet(contents, template, progress=progress,
                       cut=lambda index, fields: truncated.append((contents[index].code, fields)))
    return RenderedSheet(pdf, tuple(truncated))


def truncation_note(truncated: Sequence[tuple[str, tuple[str, ...]]], shown: int = 10) -> str:
    """A Chinese line naming the labels with cut text (``2 张标签有内容被截断：A…（名称、规格）、…``); "" if none."""
    if not truncated:
        return ""
    named = "、".join(f"{display_code(code)}（{'、'.join(fields)}）" for code, fields in truncated[:shown])
    more = f" 等（另有 {len(truncated) - shown} 张）" if len(truncated) > shown else ""
    return f"{len(truncated)} 张标签有内容被截断：{named}{more}"
