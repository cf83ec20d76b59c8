"""The scan pages in a real (headless Chromium) phone browser against the real app under uvicorn.

What a depot keeper does: scan a label, sign in, land back on the thing, tap an action. These tests
drive exactly that at 360 px and check the outcome through the HTTP API (stock, stock card, movements).
Without Chromium or Playwright the conftest skips them all (or fails them with INVENTORY_REQUIRE_BROWSER=1).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest

from api.auth import SESSION_COOKIE
from labels.codes import ALPHABET, new_code

if TYPE_CHECKING:
    from playwright.sync_api import Page, Route

    from tests.browser.conftest import LiveServer

pytestmark = pytest.mark.browser
PHONE_WIDTH = 360
Phone = Callable[[], "Page"]
OpenAs = Callable[[str, str], "Page"]
CHECKOUT = "form[data-action=checkout] button[type=submit]"
BEIJING = dt.timezone(dt.timedelta(hours=8))


def _no_horizontal_overflow(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"the page is {width} px wide on a {PHONE_WIDTH} px screen (scrolls sideways)"


def _open_action(page: Page, action_zh: str) -> None:
    page.locator("details.action > summary", has_text=action_zh).click()


def test_scan_sign_in_and_check_out(phone: Phone, sign_in: Callable[..., None], live_server: LiveServer,
                                    expect: Any) -> None:
    """Scan → sign in → back on the pump → 领用出库; the ledger shows one issue and the new running balance."""
    # Inspected at 20:30 UTC ten days ago: in 南昌 that was 04:30 the next morning.
    inspected = dt.datetime.combine(dt.datetime.now(dt.UTC).date() - dt.timedelta(days=10), dt.time(20, 30),
                                    dt.UTC)
    asset = live_server.create_asset(last_inspected_at=inspected.isoformat())
    code = asset["label_code"]
    on_hand_before = live_server.on_hand()
    card_before = live_server.stock_card()

    page = phone()
    page.goto(f"/s/{code}")
    url = urlsplit(page.url)
    assert url.path == "/login", f"not signed in, a scan should go to the sign-in page, not {page.url}"
    assert parse_qs(url.query).get("next") == [f"/s/{code}"], page.url
    expect(page.locator("h1")).to_have_text("登录")

    sign_in(page, "keeper1")
    page.wait_for_url(re.compile(rf"/s/{code}$"))
    session = [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE]
    assert len(session) == 1
    assert session[0]["httpOnly"]
    status = page.locator("[data-status]")
    expect(status).to_have_attribute("data-status", "available")
    expect(status).to_have_text("可用")
    expect(page.locator("h1")).to_have_text("移动泵车")
    expect(page.locator("dd.code")).to_have_text(code)
    last_check = page.locator("dl.facts dt:text-is('上次检查') + dd")
    expect(last_check).to_have_text((inspected + dt.timedelta(days=1)).date().isoformat())

    _open_action(page, "领用出库")
    page.fill("#cp-checkout", "向塘镇防汛抢险队")
    page.fill("#rs-checkout", "向塘镇内涝排水")
    page.click(CHECKOUT)

    page.wait_for_url(re.compile(rf"/s/{code}\?done=checkout$"))
    expect(page.locator("p.ok")).to_have_text("已领用出库")
    expect(page.locator("p.err")).to_have_count(0)
    expect(status).to_have_attribute("data-status", "deployed")
    expect(status).to_have_text("已出库使用")
    expect(page.locator("details.action > summary", has_text="领用出库")).to_have_count(0)

    assert live_server.on_hand() == on_hand_before - 1
    card = live_server.stock_card()
    new_lines = card["lines"][len(card_before["lines"]):]
    assert len(new_lines) == 1, new_lines
    line = new_lines[0]
    assert (line["kind"], line["asset_id"], line["quantity"]) == ("issue", asset["id"], -1), line
    assert line["balance"] == card_before["closing"] - 1 == on_hand_before - 1, line
    assert card["closing"] == line["balance"]
    # The page lists the issue first among recent movements, at its time in Beijing (not UTC).
    at = dt.datetime.fromisoformat(line["created_at"]).astimezone(BEIJING)
    newest = page.locator("div.card", has_text="最近流水").locator("tr").first
    expect(newest).to_contain_text(at.strftime("%m-%d %H:%M"))
    expect(newest).to_contain_text(line["document_number"])
    expect(newest).to_contain_text("-1")
    assert live_server.api.get(f"/api/v1/assets/{asset['id']}").json()["status"] == "deployed"


def test_double_click_on_submit_makes_one_movement(open_as: OpenAs, live_server: LiveServer, expect: Any) -> None:
    """A double tap on 确认领用出库 issues the pump once, and the keeper sees it done (not an error)."""
    asset = live_server.create_asset()
    code = asset["label_code"]
    on_hand_before = live_server.on_hand()
    page = open_as("keeper1", code)
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)

    _open_action(page, "领用出库")
    page.fill("#cp-checkout", "莲塘镇抢险突击队")
    page.dblclick(CHECKOUT)
    page.wait_for_url(re.compile(rf"/s/{code}\?done=checkout$"))
    page.wait_for_load_state("networkidle")

    # Chromium folds two submissions in one moment into one request; the next test makes both reach the server.
    assert 1 <= len(posts) <= 2, posts
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "deployed")
    expect(page.locator("p.ok")).to_have_text("已领用出库")
    expect(page.locator("p.err")).to_have_count(0)
    assert len(live_server.documents("issue", asset_id=asset["id"])) == 1
    assert live_server.on_hand() == on_hand_before - 1


def test_second_tap_while_the_first_is_on_its_way_makes_one_receipt(
        open_as: OpenAs, live_server: LiveServer, expect: Any) -> None:
    """Slow network: the first 入库 reaches the server, the page has not changed yet, the keeper taps again.

    Both requests reach the server with the form's idempotency key; one receipt is posted and the keeper
    sees 已入库. Receiving stays allowed after a receipt, so only the key can stop a second one here.
    """
    tents = live_server.tent_type_id
    before = live_server.on_hand(tents)
    receipts_before = live_server.documents("receipt", item_type_id=tents)
    page = open_as("keeper1", live_server.depot_code)
    answers: list[int] = []
    held: list[Route] = []

    def slow_network(route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
        elif not held:  # the first: the server gets it now, the phone only "later" (never: the next tap wins)
            answers.append(route.fetch(max_redirects=0).status)
            held.append(route)
        else:
            answers.append(0)
            route.continue_()

    page.route(re.compile(r"/s/"), slow_network)
    _open_action(page, "入库")
    page.select_option("#it-receive", str(tents))
    page.fill("#q3", "40")
    box = page.locator("form[data-action=receive] button[type=submit]").bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.touchscreen.tap(x, y)
    for _ in range(250):
        if held:
            break
        page.wait_for_timeout(20)
    assert held, "the first submission never left the phone"
    assert answers == [303], answers
    page.touchscreen.tap(x, y)  # the page still shows the form: tap again
    # (not wait_for_url: the first navigation, given up by the second tap, fails with ERR_ABORTED)
    expect(page).to_have_url(re.compile(rf"/s/{live_server.depot_code}\?done=receive$"))

    assert len(answers) == 2, "both taps reached the server"
    expect(page.locator("p.ok")).to_have_text("已入库")
    expect(page.locator("p.err")).to_have_count(0)
    assert len(live_server.documents("receipt", item_type_id=tents) - receipts_before) == 1
    assert live_server.on_hand(tents) == before + 40


def test_keeper_outside_scope_sees_no_actions_and_forged_post_is_refused(
        open_as: OpenAs, live_server: LiveServer, expect: Any) -> None:
    """keeper2 (东湖区) may look at a 南昌县 pump but not check it out, not even by posting the form by hand."""
    asset = live_server.asset
    code = asset["label_code"]
    page = open_as("keeper2", code)

    expect(page.locator("[data-status]")).to_have_attribute("data-status", "available")
    expect(page.locator("details.action")).to_have_count(0)
    expect(page.locator("form[data-action]")).to_have_count(0)
    expect(page.locator("main")).to_contain_text("只能查看")

    movements_before = live_server.movement_count()
    csrf = page.locator("input[name=_csrf_token]").first.get_attribute("value")
    assert csrf, "the page carries a CSRF token (in the sign-out form)"
    forged = page.request.post(f"/s/{code}", form={
        "_csrf_token": csrf, "action": "checkout", "idempotency_key": "f" * 32, "counterparty": "冒名领用",
        "reason": ""}, max_redirects=0)
    assert forged.status == 403, forged.text()
    # Refused by the scan page (the scan page again, with the reason), not by the CSRF check, which is
    # a 403 too but a JSON problem ("CSRF token verification failed"): the forged form itself was valid.
    assert forged.headers["content-type"].startswith("text/html"), forged.headers
    body = forged.text()
    assert 'class="err"' in body
    assert code in body
    assert "CSRF" not in body
    assert live_server.movement_count() == movements_before
    assert live_server.documents("issue", asset_id=asset["id"]) == set()
    assert live_server.api.get(f"/api/v1/assets/{asset['id']}").json()["status"] == "available"


def test_screenshot_of_asset_page_at_360_px(open_as: OpenAs, live_server: LiveServer, artifacts: Path,
                                            expect: Any) -> None:
    """A 360 px wide screenshot for people to look at (tests/artifacts/); the page never scrolls sideways."""
    page = open_as("keeper1", live_server.asset["label_code"])
    expect(page.locator("details.action")).not_to_have_count(0)
    assert page.viewport_size == {"width": PHONE_WIDTH, "height": 800}
    _no_horizontal_overflow(page)
    shot = artifacts / "asset-page-360.png"
    shot.unlink(missing_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    assert shot.is_file()
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 10_000

    _open_action(page, "领用出库")
    _no_horizontal_overflow(page)
    page.screenshot(path=str(artifacts / "asset-page-360-checkout.png"), full_page=True)


def test_wrong_unknown_and_retired_codes_get_clear_answers(open_as: OpenAs, live_server: LiveServer,
                                                           expect: Any) -> None:
    """Wrong check character → 422, never issued → 404, re-issued label → 410 and a link to the new code."""
    real = live_server.create_asset()["label_code"]
    wrong_check = real[:-1] + next(c for c in ALPHABET if c != real[-1])
    unknown = new_code("asset")
    retired = live_server.create_asset()["label_code"]
    replacement = live_server.reissue(retired)
    assert replacement != retired

    page = open_as("keeper1", real)
    answers: dict[str, tuple[int, str]] = {}
    for name, code in (("wrong", wrong_check), ("unknown", unknown), ("retired", retired)):
        response = page.goto(f"/s/{code}")
        assert response is not None
        answers[name] = (response.status, page.locator("main").inner_text())
        _no_horizontal_overflow(page)

    assert answers["wrong"][0] == 422, answers["wrong"]
    assert "校验位" in answers["wrong"][1]
    assert answers["unknown"][0] == 404, answers["unknown"]
    assert "没有这个标签" in answers["unknown"][1]
    assert answers["retired"][0] == 410, answers["retired"]
    assert "已停用" in answers["retired"][1]
    assert replacement in answers["retired"][1]
    link = page.locator(f"a[href='/s/{replacement}']")
    expect(link).to_be_visible()
    link.click()
    page.wait_for_url(re.compile(rf"/s/{replacement}$"))
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "available")
    expect(page.locator("dd.code")).to_have_text(replacement)

    api = live_server.api
    r = api.get(f"/api/v1/scan/{wrong_check}")
    assert r.status_code == 422, r.text
    assert "校验位" in r.text
    r = api.get(f"/api/v1/scan/{unknown}")
    assert r.status_code == 404, r.text
    assert "没有这个标签" in r.text
    r = api.get(f"/api/v1/scan/{retired}")
    assert r.status_code == 410, r.text
    assert r.json()["replaced_by"] == replacement
    assert api.get(f"/api/v1/scan/{replacement}").status_code == 200


def test_page_is_usable_at_360_px(open_as: OpenAs, live_server: LiveServer, expect: Any) -> None:
    """Inputs and the primary button fit a 360 px phone without zooming, and are big enough to tap."""
    page = open_as("keeper1", live_server.asset["label_code"])
    viewport = page.locator("meta[name=viewport]").get_attribute("content") or ""
    assert "width=device-width" in viewport
    assert "user-scalable=no" not in viewport

    _open_action(page, "领用出库")
    field = page.locator("#cp-checkout")
    button = page.locator(CHECKOUT)
    expect(field).to_be_visible()
    expect(button).to_be_visible()
    button.scroll_into_view_if_needed()
    expect(button).to_be_in_viewport()

    box = button.bounding_box()
    assert box is not None
    assert 280 <= box["width"] <= PHONE_WIDTH, box
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE_WIDTH, box
    assert box["height"] >= 44, f"the button is {box['height']} px tall: too small to tap reliably"
    field_box = field.bounding_box()
    assert field_box is not None
    assert field_box["x"] >= 0
    assert field_box["x"] + field_box["width"] <= PHONE_WIDTH, field_box
    assert field_box["height"] >= 40, field_box
    # Phones zoom into an input whose text is smaller than 16 px when it gets focus.
    for control in (field, page.locator("#rs-checkout")):
        assert float(control.evaluate("e => getComputedStyle(e).fontSize").removesuffix("px")) >= 16
    _no_horizontal_overflow(page)

    field.tap()
    page.keyboard.type("向塘镇")
    expect(field).to_have_value("向塘镇")
