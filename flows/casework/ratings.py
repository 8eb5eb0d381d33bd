"""好差评: the applicant rates a case once; a 差评 is called back, rectified or appealed.

Per 国办发〔2019〕51号 and GB/T 39734-2020 each case is rated once by its applicant, on five
levels (5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意), with an optional comment
and the channel it came by. The bottom two are 差评: each opens a follow-up due
``settings.rating_follow_up_working_days`` (15) working days after the rating, in which the
centre calls the applicant back and rectifies; the department may appeal (申诉) instead, and
an upheld appeal takes the rating out of the indicators.

:func:`rating_report` counts the ratings by item (the case's procedure), department (each
department with a step in the case, once), channel or month, with GB/T 39735's indicators:
satisfaction rate (levels 3–5 among the ratings counted), 差评 rectification rate and
on-time rectification rate (rectified by the due date).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from sqlalchemy import bindparam, insert, update
from sqlalchemy import select as sa_select
from sqlmodel import Session

from flows.casework._rows import CASES, STEPS, Transaction, read_case
from flows.casework.tables import Rating, RatingFollowUp, aware_time, stored_time
from process_models.calendar import default_calendar, local_date
from process_models.errors import Conflict, InvalidInput

__all__ = [
    "BAD_SCORES",
    "CHANNELS",
    "REPORT_GROUPS",
    "SCORES",
    "FollowUpLine",
    "RatingFigures",
    "RatingReport",
    "appeal_rating",
    "call_back",
    "decide_appeal",
    "open_follow_ups",
    "rate_case",
    "rating_report",
    "rectify",
]

SCORES = (5, 4, 3, 2, 1)
"""The five levels, best first: 非常满意, 满意, 基本满意, 不满意, 非常不满意."""
BAD_SCORES = (2, 1)
"""差评: 不满意 and 非常不满意."""
CHANNELS = ("web", "mobile", "window", "sms", "hotline")
"""Where a rating came from: 网上, 移动端, 窗口评价器, 短信, 12345 热线 (GB/T 39734)."""
REPORT_GROUPS = ("item", "department", "channel", "month")
COMMENT_CHARS = 500
NOTE_CHARS = 2000

RATINGS = Rating.__table__
FOLLOW_UPS = RatingFollowUp.__table__
_READ_RATING = sa_select(*RATINGS.c).where(RATINGS.c.case_id == bindparam("case_id"))
_READ_FOLLOW_UP = sa_select(*FOLLOW_UPS.c).where(FOLLOW_UPS.c.case_id == bindparam("case_id"))


def _text(value: str | None, what: str, path: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput(f"{what} is empty; write it", path=path)
    if len(text) > limit:
        raise InvalidInput(f"{what} has {len(text)} characters; at most {limit}", path=path)
    return text


def rate_case(session: Session, case_id: str, score: int, *, channel: str, now: datetime,
              comment: str | None = None, follow_up_working_days: int | None = None) -> Rating:
    """Record the applicant's rating of ``case_id``: once (a second is :class:`Conflict`).

    A 差评 (``score`` in :data:`BAD_SCORES`) opens its follow-up, due
    ``follow_up_working_days`` (default: the setting) working days after today. Events
    ``case_rated`` and, for a 差评, ``rating_follow_up_opened``.
    """
    if isinstance(score, bool) or not isinstance(score, int) or score not in SCORES:
        raise InvalidInput(f"score {score!r} is not a level; give 1 (非常不满意) to 5 (非常满意)",
                           path="score")
    if channel not in CHANNELS:
        raise InvalidInput(f"channel '{channel}' is unknown; one of {', '.join(CHANNELS)}",
                           path="channel")
    comment = _text(comment, "the comment", "comment", COMMENT_CHARS) if comment \
        and comment.strip() else None
    if follow_up_working_days is None:
        from process_models.settings import settings

        follow_up_working_days = settings.rating_follow_up_working_days
    at = aware_time(now)
    with Transaction(session) as tx:
        case, _definition = read_case(tx, case_id)
        if tx.execute(_READ_RATING, {"case_id": case.id}).first() is not None:
            raise Conflict(f"case {case.id} was rated already; a case is rated once")
        values = {"case_id": case.id, "score": score, "comment": comment, "channel": channel,
                  "rated_at": at}
        rating_id = tx.execute(insert(RATINGS), values).inserted_primary_key[0]
        tx.audit(case.id, "case_rated", {"score": score, "channel": channel,
                                         "comment": comment}, at)
        if score in BAD_SCORES:
            due = default_calendar().add_working_days(local_date(at), follow_up_working_days)
            tx.execute(insert(FOLLOW_UPS), {"rating_id": rating_id, "case_id": case.id,
                                            "due_date": due})
            tx.audit(case.id, "rating_follow_up_opened", {"due_date": due.isoformat()}, at)
    return Rating(id=rating_id, **values)


def _follow_up(tx: Transaction, case_id: str):
    case, _definition = read_case(tx, case_id)
    row = tx.execute(_READ_FOLLOW_UP, {"case_id": case.id}).first()
    if row is None:
        raise Conflict(f"case {case.id} has no 差评 to follow up; only a rating of 1 or 2 "
                       "opens one")
    return row


def _record(session: Session, case_id: str, kind: str, now: datetime, check, values) -> None:
    """One step of a follow-up: ``check(row)`` refuses, ``values`` are written, ``kind`` is
    the audit event."""
    at = aware_time(now)
    with Transaction(session) as tx:
        row = _follow_up(tx, case_id)
        check(row)
        written = values(at)
        tx.execute(update(FOLLOW_UPS).where(FOLLOW_UPS.c.id == row.id).values(**written))
        tx.audit(row.case_id, kind, {k: v for k, v in written.items()
                                     if not k.endswith("_at")}, at)


def _once(row, column: str, what: str) -> None:
    if getattr(row, column) is not None:
        raise Conflict(f"the {what} of case {row.case_id}'s 差评 was recorded already")


def call_back(session: Session, case_id: str, *, note: str, by: str, now: datetime) -> None:
    """Record the call-back to the applicant (回访) of a 差评: what was said, by whom."""
    note = _text(note, "the call-back note", "note", NOTE_CHARS)
    by = _text(by, "who called back", "by", 200)
    _record(session, case_id, "rating_called_back", now,
            lambda row: _once(row, "called_back_at", "call-back"),
            lambda at: {"called_back_at": at, "called_back_by": by, "call_back_note": note})


def rectify(session: Session, case_id: str, *, text: str, by: str, now: datetime) -> None:
    """Record the rectification (整改) of a 差评; refused after an upheld appeal."""
    text = _text(text, "the rectification", "text", NOTE_CHARS)
    by = _text(by, "who rectified", "by", 200)

    def check(row) -> None:
        _once(row, "rectified_at", "rectification")
        if row.appeal_upheld:
            raise Conflict(f"the 差评 of case {row.case_id} was appealed successfully; "
                           "nothing to rectify")

    _record(session, case_id, "rating_rectified", now, check,
            lambda at: {"rectified_at": at, "rectified_by": by, "rectification": text})


def appeal_rating(session: Session, case_id: str, *, reason: str, by: str,
                  now: datetime) -> None:
    """The department appeals (申诉) a 差评 it holds unfounded, before rectifying it."""
    reason = _text(reason, "the appeal's reason", "reason", NOTE_CHARS)
    by = _text(by, "who appeals", "by", 200)

    def check(row) -> None:
        _once(row, "appealed_at", "appeal")
        if row.rectified_at is not None:
            raise Conflict(f"the 差评 of case {row.case_id} was rectified already; "
                           "a rectified 差评 is not appealed")

    _record(session, case_id, "rating_appealed", now, check,
            lambda at: {"appealed_at": at, "appealed_by": by, "appeal_reason": reason})


def decide_appeal(session: Session, case_id: str, *, upheld: bool, by: str,
                  now: datetime) -> None:
    """Decide an appeal: upheld takes the 差评 out of the indicators, else it is rectified."""
    by = _text(by, "who decides the appeal", "by", 200)

    def check(row) -> None:
        if row.appealed_at is None:
            raise Conflict(f"the 差评 of case {row.case_id} was not appealed")
        _once(row, "appeal_upheld", "appeal decision")

    _record(session, case_id, "rating_appeal_decided", now, check,
            lambda _at: {"appeal_upheld": upheld, "appeal_decided_by": by})


@dataclass(frozen=True)
class FollowUpLine:
    """An open 差评 follow-up: the case, its score, due date, what is done, red when late."""

    case_id: str
    procedure_id: str
    score: int
    comment: str | None
    due_date: date
    called_back: bool
    appealed: bool
    overdue: bool


def open_follow_ups(session: Session, *, today: date, case_ids=None) -> list[FollowUpLine]:
    """The 差评 not yet rectified nor appealed successfully (among ``case_ids``, a subquery,
    when given), soonest due first."""
    query = (
        sa_select(FOLLOW_UPS.c.case_id, CASES.c.procedure_id, RATINGS.c.score,
                  RATINGS.c.comment, FOLLOW_UPS.c.due_date, FOLLOW_UPS.c.called_back_at,
                  FOLLOW_UPS.c.appealed_at)
        .select_from(FOLLOW_UPS.join(RATINGS, RATINGS.c.id == FOLLOW_UPS.c.rating_id)
                     .join(CASES, CASES.c.id == FOLLOW_UPS.c.case_id))
        .where(FOLLOW_UPS.c.rectified_at.is_(None),
               FOLLOW_UPS.c.appeal_upheld.is_not(True))
        .order_by(FOLLOW_UPS.c.due_date, FOLLOW_UPS.c.case_id))
    if case_ids is not None:
        query = query.where(FOLLOW_UPS.c.case_id.in_(case_ids))
    rows = session.connection().execute(query).all()
    return [FollowUpLine(r.case_id, r.procedure_id, r.score, r.comment, r.due_date,
                         r.called_back_at is not None, r.appealed_at is not None,
                         r.due_date < today) for r in rows]


@dataclass(frozen=True)
class RatingFigures:
    """One line of the report: the ratings of a group (appeals upheld left out) and
    GB/T 39735's indicators, ``None`` where nothing was there to count."""

    group: str
    ratings: int
    by_score: dict[int, int]
    bad: int
    rectified: int
    rectified_on_time: int
    appeals_upheld: int

    @property
    def satisfaction_rate(self) -> float | None:
        """Share of levels 3–5 (基本满意 and better) among the ratings counted."""
        good = sum(n for score, n in self.by_score.items() if score not in BAD_SCORES)
        return good / self.ratings if self.ratings else None

    @property
    def rectification_rate(self) -> float | None:
        """Share of the 差评 counted that were rectified."""
        return self.rectified / self.bad if self.bad else None

    @property
    def on_time_rectification_rate(self) -> float | None:
        """Share of the 差评 counted rectified by their due date."""
        return self.rectified_on_time / self.bad if self.bad else None


@dataclass(frozen=True)
class RatingReport:
    """The 好差评 report grouped by ``group_by``: one :class:`RatingFigures` per group and
    the total. Every figure is counted from the rating records (basis ``sourced``)."""

    group_by: str
    lines: tuple[RatingFigures, ...]
    total: RatingFigures
    basis: str = "sourced"
    source: str = "好差评 records (rating, rating_follow_up)"


def _figures(group: str, rows: list) -> RatingFigures:
    counted = [r for r in rows if not r.appeal_upheld]
    bad = [r for r in counted if r.score in BAD_SCORES]
    rectified = [r for r in bad if r.rectified_at is not None]
    return RatingFigures(
        group=group, ratings=len(counted),
        by_score={s: sum(1 for r in counted if r.score == s) for s in SCORES},
        bad=len(bad), rectified=len(rectified),
        rectified_on_time=sum(1 for r in rectified
                              if local_date(stored_time(r.rectified_at)) <= r.due_date),
        appeals_upheld=len(rows) - len(counted))


def rating_report(session: Session, group_by: Literal["item", "department", "channel", "month"]
                  ) -> RatingReport:
    """Every rating counted by ``group_by`` (see the module), with the total.

    >>> RatingFigures("x", 4, {5: 2, 4: 0, 3: 1, 2: 1, 1: 0}, 1, 1, 0, 0).satisfaction_rate
    0.75
    """
    if group_by not in REPORT_GROUPS:
        raise InvalidInput(f"group '{group_by}' is unknown; one of {', '.join(REPORT_GROUPS)}",
                           path="group_by")
    connection = session.connection()
    rows = connection.execute(
        sa_select(RATINGS.c.case_id, RATINGS.c.score, RATINGS.c.channel, RATINGS.c.rated_at,
                  CASES.c.procedure_id, FOLLOW_UPS.c.due_date, FOLLOW_UPS.c.rectified_at,
                  FOLLOW_UPS.c.appeal_upheld)
        .select_from(RATINGS.join(CASES, CASES.c.id == RATINGS.c.case_id)
                     .outerjoin(FOLLOW_UPS, FOLLOW_UPS.c.rating_id == RATINGS.c.id))
        .order_by(RATINGS.c.id)).all()
    departments: dict[str, set[str]] = defaultdict(set)
    if group_by == "department" and rows:
        for case_id, department_id in connection.execute(
                sa_select(STEPS.c.case_id, STEPS.c.department_id)
                .where(STEPS.c.case_id.in_(bindparam("ids", expanding=True))),
                {"ids": [r.case_id for r in rows]}):
            departments[case_id].add(department_id)
    groups: dict[str, list] = defaultdict(list)
    for row in rows:
        keys = (sorted(departments[row.case_id]) if group_by == "department"
                else [row.procedure_id] if group_by == "item"
                else [row.channel] if group_by == "channel"
                else [f"{stored_time(row.rated_at):%Y-%m}"])
        for key in keys:
            groups[key].append(row)
    return RatingReport(group_by, tuple(_figures(k, groups[k]) for k in sorted(groups)),
                        _figures("total", list(rows)))
