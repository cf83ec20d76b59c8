"""Alerts over HTTP on both databases: the list by role and scope with its filters, acknowledging (once, only
one's own, never a resolved one), the keeper's home page with his open alerts first, the commander's alerts
page with its 确认 form, and the open-alert count in every page's nav.

Alerts are computed as the cron command does (``run_alerts`` at a fixed moment) from data written through the
services; the API and the pages are read through the real application.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from inventory.agreements import service as agreements
from inventory.agreements.schemas import AgreementCreate, AgreementLineCreate
from inventory.stock.schemas import MovementLine
from inventory.store.db import Database
from inventory.store.models import Alert, AuditEntry
from tests.alerts_support import ADMIN, World, at, day, lot_id, make_world, post, receive, run
from tests.api.helpers import assert_problem
from tests.api.test_scan_pages_http import phone_as  # noqa: F401  (the signed-in phone fixture)


async def world_with_alerts(db: Database) -> tuple[World, dict[str, int]]:
    """An expired lot in 南昌县 (high), an expiring one in 东湖区, an agreement in 南昌县 expiring and due a check."""
    w = await make_world(db)
    await receive(db, w.depot_in, w.water, 5, lot="W1", expiry=day(0))
    await receive(db, w.depot_out, w.water, 5, lot="W2", expiry=day(5))
    async with db.write() as s:
        await agreements.create_agreement(s, AgreementCreate(
            number="XY-1", name="饮用水协议代储", vendor_location_id=w.vendor_in, kind="physical",
            valid_from=day(-100), valid_until=day(20), response_hours=6, check_interval_days=90,
            lines=[AgreementLineCreate(item_type_id=w.water, quantity=100)]), ADMIN)
    await run(db, at(2))
    async with db.read() as s:
        ids = {a.kind: a.id for a in await s.scalars(select(Alert))}
    assert set(ids) == {"lot_expired", "lot_expiring", "agreement_expiring", "agreement_check_due"}
    return w, ids


async def listed(client: Any, **query: Any) -> list[dict[str, Any]]:
    r = await client.get("/api/v1/alerts", params=query)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    assert r.json()["total"] == len(items)
    return items


async def test_each_role_lists_what_it_may_see_with_filters(db: Database, client_as: Any) -> None:
    _, ids = await world_with_alerts(db)
    keeper = await client_as("keeper", "keeper-ncx", scope_regions=["360121"])
    commander = await client_as("commander", "commander-nc", scope_regions=["3601"])
    county = await client_as("commander", "commander-ncx", scope_regions=["360121"])
    auditor = await client_as("auditor", "auditor")
    stranger = await client_as("keeper", "keeper-nowhere")
    assert [a["id"] for a in await listed(keeper)] == [ids["lot_expired"]]
    everything = await listed(commander)
    assert everything[0]["id"] == ids["lot_expired"] and everything[0]["severity"] == "high", "serious first"
    assert {a["id"] for a in everything} == set(ids.values())
    first = everything[0]
    assert (first["kind_zh"], first["status"], first["status_zh"], first["region_code"]) == (
        "过期批次仍在库", "open", "待处理", "360121")
    assert first["location_name"] == "南昌县储备库" and "W1" in first["title"]
    assert {a["id"] for a in await listed(county)} == set(ids.values()) - {ids["lot_expiring"]}
    assert {a["id"] for a in await listed(auditor)} == set(ids.values())
    assert await listed(stranger) == []
    assert [a["id"] for a in await listed(commander, kind="lot_expiring")] == [ids["lot_expiring"]]
    assert [a["id"] for a in await listed(commander, region="360102")] == [ids["lot_expiring"]]
    assert await listed(commander, status="acknowledged") == [] and await listed(commander, status="resolved") == []
    r = await commander.get("/api/v1/alerts", params={"limit": 1})
    assert r.json()["total"] == 4 and len(r.json()["items"]) == 1
    assert_problem(await commander.get("/api/v1/alerts", params={"kind": "no_such_kind"}), 422, "kind")
    assert_problem(await commander.get("/api/v1/alerts", params={"region": "36x"}), 422, "region")
    assert_problem(await commander.get("/api/v1/alerts", params={"status": "closed"}), 422, "status")


async def test_acknowledging_once_only_ones_own_and_never_a_resolved_alert(db: Database, client_as: Any) -> None:
    w, ids = await world_with_alerts(db)
    keeper = await client_as("keeper", "keeper-ncx", scope_regions=["360121"])
    county = await client_as("commander", "commander-ncx", scope_regions=["360121"])
    auditor = await client_as("auditor", "auditor")
    r = await keeper.post(f"/api/v1/alerts/{ids['lot_expired']}/ack")
    assert r.status_code == 200, r.text
    acked = r.json()
    assert (acked["status"], acked["acknowledged_by"]) == ("acknowledged", "keeper-ncx")
    assert await listed(keeper, status="open") == []
    assert [a["id"] for a in await listed(keeper, status="acknowledged")] == [ids["lot_expired"]]
    again = await keeper.post(f"/api/v1/alerts/{ids['lot_expired']}/ack")
    assert again.status_code == 200 and again.json()["acknowledged_at"] == acked["acknowledged_at"]

    body = assert_problem(await keeper.post(f"/api/v1/alerts/{ids['lot_expiring']}/ack"), 403)
    assert "辖区" in body["detail"]
    assert_problem(await keeper.post(f"/api/v1/alerts/{ids['agreement_expiring']}/ack"), 403)  # not a keeper's kind
    assert_problem(await county.post(f"/api/v1/alerts/{ids['lot_expiring']}/ack"), 403)
    assert_problem(await auditor.post(f"/api/v1/alerts/{ids['lot_expired']}/ack"), 403)
    assert_problem(await keeper.post("/api/v1/alerts/999999/ack"), 404)

    first = await county.post(f"/api/v1/alerts/{ids['agreement_expiring']}/ack", headers={"Idempotency-Key": "k-1"})
    replay = await county.post(f"/api/v1/alerts/{ids['agreement_expiring']}/ack", headers={"Idempotency-Key": "k-1"})
    assert first.status_code == replay.status_code == 200 and replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json() == first.json()

    water = await lot_id(db, w.water, "W1")
    await post(db, kind="issue", location_id=w.depot_in, counterparty="县防汛抢险队",
               lines=[MovementLine(item_type_id=w.water, quantity=5, lot_id=water)])
    await run(db, at(3))
    resolved = await listed(keeper, status="resolved")
    assert [a["id"] for a in resolved] == [ids["lot_expired"]] and resolved[0]["resolved_at"]
    commander = await client_as("commander", "commander-nc", scope_regions=["3601"])
    assert_problem(await commander.post(f"/api/v1/alerts/{ids['lot_expired']}/ack"), 409)
    async with db.read() as s:
        audited = list(await s.scalars(select(AuditEntry.username).where(AuditEntry.action == "alerts.ack",
                                                                         AuditEntry.outcome == "ok")))
    assert sorted(audited) == ["commander-ncx", "keeper-ncx", "keeper-ncx"]


def nav_count(html: str) -> int | None:
    found = re.search(r'id="nav-alerts">告警(?: <span class="badge"[^>]*>(\d+)</span>)?</a>', html)
    assert found, "the nav links the alerts page"
    return int(found.group(1)) if found.group(1) else None


async def test_the_keepers_home_shows_his_open_alerts_first_and_every_page_counts_them(
    db: Database, phone_as: Any,  # noqa: F811
) -> None:
    _, ids = await world_with_alerts(db)
    keeper = await phone_as("keeper-ncx", "keeper", ["360121"])
    home = (await keeper.get("/")).text
    assert home.index('id="my-alerts"') < home.index("我的储备点")
    assert f'data-alert="{ids["lot_expired"]}"' in home and "待处理的告警（1）" in home
    assert f'data-alert="{ids["lot_expiring"]}"' not in home, "东湖区 is not his"
    for path in ("/", "/leases", "/agreements", "/alerts"):
        r = await keeper.get(path)
        assert r.status_code == 200 and nav_count(r.text) == 1, path
    stranger = await phone_as("keeper-nowhere", "keeper", [])
    r = await stranger.get("/")
    assert 'id="my-alerts"' not in r.text and nav_count(r.text) is None


async def test_the_alerts_page_filters_and_acknowledges_once_per_form(
    db: Database, phone_as: Any,  # noqa: F811
) -> None:
    _, ids = await world_with_alerts(db)
    commander = await phone_as("commander-nc", "commander", ["3601"])
    page = (await commander.get("/alerts")).text
    assert all(f'data-alert="{i}"' in page for i in ids.values()) and nav_count(page) == 4
    only = (await commander.get("/alerts?kind=lot_expiring&status=open")).text
    assert re.findall(r'data-alert="(\d+)"', only) == [str(ids["lot_expiring"])]
    key = re.search(rf'action="/alerts/{ids["lot_expiring"]}/ack">.*?name="idempotency_key" value="(\w+)"',
                    only, re.S)
    assert key
    form = {"_csrf_token": commander.csrf, "idempotency_key": key.group(1),
            "back": "/alerts?status=open&kind=lot_expiring&region=&offset=0"}
    first = await commander.client.post(f"/alerts/{ids['lot_expiring']}/ack", data=form)
    assert first.status_code == 303 and first.headers["location"].endswith("&done=ack")
    second = await commander.client.post(f"/alerts/{ids['lot_expiring']}/ack", data=form)
    assert second.status_code == 303
    async with db.read() as s:
        acks = await s.scalar(select(Alert.acknowledged_by).where(Alert.id == ids["lot_expiring"]))
        audited = list(await s.scalars(select(AuditEntry.outcome).where(
            AuditEntry.path == f"/alerts/{ids['lot_expiring']}/ack")))
    assert acks == "commander-nc" and audited == ["ok"], audited
    after = await commander.get(first.headers["location"])
    assert "告警已确认" in after.text and nav_count(after.text) == 3
    assert f'data-alert="{ids["lot_expiring"]}"' not in after.text, "no longer open"

    keeper = await phone_as("keeper-ncx", "keeper", ["360121"])
    refused = await keeper.client.post(f"/alerts/{ids['lot_expiring']}/ack",
                                       data={"_csrf_token": keeper.csrf, "idempotency_key": "k2"})
    assert refused.status_code == 403 and "辖区" in refused.text
    auditor = await phone_as("auditor", "auditor", [])
    seen = (await auditor.get("/alerts?status=all")).text
    assert f'data-alert="{ids["lot_expired"]}"' in seen and "/ack" not in seen, "auditors read, never acknowledge"
    denied = await auditor.client.post(f"/alerts/{ids['lot_expired']}/ack",
                                       data={"_csrf_token": auditor.csrf, "idempotency_key": "k3"})
    assert denied.status_code == 403
