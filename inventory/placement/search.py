"""The search both site-choice objectives share: heuristic, LP bound and fixing, MILP on what is left, best of both.

1. a heuristic (greedy, swaps; for covering also ruin and recreate) gives an incumbent within a share of the
   time limit;
2. where the problem has one, an LP relaxation gives a valid bound and reduced costs: sites that cannot be in
   any solution better than the incumbent are dropped, sites that must be are forced (``milp.fixed_columns``);
3. HiGHS solves the programme on the sites left, warm-started from the incumbent, until the time limit; a
   programme that is a growing relaxation (``Model.refine``) is refined and solved again while time is left;
4. the answer is the better incumbent; the bound is the relaxation's or, where tighter, the MILP's, combined
   with the incumbent used for fixing (a solution the fixing excluded is no better than that incumbent).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from inventory.placement import milp
from inventory.placement.problem import FloatArray, Progress, ProgressCallback

IndexArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

HEURISTIC_SHARE = 0.35  # of the time limit, at most, for the heuristic
RELAX_SHARE = 0.4  # of what is left, at most, for the LP relaxation


@dataclass(frozen=True)
class Choice:
    """The chosen sites (indices into the problem's sites) and what is known of their quality."""

    sites: IndexArray
    objective: float
    bound: float
    method: str
    optimal: bool


@dataclass(frozen=True)
class Model:
    """A programme over a subset of the sites: y columns 0…len(sites)−1 are ``sites`` in that order.

    With ``refine`` the programme is a relaxation that grows: given a solution, ``refine`` adds the rows that
    solution violates (to the programme's own ``Rows``) and says whether it added any; the search then solves
    again. Without it the programme is exact.
    """

    programme: milp.Programme
    sites: IndexArray
    start: Callable[[IndexArray], FloatArray]  # programme values for a choice (positions into ``sites``)
    refine: Callable[[FloatArray], bool] | None = None


@dataclass(frozen=True)
class Problem:
    """One site-choice problem: how to build its programme, how to value a choice, how to find a good one."""

    site_count: int
    p: int
    maximise: bool
    integral: bool  # the objective is an integer for every choice
    build: Callable[[IndexArray, BoolArray], Model]  # kept sites, which of them are forced open
    value: Callable[[IndexArray], float]
    heuristic: Callable[[float], IndexArray]  # deadline → a choice
    trivial_bound: float  # holds for every choice
    #: the LP relaxation (incumbent, deadline → bound and reduced costs of the sites), where it pays
    relaxation: Callable[[IndexArray, float], milp.Relaxation] | None = None


class Reporter:
    """Sends ``Progress`` to the caller's callback, measured from the start of the solve."""

    def __init__(self, callback: ProgressCallback | None, began: float, maximise: bool) -> None:
        self.callback = callback
        self.began = began
        self.maximise = maximise

    def __call__(self, stage: str, objective: float | None = None, bound: float | None = None) -> None:
        if self.callback is None:
            return
        self.callback(Progress(stage=stage, seconds=time.perf_counter() - self.began, objective=objective,
                               bound=bound, gap=gap(objective, bound, self.maximise)))


def gap(objective: float | None, bound: float | None, maximise: bool) -> float | None:
    """|bound − objective| / max(|objective|, tiny), never negative; None when either is unknown."""
    if objective is None or bound is None:
        return None
    difference = bound - objective if maximise else objective - bound
    return max(difference, 0.0) / max(abs(objective), 1e-9)


def better(a: float, b: float, maximise: bool) -> bool:
    return a > b if maximise else a < b


def search(problem: Problem, *, time_limit: float, began: float, report: Reporter) -> Choice:
    """Run steps 1–4 within ``time_limit`` seconds counted from ``began``."""
    deadline = began + time_limit
    maximise = problem.maximise
    report("heuristic", None, problem.trivial_bound)
    sites = problem.heuristic(min(deadline, time.perf_counter() + HEURISTIC_SHARE * time_limit))
    incumbent = problem.value(sites)
    bound = problem.trivial_bound
    report("heuristic", incumbent, bound)
    if gap(incumbent, bound, maximise) == 0.0:
        return _finish(problem, sites, incumbent, bound, "heuristic")

    every = np.arange(problem.site_count, dtype=np.int64)
    kept, forced = every, np.zeros(problem.site_count, dtype=bool)
    if problem.relaxation is not None:
        relaxation = problem.relaxation(sites, time.perf_counter() + RELAX_SHARE * (deadline - time.perf_counter()))
        bound = min(bound, relaxation.bound) if maximise else max(bound, relaxation.bound)
        step = 1.0 if problem.integral else 0.0
        off, on = milp.fixed_columns(relaxation, maximise, every.astype(np.int32), incumbent, step)
        report("milp", incumbent, bound)
        if gap(incumbent, bound, maximise) == 0.0:
            return _finish(problem, sites, incumbent, bound, "heuristic")
        kept = np.flatnonzero(~off | np.isin(every, sites))
        forced = on[kept]
    model = problem.build(kept, forced)
    method = "heuristic"
    objective = incumbent
    final = bound

    def listen(value: float | None, mip_bound: float | None) -> None:
        # a refined programme's incumbent is not yet priced at its true cost: report the last one that was
        report("milp", objective if model.refine is not None else _best(objective, value, maximise),
               _combine(final, mip_bound, incumbent, maximise))

    while True:
        position = np.searchsorted(model.sites, sites)
        start = model.start(position) if np.array_equal(model.sites[position], sites) else None
        outcome = milp.solve(model.programme, time_limit=deadline - time.perf_counter(), start=start,
                             listener=listen)
        if outcome.values is not None:
            chosen = model.sites[np.flatnonzero(outcome.values[:len(model.sites)] > 0.5)]
            value = problem.value(chosen)
            if len(chosen) == problem.p and not better(objective, value, maximise):
                sites, objective, method = chosen, value, "milp"
        final = _combine(final, outcome.bound, incumbent, maximise)
        if outcome.infeasible:  # nothing on the sites left beats the incumbent
            final = incumbent
        closed = (gap(objective, _rounded(problem, final), maximise) or 0.0) <= 1e-9
        if closed or model.refine is None or outcome.values is None:
            break
        if time.perf_counter() >= deadline - 0.05 or not model.refine(outcome.values):
            break
    return _finish(problem, sites, objective, final, method)


def _rounded(problem: Problem, bound: float) -> float:
    """An integral problem's bound rounded to the integer it implies (bounds carry the solver's rounding)."""
    if not problem.integral:
        return bound
    return float(np.floor(bound + 1e-6)) if problem.maximise else float(np.ceil(bound - 1e-6))


def _finish(problem: Problem, sites: IndexArray, objective: float, bound: float, method: str) -> Choice:
    """Round an integral problem's bound to the integer it implies; a bound never passes the answer."""
    bound = _rounded(problem, bound)
    bound = max(bound, objective) if problem.maximise else min(bound, objective)
    return Choice(np.sort(sites), objective, bound, method, (gap(objective, bound, problem.maximise) or 0.0) <= 1e-6)


def _best(incumbent: float, objective: float | None, maximise: bool) -> float:
    if objective is None:
        return incumbent
    return max(incumbent, objective) if maximise else min(incumbent, objective)


def _combine(bound: float, mip_bound: float | None, fixed_against: float, maximise: bool) -> float:
    """The global bound: the relaxation's, or the reduced MILP's where tighter (every solution the fixing
    excluded is no better than ``fixed_against``, the incumbent it used)."""
    if mip_bound is None:
        return bound
    if maximise:
        return min(bound, max(mip_bound, fixed_against))
    return max(bound, min(mip_bound, fixed_against))
