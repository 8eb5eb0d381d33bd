"""``onething case pause|resume``, ``case show --json`` with each step's pauses, and
``onething supervision notices|answer|report|grades`` (in-process, SQLite)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlmodel import Session

from flows import casework
from flows.casework.store import init_db, make_engine
from process_models import parse_procedure
from process_models.calendar import default_calendar, local_date
from tests.test_casework import EVERYTHING, SHOP

APPLICANT = casework.Applicant("张三", "11010519491231002X")


@pytest.fixture
def opened(tmp_path, monkeypatch):
    """A shop case accepted 30 days ago on the settings' SQLite file, its licence held for
    专家评审 since the next day, then swept: the fire check is red and has a 督办 notice."""
    from process_models.settings import settings

    url = f"sqlite:///{tmp_path / 'cases.db'}"
    monkeypatch.setattr(settings, "database_url", url)
    engine = make_engine(url)
    init_db(engine)
    now = datetime.now(UTC)
    with Session(engine) as session:
        case = casework.open_case(session, parse_procedure(SHOP), APPLICANT, EVERYTHING,
                                  now=now - timedelta(days=30))
        casework.pause_step(session, case.id, "licence", "expert_review", by="王五",
                            now=now - timedelta(days=29))
        casework.sweep(session, now=now)
        licence = next(s for s in casework.case_view(session, case.id, today=local_date(now))
                       .steps if s.step_id == "licence")
    engine.dispose()
    return case.id, licence.due_date, local_date(now - timedelta(days=29)), local_date(now)


def test_a_paused_step_shows_its_ledger_and_resumes_with_its_due_date_moved(run_cli, opened):
    case_id, due, paused_on, today = opened
    code, out, err = run_cli("case", "show", case_id, "--json")
    assert code == 0, err
    licence = json.loads(out)["steps"][0]
    assert (licence["step_id"], licence["pause_reason"], licence["colour"]) == (
        "licence", "expert_review", "green")
    assert [(p["reason"], p["counted"], p["ended_on"]) for p in licence["pauses"]] == [
        ("expert_review", False, None)]
    assert f"暂停：专家评审（不计入法定时限）{paused_on} 至 —" in run_cli("case", "show", case_id)[1]
    code, out, err = run_cli("case", "resume", case_id, "licence", "--by", "王五")
    assert code == 0, err
    moved = default_calendar().working_days_between(paused_on, today)
    expected = default_calendar().add_working_days(due, moved)
    assert out.strip() == f"案件 {case_id}：营业执照恢复计时，期限 {expected}"
    shown = json.loads(run_cli("case", "show", case_id, "--json")[1])["steps"][0]
    assert shown["due_date"] == str(expected)
    assert shown["pauses"][0]["working_days"] == moved


def test_a_bad_pause_reason_is_one_line_at_the_cli(run_cli, opened):
    code, _out, err = run_cli("case", "pause", opened[0], "fire_check", "--reason", "hearng")
    assert code == 2
    assert "unknown pause reason 'hearng'" in err and "did you mean 'hearing'" in err
    assert "Traceback" not in err


def test_the_notices_are_answered_and_counted_in_json_and_xlsx(run_cli, opened, tmp_path):
    """Hand count: one notice, the fire check's (red), answered by the fire brigade."""
    code, out, err = run_cli("supervision", "notices", "--json")
    assert code == 0, err
    (notice,) = json.loads(out)
    assert (notice["step_id"], notice["department_id"], notice["colour"]) == (
        "fire_check", "fire", "red")
    code, out, err = run_cli("supervision", "notices")
    assert "消防检查（消防救援支队）红" in out and "待答复" in out, err
    code, _out, err = run_cli("supervision", "answer", notice["notice_id"], "--text",
                              "现场检查排期", "--department", "samr")
    assert code == 2 and "addressed to department 'fire'" in err
    code, out, err = run_cli("supervision", "answer", notice["notice_id"], "--text",
                             "现场检查排期", "--department", "fire", "--by", "李四")
    assert code == 0, err
    first = str(opened[3] - timedelta(days=40))
    code, out, err = run_cli("supervision", "report", "--from", first, "--format", "json")
    assert code == 0, err
    lines = {line["department_id"]: line for line in json.loads(out)["departments"]}
    assert (lines["fire"]["issued"], lines["fire"]["red"], lines["fire"]["answered"]) == (1, 1, 1)
    assert lines["*"]["issued"] == 1
    path = tmp_path / "督办.xlsx"
    code, out, err = run_cli("supervision", "report", "--from", first, "--format", "xlsx",
                             "-o", path)
    assert code == 0, err
    rows = list(load_workbook(path).worksheets[0].values)
    assert rows[0][:4] == ("部门", "督办件数", "红牌", "黄牌")
    assert rows[1][:4] == ("消防救援支队", 1, 1, 0) and rows[-1][:2] == ("合计", 1)


def test_the_share_of_auto_decisions_in_json_and_xlsx_matches_a_hand_count(
        run_cli, tmp_path, monkeypatch):
    """Two newborn cases: one vaccination approved by the rule, one by staff (share 1/2);
    the dry-run finds the staff's case decided the same way."""
    from flows.casework.auto_decisions import auto_decide
    from process_models.auto_rules import load_auto_rule
    from process_models.catalog import load_catalog_procedure
    from process_models.settings import settings
    from tests.test_supervision import VACCINATION_RULE

    url = f"sqlite:///{tmp_path / 'cases.db'}"
    monkeypatch.setattr(settings, "database_url", url)
    rule_file = tmp_path / "vaccination.yaml"
    rule_file.write_text(VACCINATION_RULE, encoding="utf-8")
    engine = make_engine(url)
    init_db(engine)
    newborn = load_catalog_procedure("newborn")
    everything = [i.material_id for i in casework.notification_list(newborn)]
    now = datetime.now(UTC)
    with Session(engine) as session:
        by_rule = casework.open_case(session, newborn, APPLICANT, everything, now=now)
        auto_decide(session, by_rule.id, load_auto_rule(rule_file), now=now)
        by_staff = casework.open_case(session, newborn, APPLICANT, everything, now=now)
        casework.decide(session, by_staff.id, "vaccination", "approve", department_id="cdc",
                        decided_by="王五", now=now)
    engine.dispose()
    today = str(local_date(now))
    code, out, err = run_cli("auto-rule", "report", "--from", today, "--format", "json")
    assert code == 0, err
    steps = json.loads(out)["steps"]
    assert [(s["procedure_id"], s["step_id"], s["decisions"], s["by_rule"], s["share"])
            for s in steps] == [("newborn", "vaccination", 2, 1, 0.5), ("*", "*", 2, 1, 0.5)]
    path = tmp_path / "秒批.xlsx"
    code, _out, err = run_cli("auto-rule", "report", "--from", today, "--format", "xlsx",
                              "-o", path)
    assert code == 0, err
    rows = list(load_workbook(path).worksheets[0].values)
    assert rows[1] == ("newborn", "vaccination", 2, 1, 0.5)
    code, out, err = run_cli("auto-rule", "dry-run", rule_file, "--json")
    assert code == 0, err
    assert {k: json.loads(out)[k] for k in ("cases", "decided", "agreed", "agreement")} == {
        "cases": 1, "decided": 1, "agreed": 1, "agreement": 1.0}
