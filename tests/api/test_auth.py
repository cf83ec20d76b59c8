"""Sign-in, tokens, throttling, disabled accounts, the audit log, security headers, approvers and scope."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from inventory.access import tokens, users
from inventory.access.audit import AuditRecord, record
from inventory.access.sign_in import record_failure
from inventory.store.db import Database
from tests.api.helpers import assert_problem, count, item_type_body, location_body

TOKEN = "/api/v1/auth/token"
ME = "/api/v1/auth/me"
MOVEMENTS = "/api/v1/movements"
WRITE_OFFS = "/api/v1/write-offs"
PASSWORD = "correct-horse-battery"
CHINESE = re.compile(r"[\u4e00-\u9fff]")


async def make_user(db: Database, username: str, role: str = "keeper", password: str = PASSWORD,
                    **scope: Any) -> int:
    """A user with a real Argon2 password, created as the CLI or an admin would."""
    async with db.write() as session:
        user = await users.create_user(session, users.UserCreate(
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
        token, _ = await tokens.issue_token(session, await users.get_user_by_name(session, "zhang"),
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
    monkeypatch.setattr(tokens.TOKENS, "ttl", 0.3)
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
            await record_failure(session, "zhang", "10.0.0.9")
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
                   422, "kind")
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


async def test_a_write_off_is_approved_by_a_commander_in_scope_or_an_admin_never_by_the_requester(
    client: Any, client_as: Any,
) -> None:
    depots = await make_depots(client)
    keeper = await client_as("keeper", "wang", scope_regions=["360121"])
    colleague = await client_as("keeper", "zhao", scope_regions=["360121"])
    far_chief = await client_as("commander", "far-chief", scope_regions=["3607"])  # 赣州市
    chief = await client_as("commander", "chief", scope_regions=["3601"])
    body = {"location_id": depots.inside, "lines": [{"item_type_id": depots.tent, "quantity": 2}], "reason": "霉变"}
    assert_problem(await keeper.post(MOVEMENTS, json=doc("write_off", depots.inside, depots.tent, 2, reason="霉变",
                                                         approver="chief")), 422, "kind")
    r = await keeper.post(WRITE_OFFS, json=body)
    assert r.status_code == 201, r.text
    wang = r.json()
    r = await client.post(WRITE_OFFS, json=body)
    assert r.status_code == 201, r.text
    admins_own = r.json()
    for who in (colleague, far_chief):  # a keeper may not approve; a commander only in scope
        assert CHINESE.search(assert_problem(await who.post(f"{WRITE_OFFS}/{wang['id']}/approve"), 403)["detail"])
    assert CHINESE.search(assert_problem(await client.post(f"{WRITE_OFFS}/{admins_own['id']}/approve"), 403)[
        "detail"])  # an admin approving his own request
    r = await chief.post(f"{WRITE_OFFS}/{wang['id']}/approve")
    assert r.status_code == 200, r.text
    document = (await client.get(f"/api/v1/documents/{r.json()['document_id']}")).json()
    assert (document["kind"], document["actor"], document["approver"]) == ("write_off", "wang", "chief")
    r = await keeper.post(f"{WRITE_OFFS}/{admins_own['id']}/approve")
    assert_problem(r, 403)
    assert (await chief.post(f"{WRITE_OFFS}/{admins_own['id']}/approve")).status_code == 200
    stock = (await client.get("/api/v1/stock", params={"location_id": depots.inside})).json()["items"][0]
    assert (stock["on_hand"], stock["reserved"]) == (96, 0)


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

    from inventory.store.models import AuthToken

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


# --- phone forms across restarts, CSRF bound to the session, the API by bearer token only --------------------


class _Forms(HTMLParser):
    """Every form of a page: its attributes and the values of its inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[dict[str, str], dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append((named, {}))
        elif tag == "input" and self.forms and named.get("name"):
            self.forms[-1][1][named["name"]] = named.get("value", "")


def form_fields(html: str, **attrs: str) -> dict[str, str]:
    """The inputs of the one form whose attributes include ``attrs``."""
    parser = _Forms()
    parser.feed(html)
    [fields] = [f for a, f in parser.forms if all(a.get(k) == v for k, v in attrs.items())]
    return fields


def page_app(db_url: str, **settings: str) -> tuple[Any, Database]:
    """A server process of its own on this database (its own engine, settings read as at start-up)."""
    from api.app import create_app
    from inventory.config import load_settings

    database = Database(db_url)
    settings = {"public_url": "http://inventory.test", **settings}
    return create_app(load_settings(database_url=db_url, **settings), db=database), database


def phone(app: Any, cookies: Any = None) -> Any:
    """A phone's browser talking to this server process."""
    import httpx

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("10.0.0.8", 50000)),
                             base_url="http://inventory.test", cookies=cookies)


async def page_sign_in(c: Any, username: str, password: str = PASSWORD) -> None:
    """Sign in through the phone form, as a browser does: the page, then the form with its own token."""
    page = await c.get("/login")
    assert page.status_code == 200, page.text
    r = await c.post("/login", data={**form_fields(page.text, action="/login"), "username": username,
                                     "password": password})
    assert r.status_code == 303, r.text
    assert c.cookies.get("inv_session")


async def make_pump(admin: Any) -> str:
    """A ready pump in 南昌县 (a keeper scoped to 360121 may inspect it); its label code."""
    depot = (await admin.post("/api/v1/locations", json=location_body("D-NCX"))).json()["id"]
    pump = (await admin.post("/api/v1/item-types", json=item_type_body())).json()["id"]
    r = await admin.post("/api/v1/assets", json={"item_type_id": pump, "serial_number": "BC-1", "location_id": depot})
    assert r.status_code == 201, r.text
    code: str = r.json()["label_code"]
    return code


async def test_a_sign_in_form_loaded_before_a_restart_is_accepted_after_it(
    db: Database, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("INVENTORY_SECRET_KEY", raising=False)  # the default, as in the Containerfile
    await make_user(db, "zhang")
    before, first = page_app(db.url)
    async with phone(before) as c:
        page = await c.get("/login")
        fields, cookies = form_fields(page.text, action="/login"), c.cookies
    await first.dispose()  # the process ends; another one starts on the same database
    after, second = page_app(db.url)
    try:
        async with phone(after, cookies) as c:
            r = await c.post("/login", data={**fields, "username": "zhang", "password": PASSWORD})
            assert r.status_code == 303, r.text
            assert r.cookies.get("inv_session")
    finally:
        await second.dispose()


async def test_a_scan_page_form_loaded_before_a_restart_is_accepted_after_it(
    db: Database, client: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("INVENTORY_SECRET_KEY", raising=False)
    code = await make_pump(client)
    await make_user(db, "wang", "keeper", scope_regions=["360121"])
    before, first = page_app(db.url)
    async with phone(before) as c:
        await page_sign_in(c, "wang")
        page = await c.get(f"/s/{code}")
        assert page.status_code == 200, page.text
        fields, cookies = form_fields(page.text, **{"data-action": "inspect"}), c.cookies
    await first.dispose()
    after, second = page_app(db.url)
    try:
        async with phone(after, cookies) as c:
            r = await c.post(f"/s/{code}", data={**fields, "result": "ok", "note": "重启后提交"})
            assert r.status_code == 303, r.text
            assert r.headers["location"].endswith("done=inspect")
    finally:
        await second.dispose()
    [done] = await audit_entries(client, user="wang", outcome="ok")
    assert done["path"] == f"/s/{code}"


async def test_the_generated_secret_is_made_once_even_when_processes_start_at_once(db: Database) -> None:
    import threading

    from inventory.access.secret_key import SETTING, shared_secret

    starting = threading.Barrier(4)

    def start_process() -> str:
        """What a server process does first: its own event loop and engine, then the key."""
        async def run() -> str:
            database = Database(db.url)
            try:
                starting.wait(timeout=10)
                return await shared_secret(database)
            finally:
                await database.dispose()

        return asyncio.run(run())

    secrets_seen = await asyncio.gather(*(asyncio.to_thread(start_process) for _ in range(4)))
    assert len(set(secrets_seen)) == 1
    assert len(secrets_seen[0]) >= 32
    async with db.read() as session:
        rows = (await session.execute(text("SELECT value FROM settings WHERE key = :k"), {"k": SETTING})).all()
    assert rows == [(secrets_seen[0],)]
    assert await shared_secret(db) == secrets_seen[0]


@pytest.mark.parametrize("stale", ["signed-elsewhere", "garbage"])
async def test_a_page_replaces_a_csrf_cookie_that_no_longer_verifies(
    db: Database, anonymous: Any, monkeypatch: pytest.MonkeyPatch, stale: str,
) -> None:
    await make_user(db, "zhang")
    old = "not-a-token"
    if stale == "signed-elsewhere":  # by a process that had another secret
        other, database = page_app(db.url, secret_key="another-secret-key-of-another-process")
        async with phone(other) as c:
            old = (await c.get("/login")).cookies["inv_csrf"]
        await database.dispose()
    anonymous.cookies.set("inv_csrf", old)
    page = await anonymous.get("/login")
    fresh = page.cookies.get("inv_csrf")
    assert fresh and fresh != old, "the page set a new CSRF cookie"
    fields = form_fields(page.text, action="/login")
    assert fields["_csrf_token"] == fresh
    anonymous.cookies.set("inv_csrf", fresh)
    r = await anonymous.post("/login", data={**fields, "username": "zhang", "password": PASSWORD})
    assert r.status_code == 303, r.text


async def test_a_csrf_token_planted_from_elsewhere_does_not_pass_for_the_signed_in_session(
    db: Database, app: Any, client: Any,
) -> None:
    code = await make_pump(client)
    await make_user(db, "wang", "keeper", scope_regions=["360121"])
    await make_user(db, "mallory", "keeper", scope_regions=["360121"])
    async with phone(app) as attacker, phone(app) as victim:
        anonymous_token = (await attacker.get("/login")).cookies["inv_csrf"]
        await page_sign_in(attacker, "mallory")
        own_page = await attacker.get(f"/s/{code}")
        mallorys_token = form_fields(own_page.text, **{"data-action": "inspect"})["_csrf_token"]
        await page_sign_in(victim, "wang")
        for planted in (anonymous_token, mallorys_token):
            # A sibling subdomain sets the cookie for the whole site; its page posts the matching field.
            victim.cookies.set("inv_csrf", planted, domain="inventory.test")
            forged = await victim.post(f"/s/{code}", data={
                "_csrf_token": planted, "action": "inspect", "idempotency_key": planted[:32], "result": "fault",
                "note": "伪造"})
            assert forged.status_code == 403, forged.text
    assert await audit_entries(client, user="wang", outcome="ok") == []


async def test_the_api_does_not_take_the_phone_session_cookie_even_for_a_text_plain_post(
    db: Database, app: Any, client: Any,
) -> None:
    import json

    depots = await make_depots(client)
    await make_user(db, "wang", "keeper", scope_regions=["360121"])
    movements = await count(client, MOVEMENTS)
    async with phone(app) as browser:
        await page_sign_in(browser, "wang")
        # What a page on another site can send without a preflight: a "simple" text/plain POST, cookies included.
        forged = await browser.post(MOVEMENTS, content=json.dumps(doc("receipt", depots.inside, depots.tent, 5)),
                                    headers={"content-type": "text/plain", "origin": "https://evil.example"})
        assert forged.status_code in (401, 403), forged.text
        assert (await browser.get(ME)).status_code == 401
    assert await count(client, MOVEMENTS) == movements


async def test_a_csrf_refused_form_and_posts_to_unknown_paths_are_in_the_audit_log(
    client: Any, anonymous: Any,
) -> None:
    refused = await anonymous.post("/login", data={"username": "zhang", "password": PASSWORD, "next": "/"})
    assert refused.status_code == 403
    assert (await anonymous.post("/api/v1/nonexistent", json={"x": 1})).status_code == 404
    assert (await client.post("/no-such-page", data={"a": "b"})).status_code == 404
    assert (await client.delete("/api/v1/regions")).status_code == 405
    entries = {(e["method"], e["path"]): e for e in await audit_entries(client)}
    csrf = entries[("POST", "/login")]
    assert (csrf["status_code"], csrf["outcome"], csrf["username"]) == (403, "denied", "-")
    assert "CSRF" in csrf["summary"]
    unknown = entries[("POST", "/api/v1/nonexistent")]
    assert (unknown["status_code"], unknown["outcome"], unknown["client_ip"]) == (404, "rejected", "10.0.0.7")
    assert entries[("POST", "/no-such-page")]["status_code"] == 404
    assert entries[("DELETE", "/api/v1/regions")]["status_code"] == 405


@pytest.mark.parametrize(("method", "path", "status"), [
    ("POST", MOVEMENTS, 401), ("POST", "/login", 403), ("POST", "/api/v1/nonexistent", 404)])
async def test_a_refused_write_is_in_the_audit_log_before_its_answer_is_sent(
    db: Database, app: Any, method: str, path: str, status: int,
) -> None:
    import httpx

    seen_at_answer: list[int] = []

    async def server_watched(scope: Any, receive: Any, send: Any) -> None:
        async def watched_send(message: Any) -> None:
            if message["type"] == "http.response.start":  # the answer leaves now: a crash after this loses nothing
                async with db.read() as session:
                    seen_at_answer.append(int(await session.scalar(text("SELECT count(*) FROM audit_log")) or 0))
            await send(message)

        await app(scope, receive, watched_send)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=server_watched),
                                 base_url="http://inventory.test") as c:
        r = await c.request(method, path, json={"kind": "receipt"})
    assert r.status_code == status, r.text
    assert seen_at_answer == [1]


async def test_on_https_the_csrf_cookie_is_host_only_and_a_plain_one_from_a_subdomain_is_not_taken(
    db: Database,
) -> None:
    import httpx

    await make_user(db, "zhang")
    app, database = page_app(db.url, public_url="https://inventory.test")
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://inventory.test") as c:
            page = await c.get("/login")
            set_cookie = page.headers["set-cookie"]
            assert set_cookie.startswith("__Host-inv_csrf="), set_cookie
            assert "Secure" in set_cookie and "Path=/" in set_cookie and "Domain" not in set_cookie
            fields = form_fields(page.text, action="/login")
            planted = httpx.Cookies()
            planted.set("inv_csrf", fields["_csrf_token"], domain="inventory.test")  # what a subdomain can set
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://inventory.test",
                                         cookies=planted) as victim:
                refused = await victim.post("/login", data={**fields, "username": "zhang", "password": PASSWORD})
                assert refused.status_code == 403
            r = await c.post("/login", data={**fields, "username": "zhang", "password": PASSWORD})
            assert r.status_code == 303, r.text
    finally:
        await database.dispose()
