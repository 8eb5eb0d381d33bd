"""Discovering a procedure from the cases of a real log.

:func:`discover` turns the cases of a log (:func:`~simulations.interchange.log_cases.
log_cases`, or the columns :func:`~simulations.interchange.read_columns.read_table` reads)
into a :class:`~process_models.procedure.Procedure` the simulator runs; it counts on the
columns of a :class:`~simulations.interchange.log_cases.LogTable` by array, working days
by a per-day table of the calendar, so a 50,000-event log takes a fraction of a second:

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

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
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
from simulations.interchange.log_cases import US_PER_DAY, LogCase, LogTable, case_table
from simulations.planning.fitting import fit_distribution, working_days_elapsed_array

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
    """What the log says of one discovered step; ``durations`` holds one per case of the
    log in its order (working days from ready to done, NaN where the case skips it)."""

    step_id: str
    activity: str
    cases: int
    share: float
    rework_share: float
    department: str
    durations: np.ndarray
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


class _Pairs:
    """Each case's runs of each activity reduced to what discovery needs, one row per (case,
    activity) in case order: the order keys of its first begin and its last completion,
    its first start, its number of runs and its last completion. Runs are in completion
    order, so a completion's key is its position in the case; a start's key lies just below
    the position of the first completion after it, so *b* begins after *a* ends exactly when
    *b*'s start is at or after *a*'s completion (or, without start events, when *b*
    completes later in the file)."""

    def __init__(self, t: LogTable) -> None:
        runs = len(t.run_case)
        first_run = np.searchsorted(t.run_case, np.arange(t.cases))
        self.position = np.arange(runs) - first_run[t.run_case]
        width = len(t.activities)
        key = t.run_case * width + t.run_activity
        order = np.argsort(key, kind="stable")  # each pair's runs together, in run order
        sorted_key = key[order]
        new = np.flatnonzero(np.diff(sorted_key, prepend=-1))
        first, last = order[new], order[np.append(new[1:], runs) - 1]
        keys, count = sorted_key[new], np.diff(np.append(new, runs))
        self.case, self.activity, self.runs = keys // width, keys % width, count
        begin = self.position[first].astype(float)
        started = t.has_start[first]
        if started.any():
            begin[started] = _ends_before(t, t.run_case[first[started]],
                                          t.start_utc[first[started]], first_run) - 0.5
        self.begin, self.end = begin, self.position[last]
        self.has_start = started
        self.start_utc, self.start_wall = t.start_utc[first], t.start_wall[first]
        self.end_utc, self.end_wall = t.end_utc[last], t.end_wall[last]

    def keep(self, mask: np.ndarray) -> None:
        for name in ("case", "activity", "runs", "begin", "end", "has_start", "start_utc",
                     "start_wall", "end_utc", "end_wall"):
            setattr(self, name, getattr(self, name)[mask])


def _ends_before(t: LogTable, cases: np.ndarray, at: np.ndarray, first_run: np.ndarray
                 ) -> np.ndarray:
    """How many runs of each case end at or before ``at`` (one per entry of ``cases``): the
    completions and the starts sorted together, completions first at equal times."""
    both = np.concatenate([t.run_case, cases])
    times = np.concatenate([t.end_utc, at])
    is_end = np.concatenate([np.ones(len(t.run_case), bool), np.zeros(len(cases), bool)])
    order = np.lexsort((~is_end, times, both))
    ends_so_far = np.cumsum(is_end[order])
    place = np.empty(len(order), np.int64)
    place[order] = np.arange(len(order))
    return ends_so_far[place[len(t.run_case):]] - first_run[cases]


def _order(pairs: _Pairs, names: list[str], codes: dict[str, int], share: float
           ) -> list[tuple[str, str, float]]:
    """Dependencies (a, b, share of the cases running both where b begins after a ends),
    strongest first, without cycles, transitively reduced."""
    k = len(names)
    index = np.full(max(codes.values(), default=0) + 1, -1)
    index[[codes[a] for a in names]] = np.arange(k)
    mine = index[pairs.activity]
    both = np.zeros(k * k, np.int64)
    after = np.zeros(k * k, np.int64)
    for d in range(1, int(np.bincount(pairs.case).max(initial=0))):
        same = np.flatnonzero(pairs.case[d:] == pairs.case[:-d])
        for x, y in ((same, same + d), (same + d, same)):
            code = mine[x] * k + mine[y]
            both += np.bincount(code, minlength=k * k)
            after += np.bincount(code, weights=pairs.begin[y] > pairs.end[x],
                                 minlength=k * k).astype(np.int64)
    shares = [(int(after[i * k + j]) / int(both[i * k + j]), (names[i], names[j]))
              for i in range(k) for j in range(k) if both[i * k + j]]
    candidates = sorted(((s, pair) for s, pair in shares if s >= share),
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


def _arrivals(started_wall: np.ndarray, first: date, last: date) -> dict[str, Any]:
    """Mean cases per working weekday, with weekday and hour multipliers."""
    day, clock = np.divmod(started_wall, US_PER_DAY)
    weekdays = Counter(((day - 1) % 7).tolist())
    hours = Counter((clock // 3_600_000_000).tolist())
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    per_weekday = Counter(d.weekday() for d in days)
    open_days = sum(per_weekday[w] for w in range(5)) or 1
    per_day = sum(weekdays[w] for w in range(7)) / open_days
    rate = {w: weekdays[w] / per_weekday[w] for w in range(7) if per_weekday[w]}
    mean_hour = len(started_wall) / max(1, len(hours))
    return {"per_day": round(per_day, 4),
            "weekday": {WEEKDAYS[w]: round(r / per_day, 4) if per_day else 0.0
                        for w, r in rate.items()},
            "hour": {h: round(n / mean_hour, 4) for h, n in sorted(hours.items())}}


def _most_common_department(t: LogTable) -> dict[int, str]:
    """Per activity code, the department that completes its runs most often (the first
    seen of those tied)."""
    key = t.run_activity * len(t.departments) + t.run_department
    keys, first, count = np.unique(key, return_index=True, return_counts=True)
    best: dict[int, tuple[int, int, int]] = {}
    for k, i, n in zip(keys.tolist(), first.tolist(), count.tolist(), strict=True):
        a = k // len(t.departments)
        if a not in best or (n, -i) > (best[a][0], -best[a][1]):
            best[a] = (n, i, k % len(t.departments))
    return {a: t.departments[d] for a, (_, _, d) in best.items()}


def discover(cases: Iterable[LogCase] | LogTable, *, log: str, calendar: Any,
             min_share: float = MIN_SHARE, dependency_share: float = DEPENDENCY_SHARE,
             procedure_id: str | None = None) -> Discovery:
    """Discover a procedure from the cases of one log (see the module docstring).

    Parameters
    ----------
    cases : LogTable or iterable of LogCase
        The log's cases (:func:`~simulations.interchange.read_columns.read_table` reads a
        log straight into a table).
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
    t = cases if isinstance(cases, LogTable) else case_table(cases)
    n = t.cases
    if not n:
        raise EventLogError("the log holds no completed activity to discover steps from",
                            file=log)
    pairs = _Pairs(t)
    first_seen = np.full(len(t.activities), len(t.run_activity))
    np.minimum.at(first_seen, t.run_activity, np.arange(len(t.run_activity)))
    in_cases = np.bincount(pairs.activity, minlength=len(t.activities))
    counts = Counter({t.activities[a]: int(in_cases[a]) for a in np.argsort(first_seen)})
    names = [a for a, k in counts.most_common() if k >= min_share * n]
    folded = [(a, k) for a, k in counts.most_common() if k < min_share * n]
    if len(names) > MAX_STEPS:
        raise EventLogError(f"{len(names)} activities run in at least {min_share:.0%} of the "
                            f"cases, more than the {MAX_STEPS} steps a procedure may hold; "
                            "raise --min-share", file=log)
    first_case, last_case = int(np.argmin(t.started_utc)), int(np.argmax(t.last_utc))
    first = date.fromordinal(int(t.started_wall[first_case] // US_PER_DAY))
    last = date.fromordinal(int(t.last_wall[last_case] // US_PER_DAY))
    source = f"{log}, {first:%Y-%m-%d}–{last:%Y-%m-%d}, {n} cases"
    codes = {a: i for i, a in enumerate(t.activities)}
    span = np.maximum(1, np.bincount(t.run_case, minlength=n) - 1)
    position = np.bincount(t.run_activity, weights=pairs.position / span[t.run_case],
                           minlength=len(t.activities))
    runs = np.bincount(t.run_activity, minlength=len(t.activities))
    order = sorted(names, key=lambda a: float(position[codes[a]]) / int(runs[codes[a]]))
    pairs.keep(np.isin(pairs.activity, [codes[a] for a in order]))
    deps = _order(pairs, order, codes, dependency_share)
    preds: dict[str, list[str]] = defaultdict(list)
    for a, b, _ in deps:
        preds[b].append(a)
    ids = {a: safe_id(a) for a in order}
    if len(set(ids.values())) < len(ids):  # names that differ only in unsafe characters
        ids = {a: f"{i}-{step_id}"[:200] for i, (a, step_id) in enumerate(ids.items(), 1)}
    working = np.array(calendar.working_ordinals(
        date.fromordinal(int(t.first_wall.min() // US_PER_DAY)),
        date.fromordinal(int(t.last_wall.max() // US_PER_DAY))))
    departments = _most_common_department(t)
    found = [_step_discovery(t, pairs, codes, a, ids[a], preds[a], departments[codes[a]],
                             counts[a], working) for a in order]
    proc = _procedure(found, deps, preds, log, source, procedure_id, n)
    arrivals = _arrivals(t.started_wall, first, date.fromordinal(
        int(t.last_wall[last_case] // US_PER_DAY)))
    reworked = np.unique(pairs.case[pairs.runs > 1])
    arrivals["rework_probability"] = round(len(reworked) / n, 4)
    return Discovery(proc, source, n, found, folded, deps, arrivals)


def _step_discovery(t: LogTable, pairs: _Pairs, codes: dict[str, int], activity: str,
                    step_id: str, preds: list[str], department: str, count: int,
                    working: np.ndarray) -> StepDiscovery:
    mine = np.flatnonzero(pairs.activity == codes[activity])
    cases = pairs.case[mine]
    ready_utc, ready_wall = t.first_utc[cases], t.first_wall[cases]
    has_pred = np.zeros(len(cases), bool)
    for p in preds:
        theirs = np.flatnonzero(pairs.activity == codes[p])
        at = np.minimum(np.searchsorted(pairs.case[theirs], cases), len(theirs) - 1)
        found = pairs.case[theirs[at]] == cases
        end_utc, end_wall = pairs.end_utc[theirs[at]], pairs.end_wall[theirs[at]]
        later = found & (~has_pred | (end_utc > ready_utc))  # max() keeps the first of ties
        ready_utc = np.where(later, end_utc, ready_utc)
        ready_wall = np.where(later, end_wall, ready_wall)
        has_pred |= found
    end_utc, end_wall = pairs.end_utc[mine], pairs.end_wall[mine]
    ran = np.where(end_utc > ready_utc, working_days_elapsed_array(ready_wall, end_wall,
                                                                   working), 0.0)
    durations = np.full(t.cases, np.nan)
    durations[cases] = ran
    started = pairs.has_start[mine]
    start_utc, start_wall = pairs.start_utc[mine][started], pairs.start_wall[mine][started]
    waiting = np.where(start_utc > ready_utc[started], working_days_elapsed_array(
        ready_wall[started], start_wall, working), 0.0)
    processing = working_days_elapsed_array(start_wall, end_wall[started], working)
    rework = int(np.count_nonzero(pairs.runs[mine] > 1))
    return StepDiscovery(
        step_id, activity, count, count / t.cases, rework / count, department, durations,
        round(float(np.quantile(waiting, 0.5)), 4) if len(waiting) else None,
        round(float(np.quantile(processing, 0.5)), 4) if len(processing) else None)


def _procedure(found: list[StepDiscovery], deps, preds, log: str, source: str,
               procedure_id: str | None, n: int) -> Procedure:
    ids = {s.activity: s.step_id for s in found}
    departments = {s.department: safe_id(s.department) for s in found}
    steps = []
    for s in found:
        skipped = np.isnan(s.durations)
        runs = s.durations[~skipped].tolist()
        if s.share >= ALWAYS_SHARE:
            dist = fit_distribution(runs)
        else:
            dist = fit_distribution(np.where(skipped, 0.0, np.maximum(
                MIN_RUN_DAYS, s.durations)).tolist(), kind="empirical")
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
