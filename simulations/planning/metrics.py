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
2个一件事：办理时限16个工作日压缩至10个，压缩37.5%
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from process_models.procedure import Procedure
from process_models.summary import figures
from simulations.planning.cpm import schedule

__all__ = ["Change", "Comparison", "Metrics", "PortfolioTotals", "compare", "distinct", "headline",
           "measure", "portfolio"]

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
    """Every figure of ``proc`` on ``limits`` (``"committed"`` or ``"statutory"``): the
    elapsed time and critical path from :func:`~simulations.planning.cpm.schedule`, every
    other figure from :func:`process_models.summary.figures` (their one definition).

    >>> from process_models.catalog import load_catalog_procedure
    >>> m = measure(load_catalog_procedure("newborn"))
    >>> m.elapsed_working_days <= m.sequential_working_days
    True
    """
    f = figures(proc, limits=limits)
    s = schedule(proc, limits=limits)
    return Metrics(
        procedure_id=proc.id,
        limits=limits,
        elapsed_working_days=s.elapsed_working_days,
        sequential_working_days=f.sequential_working_days,
        summed_limit_days=f.summed_limit_days,
        steps=f.steps,
        links=f.links,
        materials=f.materials,
        trips=f.trips,
        departments=f.departments,
        windows=f.windows,
        critical_path=s.critical_paths[0] if s.critical_paths else [],
        slack={st.id: s.total_slack[st.id] for st in proc.applicant_steps},
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

    :meth:`headline` states elapsed working days, Chinese first (``str()``):
    ``8个一件事：办理时限433个工作日压缩至186个，压缩57.0%``.
    """

    items: int
    limits: str
    before: dict[str, float]
    after: dict[str, float] | None
    change: dict[str, Change] | None
    distinct_before: dict[str, int] | None = None
    distinct_after: dict[str, int] | None = None

    def headline(self, lang: str = "zh") -> str:
        """The portfolio in one line, in Chinese (``lang="en"``: English)."""
        c = None if self.change is None else self.change["elapsed_working_days"]
        return headline(self.items, "procedures", self.before["elapsed_working_days"],
                        None if c is None else c.after, lang)

    def __str__(self) -> str:
        return self.headline()

    def as_dict(self) -> dict:
        return {"items": self.items, "limits": self.limits, "before": self.before,
                "after": self.after,
                "change": None if self.change is None
                else {f: c.as_dict() for f, c in self.change.items()},
                "distinct_before": self.distinct_before, "distinct_after": self.distinct_after,
                "headline": self.headline(), "headline_en": self.headline("en")}


#: What a headline counts and what it sums, in each language.
_HEADLINE_WORDS = {
    "procedures": {"zh": ("个一件事", "办理时限"), "en": ("procedures", "elapsed")},
    "items": {"zh": ("个事项", "承诺时限合计"), "en": ("items", "committed limits")},
}


def headline(count: int, what: str, before_days: float, after_days: float | None,
             lang: str = "zh") -> str:
    """One line for a report: how many ``what`` (``procedures`` or ``items``), their
    working days before and after, and the change.

    >>> headline(8, "procedures", 433, 186)
    '8个一件事：办理时限433个工作日压缩至186个，压缩57.0%'
    >>> headline(8, "procedures", 433, 186, "en")
    '8 procedures: elapsed 433 → 186 working days, −57.0%'
    >>> headline(9, "items", 32, None)
    '9个事项：承诺时限合计32个工作日'
    """
    noun, figure = _HEADLINE_WORDS[what]["en" if lang == "en" else "zh"]
    b = round(before_days, 1)
    if lang == "en":
        line = f"{count} {noun}: {figure} {b:g}"
        if after_days is None:
            return f"{line} working days"
        line = f"{line} → {round(after_days, 1):g} working days"
        pct = Change.of(before_days, after_days).percent
        return line if pct is None else f"{line}, {pct:+.1f}%".replace("-", "−")
    line = f"{count}{noun}：{figure}{b:g}个工作日"
    if after_days is None:
        return line
    pct = Change.of(before_days, after_days).percent
    verb = "压缩" if after_days <= before_days else "增加"
    line = f"{line}{verb}至{round(after_days, 1):g}个"
    return line if pct is None else f"{line}，{verb}{abs(pct):.1f}%"



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
    distinct_before = distinct([b for b, _ in pairs])
    if not pairs or pairs[0][1] is None:
        return PortfolioTotals(len(pairs), limits, before, None, None, distinct_before)
    after = _total(measure(a, limits=limits) for _, a in pairs)
    return PortfolioTotals(len(pairs), limits, before, after, _changes(before, after),
                           distinct_before, distinct([a for _, a in pairs]))


def distinct(procedures: Iterable[Procedure]) -> dict[str, int]:
    """What many procedures hold counted once: ``departments`` (by id), ``items`` (a step
    naming a registry item counts once however many procedures use it; any other step is
    its procedure's own) and ``shared_items`` (registry items more than one procedure uses).
    The summed figures count a department or item once per procedure.

    >>> from process_models.catalog import load_catalog_procedure
    >>> distinct([load_catalog_procedure("newborn"), load_catalog_procedure("newborn_window")])
    {'departments': 6, 'items': 9, 'shared_items': 3}
    """
    departments: set[str] = set()
    items: set[tuple[str, str]] = set()
    users: dict[str, set[str]] = {}
    for proc in procedures:
        for step in proc.applicant_steps:
            departments.add(step.department)
            if step.item is None:
                items.add((proc.id, step.id))
            else:
                items.add(("", step.item))
                users.setdefault(step.item, set()).add(proc.id)
    return {"departments": len(departments), "items": len(items),
            "shared_items": sum(len(u) > 1 for u in users.values())}


def _total(measured: Iterable[Metrics]) -> dict[str, float]:
    total = dict.fromkeys(FIGURES, 0)
    for m in measured:
        for f in FIGURES:
            total[f] += getattr(m, f)
    return total

