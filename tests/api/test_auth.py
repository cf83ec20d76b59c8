"""Sign-in, tokens, throttling, disabled accounts, the audit log, security headers, approvers and scope."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from inventory import accounts
from inventory.audit import AuditRecord, record
from inventory.db import Database
from tests.api.helpers import count, item_type_body, location_body

PROBLEM = "application/problem+json"
TOKEN = "/api/v1/auth/token"
ME = "/api/v1/auth/me"
MOVEMENTS = "/api/v1/movements"
PASSWORD = "correct-horse-battery"
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def assert_problem(r: Any, status: int, field: str | None = None) -> dict[str, Any]:
    """A problem+json answer with this status, naming ``field`` in its errors."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    assert body["detail"]
    if field is not None:
        assert field in [e["field"] for e in body.get("errors", [])], body
    return body


async def make_user(db: Database, username: str, role: str = "keeper", password: str = PASSWORD,
                    **scope: Any) -> int:
    """A user with a real Argon2 password, created as the CLI or an admin would."""
    async with db.write() as session:
        user = await accounts.create_user(session, accounts.UserCreate(
            username=username, password=password, role=role, **scope))
        return user.id


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


async def signed_in(anonymous: Any, username: str, password: str = PASSWORD) -> str:
    """Sign in through the API; the token."""
    r = await anonymous.post(TOKEN, json={"username": username, "password": password})
    assert r.status_code == 201, r.text
    token: str = r.json()["token"]
    return token


@dataclass
class Depots:
    """A depot in the keeper's county (南昌县) and one outside it (东湖区), with tents at both."""

    inside: int
    outside: int
    tent: int


async def make_depots(admin: Any) -> Depots:
    """Two depots on either side of the scope line, 100 tents received at each."""
    ids = []
    for body in (location_body("D-NCX"), location_body("D-DHQ", name="东湖区应急物资储备库", region_code="360102",
                                                       lat=28.68, lon=115.90)):
        r = await admin.post("/api/v1/locations", json=body)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    r = await admin.post("/api/v1/item-types", json=item_type_body(
        "TENT-12", name="12平方米单帐篷", unit="顶", tracking="bulk", category="shelter", gbt_code=None,
        attributes={}, tags=[]))
    assert r.status_code == 201, r.text
    tent = r.json()["id"]
    for location in ids:
        r = await admin.post(MOVEMENTS, json=doc("receipt", location, tent, 100))
        assert r.status_code == 201, r.text
    return Depots(ids[0], ids[1], tent)


def doc(kind: str, location: int, item: int, quantity: int, **kw: Any) -> dict[str, Any]:
    """A one-line document body."""
    return {"kind": kind, "location_id": location, "lines": [{"item_type_id": item, "quantity": quantity}], **kw}


async def audit_entries(client: Any, **params: Any) -> list[dict[str, Any]]:
    """Entries of GET /api/v1/audit, newest first."""
    r = await client.get("/api/v1/audit", params={"limit": 500, **params})
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


# --- sign-in and tokens -------------------------------------------------------------------------------------


async def test_sign_in_returns_a_token_that_identifies_the_user(db: Database, anonymous: Any) -> None:
    await make_user(db, "zhang", "keeper", scope_regions=["360121"])
    r = await anonymous.post(TOKEN, json={"username": "zhang", "password": PASSWORD})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    assert len(body["token"]) >= 32
    assert body["user"]["username"] == "zhang"
    assert body["user"]["scope_regions"] == ["360121"]
    assert dt.datetime.fromisoformat(body["expires_at"]) > dt.datetime.now(dt.UTC)
    assert r.headers["cache-control"] == "no-store"
    me = await anonymous.get(ME, headers=bearer(body["token"]))
    assert me.status_code == 200, me.text
    assert (me.json()["username"], me.json()["role"]) == ("zhang", "keeper")


async def test_wrong_password_and_unknown_username_get_the_same_401(db: Database, anonymous: Any) -> None:
    await make_user(db, "zhang")
    wrong = assert_problem(await anonymous.post(TOKEN, json={"username": "zhang", "password": "not-the-password"}),
                           401)
    unknown = assert_problem(await anonymous.post(TOKEN, json={"username": "nobody", "password": PASSWORD}), 401)
    assert wrong["detail"] == unknown["detail"]
    assert CHINESE.search(wrong["detail"])


async def test_a_missing_or_made_up_token_is_401_with_www_authenticate(anonymous: Any) -> None:
    for headers in ({}, bearer("made-up-token"), {"Authorization": "Basic YWRtaW46YWRtaW4="}):
        r = await anonymous.get(ME, headers=headers)
        assert_problem(r, 401)
        assert r.headers["www-authenticate"].startswith("Bearer")


async def test_an_expired_token_is_refused(db: Database, anonymous: Any) -> None:
    await make_user(db, "zhang")
    async with db.write() as session:
        token, _ = await accounts.issue_token(session, await accounts.get_user_by_name(session, "zhang"),
                                              ttl=dt.timedelta(seconds=-1))
    body = assert_problem(await anonymous.get(ME, headers=bearer(token)), 401)
    assert "过期" in body["detail"]


async def test_signing_out_revokes_only_that_token(db: Database, anonymous: Any) -> None:
    await make_user(db, "zhang")
    first, second = await signed_in(anonymous, "zhang"), await signed_in(anonymous, "zhang")
    r = await anonymous.delete(TOKEN, headers=bearer(first))
    assert r.status_code == 204, r.text
    body = assert_problem(await anonymous.get(ME, headers=bearer(first)), 401)
    assert "注销" in body["detail"]
    assert (await anonymous.get(ME, headers=bearer(second))).status_code == 200


async def test_a_disabled_user_is_signed_out_and_cannot_sign_in(db: Database, client: Any, anonymous: Any) -> None:
    user_id = await make_user(db, "zhang")
    token = await signed_in(anonymous, "zhang")
    r = await client.patch(f"/api/v1/users/{user_id}", json={"active": False})
    assert r.status_code == 200, r.text
    assert r.json()["active"] is False
    assert_problem(await anonymous.get(ME, headers=bearer(token)), 401)
    refused = assert_problem(await anonymous.post(TOKEN, json={"username": "zhang", "password": PASSWORD}), 401)
    assert refused["detail"] == assert_problem(
        await anonymous.post(TOKEN, json={"username": "zhang", "password": "wrong-password"}), 401)["detail"]
    assert (await client.patch(f"/api/v1/users/{user_id}", json={"active": True})).status_code == 200
    assert_problem(await anonymous.get(ME, headers=bearer(token)), 401)  # re-enabling does not revive old tokens
    assert (await anonymous.get(ME, headers=bearer(await signed_in(anonymous, "zhang")))).status_code == 200


async def test_a_disabled_users_token_is_refused_even_if_it_was_never_revoked(db: Database, anonymous: Any) -> None:
    user_id = await make_user(db, "zhang")
    token = await signed_in(anonymous, "zhang")
    async with db.write() as session:
        await session.execute(text("UPDATE users SET active = :no WHERE id = :id"), {"no": False, "id": user_id})
    body = assert_problem(await anonymous.get(ME, headers=bearer(token)), 401)
    assert "停用" in body["detail"]


async def test_a_used_token_is_refused_at_once_when_the_service_disables_its_user(
    db: Database, client: Any, anonymous: Any,
) -> None:
    user_id = await make_user(db, "zhang")
    token = await signed_in(anonymous, "zhang")
    assert (await anonymous.get(ME, headers=bearer(token))).status_code == 200  # the token is now remembered
    assert (await client.patch(f"/api/v1/users/{user_id}", json={"role": "auditor"})).status_code == 200
    assert (await anonymous.get(ME, headers=bearer(token))).json()["role"] == "auditor"
    assert (await client.patch(f"/api/v1/users/{user_id}", json={"active": False})).status_code == 200
    assert_problem(await anonymous.get(ME, headers=bearer(token)), 401)


async def test_a_change_made_by_another_process_takes_effect_within_the_token_cache_time(
    db: Database, anonymous: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(accounts.TOKENS, "ttl", 0.3)
    user_id = await make_user(db, "zhang")
    token = await signed_in(anonymous, "zhang")
    assert (await anonymous.get(ME, headers=bearer(token))).status_code == 200
    async with db.write() as session:  # as `inventory users disable` beside the server would
        await session.execute(text("UPDATE users SET active = :no WHERE id = :id"), {"no": False, "id": user_id})
    await asyncio.sleep(0.35)
    body = assert_problem(await anonymous.get(ME, headers=bearer(token)), 401)
    assert "停用" in body["detail"]


async def test_five_failed_sign_ins_throttle_that_username_only(db: Database, anonymous: Any) -> None:
    await make_user(db, "zhang")
    await make_user(db, "li")
    for _ in range(5):
        assert_problem(await anonymous.post(TOKEN, json={"username": "zhang", "password": "guess-guess"}), 401)
    r = await anonymous.post(TOKEN, json={"username": "zhang", "password": PASSWORD})
    assert_problem(r, 429)
    assert 0 < int(r.headers["retry-after"]) <= 15 * 60
    assert (await anonymous.post(TOKEN, json={"username": "li", "password": PASSWORD})).status_code == 201


async def test_failures_older_than_fifteen_minutes_do_not_throttle(db: Database, anonymous: Any) -> None:
    await make_user(db, "zhang")
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16)
    async with db.write() as session:
        for _ in range(5):
            await accounts.record_failure(session, "zhang", "10.0.0.9")
        await session.execute(text("UPDATE login_failures SET at = :at"), {"at": long_ago.replace(tzinfo=None)})
    assert (await anonymous.post(TOKEN, json={"username": "zhang", "password": PASSWORD})).status_code == 201


# --- passwords stay secret ----------------------------------------------------------------------------------


async def test_passwords_and_hashes_never_leave_the_service(db: Database, client: Any, anonymous: Any) -> None:
    secret, changed = "very-secret-password-1", "another-secret-password-2"
    r = await client.post("/api/v1/users", json={"username": "zhang", "password": secret, "role": "keeper",
                                                 "scope_regions": ["360121"]})
    assert r.status_code == 201, r.text
    user_id = r.json()["id"]
    responses = [r]
    responses.append(await client.post("/api/v1/users", json={"username": "zhang", "password": secret,
                                                              "role": "keeper"}))  # 409
    responses.append(await client.post("/api/v1/users", json={"username": "li", "password": "tiny-pw1",
                                                              "role": "keeper"}))  # 422
    responses.append(await client.patch(f"/api/v1/users/{user_id}", json={"password": changed}))
    responses.append(await anonymous.post(TOKEN, json={"username": "zhang", "password": secret}))  # old: 401
    responses.append(await anonymous.post(TOKEN, json={"username": "zhang", "password": changed}))
    responses.append(await client.get("/api/v1/users"))
    responses.append(await client.get(f"/api/v1/users/{user_id}"))
    responses.append(await client.get(ME))
    assert [x.status_code for x in responses] == [201, 409, 422, 200, 401, 201, 200, 200, 200]
    for x in responses:
        for leaked in (secret, changed, "tiny-pw1", "$argon2", "password_hash"):
            assert leaked not in x.text, (x.request.url, x.text)
    async with db.read() as session:
        rows = (await session.execute(text("SELECT * FROM audit_log"))).all()
    assert len(rows) >= 4
    dump = repr(rows)
    for leaked in (secret, changed, "$argon2"):
        assert leaked not in dump


# --- the audit log ------------------------------------------------------------------------------------------


async def test_a_successful_write_is_audited_with_who_what_and_the_idempotency_key(
    client: Any, client_as: Any,
) -> None:
    depots = await make_depots(client)
    keeper = await client_as("keeper", "wang", scope_regions=["360121"])
    r = await keeper.post(MOVEMENTS, json=doc("issue", depots.inside, depots.tent, 3),
                          headers={"Idempotency-Key": "flood-2026-07-issue-1"})
    assert r.status_code == 201, r.text
    doc_id = r.json()["id"]
    [entry] = await audit_entries(client, user="wang")
    assert {k: entry[k] for k in ("username", "role", "action", "method", "path", "target_type", "target_ids",
                                  "idempotency_key", "outcome", "status_code", "client_ip")} == {
        "username": "wang", "role": "keeper", "action": "movements.post", "method": "POST", "path": MOVEMENTS,
        "target_type": "document", "target_ids": str(doc_id), "idempotency_key": "flood-2026-07-issue-1",
        "outcome": "ok", "status_code": 201, "client_ip": "10.0.0.7"}
    assert entry["user_id"]
    assert r.json()["number"] in entry["summary"]
    assert [e["id"] for e in await audit_entries(client, target=f"document:{doc_id}")] == [entry["id"]]
    assert [e["id"] for e in await audit_entries(client, target=str(doc_id), action="movements.post")] == [entry["id"]]


async def test_refused_writes_are_audited_as_denied_or_rejected(client: Any, client_as: Any, anonymous: Any) -> None:
    depots = await make_depots(client)
    keeper = await client_as("keeper", "wang", scope_regions=["360121"])
    assert_problem(await keeper.post("/api/v1/locations", json=location_body("D-NEW")), 403)
    assert_problem(await keeper.post(MOVEMENTS, json=doc("issue", depots.outside, depots.tent, 1)), 403)
    assert_problem(await keeper.post(MOVEMENTS, json={**doc("issue", depots.inside, depots.tent, 1), "kind": "gift"}),
                       422)
    assert_problem(await keeper.post(MOVEMENTS, json=doc("write_off", depots.inside, depots.tent, 1, reason="霉变")),
                   422, "approver")
    assert_problem(await anonymous.post(MOVEMENTS, json=doc("issue", depots.inside, depots.tent, 1)), 401)
    entries = await audit_entries(client, user="wang")
    assert [(e["action"], e["outcome"], e["status_code"]) for e in reversed(entries)] == [
        ("locations.write", "denied", 403), ("movements.post", "denied", 403),
        ("movements.post", "rejected", 422), ("movements.post", "rejected", 422)]
    assert all(e["role"] == "keeper" and e["user_id"] and e["summary"] for e in entries)
    assert "辖区" in entries[2]["summary"]
    [unsigned] = await audit_entries(client, user="-")
    assert (unsigned["outcome"], unsigned["status_code"], unsigned["action"]) == ("denied", 401, "movements.post")
    assert len(await audit_entries(client, outcome="denied")) == 3


@pytest.mark.parametrize(("role", "status"), [("admin", 200), ("auditor", 200), ("commander", 403), ("keeper", 403)])
async def test_only_admins_and_auditors_read_the_audit_log(client_as: Any, role: str, status: int) -> None:
    reader = await client_as(role, f"reader-{role}")
    r = await reader.get("/api/v1/audit")
    assert r.status_code == status, r.text
    if status == 403:
        assert_problem(r, 403)


async def test_the_database_refuses_to_update_or_delete_audit_entries(db: Database) -> None:
    async with db.write() as session:
        await record(session, AuditRecord(user_id=1, username="wang", role="keeper", client_ip="10.0.0.7",
                                          action="movements.post", method="POST", path=MOVEMENTS, outcome="ok",
                                          status_code=201))
    for statement in ("UPDATE audit_log SET outcome = 'denied'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with db.write() as session:
                await session.execute(text(statement))
    async with db.read() as session:
        assert (await session.execute(text("SELECT username, outcome FROM audit_log"))).all() == [("wang", "ok")]


# --- security headers ---------------------------------------------------------------------------------------


async def test_every_kind_of_response_carries_the_security_headers(client: Any, anonymous: Any) -> None:
    responses = [await anonymous.get("/health"), await anonymous.get(ME), await client.get("/api/v1/regions"),
                 await client.get("/api/v1/locations/999"), await client.post("/api/v1/locations", json={}),
                 await anonymous.get("/schema/openapi.json")]
    assert [r.status_code for r in responses] == [200, 401, 200, 404, 422, 200]
    for r in responses:
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"], r.request.url
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"]


async def test_answers_for_unknown_paths_and_methods_carry_the_security_headers(client: Any) -> None:
    responses = [await client.get("/no-such-page"), await client.delete("/api/v1/locations")]
    assert [r.status_code for r in responses] == [404, 405]
    for r in responses:
        assert "frame-ancestors 'none'" in r.headers.get("content-security-policy", ""), r.request.url


# --- approvers and scope ------------------------------------------------------------------------------------


async def test_a_write_off_needs_an_active_commander_or_admin_other_than_the_requester(
    db: Database, client: Any, client_as: Any,
) -> None:
    depots = await make_depots(client)
    keeper = await client_as("keeper", "wang", scope_regions=["360121"])
    await client_as("keeper", "zhao", scope_regions=["360121"])
    retired = await make_user(db, "retired-chief", "commander")
    async with db.write() as session:
        await accounts.update_user(session, retired, accounts.UserUpdate(active=False))

    def write_off(approver: str | None) -> dict[str, Any]:
        return doc("write_off", depots.inside, depots.tent, 2, reason="霉变", approver=approver)

    for approver in (None, "", "wang", "zhao", "retired-chief", "王局长"):
        body = assert_problem(await keeper.post(MOVEMENTS, json=write_off(approver)), 422, "approver")
        assert CHINESE.search(body["detail"])
    assert_problem(await client.post(MOVEMENTS, json=write_off("admin")), 422, "approver")  # admin approving self
    r = await keeper.post(MOVEMENTS, json=write_off("approver"))
    assert r.status_code == 201, r.text
    assert (r.json()["approver"], r.json()["actor"]) == ("approver", "wang")
    r = await keeper.post(MOVEMENTS, json=write_off("admin"))
    assert r.status_code == 201, r.text
    assert (await client.get("/api/v1/stock", params={"location_id": depots.inside})).json()["items"][0][
        "on_hand"] == 96


async def test_a_keeper_cannot_post_outside_their_scope_and_nothing_is_written(client: Any, client_as: Any) -> None:
    depots = await make_depots(client)
    keeper = await client_as("keeper", "wang", scope_regions=["360121"])
    movements, audited = await count(client, MOVEMENTS), await count(client, "/api/v1/audit")
    for body in (doc("issue", depots.outside, depots.tent, 5),
                 doc("transfer", depots.outside, depots.tent, 5, to_location_id=depots.inside)):
        r = await keeper.post(MOVEMENTS, json=body, headers={"Idempotency-Key": f"out-{body['kind']}"})
        detail = assert_problem(r, 403)["detail"]
        assert CHINESE.search(detail), detail
        assert "辖区" in detail, detail
        assert str(depots.outside) in detail, detail
    assert await count(client, MOVEMENTS) == movements
    stock = (await client.get("/api/v1/stock", params={"location_id": depots.outside})).json()["items"]
    assert [row["on_hand"] for row in stock] == [100]
    assert await count(client, "/api/v1/audit") == audited + 2  # only the two refusals
    r = await keeper.post(MOVEMENTS, json=doc("transfer", depots.inside, depots.tent, 5,
                                              to_location_id=depots.outside))
    assert r.status_code == 201, r.text  # sending from inside the scope to anywhere is the keeper's to do


async def test_a_keeper_scoped_to_a_depot_may_work_in_its_bins_only(db: Database, client: Any, client_as: Any) -> None:
    depots = await make_depots(client)
    r = await client.post("/api/v1/locations", json=location_body("D-NCX-A1", kind="bin", name="A区1号货架",
                                                                  parent_id=depots.inside))
    assert r.status_code == 201, r.text
    shelf = r.json()["id"]
    keeper = await client_as("keeper", "wang", scope_locations=[depots.inside])
    for location in (depots.inside, shelf):
        r = await keeper.post(MOVEMENTS, json=doc("receipt", location, depots.tent, 1))
        assert r.status_code == 201, r.text
    assert_problem(await keeper.post(MOVEMENTS, json=doc("receipt", depots.outside, depots.tent, 1)), 403)


async def test_a_page_form_without_its_csrf_token_is_refused_and_changes_nothing(
    anonymous: Any, sign_in: Any, db: Any
) -> None:
    from sqlalchemy import func, select

    from inventory.models import AuthToken

    await sign_in("keeper", "csrf-keeper", scope_regions=["360121"])
    async with db.read() as session:
        before = await session.scalar(select(func.count()).select_from(AuthToken))
    form = {"username": "csrf-keeper", "password": "test-password-123", "next": "/"}
    refused = await anonymous.post("/login", data=form)
    assert refused.status_code == 403
    assert "csrf" in refused.text.lower()
    assert "inv_session" not in refused.cookies
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(AuthToken)) == before
    page = await anonymous.get("/login")
    token = page.cookies["inv_csrf"]
    accepted = await anonymous.post("/login", data={**form, "_csrf_token": token},
                                    headers={"cookie": f"inv_csrf={token}"})
    assert accepted.status_code == 303
    assert "inv_session" in accepted.cookies
