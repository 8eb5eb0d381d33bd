"""The county report in 宾县's format, from the item registry alone.

宾县 reported its reform as "27家行政部门共认领录入政务服务事项1038项，网上可办1002项（96.5%），
最多跑一次1019项（98.2%）……减少要件192件……精简审批环节227个，办理时限共压缩1843天，压缩比例30%以上".
:func:`county_report` computes each of these figures from a
:class:`~process_models.registry.Registry`, per department and per service level too, and
the share of each figure that rests on sourced numbers:

- 网上可办: items whose list says so (or whose 网办深度 is 三级 or 四级); 最多跑一次: items with
  at most one trip (到现场次数 ≤ 1). Items whose list does not say count in the denominator
  and are reported as unknown.
- 办理时限共压缩: against the statutory limits (the sum of statutory minus committed over the
  items that have both, in one unit; the share is of the statutory sum), or, given the
  before-version, before against after (over the items in both, by 事项编码).
- 减少要件 and 精简审批环节 need the before-version: they are the before counts minus the
  after counts over the items in both.
- 承诺时限未压缩: items whose committed limit is not below the statutory one.

A synthetic registry's report says 合成数据 in its headline, JSON, XLSX and HTML.

>>> from process_models.registry import demo_versions
>>> before, after = demo_versions(seed=1)
>>> print(county_report(after, before).headline())   # doctest: +ELLIPSIS
【合成数据】示范县（合成数据）：27家行政部门共认领录入政务服务事项1038项，网上可办1002项（96.5%），最多跑一次1019项（98.2%），...减少要件192件，精简审批环节227个，办理时限共压缩...天，压缩比例...（对照改革前承诺时限）。
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from process_models.procedure import Basis, Limit
from process_models.registry import Item, Registry, ServiceLevel
from simulations.planning.audit_report import View

__all__ = ["CountyReport", "GroupRow", "county_report", "report_data", "report_views"]

Baseline = Literal["statutory", "before"]


@dataclass(frozen=True)
class GroupRow:
    """The figures of one department or service level."""

    key: str
    name: str
    items: int
    online: int
    online_share: float
    at_most_one_trip: int
    at_most_one_trip_share: float
    immediate: int
    immediate_share: float
    baseline_days: float
    compressed_days: float
    compression_share: float | None
    not_compressed: int


@dataclass(frozen=True)
class CountyReport:
    """The county's figures; ``basis`` is, per figure, the share of the items behind it
    whose number is sourced."""

    county: str
    synthetic: bool
    compared_with: Baseline
    items: int
    departments: int
    online: int
    online_share: float
    online_unknown: int
    at_most_one_trip: int
    at_most_one_trip_share: float
    trips_unknown: int
    immediate: int
    immediate_share: float
    materials_removed: int | None
    links_removed: int | None
    baseline_days: float
    compressed_days: float
    compression_share: float | None
    not_compressed: list[str]
    items_added: int | None
    items_removed: int | None
    per_department: list[GroupRow] = field(default_factory=list)
    per_level: list[GroupRow] = field(default_factory=list)
    basis: dict[str, float | None] = field(default_factory=dict)

    def headline(self, lang: str = "zh") -> str:
        """The report in one sentence, 宾县's wording (``lang="en"``: English)."""
        return _headline_en(self) if lang == "en" else _headline_zh(self)

    def basis_line(self, lang: str = "zh") -> str:
        """How much of each figure is sourced: "依据（有来源的占比）：网上可办 0% …"."""
        labels = _BASIS_LABELS[lang == "en"]
        parts = [f"{labels[k]} {_pct(v, 0)}" for k, v in self.basis.items()]
        head = "basis (share sourced): " if lang == "en" else "依据（有来源的占比）："
        return head + ("; " if lang == "en" else "，").join(parts)


_BASIS_LABELS = (
    {"online": "网上可办", "trips": "到现场次数", "kind": "办件类型", "committed": "承诺时限",
     "statutory": "法定时限", "compression": "压缩天数", "materials": "要件", "links": "环节"},
    {"online": "online", "trips": "trips", "kind": "item kind", "committed": "committed limits",
     "statutory": "statutory limits", "compression": "days compressed", "materials": "materials",
     "links": "links"},
)


def _pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}%}"


def _days(value: float) -> str:
    return f"{value:g}"


def _headline_zh(r: CountyReport) -> str:
    mark = "【合成数据】" if r.synthetic else ""
    removed = (f"减少要件{r.materials_removed}件，精简审批环节{r.links_removed}个，"
               if r.materials_removed is not None else "减少要件、精简环节需改革前清单（--before），")
    against = "对照改革前承诺时限" if r.compared_with == "before" else "对照法定时限"
    return (f"{mark}{r.county}：{r.departments}家行政部门共认领录入政务服务事项{r.items}项，"
            f"网上可办{r.online}项（{_pct(r.online_share)}），最多跑一次{r.at_most_one_trip}项"
            f"（{_pct(r.at_most_one_trip_share)}），即办件{r.immediate}项（{_pct(r.immediate_share)}）"
            f"；{removed}办理时限共压缩{_days(r.compressed_days)}天，压缩比例"
            f"{_pct(r.compression_share)}（{against}）。")


def _headline_en(r: CountyReport) -> str:
    mark = "[synthetic] " if r.synthetic else ""
    removed = (f"{r.materials_removed} materials and {r.links_removed} links removed; "
               if r.materials_removed is not None else
               "materials and links removed need the before-list (--before); ")
    against = "against the before-list's committed limits" if r.compared_with == "before" \
        else "against statutory limits"
    return (f"{mark}{r.county}: {r.departments} departments claimed {r.items} items; online "
            f"{r.online} ({_pct(r.online_share)}); at most one trip {r.at_most_one_trip} "
            f"({_pct(r.at_most_one_trip_share)}); immediate {r.immediate} "
            f"({_pct(r.immediate_share)}); {removed}time limits compressed by "
            f"{_days(r.compressed_days)} days ({_pct(r.compression_share)}, {against}).")


def _share(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _same_unit(a: Limit | None, b: Limit) -> bool:
    return a is not None and a.unit is b.unit


class _Compression:
    """Days compressed per item: against its statutory limit, or its before-version."""

    def __init__(self, before: Registry | None) -> None:
        self.before = {i.code: i for i in before.items} if before is not None else None

    def baseline(self, item: Item) -> Limit | None:
        if self.before is None:
            return item.statutory
        old = self.before.get(item.code)
        return old.committed if old is not None else None

    def pair(self, item: Item) -> tuple[float, float] | None:
        """(baseline days, compressed days), or None when the item has no baseline."""
        base = self.baseline(item)
        if not _same_unit(base, item.committed):
            return None
        return base.days, base.days - item.committed.days

    def sourced(self, item: Item) -> bool:
        if self.before is None:
            return (item.basis_of("statutory") is Basis.sourced
                    and item.basis_of("committed") is Basis.sourced)
        old = self.before[item.code]
        return old.basis_of("committed") is Basis.sourced and \
            item.basis_of("committed") is Basis.sourced


def _not_compressed(item: Item) -> bool:
    return _same_unit(item.statutory, item.committed) and \
        item.committed.days >= item.statutory.days


def _group(key: str, name: str, items: list[Item], compression: _Compression) -> GroupRow:
    pairs = [p for p in map(compression.pair, items) if p is not None]
    baseline = sum(b for b, _ in pairs)
    compressed = sum(c for _, c in pairs)
    online = sum(i.online is True for i in items)
    one_trip = sum(i.at_most_one_trip is True for i in items)
    immediate = sum(i.immediate for i in items)
    n = len(items)
    return GroupRow(key, name, n, online, online / n, one_trip, one_trip / n, immediate,
                    immediate / n, baseline, compressed, _share(compressed, baseline),
                    sum(map(_not_compressed, items)))


def _sourced_share(items: Iterable[Item], counts: Callable[[Item], bool],
                   sourced: Callable[[Item], bool]) -> float | None:
    behind = [i for i in items if counts(i)]
    return _share(sum(map(sourced, behind)), len(behind))


def _removed(registry: Registry, before: Registry | None, attribute: str) -> int | None:
    if before is None:
        return None
    old = {i.code: getattr(i, attribute) for i in before.items}
    return sum(old[i.code] - getattr(i, attribute) for i in registry.items
               if old.get(i.code) is not None and getattr(i, attribute) is not None)


def county_report(registry: Registry, before: Registry | None = None) -> CountyReport:
    """The county's figures from ``registry`` (the list as it is, or after the reform),
    compared with ``before`` when given, else with the statutory limits."""
    compression = _Compression(before)
    items = registry.items
    total = _group("", registry.name, items, compression)
    names = {d.id: d.name for d in registry.departments}
    by_department: dict[str, list[Item]] = {}
    by_level: dict[ServiceLevel, list[Item]] = {}
    for item in items:
        by_department.setdefault(item.department, []).append(item)
        by_level.setdefault(item.level, []).append(item)
    per_department = sorted(
        (_group(d, names[d], its, compression) for d, its in by_department.items()),
        key=lambda g: (-g.items, g.name))
    per_level = [_group(level.name, level.value, by_level[level], compression)
                 for level in ServiceLevel if level in by_level]
    codes = {i.code for i in items}
    old_codes = set(compression.before) if compression.before is not None else None

    def sourced(figure: str) -> Callable[[Item], bool]:
        return lambda i: i.basis_of(figure) is Basis.sourced

    basis = {
        "online": _sourced_share(items, lambda i: i.online is not None, sourced("online")),
        "trips": _sourced_share(items, lambda i: i.trips is not None, sourced("trips")),
        "kind": _sourced_share(items, lambda i: True, sourced("kind")),
        "committed": _sourced_share(items, lambda i: True, sourced("committed")),
        "statutory": _sourced_share(items, lambda i: i.statutory is not None,
                                    sourced("statutory")),
        "compression": _sourced_share(items, lambda i: compression.pair(i) is not None,
                                      compression.sourced),
        "materials": _sourced_share(items, lambda i: i.material_count is not None,
                                    sourced("materials")),
        "links": _sourced_share(items, lambda i: i.links is not None, sourced("links")),
    }
    return CountyReport(
        county=registry.name, synthetic=registry.synthetic or bool(before and before.synthetic),
        compared_with="before" if before is not None else "statutory",
        items=total.items, departments=len(by_department),
        online=total.online, online_share=total.online_share,
        online_unknown=sum(i.online is None for i in items),
        at_most_one_trip=total.at_most_one_trip,
        at_most_one_trip_share=total.at_most_one_trip_share,
        trips_unknown=sum(i.trips is None for i in items),
        immediate=total.immediate, immediate_share=total.immediate_share,
        materials_removed=_removed(registry, before, "material_count"),
        links_removed=_removed(registry, before, "links"),
        baseline_days=total.baseline_days, compressed_days=total.compressed_days,
        compression_share=total.compression_share,
        not_compressed=[i.code for i in items if _not_compressed(i)],
        items_added=None if old_codes is None else len(codes - old_codes),
        items_removed=None if old_codes is None else len(old_codes - codes),
        per_department=per_department, per_level=per_level, basis=basis)


def report_data(report: CountyReport) -> dict[str, Any]:
    """The report as JSON data: the 宾县 figures first, then the tables and the basis."""
    data = asdict(report)
    data["not_compressed_items"] = data.pop("not_compressed")
    data["not_compressed"] = len(report.not_compressed)
    data["headline"] = report.headline()
    return data


_GROUP_HEADERS = (
    ["事项数", "网上可办", "网上可办率", "最多跑一次", "最多跑一次率", "即办件", "即办件占比",
     "基准时限", "压缩天数", "压缩比例", "承诺时限未压缩"],
    ["items", "online", "online share", "at most one trip", "one-trip share", "immediate",
     "immediate share", "baseline days", "days compressed", "compression", "not compressed"],
)


def _group_rows(groups: list[GroupRow]) -> list[list[Any]]:
    return [[g.name, g.items, g.online, _pct(g.online_share), g.at_most_one_trip,
             _pct(g.at_most_one_trip_share), g.immediate, _pct(g.immediate_share),
             g.baseline_days, g.compressed_days, _pct(g.compression_share), g.not_compressed]
            for g in groups]


def report_views(report: CountyReport, registry: Registry, lang: str = "zh") -> list[View]:
    """The report as tables: 汇总 (the headline and each figure with its sourced share),
    按部门, 按层级 and 承诺时限未压缩 (the items, by name)."""
    en = lang == "en"
    r = report
    summary = [["合成数据", "是：按公开分布生成，不是公布的数据", "", ""] if not en else
               ["synthetic", "yes: generated from published distributions, not published data",
                "", ""]] if r.synthetic else []
    summary += [
        ["摘要" if not en else "headline", r.headline(lang), "", ""],
        ["事项数" if not en else "items", r.items, "", ""],
        ["认领部门" if not en else "departments", r.departments, "", ""],
        ["网上可办" if not en else "online", r.online, _pct(r.online_share),
         _pct(r.basis["online"], 0)],
        ["最多跑一次" if not en else "at most one trip", r.at_most_one_trip,
         _pct(r.at_most_one_trip_share), _pct(r.basis["trips"], 0)],
        ["即办件" if not en else "immediate", r.immediate, _pct(r.immediate_share),
         _pct(r.basis["kind"], 0)],
        ["减少要件" if not en else "materials removed", "—" if r.materials_removed is None
         else r.materials_removed, "", _pct(r.basis["materials"], 0)],
        ["精简审批环节" if not en else "links removed", "—" if r.links_removed is None
         else r.links_removed, "", _pct(r.basis["links"], 0)],
        ["办理时限压缩（天）" if not en else "days compressed", r.compressed_days,
         _pct(r.compression_share), _pct(r.basis["compression"], 0)],
        ["承诺时限未压缩" if not en else "not compressed", len(r.not_compressed), "",
         _pct(r.basis["committed"], 0)],
    ]
    head = ["指标", "数值", "占比", "有来源的占比"] if not en else [
        "figure", "value", "share", "share sourced"]
    names = {d.id: d.name for d in registry.departments}
    shown = set(r.not_compressed)
    flagged = [[i.code, i.name, names[i.department], i.statutory.days, i.committed.days]
               for i in registry.items if i.code in shown]
    return [
        View("汇总" if not en else "summary", head, summary),
        View("按部门" if not en else "by department",
             ["部门" if not en else "department", *_GROUP_HEADERS[en]],
             _group_rows(r.per_department)),
        View("按层级" if not en else "by level", ["层级" if not en else "level",
                                               *_GROUP_HEADERS[en]], _group_rows(r.per_level)),
        View("承诺时限未压缩" if not en else "not compressed",
             ["事项编码", "事项名称", "部门", "法定时限", "承诺时限"] if not en else
             ["code", "item", "department", "statutory", "committed"], flagged),
    ]
