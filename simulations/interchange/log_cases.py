"""The cases of an imported log: its events grouped by case, start and complete paired.

:func:`log_cases` reads :class:`~simulations.interchange.read.LogEvent` rows of a log
grouped by case (as XES always is, and as platform exports by case are) and yields one
:class:`LogCase` as soon as the next case begins, so memory holds one case, not the log.
A ``start`` is paired with the next ``complete`` of the same activity in the case (first
in, first out); a ``complete`` without a start is a run whose start is unknown. Runs are
ordered by completion, ties in the file's order.

>>> from datetime import datetime
>>> from simulations.interchange.read import LogEvent
>>> e = [LogEvent("1", "a", datetime(2025, 3, 3, 9), "start"),
...      LogEvent("1", "a", datetime(2025, 3, 3, 11)), LogEvent("1", "b", datetime(2025, 3, 4))]
>>> [(r.activity, r.start is not None) for r in next(log_cases(e)).runs]
[('a', True), ('b', False)]
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import groupby
from operator import itemgetter
from typing import NamedTuple

import numpy as np

from process_models.errors import EventLogError
from process_models.reading_problems import reading_error

__all__ = [
    "ActivityRun",
    "LogCase",
    "LogTable",
    "case_table",
    "log_cases",
    "wall_us",
]

US_PER_DAY = 86_400_000_000
_US = timedelta(microseconds=1)


class ActivityRun(NamedTuple):
    """One run of an activity in a case: ``start`` is ``None`` when the log has no start
    event for it (a tuple: one is made per event)."""

    activity: str
    end: datetime
    start: datetime | None = None
    resource: str | None = None
    group: str | None = None


@dataclass(slots=True)
class LogCase:
    """One case of a log: its runs in completion order and its case attributes."""

    case_id: str
    runs: list[ActivityRun] = field(default_factory=list)
    first_at: datetime | None = None
    last_at: datetime | None = None
    deadline: datetime | None = None
    case_start: datetime | None = None
    case_end: datetime | None = None

    @property
    def started_at(self) -> datetime:
        """The case start column when the log has one, else its first event."""
        return self.case_start or self.first_at

    @property
    def trace(self) -> tuple[str, ...]:
        """The activities in completion order."""
        return tuple(r.activity for r in self.runs)


def _case(case_id: str, events: list) -> LogCase:
    """One case from its events (in time order)."""
    case = LogCase(case_id, first_at=events[0].at, last_at=events[-1].at,
                   deadline=next((e.deadline for e in events if e.deadline), None),
                   case_start=next((e.case_start for e in events if e.case_start), None),
                   case_end=next((e.case_end for e in events if e.case_end), None))
    if not any(e.transition == "start" for e in events):
        case.runs = [ActivityRun(e.activity, e.at, None, e.resource, e.group)
                     for e in events if e.transition == "complete"]
        return case
    started: dict[str, list[datetime]] = {}
    for e in events:
        if e.transition == "start":
            started.setdefault(e.activity, []).append(e.at)
        elif e.transition == "complete":
            waiting = started.get(e.activity)
            case.runs.append(ActivityRun(e.activity, e.at, waiting.pop(0) if waiting else None,
                                         e.resource, e.group))
    return case


def log_cases(events: Iterable, *, file: str | None = None) -> Iterator[LogCase]:
    """The cases of ``events`` (grouped by case), each yielded when the next one begins.

    A case whose events come back after another case's is one error naming both lines and
    the fix (sort the log by case, then time).
    """
    done: dict[str, int | None] = {}
    for case_id, group in groupby(events, itemgetter(0)):
        run = list(group)
        if case_id in done:
            raise reading_error("log_cases_apart", {"case": f"'{case_id}'",
                                                    "first": done[case_id]},
                                kind=EventLogError, file=file, line=run[0].line)
        done[case_id] = run[0].line
        yield _case(case_id, run)
    if not done:
        raise reading_error("log_no_events", kind=EventLogError, file=file)


def wall_us(at: datetime) -> int:
    """``at``'s wall clock (in its own offset) in microseconds since the start of day 0 of
    the proleptic calendar, so that ``wall_us(at) // US_PER_DAY == at.toordinal()``.

    >>> wall_us(datetime(1, 1, 1, 0, 0, 1)) - US_PER_DAY
    1000000
    """
    return ((at.toordinal() * 86_400 + at.hour * 3600 + at.minute * 60 + at.second)
            * 1_000_000 + at.microsecond)


def _utc_us(at: datetime) -> int:
    """The instant of ``at`` in microseconds (a naive ``at`` is read in its own clock: a log
    never mixes the two)."""
    offset = at.utcoffset()
    return wall_us(at) - (offset // _US if offset else 0)


@dataclass(frozen=True, slots=True)
class LogTable:
    """The cases of a log as columns: one row per run, cases together, runs in completion
    order within each case; times as ``*_utc`` instants (to order them) and ``*_wall`` wall
    clocks (:func:`wall_us`, to count working days), both in integer microseconds.

    ``run_case`` indexes the per-case columns, ``run_activity`` :attr:`activities` and
    ``run_department`` :attr:`departments` (the run's group, else its resource, else
    ``unknown``); a run without a start event has ``has_start`` false. Only cases with a
    completed run are held; ``first``/``last`` are a case's first and last events (a start
    event included) and ``started`` its case start column or else its first event.
    """

    activities: list[str]
    departments: list[str]
    run_case: np.ndarray
    run_activity: np.ndarray
    run_department: np.ndarray
    end_utc: np.ndarray
    end_wall: np.ndarray
    start_utc: np.ndarray
    start_wall: np.ndarray
    has_start: np.ndarray
    first_utc: np.ndarray
    first_wall: np.ndarray
    last_utc: np.ndarray
    last_wall: np.ndarray
    started_utc: np.ndarray
    started_wall: np.ndarray

    @property
    def cases(self) -> int:
        return len(self.first_utc)


class NameCodes(dict):
    """Names to codes, in the order first seen."""

    def __missing__(self, name: str) -> int:
        self[name] = code = len(self)
        return code


def case_table(cases: Iterable[LogCase]) -> LogTable:
    """The cases that hold a completed run, as a :class:`LogTable`.

    >>> c = LogCase("1", [ActivityRun("a", datetime(2025, 3, 3, 9), datetime(2025, 3, 3, 8))],
    ...             datetime(2025, 3, 3, 8), datetime(2025, 3, 3, 9))
    >>> t = case_table([c, LogCase("2")])
    >>> t.cases, t.activities, bool(t.has_start[0]), int(t.end_wall[0] - t.start_wall[0])
    (1, ['a'], True, 3600000000)
    """
    activities, departments = NameCodes(), NameCodes()
    runs: list[tuple] = []
    ends: list[tuple] = []
    for case in cases:
        if not case.runs:
            continue
        k = len(ends)
        for r in case.runs:
            start = r.start or r.end
            runs.append((k, activities[r.activity], departments[r.group or r.resource
                                                                 or "unknown"],
                         _utc_us(r.end), wall_us(r.end), _utc_us(start), wall_us(start),
                         r.start is not None))
        ends.append((_utc_us(case.first_at), wall_us(case.first_at), _utc_us(case.last_at),
                     wall_us(case.last_at), _utc_us(case.started_at), wall_us(case.started_at)))
    run_cols = [np.array(c, dtype=np.int64) for c in zip(*runs, strict=True)] if runs else \
        [np.zeros(0, np.int64)] * 8
    case_cols = [np.array(c, dtype=np.int64) for c in zip(*ends, strict=True)] if ends else \
        [np.zeros(0, np.int64)] * 6
    return LogTable(list(activities), list(departments), *run_cols[:7],
                    run_cols[7].astype(bool), *case_cols)
