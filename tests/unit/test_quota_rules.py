"""Quota rules and the quota sheet parser, without a database: seasons, levels, month-days, rows and errors."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import openpyxl
import pytest

from importers.cells import CellError
from importers.quotas import SheetUnreadable, parse_month_day, parse_quota_sheet, write_quota_template
from inventory.errors import InvalidInput
from inventory.quotas import rules


@pytest.mark.parametrize(("day", "covered"), [
    (dt.date(2026, 3, 31), False), (dt.date(2026, 4, 1), True), (dt.date(2026, 9, 30), True),
    (dt.date(2026, 10, 1), False),
])
def test_a_season_covers_its_first_and_last_day(day: dt.date, covered: bool) -> None:
    assert rules.season_covers("04-01", "09-30", day) is covered


@pytest.mark.parametrize(("day", "covered"), [
    (dt.date(2026, 11, 30), False), (dt.date(2026, 12, 1), True), (dt.date(2027, 1, 1), True),
    (dt.date(2028, 2, 29), True), (dt.date(2027, 3, 1), False),
])
def test_a_season_over_the_new_year_covers_both_sides(day: dt.date, covered: bool) -> None:
    assert rules.season_covers("12-01", "02-29", day) is covered


def test_the_minimum_in_force_and_the_level() -> None:
    flood = ("04-01", "09-30", 20)
    assert rules.minimum_in_force(10, flood, dt.date(2026, 5, 1)) == 20
    assert rules.minimum_in_force(10, flood, dt.date(2026, 1, 1)) == 10
    assert rules.minimum_in_force(10, None, dt.date(2026, 5, 1)) == 10
    assert [rules.level(n, 10, 3) for n in (9, 10, 12, 13)] == ["below", "warning", "warning", "ok"]
    assert [rules.level(n, 10, 0) for n in (9, 10)] == ["below", "ok"]


@pytest.mark.parametrize("text", ["02-30", "13-01", "00-10", "4-1", "04/01"])
def test_a_month_day_that_is_no_day_of_the_year_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        rules.check_month_day(text, field="season.start")
    assert raised.value.field == "season.start"
    assert rules.check_month_day("02-29", field="x") == "02-29"


@pytest.mark.parametrize(("value", "expected"), [
    ("04-01", "04-01"), ("4-1", "04-01"), ("4/1", "04-01"), ("4.1", "04-01"), ("4月1日", "04-01"),
    ("４月１日", "04-01"), ("2026-09-30", "09-30"), ("2026年9月30日", "09-30"), (dt.datetime(2026, 4, 1), "04-01"),
    (46113, "04-01"), ("  ", None), (None, None),
])
def test_month_days_are_read_as_people_write_them(value: Any, expected: str | None) -> None:
    assert parse_month_day(value) == expected


@pytest.mark.parametrize("value", ["13月1日", "2月30日", "汛期", 4.01, "0401x"])
def test_a_cell_that_is_no_month_day_is_an_error(value: Any) -> None:
    with pytest.raises(CellError):
        parse_month_day(value)


def _sheet(rows: list[list[Any]], header: list[str]) -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["储备定额表"])
    book.active.append(header)
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


HEADER = ["库点编码", "物资编码", "最低储备量", "预警余量", "汛期最低储备量", "汛期起", "汛期止", "备注"]


def test_rows_are_read_and_blank_heading_and_subtotal_rows_skipped() -> None:
    parsed = parse_quota_sheet(_sheet([
        ["一、防汛物资"], ["D-1", "TENT", "1,200", None, 1500, "4月1日", "9月30日", " 汛前 "], [],
        ["D-2", "PUMP", 2], ["合计", None, 1202], [None, None, 1202, None, None, None, None, None, "小计"],
        ["库点编码", "物资编码", "最低储备量"],
    ], [*HEADER, "库点名称"]))
    assert parsed.errors == [] and parsed.header_row == 2
    assert [(r.row, r.location_code, r.item_code, r.minimum, r.season_minimum, r.season_start, r.season_end, r.note)
            for r in parsed.rows] == [(4, "D-1", "TENT", 1200, 1500, "04-01", "09-30", "汛前"),
                                      (6, "D-2", "PUMP", 2, None, None, None, "")]


def test_every_bad_cell_is_an_error_with_its_row_column_and_letter() -> None:
    parsed = parse_quota_sheet(_sheet([
        ["D-1", None, 5], ["D-1", "TENT", 2.5], ["D-1", "PUMP", -1], ["D-1", "BOAT", 3, None, 9, "04-01"],
        ["D-1", "ROPE", 3, "x"], ["D-1", "TENT", 4], ["D-2", "TENT", 4],
    ], HEADER))
    assert [(e.row, e.column, e.letter) for e in parsed.errors] == [
        (3, "物资编码", "B"), (4, "最低储备量", "C"), (5, "最低储备量", "C"), (6, "汛期止", "G"), (7, "预警余量", "D")]
    assert all(e.message.startswith(e.column) for e in parsed.errors)
    assert [(r.row, r.item_code) for r in parsed.rows] == [(8, "TENT"), (9, "TENT")]  # row 4's TENT was refused


def test_a_duplicate_location_and_item_is_an_error_on_the_later_row() -> None:
    parsed = parse_quota_sheet(_sheet([["D-1", "TENT", 5], ["D-1", "TENT", 6]], HEADER))
    assert [(e.row, e.column) for e in parsed.errors] == [(4, "物资编码")] and "第 3 行" in parsed.errors[0].message


def test_a_sheet_without_a_required_column_or_a_header_or_not_xlsx() -> None:
    missing = parse_quota_sheet(_sheet([["D-1", "TENT"]], ["库点编码", "物资编码"]))
    assert [(e.row, e.column) for e in missing.errors] == [(2, "最低储备量")] and missing.rows == []
    with pytest.raises(SheetUnreadable, match="表头"):
        parse_quota_sheet(_sheet([["x"]], ["甲", "乙"]))
    with pytest.raises(SheetUnreadable):
        parse_quota_sheet(b"PK\x03\x04 but no zip")
    with pytest.raises(SheetUnreadable):
        parse_quota_sheet(b"")


def test_the_template_reads_back_as_the_rows_it_was_written_from() -> None:
    from importers.quotas import QuotaTemplateRow

    raw = write_quota_template([
        QuotaTemplateRow(location_code="D-1", location_name="县库", item_code="TENT", item_name="帐篷", minimum=10,
                         warning_margin=2, season_minimum=20, season_start="04-01", season_end="09-30", note="甲"),
        QuotaTemplateRow(location_code="D-1", item_code="PUMP", minimum=1),
    ])
    parsed = parse_quota_sheet(raw)
    assert parsed.errors == [] and parsed.header_row == 3
    assert [(r.item_code, r.minimum, r.warning_margin, r.season_minimum, r.season_start, r.note) for r in parsed.rows] \
        == [("TENT", 10, 2, 20, "04-01", "甲"), ("PUMP", 1, 0, None, None, "")]
    assert parse_quota_sheet(write_quota_template([])).rows == []
