"""Judging latencies measured while heavy work runs, on a shared machine."""

from __future__ import annotations


def second_slowest(latencies: list[float]) -> float:
    """The second-largest latency (the largest when there is only one).

    One pause of a loaded machine (a GC, the scheduler, another process) is not the event loop waiting on the heavy
    work: that would slow every request issued while the work runs, or leave too few requests run at all (which the
    tests check separately).
    """
    return sorted(latencies)[-2] if len(latencies) > 1 else latencies[0]
