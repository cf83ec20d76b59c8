"""The 救灾物资发放登记表 written as a real .xlsx and read back with openpyxl; the resident ID rules (GB 11643)."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest

from importers.relief_register import (
    COLUMNS,
    HEADER_ROW,
    TITLE,
    RegisterHeading,
    RegisterHousehold,
    RegisterLine,
    write_relief_register,
)
from inventory.errors import InvalidInput
from inventory.relief.ids import check_character, id_hash, last_four, masked, normalise_id_number

HEADING = RegisterHeading(incident="向塘镇内涝", village="八一村", round=2, place="事件现场：向塘镇内涝",
                          made_on=dt.date(2026, 7, 2))


def household(name: str, last4: str, size: int, *lines: tuple[str, str, int], note: str = "") -> RegisterHousehold:
    return RegisterHousehold(head_name=name, id_last4=last4, size=size, given_at=dt.datetime(2026, 7, 1, 9, 30),
                             given_by="南昌县保管员", note=note,
                             lines=[RegisterLine(item=i, unit=u, quantity=q) for i, u, q in lines])


def read_back(data: bytes) -> openpyxl.worksheet.worksheet.Worksheet:
    return openpyxl.load_workbook(io.BytesIO(data)).active


def test_the_register_has_its_title_heading_columns_and_one_signature_box_per_household() -> None:
    sheet = read_back(write_relief_register(HEADING, [
        household("张三", "123X", 4, ("棉被", "床", 2), ("救灾帐篷", "顶", 1)),
        household("李四", "0011", 2, ("棉被", "床", 1), note="重复发放：老人增加"),
    ]))
    assert sheet["A1"].value == TITLE == "救灾物资发放登记表"
    info = " ".join(str(c.value) for row in sheet.iter_rows(min_row=2, max_row=3) for c in row if c.value)
    assert all(text in info for text in ("事件：向塘镇内涝", "村（社区）：八一村", "第 2 轮", "2026年07月02日"))
    header = [c.value for c in sheet[HEADER_ROW]]
    assert header == [name for name, _ in COLUMNS]
    assert header[:9] == ["序号", "户主姓名", "身份证号（后四位）", "家庭人口", "物资", "数量", "发放时间", "发放人",
                          "签领人签字"]
    rows = [[c.value for c in sheet[r]] for r in range(HEADER_ROW + 1, HEADER_ROW + 4)]
    assert rows[0][:8] == [1, "张三", "123X", 4, "棉被（床）", 2, dt.datetime(2026, 7, 1, 9, 30), "南昌县保管员"]
    assert rows[1][4:6] == ["救灾帐篷（顶）", 1] and rows[1][1] is None  # the household's box spans its items
    assert rows[2][:6] == [2, "李四", "0011", 2, "棉被（床）", 1] and rows[2][9] == "重复发放：老人增加"
    signature = header.index("签领人签字") + 1
    assert all(sheet.cell(r, signature).value is None for r in range(HEADER_ROW + 1, HEADER_ROW + 4))
    merged = {str(m) for m in sheet.merged_cells.ranges}
    sign_col = openpyxl.utils.get_column_letter(signature)
    assert f"{sign_col}{HEADER_ROW + 1}:{sign_col}{HEADER_ROW + 2}" in merged
    heights = [sheet.row_dimensions[r].height for r in (HEADER_ROW + 1, HEADER_ROW + 3)]
    assert all(h is not None and h >= 20 for h in heights) and heights[1] >= 36  # room to sign


def test_the_totals_count_each_household_once_and_add_up_each_item() -> None:
    sheet = read_back(write_relief_register(HEADING, [
        household("张三", "123X", 4, ("棉被", "床", 2), ("救灾帐篷", "顶", 1)),
        household("李四", "0011", 2, ("棉被", "床", 3)),
        household("张三", "123X", 4, ("棉被", "床", 1), note="重复发放：补发"),
    ]))
    values = [[c.value for c in row] for row in sheet.iter_rows(min_row=HEADER_ROW + 1)]
    first = next(i for i, row in enumerate(values) if row[0] == "合计")
    assert values[first][1:6] == ["2 户", None, 6, "棉被（床）", 6]
    assert values[first + 1][4:6] == ["救灾帐篷（顶）", 1]
    text = " ".join(str(v) for row in values for v in row if v)
    assert "发放人（签字）" in text and "身份证号仅登记后四位" in text


def test_the_register_prints_on_a4_fitted_to_the_width_with_the_header_on_every_page() -> None:
    sheet = read_back(write_relief_register(HEADING, [household("张三", "123X", 4, ("棉被", "床", 2))] * 80))
    assert sheet.page_setup.paperSize == 9
    assert sheet.page_setup.fitToWidth == 1 and sheet.page_setup.fitToHeight == 0
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_title_rows == f"${HEADER_ROW}:${HEADER_ROW}"
    assert sheet.freeze_panes == f"A{HEADER_ROW + 1}"
    assert sum(1 for row in sheet.iter_rows(min_row=HEADER_ROW + 1) if isinstance(row[0].value, int)) == 80


def test_names_that_look_like_formulas_stay_text_and_control_characters_are_dropped() -> None:
    sheet = read_back(write_relief_register(
        RegisterHeading(incident="内涝\x07", village="=HYPERLINK(\"x\")", round=1),
        [household("=1+1", "0011", 1, ("棉被", "床", 1))]))
    cell = sheet.cell(HEADER_ROW + 1, 2)
    assert (cell.value, cell.data_type) == ("=1+1", "s")
    assert "\x07" not in str(sheet["A2"].value)


def test_an_empty_round_still_gives_a_sheet_with_its_header_and_zero_households() -> None:
    sheet = read_back(write_relief_register(HEADING, []))
    assert sheet.cell(HEADER_ROW, 1).value == "序号"
    assert [c.value for c in sheet[HEADER_ROW + 1]][:2] == ["合计", "0 户"]


# --- resident ID numbers (GB 11643) -----------------------------------------------------------------------------

KNOWN = "11010519491231002X"  # the standard's worked example


def test_the_check_character_follows_gb_11643() -> None:
    assert check_character(KNOWN[:17]) == "X"
    assert check_character("44052418800101001") == "4"
    assert normalise_id_number(KNOWN) == KNOWN
    assert normalise_id_number(KNOWN.lower()) == KNOWN
    assert normalise_id_number(" 110105 19491231 002x ") == KNOWN


def test_a_15_digit_number_becomes_its_18_digit_form() -> None:
    assert normalise_id_number("110105491231002") == KNOWN


@pytest.mark.parametrize("wrong", [
    KNOWN[:17] + "1",  # wrong check character
    KNOWN[:16] + "12",  # one digit changed
    "11010519491231X02X",  # a letter inside
    KNOWN[:17],  # 17 characters
    KNOWN + "1",  # 19
    "11010549123100X",  # 15 with a letter
    "１１０１０５１９４９１２３１００２X",  # full-width digits
])
def test_wrong_numbers_are_refused_without_repeating_them(wrong: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalise_id_number(wrong)
    assert caught.value.field == "household.id_number"
    assert wrong not in caught.value.detail and "身份证" in caught.value.detail


def test_only_the_last_four_and_a_salted_hash_come_out() -> None:
    assert last_four(KNOWN) == "002X" and masked("002X") == "**************002X"
    digest = id_hash("salt-a", KNOWN)
    assert len(digest) == 64 and KNOWN not in digest
    assert digest == id_hash("salt-a", KNOWN) != id_hash("salt-b", KNOWN)
