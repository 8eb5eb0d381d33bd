"""Cases: open, list (red / yellow / green), read, timeline, materials, decisions, withdraw.

Changes go through :mod:`api.case_runner` (the same flows and domain calls as
``onething case``). Applicants appear as the current role may see them
(:func:`api.models.applicant_public`); clerks see only cases with a step of their
departments and decide only those steps.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from api import case_runner
from api.deps import (
    EngineDep,
    SessionDep,
    allowed,
    check_case_visible,
    deciding_department,
    visible_case_ids,
)
from api.masking import personal_data
from api.models import (
    PROCEDURE_ID_PATTERN,
    CaseCreate,
    CasePublic,
    CasesPublic,
    CaseStepPublic,
    CaseSummary,
    CertificatePublic,
    Colour,
    DecisionCreate,
    DecisionPublic,
    MaterialsSubmit,
    SubmissionPublic,
    TimelineEvent,
    WithdrawRequest,
    applicant_public,
)
from process_models import casework
from process_models.accounts import User
from process_models.cases import (
    AuditEvent,
    Case,
    CaseStep,
    Certificate,
    Decision,
    Submission,
    local_date,
)

router = APIRouter(prefix="/cases", tags=["cases"])

CaseId = Annotated[str, Path(max_length=40, examples=["C-20250124-0001"])]
StepId = Annotated[str, Path(max_length=200, examples=["birth_certificate"])]


def _today():
    return local_date(datetime.now(UTC))


def _yellow_share() -> float:
    from process_models.settings import settings

    return settings.yellow_share


def case_public(session: Session, case: Case, user: User) -> CasePublic:
    """Everything about ``case`` as ``user`` may see it."""
    steps = session.exec(select(CaseStep).where(CaseStep.case_id == case.id)
                         .order_by(col(CaseStep.id))).all()
    today, share = _today(), _yellow_share()
    return CasePublic(
        case_id=case.id, procedure_id=case.procedure_id,
        procedure_version=case.procedure_version, status=case.status,
        colour=casework.case_colour(case, steps, today, yellow_share=share),
        applicant=applicant_public(case, personal_data(user.role)),
        received_at=case.received_at, accepted_at=case.accepted_at, due_date=case.due_date,
        closed_at=case.closed_at, close_reason=case.close_reason, version=case.version,
        steps=[CaseStepPublic(
            step_id=s.step_id, department_id=s.department_id, status=s.status,
            colour=casework.step_colour(s, today, yellow_share=share), due_date=s.due_date,
            version=s.version, started_at=s.started_at, decided_at=s.decided_at,
            paused_working_days=s.paused_working_days) for s in steps],
        materials=[SubmissionPublic.model_validate(m, from_attributes=True) for m in session.exec(
            select(Submission).where(Submission.case_id == case.id)
            .order_by(col(Submission.id)))],
        decisions=[DecisionPublic.model_validate(d, from_attributes=True) for d in session.exec(
            select(Decision).where(Decision.case_id == case.id).order_by(col(Decision.id)))],
        certificates=[CertificatePublic.model_validate(c, from_attributes=True)
                      for c in session.exec(select(Certificate)
                                            .where(Certificate.case_id == case.id)
                                            .order_by(col(Certificate.number)))],
    )


def _reloaded(engine: Engine, case_id: str, user: User) -> CasePublic:
    with Session(engine) as session:
        return case_public(session, check_case_visible(session, user, case_id), user)


@router.post("", status_code=201)
def create_case(body: CaseCreate, engine: EngineDep,
                user: Annotated[User, Depends(allowed("cases:open"))]) -> CasePublic:
    """Open a case at the window (一窗受理): missing key materials → 补正, others → 容缺."""
    case_id = case_runner.open_case(engine, body.procedure_id, body.applicant.model_dump(),
                                    body.submitted)
    return _reloaded(engine, case_id, user)


@router.get("")
def read_cases(
    session: SessionDep, user: Annotated[User, Depends(allowed("cases:read"))],
    colour: Annotated[Colour | None, Query(description="only cases of this colour")] = None,
    status: Annotated[str | None, Query(max_length=30, examples=["accepted"])] = None,
    procedure_id: Annotated[str | None, Query(pattern=PROCEDURE_ID_PATTERN)] = None,
    department_id: Annotated[str | None, Query(
        max_length=200, description="only cases with a step of this department")] = None,
    include_closed: bool = False,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> CasesPublic:
    """The case board: cases with their colour, filterable, with the count of each colour."""
    query = select(Case).order_by(col(Case.id))
    if not include_closed and status is None:
        query = query.where(col(Case.status).in_(("accepted", "awaiting_supplement")))
    if status is not None:
        query = query.where(Case.status == status)
    if procedure_id is not None:
        query = query.where(Case.procedure_id == procedure_id)
    if department_id is not None:
        query = query.where(col(Case.id).in_(
            select(CaseStep.case_id).where(CaseStep.department_id == department_id)))
    visible = visible_case_ids(user)
    if visible is not None:
        query = query.where(col(Case.id).in_(visible))
    cases = session.exec(query).all()
    steps: dict[str, list[CaseStep]] = {}
    if cases:
        for step in session.exec(select(CaseStep).where(
                col(CaseStep.case_id).in_(select(query.subquery().c.id)))):
            steps.setdefault(step.case_id, []).append(step)
    today, share, view = _today(), _yellow_share(), personal_data(user.role)
    rows = []
    for case in cases:
        case_colour = casework.case_colour(case, steps.get(case.id, []), today,
                                           yellow_share=share)
        rows.append(CaseSummary(case_id=case.id, procedure_id=case.procedure_id,
                                status=case.status, colour=case_colour,
                                applicant=applicant_public(case, view),
                                received_at=case.received_at, due_date=case.due_date))
    colours = Counter(r.colour for r in rows)
    if colour is not None:
        rows = [r for r in rows if r.colour == colour]
    return CasesPublic(data=rows[offset:offset + limit], count=len(rows),
                       colours={c: colours.get(c, 0) for c in ("red", "yellow", "green")})


@router.get("/{case_id}")
def read_case(case_id: CaseId, session: SessionDep,
              user: Annotated[User, Depends(allowed("cases:read"))]) -> CasePublic:
    """One case: status, colour, steps, materials, decisions and certificates."""
    return case_public(session, check_case_visible(session, user, case_id), user)


@router.get("/{case_id}/timeline")
def read_case_timeline(case_id: CaseId, session: SessionDep,
                       user: Annotated[User, Depends(allowed("cases:read"))]
                       ) -> list[TimelineEvent]:
    """Every audit event of a case, in order (ID numbers in them are masked)."""
    check_case_visible(session, user, case_id)
    return [TimelineEvent(seq=e.seq, kind=e.kind, at=e.at, payload=e.payload)
            for e in session.exec(select(AuditEvent).where(AuditEvent.case_id == case_id)
                                  .order_by(col(AuditEvent.seq)))]


@router.post("/{case_id}/materials")
def submit_case_materials(case_id: CaseId, body: MaterialsSubmit, session: SessionDep,
                          engine: EngineDep,
                          user: Annotated[User, Depends(allowed("cases:submit"))]) -> CasePublic:
    """Record materials brought later (补正, or items owed under 容缺受理)."""
    check_case_visible(session, user, case_id)
    case_runner.submit_materials(engine, session, case_id, body.material_ids)
    return _reloaded(engine, case_id, user)


@router.post("/{case_id}/steps/{step_id}/decision")
def decide_case_step(case_id: CaseId, step_id: StepId, body: DecisionCreate,
                     session: SessionDep, engine: EngineDep,
                     user: Annotated[User, Depends(allowed("cases:decide"))]) -> CasePublic:
    """Approve, reject (with a reason) or ask for supplements (补正) on your department's step."""
    check_case_visible(session, user, case_id)
    department_id = deciding_department(session, user, case_id, step_id)
    case_runner.decide(engine, session, case_id, step_id, body.outcome,
                       department_id=department_id, decided_by=user.username,
                       reason=body.reason, materials=body.materials,
                       expected_version=body.expected_version)
    return _reloaded(engine, case_id, user)


@router.post("/{case_id}/withdraw")
def withdraw_case(case_id: CaseId, body: WithdrawRequest, session: SessionDep,
                  engine: EngineDep,
                  user: Annotated[User, Depends(allowed("cases:withdraw"))]) -> CasePublic:
    """The applicant withdraws the case (撤回): open steps are cancelled."""
    check_case_visible(session, user, case_id)
    case_runner.withdraw_case(session, case_id, body.reason)
    return _reloaded(engine, case_id, user)
