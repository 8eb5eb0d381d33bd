"""The pause ledger of a step's clock (行政许可法 第45条) and due dates moved by it.

A step's clock may be held for 补正 (a department's ``supplement`` decision), or for a
special procedure: 专家评审, 现场踏勘, 听证, 公示, 检验检测 or another reason
(:func:`pause_step`, ended by :func:`end_pause`). Each hold is one :class:`StepPause` row:
reason, whether its time counts in the legal limit, start and end, who. A hold that does
not count moves the step's due date by the working days it lasted (the step stays green
while held); one that counts leaves the due date where it was, so the step turns red when
it passes. :func:`recompute_due_dates` moves the due dates of open cases when the working
calendar changed (an override file added or edited), with a ``due_dates_recomputed`` event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy import select as sa_select
from sqlmodel import Session

from flows.casework._rows import (
    CASE_STATE,
    SAVE_CASES,
    SAVE_STEPS,
    STEP_STATE,
    Transaction,
    as_model,
    ensure_open,
    read_case,
    read_cases,
    read_steps,
)
from flows.casework.definitions import case_procedure
from flows.casework.due_dates import planned_due_date, ready_day, step_due
from flows.casework.tables import (
    OPEN_STATUSES,
    Case,
    PauseReason,
    StepPause,
    StepStatus,
    aware_time,
)
from process_models.calendar import default_calendar, local_date
from process_models.errors import Conflict, InvalidInput, did_you_mean

__all__ = [
    "COUNTED_BY_DEFAULT",
    "PauseView",
    "end_pause",
    "pause_step",
    "recompute_due_dates",
    "step_pauses",
]

COUNTED_BY_DEFAULT: dict[PauseReason, bool] = {
    PauseReason.SUPPLEMENT: False,
    PauseReason.EXPERT_REVIEW: False,
    PauseReason.HEARING: False,
    PauseReason.TESTING: False,
    PauseReason.PUBLICITY: False,
    PauseReason.SITE_INSPECTION: True,
    PauseReason.OTHER: True,
}
"""Whether a hold's time counts in the legal limit when the staff say nothing: 行政许可法
第45条 leaves 听证、检验、检测、检疫、鉴定和专家评审 (and 补正, 第32条) out of the limit,
and items publish 公示 as not counted; 现场踏勘 and other holds count unless the item's
own rules say otherwise (``--not-counted``)."""

PAUSES = StepPause.__table__
_OPEN_PAUSE = sa_select(PAUSES.c.id, PAUSES.c.started_on, PAUSES.c.counted).where(
    PAUSES.c.case_step_id == bindparam("case_step_id"), PAUSES.c.ended_on.is_(None))
_END_PAUSE = (update(PAUSES).where(PAUSES.c.id == bindparam("row_id"))
              .values(ended_on=bindparam("ended_on"), ended_by=bindparam("ended_by"),
                      working_days=bindparam("working_days")))
_PAUSES_OF = (sa_select(PAUSES).where(PAUSES.c.case_id.in_(bindparam("ids", expanding=True)))
              .order_by(PAUSES.c.id))


@dataclass(frozen=True)
class PauseView:
    """One hold of a step's clock as the read model shows it."""

    reason: str
    counted: bool
    started_on: date
    started_by: str
    ended_on: date | None
    ended_by: str | None
    working_days: int | None


def open_pause(tx: Transaction, step, reason: PauseReason, *, counted: bool, by: str,
               today: date) -> None:
    """Start a hold of ``step`` in the ledger (the caller has set the step's status)."""
    tx.execute(insert(PAUSES), {
        "case_id": step.case_id, "case_step_id": step.id, "step_id": step.step_id,
        "reason": reason.value, "counted": counted, "started_on": today, "started_by": by})


def close_pause(tx: Transaction, step, *, today: date, by: str) -> int:
    """End the open hold of ``step``: a hold not counted (``paused_on`` set) moves its due
    date by the working days it lasted; the working days moved."""
    moved = (max(0, default_calendar().working_days_between(step.paused_on, today))
             if step.paused_on is not None else 0)
    if moved:
        step.due_date = default_calendar().add_working_days(step.due_date, moved)
    step.paused_working_days += moved
    step.paused_on = step.pause_reason = step.pause_counted = None
    step.version += 1
    row = tx.execute(_OPEN_PAUSE, {"case_step_id": step.id}).first()
    if row is not None:
        tx.execute(_END_PAUSE, {"row_id": row.id, "ended_on": today, "ended_by": by,
                                "working_days": moved})
    return moved


def _reason(reason: str) -> PauseReason:
    """``reason`` as a :class:`PauseReason` a member of staff may start (not 补正)."""
    allowed = [r.value for r in PauseReason if r is not PauseReason.SUPPLEMENT]
    if reason == PauseReason.SUPPLEMENT:
        raise InvalidInput("补正 is asked for by the department's decision (decide ... "
                           f"supplement), not paused by hand; use one of {', '.join(allowed)}",
                           path="reason")
    if reason not in allowed:
        raise InvalidInput(f"unknown pause reason '{str(reason)[:40]}'; use one of "
                           f"{', '.join(allowed)}", path="reason",
                           suggestion=did_you_mean(str(reason), allowed))
    return PauseReason(reason)


def _the_step(tx: Transaction, case, step_id: str):
    proc = case_procedure(*case)
    proc.step(step_id)
    steps = read_steps(tx, [case[0].id])[case[0].id]
    step = next((s for s in steps if s.step_id == step_id), None)
    if step is None:
        raise Conflict(f"step '{step_id}' is not part of case {case[0].id} "
                       "(a follow-up check runs after issue)")
    return proc, steps, step


def pause_step(session: Session, case_id: str, step_id: str, reason: str, *, by: str,
               now: datetime, counted: bool | None = None) -> Case:
    """Hold the clock of the pending step ``step_id`` for ``reason`` (a :class:`PauseReason`
    value other than 补正); ``counted`` says whether the time counts in the legal limit
    (default :data:`COUNTED_BY_DEFAULT`). Recorded as a ``step_paused`` event; the step
    cannot be decided until :func:`end_pause`."""
    why = _reason(reason)
    by = (by or "").strip()
    if not by:
        raise InvalidInput("no member of staff named; say who pauses the step", path="by")
    counts = COUNTED_BY_DEFAULT[why] if counted is None else counted
    at = aware_time(now)
    today = local_date(at)
    with Transaction(session) as tx:
        case = read_case(tx, case_id)
        ensure_open(case[0], f"pause step '{step_id}'")
        _proc, _steps, step = _the_step(tx, case, step_id)
        if step.status != StepStatus.PENDING or step.pause_reason is not None:
            state = (f"already paused for {step.pause_reason}" if step.pause_reason
                     else f"'{step.status}'")
            raise Conflict(f"step '{step_id}' of case {case_id} is {state}; only a pending "
                           "step that is not paused can be paused")
        step.pause_reason, step.pause_counted = why.value, counts
        step.paused_on = None if counts else today
        step.version += 1
        open_pause(tx, step, why, counted=counts, by=by, today=today)
        tx.audit(case_id, "step_paused", {"step_id": step_id, "reason": why.value,
                                          "counted": counts, "by": by}, at)
        tx.save(SAVE_STEPS, [step], STEP_STATE)
    return as_model(Case, case[0])


def end_pause(session: Session, case_id: str, step_id: str, *, by: str, now: datetime) -> Case:
    """End the hold :func:`pause_step` started: a hold not counted moves the step's due date
    (and the case's) by the working days it lasted. Recorded as a ``pause_ended`` event.
    A step paused for 补正 resumes when its materials arrive (or by an admin's repair)."""
    by = (by or "").strip()
    if not by:
        raise InvalidInput("no member of staff named; say who ends the pause", path="by")
    at = aware_time(now)
    today = local_date(at)
    with Transaction(session) as tx:
        case = read_case(tx, case_id)
        row = case[0]
        ensure_open(row, f"end the pause of step '{step_id}'")
        proc, steps, step = _the_step(tx, case, step_id)
        if step.pause_reason is None:
            hint = ("it waits for 补正 materials (an admin resumes it with --reason)"
                    if step.status == StepStatus.SUPPLEMENT else f"it is '{step.status}'")
            raise Conflict(f"step '{step_id}' of case {case_id} is not paused: {hint}")
        reason, counted = step.pause_reason, step.pause_counted
        moved = close_pause(tx, step, today=today, by=by)
        row.due_date = planned_due_date(proc, local_date(row.accepted_at),
                                        {s.step_id: s.paused_working_days for s in steps})
        row.version += 1
        tx.audit(case_id, "pause_ended", {
            "step_id": step_id, "reason": reason, "counted": counted, "by": by,
            "paused_working_days": moved, "due_date": step.due_date.isoformat()}, at)
        tx.save(SAVE_STEPS, [step], STEP_STATE)
        tx.save(SAVE_CASES, [row], CASE_STATE)
    return as_model(Case, row)


def step_pauses(session: Session | Transaction,
                case_ids: Sequence[str]) -> dict[tuple[str, str], list[PauseView]]:
    """The pause ledger of the steps of ``case_ids``, by (case id, step id), oldest first."""
    found: dict[tuple[str, str], list[PauseView]] = {}
    if not case_ids:
        return found
    for row in session.execute(_PAUSES_OF, {"ids": list(case_ids)}):
        found.setdefault((row.case_id, row.step_id), []).append(PauseView(
            reason=row.reason, counted=row.counted, started_on=row.started_on,
            started_by=row.started_by, ended_on=row.ended_on, ended_by=row.ended_by,
            working_days=row.working_days))
    return found


def recompute_due_dates(session: Session, *, by: str, now: datetime) -> list[str]:
    """Recompute the due dates of every open case's steps on today's working calendar
    (:func:`~process_models.calendar.default_calendar`), after a calendar override file was
    added or changed: each step's start, limit and the holds not counted, counted again.
    A case whose dates moved gets a ``due_dates_recomputed`` event naming the old and new
    dates and ``by``; the ids of those cases."""
    at = aware_time(now)
    case_ids = list(session.execute(sa_select(Case.id).where(
        Case.status.in_(list(OPEN_STATUSES))).order_by(Case.id)).scalars())
    moved: list[str] = []
    with Transaction(session) as tx:
        cases = read_cases(tx, case_ids)
        steps = read_steps(tx, case_ids)
        ledger = step_pauses(tx, case_ids)
        for case_id in case_ids:
            case, definition = cases[case_id]
            if case.accepted_at is None:
                continue
            changes = _recompute_case(case, case_procedure(case, definition),
                                      steps[case_id], ledger)
            if not changes:
                continue
            moved.append(case_id)
            tx.audit(case_id, "due_dates_recomputed", {**changes, "by": by}, at)
            tx.save(SAVE_STEPS, steps[case_id], STEP_STATE)
            tx.save(SAVE_CASES, [case], CASE_STATE)
    return moved


def _recompute_case(case, proc, steps: list, ledger: dict) -> dict[str, Any]:
    """Recompute ``case``'s due dates in place; what moved (empty when nothing did)."""
    calendar = default_calendar()
    accepted = local_date(case.accepted_at)
    finished = {s.step_id: local_date(s.decided_at) for s in steps
                if s.status == StepStatus.APPROVED}
    changes: dict[str, Any] = {"steps": {}}
    for step in steps:
        if step.due_date is None or step.status not in (StepStatus.PENDING,
                                                       StepStatus.SUPPLEMENT):
            continue
        holds = ledger.get((case.id, step.step_id))
        paused = step.paused_working_days if not holds else sum(  # older 补正: no ledger
            max(0, calendar.working_days_between(p.started_on, p.ended_on))
            for p in holds if not p.counted and p.ended_on is not None)
        start = ready_day(proc, proc.step(step.step_id), finished, accepted)
        due = step_due(proc.step(step.step_id), start, paused)
        if due != step.due_date:
            changes["steps"][step.step_id] = [step.due_date.isoformat(), due.isoformat()]
            step.due_date, step.paused_working_days = due, paused
            step.version += 1
    due = planned_due_date(proc, accepted, {s.step_id: s.paused_working_days for s in steps})
    if due != case.due_date:
        changes["case"] = [case.due_date.isoformat() if case.due_date else None,
                           due.isoformat()]
        case.due_date = due
    if not changes["steps"] and "case" not in changes:
        return {}
    case.version += 1
    return changes
