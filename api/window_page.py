"""The window's pages beside :mod:`api.pages`: search, 帮办代办, the documents 行政许可法
第32条 requires, staff accounts; and what the board, inbox and case page need to show each
case's current step and only the buttons a user may press.

- ``/search?q=`` finds cases by case number, applicant's name or (roles that see ID
  numbers in full) ID number, among the cases the user may see, masked as on the board.
- ``/cases/{case_id}/documents/receipt`` is the 受理通知书, ``…/supplement`` the 补正告知书
  with its deadline (``settings.supplement_answer_working_days``, an estimate: local rules
  set it), ``/desk/refusal`` the 不予受理通知书 the window prints when an application is
  not for it.
- ``/admin/accounts`` lists, adds, disables and enables accounts and sets a clerk's
  departments (``users:manage``: administrators).

>>> sorted(DOCUMENTS)
['receipt', 'supplement']
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError
from sqlmodel import Session

from api import page_kit, pages
from api.deps import PageUser, SessionDep, check_case_visible
from api.i18n import messages
from api.models import public_message
from api.names import display_name
from api.security import check_csrf
from api.window_views import step_names, supplement_deadline
from flows import casework
from flows.casework.accounts import User
from flows.casework.tables import SubmissionStatus
from process_models.errors import Conflict, Forbidden, OnethingError

__all__ = ["DOCUMENTS", "router"]

router = APIRouter(include_in_schema=False)

DOCUMENTS = {"receipt": "doc.receipt", "supplement": "doc.supplement"}
"""The documents of a case (行政许可法 第32条) → their title's key."""


# --- search ---------------------------------------------------------------------------------------


@router.get("/search")
def read_search(request: Request, user: PageUser, session: SessionDep, q: str = "") -> Response:
    """Cases by case number, applicant's name or ID number, as the user may see them."""
    from api.case_public import case_board
    from api.masking import personal_data

    if refused := page_kit.gate(request, user, "cases:read"):
        return refused
    language = page_kit.language(request)
    text = q.strip()[:200]
    found = case_board(session, user, include_closed=True, search=text, limit=200).data \
        if text else []
    return page_kit.render(request, "search.html", user, q=text, found=found,
                        by_id_number=personal_data(user.role) == "full",
                        step_names=step_names(session, found, language),
                        procedure_names={key[0]: name for key, name in _procedure_names(
                            session, found, language).items()})


def _procedure_names(session: Session, rows: Any, language: str) -> dict:
    return {(row.procedure_id, row.procedure_version): display_name(
        casework.resolve_procedure(row.procedure_id, row.procedure_version, session=session),
        language) for row in rows}


# --- 帮办代办 ---------------------------------------------------------------------------------------


@router.post("/cases/{case_id}/agent")
def record_agent(request: Request, user: PageUser, session: SessionDep, case_id: str,
                 agent: Annotated[str, Form(max_length=200)] = "",
                 authorisation: Annotated[str, Form(max_length=500)] = "",
                 csrf_token: Annotated[str, Form()] = "") -> Response:
    """帮办代办: a member of staff acts on the case for its applicant (recorded)."""
    from api import case_runner
    from api.models import AgentCreate

    def record(body: AgentCreate) -> None:
        check_case_visible(session, user, case_id)
        case_runner.record_agent(session, case_id, body.agent, body.authorisation,
                                 user.username)

    return pages.case_action(request, user, case_id, csrf_token, "cases:open", AgentCreate,
                                {"agent": agent, "authorisation": authorisation}, record,
                                "flash.agent")


# --- the documents of 行政许可法 第32条 ---------------------------------------------------------------


@router.get("/cases/{case_id}/documents/{kind}")
def read_document(request: Request, user: PageUser, session: SessionDep, case_id: str,
                  kind: str) -> Response:
    """受理通知书 or 补正告知书 of a case, to print and hand over."""
    from api.case_public import visible_case
    from process_models.calendar import local_date
    from process_models.settings import settings

    if refused := page_kit.gate(request, user, "cases:read"):
        return refused
    strings = messages(page_kit.language(request))
    try:
        if kind not in DOCUMENTS:
            raise Conflict(f"no document '{kind}'; there are {', '.join(DOCUMENTS)}",
                           path="kind")
        case = visible_case(session, user, case_id)
        proc = casework.resolve_procedure(case.procedure_id, case.procedure_version,
                                          session=session)
        asked = [m for m in case.materials if m.status == SubmissionStatus.REQUESTED]
        if kind == "receipt" and case.accepted_at is None:
            raise Conflict(f"case {case_id} is not accepted: it waits for 补正; print its "
                           "补正告知书", path="kind")
        if kind == "supplement" and not asked:
            raise Conflict(f"case {case_id} asks for no 补正 now; nothing to print",
                           path="kind")
    except OnethingError as error:
        return page_kit.error_page(request, user, error)
    asked_on = max([local_date(d.decided_at) for d in case.decisions
                    if d.outcome == "supplement"] or [local_date(case.received_at)])
    return page_kit.render(
        request, "document.html", user, kind=kind, title=strings[DOCUMENTS[kind]], case=case,
        names=pages.procedure_names(proc, page_kit.language(request)), asked=asked,
        asked_on=asked_on, deadline=supplement_deadline(asked_on),
        answer_days=settings.supplement_answer_working_days,
        received=[m for m in case.materials if m.status == SubmissionStatus.RECEIVED],
        owed=[m for m in case.materials if m.status == SubmissionStatus.DEFERRED])


@router.get("/desk/refusal")
def read_refusal(request: Request, user: PageUser, session: SessionDep,
                 procedure_id: str = "", name: str = "", reason: str = "") -> Response:
    """不予受理通知书: an application the window does not accept, with the reason and where
    to apply instead; the form first, then the notice to print."""
    from process_models.calendar import local_date

    if refused := page_kit.gate(request, user, "cases:open"):
        return refused
    language = page_kit.language(request)
    procedures = [(p.id, display_name(p, language)) for p in page_kit.catalog_procedures()]
    return page_kit.render(request, "refusal.html", user, procedures=procedures,
                        procedure_id=procedure_id[:200], name=name.strip()[:200],
                        reason=reason.strip()[:2000], today=local_date(pages.now()))


# --- staff accounts ------------------------------------------------------------------------------


class AccountCreate(BaseModel):
    """A new account from the accounts page."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1000)
    role: str = Field(max_length=20)
    departments: list[str] = Field(default=[], max_length=50)


def _accounts(request: Request, user: User, session: Session, *, status_code: int = 200,
              error: str | None = None, entered: dict | None = None) -> Response:
    from api.cli.users import known_departments
    from flows.casework.accounts import ROLES, list_users

    names = page_kit.department_names(page_kit.language(request))
    departments = sorted(known_departments(session))
    return page_kit.render(request, "accounts.html", user, status_code=status_code,
                        accounts=list_users(session), roles=ROLES, error=error,
                        departments=[(d, names.get(d, d)) for d in departments],
                        department_names=names, entered=entered or {})


@router.get("/admin/accounts")
def read_accounts(request: Request, user: PageUser, session: SessionDep) -> Response:
    """Staff accounts: role, departments, active or not; add one, disable, set departments."""
    if refused := page_kit.gate(request, user, "users:manage"):
        return refused
    return _accounts(request, user, session)


def _account_form(request: Request, user: User | None, csrf_token: str) -> Response | None:
    if refused := page_kit.gate(request, user, "users:manage", page="/admin/accounts"):
        return refused
    try:
        check_csrf(request, csrf_token)
    except Forbidden:
        return page_kit.back(request, "/admin/accounts", "error",
                          messages(page_kit.language(request))["error.csrf"])
    return None


@router.post("/admin/accounts")
def add_account(request: Request, user: PageUser, session: SessionDep,
                username: Annotated[str, Form(max_length=64)] = "",
                password: Annotated[str, Form(max_length=1000)] = "",
                role: Annotated[str, Form(max_length=20)] = "",
                departments: Annotated[list[str], Form()] = [],  # noqa: B006
                csrf_token: Annotated[str, Form()] = "") -> Response:
    """Add an account (the password is the administrator's to hand over)."""
    from datetime import UTC, datetime

    from api.cli.users import known_departments
    from api.security import check_new_password, hash_password
    from flows.casework.accounts import add_user

    if refused := _account_form(request, user, csrf_token):
        return refused
    try:
        body = AccountCreate(username=username, password=password, role=role,
                             departments=departments)
        check_new_password(body.password)
        add_user(session, body.username, password_hash=lambda: hash_password(body.password),
                 role=body.role, departments=body.departments,
                 known_departments=known_departments(session), now=datetime.now(UTC))
    except OnethingError as error:
        return _accounts(request, user, session, status_code=422,
                         error=public_message(error),
                         entered={"username": username, "role": role,
                                  "departments": departments})
    except ValidationError as error:
        return _accounts(request, user, session, status_code=422,
                         error=public_message(pages.one_line(error)),
                         entered={"username": username, "role": role,
                                  "departments": departments})
    strings = messages(page_kit.language(request))
    return page_kit.back(request, "/admin/accounts", "ok", f"{strings['flash.account_added']} "
                                                        f"{username}")


@router.post("/admin/accounts/{username}/active")
def set_account_active(request: Request, user: PageUser, session: SessionDep, username: str,
                       active: Annotated[bool, Form()] = False,
                       csrf_token: Annotated[str, Form()] = "") -> Response:
    """Disable an account (its sessions end at once) or enable it again."""
    from flows.casework.accounts import set_active

    if refused := _account_form(request, user, csrf_token):
        return refused
    strings = messages(page_kit.language(request))
    if not active and username == user.username:
        return page_kit.back(request, "/admin/accounts", "error", strings["accounts.not_self"])
    try:
        set_active(session, username, active)
    except OnethingError as error:
        return page_kit.back(request, "/admin/accounts", "error", public_message(error))
    done = strings["flash.account_enabled" if active else "flash.account_disabled"]
    return page_kit.back(request, "/admin/accounts", "ok", f"{done} {username}")


@router.post("/admin/accounts/{username}/departments")
def set_account_departments(request: Request, user: PageUser, session: SessionDep,
                            username: str,
                            departments: Annotated[list[str], Form()] = [],  # noqa: B006
                            csrf_token: Annotated[str, Form()] = "") -> Response:
    """Set the departments a clerk decides for."""
    from api.cli.users import known_departments
    from flows.casework.accounts import set_departments

    if refused := _account_form(request, user, csrf_token):
        return refused
    try:
        set_departments(session, username, departments[:50],
                        known_departments=known_departments(session))
    except OnethingError as error:
        return page_kit.back(request, "/admin/accounts", "error", public_message(error))
    strings = messages(page_kit.language(request))
    return page_kit.back(request, "/admin/accounts", "ok",
                      f"{strings['flash.account_departments']} {username}")
