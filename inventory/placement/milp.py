"""One mixed-integer programme handed to HiGHS: rows in CSR form, a time limit, a warm start, progress, a bound.

The console stays silent: ``output_flag`` is set before any other call on the solver (the banner is printed by
the first call otherwise), and the bare ``_Highs`` class is used so that no callback machinery is attached
before that. Each solve has its own solver object, so solves in different threads share nothing.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from highspy import HighsModelStatus, HighsStatus, MatrixFormat, ObjSense, cb, kHighsInf, kSolutionStatusFeasible
from highspy._core import _Highs

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int32]

INF = kHighsInf
PROGRESS_EVERY = 1.0  # seconds between two progress reports from inside the solve

#: ``(objective, bound)`` of the running solve, in the programme's own sense.
SolveListener = Callable[[float | None, float | None], None]


@dataclass
class Rows:
    """Constraint rows ``lower ≤ A x ≤ upper`` accumulated block by block, then stored in CSR form."""

    starts: list[IntArray] = field(default_factory=list)
    indices: list[IntArray] = field(default_factory=list)
    values: list[FloatArray] = field(default_factory=list)
    lower: list[FloatArray] = field(default_factory=list)
    upper: list[FloatArray] = field(default_factory=list)
    count: int = 0
    nonzeros: int = 0

    def add(self, lengths: npt.NDArray[np.int64], indices: npt.NDArray[np.int64], values: FloatArray,
            lower: FloatArray, upper: FloatArray) -> None:
        """Append rows: row r holds ``lengths[r]`` consecutive entries of ``indices``/``values``."""
        if len(lengths) == 0:
            return
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1])) + self.nonzeros
        self.starts.append(starts.astype(np.int32))
        self.indices.append(indices.astype(np.int32))
        self.values.append(values.astype(np.float64))
        self.lower.append(lower.astype(np.float64))
        self.upper.append(upper.astype(np.float64))
        self.count += len(lengths)
        self.nonzeros += len(indices)


@dataclass(frozen=True)
class Programme:
    """Columns (cost, bounds, integrality) and rows; ``maximise`` flips the sense."""

    cost: FloatArray
    lower: FloatArray
    upper: FloatArray
    integer: npt.NDArray[np.bool_]
    rows: Rows
    maximise: bool = False
    offset: float = 0.0


@dataclass(frozen=True)
class Outcome:
    """What HiGHS returned: the incumbent (``None`` if none), its objective, the best bound, and whether proven."""

    values: FloatArray | None
    objective: float | None
    bound: float | None
    optimal: bool
    infeasible: bool
    status: str
    seconds: float


def solve(programme: Programme, *, time_limit: float, start: FloatArray | None = None,
          listener: SolveListener | None = None) -> Outcome:
    """Solve ``programme`` within ``time_limit`` seconds; ``start`` is a feasible point HiGHS may begin from."""
    began = time.perf_counter()
    h = _Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", max(float(time_limit), 0.01))
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("random_seed", 0)
    if not programme.integer.any():
        h.setOptionValue("solver", "simplex")  # a vertex: transport LPs then answer in whole units
    n = len(programme.cost)
    rows = programme.rows
    integrality = programme.integer.astype(np.int32)
    status = h.passModel(
        n, rows.count, rows.nonzeros, int(MatrixFormat.kRowwise),
        int(ObjSense.kMaximize if programme.maximise else ObjSense.kMinimize), programme.offset,
        programme.cost.astype(np.float64), programme.lower.astype(np.float64), programme.upper.astype(np.float64),
        _floats(rows.lower), _floats(rows.upper), _ints(rows.starts),
        _ints(rows.indices), _floats(rows.values), integrality)
    if status == HighsStatus.kError:
        raise RuntimeError("HiGHS refused the model")
    if start is not None:
        h.setSolution(n, np.arange(n, dtype=np.int32), start.astype(np.float64))
    failures: list[BaseException] = []
    if listener is not None:
        _listen(h, listener, failures)
    h.run()
    if failures:
        raise failures[0]
    model_status = h.getModelStatus()
    info = h.getInfo()
    values: FloatArray | None = None
    objective: float | None = None
    if info.primal_solution_status == kSolutionStatusFeasible:
        values = np.asarray(h.getSolution().col_value, dtype=np.float64)
        objective = float(info.objective_function_value)
    bound = _finite(info.mip_dual_bound) if programme.integer.any() else None
    optimal = model_status == HighsModelStatus.kOptimal
    if optimal and objective is not None and (bound is None or not programme.integer.any()):
        bound = objective
    infeasible = model_status == HighsModelStatus.kInfeasible
    return Outcome(values, objective, bound, optimal, infeasible, h.modelStatusToString(model_status),
                   time.perf_counter() - began)


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) and abs(value) < INF else None


def _listen(h: _Highs, listener: SolveListener, failures: list[BaseException]) -> None:
    """Report improving solutions at once and the bound at most every ``PROGRESS_EVERY`` seconds."""
    last = [time.perf_counter()]

    def event(kind: cb.HighsCallbackType, _message: str, out: cb.HighsCallbackOutput,
              inp: cb.HighsCallbackInput | None, _data: object) -> None:
        if failures:  # keep asking HiGHS to stop until it does
            if inp is not None:
                inp.user_interrupt = True
            return
        now = time.perf_counter()
        if kind != cb.HighsCallbackType.kCallbackMipImprovingSolution and now - last[0] < PROGRESS_EVERY:
            return
        last[0] = now
        try:
            listener(_finite(out.mip_primal_bound), _finite(out.mip_dual_bound))
        except BaseException as error:  # the listener's error ends the solve and is raised after it
            failures.append(error)
            if inp is not None:
                inp.user_interrupt = True

    h.setCallback(event, None)
    h.startCallback(cb.HighsCallbackType.kCallbackMipImprovingSolution)
    h.startCallback(cb.HighsCallbackType.kCallbackMipInterrupt)


@dataclass(frozen=True)
class Relaxation:
    """A bound from an LP relaxation's duals (``lagrangian``), and reduced costs, in the programme's own sense."""

    bound: float
    reduced: FloatArray
    seconds: float


def lagrangian(programme: Programme, dual: FloatArray) -> tuple[float, FloatArray]:
    """For a minimising ``programme`` and any row duals: a valid lower bound and the reduced costs.

    Duals are first clipped to the signs their rows allow (a positive dual prices a row's lower side, a
    negative one its upper side; none where that side is open); the bound is then the Lagrangian value for
    exactly those duals over the column box, so it holds however rough the duals are.
    """
    rows = programme.rows
    n = len(programme.cost)
    lower_rows, upper_rows = _floats(rows.lower), _floats(rows.upper)
    starts, indices, values = _ints(rows.starts), _ints(rows.indices), _floats(rows.values)
    dual = np.nan_to_num(dual, nan=0.0, posinf=0.0, neginf=0.0)
    dual = np.where((dual > 0) & ~np.isfinite(lower_rows), 0.0, dual)
    dual = np.where((dual < 0) & ~np.isfinite(upper_rows), 0.0, dual)
    side = np.where(dual > 0, lower_rows, np.where(dual < 0, upper_rows, 0.0))
    row_of = np.repeat(np.arange(rows.count), np.diff(np.append(starts, rows.nonzeros)))
    reduced = programme.cost - np.bincount(indices, weights=values * dual[row_of], minlength=n)
    with np.errstate(invalid="ignore"):  # 0 × inf where a reduced cost is 0 on an open side
        box = np.where(reduced > 0, reduced * programme.lower, np.where(reduced < 0, reduced * programme.upper, 0.0))
    return float(dual @ side + box.sum()) + programme.offset, reduced


def fixed_columns(relaxation: Relaxation, maximise: bool, columns: IntArray, incumbent: float,
                  step: float) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Binary columns that take 0 (first mask) or 1 (second) in every solution better than ``incumbent``.

    Setting column j against its relaxed side costs at least |reduced_j| on the Lagrangian bound; if that
    bound then cannot beat ``incumbent`` by ``step`` (1 when every objective value is an integer, else 0, with a
    margin for rounding), no solution better than ``incumbent`` has it on that side.
    """
    sign = -1.0 if maximise else 1.0
    bound = sign * relaxation.bound
    target = sign * incumbent - step + 1e-7 * max(1.0, abs(incumbent))
    reduced = sign * relaxation.reduced[columns]
    return bound + np.maximum(reduced, 0.0) > target, bound + np.maximum(-reduced, 0.0) > target


def _floats(parts: Sequence[npt.NDArray[Any]]) -> FloatArray:
    return np.concatenate(parts).astype(np.float64) if parts else np.zeros(0, np.float64)


def _ints(parts: Sequence[npt.NDArray[Any]]) -> IntArray:
    return np.concatenate(parts).astype(np.int32) if parts else np.zeros(0, np.int32)
