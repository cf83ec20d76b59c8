"""Builders for stocktake tests: a depot with a bin, lots in two bins, pumps; filling a sheet like a keeper."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import openpyxl
from sqlalchemy import select

from importers.error_copy import ERROR_COLUMN, ERROR_RGB
from inventory.catalog.schemas import ItemTypeCreate
from inventory.catalog.service import create_item_type
from inventory.places.locations import create_location
from inventory.places.schemas import LocationCreate
from inventory.stock.assets import create_asset
from inventory.stock.ledger import post_document
from inventory.stock.schemas import AssetCreate, LotSpec, MovementCreate, MovementLine
from inventory.store.db import Database
from inventory.store.models import Asset, Balance, Lot, User

DEPOT_NAME = "南昌县综合应急物资储备库"
BIN_NAME = "A区1号货架"


@dataclass
class World:
    """A depot with one bin; tents (no lot), water in lots L1 (depot and bin) and L2, three pumps."""

    depot: int
    bin: int
    other: int
    tent: int
    water: int
    pump: int
    pumps: list[int]
    lot1: int
    lot2: int


async def make_world(db: Database) -> World:
    """Stock booked: tents 100 at the depot; water L1 50 at the depot and 30 in the bin, L2 20; pumps BC-1..3."""
    async with db.write() as s:
        depot = await create_location(s, LocationCreate(
            code="D-NCX", name=DEPOT_NAME, kind="depot", region_code="360121", lat=28.55, lon=115.94))
        shelf = await create_location(s, LocationCreate(
            code="D-NCX-A1", name=BIN_NAME, kind="bin", region_code="360121", parent_id=depot.id))
        other = await create_location(s, LocationCreate(
            code="D-JXX", name="进贤县应急物资储备库", kind="depot", region_code="360124", lat=28.37, lon=116.24))
        tent = await create_item_type(s, ItemTypeCreate(
            code="TENT-12", name="12平方米单帐篷", unit="顶", tracking="bulk", category="shelter", spec="3×4米"))
        water = await create_item_type(s, ItemTypeCreate(
            code="WATER-550", name="瓶装饮用水", unit="箱", tracking="bulk", category="food", shelf_life_days=365))
        pump = await create_item_type(s, ItemTypeCreate(
            code="PUMP-300", name="移动泵车", unit="台", tracking="serial", category="pump"))
        for username, role in (("王局长", "commander"), ("李保管", "keeper")):
            s.add(User(username=username, display_name=username, role=role, password_hash="not-used"))
        await s.flush()
        await post_document(s, MovementCreate(kind="receipt", location_id=depot.id, lines=[
            MovementLine(item_type_id=tent.id, quantity=100),
            MovementLine(item_type_id=water.id, quantity=50, lot=LotSpec(number="L1")),
            MovementLine(item_type_id=water.id, quantity=20, lot=LotSpec(number="L2")),
        ]), actor="李保管")
        await post_document(s, MovementCreate(kind="receipt", location_id=shelf.id, lines=[
            MovementLine(item_type_id=water.id, quantity=30, lot=LotSpec(number="L1")),
        ]), actor="李保管")
        await post_document(s, MovementCreate(kind="receipt", location_id=other.id, lines=[
            MovementLine(item_type_id=tent.id, quantity=7),
        ]), actor="李保管")
        pumps = [await create_asset(s, AssetCreate(item_type_id=pump.id, serial_number=f"BC-{n}",
                                                   location_id=depot.id), actor="李保管") for n in (1, 2, 3)]
        lots = {lot.number: lot.id for lot in await s.scalars(select(Lot).where(Lot.item_type_id == water.id))}
        return World(depot.id, shelf.id, other.id, tent.id, water.id, pump.id, [p.id for p in pumps],
                     lots["L1"], lots["L2"])


Key = tuple[str, str, str, str]  # 物资编号, 批号, 存放位置, 序列号


def table(ws: Any) -> tuple[int, dict[str, int]]:
    """The header row number and column name → 1-based column index of a counting sheet."""
    for row in ws.iter_rows(min_row=1, max_row=20):
        names = {str(c.value).strip(): c.column for c in row if c.value is not None}
        if "物资编号" in names:
            return row[0].row, names
    raise AssertionError("no header row")


def fill(sheet: bytes, counts: dict[Key, object] | Callable[[Key], object], *,
         reasons: dict[Key, str] | None = None, edit: Callable[[Any, int, dict[str, int]], None] | None = None,
         ) -> bytes:
    """The sheet with 实盘数量 filled as a keeper would in Excel (missing keys stay blank)."""
    wb = openpyxl.load_workbook(io.BytesIO(sheet))
    ws = wb.active
    header, cols = table(ws)
    for r in range(header + 1, ws.max_row + 1):
        code = ws.cell(r, cols["物资编号"]).value
        if code is None:
            continue
        key = (str(code), str(ws.cell(r, cols["批号"]).value or ""), str(ws.cell(r, cols["存放位置"]).value or ""),
               str(ws.cell(r, cols["序列号"]).value or ""))
        value = counts(key) if callable(counts) else counts.get(key)
        if value is not None:
            ws.cell(r, cols["实盘数量"]).value = value
        if reasons and key in reasons:
            ws.cell(r, cols["差异原因"]).value = reasons[key]
    if edit is not None:
        edit(ws, header, cols)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def cached_error(sheet: bytes, cells: dict[str, str], error: str = "#VALUE!") -> bytes:
    """The workbook with formula cells ``{ref: formula}`` whose value, as Excel or WPS cached it, is ``error``.

    That is what a spreadsheet saves when a formula meets text it cannot compute with (a count typed as
    １２ from a Chinese input method makes ``=M7-L7`` show #VALUE!); openpyxl cannot write a cached value.
    """
    source = zipfile.ZipFile(io.BytesIO(sheet))
    out = io.BytesIO()
    with source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                for ref, formula in cells.items():
                    cell = f'<c r="{ref}" t="e"><f>{formula}</f><v>{error}</v></c>'.encode()
                    data, found = re.subn(rf'<c r="{ref}"[^>]*?(?:/>|>.*?</c>)'.encode(), cell, data, count=1)
                    assert found == 1, f"no cell {ref} in the sheet"
            target.writestr(info, data)
    return out.getvalue()


def rows_of(sheet: bytes) -> list[dict[str, Any]]:
    """The table rows of a workbook as dicts (with the row number under ``_row``)."""
    wb = openpyxl.load_workbook(io.BytesIO(sheet))
    ws = wb.active
    header, cols = table(ws)
    out = []
    for r in range(header + 1, ws.max_row + 1):
        if ws.cell(r, cols["物资编号"]).value is None and ws.cell(r, cols["序号"]).value is None:
            continue
        out.append({"_row": r, **{name: ws.cell(r, c).value for name, c in cols.items()}})
    return out


def marked(copy: bytes) -> tuple[dict[int, str], set[tuple[int, str]]]:
    """An error copy: row → text of the 错误说明 column, and the (row, column name) cells filled red."""
    wb = openpyxl.load_workbook(io.BytesIO(copy))
    ws = wb.active
    header, cols = table(ws)
    note = next(c for name, c in cols.items() if name.startswith(ERROR_COLUMN))
    names = {c: name for name, c in cols.items()}
    notes: dict[int, str] = {}
    red: set[tuple[int, str]] = set()
    for r in range(header + 1, ws.max_row + 1):
        if ws.cell(r, note).value:
            notes[r] = str(ws.cell(r, note).value)
        for c, name in names.items():
            if c != note and ws.cell(r, c).fill.fgColor.rgb == ERROR_RGB:
                red.add((r, name))
    return notes, red


async def on_hand(db: Database, location: int, item: int, lot: int | None = None) -> int:
    """On hand of one balance row (0 when none)."""
    async with db.read() as s:
        value = await s.scalar(select(Balance.on_hand).where(
            Balance.location_id == location, Balance.item_type_id == item, Balance.lot_key == (lot or 0)))
    return int(value or 0)


async def asset_status(db: Database, asset_id: int) -> tuple[str, int | None]:
    """(status, location) of an asset."""
    async with db.read() as s:
        asset = await s.get(Asset, asset_id)
        assert asset is not None
        return asset.status, asset.location_id


def full_count(key: Key) -> object:
    """Counts equal to the book of make_world (before any movement)."""
    code, lot, place, _ = key
    if code == "TENT-12":
        return 100
    if code == "WATER-550":
        return {("L1", DEPOT_NAME): 50, ("L1", BIN_NAME): 30, ("L2", DEPOT_NAME): 20}[(lot, place)]
    return 1
