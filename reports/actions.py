"""The plan's action areas, and the concrete measures the knowledge-gap section proposes.

A group's weakest dimensions are turned into focus points: the plan's action for the group
(全民科学素质行动规划纲要（2021—2035年）: five groups, five actions; 健康中国行动（2019—2030年）
for health; 职业健康保护行动 for workers' occupational health), the channel that reaches the
group, and the measure that addresses the dimension.  This is report wording, kept apart from
the builder so that a county can adapt it to its own plan.
"""
from __future__ import annotations

ALL = "all"  # the whole population of the report's area (a town's residents)

SCIENCE_ACTIONS = {
    "youth": "青少年科学素质提升行动",
    "farmer": "农民科学素质提升行动",
    "worker": "产业工人科学素质提升行动",
    "elder": "老年人科学素质提升行动",
    "cadre": "领导干部和公务员科学素质提升行动",
    ALL: "基层科普能力提升工程",
}
HEALTH_ACTION = "健康中国·健康知识普及行动"
OCCUPATIONAL_ACTION = "健康中国·职业健康保护行动"

CHANNELS = {
    "youth": "学校科学教育、课后服务和青少年科技活动",
    "farmer": "新时代文明实践站、农技推广和科技特派员下乡",
    "worker": "企业岗前培训、工会职工书屋和技能竞赛",
    "elder": "社区老年大学、老年活动中心和家庭医生签约服务",
    "cadre": "党校（行政学院）培训和理论学习中心组",
    ALL: "村（社区）科普活动站、宣传栏和“科普中国”等线上平台",
}

# Measure per dimension code, by instrument.
MEASURES = {
    "science_literacy": {
        "knowledge": "用通俗读物、讲座和科普展板补充生命健康、地球环境、物质与能量等基础科学知识",
        "methods": "通过动手实验、对比试验和读懂数据图表，讲清“怎样得出可靠的结论”",
        "spirit": "组织辨析迷信和伪科学的案例讨论，养成遇事查证据、不轻信的习惯",
        "application": "围绕用电用气安全、合理用药、识别网络谣言等身边问题开展情景式科普",
    },
    "health_literacy": {
        "knowledge": "普及《中国公民健康素养——基本知识与技能》中的基本知识和理念",
        "lifestyle": "倡导合理膳食、适量运动、戒烟限酒和心理平衡",
        "skills": "现场教会测量血压、读懂药品说明书、拨打急救电话等基本技能",
        "scientific_view": "讲清“每个人是自己健康的第一责任人”、定期体检等科学健康观",
        "infectious": "宣传疫苗接种、咳嗽礼仪和结核病、艾滋病等传染病的防治知识",
        "chronic": "结合家庭医生签约和慢病随访，讲解高血压、糖尿病的早发现和规范管理",
        "safety": "开展心肺复苏、止血包扎和防溺水、防跌倒等安全与急救培训",
        "medical": "讲解合理用药、看病就医流程和医保报销政策",
        "information": "教会辨别健康谣言、从卫生健康部门等权威渠道获取健康信息",
    },
    "occupational_health": {
        "law_rights": "宣讲《职业病防治法》规定的劳动者知情权、培训权和职业健康检查权利",
        "hazards": "在岗前培训和班前会上讲清本岗位的粉尘、噪声、化学毒物等危害因素",
        "protection": "督促企业免费配发合格的防护用品，并现场教会正确佩戴、检查和更换",
        "health_surveillance": "落实上岗前、在岗期间和离岗时的职业健康检查，演练眼部冲洗、中暑处置等应急措施",
    },
}

# The dimension family whose dimensions become focus points (health: the problem categories).
FOCUS_FAMILY = {"science_literacy": "area", "health_literacy": "category", "occupational_health": "area"}


def action_area(instrument: str, group: str) -> str:
    """Return the plan's action that addresses GROUP on INSTRUMENT."""
    if instrument == "health_literacy":
        return HEALTH_ACTION
    if instrument == "occupational_health":
        return OCCUPATIONAL_ACTION
    return SCIENCE_ACTIONS.get(group, SCIENCE_ACTIONS[ALL])


def focus_point(instrument: str, group: str, dimension: str, label: str, share: str, county_share: str) -> str:
    """Return one concrete focus point: where to reach the group, what to do, and why (the shares)."""
    channel = CHANNELS.get(group, CHANNELS[ALL])
    measure = MEASURES.get(instrument, {}).get(dimension, f"加强“{label}”方面的宣传教育")
    evidence = f"“{label}”得分率{share}" + (f"，全县{county_share}" if county_share else "")
    return f"依托{channel}，{measure}（{evidence}）。"
