"""Service-centre capacity: cases queue for staff, on the working-day calendar.

The critical path says how fast a case could go if every department were free; this
module runs many cases through shared staff pools and reports what share meets the
committed limit, where queues build up and what one more clerk buys.

How a catalog :class:`~process_models.procedure.Procedure` becomes a process graph
(:func:`procedure_graph`):

- each step is a task of its department's staff pool;
- work time: the step's ``duration`` distribution when it has one (working days of
  :data:`~simulations.capacity.plans.HOURS_PER_WORKING_DAY` staff hours), then only its
  untimed parts are waited;
  otherwise :data:`WORK_SHARE` of its committed limit (at least :data:`MIN_WORK_HOURS`),
  drawn triangular from half to one and a half times that, and the rest of the limit
  plus its untimed parts is waited (external time: the file travels, 公示, 制证);
- dependencies are flows (several become a parallel join); lags are waited;
- with the procedure's ``rework_probability`` (arrivals file) a finished step goes back
  to the applicant for 补正 (``supplement_working_days``) and is done again;
- a department with ``meets_on`` weekdays (staff file) is a committee: it decides
  everything queued at its sitting.

A case's elapsed working days run from its acceptance day (not counted) to the day its
last step ends, as :meth:`~process_models.calendar.WorkingCalendar.working_days_between`
counts them; it is on time within the procedure's committed critical-path length
(:func:`simulations.planning.cpm.critical_path_length`).

Arrivals are Poisson per procedure, with a rate per open hour scaled by weekday and hour
(``per_day`` is the mean of a full 7-hour day), or replayed from a CSV. Staff come from a
YAML file or ``DEPT=+N`` changes (both read by :mod:`simulations.capacity.plans`).
Random streams are separate per purpose (arrivals with their urgency, each task's work
time, routing and rework), so scenarios that differ only in staff see the same cases
(common random numbers).

>>> from datetime import date
>>> from process_models.catalog import load_catalog_procedure
>>> from simulations.capacity.plans import parse_arrivals
>>> newborn = load_catalog_procedure("newborn")
>>> result = simulate_capacity([newborn], start=date(2025, 3, 3), end=date(2025, 3, 14),
...                            arrivals=parse_arrivals({"newborn": {"per_day": 4}}),
...                            seed=1)
>>> result.procedures["newborn"].cases > 0
True
>>> 0 <= result.departments["police"].utilisation <= 1
True
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Any

import numpy as np

from process_models.calendar import local_time
from process_models.errors import CapacityError, UnknownReference, did_you_mean, shown
from process_models.procedure import Procedure, Unit
from process_models.table_files import csv_writer
from simulations.capacity.engine import DAY_SECONDS, Engine, PoolSpec, RunStats, Timeline
from simulations.capacity.model import Duration, Event, Flow, Gateway, ProcessGraph, Task
from simulations.capacity.plans import (
    HOURS_PER_WORKING_DAY,
    ArrivalPlan,
    ProcedureArrivals,
    StaffPlan,
    poisson_arrivals,
    replayed_arrivals,
    resolve_departments,
)
from simulations.planning.cpm import WORKING_DAYS_PER_CALENDAR_DAY, critical_path_length

__all__ = [
    "MIN_WORK_HOURS",
    "WORK_SHARE",
    "CapacityResult",
    "DepartmentResult",
    "ProcedureResult",
    "capacity_plots",
    "procedure_graph",
    "simulate_capacity",
    "what_if",
]

WORK_SHARE = 0.1
"""Share of a step's committed limit that is staff work when it has no ``duration``."""
MIN_WORK_HOURS = 0.25
"""Least staff work per step (a 即办件 with a zero limit still takes a quarter hour)."""


def _working_days(days: float, unit: Unit) -> float:
    return days if unit is Unit.working else days * WORKING_DAYS_PER_CALENDAR_DAY


# --- procedures as process graphs -----------------------------------------------------------


def procedure_graph(proc: Procedure) -> ProcessGraph:
    """The process graph of ``proc`` (see the module docstring for the mapping).

    >>> from process_models.catalog import load_catalog_procedure
    >>> g = procedure_graph(load_catalog_procedure("newborn"))
    >>> len(g.tasks), g.start
    (9, 'start')
    """
    nodes: list = [Event("start", "start")]
    hour = 3600.0 * HOURS_PER_WORKING_DAY
    for s in proc.steps:
        untimed = sum(_working_days(u.days, u.unit) for u in s.untimed)
        if s.duration is not None:
            work = _step_duration(s.duration, hour)
            wait = untimed
        else:
            limit = _working_days(s.committed.days, s.committed.unit)
            work_days = max(MIN_WORK_HOURS / HOURS_PER_WORKING_DAY, WORK_SHARE * limit)
            mean = work_days * hour
            work = Duration("triangular", (mean / 2, mean, mean * 1.5))
            wait = max(0.0, limit - work_days) + untimed
        nodes.append(Task(s.id, s.name, pool=s.department, work=work, wait_working_days=wait))
    flows: list[Flow] = []
    stages = {st.id: st for st in proc.stages}
    used_stages: set[str] = set()

    def flow(source: str, target: str, lag: float = 0.0) -> None:
        flows.append(Flow(f"{source}->{target}", source, target, lag_working_days=lag))

    for s in proc.steps:
        deps = s.depends_on
        target = s.id
        if len(deps) > 1:
            target = f"join:{s.id}"
            nodes.append(Gateway(target, "parallel"))
            flow(target, s.id)
        if not deps:
            flow("start", s.id)
        for d in deps:
            lag = _working_days(d.lag.days, d.lag.unit) if d.lag else 0.0
            source = d.step
            if d.step in stages:
                source = f"stage:{d.step}"
                used_stages.add(d.step)
            flow(source, target, lag)
    for sid in sorted(used_stages):
        st = stages[sid]
        nodes.append(Gateway(f"stage:{sid}", "parallel" if st.join.value == "all" else "any"))
        for m in st.milestones or st.steps:
            flow(m, f"stage:{sid}")
    has_successor = {f.source for f in flows}
    sinks = [s.id for s in proc.steps if s.id not in has_successor]
    nodes.append(Event("end", "end"))
    if len(sinks) > 1:
        nodes.append(Gateway("join:end", "parallel"))
        for s in sinks:
            flow(s, "join:end")
        flow("join:end", "end")
    else:
        flow(sinks[0], "end")
    return ProcessGraph(
        proc.id, proc.name, tuple(nodes), tuple(flows),
        limit_working_days=critical_path_length(proc),
        pool_names={d.id: d.name for d in proc.departments},
    )


def _step_duration(dist, seconds_per_day: float) -> Duration:
    k = dist.kind
    sc = seconds_per_day
    if k == "fixed":
        return Duration("fixed", (dist.days * sc,))
    if k in ("triangular", "pert"):
        return Duration("triangular", (dist.low * sc, dist.mode * sc, dist.high * sc))
    if k == "lognormal":
        return Duration("lognormal", (dist.mean * sc, dist.sd * sc))
    return Duration("empirical", tuple(x * sc for x in dist.samples))


# --- results --------------------------------------------------------------------------------


def _t_quantile(df: int) -> float:
    """The two-sided 95% Student t quantile."""
    table = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
             2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086)
    return table[df - 1] if df <= len(table) else 1.96 + 2.4 / df


def _ci(values: Sequence[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95% confidence interval (0 for one replication)."""
    v = [x for x in values if not math.isnan(x)]
    if not v:
        return math.nan, math.nan
    m = sum(v) / len(v)
    if len(v) < 2:
        return m, 0.0
    sd = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1))
    return m, _t_quantile(len(v) - 1) * sd / math.sqrt(len(v))


def _percentile(counts: Counter, q: float) -> float:
    total = sum(counts.values())
    if not total:
        return math.nan
    need, acc = q * total, 0
    for days in sorted(counts):
        acc += counts[days]
        if acc >= need:
            return float(days)
    return float(max(counts))


@dataclass(frozen=True)
class ProcedureResult:
    """Elapsed working days and on-time share of one procedure, pooled over replications.

    ``*_ci`` are 95% half-widths across replications.
    """

    procedure_id: str
    cases: int
    limit_working_days: float | None
    mean_working_days: float
    mean_working_days_ci: float
    p50: float
    p90: float
    p95: float
    on_time_share: float
    on_time_share_ci: float
    mean_cycle_hours: float
    distribution: dict[int, int]


@dataclass(frozen=True)
class DepartmentResult:
    """Utilisation, waiting and queue of one department's staff pool.

    Utilisation and waiting count tasks starting in the measured period (after the
    warm-up, up to the last arrival day); the queue figures cover the whole run,
    until the last case has finished.
    """

    department_id: str
    name: str
    staff: int
    utilisation: float
    utilisation_ci: float
    mean_wait_hours: float
    max_wait_hours: float
    max_queue: int
    daily_mean_queue: list[float]


@dataclass(frozen=True)
class CapacityResult:
    """What :func:`simulate_capacity` measured."""

    start: date
    end: date
    replications: int
    seed: int
    task_events: int
    procedures: dict[str, ProcedureResult]
    departments: dict[str, DepartmentResult]

    def as_dict(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        d = asdict(self)
        d["start"], d["end"] = self.start.isoformat(), self.end.isoformat()
        return d


def _summarise(graphs: Sequence[ProcessGraph], runs: Sequence[RunStats], start: date, end: date,
               seed: int) -> CapacityResult:
    procs = {}
    for g in graphs:
        stats = [r.graphs[g.id] for r in runs]
        pooled: Counter = Counter()
        for s in stats:
            pooled.update(s.elapsed_working_days)
        cases = sum(s.cases for s in stats)
        means = [sum(k * v for k, v in s.elapsed_working_days.items()) / s.cases
                 if s.cases else math.nan for s in stats]
        shares = [s.on_time / s.cases if s.cases else math.nan for s in stats]
        mean, mean_ci = _ci(means)
        share, share_ci = _ci(shares)
        procs[g.id] = ProcedureResult(
            g.id, cases, g.limit_working_days, mean, mean_ci,
            _percentile(pooled, 0.5), _percentile(pooled, 0.9), _percentile(pooled, 0.95),
            share if g.limit_working_days is not None else math.nan,
            share_ci if g.limit_working_days is not None else math.nan,
            sum(s.cycle_seconds_sum for s in stats) / cases / 3600 if cases else math.nan,
            dict(sorted(pooled.items())),
        )
    names: dict[str, str] = {}
    for g in graphs:
        names.update(g.pool_names)
    depts = {}
    for pid in runs[0].pools:
        stats = [r.pools[pid] for r in runs]
        util = [s.busy_seconds / (s.staff * s.open_seconds) if s.open_seconds and s.staff
                else math.nan for s in stats]
        u, u_ci = _ci(util)
        tasks = sum(s.tasks for s in stats)
        days = max(len(s.daily_mean_queue) for s in stats)
        queue = [sum(s.daily_mean_queue[i] for s in stats if i < len(s.daily_mean_queue))
                 / len(stats) for i in range(days)]
        depts[pid] = DepartmentResult(
            pid, names.get(pid, pid), stats[0].staff, u, u_ci,
            sum(s.wait_seconds_sum for s in stats) / tasks / 3600 if tasks else 0.0,
            max(s.wait_seconds_max for s in stats) / 3600, max(s.queue_max for s in stats),
            queue,
        )
    return CapacityResult(start, end, len(runs), seed, sum(r.task_events for r in runs),
                          procs, depts)


# --- running --------------------------------------------------------------------------------


def _spans(hours: Iterable[tuple[time, time]]) -> list[tuple[float, float]]:
    return [(a.hour * 3600 + a.minute * 60 + a.second, b.hour * 3600 + b.minute * 60 + b.second)
            for a, b in hours]


def _with_case_rates(g: ProcessGraph, plan: ProcedureArrivals) -> ProcessGraph:
    if not plan.rework_probability:
        return g
    nodes = tuple(replace(n, rework_probability=plan.rework_probability,
                          supplement_working_days=plan.supplement_working_days)
                  if isinstance(n, Task) else n for n in g.nodes)
    return replace(g, nodes=nodes)


class _LogWriter:
    """Streams the event log as CSV (the shape of a real case history export)."""

    def __init__(self, file: IO[str], origin: datetime, replication: int) -> None:
        self._csv = csv_writer(file)
        self._origin = origin
        self._prefix = f"R{replication}-" if replication else ""
        if not replication:
            self._csv.writerow(["case_id", "step_id", "department_id", "activity",
                                "lifecycle", "timestamp"])

    def __call__(self, case: str, step: str, dept: str, activity: str, lifecycle: str,
                 seconds: float) -> None:
        at = local_time(self._origin + timedelta(seconds=round(seconds)))
        self._csv.writerow([self._prefix + case, step, dept, activity, lifecycle,
                            at.isoformat()])


def simulate_capacity(
    procedures: Sequence[Procedure | ProcessGraph],
    *,
    start: date,
    end: date,
    arrivals: ArrivalPlan | None = None,
    staff: StaffPlan | None = None,
    replications: int = 1,
    seed: int = 0,
    warmup_days: int = 0,
    calendar=None,
    log_path: str | os.PathLike[str] | None = None,
) -> CapacityResult:
    """Simulate the service centre from ``start`` to ``end`` (arrivals), then until every
    case has finished.

    Parameters
    ----------
    procedures : sequence of Procedure or ProcessGraph
        Procedures (mapped by :func:`procedure_graph`) or ready process graphs.
    start, end : date
        The first and last day cases arrive on.
    arrivals, staff : ArrivalPlan, StaffPlan, optional
        Rates and staff; defaults: :data:`~simulations.capacity.plans.DEFAULT_CASES_PER_DAY` per procedure, one
        person per department.
    replications, seed : int
        Independent runs; the same seed gives the same result, and scenarios with the
        same seed share their random numbers.
    warmup_days : int
        Cases arriving in the first days are simulated but not counted.
    calendar : WorkingCalendar, optional
        A :class:`~process_models.calendar.WorkingCalendar` (default: from settings).
    log_path : path, optional
        Write the event log here as CSV.
    """
    from process_models.calendar import default_calendar

    if end < start:
        raise CapacityError(f"--to {end} is before --from {start}; swap them", path="--to")
    if replications < 1:
        raise CapacityError(f"replications must be ≥ 1, got {replications}",
                            path="--replications")
    if warmup_days < 0:
        raise CapacityError(f"warm-up must be ≥ 0 days, got {warmup_days}", path="--warmup")
    cal = calendar or default_calendar()
    arrivals = arrivals or ArrivalPlan()
    graphs = [p if isinstance(p, ProcessGraph) else procedure_graph(p) for p in procedures]
    index = {g.id: i for i, g in enumerate(graphs)}
    for pid in arrivals.procedures:
        if pid not in index:
            raise UnknownReference(f"arrival rates for unknown procedure {shown(pid)}",
                                   path="--arrivals", suggestion=did_you_mean(pid, index))
    graphs = [_with_case_rates(g, arrivals.of(g.id)) for g in graphs]
    names: dict[str, str] = {}
    for g in graphs:
        names.update({p: p for p in g.pools})
        names.update(g.pool_names)
    staff = resolve_departments(staff or StaffPlan(), names, "--staff")

    def opening(day: date) -> list[tuple[float, float]]:
        return _spans(cal.opening_hours(day))

    def working(day: date) -> list[tuple[float, float]]:
        return [(0.0, DAY_SECONDS)] if cal.is_working_day(day) else []

    pool_ids = list(dict.fromkeys(p for g in graphs for p in g.pools))
    runs = []
    origin = datetime.combine(start, time())
    for r, ss in enumerate(np.random.SeedSequence(seed).spawn(replications)):
        arrival_ss, engine_ss = ss.spawn(2)
        if arrivals.replay is not None:
            stream = replayed_arrivals(arrivals.replay, index, start)
        else:
            stream = poisson_arrivals([arrivals.of(g.id) for g in graphs], opening, start, end,
                                       np.random.default_rng(arrival_ss))
        hours = Timeline(opening, start, name="opening hours")   # one calendar for all
        pools = [PoolSpec(p, staff.staff.get(p, staff.default_staff), hours,
                          staff.meets_on.get(p, frozenset())) for p in pool_ids]
        for pool in pools:
            if pool.staff == 0 and not pool.meets_on:
                raise CapacityError(f"department '{pool.id}' has no staff but its steps need "
                                    "some; give it at least one", path="--staff")
        with (open(log_path, "a" if r else "w", newline="", encoding="utf-8") if log_path
              else nullcontext()) as log_file:
            engine = Engine(graphs, pools, Timeline(working, start, name="working days"), stream,
                            engine_ss, warmup_seconds=warmup_days * DAY_SECONDS,
                            measure_seconds=((end - start).days + 1) * DAY_SECONDS,
                            log=_LogWriter(log_file, origin, r) if log_file else None)
            runs.append(engine.run())
    return _summarise(graphs, runs, start, end, seed)


def what_if(procedures: Sequence[Procedure | ProcessGraph], changes: Mapping[str, int], *,
            staff: StaffPlan | None = None, **kwargs) -> list[dict[str, Any]]:
    """Baseline against ``staff`` changed by ``changes``, on common random numbers.

    Rows ``{"kind", "id", "measure", "before", "after"}``: the on-time share (when the
    procedure has a limit) and mean working days per procedure, and staff, utilisation and
    mean wait per department whose figures changed; keywords as :func:`simulate_capacity`.
    """
    base_staff = staff or StaffPlan()
    before = simulate_capacity(procedures, staff=base_staff, **kwargs)
    names = {d.department_id: d.name for d in before.departments.values()}
    resolved = resolve_departments(StaffPlan(dict(changes)), names, "--staff")
    after = simulate_capacity(procedures, staff=resolve_departments(
        base_staff, names, "--staff").changed(resolved.staff), **kwargs)
    rows: list[dict[str, Any]] = []
    for pid, b in before.procedures.items():
        a = after.procedures[pid]
        if b.limit_working_days is not None:
            rows.append({"kind": "procedure", "id": pid, "measure": "on_time_share",
                         "before": b.on_time_share, "after": a.on_time_share})
        rows.append({"kind": "procedure", "id": pid, "measure": "mean_working_days",
                     "before": b.mean_working_days, "after": a.mean_working_days})
    for did, b in before.departments.items():
        a = after.departments[did]
        if (b.staff, b.utilisation, b.mean_wait_hours) == (a.staff, a.utilisation,
                                                            a.mean_wait_hours):
            continue
        for measure in ("staff", "utilisation", "mean_wait_hours"):
            rows.append({"kind": "department", "id": did, "measure": measure,
                         "before": getattr(b, measure), "after": getattr(a, measure)})
    return rows


# --- plots ----------------------------------------------------------------------------------


def capacity_plots(result: CapacityResult, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Queue over time and utilisation as PNG and SVG, and one HTML page holding both.

    Figures are drawn without pyplot (no global state); Chinese labels use a Noto CJK
    font when one is installed (Debian ``fonts-noto-cjk``).
    """
    import matplotlib
    from matplotlib import font_manager
    from matplotlib.figure import Figure

    cjk = sorted({f.name for f in font_manager.fontManager.ttflist if "CJK" in f.name},
                 key=lambda name: not name.endswith("SC"))   # simplified Chinese first
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    depts = list(result.departments.values())
    with matplotlib.rc_context({"font.family": [*cjk[:1], "DejaVu Sans"]}):
        fig = Figure(figsize=(9, 4))
        ax = fig.subplots()
        for d in depts:
            days = [result.start + timedelta(days=i) for i in range(len(d.daily_mean_queue))]
            ax.plot(days, d.daily_mean_queue, label=d.name)
        ax.set_title("排队长度 (queue length, daily mean)")
        ax.set_ylabel("cases waiting")
        ax.legend(fontsize="small")
        fig.autofmt_xdate()
        for ext in ("png", "svg"):
            fig.savefig(out / f"queue.{ext}", bbox_inches="tight")
            written.append(out / f"queue.{ext}")

        fig = Figure(figsize=(9, 4))
        ax = fig.subplots()
        ax.barh([d.name for d in depts], [d.utilisation for d in depts],
                xerr=[d.utilisation_ci for d in depts])
        ax.set_xlim(0, 1)
        ax.set_title("人员利用率 (staff utilisation)")
        for ext in ("png", "svg"):
            fig.savefig(out / f"utilisation.{ext}", bbox_inches="tight")
            written.append(out / f"utilisation.{ext}")

    rows = "".join(
        f"<tr><td>{p.procedure_id}</td><td>{p.cases}</td><td>{p.mean_working_days:.1f}</td>"
        f"<td>{p.p90:g}</td><td>{p.on_time_share:.1%}</td></tr>"
        for p in result.procedures.values())
    html = (
        "<!doctype html><meta charset='utf-8'><title>onething capacity</title>"
        f"<h1>Capacity {result.start} – {result.end}</h1>"
        "<table><tr><th>procedure</th><th>cases</th><th>mean working days</th><th>p90</th>"
        f"<th>on time</th></tr>{rows}</table>"
        + (out / "queue.svg").read_text(encoding="utf-8")
        + (out / "utilisation.svg").read_text(encoding="utf-8")
    )
    (out / "capacity.html").write_text(html, encoding="utf-8")
    written.append(out / "capacity.html")
    return written

