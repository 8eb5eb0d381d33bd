"""The county item registry (事项目录 / 实施清单): one record per 政务服务事项 the county's
departments have claimed (事项认领), with its limits, online level, trips and materials.

A :class:`Registry` is the definition a county keeps once; a 一件事 bundle names its items
by 事项编码 (:meth:`Registry.item`) and takes their limits from here, so a change in the
registry reaches every bundle. Two registries with the same codes are a before and an after
version (``form``); one registry with statutory and committed limits is both at once.

>>> reg = Registry(id="demo", name="示例县",
...     departments=[Department(id="samr", name="县市场监督管理局")],
...     items=[Item(code="X001", name="食品经营许可", department="samr",
...                 statutory=Limit(days=20), committed=Limit(days=5), online_level="四级")])
>>> reg.item("X001").online, reg.item("X001").committed.days
(True, 5.0)
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from process_models._cells import MAX_MATERIALS_PER_STEP
from process_models._reading import validation_error
from process_models.errors import DuplicateId, RegistryError, UnknownReference, did_you_mean, shown
from process_models.procedure import (
    AliasEnum,
    Basis,
    Count,
    Department,
    Id,
    Limit,
    NoteEn,
    Source,
    StepKind,
    Yuan,
    check_commitment,
)
from process_models.reading_problems import field_problem
from process_models.yaml_loader import load_yaml

__all__ = ["MAX_ITEMS", "MAX_TEXT_CHARS", "Item", "ItemFigure", "OnlineLevel", "Registry",
           "ServiceLevel", "check_registry", "parse_registry"]

MAX_ITEMS = 20_000
"""The most items one registry may hold (a county has about 1,000, a city about 5,000)."""

MAX_TEXT_CHARS = 2_000
"""The longest name, item type, legal basis or note an item may hold."""

class ServiceLevel(AliasEnum):
    """Where an item is handled (行使层级): the county centre, a township (乡镇/街道) centre or
    a village (村/社区) service point."""

    county = "县级"
    township = "乡级"
    village = "村级"

    @classmethod
    def aliases(cls) -> dict[str, str]:
        return {"县": "县级", "区县": "县级", "县区": "县级", "县（市、区）": "县级", "区": "县级",
                "county": "县级", "乡": "乡级", "乡镇": "乡级", "乡镇级": "乡级", "街道": "乡级",
                "乡镇（街道）": "乡级", "township": "乡级", "村": "村级", "社区": "村级",
                "村（社区）": "村级", "village": "村级"}


class OnlineLevel(AliasEnum):
    """网办深度, the online level of an item: 一级 the guide is published, 二级 the forms can
    be downloaded, 三级 the application is made and pre-reviewed online (在线预审), 四级 the
    whole item is done online (全程网办). An item is 网上可办 from 三级 up."""

    none = "不可网办"
    information = "一级"
    forms = "二级"
    pre_review = "三级"
    full = "四级"

    @classmethod
    def aliases(cls) -> dict[str, str]:
        return {"0": "不可网办", "否": "不可网办", "1": "一级", "1级": "一级", "信息公开": "一级",
                "在线咨询": "一级", "2": "二级", "2级": "二级", "表格下载": "二级", "3": "三级",
                "3级": "三级", "在线预审": "三级", "网上预审": "三级", "网上申请": "三级",
                "4": "四级", "4级": "四级", "全程网办": "四级", "全程网上办理": "四级",
                "不见面审批": "四级", "none": "不可网办", "information": "一级",
                "forms": "二级", "pre_review": "三级", "full": "四级"}

    @property
    def depth(self) -> int:
        """0 (不可网办) to 4 (全程网办)."""
        return _DEPTHS[self]

    @property
    def online(self) -> bool:
        """Whether this level makes an item 网上可办 (三级 or 四级)."""
        return _DEPTHS[self] >= 3


_DEPTHS = {level: depth for depth, level in enumerate(OnlineLevel)}


ItemFigure = Literal["online", "trips", "kind", "materials", "links", "fee_yuan"]
"""The figures of an item whose basis :attr:`Item.basis` states (limits carry their own)."""


class Item(BaseModel):
    """One 政务服务事项 of a county's list.

    ``online`` (网上可办) follows from ``online_level`` when only the level is given; a
    list that states both must agree. ``material_count`` follows from ``materials`` when
    only the names are given. ``basis`` and ``source`` give the basis of the item's figures
    (online, trips, materials, links, fee) and of any limit that states none of its own.
    """

    model_config = ConfigDict(extra="forbid")

    code: Id = Field(description="事项编码")
    name: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    item_type: str | None = Field(default=None, max_length=MAX_TEXT_CHARS,
                                  description="事项类型: 行政许可, 行政确认, 公共服务 …")
    department: Id = Field(description="the department that claims the item (事项认领)")
    co_departments: list[Id] = Field(default_factory=list, description="协办部门")
    level: ServiceLevel = ServiceLevel.county
    kind: StepKind = StepKind.promised
    statutory: Limit | None = None
    committed: Limit
    online: bool | None = Field(default=None, description="网上可办; None when not stated")
    online_level: OnlineLevel | None = None
    trips: Count | None = Field(default=None, description="到现场次数; None when not stated")
    materials: list[str] = Field(default_factory=list, max_length=MAX_MATERIALS_PER_STEP)
    material_count: Count | None = None
    links: Count | None = Field(default=None, description="审批环节")
    fee_yuan: Yuan | None = Field(default=None, description="0: 不收费; None when not stated")
    legal_basis: str | None = Field(default=None, max_length=MAX_TEXT_CHARS,
                                    description="设定依据")
    basis: Basis | None = None
    source: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)
    note: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)
    note_en: NoteEn = None

    @model_validator(mode="after")
    def _figures_agree(self) -> Item:
        check_commitment(self.statutory, self.committed)
        if self.online_level is not None:
            if self.online is None:
                self.online = self.online_level.online
            elif self.online is not self.online_level.online:
                raise field_problem("online_disagrees", {"online": "是" if self.online else "否",
                                                         "level": self.online_level.value},
                                    field="online_level")
        if self.materials:
            if self.material_count is None:
                self.material_count = len(self.materials)
            elif self.material_count != len(self.materials):
                raise field_problem("material_count_disagrees", {
                    "count": self.material_count, "listed": len(self.materials)},
                    field="material_count")
        return self

    def basis_of(self, figure: ItemFigure | Literal["statutory", "committed"]) -> Basis:
        """The basis of one figure: a limit's own, else the item's (estimate if unstated)."""
        if figure in ("statutory", "committed"):
            limit = getattr(self, figure)
            if limit is not None and limit.basis is not None:
                return limit.basis
        return self.basis or Basis.estimate

    @property
    def at_most_one_trip(self) -> bool | None:
        """最多跑一次: at most one trip to the site; None when the trips are not stated."""
        return None if self.trips is None else self.trips <= 1

    @property
    def immediate(self) -> bool:
        """即办件."""
        return self.kind is StepKind.immediate


class Registry(BaseModel):
    """A county's item list: its departments and items, and which version it is."""

    model_config = ConfigDict(extra="forbid")

    id: Id
    name: str = Field(min_length=1, max_length=MAX_TEXT_CHARS, description="the county: 宾县")
    version: str = "1"
    form: Literal["before", "after"] | None = None
    synthetic: bool = Field(default=False, description="合成数据: generated, not published")
    sources: list[Source] = Field(default_factory=list)
    departments: list[Department] = Field(default_factory=list)
    items: list[Item] = Field(default_factory=list, max_length=MAX_ITEMS)
    note: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)
    note_en: NoteEn = None
    _by_code: dict[str, Item] | None = PrivateAttr(default=None)

    def item(self, code: str) -> Item:
        """The item with 事项编码 ``code``; raises :class:`UnknownReference` with a did-you-mean."""
        index = self._items_by_code()
        if code in index:
            return index[code]
        raise UnknownReference(f"registry '{self.id}' has no item {shown(code)}",
                               suggestion=did_you_mean(code, index) if len(code) <= 40 else None)

    def department(self, department_id: str) -> Department:
        """The department with ``department_id``; raises with a did-you-mean."""
        for d in self.departments:
            if d.id == department_id:
                return d
        raise UnknownReference(f"registry '{self.id}' has no department {shown(department_id)}",
                               suggestion=did_you_mean(department_id,
                                                       [d.id for d in self.departments]))

    def _items_by_code(self) -> dict[str, Item]:
        if self._by_code is None or len(self._by_code) != len(self.items):
            self._by_code = {i.code: i for i in self.items}
        return self._by_code


def check_registry(registry: Registry, *, file: str | None = None) -> Registry:
    """``registry`` itself, once its codes and department ids are unique and every item
    names departments the registry holds; else one located error."""
    seen: set[str] = set()
    for d in registry.departments:
        if d.id in seen:
            raise DuplicateId(f"department {shown(d.id)} is listed twice; keep one",
                              file=file, path="departments")
        seen.add(d.id)
    codes: set[str] = set()
    for n, item in enumerate(registry.items):
        if item.code in codes:
            raise DuplicateId(f"事项编码 {shown(item.code)} is used twice; give each item its "
                              "own code", file=file, path=f"items[{n}].code")
        codes.add(item.code)
        for at, dept in [("department", item.department),
                         *(("co_departments", c) for c in item.co_departments)]:
            if dept not in seen:
                raise UnknownReference(f"unknown department {shown(dept)}; add it to "
                                       "departments", file=file, path=f"items[{n}].{at}",
                                       suggestion=did_you_mean(dept, seen))
    if not registry.items:
        raise RegistryError("the registry holds no items; add one record per item", file=file)
    return registry


def parse_registry(text: str, *, file: str | None = None) -> Registry:
    """A registry from its YAML text (what ``registry import -o x.yaml`` writes)."""
    data, lines = load_yaml(text, file=file, error=RegistryError)
    if not isinstance(data, dict):
        raise RegistryError("expected a mapping with id, name, departments and items",
                            file=file, line=1)
    try:
        registry = Registry.model_validate(data)
    except ValidationError as e:
        raise validation_error(e, Registry, file=file, lines=lines,
                               error_class=RegistryError) from None
    return check_registry(registry, file=file)
