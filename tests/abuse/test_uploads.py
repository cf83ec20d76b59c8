"""Hostile uploads: zip bombs and giant sheets are refused early and cheaply, and the server stays responsive.

The archive checks run on the parser directly (no server). The resource tests run ``inventory serve``
in a child process on this test's database and read its peak resident memory from ``/proc``; every
figure is a bound with a wide margin (a loaded 2-core machine passes it), never an exact value. What
the code as it was did with the same files: minutes of parsing, gigabytes resident, ``/health`` silent
for tens of seconds while the marked-up copy was built on the event loop, and megabytes stored per
refusal (``bench/uploads.py`` prints the figures).

Workbooks the service writes hold people's text as text: a name starting with ``=``, ``+``, ``-`` or
``@`` never becomes a live formula in ``sheet.xlsx``, ``variance.xlsx`` or an error copy.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import time
import zipfile
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select, update

from importers.archive_guard import MAX_RATIO, MAX_ROWS, MAX_SHARED_STRINGS, SheetTooLarge
from importers.count_sheet import MAX_ERRORS, parse_count_sheet
from importers.error_copy import marked_copy
from inventory.stocktake import uploads
from inventory.store.db import Database
from inventory.store.models import StocktakeUpload, utcnow
from tests.abuse.hostile_xlsx import (
    Measured,
    UploadServer,
    invalid_rows_sheet,
    measure_upload,
    shared_strings_bomb,
)
from tests.stocktake_support import make_world

HEALTH_BOUND = 1.0  # seconds: /health answers within this while an upload is refused
WRITE_BOUND = 3.0  # seconds: another user's one-line receipt meanwhile
BASE = "/api/v1/stocktakes"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def refused(data: bytes) -> tuple[SheetTooLarge, float]:
    """The refusal the parser gives, and how many seconds it took to come."""
    started = time.perf_counter()
    with pytest.raises(SheetTooLarge) as caught:
        parse_count_sheet(data)
    return caught.value, time.perf_counter() - started


# --- the archive is checked before openpyxl reads it ---------------------------------------------------------------


def test_a_bomb_of_twenty_million_shared_strings_is_refused_at_once_naming_the_part_and_its_limit() -> None:
    data = shared_strings_bomb(20_000_000)
    assert len(data) < 1_000_000  # 340 MB of XML in under a megabyte
    error, seconds = refused(data)
    assert seconds < 2, f"refused after {seconds:.2f} s"
    assert error.part == "xl/sharedStrings.xml"
    assert "共享字符串表" in error.detail and "324 MB" in error.detail and "32 MB 的上限" in error.detail


def test_a_shared_strings_table_of_more_entries_than_the_limit_is_refused_even_when_it_compresses_like_text() -> None:
    data = shared_strings_bomb(MAX_SHARED_STRINGS + 100_000, distinct=True)
    error, seconds = refused(data)
    assert seconds < 10, f"refused after {seconds:.2f} s"
    assert (error.part, error.limit) == ("xl/sharedStrings.xml", MAX_SHARED_STRINGS)
    assert f"{MAX_SHARED_STRINGS:,}" in error.detail


def test_a_part_compressed_beyond_the_ratio_limit_is_refused_as_a_likely_bomb() -> None:
    error, seconds = refused(shared_strings_bomb(200_000))  # 3.4 MB of XML from about 10 KB
    assert seconds < 2, f"refused after {seconds:.2f} s"
    assert error.limit == MAX_RATIO
    assert "压缩比" in error.detail and f"{MAX_RATIO}:1" in error.detail


def test_a_sheet_with_more_rows_than_the_limit_is_refused_before_its_rows_are_parsed() -> None:
    error, seconds = refused(invalid_rows_sheet(MAX_ROWS))  # the header is row 2: the last row is MAX_ROWS + 2
    assert seconds < 10, f"refused after {seconds:.2f} s"
    assert (error.part, error.limit) == ("xl/worksheets/sheet1.xml", MAX_ROWS)
    assert "工作表「盘点表」" in error.detail and "200,000 行" in error.detail


def test_one_cell_far_down_a_sheet_makes_it_that_many_rows_long() -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["物资编号", "实盘数量"])
    sheet.append(["WZ-00001", 3])
    sheet.cell(1_000_000, 1).value = "签字："
    buffer = io.BytesIO()
    workbook.save(buffer)
    error, seconds = refused(buffer.getvalue())
    assert seconds < 5, f"refused after {seconds:.2f} s"
    assert "第 1,000,000 行还有内容" in error.detail and "工作表「Sheet」" in error.detail


def test_an_archive_of_more_parts_than_any_workbook_has_is_refused_before_zipfile_lists_them() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for n in range(1_001):
            archive.writestr(f"xl/media/p{n}.bin", b"")
    error, seconds = refused(buffer.getvalue())
    assert seconds < 2, f"refused after {seconds:.2f} s"
    assert error.part == "zip 目录" and "1,001 个部件" in error.detail


def test_errors_beyond_the_first_thousand_are_counted_not_listed() -> None:
    parsed = parse_count_sheet(invalid_rows_sheet(MAX_ERRORS + 500))
    assert len(parsed.errors) == MAX_ERRORS
    assert parsed.errors_omitted == 500
    assert parsed.errors[-1].row == MAX_ERRORS + 2  # the first thousand, in sheet order


def test_a_refused_sheet_too_large_to_load_whole_gets_no_marked_copy_and_a_small_one_does() -> None:
    big = invalid_rows_sheet(20_000, name_length=100)  # about 10 MB of XML
    parsed = parse_count_sheet(big)
    started = time.perf_counter()
    assert marked_copy(big, parsed.errors, omitted=parsed.errors_omitted) is None
    assert time.perf_counter() - started < 2, "the size is read from the zip directory, nothing is loaded"
    small = invalid_rows_sheet(3)
    copy = marked_copy(small, parse_count_sheet(small).errors, omitted=2_000)
    assert copy is not None
    header = openpyxl.load_workbook(io.BytesIO(copy)).active.cell(2, 6).value
    assert header.startswith("错误说明") and "另有 2,000 处错误未标出" in header


# --- a real server under hostile uploads ---------------------------------------------------------------------------


def assert_responsive(measured: Measured, what: str) -> None:
    """/health within HEALTH_BOUND all along, other users' writes answered 201 within WRITE_BOUND."""
    probe = measured.probe
    assert probe.failures == [], f"{what}: {probe.failures[:3]}"
    assert probe.health, f"{what}: the probe ran"
    assert max(probe.health) < HEALTH_BOUND, (
        f"{what}: /health took up to {max(probe.health):.2f} s during the upload "
        f"({len(probe.health)} probes, {sum(x > HEALTH_BOUND for x in probe.health)} over {HEALTH_BOUND} s)")
    assert not probe.writes or max(probe.writes) < WRITE_BOUND, f"{what}: a write took {max(probe.writes):.2f} s"


def serve(db_url: str) -> tuple[UploadServer, int, int, int]:
    """A server on this test's database with a depot, an item and an open stocktake."""
    server = UploadServer(db_url)
    try:
        return (server, *server.seed())
    except BaseException:
        server.stop()
        raise


async def stored_uploads(db_url: str) -> list[tuple[bool, int, int, int]]:
    """Every stored upload: accepted, errors listed, bytes of its errors as JSON, bytes of its copy."""
    db = Database(db_url)
    try:
        async with db.read() as session:
            return [(u.accepted, len(u.errors.get("errors", [])), len(json.dumps(u.errors, ensure_ascii=False)),
                     len(u.error_copy or b"")) for u in await session.scalars(select(StocktakeUpload))]
    finally:
        await db.dispose()


async def test_a_shared_strings_bomb_and_a_quarter_million_rows_are_refused_fast_in_bounded_memory(
    db_url: str,
) -> None:
    server, location, item, st = await asyncio.to_thread(serve, db_url)
    try:
        bomb = await asyncio.to_thread(shared_strings_bomb, 3_000_000)
        rows = await asyncio.to_thread(invalid_rows_sheet, 250_000)
        cases = (("bomb", bomb, 5, "xl/sharedStrings.xml"), ("250,000 rows", rows, 15, "xl/worksheets/sheet1.xml"))
        for what, data, seconds, part in cases:
            measured = await asyncio.to_thread(measure_upload, server, f"{BASE}/{st}/counts", data, location, item)
            assert measured.status == 422, (what, measured.answer)
            assert measured.seconds < seconds, f"{what}: refused after {measured.seconds:.1f} s"
            assert measured.peak_growth_mb < 100, f"{what}: peak resident growth {measured.peak_growth_mb:.0f} MB"
            assert_responsive(measured, what)
            assert measured.answer["part"] == part, (what, measured.answer)
            assert measured.answer["errors"] == [{"field": "file", "message": measured.answer["detail"]}]
    finally:
        await asyncio.to_thread(server.stop)
    assert await stored_uploads(db_url) == [], "a file refused before parsing stores nothing"


async def test_a_big_invalid_sheet_under_the_row_limit_is_refused_off_the_event_loop_and_stores_little(
    db_url: str,
) -> None:
    server, location, item, st = await asyncio.to_thread(serve, db_url)
    try:
        data = await asyncio.to_thread(invalid_rows_sheet, 20_000, name_length=100)
        measured = await asyncio.to_thread(measure_upload, server, f"{BASE}/{st}/counts", data, location, item)
    finally:
        await asyncio.to_thread(server.stop)
    assert measured.status == 422, measured.answer
    assert measured.seconds < 180, f"refused after {measured.seconds:.1f} s"
    assert measured.peak_growth_mb < 200, f"peak resident growth {measured.peak_growth_mb:.0f} MB"
    assert_responsive(measured, "20,000 invalid rows")
    answer = measured.answer
    assert answer["errors_total"] == 20_000 and len(answer["errors"]) == MAX_ERRORS  # type: ignore[arg-type]
    assert "error_copy_url" not in answer, "no marked-up copy of a sheet too large to load whole"
    assert str(answer["detail"]).startswith("盘点表有 20000 处错误") and "只列出前 1,000 处" in str(answer["detail"])
    [(accepted, listed, errors_bytes, copy_bytes)] = await stored_uploads(db_url)
    assert (accepted, listed, copy_bytes) == (False, MAX_ERRORS, 0)
    assert errors_bytes < 300_000, f"the refusal stored {errors_bytes} bytes of errors"


# --- what a refusal keeps, and for how long -------------------------------------------------------------------------


async def test_a_refusal_keeps_short_values_and_drops_the_copies_of_refusals_older_than_thirty_days(
    db: Database, client: Any,
) -> None:
    w = await make_world(db)
    st = (await client.post(f"{BASE}/", json={"location_id": w.depot, "period": "2026Q4"})).json()["id"]
    workbook = openpyxl.Workbook()
    workbook.active.append(["物资编号", "实盘数量"])
    workbook.active.append(["TENT-12", "九" * 5_000])
    buffer = io.BytesIO()
    workbook.save(buffer)
    files = {"file": ("盘点表.xlsx", buffer.getvalue(), XLSX)}
    first = (await client.post(f"{BASE}/{st}/counts", files=files)).json()
    second = (await client.post(f"{BASE}/{st}/counts", files=files)).json()
    assert (await client.get(first["error_copy_url"])).status_code == 200
    [error] = first["errors"]
    assert len(error["value"]) <= uploads.MAX_VALUE_SHOWN and len(error["message"]) <= uploads.MAX_MESSAGE
    async with db.write() as session:
        now = utcnow()
        await session.execute(update(StocktakeUpload).where(StocktakeUpload.id == first["upload_id"])
                              .values(uploaded_at=now - dt.timedelta(days=31)))
        await session.execute(update(StocktakeUpload).where(StocktakeUpload.id == second["upload_id"])
                              .values(uploaded_at=now - dt.timedelta(days=29)))
    assert (await client.get(first["error_copy_url"])).status_code == 200, "kept until another refusal is written"
    third = (await client.post(f"{BASE}/{st}/counts", files=files)).json()
    gone = await client.get(first["error_copy_url"])
    assert gone.status_code == 404 and "保留 30 天" in gone.json()["detail"]
    assert (await client.get(second["error_copy_url"])).status_code == 200
    assert (await client.get(third["error_copy_url"])).status_code == 200
    async with db.read() as session:
        kept = await session.get(StocktakeUpload, first["upload_id"])
        assert kept is not None and kept.errors["total"] == 1, "the refusal itself and its errors stay"


# --- text from people stays text in every workbook the service writes ----------------------------------------------

PAYLOADS = ("=1+2", "+3+4", "-5+6", "@SUM(7,8)")


def text_cells(data: bytes) -> dict[str, tuple[str, object]]:
    """Every cell of every sheet holding one of PAYLOADS: coordinate → (data type, value), formulas included."""
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    found: dict[str, tuple[str, object]] = {}
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and any(p in cell.value for p in PAYLOADS):
                    found[f"{sheet.title}!{cell.coordinate}"] = (cell.data_type, cell.value)
    return found


async def test_names_starting_with_formula_characters_stay_text_in_the_sheet_the_variance_and_the_error_copy(
    db: Database, client: Any,
) -> None:
    depot = (await client.post("/api/v1/locations", json={
        "code": "D-FORMULA", "name": PAYLOADS[0], "kind": "depot", "region_code": "360121", "lat": 28.55,
        "lon": 115.94})).json()["id"]
    item = (await client.post("/api/v1/item-types", json={
        "code": "TENT-12", "name": "帐篷", "unit": "顶", "tracking": "bulk", "category": "shelter"})).json()["id"]
    r = await client.post("/api/v1/movements", json={"kind": "receipt", "location_id": depot,
                                                     "lines": [{"item_type_id": item, "quantity": 10}]})
    assert r.status_code == 201, r.text
    r = await client.post(f"{BASE}/", json={"location_id": depot, "period": "2026Q4", "counted_by": PAYLOADS[1],
                                            "supervised_by": PAYLOADS[3]})
    assert r.status_code == 201, r.text
    st = r.json()["id"]
    sheet = (await client.get(f"{BASE}/{st}/sheet.xlsx")).content
    cells = text_cells(sheet)
    assert cells == {
        "盘点表!A1": ("s", f"{PAYLOADS[0]}物资盘点表"), "盘点表!B3": ("s", PAYLOADS[0]),
        "盘点表!G3": ("s", PAYLOADS[1]), "盘点表!J3": ("s", PAYLOADS[3]), "盘点表!I7": ("s", PAYLOADS[0]),
    }

    filled = openpyxl.load_workbook(io.BytesIO(sheet))
    table = filled.active
    table["M7"] = 8
    table["O7"] = PAYLOADS[2]  # 差异原因, as a keeper types it (text)
    buffer = io.BytesIO()
    filled.save(buffer)
    r = await client.post(f"{BASE}/{st}/counts", files={"file": ("盘点表.xlsx", buffer.getvalue(), XLSX)})
    assert r.status_code == 200, r.text
    variance = text_cells((await client.get(f"{BASE}/{st}/variance.xlsx")).content)
    assert variance == {
        "差异表!A1": ("s", f"{PAYLOADS[0]}盘点差异表"), "差异表!B3": ("s", PAYLOADS[0]),
        "差异表!G3": ("s", PAYLOADS[1]), "差异表!J3": ("s", PAYLOADS[3]), "差异表!G7": ("s", PAYLOADS[0]),
        "差异表!L7": ("s", PAYLOADS[2]),
    }

    table["M7"] = "八"  # now refused: the copy marks the row and keeps every text as text
    buffer = io.BytesIO()
    filled.save(buffer)
    r = await client.post(f"{BASE}/{st}/counts", files={"file": ("盘点表.xlsx", buffer.getvalue(), XLSX)})
    assert r.status_code == 422, r.text
    copy = text_cells((await client.get(r.json()["error_copy_url"])).content)
    assert copy["盘点表!O7"] == ("s", PAYLOADS[2]) and copy["盘点表!G3"] == ("s", PAYLOADS[1])
    assert {kind for kind, _ in copy.values()} == {"s"}, copy
