"""Browser fixtures: the real app served by uvicorn on a fresh SQLite file, and headless Chromium.

The server is ``python -m api.cli serve`` in a subprocess (migrations, bootstrap and all), on a free
localhost port. Users are created through the service layer before it starts; everything else is
seeded through the HTTP API with an admin bearer token, like a real deployment would be.

Chromium comes from Debian (``/usr/bin/chromium``); Playwright never downloads a browser here.
When Chromium or Playwright is missing the browser tests are skipped, unless
``INVENTORY_REQUIRE_BROWSER=1`` (CI), which turns the skip into a failure.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from inventory.store.db import Database
from inventory.store.migrate import upgrade

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

CHROMIUM = Path(os.environ.get("INVENTORY_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
REQUIRE_BROWSER = os.environ.get("INVENTORY_REQUIRE_BROWSER") == "1"
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts"
PASSWORD = "browser-test-password"
# What the depot keepers mostly use: WeChat's built-in browser on an Android phone.
WECHAT_UA = ("Mozilla/5.0 (Linux; Android 13; V2219A Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
             "(KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 "
             "MMWEBSDK/20231202 MicroMessenger/8.0.47.2560(0x28002F30) WeChat/arm64 Weixin NetType/WIFI "
             "Language/zh_CN ABI/arm64")
PHONE_WIDTH = 360
USERS = [  # username, role, display name, scope regions
    ("admin", "admin", "系统管理员", []),
    ("keeper1", "keeper", "南昌县保管员", ["360121"]),
    ("keeper2", "keeper", "东湖区保管员", ["360102"]),
]
_serials = count(1)


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM.is_file():
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "the Python package playwright is not installed (pip install playwright; no browser download needed)"
    return None


def run_async(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine to completion from sync code, even if this thread has an event loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _create_users(url: str) -> None:
    from inventory.access import users

    db = Database(url)
    try:
        async with db.write() as session:
            for username, role, display_name, regions in USERS:
                await users.create_user(session, users.UserCreate(
                    username=username, password=PASSWORD, role=role, display_name=display_name,
                    scope_regions=regions))
    finally:
        await db.dispose()


async def _reissue(url: str, code: str) -> str:
    from inventory.store.label_codes import reissue_label

    db = Database(url)
    try:
        async with db.write() as session:
            new: str = await reissue_label(session, code)
        return new
    finally:
        await db.dispose()


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    return response.json()


@dataclass
class LiveServer:
    """The running app, an admin API client, and the ids of what was seeded."""

    base_url: str
    db_url: str
    api: httpx.Client
    depot_id: int = 0  # 南昌县 (360121), keeper1's
    depot_code: str = ""  # its label code
    other_depot_id: int = 0  # 东湖区 (360102), keeper2's
    item_type_id: int = 0  # a serial pump
    tent_type_id: int = 0  # a bulk item (tents, counted by quantity)
    asset: dict[str, Any] = field(default_factory=dict)  # a pump at the 南昌县 depot, never changed by tests

    def create_asset(self, prefix: str = "NCX-PUMP", **fields: Any) -> dict[str, Any]:
        """A new available pump at the 南昌县 depot (tests that change an asset each get their own)."""
        created = _ok(self.api.post("/api/v1/assets", json={
            "item_type_id": self.item_type_id, "serial_number": f"{prefix}-{next(_serials):04d}",
            "location_id": self.depot_id, "readiness": "ok", "battery_pct": 90, "fuel_pct": 75, **fields}), 201)
        asset: dict[str, Any] = _ok(self.api.get(f"/api/v1/assets/{created['id']}"))
        assert asset["label_code"], "a new asset gets a label code"
        return asset

    def on_hand(self, item_type_id: int | None = None) -> int:
        """How many are on hand at the 南昌县 depot (pumps unless told), from GET /api/v1/stock."""
        page = _ok(self.api.get("/api/v1/stock", params={"location_id": self.depot_id,
                                                          "item_type_id": item_type_id or self.item_type_id}))
        assert len(page["items"]) <= 1, page
        return int(page["items"][0]["on_hand"]) if page["items"] else 0

    def stock_card(self) -> dict[str, Any]:
        """The stock card (台账) of pumps at the 南昌县 depot."""
        card: dict[str, Any] = _ok(self.api.get("/api/v1/stock/card", params={
            "location_id": self.depot_id, "item_type_id": self.item_type_id}))
        return card

    def documents(self, kind: str, *, item_type_id: int | None = None, asset_id: int | None = None) -> set[int]:
        """Ids of the documents of this kind at the 南昌县 depot (pumps unless told; of one asset if given)."""
        page = _ok(self.api.get("/api/v1/movements", params={
            "kind": kind, "location_id": self.depot_id, "item_type_id": item_type_id or self.item_type_id,
            "limit": 200}))
        assert page["total"] <= 200, "more movements than one page; raise the limit"
        return {m["document_id"] for m in page["items"] if asset_id is None or m["asset_id"] == asset_id}

    def movement_count(self) -> int:
        """All movements at the 南昌县 depot, any kind and item: a refused write must not change it."""
        total: int = _ok(self.api.get("/api/v1/movements", params={"location_id": self.depot_id, "limit": 1}))["total"]
        return total

    def reissue(self, code: str) -> str:
        """Retire a label and issue a new one for the same thing, through the service layer."""
        new: str = run_async(_reissue(self.db_url, code))
        return new


def _seed(server: LiveServer) -> None:
    token = _ok(server.api.post("/api/v1/auth/token", json={"username": "admin", "password": PASSWORD}), 201)
    server.api.headers["Authorization"] = f"Bearer {token['token']}"
    depot = _ok(server.api.post("/api/v1/locations", json={
        "code": "D-NCX", "name": "南昌县综合应急物资储备库", "kind": "depot", "region_code": "360121",
        "address": "南昌县莲塘镇澄湖北大道", "contact_name": "张保管", "contact_phone": "0791-85700000",
        "lat": 28.5457, "lon": 115.944}), 201)
    server.depot_id = depot["id"]
    server.depot_code = _ok(server.api.get(f"/api/v1/locations/{depot['id']}"))["label_code"]
    assert server.depot_code, "a new location gets a label code"
    server.other_depot_id = _ok(server.api.post("/api/v1/locations", json={
        "code": "D-DHQ", "name": "东湖区应急物资储备点", "kind": "depot", "region_code": "360102",
        "address": "东湖区八一大道", "contact_name": "李保管", "contact_phone": "0791-86600000",
        "lat": 28.68, "lon": 115.90}), 201)["id"]
    server.item_type_id = _ok(server.api.post("/api/v1/item-types", json={
        "code": "PUMP-300", "name": "移动泵车", "unit": "台", "tracking": "serial", "category": "pump",
        "gbt_code": "2040101", "spec": "300 m³/h 扬程 20 m", "tags": ["fast"],
        "attributes": {"flow_m3h": 300, "head_m": 20, "fuel": "diesel"}, "inspection_interval_days": 90}), 201)["id"]
    server.tent_type_id = _ok(server.api.post("/api/v1/item-types", json={
        "code": "TENT-12", "name": "12平方米单帐篷", "unit": "顶", "tracking": "bulk", "category": "shelter"}),
        201)["id"]
    server.asset = server.create_asset("NCX-PUMP-SEED")


def _wait_until_up(proc: subprocess.Popen[bytes], base_url: str, log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(f"{base_url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"server not up after {timeout:.0f} s:\n{log.read_text(errors='replace')}")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``inventory serve`` on a free port over a fresh, migrated and seeded SQLite file."""
    folder = tmp_path_factory.mktemp("browser")
    db_url = f"sqlite+aiosqlite:///{folder / 'inventory.db'}"
    upgrade(db_url)
    run_async(_create_users(db_url))
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "INVENTORY_DATABASE_URL": db_url, "INVENTORY_PUBLIC_URL": base_url,
           "INVENTORY_SECRET_KEY": "browser-tests-secret-key-not-for-production", "PYTHONUNBUFFERED": "1"}
    env.pop("INVENTORY_BOOTSTRAP_ADMIN_PASSWORD", None)
    env.pop("INVENTORY_CORS_ORIGINS", None)
    log = folder / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_until_up(proc, base_url, log)
        with httpx.Client(base_url=base_url, timeout=10.0) as api:
            server = LiveServer(base_url=base_url, db_url=db_url, api=api)
            _seed(server)
            yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session", autouse=True)
def _browser_available() -> None:
    """Skip every browser test, with the reason, when Chromium or Playwright is missing; fail instead in CI."""
    missing = browser_missing()
    if missing is None:
        return
    if REQUIRE_BROWSER:
        pytest.fail(f"INVENTORY_REQUIRE_BROWSER=1 but the browser tests cannot run: {missing}", pytrace=False)
    pytest.skip(f"browser tests skipped: {missing} (INVENTORY_REQUIRE_BROWSER=1 makes this a failure)")


@pytest.fixture(scope="session")
def expect() -> Any:
    """Playwright's ``expect`` (imported here so that the test module imports without Playwright)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium, started once per module.

    Not once per session: while Playwright's sync API is active, its event loop counts as running in
    this thread, and the async tests of later modules (pytest-asyncio) could not start theirs.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def phone(browser: Browser, live_server: LiveServer) -> Iterator[Callable[[], Page]]:
    """``phone()`` → a new page in a fresh 360 × 800 WeChat-like phone browser (its own cookies)."""
    contexts: list[BrowserContext] = []

    def make() -> Page:
        context = browser.new_context(
            base_url=live_server.base_url, viewport={"width": PHONE_WIDTH, "height": 800}, device_scale_factor=2,
            is_mobile=True, has_touch=True, user_agent=WECHAT_UA, locale="zh-CN", timezone_id="Asia/Shanghai")
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def _sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button.primary")


@pytest.fixture(scope="session")
def sign_in() -> Callable[..., None]:
    """``sign_in(page, username)`` fills in and sends the sign-in form the page is showing."""
    return _sign_in


@pytest.fixture
def open_as(phone: Callable[[], Page]) -> Callable[[str, str], Page]:
    """``open_as(username, code)`` → a phone that scanned ``code``, was sent to sign in, and came back."""

    def scan(username: str, code: str) -> Page:
        page = phone()
        page.goto(f"/s/{code}")
        page.wait_for_url(re.compile(r"/login\?next="))
        _sign_in(page, username)
        page.wait_for_url(re.compile(rf"/s/{code}$"))
        return page

    return scan


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """tests/artifacts/ (git-ignored), created on demand."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
