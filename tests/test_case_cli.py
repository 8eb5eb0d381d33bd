"""``onething case ...``: staff run cases from the command line (embedded mode, SQLite)."""

from __future__ import annotations

import json

import pytest

from flows import casework

pytestmark = pytest.mark.usefixtures("prefect_harness")

ID_NUMBER = "11010519491231002X"
STORE = casework.window_procedure("convenience_store")   # the reformed bundle the window runs
ALL_MATERIALS = [item.material_id for item in casework.notification_list(STORE)]
KEY_MATERIALS = [item.material_id for item in casework.notification_list(STORE) if item.key]


@pytest.fixture(autouse=True)
def database(tmp_path, monkeypatch):
    """Every test on its own SQLite file, chosen by settings as in production."""
    from process_models.settings import settings

    monkeypatch.setattr(settings, "database_url", f"sqlite:///{tmp_path / 'cases.db'}")
    monkeypatch.setattr(settings, "prefect_mode", "embedded")


def _open(run_cli, materials=ALL_MATERIALS) -> str:
    args = ["case", "open", "convenience_store", "--name", "张三", "--id-number", ID_NUMBER]
    for material in materials:
        args += ["--material", material]
    code, out, err = run_cli(*args, "--json")
    assert code == 0, err
    return json.loads(out)["case_id"]


def _show(run_cli, case_id: str) -> dict:
    code, out, err = run_cli("case", "show", case_id, "--json")
    assert code == 0, err
    return json.loads(out)


def test_open_prints_the_notification_list_and_the_case_id(run_cli):
    """The 一次性告知单 lists every material once, marks what was brought, and names the case."""
    code, out, err = run_cli("case", "open", "convenience_store", "--name", "张三",
                             "--id-number", ID_NUMBER, *[a for m in ALL_MATERIALS for a in ("-m", m)])
    assert code == 0, err
    assert "一次性告知单" in out and out.count("✓") == len(ALL_MATERIALS)
    assert "案件 C-" in out and "已受理" in out and STORE.version in out


def test_a_case_runs_from_the_window_to_its_certificates(run_cli):
    """Each department approves its step in turn; after the last, every certificate is out."""
    case_id = _open(run_cli)
    for step in STORE.steps:
        code, _out, err = run_cli("case", "decide", case_id, step.id, "approve",
                                  "--department", step.department, "--by", "王五")
        assert code == 0, err
    shown = _show(run_cli, case_id)
    assert shown["status"] == "approved"
    assert sorted(c["name"] for c in shown["certificates"]) == sorted(
        name for step in STORE.steps for name in step.certificates)


def test_case_show_json_carries_each_certificates_verification_code(run_cli):
    """``verification_code`` is the code printed on the certificate: it verifies it."""
    from sqlmodel import Session

    from flows.casework import VerificationStatus, verify_certificate
    from flows.casework.store import make_engine

    case_id = _open(run_cli)
    for step in STORE.steps:
        assert run_cli("case", "decide", case_id, step.id, "approve", "--department",
                       step.department, "--by", "王五")[0] == 0
    certificate = _show(run_cli, case_id)["certificates"][0]
    engine = make_engine()
    with Session(engine) as session:
        check = verify_certificate(session, certificate["number"],
                                   certificate["verification_code"])
    engine.dispose()
    assert check.status == VerificationStatus.VALID
    code, out, _ = run_cli("case", "show", case_id)
    assert code == 0 and f"核验码 {certificate['verification_code']}" in out


def test_an_agent_acting_for_the_applicant_is_recorded_and_shown(run_cli):
    """帮办代办: who acts, for whom, since when, on what authorisation."""
    case_id = _open(run_cli)
    code, out, err = run_cli("case", "agent", case_id, "--agent", "王帮办",
                             "--authorisation", "委托书 2025-031", "--by", "前台李四")
    assert code == 0, err
    [agent] = _show(run_cli, case_id)["agents"]
    assert (agent["agent"], agent["acting_for"], agent["authorisation"],
            agent["recorded_by"]) == ("王帮办", "张三", "委托书 2025-031", "前台李四")
    code, out, _ = run_cli("case", "show", case_id)
    assert "帮办代办 王帮办，代 张三 办理" in out
    code, _out, err = run_cli("case", "agent", case_id, "--agent", " ",
                              "--authorisation", "x")
    assert code == 2 and "agent's name is empty" in err and "Traceback" not in err


def test_missing_key_materials_leave_the_case_yellow_until_submitted(run_cli):
    """补正 at the window: not accepted (yellow in the list) until the material is brought."""
    case_id = _open(run_cli, KEY_MATERIALS[1:])
    code, out, _ = run_cli("case", "list", "--colour", "yellow", "--json")
    assert code == 0 and [r["case_id"] for r in json.loads(out)] == [case_id]
    assert _show(run_cli, case_id)["status"] == "awaiting_supplement"
    code, out, err = run_cli("case", "submit", case_id, KEY_MATERIALS[0])
    assert code == 0, err
    assert _show(run_cli, case_id)["status"] == "accepted"


def test_the_list_filters_by_status_and_by_colour_apart(run_cli):
    """``--status`` is the case's status, ``--colour`` its colour; each line is the board's."""
    waiting, accepted = _open(run_cli, KEY_MATERIALS[1:]), _open(run_cli)

    def listed(*options):
        code, out, err = run_cli("case", "list", *options, "--json")
        assert code == 0, err
        return json.loads(out)

    assert [r["case_id"] for r in listed("--status", "awaiting_supplement")] == [waiting]
    assert [r["case_id"] for r in listed("--status", "accepted")] == [accepted]
    assert [r["case_id"] for r in listed("--colour", "green")] == [accepted]
    assert listed("--status", "accepted", "--colour", "yellow") == []
    assert list(listed()[0]) == ["case_id", "procedure_id", "applicant_name", "status",
                                 "colour", "due_date"]


def test_withdrawn_case_is_closed_to_further_decisions(run_cli):
    case_id = _open(run_cli)
    code, out, err = run_cli("case", "withdraw", case_id, "--reason", "申请人撤回")
    assert code == 0 and "withdrawn" in out, err
    code, out, err = run_cli("case", "decide", case_id, "company_registration", "approve",
                             "--department", "approval_bureau")
    assert code == 2 and "closed" in err


@pytest.mark.parametrize(("args", "message"), [
    (["case", "open", "convenience_stor", "--name", "张三", "--id-number", ID_NUMBER],
     "convenience_store"),
    (["case", "open", "convenience_store", "--name", "张三", "--id-number",
      "110105194912310021"], "fails its checksum"),
    (["case", "show", "C-20990101-0001"], "no case 'C-20990101-0001'"),
    (["case", "list", "--status", "acepted"], "unknown status 'acepted'"),
    (["case", "decide", "{case}", "company_registration", "approve", "--department", "police"],
     "may decide only its own steps"),
    (["case", "decide", "{case}", "seal_filing", "approve", "--department", "police"],
     "is not ready"),
    (["case", "decide", "{case}", "company_registration", "reject", "--department",
      "approval_bureau"], "reason"),
    (["case", "submit", "{case}", "registration_form", "registration_form"], "duplicate"),
])
def test_bad_input_is_one_line_and_exit_code_2(run_cli, args, message):
    """Each bad request: exit 2, one line on stderr naming the problem, nothing else."""
    case_id = _open(run_cli) if "{case}" in args else None
    code, out, err = run_cli(*[case_id if a == "{case}" else a for a in args])
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err + out


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--name", "张" * 40_000, "--name: String should have at most 200 characters; got '张张"),
    ("--address", "东" * 501, "--address: String should have at most 500 characters"),
    ("--phone", "1" * 41, "--phone: String should have at most 40 characters"),
])
@pytest.mark.slow  # a child process
def test_open_refuses_an_applicant_field_the_api_would_refuse(tmp_path, option, value, message):
    """The CLI checks the applicant with the API's own model (one definition of the limits):
    one line naming the option and the limit, exit 2, no database written."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    fields = {"--name": "张三", "--id-number": ID_NUMBER, option: value}
    env = {**os.environ, "ONETHING_DATA_DIR": str(tmp_path), "ONETHING_DATABASE_URL": ""}
    done = subprocess.run([sys.executable, "-c", "from api.cli import main; main()", "case",
                           "open", "convenience_store",
                           *(part for pair in fields.items() for part in pair)],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False,
                          timeout=120)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and message in done.stderr
    assert len(done.stderr) < 300
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow  # a child process
def test_a_decision_stands_and_is_reported_when_its_advance_cannot_be_requested(tmp_path):
    """The decision commits first: with the Prefect API unreachable (server mode, nothing
    listening) the command still succeeds, says the case moves on with the relay, and
    leaves the decision's outbox row pending for it."""
    import os
    import socket
    import subprocess
    import sys
    from datetime import UTC, datetime

    from sqlmodel import Session, col, select

    from flows.casework.store import init_db, make_engine
    from flows.casework.tables import Decision, Outbox
    from tests.conftest import ROOT

    url = f"sqlite:///{tmp_path / 'cases.db'}"
    engine = make_engine(url)
    init_db(engine)
    with Session(engine) as session:
        case_id = casework.open_case(session, STORE, casework.Applicant("张三", ID_NUMBER),
                                     ALL_MATERIALS, now=datetime.now(UTC)).id
    step = STORE.steps[0]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/api"
    env = {**os.environ, "ONETHING_DATABASE_URL": url, "ONETHING_PREFECT_MODE": "server",
           "ONETHING_PREFECT_API_URL": dead}
    env.pop("PREFECT_API_URL", None)
    done = subprocess.run([sys.executable, "-c", "from api.cli import main; main()", "case",
                           "decide", case_id, step.id, "approve", "--department",
                           step.department], cwd=ROOT, env=env, capture_output=True,
                          text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "not advanced yet (advance failed)" in done.stdout
    with Session(engine) as session:
        assert len(session.exec(select(Decision.id)).all()) == 1
        assert session.exec(select(Outbox.kind).where(
            col(Outbox.processed_at).is_(None), Outbox.kind == "decision")).all() == ["decision"]
    engine.dispose()
