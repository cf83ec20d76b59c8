"""Domain errors raised by services; the API maps them to problem details in one place."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class InventoryError(Exception):
    """Base of every domain error; ``detail`` is a sentence a person can act on (Chinese first)."""

    def __init__(self, detail: str, *, field: str | None = None, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra or {}


class NotFound(InventoryError):
    """The named thing does not exist."""


class Conflict(InventoryError):
    """The request contradicts the current state (duplicate code, wrong status…)."""


class InsufficientStock(Conflict):
    """Fewer units are available than requested."""


class InvalidInput(InventoryError):
    """The input breaks a rule; ``field`` names the field at fault."""


class SheetProblem(Protocol):
    """One thing wrong on an imported sheet: the row, the column, the value as written, what is wrong."""

    @property
    def row(self) -> int: ...
    @property
    def column(self) -> str: ...
    @property
    def value(self) -> str: ...
    @property
    def message(self) -> str: ...


class SheetRejected(InvalidInput):
    """An imported sheet with problems: nothing imported; each problem listed (the first ``listed``) and counted.

    Each entry of ``errors`` names the upload (``field`` ``file``), the sheet row, the column, the value as written
    and what is wrong; the detail names the sheet (``sheet``, e.g. 储备定额表) and shows the first five.
    """

    def __init__(self, sheet: str, problems: Sequence[SheetProblem], total: int, *, listed: int = 1000) -> None:
        shown = "；".join(f"第 {p.row} 行「{p.column}」{p.value!r}：{p.message}" for p in problems[:5])
        more = f"（另有 {total - 5} 处）" if total > 5 else ""
        super().__init__(f"{sheet}有 {total} 处错误，未导入任何数据：{shown}{more}", field="file",
                         extra={"errors": [{"field": "file", "row": p.row, "column": p.column, "value": p.value,
                                            "message": p.message} for p in problems[:listed]],
                                "errors_total": total})


class PermissionDenied(InventoryError):
    """The actor may not do this (role or scope)."""


class Unauthenticated(InventoryError):
    """No valid credentials."""
