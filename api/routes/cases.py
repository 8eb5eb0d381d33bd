"""Cases: open, list (red / yellow / green), read, timeline, materials, decisions, withdraw;
告知承诺 signed at the window, its 核查, 容缺 promises and the open 核查 tasks.

Changes go through :mod:`api.case_runner` (the same flows and domain calls as
``onething case``). Applicants appear as the current role may see them
(:func:`api.models.applicant_public`), and so do ID and phone numbers typed into free text
(:func:`api.masking.free_text`); clerks see only cases with a step of their
departments and decide only those steps. Boards and case statuses are kept a moment per
process (:func:`_kept`) while the cases are unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy import Connection, Engine
from sqlmodel import Session

from api import case_runner
from api.case_public import case_board, case_checks, local_today, visible_case
from api.deps import (
    EngineDep,
    SessionDep,
    allowed,
    case_scope,
    check_case_visible,
    deciding_department,
)
from api.masking import free_text, personal_data
from api.models import (
    PROCEDURE_ID_PATTERN,
    AgentCreate,
    CaseCreate,
    CasePublic,
    CasesPublic,
    CheckCreate,
    CheckTasksPublic,
    Colour,
    CommitmentCreate,
    DecisionCreate,
    MaterialsSubmit,
    PromiseCreate,
    ResumeRequest,
    WithdrawRequest,
)
from flows.casework import views
from flows.casework.accounts import User
from flows.casework.views import TimelineEntry

router = APIRouter(prefix="/cases", tags=["cases"])

CaseId = Annotated[str, Path(max_length=40, examples=["C-20250124-0001"])]
StepId = Annotated[str, Path(max_length=200, examples=["birth_certificate"])]
MaterialId = Annotated[str, Path(max_length=200, examples=["lease_contract"])]


def _reloaded(engine: Engine, case_id: str, user: User, status_code: int = 200) -> Response:
    """Case ``case_id`` after a change, as ``user`` sees it: the JSON answer itself, so that
    FastAPI does not validate it again in one more worker-thread hop (the route declares
    :class:`~api.models.CasePublic` for the documentation)."""
    with Session(engine) as session:
        return Response(visible_case(session, user, case_id).model_dump_json(),
                        status_code, media_type="application/json")


BOARD_LAG_SECONDS = 0.5
"""How long a board kept by one service process may lag a change made by another account
or through another process: a board answers from up to this long ago unless the reader
has changed something through this process since."""


def _kept(request: Request, user: User, marker: int | None, asked: tuple,
          compute: Callable[[Session, date], BaseModel], lag_seconds: float = 0.0
          ) -> Response:
    """The JSON answer of ``compute(session, today)``, or the same answer kept
    (``app.state.case_reads``, a :class:`~api.kept.Kept`) from a request made while the
    day and what ``user`` may see were as they are now, and ``marker`` too, or, within
    ``lag_seconds``, made after ``user``'s last change through this process
    (``app.state.last_writes``, :class:`~api.main.WriteClock`): what a reader changed
    through a process, that process shows them at once. ``marker`` is read before the answer's rows: for a board the cases'
    :data:`~flows.casework.audit_chain.CHANGE_MARKER`, for a case its own
    :attr:`~flows.casework.tables.Case.changed_seq` (``None``: no such case, nothing kept).
    A kept answer goes out as it is, without being validated and serialised again (the
    route declares its model for the documentation).

    A kept answer costs no query beyond the markers read with the account
    (:meth:`~api.deps.LoopReads.account`), a new one a session on the event loop's
    connection (:class:`~api.deps.LoopReads`).
    """
    def computed(today: date) -> bytes:
        def read(connection: Connection) -> BaseModel:
            with Session(bind=connection) as session:
                return compute(session, today)

        return request.app.state.loop_reads.run(read).model_dump_json().encode()

    today = local_today()
    if marker is None:
        return Response(computed(today), media_type="application/json")
    answers, now = request.app.state.case_reads, time.monotonic()
    key = (today, personal_data(user.role), case_scope(user), *asked)
    kept = answers.get(key)
    if kept is not None and (kept[0] == marker or (
            now - kept[1] < lag_seconds
            and kept[1] > request.app.state.last_writes.get(user.id, 0.0))):
        return Response(kept[2], media_type="application/json")
    body = computed(today)
    answers[key] = (marker, now, body)
    return Response(body, media_type="application/json")


@router.post("", status_code=201, response_model=CasePublic)
def create_case(body: CaseCreate, engine: EngineDep,
                user: Annotated[User, Depends(allowed("cases:open"))]) -> Response:
    """Open a case at the window (一窗受理) on the reformed bundle: 补正 or 容缺 as brought."""
    case_id = case_runner.open_case(engine, body.procedure_id, body.applicant.model_dump(),
                                    body.submitted, body.version)
    return _reloaded(engine, case_id, user, 201)


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
    q: Annotated[str | None, Query(min_length=1, max_length=200, description=(
        "a case number, part of an applicant's name or (roles that see them) an ID number"),
        examples=["张三"])] = None,
) -> Response:
    """Cases with their colour, filterable, counted by colour; others' changes within 0.5 s."""
    asked = {"colour": colour, "status": status, "procedure_id": procedure_id,
             "department_id": department_id, "include_closed": include_closed,
             "offset": offset, "limit": limit, "search": q}
    return _kept(request, user, request.state.cases_marker, ("board", *asked.values()),
                 lambda session, today: case_board(session, user, today=today,
                                                   kept=request.app.state.board_kept, **asked),
                 lag_seconds=BOARD_LAG_SECONDS)


@router.get("/checks")
def read_checks(session: SessionDep, user: Annotated[User, Depends(allowed("cases:read"))],
                department_id: Annotated[str | None, Query(max_length=200)] = None
                ) -> CheckTasksPublic:
    """Open 核查 tasks of commitments signed at the window, soonest due first (red overdue)."""
    return case_checks(session, user, department_id=department_id)


@router.get("/{case_id}", response_model=CasePublic)
async def read_case(case_id: CaseId, request: Request,
                    user: Annotated[User, Depends(allowed("cases:read"))]) -> Response:
    """One case: status, colour, steps, materials, decisions and certificates."""
    return _kept(request, user, request.state.case_marker, ("case", case_id),
                 lambda session, today: visible_case(session, user, case_id, today))


@router.get("/{case_id}/timeline")
def read_case_timeline(case_id: CaseId, session: SessionDep,
                       user: Annotated[User, Depends(allowed("cases:read"))]
                       ) -> list[TimelineEntry]:
    """Every audit event of a case, in order (ID and phone numbers masked for masked roles)."""
    check_case_visible(session, user, case_id)
    view = personal_data(user.role)
    return [replace(e, payload=free_text(e.payload, view))
            for e in views.case_timeline(session, case_id)]


@router.post("/{case_id}/materials", response_model=CasePublic)
def submit_case_materials(case_id: CaseId, body: MaterialsSubmit, session: SessionDep,
                          engine: EngineDep,
                          user: Annotated[User, Depends(allowed("cases:submit"))]) -> Response:
    """Record materials brought later (补正, or items owed under 容缺受理)."""
    check_case_visible(session, user, case_id)
    case_runner.submit_materials(engine, session, case_id, body.material_ids)
    return _reloaded(engine, case_id, user)


@router.post("/{case_id}/steps/{step_id}/decision", response_model=CasePublic)
def decide_case_step(case_id: CaseId, step_id: StepId, body: DecisionCreate,
                     session: SessionDep, engine: EngineDep,
                     user: Annotated[User, Depends(allowed("cases:decide"))]) -> Response:
    """Approve, reject (with a reason) or ask for supplements (补正) on your department's step."""
    check_case_visible(session, user, case_id)
    department_id = deciding_department(session, user, case_id, step_id)
    case_runner.decide(engine, session, case_id, step_id, body.outcome,
                       department_id=department_id, decided_by=user.username,
                       reason=body.reason, materials=body.materials,
                       expected_version=body.expected_version)
    return _reloaded(engine, case_id, user)


@router.post("/{case_id}/withdraw", response_model=CasePublic)
def withdraw_case(case_id: CaseId, body: WithdrawRequest, session: SessionDep,
                  engine: EngineDep,
                  user: Annotated[User, Depends(allowed("cases:withdraw"))]) -> Response:
    """The applicant withdraws the case (撤回): open steps are cancelled."""
    check_case_visible(session, user, case_id)
    case_runner.withdraw_case(session, case_id, body.reason)
    return _reloaded(engine, case_id, user)


@router.post("/{case_id}/steps/{step_id}/resume", response_model=CasePublic)
def resume_case_step(case_id: CaseId, step_id: StepId, body: ResumeRequest,
                     session: SessionDep, engine: EngineDep,
                     user: Annotated[User, Depends(allowed("cases:repair"))]) -> Response:
    """Repair a stuck case: resume a step paused for 补正 (recorded in the audit trail)."""
    check_case_visible(session, user, case_id)
    case_runner.resume_step(session, case_id, step_id, user.username, body.reason)
    return _reloaded(engine, case_id, user)


@router.post("/{case_id}/steps/{step_id}/commitment", response_model=CasePublic)
def sign_case_commitment(case_id: CaseId, step_id: StepId, body: CommitmentCreate,
                         session: SessionDep, engine: EngineDep,
                         user: Annotated[User, Depends(allowed("cases:open"))]) -> Response:
    """告知承诺 at the window: the step is decided at once; its department gets a 核查 task."""
    check_case_visible(session, user, case_id)
    case_runner.sign_commitment(engine, session, case_id, step_id, text=body.text,
                                signed_by=body.signed_by, recorded_by=user.username)
    return _reloaded(engine, case_id, user)


@router.post("/{case_id}/steps/{step_id}/check", response_model=CasePublic)
def check_case_commitment(case_id: CaseId, step_id: StepId, body: CheckCreate,
                          session: SessionDep, engine: EngineDep,
                          user: Annotated[User, Depends(allowed("cases:decide"))]) -> Response:
    """Record your department's 核查 of a commitment; a failed one revokes the certificate."""
    check_case_visible(session, user, case_id)
    department_id = deciding_department(session, user, case_id, step_id)
    case_runner.check_commitment(engine, session, case_id, step_id,
                                 passed=body.result == "passed", department_id=department_id,
                                 checked_by=user.username, reason=body.reason)
    return _reloaded(engine, case_id, user)


@router.post("/{case_id}/materials/{material_id}/promise", response_model=CasePublic)
def promise_case_material(case_id: CaseId, material_id: MaterialId, body: PromiseCreate,
                          session: SessionDep, engine: EngineDep,
                          user: Annotated[User, Depends(allowed("cases:submit"))]) -> Response:
    """容缺: the applicant promises an owed material by a date within the rules' bounds."""
    check_case_visible(session, user, case_id)
    case_runner.promise_material(session, case_id, material_id, body.promised, user.username)
    return _reloaded(engine, case_id, user)


@router.post("/{case_id}/agent", response_model=CasePublic)
def record_case_agent(case_id: CaseId, body: AgentCreate, session: SessionDep,
                      engine: EngineDep,
                      user: Annotated[User, Depends(allowed("cases:open"))]) -> Response:
    """帮办代办: record a member of staff acting on the case for its applicant."""
    check_case_visible(session, user, case_id)
    case_runner.record_agent(session, case_id, body.agent, body.authorisation, user.username)
    return _reloaded(engine, case_id, user)
