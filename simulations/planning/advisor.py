"""The reform advisor: which single lever saves the applicant the most working days.

For one procedure it tries every single mechanism lever that applies — drop this
practice dependency, merge these two reviews, switch this licence to 告知承诺, defer this
step's non-key materials (容缺) — and ranks them by the working days they take off the
critical path (and off the P90 when steps carry duration distributions and Monte-Carlo
runs are asked for, with common random numbers so the difference is the lever's). It
never proposes a target lever (``compress``: a typed limit needs a published source, which
only a scenario can give).

It does not overclaim:

- a saving that comes from dropping a practice dependency (the serial order the modeller
  chose, not the law's) is marked ``from_modelled_order`` (来自建模时设定的串联顺序);
- levers closed on the critical path are listed with a reason code: ``legal_dependency``
  (a legal order with its source, in ``source``), ``legal_dependency_unsourced`` (the model
  marks the order legal but gives no source: kept as modelled, never called the law's),
  ``commitment_not_allowed`` (a sourced rule
  refuses 告知承诺, e.g. 国办发〔2020〕42号 for high-risk items; ``source`` names it) or
  ``commitment_unmarked`` (本模型未标注可告知承诺（无来源）: the model only does not mark it as
  allowed). :func:`simulations.planning.applicant_levers.commitment_refusal` decides which.

The greedy plan applies the best lever, measures again, and repeats until no lever
saves time; each lever is used at most once on the same subject.

Subjects are step ids (``subject``) and step names (``subject_name``, for people).

>>> from process_models.catalog import load_catalog_procedure
>>> a = advise(load_catalog_procedure("restaurant"))
>>> [(o.lever, o.subject, o.saved_working_days, o.from_modelled_order) for o in a.options[:2]]
[('parallelise', 'food_licence → signboard', 20.0, True), ('commitment', 'food_licence', 20.0, False)]
>>> a.options[0].subject_name
'食品经营许可 (餐饮服务) → 户外招牌设施设置'
>>> [b.reason for b in a.blocked if b.subject == "signboard"]
['commitment_unmarked']
>>> a.plan_elapsed_working_days < a.elapsed_working_days
True
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from process_models.errors import ScenarioError
from process_models.procedure import Basis, DependencyKind, Procedure
from simulations.planning.applicant_levers import commitment_refusal
from simulations.planning.cpm import schedule
from simulations.planning.metrics import measure
from simulations.planning.reforms import Change
from simulations.planning.scenario import LEVERS

__all__ = ["BLOCKED_REASONS", "Advice", "Blocked", "Option", "PlanStep", "advise", "candidates",
           "from_modelled_order", "subject_name"]


@dataclass(frozen=True)
class Option:
    """One single lever, what it saves (working days, P90, trips, materials) and what it
    does (its change log, ``changes``); ``from_modelled_order`` when it acts on a practice
    dependency, so its saving exists under the serial order the modeller chose."""

    lever: str
    subject: str
    subject_name: str
    args: dict[str, Any]
    saved_working_days: float
    saved_trips: int
    saved_materials: int
    changes: list[Change]
    from_modelled_order: bool
    saved_p90: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


#: Why a lever is closed on the critical path (:class:`Blocked`'s ``reason``).
BLOCKED_REASONS = ("legal_dependency", "legal_dependency_unsourced", "commitment_not_allowed",
                   "commitment_unmarked")


@dataclass(frozen=True)
class Blocked:
    """A lever closed on the critical path, a reason of :data:`BLOCKED_REASONS`, and the
    rule that closes it when a sourced one does."""

    lever: str
    subject: str
    subject_name: str
    reason: str
    source: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PlanStep:
    """One lever of the greedy plan and the elapsed time once it is applied."""

    lever: str
    subject: str
    subject_name: str
    args: dict[str, Any]
    saved_working_days: float
    elapsed_after: float
    from_modelled_order: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Advice:
    """Ranked single levers, the blocked ones, and the greedy plan."""

    procedure_id: str
    limits: str
    elapsed_working_days: float
    options: list[Option]
    blocked: list[Blocked]
    plan: list[PlanStep]
    plan_elapsed_working_days: float
    p90: float | None = None
    plan_procedure: Procedure | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "procedure_id": self.procedure_id, "limits": self.limits,
            "elapsed_working_days": self.elapsed_working_days, "p90": self.p90,
            "options": [o.as_dict() for o in self.options],
            "blocked": [b.as_dict() for b in self.blocked],
            "plan": [p.as_dict() for p in self.plan],
            "plan_elapsed_working_days": self.plan_elapsed_working_days,
        }


def candidates(proc: Procedure) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every single mechanism lever that could apply to ``proc``: (lever, subject, keyword
    arguments).

    >>> from process_models.catalog import load_catalog_procedure
    >>> sorted({lever for lever, _, _ in candidates(load_catalog_procedure("restaurant"))})
    ['commitment', 'defer_materials', 'merge', 'parallelise']
    """
    steps = proc.applicant_steps
    ids = {s.id for s in steps}
    for s in steps:
        for d in s.depends_on:
            if d.kind is DependencyKind.practice:
                pair = f"{d.step} → {s.id}"
                yield "parallelise", pair, {"dependencies": [(d.step, s.id)]}
                if d.step in ids:
                    yield "merge", f"{d.step} + {s.id}", {"steps": [d.step, s.id]}
    for s in steps:
        if commitment_refusal(s) is None and s.committed.days > 0:
            yield "commitment", s.id, {"steps": [s.id]}
        if any(d.kind is DependencyKind.practice or d.lag for d in s.depends_on):
            yield "defer_materials", s.id, {"steps": [s.id]}


def subject_name(proc: Procedure, subject: str) -> str:
    """``subject`` (step ids joined by `` → `` or `` + ``) with each id replaced by its
    step's name.

    >>> from process_models.catalog import load_catalog_procedure
    >>> subject_name(load_catalog_procedure("restaurant"), "business_licence + signboard")
    '营业执照 (设立登记) + 户外招牌设施设置'
    """
    names = {s.id: s.name for s in proc.steps}
    return re.sub(r"[^\s→+]+", lambda m: names.get(m.group(), m.group()), subject)


def from_modelled_order(proc: Procedure, lever: str, args: dict[str, Any]) -> bool:
    """Whether ``lever`` with ``args`` saves time by acting on a practice dependency of
    ``proc`` (a serial order the modeller chose, not the law's): dropping it, merging the
    steps it joins, or 容缺 on a step that has one.

    >>> from process_models.catalog import load_catalog_procedure
    >>> p = load_catalog_procedure("restaurant")
    >>> from_modelled_order(p, "parallelise", {"dependencies": [("food_licence", "signboard")]})
    True
    >>> from_modelled_order(p, "commitment", {"steps": ["food_licence"]})
    False
    """
    involved = _involved(args)
    practice = [d.step for s in proc.steps if s.id in involved for d in s.depends_on
                if d.kind is DependencyKind.practice]
    if lever == "defer_materials":
        return bool(practice)
    return any(step in involved for step in practice)


def _blocked(proc: Procedure, critical: set[str]) -> list[Blocked]:
    out = []
    for s in proc.steps:
        if s.id not in critical:
            continue
        for d in s.depends_on:
            if d.kind is DependencyKind.legal and d.step in critical:
                pair = f"{d.step} → {s.id}"
                sourced = d.basis is Basis.sourced and d.source
                out.append(Blocked("parallelise", pair, subject_name(proc, pair),
                                   "legal_dependency" if sourced else
                                   "legal_dependency_unsourced", d.source if sourced else None))
        refusal = commitment_refusal(s)
        if refusal is not None and s.committed.days > 0:
            out.append(Blocked("commitment", s.id, s.name, f"commitment_{refusal.reason}",
                               refusal.source))
    return out


#: Among levers that save as much, the least invasive comes first.
PREFERENCE = ("parallelise", "defer_materials", "commitment", "merge")

#: Levers the plan may take without an immediate saving, to break a tie between critical
#: paths (they keep every step, so the sum of earliest finishes compares fairly).
ENABLING = ("parallelise", "defer_materials", "commitment")


class _Measurer:
    """Elapsed time (and P90, with common random numbers) of procedures on one basis."""

    def __init__(self, limits: str, runs: int, seed: int, proc: Procedure) -> None:
        self.limits, self.seed = limits, seed
        # P90 only means something when durations vary; a lever may then remove the
        # distributions (a merge, 告知承诺), and the after-P90 is its fixed elapsed time.
        self.runs = runs if any(s.duration for s in proc.steps) else 0

    def timing(self, proc: Procedure) -> tuple[float, float, set[str]]:
        """Elapsed days, the sum of every step's earliest finish, and the critical steps."""
        s = schedule(proc, limits=self.limits)
        finish = sum(s.earliest_finish[x.id] for x in proc.steps if x.id in s.earliest_finish)
        return s.elapsed_working_days, finish, set(s.critical_steps)

    def p90(self, proc: Procedure) -> float | None:
        if not self.runs:
            return None
        from simulations.planning.montecarlo import simulate

        return simulate(proc, runs=self.runs, seed=self.seed, criticality=False).p90


def _involved(args: dict[str, Any]) -> set[str]:
    return set(args.get("steps", ())) | {x for pair in args.get("dependencies", ()) for x in pair}


def _options(proc: Procedure, m: _Measurer) -> list[Option]:
    """Every single lever that saves days, trips or materials, best first."""
    base = measure(proc, limits=m.limits)
    base_p90 = m.p90(proc)
    found = []
    for lever, subject, args in candidates(proc):
        try:
            after, log = LEVERS[lever](proc, **args)
        except ScenarioError:
            continue  # a merge that would wait for itself
        now = measure(after, limits=m.limits)
        saved = round(base.elapsed_working_days - now.elapsed_working_days, 6)
        trips, materials = base.trips - now.trips, base.materials - now.materials
        if not log or (saved <= 0 and trips <= 0 and materials <= 0):
            continue
        after_p90 = m.p90(after) if base_p90 is not None else None
        found.append(Option(
            lever, subject, subject_name(proc, subject), args, saved, trips, materials,
            log, from_modelled_order(proc, lever, args),
            None if after_p90 is None else round(base_p90 - after_p90, 6),
        ))
    found.sort(key=lambda o: (-o.saved_working_days, -(o.saved_p90 or 0), -o.saved_trips,
                              -o.saved_materials, PREFERENCE.index(o.lever)))
    return found


def _plan(proc: Procedure, m: _Measurer) -> tuple[list[PlanStep], Procedure]:
    """Greedy: apply the lever that saves the most days, again and again.

    Among equal savings the least invasive lever wins (:data:`PREFERENCE`). When tied
    critical paths make every single lever save nothing, a lever of :data:`ENABLING` that
    shortens one of them (lowers the sum of earliest finishes) is taken, so the next
    lever can save; such steps left at the end of the plan are dropped.
    """
    plan: list[PlanStep] = []
    states = [proc]
    used: set[tuple[str, str]] = set()
    current = proc
    elapsed, finish, critical = m.timing(current)
    while True:
        best = None
        for lever, subject, args in candidates(current):
            if (lever, subject) in used or not _involved(args) & critical:
                continue
            try:
                after, log = LEVERS[lever](current, **args)
            except ScenarioError:
                continue
            if not log:
                continue
            now, now_finish, now_critical = m.timing(after)
            saved, unblocks = round(elapsed - now, 6), round(finish - now_finish, 6)
            if saved > 0:
                key = (saved, -PREFERENCE.index(lever), unblocks)
            elif unblocks > 0 and lever in ENABLING:
                key = (0.0, unblocks, -PREFERENCE.index(lever))
            else:
                continue
            if best is None or key > best[0]:
                best = (key, lever, subject, args, after, now, now_finish, now_critical)
        if best is None:
            break
        key, lever, subject, args, after, elapsed, finish, critical = best
        used.add((lever, subject))
        plan.append(PlanStep(lever, subject, subject_name(current, subject), args, key[0],
                             elapsed, from_modelled_order(current, lever, args)))
        current = after
        states.append(current)
    while plan and plan[-1].saved_working_days <= 0:
        plan.pop()
        states.pop()
    return plan, states[-1]


def advise(proc: Procedure, *, limits: str = "committed", runs: int = 0, seed: int = 0) -> Advice:
    """Rank the single levers for ``proc`` and build the greedy plan.

    Parameters
    ----------
    proc : Procedure
        The procedure.
    limits : {'committed', 'statutory'}
        Which limits the steps take.
    runs : int
        Monte-Carlo replications per evaluation for P90 savings (0: none); used only when
        some step carries a duration distribution.
    seed : int
        The Monte-Carlo seed, shared by every evaluation (common random numbers).
    """
    m = _Measurer(limits, runs, seed, proc)
    elapsed, _, critical = m.timing(proc)
    plan, planned = _plan(proc, m)
    return Advice(proc.id, limits, elapsed, _options(proc, m), _blocked(proc, critical), plan,
                  m.timing(planned)[0], m.p90(proc), planned)
