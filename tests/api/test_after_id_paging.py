"""Lists page by key (``after_id``) as well as by offset: following ``next_after_id`` walks every row once.

Each list keeps its own order — by id, newest first, lots by expiry, alerts by status, severity and due day,
stock by (location, item type) — and ``after_id`` continues it from the last row of the page before; the
walk must give the same rows, in the same order, as offset pages. ``after_id`` with an ``offset`` is a 422
naming both fields.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from inventory.store.db import Database
from inventory.store.models import Alert
from tests.api.helpers import assert_problem, item_type_body, location_body

MOVEMENTS = "/api/v1/movements"


async def created(client: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = await client.post(path, json=body)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


def receipt(location: int, item: int, quantity: int, lot: dict[str, Any] | None = None) -> dict[str, Any]:
    line: dict[str, Any] = {"item_type_id": item, "quantity": quantity}
    if lot is not None:
        line["lot"] = lot
    return {"kind": "receipt", "location_id": location, "lines": [line]}


async def populate(client: Any, db: Database) -> dict[str, int]:
    """Some of everything the lists show: places, item types, lots (expiry ties and undated ones), units,
    movements, transfers, incidents, dispatch orders, write-offs and alerts in every status, severity and due day."""
    depots = [(await created(client, "/api/v1/locations", location_body(
        f"D-{n}", name=f"储备库{n}", region_code=region)))["id"]
        for n, region in enumerate(("360121", "360124", "360102", "360121"))]
    shelf = (await created(client, "/api/v1/locations", location_body(
        "D-0-A1", kind="bin", name="A区1号货架", parent_id=depots[0])))["id"]
    bulk = [(await created(client, "/api/v1/item-types", item_type_body(
        code, name=name, unit="件", tracking="bulk", category="flood_control", gbt_code=None, attributes={},
        tags=[])))["id"] for code, name in (("BAG", "编织袋"), ("ROPE", "救生绳"), ("WATER", "饮用水"))]
    pump = (await created(client, "/api/v1/item-types", item_type_body("PUMP-300")))["id"]
    expiries = ["2030-01-01", None, "2028-06-30", "2030-01-01", None, "2027-03-01", "2028-06-30"]
    for n, expiry in enumerate(expiries):
        lot = {"number": f"L-{n}", **({"expiry_date": expiry} if expiry else {})}
        await created(client, MOVEMENTS, receipt([*depots, shelf][n % 5], bulk[n % 2], 10 + n, lot))
    for place in (*depots, shelf):
        await created(client, MOVEMENTS, receipt(place, bulk[2], 100))
    for n in range(5):
        await created(client, "/api/v1/assets", {"item_type_id": pump, "serial_number": f"SN-{n}",
                                                 "location_id": depots[n % 4]})
    for n in range(3):
        await created(client, MOVEMENTS, {"kind": "transfer", "location_id": depots[n], "to_location_id": depots[3],
                                          "lines": [{"item_type_id": bulk[2], "quantity": 5}]})
    incidents = [(await created(client, "/api/v1/incidents", {
        "name": f"内涝{n}", "kind": "waterlogging", "region_code": "360121", "lat": 28.50, "lon": 115.95}))["id"]
        for n in range(3)]
    for n in range(5):
        await created(client, f"/api/v1/incidents/{incidents[n % 3]}/dispatches", {
            "lines": [{"item_type": "WATER", "quantity": 2, "from_location_id": depots[n % 4]}],
            "approval": {"mode": "oral", "approved_by": "值班领导"}})
    for n in range(3):
        await created(client, "/api/v1/write-offs", {"location_id": depots[n], "reason": "霉变",
                                                     "lines": [{"item_type_id": bulk[2], "quantity": 1}]})
    now = dt.datetime.now(dt.UTC)
    async with db.write() as session:
        for n, (state, severity, due) in enumerate([
            ("open", "high", "2026-12-01"), ("open", "normal", None), ("acked", "high", None),
            ("open", "high", "2026-12-01"), ("resolved", "normal", "2026-11-01"), ("open", "normal", "2026-10-01"),
            ("open", "high", None), ("acked", "normal", "2026-12-05"), ("resolved", "high", None),
            ("open", "normal", None), ("open", "high", "2026-11-15"),
        ]):
            session.add(Alert(
                kind="lot_expiring", subject_type="lot", subject_id=n, severity=severity, dedupe_key=f"paging:{n}",
                region_code="360121", location_id=depots[0], title=f"告警{n}",
                due_on=dt.date.fromisoformat(due) if due else None,
                acknowledged_by="admin" if state == "acked" else None,
                acknowledged_at=now if state == "acked" else None, resolved_at=now if state == "resolved" else None))
    return {"depot": depots[0]}


async def walked(client: Any, path: str, params: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    """Every item of a list, from its first page on by following ``next_after_id``."""
    items: list[dict[str, Any]] = []
    after = None
    for _ in range(200):
        r = await client.get(path, params={**params, "limit": limit, **({"after_id": after} if after else {})})
        assert r.status_code == 200, r.text
        page = r.json()
        assert page["offset"] == 0
        assert len(page["items"]) <= limit
        items.extend(page["items"])
        after = page["next_after_id"]
        if after is None:
            return items
        assert page["items"], "a page with a next_after_id has items"
    raise AssertionError("next_after_id never ran out")


async def by_offset(client: Any, path: str, params: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    """Every item of a list by offset pages; each page's ``next_after_id`` names its last row while more follow."""
    items: list[dict[str, Any]] = []
    offset = 0
    while True:
        r = await client.get(path, params={**params, "limit": limit, "offset": offset})
        assert r.status_code == 200, r.text
        page = r.json()
        items.extend(page["items"])
        offset += limit
        if offset >= page["total"]:
            assert page["next_after_id"] is None, page
            assert len(items) == page["total"]
            return items
        assert page["next_after_id"] == key(path, page["items"][-1]), page


def key(path: str, item: dict[str, Any]) -> int:
    """A row's key: its id, or for stock location id × 2³¹ + item type id."""
    if path == "/api/v1/stock":
        return int(item["location_id"]) * 2**31 + int(item["item_type_id"])
    return int(item["id"])


LISTS: list[tuple[str, dict[str, Any], int]] = [
    ("/api/v1/stock", {}, 3),
    ("/api/v1/stock", {"region": "360121"}, 2),
    ("/api/v1/assets", {}, 2),
    ("/api/v1/lots", {}, 2),
    ("/api/v1/lots", {"expiring_before": "2030-01-02"}, 1),
    (MOVEMENTS, {}, 4),
    (MOVEMENTS, {"kind": "transfer"}, 2),
    ("/api/v1/transfers", {}, 2),
    ("/api/v1/transfers", {"status": "in_transit"}, 2),
    ("/api/v1/locations", {}, 2),
    ("/api/v1/item-types", {}, 3),
    ("/api/v1/audit", {}, 7),
    ("/api/v1/audit", {"action": "movements.post"}, 3),
    ("/api/v1/dispatches", {}, 2),
    ("/api/v1/incidents", {}, 2),
    ("/api/v1/alerts", {}, 2),
    ("/api/v1/alerts", {"status": "open"}, 3),
    ("/api/v1/write-offs", {}, 2),
]


async def test_following_next_after_id_walks_every_row_once_in_the_order_of_offset_pages(
        client: Any, db: Database) -> None:
    ids = await populate(client, db)
    lists = [*LISTS, ("/api/v1/stock", {"location_id": ids["depot"], "include_children": "true"}, 1)]
    for path, params, limit in lists:
        walk = [key(path, item) for item in await walked(client, path, params, limit)]
        pages = [key(path, item) for item in await by_offset(client, path, params, limit)]
        assert walk == pages, (path, params)
        assert len(set(walk)) == len(walk), (path, params)
        whole = (await client.get(path, params={**params, "limit": 500})).json()
        assert [key(path, item) for item in whole["items"]] == walk, (path, params)
        assert whole["next_after_id"] is None
        assert len(walk) > limit, (path, params, len(walk))  # the walk went over several pages


async def test_the_alert_order_holds_across_pages(client: Any, db: Database) -> None:
    await populate(client, db)
    alerts = await walked(client, "/api/v1/alerts", {}, 2)
    ranks = [({"open": 0, "acknowledged": 1, "resolved": 2}[a["status"]], a["severity"] != "high",
              a["due_on"] is None, a["due_on"] or "", -a["id"]) for a in alerts]
    assert ranks == sorted(ranks)
    assert len(alerts) == 11


@pytest.mark.parametrize("path", sorted({path for path, _, _ in LISTS}))
async def test_after_id_with_an_offset_is_refused_naming_both(client: Any, path: str) -> None:
    body = assert_problem(await client.get(path, params={"after_id": 1, "offset": 5}), 422, "after_id")
    assert "offset" in [e["field"] for e in body["errors"]], body


async def test_a_bad_after_id_is_422(client: Any, db: Database) -> None:
    await populate(client, db)
    assert_problem(await client.get("/api/v1/lots", params={"after_id": 999_999}), 422, "after_id")
    assert_problem(await client.get("/api/v1/alerts", params={"after_id": 999_999}), 422, "after_id")
    assert_problem(await client.get("/api/v1/assets", params={"after_id": 0}), 422, "after_id")
    assert_problem(await client.get("/api/v1/assets", params={"after_id": 2**31}), 422, "after_id")
    # ordered by id alone, an id past the end is simply the end
    page = (await client.get("/api/v1/assets", params={"after_id": 2**31 - 1})).json()
    assert page["items"] == [] and page["next_after_id"] is None and page["total"] == 5
    # a stock key past the last location's is the end too
    page = (await client.get("/api/v1/stock", params={"after_id": (2**31 - 1) * 2**31 + 2**31 - 1})).json()
    assert page["items"] == [] and page["next_after_id"] is None
