"""The incident pages: the list with its filters and the form that opens an incident, one incident with its
dispatch orders, and closing it.

Every signed-in role reads them; opening and closing need ``incidents.write`` (checked again on POST).
The dispatch-order pages are in :mod:`api.pages.dispatches`; ``HANDLERS`` holds both.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response, get, post
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from api.pages import dispatches
from api.pages.common import PAGE, login_redirect, missing, page_context, page_principal
from api.pages.response_forms import (
    FormError,
    Posted,
    error_text,
    posted_step,
    read_form,
    status_of,
    stored_answer,
    submit,
)
from inventory.access.permissions import allowed
from inventory.access.scope import Principal
from inventory.config import Settings
from inventory.errors import InventoryError
from inventory.response import incidents as incident_service
from inventory.response import order_views, views
from inventory.response.schemas import IncidentCreate, IncidentRead
from inventory.response.targets import LEVEL_ZH
from inventory.schemas import MAX_ID
from inventory.store.db import Database

PATH = "/incidents"
PAGE_SIZE, MAX_PAGE_SIZE, MAX_OFFSET = 20, 100, 1_000_000
STATUS_CHOICES = {"open": "处置中", "closed": "已关闭", "all": "全部"}
CRS_CHOICES = {"wgs84": "GPS（WGS-84）", "gcj02": "高德、腾讯、微信地图（GCJ-02）", "bd09": "百度地图（BD-09）"}
DONE_ZH = {"created": "事件已登记", "closed": "事件已关闭：不能再下达新的动用指令（在途物资仍可签收、归还）"}
WRITE = "incidents.write"


def _city(principal: Principal) -> str:
    """The city whose counties and townships the form offers: the user's own, else 南昌市."""
    return next(iter(principal.scope_regions), "3601")[:4].ljust(4, "0")


def _date(raw: str | None, name: str) -> dt.date | None:
    raw = (raw or "").strip()
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        raise FormError(name, f"“{raw[:20]}”不是日期（如 2026-07-01）") from None


def _count(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    raw = (raw or "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise FormError(name, f"应为 {low}–{high} 之间的整数")
    return int(raw)


def _filter(status: str | None, kind: str | None, q: str | None, since: str | None, until: str | None,
            limit: str | None, offset: str | None) -> views.IncidentFilter:
    status = status or "open"
    if status not in STATUS_CHOICES:
        raise FormError("status", "应为 处置中、已关闭 或 全部")
    if kind and kind not in order_views.KIND_ZH:
        raise FormError("kind", "没有这种事件类型")
    start, end = _date(since, "since"), _date(until, "until")
    if start and end and end < start:
        raise FormError("until", "结束日期不能早于开始日期")
    return views.IncidentFilter(status=None if status == "all" else status, kind=kind or None,
                                q=(q or "").strip()[:100], since=start, until=end,
                                limit=_count(limit, "limit", PAGE_SIZE, 1, MAX_PAGE_SIZE),
                                offset=_count(offset, "offset", 0, 0, MAX_OFFSET))


def _query(f: views.IncidentFilter, offset: int) -> str:
    params = {"status": f.status or "all", "kind": f.kind or "", "q": f.q,
              "since": f.since.isoformat() if f.since else "", "until": f.until.isoformat() if f.until else "",
              "limit": str(f.limit) if f.limit != PAGE_SIZE else "", "offset": str(offset) if offset else ""}
    return urlencode({k: v for k, v in params.items() if v})


def _level_choices(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The response levels the form offers, each with its arrival target ("县级（6 小时内到达）")."""
    settings: Settings = request.app.state.settings
    return {level: f"{zh}（{settings.response_target_hours[level]:g} 小时内到达）" for level, zh in LEVEL_ZH.items()}


async def _render_list(request: Request[Any, Any, Any], db: Database, principal: Principal,
                       f: views.IncidentFilter, *, done: str | None = None,
                       error: str | None = None, error_field: str | None = None, status: int = 200,
                       form: dict[str, str] | None = None) -> Template:
    may_write = allowed(WRITE, principal.role)
    async with db.heavy_read() as session:
        rows, total = await views.incident_rows(session, f)
        regions = await views.region_choices(session, _city(principal)) if may_write else []
    more = f.offset + len(rows) < total
    return Template("incidents.html", status_code=status, context=page_context(
        principal, rows=rows, total=total, filter=f, status_value=f.status or "all",
        next_url=f"{PATH}?{_query(f, f.offset + f.limit)}" if more else None,
        prev_url=f"{PATH}?{_query(f, max(0, f.offset - f.limit))}" if f.offset else None,
        status_choices=STATUS_CHOICES, kind_zh=order_views.KIND_ZH, crs_choices=CRS_CHOICES, regions=regions,
        level_choices=_level_choices(request),
        may_write=may_write, form=form or {"crs": "wgs84"}, key=uuid.uuid4().hex, done=done, error=error,
        error_field=error_field))


@get(PATH, opt=PAGE, include_in_schema=False)
async def incidents_page(request: Request[Any, Any, Any], db: Database, status: str | None = None,
                         kind: str | None = None, q: str | None = None, since: str | None = None,
                         until: str | None = None, limit: str | None = None, offset: str | None = None,
                         done: str | None = None) -> Template | Redirect:
    """Incidents, newest first, by status, type, name and date opened; the form to open one for those who may."""
    principal = await page_principal(request, db)
    if principal is None:
        return login_redirect(PATH)
    try:
        f = _filter(status, kind, q, since, until, limit, offset)
    except FormError as exc:
        return await _render_list(request, db, principal, views.IncidentFilter(), error=f"筛选条件有误：{exc.detail}",
                                  error_field=exc.field, status=422)
    return await _render_list(request, db, principal, f, done=DONE_ZH.get(done or ""))


def _number(raw: str, name: str) -> float:
    try:
        value = float(raw.replace("，", ",").replace("°", ""))
    except ValueError:
        raise FormError(name, f"“{raw[:20]}”不是数字（如 28.55）") from None
    if not math.isfinite(value):
        raise FormError(name, "必须是有限数值")
    return value


def _point(posted: Posted, region_code: str) -> tuple[float, float, str]:
    """(lat, lon, crs) typed in — a pair pasted into 纬度 ("115.94,28.55" from a map picker) is split —
    or, with no coordinates, the centre of the region (GCJ-02)."""
    lat_raw, lon_raw = posted.get("lat"), posted.get("lon")
    crs = posted.get("crs") or "wgs84"
    if crs not in CRS_CHOICES:
        raise FormError("crs", "请选择坐标系")
    pair = lat_raw.replace("，", ",").split(",")
    if len(pair) == 2 and not lon_raw:
        a, b = _number(pair[0].strip(), "lat"), _number(pair[1].strip(), "lat")
        return (b, a, crs) if a > 60 > b else (a, b, crs)  # map pickers give longitude first
    if lat_raw and lon_raw:
        return _number(lat_raw, "lat"), _number(lon_raw, "lon"), crs
    if lat_raw or lon_raw:
        raise FormError("lon" if lat_raw else "lat", "纬度和经度须一起填写（或都不填，取行政区划中心）")
    centre = views.region_centre(region_code)
    if centre is None:
        raise FormError("lat", "此行政区划没有中心点坐标，请填写纬度、经度")
    return centre[0], centre[1], "gcj02"


_SHAPE_ZH = {"name": "必填，至多 100 个字", "kind": "请选择事件类型", "region_code": "应为 2–12 位数字的行政区划代码",
             "lat": "应为数字", "lon": "应为数字", "crs": "请选择坐标系", "level": "请选择响应级别（县级、市级或省级）"}


def _incident_create(posted: Posted) -> IncidentCreate:
    region_code = posted.get("region_other") or posted.get("region_code")
    if not region_code:
        raise FormError("region_code", "请选择乡镇（街道）或县（区），或填写行政区划代码")
    lat, lon, crs = _point(posted, region_code)
    data = {"name": posted.get("name"), "kind": posted.get("kind"), "region_code": region_code, "lat": lat,
            "lon": lon, "crs": crs, "level": posted.get("level") or "county"}
    try:
        return msgspec.convert(data, IncidentCreate)
    except msgspec.ValidationError as exc:
        name = str(exc).rsplit("$.", 1)[-1].strip("`' ") if "$." in str(exc) else "name"
        raise FormError(name, _SHAPE_ZH.get(name, "不合要求")) from None


@post(PATH, opt=PAGE, include_in_schema=False, status_code=303)
async def create_from_page(request: Request[Any, Any, Any], db: Database) -> Response[Any]:
    """Open an incident from the form, once per form whatever the number of taps; then its page."""
    principal = await page_principal(request, db)
    if principal is None:
        return login_redirect(PATH)
    posted = await read_form(request)
    form = {k: v for k, v in posted.fields.items() if not k.startswith("_")}
    if not allowed(WRITE, principal.role):
        return await _render_list(request, db, principal, views.IncidentFilter(), status=403,
                                  error="您没有登记事件的权限（只有指挥人员和管理员可以登记、关闭事件）")
    earlier = await stored_answer(db, principal, request.url.path, posted)
    if earlier is not None:  # a double tap or a resend
        return Redirect(f"{PATH}/{earlier.get('id', '')}?done=created", status_code=303)
    try:
        data = _incident_create(posted)

        async def work(session: AsyncSession) -> IncidentRead:
            incident = await incident_service.create_incident(session, data, actor=principal.username)
            return incident_service.incident_read(incident)

        answer = await submit(request, db, principal, posted, work)
    except InventoryError as exc:
        return await _render_list(request, db, principal, views.IncidentFilter(), form=form, error=error_text(exc),
                                  error_field=exc.field, status=status_of(exc))
    return Redirect(f"{PATH}/{answer['id']}?done=created", status_code=303)


async def _render_incident(db: Database, principal: Principal, incident_id: int, *, done: str | None = None,
                           error: str | None = None, status: int = 200) -> Template:
    if not 1 <= incident_id <= MAX_ID:
        return missing(principal, f"事件编号 {incident_id} 不存在")
    try:
        async with db.read() as session:
            view = await views.incident_view(session, incident_id)
    except InventoryError as exc:
        return missing(principal, error_text(exc))
    i = view.row.incident
    return Template("incident.html", status_code=status, context=page_context(
        principal, view=view, incident=i, may_write=allowed(WRITE, principal.role) and i.status == "open",
        nearby=f"/availability?{urlencode({'lat': f'{i.lat:.6f}', 'lon': f'{i.lon:.6f}', 'incident': i.id})}",
        crs_choices=CRS_CHOICES, level_zh=LEVEL_ZH, key=uuid.uuid4().hex, done=done, error=error))


@get(f"{PATH}/{{incident_id:int}}", opt=PAGE, include_in_schema=False)
async def incident_page(request: Request[Any, Any, Any], db: Database, incident_id: int,
                        done: str | None = None) -> Template | Redirect:
    """One incident: where, its orders with their lines and paperwork, 就近查找, and closing it."""
    principal = await page_principal(request, db)
    if principal is None:
        return login_redirect(f"{PATH}/{incident_id}")
    return await _render_incident(db, principal, incident_id, done=DONE_ZH.get(done or ""))


@post(f"{PATH}/{{incident_id:int}}/close", opt=PAGE, include_in_schema=False, status_code=303)
async def close_from_page(request: Request[Any, Any, Any], db: Database, incident_id: int) -> Response[Any]:
    """Close the incident (after ticking 确认), once per form."""
    here = f"{PATH}/{incident_id}"

    async def refuse(principal: Principal) -> Template:
        return await _render_incident(db, principal, incident_id, status=403,
                                      error="您没有关闭事件的权限（只有指挥人员和管理员可以登记、关闭事件）")

    ready = await posted_step(request, db, here=here, thing_id=incident_id, not_found=f"事件编号 {incident_id} 不存在",
                              permission=WRITE, done="closed", refuse=refuse)
    if not isinstance(ready, tuple):
        return ready
    principal, posted = ready
    try:
        if posted.get("confirm") != "yes":
            raise FormError("confirm", "请勾选“确认关闭此事件”")

        async def work(session: AsyncSession) -> IncidentRead:
            return incident_service.incident_read(await incident_service.close_incident(session, incident_id))

        await submit(request, db, principal, posted, work)
    except InventoryError as exc:
        return await _render_incident(db, principal, incident_id, error=error_text(exc), status=status_of(exc))
    return Redirect(f"{here}?done=closed", status_code=303)


HANDLERS = [incidents_page, create_from_page, incident_page, close_from_page, *dispatches.HANDLERS]
