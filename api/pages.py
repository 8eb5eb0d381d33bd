"""The web pages: front desk, department inbox, case board, case page, planner and auditor.

Server-rendered Jinja2 templates (``api/templates``), plain HTML forms, one stylesheet
(``api/static``); no script beyond ``window.print()``. Pages log in with the signed
session cookie (:func:`api.security.login_session`); every form carries the session's
CSRF token and every POST handler checks it first. What a role may do is
:data:`api.deps.PERMISSIONS`; the figures, case data and decisions come from the same
functions the JSON routes call (:mod:`api.routes.cases`, :mod:`api.routes.simulations`,
:mod:`api.routes.audit`), so applicants' personal data are masked exactly as in the API.

A refused or invalid form comes back to the page it was sent from with the domain's
one-line message (post/redirect/get, the message carried in the session).

>>> sorted(HOME)
['admin', 'auditor', 'clerk', 'front_desk', 'planner']
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ValidationError
from sqlmodel import Session, col, select

from api.deps import PERMISSIONS, EngineDep, PageUser, SessionDep, check_allowed
from api.i18n import LANGUAGE_COOKIE, LANGUAGES, choose_language, label, messages
from api.security import (
    TooManyAttempts,
    authenticate,
    check_csrf,
    csrf_token,
    login_session,
    logout_session,
)
from flows import casework
from flows.casework.accounts import User
from flows.casework.tables import (
    CHINA_STANDARD_TIME,
    CLOSED_STATUSES,
    Case,
    CaseStep,
    local_date,
)
from process_models.errors import Forbidden, InvalidInput, OnethingError
from process_models.procedure import Procedure

__all__ = ["HOME", "STATIC_DIR", "TEMPLATES_DIR", "TICKABLE_LEVERS", "router"]

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"
templates = Jinja2Templates(directory=TEMPLATES_DIR)


def local_time(moment: datetime | None) -> str:
    """A stored UTC time as the service centre reads it (UTC+8), to the minute.

    >>> local_time(datetime(2025, 1, 24, 1, 30, tzinfo=UTC))
    '2025-01-24 09:30'
    """
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(CHINA_STANDARD_TIME).strftime("%Y-%m-%d %H:%M")


templates.env.filters["local"] = local_time

router = APIRouter(include_in_schema=False)

HOME = {"front_desk": "/desk", "clerk": "/inbox", "planner": "/planner",
        "auditor": "/auditor", "admin": "/board"}
"""Where each role lands after logging in."""

NAV = [("nav.desk", "/desk", "cases:open"), ("nav.inbox", "/inbox", "cases:decide"),
       ("nav.board", "/board", "cases:read"), ("nav.planner", "/planner", "simulations:run"),
       ("nav.auditor", "/auditor", "audit:report")]
"""(label, page, the action a role needs to see the page)."""

TICKABLE_LEVERS = ("parallelise", "share_data", "defer_materials", "one_window", "online")
"""Levers that apply to a whole procedure without arguments (the planner's tick boxes)."""

METRICS = ("elapsed_working_days", "sequential_working_days", "summed_limit_days", "steps",
           "links", "materials", "trips", "departments", "windows")
MAX_SCENARIO_BYTES = 200_000


# --- rendering ----------------------------------------------------------------------------------


def _language(request: Request) -> str:
    return choose_language(request.query_params.get("lang"), request.cookies.get(LANGUAGE_COOKIE))


def _may(user: User | None, action: str) -> bool:
    return user is not None and user.role in PERMISSIONS[action]


def render(request: Request, template: str, user: User | None, *, status_code: int = 200,
           **context: Any) -> Response:
    """``template`` in the visitor's language, with the navigation, CSRF token and message."""
    language = _language(request)
    strings = messages(language)
    other = next(x for x in LANGUAGES if x != language)
    response = templates.TemplateResponse(request, template, {
        "t": strings, "lang": language, "user": user,
        "label": lambda group, value: label(strings, group, value),
        "csrf": csrf_token(request),
        "nav": [(strings[key], href) for key, href, action in NAV if _may(user, action)],
        "switch_url": f"{request.url.path}?{request.url.include_query_params(lang=other).query}",
        "flash": request.session.pop("flash", None),
        **context,
    }, status_code=status_code)
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 24 * 3600, samesite="lax")
    return response


def _status(error: OnethingError) -> int:
    from api.main import ERROR_STATUS

    return next(code for kind, code in ERROR_STATUS if isinstance(error, kind))


def _error_page(request: Request, user: User | None, error: OnethingError) -> Response:
    return render(request, "error.html", user, status_code=_status(error), message=str(error))


def _to_login(request: Request) -> Response:
    return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)


def _gate(request: Request, user: User | None, action: str) -> Response | None:
    """A redirect to the login page, a 403 page, or ``None`` when ``user`` may do ``action``."""
    if user is None:
        return _to_login(request)
    try:
        check_allowed(user, action)
    except Forbidden as error:
        return _error_page(request, user, error)
    return None


def _flash(request: Request, kind: str, text: str) -> None:
    request.session["flash"] = {"kind": kind, "text": text}


def _back(request: Request, path: str, kind: str, text: str) -> Response:
    """Post/redirect/get: carry the message to ``path`` (a path on this site)."""
    _flash(request, kind, text)
    return RedirectResponse(path if path.startswith("/") and not path.startswith("//")
                            else "/", status_code=303)


def _one_line(error: ValidationError) -> InvalidInput:
    """The first problem of a form the API models refused, as the domain's one-line error."""
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return InvalidInput(f"{first['msg']} (got {first.get('input')!r})", path=where)


def _now() -> datetime:
    return datetime.now(UTC)


# --- names ---------------------------------------------------------------------------------------


@cache
def _catalog() -> tuple[Procedure, ...]:
    from process_models.catalog import load_catalog

    return tuple(load_catalog())


def _name(thing: Any, language: str) -> str:
    return (getattr(thing, "name_en", None) if language == "en" else None) or thing.name


def _names(proc: Procedure, language: str) -> dict[str, dict[str, str]]:
    """Display names of a procedure's steps, departments and materials."""
    return {"steps": {s.id: _name(s, language) for s in proc.steps},
            "departments": {d.id: _name(d, language) for d in proc.departments},
            "materials": {m.id: _name(m, language) for m in proc.materials},
            "procedure": {proc.id: _name(proc, language)}}


@cache
def _department_names(language: str) -> dict[str, str]:
    return {d.id: _name(d, language) for p in _catalog() for d in p.departments}


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
    return render(request, "login.html", user, next=next)


@router.post("/login")
def login(request: Request, session: SessionDep,
          username: Annotated[str, Form(max_length=200)],
          password: Annotated[str, Form(max_length=1000)],
          csrf_token: Annotated[str, Form()] = "",
          next: Annotated[str, Form(max_length=500)] = "/") -> Response:
    """Check the password (rate-limited like the API), then remember the user in the cookie."""
    try:
        check_csrf(request, csrf_token)
    except Forbidden as error:
        return _error_page(request, None, error)
    strings = messages(_language(request))
    limiter = request.app.state.login_limiter
    address = request.client.host if request.client else "unknown"
    try:
        limiter.check(username, address)
    except TooManyAttempts as error:
        return render(request, "login.html", None, status_code=429, next=next,
                      error=f"{strings['login.too_many']} ({error.retry_after_seconds} s)")
    user = authenticate(session, username, password)
    if user is None:
        limiter.failed(username, address)
        return render(request, "login.html", None, status_code=401, next=next,
                      error=strings["login.failed"])
    limiter.succeeded(username, address)
    login_session(request, user)
    target = next if next.startswith("/") and not next.startswith("//") and next != "/" \
        else HOME[user.role]
    return RedirectResponse(target, status_code=303)


@router.post("/logout")
def logout(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
    """Forget the user of this browser."""
    try:
        check_csrf(request, csrf_token)
    except Forbidden as error:
        return _error_page(request, None, error)
    logout_session(request)
    return RedirectResponse("/login", status_code=303)


# --- front desk ----------------------------------------------------------------------------------


def _notice(session: Session, procedure_id: str, language: str):
    proc = casework.resolve_procedure(procedure_id, session=session)
    return proc, casework.notification_list(proc), _names(proc, language)


@router.get("/desk")
def read_desk(request: Request, user: PageUser, session: SessionDep,
              procedure_id: str = "newborn") -> Response:
    """Open a case: the procedure, the applicant and the materials brought."""
    if refused := _gate(request, user, "cases:open"):
        return refused
    return _desk(request, user, session, procedure_id, {})


def _desk(request: Request, user: User, session: Session, procedure_id: str,
          entered: dict[str, Any], error: OnethingError | None = None) -> Response:
    language = _language(request)
    try:
        proc, notice, names = _notice(session, procedure_id, language)
    except OnethingError as e:
        return _error_page(request, user, e)
    return render(request, "desk.html", user, status_code=_status(error) if error else 200,
                  procedures=[(p.id, _name(p, language)) for p in _catalog()], proc=proc,
                  notice=notice, names=names, entered=entered,
                  error=str(error) if error else None)


@router.get("/desk/notice/{procedure_id}")
def read_notice(request: Request, user: PageUser, session: SessionDep,
                procedure_id: str) -> Response:
    """The printable 一次性告知单 of a procedure."""
    if refused := _gate(request, user, "procedures:read"):
        return refused
    try:
        proc, notice, names = _notice(session, procedure_id, _language(request))
    except OnethingError as e:
        return _error_page(request, user, e)
    return render(request, "notice.html", user, proc=proc, notice=notice, names=names,
                  today=local_date(_now()))


@router.post("/desk/cases")
def open_case(request: Request, user: PageUser, engine: EngineDep, session: SessionDep,
              procedure_id: Annotated[str, Form(max_length=200)],
              name: Annotated[str, Form(max_length=200)] = "",
              id_number: Annotated[str, Form(max_length=40)] = "",
              phone: Annotated[str, Form(max_length=40)] = "",
              address: Annotated[str, Form(max_length=500)] = "",
              submitted: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies it)
              csrf_token: Annotated[str, Form()] = "") -> Response:
    """Open the case through the same call as ``POST /api/cases``; then show it."""
    from api.models import CaseCreate
    from api.routes.cases import create_case

    if refused := _gate(request, user, "cases:open"):
        return refused
    try:
        check_csrf(request, csrf_token)
    except Forbidden as error:
        return _error_page(request, user, error)
    entered = {"name": name, "id_number": id_number, "phone": phone, "address": address,
               "submitted": submitted}
    try:
        try:
            body = CaseCreate(procedure_id=procedure_id, submitted=submitted, applicant={
                "name": name, "id_number": id_number, "phone": phone or None,
                "address": address or None})
        except ValidationError as e:
            raise _one_line(e) from None
        case = create_case(body, engine, user)
    except OnethingError as error:
        return _desk(request, user, session, procedure_id, entered, error)
    strings = messages(_language(request))
    return _back(request, f"/cases/{case.case_id}", "ok", f"{strings['flash.opened']} {case.case_id}")


# --- cases -----------------------------------------------------------------------------------------


@router.get("/board")
def read_board(request: Request, user: PageUser, session: SessionDep,
               department_id: str = "", colour: str = "", closed: bool = False) -> Response:
    """Every open case in red / yellow / green, with the count of each colour."""
    from api.routes.cases import case_board

    if refused := _gate(request, user, "cases:read"):
        return refused
    departments = session.exec(select(CaseStep.department_id).distinct()
                               .order_by(col(CaseStep.department_id))).all()
    board = case_board(session, user,
                       colour=colour if colour in ("red", "yellow", "green") else None,
                       department_id=department_id or None, include_closed=closed, limit=1000)
    names = _department_names(_language(request))
    return render(request, "board.html", user, board=board, department_id=department_id,
                  colour=colour, closed=closed, may_repair=_may(user, "cases:repair"),
                  departments=[(d, names.get(d, d)) for d in departments],
                  procedure_names={p.id: _name(p, _language(request)) for p in _catalog()})


@router.get("/inbox")
def read_inbox(request: Request, user: PageUser, session: SessionDep) -> Response:
    """My departments' pending steps, the earliest due first."""
    from api.masking import personal_data
    from api.models import applicant_public

    if refused := _gate(request, user, "cases:decide"):
        return refused
    query = (select(CaseStep, Case).join(Case, col(Case.id) == col(CaseStep.case_id))
             .where(col(CaseStep.status).in_(("pending", "supplement")))
             .order_by(col(CaseStep.due_date), col(CaseStep.case_id)))
    if user.role == "clerk":
        query = query.where(col(CaseStep.department_id).in_(user.departments))
    language, view = _language(request), personal_data(user.role)
    rows = []
    for step, case in session.exec(query).all():
        proc = casework.resolve_procedure(case.procedure_id, case.procedure_version,
                                          session=session)
        rows.append({"step": step, "case": case, "names": _names(proc, language),
                     "applicant": applicant_public(case, view)})
    return render(request, "inbox.html", user, rows=rows,
                  department_names=_department_names(language))


@router.get("/cases/{case_id}")
def read_case_page(request: Request, user: PageUser, session: SessionDep,
                   case_id: str) -> Response:
    """One case: steps and due dates, materials (容缺, 补正), certificates, the timeline."""
    from api.routes.cases import read_case_timeline, visible_case

    if refused := _gate(request, user, "cases:read"):
        return refused
    try:
        case = visible_case(session, user, case_id)
        timeline = read_case_timeline(case_id, session, user)
        proc = casework.resolve_procedure(case.procedure_id, case.procedure_version,
                                          session=session)
    except OnethingError as error:
        return _error_page(request, user, error)
    owed = [m.material_id for m in case.materials if m.status in ("deferred", "requested")]
    is_open = case.status not in CLOSED_STATUSES
    return render(request, "case.html", user, case=case, timeline=timeline,
                  names=_names(proc, _language(request)), owed=owed,
                  may_submit=_may(user, "cases:submit") and bool(owed),
                  may_decide=_may(user, "cases:decide"),
                  may_withdraw=_may(user, "cases:withdraw") and is_open,
                  may_repair=_may(user, "cases:repair") and is_open,
                  stuck=casework.stuck_steps(session, [case.case_id]).get(case.case_id, []))


def _case_action(request: Request, user: User | None, case_id: str, csrf_token: str,
                 action: str, form: type[BaseModel], fields: dict[str, Any],
                 call: Callable[[Any], Any], done: str, *, back: str = "") -> Response:
    """A case page's form: allowed by ``action``, CSRF checked, ``fields`` read as the API's
    ``form`` model and passed to ``call``; then back to ``back`` (default: the case) with
    ``done`` (a message key) or the one-line refusal."""
    if refused := _gate(request, user, action):
        return refused
    back = back or f"/cases/{quote(case_id)}"
    try:
        check_csrf(request, csrf_token)
    except Forbidden as error:
        return _error_page(request, user, error)
    strings = messages(_language(request))
    try:
        try:
            body = form(**fields)
        except ValidationError as e:
            raise _one_line(e) from None
        call(body)
    except OnethingError as error:
        return _back(request, back, "error", f"{strings['error.refused']}: {error}")
    return _back(request, back, "ok", strings[done])


@router.post("/cases/{case_id}/withdraw")
def withdraw(request: Request, user: PageUser, session: SessionDep, engine: EngineDep,
             case_id: str, reason: Annotated[str, Form(max_length=2000)] = "",
             csrf_token: Annotated[str, Form()] = "") -> Response:
    """The applicant withdraws at the window (撤回), through the same call as the API."""
    from api.models import WithdrawRequest
    from api.routes.cases import withdraw_case

    return _case_action(request, user, case_id, csrf_token, "cases:withdraw", WithdrawRequest,
                        {"reason": reason},
                        lambda body: withdraw_case(case_id, body, session, engine, user),
                        "flash.withdrawn")


@router.post("/cases/{case_id}/steps/{step_id}/resume")
def resume(request: Request, user: PageUser, session: SessionDep, engine: EngineDep,
           case_id: str, step_id: str, reason: Annotated[str, Form(max_length=2000)] = "",
           csrf_token: Annotated[str, Form()] = "") -> Response:
    """An admin resumes a step paused for 补正 (the repair of a stuck case)."""
    from api.models import ResumeRequest
    from api.routes.cases import resume_case_step

    return _case_action(request, user, case_id, csrf_token, "cases:repair", ResumeRequest,
                        {"reason": reason},
                        lambda body: resume_case_step(case_id, step_id, body, session, engine,
                                                      user),
                        "flash.resumed")


@router.post("/cases/{case_id}/materials")
def submit_materials(request: Request, user: PageUser, session: SessionDep, engine: EngineDep,
                     case_id: str,
                     material_ids: Annotated[list[str], Form()] = [],  # noqa: B006
                     csrf_token: Annotated[str, Form()] = "") -> Response:
    """Record materials brought later, through the same call as the API."""
    from api.models import MaterialsSubmit
    from api.routes.cases import submit_case_materials

    return _case_action(request, user, case_id, csrf_token, "cases:submit", MaterialsSubmit,
                        {"material_ids": material_ids},
                        lambda body: submit_case_materials(case_id, body, session, engine, user),
                        "flash.materials")


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
    from api.models import DecisionCreate
    from api.routes.cases import decide_case_step

    return _case_action(request, user, case_id, csrf_token, "cases:decide", DecisionCreate,
                        {"outcome": outcome, "reason": reason or None, "materials": materials,
                         "expected_version": expected_version},
                        lambda body: decide_case_step(case_id, step_id, body, session, engine,
                                                      user),
                        "flash.decided", back=back)


# --- planner ---------------------------------------------------------------------------------------


def _scenario_of(procedure_id: str, levers: list[str]) -> str | None:
    """A scenario applying the ticked levers in order, or ``None`` (the catalog's own).

    >>> print(_scenario_of("newborn", ["parallelise"]).strip())
    procedure: newborn
    levers:
    - lever: parallelise
    """
    import yaml

    if not levers:
        return None
    return yaml.safe_dump({"procedure": procedure_id, "levers": [{"lever": x} for x in levers]},
                          allow_unicode=True, sort_keys=False)


def _planner(request: Request, user: User, session: Session, procedure_id: str,
             levers: list[str], scenario_text: str | None) -> Response:
    from api.routes.simulations import _reformed, plain, simulate_advise
    from simulations.planning.gantt import write_gantt
    from simulations.planning.metrics import compare

    language = _language(request)
    context: dict[str, Any] = {
        "procedures": [(p.id, _name(p, language)) for p in _catalog()],
        "procedure_id": procedure_id, "levers": levers, "tickable": TICKABLE_LEVERS,
        "metrics": METRICS, "uploaded": scenario_text is not None,
    }
    try:
        before = casework.resolve_procedure(procedure_id, session=session, drafts=True)
        after, changes = _reformed(before, scenario_text or _scenario_of(procedure_id, levers))
        with tempfile.TemporaryDirectory() as folder:
            gantt = write_gantt(Path(folder) / "gantt.svg", before, after).read_text("utf-8")
        context.update(
            comparison=plain(compare(before, after).as_dict()),
            changes=[c.as_dict() for c in changes],
            advice=simulate_advise(procedure_id, session, user),
            gantt=gantt[gantt.find("<svg"):], names=_names(before, language))
    except OnethingError as error:
        return render(request, "planner.html", user, status_code=_status(error),
                      error=str(error), **context)
    return render(request, "planner.html", user, **context)


@router.get("/planner")
def read_planner(request: Request, user: PageUser, session: SessionDep,
                 procedure_id: str = "newborn") -> Response:
    """Choose a procedure, tick levers: before/after, the advisor's ranking, the Gantt chart."""
    if refused := _gate(request, user, "simulations:run"):
        return refused
    return _planner(request, user, session, procedure_id,
                    request.query_params.getlist("lever"), None)


@router.post("/planner")
async def upload_scenario(request: Request, user: PageUser, session: SessionDep,
                          procedure_id: Annotated[str, Form(max_length=200)],
                          scenario: UploadFile,
                          csrf_token: Annotated[str, Form()] = "") -> Response:
    """The planner on an uploaded reform scenario (YAML)."""
    from fastapi.concurrency import run_in_threadpool

    if refused := _gate(request, user, "simulations:run"):
        return refused
    try:
        check_csrf(request, csrf_token)
        data = await scenario.read(MAX_SCENARIO_BYTES + 1)
        if len(data) > MAX_SCENARIO_BYTES:
            raise InvalidInput(f"the scenario is over {MAX_SCENARIO_BYTES} bytes; split it",
                               file=scenario.filename)
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return _error_page(request, user, InvalidInput(
            f"not UTF-8 text (byte {e.start}); save the scenario as UTF-8",
            file=scenario.filename))
    except OnethingError as error:
        return _error_page(request, user, error)
    return await run_in_threadpool(_planner, request, user, session, procedure_id, [], text)


# --- auditor ---------------------------------------------------------------------------------------


def _overdue(session: Session, user: User):
    from api.routes.cases import case_board

    if not _may(user, "cases:read"):
        return None
    return case_board(session, user, colour="red", limit=1000).data


@router.get("/auditor")
def read_auditor(request: Request, user: PageUser, session: SessionDep) -> Response:
    """The portfolio before/after table and the overdue cases, each with a CSV download."""
    from api.routes.audit import read_audit_report

    if refused := _gate(request, user, "audit:report"):
        return refused
    return render(request, "auditor.html", user, report=read_audit_report(user, None, "json"),
                  overdue=_overdue(session, user), metrics=("elapsed_working_days", "trips",
                                                            "materials"),
                  procedure_names={p.id: _name(p, _language(request)) for p in _catalog()})


@router.get("/auditor/report.csv")
def download_report(request: Request, user: PageUser) -> Response:
    """The before/after report as CSV (the API's ``format=csv``)."""
    from api.routes.audit import read_audit_report

    if refused := _gate(request, user, "audit:report"):
        return refused
    return read_audit_report(user, None, "csv")


@router.get("/auditor/overdue.csv")
def download_overdue(request: Request, user: PageUser, session: SessionDep) -> Response:
    """The overdue cases as CSV, applicants as the role may see them."""
    if refused := _gate(request, user, "cases:read"):
        return refused
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["case_id", "procedure_id", "status", "due_date", "received_at",
                     "applicant_name", "applicant_id_number"])
    for row in _overdue(session, user) or []:
        writer.writerow([row.case_id, row.procedure_id, row.status, row.due_date,
                         row.received_at.isoformat(),
                         row.applicant.name if row.applicant else "",
                         row.applicant.id_number if row.applicant else ""])
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="overdue-cases.csv"'})
