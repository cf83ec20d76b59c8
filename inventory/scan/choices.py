"""What the scan page's forms offer: places in the user's scope, lots to take from, items, and who takes things."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.access.scope import Principal
from inventory.scan.resolve import ScanView, StockLineView, lot_sources, scope_clause
from inventory.store.models import Document, Incident, ItemType, Location

PLACES = 200  # places offered in a list (a keeper's scope is a county: a few dozen)
INCIDENTS = 20  # open incidents offered as whom a checkout goes to
RECENT_COUNTERPARTIES = 10  # people and units recently issued to, within the user's scope
RECENT_WINDOW = 300  # how many of the latest issues those are taken from


@dataclass(frozen=True)
class Suggestion:
    """A value offered for a free-text field, with why it is offered."""

    value: str
    note: str


@dataclass
class FormChoices:
    """The choices the forms of one scan page offer."""

    my_locations: list[Location] = field(default_factory=list)
    move_targets: list[Location] = field(default_factory=list)
    bulk_items: list[ItemType] = field(default_factory=list)
    lot_sources: list[StockLineView] = field(default_factory=list)
    counterparties: list[Suggestion] = field(default_factory=list)


async def my_places(session: AsyncSession, principal: Principal, limit: int = PLACES) -> list[Location]:
    """Active places in the user's scope: depots first, then by code."""
    return list(await session.scalars(
        select(Location).where(Location.active.is_(True), scope_clause(principal))
        .order_by(Location.kind != "depot", Location.code).limit(limit)))


async def counterparty_suggestions(session: AsyncSession, principal: Principal) -> list[Suggestion]:
    """Open incidents (newest first), then the people and units recently issued to in the user's scope."""
    incidents = await session.scalars(select(Incident.name).where(Incident.status == "open")
                                      .order_by(Incident.id.desc()).limit(INCIDENTS))
    latest = (select(Document.id, Document.counterparty).join(Location, Location.id == Document.location_id)
              .where(Document.kind == "issue", Document.counterparty != "", Document.reverses_id.is_(None),
                     scope_clause(principal))
              .order_by(Document.id.desc()).limit(RECENT_WINDOW).subquery())
    recent = await session.scalars(select(latest.c.counterparty).group_by(latest.c.counterparty)
                                   .order_by(func.max(latest.c.id).desc()).limit(RECENT_COUNTERPARTIES))
    found: dict[str, Suggestion] = {}
    for name in incidents:
        found.setdefault(name, Suggestion(name, "进行中的事件"))
    for name in recent:
        found.setdefault(name, Suggestion(name, "最近领用"))
    return list(found.values())


async def form_choices(session: AsyncSession, principal: Principal, view: ScanView) -> FormChoices:
    """What the forms of this scan page offer (nothing when no action is offered)."""
    if not view.actions:
        return FormChoices()
    mine = await my_places(session, principal)
    choices = FormChoices(my_locations=mine, move_targets=[loc for loc in mine if loc.id != view.location_id])
    if view.kind == "location":
        choices.bulk_items = list(await session.scalars(
            select(ItemType).where(ItemType.tracking == "bulk", ItemType.active.is_(True))
            .order_by(ItemType.code).limit(300)))
    if view.kind == "lot":
        choices.lot_sources = await lot_sources(session, view.target_id, principal)
    if {"checkout", "issue"} & set(view.actions):
        choices.counterparties = await counterparty_suggestions(session, principal)
    return choices
