"""The process graph the capacity simulator runs: tasks, gateways, events and flows.

A :class:`~process_models.procedure.Procedure` is a DAG of steps; BPMN models and Prosimos
scenarios also have exclusive choices and loops. :class:`ProcessGraph` holds both, token
style: a task or event with several outgoing flows forks (every flow gets a token), an
exclusive gateway with several outgoing flows picks one by probability, a parallel gateway
with several incoming flows waits for all of them, an ``any`` gateway passes the first
token of a case and absorbs the rest (a stage that completes on any milestone).

Times are seconds of staff working time (``Duration``) or working days of waiting
(``wait_working_days``, flow lags), so one graph runs on any calendar.

>>> g = ProcessGraph(
...     id="demo", name="示例",
...     nodes=(Event("start", "start"), Task("licence", "营业执照", pool="samr",
...            work=Duration("fixed", (3600.0,))), Event("end", "end")),
...     flows=(Flow("f1", "start", "licence"), Flow("f2", "licence", "end")),
... )
>>> [n.id for n in g.successors("start")]
['licence']
>>> g.pools
('samr',)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from process_models.errors import ProcedureError, UnknownReference, did_you_mean

__all__ = ["Duration", "Event", "Flow", "Gateway", "ProcessGraph", "Task"]

DurationKind = Literal[
    "fixed", "uniform", "normal", "exponential", "gamma", "triangular", "lognormal", "empirical"
]


@dataclass(frozen=True)
class Duration:
    """A distribution of seconds, truncated to ``[low, high]``.

    ``params``: fixed (value), uniform (low, high), normal (mean, sd), exponential (mean),
    gamma (mean, variance), triangular (low, mode, high), lognormal (mean, sd),
    empirical (samples...).

    >>> Duration("uniform", (10.0, 20.0)).mean
    15.0
    >>> rng = np.random.default_rng(1)
    >>> bool((Duration("normal", (5.0, 10.0), low=0.0).sample(rng, 100) >= 0).all())
    True
    """

    kind: DurationKind
    params: tuple[float, ...]
    low: float = 0.0
    high: float = math.inf

    @property
    def mean(self) -> float:
        """The mean before clipping."""
        p = self.params
        if self.kind in ("uniform",):
            return (p[0] + p[1]) / 2
        if self.kind == "triangular":
            return sum(p) / 3
        if self.kind == "empirical":
            return float(np.mean(p))
        if self.kind == "exponential":
            return p[0] + (p[1] if len(p) > 1 else 0.0)
        return p[0]

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` draws from ``rng``; draws outside ``[low, high]`` are drawn again."""
        out = self._raw(rng, size)
        for _ in range(100):
            bad = (out < self.low) | (out > self.high)
            if not bad.any():
                return out
            out[bad] = self._raw(rng, int(bad.sum()))
        return np.clip(out, self.low, self.high)

    def _raw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        p, k = self.params, self.kind
        if k == "fixed":
            return np.full(size, p[0])
        if k == "uniform":
            return rng.uniform(p[0], p[1], size)
        if k == "normal":
            return rng.normal(p[0], p[1], size)
        if k == "exponential":
            return rng.exponential(p[0], size) + (p[1] if len(p) > 1 else 0.0)
        if k == "gamma":
            mean, var = p[0], p[1]
            return rng.gamma(mean * mean / var, var / mean, size) if var > 0 \
                else np.full(size, mean)
        if k == "triangular":
            return rng.triangular(p[0], p[1], p[2], size) if p[0] < p[2] \
                else np.full(size, p[1])
        if k == "lognormal":
            mean, sd = p[0], p[1]
            if mean <= 0:
                return np.zeros(size)
            sigma2 = math.log1p((sd / mean) ** 2)
            return rng.lognormal(math.log(mean) - sigma2 / 2, math.sqrt(sigma2), size)
        return rng.choice(np.asarray(p, dtype=float), size)


@dataclass(frozen=True)
class Task:
    """A unit of work: one staff member of ``pool`` for ``work`` seconds of opening time.

    After the work the case waits ``wait_working_days`` (external, untimed: 公示, 制证 ...).
    With ``rework_probability`` the applicant must supplement (补正): the case waits
    ``supplement_working_days`` and the task is done again.
    """

    id: str
    name: str
    pool: str
    work: Duration
    wait_working_days: float = 0.0
    rework_probability: float = 0.0
    supplement_working_days: float = 0.0
    kind: Literal["task"] = "task"


@dataclass(frozen=True)
class Gateway:
    """A parallel, exclusive or ``any`` gateway (see the module docstring)."""

    id: str
    kind: Literal["parallel", "exclusive", "any"]
    name: str = ""


@dataclass(frozen=True)
class Event:
    """The start or an end of the process."""

    id: str
    kind: Literal["start", "end"]
    name: str = ""


@dataclass(frozen=True)
class Flow:
    """A sequence flow; ``probability`` is used when it leaves an exclusive gateway."""

    id: str
    source: str
    target: str
    probability: float | None = None
    lag_working_days: float = 0.0


Node = Task | Gateway | Event


@dataclass(frozen=True)
class ProcessGraph:
    """Tasks, gateways and events joined by flows; checked on construction.

    ``limit_working_days`` is the committed limit cases are measured against (on-time
    share); ``None`` when the model has none (a Prosimos scenario).
    """

    id: str
    name: str
    nodes: tuple[Node, ...]
    flows: tuple[Flow, ...]
    limit_working_days: float | None = None
    pool_names: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ids = [n.id for n in self.nodes]
        seen: set[str] = set()
        for i in ids:
            if i in seen:
                raise ProcedureError(f"process '{self.id}': two elements share the id '{i}'")
            seen.add(i)
        for f in self.flows:
            for end, ref in (("sourceRef", f.source), ("targetRef", f.target)):
                if ref not in seen:
                    raise UnknownReference(
                        f"sequence flow '{f.id}' {end} '{ref}' names no element of process "
                        f"'{self.id}'; connect the flow to a task, gateway or event",
                        suggestion=did_you_mean(ref, ids),
                    )
        starts = [n.id for n in self.nodes if isinstance(n, Event) and n.kind == "start"]
        if len(starts) != 1:
            raise ProcedureError(
                f"process '{self.id}' has {len(starts)} start events; give it exactly one"
            )

    @property
    def start(self) -> str:
        """The id of the start event."""
        return next(n.id for n in self.nodes if isinstance(n, Event) and n.kind == "start")

    @property
    def tasks(self) -> list[Task]:
        """The tasks, in model order."""
        return [n for n in self.nodes if isinstance(n, Task)]

    @property
    def pools(self) -> tuple[str, ...]:
        """Staff pools (departments) the tasks use, in first-use order."""
        return tuple(dict.fromkeys(t.pool for t in self.tasks))

    def node(self, node_id: str) -> Node:
        """The node with ``node_id``."""
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise UnknownReference(f"process '{self.id}' has no element '{node_id}'",
                               suggestion=did_you_mean(node_id, [n.id for n in self.nodes]))

    def outgoing(self, node_id: str) -> list[Flow]:
        """Flows leaving ``node_id``."""
        return [f for f in self.flows if f.source == node_id]

    def incoming(self, node_id: str) -> list[Flow]:
        """Flows entering ``node_id``."""
        return [f for f in self.flows if f.target == node_id]

    def successors(self, node_id: str) -> list[Node]:
        """Nodes one flow after ``node_id``."""
        return [self.node(f.target) for f in self.outgoing(node_id)]
