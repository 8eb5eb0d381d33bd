"""Planned versus actual: how long cases really took, against their committed limits.

Time is counted as 行政许可法 counts it. A step's legal clock runs in working days from
the day it started to the day it was decided (the start day not counted), minus the days
the applicant spent on 补正 (``paused_working_days``) and minus its untimed parts
(第45条: 听证、检验、检测、专家评审, and 公示), which the procedure definition the case ran
lists. The step is overdue when that clock exceeds its committed limit. A case is overdue
(超期) when it closed — or, still open, is at ``as_of`` — after its committed due date
(acceptance + committed working days, moved on by 补正 pauses, as
:mod:`flows.casework` keeps it).

Where a case's working days went: *with a department* (some step pending), *with the
applicant* (补正), or *between departments* (no step pending: hand-offs, untimed parts).

Rows are read from the case tables in one sorted, streamed query (``yield_per``), one
case at a time; :func:`summarize` aggregates as they pass, so memory does not grow with
the number of cases.

>>> from datetime import date
>>> rate = OverdueRate("newborn", cases=8, overdue=2)
>>> rate.rate
0.25
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from process_models.errors import EventLogError, OnethingError

__all__ = [
    "ActualSummary",
    "CaseActual",
    "DepartmentDays",
    "OverdueRate",
    "StepActual",
    "case_actuals",
    "summarize",
]


@dataclass(slots=True)
class StepActual:
    """One case step: working days elapsed, paused, untimed, on the legal clock, committed."""

    case_id: str
    procedure_id: str
    step_id: str
    department_id: str
    status: str
    started_on: date
    decided_on: date | None
    elapsed_working_days: int
    paused_working_days: int
    untimed_working_days: float
    clock_working_days: float
    committed_working_days: float | None
    overdue: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class CaseActual:
    """One case: its elapsed and legal-clock working days, due date and where time went."""

    case_id: str
    procedure_id: str
    status: str
    accepted_on: date
    closed_on: date | None
    due_date: date | None
    elapsed_working_days: int
    department_working_days: int
    applicant_working_days: int
    between_working_days: int
    clock_working_days: int
    committed_working_days: int | None
    overdue: bool

    @property
    def month(self) -> str:
        """The month the case was accepted in, ``YYYY-MM``."""
        return self.accepted_on.strftime("%Y-%m")

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "month": self.month}


@dataclass
class OverdueRate:
    """超期率 of one group (procedure, department or month)."""

    key: str
    cases: int = 0
    overdue: int = 0

    @property
    def rate(self) -> float:
        return self.overdue / self.cases if self.cases else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "cases": self.cases, "overdue": self.overdue,
                "rate": round(self.rate, 4)}


@dataclass
class DepartmentDays:
    """Where one department's step days went: on the legal clock (working), paused for
    补正 (waiting for the applicant) and in untimed parts (听证、检验、专家评审、公示)."""

    key: str
    steps: int = 0
    clock_working_days: float = 0.0
    paused_working_days: int = 0
    untimed_working_days: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "steps": self.steps,
                "clock_working_days": round(self.clock_working_days, 2),
                "paused_working_days": self.paused_working_days,
                "untimed_working_days": round(self.untimed_working_days, 2)}


@dataclass
class ActualSummary:
    """Overdue rates per procedure, department (steps) and month, and where time went."""

    cases: int = 0
    steps: int = 0
    overdue_cases: int = 0
    by_procedure: dict[str, OverdueRate] = field(default_factory=dict)
    by_department: dict[str, OverdueRate] = field(default_factory=dict)
    by_month: dict[str, OverdueRate] = field(default_factory=dict)
    department_working_days: int = 0
    applicant_working_days: int = 0
    between_working_days: int = 0
    department_days: dict[str, DepartmentDays] = field(default_factory=dict)
    first_accepted: date | None = None
    last_accepted: date | None = None

    @property
    def overdue_rate(self) -> float:
        return self.overdue_cases / self.cases if self.cases else 0.0

    def time_split(self) -> dict[str, float]:
        """Shares of all case working days: department, applicant (补正), between."""
        total = self.department_working_days + self.applicant_working_days \
            + self.between_working_days
        parts = {"department": self.department_working_days,
                 "applicant": self.applicant_working_days,
                 "between": self.between_working_days}
        return {k: (v / total if total else 0.0) for k, v in parts.items()}

    def add(self, case: CaseActual, steps: Iterable[StepActual]) -> None:
        """Count one case and its steps in."""
        self.cases += 1
        self.overdue_cases += case.overdue
        _count(self.by_procedure, case.procedure_id, case.overdue)
        _count(self.by_month, case.month, case.overdue)
        self.department_working_days += case.department_working_days
        self.applicant_working_days += case.applicant_working_days
        self.between_working_days += case.between_working_days
        self.first_accepted = min(self.first_accepted or case.accepted_on, case.accepted_on)
        self.last_accepted = max(self.last_accepted or case.accepted_on, case.accepted_on)
        for st in steps:
            self.steps += 1
            _count(self.by_department, st.department_id, st.overdue)
            days = self.department_days.setdefault(st.department_id,
                                                   DepartmentDays(st.department_id))
            days.steps += 1
            days.clock_working_days += st.clock_working_days
            days.paused_working_days += st.paused_working_days
            days.untimed_working_days += st.untimed_working_days

    def as_dict(self) -> dict[str, Any]:
        def rows(d):
            return [r.as_dict() for r in sorted(d.values(), key=lambda r: r.key)]

        return {
            "cases": self.cases, "steps": self.steps, "overdue_cases": self.overdue_cases,
            "overdue_rate": round(self.overdue_rate, 4),
            "by_procedure": rows(self.by_procedure), "by_department": rows(self.by_department),
            "by_month": rows(self.by_month),
            "working_days": {"department": self.department_working_days,
                             "applicant": self.applicant_working_days,
                             "between": self.between_working_days},
            "time_split": {k: round(v, 4) for k, v in self.time_split().items()},
            "department_days": rows(self.department_days),
            "first_accepted": self.first_accepted and self.first_accepted.isoformat(),
            "last_accepted": self.last_accepted and self.last_accepted.isoformat(),
        }


def _count(groups: dict[str, OverdueRate], key: str, overdue: bool) -> None:
    g = groups.setdefault(key, OverdueRate(key))
    g.cases += 1
    g.overdue += overdue


def summarize(actuals: Iterable[tuple[CaseActual, list[StepActual]]]) -> ActualSummary:
    """Aggregate :func:`case_actuals` as it streams.

    >>> from datetime import date
    >>> c = CaseActual("C-1", "newborn", "approved", date(2025, 3, 3), date(2025, 3, 10),
    ...                date(2025, 3, 7), 5, 3, 1, 1, 4, 4, True)
    >>> s = summarize([(c, [])])
    >>> s.overdue_rate, s.by_month["2025-03"].overdue, s.time_split()["department"]
    (1.0, 1, 0.6)
    """
    s = ActualSummary()
    for case, steps in actuals:
        s.add(case, steps)
    return s


def _covered(intervals: list[tuple[int, int]]) -> int:
    """Working days covered by the union of half-open ``(start, end]`` offsets."""
    total, reach = 0, None
    for a, b in sorted(intervals):
        if reach is None or a >= reach:
            total += b - a
            reach = b
        elif b > reach:
            total += b - reach
            reach = b
    return total


class _Context:
    """What every case needs, computed once: step limits per procedure version, and the
    working-day index of each date (dates repeat, so it is a dictionary look-up)."""

    def __init__(self, session: Any, calendar: Any, today: date) -> None:
        self.session = session
        self.calendar = calendar
        self.today = today
        self.limits: dict[tuple[str, str], dict[str, tuple[float, float]]] = {}
        self.index: dict[date, int] = {}
        self.epoch: date | None = None

    def steps(self, procedure_id: str, version: str) -> dict[str, tuple[float, float]]:
        """``{step_id: (untimed working days, committed working days)}``; empty when the
        definition is neither stored nor in the catalog."""
        key = (procedure_id, version)
        if key not in self.limits:
            from flows.casework import resolve_procedure
            from simulations.planning.cpm import as_working_days

            try:
                proc = resolve_procedure(procedure_id, version, session=self.session)
            except OnethingError:
                proc = None
            self.limits[key] = {
                s.id: (s.untimed_days(), as_working_days(s.committed.days, s.committed.unit))
                for s in (proc.steps if proc else [])
            }
        return self.limits[key]

    def day(self, day: date) -> int:
        """Working days from the first day asked about to ``day`` (differences count)."""
        n = self.index.get(day)
        if n is None:
            self.epoch = self.epoch or day
            n = self.index[day] = self.calendar.working_days_between(self.epoch, day)
        return n


def case_actuals(
    session: Any,
    *,
    start: date | None = None,
    end: date | None = None,
    as_of: date | None = None,
    procedure_id: str | None = None,
    calendar: Any = None,
    batch_rows: int = 5000,
) -> Iterator[tuple[CaseActual, list[StepActual]]]:
    """Stream each case accepted in ``[start, end]`` with its steps, as :class:`CaseActual`
    and :class:`StepActual` rows. Open cases and steps are counted up to ``as_of``
    (default: today). An empty period is an :class:`EventLogError`.
    """
    from sqlalchemy import select

    from flows.casework.history import cases_in_period, local_day, stream_rows
    from flows.casework.tables import Case, CaseStep

    if calendar is None:
        from process_models.calendar import default_calendar

        calendar = default_calendar()
    stmt = (select(Case.id, Case.procedure_id, Case.procedure_version, Case.status,
                   local_day(Case.accepted_at), local_day(Case.closed_at), Case.due_date,
                   CaseStep.step_id, CaseStep.department_id, CaseStep.status,
                   local_day(CaseStep.started_at), local_day(CaseStep.decided_at),
                   CaseStep.paused_working_days)
            .join(CaseStep, CaseStep.case_id == Case.id)
            .where(Case.accepted_at.is_not(None))
            .order_by(Case.id, CaseStep.id))
    stmt = cases_in_period(stmt, Case.accepted_at, start=start, end=end,
                           procedure_id=procedure_id)
    context = _Context(session, calendar, as_of or date.today())
    current: list[Sequence[Any]] = []
    found = False
    for row in stream_rows(session, stmt, batch_rows=batch_rows):
        if current and row[0] != current[0][0]:
            found = True
            yield _case(current, context)
            current = []
        current.append(row)
    if current:
        found = True
        yield _case(current, context)
    if not found:
        period = f"between {start or 'the first case'} and {end or 'today'}"
        raise EventLogError(f"no accepted cases {period}"
                            + (f" for '{procedure_id}'" if procedure_id else "")
                            + "; choose another period or run `onething demo-history`")


def _case(rows: list[Sequence[Any]], context: _Context) -> tuple[CaseActual, list[StepActual]]:
    case_id, proc_id, version, status, accepted, closed, due_date = rows[0][:7]
    limits = context.steps(proc_id, version)
    day = context.day
    today = context.today
    end = closed or today
    origin = day(accepted)

    steps: list[StepActual] = []
    busy: list[tuple[int, int]] = []
    applicant = 0
    untimed_longest = 0.0
    for row in rows:
        step_id, dept, st_status, began, decided, paused = row[7:]
        if began is None:
            continue
        paused = paused or 0
        stop = decided or (closed if st_status == "cancelled" and closed else today)
        first, last = day(began), day(stop)
        elapsed = max(0, last - first)
        untimed, committed = limits.get(step_id, (0.0, None))
        clock = max(0.0, elapsed - paused - untimed)
        steps.append(StepActual(
            case_id, proc_id, step_id, dept, st_status, began, decided, elapsed, paused,
            untimed, clock, committed, committed is not None and clock > committed,
        ))
        busy.append((max(0, first - origin), max(0, last - origin)))
        applicant = max(applicant, paused)
        untimed_longest = max(untimed_longest, untimed)
    elapsed = max(0, day(end) - origin)
    department = max(0, min(elapsed, _covered(busy)) - applicant)
    applicant = min(applicant, elapsed)
    committed = day(due_date) - origin if due_date else None
    overdue = due_date is not None and end > due_date
    return CaseActual(
        case_id, proc_id, status, accepted, closed, due_date, elapsed, department, applicant,
        max(0, elapsed - department - applicant),
        max(0, elapsed - applicant - int(untimed_longest)), committed, overdue,
    ), steps
