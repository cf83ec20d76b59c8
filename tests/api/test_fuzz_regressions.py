"""What the schemathesis run (tests/fuzz/run_fuzz.py) found: each case once answered 500 or broke the schema.

Every bad input here must be a 4xx problem+json with a Chinese detail, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import random
from typing import Any

from labels.codes import new_code
from tests.api.helpers import assert_problem

NANCHANG_COUNTY = {"lat": 28.5457, "lon": 115.9440}
BEYOND_INT64 = 8933103906272203121514474635264  # "Python int too large to convert to SQLite INTEGER"
BEYOND_INT32 = 2**31  # PostgreSQL INTEGER columns: "value out of int32 range"


def location_body(code: str, **over: Any) -> dict[str, Any]:
    return {"code": code, "name": "南昌县综合应急物资储备库", "kind": "depot", "region_code": "360121",
            **NANCHANG_COUNTY, **over}


ID_PATHS = [
    "/api/v1/documents/{n}", "/api/v1/transfers/{n}", "/api/v1/assets/{n}", "/api/v1/item-types/{n}",
    "/api/v1/locations/{n}", "/api/v1/users/{n}", "/api/v1/incidents/{n}", "/api/v1/dispatches/{n}",
    "/api/v1/stocktakes/{n}",
    "/api/v1/transfers?location_id={n}", "/api/v1/assets?item_type_id=1&location_id={n}",
    "/api/v1/movements?document_id={n}", "/api/v1/stock?location_id={n}",
    "/api/v1/stock/card?location_id={n}&item_type_id=1", "/api/v1/locations?parent={n}",
    "/api/v1/dispatches?incident={n}",
]


async def test_an_id_out_of_range_is_a_422_not_a_database_overflow(client: Any) -> None:
    for path in ID_PATHS:
        for big in (BEYOND_INT64, -BEYOND_INT64, BEYOND_INT32, 0):
            body = assert_problem(await client.get(path.format(n=big)))
            assert body["errors"][0]["source"] in ("path", "query"), (path, big, body)


ID_BODIES: list[tuple[str, dict[str, Any]]] = [
    ("/api/v1/movements", {"kind": "receipt", "location_id": BEYOND_INT64,
                           "lines": [{"item_type_id": 1, "quantity": 1}]}),
    ("/api/v1/movements", {"kind": "receipt", "location_id": 1,
                           "lines": [{"item_type_id": 1, "quantity": 1, "asset_ids": [BEYOND_INT32]}]}),
    ("/api/v1/assets", {"item_type_id": BEYOND_INT32, "serial_number": "SN-1"}),
    ("/api/v1/locations", location_body("D-BIG", parent_id=BEYOND_INT64)),
    ("/api/v1/users", {"username": "big", "password": "0123456789ab", "role": "keeper",
                       "scope_locations": [BEYOND_INT64]}),
    ("/api/v1/labels/sheets", {"location_id": BEYOND_INT64}),
]


async def test_an_id_out_of_range_in_a_body_is_a_422(client: Any) -> None:
    for path, body in ID_BODIES:
        assert_problem(await client.post(path, json=body))


TIME_FILTERS = [
    "/api/v1/movements?since=0001-01-01T00:00:00%2B08:00",
    "/api/v1/movements?until=9999-12-31T23:59:59-08:00",
    "/api/v1/stock/card?location_id=1&item_type_id=1&since=9999-12-31T23:59:59-08:00",
    "/api/v1/audit?since=0001-01-01T00:00:00",
    "/api/v1/movements?until=0.5",  # a Unix timestamp was taken for a time (1970-01-01)
    "/api/v1/audit?until=0.5",
]


async def test_a_time_filter_out_of_range_or_not_rfc3339_is_a_422(client: Any) -> None:
    for path in TIME_FILTERS:
        body = assert_problem(await client.get(path))
        assert body["errors"][0]["field"] in ("since", "until"), (path, body)


async def test_a_time_out_of_range_in_a_body_is_a_422(client: Any) -> None:
    for when in ("0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-08:00"):
        r = await client.post("/api/v1/assets", json={"item_type_id": 1, "serial_number": "SN-T",
                                                       "last_inspected_at": when})
        body = assert_problem(r)
        assert body["errors"][0]["field"] == "last_inspected_at"


NUL_TEXT: list[tuple[str, str, Any]] = [
    ("POST", "/api/v1/locations", location_body("D-NUL", name="储备库\x00")),
    ("GET", "/api/v1/locations?q=a%00b", None),
    ("GET", "/api/v1/regions/36%00", None),
    ("POST", "/api/v1/auth/token", {"username": "ad\x00min", "password": "whatever-it-is"}),
]


async def test_text_with_a_nul_character_is_a_422(client: Any) -> None:
    """PostgreSQL cannot hold NUL in text (a 500 there); SQLite stored it. Now refused on both."""
    for method, path, body in NUL_TEXT:
        assert_problem(await client.request(method, path, json=body))


async def test_user_text_longer_than_its_column_is_a_422(client: Any) -> None:
    """PostgreSQL enforces VARCHAR lengths: a long display name or phone was a 500 there."""
    base = {"password": "0123456789ab", "role": "keeper"}
    assert_problem(await client.post("/api/v1/users", json={**base, "username": "u1", "display_name": "名" * 65}))
    assert_problem(await client.post("/api/v1/users", json={**base, "username": "u2", "phone": "1" * 31}))


async def test_a_refused_write_is_audited_even_when_what_it_sent_does_not_fit_a_column(client: Any) -> None:
    """An over-long Idempotency-Key, or NUL in an unknown field's name, made the audit insert fail (PostgreSQL)."""
    r = await client.post("/api/v1/locations", json=location_body("D-AUD"), headers={"Idempotency-Key": "k" * 150})
    assert_problem(r)
    r = await client.post("/api/v1/locations", json={**location_body("D-AUD"), "od\x00d": 1})
    assert_problem(r)
    entries = (await client.get("/api/v1/audit", params={"outcome": "rejected",
                                                         "action": "locations.write"})).json()["items"]
    assert len(entries) == 2, entries
    assert {len(e["idempotency_key"] or "") for e in entries} == {0, 100}
    assert any("\\x00" in e["summary"] for e in entries)


async def test_options_lists_every_method_of_the_path(client: Any) -> None:
    """Litestar 2 listed only the methods of the first handler registered on a path (litestar#4169)."""
    for path, allow in [("/api/v1/assets", "GET, OPTIONS, POST"), ("/api/v1/assets/1", "GET, OPTIONS, PATCH"),
                        ("/api/v1/movements", "GET, OPTIONS, POST")]:
        r = await client.options(path)
        assert r.status_code == 204
        assert r.headers["allow"] == allow


async def test_the_openapi_document_declares_the_problem_answers(client: Any) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    get_asset = paths["/api/v1/assets/{asset_id}"]["get"]["responses"]
    assert {"200", "401", "404", "422"} <= set(get_asset)
    assert "400" not in get_asset  # Litestar's "Validation Exception" 400: validation is a 422 here
    assert set(get_asset["422"]["content"]) == {"application/problem+json"}
    post_movement = paths["/api/v1/movements"]["post"]["responses"]
    assert {"201", "400", "401", "403", "404", "409", "422"} <= set(post_movement)
    assert "429" in paths["/api/v1/auth/token"]["post"]["responses"]
    assert "410" in paths["/api/v1/scan/{code}"]["get"]["responses"]
    assert paths["/health"]["get"]["security"] == [{}]
    assert "image/*" in paths["/api/v1/labels/{filename}"]["get"]["responses"]["200"]["content"]
    assert "application/pdf" in paths["/api/v1/labels/sheets"]["post"]["responses"]["200"]["content"]


async def test_sheets_for_a_location_whose_name_has_a_control_character_download(client: Any) -> None:
    """Found by the fuzzer: a name with \\x0b made variance.xlsx (and sheet.xlsx) answer 500."""
    from tests.api.helpers import location_body

    loc = (await client.post("/api/v1/locations", json=location_body("D-CTRL", name="库\x0b房"))).json()
    st = (await client.post("/api/v1/stocktakes", json={"location_id": loc["id"], "period": "2026Q4",
                                                         "counted_by": "张\x01三"})).json()
    for suffix in ("sheet.xlsx", "variance.xlsx"):
        r = await client.get(f"/api/v1/stocktakes/{st['id']}/{suffix}")
        assert r.status_code == 200, r.text
        assert r.content[:2] == b"PK"


async def test_a_label_sheet_naming_an_unknown_location_or_code_is_a_422_naming_the_field(client: Any) -> None:
    # Was an undocumented 404 (schemathesis ST103): the request body names the missing row.
    body = assert_problem(await client.post("/api/v1/labels/sheets", json={"location_id": 2147483646,
                                                                            "item_type_id": 1}))
    assert body["errors"][0]["field"] == "location_id"
    loc = (await client.post("/api/v1/locations", json=location_body("D-LBL"))).json()
    assert (await client.post("/api/v1/labels/sheets", json={"location_id": loc["id"]})).status_code == 200
    never_issued = new_code("location", random.Random(7))  # well formed, check character right, unknown
    r = await client.post("/api/v1/labels/sheets", json={"location_id": loc["id"], "codes": [never_issued]})
    body = assert_problem(r)
    assert body["errors"][0]["field"] == "codes.0"


async def test_an_id_in_a_path_is_digits_only(client: Any) -> None:
    """Python's int() also reads " 9", "+9", "1_0" and "９" as numbers: the path "/stocktakes/9%20" answered the
    stocktake 9 (schemathesis, PostgreSQL run). Such a path names nothing, like "/stocktakes/abc"."""
    made = await client.post("/api/v1/locations", json=location_body("D-DIGITS"))
    assert made.status_code == 201, made.text
    n = made.json()["id"]
    assert (await client.get(f"/api/v1/locations/{n}")).status_code == 200
    expected = (await client.get("/api/v1/locations/abc")).status_code
    assert expected in (400, 404, 422)
    for loose in (f"{n}%20", f"%20{n}", f"+{n}", f"0_{n}", "%EF%BC%91", f"{n}%09"):
        r = await client.get(f"/api/v1/locations/{loose}")
        assert r.status_code == expected, (loose, r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/problem+json"), loose
