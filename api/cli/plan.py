"""``inventory plan optimise``: choose pre-positioning sites from CSV files (maximal covering or p-median).

Progress goes to standard error while HiGHS runs; the answer to standard output — a few readable lines, or
with ``--json`` exactly one JSON object. Files that break a rule: every problem on standard error, exit 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from api.cli.terminal import CommandGroups, say
from inventory.config import Settings

if TYPE_CHECKING:
    from inventory.placement.problem import Answer, Instance, Progress

_LISTED_IDS = 20
_STAGES = {"heuristic": "启发式 heuristic", "milp": "整数规划 MILP", "done": "完成 done"}


def add_commands(groups: CommandGroups) -> None:
    """Add ``plan optimise``."""
    plan = groups.add_parser("plan", help="预置选址 pre-positioning plans")
    opt = plan.add_subparsers(dest="plan_command", required=True).add_parser(
        "optimise", help="choose p sites from CSV files: coverage within T minutes, or least weighted minutes",
        description="需求点 demand id,lat,lon,weight；候选站点 sites id,lat,lon；行驶时间 times site,point,minutes "
                    "(UTF-8 CSV, header row; README: Pre-positioning optimiser)")
    opt.add_argument("--demand", required=True, help="CSV id,lat,lon,weight (demand points)")
    opt.add_argument("--sites", required=True, help="CSV id,lat,lon (candidate sites)")
    opt.add_argument("--times", help="CSV site,point,minutes; pairs not listed are unreachable "
                                     "(default: estimate from coordinates)")
    opt.add_argument("--objective", required=True, choices=("coverage", "median"),
                     help="coverage: most weight within --within-minutes; median: least Σ weight × minutes")
    opt.add_argument("--p", type=int, required=True, help="how many sites to choose")
    opt.add_argument("--within-minutes", type=float, help="the target (required for coverage)")
    opt.add_argument("--time-limit", type=float, default=60.0, help="seconds for the solver (default 60)")
    opt.add_argument("--minutes-per-km", type=float,
                     help="estimate: minutes per straight-line km (default as `nearest`: road factor ÷ speed × 60)")
    opt.add_argument("--mobilisation", type=float, default=0.0,
                     help="estimate: minutes before a load leaves any site (default 0)")
    opt.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    plan.set_defaults(handler=run)


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Run one ``plan`` command."""
    return _optimise(args)


def _optimise(args: argparse.Namespace) -> int:
    from inventory.errors import InventoryError
    from inventory.placement.files import read_instance
    from inventory.placement.solve import solve_coverage, solve_median
    from inventory.placement.travel import DEFAULT_MINUTES_PER_KM

    refusal = _check_arguments(args)
    if refusal:
        _err(f"错误 error: {refusal}")
        return 2
    per_km = DEFAULT_MINUTES_PER_KM if args.minutes_per_km is None else args.minutes_per_km
    try:
        instance = read_instance(Path(args.demand), Path(args.sites), Path(args.times) if args.times else None,
                                 minutes_per_km=per_km, mobilisation=args.mobilisation)
    except InventoryError as exc:
        _err(f"拒绝求解 refused, nothing solved.\n{exc.detail}")
        return 2
    if args.p > len(instance.site_ids):
        _err(f"错误 error: --p {args.p} 多于候选站点数 {len(instance.site_ids)} (more than the candidate sites)")
        return 2
    travel = (f"行驶时间文件 times file {Path(args.times).name}" if args.times else
              f"估算 estimate {per_km:g} 分钟/公里 min/km + {args.mobilisation:g} 分钟出动 mobilisation")
    _err(f"读入 read {len(instance.point_ids)} 个需求点 points, {len(instance.site_ids)} 个候选站点 sites; "
         f"{travel}; 求解中 solving (时限 time limit {args.time_limit:g} s)…")
    try:
        if args.objective == "coverage":
            answer = solve_coverage(instance, args.p, args.within_minutes, time_limit=args.time_limit,
                                    progress=_ProgressLines())
        else:
            answer = solve_median(instance, args.p, time_limit=args.time_limit, progress=_ProgressLines())
    except InventoryError as exc:
        _err(f"错误 error: {exc.detail}")
        return 2
    if args.json:
        doc = {**answer.as_json(), "p": args.p, "within_minutes": args.within_minutes}
        print(json.dumps(_finite_or_null(doc), ensure_ascii=False, allow_nan=False), flush=True)
    else:
        for line in _report(answer, instance, args):
            say(line)
    return 0


def _check_arguments(args: argparse.Namespace) -> str | None:
    """Why the numbers given cannot be used, or None."""
    if args.p < 1:
        return f"--p 应为正整数，收到 {args.p} (p must be ≥ 1)"
    if args.objective == "coverage" and args.within_minutes is None:
        return "覆盖目标需要 --within-minutes（几分钟内算覆盖）(coverage needs --within-minutes)"
    for name, value in (("--within-minutes", args.within_minutes), ("--mobilisation", args.mobilisation),
                        ("--minutes-per-km", args.minutes_per_km)):
        if value is not None and not (math.isfinite(value) and value >= 0):
            return f"{name} 应为非负有限数，收到 {value:g} ({name} must be finite and ≥ 0)"
    if not (math.isfinite(args.time_limit) and args.time_limit > 0):
        return f"--time-limit 应为正数（秒），收到 {args.time_limit:g} (seconds, > 0)"
    return None


class _ProgressLines:
    """Print the solver's progress on standard error: at each new stage, and at most once a second otherwise."""

    def __init__(self) -> None:
        self._stage: str | None = None
        self._printed = -math.inf

    def __call__(self, progress: Progress) -> None:
        now = time.monotonic()
        if progress.stage == self._stage and progress.stage != "done" and now - self._printed < 1.0:
            return
        self._stage, self._printed = progress.stage, now
        gap = "—" if progress.gap is None else _percent(progress.gap)
        _err(f"  [{_STAGES.get(progress.stage, progress.stage)}] {progress.seconds:.1f} s  "
             f"当前最优 incumbent {_num(progress.objective)}  界 bound {_num(progress.bound)}  差距 gap {gap}")


def _report(answer: Answer, instance: Instance, args: argparse.Namespace) -> list[str]:
    """The answer as lines for a person."""
    total = float(instance.weights.sum())
    if answer.objective_kind == "coverage":
        lines = [f"目标 objective: 最大覆盖 maximal covering (coverage) — 选 {args.p} 个站点 sites, "
                 f"{args.within_minutes:g} 分钟内 within {args.within_minutes:g} min",
                 f"覆盖权重 covered weight: {_num(answer.objective)} / {_num(total)} "
                 f"({_percent(answer.objective / total if total else 0.0)})"]
        bound = f"界 bound: {_num(answer.bound)}（覆盖权重的上界 upper bound on the covered weight）"
        missing = "未覆盖需求点 uncovered points"
    else:
        lines = [f"目标 objective: p-中位 p-median (median) — 选 {args.p} 个站点 sites, "
                 "加权行驶时间最小 least weighted minutes",
                 f"加权行驶时间 weighted minutes Σ weight × minutes: {_num(answer.objective)}"
                 f"（平均 mean {_num(answer.objective / total if total else 0.0)} 分钟 min per unit of weight）"]
        if args.within_minutes is not None:
            lines.append(f"其中 {args.within_minutes:g} 分钟内 within {args.within_minutes:g} min: "
                         f"{_num(_weight_within(answer, instance, args.within_minutes))} / {_num(total)}")
        bound = f"界 bound: {_num(answer.bound)}（加权行驶时间的下界 lower bound on the weighted minutes）"
        missing = "无站点可达的需求点 unreachable points"
    lines.append(f"选中站点 chosen sites ({len(answer.sites)}): {_ids(answer.sites)}")
    lines.append(f"{missing} ({len(answer.uncovered)}): {_ids(answer.uncovered) if answer.uncovered else '无 none'}")
    lines.append(bound)
    if answer.proven_optimal or answer.gap == 0:
        lines.append(f"差距 gap: {_percent(answer.gap)} — 已证明最优 proven optimal")
    else:
        lines.append(f"差距 gap: {_percent(answer.gap)} — 时限内找到的最好解，未证明最优 "
                     f"(best found within the time limit; not proven optimal)")
    lines.append(f"用时 seconds: {answer.seconds:.1f} s（{answer.method}）")
    return lines


def _weight_within(answer: Answer, instance: Instance, minutes: float) -> float:
    """The demand weight within ``minutes`` of a chosen site."""
    chosen = [instance.site_ids.index(s) for s in answer.sites]
    if not chosen:
        return 0.0
    reach = instance.minutes[chosen].min(axis=0) <= minutes
    return float(instance.weights[reach].sum())


def _ids(ids: Sequence[str]) -> str:
    """Ids joined, the first few only for a long list, saying how many more."""
    shown = ", ".join(ids[:_LISTED_IDS])
    more = len(ids) - _LISTED_IDS
    return f"{shown} …另有 {more} 个 (and {more} more)" if more > 0 else shown


def _num(value: float | None) -> str:
    """A figure for a person: two decimals at most, ∞ for unreachable, — for none yet."""
    if value is None:
        return "—"
    if not math.isfinite(value):
        return "∞" if value > 0 else "-∞"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _percent(fraction: float) -> str:
    """A fraction as a percentage."""
    if not math.isfinite(fraction):
        return "∞"
    return f"{fraction * 100:.2f}".rstrip("0").rstrip(".") + "%"


def _finite_or_null(value: object) -> object:
    """The JSON document with ``null`` for non-finite numbers (JSON has no infinity) and plain numbers for numpy's."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite_or_null(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite_or_null(v) for v in value]
    item = getattr(value, "item", None)  # a numpy scalar
    if callable(item) and not isinstance(value, str | int | float | bool):
        return _finite_or_null(item())
    return value


def _err(message: str) -> None:
    """One line (or a few) on standard error at once."""
    print(message, file=sys.stderr, flush=True)
