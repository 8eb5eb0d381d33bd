"""Reform levers: pure functions ``procedure → (new procedure, change log)``.

Each lever takes a :class:`~process_models.procedure.Procedure`, never changes it,
and returns a new, checked procedure together with a list of :class:`Change`
records saying what changed and why. The levers on the steps are here, those on the
applicant's side (materials, trips, 告知承诺) in :mod:`simulations.planning.applicant_levers`;
:data:`simulations.planning.scenario.LEVERS` names them all, and they combine in a scenario
file (:mod:`simulations.planning.scenario`).

========================  =========================================================
lever                     what it does
========================  =========================================================
``parallelise``           串联改并联: drop practice dependencies, keep legal ones
``merge``                 联审/联合验收: several steps become one joint review
``eliminate``             取消: the step leaves; its dependents inherit its waits
``filing``                改备案: the step becomes a filing, 即办件, 0 days
``commitment``            告知承诺: decided on the spot, checked after issue
``defer_materials``       容缺受理: no step waits for a non-key material
``share_data``            数据共享: materials another department holds leave the list
``drop_materials``        减要件: named materials are no longer required
``compress``              压缩时限: committed limits cut by a factor or to a number
                          (a target lever: a scenario needs its ``source:``)
``one_window``            一窗受理: every applicant trip becomes one
``online``                全程网办: no trips at all
``zone_assessment``       区域评估: named assessments are done once for a zone
``intermediary``          中介服务: an intermediary's time as an untimed part, with
                          its own basis (the applicant waits, the approval clock stops)
========================  =========================================================

How the model carries each reform:

- 告知承诺 adds a verification step (事中事后核查) flagged ``follow_up``: nothing
  depends on it, and the critical path and the metrics leave it out
  (:attr:`process_models.procedure.Procedure.applicant_steps`), so it costs the applicant no time.
- A merge lasts as long as its longest member; when members legally depend on one
  another, as long as the longest legal chain among them, so no order the law imposes
  is skipped.
- 容缺受理 removes the waits that exist only to obtain a non-key material from an
  earlier step: a practice dependency on that step is dropped, a legal one keeps
  its order but loses its lag (the material-wait time). Non-key materials are
  still handed in, later, so the material count does not change.
- A cancelled step's dependents inherit its own dependencies (legal only when
  both links were legal, lags added), so no ordering the law imposes is lost.

>>> from process_models.catalog import load_catalog_procedure
>>> before = load_catalog_procedure("newborn")
>>> after, changes = parallelise(before)
>>> {d.kind.value for s in after.steps for d in s.depends_on}
{'legal'}
>>> changes[0].subject, before.step("birth_certificate").predecessors
('vaccination → birth_certificate', ['vaccination'])
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from process_models.errors import ProcedureError, ScenarioError, did_you_mean, shown
from process_models.graph import edges
from process_models.loading import check_procedure
from process_models.procedure import (
    ID_PATTERN,
    Basis,
    Dependency,
    DependencyKind,
    Limit,
    Procedure,
    Provider,
    Step,
    StepKind,
    Unit,
    Untimed,
)
from simulations.planning.cpm import WORKING_DAYS_PER_CALENDAR_DAY, step_duration_working_days
from simulations.planning.scenario_problems import scenario_error

__all__ = [
    "CHANGE_KINDS",
    "JOINT_STATUTORY_LIMIT",
    "Change",
    "Lever",
    "compress",
    "eliminate",
    "filing",
    "intermediary",
    "merge",
    "parallelise",
    "zone_assessment",
]


CHANGE_KINDS = ("dependency_dropped", "merged_chain", "merged_longest",
                "distributions_dropped", "cancelled", "materials_unasked", "filed",
                "compressed", "zone_assessed", "zone_shared", "committed", "proofs_replaced",
                "deferred_dependency", "deferred_lag", "data_shared", "data_shared_named",
                "dropped", "one_window", "online", "intermediary_moved",
                "intermediary_added")
"""What a lever can change (:attr:`Change.what`): the reader's sentence for each, in each
language, is ``change.<what>`` of the pages' dictionary (``api/i18n.py``, words in ``api/words_*.py``)."""


@dataclass(frozen=True)
class Change:
    """One thing a lever changed: which lever, on what (ids), what happened (``what``, one
    of :data:`CHANGE_KINDS`) and the ids and numbers it names (``values``); a reader's
    sentence is made from these, with names, in the reader's language.

    ``note`` carries the scenario's own justification, when it gives one (``note_en``: the
    note in English, for ``--lang en`` / ``?lang=en``); ``source``
    the published commitment a target lever (one that sets a number) takes its value from.

    >>> Change("online", "licence", "online", {"before": 1}).as_dict()["values"]
    {'before': 1}
    >>> str(Change("compress", "seal", "compressed", {"before": 3, "after": 1}, source="32号"))
    "compress: seal: compressed {'before': 3, 'after': 1} [source: 32号]"
    """

    lever: str
    subject: str
    what: str
    values: dict[str, Any] = field(default_factory=dict)
    note: str | None = None
    source: str | None = None
    note_en: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        note = f" — {self.note}" if self.note else ""
        source = f" [source: {self.source}]" if self.source else ""
        return f"{self.lever}: {self.subject}: {self.what} {self.values}{note}{source}"


Result = tuple[Procedure, list[Change]]
Lever = Callable[..., Result]


# --- helpers --------------------------------------------------------------------------------


def _known(ids: list[str], wanted: Iterable[str], what: str, proc: Procedure,
           lever: str) -> list[str]:
    """``wanted`` as a list without repeats, each checked to be one of ``ids``."""
    out: list[str] = []
    for item in wanted:
        if item not in ids:
            raise scenario_error(f"lever_no_{what}", {"lever": lever,
                                                      "procedure": shown(proc.id),
                                                      "value": shown(item)},
                                 suggestion=did_you_mean(item, ids))
        if item not in out:
            out.append(item)
    return out


def known_steps(proc: Procedure, step_ids: Iterable[str], lever: str) -> list[str]:
    """``step_ids`` as a list, each checked to exist (one-line error with a did-you-mean)."""
    return _known([s.id for s in proc.steps], step_ids, "step", proc, lever)


def known_materials(proc: Procedure, material_ids: Iterable[str], lever: str) -> list[str]:
    """``material_ids`` as a list, each checked to exist."""
    return _known([m.id for m in proc.materials], material_ids, "material", proc, lever)


def checked_procedure(proc: Procedure, lever: str) -> Procedure:
    """Run the whole-procedure checks; a failure becomes a ScenarioError naming the lever."""
    try:
        return check_procedure(proc)
    except ProcedureError as e:
        raise ScenarioError(f"{lever} leaves an invalid procedure: {e}") from None


def _bridge(proc: Procedure, gone: set[str]) -> None:
    """Remove the steps in ``gone``; their dependents inherit their dependencies (in place).

    An inherited dependency is legal only when both links were legal; lags add up
    (when their units agree; otherwise the longer counts). A stage whose milestones (or,
    without milestones, whose steps) are all gone goes too: what waited for it waits for
    what its milestones waited for.
    """
    if all(s.id in gone for s in proc.steps):
        raise scenario_error("removes_every_step", {"steps": ", ".join(sorted(gone))})
    waits = {s.id: s.depends_on for s in proc.steps}
    for st in proc.stages:
        joined = st.milestones or st.steps
        if all(x in gone for x in joined):
            waits[st.id] = [Dependency(step=x) for x in joined]
    removed = gone | {st.id for st in proc.stages if st.id in waits}

    def resolved(dep: Dependency, seen: frozenset[str]) -> list[Dependency]:
        if dep.step not in removed:
            return [dep]
        if dep.step in seen:
            return []
        out = []
        for inner in waits[dep.step]:
            for d in resolved(inner, seen | {dep.step}):
                legal = dep.kind is DependencyKind.legal and d.kind is DependencyKind.legal
                out.append(Dependency(
                    step=d.step,
                    kind=DependencyKind.legal if legal else DependencyKind.practice,
                    lag=_add_lags(dep.lag, d.lag),
                ))
        return out

    for s in proc.steps:
        if s.id in gone:
            continue
        new: list[Dependency] = []
        for dep in s.depends_on:
            for d in resolved(dep, frozenset()):
                new = _add_dependency(new, d)
        s.depends_on = new
    proc.steps = [s for s in proc.steps if s.id not in gone]
    proc.stages = [st for st in proc.stages if st.id not in removed]
    for st in proc.stages:
        st.steps = [x for x in st.steps if x not in gone]
        st.milestones = [x for x in st.milestones if x not in gone]


def _add_lags(a: Limit | None, b: Limit | None) -> Limit | None:
    if a is None or b is None:
        return a or b
    if a.unit is b.unit:
        return Limit(days=a.days + b.days, unit=a.unit)
    return max(a, b, key=lambda lag: lag.days)


def _add_dependency(deps: list[Dependency], dep: Dependency) -> list[Dependency]:
    """``deps`` plus ``dep``; a repeated predecessor keeps the stronger kind and longer lag."""
    for i, d in enumerate(deps):
        if d.step == dep.step:
            legal = DependencyKind.legal in (d.kind, dep.kind)
            lags = [x for x in (d.lag, dep.lag) if x is not None]
            deps[i] = Dependency(
                step=d.step,
                kind=DependencyKind.legal if legal else DependencyKind.practice,
                lag=max(lags, key=lambda lag: lag.days) if lags else None,
            )
            return deps
    deps.append(dep)
    return deps


# --- levers ---------------------------------------------------------------------------------


def parallelise(
    proc: Procedure,
    *,
    steps: Sequence[str] | None = None,
    dependencies: Sequence[tuple[str, str]] | None = None,
) -> Result:
    """串联改并联: drop practice dependencies; legal ones stay.

    Parameters
    ----------
    proc : Procedure
        The procedure.
    steps : sequence of str, optional
        Only drop the practice dependencies of these (waiting) steps.
    dependencies : sequence of (str, str), optional
        Only drop these ``(predecessor, step)`` pairs; naming a legal one is an error,
        because the law requires that order.

    Examples
    --------
    >>> from process_models.catalog import load_catalog_procedure
    >>> p = load_catalog_procedure("newborn")
    >>> _, log = parallelise(p, dependencies=[("birth_certificate", "household_registration")])
    Traceback (most recent call last):
    ...
    process_models.errors.ScenarioError: parallelise: birth_certificate → household_registration \
is a legal dependency; the law requires this order, so it cannot run in parallel
    """
    waiting = None if steps is None else set(known_steps(proc, steps, "parallelise"))
    pairs = None
    if dependencies is not None:
        pairs = set()
        for pred, succ in dependencies:
            known_steps(proc, [succ], "parallelise")
            dep = next((d for d in proc.step(succ).depends_on if d.step == pred), None)
            if dep is None:
                known = [d.step for d in proc.step(succ).depends_on]
                raise scenario_error("parallelise_no_dependency",
                                     {"step": shown(succ), "value": shown(pred)},
                                     suggestion=did_you_mean(pred, known))
            if dep.kind is DependencyKind.legal:
                raise scenario_error("parallelise_legal", {"before": pred, "after": succ})
            pairs.add((pred, succ))
    out = proc.model_copy(deep=True)
    log: list[Change] = []
    for s in out.steps:
        if waiting is not None and s.id not in waiting:
            continue
        kept = []
        for d in s.depends_on:
            chosen = pairs is None or (d.step, s.id) in pairs
            if d.kind is DependencyKind.practice and chosen:
                log.append(Change("parallelise", f"{d.step} → {s.id}", "dependency_dropped",
                                  {"pred": d.step, "succ": s.id}))
            else:
                kept.append(d)
        s.depends_on = kept
    return checked_procedure(out, "parallelise"), log


#: 行政许可法 第26条: a licence several departments handle jointly (联合办理、集中办理) takes
#: at most 45 days (working days, 第82条), whatever the members' own limits.
JOINT_STATUTORY_LIMIT = Limit(days=45, basis=Basis.sourced,
                              note="行政许可法 第26条: 联合办理、集中办理不得超过四十五日",
                              note_en="行政许可法 第26条: a joint or centralised licence "
                                      "(联合办理、集中办理) takes at most 45 days")
def _joint_commitment(parts: Sequence[Step]) -> tuple[bool | None, dict]:
    """告知承诺 for a merged step, keeping what is known of its members: not allowed when
    any member is not, allowed when a member is and none is not (the bundle is signed once,
    its allowed members' rule and source carried over), else unknown. Returns the status
    and the step's ``provenance`` entry for it.

    >>> from process_models.procedure import Limit
    >>> def s(allowed): return Step(id="a", name="A", department="x", committed=Limit(days=1),
    ...                             commitment_allowed=allowed)
    >>> [_joint_commitment([s(a), s(b)])[0] for a, b in [(True, None), (None, False), (None, None)]]
    [True, False, None]
    """
    statuses = [p.commitment_allowed for p in parts]
    if any(a is False for a in statuses):
        status = False
    else:
        status = True if any(statuses) else None
    known = [p for p in parts if p.commitment_allowed is status and status is not None
             and "commitment_allowed" in p.provenance]
    return status, ({"commitment_allowed": known[0].provenance["commitment_allowed"]}
                    if known else {})


def merge(
    proc: Procedure,
    steps: Sequence[str],
    *,
    id: str | None = None,
    name: str | None = None,
    department: str | None = None,
    overhead_days: float = 0.0,
    links: int | None = None,
) -> Result:
    """联审/联合验收: several steps become one joint review.

    The joint step lasts as long as its longest member (limit and untimed parts) plus
    ``overhead_days`` of coordination; it asks for each material once and costs the
    applicant at most one trip (when members legally depend on one another, it lasts as
    long as the longest such chain). Members of several departments make a joint step
    whose statutory limit is the law's joint limit (:data:`JOINT_STATUTORY_LIMIT`, 行政许可法
    第26条), not the members'. It waits for everything its members waited for, except
    each other; whatever waited for a member waits for it. A merge that would make the
    joint step wait for itself (another step sits between two members) is refused.

    Parameters
    ----------
    proc : Procedure
        The procedure.
    steps : sequence of str
        The member step ids (two or more).
    id : str, optional
        The joint step's id (default: the members' ids joined by ``+``).
    name : str, optional
        Its name (default: ``联合审查: `` and the members' names).
    department : str, optional
        The lead department (牵头部门; default: the first member's).
    overhead_days : float
        Coordination days added to the longest member's limit.
    links : int, optional
        环节 of the joint step (default: the most any member had).

    Examples
    --------
    >>> from process_models.catalog import load_catalog_procedure
    >>> p = load_catalog_procedure("newborn")
    >>> q, log = merge(p, ["medical_insurance_enrolment", "medical_insurance_payment"],
    ...                id="medical_insurance", overhead_days=0.5)
    >>> "medical_insurance" in q.step("social_security_card").predecessors
    True
    >>> log[0].what, log[0].values["days"], log[0].values["chain"]
    ('merged_chain', 2.5, ['medical_insurance_enrolment', 'medical_insurance_payment'])
    """
    members = known_steps(proc, steps, "merge")
    if len(members) < 2:
        raise scenario_error("merge_too_few", {"steps": shown(members)})
    if overhead_days < 0:
        raise scenario_error("merge_negative_overhead", {"value": f"{overhead_days:g}"})
    joint_id = id or "+".join(members)
    if not re.fullmatch(ID_PATTERN, joint_id):
        raise scenario_error("merge_not_id", {"value": shown(joint_id)})
    if joint_id in {s.id for s in proc.steps} - set(members) or joint_id in {
        st.id for st in proc.stages
    }:
        raise scenario_error("merge_id_used", {"value": shown(joint_id)})
    _refuse_merge_cycle(proc, members)
    if department is not None and department not in {d.id for d in proc.departments}:
        raise ScenarioError(
            f"merge: unknown department '{department}'",
            suggestion=did_you_mean(department, [d.id for d in proc.departments]),
        )

    parts = [proc.step(m) for m in members]
    member_set = set(members)

    longest = max(parts, key=step_duration_working_days)
    chain, chain_days = _longest_chain(parts)
    if len(chain) > 1:
        limit = Limit(days=round(chain_days + overhead_days, 2))
        untimed = []
        how = {"chain": chain, "chain_days": round(chain_days, 2)}
    else:
        limit = Limit(days=longest.committed.days + overhead_days, unit=longest.committed.unit,
                      **({} if overhead_days else {"basis": longest.committed.basis,
                                                   "source": longest.committed.source}))
        untimed = [u.model_copy() for u in longest.untimed]
        how = {"longest": longest.id, "longest_days": longest.committed.days}
    deps: list[Dependency] = []
    for s in parts:
        for d in s.depends_on:
            if d.step not in member_set:
                deps = _add_dependency(deps, d.model_copy(deep=True))
    materials = list(dict.fromkeys(m for s in parts for m in s.materials))
    departments = {s.department for s in parts}
    if len(departments) > 1:
        # 联合办理 by several departments: the law's joint limit, not the members' (第26条).
        joint_days = limit.days if limit.working else limit.days * WORKING_DAYS_PER_CALENDAR_DAY
        statutory = [JOINT_STATUTORY_LIMIT] if joint_days <= JOINT_STATUTORY_LIMIT.days else []
    else:
        # The members' longest statutory limit, unless the joint commitment outruns it (a
        # legal chain of members): none then, as a commitment may not exceed one.
        statutory = [s.statutory for s in parts if s.statutory is not None
                     and not (s.statutory.unit is limit.unit and s.statutory.days < limit.days)]
    commitment, commitment_basis = _joint_commitment(parts)
    joint = Step(
        id=joint_id,
        name=name or "联合审查: " + "、".join(s.name for s in parts),
        department=department or parts[0].department,
        kind=StepKind.joint if len(departments) > 1 else parts[0].kind,
        statutory=max(statutory, key=lambda lim: lim.days) if statutory else None,
        committed=limit,
        untimed=untimed,
        depends_on=deps,
        materials=materials,
        trips=min(1, sum(s.trips for s in parts)),
        window=next((s.window for s in parts if s.window), None),
        links=max(s.links for s in parts) if links is None else links,
        certificates=list(dict.fromkeys(c for s in parts for c in s.certificates)),
        commitment_allowed=commitment,
        provenance=commitment_basis,
        risk="high" if any(s.risk == "high" for s in parts) else None,
        fee_yuan=None if all(s.fee_yuan is None for s in parts)
        else sum(s.fee_yuan or 0 for s in parts),
        note="联审：" + "、".join(s.name for s in parts),
        note_en="joint review: " + ", ".join(s.name_en or s.name for s in parts),
    )
    out = proc.model_copy(deep=True)
    first = next(i for i, s in enumerate(out.steps) if s.id in member_set)
    rest = [s for s in out.steps if s.id not in member_set]
    rest.insert(first, joint)
    for s in rest:
        if s is joint:
            continue
        new: list[Dependency] = []
        for d in s.depends_on:
            if d.step in member_set:
                d = d.model_copy(update={"step": joint_id})
            new = _add_dependency(new, d)
        s.depends_on = new
    out.steps = rest
    for m in out.materials:
        if m.from_step in member_set:
            m.from_step = joint_id
    for st in out.stages:
        st.steps = list(dict.fromkeys(joint_id if x in member_set else x for x in st.steps))
        st.milestones = list(
            dict.fromkeys(joint_id if x in member_set else x for x in st.milestones)
        )
    before_materials = sum(len(s.materials) for s in parts)
    before_trips = sum(s.trips for s in parts)
    log = [Change("merge", joint_id, "merged_chain" if "chain" in how else "merged_longest", {
        "steps": members, "step": joint_id, "days": joint.committed.days,
        "unit": joint.committed.unit.value, **how, "overhead": overhead_days,
        "materials_before": before_materials, "materials_after": len(materials),
        "trips_before": before_trips, "trips_after": joint.trips})]
    if any(s.duration is not None for s in parts):
        log.append(Change("merge", joint_id, "distributions_dropped", {"step": joint_id}))
    return checked_procedure(out, "merge"), log


def _longest_chain(parts: list[Step]) -> tuple[list[str], float]:
    """The longest chain of members along their legal dependencies on one another, in working
    days. Practice dependencies between members vanish: a joint review does them together."""
    ids = {s.id for s in parts}
    by_id = {s.id: s for s in parts}
    finish: dict[str, tuple[float, list[str]]] = {}

    def visit(s: Step) -> tuple[float, list[str]]:
        if s.id not in finish:
            best = (0.0, [])
            for d in s.depends_on:
                if d.step in ids and d.kind is DependencyKind.legal:
                    days, chain = visit(by_id[d.step])
                    lag = 0.0 if d.lag is None else (
                        d.lag.days if d.lag.unit is Unit.working
                        else d.lag.days * WORKING_DAYS_PER_CALENDAR_DAY)
                    best = max(best, (days + lag, chain), key=lambda x: x[0])
            finish[s.id] = (best[0] + step_duration_working_days(s), [*best[1], s.id])
        return finish[s.id]

    days, chain = max((visit(s) for s in parts), key=lambda x: x[0])
    return chain, days


def _refuse_merge_cycle(proc: Procedure, members: list[str]) -> None:
    """Raise when a chain member → outsider … → member exists: the merge would be a cycle."""
    member_set = set(members)
    succ: dict[str, list[tuple[str, DependencyKind]]] = {}
    for before, after, d in edges(proc):  # a stage waits for its members by law
        succ.setdefault(before, []).append((after, d.kind if d else DependencyKind.legal))
    for start in members:
        # depth-first over outsiders, remembering the path and whether every link is legal
        stack = [(nxt, [start, nxt], kind is DependencyKind.legal)
                 for nxt, kind in succ.get(start, ()) if nxt not in member_set]
        seen: set[str] = set()
        while stack:
            node, path, legal = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            for nxt, kind in succ.get(node, ()):
                both = legal and kind is DependencyKind.legal
                if nxt in member_set:
                    raise scenario_error("merge_legal_chain" if both else "merge_chain",
                                         {"steps": ", ".join(members),
                                          "chain": " → ".join([*path, nxt])})
                if nxt not in seen:
                    stack.append((nxt, [*path, nxt], both))


def eliminate(proc: Procedure, steps: Sequence[str]) -> Result:
    """取消: the steps leave the procedure.

    Whatever waited for a cancelled step now waits for what it waited for; materials it
    produced are no longer asked for.

    >>> from process_models.catalog import load_catalog_procedure
    >>> p = load_catalog_procedure("newborn")
    >>> q, log = eliminate(p, ["birth_registration"])
    >>> q.step("household_registration").predecessors
    ['birth_certificate']
    """
    gone = set(known_steps(proc, steps, "eliminate"))
    out = proc.model_copy(deep=True)
    log = [Change("eliminate", sid, "cancelled", {"step": sid})
           for sid in known_steps(proc, steps, "eliminate")]
    produced = {m.id for m in out.materials if m.from_step in gone}
    _bridge(out, gone)
    if produced:
        for s in out.steps:
            s.materials = [m for m in s.materials if m not in produced]
        out.materials = [m for m in out.materials if m.id not in produced]
        log.append(Change("eliminate", ", ".join(sorted(produced)), "materials_unasked",
                          {"materials": sorted(produced)}))
    return checked_procedure(out, "eliminate"), log


def filing(proc: Procedure, steps: Sequence[str]) -> Result:
    """改备案: the steps become filings: 即办件, decided on the spot, 0 days.

    Their order, materials and trips stay; they no longer add time.

    >>> from process_models.catalog import load_catalog_procedure
    >>> q, _ = filing(load_catalog_procedure("newborn"), ["maternity_benefit"])
    >>> q.step("maternity_benefit").kind.value, q.step("maternity_benefit").committed.days
    ('即办件', 0.0)
    """
    ids = known_steps(proc, steps, "filing")
    out = proc.model_copy(deep=True)
    log = []
    for s in out.steps:
        if s.id in ids:
            log.append(Change("filing", s.id, "filed", {
                "step": s.id, "kind": s.kind.value, "days": s.committed.days}))
            s.kind = StepKind.immediate
            s.committed = Limit(days=0)
            s.statutory = None
            s.untimed = []
            s.duration = None
    return checked_procedure(out, "filing"), log


def compress(
    proc: Procedure,
    *,
    factor: float | None = None,
    to_days: float | None = None,
    by_days: float | None = None,
    steps: Sequence[str] | None = None,
) -> Result:
    """压缩时限: cut committed limits, by a ``factor``, ``to_days`` or ``by_days``.

    Exactly one of the three. Limits never grow and never go below zero; statutory
    limits (the law) stay. Results are kept to half-day precision, rounding up.

    >>> from process_models.catalog import load_catalog_procedure
    >>> q, log = compress(load_catalog_procedure("newborn"), factor=0.5, steps=["social_security_card"])
    >>> q.step("social_security_card").committed.days
    7.5
    """
    given = [x for x in (factor, to_days, by_days) if x is not None]
    if len(given) != 1:
        raise scenario_error("compress_one_of")
    if factor is not None and not 0 <= factor <= 1:
        raise scenario_error("compress_factor", {"value": f"{factor:g}"})
    if (to_days is not None and to_days < 0) or (by_days is not None and by_days < 0):
        raise scenario_error("compress_negative_days")
    ids = None if steps is None else set(known_steps(proc, steps, "compress"))
    out = proc.model_copy(deep=True)
    log = []
    for s in out.applicant_steps:
        if ids is not None and s.id not in ids:
            continue
        old = s.committed.days
        if factor is not None:
            new = -(-old * factor * 2 // 1) / 2  # half days, rounding up
        elif to_days is not None:
            new = min(old, to_days)
        else:
            new = max(0.0, old - by_days)
        if new < old:
            log.append(Change("compress", s.id, "compressed", {
                "step": s.id, "before": old, "after": new, "unit": s.committed.unit.value}))
            s.committed = s.committed.model_copy(update={"days": new})
    return checked_procedure(out, "compress"), log


def zone_assessment(proc: Procedure, steps: Sequence[str]) -> Result:
    """区域评估: the named assessments are done once for the whole zone by the government.

    The steps leave the procedure (their dependents inherit their waits); the reports
    they produced come by data sharing instead of from the applicant.

    >>> from process_models.catalog import load_catalog_procedure
    >>> q, log = zone_assessment(load_catalog_procedure("newborn"), ["vaccination"])
    >>> [s.id for s in q.steps if s.id == "vaccination"]
    []
    """
    ids = known_steps(proc, steps, "zone_assessment")
    gone = set(ids)
    out = proc.model_copy(deep=True)
    log = [Change("zone_assessment", sid, "zone_assessed", {"step": sid}) for sid in ids]
    for m in out.materials:
        if m.from_step in gone:
            m.provider = Provider.data_sharing
            m.held_by = m.held_by or proc.step(m.from_step).department
            log.append(Change("zone_assessment", m.id, "zone_shared", {"material": m.id}))
            m.from_step = None
    _bridge(out, gone)
    return checked_procedure(out, "zone_assessment"), log


def intermediary(
    proc: Procedure,
    steps: Sequence[str],
    *,
    kind: str,
    days: float | None = None,
    unit: Unit | str = Unit.working,
    basis: Basis | str = Basis.estimate,
    days_source: str | None = None,
) -> Result:
    """中介服务: an intermediary's time (勘察、测绘、审图机构、评估报告编制) as an untimed part
    of the named steps: the applicant waits for it, the approval clock does not run.

    With ``days``, a part of that length is added (work the model did not show, such as the
    survey before the construction drawings), with ``basis`` and, when sourced,
    ``days_source``. Without, the step's own committed limit moves into the part, keeping
    its basis and source (a review an agency does, such as 施工图审查 by a 审图机构), and the
    limit becomes 0: the elapsed time stays, the approval clock loses those days.

    >>> from process_models.catalog import load_catalog_procedure
    >>> p = load_catalog_procedure("construction_permit")
    >>> q, _ = intermediary(p, ["drawing_review"], kind="施工图审查 (审图机构)")
    >>> q.step("drawing_review").committed.days, q.step("drawing_review").untimed[0].days
    (0.0, 20.0)
    >>> q, _ = intermediary(p, ["drawing_review"], kind="勘察", days=15)
    >>> [(u.kind, u.days, u.basis.value) for u in q.step("drawing_review").untimed]
    [('中介服务: 勘察', 15.0, 'estimate')]
    >>> intermediary(p, ["drawing_review"], kind="勘察", days=15, basis="sourced")
    Traceback (most recent call last):
    ...
    process_models.errors.ScenarioError: intermediary: days marked sourced need days_source \
(the document the 15 days come from)
    """
    basis, unit = Basis(basis), Unit(unit)
    if basis is Basis.sourced and not days_source:
        raise scenario_error("intermediary_unsourced", {"days": f"{days or 0:g}"})
    ids = set(known_steps(proc, steps, "intermediary"))
    out = proc.model_copy(deep=True)
    log = []
    label = f"中介服务: {kind}"
    for s in out.steps:
        if s.id not in ids:
            continue
        if days is None:
            limit = s.committed
            part = Untimed(kind=label, days=limit.days, unit=limit.unit,
                           basis=limit.basis or Basis.estimate, source=limit.source,
                           note="中介机构自身用时，不计入审批时限",
                           note_en="the agency's own time, off the approval clock")
            s.committed = limit.model_copy(update={
                "days": 0.0, "note": "移入中介服务",
                "note_en": "moved to the intermediary service"})
            change = Change("intermediary", s.id, "intermediary_moved",
                            {"step": s.id, "kind": kind, "days": limit.days,
                             "unit": limit.unit.value})
        else:
            part = Untimed(kind=label, days=days, unit=unit, basis=basis, source=days_source)
            change = Change("intermediary", s.id, "intermediary_added",
                            {"step": s.id, "kind": kind, "days": days, "unit": unit.value},
                            source=days_source)
        s.untimed = [*s.untimed, part]
        s.duration = None
        log.append(change)
    return checked_procedure(out, "intermediary"), log
