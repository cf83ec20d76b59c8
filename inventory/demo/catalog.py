"""Data tables for the demo loader: the catalogue, vendor warehouses, the equipment stocking plan and how much more
the flood-prone counties hold than the urban districts.

The GB/T 38565-2020 codes here are illustrative: structurally valid (class digit, then three
2-digit levels 01–99) but not copied from the standard's code table.
"""

from __future__ import annotations

from typing import Final

import msgspec

from inventory.catalog.schemas import ItemTypeCreate
from inventory.schemas import Ownership


class DemoVendor(msgspec.Struct, frozen=True, kw_only=True):
    """A supplier's warehouse holding agreement stock (协议储备) for the demo."""

    code: str
    name: str
    region_code: str
    lead_hours: float
    ownership: Ownership
    stock: dict[str, int]


_SERIAL: Final = "serial"
_BULK: Final = "bulk"

ITEM_TYPES: Final[tuple[ItemTypeCreate, ...]] = (
    # ---- pumps (排涝泵): seven of them reach 300 m³/h or more
    ItemTypeCreate(code="PUMP-LXS-1500", name="龙吸水排水抢险车", spec="垂直供排水抢险车，1500 m³/h，扬程 15 m",
                   unit="台", tracking=_SERIAL, category="pump", tags=["fast"], gbt_code="2050101",
                   attributes={"flow_m3h": 1500, "head_m": 15, "power_kw": 132, "fuel": "diesel",
                               "crew": 3, "weight_kg": 16000},
                   inspection_interval_days=90),
    ItemTypeCreate(code="PUMP-DRB-1000", name="排水抢险机器人", spec="遥控履带式，1000 m³/h，扬程 10 m",
                   unit="台", tracking=_SERIAL, category="pump", tags=["fast", "smart"], gbt_code="2050102",
                   attributes={"flow_m3h": 1000, "head_m": 10, "power_kw": 75, "fuel": "diesel",
                               "crew": 2, "weight_kg": 1200},
                   inspection_interval_days=90),
    ItemTypeCreate(code="PUMP-VPS-850", name="车载移动泵站", spec="850 m³/h，扬程 12 m，配 150 kW 发电机组",
                   unit="台", tracking=_SERIAL, category="pump", tags=["fast"], gbt_code="2050103",
                   attributes={"flow_m3h": 850, "head_m": 12, "power_kw": 150, "fuel": "diesel",
                               "crew": 3, "weight_kg": 12000},
                   inspection_interval_days=90),
    ItemTypeCreate(code="PUMP-TRL-600", name="拖挂式柴油机排涝泵", spec="600 m³/h，扬程 12 m，自吸式",
                   unit="台", tracking=_SERIAL, category="pump", gbt_code="2050104",
                   attributes={"flow_m3h": 600, "head_m": 12, "power_kw": 55, "fuel": "diesel",
                               "crew": 2, "weight_kg": 1800},
                   inspection_interval_days=90),
    ItemTypeCreate(code="PUMP-HYD-500", name="液压潜水泵组", spec="500 m³/h，扬程 18 m，柴油液压动力站",
                   unit="台", tracking=_SERIAL, category="pump", tags=["fast"], gbt_code="2050105",
                   attributes={"flow_m3h": 500, "head_m": 18, "power_kw": 45, "fuel": "diesel",
                               "crew": 2, "weight_kg": 850},
                   inspection_interval_days=90),
    ItemTypeCreate(code="PUMP-SUB-400", name="大流量潜水泵", spec="400 m³/h，扬程 10 m，380 V 22 kW",
                   unit="台", tracking=_SERIAL, category="pump", gbt_code="2050106",
                   attributes={"flow_m3h": 400, "head_m": 10, "power_kw": 22, "fuel": "electric",
                               "crew": 2, "weight_kg": 260},
                   inspection_interval_days=90),
    ItemTypeCreate(code="PUMP-SUB-300", name="潜水排污泵", spec="300 m³/h，扬程 12 m，380 V 18.5 kW",
                   unit="台", tracking=_SERIAL, category="pump", gbt_code="2050107",
                   attributes={"flow_m3h": 300, "head_m": 12, "power_kw": 18.5, "fuel": "electric",
                               "crew": 2, "weight_kg": 190},
                   inspection_interval_days=90),
    ItemTypeCreate(code="PUMP-FLT-90", name="浮艇泵", spec="浮筒式，90 m³/h，扬程 20 m，380 V 11 kW",
                   unit="台", tracking=_SERIAL, category="pump", tags=["light"], gbt_code="2050108",
                   attributes={"flow_m3h": 90, "head_m": 20, "power_kw": 11, "fuel": "electric",
                               "crew": 2, "weight_kg": 120},
                   inspection_interval_days=90),
    ItemTypeCreate(code="PUMP-POR-100", name="手抬式机动排水泵", spec="100 m³/h，扬程 25 m，汽油机",
                   unit="台", tracking=_SERIAL, category="pump", tags=["small", "fast", "light"],
                   gbt_code="2050109",
                   attributes={"flow_m3h": 100, "head_m": 25, "power_kw": 7.5, "fuel": "gasoline",
                               "crew": 2, "weight_kg": 60},
                   inspection_interval_days=90),
    ItemTypeCreate(code="PUMP-POR-50", name="便携式汽油抽水泵", spec="3 英寸口径，50 m³/h，扬程 30 m",
                   unit="台", tracking=_SERIAL, category="pump", tags=["small", "fast", "light"],
                   gbt_code="2050110",
                   attributes={"flow_m3h": 50, "head_m": 30, "power_kw": 4, "fuel": "gasoline",
                               "crew": 1, "weight_kg": 26},
                   inspection_interval_days=90),
    # ---- power (发电与应急电源)
    ItemTypeCreate(code="GEN-DSL-150", name="移动式柴油发电机组", spec="150 kW，拖车式，静音箱",
                   unit="台", tracking=_SERIAL, category="generator", gbt_code="2060101",
                   attributes={"power_kw": 150, "fuel": "diesel", "crew": 2, "weight_kg": 2600},
                   inspection_interval_days=90),
    ItemTypeCreate(code="GEN-DSL-30", name="柴油发电机组", spec="30 kW，静音型",
                   unit="台", tracking=_SERIAL, category="generator", gbt_code="2060102",
                   attributes={"power_kw": 30, "fuel": "diesel", "crew": 1, "weight_kg": 700},
                   inspection_interval_days=90),
    ItemTypeCreate(code="GEN-GAS-5", name="便携式汽油发电机", spec="5 kW，电启动",
                   unit="台", tracking=_SERIAL, category="generator", tags=["small", "light"], gbt_code="2060103",
                   attributes={"power_kw": 5, "fuel": "gasoline", "crew": 1, "weight_kg": 68},
                   inspection_interval_days=90),
    ItemTypeCreate(code="PWR-LIB-2", name="便携式储能应急电源", spec="2 kWh 磷酸铁锂，220 V 输出 2 kW",
                   unit="台", tracking=_SERIAL, category="power", tags=["small", "light", "smart"],
                   gbt_code="2060104",
                   attributes={"battery_wh": 2048, "power_kw": 2, "fuel": "battery", "weight_kg": 22},
                   inspection_interval_days=90),
    # ---- boats (舟艇)
    ItemTypeCreate(code="BOAT-RUB-6", name="橡皮艇", spec="PVC 充气，6 人，艇长 3.8 m",
                   unit="艘", tracking=_SERIAL, category="boat", tags=["light"], gbt_code="2030101",
                   attributes={"capacity_persons": 6, "crew": 2, "weight_kg": 65},
                   inspection_interval_days=180),
    ItemTypeCreate(code="BOAT-ASL-12", name="冲锋舟", spec="铝合金，12 人，配 40 马力船外机",
                   unit="艘", tracking=_SERIAL, category="boat", tags=["fast"], gbt_code="2030102",
                   attributes={"capacity_persons": 12, "crew": 2, "fuel": "gasoline", "weight_kg": 320},
                   inspection_interval_days=180),
    ItemTypeCreate(code="BOAT-OBM-40", name="船外机", spec="40 马力，二冲程汽油机",
                   unit="台", tracking=_SERIAL, category="boat", gbt_code="2030103",
                   attributes={"power_kw": 29.4, "fuel": "gasoline", "weight_kg": 72},
                   inspection_interval_days=180),
    # ---- drones (无人机)
    ItemTypeCreate(code="UAV-SRCH-M", name="多旋翼侦察无人机", spec="六旋翼，可见光+红外双光吊舱",
                   unit="架", tracking=_SERIAL, category="drone", tags=["light", "smart"], gbt_code="2040101",
                   attributes={"endurance_min": 45, "range_km": 15, "battery_wh": 700, "crew": 2,
                               "weight_kg": 9.5},
                   inspection_interval_days=90),
    ItemTypeCreate(code="UAV-DROP-M", name="抛投救援无人机", spec="载重 20 kg，可抛投救生圈、药品",
                   unit="架", tracking=_SERIAL, category="drone", tags=["fast", "smart"], gbt_code="2040102",
                   attributes={"endurance_min": 30, "range_km": 5, "battery_wh": 1500, "crew": 2,
                               "weight_kg": 26},
                   inspection_interval_days=90),
    # ---- communications (通信)
    ItemTypeCreate(code="COMM-SAT-PH", name="卫星电话", spec="天通卫星手持终端",
                   unit="部", tracking=_SERIAL, category="comms", tags=["small", "light", "smart"],
                   gbt_code="2070101", attributes={"battery_wh": 12, "weight_kg": 0.3},
                   inspection_interval_days=90),
    ItemTypeCreate(code="COMM-370-HT", name="370M数字集群手持终端",
                   spec="370 MHz 应急指挥窄带无线通信网，PDT 制式，IP67",
                   unit="部", tracking=_SERIAL, category="comms", tags=["small", "light"], gbt_code="2070102",
                   attributes={"battery_wh": 11, "weight_kg": 0.4},
                   inspection_interval_days=90),
    ItemTypeCreate(code="COMM-SAT-VSAT", name="便携式卫星通信站", spec="Ku 波段，1.0 m 天线，自动对星",
                   unit="套", tracking=_SERIAL, category="comms", tags=["smart"], gbt_code="2070103",
                   attributes={"power_kw": 0.6, "crew": 2, "weight_kg": 45},
                   inspection_interval_days=90),
    # ---- lighting (照明)
    ItemTypeCreate(code="LIGHT-TOWER-4", name="移动照明灯塔", spec="4×500 W LED，升降 9 m，汽油发电",
                   unit="台", tracking=_SERIAL, category="lighting", gbt_code="2060201",
                   attributes={"power_kw": 2, "fuel": "gasoline", "crew": 2, "weight_kg": 160},
                   inspection_interval_days=90),
    ItemTypeCreate(code="LIGHT-LED-PORT", name="便携式应急照明灯", spec="LED 200 W，锂电续航 8 h",
                   unit="台", tracking=_SERIAL, category="lighting", tags=["small", "light"], gbt_code="2060202",
                   attributes={"battery_wh": 400, "power_kw": 0.2, "endurance_min": 480, "weight_kg": 9},
                   inspection_interval_days=90),
    ItemTypeCreate(code="LIGHT-EXP-HL", name="防爆强光灯", spec="手提式，防爆型，续航 10 h",
                   unit="只", tracking=_SERIAL, category="lighting", tags=["small", "light"], gbt_code="2060203",
                   attributes={"battery_wh": 30, "endurance_min": 600, "weight_kg": 1.2},
                   inspection_interval_days=90),
    # ---- fire and rescue (灭火与救援)
    ItemTypeCreate(code="FIRE-WIND-BP", name="背负式风力灭火机", spec="汽油机，出口风速不低于 70 m/s",
                   unit="台", tracking=_SERIAL, category="fire", tags=["light"], gbt_code="2080101",
                   attributes={"power_kw": 4.8, "fuel": "gasoline", "crew": 1, "weight_kg": 11},
                   inspection_interval_days=90),
    ItemTypeCreate(code="RESC-STR-FOLD", name="便携式担架", spec="铝合金折叠式，承重 160 kg",
                   unit="副", tracking=_SERIAL, category="rescue", tags=["small", "light"], gbt_code="2020101",
                   attributes={"crew": 2, "weight_kg": 7.5},
                   inspection_interval_days=365),
    ItemTypeCreate(code="RESC-SAW-G", name="油锯", spec="汽油机，导板 20 英寸",
                   unit="台", tracking=_SERIAL, category="rescue", tags=["small"], gbt_code="2020102",
                   attributes={"power_kw": 2.2, "fuel": "gasoline", "crew": 1, "weight_kg": 6},
                   inspection_interval_days=180),
    ItemTypeCreate(code="RESC-HYD-SET", name="液压破拆工具组", spec="机动泵、扩张器、剪切器、顶杆",
                   unit="套", tracking=_SERIAL, category="rescue", gbt_code="2020103",
                   attributes={"fuel": "gasoline", "crew": 2, "weight_kg": 75},
                   inspection_interval_days=180),
    ItemTypeCreate(code="RESC-LIFE-DET", name="音视频生命探测仪", spec="音频+视频探头，锂电供电",
                   unit="台", tracking=_SERIAL, category="rescue", tags=["smart"], gbt_code="2020104",
                   attributes={"battery_wh": 60, "weight_kg": 8},
                   inspection_interval_days=180),
    # ---- relief goods (救灾物资), counted in quantities
    ItemTypeCreate(code="TENT-12", name="救灾帐篷", spec="单帐篷 12 m²，钢架，防水帆布",
                   unit="顶", tracking=_BULK, category="shelter", gbt_code="1020101",
                   attributes={"capacity_persons": 5, "weight_kg": 35}),
    ItemTypeCreate(code="TENT-COT-12", name="救灾棉帐篷", spec="12 m²，冬季保暖型",
                   unit="顶", tracking=_BULK, category="shelter", gbt_code="1020102",
                   attributes={"capacity_persons": 5, "weight_kg": 45}),
    ItemTypeCreate(code="TENT-36", name="多功能帐篷", spec="36 m²，可作临时指挥或医疗点",
                   unit="顶", tracking=_BULK, category="shelter", gbt_code="1020103",
                   attributes={"capacity_persons": 15, "weight_kg": 120}),
    ItemTypeCreate(code="SHEL-TARP", name="彩条布", spec="4 m × 50 m，每包 1 卷",
                   unit="包", tracking=_BULK, category="shelter", gbt_code="1020104",
                   attributes={"weight_kg": 18}),
    ItemTypeCreate(code="BED-QUILT", name="棉被", spec="2.0 m × 2.3 m，3 kg",
                   unit="床", tracking=_BULK, category="bedding", gbt_code="1030101",
                   attributes={"weight_kg": 3}),
    ItemTypeCreate(code="BED-BLANKET", name="毛毯", spec="1.5 m × 2.0 m",
                   unit="床", tracking=_BULK, category="bedding", gbt_code="1030102",
                   attributes={"weight_kg": 2}),
    ItemTypeCreate(code="BED-FOLD", name="折叠床", spec="钢管折叠，1.9 m × 0.7 m",
                   unit="张", tracking=_BULK, category="bedding", gbt_code="1030103",
                   attributes={"weight_kg": 10}),
    ItemTypeCreate(code="BED-MAT", name="防潮垫", spec="铝膜 PE，2.0 m × 1.0 m",
                   unit="张", tracking=_BULK, category="bedding", tags=["light"], gbt_code="1030104",
                   attributes={"weight_kg": 0.5}),
    ItemTypeCreate(code="CLOTH-COTTON", name="棉衣裤", spec="男女通用，多尺码",
                   unit="套", tracking=_BULK, category="clothing", gbt_code="1030201",
                   attributes={"weight_kg": 2.5}),
    ItemTypeCreate(code="RESC-LIFEJACKET", name="救生衣", spec="船用，浮力不低于 100 N",
                   unit="件", tracking=_BULK, category="rescue", tags=["light"], gbt_code="2020105",
                   attributes={"weight_kg": 0.8}),
    ItemTypeCreate(code="FLOOD-BAG-WOVEN", name="编织袋", spec="防汛用，50 cm × 90 cm，聚丙烯",
                   unit="条", tracking=_BULK, category="flood_control", gbt_code="3010101",
                   attributes={"weight_kg": 0.06}),
    ItemTypeCreate(code="FLOOD-BAG-SAND", name="沙袋", spec="已装填，每袋约 40 kg",
                   unit="袋", tracking=_BULK, category="flood_control", gbt_code="3010102",
                   attributes={"weight_kg": 40}),
    ItemTypeCreate(code="FLOOD-BAG-SWELL", name="吸水膨胀袋", spec="遇水 3–5 分钟膨胀，可替代沙袋",
                   unit="袋", tracking=_BULK, category="flood_control", tags=["light", "fast"], gbt_code="3010103",
                   attributes={"weight_kg": 0.5}, shelf_life_days=1825),
    ItemTypeCreate(code="FLOOD-GEOTEX", name="土工布", spec="200 g/m²，4 m × 50 m",
                   unit="卷", tracking=_BULK, category="flood_control", gbt_code="3010104",
                   attributes={"weight_kg": 40}),
    ItemTypeCreate(code="WATER-550", name="饮用水", spec="550 ml × 24 瓶",
                   unit="箱", tracking=_BULK, category="water", gbt_code="1010201",
                   attributes={"volume_l": 13.2, "weight_kg": 13.8}, shelf_life_days=540),
    ItemTypeCreate(code="FOOD-NOODLE", name="方便食品", spec="桶装方便面，12 桶/箱",
                   unit="箱", tracking=_BULK, category="food", gbt_code="1010101",
                   attributes={"weight_kg": 1.5}, shelf_life_days=180),
    ItemTypeCreate(code="FOOD-BISCUIT", name="压缩饼干", spec="每箱 10 kg",
                   unit="箱", tracking=_BULK, category="food", gbt_code="1010102",
                   attributes={"weight_kg": 10}, shelf_life_days=730),
)
"""The demo catalogue: 30 serial equipment types and 17 bulk relief goods."""

STOCKING: Final[dict[str, tuple[int, int, int]]] = {
    # item code: (units at the city depot, at each county depot ± 1, at an equipped reserve point half the time)
    "PUMP-LXS-1500": (2, 0, 0), "PUMP-DRB-1000": (2, 0, 0), "PUMP-VPS-850": (1, 0, 0),
    "PUMP-TRL-600": (1, 1, 0), "PUMP-HYD-500": (1, 1, 0), "PUMP-SUB-400": (2, 1, 0),
    "PUMP-SUB-300": (2, 1, 0), "PUMP-FLT-90": (1, 1, 0), "PUMP-POR-100": (2, 1, 0),
    "PUMP-POR-50": (2, 1, 1), "GEN-DSL-150": (1, 0, 0), "GEN-DSL-30": (1, 1, 0),
    "GEN-GAS-5": (2, 1, 1), "PWR-LIB-2": (2, 1, 0), "BOAT-RUB-6": (2, 2, 0),
    "BOAT-ASL-12": (2, 1, 0), "BOAT-OBM-40": (2, 1, 0), "UAV-SRCH-M": (1, 1, 0),
    "UAV-DROP-M": (1, 0, 0), "COMM-SAT-PH": (2, 1, 1), "COMM-370-HT": (6, 3, 1),
    "COMM-SAT-VSAT": (1, 0, 0), "LIGHT-TOWER-4": (1, 1, 0), "LIGHT-LED-PORT": (2, 1, 1),
    "LIGHT-EXP-HL": (4, 2, 1), "FIRE-WIND-BP": (2, 1, 1), "RESC-STR-FOLD": (2, 1, 1),
    "RESC-SAW-G": (1, 1, 0), "RESC-HYD-SET": (1, 0, 0), "RESC-LIFE-DET": (1, 0, 0),
}
"""How many units of each serial item type the demo places at each kind of location."""

STOCK_FACTOR: Final[dict[str, float]] = {
    # the counties along the 赣江 and 抚河 and by 鄱阳湖, where most of 南昌市's flood fighting happens
    "360121": 2.5, "360112": 2.5, "360124": 2.5,
    # the urban districts: a city-wide drainage service and the city depot are close at hand
    "360102": 0.5, "360103": 0.5, "360104": 0.5, "360111": 0.5, "360113": 0.5,
}
"""A county's multiplier on its depot's and reserve points' opening goods and its per-county equipment (1 elsewhere)."""


def stock_factor(region_code: str) -> float:
    """The :data:`STOCK_FACTOR` of the county a region code lies in (the city itself: 1)."""
    return STOCK_FACTOR.get(region_code[:6], 1.0)


FOREST_FIRE_POINT: Final = "RP-360112116-FF"
"""The forest-fire reserve point (森林防火物资储备点) in 梅岭镇, 湾里 (新建区)."""
FOREST_FIRE_STOCKING: Final[dict[str, int]] = {
    "FIRE-WIND-BP": 8, "RESC-SAW-G": 2, "PUMP-POR-50": 2, "COMM-370-HT": 4, "LIGHT-EXP-HL": 4, "GEN-GAS-5": 1,
    "RESC-STR-FOLD": 2, "UAV-SRCH-M": 1,
}
"""The units at :data:`FOREST_FIRE_POINT`: blowers, chainsaws, a pump for water, radios, lights and stretchers."""

VENDORS: Final[tuple[DemoVendor, ...]] = (
    DemoVendor(code="V-PUMP-360121", name="江西某泵业有限公司南昌仓库", region_code="360121403000", lead_hours=6,
               ownership="leased_in",
               stock={"PUMP-LXS-1500": 1, "PUMP-VPS-850": 2, "PUMP-TRL-600": 3, "PUMP-SUB-400": 4,
                      "PUMP-SUB-300": 4}),
    DemoVendor(code="V-POWER-360124", name="江西某动力设备有限公司进贤仓库", region_code="360124401000",
               lead_hours=8,
               ownership="leased_in",
               stock={"GEN-DSL-150": 2, "GEN-DSL-30": 3, "LIGHT-TOWER-4": 3, "PWR-LIB-2": 4}),
    DemoVendor(code="V-BOAT-360112", name="江西某救生器材有限公司新建仓库", region_code="360112404000",
               lead_hours=12,
               ownership="leased_in",
               stock={"BOAT-ASL-12": 4, "BOAT-OBM-40": 4, "BOAT-RUB-6": 6}),
    DemoVendor(code="V-UAV-360111", name="江西某无人机科技有限公司南昌仓库", region_code="360111400000",
               lead_hours=4,
               ownership="consigned",
               stock={"UAV-SRCH-M": 3, "UAV-DROP-M": 2, "COMM-SAT-VSAT": 1, "COMM-SAT-PH": 4}),
)
"""Four vendor warehouses with agreement lead times and the equipment they hold for the county, each in a
development zone (小蓝经济开发区, 江西进贤经济开发区, 江西新建经济开发区, 江西青山湖高新技术产业园区): their region
codes are those zones' township codes."""
