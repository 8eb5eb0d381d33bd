"""The discrete-event engine behind :mod:`simulations.capacity.service_centre`: one heap,
plain floats.

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

import heapq
import math
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
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
# event kinds
_ARRIVE, _DONE, _RESUME, _REDO, _DAY, _MEETING, _LAG = range(7)


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

    def __init__(self, no: int, graph: int, arrived: float, priority: int) -> None:
        self.no = no
        self.graph = graph
        self.arrived = arrived
        self.tokens = 1
        self.joins: dict[int, int] | None = None
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
    """Run cases of several process graphs through shared staff pools.

    Parameters
    ----------
    graphs:
        The process graphs; arrivals name them by position.
    pools:
        Every pool any task uses.
    working_days:
        Whole working days as a :class:`Timeline`; external waits, lags and elapsed
        working days run on it.
    arrivals:
        ``(seconds, graph index, urgent)`` in time order.
    seed_sequence:
        Root of the random streams: one per task for work times, one for routing.
    warmup_seconds, measure_seconds:
        Cases arriving before the warm-up and tasks starting outside
        ``[warmup, measure]`` are simulated but not counted.
    log:
        Called ``(case_label, node_id, pool_id, activity, lifecycle, seconds)`` for every
        task start and completion when given.
    """

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

    def run(self) -> RunStats:
        """Simulate until every arrived case has finished."""
        heap: list = []
        push, pop = heapq.heappush, heapq.heappop
        qpush, qpop = heapq.heappush, heapq.heappop
        seq = count().__next__
        TASK, PARALLEL, ANY, END = _TASK, _PARALLEL, _ANY, _END
        ARRIVE, DONE, RESUME, REDO, LAG, MEETING = _ARRIVE, _DONE, _RESUME, _REDO, _LAG, _MEETING
        DAY = DAY_SECONDS
        pools = self.pools
        npools = len(pools)
        free = [p.staff for p in pools]
        queues: list[list] = [[] for _ in pools]
        timelines = [p.timeline for p in pools]
        batch = [bool(p.meets_on) for p in pools]
        pstats = [PoolStats(staff=p.staff) for p in pools]
        q_area = [0.0] * npools
        q_last = [0.0] * npools
        gstats = [GraphStats() for _ in self.graphs]
        graphs = self.graphs
        wd = self.working_days
        wd_advance = wd.advance
        wd_span = wd.span   # for positive waits: its end is the advance, one call fewer
        uniform = self.uniform
        warmup, measure, log = self.warmup, self.measure, self.log
        in_progress = 0
        task_events = 0
        cases = 0

        def note_queue(p: int, t: float) -> None:
            q_area[p] += len(queues[p]) * (t - q_last[p])
            q_last[p] = t

        spans = [tl.span for tl in timelines]
        n_tasks = [0] * npools
        busy = [0.0] * npools
        wait_sum = [0.0] * npools
        wait_max = [0.0] * npools

        def start(case: _Case, g: _Compiled, n: int, p: int, enabled: float, t: float) -> None:
            w = g.draw[n]()
            s, e = spans[p](t, w)
            if warmup <= s < measure:
                n_tasks[p] += 1
                busy[p] += w if e <= measure else (
                    timelines[p].open_seconds(measure) - timelines[p].open_seconds(s))
                waited = s - enabled
                wait_sum[p] += waited
                if waited > wait_max[p]:  # noqa: PLR1730
                    wait_max[p] = waited
            if log is not None:
                log(f"{g.graph.id}-{case.no}", g.ids[n], pools[p].id, g.names[n], "start", s)
            push(heap, (e, seq(), DONE, case, n))

        def finish(case: _Case, t: float) -> None:
            if case.arrived < warmup:
                return
            g = graphs[case.graph]
            st = gstats[case.graph]
            st.cases += 1
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

        def choose(case: _Case, outs, cum):
            """One flow of an exclusive gateway, drawn by its probabilities."""
            u = uniform()
            i = 0
            last = len(cum) - 1
            while i < last and u >= cum[i]:
                i += 1
            return (outs[i],)

        def travel(case: _Case, g: _Compiled, outs, t: float) -> bool:
            """Tokens travel ``outs`` at ``t`` until each waits for staff, a lag or a join;
            True when the case has no token left."""
            kind, out, join, pool, cumprob, fork = g.tables
            pending = None
            while True:
                for m, lag in outs:
                    if lag > 0:
                        push(heap, (wd_span(t, lag * DAY)[1], seq(), LAG, case, m))
                        continue
                    k = kind[m]
                    if k == TASK:
                        p = pool[m]
                        if free[p] > 0 and not batch[p]:
                            free[p] -= 1
                            start(case, g, m, p, t, t)
                        else:
                            q = queues[p]
                            q_area[p] += len(q) * (t - q_last[p])   # time-weighted queue
                            q_last[p] = t
                            qpush(q, (case.priority, t, seq(), case, m))
                            if len(q) > pstats[p].queue_max:  # noqa: PLR1730
                                pstats[p].queue_max = len(q)
                        continue
                    if k == END or not out[m]:
                        case.tokens -= 1
                        continue
                    if k == PARALLEL and join[m] > 1:
                        joins = case.joins
                        if joins is None:
                            joins = case.joins = {}
                        c = joins.get(m, 0) + 1
                        if c < join[m]:
                            joins[m] = c
                            case.tokens -= 1
                            continue
                        joins[m] = 0
                    elif k == ANY:
                        fired = case.fired
                        if fired is None:
                            fired = case.fired = set()
                        if m in fired:
                            case.tokens -= 1
                            continue
                        fired.add(m)
                    if pending is None:
                        pending = []
                    cum = cumprob[m]
                    if cum is None:
                        case.tokens += fork[m]
                        pending.append(out[m])
                    else:
                        pending.append(choose(case, out[m], cum))
                if not pending:
                    return case.tokens == 0
                outs = pending.pop()

        arrivals = self.arrivals
        nxt = next(arrivals, None)
        if nxt is not None:
            push(heap, (nxt[0], seq(), ARRIVE, nxt[1], nxt[2]))
        push(heap, (0.0, seq(), _DAY, None, None))
        first_day = wd._first_day
        t = 0.0
        while heap:
            t, _, kind, a, b = pop(heap)
            if kind == DONE:
                g = graphs[a.graph]
                p = g.pool[b]
                task_events += 1
                if log is not None:
                    log(f"{g.graph.id}-{a.no}", g.ids[b], pools[p].id, g.names[b], "complete", t)
                if not batch[p]:
                    q = queues[p]
                    if q:
                        q_area[p] += len(q) * (t - q_last[p])
                        q_last[p] = t
                        _, enabled, _, c2, n2 = qpop(q)
                        start(c2, graphs[c2.graph], n2, p, enabled, t)
                    else:
                        free[p] += 1
                rework = g.rework[b]
                if rework > 0 and uniform() < rework:
                    push(heap, (wd_advance(t, g.supplement_days[b] * DAY), seq(),
                                REDO, a, b))
                    continue
                if g.wait_seconds[b] > 0:
                    push(heap, (wd_span(t, g.wait_seconds[b])[1], seq(), RESUME, a, b))
                    continue
            elif kind == RESUME:
                g = graphs[a.graph]
            elif kind == ARRIVE:
                cases += 1
                in_progress += 1
                g = graphs[a]
                a, b = _Case(cases, a, t, 0 if b else 1), g.start
                nxt = next(arrivals, None)
                if nxt is not None:
                    push(heap, (nxt[0], seq(), ARRIVE, nxt[1], nxt[2]))
            elif kind == LAG or kind == REDO:   # a token reaches node b
                if travel(a, graphs[a.graph], ((b, 0.0),), t):
                    in_progress -= 1
                    finish(a, t)
                continue
            elif kind == MEETING:
                q = queues[a]
                note_queue(a, t)
                sitting = t + pools[a].meeting_seconds
                while q:
                    _, enabled, _, c2, n2 = qpop(q)
                    g = graphs[c2.graph]
                    if warmup <= t < measure:
                        n_tasks[a] += 1
                        busy[a] += pools[a].meeting_seconds
                        wait_sum[a] += t - enabled
                        wait_max[a] = max(wait_max[a], t - enabled)
                    if log is not None:
                        log(f"{g.graph.id}-{c2.no}", g.ids[n2], pools[a].id, g.names[n2],
                            "start", t)
                    push(heap, (sitting, seq(), DONE, c2, n2))
                continue
            else:  # _DAY
                day = first_day + timedelta(days=round(t / DAY_SECONDS))
                for p in range(npools):
                    note_queue(p, t)
                    if t > 0:
                        pstats[p].daily_mean_queue.append(q_area[p] / DAY_SECONDS)
                    q_area[p] = 0.0
                    if batch[p] and day.weekday() in pools[p].meets_on:
                        opening = timelines[p].next_open(t)
                        if opening < t + DAY_SECONDS:
                            push(heap, (opening, seq(), _MEETING, p, None))
                if in_progress or nxt is not None:
                    push(heap, (t + DAY_SECONDS, seq(), _DAY, None, None))
                continue
            # DONE without a wait, RESUME and ARRIVE: a token of case ``a`` leaves node ``b``
            cum = g.cumprob[b]
            if cum is None:
                a.tokens += g.fork[b]
                outs = g.out[b]
            else:
                outs = choose(a, g.out[b], cum)
            if travel(a, g, outs, t):
                in_progress -= 1
                finish(a, t)
        for p, spec in enumerate(pools):
            st = pstats[p]
            st.tasks, st.busy_seconds = n_tasks[p], busy[p]
            st.wait_seconds_sum, st.wait_seconds_max = wait_sum[p], wait_max[p]
            hi = min(measure, t)
            if hi > warmup:
                pstats[p].open_seconds = (spec.timeline.open_seconds(hi)
                                          - spec.timeline.open_seconds(warmup))
        return RunStats(
            graphs={g.graph.id: s for g, s in zip(graphs, gstats)},
            pools={p.id: s for p, s in zip(pools, pstats)},
            task_events=task_events, cases_started=cases, end_seconds=t,
        )
