"""The discrete-event simulation (DES) engine behind :mod:`simulations.capacity.service_centre`.

A discrete-event simulation jumps from one event to the next instead of ticking a clock:
a case arrives, a clerk finishes a task, a wait ends, a committee sits. Each event is a
time on one heap (plain floats); handling it changes the state (who is free, what queues)
and schedules the events it causes. Nothing happens between two events, so a year of a
service centre is a few hundred thousand handler calls.

Time is seconds after midnight of the first simulated day. A :class:`Timeline` lists the
open spans of one calendar (a department's opening hours, or whole working days for
external waits), grown a day at a time as the simulation reaches them, so there is no
horizon cap. Cases live only while they have tokens in flight; statistics are running
sums and counters, so memory grows with the cases in progress, not with all cases.

>>> tl = Timeline(lambda day: [(9 * 3600.0, 12 * 3600.0), (13.5 * 3600, 17.5 * 3600)],
...               first_day=__import__("datetime").date(2025, 1, 6))
>>> tl.advance(tl.next_open(8 * 3600.0), 4 * 3600.0) / 3600   # 9:00 + 3 h, lunch, + 1 h
14.5
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from heapq import heappop, heappush
from itertools import chain, count, repeat

import numpy as np

from process_models.errors import CalendarError
from simulations.capacity.model import Event, Gateway, ProcessGraph, Task

__all__ = ["DAY_SECONDS", "Engine", "GraphStats", "PoolSpec", "PoolStats", "RunStats", "Timeline"]

DAY_SECONDS = 86400.0
_NEVER_OPEN_DAYS = 3660
_BUFFER = 512

# node kinds
_TASK, _PARALLEL, _EXCLUSIVE, _ANY, _START, _END = range(6)
# event kinds: positions in Engine._handlers
_ARRIVE, _TASK_DONE, _TRAVEL, _REACH, _MEETING, _NEW_DAY = range(6)


class Timeline:
    """Open spans of one calendar as cumulative arrays; see the module docstring.

    ``spans_of_day(day)`` gives ``(start, end)`` seconds after that day's midnight.
    ``always_open=True`` skips the arrays (24/7 resources).

    ``span(t, seconds)`` gives the start (``t``, or the next opening) and the end of
    ``seconds`` of open time; it is a closure over the arrays, the engine's hottest call.
    """

    def __init__(self, spans_of_day: Callable[[date], Sequence[tuple[float, float]]],
                 first_day: date, *, always_open: bool = False, name: str = "") -> None:
        self._spans_of_day = spans_of_day
        self._first_day = first_day
        self._days = 0
        self.always_open = always_open
        self.name = name
        self.starts: list[float] = []
        self.ends: list[float] = []
        self.cum_end: list[float] = []   # open seconds up to the end of each span
        self._safe = [-1.0]              # spans are complete before this instant
        self.span = self._span_function()

    def _grow(self) -> None:
        offset = self._days * DAY_SECONDS
        total = self.cum_end[-1] if self.cum_end else 0.0
        for s, e in self._spans_of_day(self._first_day + timedelta(days=self._days)):
            if e <= s:
                continue
            total += e - s
            if self.ends and self.ends[-1] == offset + s:   # adjacent spans merge
                self.ends[-1] = offset + e
                self.cum_end[-1] = total
            else:
                self.starts.append(offset + s)
                self.ends.append(offset + e)
                self.cum_end.append(total)
        self._days += 1

    def _cover(self, t: float) -> None:
        """Grow until one span ends after ``t`` and the day of ``t`` is complete."""
        empty_days = 0
        while self._days * DAY_SECONDS <= t or not self.ends or self.ends[-1] <= t:
            before = self.cum_end[-1] if self.cum_end else 0.0
            self._grow()
            empty_days = empty_days + 1 if (self.cum_end[-1] if self.cum_end else 0.0) == before \
                else 0
            if empty_days > _NEVER_OPEN_DAYS:
                raise CalendarError(
                    f"'{self.name}' has no opening hours for ten years after "
                    f"{self._first_day + timedelta(days=self._days - empty_days)}; "
                    "give it opening hours or staff it on another calendar")
        self._safe[0] = min(self.ends[-1], self._days * DAY_SECONDS)

    def open_seconds(self, t: float) -> float:
        """Open seconds from the origin up to ``t``."""
        if self.always_open:
            return t
        if t >= self._safe[0]:
            self._cover(t)
        i = bisect_right(self.ends, t)
        before = self.cum_end[i - 1] if i else 0.0
        return before + max(0.0, t - self.starts[i])

    def next_open(self, t: float) -> float:
        """``t`` if the calendar is open then, else the next opening."""
        return self.span(t, 0.0)[0]

    def _span_function(self) -> Callable[[float, float], tuple[float, float]]:
        if self.always_open:
            return lambda t, seconds: (t, t + seconds)
        starts, ends, cum, safe, cover = (self.starts, self.ends, self.cum_end, self._safe,
                                          self._cover)

        def span(t: float, seconds: float) -> tuple[float, float]:
            if t >= safe[0]:
                cover(t)
            i = bisect_right(ends, t)
            s = starts[i]
            if s < t:  # noqa: PLR1730  (a branch is cheaper than max() on this path)
                s = t
            if seconds <= 0:
                return s, s
            end_i = ends[i]
            if s + seconds <= end_i:
                return s, s + seconds
            target = cum[i] - (end_i - s) + seconds
            while cum[-1] < target:
                cover(ends[-1] + DAY_SECONDS)
            j = bisect_left(cum, target, i)
            return s, ends[j] - (cum[j] - target)

        return span

    def advance(self, t: float, seconds: float) -> float:
        """The instant ``seconds`` of open time after ``t`` (``t`` itself for zero)."""
        if seconds <= 0:
            return t
        return self.span(t, seconds)[1]


@dataclass
class PoolSpec:
    """A staff pool: ``staff`` people on ``timeline``.

    ``meets_on`` (weekday numbers, Monday 0) makes it a committee: tasks queue until a
    meeting day, then everything queued is decided in one sitting of ``meeting_seconds``.
    """

    id: str
    staff: int
    timeline: Timeline
    meets_on: frozenset[int] = frozenset()
    meeting_seconds: float = 2 * 3600.0


@dataclass
class GraphStats:
    """Running figures for one process graph (cases counted after the warm-up)."""

    cases: int = 0
    on_time: int = 0
    elapsed_working_days: Counter = field(default_factory=Counter)
    cycle_seconds_sum: float = 0.0
    cycle_seconds_sumsq: float = 0.0
    cycle_seconds_max: float = 0.0


@dataclass
class PoolStats:
    """Running figures for one staff pool (tasks started after the warm-up)."""

    tasks: int = 0
    busy_seconds: float = 0.0
    wait_seconds_sum: float = 0.0
    wait_seconds_max: float = 0.0
    queue_max: int = 0
    open_seconds: float = 0.0
    staff: int = 0
    daily_mean_queue: list[float] = field(default_factory=list)


@dataclass
class RunStats:
    """What one replication measured."""

    graphs: dict[str, GraphStats]
    pools: dict[str, PoolStats]
    task_events: int
    cases_started: int
    end_seconds: float


def _draws(duration, rng: np.random.Generator) -> Callable[[], float]:
    """``next`` over draws of ``duration`` from ``rng``, numpy called once per batch.

    The returned callable is a C-level ``__next__``: no Python frame per draw.
    """
    if duration.kind == "fixed":
        return repeat(min(max(duration.params[0], duration.low), duration.high)).__next__
    return chain.from_iterable(
        iter(lambda: duration.sample(rng, _BUFFER).tolist(), None)).__next__


def _uniforms(rng: np.random.Generator) -> Callable[[], float]:
    """``next`` over uniform draws on [0, 1) from ``rng``, batched like :func:`_draws`."""
    return chain.from_iterable(iter(lambda: rng.random(_BUFFER).tolist(), None)).__next__


class _Case:
    __slots__ = ("arrived", "fired", "graph", "joins", "no", "priority", "tokens")

    def __init__(self, no: int, graph: _Compiled, arrived: float, priority: int) -> None:
        self.no = no
        self.graph = graph
        self.arrived = arrived
        self.tokens = 1
        self.joins: list[int] | None = None   # tokens waiting at each parallel join
        self.fired: set[int] | None = None
        self.priority = priority


class _Compiled:
    """One graph as flat lists indexed by node number."""

    def __init__(self, graph: ProcessGraph, pool_index: dict[str, int],
                 work_streams: Iterator[np.random.Generator]) -> None:
        index = {n.id: i for i, n in enumerate(graph.nodes)}
        self.graph = graph
        self.ids = [n.id for n in graph.nodes]
        self.names = [getattr(n, "name", "") or n.id for n in graph.nodes]
        self.kind: list[int] = []
        self.pool: list[int] = []
        self.draw: list[Callable[[], float] | None] = []
        self.wait_days: list[float] = []
        self.rework: list[float] = []
        self.supplement_days: list[float] = []
        for n in graph.nodes:
            is_task = isinstance(n, Task)
            if is_task:
                self.kind.append(_TASK)
            elif isinstance(n, Gateway):
                self.kind.append({"parallel": _PARALLEL, "exclusive": _EXCLUSIVE,
                                  "any": _ANY}[n.kind])
            else:
                assert isinstance(n, Event)
                self.kind.append(_START if n.kind == "start" else _END)
            self.pool.append(pool_index[n.pool] if is_task else -1)
            self.draw.append(_draws(n.work, next(work_streams)) if is_task else None)
            self.wait_days.append(n.wait_working_days if is_task else 0.0)
            self.rework.append(n.rework_probability if is_task else 0.0)
            self.supplement_days.append(n.supplement_working_days if is_task else 0.0)
        self.out: list[list[tuple[int, float]]] = [[] for _ in graph.nodes]
        self.cumprob: list[list[float] | None] = [None] * len(graph.nodes)
        self.join = [0] * len(graph.nodes)
        probs: list[list[float | None]] = [[] for _ in graph.nodes]
        for f in graph.flows:
            s, t = index[f.source], index[f.target]
            self.out[s].append((t, f.lag_working_days))
            probs[s].append(f.probability)
            self.join[t] += 1
        for i, k in enumerate(self.kind):
            if k == _EXCLUSIVE and len(self.out[i]) > 1:
                given = [p for p in probs[i] if p is not None]
                rest = (1.0 - sum(given)) / (len(probs[i]) - len(given)) \
                    if len(given) < len(probs[i]) else 0.0
                weights = [max(0.0, p if p is not None else rest) for p in probs[i]]
                total = sum(weights) or 1.0
                acc, cum = 0.0, []
                for w in weights:
                    acc += w / total
                    cum.append(acc)
                cum[-1] = 1.0
                self.cumprob[i] = cum
        self.start = index[graph.start]
        self.limit = graph.limit_working_days
        self.fork = [len(o) - 1 for o in self.out]
        self.wait_seconds = [d * DAY_SECONDS for d in self.wait_days]
        self.tables = (self.kind, self.out, self.join, self.pool, self.cumprob, self.fork)


class Engine:
    """Run cases of several process graphs through shared staff pools, once.

    Parameters
    ----------
    graphs : sequence of ProcessGraph
        The process graphs; arrivals name them by position.
    pools : sequence of PoolSpec
        Every pool any task uses.
    working_days : Timeline
        Whole working days as a :class:`Timeline`; external waits, lags and elapsed
        working days run on it.
    arrivals : iterator of tuple
        ``(seconds, graph index, urgent)`` in time order.
    seed_sequence : numpy.random.SeedSequence
        Root of the random streams: one per task for work times, one for routing.
    warmup_seconds, measure_seconds : float
        Cases arriving before the warm-up and tasks starting outside
        ``[warmup, measure]`` are simulated but not counted.
    log : callable, optional
        Called ``(case_label, node_id, pool_id, activity, lifecycle, seconds)`` for every
        task start and completion when given.

    Notes
    -----
    Each event on the heap is ``(seconds, sequence, kind, a, b)``: :meth:`run` pops them in
    time order (ties in the order they were scheduled) and calls ``_handlers[kind](engine,
    seconds, a, b)``. The handlers are the events of the model:

    - :meth:`_arrive` (graph index, urgent): a case arrives; a token leaves its start event;
    - :meth:`_task_done` (case, task): a staff member finishes a task;
    - :meth:`_travel` (case, task): an external wait after a task ends; the token goes on;
    - :meth:`_reach` (case, node): a flow's lag or the applicant's 补正 ends;
    - :meth:`_meeting` (pool, ``None``): a committee decides everything queued;
    - :meth:`_new_day` (``None``, ``None``): midnight: queue figures, the day's meetings.

    :meth:`_travel` moves a case's tokens through gateways until each waits for staff, a
    lag or a join. Most events waiting at any time are the ends of waits on working days
    (external waits, lags, 补正): those ending after the next midnight wait in ``later``, one
    list per day, and go onto the heap at that midnight with the sequence number they were
    scheduled with, so the heap stays small and the order of events is the same. The
    engine keeps its state in slots and the hot paths stay inline (no helper call per
    queued task): this loop is what ``bench/bench_capacity.py`` times.
    """

    __slots__ = (
        "arrivals", "arrivals_left", "batch", "busy", "cases", "day", "free", "graph_stats",
        "graphs", "heap", "in_progress", "later", "log", "measure", "pool_stats", "pools",
        "queue_area", "queue_max", "queue_since", "queues", "seq", "spans", "task_events",
        "tasks_started", "timelines", "uniform", "wait_max", "wait_sum", "warmup",
        "working_days",
    )

    def __init__(self, graphs: Sequence[ProcessGraph], pools: Sequence[PoolSpec],
                 working_days: Timeline, arrivals: Iterator[tuple[float, int, bool]],
                 seed_sequence: np.random.SeedSequence, *, warmup_seconds: float = 0.0,
                 measure_seconds: float = math.inf,
                 log: Callable[[str, str, str, str, str, float], None] | None = None) -> None:
        self.pools = list(pools)
        pool_index = {p.id: i for i, p in enumerate(self.pools)}
        work_ss, route_ss = seed_sequence.spawn(2)
        n_tasks = sum(len(g.tasks) for g in graphs)
        work_streams = iter([np.random.default_rng(s) for s in work_ss.spawn(max(n_tasks, 1))])
        self.graphs = [_Compiled(g, pool_index, work_streams) for g in graphs]
        self.working_days = working_days
        self.arrivals = arrivals
        self.uniform = _uniforms(np.random.default_rng(route_ss))
        self.warmup = warmup_seconds
        self.measure = measure_seconds
        self.log = log
        # the run's state: one slot per pool in each list
        npools = len(self.pools)
        self.heap: list[tuple] = []
        self.later: defaultdict[int, list[tuple]] = defaultdict(list)   # see _after_wait
        self.day = -1   # the number of the last midnight handled
        self.seq = count()   # next(self.seq): CPython specialises it, not self.seq()
        self.free = [p.staff for p in self.pools]
        self.queues: list[list[tuple]] = [[] for _ in self.pools]
        self.timelines = [p.timeline for p in self.pools]
        self.spans = [tl.span for tl in self.timelines]
        self.batch = [bool(p.meets_on) for p in self.pools]
        self.pool_stats = [PoolStats(staff=p.staff) for p in self.pools]
        self.queue_area = [0.0] * npools       # queue length × seconds since midnight
        self.queue_since = [0.0] * npools
        self.queue_max = [0] * npools
        self.tasks_started = [0] * npools
        self.busy = [0.0] * npools
        self.wait_sum = [0.0] * npools
        self.wait_max = [0.0] * npools
        self.graph_stats = {g: GraphStats() for g in self.graphs}
        self.cases = self.in_progress = self.task_events = 0
        self.arrivals_left = True

    def run(self) -> RunStats:
        """Simulate until every arrived case has finished."""
        heap, pop, handlers = self.heap, heappop, self._handlers
        self._next_arrival()
        heappush(heap, (0.0, next(self.seq), _NEW_DAY, None, None))
        t = 0.0
        while heap:
            t, _, kind, a, b = pop(heap)
            handlers[kind](self, t, a, b)
        return self._stats(t)

    # --- events ---------------------------------------------------------------------------

    def _next_arrival(self) -> None:
        """Schedule the next arrival, if any is left."""
        nxt = next(self.arrivals, None)
        if nxt is None:
            self.arrivals_left = False
        else:
            heappush(self.heap, (nxt[0], next(self.seq), _ARRIVE, nxt[1], nxt[2]))

    def _arrive(self, t: float, graph: int, urgent: bool) -> None:
        """A case of graph number ``graph`` arrives; urgent cases go first in every queue."""
        self.cases += 1
        self.in_progress += 1
        g = self.graphs[graph]
        case = _Case(self.cases, g, t, 0 if urgent else 1)
        self._next_arrival()
        self._travel(t, case, g.start)

    def _task_done(self, t: float, case: _Case, node: int) -> None:
        """Task ``node`` of ``case`` ends: its staff member takes the next queued task (or is
        free), and the case goes back for 补正, waits, or goes on."""
        g = case.graph
        p = g.pool[node]
        self.task_events += 1
        if self.log is not None:
            self.log(f"{g.graph.id}-{case.no}", g.ids[node], self.pools[p].id, g.names[node],
                     "complete", t)
        if not self.batch[p]:
            q = self.queues[p]
            if q:
                self.queue_area[p] += len(q) * (t - self.queue_since[p])   # as _note_queue
                self.queue_since[p] = t
                _, enabled, _, waiting, task = heappop(q)
                self._start(waiting, task, p, enabled, t)
            else:
                self.free[p] += 1
        rework, wait = g.rework[node], g.wait_seconds[node]
        if rework > 0 and self.uniform() < rework:   # back to the applicant for 补正
            self._after_wait(self.working_days.advance(t, g.supplement_days[node] * DAY_SECONDS),
                             _REACH, case, node)
        elif wait > 0:   # external, untimed: the token goes on when the wait ends
            self._after_wait(self.working_days.span(t, wait)[1], _TRAVEL, case, node)
        else:
            self._travel(t, case, node)

    def _reach(self, t: float, case: _Case, node: int) -> None:
        """A token of ``case`` arrives at ``node`` after a lag or the applicant's 补正."""
        self._travel(t, case, node, reach=True)

    def _meeting(self, t: float, p: int, _: None) -> None:
        """Committee ``p`` sits: everything queued is decided in one sitting."""
        q = self.queues[p]
        self._note_queue(p, t)
        sitting_seconds = self.pools[p].meeting_seconds
        counted = self.warmup <= t < self.measure
        while q:
            _, enabled, _, case, node = heappop(q)
            if counted:
                self.tasks_started[p] += 1
                self.busy[p] += sitting_seconds
                self.wait_sum[p] += t - enabled
                self.wait_max[p] = max(self.wait_max[p], t - enabled)
            if self.log is not None:
                g = case.graph
                self.log(f"{g.graph.id}-{case.no}", g.ids[node], self.pools[p].id,
                         g.names[node], "start", t)
            heappush(self.heap, (t + sitting_seconds, next(self.seq), _TASK_DONE, case, node))

    def _new_day(self, t: float, _: None, __: None) -> None:
        """Midnight: each pool's mean queue of the day ends, today's sittings are set, and
        the waits ending by the next midnight go onto the heap."""
        self.day = number = round(t / DAY_SECONDS)
        for event in self.later.pop(number, ()):
            heappush(self.heap, event)
        day = self.working_days._first_day + timedelta(days=number)
        for p, pool in enumerate(self.pools):
            self._note_queue(p, t)
            if t > 0:
                self.pool_stats[p].daily_mean_queue.append(self.queue_area[p] / DAY_SECONDS)
            self.queue_area[p] = 0.0
            if self.batch[p] and day.weekday() in pool.meets_on:
                opening = pool.timeline.next_open(t)
                if opening < t + DAY_SECONDS:
                    heappush(self.heap, (opening, next(self.seq), _MEETING, p, None))
        if self.in_progress or self.arrivals_left:
            heappush(self.heap, (t + DAY_SECONDS, next(self.seq), _NEW_DAY, None, None))

    # --- between events -------------------------------------------------------------------

    def _choose(self, outs: list[tuple[int, float]], cum: list[float]) -> tuple[tuple[int, float]]:
        """The one flow of an exclusive gateway a token takes, drawn by its probabilities."""
        u = self.uniform()
        i = 0
        last = len(cum) - 1
        while i < last and u >= cum[i]:
            i += 1
        return (outs[i],)

    # ``reach`` is not keyword-only: CPython 3.11 specialises calls only to simple signatures
    def _travel(self, t: float, case: _Case, node: int, reach: bool = False) -> None:
        """A token of ``case`` leaves task or start event ``node`` at ``t``, one token per
        flow (with ``reach``: arrives at ``node``); tokens travel until each waits for staff,
        a lag or a join, and the case finishes when it has no token left."""
        kind, out, join, pool, cumprob, fork = case.graph.tables
        if reach:
            outs: Sequence[tuple[int, float]] = ((node, 0.0),)
        else:
            case.tokens += fork[node]
            outs = out[node]
        free, batch = self.free, self.batch
        pending = None
        while True:
            for m, lag in outs:
                if lag > 0:
                    self._after_wait(self.working_days.span(t, lag * DAY_SECONDS)[1],
                                     _REACH, case, m)
                    continue
                k = kind[m]
                if k == _TASK:
                    p = pool[m]
                    if free[p] > 0 and not batch[p]:
                        free[p] -= 1
                        self._start(case, m, p, t, t)
                    else:   # queue: urgent cases first, then in order
                        q = self.queues[p]
                        self.queue_area[p] += len(q) * (t - self.queue_since[p])  # as _note_queue
                        self.queue_since[p] = t
                        heappush(q, (case.priority, t, next(self.seq), case, m))
                        if len(q) > self.queue_max[p]:  # noqa: PLR1730
                            self.queue_max[p] = len(q)
                    continue
                if k == _END or not out[m]:
                    case.tokens -= 1
                    continue
                if k == _PARALLEL and join[m] > 1:
                    joins = case.joins
                    if joins is None:
                        joins = case.joins = [0] * len(kind)
                    c = joins[m] + 1
                    if c < join[m]:   # not the last token to reach the join
                        joins[m] = c
                        case.tokens -= 1
                        continue
                    joins[m] = 0
                elif k == _ANY and not _first(case, m):
                    case.tokens -= 1
                    continue
                if pending is None:
                    pending = []
                cum = cumprob[m]
                if cum is None:
                    case.tokens += fork[m]
                    pending.append(out[m])
                else:
                    pending.append(self._choose(out[m], cum))
            if not pending:
                if case.tokens == 0:
                    self._finish(case, t)
                return
            outs = pending.pop()

    def _start(self, case: _Case, node: int, p: int, enabled: float, t: float) -> None:
        """A staff member of pool ``p`` starts task ``node`` of ``case`` at ``t`` (or the
        next opening); the task was enabled at ``enabled``."""
        g = case.graph
        w = g.draw[node]()
        s, e = self.spans[p](t, w)
        measure = self.measure
        if self.warmup <= s < measure:
            self.tasks_started[p] += 1
            self.busy[p] += w if e <= measure else (
                self.timelines[p].open_seconds(measure) - self.timelines[p].open_seconds(s))
            waited = s - enabled
            self.wait_sum[p] += waited
            if waited > self.wait_max[p]:  # noqa: PLR1730
                self.wait_max[p] = waited
        if self.log is not None:
            self.log(f"{g.graph.id}-{case.no}", g.ids[node], self.pools[p].id, g.names[node],
                     "start", s)
        heappush(self.heap, (e, next(self.seq), _TASK_DONE, case, node))

    def _after_wait(self, end: float, kind: int, case: _Case, node: int) -> None:
        """Schedule event ``kind`` of ``case`` at ``end``, when a wait on working days ends:
        on the heap if it ends before the next midnight, else in ``later`` under the last
        midnight before ``end`` (the midnight event puts it on the heap)."""
        event = (end, next(self.seq), kind, case, node)
        day = math.ceil(end / DAY_SECONDS) - 1
        if day > self.day:
            self.later[day].append(event)
        else:
            heappush(self.heap, event)

    def _note_queue(self, p: int, t: float) -> None:
        """Add pool ``p``'s queue length since the last change to its time-weighted sum."""
        self.queue_area[p] += len(self.queues[p]) * (t - self.queue_since[p])
        self.queue_since[p] = t

    def _finish(self, case: _Case, t: float) -> None:
        """``case`` has no token left at ``t``: count it (unless it arrived in the warm-up)."""
        self.in_progress -= 1
        if case.arrived < self.warmup:
            return
        g = case.graph
        st = self.graph_stats[g]
        st.cases += 1
        wd = self.working_days
        first = (case.arrived // DAY_SECONDS + 1) * DAY_SECONDS
        last = (t // DAY_SECONDS + 1) * DAY_SECONDS
        days = round((wd.open_seconds(last) - wd.open_seconds(first)) / DAY_SECONDS)
        st.elapsed_working_days[days] += 1
        if g.limit is not None and days <= g.limit + 1e-9:
            st.on_time += 1
        cycle = t - case.arrived
        st.cycle_seconds_sum += cycle
        st.cycle_seconds_sumsq += cycle * cycle
        st.cycle_seconds_max = max(st.cycle_seconds_max, cycle)

    def _stats(self, end: float) -> RunStats:
        """The run's figures once the last event, at ``end``, is handled."""
        for p, spec in enumerate(self.pools):
            st = self.pool_stats[p]
            st.tasks, st.busy_seconds = self.tasks_started[p], self.busy[p]
            st.queue_max = self.queue_max[p]
            st.wait_seconds_sum, st.wait_seconds_max = self.wait_sum[p], self.wait_max[p]
            hi = min(self.measure, end)
            if hi > self.warmup:
                st.open_seconds = (spec.timeline.open_seconds(hi)
                                   - spec.timeline.open_seconds(self.warmup))
        return RunStats(
            graphs={g.graph.id: s for g, s in self.graph_stats.items()},
            pools={p.id: s for p, s in zip(self.pools, self.pool_stats)},
            task_events=self.task_events, cases_started=self.cases, end_seconds=end,
        )

    # plain functions, not bound methods: an engine holding its own bound methods would be
    # a reference cycle, freed only by the garbage collector
    _handlers = (_arrive, _task_done, _travel, _reach, _meeting, _new_day)


def _first(case: _Case, node: int) -> bool:
    """A token reaches ``any`` gateway ``node``: True for the case's first."""
    fired = case.fired
    if fired is None:
        fired = case.fired = set()
    if node in fired:
        return False
    fired.add(node)
    return True
