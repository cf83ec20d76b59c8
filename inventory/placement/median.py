"""The p-median programme in Elloumi's sorted-distance form (Cornuéjols–Nemhauser–Wolsey levels, chained).

For client i with distinct distances D¹ < … < Dᴷ to the sites, ``z_i^k`` is 1 when no chosen site is within
Dᵏ: ``z_i^1 ≥ 1 − Σ_{d_ij = D¹} y_j`` and ``z_i^k ≥ z_i^{k−1} − Σ_{d_ij = Dᵏ} y_j``; the cost is
``Σ_i w_i (D¹ + Σ_k (Dᵏ⁺¹ − Dᵏ) z_i^k)`` with ``Σ_j y_j = p``. A level that holds the nearest ``m − p + 1``
sites always has a chosen site, so the chain stops there (its ``z`` would be 0). Per client the rows carry
about 2K + m nonzeros instead of the m² of the classic assignment form.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from inventory.placement import heuristic, search
from inventory.placement.median_cuts import MedianCuts
from inventory.placement.milp import Programme, Rows
from inventory.placement.problem import FloatArray

IndexArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

LEVEL_COLUMNS = 50_000  # above this many z columns, the cut master is solved instead of the sorted-distance form


@dataclass(frozen=True)
class MedianModel:
    """The programme; the y columns are 0…m−1."""

    programme: Programme
    sites: int
    lower_bound: float  # Σ w_i · (nearest site's distance): holds whatever sites are chosen
    z_first: list[int]  # per client: its first z column
    z_levels: list[FloatArray]  # per client: the distances D¹ … of its z columns


def median_model(dist: FloatArray, weights: FloatArray, p: int, forced: BoolArray | None = None) -> MedianModel:
    """Build the programme for finite ``dist`` (sites × points, unreachable pairs already given a penalty)."""
    m, n = dist.shape
    costs: list[FloatArray] = [np.zeros(m)]
    rows = Rows()
    column = m
    offset = 0.0
    z_first: list[int] = []
    z_levels: list[FloatArray] = []
    for i in range(n):
        order = np.argsort(dist[:, i], kind="stable")
        d = dist[order, i]
        first = np.flatnonzero(np.concatenate(([True], np.diff(d) > 0)))  # first position of each level
        levels = d[first]
        offset += float(weights[i] * levels[0])
        ends = np.concatenate((first[1:], [m]))  # level k holds order[first[k]:ends[k]]
        needed = int(np.searchsorted(ends, m - p + 1))  # the level that surely holds a chosen site
        k_count = max(min(needed, len(levels) - 1), 0)  # z^1 … z^k_count (0-based levels 0 … k_count-1)
        z_first.append(column)
        z_levels.append(levels[:k_count])
        if k_count == 0:
            continue
        z = column + np.arange(k_count)
        column += k_count
        costs.append(weights[i] * np.diff(levels[:k_count + 1]))
        sizes = ends[:k_count] - first[:k_count]
        chained = np.arange(k_count) > 0
        lengths = 1 + chained + sizes
        idx_parts: list[IndexArray] = []
        val_parts: list[FloatArray] = []
        for k in range(k_count):
            ys = order[first[k]:ends[k]]
            if k == 0:
                idx_parts.append(np.concatenate(([z[0]], ys)))
                val_parts.append(np.ones(1 + len(ys)))
            else:
                idx_parts.append(np.concatenate(([z[k], z[k - 1]], ys)))
                val_parts.append(np.concatenate(([1.0, -1.0], np.ones(len(ys)))))
        lower = np.zeros(k_count)
        lower[0] = 1.0
        rows.add(lengths.astype(np.int64), np.concatenate(idx_parts), np.concatenate(val_parts), lower,
                 np.full(k_count, np.inf))
    rows.add(np.array([m]), np.arange(m), np.ones(m), np.array([float(p)]), np.array([float(p)]))
    cost = np.concatenate(costs)
    count = len(cost)
    integer = np.zeros(count, dtype=bool)
    integer[:m] = True
    lower = np.zeros(count)
    if forced is not None:
        lower[:m] = forced.astype(np.float64)
    programme = Programme(cost=cost, lower=lower, upper=np.ones(count), integer=integer, rows=rows, offset=offset)
    return MedianModel(programme, m, offset, z_first, z_levels)


def median_start(model: MedianModel, dist: FloatArray, sites: IndexArray) -> FloatArray:
    """The programme's values for a choice of sites (each z at the value its rows then force)."""
    values = np.zeros(len(model.programme.cost))
    values[sites] = 1.0
    nearest = dist[sites].min(axis=0)
    for i, (z0, levels) in enumerate(zip(model.z_first, model.z_levels, strict=True)):
        values[z0:z0 + len(levels)] = levels < nearest[i]
    return values


def level_columns(dist: FloatArray, p: int) -> int:
    """How many z columns ``median_model`` would make for ``dist`` (sites × points)."""
    m = dist.shape[0]
    d = np.sort(dist, axis=0)
    level = np.cumsum(np.vstack((np.zeros((1, d.shape[1]), dtype=bool), np.diff(d, axis=0) > 0)), axis=0)
    return int(np.minimum(level[m - p], level[-1]).sum())


def median_problem(dist: FloatArray, weights: FloatArray, p: int) -> search.Problem:
    """The instance as a ``search.Problem`` (choices are indices into the rows of ``dist``).

    The sites are first bounded and fixed by the cutting-plane LP (``MedianCuts.relax``). On the sites left,
    the sorted-distance programme is solved when it has at most ``LEVEL_COLUMNS`` z columns (few distinct
    distances, as on road networks measured in whole minutes); otherwise the cut master is solved and refined.
    """
    cuts = MedianCuts(dist, weights, p)
    every = np.arange(dist.shape[0], dtype=np.int64)

    def build(kept: IndexArray, forced: BoolArray) -> search.Model:
        sub = dist[kept]
        if level_columns(sub, p) <= LEVEL_COLUMNS:
            model = median_model(sub, weights, p, forced)
            return search.Model(model.programme, kept, lambda positions: median_start(model, sub, positions))
        return search.Model(cuts.programme(kept, forced), every, cuts.start, cuts.refine)

    def value(sites: IndexArray) -> float:
        return heuristic.median_value(dist, weights, sites)

    def find(deadline: float) -> IndexArray:
        return heuristic.swap_median(dist, weights, heuristic.greedy_median(dist, weights, p), deadline)

    integral = bool(np.all(weights == np.round(weights)) and np.all(dist == np.round(dist)))
    trivial = float(dist.min(axis=0) @ weights)  # every point at its nearest site
    return search.Problem(site_count=dist.shape[0], p=p, maximise=False, integral=integral, build=build,
                          value=value, heuristic=find, trivial_bound=trivial, relaxation=cuts.relax)
