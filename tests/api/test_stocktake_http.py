"""HTTP behaviour of stocktakes: sheet download, multipart counts upload, 422 with every error and a marked copy,
scope and approval rights, variance downloads, opening balances."""

from __future__ import annotations

import io
from typing import Any

import openpyxl

from importers.sheet_writer import SheetHeader, SheetRow, write_count_sheet
from inventory.store.db import Database
from tests.stocktake_support import (
    BIN_NAME,
    DEPOT_NAME,
    World,
    cached_error,
    fill,
    full_count,
    make_world,
    marked,
    on_hand,
    rows_of,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BASE = "/api/v1/stocktakes"


def files(data: bytes, name: str = "盘点表.xlsx") -> dict[str, Any]:
    return {"file": (name, data, XLSX)}


async def opened(keeper: Any, w: World) -> dict[str, Any]:
    r = await keeper.post(f"{BASE}/", json={"location_id": w.depot, "period": "2026Q4", "counted_by": "张保管",
                                             "supervised_by": "赵监盘"})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    assert body["lines"] == 7 and body["status"] == "open"
    return body


async def sheet(c: Any, st_id: int) -> bytes:
    r = await c.get(f"{BASE}/{st_id}/sheet.xlsx")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(XLSX)
    assert "attachment" in r.headers["content-disposition"]
    return bytes(r.content)


async def test_count_upload_variance_and_approval_by_a_commander(db: Database, client_as: Any) -> None:
    w = await make_world(db)
    keeper = await client_as("keeper", "keeper-ncx", scope_regions=["360121"])
    other_keeper = await client_as("keeper", "keeper-ncx-2", scope_regions=["360121"])
    commander = await client_as("commander", "commander-1")
    st = await opened(keeper, w)
    data = fill(await sheet(keeper, st["id"]), lambda k: 97 if k[0] == "TENT-12" else full_count(k),
                reasons={("TENT-12", "", DEPOT_NAME, ""): "霉变报废"})
    r = await keeper.post(f"{BASE}/{st['id']}/counts", files=files(data))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["rows"], body["counted"], body["not_counted"]) == (7, 7, 0)
    assert body["stocktake"]["status"] == "counted" and body["stocktake"]["imported_by"] == "keeper-ncx"

    r = await keeper.get(f"{BASE}/{st['id']}/variance")
    assert r.status_code == 200, r.text
    v = r.json()
    assert (v["gain"], v["loss"], v["lines_with_difference"], v["not_counted"]) == (0, 3, 1, [])
    tent = next(line for line in v["lines"] if line["item_code"] == "TENT-12")
    assert (tent["book_at_count"], tent["counted"], tent["difference"], tent["reason"]) == (100, 97, -3, "霉变报废")
    r = await keeper.get(f"{BASE}/{st['id']}/variance.xlsx")
    assert r.status_code == 200 and r.headers["content-type"].startswith(XLSX)
    table = rows_of(r.content)
    assert any(row["物资编号"] == "TENT-12" and row["差异"] == -3 for row in table)

    for who in (keeper, other_keeper):  # keepers may not approve, the importer least of all
        r = await who.post(f"{BASE}/{st['id']}/approve")
        assert r.status_code == 403, r.text
    r = await commander.post(f"{BASE}/{st['id']}/approve")
    assert r.status_code == 200, r.text
    approved = r.json()
    assert approved["status"] == "approved" and approved["approved_by"] == "commander-1"
    assert approved["adjustment_document_id"] is not None
    assert await on_hand(db, w.depot, w.tent) == 97
    r = await commander.post(f"{BASE}/{st['id']}/approve")  # twice: nothing more
    assert r.status_code == 200 and r.json()["adjustment_document_id"] == approved["adjustment_document_id"]
    assert await on_hand(db, w.depot, w.tent) == 97
    r = await keeper.post(f"{BASE}/{st['id']}/counts", files=files(data))
    assert r.status_code == 409, r.text


async def test_the_importer_cannot_approve_even_as_an_admin(db: Database, client_as: Any) -> None:
    w = await make_world(db)
    admin = await client_as("admin", "admin")
    st = await opened(admin, w)
    data = fill(await sheet(admin, st["id"]), full_count)
    assert (await admin.post(f"{BASE}/{st['id']}/counts", files=files(data))).status_code == 200
    r = await admin.post(f"{BASE}/{st['id']}/approve")
    assert r.status_code == 403, r.text
    assert "导入" in r.json()["detail"]
    commander = await client_as("commander", "commander-1")
    r = await commander.post(f"{BASE}/{st['id']}/approve")
    assert r.status_code == 200, r.text
    assert r.json()["adjustment_document_id"] is None  # no difference, nothing to post


async def test_a_bad_sheet_is_a_422_listing_every_error_with_a_marked_copy(db: Database, client_as: Any) -> None:
    w = await make_world(db)
    keeper = await client_as("keeper", "keeper-ncx", scope_regions=["360121"])
    st = await opened(keeper, w)
    data = fill(await sheet(keeper, st["id"]),
                lambda k: -1 if k[0] == "TENT-12" else "几箱" if k[1] == "L2" else full_count(k))
    rows = {(r["物资编号"], r["批号"]): r["_row"] for r in rows_of(data)}
    r = await keeper.post(f"{BASE}/{st['id']}/counts", files=files(data))
    assert r.status_code == 422, r.text
    body = r.json()
    got = sorted((e["row"], e["column"], e["value"]) for e in body["errors"])
    assert got == sorted([(rows["TENT-12", None], "实盘数量", "-1"), (rows["WATER-550", "L2"], "实盘数量", "几箱")])
    assert all(e["message"] for e in body["errors"])
    assert "2 处错误" in body["detail"]
    r = await keeper.get(body["error_copy_url"])
    assert r.status_code == 200 and r.headers["content-type"].startswith(XLSX)
    notes, red = marked(r.content)
    assert set(notes) == {rows["TENT-12", None], rows["WATER-550", "L2"]}
    assert red == {(rows["TENT-12", None], "实盘数量"), (rows["WATER-550", "L2"], "实盘数量")}
    r = await keeper.get(f"{BASE}/{st['id']}")
    assert r.json()["status"] == "open"  # nothing applied

    r = await keeper.post(f"{BASE}/{st['id']}/counts", files=files(b"not a workbook at all", "counts.csv"))
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "file" and "Excel" in r.json()["detail"]
    r = await keeper.post(f"{BASE}/{st['id']}/counts", files=files(b""))
    assert r.status_code == 422 and "空" in r.json()["detail"]
    assert (await keeper.get(f"{BASE}/uploads/999999/errors.xlsx")).status_code == 404


async def test_a_keeper_out_of_scope_is_refused(db: Database, client_as: Any) -> None:
    w = await make_world(db)
    keeper = await client_as("keeper", "keeper-ncx", scope_regions=["360121"])
    stranger = await client_as("keeper", "keeper-jxx", scope_regions=["360124"])
    r = await stranger.post(f"{BASE}/", json={"location_id": w.depot, "period": "2026Q4"})
    assert r.status_code == 403, r.text
    st = await opened(keeper, w)
    data = fill(await sheet(keeper, st["id"]), full_count)
    r = await stranger.post(f"{BASE}/{st['id']}/counts", files=files(data))
    assert r.status_code == 403, r.text
    r = await stranger.post("/api/v1/imports/opening-balances", files=files(data), data={"location": "D-NCX"})
    assert r.status_code == 403, r.text
    assert (await keeper.get(f"{BASE}/{st['id']}")).json()["status"] == "open"


async def test_opening_balances_over_http(db: Database, client_as: Any) -> None:
    w = await make_world(db)
    keeper = await client_as("keeper", "keeper-jxx", scope_regions=["360124"])
    good = write_count_sheet(SheetHeader(place="进贤县"), [
        SheetRow(item_code="TENT-12", book_quantity=12), SheetRow(item_code="PUMP-300", book_quantity=1,
                                                                  serial_number="JX-1")])
    r = await keeper.post("/api/v1/imports/opening-balances", files=files(good), data={"location": "D-JXX"})
    assert r.status_code == 201, r.text
    assert r.json()["document_id"] is not None and r.json()["rows"] == 2
    assert await on_hand(db, w.other, w.tent) == 19
    assert await on_hand(db, w.other, w.pump) == 1
    bad = write_count_sheet(SheetHeader(place="进贤县"), [SheetRow(item_code="NOPE", book_quantity=3),
                                                          SheetRow(item_code="TENT-12", book_quantity=5)])
    r = await keeper.post("/api/v1/imports/opening-balances", files=files(bad), data={"location": "D-JXX"})
    assert r.status_code == 422, r.text
    assert [(e["row"], e["column"], e["value"]) for e in r.json()["errors"]] == [(7, "物资编号", "NOPE")]
    copy = await keeper.get(r.json()["error_copy_url"])
    assert copy.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(copy.content))
    assert "不存在" in str(wb.active.cell(7, 17).value)
    assert await on_hand(db, w.other, w.tent) == 19  # nothing from the refused file


async def test_approval_without_reasons_is_a_422_naming_each_line_and_the_approver_may_enter_them(
    db: Database, client_as: Any,
) -> None:
    w = await make_world(db)
    keeper = await client_as("keeper", "keeper-ncx", scope_regions=["360121"])
    commander = await client_as("commander", "commander-1")
    auditor = await client_as("auditor", "auditor-1")
    st = await opened(keeper, w)
    counts = {("TENT-12", "", DEPOT_NAME, ""): 97, ("WATER-550", "L1", BIN_NAME, ""): 31}
    data = fill(await sheet(keeper, st["id"]), lambda k: counts.get(k, full_count(k)))
    rows = {r["物资编号"] + str(r["存放位置"]): r["_row"] for r in rows_of(data)}
    r = await keeper.post(f"{BASE}/{st['id']}/counts", files=files(data))
    assert r.status_code == 200, r.text  # differences without a reason are accepted, and listed
    v = (await keeper.get(f"{BASE}/{st['id']}/variance")).json()
    assert v["missing_reasons"] == 2
    lines = {line["item_code"]: line for line in v["lines"] if line["needs_reason"]}
    assert set(lines) == {"TENT-12", "WATER-550"}
    assert (lines["TENT-12"]["sheet_row"], lines["TENT-12"]["spec"]) == (rows["TENT-12" + DEPOT_NAME], "3×4米")

    r = await commander.post(f"{BASE}/{st['id']}/approve")
    assert r.status_code == 422, r.text
    body = r.json()
    assert "2 行有差异但没有填写差异原因" in body["detail"]
    assert sorted((e["field"], e["line_id"], e["row"]) for e in body["errors"]) == sorted([
        ("reasons", lines["TENT-12"]["line_id"], rows["TENT-12" + DEPOT_NAME]),
        ("reasons", lines["WATER-550"]["line_id"], rows["WATER-550" + BIN_NAME])])
    assert any(f"第 {rows['TENT-12' + DEPOT_NAME]} 行 TENT-12 12平方米单帐篷" in e["message"]
               and "缺少差异原因" in e["message"] for e in body["errors"])
    assert (await keeper.get(f"{BASE}/{st['id']}")).json()["status"] == "counted"
    assert await on_hand(db, w.depot, w.tent) == 100

    reasons = [{"line_id": lines["TENT-12"]["line_id"], "reason": "霉变报废"},
               {"line_id": lines["WATER-550"]["line_id"], "reason": "上次入库漏记"}]
    r = await commander.post(f"{BASE}/{st['id']}/approve", json={"reasons": reasons})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved"
    assert await on_hand(db, w.depot, w.tent) == 97
    v = (await keeper.get(f"{BASE}/{st['id']}/variance")).json()
    assert {line["item_code"]: line["reason"] for line in v["lines"] if line["difference"]} == {
        "TENT-12": "霉变报废", "WATER-550": "上次入库漏记"}
    entries = (await auditor.get("/api/v1/audit", params={"target": f"stocktake:{st['id']}", "limit": 500})).json()
    entered = [e for e in entries["items"] if "差异原因" in e["summary"]]
    assert [(e["username"], e["action"]) for e in entered] == [("commander-1", "stocktake.approve")]
    assert "霉变报废" in entered[0]["summary"] and f"行 {lines['TENT-12']['line_id']}" in entered[0]["summary"]

    r = await commander.post(f"{BASE}/{st['id']}/approve", json={"reasons": [{"line_id": 1, "reason": ""}]})
    assert r.status_code == 422  # the request itself is checked first: an empty reason says nothing


async def test_a_sheet_counted_as_full_width_text_whose_difference_shows_value_errors_is_imported(
    db: Database, client_as: Any,
) -> None:
    w = await make_world(db)
    keeper = await client_as("keeper", "keeper-ncx", scope_regions=["360121"])
    st = await opened(keeper, w)
    blank = await sheet(keeper, st["id"])
    r = await keeper.post(f"{BASE}/{st['id']}/counts", files=files(blank))
    assert r.status_code == 422, r.text
    assert "未填写任何实盘数量" in r.json()["detail"]
    assert (await keeper.get(f"{BASE}/{st['id']}")).json()["status"] == "open"

    data = fill(blank, lambda k: "１２" if k[0] == "TENT-12" else full_count(k),
                reasons={("TENT-12", "", DEPOT_NAME, ""): "借给乡镇"})
    tent = next(row["_row"] for row in rows_of(data) if row["物资编号"] == "TENT-12")
    data = cached_error(data, {f"N{tent}": f'IF(M{tent}="","",M{tent}-L{tent})'})
    r = await keeper.post(f"{BASE}/{st['id']}/counts", files=files(data))
    assert r.status_code == 200, r.text
    v = (await keeper.get(f"{BASE}/{st['id']}/variance")).json()
    line = next(line for line in v["lines"] if line["item_code"] == "TENT-12")
    assert (line["counted"], line["difference"], line["needs_reason"]) == (12, -88, False)
