"""Discovering a procedure from the cases of a real log.

:func:`discover` turns the cases of a log (:func:`~simulations.interchange.log_cases.
log_cases`) into a :class:`~process_models.procedure.Procedure` the simulator runs:

- **Steps** are the activities that run in at least ``min_share`` of the cases; the rarer
  ones are folded away and listed (:attr:`Discovery.folded`). Names are the activities'
  own; ids are the names made safe (spaces → ``_``).
- **Dependencies**: step *b* depends on *a* when, in at least ``dependency_share`` of the
  cases that run both, *b* begins (its first start, or its first completion without start
  events) after *a*'s last completion (a start at that very moment counts as after;
  completions sharing a timestamp go by the order in the file). The strongest
  are added first, one that would close a cycle is left out, and implied ones are removed
  (transitive reduction). Steps with no order between them stay parallel. Every
  dependency is ``practice`` — observed habit — until a planner marks it ``legal``.
- **Durations** per step, in working days of the calendar, run from the step being ready
  (its predecessors' last completion in the case, or the case's first event) to its last
  completion, so waiting, rework and 补正 loops are inside it. Where the log has start
  events, the waiting before the first start and the processing after it are reported
  apart (:attr:`StepDiscovery.waiting_p50`, :attr:`StepDiscovery.processing_p50`). A step
  every case runs is fitted by :func:`~simulations.planning.fitting.fit_distribution`; an
  optional one is an empirical distribution holding a 0 for each case that skips it (and
  at least ``MIN_RUN_DAYS`` for a run), so the simulator skips it as often as the log did. Its committed limit is the P90 of the
  runs (an observed figure, not a legal limit).
- **Rework**: the share of the step's cases that run it more than once; **optional
  steps**: the share of cases that run it at all; **departments**: the group (or else the
  resource) that completes a step most often.
- **Arrivals** by weekday and hour of case start, as multipliers of a mean rate per
  working weekday, and the share of cases that run a kept step more than once as the
  rework probability (the arrival plan of :mod:`simulations.capacity.plans`).

Every number the procedure holds has basis ``fitted`` and the log, its period and its
number of cases as source (:attr:`Discovery.source`).
"""

from __future__ import annotations

import bisect
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from process_models.calendar import WEEKDAYS
from process_models.errors import EventLogError
from process_models.procedure import (
    MAX_DAYS,
    MAX_STEPS,
    Department,
    Dependency,
    Limit,
    Procedure,
    Provenance,
    Source,
    Step,
)
from simulations.interchange.log_cases import LogCase
from simulations.planning.fitting import fit_distribution, working_days_elapsed

__all__ = [
    "Discovery",
    "StepDiscovery",
    "discover",
]

MIN_SHARE = 0.05
DEPENDENCY_SHARE = 0.9
ALWAYS_SHARE = 0.995
MIN_RUN_DAYS = 0.0001
_UNSAFE = re.compile(r"[^\w+\-]+")


@dataclass(frozen=True)
class StepDiscovery:
    """What the log says of one discovered step."""

    step_id: str
    activity: str
    cases: int
    share: float
    rework_share: float
    department: str
    durations: list[float | None]
    waiting_p50: float | None = None
    processing_p50: float | None = None

    def as_dict(self) -> dict:
        return {"step_id": self.step_id, "activity": self.activity, "cases": self.cases,
                "share": round(self.share, 4), "rework_share": round(self.rework_share, 4),
                "department": self.department,
                "waiting_p50_working_days": self.waiting_p50,
                "processing_p50_working_days": self.processing_p50}


@dataclass
class Discovery:
    """A discovered procedure and what it was discovered from."""

    procedure: Procedure
    source: str
    cases: int
    steps: list[StepDiscovery]
    folded: list[tuple[str, int]]
    dependencies: list[tuple[str, str, float]]
    arrivals: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"procedure_id": self.procedure.id, "basis": "fitted", "source": self.source,
                "cases": self.cases, "steps": [s.as_dict() for s in self.steps],
                "folded": [{"activity": a, "cases": n} for a, n in self.folded],
                "dependencies": [{"step": b, "after": a, "share": round(s, 4)}
                                 for a, b, s in self.dependencies],
                "arrivals": self.arrivals}


def safe_id(text: str) -> str:
    """``text`` as an id: runs of characters an id may not hold become ``_``.

    >>> safe_id("T02 Check confirmation of receipt"), safe_id("受理/审查")
    ('T02_Check_confirmation_of_receipt', '受理_审查')
    """
    return _UNSAFE.sub("_", text.strip()).strip("_")[:200] or "step"


class _Case:
    """One case reduced to what discovery needs: per activity the order keys of its first
    begin and its last completion, its first start, its number of runs and its last
    completion. Runs are in completion order, so a completion's key is its position; a
    start's key lies just below the position of the first completion after it, so *b*
    begins after *a* ends exactly when *b*'s start is at or after *a*'s completion (or,
    without start events, when *b* completes later in the file)."""

    __slots__ = ("acts", "first_at", "last_at", "started_at")

    def __init__(self, case: LogCase) -> None:
        self.first_at, self.last_at, self.started_at = case.first_at, case.last_at, \
            case.started_at
        self.acts: dict[str, list] = {}
        ends: list[datetime] | None = None
        for i, run in enumerate(case.runs):
            a = self.acts.get(run.activity)
            if a is None:
                begin: float = i
                if run.start is not None:
                    ends = ends or [r.end for r in case.runs]
                    begin = bisect.bisect_right(ends, run.start) - 0.5
                self.acts[run.activity] = [begin, run.start, i, 1, run.end]
            else:
                a[2], a[3], a[4] = i, a[3] + 1, run.end


def _order(cases: list[_Case], names: list[str], share: float
           ) -> list[tuple[str, str, float]]:
    """Dependencies (a, b, share of the cases running both where b begins after a ends),
    strongest first, without cycles, transitively reduced."""
    shapes: Counter = Counter()  # a case's begins and ends in time order: its shape
    for c in cases:
        marks = [(v[0], 0, a) for a, v in c.acts.items()] + \
            [(v[2], 1, a) for a, v in c.acts.items()]
        marks.sort()
        shapes[tuple((a, kind) for _, kind, a in marks)] += 1
    both: Counter = Counter()
    after: Counter = Counter()
    for shape, count in shapes.items():
        place = {mark: i for i, mark in enumerate(shape)}
        acts = [a for a, kind in shape if kind == 0]
        for a in acts:
            for b in acts:
                if a != b:
                    both[a, b] += count
                    if place[b, 0] > place[a, 1]:
                        after[a, b] += count
    candidates = sorted(((after[k] / n, k) for k, n in both.items() if after[k] / n >= share),
                        key=lambda t: (-t[0], names.index(t[1][0]), names.index(t[1][1])))
    succ: dict[str, set[str]] = defaultdict(set)

    def reaches(x: str, y: str) -> bool:
        stack, seen = [x], set()
        while stack:
            n = stack.pop()
            if n == y:
                return True
            if n not in seen:
                seen.add(n)
                stack.extend(succ[n])
        return False

    kept: dict[tuple[str, str], float] = {}
    for s, (a, b) in candidates:
        if not reaches(b, a):
            succ[a].add(b)
            kept[a, b] = s
    for a, b in list(kept):
        succ[a].discard(b)
        if not reaches(a, b):
            succ[a].add(b)
        else:
            del kept[a, b]
    return [(a, b, s) for (a, b), s in kept.items()]


def _arrivals(starts: list[datetime], first: date, last: date) -> dict[str, Any]:
    """Mean cases per working weekday, with weekday and hour multipliers."""
    weekdays = Counter(s.weekday() for s in starts)
    hours = Counter(s.hour for s in starts)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    per_weekday = Counter(d.weekday() for d in days)
    open_days = sum(per_weekday[w] for w in range(5)) or 1
    per_day = sum(weekdays[w] for w in range(7)) / open_days
    rate = {w: weekdays[w] / per_weekday[w] for w in range(7) if per_weekday[w]}
    mean_hour = len(starts) / max(1, len(hours))
    return {"per_day": round(per_day, 4),
            "weekday": {WEEKDAYS[w]: round(r / per_day, 4) if per_day else 0.0
                        for w, r in rate.items()},
            "hour": {h: round(n / mean_hour, 4) for h, n in sorted(hours.items())}}


def discover(cases: Iterable[LogCase], *, log: str, calendar: Any,
             min_share: float = MIN_SHARE, dependency_share: float = DEPENDENCY_SHARE,
             procedure_id: str | None = None) -> Discovery:
    """Discover a procedure from the cases of one log (see the module docstring).

    Parameters
    ----------
    cases : iterable of LogCase
        The log's cases (read once, each kept as its activities' times).
    log : str
        The log's name, part of every number's source.
    calendar : WorkingCalendar
        Working days for the durations.
    min_share, dependency_share : float
        Steps run in at least ``min_share`` of the cases; a dependency holds in at least
        ``dependency_share`` of the cases that run both steps.
    procedure_id : str, optional
        The id of the procedure (default: the log's name made safe).

    Examples
    --------
    >>> from datetime import datetime
    >>> from process_models.calendar import country_calendar
    >>> from simulations.interchange.log_cases import ActivityRun, LogCase
    >>> def case(i, *acts):
    ...     runs = [ActivityRun(a, datetime(2025, 3, 3 + d, 9)) for a, d in acts]
    ...     return LogCase(str(i), runs, runs[0].end, runs[-1].end)
    >>> log = [case(1, ("受理", 0), ("审查", 2), ("发证", 3)),
    ...        case(2, ("受理", 0), ("审查", 1), ("发证", 4)), case(3, ("受理", 0), ("发证", 1))]
    >>> d = discover(log, log="demo.csv", calendar=country_calendar())
    >>> [(s.id, s.predecessors) for s in d.procedure.steps]
    [('受理', []), ('审查', ['受理']), ('发证', ['审查'])]
    >>> round(d.steps[1].share, 2), d.procedure.steps[1].duration.kind
    (0.67, 'empirical')
    """
    counts: Counter = Counter()
    runs_of: dict[str, Counter] = defaultdict(Counter)
    position: Counter = Counter()
    seen: list[_Case] = []
    for case in cases:
        if case.runs:
            seen.append(_Case(case))
            counts.update(seen[-1].acts.keys())
            span = max(1, len(case.runs) - 1)
            for i, r in enumerate(case.runs):
                runs_of[r.activity][r.group or r.resource or "unknown"] += 1
                position[r.activity] += i / span
    n = len(seen)
    if not n:
        raise EventLogError("the log holds no completed activity to discover steps from",
                            file=log)
    names = [a for a, k in counts.most_common() if k >= min_share * n]
    folded = [(a, k) for a, k in counts.most_common() if k < min_share * n]
    if len(names) > MAX_STEPS:
        raise EventLogError(f"{len(names)} activities run in at least {min_share:.0%} of the "
                            f"cases, more than the {MAX_STEPS} steps a procedure may hold; "
                            "raise --min-share", file=log)
    first = min(c.started_at for c in seen)
    last = max(c.last_at for c in seen)
    source = f"{log}, {first:%Y-%m-%d}–{last:%Y-%m-%d}, {n} cases"
    order = sorted(names, key=lambda a: position[a] / sum(runs_of[a].values()))
    kept = set(order)
    for c in seen:
        if not kept.issuperset(c.acts):
            c.acts = {a: v for a, v in c.acts.items() if a in kept}
    deps = _order(seen, order, dependency_share)
    preds: dict[str, list[str]] = defaultdict(list)
    for a, b, _ in deps:
        preds[b].append(a)
    ids = {a: safe_id(a) for a in order}
    if len(set(ids.values())) < len(ids):  # names that differ only in unsafe characters
        ids = {a: f"{i}-{step_id}"[:200] for i, (a, step_id) in enumerate(ids.items(), 1)}
    found = [_step_discovery(a, ids[a], seen, preds[a], runs_of[a], counts[a], n, calendar)
             for a in order]
    proc = _procedure(found, deps, preds, log, source, procedure_id, n)
    arrivals = _arrivals([c.started_at for c in seen], first.date(), last.date())
    reworked = sum(1 for c in seen if any(v[3] > 1 for v in c.acts.values()))
    arrivals["rework_probability"] = round(reworked / n, 4)
    return Discovery(proc, source, n, found, folded, deps, arrivals)


def _step_discovery(activity: str, step_id: str, cases: list[_Case], preds: list[str],
                    groups: Counter, count: int, n: int, calendar: Any) -> StepDiscovery:
    durations, waiting, processing, rework = [], [], [], 0
    for c in cases:
        mine = c.acts.get(activity)
        if mine is None:
            durations.append(None)
            continue
        ends = [c.acts[p][4] for p in preds if p in c.acts]
        ready = max(ends) if ends else c.first_at
        end = mine[4]
        durations.append(working_days_elapsed(ready, end, calendar) if end > ready else 0.0)
        if mine[1] is not None:
            waiting.append(working_days_elapsed(ready, mine[1], calendar)
                           if mine[1] > ready else 0.0)
            processing.append(working_days_elapsed(mine[1], end, calendar))
        rework += mine[3] > 1
    return StepDiscovery(
        step_id, activity, count, count / n, rework / count,
        groups.most_common(1)[0][0], durations,
        round(float(np.quantile(waiting, 0.5)), 4) if waiting else None,
        round(float(np.quantile(processing, 0.5)), 4) if processing else None)


def _procedure(found: list[StepDiscovery], deps, preds, log: str, source: str,
               procedure_id: str | None, n: int) -> Procedure:
    ids = {s.activity: s.step_id for s in found}
    departments = {s.department: safe_id(s.department) for s in found}
    steps = []
    for s in found:
        runs = [d for d in s.durations if d is not None]
        if s.share >= ALWAYS_SHARE:
            dist = fit_distribution(runs)
        else:
            dist = fit_distribution([0.0 if d is None else max(MIN_RUN_DAYS, d)
                                     for d in s.durations], kind="empirical")
            dist = dist.model_copy(update={"fit": f"{dist.fit}, 0 for each case that skips "
                                                  f"the step; {source}"})
        p90 = min(MAX_DAYS, round(float(np.quantile(runs, 0.9)), 2))
        notes = [f"runs in {s.cases} of {n} cases ({s.share:.1%})"]
        if s.rework_share:
            notes.append(f"rework (runs again) in {s.rework_share:.1%} of them")
        if s.waiting_p50 is not None:
            notes.append(f"waiting P50 {s.waiting_p50:g}, processing P50 "
                         f"{s.processing_p50:g} working days")
        steps.append(Step(
            id=ids[s.activity], name=s.activity, department=departments[s.department],
            provenance={"links": Provenance(basis="fitted", source=source)},
            committed=Limit(days=p90, basis="fitted", source=source,
                            note="P90 of the observed runs, not a legal limit"),
            depends_on=[Dependency(step=ids[p], kind="practice", basis="fitted", source=source)
                        for p in preds[s.activity]],
            duration=dist.model_copy(update={"fit": dist.fit if s.share < ALWAYS_SHARE
                                             else f"{dist.fit}; {source}"}),
            note="; ".join(notes)))
    name = safe_id(procedure_id or log.rsplit("/", 1)[-1].split(".", 1)[0])
    return Procedure(
        id=name, name=f"{name}（从日志发现）", name_en=f"{name} (discovered from a log)",
        form="before", status="draft", sources=[Source(title=source, note="onething discover")],
        departments=[Department(id=i, name=d) for d, i in departments.items()], steps=steps,
        note=f"discovered from {source}; dependencies are observed practice until a planner "
             "marks them legal")
