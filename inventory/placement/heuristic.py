"""Greedy construction and best-improvement swaps for both objectives; ruin and recreate for covering.

Both work on dense numpy matrices (sites × points) and stop at a deadline (``time.perf_counter()`` value): the
answer is a warm start for HiGHS and the figure the MILP is measured against. Neither claims optimality; the
bound always comes from the solver (or from a relaxation that holds for any choice of sites).
"""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt

from inventory.placement.problem import FloatArray

BoolMatrix = npt.NDArray[np.bool_]
IndexArray = npt.NDArray[np.int64]

EPS = 1e-9


def greedy_coverage(cover: BoolMatrix, weights: FloatArray, p: int) -> IndexArray:
    """Add, p times, the site that covers the most still-uncovered weight (ties: the lower index)."""
    a = cover.astype(np.float32)
    left = weights.astype(np.float64).copy()
    chosen: list[int] = []
    for _ in range(p):
        gain = a @ left.astype(np.float32)
        gain[chosen] = -1.0
        j = int(np.argmax(gain))
        chosen.append(j)
        left[cover[j]] = 0.0
    return np.array(chosen, dtype=np.int64)


def coverage_value(cover: BoolMatrix, weights: FloatArray, sites: IndexArray) -> float:
    """The weight covered by ``sites``."""
    return float(weights[cover[sites].any(axis=0)].sum()) if len(sites) else 0.0


def swap_coverage(cover: BoolMatrix, weights: FloatArray, sites: IndexArray, deadline: float) -> IndexArray:
    """Best-improvement 1-swaps (one site out, one in) until none gains or the deadline passes."""
    return _CoverSwaps(cover, weights).descend(sites.copy(), deadline)


def iterated_coverage(cover: BoolMatrix, weights: FloatArray, sites: IndexArray, deadline: float,
                      patience: int = 2000) -> IndexArray:
    """Swaps, then ruin and recreate: drop a few random chosen sites, re-add greedily, descend again.

    A trial is kept when no worse than the current choice. The best seen is returned at the deadline, or once
    ``patience`` trials in a row have not improved on it and the last improvement is older than half the time
    spent so far (improvements still coming keep the search going). Seeded, so the same input gives the same
    answer.
    """
    began = time.perf_counter()
    swaps = _CoverSwaps(cover, weights)
    rng = np.random.default_rng(0)
    current = swaps.descend(sites.copy(), deadline)
    value = coverage_value(cover, weights, current)
    best, best_value = current.copy(), value
    m, p = cover.shape[0], len(current)
    idle, improved = 0, began
    while p < m:
        now = time.perf_counter()
        if now >= deadline or (idle >= patience and now - improved > (now - began) / 2):
            break
        ruin = int(rng.integers(1, max(1, min(p // 4, 10)) + 1))
        trial = swaps.recreate(np.delete(current, rng.choice(p, ruin, replace=False)), p)
        trial = swaps.descend(trial, deadline)
        trial_value = coverage_value(cover, weights, trial)
        idle += 1
        if trial_value >= value:
            current, value = trial, trial_value
        if trial_value > best_value + swaps.tolerance:
            best, best_value, idle, improved = trial.copy(), trial_value, 0, time.perf_counter()
    return best


class _CoverSwaps:
    """The covering pairs (site, point) once, then each swap evaluated over them in O(pairs + sites × p)."""

    def __init__(self, cover: BoolMatrix, weights: FloatArray) -> None:
        self.m, self.n = cover.shape
        self.site, self.point = (v.astype(np.int64) for v in np.nonzero(cover))
        self.w = weights.astype(np.float64)
        self.pair_w = self.w[self.point]
        self.tolerance = EPS * max(1.0, float(self.w.sum()))

    def recreate(self, kept: IndexArray, p: int) -> IndexArray:
        """Add sites to ``kept``, each time the one covering the most still-uncovered weight, until there are p."""
        chosen = list(kept)
        left = self.w.copy()
        covered = np.isin(self.site, kept)
        left[self.point[covered]] = 0.0
        while len(chosen) < p:
            gain = np.bincount(self.site, weights=left[self.point], minlength=self.m)
            gain[chosen] = -1.0
            j = int(np.argmax(gain))
            chosen.append(j)
            left[self.point[self.site == j]] = 0.0
        return np.array(chosen, dtype=np.int64)

    def descend(self, open_: IndexArray, deadline: float) -> IndexArray:
        """Apply the best swap (in place on ``open_``) while one gains and the deadline is not passed."""
        m, p = self.m, len(open_)
        position = np.full(m, -1, dtype=np.int64)
        while p < m and time.perf_counter() < deadline:
            position[:] = -1
            position[open_] = np.arange(p)
            open_pair = position[self.site] >= 0
            count = np.bincount(self.point[open_pair], minlength=self.n)
            pair_count = count[self.point]
            gain_in = np.bincount(self.site, weights=self.pair_w * (pair_count == 0), minlength=m)
            lone = open_pair & (pair_count == 1)
            owner = np.full(self.n, -1, dtype=np.int64)
            owner[self.point[lone]] = position[self.site[lone]]
            loss_out = np.bincount(owner[self.point[lone]], weights=self.pair_w[lone], minlength=p)
            # an in-site j also covers some points only the out-site k covered: those stay covered
            shared = pair_count == 1
            kept = np.bincount(self.site[shared] * p + owner[self.point[shared]], weights=self.pair_w[shared],
                               minlength=m * p).reshape(m, p)
            delta = gain_in[:, None] - loss_out[None, :] + kept
            delta[open_, :] = -np.inf
            j, k = np.unravel_index(int(np.argmax(delta)), delta.shape)
            if delta[j, k] <= self.tolerance:
                break
            open_[k] = j
        return open_


def greedy_median(dist: FloatArray, weights: FloatArray, p: int) -> IndexArray:
    """Add, p times, the site that lowers Σ w·distance to the nearest chosen site the most."""
    current = np.full(dist.shape[1], np.inf)
    chosen: list[int] = []
    for _ in range(p):
        cost = np.minimum(dist, current) @ weights if chosen else dist @ weights
        cost[chosen] = np.inf
        j = int(np.argmin(cost))
        chosen.append(j)
        current = np.minimum(current, dist[j])
    return np.array(chosen, dtype=np.int64)


def median_value(dist: FloatArray, weights: FloatArray, sites: IndexArray) -> float:
    """Σ w·distance to the nearest of ``sites``."""
    return float(dist[sites].min(axis=0) @ weights)


def swap_median(dist: FloatArray, weights: FloatArray, sites: IndexArray, deadline: float) -> IndexArray:
    """Best-improvement 1-swaps until none lowers the cost or the deadline passes."""
    m = dist.shape[0]
    open_ = sites.copy()
    cost = median_value(dist, weights, open_)
    tolerance = EPS * max(1.0, abs(cost))
    while time.perf_counter() < deadline and len(open_) < m:
        sub = dist[open_]
        order = np.argsort(sub, axis=0, kind="stable")
        nearest = order[0]
        cols = np.arange(dist.shape[1])
        first = sub[nearest, cols]
        second = sub[order[1], cols] if len(open_) > 1 else np.full(dist.shape[1], np.inf)
        best = (cost, -1, -1)
        for k in range(len(open_)):
            base = np.where(nearest == k, second, first)
            totals = np.minimum(dist, base) @ weights
            totals[open_] = np.inf
            j = int(np.argmin(totals))
            if totals[j] < best[0] - tolerance:
                best = (float(totals[j]), j, k)
            if time.perf_counter() >= deadline:
                break
        if best[1] < 0:
            break
        cost, j, k = best
        open_[k] = j
    return open_
