"""The ``after_id`` query parameter of lists that page by key as well as by offset (inventory/store/keyset.py)."""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter

from inventory.schemas import MAX_ID
from inventory.stock.queries import STOCK_KEY_BASE

AfterId = Annotated[int | None, Parameter(
    ge=1, le=MAX_ID,
    description="接着上一页往下列：填上一页答复中的 next_after_id（不可与 offset 同用）；深页与首页一样快。"
                "after_id: the previous page's next_after_id (not with offset)")]
StockAfterId = Annotated[int | None, Parameter(
    ge=1, le=MAX_ID * STOCK_KEY_BASE + MAX_ID,
    description="接着上一页往下列：填上一页答复中的 next_after_id（库存行的键：地点 id × 2³¹ + 物资品目 id；"
                "不可与 offset 同用）。after_id: the previous page's next_after_id (not with offset)")]
