"""Optimiser proposals on a real database: the instance from the data, the optimum, jobs, lines from an answer.

The region is ``tests/plan_proposals_support.py``: its optimum is found by brute force over site subsets with the
travel rule of ``nearest``, and the proposal must reach it (gap 0).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
import numpy as np
import pytest
from sqlalchemy import func, select

from inventory.access.scope import Principal
from inventory.availability.eta import EtaConfig, RegionTravel
from inventory.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from inventory.plans import proposals
from inventory.plans.proposal_instance import available_by_site, build_instance
from inventory.plans.proposal_jobs import STOPPED, ProposalRunner
from inventory.plans.schemas import ProposalRead, ProposeRequest
from inventory.stock.ledger import post_document
from inventory.stock.schemas import MovementCreate, MovementLine
from inventory.store.db import Database
from inventory.store.models import PlanProposal, utcnow
from tests.plan_proposals_support import (
    ADMIN,
    COMMANDER,
    OTHER_COMMANDER,
    REGION,
    Place,
    World,
    add_many_points,
    add_points,
    add_sites,
    best_coverage,
    best_median,
    best_stock,
    make_world,
    minutes,
)

COVERAGE_TARGET = 45  # minutes: the brute force finds one best pair of sites for it (checked below)
STOCK_TARGET = 35  # each point needing sandbags lies within it of one site at most (the brute force checks)


def request(**over: Any) -> ProposeRequest:
    """A proposal request for the region (coverage of two sites unless told otherwise)."""
    body: dict[str, Any] = {"region_code": REGION, "objective": "coverage", "p": 2, "target_minutes": COVERAGE_TARGET,
                            "time_limit_seconds": 30.0, **over}
    return msgspec.convert(body, ProposeRequest)


async def propose(db: Database, runner: ProposalRunner, req: ProposeRequest, who: Principal = ADMIN) -> ProposalRead:
    """Record the run, start it, wait for it to end, and read the proposal back."""
    async with db.write() as s:
        prepared = await proposals.create_proposal(s, req, who)
    runner.start(prepared)
    assert await runner.wait(prepared.proposal_id, 120)
    async with db.read() as s:
        return await proposals.read_proposal(s, prepared.proposal_id)


async def proposal_count(db: Database) -> int:
    async with db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(PlanProposal)) or 0)


def places(w: World) -> list[Place]:
    return [w.sites[c] for c in ("S1", "S2", "S3", "S4")]


# ---- the instance (no solver) --------------------------------------------------------------------------------

async def test_instance_has_the_region_points_the_open_candidate_sites_and_the_travel_minutes_of_nearest(
    db: Database,
) -> None:
    w = await make_world(db)
    await add_points(db, [("DH-1", 28.68, 115.91, 500.0, 0)], None, region="360102")  # another county's point
    async with db.read() as s:
        instance, stock, meta = await build_instance(s, request())
    assert stock is None
    assert instance.site_ids == tuple(str(i) for i in w.site_ids())  # not closed, not a bin, vendor or 东湖区's
    assert set(instance.point_ids) == {str(p.id) for p in w.points.values()}
    points = [w.points[k] for k in sorted(w.points, key=lambda k: w.points[k].id)]
    assert list(instance.weights) == [p.weight for p in points]
    expected = np.array([[minutes(site, p) for p in points] for site in places(w)])
    assert np.allclose(instance.minutes, expected, rtol=0, atol=1e-9)
    assert (meta["target_minutes"], meta["n_sites"], meta["n_points"]) == (COVERAGE_TARGET, 4, 8)
    assert meta["site_names"][str(w.sites["S2"].id)] == "候选S2"

    # Per-region road factors apply as in nearest: slower roads in 南昌县 mean more minutes.
    slow = EtaConfig(overrides=(RegionTravel(REGION, 1.6, 30.0),))
    async with db.read() as s:
        slower, _, _ = await build_instance(s, request(), eta=slow)
    expected_slow = np.array([[minutes(site, p, slow) for p in points] for site in places(w)])
    assert np.allclose(slower.minutes, expected_slow, rtol=0, atol=1e-9)
    assert (slower.minutes > instance.minutes).all()


async def test_default_target_is_the_levels_response_target(db: Database) -> None:
    await make_world(db)
    async with db.read() as s:
        _, _, county = await build_instance(s, request(target_minutes=None))
        _, _, city = await build_instance(s, request(target_minutes=None, level="city"),
                                          target_hours={"county": 6.0, "city": 7.5, "province": 10.0})
    assert (county["target_minutes"], city["target_minutes"]) == (360, 450)


async def test_stock_instance_counts_only_available_stock_at_the_candidate_sites(db: Database) -> None:
    w = await make_world(db)
    async with db.read() as s:
        instance, stock, meta = await build_instance(s, request(objective="stock", p=None, item_type_id=w.sandbag))
    assert stock is not None
    needing = {p.id: p.need for p in w.points.values() if p.need}
    assert set(instance.point_ids) == {str(i) for i in needing}  # R6 and R8 need no sandbags
    assert [int(n) for n in stock.need] == [needing[int(i)] for i in instance.point_ids]
    # S3: 2 at the depot and 3 on its shelf (the expired lot of 40 does not count); S4: 2; 东湖区's 100 are outside.
    assert [int(n) for n in stock.available] == [0, 0, 5, 2]
    assert "只计候选地点" in meta["basis"]
    assert stock.site_minutes is not None and stock.site_minutes[2, 2] == 0  # S3 to itself
    assert stock.site_minutes[2, 3] == pytest.approx(minutes(w.sites["S3"], w.sites["S4"]))  # from the depot
    assert stock.site_minutes[3, 2] == pytest.approx(minutes(w.sites["S4"], w.sites["S3"]))  # from a staging site

    chosen = [w.sites["S1"].id, w.sites["S2"].id, w.sites["S4"].id]  # S3's stock is not among the candidates
    async with db.read() as s:
        _, only, _ = await build_instance(s, request(objective="stock", p=None, item_type_id=w.sandbag,
                                                     site_ids=chosen))
    assert only is not None and [int(n) for n in only.available] == [0, 0, 2]


@pytest.mark.parametrize(("over", "field"), [
    ({"region_code": "360102"}, "region_code"),  # 东湖区: no risk points
    ({"region_code": "369999"}, "region_code"),  # no such region
    ({"region_code": "360123"}, "region_code"),  # 安义县: a risk point, no candidate site
    ({"p": None}, "p"),
    ({"p": 5}, "p"),  # four candidates
    ({"objective": "median", "p": None}, "p"),
    ({"objective": "stock", "p": None}, "item_type_id"),
    ({"objective": "stock", "p": None, "item_type_id": "pump"}, "item_type_id"),  # no point needs pumps
    ({"item_type_id": 999_999}, "item_type_id"),
    ({"site_ids": []}, "site_ids"),
    ({"site_ids": ["S1", "shelf"]}, "site_ids.1"),  # a bin
    ({"site_ids": ["closed"]}, "site_ids.0"),
    ({"site_ids": ["S1", "outside"]}, "site_ids.1"),  # 东湖区
    ({"site_ids": ["S1", 999_999]}, "site_ids.1"),
    ({"site_ids": ["S1", "S1"]}, "site_ids.1"),
    ({"objective": "stock", "p": None, "item_type_id": "sandbag", "site_ids": ["S1", "S2"]}, "item_type_id"),
])
async def test_bad_requests_are_refused_naming_the_field_and_record_nothing(
    db: Database, over: dict[str, Any], field: str,
) -> None:
    w = await make_world(db)
    await add_points(db, [("AY-1", 28.85, 115.55, 10.0, 0)], None, region="360123")
    named = {**{c: site.id for c, site in w.sites.items()}, "shelf": w.shelf, "closed": w.closed,
             "outside": w.outside, "pump": w.pump, "sandbag": w.sandbag}
    resolved = dict(over)
    if isinstance(over.get("item_type_id"), str):
        resolved["item_type_id"] = named[over["item_type_id"]]
    if over.get("site_ids"):
        resolved["site_ids"] = [named.get(x, x) for x in over["site_ids"]]
    with pytest.raises(InvalidInput) as caught:
        async with db.write() as s:
            await proposals.create_proposal(s, request(**resolved), ADMIN)
    assert caught.value.field == field, caught.value.detail
    assert any("\u4e00" <= ch <= "\u9fff" for ch in caught.value.detail)
    assert await proposal_count(db) == 0


async def test_a_commander_proposes_only_for_a_region_in_his_scope(db: Database) -> None:
    await make_world(db)
    for who, region in ((OTHER_COMMANDER, REGION), (COMMANDER, "3601")):  # another county; the whole city
        with pytest.raises(PermissionDenied):
            async with db.write() as s:
                await proposals.create_proposal(s, request(region_code=region), who)
    assert await proposal_count(db) == 0
    async with db.write() as s:
        prepared = await proposals.create_proposal(s, request(), COMMANDER)
    async with db.read() as s:
        read = await proposals.read_proposal(s, prepared.proposal_id)
    assert (read.status, read.created_by, read.params["p"], read.answer) == ("running", "commander", 2, None)


async def test_a_run_whose_process_died_reads_as_failed_after_its_time_limit(db: Database) -> None:
    async with db.write() as s:
        for minutes_ago in (2, 0):
            s.add(PlanProposal(status="running", objective="coverage", region_code=REGION,
                               params={"time_limit_seconds": 30.0}, progress={"stage": "milp"}, answer=None,
                               error="", created_by="admin",
                               created_at=utcnow() - dt.timedelta(minutes=minutes_ago)))
    async with db.read() as s:
        page = await proposals.list_proposals(s)
        stale, fresh = page.items[1], page.items[0]  # newest first
        assert (stale.status, stale.error) == ("failed", proposals.INTERRUPTED)
        assert (fresh.status, fresh.error) == ("running", "")
        with pytest.raises(Conflict):  # nor can a plan be made from it
            await proposals.lines_from_proposal(s, stale.id, ADMIN)
        with pytest.raises(NotFound):
            await proposals.lines_from_proposal(s, 999_999, ADMIN)
    async with db.read() as s:  # reads changed nothing
        assert (await s.get(PlanProposal, stale.id)).status == "running"  # type: ignore[union-attr]


# ---- with the optimiser ----------------------------------------------------------------------------------------

async def test_coverage_proposal_reaches_the_brute_force_optimum_and_is_stored(db: Database) -> None:
    w = await make_world(db)
    best, subsets = best_coverage(places(w), list(w.points.values()), 2, COVERAGE_TARGET)
    assert len(subsets) == 1 and 0 < best < sum(p.weight for p in w.points.values())  # one optimum, not all
    runner = ProposalRunner(db)
    read = await propose(db, runner, request())
    assert read.status == "done", read.error
    answer = read.answer
    assert answer is not None
    assert {int(s) for s in answer["sites"]} == subsets[0]
    assert answer["objective"] == pytest.approx(best) and answer["gap"] == pytest.approx(0, abs=1e-9)
    assert answer["proven_optimal"] is True
    covered = {str(p.id) for p in w.points.values()
               if min(minutes(w.sites[c], p) for c in w.sites if w.sites[c].id in subsets[0]) <= COVERAGE_TARGET}
    assert set(answer["uncovered"]) == {str(p.id) for p in w.points.values()} - covered
    assert set(answer["site_names"].values()) == {f"候选{c}" for c in w.sites if w.sites[c].id in subsets[0]}
    assert (answer["n_sites"], answer["n_points"], answer["target_minutes"]) == (4, 8, COVERAGE_TARGET)
    assert read.progress["stage"] == "done" and read.finished_at is not None
    async with db.read() as s:  # stored, and listed
        again = await proposals.read_proposal(s, read.id)
        listed = await proposals.list_proposals(s, region="3601")
    assert again.answer == answer and [p.id for p in listed.items] == [read.id]


async def test_median_proposal_reaches_the_brute_force_optimum(db: Database) -> None:
    w = await make_world(db)
    best, subsets = best_median(places(w), list(w.points.values()), 2)
    assert len(subsets) == 1
    read = await propose(db, ProposalRunner(db), request(objective="median", target_minutes=None))
    assert read.status == "done", read.error
    assert read.answer is not None
    assert {int(s) for s in read.answer["sites"]} == subsets[0]
    assert read.answer["objective"] == pytest.approx(best, rel=1e-6)
    assert read.answer["gap"] == pytest.approx(0, abs=1e-6)
    chosen = [s for s in places(w) if s.id in subsets[0]]
    for p in w.points.values():  # every point goes to its nearest chosen site
        nearest = min(chosen, key=lambda s: minutes(s, p))
        assert read.answer["assignment"][str(p.id)] == str(nearest.id)


async def test_stock_proposal_places_the_available_sandbags_as_well_as_any_placement_can(db: Database) -> None:
    w = await make_world(db)
    units = 7  # S3: 5, S4: 2
    best = best_stock(places(w), list(w.points.values()), units, STOCK_TARGET)
    read = await propose(db, ProposalRunner(db), request(objective="stock", p=None, item_type_id=w.sandbag,
                                                         target_minutes=STOCK_TARGET))
    assert read.status == "done", read.error
    answer = read.answer
    assert answer is not None
    assert answer["objective"] == pytest.approx(best, rel=1e-6) and answer["gap"] == pytest.approx(0, abs=1e-6)
    assert sum(answer["placed"].values()) <= units
    moved_from: dict[str, int] = {}
    for m in answer["moves"]:
        moved_from[m["from"]] = moved_from.get(m["from"], 0) + m["quantity"]
        assert m["from_name"].startswith("候选") and m["to_name"].startswith("候选")
    assert moved_from.get(str(w.sites["S3"].id), 0) <= 5 and moved_from.get(str(w.sites["S4"].id), 0) <= 2
    assert str(w.points["R5"].id) in answer["uncovered"]  # no site reaches R5 within 35 minutes
    assert answer["item_type"]["code"] == "SANDBAG"


async def test_lines_from_a_stock_answer_never_take_more_than_is_available_now(db: Database) -> None:
    w = await make_world(db)
    read = await propose(db, ProposalRunner(db), request(objective="stock", p=None, item_type_id=w.sandbag,
                                                         target_minutes=STOCK_TARGET))
    assert read.answer is not None and read.answer["moves"], read.answer
    async with db.read() as s:
        lines, chosen = await proposals.lines_from_proposal(s, read.id, ADMIN)
    assert chosen == [int(x) for x in read.answer["sites"]]
    asked = {(int(m["from"]), int(m["to"])): m["quantity"] for m in read.answer["moves"]}
    site_of = {w.shelf: w.sites["S3"].id}  # the shelf's sandbags leave from the shelf, for S3
    got: dict[tuple[int, int], int] = {}
    for ln in lines:
        assert ln.item_type_id == w.sandbag and ln.quantity is not None and ln.quantity > 0
        key = (site_of.get(ln.from_location_id, ln.from_location_id), ln.to_location_id)
        got[key] = got.get(key, 0) + ln.quantity
    assert got == asked  # nothing changed since the run: every move, whole
    held = {w.sites["S3"].id: 2, w.shelf: 3, w.sites["S4"].id: 2}
    for place, n in held.items():
        assert sum(ln.quantity or 0 for ln in lines if ln.from_location_id == place) <= n

    # Stock moves on after the run: S3 issues its two sandbags and S4 one. The lines shrink to what is left.
    async with db.write() as s:
        for place, n in ((w.sites["S3"].id, 2), (w.sites["S4"].id, 1)):
            await post_document(s, MovementCreate(kind="issue", location_id=place, counterparty="抢险队", lines=[
                MovementLine(item_type_id=w.sandbag, quantity=n)]), actor="test")
    async with db.read() as s:
        later, _ = await proposals.lines_from_proposal(s, read.id, ADMIN)
        now = await available_by_site(s, REGION, await _brief(s, w.sandbag))
    assert sum(ln.quantity or 0 for ln in later if ln.from_location_id == w.sites["S3"].id) == 0
    assert sum(ln.quantity or 0 for ln in later if ln.from_location_id == w.shelf) <= 3
    assert sum(ln.quantity or 0 for ln in later if ln.from_location_id == w.sites["S4"].id) <= 1
    for site, n in now.items():
        taken = sum(ln.quantity or 0 for ln in later if site_of.get(ln.from_location_id, ln.from_location_id) == site)
        assert taken <= n


async def _brief(s: Any, item: int) -> Any:
    from inventory.plans.proposal_instance import item_brief

    return await item_brief(s, item)


async def test_lines_from_a_coverage_answer_stage_the_assigned_points_needs_from_the_nearest_other_sites(
    db: Database,
) -> None:
    w = await make_world(db)
    runner = ProposalRunner(db)
    with_item = await propose(db, runner, request(item_type_id=w.sandbag))
    without = await propose(db, runner, request())
    assert with_item.answer is not None and without.answer is not None
    chosen = {int(s) for s in with_item.answer["sites"]}
    async with db.read() as s:
        lines, sites = await proposals.lines_from_proposal(s, with_item.id, ADMIN)
        none, bare_sites = await proposals.lines_from_proposal(s, without.id, ADMIN)
    assert (none, set(bare_sites)) == ([], {int(x) for x in without.answer["sites"]})  # sites only, for the hand
    assert set(sites) == chosen
    need_at = {j: sum(p.need for p in w.points.values() if with_item.answer["assignment"][str(p.id)] == str(j))
               for j in chosen}
    held = {w.sites["S3"].id: 2, w.shelf: 3, w.sites["S4"].id: 2}
    site_of = {w.shelf: w.sites["S3"].id}
    own = {w.sites["S3"].id: 5, w.sites["S4"].id: 2}
    for j in chosen:
        into = sum(ln.quantity or 0 for ln in lines if ln.to_location_id == j)
        assert into <= max(0, need_at[j] - own.get(j, 0))
    for ln in lines:
        assert ln.to_location_id in chosen and site_of.get(ln.from_location_id, ln.from_location_id) not in chosen
    for place, n in held.items():
        assert sum(ln.quantity or 0 for ln in lines if ln.from_location_id == place) <= n
    total_short = sum(max(0, need_at[j] - own.get(j, 0)) for j in chosen)
    free = sum(n for site, n in own.items() if site not in chosen)
    assert sum(ln.quantity or 0 for ln in lines) == min(total_short, free)  # greedy: as much as can move


async def test_a_run_longer_than_the_wait_is_running_then_done_with_its_answer(db: Database) -> None:
    await make_world(db)
    await add_sites(db, 60, seed=1)
    await add_many_points(db, 1500, seed=2)
    runner = ProposalRunner(db, progress_every=0.05)
    async with db.write() as s:
        prepared = await proposals.create_proposal(s, request(p=8, time_limit_seconds=20.0), ADMIN)
    runner.start(prepared)
    assert await runner.wait(prepared.proposal_id, 0.01) is False  # the real run takes longer than that
    async with db.read() as s:
        running = await proposals.read_proposal(s, prepared.proposal_id)
    assert running.status == "running" and running.answer is None
    assert runner.running_ids == [prepared.proposal_id]
    assert await runner.wait(prepared.proposal_id, 120)
    async with db.read() as s:
        done = await proposals.read_proposal(s, prepared.proposal_id)
    assert done.status == "done", done.error
    assert done.answer is not None and len(done.answer["sites"]) == 8 and done.answer["n_points"] == 1508
    assert done.answer["seconds"] > 0.01  # the premise: the optimiser itself took longer than the wait
    assert done.progress["stage"] == "done" and runner.running_ids == []


async def test_shutdown_cancels_a_running_job_and_marks_its_proposal_failed(db: Database) -> None:
    await make_world(db)
    await add_sites(db, 60, seed=3)
    await add_many_points(db, 1500, seed=4)
    runner = ProposalRunner(db)
    async with db.write() as s:
        prepared = await proposals.create_proposal(s, request(p=8, time_limit_seconds=5.0), ADMIN)
    async with runner.running():
        runner.start(prepared)
        assert await runner.wait(prepared.proposal_id, 0.01) is False
    async with db.read() as s:
        read = await proposals.read_proposal(s, prepared.proposal_id)
    assert (read.status, read.error, read.answer) == ("failed", STOPPED, None)
    assert read.finished_at is not None and runner.running_ids == []


async def test_a_failed_run_is_stored_with_its_error(db: Database) -> None:
    await make_world(db)
    async with db.write() as s:
        prepared = await proposals.create_proposal(s, request(), ADMIN)
    # An instance the optimiser must refuse: p larger than its sites (the request was checked against the database,
    # so break the prepared copy the way a bug would).
    broken = proposals.Prepared(prepared.proposal_id, msgspec.structs.replace(prepared.request, p=50),
                                prepared.instance, prepared.stock, prepared.meta)
    runner = ProposalRunner(db)
    runner.start(broken)
    assert await runner.wait(prepared.proposal_id, 60)
    async with db.read() as s:
        read = await proposals.read_proposal(s, prepared.proposal_id)
    assert read.status == "failed" and read.error.startswith("计算失败") and read.finished_at is not None


async def test_a_travel_time_table_replaces_the_estimate_and_a_pair_it_does_not_list_is_unreachable(
    db: Database,
) -> None:
    w = await make_world(db)
    # Routing-engine minutes (site by location code, point by risk point code); only four pairs are listed.
    table = "\ufeffsite,point,minutes\r\nS1,R1,10\r\nS1,R2,12\r\nS2,R3,5\r\nS2,R4,30\r\n"
    async with db.read() as s:
        instance, _, meta = await build_instance(s, request(travel_times=table))
    column = {p: instance.point_ids.index(str(w.points[p].id)) for p in w.points}
    row = {c: instance.site_ids.index(str(w.sites[c].id)) for c in ("S1", "S2", "S3", "S4")}
    listed = {("S1", "R1"): 10.0, ("S1", "R2"): 12.0, ("S2", "R3"): 5.0, ("S2", "R4"): 30.0}
    for site in row:
        for point in column:
            assert instance.minutes[row[site], column[point]] == listed.get((site, point), np.inf), (site, point)
    assert "行驶时间表" in meta["basis"]

    # Within 11 minutes one site covers R1 (120, S1) or R3 (200, S2): the table, not the estimate, decides S2.
    read = await propose(db, ProposalRunner(db), request(travel_times=table, p=1, target_minutes=11))
    assert read.status == "done", read.error
    assert read.answer is not None and read.answer["sites"] == [str(w.sites["S2"].id)]
    assert read.answer["objective"] == pytest.approx(w.points["R3"].weight)

    # A code that is no candidate or no risk point of the region is refused with its line; nothing is recorded.
    before = await proposal_count(db)
    async with db.write() as s:
        with pytest.raises(InvalidInput) as refused:
            await proposals.create_proposal(s, request(travel_times="site,point,minutes\nS1,R1,10\nS9,R1,4\n"), ADMIN)
    assert refused.value.field == "travel_times"
    assert "第 3 行" in refused.value.detail and "不是本次的候选地点" in refused.value.detail
    assert refused.value.extra["errors"][0]["line"] == 3
    assert await proposal_count(db) == before
