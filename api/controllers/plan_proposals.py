"""Optimiser proposals for pre-positioning plans (选址优化): run over a region's risk points and sites, then read."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.openapi import ResponseSpec
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import IdempotencyKey, IdParam, Limit, Offset
from api.writes import REPLAYED, write_once
from inventory.access.scope import Principal
from inventory.availability.eta import EtaConfig
from inventory.config import Settings
from inventory.plans import proposals
from inventory.plans.proposal_jobs import ProposalRunner
from inventory.plans.schemas import ProposalRead, ProposeRequest
from inventory.schemas import Page
from inventory.store import idempotency
from inventory.store.db import Database

PROPOSALS = "/api/v1/plans/proposals"
Region = Annotated[str | None, Parameter(pattern=r"^[0-9]{2,12}$", description="行政区划代码（前缀），如 3601")]


async def _answer(db: Database, runner: ProposalRunner, proposal_id: int, headers: dict[str, str]) -> Response[Any]:
    """201 with the proposal when its run is over (done or failed), else 202 pointing at where to read it."""
    await runner.wait(proposal_id)
    async with db.read() as session:
        read = await proposals.read_proposal(session, proposal_id)
    if read.status == "running":
        return Response(read, status_code=202, headers={**headers, "Location": f"{PROPOSALS}/{read.id}"})
    return Response(read, status_code=201, headers=headers)


class PlanProposalController(Controller):
    """Runs of the placement optimiser (maximal covering, p-median, stock-aware) and their stored answers."""

    path = "/api/v1/plans"
    tags = ["plans"]

    @post("/propose", opt={"action": "plans.write"}, status_code=201, responses={
        202: ResponseSpec(data_container=ProposalRead, generate_examples=False,
                          description="计算时间较长，已转为后台计算；按 Location 查询进度和结果 (running as a job)")})
    async def propose(self, request: Request[Any, Any, Any], state: State, db: Database, settings: Settings,
                      eta: EtaConfig, principal: Principal, data: ProposeRequest,
                      idempotency_key: IdempotencyKey = None) -> Response[ProposalRead]:
        """Run the optimiser over the region's risk points and candidate sites; the answer is stored.

        Waits about two seconds: a run over by then answers 201 (``done``, or ``failed`` with ``error``); a longer
        one answers 202 (``running``, with ``progress``) and keeps going after the client hangs up — read it at the
        ``Location`` given. Travel minutes are the estimate of ``nearest``. A proposal still ``running`` well past
        its time limit (its process died) reads as ``failed``.
        """
        runner: ProposalRunner = state.proposal_jobs
        prepared: list[proposals.Prepared] = []

        async def work(session: AsyncSession) -> ProposalRead:
            runner.check_capacity()
            job = await proposals.create_proposal(session, data, principal, eta=eta,
                                                  target_hours=settings.response_target_hours)
            prepared.append(job)
            return proposals.proposal_read(await proposals.get_proposal(session, job.proposal_id))

        raw_key = request.headers.get("idempotency-key")
        key = idempotency.check_key(raw_key) if raw_key is not None else None
        body = await request.body() if key is not None else b""
        written = await write_once(request, db, principal, work, key=key, fingerprint_body=body, status_code=202)
        if written.replayed:  # the same request again: no second run; the first one's proposal as it stands now
            ident = int(msgspec.json.decode(written.body)["id"])
            return await _answer(db, runner, ident, {REPLAYED: "true"})
        runner.start(prepared[0])
        return await _answer(db, runner, prepared[0].proposal_id, {})

    @get("/proposals", opt={"action": "read"})
    async def list_proposals(self, db: Database, region: Region = None, limit: Limit = 50,
                             offset: Offset = 0) -> Page[ProposalRead]:
        """Optimiser runs, newest first (``region``: of regions under this code)."""
        async with db.heavy_read() as session:
            return await proposals.list_proposals(session, region=region, limit=limit, offset=offset)

    @get("/proposals/{proposal_id:int}", opt={"action": "read"})
    async def get_proposal(self, db: Database, proposal_id: IdParam) -> ProposalRead:
        """One run: ``running`` with its progress, ``done`` with its answer, or ``failed`` with the error."""
        async with db.read() as session:
            return await proposals.read_proposal(session, proposal_id)
