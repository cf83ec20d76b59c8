"""The commander's screen in real Chromium, on the 南昌市 demo: the map, a nearest query from a clicked point,
a reservation into a dispatch order, the order's page; and screenshots of every commander page at 1280 and
360 px (tests/artifacts/commander-*.png; one of the map is committed under docs/).

The server is ``python -m api.cli serve`` over a fresh SQLite file with the demo loaded through the service
layer first, and one commander account (scope 南昌市 3601) made the same way.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from inventory.clock import beijing_today
from inventory.store.db import Database
from inventory.store.migrate import upgrade
from tests.browser.conftest import PASSWORD, PHONE_WIDTH, WECHAT_UA, _free_port, _wait_until_up, run_async

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

COMMANDER = "chief"
DESKTOP = {"width": 1280, "height": 800}
SITE_KINDS = ("depot", "reserve_point", "vendor", "vehicle", "staging")


async def _load_demo_and_commander(url: str) -> None:
    from inventory.access.users import UserCreate, create_user
    from inventory.demo.loader import load_demo

    db = Database(url)
    try:
        async with db.write() as session:
            await load_demo(session)
        async with db.write() as session:
            await _an_agreement(session)
        async with db.write() as session:
            await create_user(session, UserCreate(username=COMMANDER, password=PASSWORD, role="commander",
                                                  display_name="南昌市防指值班员", scope_regions=["3601"]))
    finally:
        await db.dispose()


async def _an_agreement(session: Any) -> None:
    """An agreement (协议储备) with a demo firm in 南昌市 and a drill on it, unless the demo already has one."""
    import datetime as dt

    from sqlalchemy import select

    from inventory.access.scope import Principal
    from inventory.agreements.schemas import AgreementCreate, AgreementLineCreate, CheckCreate
    from inventory.agreements.service import create_agreement, record_check
    from inventory.store.models import Agreement, AgreementCheck, ItemType, Location

    if await session.scalar(select(Agreement.id).join(AgreementCheck, AgreementCheck.agreement_id == Agreement.id)
                            .limit(1)):
        return
    vendor = await session.scalar(select(Location.id).where(Location.kind == "vendor",
                                                            Location.region_code.startswith("3601"))
                                  .order_by(Location.id).limit(1))
    items = list(await session.scalars(select(ItemType.id).order_by(ItemType.id).limit(3)))
    assert vendor is not None and items, "the demo has a firm's warehouse in 南昌市 and item types"
    admin = Principal(user_id=0, username="demo", display_name="demo", role="admin", scope_regions=(),
                      scope_locations=(), token_id=0)
    today = beijing_today()
    a = await create_agreement(session, AgreementCreate(
        number="NC-XY-2026-BROWSER", name="南昌市应急物资实物代储协议（浏览器测试）", vendor_location_id=vendor,
        kind="physical", valid_from=today - dt.timedelta(days=60), valid_until=today + dt.timedelta(days=20),
        response_hours=6, lines=[AgreementLineCreate(item_type_id=i, quantity=10 * n) for n, i in enumerate(items, 1)],
        delivery_point="南昌县莲塘镇应急物资集结点", contact_name="李经理", contact_phone="0791-88881234"), admin)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    await record_check(session, a.id, CheckCreate(
        checked_on=today - dt.timedelta(days=2), method="drill", result="deficient", deficiency="一台泵车未按时到位",
        requested_at=start, arrived_at=start + dt.timedelta(hours=7.5)), admin)


@dataclass
class DemoServer:
    base_url: str
    db_file: Path

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        """Read the service's SQLite file directly: the expectations come from the data, not from the pages."""
        with sqlite3.connect(self.db_file) as conn:
            return list(conn.execute(query, params))


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    folder = tmp_path_factory.mktemp("commander")
    db_file = folder / "inventory.db"
    db_url = f"sqlite+aiosqlite:///{db_file}"
    upgrade(db_url)
    run_async(_load_demo_and_commander(db_url))
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "INVENTORY_DATABASE_URL": db_url, "INVENTORY_PUBLIC_URL": base_url,
           "INVENTORY_SECRET_KEY": "browser-tests-secret-key-not-for-production", "PYTHONUNBUFFERED": "1"}
    env.pop("INVENTORY_BOOTSTRAP_ADMIN_PASSWORD", None)
    log = folder / "server.log"
    repo = Path(__file__).resolve().parents[2]
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                                cwd=repo, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_until_up(proc, base_url, log)
        yield DemoServer(base_url, db_file)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        server_log = log.read_text(errors="replace")
        assert "Traceback" not in server_log, server_log[-4000:]


@pytest.fixture
def commander(browser: Browser, demo_server: DemoServer) -> Iterator[Callable[..., Page]]:
    """``commander(width=1280)`` → a signed-in commander's page in a fresh browser context."""
    contexts: list[BrowserContext] = []

    def make(phone: bool = False) -> Page:
        options: dict[str, Any] = {"viewport": {"width": PHONE_WIDTH, "height": 800}, "is_mobile": True,
                                   "has_touch": True, "user_agent": WECHAT_UA, "device_scale_factor": 2} \
            if phone else {"viewport": DESKTOP}
        context = browser.new_context(base_url=demo_server.base_url, locale="zh-CN", timezone_id="Asia/Shanghai",
                                      **options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto("/login?next=/map")
        page.fill("#username", COMMANDER)
        page.fill("#password", PASSWORD)
        page.click("button.primary")
        page.wait_for_url(re.compile(r"/map$"))
        page.errors = errors  # type: ignore[attr-defined]
        return page

    yield make
    for context in contexts:
        context.close()


def expected_markers(server: DemoServer) -> int:
    """Sites that can offer stock in 南昌市 (active, with coordinates; an incident's own staging place is
    drawn as the incident) plus the open incidents there."""
    kinds = ",".join("?" * len(SITE_KINDS))
    sites = server.sql(
        f"SELECT count(*) FROM locations WHERE active AND lat IS NOT NULL AND kind IN ({kinds}) "
        "AND region_code LIKE '3601%' AND id NOT IN (SELECT location_id FROM incidents)", *SITE_KINDS)[0][0]
    incidents = server.sql("SELECT count(*) FROM incidents WHERE status = 'open' AND region_code LIKE '3601%'")[0][0]
    assert sites > 80 and incidents >= 1, (sites, incidents)
    return int(sites) + int(incidents)


def no_page_wide_scroll(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"{page.url}: the page scrolls sideways by {overflow} px"


def test_the_map_draws_every_site_and_incident_of_nanchang(
    commander: Callable[..., Page], demo_server: DemoServer, artifacts: Path,
) -> None:
    page = commander()
    expected = expected_markers(demo_server)
    page.wait_for_selector(".leaflet-host .map-icon")
    assert page.locator(".leaflet-host .map-icon").count() == expected, "Leaflet markers"
    assert page.locator("#sites tbody tr").count() + page.locator("#incidents tbody tr").count() == expected
    assert page.locator(".leaflet-host path[data-adcode], .leaflet-host path.leaflet-interactive").count() >= 9, \
        "南昌市's nine counties drawn"
    no_page_wide_scroll(page)
    page.screenshot(path=str(artifacts / "commander-map-1280.png"))
    assert page.errors == []  # type: ignore[attr-defined]


def test_without_javascript_the_server_drawn_map_has_the_same_markers(
    browser: Browser, demo_server: DemoServer,
) -> None:
    context = browser.new_context(base_url=demo_server.base_url, viewport=DESKTOP, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/login?next=/map")
        page.fill("#username", COMMANDER)
        page.fill("#password", PASSWORD)
        page.click("button.primary")
        page.wait_for_url(re.compile(r"/map$"))
        assert page.locator(".leaflet-host").count() == 0
        assert page.locator("svg.svgmap g.marker").count() == expected_markers(demo_server)
    finally:
        context.close()


def test_a_nearest_query_from_a_clicked_point_becomes_a_dispatch_order(
    commander: Callable[..., Page], demo_server: DemoServer, artifacts: Path,
) -> None:
    page = commander()
    page.wait_for_selector(".leaflet-host .map-icon")
    # Click an empty spot of the map: the popup offers the nearest-available query from there.
    host = page.locator(".leaflet-host")
    box = host.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] * 0.52, box["y"] + box["height"] * 0.55)
    pick = page.get_by_role("link", name=re.compile("从这里查就近"))
    pick.first.click()
    page.wait_for_url(re.compile(r"/availability\?.*lat=.*lon="))
    lat = float(page.input_value("#f-lat"))
    lon = float(page.input_value("#f-lon"))
    assert 27.9 < lat < 29.2 and 115.2 < lon < 116.6, (lat, lon)
    page.select_option("#f-category", "pump")
    page.fill("#f-quantity", "3")
    page.click("#ask button.primary")
    page.wait_for_selector("#answer table.sources")
    sources = page.locator("#answer table.sources tbody tr[id^=src-]")
    assert sources.count() >= 1
    orders_before = demo_server.sql("SELECT count(*) FROM dispatches")[0][0]
    page.screenshot(path=str(artifacts / "commander-availability-1280.png"), full_page=True)
    first = sources.first
    first.locator("details.reserve summary").click()
    incident_id = int(demo_server.sql("SELECT id FROM incidents WHERE status = 'open' ORDER BY id LIMIT 1")[0][0])
    first.locator("select[name=incident_id]").select_option(str(incident_id))
    first.locator("input[name=quantity]").fill("1")
    first.locator("button.primary").click()
    page.wait_for_url(re.compile(r"/dispatches/\d+$"))
    dispatch_id = int(page.url.rsplit("/", 1)[1])
    assert demo_server.sql("SELECT count(*) FROM dispatches")[0][0] == orders_before + 1
    assert demo_server.sql("SELECT incident_id, status FROM dispatches WHERE id = ?", dispatch_id) == \
        [(incident_id, "reserved")]
    lines = page.locator("#dispatch-lines tbody tr")
    assert lines.count() >= 1
    reserved = demo_server.sql("SELECT sum(quantity) FROM dispatch_lines WHERE dispatch_id = ?", dispatch_id)[0][0]
    assert reserved == 1
    page.screenshot(path=str(artifacts / "commander-dispatch-1280.png"), full_page=True)
    # The incident's page lists the new order.
    page.goto(f"/incidents/{incident_id}")
    assert page.locator(f"a[href='/dispatches/{dispatch_id}']").count() >= 1
    assert page.errors == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("phone", [False, True], ids=["1280", "360"])
def test_every_commander_page_fits_its_screen(
    commander: Callable[..., Page], demo_server: DemoServer, artifacts: Path, phone: bool,
) -> None:
    page = commander(phone=phone)
    incident_id = demo_server.sql("SELECT id FROM incidents ORDER BY id LIMIT 1")[0][0]
    dispatch_id = demo_server.sql("SELECT id FROM dispatches ORDER BY id LIMIT 1")[0][0]
    depot = demo_server.sql("SELECT id FROM locations WHERE kind = 'depot' AND region_code LIKE '360121%' "
                            "ORDER BY id LIMIT 1")[0][0]
    agreement_id = demo_server.sql("SELECT agreement_id FROM agreement_checks ORDER BY id LIMIT 1")[0][0]
    plan_id = demo_server.sql("SELECT id FROM plans ORDER BY id LIMIT 1")[0][0]
    proposal_id = demo_server.sql("SELECT id FROM plan_proposals ORDER BY id LIMIT 1")[0][0]
    request_id = demo_server.sql("SELECT id FROM supply_requests ORDER BY status = 'open' DESC, id LIMIT 1")[0][0]
    width = "360" if phone else "1280"
    pages = {
        "map": "/map",
        "availability": "/availability?lat=28.55&lon=115.94&crs=wgs84&category=pump&quantity=5",
        "summary": "/availability/summary?region=3601&category=pump",
        "incidents": "/incidents",
        "incident": f"/incidents/{incident_id}",
        "dispatch": f"/dispatches/{dispatch_id}",
        "reports": "/reports",
        "receipts-issues": f"/reports/receipts-issues?location={depot}",
        "stock-ledger": f"/reports/stock-ledger?location={depot}",
        "stock-by-county": "/reports/stock-by-county?region=3601",
        "agreements": "/agreements",
        "agreement": f"/agreements/{agreement_id}",
        "quotas": "/quotas?region=3601",
        "readiness": "/readiness?region=3601",
        "alerts": "/alerts",
        "plans": "/plans?region=3601",
        "plan": f"/plans/{plan_id}",
        "proposal": f"/plans/proposals/{proposal_id}",
        "risk-points": "/risk-points?region=3601",
        "requests": "/requests",
        "request-new": f"/requests/new?incident={incident_id}&to_region=36",
        "request": f"/requests/{request_id}",
    }
    for name, path in pages.items():
        response = page.goto(path)
        assert response is not None and response.status == 200, f"{path}: {response and response.status}"
        page.wait_for_load_state("load")
        no_page_wide_scroll(page)
        if name == "agreement":  # the commander's scope holds the firm: the check form is on the page too
            assert page.locator("#record-check").count() == 1
        page.screenshot(path=str(artifacts / f"commander-{name}-{width}.png"), full_page=name != "map")
    assert page.errors == []  # type: ignore[attr-defined]
