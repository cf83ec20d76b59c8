"""A dispatch order on the keeper's phone in a real (headless Chromium) browser at 360 px: the home page lists
the order waiting at his depot, he scans the reserved pump and executes it (出库), and nothing scrolls sideways.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.conftest import PHONE_WIDTH

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from tests.browser.conftest import LiveServer

pytestmark = pytest.mark.browser


def _ok(response: Any, status: int = 201) -> Any:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    return response.json()


def _fits(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"the page is {width} px wide at {PHONE_WIDTH} px"


def test_the_keeper_sees_the_waiting_order_scans_the_reserved_pump_and_executes_it(
        phone: Callable[[], Page], sign_in: Callable[..., None], live_server: LiveServer, expect: Any,
        artifacts: Path) -> None:
    api = live_server.api
    pump_type = _ok(api.post("/api/v1/item-types", json={
        "code": "PUMP-DSP", "name": "大流量排涝泵", "unit": "台", "tracking": "serial", "category": "pump",
        "attributes": {"flow_m3h": 1000}}))
    pump = _ok(api.post("/api/v1/assets", json={"item_type_id": pump_type["id"], "serial_number": "NCX-DSP-0001",
                                                 "location_id": live_server.depot_id, "readiness": "ok"}))
    code = _ok(api.get(f"/api/v1/assets/{pump['id']}"), 200)["label_code"]
    incident = _ok(api.post("/api/v1/incidents", json={"name": "蒋巷镇圩堤管涌", "kind": "flood",
                                                       "region_code": "360121", "lat": 28.62, "lon": 116.05}))
    order = _ok(api.post(f"/api/v1/incidents/{incident['id']}/dispatches", json={
        "lines": [{"item_type": "PUMP-DSP", "quantity": 1, "from_location_id": live_server.depot_id}],
        "approval": {"mode": "oral", "approved_by": "县防指值班领导"}}))
    assert [ln["asset_id"] for ln in order["lines"]] == [pump["id"]]

    page = phone()
    page.goto("/")
    page.wait_for_url(re.compile(r"/login\?next="))
    sign_in(page, "keeper1")
    page.wait_for_url(re.compile(r"/$"))
    waiting = page.locator("#waiting-orders")
    expect(waiting.locator(f"[data-dispatch='{order['id']}']")).to_contain_text("蒋巷镇圩堤管涌")
    expect(waiting.locator("[data-count=execute]")).to_have_text("待您出库 1 条")
    expect(waiting).to_contain_text("NCX-DSP-0001")
    _fits(page)
    page.screenshot(path=str(artifacts / "keeper-home-waiting-order-360.png"), full_page=True)

    page.goto(f"/s/{code}")  # what scanning the pump's label opens
    dispatch = page.locator("#dispatch")
    expect(dispatch).to_contain_text(f"动用指令 #{order['id']}")
    expect(dispatch).to_contain_text("蒋巷镇圩堤管涌")
    expect(dispatch.locator("#my-lines")).to_contain_text("NCX-DSP-0001")
    expect(page.locator("details.action > summary")).to_have_text(["动用出库"])
    page.locator("details.action > summary", has_text="动用出库").click()
    form = page.locator("form[data-action=dispatch_execute]")
    form.locator("details.occurred-at > summary").click()
    expect(form.locator("input[name=occurred_at]")).to_be_visible()
    _fits(page)
    page.screenshot(path=str(artifacts / "keeper-dispatch-execute-360.png"), full_page=True)
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/s/{code}\?done=dispatch_execute$"))
    expect(page.locator("p.ok")).to_contain_text("已出库")
    expect(page.locator("[data-status]").first).to_have_text("调拨在途")
    _fits(page)
    unit = _ok(api.get(f"/api/v1/assets/{pump['id']}"), 200)
    assert (unit["status"], unit["location_id"]) == ("in_transit", incident["location_id"])
    assert _ok(api.get(f"/api/v1/dispatches/{order['id']}"), 200)["status"] == "in_transit"

    page.goto(f"/dispatches/{order['id']}")  # the order's page: his line, and signing for it at his own incident
    line = page.locator(f"#dispatch-lines tr[data-line='{order['lines'][0]['id']}']")
    expect(line.locator(".badge.mine")).to_have_text("本辖区")
    expect(page.locator("form[data-step=deliver]")).to_contain_text("NCX-DSP-0001")
    _fits(page)
    page.screenshot(path=str(artifacts / "keeper-dispatch-page-360.png"), full_page=True)
