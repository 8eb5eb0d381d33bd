"""Auditing another system's log: 超期率, cycle times and where the time goes.

:func:`audit_log` reads the cases of a log (:func:`~simulations.interchange.log_cases.
log_cases`) once and counts:

- **超期率** — the share of *closed* cases that ended after their limit. The limit is the
  case's deadline attribute, or a number of working or calendar days after the case
  started (:class:`CaseLimit`). Cases still open at the end of the log are right-censored:
  counted apart (and how many of them are already past their limit), never as on time.
- **Cycle time** — first to last event, or the case start and end attributes when the log
  has them; P50 and P90 in calendar days and in working days of the calendar.
- **Where the time goes** — per activity and per resource: *waiting* from the case's
  previous completion to the run's start, and *working* from start to completion (all of a
  run is waiting when the log has no start events), in working days.
- **Per month** of case start: cases, closed cases, overdue cases and the share.

A case is closed when the log's case-end attribute holds a time; without that attribute,
when its last activity is one that ends at least ``end_share`` of the cases (an end
activity of the log).

Every figure is measured on the log (basis ``fitted``, the log, its period and its case
count as source: :attr:`LogAudit.source`).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np

from process_models.errors import EventLogError
from simulations.interchange.log_cases import LogCase
from simulations.planning.fitting import working_days_elapsed

__all__ = [
    "CaseLimit",
    "LogAudit",
    "audit_log",
]

END_SHARE = 0.05
_DAY_SECONDS = 86400.0


@dataclass(frozen=True)
class CaseLimit:
    """The limit each case is held to: its deadline attribute (``days`` is ``None``), or
    ``days`` working or calendar days after it started (the start day not counted)."""

    days: float | None = None
    unit: Literal["working", "calendar"] = "working"

    def due(self, case: LogCase, calendar: Any) -> datetime | None:
        """When ``case`` is due, or ``None`` when it has no deadline."""
        if self.days is None:
            return case.deadline
        start = case.started_at
        if self.unit == "calendar":
            return start + timedelta(days=self.days)
        day = calendar.add_working_days(start.date(), self.days)
        return datetime.combine(day, datetime.max.time(), start.tzinfo)

    def describe(self) -> str:
        """The limit in words."""
        if self.days is None:
            return "the case's deadline attribute"
        return f"{self.days:g} {self.unit} days after the case starts"


@dataclass
class _Time:
    runs: int = 0
    waiting: float = 0.0
    working: float = 0.0

    def as_dict(self) -> dict:
        return {"runs": self.runs, "waiting_working_days": round(self.waiting, 3),
                "working_working_days": round(self.working, 3)}


@dataclass
class LogAudit:
    """What :func:`audit_log` counted (see the module docstring)."""

    log: str
    limit: str
    cases: int = 0
    closed_cases: int = 0
    open_cases: int = 0
    open_past_limit: int = 0
    overdue_cases: int = 0
    without_limit: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    cycle_days: list[float] = field(default_factory=list)
    cycle_working_days: list[float] = field(default_factory=list)
    by_activity: dict[str, _Time] = field(default_factory=lambda: defaultdict(_Time))
    by_resource: dict[str, _Time] = field(default_factory=lambda: defaultdict(_Time))
    by_month: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))

    @property
    def overdue_share(self) -> float:
        """超期率: overdue closed cases over closed cases with a limit."""
        judged = self.closed_cases - self.without_limit
        return self.overdue_cases / judged if judged else math.nan

    def quantile_days(self, q: float, *, working: bool = False) -> float:
        """The ``q`` quantile of the closed cases' cycle time (calendar or working days)."""
        xs = self.cycle_working_days if working else self.cycle_days
        return float(np.quantile(xs, q)) if xs else math.nan

    @property
    def source(self) -> str:
        """The log, its period and case count: the source of every figure."""
        period = (f"{self.first_at:%Y-%m-%d}–{self.last_at:%Y-%m-%d}"
                  if self.first_at and self.last_at else "empty")
        return f"{self.log}, {period}, {self.cases} cases"

    def as_dict(self) -> dict:
        def r(x: float) -> float | None:
            return None if math.isnan(x) else round(x, 4)

        return {
            "log": self.log, "basis": "fitted", "source": self.source, "limit": self.limit,
            "first_day": self.first_at and f"{self.first_at:%Y-%m-%d}",
            "last_day": self.last_at and f"{self.last_at:%Y-%m-%d}",
            "cases": self.cases, "closed_cases": self.closed_cases,
            "open_cases": self.open_cases, "open_past_limit": self.open_past_limit,
            "overdue_cases": self.overdue_cases, "closed_without_limit": self.without_limit,
            "overdue_share": r(self.overdue_share),
            "p50_days": r(self.quantile_days(0.5)), "p90_days": r(self.quantile_days(0.9)),
            "p50_working_days": r(self.quantile_days(0.5, working=True)),
            "p90_working_days": r(self.quantile_days(0.9, working=True)),
            "by_activity": {k: v.as_dict() for k, v in sorted(self.by_activity.items())},
            "by_resource": {k: v.as_dict() for k, v in sorted(self.by_resource.items())},
            "by_month": {m: {"cases": c["cases"], "closed": c["closed"],
                             "overdue": c["overdue"],
                             "overdue_share": r(c["overdue"] / c["judged"] if c["judged"]
                                                else math.nan)}
                         for m, c in sorted(self.by_month.items())},
        }


def _time_spent(audit: LogAudit, case: LogCase, calendar: Any) -> None:
    previous = case.first_at
    for run in case.runs:
        began = run.start or run.end
        waiting = working_days_elapsed(previous, began, calendar) if began > previous else 0.0
        working = working_days_elapsed(run.start, run.end, calendar) if run.start else 0.0
        for table, key in ((audit.by_activity, run.activity),
                           (audit.by_resource, run.resource or "—")):
            t = table[key]
            t.runs += 1
            t.waiting += waiting
            t.working += working
        previous = max(previous, run.end)


def audit_log(cases: Iterable[LogCase], *, log: str, limit: CaseLimit, calendar: Any,
              has_case_end: bool = False, end_share: float = END_SHARE) -> LogAudit:
    """Count 超期率, cycle times and where the time goes over the ``cases`` of one log.

    Parameters
    ----------
    cases : iterable of LogCase
        The log's cases, read once.
    log : str
        The log's name, for the figures' source.
    limit : CaseLimit
        What each case is held to.
    calendar : WorkingCalendar
        Working days for limits and for the time spent.
    has_case_end : bool
        The log has a case-end attribute: an empty one means the case is still open.
    end_share : float
        Without a case-end attribute, a case is closed when its last activity ends at
        least this share of the cases.

    Examples
    --------
    >>> from datetime import datetime
    >>> from process_models.calendar import country_calendar
    >>> from simulations.interchange.log_cases import ActivityRun, LogCase
    >>> def case(i, d):
    ...     a, b = datetime(2025, 3, 3, 9), datetime(2025, 3, 3 + d, 9)
    ...     return LogCase(str(i), [ActivityRun("in", a), ActivityRun("out", b)], a, b)
    >>> r = audit_log([case(1, 1), case(2, 4)], log="x.csv", calendar=country_calendar(),
    ...               limit=CaseLimit(2, "working"))
    >>> r.closed_cases, r.overdue_cases, r.overdue_share, r.quantile_days(0.5)
    (2, 1, 0.5, 2.5)
    """
    audit = LogAudit(log=log, limit=limit.describe())
    summaries: list[tuple[LogCase, datetime | None]] = []
    endings: Counter = Counter()
    for case in cases:
        audit.cases += 1
        start = case.started_at
        audit.first_at = min(audit.first_at or start, start)
        audit.last_at = max(audit.last_at or case.last_at, case.last_at)
        _time_spent(audit, case, calendar)
        endings[case.runs[-1].activity if case.runs else None] += 1
        summaries.append((LogCase(case.case_id, case.runs[-1:], case.first_at, case.last_at,
                                  case.deadline, case.case_start, case.case_end),
                          limit.due(case, calendar)))
    if not audit.cases:
        raise EventLogError("the log holds no cases", file=log)
    ends = {a for a, n in endings.items() if a is not None and n >= end_share * audit.cases}
    for case, due in summaries:
        _judge(audit, case, due, calendar, ends if not has_case_end else None)
    return audit


def _judge(audit: LogAudit, case: LogCase, due: datetime | None, calendar: Any,
           ends: set[str] | None) -> None:
    month = audit.by_month[f"{case.started_at:%Y-%m}"]
    month["cases"] += 1
    closed = case.case_end is not None if ends is None else bool(
        case.runs and case.runs[-1].activity in ends)
    if not closed:
        audit.open_cases += 1
        if due is not None and audit.last_at > due:
            audit.open_past_limit += 1
        return
    end = case.case_end or case.last_at
    audit.closed_cases += 1
    month["closed"] += 1
    audit.cycle_days.append(max(0.0, (end - case.started_at).total_seconds() / _DAY_SECONDS))
    audit.cycle_working_days.append(working_days_elapsed(case.started_at, end, calendar))
    if due is None:
        audit.without_limit += 1
        return
    month["judged"] += 1
    if end > due:
        audit.overdue_cases += 1
        month["overdue"] += 1
