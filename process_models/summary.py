"""Counts a planner reads off a procedure without simulating it.

>>> from process_models.catalog import load_catalog_procedure
>>> s = summarize(load_catalog_procedure("newborn"))
>>> (s.steps, s.departments, s.trips)
(9, 6, 4)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from process_models.procedure import Procedure, Provider

__all__ = ["ProcedureSummary", "applicant_materials", "summarize"]


def applicant_materials(proc: Procedure) -> list[str]:
    """Distinct material ids the applicant hands in (data-shared ones excluded), in order."""
    shared = {m.id for m in proc.materials if m.provider is Provider.data_sharing}
    seen: dict[str, None] = {}
    for s in proc.steps:
        for mid in s.materials:
            if mid not in shared:
                seen.setdefault(mid)
    return list(seen)


@dataclass(frozen=True)
class ProcedureSummary:
    """Plain counts. ``summed_limit_days`` adds every step's committed limit, as government
    reports do (累计时限); ``sequential_days`` also adds untimed parts (公示, 专家评审)
    and lags: the elapsed time if every step ran one after another."""

    id: str
    name: str
    version: str
    steps: int
    links: int
    departments: int
    materials: int
    trips: int
    summed_limit_days: float
    sequential_days: float

    def as_dict(self) -> dict:
        return asdict(self)


def summarize(proc: Procedure) -> ProcedureSummary:
    """Count steps, 环节, departments, applicant materials, trips and summed limits."""
    by_id = {m.id: m for m in proc.materials}
    lags = sum(d.lag.days for s in proc.steps for d in s.depends_on if d.lag)
    return ProcedureSummary(
        id=proc.id,
        name=proc.name,
        version=proc.version,
        steps=len(proc.steps),
        links=sum(s.links for s in proc.steps),
        departments=len({s.department for s in proc.steps}),
        materials=sum(by_id[m].count for m in applicant_materials(proc)),
        trips=sum(s.trips for s in proc.steps),
        summed_limit_days=sum(s.committed.days for s in proc.steps),
        sequential_days=sum(s.committed.days + sum(u.days for u in s.untimed) for s in proc.steps)
        + lags,
    )
