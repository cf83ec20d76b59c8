"""Optimiser proposals over HTTP: 201 with the optimum, 202 and a Location for a long run, errors, roles, retries."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from litestar import Litestar

from inventory.plans.proposal_jobs import ProposalRunner
from inventory.store.db import Database
from tests.api.helpers import assert_problem
from tests.plan_proposals_support import (
    REGION,
    add_many_points,
    add_sites,
    best_coverage,
    make_world,
)

PROPOSE = "/api/v1/plans/propose"
PROPOSALS = "/api/v1/plans/proposals"
TARGET = 45


def body(**over: Any) -> dict[str, Any]:
    """Cover the region's risk points with two sites within 45 minutes (unless told otherwise)."""
    return {"region_code": REGION, "objective": "coverage", "p": 2, "target_minutes": TARGET, **over}


def runner(app: Litestar) -> ProposalRunner:
    """The application's proposal runner."""
    jobs: ProposalRunner = app.state.proposal_jobs
    return jobs


async def until_over(client: Any, ident: int, seconds: float = 120.0) -> dict[str, Any]:
    """Read the proposal until it is no longer running (bounded)."""
    for _ in range(int(seconds / 0.2)):
        r = await client.get(f"{PROPOSALS}/{ident}")
        assert r.status_code == 200, r.text
        read: dict[str, Any] = r.json()
        if read["status"] != "running":
            return read
        await asyncio.sleep(0.2)
    raise AssertionError(f"proposal {ident} still running after {seconds} s")


async def test_a_quick_run_answers_201_with_the_optimum_and_is_stored(client: Any, db: Database) -> None:
    w = await make_world(db)
    best, subsets = best_coverage([w.sites[c] for c in ("S1", "S2", "S3", "S4")], list(w.points.values()), 2, TARGET)
    r = await client.post(PROPOSE, json=body())
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["status"] == "done" and made["objective"] == "coverage" and made["created_by"] == "admin"
    assert {int(s) for s in made["answer"]["sites"]} == subsets[0]
    assert made["answer"]["objective"] == pytest.approx(best) and made["answer"]["gap"] == pytest.approx(0, abs=1e-9)
    assert "Location" not in r.headers
    again = await client.get(f"{PROPOSALS}/{made['id']}")
    assert again.status_code == 200 and again.json() == made
    listed = (await client.get(PROPOSALS, params={"region": "3601"})).json()
    assert (listed["total"], [p["id"] for p in listed["items"]]) == (1, [made["id"]])


async def test_a_run_longer_than_the_wait_answers_202_with_where_to_read_it_then_reads_done(
    app: Litestar, client: Any, db: Database,
) -> None:
    await make_world(db)
    await add_sites(db, 60, seed=5)
    await add_many_points(db, 1500, seed=6)
    runner(app).wait_seconds = 0.01  # a short wait instead of two seconds; the run itself is real
    r = await client.post(PROPOSE, json=body(p=8, time_limit_seconds=20))
    assert r.status_code == 202, r.text
    started = r.json()
    assert started["status"] == "running" and started["answer"] is None
    assert r.headers["Location"] == f"{PROPOSALS}/{started['id']}"
    done = await until_over(client, started["id"])
    assert done["status"] == "done", done["error"]
    assert len(done["answer"]["sites"]) == 8 and done["progress"]["stage"] == "done" and done["finished_at"]


async def test_the_run_goes_on_when_the_client_hangs_up(app: Litestar, client: Any, db: Database) -> None:
    await make_world(db)
    await add_sites(db, 60, seed=7)
    await add_many_points(db, 1500, seed=8)
    runner(app).wait_seconds = 60.0
    waiting = asyncio.create_task(client.post(PROPOSE, json=body(p=8, time_limit_seconds=20)))
    for _ in range(600):  # until the run is recorded and going
        await asyncio.sleep(0.01)
        if runner(app).running_ids:
            break
    (ident,) = runner(app).running_ids
    waiting.cancel()  # the client gives up while the request waits
    await asyncio.gather(waiting, return_exceptions=True)
    assert waiting.cancelled() and runner(app).running_ids == [ident]  # no answer, and the run still going
    done = await until_over(client, ident)
    assert done["status"] == "done", done["error"]
    assert len(done["answer"]["sites"]) == 8


async def test_bad_requests_are_422_naming_the_field(client: Any, db: Database) -> None:
    w = await make_world(db)
    assert_problem(await client.post(PROPOSE, json=body(p=None)), 422, "p")
    assert_problem(await client.post(PROPOSE, json=body(p=5)), 422, "p")
    assert_problem(await client.post(PROPOSE, json=body(objective="stock", p=None)), 422, "item_type_id")
    assert_problem(await client.post(PROPOSE, json=body(region_code="360102")), 422, "region_code")
    assert_problem(await client.post(PROPOSE, json=body(site_ids=[w.sites["S1"].id, w.shelf])), 422, "site_ids.1")
    assert_problem(await client.post(PROPOSE, json=body(p=0)), 422)
    assert_problem(await client.post(PROPOSE, json=body(time_limit_seconds=601)), 422)
    assert_problem(await client.post(PROPOSE, json=body(objective="cheapest")), 422)
    assert (await client.get(PROPOSALS)).json()["total"] == 0
    assert_problem(await client.get(f"{PROPOSALS}/999999"), 404)


async def test_keepers_and_commanders_outside_the_region_are_refused(client_as: Any, db: Database) -> None:
    await make_world(db)
    keeper = await client_as("keeper", "keeper", scope_regions=[REGION])
    outsider = await client_as("commander", "dh-commander", scope_regions=["360102"])
    commander = await client_as("commander", "nc-commander", scope_regions=[REGION])
    assert_problem(await keeper.post(PROPOSE, json=body()), 403)
    assert_problem(await outsider.post(PROPOSE, json=body()), 403)
    assert (await keeper.get(PROPOSALS)).json()["total"] == 0
    r = await commander.post(PROPOSE, json=body())
    assert r.status_code == 201 and r.json()["created_by"] == "nc-commander"
    seen = await keeper.get(f"{PROPOSALS}/{r.json()['id']}")  # anyone signed in reads proposals
    assert seen.status_code == 200 and seen.json()["status"] == "done"


async def test_the_same_idempotency_key_runs_once(client: Any, db: Database) -> None:
    await make_world(db)
    headers = {"Idempotency-Key": "propose-1"}
    first = await client.post(PROPOSE, json=body(), headers=headers)
    second = await client.post(PROPOSE, json=body(), headers=headers)
    assert first.status_code == second.status_code == 201, second.text
    assert second.headers.get("Idempotent-Replayed") == "true" and second.json() == first.json()
    assert (await client.get(PROPOSALS)).json()["total"] == 1
    other = await client.post(PROPOSE, json=body(p=1), headers=headers)  # the key with another request
    assert_problem(other, 409)
