"""The web pages: logging in, front desk, department inbox, case board, case page, planner
(the auditor's: :mod:`api.auditor_page`, :mod:`api.county_page`).

Server-rendered Jinja2 templates (``api/templates``), plain HTML forms, one stylesheet
(``api/static``); no script beyond ``window.print()``. Pages log in with the signed
session cookie (:func:`api.security.login_session`); every form carries the session's
CSRF token and every POST handler checks it first. What a role may do is
:data:`api.deps.PERMISSIONS`; the figures, case data and decisions come from the same
functions the JSON routes call (:mod:`api.routes.cases`, :mod:`api.routes.simulations`,
:mod:`api.routes.audit`), so applicants' personal data are masked exactly as in the API.

A refused or invalid form comes back to the page it was sent from with the domain's
one-line message (post/redirect/get, the message carried in the session). A form sent
after the session ended (idle too long, or logged out elsewhere) is answered with the login
page, which carries what was typed (at the desk, or a decision's reason) back to the form;
a stale CSRF token
brings the form back with what was typed, in the page's language. Error pages never show
where the service is installed (:func:`api.main.public_message`).

>>> sorted(HOME)
['admin', 'auditor', 'clerk', 'front_desk', 'planner', 'supervisor']
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote, unquote

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlmodel import Session, col, select

from api.deps import (
    EngineDep,
    PageUser,
    SessionDep,
    check_case_visible,
    deciding_department,
)
from api.i18n import (
    messages,
)
from api.models import error_status, public_message
from api.names import display_name
from api.page_kit import STATIC_DIR, is_fragment, render
from api.page_kit import back as _back
from api.page_kit import catalog_procedures as _catalog
from api.page_kit import department_names as _department_names
from api.page_kit import error_page as _error_page
from api.page_kit import flash as _flash
from api.page_kit import gate as _gate
from api.page_kit import language as _language
from api.page_kit import may as _may
from api.page_kit import page_message as _page_message
from api.page_kit import stale_form as _stale_form
from api.page_kit import to_login as _to_login
from api.security import (
    TooManyAttempts,
    authenticate,
    check_csrf,
    login_session,
    logout_session,
)
from flows import casework
from flows.casework.accounts import User, end_sessions
from flows.casework.tables import (
    CLOSED_STATUSES,
    Case,
    CaseStep,
    StepStatus,
    Submission,
    SubmissionStatus,
)
from process_models.calendar import local_date
from process_models.errors import Forbidden, InvalidInput, OnethingError
from process_models.procedure import Procedure
from process_models.reading_problems import reading_error

if TYPE_CHECKING:
    from simulations.planning.scenario import Scenario

__all__ = ["HOME", "METRICS", "TICKABLE_LEVERS", "case_action", "desk_form", "notice_of", "now",
           "one_line", "procedure_names", "router"]

router = APIRouter(include_in_schema=False)

HOME = {"front_desk": "/desk", "clerk": "/inbox", "planner": "/planner",
        "auditor": "/auditor", "supervisor": "/board", "admin": "/board"}
"""Where each role lands after logging in."""

TICKABLE_LEVERS = ("parallelise", "share_data", "defer_materials", "one_window", "online")
"""Levers that apply to a whole procedure without arguments (the planner's tick boxes)."""

METRICS = ("elapsed_working_days", "sequential_working_days", "summed_limit_days", "steps",
           "links", "materials", "trips", "departments", "windows")
MAX_SCENARIO_BYTES = 200_000


def one_line(error: ValidationError) -> InvalidInput:
    """The first problem of a form the API models refused, as the domain's one-line error."""
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return InvalidInput(f"{first['msg']} (got {first.get('input')!r})", path=where)


def now() -> datetime:
    return datetime.now(UTC)


# --- names ---------------------------------------------------------------------------------------


def procedure_names(proc: Procedure, language: str) -> dict[str, dict[str, str]]:
    """Display names of a procedure's steps, departments and materials."""
    return {"steps": {s.id: display_name(s, language) for s in proc.steps},
            "departments": {d.id: display_name(d, language) for d in proc.departments},
            "materials": {m.id: display_name(m, language) for m in proc.materials},
            "procedure": {proc.id: display_name(proc, language)}}


# --- logging in ----------------------------------------------------------------------------------


@router.get("/static/{name}")
def read_static(name: str) -> Response:
    """The stylesheet and other static files."""
    path = STATIC_DIR / name
    if name not in {p.name for p in STATIC_DIR.iterdir()}:
        return Response(status_code=404)
    return FileResponse(path, headers={"Cache-Control": "max-age=3600"})


@router.get("/")
def read_home(request: Request, user: PageUser) -> Response:
    """Each role's own page."""
    if user is None:
        return _to_login(request)
    return RedirectResponse(HOME[user.role], status_code=303)


@router.get("/login")
def read_login(request: Request, user: PageUser, next: str = "/") -> Response:
    """The login form."""
    return render(request, "login.html", user, next=next, resume="")


def _resumed(request: Request, user: User, session: Session, resume: str) -> Response | None:
    """The form whose fields came through the login page, filled in again: the desk's, or a
    decision's reason on the page it was sent from; ``None`` if none (or garbled)."""
    try:
        fields = json.loads(resume) if resume else {}
    except ValueError:
        return None
    if not isinstance(fields, dict):
        return None
    if fields.get("form") == "desk" and _may(user, "cases:open"):
        return desk_form(request, user, session, str(fields.get("procedure_id", "")), fields)
    if fields.get("form") == "decision" and _may(user, "cases:decide"):
        return _decision_again(request, user, session, fields)
    return None


def _decision_again(request: Request, user: User, session: Session,
                    fields: dict[str, Any]) -> Response | None:
    """The page a decision was sent from (the inbox or a case), its reason and ticked
    materials filled in again; ``None`` for any other page."""
    request.state.resumed = fields
    back = str(fields.get("back", ""))
    if back == "/inbox":
        return read_inbox(request, user, session)
    if back.startswith("/cases/"):
        return read_case_page(request, user, session, unquote(back.removeprefix("/cases/")))
    return None


@router.post("/login")
def login(request: Request, session: SessionDep,
          username: Annotated[str, Form(max_length=200)],
          password: Annotated[str, Form(max_length=1000)],
          csrf_token: Annotated[str, Form()] = "",
          next: Annotated[str, Form(max_length=500)] = "/",
          resume: Annotated[str, Form(max_length=20_000)] = "") -> Response:
    """Check the password (rate-limited like the API), then remember the user in the cookie;
    a form that was sent after its session ended comes back filled in."""
    strings = messages(_language(request))
    try:
        check_csrf(request, csrf_token)
    except Forbidden:
        return render(request, "login.html", None, status_code=403, next=next, resume=resume,
                      error=strings["error.csrf"])
    limiter = request.app.state.login_limiter
    address = request.client.host if request.client else "unknown"
    try:
        limiter.check(session, username, address)
    except TooManyAttempts as error:
        return render(request, "login.html", None, status_code=429, next=next, resume=resume,
                      error=f"{strings['login.too_many']} ({error.retry_after_seconds} s)")
    user = authenticate(session, username, password)
    if user is None:
        limiter.failed(session, username, address)
        return render(request, "login.html", None, status_code=401, next=next, resume=resume,
                      error=strings["login.failed"])
    limiter.succeeded(session, username, address)
    login_session(request, user)
    if resumed := _resumed(request, user, session, resume):
        return resumed
    target = next if next.startswith("/") and not next.startswith("//") and next != "/" \
        else HOME[user.role]
    return RedirectResponse(target, status_code=303)


@router.post("/logout")
def logout(request: Request, user: PageUser, session: SessionDep,
           csrf_token: Annotated[str, Form()] = "") -> Response:
    """End every session and bearer token of this account, and forget it in this browser."""
    try:
        check_csrf(request, csrf_token)
    except Forbidden:
        return _error_page(request, None, _stale_form(request))
    if user is not None:
        end_sessions(session, user.id)
    logout_session(request)
    return RedirectResponse("/login", status_code=303)


# --- front desk (its routes: api/desk_page.py) -------------------------------------------------


def notice_of(session: Session, procedure_id: str, language: str):
    proc = casework.window_procedure(procedure_id, session=session)
    return proc, casework.notification_list(proc), procedure_names(proc, language)


def desk_form(request: Request, user: User, session: Session, procedure_id: str,
              entered: dict[str, Any], error: OnethingError | None = None) -> Response:
    """The desk for ``procedure_id`` with what was ``entered`` (with ``duplicates``: open
    cases of the same applicant and item to warn about) and ``error``, if any."""
    language = _language(request)
    try:
        proc, notice, names = notice_of(session, procedure_id, language)
    except OnethingError as e:
        return _error_page(request, user, e)
    return render(request, "desk.html", user, status_code=error_status(error) if error else 200,
                  procedures=[(p.id, display_name(p, language)) for p in _catalog()], proc=proc,
                  notice=notice, names=names, entered=entered,
                  error=public_message(error) if error else None)


# --- cases -----------------------------------------------------------------------------------------


@router.get("/board")
def read_board(request: Request, user: PageUser, session: SessionDep,
               department_id: str = "", colour: str = "", closed: bool = False) -> Response:
    """Every open case in red / yellow / green, with the count of each colour; 核查 tasks."""
    from api.case_public import case_board, case_checks
    from api.window_views import step_names

    if refused := _gate(request, user, "cases:read"):
        return refused
    departments = session.exec(select(CaseStep.department_id).distinct()
                               .order_by(col(CaseStep.department_id))).all()
    board = case_board(session, user,
                       colour=colour if colour in ("red", "yellow", "green") else None,
                       department_id=department_id or None, include_closed=closed, limit=1000,
                       kept=request.app.state.board_kept)
    names = _department_names(_language(request))
    from api.supervision_page import supervision_context

    return render(request, "board.html", user, board=board, department_id=department_id,
                  **supervision_context(session, user, local_date(now()), names),
                  colour=colour, closed=closed, may_repair=_may(user, "cases:repair"),
                  checks=case_checks(session, user, department_id=department_id or None,
                                     name=lambda thing: display_name(thing, _language(request))).data,
                  departments=[(d, names.get(d, d)) for d in departments],
                  step_names=step_names(session, board.data, _language(request)),
                  procedure_names={p.id: display_name(p, _language(request)) for p in _catalog()})


@router.get("/inbox")
def read_inbox(request: Request, user: PageUser, session: SessionDep) -> Response:
    """My departments' pending steps, the earliest due first."""
    from api.masking import personal_data
    from api.models import applicant_public
    from api.window_views import approvable_steps, colour_today

    if refused := _gate(request, user, "cases:decide"):
        return refused
    query = (select(CaseStep, Case).join(Case, col(Case.id) == col(CaseStep.case_id))
             .where(col(CaseStep.status).in_((StepStatus.PENDING, StepStatus.SUPPLEMENT)))
             .order_by(col(CaseStep.due_date), col(CaseStep.case_id)))
    if user.role == "clerk":
        query = query.where(col(CaseStep.department_id).in_(user.departments))
    language, view = _language(request), personal_data(user.role)
    rows = []
    for step, case in session.exec(query).all():
        proc = casework.resolve_procedure(case.procedure_id, case.procedure_version,
                                          session=session)
        owed = session.exec(select(Submission.material_id).where(
            Submission.case_id == case.id, Submission.status != SubmissionStatus.RECEIVED))
        rows.append({"step": step, "case": case, "names": procedure_names(proc, language),
                     "applicant": applicant_public(case, view),
                     "approvable": approvable_steps(proc, user, [step], owed),
                     "colour": colour_today(step)})
    return render(request, "inbox.html", user, rows=rows,
                  department_names=_department_names(language))


@router.get("/cases/{case_id}")
def read_case_page(request: Request, user: PageUser, session: SessionDep,
                   case_id: str) -> Response:
    """One case: steps and due dates, materials (容缺, 补正), certificates, the timeline."""
    from api.case_public import visible_case
    from api.window_views import approvable_steps
    from flows.casework.views import case_timeline

    if refused := _gate(request, user, "cases:read"):
        return refused
    try:
        case = visible_case(session, user, case_id)
        timeline = case_timeline(session, case_id)
        proc = casework.resolve_procedure(case.procedure_id, case.procedure_version,
                                          session=session)
    except OnethingError as error:
        return _error_page(request, user, error)
    owed = [m.material_id for m in case.materials if m.status != SubmissionStatus.RECEIVED]
    is_open = case.status not in CLOSED_STATUSES
    return render(request, "case.html", user, case=case, timeline=timeline,
                  names=procedure_names(proc, _language(request)), owed=owed,
                  may_submit=_may(user, "cases:submit") and bool(owed),
                  may_decide=_may(user, "cases:decide"),
                  approvable=approvable_steps(proc, user, case.steps, owed),
                  may_withdraw=_may(user, "cases:withdraw") and is_open,
                  may_repair=_may(user, "cases:repair") and is_open,
                  may_commit=_may(user, "cases:open") and is_open, committable={
                      s.id for s in proc.applicant_steps if s.commitment_allowed and not s.risk},
                  stuck=casework.stuck_steps(session, [case.case_id]).get(case.case_id, []))


def case_action(request: Request, user: User | None, case_id: str, csrf_token: str,
                 action: str, form: type[BaseModel], fields: dict[str, Any],
                 call: Callable[[Any], Any], done: str, *, back: str = "") -> Response:
    """A case page's form: allowed by ``action``, CSRF checked, ``fields`` read as the API's
    ``form`` model and passed to ``call``; then back to ``back`` (default: the case) with
    ``done`` (a message key) or the one-line refusal."""
    if refused := _gate(request, user, action):
        return refused
    back = back or f"/cases/{quote(case_id)}"
    strings = messages(_language(request))
    try:
        check_csrf(request, csrf_token)
    except Forbidden:
        return _back(request, back, "error", strings["error.csrf"])
    try:
        try:
            body = form(**fields)
        except ValidationError as e:
            raise one_line(e) from None
        call(body)
    except OnethingError as error:
        return _back(request, back, "error", f"{strings['error.refused']}: {public_message(error)}")
    return _back(request, back, "ok", strings[done])


@router.post("/cases/{case_id}/withdraw")
def withdraw(request: Request, user: PageUser, session: SessionDep, engine: EngineDep,
             case_id: str, reason: Annotated[str, Form(max_length=2000)] = "",
             csrf_token: Annotated[str, Form()] = "") -> Response:
    """The applicant withdraws at the window (撤回), through the same call as the API."""
    from api import case_runner
    from api.models import WithdrawRequest

    def withdraw_case(body: WithdrawRequest) -> None:
        check_case_visible(session, user, case_id)
        case_runner.withdraw_case(session, case_id, body.reason)

    return case_action(request, user, case_id, csrf_token, "cases:withdraw", WithdrawRequest,
                        {"reason": reason}, withdraw_case, "flash.withdrawn")


@router.post("/cases/{case_id}/steps/{step_id}/commitment")
def sign_commitment(request: Request, user: PageUser, session: SessionDep, engine: EngineDep,
                    case_id: str, step_id: str, text: Annotated[str, Form(max_length=5000)] = "",
                    signed_by: Annotated[str, Form(max_length=200)] = "",
                    csrf_token: Annotated[str, Form()] = "") -> Response:
    """告知承诺 at the window, through the same call as the API."""
    from api import case_runner
    from api.models import CommitmentCreate

    def sign(body: CommitmentCreate) -> None:
        check_case_visible(session, user, case_id)
        case_runner.sign_commitment(engine, session, case_id, step_id, text=body.text,
                                    signed_by=body.signed_by, recorded_by=user.username)

    return case_action(request, user, case_id, csrf_token, "cases:open", CommitmentCreate,
                        {"text": text, "signed_by": signed_by}, sign, "flash.committed")


@router.post("/cases/{case_id}/steps/{step_id}/resume")
def resume(request: Request, user: PageUser, session: SessionDep, engine: EngineDep,
           case_id: str, step_id: str, reason: Annotated[str, Form(max_length=2000)] = "",
           csrf_token: Annotated[str, Form()] = "") -> Response:
    """An admin resumes a step paused for 补正 (the repair of a stuck case)."""
    from api import case_runner
    from api.models import ResumeRequest

    def resume_step(body: ResumeRequest) -> None:
        check_case_visible(session, user, case_id)
        case_runner.resume_step(session, case_id, step_id, user.username, body.reason)

    return case_action(request, user, case_id, csrf_token, "cases:repair", ResumeRequest,
                        {"reason": reason}, resume_step, "flash.resumed")


@router.post("/cases/{case_id}/materials")
def submit_materials(request: Request, user: PageUser, session: SessionDep, engine: EngineDep,
                     case_id: str,
                     material_ids: Annotated[list[str], Form()] = [],  # noqa: B006
                     csrf_token: Annotated[str, Form()] = "") -> Response:
    """Record materials brought later, through the same call as the API."""
    from api import case_runner
    from api.models import MaterialsSubmit

    back = f"/cases/{quote(case_id)}"
    if refused := _gate(request, user, "cases:submit", page=back):
        return refused
    try:
        check_csrf(request, csrf_token)
    except Forbidden:
        return _back(request, back, "error", messages(_language(request))["error.csrf"])
    try:
        try:
            body = MaterialsSubmit(material_ids=material_ids)
        except ValidationError as e:
            raise one_line(e) from None
        check_case_visible(session, user, case_id)
        case_runner.submit_materials(engine, session, case_id, body.material_ids)
    except OnethingError as error:
        return _back(request, back, "error", public_message(error))
    return _back(request, back, "ok", messages(_language(request))["flash.materials"])


@router.post("/cases/{case_id}/steps/{step_id}/decision")
def decide(request: Request, user: PageUser, session: SessionDep, engine: EngineDep,
           case_id: str, step_id: str,
           outcome: Annotated[str, Form(max_length=20)],
           reason: Annotated[str, Form(max_length=2000)] = "",
           materials: Annotated[list[str], Form()] = [],  # noqa: B006
           expected_version: Annotated[int | None, Form()] = None,
           back: Annotated[str, Form(max_length=500)] = "",
           csrf_token: Annotated[str, Form()] = "") -> Response:
    """Approve, reject or ask for 补正, through the same call as the API (own department only)."""
    from api import case_runner
    from api.models import DecisionCreate

    back = back or f"/cases/{quote(case_id)}"
    typed = {"form": "decision", "back": back, "case_id": case_id, "step_id": step_id,
             "reason": reason, "materials": materials}
    if refused := _gate(request, user, "cases:decide", page=back,
                        resume=typed if reason or materials else None):
        return refused
    try:
        check_csrf(request, csrf_token)
    except Forbidden:
        stale = messages(_language(request))["error.csrf"]
        _flash(request, "error", stale)
        return _decision_again(request, user, session, typed) or _back(request, back, "error",
                                                                       stale)
    try:
        try:
            body = DecisionCreate(outcome=outcome, reason=reason or None, materials=materials,
                                  expected_version=expected_version)
        except ValidationError as e:
            raise one_line(e) from None
        check_case_visible(session, user, case_id)
        case_runner.decide(engine, session, case_id, step_id, body.outcome,
                           department_id=deciding_department(session, user, case_id, step_id),
                           decided_by=user.username, reason=body.reason,
                           materials=body.materials, expected_version=body.expected_version)
    except OnethingError as error:
        strings = messages(_language(request))
        return _back(request, back, "error", f"{strings['error.refused']}: {public_message(error)}")
    return _back(request, back, "ok", messages(_language(request))["flash.decided"])


# --- planner ---------------------------------------------------------------------------------------


def _planner(request: Request, user: User, session: Session, procedure_id: str,
             levers: list[str], scenario_text: str | Scenario | None,
             finish_by: str) -> Response:
    from api.planner_page import advice, planner_context, scenario_of
    from process_models.calendar import parse_date
    from simulations.planning.scenario import Scenario

    language = _language(request)
    context: dict[str, Any] = {
        "procedures": [(p.id, display_name(p, language)) for p in _catalog()],
        "procedure_id": procedure_id, "levers": levers, "tickable": TICKABLE_LEVERS,
        "metrics": METRICS, "uploaded": scenario_text is not None, "finish_by": finish_by,
        "scenario_name": scenario_text.name if isinstance(scenario_text, Scenario) else None,
        "advice_src": f"/planner/advice?procedure_id={quote(procedure_id)}",
    }
    try:
        due = parse_date(finish_by, path="finish_by") if finish_by else None
        before = casework.resolve_procedure(procedure_id, session=session, drafts=True)
        context.update(planner_context(before, scenario_text or scenario_of(procedure_id, levers),
                                       due, language), advice=advice(before, wait=False))
    except OnethingError as error:
        return render(request, "planner.html", user, status_code=error_status(error),
                      error=_page_message(error, language), **context)
    return render(request, "planner.html", user, **context)


@router.get("/planner")
def read_planner(request: Request, user: PageUser, session: SessionDep,
                 procedure_id: str = "newborn",
                 finish_by: str = "", scenario: str = "") -> Response:
    """Choose a procedure, tick levers: before/after, where the saved days come from, the
    advisor's ranking, the Gantt chart and, with a date, the latest dates (倒排); with
    ``scenario``, a catalog reform by id (a reform task's link)."""
    from api.planner_page import catalog_reform

    if refused := _gate(request, user, "simulations:run"):
        return refused
    try:
        chosen = catalog_reform(scenario) if scenario else None
    except OnethingError as error:
        return _error_page(request, user, error)
    return _planner(request, user, session, procedure_id,
                    request.query_params.getlist("lever"), chosen, finish_by)


@router.get("/planner/advice")
def read_planner_advice(request: Request, user: PageUser, session: SessionDep,
                        procedure_id: str = "newborn") -> Response:
    """The advisor's ranking of a procedure: a fragment the planner page fetches after load
    when it was not computed yet (a page of its own without script)."""
    from api.planner_page import advice

    if refused := _gate(request, user, "simulations:run"):
        return refused
    try:
        before = casework.resolve_procedure(procedure_id, session=session, drafts=True)
        ranking = advice(before)
    except OnethingError as error:
        return _error_page(request, user, error)
    return render(request, "_advice.html" if is_fragment(request) else "planner_advice.html",
                  user, advice=ranking, procedure_id=procedure_id,
                  procedure_name=display_name(before, _language(request)))


@router.post("/planner")
async def upload_scenario(request: Request, user: PageUser, session: SessionDep,
                          procedure_id: Annotated[str, Form(max_length=200)],
                          scenario: UploadFile,
                          finish_by: Annotated[str, Form()] = "",
                          csrf_token: Annotated[str, Form()] = "") -> Response:
    """The planner on an uploaded reform scenario (YAML)."""
    from fastapi.concurrency import run_in_threadpool

    if refused := _gate(request, user, "simulations:run", page="/planner"):
        return refused
    try:
        check_csrf(request, csrf_token)
    except Forbidden:
        return _error_page(request, user, _stale_form(request))
    try:
        data = await scenario.read(MAX_SCENARIO_BYTES + 1)
        if len(data) > MAX_SCENARIO_BYTES:
            raise InvalidInput(f"the scenario is over {MAX_SCENARIO_BYTES} bytes; split it",
                               file=scenario.filename)
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return _error_page(request, user, reading_error(
            "text_not_utf8", {"byte": f"{data[e.start]:02x}", "offset": e.start},
            kind=InvalidInput, file=scenario.filename))
    except OnethingError as error:
        return _error_page(request, user, error)
    return await run_in_threadpool(_planner, request, user, session, procedure_id, [], text,
                                  finish_by)
