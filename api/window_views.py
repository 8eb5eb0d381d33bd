"""What the window's pages show beside the cases themselves: the names of current steps,
the approvals a user may press, a step's colour today, duplicate cases, the deadline of a
补正告知书 and the desk's honest message after opening a case. Used by :mod:`api.pages`,
:mod:`api.desk_page` and :mod:`api.window_page`; imports none of them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session

from api.deps import PERMISSIONS
from api.names import display_name
from flows import casework
from flows.casework.accounts import User
from flows.casework.tables import OPEN_STATUSES, Case, CaseStatus, StepStatus
from process_models.procedure import Procedure

__all__ = [
    "approvable_steps",
    "colour_today",
    "duplicate_cases",
    "opened_message",
    "step_names",
    "supplement_deadline",
]


def step_names(session: Session, rows: Any, language: str) -> dict[tuple[str, str], dict]:
    """(procedure id, version) → step id → display name, for each version among ``rows``
    (board lines: ``procedure_id``, ``procedure_version``)."""
    keys = {(row.procedure_id, row.procedure_version) for row in rows}
    return {key: {s.id: display_name(s, language)
                  for s in casework.resolve_procedure(*key, session=session).steps}
            for key in keys}


def approvable_steps(proc: Procedure, user: User, steps: Any, owed: Any) -> set[str]:
    """The pending steps among ``steps`` that ``user`` may approve now: of their own
    department (or any, for an administrator) and needing no material still ``owed`` — the
    approvals the server would not refuse."""
    if user.role not in PERMISSIONS["cases:decide"]:
        return set()
    owed = set(owed)
    return {s.step_id for s in steps if s.status == StepStatus.PENDING
            and (user.role == "admin" or s.department_id in user.departments)
            and not owed & set(proc.step(s.step_id).materials)}


def colour_today(step) -> str:
    """A step's colour today (:func:`flows.casework.step_colour`), for the inbox."""
    from api.case_public import local_today
    from process_models.settings import settings

    return casework.step_colour(step, local_today(), yellow_share=settings.yellow_share)


def duplicate_cases(session: Session, procedure_id: str, id_number: str) -> list[str]:
    """The open cases of ``procedure_id`` already opened for ID number ``id_number``."""
    from sqlmodel import col, select

    return list(session.exec(select(Case.id).where(
        Case.procedure_id == procedure_id,
        Case.applicant_id_number == id_number.strip().upper(),
        col(Case.status).in_(OPEN_STATUSES)).order_by(Case.id)))


def supplement_deadline(asked_on: date) -> date:
    """The day by which the applicant brings what a 补正告知书 issued on ``asked_on`` asks
    for (``settings.supplement_answer_working_days`` working days later)."""
    from process_models.calendar import default_calendar
    from process_models.settings import settings

    return default_calendar().add_working_days(asked_on, settings.supplement_answer_working_days)


def opened_message(session: Session, case_id: str, strings: dict[str, str]) -> str:
    """What the desk says after opening ``case_id``: 已受理 only when it was accepted;
    待补正 with what is missing otherwise (never 已受理 for a case waiting for 补正)."""
    if session.get(Case, case_id).status == CaseStatus.AWAITING_SUPPLEMENT:
        return strings["flash.opened_supplement"].format(case_id=case_id)
    return strings["flash.opened_accepted"].format(case_id=case_id)

