"""A small world for alert tests: depots on both sides of 南昌县's line, a firm's warehouse, water, tents, pumps.

Alerts are computed at explicit moments (``at(days=…, hours=…)`` from ``BASE``, the moment this module was
imported): no test sleeps or waits for a clock. Stock, leases and agreements are written through the same
services the API uses, on a real database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from inventory.access.scope import Principal
from inventory.alerts.config import AlertConfig
from inventory.alerts.runner import run_alerts
from inventory.alerts.schemas import RunReport
from inventory.catalog.schemas import ItemTypeCreate
from inventory.catalog.service import create_item_type
from inventory.places.locations import create_location
from inventory.places.schemas import LocationCreate
from inventory.stock.documents import CHINA
from inventory.stock.ledger import post_document
from inventory.stock.schemas import LotSpec, MovementCreate, MovementLine
from inventory.store.db import Database
from inventory.store.models import Alert, utcnow

ADMIN = Principal(0, "admin", "管理员", "admin", (), (), 0)
BASE = utcnow()
TODAY = BASE.astimezone(CHINA).date()
CONFIG = AlertConfig()
PUBLIC_URL = "http://inventory.test"


def at(days: float = 0, hours: float = 0) -> dt.datetime:
    """A moment after BASE."""
    return BASE + dt.timedelta(days=days, hours=hours)


def day(n: int) -> dt.date:
    """The Beijing date ``n`` days after today."""
    return TODAY + dt.timedelta(days=n)


@dataclass
class World:
    """Ids of what the alert tests act on."""

    depot_in: int  # 南昌县 360121
    bin_in: int  # a shelf in it
    depot_out: int  # 东湖区 360102
    vendor_in: int  # a firm's warehouse in 南昌县
    water: int  # category water: 15 days' lead before expiry
    tent: int  # category shelter: 30 days
    pump: int  # serial


async def make_world(db: Database) -> World:
    """The depots, the item types, nothing in stock yet."""
    async with db.write() as s:
        depot_in = await create_location(s, LocationCreate(code="D-NCX", name="南昌县储备库", kind="depot",
                                                            region_code="360121", lat=28.55, lon=115.94))
        bin_in = await create_location(s, LocationCreate(code="D-NCX-A1", name="A1货架", kind="bin",
                                                          region_code="360121", parent_id=depot_in.id))
        depot_out = await create_location(s, LocationCreate(code="D-DHQ", name="东湖区储备库", kind="depot",
                                                             region_code="360102", lat=28.68, lon=115.90))
        vendor = await create_location(s, LocationCreate(code="V-NCX", name="南昌县某超市配送中心", kind="vendor",
                                                          region_code="360121", lat=28.54, lon=115.93))
        water = await create_item_type(s, ItemTypeCreate(code="WATER", name="瓶装饮用水", unit="箱",
                                                         tracking="bulk", category="water"))
        tent = await create_item_type(s, ItemTypeCreate(code="TENT", name="单帐篷", unit="顶", tracking="bulk",
                                                        category="shelter"))
        pump = await create_item_type(s, ItemTypeCreate(code="PUMP", name="排涝泵", unit="台", tracking="serial",
                                                        category="pump"))
    return World(depot_in.id, bin_in.id, depot_out.id, vendor.id, water.id, tent.id, pump.id)


async def receive(db: Database, location: int, item: int, quantity: int, *, lot: str | None = None,
                  expiry: dt.date | None = None) -> int | None:
    """A receipt; the lot's id (None without a lot)."""
    spec = LotSpec(number=lot, expiry_date=expiry) if lot else None
    async with db.write() as s:
        doc = await post_document(s, MovementCreate(kind="receipt", location_id=location, lines=[
            MovementLine(item_type_id=item, quantity=quantity, lot=spec)]), actor="admin")
    return doc.id if lot is None else await lot_id(db, item, lot)


async def lot_id(db: Database, item: int, number: str) -> int:
    """The id of a lot by its number."""
    from inventory.store.models import Lot

    async with db.read() as s:
        found = await s.scalar(select(Lot.id).where(Lot.item_type_id == item, Lot.number == number))
    assert found is not None
    return found


async def post(db: Database, **body: Any) -> int:
    """Post a document (issue, transfer…); its id."""
    async with db.write() as s:
        doc = await post_document(s, MovementCreate(**body), actor="admin")
    return doc.id


async def run(db: Database, when: dt.datetime, config: AlertConfig = CONFIG, *, send: bool = False) -> RunReport:
    """Compute alerts as of ``when`` (and send what is due when ``send``)."""
    return await run_alerts(db, config, PUBLIC_URL, now=when, send=send)


async def alert_rows(db: Database) -> dict[str, Alert]:
    """Every alert row by dedupe key."""
    async with db.read() as s:
        return {a.dedupe_key: a for a in await s.scalars(select(Alert).order_by(Alert.id))}


async def open_keys(db: Database) -> set[str]:
    """The dedupe keys of the unresolved alerts."""
    return {k for k, a in (await alert_rows(db)).items() if a.resolved_at is None}
