"""The definition of an approval procedure (政务服务事项 bundle, a 一件事).

A :class:`Procedure` is data: departments, materials (要件), steps (事项) with
their statutory (法定) and committed (承诺) limits, dependencies between steps,
and optional stages. It says nothing about any running case; that is
:mod:`flows.casework.tables`.

The models validate their own fields (types, signs, enumerations); the checks
that need the whole procedure (ids that must exist, duplicates, cycles) live in
:func:`process_models.loading.check_procedure`, which every loader calls.

>>> p = Procedure(
...     id="demo", name="示例", version="1",
...     departments=[Department(id="samr", name="市场监管局")],
...     steps=[Step(id="licence", name="营业执照", department="samr",
...                 committed=Limit(days=3))],
... )
>>> p.step("licence").committed.days
3.0
>>> Limit(days=5, unit="自然日").unit
<Unit.calendar: 'calendar'>
"""

from __future__ import annotations

import datetime as dt
import re
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from process_models.reading_problems import field_problem

__all__ = [
    "ID_PATTERN",
    "MAX_COUNT",
    "MAX_DAYS",
    "MAX_DEPENDENCIES",
    "MAX_FEE_YUAN",
    "MAX_ID_CHARS",
    "MAX_STEPS",
    "Basis",
    "Days",
    "Department",
    "Dependency",
    "DependencyKind",
    "Distribution",
    "Figures",
    "Id",
    "Join",
    "Limit",
    "Material",
    "NoteEn",
    "Procedure",
    "Provenance",
    "Provider",
    "PublishedFigures",
    "Source",
    "Stage",
    "Step",
    "StepFigure",
    "StepKind",
    "Unit",
    "Untimed",
    "check_commitment",
]


MAX_ID_CHARS = 200
"""The longest id, in characters."""

ID_PATTERN = rf"^[\w+\-]{{1,{MAX_ID_CHARS}}}$"
"""Every id (procedure, step, stage, department, material): 1–200 letters (Chinese too),
digits, '_', '-' or '+' (a merged step joins its members' ids with '+'); no space, '/' or
'.', so an id is a safe file name and one URL path segment."""

MAX_DAYS = 3650.0
"""The longest limit, lag or duration in days (ten years); more is a typo, and near
``1e308`` sums turn into inf and dates overflow."""

MAX_COUNT = 10_000
"""The largest count of trips, handling links, documents or published figures."""

MAX_STEPS = 20_000
"""The most steps one procedure may hold (the largest real one has under a hundred)."""

MAX_DEPENDENCIES = 100_000
"""The most dependencies plus stage members one procedure may hold."""


def _not_a_boolean(value: Any) -> Any:
    """YAML reads ``true`` as a boolean, and Python counts it as 1: refuse it as a number."""
    if isinstance(value, bool):
        raise field_problem("not_number", {"value": str(value).lower()})
    return value


Days = Annotated[float, BeforeValidator(_not_a_boolean),
                 Field(ge=0, le=MAX_DAYS, allow_inf_nan=False)]
Count = Annotated[int, BeforeValidator(_not_a_boolean), Field(ge=0, le=MAX_COUNT)]


def _an_id(value: str) -> str:
    """``value`` if it is an id (:data:`ID_PATTERN`), else pydantic's error for a pattern."""
    if not _ID.fullmatch(value):
        raise PydanticCustomError("string_pattern_mismatch",
                                  "String should match pattern '{pattern}'",
                                  {"pattern": ID_PATTERN})
    return value


_ID = re.compile(ID_PATTERN)

Id = Annotated[str, AfterValidator(_an_id), Field(json_schema_extra={"pattern": ID_PATTERN})]
"""A field holding an id. Python's ``re`` checks it: pydantic's own regex engine takes ~70 ms
of CPU to build the bounded Unicode class of :data:`ID_PATTERN`, paid by every command that
loads a procedure."""


NoteEn = Annotated[str | None, Field(description="the note in English, for `--lang en` / "
                                                  "`?lang=en`; `note` itself reads Chinese")]
"""A definition's note in English, beside its ``note`` (which Chinese readers see)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=False, use_enum_values=False)

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> _Model:
        """A copy of this definition and all it holds, field by field (``model_copy(deep=True)``,
        which every lever makes). A definition is a tree of models, lists, dicts and immutable
        values, so ``copy.deepcopy``'s memo and dispatch, half a lever's time on a 200-step
        procedure, buy nothing; an object held twice is copied twice, equal.

        >>> step = Step(id="a", name="甲", department="d", committed=Limit(days=1))
        >>> twin = step.model_copy(deep=True)
        >>> twin == step, twin.committed is step.committed, twin.depends_on is step.depends_on
        (True, False, False)
        """
        copied = type(self).__new__(type(self))
        object.__setattr__(copied, "__dict__",
                           {k: _copied(v) for k, v in self.__dict__.items()})
        object.__setattr__(copied, "__pydantic_fields_set__", set(self.__pydantic_fields_set__))
        object.__setattr__(copied, "__pydantic_extra__", None)
        object.__setattr__(copied, "__pydantic_private__", None)
        return copied


def _copied(value: Any) -> Any:
    """``value`` copied as :meth:`_Model.__deepcopy__` copies a field."""
    if isinstance(value, _Model):
        return value.__deepcopy__()
    if type(value) is list:
        return [_copied(v) for v in value]
    if type(value) is dict:
        return {k: _copied(v) for k, v in value.items()}
    return value   # str, numbers, enums, dates, None: immutable


class AliasEnum(str, Enum):
    """A string enum that also accepts Chinese (and other) aliases on input."""

    @classmethod
    def aliases(cls) -> dict[str, str]:
        return {}

    @classmethod
    def _missing_(cls, value: object):
        key = str(value).strip()
        target = cls.aliases().get(key) or cls.aliases().get(key.lower())
        if target is not None:
            return cls(target)
        return None


class Unit(AliasEnum):
    """How a limit counts: working days (工作日, the default) or calendar days (自然日)."""

    working = "working"
    calendar = "calendar"

    @classmethod
    def aliases(cls) -> dict[str, str]:
        return {"工作日": "working", "0": "working", "自然日": "calendar", "日历日": "calendar",
                "1": "calendar", "working_days": "working", "calendar_days": "calendar"}


class StepKind(AliasEnum):
    """办件类型: 即办件 (decided on the spot), 承诺件, 上报件 (needs upper level), 联办件."""

    immediate = "即办件"
    promised = "承诺件"
    reported = "上报件"
    joint = "联办件"

    @classmethod
    def aliases(cls) -> dict[str, str]:
        return {"immediate": "即办件", "即办": "即办件", "promised": "承诺件", "committed": "承诺件",
                "承诺": "承诺件", "reported": "上报件", "上报": "上报件", "joint": "联办件",
                "联办": "联办件", "联报件": "联办件"}


class DependencyKind(AliasEnum):
    """Why one step waits for another: the law (legal) or only habit (practice, 惯例)."""

    legal = "legal"
    practice = "practice"

    @classmethod
    def aliases(cls) -> dict[str, str]:
        return {"法定": "legal", "惯例": "practice", "习惯": "practice"}


class Provider(AliasEnum):
    """Who provides a material: the applicant, data sharing (共享), or another step's output."""

    applicant = "applicant"
    data_sharing = "data_sharing"
    step = "step"

    @classmethod
    def aliases(cls) -> dict[str, str]:
        return {"申请人": "applicant", "数据共享": "data_sharing", "共享": "data_sharing",
                "shared": "data_sharing", "环节产出": "step", "output": "step"}


class Join(AliasEnum):
    """A stage completes when all (1) or any (2) of its milestone steps complete."""

    all = "all"
    any = "any"

    @classmethod
    def aliases(cls) -> dict[str, str]:
        return {"全部": "all", "1": "all", "任一": "any", "2": "any"}


class Basis(AliasEnum):
    """Where a number comes from: a cited source [S], an estimate [E], memory [M], fitted
    to case data [F], or inferred from other published figures [I]. A number whose basis
    is not stated counts as an estimate."""

    sourced = "sourced"
    estimate = "estimate"
    memory = "memory"
    fitted = "fitted"
    inferred = "inferred"

    @classmethod
    def aliases(cls) -> dict[str, str]:
        return {"S": "sourced", "E": "estimate", "M": "memory", "F": "fitted", "I": "inferred",
                "有来源": "sourced", "估计": "estimate", "记忆": "memory", "拟合": "fitted",
                "推断": "inferred"}

    @property
    def mark(self) -> str:
        """The one-letter mark tables print after a number: S, E, M, F or I."""
        return self.value[0].upper()


class Provenance(_Model):
    """The basis of one number and, when sourced, the source it comes from."""

    basis: Basis = Basis.estimate
    source: str | None = Field(default=None, description="the document, article or URL")


StepFigure = Literal["trips", "links", "commitment_allowed", "fee_yuan"]
"""The numbers and flags of a step whose basis :attr:`Step.provenance` records."""

MAX_FEE_YUAN = 1e9
"""The largest fee a step may charge, in yuan; more is a typo."""

Yuan = Annotated[float, BeforeValidator(_not_a_boolean),
                 Field(ge=0, le=MAX_FEE_YUAN, allow_inf_nan=False)]


class Limit(_Model):
    """A time limit: ``days`` (float, so half-days work) in working or calendar days.

    >>> Limit(days=0.5).days
    0.5
    """

    days: Days
    unit: Unit = Unit.working
    basis: Basis | None = None
    source: str | None = None
    note: str | None = None
    note_en: NoteEn = None

    @property
    def working(self) -> bool:
        return self.unit is Unit.working


def check_commitment(law: Limit | None, promise: Limit) -> None:
    """Refuse a committed limit longer than the statutory one in the same unit (a
    :class:`~process_models.errors.FieldProblem` about ``committed``, which pydantic reports
    with the model)."""
    if law is not None and law.unit is promise.unit and promise.days > law.days:
        raise field_problem("committed_over_statutory", {"committed": f"{promise.days:g}",
                                                         "statutory": f"{law.days:g}"},
                            field="committed")


class Untimed(_Model):
    """Time that counts toward elapsed time but not toward the legal clock.

    行政许可法 第45条 excludes 听证、招标、拍卖、检验、检测、检疫、鉴定、专家评审 from the
    limit; 公示 and 补正 are treated the same way.
    """

    kind: str = Field(min_length=1)
    days: Days
    unit: Unit = Unit.working
    basis: Basis | None = None
    source: str | None = None
    note: str | None = None
    note_en: NoteEn = None


class Source(_Model):
    """A document a procedure's facts come from."""

    title: str = Field(min_length=1)
    title_en: str | None = Field(default=None, description="the title in English, for "
                                 "`--lang en` / `?lang=en`; `title` itself reads Chinese")
    url: str | None = None
    note: str | None = None
    note_en: NoteEn = None


class Figures(_Model):
    """Headline numbers a source reports for a procedure (before or after a reform)."""

    elapsed_working_days: Days | None = None
    summed_limit_days: Days | None = None
    steps: Count | None = None
    links: Count | None = None
    materials: Count | None = None
    trips: Count | None = None
    departments: Count | None = None


FigureName = Literal["elapsed_working_days", "summed_limit_days", "steps", "links",
                     "materials", "trips", "departments"]


class PublishedFigures(_Model):
    """Before/after figures as published, with the tolerance a reproduction must meet.

    ``ceilings`` names the after-figures that are upper bounds (≤120); ``inferred`` the
    figures the modeller inferred rather than read in the source.
    """

    source: str = Field(min_length=1)
    before: Figures = Field(default_factory=Figures)
    after: Figures = Field(default_factory=Figures)
    tolerance: float = Field(default=0.1, ge=0, description="relative tolerance, 0.1 = ±10%")
    ceilings: list[FigureName] = Field(default_factory=list)
    inferred: list[FigureName] = Field(default_factory=list)
    note: str | None = None
    note_en: NoteEn = None


class Department(_Model):
    id: Id
    name: str = Field(min_length=1)
    name_en: str | None = None


class Material(_Model):
    """A material (要件). ``key`` ones cannot be owed under 容缺受理."""

    id: Id
    name: str = Field(min_length=1)
    key: bool = True
    provider: Provider = Provider.applicant
    from_step: Id | None = None
    held_by: Id | None = Field(default=None, description="department that already holds it")
    count: Count = Field(default=1, ge=1, description="documents this entry stands for")
    basis: Basis | None = Field(default=None, description="basis of the entry and its count")
    source: str | None = None
    note: str | None = None
    note_en: NoteEn = None

    @model_validator(mode="after")
    def _step_output_names_its_step(self) -> Material:
        if self.provider is Provider.step and not self.from_step:
            raise field_problem("material_needs_from_step", field="from_step")
        return self


class Dependency(_Model):
    """``step`` must finish (plus ``lag``) before the step that lists this can start.

    ``step`` may also name a stage: then the stage's join (all/any) decides.
    """

    step: Id
    kind: DependencyKind = DependencyKind.legal
    lag: Limit | None = None
    basis: Basis | None = Field(default=None, description="basis of the dependency's kind")
    source: str | None = None


class Distribution(_Model):
    """A step's duration in working days, for Monte-Carlo simulation.

    ``fixed`` uses ``days``; ``triangular`` and ``pert`` use ``low``/``mode``/``high``;
    ``lognormal`` uses ``mean``/``sd``; ``empirical`` draws from ``samples``.
    """

    kind: Literal["fixed", "triangular", "pert", "lognormal", "empirical"]
    days: Days | None = None
    low: Days | None = None
    mode: Days | None = None
    high: Days | None = None
    mean: Days | None = None
    sd: Days | None = None
    samples: list[Days] | None = None
    fit: str | None = Field(default=None, description="how it was fitted and how well")

    @model_validator(mode="after")
    def _parameters_fit_kind(self) -> Distribution:
        need = {
            "fixed": ("days",),
            "triangular": ("low", "mode", "high"),
            "pert": ("low", "mode", "high"),
            "lognormal": ("mean", "sd"),
            "empirical": ("samples",),
        }[self.kind]
        missing = [n for n in need if getattr(self, n) is None]
        if missing:
            raise field_problem("distribution_needs", {"kind": self.kind,
                                                       "missing": ", ".join(missing)})
        if self.kind in ("triangular", "pert") and not (self.low <= self.mode <= self.high):
            raise field_problem("distribution_order", {
                "kind": self.kind, "low": f"{self.low:g}", "mode": f"{self.mode:g}",
                "high": f"{self.high:g}"})
        if self.kind == "empirical" and not self.samples:
            raise field_problem("distribution_no_samples", field="samples")
        return self


class Step(_Model):
    """One step (事项) of a procedure, handled by one department."""

    id: Id
    item: Id | None = Field(default=None, description="事项编码 of the registry item this step "
                            "is; the loader fills what the step leaves out from the registry")
    name: str = Field(min_length=1)
    name_en: str | None = None
    department: Id
    kind: StepKind = StepKind.promised
    statutory: Limit | None = None
    committed: Limit
    untimed: list[Untimed] = Field(default_factory=list)
    depends_on: list[Dependency] = Field(default_factory=list)
    materials: list[Id] = Field(default_factory=list)
    trips: Count = Field(default=0, description="applicant trips (跑动次数) for this step")
    window: str | None = Field(default=None, description="window where the applicant goes")
    links: Count = Field(default=1, description="handling links (环节) inside this step")
    certificates: list[str] = Field(default_factory=list)
    fee_yuan: Yuan | None = Field(default=None, description="the fee in yuan (0: 零收费); "
                                  "None when the model does not say")
    commitment_allowed: bool | None = Field(
        default=None,
        description="告知承诺: true allowed, false not allowed, null (the default) unknown; "
        "truthy only when allowed, so `if step.commitment_allowed` means allowed",
    )
    follow_up: bool = Field(
        default=False,
        description="事中事后核查 after issue: off the applicant's path, so it counts toward "
        "neither elapsed time nor the applicant's steps, materials and trips",
    )
    duration: Distribution | None = None
    provenance: dict[StepFigure, Provenance] = Field(
        default_factory=dict,
        description="basis of trips, links, commitment_allowed and fee_yuan (estimate when "
        "absent)")
    note: str | None = None
    note_en: NoteEn = None
    risk: Literal["high"] | None = Field(
        default=None,
        description="a high-risk item (直接涉及公共安全、生态环境、人身健康和生命财产安全): "
        "国办发〔2020〕42号 excludes it from 告知承诺",
    )

    @field_validator("depends_on", mode="before")
    @classmethod
    def _plain_ids_are_legal_dependencies(cls, value: Any) -> Any:
        if isinstance(value, (str, dict)):
            value = [value]
        if isinstance(value, list):
            return [{"step": v} if isinstance(v, str) else v for v in value]
        return value

    @model_validator(mode="after")
    def _commitment_within_the_law(self) -> Step:
        check_commitment(self.statutory, self.committed)
        return self

    def provenance_of(self, figure: StepFigure) -> Provenance:
        """The basis of ``trips``, ``links``, ``commitment_allowed`` or ``fee_yuan`` (estimate
        if unstated)."""
        return self.provenance.get(figure) or Provenance()

    @property
    def predecessors(self) -> list[str]:
        return [d.step for d in self.depends_on]

    def untimed_days(self, unit: Unit = Unit.working) -> float:
        """Total untimed days of one unit (公示, 专家评审, ...)."""
        return sum(u.days for u in self.untimed if u.unit is unit)


class Stage(_Model):
    """A stage (阶段) such as 立项用地规划许可, completing on all or any milestone steps."""

    id: Id
    name: str = Field(min_length=1)
    steps: list[Id] = Field(default_factory=list)
    milestones: list[Id] = Field(default_factory=list)
    join: Join = Join.all


class Procedure(_Model):
    """An approval procedure: the definition every case and simulation starts from."""

    id: Id
    name: str = Field(min_length=1)
    name_en: str | None = None
    version: str = "1"
    region: str | None = None
    effective_date: dt.date | None = None
    form: Literal["before", "after", "draft"] | None = None
    status: Literal["draft", "published"] | None = Field(
        default=None, description="published: the file claims to be published data, so "
        "`validate --strict` refuses any number without a source")
    registry: Id | None = Field(
        default=None, description="the item registry (`catalog`) the steps' `item` codes and "
        "the departments come from")
    sources: list[Source] = Field(default_factory=list)
    published: PublishedFigures | None = None
    departments: list[Department] = Field(default_factory=list)
    materials: list[Material] = Field(default_factory=list)
    steps: list[Step] = Field(default_factory=list, max_length=MAX_STEPS)
    stages: list[Stage] = Field(default_factory=list)
    note: str | None = None
    note_en: NoteEn = None

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, (int, float)) else value

    # -- look-ups ---------------------------------------------------------------------------
    def step(self, step_id: str) -> Step:
        """The step with ``step_id``; raises :class:`UnknownReference` with a did-you-mean."""
        return self._find(self.steps, step_id, "step")

    def department(self, department_id: str) -> Department:
        """The department with ``department_id``; raises with a did-you-mean."""
        return self._find(self.departments, department_id, "department")

    def material(self, material_id: str) -> Material:
        """The material with ``material_id``; raises with a did-you-mean."""
        return self._find(self.materials, material_id, "material")

    def _find(self, items: list[Any], wanted: str, what: str) -> Any:
        for item in items:
            if item.id == wanted:
                return item
        from process_models.errors import UnknownReference, did_you_mean, shown

        raise UnknownReference(
            f"procedure '{self.id}' has no {what} {shown(wanted)}",
            suggestion=did_you_mean(wanted, [i.id for i in items]),
        )

    @property
    def key(self) -> str:
        """``id@version``: how a case names the exact definition it runs."""
        return f"{self.id}@{self.version}"

    @property
    def applicant_steps(self) -> list[Step]:
        """The steps on the applicant's path, the ones a case runs: all but follow-up checks
        (``follow_up``, 事中事后核查), which happen after issue and keep no one waiting.

        >>> from process_models import parse_procedure
        >>> shop = parse_procedure('''
        ... id: shop
        ... name: 开店
        ... departments: [{id: samr, name: 市场监管局}]
        ... steps:
        ...   - {id: licence, name: 营业执照, department: samr, committed: {days: 3}}
        ...   - {id: check, name: 事后核查, department: samr, committed: {days: 20},
        ...      depends_on: [licence], follow_up: true}
        ... ''')
        >>> [s.id for s in shop.applicant_steps]
        ['licence']
        """
        return [s for s in self.steps if not s.follow_up]
