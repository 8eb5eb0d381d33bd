"""Learn step durations from what actually happened, for the Monte-Carlo simulator.

Durations (working days) come from an imported event log (:func:`log_durations`, reading
:func:`simulations.interchange.read.read_log` rows) or from the case tables
(:func:`flows.casework.history.history_durations`). :func:`fit_distribution` turns one
step's durations into a :class:`~process_models.procedure.Distribution`: ``fixed`` when every case took the same
time, otherwise the better of ``lognormal`` (maximum likelihood, shown as the duration's
mean and standard deviation) and ``triangular`` (min, most likely, max) by the
Kolmogorov–Smirnov distance *D*, or ``empirical`` when neither passes the KS test at 5 %
or when asked. The ``fit`` note says which, from how many cases, and how well.
:func:`fit_procedure` writes them into the steps' ``duration`` fields.

A duration is counted as the law counts time: whole working days after the start day up
to the end day (:mod:`process_models.calendar`), plus the part of a day between the two
clock times so that same-day work is not all zero; the applicant's 补正 time (suspend →
resume) is left out.

>>> d = fit_distribution([2.1, 2.9, 3.4, 4.0, 5.2, 3.1, 2.6, 3.8, 4.4, 3.3])
>>> d.kind, d.fit.split(" (")[0]
('lognormal', 'lognormal fitted to 10 observed durations')
>>> fit_distribution([0, 0, 0]).model_dump(exclude_none=True)
{'kind': 'fixed', 'days': 0.0, 'fit': 'every one of 3 observed durations was 0 working days'}
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from process_models.errors import EventLogError, did_you_mean
from process_models.procedure import MAX_DAYS, Distribution, Procedure
from simulations.interchange.log_cases import US_PER_DAY

__all__ = [
    "FIT_KINDS",
    "StepFit",
    "fit_distribution",
    "fit_procedure",
    "ks_statistic",
    "log_durations",
    "working_days_elapsed",
    "working_days_elapsed_array",
]

FIT_KINDS = ("auto", "empirical", "lognormal", "triangular")
EMPIRICAL_MAX_SAMPLES = 200
_KS_CRITICAL_5PCT = 1.358


def working_days_elapsed(start: datetime, end: datetime, calendar: Any = None) -> float:
    """Working days from ``start`` to ``end``: whole days as the law counts them, plus the
    difference of the two clock times as a share of a day.

    >>> from datetime import datetime
    >>> working_days_elapsed(datetime(2025, 1, 24, 9), datetime(2025, 2, 7, 15))   # 春节
    5.25
    >>> working_days_elapsed(datetime(2025, 3, 3, 9), datetime(2025, 3, 3, 15))
    0.25
    """
    if calendar is None:
        from process_models.calendar import default_calendar

        calendar = default_calendar()
    whole = calendar.working_days_between(start.date(), end.date())
    clock = (end.hour - start.hour) * 3600 + (end.minute - start.minute) * 60 + (
        end.second - start.second) + (end.microsecond - start.microsecond) / 1e6
    return max(0.0, whole + clock / 86400)


def working_days_elapsed_array(start_wall: np.ndarray, end_wall: np.ndarray,
                               working: np.ndarray) -> np.ndarray:
    """:func:`working_days_elapsed` for arrays of wall clocks in microseconds
    (:func:`~simulations.interchange.log_cases.wall_us`), with the same floating-point
    operations in the same order, so each result is the very number the scalar gives;
    ``working`` is the calendar's :meth:`~process_models.calendar.WorkingCalendar.
    working_ordinals` as an array.

    >>> from datetime import date, datetime
    >>> from process_models.calendar import default_calendar
    >>> from simulations.interchange.log_cases import wall_us
    >>> a, b = datetime(2025, 1, 24, 9), datetime(2025, 2, 7, 15)
    >>> days = np.array(default_calendar().working_ordinals(a.date(), b.date()))
    >>> working_days_elapsed_array(np.array([wall_us(a)]), np.array([wall_us(b)]), days)
    array([5.25])
    """
    start_day, start_us = np.divmod(start_wall, US_PER_DAY)
    end_day, end_us = np.divmod(end_wall, US_PER_DAY)
    if len(start_day):  # working days up to each day of the span, looked up per date
        first = min(start_day.min(), end_day.min())
        upto = np.searchsorted(working, np.arange(first, max(start_day.max(), end_day.max())
                                                  + 1), side="right")
        whole = upto[end_day - first] - upto[start_day - first]
    else:
        whole = np.zeros(0, np.int64)
    clock = (end_us // 1_000_000 - start_us // 1_000_000) + (
        end_us % 1_000_000 - start_us % 1_000_000) / 1e6
    elapsed = whole + clock / 86400
    return np.where(elapsed > 0.0, elapsed, 0.0)


def ks_statistic(samples: Iterable[float], cdf) -> float:
    """The Kolmogorov–Smirnov distance between ``samples`` and the distribution ``cdf``,
    which takes the sorted samples as an array and gives their probabilities.

    >>> round(ks_statistic([0.25, 0.5, 0.75], lambda x: x), 4)
    0.25
    """
    xs = np.sort(np.fromiter(samples, float))
    n = len(xs)
    probabilities = np.asarray(cdf(xs), float)
    i = np.arange(n)
    return float(np.maximum((i + 1) / n - probabilities, probabilities - i / n).max())


def _lognormal(xs: list[float]) -> tuple[Distribution, float] | None:
    if len(xs) < 2 or min(xs) <= 0:
        return None
    logs = list(map(math.log, xs))
    mu = sum(logs) / len(logs)
    sigma = math.sqrt(sum(((np.array(logs) - mu) ** 2).tolist()) / len(logs))
    if sigma == 0:
        return None
    try:
        mean = math.exp(mu + sigma * sigma / 2)
        sd = mean * math.sqrt(math.expm1(sigma * sigma))
    except OverflowError:
        return None
    if max(mean, sd) > MAX_DAYS:  # a tail too heavy for any limit: the other fits stand
        return None
    if round(mean, 4) == 0:  # too small to state in the 4 decimals a fit keeps
        return None

    def cdf(x: np.ndarray) -> np.ndarray:  # x > 0: math's log and erf, as one number would
        z = (np.array(list(map(math.log, x.tolist()))) - mu) / (sigma * math.sqrt(2))
        return 0.5 * (1 + np.array(list(map(math.erf, z.tolist()))))

    return Distribution(kind="lognormal", mean=round(mean, 4), sd=round(sd, 4)), \
        ks_statistic(xs, cdf)


def _triangular(xs: list[float]) -> tuple[Distribution, float] | None:
    low, high = min(xs), max(xs)
    if high == low:
        return None
    mode = min(high, max(low, 3 * sum(xs) / len(xs) - low - high))

    def cdf(x: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):  # the branch not taken
            rising = (x - low) ** 2 / ((high - low) * (mode - low))
            falling = 1 - (high - x) ** 2 / ((high - low) * (high - mode))
        return np.where(x <= low, 0.0, np.where(x >= high, 1.0,
                                                 np.where(x <= mode, rising, falling)))

    return Distribution(kind="triangular", low=round(low, 4), mode=round(mode, 4),
                        high=round(high, 4)), ks_statistic(xs, cdf)


def _empirical(xs: list[float]) -> Distribution:
    xs = np.sort(xs).tolist()
    if len(xs) > EMPIRICAL_MAX_SAMPLES:
        n = EMPIRICAL_MAX_SAMPLES
        xs = [xs[int((i + 0.5) * len(xs) / n)] for i in range(n)]
        note = f"empirical: {n} quantiles of {len(xs)} observed durations"
    else:
        note = f"empirical: {len(xs)} observed durations"
    return Distribution(kind="empirical", samples=[round(x, 4) for x in xs], fit=note)


def fit_distribution(samples: Iterable[float], *, kind: str = "auto") -> Distribution:
    """The distribution of one step's observed durations (working days), with a fit note.

    ``kind`` is ``auto`` (lognormal or triangular by KS distance, empirical when neither
    passes the KS test at 5 %), or one of ``empirical``, ``lognormal``, ``triangular``.

    >>> fit_distribution([1, 2, 3, 5, 8], kind="triangular").model_dump(exclude_none=True)
    ... # doctest: +NORMALIZE_WHITESPACE
    {'kind': 'triangular', 'low': 1.0, 'mode': 2.4, 'high': 8.0,
     'fit': 'triangular fitted to 5 observed durations (KS D=0.298, lognormal D=0.162)'}
    """
    xs = list(map(float, samples))
    if kind not in FIT_KINDS:
        raise EventLogError(f"unknown fit kind '{kind}'; use one of {', '.join(FIT_KINDS)}",
                            suggestion=did_you_mean(kind, FIT_KINDS))
    if not xs:
        raise EventLogError("no observed durations to fit")
    n = len(xs)
    if min(xs) == max(xs):
        return Distribution(kind="fixed", days=xs[0],
                            fit=f"every one of {n} observed durations was {xs[0]:g} working days")
    if kind == "empirical":
        return _empirical(xs)
    fits = {name: f for name, f in (("lognormal", _lognormal(xs)),
                                    ("triangular", _triangular(xs))) if f is not None}
    if kind != "auto":
        if kind not in fits:
            raise EventLogError(
                f"cannot fit a {kind} distribution to {n} durations "
                f"(lognormal needs two or more, all above 0); use --kind empirical")
        chosen = kind
    else:
        chosen = min(fits, key=lambda k: fits[k][1])
        if fits[chosen][1] > _KS_CRITICAL_5PCT / math.sqrt(n):
            dist = _empirical(xs)
            shown = ", ".join(f"{k} KS D={d:.3f}" for k, (_, d) in fits.items())
            return dist.model_copy(update={"fit": f"{dist.fit} (rejected {shown} at 5%)"})
    dist, d = fits[chosen]
    others = "".join(f", {k} D={o:.3f}" for k, (_, o) in fits.items() if k != chosen)
    return dist.model_copy(update={
        "fit": f"{chosen} fitted to {n} observed durations (KS D={d:.3f}{others})"})


@dataclass(frozen=True)
class StepFit:
    """What :func:`fit_procedure` did to one step."""

    step_id: str
    samples: int
    distribution: Distribution | None

    def as_dict(self) -> dict:
        return {"step_id": self.step_id, "samples": self.samples,
                "duration": self.distribution.model_dump(mode="json", exclude_none=True)
                if self.distribution else None}


def fit_procedure(
    proc: Procedure, durations: Mapping[str, list[float]], *, kind: str = "auto",
    min_samples: int = 3,
) -> tuple[Procedure, list[StepFit]]:
    """A copy of ``proc`` whose steps' ``duration`` are fitted to ``durations``.

    Steps with fewer than ``min_samples`` observations keep their duration.

    >>> from process_models.catalog import load_catalog_procedure
    >>> newborn = load_catalog_procedure("newborn")
    >>> fitted, fits = fit_procedure(newborn, {"birth_certificate": [3, 4, 4, 6, 9]})
    >>> fitted.step("birth_certificate").duration.kind, len(fits)
    ('lognormal', 1)
    """
    unknown = [s for s in durations if s not in {st.id for st in proc.steps}]
    if unknown:
        raise EventLogError(f"procedure '{proc.id}' has no step '{unknown[0]}'",
                            suggestion=did_you_mean(unknown[0], [s.id for s in proc.steps]))
    fits: list[StepFit] = []
    steps = []
    for step in proc.steps:
        xs = durations.get(step.id, [])
        if len(xs) >= min_samples:
            dist = fit_distribution(xs, kind=kind)
            fits.append(StepFit(step.id, len(xs), dist))
            step = step.model_copy(update={"duration": dist})
        elif xs:
            fits.append(StepFit(step.id, len(xs), None))
        steps.append(step)
    if not any(f.distribution for f in fits):
        raise EventLogError(
            f"no step of '{proc.id}' has {min_samples} or more observed durations; "
            "give a longer log or a wider period")
    return proc.model_copy(update={"steps": steps}), fits


def _step_matcher(proc: Procedure):
    ids = {s.id: s.id for s in proc.steps}
    names = {s.name: s.id for s in proc.steps}

    def match(activity: str, step_id: str | None) -> str | None:
        for candidate in (step_id, activity, activity.rsplit(":", 1)[0]):
            if candidate in ids:
                return candidate
            if candidate in names:
                return names[candidate]
        return None

    return match


def log_durations(events: Iterable[Any], proc: Procedure, *, calendar: Any = None
                  ) -> dict[str, list[float]]:
    """Working-day durations per step from imported log rows
    (:class:`~simulations.interchange.read.LogEvent`).

    A step runs from its ``start`` event (or, when the log has none, the case's previous
    event) to its last ``complete``; time between ``suspend`` and ``resume`` (补正) is left
    out. Activities that name no step of ``proc`` (by id or name) are all listed in one
    error, with a did-you-mean.
    """
    match = _step_matcher(proc)
    unknown: dict[str, int | None] = {}
    last_at: dict[str, datetime] = {}
    open_steps: dict[tuple[str, str], dict[str, Any]] = {}
    durations: dict[str, list[float]] = {}
    seen = 0
    for e in events:
        seen += 1
        step_id = match(e.activity, e.step_id)
        if step_id is None:
            unknown.setdefault(e.activity, e.line)
            continue
        key = (e.case_id, step_id)
        state = open_steps.get(key)
        if e.transition == "start":
            open_steps[key] = {"start": e.at, "paused": 0.0, "suspended": None}
        elif e.transition == "suspend" and state is not None:
            state["suspended"] = e.at
        elif e.transition == "resume" and state is not None and state["suspended"]:
            state["paused"] += working_days_elapsed(state["suspended"], e.at, calendar)
            state["suspended"] = None
        elif e.transition == "complete":
            began = state["start"] if state else last_at.get(e.case_id)
            if began is not None:
                paused = state["paused"] if state else 0.0
                durations.setdefault(step_id, []).append(
                    max(0.0, working_days_elapsed(began, e.at, calendar) - paused))
            open_steps.pop(key, None)
        last_at[e.case_id] = e.at
    if unknown:
        steps = [s.id for s in proc.steps] + [s.name for s in proc.steps]
        listed = "; ".join(
            f"'{a}'" + (f" (line {ln})" if ln else "")
            + (f" (did you mean '{s}'?)" if (s := did_you_mean(a.rsplit(':', 1)[0], steps)) else "")
            for a, ln in list(unknown.items())[:10])
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        raise EventLogError(
            f"{len(unknown)} activities match no step of '{proc.id}': {listed}{more}; "
            "name each activity by a step id or name")
    if not durations:
        raise EventLogError(
            "the log holds no completed step" if seen else "the log holds no events")
    return durations
