"""督办: the notices on red and yellow steps, departments' written answers, the 督办 report
(JSON or XLSX) and departments' quarterly grades."""

from __future__ import annotations

import tempfile
from dataclasses import asdict
from datetime import date
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, Field

from api.case_public import local_today
from api.deps import SessionDep, allowed
from api.masking import free_text, personal_data
from api.models import REPORT_MEDIA
from flows.casework.accounts import User

router = APIRouter(prefix="/supervision", tags=["supervision"])

NoticeId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class NoticeAnswer(BaseModel):
    """A department's written explanation (书面说明) for a 督办 notice."""

    text: str = Field(min_length=1, max_length=4000, examples=["专家评审意见未返回，已催办"])


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


@router.get("/report", responses={200: {"content": {
    "application/json": {},
    REPORT_MEDIA["xlsx"]: {"schema": {"type": "string", "format": "binary"}}}}})
def read_supervision_report(
    session: SessionDep, user: Annotated[User, Depends(allowed("supervision:report"))],
    first: Annotated[date | None, Query(alias="from")] = None,
    last: Annotated[date | None, Query(alias="to")] = None,
    report_format: Annotated[Literal["json", "xlsx"], Query(alias="format")] = "json",
) -> Any:
    """督办 per department: notices issued (red, yellow), answered, late, escalated."""
    from flows.casework import supervision_report
    from simulations.planning.audit_report import View, write_views

    today = local_today()
    first = first or date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    last = last or today
    lines = supervision_report(session, first=first, last=last, today=today)
    if report_format == "json":
        return {"from": first, "to": last, "basis": "sourced",
                "departments": [asdict(line) for line in lines]}
    fields = list(asdict(lines[0])) if lines else ["department_id"]
    with tempfile.TemporaryDirectory() as folder:
        path = FilePath(folder) / "supervision.xlsx"
        write_views([View("督办", fields, [list(asdict(line).values()) for line in lines])],
                    path, "xlsx")
        content = path.read_bytes()
    return Response(content, media_type=REPORT_MEDIA["xlsx"], headers={
        "Content-Disposition": 'attachment; filename="supervision.xlsx"'})


@router.get("/grades")
def read_grades(session: SessionDep, user: Annotated[User, Depends(allowed("supervision:report"))],
                year: Annotated[int, Query(ge=2000, le=2100)],
                quarter: Annotated[int, Query(ge=1, le=4)]) -> list[dict[str, Any]]:
    """Each department's grade for a quarter (优秀/良好/合格/不合格; thresholds: estimate)."""
    from flows.casework import department_grades

    return [asdict(g) for g in department_grades(session, year=year, quarter=quarter,
                                                 today=local_today())]
