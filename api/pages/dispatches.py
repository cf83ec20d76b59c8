"""The dispatch-order pages (动用指令): every order by status and paperwork, one order with its lines, history
and vouchers, recording the written paperwork and cancelling; a keeper's steps on it.

Every signed-in role reads them; paperwork and cancelling need ``dispatch.order`` (checked again on POST).
A keeper (``dispatch.execute``) sees which lines are his (本辖区) and which other units' (其他单位), and
executes his own per source (出库), signs for what reached his incident (签收) and brings his own lines back
(归还) — here, by scanning each unit or lot on the phone, or through the API. Each step takes 发生时间
(``occurred_at``) for what is entered afterwards from paper.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

from litestar import Request, Response, get, post
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from api.pages.common import PAGE, login_redirect, missing, page_context, page_principal
from api.pages.occurred_at import form_occurred_at
from api.pages.response_forms import (
    FormError,
    Posted,
    error_text,
    posted_step,
    status_of,
    submit,
)
from inventory.access.permissions import allowed
from inventory.access.scope import Principal, in_scope
from inventory.errors import InventoryError
from inventory.response import dispatch as dispatch_service
from inventory.response import order_views
from inventory.response.incidents import get_incident
from inventory.response.schemas import DeliverRequest, DispatchRead, ExecuteRequest, PaperworkRequest, ReturnRequest
from inventory.scan.choices import my_places
from inventory.schemas import MAX_ID
from inventory.store.db import Database
from inventory.store.models import Location

PATH = "/dispatches"
PAGE_SIZE, MAX_OFFSET = 20, 1_000_000
PAPERWORK_CHOICES = {"overdue": "书面手续逾期", "missing": "未补办书面手续"}
LATE_CHOICES = {"true": "超时", "false": "未超时"}  # past the response-time target (到达时限) or not
DONE_ZH = {"paperwork": "书面手续已登记", "cancelled": "动用指令已取消，尚未出库的预留物资已释放",
           "executed": "已出库，物资在途", "delivered": "已在事件现场签收", "returned": "已归还入库"}
ORDER = "dispatch.manage"  # paperwork and cancel; ordering is "dispatch.order"
EXECUTE = "dispatch.execute"
NOT_ALLOWED = "您没有此权限（只有指挥人员和管理员可以补办书面手续、取消动用指令）"
NOT_KEEPER = "您没有此权限（只有保管员和管理员可以办理出库、签收、归还）"


def _choice(raw: str | None, choices: dict[str, str], name: str) -> str | None:
    if not raw:
        return None
    if raw not in choices:
        raise FormError(name, "不在可选范围内")
    return raw


def _id(raw: str | None, name: str) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_ID:
        raise FormError(name, "应为正整数")
    return int(raw)


@get(PATH, opt=PAGE, include_in_schema=False)
async def dispatches_page(request: Request[Any, Any, Any], db: Database, status: str | None = None,
                          paperwork: str | None = None, incident: str | None = None, late: str | None = None,
                          offset: str | None = None) -> Template | Redirect:
    """Every order, newest first, by status, paperwork overdue or missing, incident, and 超时 (late)."""
    principal = await page_principal(request, db)
    if principal is None:
        return login_redirect(PATH)
    error, field = None, None
    try:
        chosen = (_choice(status, order_views.DISPATCH_STATUS_ZH, "status"),
                  _choice(paperwork, PAPERWORK_CHOICES, "paperwork"), _id(incident, "incident"),
                  _choice(late, LATE_CHOICES, "late"))
        start = _id(offset, "offset") or 0
    except FormError as exc:
        error, field, chosen, start = f"筛选条件有误：{exc.detail}", exc.field, (None, None, None, None), 0
    start = min(start, MAX_OFFSET)
    async with db.heavy_read() as session:
        rows, total = await order_views.order_rows(
            session, status=chosen[0], paperwork=chosen[1], incident_id=chosen[2], limit=PAGE_SIZE, offset=start,
            late=None if chosen[3] is None else chosen[3] == "true")
    params = {k: v for k, v in zip(("status", "paperwork", "incident", "late"), chosen, strict=True) if v}

    def page_url(at: int) -> str:
        return f"{PATH}?{urlencode({**params, **({'offset': at} if at else {})})}"

    return Template("dispatches.html", status_code=422 if error else 200, context=page_context(
        principal, rows=rows, total=total, offset=start, chosen=chosen, status_zh=order_views.DISPATCH_STATUS_ZH,
        paperwork_choices=PAPERWORK_CHOICES, late_choices=LATE_CHOICES, error=error, error_field=field,
        next_url=page_url(start + PAGE_SIZE) if start + len(rows) < total else None,
        prev_url=page_url(max(0, start - PAGE_SIZE)) if start else None))


@dataclass
class KeeperSteps:
    """What the signed-in keeper may do on an order: his sources with stock to issue, the lines he may sign for
    at his incident, his delivered lines to bring back and where to; which lines are his (本辖区)."""

    sites: list[order_views.SourceSite] = field(default_factory=list)
    deliverable: list[order_views.LineView] = field(default_factory=list)
    returnable: list[order_views.LineView] = field(default_factory=list)
    places: list[Location] = field(default_factory=list)
    mine: set[int] = field(default_factory=set)  # ids of the lines whose source lies in his scope


async def _keeper_steps(db: Database, principal: Principal, order: order_views.OrderView) -> KeeperSteps:
    if not allowed(EXECUTE, principal.role):
        return KeeperSteps()
    async with db.read() as session:
        ours = {site: await in_scope(session, principal, site) for site in {ln.site_id for ln in order.lines}}
        staging = (await get_incident(session, order.read.incident_id)).location_id
        at_scene = await in_scope(session, principal, staging)
        steps = KeeperSteps(
            sites=[s for s in order.pending_sites if ours.get(s.id)],
            deliverable=[ln for ln in order.lines if ln.state == "executed" and at_scene],
            returnable=[ln for ln in order.lines if ln.state == "delivered" and ours[ln.site_id]],
            mine={ln.id for ln in order.lines if ours[ln.site_id]})
        if steps.returnable:
            steps.places = [p for p in await my_places(session, principal) if p.kind != "staging"]
    return steps


async def _render_order(db: Database, principal: Principal, dispatch_id: int, *, done: str | None = None,
                        error: str | None = None, error_field: str | None = None, status: int = 200,
                        form: dict[str, str] | None = None) -> Template:
    if not 1 <= dispatch_id <= MAX_ID:
        return missing(principal, f"动用指令编号 {dispatch_id} 不存在")
    try:
        async with db.read() as session:
            order = await order_views.order_view(session, dispatch_id)
    except InventoryError as exc:
        return missing(principal, error_text(exc))
    executes = allowed(EXECUTE, principal.role)
    keeper = await _keeper_steps(db, principal, order)
    may_order = allowed(ORDER, principal.role)
    keys = {step: uuid.uuid4().hex for step in ("paperwork", "cancel", "deliver", "return")}
    keys.update({f"execute-{s.id}": uuid.uuid4().hex for s in keeper.sites})
    return Template("dispatch.html", status_code=status, context=page_context(
        principal, order=order, d=order.read, may_paperwork=may_order and order.read.paperwork_received_at is None,
        may_cancel=may_order and order.cancellable, my_sites=keeper.sites, executes=executes, keeper=keeper,
        show_mine=executes and principal.role != "admin", keys=keys, done=done, error=error,
        error_field=error_field, form=form or {}))


@get(f"{PATH}/{{dispatch_id:int}}", opt=PAGE, include_in_schema=False)
async def dispatch_page(request: Request[Any, Any, Any], db: Database, dispatch_id: int,
                        done: str | None = None) -> Template | Redirect:
    """One order: lines, status history, vouchers, paperwork, and what each role may do next."""
    principal = await page_principal(request, db)
    if principal is None:
        return login_redirect(f"{PATH}/{dispatch_id}")
    return await _render_order(db, principal, dispatch_id, done=DONE_ZH.get(done or ""))


async def _posted(request: Request[Any, Any, Any], db: Database, dispatch_id: int, done: str, permission: str,
                  refusal: str) -> Response[Any] | Template | tuple[Principal, Posted]:
    """A step on an order: :func:`api.pages.response_forms.posted_step`."""

    async def refuse(principal: Principal) -> Template:
        return await _render_order(db, principal, dispatch_id, error=refusal, status=403)

    return await posted_step(request, db, here=f"{PATH}/{dispatch_id}", thing_id=dispatch_id,
                             not_found=f"动用指令编号 {dispatch_id} 不存在", permission=permission, done=done,
                             refuse=refuse)


async def _act(request: Request[Any, Any, Any], db: Database, dispatch_id: int, done: str) -> Response[Any]:
    ready = await _posted(request, db, dispatch_id, done, ORDER, NOT_ALLOWED)
    if not isinstance(ready, tuple):
        return ready
    principal, posted = ready
    here = f"{PATH}/{dispatch_id}"
    form = {"document_no": posted.get("document_no")[:64]}
    try:
        if done == "paperwork":
            if not posted.get("document_no"):
                raise FormError("document_no", "必填（如 县防指〔2026〕3号）")
            if len(posted.get("document_no")) > 64:
                raise FormError("document_no", "至多 64 个字")
            data = PaperworkRequest(document_no=posted.get("document_no"))

            async def step(session: AsyncSession) -> Any:
                return await dispatch_service.record_paperwork(session, dispatch_id, data.document_no)
        else:
            if posted.get("confirm") != "yes":
                raise FormError("confirm", "请勾选“确认取消此动用指令”")

            async def step(session: AsyncSession) -> Any:
                return await dispatch_service.cancel_dispatch(session, dispatch_id, actor=principal.username)

        async def work(session: AsyncSession) -> DispatchRead:
            return await dispatch_service.dispatch_read(session, await step(session))

        await submit(request, db, principal, posted, work)
    except InventoryError as exc:
        return await _render_order(db, principal, dispatch_id, error=error_text(exc), error_field=exc.field,
                                   status=status_of(exc), form=form)
    return Redirect(f"{here}?done={done}", status_code=303)


@post(f"{PATH}/{{dispatch_id:int}}/paperwork", opt=PAGE, include_in_schema=False, status_code=303)
async def paperwork_from_page(request: Request[Any, Any, Any], db: Database, dispatch_id: int) -> Response[Any]:
    """Record the number of the written order that follows an oral approval (书面手续)."""
    return await _act(request, db, dispatch_id, "paperwork")


@post(f"{PATH}/{{dispatch_id:int}}/cancel", opt=PAGE, include_in_schema=False, status_code=303)
async def cancel_from_page(request: Request[Any, Any, Any], db: Database, dispatch_id: int) -> Response[Any]:
    """Cancel the order (after ticking 确认): what is still reserved is released."""
    return await _act(request, db, dispatch_id, "cancelled")


def _line_ids(posted: Posted) -> list[int] | None:
    """The lines ticked on a keeper's form (``line_id``, repeated); None when the form names none."""
    raw = parse_qs(posted.body.decode(errors="replace")).get("line_id", [])
    ids = [_id(value, "line_id") for value in raw[:100]]
    return [i for i in ids if i is not None] or None


async def _keeper_act(request: Request[Any, Any, Any], db: Database, dispatch_id: int, done: str) -> Response[Any]:
    """One keeper's step on an order from its page: 出库 of one of his sources, 签收, or 归还 of his lines."""
    ready = await _posted(request, db, dispatch_id, done, EXECUTE, NOT_KEEPER)
    if not isinstance(ready, tuple):
        return ready
    principal, posted = ready
    here = f"{PATH}/{dispatch_id}"
    try:
        when = form_occurred_at({"occurred_at": [posted.get("occurred_at")]})
        lines = _line_ids(posted)
        if done == "executed":
            site = _id(posted.get("from_location_id"), "from_location_id")
            execute = ExecuteRequest(from_location_id=site, occurred_at=when)

            async def step(session: AsyncSession) -> Any:
                return await dispatch_service.execute_dispatch(session, dispatch_id, execute, principal)
        elif done == "delivered":
            if lines is None:
                raise FormError("line_ids", "请勾选已运抵现场的物资")
            deliver = DeliverRequest(line_ids=lines, occurred_at=when)

            async def step(session: AsyncSession) -> Any:
                return await dispatch_service.deliver_dispatch(session, dispatch_id, principal, data=deliver)
        else:
            if lines is None:
                raise FormError("line_ids", "请勾选要归还的物资")
            to = _id(posted.get("to_location_id"), "to_location_id")
            if to is None:
                raise FormError("to_location_id", "请选择归还到的地点")
            back = ReturnRequest(to_location_id=to, line_ids=lines, occurred_at=when)

            async def step(session: AsyncSession) -> Any:
                return await dispatch_service.return_dispatch(session, dispatch_id, back, principal)

        async def work(session: AsyncSession) -> DispatchRead:
            return await dispatch_service.dispatch_read(session, await step(session))

        await submit(request, db, principal, posted, work)
    except InventoryError as exc:
        kept = {"step": done, "site": posted.get("from_location_id"), "occurred_at": posted.get("occurred_at")[:40]}
        return await _render_order(db, principal, dispatch_id, error=error_text(exc), error_field=exc.field,
                                   status=status_of(exc), form=kept)
    return Redirect(f"{here}?done={done}", status_code=303)


@post(f"{PATH}/{{dispatch_id:int}}/execute", opt=PAGE, include_in_schema=False, status_code=303)
async def execute_from_page(request: Request[Any, Any, Any], db: Database, dispatch_id: int) -> Response[Any]:
    """The keeper issues what is reserved at one of his sources (出库); the stock is on its way to the incident."""
    return await _keeper_act(request, db, dispatch_id, "executed")


@post(f"{PATH}/{{dispatch_id:int}}/deliver", opt=PAGE, include_in_schema=False, status_code=303)
async def deliver_from_page(request: Request[Any, Any, Any], db: Database, dispatch_id: int) -> Response[Any]:
    """The keeper at the incident signs for the ticked lines that arrived (签收)."""
    return await _keeper_act(request, db, dispatch_id, "delivered")


@post(f"{PATH}/{{dispatch_id:int}}/return", opt=PAGE, include_in_schema=False, status_code=303)
async def return_from_page(request: Request[Any, Any, Any], db: Database, dispatch_id: int) -> Response[Any]:
    """The keeper brings his ticked delivered lines back to one of his places (归还)."""
    return await _keeper_act(request, db, dispatch_id, "returned")


HANDLERS = [dispatches_page, dispatch_page, paperwork_from_page, cancel_from_page, execute_from_page,
            deliver_from_page, return_from_page]
