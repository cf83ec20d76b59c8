"""The keeper's phone pages over HTTP (session cookie, CSRF-protected forms), on SQLite and PostgreSQL.

What a keeper sees and sends: one "移到" field, Chinese error sentences, a lot's places (his own first,
a screenful, the rest a page away), suggestions of whom a checkout goes to, and who holds a unit.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from inventory.access.tokens import issue_token
from inventory.store.db import Database
from inventory.store.models import Lot, Movement, User
from tests.api.helpers import item_type_body, location_body
from tests.conftest import http_client

BEIJING = dt.timezone(dt.timedelta(hours=8))
# API words that must never reach a person: field names, document kinds, unit states, English defaults.
API_WORDS = re.compile(r"to_location_id|to_code|location_id|item_type_id|asset_ids|lines\.|\bquantity\b|"
                       r"\badjustment\b|\bdeployed\b|\bavailable\b|Not Found|Internal Server Error|id=")


@dataclass
class Place:
    """What the tests here set up: 南昌县 depot with a shelf, a 进贤县 depot, water in a lot, two pumps."""

    depot: int
    shelf: int
    shelf_label: str
    jinxian: int
    water: int
    lot_code: str
    pump: int
    pumps: list[dict[str, Any]]


class Phone:
    """A signed-in phone: a session cookie and the CSRF token the pages' forms carry."""

    def __init__(self, client: Any, csrf: str) -> None:
        self.client = client
        self.csrf = csrf

    async def get(self, path: str) -> Any:
        """GET a page."""
        return await self.client.get(path)

    async def send(self, code: str, action: str, **fields: str) -> Any:
        """POST one scan-page form (as the page would, with its CSRF token)."""
        return await self.client.post(f"/s/{code}", data={"_csrf_token": self.csrf, "action": action, **fields})


@pytest.fixture
async def phone_as(app: Any, db: Database, password_hash: str) -> Any:
    """``await phone_as(username, role, scope_regions)`` → a Phone signed in with a session cookie."""
    async with AsyncExitStack() as stack:

        async def make(username: str, role: str = "keeper", scope_regions: list[str] | None = None) -> Phone:
            async with db.write() as session:
                user = User(username=username, display_name=username, phone="", role=role,
                            scope_regions=scope_regions or [], scope_locations=[], active=True,
                            password_hash=password_hash)
                session.add(user)
                await session.flush()
                token, _ = await issue_token(session, user, kind="session")
            client = await stack.enter_async_context(http_client(app))
            client.cookies.set("inv_session", token)
            r = await client.get("/login")
            return Phone(client, r.cookies["inv_csrf"])

        yield make


async def created(client: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST that must answer 201; the body."""
    r = await client.post(path, json=body)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def lot_code(db: Database, number: str) -> str:
    """The label code of the lot with this number."""
    async with db.read() as session:
        code = await session.scalar(select(Lot.label_code).where(Lot.number == number))
    assert code, f"lot {number} has a label"
    return code


async def setup(client: Any, db: Database) -> Place:
    """A 南昌县 depot with a shelf (keeper's), a 进贤县 depot (not), 40 cases of water in lot W-1, two pumps."""
    depot = await created(client, "/api/v1/locations", location_body("D-NCX"))
    shelf = await created(client, "/api/v1/locations", location_body(
        "D-NCX-A1", kind="bin", name="A区1号货架", parent_id=depot["id"]))
    jinxian = await created(client, "/api/v1/locations", location_body(
        "D-JXX", name="进贤县应急物资储备库", region_code="360124", lat=28.37, lon=116.24))
    water = await created(client, "/api/v1/item-types", item_type_body(
        "WATER-550", name="瓶装饮用水", unit="箱", tracking="bulk", category="food", gbt_code=None,
        attributes={}, tags=[], shelf_life_days=365))
    await created(client, "/api/v1/movements", {"kind": "receipt", "location_id": depot["id"], "lines": [
        {"item_type_id": water["id"], "quantity": 40, "lot": {"number": "W-1", "expiry_date": "2099-01-01"}}]})
    pump = await created(client, "/api/v1/item-types", item_type_body())
    pumps = [await created(client, "/api/v1/assets", {"item_type_id": pump["id"], "serial_number": f"BC-{n}",
                                                     "location_id": depot["id"]}) for n in (1, 2, 3)]
    shelf_label = (await client.get(f"/api/v1/locations/{shelf['id']}")).json()["label_code"]
    return Place(depot["id"], shelf["id"], shelf_label, jinxian["id"], water["id"], await lot_code(db, "W-1"),
                 pump["id"], pumps)


async def on_hand(client: Any, location: int, item: int) -> int:
    """On hand of an item at exactly this location."""
    r = await client.get("/api/v1/stock", params={"location_id": location, "item_type_id": item})
    assert r.status_code == 200, r.text
    return sum(int(b["on_hand"]) for b in r.json()["items"])


async def movement_count(db: Database) -> int:
    """Every movement in the ledger: a refused form must not change it."""
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(Movement)) or 0)


def form_of(page: str, action: str) -> str:
    """The HTML of one action's form."""
    m = re.search(rf'<form [^>]*data-action="{action}">(.*?)</form>', page, re.S)
    assert m, f"no {action} form on the page"
    return m.group(1)


def alert(page: str) -> str:
    """The text of the page's error message."""
    m = re.search(r'<p class="err" role="alert">(.*?)</p>', page, re.S)
    assert m, "the page shows no error"
    return html.unescape(m.group(1))


def stock_rows(page: str) -> list[str]:
    """The place column of the stock table, in order."""
    card = re.search(r'<div class="card" id="stock">(.*?)</div>', page, re.S)
    assert card, "no stock card"
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in
            re.findall(r"<tr><td>(.*?)</td>", card.group(1), re.S)]


async def test_moving_a_lot_takes_one_move_to_field_by_code_shelf_label_or_scanned_address(
    client: Any, db: Database, phone_as: Any
) -> None:
    """The lot's 移库 form has one 移到 field; a location code, a shelf's label or the QR's address all work."""
    s = await setup(client, db)
    keeper = await phone_as("ncx-keeper", scope_regions=["360121"])
    page = (await keeper.get(f"/s/{s.lot_code}")).text
    move = form_of(page, "move")
    assert len(re.findall(r'<label for="to-move">移到</label>', move)) == 1, move
    assert re.findall(r'name="(to[^"]*)"', move) == ["to"], "one field says where to"
    assert 'list="places"' in move
    assert re.search(r'<datalist id="places">.*<option value="D-NCX-A1">A区1号货架</option>', page, re.S)

    for n, target in enumerate(("D-NCX-A1", s.shelf_label, f"http://inventory.test/s/{s.shelf_label}"), 1):
        r = await keeper.send(s.lot_code, "move", location_id=str(s.depot), quantity="2", to=target)
        assert r.status_code == 303, alert(r.text)
        assert r.headers["location"] == f"/s/{s.lot_code}?done=move"
        assert await on_hand(client, s.shelf, s.water) == 2 * n
    assert await on_hand(client, s.depot, s.water) == 40 - 6


async def test_refused_scan_forms_speak_chinese_and_change_nothing(
    client: Any, db: Database, phone_as: Any
) -> None:
    """Missing, malformed, impossible or unknown input: a Chinese sentence naming the field, no API words."""
    s = await setup(client, db)
    keeper = await phone_as("ncx-keeper", scope_regions=["360121"])
    pump = s.pumps[0]["label_code"]
    before = await movement_count(db)
    cases = [
        ((s.lot_code, "move", {"location_id": str(s.depot), "quantity": "2", "to": ""}), "移到"),
        ((s.lot_code, "move", {"location_id": str(s.depot), "quantity": "2", "to": "没有这个地方"}), "没有找到地点"),
        ((s.lot_code, "move", {"location_id": str(s.depot), "quantity": "2", "to": pump}), "请扫描货架或地点的标签"),
        ((s.lot_code, "move", {"location_id": str(s.depot), "quantity": "两箱", "to": "D-NCX-A1"}), "数量："),
        ((s.lot_code, "move", {"location_id": str(s.depot), "quantity": "0", "to": "D-NCX-A1"}), "数量：不能小于 1"),
        ((s.lot_code, "move", {"location_id": str(s.depot), "quantity": "5", "to": "D-NCX"}), "相同"),
        ((s.lot_code, "issue", {"location_id": str(s.depot), "quantity": "41", "counterparty": "向塘镇"}), "库存不足"),
        ((s.lot_code, "issue", {"location_id": str(s.depot), "quantity": "", "counterparty": "向塘镇"}), "数量：必填"),
        ((s.lot_code, "issue", {"location_id": "9" * 30, "quantity": "1", "counterparty": "向塘镇"}), "地点："),
        ((s.lot_code, "move", {"location_id": str(s.depot), "quantity": "9" * 12, "to": "D-NCX-A1"}), "不能大于"),
        ((pump, "checkout", {"counterparty": "队" * 101}), "最多 100 个字"),
        ((pump, "move", {"to": "D-NCX"}), "相同"),
        ((s.pumps[1]["label_code"], "move", {"to_location_id": str(s.shelf)}), "移到"),
    ]
    for (code, action, fields), expected in cases:
        r = await keeper.send(code, action, **fields)
        assert r.status_code in (409, 422), (action, fields, r.status_code)
        assert r.headers["content-type"].startswith("text/html")
        message = alert(r.text)
        assert expected in message, (fields, message)
        assert not API_WORDS.search(message), (fields, message)
        assert not re.search(r"[A-Za-z]{3,}", re.sub(r"D-NCX|\b[A-Z0-9]{10}\b", "", message)), (fields, message)
    assert await movement_count(db) == before


async def test_unknown_routes_answer_in_chinese_as_a_page_or_a_problem(anonymous: Any, phone_as: Any) -> None:
    """No "Not Found" for people: a Chinese page on page routes, a Chinese ``detail`` on API routes."""
    keeper = await phone_as("ncx-keeper", scope_regions=["360121"])
    for path in ("/no-such-page", "/s/L0000000000/extra"):
        r = await keeper.get(path)
        assert r.status_code == 404, path
        assert r.headers["content-type"].startswith("text/html"), path
        assert "页面不存在" in r.text
        assert "Not Found" not in r.text
    r = await keeper.client.delete("/s/L0000000000")
    assert r.status_code == 405
    assert r.headers["content-type"].startswith("text/html")
    assert "Method Not Allowed" not in r.text
    r = await keeper.client.post("/login", data={"username": "x", "password": "y"})  # no CSRF token
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("text/html")
    assert "表单已过期" in r.text
    assert "verification failed" not in r.text

    r = await anonymous.get("/api/v1/no-such-thing")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["detail"] == "未找到：GET /api/v1/no-such-thing", body
    assert "Not Found" not in r.text


async def test_a_lot_at_sixty_places_lists_the_keepers_own_first_and_a_screenful(
    client: Any, db: Database, phone_as: Any
) -> None:
    """Scan page: the keeper's places first, 8 rows, a link to all 60; the list pages 50 at a time, his first."""
    water = await created(client, "/api/v1/item-types", item_type_body(
        "WATER-550", name="瓶装饮用水", unit="箱", tracking="bulk", category="food", gbt_code=None,
        attributes={}, tags=[]))
    # 58 places elsewhere in 南昌市 first (lower ids), the keeper's two 南昌县 places last.
    regions = ["360102", "360103", "360104", "360111", "360112", "360113", "360123", "360124"]
    places = [(f"D-{n:02d}", f"外县储备点{n:02d}", regions[n % len(regions)]) for n in range(58)]
    places += [("D-NCX-1", "南昌县储备点甲", "360121"), ("D-NCX-2", "南昌县储备点乙", "360121")]
    for code, name, region in places:
        loc = await created(client, "/api/v1/locations", location_body(code, name=name, region_code=region))
        await created(client, "/api/v1/movements", {"kind": "receipt", "location_id": loc["id"], "lines": [
            {"item_type_id": water["id"], "quantity": 5, "lot": {"number": "W-60"}}]})
    code = await lot_code(db, "W-60")
    keeper = await phone_as("ncx-keeper", scope_regions=["360121"])

    page = (await keeper.get(f"/s/{code}")).text
    rows = stock_rows(page)
    assert len(rows) == 8, rows
    assert rows[:2] == ["南昌县储备点甲 本辖区", "南昌县储备点乙 本辖区"], rows
    assert "存放地点（共 60 处）" in page
    assert f'href="/s/{code}?all=1"' in page
    assert "在库合计</dt><dd>300箱" in page

    first = (await keeper.get(f"/s/{code}?all=1")).text
    rows = stock_rows(first)
    assert len(rows) == 50
    assert rows[:2] == ["南昌县储备点甲 本辖区", "南昌县储备点乙 本辖区"], rows
    assert "第 1/2 页" in first
    assert f'href="/s/{code}?all=1&amp;page=2"' in first
    second = stock_rows((await keeper.get(f"/s/{code}?all=1&page=2")).text)
    assert len(second) == 10
    assert not set(second) & set(rows)
    assert {r.removesuffix(" 本辖区") for r in rows + second} == {name for _, name, _ in places}

    # Someone with no scope here sees the same places in the ledger's order.
    other = stock_rows((await (await phone_as("gz-keeper", scope_regions=["3607"])).get(f"/s/{code}")).text)
    assert other[0] == "外县储备点00", other
    # A code that is not a lot: ?all=1 sends the phone to the plain scan page.
    depot = (await client.get("/api/v1/locations", params={"q": "D-NCX-1"})).json()["items"][0]["label_code"]
    r = await keeper.get(f"/s/{depot}?all=1")
    assert r.status_code == 303
    assert r.headers["location"] == f"/s/{depot}"


async def test_checkout_suggests_open_incidents_and_recent_takers_and_the_unit_shows_who_holds_it(
    client: Any, db: Database, phone_as: Any
) -> None:
    """领用出库 offers open incidents and whom this county issued to lately; a checked-out unit names its holder."""
    s = await setup(client, db)
    for name in ("向塘镇内涝", "已结束的事件"):
        await created(client, "/api/v1/incidents", {"name": name, "kind": "waterlogging", "region_code": "360121",
                                                    "lat": 28.50, "lon": 115.95})
    closed = (await client.get("/api/v1/incidents", params={"limit": 10})).json()["items"]
    closed_id = next(i["id"] for i in closed if i["name"] == "已结束的事件")
    assert (await client.post(f"/api/v1/incidents/{closed_id}/close")).status_code in (200, 201)
    # Issued elsewhere (进贤县): not this keeper's business.
    await created(client, "/api/v1/movements", {"kind": "receipt", "location_id": s.jinxian, "lines": [
        {"item_type_id": s.water, "quantity": 3, "lot": {"number": "W-JX"}}]})
    await created(client, "/api/v1/movements", {"kind": "issue", "location_id": s.jinxian,
                                                "counterparty": "进贤县抢险队", "lines": [
                                                    {"item_type_id": s.water, "quantity": 1}]})
    keeper = await phone_as("ncx-keeper", scope_regions=["360121"])
    first, second = s.pumps[0]["label_code"], s.pumps[1]["label_code"]

    r = await keeper.send(first, "checkout", counterparty="莲塘镇抢险突击队", reason="排涝")
    assert r.status_code == 303, alert(r.text)
    page = (await keeper.get(f"/s/{second}")).text
    checkout = form_of(page, "checkout")
    assert 'list="counterparties"' in checkout
    options = re.findall(r'<option value="([^"]*)">([^<]*)</option>',
                         re.search(r'<datalist id="counterparties">(.*?)</datalist>', page, re.S).group(1))
    assert options == [("向塘镇内涝", "进行中的事件"), ("莲塘镇抢险突击队", "最近领用")], options

    # A free text still goes through.
    r = await keeper.send(second, "checkout", counterparty="张三（村民兵连）")
    assert r.status_code == 303, alert(r.text)

    issued = (await client.get("/api/v1/movements", params={"kind": "issue", "location_id": s.depot})).json()
    document = next(m["document_id"] for m in issued["items"] if m["asset_id"] == s.pumps[0]["id"])
    occurred = dt.datetime.fromisoformat((await client.get(f"/api/v1/documents/{document}")).json()["occurred_at"])
    page = (await keeper.get(f"/s/{first}")).text
    since = occurred.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
    assert "领用人：<strong>莲塘镇抢险突击队</strong>，自 <time" in page
    assert f">{since}</time>（北京时间）起" in page
    scanned = (await client.get(f"/api/v1/scan/{first}")).json()
    assert scanned["holder"] == "莲塘镇抢险突击队"
    # Not checked out: no holder.
    assert "领用人：" not in (await keeper.get(f"/s/{s.pumps[2]['label_code']}")).text


async def test_an_unexpected_error_on_a_page_is_a_chinese_page_and_on_the_api_a_problem(app: Any) -> None:
    """The catch-all handler: people get a Chinese page (not "Internal Server Error"), programs problem details."""
    from litestar import Request
    from litestar.response import Template

    from api.errors import internal_error_handler

    def request(path: str) -> Request[Any, Any, Any]:
        return Request({"type": "http", "method": "GET", "path": path, "raw_path": path.encode(), "headers": [],
                        "query_string": b"", "scheme": "http", "server": ("inventory.test", 80), "root_path": "",
                        "app": app, "state": {}, "path_params": {}})

    page = internal_error_handler(request("/s/A0000000000"), RuntimeError("boom"))
    assert isinstance(page, Template)
    assert page.status_code == 500
    assert page.template_name == "scan_error.html"
    assert page.context["heading"] == "系统出错了"
    api = internal_error_handler(request("/api/v1/stock"), RuntimeError("boom"))
    assert not isinstance(api, Template)
    assert api.status_code == 500
    assert api.media_type == "application/problem+json"
