"""Simulations: critical path, Monte-Carlo, reform scenarios, comparison, advice, Gantt charts.

Procedures are named by id (stored versions first, then the catalog). The figures and
their JSON keys are those of ``onething simulate|reform|compare|advise --json``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from sqlmodel import Session

from api.deps import SessionDep, allowed
from api.models import (
    PROCEDURE_ID_PATTERN,
    CompareRequest,
    Limits,
    MonteCarloRequest,
    ProcedureRef,
    ReformRequest,
    ScheduleRequest,
    plain,
)
from flows import casework
from flows.casework.accounts import User
from process_models.procedure import Procedure

router = APIRouter(prefix="/simulations", tags=["simulations"])

Planner = Annotated[User, Depends(allowed("simulations:run"))]
Figures = dict[str, Any]


def _procedure(session: Session, ref: ProcedureRef) -> Procedure:
    return casework.resolve_procedure(ref.procedure_id, ref.version, session=session,
                                      drafts=True)


@router.post("/schedule")
def simulate_schedule(body: ScheduleRequest, session: SessionDep, user: Planner) -> Figures:
    """Critical path, slack per step, elapsed working days and, with a start date, real dates."""
    from simulations.planning.cpm import schedule
    from simulations.planning.metrics import measure

    proc = _procedure(session, body)
    s = schedule(proc, limits=body.limits, start=body.start)
    m = measure(proc, limits=body.limits)
    data = {"procedure_id": proc.id, "version": proc.version, "limits": body.limits,
            **m.as_dict(), "critical_paths": s.critical_paths,
            "schedule": s.step_times(list(m.slack))}
    if s.dates is not None:
        data["start"] = body.start.isoformat()
        data["dates"] = {sid: {"start": a.isoformat(), "finish": b.isoformat()}
                         for sid, (a, b) in s.dates.items()}
    return plain(data)


@router.post("/monte-carlo")
def simulate_monte_carlo(body: MonteCarloRequest, session: SessionDep, user: Planner) -> Figures:
    """P50/P90/P95 of elapsed working days, on-time probability and each step's criticality."""
    from simulations.planning.montecarlo import simulate

    risk = simulate(_procedure(session, body), runs=body.runs, seed=body.seed)
    return plain({"procedure_id": risk.procedure_id, **risk.as_dict()})


@router.post("/reform")
def simulate_reform(body: ReformRequest, session: SessionDep, user: Planner) -> Figures:
    """Apply a reform scenario (default: the catalog's); the change log and before/after."""
    from process_models.loading import procedure_data
    from simulations.planning.metrics import compare
    from simulations.planning.scenario import apply_scenario_text

    before = _procedure(session, body)
    after, changes = apply_scenario_text(before, body.scenario)
    return plain({"procedure_id": before.id, "changes": [c.as_dict() for c in changes],
                  "comparison": compare(before, after, limits=body.limits).as_dict(),
                  "after": procedure_data(after)})


@router.post("/compare")
def simulate_compare(body: CompareRequest, session: SessionDep, user: Planner) -> Figures:
    """Before/after figures of two procedure versions, with absolute and % compression."""
    from simulations.planning.metrics import compare

    return plain(compare(_procedure(session, body.before), _procedure(session, body.after),
                         limits=body.limits).as_dict())


ProcedureQuery = Annotated[str, Query(pattern=PROCEDURE_ID_PATTERN, examples=["newborn"])]
VersionQuery = Annotated[str | None, Query(max_length=100)]


@router.get("/advise")
def simulate_advise(procedure_id: ProcedureQuery, session: SessionDep, user: Planner,
                    version: VersionQuery = None, limits: Limits = "committed") -> Figures:
    """Single reform levers ranked by working days saved, the blocked ones, and a greedy plan."""
    from simulations.planning.advisor import advise

    proc = casework.resolve_procedure(procedure_id, version, session=session, drafts=True)
    return plain(advise(proc, limits=limits).as_dict())


GANTT_MEDIA = {"svg": "image/svg+xml", "png": "image/png"}


@router.get("/gantt", response_class=Response, responses={200: {"content": {
    "image/svg+xml": {"schema": {"type": "string"}},
    "image/png": {"schema": {"type": "string", "format": "binary"}}}}})
def simulate_gantt(
    procedure_id: ProcedureQuery, session: SessionDep, user: Planner,
    version: VersionQuery = None, limits: Limits = "committed",
    reform: Annotated[bool, Query(description="draw the catalog reform below")] = False,
    image_format: Annotated[Literal["svg", "png"], Query(alias="format")] = "svg",
) -> Response:
    """Gantt chart of the schedule (before, and after the catalog reform), critical path red."""
    from simulations.planning.gantt import write_gantt
    from simulations.planning.scenario import apply_scenario_text

    before = casework.resolve_procedure(procedure_id, version, session=session, drafts=True)
    after = apply_scenario_text(before, None)[0] if reform else None
    with tempfile.TemporaryDirectory() as folder:
        path = write_gantt(FilePath(folder) / f"gantt.{image_format}", before, after,
                           limits=limits)
        content = path.read_bytes()
    return Response(content, media_type=GANTT_MEDIA[image_format])
