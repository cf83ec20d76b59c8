"""Text filters match what was typed: ``%`` and ``_`` are characters, not LIKE wildcards.

``q=%`` and ``q=_`` used to match every row of a list (locations, item types, regions, asset serial
numbers, audit targets), on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from typing import Any

from inventory.access.audit import AuditRecord, record
from inventory.store.db import Database
from tests.api.helpers import item_type_body, location_body


async def created(client: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """A write that must succeed; its body."""
    r = await client.post(path, json=body)
    assert r.status_code == 201, f"setup {path}: {r.text}"
    result: dict[str, Any] = r.json()
    return result


async def listed(client: Any, path: str, **query: Any) -> list[dict[str, Any]]:
    """Every item a list answers for this query."""
    r = await client.get(path, params={"limit": 500, **query})
    assert r.status_code == 200, r.text
    assert r.json()["total"] == len(r.json()["items"])
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def test_percent_and_underscore_in_q_match_only_locations_that_contain_them(client: Any) -> None:
    for code, name in (("D-PCT", "100%覆盖储备点"), ("D_UND", "莲塘镇储备点"), ("D-PLAIN", "向塘镇储备点")):
        await created(client, "/api/v1/locations", location_body(code, name=name))
    assert [loc["code"] for loc in await listed(client, "/api/v1/locations", q="%")] == ["D-PCT"]
    assert [loc["code"] for loc in await listed(client, "/api/v1/locations", q="_")] == ["D_UND"]
    assert [loc["code"] for loc in await listed(client, "/api/v1/locations", q="D_")] == ["D_UND"]
    assert len(await listed(client, "/api/v1/locations", q="储备点")) == 3  # plain text still matches as before


async def test_percent_and_underscore_in_q_match_only_item_types_that_contain_them(client: Any) -> None:
    await created(client, "/api/v1/item-types", item_type_body("PUMP_300"))
    await created(client, "/api/v1/item-types", item_type_body("PUMP-500", name="大流量泵车 50%"))
    await created(client, "/api/v1/item-types", item_type_body("PUMP-800"))
    assert [it["code"] for it in await listed(client, "/api/v1/item-types", q="_")] == ["PUMP_300"]
    assert [it["code"] for it in await listed(client, "/api/v1/item-types", q="%")] == ["PUMP-500"]
    assert len(await listed(client, "/api/v1/item-types", q="PUMP")) == 3


async def test_percent_and_underscore_in_q_match_no_region_name(client: Any) -> None:
    assert await listed(client, "/api/v1/regions", q="%") == []
    assert await listed(client, "/api/v1/regions", q="_") == []
    assert "360121" in [r["code"] for r in await listed(client, "/api/v1/regions", q="南昌县")]


async def test_an_underscore_in_a_serial_filter_matches_only_serials_that_contain_it(client: Any) -> None:
    depot = (await created(client, "/api/v1/locations", location_body()))["id"]
    pump = (await created(client, "/api/v1/item-types", item_type_body()))["id"]
    for serial in ("BC_001", "BC-002", "BC%003"):
        await created(client, "/api/v1/assets", {"item_type_id": pump, "serial_number": serial, "location_id": depot})
    assert [a["serial_number"] for a in await listed(client, "/api/v1/assets", serial="_")] == ["BC_001"]
    assert [a["serial_number"] for a in await listed(client, "/api/v1/assets", serial="%")] == ["BC%003"]
    assert len(await listed(client, "/api/v1/assets", serial="BC")) == 3


async def test_an_underscore_as_audit_target_matches_no_entry_of_other_targets(client: Any, db: Database) -> None:
    async with db.write() as session:
        for ids in ("7,34", "5"):
            await record(session, AuditRecord(user_id=None, username="system", role="admin", client_ip="", action="x",
                                              method="POST", path="/x", target_type="document", target_ids=ids,
                                              outcome="ok", status_code=201))
    assert await listed(client, "/api/v1/audit", target="_") == []
    assert await listed(client, "/api/v1/audit", target="%") == []
    assert [e["target_ids"] for e in await listed(client, "/api/v1/audit", target="document:7")] == ["7,34"]
