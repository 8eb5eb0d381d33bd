"""The reform-task ledger page, its XLSX download and ``GET /api/reform-tasks``: owners by
name, colour chips, explanations owed flagged, each task linked to the planner page of the
reform it delivers; no ledger set and a bad ledger are one clear line (the API's fixtures,
``tests/api_fixtures.py``)."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from tests.test_reform_tasks import LEDGER

ON = "2025-02-01"


@pytest.fixture
def ledger(tmp_path, monkeypatch):
    """:data:`tests.test_reform_tasks.LEDGER` as the settings' ledger file."""
    from process_models.settings import settings

    path = tmp_path / "tasks.yaml"
    path.write_text(LEDGER, encoding="utf-8")
    monkeypatch.setattr(settings, "reform_tasks_file", path)
    return path


def test_the_page_shows_each_task_by_name_with_its_colour_and_the_explanations_owed(
        page_login, ledger):
    page = page_login("planner").get("/reform-tasks", params={"on": ON})
    assert page.status_code == 200
    text = page.text
    assert "宾县改革任务" in text and "颜色按 2025-02-01 计" in text
    assert 'data-task="permits" data-colour="red"' in text
    assert 'data-task="data" data-colour="yellow"' in text
    assert "住房和城乡建设局" in text and "县政务服务和数据管理局" in text and "housing" not in text
    assert "审图中心人手不足，已增派" in text
    assert text.count("缺书面说明") == 1 and "1 项红、黄任务尚未提交书面说明" in text
    assert ('href="/planner?procedure_id=construction_permit&amp;scenario='
            'construction_permit_60"') in text
    assert 'href="/reform-tasks"' in text, "the planner's navigation links the ledger"


def test_a_task_links_to_the_planner_page_of_the_reform_it_delivers(page_login, ledger):
    planner = page_login("planner")
    page = planner.get("/planner", params={"procedure_id": "construction_permit",
                                           "scenario": "construction_permit_60"})
    assert page.status_code == 200
    assert "改革方案：宾县 工程项目审批 60 个工作日以内" in page.text
    assert 'data-metric="elapsed_working_days"' in page.text
    bad = planner.get("/planner", params={"procedure_id": "construction_permit",
                                          "scenario": "construction_permit_06"})
    assert bad.status_code == 422
    assert "no catalog reform &#39;construction_permit_06&#39;" in bad.text
    assert "did you mean &#39;construction_permit_60&#39;" in bad.text


def test_the_xlsx_download_is_the_page_table_in_its_language(page_login, ledger):
    planner = page_login("planner")
    answer = planner.get("/reform-tasks.xlsx", params={"on": ON})
    assert answer.status_code == 200
    rows = list(load_workbook(io.BytesIO(answer.content)).worksheets[0].values)
    assert rows[0][:3] == ("任务", "责任单位", "完成期限")
    assert rows[2][:5] == ("工改60天", "住房和城乡建设局", "2025-01-31", "按期推进", "红（超期）")
    english = planner.get("/reform-tasks.xlsx", params={"on": ON, "lang": "en"})
    rows = list(load_workbook(io.BytesIO(english.content)).worksheets[0].values)
    assert rows[0][:3] == ("Task", "Owner", "Deadline") and rows[3][6] == "Explanation owed"


def test_the_api_gives_the_same_lines_as_json_and_xlsx(client, auth, ledger):
    answer = client.get("/api/reform-tasks", params={"on": ON}, headers=auth["supervisor"])
    assert answer.status_code == 200
    tasks = answer.json()["tasks"]
    assert [(t["id"], t["colour"], t["explanation_missing"], t["owner"]) for t in tasks] == [
        ("newborn", "green", False, "卫生健康委"), ("permits", "red", False, "住房和城乡建设局"),
        ("data", "yellow", True, "县政务服务和数据管理局"), ("done", "green", False, "县政务服务中心")]
    xlsx = client.get("/api/reform-tasks", params={"on": ON, "format": "xlsx", "lang": "en"},
                      headers=auth["auditor"])
    assert load_workbook(io.BytesIO(xlsx.content)).worksheets[0]["A1"].value == "Task"
    assert client.get("/api/reform-tasks", headers=auth["clerk"]).status_code == 403


def test_without_a_ledger_the_page_says_how_to_set_one_and_the_api_is_404(page_login, client,
                                                                         auth):
    page = page_login("planner").get("/reform-tasks")
    assert page.status_code == 200 and "ONETHING_REFORM_TASKS_FILE" in page.text
    assert "未设置改革任务台账" in page.text
    answer = client.get("/api/reform-tasks", headers=auth["planner"])
    assert answer.status_code == 404 and "ONETHING_REFORM_TASKS_FILE" in answer.json()["detail"]


def test_a_bad_ledger_is_one_line_naming_the_file_task_and_field(page_login, ledger):
    ledger.write_text(LEDGER.replace("status: blocked", "status: blokced"), encoding="utf-8")
    page = page_login("planner").get("/reform-tasks")
    assert page.status_code == 422
    assert "tasks[2].status: unknown status &#39;blokced&#39;" in page.text
    assert "Traceback" not in page.text
