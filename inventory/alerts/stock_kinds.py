"""Alerts found in the stock: lots expiring or expired with stock on hand, transfers in transit too long.

Each query reads what is held now (balances), so an alert clears on its own once the stock is gone —
issued, written off or received — without anyone acknowledging it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.selectable import Subquery

from inventory.alerts.config import AlertConfig
from inventory.alerts.kinds import Clock, Found, Source, clip
from inventory.stock.documents import CHINA, document_number
from inventory.stock.lots import is_expired
from inventory.store.models import Balance, Document, ItemType, Location, Lot, Movement

Site = aliased(Location)


async def lots_expiring(session: AsyncSession, clock: Clock, config: AlertConfig) -> list[Found]:
    """Per lot and site with stock on hand: expired (high), or expiring within its category's lead (normal)."""
    site_of = func.coalesce(Location.site_id, Location.id)
    horizon = clock.today + dt.timedelta(days=config.longest_expiry_days)
    held = (select(Balance.lot_id, site_of.label("site_id"), func.sum(Balance.on_hand).label("on_hand"))
            .join(Lot, Lot.id == Balance.lot_id).join(Location, Location.id == Balance.location_id)
            .where(Balance.on_hand > 0, Lot.expiry_date.is_not(None), Lot.expiry_date <= horizon)
            .group_by(Balance.lot_id, site_of).subquery())
    rows = await session.execute(
        select(held.c.lot_id, held.c.site_id, held.c.on_hand, Lot.number, Lot.expiry_date, ItemType.name,
               ItemType.unit, ItemType.category, Site.name, Site.region_code)
        .join(Lot, Lot.id == held.c.lot_id).join(ItemType, ItemType.id == Lot.item_type_id)
        .join(Site, Site.id == held.c.site_id).order_by(Lot.expiry_date, held.c.lot_id, held.c.site_id))
    found = []
    for lot_id, site_id, on_hand, number, expiry, item, unit, category, site_name, region in rows:
        left = (expiry - clock.today).days
        where = f"{site_name}现存 {int(on_hand)} {unit}"
        if is_expired(expiry, clock.today):
            found.append(Found(
                "lot_expired", f"lot_expired:{lot_id}:{site_id}", "high", "lot", lot_id, region, site_id,
                clip(f"过期：{item} 批次 {number} 已于 {expiry} 过期（{-left} 天前）", 200),
                clip(f"{where}，不得发放，请办理报废或处置", 500), expiry))
        elif left <= config.expiry_days_for(category):
            found.append(Found(
                "lot_expiring", f"lot_expiring:{lot_id}:{site_id}:{expiry}", "normal", "lot", lot_id, region,
                site_id, clip(f"临期：{item} 批次 {number} 将于 {expiry} 过期（还有 {left} 天）", 200),
                clip(f"{where}，请优先发放或安排轮换", 500), expiry))
    return found


def _transfer_links() -> Subquery:
    """Each document that moves a transfer's in-transit stock, beside the transfer's id."""
    return union_all(
        select(Document.id.label("doc_id"), Document.id.label("transfer_id"))
        .where(Document.kind == "transfer", Document.reverses_id.is_(None)),
        # receipts of it, and reversals of those receipts (they carry the transfer's id too)
        select(Document.id, Document.transfer_id).where(Document.transfer_id.is_not(None)),
        # a reversal of the transfer itself
        select(Document.id, Document.reverses_id).where(Document.kind == "transfer", Document.reverses_id.is_not(None)),
    ).subquery()


async def transfers_in_transit(session: AsyncSession, clock: Clock, config: AlertConfig) -> list[Found]:
    """Transfers sent more than ``transit_days`` ago with something still in transit (not received or closed)."""
    cutoff = clock.now - dt.timedelta(days=config.transit_days)
    waiting = select(Balance.location_id).where(Balance.in_transit > 0)
    candidates = (select(Document.id).where(Document.kind == "transfer", Document.reverses_id.is_(None),
                                            Document.occurred_at < cutoff, Document.to_location_id.in_(waiting)))
    links = _transfer_links()
    outstanding = (select(links.c.transfer_id, func.sum(Movement.quantity).label("quantity"))
                   .join(Movement, Movement.document_id == links.c.doc_id)
                   .where(Movement.bucket == "in_transit", links.c.transfer_id.in_(candidates))
                   .group_by(links.c.transfer_id).having(func.sum(Movement.quantity) > 0).subquery())
    source = aliased(Location)
    rows = await session.execute(
        select(Document, outstanding.c.quantity, source.name, Site.name, Site.region_code)
        .join(outstanding, outstanding.c.transfer_id == Document.id)
        .join(source, source.id == Document.location_id).join(Site, Site.id == Document.to_location_id)
        .order_by(Document.occurred_at, Document.id))
    found = []
    for doc, quantity, from_name, to_name, region in rows:
        number = document_number(doc.kind, doc.created_at, doc.id)
        sent = doc.occurred_at.astimezone(CHINA)
        days = (clock.now - doc.occurred_at).days
        found.append(Found(
            "transfer_in_transit", f"transfer_in_transit:{doc.id}", "normal", "transfer", doc.id, region,
            doc.to_location_id, clip(f"调拨在途超期：{number} 从{from_name}发往{to_name}，已在途 {days} 天", 200),
            clip(f"{sent:%Y-%m-%d %H:%M} 发出，尚有 {int(quantity)} 件未收货；请收货或短收结案", 500), sent.date()))
    return found


SOURCES = (
    Source("lots", ("lot_expired", "lot_expiring"), lots_expiring),
    Source("transfers", ("transfer_in_transit",), transfers_in_transit),
)
