"""A department's decision on its step: approve, reject, or ask for 补正 (supplement)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import insert
from sqlmodel import Session

from flows.casework._rows import (
    CASES,
    DECIDE,
    DECISIONS,
    LAST_DECISION,
    READ_FOR_DECISION,
    READ_STEP,
    CaseRow,
    StepRow,
    Transaction,
    case_not_found,
    ensure_open,
    new_submission,
    read_steps,
    read_submissions,
    save_submissions,
)
from flows.casework.definitions import case_procedure
from flows.casework.due_dates import dependency_day
from flows.casework.notice import check_materials
from flows.casework.pauses import open_pause
from flows.casework.tables import (
    OUTCOMES,
    CaseStatus,
    Decision,
    PauseReason,
    StepStatus,
    SubmissionStatus,
    aware_time,
)
from process_models.calendar import local_date
from process_models.errors import Conflict, DecisionConflict, Forbidden, InvalidInput, did_you_mean

__all__ = [
    "decide",
]


_OUTCOME_STATUS = {"approve": StepStatus.APPROVED, "reject": StepStatus.REJECTED,
                   "supplement": StepStatus.SUPPLEMENT}


def read_for_decision(tx: Transaction, case_id: str, step_id: str):
    """In one statement: the case, its stored definition, its step ``step_id`` (``None``
    if it has none) and the ids of its materials not received yet."""
    rows = tx.execute(READ_FOR_DECISION, {"case_id": case_id, "step_id": step_id}).all()
    if not rows:
        raise case_not_found(tx, case_id)
    case_end = len(CASES.columns)
    first = rows[0]
    step = StepRow(*first[case_end + 1:-1]) if first[case_end + 1] is not None else None
    return (CaseRow(*first[:case_end]), first[case_end], step,
            [row[-1] for row in rows if row[-1] is not None])


def _decided_by_message(tx: Transaction, case, step) -> str:
    last = tx.execute(LAST_DECISION, {"case_step_id": step.id}).first()
    if last is None:
        return f"step '{step.step_id}' of case {case.id} changed (now version {step.version})"
    return (
        f"step '{step.step_id}' of case {case.id} was already decided: {last.outcome} by "
        f"{last.decided_by} ({last.department_id}) at {last.decided_at:%Y-%m-%d %H:%M} UTC"
    )


def decide(
    session: Session,
    case_id: str,
    step_id: str,
    outcome: str,
    *,
    department_id: str,
    decided_by: str,
    reason: str | None = None,
    materials: Sequence[str] = (),
    expected_version: int | None = None,
    now: datetime,
) -> Decision:
    """A department's decision on its own step: ``approve``, ``reject`` or ``supplement``.

    One transaction: a conditional update of the step (``WHERE id = ? AND version = ?
    AND status = 'pending'``; no row → :class:`DecisionConflict` naming who decided it),
    the :class:`Decision`, an audit event and an outbox row. ``reject`` and
    ``supplement`` need a ``reason``; ``supplement`` (补正) names the ``materials`` to
    bring again (at least one: else nothing could resume the step) and pauses the step's
    legal clock until they arrive.
    """
    if outcome not in OUTCOMES:
        raise InvalidInput(
            f"unknown outcome '{outcome}'; use approve, reject or supplement",
            path="outcome", suggestion=did_you_mean(outcome, OUTCOMES),
        )
    if not decided_by or not decided_by.strip():
        raise InvalidInput("decided_by is empty; name the member of staff deciding",
                           path="decided_by")
    if outcome != "approve" and not (reason and reason.strip()):
        raise InvalidInput(f"a {outcome} decision needs a reason; give one with the decision",
                           path="reason")
    if outcome == "supplement" and not materials:
        raise InvalidInput("a 补正 (supplement) request names no material; tick each material "
                           "the applicant must bring again", path="materials")
    at = aware_time(now)
    with Transaction(session) as tx:
        case, stored, step, not_received = read_for_decision(tx, case_id, step_id)
        proc = case_procedure(case, stored)
        definition = proc.step(step_id)
        proc.department(department_id)
        asked = check_materials(proc, materials, path="materials") if materials else []
        ensure_open(case, f"decide step '{step_id}'")
        if case.status == CaseStatus.AWAITING_SUPPLEMENT:
            raise Conflict(f"case {case.id} is not accepted yet (waiting for 补正 materials); "
                           f"step '{step_id}' cannot be decided")
        if definition.department != department_id:
            raise Forbidden(
                f"step '{step_id}' belongs to department '{definition.department}'; department "
                f"'{department_id}' may decide only its own steps"
            )
        if step is None:
            raise Conflict(f"step '{step_id}' is not part of case {case.id} "
                           "(a follow-up check runs after issue)")
        version = step.version if expected_version is None else expected_version
        if step.status in (StepStatus.APPROVED, StepStatus.REJECTED) or step.version != version:
            raise DecisionConflict(_decided_by_message(tx, case, step) + "; reload the case")
        if step.status == StepStatus.WAITING:
            finished = {s.step_id: date.min for s in read_steps(tx, [case.id])[case.id]
                        if s.status == StepStatus.APPROVED}
            waits = ", ".join(d.step for d in definition.depends_on
                              if dependency_day(proc, d.step, finished) is None)
            raise Conflict(f"step '{step_id}' of case {case.id} is not ready: it waits for {waits}")
        if step.status == StepStatus.SUPPLEMENT:
            raise Conflict(f"step '{step_id}' of case {case.id} is paused for 补正; it resumes "
                           "when the requested materials arrive")
        if step.status == StepStatus.CANCELLED:
            raise Conflict(f"step '{step_id}' of case {case.id} was cancelled")
        if step.pause_reason is not None:
            raise Conflict(f"step '{step_id}' of case {case.id} is paused for "
                           f"{step.pause_reason}; end the pause first (case resume)")
        if outcome == "approve":
            owed = [m for m in not_received if m in definition.materials]
            if owed:
                names = ", ".join(f"'{m}'" for m in owed)
                raise Conflict(f"step '{step_id}' of case {case.id} needs material {names} "
                               "still owed; record it with submit_materials before approving")

        moment = "paused_on" if outcome == "supplement" else "decided_at"
        result = tx.execute(DECIDE[moment], {
            "row_id": step.id, "expected": version, "status": _OUTCOME_STATUS[outcome],
            "version": version + 1, moment: local_date(at) if moment == "paused_on" else at,
        })
        if result.rowcount != 1:
            step = StepRow(*tx.execute(READ_STEP, {"row_id": step.id}).one())
            raise DecisionConflict(_decided_by_message(tx, case, step) + "; reload the case")
        decision = record_decision(tx, case.id, step.id, step_id, outcome, reason=reason,
                                   materials=asked, decided_by=decided_by.strip(),
                                   department_id=department_id, step_version=version + 1, at=at)
        if asked:
            open_pause(tx, step, PauseReason.SUPPLEMENT, counted=False,
                       by=decided_by.strip(), today=local_date(at))
            rows = read_submissions(tx, [case.id])[case.id]
            for material_id in asked:
                row = rows.setdefault(material_id,
                                      new_submission(case.id, material_id,
                                                      SubmissionStatus.REQUESTED))
                row.status, row.requested_by_step = SubmissionStatus.REQUESTED, step_id
                row.received_at = None
            save_submissions(tx, [rows[m] for m in asked])
    return decision


def record_decision(tx: Transaction, case_id: str, case_step_id: int, step_id: str,
                    outcome: str, *, reason: str | None, materials: Sequence[str],
                    decided_by: str, department_id: str, step_version: int,
                    at: datetime) -> Decision:
    """Insert a decision on a step with its ``decision`` audit event (every field, which
    :func:`~flows.casework.verify_chain` holds it to) and its outbox row."""
    values = {
        "case_id": case_id, "case_step_id": case_step_id, "step_id": step_id,
        "outcome": outcome, "reason": reason, "materials": list(materials) or None,
        "decided_by": decided_by, "department_id": department_id, "decided_at": at,
    }
    decision = Decision(id=tx.execute(insert(DECISIONS), values).inserted_primary_key[0],
                        **values)
    tx.audit(case_id, "decision", {
        "decision_id": decision.id, "step_id": step_id, "department_id": department_id,
        "outcome": outcome, "reason": reason, "materials": list(materials),
        "decided_by": decided_by, "step_version": step_version,
    }, at)
    tx.outbox(case_id, "decision",
              {"decision_id": decision.id, "step_id": step_id, "outcome": outcome}, at)
    return decision
