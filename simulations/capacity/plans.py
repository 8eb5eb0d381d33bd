"""Staff and arrivals for the capacity simulation: who works where, and when cases come.

Staff come from a YAML file (:func:`load_staff`, a count per department, committees with
``meets_on`` weekdays) or ``DEPT=+N`` changes (:func:`parse_staff_changes`). Arrivals are
Poisson per procedure, with a rate per open hour scaled by weekday and hour (``per_day``
is the mean of a full 7-hour day), or replayed from a CSV (:func:`load_arrivals`).
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from process_models.calendar import local_time
from process_models.errors import CapacityError, UnknownReference, did_you_mean, shown
from simulations.capacity.engine import DAY_SECONDS

__all__ = [
    "DEFAULT_CASES_PER_DAY",
    "HOURS_PER_WORKING_DAY",
    "ArrivalPlan",
    "ProcedureArrivals",
    "StaffPlan",
    "load_arrivals",
    "load_staff",
    "parse_arrivals",
    "parse_staff",
    "parse_staff_changes",
]

HOURS_PER_WORKING_DAY = 7.0
"""Staff hours in a working day (9:00–12:00 and 13:30–17:30)."""
DEFAULT_CASES_PER_DAY = 5.0
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")



@dataclass(frozen=True)
class StaffPlan:
    """Staff per department, committee meeting days, and the default for the rest.

    >>> plan = parse_staff({"police": 2, "health": {"staff": 1, "meets_on": ["tuesday"]}})
    >>> plan.staff["police"], sorted(plan.meets_on["health"])
    (2, [1])
    """

    staff: Mapping[str, int] = field(default_factory=dict)
    meets_on: Mapping[str, frozenset[int]] = field(default_factory=dict)
    default_staff: int = 1

    def changed(self, deltas: Mapping[str, int]) -> StaffPlan:
        """A copy with ``deltas`` added (staff never below one)."""
        staff = dict(self.staff)
        for dept, n in deltas.items():
            staff[dept] = max(1, staff.get(dept, self.default_staff) + n)
        return StaffPlan(staff, self.meets_on, self.default_staff)


def _count(value: Any, where: str, file: str | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CapacityError(f"staff must be a whole number ≥ 0, got {shown(value)}",
                            file=file, path=where)
    return value


def parse_staff(data: Any, *, file: str | None = None) -> StaffPlan:
    """A :class:`StaffPlan` from ``{departments: {id: N | {staff, meets_on}}, default: N}``.

    The ``departments`` level may be left out. ``meets_on`` lists weekdays (``tuesday``).
    """
    if not isinstance(data, Mapping):
        raise CapacityError("expected a mapping of department → staff", file=file)
    default = _count(data.get("default", 1), "default", file) if "departments" in data else 1
    depts = data.get("departments", data) if "departments" in data else data
    if not isinstance(depts, Mapping):
        raise CapacityError("departments: expected a mapping of department → staff", file=file)
    staff: dict[str, int] = {}
    meets: dict[str, frozenset[int]] = {}
    prefix = "departments." if "departments" in data else ""
    for dept, spec in depts.items():
        where = f"{prefix}{dept}"
        if isinstance(spec, Mapping):
            unknown = [k for k in spec if k not in ("staff", "meets_on")]
            if unknown:
                raise CapacityError(f"unknown field {shown(unknown[0])}; use staff or meets_on",
                                    file=file, path=where,
                                    suggestion=did_you_mean(unknown[0], ["staff", "meets_on"]))
            staff[str(dept)] = _count(spec.get("staff", 1), f"{where}.staff", file)
            days = spec.get("meets_on") or []
            bad = [d for d in days if str(d).lower() not in _WEEKDAYS]
            if bad:
                raise CapacityError(f"unknown weekday {shown(bad[0])}", file=file,
                                    path=f"{where}.meets_on",
                                    suggestion=did_you_mean(str(bad[0]).lower(), _WEEKDAYS))
            if days:
                meets[str(dept)] = frozenset(_WEEKDAYS.index(str(d).lower()) for d in days)
        else:
            staff[str(dept)] = _count(spec, where, file)
    return StaffPlan(staff, meets, default)


def load_staff(path: str | os.PathLike[str]) -> StaffPlan:
    """Read a staff YAML file (see :func:`parse_staff`)."""
    return parse_staff(_read_yaml(path), file=str(path))


def parse_staff_changes(items: Iterable[str]) -> dict[str, int]:
    """``["市场监管=+1", "police=-1"]`` → ``{"市场监管": 1, "police": -1}``.

    >>> parse_staff_changes(["police=+1"])
    {'police': 1}
    """
    out: dict[str, int] = {}
    for item in items:
        dept, sep, n = item.partition("=")
        try:
            if not sep or not dept.strip() or not n.strip().lstrip("+-").isdigit():
                raise ValueError
            out[dept.strip()] = int(n.strip())
        except ValueError:
            raise CapacityError(f"{shown(item)} is not DEPT=+N, DEPT=-N or a file",
                                path="--staff") from None
    return out


def resolve_departments(plan: StaffPlan, names: Mapping[str, str], where: str) -> StaffPlan:
    """Map department names to ids; unknown ones are an error with a did-you-mean."""
    by_name = {v: k for k, v in names.items()}

    def resolve(dept: str) -> str:
        if dept in names:
            return dept
        if dept in by_name:
            return by_name[dept]
        choices = [*names, *by_name]
        raise UnknownReference(
            f"unknown department {shown(dept)}; known: {', '.join(names)}",
            path=where, suggestion=did_you_mean(dept, choices),
        )

    return StaffPlan({resolve(d): n for d, n in plan.staff.items()},
                     {resolve(d): m for d, m in plan.meets_on.items()}, plan.default_staff)


# --- arrivals -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcedureArrivals:
    """Arrival rates of one procedure and its case-level probabilities."""

    per_day: float = DEFAULT_CASES_PER_DAY
    weekday: tuple[float, ...] = (1.0,) * 7
    hour: Mapping[int, float] = field(default_factory=dict)
    urgent_share: float = 0.0
    rework_probability: float = 0.0
    supplement_working_days: float = 3.0


@dataclass(frozen=True)
class ArrivalPlan:
    """Poisson rates per procedure, or a replayed list of ``(procedure_id, datetime, urgent)``."""

    procedures: Mapping[str, ProcedureArrivals] = field(default_factory=dict)
    replay: tuple[tuple[str, datetime, bool], ...] | None = None

    def of(self, procedure_id: str) -> ProcedureArrivals:
        """The rates of one procedure (defaults when not listed)."""
        return self.procedures.get(procedure_id, ProcedureArrivals())


def _rate(value: Any, where: str, file: str | None, *, share: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise CapacityError(f"expected a number, got {shown(value)}", file=file, path=where)
    if value < 0:
        raise CapacityError(f"rate below zero ({value:g}); arrival rates must be ≥ 0",
                            file=file, path=where)
    if share and value > 1:
        raise CapacityError(f"a share must be between 0 and 1, got {value:g}",
                            file=file, path=where)
    return float(value)


def parse_arrivals(data: Any, *, file: str | None = None) -> ArrivalPlan:
    """An :class:`ArrivalPlan` from ``{procedure_id: {per_day, weekday, hour, ...}}``.

    ``weekday`` and ``hour`` are multipliers (``{friday: 0.8}``, ``{9: 1.5}``); negative
    rates are an error.

    >>> parse_arrivals({"newborn": {"per_day": -1}})
    Traceback (most recent call last):
    ...
    process_models.errors.CapacityError: newborn.per_day: rate below zero (-1); arrival rates must be ≥ 0
    """
    if not isinstance(data, Mapping):
        raise CapacityError("expected a mapping of procedure id → arrival rates", file=file)
    data = data.get("procedures", data)
    fields = ("per_day", "weekday", "hour", "urgent_share", "rework_probability",
              "supplement_working_days")
    out: dict[str, ProcedureArrivals] = {}
    for pid, spec in data.items():
        if not isinstance(spec, Mapping):
            spec = {"per_day": spec}
        unknown = [k for k in spec if k not in fields]
        if unknown:
            raise CapacityError(f"unknown field {shown(unknown[0])}", file=file, path=f"{pid}",
                                suggestion=did_you_mean(unknown[0], fields))
        weekday = [1.0] * 7
        for day, m in (spec.get("weekday") or {}).items():
            if str(day).lower() not in _WEEKDAYS:
                raise CapacityError(f"unknown weekday {shown(day)}", file=file,
                                    path=f"{pid}.weekday",
                                    suggestion=did_you_mean(str(day).lower(), _WEEKDAYS))
            weekday[_WEEKDAYS.index(str(day).lower())] = _rate(m, f"{pid}.weekday.{day}", file)
        hour = {int(h): _rate(m, f"{pid}.hour.{h}", file)
                for h, m in (spec.get("hour") or {}).items()}
        out[str(pid)] = ProcedureArrivals(
            per_day=_rate(spec.get("per_day", DEFAULT_CASES_PER_DAY), f"{pid}.per_day", file),
            weekday=tuple(weekday), hour=hour,
            urgent_share=_rate(spec.get("urgent_share", 0.0), f"{pid}.urgent_share", file,
                               share=True),
            rework_probability=_rate(spec.get("rework_probability", 0.0),
                                     f"{pid}.rework_probability", file, share=True),
            supplement_working_days=_rate(spec.get("supplement_working_days", 3.0),
                                          f"{pid}.supplement_working_days", file),
        )
    return ArrivalPlan(out)


def load_arrivals(path: str | os.PathLike[str]) -> ArrivalPlan:
    """Read rates (YAML) or replay a CSV with ``procedure_id, received_at[, urgent]``."""
    p = Path(path)
    if p.suffix.lower() != ".csv":
        return parse_arrivals(_read_yaml(p), file=str(p))
    from process_models.loading import read_text

    rows = []
    reader = csv.DictReader(read_text(p).splitlines())
    missing = {"procedure_id", "received_at"} - set(reader.fieldnames or [])
    if missing:
        raise CapacityError(f"missing column '{min(missing)}'; the header needs "
                            "procedure_id and received_at", file=str(p), line=1)
    for i, row in enumerate(reader, start=2):
        try:
            at = datetime.fromisoformat(row["received_at"])
        except ValueError:
            raise CapacityError(f"received_at {shown(row['received_at'])} is not an ISO date-time",
                                file=str(p), line=i) from None
        if at.tzinfo is not None:
            at = local_time(at).replace(tzinfo=None)
        urgent = str(row.get("urgent") or "").strip().lower() in ("1", "true", "yes", "urgent")
        rows.append((row["procedure_id"], at, urgent))
    rows.sort(key=lambda r: r[1])
    return ArrivalPlan(replay=tuple(rows))


def _read_yaml(path: str | os.PathLike[str]) -> Any:
    from process_models.loading import read_text
    from process_models.yaml_loader import load_yaml

    return load_yaml(read_text(path), file=str(path), error=CapacityError)[0]


def poisson_arrivals(plans: Sequence[ProcedureArrivals], spans_of_day: Callable,
                      first: date, last: date, rng: np.random.Generator,
                      ) -> Iterator[tuple[float, int, bool]]:
    """Arrivals day by day (memory: one day), in time order."""
    per_second = np.array([p.per_day / (HOURS_PER_WORKING_DAY * 3600.0) for p in plans])
    hour_mult = np.ones((len(plans), 24))
    for g, plan in enumerate(plans):
        for h, m in plan.hour.items():
            hour_mult[g, h % 24] = m
    weekday = np.array([p.weekday for p in plans])
    urgent_share = np.array([p.urgent_share for p in plans])
    day, offset = first, 0.0
    while day <= last:
        lo, hi = [], []
        for s, e in spans_of_day(day):          # split the open spans at whole hours
            h = s
            while h < e:
                h_end = min(e, (h // 3600 + 1) * 3600)
                lo.append(h)
                hi.append(h_end)
                h = h_end
        if lo:
            lo_a, hi_a = np.array(lo), np.array(hi)
            lam = (per_second * weekday[:, day.weekday()])[:, None] \
                * hour_mult[:, (lo_a // 3600).astype(int)] * (hi_a - lo_a)[None, :]
            counts = rng.poisson(lam)
            n = int(counts.sum())
            if n:
                graph, chunk = np.nonzero(counts)
                reps = counts[graph, chunk]
                graph, chunk = np.repeat(graph, reps), np.repeat(chunk, reps)
                at = rng.uniform(lo_a[chunk], hi_a[chunk]) + offset
                urgent = rng.random(n) < urgent_share[graph]
                order = np.argsort(at, kind="stable")
                yield from zip(at[order].tolist(), graph[order].tolist(), urgent[order].tolist())
        day += timedelta(days=1)
        offset += DAY_SECONDS


def replayed_arrivals(replay, index: Mapping[str, int], first: date) -> Iterator[tuple[float, int, bool]]:
    origin = datetime.combine(first, time())
    for pid, at, urgent in replay:
        if pid not in index:
            raise UnknownReference(f"replayed arrival names unknown procedure {shown(pid)}",
                                   path="--arrivals", suggestion=did_you_mean(pid, index))
        t = (at - origin).total_seconds()
        if t >= 0:
            yield t, index[pid], urgent
