"""The 风险隐患点 list to fill in (.xlsx): title, note, header, and an example row or the points listed."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any, Final

import msgspec
import openpyxl
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from importers.risk_point_cells import KIND_NAMES

__all__ = ["EXAMPLE_ROW", "TEMPLATE_COLUMNS", "RiskTemplateRow", "write_risk_point_template"]


class RiskTemplateRow(msgspec.Struct, frozen=True, kw_only=True):
    """A risk point as the template lists it (a current one, to be changed and imported back)."""

    code: str
    name: str
    kind_zh: str
    region_code: str
    lat: float
    lon: float
    crs: str = "WGS-84"
    weight: float
    needs: str = ""  # 抽水泵×2；沙袋×500
    note: str = ""


TEMPLATE_COLUMNS: Final = (("编号", 16), ("名称", 28), ("类型", 14), ("行政区划代码", 14), ("纬度", 11),
                           ("经度", 11), ("坐标系", 10), ("权重（受威胁人数）", 12), ("需求", 30), ("备注", 24))
TEMPLATE_NOTE: Final = (
    "说明：每个风险隐患点一行；编号、名称、类型、行政区划代码、纬度、经度必填。类型为 "
    + "、".join(names[0] for names in KIND_NAMES.values())
    + " 之一；行政区划代码写到县（6 位，如 360121）或乡镇（9 或 12 位）。坐标系留空即 WGS-84（GPS、天地图），"
    "从高德、腾讯地图取的坐标填 GCJ-02，从百度地图取的填 BD-09。权重填受威胁人数或优先级（大于 0）。"
    "需求写成「物资名称或编码×数量」，多项用；分隔，如 抽水泵×2；沙袋×500；也可每种物资一列，表头写物资名称或编码，"
    "格内填数量。导入时按编号更新已有的风险隐患点（其需求以表中为准），编号以「示例」开头的行不导入；"
    "同一张表重复导入不会改变任何数据。"
)
EXAMPLE_ROW: Final = RiskTemplateRow(code="示例-NCX-DF-01", name="赣江南昌县蒋巷镇段堤防（示例）", kind_zh="堤段",
                                     region_code="360121", lat=28.5457, lon=115.944, weight=1200,
                                     needs="抽水泵×2；沙袋×500", note="本行为示例，导入时不读取，可删除")
_HEADER_FILL: Final = PatternFill("solid", fgColor="FFD9E1F2")
_EXAMPLE_FONT: Final = Font(italic=True, color="FF808080")


def write_risk_point_template(rows: Iterable[RiskTemplateRow] = (), *, title: str = "风险隐患点清单") -> bytes:
    """The list (.xlsx): title, note, header on row 3, then the rows given or the example (blocking: use a thread)."""
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("风险隐患点")
    for position, (_, width) in enumerate(TEMPLATE_COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(position)].width = width
    sheet.freeze_panes = "A4"

    def styled(value: object, **style: Any) -> WriteOnlyCell:
        cell = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str):
            cell.data_type = "s"  # text from people stays text: a name such as "=1+1" is never a formula
        for name, setting in style.items():
            setattr(cell, name, setting)
        return cell

    listed = list(rows)
    sheet.append([styled(title, font=Font(bold=True, size=14))])
    sheet.append([styled(TEMPLATE_NOTE, alignment=Alignment(wrap_text=False))])
    sheet.append([styled(name, font=Font(bold=True), fill=_HEADER_FILL) for name, _ in TEMPLATE_COLUMNS])
    for r in listed or [EXAMPLE_ROW]:
        style = {} if listed else {"font": _EXAMPLE_FONT}
        sheet.append([styled(value, **style) for value in (r.code, r.name, r.kind_zh, r.region_code, r.lat, r.lon,
                                                           r.crs, r.weight, r.needs or None, r.note or None)])
    last = max(4, 3 + len(listed)) + 500
    for letter, choices, prompt in (("C", [names[0] for names in KIND_NAMES.values()], "类型"),
                                    ("G", ["WGS-84", "GCJ-02", "BD-09"], "坐标系")):
        validation = DataValidation(type="list", formula1='"' + ",".join(choices) + '"', allow_blank=True,
                                    showErrorMessage=False, showInputMessage=True, promptTitle=prompt,
                                    prompt="从列表中选择，或照说明填写")
        validation.add(f"{letter}4:{letter}{last}")
        sheet.data_validations.append(validation)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
