"""Allot stock that is already in place to the points that need it, as well as the optimiser would.

Given units at sites (``supply``), what each point needs (``need``), the weights and the travel minutes, the
allotment maximises ``Σ_i (w_i / need_i) · covered_i`` over units within ``within`` minutes of their point — the
stock-aware optimiser's objective (:mod:`inventory.placement.stock`) for a placement that is fixed — and among
allotments that reach it, the fewest unit-minutes travelled (a second solve holding the first objective at its
optimum). Flows are integer columns, so the answer is in whole units. A plan's coverage uses it, so that the
plan page and the optimiser answer the plan came from count the same layout the same way.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from inventory.placement import milp
from inventory.placement.milp import Programme, Rows
from inventory.placement.problem import FloatArray

IntArray = npt.NDArray[np.int64]
TIME_LIMIT = 30.0  # seconds per stage; these programmes are transport problems and solve at once


def allocate(weights: FloatArray, need: IntArray, supply: IntArray, minutes: FloatArray,
             within: float) -> dict[tuple[int, int], int]:
    """``(site j, point i) → units`` of the best allotment (see the module doc); pairs with no units left out.

    ``minutes[j, i]`` is the travel time from site ``j`` to point ``i`` (``inf`` where unreachable).
    """
    weights = np.asarray(weights, dtype=np.float64)
    need = np.asarray(need, dtype=np.int64)
    supply = np.asarray(supply, dtype=np.int64)
    minutes = np.asarray(minutes, dtype=np.float64)
    if minutes.shape != (len(supply), len(need)) or len(weights) != len(need):
        raise ValueError("allocate: shapes of weights, need, supply and minutes do not match")
    ok = (minutes <= within) & (supply[:, None] > 0) & (need[None, :] > 0)
    sites, points = np.nonzero(ok)
    if len(sites) == 0:
        return {}
    value = weights[points] / need[points]
    n = len(sites)
    rows = _capacities(sites, points, supply, need)
    upper = np.minimum(supply[sites], need[points]).astype(np.float64)
    first = milp.solve(Programme(cost=value, lower=np.zeros(n), upper=upper, integer=np.ones(n, dtype=bool),
                                 rows=rows, maximise=True), time_limit=TIME_LIMIT)
    if first.values is None or first.objective is None:
        raise RuntimeError("allocate: HiGHS found no allotment")
    best = first.objective
    hold = _capacities(sites, points, supply, need)
    slack = 1e-9 * max(1.0, abs(best))
    hold.add(np.array([n]), np.arange(n), value, np.array([best - slack]), np.array([np.inf]))
    second = milp.solve(Programme(cost=minutes[sites, points], lower=np.zeros(n), upper=upper,
                                  integer=np.ones(n, dtype=bool), rows=hold), time_limit=TIME_LIMIT,
                        start=first.values)
    flows = second.values if second.values is not None else first.values
    units = np.rint(flows).astype(np.int64)
    return {(int(sites[k]), int(points[k])): int(units[k]) for k in range(n) if units[k] > 0}


def _capacities(sites: IntArray, points: IntArray, supply: IntArray, need: IntArray) -> Rows:
    """A site gives at most its supply; a point takes at most its need."""
    rows = Rows()
    for owner, cap in ((sites, supply), (points, need)):
        order = np.argsort(owner, kind="stable")
        keys, counts = np.unique(owner[order], return_counts=True)
        rows.add(counts, order, np.ones(len(order)), np.full(len(keys), -np.inf), cap[keys].astype(np.float64))
    return rows
