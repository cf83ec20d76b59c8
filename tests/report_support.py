"""A ledger for report tests: November 2025 at 南昌县's depot with reversals, transit, a write-off and a 盘亏.

Every document is dated (``occurred_at``) in Beijing time. Reversals and write-off approvals take their
time from the clock, so those meant to fall inside November are posted with the clock of the module that
posts them set back (``pytest.MonkeyPatch``); the other reversal happens now, after the period.

Figures of tents at the depot (with its bin) for 2025-11, by hand:

=====================  ==========================================================  =====
opening                R1 100 (10-10) + R5 7 (10-28)                               107
receipts 入库          R4 20 (11-03) − reversal of R5 7 (11-08, 红字)              13
issues 出库            I1 15 (11-05) + I2 4 (11-15; reversed now, after the period)  19
transfers out 调出     X1 10 (11-10, received 11-12) + X2 5 (11-25, received 12-02)  15
write-offs 报废        W 3 (approved 11-20)                                        3
losses 盘亏            A −2 (11-28)                                                2
closing                107 + 13 − 19 − 15 − 3 − 2                                  81
=====================  ==========================================================  =====

Water in the depot's bin: opening 40, 盘盈 1 (11-28), closing 41. 进贤县's depot: tents opening 30, 调入 10,
closing 40, and X2's 5 in transit toward it at the end of November (received 12-02).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest

import inventory.stock.reversal
import inventory.write_offs.service
from inventory.access.scope import Principal
from inventory.catalog.schemas import ItemTypeCreate
from inventory.catalog.service import create_item_type
from inventory.places.locations import create_location
from inventory.places.schemas import LocationCreate
from inventory.reports.periods import Period
from inventory.stock.assets import create_asset
from inventory.stock.documents import CHINA
from inventory.stock.ledger import post_document
from inventory.stock.reversal import reverse_document
from inventory.stock.schemas import AssetCreate, LotSpec, MovementCreate, MovementLine, TransferReceive
from inventory.stock.transfers import receive_transfer
from inventory.store.db import Database
from inventory.store.models import User
from inventory.write_offs.schemas import WriteOffCreate, WriteOffLineRequest
from inventory.write_offs.service import approve_write_off, request_write_off

NOVEMBER = Period(year=2025, month=11)
DEPOT_NAME = "南昌县综合应急物资储备库"
CHIEF = Principal(0, "王局长", "王局长", "commander", ("3601",), (), 0)

# Hand-computed figures of tents at the depot for November 2025 (module doc).
DEPOT_TENT = {"opening": 107, "receipts": 13, "returns": 0, "transfers_in": 0, "gains": 0, "issues": 19,
              "transfers_out": 15, "losses": 2, "write_offs": 3, "closing": 81, "in_transit_opening": 0,
              "in_transit_closing": 0}
DEPOT_WATER = {"opening": 40, "gains": 1, "closing": 41}
JINXIAN_TENT = {"opening": 30, "transfers_in": 10, "closing": 40, "in_transit_opening": 0, "in_transit_closing": 5}
# The depot's tent ledger for November: (kind, in, out, running balance) in order.
DEPOT_TENT_ENTRIES = [
    ("入库", 20, 0, 127), ("出库", 0, 15, 112), ("入库冲销", -7, 0, 105), ("调出", 0, 10, 95), ("出库", 0, 4, 91),
    ("报废", 0, 3, 88), ("调出", 0, 5, 83), ("盘亏", 0, 2, 81),
]


def at(month: int, day: int, year: int = 2025) -> dt.datetime:
    """10:00 Beijing time on that day."""
    return dt.datetime(year, month, day, 10, 0, tzinfo=CHINA)


@dataclass
class Ledger:
    """What was built: locations, item types, and the ids of the documents."""

    depot: int
    bin: int
    jinxian: int
    tent: int
    water: int
    pump: int
    pumps: list[int]
    docs: dict[str, int]


async def _post(db: Database, kind: str, location: int, lines: list[MovementLine], when: dt.datetime,
                **kw: Any) -> int:
    async with db.write() as s:
        doc = await post_document(s, MovementCreate(kind=kind, location_id=location, lines=lines,  # type: ignore[arg-type]
                                                    occurred_at=when, **kw), actor="keeper")
        return doc.id


async def _reverse(db: Database, doc_id: int, monkeypatch: pytest.MonkeyPatch, when: dt.datetime | None) -> int:
    """Reverse a document, at ``when`` (None: now)."""
    with monkeypatch.context() as m:
        if when is not None:
            m.setattr(inventory.stock.reversal, "utcnow", lambda: when.astimezone(dt.UTC))
        async with db.write() as s:
            return (await reverse_document(s, doc_id, "录入错误", actor="keeper")).id


async def build_ledger(db: Database, monkeypatch: pytest.MonkeyPatch) -> Ledger:
    """The ledger of the module doc."""
    async with db.write() as s:
        depot = await create_location(s, LocationCreate(
            code="D-NCX", name=DEPOT_NAME, kind="depot", region_code="360121", lat=28.55, lon=115.94,
            contact_name="张保管"))
        shelf = await create_location(s, LocationCreate(
            code="D-NCX-A1", name="A区1号货架", kind="bin", region_code="360121", parent_id=depot.id))
        jinxian = await create_location(s, LocationCreate(
            code="D-JXX", name="进贤县应急物资储备库", kind="depot", region_code="360124", lat=28.37, lon=116.24))
        tent = await create_item_type(s, ItemTypeCreate(
            code="TENT-12", name="12平方米单帐篷", spec="3×4 m", unit="顶", tracking="bulk", category="shelter"))
        water = await create_item_type(s, ItemTypeCreate(
            code="WATER-550", name="瓶装饮用水", spec="550 ml×24", unit="箱", tracking="bulk", category="water",
            shelf_life_days=365))
        pump = await create_item_type(s, ItemTypeCreate(
            code="PUMP-300", name="移动泵车", unit="台", tracking="serial", category="pump",
            attributes={"flow_m3h": 300}))
        for username, display, role in (("王局长", "王局长", "commander"), ("keeper", "李保管", "keeper")):
            s.add(User(username=username, display_name=display, role=role, password_hash="not-used"))
    lot_a = LotSpec(number="T-A", expiry_date=dt.date(2030, 1, 1))
    lot_b = LotSpec(number="T-B", expiry_date=dt.date(2031, 1, 1))
    docs: dict[str, int] = {}
    docs["R1"] = await _post(db, "receipt", depot.id, [MovementLine(item_type_id=tent.id, quantity=100, lot=lot_a)],
                             at(10, 10), counterparty="省应急物资储备中心")
    docs["R2"] = await _post(db, "receipt", jinxian.id, [MovementLine(item_type_id=tent.id, quantity=30)], at(10, 12))
    docs["R3"] = await _post(db, "receipt", shelf.id, [MovementLine(
        item_type_id=water.id, quantity=40, lot=LotSpec(number="W-1", expiry_date=dt.date(2026, 3, 31)))], at(10, 20))
    docs["R5"] = await _post(db, "receipt", depot.id, [MovementLine(item_type_id=tent.id, quantity=7, lot=lot_a)],
                             at(10, 28))
    docs["R4"] = await _post(db, "receipt", depot.id, [MovementLine(item_type_id=tent.id, quantity=20, lot=lot_b)],
                             at(11, 3))
    docs["I1"] = await _post(db, "issue", depot.id, [MovementLine(item_type_id=tent.id, quantity=15)], at(11, 5),
                             counterparty="莲塘镇政府", reason="安置受灾群众")
    docs["R5-rev"] = await _reverse(db, docs["R5"], monkeypatch, at(11, 8))
    docs["X1"] = await _post(db, "transfer", depot.id, [MovementLine(item_type_id=tent.id, quantity=10)], at(11, 10),
                             to_location_id=jinxian.id)
    async with db.write() as s:
        docs["X1-in"] = (await receive_transfer(s, docs["X1"], TransferReceive(occurred_at=at(11, 12)),
                                                actor="keeper")).id
    docs["I2"] = await _post(db, "issue", depot.id, [MovementLine(item_type_id=tent.id, quantity=4)], at(11, 15))
    with monkeypatch.context() as m:
        m.setattr(inventory.write_offs.service, "utcnow", lambda: at(11, 20).astimezone(dt.UTC))
        async with db.write() as s:
            request = await request_write_off(s, WriteOffCreate(
                location_id=depot.id, reason="仓库漏雨，帐篷霉变",
                lines=[WriteOffLineRequest(item_type_id=tent.id, quantity=3)]), actor="keeper")
        async with db.write() as s:
            approved = await approve_write_off(s, request.id, CHIEF)
    assert approved.document_id is not None
    docs["W"] = approved.document_id
    docs["X2"] = await _post(db, "transfer", depot.id, [MovementLine(item_type_id=tent.id, quantity=5)], at(11, 25),
                             to_location_id=jinxian.id)
    docs["A"] = await _post(db, "adjustment", depot.id, [MovementLine(item_type_id=tent.id, quantity=-2)], at(11, 28),
                            reason="2025年第四季度盘点调整（盘亏）")
    docs["A-bin"] = await _post(db, "adjustment", shelf.id, [MovementLine(item_type_id=water.id, quantity=1,
                                                                           lot=LotSpec(number="W-1"))],
                                at(11, 28), reason="2025年第四季度盘点调整（盘盈）")
    # After November: X2 arrives, 进贤县 issues some tents, I2 is reversed now, pumps are registered now.
    async with db.write() as s:
        docs["X2-in"] = (await receive_transfer(s, docs["X2"], TransferReceive(occurred_at=at(12, 2)),
                                                actor="keeper")).id
    docs["I3"] = await _post(db, "issue", jinxian.id, [MovementLine(item_type_id=tent.id, quantity=6)], at(12, 10))
    docs["I2-rev"] = await _reverse(db, docs["I2"], monkeypatch, None)
    async with db.write() as s:
        pumps = [(await create_asset(s, AssetCreate(item_type_id=pump.id, serial_number=f"BC-{n}",
                                                    location_id=depot.id), actor="keeper")).id for n in (1, 2)]
    return Ledger(depot.id, shelf.id, jinxian.id, tent.id, water.id, pump.id, pumps, docs)
