"""Relief distribution (救灾物资发放) on the keeper's phone in a real (headless Chromium) browser at 360 px: he hands
two tents to a household at the incident's staging place, the same household is refused the second time in the
same round (409, a Chinese message naming it, nothing changes), and accepted with a reason. The ID number typed is
never shown back whole.
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

GB11643_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
GB11643_CHECK = "10X98765432"


def _resident_id(first17: str) -> str:
    """An 18-character resident ID number with its GB 11643 (ISO 7064 mod 11-2) check character."""
    assert len(first17) == 17 and first17.isdigit()
    total = sum(int(digit) * weight for digit, weight in zip(first17, GB11643_WEIGHTS, strict=True))
    return first17 + GB11643_CHECK[total % 11]


def _ok(response: Any, status: int = 201) -> Any:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    return response.json()


def _fits(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"the page is {width} px wide at {PHONE_WIDTH} px"


def _tents_at(server: LiveServer, location_id: int) -> int:
    page = _ok(server.api.get("/api/v1/stock", params={"location_id": location_id,
                                                       "item_type_id": server.tent_type_id}), 200)
    return sum(int(row["on_hand"]) for row in page["items"])


def _distributions(server: LiveServer, incident_id: int) -> int:
    total: int = _ok(server.api.get(f"/api/v1/incidents/{incident_id}/distributions"), 200)["total"]
    return total


def _fill(page: Page, number: str, reason: str = "") -> None:
    """The household, round 1 and two tents; the ID number is typed again each time (the page never keeps it)."""
    form = page.locator("#relief-form")
    form.locator("input[name=head_name]").fill("万桂英")
    form.locator("input[name=id_number]").fill(number)
    form.locator("input[name=village]").fill("蒋巷镇联圩村")
    form.locator("input[name=size]").fill("4")
    form.locator("input[name=round]").fill("1")
    form.locator("select[name=item_1]").select_option("TENT-12")
    form.locator("input[name=qty_1]").fill("2")
    form.locator("input[name=reason]").fill(reason)


def test_a_household_is_refused_the_second_time_in_a_round_and_accepted_with_a_reason(
        phone: Callable[[], Page], sign_in: Callable[..., None], live_server: LiveServer, expect: Any,
        artifacts: Path) -> None:
    api = live_server.api
    incident = _ok(api.post("/api/v1/incidents", json={"name": "蒋巷镇联圩内涝", "kind": "waterlogging",
                                                       "region_code": "360121", "lat": 28.62, "lon": 116.05}))
    site = incident["location_id"]
    _ok(api.post("/api/v1/movements", json={"kind": "receipt", "location_id": site, "lines": [
        {"item_type_id": live_server.tent_type_id, "quantity": 10}]}))
    assert _tents_at(live_server, site) == 10
    number = _resident_id("36012119780312042")
    assert number[-1] in "0123456789X"
    here = f"/incidents/{incident['id']}/relief"

    page = phone()
    page.goto(here)
    page.wait_for_url(re.compile(r"/login\?next="))
    sign_in(page, "keeper1")
    page.wait_for_url(re.compile(rf"{here}$"))
    expect(page.locator("#relief-form select[name=item_1]")).to_contain_text("12平方米单帐篷（可发 10顶）")
    _fits(page)

    # First time: handed out, listed by the last four only.
    _fill(page, number)
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith(here)) as first:
        page.locator("#relief-form button[type=submit]").click()
    assert first.value.status == 303
    page.wait_for_url(re.compile(rf"{here}\?done=\d+$"))
    expect(page.locator("#relief-done")).to_contain_text("已发放并登记：万桂英")
    expect(page.locator("#relief-done")).to_contain_text(f"身份证后四位 {number[-4:]}")
    expect(page.locator("#relief-done")).to_contain_text("12平方米单帐篷 2顶")
    listed = page.locator("#relief-recent li[data-distribution]")
    expect(listed).to_have_count(1)
    expect(listed.first).to_contain_text("万桂英")
    expect(listed.first).to_contain_text(f"后四位 {number[-4:]}")
    assert number not in page.content() and number.lower() not in page.content()
    assert _tents_at(live_server, site) == 8
    assert _distributions(live_server, incident["id"]) == 1
    _fits(page)

    # Second time in the same round, no reason: refused with 409, named in Chinese, nothing changes.
    _fill(page, number)
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith(here)) as refused:
        page.locator("#relief-form button[type=submit]").click()
    assert refused.value.status == 409
    error = page.locator("#relief-error")
    expect(error).to_contain_text(f"万桂英（身份证后四位 {number[-4:]}）")
    expect(error).to_contain_text("在本事件第 1 轮已领取过12平方米单帐篷，不能重复发放")
    expect(error).to_contain_text("请填写重复发放原因")
    expect(error).to_have_attribute("data-field", "household")
    assert number not in page.content() and number.lower() not in page.content()
    expect(page.locator("#relief-form input[name=head_name]")).to_have_value("万桂英")  # kept for the retry
    expect(page.locator("#relief-form input[name=id_number]")).to_have_value("")  # never shown back
    expect(page.locator("#relief-recent li[data-distribution]")).to_have_count(1)
    assert _tents_at(live_server, site) == 8
    assert _distributions(live_server, incident["id"]) == 1
    _fits(page)
    page.screenshot(path=str(artifacts / "keeper-relief-refused-360.png"), full_page=True)

    # With a reason: accepted.
    _fill(page, number, reason="帐篷被风刮坏，补发")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith(here)) as again:
        page.locator("#relief-form button[type=submit]").click()
    assert again.value.status == 303
    page.wait_for_url(re.compile(rf"{here}\?done=\d+$"))
    expect(page.locator("#relief-done")).to_contain_text("已发放并登记：万桂英")
    expect(page.locator("#relief-error")).to_have_count(0)
    expect(page.locator("#relief-recent li[data-distribution]")).to_have_count(2)
    expect(page.locator("#relief-recent li[data-distribution]").first).to_contain_text("重复发放：帐篷被风刮坏，补发")
    assert number not in page.content() and number.lower() not in page.content()
    assert _tents_at(live_server, site) == 6
    assert _distributions(live_server, incident["id"]) == 2
    _fits(page)
    page.screenshot(path=str(artifacts / "keeper-relief-360.png"), full_page=True)
