"""``onething serve`` as a county runs it: a fresh process on the embedded default (SQLite,
Prefect in-process), its first requests arriving together, a crash's leftovers, a stop.

Each test starts the real command in a subprocess on a database of its own, prepared
through the domain as the window and the departments would have left it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from flows import casework
from flows.casework.accounts import add_user
from flows.casework.store import init_db, make_engine
from flows.casework.tables import CaseStep, Decision, Outbox
from tests.api_fixtures import open_restaurant_case

pytestmark = pytest.mark.slow  # each test starts the real service in a child process

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "long enough secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _processes_marked(mark: str) -> list[int]:
    """Live processes whose environment carries ``mark`` (the service and its children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if mark.encode() in environ and state != "Z":
            found.append(int(entry.name))
    return found


class Service:
    """``onething serve`` in a subprocess on ``data_dir``; every process it starts carries
    :attr:`mark` in its environment, so none can outlive it unseen."""

    def __init__(self, data_dir: Path, **environment: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.mark = f"onething-service-test-{uuid.uuid4().hex}"
        env = {**os.environ, "ONETHING_DATA_DIR": str(data_dir),
               "ONETHING_ENVIRONMENT": "test", "ONETHING_SECRET_KEY": "s" * 40,
               "ONETHING_DATABASE_URL": "", "ONETHING_PREFECT_MODE": "embedded",
               "PREFECT_HOME": str(data_dir / "prefect"), "ONETHING_TEST_MARK": self.mark,
               **environment}
        env.pop("PREFECT_API_URL", None)
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from api.cli import main; main()", "serve",
             "--port", str(self.port)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.output = ""

    def wait_until_answering(self) -> None:
        for _ in range(360):
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=5):
                    return
            except OSError:
                assert self.process.poll() is None, self.process.stdout.read()
                time.sleep(0.5)
        pytest.fail("the service did not answer")

    def request(self, method: str, path: str, body=None, token: str | None = None,
                form: bool = False) -> tuple[int, dict]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        data = None
        if form:
            data = "&".join(f"{k}={v}" for k, v in body.items()).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=300) as answer:
                return answer.status, json.load(answer)
        except urllib.error.HTTPError as error:
            text = error.read().decode(errors="replace")
            try:
                return error.code, json.loads(text)
            except ValueError:
                return error.code, {"detail": text}

    def token(self, username: str) -> str:
        status, body = self.request("POST", "/api/login/access-token",
                                    {"username": username, "password": PASSWORD}, form=True)
        assert status == 200, body
        return body["access_token"]

    def stop(self) -> int:
        """Ctrl-C, as an operator stops it; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        self.output, _ = self.process.communicate(timeout=120)
        return self.process.returncode


ACCOUNTS = [("samr_clerk", "clerk", ["samr"]), ("desk", "front_desk", []),
            ("admin", "admin", [])]
"""A market-regulation clerk, a front desk and an admin (who decides any department's
step): (username, role, departments)."""


def _add_accounts(engine) -> None:
    from api.security import hash_password

    with Session(engine) as session:
        for username, role, departments in ACCOUNTS:
            add_user(session, username, password_hash=hash_password(PASSWORD), role=role,
                     departments=departments, now=datetime.now(UTC))


@pytest.fixture
def data_dir(tmp_path) -> Path:
    """A fresh embedded data folder whose database is migrated and has the
    :data:`ACCOUNTS`."""
    engine = make_engine(f"sqlite:///{tmp_path / 'onething.db'}")
    init_db(engine)
    _add_accounts(engine)
    engine.dispose()
    return tmp_path


@pytest.fixture
def either_engine(engine, data_dir):
    """The ``engine`` fixture's database with the :data:`ACCOUNTS`: the service's own
    SQLite file in :func:`data_dir`, then PostgreSQL."""
    if engine.dialect.name != "sqlite":
        _add_accounts(engine)
    return engine


@pytest.fixture
def service_engine(data_dir):
    """An engine on the service's database, for the test's own reads and writes."""
    engine = make_engine(f"sqlite:///{data_dir / 'onething.db'}")
    yield engine
    engine.dispose()


@pytest.fixture
def start_service(data_dir):
    """Start the service on :func:`data_dir` (with extra environment variables); each is
    stopped (Ctrl-C) at the end whatever happened."""
    started = []

    def start(**environment: str) -> Service:
        started.append(Service(data_dir, **environment))
        return started[-1]

    yield start
    for service in started:
        if service.process.poll() is None:
            service.stop()
        for pid in _processes_marked(service.mark):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def service(start_service) -> Service:
    """The service on :func:`data_dir`, embedded mode."""
    return start_service()


def test_decisions_sent_together_to_a_fresh_service_are_answered_and_leave_no_server_behind(
        service_engine, service):
    """The first decisions after a start, sent at once on six cases, are each answered 200,
    never 500 (one Prefect API per process, started before serving); after Ctrl-C no
    process the service started is left running."""
    case_ids = [open_restaurant_case(service_engine) for _ in range(6)]
    service.wait_until_answering()
    token = service.token("samr_clerk")
    with ThreadPoolExecutor(len(case_ids)) as pool:
        answers = list(pool.map(lambda case_id: service.request(
            "POST", f"/api/cases/{case_id}/steps/business_licence/decision",
            {"outcome": "approve"}, token), case_ids))
    assert [status for status, _ in answers] == [200] * len(case_ids), answers
    assert service.stop() == 0, service.output
    deadline = time.monotonic() + 30
    while _processes_marked(service.mark) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _processes_marked(service.mark) == [], service.output


def test_simultaneous_decisions_on_one_case_are_answered_200_or_409_never_500(
        either_engine, start_service):
    """Case after case, six decisions sent at once on one case — three on its first step,
    three on the step after it, which waits for the first — are each answered 200 or 409,
    never 500; the first step is decided exactly once, and every 200 is a decision in the
    database. The service's relay advances the cases meanwhile (a decision answered 200 on
    the second step found the first advanced)."""
    case_ids = [open_restaurant_case(either_engine, all_materials=True) for _ in range(5)]
    service = start_service(ONETHING_DATABASE_URL=either_engine.url.render_as_string(
        hide_password=False))
    service.wait_until_answering()
    token = service.token("admin")
    steps = ["business_licence"] * 3 + ["health_certificate"] * 3
    answered = []
    with ThreadPoolExecutor(len(steps)) as pool:
        for case_id in case_ids:
            answered += [(case_id, step, status) for step, (status, _) in zip(steps, pool.map(
                lambda step, case_id=case_id: service.request(
                    "POST", f"/api/cases/{case_id}/steps/{step}/decision",
                    {"outcome": "approve"}, token), steps), strict=True)]
    assert {status for _, _, status in answered} <= {200, 409}, answered
    accepted = sorted((case_id, step) for case_id, step, status in answered if status == 200)
    assert [c for c, step in accepted if step == "business_licence"] == sorted(case_ids)
    with Session(either_engine) as session:
        recorded = sorted(session.exec(select(Decision.case_id, Decision.step_id)).all())
    assert [tuple(row) for row in recorded] == accepted
    assert service.stop() == 0, service.output


def test_the_service_relays_a_decision_a_crash_left_pending_without_any_request(
        service_engine, service):
    """A decision committed just before a crash (its outbox row pending, the next step
    waiting) is carried on by the restarted service's own relay: no request needed."""
    case_id = open_restaurant_case(service_engine, all_materials=True)
    earlier = datetime.now(UTC) - timedelta(minutes=1)
    with Session(service_engine) as session:
        casework.advance_case(session, case_id, now=earlier)
        casework.decide(session, case_id, "business_licence", "approve",
                        department_id="samr", decided_by="samr_clerk", now=earlier)
    service.wait_until_answering()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with Session(service_engine) as session:
            pending = session.exec(select(Outbox.kind).where(
                col(Outbox.processed_at).is_(None))).all()
            next_step = session.exec(select(CaseStep.status).where(
                CaseStep.case_id == case_id, CaseStep.step_id == "health_certificate")).one()
        if not pending:
            break
        time.sleep(0.5)
    assert (pending, next_step) == ([], "pending")
    assert service.stop() == 0, service.output


def test_a_committed_decision_is_answered_200_when_prefect_cannot_be_reached(
        service_engine, start_service):
    """The decision is the record: when the advance cannot be requested after the commit
    (server mode, nothing listening at the Prefect API), the answer is still 200 with the
    decision, and its outbox row stays pending for the relay."""
    case_id = open_restaurant_case(service_engine)
    service = start_service(ONETHING_PREFECT_MODE="server",
                            ONETHING_PREFECT_API_URL=f"http://127.0.0.1:{_free_port()}/api")
    service.wait_until_answering()
    status, body = service.request(
        "POST", f"/api/cases/{case_id}/steps/business_licence/decision",
        {"outcome": "approve"}, service.token("samr_clerk"))
    assert status == 200, body
    assert [d["outcome"] for d in body["decisions"]] == ["approve"]
    with Session(service_engine) as session:
        pending = session.exec(select(Outbox.kind).where(
            Outbox.case_id == case_id, col(Outbox.processed_at).is_(None))).all()
    assert "decision" in pending
    assert service.stop() == 0, service.output
    assert "outbox rows stay pending for the relay" in service.output
