"""The relief page of an incident (救灾物资发放, ``/incidents/{id}/relief``): the keeper's form at the staging place,
the recent distributions, and for everyone who reads, totals per item and village with the registers to download.

The form posts with its CSRF token and an idempotency key made when the page was rendered, so a double tap or a
resend hands out once. A refusal (the same household again in a round, too little stock, a wrong ID number) is
shown in Chinese above the form and nothing changes. The ID number typed is never shown back: only its last four.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response, get, post
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from api.controllers.relief import fingerprint_salt, register_disposition, register_workbook
from api.pages.common import PAGE, login_redirect, missing, page_context, page_principal
from api.pages.occurred_at import form_occurred_at
from api.pages.response_forms import Posted, error_text, read_form, status_of, stored_answer, submit
from api.report_workbooks import XLSX
from inventory.access.permissions import allowed
from inventory.access.scope import Principal, in_scope
from inventory.errors import InvalidInput, InventoryError
from inventory.relief import service, views
from inventory.relief.ids import id_hash, normalise_id_number
from inventory.relief.schemas import DistributionCreate, DistributionRead
from inventory.response.incidents import get_incident
from inventory.schemas import MAX_ID
from inventory.store.db import Database

PATH = "/incidents/{incident_id:int}/relief"
ITEM_ROWS = 3  # item lines on the form
RECENT = 20
LABELS = {
    "head_name": "户主姓名", "id_number": "身份证号", "village": "村（社区）", "size": "家庭人口", "phone": "联系电话",
    "round": "轮次", "occurred_at": "发放时间", "reason": "重复发放原因", "item": "物资", "qty": "数量",
    "household": "户主",
}
KEPT = ("head_name", "village", "size", "phone", "round", "occurred_at", "reason",
        *(f"{name}_{k}" for k in range(1, ITEM_ROWS + 1) for name in ("item", "qty")))


def _here(incident_id: int) -> str:
    return f"/incidents/{incident_id}/relief"


def _bad(field: str, problem: str) -> InvalidInput:
    """A form field the page cannot accept, named as the form labels it."""
    return InvalidInput(f"{LABELS.get(field.split('_')[0] if field[-1].isdigit() else field, '输入')}：{problem}",
                        field=field)


def _whole(raw: str, field: str, low: int, high: int) -> int:
    raw = raw.strip()
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise _bad(field, f"应为 {low}–{high} 之间的整数")
    return int(raw)


async def private_posted(db: Database, posted: Posted) -> Posted:
    """The form with the ID number in its body replaced by the salted hash, for the idempotency fingerprint
    (see :func:`api.controllers.relief.private_fingerprint`); the fields stay as typed."""
    if posted.key is None:
        return posted
    salt = await fingerprint_salt(db)
    fields = {**posted.fields, "id_number": id_hash(salt, posted.get("id_number"))}
    return Posted(posted.fields, urlencode(sorted(fields.items())).encode(), posted.key)


def distribution_from_form(posted: Posted) -> DistributionCreate:
    """The form as a distribution request; InvalidInput naming the form's field when something is off."""
    lines = []
    for k in range(1, ITEM_ROWS + 1):
        item, qty = posted.get(f"item_{k}"), posted.get(f"qty_{k}")
        if not item and not qty:
            continue
        if not item:
            raise _bad(f"item_{k}", "请选择物资")
        lines.append({"item_type": item, "quantity": _whole(qty or "0", f"qty_{k}", 1, 10_000)})
    if not lines:
        raise _bad("item_1", "请至少选择一种物资并填写数量")
    body = {
        "household": {"head_name": posted.get("head_name"), "id_number": normalise_id_number(posted.get("id_number")),
                      "village": posted.get("village"), "size": _whole(posted.get("size"), "size", 1, 30),
                      "phone": posted.get("phone")},
        "lines": lines, "round": _whole(posted.get("round") or "1", "round", 1, 99),
        "reason": posted.get("reason"), "occurred_at": form_occurred_at({"occurred_at": [posted.get("occurred_at")]}),
    }
    try:
        return msgspec.convert(body, DistributionCreate)
    except (msgspec.ValidationError, ValueError) as exc:
        where = str(exc).rsplit("$.", 1)[-1].strip("`' ") if "$." in str(exc) else "occurred_at"
        field = where.rsplit(".", 1)[-1]
        problem = {"head_name": "必填，至多 50 个字", "village": "必填，至多 50 个字", "phone": "至多 20 个字符",
                   "reason": "至多 200 个字", "occurred_at": "超出可填的时间范围"}.get(field, "不合要求")
        raise _bad(field, problem) from None


async def _render(db: Database, principal: Principal, incident_id: int, *, done: DistributionRead | None = None,
                  error: str | None = None, error_field: str | None = None, status: int = 200,
                  form: dict[str, str] | None = None) -> Template:
    if not 1 <= incident_id <= MAX_ID:
        return missing(principal, f"事件编号 {incident_id} 不存在")
    try:
        async with db.read() as session:
            incident = await get_incident(session, incident_id)
            totals = await views.relief_totals(session, incident_id)
            recent = await views.list_distributions(session, incident_id, limit=RECENT, offset=0)
            stock = await views.stock_to_hand_out(session, incident.location_id)
            mine = await in_scope(session, principal, incident.location_id)
            place_name = await views.place_name(session, incident.location_id)
    except InventoryError as exc:
        return missing(principal, error_text(exc))
    may_role = allowed(service.ACTION, principal.role)
    last_round = max((r for v in totals.villages for r in v.rounds), default=1)
    form = form or {"round": str(last_round)}
    return Template("relief.html", status_code=status, context=page_context(
        principal, incident=incident, place_name=place_name, totals=totals, recent=recent,
        stock=stock, may_distribute=may_role and mine and incident.status == "open", may_role=may_role, mine=mine,
        form=form, item_rows=range(1, ITEM_ROWS + 1), key=uuid.uuid4().hex, done=done, error=error,
        error_field=error_field, here=_here(incident_id)))


@get(PATH, opt=PAGE, include_in_schema=False)
async def relief_page(request: Request[Any, Any, Any], db: Database, incident_id: int,
                      done: str | None = None) -> Template | Redirect:
    """The incident's relief: the form for a keeper at the staging place, recent distributions, totals, registers."""
    principal = await page_principal(request, db)
    if principal is None:
        return login_redirect(_here(incident_id))
    shown = None
    if done and done.isascii() and done.isdigit() and 1 <= int(done) <= MAX_ID and 1 <= incident_id <= MAX_ID:
        try:
            async with db.read() as session:
                shown = await views.get_distribution(session, incident_id, int(done))
        except InventoryError:
            shown = None
    return await _render(db, principal, incident_id, done=shown)


@post(PATH, opt=PAGE, include_in_schema=False, status_code=303)
async def distribute_from_page(request: Request[Any, Any, Any], db: Database, incident_id: int) -> Response[Any]:
    """Hand out from the form, once per form whatever the number of taps; then the page with what was given."""
    principal = await page_principal(request, db)
    here = _here(incident_id)
    if principal is None:
        return login_redirect(here)
    posted = await private_posted(db, await read_form(request))
    form = {k: posted.get(k) for k in KEPT}
    if not allowed(service.ACTION, principal.role):
        return await _render(db, principal, incident_id, status=403, form=form,
                             error="您没有发放救灾物资的权限（只有保管员、指挥人员和管理员可以发放）")
    earlier = await stored_answer(db, principal, request.url.path, posted)
    if earlier is not None:  # a double tap or a resend
        return Redirect(f"{here}?done={earlier.get('id', '')}", status_code=303)
    try:
        data = distribution_from_form(posted)

        async def work(session: AsyncSession) -> DistributionRead:
            return await views.distribution_read(session, await service.distribute(session, incident_id, data,
                                                                                  principal))

        answer = await submit(request, db, principal, posted, work)
    except InventoryError as exc:
        return await _render(db, principal, incident_id, form=form, error=error_text(exc), error_field=exc.field,
                             status=status_of(exc))
    return Redirect(f"{here}?done={answer['id']}", status_code=303)


@get(f"{PATH}/register.xlsx", opt=PAGE, include_in_schema=False)
async def register_xlsx(request: Request[Any, Any, Any], db: Database, incident_id: int, village: str = "",
                        round: str = "1") -> Response[Any]:
    """The 救灾物资发放登记表 of a village and round (the page's download link; goes by the session cookie)."""
    principal = await page_principal(request, db)
    if principal is None:
        return login_redirect(_here(incident_id))
    village = village.strip()[:50]
    if not village or not (round.isascii() and round.isdigit() and 1 <= int(round) <= 99):
        return await _render(db, principal, incident_id, status=422,
                             error="请从发放汇总中选择村（社区）和轮次再下载登记表")
    if not 1 <= incident_id <= MAX_ID:
        return missing(principal, f"事件编号 {incident_id} 不存在")
    try:
        async with db.heavy_read() as session:  # an export: off the event loop
            register = await views.register_rows(session, incident_id, village, int(round))
    except InventoryError as exc:
        return missing(principal, error_text(exc))
    data = await asyncio.to_thread(register_workbook, register)
    return Response(data, media_type=XLSX,
                    headers={"Content-Disposition": register_disposition(incident_id, village, int(round))})


HANDLERS = [relief_page, distribute_from_page, register_xlsx]
