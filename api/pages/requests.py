"""The commander's pages of requests between units (物资调用申请): the two lists (待我答复 / 本单位发出), the form
that sends a request, and one request with its lines, answers and the forms that accept or decline it.

Every signed-in role reads them. Sending needs ``requests.write``; answering needs ``requests.answer`` and a
scope covering the unit asked (both checked again by the service on POST). Each form carries its CSRF token
and an idempotency key made when the page was rendered: a double tap or a resend is carried out once and
sent where the first went. Refusals (422, 409 with the shortfall, 403) are shown on the page, naming the
field, with nothing changed. The availability page (``/availability``) links to the form with ``incident``,
``item_type``, ``quantity`` and ``to_region`` filled in.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qs, urlencode

import msgspec
from litestar import Request, Response, get, post
from litestar.response import Redirect, Template
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.page_text import for_people
from api.pages.common import PAGE, login_redirect, missing, page_context, page_principal
from api.pages.response_forms import Posted, posted_step, read_form, status_of, stored_answer, submit
from inventory.access.permissions import ROLE_ZH, allowed
from inventory.access.scope import Principal, covers_region
from inventory.availability import service as availability
from inventory.availability.choices import Choice, ItemTypeChoice, catalogue_choices
from inventory.availability.eta import EtaConfig
from inventory.catalog.rules import CATEGORY_LABELS_ZH
from inventory.clock import BEIJING
from inventory.config import Settings
from inventory.errors import InvalidInput, InventoryError
from inventory.response import incidents as incident_service
from inventory.response.order_views import DISPATCH_STATUS_ZH
from inventory.response.schemas import IncidentRead
from inventory.schemas import MAX_ID
from inventory.store.db import Database
from inventory.store.models import Incident, Region
from inventory.supply_requests import service as requests
from inventory.supply_requests.schemas import (
    TRANSPORT_ZH,
    Box,
    RequestAccept,
    RequestCreate,
    RequestDecline,
    RequestLineRead,
    RequestRead,
)

PATH: Final = "/requests"
PAGE_SIZE, MAX_OFFSET = 20, 1_000_000
WRITE: Final = "requests.write"
ANSWER: Final = "requests.answer"
BOX_ZH: Final = {"incoming": "待我答复", "outgoing": "本单位发出"}
DONE_ZH: Final = {"created": "调用申请已发出，等待对方答复",
                  "accepted": "已同意：动用指令已下达，由出库地点的保管员办理出库",
                  "declined": "已拒绝，申请单位可在申请中看到理由"}
APPROVAL_ZH: Final = {"oral": "口头批准（48 小时内补办书面手续）", "written": "书面批准（填写批准文号）"}
ANSWER_APPROVAL_ZH: Final = {"written": "书面批准", "oral": "口头批准"}
DEFAULT_CITY: Final = "3601"
"""The city whose counties an admin (whose scope names no unit) may send requests for."""
LINE_ROWS: Final = 3
"""Line rows the form shows at least (the filled ones and one empty row more, up to MAX_LINES)."""
MAX_LINES: Final = 8
MAX_INCIDENTS: Final = 50
MAX_SOURCE_LINES: Final = 20
"""Open lines of a request for which the accept form lists the acceptor's own sites holding the item."""
SOURCES_LISTED: Final = 12
"""Own sites listed per line, nearest to the incident first (every one holding some: not only enough)."""
DEFAULT_LEAD: Final = dt.timedelta(hours=6)
"""The 时间要求 the form proposes: this long from now."""
FIELD_ZH: Final = {
    "incident_id": "事件", "to_region": "申请对象", "from_region": "申请单位", "purpose": "用途",
    "destination": "目的地", "needed_by": "时间要求", "transport": "运输方式", "contact_name": "联系人",
    "contact_phone": "联系电话", "lines": "申请物资", "item_type": "物资品目", "category": "物资类别",
    "attrs": "属性条件", "quantity": "数量", "reason": "拒绝理由", "approval_mode": "批准方式",
    "approved_by": "批准人", "document_no": "批准文号", "line_id": "申请行", "line_ids": "申请行",
    "from_location_id": "出库地点", "qty": "同意数量", "item": "以何种物资品目答复", "site": "出库地点",
    "agreement_id": "出库地点",
}
_ROW = re.compile(r"^第 (\d+) 行：")
_ACCEPT_FIELD = {"quantity": "qty", "line_id": "qty", "item_type": "item", "from_location_id": "site",
                 "agreement_id": "site"}


def _label(name: str) -> str | None:
    """The label of a field of these forms: ``lines.2.quantity`` → 数量, ``qty.7`` → 同意数量."""
    for part in reversed(name.split(".")):
        if part in FIELD_ZH:
            return FIELD_ZH[part]
    return None


def _bad(name: str, problem: str) -> InvalidInput:
    """A field of the form the page could not accept, named by its label (after the row: ``第 2 行：数量：…``)."""
    label = _label(name)
    row = _ROW.match(problem)
    rest = problem[row.end():] if row else problem
    text = f"{label}：{rest}" if label and label not in rest else rest
    return InvalidInput(f"{row.group(0)}{text}" if row else text, field=name)


def _said(exc: InventoryError) -> str:
    """A refusal as people read it: the row number kept, API words in Chinese, led by the field's label."""
    row = _ROW.match(exc.detail)
    text = for_people(exc.detail[row.end():] if row else exc.detail)
    label = _label(exc.field or "")
    if label and label not in text and not text.startswith(("第", label)):
        text = f"{label}：{text}"
    return f"{row.group(0)}{text}" if row else text


def _when(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone(BEIJING).strftime(fmt) if value is not None else ""


def _positive(raw: str, name: str, *, maximum: int = MAX_ID, required: bool = True, row: str = "") -> int | None:
    """A whole number from 1 to ``maximum`` typed or chosen in a field (None for a blank optional one)."""
    raw = raw.strip()
    if not raw:
        if required:
            raise _bad(name, f"{row}请选择或填写")
        return None
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= maximum:
        raise _bad(name, f"{row}应为 1 到 {maximum} 之间的整数（收到“{raw[:20]}”）")
    return int(raw)


# --------------------------------------------------------------------------- the lists


def _box(raw: str | None, principal: Principal) -> Box:
    if raw in BOX_ZH:
        return raw  # type: ignore[return-value]
    return "incoming" if allowed(ANSWER, principal.role) else "outgoing"


def line_name(ln: RequestLineRead) -> str:
    """What a line asks for: the item type's name, or ``排涝泵（按类别）`` for a line asked by category."""
    if ln.item_type_id is None and ln.category:
        return f"{CATEGORY_LABELS_ZH.get(ln.category, ln.category)}（按类别）"
    return ln.item_name


def lines_summary(lines: Sequence[RequestLineRead], shown: int = 3) -> str:
    """``移动泵车 2台；排涝泵（按类别） 3`` (the first few lines, and how many more)."""
    parts = [f"{line_name(ln)} {ln.quantity}{ln.unit}" for ln in lines[:shown]]
    more = f" 等 {len(lines)} 项" if len(lines) > shown else ""
    return "；".join(parts) + more


@get(PATH, opt=PAGE, include_in_schema=False)
async def requests_page(request: Request[Any, Any, Any], db: Database, box: str | None = None,
                        offset: str | None = None, done: str | None = None) -> Template | Redirect:
    """Requests addressed to the user's units (待我答复) or sent by them (本单位发出), open ones first."""
    principal = await page_principal(request, db)
    if principal is None:
        return login_redirect(PATH)
    chosen = _box(box, principal)
    raw = (offset or "").strip()
    start = min(int(raw), MAX_OFFSET) if raw.isascii() and raw.isdigit() else 0
    async with db.heavy_read() as session:
        page = await requests.list_requests(session, principal, box=chosen, limit=PAGE_SIZE, offset=start)
        counts = await requests.request_counts(session, principal)

    def url(at: int) -> str:
        return f"{PATH}?{urlencode({'box': chosen, **({'offset': at} if at else {})})}"

    return Template("requests.html", context=page_context(
        principal, rows=page.items, total=page.total, offset=start, box=chosen, box_zh=BOX_ZH, counts=counts,
        requests_open=counts.incoming_open, summary=lines_summary, when=_when,
        may_write=allowed(WRITE, principal.role), done=DONE_ZH.get(done or ""),
        next_url=url(start + PAGE_SIZE) if start + len(page.items) < page.total else None,
        prev_url=url(max(0, start - PAGE_SIZE)) if start else None))


# --------------------------------------------------------------------------- the form that sends a request


@dataclass(frozen=True)
class RegionOption:
    """A unit the form offers: its code, name, and which group it is listed under."""

    code: str
    name: str
    group: str


async def _home_units(session: AsyncSession, principal: Principal) -> list[tuple[str, str]]:
    """The units the user may send requests for: his scope regions, or (an admin) a city and its counties."""
    if principal.role == "admin":
        stmt = select(Region.code, Region.name).where(or_(Region.code == DEFAULT_CITY,
                                                          Region.parent_code == DEFAULT_CITY))
    elif principal.scope_regions:
        stmt = select(Region.code, Region.name).where(Region.code.in_(principal.scope_regions))
    else:
        return []
    return [(code, name) for code, name in (await session.execute(stmt.order_by(Region.code))).all()]


async def region_options(session: AsyncSession, principal: Principal, homes: Sequence[str],
                         wanted: str = "") -> list[RegionOption]:
    """The units a request may go to (逐级申请): the level above each of the user's units and the other units
    under it (e.g. 南昌市 and the other counties of the city for a county), none in his own scope; and the unit
    asked for in the link (``wanted``) when it is not among them."""
    parents = set((await session.execute(select(Region.parent_code).where(
        Region.code.in_(list(homes)), Region.parent_code.is_not(None)))).scalars())
    rows = (await session.execute(select(Region.code, Region.name, Region.level).where(or_(
        Region.code.in_(parents), Region.parent_code.in_(parents))).order_by(Region.level, Region.code))).all() \
        if parents else []
    mine = principal.role != "admin"
    options = [RegionOption(code, name, "上一级" if code in parents else "同级其他单位") for code, name, _ in rows
               if not (mine and covers_region(principal, code))]
    if wanted and wanted not in {o.code for o in options}:
        region = await session.get(Region, wanted) if wanted.isascii() and wanted.isdigit() else None
        options.append(RegionOption(wanted, region.name if region else f"{wanted}（代码不存在）", "物资所属单位"))
    return options


def _default_needed_by() -> str:
    return (dt.datetime.now(BEIJING) + DEFAULT_LEAD).strftime("%Y-%m-%dT%H:%M")


def _prefill(query: dict[str, list[str]]) -> dict[str, str]:
    """The form's values from a link (``incident``, ``item_type``, ``category``, ``quantity``, ``to_region``)."""

    def one(name: str, size: int = 40) -> str:
        return (query.get(name) or [""])[0].strip()[:size]

    form = {"incident_id": one("incident", 12), "to_region": one("to_region", 12),
            "lines.0.item_type": one("item_type"), "lines.0.category": "" if one("item_type") else one("category"),
            "lines.0.quantity": one("quantity", 10)}
    return {k: v for k, v in form.items() if v}


def _line_count(form: dict[str, str]) -> int:
    filled = [i for i in range(MAX_LINES) if any(form.get(f"lines.{i}.{f}") for f in
                                                 ("item_type", "category", "quantity", "attrs"))]
    return min(MAX_LINES, max(LINE_ROWS, (filled[-1] + 2) if filled else 0))


async def _render_new(db: Database, principal: Principal, *, form: dict[str, str] | None = None,
                      error: str | None = None, error_field: str | None = None, status: int = 200) -> Template:
    form = form or {}
    may_write = allowed(WRITE, principal.role)
    homes: list[tuple[str, str]] = []
    options: list[RegionOption] = []
    incidents: list[IncidentRead] = []
    item_types: Sequence[ItemTypeChoice] = ()
    categories: Sequence[Choice] = ()
    if may_write:
        async with db.read() as session:
            homes = await _home_units(session, principal)
            options = await region_options(session, principal, [c for c, _ in homes], form.get("to_region", ""))
            incidents = (await incident_service.list_incidents(session, status="open", limit=MAX_INCIDENTS,
                                                               offset=0)).items
            choices = await catalogue_choices(session)
            item_types, categories = choices.item_types, choices.categories
    if not may_write and status == 200:
        status = 403
        error = error or (f"{ROLE_ZH.get(principal.role, principal.role)}不能提出物资调用申请"
                          "（只有指挥人员和管理员可以以本单位名义申请）")
    return Template("requests_new.html", status_code=status, context=page_context(
        principal, may_write=may_write, homes=homes, choose_home=principal.role == "admin" or len(homes) > 1,
        options=options, incidents=incidents, item_types=item_types, categories=categories,
        transport_zh=TRANSPORT_ZH, form={"needed_by": _default_needed_by(), "transport": "either",
                                         "contact_name": principal.display_name, **form},
        line_rows=range(_line_count(form)), key=uuid.uuid4().hex, error=error, error_field=error_field))


@get(f"{PATH}/new", opt=PAGE, include_in_schema=False)
async def new_request_page(request: Request[Any, Any, Any], db: Database) -> Template | Redirect:
    """The form that sends a request, filled in from the link (the availability page's 申请调用)."""
    principal = await page_principal(request, db)
    if principal is None:
        query = request.url.query
        return login_redirect(f"{PATH}/new?{query}" if query else f"{PATH}/new")
    return await _render_new(db, principal, form=_prefill(parse_qs(request.url.query)))


def _needed_by(raw: str) -> dt.datetime:
    """A ``datetime-local`` value, read as Beijing time."""
    if not raw:
        raise _bad("needed_by", "请填写（北京时间，如 2026-07-01 14:00）")
    try:
        value = dt.datetime.fromisoformat(raw.replace(" ", "T"))
    except ValueError:
        raise _bad("needed_by", f"“{raw[:20]}”不是日期时间（如 2026-07-01 14:00）") from None
    return value.astimezone(BEIJING) if value.tzinfo else value.replace(tzinfo=BEIJING)


def _text(posted: Posted, name: str, most: int, *, required: bool = True, least: int = 1) -> str:
    value = posted.get(name)
    if not value and required:
        raise _bad(name, "必填")
    if value and len(value) < least:
        raise _bad(name, f"至少 {least} 个字")
    if len(value) > most:
        raise _bad(name, f"至多 {most} 个字")
    return value


def _request_lines(posted: Posted) -> tuple[list[dict[str, Any]], list[int]]:
    """The filled line rows, as the service takes them, and the form row of each."""
    lines, rows = [], []
    for i in range(MAX_LINES):
        item, category = posted.get(f"lines.{i}.item_type"), posted.get(f"lines.{i}.category")
        quantity, attrs = posted.get(f"lines.{i}.quantity"), posted.get(f"lines.{i}.attrs")
        if not (item or category or quantity or attrs):
            continue
        if not (item or category):
            raise _bad(f"lines.{i}.item_type", f"第 {i + 1} 行：请选择物资品目或物资类别")
        if item and category:
            raise _bad(f"lines.{i}.category", f"第 {i + 1} 行：已选物资品目，物资类别请留空（或只选类别）")
        number = _positive(quantity, f"lines.{i}.quantity", maximum=1_000_000, required=False,
                           row=f"第 {i + 1} 行：")
        if number is None:
            raise _bad(f"lines.{i}.quantity", f"第 {i + 1} 行：请填写数量")
        conditions = [c for c in re.split(r"[,，;；\s]+", attrs) if c]
        if item and conditions:
            raise _bad(f"lines.{i}.attrs", f"第 {i + 1} 行：属性条件只用于按类别申请")
        if len(conditions) > 5 or any(len(c) > 80 for c in conditions):
            raise _bad(f"lines.{i}.attrs", f"第 {i + 1} 行：至多 5 个条件，每个至多 80 个字")
        line: dict[str, Any] = {"quantity": number}
        line.update({"item_type": item} if item else {"category": category[:40], "attrs": conditions})
        lines.append(line)
        rows.append(i)
    if not lines:
        raise _bad("lines.0.item_type", "请至少填写一行（物资品目或类别，以及数量）")
    return lines, rows


def request_body(posted: Posted, choose_home: bool) -> tuple[RequestCreate, list[int]]:
    """The request of a posted form, and the form row of each of its lines; the first problem is raised."""
    incident_id = _positive(posted.get("incident_id"), "incident_id")
    from_region = posted.get("from_region") or None
    if choose_home and not from_region:
        raise _bad("from_region", "请选择以哪个单位的名义申请")
    to_region = posted.get("to_region")
    if not to_region:
        raise _bad("to_region", "请选择向哪个单位申请（物资所属单位或上一级）")
    for name, code in (("to_region", to_region), ("from_region", from_region or "00")):
        if not (code.isascii() and code.isdigit() and 2 <= len(code) <= 12):
            raise _bad(name, "应为 2–12 位数字的行政区划代码")
    lines, rows = _request_lines(posted)
    purpose = _text(posted, "purpose", 200)
    destination = _text(posted, "destination", 200, required=False)
    needed_by = _needed_by(posted.get("needed_by"))
    transport = posted.get("transport")
    if transport not in TRANSPORT_ZH:
        raise _bad("transport", "请从列表中选择")
    contact_name = _text(posted, "contact_name", 50)
    phone = _text(posted, "contact_phone", 30, least=5)
    if not re.fullmatch(r"[0-9+\-() ]*", phone):
        raise _bad("contact_phone", "只能有数字、空格和 + - ( )（如 0791-85700000 或 13800000000）")
    data = {"incident_id": incident_id, "to_region": to_region, "purpose": purpose, "needed_by": needed_by,
            "transport": transport, "contact_name": contact_name, "contact_phone": phone, "lines": lines,
            "destination": destination, **({"from_region": from_region} if from_region else {})}
    try:
        return msgspec.convert(data, RequestCreate), rows
    except msgspec.ValidationError as exc:  # every field is checked above: a safety net
        raise _bad("lines.0.item_type", f"表单内容不合要求（{exc}）") from None


def _form_field(name: str | None, rows: Sequence[int]) -> str | None:
    """The form's name of a field the service named: ``lines.1.quantity`` of the second filled row."""
    parts = (name or "").split(".")
    if len(parts) == 3 and parts[0] == "lines" and parts[1].isdigit() and int(parts[1]) < len(rows):
        return f"lines.{rows[int(parts[1])]}.{parts[2]}"
    return name


def _renumbered(text: str, rows: Sequence[int]) -> str:
    """The service counts filled lines; the form counts its rows (an empty row may lie between)."""
    row = _ROW.match(text)
    if row and 1 <= int(row.group(1)) <= len(rows):
        return f"第 {rows[int(row.group(1)) - 1] + 1} 行：{text[row.end():]}"
    return text


@post(PATH, opt=PAGE, include_in_schema=False, status_code=303)
async def create_from_page(request: Request[Any, Any, Any], db: Database) -> Response[Any]:
    """Send a request from the form, once per form whatever the number of taps; then its page."""
    principal = await page_principal(request, db)
    if principal is None:
        return login_redirect(f"{PATH}/new")
    posted = await read_form(request)
    form = {k: v[:200] for k, v in posted.fields.items() if not k.startswith("_") and k != "idempotency_key"}
    if not allowed(WRITE, principal.role):
        return await _render_new(db, principal, status=403, error=(
            f"{ROLE_ZH.get(principal.role, principal.role)}不能提出物资调用申请"
            "（只有指挥人员和管理员可以以本单位名义申请），未做任何更改。"))
    earlier = await stored_answer(db, principal, request.url.path, posted)
    if earlier is not None:  # a double tap or a resend
        return Redirect(f"{PATH}/{earlier.get('id', '')}?done=created", status_code=303)
    rows: list[int] = []
    try:
        choose_home = principal.role == "admin" or len(principal.scope_regions) > 1
        data, rows = request_body(posted, choose_home)

        async def work(session: AsyncSession) -> RequestRead:
            return await requests.request_read(session, await requests.create_request(session, data, principal))

        answer = await submit(request, db, principal, posted, work)
    except InventoryError as exc:
        return await _render_new(db, principal, form=form, error=_renumbered(_said(exc), rows),
                                 error_field=_form_field(exc.field, rows), status=status_of(exc))
    return Redirect(f"{PATH}/{answer['id']}?done=created", status_code=303)


# --------------------------------------------------------------------------- one request, and answering it


@dataclass
class SourceOption:
    """One of the acceptor's own sites holding what a line asks for."""

    site_id: int
    label: str


@dataclass
class AnswerLine:
    """An open line as the accept form shows it: the item types it may be given as (a line asked by category)
    and the acceptor's own sites holding it, nearest to the incident first."""

    line: RequestLineRead
    item_types: list[tuple[int, str]] = field(default_factory=list)
    sources: list[SourceOption] = field(default_factory=list)


async def _answer_lines(db: Database, principal: Principal, r: RequestRead, incident: Incident,
                        eta: EtaConfig) -> list[AnswerLine]:
    """The open lines with the acceptor's own sources (searched from the incident's place)."""
    lines = [AnswerLine(ln) for ln in r.lines if ln.open > 0]
    async with db.reader() as reader:
        for a in lines[:MAX_SOURCE_LINES]:
            ln = a.line
            try:
                if ln.item_type_id is None and ln.category:
                    a.item_types = [(t.id, f"{t.name}（{t.code}）") for t in await availability.matching_item_types(
                        reader, category=ln.category, attrs=ln.attrs)]
                    found = await availability.nearest_available(
                        reader, lat=incident.lat, lon=incident.lon, category=ln.category, attrs=ln.attrs,
                        quantity=availability.MAX_QUANTITY, limit=SOURCES_LISTED,
                        include_agreement=False, eta=eta, principal=principal,
                        own_only=True)
                else:
                    found = await availability.nearest_available(
                        reader, lat=incident.lat, lon=incident.lon, item_type=str(ln.item_type_id),
                        quantity=availability.MAX_QUANTITY, limit=SOURCES_LISTED,
                        include_agreement=False, eta=eta, principal=principal,
                        own_only=True)
            except InvalidInput:
                continue
            for s in found.sources:
                a.sources.append(SourceOption(s.location.id, f"{s.location.name} · {s.item_type.name} 可用 "
                                              f"{s.available}{s.item_type.unit}（约 {s.eta_minutes:.0f} 分钟）"))
    return lines


async def _render_one(request: Request[Any, Any, Any], db: Database, principal: Principal, request_id: int, *,
                      done: str | None = None, error: str | None = None, error_field: str | None = None,
                      status: int = 200, form: dict[str, str] | None = None, rows: Sequence[int] = ()) -> Template:
    """The request's page; ``rows``: the request lines an accept form gave, in order, so that an error's
    ``第 N 行`` is said as the line's name."""
    if not 1 <= request_id <= MAX_ID:
        return missing(principal, f"调用申请编号 {request_id} 不存在")
    try:
        async with db.read() as session:
            r = await requests.request_read(session, await requests.get_request(session, request_id))
            incident = await session.get(Incident, r.incident_id)
            counts = await requests.request_counts(session, principal)
    except InventoryError as exc:
        return missing(principal, _said(exc))
    if error and rows:
        error = _named_rows(error, rows, {ln.id: line_name(ln) for ln in r.lines})
    may_answer = (allowed(ANSWER, principal.role) and covers_region(principal, r.to_region_code)
                  and r.status == "open")
    incident_open = incident is not None and incident.status == "open"
    answer_lines = await _answer_lines(db, principal, r, incident, request.app.state.eta) \
        if may_answer and incident_open and incident is not None else []
    keys = {step: uuid.uuid4().hex for step in ("accept", "decline")}
    return Template("requests_one.html", status_code=status, context=page_context(
        principal, r=r, incident_open=incident_open, may_answer=may_answer, answer_lines=answer_lines,
        approval_zh=APPROVAL_ZH, answer_approval_zh=ANSWER_APPROVAL_ZH, dispatch_status_zh=DISPATCH_STATUS_ZH,
        requests_open=counts.incoming_open, when=_when, line_name=line_name,
        line_names={ln.id: line_name(ln) for ln in r.lines}, keys=keys, done=done, error=error,
        error_field=error_field, form=form or {}, line_rows=len(r.lines)))


@get(f"{PATH}/{{request_id:int}}", opt=PAGE, include_in_schema=False)
async def request_page(request: Request[Any, Any, Any], db: Database, request_id: int,
                       done: str | None = None) -> Template | Redirect:
    """One request: who asks whom for what, each line's state, the answers with their dispatch orders; the
    accept and decline forms for a commander of the unit asked."""
    principal = await page_principal(request, db)
    if principal is None:
        return login_redirect(f"{PATH}/{request_id}")
    return await _render_one(request, db, principal, request_id, done=DONE_ZH.get(done or ""))


def _form_lines(posted: Posted) -> tuple[list[int], list[int]]:
    """(every request line of the accept form, those given now: a quantity other than blank or 0), in form order."""
    ids = [int(k[4:]) for k in posted.fields if k.startswith("qty.") and k[4:].isascii() and k[4:].isdigit()][:50]
    return ids, [i for i in ids if posted.get(f"qty.{i}") not in ("", "0")]


def accept_body(posted: Posted, principal: Principal) -> RequestAccept:
    """The acceptance of a posted form (a line left blank or 0 is not given now); the first problem is raised,
    its row counted among the lines given (as the service counts them)."""
    ids, given = _form_lines(posted)
    lines = []
    for n, line_id in enumerate(given, start=1):
        row = f"第 {n} 行："
        quantity = _positive(posted.get(f"qty.{line_id}"), f"qty.{line_id}", maximum=1_000_000, row=row)
        item = _positive(posted.get(f"item.{line_id}"), f"item.{line_id}", required=False, row=row)
        site = _positive(posted.get(f"site.{line_id}"), f"site.{line_id}", required=False, row=row)
        lines.append({"line_id": line_id, "quantity": quantity, **({"item_type": str(item)} if item else {}),
                      **({"from_location_id": site} if site else {})})
    if not lines:
        raise _bad(f"qty.{ids[0]}" if ids else "qty", "请至少为一行填写同意的数量")
    mode = posted.get("approval_mode") or "oral"
    if mode not in APPROVAL_ZH:
        raise _bad("approval_mode", "请从列表中选择")
    approved_by = posted.get("approved_by") or principal.display_name or principal.username
    if len(approved_by) > 64:
        raise _bad("approved_by", "至多 64 个字")
    document_no = posted.get("document_no") or None
    if mode == "written" and not document_no:
        raise _bad("document_no", "书面批准须填写批准文号（如 县防指〔2026〕3号）")
    if document_no and len(document_no) > 64:
        raise _bad("document_no", "至多 64 个字")
    try:
        data = msgspec.convert({"lines": lines, "approval": {"mode": mode, "approved_by": approved_by,
                                                             "document_no": document_no}}, RequestAccept)
    except msgspec.ValidationError as exc:  # every field is checked above: a safety net
        raise _bad("qty", f"表单内容不合要求（{exc}）") from None
    return data


def _named_rows(text: str, rows: Sequence[int], names: dict[int, str]) -> str:
    """``第 2 行：`` of an accept form's error as the name of the second line given (``便携式汽油抽水泵：``)."""

    def name(m: re.Match[str]) -> str:
        n = int(m.group(1))
        return f"{names[rows[n - 1]]}：" if 1 <= n <= len(rows) and rows[n - 1] in names else m.group(0)

    return re.sub(r"第 (\d+) 行：", name, text)


def _accept_field(name: str | None, order: Sequence[int]) -> str | None:
    """The form's name of a field the service named: ``lines.0.from_location_id`` → ``site.<line id>``."""
    parts = (name or "").split(".")
    if len(parts) == 3 and parts[0] == "lines" and parts[1].isdigit() and int(parts[1]) < len(order):
        return f"{_ACCEPT_FIELD.get(parts[2], 'qty')}.{order[int(parts[1])]}"
    return name


async def _answer_posted(request: Request[Any, Any, Any], db: Database, request_id: int,
                         done: str) -> Response[Any] | Template | tuple[Principal, Posted]:
    """An answer's form: :func:`api.pages.response_forms.posted_step`."""

    async def refuse(principal: Principal) -> Template:
        return await _render_one(request, db, principal, request_id, status=403, error=(
            f"{ROLE_ZH.get(principal.role, principal.role)}不能答复调用申请"
            "（只有受申请单位的指挥人员和管理员可以同意或拒绝），未做任何更改。"))

    return await posted_step(request, db, here=f"{PATH}/{request_id}", thing_id=request_id,
                             not_found=f"调用申请编号 {request_id} 不存在", permission=ANSWER, done=done, refuse=refuse)


@post(f"{PATH}/{{request_id:int}}/accept", opt=PAGE, include_in_schema=False, status_code=303)
async def accept_from_page(request: Request[Any, Any, Any], db: Database, request_id: int) -> Response[Any]:
    """同意 in whole or in part: one dispatch order from the acceptor's own sources, once per form."""
    ready = await _answer_posted(request, db, request_id, "accepted")
    if not isinstance(ready, tuple):
        return ready
    principal, posted = ready
    _, order = _form_lines(posted)
    kept = {k: v[:64] for k, v in posted.fields.items() if k.split(".")[0] in (
        "qty", "item", "site", "approval_mode", "approved_by", "document_no")}
    try:
        data = accept_body(posted, principal)
        eta: EtaConfig = request.app.state.eta
        settings: Settings = request.app.state.settings

        async def work(session: AsyncSession) -> RequestRead:
            r = await requests.accept_request(session, request_id, data, principal, eta=eta,
                                              targets=settings.response_target_hours)
            return await requests.request_read(session, r)

        await submit(request, db, principal, posted, work)
    except InventoryError as exc:
        return await _render_one(request, db, principal, request_id, status=status_of(exc),
                                 error=f"未同意，未做任何更改：{_said(exc)}",
                                 error_field=_accept_field(exc.field, order), form={"step": "accept", **kept},
                                 rows=order)
    return Redirect(f"{PATH}/{request_id}?done=accepted", status_code=303)


@post(f"{PATH}/{{request_id:int}}/decline", opt=PAGE, include_in_schema=False, status_code=303)
async def decline_from_page(request: Request[Any, Any, Any], db: Database, request_id: int) -> Response[Any]:
    """拒绝 with the reason: what is still open on the ticked lines (every line when none is ticked)."""
    ready = await _answer_posted(request, db, request_id, "declined")
    if not isinstance(ready, tuple):
        return ready
    principal, posted = ready
    reason = posted.get("reason")
    try:
        if not reason:
            raise _bad("reason", "必填（如 本级库存不足，已向市级申请）")
        if len(reason) > 200:
            raise _bad("reason", "至多 200 个字")
        raw = parse_qs(posted.body.decode(errors="replace")).get("line_id", [])[:50]
        ids = [_positive(v, "line_ids") for v in raw]
        data = RequestDecline(reason=reason, line_ids=[i for i in ids if i is not None] or None)

        async def work(session: AsyncSession) -> RequestRead:
            return await requests.request_read(session, await requests.decline_request(session, request_id, data,
                                                                                       principal))

        await submit(request, db, principal, posted, work)
    except InventoryError as exc:
        return await _render_one(request, db, principal, request_id, status=status_of(exc),
                                 error=f"未拒绝，未做任何更改：{_said(exc)}", error_field=exc.field,
                                 form={"step": "decline", "reason": reason[:200]})
    return Redirect(f"{PATH}/{request_id}?done=declined", status_code=303)


HANDLERS = [requests_page, new_request_page, create_from_page, request_page, accept_from_page, decline_from_page]
