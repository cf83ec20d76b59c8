"""The optimiser's CSV files: what Excel and routing engines write is read; each mistake is named by line and column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inventory.errors import InvalidInput
from inventory.placement.files import MAX_LISTED_ERRORS, CsvFile, parse_instance, read_instance
from inventory.placement.travel import DEFAULT_MINUTES_PER_KM, estimate_minutes

DEMAND = "id,lat,lon,weight\np1,28.70,115.90,3\np2,28.40,116.20,1.5\np3,28.95,115.60,2\n"
SITES = "id,lat,lon\nA,28.68,115.86\nB,28.55,116.05\n"


def _csv(name: str, text: str, *, bom: bool = False, crlf: bool = False) -> CsvFile:
    if crlf:
        text = text.replace("\n", "\r\n")
    return CsvFile(name, ("\ufeff" if bom else "").encode() + text.encode("utf-8"))


def _refusal(demand: str = DEMAND, sites: str = SITES, times: str | None = None) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        parse_instance(_csv("points.csv", demand), _csv("sites.csv", sites),
                       None if times is None else _csv("times.csv", times))
    return caught.value


def _where(exc: InvalidInput) -> list[tuple[str, int | None, str | None]]:
    return [(e["file"], e["line"], e["column"]) for e in exc.extra["errors"]]


def test_excel_files_with_bom_crlf_reordered_upper_case_columns_spaces_and_blank_lines_are_read() -> None:
    demand = (" Weight , LON,名称 name, Id ,LAT\n3, 115.90 ,城区,p1,28.70\n1.5,116.20,,p2 ,28.40\n"
              "2,115.60,北部, p3,28.95\n\n \n,,,,\n")
    sites = "LON,ID,Lat,kind\n115.86,A,28.68,depot\n116.05,B,28.55,vehicle\n\n"
    got = parse_instance(_csv("points.csv", demand, bom=True, crlf=True), _csv("sites.csv", sites, bom=True))
    plain = parse_instance(_csv("p.csv", DEMAND), _csv("s.csv", SITES))
    assert got.point_ids == ("p1", "p2", "p3") and got.site_ids == ("A", "B")
    assert list(got.weights) == [3.0, 1.5, 2.0]
    assert np.array_equal(got.minutes, plain.minutes)
    expected = estimate_minutes([28.68, 28.55], [115.86, 116.05], [28.70, 28.40, 28.95], [115.90, 116.20, 115.60],
                                minutes_per_km=DEFAULT_MINUTES_PER_KM)
    assert np.allclose(got.minutes, expected, rtol=1e-12)


def test_ids_stay_strings_with_their_leading_zeros() -> None:
    got = parse_instance(_csv("p.csv", "id,lat,lon,weight\n007,28.7,115.9,1\n"),
                         _csv("s.csv", "id,lat,lon\n0100,28.6,115.8\n"))
    assert got.point_ids == ("007",) and got.site_ids == ("0100",)


def test_the_estimate_takes_the_speed_and_mobilisation_given() -> None:
    slow = parse_instance(_csv("p.csv", DEMAND), _csv("s.csv", SITES), minutes_per_km=3.0, mobilisation=12.0)
    base = parse_instance(_csv("p.csv", DEMAND), _csv("s.csv", SITES), minutes_per_km=1.0)
    assert np.allclose(slow.minutes, 12.0 + 3.0 * base.minutes, rtol=1e-12)


def test_with_a_times_file_coordinates_may_be_empty_and_unlisted_pairs_are_unreachable() -> None:
    demand = "id,lat,lon,weight\np1,,,3\np2,,,1\n"
    sites = "id,lat,lon\nA,,\nB,,\n"
    times = "site,point,minutes\nA,p1,12.5\nB,p2,0\nB,p1,40\n"
    got = parse_instance(_csv("p.csv", demand), _csv("s.csv", sites), _csv("t.csv", times, crlf=True))
    assert got.minutes[0, 0] == 12.5 and got.minutes[1, 1] == 0.0 and got.minutes[1, 0] == 40.0
    assert np.isinf(got.minutes[0, 1])


def test_a_routing_engines_from_to_header_is_read_and_the_times_file_wins_over_coordinates() -> None:
    times = "\ufeffFROM,TO,Minutes,distance_m\nA,p1,7,1000\nB,p3,9,2000\n"
    got = parse_instance(_csv("p.csv", DEMAND), _csv("s.csv", SITES), _csv("t.csv", times))
    assert got.minutes[0, 0] == 7.0 and got.minutes[1, 2] == 9.0
    assert int(np.isinf(got.minutes).sum()) == 4  # the other four pairs, although both ends have coordinates


def test_each_file_is_read_from_its_path(tmp_path: Path) -> None:
    (tmp_path / "points.csv").write_text(DEMAND, encoding="utf-8-sig")
    (tmp_path / "sites.csv").write_text(SITES, encoding="utf-8")
    got = read_instance(tmp_path / "points.csv", tmp_path / "sites.csv")
    assert got.point_ids == ("p1", "p2", "p3")
    with pytest.raises(InvalidInput, match="无法读取") as caught:
        read_instance(tmp_path / "points.csv", tmp_path / "sites.csv", tmp_path / "missing.csv")
    assert "missing.csv" in caught.value.detail


@pytest.mark.parametrize(("demand", "sites", "times", "where", "words"), [
    ("id,lat,lon,weight\np1,28.7,115.9,1\np1,28.8,115.9,1\n", SITES, None, ("points.csv", 3, "id"), "重复"),
    (DEMAND, "id,lat,lon\nA,28.6,115.8\n\nA,28.5,115.8\n", None, ("sites.csv", 4, "id"), "第 2 行已有"),
    ("id,lat,weight\np1,28.7,1\n", SITES, None, ("points.csv", 1, None), "表头缺少列 lon"),
    (DEMAND, "id,lon\nA,115.8\n", None, ("sites.csv", 1, None), "表头缺少列 lat"),
    ("id,lat,lon,weight\np1,北纬28度,115.9,1\n", SITES, None, ("points.csv", 2, "lat"), "应为数字"),
    ("id,lat,lon,weight\np1,90.5,115.9,1\n", SITES, None, ("points.csv", 2, "lat"), "-90 到 90"),
    (DEMAND, "id,lat,lon\nA,28.6,-180.01\n", None, ("sites.csv", 2, "lon"), "-180 到 180"),
    ("id,lat,lon,weight\np1,28.7,115.9,0\n", SITES, None, ("points.csv", 2, "weight"), "大于 0"),
    ("id,lat,lon,weight\np1,28.7,115.9,-2\n", SITES, None, ("points.csv", 2, "weight"), "大于 0"),
    ("id,lat,lon,weight\np1,28.7,115.9,nan\n", SITES, None, ("points.csv", 2, "weight"), "有限数"),
    ("id,lat,lon,weight\np1,28.7,115.9,\n", SITES, None, ("points.csv", 2, "weight"), "不能为空"),
    ("id,lat,lon,weight\n,28.7,115.9,1\n", SITES, None, ("points.csv", 2, "id"), "编号不能为空"),
    ("id,lat,lon,weight\np1,,115.9,1\n", SITES, None, ("points.csv", 2, "lat"), "坐标必填"),
    (DEMAND, "id,lat,lon\nA,28.6,\n", None, ("sites.csv", 2, "lon"), "坐标必填"),
    ("id,lat,lon,weight\np1,28.7,,1\n", SITES, "site,point,minutes\nA,p1,3\n", ("points.csv", 2, "lon"),
     "同时填写或同时留空"),
    (DEMAND, SITES, "site,point,minutes\nA,p1,3\nA,p2,-0.5\n", ("times.csv", 3, "minutes"), "不小于 0"),
    (DEMAND, SITES, "site,point,minutes\nA,p1,3\nA,p2,快\n", ("times.csv", 3, "minutes"), "应为数字"),
    (DEMAND, SITES, "site,point,minutes\nA,p1,3\nC,p2,4\n", ("times.csv", 3, "site"), "'C' 不在"),
    (DEMAND, SITES, "site,point,minutes\nA,p1,3\nA,p9,4\n", ("times.csv", 3, "point"), "'p9' 不在"),
    (DEMAND, SITES, "site,point,minutes\nA,p1,3\nA,p1,4\n", ("times.csv", 3, "site"), "重复"),
    (DEMAND, SITES, "site,minutes\nA,3\n", ("times.csv", 1, None), "表头缺少列 point"),
])
def test_each_kind_of_bad_input_is_refused_naming_file_line_and_column(
    demand: str, sites: str, times: str | None, where: tuple[str, int, str | None], words: str
) -> None:
    exc = _refusal(demand, sites, times)
    assert _where(exc) == [where]
    assert words in exc.detail
    file, line, column = where
    expected = f"{file} 第 {line} 行" + (f"「{column}」" if column else "")
    assert expected in exc.detail
    assert exc.field == {"points.csv": "demand", "sites.csv": "sites", "times.csv": "times"}[file]


def test_problems_in_all_three_files_are_listed_together() -> None:
    exc = _refusal("id,lat,lon,weight\np1,28.7,115.9,x\np2,28.7,115.9,1\n", "id,lat,lon\nA,95,115\nB,28,115\n",
                   "site,point,minutes\nZ,p1,3\n")
    assert _where(exc) == [("points.csv", 2, "weight"), ("sites.csv", 2, "lat"), ("times.csv", 2, "site")]
    assert exc.extra["total"] == 3
    assert exc.detail.startswith("文件有 3 处错误")


def test_a_long_list_of_problems_is_capped_and_says_how_many_more() -> None:
    rows = "".join(f"p{k},28.7,115.9,-1\n" for k in range(MAX_LISTED_ERRORS + 12))
    exc = _refusal("id,lat,lon,weight\n" + rows)
    assert exc.extra["total"] == MAX_LISTED_ERRORS + 12
    assert len(exc.extra["errors"]) == MAX_LISTED_ERRORS
    assert "另有 12 处错误未列出" in exc.detail
    assert f"第 {MAX_LISTED_ERRORS + 1} 行" in exc.detail and f"第 {MAX_LISTED_ERRORS + 2} 行" not in exc.detail


def test_a_file_saved_as_gbk_is_refused_naming_the_line_and_how_to_save_it() -> None:
    data = "id,lat,lon,weight\np1,28.7,115.9,1\n南昌,28.6,115.8,1\n".encode("gbk")
    with pytest.raises(InvalidInput) as caught:
        parse_instance(CsvFile("points.csv", data), _csv("sites.csv", SITES))
    assert _where(caught.value) == [("points.csv", 3, None)]
    assert "UTF-8" in caught.value.detail and "另存为" in caught.value.detail


def test_empty_files_and_files_without_rows_are_refused() -> None:
    exc = _refusal("", "id,lat,lon\n\n")
    assert _where(exc) == [("points.csv", None, None), ("sites.csv", None, None)]
    assert "文件为空" in exc.detail and "没有候选站点数据行" in exc.detail
    exc = _refusal(DEMAND, SITES, "site,point,minutes\r\n")
    assert _where(exc) == [("times.csv", None, None)] and "没有行驶时间数据行" in exc.detail
