"""Relief distributions to households on a real database: an issue through the ledger per distribution, the
duplicate rule per household, item and round, scope, closed incidents, shortfalls, ID numbers never stored whole."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest
from sqlalchemy import String, Text, func, select

from inventory.access.scope import Principal
from inventory.catalog.schemas import ItemTypeCreate
from inventory.catalog.service import create_item_type
from inventory.errors import Conflict, InsufficientStock, InvalidInput, PermissionDenied
from inventory.relief import service, views
from inventory.relief.ids import check_character, id_hash
from inventory.relief.schemas import DistributionCreate, DistributionLineIn, HouseholdIn
from inventory.response import incidents
from inventory.response.schemas import IncidentCreate
from inventory.stock.ledger import post_document
from inventory.stock.schemas import LotSpec, MovementCreate, MovementLine
from inventory.stock.verify import verify_ledger
from inventory.store.db import Database
from inventory.store.models import (
    Balance,
    Base,
    Distribution,
    Document,
    Household,
    Movement,
    Setting,
)
from tests.api import snapshot

ADMIN = Principal(0, "admin", "管理员", "admin", (), (), 0)
KEEPER = Principal(5, "keeper-ncx", "南昌县保管员", "keeper", ("360121",), (), 0)
OUTSIDER = Principal(6, "keeper-dhq", "东湖区保管员", "keeper", ("360102",), (), 0)
AUDITOR = Principal(7, "auditor", "审计", "auditor", (), (), 0)


def resident_id(seq: int, birth: str = "19800101") -> str:
    """A valid 18-character resident ID number of 南昌县 (GB 11643 check character)."""
    first17 = f"360121{birth}{seq:03d}"
    return first17 + check_character(first17)


def resident_id_ending_x(start: int) -> str:
    """A valid number whose check character is X (from sequence ``start`` on)."""
    return next(n for n in (resident_id(seq) for seq in range(start, start + 200)) if n.endswith("X"))


@dataclass
class World:
    incident: int
    site: int
    quilt: int
    tent: int
    pump: int


async def make_world(db: Database, *, quilts: int = 20, tents: int = 5) -> World:
    """An open incident in 南昌县 whose staging place holds quilts and tents."""
    async with db.write() as s:
        quilt = await create_item_type(s, ItemTypeCreate(code="BED-QUILT", name="棉被", unit="床", tracking="bulk",
                                                         category="bedding"))
        tent = await create_item_type(s, ItemTypeCreate(code="TENT-12", name="救灾帐篷", unit="顶", tracking="bulk",
                                                        category="shelter"))
        pump = await create_item_type(s, ItemTypeCreate(code="PUMP-500", name="排涝泵", unit="台", tracking="serial",
                                                        category="pump"))
        inc = await incidents.create_incident(s, IncidentCreate(
            name="向塘镇内涝", kind="flood", region_code="360121", lat=28.50, lon=115.95), actor="commander")
        await post_document(s, MovementCreate(kind="receipt", location_id=inc.location_id, lines=[
            MovementLine(item_type_id=quilt.id, quantity=quilts, lot=LotSpec(number="Q-1")),
            MovementLine(item_type_id=tent.id, quantity=tents, lot=LotSpec(number="T-1"))]), actor="t")
    return World(inc.id, inc.location_id, quilt.id, tent.id, pump.id)


def request(number: str, *items: tuple[str, int], name: str = "张三", village: str = "八一村", size: int = 4,
            round: int = 1, reason: str = "") -> DistributionCreate:
    return DistributionCreate(
        household=HouseholdIn(head_name=name, id_number=number, village=village, size=size, phone="13800000000"),
        lines=[DistributionLineIn(item_type=code, quantity=qty) for code, qty in items], round=round, reason=reason)


async def hand_out(db: Database, w: World, data: DistributionCreate, who: Principal = KEEPER) -> Distribution:
    async with db.write() as s:
        return await service.distribute(s, w.incident, data, who)


async def on_hand(db: Database, location: int, item: int) -> int:
    async with db.read() as s:
        return int(await s.scalar(select(func.coalesce(func.sum(Balance.on_hand), 0)).where(
            Balance.location_id == location, Balance.item_type_id == item)) or 0)


async def count(db: Database, model: type[Base]) -> int:
    async with db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_distribution_posts_an_issue_and_lowers_the_staging_stock(db: Database) -> None:
    w = await make_world(db)
    number = resident_id(1)
    d = await hand_out(db, w, request(number, ("BED-QUILT", 2), (str(w.tent), 1)))
    async with db.read() as s:
        read = await views.distribution_read(s, d)
        doc = await s.get(Document, d.document_id)
        report = await verify_ledger(s)
    assert report.ok, report.differences
    assert doc is not None
    assert (doc.kind, doc.location_id, doc.reference, doc.counterparty, doc.actor) == (
        "issue", w.site, f"RELIEF-{w.incident}", "张三（八一村）", "keeper-ncx")
    assert doc.reason == "救灾物资发放 第1轮（向塘镇内涝）"
    assert read.document_number.startswith("CK")
    assert (read.household.head_name, read.household.id_last4, read.village, read.round) == (
        "张三", number[-4:], "八一村", 1)
    assert [(ln.item_code, ln.quantity, ln.unit) for ln in read.lines] == [("BED-QUILT", 2, "床"), ("TENT-12", 1, "顶")]
    assert (await on_hand(db, w.site, w.quilt), await on_hand(db, w.site, w.tent)) == (18, 4)


async def test_a_household_is_refused_the_second_time_for_the_same_item_in_a_round_and_nothing_changes(
    db: Database,
) -> None:
    w = await make_world(db)
    number = resident_id_ending_x(200)
    await hand_out(db, w, request(number, ("BED-QUILT", 2)))
    before = await snapshot.state(db)
    movements = await count(db, Movement)
    # Another table, the number typed with a lower-case x: the same household.
    with pytest.raises(Conflict) as caught:
        await hand_out(db, w, request(number.lower(), ("BED-QUILT", 1), ("TENT-12", 1)), who=ADMIN)
    assert not isinstance(caught.value, InsufficientStock)
    assert "张三" in caught.value.detail and number[-4:] in caught.value.detail and "棉被" in caught.value.detail
    assert "救灾帐篷" not in caught.value.detail  # only the item already handed out is named
    assert number not in caught.value.detail
    assert caught.value.extra["item_type_ids"] == [w.quilt]
    assert snapshot.changed(before, await snapshot.state(db)) == []
    assert await count(db, Movement) == movements
    assert await on_hand(db, w.site, w.quilt) == 18


async def test_with_a_reason_the_same_item_is_handed_out_again_and_the_reason_is_kept(db: Database) -> None:
    w = await make_world(db)
    number = resident_id(3)
    await hand_out(db, w, request(number, ("BED-QUILT", 2)))
    again = await hand_out(db, w, request(number, ("BED-QUILT", 1), reason="  家中老人增加一床  "))
    assert again.reason == "家中老人增加一床"
    assert await on_hand(db, w.site, w.quilt) == 17
    assert await count(db, Household) == 1


async def test_another_item_in_the_same_round_and_the_same_item_in_the_next_round_are_allowed(db: Database) -> None:
    w = await make_world(db)
    number = resident_id(4)
    await hand_out(db, w, request(number, ("BED-QUILT", 2)))
    await hand_out(db, w, request(number, ("TENT-12", 1)))
    await hand_out(db, w, request(number, ("BED-QUILT", 2), round=2))
    with pytest.raises(Conflict):
        await hand_out(db, w, request(number, ("TENT-12", 1), ("BED-QUILT", 1), round=2))
    assert (await on_hand(db, w.site, w.quilt), await on_hand(db, w.site, w.tent)) == (16, 4)
    assert await count(db, Distribution) == 3


async def test_the_latest_name_village_and_size_are_kept_and_the_15_digit_number_is_the_same_household(
    db: Database,
) -> None:
    w = await make_world(db)
    first17 = "360121" + "19" + "800101" + "005"
    new = first17 + check_character(first17)
    old = "360121" + "800101" + "005"  # the 15-digit number of the same person
    await hand_out(db, w, request(old, ("BED-QUILT", 1), name="李四", size=3))
    with pytest.raises(Conflict):
        await hand_out(db, w, request(new, ("BED-QUILT", 1), name="李四"))
    await hand_out(db, w, request(new, ("TENT-12", 1), name="李 四", village="新联村", size=5))
    async with db.read() as s:
        households = list(await s.scalars(select(Household)))
    assert [(h.head_name, h.village, h.size, h.id_last4) for h in households] == [("李 四", "新联村", 5, new[-4:])]


async def test_a_closed_incident_refuses_distributions(db: Database) -> None:
    w = await make_world(db)
    async with db.write() as s:
        await incidents.close_incident(s, w.incident)
    with pytest.raises(Conflict) as caught:
        await hand_out(db, w, request(resident_id(6), ("BED-QUILT", 1)))
    assert "已关闭" in caught.value.detail
    assert await count(db, Distribution) == 0


async def test_a_keeper_outside_the_scope_is_refused_and_nothing_changes(db: Database) -> None:
    w = await make_world(db)
    before = await snapshot.state(db)
    with pytest.raises(PermissionDenied):
        await hand_out(db, w, request(resident_id(7), ("BED-QUILT", 1)), who=OUTSIDER)
    with pytest.raises(PermissionDenied):
        await hand_out(db, w, request(resident_id(7), ("BED-QUILT", 1)), who=AUDITOR)
    assert snapshot.changed(before, await snapshot.state(db)) == []


@pytest.mark.parametrize("typo", ["check", "letter", "length", "old-letter"])
async def test_a_wrong_resident_id_is_refused_on_its_field_without_repeating_the_number(db: Database,
                                                                                         typo: str) -> None:
    w = await make_world(db)
    good = resident_id(8)
    wrong = {"check": good[:17] + ("0" if good[17] != "0" else "1"), "letter": good[:10] + "A" + good[11:],
             "length": good[:16] + "00", "old-letter": good[:14] + "X"}[typo]
    before = await snapshot.state(db)
    with pytest.raises(InvalidInput) as caught:
        await hand_out(db, w, request(wrong, ("BED-QUILT", 1)))
    assert caught.value.field == "household.id_number"
    assert wrong not in caught.value.detail and wrong[:15] not in caught.value.detail
    assert "身份证" in caught.value.detail
    assert snapshot.changed(before, await snapshot.state(db)) == []


async def test_the_whole_id_number_is_stored_nowhere(db: Database) -> None:
    w = await make_world(db)
    numbers = [resident_id(9), resident_id_ending_x(400)]
    for n in numbers:
        await hand_out(db, w, request(n, ("BED-QUILT", 1), name="王五"))
    await hand_out(db, w, request(numbers[0], ("BED-QUILT", 1), reason="补发"))
    texts: list[str] = []
    async with db.read() as s:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | Text)]
            if columns:
                texts += [str(v) for row in (await s.execute(select(*columns))).all() for v in row if v is not None]
        salt = await s.scalar(select(Setting.value).where(Setting.key == service.SALT_SETTING))
        hashes = set(await s.scalars(select(Household.id_hash)))
    assert any("王五" in t for t in texts), "the dump reads the relief tables"
    for n in numbers:
        assert not [t for t in texts if n in t or n[:-1] in t], f"{n} is stored somewhere"
    assert salt and hashes == {id_hash(salt, n) for n in numbers}


async def test_too_little_stock_is_a_shortfall_and_nothing_is_written(db: Database) -> None:
    w = await make_world(db, tents=1)
    before = await snapshot.state(db)
    with pytest.raises(InsufficientStock) as caught:
        await hand_out(db, w, request(resident_id(11), ("BED-QUILT", 1), ("TENT-12", 2)))
    assert caught.value.extra["available"] == 1 and caught.value.extra["requested"] == 2
    assert snapshot.changed(before, await snapshot.state(db)) == []
    assert (await count(db, Household), await on_hand(db, w.site, w.tent)) == (0, 1)


async def test_serial_items_and_unknown_items_are_refused_on_their_line(db: Database) -> None:
    w = await make_world(db)
    for code in ("PUMP-500", "NO-SUCH-ITEM"):
        with pytest.raises(InvalidInput) as caught:
            await hand_out(db, w, request(resident_id(12), ("BED-QUILT", 1), (code, 1)))
        assert caught.value.field == "lines.1.item_type"
    assert await count(db, Distribution) == 0


async def test_two_tables_handing_out_to_one_household_at_once_give_once(db: Database) -> None:
    w = await make_world(db)
    number = resident_id(13)

    async def attempt(who: Principal) -> str:
        try:
            await hand_out(db, w, request(number, ("BED-QUILT", 1)), who=who)
        except Conflict:
            return "refused"
        return "given"

    outcomes = await asyncio.gather(attempt(KEEPER), attempt(ADMIN), attempt(KEEPER))
    assert sorted(outcomes) == ["given", "refused", "refused"]
    assert (await count(db, Distribution), await count(db, Household)) == (1, 1)
    assert await on_hand(db, w.site, w.quilt) == 19


async def test_totals_lists_and_the_register_per_village_and_round(db: Database) -> None:
    w = await make_world(db)
    await hand_out(db, w, request(resident_id(20), ("BED-QUILT", 2), ("TENT-12", 1), name="赵一", size=4))
    await hand_out(db, w, request(resident_id(21), ("BED-QUILT", 3), name="钱二", size=2))
    await hand_out(db, w, request(resident_id(22), ("BED-QUILT", 1), name="孙三", village="新联村", size=6))
    await hand_out(db, w, request(resident_id(20), ("BED-QUILT", 1), name="赵一", size=4, round=2))
    async with db.read() as s:
        totals = await views.relief_totals(s, w.incident)
        page = await views.list_distributions(s, w.incident, village="八一村", round=1, limit=10, offset=0)
        register = await views.register_rows(s, w.incident, "八一村", 1)
        stocked = await views.stock_to_hand_out(s, w.site)
    assert (totals.households, totals.people, totals.distributions) == (3, 12, 4)
    assert [(i.item_code, i.quantity, i.households) for i in totals.items] == [("BED-QUILT", 7, 3),
                                                                                ("TENT-12", 1, 1)]
    assert [(v.village, v.households, v.distributions, v.rounds) for v in totals.villages] == [
        ("八一村", 2, 3, [1, 2]), ("新联村", 1, 1, [1])]
    assert page.total == 2 and [d.household.head_name for d in page.items] == ["钱二", "赵一"]
    assert [(e.head_name, e.lines) for e in register.entries] == [
        ("赵一", [("棉被", "床", 2), ("救灾帐篷", "顶", 1)]), ("钱二", [("棉被", "床", 3)])]
    assert register.village == "八一村" and register.place_name.startswith("事件现场")
    assert sorted((x.code, x.available) for x in stocked) == [("BED-QUILT", 13), ("TENT-12", 4)]


async def test_the_demo_hands_out_relief_at_its_incident_through_the_ledger_once(db: Database) -> None:
    from inventory.demo.loader import load_demo
    from inventory.demo.relief import HANDED_OUT, SENT
    from inventory.demo.response import INCIDENT_NAME
    from inventory.store.models import Incident

    messages: list[str] = []
    async with db.write() as s:
        await load_demo(s, progress=messages.append)
    async with db.read() as s:
        incident = await s.scalar(select(Incident).where(Incident.name == INCIDENT_NAME))
        assert incident is not None
        totals = await views.relief_totals(s, incident.id)
        stocked = {x.code: x.available for x in await views.stock_to_hand_out(s, incident.location_id)}
        report = await verify_ledger(s)
    assert report.ok, report.differences
    assert (totals.households, totals.distributions) == (6, len(HANDED_OUT))
    assert [(v.village, v.rounds) for v in totals.villages] == [("联圩村", [1, 2]), ("蒋巷村", [1, 2])]
    given = {i.item_code: i.quantity for i in totals.items}
    assert stocked == {code: n - given[code] for code, n in SENT}
    assert any(m.startswith("救灾物资发放") for m in messages)
    movements = await count(db, Movement)
    again: list[str] = []
    async with db.write() as s:
        await load_demo(s, progress=again.append)
    assert await count(db, Movement) == movements and await count(db, Distribution) == len(HANDED_OUT)
    assert any(m.startswith("救灾物资发放") and "已存在跳过" in m for m in again)
