"""Paper notes from a day without a phone, entered later with their real times (``occurred_at``).

A lease handed over and taken back through the API and through its page, a scan-page checkout: the documents,
the lease's dates, the stock card, the 台账 and the 收发存 follow the real time, not the time of entry; a time
without an offset is 北京时间; a time in the future or a return before the handing over is refused and changes
nothing. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from inventory.store.db import Database
from inventory.store.models import Movement
from tests.api.helpers import assert_problem, item_type_body, location_body
from tests.api.test_agreements_http import agreement_body
from tests.api.test_agreements_http import make_site as make_agreement_site
from tests.api.test_leases_http import assert_verified, created
from tests.api.test_scan_pages_http import alert, phone_as, setup  # noqa: F401  (phone_as: the fixture)

BEIJING = dt.timezone(dt.timedelta(hours=8))
LEASES = "/api/v1/leases"


def beijing_now() -> dt.datetime:
    """Now in 北京时间, to the minute."""
    return dt.datetime.now(BEIJING).replace(second=0, microsecond=0)


def days_ago(days: int, hour: int, minute: int = 0) -> dt.datetime:
    """A Beijing time ``days`` days before today, at hour:minute."""
    return (beijing_now() - dt.timedelta(days=days)).replace(hour=hour, minute=minute)


def local(when: dt.datetime) -> str:
    """What a phone's ``datetime-local`` field sends: Beijing time without an offset."""
    return when.astimezone(BEIJING).strftime("%Y-%m-%dT%H:%M")


def naive(when: dt.datetime) -> str:
    """What an API client in China may send: Beijing time without an offset (RFC 3339 needs the seconds)."""
    return when.astimezone(BEIJING).strftime("%Y-%m-%dT%H:%M:%S")


def instant(text: str) -> dt.datetime:
    """A time from a JSON answer (always with its offset)."""
    when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert when.tzinfo is not None, text
    return when


@dataclass
class Depot:
    """南昌县's depot with 20 tents received 60 days ago, and its keeper."""

    depot: int
    tent: int
    keeper: Any


async def make_depot(admin: Any, client_as: Any) -> Depot:
    depot = (await created(admin, "/api/v1/locations", location_body("D-NCX")))["id"]
    tent = (await created(admin, "/api/v1/item-types", item_type_body(
        "TENT-12", name="12平方米单帐篷", unit="顶", tracking="bulk", category="shelter", gbt_code=None,
        attributes={}, tags=[])))["id"]
    await created(admin, "/api/v1/movements", {
        "kind": "receipt", "location_id": depot, "occurred_at": days_ago(60, 10).isoformat(),
        "lines": [{"item_type_id": tent, "quantity": 20, "lot": {"number": "L1"}}]})
    keeper = await client_as("keeper", "wang", scope_regions=["360121"])
    return Depot(depot, tent, keeper)


def lease_body(d: Depot, start: dt.date, quantity: int = 5) -> dict[str, Any]:
    return {"direction": "out", "counterparty": "进贤县应急管理局", "location_id": d.depot,
            "start_date": str(start), "due_date": str(start + dt.timedelta(days=7)), "fee_basis": "per_day",
            "rate": 200, "lines": [{"item_type_id": d.tent, "quantity": quantity}]}


async def lease_documents(client: Any, d: Depot) -> dict[str, dict[str, Any]]:
    """The lease's issue and return on the depot's stock card, by kind."""
    r = await client.get("/api/v1/stock/card", params={"location_id": d.depot, "item_type_id": d.tent})
    assert r.status_code == 200, r.text
    return {line["kind"]: line for line in r.json()["lines"] if line["kind"] in ("issue", "return")}


async def balance_row(client: Any, d: Depot, period: str) -> dict[str, int]:
    """The depot's tents in the 收发存 of a month."""
    r = await client.get("/api/v1/reports/receipts-issues", params={"location": str(d.depot), "period": period})
    assert r.status_code == 200, r.text
    rows = [row["figures"] for row in r.json()["rows"] if row["item"]["id"] == d.tent]
    return rows[0] if rows else {}


async def ledger_days(client: Any, d: Depot, period: str) -> dict[str, str]:
    """The 台账 of a month: the Beijing date of each of the tents' entries, by kind."""
    r = await client.get("/api/v1/reports/stock-ledger", params={"location": str(d.depot), "period": period})
    assert r.status_code == 200, r.text
    return {e["kind"]: e["date"] for item in r.json()["items"] if item["item"]["id"] == d.tent
            for e in item["entries"]}


async def movements(db: Database) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(Movement)) or 0)


async def test_a_lease_entered_later_counts_on_the_days_it_really_happened(
        client: Any, client_as: Any, db: Database) -> None:
    d = await make_depot(client, client_as)
    handed, back = days_ago(40, 9, 30), days_ago(2, 16)
    lease = await created(d.keeper, LEASES, lease_body(d, handed.date()))

    # Handed over 40 days ago (with its offset), returned two days ago (no offset: 北京时间).
    r = await d.keeper.post(f"{LEASES}/{lease['id']}/out", json={"occurred_at": handed.isoformat()})
    assert r.status_code == 200, r.text
    assert instant(r.json()["out_at"]) == handed
    line = r.json()["lines"][0]["id"]
    r = await d.keeper.post(f"{LEASES}/{lease['id']}/return", json={
        "lines": [{"line_id": line, "quantity": 5}], "occurred_at": naive(back)})
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "returned" and instant(done["closed_at"]) == back
    # The fee counts the days the tents were really away: 38 days, 31 past the due date.
    assert (done["fee"]["days"], done["fee"]["late_days"], done["fee"]["amount"]) == (38, 31, 7600)

    docs = await lease_documents(client, d)
    assert instant(docs["issue"]["occurred_at"]) == handed and instant(docs["return"]["occurred_at"]) == back
    today = beijing_now().date()
    assert instant(docs["issue"]["created_at"]).astimezone(BEIJING).date() == today  # entered today
    issue_doc = (await client.get(f"/api/v1/documents/{docs['issue']['document_id']}")).json()
    assert instant(issue_doc["occurred_at"]) == handed

    # 收发存: the issue counts in the month it happened (40 days ago is always an earlier month), not this one.
    then, now = f"{handed:%Y-%m}", f"{today:%Y-%m}"
    assert then != now
    assert (await balance_row(client, d, then)).get("issues") == 5
    this_month = await balance_row(client, d, now)
    assert this_month.get("issues", 0) == 0
    assert this_month.get("returns", 0) == (5 if f"{back:%Y-%m}" == now else 0)
    # 台账: each entry on its real day.
    assert (await ledger_days(client, d, then))["issue"] == str(handed.date())
    assert (await ledger_days(client, d, f"{back:%Y-%m}"))["return"] == str(back.date())
    await assert_verified(db)


async def test_a_future_time_or_a_return_before_the_handing_over_is_refused_and_changes_nothing(
        client: Any, client_as: Any, db: Database) -> None:
    d = await make_depot(client, client_as)
    lease = await created(d.keeper, LEASES, lease_body(d, beijing_now().date()))
    before = await movements(db)
    tomorrow = beijing_now() + dt.timedelta(days=1)
    r = await d.keeper.post(f"{LEASES}/{lease['id']}/out", json={"occurred_at": naive(tomorrow)})
    assert "晚于当前时间" in assert_problem(r, 422, "occurred_at")["detail"]
    after = (await client.get(f"{LEASES}/{lease['id']}")).json()
    assert after["status"] == "draft" and after["out_at"] is None and await movements(db) == before

    # An empty body (as before occurred_at existed) and {} both mean now.
    r = await d.keeper.post(f"{LEASES}/{lease['id']}/out")
    assert r.status_code == 200, r.text
    out = r.json()
    assert abs(instant(out["out_at"]) - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    other = await created(d.keeper, LEASES, lease_body(d, beijing_now().date(), quantity=1))
    assert (await d.keeper.post(f"{LEASES}/{other['id']}/out", json={})).status_code == 200

    line = out["lines"][0]["id"]
    before = await movements(db)
    for when, words in ((tomorrow, "晚于当前时间"), (beijing_now() - dt.timedelta(hours=3), "早于交付时间")):
        r = await d.keeper.post(f"{LEASES}/{lease['id']}/return", json={
            "lines": [{"line_id": line, "quantity": 5}], "occurred_at": naive(when)})
        assert words in assert_problem(r, 422, "occurred_at")["detail"]
    after = (await client.get(f"{LEASES}/{lease['id']}")).json()
    assert after["lines"][0]["returned"] == 0 and after["closed_at"] is None and await movements(db) == before
    await assert_verified(db)


async def test_returns_entered_out_of_order_close_the_lease_at_the_latest(
        client: Any, client_as: Any, db: Database) -> None:
    d = await make_depot(client, client_as)
    handed = days_ago(5, 8)
    lease = await created(d.keeper, LEASES, lease_body(d, handed.date()))
    out = (await d.keeper.post(f"{LEASES}/{lease['id']}/out", json={"occurred_at": handed.isoformat()})).json()
    line = out["lines"][0]["id"]
    later, earlier = days_ago(1, 17), days_ago(3, 9)
    r = await d.keeper.post(f"{LEASES}/{lease['id']}/return", json={
        "lines": [{"line_id": line, "quantity": 2}], "occurred_at": later.isoformat()})
    assert r.status_code == 200 and r.json()["closed_at"] is None, r.text
    r = await d.keeper.post(f"{LEASES}/{lease['id']}/return", json={
        "lines": [{"line_id": line, "quantity": 3}], "occurred_at": earlier.isoformat()})
    assert r.status_code == 200, r.text
    assert instant(r.json()["closed_at"]) == later and r.json()["fee"]["days"] == 4


async def test_the_lease_page_takes_the_real_time_of_a_paper_note(
        client: Any, client_as: Any, db: Database, phone_as: Any) -> None:  # noqa: F811
    d = await make_depot(client, client_as)
    handed, back = days_ago(2, 9, 30), days_ago(2, 15)
    lease = await created(d.keeper, LEASES, lease_body(d, handed.date()))
    phone = await phone_as("li", "keeper", ["360121"])
    page = (await phone.client.get(f"/leases/{lease['id']}")).text
    hand_over = re.search(r'<form [^>]*id="hand-over">(.*?)</form>', page, re.S)
    assert hand_over and "补录（按实际发生时间）" in hand_over.group(1)
    assert re.search(r'<input id="out-occurred-at" name="occurred_at" type="datetime-local"', hand_over.group(1))
    assert '<script src="/static/occurred_at.js" defer></script>' in page
    assert (await phone.client.get("/static/occurred_at.js")).status_code == 200

    before = await movements(db)
    tomorrow = local(beijing_now() + dt.timedelta(days=1))
    for raw, words in (("明天上午", "实际发生时间须为日期和时间"), (tomorrow, "晚于当前时间")):
        r = await phone.client.post(f"/leases/{lease['id']}/out", data={
            "_csrf_token": phone.csrf, "idempotency_key": f"out-{raw}", "occurred_at": raw})
        assert r.status_code == 422 and words in alert(r.text), r.text
        assert re.search(r'<details class="occurred-at" open>', r.text)  # the field stays open with the value
    assert (await client.get(f"{LEASES}/{lease['id']}")).json()["out_at"] is None and await movements(db) == before

    r = await phone.client.post(f"/leases/{lease['id']}/out", data={
        "_csrf_token": phone.csrf, "idempotency_key": "out-1", "occurred_at": local(handed)})
    assert r.status_code == 303, r.text
    after = (await client.get(f"{LEASES}/{lease['id']}")).json()
    assert instant(after["out_at"]) == handed
    line = after["lines"][0]["id"]
    page = (await phone.client.get(f"/leases/{lease['id']}")).text
    assert 'id="return-occurred-at"' in page and f"<dt>交付</dt><dd>{handed:%Y-%m-%d %H:%M}</dd>" in page
    r = await phone.client.post(f"/leases/{lease['id']}/return", data={
        "_csrf_token": phone.csrf, "idempotency_key": "back-1", f"q_{line}": "5", f"c_{line}": "ok",
        f"n_{line}": "", "occurred_at": local(back)})
    assert r.status_code == 303, r.text
    after = (await client.get(f"{LEASES}/{lease['id']}")).json()
    assert after["status"] == "returned" and instant(after["closed_at"]) == back
    docs = await lease_documents(client, d)
    assert instant(docs["issue"]["occurred_at"]) == handed and instant(docs["return"]["occurred_at"]) == back
    days = await ledger_days(client, d, f"{handed:%Y-%m}")
    assert days["issue"] == days["return"] == str(handed.date()) != str(beijing_now().date())
    await assert_verified(db)


async def test_a_scan_page_checkout_from_yesterday_is_dated_yesterday(
        client: Any, db: Database, phone_as: Any) -> None:  # noqa: F811
    s = await setup(client, db)
    keeper = await phone_as("ncx-keeper", scope_regions=["360121"])
    yesterday = days_ago(1, 14, 30)
    r = await keeper.send(s.pumps[0]["label_code"], "checkout", counterparty="莲塘镇抢险突击队",
                          occurred_at=local(yesterday))
    assert r.status_code == 303, alert(r.text)
    issued = (await client.get("/api/v1/movements", params={"kind": "issue", "location_id": s.depot})).json()
    document = next(m["document_id"] for m in issued["items"] if m["asset_id"] == s.pumps[0]["id"])
    doc = (await client.get(f"/api/v1/documents/{document}")).json()
    assert instant(doc["occurred_at"]) == yesterday
    assert instant(doc["created_at"]) > yesterday + dt.timedelta(hours=1)  # entered later


async def test_a_drill_entered_later_keeps_its_beijing_times_and_none_may_be_in_the_future(
        client: Any, client_as: Any) -> None:
    s = await make_agreement_site(client, client_as)
    a = await created(s.commander, "/api/v1/agreements", agreement_body(s))
    path = f"/api/v1/agreements/{a['id']}/checks"
    asked, arrived = days_ago(2, 8), days_ago(2, 13, 30)
    drill = {"checked_on": str(asked.date()), "method": "drill", "result": "pass"}
    r = await s.commander.post(path, json={**drill, "requested_at": naive(asked),
                                           "arrived_at": naive(beijing_now() + dt.timedelta(hours=2))})
    assert "晚于当前时间" in assert_problem(r, 422, "arrived_at")["detail"]
    assert (await client.get(path)).json() == []
    # Without an offset the times are 北京时间 (a naive time mixed with one with an offset is no error either).
    done = await created(s.commander, path, {**drill, "requested_at": naive(asked), "arrived_at": arrived.isoformat()})
    assert (instant(done["requested_at"]), instant(done["arrived_at"])) == (asked, arrived)
    assert done["measured_response_hours"] == 5.5
