"""The agreement-reserve pages (协议储备): every agreement with filters, expiring first; one agreement with its
terms, lines, checks and drills and call-offs; and the form on which a commander in scope records a check or a
drill (拉动演练: when the goods were asked for and when they arrived, in Beijing time).

The form posts ``POST /agreements/{id}/checks`` with the CSRF token and an idempotency key made when the page
was rendered, so a double tap or a resend records one check; then 303 back to the agreement with a message.
A bad form re-renders the agreement (422) with what is wrong, naming the field, and records nothing.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any, Final, cast
from urllib.parse import parse_qs

from litestar import Request, Response, get, post
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from api.pages.common import PAGE, form_already_done, login_redirect, page_context, page_principal, pager_urls
from api.writes import write_once
from inventory.access.permissions import ROLE_ZH, allowed
from inventory.access.scope import Principal, in_scope
from inventory.agreements import queries
from inventory.agreements import service as agreements
from inventory.agreements.schemas import (
    CALLOFF_ZH,
    KIND_ZH,
    METHOD_ZH,
    PRICE_ZH,
    RESULT_ZH,
    ROTATION_ZH,
    STATUS_ZH,
    AgreementKind,
    AgreementStatus,
    CheckCount,
    CheckCreate,
    CheckRead,
)
from inventory.clock import BEIJING, beijing_today
from inventory.errors import Conflict, InventoryError, NotFound, PermissionDenied
from inventory.schemas import MAX_ID
from inventory.store import idempotency
from inventory.store.db import Database

PATH: Final = "/agreements"
PAGE_SIZE: Final = 50
CHECK_DUE: Final = {"1": True, "true": True, "yes": True, "是": True, "0": False, "false": False, "no": False,
                    "否": False}
"""What the 检查逾期 filter accepts (the page's own form sends 1 or 0)."""
DONE_ZH: Final = {"check": "检查已记录", "drill": "拉动演练已记录，实测到位时间见检查记录"}
STATUS_BADGE: Final = {"valid": "st-open", "expiring": "due", "pending": "st-reserved", "expired": "st-closed"}
FIELD_ZH: Final = {"checked_on": "检查日期", "method": "检查方式", "result": "检查结果", "deficiency": "发现的问题",
                   "requested_at": "下达调用时间", "arrived_at": "物资到位时间"}
FORM_FIELDS: Final = tuple(FIELD_ZH)
MAX_COUNT: Final = 1_000_000_000
_PHONE_CHARS = re.compile(r"[^0-9+]")




@get(PATH, opt=PAGE, include_in_schema=False)
async def agreements_page(
    request: Request[Any, Any, Any], db: Database, status: str = "", kind: str = "", check_due: str = "",
    vendor: str = "", offset: int = 0,
) -> Template | Redirect:
    """Agreements with filters (status, kind, check overdue, firm or agreement text), expiring first."""
    principal = await page_principal(request, db)
    if principal is None:
        query = request.url.query
        return login_redirect(f"{PATH}?{query}" if query else PATH)
    status = status if status in STATUS_ZH else ""
    kind = kind if kind in KIND_ZH else ""
    due = CHECK_DUE.get(check_due.strip().lower())
    vendor = vendor.strip()[:100]
    offset = max(0, min(offset, 10_000_000))
    today = beijing_today()
    async with db.heavy_read() as session:
        page = await queries.list_agreements(
            session, status=cast("AgreementStatus | None", status or None),
            kind=cast("AgreementKind | None", kind or None), check_due=due, vendor=vendor or None, limit=PAGE_SIZE,
            offset=offset, today=today)
    shown = {"status": status, "kind": kind, "check_due": "" if due is None else "1" if due else "0",
             "vendor": vendor}
    prev_url, next_url = pager_urls(PATH, shown, offset, PAGE_SIZE, page.total)
    return Template("agreements.html", context=page_context(
        principal, rows=page.items, total=page.total, filter=shown, offset=offset, today=today,
        status_zh=STATUS_ZH, status_badge=STATUS_BADGE, kind_zh=KIND_ZH, prev_url=prev_url, next_url=next_url))


def _not_found(principal: Principal, agreement_id: int) -> Template:
    return Template("agreements_one.html", status_code=404, context=page_context(
        principal, agreement=None, error=f"协议储备 id={agreement_id} 不存在"))


async def _render(db: Database, principal: Principal, agreement_id: int, *, done: str | None = None,
                  error: str | None = None, status: int = 200, values: dict[str, str] | None = None) -> Template:
    """The agreement's page; ``values`` fills the check form again after an error."""
    today = beijing_today()
    async with db.read() as session:
        try:
            a = await queries.get_agreement(session, agreement_id)
        except NotFound:
            return _not_found(principal, agreement_id)
        view = await queries.agreement_read(session, a, today)
        checks = await queries.list_checks(session, a)
        calloffs = await queries.list_calloffs(session, a.id, today)
        may_record = allowed("agreements.write", principal.role) and await in_scope(session, principal,
                                                                                   a.vendor_location_id)
    form = {"checked_on": today.isoformat(), "method": "regular", "result": "pass", **(values or {})}
    return Template("agreements_one.html", status_code=status, context=page_context(
        principal, agreement=view, checks=checks, calloffs=calloffs, may_record=may_record, key=uuid.uuid4().hex,
        form=form, done=done, error=error, today=today, tel=_PHONE_CHARS.sub("", view.contact_phone),
        status_zh=STATUS_ZH, status_badge=STATUS_BADGE, kind_zh=KIND_ZH, price_zh=PRICE_ZH,
        rotation_zh=ROTATION_ZH, method_zh=METHOD_ZH, result_zh=RESULT_ZH, calloff_zh=CALLOFF_ZH))


@get(f"{PATH}/{{agreement_id:int}}", opt=PAGE, include_in_schema=False)
async def agreement_page(request: Request[Any, Any, Any], db: Database, agreement_id: int,
                         done: str | None = None) -> Template | Redirect:
    """One agreement: terms, lines, checks and drills, call-offs; a commander in scope records a check here."""
    principal = await page_principal(request, db)
    if principal is None:
        return login_redirect(f"{PATH}/{agreement_id}")
    if not 1 <= agreement_id <= MAX_ID:
        return _not_found(principal, agreement_id)
    return await _render(db, principal, agreement_id, done=DONE_ZH.get(done or ""))


class FormError(ValueError):
    """What is wrong with one field of the check form (in Chinese, naming the field)."""


def _one(form: dict[str, list[str]], name: str) -> str:
    return (form.get(name) or [""])[0].strip()


def _china_time(raw: str, name: str) -> dt.datetime | None:
    """A ``datetime-local`` value read as Beijing time, in UTC; None when blank."""
    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw)
        if value.tzinfo is None:
            value = value.replace(tzinfo=BEIJING)
        value = value.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise FormError(f"{FIELD_ZH[name]} {name}：须为日期和时间（如 2026-05-01T09:30），收到“{raw[:30]}”") from None
    if not 2000 <= value.year <= 2100:
        raise FormError(f"{FIELD_ZH[name]} {name}：须在 2000 年至 2100 年之间，收到“{raw[:30]}”")
    return value


def check_of(form: dict[str, list[str]], lines: dict[int, str]) -> CheckCreate:
    """The check or drill the form asks for (``lines``: the agreement's line ids and item names); FormError."""
    raw_day = _one(form, "checked_on")
    try:
        checked_on = dt.date.fromisoformat(raw_day)
    except ValueError:
        got = f"，收到“{raw_day[:20]}”" if raw_day else ""
        raise FormError(f"检查日期 checked_on：须为日期（如 2026-05-01）{got}") from None
    if checked_on.year < 2000:
        raise FormError(f"检查日期 checked_on：须在 2000 年以后，收到 {checked_on}")
    method, result = _one(form, "method"), _one(form, "result")
    if method not in METHOD_ZH:
        raise FormError(f"检查方式 method：须为{'、'.join(METHOD_ZH.values())}之一，收到“{method[:20]}”")
    if result not in RESULT_ZH:
        raise FormError(f"检查结果 result：须为{'、'.join(RESULT_ZH.values())}之一，收到“{result[:20]}”")
    deficiency = _one(form, "deficiency")
    if len(deficiency) > 300:
        raise FormError(f"发现的问题 deficiency：最多 300 字，收到 {len(deficiency)} 字")
    requested_at = _china_time(_one(form, "requested_at"), "requested_at")
    arrived_at = _china_time(_one(form, "arrived_at"), "arrived_at")
    counts = []
    for name in sorted(n for n in form if n.startswith("count_")):
        raw = _one(form, name)
        suffix = name.removeprefix("count_")
        line_id = int(suffix) if suffix.isascii() and suffix.isdigit() and len(suffix) <= 12 else None
        if line_id not in lines:
            raise FormError(f"清点数量 {name[:30]}：本协议没有这一品目行")
        if not raw:
            continue
        if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_COUNT:
            raise FormError(f"清点数量 {name}（{lines[line_id]}）：须为 0 到 {MAX_COUNT} 的整数，收到“{raw[:20]}”")
        counts.append(CheckCount(line_id=line_id, counted=int(raw)))
    return CheckCreate(checked_on=checked_on, method=method, result=result, counts=counts,  # type: ignore[arg-type]
                       deficiency=deficiency, requested_at=requested_at, arrived_at=arrived_at)


def _status_of(exc: InventoryError) -> int:
    return (403 if isinstance(exc, PermissionDenied) else 404 if isinstance(exc, NotFound)
            else 409 if isinstance(exc, Conflict) else 422)


@post(f"{PATH}/{{agreement_id:int}}/checks", opt=PAGE, include_in_schema=False, status_code=303)
async def record_check_from_page(request: Request[Any, Any, Any], db: Database, agreement_id: int) -> Response[Any]:
    """Record a check or a drill from the page: CSRF-checked (by the app), once per idempotency key, permission
    and scope checked again by the domain; bad input re-renders the agreement with what is wrong."""
    principal = await page_principal(request, db)
    if principal is None:
        return login_redirect(f"{PATH}/{agreement_id}")
    if not 1 <= agreement_id <= MAX_ID:
        return _not_found(principal, agreement_id)
    if not allowed("agreements.write", principal.role):
        role = ROLE_ZH.get(principal.role, principal.role)
        return await _render(db, principal, agreement_id, status=403,
                             error=f"{role}不能记录协议储备的检查或拉动演练（需要指挥人员或管理员），未做任何更改")
    body = await request.body()
    form = parse_qs(body.decode(errors="replace"), keep_blank_values=True)
    values = {k: _one(form, k)[:300] for k in form if k in FORM_FIELDS or k.startswith("count_")}
    done = "drill" if values.get("method") == "drill" else "check"
    key = _one(form, "idempotency_key") or None
    if key is not None and (len(key) > idempotency.MAX_KEY_LENGTH or not key.isprintable()):
        key = None
    if key and await form_already_done(db, principal, request.url.path, key, body):
        return Redirect(f"{PATH}/{agreement_id}?done={done}", status_code=303)
    async with db.read() as session:
        try:
            a = await queries.get_agreement(session, agreement_id)
        except NotFound:
            return _not_found(principal, agreement_id)
        lines = {ln.id: ln.item_name for ln in await queries.agreement_lines(session, a.id)}
        promised = a.response_hours
    try:
        data = check_of(form, lines)
    except FormError as exc:
        return await _render(db, principal, agreement_id, status=422, values=values,
                             error=f"检查未记录，未做任何更改：{exc}")
    today = beijing_today()

    async def work(session: AsyncSession) -> CheckRead:
        check = await agreements.record_check(session, agreement_id, data, principal, today=today)
        return queries.check_read(check, promised, [])

    try:
        await write_once(request, db, principal, work, key=key, fingerprint_body=body, status_code=200)
    except InventoryError as exc:
        return await _render(db, principal, agreement_id, status=_status_of(exc), values=values,
                             error=f"检查未记录，未做任何更改：{exc.detail}")
    return Redirect(f"{PATH}/{agreement_id}?done={done}", status_code=303)


HANDLERS = [agreements_page, agreement_page, record_check_from_page]
