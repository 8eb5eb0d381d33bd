"""The figures a planner reads off a procedure without simulating it: one definition each.

Every caller (``show``, ``catalog``, ``simulate``, ``reform``, ``portfolio``, ``audit
report``, the API and the pages) takes steps, handling links (环节), departments, windows,
materials, trips, summed limits and sequential days from :func:`figures`; only the elapsed
time needs the critical path (:func:`simulations.planning.metrics.measure`). Follow-up
checks (事中事后核查) are off the applicant's path and count toward none of them.

>>> from process_models.catalog import load_catalog_procedure
>>> s = summarize(load_catalog_procedure("newborn"))
>>> (s.steps, s.departments, s.trips)
(9, 6, 4)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from process_models.errors import InvalidInput, did_you_mean
from process_models.procedure import Limit, Procedure, Provider, Step, Unit

__all__ = [
    "LIMITS",
    "WORKING_DAYS_PER_CALENDAR_DAY",
    "ProcedureFigures",
    "ProcedureSummary",
    "applicant_materials",
    "as_working_days",
    "check_limits",
    "figures",
    "step_duration_working_days",
    "step_limit",
    "step_segments",
    "summarize",
]

#: Bases a schedule can be computed on.
LIMITS = ("committed", "statutory")

#: Working days per calendar day when no start date is given: 248 working days in 365
#: (China 2025: 104 weekend days and 13 public-holiday days off, 调休 included).
WORKING_DAYS_PER_CALENDAR_DAY = 248 / 365


def check_limits(limits: str) -> str:
    """``limits`` itself when it names a basis, else :class:`InvalidInput`.

    >>> check_limits("statutory")
    'statutory'
    >>> check_limits("comitted")
    Traceback (most recent call last):
    ...
    process_models.errors.InvalidInput: limits: unknown basis 'comitted'; use committed or statutory (did you mean 'committed'?)
    """
    if limits not in LIMITS:
        raise InvalidInput(f"unknown basis '{limits}'; use committed or statutory",
                           path="limits", suggestion=did_you_mean(limits, LIMITS))
    return limits


def step_limit(step: Step, *, limits: str = "committed") -> Limit:
    """The step's statutory limit on the statutory basis (its committed one when it has
    none), else its committed limit."""
    if check_limits(limits) == "statutory" and step.statutory is not None:
        return step.statutory
    return step.committed


def step_segments(step: Step, limits: str) -> list[tuple[float, Unit]]:
    """The parts of a step's duration in order: its limit, then its untimed parts."""
    limit = step_limit(step, limits=limits)
    return [(limit.days, limit.unit), *((u.days, u.unit) for u in step.untimed)]


def as_working_days(days: float, unit: Unit) -> float:
    """``days`` in working days; calendar days at :data:`WORKING_DAYS_PER_CALENDAR_DAY`.

    >>> as_working_days(365, Unit.calendar)
    248.0
    """
    return days if unit is Unit.working else days * WORKING_DAYS_PER_CALENDAR_DAY


def step_duration_working_days(step: Step, *, limits: str = "committed") -> float:
    """The step's limit plus its untimed parts, calendar days converted at the fixed ratio.

    >>> step = Step(id="s", name="审批", department="d", committed=Limit(days=10),
    ...             untimed=[{"kind": "公示", "days": 7, "unit": "calendar"}])
    >>> round(step_duration_working_days(step), 3)
    14.756
    """
    return sum(as_working_days(d, u) for d, u in step_segments(step, limits))


def applicant_materials(proc: Procedure) -> list[str]:
    """Distinct material ids the applicant hands in on the applicant's path (data-shared
    ones excluded), in order."""
    shared = {m.id for m in proc.materials if m.provider is Provider.data_sharing}
    seen: dict[str, None] = {}
    for s in proc.applicant_steps:
        for mid in s.materials:
            if mid not in shared:
                seen.setdefault(mid)
    return list(seen)


@dataclass(frozen=True)
class ProcedureFigures:
    """The figures of one procedure on one basis that need no schedule.

    ``summed_limit_days`` adds the steps' limits alone, whatever their unit, as government
    reports do (累计时限); ``sequential_working_days`` adds every step's duration (limit
    plus untimed parts such as 公示 and 专家评审) and every lag between steps on the path,
    calendar days converted: the elapsed time if every step ran one after another.
    ``materials`` adds ``Material.count`` over the distinct materials the applicant hands
    in; ``windows`` counts the distinct windows (a step's department when it names none)
    of the steps the applicant travels to.
    """

    steps: int
    links: int
    departments: int
    windows: int
    materials: int
    trips: int
    summed_limit_days: float
    sequential_working_days: float


def figures(proc: Procedure, *, limits: str = "committed") -> ProcedureFigures:
    """Every figure of ``proc`` that needs no schedule, on ``limits`` (committed or
    statutory), over the applicant's path."""
    check_limits(limits)
    steps = proc.applicant_steps
    on_path = {s.id for s in steps} | {g.id for g in proc.stages}
    by_id = {m.id: m for m in proc.materials}
    lags = sum(as_working_days(d.lag.days, d.lag.unit)
               for st in steps for d in st.depends_on if d.lag and d.step in on_path)
    return ProcedureFigures(
        steps=len(steps),
        links=sum(st.links for st in steps),
        departments=len({st.department for st in steps}),
        windows=len({st.window or st.department for st in steps if st.trips > 0}),
        materials=sum(by_id[m].count for m in applicant_materials(proc)),
        trips=sum(st.trips for st in steps),
        summed_limit_days=sum(step_limit(st, limits=limits).days for st in steps),
        sequential_working_days=sum(step_duration_working_days(st, limits=limits)
                                    for st in steps) + lags,
    )


@dataclass(frozen=True)
class ProcedureSummary(ProcedureFigures):
    """A procedure's name and its :class:`ProcedureFigures` on committed limits."""

    id: str
    name: str
    version: str

    def as_dict(self) -> dict:
        return asdict(self)


def summarize(proc: Procedure) -> ProcedureSummary:
    """The id, name, version and :func:`figures` of ``proc`` on committed limits."""
    f = figures(proc)
    return ProcedureSummary(id=proc.id, name=proc.name, version=proc.version,
                            **{x.name: getattr(f, x.name) for x in fields(ProcedureFigures)})
