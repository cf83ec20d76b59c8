"""calamine and openpyxl read every counting sheet the import tests use to the same rows, errors and row numbers.

Each workbook is parsed three ways: ``reader="openpyxl"`` (the reference), ``"auto"`` (what uploads get: calamine
where the file allows) and ``"calamine"`` (calamine or an exception saying why not). The outcome compared is the
``repr`` of the parsed sheet, so value types count too (20 is not 20.0, a datetime is not a date), with the
progress reports; a refusal is compared by its Chinese detail. Besides the committed fixtures and the sheets the
import tests generate, workbooks are written here part by part as Excel and WPS write them (shared strings,
number formats by id and custom, cached formula values and errors, 1904 dates, the active tab), and with each
thing calamine reads differently, which must send the file to openpyxl.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path

import openpyxl
import pytest

from importers.calamine_read import MAX_CELLS, CalamineFailed, Unsuited
from importers.count_sheet import Reader, SheetUnreadable, parse_count_sheet
from importers.sheet_writer import SheetHeader, SheetRow, write_count_sheet
from tests.abuse.hostile_xlsx import invalid_rows_sheet
from tests.stocktake_support import cached_error

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "stocktake"
# Fixtures calamine does not read, and why: openpyxl gives their answer (the same refusal it always gave).
NOT_BY_CALAMINE = {
    "damaged_sheet.xlsx": "calamine cannot read xl/worksheets/sheet1.xml",
    "zip_not_xlsx.xlsx": "openpyxl cannot read the workbook's structure",
}


def outcome(data: bytes, reader: Reader) -> str:
    """What parsing gives: the parsed sheet's repr and the progress reports, or the refusal's detail."""
    seen: list[int] = []
    try:
        parsed = parse_count_sheet(data, progress=seen.append, reader=reader)
    except SheetUnreadable as exc:
        return f"{type(exc).__name__}: {exc.detail}"
    except CalamineFailed:
        raise
    except Exception as exc:  # what openpyxl raises on a cell it cannot convert (bool("TRUE")), unchanged
        return f"{type(exc).__name__}: {exc}"
    return f"{parsed!r} progress={seen}"


def by_calamine(data: bytes) -> str:
    """The outcome with calamine, which must have read the file, equal to openpyxl's (and to what uploads get)."""
    reference = outcome(data, "openpyxl")
    assert outcome(data, "auto") == reference
    calamine = outcome(data, "calamine")
    assert calamine == reference
    return calamine


def by_openpyxl(data: bytes, reason: str) -> str:
    """The outcome of a file calamine must not read (``reason`` in why not): uploads get openpyxl's answer."""
    with pytest.raises(CalamineFailed) as refused:
        parse_count_sheet(data, reader="calamine")
    assert reason in refused.value.reason
    reference = outcome(data, "openpyxl")
    assert outcome(data, "auto") == reference
    return reference


# --- the committed fixtures and the sheets the import tests generate ------------------------------------------------


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.xls*")), ids=lambda path: path.name)
def test_every_fixture_parses_the_same_with_calamine_and_openpyxl(path: Path) -> None:
    data = path.read_bytes()
    result = by_openpyxl(data, NOT_BY_CALAMINE[path.name]) if path.name in NOT_BY_CALAMINE else by_calamine(data)
    assert result.startswith("SheetUnreadable") == (path.suffix != ".xlsx" or path.name in {
        "damaged_sheet.xlsx", "empty.xlsx", "garbage.xlsx", "no_header.xlsx", "not_xlsx_text.xlsx",
        "zip_not_xlsx.xlsx"})


def test_the_fixtures_cover_dates_errors_formulas_and_libreoffice() -> None:
    """The comparison above means something: these fixtures hold what differs between the two readers' raw cells."""
    serial = by_calamine((FIXTURES / "serial_dates.xlsx").read_bytes())
    assert "expiry_date=datetime.date(2025, 3, 1)" in serial
    assert "「#VALUE!」" not in by_calamine((FIXTURES / "count_as_text_value_error.xlsx").read_bytes())
    formulas = by_calamine((FIXTURES / "formulas_libreoffice.xlsx").read_bytes())
    assert "difference=-2" in formulas and "difference=-2.0" not in formulas


HEADER = SheetHeader(place="南昌县应急物资储备库", stocktake_id="PD-2025Q1-0001", count_date=dt.date(2025, 3, 31),
                     counter="张三", supervisor="李四")


def written_sheet(rows: int) -> bytes:
    """A generated counting sheet of ``rows`` lines (dates, serials, labels), counted in openpyxl, some wrongly."""
    lines = [
        SheetRow(item_code=f"WZ-{n:05d}", name="编织袋", unit="条", lot_number=f"L{n % 7}", place=f"A-{n % 3}",
                 production_date=dt.date(2024, 5, 1) if n % 2 else None, expiry_date=dt.date(2034, 5, 1),
                 book_quantity=n % 50, serial_number=f"SN-{n}" if n % 5 == 0 else "")
        for n in range(rows)
    ]
    workbook = openpyxl.load_workbook(io.BytesIO(write_count_sheet(HEADER, lines)))
    sheet = workbook.active
    for number in range(7, 7 + rows):
        sheet[f"M{number}"] = ["十二", -1, 3.5, "１２", None, 7][number % 6] if number % 11 == 0 else number % 50
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_a_generated_sheet_counted_in_openpyxl_reads_the_same_rows_errors_and_progress() -> None:
    result = by_calamine(written_sheet(2_500))
    assert "progress=[1000, 2000, 2506]" in result
    assert "「十二」不是数字" in result and "是负数" in result and "production_date=datetime.date(2024, 5, 1)" in result


def test_error_values_cached_by_excel_are_read_from_the_xml_as_openpyxl_gives_them() -> None:
    """calamine reads #VALUE! as a blank cell; the text is put back, so a count showing #VALUE! stays an error."""
    workbook = openpyxl.load_workbook(io.BytesIO(
        write_count_sheet(HEADER, [SheetRow(item_code=f"WZ-{n}", book_quantity=5) for n in range(3)])))
    for number in (7, 8, 9):
        workbook.active[f"M{number}"] = 4
    buffer = io.BytesIO()
    workbook.save(buffer)
    data = cached_error(buffer.getvalue(), {"M7": "L7*1", "N8": "M8-L8", "M9": "1/0"})
    result = by_calamine(data)
    assert result.count("「#VALUE!」不是数字") == 2 and "RowError(row=7," in result and "RowError(row=9," in result


@pytest.mark.parametrize("rows", [20, 1_500])
def test_the_hostile_invalid_rows_sheets_read_the_same(rows: int) -> None:
    result = by_calamine(invalid_rows_sheet(rows, name_length=30))
    assert f"errors_omitted={max(0, rows - 1000)}" in result


# --- workbooks written part by part as Excel and WPS write them ------------------------------------------------------

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
EXCEL_HEAD = ["序号", "物资编号", "物资名称", "批号", "生产日期", "有效期", "账面数量", "实盘数量", "差异", "备注"]


def workbook(sheets: list[tuple[str, str]], *, strings: Sequence[str] = (), formats: dict[int, str] | None = None,
             styles: Sequence[int] = (0,), active: int = 0, date1904: bool = False,
             row_attrs: str = ' spans="1:10" x14ac:dyDescent="0.25"') -> bytes:
    """An .xlsx as Excel writes one: ``sheets`` are (name, rows of SpreadsheetML), ``styles`` the numFmtId of each xf.

    Rows are written ``<row r="N" spans… x14ac:dyDescent…>``; ``strings`` are shared-string items' inner XML.
    """
    calendar = ' date1904="1"' if date1904 else ""
    types = "".join(
        f'<Override PartName="/xl/worksheets/sheet{n}.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for n in range(1, len(sheets) + 1))
    parts = {
        "[Content_Types].xml":
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            f'{types}<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
        "_rels/.rels":
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/_rels/workbook.xml.rels":
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            + "".join(f'<Relationship Id="rId{n}" Type="{REL}/worksheet" Target="worksheets/sheet{n}.xml"/>'
                      for n in range(1, len(sheets) + 1))
            + f'<Relationship Id="rId90" Type="{REL}/styles" Target="styles.xml"/>'
            f'<Relationship Id="rId91" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        "xl/workbook.xml":
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
            f'<workbook xmlns="{MAIN}" xmlns:r="{REL}"><workbookPr{calendar}/>'
            f'<bookViews><workbookView xWindow="0" yWindow="0" activeTab="{active}"/></bookViews><sheets>'
            + "".join(f'<sheet name="{name}" sheetId="{n}" r:id="rId{n}"/>' for n, (name, _) in enumerate(sheets, 1))
            + "</sheets></workbook>",
        "xl/styles.xml":
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
            f'<styleSheet xmlns="{MAIN}"><numFmts count="{len(formats or {})}">'
            + "".join(f'<numFmt numFmtId="{n}" formatCode="{_attr(code)}"/>' for n, code in (formats or {}).items())
            + '</numFmts><fonts count="1"><font><sz val="11"/><name val="宋体"/></font></fonts>'
            '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
            '<borders count="1"><border/></borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            f'<cellXfs count="{len(styles)}">'
            + "".join(f'<xf numFmtId="{n}" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
                      for n in styles)
            + '</cellXfs><cellStyles count="1"><cellStyle name="常规" xfId="0" builtinId="0"/></cellStyles>'
            "</styleSheet>",
        "xl/sharedStrings.xml":
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
            f'<sst xmlns="{MAIN}" count="{len(strings)}" uniqueCount="{len(strings)}">'
            + "".join(f"<si>{item}</si>" for item in strings) + "</sst>",
    }
    for n, (_, rows) in enumerate(sheets, 1):
        parts[f"xl/worksheets/sheet{n}.xml"] = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
            f'<worksheet xmlns="{MAIN}" xmlns:r="{REL}" '
            'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" mc:Ignorable="x14ac" '
            'xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac">'
            f'<dimension ref="A1"/><sheetFormatPr defaultRowHeight="13.5" x14ac:dyDescent="0.15"/>'
            f"<sheetData>{_with_row_attrs(rows, row_attrs)}</sheetData>"
            '<mergeCells count="1"><mergeCell ref="A1:J1"/></mergeCells></worksheet>')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


def _with_row_attrs(rows: str, attrs: str) -> str:
    return re.sub(r'<row r="(\d+)">', lambda m: f'<row r="{m.group(1)}"{attrs}>', rows)


def s(index: int, ref: str, style: int = 0) -> str:
    """A shared-string cell."""
    return f'<c r="{ref}" s="{style}" t="s"><v>{index}</v></c>' if style else f'<c r="{ref}" t="s"><v>{index}</v></c>'


def n(value: str, ref: str, style: int = 0, formula: str = "") -> str:
    """A number cell, optionally a formula's cached value."""
    body = (f"<f>{formula}</f>" if formula else "") + f"<v>{value}</v>"
    return f'<c r="{ref}" s="{style}">{body}</c>' if style else f'<c r="{ref}">{body}</c>'


def excel_counting_sheet(*, date_style: int, text_style: int, extra: str = "") -> tuple[list[str], str]:
    """Shared strings and sheet rows of a counting sheet as Excel saves one (title merged, header block, table)."""
    strings = ["<t>南昌县应急物资储备库2025年第一季度物资盘点表</t>", "<t>盘点单号：PD-2025Q1-0007</t>",
               "<t>盘点日期</t>", *[f"<t>{name}</t>" for name in EXCEL_HEAD],
               '<r><rPr><b/><sz val="11"/></rPr><t>帐</t></r><r><t xml:space="preserve">篷 </t></r>',
               "<t>WZ-001</t>", "<t>L2024-01</t>", '<t xml:space="preserve"> 两床受潮 </t>', "<t>00012</t>",
               "<t>棉被</t>", "<t>小计</t>", "<t>WZ-002</t>", "<t>  </t>",
               '<t>漢</t><rPh sb="0" eb="1"><t>カン</t></rPh>']
    head = "".join(s(3 + k, f"{chr(65 + k)}4") for k in range(len(EXCEL_HEAD)))
    rows = (
        f'<row r="1">{s(0, "A1")}</row>'
        f'<row r="2">{s(1, "A2")}{s(2, "F2")}{n("45747", "G2", date_style)}</row>'
        f'<row r="4">{head}</row>'
        f'<row r="5">{n("1", "A5")}{s(14, "B5")}{s(13, "C5")}{s(15, "D5")}{n("45413", "E5", date_style)}'
        f'{n("49065.5", "F5", date_style)}{n("20", "G5")}{n("19", "H5")}{n("-1", "I5", 0, "H5-G5")}'
        f'{s(16, "J5")}</row>'
        f'<row r="6" hidden="1">{n("2", "A6")}{s(20, "B6")}{s(18, "C6")}{s(17, "D6", text_style)}'
        f'{n("45413", "E6")}{s(21, "F6")}{n("100", "G6")}{n("98.5", "H6")}{n("-1.5", "I6", 0, "H6-G6")}'
        f'{s(22, "J6")}</row>'
        f'<row r="7">{s(19, "C7")}{n("120", "G7", 0, "SUM(G5:G6)")}{n("117.5", "H7", 0, "SUM(H5:H6)")}</row>'
        f"{extra}"
        '<row r="9" s="1" customFormat="1"><c r="A9" s="1"/></row><row r="12" ht="20" customHeight="1"/>'
    )
    return strings, rows


def test_a_sheet_as_excel_saves_it_reads_the_same_with_calamine() -> None:
    """Shared strings, rich text, phonetic runs, dates by format id 14, a hidden row, formula values, a blank tail."""
    strings, rows = excel_counting_sheet(date_style=1, text_style=2)
    data = workbook([("盘点表", rows)], strings=strings, styles=[0, 14, 49])
    result = by_calamine(data)
    assert "header={'盘点单号': 'PD-2025Q1-0007', '盘点日期': '2025-03-31'}" in result
    assert "production_date=datetime.date(2024, 5, 1)" in result and "expiry_date=datetime.date(2034, 5, 1)" in result
    assert "lot_number='00012'" in result and "counted=Decimal('98.5')" in result
    assert result.endswith("progress=[12]"), "the formatted rows after the table count, as openpyxl reads them"


@pytest.mark.parametrize(("formats", "styles"), [
    ({176: 'yyyy"年"m"月"d"日";@', 177: "@"}, [0, 176, 177]),  # WPS: its own date format, text cells
    ({178: "[$-804]yyyy/m/d;@", 179: "0_ "}, [0, 178, 179]),
    ({180: '[DBNum1][$-804]yyyy"年"m"月"d"日"', 181: "0.00%"}, [0, 180, 181]),
    ({}, [0, 57, 49]),  # Chinese built-in 57, undefined: calamine dates it, openpyxl keeps the serial number
    ({}, [0, 31, 10]),
    ({182: "yyyy/m/d h:mm", 183: "[h]:mm:ss"}, [0, 182, 183]),
], ids=["wps-date", "locale-date", "dbnum", "builtin-57", "builtin-31", "datetime-duration"])
def test_sheets_with_wps_and_chinese_number_formats_read_the_same(formats: dict[int, str], styles: list[int]) -> None:
    strings, rows = excel_counting_sheet(date_style=1, text_style=2)
    data = workbook([("盘点表", rows)], strings=strings, formats=formats, styles=styles, row_attrs="")
    result = by_calamine(data)
    assert "expiry_date=datetime.date(2034, 5, 1)" in result  # a date whether the cell was a date or a serial


def shifted(rows: str, down: int, right: int) -> str:
    """The rows moved ``down`` rows and ``right`` columns (leading empty rows and columns, as calamine skips)."""
    rows = re.sub(r'<row r="(\d+)"', lambda m: f'<row r="{int(m.group(1)) + down}"', rows)
    return re.sub(r' r="([A-Z])(\d+)"', lambda m: f' r="{chr(ord(m.group(1)) + right)}{int(m.group(2)) + down}"', rows)


def test_the_1904_calendar_the_active_tab_and_leading_empty_rows_and_columns_read_the_same() -> None:
    strings, rows = excel_counting_sheet(date_style=1, text_style=0)
    notes = f'<row r="3">{s(2, "B3")}</row>'
    data = workbook([("填表说明", notes), ("盘点表", shifted(rows, 2, 2))], strings=strings, styles=[0, 14], active=1,
                    date1904=True)
    result = by_calamine(data)
    assert "sheet_name='盘点表'" in result and "header_row=6" in result
    assert "production_date=datetime.date(2028, 5, 2)" in result  # serial 45413 counted from 1904-01-01
    assert result.endswith("progress=[14]")


def changed(change: tuple[str, str], *, formats: dict[int, str] | None = None,
            styles: Sequence[int] = (0, 14)) -> bytes:
    """The Excel counting sheet (dates in cell format 1) with one piece of its sheet XML replaced."""
    strings, rows = excel_counting_sheet(date_style=1, text_style=0)
    assert change[0] in rows, "the change applies to this sheet"
    by_calamine(workbook([("盘点表", rows)], strings=strings, formats=formats, styles=styles, row_attrs=""))
    return workbook([("盘点表", rows.replace(change[0], change[1], 1))], strings=strings, formats=formats,
                    styles=styles, row_attrs="")


@pytest.mark.parametrize("empty", ["", '<row r="3" ht="30" customHeight="1"/>', '<row r="2"><c r="B2" s="1"/></row>'])
def test_an_empty_or_only_formatted_active_sheet_before_the_table_reads_the_same(empty: str) -> None:
    strings, rows = excel_counting_sheet(date_style=1, text_style=0)
    result = by_calamine(workbook([("封面", empty), ("盘点表", rows)], strings=strings, styles=[0, 14]))
    assert "sheet_name='盘点表'" in result


@pytest.mark.parametrize(("change", "value"), [
    (('<c r="H5"><v>19</v>', '<c r="H5"><v>19.0</v>'), "counted=19,"),  # float to openpyxl, counted the same
    (('<c r="H5"><v>19</v>', '<c r="H5"><v>1.9E1</v>'), "counted=19,"),
    (('<c r="E5" s="1"><v>45413</v>', '<c r="E5" s="1"><v>-3</v>'), "production_date=datetime.date(1899, 12, 27)"),
    (('<c r="E5" s="1"><v>45413</v>', '<c r="E5" s="1"><v>3000000</v>'), "「#VALUE!」不是"),
    (('<c r="J5" t="s"><v>16</v></c>', '<c r="J5" t="e"><f>1/0</f><v>#DIV/0!</v></c>'), "note='#DIV/0!'"),
    (('<c r="H5"><v>19</v>', '<c r="H5"><v>12345678901234567</v>'), "counted=12345678901234567,"),
], ids=["5.0", "1E1", "negative-date", "year-10000", "error", "17-digits"])
@pytest.mark.filterwarnings("ignore:Cell E5 is marked as a date")
def test_cells_calamine_reads_otherwise_get_openpyxls_value_from_the_xml(change: tuple[str, str], value: str) -> None:
    assert value in by_calamine(changed(change))


def test_a_date_typed_into_a_count_cell_is_the_same_error_value_a_midnight_datetime() -> None:
    result = by_calamine(changed(('<c r="H5"><v>19</v>', '<c r="H5" s="1"><v>45413</v>')))
    assert "value=datetime.datetime(2024, 5, 1, 0, 0), message='实盘数量：「2024-05-01」不是数字'" in result


def test_number_formats_calamine_and_openpyxl_type_otherwise_get_openpyxls_values() -> None:
    """``0*s`` (0, then s repeated to fill the cell) is a date to openpyxl, a number to calamine: asked, not guessed."""
    strings, rows = excel_counting_sheet(date_style=1, text_style=2)
    result = by_calamine(workbook([("盘点表", rows)], strings=strings, formats={190: "0*s"}, styles=[0, 14, 190]))
    assert "lot_number='00012'" in result  # text in that format stays text
    stamped = rows.replace('<c r="H6"><v>98.5</v>', '<c r="H6" s="2"><v>45000</v>')
    result = by_calamine(workbook([("盘点表", stamped)], strings=strings, formats={190: "0*s"}, styles=[0, 14, 190]))
    assert "「2023-03-15」不是数字" in result  # openpyxl made the count a date; so does the calamine path


@pytest.mark.parametrize(("change", "reason"), [
    (('<c r="G5"><v>20</v>', '<c r="G5"><v> 20</v>'), "spaces before it"),
    (('<c r="C5" t="s"><v>13</v></c>', '<c r="C5" t="inlineStr"><is><t> 帐篷</t></is></c>'), "leading spaces"),
    (('<c r="C5" t="s"><v>13</v></c>', '<c r="C5" t="inlineStr"><is><t>帐篷 </t></is></c>'), "trailing spaces"),
    (('<c r="C5" t="s"><v>13</v></c>', '<c r="C5" t="inlineStr"><is><t>帐篷\n</t></is></c>'), "trailing spaces"),
    (('<c r="C5" t="s"><v>13</v></c>', '<c r="C5" t="inlineStr"><is><t>帐篷_x000D_</t></is></c>'), "_xHHHH_"),
    (('<c r="E5" s="1"><v>45413</v>', '<c r="E5" t="d"><v>2024-05-01</v>'), "ISO date"),
    (('<c r="J5" t="s"><v>16</v></c>', '<c r="J5" t="b"><v>TRUE</v></c>'), "boolean"),
    (('<row r="6" hidden="1">', '<row hidden="1">'), "row without its r"),
    (('<c r="A5">', "<c>"), "cell without its r"),
    (('<c r="J5" t="s">', '<c r="J5"\nt="s">'), "inside a tag"),
    (('<row r="7">', '<row r="3">'), "out of order"),
    (('r="C7"', 'r="C70"'), "below the last row"),
    (('<c r="J5" t="s">', '<c r="AAAA5" t="s">'), "column reference"),
    (('<c r="J5" t="s"><v>16</v></c>', "<c r='J5' t='e'><v>#N/A</v></c>"), "single-quoted"),
    (('<c r="A5"><v>1</v></c>', f'<x:c xmlns:x="{MAIN}" r="A5"><v>1</v></x:c>'), "prefixes"),
    (('<c r="J5" t="s"><v>16</v></c>', '<c r="J5" t="inlineStr"><is><t><![CDATA[x]]></t></is></c>'), "CDATA"),
    (('<c r="H5"><v>19</v>', '<c r="H5"><v>inf</v>'), "not a number"),
], ids=lambda value: value if isinstance(value, str) else value[1][:24])
def test_what_calamine_reads_differently_sends_the_file_to_openpyxl(change: tuple[str, str], reason: str) -> None:
    by_openpyxl(changed(change), reason)


def test_text_of_spaces_only_is_blank_to_both_and_shared_string_edge_spaces_without_preserve_are_not_read() -> None:
    strings, rows = excel_counting_sheet(date_style=1, text_style=0)
    assert "<t>  </t>" in strings  # a text of spaces only: calamine reads "", openpyxl "  ", both a blank cell
    by_calamine(workbook([("盘点表", rows)], strings=strings, styles=[0, 14]))
    strings[16] = "<t> 两床受潮</t>"
    by_openpyxl(workbook([("盘点表", rows)], strings=strings, styles=[0, 14]), "xl/sharedStrings.xml: text with")


def test_a_sheet_that_would_be_a_huge_grid_is_refused_before_calamine_loads_it() -> None:
    """One cell in XFD (column 16,384) makes calamine hold rows × 16,384 cells: openpyxl streams that sheet."""
    strings, rows = excel_counting_sheet(date_style=1, text_style=0)
    far = '<row r="400"><c r="XFD400" t="s"><v>19</v></c></row>'
    assert MAX_CELLS < 400 * 16_384
    data = workbook([("盘点表", rows + far)], strings=strings, styles=[0, 14], row_attrs="")
    with pytest.raises(Unsuited, match="400 rows × 16,384 columns"):
        parse_count_sheet(data, reader="calamine")
    assert outcome(data, "auto") == outcome(data, "openpyxl")
