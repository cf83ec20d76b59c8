"""QR labels: one label as PNG or SVG, PDF sheets for printing, and re-issuing a damaged label."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import ResponseHeader
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import IdempotencyKey
from api.writes import run_write
from inventory.access.scope import Principal
from inventory.config import Settings
from inventory.errors import InvalidInput
from inventory.scan.label_data import content_for_code, render_contents, sheet_contents
from inventory.schemas import Id
from inventory.stock.custody import require_target_scope
from inventory.store.db import Database
from inventory.store.label_codes import reissue_label, resolve
from labels.codes import InvalidCode
from labels.fonts import font_path
from labels.render import render_png, render_svg
from labels.sheets import TEMPLATES

TRUNCATED = "X-Labels-Truncated"
TRUNCATED_CODES = "X-Labels-Truncated-Codes"
SHOWN_CODES = 20


class SheetRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Which labels to print and on what stock: at most 5,000 labels in all (codes may repeat for copies)."""

    template: str = "a4-3x8"
    codes: list[str] = msgspec.field(default_factory=list)
    location_id: Id | None = None
    item_type_id: Id | None = None


class Reissued(msgspec.Struct):
    """A damaged label replaced: the old code now answers 'replaced by'."""

    id: int
    old_code: str
    new_code: str
    kind: str


def _code_error(code: str, exc: InvalidCode) -> InvalidInput:
    return InvalidInput(f"标签编码 {code} 有误：{exc.reason_zh}", field="code")


class LabelController(Controller):
    """Labels for printing."""

    path = "/api/v1/labels"
    tags = ["labels"]

    @get("/{filename:str}", opt={"action": "read"}, media_type="image/*")  # image/png or image/svg+xml
    async def label(self, db: Database, settings: Settings, filename: str) -> Response[bytes]:
        """``{code}.png`` (300 dpi, 70×37 mm) or ``{code}.svg`` (text as outlines): one label."""
        code, _, ext = filename.rpartition(".")
        if ext not in ("png", "svg"):
            raise InvalidInput("请求 {code}.png 或 {code}.svg", field="filename")
        try:
            async with db.read() as session:
                content = await content_for_code(session, settings.public_url, code)
        except InvalidCode as exc:
            raise _code_error(code, exc) from exc
        if ext == "png":
            data = await asyncio.to_thread(render_png, content)
            return Response(data, media_type="image/png")
        svg = await asyncio.to_thread(render_svg, content)
        return Response(svg.encode(), media_type="image/svg+xml")

    @post("/sheets", opt={"action": "labels.print"}, status_code=200, media_type="application/pdf",
          response_headers=[ResponseHeader(
              name=TRUNCATED, documentation_only=True, description=(
                  "How many labels had text cut with “…” (it did not fit even at the smallest size); with "
                  f"{TRUNCATED_CODES}, the first {SHOWN_CODES} of their codes."))])
    async def sheet(self, db: Database, settings: Settings, principal: Principal,
                    data: SheetRequest) -> Response[bytes]:
        """A PDF sheet: by list of codes, and/or everything at a location and/or of an item type.

        At most 5,000 labels, whatever the selection (a 422 naming the field otherwise). A keeper prints only
        the labels of things in his scope (an item type alone: its things at his places).
        """
        if data.template not in TEMPLATES:
            raise InvalidInput(f"模板 {data.template} 不存在，可选：{', '.join(TEMPLATES)}", field="template")
        font_path()  # without the font nothing can be printed: say so before issuing any code
        contents = await sheet_contents(db, settings.public_url, codes=data.codes, location_id=data.location_id,
                                        item_type_id=data.item_type_id, principal=principal)
        if not contents:
            raise InvalidInput("所选范围内没有可打印的标签",
                               field="location_id" if data.location_id is not None else "item_type_id")
        # Outside any transaction and off the event loop: a sheet of thousands takes many seconds.
        sheet = await asyncio.to_thread(render_contents, contents, data.template)
        headers = {"Content-Disposition": f'attachment; filename="labels-{data.template}.pdf"',
                   TRUNCATED: str(len(sheet.truncated))}
        if sheet.truncated:
            headers[TRUNCATED_CODES] = ",".join(code for code, _ in sheet.truncated[:SHOWN_CODES])
        return Response(sheet.pdf, media_type="application/pdf", headers=headers)

    @post("/{code:str}/reissue", opt={"action": "labels.reissue"})
    async def reissue(self, request: Request[Any, Any, Any], db: Database, principal: Principal, code: str,
                      idempotency_key: IdempotencyKey = None) -> Response[Reissued]:
        """Replace a damaged label with a new code for the same thing."""

        async def work(session: AsyncSession) -> Reissued:
            try:
                found = await resolve(session, code)
            except InvalidCode as exc:
                raise _code_error(code, exc) from exc
            # A unit out of stock answers by where it last was, a lot by the places holding it.
            await require_target_scope(session, principal, found.kind, found.target_id)
            new = await reissue_label(session, found.code)
            return Reissued(found.target_id, found.code, new, found.kind)

        return await run_write(request, db, principal, work)
