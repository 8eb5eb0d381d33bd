"""How the API changes cases: the same calls as ``onething case``, in one place.

Opening runs the ``open_case`` flow; submitting materials and deciding commit through
:mod:`flows.casework` and then request an ``advance`` run
(:func:`flows.runs.request_advance`: here and now in embedded mode, through the
deployment in server mode), exactly like the CLI. Withdrawing needs no flow. Prefect's
run logs are off while these run (:func:`flows.runs.quiet_runs`): a domain error reaches
the client as one HTTP answer, not as a run log.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from flows import casework
from flows.casework.tables import Case, Decision

__all__ = ["decide", "open_case", "resume_step", "submit_materials", "withdraw_case"]


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _now() -> datetime:
    return datetime.now(UTC)


def _advance(engine: Engine) -> str:
    from flows.runs import quiet_runs, request_advance

    with quiet_runs():
        return request_advance(_url(engine))


def open_case(engine: Engine, procedure_id: str, applicant: dict[str, Any],
              submitted: list[str]) -> str:
    """Open a case through the ``open_case`` flow; its id."""
    from flows.runs import run_open_case

    return run_open_case(procedure_id, applicant, list(submitted), _url(engine))["case_id"]


def submit_materials(engine: Engine, session: Session, case_id: str,
                     material_ids: list[str]) -> Case:
    """Record materials, then have the case advanced."""
    case = casework.submit_materials(session, case_id, material_ids, now=_now())
    _advance(engine)
    return case


def decide(engine: Engine, session: Session, case_id: str, step_id: str, outcome: str, *,
           department_id: str, decided_by: str, reason: str | None, materials: list[str],
           expected_version: int | None) -> Decision:
    """Record a department's decision, then have the case advanced."""
    decision = casework.decide(session, case_id, step_id, outcome, department_id=department_id,
                               decided_by=decided_by, reason=reason, materials=materials,
                               expected_version=expected_version, now=_now())
    _advance(engine)
    return decision


def withdraw_case(session: Session, case_id: str, reason: str) -> Case:
    """The applicant withdraws; open steps are cancelled."""
    return casework.withdraw_case(session, case_id, reason=reason, now=_now())


def resume_step(session: Session, case_id: str, step_id: str, by: str, reason: str) -> Case:
    """An admin resumes a step paused for 补正 (the repair of a stuck case)."""
    return casework.resume_step(session, case_id, step_id, by=by, reason=reason, now=_now())
