"""Before/after figures of a procedure, the way reform reports state them.

On committed (承诺) or statutory (法定) limits: elapsed time (the critical-path length),
the same if every step ran one after another, summed limits (累计时限, what government
reports add up), steps, handling links (环节), distinct materials the applicant hands in
(data-shared ones excluded), trips, departments and windows. Follow-up checks
(事中事后核查) are off the applicant's path and count toward none of them.

>>> from process_models import Department, Limit, Material, Procedure, Step
>>> def step(id, days, after=(), **kw):
...     return Step(id=id, name=id, department=kw.pop("department", "x"),
...                 committed=Limit(days=days), depends_on=list(after), **kw)
>>> before = Procedure(id="p", name="示例", materials=[Material(id="m", name="M", count=2)],
...     departments=[Department(id="x", name="X"), Department(id="y", name="Y")],
...     steps=[step("a", 5, trips=1, materials=["m"]),
...            step("b", 3, ["a"], trips=1, materials=["m"], department="y")])
>>> after = before.model_copy(update={"steps": [step("a", 2, trips=1, materials=["m"])]})
>>> c = compare(before, after)
>>> c.elapsed_working_days
Change(before=8.0, after=2.0, absolute=-6.0, percent=-75.0)
>>> print(portfolio([(before, after), (before, before)]))
2 items: 16 → 10 days, −37.5%
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from process_models.procedure import Procedure
from process_models.summary import applicant_materials
from simulations.planning.cpm import (
    as_working_days,
    check_limits,
    schedule,
    step_duration_working_days,
    step_limit,
)

__all__ = ["Change", "Comparison", "Metrics", "PortfolioTotals", "compare", "measure", "portfolio"]

#: The figures compared before/after and added up over a portfolio, in JSON key order.
FIGURES = ("elapsed_working_days", "sequential_working_days", "summed_limit_days", "steps",
           "links", "materials", "trips", "departments", "windows")


@dataclass(frozen=True)
class Metrics:
    """One procedure's figures on one basis (``limits``: committed or statutory)."""

    procedure_id: str
    limits: str
    elapsed_working_days: float
    sequential_working_days: float
    summed_limit_days: float
    steps: int
    links: int
    materials: int
    trips: int
    departments: int
    windows: int
    critical_path: list[str]
    slack: dict[str, float]

    def as_dict(self) -> dict:
        """JSON-ready, keys as the CLI prints them."""
        return {"elapsed_working_days": self.elapsed_working_days,
                "sequential_working_days": self.sequential_working_days,
                "critical_path": self.critical_path, "slack": self.slack,
                **{f: getattr(self, f) for f in FIGURES[2:]}}


def measure(proc: Procedure, *, limits: str = "committed") -> Metrics:
    """Every figure of ``proc`` on ``limits`` (``"committed"`` or ``"statutory"``).

    ``sequential_working_days`` adds every step's duration (limit plus untimed parts) and
    every lag; ``summed_limit_days`` adds the limits alone, whatever their unit, as reports
    do; ``materials`` adds ``Material.count`` over the distinct materials the applicant
    hands in; ``windows`` counts the distinct windows (a step's department when it names
    none) of the steps the applicant travels to.

    >>> from process_models.catalog import load_catalog_procedure
    >>> m = measure(load_catalog_procedure("newborn"))
    >>> m.elapsed_working_days <= m.sequential_working_days
    True
    """
    check_limits(limits)
    steps = proc.applicant_steps
    on_path = {s.id for s in steps} | {g.id for g in proc.stages}
    s = schedule(proc, limits=limits)
    by_id = {m.id: m for m in proc.materials}
    lags = sum(as_working_days(d.lag.days, d.lag.unit)
               for st in steps for d in st.depends_on if d.lag and d.step in on_path)
    path_proc = proc.model_copy(update={"steps": steps})
    return Metrics(
        procedure_id=proc.id,
        limits=limits,
        elapsed_working_days=s.elapsed_working_days,
        sequential_working_days=sum(step_duration_working_days(st, limits=limits)
                                    for st in steps) + lags,
        summed_limit_days=sum(step_limit(st, limits=limits).days for st in steps),
        steps=len(steps),
        links=sum(st.links for st in steps),
        materials=sum(by_id[m].count for m in applicant_materials(path_proc)),
        trips=sum(st.trips for st in steps),
        departments=len({st.department for st in steps}),
        windows=len({st.window or st.department for st in steps if st.trips > 0}),
        critical_path=s.critical_paths[0] if s.critical_paths else [],
        slack={st.id: s.total_slack[st.id] for st in steps},
    )


@dataclass(frozen=True)
class Change:
    """One figure before and after; ``absolute`` = after − before, ``percent`` of before
    (negative when the reform compresses; ``None`` when before is zero)."""

    before: float
    after: float
    absolute: float
    percent: float | None

    @classmethod
    def of(cls, before: float, after: float) -> Change:
        """
        >>> Change.of(48, 13)
        Change(before=48, after=13, absolute=-35, percent=-72.9)
        """
        percent = round((after - before) / before * 100, 1) if before else None
        return cls(before, after, after - before, percent)

    def as_dict(self) -> dict:
        return {"before": self.before, "after": self.after, "absolute": self.absolute,
                "percent": self.percent}


def _changes(before: dict[str, float], after: dict[str, float]) -> dict[str, Change]:
    return {f: Change.of(before[f], after[f]) for f in FIGURES}


@dataclass(frozen=True)
class Comparison:
    """Before and after figures of one procedure, with the change of each."""

    before: Metrics
    after: Metrics
    elapsed_working_days: Change
    sequential_working_days: Change
    summed_limit_days: Change
    steps: Change
    links: Change
    materials: Change
    trips: Change
    departments: Change
    windows: Change

    def as_dict(self) -> dict:
        return {"before": self.before.as_dict(), "after": self.after.as_dict(),
                "change": {f: getattr(self, f).as_dict() for f in FIGURES}}


def compare(before: Procedure, after: Procedure, *, limits: str = "committed") -> Comparison:
    """Measure ``before`` and ``after`` on ``limits`` and the change of every figure."""
    b, a = measure(before, limits=limits), measure(after, limits=limits)
    return Comparison(b, a, **_changes(_figures(b), _figures(a)))


def _figures(m: Metrics) -> dict[str, float]:
    return {f: getattr(m, f) for f in FIGURES}


@dataclass(frozen=True)
class PortfolioTotals:
    """Figures added up over many procedures; ``after``/``change`` only for pairs.

    ``str()`` gives the headline on elapsed working days: ``96 items: 2042 → 237 days,
    −88.4%``.
    """

    items: int
    limits: str
    before: dict[str, float]
    after: dict[str, float] | None
    change: dict[str, Change] | None

    def __str__(self) -> str:
        b = round(self.before["elapsed_working_days"], 1)
        if self.after is None:
            return f"{self.items} items: {b:g} days"
        c = self.change["elapsed_working_days"]
        pct = "" if c.percent is None else f", {c.percent:+.1f}%".replace("-", "−")
        return f"{self.items} items: {b:g} → {round(c.after, 1):g} days{pct}"

    def as_dict(self) -> dict:
        return {"items": self.items, "limits": self.limits, "before": self.before,
                "after": self.after,
                "change": None if self.change is None
                else {f: c.as_dict() for f, c in self.change.items()},
                "headline": str(self)}


def portfolio(items: Iterable[Procedure | tuple[Procedure, Procedure]], *,
              limits: str = "committed") -> PortfolioTotals:
    """Add up the figures of many procedures, or of (before, after) pairs.

    With pairs the totals come before and after, with their change; with plain
    procedures only ``before`` is filled.

    >>> from process_models.catalog import load_catalog
    >>> t = portfolio(load_catalog())
    >>> t.items == len(load_catalog()) and t.after is None
    True
    """
    items = list(items)
    pairs = [i if isinstance(i, tuple) else (i, None) for i in items]
    if any(a is None for _, a in pairs) and any(a is not None for _, a in pairs):
        from process_models.errors import InvalidInput

        raise InvalidInput("a portfolio holds either procedures or (before, after) pairs, "
                           "not both; pair every procedure or none")
    before = _total(measure(b, limits=limits) for b, _ in pairs)
    if not pairs or pairs[0][1] is None:
        return PortfolioTotals(len(pairs), limits, before, None, None)
    after = _total(measure(a, limits=limits) for _, a in pairs)
    return PortfolioTotals(len(pairs), limits, before, after, _changes(before, after))


def _total(measured: Iterable[Metrics]) -> dict[str, float]:
    total = dict.fromkeys(FIGURES, 0)
    for m in measured:
        for f in FIGURES:
            total[f] += getattr(m, f)
    return total

