"""Small builders and checks for HTTP tests: valid bodies, list totals, problem-details answers."""

from __future__ import annotations

import re
from typing import Any

NANCHANG_COUNTY = {"lat": 28.5457, "lon": 115.9440}
PROBLEM = "application/problem+json"
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def location_body(code: str = "D-TEST", **over: Any) -> dict[str, Any]:
    """A valid location body for 南昌县."""
    body: dict[str, Any] = {
        "code": code, "name": "南昌县综合应急物资储备库", "kind": "depot", "region_code": "360121",
        "address": "莲塘镇", "contact_name": "张保管", "contact_phone": "0791-85700000", **NANCHANG_COUNTY,
    }
    body.update(over)
    return body


def item_type_body(code: str = "PUMP-300", **over: Any) -> dict[str, Any]:
    """A valid serial pump item type."""
    body: dict[str, Any] = {
        "code": code, "name": "移动泵车", "unit": "台", "tracking": "serial", "category": "pump",
        "gbt_code": "2040101", "spec": "300 m³/h 扬程 20 m", "tags": ["fast"],
        "attributes": {"flow_m3h": 300, "head_m": 20, "fuel": "diesel"}, "inspection_interval_days": 90,
    }
    body.update(over)
    return body


async def count(client: Any, path: str) -> int:
    """Total of a list endpoint."""
    r = await client.get(path, params={"limit": 1})
    assert r.status_code == 200, r.text
    total: int = r.json()["total"]
    return total


def assert_problem(r: Any, status: int = 422, field: str | None = None) -> dict[str, Any]:
    """A problem+json answer with this status and a Chinese detail, naming ``field`` in its errors; the body.

    ``field`` must match an error's field exactly: the API spells list positions as ``lines.0.quantity``.
    """
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM), r.headers["content-type"]
    body: dict[str, Any] = r.json()
    assert body["status"] == status, body
    assert CHINESE.search(body["detail"]), body
    if field is not None:
        assert field in [e["field"] for e in body.get("errors", [])], body
    return body


async def created(client: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST that must answer 201; the body."""
    r = await client.post(path, json=body)
    assert r.status_code == 201, f"{path}: {r.text}"
    result: dict[str, Any] = r.json()
    return result


async def page_client(client_as: Any, role: str, username: str, **scope: Any) -> Any:
    """A client signed in to the pages through the sign-in form (session cookie, no bearer token)."""
    from tests.conftest import TEST_PASSWORD

    c = await client_as(role, username, **scope)
    del c.headers["Authorization"]
    form = await c.get("/login")
    signed = await c.post("/login", data={"username": username, "password": TEST_PASSWORD, "next": "/",
                                          "_csrf_token": form.cookies["inv_csrf"]})
    assert signed.status_code == 303, signed.text
    return c
