"""The reform programme's task ledger: colours, explanations owed, scenarios, XLSX."""

from __future__ import annotations

import json
from datetime import date

import pytest
from openpyxl import load_workbook

from process_models.errors import ProcedureError
from process_models.reform_tasks import parse_reform_tasks

LEDGER = """
name: 宾县改革任务
departments: {data_bureau: 县政务服务和数据管理局, service_centre: 县政务服务中心}
tasks:
  - {id: newborn, title: 出生一件事, owner: health, deadline: 2025-03-31, status: on_track,
     scenario: newborn}
  - {id: permits, title: 工改60天, owner: housing, deadline: 2025-01-31, status: on_track,
     scenario: construction_permit_60, explanation: 审图中心人手不足，已增派}
  - {id: data, title: 数据共享, owner: data_bureau, deadline: 2025-06-30, status: blocked}
  - {id: done, title: 一窗受理, owner: service_centre, deadline: 2025-01-15, status: done}
"""


@pytest.mark.parametrize(("day", "colours"), [
    (date(2025, 1, 10), ["green", "green", "yellow", "green"]),
    (date(2025, 2, 1), ["green", "red", "yellow", "green"]),   # done tasks never turn red
    (date(2025, 7, 1), ["red", "red", "red", "green"]),
])
def test_a_task_is_red_overdue_yellow_blocked_and_green_otherwise(day, colours):
    assert [t.colour(day) for t in parse_reform_tasks(LEDGER).tasks] == colours


def test_red_and_yellow_tasks_owe_a_written_explanation():
    tasks = parse_reform_tasks(LEDGER).tasks
    assert [t.id for t in tasks if t.explanation_missing(date(2025, 2, 1))] == ["data"]


@pytest.mark.parametrize(("edit", "message"), [
    (("status: blocked", "status: blokced"), r"tasks\[2\].status: unknown status 'blokced'"),
    (("scenario: newborn", "scenario: newbron"), r"tasks\[0\].scenario: no catalog reform"),
    (("deadline: 2025-06-30", "deadline: 2025-13-30"), r"tasks\[2\].deadline"),
    (("owner: health, ", ""), r"tasks\[0\].owner: missing field 'owner'"),
    (("owner: housing", "owner: housng"),
     r"tasks\[1\].owner: unknown owner 'housng'.*did you mean 'housing'"),
    (("departments:", "departmens:"), r"unknown field 'departmens'.*did you mean 'departments'"),
    (("departments: {data_bureau: 县政务服务和数据管理局, service_centre: 县政务服务中心}",
      "departments: [data_bureau]"), "departments: give a mapping of department id to name"),
])
def test_a_bad_ledger_is_one_line_naming_the_task_and_field(edit, message):
    with pytest.raises(ProcedureError, match=message):
        parse_reform_tasks(LEDGER.replace(*edit), file="tasks.yaml")


def test_the_ledger_exports_as_json_and_xlsx(run_cli, tmp_path):
    path = tmp_path / "tasks.yaml"
    path.write_text(LEDGER, encoding="utf-8")
    code, out, err = run_cli("reform-tasks", path, "--on", "2025-02-01", "--format", "json")
    assert code == 0, err
    tasks = json.loads(out)["tasks"]
    assert [(t["id"], t["colour"], t["explanation_missing"]) for t in tasks] == [
        ("newborn", "green", False), ("permits", "red", False), ("data", "yellow", True),
        ("done", "green", False)]
    assert [(t["owner_id"], t["owner"]) for t in tasks[1:3]] == [
        ("housing", "住房和城乡建设局"), ("data_bureau", "县政务服务和数据管理局")]
    assert tasks[1]["scenario_link"] == (
        "/planner?procedure_id=construction_permit&scenario=construction_permit_60")
    xlsx = tmp_path / "tasks.xlsx"
    code, _out, err = run_cli("reform-tasks", path, "--on", "2025-02-01", "--format", "xlsx",
                              "-o", xlsx)
    assert code == 0, err
    rows = list(load_workbook(xlsx).worksheets[0].values)
    assert rows[0] == ("任务", "责任单位", "完成期限", "进展", "颜色", "交付的改革方案", "书面说明")
    assert rows[2][:5] == ("工改60天", "住房和城乡建设局", "2025-01-31", "按期推进", "红（超期）")
    assert rows[2][5].startswith("宾县") and rows[2][6] == "审图中心人手不足，已增派"
    assert rows[3][1:7] == ("县政务服务和数据管理局", "2025-06-30", "受阻", "黄（受阻）", None,
                            "缺书面说明")
