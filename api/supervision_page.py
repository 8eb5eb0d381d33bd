"""What the board shows of 督办 (the route is in :mod:`api.pages`): the notices on red and
yellow steps with their reply dates, state and written answers, and the departments'
grades for the current quarter."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session

from api.masking import free_text, personal_data
from flows.casework.accounts import User

__all__ = ["supervision_context"]


def supervision_context(session: Session, user: User, today: date,
                        department_names: dict[str, str]) -> dict[str, Any]:
    """``notices`` (a clerk's: its departments' only; answers masked by role) and
    ``grades`` (the quarter of ``today``), departments by name."""
    from flows.casework import department_grades, supervision_notices

    data = personal_data(user.role)
    scope = list(user.departments) if user.role == "clerk" else None
    notices = [{"notice_id": n.notice_id, "case_id": n.case_id, "step_id": n.step_id,
                "department": department_names.get(n.department_id, n.department_id),
                "colour": n.colour, "reply_due_date": n.reply_due_date, "state": n.state,
                "answer": free_text(n.answer, data)}
               for n in supervision_notices(session, today=today)
               if scope is None or n.department_id in scope]
    grades = [{"department": department_names.get(g.department_id, g.department_id),
               "decided": g.decided, "on_time": g.on_time, "notices": g.notices,
               "escalated": g.escalated, "grade": g.grade}
              for g in department_grades(session, year=today.year,
                                         quarter=(today.month - 1) // 3 + 1, today=today)]
    return {"notices": notices, "grades": grades,
            "quarter": f"{today.year}Q{(today.month - 1) // 3 + 1}"}
