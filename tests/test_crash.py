"""kill -9 of a real child process handling cases, then the relay: nothing lost, nothing twice.

The child runs with the venv's python against this session's Prefect harness and the
test's database (a SQLite file, then PostgreSQL). It is killed at a point read from the
database: right after its decisions committed (before any advance was requested), when
the first case of its advance batch closed, and when half of them had.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from sqlmodel import Session, select

from flows import casework
from flows.casework.tables import Case
from flows.runs import relay_once
from tests.conftest import ROOT
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

CASES = 30

CHILD = """
import sys, time
from datetime import datetime
from sqlmodel import Session
from flows.runs import advance, engine_for, run_flow
from tests.flow_helpers import approve_pending

url, point, moment = sys.argv[1], sys.argv[2], datetime.fromisoformat(sys.argv[3])
if point == "after_decisions":
    with Session(engine_for(url)) as session:
        approve_pending(session, moment)
    print("committed", flush=True)
else:
    print("advancing", flush=True)
    run_flow(advance, database_url=url, now=moment, cases_per_task=1)
    print("advanced", flush=True)
time.sleep(600)
"""


def _approved(engine) -> int:
    with Session(engine) as session:
        return len(session.exec(select(Case.id).where(Case.status == "approved")).all())


def _kill_when(child: subprocess.Popen, ready) -> None:
    """Wait until ``ready()`` (or the child finished its work), then kill -9 the child."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not ready():
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)


@pytest.mark.parametrize("point", ["after_decisions", "first_case_closed", "half_closed"])
def test_after_kill_9_the_relay_completes_every_case_without_losing_or_repeating(
    engine, prefect_harness, point
):
    """Wherever the child dies, restarting the relay finishes every case: every committed
    decision is there, every certificate issued exactly once, the audit chain intact."""
    url = engine.url.render_as_string(hide_password=False)
    now = test_moment()
    with Session(engine) as session:
        case_ids = open_cases(session, PARALLEL, CASES, now)
        if point != "after_decisions":
            approve_pending(session, now)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, url, point, now.isoformat()], cwd=ROOT,
        env={**os.environ, "PREFECT_API_URL": prefect_harness, "ONETHING_PREFECT_MODE":
             "embedded", "PREFECT_LOGGING_LEVEL": "ERROR"},
        stdout=subprocess.PIPE, text=True,
    )
    try:
        first_line = child.stdout.readline().strip()
        if point == "after_decisions":
            assert first_line == "committed"
            _kill_when(child, lambda: True)
        else:
            target = 1 if point == "first_case_closed" else CASES // 2
            _kill_when(child, lambda: child.poll() is not None or _approved(engine) >= target)
    finally:
        if child.poll() is None:
            child.kill()
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL

    with Session(engine) as session:
        assert decisions(session) == 5 * CASES  # every decision committed before the kill
    assert relay_once(url, grace_seconds=0, now=now) > 0
    with Session(engine) as session:
        assert set(statuses(session).values()) == {"approved"}
        assert certificate_keys(session) == expected_certificates(PARALLEL, case_ids)
        assert decisions(session) == 5 * CASES
        assert pending_advancing_rows(session) == 0
        assert casework.verify_chain(session).ok
