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

Every lever entry may carry a ``note`` saying why; the change log repeats it. Errors
are one :class:`~process_models.errors.ScenarioError` line naming the file, line,
field and bad value, with a did-you-mean.

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
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from process_models.errors import OnethingError, ProcedureSyntaxError, ScenarioError, did_you_mean
from process_models.loading import format_path, line_of, load_yaml, read_text, validation_error
from process_models.procedure import Procedure
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
    merge,
    parallelise,
    zone_assessment,
)

if TYPE_CHECKING:
    from simulations.planning.metrics import Comparison

__all__ = [
    "LEVERS",
    "LEVER_ALIASES",
    "PUBLISHED_FIGURES",
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
}
"""Other names scenario files may use for a lever."""


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lever: str
    note: str | None = None


Ids = list[str]


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
                    raise ValueError(f"write a dependency as 'predecessor -> step', got {v!r}")
                v = parts
            out.append(v)
        return out


class _Merge(_Args):
    steps: Ids = Field(min_length=2)
    id: str | None = Field(default=None, min_length=1)
    name: str | None = Field(default=None, min_length=1)
    department: str | None = None
    overhead_days: float = Field(default=0.0, ge=0)
    links: int | None = Field(default=None, ge=0)


class _Commitment(_Steps):
    verification_days: float | None = Field(default=None, ge=0)
    replaces: Ids = Field(default_factory=list)


class _Materials(_Args):
    materials: Ids = Field(min_length=1)


class _SomeMaterials(_Args):
    materials: Ids | None = None


class _Compress(_SomeSteps):
    factor: float | None = Field(default=None, ge=0, le=1)
    to_days: float | None = Field(default=None, ge=0)
    by_days: float | None = Field(default=None, ge=0)


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
}


class LeverCall(BaseModel):
    """One lever application: its canonical name, its keyword arguments, where it was written."""

    lever: str
    args: dict[str, Any] = Field(default_factory=dict)
    note: str | None = None
    index: int = 0
    lines: dict[tuple, int] = Field(default_factory=dict, repr=False)


class Scenario(BaseModel):
    """A checked scenario: which procedure it is for and the levers to apply, in order."""

    procedure: str | None = None
    name: str | None = None
    source: str | None = None
    note: str | None = None
    levers: list[LeverCall] = Field(default_factory=list)
    file: str | None = None


class _Header(BaseModel):
    model_config = ConfigDict(extra="forbid")

    procedure: str | None = Field(default=None, min_length=1)
    name: str | None = None
    source: str | None = None
    note: str | None = None
    levers: list[dict[str, Any]] = Field(min_length=1)


def parse_scenario(text: str, *, file: str | None = None) -> Scenario:
    """Parse and check a scenario from YAML text; ``file`` names it in errors."""
    try:
        data, lines = load_yaml(text, file)
    except ProcedureSyntaxError as e:
        raise ScenarioError(e.message, file=e.file, line=e.line) from None
    if not isinstance(data, dict):
        raise ScenarioError("expected a mapping with 'levers:' (a list of lever applications)",
                            file=file, line=1)
    try:
        header = _Header.model_validate(data)
    except ValidationError as err:
        raise validation_error(err, _Header, file=file, lines=lines,
                               error_class=ScenarioError) from None
    calls = []
    for i, entry in enumerate(header.levers):
        at = ("levers", i)
        if "lever" not in entry:
            raise ScenarioError("each entry needs 'lever:' naming the lever; known: "
                                + ", ".join(LEVERS), file=file, line=line_of(lines, at),
                                path=format_path(at))
        name = str(entry["lever"]).strip()
        name = LEVER_ALIASES.get(name, LEVER_ALIASES.get(name.lower(), name.lower()))
        if name not in LEVERS:
            raise ScenarioError(
                f"unknown lever {entry['lever']!r}; known: {', '.join(LEVERS)}",
                file=file, line=line_of(lines, (*at, "lever")), path=format_path((*at, "lever")),
                suggestion=did_you_mean(str(entry["lever"]), [*LEVERS, *LEVER_ALIASES]),
            )
        model = _ARGS[name]
        own = {loc[2:]: n for loc, n in lines.items() if loc[:2] == at}
        try:
            args = model.model_validate({**entry, "lever": name})
        except ValidationError as err:
            e = validation_error(err, model, file=file, lines=own, error_class=ScenarioError)
            e.path = format_path(at) + "." + e.path if e.path else format_path(at)
            raise e.located() from None
        kwargs = args.model_dump(exclude={"lever", "note"}, exclude_none=True)
        calls.append(LeverCall(lever=name, args=kwargs, note=args.note, index=i, lines=own))
    return Scenario(procedure=header.procedure, name=header.name, source=header.source,
                    note=header.note, levers=calls, file=file)


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Load and check one scenario file."""
    try:
        text = read_text(path)
    except ProcedureSyntaxError as e:
        raise ScenarioError(e.message, file=e.file, line=e.line) from None
    return parse_scenario(text, file=str(path))


def _check_references(proc: Procedure, call: LeverCall, file: str | None) -> None:
    """Every step and material a lever names exists now (after the levers before it)."""
    steps = [s.id for s in proc.steps]
    materials = [m.id for m in proc.materials]
    pools = {"steps": (steps, "step"), "materials": (materials, "material"),
             "replaces": (materials, "material")}
    for key, (pool, what) in pools.items():
        for j, ref in enumerate(call.args.get(key) or ()):
            if ref not in pool:
                loc = (key, j)
                raise ScenarioError(
                    f"unknown {what} '{ref}'", file=file,
                    line=line_of(call.lines, loc),
                    path=format_path(("levers", call.index, *loc)),
                    suggestion=did_you_mean(ref, pool),
                )
    for j, (pred, succ) in enumerate(call.args.get("dependencies") or ()):
        for ref in (pred, succ):
            if ref not in steps:
                loc = ("dependencies", j)
                raise ScenarioError(
                    f"unknown step '{ref}'", file=file, line=line_of(call.lines, loc),
                    path=format_path(("levers", call.index, *loc)),
                    suggestion=did_you_mean(ref, steps),
                )


def apply_scenario(proc: Procedure, scenario: Scenario) -> tuple[Procedure, list[Change]]:
    """Apply the scenario's levers in order; return the reformed procedure and the change log.

    Raises :class:`ScenarioError` naming the scenario file, line and lever when the
    scenario was written for another procedure, names an unknown step or material, or
    a lever refuses (a legal dependency, 告知承诺 not allowed, a merge forming a cycle).
    """
    if scenario.procedure is not None and scenario.procedure != proc.id:
        raise ScenarioError(
            f"this scenario is for procedure '{scenario.procedure}', not '{proc.id}'",
            file=scenario.file, path="procedure",
        )
    log: list[Change] = []
    for call in scenario.levers:
        _check_references(proc, call, scenario.file)
        try:
            proc, changes = LEVERS[call.lever](proc, **call.args)
        except OnethingError as e:
            path = format_path(("levers", call.index))
            raise ScenarioError(str(e), file=scenario.file, line=line_of(call.lines, ()),
                                path=path) from None
        log.extend(replace(c, note=call.note) for c in changes)
    return proc.model_copy(update={"form": "after"}), log


def apply_scenario_text(proc: Procedure,
                        scenario_text: str | None) -> tuple[Procedure, list[Change]]:
    """:func:`apply_scenario` with a scenario given as YAML text, else the catalog's.

    >>> from process_models.catalog import load_catalog_procedure
    >>> after, changes = apply_scenario_text(load_catalog_procedure("newborn"), None)
    >>> after.form
    'after'
    """
    scenario = (parse_scenario(scenario_text, file="scenario.yaml") if scenario_text
                else load_scenario(catalog_scenario_path(proc.id)))
    return apply_scenario(proc, scenario)


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

    ``within`` says whether the computed after-figure lies within ``tolerance`` (relative)
    of the published one; ``None`` when nothing was published after.

    >>> FigureCheck("trips", 6, 6, 1, 1, 0.15).within
    True
    >>> FigureCheck("elapsed_working_days", 48, 48, 13, 15.5, 0.15).within
    False
    """

    figure: str
    published_before: float | None
    computed_before: float
    published_after: float | None
    computed_after: float
    tolerance: float

    @property
    def within(self) -> bool | None:
        if self.published_after is None:
            return None
        return abs(self.computed_after - self.published_after) <= (
            self.tolerance * self.published_after + 1e-9)

    def as_dict(self) -> dict[str, Any]:
        return {"figure": self.figure, "published_before": self.published_before,
                "computed_before": self.computed_before, "published_after": self.published_after,
                "computed_after": self.computed_after, "tolerance": self.tolerance,
                "within": self.within}


@dataclass(frozen=True)
class Reform:
    """A scenario applied to a procedure: the result, what changed, and the figures."""

    before: Procedure
    after: Procedure
    changes: list[Change]
    comparison: Comparison
    checks: list[FigureCheck]

    @property
    def reproduces(self) -> bool:
        """Every published after-figure is matched within the declared tolerance."""
        return all(c.within is not False for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {"procedure_id": self.before.id, **self.comparison.as_dict(),
                "changes": [c.as_dict() for c in self.changes],
                "published": [c.as_dict() for c in self.checks],
                "reproduces_published": self.reproduces}


def reform(proc: Procedure, scenario: Scenario, *, limits: str = "committed") -> Reform:
    """Apply ``scenario`` to ``proc``; compare before and after, and both with the figures
    the procedure's ``published:`` block states.

    >>> from process_models.catalog import load_catalog_procedure
    >>> r = reform(load_catalog_procedure("restaurant"), load_scenario(catalog_scenario_path("restaurant")))
    >>> [(c.figure, c.published_after, c.computed_after) for c in r.checks if c.figure == "trips"]
    [('trips', 1, 1)]
    """
    from simulations.planning.metrics import compare

    after, changes = apply_scenario(proc, scenario)
    comparison = compare(proc, after, limits=limits)
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
            ))
    return Reform(proc, after, changes, comparison, checks)


def catalog_reform(procedure_id: str, *, limits: str = "committed") -> Reform:
    """The catalog procedure ``procedure_id`` reformed by its catalog scenario."""
    from process_models.catalog import load_catalog_procedure

    proc = load_catalog_procedure(procedure_id)
    return reform(proc, load_scenario(catalog_scenario_path(procedure_id)), limits=limits)
