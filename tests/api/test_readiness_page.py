"""The commander's readiness page: counts by state and the units not ready, with their reasons."""

from __future__ import annotations

from typing import Any

from tests.api.test_readiness_http import checks_of, created, make_site
from tests.api.test_scan_pages_http import phone_as  # noqa: F401  (the signed-in page client fixture)


async def test_the_readiness_page_lists_a_faulty_generator_with_its_reason_and_counts_it(
        client: Any, client_as: Any, phone_as: Any) -> None:  # noqa: F811
    s = await make_site(client, client_as)
    await created(s.keeper, checks_of(s.gens[0]), {
        "task": "run_test", "result": "fault", "run_minutes": 4, "load_pct": 30,
        "fault_description": "带载 4 分钟后停机", "performed_at": "2026-01-05T09:00:00+08:00"})
    commander = await phone_as("zhou", "commander", ["3601"])
    page = await commander.client.get("/readiness", params={"region": "3601", "category": "generator"})
    assert page.status_code == 200, page.text
    assert f'data-asset="{s.gens[0]["id"]}" data-state="fault"' in page.text
    assert "带载 4 分钟后停机" in page.text
    assert f'data-asset="{s.gens[1]["id"]}"' not in page.text  # the other generator is ready: not listed
    ready = await commander.client.get("/readiness", params={"region": "3601", "show": "ready"})
    assert f'data-asset="{s.gens[1]["id"]}" data-state="ready"' in ready.text
    bad = await commander.client.get("/readiness", params={"region": "99"})
    assert bad.status_code == 422 and 'id="page-error"' in bad.text
