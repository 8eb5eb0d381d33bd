"""How the API and ``onething case`` change cases, in one place.

Opening runs the ``open_case`` flow where the process serves Prefect
(:func:`flows.handoff.uses_prefect`: the service in server mode, or run without a relay),
else its work here. Submitting materials and deciding commit through :mod:`flows.casework`
and then have the case advanced: an ``advance`` flow run where the process serves Prefect;
from a lone command or the service in embedded mode the running relay (the service's own
runs in a process of its own, :func:`case_handling`), else the advance here without
Prefect (:func:`flows.handoff.advance_without_prefect`); the same for the API and the CLI; they
return the change and what the advance did. An advance that fails after the commit leaves
its rows pending, and the answer reports what was recorded.
Withdrawing needs no flow. Prefect's run logs are off while flows run
(:func:`flows.runs.quiet_runs`): a domain error reaches the client as one HTTP answer,
not as a run log.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from flows import casework
from flows.casework.tables import Case, Commitment, Decision
from flows.handoff import (
    advance_without_prefect,
    open_without_prefect,
    relay_process,
    uses_prefect,
)
from process_models.settings import settings

__all__ = ["case_handling", "check_commitment", "decide", "open_case", "opened",
           "promise_material", "resume_step", "sign_commitment", "submit_materials",
           "withdraw_case"]


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def case_handling(engine: Engine, *, relay: bool = True) -> Iterator[None]:
    """What the service runs beside its requests, for as long as it serves.

    In embedded mode with ``relay``: the outbox relay in a process of its own
    (:func:`flows.handoff.relay_process`) and nothing of Prefect here, so a request that
    changes a case is one short transaction whose advance is handed to that relay, as a
    command's is (:mod:`flows.handoff`). Otherwise Prefect's API, started here before the
    first request in embedded mode (:func:`flows.runs.embedded_api`), each change's advance
    requested after its commit, and with ``relay`` (server mode) the relay in a thread
    (:func:`flows.runs.relay_in_background`): rows a crash or a failed request left pending
    are handled without waiting for another request."""
    from flows.runs import embedded_api, relay_in_background

    with ExitStack() as stack:
        if relay and settings.prefect_mode == "embedded":
            stack.enter_context(relay_process(_url(engine)))
        else:
            stack.enter_context(embedded_api())
            if relay:
                stack.enter_context(relay_in_background(_url(engine)))
        yield


def _advance(engine: Engine) -> str:
    """Have the case advanced after its change committed; what happened."""
    if uses_prefect():
        from flows.runs import advance_after_commit

        return advance_after_commit(_url(engine))
    return advance_without_prefect(_url(engine))


def open_case(engine: Engine, procedure_id: str, applicant: dict[str, Any],
              submitted: list[str], version: str | None = None) -> str:
    """:func:`opened`'s case id."""
    return opened(engine, procedure_id, applicant, submitted, version)["case_id"]


def opened(engine: Engine, procedure_id: str, applicant: dict[str, Any],
           submitted: list[str], version: str | None = None) -> dict[str, Any]:
    """Open a case (on the published, else the reformed, bundle unless ``version`` says
    otherwise); its ``case_id``, ``status`` and ``due_date``."""
    if uses_prefect():
        from flows.runs import run_open_case

        return run_open_case(procedure_id, applicant, list(submitted), _url(engine), version)
    return open_without_prefect(procedure_id, applicant, list(submitted), _url(engine),
                                version)


def submit_materials(engine: Engine, session: Session, case_id: str,
                     material_ids: list[str]) -> tuple[Case, str]:
    """Record materials, then have the case advanced."""
    case = casework.submit_materials(session, case_id, material_ids, now=_now())
    return case, _advance(engine)


def decide(engine: Engine, session: Session, case_id: str, step_id: str, outcome: str, *,
           department_id: str, decided_by: str, reason: str | None, materials: list[str],
           expected_version: int | None = None) -> tuple[Decision, str]:
    """Record a department's decision, then have the case advanced."""
    decision = casework.decide(session, case_id, step_id, outcome, department_id=department_id,
                               decided_by=decided_by, reason=reason, materials=materials,
                               expected_version=expected_version, now=_now())
    return decision, _advance(engine)


def sign_commitment(engine: Engine, session: Session, case_id: str, step_id: str, *,
                    text: str, signed_by: str, recorded_by: str) -> tuple[Commitment, str]:
    """The applicant signs the 告知承诺书 at the window; the step is decided at once, then
    the case is advanced."""
    commitment = casework.sign_commitment(session, case_id, step_id, text=text,
                                          signed_by=signed_by, recorded_by=recorded_by,
                                          now=_now())
    return commitment, _advance(engine)


def check_commitment(engine: Engine, session: Session, case_id: str, step_id: str, *,
                     passed: bool, department_id: str, checked_by: str,
                     reason: str | None) -> tuple[Commitment, str]:
    """The department records its 核查; a failure revokes, then the case is advanced."""
    commitment = casework.check_commitment(session, case_id, step_id, passed=passed,
                                           department_id=department_id, checked_by=checked_by,
                                           reason=reason, now=_now())
    return commitment, _advance(engine)


def promise_material(session: Session, case_id: str, material_id: str, promised: date,
                     by: str) -> Case:
    """容缺: the applicant promises an owed material by a date within the rules' bounds."""
    return casework.promise_material(session, case_id, material_id, promised, by=by, now=_now())


def record_agent(session: Session, case_id: str, agent: str, authorisation: str,
                 by: str) -> None:
    """帮办代办: ``agent`` acts on the case for its applicant from now on."""
    casework.record_agent(session, case_id, agent=agent, authorisation=authorisation,
                          recorded_by=by, now=_now())


def withdraw_case(session: Session, case_id: str, reason: str) -> Case:
    """The applicant withdraws; open steps are cancelled."""
    return casework.withdraw_case(session, case_id, reason=reason, now=_now())


def resume_step(session: Session, case_id: str, step_id: str, by: str, reason: str) -> Case:
    """An admin resumes a step paused for 补正 (the repair of a stuck case)."""
    return casework.resume_step(session, case_id, step_id, by=by, reason=reason, now=_now())
