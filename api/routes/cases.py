"""Cases: open, list (red / yellow / green), read, timeline, materials, decisions, withdraw.

Changes go through :mod:`api.case_runner` (the same flows and domain calls as
``onething case``). Applicants appear as the current role may see them
(:func:`api.models.applicant_public`); clerks see only cases with a step of their
departments and decide only those steps. Boards and case statuses are kept a moment per
process (:class:`CaseReads`) while the cases are unchanged.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy import Connection, Engine
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from api import case_runner
from api.deps import (
    EngineDep,
    SessionDep,
    allowed,
    case_scope,
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
    ResumeRequest,
    SubmissionPublic,
    TimelineEvent,
    WithdrawRequest,
    applicant_public,
)
from flows import casework
from flows.casework.accounts import User
from flows.casework.tables import (
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


_STEP_COLUMNS = (CaseStep.step_id, CaseStep.department_id, CaseStep.status, CaseStep.due_date,
                 CaseStep.version, CaseStep.started_at, CaseStep.decided_at,
                 CaseStep.paused_working_days, CaseStep.paused_on)
"""What a case's status shows of its steps, and what their colour needs."""


def _public_rows(session: Session, table, model: type[BaseModel], case_id: str, order):
    """``model`` of every row of ``table`` for the case, reading only the model's columns."""
    columns = [getattr(table, name) for name in model.model_fields]
    query = sa_select(*columns).where(table.case_id == case_id).order_by(order)
    return [model.model_validate(row, from_attributes=True) for row in session.execute(query)]


def case_public(session: Session, case: Case, user: User, today: date) -> CasePublic:
    """Everything about ``case`` as ``user`` may see it, coloured as on ``today``."""
    steps = session.execute(sa_select(*_STEP_COLUMNS).where(CaseStep.case_id == case.id)
                            .order_by(CaseStep.id)).all()
    share = _yellow_share()
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
        materials=_public_rows(session, Submission, SubmissionPublic, case.id, Submission.id),
        decisions=_public_rows(session, Decision, DecisionPublic, case.id, Decision.id),
        certificates=_public_rows(session, Certificate, CertificatePublic, case.id,
                                  Certificate.number),
    )


def visible_case(session: Session, user: User, case_id: str,
                 today: date | None = None) -> CasePublic:
    """Case ``case_id`` as ``user`` sees it on ``today`` (default: today), for
    :func:`read_case` and the pages; :class:`~process_models.errors.NotFound` when it is
    not theirs to see."""
    return case_public(session, check_case_visible(session, user, case_id), user,
                       today or _today())


def _reloaded(engine: Engine, case_id: str, user: User) -> CasePublic:
    with Session(engine) as session:
        return visible_case(session, user, case_id)


class CaseReads:
    """Case boards and case statuses computed in this process, kept as the JSON they answer
    with, by all they depend on.

    :func:`_kept` keys each answer on the cases' change marker
    (:data:`~flows.casework.audit_chain.CHANGE_MARKER`, read before the answer's rows), the
    day, the reader's personal-data view and scope, and what was asked, so an answer is
    reused only while nothing it shows can differ; and for at most :attr:`max_age_seconds`,
    so even a change made around the domain shows within that time. At most
    :attr:`max_entries` answers are kept.
    """

    max_age_seconds = 10.0
    max_entries = 1024

    def __init__(self) -> None:
        self._answers: dict[tuple, tuple[float, bytes]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple, compute: Callable[[], BaseModel]) -> bytes:
        """The JSON of the answer under ``key``, computed by ``compute`` unless a fresh one
        is kept."""
        now = time.monotonic()
        with self._lock:
            kept = self._answers.get(key)
        if kept is not None and now - kept[0] < self.max_age_seconds:
            return kept[1]
        answer = compute().model_dump_json().encode()
        with self._lock:
            if len(self._answers) >= self.max_entries:
                self._answers = {k: v for k, v in self._answers.items()
                                 if now - v[0] < self.max_age_seconds}
                if len(self._answers) >= self.max_entries:
                    self._answers.clear()
            self._answers[key] = (now, answer)
        return answer


def _kept(request: Request, user: User, asked: tuple,
          compute: Callable[[Session, date], BaseModel]) -> Response:
    """The JSON answer of ``compute(session, today)``, or the same answer kept from a request
    made while the cases, the day and what ``user`` may see were as they are now
    (:class:`CaseReads`). A kept answer goes out as it is, without being validated and
    serialised again (the route declares its model for the documentation).

    The cases' change marker is the one read with the token's account
    (:func:`~api.deps.get_current_user`), before any row of the answer: a kept answer costs
    no query of its own, a new one a session on the event loop's connection
    (:class:`~api.deps.LoopReads`).
    """
    def computed(today: date) -> BaseModel:
        def read(connection: Connection) -> BaseModel:
            with Session(bind=connection) as session:
                return compute(session, today)

        return request.app.state.loop_reads.run(read)

    today = _today()
    key = (request.state.cases_marker, today, personal_data(user.role), case_scope(user),
           *asked)
    body = request.app.state.case_reads.get(key, lambda: computed(today))
    return Response(body, media_type="application/json")


@router.post("", status_code=201)
def create_case(body: CaseCreate, engine: EngineDep,
                user: Annotated[User, Depends(allowed("cases:open"))]) -> CasePublic:
    """Open a case at the window (一窗受理): missing key materials → 补正, others → 容缺."""
    case_id = case_runner.open_case(engine, body.procedure_id, body.applicant.model_dump(),
                                    body.submitted)
    return _reloaded(engine, case_id, user)


_BOARD_COLUMNS = (Case.id, Case.procedure_id, Case.status, Case.received_at, Case.due_date,
                  Case.closed_at, Case.applicant_name, Case.applicant_id_number,
                  Case.applicant_address, Case.applicant_phone)
"""What the board shows of a case, and what its colour needs."""

_COLOUR_COLUMNS = (CaseStep.case_id, CaseStep.status, CaseStep.due_date, CaseStep.decided_at,
                   CaseStep.paused_on, CaseStep.started_at)
"""What a step's colour needs."""


def case_board(
    session: Session, user: User, *, today: date | None = None, colour: str | None = None,
    status: str | None = None, procedure_id: str | None = None,
    department_id: str | None = None, include_closed: bool = False, offset: int = 0,
    limit: int = 100,
) -> CasesPublic:
    """The case board as ``user`` sees it on ``today`` (default: today), for
    :func:`read_cases` and the pages."""
    today = today or _today()
    query = sa_select(*_BOARD_COLUMNS).order_by(Case.id)
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
    view = personal_data(user.role)
    cases = session.execute(query).all()
    steps: dict[str, list] = {}
    if cases:
        for step in session.execute(sa_select(*_COLOUR_COLUMNS).where(
                col(CaseStep.case_id).in_(sa_select(query.subquery().c.id)))):
            steps.setdefault(step.case_id, []).append(step)
    share = _yellow_share()
    stuck = casework.stuck_steps(session, [case.id for case in cases if case.id in steps])
    rows = [CaseSummary(case_id=case.id, procedure_id=case.procedure_id, status=case.status,
                        colour=casework.case_colour(case, steps.get(case.id, []), today,
                                                    yellow_share=share),
                        applicant=applicant_public(case, view),
                        received_at=case.received_at, due_date=case.due_date,
                        stuck_steps=stuck.get(case.id, []))
            for case in cases]
    colours = Counter(r.colour for r in rows)
    if colour is not None:
        rows = [r for r in rows if r.colour == colour]
    return CasesPublic(data=rows[offset:offset + limit], count=len(rows),
                       colours={c: colours.get(c, 0) for c in ("red", "yellow", "green")})


@router.get("", response_model=CasesPublic)
async def read_cases(
    request: Request, user: Annotated[User, Depends(allowed("cases:read"))],
    colour: Annotated[Colour | None, Query(description="only cases of this colour")] = None,
    status: Annotated[str | None, Query(max_length=30, examples=["accepted"])] = None,
    procedure_id: Annotated[str | None, Query(pattern=PROCEDURE_ID_PATTERN)] = None,
    department_id: Annotated[str | None, Query(
        max_length=200, description="only cases with a step of this department")] = None,
    include_closed: bool = False,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    """The case board: cases with their colour, filterable, with the count of each colour."""
    asked = {"colour": colour, "status": status, "procedure_id": procedure_id,
             "department_id": department_id, "include_closed": include_closed,
             "offset": offset, "limit": limit}
    return _kept(request, user, ("board", *asked.values()),
                 lambda session, today: case_board(session, user, today=today, **asked))


@router.get("/{case_id}", response_model=CasePublic)
async def read_case(case_id: CaseId, request: Request,
                    user: Annotated[User, Depends(allowed("cases:read"))]) -> Response:
    """One case: status, colour, steps, materials, decisions and certificates."""
    return _kept(request, user, ("case", case_id),
                 lambda session, today: visible_case(session, user, case_id, today))


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


@router.post("/{case_id}/steps/{step_id}/resume")
def resume_case_step(case_id: CaseId, step_id: StepId, body: ResumeRequest,
                     session: SessionDep, engine: EngineDep,
                     user: Annotated[User, Depends(allowed("cases:repair"))]) -> CasePublic:
    """Repair a stuck case: resume a step paused for 补正 (recorded in the audit trail)."""
    check_case_visible(session, user, case_id)
    case_runner.resume_step(session, case_id, step_id, user.username, body.reason)
    return _reloaded(engine, case_id, user)
