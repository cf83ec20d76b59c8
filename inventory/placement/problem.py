"""The placement problem and its answer: demand points, candidate sites, travel minutes; objective, bound, gap."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

Objective = Literal["coverage", "median", "stock"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Instance:
    """Demand points with weights, candidate sites, and the travel minutes from every site to every point.

    ``minutes[j, i]`` is the travel time from site ``j`` to point ``i``; ``inf`` where the pair is unreachable
    (a travel-time file that does not list it). Ids are strings, as the files and the database give them.
    """

    point_ids: tuple[str, ...]
    weights: FloatArray  # shape (n_points,), > 0
    site_ids: tuple[str, ...]
    minutes: FloatArray  # shape (n_sites, n_points), >= 0 or inf


@dataclass(frozen=True)
class StockInput:
    """For the stock-aware objective: the units of one item type that can move, and what each point needs.

    ``available[j]`` units are at candidate site ``j`` now (0 where none); ``need[i]`` units are wanted at
    point ``i``. A unit placed at a site counts for at most one unit of need of one point within the target.
    """

    available: npt.NDArray[np.int64]  # shape (n_sites,)
    need: npt.NDArray[np.int64]  # shape (n_points,)
    #: travel minutes between candidate sites (n_sites × n_sites, ``inf`` where unknown), to plan the moves at
    #: least cost; ``None``: the time through the best shared demand point, min_i (minutes[a, i] + minutes[b, i]).
    site_minutes: FloatArray | None = None


@dataclass(frozen=True)
class Progress:
    """What a running solve reports: its stage, the best answer so far and the best bound so far."""

    stage: str  # "heuristic" | "milp" | "done"
    seconds: float
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class Move:
    """Stock-aware answers: move ``quantity`` units from site ``from_site`` to site ``to_site``."""

    from_site: str
    to_site: str
    quantity: int


@dataclass(frozen=True)
class Answer:
    """An optimiser answer, never without a bound.

    ``gap`` = |bound − objective| / max(|objective|, tiny); 0 = proven optimal.

    * coverage: ``objective`` is the covered weight (maximised); ``bound`` is an upper bound on it.
    * median: ``objective`` is the weighted travel time Σ wᵢ·minᵢ (minimised); ``bound`` is a lower bound.
    * stock: ``objective`` is Σ wᵢ · coveredᵢ / needᵢ (maximised); ``bound`` an upper bound; ``placed`` and ``moves``
      say where units go and from where.
    ``assignment`` maps every point to the chosen site that serves it (the nearest chosen site; ``None`` when
    no chosen site is within the target, or for median when none is reachable). ``uncovered`` lists the points
    not covered within the target (coverage and stock: need not fully met; median: none reachable).
    """

    objective_kind: Objective
    objective: float
    bound: float
    gap: float
    sites: tuple[str, ...]
    uncovered: tuple[str, ...]
    assignment: dict[str, str | None]
    seconds: float
    method: str  # "milp" (solver's incumbent) | "heuristic" (greedy + local search, bound from the solver)
    proven_optimal: bool
    total_weight: float = 0.0
    placed: dict[str, int] = field(default_factory=dict)
    covered_need: dict[str, int] = field(default_factory=dict)
    moves: tuple[Move, ...] = ()

    def as_json(self) -> dict[str, object]:
        """The CLI's ``--json`` object plus the details (``assignment``, ``placed``, ``moves``…)."""
        return {
            "objective": self.objective, "bound": self.bound, "gap": self.gap, "sites": list(self.sites),
            "uncovered": list(self.uncovered), "seconds": round(self.seconds, 3),
            "objective_kind": self.objective_kind, "method": self.method, "proven_optimal": self.proven_optimal,
            "total_weight": self.total_weight, "assignment": self.assignment, "placed": self.placed,
            "covered_need": self.covered_need,
            "moves": [{"from": m.from_site, "to": m.to_site, "quantity": m.quantity} for m in self.moves],
        }
