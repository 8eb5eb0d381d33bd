"""督办: notices to departments about red and yellow steps, their written answers,
escalation of the unanswered, the 督办 report and departments' quarterly grades.

The founding rule: "所有亮红牌、黄牌的工作，责任单位必须要向……提交书面说明". The sweep
(:func:`~flows.casework.sweep`) issues one :class:`SupervisionNotice` per pending step and
colour it turns (:func:`issue_notices`, event ``supervision_notice``), due for an answer
``settings.supervision_reply_working_days`` working days later; the department answers in
writing (:func:`answer_notice`, event ``supervision_answered``); a notice unanswered past
its reply date is escalated once (:func:`escalate_notices`, event
``supervision_escalated``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import bindparam, insert, update
from sqlalchemy import select as sa_select
from sqlmodel import Session

from flows.casework._rows import STEPS, Transaction
from flows.casework.tables import StepStatus, SupervisionNotice, aware_time, stored_time
from process_models.calendar import default_calendar, local_date
from process_models.errors import Conflict, Forbidden, InvalidInput, NotFound

__all__ = [
    "GRADES",
    "MAX_ANSWER_CHARS",
    "DepartmentGrade",
    "NoticeView",
    "SupervisionLine",
    "answer_notice",
    "department_grades",
    "escalate_notices",
    "issue_notices",
    "quarter_bounds",
    "supervision_notices",
    "supervision_report",
]

NOTICES = SupervisionNotice.__table__
MAX_ANSWER_CHARS = 4000
"""The longest written answer accepted."""

GRADES = ((0.98, "excellent"), (0.95, "good"), (0.90, "pass"))
"""A department's quarterly grade (优秀 / 良好 / 合格, else 不合格) by the share of its steps
decided on time, none of its 督办 notices escalated for 优秀 and 良好 (estimate: the
grading rules seen publish the four grades, not one national threshold)."""
GRADES_BASIS = "estimate"

_EXISTING = sa_select(NOTICES.c.case_id, NOTICES.c.step_id, NOTICES.c.colour).where(
    NOTICES.c.case_id.in_(bindparam("ids", expanding=True)))
_OVERDUE = sa_select(NOTICES).where(NOTICES.c.answered_at.is_(None),
                                    NOTICES.c.escalated_at.is_(None),
                                    NOTICES.c.reply_due_date < bindparam("today"))
_ESCALATE = (update(NOTICES).where(NOTICES.c.id == bindparam("row_id"))
             .values(escalated_at=bindparam("escalated_at")))


@dataclass(frozen=True)
class NoticeView:
    """A 督办 notice and where it stands on a day: ``open``, ``answered``, ``overdue``
    (past its reply date, not yet swept) or ``escalated``."""

    notice_id: int
    case_id: str
    step_id: str
    department_id: str
    colour: str
    issued_at: datetime
    reply_due_date: date
    answer: str | None
    answered_by: str | None
    answered_at: datetime | None
    escalated_at: datetime | None
    state: str


def _view(row, today: date) -> NoticeView:
    state = ("answered" if row.answered_at is not None
             else "escalated" if row.escalated_at is not None
             else "overdue" if today > row.reply_due_date else "open")
    return NoticeView(
        notice_id=row.id, case_id=row.case_id, step_id=row.step_id,
        department_id=row.department_id, colour=row.colour,
        issued_at=stored_time(row.issued_at), reply_due_date=row.reply_due_date,
        answer=row.answer, answered_by=row.answered_by,
        answered_at=stored_time(row.answered_at) if row.answered_at else None,
        escalated_at=stored_time(row.escalated_at) if row.escalated_at else None, state=state)


def issue_notices(tx: Transaction, changes, steps: dict, today: date, at: datetime) -> None:
    """Issue a notice for each pending step in ``changes`` (:class:`StatusChange`) turning
    red or yellow that has none of that colour yet; ``steps`` by (case id, step id)."""
    from process_models.settings import settings

    wanted = [c for c in changes if c.step_id is not None and c.after in ("red", "yellow")
              and steps[(c.case_id, c.step_id)].status == StepStatus.PENDING]
    if not wanted:
        return
    issued = {tuple(row) for row in tx.execute(
        _EXISTING, {"ids": sorted({c.case_id for c in wanted})})}
    reply_due = default_calendar().add_working_days(
        today, settings.supervision_reply_working_days)
    for change in wanted:
        if (change.case_id, change.step_id, change.after) in issued:
            continue
        step = steps[(change.case_id, change.step_id)]
        notice_id = tx.execute(insert(NOTICES), {
            "case_id": change.case_id, "step_id": change.step_id,
            "department_id": step.department_id, "colour": change.after, "issued_at": at,
            "reply_due_date": reply_due}).inserted_primary_key[0]
        tx.audit(change.case_id, "supervision_notice", {
            "notice_id": notice_id, "step_id": change.step_id,
            "department_id": step.department_id, "colour": change.after,
            "due_date": step.due_date.isoformat(), "reply_due_date": reply_due.isoformat()}, at)


def escalate_notices(session: Session, *, now: datetime) -> list[int]:
    """Escalate every notice unanswered past its reply date (once each); their ids."""
    at = aware_time(now)
    with Transaction(session) as tx:
        overdue = tx.execute(_OVERDUE, {"today": local_date(at)}).all()
        for row in overdue:
            tx.execute(_ESCALATE, {"row_id": row.id, "escalated_at": at})
            tx.audit(row.case_id, "supervision_escalated", {
                "notice_id": row.id, "step_id": row.step_id,
                "department_id": row.department_id,
                "reply_due_date": row.reply_due_date.isoformat()}, at)
    return [row.id for row in overdue]


def answer_notice(session: Session, notice_id: int, text: str, *, by: str,
                  department_id: str, now: datetime) -> NoticeView:
    """The department's written explanation (书面说明) for notice ``notice_id``: its own
    notices only (:class:`Forbidden`), once (:class:`Conflict`); a late answer is recorded
    and marked ``late`` in the ``supervision_answered`` event."""
    text, by = (text or "").strip(), (by or "").strip()
    if not text:
        raise InvalidInput("the written explanation is empty; say why the step is late",
                           path="text")
    if len(text) > MAX_ANSWER_CHARS:
        raise InvalidInput(f"the written explanation has {len(text)} characters; shorten it "
                           f"to at most {MAX_ANSWER_CHARS}", path="text")
    if not by:
        raise InvalidInput("no member of staff named; say who answers", path="by")
    at = aware_time(now)
    with Transaction(session) as tx:
        row = tx.execute(sa_select(NOTICES).where(NOTICES.c.id == notice_id)).first()
        if row is None:
            raise NotFound(f"no 督办 notice {notice_id}; list them with `onething case notices`")
        if row.department_id != department_id:
            raise Forbidden(f"督办 notice {notice_id} is addressed to department "
                            f"'{row.department_id}'; department '{department_id}' may answer "
                            "only its own")
        if row.answered_at is not None:
            raise Conflict(f"督办 notice {notice_id} was answered by {row.answered_by} on "
                           f"{local_date(row.answered_at)}; an answer is given once")
        late = local_date(at) > row.reply_due_date
        tx.execute(update(NOTICES).where(NOTICES.c.id == notice_id).values(
            answer=text, answered_by=by, answered_at=at))
        tx.audit(row.case_id, "supervision_answered", {
            "notice_id": notice_id, "step_id": row.step_id, "department_id": department_id,
            "answer": text, "by": by, "late": late}, at)
        row = tx.execute(sa_select(NOTICES).where(NOTICES.c.id == notice_id)).one()
    return _view(row, local_date(at))


def supervision_notices(session: Session, *, today: date, department_id: str | None = None,
                        open_only: bool = False) -> list[NoticeView]:
    """The 督办 notices (of ``department_id``; only unanswered ones with ``open_only``),
    oldest first, as they stand on ``today``."""
    query = sa_select(NOTICES).order_by(NOTICES.c.id)
    if department_id is not None:
        query = query.where(NOTICES.c.department_id == department_id)
    if open_only:
        query = query.where(NOTICES.c.answered_at.is_(None))
    return [_view(row, today) for row in session.execute(query)]


def _utc_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """UTC moments a day either side of ``first`` to ``last`` (service-centre days), for an
    index range the exact day test then narrows."""
    from datetime import UTC, time, timedelta

    return (datetime.combine(first - timedelta(days=1), time(), UTC),
            datetime.combine(last + timedelta(days=2), time(), UTC))


@dataclass(frozen=True)
class SupervisionLine:
    """One department's 督办 figures over a period (counted from the record: basis
    ``sourced``)."""

    department_id: str
    issued: int
    red: int
    yellow: int
    answered: int
    answered_late: int
    escalated: int
    unanswered: int


def supervision_report(session: Session, *, first: date, last: date,
                       today: date) -> list[SupervisionLine]:
    """Per department, the notices issued from ``first`` to ``last`` (service-centre days)
    and what became of them by ``today``; a last line ``*`` sums them."""
    counts: dict[str, Counter] = {}
    since, until = _utc_bounds(first, last)
    for row in session.execute(sa_select(NOTICES).where(
            NOTICES.c.issued_at >= since, NOTICES.c.issued_at < until).order_by(NOTICES.c.id)):
        notice = _view(row, today)
        if not first <= notice.issued_at.date() <= last:
            continue
        c = counts.setdefault(notice.department_id, Counter())
        c["issued"] += 1
        c[notice.colour] += 1
        if notice.answered_at is not None:
            c["answered"] += 1
            c["answered_late"] += notice.answered_at.date() > notice.reply_due_date
        else:
            c["unanswered"] += 1
        c["escalated"] += notice.escalated_at is not None
    counts["*"] = sum(counts.values(), Counter())
    fields = ("issued", "red", "yellow", "answered", "answered_late", "escalated", "unanswered")
    return [SupervisionLine(department, **{f: c[f] for f in fields})
            for department, c in sorted(counts.items(), key=lambda kv: kv[0] == "*")]


@dataclass(frozen=True)
class DepartmentGrade:
    """A department's grade for one quarter: its steps decided in the quarter, how many on
    time, its 督办 notices and escalations, and the grade (:data:`GRADES`, basis
    ``grade_basis``)."""

    department_id: str
    decided: int
    on_time: int
    notices: int
    escalated: int
    grade: str
    grade_basis: str = GRADES_BASIS


def quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    """The first and last day of ``quarter`` (1–4) of ``year``.

    >>> quarter_bounds(2025, 1)
    (datetime.date(2025, 1, 1), datetime.date(2025, 3, 31))
    """
    if quarter not in (1, 2, 3, 4):
        raise InvalidInput(f"quarter {quarter} does not exist; use 1, 2, 3 or 4",
                           path="quarter")
    first = date(year, 3 * quarter - 2, 1)
    following = date(year + quarter // 4, 3 * quarter % 12 + 1, 1)
    return first, date.fromordinal(following.toordinal() - 1)


def _grade(on_time_share: float, escalated: int) -> str:
    for threshold, grade in GRADES:
        if on_time_share >= threshold and (escalated == 0 or grade == "pass"):
            return grade
    return "fail"


def department_grades(session: Session, *, year: int, quarter: int,
                      today: date) -> list[DepartmentGrade]:
    """Each department's grade for ``quarter`` of ``year``: the share of its steps decided
    in the quarter by their due date, and its 督办 notices issued in the quarter."""
    first, last = quarter_bounds(year, quarter)
    decided: dict[str, Counter] = {}
    since, until = _utc_bounds(first, last)
    for row in session.execute(sa_select(STEPS.c.department_id, STEPS.c.due_date,
                                         STEPS.c.decided_at).where(
            STEPS.c.decided_at >= since, STEPS.c.decided_at < until,
            STEPS.c.due_date.is_not(None),
            STEPS.c.status.in_([StepStatus.APPROVED, StepStatus.REJECTED]))):
        day = local_date(row.decided_at)
        if first <= day <= last:
            c = decided.setdefault(row.department_id, Counter())
            c["decided"] += 1
            c["on_time"] += day <= row.due_date
    notices = {line.department_id: line for line in supervision_report(
        session, first=first, last=last, today=today) if line.department_id != "*"}
    grades = []
    for department in sorted(set(decided) | set(notices)):
        c, n = decided.get(department, Counter()), notices.get(department)
        share = c["on_time"] / c["decided"] if c["decided"] else 1.0
        escalated = n.escalated if n else 0
        grades.append(DepartmentGrade(department, c["decided"], c["on_time"],
                                      n.issued if n else 0, escalated, _grade(share, escalated)))
    return grades
