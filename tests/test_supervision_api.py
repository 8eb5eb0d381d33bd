"""``GET /api/supervision/report`` and ``GET /api/supervision/auto-share``, as JSON and as
XLSX by name in the reader's language, against hand-counted cases (SQLite and PostgreSQL,
the API's fixtures)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlmodel import Session

from flows import casework
from process_models import parse_procedure
from process_models.calendar import local_date
from tests.test_casework import EVERYTHING, SHOP
from tests.test_supervision import VACCINATION_RULE

APPLICANT = casework.Applicant("张三", "11010519491231002X")


@pytest.fixture
def history(engine, client) -> str:
    """Hand count: a shop case accepted 30 days ago, swept, so its licence (3 working days)
    and its fire check (5) are red, one 督办 notice each to 市场监管 and the fire brigade; two newborn cases today, one vaccination approved
    by the rule and one by staff (秒批 share 1/2). The reports' first day."""
    from flows.casework.auto_decisions import auto_decide
    from process_models.auto_rules import parse_auto_rule
    from process_models.catalog import load_catalog_procedure

    now = datetime.now(UTC)
    newborn = load_catalog_procedure("newborn")
    everything = [i.material_id for i in casework.notification_list(newborn)]
    with Session(engine) as session:
        casework.open_case(session, parse_procedure(SHOP), APPLICANT, EVERYTHING,
                           now=now - timedelta(days=30))
        casework.sweep(session, now=now)
        by_rule = casework.open_case(session, newborn, APPLICANT, everything, now=now)
        auto_decide(session, by_rule.id, parse_auto_rule(VACCINATION_RULE), now=now)
        by_staff = casework.open_case(session, newborn, APPLICANT, everything, now=now)
        casework.decide(session, by_staff.id, "vaccination", "approve", department_id="cdc",
                        decided_by="王五", now=now)
    return str(local_date(now) - timedelta(days=40))


def _sheet(answer) -> list[tuple]:
    assert answer.status_code == 200, answer.text
    return list(load_workbook(io.BytesIO(answer.content)).worksheets[0].values)


def test_the_supervision_report_counts_the_notice_and_names_the_department(client, auth,
                                                                         history):
    answer = client.get("/api/supervision/report", params={"from": history},
                        headers=auth["supervisor"])
    lines = {line["department_id"]: (line["issued"], line["red"], line["yellow"])
             for line in answer.json()["departments"]}
    assert lines == {"fire": (1, 1, 0), "samr": (1, 1, 0), "*": (2, 2, 0)}
    rows = _sheet(client.get("/api/supervision/report", params={"from": history,
                             "format": "xlsx"}, headers=auth["supervisor"]))
    assert rows[0][:4] == ("部门", "督办件数", "红牌", "黄牌")
    assert sorted(row[:4] for row in rows[1:-1]) == [("市场监管局", 1, 1, 0),
                                                     ("消防救援支队", 1, 1, 0)]
    assert rows[-1][:4] == ("合计", 2, 2, 0)
    english = _sheet(client.get("/api/supervision/report", params={
        "from": history, "format": "xlsx", "lang": "en"}, headers=auth["auditor"]))
    assert english[0][0] == "Department" and english[-1][:2] == ("All", 2)


def test_the_auto_share_counts_decisions_by_rule_and_names_the_step(client, auth, history):
    answer = client.get("/api/supervision/auto-share", params={"from": history},
                        headers=auth["auditor"])
    assert answer.status_code == 200, answer.text
    assert [(s["procedure_id"], s["step_id"], s["decisions"], s["by_rule"], s["share"])
            for s in answer.json()["steps"]] == [
        ("newborn", "vaccination", 2, 1, 0.5), ("*", "*", 2, 1, 0.5)]
    assert answer.json()["basis"] == "sourced"
    rows = _sheet(client.get("/api/supervision/auto-share", params={
        "from": history, "format": "xlsx"}, headers=auth["auditor"]))
    assert rows == [("一件事", "环节", "决定数", "秒批决定", "秒批占比"),
                    ("新生儿出生一件事", "预防接种证", 2, 1, 0.5), ("合计", None, 2, 1, 0.5)]
