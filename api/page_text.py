"""People-facing text of the phone pages: Chinese field names, error sentences without API words, error pages.

Domain errors are written for both the API and the pages, so their ``detail`` may name API fields
(``to_location_id``), document kinds (``adjustment``), unit states (``deployed``) or ids (``id=7``).
A keeper on a phone should see none of that: :func:`for_people` rewrites such a sentence in Chinese.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

from litestar.response import Template

from inventory.clock import BEIJING
from inventory.scan.resolve import STATUS_ZH
from inventory.stock.documents import KIND_ZH as DOCUMENT_ZH

# The fields of the scan forms and of the documents they post, as the forms label them.
FIELD_ZH = {
    "action": "操作", "to": "移到", "to_code": "移到", "to_location_id": "目的地点", "location_id": "地点",
    "quantity": "数量", "counterparty": "领用人/单位/事件", "reason": "用途", "approver": "审批人",
    "asset_ids": "装备", "lot_id": "批次", "lot": "批次", "lot_number": "批号", "item_type_id": "物资",
    "expiry_date": "有效期", "production_date": "生产日期", "counted": "实盘数量", "battery_pct": "电量",
    "fuel_pct": "油量", "note": "情况说明", "result": "检查结果", "occurred_at": "发生时间",
    "loss_reason": "损失原因", "lines": "明细", "code": "标签编码", "serial_number": "序列号", "status": "状态",
}
_WORDS = {**FIELD_ZH, **DOCUMENT_ZH, **STATUS_ZH}
_WORD = re.compile(r"\s*\b(" + "|".join(sorted(map(re.escape, _WORDS), key=len, reverse=True)) + r")\b\s*")
_ROW = re.compile(r"^第 1 行：")  # the scan forms post one line: its number says nothing
# An aside in ASCII with letters, for programmers: "(outside your scope)", "（movements.post）".
_ASCII_ASIDE = re.compile(r"\s*[（(][\x20-\x7e]*[A-Za-z][\x20-\x7e]*[)）]")
_ID = re.compile(r"\s*\bid=(\d+)")
_DOTTED = re.compile(r"\b[a-z_]+(?:\.\d+)*\.([a-z_]+)\b")  # lines.0.quantity → quantity
PAGE_PREFIXES = ("/api/", "/schema", "/health", "/ready", "/static/")


def field_zh(name: str) -> str:
    """The Chinese label of a form or document field (``lines.0.quantity`` → 数量)."""
    last = name.rsplit(".", 1)[-1]
    return FIELD_ZH.get(last, FIELD_ZH.get(name, "输入"))


def for_people(detail: str) -> str:
    """A domain error's sentence with its API words (fields, kinds, states, ids) put in Chinese."""
    text = _ROW.sub("", detail)
    text = _ASCII_ASIDE.sub("", text)
    text = _ID.sub(r"编号 \1", text)
    text = _DOTTED.sub(r"\1", text)
    return _WORD.sub(_word_zh, text).strip()


def _word_zh(m: re.Match[str]) -> str:
    zh = _WORDS[m.group(1)]
    return "" if m.string[: m.start()].endswith(zh) else zh  # "审批人 approver" → 审批人, not 审批人审批人


def is_page(path: str) -> bool:
    """True for the people-facing pages (not the API, its schema, health checks or static files)."""
    return not path.startswith(PAGE_PREFIXES)


_PAGE_ERRORS = {
    400: ("请求有误", "网址或表单内容有误。请返回上一页，刷新后再试。"),
    403: ("无法办理", "您没有权限办理此操作，或表单已过期（CSRF 校验未通过）。请返回上一页，刷新后再试。"),
    404: ("页面不存在", "没有这个页面。请检查网址，或从首页进入。"),
    405: ("无法办理", "此页面不支持这种操作。请返回上一页，刷新后再试。"),
    413: ("内容过大", "提交的内容太大。请删减后再试。"),
    422: ("请求有误", "网址或表单内容有误。请返回上一页，刷新后再试。"),
    429: ("操作太频繁", "操作太频繁，请稍等一会儿再试。"),
    500: ("系统出错了", "服务器内部错误，请稍后重试；若持续出现请联系管理员。"),
    503: ("暂时无法办理", "数据库暂时不可用，本次操作未完成。请稍等几秒后再试。"),
}


def page_error(status: int, headers: dict[str, str] | None = None) -> Template:
    """A framework error on a page route as a Chinese page (its English default text never shown to people)."""
    heading, message = _PAGE_ERRORS.get(status, ("出错了", "请求无法完成。请返回上一页，刷新后再试。"))
    context: dict[str, Any] = {"principal": None, "role_zh": "", "tz": BEIJING, "code": None,
                               "heading": heading, "message": message, "replaced_by": None}
    return Template("scan_error.html", status_code=status, context=context, headers=headers)


def http_phrase(status: int) -> str:
    """The English reason phrase of a status ("Not Found"), which the framework uses as a default detail."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
