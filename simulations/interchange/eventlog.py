"""Event logs for process mining: XES and OCEL 2.0 out, XES and CSV in.

An :class:`Event` is one thing that happened to a case: a step started, a department
decided (approve, reject, or 补正 ``supplement``), a certificate was issued. The writers
take events grouped by case and in time order within each case (which is how
:func:`flows.casework.history.history_events` streams them from the case tables), write
them row by row and never hold the whole log in memory;
:func:`simulations.interchange.export.export_events` picks one:

- :func:`~simulations.interchange.xes.write_xes` — IEEE 1849 XES, one trace per case;
  activity ``step_id:kind``, ``lifecycle:transition`` start/complete/suspend,
  ``org:group`` the department.
- :func:`~simulations.interchange.ocel.write_ocel_json` /
  :func:`~simulations.interchange.ocel.write_ocel_sqlite` — OCEL 2.0, event types ``start``,
  ``approve``, ``reject``, ``supplement``, ``certificate``; objects ``case``, ``step``
  (one per case and step), ``department`` and ``certificate``, related to their events
  and to each other.

Every writer writes to a temporary file next to the target and moves it into place at
the end, so a failure (an empty period, a broken row) leaves nothing behind.

:func:`simulations.interchange.read.read_log` reads the XES or CSV log of another
system back as :class:`~simulations.interchange.read.LogEvent` rows for fitting durations
(:mod:`simulations.planning.fitting`); each bad row is one
:class:`~process_models.errors.EventLogError` naming the file and line.

Naive datetimes are read as China Standard Time, the clock of the service centre
(:data:`process_models.calendar.SERVICE_CENTRE_TZ`, UTC+8).

>>> from datetime import datetime
>>> e = Event("C-1", "licence", "start", datetime(2025, 1, 24, 9), department_id="samr")
>>> e.activity, e.transition, local_iso(e.at)
('licence:start', 'start', '2025-01-24T09:00:00.000+08:00')
"""

from __future__ import annotations

import functools
import gc
import os
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from itertools import groupby, islice
from operator import itemgetter, le
from pathlib import Path
from typing import Any, NamedTuple

from process_models.calendar import local_time
from process_models.errors import EventLogError

EVENT_KINDS = ("start", "approve", "reject", "supplement", "certificate")
TRANSITIONS = {"start": "start", "approve": "complete", "reject": "complete",
                "supplement": "suspend", "certificate": "complete"}


def local_iso(at: datetime) -> str:
    """``at`` in service-centre time, ISO 8601 to the millisecond (naive = already local).

    >>> from datetime import datetime, timezone
    >>> local_iso(datetime(2025, 1, 24, 1, 30, tzinfo=timezone.utc))
    '2025-01-24T09:30:00.000+08:00'
    """
    return local_time(at).isoformat(timespec="milliseconds")


class Event(NamedTuple):
    """One event of a case's history (a tuple: cheap to make by the million).

    ``kind`` is one of :data:`EVENT_KINDS`; ``certificate`` holds the certificate number
    for ``certificate`` events, ``resource`` who decided for decisions. A naive ``at`` is
    service-centre time; ``at_text`` may carry it already formatted (see :attr:`time`).
    """

    case_id: str
    step_id: str
    kind: str
    at: datetime
    department_id: str | None = None
    resource: str | None = None
    certificate: str | None = None
    procedure_id: str | None = None
    at_text: str | None = None

    @property
    def time(self) -> str:
        """``at`` as ISO 8601 text in service-centre time (as the database formatted it,
        when the event came from the case tables)."""
        return self.at_text or local_iso(self.at)

    @property
    def activity(self) -> str:
        """``step_id:kind``, the XES activity name."""
        return f"{self.step_id}:{self.kind}"

    @property
    def transition(self) -> str:
        """The XES lifecycle transition: start, complete or suspend."""
        return TRANSITIONS[self.kind]


class AtomicFile:
    """Write to ``.name.tmp`` beside ``path``; move into place only on success."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.name}.tmp")

    def __enter__(self) -> Path:
        self.tmp.unlink(missing_ok=True)
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)


def without_cycle_collection(writer: Callable[..., int]) -> Callable[..., int]:
    """Run ``writer`` with Python's cycle collector paused: a log is millions of tuples and
    strings, none of them in a cycle, which the collector would otherwise walk again and
    again while a batch of them piles up (a sixth of the time of a large export)."""
    @functools.wraps(writer)
    def paused(*args: Any, **kwargs: Any) -> int:
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return writer(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()

    return paused


_case_of = itemgetter(0)
_at_of = itemgetter(3)


def by_case(events: Iterable[Event]) -> Iterator[tuple[str, list[Event]]]:
    """Consecutive runs of one case's events; checks grouping and time order (in C: the
    runs come from ``groupby``, the order is one ``map`` over each run's times)."""
    seen: set[str] = set()
    for case_id, group in groupby(events, _case_of):
        if case_id in seen:
            raise EventLogError(
                f"events of case '{case_id}' are not together; sort them by case first")
        seen.add(case_id)
        run = list(group)
        times = list(map(_at_of, run))
        if not all(map(le, times, islice(times, 1, None))):
            i = next(i for i in range(1, len(run)) if times[i] < times[i - 1])
            raise EventLogError(
                f"case '{case_id}': event {run[i].activity} at {times[i].isoformat()} comes "
                f"after {run[i - 1].activity} at {times[i - 1].isoformat()}; sort each case "
                "by time")
        yield case_id, run
    if not seen:
        raise EventLogError("no events to export; choose a period that has cases")

