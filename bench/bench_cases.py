"""End-to-end cases per second: open a 5-department case, five approvals, certificates issued.

The case is the catalog's ``convenience_store`` (我要开便利店: five departments, five steps)
after 串联改并联 (``simulations.planning.reforms.parallelise``): company registration first, then
the four other departments in parallel, as the legal dependencies allow. Staff work as a service centre does: the window opens the day's
cases, then each department decides every step pending before it; every change commits
in the database first (``flows.casework``) and then asks for an ``advance`` run
(``flows.runs.request_advance``), which drains all pending cases at once. The baseline,
measured in the same run, pays one flow run per transition: an ``open_case`` run per case
and an ``advance`` run after every decision, waiting for each.

Two modes, each in a child process (Prefect reads its settings once per process):
embedded (Prefect in-process, SQLite file) and production (``scripts/production.sh``: a
Prefect server on a PostgreSQL database of its own, a free 127.0.0.1 port, two workers;
stopped and its databases dropped at the end).

    .venv/bin/python bench/bench_cases.py [--cases 200] [--baseline-cases 3]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROCEDURE = "convenience_store"
VERSION = "bench-parallel"
PG = "postgresql://postgres@127.0.0.1:5432"
ID_NUMBERS = ["11010519491231002X", "440524188001010014", "11010119900307803X"]


# --- the child: one mode, both ways ---------------------------------------------------------


def _procedure():
    """The bench's procedure: convenience_store with its practice dependencies dropped."""
    from process_models.catalog import load_catalog_procedure
    from simulations.planning.reforms import parallelise

    proc, _changes = parallelise(load_catalog_procedure(PROCEDURE))
    return proc.model_copy(update={"version": VERSION})


def _open(session, proc, name: str, index: int):
    from flows import casework

    materials = [item.material_id for item in casework.notification_list(proc)]
    return casework.open_case(session, proc, casework.Applicant(name, ID_NUMBERS[index % 3]),
                              materials, now=datetime.now(UTC)).id


def _approve_pending(session, case_ids: set[str], *, at_most: int | None = None) -> int:
    from sqlmodel import col, select

    from flows import casework
    from flows.casework.tables import CaseStep

    pending = [row for row in session.exec(
        select(CaseStep.case_id, CaseStep.step_id, CaseStep.department_id)
        .where(CaseStep.status == "pending").order_by(col(CaseStep.id))).all()
        if row[0] in case_ids][:at_most]
    for case_id, step_id, department_id in pending:
        casework.decide(session, case_id, step_id, "approve", department_id=department_id,
                        decided_by="审批员", now=datetime.now(UTC))
    return len(pending)


def _wait_for(engine, case_ids: set[str], *, status: str | None = None,
              timeout_seconds: float = 1800) -> None:
    """Until every case in ``case_ids`` is closed approved (``status=None``: has no step
    waiting for an advance, i.e. no unprocessed advancing outbox row)."""
    from sqlmodel import Session, col, select

    from flows.casework.tables import Case, Outbox
    from flows.runs import ADVANCING_KINDS

    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        with Session(engine) as session:
            if status is not None:
                done = session.exec(select(Case.id).where(Case.status == status)).all()
                if case_ids <= set(done):
                    return
            else:
                left = session.exec(select(Outbox.case_id).where(
                    col(Outbox.processed_at).is_(None),
                    col(Outbox.kind).in_(sorted(ADVANCING_KINDS)))).all()
                if not case_ids & set(left):
                    return
        time.sleep(0.2)
    raise TimeoutError(f"cases not done after {timeout_seconds} s")


def batched(engine, cases: int) -> float:
    """Cases per second with one advance run draining every pending case."""
    from sqlmodel import Session

    from flows.runs import request_advance

    proc = _procedure()
    start = time.perf_counter()
    with Session(engine) as session:
        ids = {_open(session, proc, f"批量{i}", i) for i in range(cases)}
    request_advance()
    while True:
        with Session(engine) as session:
            if not _approve_pending(session, ids):
                break
        request_advance()
        _wait_for(engine, ids)
    _wait_for(engine, ids, status="approved")
    return cases / (time.perf_counter() - start)


def _drain_outbox(session) -> None:
    """The database work of one ``advance`` run, called directly: read the pending outbox,
    advance the cases of its advancing rows in batches, mark the rows processed."""
    from flows import casework
    from flows.runs import ADVANCING_KINDS

    rows = casework.pending_outbox(session, 5000)
    casework.advance_cases(session, [r.case_id for r in rows if r.kind in ADVANCING_KINDS],
                           now=datetime.now(UTC))
    casework.mark_processed(session, [r.id for r in rows])


def database_alone(engine, cases: int) -> float:
    """Cases per second with the same staff work and the database work of each ``advance``
    run done directly, no Prefect at all: the ceiling the database work sets."""
    from sqlmodel import Session

    proc = _procedure()
    start = time.perf_counter()
    with Session(engine) as session:
        ids = {_open(session, proc, f"直接{i}", i) for i in range(cases)}
        _drain_outbox(session)
        while _approve_pending(session, ids):
            _drain_outbox(session)
    return cases / (time.perf_counter() - start)


def _run_and_wait(flow_name: str, **parameters) -> None:
    """One flow run, waited for: in this process, or through its deployment."""
    from flows import runs
    from process_models.settings import settings

    if settings.prefect_mode == "embedded":
        runs.run_flow(getattr(runs, flow_name), **parameters)
        return
    from prefect.deployments import run_deployment

    run = run_deployment(f"{flow_name}/{runs.DEPLOYMENT_NAME}", parameters=parameters,
                         poll_interval=0.2)
    if not run.state.is_completed():
        raise RuntimeError(f"{flow_name} run {run.name} ended {run.state.type.value}")


def one_run_per_transition(engine, cases: int) -> float:
    """Cases per second when every transition is its own flow run, waited for."""
    from sqlmodel import Session, select

    from flows import casework
    from flows.casework.tables import Case

    materials = [i.material_id for i in casework.notification_list(_procedure())]
    start = time.perf_counter()
    tag = secrets.token_hex(3)
    for i in range(cases):
        name = f"基线{tag}{i}"
        _run_and_wait("open_case", procedure_id=PROCEDURE, applicant={
            "name": name, "id_number": ID_NUMBERS[i % 3]}, submitted=materials)
        with Session(engine) as session:
            case_id = session.exec(select(Case.id).where(Case.applicant_name == name)).one()
        while True:
            with Session(engine) as session:
                if not _approve_pending(session, {case_id}, at_most=1):
                    break
            _run_and_wait("advance")
    return cases / (time.perf_counter() - start)


def child(cases: int, baseline_cases: int) -> None:
    from sqlmodel import Session

    from flows import casework
    from flows.casework.store import init_db
    from flows.runs import engine_for

    engine = engine_for()
    init_db(engine)
    with Session(engine) as session:  # the open_case flow opens the published version
        casework.upload_procedure(session, _procedure(), by="bench", now=datetime.now(UTC))
        casework.publish_procedure(session, PROCEDURE, VERSION, by="bench",
                                   now=datetime.now(UTC))
    baseline = one_run_per_transition(engine, baseline_cases)
    result = batched(engine, cases)
    ceiling = database_alone(engine, cases)
    print(json.dumps({"batched": result, "baseline": baseline, "database_alone": ceiling}))


# --- the parent: set up each mode, run its child, tear down ---------------------------------


def _run_child(env: dict[str, str], cases: int, baseline_cases: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", "--cases", str(cases),
         "--baseline-cases", str(baseline_cases)],
        env={**os.environ, **env, "PREFECT_LOGGING_LEVEL": "WARNING"}, cwd=ROOT,
        check=True, stdout=subprocess.PIPE, text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def embedded(cases: int, baseline_cases: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        return _run_child({"ONETHING_PREFECT_MODE": "embedded",
                           "ONETHING_DATABASE_URL": f"sqlite:///{tmp}/bench.db",
                           "PREFECT_HOME": f"{tmp}/prefect"}, cases, baseline_cases)


def production(cases: int, baseline_cases: int) -> dict[str, float]:
    import psycopg

    suffix = secrets.token_hex(4)
    with tempfile.TemporaryDirectory() as tmp:
        setup = {"ONETHING_STATE_DIR": tmp, "ONETHING_APP_DB": f"onething_bench_{suffix}",
                 "ONETHING_PREFECT_DB": f"onething_bench_prefect_{suffix}"}
        script = str(ROOT / "scripts" / "production.sh")
        try:
            subprocess.run([script, "start"], env={**os.environ, **setup}, check=True,
                           stdout=subprocess.DEVNULL)
            env = dict(line.removeprefix("export ").split("=", 1)
                       for line in Path(tmp, "env").read_text().splitlines())
            return _run_child(env, cases, baseline_cases)
        finally:
            subprocess.run([script, "stop"], env={**os.environ, **setup},
                           stdout=subprocess.DEVNULL, check=False)
            with psycopg.connect(f"{PG}/test", autocommit=True) as conn:
                for name in (setup["ONETHING_APP_DB"], setup["ONETHING_PREFECT_DB"]):
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--baseline-cases", type=int, default=3)
    parser.add_argument("--mode", choices=["embedded", "production", "both"], default="both")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.cases, args.baseline_cases)
        return
    print(f"end-to-end cases/s: {PROCEDURE} (5 departments, 5 approvals, certificates); "
          f"batched {args.cases} cases, baseline {args.baseline_cases} cases")
    modes = {"embedded": embedded, "production": production}
    for name, run in modes.items():
        if args.mode not in (name, "both"):
            continue
        r = run(args.cases, args.baseline_cases)
        print(f"{name:<11} batched advance {r['batched']:7.2f} cases/s   one flow run per "
              f"transition {r['baseline']:6.3f} cases/s   ratio {r['batched'] / r['baseline']:6.1f}x"
              f"   (database alone, no Prefect: {r['database_alone']:.2f} cases/s)")


if __name__ == "__main__":
    main()
