"""A synthetic demo county, generated from documented distributions with a fixed seed.

No county's full published list could be obtained here, so the demo county is generated
(合成数据: every output that shows it says so). Its totals follow 宾县's published figures;
everything below the totals is an estimate. The distributions and where each comes from:

=========================  =====================================================  ======
figure                     distribution                                           basis
=========================  =====================================================  ======
items, departments         1,038 items claimed by 27 departments                  [S] 1
网上可办                    exactly round(96.5% × items) items online               [S] 1
最多跑一次                  exactly round(98.2% × items) items with ≤ 1 trip        [S] 1
materials, 环节 removed     the before-version has 192 more materials and 227 more  [S] 1
                           环节, spread over the items at random
items per department       the weights in ``DEPARTMENTS`` (公安, 人社, 市场监管 the    [E]
                           largest), scaled to the item count
事项类型                    ``ITEM_TYPES`` (公共服务 45%, 行政许可 22% …)              [E]
statutory limit            every 行政许可 and a quarter of the other powers: 20       [S] 2
                           working days (行政许可法 第42条); public services none
committed limit            即办件 0; otherwise 65–85% of the statutory limit (宾县    [E] 1, 3
                           compressed 30%+, 上海长宁 about 50%), 5% of them left
                           at the statutory limit (承诺时限未压缩); without a
                           statutory limit one of 1, 3, 5, 7, 10, 15 days
即办件                      10% of items with a statutory limit, 53% of the rest    [E] 4
                           (about 40% overall; 长乐 did 330 of 790 the same day)
行使层级                    县级 85%, 乡级 12%, 村级 3% (建华区's 街道 centres handle  [E] 5
                           167 items)
网办深度                    online: 四级 70%, 三级 30%; offline: 二级 60%, 一级 30%,   [E]
                           不可网办 10%
到现场次数                  0 for 四级, else 1; 2 for the items past 98.2%           [E] 6
materials                  1 + Poisson(3), at most 12, from ``MATERIAL_NAMES``      [E]
环节                        即办件 1–2, 承诺件 3–4 (受理、审查、决定、送达)            [E]
fee                        97% 不收费, else 10, 50 or 100 yuan                      [E] 7
=========================  =====================================================  ======

Sources: 1 黑龙江日报 on 宾县 (2021): "27家行政部门共认领录入政务服务事项1038项，网上可办
1002项（96.5%），最多跑一次1019项（98.2%）……减少要件192件……精简审批环节227个，办理时限共压缩
1843天，压缩比例30%以上"; 2 行政许可法 第42条; 3 上海长宁 2019 (committed ≈ statutory × 50%);
4 长乐 行政服务中心 2017 (330 same-day of 790 items); 5 齐齐哈尔 建华区 2020; 6 梅州
梅市府办函〔2017〕118号 (≥ 20% of items with no trip); 7 西宁 2022 (零收费). The links are in
the project's domain notes (reform-data, §"From the founding documents" and §0.4).

>>> before, after = demo_versions(seed=1)
>>> sum(b.material_count - a.material_count for b, a in zip(before.items, after.items))
192
"""

from __future__ import annotations

import math
import random

from process_models._cells import derived_id
from process_models.procedure import Basis, Department, Limit, Source, StepKind
from process_models.registry.items import Item, OnlineLevel, Registry, ServiceLevel

__all__ = ["DEPARTMENTS", "ITEM_TYPES", "MATERIAL_NAMES", "demo_county", "demo_versions"]

BINXIAN_ITEMS = 1038
BINXIAN_ONLINE_SHARE = 1002 / 1038
BINXIAN_ONE_TRIP_SHARE = 1019 / 1038
BINXIAN_MATERIALS_REMOVED = 192
BINXIAN_LINKS_REMOVED = 227
SOURCE = ("黑龙江日报，宾县政务服务改革报道（2021）：27家行政部门共认领录入政务服务事项1038项，"
          "网上可办1002项（96.5%），最多跑一次1019项（98.2%）")

#: 27 county departments and their weight in the item count [E].
DEPARTMENTS: tuple[tuple[str, int], ...] = (
    ("县公安局", 120), ("县人力资源和社会保障局", 100), ("县市场监督管理局", 90),
    ("县农业农村局", 80), ("县卫生健康局", 70), ("县交通运输局", 60), ("县自然资源局", 60),
    ("县住房和城乡建设局", 60), ("县民政局", 50), ("县教育局", 40), ("县文化广电和旅游局", 40),
    ("县水务局", 35), ("县应急管理局", 30), ("县生态环境分局", 30), ("县林业和草原局", 30),
    ("县医疗保障局", 30), ("县退役军人事务局", 25), ("县司法局", 25), ("县城市管理综合执法局", 20),
    ("县商务局", 15), ("县发展和改革局", 15), ("县财政局", 15), ("县工业信息化和科技局", 10),
    ("县气象局", 8), ("县人民防空办公室", 8), ("县统计局", 5), ("县审计局", 3),
)

#: 事项类型 and their shares [E]; the first is the only type that always has a statutory limit.
ITEM_TYPES: tuple[tuple[str, float], ...] = (
    ("行政许可", 0.22), ("行政确认", 0.10), ("行政给付", 0.06), ("行政裁决", 0.01),
    ("行政奖励", 0.02), ("其他行政权力", 0.14), ("公共服务", 0.45),
)

#: The materials a demo item asks for, in order [E].
MATERIAL_NAMES = ("申请表", "申请人身份证明", "法定代表人身份证明", "营业执照", "场所使用证明",
                  "资质证明", "承诺书", "授权委托书", "现场照片", "技术方案", "检测报告",
                  "其他材料")

_LEVELS = ((ServiceLevel.county, 0.85), (ServiceLevel.township, 0.12),
           (ServiceLevel.village, 0.03))
_WITHOUT_STATUTORY = (1, 3, 5, 7, 10, 15)


def _spread(total: int, weights: list[float]) -> list[int]:
    """``total`` split in proportion to ``weights`` (largest remainders), each at least 1."""
    scale = sum(weights)
    raw = [total * w / scale for w in weights]
    counts = [max(1, math.floor(r)) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: raw[i] - math.floor(raw[i]), reverse=True)
    for i in order[: max(0, total - sum(counts))]:
        counts[i] += 1
    while sum(counts) > total:  # the departments raised to 1 took items from the largest
        counts[counts.index(max(counts))] -= 1
    return counts


def _pick(rng: random.Random, choices) -> object:
    values, weights = zip(*choices, strict=True)
    return rng.choices(values, weights)[0]


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def demo_county(items: int = BINXIAN_ITEMS, *, seed: int = 2021) -> Registry:
    """The after-version of the demo county: ``items`` items over 27 departments."""
    return demo_versions(items, seed=seed)[1]


def demo_versions(items: int = BINXIAN_ITEMS, *, seed: int = 2021) -> tuple[Registry, Registry]:
    """(before, after) registries of the demo county, the same items by code.

    The before-version commits to the statutory limit where there is one and asks for
    192 more materials and 227 more 环节 in all (宾县's published removals, scaled to
    ``items``); everything else is the same.
    """
    rng = random.Random(seed)
    taken: set[str] = set()
    departments = [Department(id=derived_id(name, "d", taken), name=name)
                   for name, _ in DEPARTMENTS]
    counts = _spread(items, [w for _, w in DEPARTMENTS])
    owners = [(number, d) for number, (d, c) in enumerate(zip(departments, counts, strict=True),
                                                          start=1) for _ in range(c)]
    online = set(rng.sample(range(items), round(BINXIAN_ONLINE_SHARE * items)))
    offline = [i for i in range(items) if i not in online]
    rng.shuffle(offline)
    two_trips = set(offline[: items - round(BINXIAN_ONE_TRIP_SHARE * items)])
    after = []
    serial: dict[str, int] = {}
    for i, (number, dept) in enumerate(owners):
        serial[dept.id] = serial.get(dept.id, 0) + 1
        after.append(_item(rng, dept, number, serial[dept.id], i in online, i in two_trips))
    scale = items / BINXIAN_ITEMS
    extra_materials = _extras(rng, items, round(BINXIAN_MATERIALS_REMOVED * scale))
    extra_links = _extras(rng, items, round(BINXIAN_LINKS_REMOVED * scale))
    before = [a.model_copy(update={
        "committed": a.statutory or a.committed,
        "material_count": a.material_count + extra_materials[i],
        "materials": [*a.materials, *(f"补充材料{k}" for k in range(1, extra_materials[i] + 1))],
        "links": a.links + extra_links[i]}) for i, a in enumerate(after)]
    common = {"name": "示范县（合成数据）", "synthetic": True, "departments": departments,
              "sources": [Source(title=SOURCE, note="totals only; every item is generated")],
              "note": "合成数据 (synthetic): generated by process_models.registry.demo from "
                      "宾县's published totals and estimated distributions"}
    return (Registry(id="demo_county", version="before", form="before", items=before, **common),
            Registry(id="demo_county", version="after", form="after", items=after, **common))


def _extras(rng: random.Random, items: int, total: int) -> list[int]:
    out = [0] * items
    for i in rng.choices(range(items), k=total):
        out[i] += 1
    return out


def _item(rng: random.Random, dept: Department, number: int, n: int, online: bool,
          two_trips: bool) -> Item:
    item_type = _pick(rng, ITEM_TYPES)
    has_law = item_type == "行政许可" or (item_type != "公共服务" and rng.random() < 0.25)
    immediate = rng.random() < (0.10 if has_law else 0.53)
    statutory = Limit(days=20) if has_law else None
    if immediate:
        committed = 0.0
    elif statutory is not None:
        kept = rng.random() < 0.05
        committed = statutory.days if kept else float(round(statutory.days * rng.uniform(0.65, 0.85)))
    else:
        committed = float(rng.choice(_WITHOUT_STATUTORY))
    level = (rng.choices([OnlineLevel.full, OnlineLevel.pre_review], [0.7, 0.3])[0] if online
             else rng.choices([OnlineLevel.forms, OnlineLevel.information, OnlineLevel.none],
                              [0.6, 0.3, 0.1])[0])
    materials = list(MATERIAL_NAMES[: min(1 + _poisson(rng, 3), len(MATERIAL_NAMES))])
    return Item(
        code=f"SYN{number:02d}{n:05d}", name=f"{dept.name}政务服务事项{n:03d}",
        item_type=item_type, department=dept.id, level=_pick(rng, _LEVELS),
        kind=StepKind.immediate if immediate else StepKind.promised, statutory=statutory,
        committed=Limit(days=committed), online_level=level,
        trips=2 if two_trips else (0 if level is OnlineLevel.full else 1),
        materials=materials, links=rng.choice((1, 2)) if immediate else rng.choice((3, 4)),
        fee_yuan=0.0 if rng.random() < 0.97 else float(rng.choice((10, 50, 100))),
        legal_basis=f"{item_type}的设定依据（合成数据，未核实）", basis=Basis.estimate)
