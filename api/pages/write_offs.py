"""The approver's phone page: pending write-off requests (待审批的报废申请) with 批准 and 驳回.

Each form carries its CSRF token and an idempotency key made when the page was rendered, so a double
tap or a resend after a network failure decides once. No script: the 驳回 form opens in a <details>.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs

from litestar import Request, Response, get, post
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from api.pages.common import PAGE, form_already_done, login_redirect, page_context, page_principal
from api.writes import write_once
from inventory.access.scope import Principal
from inventory.errors import Conflict, InventoryError, NotFound, PermissionDenied
from inventory.schemas import MAX_ID
from inventory.store.db import Database
from inventory.write_offs import service as write_offs
from inventory.write_offs import views as write_off_views
from inventory.write_offs.schemas import WriteOffRead

PATH = "/write-offs"
DONE_ZH = {"approve": "已批准，报废单已过账", "reject": "已驳回，预留的物资已释放"}


async def _render(db: Database, principal: Principal, *, done: str | None = None, error: str | None = None,
                  status: int = 200) -> Template:
    async with db.heavy_read() as session:
        queue = await write_off_views.pending_queue(session, principal)
    keys = {(q.id, decision): uuid.uuid4().hex for q in queue for decision in ("approve", "reject")}
    return Template("write_offs.html", status_code=status, context=page_context(
        principal, queue=queue, keys=keys, done=done, error=error))


@get(PATH, opt=PAGE, include_in_schema=False)
async def write_offs_page(request: Request[Any, Any, Any], db: Database,
                          done: str | None = None) -> Template | Redirect:
    """Pending write-off requests at places in this user's scope, with 批准 / 驳回 for those who may decide."""
    principal = await page_principal(request, db)
    if principal is None:
        return login_redirect(PATH)
    return await _render(db, principal, done=DONE_ZH.get(done or ""))


async def _decide(request: Request[Any, Any, Any], db: Database, request_id: int, decision: str) -> Response[Any]:
    principal = await page_principal(request, db)
    if principal is None:
        return login_redirect(PATH)
    if not 1 <= request_id <= MAX_ID:
        return await _render(db, principal, error=f"报废申请 id={request_id} 不存在", status=404)
    body = await request.body()
    form = parse_qs(body.decode(), keep_blank_values=True)
    key = (form.get("idempotency_key") or [""])[0] or None
    reason = (form.get("reason") or [""])[0]
    if key and await form_already_done(db, principal, request.url.path, key, body):
        return Redirect(f"{PATH}?done={decision}", status_code=303)  # a double tap or a resend

    async def work(session: AsyncSession) -> WriteOffRead:
        if decision == "approve":
            req = await write_offs.approve_write_off(session, request_id, principal)
        else:
            req = await write_offs.reject_write_off(session, request_id, reason[:200], principal)
        return await write_off_views.write_off_read(session, req)

    try:
        await write_once(request, db, principal, work, key=key, fingerprint_body=body, status_code=200)
    except InventoryError as exc:
        status = (403 if isinstance(exc, PermissionDenied) else 404 if isinstance(exc, NotFound)
                  else 409 if isinstance(exc, Conflict) else 422)
        return await _render(db, principal, error=f"报废申请 #{request_id}：{exc.detail}", status=status)
    return Redirect(f"{PATH}?done={decision}", status_code=303)


@post(f"{PATH}/{{request_id:int}}/approve", opt=PAGE, include_in_schema=False, status_code=303)
async def approve_from_page(request: Request[Any, Any, Any], db: Database, request_id: int) -> Response[Any]:
    """批准: the 报废单 is posted once, whatever the number of taps."""
    return await _decide(request, db, request_id, "approve")


@post(f"{PATH}/{{request_id:int}}/reject", opt=PAGE, include_in_schema=False, status_code=303)
async def reject_from_page(request: Request[Any, Any, Any], db: Database, request_id: int) -> Response[Any]:
    """驳回 with a reason: the stock set aside is free again."""
    return await _decide(request, db, request_id, "reject")


HANDLERS = [write_offs_page, approve_from_page, reject_from_page]
