"""Opening balances of a new depot, loaded from the rows of a sheet of the counting-sheet format, as receipts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.stock.assets import create_asset
from inventory.stock.ledger import post_document
from inventory.stock.schemas import AssetCreate, LotSpec, MovementCreate, MovementLine
from inventory.stocktake.rules import TOO_LARGE, count_too_large, whole_number
from inventory.stocktake.schemas import CountedSheet, ImportError_
from inventory.stocktake.uploads import record_refusal, row_error
from inventory.store.models import Asset, Document, ItemType, StocktakeUpload, utcnow

MAX_LINES_PER_DOCUMENT = 500


@dataclass
class OpeningLines:
    """What the rows of an opening-balance sheet receive, or the errors that refuse it."""

    errors: list[ImportError_]
    bulk: list[MovementLine] = field(default_factory=list)
    serial: list[tuple[int, str]] = field(default_factory=list)  # item id, serial number


def read_opening_rows(sheet: CountedSheet, items: dict[str, tuple[int, str]], seen_serials: set[tuple[int, str]],
                      progress: Callable[[int], None] | None = None) -> OpeningLines:
    """The receipt lines and assets of every row (no I/O: run it in a worker thread).

    ``items`` is the catalogue (物资编号 → item id, tracking), ``seen_serials`` the (item id, serial) pairs
    already registered.
    """
    errors: list[ImportError_] = [row_error(e.row, e.column, e.value, e.message) for e in sheet.problems]
    result = OpeningLines(errors)
    seen_serials = set(seen_serials)
    # here 账面数量 is input (the quantity when 实盘数量 is blank): an unreadable one is an error of its row
    book_problems = {e.row: e for e in sheet.book_problems}
    for n, row in enumerate(sheet.rows, 1):
        if progress and n % 1000 == 0:
            progress(n)
        item = items.get(row.item_code)
        if item is None:
            errors.append(row_error(row.row, "物资编号", row.item_code, "物资编号不存在于物资目录"))
            continue
        item_id, tracking = item
        raw = row.counted if row.counted is not None else row.book_quantity
        quantity = whole_number(raw)
        if raw is None and row.row in book_problems:
            e = book_problems[row.row]
            errors.append(row_error(e.row, e.column, e.value, e.message))
            continue
        if raw is None:
            errors.append(row_error(row.row, "实盘数量", None, "期初数量未填写"))
            continue
        if quantity is None or quantity < 0:
            errors.append(row_error(row.row, "实盘数量", raw, "数量须为非负整数"))
            continue
        if count_too_large(quantity):
            errors.append(row_error(row.row, "实盘数量", raw, TOO_LARGE))
            continue
        if quantity == 0:
            continue
        if tracking == "serial":
            if quantity != 1 or not row.serial_number:
                errors.append(row_error(row.row, "序列号", row.serial_number,
                                        "单件装备每行一件，须填写序列号，数量为 1"))
                continue
            if (item_id, row.serial_number) in seen_serials:
                errors.append(row_error(row.row, "序列号", row.serial_number, "该序列号已登记"))
                continue
            seen_serials.add((item_id, row.serial_number))
            result.serial.append((item_id, row.serial_number))
            continue
        lot = None
        if row.lot_number:
            lot = LotSpec(number=row.lot_number, production_date=row.production_date, expiry_date=row.expiry_date)
        result.bulk.append(MovementLine(item_type_id=item_id, quantity=quantity, lot=lot))
    return result


async def import_opening_balances(
    session: AsyncSession, location_id: int, sheet: CountedSheet, *, actor: str,
    progress: Callable[[int], None] | None = None,
) -> tuple[StocktakeUpload, list[Document]]:
    """Receive every row (实盘数量, else 账面数量) at the location; any error refuses the whole file.

    The rows are read against the catalogue in a worker thread. A refusal is recorded without its marked-up
    copy: the Excel edge makes that after this transaction, off the event loop.
    """
    items = {code: (item_id, tracking) for code, item_id, tracking
             in await session.execute(select(ItemType.code, ItemType.id, ItemType.tracking))}
    seen_serials = {(a, s) for a, s in (await session.execute(select(Asset.item_type_id, Asset.serial_number)))}
    lines = await asyncio.to_thread(read_opening_rows, sheet, items, seen_serials, progress)
    if lines.errors:
        return await record_refusal(session, "opening", None, lines.errors, sheet, actor=actor), []
    documents = []
    for start in range(0, len(lines.bulk), MAX_LINES_PER_DOCUMENT):
        documents.append(await post_document(session, MovementCreate(
            kind="receipt", location_id=location_id, lines=lines.bulk[start:start + MAX_LINES_PER_DOCUMENT],
            reason="期初库存导入", reference="OPENING-BALANCES"), actor=actor))
    for item_id, serial_number in lines.serial:
        await create_asset(session, AssetCreate(item_type_id=item_id, serial_number=serial_number,
                                                location_id=location_id), actor=actor)
    upload = StocktakeUpload(stocktake_id=None, kind="opening", uploaded_by=actor, uploaded_at=utcnow(),
                             accepted=True, errors={"rows": len(lines.bulk) + len(lines.serial)}, error_copy=None)
    session.add(upload)
    await session.flush()
    return upload, documents
