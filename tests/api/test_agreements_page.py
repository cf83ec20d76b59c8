"""The agreement-reserve pages (协议储备) over HTTP on both databases, as a commander's phone reads them: the list
with its filters, one agreement with its terms, lines, checks and call-offs, recording a check or a drill through
the form (once per form, bad input named and nothing recorded, refused for a keeper); and agreement sources on
the availability page and the map.

Agreements are recorded through the service layer (as the API does) on a real database; the pages are read and
posted through the real application with a session cookie and the CSRF token.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

from sqlalchemy import func, select, update

from inventory.access.scope import Principal
from inventory.agreements import service
from inventory.agreements.schemas import AgreementCreate, AgreementLineCreate
from inventory.clock import beijing_today
from inventory.store.db import Database
from inventory.store.models import AgreementCallOff, AgreementCheck, AgreementCheckCount, AgreementLine
from tests.api.helpers import NANCHANG_COUNTY, item_type_body, location_body
from tests.api.test_scan_pages_http import phone_as  # noqa: F401  (the signed-in phone fixture)

TODAY = beijing_today()
ADMIN = Principal(user_id=0, username="admin", display_name="admin", role="admin", scope_regions=(),
                  scope_locations=(), token_id=0)


@dataclass
class Site:
    """Two firms' warehouses (南昌县, 东湖区), pumps and tents, and four agreements, one in each status."""

    vendor: int
    other_vendor: int
    pump: int
    tent: int
    expiring: int
    valid: int
    expired: int
    pending: int


async def created(client: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = await client.post(path, json=body)
    assert r.status_code == 201, f"setup {path}: {r.text}"
    result: dict[str, Any] = r.json()
    return result


def days(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


async def agreement(db: Database, number: str, vendor: int, lines: list[tuple[int, int]], **over: Any) -> int:
    """An agreement recorded through the service; its id."""
    body: dict[str, Any] = {
        "number": number, "name": f"{number} 应急物资代储协议", "vendor_location_id": vendor, "kind": "physical",
        "valid_from": days(-20), "valid_until": days(300), "response_hours": 6.0,
        "lines": [AgreementLineCreate(item_type_id=i, quantity=q) for i, q in lines],
        "delivery_point": "南昌县莲塘镇应急物资集结点", "price_mechanism": "market", "rotation_by": "vendor",
        "contact_name": "李经理", "contact_phone": "0791-8888 1234", **over}
    async with db.write() as session:
        a = await service.create_agreement(session, AgreementCreate(**body), ADMIN)
        return a.id


async def build(admin: Any, db: Database) -> Site:
    vendor = (await created(admin, "/api/v1/locations", location_body(
        "V-NCX", name="江西某泵业有限公司仓库", kind="vendor", region_code="360121", lat=28.50, lon=115.99)))["id"]
    other = (await created(admin, "/api/v1/locations", location_body(
        "V-DHQ", name="南昌某帐篷厂", kind="vendor", region_code="360102", lat=28.68, lon=115.90)))["id"]
    pump = (await created(admin, "/api/v1/item-types", item_type_body()))["id"]
    tent = (await created(admin, "/api/v1/item-types", item_type_body(
        "TENT-12", name="12平方米单帐篷", unit="顶", tracking="bulk", category="shelter", gbt_code=None,
        attributes={}, tags=[], inspection_interval_days=None)))["id"]
    expiring = await agreement(db, "XY-2026-001", vendor, [(pump, 5), (tent, 100)], valid_until=days(10))
    valid = await agreement(db, "XY-2026-002", other, [(tent, 500)], kind="capacity", valid_from=days(-100),
                            check_interval_days=30, price_mechanism="fixed")
    expired = await agreement(db, "XY-2025-009", vendor, [(tent, 50)], valid_from=days(-400), valid_until=days(-5))
    pending = await agreement(db, "XY-2027-001", vendor, [(pump, 2)], valid_from=days(10), valid_until=days(400))
    return Site(vendor, other, pump, tent, expiring, valid, expired, pending)


class Rows(HTMLParser):
    """Every table row: its attributes, its cells' text and its links."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, Any]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append({"attrs": dict(attrs), "cells": [], "links": []})
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "a" and self.rows:
            self.rows[-1]["links"].append(dict(attrs).get("href"))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self.rows:
            self.rows[-1]["cells"].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def rows_with(html: str, attr: str) -> list[dict[str, Any]]:
    """The table rows carrying ``attr`` (e.g. ``data-agreement``), in page order."""
    parser = Rows()
    parser.feed(html)
    return [r for r in parser.rows if attr in r["attrs"]]


def listed(html: str) -> list[int]:
    """The agreement ids of the list page, in order."""
    return [int(r["attrs"]["data-agreement"]) for r in rows_with(html, "data-agreement")]


def form_key(html: str) -> str:
    """The idempotency key of the check form."""
    form = html[html.index('id="record-check"'):]
    found = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', form)
    assert found, "the check form carries an idempotency key"
    return found.group(1)


async def checks_recorded(db: Database) -> tuple[int, int]:
    """(checks, counted lines) in the database."""
    async with db.read() as session:
        checks = await session.scalar(select(func.count()).select_from(AgreementCheck))
        counts = await session.scalar(select(func.count()).select_from(AgreementCheckCount))
    return int(checks or 0), int(counts or 0)


async def test_the_list_puts_expiring_agreements_first_and_filters_by_status_kind_check_due_and_firm(
    client: Any, db: Database, phone_as: Any, anonymous: Any,  # noqa: F811
) -> None:
    s = await build(client, db)
    chief = (await phone_as("chief", "commander", ["3601"])).client
    page = await chief.get("/agreements")
    assert page.status_code == 200, page.text
    assert listed(page.text) == [s.expiring, s.valid, s.pending, s.expired]
    assert '<a href="/agreements">协议储备</a>' in page.text, "the nav names the page"
    rows = {int(r["attrs"]["data-agreement"]): r for r in rows_with(page.text, "data-agreement")}
    first = rows[s.expiring]["cells"]
    assert first[:4] == ["XY-2026-001", "XY-2026-001 应急物资代储协议", "江西某泵业有限公司仓库", "实物代储"]
    assert "即将到期" in first[4] and "剩 10 天" in first[4]
    assert rows[s.expiring]["links"] == [f"/agreements/{s.expiring}"]
    assert first[5] == "6" and first[6] == "未演练" and first[8] == "0"
    capacity = rows[s.valid]["cells"]
    assert capacity[3] == "产能储备" and "检查逾期" in capacity[7], "no check in 100 days at a 30-day interval"
    assert "已过期 5 天" in rows[s.expired]["cells"][4] and "10 天后生效" in rows[s.pending]["cells"][4]
    expiring_row = page.text.split(f'data-agreement="{s.expiring}"')[1].split("</tr>")[0]
    assert '<span class="badge due">即将到期</span>' in expiring_row, "expiring is highlighted"

    async def ids(**query: str) -> list[int]:
        r = await chief.get("/agreements", params=query)
        assert r.status_code == 200, r.text
        return listed(r.text)

    assert await ids(status="expired") == [s.expired]
    assert await ids(status="expiring") == [s.expiring]
    assert await ids(kind="capacity") == [s.valid]
    assert await ids(check_due="1") == [s.valid]
    assert await ids(check_due="是") == [s.valid]
    assert await ids(check_due="0") == [s.expiring, s.pending, s.expired]
    assert await ids(vendor="帐篷厂") == [s.valid]
    assert await ids(vendor="XY-2027") == [s.pending]
    assert await ids(vendor="泵业", status="pending") == [s.pending]
    assert await ids(status="nonsense") == [s.expiring, s.valid, s.pending, s.expired], "an unknown status is ignored"
    none = await chief.get("/agreements", params={"vendor": "没有这家企业"})
    assert listed(none.text) == [] and "没有符合条件的协议储备" in none.text
    signed_out = await anonymous.get("/agreements", params={"status": "expired"})
    assert (signed_out.status_code, signed_out.headers["location"]) == (
        303, "/login?next=/agreements%3Fstatus%3Dexpired")


async def test_the_detail_page_shows_terms_lines_checks_and_call_offs_with_overdue_settlement(
    client: Any, db: Database, phone_as: Any,  # noqa: F811
) -> None:
    s = await build(client, db)
    incident = await created(client, "/api/v1/incidents", {"name": "向塘镇内涝", "kind": "waterlogging",
                                                          "region_code": "360121", **NANCHANG_COUNTY})
    order = await created(client, f"/api/v1/incidents/{incident['id']}/dispatches", {
        "lines": [{"item_type": "TENT-12", "quantity": 10, "agreement_id": s.expiring}],
        "approval": {"mode": "oral", "approved_by": "值班领导"}})
    # The firm was asked 40 days ago and has not been paid: the settlement (due a month on) is overdue.
    called = dt.datetime.now(dt.UTC) - dt.timedelta(days=40)
    async with db.write() as session:
        await session.execute(update(AgreementCallOff).values(state="called_off", called_at=called,
                                                              settlement_due=days(-10)))
    chief = (await phone_as("chief", "commander", ["3601"])).client
    page = await chief.get(f"/agreements/{s.expiring}")
    assert page.status_code == 200, page.text
    html = page.text
    assert "XY-2026-001 XY-2026-001 应急物资代储协议" in " ".join(html.split())
    for text in ("江西某泵业有限公司仓库", "实物代储", "调用时市场价", "企业轮换", "南昌县莲塘镇应急物资集结点",
                 "6 小时", "李经理"):
        assert text in html, text
    assert '<a href="tel:079188881234">0791-8888 1234</a>' in html
    lines = {r["cells"][0]: r["cells"][1:] for r in rows_with(html, "data-line")}
    assert lines == {"移动泵车 PUMP-300": ["5台", "0", "5"], "12平方米单帐篷 TENT-12": ["100顶", "10", "90"]}
    calloffs = rows_with(html, "data-calloff")
    assert len(calloffs) == 1 and calloffs[0]["links"] == [f"/dispatches/{order['id']}"]
    cells = calloffs[0]["cells"]
    assert cells[1:4] == ["12平方米单帐篷", "10", "已调用待到货"] and cells[6] == str(days(-10))
    assert "结算逾期" in cells[7]
    assert "尚无检查记录" in html
    listing = await chief.get("/agreements", params={"status": "expiring"})
    row = rows_with(listing.text, "data-agreement")[0]["cells"]
    assert "1 笔" in row[8], "the list counts the overdue settlement"
    missing = await chief.get("/agreements/999999")
    assert missing.status_code == 404 and "协议储备 id=999999 不存在" in missing.text


async def test_a_drill_recorded_through_the_form_shows_its_measured_hours_and_a_retried_post_records_once(
    client: Any, db: Database, phone_as: Any,  # noqa: F811
) -> None:
    s = await build(client, db)
    phone = await phone_as("chief", "commander", ["3601"])
    page = await phone.client.get(f"/agreements/{s.expiring}")
    assert 'id="record-check"' in page.text, "a commander in scope gets the form"
    async with db.read() as session:
        tent_line = await session.scalar(select(AgreementLine.id).where(AgreementLine.agreement_id == s.expiring,
                                                                        AgreementLine.item_type_id == s.tent))
    day = days(-1)
    form = {"_csrf_token": phone.csrf, "idempotency_key": form_key(page.text), "checked_on": str(day),
            "method": "drill", "result": "pass", "deficiency": "", "requested_at": f"{day}T08:00",
            "arrived_at": f"{day}T15:30", f"count_{tent_line}": "98"}
    for _ in range(2):  # a double tap, or the phone sending the form again
        r = await phone.client.post(f"/agreements/{s.expiring}/checks", data=form)
        assert r.status_code == 303, r.text
        assert r.headers["location"] == f"/agreements/{s.expiring}?done=drill"
    assert await checks_recorded(db) == (1, 1)
    async with db.read() as session:
        check = await session.scalar(select(AgreementCheck))
    assert check is not None and check.recorded_by == "chief"
    # 08:00 and 15:30 Beijing time are 00:00 and 07:30 UTC.
    assert (check.requested_at, check.arrived_at) == (
        dt.datetime.combine(day, dt.time(0, 0), dt.UTC), dt.datetime.combine(day, dt.time(7, 30), dt.UTC))
    shown = await phone.client.get(r.headers["location"])
    assert "拉动演练已记录" in shown.text
    checks = rows_with(shown.text, "data-check")
    assert len(checks) == 1
    cells = checks[0]["cells"]
    assert cells[:3] == [str(day), "拉动演练", "合格"]
    assert cells[4] == "12平方米单帐篷 98/100"
    assert cells[5].startswith("7.5 / 6 小时") and "08:00 下达" in cells[5] and "15:30 到位" in cells[5]
    assert cells[6] == "超时" and '<strong class="late">超时</strong>' in shown.text
    listing = await phone.client.get("/agreements", params={"status": "expiring"})
    assert "7.5 / 6 小时 超时" in rows_with(listing.text, "data-agreement")[0]["cells"][6]
    # A second check (a new form, a new key) is a second record; an on-time drill reads 按时.
    again = await phone.client.get(f"/agreements/{s.expiring}")
    r = await phone.client.post(f"/agreements/{s.expiring}/checks", data={
        **form, "idempotency_key": form_key(again.text), "checked_on": str(TODAY), "arrived_at": f"{day}T13:00"})
    assert r.status_code == 303, r.text
    assert await checks_recorded(db) == (2, 2)
    newest = rows_with((await phone.client.get(f"/agreements/{s.expiring}")).text, "data-check")[0]["cells"]
    assert newest[5].startswith("5 / 6 小时") and newest[6] == "按时"


async def test_a_bad_check_form_names_the_field_in_chinese_and_records_nothing(
    client: Any, db: Database, phone_as: Any,  # noqa: F811
) -> None:
    s = await build(client, db)
    phone = await phone_as("chief", "commander", ["3601"])
    async with db.read() as session:
        tent_line = await session.scalar(select(AgreementLine.id).where(AgreementLine.agreement_id == s.expiring,
                                                                        AgreementLine.item_type_id == s.tent))
    good = {"_csrf_token": phone.csrf, "checked_on": str(TODAY), "method": "regular", "result": "pass"}
    cases = [
        ({"method": "drill", "requested_at": f"{TODAY}T08:00"}, "拉动演练须填写物资到位的时间 arrived_at"),
        ({"method": "drill", "requested_at": "明天早上", "arrived_at": f"{TODAY}T09:00"},
         "下达调用时间 requested_at：须为日期和时间"),
        ({"method": "drill", "requested_at": f"{TODAY}T09:00", "arrived_at": f"{TODAY}T08:00"},
         "到位时间 arrived_at 须晚于下达调用时间 requested_at"),
        ({f"count_{tent_line}": "九十"}, f"清点数量 count_{tent_line}（12平方米单帐篷）：须为 0 到"),
        ({"count_999999": "3"}, "清点数量 count_999999：本协议没有这一品目行"),
        ({"checked_on": "2026-02-30"}, "检查日期 checked_on：须为日期"),
        ({"checked_on": str(days(3))}, f"检查日期 {days(3)} 晚于今天"),
        ({"method": "inspect"}, "检查方式 method：须为定期检查、抽查、拉动演练之一"),
        ({"result": "deficient", "deficiency": ""}, "检查结果不合格或有缺项时，须写明问题 deficiency"),
        ({"deficiency": "缺" * 301}, "发现的问题 deficiency：最多 300 字"),
    ]
    for n, (change, message) in enumerate(cases):
        r = await phone.client.post(f"/agreements/{s.expiring}/checks",
                                    data={**good, "idempotency_key": f"bad-{n}", **change})
        assert r.status_code == 422, (change, r.status_code, r.text[:300])
        assert "检查未记录，未做任何更改" in r.text and message in r.text, (change, message)
        assert 'id="record-check"' in r.text, "the form is shown again"
    assert await checks_recorded(db) == (0, 0)
    # What was typed is shown again beside the error.
    r = await phone.client.post(f"/agreements/{s.expiring}/checks", data={
        **good, "result": "fail", "deficiency": "", "requested_at": f"{TODAY}T08:15", f"count_{tent_line}": "40"})
    assert r.status_code == 422
    assert f'value="{TODAY}T08:15"' in r.text and 'value="40"' in r.text
    assert '<option value="fail" selected>' in r.text
    assert await checks_recorded(db) == (0, 0)


async def test_a_keeper_sees_no_form_and_a_keeper_or_a_commander_out_of_scope_is_refused(
    client: Any, db: Database, phone_as: Any,  # noqa: F811
) -> None:
    s = await build(client, db)
    form = {"checked_on": str(TODAY), "method": "regular", "result": "pass", "idempotency_key": "k-1"}
    keeper = await phone_as("wang", "keeper", ["360121"])
    page = await keeper.client.get(f"/agreements/{s.expiring}")
    assert page.status_code == 200 and "XY-2026-001" in page.text
    assert 'id="record-check"' not in page.text and "/checks" not in page.text
    refused = await keeper.client.post(f"/agreements/{s.expiring}/checks", data={"_csrf_token": keeper.csrf, **form})
    assert refused.status_code == 403 and "保管员不能记录协议储备的检查" in refused.text
    other = await phone_as("dhq", "commander", ["360102"])  # 东湖区: not the 南昌县 firm's county
    page = await other.client.get(f"/agreements/{s.expiring}")
    assert page.status_code == 200 and 'id="record-check"' not in page.text
    assert 'id="record-check"' in (await other.client.get(f"/agreements/{s.valid}")).text, "its own county's firm"
    refused = await other.client.post(f"/agreements/{s.expiring}/checks", data={"_csrf_token": other.csrf, **form})
    assert refused.status_code == 403 and "不包括地点" in refused.text
    assert await checks_recorded(db) == (0, 0)


async def test_an_agreement_source_on_the_availability_page_names_its_agreement_and_reserves_from_it(
    client: Any, db: Database, phone_as: Any,  # noqa: F811
) -> None:
    s = await build(client, db)
    incident = await created(client, "/api/v1/incidents", {"name": "向塘镇内涝", "kind": "waterlogging",
                                                          "region_code": "360121", **NANCHANG_COUNTY})
    chief = await phone_as("chief", "commander", ["3601"])
    page = await chief.client.get("/availability", params={
        "lat": NANCHANG_COUNTY["lat"], "lon": NANCHANG_COUNTY["lon"], "item_type": str(s.tent), "quantity": "20"})
    assert page.status_code == 200, page.text
    sources = rows_with(page.text, "data-site")
    mine = [r for r in sources if r["attrs"]["data-site"] == str(s.vendor)]
    assert len(mine) == 1, "the expired agreement at the same firm offers nothing"
    cells = mine[0]["cells"]
    assert "XY-2026-001 XY-2026-001 应急物资代储协议" in cells[1] and f"/agreements/{s.expiring}" in mine[0]["links"]
    assert cells[2] == "协议储备到位时限 6 小时" and cells[6] == "100顶"
    assert f'name="agreement_id" value="{s.expiring}"' in page.text
    key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', page.text.split('id="src-')[
        [r["attrs"]["data-site"] for r in sources].index(str(s.vendor)) + 1])
    assert key
    r = await chief.client.post("/availability/reserve", data={
        "_csrf_token": chief.csrf, "idempotency_key": key.group(1), "site_id": str(s.vendor),
        "item_type_id": str(s.tent), "agreement_id": str(s.expiring), "incident_id": str(incident["id"]),
        "quantity": "15", "approval_mode": "oral", "approved_by": "值班领导"})
    assert r.status_code == 303 and r.headers["location"].startswith("/dispatches/"), r.text
    async with db.read() as session:
        outstanding = await session.scalar(select(AgreementLine.outstanding).where(
            AgreementLine.agreement_id == s.expiring, AgreementLine.item_type_id == s.tent))
        calloffs = list(await session.scalars(select(AgreementCallOff)))
    assert outstanding == 15 and [(c.agreement_id, c.quantity, c.state) for c in calloffs] == [
        (s.expiring, 15, "reserved")]
    detail = await chief.client.get(f"/agreements/{s.expiring}")
    assert rows_with(detail.text, "data-calloff")[0]["links"] == [r.headers["location"]]


async def test_the_map_shows_a_firm_that_only_has_an_agreement_with_its_figures_and_a_link_to_its_agreements(
    client: Any, db: Database, phone_as: Any,  # noqa: F811
) -> None:
    s = await build(client, db)
    chief = await phone_as("chief", "commander", ["3601"])
    page = await chief.client.get("/map", params={"region": "3601"})
    assert page.status_code == 200, page.text
    rows = {r["attrs"].get("id"): r for r in rows_with(page.text, "id")}
    vendor = rows[f"site-{s.vendor}"]
    # Nothing booked at the firm: the five pumps of its valid agreement (not the pending one's two) are available.
    assert vendor["cells"][:4] == ["江西某泵业有限公司仓库", "协议供应商仓库", "南昌县", "5"]
    link = f"/agreements?vendor={quote('江西某泵业有限公司仓库')}"
    assert link in vendor["links"] and "协议储备（1 份有效）" in " ".join(vendor["cells"])
    assert f'href="#site-{s.vendor}"' in page.text, "drawn on the map"
    other = rows[f"site-{s.other_vendor}"]
    assert other["cells"][3] == "0" and "协议储备（1 份有效）" in " ".join(other["cells"])
    firm = await chief.client.get(link)
    assert listed(firm.text) == [s.expiring, s.pending, s.expired]
