"""People-facing text of the pages: domain error sentences with their API words put in Chinese."""

from __future__ import annotations

import pytest

from api.page_text import field_zh, for_people, is_page


@pytest.mark.parametrize(("detail", "shown"), [
    ("调拨必须填写目的地点 to_location_id", "调拨必须填写目的地点"),
    ("第 1 行：数量必须为正整数（盘亏请用 adjustment 填负数）", "数量必须为正整数（盘亏请用盘盈盘亏填负数）"),
    ("装备 BC-1 当前状态为 deployed（位于地点 id=7），不能办理此操作",
     "装备 BC-1 当前状态为已出库使用（位于地点编号 7），不能办理此操作"),
    ("保管员 wang 的辖区（360121）不包括地点 id=9，不能在此办理 (outside your scope)",
     "保管员 wang 的辖区（360121）不包括地点编号 9，不能在此办理"),
    ("保管员 无权执行此操作（movements.post）(role not permitted)", "保管员 无权执行此操作"),
    ("报废须填写审批人 approver（指挥人员或管理员的用户名）", "报废须填写审批人（指挥人员或管理员的用户名）"),
    ("库存不足：南昌县储备库 的 帐篷 可用 3顶，需要 5顶", "库存不足：南昌县储备库 的 帐篷 可用 3顶，需要 5顶"),
])
def test_for_people_puts_api_words_in_chinese(detail: str, shown: str) -> None:
    assert for_people(detail) == shown


def test_field_names_are_the_labels_of_the_forms() -> None:
    assert field_zh("to") == "移到"
    assert field_zh("to_location_id") == "目的地点"
    assert field_zh("lines.0.quantity") == "数量"
    assert field_zh("something_new") == "输入"


def test_pages_are_everything_but_the_api_schema_health_and_static_files() -> None:
    assert is_page("/")
    assert is_page("/s/A123")
    assert is_page("/no-such-page")
    assert not is_page("/api/v1/stock")
    assert not is_page("/schema/openapi.json")
    assert not is_page("/static/app.css")
    assert not is_page("/health")
