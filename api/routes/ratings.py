"""好差评 and the applicant's own API: one-time codes, applicant tokens, the applicant's cases,
the rating of a case, its follow-up by staff and the reports.

An applicant logs in with an ID number (or 统一社会信用代码) and an SMS code
(``POST /api/applicant/code``, then ``POST /api/applicant/token``); the token reaches only
the cases opened under that number (:func:`api.applicant_auth.own_case`). The rating is the
applicant's alone: a staff token gets 403.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field
from sqlmodel import select

from api.applicant_auth import CurrentApplicant, create_applicant_token, own_case
from api.case_public import local_today
from api.deps import SessionDep, allowed, check_allowed, check_case_visible, visible_case_ids
from api.masking import free_text, personal_data
from api.models import REPORT_MEDIA
from api.rating_report import rating_report_answer
from flows.casework import ratings
from flows.casework.accounts import User
from flows.casework.applicant_login import CODE_TTL_SECONDS, request_code, verify_code
from flows.casework.tables import Case, RatingFollowUp
from flows.casework.views import case_board

router = APIRouter(tags=["ratings"])

CaseId = Annotated[str, Path(max_length=40, examples=["C-20250124-0001"])]


class CodeRequest(BaseModel):
    """Ask for a one-time code: the applicant's number and the phone to send it to."""

    id_number: str = Field(max_length=40, examples=["11010519491231002X"],
                           description="ID number, or an enterprise's 统一社会信用代码")
    phone: str = Field(max_length=20, examples=["13812345678"])


class CodeSent(BaseModel):
    """The code is on its way and expires after this many seconds."""

    expires_in_seconds: int


class ApplicantLogin(BaseModel):
    """The number and the code received by SMS."""

    id_number: str = Field(max_length=40, examples=["11010519491231002X"])
    code: str = Field(min_length=6, max_length=6, pattern=r"^[0-9]{6}$", examples=["123456"])


class ApplicantToken(BaseModel):
    """A bearer token for the applicant's own routes."""

    access_token: str
    token_type: str = "bearer"


class ApplicantCase(BaseModel):
    """One of the applicant's own cases."""

    case_id: str
    procedure_id: str
    status: str
    colour: str
    due_date: Any = None


class RatingCreate(BaseModel):
    """好差评: 5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意 (1–2 are 差评)."""

    model_config = {"json_schema_extra": {"examples": [{"score": 2, "comment": "等待时间太长"}]}}

    score: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=500)
    channel: Literal["web", "mobile", "window", "sms", "hotline"] = "web"


class RatingPublic(BaseModel):
    """The rating recorded, and the due date of its follow-up when it is a 差评."""

    case_id: str
    score: int
    comment: str | None
    channel: str
    rated_at: datetime
    follow_up_due_date: Any = None


class FollowUpAction(BaseModel):
    """A step of a 差评's follow-up: the call-back (回访), the rectification (整改), the
    department's appeal (申诉), or an admin's decision on the appeal."""

    action: Literal["call_back", "rectify", "appeal", "decide_appeal"]
    text: str | None = Field(default=None, max_length=2000,
                             description="what was said, done, or why the appeal")
    upheld: bool | None = Field(default=None, description="decide_appeal: the appeal holds")


class FollowUpPublic(BaseModel):
    """An open 差评 follow-up (comments masked as the role sees free text)."""

    case_id: str
    procedure_id: str
    score: int
    comment: str | None
    due_date: Any
    called_back: bool
    appealed: bool
    overdue: bool


def _now() -> datetime:
    return datetime.now(UTC)


@router.post("/applicant/code", status_code=202)
def send_applicant_code(body: CodeRequest, request: Request, session: SessionDep) -> CodeSent:
    """Send a one-time login code by SMS (limited per number; expires in five minutes)."""
    request_code(session, body.id_number, body.phone, sender=request.app.state.sms_sender,
                 now=_now())
    return CodeSent(expires_in_seconds=CODE_TTL_SECONDS)


@router.post("/applicant/token")
def create_applicant_access_token(body: ApplicantLogin, request: Request,
                                  session: SessionDep) -> ApplicantToken:
    """Trade the number and its SMS code for an applicant token (the code works once)."""
    subject = verify_code(session, body.id_number, body.code, now=_now())
    return ApplicantToken(access_token=create_applicant_token(
        subject, secret_key=request.app.state.secret_key))


@router.get("/applicant/cases")
def read_applicant_cases(applicant: CurrentApplicant, session: SessionDep
                         ) -> list[ApplicantCase]:
    """The applicant's own cases, open and closed."""
    mine = select(Case.id).where(Case.applicant_id_number == applicant)
    board = case_board(session, today=local_today(), include_closed=True, case_ids=mine)
    return [ApplicantCase(case_id=line.case_id, procedure_id=line.procedure_id,
                          status=line.status, colour=line.colour, due_date=line.due_date)
            for line in board.lines]


@router.post("/cases/{case_id}/rating", status_code=201)
def rate_case(case_id: CaseId, body: RatingCreate, applicant: CurrentApplicant,
              session: SessionDep) -> RatingPublic:
    """The applicant rates the case once (好差评); a second rating is 409, a 差评 is followed up."""
    own_case(session, applicant, case_id)
    rating = ratings.rate_case(session, case_id, body.score, channel=body.channel,
                               comment=body.comment, now=_now())
    due = session.exec(select(RatingFollowUp.due_date)
                       .where(RatingFollowUp.case_id == case_id)).first()
    return RatingPublic(case_id=rating.case_id, score=rating.score, comment=rating.comment,
                        channel=rating.channel, rated_at=rating.rated_at,
                        follow_up_due_date=due)


@router.post("/cases/{case_id}/rating/follow-up", status_code=204)
def follow_up_rating(case_id: CaseId, body: FollowUpAction, session: SessionDep,
                     user: Annotated[User, Depends(allowed("ratings:follow_up"))]) -> None:
    """Record a step of a 差评's follow-up: call-back, rectification, appeal, appeal decision."""
    check_case_visible(session, user, case_id)
    now = _now()
    if body.action == "call_back":
        ratings.call_back(session, case_id, note=body.text or "", by=user.username, now=now)
    elif body.action == "rectify":
        ratings.rectify(session, case_id, text=body.text or "", by=user.username, now=now)
    elif body.action == "appeal":
        ratings.appeal_rating(session, case_id, reason=body.text or "", by=user.username,
                              now=now)
    else:
        from process_models.errors import InvalidInput

        check_allowed(user, "ratings:decide_appeal")
        if body.upheld is None:
            raise InvalidInput("decide_appeal needs upheld: true or false", path="upheld")
        ratings.decide_appeal(session, case_id, upheld=body.upheld, by=user.username, now=now)


@router.get("/ratings/follow-ups")
def read_follow_ups(session: SessionDep,
                    user: Annotated[User, Depends(allowed("ratings:follow_up"))]
                    ) -> list[FollowUpPublic]:
    """Open 差评 follow-ups, soonest due first, overdue marked."""
    view = personal_data(user.role)
    return [FollowUpPublic(**{**line.__dict__, "comment": free_text(line.comment, view)})
            for line in ratings.open_follow_ups(session, today=local_today(),
                                                case_ids=visible_case_ids(user))]


@router.get("/ratings/report", responses={200: {"content": {
    "application/json": {},
    REPORT_MEDIA["xlsx"]: {
        "schema": {"type": "string", "format": "binary"}}}}})
def read_rating_report(
    session: SessionDep, user: Annotated[User, Depends(allowed("ratings:report"))],
    group_by: Annotated[Literal["item", "department", "channel", "month"], Query()] = "item",
    report_format: Annotated[Literal["json", "xlsx"], Query(alias="format")] = "json",
    lang: Annotated[Literal["zh", "en"], Query()] = "zh",
) -> Any:
    """好差评 report by item, department, channel or month with GB/T 39735's indicators."""
    return rating_report_answer(session, group_by, report_format, lang)
