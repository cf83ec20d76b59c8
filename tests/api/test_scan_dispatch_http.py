"""Dispatch orders from the keeper's phone over HTTP (session cookie, CSRF-protected forms), on SQLite and
PostgreSQL: the home page lists the orders waiting for him; scanning a reserved unit shows its order and
incident and executes it; the receiving keeper signs for it by scanning; its own keeper scans it back in.
Each county's keeper executes only his own lines, and every form takes 发生时间 for paper notes.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import uuid
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from inventory.access.tokens import issue_token
from inventory.store.db import Database
from inventory.store.models import Document, Lot, User
from tests.api.helpers import item_type_body, location_body
from tests.conftest import http_client

BEIJING = dt.timezone(dt.timedelta(hours=8))


class Phone:
    """A signed-in phone: a session cookie and the CSRF token the pages' forms carry."""

    def __init__(self, client: Any, csrf: str) -> None:
        self.client = client
        self.csrf = csrf

    async def page(self, path: str) -> str:
        """GET a page that must answer 200; its HTML."""
        r = await self.client.get(path)
        assert r.status_code == 200, (path, r.status_code, r.text[:500])
        return str(r.text)

    async def send(self, code: str, action: str, **fields: str) -> Any:
        """POST one scan-page form, with a fresh idempotency key unless one is given."""
        fields.setdefault("idempotency_key", uuid.uuid4().hex)
        return await self.client.post(f"/s/{code}", data={"_csrf_token": self.csrf, "action": action, **fields})

    async def post(self, path: str, **fields: str) -> Any:
        """POST a page form."""
        fields.setdefault("idempotency_key", uuid.uuid4().hex)
        return await self.client.post(path, data={"_csrf_token": self.csrf, **fields})


@pytest.fixture
async def phone_as(app: Any, db: Database, password_hash: str) -> Any:
    """``await phone_as(username, scope_regions)`` → a keeper's Phone signed in with a session cookie."""
    async with AsyncExitStack() as stack:

        async def make(username: str, scope_regions: list[str], role: str = "keeper") -> Phone:
            async with db.write() as session:
                user = User(username=username, display_name=username, phone="", role=role,
                            scope_regions=scope_regions, scope_locations=[], active=True, password_hash=password_hash)
                session.add(user)
                await session.flush()
                token, _ = await issue_token(session, user, kind="session")
            client = await stack.enter_async_context(http_client(app))
            client.cookies.set("inv_session", token)
            r = await client.get("/login")
            return Phone(client, r.cookies["inv_csrf"])

        yield make


@dataclass
class Scene:
    """南昌县's depot (A) with two pumps and 40 cases of water in lot W-1, 进贤县's (B) with one pump, an incident
    in 南昌县, and an order of a pump from each depot."""

    depot_a: int
    depot_b: int
    incident: int
    incident_name: str
    staging: int
    pump_a: dict[str, Any]  # reserved by the order
    pump_a2: dict[str, Any]  # not on any order
    pump_b: dict[str, Any]  # reserved by the order
    water: int
    lot_code: str
    order: int


async def created(client: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = await client.post(path, json=body)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def setup(client: Any, db: Database) -> Scene:
    a = await created(client, "/api/v1/locations", location_body("D-NCX", name="南昌县储备库"))
    b = await created(client, "/api/v1/locations", location_body(
        "D-JXX", name="进贤县储备库", region_code="360124", lat=28.37, lon=116.24))
    pump = await created(client, "/api/v1/item-types", item_type_body())
    water = await created(client, "/api/v1/item-types", item_type_body(
        "WATER-550", name="瓶装饮用水", unit="箱", tracking="bulk", category="food", gbt_code=None, attributes={},
        tags=[]))
    await created(client, "/api/v1/movements", {"kind": "receipt", "location_id": a["id"], "lines": [
        {"item_type_id": water["id"], "quantity": 40, "lot": {"number": "W-1", "expiry_date": "2099-01-01"}}]})
    units = []
    for serial, place in (("BC-1", a), ("BC-2", a), ("JX-1", b)):
        unit = await created(client, "/api/v1/assets", {"item_type_id": pump["id"], "serial_number": serial,
                                                       "location_id": place["id"]})
        units.append((await client.get(f"/api/v1/assets/{unit['id']}")).json())
    incident = await created(client, "/api/v1/incidents", {"name": "向塘镇圩堤管涌", "kind": "flood",
                                                          "region_code": "360121", "lat": 28.50, "lon": 115.95})
    order = await created(client, f"/api/v1/incidents/{incident['id']}/dispatches", {
        "lines": [{"item_type": "PUMP-300", "quantity": 1, "from_location_id": a["id"]},
                  {"item_type": "PUMP-300", "quantity": 1, "from_location_id": b["id"]}],
        "approval": {"mode": "oral", "approved_by": "县防指值班领导"}})
    reserved = {ln["asset_id"] for ln in order["lines"]}
    pump_a, pump_a2 = sorted((u for u in units[:2]), key=lambda u: u["id"] not in reserved)
    async with db.read() as session:
        lot = await session.scalar(select(Lot.label_code).where(Lot.number == "W-1"))
    assert lot
    return Scene(a["id"], b["id"], incident["id"], incident["name"], incident["location_id"], pump_a, pump_a2,
                 units[2], water["id"], lot, order["id"])


def actions(page: str) -> list[str]:
    """The actions the scan page offers (its forms)."""
    return re.findall(r'<form [^>]*data-action="([a-z_]+)"', page)


def form_of(page: str, action: str) -> str:
    m = re.search(rf'<form [^>]*data-action="{action}">(.*?)</form>', page, re.S)
    assert m, f"no {action} form on the page"
    return m.group(1)


def alert(page: str) -> str:
    m = re.search(r'<p class="err" role="alert"[^>]*>(.*?)</p>', page, re.S)
    assert m, "the page shows no error"
    return html.unescape(m.group(1))


def card(page: str, ident: str) -> str:
    m = re.search(rf'<div class="card[^"]*" id="{ident}">(.*?)\n</div>', page, re.S)
    assert m, f"no #{ident} card"
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", m.group(1))))


async def unit(client: Any, asset: dict[str, Any]) -> tuple[str, int]:
    """(status, location) of a unit now."""
    now = (await client.get(f"/api/v1/assets/{asset['id']}")).json()
    return now["status"], now["location_id"]


async def line_states(client: Any, order: int) -> dict[int, str]:
    """Each line's state by its unit."""
    return {ln["asset_id"]: ln["state"] for ln in (await client.get(f"/api/v1/dispatches/{order}")).json()["lines"]}


async def documents(db: Database, order: int) -> list[tuple[str, dt.datetime]]:
    """(kind, occurred_at) of the order's transfers and their receipts, in order."""
    async with db.read() as session:
        refs = await session.execute(select(Document.id, Document.kind, Document.occurred_at).where(
            Document.reference == f"DISPATCH-{order}", Document.kind == "transfer").order_by(Document.id))
        found = []
        for doc_id, kind, at in refs.all():
            found.append((kind, at))
            for r_kind, r_at in (await session.execute(select(Document.kind, Document.occurred_at).where(
                    Document.transfer_id == doc_id).order_by(Document.id))).all():
                found.append((r_kind, r_at))
    return found


async def test_scanning_a_reserved_unit_shows_its_order_and_its_keeper_executes_it(
        client: Any, db: Database, phone_as: Any) -> None:
    s = await setup(client, db)
    keeper = await phone_as("ncx-keeper", ["360121"])
    code = s.pump_a["label_code"]
    page = await keeper.page(f"/s/{code}")
    assert actions(page) == ["dispatch_execute"]
    assert "您没有在此办理业务的权限" not in page
    shown = card(page, "dispatch")
    assert f"动用指令 #{s.order}" in shown
    assert s.incident_name in shown
    assert "您的出库明细（1 条）" in shown
    assert "其他单位的明细（1 条）" in shown
    assert "进贤县储备库" in shown
    execute = form_of(page, "dispatch_execute")
    assert 'name="occurred_at" type="datetime-local"' in execute
    line = re.search(r'name="line_id" value="(\d+)"', execute)
    assert line
    key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', execute)
    assert key

    for _ in range(2):  # a double tap: one transfer
        r = await keeper.send(code, "dispatch_execute", line_id=line.group(1), idempotency_key=key.group(1))
        assert r.status_code == 303, alert(r.text)
        assert r.headers["location"] == f"/s/{code}?done=dispatch_execute"
    assert await unit(client, s.pump_a) == ("in_transit", s.staging)
    assert await line_states(client, s.order) == {s.pump_a["id"]: "executed", s.pump_b["id"]: "reserved"}
    assert (await client.get(f"/api/v1/dispatches/{s.order}")).json()["status"] == "executing"
    assert [kind for kind, _ in await documents(db, s.order)] == ["transfer"]
    done = await keeper.page(f"/s/{code}?done=dispatch_execute")
    assert "已出库" in re.search(r'<p class="ok" role="status">(.*?)</p>', done).group(1)  # type: ignore[union-attr]
    assert 'data-status="in_transit"' in done


async def test_the_receiving_keeper_signs_for_it_and_its_own_keeper_scans_it_back_in(
        client: Any, db: Database, phone_as: Any) -> None:
    s = await setup(client, db)
    at_scene = await phone_as("ncx-keeper", ["360121"])  # the incident is in 南昌县
    jinxian = await phone_as("jxx-keeper", ["360124"])
    code = s.pump_b["label_code"]
    r = await jinxian.send(code, "dispatch_execute", occurred_at="2026-07-01T08:15")
    assert r.status_code == 303, alert(r.text)
    assert await unit(client, s.pump_b) == ("in_transit", s.staging)

    page = await at_scene.page(f"/s/{code}")
    assert actions(page) == ["dispatch_deliver"], "signed for as the order's, not as a plain transfer"
    assert "现场签收" in page
    assert "receive_transfer" not in page
    assert actions(await jinxian.page(f"/s/{code}")) == [], "the sender does not sign for it"
    r = await at_scene.send(code, "dispatch_deliver", occurred_at="2026-07-01T11:40")
    assert r.status_code == 303, alert(r.text)
    assert await unit(client, s.pump_b) == ("available", s.staging)
    assert (await line_states(client, s.order))[s.pump_b["id"]] == "delivered"
    assert (await client.get(f"/api/v1/dispatches/{s.order}")).json()["status"] == "executing"

    assert "dispatch_return" not in actions(await at_scene.page(f"/s/{code}")), "进贤县's unit goes back by its keeper"
    back = await jinxian.page(f"/s/{code}")
    assert actions(back) == ["dispatch_return"]
    assert 'value="D-JXX"' in form_of(back, "dispatch_return"), "back to where it came from unless told"
    r = await jinxian.send(code, "dispatch_return", to="D-JXX", occurred_at="2026-07-03T17:00")
    assert r.status_code == 303, alert(r.text)
    assert r.headers["location"] == f"/s/{code}?done=dispatch_return"
    assert await unit(client, s.pump_b) == ("available", s.depot_b)
    assert (await line_states(client, s.order))[s.pump_b["id"]] == "returned"
    local = [(kind, at.astimezone(BEIJING).strftime("%m-%d %H:%M")) for kind, at in await documents(db, s.order)]
    assert local == [("transfer", "07-01 08:15"), ("transfer_receipt", "07-01 11:40"),
                     ("transfer", "07-03 17:00"), ("transfer_receipt", "07-03 17:00")]


async def test_a_keeper_of_another_county_sees_the_order_but_gets_no_action(
        client: Any, db: Database, phone_as: Any) -> None:
    s = await setup(client, db)
    jinxian = await phone_as("jxx-keeper", ["360124"])
    code = s.pump_a["label_code"]
    page = await jinxian.page(f"/s/{code}")
    assert actions(page) == []
    shown = card(page, "dispatch")
    assert f"动用指令 #{s.order}" in shown
    assert s.incident_name in shown
    assert "不在您的办理范围" in shown
    assert "您的出库明细（1 条）" in shown, "his own line of the order is named his"
    assert "JX-1" in shown
    r = await jinxian.send(code, "dispatch_execute")
    assert r.status_code == 403
    assert await unit(client, s.pump_a) == ("reserved", s.depot_a)


async def line_ids(client: Any, order: int, asset: dict[str, Any]) -> list[int]:
    return [ln["id"] for ln in (await client.get(f"/api/v1/dispatches/{order}")).json()["lines"]
            if ln["asset_id"] == asset["id"]]


async def test_a_keeper_of_another_county_cannot_execute_the_others_line_through_the_api(
        client: Any, db: Database, client_as: Any) -> None:
    s = await setup(client, db)
    jinxian = await client_as("keeper", "jxx-api", scope_regions=["360124"])
    r = await jinxian.post(f"/api/v1/dispatches/{s.order}/execute",
                           json={"line_ids": await line_ids(client, s.order, s.pump_a)})
    assert r.status_code == 403, r.text
    r = await jinxian.post(f"/api/v1/dispatches/{s.order}/execute", json={})
    assert r.status_code == 200, r.text
    assert await line_states(client, s.order) == {s.pump_a["id"]: "reserved", s.pump_b["id"]: "executed"}


async def test_the_home_page_lists_the_orders_waiting_for_the_keeper(
        client: Any, db: Database, phone_as: Any) -> None:
    s = await setup(client, db)
    nanchang = await phone_as("ncx-keeper", ["360121"])
    home = await nanchang.page("/")
    waiting = card(home, "waiting-orders")
    assert f"动用指令 #{s.order}" in waiting
    assert s.incident_name in waiting
    assert "待您出库 1 条" in waiting
    assert "BC-" in waiting and "JX-1" not in waiting, "his own line listed, not the other county's"
    assert f'href="/dispatches/{s.order}"' in home
    assert home.index('id="waiting-orders"') < home.index("我的储备点")
    donghu = await phone_as("dh-keeper", ["360102"])
    assert "暂无等您办理的动用指令" in card(await donghu.page("/"), "waiting-orders")
    commander = await phone_as("cmd", ["3601"], role="commander")
    assert 'id="waiting-orders"' not in await commander.page("/")

    r = await nanchang.send(s.pump_a["label_code"], "dispatch_execute")
    assert r.status_code == 303, alert(r.text)
    after = card(await nanchang.page("/"), "waiting-orders")
    assert "待您签收 1 条" in after, "on its way to his own county's incident: now his to sign for"
    assert "待您出库" not in after


async def test_a_lot_line_is_executed_with_its_quantity(client: Any, db: Database, phone_as: Any) -> None:
    s = await setup(client, db)
    for quantity in (12, 5):
        await created(client, f"/api/v1/incidents/{s.incident}/dispatches", {
            "lines": [{"item_type": "WATER-550", "quantity": quantity, "from_location_id": s.depot_a}],
            "approval": {"mode": "oral", "approved_by": "县防指值班领导"}})
    keeper = await phone_as("ncx-keeper", ["360121"])
    page = await keeper.page(f"/s/{s.lot_code}")
    assert "dispatch_execute" in actions(page)
    execute = form_of(page, "dispatch_execute")
    options = re.findall(r'<option value="(\d+)">([^<]*)</option>', execute)
    assert [re.search(r"：(\d+箱)", text).group(1) for _, text in options] == ["12箱", "5箱"]  # type: ignore[union-attr]
    r = await keeper.send(s.lot_code, "dispatch_execute")
    assert r.status_code == 422
    assert "请选择" in alert(r.text)
    r = await keeper.send(s.lot_code, "dispatch_execute", line_id=options[0][0])
    assert r.status_code == 303, alert(r.text)
    stock = (await client.get("/api/v1/stock", params={"location_id": s.depot_a, "item_type_id": s.water})).json()
    assert [(b["on_hand"], b["reserved"]) for b in stock["items"]] == [(28, 5)]
    left = form_of(await keeper.page(f"/s/{s.lot_code}"), "dispatch_execute")
    assert 'name="line_id" value="' in left and "5箱" in left and "12箱" not in left


async def test_a_foreign_line_is_422_and_a_line_done_by_another_is_409(
        client: Any, db: Database, phone_as: Any) -> None:
    s = await setup(client, db)
    first = await phone_as("ncx-keeper", ["360121"])
    second = await phone_as("ncx-keeper-2", ["360121"])
    code = s.pump_a["label_code"]
    other_line = (await line_ids(client, s.order, s.pump_b))[0]
    for wrong in (str(other_line), "99999"):
        r = await first.send(code, "dispatch_execute", line_id=wrong)
        assert r.status_code == 422, r.text
        assert "动用明细" in alert(r.text)
    r = await first.send(code, "dispatch_execute", line_id="一")
    assert r.status_code == 422
    assert "动用明细" in alert(r.text)
    assert await unit(client, s.pump_a) == ("reserved", s.depot_a)

    mine = str((await line_ids(client, s.order, s.pump_a))[0])
    r = await first.send(code, "dispatch_execute", line_id=mine)
    assert r.status_code == 303, alert(r.text)
    r = await second.send(code, "dispatch_execute", line_id=mine)  # his page was opened before
    assert r.status_code == 409, r.text
    assert "可能已由他人办理" in alert(r.text)
    assert [kind for kind, _ in await documents(db, s.order)] == ["transfer"]


async def test_every_scan_form_takes_occurred_at_and_a_future_one_is_refused(
        client: Any, db: Database, phone_as: Any) -> None:
    s = await setup(client, db)
    keeper = await phone_as("ncx-keeper", ["360121"])
    for code in (s.pump_a2["label_code"], s.lot_code, s.pump_a["label_code"]):
        page = await keeper.page(f"/s/{code}")
        offered = actions(page)
        assert offered, code
        for action in offered:
            form = form_of(page, action)
            assert re.search(r'<details class="occurred-at">\s*<summary>补录（按实际发生时间）</summary>\s*'
                             rf'<label for="{action}-occurred-at">实际发生时间', form), (code, action)
            assert f'<input id="{action}-occurred-at" name="occurred_at" type="datetime-local"' in form, (code, action)
    later = (dt.datetime.now(BEIJING) + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    for wrong in (later, "0001-01-01T00:00", "昨天下午"):
        r = await keeper.send(s.pump_a["label_code"], "dispatch_execute", occurred_at=wrong)
        assert r.status_code == 422, (wrong, r.status_code)
        assert "发生时间" in alert(r.text)
    assert await unit(client, s.pump_a) == ("reserved", s.depot_a)
    r = await keeper.send(s.pump_a2["label_code"], "checkout", counterparty="向塘镇抢险队",
                          occurred_at="2026-06-30T22:10")
    assert r.status_code == 303, alert(r.text)
    async with db.read() as session:
        issued = await session.scalar(select(Document.occurred_at).where(Document.kind == "issue"))
        assert issued is not None
        assert issued.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") == "2026-06-30 22:10"
        count = await session.scalar(select(func.count()).select_from(Document).where(
            Document.reference == f"DISPATCH-{s.order}", Document.kind == "transfer"))
    assert count == 0


async def test_the_dispatch_page_lets_each_keeper_execute_only_his_own_source(
        client: Any, db: Database, phone_as: Any) -> None:
    s = await setup(client, db)
    nanchang = await phone_as("ncx-keeper", ["360121"])
    page = await nanchang.page(f"/dispatches/{s.order}")
    mine = dict(re.findall(r'<tr data-line="(\d+)" data-mine="(yes|no)">', page))
    assert sorted(mine.values()) == ["no", "yes"]
    assert "本辖区" in page and "其他单位" in page
    forms = re.findall(r'<form method="post" action="/dispatches/\d+/execute" data-step="execute" '
                       r'data-site="(\d+)">', page)
    assert forms == [str(s.depot_a)], "he executes his own source only"
    assert 'name="occurred_at" type="datetime-local"' in page
    r = await nanchang.post(f"/dispatches/{s.order}/execute", from_location_id=str(s.depot_b))
    assert r.status_code == 403
    assert await unit(client, s.pump_b) == ("reserved", s.depot_b)
    r = await nanchang.post(f"/dispatches/{s.order}/execute", from_location_id=str(s.depot_a),
                            occurred_at="2026-07-01T07:00")
    assert r.status_code == 303, r.text
    assert await line_states(client, s.order) == {s.pump_a["id"]: "executed", s.pump_b["id"]: "reserved"}
    assert [(k, at.astimezone(BEIJING).strftime("%H:%M")) for k, at in await documents(db, s.order)] == [
        ("transfer", "07:00")]

    after = await nanchang.page(f"/dispatches/{s.order}?done=executed")
    assert "已出库" in after
    assert 'data-step="deliver"' in after, "on its way to his own county's incident: he signs for it here too"
    line = (await line_ids(client, s.order, s.pump_a))[0]
    r = await nanchang.post(f"/dispatches/{s.order}/deliver", line_id=str(line))
    assert r.status_code == 303, r.text
    assert (await line_states(client, s.order))[s.pump_a["id"]] == "delivered"
    back = await nanchang.page(f"/dispatches/{s.order}")
    assert 'data-step="return"' in back
    r = await nanchang.post(f"/dispatches/{s.order}/return", line_id=str(line), to_location_id=str(s.depot_a))
    assert r.status_code == 303, r.text
    assert await unit(client, s.pump_a) == ("available", s.depot_a)
