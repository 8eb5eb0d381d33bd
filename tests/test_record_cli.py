"""``onething procedure upload|publish``, ``case resume`` and ``audit verify|seal``, each
run as a command in a subprocess on a SQLite file of its own."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from sqlmodel import Session

from flows import casework
from flows.casework.store import init_db, make_engine
from process_models.catalog import load_catalog_procedure

pytestmark = pytest.mark.slow  # each test runs the CLI in child processes against a real database

ROOT = Path(__file__).resolve().parent.parent
OVERRIDE = (load_catalog_procedure("newborn").id, "planner-override")


@pytest.fixture
def place(tmp_path, monkeypatch) -> dict[str, str]:
    """The environment of the commands: a data folder (audit key, anchors) and a database,
    shared with this process so that tests can set the scene directly."""
    from process_models.settings import settings

    database = f"sqlite:///{tmp_path / 'cases.db'}"
    monkeypatch.setattr(settings, "data_dir", tmp_path / "var")
    monkeypatch.setattr(settings, "database_url", database)
    engine = make_engine(database)
    init_db(engine)
    engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("ONETHING_")}
    return {**env, "ONETHING_DATA_DIR": str(tmp_path / "var"), "ONETHING_DATABASE_URL": database}


def onething(place, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from api.cli import main; main()", *args],
                          cwd=ROOT, env=place, capture_output=True, text=True, timeout=300,
                          check=False)


def override_file(tmp_path) -> Path:
    text = (ROOT / "process_models/catalog/newborn.yaml").read_text(encoding="utf-8")
    version = load_catalog_procedure("newborn").version
    path = tmp_path / "override.yaml"
    path.write_text(text.replace(f"version: {version}", f"version: {OVERRIDE[1]}", 1)
                    .replace(f'version: "{version}"', f"version: {OVERRIDE[1]}", 1),
                    encoding="utf-8")
    return path


def test_an_upload_is_a_draft_until_an_admin_publishes_it(place, tmp_path):
    """Both acts are in the audit trail; the catalog runs until the publication."""
    uploaded = onething(place, "procedure", "upload", str(override_file(tmp_path)),
                        "--by", "planner")
    assert uploaded.returncode == 0, uploaded.stderr
    assert "stored as a draft" in uploaded.stdout
    with Session(make_engine(place["ONETHING_DATABASE_URL"])) as session:
        assert casework.resolve_procedure("newborn", session=session).version != OVERRIDE[1]
    published = onething(place, "procedure", "publish", *OVERRIDE, "--by", "局管理员")
    assert published.returncode == 0, published.stderr
    assert f"version {OVERRIDE[1]}: new cases open on it" in published.stdout
    with Session(make_engine(place["ONETHING_DATABASE_URL"])) as session:
        assert casework.resolve_procedure("newborn", session=session).version == OVERRIDE[1]
    database = sqlite3.connect(place["ONETHING_DATABASE_URL"].removeprefix("sqlite:///"))
    kinds = [row[0] for row in database.execute("SELECT kind FROM audit_event ORDER BY seq")]
    assert kinds == ["definition_stored", "definition_published"]


def test_publishing_an_unknown_version_is_one_line_and_exit_2(place):
    answer = onething(place, "procedure", "publish", "newborn", "2099")
    assert answer.returncode == 2
    assert answer.stderr.count("\n") == 1 and "Traceback" not in answer.stderr
    assert "procedure 'newborn' version '2099' is neither stored nor in the catalog" in \
        answer.stderr


def test_an_admin_resumes_a_stuck_step_from_the_command_line(place):
    proc = load_catalog_procedure("newborn")
    with Session(make_engine(place["ONETHING_DATABASE_URL"])) as session:
        materials = [i.material_id for i in casework.notification_list(proc)]
        case = casework.open_case(session, proc, casework.Applicant("张三", "11010519491231002X"),
                                  materials, now=datetime(2025, 9, 26, 9))
        step = casework.advance_case(session, case.id, now=datetime(2025, 9, 26, 9)).started
    step_id = step[0] if step else proc.steps[0].id
    database = sqlite3.connect(place["ONETHING_DATABASE_URL"].removeprefix("sqlite:///"))
    with database:   # what an older release let a 补正 with no material do
        database.execute("UPDATE case_step SET status = 'supplement', paused_on = '2025-09-29' "
                         "WHERE case_id = ? AND status = 'pending'", (case.id,))
    answer = onething(place, "case", "resume", case.id, step_id, "--reason", "补正未列材料",
                      "--by", "admin")
    assert answer.returncode == 0, answer.stderr
    assert "恢复计时" in answer.stdout
    kind, = database.execute("SELECT kind FROM audit_event ORDER BY seq DESC LIMIT 1").fetchone()
    assert kind == "step_repaired"


def test_verify_anchors_an_intact_chain_and_then_catches_its_tail_cut(place, tmp_path):
    assert onething(place, "procedure", "upload", str(override_file(tmp_path))).returncode == 0
    assert onething(place, "procedure", "publish", *OVERRIDE).returncode == 0
    verified = onething(place, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert "audit chain intact: 2 events; anchored event 2" in verified.stdout
    anchors = tmp_path / "var" / "audit-anchors.log"
    assert anchors.stat().st_mode & 0o777 == 0o600 and len(anchors.read_text().splitlines()) == 1
    database = sqlite3.connect(place["ONETHING_DATABASE_URL"].removeprefix("sqlite:///"))
    with database:   # the tail deleted, the head set back to the event before
        database.execute("DELETE FROM audit_event WHERE seq = 2")
        database.execute("UPDATE audit_chain_head SET seq = 1, hash = "
                         "(SELECT hash FROM audit_event WHERE seq = 1)")
    broken = onething(place, "audit", "verify")
    assert broken.returncode == 1
    assert "audit chain broken at event 1: the chain head (event 1) was set without the " \
           "audit key" in broken.stderr.replace("\n", " ")


def test_the_audit_report_prints_the_anchor_it_appended(place, tmp_path):
    assert onething(place, "procedure", "upload", str(override_file(tmp_path))).returncode == 0
    answer = onething(place, "audit", "report", "newborn")
    assert answer.returncode == 0, answer.stderr
    assert "审计链锚点：event 1 ·" in answer.stdout
    assert len((tmp_path / "var" / "audit-anchors.log").read_text().splitlines()) == 1
