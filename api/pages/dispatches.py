"""The dispatch-order pages (动用指令): every order by status and paperwork, one order with its lines, history
and vouchers, recording the written paperwork and cancelling.

Every signed-in role reads them; paperwork and cancelling need ``dispatch.order`` (checked again on POST).
Keepers execute, deliver and return on their phones or through the API: the page points them there.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from api.pages.common import PAGE, login_redirect, page_context, page_principal
from api.pages.response_forms import FormError, error_text, read_form, status_of, stored_answer, submit
from inventory.access.permissions import allowed
from inventory.access.scope import Principal, in_scope
from inventory.errors import InventoryError
from inventory.response import dispatch as dispatch_service
from inventory.response import order_views
from inventory.response.schemas import DispatchRead, PaperworkRequest
from inventory.schemas import MAX_ID
from inventory.store.db import Database

PATH = "/dispatches"
PAGE_SIZE, MAX_OFFSET = 20, 1_000_000
PAPERWORK_CHOICES = {"overdue": "书面手续逾期", "missing": "未补办书面手续"}
LATE_CHOICES = {"true": "超时", "false": "未超时"}  # past the response-time target (到达时限) or not
DONE_ZH = {"paperwork": "书面手续已登记", "cancelled": "动用指令已取消，尚未出库的预留物资已释放"}
ORDER = "dispatch.order"
NOT_ALLOWED = "您没有此权限（只有指挥人员和管理员可以补办书面手续、取消动用指令）"


def missing(principal: Principal, message: str) -> Template:
    """The Chinese 404 page of an incident or order that does not exist."""
    return Template("scan_error.html", status_code=404, context=page_context(
        principal, code=None, heading="未找到", message=message, replaced_by=None))


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
    async with db.read() as session:
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


async def _render_order(db: Database, principal: Principal, dispatch_id: int, *, done: str | None = None,
                        error: str | None = None, error_field: str | None = None, status: int = 200,
                        form: dict[str, str] | None = None) -> Template:
    if not 1 <= dispatch_id <= MAX_ID:
        return missing(principal, f"动用指令编号 {dispatch_id} 不存在")
    try:
        async with db.read() as session:
            order = await order_views.order_view(session, dispatch_id)
            executes = allowed("dispatch.execute", principal.role)
            mine = [s for s in order.pending_sites if executes and await in_scope(session, principal, s.id)]
    except InventoryError as exc:
        return missing(principal, error_text(exc))
    may_order = allowed(ORDER, principal.role)
    return Template("dispatch.html", status_code=status, context=page_context(
        principal, order=order, d=order.read, may_paperwork=may_order and order.read.paperwork_received_at is None,
        may_cancel=may_order and order.cancellable, my_sites=mine, executes=executes,
        keys={"paperwork": uuid.uuid4().hex, "cancel": uuid.uuid4().hex}, done=done, error=error,
        error_field=error_field, form=form or {}))


@get(f"{PATH}/{{dispatch_id:int}}", opt=PAGE, include_in_schema=False)
async def dispatch_page(request: Request[Any, Any, Any], db: Database, dispatch_id: int,
                        done: str | None = None) -> Template | Redirect:
    """One order: lines, status history, vouchers, paperwork, and what each role may do next."""
    principal = await page_principal(request, db)
    if principal is None:
        return login_redirect(f"{PATH}/{dispatch_id}")
    return await _render_order(db, principal, dispatch_id, done=DONE_ZH.get(done or ""))


async def _act(request: Request[Any, Any, Any], db: Database, dispatch_id: int, done: str) -> Response[Any]:
    principal = await page_principal(request, db)
    here = f"{PATH}/{dispatch_id}"
    if principal is None:
        return login_redirect(here)
    if not 1 <= dispatch_id <= MAX_ID:
        return missing(principal, f"动用指令编号 {dispatch_id} 不存在")
    posted = await read_form(request)
    if not allowed(ORDER, principal.role):
        return await _render_order(db, principal, dispatch_id, error=NOT_ALLOWED, status=403)
    if await stored_answer(db, principal, request.url.path, posted) is not None:
        return Redirect(f"{here}?done={done}", status_code=303)  # a double tap or a resend
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


HANDLERS = [dispatches_page, dispatch_page, paperwork_from_page, cancel_from_page]
