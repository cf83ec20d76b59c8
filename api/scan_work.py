"""The work behind a scan action, shared by the scan page's forms and the scan station's outbox.

A form (or the station's JSON, turned into the same shape) names the action and its fields; the work
runs inside :func:`api.writes.write_once`, so a retried action is applied exactly once. Every action
takes ``occurred_at`` — when it really happened (a paper note from a day without a phone), Beijing
time from a ``datetime-local`` field or an ISO time with its offset; empty means now.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from litestar import Request
from sqlalchemy.ext.asyncio import AsyncSession

from api.page_text import field_zh, for_people
from api.pages.common import form_already_done
from api.pages.occurred_at import form_occurred_at
from api.writes import write_once
from inventory.access.permissions import allowed
from inventory.access.scope import Principal
from inventory.errors import Conflict, InvalidInput, InventoryError, NotFound, PermissionDenied
from inventory.readiness.schemas import CheckCreate
from inventory.response import dispatch as dispatch_service
from inventory.response.schemas import DeliverRequest, ExecuteRequest, ReturnRequest
from inventory.scan import actions as scan_actions
from inventory.scan.orders import ACTION_STATE, STEP_ZH, line_on
from inventory.scan.resolve import ScanView, scan_view
from inventory.stock import assets
from inventory.stock import queries as stock
from inventory.store.db import Database
from inventory.store.models import Asset, Document
from labels.codes import InvalidCode

Form = dict[str, list[str]]

_FORM_INT_MAX = 1_000_000_000


def _int(form: dict[str, list[str]], name: str, *, required: bool = True, minimum: int | None = None) -> int | None:
    raw = (form.get(name) or [""])[0].strip()
    if not raw:
        if required:
            raise _FormError(name, "必填")
        return None
    try:
        value = int(raw)
    except ValueError:
        raise _FormError(name, f"“{raw[:20]}”不是整数") from None
    if minimum is not None and value < minimum:
        raise _FormError(name, f"不能小于 {minimum}")
    if abs(value) > _FORM_INT_MAX:  # beyond the database's integers
        raise _FormError(name, f"不能大于 {_FORM_INT_MAX}")
    return value


def _date(form: dict[str, list[str]], name: str) -> dt.date | None:
    raw = (form.get(name) or [""])[0].strip()
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        raise _FormError(name, f"“{raw[:20]}”不是日期（如 2027-06-30）") from None


# The check form's fields that the shared labels (api.page_text) do not know.
CHECK_FIELD_ZH = {"run_minutes": "运行分钟", "load_pct": "负载", "task": "检查项目", "line_id": "动用明细"}
# A unit's readiness state and a check's result, in the colours of the status badges.
STATE_BADGE = {"ready": "available", "due_soon": "reserved", "overdue": "maintenance", "fault": "maintenance",
               "in_maintenance": "maintenance", "ok": "available", "not_ready": "maintenance"}


class _FormError(InventoryError):
    """A form field the page could not read (empty, not a number or date), named as the form labels it."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{CHECK_FIELD_ZH.get(field) or field_zh(field)}：{problem}", field=field)


def _check(form: dict[str, list[str]]) -> CheckCreate:
    """The check the form describes (its rules are the service's: a run test needs minutes, 0–100 %…)."""
    text = {k: (v or [""])[0].strip() for k, v in form.items()}
    return CheckCreate(
        task=text.get("task") or "visual_check", result=text.get("result") or "ok",  # type: ignore[arg-type]
        battery_pct=_int(form, "battery_pct", required=False), fuel_pct=_int(form, "fuel_pct", required=False),
        run_minutes=_int(form, "run_minutes", required=False), load_pct=_int(form, "load_pct", required=False),
        fault_description=text.get("note", "")[:300], performed_at=form_occurred_at(form))


async def _resolve_target(session: AsyncSession, form: dict[str, list[str]]) -> int:
    return await scan_actions.resolve_place(session, (form.get("to") or [""])[0])


DISPATCH_ACTIONS = ("dispatch_execute", "dispatch_deliver", "dispatch_return")


def _chosen_line(view: ScanView, action: str, form: Form) -> int:
    """The dispatch line a step is taken on: the form's ``line_id``, else the only one of this unit or lot
    waiting for the step that the user may take (a lot on several asks which)."""
    chosen = _int(form, "line_id", required=False, minimum=1)
    if chosen is not None:
        return chosen
    mine = [t.line_id for t in (view.dispatch.tasks if view.dispatch else []) if t.action == action and t.mine]
    if len(mine) == 1:
        return mine[0]
    if not mine:
        raise _FormError("line_id", "没有等您办理的动用明细")
    raise _FormError("line_id", f"这批物资有 {len(mine)} 条动用明细等您办理，请选择一条")


async def _dispatch_step(session: AsyncSession, view: ScanView, principal: Principal, action: str, form: Form,
                         when: dt.datetime | None) -> Any:
    """Take one dispatch line of this unit or lot a step on (出库, 签收 or 归还); the order as the API reads it."""
    line_id = _chosen_line(view, action, form)
    found = await line_on(session, view.kind, view.target_id, line_id)
    if found is None:
        what = "这件装备" if view.kind == "asset" else "这批物资"
        raise InvalidInput(f"第 {line_id} 号明细不是{what}的动用明细，请重新扫码", field="line_id")
    dispatch_id, _ = found
    if action == "dispatch_execute":
        order = await dispatch_service.execute_dispatch(
            session, dispatch_id, ExecuteRequest(line_ids=[line_id], occurred_at=when), principal)
    elif action == "dispatch_deliver":
        order = await dispatch_service.deliver_dispatch(
            session, dispatch_id, principal, data=DeliverRequest(line_ids=[line_id], occurred_at=when))
    else:
        order = await dispatch_service.return_dispatch(
            session, dispatch_id, ReturnRequest(to_location_id=await _return_to(session, view, line_id, form),
                                                line_ids=[line_id], occurred_at=when), principal)
    return await dispatch_service.dispatch_read(session, order)


async def _return_to(session: AsyncSession, view: ScanView, line_id: int, form: Form) -> int:
    """Where a return goes: the place the form names (``to``, as 移到 reads it, or ``location_id``), else the
    place the line came from."""
    if (form.get("to") or [""])[0].strip():
        return await _resolve_target(session, form)
    chosen = _int(form, "location_id", required=False, minimum=1)
    if chosen is not None:
        return chosen
    came_from = [t.source_id for t in (view.dispatch.tasks if view.dispatch else []) if t.line_id == line_id]
    if not came_from:
        raise _FormError("to", "请选择归还到的地点")
    return came_from[0]


async def _dispatch_done_by_another(db: Database, principal: Principal, view: ScanView, action: str,
                                    form: Form) -> Outcome | None:
    """A dispatch step no longer offered because its line has moved on (another keeper took it): 409, saying
    where the line stands now; None otherwise (the step is refused as any other)."""
    raw = (form.get("line_id") or [""])[0].strip()
    if action not in DISPATCH_ACTIONS or not allowed("dispatch.execute", principal.role):
        return None
    if not (raw.isascii() and raw.isdigit()) or int(raw) > _FORM_INT_MAX:
        return None
    async with db.read() as session:
        found = await line_on(session, view.kind, view.target_id, int(raw))
    if found is None or found[1] == ACTION_STATE[action]:
        return None
    now = STEP_ZH.get(found[1]) or dispatch_service.LINE_STATE_ZH.get(found[1], found[1])
    return Outcome(409, view.code, f"动用指令 #{found[0]} 的第 {raw} 号明细当前为“{now}”，可能已由他人办理",
                   field="line_id")


def action_work(view: ScanView, principal: Principal, action: str,
                form: Form) -> Callable[[AsyncSession], Awaitable[Any]]:
    """The work of one scan action on the thing ``view`` shows, with the fields of ``form``."""
    text = {k: (v or [""])[0] for k, v in form.items()}

    async def work(session: AsyncSession) -> Any:
        # The result is stored with the idempotency key as JSON: the API's read models, not ORM rows.
        result = await act(session)
        if isinstance(result, Document):
            return await stock.document_read(session, result)
        if isinstance(result, Asset):
            return assets.asset_read(result)
        return result

    async def act(session: AsyncSession) -> Any:
        target, when = view.target_id, form_occurred_at(form)
        if action == "checkout":
            return await scan_actions.checkout(session, principal, target, text.get("counterparty", ""),
                                               text.get("reason", ""), when)
        if action == "checkin":
            return await scan_actions.checkin(session, principal, target, _int(form, "location_id") or 0, "", when)
        if action == "move" and view.kind == "asset":
            return await scan_actions.move(session, principal, target, await _resolve_target(session, form), when)
        if action == "receive_transfer":
            return await scan_actions.receive_asset(session, principal, target, when)
        if action == "inspect":
            return await scan_actions.inspect(session, principal, target, _check(form))
        if action == "damaged":
            return await scan_actions.damaged(session, principal, target, text.get("note", ""), when)
        if action == "lost":
            return await scan_actions.lost(session, principal, target, text.get("note", ""), when)
        if action == "issue":
            return await scan_actions.issue_lot(session, principal, target, _int(form, "location_id") or 0,
                                                _int(form, "quantity", minimum=1) or 0, text.get("counterparty", ""),
                                                when)
        if action == "move":
            return await scan_actions.move_lot(session, principal, target, _int(form, "location_id") or 0,
                                               await _resolve_target(session, form),
                                               _int(form, "quantity", minimum=1) or 0, when)
        if action == "receive":
            expiry = _date(form, "expiry_date")
            return await scan_actions.receive_here(session, principal, target, _int(form, "item_type_id") or 0,
                                                   _int(form, "quantity", minimum=1) or 0, text.get("lot_number", ""),
                                                   expiry, "", when)
        if action == "count":
            return await scan_actions.count_here(session, principal, target, _int(form, "item_type_id") or 0,
                                                 _int(form, "counted") or 0, when)
        if action in DISPATCH_ACTIONS:
            return await _dispatch_step(session, view, principal, action, form, when)
        raise _FormError("action", "未知操作")

    return work


REFUSED_HERE = "您不能在此办理该操作（不在您的辖区、角色不允许或装备状态已变化）"


@dataclass
class Outcome:
    """What became of one scan action: ``status`` 200 when carried out (or an identical retry of one that was),
    else the refusal's status (403, 404, 409, 410, 422) and its reason for people."""

    status: int
    code: str  # the label's current code (a retired label answers 410 with the new one in ``message``)
    message: str = ""
    replayed: bool = False
    field: str | None = None


async def perform(request: Request[Any, Any, Any], db: Database, principal: Principal, code: str, action: str,
                  form: Form, *, key: str | None, body: bytes) -> Outcome:
    """Carry out one scan action on the thing ``code`` names, exactly once per idempotency key.

    ``body`` is the request as sent (the key's fingerprint): a retry with the same key and body after the
    first try was applied answers 200 ``replayed`` — even when the action would no longer be offered.
    """
    if key and await form_already_done(db, principal, request.url.path, key, body):
        return Outcome(200, code, replayed=True)
    try:
        async with db.read() as session:
            view = await scan_view(session, code, principal)
    except InvalidCode as exc:
        return Outcome(422, code, f"{exc.reason_zh}。请核对标签上的编码。", field="code")
    except NotFound as exc:
        return Outcome(404, code, exc.detail, field="code")
    if not view.active:
        return Outcome(410, view.code, f"此标签已停用，已由新标签 {view.replaced_by} 替换", field="code")
    if action not in view.actions:
        return await _dispatch_done_by_another(db, principal, view, action, form) or Outcome(
            403, view.code, REFUSED_HERE, field="action")
    try:
        written = await write_once(request, db, principal, action_work(view, principal, action, form), key=key,
                                   fingerprint_body=body, status_code=200)
    except InventoryError as exc:
        status = 403 if isinstance(exc, PermissionDenied) else 409 if isinstance(exc, Conflict) else 422
        return Outcome(status, view.code, for_people(exc.detail), field=exc.field)
    return Outcome(200, view.code, replayed=written.replayed)
