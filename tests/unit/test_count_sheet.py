"""Counting sheets (盘点表) as people fill them: parsing, the generated sheet, error copies, variance; no database.

Fixtures are committed under tests/fixtures/stocktake/ (made by make_fixtures.py there, some passed
through LibreOffice); nothing here needs LibreOffice at run time.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from importers.cells import CellError, clean_code, parse_date, parse_quantity
from importers.count_sheet import CountRow, ParsedSheet, RowError, SheetUnreadable, parse_count_sheet
from importers.error_copy import ERROR_RGB
from importers.sheet_writer import (
    FAR_BEYOND_BOOK,
    NEEDS_REASON,
    SheetHeader,
    SheetRow,
    VarianceLine,
    write_count_sheet,
    write_error_copy,
    write_variance,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "stocktake"
MARCH_1 = dt.date(2025, 3, 1)


def parse(name: str) -> ParsedSheet:
    """Parse a fixture by file name."""
    return parse_count_sheet(FIXTURES / name)


def by_code(parsed: ParsedSheet) -> dict[str, CountRow]:
    """Parsed rows keyed by item code."""
    return {row.item_code: row for row in parsed.rows}


def errors_by_row(parsed: ParsedSheet) -> dict[int, RowError]:
    """The (single) error of each bad row."""
    return {error.row: error for error in parsed.errors}


# --- Layout: header row, header block, aliases, columns ------------------------------------------------


def test_header_in_row_5_under_a_merged_title_and_the_header_block_is_read() -> None:
    parsed = parse("header_row5_merged_title.xlsx")
    assert parsed.header_row == 5
    assert parsed.header == {
        "盘点单号": "PD-2025Q1-0007", "盘点日期": "2025-03-31", "地点": "南昌县应急物资储备库",
        "盘点人": "张三", "监盘人": "李四",
    }
    assert parsed.stocktake_id == "PD-2025Q1-0007"
    assert [row.row for row in parsed.rows] == [6, 7, 8]
    assert parsed.rows[1] == CountRow(
        row=7, seq=2, item_code="WZ-002", name="棉被", spec="2×2.3米", unit="床", lot_number="L2024-02",
        book_quantity=100, counted=98, difference=-2, note="两床受潮",
    )
    assert parsed.errors == []


@pytest.mark.parametrize("name", ["aliases_a.xlsx", "aliases_b.xlsx", "aliases_c.xlsx", "aliases_d.xlsx"])
def test_every_column_alias_maps_to_its_column_despite_spaces_line_breaks_and_unit_hints(name: str) -> None:
    parsed = parse(name)
    assert list(parsed.columns) == [
        "序号", "物资编号", "物资名称", "规格型号", "计量单位", "批号", "有效期", "存放位置",
        "账面数量", "实盘数量", "差异", "差异原因", "序列号", "标签编码",
    ]
    assert parsed.columns["实盘数量"] == "J"
    assert parsed.rows == [CountRow(
        row=2, seq=1, item_code="WZ-001", name="帐篷", spec="3×4米", unit="顶", lot_number="L1",
        expiry_date=dt.date(2029, 5, 1), place="A-01", book_quantity=20, counted=19, difference=-1,
        reason="破损报废待批", serial_number="SN-1", label_code="K7Q2",
    )]


def test_blank_subtotal_prenumbered_and_repeated_header_rows_and_signature_lines_are_skipped() -> None:
    parsed = parse("blank_and_subtotal_rows.xlsx")
    assert [(row.row, row.item_code) for row in parsed.rows] == [(2, "WZ-001"), (5, "WZ-002"), (8, "EQ-001")]
    assert parsed.errors == []


def test_extra_columns_are_ignored_and_a_responsible_person_column_is_read_as_who_counted() -> None:
    parsed = parse("extra_columns.xlsx")
    assert set(parsed.columns) == {"序号", "物资编号", "物资名称", "计量单位", "账面数量", "实盘数量", "盘点人"}
    assert parsed.columns["盘点人"] == "D"  # written 责任人
    assert [(row.item_code, row.book_quantity, row.counted, row.counted_by) for row in parsed.rows] == [
        ("WZ-001", 20, 19, "王五"), ("WZ-002", 100, 100, "王五"),
    ]
    assert parsed.errors == []


def test_responsible_person_in_the_header_block_is_who_counted() -> None:
    parsed = parse("responsible_person.xlsx")
    assert parsed.header == {"盘点日期": "2025-03-31", "盘点人": "王五", "监盘人": "钱七"}
    assert [row.counted_by for row in parsed.rows] == ["王五", "赵六", None]
    assert parsed.errors == []


def test_columns_in_another_order_are_found_by_name() -> None:
    parsed = parse("columns_reordered.xlsx")
    assert parsed.columns["实盘数量"] == "A"
    assert parsed.columns["物资编号"] == "G"
    assert parsed.rows[0] == CountRow(
        row=2, seq=1, item_code="WZ-001", name="帐篷", unit="顶", lot_number="L1", book_quantity=20, counted=19,
        note="破损一顶",
    )


def test_the_table_is_found_on_a_later_sheet_when_the_active_one_has_none() -> None:
    parsed = parse("table_on_second_sheet.xlsx")
    assert parsed.sheet_name == "盘点表"
    assert len(parsed.rows) == 3


def test_a_wrong_dimension_recorded_in_the_file_does_not_cut_rows_off() -> None:
    assert [row.item_code for row in parse("stale_dimension.xlsx").rows] == ["WZ-001", "WZ-002", "EQ-001"]


def test_a_sheet_saved_by_libreoffice_parses_with_its_header_block_aliases_and_dates() -> None:
    parsed = parse("saved_by_libreoffice.xlsx")
    assert parsed.header == {
        "盘点单号": "PD-2025Q2-0031", "地点": "进贤县防汛物资仓库", "盘点日期": "2025-06-30",
        "盘点人": "赵六", "监盘人": "钱七",
    }
    rows = by_code(parsed)
    assert rows["FX-001"].production_date == dt.date(2024, 4, 1)
    assert rows["FX-001"].expiry_date == dt.date(2029, 4, 1)
    assert rows["FX-002"].expiry_date == dt.date(2029, 5, 1)
    assert rows["FX-002"].counted == 5000
    assert [(row.book_quantity, row.counted, row.difference) for row in parsed.rows] == [
        (200, 198, -2), (5000, 5000, 0), (2, 2, 0),
    ]
    assert parsed.errors == []


def test_formula_cells_give_the_values_libreoffice_calculated() -> None:
    parsed = parse("formulas_libreoffice.xlsx")
    assert parsed.rows == [
        CountRow(row=2, seq=1, item_code="WZ-001", name="帐篷", production_date=MARCH_1,
                 book_quantity=20, counted=18, difference=-2),
        CountRow(row=3, seq=2, item_code="WZ-002", name="棉被", production_date=dt.date(2024, 12, 31),
                 book_quantity=100, counted=100, difference=0),
        CountRow(row=4, seq=3, item_code="WZ-003", name="毛毯", book_quantity=30),
    ]


# --- Cell quirks ---------------------------------------------------------------------------------------


def test_numbers_stored_as_text_with_full_width_digits_and_thousands_separators() -> None:
    parsed = parse("numbers_as_text.xlsx")
    assert [(row.book_quantity, row.counted, row.difference) for row in parsed.rows] == [
        (120, 120, 0), (1200, 1200, None), (1200, 1198, -2), (35, 8, -27), (12345, 12345, None), (7, 7, None),
    ]
    assert all(type(row.counted) is int for row in parsed.rows)
    assert parsed.errors == []


def test_dates_written_as_text_in_every_usual_form() -> None:
    parsed = parse("text_dates.xlsx")
    assert len(parsed.rows) == 10
    assert {row.production_date for row in parsed.rows} == {MARCH_1}
    assert {row.expiry_date for row in parsed.rows} == {dt.date(2030, 3, 1)}
    assert parsed.errors == []


def test_dates_as_date_cells_and_as_excel_serial_numbers() -> None:
    parsed = parse("serial_dates.xlsx")
    assert len(parsed.rows) == 4
    assert {(row.production_date, row.expiry_date) for row in parsed.rows} == {(MARCH_1, MARCH_1)}


def test_trailing_and_full_width_spaces_are_stripped_and_codes_nfkc_normalised() -> None:
    parsed = parse("spaces.xlsx")
    assert [(r.item_code, r.name, r.spec, r.unit, r.lot_number) for r in parsed.rows] == [
        ("WZ-001", "帐篷", "3×4米", "顶", "L-1"),
        ("WZ-002", "棉被", "2×2.3米", "床", "L-2"),
        ("WZ-003", "毛毯", None, "床", "L-3"),
    ]
    assert parsed.rows[0].note == "备注"


def test_a_count_typed_as_full_width_text_is_read_and_unreadable_derived_cells_are_not_errors() -> None:
    parsed = parse("count_as_text_value_error.xlsx")
    assert parsed.errors == []  # 差异 showing #VALUE!, 账面数量 typed in words: not the counter's input
    assert [(row.item_code, row.book_quantity, row.counted, row.difference) for row in parsed.rows] == [
        ("WZ-001", 20, 12, None), ("WZ-002", None, 98, None), ("WZ-003", 50, 50, None), ("WZ-004", 10, 9, -1),
    ]
    assert all(type(row.counted) is int for row in parsed.rows)
    assert [(error.row, error.value, error.letter) for error in parsed.book_errors] == [(3, "一百", "G")]
    assert parsed.book_errors[0].message == "账面数量：「一百」不是数字"


def test_an_empty_count_cell_is_listed_as_not_counted_not_as_an_error() -> None:
    parsed = parse("count_empty.xlsx")
    assert [row.counted for row in parsed.rows] == [20, None, None, 0]
    assert [row.item_code for row in parsed.not_counted] == ["WZ-002", "WZ-003"]
    assert parsed.errors == []


# --- Bad input -----------------------------------------------------------------------------------------


def test_a_negative_count_is_a_row_error_and_the_row_is_left_out() -> None:
    parsed = parse("negative_count.xlsx")
    assert [row.item_code for row in parsed.rows] == ["WZ-001"]
    errors = errors_by_row(parsed)
    assert sorted(errors) == [3, 4, 5, 6]
    assert errors[3] == RowError(
        row=3, column="实盘数量", value=-3, message="实盘数量：「-3」是负数，数量不能小于 0", letter="E",
    )
    assert errors[5].value == "－5"
    assert all("负数" in error.message for error in parsed.errors)


def test_a_non_numeric_count_is_a_row_error_naming_the_value() -> None:
    parsed = parse("non_numeric_count.xlsx")
    assert [row.item_code for row in parsed.rows] == ["WZ-001"]
    assert [(error.row, error.value) for error in parsed.errors] == [
        (3, "十二"), (4, "abc"), (5, "12箱"), (6, "1,2"), (7, "N/A"), (8, True),
    ]
    assert parsed.errors[0].message == "实盘数量：「十二」不是数字"
    assert {error.column for error in parsed.errors} == {"实盘数量"}


def test_a_fractional_count_is_kept_as_a_decimal_for_the_service_to_judge() -> None:
    parsed = parse("fractional_count.xlsx")
    counts = {row.item_code: row.counted for row in parsed.rows}
    assert counts == {
        "WZ-001": 20, "WZ-002": Decimal("12.5"), "WZ-003": Decimal("0.5"), "WZ-004": Decimal("1200.25"), "WZ-005": 12,
    }
    assert isinstance(counts["WZ-002"], Decimal)
    assert type(counts["WZ-005"]) is int
    assert parsed.errors == []


def test_the_same_line_twice_is_an_error_on_the_second_row_naming_the_first() -> None:
    parsed = parse("duplicate_rows.xlsx")
    assert [row.row for row in parsed.rows] == [2, 3, 5, 6, 8]
    assert [(error.row, error.column, error.letter) for error in parsed.errors] == [
        (4, "物资编号", "B"), (7, "物资编号", "B"), (9, "物资编号", "B"),
    ]
    assert parsed.errors[0].message == "物资编号：与第 2 行重复（物资编号 WZ-001、批号 L1）"
    assert "与第 5 行重复" in parsed.errors[1].message
    assert "与第 8 行重复" in parsed.errors[2].message


def test_an_impossible_or_unreadable_date_is_a_row_error() -> None:
    parsed = parse("bad_dates.xlsx")
    assert [row.item_code for row in parsed.rows] == ["WZ-001"]
    assert [(error.row, error.column, error.value) for error in parsed.errors] == [
        (3, "生产日期", "2025/13/1"), (4, "生产日期", "2025/2/30"), (4, "有效期", "24个月"),
        (5, "生产日期", "明年三月"), (5, "有效期", 2025),
    ]
    assert parsed.errors[0].message == "生产日期：「2025/13/1」不是存在的日期"


def test_a_missing_required_column_is_a_sheet_level_error_naming_it() -> None:
    parsed = parse("missing_count_column.xlsx")
    assert parsed.rows == []
    assert len(parsed.errors) == 1
    error = parsed.errors[0]
    assert (error.row, error.column, error.letter) == (1, "实盘数量", "")
    assert "缺少必需的列「实盘数量」" in error.message


@pytest.mark.parametrize(("name", "message"), [
    ("not_xlsx_text.xlsx", "文件不是有效的 Excel (.xlsx) 文件"),
    ("garbage.xlsx", "文件不是有效的 Excel (.xlsx) 文件"),
    ("zip_not_xlsx.xlsx", "文件不是有效的 Excel (.xlsx) 文件"),
    ("legacy_format.xls", "旧版 Excel 97-2003 (.xls)"),
    ("empty.xlsx", "文件是空的"),
    ("damaged_sheet.xlsx", "文件已损坏"),
])
def test_a_file_that_is_not_an_xlsx_workbook_is_refused_with_a_chinese_reason(name: str, message: str) -> None:
    with pytest.raises(SheetUnreadable) as caught:
        parse(name)
    assert message in caught.value.detail


def test_a_workbook_without_a_recognisable_header_says_which_names_were_looked_for() -> None:
    with pytest.raises(SheetUnreadable) as caught:
        parse("no_header.xlsx")
    assert "没有找到盘点表的表头" in caught.value.detail
    assert "「物资编号」" in caught.value.detail
    assert "「实盘数量」" in caught.value.detail


def test_bytes_paths_and_open_files_are_all_accepted() -> None:
    path = FIXTURES / "header_row5_merged_title.xlsx"
    expected = parse_count_sheet(path).rows
    assert parse_count_sheet(str(path)).rows == expected
    assert parse_count_sheet(path.read_bytes()).rows == expected
    with path.open("rb") as file:
        assert parse_count_sheet(file).rows == expected
    with pytest.raises(SheetUnreadable, match="文件是空的"):
        parse_count_sheet(b"")


@pytest.mark.parametrize(("raw", "expected"), [
    (12, 12), (12.0, 12), ("１２０", 120), ("1,200", 1200), ("1，200", 1200), ("\u3000８ ", 8),
    ("12.50", Decimal("12.5")), (" ", None), (None, None),
])
def test_parse_quantity_accepts_what_people_type(raw: object, expected: object) -> None:
    assert parse_quantity(raw) == expected


@pytest.mark.parametrize("raw", ["1,2", "12箱", "--1", "1.2.3", float("nan"), True])
def test_parse_quantity_refuses_what_is_not_a_number(raw: object) -> None:
    with pytest.raises(CellError):
        parse_quantity(raw)


def test_differences_may_be_negative_but_counts_may_not() -> None:
    assert parse_quantity("-2", allow_negative=True) == -2
    with pytest.raises(CellError, match="负数"):
        parse_quantity("-2")


@pytest.mark.parametrize(
    "raw", ["2025/3/1", "2025.03.01", "2025年3月1日", "２０２５－０３－０１", 45717, "45717", "20250301"]
)
def test_parse_date_reads_the_usual_forms(raw: object) -> None:
    assert parse_date(raw) == MARCH_1


def test_clean_code_normalises_full_width_characters() -> None:
    assert clean_code("\u3000ＷＺ－００１ ") == "WZ-001"


# --- The generated counting sheet ----------------------------------------------------------------------

HEADER = SheetHeader(
    place="南昌县应急物资储备库", stocktake_id="PD-2025Q1-0001", count_date=dt.date(2025, 3, 31),
    counter="张三", supervisor="李四",
)
SHEET_ROWS = [
    SheetRow(item_code="WZ-001", name="帐篷", spec="3×4米", unit="顶", lot_number="L2024-01",
             production_date=dt.date(2024, 5, 1), expiry_date=dt.date(2034, 5, 1), place="A-01", book_quantity=20),
    SheetRow(item_code="WZ-002", name="棉被", unit="床", lot_number="L2024-02", place="A-02", book_quantity=100),
    SheetRow(item_code="EQ-001", name="发电机", spec="5kW", unit="台", serial_number="SN-0001", label_code="K7Q2",
             book_quantity=1, note="含油箱"),
    SheetRow(item_code="EQ-001", name="发电机", spec="5kW", unit="台", serial_number="SN-0002", label_code="K7Q3",
             book_quantity=1),
]


def filled(sheet: bytes, counts: dict[int, object]) -> bytes:
    """The sheet with counts typed into column M (实盘数量) of the given rows, saved by openpyxl."""
    workbook = openpyxl.load_workbook(io.BytesIO(sheet))
    for row, count in counts.items():
        workbook.active[f"M{row}"] = count
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_a_written_sheet_filled_in_parses_back_to_the_same_lines_and_header() -> None:
    sheet = filled(write_count_sheet(HEADER, SHEET_ROWS), {7: 19, 8: 100, 9: 1})
    parsed = parse_count_sheet(sheet)
    assert parsed.header == {
        "盘点单号": "PD-2025Q1-0001", "盘点日期": "2025-03-31", "地点": "南昌县应急物资储备库",
        "盘点人": "张三", "监盘人": "李四",
    }
    assert parsed.header_row == 6
    assert parsed.errors == []
    assert [
        (r.seq, r.item_code, r.name, r.spec or "", r.unit, r.lot_number or "", r.production_date, r.expiry_date,
         r.place or "", r.serial_number or "", r.label_code or "", r.book_quantity, r.note or "")
        for r in parsed.rows
    ] == [
        (n, s.item_code, s.name, s.spec, s.unit, s.lot_number, s.production_date, s.expiry_date, s.place,
         s.serial_number, s.label_code, s.book_quantity, s.note)
        for n, s in enumerate(SHEET_ROWS, start=1)
    ]
    assert [row.counted for row in parsed.rows] == [19, 100, 1, None]


def test_the_written_sheet_is_set_up_for_counting_and_printing() -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(write_count_sheet(HEADER, SHEET_ROWS)))
    sheet = workbook.active
    assert sheet["A1"].value == "南昌县应急物资储备库物资盘点表"
    assert "A1:P1" in {str(merged) for merged in sheet.merged_cells.ranges}
    assert [cell.value for cell in sheet[6]] == [
        "序号", "物资编号", "物资名称", "规格型号", "计量单位", "批号", "生产日期", "有效期", "存放位置",
        "序列号", "标签编码", "账面数量", "实盘数量", "差异", "差异原因", "备注",
    ]
    assert sheet.freeze_panes == "A7"
    assert sheet.print_title_rows == "$6:$6"
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.page_setup.paperSize == 9  # A4
    assert sheet.page_setup.fitToWidth == 1
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet["N7"].value == '=IF(M7="","",M7-L7)'
    assert sheet["N10"].value == '=IF(M10="","",M10-L10)'
    assert sheet["M7"].value is None
    assert sheet["G7"].is_date
    assert sheet.column_dimensions["C"].width > sheet.column_dimensions["A"].width
    streamed = openpyxl.load_workbook(io.BytesIO(write_count_sheet(HEADER, SHEET_ROWS)), read_only=True).active
    assert (streamed.max_row, streamed.max_column) == (10, 16)  # used range recorded: readers need not scan
    (validation,) = sheet.data_validations.dataValidation
    assert str(validation.sqref) == "M7:M10"
    assert (validation.type, validation.operator, validation.formula1) == ("whole", "greaterThanOrEqual", "0")
    assert validation.showErrorMessage
    assert "不小于 0 的整数" in validation.error
    assert not any(cell.value == "合计" for row in sheet.iter_rows() for cell in row)


def test_serial_numbered_assets_get_one_row_each_with_serial_and_label() -> None:
    sheet = openpyxl.load_workbook(io.BytesIO(write_count_sheet(HEADER, SHEET_ROWS))).active
    assert [(sheet[f"B{r}"].value, sheet[f"J{r}"].value, sheet[f"K{r}"].value, sheet[f"L{r}"].value)
            for r in (9, 10)] == [("EQ-001", "SN-0001", "K7Q2", 1), ("EQ-001", "SN-0002", "K7Q3", 1)]


def test_a_large_sheet_round_trips_and_reports_progress() -> None:
    rows = (SheetRow(item_code=f"WZ-{n:05d}", name="编织袋", unit="条", book_quantity=n % 50) for n in range(2500))
    seen: list[int] = []
    parsed = parse_count_sheet(write_count_sheet(HEADER, rows), progress=seen.append)
    assert len(parsed.rows) == 2500
    assert parsed.rows[-1].item_code == "WZ-02499"
    assert parsed.rows[-1].row == 2506
    assert seen == [1000, 2000, 2506]


def test_text_that_looks_like_a_formula_or_markup_is_written_as_text() -> None:
    row = SheetRow(item_code="=1+1", name="<b>&</b>", book_quantity=1)
    parsed = parse_count_sheet(write_count_sheet(HEADER, [row]))
    assert (parsed.rows[0].item_code, parsed.rows[0].name) == ("=1+1", "<b>&</b>")


# --- Error copy and variance ---------------------------------------------------------------------------


def error_copy(name: str) -> tuple[ParsedSheet, openpyxl.worksheet.worksheet.Worksheet]:
    """Parse a fixture and open the error copy written for it."""
    original = (FIXTURES / name).read_bytes()
    parsed = parse_count_sheet(original)
    copy = write_error_copy(original, parsed.errors, sheet_name=parsed.sheet_name)
    return parsed, openpyxl.load_workbook(io.BytesIO(copy))[parsed.sheet_name]


def test_the_error_copy_explains_bad_rows_and_fills_bad_cells_red() -> None:
    parsed, sheet = error_copy("negative_count.xlsx")
    assert sheet["F1"].value == "错误说明"
    assert sheet["F2"].value is None
    assert sheet["F3"].value == "实盘数量：「-3」是负数，数量不能小于 0"
    for row in (3, 4, 5, 6):
        assert sheet[f"E{row}"].fill.fgColor.rgb == ERROR_RGB
        assert sheet[f"D{row}"].fill.fgColor.rgb != ERROR_RGB
    assert all(cell.fill.fgColor.rgb != ERROR_RGB for cell in sheet[2])
    original = openpyxl.load_workbook(FIXTURES / "negative_count.xlsx").active
    assert [[c.value for c in row[:5]] for row in sheet.iter_rows()] == [[c.value for c in row] for row in
                                                                         original.iter_rows()]
    assert parsed.errors


def test_the_error_copy_puts_several_errors_of_a_row_in_one_cell_and_marks_each_cell() -> None:
    _, sheet = error_copy("bad_dates.xlsx")
    assert sheet["F4"].value == (
        "生产日期：「2025/2/30」不是存在的日期；有效期：「24个月」不是可识别的日期，请写成 2025-03-01 或 2025年3月1日"
    )
    assert sheet["D4"].fill.fgColor.rgb == ERROR_RGB
    assert sheet["E4"].fill.fgColor.rgb == ERROR_RGB
    assert sheet["E3"].fill.fgColor.rgb != ERROR_RGB


def test_a_missing_column_is_explained_on_the_header_row_of_the_error_copy() -> None:
    _, sheet = error_copy("missing_count_column.xlsx")
    assert sheet["E1"].value.startswith("错误说明：表头缺少必需的列「实盘数量」")


def test_an_error_copy_of_an_error_copy_reuses_the_column_and_clears_fixed_rows() -> None:
    original = (FIXTURES / "negative_count.xlsx").read_bytes()
    first = write_error_copy(original, parse_count_sheet(original).errors)
    workbook = openpyxl.load_workbook(io.BytesIO(first))
    workbook.active["E3"] = 3  # fixed; rows 4-6 still wrong
    buffer = io.BytesIO()
    workbook.save(buffer)
    resubmitted = parse_count_sheet(buffer.getvalue())
    assert [error.row for error in resubmitted.errors] == [4, 5, 6]
    sheet = openpyxl.load_workbook(io.BytesIO(write_error_copy(buffer.getvalue(), resubmitted.errors))).active
    assert sheet.max_column == 6
    assert sheet["F3"].value is None
    assert sheet["E3"].fill.fgColor.rgb != ERROR_RGB
    assert sheet["F4"].value.startswith("实盘数量")
    assert sheet["E4"].fill.fgColor.rgb == ERROR_RGB


def test_the_variance_workbook_lists_each_line_and_a_totals_row() -> None:
    lines = [
        VarianceLine(item_code="WZ-001", name="帐篷", spec="3×4米", book_quantity=20, counted=19, reason="破损一顶"),
        VarianceLine(item_code="WZ-002", name="棉被", book_quantity=100, counted=103, reason="上次入库漏记"),
        VarianceLine(item_code="WZ-003", name="毛毯", book_quantity=50, counted=None),
    ]
    sheet = openpyxl.load_workbook(io.BytesIO(write_variance(HEADER, lines))).active
    assert sheet["A1"].value == "南昌县应急物资储备库盘点差异表"
    assert (sheet["F2"].value, sheet["G2"].value) == ("盘点日期", dt.datetime(2025, 3, 31))
    assert [cell.value for cell in sheet[6]][8:] == ["账面数量", "实盘数量", "差异", "差异原因", "核查提示"]
    table = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=7, values_only=False)]
    assert [row[8:] for row in table] == [
        [20, 19, -1, "破损一顶", None], [100, 103, 3, "上次入库漏记", None], [50, None, None, None, None],
        [170, 122, 2, "盘盈 1 项，盘亏 1 项，未盘点 1 项", None],
    ]
    assert table[0][3] == "3×4米"
    assert table[-1][0] == "合计"
    assert lines[0].difference == -1


def test_the_variance_workbook_shows_what_the_approver_must_check() -> None:
    lines = [
        VarianceLine(item_code="WZ-001", book_quantity=20, counted=19, needs_reason=True),
        VarianceLine(item_code="WZ-002", book_quantity=10, counted=1000, reason="待核实", far_beyond_book=True),
        VarianceLine(item_code="WZ-003", book_quantity=5, counted=900, needs_reason=True, far_beyond_book=True),
        VarianceLine(item_code="WZ-004", book_quantity=5, counted=5),
    ]
    sheet = openpyxl.load_workbook(io.BytesIO(write_variance(HEADER, lines))).active
    checks = [sheet[f"M{row}"].value for row in range(7, 12)]
    assert checks == [NEEDS_REASON, FAR_BEYOND_BOOK, f"{FAR_BEYOND_BOOK}；{NEEDS_REASON}", None,
                      "缺差异原因 2 项，差异远超账面 2 项"]
    assert NEEDS_REASON.startswith("缺差异原因") and "核实" in FAR_BEYOND_BOOK
    assert any("L7:M" in str(rule.sqref) for rule in sheet.conditional_formatting)


# --- Text from people stays text (no live formulas) ---------------------------------------------------------------

FORMULA_LIKE = ("=HYPERLINK(\"http://x.example\",\"点此\")", "+1+1", "-2+3", "@SUM(1,2)")


def typed_cells(data: bytes) -> dict[str, tuple[str, object]]:
    """Cells of the first sheet whose text starts like a formula: coordinate → (openpyxl data type, value)."""
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    return {cell.coordinate: (cell.data_type, cell.value) for row in sheet.iter_rows() for cell in row
            if isinstance(cell.value, str) and cell.value[:1] in "=+-@"}


@pytest.mark.parametrize("text", FORMULA_LIKE)
def test_header_and_row_text_starting_like_a_formula_is_written_as_text_in_the_counting_sheet(text: str) -> None:
    header = SheetHeader(place=text, stocktake_id=text, counter=text, supervisor=text)
    data = write_count_sheet(header, [SheetRow(item_code="WZ-001", book_quantity=1, name=text, place=text)])
    cells = typed_cells(data)
    assert {ref: cells[ref] for ref in ("A1", "B2", "B3", "G3", "J3", "C7", "I7")} == {
        "A1": ("s", f"{text}物资盘点表"), **dict.fromkeys(("B2", "B3", "G3", "J3", "C7", "I7"), ("s", text))}
    # the only formulas are the sheet's own 差异 column (N)
    assert {ref[0] for ref, (kind, _) in cells.items() if kind == "f"} == {"N"}
    assert parse_count_sheet(data).header["盘点人"] == text


@pytest.mark.parametrize("text", FORMULA_LIKE)
def test_header_and_row_text_starting_like_a_formula_is_written_as_text_in_the_variance_workbook(text: str) -> None:
    header = SheetHeader(place=text, stocktake_id=text, counter=text, supervisor=text)
    cells = typed_cells(write_variance(header, [
        VarianceLine(item_code="WZ-001", book_quantity=2, counted=1, place=text, reason=text)]))
    assert {ref: cells[ref] for ref in ("A1", "B2", "B3", "G3", "J3", "G7", "L7")} == {
        "A1": ("s", f"{text}盘点差异表"), **dict.fromkeys(("B2", "B3", "G3", "J3", "G7", "L7"), ("s", text))}
    assert {kind for kind, _ in cells.values()} == {"s"}


def test_the_error_copy_keeps_text_cells_as_text_and_writes_its_notes_as_text() -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["物资编号", "实盘数量", "差异原因"])
    sheet.append(["WZ-001", "三", FORMULA_LIKE[1]])
    buffer = io.BytesIO()
    workbook.save(buffer)
    error = RowError(row=2, column="实盘数量", value="三", message="=此处填写数字", letter="B")
    cells = typed_cells(write_error_copy(buffer.getvalue(), [error]))
    assert cells == {"C2": ("s", FORMULA_LIKE[1]), "D2": ("s", "=此处填写数字")}
