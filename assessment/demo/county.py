"""Pingyin County's towns and streets with their approximate resident populations.

Populations are rounded, plausible figures for the demo (about 370,000 residents), not
official statistics.  Village and community names are synthetic.
"""
from dataclasses import dataclass

COUNTY_CODE = "370124"
COUNTY_NAME_ZH = "平阴县"
COUNTY_NAME_EN = "Pingyin County"


@dataclass(frozen=True)
class TownSpec:
    code: str
    name_zh: str
    name_en: str
    kind: str  # street | town | zone
    population: int
    urban_share: float  # share of residents living in communities (urban)
    industry: float  # relative weight of industrial work among working-age residents


TOWNS: tuple[TownSpec, ...] = (
    TownSpec("yushan", "榆山街道", "Yushan Subdistrict", "street", 82_000, 0.78, 1.0),
    TownSpec("jinshui", "锦水街道", "Jinshui Subdistrict", "street", 61_000, 0.66, 1.1),
    TownSpec("donge", "东阿镇", "Dong'e Town", "town", 44_000, 0.18, 0.9),
    TownSpec("meigui", "玫瑰镇", "Meigui Town", "town", 39_000, 0.15, 0.7),
    TownSpec("hongfanchi", "洪范池镇", "Hongfanchi Town", "town", 29_000, 0.12, 0.5),
    TownSpec("kongcun", "孔村镇", "Kongcun Town", "town", 38_000, 0.20, 1.3),
    TownSpec("xiaozhi", "孝直镇", "Xiaozhi Town", "town", 35_000, 0.17, 1.0),
    TownSpec("ancheng", "安城镇", "Ancheng Town", "town", 27_000, 0.13, 0.6),
    TownSpec("devzone", "经济开发区", "Economic Development Zone", "zone", 15_000, 0.55, 2.4),
)

# Syllables for synthetic village names (surname + place word + 村).
VILLAGE_FIRST = "王张李刘陈杨赵黄周吴孙马胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
VILLAGE_SECOND = ("庄", "家庄", "楼", "屯", "店", "洼", "集", "岭", "峪", "营", "河", "桥", "寨", "坡", "泉")
COMMUNITY_NAMES = (
    "锦东", "锦西", "榆苑", "玫瑰园", "翠屏", "龙山", "青龙", "东关", "西关", "南关", "北关",
    "胜利", "新华", "文化", "府前", "阳光", "和谐", "康居", "富民", "泰和", "御园", "书香",
)
