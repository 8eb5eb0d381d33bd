"""The advance after a commit at the window, without Prefect's start-up (:mod:`flows.handoff`):
a lone command advances its cases itself, a running relay takes them when nudged, reads
and writes at the window never import Prefect, and a database at head is not migrated."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading

import pytest
from sqlmodel import Session

from flows import casework
from flows.casework.store import head_revision, init_db, make_engine
from flows.handoff import (
    advance_without_prefect,
    beacon_glob,
    relay_beacon,
    relay_running,
    sole_relay,
)
from process_models.settings import settings
from tests.conftest import ROOT
from tests.flow_helpers import (
    PARALLEL,
    approve_pending,
    certificate_keys,
    expected_certificates,
    open_cases,
    pending_advancing_rows,
    statuses,
    test_moment,
)

STORE = casework.window_procedure("convenience_store")
ID_NUMBER = "11010519491231002X"


@pytest.fixture
def url(tmp_path, monkeypatch, sqlite_template) -> str:
    """A migrated SQLite file of its own (a copy of the session's template); the data
    directory beside it; embedded mode."""
    monkeypatch.setattr(settings, "data_dir", tmp_path)
    monkeypatch.setattr(settings, "prefect_mode", "embedded")
    shutil.copyfile(sqlite_template, tmp_path / "cases.db")
    return f"sqlite:///{tmp_path / 'cases.db'}"


def _decided(database_url: str) -> list[str]:
    """Two cases of PARALLEL opened and every step approved, not yet advanced."""
    now = test_moment()
    with Session(make_engine(database_url)) as session:
        case_ids = open_cases(session, PARALLEL, 2, now)
        casework.drain_outbox(session, now=now)
        approve_pending(session, now)
    return case_ids


def test_a_lone_command_advances_the_cases_here_and_settles_their_rows(url):
    """With no relay watching the database the advance runs here, as an advance run would:
    the decided cases close with their certificates and no outbox row stays pending."""
    case_ids = _decided(url)
    assert advance_without_prefect(url) == "advanced 2 case(s)"
    with Session(make_engine(url)) as session:
        assert pending_advancing_rows(session) == 0
        assert {statuses(session)[c] for c in case_ids} == {"approved"}
        assert certificate_keys(session) == expected_certificates(PARALLEL, case_ids)
        assert casework.pending_outbox(session) == []


@pytest.mark.slow
def test_a_relay_of_a_dead_process_is_not_running_and_its_beacon_is_removed(url, tmp_path):
    """A beacon left by a process that died (killed, say) does not count, and goes."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    beacon = tmp_path / beacon_glob(url).replace("*", done.stdout.strip())
    beacon.write_text(done.stdout.strip(), encoding="ascii")
    assert not relay_running(url)
    assert not beacon.exists()


def test_a_relay_beacon_says_so_while_it_lasts_and_hears_a_nudge(url):
    """Inside the block a relay of this process watches the database; a command's nudge is
    heard once; after the block nobody watches."""
    with relay_beacon(url) as nudged:
        assert relay_running(url)
        assert not nudged()
        assert _decided(url) and advance_without_prefect(url) == "handed to the running service"
        assert nudged() and not nudged()
    assert not relay_running(url)


def test_one_relay_of_a_database_relays_at_a_time_and_the_next_takes_over_after_it(url):
    """While one relay holds the database, another waits (here told to stop waiting: it
    does not relay); once the first is gone, the next one relays."""
    stop = threading.Event()
    with sole_relay(url, stop) as first:
        stop.set()
        with sole_relay(url, stop) as second:
            assert (first, second) == (True, False)
    with sole_relay(url, threading.Event()) as after:
        assert after


def test_a_database_at_head_is_not_migrated_again_and_alembic_is_not_needed(url, monkeypatch):
    """A new database is migrated to the head the migration files name; then one query
    finds it at head, and Alembic, made unimportable, is not reached."""
    fresh = make_engine(url.replace("cases.db", "fresh.db"))
    init_db(fresh)
    with fresh.connect() as connection:
        assert connection.exec_driver_sql(
            "SELECT version_num FROM alembic_version").scalars().all() == [head_revision()]
    monkeypatch.setitem(sys.modules, "alembic", None)
    init_db(fresh)
    with pytest.raises(ImportError):
        init_db(make_engine(url.replace("cases.db", "new.db")))


@pytest.mark.usefixtures("prefect_harness")
def test_a_running_relay_nudged_by_a_command_advances_the_case_at_once(url):
    """A command hands its advance to the relay watching the database; the relay (whose own
    interval and grace would wait an hour) runs the advance on the nudge."""
    from flows.runs import run_relay

    stop = threading.Event()
    relay = threading.Thread(target=run_relay, args=(url,), daemon=True,
                             kwargs={"interval_seconds": 3600, "grace_seconds": 3600,
                                     "stop": stop})
    relay.start()
    try:
        while not relay_running(url):
            stop.wait(0.05)
        case_ids = _decided(url)
        assert advance_without_prefect(url) == "handed to the running service"
        with Session(make_engine(url)) as session:
            for _ in range(1200):
                if pending_advancing_rows(session) == 0:
                    break
                session.commit()
                stop.wait(0.05)
            assert pending_advancing_rows(session) == 0
            assert {statuses(session)[c] for c in case_ids} == {"approved"}
    finally:
        stop.set()
        relay.join(timeout=60)


WITHOUT_PREFECT = """
import atexit, sys
atexit.register(lambda: print("prefect imported" if "prefect" in sys.modules else "",
                              file=sys.stderr))
from api.cli import main
main()
"""


@pytest.mark.slow
def test_a_case_opened_and_decided_by_lone_commands_reaches_its_end_without_prefect(tmp_path):
    """Each command a child process on the embedded default, nothing else running: the case
    opens, each department approves, the certificates are out, no outbox row is left, and
    no command, read or write, imported Prefect."""
    env = {**os.environ, "ONETHING_DATA_DIR": str(tmp_path), "ONETHING_DATABASE_URL": "",
           "ONETHING_PREFECT_MODE": "embedded"}
    env.pop("PREFECT_API_URL", None)

    def onething(*args: str) -> str:
        done = subprocess.run([sys.executable, "-c", WITHOUT_PREFECT, *args], cwd=ROOT,
                              env=env, capture_output=True, text=True, check=False,
                              timeout=300)
        assert done.returncode == 0, done.stderr
        assert "prefect imported" not in done.stderr, args
        return done.stdout

    materials = [a for i in casework.notification_list(STORE) for a in ("-m", i.material_id)]
    case_id = json.loads(onething("case", "open", STORE.id, "--name", "张三", "--id-number",
                                  ID_NUMBER, *materials, "--json"))["case_id"]
    for step in STORE.steps:
        assert "advanced 1 case(s)" in onething("case", "decide", case_id, step.id, "approve",
                                                "--department", step.department)
    shown = json.loads(onething("case", "show", case_id, "--json"))
    assert shown["status"] == "approved"
    assert sorted(c["name"] for c in shown["certificates"]) == sorted(
        name for step in STORE.steps for name in step.certificates)
    assert case_id in onething("case", "list")
    onething("case", "checks")
    with Session(make_engine(f"sqlite:///{tmp_path / 'onething.db'}")) as session:
        assert casework.pending_outbox(session) == []


HEAVY_MODULES = ("prefect", "fastapi", "starlette", "jinja2", "matplotlib", "alembic",
                 "networkx", "api.models")
"""What no case command at the window imports: each would cost it a tenth of a second or
more (Prefect, the web stack, plotting, migrations, graphs, every model of the API)."""

IMPORTS_AT_EXIT = f"""
import atexit, json, sys
atexit.register(lambda: print(json.dumps(sorted(m for m in {HEAVY_MODULES!r}
                                                if m in sys.modules)), file=sys.stderr))
from api.cli import main
main()
"""


@pytest.mark.slow
def test_no_case_command_imports_prefect_the_web_stack_plotting_or_alembic(url, tmp_path):
    """Each command a child process on a migrated database, as the window runs them: reads
    and writes alike import none of :data:`HEAVY_MODULES`."""
    env = {**os.environ, "ONETHING_DATA_DIR": str(tmp_path), "ONETHING_DATABASE_URL": url,
           "ONETHING_PREFECT_MODE": "embedded"}
    env.pop("PREFECT_API_URL", None)

    def imported(*args: str) -> tuple[list[str], str]:
        done = subprocess.run([sys.executable, "-c", IMPORTS_AT_EXIT, *args], cwd=ROOT,
                              env=env, capture_output=True, text=True, check=False,
                              timeout=300)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stderr.strip().splitlines()[-1]), done.stdout

    materials = [a for i in casework.notification_list(STORE) for a in ("-m", i.material_id)]
    opening = ["case", "open", STORE.id, "--name", "张三", "--id-number", ID_NUMBER, *materials]
    found, out = imported(*opening, "--json")
    case_id, step = json.loads(out)["case_id"], STORE.steps[0]
    found_by_command = {"open": found}
    for name, args in [("show", ["show", case_id]), ("list", ["list"]), ("checks", ["checks"]),
                       ("decide", ["decide", case_id, step.id, "approve",
                                   "--department", step.department]),
                       ("withdraw", ["withdraw", case_id, "--reason", "申请人撤回"])]:
        found_by_command[name] = imported("case", *args)[0]
    assert found_by_command == {name: [] for name in found_by_command}
