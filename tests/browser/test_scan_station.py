"""The scan station (扫码台) in real headless Chromium at 360 px, on localhost and on a plain-HTTP host name.

The network really goes away (``context.set_offline``) or the service stops answering (``route.abort``);
scans are captured into the outbox meanwhile and sent when the service answers again — each exactly once,
counted through the admin API. ``station.test`` is mapped to 127.0.0.1 by Chromium's host resolver, so the
page is served over plain HTTP from a name that is not localhost: no secure context, hence no service worker
and no ``crypto.randomUUID`` — as on a county intranet or in WeChat on iOS — and everything must still work.
"""

from __future__ import annotations

import io
import json
import random
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from labels.codes import InvalidCode, code_from_payload, display_code, new_code
from labels.qr import qr_matrix
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PASSWORD, PHONE_WIDTH, WECHAT_UA

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Route

    from tests.browser.conftest import LiveServer

pytestmark = pytest.mark.browser
PLAIN_HOST = "station.test"  # resolved to 127.0.0.1 by Chromium (--host-resolver-rules), plain HTTP
HOSTS = ["localhost", PLAIN_HOST]
FLUSH_TIMEOUT = 30_000  # ms: a reconnect is noticed at once ('online'), a lost answer retried after ~1 s
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@pytest.fixture(scope="module")
def station_browser() -> Iterator[Browser]:
    """Headless Chromium that resolves station.test to this machine (instead of the shared ``browser``)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {PLAIN_HOST} 127.0.0.1"])
        try:
            yield chromium
        finally:
            chromium.close()


class Station:
    """A keeper's phone with the station open, and what the tests look at."""

    def __init__(self, context: BrowserContext, page: Page, origin: str) -> None:
        self.context = context
        self.page = page
        self.origin = origin

    def pending(self) -> Any:
        """The on-screen pending count."""
        return self.page.locator("#pending-count")

    def mode(self, action: str) -> None:
        """Choose a mode (the chip, as a person taps it)."""
        self.page.locator(f'input[name="mode"][value="{action}"]').check(force=True)

    def scan(self, text: str) -> None:
        """What a hardware scanner does: type into the focused code field and press Enter."""
        self.page.locator("#code").fill(text)
        self.page.locator("#code").press("Enter")

    def attention(self) -> Any:
        """The 需处理 list's items."""
        return self.page.locator("#attention li[data-key]")


@pytest.fixture
def open_station(station_browser: Browser, live_server: LiveServer) -> Iterator[Callable[..., Station]]:
    """``open_station(host, init_script=None)`` → keeper1 signed in with /station open at 360 px."""
    contexts: list[BrowserContext] = []
    port = urlsplit(live_server.base_url).port

    def make(host: str, init_script: str | None = None) -> Station:
        origin = f"http://{'127.0.0.1' if host == 'localhost' else host}:{port}"
        context = station_browser.new_context(
            base_url=origin, viewport={"width": PHONE_WIDTH, "height": 800}, device_scale_factor=2, is_mobile=True,
            has_touch=True, user_agent=WECHAT_UA, locale="zh-CN", timezone_id="Asia/Shanghai")
        context.set_default_timeout(10_000)
        contexts.append(context)
        if init_script:
            context.add_init_script(init_script)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto("/station")
        page.wait_for_url(re.compile(r"/login\?next="))
        page.fill("#username", "keeper1")
        page.fill("#password", PASSWORD)
        page.click("button.primary")
        page.wait_for_url(re.compile(r"/station$"))
        page.wait_for_selector('#station[data-ready="1"]')
        assert not errors, errors
        return Station(context, page, origin)

    yield make
    for context in contexts:
        context.close()


def _unit_issues(server: LiveServer, asset_ids: set[int]) -> dict[int, list[int]]:
    """Asset id → the issue documents that moved it out of the 南昌县 depot."""
    page = server.api.get("/api/v1/movements", params={"kind": "issue", "location_id": server.depot_id,
                                                        "item_type_id": server.item_type_id, "limit": 200}).json()
    assert page["total"] <= 200
    found: dict[int, list[int]] = {asset: [] for asset in asset_ids}
    for m in page["items"]:
        if m["asset_id"] in asset_ids:
            found[m["asset_id"]].append(m["document_id"])
    return found


def _checks(server: LiveServer, asset_id: int) -> int:
    """How many checks (检查) a unit has on record."""
    total: int = server.api.get(f"/api/v1/assets/{asset_id}/checks", params={"limit": 1}).json()["total"]
    return total


def _wait_sent(station: Station, expect: Any, code: str | None = None) -> None:
    """Until the outbox is empty (after ``code``, when given, was uploaded)."""
    if code:
        expect(station.page.locator("#last")).to_contain_text(f"已上传 {code}", timeout=FLUSH_TIMEOUT)
    expect(station.pending()).to_have_text("0", timeout=FLUSH_TIMEOUT)


@pytest.mark.parametrize("host", HOSTS)
def test_twenty_scans_offline_become_twenty_documents_once_the_network_is_back(
    open_station: Callable[..., Station], live_server: LiveServer, expect: Any, host: str
) -> None:
    """Offline: 20 checkouts captured (count on screen 20, nothing written); online: exactly 20 issues."""
    station = open_station(host)
    page = station.page
    units = [live_server.create_asset(f"OFF-{host}") for _ in range(20)]
    team = f"扫码台离线测试队-{host}"
    station.mode("checkout")
    page.fill("#f-counterparty", team)
    station.context.set_offline(True)
    for n, unit in enumerate(units):
        code = unit["label_code"]
        # As scanners and people give it: the bare code, the label's QR address, grouped and in lower case.
        station.scan([code, f"{live_server.base_url}/s/{code}", display_code(code).lower()][n % 3])
        expect(station.pending()).to_have_text(str(n + 1))
    expect(page.locator("#code-error")).to_be_hidden()
    ids = {unit["id"] for unit in units}
    assert all(not docs for docs in _unit_issues(live_server, ids).values()), "nothing is sent while offline"

    station.context.set_offline(False)
    _wait_sent(station, expect, units[-1]["label_code"])
    issues = _unit_issues(live_server, ids)
    assert all(len(docs) == 1 for docs in issues.values()), issues
    assert len({doc for docs in issues.values() for doc in docs}) == 20
    for unit in units[:3]:
        assert live_server.api.get(f"/api/v1/assets/{unit['id']}").json()["status"] == "deployed"
    expect(page.locator("#last")).to_contain_text("已上传")
    expect(station.attention()).to_have_count(0)


@pytest.mark.parametrize("host", HOSTS)
def test_a_reset_after_the_server_applied_the_write_is_resent_and_written_once(
    open_station: Callable[..., Station], live_server: LiveServer, expect: Any, host: str
) -> None:
    """route.fetch (the server applies it) then abort: the page resends the same key and body → one document."""
    station = open_station(host)
    bodies: list[str] = []

    def reset_the_first(route: Route) -> None:
        bodies.append(route.request.post_data or "")
        if len(bodies) == 1:
            # Playwright's own HTTP client does not know Chromium's host rules: the same request to the address.
            applied = route.fetch(url=route.request.url.replace(f"//{PLAIN_HOST}:", "//127.0.0.1:"))
            assert applied.status == 200, applied.text()
            route.abort("connectionreset")
        else:
            route.continue_()

    station.context.route("**/station/actions", reset_the_first)
    unit = live_server.create_asset(f"RESET-{host}")
    station.mode("checkout")
    station.page.fill("#f-counterparty", f"扫码台断线测试队-{host}")
    station.scan(unit["label_code"])
    _wait_sent(station, expect, unit["label_code"])
    assert len(bodies) == 2, bodies
    assert bodies[0] == bodies[1], "the resend is the same request: same key, same body"
    sent = json.loads(bodies[0])
    assert UUID.match(sent["idempotency_key"]), sent
    assert sent["code"] == unit["label_code"]
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$", sent["occurred_at"]), sent
    assert len(_unit_issues(live_server, {unit["id"]})[unit["id"]]) == 1
    expect(station.page.locator("#last")).to_contain_text("此前已办理")


@pytest.mark.parametrize("host", HOSTS)
def test_refused_actions_land_in_the_attention_list_with_their_reason(
    open_station: Callable[..., Station], live_server: LiveServer, expect: Any, host: str
) -> None:
    """A checkout of a unit already out (403) and a move to where it is (422): 需处理, pending back to 0."""
    station = open_station(host)
    page = station.page
    out = live_server.create_asset(f"OUT-{host}")
    taken = live_server.api.post("/api/v1/movements", json={
        "kind": "issue", "location_id": live_server.depot_id, "counterparty": "别人先领走了",
        "lines": [{"item_type_id": live_server.item_type_id, "quantity": 1, "asset_ids": [out["id"]]}]})
    assert taken.status_code == 201, taken.text
    here = live_server.create_asset(f"HERE-{host}")
    before = live_server.movement_count()

    station.mode("checkout")
    page.fill("#f-counterparty", "扫码台测试队")
    station.scan(out["label_code"])
    station.mode("move")
    page.fill("#f-to", "D-NCX")
    station.scan(here["label_code"])
    expect(station.attention()).to_have_count(2, timeout=FLUSH_TIMEOUT)
    _wait_sent(station, expect)
    refused_out = page.locator(f'#attention li[data-code="{out["label_code"]}"]')
    expect(refused_out).to_contain_text("领用出库")
    expect(refused_out.locator(".reason")).to_contain_text("不能在此办理")
    expect(page.locator(f'#attention li[data-code="{here["label_code"]}"] .reason')).to_contain_text("相同")
    expect(page.locator("#attention-count")).to_have_text("2")
    assert live_server.movement_count() == before, "a refused action changes nothing"

    refused_out.get_by_role("button", name="知道了").click()
    expect(station.attention()).to_have_count(1)
    page.reload()
    page.wait_for_selector('#station[data-ready="1"]')
    expect(station.attention()).to_have_count(1)  # the list outlives a reload until each is dismissed


@pytest.mark.parametrize("host", HOSTS)
def test_a_lost_session_stops_sending_keeps_the_scan_and_resumes_after_signing_in_again(
    open_station: Callable[..., Station], live_server: LiveServer, expect: Any, host: str
) -> None:
    """The session's cookie is gone: 请重新登录, the entry stays; signed in again in another tab, it is sent once."""
    station = open_station(host)
    page = station.page
    unit = live_server.create_asset(f"SIGNIN-{host}")
    station.context.clear_cookies()
    station.mode("checkout")
    page.fill("#f-counterparty", f"扫码台重新登录测试队-{host}")
    station.scan(unit["label_code"])
    expect(page.locator("#signin")).to_be_visible(timeout=FLUSH_TIMEOUT)
    expect(page.locator("#signin")).to_contain_text("重新登录")
    expect(page.locator("#net")).to_have_attribute("data-net", "signed_out")
    expect(station.pending()).to_have_text("1")
    assert _unit_issues(live_server, {unit["id"]}) == {unit["id"]: []}

    tab = station.context.new_page()  # to the home page: a second station would send the outbox itself
    tab.goto("/login?next=/")
    tab.fill("#username", "keeper1")
    tab.fill("#password", PASSWORD)
    tab.click("button.primary")
    tab.wait_for_url(re.compile(r"/$"))
    tab.close()
    page.locator("#flush-now").click()
    _wait_sent(station, expect, unit["label_code"])
    expect(page.locator("#signin")).to_be_hidden()
    assert len(_unit_issues(live_server, {unit["id"]})[unit["id"]]) == 1


@pytest.mark.parametrize("host", HOSTS)
def test_a_typed_code_with_a_wrong_check_character_is_refused_in_the_page_and_never_sent(
    open_station: Callable[..., Station], live_server: LiveServer, expect: Any, host: str
) -> None:
    station = open_station(host)
    page = station.page
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    code = live_server.asset["label_code"]
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    station.mode("inspect")
    station.scan(wrong)
    expect(page.locator("#code-error")).to_contain_text("校验位不符")
    station.scan("A12")
    expect(page.locator("#code-error")).to_contain_text("编码应为 10 位")
    station.scan("http://example.test/other/" + code)
    expect(page.locator("#code-error")).to_contain_text("不是本系统的标签二维码")
    expect(station.pending()).to_have_text("0")
    expect(page.locator("#code")).to_be_focused()
    page.wait_for_timeout(500)
    assert posts == [], "a bad code is never queued or sent"


@pytest.mark.parametrize("host", HOSTS)
def test_the_page_is_a_secure_context_only_on_localhost_and_registers_a_worker_only_there(
    open_station: Callable[..., Station], expect: Any, host: str
) -> None:
    station = open_station(host)
    page = station.page
    secure = page.evaluate("window.isSecureContext")
    has_worker = page.evaluate("'serviceWorker' in navigator")
    has_uuid = page.evaluate("!!(window.crypto && crypto.randomUUID)")
    if host == PLAIN_HOST:
        assert (secure, has_worker, has_uuid) == (False, False, False)
        expect(page.locator("#station")).to_have_attribute("data-sw", "none")
        expect(page.locator("#offline-hint")).to_contain_text("断网时请勿刷新或关闭本页")
    else:
        assert (secure, has_worker, has_uuid) == (True, True, True)
        expect(page.locator("#station")).to_have_attribute("data-sw", "registered")
        scope = page.evaluate("navigator.serviceWorker.ready.then(r => r.active && r.scope)")
        assert scope == f"{station.origin}/station", scope
    expect(page.locator("#station")).to_have_attribute("data-storage", "indexeddb")
    expect(page.locator("#storage-warning")).to_be_hidden()


@pytest.mark.parametrize("host", HOSTS)
def test_a_reload_while_offline_keeps_the_pending_scans(
    open_station: Callable[..., Station], live_server: LiveServer, expect: Any, host: str
) -> None:
    """IndexedDB keeps the outbox across a reload. On localhost the network is off and the service worker
    serves the page; on plain HTTP (no worker: a page cannot be reopened offline there) the service is down."""
    station = open_station(host)
    page = station.page
    units = [live_server.create_asset(f"RELOAD-{host}") for _ in range(2)]
    before = [_checks(live_server, u["id"]) for u in units]
    station.mode("inspect")
    down = lambda route: route.abort("connectionrefused")  # noqa: E731
    if host == PLAIN_HOST:
        station.context.route(re.compile(r"/station/(probe|actions)$"), down)
    else:
        page.evaluate("navigator.serviceWorker.ready")
        station.context.set_offline(True)
        # And the page itself unreachable: the reload below can only come from the service worker's copy.
        station.context.route(re.compile(r"/station$"), down)
    for unit in units:
        station.scan(unit["label_code"])
    expect(station.pending()).to_have_text("2")
    page.reload()
    page.wait_for_selector('#station[data-ready="1"]')
    expect(station.pending()).to_have_text("2")
    expect(page.locator("#pending li[data-key]")).to_have_count(2)
    if host == PLAIN_HOST:
        station.context.unroute(re.compile(r"/station/(probe|actions)$"), down)
        page.locator("#flush-now").click()
    else:
        station.context.unroute(re.compile(r"/station$"), down)
        station.context.set_offline(False)
    _wait_sent(station, expect)
    assert [_checks(live_server, u["id"]) - b for u, b in zip(units, before, strict=True)] == [1, 1]


def test_without_indexeddb_the_outbox_falls_back_to_local_storage_then_to_memory_with_a_warning(
    open_station: Callable[..., Station], live_server: LiveServer, expect: Any
) -> None:
    no_idb = "Object.defineProperty(window, 'indexedDB', {value: undefined, configurable: true});"
    station = open_station(PLAIN_HOST, init_script=no_idb)
    page = station.page
    expect(page.locator("#station")).to_have_attribute("data-storage", "localstorage")
    expect(page.locator("#storage-warning")).to_be_hidden()
    unit = live_server.create_asset("LOCAL")
    down = lambda route: route.abort("connectionrefused")  # noqa: E731
    station.context.route(re.compile(r"/station/(probe|actions)$"), down)
    station.mode("inspect")
    station.scan(unit["label_code"])
    expect(station.pending()).to_have_text("1")
    page.reload()
    page.wait_for_selector('#station[data-ready="1"]')
    expect(station.pending()).to_have_text("1")
    station.context.unroute(re.compile(r"/station/(probe|actions)$"), down)
    page.locator("#flush-now").click()
    _wait_sent(station, expect)

    no_storage = no_idb + ("Object.defineProperty(window, 'localStorage', {configurable: true, get() {"
                           " throw new DOMException('denied', 'SecurityError'); }});")
    memory = open_station(PLAIN_HOST, init_script=no_storage)
    expect(memory.page.locator("#station")).to_have_attribute("data-storage", "memory")
    expect(memory.page.locator("#storage-warning")).to_be_visible()
    expect(memory.page.locator("#storage-warning")).to_have_text("存储不可用：关闭页面会丢失未上传的记录")
    other = live_server.create_asset("MEMORY")
    memory.mode("inspect")
    memory.scan(other["label_code"])
    _wait_sent(memory, expect, other["label_code"])


def _photo_of(payload: str) -> bytes:
    """A phone photo of a label's QR code: grey background, off-centre, slightly turned."""
    from PIL import Image, ImageDraw

    matrix = qr_matrix(payload)
    module = 9
    size = (len(matrix) + 8) * module
    symbol = Image.new("L", (size, size), 255)
    draw = ImageDraw.Draw(symbol)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                draw.rectangle([(x + 4) * module, (y + 4) * module, (x + 5) * module - 1, (y + 5) * module - 1],
                               fill=20)
    turned = symbol.rotate(7, expand=True, fillcolor=255)
    photo = Image.new("L", (2000, 1500), 150)
    photo.paste(turned, (900, 400))
    out = io.BytesIO()
    photo.convert("RGB").save(out, format="JPEG", quality=88)
    return out.getvalue()


@pytest.mark.parametrize("host", HOSTS)
def test_a_photo_of_the_label_is_decoded_in_the_page(
    open_station: Callable[..., Station], live_server: LiveServer, expect: Any, host: str
) -> None:
    """The photo button (a file input, no camera API): jsQR reads the QR's address and the code is captured."""
    station = open_station(host)
    page = station.page
    unit = live_server.create_asset(f"PHOTO-{host}")
    before = _checks(live_server, unit["id"])
    station.mode("inspect")
    photo = page.locator("#photo")
    assert photo.get_attribute("accept") == "image/*"
    assert photo.get_attribute("capture") == "environment"
    photo.set_input_files({"name": "label.jpg", "mimeType": "image/jpeg",
                           "buffer": _photo_of(f"{live_server.base_url}/s/{unit['label_code']}")})
    _wait_sent(station, expect, unit["label_code"])
    assert _checks(live_server, unit["id"]) == before + 1

    photo.set_input_files({"name": "blank.jpg", "mimeType": "image/jpeg", "buffer": _blank_photo()})
    expect(page.locator("#code-error")).to_contain_text("没有识别到二维码", timeout=15_000)
    expect(station.pending()).to_have_text("0")


def _blank_photo() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (800, 600), (150, 150, 150)).save(out, format="JPEG")
    return out.getvalue()


def _payloads() -> list[str]:
    """Codes made by the Python side, right and wrong, as typed, scanned and photographed."""
    rng = random.Random(19)
    texts: list[str] = ["", " ", "A", "A12", "B" + new_code("asset", rng)[1:], "/s/", "http://x/s/", "http://x/",
                        "ＡＢＣ", "A0000000000", "a-b-c", "\x1cA\x1d", "\ufeffA"]
    for _ in range(120):
        kind = rng.choice(["asset", "lot", "location"])
        code = new_code(kind, rng)  # type: ignore[arg-type]
        position = rng.randrange(1, len(code))
        other = rng.choice("0123456789ABCDEFGHJKMNPQRSTVWXYZUIOL")
        texts += [
            code, code.lower(), display_code(code), f" {display_code(code).lower()} ",
            code[:position] + other + code[position + 1:],  # one character wrong (or the same)
            code[:position - 1] + code[position] + code[position - 1] + code[position + 1:],  # a swap
            code.replace("0", "O").replace("1", rng.choice("IL")),  # look-alikes
            "".join(chr(ord(c) + 0xFEE0) for c in code),  # full-width, as a Chinese keyboard types it
            code[:-1], code + "Z", code[:4] + " " + code[4:] + "\u3000",
            f"http://192.168.1.20:8080/s/{code}", f"https://inventory.test/s/{code}/",
            f"http://inventory.test/s/{code}?from=label#top", f"/s/{code}", f"http://inventory.test/s/{code}/x",
            f"http://inventory.test/labels/{code}", f"HTTP://INVENTORY.TEST/s/%{ord(code[0]):02X}{code[1:]}",
        ]
    return texts


def _python_answer(text: str) -> list[str]:
    try:
        return ["ok", code_from_payload(text)]
    except InvalidCode as exc:
        return ["err", exc.reason_zh]


def test_the_page_checks_label_codes_exactly_as_the_service_does(
    open_station: Callable[..., Station],
) -> None:
    """labels/codes.py's check ported to JavaScript: the same code or the same Chinese reason for every text."""
    station = open_station(PLAIN_HOST)
    texts = _payloads()
    assert len(texts) > 2000
    answers = station.page.evaluate("""texts => texts.map(text => {
        try { return ["ok", StationCodes.codeFromPayload(text)]; }
        catch (e) { if (!e.reasonZh) throw e; return ["err", e.reasonZh]; }
    })""", texts)
    expected = [_python_answer(text) for text in texts]
    differ = [(t, a, e) for t, a, e in zip(texts, answers, expected, strict=True) if a != e]
    assert not differ, differ[:10]
    assert sum(1 for e in expected if e[0] == "ok") > 600
    assert sum(1 for e in expected if e[0] == "err") > 600
    assert {e[1] for e in expected if e[0] == "err"} >= {"校验位不符，可能输错或看错了一个字符", "编码为空"}


@pytest.mark.parametrize("host", HOSTS)
def test_the_station_fits_a_360_px_phone(
    open_station: Callable[..., Station], live_server: LiveServer, artifacts: Any, expect: Any, host: str
) -> None:
    station = open_station(host)
    page = station.page
    units = [live_server.create_asset(f"SHOT-{host}") for _ in range(2)]
    station.context.set_offline(True)  # entries stay pending: the screenshot shows the outbox (never sent)
    station.mode("inspect")
    for unit in units:
        station.scan(unit["label_code"])
    expect(station.pending()).to_have_text("2")
    station.mode("checkout")
    expect(page.locator("#f-counterparty")).to_be_visible()
    expect(page.locator("#f-to")).to_be_hidden()
    station.mode("move")
    expect(page.locator("#f-to")).to_be_visible()
    expect(page.locator("#f-counterparty")).to_be_hidden()
    expect(page.locator("#pending-count")).to_be_in_viewport()
    expect(page.locator("#last")).to_be_in_viewport()
    page.mouse.wheel(0, 2000)
    page.wait_for_timeout(200)
    expect(page.locator("#pending-count")).to_be_in_viewport()  # the bar stays on screen
    page.mouse.wheel(0, -2000)
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"horizontal scroll at 360 px: {width}"
    page.screenshot(path=str(artifacts / f"station-360-{'plain' if host == PLAIN_HOST else 'localhost'}.png"),
                    full_page=True)
