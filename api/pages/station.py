"""The scan station (扫码台): a page kept open at a depot's door that records scans while the network is down.

The page (``station.html`` with ``static/station.js``) captures each scan as an outbox entry with its own
idempotency key and its capture time, keeps the outbox in the browser, and sends the entries here one at a
time when the service answers again. ``POST /station/actions`` carries out one entry through
:func:`api.scan_work.perform` — exactly once per key, so a resend after a lost answer is replayed, not
written twice — and answers JSON the page can sort: done, refused (the reason, in Chinese, for the
需处理 list) or signed out (401, never a redirect: the page keeps the entry and asks to sign in again).
``GET /station/probe`` tells the page the service is reachable (navigator.onLine is not trusted), whether
the session still holds, and the CSRF token bound to the current session cookie.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.response import Redirect, Template
from litestar.utils.scope.state import ScopeState

from api.auth import SESSION_COOKIE
from api.pages.common import PAGE, login_redirect, page_context, page_principal
from api.scan_work import perform
from inventory.access import tokens
from inventory.access.permissions import allowed
from inventory.access.scope import Principal
from inventory.clock import BEIJING
from inventory.errors import Unauthenticated
from inventory.scan import choices as scan_choices
from inventory.store.db import Database

MAX_BODY = 8 * 1024  # one action: a code, a few short fields
NO_STORE = {"Cache-Control": "no-store"}
SERVICE_WORKER = Path(__file__).resolve().parents[1] / "static" / "station-sw.js"


@dataclass(frozen=True)
class Mode:
    """One of the station's modes: the scan action it sends, who may use it and the fields it needs."""

    action: str
    zh: str
    permission: str
    needs: tuple[str, ...] = ()  # fields the page asks for before it records a scan
    fixed: dict[str, str] = field(default_factory=dict)
    optional: tuple[str, ...] = ()  # fields sent when filled in


MODES = (
    Mode("checkout", "领用出库", "movements.post", ("counterparty",)),
    Mode("checkin", "归还入库", "movements.post", ("location_id",)),
    Mode("move", "移库", "movements.post", ("to",)),
    Mode("receive_transfer", "到货签收", "transfers.receive"),
    Mode("inspect", "检查完好", "readiness.check", fixed={"task": "visual_check", "result": "ok"}),
    Mode("dispatch_execute", "动用出库", "dispatch.execute"),
    Mode("dispatch_deliver", "现场签收", "dispatch.execute"),
    Mode("dispatch_return", "动用归还", "dispatch.execute", optional=("to",)),  # empty: back where it came from
)
ACTIONS = {mode.action: mode for mode in MODES}
DONE_ZH = {"checkout": "已领用出库", "checkin": "已归还入库", "move": "已移库", "receive_transfer": "已到货签收",
           "inspect": "检查完好已记录", "dispatch_execute": "已动用出库", "dispatch_deliver": "已现场签收",
           "dispatch_return": "已动用归还"}
SIGNED_OUT = "登录已失效，请重新登录；未上传的记录仍保存在本机，登录后会继续上传"
MALFORMED = "请求有误（记录内容不完整或格式不对），此条无法上传"


class StationAction(msgspec.Struct, forbid_unknown_fields=True):
    """One outbox entry as the page sends it."""

    idempotency_key: Annotated[str, msgspec.Meta(min_length=8, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")]
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
    action: Annotated[str, msgspec.Meta(max_length=40)]
    fields: Annotated[dict[Annotated[str, msgspec.Meta(max_length=40)], str | int],
                      msgspec.Meta(max_length=20)] = msgspec.field(default_factory=dict)
    occurred_at: Annotated[str, msgspec.Meta(max_length=40)] = ""


def may_use(principal: Principal) -> bool:
    """True for the roles the station is for: those who post movements or execute dispatch orders."""
    return allowed("movements.post", principal.role) or allowed("dispatch.execute", principal.role)


async def _session_principal(request: Request[Any, Any, Any], db: Database) -> Principal | None:
    """The session cookie's user without the page extras (the probe and the actions run often)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return await tokens.cached_principal(db.read, token, "session")
    except Unauthenticated:
        return None


def _json(status: int, body: dict[str, Any]) -> Response[Any]:
    return Response(body, status_code=status, media_type="application/json", headers=NO_STORE)


@get("/station", opt=PAGE, include_in_schema=False)
async def station_page(request: Request[Any, Any, Any], db: Database) -> Template | Redirect:
    """The scan station: modes, the code field, the photo button, the outbox and the 需处理 list."""
    principal = await page_principal(request, db)
    if principal is None:
        return login_redirect("/station")
    if not may_use(principal):
        return Template("station.html", status_code=403, context=page_context(principal, usable=False))
    modes = [mode for mode in MODES if allowed(mode.permission, principal.role)]
    async with db.read() as session:
        places = await scan_choices.my_places(session, principal)
        counterparties = await scan_choices.counterparty_suggestions(session, principal)
    csrf = ScopeState.from_scope(request.scope).csrf_token
    return Template("station.html", context=page_context(
        principal, usable=True, modes=modes, places=places, counterparties=counterparties,
        csrf=csrf if isinstance(csrf, str) else ""))


@get("/station/probe", opt=PAGE, include_in_schema=False)
async def station_probe(request: Request[Any, Any, Any], db: Database) -> Response[Any]:
    """Reachability for the station's outbox: signed in or not, the current CSRF token and the server's time."""
    principal = await _session_principal(request, db)
    csrf = ScopeState.from_scope(request.scope).csrf_token
    return _json(200, {"ok": True, "signed_in": principal is not None,
                       "user": principal.username if principal else None, "csrf": csrf if isinstance(csrf, str) else "",
                       "now": dt.datetime.now(BEIJING).isoformat(timespec="seconds")})


@post("/station/actions", opt=PAGE, include_in_schema=False, status_code=200, request_max_body_size=MAX_BODY)
async def station_action(request: Request[Any, Any, Any], db: Database) -> Response[Any]:
    """Carry out one outbox entry, exactly once per idempotency key; JSON for the page to sort."""
    principal = await _session_principal(request, db)
    if principal is None:
        return _json(401, {"status": "signed_out", "message": SIGNED_OUT})
    body = await request.body()
    try:
        entry = msgspec.json.decode(body, type=StationAction)
    except msgspec.DecodeError:
        return _json(400, {"status": "malformed", "message": MALFORMED})
    if entry.action not in ACTIONS:
        return _json(400, {"status": "malformed", "message": f"扫码台不办理此操作（{entry.action[:40]}）"})
    form = {name: [str(value)] for name, value in entry.fields.items()}
    form["occurred_at"] = [entry.occurred_at]
    outcome = await perform(request, db, principal, entry.code.strip(), entry.action, form,
                            key=entry.idempotency_key, body=body)
    if outcome.status == 200:
        return _json(200, {"status": "done", "replayed": outcome.replayed, "code": outcome.code,
                           "message": DONE_ZH[entry.action]})
    return _json(outcome.status, {"status": "refused", "code": outcome.code, "message": outcome.message,
                                  "field": outcome.field})


@cache
def _service_worker() -> bytes:
    return SERVICE_WORKER.read_bytes()  # a few kilobytes shipped with the package, read once


@get("/station-sw.js", opt=PAGE, include_in_schema=False)
async def station_service_worker() -> Response[bytes]:
    """The station's service worker, served from the root so that it may control ``/station``."""
    return Response(_service_worker(), media_type="text/javascript; charset=utf-8",
                    headers={"Cache-Control": "no-cache"})


HANDLERS = [station_page, station_probe, station_action, station_service_worker]
