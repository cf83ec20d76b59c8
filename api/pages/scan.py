"""The scan page: what a scanned label names, the places holding a lot, and the one-tap actions."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import parse_qs

from litestar import Request, Response, get, post
from litestar.params import QueryParameter
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from api.pages.common import PAGE, login_redirect, page_context, page_principal
from api.scan_work import STATE_BADGE, perform
from inventory.access.scope import Principal
from inventory.errors import NotFound
from inventory.scan import choices as scan_choices
from inventory.scan.resolve import ACTION_ZH, SITES_SHOWN, ScanView, lot_sites_page, scan_view
from inventory.scan.upkeep import Upkeep, readings_zh, unit_upkeep
from inventory.store.db import Database
from labels.codes import InvalidCode

DONE_ZH = {
    "checkout": "已领用出库", "checkin": "已归还入库", "move": "已办理移库", "inspect": "检查已记录",
    "damaged": "已报损，转入维修",
    "lost": "已报失", "receive_transfer": "已签收", "issue": "已出库", "receive": "已入库", "count": "盘点已记录",
    "dispatch_execute": "已出库，调往事件现场（在途）", "dispatch_deliver": "已在事件现场签收",
    "dispatch_return": "已归还入库",
}


def _error_page(code: str, heading: str, message: str, status: int, replaced_by: str | None = None) -> Template:
    return Template("scan_error.html", status_code=status, context=page_context(
        None, code=code, heading=heading, message=message, replaced_by=replaced_by))


async def _render_scan(request: Request[Any, Any, Any], db: Database, principal: Principal, code: str, *,
                       done: str | None = None, error: str | None = None, open_action: str | None = None,
                       status: int = 200) -> Template:
    try:
        async with db.read() as session:
            view = await scan_view(session, code, principal, sites=SITES_SHOWN)
            extra = await _form_choices(session, principal, view)
            if view.kind == "asset" and view.active:
                extra["upkeep"] = await unit_upkeep(session, view.target_id)
    except InvalidCode as exc:
        return _error_page(code, "标签编码有误", f"{exc.reason_zh}。请核对标签上的编码。", 422)
    except NotFound as exc:
        return _error_page(code, "未找到此标签", exc.detail, 404)
    if not view.active:
        message = f"此标签已停用，已由新标签 {view.replaced_by} 替换，请撕下旧标签。"
        return _error_page(view.code, "此标签已停用", message, 410, view.replaced_by)
    keys = {action: uuid.uuid4().hex for action in view.actions}
    extra.setdefault("upkeep", Upkeep())
    quick_keys = [uuid.uuid4().hex for _ in extra["upkeep"].quick]
    return Template("scan.html", status_code=status, context=page_context(
        principal, view=view, action_zh=ACTION_ZH, keys=keys, done=done, error=error, open_action=open_action,
        quick_keys=quick_keys, readings=readings_zh, state_badge=STATE_BADGE, **extra))


async def _form_choices(session: AsyncSession, principal: Principal, view: ScanView) -> dict[str, Any]:
    return {"choices": await scan_choices.form_choices(session, principal, view)}


async def _render_sites(request: Request[Any, Any, Any], db: Database, principal: Principal, code: str,
                        page: str | None) -> Template | Redirect:
    """Every place holding a lot, the user's own first, a page at a time (the scan page shows the first few)."""
    number = int(page) if page and page.isascii() and page.isdigit() and 0 < int(page) < 100_000 else 1
    try:
        async with db.read() as session:
            sites = await lot_sites_page(session, code, principal, number)
    except (InvalidCode, NotFound):
        return await _render_scan(request, db, principal, code)
    if sites is None:  # not a lot, or a retired label: the scan page says what it is
        return Redirect(f"/s/{code}", status_code=303)
    return Template("scan_sites.html", context=page_context(principal, sites=sites))


@get("/s/{code:str}", opt=PAGE, include_in_schema=False)
async def scan_page(request: Request[Any, Any, Any], db: Database, code: str, done: str | None = None,
                    show_all: Annotated[str | None, QueryParameter(name="all")] = None,
                    page: str | None = None) -> Template | Redirect:
    """What a scanned label names, and the actions this user may take; ``?all=1`` every place holding a lot."""
    principal = await page_principal(request, db)
    if principal is None:
        return login_redirect(f"/s/{code}")
    if show_all:
        return await _render_sites(request, db, principal, code, page)
    return await _render_scan(request, db, principal, code, done=DONE_ZH.get(done or ""))


@post("/s/{code:str}", opt=PAGE, include_in_schema=False, status_code=303)
async def scan_act(request: Request[Any, Any, Any], db: Database, code: str) -> Response[Any]:
    """Carry out one action from the scan page, exactly once per form (its idempotency key)."""
    principal = await page_principal(request, db)
    if principal is None:
        return login_redirect(f"/s/{code}")
    body = await request.body()
    form = parse_qs(body.decode(), keep_blank_values=True)
    action = (form.get("action") or [""])[0]
    key = (form.get("idempotency_key") or [""])[0] or None
    outcome = await perform(request, db, principal, code, action, form, key=key, body=body)
    if outcome.status == 200:
        return Redirect(f"/s/{outcome.code}?done={action}", status_code=303)  # done, or a double tap or a resend
    if outcome.status in (404, 410) or (outcome.status == 422 and outcome.field == "code"):
        return await _render_scan(request, db, principal, code)
    if outcome.status == 403 and outcome.field == "action":
        # Not offered to this user here (role, scope or state): refuse, and say why.
        return await _render_scan(request, db, principal, code, status=403, error=outcome.message)
    return await _render_scan(request, db, principal, outcome.code, error=outcome.message, open_action=action,
                              status=outcome.status)


HANDLERS = [scan_page, scan_act]
