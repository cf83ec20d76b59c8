"""The p-median by Benders cuts in the space of the sites: the LP bound, and a master MILP refined with cuts.

For fixed (fractional) y, point i's cheapest service ``f_i(y)`` fills one unit from its nearest sites up. For
any level v, ``θ_i ≥ v − Σ_j (v − d_ij)⁺ y_j`` holds for every y (LP duality on that small problem), and v at
the level where the cumulative y reaches 1 gives the tightest such cut at y (exact at an integral y). The
master ``min Σ w_i θ_i``, ``Σ y = p``, ``0 ≤ y ≤ 1``, ``min_j d_ij ≤ θ_i ≤ max_j d_ij`` plus the cuts found has
m + n columns only, where the sorted-distance programme has one per (point, distinct distance).

* ``relax``: cutting planes on the LP, separated between the master's solution and a core point inside the
  feasible set (in-out stabilisation), until the master's value meets the best fractional cost. That is the
  p-median's LP bound (the sorted-distance programme's too); the master's duals give reduced costs.
* ``programme``/``refine``: the master as a MILP over the cuts found; when its integral answer costs more than
  its θ say, the cuts at that answer are added and the MILP solved again. Its bound holds at every round.
"""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt
from highspy import HighsModelStatus, MatrixFormat, ObjSense
from highspy._core import _Highs

from inventory.placement.milp import Programme, Relaxation, Rows, lagrangian
from inventory.placement.problem import FloatArray

IndexArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

CONVERGED = 1e-7  # relative distance between the master's value and the best fractional point's cost
MIXING = 0.5  # weight of the core point in the separation point


class MedianCuts:
    """The cuts found so far for one instance, and the master programmes built on them."""

    def __init__(self, dist: FloatArray, weights: FloatArray, p: int) -> None:
        self.m, self.n = dist.shape
        self.p = p
        self.weights = weights
        self.order = np.argsort(dist, axis=0, kind="stable")
        self.d_sorted = np.take_along_axis(dist, self.order, axis=0)
        self.cost = np.concatenate((np.zeros(self.m), weights))
        self.lower = np.concatenate((np.zeros(self.m), self.d_sorted[0]))
        self.upper = np.concatenate((np.ones(self.m), self.d_sorted[-1]))
        self.rows = Rows()
        self.rows.add(np.array([self.m]), np.arange(self.m), np.ones(self.m), np.array([float(p)]),
                      np.array([float(p)]))

    def service_cost(self, y: FloatArray) -> FloatArray:
        """``f_i(y)`` for every point."""
        y_sorted = y[self.order]
        before = np.cumsum(y_sorted, axis=0) - y_sorted
        share = np.minimum(y_sorted, np.maximum(1.0 - before, 0.0))
        return np.asarray((self.d_sorted * share).sum(axis=0), dtype=np.float64)

    def relax(self, incumbent: IndexArray, deadline: float) -> Relaxation:
        """The LP bound by stabilised cutting planes until converged or ``deadline``; reduced costs of y."""
        began = time.perf_counter()
        m, n, rows = self.m, self.n, self.rows
        h = _Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("solver", "simplex")
        h.passModel(m + n, rows.count, rows.nonzeros, int(MatrixFormat.kRowwise), int(ObjSense.kMinimize), 0.0,
                    self.cost, self.lower, self.upper, np.concatenate(rows.lower), np.concatenate(rows.upper),
                    np.concatenate(rows.starts), np.concatenate(rows.indices), np.concatenate(rows.values),
                    np.zeros(m + n, dtype=np.int32))
        core = np.full(m, self.p / m)
        core[incumbent] += 1.0
        core = np.minimum(core * self.p / core.sum(), 1.0)
        best_fractional = np.inf
        while time.perf_counter() < deadline:
            h.setOptionValue("time_limit", max(deadline - time.perf_counter(), 0.01))
            h.run()
            if h.getModelStatus() != HighsModelStatus.kOptimal:
                break
            values = np.asarray(h.getSolution().col_value, dtype=np.float64)
            y, theta = np.clip(values[:m], 0.0, 1.0), values[m:]
            master = float(h.getInfo().objective_function_value)
            added = 0
            for point in (MIXING * core + (1 - MIXING) * y, y):
                best_fractional = min(best_fractional, float(self.service_cost(point) @ self.weights))
                added = self.add(point, y, theta, h)
                if added:
                    break
            if not added or best_fractional - master <= CONVERGED * max(1.0, abs(best_fractional)):
                break
        dual = np.asarray(h.getSolution().row_dual, dtype=np.float64)
        programme = Programme(self.cost, self.lower, self.upper, np.zeros(m + n, dtype=bool), rows)
        bound, reduced = lagrangian(programme, dual if len(dual) == rows.count else np.zeros(rows.count))
        return Relaxation(bound, reduced, time.perf_counter() - began)

    def programme(self, kept: IndexArray, forced: BoolArray) -> Programme:
        """The master MILP over the cuts so far; sites not in ``kept`` closed, ``forced`` ones (of kept) open."""
        lower, upper = self.lower.copy(), self.upper.copy()
        closed = np.ones(self.m, dtype=bool)
        closed[kept] = False
        upper[:self.m][closed] = 0.0
        lower[kept[forced]] = 1.0
        integer = np.zeros(self.m + self.n, dtype=bool)
        integer[:self.m] = True
        return Programme(self.cost, lower, upper, integer, self.rows)

    def start(self, sites: IndexArray) -> FloatArray:
        """The master's values for a choice: y, and θ at the true cost (which every cut allows)."""
        y = np.zeros(self.m)
        y[sites] = 1.0
        return np.concatenate((y, np.clip(self.service_cost(y), self.lower[self.m:], self.upper[self.m:])))

    def refine(self, values: FloatArray) -> bool:
        """Add the cuts at the master's integral answer that its θ violate; whether any was added."""
        y = np.round(np.clip(values[:self.m], 0.0, 1.0)).astype(np.float64)
        return self.add(y, y, values[self.m:]) > 0

    def add(self, point: FloatArray, y: FloatArray, theta: FloatArray, h: _Highs | None = None) -> int:
        """The tightest cut of each point at ``point`` where it cuts off (y, θ); how many were added."""
        m, n = self.m, self.n
        full = np.cumsum(point[self.order], axis=0) >= 1.0 - 1e-9
        full[-1] = True
        reach = np.argmax(full, axis=0)  # the first position where one unit is reached
        level = self.d_sorted[reach, np.arange(n)]
        slope = np.maximum(level[None, :] - self.d_sorted, 0.0)  # (v − d_ij)⁺ in each point's sorted order
        at_y = level - (slope * y[self.order]).sum(axis=0)
        violated = np.flatnonzero(at_y - theta > 1e-7 * np.maximum(1.0, np.abs(level)))
        if len(violated) == 0:
            return 0
        lengths: list[int] = []
        indices: list[IndexArray] = []
        values: list[FloatArray] = []
        for i in violated:  # θ_i + Σ_j (v − d_ij)⁺ y_j ≥ v
            closer = np.flatnonzero(slope[:reach[i], i] > 0)
            lengths.append(1 + len(closer))
            indices.append(np.concatenate(([m + i], self.order[closer, i])))
            values.append(np.concatenate(([1.0], slope[closer, i])))
        count = len(violated)
        idx = np.concatenate(indices)
        val = np.concatenate(values)
        low = level[violated].astype(np.float64)
        self.rows.add(np.array(lengths, dtype=np.int64), idx, val, low, np.full(count, np.inf))
        if h is not None:
            starts = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int32)
            h.addRows(count, low, np.full(count, np.inf), len(idx), starts, idx.astype(np.int32), val)
        return count
