"""Benchmark the counts import of a 100,000-row counting sheet (issue: stocktakes).

Builds a temporary SQLite database (migrations, then 2,000 item types × 50 lots at one depot bulk-inserted
with Core executemany), opens a stocktake through ``create_stocktake`` (a 100,000-line snapshot), writes the
sheet of ``counting_sheet()``'s lines with ``write_counting_sheet``, fills 实盘数量 in a write-only copy (every
50th line one short) — all that in a child process — then times, in this process, in the same run and over the
same file:

* the bare pass: ``openpyxl.load_workbook(read_only=True)`` + ``iter_rows(values_only=True)``;
* the import: ``parse_upload`` (parse + rows handed over) + ``import_counts`` + ``variance``, as uploads run it
  (the sheet read with calamine where the file allows, see ``importers/calamine_read.py``);
* the bare calamine pass: ``python_calamine`` open + ``iter_rows()``, for reference;
* reading the sheet with calamine: ``parse_count_sheet(reader="calamine")`` — archive guard, the checks of what
  calamine reads otherwise, calamine, typed rows and errors — and the same with ``reader="openpyxl"``.

Prints the figures, the import's ratio to the bare pass (target ≤ 1.5×), the calamine read's ratio to the bare
pass (target ≤ 0.5×) and the process's peak memory after the bare pass and the import (ru_maxrss, target < 400 MB).

    python -m bench.stocktake [--items 2000] [--lots 50]   (from the project root)
"""

from __future__ import annotations

import argparse
import asyncio
import io
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import openpyxl
import python_calamine
from sqlalchemy import insert, select

# Run as a file, this folder comes first on sys.path and bench/labels.py would shadow the labels package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.stocktake_sheets import parse_upload, write_counting_sheet
from importers.count_sheet import Reader, parse_count_sheet
from inventory.places.locations import create_location
from inventory.places.schemas import LocationCreate
from inventory.stocktake import counting, differences
from inventory.stocktake.schemas import StocktakeCreate
from inventory.store.db import Database
from inventory.store.migrate import upgrade
from inventory.store.models import Balance, ItemType, Lot

RATIO_TARGET = 1.5
CALAMINE_TARGET = 0.5
MEMORY_TARGET_MB = 400


def peak_mb() -> float:
    """Peak resident memory of this process so far, in MB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


async def build(db: Database, items: int, lots: int) -> int:
    """One depot with ``items × lots`` lot balances; the id of a stocktake snapshotting them."""
    async with db.write() as s:
        depot = await create_location(s, LocationCreate(
            code="D-BENCH", name="基准测试储备库", kind="depot", region_code="360121", lat=28.55, lon=115.94))
        depot_id = depot.id
        conn = await s.connection()
        await conn.execute(insert(ItemType), [
            {"code": f"WZ-{n:05d}", "name": f"物资{n}", "spec": "", "unit": "件", "tracking": "bulk",
             "category": "bench", "attributes": {}} for n in range(items)])
        ids = {row.code: row.id for row in await s.execute(select(ItemType.code, ItemType.id))}
        await conn.execute(insert(Lot), [
            {"item_type_id": ids[f"WZ-{n:05d}"], "number": f"L{k:03d}", "origin": ""}
            for n in range(items) for k in range(lots)])
        lot_rows = (await s.execute(select(Lot.id, Lot.item_type_id))).all()
        await conn.execute(insert(Balance), [
            {"location_id": depot_id, "item_type_id": item_id, "lot_id": lot_id, "lot_key": lot_id,
             "on_hand": 10 + lot_id % 90, "reserved": 0, "in_transit": 0} for lot_id, item_id in lot_rows])
    async with db.write() as s:
        st = await counting.create_stocktake(s, StocktakeCreate(location_id=depot_id, period="2026Q4",
                                                                 counted_by="张保管", supervised_by="李监盘"),
                                              actor="bench")
        return st.id


def filled(sheet: bytes, path: Path) -> int:
    """Write the sheet with 实盘数量 (and the difference, as Excel would cache it) filled; the data rows."""
    source = openpyxl.load_workbook(io.BytesIO(sheet), read_only=True)
    out = openpyxl.Workbook(write_only=True)
    target = out.create_sheet("盘点表")
    rows = 0
    header = None
    for number, values in enumerate(source.active.iter_rows(values_only=True), start=1):
        row = list(values)
        if header is None and "物资编号" in row:
            header = number
            book, counted, diff = row.index("账面数量"), row.index("实盘数量"), row.index("差异")
        elif header is not None and row[1]:
            count = row[book] - 1 if rows % 50 == 0 else row[book]
            row[counted], row[diff] = count, count - row[book]
            rows += 1
        target.append(row)
    source.close()
    out.save(path)
    return rows


def bare_pass(path: Path) -> tuple[float, int]:
    start = time.perf_counter()
    workbook = openpyxl.load_workbook(path, read_only=True)
    n = sum(1 for _ in workbook.active.iter_rows(values_only=True))
    workbook.close()
    return time.perf_counter() - start, n


def calamine_pass(path: Path) -> tuple[float, int]:
    start = time.perf_counter()
    with python_calamine.CalamineWorkbook.from_path(path) as workbook:
        n = sum(1 for _ in workbook.get_sheet_by_index(0).iter_rows())
    return time.perf_counter() - start, n


def parse_pass(path: Path, reader: Reader) -> tuple[float, int, int]:
    start = time.perf_counter()
    parsed = parse_count_sheet(path.read_bytes(), reader=reader)
    return time.perf_counter() - start, len(parsed.rows), len(parsed.errors)


async def timed_import(db: Database, stocktake_id: int, path: Path) -> tuple[float, dict[str, float], int, int]:
    parts: dict[str, float] = {}
    start = time.perf_counter()
    raw = await asyncio.to_thread(path.read_bytes)
    parsed = parse_upload(raw).sheet
    parts["parse"] = time.perf_counter() - start
    t = time.perf_counter()
    async with db.write() as s:
        upload = await counting.import_counts(s, stocktake_id, parsed, actor="bench")
        accepted = upload.accepted
    parts["match+apply"] = time.perf_counter() - t
    t = time.perf_counter()
    async with db.read() as s:
        report = await differences.variance(s, stocktake_id)
    parts["variance"] = time.perf_counter() - t
    if not accepted:
        raise SystemExit(f"import refused: {upload.errors['errors'][:3]}")
    return time.perf_counter() - start, parts, len(parsed.rows), report.lines_with_difference


async def setup(directory: Path, items: int, lots: int) -> None:
    """Build the database and the filled sheet in ``directory`` (run in a child process: its memory is its own)."""
    url = f"sqlite+aiosqlite:///{directory}/bench.db"
    upgrade(url)
    db = Database(url)
    try:
        t = time.perf_counter()
        stocktake_id = await build(db, items, lots)
        print(f"database: {items} item types × {lots} lots, stocktake {stocktake_id} "
              f"({time.perf_counter() - t:.1f} s)")
        t = time.perf_counter()
        async with db.read() as s:
            lines = await counting.counting_sheet(s, stocktake_id)
        sheet = write_counting_sheet(lines)
        path = directory / "counts.xlsx"
        rows = await asyncio.to_thread(filled, sheet, path)
        print(f"sheet: {rows} rows, {path.stat().st_size / 1e6:.1f} MB ({time.perf_counter() - t:.1f} s); "
              f"set-up process peak {peak_mb():.0f} MB")
        (directory / "stocktake_id").write_text(str(stocktake_id))
    finally:
        await db.dispose()


async def import_in(directory: Path, stocktake_id: int, path: Path) -> tuple[float, dict[str, float], int, int]:
    db = Database(f"sqlite+aiosqlite:///{directory}/bench.db")
    try:
        return await timed_import(db, stocktake_id, path)
    finally:
        await db.dispose()


def run(items: int, lots: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        subprocess.run([sys.executable, "-m", "bench.stocktake", "--setup", tmp, "--items", str(items),
                        "--lots", str(lots)], check=True)
        stocktake_id = int((directory / "stocktake_id").read_text())
        path = directory / "counts.xlsx"
        bare, bare_rows = bare_pass(path)
        total, parts, parsed_rows, differences = asyncio.run(import_in(directory, stocktake_id, path))
        peak = peak_mb()
        calamine_bare, calamine_rows = calamine_pass(path)
        calamine, calamine_parsed, calamine_errors = parse_pass(path, "calamine")
        through_openpyxl, openpyxl_parsed, openpyxl_errors = parse_pass(path, "openpyxl")
    ratio = total / bare
    calamine_ratio = calamine / bare
    print(f"bare openpyxl read-only pass: {bare:.2f} s ({bare_rows} rows)")
    print(f"import (parse + validate + match + variance): {total:.2f} s ({parsed_rows} rows, "
          f"{differences} lines with a difference) — " + ", ".join(f"{k} {v:.2f} s" for k, v in parts.items()))
    print(f"ratio: {ratio:.2f}× (target ≤ {RATIO_TARGET}×) {'MET' if ratio <= RATIO_TARGET else 'NOT MET'}")
    print(f"bare calamine pass: {calamine_bare:.2f} s ({calamine_rows} rows)")
    print(f"sheet read with calamine (archive guard + checks + calamine + typed rows): {calamine:.2f} s "
          f"({calamine_parsed} rows, {calamine_errors} errors); with openpyxl: {through_openpyxl:.2f} s "
          f"({openpyxl_parsed} rows, {openpyxl_errors} errors)")
    print(f"calamine read / bare openpyxl pass: {calamine_ratio:.2f}× (target ≤ {CALAMINE_TARGET}×) "
          f"{'MET' if calamine_ratio <= CALAMINE_TARGET else 'NOT MET'}")
    print(f"peak memory (ru_maxrss of the timing process: bare pass + import): {peak:.0f} MB "
          f"(target < {MEMORY_TARGET_MB} MB) {'MET' if peak < MEMORY_TARGET_MB else 'NOT MET'}")
    met = ratio <= RATIO_TARGET and calamine_ratio <= CALAMINE_TARGET and peak < MEMORY_TARGET_MB
    return 0 if met else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--lots", type=int, default=50)
    parser.add_argument("--setup", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.setup:
        asyncio.run(setup(Path(args.setup), args.items, args.lots))
        return 0
    return run(args.items, args.lots)


if __name__ == "__main__":
    sys.exit(main())
