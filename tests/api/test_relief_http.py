"""Relief distributions over HTTP: the API (problem details, idempotent retries, the register .xlsx) and the relief
page as a keeper's phone without script uses it — including a household refused the second time."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import openpyxl
from sqlalchemy import func, select

from inventory.relief.ids import check_character
from inventory.store import idempotency
from inventory.store.db import Database
from inventory.store.models import Distribution, IdempotencyKey, Movement
from tests.api import snapshot
from tests.api.helpers import CHINESE, PROBLEM, item_type_body
from tests.api.test_write_offs_page import forms, page_client

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
KEEPER_SCOPE = {"scope_regions": ["360121"]}


def resident_id(seq: int) -> str:
    """A valid 18-character resident ID number (GB 11643 check character)."""
    first17 = f"36012119850615{seq:03d}"
    return first17 + check_character(first17)


async def setup(admin: Any, *, quilts: int = 30, tents: int = 5) -> dict[str, int]:
    """An open incident in 南昌县 whose staging place holds quilts and tents (through the API)."""
    ids = {}
    kinds = (("BED-QUILT", "棉被", "床", "bedding"), ("TENT-12", "救灾帐篷", "顶", "shelter"))
    for code, name, unit, category in kinds:
        r = await admin.post("/api/v1/item-types", json=item_type_body(
            code, name=name, unit=unit, tracking="bulk", category=category, gbt_code=None, attributes={}, tags=[],
            inspection_interval_days=None))
        assert r.status_code == 201, r.text
        ids[code] = r.json()["id"]
    r = await admin.post("/api/v1/incidents", json={"name": "向塘镇内涝", "kind": "waterlogging",
                                                    "region_code": "360121", "lat": 28.50, "lon": 115.95})
    assert r.status_code == 201, r.text
    incident, site = r.json()["id"], r.json()["location_id"]
    r = await admin.post("/api/v1/movements", json={"kind": "receipt", "location_id": site, "lines": [
        {"item_type_id": ids["BED-QUILT"], "quantity": quilts}, {"item_type_id": ids["TENT-12"], "quantity": tents}]})
    assert r.status_code == 201, r.text
    return {"incident": incident, "site": site, "quilt": ids["BED-QUILT"], "tent": ids["TENT-12"]}


def body(number: str, *items: tuple[str, int], name: str = "张三", village: str = "八一村", round: int = 1,
         reason: str = "") -> dict[str, Any]:
    return {"household": {"head_name": name, "id_number": number, "village": village, "size": 4},
            "lines": [{"item_type": code, "quantity": qty} for code, qty in items], "round": round, "reason": reason}


async def on_hand(admin: Any, site: int, item: int) -> int:
    rows = (await admin.get("/api/v1/stock", params={"location_id": site, "item_type_id": item})).json()
    return int(sum(r["on_hand"] for r in rows["items"]))


async def counted(db: Database, model: Any) -> int:
    async with db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_keeper_distributes_and_the_second_time_is_a_409_problem_that_changes_nothing(
    client: Any, client_as: Any, db: Database,
) -> None:
    w = await setup(client)
    keeper = await client_as("keeper", "keeper-ncx", **KEEPER_SCOPE)
    path = f"/api/v1/incidents/{w['incident']}/distributions"
    number = resident_id(1)
    r = await keeper.post(path, json=body(number, ("BED-QUILT", 2), ("TENT-12", 1)))
    assert r.status_code == 201, r.text
    d = r.json()
    assert (d["household"]["id_last4"], d["round"], d["location_id"]) == (number[-4:], 1, w["site"])
    assert [(ln["item_code"], ln["quantity"]) for ln in d["lines"]] == [("BED-QUILT", 2), ("TENT-12", 1)]
    assert number not in r.text
    assert (await on_hand(client, w["site"], w["quilt"]), await on_hand(client, w["site"], w["tent"])) == (28, 4)
    doc = (await client.get(f"/api/v1/documents/{d['document_id']}")).json()
    assert (doc["kind"], doc["number"], doc["reference"]) == ("issue", d["document_number"], f"RELIEF-{w['incident']}")

    before = await snapshot.state(db)
    again = await keeper.post(path, json=body(number, ("BED-QUILT", 1)))
    assert again.status_code == 409, again.text
    assert again.headers["content-type"].startswith(PROBLEM)
    problem = again.json()
    assert "张三" in problem["detail"] and number[-4:] in problem["detail"] and "棉被" in problem["detail"]
    assert CHINESE.search(problem["detail"]) and number not in again.text
    assert problem["errors"][0]["field"] == "household" and problem["item_type_ids"] == [w["quilt"]]
    assert snapshot.changed(before, await snapshot.state(db)) == []

    ok = await keeper.post(path, json=body(number, ("BED-QUILT", 1), reason="家中新增一名老人"))
    assert ok.status_code == 201 and ok.json()["reason"] == "家中新增一名老人"
    listed = (await client.get(path, params={"village": "八一村", "round": 1})).json()
    assert listed["total"] == 2 and [x["id"] for x in listed["items"]] == [ok.json()["id"], d["id"]]
    assert (await client.get(path, params={"round": 2})).json()["total"] == 0
    totals = (await client.get(f"{path}/totals")).json()
    assert (totals["households"], totals["people"], totals["distributions"]) == (1, 4, 2)
    assert [(i["item_code"], i["quantity"]) for i in totals["items"]] == [("BED-QUILT", 3), ("TENT-12", 1)]
    assert totals["villages"] == [{"village": "八一村", "households": 1, "distributions": 2, "rounds": [1]}]


async def test_refusals_are_problem_details_with_the_field_scope_and_state(
    client: Any, client_as: Any, db: Database,
) -> None:
    w = await setup(client, tents=1)
    path = f"/api/v1/incidents/{w['incident']}/distributions"
    good = resident_id(2)
    wrong = good[:17] + ("1" if good[17] == "0" else "0")
    r = await client.post(path, json=body(wrong, ("BED-QUILT", 1)))
    assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["errors"][0]["field"] == "household.id_number" and wrong not in r.text
    outsider = await client_as("keeper", "keeper-dhq", scope_regions=["360102"])
    assert (await outsider.post(path, json=body(good, ("BED-QUILT", 1)))).status_code == 403
    auditor = await client_as("auditor", "auditor")
    assert (await auditor.post(path, json=body(good, ("BED-QUILT", 1)))).status_code == 403
    short = await client.post(path, json=body(good, ("TENT-12", 2)))
    assert short.status_code == 409 and short.json()["requested"] == 2 and short.json()["available"] == 1
    assert (await client.post("/api/v1/incidents/999999/distributions", json=body(good, ("BED-QUILT", 1)))
            ).status_code == 404
    assert (await client.post(f"/api/v1/incidents/{w['incident']}/close")).status_code == 200
    closed = await client.post(path, json=body(good, ("BED-QUILT", 1)))
    assert closed.status_code == 409 and "已关闭" in closed.json()["detail"]
    assert await counted(db, Distribution) == 0


async def test_an_idempotent_retry_hands_out_once_and_its_fingerprint_hides_the_id_number(
    client: Any, client_as: Any, db: Database,
) -> None:
    w = await setup(client)
    keeper = await client_as("keeper", "keeper-ncx", **KEEPER_SCOPE)
    path = f"/api/v1/incidents/{w['incident']}/distributions"
    number = resident_id(3)
    raw = json.dumps(body(number, ("BED-QUILT", 2))).encode()
    headers = {"Idempotency-Key": "relief-retry-1", "content-type": "application/json"}
    first = await keeper.post(path, content=raw, headers=headers)
    movements = await counted(db, Movement)
    second = await keeper.post(path, content=raw, headers=headers)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.headers.get("Idempotent-Replayed") == "true" and second.json() == first.json()
    assert "Idempotent-Replayed" not in first.headers
    assert (await counted(db, Distribution), await counted(db, Movement)) == (1, movements)
    assert await on_hand(client, w["site"], w["quilt"]) == 28
    # The key's stored fingerprint is not a plain hash of a body holding the number (that could be tried out).
    async with db.read() as s:
        stored = set(await s.scalars(select(IdempotencyKey.request_hash)))
    assert stored and idempotency.request_fingerprint("POST", path, raw) not in stored
    # The same key with another household is still told apart: a 409, nothing handed out.
    other = await keeper.post(path, json=body(resident_id(4), ("BED-QUILT", 2)), headers=headers)
    assert other.status_code == 409 and await counted(db, Distribution) == 1


async def test_the_register_workbook_lists_the_village_and_round_with_a_signature_column(client: Any) -> None:
    w = await setup(client)
    path = f"/api/v1/incidents/{w['incident']}/distributions"
    for seq, name, village, items in ((4, "赵一", "八一村", (("BED-QUILT", 2), ("TENT-12", 1))),
                                      (5, "钱二", "八一村", (("BED-QUILT", 3),)),
                                      (6, "孙三", "新联村", (("BED-QUILT", 1),))):
        assert (await client.post(path, json=body(resident_id(seq), *items, name=name, village=village))
                ).status_code == 201
    r = await client.get(f"{path}/register.xlsx", params={"village": "八一村", "round": 1})
    assert r.status_code == 200 and r.headers["content-type"].startswith(XLSX)
    assert "relief-register" in r.headers["content-disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    header_at = next(i for i, row in enumerate(values) if row[0] == "序号")
    header = values[header_at]
    assert "签领人签字" in header and "身份证号（后四位）" in header
    people = [row for row in values[header_at + 1:] if isinstance(row[0], int)]
    assert [(row[1], row[2], row[4], row[5]) for row in people] == [
        ("赵一", resident_id(4)[-4:], "棉被（床）", 2), ("钱二", resident_id(5)[-4:], "棉被（床）", 3)]
    assert all(row[header.index("签领人签字")] is None for row in people)
    assert not any("孙三" in str(v) for row in values for v in row)
    assert not any(resident_id(4) in str(v) for row in values for v in row)
    assert (await client.get(f"{path}/register.xlsx", params={"village": "八一村"})).status_code == 422
    assert (await client.get(f"{path}/register.xlsx", params={"village": "八一村", "round": 0})).status_code == 422


def _done_id(location: str) -> int:
    match = re.search(r"done=(\d+)", location)
    assert match, location
    return int(match.group(1))


async def test_the_page_form_hands_out_once_and_refuses_the_same_household_the_second_time(
    client: Any, client_as: Any, db: Database,
) -> None:
    w = await setup(client)
    keeper = await page_client(client_as, "keeper", "keeper-page", **KEEPER_SCOPE)
    here = f"/incidents/{w['incident']}/relief"
    page = await keeper.get(here)
    assert page.status_code == 200, page.text
    assert 'id="relief-form"' in page.text and "棉被（可发 30床）" in page.text
    fields = forms(page.text)[here]
    number = resident_id(7)
    fields.update({"head_name": "张三", "id_number": number.lower(), "village": "八一村", "size": "4",
                   "phone": "13900000000", "round": "1", "item_1": "BED-QUILT", "qty_1": "2", "item_2": "TENT-12",
                   "qty_2": "1", "occurred_at": "2026-07-01T09:30"})
    r = await keeper.post(here, data=fields)
    assert r.status_code == 303, r.text
    twice = await keeper.post(here, data=fields)  # a double tap: same form, same key
    assert twice.status_code == 303 and _done_id(twice.headers["location"]) == _done_id(r.headers["location"])
    assert await counted(db, Distribution) == 1
    shown = await keeper.get(r.headers["location"])
    assert "已发放并登记" in shown.text and number[-4:] in shown.text and number.upper() not in shown.text.upper()
    assert await on_hand(client, w["site"], w["quilt"]) == 28
    listed = (await client.get(f"/api/v1/incidents/{w['incident']}/distributions")).json()["items"]
    assert listed[0]["occurred_at"].startswith("2026-07-01T01:30")  # 09:30 北京时间, as typed

    before = await snapshot.state(db)
    refill = forms(shown.text)[here]
    refill.update({**{k: v for k, v in fields.items() if k not in ("idempotency_key", "_csrf_token")},
                   "item_2": "", "qty_2": ""})
    refused = await keeper.post(here, data=refill)
    assert refused.status_code == 409
    assert "已领取过" in refused.text and "张三" in refused.text and number[-4:] in refused.text
    assert number.upper() not in refused.text.upper() and 'value="张三"' in refused.text
    assert snapshot.changed(before, await snapshot.state(db)) == []

    refill["id_number"] = number[:17] + ("1" if number[17] == "0" else "0")
    bad = await keeper.post(here, data={**refill, "reason": "补发"})
    assert bad.status_code == 422 and "校验位" in bad.text and 'data-field="household.id_number"' in bad.text
    refill["id_number"] = number
    again = await keeper.post(here, data={**refill, "reason": "被褥被水泡，补发一床"})
    assert again.status_code == 303 and await counted(db, Distribution) == 2


async def test_the_commander_reads_totals_and_downloads_a_register_from_the_page(
    client: Any, client_as: Any,
) -> None:
    w = await setup(client)
    path = f"/api/v1/incidents/{w['incident']}/distributions"
    assert (await client.post(path, json=body(resident_id(8), ("BED-QUILT", 2), village="新联村"))).status_code == 201
    chief = await page_client(client_as, "commander", "chief")
    here = f"/incidents/{w['incident']}/relief"
    page = await chief.get(here)
    assert page.status_code == 200 and 'id="relief-form"' not in page.text
    assert "新联村" in page.text and "1</strong> 户" in page.text
    link = re.search(r'href="([^"]*register\.xlsx[^"]*)"', page.text)
    assert link, page.text
    r = await chief.get(link.group(1).replace("&amp;", "&"))
    assert r.status_code == 200 and r.headers["content-type"].startswith(XLSX)
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
    assert any(c.value == "签领人签字" for row in sheet.iter_rows() for c in row)
    incident_page = await chief.get(f"/incidents/{w['incident']}")
    assert f'href="{here}"' in incident_page.text
    assert (await chief.get("/incidents/999999/relief")).status_code == 404
