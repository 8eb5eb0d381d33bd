"""督办: the notices on red and yellow steps, departments' written answers, the 督办 report
(JSON or XLSX) and departments' quarterly grades."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from api.case_public import local_today
from api.deps import SessionDep, allowed
from api.i18n import messages
from api.masking import free_text, personal_data
from api.routes.audit import JSON_OR_XLSX, views_download
from api.supervision_views import auto_share_view, case_names, supervision_view
from flows.casework.accounts import User

router = APIRouter(prefix="/supervision", tags=["supervision"])

NoticeId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Reporter = Annotated[User, Depends(allowed("supervision:report"))]
First = Annotated[date | None, Query(alias="from", description="first day (default: the "
                                     "quarter's first)")]
Last = Annotated[date | None, Query(alias="to", description="last day (default: today)")]
ReportFormat = Annotated[Literal["json", "xlsx"], Query(alias="format")]
Language = Annotated[Literal["zh", "en"], Query()]


class NoticeAnswer(BaseModel):
    """A department's written explanation (书面说明) for a 督办 notice."""

    text: str = Field(min_length=1, max_length=4000, examples=["专家评审意见未返回，已催办"])


def _period(first: date | None, last: date | None) -> tuple[date, date]:
    """The days a report covers: by default the quarter so far."""
    today = local_today()
    return first or date(today.year, 3 * ((today.month - 1) // 3) + 1, 1), last or today


def _scope(user: User) -> list[str] | None:
    return list(user.departments) if user.role == "clerk" else None


@router.get("/notices")
def read_notices(session: SessionDep, user: Annotated[User, Depends(allowed("supervision:read"))],
                 open_only: Annotated[bool, Query(alias="open")] = False) -> list[dict[str, Any]]:
    """督办 notices, oldest first (a clerk's: its departments' only), with their state."""
    from flows.casework import supervision_notices

    scope, data = _scope(user), personal_data(user.role)
    return [{**asdict(n), "answer": free_text(n.answer, data)}
            for n in supervision_notices(session, today=local_today(), open_only=open_only)
            if scope is None or n.department_id in scope]


@router.post("/notices/{notice_id}/answer")
def answer_notice(notice_id: NoticeId, body: NoticeAnswer, session: SessionDep,
                  user: Annotated[User, Depends(allowed("supervision:answer"))]
                  ) -> dict[str, Any]:
    """The department answers a 督办 notice in writing, once (in the audit trail)."""
    from datetime import UTC, datetime

    from flows.casework import answer_notice as answer
    from flows.casework.tables import SupervisionNotice

    notice = session.get(SupervisionNotice, notice_id)
    department = (notice.department_id if notice is not None and (
        user.role == "admin" or notice.department_id in user.departments)
        else next(iter(user.departments), ""))
    return asdict(answer(session, notice_id, body.text, by=user.username,
                         department_id=department, now=datetime.now(UTC)))


@router.get("/report", responses=JSON_OR_XLSX)
def read_supervision_report(session: SessionDep, user: Reporter, first: First = None,
                            last: Last = None, report_format: ReportFormat = "json",
                            lang: Language = "zh") -> Any:
    """督办 per department: notices issued (red, yellow), answered, late, escalated."""
    from flows.casework import supervision_report

    first, last = _period(first, last)
    lines = supervision_report(session, first=first, last=last, today=local_today())
    if report_format == "json":
        return {"from": first, "to": last, "basis": "sourced",
                "departments": [asdict(line) for line in lines]}
    title = messages(lang)["supervision.title"].format(first=first, last=last)
    return views_download([supervision_view(lines, case_names(session), lang, title=title)],
                          "supervision.xlsx", lang=lang)


@router.get("/auto-share", responses=JSON_OR_XLSX)
def read_auto_share(session: SessionDep, user: Reporter, first: First = None, last: Last = None,
                    report_format: ReportFormat = "json", lang: Language = "zh") -> Any:
    """The share of 秒批 decisions (by rule) per procedure and step, with the total."""
    from flows.casework.auto_decisions import auto_share

    first, last = _period(first, last)
    lines = auto_share(session, first=first, last=last)
    if report_format == "json":
        return {"from": first, "to": last, "basis": "sourced",
                "steps": [{**asdict(line), "share": line.share} for line in lines]}
    view = auto_share_view(lines, case_names(session), case_names(session, procedures=True),
                           lang)
    return views_download([view], "auto-share.xlsx", lang=lang)


@router.get("/grades")
def read_grades(session: SessionDep, user: Reporter,
                year: Annotated[int, Query(ge=2000, le=2100)],
                quarter: Annotated[int, Query(ge=1, le=4)]) -> list[dict[str, Any]]:
    """Each department's grade for a quarter (优秀/良好/合格/不合格; thresholds: estimate)."""
    from flows.casework import department_grades

    return [asdict(g) for g in department_grades(session, year=year, quarter=quarter,
                                                 today=local_today())]
