"""Reform scenarios: a YAML list of lever applications, checked like procedures.

A scenario names the procedure it was written for and the levers to apply, in
order, each with its arguments::

    procedure: newborn
    name: 青海 新生儿出生一件事
    levers:
      - lever: share_data
      - lever: merge
        steps: [medical_insurance_enrolment, medical_insurance_payment]
        id: medical_insurance
        note: 医保参保与缴费一次办

Lever names are those of :data:`LEVERS`; Chinese names
(``联审``, ``告知承诺``, ``容缺受理`` ...) work too. The other keys are the lever
function's keyword arguments:

- ``parallelise``: ``steps``, ``dependencies`` (``["a -> b", ...]``), both optional
- ``merge``: ``steps`` (two or more), ``id``, ``name``, ``department``,
  ``overhead_days``, ``links``
- ``eliminate``, ``filing``, ``zone_assessment``: ``steps``
- ``commitment``: ``steps``, ``verification_days``, ``replaces`` (materials)
- ``defer_materials``: ``steps`` (optional); ``share_data``: ``materials`` (optional);
  ``drop_materials``: ``materials``
- ``compress``: one of ``factor``, ``to_days``, ``by_days``; ``steps`` (optional)
- ``one_window``: ``window`` (optional); ``online``: nothing
- ``intermediary``: ``steps``, ``kind``, and optionally ``days``, ``unit``, ``basis``,
  ``days_source`` (中介服务 time as an untimed part with its own basis)

Every lever entry may carry a ``note`` saying why; the change log repeats it. Errors
are one :class:`~process_models.errors.ScenarioError` line naming the file, line,
field and bad value, with a did-you-mean.

Mechanism levers change how the procedure runs (parallelise, merge, eliminate, filing,
告知承诺, 容缺, data sharing, one window, online, 区域评估); the figures follow from the
model. Target levers set a figure to a typed number (:data:`TARGET_ARGUMENTS`: compress's
``factor``/``to_days``/``by_days``, merge's ``links``). A target is allowed only with
``source:``, the published commitment of that place for the after-state value; the change
log names it, and a published figure it reaches counts as reproduced by a sourced limit,
not by mechanism.

>>> from process_models.catalog import load_catalog_procedure
>>> text = '''
... procedure: newborn
... levers:
...   - lever: merge
...     steps: [medical_insurance_enrolment, medical_insurance_paymnt]
... '''
>>> apply_scenario(load_catalog_procedure("newborn"), parse_scenario(text, file="s.yaml"))
Traceback (most recent call last):
...
process_models.errors.ScenarioError: s.yaml:5: levers[0].steps[1]: unknown step \
'medical_insurance_paymnt' (did you mean 'medical_insurance_payment'?)
>>> after, log = apply_scenario(load_catalog_procedure("newborn"),
...                             parse_scenario(text.replace("paymnt", "payment")))
>>> len(after.steps), log[0].lever
(8, 'merge')
>>> parse_scenario("levers: [{lever: compress, to_days: 5}]", file="s.yaml")
Traceback (most recent call last):
...
process_models.errors.ScenarioError: s.yaml:1: levers[0].to_days: compress sets to_days to a typed number; give source: (the published commitment of that place for the value), or reach the figure with mechanism levers
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from process_models.errors import (
    OnethingError,
    ProcedureSyntaxError,
    ScenarioError,
    did_you_mean,
    shown,
)
from process_models.loading import format_path, line_of, read_text, validation_error
from process_models.procedure import Basis, Days, Id, NoteEn, Procedure, Step, Unit
from process_models.reading_problems import reading_error
from process_models.yaml_loader import load_yaml
from simulations.planning.applicant_levers import (
    commitment,
    defer_materials,
    drop_materials,
    one_window,
    online,
    share_data,
)
from simulations.planning.reforms import (
    Change,
    Lever,
    compress,
    eliminate,
    filing,
    intermediary,
    merge,
    parallelise,
    zone_assessment,
)
from simulations.planning.scenario_problems import scenario_error, scenario_problem

if TYPE_CHECKING:
    from simulations.planning.metrics import Comparison

__all__ = [
    "DEFINED_FIGURES",
    "LEVERS",
    "LEVER_ALIASES",
    "PUBLISHED_FIGURES",
    "REPRODUCED_BY",
    "TARGET_ARGUMENTS",
    "FigureCheck",
    "LeverCall",
    "Reform",
    "Scenario",
    "apply_scenario",
    "apply_scenario_text",
    "catalog_reform",
    "catalog_scenario_path",
    "load_scenario",
    "parse_scenario",
    "reform",
]

LEVERS: dict[str, Lever] = {
    "parallelise": parallelise,
    "merge": merge,
    "eliminate": eliminate,
    "filing": filing,
    "commitment": commitment,
    "defer_materials": defer_materials,
    "share_data": share_data,
    "drop_materials": drop_materials,
    "compress": compress,
    "one_window": one_window,
    "online": online,
    "zone_assessment": zone_assessment,
    "intermediary": intermediary,
}
"""Every lever by name, as scenario files call them."""

LEVER_ALIASES: dict[str, str] = {
    "parallelize": "parallelise", "并联": "parallelise", "串联改并联": "parallelise",
    "并联审批": "parallelise",
    "联审": "merge", "合并": "merge", "联合审查": "merge", "联合验收": "merge",
    "取消": "eliminate", "cancel": "eliminate",
    "改备案": "filing", "备案": "filing",
    "告知承诺": "commitment", "承诺制": "commitment",
    "容缺受理": "defer_materials", "容缺": "defer_materials",
    "数据共享": "share_data", "共享": "share_data",
    "减要件": "drop_materials", "减材料": "drop_materials",
    "压缩时限": "compress",
    "一窗受理": "one_window", "一窗": "one_window",
    "全程网办": "online", "网办": "online",
    "区域评估": "zone_assessment",
    "中介服务": "intermediary",
}
"""Other names scenario files may use for a lever."""

TARGET_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "compress": ("factor", "to_days", "by_days"),
    "merge": ("links",),
}
"""The lever arguments that set a figure to a typed number (target levers): allowed only
with ``source:``."""

DEFINED_FIGURES: dict[str, frozenset[str]] = {
    "merge": frozenset({"steps", "links", "trips", "departments"}),
    "eliminate": frozenset({"steps", "links", "trips", "departments"}),
    "one_window": frozenset({"trips"}),
    "online": frozenset({"trips"}),
}
"""The figures a lever sets by what it is (a merge of 5 steps into 1 makes 4 fewer steps;
``online`` makes 0 trips): a published figure they reach is reproduced by definition."""

REPRODUCED_BY = ("mechanism", "sourced_limit", "definition", "none")
"""How a published after-figure is reached: by mechanism levers alone, only with sourced
target levers, only because a lever sets that figure by definition, or not at all."""


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lever: str
    note: str | None = None
    note_en: NoteEn = None
    source: str | None = Field(default=None, min_length=1)


Ids = list[Id]


class _Steps(_Args):
    steps: Ids = Field(min_length=1)


class _SomeSteps(_Args):
    steps: Ids | None = None


class _Parallelise(_SomeSteps):
    dependencies: list[tuple[str, str]] | None = None

    @field_validator("dependencies", mode="before")
    @classmethod
    def _arrows_are_pairs(cls, value: Any) -> Any:
        """``"a -> b"`` / ``"a → b"`` are read as ``[a, b]``."""
        if not isinstance(value, list):
            return value
        out = []
        for v in value:
            if isinstance(v, str):
                parts = [p.strip() for p in v.replace("→", "->").split("->")]
                if len(parts) != 2 or not all(parts):
                    raise scenario_problem("dependency_arrow", {"value": shown(v)})
                v = parts
            out.append(v)
        return out


class _Merge(_Args):
    steps: Ids = Field(min_length=2)
    id: Id | None = None
    name: str | None = Field(default=None, min_length=1)
    department: Id | None = None
    overhead_days: Days = 0.0
    links: int | None = Field(default=None, ge=0)


class _Commitment(_Steps):
    verification_days: Days | None = None
    replaces: Ids = Field(default_factory=list)


class _Materials(_Args):
    materials: Ids = Field(min_length=1)


class _SomeMaterials(_Args):
    materials: Ids | None = None


class _Compress(_SomeSteps):
    factor: float | None = Field(default=None, ge=0, le=1)
    to_days: Days | None = None
    by_days: Days | None = None


class _Intermediary(_Steps):
    kind: str = Field(min_length=1)
    days: Days | None = None
    unit: Unit = Unit.working
    basis: Basis = Basis.estimate
    days_source: str | None = Field(default=None, min_length=1)


class _OneWindow(_Args):
    window: str = Field(default="综合窗口", min_length=1)


_ARGS: dict[str, type[_Args]] = {
    "parallelise": _Parallelise,
    "merge": _Merge,
    "eliminate": _Steps,
    "filing": _Steps,
    "commitment": _Commitment,
    "defer_materials": _SomeSteps,
    "share_data": _SomeMaterials,
    "drop_materials": _Materials,
    "compress": _Compress,
    "one_window": _OneWindow,
    "online": _Args,
    "zone_assessment": _Steps,
    "intermediary": _Intermediary,
}


class LeverCall(BaseModel):
    """One lever application: its canonical name, its keyword arguments, where it was written."""

    lever: str
    args: dict[str, Any] = Field(default_factory=dict)
    note: str | None = None
    note_en: NoteEn = None
    source: str | None = None
    index: int = 0
    lines: dict[tuple, int] = Field(default_factory=dict, repr=False)


class Scenario(BaseModel):
    """A checked scenario: which procedure it is for and the levers to apply, in order."""

    procedure: str | None = None
    name: str | None = None
    source: str | None = None
    note: str | None = None
    note_en: NoteEn = None
    levers: list[LeverCall] = Field(default_factory=list)
    file: str | None = None

    def mechanisms_only(self) -> Scenario:
        """This scenario without its targets: compress levers left out, merges keep no
        typed ``links``.

        >>> s = parse_scenario("levers: [{lever: online}, {lever: compress, factor: 0.5, source: x}]")
        >>> [c.lever for c in s.mechanisms_only().levers]
        ['online']
        """
        calls = []
        for call in self.levers:
            if call.lever == "compress":
                continue
            targets = TARGET_ARGUMENTS.get(call.lever, ())
            args = {k: v for k, v in call.args.items() if k not in targets}
            calls.append(call.model_copy(update={"args": args, "source": None}))
        return self.model_copy(update={"levers": calls})


class _Header(BaseModel):
    model_config = ConfigDict(extra="forbid")

    procedure: str | None = Field(default=None, min_length=1)
    name: str | None = None
    source: str | None = None
    note: str | None = None
    note_en: NoteEn = None
    levers: list[dict[str, Any]] = Field(min_length=1)


def parse_scenario(text: str, *, file: str | None = None) -> Scenario:
    """Parse and check a scenario from YAML text; ``file`` names it in errors."""
    data, lines = load_yaml(text, file=file, error=ScenarioError)
    if not isinstance(data, dict):
        raise scenario_error("scenario_not_mapping", file=file, line=1)
    try:
        header = _Header.model_validate(data)
    except ValidationError as err:
        raise validation_error(err, _Header, file=file, lines=lines,
                               error_class=ScenarioError) from None
    below: dict[int, dict[tuple, int]] = {}  # each lever's own lines, in one pass
    for loc, n in lines.items():
        if len(loc) >= 2 and loc[0] == "levers":
            below.setdefault(loc[1], {})[loc[2:]] = n
    calls = []
    for i, entry in enumerate(header.levers):
        at = ("levers", i)
        if "lever" not in entry:
            raise scenario_error("lever_missing", {"known": ", ".join(LEVERS)}, file=file,
                                 line=line_of(lines, at), path=format_path(at))
        name = str(entry["lever"]).strip()
        name = LEVER_ALIASES.get(name, LEVER_ALIASES.get(name.lower(), name.lower()))
        if name not in LEVERS:
            raise scenario_error(
                "lever_unknown", {"value": shown(entry["lever"]), "known": ", ".join(LEVERS)},
                file=file, line=line_of(lines, (*at, "lever")), path=format_path((*at, "lever")),
                suggestion=did_you_mean(str(entry["lever"]), [*LEVERS, *LEVER_ALIASES]),
            )
        model = _ARGS[name]
        own = below.get(i, {})
        try:
            args = model.model_validate({**entry, "lever": name})
        except ValidationError as err:
            e = validation_error(err, model, file=file, lines=own, error_class=ScenarioError)
            e.path = format_path(at) + "." + e.path if e.path else format_path(at)
            raise e.located() from None
        kwargs = args.model_dump(exclude={"lever", "note", "note_en", "source"}, exclude_none=True)
        typed = [k for k in TARGET_ARGUMENTS.get(name, ()) if k in kwargs]
        if typed and args.source is None:
            raise scenario_error("typed_target_unsourced", {"lever": name, "field": typed[0]},
                                 file=file, line=line_of(lines, (*at, typed[0])),
                                 path=format_path((*at, typed[0])))
        calls.append(LeverCall(lever=name, args=kwargs, note=args.note, note_en=args.note_en,
                               source=args.source, index=i, lines=own))
    return Scenario(procedure=header.procedure, name=header.name, source=header.source,
                    note=header.note, note_en=header.note_en, levers=calls, file=file)


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Load and check one scenario file."""
    try:
        text = read_text(path)
    except ProcedureSyntaxError as e:
        raise ScenarioError(e.message, file=e.file, line=e.line, reason=e.reason,
                            values=e.values) from None
    return parse_scenario(text, file=str(path))


def _check_references(proc: Procedure, call: LeverCall, file: str | None) -> None:
    """Every step and material a lever names exists now (after the levers before it)."""
    steps = [s.id for s in proc.steps]
    materials = [m.id for m in proc.materials]
    pools = {"steps": (steps, "step_id"), "materials": (materials, "material"),
             "replaces": (materials, "material")}
    for key, (pool, what) in pools.items():
        for j, ref in enumerate(call.args.get(key) or ()):
            if ref not in pool:
                loc = (key, j)
                raise reading_error(
                    f"unknown_{what}", {"value": shown(ref)}, kind=ScenarioError, file=file,
                    line=line_of(call.lines, loc),
                    path=format_path(("levers", call.index, *loc)),
                    suggestion=did_you_mean(ref, pool),
                )
    for j, (pred, succ) in enumerate(call.args.get("dependencies") or ()):
        for ref in (pred, succ):
            if ref not in steps:
                loc = ("dependencies", j)
                raise reading_error(
                    "unknown_step_id", {"value": shown(ref)}, kind=ScenarioError, file=file,
                    line=line_of(call.lines, loc),
                    path=format_path(("levers", call.index, *loc)),
                    suggestion=did_you_mean(ref, steps),
                )


def _applied(proc: Procedure, scenario: Scenario) -> Iterator[tuple[str, Procedure, list[Change]]]:
    """Each lever of ``scenario`` applied in turn: its name, the procedure after it, and
    its change log."""
    if scenario.procedure is not None and scenario.procedure != proc.id:
        raise scenario_error("scenario_other_procedure",
                             {"scenario": shown(scenario.procedure), "procedure": shown(proc.id)},
                             file=scenario.file, path="procedure")
    for call in scenario.levers:
        _check_references(proc, call, scenario.file)
        try:
            proc, changes = LEVERS[call.lever](proc, **call.args)
        except OnethingError as e:  # the lever's own refusal, with its reason
            raise ScenarioError(e.message, file=scenario.file, line=line_of(call.lines, ()),
                                path=format_path(("levers", call.index)),
                                suggestion=e.suggestion, reason=e.reason,
                                values=e.values) from None
        except ValidationError as err:  # the lever built a step the model refuses
            e = validation_error(err, Step)
            raise ScenarioError(f"{call.lever}: the step it makes is not valid: {e}",
                                file=scenario.file, line=line_of(call.lines, ()),
                                path=format_path(("levers", call.index))) from None
        notes = {"note": call.note, "note_en": call.note_en, "source": call.source}
        yield call.lever, proc, [replace(c, **notes) for c in changes]


def apply_scenario(proc: Procedure, scenario: Scenario) -> tuple[Procedure, list[Change]]:
    """Apply the scenario's levers in order; return the reformed procedure and the change log.

    Raises :class:`ScenarioError` naming the scenario file, line and lever when the
    scenario was written for another procedure, names an unknown step or material, or
    a lever refuses (a legal dependency, 告知承诺 not allowed, a merge forming a cycle).
    """
    after, log = proc, []
    for _, after, changes in _applied(proc, scenario):
        log.extend(changes)
    return after.model_copy(update={"form": "after"}), log


def apply_scenario_text(proc: Procedure,
                        scenario_text: str | None) -> tuple[Procedure, list[Change]]:
    """:func:`apply_scenario` with a scenario given as YAML text, else the catalog's.

    >>> from process_models.catalog import load_catalog_procedure
    >>> after, changes = apply_scenario_text(load_catalog_procedure("newborn"), None)
    >>> after.form
    'after'
    """
    return apply_scenario(proc, scenario_for(proc, scenario_text))


def scenario_for(proc: Procedure, scenario_text: str | None) -> Scenario:
    """The scenario given as YAML text, else the catalog's scenario of ``proc``.

    >>> from process_models.catalog import load_catalog_procedure
    >>> scenario_for(load_catalog_procedure("newborn"), "levers: [{lever: online}]").levers[0].lever
    'online'
    """
    return (parse_scenario(scenario_text, file="scenario.yaml") if scenario_text
            else load_scenario(catalog_scenario_path(proc.id)))


def catalog_scenario_path(procedure_id: str) -> Path:
    """The reform scenario reproducing a catalog procedure's published figures.

    >>> catalog_scenario_path("newborn").name
    'newborn.yaml'
    """
    from process_models.catalog import CATALOG_DIR

    path = CATALOG_DIR / "reforms" / f"{procedure_id}.yaml"
    if not path.is_file():
        raise ScenarioError(f"no reform scenario for catalog procedure '{procedure_id}'; "
                            f"write one at {path}")
    return path


#: The figures a procedure's ``published:`` block may state, in table order.
PUBLISHED_FIGURES = ("elapsed_working_days", "summed_limit_days", "steps", "links", "materials",
                     "trips", "departments")


@dataclass(frozen=True)
class FigureCheck:
    """One published figure against the computed one, before and after the reform.

    ``kind`` is ``value`` (matched within ``tolerance``, relative) or ``ceiling`` (an upper
    bound: any computed value at or below it passes). ``mechanism_after`` is the after-figure
    the scenario's mechanism levers alone give; ``defined`` says a lever applied sets this
    figure by definition (:data:`DEFINED_FIGURES`). ``inferred`` marks a figure the
    modeller inferred rather than read in the source.

    >>> FigureCheck("trips", 6, 6, 1, 1, 0.15).within
    True
    >>> FigureCheck("elapsed_working_days", 48, 48, 13, 15.5, 0.15).reproduced_by
    'none'
    >>> c = FigureCheck("elapsed_working_days", 200, 213, 120, 95, 0.1, kind="ceiling",
    ...                 mechanism_after=102)
    >>> c.within, c.before_within, c.reproduced_by
    (True, True, 'mechanism')
    """

    figure: str
    published_before: float | None
    computed_before: float
    published_after: float | None
    computed_after: float
    tolerance: float
    kind: str = "value"
    source: str | None = None
    inferred: bool = False
    mechanism_after: float | None = None
    defined: bool = False

    def _meets(self, published: float | None, computed: float | None, kind: str) -> bool | None:
        if published is None or computed is None:
            return None
        if kind == "ceiling":
            return computed <= published + 1e-9
        return abs(computed - published) <= self.tolerance * published + 1e-9

    @property
    def within(self) -> bool | None:
        """The computed after-figure meets the published one (``None``: none published)."""
        return self._meets(self.published_after, self.computed_after, self.kind)

    @property
    def before_within(self) -> bool | None:
        """The before model's figure matches the published before-figure."""
        return self._meets(self.published_before, self.computed_before, "value")

    @property
    def reproduced_by(self) -> str | None:
        """One of :data:`REPRODUCED_BY`; ``None`` when no after-figure is published."""
        if self.published_after is None:
            return None
        if not self.within:
            return "none"
        mechanism = self.computed_after if self.mechanism_after is None else self.mechanism_after
        if self._meets(self.published_after, mechanism, self.kind):
            return "definition" if self.defined else "mechanism"
        return "sourced_limit"

    def as_dict(self) -> dict[str, Any]:
        return {"figure": self.figure, "kind": self.kind, "source": self.source,
                "inferred": self.inferred, "published_before": self.published_before,
                "computed_before": self.computed_before, "before_within": self.before_within,
                "published_after": self.published_after, "computed_after": self.computed_after,
                "mechanism_after": self.computed_after if self.mechanism_after is None
                else self.mechanism_after,
                "tolerance": self.tolerance, "within": self.within,
                "reproduced_by": self.reproduced_by}


@dataclass(frozen=True)
class Reform:
    """A scenario applied to a procedure: the result, what changed, and the figures.

    ``attribution`` splits the saved elapsed working days by lever, in the order applied
    (sequential attribution: each lever's share is the change of the critical-path length
    when it is applied); the shares sum to before − after.
    """

    before: Procedure
    after: Procedure
    changes: list[Change]
    comparison: Comparison
    checks: list[FigureCheck]
    attribution: dict[str, float] = field(default_factory=dict)

    @property
    def reproduces(self) -> bool:
        """Every published (not inferred) after-figure is met (ceilings one-sided)."""
        return all(c.within is not False for c in self.checks if not c.inferred)

    @property
    def calibration(self) -> dict[str, Any]:
        """How the before model was fitted to the published before-figures: its practice
        (惯例) dependencies, whether they chain every step one after another, and how many
        committed limits are not sourced (estimates splitting a published total)."""
        from process_models.procedure import Basis, DependencyKind

        steps = self.before.applicant_steps
        b = self.comparison.before
        practice = sum(d.kind is DependencyKind.practice for s in steps for d in s.depends_on)
        return {"practice_dependencies": practice,
                "serial_chain": practice > 0 and len(steps) > 1
                and b.elapsed_working_days == b.sequential_working_days,
                "unsourced_limits": sum(s.committed.basis is not Basis.sourced for s in steps),
                "limits": len(steps)}

    def as_dict(self) -> dict[str, Any]:
        return {"procedure_id": self.before.id, **self.comparison.as_dict(),
                "changes": [c.as_dict() for c in self.changes],
                "attribution": self.attribution,
                "published": [c.as_dict() for c in self.checks],
                "calibration": self.calibration,
                "reproduces_published": self.reproduces}


def reform(proc: Procedure, scenario: Scenario, *, limits: str = "committed") -> Reform:
    """Apply ``scenario`` to ``proc``; compare before and after, attribute the saved days
    to the levers, and check both against the figures the procedure's ``published:`` block
    states, with the mechanism levers alone too.

    >>> from process_models.catalog import load_catalog_procedure
    >>> r = reform(load_catalog_procedure("restaurant"), load_scenario(catalog_scenario_path("restaurant")))
    >>> [(c.figure, c.published_after, c.computed_after, c.reproduced_by)
    ...  for c in r.checks if c.figure == "trips"]
    [('trips', 1, 1, 'definition')]
    >>> sum(r.attribution.values()) == r.comparison.elapsed_working_days.before - (
    ...     r.comparison.elapsed_working_days.after)
    True
    """
    from simulations.planning.cpm import critical_path_length
    from simulations.planning.metrics import compare, measure

    after, changes, attribution = proc, [], {}
    elapsed = critical_path_length(proc, limits=limits)
    for lever, after, done in _applied(proc, scenario):
        changes.extend(done)
        now = critical_path_length(after, limits=limits)
        attribution[lever] = attribution.get(lever, 0.0) + (elapsed - now)
        elapsed = now
    after = after.model_copy(update={"form": "after"})
    comparison = compare(proc, after, limits=limits)
    mechanisms = scenario.mechanisms_only()
    mechanism = comparison.after
    if mechanisms != scenario:
        mechanism = measure(apply_scenario(proc, mechanisms)[0], limits=limits)
    defined = set().union(*(DEFINED_FIGURES.get(c.lever, ()) for c in scenario.levers))
    checks = []
    published = proc.published
    if published is not None:
        for figure in PUBLISHED_FIGURES:
            was, now = getattr(published.before, figure), getattr(published.after, figure)
            if was is None and now is None:
                continue
            checks.append(FigureCheck(
                figure, was, getattr(comparison.before, figure), now,
                getattr(comparison.after, figure), published.tolerance,
                kind="ceiling" if figure in published.ceilings else "value",
                source=published.source, inferred=figure in published.inferred,
                mechanism_after=getattr(mechanism, figure), defined=figure in defined,
            ))
    return Reform(proc, after, changes, comparison, checks, attribution)


def catalog_reform(procedure_id: str, *, limits: str = "committed") -> Reform:
    """The catalog procedure ``procedure_id`` reformed by its catalog scenario."""
    from process_models.catalog import load_catalog_procedure

    proc = load_catalog_procedure(procedure_id)
    return reform(proc, load_scenario(catalog_scenario_path(procedure_id)), limits=limits)
