"""The 好差评 page for staff: the report by item, department, channel or month with GB/T
39735's indicators (an XLSX download beside it), and the open 差评 follow-ups, each with a
form for the call-back, the rectification or the department's appeal (an admin decides
appeals through ``POST /api/cases/{case_id}/rating/follow-up``).

Figures and lines come from the same functions as ``GET /api/ratings/report`` and
``GET /api/ratings/follow-ups`` (:mod:`api.rating_report`, :mod:`flows.casework.ratings`);
comments are masked as free text for roles without the full view.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from api import page_kit
from api.case_public import local_today
from api.deps import PERMISSIONS, PageUser, SessionDep, check_case_visible, visible_case_ids
from api.i18n import messages
from api.masking import free_text, personal_data
from api.rating_report import report_rows
from api.security import check_csrf
from flows.casework import ratings
from process_models.errors import Forbidden, InvalidInput, OnethingError

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

FOLLOW_UP_ACTIONS = ("call_back", "rectify", "appeal")


@router.get("/ratings")
def read_ratings(request: Request, user: PageUser, session: SessionDep,
                 group_by: str = "item") -> Response:
    """The 好差评 report and the open 差评 follow-ups."""
    from api.names import display_name

    action = "ratings:report" if user is None or user.role in PERMISSIONS["ratings:report"] \
        else "ratings:follow_up"
    if refused := page_kit.gate(request, user, action):
        return refused
    language = page_kit.language(request)
    group_by = group_by if group_by in ratings.REPORT_GROUPS else "item"
    headers, rows = (report_rows(ratings.rating_report(session, group_by), language)
                     if user.role in PERMISSIONS["ratings:report"] else ([], []))
    view = personal_data(user.role)
    lines = ([(line, free_text(line.comment, view)) for line in ratings.open_follow_ups(
        session, today=local_today(), case_ids=visible_case_ids(user))]
        if user.role in PERMISSIONS["ratings:follow_up"] else [])
    return page_kit.render(request, "ratings.html", user, group_by=group_by, groups=ratings.REPORT_GROUPS,
                  headers=headers, rows=rows, lines=lines, actions=FOLLOW_UP_ACTIONS,
                  procedure_names={p.id: display_name(p, language) for p in page_kit.catalog_procedures()})


@router.post("/ratings/{case_id}/follow-up")
def follow_up(request: Request, user: PageUser, session: SessionDep, case_id: str,
              action: Annotated[str, Form(max_length=20)] = "",
              text: Annotated[str, Form(max_length=2000)] = "",
              csrf_token: Annotated[str, Form()] = "") -> Response:
    """Record the call-back, the rectification or the appeal of a 差评."""
    if refused := page_kit.gate(request, user, "ratings:follow_up"):
        return refused
    strings = messages(page_kit.language(request))
    try:
        try:
            check_csrf(request, csrf_token)
        except Forbidden:
            raise Forbidden(strings["error.csrf"]) from None
        check_case_visible(session, user, case_id)
        record = {"call_back": lambda: ratings.call_back(
                      session, case_id, note=text, by=user.username, now=datetime.now(UTC)),
                  "rectify": lambda: ratings.rectify(
                      session, case_id, text=text, by=user.username, now=datetime.now(UTC)),
                  "appeal": lambda: ratings.appeal_rating(
                      session, case_id, reason=text, by=user.username, now=datetime.now(UTC))}
        if action not in record:
            raise InvalidInput(f"action '{action}' is not one of {', '.join(record)}",
                               path="action")
        record[action]()
    except OnethingError as error:
        return page_kit.back(request, "/ratings", "error", str(error))
    return page_kit.back(request, "/ratings", "ok", strings["rating.recorded"])
