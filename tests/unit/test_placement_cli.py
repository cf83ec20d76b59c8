"""``inventory plan optimise`` on small files: the answer is the brute-force optimum, the outputs are as documented."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from inventory.availability.eta import EtaConfig
from inventory.places.geo import haversine_km

ROOT = Path(__file__).resolve().parents[2]
SIX_KEYS = {"objective", "bound", "gap", "sites", "uncovered", "seconds"}


@dataclass(frozen=True)
class Files:
    demand: Path
    sites: Path
    points: list[tuple[str, float, float, float]]  # id, lat, lon, weight
    candidates: list[tuple[str, float, float]]  # id, lat, lon


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "api.cli", "plan", "optimise", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=180, check=False)


@pytest.fixture
def county(tmp_path: Path) -> Files:
    """Fifteen demand points and seven candidate sites spread over a county (~50 km across)."""
    rng = np.random.default_rng(2024)
    points = [(f"村{k:02d}", round(28.3 + rng.uniform(0, 0.45), 5), round(115.7 + rng.uniform(0, 0.5), 5),
               float(rng.integers(1, 10))) for k in range(15)]
    candidates = [(f"S{k}", round(28.3 + rng.uniform(0, 0.45), 5), round(115.7 + rng.uniform(0, 0.5), 5))
                  for k in range(7)]
    demand = tmp_path / "points.csv"
    # as Excel writes it: BOM, CRLF, columns in another order, an extra column
    demand.write_text("名称,weight,lat,lon,id\r\n" + "".join(f"x,{w},{la},{lo},{i}\r\n" for i, la, lo, w in points),
                      encoding="utf-8-sig", newline="")
    sites = tmp_path / "sites.csv"
    sites.write_text("id,lat,lon\n" + "".join(f"{i},{la},{lo}\n" for i, la, lo in candidates), encoding="utf-8")
    return Files(demand, sites, points, candidates)


def _minutes(files: Files) -> dict[tuple[str, str], float]:
    """The default estimate, computed independently: haversine × nearest's minutes per km."""
    per_km = EtaConfig().travel_for("").minutes_per_km
    return {(s, p): haversine_km(sl, so, pl, po) * per_km
            for s, sl, so in files.candidates for p, pl, po, _ in files.points}


def _covered(files: Files, minutes: dict[tuple[str, str], float], chosen: tuple[str, ...], within: float) -> set[str]:
    return {p for p, *_ in files.points if any(minutes[s, p] <= within for s in chosen)}


def _weight(files: Files, ids: set[str]) -> float:
    return sum(w for p, _, _, w in files.points if p in ids)


def _median(files: Files, minutes: dict[tuple[str, str], float], chosen: tuple[str, ...]) -> float:
    return sum(w * min(minutes[s, p] for s in chosen) for p, _, _, w in files.points)


def test_coverage_json_is_one_object_with_the_brute_force_optimum(county: Files) -> None:
    within, p = 25.0, 2
    minutes = _minutes(county)
    site_ids = [s for s, *_ in county.candidates]
    best = max(_weight(county, _covered(county, minutes, c, within)) for c in itertools.combinations(site_ids, p))
    total = sum(w for *_, w in county.points)
    assert 0 < best < total  # the instance is not trivial: some weight stays uncovered
    done = _run("--demand", str(county.demand), "--sites", str(county.sites), "--objective", "coverage",
                "--p", str(p), "--within-minutes", str(within), "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)  # the whole of stdout is one JSON object
    assert isinstance(answer, dict) and answer.keys() >= SIX_KEYS
    assert answer["objective"] == pytest.approx(best, rel=1e-9)
    chosen = tuple(answer["sites"])
    assert len(chosen) == p and set(chosen) <= set(site_ids)
    covered = _covered(county, minutes, chosen, within)
    assert _weight(county, covered) == pytest.approx(best, rel=1e-9)
    assert set(answer["uncovered"]) == {q for q, *_ in county.points} - covered
    assert answer["bound"] >= best - 1e-6
    assert answer["gap"] <= 1e-4 and answer["proven_optimal"] is True
    assert answer["seconds"] >= 0


def test_median_json_is_the_brute_force_optimum(county: Files) -> None:
    p = 3
    minutes = _minutes(county)
    site_ids = [s for s, *_ in county.candidates]
    best = min(_median(county, minutes, c) for c in itertools.combinations(site_ids, p))
    done = _run("--demand", str(county.demand), "--sites", str(county.sites), "--objective", "median",
                "--p", str(p), "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer.keys() >= SIX_KEYS
    assert answer["objective"] == pytest.approx(best, rel=1e-6)
    assert _median(county, minutes, tuple(answer["sites"])) == pytest.approx(best, rel=1e-6)
    assert answer["bound"] <= best * (1 + 1e-6) and answer["uncovered"] == []


def test_mobilisation_and_speed_options_change_the_estimate(county: Files) -> None:
    within, p = 40.0, 2
    per_km, mobilisation = 3.0, 15.0
    minutes = {k: mobilisation + v / EtaConfig().travel_for("").minutes_per_km * per_km
               for k, v in _minutes(county).items()}
    site_ids = [s for s, *_ in county.candidates]
    best = max(_weight(county, _covered(county, minutes, c, within)) for c in itertools.combinations(site_ids, p))
    done = _run("--demand", str(county.demand), "--sites", str(county.sites), "--objective", "coverage",
                "--p", str(p), "--within-minutes", str(within), "--minutes-per-km", str(per_km),
                "--mobilisation", str(mobilisation), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["objective"] == pytest.approx(best, rel=1e-9)


def test_a_times_file_with_empty_coordinates_leaves_unlisted_pairs_unreachable(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("id,lat,lon,weight\na,,,5\nb,,,4\nc,,,3\nd,,,2\nalone,,,9\n", encoding="utf-8")
    (tmp_path / "s.csv").write_text("id,lat,lon\nX,,\nY,,\nZ,,\n", encoding="utf-8")
    listed = {("X", "a"): 5, ("X", "b"): 50, ("Y", "b"): 8, ("Y", "c"): 9, ("Z", "c"): 3, ("Z", "d"): 4,
              ("Z", "a"): 31}
    (tmp_path / "t.csv").write_text("site,point,minutes\n" + "".join(f"{s},{q},{m}\n" for (s, q), m in listed.items()),
                                    encoding="utf-8")
    within = 30.0
    weight = {"a": 5, "b": 4, "c": 3, "d": 2, "alone": 9}

    def covered(chosen: tuple[str, ...]) -> float:
        return sum(w for q, w in weight.items() if any(listed.get((s, q), math.inf) <= within for s in chosen))

    best = max(covered(c) for c in itertools.combinations("XYZ", 2))
    done = _run("--demand", str(tmp_path / "d.csv"), "--sites", str(tmp_path / "s.csv"), "--times",
                str(tmp_path / "t.csv"), "--objective", "coverage", "--p", "2", "--within-minutes", "30", "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["objective"] == pytest.approx(best) and covered(tuple(answer["sites"])) == pytest.approx(best)
    assert "alone" in answer["uncovered"]  # listed with no site: unreachable, whatever is chosen


def test_the_human_output_names_the_chosen_sites_the_weight_and_the_proof(county: Files) -> None:
    args = ("--demand", str(county.demand), "--sites", str(county.sites), "--objective", "coverage", "--p", "2",
            "--within-minutes", "25")
    chosen = json.loads(_run(*args, "--json").stdout)["sites"]
    done = _run(*args)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "最大覆盖" in out and "coverage" in out.lower()
    chosen_line = next(line for line in out.splitlines() if line.startswith("选中站点 chosen sites"))
    assert all(s in chosen_line for s in chosen)
    assert "覆盖权重 covered weight" in out and "未覆盖需求点 uncovered points" in out
    assert "已证明最优 proven optimal" in out and "界 bound" in out
    assert "求解中 solving" in done.stderr and "求解中" not in out  # progress on stderr only


def test_a_bad_file_exits_2_naming_the_line_and_prints_nothing_on_stdout(county: Files, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("id,lat,lon,weight\np1,28.5,115.9,2\np2,28.6,115.8,零\n", encoding="utf-8")
    done = _run("--demand", str(bad), "--sites", str(county.sites), "--objective", "median", "--p", "1", "--json")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "bad.csv 第 3 行「weight」" in done.stderr and "拒绝求解" in done.stderr


@pytest.mark.parametrize(("extra", "words"), [
    (("--objective", "coverage", "--p", "2"), "--within-minutes"),
    (("--objective", "median", "--p", "0"), "--p"),
    (("--objective", "median", "--p", "8"), "多于候选站点数 7"),
    (("--objective", "coverage", "--p", "1", "--within-minutes", "-5"), "--within-minutes"),
    (("--objective", "median", "--p", "1", "--time-limit", "0"), "--time-limit"),
])
def test_unusable_arguments_exit_2_with_a_reason(county: Files, extra: tuple[str, ...], words: str) -> None:
    done = _run("--demand", str(county.demand), "--sites", str(county.sites), *extra)
    assert done.returncode == 2
    assert done.stdout == ""
    assert words in done.stderr
