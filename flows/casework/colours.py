"""Colours of cases, steps and 核查 tasks (宾县 red / yellow / green) and the 督办 sweep that
stores them (and ends the cases whose 容缺 promise was missed)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from flows.casework._rows import (
    CASE_STATE,
    READ_OPEN_CASES,
    SAVE_CASES,
    SAVE_STEPS,
    STEP_STATE,
    CaseRow,
    Transaction,
    read_steps,
    read_submissions,
)
from flows.casework.advancing import end_for_missed_promises
from flows.casework.supervision import escalate_notices, issue_notices
from flows.casework.tables import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    Case,
    CaseStatus,
    CaseStep,
    Colour,
    StepStatus,
    Submission,
    SubmissionStatus,
    aware_time,
)
from process_models.calendar import default_calendar, local_date

__all__ = [
    "SWEEP_BATCH_CASES",
    "StatusChange",
    "case_colour",
    "check_colour",
    "step_colour",
    "sweep",
]


@dataclass(frozen=True)
class StatusChange:
    """A colour change found by :func:`sweep`; ``step_id`` is ``None`` for the case itself."""

    case_id: str
    step_id: str | None
    before: str | None
    after: Colour
    escalated: bool = False


def step_colour(step: CaseStep, today: date, *, yellow_share: float,
                warning_working_days: int = 0) -> Colour:
    """Red past its committed due date; yellow paused for 补正, within
    ``warning_working_days`` of its due date (预警; not on a step whose whole limit is
    that short) or past ``yellow_share`` of its time;
    green on track. A step held for a special procedure not counted in the limit
    (``paused_on`` set while pending, :func:`~flows.casework.pauses.pause_step`) stays
    green while held, unless it was already late. Decided steps keep the colour of when
    they were decided.

    ``step`` may also be a row of the columns read here (status, due_date, decided_at,
    paused_on, started_at), as readers that skip the ORM pass it.
    """
    if step.due_date is None or step.status in (StepStatus.WAITING, StepStatus.CANCELLED):
        return "green"
    if step.status in (StepStatus.APPROVED, StepStatus.REJECTED):
        return "red" if local_date(step.decided_at) > step.due_date else "green"
    if step.status == StepStatus.SUPPLEMENT:
        return "red" if step.paused_on and step.paused_on > step.due_date else "yellow"
    if step.paused_on is not None:
        return "red" if step.paused_on > step.due_date else "green"
    if today > step.due_date:
        return "red"
    calendar = default_calendar()
    start = local_date(step.started_at)
    total = calendar.working_days_between(start, step.due_date)
    elapsed = calendar.working_days_between(start, today)
    warned = total > warning_working_days >= total - elapsed
    return "yellow" if warned or (total > 0 and elapsed > yellow_share * total) else "green"


def case_colour(case: Case, steps: Sequence[CaseStep], today: date, *,
                yellow_share: float, owed: Sequence[Submission] = (),
                warning_working_days: int = 0) -> Colour:
    """The case's colour: the worst of its steps', red past its own due date, yellow while
    waiting for 补正 at the window or for an ``owed`` 容缺 material past its due date.
    A closed case is red if it closed after its due date. ``case`` may also be a row of the
    columns read here (status, due_date, closed_at), ``steps`` rows as for
    :func:`step_colour`."""
    if case.status in CLOSED_STATUSES:
        late = case.due_date is not None and local_date(case.closed_at) > case.due_date
        return "red" if late else "green"
    if case.status == CaseStatus.AWAITING_SUPPLEMENT:
        return "yellow"
    colours = {step_colour(s, today, yellow_share=yellow_share,
                           warning_working_days=warning_working_days) for s in steps}
    if "red" in colours or (case.due_date is not None and today > case.due_date):
        return "red"
    overdue = any(r.status == SubmissionStatus.DEFERRED and r.due_date and today > r.due_date for r in owed)
    return "yellow" if "yellow" in colours or overdue else "green"


def check_colour(check_due_date: date, checked: bool, today: date) -> Colour:
    """A 核查 task's colour: red while unchecked past its due date, yellow on its due date,
    green otherwise (a recorded check is green).

    >>> from datetime import date
    >>> check_colour(date(2025, 3, 3), False, date(2025, 3, 4)), check_colour(
    ...     date(2025, 3, 3), True, date(2025, 3, 4))
    ('red', 'green')
    """
    if checked or today < check_due_date:
        return "green"
    return "red" if today > check_due_date else "yellow"


SWEEP_BATCH_CASES = 200
"""Cases recoloured per transaction by :func:`sweep` (writers wait at most one batch)."""


def sweep(
    session: Session, *, now: datetime, yellow_share: float | None = None,
    warning_working_days: int | None = None,
) -> list[StatusChange]:
    """Recolour every open case and step; a step turning red is escalated (督办) once; a
    pending step turning red or yellow gets a 督办 notice to its department
    (:func:`~flows.casework.supervision.issue_notices`) and unanswered notices past their
    reply date are escalated (:func:`~flows.casework.supervision.escalate_notices`); a
    case whose 容缺 promise was missed is ended
    (:func:`~flows.casework.advancing.end_for_missed_promises`).

    Commits every :data:`SWEEP_BATCH_CASES` cases, so staff decisions never wait long.
    """
    from process_models.settings import settings

    rule = {"yellow_share": settings.yellow_share if yellow_share is None else yellow_share,
            "warning_working_days": (settings.warning_working_days
                                     if warning_working_days is None else warning_working_days)}
    at = aware_time(now)
    today = local_date(at)
    open_statuses = list(OPEN_STATUSES)
    case_ids = list(session.exec(
        select(Case.id).where(col(Case.status).in_(open_statuses)).order_by(col(Case.id))
    ).all())
    changes: list[StatusChange] = []
    for first in range(0, len(case_ids), SWEEP_BATCH_CASES):
        with Transaction(session) as tx:
            batch = [CaseRow(*row) for row in tx.execute(READ_OPEN_CASES, {
                "ids": case_ids[first:first + SWEEP_BATCH_CASES], "statuses": open_statuses})]
            ids = [case.id for case in batch]
            steps, owed = read_steps(tx, ids), read_submissions(tx, ids)
            changed_cases, changed_steps, found = [], [], []
            for case in batch:
                ended = end_for_missed_promises(tx, case, steps[case.id],
                                                owed[case.id].values(), today, at)
                if case.status not in OPEN_STATUSES:
                    changed_steps += ended
                    changed_cases.append(case)
                    continue
                found += _recolour(tx, case, steps[case.id], list(owed[case.id].values()),
                                   today, rule, at, changed_cases, changed_steps)
            issue_notices(tx, found, {(s.case_id, s.step_id): s for c in ids for s in steps[c]},
                          today, at)
            tx.save(SAVE_STEPS, changed_steps, STEP_STATE)
            tx.save(SAVE_CASES, changed_cases, CASE_STATE)
            changes += found
    escalate_notices(session, now=at)
    return changes


def _recolour(tx: Transaction, case, steps: list, owed: list, today: date, rule: dict,
              at: datetime, changed_cases: list, changed_steps: list) -> list[StatusChange]:
    """Recolour ``case`` and its steps (``rule``: the keywords of :func:`step_colour`),
    adding the changed records to the two lists."""
    changes = []
    for step in steps:
        colour = step_colour(step, today, **rule)
        escalate = colour == "red" and step.escalated_at is None
        if colour != step.colour or escalate:
            changes.append(StatusChange(case.id, step.step_id, step.colour, colour, escalate))
            step.colour = colour
            changed_steps.append(step)
        if escalate:
            step.escalated_at = at
            tx.audit(case.id, "escalation", {
                "step_id": step.step_id, "department_id": step.department_id,
                "due_date": step.due_date.isoformat(),
            }, at)
            tx.outbox(case.id, "escalation", {"step_id": step.step_id}, at)
    colour = case_colour(case, steps, today, owed=owed, **rule)
    if colour != case.colour:
        changes.append(StatusChange(case.id, None, case.colour, colour))
        case.colour = colour
        changed_cases.append(case)
    return changes
