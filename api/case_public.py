"""A case as the API and the pages show it: the read model (:mod:`flows.casework.views`)
as the current user may see it.

Clerks see only cases with a step of their departments (:func:`api.deps.visible_case_ids`);
applicants' personal data are masked by role (:func:`api.models.applicant_public`).
Routes and pages call these; neither calls the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from operator import attrgetter
from typing import Any

from sqlmodel import Session

from api.deps import case_scope, check_case_visible, visible_case_ids
from api.kept import Kept
from api.masking import free_text, personal_data
from api.models import (
    CasePublic,
    CasesPublic,
    CaseSummary,
    CheckTaskPublic,
    CheckTasksPublic,
    applicant_public,
)
from flows.casework.accounts import User
from flows.casework.materials import stuck_steps
from flows.casework.views import BoardMembers, CaseView, case_view, check_tasks
from flows.casework.views import case_board as views_board
from process_models.calendar import local_date

__all__ = ["KEPT_SECONDS", "BoardKept", "case_board", "case_checks", "case_public", "local_today", "visible_case"]


def local_today() -> date:
    """Today on the service centre's clock."""
    return local_date(datetime.now(UTC))


def case_public(view: CaseView, user: User) -> CasePublic:
    """``view`` as ``user`` may see it: the applicant masked by role, and ID and phone
    numbers typed into free text (reasons) masked for roles without the full view."""
    data = personal_data(user.role)
    fields = {name: getattr(view, name) for name in CasePublic.model_fields if name != "applicant"}
    fields["close_reason"] = free_text(view.close_reason, data)
    fields["decisions"] = [replace(d, reason=free_text(d.reason, data)) for d in view.decisions]
    fields["commitments"] = [replace(c, text=free_text(c.text, data),
                                     check_reason=free_text(c.check_reason, data))
                             for c in view.commitments]
    fields["agents"] = [a if data != "none" else replace(a, acting_for="")
                        for a in view.agents]
    return CasePublic.model_validate(
        {**fields, "applicant": applicant_public(view, data)}, from_attributes=True)


def visible_case(session: Session, user: User, case_id: str,
                 today: date | None = None) -> CasePublic:
    """Case ``case_id`` as ``user`` sees it on ``today`` (default: today), for
    :func:`api.routes.cases.read_case` and the pages; :class:`~process_models.errors.NotFound`
    when it is not theirs to see."""
    check_case_visible(session, user, case_id)
    return case_public(case_view(session, case_id, today=today or local_today()), user)


@dataclass(frozen=True)
class BoardKept:
    """What a service keeps of its boards (:func:`case_board`): the lines by case, change
    marker and day (:func:`flows.casework.views.case_board`), each line's summary by the
    line and the reader's personal-data view, and each board's members
    (:class:`~flows.casework.views.BoardMembers`) by its filters and whose cases it shows."""

    lines: Kept = field(default_factory=lambda: Kept(50_000, LINES_KEPT_SECONDS))
    summaries: Kept = field(default_factory=lambda: Kept(50_000, LINES_KEPT_SECONDS))
    members: Kept = field(default_factory=lambda: Kept(1_000, LINES_KEPT_SECONDS))


KEPT_SECONDS = 10.0
"""How long a service keeps a case's status or a board (:class:`~api.kept.Kept`)."""

LINES_KEPT_SECONDS = 300.0
"""How long a service keeps a board's line of one case, and a board's members. Both are
brought up to date by the cases' change markers, so only a change made around the domain
waits for the age; a board of thousands of open cases makes again the lines that expired
(and reads all its cases again when its members do), and a short age would do that every
few seconds."""


def case_board(
    session: Session, user: User, *, today: date | None = None, colour: str | None = None,
    status: str | None = None, procedure_id: str | None = None,
    department_id: str | None = None, include_closed: bool = False, offset: int = 0,
    limit: int = 100, search: str | None = None, kept: BoardKept | None = None,
) -> CasesPublic:
    """The case board as ``user`` sees it on ``today`` (default: today), for
    :func:`api.routes.cases.read_cases` and the pages. ``search`` finds cases by number,
    applicant's name or, for roles that see ID numbers in full, ID number: a masked view
    cannot probe who has a case. With ``kept`` (the service's), the lines of cases unchanged
    since an earlier board, and their summaries, are those made then."""
    kept = kept or BoardKept(Kept(0, 0), Kept(0, 0), Kept(0, 0))
    view = personal_data(user.role)
    shape = (case_scope(user), status, procedure_id, department_id, include_closed, search,
             view == "full")
    members = kept.members.get(shape)
    if members is None:
        members = kept.members[shape] = BoardMembers()
    board = views_board(session, today=today or local_today(), colour=colour, status=status,
                        procedure_id=procedure_id, department_id=department_id,
                        include_closed=include_closed, case_ids=visible_case_ids(user),
                        search=search, search_id_numbers=view == "full", kept=kept.lines,
                        members=members)
    lines = board.lines[offset:offset + limit]
    found = {line: summary for line in lines
             if (summary := kept.summaries.get((line, view))) is not None}
    stuck = stuck_steps(session, [line.case_id for line in lines if line not in found])
    for line in lines:
        if line not in found:
            found[line] = kept.summaries[(line, view)] = CaseSummary(
                case_id=line.case_id, procedure_id=line.procedure_id,
                procedure_version=line.procedure_version, status=line.status,
                colour=line.colour, applicant=applicant_public(line, view),
                received_at=line.received_at, due_date=line.due_date,
                stuck_steps=stuck.get(line.case_id, []),
                current_steps=list(line.current_steps))
    return CasesPublic(data=[found[line] for line in lines], count=len(board.lines),
                       colours=board.colours)


def case_checks(session: Session, user: User, *, today: date | None = None,
                department_id: str | None = None,
                name: Callable[[Any], str] = attrgetter("name")) -> CheckTasksPublic:
    """The open 核查 tasks of the cases ``user`` may see (of ``department_id``), their step
    and department by ``name`` (default the Chinese one), for
    :func:`api.routes.cases.read_checks` and the board page."""
    from flows.casework import resolve_procedure

    tasks = check_tasks(session, today=today or local_today(), department_id=department_id,
                        case_ids=visible_case_ids(user))
    procs = {key: resolve_procedure(*key, session=session)
             for key in {(t.procedure_id, t.procedure_version) for t in tasks}}
    data = []
    for task in tasks:
        proc = procs[(task.procedure_id, task.procedure_version)]
        data.append(CheckTaskPublic(
            **{field: getattr(task, field) for field in CheckTaskPublic.model_fields
               if hasattr(task, field)},
            step_name=name(proc.step(task.step_id)),
            department_name=name(proc.department(task.department_id))))
    return CheckTasksPublic(data=data, count=len(data))
