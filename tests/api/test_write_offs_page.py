"""The approver's page /write-offs over HTTP, as a phone without script uses it: read, tap 批准 or 驳回."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser
from typing import Any

from tests.api.helpers import item_type_body, location_body, page_client

WRITE_OFFS = "/api/v1/write-offs"
BEIJING = dt.timezone(dt.timedelta(hours=8))


class _Forms(HTMLParser):
    """Every form on a page: its action and the values of its inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, dict[str, str]] = {}
        self._current: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._current = self.forms.setdefault(a.get("action", ""), {})
        elif tag == "input" and self._current is not None and a.get("name"):
            self._current[a["name"]] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def forms(html: str) -> dict[str, dict[str, str]]:
    """Action → the form's fields as a browser would send them (hidden inputs included)."""
    parser = _Forms()
    parser.feed(html)
    return parser.forms


async def make_request(admin: Any, client_as: Any) -> tuple[dict[str, Any], int, int]:
    """A keeper's pending request for 3 of 20 tents at 南昌县's depot; (the request, depot, tent)."""
    depot = (await admin.post("/api/v1/locations", json=location_body("D-NCX"))).json()["id"]
    tent = (await admin.post("/api/v1/item-types", json=item_type_body(
        "TENT-12", name="12平方米单帐篷", unit="顶", tracking="bulk", category="shelter", gbt_code=None,
        attributes={}, tags=[]))).json()["id"]
    r = await admin.post("/api/v1/movements", json={"kind": "receipt", "location_id": depot,
                                                    "lines": [{"item_type_id": tent, "quantity": 20}]})
    assert r.status_code == 201, r.text
    keeper = await client_as("keeper", "wang", scope_regions=["360121"])
    r = await keeper.post(WRITE_OFFS, json={"location_id": depot, "reason": "仓库漏雨，帐篷霉变",
                                            "lines": [{"item_type_id": tent, "quantity": 3}]})
    assert r.status_code == 201, r.text
    return r.json(), depot, tent


async def test_a_commander_approves_a_pending_write_off_with_one_tap_and_a_second_tap_posts_nothing(
    client: Any, client_as: Any,
) -> None:
    req, depot, tent = await make_request(client, client_as)
    chief = await page_client(client_as, "commander", "chief", scope_regions=["3601"])
    home = await chief.get("/")
    assert 'href="/write-offs"' in home.text
    page = await chief.get("/write-offs")
    assert page.status_code == 200, page.text
    created = dt.datetime.fromisoformat(req["created_at"]).astimezone(BEIJING)
    for text in ("待审批的报废申请", f"报废申请 #{req['id']}", "南昌县综合应急物资储备库", "wang", "仓库漏雨，帐篷霉变",
                 "12平方米单帐篷", "3顶", created.strftime("%Y-%m-%d %H:%M"), "批准", "驳回"):
        assert text in page.text, text
    action = f"/write-offs/{req['id']}/approve"
    form = forms(page.text)[action]
    assert form["_csrf_token"] and form["idempotency_key"]
    tapped = [await chief.post(action, data=form) for _ in range(2)]  # a double tap
    assert [(t.status_code, t.headers.get("location")) for t in tapped] == [(303, "/write-offs?done=approve")] * 2
    done = await chief.get("/write-offs?done=approve")
    assert "已批准" in done.text
    assert "没有待审批的报废申请" in done.text
    approved = (await client.get(f"{WRITE_OFFS}/{req['id']}")).json()
    assert (approved["status"], approved["decided_by"]) == ("approved", "chief")
    moves = (await client.get("/api/v1/movements", params={"kind": "write_off"})).json()
    assert [(m["document_id"], m["quantity"]) for m in moves["items"]] == [(approved["document_id"], -3)]
    stock = (await client.get("/api/v1/stock", params={"location_id": depot, "item_type_id": tent})).json()["items"]
    assert (stock[0]["on_hand"], stock[0]["reserved"]) == (17, 0)


async def test_rejecting_on_the_page_needs_a_reason_and_keepers_see_no_buttons(
    client: Any, client_as: Any, anonymous: Any,
) -> None:
    req, _, _ = await make_request(client, client_as)
    chief = await page_client(client_as, "commander", "chief", scope_regions=["3601"])
    action = f"/write-offs/{req['id']}/reject"
    shown = forms((await chief.get("/write-offs")).text)
    form, stale_approve = shown[action], shown[f"/write-offs/{req['id']}/approve"]
    refused = await chief.post(action, data={**form, "reason": " "})
    assert refused.status_code == 422
    assert "驳回必须填写理由" in refused.text
    assert (await client.get(f"{WRITE_OFFS}/{req['id']}")).json()["status"] == "pending"
    form = forms(refused.text)[action]  # the page is shown again with fresh forms
    r = await chief.post(action, data={**form, "reason": "尚可修复"})
    assert (r.status_code, r.headers["location"]) == (303, "/write-offs?done=reject")
    assert (await client.get(f"{WRITE_OFFS}/{req['id']}")).json()["rejection_reason"] == "尚可修复"
    late = await chief.post(f"/write-offs/{req['id']}/approve", data=stale_approve)  # from a page left open
    assert late.status_code == 409
    assert "已驳回" in late.text

    keeper = await page_client(client_as, "keeper", "zhao", scope_regions=["360121"])
    assert 'href="/write-offs"' not in (await keeper.get("/")).text
    signed_out = await anonymous.get("/write-offs")
    assert (signed_out.status_code, signed_out.headers["location"]) == (303, "/login?next=/write-offs")


async def test_a_keeper_sees_a_pending_request_without_buttons_and_cannot_approve_by_posting(
    client: Any, client_as: Any,
) -> None:
    req, _, _ = await make_request(client, client_as)
    keeper = await page_client(client_as, "keeper", "zhao", scope_regions=["360121"])
    page = await keeper.get("/write-offs")
    assert page.status_code == 200, page.text
    assert f"报废申请 #{req['id']}" in page.text
    assert "只有指挥人员或管理员可以审批" in page.text
    assert not forms(page.text).keys() - {"/logout"}
    chief = await page_client(client_as, "commander", "chief", scope_regions=["3601"])
    form = forms((await chief.get("/write-offs")).text)[f"/write-offs/{req['id']}/approve"]
    csrf = forms(page.text)["/logout"]["_csrf_token"]
    r = await keeper.post(f"/write-offs/{req['id']}/approve", data={**form, "_csrf_token": csrf})
    assert r.status_code == 403
    assert (await client.get(f"{WRITE_OFFS}/{req['id']}")).json()["status"] == "pending"
