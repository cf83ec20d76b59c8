"""The pages of requests between units (物资调用申请) over HTTP, as a phone without script uses them: the lists, the
form that sends a request (filled in from the availability page's link), one request with its accept and
decline forms; own stock first on the availability page.

A form is carried out once whatever the number of taps (its idempotency key); a refusal is shown on the page
naming the field, with nothing changed; a keeper or an auditor gets 403 on every form.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.api.helpers import created, item_type_body, location_body, page_client

BREACH = {"lat": 28.55, "lon": 115.94}  # a levee breach in 南昌县
NCX, DHQ = "360121", "360102"  # 南昌县, 东湖区


class _Forms(HTMLParser):
    """Every form of a page: its action and fields as a browser would post them untouched (the first option of a
    select unless another is selected, a textarea's text; unticked checkboxes left out)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._form: dict[str, str] | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = {}
            self.forms.append((a.get("action", ""), self._form))
        elif self._form is None:
            return
        elif tag == "input" and a.get("name"):
            if a.get("type") != "checkbox" or "checked" in a:
                self._form[a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and (self._select not in self._form or "selected" in a):
            self._form[self._select] = a.get("value", "")
        elif tag == "textarea" and a.get("name"):
            self._textarea = a["name"]
            self._form[self._textarea] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._form is not None and self._textarea:
            self._form[self._textarea] += data


def forms(html: str, action: str) -> list[dict[str, str]]:
    parser = _Forms()
    parser.feed(html)
    return [fields for act, fields in parser.forms if act == action]


def one_form(html: str, action: str) -> dict[str, str]:
    found = forms(html, action)
    assert len(found) == 1, f"one form posting to {action}: {len(found)}\n{html[:3000]}"
    return found[0]


async def stock(admin: Any) -> dict[str, int]:
    """Two pumps at 南昌县's depot, two at 东湖区's and sandbags there; an open incident at the breach."""
    ncx = (await created(admin, "/api/v1/locations", location_body("D-NCX")))["id"]
    dhq = (await created(admin, "/api/v1/locations", location_body(
        "D-DHQ", name="东湖区应急物资储备库", region_code=DHQ, lat=28.68, lon=115.90,
        contact_phone="0791-86660000")))["id"]
    pump = (await created(admin, "/api/v1/item-types", item_type_body()))["id"]
    bag = (await created(admin, "/api/v1/item-types", item_type_body(
        "BAG", name="编织袋", unit="条", tracking="bulk", category="flood_control", gbt_code=None, attributes={},
        tags=[], inspection_interval_days=None)))["id"]
    for n, where in enumerate((ncx, ncx, dhq, dhq)):
        await created(admin, "/api/v1/assets", {"item_type_id": pump, "serial_number": f"SN-{n}",
                                                "location_id": where, "readiness": "ok"})
    await created(admin, "/api/v1/movements", {"kind": "receipt", "location_id": dhq,
                                               "lines": [{"item_type_id": bag, "quantity": 300}]})
    incident = (await created(admin, "/api/v1/incidents", {"name": "南昌县圩堤决口", "kind": "flood",
                                                           "region_code": NCX, **BREACH}))["id"]
    return {"ncx": ncx, "dhq": dhq, "pump": pump, "bag": bag, "incident": incident}


def filled(form: dict[str, str], **values: str) -> dict[str, str]:
    """The request form as a commander completes it."""
    return {**form, "purpose": "圩堤管涌抢险排涝", "contact_phone": "13800000000", **values}


async def send_from_form(ncx_chief: Any, ids: dict[str, int], quantity: int = 2) -> tuple[int, dict[str, str]]:
    """The 南昌县 commander asks 东湖区 for pumps through the form (as the availability page links to it)."""
    page = await ncx_chief.get("/requests/new", params={"incident": ids["incident"], "item_type": ids["pump"],
                                                         "quantity": quantity, "to_region": DHQ})
    assert page.status_code == 200, page.text
    form = filled(one_form(page.text, "/requests"))
    r = await ncx_chief.post("/requests", data=form)
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    assert location.endswith("?done=created"), location
    return int(urlsplit(location).path.rsplit("/", 1)[1]), form


async def requests_of(api: Any) -> list[dict[str, Any]]:
    r = await api.get("/api/v1/requests")
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def dispatch_count(api: Any) -> int:
    total: int = (await api.get("/api/v1/dispatches")).json()["total"]
    return total


async def test_the_pages_open_for_every_role_without_a_server_error(client: Any, client_as: Any,
                                                                    anonymous: Any) -> None:
    ids = await stock(client)
    ncx_chief = await page_client(client_as, "commander", "ncx-chief", scope_regions=[NCX])
    request_id, _ = await send_from_form(ncx_chief, ids)
    clients = {"admin": await page_client(client_as, "admin", "p-admin"), "commander": ncx_chief,
               "keeper": await page_client(client_as, "keeper", "p-keeper", scope_regions=[DHQ]),
               "auditor": await page_client(client_as, "auditor", "p-auditor"),
               "scopeless": await page_client(client_as, "commander", "p-nobody")}
    paths = ["/requests", "/requests?box=incoming", "/requests?box=outgoing", "/requests?box=x&offset=y",
             "/requests?offset=20", "/requests/new", "/requests/new?to_region=99&incident=abc&item_type=x",
             f"/requests/{request_id}", "/requests/2000000000", "/requests/0"]
    for role, c in clients.items():
        for path in paths:
            r = await c.get(path)
            assert r.status_code < 500, f"{role} {path}: {r.status_code} {r.text[:300]}"
            assert r.status_code != 200 or "调用申请" in r.text, (role, path)
        one = await c.get(f"/requests/{request_id}")
        assert one.status_code == 200 and "圩堤管涌抢险排涝" in one.text, role
        new = await c.get("/requests/new")
        if role in ("keeper", "auditor"):
            assert new.status_code == 403 and not forms(new.text, "/requests"), role
            assert "不能提出物资调用申请" in new.text
            assert 'id="nav-requests"' not in new.text
        elif role == "scopeless":
            assert new.status_code == 200 and 'id="no-unit"' in new.text and not forms(new.text, "/requests")
        else:
            assert new.status_code == 200 and forms(new.text, "/requests"), role
            assert 'id="nav-requests"' in new.text
    for path in ("/requests", "/requests/new", f"/requests/{request_id}"):
        r = await anonymous.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/requests"), path


async def test_a_request_sent_from_the_form_once_whatever_the_taps_reaches_the_unit_asked(
    client: Any, client_as: Any,
) -> None:
    ids = await stock(client)
    ncx_chief = await page_client(client_as, "commander", "ncx-chief", scope_regions=[NCX])
    page = await ncx_chief.get("/requests/new", params={"incident": ids["incident"], "item_type": ids["pump"],
                                                         "quantity": 2, "to_region": DHQ})
    form = one_form(page.text, "/requests")
    # Filled from the link; the units offered are the level above (南昌市) and the other counties, not his own.
    assert (form["incident_id"], form["lines.0.item_type"], form["lines.0.quantity"], form["to_region"]) == (
        str(ids["incident"]), str(ids["pump"]), "2", DHQ)
    assert form["transport"] == "either" and form["needed_by"] and form["idempotency_key"]
    assert 'value="3601"' in page.text and f'value="{NCX}"' not in page.text
    assert "南昌县（360121）" in page.text, "the requesting unit is named"
    posts = [await ncx_chief.post("/requests", data=filled(form)) for _ in range(2)]  # a double tap
    assert [p.status_code for p in posts] == [303, 303], posts[0].text
    assert posts[0].headers["location"] == posts[1].headers["location"]
    sent = await requests_of(client)
    assert len(sent) == 1
    r = sent[0]
    assert (r["from_region_code"], r["to_region_code"], r["incident_id"], r["purpose"], r["transport"],
            r["status"], r["created_by"]) == (NCX, DHQ, ids["incident"], "圩堤管涌抢险排涝", "either", "open",
                                              "ncx-chief")
    assert [(ln["item_type_id"], ln["quantity"]) for ln in r["lines"]] == [(ids["pump"], 2)]
    assert r["destination"] == "南昌县圩堤决口", "the incident by default"
    detail = await ncx_chief.get(posts[0].headers["location"])
    assert detail.status_code == 200
    assert "调用申请已发出" in detail.text and "东湖区" in detail.text and "待答复" in detail.text
    assert not forms(detail.text, f"/requests/{r['id']}/accept"), "the requester does not answer his own request"
    # The lists and the home pages count it on both sides.
    outgoing = await ncx_chief.get("/requests", params={"box": "outgoing"})
    assert f'data-request="{r["id"]}"' in outgoing.text and "南昌县 → 东湖区" in outgoing.text
    dhq_chief = await page_client(client_as, "commander", "dhq-chief", scope_regions=[DHQ])
    incoming = await dhq_chief.get("/requests")
    assert 'data-box="incoming"' in incoming.text and f'data-request="{r["id"]}"' in incoming.text
    assert "移动泵车 2台" in incoming.text
    assert "待我答复的调用申请 1" in (await dhq_chief.get("/")).text
    assert "本单位待答复的申请 1" in (await ncx_chief.get("/")).text
    assert 'title="待我答复的调用申请">1<' in (await dhq_chief.get("/")).text
    # A category line with an attribute condition, sent as well.
    page = await ncx_chief.get("/requests/new")
    form = filled(one_form(page.text, "/requests"), incident_id=str(ids["incident"]), to_region="3601",
                  **{"lines.1.category": "pump", "lines.1.attrs": "flow_m3h>=300", "lines.1.quantity": "1"})
    r2 = await ncx_chief.post("/requests", data=form)
    assert r2.status_code == 303, r2.text
    second = next(x for x in await requests_of(client) if x["to_region_code"] == "3601")
    assert [(ln["category"], ln["attrs"], ln["quantity"]) for ln in second["lines"]] == [
        ("pump", ["flow_m3h>=300"], 1)]


async def test_a_bad_request_form_names_the_field_and_sends_nothing(client: Any, client_as: Any) -> None:
    ids = await stock(client)
    ncx_chief = await page_client(client_as, "commander", "ncx-chief", scope_regions=[NCX])
    page = await ncx_chief.get("/requests/new", params={"incident": ids["incident"], "item_type": ids["pump"],
                                                         "quantity": 2, "to_region": DHQ})
    form = filled(one_form(page.text, "/requests"))
    cases = [
        ({"purpose": ""}, 422, "purpose", "用途：必填"),
        ({"contact_phone": "call me"}, 422, "contact_phone", "联系电话"),
        ({"needed_by": "tomorrow"}, 422, "needed_by", "时间要求"),
        ({"needed_by": "2020-01-01T08:00"}, 422, "needed_by", "早于当前时间"),
        ({"lines.0.quantity": "0"}, 422, "lines.0.quantity", "第 1 行：数量：应为 1 到 1000000 之间的整数"),
        ({"lines.0.item_type": "", "lines.0.quantity": ""}, 422, "lines.0.item_type", "请至少填写一行"),
        ({"lines.0.item_type": "", "lines.2.category": "nosuch", "lines.2.quantity": "1", "lines.0.quantity": ""},
         422, "lines.2.category", "第 3 行"),
        ({"to_region": NCX}, 422, "to_region", "不能向本单位申请"),
        ({"to_region": ""}, 422, "to_region", "向哪个单位申请"),
        ({"incident_id": "999999"}, 422, "incident_id", "事件"),
    ]
    for change, status, field, said in cases:
        r = await ncx_chief.post("/requests", data={**form, **change})
        assert r.status_code == status, (change, r.status_code, r.text[:500])
        assert f'data-field="{field}"' in r.text, (change, r.text[:3000])
        assert said in r.text, (change, said)
        assert forms(r.text, "/requests"), "the form is shown again"
    assert await requests_of(client) == []
    again = await ncx_chief.post("/requests", data={**form, "purpose": ""})
    assert 'value="13800000000"' in again.text, "what was typed is kept"
    closed = await client.post(f"/api/v1/incidents/{ids['incident']}/close")
    assert closed.status_code == 200
    late = await ncx_chief.post("/requests", data=form)
    assert late.status_code in (409, 422) and "已关闭" in late.text
    assert await requests_of(client) == []


async def test_accepting_from_the_form_creates_one_dispatch_order_however_often_it_is_posted(
    client: Any, client_as: Any,
) -> None:
    ids = await stock(client)
    ncx_chief = await page_client(client_as, "commander", "ncx-chief", scope_regions=[NCX])
    request_id, _ = await send_from_form(ncx_chief, ids, quantity=2)
    dhq_chief = await page_client(client_as, "commander", "dhq-chief", scope_regions=[DHQ])
    page = await dhq_chief.get(f"/requests/{request_id}")
    assert page.status_code == 200
    accept = one_form(page.text, f"/requests/{request_id}/accept")
    assert one_form(page.text, f"/requests/{request_id}/decline")
    line_id = next(k for k in accept if k.startswith("qty.")).removeprefix("qty.")
    assert accept[f"qty.{line_id}"] == "2" and accept[f"site.{line_id}"] == ""
    assert "东湖区应急物资储备库 · 移动泵车 可用 2台" in page.text, "his own sites holding the item"
    assert "南昌县综合应急物资储备库 ·" not in page.text, "never another unit's"
    posts = [await dhq_chief.post(f"/requests/{request_id}/accept", data=accept) for _ in range(2)]
    assert [p.status_code for p in posts] == [303, 303], posts[0].text
    assert posts[0].headers["location"] == posts[1].headers["location"] == f"/requests/{request_id}?done=accepted"
    assert await dispatch_count(client) == 1
    order = (await client.get("/api/v1/dispatches")).json()["items"][0]
    assert (order["incident_id"], order["created_by"], order["approval_mode"]) == (ids["incident"], "dhq-chief",
                                                                                   "oral")
    assert {ln["location_id"] for ln in order["lines"]} == {ids["dhq"]}
    answered = (await requests_of(client))[0]
    assert (answered["status"], answered["outcome"]) == ("answered", "accepted")
    shown = await dhq_chief.get(f"/requests/{request_id}?done=accepted")
    assert f'href="/dispatches/{order["id"]}"' in shown.text and "口头批准" in shown.text
    assert "已同意" in shown.text and "书面手续应于" in shown.text
    assert not forms(shown.text, f"/requests/{request_id}/accept"), "nothing left to answer"
    # A fresh form on the answered request: refused, nothing changed.
    again = await dhq_chief.post(f"/requests/{request_id}/accept", data={**accept, "idempotency_key": "fresh-1"})
    assert again.status_code == 409 and "未做任何更改" in again.text
    assert await dispatch_count(client) == 1


async def test_an_acceptance_beyond_his_own_stock_is_refused_on_the_page_and_changes_nothing(
    client: Any, client_as: Any,
) -> None:
    ids = await stock(client)
    ncx_chief = await page_client(client_as, "commander", "ncx-chief", scope_regions=[NCX])
    request_id, _ = await send_from_form(ncx_chief, ids, quantity=5)
    dhq_chief = await page_client(client_as, "commander", "dhq-chief", scope_regions=[DHQ])
    page = await dhq_chief.get(f"/requests/{request_id}")
    accept = one_form(page.text, f"/requests/{request_id}/accept")
    line_id = next(k for k in accept if k.startswith("qty.")).removeprefix("qty.")
    short = await dhq_chief.post(f"/requests/{request_id}/accept", data=accept)  # 5 asked, 2 held
    assert short.status_code == 409, short.text
    assert "库存不足" in short.text and "未做任何更改" in short.text
    too_many = await dhq_chief.post(f"/requests/{request_id}/accept", data={**accept, f"qty.{line_id}": "6"})
    assert too_many.status_code == 422 and f'data-field="qty.{line_id}"' in too_many.text
    assert "移动泵车：同意 6，超过该行尚未答复的数量 5" in too_many.text, "the line named, not its number"
    written = await dhq_chief.post(f"/requests/{request_id}/accept",
                                   data={**accept, f"qty.{line_id}": "2", "approval_mode": "written"})
    assert written.status_code == 422 and 'data-field="document_no"' in written.text and "批准文号" in written.text
    elsewhere = await dhq_chief.post(f"/requests/{request_id}/accept",
                                     data={**accept, f"qty.{line_id}": "1", f"site.{line_id}": str(ids["ncx"])})
    assert elsewhere.status_code == 403, elsewhere.text
    assert await dispatch_count(client) == 0
    assert (await requests_of(client))[0]["status"] == "open"
    # In part: two now, the rest declined with a reason.
    part = await dhq_chief.post(f"/requests/{request_id}/accept", data={**accept, f"qty.{line_id}": "2"})
    assert part.status_code == 303, part.text
    r = (await requests_of(client))[0]
    assert (r["status"], r["lines"][0]["accepted"], r["lines"][0]["open"]) == ("open", 2, 3)
    page = await dhq_chief.get(f"/requests/{request_id}")
    assert "部分同意" in page.text
    decline = one_form(page.text, f"/requests/{request_id}/decline")
    done = await dhq_chief.post(f"/requests/{request_id}/decline", data={**decline, "reason": "本级仅余两台"})
    assert done.status_code == 303
    r = (await requests_of(client))[0]
    assert (r["status"], r["outcome"], r["lines"][0]["declined"]) == ("answered", "partly", 3)


async def test_declining_from_the_form_needs_a_reason_and_happens_once(client: Any, client_as: Any) -> None:
    ids = await stock(client)
    ncx_chief = await page_client(client_as, "commander", "ncx-chief", scope_regions=[NCX])
    request_id, _ = await send_from_form(ncx_chief, ids)
    dhq_chief = await page_client(client_as, "commander", "dhq-chief", scope_regions=[DHQ])
    page = await dhq_chief.get(f"/requests/{request_id}")
    decline = one_form(page.text, f"/requests/{request_id}/decline")
    empty = await dhq_chief.post(f"/requests/{request_id}/decline", data=decline)
    assert empty.status_code == 422
    assert 'data-field="reason"' in empty.text and "拒绝理由：必填" in empty.text
    assert (await requests_of(client))[0]["status"] == "open"
    body = {**decline, "reason": "本级泵车已全部投入防汛"}
    posts = [await dhq_chief.post(f"/requests/{request_id}/decline", data=body) for _ in range(2)]
    assert [p.status_code for p in posts] == [303, 303], posts[0].text
    assert posts[0].headers["location"] == f"/requests/{request_id}?done=declined"
    r = (await requests_of(client))[0]
    assert (r["status"], r["outcome"], len(r["answers"]), r["answers"][0]["reason"]) == (
        "answered", "declined", 1, "本级泵车已全部投入防汛")
    seen = await ncx_chief.get(f"/requests/{request_id}")
    assert "理由：本级泵车已全部投入防汛" in seen.text and "已拒绝" in seen.text
    assert await dispatch_count(client) == 0


async def test_a_keeper_or_auditor_gets_403_on_every_form_and_nothing_changes(client: Any, client_as: Any) -> None:
    ids = await stock(client)
    ncx_chief = await page_client(client_as, "commander", "ncx-chief", scope_regions=[NCX])
    request_id, form = await send_from_form(ncx_chief, ids)
    dhq_chief = await page_client(client_as, "commander", "dhq-chief", scope_regions=[DHQ])
    page = await dhq_chief.get(f"/requests/{request_id}")
    accept = one_form(page.text, f"/requests/{request_id}/accept")
    decline = {**one_form(page.text, f"/requests/{request_id}/decline"), "reason": "无"}
    for role, scope in (("keeper", [DHQ]), ("auditor", [])):
        other = await page_client(client_as, role, f"p-{role}", scope_regions=scope)
        seen = await other.get(f"/requests/{request_id}")
        assert seen.status_code == 200
        assert not forms(seen.text, f"/requests/{request_id}/accept")
        assert not forms(seen.text, f"/requests/{request_id}/decline")
        csrf = {"_csrf_token": other.cookies["inv_csrf"]}
        for path, body in (("/requests", {**form, "idempotency_key": f"k-{role}"}),
                           (f"/requests/{request_id}/accept", accept), (f"/requests/{request_id}/decline", decline)):
            r = await other.post(path, data={**body, **csrf})
            assert r.status_code == 403, (role, path, r.text[:300])
            assert "未做任何更改" in r.text, (role, path)
    # The requester cannot answer his own request either (it is addressed outside his scope).
    mine = await ncx_chief.post(f"/requests/{request_id}/decline", data={
        **decline, "_csrf_token": ncx_chief.cookies["inv_csrf"], "idempotency_key": "own-1"})
    assert mine.status_code == 403
    assert len(await requests_of(client)) == 1
    r = (await requests_of(client))[0]
    assert (r["status"], r["answers"]) == ("open", [])
    assert await dispatch_count(client) == 0


async def test_the_availability_page_lists_own_stock_first_and_links_the_others_to_a_request(
    client: Any, client_as: Any,
) -> None:
    ids = await stock(client)
    ncx_chief = await page_client(client_as, "commander", "ncx-chief", scope_regions=[NCX])
    query = {**BREACH, "category": "pump", "quantity": "3", "limit": "10", "incident": str(ids["incident"])}
    page = await ncx_chief.get("/availability", params=query)
    assert page.status_code == 200, page.text
    html = page.text
    own_at, other_at = html.index('id="own-sources"'), html.index('id="other-sources"')
    assert own_at < other_at
    own, other = html[own_at:other_at], html[other_at:]
    assert f'data-site="{ids["ncx"]}"' in own and f'data-site="{ids["dhq"]}"' not in own
    assert f'data-site="{ids["dhq"]}"' in other and f'data-site="{ids["ncx"]}"' not in other
    assert "其他单位的物资（需申请调用）" in other and "东湖区" in other and "县级" in other
    assert "本单位来源合计可用 2台" in own
    reserve = forms(html, "/availability/reserve")
    assert reserve and {f["site_id"] for f in reserve} == {str(ids["ncx"])}, "reserve only from his own sources"
    link = other[other.index('href="/requests/new?'):].split('"')[1].replace("&amp;", "&")
    asked = parse_qs(urlsplit(link).query)
    assert asked == {"incident": [str(ids["incident"])], "item_type": [str(ids["pump"])], "quantity": ["1"],
                     "to_region": [DHQ]}, asked
    followed = await ncx_chief.get(link)
    form = one_form(followed.text, "/requests")
    assert (form["to_region"], form["lines.0.quantity"]) == (DHQ, "1")
    # A keeper sees the marks, neither the reserve forms nor the request links.
    keeper = await page_client(client_as, "keeper", "p-keeper", scope_regions=[NCX])
    seen = await keeper.get("/availability", params=query)
    assert seen.status_code == 200
    assert 'id="own-sources"' in seen.text and 'id="other-sources"' in seen.text
    assert not forms(seen.text, "/availability/reserve") and "/requests/new" not in seen.text
    # An admin owns everything: one section.
    admin = await page_client(client_as, "admin", "p-admin")
    everything = await admin.get("/availability", params=query)
    assert 'id="other-sources"' not in everything.text
    assert {f["site_id"] for f in forms(everything.text, "/availability/reserve")} == {str(ids["ncx"]),
                                                                                    str(ids["dhq"])}
