"""Opening balances of a new depot, loaded from a sheet of the counting-sheet format, as receipts."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from importers.count_sheet import ParsedSheet
from inventory.stock.assets import create_asset
from inventory.stock.ledger import post_document
from inventory.stock.schemas import AssetCreate, LotSpec, MovementCreate, MovementLine
from inventory.stocktake.rules import TOO_LARGE, count_too_large
from inventory.stocktake.schemas import ImportError_
from inventory.stocktake.service import record_refusal, row_error, whole_number
from inventory.store.models import Asset, Document, ItemType, StocktakeUpload, utcnow

MAX_LINES_PER_DOCUMENT = 500


async def import_opening_balances(
    session: AsyncSession, location_id: int, sheet: ParsedSheet, original: bytes, *, actor: str,
    progress: Callable[[int], None] | None = None,
) -> tuple[StocktakeUpload, list[Document]]:
    """Receive every row (实盘数量, else 账面数量) at the location; any error refuses the whole file."""
    errors: list[ImportError_] = [row_error(e.row, e.column, e.value, e.message) for e in sheet.errors]
    items = {it.code: it for it in await session.scalars(select(ItemType))}
    bulk: list[tuple[int, MovementLine]] = []
    serial: list[tuple[int, ItemType, str]] = []
    seen_serials = {(a, s) for a, s in (await session.execute(select(Asset.item_type_id, Asset.serial_number)))}
    # here 账面数量 is input (the quantity when 实盘数量 is blank): an unreadable one is an error of its row
    book_errors = {e.row: e for e in sheet.book_errors}
    for n, row in enumerate(sheet.rows, 1):
        if progress and n % 1000 == 0:
            progress(n)
        it = items.get(row.item_code)
        if it is None:
            errors.append(row_error(row.row, "物资编号", row.item_code, "物资编号不存在于物资目录"))
            continue
        raw = row.counted if row.counted is not None else row.book_quantity
        quantity = whole_number(raw)
        if raw is None and row.row in book_errors:
            e = book_errors[row.row]
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
        if it.tracking == "serial":
            if quantity != 1 or not row.serial_number:
                errors.append(row_error(row.row, "序列号", row.serial_number,
                                        "单件装备每行一件，须填写序列号，数量为 1"))
                continue
            if (it.id, row.serial_number) in seen_serials:
                errors.append(row_error(row.row, "序列号", row.serial_number, "该序列号已登记"))
                continue
            seen_serials.add((it.id, row.serial_number))
            serial.append((row.row, it, row.serial_number))
            continue
        lot = None
        if row.lot_number:
            lot = LotSpec(number=row.lot_number, production_date=row.production_date, expiry_date=row.expiry_date)
        bulk.append((row.row, MovementLine(item_type_id=it.id, quantity=quantity, lot=lot)))
    if errors:
        return await record_refusal(session, "opening", None, errors, sheet, actor=actor), []
    documents = []
    for start in range(0, len(bulk), MAX_LINES_PER_DOCUMENT):
        chunk = [line for _, line in bulk[start:start + MAX_LINES_PER_DOCUMENT]]
        documents.append(await post_document(session, MovementCreate(
            kind="receipt", location_id=location_id, lines=chunk, reason="期初库存导入",
            reference="OPENING-BALANCES"), actor=actor))
    for _, it, serial_number in serial:
        await create_asset(session, AssetCreate(item_type_id=it.id, serial_number=serial_number,
                                                location_id=location_id), actor=actor)
    upload = StocktakeUpload(stocktake_id=None, kind="opening", uploaded_by=actor, uploaded_at=utcnow(),
                             accepted=True, errors={"rows": len(bulk) + len(serial)}, error_copy=None)
    session.add(upload)
    await session.flush()
    return upload, documents
