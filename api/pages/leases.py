"""The leases page (租赁、借用): every lease with filters, overdue first, with its fee to date."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from litestar import Request, Response, get, post
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.pages.common import PAGE, form_already_done, login_redirect, page_context, page_principal, pager_urls
from api.pages.occurred_at import FIELD as OCCURRED_AT
from api.pages.occurred_at import form_occurred_at
from api.writes import write_once
from inventory.access.permissions import allowed
from inventory.access.scope import Principal, in_scope
from inventory.errors import Conflict, InvalidInput, InventoryError, NotFound, PermissionDenied
from inventory.leases import queries
from inventory.leases import service as leases
from inventory.leases.schemas import (
    DIRECTION_ZH,
    FEE_BASIS_ZH,
    STATUS_ZH,
    LeaseExtend,
    LeaseHandOver,
    LeaseRead,
    LeaseReturn,
    ReturnLine,
)
from inventory.schemas import MAX_ID
from inventory.store.db import Database
from inventory.store.models import Location

PATH = "/leases"
PAGE_SIZE = 50


@get(PATH, opt=PAGE, include_in_schema=False)
async def leases_page(
    request: Request[Any, Any, Any], db: Database, status: str = "", direction: str = "", counterparty: str = "",
    due_within_days: str = "", offset: int = 0,
) -> Template | Redirect:
    """Leases with filters (status, direction, counterparty, due within N days), overdue first."""
    principal = await page_principal(request, db)
    if principal is None:
        return login_redirect(PATH)
    status = status if status in STATUS_ZH else ""
    direction = direction if direction in DIRECTION_ZH else ""
    counterparty = counterparty.strip()[:100]
    within = int(due_within_days) if due_within_days.isdigit() and int(due_within_days) <= 3650 else None
    offset = max(0, min(offset, 10_000_000))
    async with db.heavy_read() as session:
        page = await queries.list_leases(session, status=status or None, direction=direction or None,
                                        due_within_days=within, counterparty=counterparty or None,
                                        limit=PAGE_SIZE, offset=offset)
        ids = {r.location_id for r in page.items}
        rows = await session.execute(select(Location.id, Location.name).where(Location.id.in_(ids)))
        places = {row.id: row.name for row in rows}
    query = {"status": status, "direction": direction, "counterparty": counterparty,
             "due_within_days": "" if within is None else str(within)}
    prev_url, next_url = pager_urls(PATH, query, offset, PAGE_SIZE, page.total)
    return Template("leases.html", context=page_context(
        principal, rows=page.items, total=page.total, places=places, filter=query, offset=offset,
        status_zh=STATUS_ZH, direction_zh=DIRECTION_ZH, fee_basis_zh=FEE_BASIS_ZH, prev_url=prev_url,
        next_url=next_url))


CONDITION_ZH = {"ok": "完好", "damaged": "损坏", "lost": "丢失"}
DONE_ZH = {"return": "归还已登记", "out": "已交付，合同生效", "extend": "已续租，到期日已更新"}


async def _render_lease(db: Database, principal: Principal, lease_id: int, *, done: str | None = None,
                        error: str | None = None, status: int = 200, occurred: str = "") -> Template:
    """The lease page; ``occurred`` fills the 实际发生时间 field again after an error."""
    async with db.read() as session:
        try:
            view = await queries.lease_read(session, await queries.get_lease(session, lease_id))
        except NotFound:
            return Template("leases_one.html", status_code=404, context=page_context(
                principal, lease=None, error=f"租借合同 id={lease_id} 不存在"))
        names = {row.id: row.name for row in await session.execute(
            select(Location.id, Location.name).where(Location.id == view.location_id))}
        may_write = (allowed("leases.write", principal.role) and view.closed_at is None
                     and await in_scope(session, principal, view.location_id))
    may_return = may_write and view.out_at is not None
    return Template("leases_one.html", status_code=status, context=page_context(
        principal, lease=view, depot=names.get(view.location_id, ""), may_return=may_return,
        may_hand_over=may_write and view.out_at is None, may_extend=may_write, key=uuid.uuid4().hex,
        done=done, error=error, direction_zh=DIRECTION_ZH, fee_basis_zh=FEE_BASIS_ZH, condition_zh=CONDITION_ZH,
        occurred=occurred))


@get(f"{PATH}/{{lease_id:int}}", opt=PAGE, include_in_schema=False)
async def lease_page(request: Request[Any, Any, Any], db: Database, lease_id: int,
                     done: str | None = None) -> Template | Redirect:
    """One lease: lines, extensions, fee; a keeper in scope records a return here (the scan page links it)."""
    principal = await page_principal(request, db)
    if principal is None:
        return login_redirect(f"{PATH}/{lease_id}")
    if not 1 <= lease_id <= MAX_ID:
        return Template("leases_one.html", status_code=404, context=page_context(
            principal, lease=None, error=f"租借合同 id={lease_id} 不存在"))
    return await _render_lease(db, principal, lease_id, done=DONE_ZH.get(done or ""))


def _return_of(form: dict[str, list[str]]) -> LeaseReturn | str:
    """The return the form asks for, or what is wrong with it (in Chinese)."""
    lines = []
    for name, values in form.items():
        if not name.startswith("q_"):
            continue
        raw = (values[0] if values else "").strip()
        if not raw or raw == "0":
            continue
        line_id = name.removeprefix("q_")
        if not line_id.isdigit() or not raw.isdigit() or not 1 <= int(raw) <= 1_000_000_000:
            return f"归还数量须为正整数（{raw}）"
        condition = (form.get(f"c_{line_id}") or ["ok"])[0]
        if condition not in CONDITION_ZH:
            return f"物资状况须为完好、损坏或丢失（{condition}）"
        note = (form.get(f"n_{line_id}") or [""])[0].strip()[:200]
        lines.append(ReturnLine(line_id=int(line_id), quantity=int(raw), condition=condition, note=note))  # type: ignore[arg-type]
    if not lines:
        return "请至少填写一行归还数量"
    try:
        return LeaseReturn(lines=lines, occurred_at=form_occurred_at(form))
    except InvalidInput as exc:
        return exc.detail


def _hand_over_of(form: dict[str, list[str]]) -> LeaseHandOver | str:
    """The handing over the form asks for (when it really happened), or what is wrong with it (in Chinese)."""
    try:
        return LeaseHandOver(occurred_at=form_occurred_at(form))
    except InvalidInput as exc:
        return exc.detail


async def _form_write(request: Request[Any, Any, Any], db: Database, lease_id: int, done: str,
                      parse: Callable[[dict[str, list[str]]], Any],
                      act: Callable[[AsyncSession, Any, Principal], Awaitable[Any]]) -> Response[Any]:
    """A lease form posted from the page: CSRF-checked (by the app), once per idempotency key, permission and
    scope checked again by the domain; bad input re-renders the lease with what is wrong (in Chinese)."""
    principal = await page_principal(request, db)
    if principal is None:
        return login_redirect(f"{PATH}/{lease_id}")
    if not 1 <= lease_id <= MAX_ID:
        return await _render_lease(db, principal, 1, error=f"租借合同 id={lease_id} 不存在", status=404)
    if not allowed("leases.write", principal.role):
        return await _render_lease(db, principal, lease_id, error="您的角色无权办理租借合同", status=403)
    body = await request.body()
    form = parse_qs(body.decode(), keep_blank_values=True)
    key = (form.get("idempotency_key") or [""])[0] or None
    if key and await form_already_done(db, principal, request.url.path, key, body):
        return Redirect(f"{PATH}/{lease_id}?done={done}", status_code=303)
    occurred = (form.get(OCCURRED_AT) or [""])[0].strip()[:16]
    data = parse(form)
    if isinstance(data, str):
        return await _render_lease(db, principal, lease_id, error=data, status=422, occurred=occurred)

    async def work(session: AsyncSession) -> LeaseRead:
        return await queries.lease_read(session, await act(session, data, principal))

    try:
        await write_once(request, db, principal, work, key=key, fingerprint_body=body, status_code=200)
    except InventoryError as exc:
        status = (403 if isinstance(exc, PermissionDenied) else 404 if isinstance(exc, NotFound)
                  else 409 if isinstance(exc, Conflict) else 422)
        return await _render_lease(db, principal, lease_id, error=exc.detail, status=status, occurred=occurred)
    return Redirect(f"{PATH}/{lease_id}?done={done}", status_code=303)


@post(f"{PATH}/{{lease_id:int}}/return", opt=PAGE, include_in_schema=False, status_code=303)
async def return_from_page(request: Request[Any, Any, Any], db: Database, lease_id: int) -> Response[Any]:
    """Record a return (in part) from the page; ``occurred_at`` (optional) says when it really happened."""
    return await _form_write(request, db, lease_id, "return", _return_of,
                             lambda s, data, p: leases.take_back(s, lease_id, data, p))


@post(f"{PATH}/{{lease_id:int}}/out", opt=PAGE, include_in_schema=False, status_code=303)
async def hand_over_from_page(request: Request[Any, Any, Any], db: Database, lease_id: int) -> Response[Any]:
    """The goods change hands (a draft lease becomes active): ours go out, or theirs come in; ``occurred_at``
    (optional) says when that really happened."""
    return await _form_write(request, db, lease_id, "out", _hand_over_of,
                             lambda s, data, p: leases.hand_over(s, lease_id, p, data))


def _extend_of(form: dict[str, list[str]]) -> LeaseExtend | str:
    """The extension the form asks for, or what is wrong with it (in Chinese)."""
    raw = (form.get("due_date") or [""])[0].strip()
    try:
        due = dt.date.fromisoformat(raw)
    except ValueError:
        return f"新的到期日须为日期（如 2026-12-31），收到“{raw[:20]}”"
    return LeaseExtend(due_date=due, reason=(form.get("reason") or [""])[0].strip()[:200])


@post(f"{PATH}/{{lease_id:int}}/extend", opt=PAGE, include_in_schema=False, status_code=303)
async def extend_from_page(request: Request[Any, Any, Any], db: Database, lease_id: int) -> Response[Any]:
    """Extend the due date from the page; the earlier due dates stay in the history."""
    return await _form_write(request, db, lease_id, "extend", _extend_of,
                             lambda s, data, p: leases.extend(s, lease_id, data, p))


HANDLERS = [leases_page, lease_page, return_from_page, hand_over_from_page, extend_from_page]
