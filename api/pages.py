"""Server-rendered phone pages: sign-in, home, and the scan page with its one-tap actions."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from litestar import Request, Response, get, post
from litestar.params import QueryParameter
from litestar.response import Redirect, Template
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.audit_trail import client_ip
from api.auth import SESSION_COOKIE
from api.page_text import field_zh, for_people
from api.writes import write_once
from inventory.access import accounts
from inventory.access.accounts import Principal
from inventory.access.permissions import ROLE_ZH
from inventory.access.sign_in import sign_in as password_sign_in
from inventory.config import Settings
from inventory.errors import Conflict, InventoryError, NotFound, PermissionDenied, Unauthenticated
from inventory.scan import actions as scan_actions
from inventory.scan import choices as scan_choices
from inventory.scan.resolve import ACTION_ZH, BEIJING, SITES_SHOWN, ScanView, _recent, lot_sites_page, scan_view
from inventory.stock import assets
from inventory.stock import queries as stock
from inventory.store import idempotency
from inventory.store.db import Database
from inventory.store.models import Asset, Document, ItemType, Location, Region
from labels.codes import InvalidCode

PAGE = {"action": "public", "exclude_from_auth": True}
SESSION_TTL = dt.timedelta(hours=12)
DONE_ZH = {
    "checkout": "已领用出库", "checkin": "已归还入库", "move": "已办理移库", "inspect": "检查已记录",
    "damaged": "已报损，转入维修",
    "lost": "已报失", "receive_transfer": "已签收", "issue": "已出库", "receive": "已入库", "count": "盘点已记录",
}


async def page_principal(request: Request[Any, Any, Any], db: Database) -> Principal | None:
    """The user of the session cookie, or None when not signed in (pages then redirect to sign-in)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return await accounts.cached_principal(db.read, token, "session")
    except Unauthenticated:
        return None


def _login_redirect(path: str) -> Redirect:
    return Redirect(f"/login?next={quote(path)}", status_code=303)


def _safe_next(value: str | None) -> str:
    return value if value and value.startswith("/") and not value.startswith("//") else "/"


def _context(principal: Principal | None, **extra: Any) -> dict[str, Any]:
    return {"principal": principal, "role_zh": ROLE_ZH.get(principal.role, "") if principal else "", "tz": BEIJING,
            **extra}


@get("/login", opt=PAGE, include_in_schema=False)
async def login_page(next_path: Annotated[str | None, QueryParameter(name="next")] = None) -> Template:
    """The sign-in form."""
    return Template("login.html", context=_context(None, next=_safe_next(next_path), error=None, username=""))


@post("/login", opt=PAGE, include_in_schema=False, status_code=303)
async def login(request: Request[Any, Any, Any], db: Database, settings: Settings) -> Response[Any]:
    """Check the password (throttled like the API) and set the session cookie."""
    form = parse_qs((await request.body()).decode())
    username = (form.get("username") or [""])[0].strip()[:64]
    password = (form.get("password") or [""])[0]
    target = _safe_next((form.get("next") or ["/"])[0])
    result = await password_sign_in(db, username, password, client_ip(request.scope), kind="session",
                                    ttl=SESSION_TTL)
    wait = result.retry_after
    if result.outcome == "throttled":
        return Template("login.html", status_code=429, headers={"Retry-After": str(wait)}, context=_context(
            None, next=target, username=username, error=f"登录失败次数过多，请 {wait // 60 + 1} 分钟后再试"))
    if result.outcome == "busy":
        return Template("login.html", status_code=503, headers={"Retry-After": str(wait)}, context=_context(
            None, next=target, username=username, error=f"登录的人太多，请 {wait} 秒后再试"))
    if result.outcome != "ok":
        return Template("login.html", status_code=401, context=_context(
            None, next=target, username=username, error="用户名或密码错误，或账号已停用"))
    response: Response[Any] = Redirect(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, result.token, max_age=int(SESSION_TTL.total_seconds()), httponly=True,
                        samesite="lax", secure=settings.public_url.startswith("https"), path="/")
    return response


@post("/logout", opt=PAGE, include_in_schema=False, status_code=303)
async def logout(request: Request[Any, Any, Any], db: Database) -> Response[Any]:
    """Revoke the session and clear the cookie."""
    principal = await page_principal(request, db)
    if principal is not None:
        async with db.write() as session:
            await accounts.revoke_token(session, principal.token_id)
    response: Response[Any] = Redirect("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def _my_locations(session: AsyncSession, principal: Principal, limit: int = 200) -> list[Location]:
    stmt = select(Location).where(Location.active.is_(True)).order_by(Location.kind != "depot", Location.code)
    if principal.role != "admin":
        conditions = [Location.region_code.startswith(r) for r in principal.scope_regions]
        conditions += [Location.path.contains(f"/{i}/") for i in principal.scope_locations]
        if not conditions:
            return []
        stmt = stmt.where(or_(*conditions))
    return list(await session.scalars(stmt.limit(limit)))


@get("/", opt=PAGE, include_in_schema=False)
async def home(request: Request[Any, Any, Any], db: Database) -> Template | Redirect:
    """A keeper's places and recent movements; for commanders, available equipment per county."""
    principal = await page_principal(request, db)
    if principal is None:
        return _login_redirect("/")
    categories = [("pump", "排涝泵"), ("generator", "发电机"), ("boat", "舟艇"), ("drone", "无人机")]
    async with db.read() as session:
        locations = await _my_locations(session, principal, 60)
        ids = [loc.id for loc in locations]
        recent = await _recent(session, Location.id.in_(ids), limit=10) if ids else []
        availability = []
        if principal.role in ("commander", "admin", "auditor"):
            prefix = next(iter(principal.scope_regions), "3601")[:4]
            counties = {r.code: r.name for r in await session.scalars(
                select(Region).where(Region.parent_code == prefix).order_by(Region.code))}
            # One expression object in SELECT and GROUP BY (the same binds), or PostgreSQL refuses the grouping.
            county_of = func.substr(Location.region_code, 1, 6)
            rows = (await session.execute(
                select(county_of, ItemType.category, func.count())
                .select_from(Asset).join(Location, Location.id == Asset.location_id)
                .join(ItemType, ItemType.id == Asset.item_type_id)
                .where(Asset.status == "available", Asset.readiness != "fault",
                       Location.region_code.startswith(prefix))
                .group_by(county_of, ItemType.category))).all()
            counts: dict[str, dict[str, int]] = {code: {} for code in counties}
            for county, category, n in rows:
                if county in counts:
                    counts[county][category] = int(n)
            availability = [{"name": counties[c], "counts": counts[c]} for c in counties]
    scope_text = "、".join(principal.scope_regions) if principal.scope_regions else ""
    return Template("home.html", context=_context(
        principal, locations=locations, recent=recent, availability=availability, categories=categories,
        scope_text=scope_text))


def _error_page(code: str, heading: str, message: str, status: int, replaced_by: str | None = None) -> Template:
    return Template("scan_error.html", status_code=status, context=_context(
        None, code=code, heading=heading, message=message, replaced_by=replaced_by))


async def _render_scan(request: Request[Any, Any, Any], db: Database, principal: Principal, code: str, *,
                       done: str | None = None, error: str | None = None, open_action: str | None = None,
                       status: int = 200) -> Template:
    try:
        async with db.read() as session:
            view = await scan_view(session, code, principal, sites=SITES_SHOWN)
            extra = await _form_choices(session, principal, view)
    except InvalidCode as exc:
        return _error_page(code, "标签编码有误", f"{exc.reason_zh}。请核对标签上的编码。", 422)
    except NotFound as exc:
        return _error_page(code, "未找到此标签", exc.detail, 404)
    if not view.active:
        message = f"此标签已停用，已由新标签 {view.replaced_by} 替换，请撕下旧标签。"
        return _error_page(view.code, "此标签已停用", message, 410, view.replaced_by)
    keys = {action: uuid.uuid4().hex for action in view.actions}
    return Template("scan.html", status_code=status, context=_context(
        principal, view=view, action_zh=ACTION_ZH, keys=keys, done=done, error=error, open_action=open_action,
        **extra))


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
    return Template("scan_sites.html", context=_context(principal, sites=sites))


@get("/s/{code:str}", opt=PAGE, include_in_schema=False)
async def scan_page(request: Request[Any, Any, Any], db: Database, code: str, done: str | None = None,
                    show_all: Annotated[str | None, QueryParameter(name="all")] = None,
                    page: str | None = None) -> Template | Redirect:
    """What a scanned label names, and the actions this user may take; ``?all=1`` every place holding a lot."""
    principal = await page_principal(request, db)
    if principal is None:
        return _login_redirect(f"/s/{code}")
    if show_all:
        return await _render_sites(request, db, principal, code, page)
    return await _render_scan(request, db, principal, code, done=DONE_ZH.get(done or ""))


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


class _FormError(InventoryError):
    """A form field the page could not read (empty, not a number or date), named as the form labels it."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field_zh(field)}：{problem}", field=field)


async def _resolve_target(session: AsyncSession, form: dict[str, list[str]]) -> int:
    return await scan_actions.resolve_place(session, (form.get("to") or [""])[0])


def _action_work(view: ScanView, principal: Principal, action: str,
                 form: dict[str, list[str]]) -> Callable[[AsyncSession], Awaitable[Any]]:
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
        target = view.target_id
        if action == "checkout":
            return await scan_actions.checkout(session, principal, target, text.get("counterparty", ""),
                                               text.get("reason", ""))
        if action == "checkin":
            return await scan_actions.checkin(session, principal, target, _int(form, "location_id") or 0, "")
        if action == "move" and view.kind == "asset":
            return await scan_actions.move(session, principal, target, await _resolve_target(session, form))
        if action == "receive_transfer":
            return await scan_actions.receive_asset(session, principal, target)
        if action == "inspect":
            return await scan_actions.inspect(session, principal, target, _int(form, "battery_pct", required=False),
                                              _int(form, "fuel_pct", required=False), text.get("result") != "fault",
                                              text.get("note", ""))
        if action == "damaged":
            return await scan_actions.damaged(session, principal, target, text.get("note", ""))
        if action == "lost":
            return await scan_actions.lost(session, principal, target, text.get("note", ""))
        if action == "issue":
            return await scan_actions.issue_lot(session, principal, target, _int(form, "location_id") or 0,
                                                _int(form, "quantity", minimum=1) or 0, text.get("counterparty", ""))
        if action == "move":
            return await scan_actions.move_lot(session, principal, target, _int(form, "location_id") or 0,
                                               await _resolve_target(session, form),
                                               _int(form, "quantity", minimum=1) or 0)
        if action == "receive":
            expiry = _date(form, "expiry_date")
            return await scan_actions.receive_here(session, principal, target, _int(form, "item_type_id") or 0,
                                                   _int(form, "quantity", minimum=1) or 0, text.get("lot_number", ""),
                                                   expiry, "")
        if action == "count":
            return await scan_actions.count_here(session, principal, target, _int(form, "item_type_id") or 0,
                                                 _int(form, "counted") or 0)
        raise _FormError("action", "未知操作")

    return work


@post("/s/{code:str}", opt=PAGE, include_in_schema=False, status_code=303)
async def scan_act(request: Request[Any, Any, Any], db: Database, code: str) -> Response[Any]:
    """Carry out one action from the scan page, exactly once per form (its idempotency key)."""
    principal = await page_principal(request, db)
    if principal is None:
        return _login_redirect(f"/s/{code}")
    body = await request.body()
    form = parse_qs(body.decode(), keep_blank_values=True)
    action = (form.get("action") or [""])[0]
    key = (form.get("idempotency_key") or [""])[0] or None
    if key and await form_already_done(db, principal, request.url.path, key, body):
        return Redirect(f"/s/{code}?done={action}", status_code=303)  # a double tap or a resend
    try:
        async with db.read() as session:
            view = await scan_view(session, code, principal)
    except (InvalidCode, NotFound):
        return await _render_scan(request, db, principal, code)
    if action not in view.actions:
        # Not offered to this user here (role, scope or state): refuse, and say why.
        return await _render_scan(request, db, principal, code, status=403,
                                  error="您不能在此办理该操作（不在您的辖区、角色不允许或装备状态已变化）")
    try:
        await write_once(request, db, principal, _action_work(view, principal, action, form), key=key,
                         fingerprint_body=body, status_code=200)
    except InventoryError as exc:
        status = 403 if isinstance(exc, PermissionDenied) else 409 if isinstance(exc, Conflict) else 422
        return await _render_scan(request, db, principal, view.code, error=for_people(exc.detail),
                                  open_action=action, status=status)
    return Redirect(f"/s/{view.code}?done={action}", status_code=303)


async def form_already_done(db: Database, principal: Principal, path: str, key: str, body: bytes) -> bool:
    """True when this form (same idempotency key and content) was already carried out."""
    fingerprint = idempotency.request_fingerprint("POST", path, body)
    try:
        async with db.read() as session:
            return await idempotency.find_response(session, principal.username, key, fingerprint) is not None
    except Conflict:
        return False


PAGE_HANDLERS = [login_page, login, logout, home, scan_page, scan_act]
