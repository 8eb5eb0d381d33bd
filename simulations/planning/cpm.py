"""The critical-path method on a procedure, in working days after acceptance (受理).

A step's duration is its committed (or statutory) limit plus its untimed parts (公示,
专家评审, ...); a dependency adds its lag; a stage is a zero-length node that completes
when all (``join: all``) or the first (``join: any``) of its milestones complete.
Follow-up checks (``follow_up``, 事中事后核查) run after issue, off the applicant's path,
and are not scheduled.

Calendar-day (自然日) limits, untimed parts and lags are exact when a start date is
given: each is laid on the working-day calendar where it falls. Without a start date they
are converted at a fixed :data:`WORKING_DAYS_PER_CALENDAR_DAY`, and
:attr:`Schedule.calendar_days_converted` names the steps and dependencies so converted.

>>> from process_models import Department, Limit, Procedure, Step
>>> def step(id, days, after=(), unit="working"):
...     return Step(id=id, name=id, department="x", committed=Limit(days=days, unit=unit),
...                 depends_on=list(after))
>>> p = Procedure(id="demo", name="示例", departments=[Department(id="x", name="X")],
...     steps=[step("a", 2), step("b", 3, ["a"]), step("c", 1, ["a"]), step("d", 0, ["b", "c"]),
...            step("e", 14, unit="calendar")])
>>> s = schedule(p)
>>> round(s.elapsed_working_days, 2), s.critical_paths, round(s.total_slack["c"], 2)
(9.51, [['e']], 6.51)
>>> s.calendar_days_converted
['e']
>>> s = schedule(p, start=date(2025, 1, 24))   # 14 calendar days across 春节
>>> s.elapsed_working_days, s.dates["e"]
(5.0, (datetime.date(2025, 1, 24), datetime.date(2025, 2, 7)))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from process_models.graph import edges
from process_models.procedure import Join, Limit, Procedure, Unit
from process_models.summary import (
    LIMITS,
    WORKING_DAYS_PER_CALENDAR_DAY,
    as_working_days,
    check_limits,
    step_duration_working_days,
    step_limit,
    step_segments,
)

if TYPE_CHECKING:
    import numpy as np

    from process_models.calendar import WorkingCalendar
    from simulations.planning._compiled import CompiledGraph, Passes

__all__ = [
    "LIMITS",
    "WORKING_DAYS_PER_CALENDAR_DAY",
    "BackwardSchedule",
    "CompiledProcedure",
    "Schedule",
    "as_working_days",
    "backward_schedule",
    "check_limits",
    "compile_procedure",
    "critical_path",
    "critical_path_length",
    "critical_paths",
    "schedule",
    "step_duration_working_days",
    "step_limit",
]

@dataclass(frozen=True)
class Schedule:
    """Earliest and latest times of every step and stage of one procedure, on one basis.

    Times are working days after acceptance; ``dates`` gives each step's (start, finish)
    dates when a start date was given. ``calendar_days_converted`` names the steps (and
    ``pred->step`` dependencies) whose calendar days were converted at the fixed ratio
    because no start date was given.
    """

    procedure_id: str
    limits: str
    earliest_start: dict[str, float]
    earliest_finish: dict[str, float]
    latest_start: dict[str, float]
    latest_finish: dict[str, float]
    total_slack: dict[str, float]
    free_slack: dict[str, float]
    critical_paths: list[list[str]]
    elapsed_working_days: float
    dates: dict[str, tuple[date, date]] | None = None
    calendar_days_converted: list[str] = field(default_factory=list)

    @property
    def critical_steps(self) -> list[str]:
        """Steps on some critical path, in the order they first appear."""
        return list(dict.fromkeys(s for path in self.critical_paths for s in path))

    def step_times(self, step_ids: list[str]) -> dict[str, dict[str, float]]:
        """Earliest/latest start and finish and both slacks of each step, as plain data."""
        return {sid: {"earliest_start": self.earliest_start[sid],
                      "earliest_finish": self.earliest_finish[sid],
                      "latest_start": self.latest_start[sid],
                      "latest_finish": self.latest_finish[sid],
                      "total_slack": self.total_slack[sid],
                      "free_slack": self.free_slack[sid]} for sid in step_ids}


@dataclass(frozen=True, eq=False)
class CompiledProcedure:
    """A procedure's steps and stages as a :class:`CompiledGraph`, with the id of each node.

    ``ids`` are in level order; ``edge_lags`` are the dependencies' lags in the CSR order
    of the graph (``None`` for no lag and for stage milestones).
    """

    procedure: Procedure
    limits: str
    graph: CompiledGraph
    ids: list[str]
    edge_lags: list[Limit | None]
    stage_ids: frozenset[str]


def compile_procedure(proc: Procedure, *, limits: str = "committed") -> CompiledProcedure:
    """Compile ``proc`` once for repeated passes (durations on ``limits``).

    >>> from process_models.catalog import load_catalog_procedure
    >>> c = compile_procedure(load_catalog_procedure("newborn"))
    >>> c.graph.size == len(c.ids)
    True
    """
    import numpy as np

    from simulations.planning._compiled import compile_dag

    check_limits(limits)
    steps = proc.applicant_steps
    names = [s.id for s in steps] + [st.id for st in proc.stages]
    index = {n: i for i, n in enumerate(names)}
    src, dst, lags, lag_limits = [], [], [], []
    for before, after, d in edges(proc):  # follow-up checks are not on the applicant's path
        if before not in index or after not in index:
            continue
        lag = d.lag if d else None
        src.append(index[before])
        dst.append(index[after])
        lags.append(as_working_days(lag.days, lag.unit) if lag else 0.0)
        lag_limits.append(lag)
    duration = [step_duration_working_days(s, limits=limits) for s in steps]
    duration += [0.0] * len(proc.stages)
    is_any = [False] * len(steps) + [st.join is Join.any for st in proc.stages]
    g = compile_dag(len(names), src, dst, lags, duration, is_any, names)
    csr = np.argsort(g.position[np.asarray(dst, dtype=np.int64)], kind="stable")
    return CompiledProcedure(
        procedure=proc, limits=limits, graph=g, ids=[names[i] for i in g.order],
        edge_lags=[lag_limits[i] for i in csr.tolist()],
        stage_ids=frozenset(st.id for st in proc.stages),
    )


def _dated(c: CompiledProcedure, start: date, cal: WorkingCalendar):
    """Durations and lags as they fall on the calendar from ``start`` (level order), and
    a function from a working-day offset to its date."""
    import numpy as np

    g = c.graph
    by_id = {s.id: s for s in c.procedure.steps}

    def on(x: float) -> date:
        return cal.add_working_days(start, x)

    def advance(x: float, days: float, unit: Unit) -> float:
        if unit is Unit.working or days == 0:
            return x + days
        return max(x, float(cal.working_days_between(start, cal.add_calendar_days(on(x), days))))

    duration = np.zeros(g.size)
    lag = g.pred_lag.copy()
    ef = np.zeros(g.size)
    for k, node in enumerate(c.ids):
        e0, e1 = g.pred_ptr[k], g.pred_ptr[k + 1]
        arrive = []
        for e in range(e0, e1):
            limit, finish = c.edge_lags[e], ef[g.pred_idx[e]]
            if limit is not None:
                lag[e] = advance(finish, limit.days, limit.unit) - finish
            arrive.append(finish + lag[e])
        es = (min if g.is_any[k] else max)(arrive) if arrive else 0.0
        x = es
        if node in by_id:
            for days, unit in step_segments(by_id[node], c.limits):
                x = advance(x, days, unit)
        duration[k], ef[k] = x - es, x
    return g.with_times(duration, lag), on


def _paths(c: CompiledProcedure, p: Passes, max_paths: int) -> list[list[str]]:
    """Every critical path (ties kept), each as step ids from a start to an end."""
    from simulations.planning._compiled import tolerance

    g = c.graph
    tol = tolerance(p.elapsed)
    critical = p.total_slack == 0.0
    nxt: dict[int, list[int]] = {}
    has_prev: set[int] = set()
    for e in range(len(g.pred_idx)):
        u, v = int(g.pred_idx[e]), int(g.edge_dst[e])
        tight = abs(p.earliest_finish[u] + g.pred_lag[e] - p.earliest_start[v]) <= tol
        if critical[u] and critical[v] and p.binding[e] and tight:
            nxt.setdefault(u, []).append(v)
            has_prev.add(v)
    paths: dict[tuple[str, ...], None] = {}
    stack = [[k] for k in range(g.size - 1, -1, -1) if critical[k] and k not in has_prev]
    while stack and len(paths) < max_paths:
        path = stack.pop()
        succ = nxt.get(path[-1])
        if succ:
            stack.extend(path + [v] for v in reversed(succ))
        elif abs(p.earliest_finish[path[-1]] - p.elapsed) <= tol:
            steps = tuple(c.ids[k] for k in path if c.ids[k] not in c.stage_ids)
            paths.setdefault(steps)
    return [list(path) for path in paths]


def schedule(
    proc: Procedure | CompiledProcedure,
    *,
    limits: str = "committed",
    start: date | None = None,
    calendar: WorkingCalendar | None = None,
    max_paths: int = 10_000,
) -> Schedule:
    """Earliest/latest start and finish, slack and every critical path of ``proc``.

    Parameters
    ----------
    proc : Procedure or CompiledProcedure
        A procedure, or one compiled with :func:`compile_procedure` (then ``limits`` is
        the one it was compiled on).
    limits : {'committed', 'statutory'}
        ``"committed"`` (承诺时限) or ``"statutory"`` (法定时限; steps without one use
        their committed limit).
    start : date, optional
        The acceptance date. Gives each step's dates and lays calendar days exactly on
        the working-day calendar.
    calendar : WorkingCalendar, optional
        The working-day calendar for ``start`` (default: ``default_calendar()``).
    max_paths : int
        Stop listing critical paths after this many (a graph can hold exponentially many).

    Examples
    --------
    >>> from process_models import Procedure, Step, Limit, Department
    >>> p = Procedure(id="d", name="diamond", departments=[Department(id="x", name="X")],
    ...     steps=[Step(id="a", name="A", department="x", committed=Limit(days=1)),
    ...            Step(id="b", name="B", department="x", committed=Limit(days=3), depends_on="a"),
    ...            Step(id="c", name="C", department="x", committed=Limit(days=2), depends_on="a"),
    ...            Step(id="d", name="D", department="x", committed=Limit(days=1),
    ...                 depends_on=["b", "c"])])
    >>> s = schedule(p)
    >>> s.elapsed_working_days, s.critical_paths, s.total_slack["c"], s.free_slack["c"]
    (5.0, [['a', 'b', 'd']], 1.0, 1.0)
    """
    from simulations.planning._compiled import forward_backward

    c = proc if isinstance(proc, CompiledProcedure) else compile_procedure(proc, limits=limits)
    g = c.graph
    on = None
    if start is not None:
        if calendar is None:
            from process_models.calendar import default_calendar

            calendar = default_calendar()
        g, on = _dated(c, start, calendar)
        c = CompiledProcedure(c.procedure, c.limits, g, c.ids, c.edge_lags, c.stage_ids)
    p = forward_backward(g)

    def per_node(values: np.ndarray) -> dict[str, float]:
        return dict(zip(c.ids, values.tolist()))

    dates = None
    if on is not None:
        dates = {n: (on(es), on(ef)) for n, es, ef in
                 zip(c.ids, p.earliest_start.tolist(), p.earliest_finish.tolist())
                 if n not in c.stage_ids}
    return Schedule(
        procedure_id=c.procedure.id,
        limits=c.limits,
        earliest_start=per_node(p.earliest_start),
        earliest_finish=per_node(p.earliest_finish),
        latest_start=per_node(p.latest_start),
        latest_finish=per_node(p.latest_finish),
        total_slack=per_node(p.total_slack),
        free_slack=per_node(p.free_slack),
        critical_paths=_paths(c, p, max_paths),
        elapsed_working_days=p.elapsed,
        dates=dates,
        calendar_days_converted=[] if start is not None else _converted(c.procedure, c.limits),
    )


def _converted(proc: Procedure, limits: str) -> list[str]:
    """Steps and ``pred->step`` dependencies holding calendar days on basis ``limits``."""
    found = []
    for s in proc.applicant_steps:
        if any(u is Unit.calendar for _, u in step_segments(s, limits)):
            found.append(s.id)
        found += [f"{d.step}->{s.id}" for d in s.depends_on if d.lag and d.lag.unit is Unit.calendar]
    return found


def critical_paths(proc: Procedure, **kw) -> list[list[str]]:
    """Every critical path of ``proc`` (ties kept); keywords as :func:`schedule`."""
    return schedule(proc, **kw).critical_paths


def critical_path(proc: Procedure, **kw) -> list[str]:
    """The first critical path of ``proc`` as step ids (empty when no step is on the
    applicant's path); keywords as :func:`schedule`.

    >>> from process_models.catalog import load_catalog_procedure
    >>> newborn = load_catalog_procedure("newborn")
    >>> critical_path(newborn) in critical_paths(newborn)
    True
    """
    paths = schedule(proc, **kw).critical_paths
    return paths[0] if paths else []


def critical_path_length(proc: Procedure, **kw) -> float:
    """Elapsed working days from acceptance to the last step's finish; keywords as
    :func:`schedule`.

    >>> from process_models.catalog import load_catalog_procedure
    >>> newborn = load_catalog_procedure("newborn")
    >>> critical_path_length(newborn, limits="statutory") <= critical_path_length(newborn)
    True
    """
    return schedule(proc, **kw).elapsed_working_days


@dataclass(frozen=True)
class BackwardSchedule:
    """A schedule laid backwards (倒排) from the date the procedure must be done by.

    ``accept_by`` is the latest working day the application can be accepted on: a
    :func:`schedule` started then finishes on or before ``finish_by``, one started a
    working day later does not. ``dates`` gives each step's latest (start, finish)
    working days for the whole procedure to be done by ``finish_by``.
    """

    procedure_id: str
    limits: str
    finish_by: date
    accept_by: date
    dates: dict[str, tuple[date, date]]


def _finish_date(c: CompiledProcedure, start: date, cal: WorkingCalendar) -> date:
    """The date a schedule of ``c`` accepted on ``start`` is done."""
    from simulations.planning._compiled import forward

    g, on = _dated(c, start, cal)
    _, ef = forward(g)
    return on(float(ef.max()) if g.size else 0.0)


def backward_schedule(
    proc: Procedure | CompiledProcedure,
    finish_by: date,
    *,
    limits: str = "committed",
    calendar: WorkingCalendar | None = None,
) -> BackwardSchedule:
    """Lay ``proc`` backwards from ``finish_by``: each step's latest start and finish
    dates, and the latest acceptance date (倒排审批日期).

    Times run on the working-day calendar as :func:`schedule` lays them: a working-day
    part ends on its last working day, a calendar-day part (自然日) that ends on a rest day
    ends on the next working day, and a step of 0 days finishes the day it starts.
    An any-join stage waits only for the milestone that arrives first.

    >>> from process_models import Department, Limit, Procedure, Step
    >>> p = Procedure(id="demo", name="示例", departments=[Department(id="x", name="X")],
    ...     steps=[Step(id="a", name="A", department="x", committed=Limit(days=5)),
    ...            Step(id="b", name="B", department="x", committed=Limit(days=3),
    ...                 depends_on="a")])
    >>> b = backward_schedule(p, date(2025, 2, 11))   # 春节 and two 调休 weekend days
    >>> b.accept_by, b.dates["b"]
    (datetime.date(2025, 1, 24), (datetime.date(2025, 2, 7), datetime.date(2025, 2, 11)))
    >>> schedule(p, start=b.accept_by).dates["b"][1]
    datetime.date(2025, 2, 11)
    """
    import math
    from datetime import timedelta

    from simulations.planning._compiled import forward_backward, tolerance

    c = proc if isinstance(proc, CompiledProcedure) else compile_procedure(proc, limits=limits)
    if calendar is None:
        from process_models.calendar import default_calendar

        calendar = default_calendar()
    cal, g = calendar, c.graph
    nominal = forward_backward(g).elapsed
    tol = tolerance(nominal)
    # Times are working-day positions, 0 being the last working day on or before
    # finish_by; position t lies in working day ceil(t), as in :func:`schedule`.
    end = finish_by if cal.is_working_day(finish_by) else cal.add_working_days(finish_by, -1)

    def day(t: float) -> date:
        return cal.add_working_days(end, math.ceil(t - tol))

    def back(t: float, days: float, unit: Unit) -> float:
        """The latest position from which ``days`` in ``unit`` end by position ``t``."""
        if unit is Unit.working or days == 0:
            return t - days
        due = day(math.floor(t + tol))
        latest = due - timedelta(days=math.ceil(days))
        if not cal.is_working_day(latest):
            latest = cal.add_working_days(latest, -1)
        while cal.add_calendar_days(latest, days) > due:
            latest = cal.add_working_days(latest, -1)
        while cal.add_calendar_days(nxt := cal.add_working_days(latest, 1), days) <= due:
            latest = nxt
        return float(cal.working_days_between(end, latest))

    by_id = {s.id: s for s in c.procedure.steps}
    first = [k for k in range(g.size) if g.pred_ptr[k] == g.pred_ptr[k + 1]]

    def latest(start: date) -> tuple[list[float], list[float]]:
        """Latest start and finish positions; an any-join waits for the milestone that
        arrives first when accepted on ``start``."""
        binding = forward_backward(_dated(c, start, cal)[0]).binding
        succ: dict[int, list[int]] = {}
        for e in range(len(g.pred_idx)):
            if binding[e]:
                succ.setdefault(int(g.pred_idx[e]), []).append(e)
        ls, lf = [0.0] * g.size, [0.0] * g.size
        for k in range(g.size - 1, -1, -1):
            t = 0.0
            for e in succ.get(k, ()):
                lag, need = c.edge_lags[e], ls[int(g.edge_dst[e])]
                t = min(t, back(need, lag.days, lag.unit) if lag is not None else need)
            lf[k] = t
            if c.ids[k] in by_id:
                for days, unit in reversed(step_segments(by_id[c.ids[k]], c.limits)):
                    t = back(t, days, unit)
            ls[k] = t
        return ls, lf

    ls, _ = latest(cal.add_working_days(end, -math.ceil(nominal - tol)))
    accept = day(math.floor(min((ls[k] for k in first), default=0.0) + tol))
    while _finish_date(c, accept, cal) > finish_by:
        accept = cal.add_working_days(accept, -1)
    while _finish_date(c, later := cal.add_working_days(accept, 1), cal) <= finish_by:
        accept = later
    ls, lf = latest(accept)
    return BackwardSchedule(
        procedure_id=c.procedure.id, limits=c.limits, finish_by=finish_by, accept_by=accept,
        dates={n: (day(ls[k]), day(lf[k])) for k, n in enumerate(c.ids)
               if n not in c.stage_ids},
    )
