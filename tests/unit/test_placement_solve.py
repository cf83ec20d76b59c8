"""The placement optimiser against brute force, published optima, short time limits and bad input (no database)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from inventory.errors import InvalidInput
from inventory.placement import heuristic, median, reduce
from inventory.placement.instances import read_mclp_instance, read_pmed
from inventory.placement.problem import Answer, Instance, Progress, StockInput
from inventory.placement.solve import solve_coverage, solve_median, solve_stock

DATA = Path(__file__).resolve().parents[2] / "bench" / "data" / "placement"


def random_instance(seed: int, sites: int = 8, points: int = 15, unreachable: float = 0.2) -> Instance:
    rng = np.random.default_rng(seed)
    minutes = np.round(rng.uniform(0, 40, (sites, points)), 1)
    minutes[rng.random((sites, points)) < unreachable] = np.inf
    return Instance(point_ids=tuple(f"R{i}" for i in range(points)), weights=np.round(rng.uniform(1, 9, points), 2),
                    site_ids=tuple(f"S{j}" for j in range(sites)), minutes=minutes)


def brute_coverage(instance: Instance, p: int, within: float) -> float:
    cover = instance.minutes <= within
    return max(float(instance.weights[cover[list(c)].any(axis=0)].sum())
               for c in itertools.combinations(range(len(instance.site_ids)), p))


def brute_median(instance: Instance, p: int) -> float:
    finite = instance.minutes[np.isfinite(instance.minutes)]
    dist = np.where(np.isfinite(instance.minutes), instance.minutes, 10 * finite.max())
    return min(float(dist[list(c)].min(axis=0) @ instance.weights)
               for c in itertools.combinations(range(len(instance.site_ids)), p))


def assert_proven(answer: Answer, expected: float) -> None:
    assert answer.objective == pytest.approx(expected, rel=1e-9)
    assert answer.bound == pytest.approx(expected, rel=1e-6)
    assert answer.gap <= 1e-6
    assert answer.proven_optimal


@pytest.mark.parametrize("seed", range(6))
def test_coverage_matches_brute_force_over_every_choice_of_sites(seed: int) -> None:
    instance = random_instance(seed)
    for p, within in ((1, 15.0), (2, 12.0), (3, 10.0), (4, 8.0), (6, 20.0)):
        answer = solve_coverage(instance, p, within, time_limit=10)
        assert_proven(answer, brute_coverage(instance, p, within))
        assert len(answer.sites) == p
        chosen = [instance.site_ids.index(s) for s in answer.sites]
        covered = np.asarray((instance.minutes[chosen] <= within).any(axis=0))
        assert answer.objective == pytest.approx(float(instance.weights[covered].sum()))
        assert set(answer.uncovered) == {instance.point_ids[i] for i in np.flatnonzero(~covered)}
        for i, point in enumerate(instance.point_ids):
            site = answer.assignment[point]
            if covered[i]:
                assert site is not None
                assert instance.minutes[instance.site_ids.index(site), i] == instance.minutes[chosen, i].min()
            else:
                assert site is None


@pytest.mark.parametrize("seed", range(6))
def test_median_matches_brute_force_with_unreachable_pairs_penalised(seed: int) -> None:
    instance = random_instance(seed, unreachable=0.35)
    for p in (1, 2, 3, 5):
        answer = solve_median(instance, p, time_limit=10)
        assert_proven(answer, brute_median(instance, p))
        chosen = [instance.site_ids.index(s) for s in answer.sites]
        unreachable = np.asarray(~np.isfinite(instance.minutes[chosen]).any(axis=0))
        assert set(answer.uncovered) == {instance.point_ids[i] for i in np.flatnonzero(unreachable)}
        assert all((answer.assignment[instance.point_ids[i]] is None) == bool(unreachable[i])
                   for i in range(len(instance.point_ids)))


def test_median_point_no_site_reaches_counts_ten_times_the_longest_time() -> None:
    minutes = np.array([[1.0, 4.0, np.inf], [3.0, 2.0, np.inf]])
    instance = Instance(("a", "b", "c"), np.array([1.0, 1.0, 2.0]), ("x", "y"), minutes)
    answer = solve_median(instance, 1)
    assert answer.objective == pytest.approx(1 + 4 + 2 * 40)
    assert answer.sites == ("x",)
    assert answer.uncovered == ("c",)
    assert answer.assignment == {"a": "x", "b": "x", "c": None}


def test_coverage_when_p_reaches_the_undominated_sites_covers_everything_coverable() -> None:
    # site 1 ⊂ site 0 and site 2 covers nothing: two undominated sites (0, 3); p = 3 covers all it can
    minutes = np.array([[1, 1, 9, 9, 9], [1, 9, 9, 9, 9], [9, 9, 9, 9, 9], [9, 9, 1, 1, 9]], dtype=float)
    instance = Instance(tuple("abcde"), np.array([1.0, 2.0, 3.0, 4.0, 5.0]), ("s0", "s1", "s2", "s3"), minutes)
    for p in (2, 3, 4):
        answer = solve_coverage(instance, p, 5)
        assert_proven(answer, 10.0)
        assert {"s0", "s3"} <= set(answer.sites) and len(answer.sites) == p
        assert answer.uncovered == ("e",)
    assert_proven(solve_coverage(instance, 1, 5), 7.0)


def brute_stock(instance: Instance, stock: StockInput, within: float, max_sites: int | None) -> float:
    """Every placement of the units, and for each every assignment of each unit to a reachable point or none."""
    m = len(instance.site_ids)
    total = int(stock.available.sum())
    reach = instance.minutes <= within
    best = 0.0
    for cut in itertools.combinations(range(total + m - 1), m - 1):
        bounds = (-1, *cut, total + m - 1)
        placed = [bounds[k + 1] - bounds[k] - 1 for k in range(m)]
        if max_sites is not None and sum(x > 0 for x in placed) > max_sites:
            continue
        units = [j for j in range(m) for _ in range(placed[j])]
        options = [[-1, *np.flatnonzero(reach[j]).tolist()] for j in units]
        for pick in itertools.product(*options):
            counts = np.bincount([i for i in pick if i >= 0], minlength=len(stock.need))
            if np.all(counts <= stock.need):
                best = max(best, float(np.sum(instance.weights * counts / np.maximum(stock.need, 1))))
    return best


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("max_sites", [None, 1, 2])
def test_stock_matches_brute_force_over_placements(seed: int, max_sites: int | None) -> None:
    instance = random_instance(seed, sites=4, points=5, unreachable=0.3)
    rng = np.random.default_rng(seed + 100)
    stock = StockInput(available=np.array([2, 0, 1, 1], dtype=np.int64),
                       need=rng.integers(0, 3, 5).astype(np.int64) + np.array([1, 0, 0, 0, 0]))
    answer = solve_stock(instance, stock, 18.0, max_sites=max_sites, time_limit=10)
    assert_proven(answer, brute_stock(instance, stock, 18.0, max_sites))
    assert sum(answer.placed.values()) == 4
    assert all(q > 0 for q in answer.placed.values())
    if max_sites is not None:
        assert len(answer.placed) <= max_sites
    # the moves turn what is where into what is placed
    after = dict(zip(instance.site_ids, stock.available.tolist(), strict=True))
    for move in answer.moves:
        after[move.from_site] -= move.quantity
        after[move.to_site] += move.quantity
    assert {s: q for s, q in after.items() if q} == answer.placed
    # covered need is within reach of the placed units and never above the need
    for point, units in answer.covered_need.items():
        i = instance.point_ids.index(point)
        assert 0 < units <= stock.need[i]


def test_stock_already_well_placed_moves_nothing() -> None:
    minutes = np.array([[5.0, 50.0], [50.0, 5.0], [5.0, 5.0]])
    instance = Instance(("a", "b"), np.array([1.0, 1.0]), ("x", "y", "z"), minutes)
    stock = StockInput(available=np.array([1, 1, 0], dtype=np.int64), need=np.array([1, 1], dtype=np.int64))
    answer = solve_stock(instance, stock, 10.0)
    assert_proven(answer, 2.0)
    assert answer.placed == {"x": 1, "y": 1}
    assert answer.moves == ()
    assert answer.covered_need == {"a": 1, "b": 1}


def test_stock_moves_prefer_the_nearer_sender_with_site_minutes() -> None:
    minutes = np.array([[50.0], [50.0], [5.0]])
    instance = Instance(("a",), np.array([1.0]), ("x", "y", "z"), minutes)
    between = np.array([[0.0, 10.0, 30.0], [10.0, 0.0, 7.0], [30.0, 7.0, 0.0]])
    stock = StockInput(available=np.array([1, 1, 0], dtype=np.int64), need=np.array([1], dtype=np.int64),
                       site_minutes=between)
    answer = solve_stock(instance, stock, 10.0)
    assert answer.placed["z"] == 1
    assert answer.objective == pytest.approx(1.0)
    assert [(m.from_site, m.to_site, m.quantity) for m in answer.moves] == [("y", "z", 1)]
    assert answer.uncovered == ()


def test_sjc32_published_optima() -> None:
    instance = read_mclp_instance(DATA / "SJC32.txt")
    assert instance.weights.sum() == 1520
    for radius, p, optimum in ((200, 1, 701), (200, 2, 1176), (200, 3, 1371), (200, 4, 1482),
                               (400, 1, 1279), (400, 2, 1520)):
        assert_proven(solve_coverage(instance, p, radius, time_limit=10), optimum)


def test_pmed1_optimum_is_proven() -> None:
    instance, p = read_pmed(DATA / "pmed1.txt")
    assert (len(instance.site_ids), p) == (100, 5)
    answer = solve_median(instance, p, time_limit=30)
    assert_proven(answer, 5819)


def test_time_limit_too_short_to_prove_still_answers_with_a_finite_bound() -> None:
    new_york = read_mclp_instance(DATA / "NewYork.txt")
    pmed16, p = read_pmed(DATA / "pmed16.txt")
    covering = solve_coverage(new_york, 100, 400.0, time_limit=2.5)
    median = solve_median(pmed16, p, time_limit=1.0)
    assert (len(covering.sites), len(median.sites)) == (100, 5)
    for answer, limit in ((covering, 2.5), (median, 1.0)):
        assert not answer.proven_optimal
        assert np.isfinite(answer.bound) and np.isfinite(answer.objective)
        assert answer.gap > 0
        assert answer.seconds < limit + 1.0
    assert covering.bound > covering.objective > 0.97 * 1_574_256  # best known: 1,574,256
    assert median.bound < median.objective
    assert median.bound >= 8092  # the LP bound (the optimum is 8,162)


def test_progress_reports_stages_and_ends_with_done() -> None:
    seen: list[Progress] = []
    answer = solve_coverage(random_instance(3, sites=30, points=80), 4, 12.0, progress=seen.append)
    assert seen[0].stage == "heuristic"
    assert seen[-1].stage == "done"
    assert seen[-1].objective == answer.objective and seen[-1].bound == answer.bound
    assert all(b.seconds >= a.seconds for a, b in itertools.pairwise(seen))


def test_an_error_raised_by_the_progress_callback_stops_the_solve() -> None:
    def stop(progress: Progress) -> None:
        if progress.stage == "milp":  # for the covering objective, reported from inside the HiGHS run
            raise KeyboardInterrupt

    instance = euclidean_instance(7, 300, 900)
    assert solve_coverage(instance, 25, 9.0).method == "milp"  # the MILP stage is reached
    with pytest.raises(KeyboardInterrupt):
        solve_coverage(instance, 25, 9.0, progress=stop)


def test_stock_progress_goes_from_heuristic_to_done() -> None:
    seen: list[Progress] = []
    instance = random_instance(2, sites=6, points=12)
    stock = StockInput(np.array([3, 0, 2, 0, 1, 0], dtype=np.int64), np.ones(12, dtype=np.int64))
    answer = solve_stock(instance, stock, 20.0, max_sites=2, progress=seen.append)
    stages = [p.stage for p in seen]
    assert stages[0] == "heuristic" and stages[-1] == "done" and set(stages) <= {"heuristic", "milp", "done"}
    assert all(p.bound is None or p.objective is None or p.bound >= p.objective - 1e-9 for p in seen)
    assert seen[-1].objective == answer.objective


def test_solves_in_parallel_threads_agree_with_one_alone() -> None:
    instance, p = read_pmed(DATA / "pmed1.txt")
    results: list[float] = []
    threads = [threading.Thread(target=lambda: results.append(solve_median(instance, p, time_limit=30).objective))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [5819.0] * 3


@pytest.mark.parametrize(("change", "field"), [
    ({"weights": np.ones(14)}, "weights"),
    ({"weights": np.r_[np.ones(14), 0.0]}, "weights"),
    ({"minutes": np.ones((15, 8))}, "minutes"),
    ({"minutes": np.full((8, 15), -1.0)}, "minutes"),
    ({"site_ids": ("S0", "S1", "S2", "S3", "S4", "S5", "S6", "S0")}, "site_ids"),
    ({"point_ids": ()}, "point_ids"),
])
def test_bad_instance_is_refused_naming_the_field(change: dict[str, object], field: str) -> None:
    base = random_instance(0)
    instance = Instance(**{"point_ids": base.point_ids, "weights": base.weights, "site_ids": base.site_ids,
                           "minutes": base.minutes, **change})  # type: ignore[arg-type]
    calls: list[Callable[[], Answer]] = [lambda: solve_coverage(instance, 2, 10.0), lambda: solve_median(instance, 2)]
    for call in calls:
        with pytest.raises(InvalidInput) as caught:
            call()
        assert caught.value.field == field
        assert not caught.value.detail.isascii()  # a Chinese sentence


@pytest.mark.parametrize(("p", "within", "limit", "field"), [
    (0, 10.0, 5.0, "p"),
    (9, 10.0, 5.0, "p"),
    (2, -1.0, 5.0, "within_minutes"),
    (2, float("nan"), 5.0, "within_minutes"),
    (2, 10.0, 0.0, "time_limit"),
    (2, 10.0, float("inf"), "time_limit"),
])
def test_bad_parameters_are_refused_naming_the_field(p: int, within: float, limit: float, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        solve_coverage(random_instance(0), p, within, time_limit=limit)
    assert caught.value.field == field
    if field != "within_minutes":
        with pytest.raises(InvalidInput) as caught:
            solve_median(random_instance(0), p, time_limit=limit)
        assert caught.value.field == field


@pytest.mark.parametrize(("stock", "max_sites", "field"), [
    (StockInput(np.array([1, 2]), np.ones(15, dtype=np.int64)), None, "available"),
    (StockInput(np.ones(8, dtype=np.int64), np.ones(14, dtype=np.int64)), None, "need"),
    (StockInput(-np.ones(8, dtype=np.int64), np.ones(15, dtype=np.int64)), None, "available"),
    (StockInput(np.zeros(8, dtype=np.int64), np.ones(15, dtype=np.int64)), None, "available"),
    (StockInput(np.ones(8, dtype=np.int64), np.zeros(15, dtype=np.int64)), None, "need"),
    (StockInput(np.ones(8, dtype=np.int64), np.ones(15, dtype=np.int64)), 0, "max_sites"),
    (StockInput(np.ones(8, dtype=np.int64), np.ones(15, dtype=np.int64)), 9, "max_sites"),
    (StockInput(np.ones(8, dtype=np.int64), np.ones(15, dtype=np.int64), np.ones((8, 7))), None, "site_minutes"),
])
def test_bad_stock_input_is_refused_naming_the_field(stock: StockInput, max_sites: int | None, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        solve_stock(random_instance(0), stock, 10.0, max_sites=max_sites)
    assert caught.value.field == field


def euclidean_instance(seed: int, sites: int, points: int) -> Instance:
    rng = np.random.default_rng(seed)
    at_sites, at_points = rng.uniform(0, 100, (sites, 2)), rng.uniform(0, 100, (points, 2))
    minutes = np.linalg.norm(at_sites[:, None, :] - at_points[None, :, :], axis=2)
    return Instance(tuple(f"R{i}" for i in range(points)), rng.uniform(1, 10, points),
                    tuple(f"S{j}" for j in range(sites)), minutes)


@pytest.mark.parametrize("p", [3, 8])
def test_median_cut_master_and_sorted_distance_programme_agree(p: int, monkeypatch: pytest.MonkeyPatch) -> None:
    instance = euclidean_instance(11, 60, 400)  # every distance distinct: 400 × ~57 level columns
    monkeypatch.setattr(median, "LEVEL_COLUMNS", 1_000)
    by_cuts = solve_median(instance, p, time_limit=30)
    monkeypatch.setattr(median, "LEVEL_COLUMNS", 10_000_000)
    by_levels = solve_median(instance, p, time_limit=30)
    assert by_cuts.proven_optimal and by_levels.proven_optimal
    assert by_cuts.objective == pytest.approx(by_levels.objective, rel=1e-9)
    greedy = heuristic.greedy_median(instance.minutes, instance.weights, p)
    assert by_cuts.objective <= heuristic.median_value(instance.minutes, instance.weights, greedy) + 1e-9


def test_median_on_a_county_sized_instance_is_proven_within_seconds() -> None:
    instance = euclidean_instance(7, 300, 900)
    answer = solve_median(instance, 12, time_limit=30)
    assert answer.proven_optimal and answer.gap <= 1e-6
    assert answer.seconds < 15


def test_reduction_merges_identical_points_and_drops_dominated_sites_only_when_safe() -> None:
    cover = np.array([[1, 1, 0, 0, 0, 1],
                      [1, 1, 0, 0, 0, 1],  # the same set as site 0: the first of them is kept
                      [1, 0, 0, 0, 0, 0],  # inside site 0's set
                      [0, 0, 1, 1, 0, 0],
                      [0, 0, 0, 1, 0, 0]], dtype=bool)  # inside site 3's; point 4 is covered by nobody
    weights = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    merged, merged_weights, group = reduce.merge_points(cover, weights)
    assert merged.shape[1] == 5 and sorted(merged_weights.tolist()) == [1.0, 3.0, 4.0, 5.0, 8.0]
    assert group[1] == group[5] != group[0]
    assert reduce.undominated_sites(cover).tolist() == [0, 3]
    one = reduce.reduce_cover(cover, weights, 1)  # on sites 0 and 3, points 0, 1, 5 and points 2, 3 merge
    assert not one.solved and one.sites.tolist() == [0, 3]
    assert one.groups[4] == -1 and sorted(one.weights.tolist()) == [7.0, 9.0]
    assert reduce.reduce_cover(cover, weights, 2).solved
