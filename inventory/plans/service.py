"""Pre-positioning plans (前置计划): made by hand or from an optimiser answer, approved, executed, recalled.

``draft`` → ``approved`` (``plans.approve``: a commander or admin other than the author) → ``executing``
(``plans.execute``: the lines from one location to one staging site become one transfer through the ledger,
reference ``PLAN-{id}``; the keeper at the staging site signs for units from their scan pages (到货签收) and
receives lots with ``POST /api/v1/transfers/{id}/receive``) → ``in_place`` once every transfer is received →
``recalled`` after the season (``plans.execute``: what arrived and is still there goes back, one transfer back
per transfer out).

* In place is derived when a plan is read (:mod:`inventory.plans.standing`, a few grouped queries): reads show
  ``in_place`` with ``in_place_at`` the time of the last receipt, and the row catches up at the plan's next write.
* Stock: the lines must fit what their from-locations can give (:mod:`inventory.plans.lines`) when the plan is
  saved and again when it is executed; short → 409 with the shortfall per location and item type, nothing
  written. Executing is all-or-nothing in the request's one transaction.
* Recall refuses (409) while any transfer is still in transit: the keeper receives it first (or closes it
  short); a plan's transfer is not reversed for him. A unit goes back only if it is still available at the
  staging site; bulk stock only up to what is still there of the lot that came (on hand less reserved, at the
  staging site itself): what was issued or used since is not recalled, and the line's ``recalled`` is less
  than its ``received``.
* Scope: the plan's region and both ends of every line lie in the user's scope (403); admins have none.

Writes flush; the request commits.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.access.permissions import ROLE_ZH, allowed
from inventory.access.scope import Principal, principal_error, require_scope
from inventory.config import DEFAULT_RESPONSE_TARGET_HOURS, ENV_RESPONSE_TARGETS, parse_response_target_hours
from inventory.errors import Conflict, InsufficientStock, PermissionDenied
from inventory.places.regions import require_region
from inventory.plans.lines import CheckedLine, check_item_types, check_lines, check_stock, pick_units
from inventory.plans.schemas import (
    PLAN_STATUS_ZH,
    PlanCreate,
    PlanLineIn,
    PlanUpdate,
    RecallRequest,
)
from inventory.plans.standing import by_transfer, settle
from inventory.plans.views import get_plan, list_plans, plan_lines, plan_read
from inventory.stock.ledger import post_document
from inventory.stock.schemas import MovementCreate, MovementLine
from inventory.stock.transfers import get_transfer, transfer_read
from inventory.store.lookup import get_or_not_found, scalar_or_not_found
from inventory.store.models import Asset, Balance, Location, Plan, PlanLine, PlanProposal, utcnow

__all__ = ["approve_plan", "create_plan", "execute_plan", "get_plan", "list_plans", "plan_lines", "plan_read",
           "recall_plan", "update_plan"]  # the reads live in views.py; pages and the API find them all here

EXECUTE_REFUSED = "前置计划未执行，未生成任何调拨单"


def default_target_minutes(level: str) -> int:
    """The response target of a level (county 6 h, city 8 h, province 10 h, or as configured), in minutes."""
    hours = parse_response_target_hours(os.environ.get(ENV_RESPONSE_TARGETS, ""))
    return round(hours.get(level, hours.get("county", DEFAULT_RESPONSE_TARGET_HOURS["county"])) * 60)


def _require(principal: Principal, action: str) -> None:
    if not allowed(action, principal.role):
        raise principal_error(principal.role, action)


def require_region_scope(principal: Principal, region_code: str) -> None:
    """PermissionDenied unless the region lies in the user's scope (one of his region prefixes)."""
    if principal.role == "admin" or any(region_code.startswith(p) for p in principal.scope_regions):
        return
    scope = "、".join(principal.scope_regions) or "无"
    raise PermissionDenied(f"{ROLE_ZH.get(principal.role, principal.role)} {principal.username} 的辖区（{scope}）"
                           f"不包括行政区划 {region_code}，不能办理该区域的前置计划 (outside your scope)",
                           extra={"region_code": region_code})


async def _require_plan_scope(session: AsyncSession, principal: Principal, plan: Plan,
                              lines: Sequence[PlanLine]) -> None:
    require_region_scope(principal, plan.region_code)
    for ln in lines:
        await require_scope(session, principal, ln.from_location_id, ln.to_location_id)


async def _for_write(session: AsyncSession, plan_id: int) -> Plan:
    """The plan, locked until the transaction ends (PostgreSQL; SQLite's writes take turns), caught up."""
    plan = await scalar_or_not_found(session, select(Plan).where(Plan.id == plan_id).with_for_update()
                                     .execution_options(populate_existing=True), f"前置计划 id={plan_id}")
    await settle(session, plan)
    return plan


def _union(*groups: Sequence[int]) -> list[int]:
    return list(dict.fromkeys(i for g in groups for i in g))


def _add_lines(session: AsyncSession, plan: Plan, lines: Sequence[CheckedLine]) -> None:
    for ln in lines:
        session.add(PlanLine(plan_id=plan.id, from_location_id=ln.source.id, to_location_id=ln.target.id,
                             item_type_id=ln.item.id, quantity=ln.quantity, asset_ids=list(ln.asset_ids)))


async def create_plan(session: AsyncSession, data: PlanCreate, principal: Principal) -> Plan:
    """A draft plan; with ``proposal_id`` and no lines, the lines come from that optimiser answer."""
    _require(principal, "plans.write")
    await require_region(session, data.region_code)
    require_region_scope(principal, data.region_code)
    lines, types = list(data.lines), list(data.item_type_ids)
    if data.proposal_id is not None:
        proposal = await get_or_not_found(session, PlanProposal, data.proposal_id,
                                          f"选址优化方案 id={data.proposal_id}", input_field="proposal_id")
        if not lines:
            # Imported here: the optimiser and numpy load only for a plan made from an answer.
            from inventory.plans.proposals import lines_from_proposal

            lines, _chosen_sites = await lines_from_proposal(session, data.proposal_id, principal)
            proposed = (proposal.params or {}).get("item_type_id")
            types = _union(types, [int(proposed)] if proposed else [])
    await check_item_types(session, types)
    checked = await check_lines(session, lines, principal)
    await check_stock(session, checked, "前置计划未保存")
    now = utcnow()
    plan = Plan(name=data.name, season=data.season, region_code=data.region_code,
                target_minutes=data.target_minutes or default_target_minutes(data.level),
                item_type_ids=_union(types, [ln.item.id for ln in checked]), status="draft",
                proposal_id=data.proposal_id, note=data.note, author=principal.username, created_at=now,
                updated_at=now)
    session.add(plan)
    await session.flush()
    _add_lines(session, plan, checked)
    await session.flush()
    return plan


def _status_conflict(plan: Plan, verb: str, needed: str) -> Conflict:
    return Conflict(f"前置计划“{plan.name}”{PLAN_STATUS_ZH.get(plan.status, plan.status)}，{needed}才能{verb}",
                    extra={"plan_status": plan.status})


async def update_plan(session: AsyncSession, plan_id: int, data: PlanUpdate, principal: Principal) -> Plan:
    """Change a draft (``lines``, when given, replaces them all and is checked against the stock again)."""
    _require(principal, "plans.write")
    plan = await _for_write(session, plan_id)
    await _require_plan_scope(session, principal, plan, await plan_lines(session, plan.id))
    if plan.status != "draft":
        raise _status_conflict(plan, "修改", "只有草稿")
    types = list(plan.item_type_ids) if data.item_type_ids is None else list(data.item_type_ids)
    await check_item_types(session, types)
    if data.lines is None:
        line_types = [ln.item_type_id for ln in await plan_lines(session, plan.id)]
    else:
        checked = await check_lines(session, data.lines, principal)
        await check_stock(session, checked, "前置计划未修改")
        await session.execute(delete(PlanLine).where(PlanLine.plan_id == plan.id))
        _add_lines(session, plan, checked)
        line_types = [ln.item.id for ln in checked]
    plan.item_type_ids = _union(types, line_types)
    for name in ("name", "season", "target_minutes", "note"):
        value = getattr(data, name)
        if value is not None:
            setattr(plan, name, value)
    plan.updated_at = utcnow()
    await session.flush()
    return plan


async def approve_plan(session: AsyncSession, plan_id: int, principal: Principal) -> Plan:
    """Approve a draft: a commander or admin in scope, never its author, and only a plan with lines."""
    _require(principal, "plans.approve")
    plan = await _for_write(session, plan_id)
    lines = await plan_lines(session, plan.id)
    await _require_plan_scope(session, principal, plan, lines)
    if plan.author == principal.username:
        raise PermissionDenied(f"不能审批本人制定的前置计划“{plan.name}”，须由另一名指挥人员或管理员审批",
                               extra={"author": plan.author})
    if plan.status != "draft":
        raise _status_conflict(plan, "审批", "只有草稿")
    if not lines:
        raise Conflict(f"前置计划“{plan.name}”没有调拨明细，不能审批（请先添加明细）", field="lines")
    now = utcnow()
    plan.status, plan.approved_by, plan.approved_at, plan.updated_at = "approved", principal.username, now, now
    await session.flush()
    return plan


def _line_in(ln: PlanLine) -> PlanLineIn:
    return PlanLineIn(from_location_id=ln.from_location_id, to_location_id=ln.to_location_id,
                      item_type_id=ln.item_type_id, quantity=None if ln.asset_ids else ln.quantity,
                      asset_ids=list(ln.asset_ids))


async def execute_plan(session: AsyncSession, plan_id: int, principal: Principal, *,
                       occurred_at: dt.datetime | None = None) -> Plan:
    """Post the plan's transfers (one per from-location and staging site), all of them or none (409 with the
    shortfall when stock no longer fits); units only counted are picked now and kept on their lines."""
    _require(principal, "plans.execute")
    plan = await _for_write(session, plan_id)
    lines = await plan_lines(session, plan.id)
    await _require_plan_scope(session, principal, plan, lines)
    if plan.status != "approved":
        raise _status_conflict(plan, "执行", "审批后")
    checked = await check_lines(session, [_line_in(ln) for ln in lines], principal)
    await check_stock(session, checked, EXECUTE_REFUSED)
    taken = {a for ln in lines for a in ln.asset_ids}
    groups: dict[tuple[int, int], list[tuple[PlanLine, CheckedLine]]] = defaultdict(list)
    for ln, ck in zip(lines, checked, strict=True):
        if ck.item.tracking == "serial" and not ln.asset_ids:
            ln.asset_ids = await pick_units(session, ck.source, ck.item.id, ln.quantity, taken)
        groups[(ln.from_location_id, ln.to_location_id)].append((ln, ck))
    for (source, target), group in groups.items():
        movement = MovementCreate(
            kind="transfer", location_id=source, to_location_id=target, reason=f"前置计划 {plan.name}"[:200],
            reference=f"PLAN-{plan.id}", occurred_at=occurred_at,
            lines=[MovementLine(item_type_id=ln.item_type_id, quantity=ln.quantity, asset_ids=list(ln.asset_ids))
                   for ln, _ in group])
        try:
            doc = await post_document(session, movement, actor=principal.username)
        except InsufficientStock as exc:  # stock taken by someone else since the check: the request rolls back
            raise InsufficientStock(f"{EXECUTE_REFUSED}：{exc.detail}", extra=exc.extra) from exc
        except Conflict as exc:
            raise Conflict(f"{EXECUTE_REFUSED}：{exc.detail}", extra=exc.extra) from exc
        for ln, _ in group:
            ln.transfer_id = doc.id
    now = utcnow()
    plan.status, plan.executed_by, plan.executed_at, plan.updated_at = "executing", principal.username, now, now
    await session.flush()
    return plan


async def _unreserved(session: AsyncSession, location_id: int, item_type_id: int, lot_id: int | None) -> int:
    row = (await session.execute(select(Balance.on_hand - Balance.reserved).where(
        Balance.location_id == location_id, Balance.item_type_id == item_type_id,
        Balance.lot_key == (lot_id or 0)))).scalar()
    return int(row or 0)


async def _still_there(session: AsyncSession, asset_id: int, site_path: str) -> bool:
    row = (await session.execute(select(Asset.status, Location.path).join(Location, Location.id == Asset.location_id)
                                 .where(Asset.id == asset_id))).first()
    return row is not None and row[0] == "available" and row[1].startswith(site_path)


async def recall_plan(session: AsyncSession, plan_id: int, data: RecallRequest, principal: Principal) -> Plan:
    """Send back what arrived and is still at the staging sites; 409 while a transfer is still in transit."""
    _require(principal, "plans.execute")
    plan = await _for_write(session, plan_id)
    lines = await plan_lines(session, plan.id)
    await _require_plan_scope(session, principal, plan, lines)
    if plan.status not in ("executing", "in_place"):
        raise _status_conflict(plan, "收回", "执行后")
    reads = {t: await transfer_read(session, await get_transfer(session, t, lock=True)) for t in by_transfer(lines)}
    moving = [r for r in reads.values() if r.status == "in_transit"]
    if moving:
        numbers = "、".join(r.number for r in moving)
        raise Conflict(f"调拨单 {numbers} 仍在途，请前置地点的保管员先签收（或短收结案）后再收回",
                       extra={"transfer_ids": [r.id for r in moving]})
    reason = f"前置计划 {plan.name} 汛后收回" + (f"：{data.reason.strip()}" if data.reason.strip() else "")
    used: dict[tuple[int, int, int | None], int] = defaultdict(int)  # what this recall took, per place/item/lot
    for t, group in by_transfer(lines).items():
        sent = reads[t]
        if sent.status == "cancelled":
            continue
        site = await session.get(Location, sent.to_location_id)
        assert site is not None
        back: list[MovementLine] = []
        units: dict[int, list[int]] = defaultdict(list)
        for tl in sent.lines:
            if tl.received <= 0:
                continue
            if tl.asset_id is not None:
                if await _still_there(session, tl.asset_id, site.path):
                    units[tl.item_type_id].append(tl.asset_id)
                continue
            key = (site.id, tl.item_type_id, tl.lot_id)
            quantity = min(tl.received, await _unreserved(session, *key) - used[key])
            if quantity > 0:
                used[key] += quantity
                back.append(MovementLine(item_type_id=tl.item_type_id, quantity=quantity, lot_id=tl.lot_id))
        back += [MovementLine(item_type_id=item, quantity=len(ids), asset_ids=ids) for item, ids in units.items()]
        if not back:
            continue
        doc = await post_document(session, MovementCreate(
            kind="transfer", location_id=site.id, to_location_id=sent.from_location_id, lines=back,
            reason=reason[:200], reference=f"PLAN-{plan.id}", occurred_at=data.occurred_at), actor=principal.username)
        for ln in group:
            ln.recall_transfer_id = doc.id
    now = utcnow()
    plan.status, plan.recalled_by, plan.recalled_at, plan.updated_at = "recalled", principal.username, now, now
    await session.flush()
    return plan
