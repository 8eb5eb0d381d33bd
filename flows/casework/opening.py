"""Opening a case at the window: the applicant, the materials brought, acceptance.

A bad ID number is refused; missing key material leaves the case ``awaiting_supplement``;
missing non-key material is owed under 容缺受理
(:data:`~flows.casework.due_dates.DEFERRAL_WORKING_DAYS`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from flows.casework._rows import (
    CASES,
    STEP_STATE,
    STEPS,
    SUBMISSION_STATE,
    SUBMISSIONS,
    CaseRow,
    StepRow,
    Transaction,
    as_model,
    new_submission,
    next_case_id,
)
from flows.casework.advancing import start_ready_steps
from flows.casework.audit_chain import applicant_digest, definition_digest
from flows.casework.definitions import store_procedure
from flows.casework.due_dates import DEFERRAL_WORKING_DAYS, planned_due_date
from flows.casework.identity import check_credit_code, check_id_number, mask_id_number
from flows.casework.notice import check_materials, notification_list
from flows.casework.tables import (
    Case,
    CaseStatus,
    StepStatus,
    SubmissionStatus,
    aware_time,
)
from process_models.calendar import default_calendar, local_date
from process_models.errors import InvalidInput
from process_models.procedure import Procedure

__all__ = [
    "APPLICANT_KINDS",
    "Applicant",
    "open_case",
]


APPLICANT_KINDS = ("person", "enterprise")


@dataclass(frozen=True)
class Applicant:
    """Who applies: a person (name and ID number, checked by GB 11643) or an enterprise
    (``kind="enterprise"``: 企业名称 as ``name``, 统一社会信用代码 as ``id_number``, checked
    by GB 32100, and its legal representative); address and phone optional."""

    name: str
    id_number: str
    address: str | None = None
    phone: str | None = None
    kind: str = "person"
    legal_representative: str | None = None

    def checked_number(self, today) -> str:
        """The ID number or 统一社会信用代码, normalised, or :class:`InvalidInput`."""
        if self.kind not in APPLICANT_KINDS:
            raise InvalidInput(f"applicant kind '{self.kind}' is unknown; person or "
                               "enterprise", path="applicant_kind")
        if self.kind == "person":
            return check_id_number(self.id_number, today=today)
        if not (self.legal_representative or "").strip():
            raise InvalidInput("an enterprise needs its legal representative's name",
                               path="legal_representative")
        return check_credit_code(self.id_number, field="applicant_id_number")


def open_case(
    session: Session,
    proc: Procedure,
    applicant: Applicant,
    submitted: Sequence[str],
    *,
    now: datetime,
    deferral_working_days: int = DEFERRAL_WORKING_DAYS,
) -> Case:
    """Open a case at the window (一窗受理) with the materials the applicant brought.

    Missing key materials → ``awaiting_supplement`` (补正: not accepted; the missing ones
    are ``requested``). Missing non-key ones → accepted under 容缺受理, each owed
    (``deferred``) within ``deferral_working_days``. On acceptance the steps without
    dependencies start with their committed due dates.
    """
    at = aware_time(now)
    today = local_date(at)
    if not applicant.name or not applicant.name.strip():
        raise InvalidInput("applicant name is empty; give the applicant's name", path="applicant_name")
    id_number = applicant.checked_number(today)
    received = check_materials(proc, submitted, path="submitted")
    notice = notification_list(proc)
    missing_key = [i.material_id for i in notice if i.key and i.material_id not in received]
    owed = [i.material_id for i in notice if not i.key and i.material_id not in received]

    with Transaction(session) as tx:
        definition, _new = store_procedure(session, proc, now=at)
        case = CaseRow(
            id=next_case_id(tx, today), procedure_id=proc.id,
            procedure_version=proc.version, applicant_name=applicant.name.strip(),
            applicant_id_number=id_number, applicant_address=applicant.address,
            applicant_phone=applicant.phone, applicant_kind=applicant.kind,
            legal_representative=(applicant.legal_representative or "").strip() or None,
            status=CaseStatus.AWAITING_SUPPLEMENT if missing_key else CaseStatus.ACCEPTED,
            received_at=at,
            accepted_at=None, due_date=None, closed_at=None, close_reason=None, colour=None,
            version=1, changed_seq=0,
        )
        submissions = (
            [new_submission(case.id, m, SubmissionStatus.RECEIVED, received_at=at) for m in received]
            + [new_submission(case.id, m, SubmissionStatus.REQUESTED) for m in missing_key]
            + [new_submission(case.id, m, SubmissionStatus.DEFERRED) for m in owed]
        )
        steps = [
            StepRow(id=None, case_id=case.id, step_id=step.id, department_id=step.department,
                     status=StepStatus.WAITING, started_at=None, due_date=None, paused_on=None,
                     paused_working_days=0, colour=None, escalated_at=None, version=1,
                     decided_at=None, pause_reason=None, pause_counted=None)
            for step in proc.applicant_steps
        ]
        tx.audit(case.id, "case_opened", {
            "procedure_id": proc.id, "procedure_version": proc.version,
            "applicant_id_number": mask_id_number(id_number), "received": received,
            "missing": missing_key, "owed": owed,
            "applicant_digest": applicant_digest(tx.key, case),
            "procedure_digest": definition_digest(definition),
        }, at)
        if missing_key:
            tx.audit(case.id, "supplement_requested",
                     {"step_id": None, "materials": missing_key}, at)
        else:
            accept_case(tx, case, proc, submissions, steps, at, deferral_working_days)
        tx.insert(CASES, [case], [column.name for column in CASES.columns])
        tx.insert(SUBMISSIONS, submissions, ("case_id", "material_id", *SUBMISSION_STATE))
        tx.insert(STEPS, steps, ("case_id", "step_id", "department_id", *STEP_STATE))
        tx.outbox(case.id, "case_opened", {"status": case.status}, at)
    return as_model(Case, case)


def accept_case(tx: Transaction, case, proc: Procedure, submissions: Iterable, steps: list,
            at: datetime, deferral_working_days: int) -> list:
    """Accept ``case``: owed materials get their due date, the ready steps start.

    Changes the records in place; returns the steps it started (the caller writes them).
    """
    today = local_date(at)
    case.status = CaseStatus.ACCEPTED
    case.accepted_at = at
    case.version += 1
    owed_until = default_calendar().add_working_days(today, deferral_working_days)
    owed = [s for s in submissions if s.status == SubmissionStatus.DEFERRED]
    for row in owed:
        row.due_date = owed_until
    case.due_date = planned_due_date(proc, today, {})
    tx.audit(case.id, "case_accepted", {
        "due_date": case.due_date.isoformat(),
        "owed": {row.material_id: owed_until.isoformat() for row in owed},
    }, at)
    return start_ready_steps(tx, case, proc, steps, at)
