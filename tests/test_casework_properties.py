"""Properties of running cases over random procedures (tests/strategies.py), on SQLite."""

import itertools
import shutil
from datetime import datetime, time

import pytest
from hypothesis import HealthCheck, given, settings
from sqlmodel import Session, func, select

from flows.casework import (
    Applicant,
    advance_case,
    case_colour,
    decide,
    notification_list,
    open_case,
    verify_chain,
)
from flows.casework.store import make_engine
from flows.casework.tables import AuditEvent, Case, CaseStep, Certificate
from process_models.calendar import local_date
from tests.strategies import procedures

ACCEPTED = datetime(2025, 9, 26, 9)   # 国庆 and its 调休 fall inside most random cases


def decide_every_step_on_its_due_date(session, proc) -> tuple[Case, list[str]]:
    """Each step is approved on the last day its limit allows, steps due first go first."""
    materials = [item.material_id for item in notification_list(proc)]
    case = open_case(session, proc, Applicant("赵六", "11010519491231002X"), materials,
                     now=ACCEPTED)
    advance_case(session, case.id, now=ACCEPTED)   # what the flows do after opening
    order = []
    while pending := session.exec(select(CaseStep).where(
            CaseStep.case_id == case.id, CaseStep.status == "pending")).all():
        day = min(step.due_date for step in pending)
        for step in [s for s in pending if s.due_date == day]:
            decide(session, case.id, step.step_id, "approve", department_id=step.department_id,
                   decided_by="审批员", now=datetime.combine(day, time(10)))
            order.append(step.step_id)
        advance_case(session, case.id, now=datetime.combine(day, time(10)))
    return session.get(Case, case.id), order


EXAMPLE_NUMBERS = itertools.count(1)


@pytest.fixture(scope="module")
def shared_engine(tmp_path_factory, sqlite_template):
    """One migrated SQLite database for every example: each example runs its own case in
    it (a copy and an engine per example would also recompile every SQL statement)."""
    path = tmp_path_factory.mktemp("casework_properties") / "cases.db"
    shutil.copyfile(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.mark.slow   # 30 random cases run in a database, seconds
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(proc=procedures(max_steps=6, with_distributions=False))
def test_a_case_whose_steps_each_take_their_whole_limit_closes_on_its_committed_due_date(
    shared_engine, proc
):
    """The case's committed due date is exactly what the steps' limits (with lags, stages,
    untimed parts and calendar-day limits) add up to when each step uses all of its time;
    every certificate is then issued once, the trail (of every case so far) verifies and the
    case's change marker is its last event."""
    # Examples share one database, where a procedure id and version name one definition.
    proc = proc.model_copy(update={"version": f"{proc.version}.{next(EXAMPLE_NUMBERS)}"})
    with Session(shared_engine) as session:
        case, order = decide_every_step_on_its_due_date(session, proc)
        run = [s for s in proc.steps if not s.follow_up]   # 事中事后 checks are not run
        assert case.status == "approved" and sorted(order) == sorted(s.id for s in run)
        assert local_date(case.closed_at) == case.due_date
        assert case_colour(case, [], case.due_date, yellow_share=0.8) == "green"
        issued = session.exec(select(Certificate.step_id, Certificate.name)
                              .where(Certificate.case_id == case.id)).all()
        assert sorted(issued) == sorted({(s.id, n) for s in run for n in s.certificates})
        assert verify_chain(session).ok
        assert case.changed_seq == session.exec(select(func.max(AuditEvent.seq)).where(
            AuditEvent.case_id == case.id)).one()
