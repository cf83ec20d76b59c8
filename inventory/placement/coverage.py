"""Maximal covering: choose p sites to maximise the weight within the target (Church–ReVelle programme).

``max Σ_g W_g z_g`` subject to ``z_g ≤ Σ_{j covers g} y_j``, ``Σ_j y_j = p``, y binary, 0 ≤ z ≤ 1, on the
instance that ``reduce.reduce_cover`` leaves (merged points, undominated sites).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from inventory.placement import heuristic, reduce, search
from inventory.placement.milp import Programme, Rows
from inventory.placement.problem import FloatArray

BoolMatrix = npt.NDArray[np.bool_]
IndexArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def coverage_programme(cover: BoolMatrix, weights: FloatArray, p: int, forced: BoolArray) -> Programme:
    """The programme for ``cover`` (sites × points); y columns first, then one z per point."""
    m, g = cover.shape
    point, site = np.nonzero(cover.T)  # sorted by point
    counts = np.bincount(point, minlength=g)
    heads = np.concatenate(([0], np.cumsum(counts + 1)[:-1]))
    total = g + len(site)
    is_head = np.zeros(total, dtype=bool)
    is_head[heads] = True
    indices = np.empty(total, dtype=np.int64)
    values = np.empty(total)
    indices[is_head] = m + np.arange(g)
    values[is_head] = 1.0
    indices[~is_head] = site
    values[~is_head] = -1.0
    rows = Rows()
    rows.add(counts + 1, indices, values, np.full(g, -np.inf), np.zeros(g))
    rows.add(np.array([m]), np.arange(m), np.ones(m), np.array([float(p)]), np.array([float(p)]))
    lower = np.zeros(m + g)
    lower[:m] = forced.astype(np.float64)
    integer = np.zeros(m + g, dtype=bool)
    integer[:m] = True
    return Programme(cost=np.concatenate((np.zeros(m), weights)), lower=lower, upper=np.ones(m + g),
                     integer=integer, rows=rows, maximise=True)


def coverage_problem(cover: BoolMatrix, weights: FloatArray, p: int) -> search.Problem:
    """The reduced instance as a ``search.Problem`` (choices are indices into the rows of ``cover``)."""
    m = cover.shape[0]

    def build(kept: IndexArray, forced: BoolArray) -> search.Model:
        # without some sites, points can have identical covering sets again: merge them
        sub, merged, _ = reduce.merge_points(cover[kept], weights)
        programme = coverage_programme(sub, merged, p, forced)

        def start(positions: IndexArray) -> FloatArray:
            values = np.zeros(len(programme.cost))
            values[positions] = 1.0
            values[len(kept):] = sub[positions].any(axis=0)
            return values

        return search.Model(programme, kept, start)

    def value(sites: IndexArray) -> float:
        return heuristic.coverage_value(cover, weights, sites)

    def find(deadline: float) -> IndexArray:
        return heuristic.iterated_coverage(cover, weights, heuristic.greedy_coverage(cover, weights, p), deadline)

    # no p sites cover more than the p largest neighbourhoods, nor more than everything coverable
    sizes = np.sort(cover.astype(np.float64) @ weights)[::-1]
    trivial = float(min(sizes[:p].sum(), weights.sum()))
    integral = bool(np.all(weights == np.round(weights)))
    return search.Problem(site_count=m, p=p, maximise=True, integral=integral, build=build, value=value,
                          heuristic=find, trivial_bound=trivial)
