"""Catalog procedures replayed end to end, and staff racing each other on a real database."""

import threading
from datetime import date, datetime, time

import pytest
from sqlmodel import Session, func, select

from flows.casework import (
    Applicant,
    advance_case,
    decide,
    notification_list,
    open_case,
    verify_chain,
)
from flows.casework.tables import Case, CaseStep, Certificate, Decision
from process_models import load_catalog_procedure
from process_models.calendar import add_working_days
from process_models.catalog import catalog_ids
from process_models.errors import DecisionConflict

APPLICANT = Applicant("李四", "11010519491231002X")
ACCEPTED_ON = date(2025, 9, 26)   # the Friday before 国庆: the holiday falls inside most cases


def pending_steps(session, case_id) -> list[CaseStep]:
    return list(session.exec(
        select(CaseStep).where(CaseStep.case_id == case_id, CaseStep.status == "pending")
        .order_by(CaseStep.id)
    ).all())


def run_to_the_end(session, proc) -> tuple[Case, list[str]]:
    """Open with every material; each working day every pending step is approved."""
    materials = [item.material_id for item in notification_list(proc)]
    case = open_case(session, proc, APPLICANT, materials,
                     now=datetime.combine(ACCEPTED_ON, time(9)))
    assert case.status == "accepted"
    day, order = ACCEPTED_ON, []
    while steps := pending_steps(session, case.id):
        day = add_working_days(day, 1)
        for step in steps:
            decide(session, case.id, step.step_id, "approve", department_id=step.department_id,
                   decided_by="窗口", now=datetime.combine(day, time(10)))
            order.append(step.step_id)
        advance_case(session, case.id, now=datetime.combine(day, time(10, 5)))
    return session.get(Case, case.id), order


def test_at_least_three_catalog_procedures_are_replayed():
    assert len(catalog_ids()) >= 3


@pytest.mark.parametrize("procedure_id", catalog_ids())
def test_a_catalog_procedure_runs_end_to_end_and_issues_every_certificate_once(
    session, procedure_id
):
    """Open → materials → each step decided in dependency order → all certificates at once."""
    proc = load_catalog_procedure(procedure_id)
    case, order = run_to_the_end(session, proc)
    run = [s for s in proc.steps if not s.follow_up]
    assert case.status == "approved" and sorted(order) == sorted(s.id for s in run)
    step_ids = {s.id for s in run}
    for step in run:
        for dependency in step.depends_on:
            if dependency.step in step_ids:
                assert order.index(dependency.step) < order.index(step.id)
    issued = session.exec(select(Certificate).where(Certificate.case_id == case.id)).all()
    assert sorted((c.step_id, c.name) for c in issued) == sorted(
        (s.id, name) for s in run for name in s.certificates)
    assert len({c.issued_at for c in issued}) <= 1
    again = advance_case(session, case.id, now=datetime.combine(date(2026, 1, 5), time(9)))
    assert again.certificates == () and session.exec(
        select(func.count()).select_from(Certificate)).one() == len(issued)
    assert verify_chain(session).ok


def race(engine, observer: Session, *calls):
    """Run each call with its own session in its own thread, released together; then
    ``observer`` ends its transaction so that it sees what the racers committed."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def worker(index, call):
        with Session(engine) as session:
            barrier.wait()
            try:
                results[index] = call(session)
            except Exception as error:  # noqa: BLE001 - the race's loser is what we check
                results[index] = error

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    observer.commit()
    return results


@pytest.fixture
def newborn_case(session):
    proc = load_catalog_procedure("newborn")
    materials = [item.material_id for item in notification_list(proc)]
    case = open_case(session, proc, APPLICANT, materials,
                     now=datetime.combine(ACCEPTED_ON, time(9)))
    return case.id, pending_steps(session, case.id)[0]


@pytest.mark.parametrize("second_outcome", ["approve", "reject"])
def test_two_staff_deciding_the_same_step_at_once_one_wins_the_other_gets_a_conflict(
    engine, session, newborn_case, second_outcome
):
    case_id, step = newborn_case
    when = datetime(2025, 9, 29, 10)

    def deciding(outcome, who):
        return lambda s: decide(s, case_id, step.step_id, outcome, department_id=step.department_id,
                                decided_by=who, reason="不符合条件", now=when)

    results = race(engine, session, deciding("approve", "甲"), deciding(second_outcome, "乙"))
    winners = [r for r in results if isinstance(r, Decision)]
    losers = [r for r in results if isinstance(r, Exception)]
    assert len(winners) == 1 and len(losers) == 1
    assert isinstance(losers[0], DecisionConflict)
    assert losers[0].args[0].startswith(
        f"step '{step.step_id}' of case {case_id} was already decided: "
        f"{winners[0].outcome} by {winners[0].decided_by} ({step.department_id})")
    assert session.exec(select(func.count()).select_from(Decision)).one() == 1
    assert verify_chain(session).ok


def test_advancing_a_case_twice_at_once_issues_its_certificates_once(engine, session):
    proc = load_catalog_procedure("newborn")
    case, _ = run_to_the_end(session, proc)
    before = session.exec(select(func.count()).select_from(Certificate)).one()
    when = datetime(2026, 1, 5, 9)
    results = race(engine, session, *[lambda s: advance_case(s, case.id, now=when)] * 2)
    assert [r.certificates for r in results] == [(), ()]
    assert session.exec(select(func.count()).select_from(Certificate)).one() == before


def test_cases_opened_at_once_get_distinct_ids_and_one_unbroken_chain(engine, session):
    proc = load_catalog_procedure("newborn")
    materials = [item.material_id for item in notification_list(proc)]
    when = datetime.combine(ACCEPTED_ON, time(9))
    results = race(engine, session, *[lambda s: open_case(s, proc, APPLICANT, materials, now=when)] * 4)
    assert sorted(r.id for r in results) == [f"C-20250926-000{i}" for i in range(1, 5)]
    assert verify_chain(session).ok
