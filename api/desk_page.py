"""The front desk (一窗受理): choose the item, print its 一次性告知单, open the case.

Changing the item (办理事项) reloads the desk with its own 告知单 and form at once
(``api/static/window.js``; without script, the 选择 button does the same), so the list
printed is always the chosen item's. A second open case for the same applicant and item is
opened only after a warning naming the open ones. After opening, the desk says what really
happened: 已受理 when the case was accepted, 待补正 with the 补正告知书 when key material
is missing.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session

from api import page_kit, pages
from api.deps import EngineDep, PageUser, SessionDep
from api.i18n import messages
from api.security import check_csrf
from process_models.calendar import local_date
from process_models.errors import Forbidden, OnethingError

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/desk")
def read_desk(request: Request, user: PageUser, session: SessionDep,
              procedure_id: str = "newborn") -> Response:
    """Open a case: the procedure, the applicant and the materials brought."""
    if refused := page_kit.gate(request, user, "cases:open"):
        return refused
    return pages.desk_form(request, user, session, procedure_id, {})


@router.get("/desk/notice/{procedure_id}")
def read_notice(request: Request, user: PageUser, session: SessionDep,
                procedure_id: str) -> Response:
    """The printable 一次性告知单 of a procedure."""
    if refused := page_kit.gate(request, user, "procedures:read"):
        return refused
    try:
        proc, notice, names = pages.notice_of(session, procedure_id, page_kit.language(request))
    except OnethingError as e:
        return page_kit.error_page(request, user, e)
    return page_kit.render(request, "notice.html", user, proc=proc, notice=notice, names=names,
                        today=local_date(pages.now()))


@router.post("/desk/cases")
def open_case(request: Request, user: PageUser, engine: EngineDep, session: SessionDep,
              procedure_id: Annotated[str, Form(max_length=200)],
              name: Annotated[str, Form(max_length=200)] = "",
              id_number: Annotated[str, Form(max_length=40)] = "",
              phone: Annotated[str, Form(max_length=40)] = "",
              address: Annotated[str, Form(max_length=500)] = "",
              submitted: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies it)
              confirm_duplicate: Annotated[bool, Form()] = False,
              csrf_token: Annotated[str, Form()] = "") -> Response:
    """Open the case through the same call as ``POST /api/cases``; then show it. A second
    open case for the same applicant and item needs ``confirm_duplicate``."""
    from api import case_runner
    from api.models import CaseCreate
    from api.window_views import duplicate_cases, opened_message

    entered = {"name": name, "id_number": id_number, "phone": phone, "address": address,
               "submitted": submitted}
    if refused := page_kit.gate(request, user, "cases:open",
                             page=f"/desk?procedure_id={quote(procedure_id)}",
                             resume={"form": "desk", "procedure_id": procedure_id, **entered}):
        return refused
    try:
        check_csrf(request, csrf_token)
    except Forbidden:
        return pages.desk_form(request, user, session, procedure_id, entered,
                         Forbidden(messages(page_kit.language(request))["error.csrf"]))
    try:
        try:
            body = CaseCreate(procedure_id=procedure_id, submitted=submitted, applicant={
                "name": name, "id_number": id_number, "phone": phone or None,
                "address": address or None})
        except ValidationError as e:
            raise pages.one_line(e) from None
        entered["duplicates"] = [] if confirm_duplicate else duplicate_cases(
            session, body.procedure_id, body.applicant.id_number)
        if entered["duplicates"]:
            return pages.desk_form(request, user, session, procedure_id, entered)
        case_id = case_runner.open_case(engine, body.procedure_id,
                                        body.applicant.model_dump(), body.submitted)
    except OnethingError as error:
        return pages.desk_form(request, user, session, procedure_id, entered, error)
    strings = messages(page_kit.language(request))
    with Session(engine) as fresh:          # the flow opened it on its own connection
        message = opened_message(fresh, case_id, strings)
    return page_kit.back(request, f"/cases/{case_id}", "ok", message)
