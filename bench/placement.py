"""Benchmark the placement optimiser on published instances with known optima (issue 18).

* OR-Library p-median ``pmed1``–``pmed20`` (Beasley): graphs whose all-pairs shortest paths are the distances,
  every node a demand point and a candidate site; published proven optima in ``pmedopt.txt``.
  Target: each proven optimal (gap 0) within 60 s.
* AILS-MCLP New York, 2,713 points that are also the sites, radius 400 m, p = 50, 60, …, 100; best known
  covered demand in ``NewYork_<p>_400.txt``. Target: p = 50 and 60 proven optimal, all six within 0.5 % of the
  best known value, each within 120 s.

Every instance runs through ``solve_median`` / ``solve_coverage`` (the code the API and the CLI call). The
baseline, measured in the same run on the same data: the classic heuristic, greedy then best-improvement
1-swaps to a local optimum (Teitz–Bart style), with its objective, time and distance to the published value.
Data: ``bench/data/placement`` (credits in its SOURCE.md). The machine's load average is printed first, since
other work on it slows every figure.

    python bench/placement.py                                # everything (about 15 minutes)
    python bench/placement.py --only pmed1,pmed16,ny50       # some instances
    python bench/placement.py --time-limit 30                # one limit for all (default: 60 s / 120 s)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Run as a file, this folder comes first on sys.path and bench/labels.py would shadow the labels package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inventory.placement import heuristic
from inventory.placement.instances import read_mclp_best, read_mclp_instance, read_pmed, read_pmed_optima
from inventory.placement.problem import Answer, Instance
from inventory.placement.solve import solve_coverage, solve_median

DATA = Path(__file__).resolve().parent / "data" / "placement"
PMED = tuple(f"pmed{k}" for k in range(1, 21))
NEW_YORK = tuple(f"ny{p}" for p in (50, 60, 70, 80, 90, 100))
RADIUS_M = 400.0
PMED_LIMIT_S = 60.0
NY_LIMIT_S = 120.0
NY_TOLERANCE = 0.005
NY_PROVEN = ("ny50", "ny60")


@dataclass(frozen=True)
class Row:
    name: str
    p: int
    published: float
    baseline: float
    baseline_s: float
    answer: Answer
    met: bool


def baseline(instance: Instance, p: int, radius: float | None) -> tuple[float, float]:
    """Greedy, then best-improvement 1-swaps to a local optimum: (objective, seconds)."""
    began = time.perf_counter()
    forever = began + 3600.0
    if radius is None:
        sites = heuristic.swap_median(instance.minutes, instance.weights,
                                      heuristic.greedy_median(instance.minutes, instance.weights, p), forever)
        value = heuristic.median_value(instance.minutes, instance.weights, sites)
    else:
        cover = instance.minutes <= radius
        sites = heuristic.swap_coverage(cover, instance.weights,
                                        heuristic.greedy_coverage(cover, instance.weights, p), forever)
        value = heuristic.coverage_value(cover, instance.weights, sites)
    return value, time.perf_counter() - began


def run_pmed(name: str, limit: float) -> Row:
    instance, p = read_pmed(DATA / f"{name}.txt")
    published = read_pmed_optima(DATA / "pmedopt.txt")[name]
    value, seconds = baseline(instance, p, None)
    answer = solve_median(instance, p, time_limit=limit)
    met = answer.proven_optimal and answer.seconds <= PMED_LIMIT_S and abs(answer.objective - published) < 0.5
    return Row(name, p, published, value, seconds, answer, met)


def run_new_york(name: str, limit: float, instance: Instance) -> Row:
    p = int(name[2:])
    published, _ = read_mclp_best(DATA / f"NewYork_{p}_{RADIUS_M:.0f}.txt")
    value, seconds = baseline(instance, p, RADIUS_M)
    answer = solve_coverage(instance, p, RADIUS_M, time_limit=limit)
    met = (answer.objective >= (1 - NY_TOLERANCE) * published and answer.seconds <= NY_LIMIT_S
           and (answer.proven_optimal or name not in NY_PROVEN))
    return Row(name, p, published, value, seconds, answer, met)


def relative(value: float, published: float) -> str:
    return f"{100 * (value - published) / published:+.3f}%"


def print_row(row: Row) -> None:
    a = row.answer
    print(f"{row.name:<7} {row.p:>4} {row.published:>12,.0f} │ {row.baseline:>12,.0f} "
          f"{relative(row.baseline, row.published):>9} {row.baseline_s:>7.3f} │ "
          f"{a.objective:>12,.0f} {a.bound:>14,.1f} {100 * a.gap:>8.4f}% "
          f"{'yes' if a.proven_optimal else 'no':>6} {a.seconds:>7.1f} {relative(a.objective, row.published):>9} "
          f"{'MET' if row.met else 'NOT MET'}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="comma-separated instance names (pmed1…pmed20, ny50…ny100)")
    parser.add_argument("--time-limit", type=float, help="seconds per instance (default 60 for pmed, 120 for ny)")
    args = parser.parse_args()
    names = list(PMED + NEW_YORK)
    if args.only:
        wanted = [n.strip().lower() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in wanted if n not in names]
        if unknown:
            parser.error(f"unknown instance(s): {', '.join(unknown)}; known: pmed1…pmed20, ny50…ny100")
        names = wanted
    print(f"load average {', '.join(f'{v:.2f}' for v in os.getloadavg())} on {os.cpu_count()} cores")
    print(f"{'':<12} {'published':>12} │ {'baseline: greedy + 1-swap':^30} │ "
          f"{'MILP (solve_median / solve_coverage)':^73}")
    print(f"{'name':<7} {'p':>4} {'objective':>12} │ {'objective':>12} {'vs publ.':>9} {'s':>7} │ {'objective':>12} "
          f"{'bound':>14} {'gap':>9} {'proven':>6} {'s':>7} {'vs publ.':>9} target")
    rows: list[Row] = []
    new_york: Instance | None = None
    for name in names:
        if name.startswith("pmed"):
            rows.append(run_pmed(name, args.time_limit or PMED_LIMIT_S))
        else:
            if new_york is None:
                began = time.perf_counter()
                new_york = read_mclp_instance(DATA / "NewYork.txt")
                print(f"(New York: 2,713 × 2,713 distances in {time.perf_counter() - began:.1f} s, "
                      f"{int(np.sum(new_york.minutes <= RADIUS_M)):,} pairs within {RADIUS_M:.0f} m)")
            rows.append(run_new_york(name, args.time_limit or NY_LIMIT_S, new_york))
        print_row(rows[-1])
    met = sum(r.met for r in rows)
    print(f"targets met: {met} of {len(rows)} — pmed: proven optimal at the published value within "
          f"{PMED_LIMIT_S:.0f} s; ny: within {100 * NY_TOLERANCE:.1f} % of the best known within {NY_LIMIT_S:.0f} s, "
          f"{' and '.join(NY_PROVEN)} proven optimal")
    return 0 if met == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
