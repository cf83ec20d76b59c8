"""The demo's draft pre-positioning plan (前置计划) in real Chromium: its page fits a phone (360 px) and a desktop
(1280 px) without sideways scroll, draws its coverage (Leaflet over the same markers and lines as the server's
SVG), and another commander approves it with the 审批 button.

The server is the commander screen's (:mod:`tests.browser.test_commander`): the 南昌市 demo loaded through the
service layer, one commander ``chief`` (scope 3601) who did not write the demo plan; served afresh for this
module, so approving here leaves the commander screen's screenshots with a draft.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser import test_commander as screen

if TYPE_CHECKING:
    from playwright.sync_api import Page

demo_server = screen.demo_server  # the fixtures of the commander screen, a server of this module's own
commander = screen.commander
DemoServer = screen.DemoServer


def draft_plan(server: DemoServer) -> tuple[int, int]:
    """The demo's draft plan: (id, number of lines)."""
    rows = server.sql("SELECT p.id, count(l.id) FROM plans p JOIN plan_lines l ON l.plan_id = p.id "
                      "WHERE p.status = 'draft' GROUP BY p.id ORDER BY p.id LIMIT 1")
    assert rows, "the demo has a draft plan with lines"
    return int(rows[0][0]), int(rows[0][1])


@pytest.mark.parametrize("phone", [False, True], ids=["1280", "360"])
def test_the_demo_plan_fits_the_screen_and_draws_its_points_sites_and_lines(
    commander: Callable[..., Page], demo_server: DemoServer, artifacts: Path, phone: bool,
) -> None:
    plan_id, n_lines = draft_plan(demo_server)
    page = commander(phone=phone)
    response = page.goto(f"/plans/{plan_id}")
    assert response is not None and response.status == 200
    page.wait_for_selector(".leaflet-host .map-icon")
    svg = page.locator("#plan-map")
    markers = svg.locator("g.marker").count()
    covered = svg.locator("g.marker[data-kind='risk_covered']").count()
    uncovered = svg.locator("g.marker[data-kind='risk_uncovered']").count()
    assert covered >= 1 and uncovered >= 1, (covered, uncovered)
    assert svg.locator("g.line").count() == n_lines
    assert page.locator(".leaflet-host .map-icon").count() == markers, "Leaflet shows the SVG's markers"
    assert page.locator("#uncovered-points tbody tr").count() == uncovered
    assert page.locator("#plan-lines tbody tr").count() == n_lines
    assert page.locator("#plan-status").inner_text() == "草稿"
    screen.no_page_wide_scroll(page)
    page.screenshot(path=str(artifacts / f"plan-{'360' if phone else '1280'}.png"), full_page=True)
    assert page.errors == []  # type: ignore[attr-defined]


def test_another_commander_approves_the_demo_plan_with_the_button(
    commander: Callable[..., Page], demo_server: DemoServer,
) -> None:
    plan_id, _ = draft_plan(demo_server)
    author = demo_server.sql("SELECT author FROM plans WHERE id = ?", plan_id)[0][0]
    assert author != screen.COMMANDER
    page = commander(phone=True)
    page.goto(f"/plans/{plan_id}")
    page.click("#approve button")
    page.wait_for_url(f"**/plans/{plan_id}?done=approve")
    assert page.locator("#plan-status").inner_text() == "已审批"
    assert "已审批，可以执行" in page.locator("#page-done").inner_text()
    assert page.locator("#approve").count() == 0 and page.locator("#execute button").is_visible()
    status, approver = demo_server.sql("SELECT status, approved_by FROM plans WHERE id = ?", plan_id)[0]
    assert (status, approver) == ("approved", screen.COMMANDER)
    screen.no_page_wide_scroll(page)
    assert page.errors == []  # type: ignore[attr-defined]
