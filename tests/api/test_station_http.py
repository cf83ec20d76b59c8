"""The scan station's JSON route over HTTP (session cookie, CSRF header), on SQLite and PostgreSQL.

What the station's outbox relies on: one action is carried out once per idempotency key (a resend is
answered 200 replayed and writes nothing), a refusal is JSON with a Chinese reason and changes nothing,
a lost session answers 401 JSON (not a redirect, so the page keeps the entry), and a malformed body 400.
"""

from __future__ import annotations

import json
import re
import uuid
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from inventory.access.tokens import issue_token
from inventory.store.db import Database
from inventory.store.models import Document, IdempotencyKey, Movement, User
from labels.codes import new_code
from tests.api.helpers import item_type_body, location_body
from tests.conftest import http_client

CHINESE = re.compile(r"[\u4e00-\u9fff]")


@dataclass
class Station:
    """A signed-in station: the session cookie's client and the CSRF token the page carries."""

    client: Any
    csrf: str

    async def act(self, code: str, action: str, key: str | None = None, *, raw: bytes | None = None,
                  csrf: bool = True, **fields: str) -> Any:
        """POST one outbox entry as station.js sends it (the body's bytes are the key's fingerprint)."""
        body = raw if raw is not None else json.dumps({
            "idempotency_key": key or str(uuid.uuid4()), "code": code, "action": action, "fields": fields,
            "occurred_at": ""}, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", **({"X-CSRFToken": self.csrf} if csrf else {})}
        return await self.client.post("/station/actions", content=body, headers=headers)


@pytest.fixture
async def station_as(app: Any, db: Database, password_hash: str) -> Any:
    """``await station_as(username, role, scope_regions)`` → a Station signed in with a session cookie."""
    async with AsyncExitStack() as stack:

        async def make(username: str, role: str = "keeper", scope_regions: list[str] | None = None,
                       session_token: str | None = None) -> Station:
            token = session_token
            if token is None:
                async with db.write() as session:
                    user = User(username=username, display_name=username, phone="", role=role,
                                scope_regions=scope_regions or [], scope_locations=[], active=True,
                                password_hash=password_hash)
                    session.add(user)
                    await session.flush()
                    token, _ = await issue_token(session, user, kind="session")
            client = await stack.enter_async_context(http_client(app))
            client.cookies.set("inv_session", token)
            r = await client.get("/login")
            return Station(client, r.cookies["inv_csrf"])

        yield make


@dataclass
class Depot:
    """南昌县's depot and 进贤县's (out of a 南昌县 keeper's scope), and three pumps at 南昌县."""

    depot: int
    jinxian: int
    pumps: list[dict[str, Any]]


async def created(client: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST that must answer 201; the body."""
    r = await client.post(path, json=body)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def setup(client: Any) -> Depot:
    """A 南昌县 depot with three pumps, and a 进贤县 depot."""
    depot = await created(client, "/api/v1/locations", location_body("D-NCX"))
    jinxian = await created(client, "/api/v1/locations", location_body(
        "D-JXX", name="进贤县应急物资储备库", region_code="360124", lat=28.37, lon=116.24))
    pump = await created(client, "/api/v1/item-types", item_type_body())
    pumps = [await created(client, "/api/v1/assets", {"item_type_id": pump["id"], "serial_number": f"BC-{n}",
                                                     "location_id": depot["id"]}) for n in (1, 2, 3)]
    for p in pumps:
        p["label_code"] = (await client.get(f"/api/v1/assets/{p['id']}")).json()["label_code"]
    return Depot(depot["id"], jinxian["id"], pumps)


async def ledger_size(db: Database) -> tuple[int, int]:
    """Documents and movements in the ledger: a refused or replayed action must change neither."""
    async with db.read() as session:
        documents = int(await session.scalar(select(func.count()).select_from(Document)) or 0)
        movements = int(await session.scalar(select(func.count()).select_from(Movement)) or 0)
    return documents, movements


async def issues_of(db: Database, counterparty: str) -> int:
    """Issue documents to this counterparty."""
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(Document).where(
            Document.kind == "issue", Document.counterparty == counterparty)) or 0)


async def test_an_action_is_done_once_and_its_resend_is_replayed(client: Any, db: Database, station_as: Any) -> None:
    """200 done and one document; the same key and body again → 200 replayed, still one document."""
    s = await setup(client)
    keeper = await station_as("ncx-keeper", scope_regions=["360121"])
    code = s.pumps[0]["label_code"]
    key = str(uuid.uuid4())
    body = json.dumps({"idempotency_key": key, "code": code, "action": "checkout",
                       "fields": {"counterparty": "向塘镇防汛抢险队"}, "occurred_at": "2026-07-01T09:30:00+08:00"},
                      ensure_ascii=False).encode()

    first = await keeper.act(code, "checkout", raw=body)
    assert first.status_code == 200, first.text
    assert first.headers["content-type"].startswith("application/json")
    assert first.headers["cache-control"] == "no-store"
    assert first.json() == {"status": "done", "replayed": False, "code": code, "message": "已领用出库"}
    assert await issues_of(db, "向塘镇防汛抢险队") == 1
    after_first = await ledger_size(db)

    again = await keeper.act(code, "checkout", raw=body)
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "done"
    assert again.json()["replayed"] is True
    assert await issues_of(db, "向塘镇防汛抢险队") == 1
    assert await ledger_size(db) == after_first

    asset = (await client.get(f"/api/v1/assets/{s.pumps[0]['id']}")).json()
    assert asset["status"] == "deployed"
    async with db.read() as session:
        occurred = await session.scalar(select(Document.occurred_at).where(Document.kind == "issue"))
        stored = await session.scalar(select(func.count()).select_from(IdempotencyKey)
                                      .where(IdempotencyKey.key == key))
    assert occurred is not None
    assert occurred.replace(tzinfo=None).isoformat().startswith("2026-07-01T01:30"), occurred  # 09:30 北京 in UTC
    assert stored == 1


async def test_the_station_modes_check_in_move_and_inspect(client: Any, db: Database, station_as: Any) -> None:
    """归还入库 takes the place's id, 移库 the place's code (as typed or scanned), 检查完好 nothing."""
    s = await setup(client)
    shelf = await created(client, "/api/v1/locations", location_body(
        "D-NCX-A1", kind="bin", name="A区1号货架", parent_id=s.depot))
    keeper = await station_as("ncx-keeper", scope_regions=["360121"])
    one, two, three = (p["label_code"] for p in s.pumps)

    assert (await keeper.act(one, "checkout", counterparty="县防汛抢险队")).status_code == 200
    r = await keeper.act(one, "checkin", location_id=str(s.depot))
    assert r.status_code == 200, r.text
    r = await keeper.act(two, "move", to="D-NCX-A1")
    assert r.status_code == 200, r.text
    r = await keeper.act(three, "inspect", task="visual_check", result="ok")
    assert r.status_code == 200, r.text
    assert r.json()["message"] == "检查完好已记录"

    assets = {p["id"]: (await client.get(f"/api/v1/assets/{p['id']}")).json() for p in s.pumps}
    assert assets[s.pumps[0]["id"]]["status"] == "available"
    assert assets[s.pumps[0]["id"]]["location_id"] == s.depot
    assert assets[s.pumps[1]["id"]]["location_id"] == shelf["id"]


async def test_refusals_are_json_with_a_chinese_reason_and_change_nothing(
    client: Any, db: Database, station_as: Any
) -> None:
    """409/422/403/404 with {"status": "refused", "message" in Chinese, "field"}; the ledger unchanged."""
    s = await setup(client)
    keeper = await station_as("ncx-keeper", scope_regions=["360121"])
    one, two = s.pumps[0]["label_code"], s.pumps[1]["label_code"]
    assert (await keeper.act(one, "checkout", counterparty="县防汛抢险队")).status_code == 200
    before = await ledger_size(db)
    unknown = new_code("asset")  # well-formed, never issued
    malformed = two[:-1] + ("0" if two[-1] != "0" else "1")
    cases = [
        ((one, "checkout", {"counterparty": "县防汛抢险队"}), 403, "辖区"),  # already out: not offered
        ((two, "checkout", {"counterparty": "队" * 101}), 422, "最多 100 个字"),
        ((two, "checkout", {"counterparty": ""}), 422, "领用人"),
        ((two, "move", {"to": "D-NCX"}), 422, "相同"),
        ((two, "move", {"to": "没有这个地方"}), 422, "没有找到地点"),
        ((two, "checkin", {"location_id": str(s.depot)}), 403, "辖区"),  # in the depot: no check-in offered
        ((two, "dispatch_execute", {}), 403, "辖区"),  # no dispatch order waits on this unit
        ((malformed, "checkout", {"counterparty": "县防汛抢险队"}), 422, "校验位"),
        ((unknown, "checkout", {"counterparty": "县防汛抢险队"}), 404, ""),
    ]
    for (code, action, fields), status, words in cases:
        r = await keeper.act(code, action, **fields)
        assert r.status_code == status, (code, action, fields, r.text)
        assert r.headers["content-type"].startswith("application/json"), r.headers
        body = r.json()
        assert body["status"] == "refused", body
        assert CHINESE.search(body["message"]), body
        assert words in body["message"], (fields, body)
    assert await ledger_size(db) == before


async def test_a_key_reused_for_another_action_is_refused_and_writes_nothing(
    client: Any, db: Database, station_as: Any
) -> None:
    """409: the key reused for another request (a station bug, or a forged resend) is refused, not applied."""
    s = await setup(client)
    keeper = await station_as("ncx-keeper", scope_regions=["360121"])
    key = str(uuid.uuid4())
    r = await keeper.act(s.pumps[0]["label_code"], "checkout", key, counterparty="甲队")
    assert r.status_code == 200, r.text
    before = await ledger_size(db)
    r = await keeper.act(s.pumps[1]["label_code"], "checkout", key, counterparty="乙队")
    assert r.status_code in (409, 422), r.text
    assert r.json()["status"] == "refused"
    assert CHINESE.search(r.json()["message"])
    assert await ledger_size(db) == before
    assert await issues_of(db, "乙队") == 0


async def test_without_the_csrf_header_the_station_is_refused(client: Any, db: Database, station_as: Any) -> None:
    s = await setup(client)
    keeper = await station_as("ncx-keeper", scope_regions=["360121"])
    before = await ledger_size(db)
    r = await keeper.act(s.pumps[0]["label_code"], "checkout", csrf=False, counterparty="县防汛抢险队")
    assert r.status_code == 403
    assert await ledger_size(db) == before


async def test_a_lost_session_answers_401_json_not_a_redirect(
    client: Any, db: Database, station_as: Any, anonymous: Any
) -> None:
    """An expired or revoked session cookie (the CSRF token still matches it): 401 JSON; nothing written."""
    s = await setup(client)
    gone = await station_as("gone", session_token="expired-or-revoked-session-token")
    before = await ledger_size(db)
    r = await gone.act(s.pumps[0]["label_code"], "checkout", counterparty="县防汛抢险队")
    assert r.status_code == 401, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["status"] == "signed_out"
    assert "重新登录" in r.json()["message"]
    assert await ledger_size(db) == before

    probe = await gone.client.get("/station/probe")
    assert probe.status_code == 200
    assert probe.headers["cache-control"] == "no-store"
    assert probe.json()["signed_in"] is False
    assert probe.json()["csrf"]


async def test_malformed_bodies_answer_400(client: Any, db: Database, station_as: Any) -> None:
    """Not JSON, missing or unknown fields, a key too short, an action the station does not take: 400."""
    s = await setup(client)
    keeper = await station_as("ncx-keeper", scope_regions=["360121"])
    code = s.pumps[0]["label_code"]
    before = await ledger_size(db)
    good = {"idempotency_key": str(uuid.uuid4()), "code": code, "action": "checkout",
            "fields": {"counterparty": "县防汛抢险队"}, "occurred_at": ""}
    bodies = [b"not json", b"[]", json.dumps({**good, "idempotency_key": "x"}).encode(),
              json.dumps({k: v for k, v in good.items() if k != "code"}).encode(),
              json.dumps({**good, "extra": 1}).encode(), json.dumps({**good, "fields": {"a": [1]}}).encode(),
              json.dumps({**good, "action": "lost"}).encode()]
    for body in bodies:
        r = await keeper.act(code, "checkout", raw=body)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["status"] == "malformed"
        assert CHINESE.search(r.json()["message"])
    r = await keeper.act(code, "checkout", raw=json.dumps({**good, "fields": {"note": "x" * 9000}}).encode())
    assert r.status_code == 413
    assert await ledger_size(db) == before


async def test_the_station_page_opens_for_keepers_and_tells_others_they_cannot_use_it(
    client: Any, db: Database, station_as: Any, anonymous: Any
) -> None:
    """A keeper gets the modes, the code field and the script; an auditor a sentence; signed out → sign-in."""
    await setup(client)
    keeper = await station_as("ncx-keeper", scope_regions=["360121"])
    page = await keeper.client.get("/station")
    assert page.status_code == 200
    for words in ("领用出库", "归还入库", "移库", "到货签收", "检查完好", "动用出库", "现场签收", "动用归还",
                  'id="code"', 'capture="environment"', "/static/station.js", "/static/vendor/jsqr/jsQR.js",
                  "需处理", 'data-pending', 'href="/station"'):
        assert words in page.text, words
    assert re.search(r'data-csrf="[0-9a-f]{32}\.[0-9a-f]{64}"', page.text)
    assert "南昌县综合应急物资储备库" in page.text  # 归还到 offers his places

    auditor = await station_as("auditor-1", role="auditor")
    refused = await auditor.client.get("/station")
    assert refused.status_code == 403
    assert "不能使用" in refused.text
    assert "/static/station.js" not in refused.text
    assert 'href="/station"' not in refused.text  # no nav link for an auditor

    r = await anonymous.get("/station")
    assert (r.status_code, r.headers["location"]) == (303, "/login?next=/station")

    sw = await anonymous.get("/station-sw.js")
    assert sw.status_code == 200
    assert sw.headers["content-type"].startswith("text/javascript")
    assert "caches.open" in sw.text
    jsqr = await anonymous.get("/static/vendor/jsqr/jsQR.js")
    assert jsqr.status_code == 200
    assert "jsQR" in jsqr.text
