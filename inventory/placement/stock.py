"""Stock-aware placement: put the movable units where they cover the most need within the target.

Programme (source → sites → points → sink, so without ``max_sites`` its LP is already integral):

* ``x_j`` integer units placed at site j, ``Σ_j x_j = S`` (every movable unit is placed somewhere);
* ``f_ij ≥ 0`` units at j counted for point i, only where ``minutes[j, i] ≤ T`` and point i needs something;
  ``Σ_i f_ij ≤ x_j`` and ``Σ_j f_ij ≤ need_i``;
* with ``max_sites``: ``u_j`` binary, ``x_j ≤ S·u_j``, ``Σ_j u_j ≤ max_sites``;
* maximise ``Σ_i (w_i / need_i) Σ_j f_ij``.

Among placements that reach the best value found, fewer moved units are preferred, lexicographically: a second
solve minimises ``Σ_j m_j`` (``m_j ≥ available_j − x_j``) with the first objective held at that value. A tiny
penalty inside one objective was not used: with arbitrary weights no penalty is provably too small to change
the first objective's optimum.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from inventory.placement import milp
from inventory.placement.milp import Programme, Rows
from inventory.placement.problem import FloatArray

IntArray = npt.NDArray[np.int64]
BoolMatrix = npt.NDArray[np.bool_]

FIRST_STAGE_SHARE = 0.7  # of the time limit, for the covering objective; the rest breaks ties on moves

#: ``(stage, objective, bound)`` as the solve goes
Report = Callable[[str, float | None, float | None], None]


@dataclass(frozen=True)
class Layout:
    """Column positions of the stock programme."""

    sites: int
    pair_site: IntArray  # for each f column: its site
    pair_point: IntArray  # … and its point
    max_sites: int | None

    @property
    def f0(self) -> int:
        return self.sites

    @property
    def u0(self) -> int:
        return self.sites + len(self.pair_site)

    @property
    def m0(self) -> int:
        return self.u0 + (self.sites if self.max_sites is not None else 0)

    @property
    def columns(self) -> int:
        return self.m0 + self.sites


@dataclass(frozen=True)
class Placement:
    """Units placed per site, units of need covered per point, the objective and its bound."""

    placed: IntArray
    covered: IntArray
    objective: float
    bound: float
    method: str
    optimal: bool


def layout(within: BoolMatrix, need: IntArray, max_sites: int | None) -> Layout:
    """The f columns: one per (site, point) pair within the target where the point needs something."""
    site, point = np.nonzero(within & (need > 0)[None, :])
    return Layout(within.shape[0], site.astype(np.int64), point.astype(np.int64), max_sites)


def programme(lay: Layout, available: IntArray, need: IntArray, ratio: FloatArray, *,
              moves_within: float | None = None) -> Programme:
    """The first-stage programme or, with ``moves_within`` (a floor on the covering objective), the second."""
    m = lay.sites
    total = float(available.sum())
    pairs = len(lay.pair_site)
    rows = Rows()
    order = np.argsort(lay.pair_site, kind="stable")  # Σ_i f_ij − x_j ≤ 0
    counts = np.bincount(lay.pair_site, minlength=m)
    heads = np.concatenate(([0], np.cumsum(counts + 1)[:-1]))
    idx = np.empty(pairs + m, dtype=np.int64)
    val = np.empty(pairs + m)
    is_head = np.zeros(pairs + m, dtype=bool)
    is_head[heads] = True
    idx[is_head] = np.arange(m)
    val[is_head] = -1.0
    idx[~is_head] = lay.f0 + order
    val[~is_head] = 1.0
    rows.add(counts + 1, idx, val, np.full(m, -np.inf), np.zeros(m))
    order = np.argsort(lay.pair_point, kind="stable")  # Σ_j f_ij ≤ need_i
    points = np.unique(lay.pair_point)
    counts_p = np.bincount(lay.pair_point)[points]
    rows.add(counts_p, lay.f0 + order, np.ones(pairs), np.full(len(points), -np.inf), need[points].astype(float))
    rows.add(np.array([m]), np.arange(m), np.ones(m), np.array([total]), np.array([total]))  # Σ x = S
    cost = np.zeros(lay.columns)
    lower = np.zeros(lay.columns)
    upper = np.full(lay.columns, np.inf)
    upper[:m] = total
    integer = np.zeros(lay.columns, dtype=bool)
    integer[:m] = True
    if lay.max_sites is not None:  # x_j − S·u_j ≤ 0, Σ u_j ≤ max_sites
        u = lay.u0 + np.arange(m)
        rows.add(np.full(m, 2), np.column_stack((np.arange(m), u)).reshape(-1),
                 np.tile([1.0, -total], m), np.full(m, -np.inf), np.zeros(m))
        rows.add(np.array([m]), u, np.ones(m), np.array([-np.inf]), np.array([float(lay.max_sites)]))
        upper[u] = 1.0
        integer[u] = True
    moved = lay.m0 + np.arange(m)  # m_j + x_j ≥ available_j
    rows.add(np.full(m, 2), np.column_stack((moved, np.arange(m))).reshape(-1), np.ones(2 * m),
             available.astype(float), np.full(m, np.inf))
    covering = ratio[lay.pair_point]
    if moves_within is None:
        cost[lay.f0:lay.f0 + pairs] = covering
        return Programme(cost, lower, upper, integer, rows, maximise=True)
    rows.add(np.array([pairs]), lay.f0 + np.arange(pairs), covering, np.array([moves_within]),
             np.array([np.inf]))
    cost[moved] = 1.0
    return Programme(cost, lower, upper, integer, rows, maximise=False)


def flows(lay: Layout, placed: IntArray, need: IntArray, ratio: FloatArray) -> tuple[IntArray, IntArray, float]:
    """For fixed placements, the best covering: units per pair, per point, and the objective.

    A transport LP; HiGHS returns a vertex, and this polytope's vertices are integral.
    """
    pairs = len(lay.pair_site)
    if pairs == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(len(need), dtype=np.int64), 0.0
    rows = Rows()
    order = np.argsort(lay.pair_site, kind="stable")
    sites = np.unique(lay.pair_site)
    rows.add(np.bincount(lay.pair_site)[sites], order, np.ones(pairs), np.full(len(sites), -np.inf),
             placed[sites].astype(float))
    order = np.argsort(lay.pair_point, kind="stable")
    points = np.unique(lay.pair_point)
    rows.add(np.bincount(lay.pair_point)[points], order, np.ones(pairs), np.full(len(points), -np.inf),
             need[points].astype(float))
    lp = Programme(ratio[lay.pair_point], np.zeros(pairs), np.full(pairs, np.inf), np.zeros(pairs, dtype=bool),
                   rows, maximise=True)
    outcome = milp.solve(lp, time_limit=60.0)
    if outcome.values is None:
        return np.zeros(pairs, dtype=np.int64), np.zeros(len(need), dtype=np.int64), 0.0
    f = np.round(outcome.values).astype(np.int64)
    covered = np.bincount(lay.pair_point, weights=f, minlength=len(need)).astype(np.int64)
    return f, covered, float(covered @ ratio)


def greedy_placement(lay: Layout, available: IntArray, need: IntArray, ratio: FloatArray) -> IntArray:
    """Fill, site after site, the site whose units would cover the most weighted need still open.

    Each site's value is its reachable open need taken in decreasing ratio until the units left run out. With
    ``max_sites`` at most that many sites are used (units left over join the used site that holds the most
    now); otherwise units left over stay where they are.
    """
    m = lay.sites
    left = int(available.sum())
    residual = need.astype(np.int64).copy()
    placed = np.zeros(m, dtype=np.int64)
    reach = [lay.pair_point[lay.pair_site == j] for j in range(m)]
    used: list[int] = []
    while left > 0 and (lay.max_sites is None or len(used) < lay.max_sites):
        best_value, best_site, best_take = 0.0, -1, np.zeros(0, dtype=np.int64)
        for j in range(m):
            if j in used or len(reach[j]) == 0:
                continue
            pts = reach[j][np.argsort(-ratio[reach[j]], kind="stable")]
            take = np.minimum(residual[pts], np.maximum(left - np.concatenate(([0], np.cumsum(residual[pts])[:-1])), 0))
            value = float(take @ ratio[pts])
            if value > best_value:
                best_value, best_site, best_take = value, j, np.zeros(len(need), dtype=np.int64)
                best_take[pts] = take
        if best_site < 0:
            break
        used.append(best_site)
        units = int(best_take.sum())
        placed[best_site] += units
        residual -= best_take
        left -= units
    if left > 0 and lay.max_sites is not None:  # to the site (used, if any) that already holds the most
        pool = np.array(used) if used else np.arange(m)
        placed[pool[int(np.argmax(available[pool]))]] += left
    elif left > 0:
        for j in range(m):  # units left over stay where they are
            keep = min(int(available[j]), left)
            placed[j] += keep
            left -= keep
    return placed


def start_values(lay: Layout, placed: IntArray, pair_flows: IntArray, available: IntArray) -> FloatArray:
    """The programme's values for ``placed`` with the given flows (feasible for both stages)."""
    values = np.zeros(lay.columns)
    values[:lay.sites] = placed
    values[lay.f0:lay.u0] = pair_flows
    if lay.max_sites is not None:
        values[lay.u0:lay.m0] = placed > 0
    values[lay.m0:] = np.maximum(available - placed, 0)
    return values


def trivial_bound(lay: Layout, available: IntArray, need: IntArray, ratio: FloatArray) -> float:
    """Σ of the best ratios over at most S units of reachable need: no placement covers more."""
    reachable = np.zeros(len(need), dtype=bool)
    reachable[lay.pair_point] = True
    points = np.flatnonzero(reachable)
    points = points[np.argsort(-ratio[points], kind="stable")]
    units = need[points].astype(np.float64)
    room = np.maximum(float(available.sum()) - np.concatenate(([0.0], np.cumsum(units)[:-1])), 0.0)
    return float(np.minimum(units, room) @ ratio[points])


def moved_units(available: IntArray, placed: IntArray) -> int:
    return int(np.maximum(available - placed, 0).sum())


def place(within: BoolMatrix, weights: FloatArray, available: IntArray, need: IntArray, max_sites: int | None,
          *, time_limit: float, report: Report | None = None) -> Placement:
    """Both stages within ``time_limit`` seconds; the placement, the covering it allows, objective and bound."""
    began = time.perf_counter()
    ratio = np.where(need > 0, weights / np.maximum(need, 1), 0.0)
    lay = layout(within, need, max_sites)
    placed = greedy_placement(lay, available, need, ratio)
    pair_flows, _, value = flows(lay, placed, need, ratio)
    method = "heuristic"
    bound = trivial_bound(lay, available, need, ratio)
    listener: milp.SolveListener | None = None
    if report is not None:
        report("heuristic", value, bound)
        greedy_value, trivial = value, bound

        def listener(objective: float | None, mip_bound: float | None) -> None:
            report("milp", max(greedy_value, objective if objective is not None else greedy_value),
                   trivial if mip_bound is None else min(trivial, mip_bound))

    first = milp.solve(programme(lay, available, need, ratio), time_limit=FIRST_STAGE_SHARE * time_limit,
                       start=start_values(lay, placed, pair_flows, available), listener=listener)
    if first.values is not None:
        candidate = np.round(first.values[:lay.sites]).astype(np.int64)
        candidate_flows, _, candidate_value = flows(lay, candidate, need, ratio)
        if candidate_value >= value - 1e-9 * max(1.0, abs(value)):
            placed, pair_flows, value, method = candidate, candidate_flows, candidate_value, "milp"
    if first.bound is not None:
        bound = min(bound, first.bound)
    bound = max(bound, value)
    left = time_limit - (time.perf_counter() - began)
    if left > 0.05 and moved_units(available, placed) > 0:
        floor = value - 1e-9 * max(1.0, abs(value))
        second = milp.solve(programme(lay, available, need, ratio, moves_within=floor), time_limit=left,
                            start=start_values(lay, placed, pair_flows, available))
        if second.values is not None:
            candidate = np.round(second.values[:lay.sites]).astype(np.int64)
            candidate_flows, _, candidate_value = flows(lay, candidate, need, ratio)
            if candidate_value >= floor and moved_units(available, candidate) < moved_units(available, placed):
                placed, pair_flows, value = candidate, candidate_flows, candidate_value
    covered = np.bincount(lay.pair_point, weights=pair_flows, minlength=len(need)).astype(np.int64)
    gap = max(bound - value, 0.0) / max(abs(value), 1e-9)
    return Placement(placed, covered, value, bound, method, gap <= 1e-6 or first.optimal)
