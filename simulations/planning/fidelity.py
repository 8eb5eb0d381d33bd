"""How faithful a discovered procedure is, measured the way the simulation literature
measures it (the distances of the ``log-distance-measures`` package, which the Simod and
Prosimos authors use).

:func:`fidelity` splits a log's cases by start date, discovers a procedure from the
earlier part (:func:`~simulations.planning.discovery.discover`), simulates the later
part's cases — each arriving when the real one did — and compares the simulated log with
the real later part. The simulated cases arrive when the real ones did (``replay``), or
at times drawn from the arrival rates discovered on the earlier part (``fitted``: Poisson
per day by weekday, hours by their observed shares, over the later part's days). Two
baselines are measured in the same run, on the same arrivals:

- ``naive``: every case runs the earlier part's most frequent trace, each activity taking
  its mean time since the case's previous event, one after another;
- ``train_empirical``: every case is a random case of the earlier part (its trace and its
  times after the start): the empirical cycle-time distribution, what a statistician
  would predict without any model.

Distances (smaller is closer): ``cycle_time_emd_days`` (Wasserstein distance of cycle
times in one-day bins), ``ngram_distance`` (3-grams of activity sequences, 0–1),
``arrival_emd_hours`` (case arrivals in one-hour bins; 0 when arrivals are replayed) and
``activity_duration_emd_days`` (per activity, the time since the case's previous event,
weighted by the real runs).
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from process_models.calendar import WEEKDAYS
from process_models.errors import EventLogError, did_you_mean
from simulations.interchange.log_cases import LogCase
from simulations.planning.discovery import ALWAYS_SHARE, Discovery, discover

__all__ = [
    "Fidelity",
    "fidelity",
]

TRAIN_SHARE = 0.7
ARRIVALS = ("replay", "fitted")
_DAY = timedelta(days=1)
Row = tuple[str, str, datetime, datetime]


@dataclass
class Fidelity:
    """The distances of the model and the two baselines to the real later part."""

    source: str
    train_cases: int
    test_cases: int
    split_at: datetime
    distances: dict[str, dict[str, float]]
    discovery: Discovery
    arrivals: str = "replay"

    def as_dict(self) -> dict:
        return {**{k: {m: round(v, 4) for m, v in d.items()}
                   for k, d in self.distances.items()},
                "split": {"train_cases": self.train_cases, "test_cases": self.test_cases,
                          "test_starts": self.split_at.isoformat(), "source": self.source,
                          "arrivals": self.arrivals}}


def _rows_of(case: LogCase) -> list[Row]:
    """(case, activity, start, end) per run; without a start event a run starts at the
    case's previous event."""
    rows, previous = [], case.first_at
    for r in case.runs:
        rows.append((case.case_id, r.activity, r.start or previous, r.end))
        previous = max(previous, r.end)
    return rows


def _at(calendar: Any, start: datetime, working_days: float) -> datetime:
    """``working_days`` after ``start``: whole working days on the calendar, the rest as
    clock time (the inverse of :func:`~simulations.planning.fitting.working_days_elapsed`)."""
    whole = math.floor(working_days)
    day = calendar.add_working_days(start.date(), whole) if whole else start.date()
    return datetime.combine(day, start.timetz()) + (working_days - whole) * _DAY


def _simulate_model(found: Discovery, starts: list[tuple[str, datetime]], calendar: Any,
                    seed: int) -> list[Row]:
    from simulations.planning.montecarlo import draw, quantile_table, step_stream

    steps = found.procedure.steps
    index = {s.id: k for k, s in enumerate(steps)}
    optional = [d.share < ALWAYS_SHARE for d in found.steps]
    size = -(-len(starts) // 4) * 4
    draws = []
    for s in steps:
        out = np.empty(size)
        draw(quantile_table(s.duration), step_stream(seed, s.id), out)
        draws.append(out)
    order = _topological(steps, index)
    rows: list[Row] = []
    for i, (case_id, start) in enumerate(starts):
        finish = [0.0] * len(steps)
        events = []
        for k in order:
            ready = max((finish[index[p]] for p in steps[k].predecessors), default=0.0)
            finish[k] = ready + float(draws[k][i])
            if not (optional[k] and draws[k][i] == 0):
                events.append((finish[k], k, ready))
        for end, k, ready in sorted(events):
            rows.append((case_id, steps[k].name, _at(calendar, start, ready),
                         _at(calendar, start, end)))
    return rows


def _topological(steps, index) -> list[int]:
    done: list[int] = []
    placed: set[int] = set()
    while len(done) < len(steps):
        for k, s in enumerate(steps):
            if k not in placed and all(index[p] in placed for p in s.predecessors):
                done.append(k)
                placed.add(k)
    return done


def _naive(train: list[LogCase], starts: list[tuple[str, datetime]]) -> list[Row]:
    trace = Counter(c.trace for c in train).most_common(1)[0][0]
    spent: dict[str, list[float]] = {}
    for c in train:
        for _, a, s, e in _rows_of(c):
            spent.setdefault(a, []).append((e - s) / _DAY)
    mean = {a: sum(xs) / len(xs) for a, xs in spent.items()}
    rows: list[Row] = []
    for case_id, start in starts:
        at = start
        for a in trace:
            end = at + mean[a] * _DAY
            rows.append((case_id, a, at, end))
            at = end
    return rows


def _train_empirical(train: list[LogCase], starts: list[tuple[str, datetime]],
                     seed: int) -> list[Row]:
    rng = random.Random(seed)
    rows: list[Row] = []
    for case_id, start in starts:
        model = rng.choice(train)
        shift = start - model.first_at
        rows += [(case_id, a, s + shift, e + shift) for _, a, s, e in _rows_of(model)]
    return rows


def _fitted_starts(found: Discovery, first: datetime, last: datetime, seed: int
                   ) -> list[tuple[str, datetime]]:
    """Arrival times over ``first``–``last`` drawn from the discovered rates."""
    rates = found.arrivals
    rng = np.random.default_rng(seed)
    hours = sorted(rates["hour"])
    weights = np.array([rates["hour"][h] for h in hours])
    weights = weights / weights.sum()
    weekday = [rates["weekday"].get(d, 0.0) for d in WEEKDAYS]
    starts, day, n = [], first.replace(hour=0, minute=0, second=0, microsecond=0), 0
    while day <= last:
        for _ in range(rng.poisson(rates["per_day"] * weekday[day.weekday()])):
            n += 1
            at = day + timedelta(hours=int(rng.choice(hours, p=weights)),
                                 seconds=float(rng.uniform(0, 3600)))
            starts.append((f"simulated-{n}", at))
        day += _DAY
    return sorted(starts, key=lambda s: s[1])


def _frame(rows: list[Row]):
    import pandas as pd

    frame = pd.DataFrame(rows, columns=["case", "activity", "start", "end"])
    for column in ("start", "end"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def _distances(real, simulated) -> dict[str, float]:
    from log_distance_measures.case_arrival_distribution import (
        case_arrival_distribution_distance,
    )
    from log_distance_measures.config import EventLogIDs
    from log_distance_measures.cycle_time_distribution import cycle_time_distribution_distance
    from log_distance_measures.n_gram_distribution import n_gram_distribution_distance
    from scipy.stats import wasserstein_distance

    ids = EventLogIDs(case="case", activity="activity", start_time="start", end_time="end")
    per_activity, weight = 0.0, 0
    for activity, runs in real.groupby("activity"):
        mine = simulated[simulated["activity"] == activity]
        real_days = (runs["end"] - runs["start"]).dt.total_seconds() / 86400
        if len(mine):
            sim_days = (mine["end"] - mine["start"]).dt.total_seconds() / 86400
            per_activity += wasserstein_distance(real_days, sim_days) * len(runs)
        else:
            per_activity += float(real_days.mean()) * len(runs)
        weight += len(runs)
    return {
        "cycle_time_emd_days": float(cycle_time_distribution_distance(
            real, ids, simulated, ids, bin_size=_DAY)),
        "ngram_distance": float(n_gram_distribution_distance(real, ids, simulated, ids, n=3)),
        "arrival_emd_hours": float(case_arrival_distribution_distance(
            real, ids, simulated, ids)),
        "activity_duration_emd_days": per_activity / weight,
    }


def fidelity(cases: Iterable[LogCase], *, log: str, calendar: Any,
             train_share: float = TRAIN_SHARE, seed: int = 0, arrivals: str = "replay",
             **discover_options: Any) -> Fidelity:
    """Discover on the earlier ``train_share`` of the cases (by start), simulate the later
    part, and measure the model and the two baselines against the real later part.

    Parameters
    ----------
    cases : iterable of LogCase
        The log's cases.
    log : str
        The log's name, for the source.
    calendar : WorkingCalendar
        Working days for discovery and simulation.
    train_share : float
        The earlier share of the cases to learn from (0 < share < 1).
    seed : int
        Seed of the simulation, the fitted arrivals and the empirical baseline.
    arrivals : {"replay", "fitted"}
        When the simulated cases arrive (see the module docstring).
    **discover_options
        ``min_share`` and ``dependency_share`` for :func:`discover`.
    """
    if arrivals not in ARRIVALS:
        raise EventLogError(f"--arrivals: unknown '{arrivals}'; use replay or fitted",
                            suggestion=did_you_mean(arrivals, ARRIVALS))
    closed = sorted((c for c in cases if c.runs), key=lambda c: c.started_at)
    cut = int(len(closed) * train_share)
    if not 0 < train_share < 1 or cut < 2 or len(closed) - cut < 2:
        raise EventLogError(
            f"--train-share {train_share:g} leaves {cut} cases to learn from and "
            f"{len(closed) - cut} to test on; each part needs two or more", file=log)
    train, test = closed[:cut], closed[cut:]
    found = discover(train, log=log, calendar=calendar, **discover_options)
    starts = [(c.case_id, c.first_at) for c in test] if arrivals == "replay" else \
        _fitted_starts(found, test[0].first_at, test[-1].first_at, seed)
    if not starts:
        raise EventLogError("the fitted arrival rates give no case over the later part; "
                            "use --arrivals replay", file=log)
    real = _frame([row for c in test for row in _rows_of(c)])
    runs = {
        "model": _simulate_model(found, starts, calendar, seed),
        "naive": _naive(train, starts),
        "train_empirical": _train_empirical(train, starts, seed),
    }
    return Fidelity(found.source, len(train), len(test), test[0].started_at,
                    {name: _distances(real, _frame(rows)) for name, rows in runs.items()},
                    found, arrivals)
