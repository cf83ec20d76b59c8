"""What the incident and dispatch-order pages share: the posted form, its idempotent write, and refusals in Chinese.

A form carries its CSRF token (checked by the middleware) and an idempotency key made when the page was
rendered: a retried or double-tapped form is carried out once, and the retry is sent where the first went.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import msgspec
from litestar import Request, Response
from litestar.response import Redirect, Template
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.page_text import for_people
from api.pages.common import login_redirect, missing, page_principal
from api.writes import write_once
from inventory.access.permissions import allowed
from inventory.access.scope import Principal
from inventory.errors import Conflict, InventoryError, NotFound, PermissionDenied
from inventory.schemas import MAX_ID
from inventory.store import idempotency
from inventory.store.db import Database

# The fields of these forms and filters, as the pages label them.
FIELD_ZH = {
    "name": "事件名称", "kind": "事件类型", "region_code": "行政区划", "lat": "纬度", "lon": "经度", "crs": "坐标系",
    "document_no": "书面批准文号", "confirm": "确认", "status": "状态", "since": "开始日期", "until": "结束日期",
    "q": "名称", "offset": "页码", "limit": "每页条数", "paperwork": "书面手续", "incident": "事件",
    "idempotency_key": "表单编号", "level": "响应级别", "late": "到达时限",
    "occurred_at": "发生时间", "line_id": "明细", "line_ids": "明细", "from_location_id": "出库地点",
    "to_location_id": "归还到",
}
KEY_FIELD = "idempotency_key"


class FormError(InventoryError):
    """A form field the page could not accept, named as the form labels it."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{FIELD_ZH.get(field, field)}：{problem}", field=field)


@dataclass
class Posted:
    """A posted form: its fields (first value of each), the raw body and its idempotency key."""

    fields: dict[str, str]
    body: bytes
    key: str | None

    def get(self, name: str) -> str:
        """A field's value, stripped ("" when absent)."""
        return self.fields.get(name, "").strip()


async def read_form(request: Request[Any, Any, Any]) -> Posted:
    """The URL-encoded form of a POST (only the first value of a repeated field counts)."""
    body = await request.body()
    parsed = parse_qs(body.decode(errors="replace"), keep_blank_values=True)
    fields = {k: v[0] for k, v in parsed.items() if v}
    raw_key = fields.get(KEY_FIELD, "").strip()
    key = raw_key if raw_key and len(raw_key) <= idempotency.MAX_KEY_LENGTH and raw_key.isprintable() else None
    return Posted(fields, body, key)


def status_of(exc: InventoryError) -> int:
    """The page's status for a refusal: 403, 404, 409 or 422."""
    if isinstance(exc, PermissionDenied):
        return 403
    if isinstance(exc, NotFound):
        return 404
    return 409 if isinstance(exc, Conflict) else 422


_ENGLISH_TAIL = re.compile(r"(?<=[。）])\s*[A-Za-z][\x20-\x7e]*$")  # "…。Latitude and longitude look swapped."
_COORDINATE = re.compile(r"\b(lat|lon)=")


def error_text(exc: InventoryError) -> str:
    """A refusal as people read it, led by the field's label when the sentence does not name it."""
    text = exc.detail if isinstance(exc, FormError) else for_people(exc.detail)
    text = _COORDINATE.sub(lambda m: "纬度 " if m.group(1) == "lat" else "经度 ", _ENGLISH_TAIL.sub("", text))
    label = FIELD_ZH.get((exc.field or "").rsplit(".", 1)[-1])
    return f"{label}：{text}" if label and label not in text else text


async def stored_answer(db: Database, principal: Principal, path: str, posted: Posted, *,
                        through_writer: bool = False) -> dict[str, Any] | None:
    """The first answer to this very form when it was already carried out (a retry or a double tap), else None.

    ``through_writer`` after a collision: on SQLite the first request may still be in the group being committed.
    """
    if posted.key is None:
        return None
    fingerprint = idempotency.request_fingerprint("POST", path, posted.body)
    try:
        async with db.write() if through_writer else db.read() as session:
            found = await idempotency.find_response(session, principal.username, posted.key, fingerprint)
    except Conflict:
        return None  # the key came with another form: the write refuses it with the reason
    if found is None:
        return None
    answer = msgspec.json.decode(found.response_body)
    return answer if isinstance(answer, dict) else {}


async def submit(request: Request[Any, Any, Any], db: Database, principal: Principal, posted: Posted,
                 work: Callable[[AsyncSession], Awaitable[Any]]) -> dict[str, Any]:
    """Carry out a form's write once per idempotency key, audited; the answer (the first one on a retry).

    Two copies of one form racing each other may collide on another unique column than the key (e.g. an
    incident's generated code) before the key is stored: the later one then answers with the first's result.
    """
    try:
        written = await write_once(request, db, principal, work, key=posted.key, fingerprint_body=posted.body,
                                   status_code=200)
    except IntegrityError:
        earlier = await stored_answer(db, principal, request.url.path, posted, through_writer=True)
        if earlier is None:
            raise
        return earlier
    if written.replayed:
        answer = msgspec.json.decode(written.body)
        return answer if isinstance(answer, dict) else {}
    result = msgspec.to_builtins(written.result)
    return result if isinstance(result, dict) else {}


async def posted_step(
    request: Request[Any, Any, Any], db: Database, *, here: str, thing_id: int, not_found: str, permission: str,
    done: str, refuse: Callable[[Principal], Awaitable[Template]],
) -> Response[Any] | Template | tuple[Principal, Posted]:
    """The signed-in user and the form of a step on one thing (an order, an incident, a request) — or the answer
    already due: sign in, no such thing (404 with ``not_found``), not allowed (``refuse``: its page with a 403),
    or the stored outcome of a double tap or a resend (back to ``here?done=done``)."""
    principal = await page_principal(request, db)
    if principal is None:
        return login_redirect(here)
    if not 1 <= thing_id <= MAX_ID:
        return missing(principal, not_found)
    posted = await read_form(request)
    if not allowed(permission, principal.role):
        return await refuse(principal)
    if await stored_answer(db, principal, request.url.path, posted) is not None:
        return Redirect(f"{here}?done={done}", status_code=303)  # a double tap or a resend
    return principal, posted
