"""Risk points (风险隐患点): places at risk in a flood, their weight and what they would need, per item type.

A commander registers the points of his region (``risk_points.write``, scoped by region code prefix); an admin
anyone's. Coordinates come in WGS-84, GCJ-02 or BD-09 and are stored in WGS-84; a point must lie in China and
plausibly in its region (inside the province's box, and within about 10 km of the county's or city's bounding
box where the boundary is known). Needs name each item type once. Writes flush; the request commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, Final, NamedTuple

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.access.permissions import ROLE_ZH
from inventory.access.scope import Principal, covers_region
from inventory.errors import Conflict, InvalidInput, PermissionDenied, SheetRejected
from inventory.places.boundaries import Boundary, cities, counties
from inventory.places.geo import to_wgs84, validate_point
from inventory.places.regions import require_region
from inventory.plans.schemas import (
    RISK_KIND_ZH,
    RiskNeedIn,
    RiskNeedRead,
    RiskPointCreate,
    RiskPointImportResult,
    RiskPointRead,
    RiskPointUpdate,
    RiskSheetProblem,
    RiskSheetRow,
)
from inventory.schemas import Page
from inventory.store.lookup import get_or_not_found
from inventory.store.models import ItemType, Region, RiskNeed, RiskPoint, utcnow

REGION_MARGIN_DEG: Final = 0.1  # about 10 km: the boundaries are simplified, and a 堤段 may run along one
_CHUNK: Final = 1000  # ids or codes per IN (…)
MAX_ERRORS: Final = 1000  # problems listed in a refusal; the rest are counted
MAX_WEIGHT: Final = 10_000_000
MAX_SHEET_ROWS: Final = 100_000  # risk points listed in one downloaded list


def require_region_scope(principal: Principal, region_code: str, *, field: str = "region_code") -> None:
    """PermissionDenied unless the region lies in the user's scope (a prefix of his 辖区); admins everywhere."""
    if covers_region(principal, region_code):
        return
    scope = "、".join(principal.scope_regions) or "无"
    raise PermissionDenied(
        f"{ROLE_ZH.get(principal.role, principal.role)} {principal.username} 的辖区（{scope}）不包括行政区划 "
        f"{region_code}，不能登记或修改那里的风险隐患点 (outside your scope)",
        field=field, extra={"region_code": region_code})


@cache
def _boundaries() -> dict[str, Boundary]:
    return {b.adcode: b for b in (*counties(), *cities())}


def _region_boundary(region_code: str) -> Boundary | None:
    """The county's boundary (or the city's, for a 4-digit code), where the shipped data has one."""
    if len(region_code) >= 6:
        return _boundaries().get(region_code[:6])
    if len(region_code) == 4:
        return _boundaries().get(region_code + "00")
    return None


def place_point(lat: float, lon: float, crs: str, region: Region) -> tuple[float, float]:
    """(lat, lon) in WGS-84 of a point given in ``crs``; InvalidInput unless it lies plausibly in the region."""
    validate_point(lat, lon, region_code=region.code)
    wlat, wlon = to_wgs84(lat, lon, crs)  # type: ignore[arg-type]  # Crs is checked by the request struct
    boundary = _region_boundary(region.code)
    if boundary is not None:
        west, south, east, north = boundary.bbox
        m = REGION_MARGIN_DEG
        if not (west - m <= wlon <= east + m and south - m <= wlat <= north + m):
            raise InvalidInput(
                f"坐标（纬度 {lat:g}，经度 {lon:g}）离{region.name}（{region.code}）超过约 10 公里，"
                "请核对坐标或行政区划代码；从高德、腾讯地图取的坐标请注明坐标系 gcj02，百度地图取的注明 bd09",
                field="lat")
    return round(wlat, 7), round(wlon, 7)


async def _check_needs(session: AsyncSession, needs: Sequence[RiskNeedIn]) -> None:
    """InvalidInput naming ``needs.N.item_type_id`` for an item type unknown, stopped, or named twice."""
    found = dict((await session.execute(select(ItemType.id, ItemType.active)
                                        .where(ItemType.id.in_({n.item_type_id for n in needs})))).all())
    first: dict[int, int] = {}
    for position, need in enumerate(needs):
        field = f"needs.{position}.item_type_id"
        if need.item_type_id not in found:
            raise InvalidInput(f"物资品目 id={need.item_type_id} 不存在", field=field)
        if not found[need.item_type_id]:
            raise InvalidInput(f"物资品目 id={need.item_type_id} 已停用，不能作为需求", field=field)
        if need.item_type_id in first:
            raise InvalidInput(f"物资品目 id={need.item_type_id} 在需求中出现两次（第 {first[need.item_type_id] + 1} "
                               "项已填写），每种物资只填一次", field=field)
        first[need.item_type_id] = position


async def _replace_needs(session: AsyncSession, rp: RiskPoint, needs: Sequence[RiskNeedIn]) -> None:
    await session.execute(delete(RiskNeed).where(RiskNeed.risk_point_id == rp.id))
    session.add_all(RiskNeed(risk_point_id=rp.id, item_type_id=n.item_type_id, quantity=n.quantity) for n in needs)


async def create_risk_point(session: AsyncSession, data: RiskPointCreate, principal: Principal) -> RiskPoint:
    """Register a risk point of a region in the user's scope; a code already taken is a 409."""
    region = await require_region(session, data.region_code)
    require_region_scope(principal, region.code)
    lat, lon = place_point(data.lat, data.lon, data.crs, region)
    await _check_needs(session, data.needs)
    if await session.scalar(select(RiskPoint.id).where(RiskPoint.code == data.code)):
        raise Conflict(f"风险隐患点编号 {data.code} 已存在", field="code")
    now = utcnow()
    rp = RiskPoint(code=data.code, name=data.name, kind=data.kind, region_code=region.code, lat=lat, lon=lon,
                   weight=data.weight, note=data.note, created_by=principal.username, created_at=now, updated_at=now)
    session.add(rp)
    try:
        await session.flush()
    except IntegrityError as exc:  # the same code registered a moment ago
        raise Conflict(f"风险隐患点编号 {data.code} 已存在", field="code") from exc
    await _replace_needs(session, rp, data.needs)
    await session.flush()
    return rp


async def get_risk_point(session: AsyncSession, risk_point_id: int) -> RiskPoint:
    """The risk point with this id, or NotFound."""
    return await get_or_not_found(session, RiskPoint, risk_point_id, f"风险隐患点 id={risk_point_id}")


async def update_risk_point(session: AsyncSession, risk_point_id: int, data: RiskPointUpdate,
                            principal: Principal) -> RiskPoint:
    """Change a risk point of the user's region (moving it to another region needs that one in scope too)."""
    rp = await get_risk_point(session, risk_point_id)
    require_region_scope(principal, rp.region_code)
    region = await require_region(session, data.region_code or rp.region_code)
    require_region_scope(principal, region.code)
    if (data.lat is None) != (data.lon is None):
        raise InvalidInput("纬度和经度须同时修改", field="lon" if data.lon is None else "lat")
    if data.lat is not None and data.lon is not None:
        rp.lat, rp.lon = place_point(data.lat, data.lon, data.crs, region)
    elif region.code != rp.region_code:
        place_point(rp.lat, rp.lon, "wgs84", region)
    if data.needs is not None:
        await _check_needs(session, data.needs)
        await _replace_needs(session, rp, data.needs)
    rp.region_code = region.code
    for name in ("name", "kind", "weight", "note"):
        if (value := getattr(data, name)) is not None:
            setattr(rp, name, value)
    rp.updated_at = utcnow()
    await session.flush()
    return rp


async def delete_risk_point(session: AsyncSession, risk_point_id: int, principal: Principal) -> None:
    """Remove a risk point of the user's region, with its needs."""
    rp = await get_risk_point(session, risk_point_id)
    require_region_scope(principal, rp.region_code)
    await session.execute(delete(RiskNeed).where(RiskNeed.risk_point_id == rp.id))
    await session.delete(rp)
    await session.flush()


async def risk_points_read(session: AsyncSession, rps: Sequence[RiskPoint]) -> list[RiskPointRead]:
    """The public views of risk points, their needs read in one query (per thousand points)."""
    ids = [rp.id for rp in rps]
    needs: dict[int, list[RiskNeedRead]] = {i: [] for i in ids}
    for start in range(0, len(ids), _CHUNK):
        stmt = (select(RiskNeed.risk_point_id, RiskNeed.item_type_id, ItemType.code, ItemType.name, ItemType.unit,
                       RiskNeed.quantity)
                .join(ItemType, ItemType.id == RiskNeed.item_type_id)
                .where(RiskNeed.risk_point_id.in_(ids[start:start + _CHUNK])).order_by(ItemType.code))
        for point, item, code, name, unit, quantity in await session.execute(stmt):
            needs[point].append(RiskNeedRead(item_type_id=item, item_code=code, item_name=name, unit=unit,
                                             quantity=quantity))
    return [RiskPointRead(id=rp.id, code=rp.code, name=rp.name, kind=rp.kind,
                          kind_zh=RISK_KIND_ZH.get(rp.kind, rp.kind), region_code=rp.region_code, lat=rp.lat,
                          lon=rp.lon, weight=rp.weight, note=rp.note,
                          needs=needs[rp.id], created_by=rp.created_by, created_at=rp.created_at) for rp in rps]


async def risk_point_read(session: AsyncSession, rp: RiskPoint) -> RiskPointRead:
    """The public view of a risk point."""
    return (await risk_points_read(session, [rp]))[0]


async def list_risk_points(
    session: AsyncSession, *, region_code: str | None = None, kind: str | None = None,
    item_type_id: int | None = None, q: str | None = None, limit: int = 50, offset: int = 0,
) -> Page[RiskPointRead]:
    """Risk points by region code, then code; filtered by region (prefix), kind, an item type needed, code/name text."""
    stmt = select(RiskPoint)
    if region_code:
        stmt = stmt.where(RiskPoint.region_code.startswith(region_code, autoescape=True))
    if kind:
        stmt = stmt.where(RiskPoint.kind == kind)
    if item_type_id is not None:
        stmt = stmt.where(RiskPoint.id.in_(select(RiskNeed.risk_point_id).where(RiskNeed.item_type_id == item_type_id)))
    if q:
        stmt = stmt.where(RiskPoint.code.contains(q, autoescape=True) | RiskPoint.name.contains(q, autoescape=True))
    total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = list(await session.scalars(stmt.order_by(RiskPoint.region_code, RiskPoint.code).limit(limit).offset(offset)))
    return Page(items=await risk_points_read(session, rows), total=total or 0, limit=limit, offset=offset)


async def item_catalogue(session: AsyncSession) -> list[tuple[str, str]]:
    """(code, name) of every item type, for reading the needs written in a list."""
    return [(code, name) for code, name in await session.execute(select(ItemType.code, ItemType.name))]


async def risk_points_for_sheet(session: AsyncSession, region_code: str) -> list[RiskPointRead]:
    """Every risk point under ``region_code`` (at most MAX_SHEET_ROWS), by region and code, for the list to edit."""
    await require_region(session, region_code, field="region")
    stmt = (select(RiskPoint).where(RiskPoint.region_code.startswith(region_code, autoescape=True))
            .order_by(RiskPoint.region_code, RiskPoint.code).limit(MAX_SHEET_ROWS))
    return await risk_points_read(session, list(await session.scalars(stmt)))


class RiskSheetRejected(SheetRejected):
    """A 风险隐患点清单 with problems: nothing imported; each problem listed (the first MAX_ERRORS) and counted."""

    def __init__(self, problems: Sequence[RiskSheetProblem], total: int) -> None:
        super().__init__("风险隐患点清单", problems, total, listed=MAX_ERRORS)


async def _in_chunks(session: AsyncSession, stmt: Any, column: Any, keys: set[Any]) -> list[Any]:
    found: list[Any] = []
    ordered = sorted(keys)
    for start in range(0, len(ordered), _CHUNK):
        found.extend((await session.execute(stmt.where(column.in_(ordered[start:start + _CHUNK])))).all())
    return found


class _Lookups(NamedTuple):
    regions: dict[str, Region]
    items: dict[str, Any]  # code → (id, code, active)
    existing: dict[str, RiskPoint]
    needs: dict[int, set[tuple[int, int]]]  # risk point id → {(item type id, quantity)}


async def _lookups(session: AsyncSession, rows: Sequence[RiskSheetRow]) -> _Lookups:
    regions = {r.code: r for (r,) in await _in_chunks(session, select(Region), Region.code,
                                                       {row.region_code for row in rows})}
    items = {i.code: i for i in await _in_chunks(session, select(ItemType.id, ItemType.code, ItemType.active),
                                                 ItemType.code, {n.item_code for row in rows for n in row.needs})}
    existing = {p.code: p for (p,) in await _in_chunks(session, select(RiskPoint), RiskPoint.code,
                                                        {row.code for row in rows})}
    needs: dict[int, set[tuple[int, int]]] = {p.id: set() for p in existing.values()}
    for point, item, quantity in await _in_chunks(
            session, select(RiskNeed.risk_point_id, RiskNeed.item_type_id, RiskNeed.quantity), RiskNeed.risk_point_id,
            set(needs)):
        needs[point].add((item, quantity))
    return _Lookups(regions, items, existing, needs)


def _row_problems(r: RiskSheetRow, found: _Lookups) -> tuple[list[RiskSheetProblem], tuple[float, float] | None]:
    """What is wrong with a row once its codes are looked up, and its point in WGS-84 when it has one."""
    problems: list[RiskSheetProblem] = []
    point = None
    region = found.regions.get(r.region_code)
    if r.kind not in RISK_KIND_ZH:
        problems.append(RiskSheetProblem(r.row, "类型", r.kind, f"类型 {r.kind} 不可识别"))
    if r.crs not in ("wgs84", "gcj02", "bd09"):
        problems.append(RiskSheetProblem(r.row, "坐标系", r.crs, f"坐标系 {r.crs} 不受支持"))
    if not 0 < r.weight <= MAX_WEIGHT:
        problems.append(RiskSheetProblem(r.row, "权重", f"{r.weight:g}", f"权重须大于 0、不超过 {MAX_WEIGHT:,}"))
    if region is None:
        problems.append(RiskSheetProblem(r.row, "行政区划代码", r.region_code,
                                         f"行政区划代码 {r.region_code} 不存在（应为 GB/T 2260 代码，如 360121）"))
    elif r.crs in ("wgs84", "gcj02", "bd09"):
        try:
            point = place_point(r.lat, r.lon, r.crs, region)
        except InvalidInput as exc:
            column, value = ("经度", r.lon) if exc.field == "lon" else ("纬度", r.lat)
            problems.append(RiskSheetProblem(r.row, column, f"{value:g}", exc.detail))
    seen: dict[int, str] = {}
    for need in r.needs:
        item = found.items.get(need.item_code)
        if item is None:
            problems.append(RiskSheetProblem(r.row, need.column, need.item_code, f"物资编码 {need.item_code} 不存在"))
        elif not item.active:
            problems.append(RiskSheetProblem(r.row, need.column, need.item_code,
                                             f"物资品目 {need.item_code} 已停用，不能作为需求"))
        elif item.id in seen:
            problems.append(RiskSheetProblem(
                r.row, need.column, need.item_code,
                f"物资 {need.item_code} 在本行已填写（「{seen[item.id]}」列），每种物资只填一次"))
        else:
            seen[item.id] = need.column
    return problems, point


async def import_risk_points(
    session: AsyncSession, rows: Sequence[RiskSheetRow], principal: Principal, *,
    problems: Sequence[RiskSheetProblem] = (), problems_omitted: int = 0,
) -> RiskPointImportResult:
    """Apply a parsed 风险隐患点 list whole (upsert by code), or raise RiskSheetRejected changing nothing.

    ``problems`` are what the Excel layer found in the cells (``problems_omitted`` more were only counted). A row's
    region, or the region of the point its code already names, outside the user's scope is a PermissionDenied,
    before any problem is answered. A row names everything about its point: its needs replace the point's needs.
    """
    found = await _lookups(session, rows)
    for r in rows:
        current = found.existing.get(r.code)
        for code in (r.region_code if r.region_code in found.regions else None,
                     current.region_code if current is not None else None):
            if code is not None:
                try:
                    require_region_scope(principal, code)
                except PermissionDenied as exc:
                    raise PermissionDenied(f"第 {r.row} 行（编号 {r.code}）：{exc.detail}", extra=exc.extra) from None
    listed, points = list(problems), []
    for r in rows:
        row_problems, point = _row_problems(r, found)
        listed.extend(row_problems)
        if point is not None:
            points.append(point)
    if listed:
        raise RiskSheetRejected(sorted(listed, key=lambda p: p.row), len(listed) + problems_omitted)
    result = RiskPointImportResult(rows=len(rows), created=0, updated=0, unchanged=0)
    now, fresh = utcnow(), []
    for r, point in zip(rows, points, strict=True):
        needs = {(found.items[n.item_code].id, n.quantity) for n in r.needs}
        values = {"name": r.name, "kind": r.kind, "region_code": r.region_code, "lat": point[0], "lon": point[1],
                  "weight": r.weight, "note": r.note}
        rp = found.existing.get(r.code)
        if rp is None:
            rp = RiskPoint(code=r.code, created_by=principal.username, created_at=now, updated_at=now, **values)
            session.add(rp)
            fresh.append((rp, needs))
            result.created += 1
        elif all(getattr(rp, k) == v for k, v in values.items()) and found.needs[rp.id] == needs:
            result.unchanged += 1
        else:
            for name, value in values.items():
                setattr(rp, name, value)
            rp.updated_at = now
            fresh.append((rp, needs))
            result.updated += 1
    try:
        await session.flush()
    except IntegrityError as exc:  # a code registered a moment ago by someone else
        raise Conflict("导入时有风险隐患点编号刚被他人登记，请重新导入", field="file") from exc
    for rp, needs in fresh:
        await _replace_needs(session, rp, [RiskNeedIn(item_type_id=i, quantity=q) for i, q in sorted(needs)])
    await session.flush()
    result.summary = (f"导入风险隐患点清单 {result.rows} 行：新建 {result.created}、修改 {result.updated}、"
                      f"未变 {result.unchanged}")
    return result
