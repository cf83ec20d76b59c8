"""Input checks for the optimiser: each refusal is an ``InvalidInput`` that names the field at fault."""

from __future__ import annotations

import math

import numpy as np

from inventory.errors import InvalidInput
from inventory.placement.problem import Instance, StockInput


def check_instance(instance: Instance) -> None:
    """Ids, weights and the travel-time matrix agree in shape; weights > 0; times ≥ 0 (``inf`` = unreachable)."""
    n, m = len(instance.point_ids), len(instance.site_ids)
    if n == 0:
        raise InvalidInput("至少需要一个需求点（风险点）", field="point_ids")
    if m == 0:
        raise InvalidInput("至少需要一个候选点", field="site_ids")
    for name, ids, label in (("point_ids", instance.point_ids, "需求点"), ("site_ids", instance.site_ids, "候选点")):
        seen: set[str] = set()
        for one in ids:
            if one in seen:
                raise InvalidInput(f"{label}编号重复：{one}", field=name)
            seen.add(one)
    weights = np.asarray(instance.weights)
    if weights.shape != (n,):
        raise InvalidInput(f"权重个数应与需求点个数 {n} 相同，实际形状为 {weights.shape}", field="weights")
    bad = np.flatnonzero(~np.isfinite(weights) | (weights <= 0))
    if len(bad):
        raise InvalidInput(f"权重必须为正数：需求点 {instance.point_ids[bad[0]]} 的权重为 {weights[bad[0]]:g}",
                           field="weights")
    minutes = np.asarray(instance.minutes)
    if minutes.shape != (m, n):
        raise InvalidInput(f"通行时间矩阵应为 {m}×{n}（候选点×需求点），实际形状为 {minutes.shape}", field="minutes")
    bad_pairs = np.argwhere(np.isnan(minutes) | (minutes < 0) | (minutes == -np.inf))
    if len(bad_pairs):
        j, i = bad_pairs[0]
        raise InvalidInput(f"通行时间不能为负数或非数值：候选点 {instance.site_ids[j]} 到需求点 "
                           f"{instance.point_ids[i]} 为 {minutes[j, i]:g}", field="minutes")


def check_p(p: int, sites: int) -> None:
    if isinstance(p, bool) or not isinstance(p, int | np.integer) or not 1 <= p <= sites:
        raise InvalidInput(f"选址数量 p 应在 1 到候选点个数 {sites} 之间，收到 {p}", field="p")


def check_within(within_minutes: float) -> None:
    if not (isinstance(within_minutes, int | float) and math.isfinite(within_minutes) and within_minutes >= 0):
        raise InvalidInput(f"覆盖时间阈值（分钟）应为非负有限数，收到 {within_minutes}", field="within_minutes")


def check_time_limit(time_limit: float) -> None:
    if not (isinstance(time_limit, int | float) and math.isfinite(time_limit) and time_limit > 0):
        raise InvalidInput(f"求解时限（秒）应为正数，收到 {time_limit}", field="time_limit")


def check_stock(instance: Instance, stock: StockInput, max_sites: int | None) -> None:
    """Units per site and need per point: whole, non-negative, shaped like the sites and the points."""
    m, n = len(instance.site_ids), len(instance.point_ids)
    for name, values, size, label in (("available", stock.available, m, "候选点"),
                                      ("need", stock.need, n, "需求点")):
        array = np.asarray(values)
        if array.shape != (size,):
            raise InvalidInput(f"{name} 的个数应与{label}个数 {size} 相同，实际形状为 {array.shape}", field=name)
        if not (np.issubdtype(array.dtype, np.integer) or np.all(np.mod(array, 1) == 0)):
            raise InvalidInput(f"{name} 应为整数件数", field=name)
        if np.any(array < 0):
            raise InvalidInput(f"{name} 不能为负数", field=name)
    if int(np.asarray(stock.available).sum()) == 0:
        raise InvalidInput("没有可调配的物资：各候选点可调配数量均为 0", field="available")
    if int(np.asarray(stock.need).sum()) == 0:
        raise InvalidInput("各需求点的需求量均为 0，无需布局", field="need")
    if max_sites is not None and (isinstance(max_sites, bool) or not isinstance(max_sites, int | np.integer)
                                  or not 1 <= max_sites <= m):
        raise InvalidInput(f"最多启用的储备点数应在 1 到候选点个数 {m} 之间，收到 {max_sites}", field="max_sites")
    if stock.site_minutes is not None:
        between = np.asarray(stock.site_minutes)
        if between.shape != (m, m):
            raise InvalidInput(f"候选点间通行时间矩阵应为 {m}×{m}，实际形状为 {between.shape}", field="site_minutes")
        if np.any(np.isnan(between) | (between < 0)):
            raise InvalidInput("候选点间通行时间不能为负数或非数值", field="site_minutes")
