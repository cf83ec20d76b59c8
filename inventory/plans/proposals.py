"""Optimiser proposals (选址优化方案): recorded runs, their answers with database ids, and plan lines from them.

A proposal is created ``running`` with the request as ``params`` and committed before the optimiser starts
(:mod:`inventory.plans.proposal_jobs` runs it), then becomes ``done`` with its ``answer`` or ``failed`` with an
``error``. What goes into the optimiser is :mod:`inventory.plans.proposal_instance`.

**The answer** is :meth:`inventory.placement.problem.Answer.as_json` — ``objective``, ``bound``, ``gap``, ``sites``
(location ids as strings), ``uncovered`` (risk point ids as strings), ``assignment`` (risk point → location),
``placed`` and ``moves`` (``from``/``to`` location ids) for ``stock`` — plus ``site_names``, ``uncovered_names``,
each move's ``from_name``/``to_name``, ``n_points``, ``n_sites``, ``target_minutes``, ``p``, ``item_type`` and
``basis`` (how the minutes and the stock were reckoned, in Chinese).

**Interrupted runs.** A process that dies while it computes (a restart, a crash) leaves its proposal ``running``.
Every read reports a proposal still ``running`` more than its ``time_limit_seconds`` + 60 s after it was created as
``failed`` with :data:`INTERRUPTED`; the row is not changed (reads write nothing). Propose again.

**Lines from a proposal** (:func:`lines_from_proposal`, for a plan created from a finished proposal without lines):

* ``stock``: each move becomes a line (from, to, the item type, quantity), capped by what the source has
  available *now* (stock may have moved since the run; a source's units go to its moves in the answer's order).
* ``coverage``/``median`` with ``item_type_id``: at each chosen site, stage what the risk points assigned to it need
  of that item type, less what the site already has available; taken from the region's other sites that have it
  (not the chosen ones, not vendors' agreement reserves), nearest first by the same travel estimate, greedily
  (the chosen site short of most first) and never beyond what a source has available. A need no source can meet
  stays short.
* ``coverage``/``median`` without an item type: no lines; the chosen sites come back for the commander to fill.

A site's bulk stock leaves from the place that holds it (the site itself, else the bins it lies in, as a transfer
takes it), so such a move may become several lines; serial units are counted from the site (the plan picks ready
units when it is executed). What counts as available is the availability rule (unreserved, unexpired, ready), at
sites of the proposal's region whose stock can move (not vendors' agreement reserves).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import msgspec
import numpy as np
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.access.scope import Principal
from inventory.availability.eta import EtaConfig
from inventory.availability.schemas import ItemTypeBrief
from inventory.errors import Conflict
from inventory.placement.problem import Answer, Instance, StockInput
from inventory.plans.proposal_instance import (
    Site,
    available_by_site,
    build_instance,
    bulk_holders,
    item_brief,
    require_region_scope,
    travel_minutes,
)
from inventory.plans.schemas import PlanLineIn, ProposalRead, ProposeRequest
from inventory.schemas import Page
from inventory.store.lookup import get_or_not_found
from inventory.store.models import Location, PlanProposal, RiskNeed, utcnow

__all__ = ["INTERRUPTED", "Prepared", "answer_with_ids", "build_instance", "create_proposal", "lines_from_proposal",
           "list_proposals", "proposal_read", "read_proposal"]

STALE_GRACE_SECONDS: Final = 60.0
INTERRUPTED: Final = "计算进程已中断（服务重启或进程退出），未得出结果，请重新计算"
STATUS_ZH: Final = {"running": "正在计算", "done": "已完成", "failed": "计算失败"}


@dataclass(frozen=True)
class Prepared:
    """What a job needs: the proposal's id, the request, the instance, the stock (``stock``) and the id maps."""

    proposal_id: int
    request: ProposeRequest
    instance: Instance
    stock: StockInput | None
    meta: dict[str, Any]


def plain(value: Any) -> Any:
    """JSON-safe: numpy scalars as Python numbers, tuples as lists, keys as text, infinities and NaN as None."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def answer_with_ids(answer: Answer, meta: Mapping[str, Any]) -> dict[str, Any]:
    """The answer as stored: :meth:`Answer.as_json` (ids are already database ids) with names and the instance."""
    out = answer.as_json()
    names: Mapping[str, str] = meta["site_names"]
    points: Mapping[str, str] = meta["point_names"]
    out["site_names"] = {s: names.get(s, s) for s in answer.sites}
    out["uncovered_names"] = {p: points.get(p, p) for p in answer.uncovered}
    out["moves"] = [{"from": m.from_site, "from_name": names.get(m.from_site, m.from_site), "to": m.to_site,
                     "to_name": names.get(m.to_site, m.to_site), "quantity": m.quantity} for m in answer.moves]
    for key in ("target_minutes", "p", "n_points", "n_sites", "item_type", "basis"):
        out[key] = meta.get(key)
    result: dict[str, Any] = plain(out)
    return result


def is_interrupted(p: PlanProposal, now: dt.datetime | None = None) -> bool:
    """A proposal still running long after its time limit: the process that ran it is gone."""
    if p.status != "running":
        return False
    limit = float((p.params or {}).get("time_limit_seconds") or 30.0)
    return (now or utcnow()) - p.created_at > dt.timedelta(seconds=limit + STALE_GRACE_SECONDS)


def proposal_read(p: PlanProposal, now: dt.datetime | None = None) -> ProposalRead:
    """The public view; an interrupted run (module doc) reads as ``failed``."""
    interrupted = is_interrupted(p, now)
    return ProposalRead(
        id=p.id, status="failed" if interrupted else p.status, objective=p.objective, region_code=p.region_code,
        params=dict(p.params or {}), progress=dict(p.progress or {}), answer=p.answer,
        error=INTERRUPTED if interrupted else p.error, created_by=p.created_by, created_at=p.created_at,
        finished_at=p.finished_at)


async def get_proposal(session: AsyncSession, proposal_id: int) -> PlanProposal:
    """The proposal with this id, or NotFound."""
    return await get_or_not_found(session, PlanProposal, proposal_id, f"选址优化方案 id={proposal_id}")


async def read_proposal(session: AsyncSession, proposal_id: int) -> ProposalRead:
    """One proposal as the API shows it."""
    return proposal_read(await get_proposal(session, proposal_id))


async def list_proposals(session: AsyncSession, *, region: str | None = None, limit: int = 50,
                         offset: int = 0) -> Page[ProposalRead]:
    """Proposals, newest first; ``region``: those of regions under this code."""
    conditions = [PlanProposal.region_code.startswith(region, autoescape=True)] if region else []
    total = await session.scalar(select(func.count()).select_from(PlanProposal).where(*conditions))
    rows = await session.scalars(select(PlanProposal).where(*conditions)
                                 .order_by(PlanProposal.created_at.desc(), PlanProposal.id.desc())
                                 .limit(limit).offset(offset))
    now = utcnow()
    return Page(items=[proposal_read(p, now) for p in rows], total=int(total or 0), limit=limit, offset=offset)


async def create_proposal(
    session: AsyncSession, req: ProposeRequest, principal: Principal, *, eta: EtaConfig | None = None,
    target_hours: Mapping[str, float] | None = None,
) -> Prepared:
    """Check the request and the user's scope, build the instance and record the run as ``running`` (flushed).

    Refused (nothing recorded): a region outside a commander's scope (403), bad input (422 naming the field).
    """
    require_region_scope(principal, req.region_code)
    instance, stock, meta = await build_instance(session, req, eta=eta, target_hours=target_hours)
    row = PlanProposal(status="running", objective=req.objective, region_code=req.region_code,
                       params=msgspec.to_builtins(req), progress={"stage": "queued", "seconds": 0.0}, answer=None,
                       error="", created_by=principal.username)
    session.add(row)
    await session.flush()
    return Prepared(row.id, req, instance, stock, meta)


# ---- lines from a finished proposal ---------------------------------------------------------------------------

async def _sites(session: AsyncSession, ids: set[int]) -> dict[int, Site]:
    rows = await session.scalars(select(Location).where(Location.id.in_(ids), Location.lat.is_not(None),
                                                        Location.lon.is_not(None)))
    return {loc.id: Site(loc.id, loc.name, loc.kind, loc.region_code, float(loc.lat or 0), float(loc.lon or 0))
            for loc in rows}


Move = tuple[int, int, int]  # (from site, to site, units)


def _stock_moves(answer: Mapping[str, Any], left: dict[int, int]) -> list[Move]:
    """The answer's moves, each capped by what its source has left now."""
    moves = []
    for move in answer.get("moves") or []:
        source, target = int(move["from"]), int(move["to"])
        quantity = min(int(move["quantity"]), left.get(source, 0))
        if quantity <= 0 or source == target:
            continue
        left[source] -= quantity
        moves.append((source, target, quantity))
    return moves


async def _staging_moves(session: AsyncSession, answer: Mapping[str, Any], item_id: int, left: dict[int, int],
                         eta: EtaConfig) -> list[Move]:
    """Stage at each chosen site its assigned points' need less its own stock, from the nearest other sites."""
    chosen = [int(s) for s in answer.get("sites") or []]
    served: dict[int, list[int]] = defaultdict(list)
    for point, site in (answer.get("assignment") or {}).items():
        if site is not None:
            served[int(site)].append(int(point))
    needs = dict((await session.execute(select(RiskNeed.risk_point_id, RiskNeed.quantity).where(
        RiskNeed.item_type_id == item_id,
        RiskNeed.risk_point_id.in_({p for ps in served.values() for p in ps})))).all())
    short = {j: max(0, sum(needs.get(p, 0) for p in served.get(j, [])) - left.get(j, 0)) for j in chosen}
    places = await _sites(session, set(chosen) | set(left))
    sources = sorted(j for j, n in left.items() if n > 0 and j not in short and j in places)
    targets = [j for j in sorted(chosen, key=lambda j: (-short[j], j)) if short[j] > 0 and j in places]
    if not sources or not targets:
        return []
    minutes = travel_minutes(eta, [places[j] for j in sources], [places[j].lat for j in targets],
                             [places[j].lon for j in targets])
    moves: list[Move] = []
    for col, target in enumerate(targets):
        wanted = short[target]
        for row in sorted(range(len(sources)), key=lambda r: (minutes[r, col], sources[r])):
            quantity = min(wanted, left[sources[row]])
            if quantity > 0:
                left[sources[row]] -= quantity
                wanted -= quantity
                moves.append((sources[row], target, quantity))
    return moves


async def _as_lines(session: AsyncSession, moves: list[Move], item: ItemTypeBrief,
                    today: dt.date | None) -> list[PlanLineIn]:
    """Plan lines for site-to-site moves: serial units counted from the site (picked when the plan runs); bulk
    stock from the site itself or the bins that hold it, as a transfer takes it."""
    if item.tracking != "bulk":
        return [PlanLineIn(from_location_id=f, to_location_id=t, item_type_id=item.id, quantity=q)
                for f, t, q in moves]
    holders = await bulk_holders(session, {f for f, _, _ in moves}, item.id, today)
    remaining = {site: [[loc, n] for loc, n in held] for site, held in holders.items()}
    lines = []
    for source, target, quantity in moves:
        for holder in remaining.get(source, []):
            take = min(quantity, holder[1])
            if take > 0:
                holder[1] -= take
                quantity -= take
                lines.append(PlanLineIn(from_location_id=holder[0], to_location_id=target, item_type_id=item.id,
                                        quantity=take))
    return lines


async def lines_from_proposal(
    session: AsyncSession, proposal_id: int, principal: Principal, *, eta: EtaConfig | None = None,
    today: dt.date | None = None,
) -> tuple[list[PlanLineIn], list[int]]:
    """Plan lines from a finished proposal (module doc), and its chosen sites (location ids).

    NotFound for no such proposal; Conflict unless it is ``done``; PermissionDenied for a region outside a
    commander's scope. Lines never take more from a source than it has available now.
    """
    p = await get_proposal(session, proposal_id)
    read = proposal_read(p)
    if read.status != "done" or not p.answer:
        raise Conflict(f"选址优化方案 id={proposal_id} {STATUS_ZH.get(read.status, read.status)}，"
                       "只有计算完成的方案才能生成计划明细", field="proposal_id")
    require_region_scope(principal, p.region_code)
    answer = p.answer
    chosen = [int(s) for s in answer.get("sites") or []]
    item_id = (p.params or {}).get("item_type_id")
    if item_id is None:
        return [], chosen
    item = await item_brief(session, int(item_id), field="proposal_id")
    left = await available_by_site(session, p.region_code, item, today)
    if p.objective == "stock":
        moves = _stock_moves(answer, left)
    else:
        moves = await _staging_moves(session, answer, item.id, left, eta or EtaConfig())
    return await _as_lines(session, moves, item, today), chosen

