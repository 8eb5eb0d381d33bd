"""告知承诺 at the window: the applicant signs, the step is decided at once, the department
checks afterwards (核查), and a failed check revokes what the commitment obtained.

Per 国办发〔2020〕42号 a commitment is allowed only where the step says so
(``commitment_allowed: true``, never a high-risk item:
:func:`simulations.planning.applicant_levers.commitment_refusal`), and every promise gets a
follow-up check. The check's due date is the procedure's follow-up step for it (a
``follow_up`` step depending on the step, on its committed limit), else
``settings.commitment_check_working_days`` working days after signing.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import bindparam, insert, update
from sqlalchemy import select as sa_select
from sqlmodel import Session

from flows.casework._rows import (
    CERTIFICATES,
    COMMITMENTS,
    DECIDE,
    STEPS,
    Transaction,
    ensure_open,
    read_case,
)
from flows.casework.decisions import read_for_decision, record_decision
from flows.casework.definitions import case_procedure
from flows.casework.due_dates import step_due
from flows.casework.tables import (
    CaseStatus,
    CheckResult,
    Commitment,
    StepStatus,
    aware_time,
)
from process_models.calendar import default_calendar, local_date
from process_models.errors import Conflict, Forbidden, InvalidInput
from process_models.procedure import Procedure, Step

__all__ = [
    "COMMITMENT_TEXT_CHARS",
    "check_commitment",
    "check_due_date",
    "sign_commitment",
]

COMMITMENT_TEXT_CHARS = 5000
"""The longest commitment letter (告知承诺书) text kept."""

_READ_COMMITMENT = sa_select(*COMMITMENTS.c).where(
    COMMITMENTS.c.case_id == bindparam("case_id"), COMMITMENTS.c.step_id == bindparam("step_id"))


def _named(value: str | None, what: str, path: str, *, limit: int = 200) -> str:
    if not value or not value.strip():
        raise InvalidInput(f"{what} is empty; give it", path=path)
    if len(value.strip()) > limit:
        raise InvalidInput(f"{what} has {len(value.strip())} characters; at most {limit}",
                           path=path)
    return value.strip()


def check_due_date(proc: Procedure, step: Step, signed: date, *,
                   default_working_days: int) -> date:
    """When the 核查 of a commitment for ``step`` signed on ``signed`` is due: the committed
    limit of the procedure's follow-up step for it, else ``default_working_days``.

    >>> from datetime import date
    >>> from process_models.catalog import load_catalog_procedure
    >>> restaurant = load_catalog_procedure("restaurant")
    >>> check_due_date(restaurant, restaurant.step("food_licence"), date(2025, 1, 24),
    ...                default_working_days=20)
    datetime.date(2025, 2, 27)
    """
    on_path = {s.id for s in proc.applicant_steps}
    for follow_up in proc.steps:
        if follow_up.id not in on_path and any(d.step == step.id for d in follow_up.depends_on):
            return step_due(follow_up, signed)
    return default_calendar().add_working_days(signed, default_working_days)


def sign_commitment(
    session: Session, case_id: str, step_id: str, *, text: str, signed_by: str,
    recorded_by: str, now: datetime, check_working_days: int | None = None,
) -> Commitment:
    """The applicant signs the 告知承诺书 for ``step_id`` at the window: the step is approved
    at once and a 核查 task is created for its department (:func:`check_due_date`).

    One transaction: the step's conditional update (as :func:`~flows.casework.decide`), an
    ``approve`` decision by ``recorded_by``, the commitment with its text and time, a
    ``commitment_signed`` audit event holding the text, and an outbox row. Refused when the
    step does not allow 告知承诺, is not pending, or still needs an owed material.
    """
    from simulations.planning.applicant_levers import commitment_refusal

    text = _named(text, "the commitment letter's text", "text", limit=COMMITMENT_TEXT_CHARS)
    signed_by = _named(signed_by, "the name of the applicant signing", "signed_by")
    recorded_by = _named(recorded_by, "the member of staff recording it", "recorded_by")
    if check_working_days is None:
        from process_models.settings import settings

        check_working_days = settings.commitment_check_working_days
    at = aware_time(now)
    today = local_date(at)
    with Transaction(session) as tx:
        case, stored, step, not_received = read_for_decision(tx, case_id, step_id)
        proc = case_procedure(case, stored)
        definition = proc.step(step_id)
        ensure_open(case, f"sign a commitment for step '{step_id}'")
        refusal = commitment_refusal(definition)
        if refusal is not None:
            why = ("a high-risk item (国办发〔2020〕42号)" if definition.risk == "high"
                   else "not allowed" if refusal.reason == "not_allowed"
                   else "not marked as allowing it")
            raise Conflict(f"step '{step_id}' ({definition.name}) of case {case.id} cannot be "
                           f"decided under 告知承诺: {why}; decide it with the department")
        if case.status == CaseStatus.AWAITING_SUPPLEMENT or step is None \
                or step.status != StepStatus.PENDING:
            status = ("the case waits for 补正" if case.status == CaseStatus.AWAITING_SUPPLEMENT
                      else "it is not part of the case" if step is None
                      else f"it is '{step.status}'")
            raise Conflict(f"step '{step_id}' of case {case.id} cannot be decided now: "
                           f"{status}; a commitment is signed for a pending step")
        owed = [m for m in not_received if m in definition.materials]
        if owed:
            raise Conflict(f"step '{step_id}' of case {case.id} needs material "
                           f"{', '.join(repr(m) for m in owed)} still owed; record it first")
        result = tx.execute(DECIDE["decided_at"], {
            "row_id": step.id, "expected": step.version, "status": StepStatus.APPROVED,
            "version": step.version + 1, "decided_at": at})
        if result.rowcount != 1:
            raise Conflict(f"step '{step_id}' of case {case.id} changed meanwhile; reload the case")
        decision = record_decision(
            tx, case.id, step.id, step_id, "approve", reason="告知承诺", materials=(),
            decided_by=recorded_by, department_id=definition.department,
            step_version=step.version + 1, at=at)
        values = {
            "case_id": case.id, "step_id": step_id, "department_id": definition.department,
            "text": text, "signed_by": signed_by, "recorded_by": recorded_by, "signed_at": at,
            "check_due_date": check_due_date(proc, definition, today,
                                             default_working_days=check_working_days),
            "check_result": None, "check_reason": None, "checked_by": None,
            "checked_at": None}
        commitment_id = tx.execute(insert(COMMITMENTS), values).inserted_primary_key[0]
        tx.audit(case.id, "commitment_signed", {
            "step_id": step_id, "department_id": definition.department, "text": text,
            "signed_by": signed_by, "recorded_by": recorded_by, "decision_id": decision.id,
            "check_due_date": values["check_due_date"].isoformat()}, at)
    return Commitment(id=commitment_id, **values)


def check_commitment(
    session: Session, case_id: str, step_id: str, *, passed: bool, department_id: str,
    checked_by: str, now: datetime, reason: str | None = None,
) -> Commitment:
    """The department records the 核查 of the commitment signed for ``step_id``.

    A failed check needs a ``reason``: the step's certificates are revoked with it
    (``certificate_revoked``) and, while the case is still open, the step is rejected, which
    ends what depends on it (:func:`~flows.casework.advance_case`). Recorded once (``commitment_checked``); only by the step's department.
    """
    checked_by = _named(checked_by, "the member of staff checking", "checked_by")
    if not passed:
        reason = _named(reason, "a failed 核查's reason", "reason", limit=2000)
    at = aware_time(now)
    with Transaction(session) as tx:
        case, _definition = read_case(tx, case_id)
        row = tx.execute(_READ_COMMITMENT, {"case_id": case.id, "step_id": step_id}).first()
        if row is None:
            raise Conflict(f"no commitment was signed for step '{step_id}' of case {case.id}; "
                           "only a commitment is checked")
        if row.department_id != department_id:
            raise Forbidden(f"the 核查 of step '{step_id}' belongs to department "
                            f"'{row.department_id}', not '{department_id}'")
        if row.check_result is not None:
            raise Conflict(f"the 核查 of step '{step_id}' of case {case.id} was recorded "
                           f"already: {row.check_result} by {row.checked_by}")
        result = CheckResult.PASSED if passed else CheckResult.FAILED
        check = {"check_result": result, "check_reason": reason, "checked_by": checked_by,
                 "checked_at": at}
        tx.execute(update(COMMITMENTS).where(COMMITMENTS.c.id == row.id).values(**check))
        tx.audit(case.id, "commitment_checked", {
            "step_id": step_id, "department_id": department_id, "result": result,
            "reason": reason, "checked_by": checked_by}, at)
        if not passed:
            _revoke(tx, case, row, reason, checked_by, at)
    return Commitment(**{**row._mapping, **check})


def _revoke(tx: Transaction, case, commitment, reason: str, by: str, at: datetime) -> None:
    """What a failed check undoes: the step's certificates, or the step while the case runs."""
    why = f"核查未通过: {reason}"
    revoked = tx.execute(
        update(CERTIFICATES).where(CERTIFICATES.c.case_id == case.id,
                                   CERTIFICATES.c.step_id == commitment.step_id,
                                   CERTIFICATES.c.revoked_at.is_(None))
        .values(revoked_at=at, revoked_reason=why).returning(CERTIFICATES.c.number)
    ).scalars().all()
    if revoked:
        tx.audit(case.id, "certificate_revoked", {
            "step_id": commitment.step_id, "certificates": sorted(revoked), "reason": why,
            "by": by}, at)
    if case.status != CaseStatus.ACCEPTED:
        return
    step = tx.execute(sa_select(STEPS.c.id, STEPS.c.version).where(
        STEPS.c.case_id == case.id, STEPS.c.step_id == commitment.step_id)).one()
    tx.execute(update(STEPS).where(STEPS.c.id == step.id)
               .values(status=StepStatus.REJECTED, version=step.version + 1))
    record_decision(tx, case.id, step.id, commitment.step_id, "reject", reason=why,
                    materials=(), decided_by=by, department_id=commitment.department_id,
                    step_version=step.version + 1, at=at)
