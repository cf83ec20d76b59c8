"""Requests for stock between units (物资调用申请): each level uses its own first, then asks (逐级申请).

A commander orders dispatches from his own unit's sources only (:func:`inventory.response.dispatch.create_dispatch`
with his principal). For another unit's stock he sends a request — 品种、数量、用途、目的地、时间要求、运输方式、
联系方式 — to the owning unit or to the level above (``to_region``), toward one of the open incidents.

The commanders whose scope covers ``to_region`` answer it. An acceptance, in whole or in part, is one dispatch
order from *their* sources (which keepers execute as any other order), approved in writing or orally —
先调用，后补办手续: the paperwork of an oral approval is due within 48 h, as for every order. A refusal gives its
reason and closes what is still open on the lines it names. The request is ``answered`` once every line is
accepted or declined in full. Settlement with the lending unit is due one month after the order is delivered;
reusable equipment goes back when the task ends (the order's return, as today).

Answers take the request's row lock first (``FOR UPDATE``; SQLite writes one at a time), so two commanders
answering at once never give more than was asked.

Refusals: a request to one's own unit (``to_region`` inside the requester's scope or under ``from_region``) → 422;
accepting more than is open on a line → 422; accepting beyond one's own stock → 409 with the shortfall;
answering a request addressed outside one's scope → 403.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, Final

from sqlalchemy import ColumnElement, case, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.access.scope import Principal, covers_region
from inventory.availability.eta import EtaConfig
from inventory.availability.service import matching_item_types
from inventory.catalog.rules import CATEGORY_LABELS_ZH
from inventory.catalog.service import find_item_type
from inventory.errors import Conflict, InvalidInput, PermissionDenied
from inventory.places.regions import require_region
from inventory.response.dispatch import create_dispatch
from inventory.response.schemas import DispatchCreate, DispatchLineRequest
from inventory.schemas import Page
from inventory.stock.documents import CHINA
from inventory.store.lookup import scalar_or_not_found
from inventory.store.models import (
    Dispatch,
    Incident,
    ItemType,
    Region,
    SupplyRequest,
    SupplyRequestAnswer,
    SupplyRequestAnswerLine,
    SupplyRequestLine,
    utcnow,
)
from inventory.supply_requests.schemas import (
    TRANSPORT_ZH,
    AcceptLine,
    AnswerLineRead,
    Box,
    RequestAccept,
    RequestAnswerRead,
    RequestCounts,
    RequestCreate,
    RequestDecline,
    RequestLineCreate,
    RequestLineRead,
    RequestRead,
)

STATUS_ZH: Final = {"open": "待答复", "answered": "已答复"}
LINE_STATUS_ZH: Final = {"pending": "待答复", "accepted": "已同意", "declined": "已拒绝", "partly": "部分同意"}
OUTCOME_ZH: Final = {"pending": "待答复", "accepted": "已同意", "declined": "已拒绝", "partly": "部分同意"}
LATE_GRACE: Final = dt.timedelta(hours=1)
"""How far in the past a time wanted (时间要求) may lie: a request typed a little late is still meant."""
ATTR_SEPARATOR: Final = "；"


def _under_scope(principal: Principal, column: Any) -> ColumnElement[bool]:
    """SQL: the region-code column lies under one of the user's scope regions."""
    if principal.role == "admin":
        return true()
    prefixes = [column.startswith(p, autoescape=True) for p in principal.scope_regions]
    return or_(*prefixes) if prefixes else false()


def one_month_after(t: dt.datetime) -> dt.datetime:
    """The same day and time one calendar month later on Beijing's calendar (the month's last day when it is
    shorter), in ``t``'s zone: 3月31日 06:00 北京时间 → 4月30日 06:00, not 5月1日 as the UTC date would give."""
    local = t.astimezone(CHINA) if t.tzinfo is not None else t
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    later = local.replace(year=year, month=month, day=min(local.day, calendar.monthrange(year, month)[1]))
    return later.astimezone(t.tzinfo) if t.tzinfo is not None else later


def _aware(value: dt.datetime) -> dt.datetime:
    """A time as sent; without an offset it is Beijing time (a phone in China sends local time)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=CHINA)


def _home_region(principal: Principal) -> str:
    """The requesting unit when the body names none: the requester's one scope region."""
    if len(principal.scope_regions) == 1:
        return principal.scope_regions[0]
    if principal.role != "admin" and not principal.scope_regions:
        raise PermissionDenied(f"用户 {principal.username} 没有所属单位（辖区为空），不能以本单位名义提出调用申请",
                               extra={"action": "requests.write"})
    raise InvalidInput("请用 from_region 指明以哪个单位名义申请（行政区划代码）", field="from_region")


async def _check_line(session: AsyncSession, i: int, line: RequestLineCreate) -> SupplyRequestLine:
    """A request line checked against the catalogue: one item type, or a category the catalogue has."""
    if line.item_type and (line.category or line.attrs):
        raise InvalidInput(f"第 {i + 1} 行：已填物资品目，不要再填类别或属性条件", field=f"lines.{i}.category")
    if line.item_type:
        it = await find_item_type(session, line.item_type, field=f"lines.{i}.item_type")
        return SupplyRequestLine(item_type_id=it.id, quantity=line.quantity, attrs="")
    if not line.category:
        raise InvalidInput(f"第 {i + 1} 行：请填写物资品目（item_type）或类别（category）",
                           field=f"lines.{i}.item_type")
    if any(ATTR_SEPARATOR in a for a in line.attrs):
        raise InvalidInput(f"第 {i + 1} 行：属性条件中不能有「{ATTR_SEPARATOR}」", field=f"lines.{i}.attrs")
    try:
        types = await matching_item_types(session, category=line.category, attrs=line.attrs)
    except InvalidInput as exc:
        raise InvalidInput(f"第 {i + 1} 行：{exc.detail}", field=f"lines.{i}.{exc.field or 'category'}") from exc
    if not types:
        conditions = "、".join(line.attrs) or "无"
        raise InvalidInput(f"第 {i + 1} 行：没有符合类别 {line.category} 和条件 {conditions} 的物资品目",
                           field=f"lines.{i}.category")
    return SupplyRequestLine(category=line.category, attrs=ATTR_SEPARATOR.join(line.attrs), quantity=line.quantity)


async def create_request(session: AsyncSession, data: RequestCreate, principal: Principal,
                         now: dt.datetime | None = None) -> SupplyRequest:
    """Send a request from the requester's unit to another unit, toward an open incident (module doc)."""
    now = now or utcnow()
    incident = await session.get(Incident, data.incident_id)
    if incident is None:
        raise InvalidInput(f"事件 id={data.incident_id} 不存在", field="incident_id")
    if incident.status != "open":
        raise Conflict(f"事件 {incident.name} 已关闭，不能再申请调用物资")
    from_code = data.from_region or _home_region(principal)
    if data.from_region is not None and not covers_region(principal, from_code):
        raise PermissionDenied(f"不能以 {from_code} 的名义申请：不在用户 {principal.username} 的辖区内",
                               extra={"action": "requests.write", "region_code": from_code})
    from_region = await require_region(session, from_code, field="from_region")
    to_region = await require_region(session, data.to_region, field="to_region")
    own_unit = principal.role != "admin" and covers_region(principal, to_region.code)
    if to_region.code.startswith(from_region.code) or own_unit:
        raise InvalidInput(f"不能向本单位申请：{to_region.name}（{to_region.code}）在本单位辖区内，"
                           "其物资可直接下达动用指令", field="to_region")
    needed_by = _aware(data.needed_by)
    if needed_by < now - LATE_GRACE:
        raise InvalidInput(f"时间要求 {needed_by.astimezone(CHINA):%Y-%m-%d %H:%M} 早于当前时间", field="needed_by")
    lines = [await _check_line(session, i, line) for i, line in enumerate(data.lines)]
    r = SupplyRequest(incident_id=incident.id, from_region_code=from_region.code, to_region_code=to_region.code,
                      purpose=data.purpose, destination=data.destination or incident.name, needed_by=needed_by,
                      transport=data.transport, contact_name=data.contact_name, contact_phone=data.contact_phone,
                      status="open", created_by=principal.username, created_at=now)
    session.add(r)
    await session.flush()
    for line in lines:
        line.request_id = r.id
        line.accepted = line.declined = 0
        session.add(line)
    await session.flush()
    return r


async def get_request(session: AsyncSession, request_id: int, *, lock: bool = False) -> SupplyRequest:
    """The request with this id, or NotFound; ``lock`` takes its row lock (answers queue on it)."""
    stmt = select(SupplyRequest).where(SupplyRequest.id == request_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return await scalar_or_not_found(session, stmt, f"调用申请 id={request_id}")


async def _answerable(session: AsyncSession, request_id: int, principal: Principal) -> SupplyRequest:
    """The request, locked, once the user may answer it and it is still open."""
    r = await get_request(session, request_id, lock=True)
    if not covers_region(principal, r.to_region_code):
        raise PermissionDenied(f"调用申请 #{r.id} 发往 {r.to_region_code}，不在用户 {principal.username} 的辖区内，"
                               "不能答复",
                               extra={"action": "requests.answer", "region_code": r.to_region_code})
    if r.status != "open":
        raise Conflict(f"调用申请 #{r.id} 已答复完毕，不能再答复")
    return r


async def _lines(session: AsyncSession, request_id: int) -> dict[int, SupplyRequestLine]:
    rows = await session.scalars(select(SupplyRequestLine).where(SupplyRequestLine.request_id == request_id)
                                 .order_by(SupplyRequestLine.id).execution_options(populate_existing=True))
    return {ln.id: ln for ln in rows}


def _open(ln: SupplyRequestLine) -> int:
    return ln.quantity - ln.accepted - ln.declined


async def _given_item(session: AsyncSession, i: int, ln: SupplyRequestLine, a: AcceptLine) -> int:
    """The item type an accepted line is given as: the one asked, or one of the asked category's."""
    if ln.item_type_id is not None:
        if a.item_type is not None:
            it = await find_item_type(session, a.item_type, field=f"lines.{i}.item_type")
            if it.id != ln.item_type_id:
                raise InvalidInput(f"第 {i + 1} 行：申请的是物资品目 id={ln.item_type_id}，不能以 {it.name} 代替",
                                   field=f"lines.{i}.item_type")
        return ln.item_type_id
    if a.item_type is None:
        raise InvalidInput(f"第 {i + 1} 行：该行按类别 {ln.category} 申请，请指明以哪种物资品目答复（item_type）",
                           field=f"lines.{i}.item_type")
    it = await find_item_type(session, a.item_type, field=f"lines.{i}.item_type")
    attrs = [x for x in ln.attrs.split(ATTR_SEPARATOR) if x]
    if it.id not in {t.id for t in await matching_item_types(session, category=ln.category, attrs=attrs)}:
        raise InvalidInput(f"第 {i + 1} 行：{it.name} 不符合申请的类别 {ln.category}"
                           f"{'和条件 ' + '、'.join(attrs) if attrs else ''}", field=f"lines.{i}.item_type")
    return it.id


def _close_if_answered(r: SupplyRequest, lines: Mapping[int, SupplyRequestLine], now: dt.datetime) -> None:
    if all(_open(ln) == 0 for ln in lines.values()):
        r.status, r.answered_at = "answered", now


async def accept_request(session: AsyncSession, request_id: int, data: RequestAccept, principal: Principal, *,
                         eta: EtaConfig | None = None, targets: Mapping[str, float] | None = None,
                         now: dt.datetime | None = None) -> SupplyRequest:
    """Give what is asked, in whole or in part: one dispatch order from the acceptor's own sources (module doc)."""
    now = now or utcnow()
    r = await _answerable(session, request_id, principal)
    lines = await _lines(session, r.id)
    given: dict[int, int] = defaultdict(int)
    orders: list[tuple[SupplyRequestLine, int, int]] = []  # (line, item type, quantity)
    for i, a in enumerate(data.lines):
        ln = lines.get(a.line_id)
        if ln is None:
            raise InvalidInput(f"第 {i + 1} 行：申请行 id={a.line_id} 不属于调用申请 #{r.id}",
                               field=f"lines.{i}.line_id")
        given[ln.id] += a.quantity
        if given[ln.id] > _open(ln):
            raise InvalidInput(f"第 {i + 1} 行：同意 {given[ln.id]}，超过该行尚未答复的数量 {_open(ln)}"
                               f"（申请 {ln.quantity}，已同意 {ln.accepted}，已拒绝 {ln.declined}）",
                               field=f"lines.{i}.quantity")
        orders.append((ln, await _given_item(session, i, ln, a), a.quantity))
    # A line naming no source takes the acceptor's nearest outside the requesting unit: the sender asked because
    # his own are not enough, and a city answering a county never hands it back its own stock.
    d = await create_dispatch(session, r.incident_id, DispatchCreate(
        lines=[DispatchLineRequest(item_type=str(item), quantity=q, from_location_id=a.from_location_id)
               for (_, item, q), a in zip(orders, data.lines, strict=True)],
        approval=data.approval), actor=principal.username, eta=eta, targets=targets, now=now, principal=principal,
        excluding=r.from_region_code)
    answer = SupplyRequestAnswer(request_id=r.id, kind="accept", dispatch_id=d.id, reason="",
                                 answered_by=principal.username, answered_at=now)
    session.add(answer)
    await session.flush()
    for ln, item, q in orders:
        ln.accepted += q
        session.add(SupplyRequestAnswerLine(answer_id=answer.id, line_id=ln.id, item_type_id=item, quantity=q))
    _close_if_answered(r, lines, now)
    await session.flush()
    return r


async def decline_request(session: AsyncSession, request_id: int, data: RequestDecline, principal: Principal,
                          now: dt.datetime | None = None) -> SupplyRequest:
    """Refuse what is still open on the named lines (every line when none is named), with the reason."""
    now = now or utcnow()
    r = await _answerable(session, request_id, principal)
    lines = await _lines(session, r.id)
    named = data.line_ids or list(lines)
    for i, line_id in enumerate(named):
        if line_id not in lines:
            raise InvalidInput(f"申请行 id={line_id} 不属于调用申请 #{r.id}", field=f"line_ids.{i}")
    refused = [(lines[i], _open(lines[i])) for i in dict.fromkeys(named) if _open(lines[i]) > 0]
    if not refused:
        raise Conflict(f"调用申请 #{r.id} 的这些行已答复完毕，没有可拒绝的数量")
    answer = SupplyRequestAnswer(request_id=r.id, kind="decline", reason=data.reason, answered_by=principal.username,
                                 answered_at=now)
    session.add(answer)
    await session.flush()
    for ln, q in refused:
        ln.declined += q
        session.add(SupplyRequestAnswerLine(answer_id=answer.id, line_id=ln.id, item_type_id=ln.item_type_id,
                                            quantity=q))
    _close_if_answered(r, lines, now)
    await session.flush()
    return r


def _line_status(ln: SupplyRequestLine) -> str:
    if ln.accepted == ln.quantity:
        return "accepted"
    if ln.declined == ln.quantity:
        return "declined"
    return "pending" if ln.accepted == 0 and ln.declined == 0 else "partly"


def _outcome(lines: Sequence[SupplyRequestLine]) -> str:
    states = {_line_status(ln) for ln in lines}
    return states.pop() if len(states) == 1 and states != {"partly"} else "partly"


async def request_reads(session: AsyncSession, requests: Sequence[SupplyRequest]) -> list[RequestRead]:
    """Requests with their lines and answers, read in a fixed number of statements."""
    if not requests:
        return []
    ids = [r.id for r in requests]
    lines: dict[int, list[SupplyRequestLine]] = defaultdict(list)
    for ln in await session.scalars(select(SupplyRequestLine).where(SupplyRequestLine.request_id.in_(ids))
                                    .order_by(SupplyRequestLine.id)):
        lines[ln.request_id].append(ln)
    answers: dict[int, list[SupplyRequestAnswer]] = defaultdict(list)
    for ans in await session.scalars(select(SupplyRequestAnswer).where(SupplyRequestAnswer.request_id.in_(ids))
                                     .order_by(SupplyRequestAnswer.id)):
        answers[ans.request_id].append(ans)
    answer_ids = [a.id for group in answers.values() for a in group]
    answer_lines: dict[int, list[SupplyRequestAnswerLine]] = defaultdict(list)
    if answer_ids:
        for al in await session.scalars(select(SupplyRequestAnswerLine)
                                        .where(SupplyRequestAnswerLine.answer_id.in_(answer_ids))
                                        .order_by(SupplyRequestAnswerLine.id)):
            answer_lines[al.answer_id].append(al)
    item_ids = {ln.item_type_id for group in lines.values() for ln in group if ln.item_type_id} | {
        al.item_type_id for group in answer_lines.values() for al in group if al.item_type_id}
    items = {it.id: it for it in await session.scalars(select(ItemType).where(ItemType.id.in_(item_ids)))} \
        if item_ids else {}
    codes = {r.from_region_code for r in requests} | {r.to_region_code for r in requests}
    regions = dict((await session.execute(select(Region.code, Region.name).where(Region.code.in_(codes)))).all())
    incidents = dict((await session.execute(select(Incident.id, Incident.name).where(
        Incident.id.in_({r.incident_id for r in requests})))).all())
    dispatch_ids = {a.dispatch_id for group in answers.values() for a in group if a.dispatch_id}
    dispatches = {d.id: d for d in await session.scalars(select(Dispatch).where(Dispatch.id.in_(dispatch_ids)))} \
        if dispatch_ids else {}

    def name(item_id: int | None) -> str:
        return items[item_id].name if item_id in items else ""

    def line_read(ln: SupplyRequestLine) -> RequestLineRead:
        it = items.get(ln.item_type_id or 0)
        status = _line_status(ln)
        return RequestLineRead(
            id=ln.id, item_type_id=ln.item_type_id,
            item_name=it.name if it else f"{CATEGORY_LABELS_ZH.get(ln.category or '', ln.category)}（按类别）",
            unit=it.unit if it else "", category=ln.category,
            attrs=[x for x in ln.attrs.split(ATTR_SEPARATOR) if x], quantity=ln.quantity, accepted=ln.accepted,
            declined=ln.declined, open=_open(ln), status=status, status_zh=LINE_STATUS_ZH[status])

    def answer_read(a: SupplyRequestAnswer) -> RequestAnswerRead:
        d = dispatches.get(a.dispatch_id or 0)
        return RequestAnswerRead(
            id=a.id, kind=a.kind, reason=a.reason, answered_by=a.answered_by, answered_at=a.answered_at,
            lines=[AnswerLineRead(line_id=al.line_id, item_type_id=al.item_type_id, item_name=name(al.item_type_id),
                                  quantity=al.quantity) for al in answer_lines[a.id]],
            dispatch_id=a.dispatch_id, dispatch_status=d.status if d else None,
            approval_mode=d.approval_mode if d else None, paperwork_due_at=d.paperwork_due_at if d else None,
            delivered_at=d.delivered_at if d else None,
            settlement_due_at=one_month_after(d.delivered_at) if d and d.delivered_at else None)

    reads = []
    for r in requests:
        outcome = _outcome(lines[r.id])
        reads.append(RequestRead(
            id=r.id, incident_id=r.incident_id, incident_name=incidents.get(r.incident_id, ""),
            from_region_code=r.from_region_code, from_region_name=regions.get(r.from_region_code, ""),
            to_region_code=r.to_region_code, to_region_name=regions.get(r.to_region_code, ""), purpose=r.purpose,
            destination=r.destination, needed_by=r.needed_by, transport=r.transport,
            transport_zh=TRANSPORT_ZH.get(r.transport, r.transport), contact_name=r.contact_name,
            contact_phone=r.contact_phone, status=r.status, status_zh=STATUS_ZH.get(r.status, r.status),
            outcome=outcome, outcome_zh=OUTCOME_ZH[outcome], created_by=r.created_by, created_at=r.created_at,
            answered_at=r.answered_at, lines=[line_read(ln) for ln in lines[r.id]],
            answers=[answer_read(a) for a in answers[r.id]]))
    return reads


async def request_read(session: AsyncSession, r: SupplyRequest) -> RequestRead:
    """One request with its lines and answers."""
    return (await request_reads(session, [r]))[0]


def _box(principal: Principal, box: Box) -> ColumnElement[bool]:
    incoming = _under_scope(principal, SupplyRequest.to_region_code)
    outgoing = _under_scope(principal, SupplyRequest.from_region_code)
    return incoming if box == "incoming" else outgoing if box == "outgoing" else or_(incoming, outgoing)


async def list_requests(session: AsyncSession, principal: Principal, *, box: Box = "all", status: str | None = None,
                        incident_id: int | None = None, limit: int = 50, offset: int = 0) -> Page[RequestRead]:
    """Requests addressed to the user's units (``incoming``), sent by them (``outgoing``) or both; open first,
    newest first."""
    stmt = select(SupplyRequest).where(_box(principal, box))
    if status:
        stmt = stmt.where(SupplyRequest.status == status)
    if incident_id is not None:
        stmt = stmt.where(SupplyRequest.incident_id == incident_id)
    total = int(await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = list(await session.scalars(stmt.order_by(case((SupplyRequest.status == "open", 0), else_=1),
                                                    SupplyRequest.id.desc()).limit(limit).offset(offset)))
    return Page(await request_reads(session, rows), total, limit, offset)


async def request_counts(session: AsyncSession, principal: Principal) -> RequestCounts:
    """How many open requests wait for the user's answer, and how many of his units' wait for others'."""
    row = (await session.execute(select(
        func.count().filter(_box(principal, "incoming")), func.count().filter(_box(principal, "outgoing")))
        .where(SupplyRequest.status == "open"))).one()
    return RequestCounts(incoming_open=int(row[0] or 0), outgoing_open=int(row[1] or 0))
