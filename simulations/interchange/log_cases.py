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
from datetime import datetime
from itertools import groupby
from operator import itemgetter
from typing import NamedTuple

from process_models.errors import EventLogError

__all__ = [
    "ActivityRun",
    "LogCase",
    "log_cases",
]


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
            raise EventLogError(
                f"the events of case '{case_id}' are not together (it first appears at "
                f"line {done[case_id]}, again here after other cases); sort the log by "
                "case, then by time", file=file, line=run[0].line)
        done[case_id] = run[0].line
        yield _case(case_id, run)
    if not done:
        raise EventLogError("the log holds no events", file=file)
