"""``onething case pause|resume``, ``case show --json`` with each step's pauses, and
``onething supervision notices|answer|report|grades`` (in-process, SQLite)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

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
    assert rows[0] == ("一件事", "环节", "决定数", "秒批决定", "秒批占比")
    assert rows[1:] == [("新生儿出生一件事", "预防接种证", 2, 1, 0.5), ("合计", None, 2, 1, 0.5)]
    code, out, err = run_cli("auto-rule", "dry-run", rule_file, "--json")
    assert code == 0, err
    assert {k: json.loads(out)[k] for k in ("cases", "decided", "agreed", "agreement")} == {
        "cases": 1, "decided": 1, "agreed": 1, "agreement": 1.0}


EXAMPLE_RULE = Path(__file__).parents[1] / "process_models/catalog/auto_rules/newborn_birth_registration.yaml"


def test_the_example_rule_dry_runs_over_demo_history_and_agrees_with_a_hand_count(
        run_cli, tmp_path, monkeypatch):
    """``onething demo-history`` then ``auto-rule dry-run`` on the catalog's example rule:
    counted by hand from the tables, the cases whose 生育登记 staff decided, those the rule
    decides (every parent document brought at the window, nothing owed or missing, an adult
    person) and the staff's first outcomes on them."""
    from sqlalchemy import create_engine, text

    from process_models.settings import settings

    url = f"sqlite:///{tmp_path / 'cases.db'}"
    monkeypatch.setattr(settings, "database_url", url)
    code, out, err = run_cli("demo-history", "--cases", "30", "--seed", "4", "--database", url)
    assert code == 0, err
    engine = create_engine(url)
    with engine.connect() as db:
        first = {}
        for case_id, outcome in db.execute(text(
                "SELECT case_id, outcome FROM decision WHERE step_id = 'birth_registration' "
                "ORDER BY id")):
            first.setdefault(case_id, outcome)
        opened = {case_id: json.loads(payload) for case_id, payload in db.execute(text(
            "SELECT case_id, payload FROM audit_event WHERE kind = 'case_opened'"))}
    engine.dispose()
    parents = {"mother_id", "father_id", "marriage_certificate"}
    decided = [c for c in first if parents <= set(opened[c]["received"])
               and not opened[c]["missing"] and not opened[c]["owed"]]   # all adults in the demo
    code, out, err = run_cli("auto-rule", "dry-run", EXAMPLE_RULE, "--json")
    assert code == 0, err
    found = json.loads(out)
    assert (found["cases"], found["decided"]) == (len(first), len(decided))
    assert found["agreed"] == sum(first[c] == "approve" for c in decided)
    assert 0 < found["agreed"] < found["decided"] < found["cases"]
    code, out, err = run_cli("auto-rule", "dry-run", EXAMPLE_RULE)
    assert code == 0, err
    assert (f"人工决定过的案件 {len(first)} 件，规则可决定 {len(decided)} 件" in out
            and "新生儿出生一件事·生育登记" in out and "一致率" in out)


def test_simulate_takes_the_share_from_the_rule_dry_run_labelled_fitted(
        run_cli, tmp_path, monkeypatch):
    """``simulate --auto-rule FILE``: the share is the dry-run's decided / cases over the
    history, basis fitted with the case count and the period; a typed ``--auto`` share is
    an estimate; a history without the step decided is one line naming the way out."""
    from process_models.settings import settings

    url = f"sqlite:///{tmp_path / 'cases.db'}"
    monkeypatch.setattr(settings, "database_url", url)
    args = ("simulate", "newborn", "--runs", "400", "--auto-rule", EXAMPLE_RULE)
    code, _out, err = run_cli(*args)
    assert code == 2 and "give --auto birth_registration=SHARE (an estimate)" in err
    assert run_cli("demo-history", "--cases", "30", "--seed", "4", "--database", url)[0] == 0
    dry = json.loads(run_cli("auto-rule", "dry-run", EXAMPLE_RULE, "--json")[1])
    code, out, err = run_cli(*args, "--auto", "vaccination=0.5", "--json")
    assert code == 0, err
    shares = json.loads(out)["auto_shares"]
    assert shares["vaccination"] == {"share": 0.5, "basis": "estimate"}
    assert shares["birth_registration"] == {
        "share": dry["decided"] / dry["cases"], "basis": "fitted",
        "rule": "newborn_birth_registration_auto@1", "cases": dry["cases"],
        "decided": dry["decided"], "from": dry["first"], "to": dry["last"]}
    code, out, err = run_cli(*args)
    assert code == 0, err
    assert (f"生育登记 在 {dry['decided'] / dry['cases']:.1%} 的案件中按零天计（拟合值："
            f"规则 newborn_birth_registration_auto@1 对 {dry['first']} 至 {dry['last']} 的 "
            f"{dry['cases']} 件历史案件可决定 {dry['decided']} 件）") in out
