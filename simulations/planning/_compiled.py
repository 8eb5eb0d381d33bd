"""A dependency graph compiled once into flat numpy arrays, and the passes that run on it.

Nodes are renumbered level by level (level = the longest chain of edges from a node with
no predecessors), which is a topological order in which every level's nodes are
independent of each other. Predecessor lists are CSR arrays over that order, so a forward
pass is one ``maximum.reduceat`` (``minimum`` for any-joins) per level, and a backward pass
one ``minimum.reduceat`` per level over the successor lists.

>>> import numpy as np
>>> g = compile_dag(3, src=[0, 1], dst=[1, 2], lag=[0.0, 2.0], duration=[1.0, 3.0, 0.0])
>>> passes = forward_backward(g)
>>> float(passes.elapsed)
6.0
>>> passes.total_slack.tolist()
[0.0, 0.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from process_models.errors import DependencyCycle
from process_models.loading import find_cycle

__all__ = ["CompiledGraph", "Passes", "compile_dag", "forward_backward", "tolerance"]


def tolerance(scale: float) -> float:
    """The epsilon under which two day counts are treated as a tie.

    >>> tolerance(10.0)
    1e-08
    """
    return 1e-9 * max(1.0, abs(float(scale)))


@dataclass(frozen=True, eq=False)
class CompiledGraph:
    """A DAG in level order. ``order[k]`` is the caller's index of node ``k``.

    ``pred_ptr``/``pred_idx``/``pred_lag`` are CSR predecessor lists (positions in level
    order); ``succ_edges`` lists edge numbers sorted by predecessor, ``succ_ptr`` indexes it.
    ``level_ptr[k]:level_ptr[k+1]`` are the positions of level ``k``.
    """

    order: np.ndarray
    position: np.ndarray
    duration: np.ndarray
    is_any: np.ndarray
    pred_ptr: np.ndarray
    pred_idx: np.ndarray
    pred_lag: np.ndarray
    edge_dst: np.ndarray
    succ_edges: np.ndarray
    succ_ptr: np.ndarray
    level_ptr: np.ndarray

    @property
    def size(self) -> int:
        return len(self.order)

    def with_times(self, duration: np.ndarray, pred_lag: np.ndarray) -> CompiledGraph:
        """The same graph with other durations and lags (both in level order)."""
        fields = {f: getattr(self, f) for f in self.__dataclass_fields__}
        return CompiledGraph(**{**fields, "duration": duration, "pred_lag": pred_lag})


def _stable_order(keys: np.ndarray, limit: int) -> np.ndarray:
    """``argsort(keys, kind="stable")`` for integer keys in [0, limit), sorting unique
    composite keys instead (several times faster than a stable sort)."""
    m = len(keys)
    if m == 0 or limit * m >= 2**62:
        return np.argsort(keys, kind="stable")
    return np.sort(keys * m + np.arange(m)) % m


def _ranges(starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """Concatenate ``arange(starts[i], stops[i])`` for every i, without a Python loop."""
    counts = stops - starts
    total = int(counts.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(counts)[:-1])), counts)
    return offsets + np.arange(total, dtype=np.int64)


def compile_dag(
    n: int,
    src: Sequence[int] | np.ndarray,
    dst: Sequence[int] | np.ndarray,
    lag: Sequence[float] | np.ndarray | None = None,
    duration: Sequence[float] | np.ndarray | None = None,
    is_any: Sequence[bool] | np.ndarray | None = None,
    names: Sequence[str] | None = None,
) -> CompiledGraph:
    """Compile ``n`` nodes and edges ``src[i] -> dst[i]`` (with ``lag[i]``) into level order.

    ``duration`` and ``is_any`` are per node in the caller's numbering (``is_any`` marks
    nodes that start when their FIRST predecessor finishes). ``names`` only serve the
    error message when the edges form a cycle.

    >>> g = compile_dag(3, src=[2, 2], dst=[0, 1])
    >>> g.order.tolist(), g.level_ptr.tolist()
    ([2, 0, 1], [0, 1, 3])
    >>> compile_dag(2, src=[0, 1], dst=[1, 0], names=["a", "b"])
    Traceback (most recent call last):
    ...
    process_models.errors.DependencyCycle: dependency cycle: a → b → a; remove one of these dependencies
    """
    src = np.asarray(src, dtype=np.int64)
    dst = np.asarray(dst, dtype=np.int64)
    m = len(src)
    lag = np.zeros(m) if lag is None else np.asarray(lag, dtype=np.float64)
    duration = np.zeros(n) if duration is None else np.asarray(duration, dtype=np.float64)
    is_any = np.zeros(n, bool) if is_any is None else np.asarray(is_any, dtype=bool)

    # Kahn's algorithm, one whole level per step.
    indegree = np.bincount(dst, minlength=n)
    by_src = _stable_order(src, n)
    out_dst = dst[by_src]
    out_ptr = np.concatenate(([0], np.cumsum(np.bincount(src, minlength=n))))
    frontier = np.flatnonzero(indegree == 0)
    levels = []
    while len(frontier):
        levels.append(frontier)
        targets = out_dst[_ranges(out_ptr[frontier], out_ptr[frontier + 1])]
        if not len(targets):
            break
        touched, hits = np.unique(targets, return_counts=True)
        indegree[touched] -= hits
        frontier = touched[indegree[touched] == 0]
    order = np.concatenate(levels) if levels else np.empty(0, dtype=np.int64)
    if len(order) < n:
        raise DependencyCycle(_a_cycle(n, src, dst, indegree, names))
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    level_ptr = np.concatenate(([0], np.cumsum([len(lv) for lv in levels]))).astype(np.int64)

    psrc, pdst = position[src], position[dst]
    by_dst = _stable_order(pdst, n)
    pred_idx, pred_lag, edge_dst = psrc[by_dst], lag[by_dst], pdst[by_dst]
    pred_ptr = np.concatenate(([0], np.cumsum(np.bincount(pdst, minlength=n)))).astype(np.int64)
    succ_edges = _stable_order(pred_idx, n)
    succ_ptr = np.concatenate(([0], np.cumsum(np.bincount(pred_idx, minlength=n)))).astype(np.int64)
    return CompiledGraph(
        order=order, position=position, duration=duration[order], is_any=is_any[order],
        pred_ptr=pred_ptr, pred_idx=pred_idx, pred_lag=pred_lag, edge_dst=edge_dst,
        succ_edges=succ_edges, succ_ptr=succ_ptr, level_ptr=level_ptr,
    )


def _a_cycle(n, src, dst, indegree, names) -> list[str]:
    """One cycle among the nodes Kahn's algorithm could not place, as names."""
    left = set(np.flatnonzero(indegree > 0).tolist())
    succ: dict[int, list[int]] = {node: [] for node in sorted(left)}
    for s, d in zip(src.tolist(), dst.tolist()):
        if s in left and d in left:
            succ[s].append(d)
    cycle = find_cycle(succ) or []  # every node left has a predecessor left: there is one
    return [names[i] if names is not None else str(i) for i in cycle]


@dataclass(frozen=True, eq=False)
class Passes:
    """Forward and backward pass results, per node in level order."""

    earliest_start: np.ndarray
    earliest_finish: np.ndarray
    latest_start: np.ndarray
    latest_finish: np.ndarray
    total_slack: np.ndarray
    free_slack: np.ndarray
    binding: np.ndarray  # per edge (CSR order): the edge holds its successor's start back
    elapsed: float


def forward(g: CompiledGraph) -> tuple[np.ndarray, np.ndarray]:
    """Earliest start and finish of every node (level order)."""
    es = np.zeros(g.size)
    ef = np.zeros(g.size)
    lp = g.level_ptr
    for k in range(len(lp) - 1):
        a, b = lp[k], lp[k + 1]
        if k:
            e0, e1 = g.pred_ptr[a], g.pred_ptr[b]
            arrive = ef[g.pred_idx[e0:e1]] + g.pred_lag[e0:e1]
            starts = g.pred_ptr[a:b] - e0
            start = np.maximum.reduceat(arrive, starts)
            anys = g.is_any[a:b]
            if anys.any():
                start = np.where(anys, np.minimum.reduceat(arrive, starts), start)
            es[a:b] = start
        ef[a:b] = es[a:b] + g.duration[a:b]
    return es, ef


def forward_backward(g: CompiledGraph) -> Passes:
    """Run the critical-path method: earliest and latest times, total and free slack.

    An edge into an any-join only holds its successor back when it arrives first (within
    :func:`tolerance`); the other predecessors of an any-join are free up to the end.
    """
    es, ef = forward(g)
    elapsed = float(ef.max()) if g.size else 0.0
    tol = tolerance(elapsed)
    arrive = ef[g.pred_idx] + g.pred_lag
    binding = ~g.is_any[g.edge_dst] | (arrive <= es[g.edge_dst] + tol)

    # Successor lists: a non-binding edge subtracts -inf, so it never holds anything back.
    e = g.succ_edges
    succ = g.edge_dst[e]
    succ_lag = np.where(binding[e], g.pred_lag[e], -np.inf)
    # reduceat needs strictly increasing segment starts: only nodes with successors.
    with_succ = np.flatnonzero(g.succ_ptr[1:] > g.succ_ptr[:-1])
    level_of = np.searchsorted(with_succ, g.level_ptr)
    lf = np.full(g.size, elapsed)
    ls = np.empty(g.size)
    lp = g.level_ptr
    for k in range(len(lp) - 2, -1, -1):
        a, b = lp[k], lp[k + 1]
        nodes = with_succ[level_of[k]:level_of[k + 1]]
        if len(nodes):
            s0, s1 = g.succ_ptr[a], g.succ_ptr[b]
            need = ls[succ[s0:s1]] - succ_lag[s0:s1]
            lf[nodes] = np.minimum(np.minimum.reduceat(need, g.succ_ptr[nodes] - s0), elapsed)
        ls[a:b] = lf[a:b] - g.duration[a:b]

    total = ls - es
    free = elapsed - ef
    if len(e):
        room = np.where(binding[e], es[succ] - arrive[e], np.inf)
        free[with_succ] = np.minimum(np.minimum.reduceat(room, g.succ_ptr[with_succ]),
                                     free[with_succ])
    total[np.abs(total) <= tol] = 0.0
    free = np.minimum(free, total)  # equal in exact arithmetic; rounding may differ
    free[np.abs(free) <= tol] = 0.0
    return Passes(es, ef, ls, lf, total, free, binding, elapsed)
