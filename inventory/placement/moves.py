"""Which units go where: a least-cost transport from the sites that give up units to those that receive them.

Sites holding more than their placement send the surplus; sites holding less receive the deficit; the cost of
a unit from a to b is the travel time between them. A transport LP (its vertex solutions are integral) decides
the quantities. Without site-to-site times the cost is the time through the best shared demand point,
``min_i (minutes[a, i] + minutes[b, i])``; pairs with no finite cost cost ten times the largest finite one plus
one, so every surplus still finds a destination.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from inventory.placement import milp
from inventory.placement.milp import Programme, Rows
from inventory.placement.problem import FloatArray

IntArray = npt.NDArray[np.int64]


def site_costs(minutes: FloatArray, site_minutes: FloatArray | None, senders: IntArray,
               receivers: IntArray) -> FloatArray:
    """Cost of a unit from each sender to each receiver (senders × receivers), always finite."""
    if site_minutes is not None:
        cost = np.asarray(site_minutes, dtype=np.float64)[np.ix_(senders, receivers)]
    else:
        cost = np.array([(minutes[s][None, :] + minutes[receivers]).min(axis=1) for s in senders])
    finite = cost[np.isfinite(cost)]
    penalty = 10.0 * (float(finite.max()) if len(finite) else 1.0) + 1.0
    return np.where(np.isfinite(cost), cost, penalty)


def plan_moves(available: IntArray, placed: IntArray, minutes: FloatArray,
               site_minutes: FloatArray | None) -> list[tuple[int, int, int]]:
    """``(from_site, to_site, quantity)`` triples moving ``available`` into ``placed`` at least total cost."""
    surplus = available - placed
    senders = np.flatnonzero(surplus > 0).astype(np.int64)
    receivers = np.flatnonzero(surplus < 0).astype(np.int64)
    if len(senders) == 0 or len(receivers) == 0:
        return []
    cost = site_costs(minutes, site_minutes, senders, receivers)
    a, b = len(senders), len(receivers)
    rows = Rows()
    give = surplus[senders].astype(np.float64)
    rows.add(np.full(a, b), np.arange(a * b), np.ones(a * b), give, give)
    take = (-surplus[receivers]).astype(np.float64)
    by_receiver = (np.arange(a)[None, :] * b + np.arange(b)[:, None]).reshape(-1)
    rows.add(np.full(b, a), by_receiver, np.ones(a * b), take, take)
    lp = Programme(cost.reshape(-1), np.zeros(a * b), np.full(a * b, np.inf), np.zeros(a * b, dtype=bool), rows)
    outcome = milp.solve(lp, time_limit=60.0)
    if outcome.values is not None:
        quantity = np.round(outcome.values).astype(np.int64).reshape(a, b)
    else:  # not expected (the transport is balanced and uncapacitated): send in order instead
        quantity = _in_order(surplus[senders], -surplus[receivers])
    return [(int(senders[s]), int(receivers[r]), int(quantity[s, r]))
            for s, r in zip(*np.nonzero(quantity > 0), strict=True)]


def _in_order(give: IntArray, take: IntArray) -> IntArray:
    """Senders in order fill receivers in order (north-west corner)."""
    quantity = np.zeros((len(give), len(take)), dtype=np.int64)
    give, take = give.copy(), take.copy()
    s = r = 0
    while s < len(give) and r < len(take):
        amount = min(give[s], take[r])
        quantity[s, r] = amount
        give[s] -= amount
        take[r] -= amount
        s += give[s] == 0
        r += take[r] == 0
    return quantity
