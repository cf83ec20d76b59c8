"""The stocktake and opening-balance imports from the command line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from api.cli import main
from api.stocktake_sheets import counting_workbook
from importers.sheet_writer import SheetHeader, SheetRow, write_count_sheet
from inventory.stocktake import counting, differences
from inventory.stocktake.schemas import StocktakeCreate
from inventory.store.db import Database
from tests.stocktake_support import fill, full_count, make_world, marked, on_hand, rows_of


async def _open(db: Database, location: int) -> tuple[int, bytes]:
    async with db.write() as s:
        st = await counting.create_stocktake(s, StocktakeCreate(location_id=location, period="2026Q4"),
                                              actor="李保管")
        st_id = st.id
    async with db.read() as s:
        return st_id, await counting_workbook(await counting.counting_sheet(s, st_id))


async def test_cli_import_shows_progress_and_imports(db: Database, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    w = await make_world(db)
    st_id, sheet = await _open(db, w.depot)
    path = tmp_path / "counts.xlsx"
    path.write_bytes(fill(sheet, lambda k: 95 if k[0] == "TENT-12" else full_count(k)))
    monkeypatch.setenv("INVENTORY_DATABASE_URL", db.url)
    code = await asyncio.to_thread(main, ["stocktake", "import", str(path), "--stocktake", str(st_id),
                                          "--actor", "李保管"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "读取 reading" in out and "行 rows" in out and "已导入 imported 7 行" in out
    assert not (tmp_path / "counts.errors.xlsx").exists()
    async with db.read() as s:
        v = await differences.variance(s, st_id)
    assert v.loss == 5 and v.stocktake.imported_by == "李保管"


async def test_cli_refuses_a_bad_file_with_exit_code_1_and_writes_the_marked_copy(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    w = await make_world(db)
    st_id, sheet = await _open(db, w.depot)
    path = tmp_path / "counts.xlsx"
    data = fill(sheet, lambda k: -4 if k[0] == "TENT-12" else full_count(k))
    path.write_bytes(data)
    bad_row = next(r["_row"] for r in rows_of(data) if r["物资编号"] == "TENT-12")
    monkeypatch.setenv("INVENTORY_DATABASE_URL", db.url)
    code = await asyncio.to_thread(main, ["stocktake", "import", str(path), "--stocktake", str(st_id)])
    out = capsys.readouterr().out
    assert code == 1
    assert "拒绝导入" in out and f"第 {bad_row} 行「实盘数量」" in out and "负数" in out
    copy = tmp_path / "counts.errors.xlsx"
    assert copy.exists() and str(copy) in out
    notes, red = marked(copy.read_bytes())
    assert set(notes) == {bad_row} and red == {(bad_row, "实盘数量")}
    async with db.read() as s:
        assert (await counting.get_stocktake(s, st_id)).status == "open"

    text = tmp_path / "counts.csv"
    text.write_text("物资编号,实盘数量\nTENT-12,3\n", encoding="utf-8")
    code = await asyncio.to_thread(main, ["stocktake", "import", str(text), "--stocktake", str(st_id)])
    out = capsys.readouterr().out
    assert code == 1 and "不是有效的 Excel" in out


async def test_cli_opening_balances(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    w = await make_world(db)
    monkeypatch.setenv("INVENTORY_DATABASE_URL", db.url)
    good = tmp_path / "opening.xlsx"
    good.write_bytes(write_count_sheet(SheetHeader(place="进贤县"), [SheetRow(item_code="TENT-12", book_quantity=30)]))
    code = await asyncio.to_thread(main, ["import", "opening-balances", str(good), "--location", "D-JXX"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert await on_hand(db, w.other, w.tent) == 37
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(write_count_sheet(SheetHeader(place="进贤县"), [
        SheetRow(item_code="TENT-12", book_quantity=30), SheetRow(item_code="NOPE", book_quantity=1)]))
    code = await asyncio.to_thread(main, ["import", "opening-balances", str(bad), "--location", "D-JXX"])
    out = capsys.readouterr().out
    assert code == 1 and "NOPE" in out and (tmp_path / "bad.errors.xlsx").exists()
    assert await on_hand(db, w.other, w.tent) == 37
    code = await asyncio.to_thread(main, ["import", "opening-balances", str(good), "--location", "NO-SUCH"])
    assert code == 1


async def test_cli_refuses_a_sheet_with_no_count_filled_in(db: Database, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    w = await make_world(db)
    st_id, sheet = await _open(db, w.depot)
    path = tmp_path / "counts.xlsx"
    path.write_bytes(sheet)  # downloaded and sent back without a single count
    monkeypatch.setenv("INVENTORY_DATABASE_URL", db.url)
    code = await asyncio.to_thread(main, ["stocktake", "import", str(path), "--stocktake", str(st_id)])
    out = capsys.readouterr().out
    assert code == 1
    assert "拒绝导入" in out and "未填写任何实盘数量" in out
    async with db.read() as s:
        assert (await counting.get_stocktake(s, st_id)).status == "open"
