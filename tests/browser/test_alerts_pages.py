"""The alerts pages in real Chromium on the 南昌市 demo: the commander's /alerts at 1280 and 360 px (no sideways
scroll, the count in the nav), acknowledging one alert with the 确认 button, and the home page's open alerts."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from inventory.alerts.config import AlertConfig
from inventory.alerts.runner import run_alerts
from inventory.store.db import Database
from tests.browser.conftest import run_async
from tests.browser.test_commander import DemoServer, commander, demo_server, no_page_wide_scroll  # noqa: F401

if TYPE_CHECKING:
    from playwright.sync_api import Page


async def _compute(db_file: Path) -> None:
    """What the server's timer does at start, done here so the test does not wait for it."""
    db = Database(f"sqlite+aiosqlite:///{db_file}")
    try:
        await run_alerts(db, AlertConfig(), "http://inventory.test", send=False)
    finally:
        await db.dispose()


def nav_count(page: Page) -> int:
    text = page.locator("#nav-alerts .badge").inner_text()
    return int(text)


@pytest.mark.parametrize("phone", [False, True], ids=["1280", "360"])
def test_the_commander_reads_and_acknowledges_alerts(
    commander: Callable[..., Page], demo_server: DemoServer, artifacts: Path, phone: bool,  # noqa: F811
) -> None:
    run_async(_compute(demo_server.db_file))
    expected = demo_server.sql(
        "SELECT count(*) FROM alerts WHERE resolved_at IS NULL AND acknowledged_at IS NULL "
        "AND region_code LIKE '3601%'")[0][0]
    assert expected > 10, "the demo has a realistic list"
    page = commander(phone=phone)
    page.goto("/alerts")
    rows = page.locator("#alert-list tbody tr[data-alert]")
    assert rows.count() == min(expected, 50)
    assert nav_count(page) == expected
    assert rows.nth(0).locator(".badge.sev-high").count() == 1, "the serious ones first"
    no_page_wide_scroll(page)
    page.screenshot(path=str(artifacts / f"commander-alerts-{'360' if phone else '1280'}.png"), full_page=True)

    first = rows.nth(0).get_attribute("data-alert")
    rows.nth(0).locator("button", has_text="确认").click()
    page.wait_for_url(re.compile(r"/alerts\?.*done=ack"))
    assert "告警已确认" in page.locator("p.ok").inner_text()
    assert nav_count(page) == expected - 1
    assert page.locator(f'#alert-list tr[data-alert="{first}"]').count() == 0
    page.goto("/alerts?status=acknowledged")
    assert page.locator(f'#alert-list tr[data-alert="{first}"]').count() == 1

    page.goto("/")
    assert page.locator("#my-alerts li").count() > 0
    no_page_wide_scroll(page)
    assert page.errors == []  # type: ignore[attr-defined]
