"""The case-handling flows on Prefect (one harness per test session), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from flows import casework
from flows.casework.tables import CaseStep
from flows.runs import (
    advance,
    open_case,
    relay_once,
    run_flow,
    sla_sweep,
)
from process_models.errors import DecisionConflict, InvalidInput
from tests.flow_helpers import (
    PARALLEL,
    approve_pending,
    certificate_keys,
    decisions,
    expected_certificates,
    open_cases,
    pending_advancing_rows,
    statuses,
    test_moment,
)

pytestmark = pytest.mark.usefixtures("prefect_harness")

CATALOG_CASES = ["convenience_store", "enterprise_startup", "newborn"]


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_flows_carry_three_catalog_procedures_to_their_certificates(engine):
    """Open through the flow, then rounds of decisions each followed by one advance run:
    every case ends approved with every certificate of every step, issued once."""
    url, now = _url(engine), test_moment()
    case_ids = {}
    for procedure_id in CATALOG_CASES:
        proc = casework.window_procedure(procedure_id)   # the bundle the flow opens
        opened = run_flow(open_case, procedure_id=procedure_id,
                          applicant={"name": "张三", "id_number": "11010519491231002X"},
                          submitted=[i.material_id for i in casework.notification_list(proc)],
                          database_url=url, now=now)
        assert opened["status"] == "accepted"
        case_ids[procedure_id] = opened["case_id"]
    for round_ in range(1, 12):
        moment = now + timedelta(hours=round_)
        with Session(engine) as session:
            if not approve_pending(session, moment):
                break
        run_flow(advance, database_url=url, now=moment)
    with Session(engine) as session:
        assert set(statuses(session).values()) == {"approved"}
        assert certificate_keys(session) == sorted(
            key for procedure_id in CATALOG_CASES
            for key in expected_certificates(casework.window_procedure(procedure_id),
                                             [case_ids[procedure_id]]))
        assert casework.verify_chain(session).ok


def test_one_advance_run_drains_a_batch_of_many_cases(engine):
    """Forty cases, five approvals each, then ONE advance run closes all forty."""
    url, now = _url(engine), test_moment()
    with Session(engine) as session:
        case_ids = open_cases(session, PARALLEL, 40, now)
        assert approve_pending(session, now) == 200
    summary = run_flow(advance, database_url=url, now=now, cases_per_task=8)
    assert summary["cases"] == 40 and summary["closed"] == 40
    assert summary["certificates"] == 200
    with Session(engine) as session:
        assert set(statuses(session).values()) == {"approved"}
        assert certificate_keys(session) == expected_certificates(PARALLEL, case_ids)
        assert pending_advancing_rows(session) == 0


def test_advancing_the_same_rows_again_issues_no_second_certificate(engine):
    """A rerun over rows already handled (a crash before they were marked) changes nothing:
    its tasks find their cached results under the same (case, step, decision) keys."""
    from sqlalchemy import update

    from flows.casework.tables import Outbox

    url, now = _url(engine), test_moment()
    with Session(engine) as session:
        case_ids = open_cases(session, PARALLEL, 3, now)
        approve_pending(session, now)
    first = run_flow(advance, database_url=url, now=now)
    with Session(engine) as session:
        session.execute(update(Outbox).values(processed_at=None))
        session.commit()
    second = run_flow(advance, database_url=url, now=now + timedelta(minutes=1))
    assert (second["cases"], second["certificates"]) == (first["cases"], first["certificates"])
    with Session(engine) as session:
        assert certificate_keys(session) == expected_certificates(PARALLEL, case_ids)
        assert casework.verify_chain(session).ok


def test_a_run_that_closes_a_case_leaves_no_outbox_row_pending(engine):
    """The notices a run's own tasks write (steps started, case closed) need no handling and
    are marked by that run: a closed case leaves nothing waiting for the next activity."""
    url, now = _url(engine), test_moment()
    with Session(engine) as session:
        open_cases(session, PARALLEL, 1, now)
        approve_pending(session, now)
    summary = run_flow(advance, database_url=url, now=now)
    assert summary["closed"] == 1
    with Session(engine) as session:
        assert casework.pending_outbox(session) == []


def test_notice_rows_are_marked_without_advancing_anything(engine):
    """A notice written outside any run (a withdrawal's case closed) is marked by the next
    run, which advances nothing."""
    url, now = _url(engine), test_moment()
    with Session(engine) as session:
        case_id = open_cases(session, PARALLEL, 1, now)[0]
    run_flow(advance, database_url=url, now=now)
    with Session(engine) as session:
        casework.withdraw_case(session, case_id, reason="申请人撤回", now=now)
        left = casework.pending_outbox(session)
        assert [row.kind for row in left] == ["case_closed"]
    summary = run_flow(advance, database_url=url, now=now)
    assert summary == {"rows": 1, "cases": 0, "closed": 0, "certificates": 0}


def test_open_case_flow_passes_on_the_domain_error_and_writes_nothing(engine):
    """A bad ID number fails the flow with the domain's one-line error; no case is written."""
    with pytest.raises(InvalidInput, match="fails its checksum"):
        run_flow(open_case, procedure_id="newborn", applicant={
            "name": "张三", "id_number": "110105194912310021"}, submitted=[],
            database_url=_url(engine), now=test_moment())
    with Session(engine) as session:
        assert statuses(session) == {}


def test_sla_sweep_turns_overdue_steps_red_and_escalates_them_once(engine):
    """Two months after opening every step is past its due date: red, escalated (督办) once."""
    url, now = _url(engine), test_moment()
    with Session(engine) as session:
        open_cases(session, PARALLEL, 2, now)
    late = now + timedelta(days=60)
    first = run_flow(sla_sweep, database_url=url, now=late)
    assert first["escalated"] == 10 and first["red"] >= 10
    again = run_flow(sla_sweep, database_url=url, now=late + timedelta(hours=1))
    assert again["escalated"] == 0


def test_relay_leaves_fresh_rows_to_the_run_their_writer_requested(engine):
    """Rows younger than the grace period are not the relay's business; older ones are."""
    url, now = _url(engine), test_moment()
    with Session(engine) as session:
        open_cases(session, PARALLEL, 1, now)
        approve_pending(session, now)
    assert relay_once(url, grace_seconds=60, now=now) == 0
    assert relay_once(url, grace_seconds=60, now=now + timedelta(minutes=2)) > 0
    with Session(engine) as session:
        assert set(statuses(session).values()) == {"approved"}


def test_two_deciders_at_once_exactly_one_wins(engine):
    """Two staff decide the same step of the same version at the same moment: one decision
    is recorded, the other gets DecisionConflict."""
    now = test_moment()
    with Session(engine) as session:
        (case_id,) = open_cases(session, PARALLEL, 1, now)
        version = session.exec(select(CaseStep.version).where(
            CaseStep.case_id == case_id, CaseStep.step_id == "licence")).one()
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def decide(outcome: str) -> None:
        with Session(engine) as session:
            barrier.wait()
            try:
                outcomes.append(casework.decide(
                    session, case_id, "licence", outcome, department_id="samr",
                    decided_by=outcome, reason="材料不实" if outcome == "reject" else None,
                    expected_version=version, now=now))
            except DecisionConflict as conflict:
                outcomes.append(conflict)

    threads = [threading.Thread(target=decide, args=(o,)) for o in ("approve", "reject")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(type(o).__name__ for o in outcomes) == ["Decision", "DecisionConflict"]
    with Session(engine) as session:
        assert decisions(session) == 1


def test_server_mode_starts_an_advance_run_that_the_worker_runs_in_its_own_process(
    engine, monkeypatch
):
    """Server mode: request_advance starts an advance run through its deployment (a
    scheduled sweep does not hold it back; a second request joins the queued run), and
    the work pool's worker runs it in the worker's own process, draining the outbox."""
    import asyncio
    import os
    import secrets
    import socket
    from datetime import UTC, datetime

    from prefect import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
    from prefect.client.schemas.sorting import FlowRunSort
    from prefect.deployments import run_deployment

    from flows.runs import request_advance
    from flows.worker import InProcessWorker, deploy
    from process_models.settings import settings

    monkeypatch.setattr(settings, "prefect_mode", "server")
    pool, url, now = f"test-{secrets.token_hex(4)}", _url(engine), test_moment()
    advance_id = deploy(pool, sweep_cron="0 0 1 1 *")[0]
    run_deployment("sla_sweep/onething", scheduled_time=datetime.now(UTC) + timedelta(days=1),
                   timeout=0)
    with Session(engine) as session:
        case_ids = open_cases(session, PARALLEL, 3, now)
        approve_pending(session, now)
    assert request_advance(url).startswith("started advance run")
    assert request_advance(url) == "an advance run is already queued"
    asyncio.run(InProcessWorker(work_pool_name=pool).start(run_once=True))
    with get_client(sync_client=True) as client:
        (run,) = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[advance_id])),
            sort=FlowRunSort.EXPECTED_START_TIME_DESC, limit=1)
    assert run.state.is_completed()
    assert run.infrastructure_pid == f"{socket.gethostname()}:{os.getpid()}"
    with Session(engine) as session:
        assert set(statuses(session).values()) == {"approved"}
        assert certificate_keys(session) == expected_certificates(PARALLEL, case_ids)
        assert pending_advancing_rows(session) == 0
