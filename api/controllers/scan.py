"""What a scanned code names (API form of the scan page)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get

from api.errors import problem
from api.openapi import problem_responses
from inventory.access.scope import Principal
from inventory.errors import InvalidInput
from inventory.scan.resolve import ScanView, scan_view
from inventory.store.db import Database
from labels.codes import InvalidCode


class ScanController(Controller):
    """Resolve label codes."""

    path = "/api/v1/scan"
    tags = ["labels"]

    @get("/{code:str}", opt={"action": "read"}, responses=problem_responses(410))
    async def scan(self, db: Database, principal: Principal, code: str) -> Response[Any]:
        """The thing a label names, its state, and the actions this user may take.

        A wrong check character is 422, a code never issued 404, a re-issued (retired) label 410
        with ``replaced_by``.
        """
        try:
            async with db.read() as session:
                view: ScanView = await scan_view(session, code, principal)
        except InvalidCode as exc:
            raise InvalidInput(f"标签编码 {code} 有误：{exc.reason_zh}", field="code") from exc
        if not view.active:
            return problem(410, f"标签 {view.code} 已停用，已由 {view.replaced_by} 替换", title="标签已停用",
                           replaced_by=view.replaced_by, kind=view.kind, target_id=view.target_id)
        return Response(view)
