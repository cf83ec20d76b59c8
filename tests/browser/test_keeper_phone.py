"""The keeper's phone in a real (headless Chromium) browser at 360 px: a lot held province-wide, one 移到
field that works with JavaScript off, suggestions of whom a checkout goes to, and who holds a unit.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from inventory.store.db import Database
from inventory.store.models import Lot
from tests.browser.conftest import PASSWORD, PHONE_WIDTH, WECHAT_UA, run_async

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from tests.browser.conftest import LiveServer

pytestmark = pytest.mark.browser
OpenAs = Callable[[str, str], "Page"]
BEIJING = dt.timezone(dt.timedelta(hours=8))
SCREENFULS = 3  # a lot's page may be this many 800 px screens tall, whatever the number of places


def _ok(response: Any, status: int = 201) -> Any:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    return response.json()


async def _lot_code(db_url: str, number: str) -> str:
    from sqlalchemy import select

    db = Database(db_url)
    try:
        async with db.read() as session:
            code: str | None = await session.scalar(select(Lot.label_code).where(Lot.number == number))
    finally:
        await db.dispose()
    assert code, f"lot {number} has a label"
    return code


def _receive_lot(server: LiveServer, location_id: int, number: str, quantity: int) -> None:
    _ok(server.api.post("/api/v1/movements", json={"kind": "receipt", "location_id": location_id, "lines": [
        {"item_type_id": server.tent_type_id, "quantity": quantity, "lot": {"number": number}}]}))


def _location(server: LiveServer, code: str, name: str, region: str, **extra: Any) -> dict[str, Any]:
    body = {"code": code, "name": name, "kind": "depot", "region_code": region, "lat": 28.55, "lon": 115.94,
            **extra}
    created: dict[str, Any] = _ok(server.api.post("/api/v1/locations", json=body))
    return created


@pytest.fixture(scope="module")
def province_lot(live_server: LiveServer) -> str:
    """Tents of lot T-60 at 60 places: 58 elsewhere in 南昌市 first, then two of keeper1's (南昌县)."""
    regions = ["360102", "360103", "360104", "360111", "360112", "360113", "360123", "360124"]
    for n in range(58):
        place = _location(live_server, f"P60-{n:02d}", f"外县应急物资储备点{n:02d}号", regions[n % len(regions)])
        _receive_lot(live_server, place["id"], "T-60", 10)
    for n, name in enumerate(("南昌县向塘镇储备点", "南昌县莲塘镇储备点")):
        place = _location(live_server, f"P60-NCX-{n}", name, "360121")
        _receive_lot(live_server, place["id"], "T-60", 10)
    code: str = run_async(_lot_code(live_server.db_url, "T-60"))
    return code


@pytest.fixture
def no_script_phone(browser: Browser, live_server: LiveServer) -> Iterator[Callable[[], Page]]:
    """A 360 px phone browser with JavaScript turned off."""
    contexts = []

    def make() -> Page:
        context = browser.new_context(
            base_url=live_server.base_url, viewport={"width": PHONE_WIDTH, "height": 800}, is_mobile=True,
            has_touch=True, user_agent=WECHAT_UA, locale="zh-CN", timezone_id="Asia/Shanghai",
            java_script_enabled=False)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def test_a_lot_at_sixty_places_fits_a_phone_with_the_keepers_places_first(
        open_as: OpenAs, live_server: LiveServer, province_lot: str, artifacts: Path, expect: Any) -> None:
    """The scan page of a lot held at 60 places stays a few screens tall; keeper1's two places come first."""
    page = open_as("keeper1", province_lot)
    rows = page.locator("#stock tbody tr")
    expect(rows).to_have_count(8)
    expect(rows.nth(0)).to_contain_text("南昌县向塘镇储备点")
    expect(rows.nth(1)).to_contain_text("南昌县莲塘镇储备点")
    expect(rows.nth(0).locator(".badge.mine")).to_have_text("本辖区")
    expect(rows.nth(2)).not_to_contain_text("本辖区")
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height <= SCREENFULS * 800, f"the lot's page is {height} px tall at {PHONE_WIDTH} px"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
    page.screenshot(path=str(artifacts / "lot-page-360.png"), full_page=True)

    page.locator("#stock a", has_text="查看全部 60 处").click()
    page.wait_for_url(re.compile(rf"/s/{province_lot}\?all=1$"))
    expect(page.locator("#stock tbody tr")).to_have_count(50)
    expect(page.locator("#stock tbody tr").first).to_contain_text("南昌县向塘镇储备点")
    page.locator("nav.pager a", has_text="下一页").click()
    page.wait_for_url(re.compile(r"page=2$"))
    expect(page.locator("#stock tbody tr")).to_have_count(10)
    expect(page.locator("#stock h2")).to_contain_text("第 2/2 页")


def test_moving_a_lot_without_javascript_takes_one_move_to_field(
        no_script_phone: Callable[[], Page], sign_in: Callable[..., None], live_server: LiveServer,
        expect: Any) -> None:
    """JavaScript off: open 移库/调拨, one 移到 field, type the shelf's code, and the tents are on the shelf."""
    shelf = _location(live_server, "D-NCX-B2", "B区2号货架", "360121", kind="bin", parent_id=live_server.depot_id)
    _receive_lot(live_server, live_server.depot_id, "T-MOVE", 30)
    code: str = run_async(_lot_code(live_server.db_url, "T-MOVE"))
    page = no_script_phone()
    page.goto(f"/s/{code}")
    page.wait_for_url(re.compile(r"/login\?next="))
    sign_in(page, "keeper1", PASSWORD)
    page.wait_for_url(re.compile(rf"/s/{code}$"))

    page.locator("details.action > summary", has_text="移库/调拨").click()
    form = page.locator("form[data-action=move]")
    expect(form.get_by_label("移到")).to_have_count(1)
    expect(form.locator("[name^=to]")).to_have_count(1)
    form.locator("select[name=location_id]").select_option(str(live_server.depot_id))
    form.get_by_label("数量").fill("12")
    form.get_by_label("移到").fill("d-ncx-b2")
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/s/{code}\?done=move$"))
    expect(page.locator("p.ok")).to_have_text("已办理移库")
    stock = _ok(live_server.api.get("/api/v1/stock", params={"location_id": shelf["id"],
                                                             "item_type_id": live_server.tent_type_id}), 200)
    assert [b["on_hand"] for b in stock["items"]] == [12]

    # Only the lower field of the old form filled in: a Chinese answer naming 移到, nothing moved.
    page.locator("details.action > summary", has_text="移库/调拨").click()
    form.get_by_label("数量").fill("1")
    form.get_by_label("移到").fill("没有这个货架")
    form.locator("button[type=submit]").click()
    expect(page.locator("p.err")).to_contain_text("没有找到地点")
    expect(page.locator("p.err")).not_to_contain_text("to_")


def test_checkout_suggests_open_incidents_and_the_page_shows_who_holds_the_unit(
        open_as: OpenAs, live_server: LiveServer, expect: Any) -> None:
    """The 领用人 field offers the open incident (free text still allowed); afterwards the pump names its holder."""
    _ok(live_server.api.post("/api/v1/incidents", json={"name": "向塘镇内涝抢险", "kind": "waterlogging",
                                                        "region_code": "360121", "lat": 28.50, "lon": 115.95}))
    asset = live_server.create_asset("NCX-PUMP-HOLD")
    page = open_as("keeper1", asset["label_code"])
    page.locator("details.action > summary", has_text="领用出库").click()
    field = page.locator("#cp-checkout")
    expect(field).to_have_attribute("list", "counterparties")
    options = page.locator("datalist#counterparties option")
    expect(options.first).to_have_attribute("value", "向塘镇内涝抢险")
    expect(options.first).to_have_text("进行中的事件")
    field.fill("向塘镇内涝抢险")
    page.locator("form[data-action=checkout] button[type=submit]").click()
    page.wait_for_url(re.compile(r"\?done=checkout$"))

    holder = page.locator("p.holder")
    expect(holder).to_contain_text("领用人：向塘镇内涝抢险")
    (issue,) = live_server.documents("issue", asset_id=asset["id"])
    document = _ok(live_server.api.get(f"/api/v1/documents/{issue}"), 200)
    since = dt.datetime.fromisoformat(document["occurred_at"]).astimezone(BEIJING)
    expect(holder.locator("time")).to_have_text(since.strftime("%Y-%m-%d %H:%M"))
    expect(holder).to_contain_text("（北京时间）起")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
