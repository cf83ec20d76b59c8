"""The demo's 40 risk points (风险隐患点) along the 赣江 and the 抚河 in 南昌县, 新建区 and 进贤县.

Embankment sections (赣东大堤, 赣西联圩, the 赣江 branches' 联圩 toward 鄱阳湖, the 抚河 and its old course, the
军山湖 and 青岚湖 dikes), low-lying villages, road underpasses and schools. Names are real-sounding, not taken from
any county's list; coordinates are WGS-84, placed along the river courses and each inside its county on the
shipped boundaries (a test checks it). Weights are the people at risk (for schools, the pupils).

Needs: an embankment section a trailer pump (拖挂式柴油机排涝泵), sandbags and for the larger ones an assault boat
(冲锋舟); a village a high-flow submersible pump (大流量潜水泵) and rubber boats; an underpass two submersible pumps
and a generator; a school a generator and a rubber boat.
"""

from __future__ import annotations

from typing import Final

import msgspec

from inventory.plans.schemas import RiskKind

TRAILER_PUMP: Final = "PUMP-TRL-600"
SUBMERSIBLE_PUMP: Final = "PUMP-SUB-400"
SANDBAGS: Final = "FLOOD-BAG-SAND"
ASSAULT_BOAT: Final = "BOAT-ASL-12"
RUBBER_BOAT: Final = "BOAT-RUB-6"
GENERATOR: Final = "GEN-DSL-30"
COUNTIES: Final = {"360121": "南昌县", "360112": "新建区", "360124": "进贤县"}


class DemoRiskPoint(msgspec.Struct, frozen=True):
    """One risk point of the demo: code, name, kind, county, WGS-84 position, weight, needs (item code → quantity)."""

    code: str
    name: str
    kind: RiskKind
    region_code: str
    lat: float
    lon: float
    weight: float
    needs: dict[str, int]
    note: str = ""


def _levee(code: str, name: str, county: str, lat: float, lon: float, weight: float, *, pumps: int = 1,
           sandbags: int = 1500, boat: bool = False, note: str = "") -> DemoRiskPoint:
    needs = {TRAILER_PUMP: pumps, SANDBAGS: sandbags} | ({ASSAULT_BOAT: 1} if boat else {})
    return DemoRiskPoint(code, name, "embankment", county, lat, lon, weight, needs, note)


def _village(code: str, name: str, county: str, lat: float, lon: float, weight: float, *, boats: int = 1,
             note: str = "") -> DemoRiskPoint:
    return DemoRiskPoint(code, name, "village", county, lat, lon, weight, {SUBMERSIBLE_PUMP: 1, RUBBER_BOAT: boats},
                         note)


def _underpass(code: str, name: str, county: str, lat: float, lon: float, weight: float) -> DemoRiskPoint:
    return DemoRiskPoint(code, name, "underpass", county, lat, lon, weight, {SUBMERSIBLE_PUMP: 2, GENERATOR: 1},
                         "暴雨时积水深可没车，需封闭交通并强排")


def _school(code: str, name: str, county: str, lat: float, lon: float, weight: float) -> DemoRiskPoint:
    return DemoRiskPoint(code, name, "school", county, lat, lon, weight, {GENERATOR: 1, RUBBER_BOAT: 1},
                         "汛期临时安置点，人数为在校师生")


NCX, XJ, JX = "360121", "360112", "360124"

RISK_POINTS: Final[tuple[DemoRiskPoint, ...]] = (
    # ---- 南昌县: 赣东大堤 on the 赣江's east bank, the 抚河 and its old course, the 赣江南支 联圩 toward 鄱阳湖
    _levee("NCX-GD-01", "赣东大堤富山段", NCX, 28.370, 115.870, 4200, sandbags=2000, boat=True,
           note="赣江东岸干堤，历年汛期有散浸"),
    _levee("NCX-GD-02", "赣东大堤黄马段", NCX, 28.450, 115.850, 3800),
    _levee("NCX-GD-03", "赣东大堤八一段", NCX, 28.530, 115.835, 3500, boat=True),
    _levee("NCX-FH-01", "抚河向塘段堤防", NCX, 28.430, 115.980, 3600, note="堤身单薄，高水位时易管涌"),
    _levee("NCX-FH-02", "抚河故道莲塘段堤防", NCX, 28.540, 115.950, 2400, sandbags=1000),
    _levee("NCX-FH-03", "抚河三江段堤防", NCX, 28.620, 116.070, 3300, boat=True),
    _levee("NCX-FH-04", "抚河塔城段堤防", NCX, 28.680, 116.100, 2800, sandbags=1200),
    _levee("NCX-FH-05", "抚河泾口段堤防", NCX, 28.740, 116.130, 2600, sandbags=1200, boat=True),
    _levee("NCX-GJ-01", "赣江南支蒋巷联圩堤段", NCX, 28.800, 116.020, 5200, pumps=2, sandbags=2500, boat=True,
           note="保护蒋巷镇万亩农田和集镇"),
    _levee("NCX-GJ-02", "南新联圩堤段", NCX, 28.880, 116.120, 3900, sandbags=2000, boat=True),
    _village("NCX-VL-01", "三江镇前进村低洼区", NCX, 28.650, 116.070, 860),
    _village("NCX-VL-02", "泾口乡辕门村", NCX, 28.760, 116.160, 640, boats=2),
    _village("NCX-VL-03", "蒋巷镇立新村", NCX, 28.820, 116.060, 720),
    _village("NCX-VL-04", "塔城乡东游村", NCX, 28.700, 116.060, 530),
    _underpass("NCX-UP-01", "莲塘迎宾大道下穿通道", NCX, 28.560, 115.940, 380),
    _school("NCX-SC-01", "向塘镇中心小学", NCX, 28.440, 115.960, 1300),
    _school("NCX-SC-02", "三江镇中学", NCX, 28.630, 116.080, 950),
    # ---- 新建区: 赣西联圩 on the 赣江's west bank, the 赣江西支 and the 联圩 by 鄱阳湖
    _levee("XJ-GX-01", "赣西联圩长堎段", XJ, 28.745, 115.860, 6000, pumps=2, sandbags=3000, boat=True,
           note="保护新建城区"),
    _levee("XJ-GX-02", "赣西联圩乐化段", XJ, 28.800, 115.920, 4100, sandbags=2000),
    _levee("XJ-GX-03", "赣江西支樵舍段堤防", XJ, 28.860, 115.950, 2900, boat=True),
    _levee("XJ-GX-04", "赣江西支昌邑段堤防", XJ, 28.960, 116.000, 2300, sandbags=1200),
    _levee("XJ-NJ-01", "南矶联圩堤段", XJ, 29.060, 116.300, 1800, sandbags=1000, boat=True,
           note="湖区孤岛，汛期交通靠船"),
    _levee("XJ-LW-01", "联圩镇大联圩堤段", XJ, 28.930, 116.120, 2700),
    _levee("XJ-TH-01", "铁河联圩堤段", XJ, 28.980, 116.100, 2100, sandbags=1200),
    _village("XJ-VL-01", "樵舍镇峰岭村", XJ, 28.840, 115.900, 680),
    _village("XJ-VL-02", "昌邑乡坪上村", XJ, 29.000, 116.040, 590, boats=2),
    _village("XJ-VL-03", "南矶乡朱家村", XJ, 29.040, 116.280, 450, boats=2),
    _underpass("XJ-UP-01", "长堎新建大道下穿通道", XJ, 28.690, 115.800, 420),
    _school("XJ-SC-01", "樵舍镇中心小学", XJ, 28.850, 115.920, 880),
    # ---- 进贤县: the 抚河 at 李渡, 温圳 and 下埠集, the 军山湖 and 青岚湖 dikes
    _levee("JX-FH-01", "抚河李渡段堤防", JX, 28.310, 116.120, 3400, boat=True),
    _levee("JX-FH-02", "抚河温圳段堤防", JX, 28.285, 116.115, 3100),
    _levee("JX-FH-03", "抚河下埠集段堤防", JX, 28.420, 116.070, 2200, sandbags=1000),
    _levee("JX-JS-01", "军山湖圩堤三里段", JX, 28.520, 116.300, 4600, sandbags=2500, boat=True,
           note="军山湖高水位时堤脚渗水"),
    _levee("JX-JS-02", "军山湖圩堤钟陵段", JX, 28.450, 116.350, 3300),
    _levee("JX-QL-01", "青岚湖圩堤三阳集段", JX, 28.580, 116.240, 2500, sandbags=1200),
    _village("JX-VL-01", "三里乡河口村", JX, 28.540, 116.270, 760),
    _village("JX-VL-02", "架桥镇雄溪村", JX, 28.620, 116.300, 610),
    _underpass("JX-UP-01", "民和镇胜利路下穿通道", JX, 28.370, 116.260, 350),
    _school("JX-SC-01", "李渡镇中学", JX, 28.315, 116.140, 1100),
    _school("JX-SC-02", "温圳镇中心小学", JX, 28.275, 116.105, 900),
)
"""The demo's risk points, 17 in 南昌县, 12 in 新建区 and 11 in 进贤县."""
