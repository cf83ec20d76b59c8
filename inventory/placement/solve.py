"""Solve placement instances exactly with HiGHS under a time limit, with a heuristic start and a bound always.

Each function checks its input (``InvalidInput`` naming the field), solves within ``time_limit`` seconds counted
from the call, reports progress through ``progress`` (stages ``heuristic``, ``milp``, ``done``) and returns an
``Answer`` whose ``bound`` holds whatever happened: from HiGHS when it got that far, otherwise from a relaxation
that needs no solver. Safe to call from worker threads: every call has its own solver object.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import numpy.typing as npt

from inventory.placement import coverage, median, moves, reduce, search, validate
from inventory.placement.problem import Answer, FloatArray, Instance, Move, Objective, ProgressCallback, StockInput
from inventory.placement.stock import place

IndexArray = npt.NDArray[np.int64]

UNREACHABLE_FACTOR = 10.0  # median: a point no chosen site reaches counts this many times the longest finite time


def solve_coverage(instance: Instance, p: int, within_minutes: float, *, time_limit: float = 60.0,
                   progress: ProgressCallback | None = None) -> Answer:
    """Maximal covering: choose ``p`` sites to maximise the weight of points within ``within_minutes``."""
    began = time.perf_counter()
    validate.check_instance(instance)
    validate.check_p(p, len(instance.site_ids))
    validate.check_within(within_minutes)
    validate.check_time_limit(time_limit)
    report = search.Reporter(progress, began, maximise=True)
    cover = np.asarray(instance.minutes) <= within_minutes
    weights = np.asarray(instance.weights, dtype=np.float64)
    reduced = reduce.reduce_cover(cover, weights, p)
    if reduced.solved:  # the undominated sites cover everything coverable; fill up with the best of the rest
        sites = _fill(reduced.undominated, cover.astype(np.float64) @ weights, p)
        value = float(weights[cover[sites].any(axis=0)].sum())
        choice = search.Choice(sites, value, value, "heuristic", True)
    else:
        found = search.search(coverage.coverage_problem(reduced.cover, reduced.weights, p),
                              time_limit=_left(began, time_limit), began=time.perf_counter(), report=report)
        choice = search.Choice(np.sort(reduced.sites[found.sites]), found.objective, found.bound, found.method,
                               found.optimal)
    objective = float(weights[cover[choice.sites].any(axis=0)].sum())
    return _answer("coverage", instance, choice, objective, max(choice.bound, objective), began, report,
                   reach=np.where(cover, instance.minutes, np.inf))


def solve_median(instance: Instance, p: int, *, time_limit: float = 60.0,
                 progress: ProgressCallback | None = None) -> Answer:
    """p-median: choose ``p`` sites to minimise Σ weight × minutes to the nearest chosen site.

    A point that no chosen site reaches counts ``UNREACHABLE_FACTOR`` × the longest finite time, and is listed
    in ``uncovered``.
    """
    began = time.perf_counter()
    validate.check_instance(instance)
    validate.check_p(p, len(instance.site_ids))
    validate.check_time_limit(time_limit)
    report = search.Reporter(progress, began, maximise=False)
    minutes = np.asarray(instance.minutes, dtype=np.float64)
    weights = np.asarray(instance.weights, dtype=np.float64)
    finite = minutes[np.isfinite(minutes)]
    penalty = UNREACHABLE_FACTOR * float(finite.max()) if len(finite) and finite.max() > 0 else 1.0
    dist = np.where(np.isfinite(minutes), minutes, penalty)
    choice = search.search(median.median_problem(dist, weights, p), time_limit=_left(began, time_limit),
                           began=time.perf_counter(), report=report)
    objective = float(dist[choice.sites].min(axis=0) @ weights)
    return _answer("median", instance, choice, objective, min(choice.bound, objective), began, report,
                   reach=minutes)


def solve_stock(instance: Instance, stock: StockInput, within_minutes: float, *,
                max_sites: int | None = None, time_limit: float = 60.0,
                progress: ProgressCallback | None = None) -> Answer:
    """Place the movable units so that as much need as possible is within ``within_minutes``.

    The objective is Σ wᵢ · coveredᵢ / needᵢ; among placements reaching the best value found, the one moving
    fewest units is kept (a second, lexicographic solve). ``moves`` then says which units travel where.
    """
    began = time.perf_counter()
    validate.check_instance(instance)
    validate.check_within(within_minutes)
    validate.check_time_limit(time_limit)
    validate.check_stock(instance, stock, max_sites)
    report = search.Reporter(progress, began, maximise=True)
    report("heuristic")
    minutes = np.asarray(instance.minutes, dtype=np.float64)
    available = np.asarray(stock.available).astype(np.int64)
    need = np.asarray(stock.need).astype(np.int64)
    weights = np.asarray(instance.weights, dtype=np.float64)
    result = place(minutes <= within_minutes, weights, available, need, None if max_sites is None else int(max_sites),
                   time_limit=_left(began, time_limit), report=report)
    sites = np.flatnonzero(result.placed > 0).astype(np.int64)
    site_minutes = None if stock.site_minutes is None else np.asarray(stock.site_minutes, np.float64)
    planned = moves.plan_moves(available, result.placed, minutes, site_minutes)
    choice = search.Choice(sites, result.objective, result.bound, result.method, result.optimal)
    answer = _answer("stock", instance, choice, result.objective, max(result.bound, result.objective), began,
                     report, reach=np.where(minutes <= within_minutes, minutes, np.inf),
                     uncovered=np.flatnonzero((need > 0) & (result.covered < need)),
                     total_weight=float(weights[need > 0].sum()))
    ids = instance.site_ids
    return dataclasses.replace(
        answer, placed={ids[j]: int(result.placed[j]) for j in sites},
        covered_need={instance.point_ids[i]: int(c) for i, c in enumerate(result.covered) if c > 0},
        moves=tuple(Move(ids[a], ids[b], q) for a, b, q in planned))


def _left(began: float, time_limit: float) -> float:
    """What remains of the time limit, less a margin for HiGHS's overrun and the answer (at least 50 ms)."""
    return max(time_limit - (time.perf_counter() - began) - min(1.5, 0.02 * time_limit), 0.05)


def _fill(first: IndexArray, value: FloatArray, p: int) -> IndexArray:
    """``first`` (already enough to cover everything), then the most valuable other sites up to p."""
    order = np.argsort(-value, kind="stable")
    others = order[~np.isin(order, first)][:p - len(first)]
    return np.sort(np.concatenate((first, others)).astype(np.int64))


def _answer(kind: Objective, instance: Instance, choice: search.Choice, objective: float, bound: float,
            began: float, report: search.Reporter, *, reach: FloatArray,
            uncovered: IndexArray | None = None, total_weight: float | None = None) -> Answer:
    """Assignment to the nearest chosen site that reaches the point (within the target where there is one)."""
    maximise = kind != "median"
    sites = choice.sites
    assignment: dict[str, str | None] = {}
    nearest = np.argmin(reach[sites], axis=0) if len(sites) else np.zeros(len(instance.point_ids), dtype=int)
    served = np.isfinite(reach[sites].min(axis=0)) if len(sites) else np.zeros(len(instance.point_ids), bool)
    for i, point in enumerate(instance.point_ids):
        assignment[point] = instance.site_ids[sites[nearest[i]]] if served[i] else None
    if uncovered is None:
        uncovered = np.flatnonzero(~served)
    gap = search.gap(objective, bound, maximise) or 0.0
    seconds = time.perf_counter() - began
    report("done", objective, bound)
    return Answer(objective_kind=kind, objective=objective, bound=bound, gap=gap,
                  sites=tuple(instance.site_ids[j] for j in sites),
                  uncovered=tuple(instance.point_ids[i] for i in uncovered), assignment=assignment,
                  seconds=seconds, method=choice.method, proven_optimal=choice.optimal or gap <= 1e-6,
                  total_weight=float(np.sum(instance.weights)) if total_weight is None else total_weight)
