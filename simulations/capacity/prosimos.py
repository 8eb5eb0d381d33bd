"""Prosimos and BIMP (QBP) simulation parameters: the same scenario in both engines.

:func:`load_prosimos` reads a BPMN model plus either a Prosimos 2.1 JSON file
(``arrival_time_distribution``, ``arrival_time_calendar``, ``resource_profiles``,
``resource_calendars``, ``task_resource_distribution``, ``gateway_branching_probabilities``)
or, without one, the BIMP ``qbp:processSimulationInfo`` block inside the BPMN file.
:func:`simulate_prosimos` runs it on our engine with Prosimos's calendar semantics:

- calendars are weekly time tables (no public holidays); a task starts when a resource
  of its pool is free *and* inside its time table, and its duration is counted in the
  table's open time only (a task pauses outside it);
- the next case arrives one sampled inter-arrival time after the previous one, moved
  to the next instant the arrival calendar is open (so does the first one when the
  start lies outside the arrival calendar);
- each resource pool (Prosimos resource profile) is one staff pool, all of whose members
  share the first member's calendar (true of Prosimos's own examples); a task's
  duration distribution is that of its first listed resource;
- durations are truncated to ``[min, max]`` by drawing again, as pix-framework does.

Cycle time is the time from a case's arrival to its last task's end.
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from typing import Any

import numpy as np

from process_models.errors import CapacityError, did_you_mean, shown
from process_models.loading import check_procedure
from process_models.procedure import ID_PATTERN, Department, Distribution, Procedure
from simulations.capacity.engine import DAY_SECONDS, Engine, PoolSpec, RunStats, Timeline
from simulations.capacity.model import Duration, ProcessGraph
from simulations.interchange.bpmn import BpmnModel, bpmn_graph, load_bpmn

__all__ = ["ProsimosResult", "ProsimosScenario", "WeeklyCalendar", "load_prosimos",
           "procedure_with_params", "simulate_prosimos"]

_DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")


@dataclass(frozen=True)
class WeeklyCalendar:
    """Open spans per weekday (Monday 0), seconds after midnight.

    >>> cal = WeeklyCalendar.from_periods([{"from": "MONDAY", "to": "FRIDAY",
    ...     "beginTime": "09:00:00", "endTime": "17:00:00"}])
    >>> cal.spans[0], cal.spans[5], cal.always_open
    (((32400.0, 61200.0),), (), False)
    """

    spans: tuple[tuple[tuple[float, float], ...], ...]

    @classmethod
    def from_periods(cls, periods: Sequence[Mapping[str, str]], *, file: str | None = None,
                     ) -> WeeklyCalendar:
        """From Prosimos ``time_periods`` (or QBP rules converted to the same keys)."""
        days: list[list[tuple[float, float]]] = [[] for _ in range(7)]
        for i, p in enumerate(periods):
            try:
                first, last = _DAYS.index(p["from"].upper()), _DAYS.index(p["to"].upper())
            except ValueError:
                bad = p["from"] if p["from"].upper() not in _DAYS else p["to"]
                raise CapacityError(f"unknown weekday '{bad}'", file=file,
                                    path=f"time_periods[{i}]",
                                    suggestion=did_you_mean(bad.upper(), _DAYS)) from None
            begin, end = _seconds(p["beginTime"]), _seconds(p["endTime"])
            for d in range(first, last + 1):
                days[d].append((begin, end))
        return cls(tuple(tuple(_merged(d)) for d in days))

    @property
    def always_open(self) -> bool:
        """Open around the clock every day (to within a second)."""
        return all(len(d) == 1 and d[0][0] <= 0 and d[0][1] >= DAY_SECONDS - 1
                   for d in self.spans)

    def timeline(self, first_day: date, name: str) -> Timeline:
        """A :class:`Timeline` of this calendar from ``first_day``."""
        return Timeline(lambda day: self.spans[day.weekday()], first_day,
                        always_open=self.always_open, name=name)


def _seconds(text: str) -> float:
    clock = text.split("+")[0]
    h, m, s = (clock.split(":") + ["0", "0"])[:3]
    return int(h) * 3600 + int(m) * 60 + float(s)


def _merged(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


@dataclass(frozen=True)
class ProsimosScenario:
    """A process graph plus the pools, calendars and arrivals Prosimos would use."""

    graph: ProcessGraph
    staff: Mapping[str, int]
    calendars: Mapping[str, WeeklyCalendar]
    arrival: Duration
    arrival_calendar: WeeklyCalendar


def _duration(name: str, params: Sequence[float], where: str, file: str | None) -> Duration:
    """A pix-framework ``distribution_name`` / ``distribution_params`` pair."""
    p = [float(x) for x in params]
    if name == "fix":
        return Duration("fixed", (p[0],))
    if name == "uniform":
        return Duration("uniform", (p[0], p[1]), low=p[0], high=p[1])
    if name == "norm":
        return Duration("normal", (p[0], p[1]), *(p[2:4] if len(p) >= 4 else (0.0,)))
    if name == "expon":
        low, high = (p[1], p[2]) if len(p) >= 3 else (0.0, float("inf"))
        return Duration("exponential", (max(p[0] - low, 0.0) or p[0], low), low, high)
    if name == "gamma":
        return Duration("gamma", (p[0], p[1]), *(p[2:4] if len(p) >= 4 else (0.0,)))
    if name == "lognorm":
        return Duration("lognormal", (p[0], p[1] ** 0.5), *(p[2:4] if len(p) >= 4 else (0.0,)))
    raise CapacityError(
        f"distribution '{name}' is not supported; use fix, uniform, norm, expon, gamma or "
        "lognorm", file=file, path=where,
        suggestion=did_you_mean(name, ["fix", "uniform", "norm", "expon", "gamma", "lognorm"]))


def _from_json(model: BpmnModel, data: Mapping[str, Any], file: str) -> ProsimosScenario:
    missing = [k for k in ("resource_profiles", "arrival_time_distribution",
                           "arrival_time_calendar", "task_resource_distribution",
                           "resource_calendars") if k not in data]
    if missing:
        raise CapacityError(f"missing '{missing[0]}'; is this a Prosimos 2.x parameter file?",
                            file=file)
    pool_of: dict[str, str] = {}
    staff: dict[str, int] = {}
    names: dict[str, str] = {}
    calendars_by_id = {c["id"]: c["time_periods"] for c in data["resource_calendars"]}
    calendars: dict[str, WeeklyCalendar] = {}
    for i, prof in enumerate(data["resource_profiles"]):
        pid = prof["id"]
        names[pid] = prof.get("name") or pid
        staff[pid] = sum(int(r.get("amount", 1)) for r in prof["resource_list"])
        for r in prof["resource_list"]:
            pool_of[r["id"]] = pid
        cal = prof["resource_list"][0]["calendar"]
        if cal not in calendars_by_id:
            raise CapacityError(f"unknown calendar '{cal}'", file=file,
                                path=f"resource_profiles[{i}]",
                                suggestion=did_you_mean(cal, calendars_by_id))
        calendars[pid] = WeeklyCalendar.from_periods(calendars_by_id[cal], file=file)
    work: dict[str, Duration] = {}
    pools: dict[str, str] = {}
    for i, t in enumerate(data["task_resource_distribution"]):
        first = t["resources"][0]
        if first["resource_id"] not in pool_of:
            raise CapacityError(f"unknown resource '{first['resource_id']}'", file=file,
                                path=f"task_resource_distribution[{i}]",
                                suggestion=did_you_mean(first["resource_id"], pool_of))
        pools[t["task_id"]] = pool_of[first["resource_id"]]
        work[t["task_id"]] = _duration(first["distribution_name"],
                                       [v["value"] for v in first["distribution_params"]],
                                       f"task_resource_distribution[{i}]", file)
    probabilities = {p["path_id"]: float(p["value"])
                     for g in data.get("gateway_branching_probabilities", [])
                     for p in g["probabilities"]}
    arrival = data["arrival_time_distribution"]
    graph = replace(bpmn_graph(model, work=work, pools=pools, probabilities=probabilities),
                    pool_names=names)
    return ProsimosScenario(
        graph, staff, calendars,
        _duration(arrival["distribution_name"],
                  [v["value"] for v in arrival["distribution_params"]],
                  "arrival_time_distribution", file),
        WeeklyCalendar.from_periods(data["arrival_time_calendar"], file=file),
    )


def _qbp_duration(el: ET.Element, where: str, file: str | None) -> Duration:
    kind = el.get("type", "").upper()
    mean, a1, a2 = (float(el.get(k) or 0) for k in ("mean", "arg1", "arg2"))
    table = {
        "FIXED": ("fix", [mean]), "UNIFORM": ("uniform", [a1, a2]),
        "NORMAL": ("norm", [mean, a1, 0.0, float("inf")]),
        "EXPONENTIAL": ("expon", [a1, 0.0, float("inf")]),
        "GAMMA": ("gamma", [mean, a1, 0.0, float("inf")]),
        "LOGNORMAL": ("lognorm", [mean, a1, 0.0, float("inf")]),
    }
    if kind not in table:
        raise CapacityError(f"QBP distribution type '{kind}' is not supported", file=file,
                            path=where, suggestion=did_you_mean(kind, table))
    return _duration(*table[kind], where, file)


def _from_qbp(model: BpmnModel, info: ET.Element, file: str | None) -> ProsimosScenario:
    def find(el: ET.Element, name: str) -> list[ET.Element]:
        return [c for c in el.iter() if c.tag.rsplit("}", 1)[-1] == name]

    tables = {}
    for tt in find(info, "timetable"):
        periods = [{"from": r.get("fromWeekDay"), "to": r.get("toWeekDay"),
                    "beginTime": r.get("fromTime"), "endTime": r.get("toTime")}
                   for r in find(tt, "rule")]
        tables[tt.get("id")] = WeeklyCalendar.from_periods(periods, file=file)
    default_table = next((tables[t.get("id")] for t in find(info, "timetable")
                          if t.get("default") == "true"), None)
    staff, calendars, names = {}, {}, {}
    for r in find(info, "resource"):
        rid = r.get("id")
        staff[rid] = int(r.get("totalAmount", 1))
        names[rid] = r.get("name") or rid
        calendars[rid] = tables.get(r.get("timetableId"), default_table)
    work, pools = {}, {}
    for el in find(info, "element"):
        task = el.get("elementId")
        dist = find(el, "durationDistribution")[0]
        work[task] = _qbp_duration(dist, f"qbp:element[{task}]", file)
        rid = (find(el, "resourceId")[0].text or "").strip()
        pools[task] = rid
    probabilities = {f.get("elementId"): float(f.get("executionProbability"))
                     for f in find(info, "sequenceFlow") if f.get("executionProbability")}
    arrival = _qbp_duration(find(info, "arrivalRateDistribution")[0],
                            "qbp:arrivalRateDistribution", file)
    graph = replace(bpmn_graph(model, work=work, pools=pools, probabilities=probabilities),
                    pool_names=names)
    return ProsimosScenario(graph, staff, calendars, arrival,
                            default_table or WeeklyCalendar(((0.0, DAY_SECONDS),) * 7))


def load_prosimos(bpmn_path: str | os.PathLike[str],
                  json_path: str | os.PathLike[str] | None = None) -> ProsimosScenario:
    """The scenario of a BPMN model with Prosimos JSON parameters, or its own QBP block."""
    model = load_bpmn(bpmn_path)
    if json_path is not None:
        from process_models.loading import read_text

        try:
            data = json.loads(read_text(json_path))
        except json.JSONDecodeError as e:
            raise CapacityError(f"not valid JSON ({e.msg})", file=str(json_path),
                                line=e.lineno) from None
        return _from_json(model, data, str(json_path))
    if model.qbp is None:
        raise CapacityError("no simulation parameters: the BPMN file has no "
                            "qbp:processSimulationInfo block; pass a Prosimos JSON with --params",
                            file=str(bpmn_path))
    return _from_qbp(model, model.qbp, str(bpmn_path))


@dataclass(frozen=True)
class ProsimosResult:
    """What one run of a Prosimos scenario measured."""

    cases: int
    task_events: int
    mean_cycle_seconds: float
    utilisation: dict[str, float]
    stats: RunStats


def _arrivals(arrival: Duration, calendar: Timeline, first: float, cases: int,
              rng: np.random.Generator) -> Iterator[tuple[float, int, bool]]:
    gaps = arrival.sample(rng, cases + 1).tolist()
    t = first if calendar.next_open(first) == first else calendar.next_open(first + gaps[-1])
    for i in range(cases):
        yield t, 0, False
        t = calendar.next_open(t + gaps[i])


def simulate_prosimos(scenario: ProsimosScenario, *, cases: int, start: datetime,
                      seed: int = 0) -> ProsimosResult:
    """Run ``cases`` cases from ``start`` (local time of the calendars) on our engine.

    >>> from pathlib import Path
    >>> here = Path("../shared/bench-models")
    >>> if (here / "PurchasingExampleQBP.bpmn").exists():
    ...     s = load_prosimos(here / "PurchasingExampleQBP.bpmn",
    ...                       here / "PurchasingExampleQBP_2.1.json")
    ...     r = simulate_prosimos(s, cases=50, start=datetime(2024, 1, 1, 8), seed=1)
    ...     assert r.cases == 50 and r.mean_cycle_seconds > 0
    """
    if cases < 1:
        raise CapacityError(f"cases must be ≥ 1, got {cases}", path="--cases")
    first_day = start.date()
    ss = np.random.SeedSequence(seed)
    arrival_ss, engine_ss = ss.spawn(2)
    pools = [PoolSpec(p, scenario.staff[p], scenario.calendars[p].timeline(first_day, p))
             for p in scenario.graph.pools]
    offset = (start.replace(tzinfo=None) - datetime.combine(first_day, time())).total_seconds()
    stream = _arrivals(scenario.arrival, scenario.arrival_calendar.timeline(first_day, "arrivals"),
                       offset, cases, np.random.default_rng(arrival_ss))
    always = Timeline(lambda day: ((0.0, DAY_SECONDS),), first_day, always_open=True)
    stats = Engine([scenario.graph], pools, always, stream, engine_ss).run()
    g = stats.graphs[scenario.graph.id]
    util = {p: (s.busy_seconds / (s.staff * s.open_seconds) if s.open_seconds else 0.0)
            for p, s in stats.pools.items()}
    return ProsimosResult(g.cases, stats.task_events,
                          g.cycle_seconds_sum / g.cases if g.cases else float("nan"), util, stats)


def procedure_with_params(proc: Procedure, scenario: ProsimosScenario,
                          ) -> tuple[Procedure, list[str]]:
    """``proc`` with departments from the scenario's resource pools and work times where a
    :class:`~process_models.procedure.Distribution` can hold them; also what was not kept.

    Work seconds become working days of :data:`~simulations.capacity.plans.HOURS_PER_WORKING_DAY`
    hours. Fixed, triangular and lognormal times fit; the others are listed as not kept,
    as are arrivals and calendars (simulation settings, not procedure fields).
    """
    from simulations.capacity.plans import HOURS_PER_WORKING_DAY

    day = HOURS_PER_WORKING_DAY * 3600.0
    tasks = {t.id: t for t in scenario.graph.tasks}
    names = scenario.graph.pool_names
    notes: list[str] = []
    steps = []
    for s in proc.steps:
        t = tasks.get(s.id)
        if t is None:
            steps.append(s)
            continue
        w, duration = t.work, None
        if w.kind == "fixed":
            duration = Distribution(kind="fixed", days=w.params[0] / day)
        elif w.kind == "triangular":
            duration = Distribution(kind="triangular", low=w.params[0] / day,
                                    mode=w.params[1] / day, high=w.params[2] / day)
        elif w.kind == "lognormal":
            duration = Distribution(kind="lognormal", mean=w.params[0] / day,
                                    sd=w.params[1] / day)
        else:
            notes.append(f"step '{s.id}': {w.kind} work time {w.params} s has no duration "
                         "kind; the step keeps no duration")
        steps.append(s.model_copy(update={"department": t.pool, "duration": duration}))
    used = list(dict.fromkeys(s.department for s in steps))
    known = {d.id: d for d in proc.departments}
    for pool in used:
        if pool not in known and not re.fullmatch(ID_PATTERN, pool):
            raise CapacityError(f"resource profile id {shown(pool)} cannot be a department id; "
                                "rename it with letters, digits, '_', '-' or '+'",
                                path="resource_profiles")
    departments = [known.get(d) or Department(id=d, name=names.get(d, d)) for d in used]
    notes.append("arrival distribution, resource calendars and pool sizes are simulation "
                 "settings: run `onething capacity FILE.bpmn --params JSON` to use them")
    return check_procedure(proc.model_copy(update={"steps": steps,
                                                   "departments": departments})), notes
