"""Reform levers on the applicant's side: what they bring, how often they come, how they
are decided.

``commitment`` (告知承诺), ``defer_materials`` (容缺受理), ``share_data`` (数据共享),
``drop_materials`` (减要件), ``one_window`` (一窗受理) and ``online`` (全程网办). Each is a pure
function ``procedure → (new procedure, change log)`` like the levers on the steps in
:mod:`simulations.planning.reforms`, whose helpers they share.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from process_models.errors import shown
from process_models.procedure import (
    Dependency,
    DependencyKind,
    Limit,
    Procedure,
    Provider,
    Step,
    StepKind,
)
from simulations.planning.reforms import (
    Change,
    Result,
    checked_procedure,
    known_materials,
    known_steps,
)
from simulations.planning.scenario_problems import scenario_error

__all__ = [
    "HIGH_RISK_RULE",
    "Refusal",
    "commitment",
    "commitment_refusal",
    "defer_materials",
    "drop_materials",
    "one_window",
    "online",
    "share_data",
]

#: The rule that keeps 告知承诺 away from high-risk items (``risk: high``).
HIGH_RISK_RULE = "国办发〔2020〕42号"


class Refusal(NamedTuple):
    """Why 告知承诺 is not open for a step.

    ``reason`` is ``"not_allowed"`` when a rule refuses it (``commitment_allowed: false``, or
    a high-risk item; ``source`` names the rule where the model has one), ``"unmarked"`` when
    the model only does not mark it as allowed (``commitment_allowed`` unknown: no source
    says yes or no).
    """

    reason: str
    source: str | None = None


def commitment_refusal(step: Step) -> Refusal | None:
    """Why ``step`` cannot switch to 告知承诺 in this model, or None when it can.

    >>> from process_models.catalog import load_catalog_procedure
    >>> p = load_catalog_procedure("restaurant")
    >>> commitment_refusal(p.step("food_licence")) is None
    True
    >>> commitment_refusal(p.step("signboard"))
    Refusal(reason='unmarked', source=None)
    >>> commitment_refusal(p.step("food_licence").model_copy(update={"risk": "high"}))
    Refusal(reason='not_allowed', source='国办发〔2020〕42号')
    """
    if step.risk == "high":
        return Refusal("not_allowed", HIGH_RISK_RULE)
    if step.commitment_allowed is False:
        return Refusal("not_allowed", step.provenance_of("commitment_allowed").source)
    if not step.commitment_allowed:
        return Refusal("unmarked")
    return None


def commitment(
    proc: Procedure,
    steps: Sequence[str],
    *,
    verification_days: float | None = None,
    replaces: Sequence[str] = (),
) -> Result:
    """告知承诺: the decision is made on the spot against the applicant's written commitment.

    Only where the model allows it (:func:`commitment_refusal`: ``commitment_allowed``,
    and never a high-risk item, per 国办发〔2020〕42号). The step becomes a 即办件 of
    0 days; a verification step (事中事后核查) follows it after issue, flagged
    ``follow_up``: nothing waits for it and it is off the applicant's path. It
    takes over the review's limit (or ``verification_days``) and untimed parts.
    ``replaces`` names the proofs the commitment letter stands in for (证明事项告知承诺):
    the committing steps no longer ask for them.

    >>> from process_models.catalog import load_catalog_procedure
    >>> p = load_catalog_procedure("newborn")
    >>> commitment(p, ["social_security_card"])
    Traceback (most recent call last):
    ...
    process_models.errors.ScenarioError: commitment: step 'social_security_card' (社会保障卡申领) \
is not marked as allowing 告知承诺 in this model (no source); set commitment_allowed: true \
with the rule that allows it
    """
    ids = known_steps(proc, steps, "commitment")
    replaced = known_materials(proc, replaces, "commitment")
    for mid in replaced:
        if not any(mid in proc.step(sid).materials for sid in ids):
            raise scenario_error("commitment_material_not_asked",
                                 {"value": shown(mid), "steps": ", ".join(ids)})
    for sid in ids:
        s = proc.step(sid)
        refusal = commitment_refusal(s)
        if refusal is None:
            continue
        reason = ("commitment_unmarked" if refusal.reason != "not_allowed" else
                  "commitment_high_risk" if s.risk == "high" else
                  "commitment_not_allowed" if refusal.source else "commitment_model_disallows")
        raise scenario_error(reason, {"value": shown(sid), "name": s.name,
                                      "source": refusal.source})
    taken = {s.id for s in proc.steps} | {st.id for st in proc.stages}
    out = proc.model_copy(deep=True)
    log: list[Change] = []
    steps_out: list[Step] = []
    for s in out.steps:
        steps_out.append(s)
        if s.id not in ids:
            continue
        check_id = f"{s.id}_verification"
        while check_id in taken:
            check_id += "_"
        taken.add(check_id)
        days = s.committed.days if verification_days is None else verification_days
        steps_out.append(Step(
            id=check_id,
            name=f"{s.name} 事中事后核查",
            department=s.department,
            committed=Limit(days=days, unit=s.committed.unit),
            untimed=s.untimed,
            depends_on=[Dependency(step=s.id)],
            follow_up=True,
            links=1,
        ))
        log.append(Change("commitment", s.id, "committed", {
            "step": s.id, "kind": s.kind.value, "days": s.committed.days, "check": check_id,
            "check_days": days}))
        s.kind = StepKind.immediate
        s.committed = Limit(days=0)
        s.statutory = Limit(days=0) if s.statutory is not None else None
        s.untimed = []
        s.duration = None
        gone = [m for m in s.materials if m in replaced]
        if gone:
            s.materials = [m for m in s.materials if m not in replaced]
            log.append(Change("commitment", s.id, "proofs_replaced",
                              {"step": s.id, "materials": gone}))
    out.steps = steps_out
    used = {m for s in out.steps for m in s.materials}
    out.materials = [m for m in out.materials if m.id not in replaced or m.id in used]
    return checked_procedure(out, "commitment"), log


def defer_materials(proc: Procedure, steps: Sequence[str] | None = None) -> Result:
    """容缺受理: a step is accepted while non-key materials are still owed.

    A step no longer waits for an earlier step whose only contribution is a non-key
    material: a practice dependency on it is dropped; a legal one keeps the order but
    loses its lag (the time spent waiting for the material).

    >>> from process_models.catalog import load_catalog_procedure
    >>> q, log = defer_materials(load_catalog_procedure("newborn"))
    >>> log
    []
    """
    chosen = None if steps is None else set(known_steps(proc, steps, "defer_materials"))
    by_id = {m.id: m for m in proc.materials}
    out = proc.model_copy(deep=True)
    log: list[Change] = []
    for s in out.steps:
        if chosen is not None and s.id not in chosen:
            continue
        owed: dict[str, list[str]] = {}  # producing step → non-key materials owed from it
        needed_from: set[str] = set()  # producing steps of key materials: still waited for
        for m in (by_id[mid] for mid in s.materials if by_id[mid].from_step is not None):
            if m.key:
                needed_from.add(m.from_step)
            else:
                owed.setdefault(m.from_step, []).append(m.id)
        kept = []
        for d in s.depends_on:
            if d.step not in owed or d.step in needed_from:
                kept.append(d)
                continue
            values = {"pred": d.step, "succ": s.id, "materials": owed[d.step]}
            if d.kind is DependencyKind.practice:
                log.append(Change("defer_materials", f"{d.step} → {s.id}",
                                  "deferred_dependency", values))
                continue
            if d.lag is not None:
                log.append(Change("defer_materials", f"{d.step} → {s.id}", "deferred_lag",
                                  {**values, "lag": d.lag.days}))
                d = d.model_copy(update={"lag": None})
            kept.append(d)
        s.depends_on = kept
    return checked_procedure(out, "defer_materials"), log


def share_data(proc: Procedure, materials: Sequence[str] | None = None) -> Result:
    """数据共享: materials a department already holds come by data sharing, not from the applicant.

    Parameters
    ----------
    proc : Procedure
        The procedure.
    materials : sequence of str, optional
        The materials to share (default: every material with ``held_by``, including step
        outputs such as an electronic licence 电子证照).

    Examples
    --------
    >>> from process_models.catalog import load_catalog_procedure
    >>> p = load_catalog_procedure("newborn")
    >>> q, log = share_data(p)
    >>> [c.subject for c in log] == [m.id for m in p.materials if m.held_by]
    True
    """
    if materials is None:
        ids = [m.id for m in proc.materials if m.held_by is not None]
    else:
        ids = known_materials(proc, materials, "share_data")
    out = proc.model_copy(deep=True)
    log = []
    for m in out.materials:
        if m.id in ids and m.provider is not Provider.data_sharing:
            log.append(Change("share_data", m.id, "data_shared" if m.held_by
                              else "data_shared_named", {"material": m.id, "held_by": m.held_by}))
            m.provider = Provider.data_sharing
    return checked_procedure(out, "share_data"), log


def drop_materials(proc: Procedure, materials: Sequence[str]) -> Result:
    """减要件: the named materials are no longer required by any step.

    >>> from process_models.catalog import load_catalog_procedure
    >>> q, _ = drop_materials(load_catalog_procedure("newborn"), ["application_form"])
    >>> "application_form" in q.step("household_registration").materials
    False
    """
    ids = set(known_materials(proc, materials, "drop_materials"))
    out = proc.model_copy(deep=True)
    log = [Change("drop_materials", m.id, "dropped", {"material": m.id})
           for m in out.materials if m.id in ids]
    for s in out.steps:
        s.materials = [m for m in s.materials if m not in ids]
    out.materials = [m for m in out.materials if m.id not in ids]
    return checked_procedure(out, "drop_materials"), log


def one_window(proc: Procedure, *, window: str = "综合窗口") -> Result:
    """一窗受理: one comprehensive window; every applicant trip becomes one.

    >>> from process_models.catalog import load_catalog_procedure
    >>> q, _ = one_window(load_catalog_procedure("newborn"))
    >>> sum(s.trips for s in q.steps), {s.window for s in q.steps}
    (1, {'综合窗口'})
    """
    out = proc.model_copy(deep=True)
    before = sum(s.trips for s in out.steps)
    first = True
    for s in out.steps:
        s.window = window
        if s.trips:
            s.trips = 1 if first else 0
            first = False
    after = sum(s.trips for s in out.steps)
    log = [Change("one_window", window, "one_window",
                  {"before": before, "after": after, "window": window})]
    return checked_procedure(out, "one_window"), log


def online(proc: Procedure) -> Result:
    """全程网办: everything online; no trips.

    >>> from process_models.catalog import load_catalog_procedure
    >>> q, log = online(load_catalog_procedure("newborn"))
    >>> sum(s.trips for s in q.steps), log[0].values
    (0, {'before': 4})
    """
    out = proc.model_copy(deep=True)
    before = sum(s.trips for s in out.steps)
    for s in out.steps:
        s.trips = 0
    return out, [Change("online", proc.id, "online", {"before": before})]
