"""Records of uploaded sheets: a refusal keeps its first errors, shortened, and later a small marked-up copy.

A refused upload keeps little: its first ``MAX_ERRORS`` errors (values and messages shortened) with the
count of all, and a marked-up copy that the Excel edge makes afterwards in a worker thread, outside the
write transaction, only for small sheets (:func:`keep_error_copy` stores it); copies of refusals older than
``COPY_RETENTION`` are dropped whenever another refusal is recorded.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.errors import InvalidInput
from inventory.stocktake.schemas import CountedSheet, ImportError_
from inventory.store.models import StocktakeUpload, utcnow

MAX_ERRORS = 1000  # errors stored with a refused upload (the Excel layer lists as many and counts the rest)
COPY_RETENTION = dt.timedelta(days=30)  # marked-up copies of refused uploads
MAX_VALUE_SHOWN = 100  # characters of a cell value kept in a stored error
MAX_MESSAGE = 300


class SheetRejected(InvalidInput):
    """An uploaded sheet with errors: nothing applied; the errors and a marked-up copy are kept."""

    def __init__(self, errors: list[ImportError_], upload_id: int, total: int | None = None) -> None:
        total = len(errors) if total is None else total
        shown = "；".join(f"第 {e.row} 行「{e.column}」{e.value!r}：{e.message}" for e in errors[:5])
        more = f"（另有 {total - 5} 处）" if total > 5 else ""
        listed = f"；errors 只列出前 {len(errors):,} 处" if total > len(errors) else ""
        super().__init__(f"盘点表有 {total} 处错误，未导入任何数据：{shown}{more}{listed}", field="file",
                         extra={"errors": [{"row": e.row, "column": e.column, "value": e.value,
                                            "message": e.message} for e in errors],
                                "errors_total": total, "upload_id": upload_id})


def _shortened(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


def row_error(row: int, column: str, value: object, message: str) -> ImportError_:
    """An import error as stored and answered: a long value or message is cut (a cell may hold 32,767 characters)."""
    return ImportError_(row, _shortened(column, 64), _shortened("" if value is None else str(value), MAX_VALUE_SHOWN),
                        _shortened(message, MAX_MESSAGE))


def msgspec_dict(e: ImportError_) -> dict[str, object]:
    """An import error as a plain dict (stored with the upload)."""
    return {"row": e.row, "column": e.column, "value": e.value, "message": e.message}


async def record_refusal(session: AsyncSession, kind: str, stocktake_id: int | None, errors: list[ImportError_],
                         sheet: CountedSheet, *, actor: str, now: dt.datetime | None = None) -> StocktakeUpload:
    """Record a refused upload: its first MAX_ERRORS errors and how many there were (the copy comes later).

    Copies kept with refusals older than COPY_RETENTION are dropped here, on every refusal.
    """
    now = now or utcnow()
    await session.execute(update(StocktakeUpload).where(
        StocktakeUpload.accepted.is_(False), StocktakeUpload.error_copy.is_not(None),
        StocktakeUpload.uploaded_at < now - COPY_RETENTION).values(error_copy=None))
    upload = StocktakeUpload(stocktake_id=stocktake_id, kind=kind, uploaded_by=actor, uploaded_at=now,
                             accepted=False, errors={"errors": [msgspec_dict(e) for e in errors[:MAX_ERRORS]],
                                                     "total": len(errors) + sheet.problems_omitted},
                             error_copy=None)
    session.add(upload)
    await session.flush()
    return upload


def stored_errors(upload: StocktakeUpload) -> list[ImportError_]:
    """The errors kept with a refused upload (its first MAX_ERRORS)."""
    return [ImportError_(int(str(e["row"])), str(e["column"]), str(e["value"]), str(e["message"]))
            for e in upload.errors.get("errors", [])]


def errors_total(upload: StocktakeUpload) -> int:
    """How many errors a refused upload had, listed or not."""
    return int(upload.errors.get("total", len(upload.errors.get("errors", []))))


def refusal(upload: StocktakeUpload) -> SheetRejected:
    """The 422 for a refused upload: its stored errors and how many there were."""
    return SheetRejected(stored_errors(upload), upload.id, errors_total(upload))


async def keep_error_copy(session: AsyncSession, upload_id: int, copy: bytes) -> None:
    """Keep the marked-up copy of a refused upload (made by the Excel edge, in a short write of its own)."""
    await session.execute(update(StocktakeUpload).where(StocktakeUpload.id == upload_id).values(error_copy=copy))
