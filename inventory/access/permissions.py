"""Who may do what: the one permission table that the API, the docs and the tests all read.

Each route names an action; an action lists the roles allowed and whether the target must lie
in the user's scope (region-code prefixes and/or locations, a location's bins included).
Reads of stock and availability are open to every signed-in user: an emergency crosses county
lines. Admins are not limited by scope.
"""

from __future__ import annotations

from dataclasses import dataclass

ROLES: tuple[str, ...] = ("admin", "commander", "keeper", "auditor")
ROLE_ZH = {"admin": "系统管理员", "commander": "指挥人员", "keeper": "保管员", "auditor": "审计人员"}


@dataclass(frozen=True)
class Rule:
    """Roles allowed to take an action, and whether the target must be in the user's scope."""

    roles: frozenset[str]
    scoped: bool
    description: str


def _rule(roles: str, scoped: bool, description: str) -> Rule:
    return Rule(frozenset(roles.split()), scoped, description)


ALL = "admin commander keeper auditor"

PERMISSIONS: dict[str, Rule] = {
    "public": _rule(ALL, False, "不需登录：健康检查、接口文档、登录"),
    "session": _rule(ALL, False, "查看或注销自己的登录"),
    "read": _rule(ALL, False, "查看行政区划、地点、品目、装备、批次、库存、流水、调拨"),
    "locations.write": _rule("admin", False, "新建、修改地点"),
    "catalog.write": _rule("admin", False, "新建、修改物资品目"),
    "assets.write": _rule("admin keeper", True, "登记装备、修改装备状况（保管员限辖区内）"),
    "movements.post": _rule("admin keeper", True,
                            "出入库、调拨、盘盈盘亏、归还，提交或撤销本人的报废申请（保管员限辖区内）"),
    "documents.reverse": _rule("admin keeper", True, "冲销单据（保管员限辖区内）"),
    "transfers.receive": _rule("admin keeper", True, "调拨收货（保管员限收货地点在辖区内）"),
    "labels.print": _rule("admin keeper", True, "打印标签页（PDF，一次至多 5000 张；保管员限辖区内）"),
    "labels.reissue": _rule("admin keeper", True, "补打破损标签，旧编码作废（保管员限辖区内）"),
    "leases.write": _rule("admin keeper", True, "登记租借合同、借出/租入交付、归还、续租（保管员限辖区内）"),
    "agreements.write": _rule("admin commander", True,
                              "登记协议储备、记录检查与拉动演练、登记调用结算（指挥人员限辖区内）"),
    "quotas.write": _rule("admin commander", True, "设定、修改、删除储备定额，导入储备定额表（指挥人员限辖区内）"),
    "readiness.check": _rule("admin keeper", True,
                             "记录装备检查（试运行、充电、汛前检查等）、送修与修复返回（保管员限辖区内）"),
    "maintenance_plans.write": _rule("admin", False, "制定、更换保养计划（按物资品目或单件装备）"),
    "risk_points.write": _rule("admin commander", True,
                               "登记、修改、删除风险隐患点，导入风险隐患点表（指挥人员限辖区内）"),
    "plans.write": _rule("admin commander", True, "制定、修改前置计划，运行选址优化（指挥人员限辖区内）"),
    "plans.approve": _rule("admin commander", True, "审批前置计划（不能是制定人本人；指挥人员限辖区内）"),
    "plans.execute": _rule("admin commander", True, "执行前置计划（生成调拨单）、汛后收回（指挥人员限辖区内）"),
    "incidents.write": _rule("admin commander", False, "登记、关闭事件"),
    "dispatch.order": _rule("admin commander", True,
                            "下达动用指令（来源限辖区内，先用本级物资；其他单位的物资须提出调用申请）"),
    "dispatch.manage": _rule("admin commander", False, "补办动用指令的书面手续、取消动用指令"),
    "requests.write": _rule("admin commander", True, "以本单位名义提出物资调用申请（向物资所属单位或上一级）"),
    "requests.answer": _rule("admin commander", True,
                             "答复发往本辖区的物资调用申请：同意（从本辖区物资下达动用指令）或拒绝（写明理由）"),
    "dispatch.execute": _rule("admin keeper", True, "执行动用指令出库、现场签收、归还（保管员限辖区内）"),
    "relief.distribute": _rule("admin commander keeper", True,
                               "向受灾群众发放救灾物资（登记户、发放轮次；限发放地点在辖区内）"),
    "stocktake.count": _rule("admin keeper", True, "发起盘点、导入盘点表（保管员限辖区内）"),
    "stocktake.approve": _rule("admin commander", False, "审批盘点差异（不能是导入人本人）"),
    "writeoffs.approve": _rule("admin commander", True, "批准或驳回报废申请（不能是申请人本人；指挥人员限辖区内）"),
    "imports.opening": _rule("admin keeper", True, "导入新库点的期初库存（保管员限辖区内）"),
    "alerts.read": _rule(ALL, False, "查看告警（只列出本人职责和辖区内的；管理员、审计人员看全部）"),
    "alerts.ack": _rule("admin commander keeper", True, "确认告警（已知悉、正在处理；限本人可见的告警）"),
    "audit.read": _rule("admin auditor", False, "查看审计日志"),
    "users.read": _rule("admin auditor", False, "查看用户"),
    "users.manage": _rule("admin", False, "新建、修改、停用用户"),
}

# Who may approve a write-off (报废须经上级批准): the roles of ``writeoffs.approve``.
APPROVER_ROLES = PERMISSIONS["writeoffs.approve"].roles


def allowed(action: str, role: str) -> bool:
    """True when ``role`` may take ``action`` (scope is checked separately)."""
    rule = PERMISSIONS.get(action)
    return rule is not None and role in rule.roles


def matrix_markdown() -> str:
    """The permission table as Markdown (README and docs are generated from this)."""
    head = "| action | " + " | ".join(ROLES) + " | scope | 说明 |\n|---|" + "---|" * (len(ROLES) + 2) + "\n"
    rows = [
        f"| `{action}` | " + " | ".join("✓" if r in rule.roles else "—" for r in ROLES)
        + f" | {'辖区内' if rule.scoped else '—'} | {rule.description} |"
        for action, rule in PERMISSIONS.items()
    ]
    return head + "\n".join(rows) + "\n"
