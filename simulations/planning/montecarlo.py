"""Monte-Carlo risk: how long a procedure takes when step durations vary.

Each step's duration comes from its :class:`~process_models.procedure.Distribution`
(which stands for the whole step, untimed parts included); a step without one takes its
committed duration (limit plus untimed parts) every time, and
:attr:`Risk.fallback_steps` names it. Lags are fixed.

Every step draws from its own random stream, seeded from the run's seed and the step id,
so two procedures sharing a step see the same draws for it in the same replication
(common random numbers): :func:`compare_risk` pairs the runs and the difference is the
reform's, not the dice's. Replication i always takes the i-th draw of each stream,
however the runs are cut into chunks.

The replications run column-wise: for each node in topological order, all replications
of a chunk at once (start = max, or min for any-joins, of the predecessors' finish plus
lag; finish = start + drawn duration).

>>> from process_models.catalog import load_catalog_procedure
>>> r = simulate(load_catalog_procedure("newborn"), runs=1000, seed=1)
>>> r.p50 <= r.p90 <= r.p95
True
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np

from process_models.errors import ScenarioError
from process_models.procedure import Distribution, Procedure
from simulations.planning._compiled import tolerance
from simulations.planning.cpm import (
    CompiledProcedure,
    compile_procedure,
    step_duration_working_days,
)

__all__ = [
    "TABLE_SIZE", "Risk", "RiskComparison", "compare_risk", "draw", "quantile_table", "simulate",
    "step_stream",
]

#: Replications per chunk at most, and values per (nodes x replications) array at most:
#: memory stays bounded whatever the number of runs or the size of the procedure.
CHUNK_RUNS = 16_384
CHUNK_VALUES = 1 << 22


def step_stream(seed: int, step_id: str) -> np.random.Generator:
    """The random stream of one step: the same for the same seed and step id, anywhere.

    >>> float(step_stream(7, "a").random()) == float(step_stream(7, "a").random())
    True
    """
    key = int.from_bytes(hashlib.blake2b(step_id.encode(), digest_size=8).digest(), "little")
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, key])))


#: Quantiles per step: a draw is one of ``TABLE_SIZE`` equiprobable quantiles of the
#: step's distribution, picked by 12 random bits (four draws per 64-bit random number).
#: The table stays in the processor's cache, which makes a draw a few nanoseconds.
TABLE_SIZE = 1 << 12


#: Points of the grids on which PERT and normal CDFs are integrated.
GRID_POINTS = 1 << 16


@cache
def _standard_normal_table() -> np.ndarray:
    z = np.linspace(-9.0, 9.0, GRID_POINTS)
    cdf = np.cumsum(np.exp(-z * z / 2))
    return np.interp(_levels(), (cdf - cdf[0]) / (cdf[-1] - cdf[0]), z)


@cache
def _levels() -> np.ndarray:
    return (np.arange(TABLE_SIZE) + 0.5) / TABLE_SIZE


def quantile_table(dist: Distribution) -> np.ndarray:
    """The ``TABLE_SIZE`` quantiles of ``dist`` at levels (i + ½)/TABLE_SIZE, ascending.

    Triangular quantiles are exact; PERT is a beta on [low, high] with shape parameters
    1 + 4·(mode − low)/(high − low) and 1 + 4·(high − mode)/(high − low), and its
    quantiles, like the lognormal's (parametrised by the mean and standard deviation of
    the duration itself), come from a numerically integrated CDF on a fine grid. An
    empirical distribution's table holds its sorted samples, each equally often within
    one table entry (a relative error of at most ``len(samples) / TABLE_SIZE``). Tables are
    cached per distribution.

    >>> t = quantile_table(Distribution(kind="lognormal", mean=10, sd=3))
    >>> round(float(t.mean()), 2), round(float(t.std()), 2)
    (10.0, 3.0)
    >>> quantile_table(Distribution(kind="triangular", low=2, mode=2, high=4))[[0, -1]].round(4)
    array([2.0001, 3.9779])
    """
    return _quantile_table(dist.model_dump_json())


@lru_cache(maxsize=1024)
def _quantile_table(key: str) -> np.ndarray:
    table = _compute_table(Distribution.model_validate_json(key))
    table.flags.writeable = False
    return table


def _compute_table(dist: Distribution) -> np.ndarray:
    q = _levels()
    k = dist.kind
    if k == "fixed":
        return np.full(TABLE_SIZE, dist.days)
    if k in ("triangular", "pert") and dist.high == dist.low:
        return np.full(TABLE_SIZE, dist.low)
    if k == "triangular":
        low, mode, high = dist.low, dist.mode, dist.high
        cut = (mode - low) / (high - low)
        return np.where(q < cut, low + np.sqrt(q * (high - low) * (mode - low)),
                        high - np.sqrt((1 - q) * (high - low) * (high - mode)))
    if k == "pert":
        span = dist.high - dist.low
        a = 1 + 4 * (dist.mode - dist.low) / span
        b = 1 + 4 * (dist.high - dist.mode) / span
        x = np.linspace(0.0, 1.0, GRID_POINTS)
        cdf = np.cumsum(x ** (a - 1) * (1 - x) ** (b - 1))
        return dist.low + span * np.interp(q, (cdf - cdf[0]) / (cdf[-1] - cdf[0]), x)
    if k == "lognormal":
        if dist.sd == 0:
            return np.full(TABLE_SIZE, dist.mean)
        sigma2 = math.log1p((dist.sd / dist.mean) ** 2)
        return np.exp(math.log(dist.mean) - sigma2 / 2 + math.sqrt(sigma2) * _standard_normal_table())
    samples = np.sort(np.asarray(dist.samples, dtype=np.float64))
    return samples[(q * len(samples)).astype(np.int64)]


def draw(table: np.ndarray, rng: np.random.Generator, out: np.ndarray,
         index: np.ndarray | None = None) -> None:
    """Fill ``out`` (length a multiple of 4) with draws from a :func:`quantile_table`.

    Each draw takes 16 bits of the stream and keeps the low 12. ``index`` is an optional
    ``intp`` scratch array as long as ``out``.

    >>> out = np.empty(8)
    >>> draw(quantile_table(Distribution(kind="fixed", days=3)), step_stream(0, "x"), out)
    >>> out.tolist()
    [3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0]
    """
    if index is None:
        index = np.empty(len(out), dtype=np.intp)
    np.bitwise_and(rng.bit_generator.random_raw(len(out) // 4).view(np.uint16),
                   TABLE_SIZE - 1, out=index)
    np.take(table, index, out=out, mode="wrap")  # indices are in range; wrap checks least


@dataclass(frozen=True, eq=False)
class Risk:
    """Monte-Carlo results for one procedure.

    ``on_time_probability`` is the share of replications finishing within
    ``limit_working_days`` (by default the procedure's committed elapsed time, i.e. its
    critical-path length on committed limits). ``criticality`` is, per step, the share
    of replications in which the step lies on a critical path. ``elapsed_working_days``
    holds every replication's elapsed time, in replication order.
    """

    procedure_id: str
    runs: int
    seed: int
    limit_working_days: float
    p50: float
    p90: float
    p95: float
    mean: float
    on_time_probability: float
    criticality: dict[str, float]
    fallback_steps: list[str]
    elapsed_working_days: np.ndarray

    def as_dict(self) -> dict:
        """The JSON-ready figures (without the per-replication array)."""
        return {
            "runs": self.runs, "seed": self.seed, "limit_working_days": self.limit_working_days,
            "p50": self.p50, "p90": self.p90, "p95": self.p95, "mean": self.mean,
            "on_time_probability": self.on_time_probability, "criticality": self.criticality,
            "fallback_steps": self.fallback_steps,
        }


class _Model:
    """A compiled procedure ready to replicate: per node, its predecessors and draws."""

    def __init__(self, c: CompiledProcedure, seed: int,
                 auto_shares: dict[str, float] | None = None) -> None:
        g = c.graph
        steps = {s.id: s for s in c.procedure.steps}
        self.ids = c.ids
        self.step_nodes = [k for k, i in enumerate(c.ids) if i not in c.stage_ids]
        self.preds = [
            [(int(g.pred_idx[e]), float(g.pred_lag[e]))
             for e in range(g.pred_ptr[k], g.pred_ptr[k + 1])]
            for k in range(g.size)
        ]
        self.is_any = g.is_any.tolist()
        self.fixed: dict[int, float] = {}
        self.random: dict[int, tuple[np.ndarray, np.random.Generator]] = {}
        self.fallback: list[str] = []
        for k, node in enumerate(c.ids):
            step = steps.get(node)
            if step is None:
                self.fixed[k] = 0.0
            elif step.duration is None:
                self.fallback.append(node)
                self.fixed[k] = step_duration_working_days(step, limits="committed")
            else:
                self.random[k] = (quantile_table(step.duration), step_stream(seed, node))
        self.auto = {c.ids.index(step_id): (share, step_stream(seed, f"{step_id}#秒批"))
                     for step_id, share in (auto_shares or {}).items()}

    def run(self, size: int, criticality: bool) -> tuple[np.ndarray, np.ndarray]:
        """Elapsed time of ``size`` replications and, per node, in how many of them it
        was critical. Draws come four at a time, so up to three more replications run
        and are left out."""
        n = len(self.ids)
        runs = -(-size // 4) * 4
        finish = np.empty((n, runs))
        start = np.empty((n, runs)) if criticality else np.empty((1, runs))
        index = np.empty(runs, dtype=np.intp)
        for k in range(n):
            f, preds = finish[k], self.preds[k]
            if k in self.random:
                table, rng = self.random[k]
                draw(table, rng, f, index)
            else:
                f.fill(self.fixed[k])
            if k in self.auto:  # decided by a 秒批 rule: no time at all
                share, rng = self.auto[k]
                f[rng.random(runs) < share] = 0.0
            if len(preds) == 1 and not criticality:
                p, lag = preds[0]
                f += finish[p]
                if lag:
                    f += lag
            elif preds or criticality:
                s = start[k] if criticality else start[0]
                _join(preds, np.minimum if self.is_any[k] else np.maximum, finish, s)
                f += s
        elapsed = finish.max(axis=0, initial=0.0)
        if not criticality:
            return elapsed[:size], np.zeros(n, dtype=np.int64)
        tol = tolerance(float(elapsed.max()))
        critical = finish >= elapsed - tol
        gap = np.empty(runs)
        tight = np.empty(runs, dtype=bool)
        for k in range(n - 1, -1, -1):
            preds = self.preds[k]
            if len(preds) == 1:  # a lone predecessor always holds its successor back
                np.logical_or(critical[preds[0][0]], critical[k], out=critical[preds[0][0]])
                continue
            for p, lag in preds:
                np.subtract(start[k], finish[p], out=gap)
                if lag:
                    gap -= lag
                if self.is_any[k]:
                    np.abs(gap, out=gap)
                np.less_equal(gap, tol, out=tight)
                tight &= critical[k]
                critical[p] |= tight
        return elapsed[:size], critical[:, :size].sum(axis=1)


def _join(preds: list[tuple[int, float]], join, finish: np.ndarray, out: np.ndarray) -> None:
    """``out`` = the join (max or min) over ``preds`` of finish + lag; 0 without preds."""
    if not preds:
        out.fill(0.0)
        return
    (p0, lag0), rest = preds[0], preds[1:]
    if rest and not lag0 and not rest[0][1]:
        join(finish[p0], finish[rest[0][0]], out=out)
        rest = rest[1:]
    elif lag0:
        np.add(finish[p0], lag0, out=out)
    else:
        np.copyto(out, finish[p0])
    for p, lag in rest:
        join(out, finish[p] + lag if lag else finish[p], out=out)


def simulate(
    proc: Procedure,
    *,
    runs: int = 10_000,
    seed: int = 0,
    limit_working_days: float | None = None,
    criticality: bool = True,
    progress: Callable[[int], None] | None = None,
    auto_shares: dict[str, float] | None = None,
) -> Risk:
    """Replicate ``proc`` ``runs`` times with seed ``seed``.

    Parameters
    ----------
    proc : Procedure
        Steps with a ``duration`` draw from it; the others take their committed limit.
    runs, seed : int
        Replications, and the seed that makes them reproducible.
    limit_working_days : float, optional
        The limit ``on_time_probability`` measures against; default: the procedure's
        committed elapsed time (its critical-path length on committed limits).
    criticality : bool
        Also count, per step, the replications in which it is critical (costs about as
        much again as the replications themselves).
    progress : callable, optional
        Called with the number of replications done after each chunk.
    auto_shares : dict of str to float, optional
        秒批: step id → the share of cases a rule decides (e.g. a dry-run's ``decided /
        cases`` over history); the step takes zero days in that share of replications.

    Examples
    --------
    >>> from process_models import Procedure, Step, Limit, Department, Distribution
    >>> tri = Distribution(kind="triangular", low=2, mode=3, high=10)
    >>> p = Procedure(id="two", name="两步", departments=[Department(id="x", name="X")],
    ...     steps=[Step(id="a", name="A", department="x", committed=Limit(days=5), duration=tri),
    ...            Step(id="b", name="B", department="x", committed=Limit(days=4))])
    >>> r = simulate(p, runs=20_000, seed=3)
    >>> r.fallback_steps, r.limit_working_days, round(r.on_time_probability, 2)
    (['b'], 5.0, 0.55)
    >>> round(r.criticality["a"], 2), round(r.criticality["b"], 2)
    (0.65, 0.35)
    """
    from simulations.planning.cpm import schedule

    c = compile_procedure(proc, limits="committed")
    if limit_working_days is None:
        limit_working_days = schedule(c).elapsed_working_days
    for step_id, share in (auto_shares or {}).items():
        proc.step(step_id)
        if not 0 <= share <= 1:
            raise ScenarioError(f"秒批 share {share} of step '{step_id}' is outside 0–1")
    model = _Model(c, seed, auto_shares)
    elapsed = np.empty(runs)
    counts = np.zeros(len(model.ids), dtype=np.int64)
    done = 0
    chunk = max(4, min(CHUNK_RUNS, CHUNK_VALUES // max(1, len(model.ids))) // 4 * 4)
    while done < runs:
        size = min(chunk, runs - done)
        elapsed[done:done + size], chunk_counts = model.run(size, criticality)
        counts += chunk_counts
        done += size
        if progress is not None:
            progress(done)
    p50, p90, p95 = (np.quantile(elapsed, [0.5, 0.9, 0.95]).tolist() if runs else [math.nan] * 3)
    tol = tolerance(limit_working_days)
    return Risk(
        procedure_id=proc.id, runs=runs, seed=seed, limit_working_days=limit_working_days,
        p50=p50, p90=p90, p95=p95, mean=float(elapsed.mean()) if runs else math.nan,
        on_time_probability=float((elapsed <= limit_working_days + tol).mean()) if runs else math.nan,
        criticality=({model.ids[k]: float(counts[k] / runs) for k in model.step_nodes}
                     if criticality and runs else {}),
        fallback_steps=model.fallback, elapsed_working_days=elapsed,
    )


@dataclass(frozen=True, eq=False)
class RiskComparison:
    """Before and after replicated with common random numbers, paired run by run.

    ``saving_*`` are quantiles of (before − after) per replication; ``faster_probability``
    is the share of replications in which the reformed procedure finishes strictly sooner.
    """

    before: Risk
    after: Risk
    saving_mean: float
    saving_p50: float
    saving_p90: float
    faster_probability: float

    def as_dict(self) -> dict:
        return {"before": self.before.as_dict(), "after": self.after.as_dict(),
                "saving_mean": self.saving_mean, "saving_p50": self.saving_p50,
                "saving_p90": self.saving_p90, "faster_probability": self.faster_probability}


def compare_risk(before: Procedure, after: Procedure, *, runs: int = 10_000, seed: int = 0,
                 **kw) -> RiskComparison:
    """Replicate ``before`` and ``after`` with the same seed; steps they share draw alike.

    Each procedure's ``on_time_probability`` is against its own committed elapsed time
    unless ``limit_working_days`` is given. Other keywords as :func:`simulate`.

    >>> from process_models.catalog import load_catalog_procedure
    >>> p = load_catalog_procedure("newborn")
    >>> compare_risk(p, p, runs=500).saving_p90
    0.0
    """
    a = simulate(before, runs=runs, seed=seed, **kw)
    b = simulate(after, runs=runs, seed=seed, **kw)
    saving = a.elapsed_working_days - b.elapsed_working_days
    tol = tolerance(a.p95)
    saving[np.abs(saving) <= tol] = 0.0
    p50, p90 = np.quantile(saving, [0.5, 0.9]).tolist() if runs else (math.nan, math.nan)
    return RiskComparison(a, b, float(saving.mean()) if runs else math.nan, p50, p90,
                          float((saving > 0).mean()) if runs else math.nan)
