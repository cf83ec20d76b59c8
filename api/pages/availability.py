"""The availability page ``/availability`` (就近调配): the nearest available stock for a place, as a table and on a
map, and reserving it into a dispatch order for an open incident.

The question is a GET form, so an answer is a link and works without script: the place as typed coordinates
with their CRS (GPS/WGS-84, 高德/腾讯/微信 GCJ-02, 百度 BD-09), a township of the user's prefecture (its county's
centre: township centres are not published), or a click on the map (``/static/availability.js`` fills the
coordinates); what is needed by item type, category, tag and attribute comparisons chosen from lists built
from the catalogue; the quantity. ``?lat=&lon=`` alone (the map page's 从这里查就近 links) fills the place.
The answer is :func:`inventory.availability.service.nearest_available`, read as the API reads it, so the page
and ``/api/v1/availability/nearest`` list the same sources in the same order.

Own stock first (逐级): the signed-in user's own sources (his unit's, in his scope) are listed first, the other
units' after them (其他单位的物资（需申请调用）) with the owning unit and its level, and a link that fills in
the request form (``/requests/new``, :mod:`api.pages.requests`) for those who may send requests.
Beside each of his own sources, a user who may order dispatches (``dispatch.order``) reserves from it into a
new dispatch order for an open incident: ``POST /availability/reserve`` with the CSRF token and an idempotency key made
when the page was rendered, so a double tap or a resend creates one order; then 303 to ``/dispatches/{id}``.
Errors are shown on the page in Chinese naming the field (422/403/409), never a server error.
"""

from __future__ import annotations

import asyncio
import functools
import math
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qs, urlencode

import msgspec
from litestar import Request, Response, get, post
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from api.pages.common import PAGE, login_redirect, page_context, page_principal
from api.pages.svgmap import KIND_NAMES, Marker, render_map
from api.writes import write_once
from inventory.access.permissions import ROLE_ZH, allowed
from inventory.access.scope import Principal
from inventory.availability import service as availability
from inventory.availability.choices import CatalogueChoices, Township, catalogue_choices, townships
from inventory.availability.eta import EtaConfig
from inventory.availability.schemas import NearestAvailability
from inventory.errors import Conflict, InvalidInput, InventoryError, PermissionDenied
from inventory.places.boundaries import boundary_at
from inventory.places.geo import haversine_km, to_wgs84, validate_point
from inventory.response import dispatch, incidents
from inventory.response.schemas import DispatchCreate, DispatchRead, IncidentRead
from inventory.scan.resolve import LOCATION_KIND_ZH
from inventory.schemas import MAX_ID, Crs
from inventory.store import idempotency
from inventory.store.db import Database

PATH: Final = "/availability"
RESERVE_PATH: Final = "/availability/reserve"
DEFAULT_PREFECTURE: Final = "3601"
"""Townships listed for a user whose scope names no prefecture (the home page's default too)."""
CRS_CHOICES: Final = (("wgs84", "GPS / 北斗 / 天地图（WGS-84）"), ("gcj02", "高德 / 腾讯 / 微信（GCJ-02）"),
                      ("bd09", "百度（BD-09）"))
OPS: Final = ((">=", "≥ 不小于"), ("<=", "≤ 不大于"), ("=", "= 等于"), ("!=", "≠ 不等于"), (">", "> 大于"),
              ("<", "< 小于"))
LIMITS: Final = (10, 20, 50)
MAX_ATTR_ROWS: Final = 4
MAX_INCIDENTS: Final = 50
"""Open incidents offered in a reserve form at most (nearest to the place first)."""
APPROVAL_ZH: Final = {"oral": "口头批准（48 小时内补办书面手续）", "written": "书面批准（填写批准文号）"}
KIND_COLOUR: Final = {"depot": "#1d4ed8", "reserve_point": "#0f8a4f", "vendor": "#c26a00"}
SOURCE_COLOUR: Final = "#6b7280"
ORIGIN_COLOUR: Final = "#b3261e"
FIELD_ZH: Final = {
    "by": "地点方式", "lat": "纬度", "lon": "经度", "crs": "坐标系", "township": "乡镇（街道）",
    "item_type": "物资品目", "category": "物资类别", "tag": "能力标签", "attr": "属性条件", "quantity": "需求数量",
    "limit": "最多列出", "agreement": "协议储备", "incident_id": "事件", "site_id": "来源地点",
    "item_type_id": "物资品目", "agreement_id": "协议储备", "approval_mode": "批准方式", "approved_by": "批准人",
    "document_no": "批准文号",
}
_PHONE_CHARS = re.compile(r"[^0-9+]")


@dataclass
class FieldError:
    """A problem with one field of the form, in Chinese, naming it."""

    field: str
    message: str


@dataclass
class Question:
    """The GET form as sent: every value kept as text, so whatever was typed is shown again with its error."""

    by: str = ""
    lat: str = ""
    lon: str = ""
    crs: str = "wgs84"
    township: str = ""
    item_type: str = ""
    category: str = ""
    tag: str = ""
    attrs: list[tuple[str, str, str]] = field(default_factory=list)
    quantity: str = "1"
    limit: str = str(LIMITS[0])
    agreement: str = "1"
    incident: str = ""
    """The incident to reserve for, preselected in the reserve forms (the incident page's 就近调配 link)."""

    @classmethod
    def parse(cls, query: str) -> Question:
        """The question of a query string (unknown parameters are ignored; missing ones take their defaults)."""
        q = parse_qs(query, keep_blank_values=True)

        def one(name: str, default: str = "") -> str:
            return (q.get(name) or [default])[0].strip()[:200]

        names, ops, values = q.get("an", []), q.get("ao", []), q.get("av", [])
        ops += [">="] * (len(names) - len(ops))
        values += [""] * (len(names) - len(values))
        attrs = [(n.strip()[:40], o.strip()[:2], v.strip()[:100])
                 for n, o, v in zip(names[:MAX_ATTR_ROWS], ops, values, strict=False)]
        return cls(by=one("by"), lat=one("lat"), lon=one("lon"), crs=one("crs", "wgs84") or "wgs84",
                   township=one("township"), item_type=one("item_type"), category=one("category"), tag=one("tag"),
                   attrs=[a for a in attrs if a[0] or a[2]], quantity=one("quantity", "1") or "1",
                   limit=one("limit", str(LIMITS[0])) or str(LIMITS[0]), agreement=one("agreement", "1") or "1",
                   incident=one("incident")[:12])

    @property
    def uses_township(self) -> bool:
        """Whether the place is the township (chosen, or the only place given)."""
        return self.by == "township" or (self.by != "point" and bool(self.township) and not (self.lat or self.lon))

    @property
    def place_given(self) -> bool:
        return bool(self.township) if self.uses_township else bool(self.lat or self.lon)

    @property
    def need_given(self) -> bool:
        return bool(self.item_type or self.category or self.tag or self.attrs)

    def query_string(self) -> str:
        """The question as a query string (for links, and for showing it again after a reserve form)."""
        pairs = [("by", "township" if self.uses_township else "point"), ("lat", self.lat), ("lon", self.lon),
                 ("crs", self.crs), ("township", self.township), ("item_type", self.item_type),
                 ("category", self.category), ("tag", self.tag)]
        for name, op, value in self.attrs:
            pairs += [("an", name), ("ao", op), ("av", value)]
        pairs += [("quantity", self.quantity), ("limit", self.limit), ("agreement", self.agreement),
                  ("incident", self.incident)]
        return urlencode([(k, v) for k, v in pairs if v])


@dataclass
class Place:
    """Where the question is asked from, as the service takes it, and how to describe it."""

    lat: float
    lon: float
    crs: Crs
    label: str
    note: str = ""


@dataclass
class SourceRow:
    """One line of the answer table (and the reserve form beside it)."""

    n: int
    site_id: int
    item_type_id: int
    name: str
    code: str
    kind: str
    kind_zh: str
    item_name: str
    unit: str
    distance_km: float
    eta_minutes: float
    available: int
    cumulative: int
    contact_name: str
    contact_phone: str
    tel: str
    covers: int
    lat: float
    lon: float
    key: str
    agreement_id: int | None = None
    """Set when the source is an agreement's line (协议储备): reserving it calls the goods off the agreement."""
    agreement_number: str = ""
    agreement_name: str = ""
    response_hours: float | None = None
    own: bool = True
    """The user's own unit's stock (he may reserve it); else another unit's (he requests it)."""
    owner_code: str = ""
    owner_name: str = ""
    owner_level: str = ""


@dataclass
class Answer:
    """The service's answer, shaped for the page."""

    result: NearestAvailability
    place: Place
    rows: list[SourceRow]
    missing: str
    unit: str
    own_list: list[SourceRow] | None = None
    """The user's own sources by ETA until the quantity (``own_only``), when asked for apart: his own may lie
    beyond the nearest sources of everyone."""

    @property
    def own_rows(self) -> list[SourceRow]:
        """The user's own sources (listed first)."""
        return self.own_list if self.own_list is not None else [r for r in self.rows if r.own]

    @property
    def other_rows(self) -> list[SourceRow]:
        """The other units' sources (需申请调用)."""
        return [r for r in self.rows if not r.own]

    @property
    def all_rows(self) -> list[SourceRow]:
        """Every source shown: the nearest of everyone's, then the user's own beyond them."""
        listed = {r.n for r in self.rows}
        return self.rows + [r for r in self.own_rows if r.n not in listed]

    @property
    def own_available(self) -> int:
        return sum(r.available for r in self.own_rows)


def request_region(owner_code: str) -> str:
    """The unit a request for another unit's source goes to: the owner's county (the first 6 digits of its code),
    or the owner itself when it is a city or province (逐级申请: the level above a township is its county)."""
    return owner_code[:6]


def _float(text: str, name: str, errors: list[FieldError]) -> float | None:
    if not text:
        example = "28.55" if name == "lat" else "115.94"
        errors.append(FieldError(name, f"{FIELD_ZH[name]} {name}：请填写（如 {example}）"))
        return None
    try:
        value = float(text.replace("°", "").strip())
    except ValueError:
        errors.append(FieldError(name, f"{FIELD_ZH[name]} {name}：“{text[:20]}”不是数字"))
        return None
    if not math.isfinite(value):
        errors.append(FieldError(name, f"{FIELD_ZH[name]} {name}：“{text[:20]}”不是有限的数"))
        return None
    return value


def _int(text: str, name: str, errors: list[FieldError]) -> int | None:
    try:
        return int(text)
    except ValueError:
        errors.append(FieldError(name, f"{FIELD_ZH[name]} {name}：“{text[:20]}”不是整数"))
        return None


def resolve_place(question: Question, towns: Sequence[Township], errors: list[FieldError]) -> Place | None:
    """The point of the question (typed coordinates, or a township's county centre); problems go to ``errors``."""
    if question.uses_township:
        town = next((t for t in towns if t.code == question.township), None)
        if town is None:
            got = f"（收到“{question.township[:20]}”）" if question.township else ""
            errors.append(FieldError("township", f"乡镇（街道）township：请从列表中选择{got}"))
            return None
        whose = "县（区）" if town.centre_of == town.county_name else "设区市"
        note = f"乡镇没有公布的中心坐标，按所在{whose}{town.centre_of}的中心计算距离。"
        return Place(town.lat, town.lon, "wgs84", f"{town.name}（{town.county_name}）", note)
    if question.crs not in {c for c, _ in CRS_CHOICES}:
        errors.append(FieldError("crs", f"坐标系 crs：“{question.crs[:20]}”不受支持，请从列表中选择"))
        return None
    lat = _float(question.lat, "lat", errors)
    lon = _float(question.lon, "lon", errors)
    if lat is None or lon is None:
        return None
    crs: Crs = question.crs  # type: ignore[assignment]
    return Place(lat, lon, crs, f"纬度 {lat:g}，经度 {lon:g}（{dict(CRS_CHOICES)[crs]}）")


def attr_filters(question: Question, errors: list[FieldError]) -> list[str]:
    """The attribute comparisons as the service takes them (``flow_m3h>=300``)."""
    texts = []
    ops = {op for op, _ in OPS}
    for name, op, value in question.attrs:
        if not name:
            errors.append(FieldError("attr", f"属性条件 attr：比较值“{value[:20]}”前请选择属性"))
        elif op not in ops:
            errors.append(FieldError("attr", f"属性条件 attr：比较方式“{op}”不受支持，请从列表中选择"))
        elif not value:
            errors.append(FieldError("attr", f"属性条件 attr：请填写 {name} 的比较值"))
        else:
            texts.append(f"{name}{op}{value}")
    return texts


def _service_errors(exc: InvalidInput) -> list[FieldError]:
    listed = exc.extra.get("errors")
    if isinstance(listed, list) and listed:
        return [FieldError(str(e.get("field") or ""), str(e.get("message") or exc.detail)) for e in listed]
    return [FieldError(exc.field or "", exc.detail)]


async def ask(request: Request[Any, Any, Any], db: Database, question: Question, towns: Sequence[Township],
              principal: Principal) -> tuple[Answer | None, Place | None, list[FieldError]]:
    """Run the question through the service as the API does; (answer, place, errors)."""
    errors: list[FieldError] = []
    place = resolve_place(question, towns, errors) if question.place_given else None
    if not question.need_given:
        return None, place, errors
    if not question.place_given:
        errors.append(FieldError("lat", "地点：请填写坐标（纬度 lat、经度 lon）、选择乡镇（街道），或在地图上点选"))
    attrs = attr_filters(question, errors)
    quantity = _int(question.quantity, "quantity", errors)
    limit = _int(question.limit, "limit", errors)
    if errors or place is None or quantity is None or limit is None:
        return None, place, errors
    eta: EtaConfig = request.app.state.eta
    try:
        async with db.reader() as reader:
            asked = functools.partial(
                availability.nearest_available, reader, lat=place.lat, lon=place.lon, crs=place.crs,
                item_type=question.item_type or None, category=question.category or None, tag=question.tag or None,
                attrs=attrs, quantity=quantity, limit=limit, include_agreement=question.agreement != "0", eta=eta,
                principal=principal)
            result = await asked()
            # His own, apart: they may lie beyond everyone's nearest (an admin's own are everyone's).
            own = await asked(own_only=True) if principal.role != "admin" else None
    except InvalidInput as exc:
        return None, place, _service_errors(exc)
    may_reserve = allowed("dispatch.order", principal.role)
    answer = _answer(result, place, may_reserve)
    if own is not None:
        numbered = {(r.site_id, r.item_type_id, r.agreement_id): r.n for r in answer.rows}
        beyond = len(answer.rows)
        own_rows = _answer(own, place, may_reserve).rows
        for r in own_rows:
            key = (r.site_id, r.item_type_id, r.agreement_id)
            if key in numbered:
                r.n = numbered[key]
            else:
                beyond += 1
                r.n = beyond
        answer.own_list = own_rows
    return answer, place, []


def _answer(result: NearestAvailability, place: Place, may_reserve: bool) -> Answer:
    """The answer shaped for the page; a key for the reserve form of each of the user's own sources."""
    rows = []
    for n, s in enumerate(result.sources, start=1):
        covers = s.available - max(0, s.cumulative - result.quantity)
        a = s.agreement
        own = s.own is not False
        rows.append(SourceRow(
            n=n, site_id=s.location.id, item_type_id=s.item_type.id, name=s.location.name, code=s.location.code,
            kind=s.location.kind,
            kind_zh="协议储备" if a is not None else LOCATION_KIND_ZH.get(s.location.kind, s.location.kind),
            item_name=s.item_type.name, unit=s.item_type.unit, distance_km=s.distance_km, eta_minutes=s.eta_minutes,
            available=s.available, cumulative=s.cumulative, contact_name=s.location.contact_name,
            contact_phone=s.location.contact_phone, tel=_PHONE_CHARS.sub("", s.location.contact_phone),
            covers=max(1, covers), lat=s.location.lat, lon=s.location.lon,
            key=uuid.uuid4().hex if may_reserve and own else "", agreement_id=a.id if a else None,
            agreement_number=a.number if a else "", agreement_name=a.name if a else "",
            response_hours=a.response_hours if a else None, own=own,
            owner_code=s.owner.region_code if s.owner else "", owner_name=s.owner.region_name if s.owner else "",
            owner_level=s.owner.level_name if s.owner else ""))
    units = {t.unit for t in (result.item_types if not rows else [s.item_type for s in result.sources])}
    unit = units.pop() if len(units) == 1 else ""
    missing = ""
    if not result.fulfilled:
        missing = f"还差 {result.shortfall} {unit}" if unit else f"还差 {result.shortfall}（按各品目自身的单位合计）"
    return Answer(result=result, place=place, rows=rows, missing=missing, unit=unit)


def prefecture_of(principal: Principal) -> str:
    """The prefecture whose townships are listed: the first of the user's scope regions naming one, else the
    default."""
    return next((r[:4] for r in principal.scope_regions if len(r) >= 4), DEFAULT_PREFECTURE)


async def draw_map(answer: Answer | None, place: Place | None, prefecture: str) -> str:
    """The map (in a worker thread): the place and the sources, framed on the place's prefecture."""
    markers: list[Marker] = []
    region = prefecture
    origin: tuple[float, float] | None = None
    if answer is not None:
        origin = (answer.result.origin.lat, answer.result.origin.lon)
    elif place is not None:
        try:
            validate_point(place.lat, place.lon, region_code=None, check_swapped=True)
            origin = to_wgs84(place.lat, place.lon, place.crs)
        except InvalidInput:
            origin = None  # the page says what is wrong with it
    if origin is not None:
        county = boundary_at(origin[1], origin[0])
        region = county.adcode[:4] if county is not None else "36"
        label = place.label if place is not None else "查询点"
        markers.append(Marker(lat=origin[0], lon=origin[1], kind="origin", colour=ORIGIN_COLOUR,
                              label=f"查询点：{label}"))
    if answer is not None:
        sites: dict[int, list[SourceRow]] = {}
        for row in answer.all_rows:
            sites.setdefault(row.site_id, []).append(row)
        for rows in sites.values():
            first = rows[0]
            detail = "；".join(f"{r.item_name} 可用 {r.available}{r.unit}，约 {r.eta_minutes:.0f} 分钟" for r in rows)
            kind = first.kind if first.kind in KIND_NAMES else "source"
            markers.append(Marker(lat=first.lat, lon=first.lon, kind=kind,
                                  colour=KIND_COLOUR.get(first.kind, SOURCE_COLOUR),
                                  label=f"{first.n}. {first.name}（{first.kind_zh}）", href=f"#src-{first.n}",
                                  detail=detail))
    title = "就近可用物资：查询点与来源" if answer is not None else "点击地图选取查询地点"
    return await asyncio.to_thread(functools.partial(
        render_map, markers=markers, region=region, title=title, fit_markers=True, element_id="avail-map"))


@dataclass
class IncidentChoice:
    """An open incident offered in a reserve form, with its distance from the place asked about."""

    id: int
    name: str
    km: float | None

    @property
    def label(self) -> str:
        return f"#{self.id} {self.name}" + (f"（距查询点 {self.km:.1f} 公里）" if self.km is not None else "")


def _incident_choices(open_incidents: Sequence[IncidentRead], answer: Answer | None) -> list[IncidentChoice]:
    """The open incidents, nearest to the place asked about first (newest first without one)."""
    origin = (answer.result.origin.lat, answer.result.origin.lon) if answer is not None else None
    listed = [IncidentChoice(i.id, i.name, haversine_km(*origin, i.lat, i.lon) if origin else None)
              for i in open_incidents]
    listed.sort(key=lambda c: (c.km is None, c.km or 0.0, -c.id))
    return listed


async def render(request: Request[Any, Any, Any], db: Database, principal: Principal, question: Question, *,
                 error: str | None = None, status: int | None = None,
                 reserve_values: dict[str, str] | None = None) -> Template:
    """The page for a question: the form, and the answer with its map when one was asked."""
    prefecture = prefecture_of(principal)
    async with db.read() as session:
        choices = await catalogue_choices(session)
        towns = await townships(session, prefecture)
        open_incidents = await _open_incidents(session) if allowed("dispatch.order", principal.role) else []
    answer, place, errors = await ask(request, db, question, towns, principal)
    svg = await draw_map(answer, place, prefecture)
    may_reserve = allowed("dispatch.order", principal.role)
    incident_choices = _incident_choices(open_incidents, answer)
    return Template("availability.html", status_code=status or (422 if errors else 200), context=page_context(
        principal, q=question, choices=choices, towns=_by_county(towns), answer=answer, place=place,
        errors=errors, error_fields={e.field for e in errors}, error=error, svg=svg, crs_choices=CRS_CHOICES,
        ops=OPS, limits=LIMITS, attr_rows=_attr_rows(question), string_values=_string_values(choices),
        may_reserve=may_reserve, incidents=incident_choices, may_request=allowed("requests.write", principal.role),
        request_url=functools.partial(_request_url, question, incident_choices),
        approval_zh=APPROVAL_ZH, back=question.query_string(),
        reserve_values=reserve_values or {"incident_id": question.incident}))


def _request_url(question: Question, incidents: Sequence[IncidentChoice], answer: Answer, row: SourceRow) -> str:
    """The request form filled in for another unit's source: the incident (asked about, else the nearest open
    one), the item type, what is still missing after the user's own sources (at most what the source has) and
    the unit to ask."""
    incident = question.incident or (str(incidents[0].id) if incidents else "")
    wanted = answer.result.quantity - answer.own_available
    quantity = min(row.available, wanted) if wanted > 0 else row.covers
    query = {"incident": incident, "item_type": str(row.item_type_id), "quantity": str(max(1, quantity)),
             "to_region": request_region(row.owner_code)}
    return "/requests/new?" + urlencode({k: v for k, v in query.items() if v})


async def _open_incidents(session: AsyncSession) -> list[IncidentRead]:
    return (await incidents.list_incidents(session, status="open", limit=MAX_INCIDENTS, offset=0)).items


def _by_county(towns: Sequence[Township]) -> list[tuple[str, list[Township]]]:
    groups: dict[str, list[Township]] = {}
    for t in towns:
        groups.setdefault(t.county_name, []).append(t)
    return list(groups.items())


def _attr_rows(question: Question) -> list[tuple[str, str, str]]:
    rows = list(question.attrs[:MAX_ATTR_ROWS])
    while len(rows) < min(MAX_ATTR_ROWS, max(2, len(question.attrs) + 1)):
        rows.append(("", ">=", ""))
    return rows


def _string_values(choices: CatalogueChoices) -> list[str]:
    return sorted({v for a in choices.attributes if not a.numeric for v in a.values})


@get(PATH, opt=PAGE, include_in_schema=False)
async def availability_page(request: Request[Any, Any, Any], db: Database) -> Template | Redirect:
    """The question form; with a place and a need, the nearest available sources as a table and on the map."""
    principal = await page_principal(request, db)
    if principal is None:
        query = request.url.query
        return login_redirect(f"{PATH}?{query}" if query else PATH)
    return await render(request, db, principal, Question.parse(request.url.query))


# --------------------------------------------------------------------------- reserve


def _form_int(form: dict[str, list[str]], name: str, errors: list[FieldError], *, maximum: int = MAX_ID) -> int:
    raw = (form.get(name) or [""])[0].strip()
    if not raw:
        errors.append(FieldError(name, f"{FIELD_ZH[name]}：请选择或填写"))
        return 0
    try:
        value = int(raw)
    except ValueError:
        errors.append(FieldError(name, f"{FIELD_ZH[name]}：“{raw[:20]}”不是整数"))
        return 0
    if not 1 <= value <= maximum:
        errors.append(FieldError(name, f"{FIELD_ZH[name]}：应在 1 到 {maximum} 之间，收到 {value}"))
        return 0
    return value


def _dispatch_body(form: dict[str, list[str]], principal: Principal,
                   errors: list[FieldError]) -> tuple[int, DispatchCreate | None]:
    """(incident id, the order of one line from the chosen source) of a reserve form; problems go to ``errors``."""
    text = {k: (v or [""])[0].strip() for k, v in form.items()}
    incident_id = _form_int(form, "incident_id", errors)
    site_id = _form_int(form, "site_id", errors)
    item_type_id = _form_int(form, "item_type_id", errors)
    quantity = _form_int(form, "quantity", errors, maximum=1_000_000)
    agreement_id = _form_int(form, "agreement_id", errors) if text.get("agreement_id") else None
    mode = text.get("approval_mode", "oral")
    if mode not in APPROVAL_ZH:
        errors.append(FieldError("approval_mode", "批准方式：请从列表中选择"))
    approved_by = text.get("approved_by", "") or principal.display_name or principal.username
    document_no = text.get("document_no", "") or None
    if mode == "written" and not document_no:
        errors.append(FieldError("document_no", "批准文号：书面批准须填写批准文号"))
    if document_no and len(document_no) > 64:
        errors.append(FieldError("document_no", "批准文号：最多 64 个字符"))
    if errors:
        return incident_id, None
    try:
        body = msgspec.convert({
            "lines": [{"item_type": str(item_type_id), "quantity": quantity, "from_location_id": site_id,
                       "agreement_id": agreement_id}],
            "approval": {"mode": mode, "approved_by": approved_by[:64], "document_no": document_no},
        }, DispatchCreate)
    except msgspec.ValidationError as exc:  # every field is checked above: a safety net
        errors.append(FieldError("form", f"表单内容不合要求（{exc}）"))
        return incident_id, None
    return incident_id, body


def _dispatch_id(body: bytes) -> int:
    return int(msgspec.json.decode(body, type=dict[str, Any])["id"])


@post(RESERVE_PATH, opt=PAGE, include_in_schema=False, status_code=303)
async def reserve(request: Request[Any, Any, Any], db: Database) -> Response[Any]:
    """Reserve from one source into a new dispatch order for an open incident, once per form; then its page."""
    principal = await page_principal(request, db)
    if principal is None:
        return login_redirect(PATH)
    body = await request.body()
    form = parse_qs(body.decode(errors="replace"), keep_blank_values=True)
    question = Question.parse((form.get("back") or [""])[0])
    if not allowed("dispatch.order", principal.role):
        role = ROLE_ZH.get(principal.role, principal.role)
        return await render(request, db, principal, question, status=403,
                            error=f"{role}不能下达动用指令（需要指挥人员或管理员），未做任何更改。")
    key = (form.get("idempotency_key") or [""])[0].strip() or None
    if key is not None and (len(key) > idempotency.MAX_KEY_LENGTH or not key.isprintable()):
        key = None
    if key:
        fingerprint = idempotency.request_fingerprint("POST", request.url.path, body)
        try:
            async with db.read() as session:
                previous = await idempotency.find_response(session, principal.username, key, fingerprint)
        except Conflict:
            previous = None
        if previous is not None:  # a double tap or a resend: the order made the first time
            return Redirect(f"/dispatches/{_dispatch_id(previous.response_body)}", status_code=303)
    errors: list[FieldError] = []
    incident_id, data = _dispatch_body(form, principal, errors)
    values = {k: (v or [""])[0] for k, v in form.items() if k in ("incident_id", "site_id", "item_type_id",
                                                                     "agreement_id", "quantity", "approval_mode",
                                                                     "approved_by", "document_no")}
    if data is None:
        return await render(request, db, principal, question, status=422, reserve_values=values,
                            error="预留未完成，未做任何更改：" + "；".join(e.message for e in errors))
    eta: EtaConfig = request.app.state.eta

    async def work(session: AsyncSession) -> DispatchRead:
        d = await dispatch.create_dispatch(session, incident_id, data, actor=principal.username, eta=eta,
                                           principal=principal)
        return await dispatch.dispatch_read(session, d)

    try:
        written = await write_once(request, db, principal, work, key=key, fingerprint_body=body)
    except InventoryError as exc:
        status = 403 if isinstance(exc, PermissionDenied) else 409 if isinstance(exc, Conflict) else 422
        return await render(request, db, principal, question, status=status, reserve_values=values,
                            error=f"预留未完成，未做任何更改：{exc.detail}")
    dispatch_id = written.result.id if written.result is not None else _dispatch_id(written.body)
    return Redirect(f"/dispatches/{dispatch_id}", status_code=303)


HANDLERS = [availability_page, reserve]
