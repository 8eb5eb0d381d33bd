"""The reform-task ledger page in a real browser (the fixtures of ``tests/test_browser.py``):
a planner reads the tasks by name with their colour chips and the explanations owed, at
1280 px and on a 390 px phone, in Chinese with no id or English left and nothing running
off the page, then follows a task to the planner page of the reform it delivers.
Screenshots go to ``tests/artifacts/browser/``."""

from __future__ import annotations

import re

import pytest

from tests.test_browser import (  # noqa: F401  (the fixtures, under their names)
    BROWSER_MARKS,
    CHROMIUM,
    _shot,
    _sideways,
    base_url,
    browser,
    engine,
    log_in,
)
from tests.test_reform_tasks import LEDGER

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module", autouse=True)
def ledger(tmp_path_factory):
    """:data:`tests.test_reform_tasks.LEDGER` as the settings' ledger file."""
    from process_models.settings import settings

    path = tmp_path_factory.mktemp("ledger") / "tasks.yaml"
    path.write_text(LEDGER, encoding="utf-8")
    kept, settings.reform_tasks_file = settings.reform_tasks_file, path
    yield path
    settings.reform_tasks_file = kept


@pytest.mark.parametrize("width", [1280, 390])
def test_the_ledger_reads_by_name_with_colours_and_links_to_its_reforms(log_in,  # noqa: F811
                                                                        width):
    planner = log_in("planner")
    planner.set_viewport_size({"width": width, "height": 900})
    planner.goto("/planner")
    planner.click("nav a[href='/reform-tasks']")
    planner.goto("/reform-tasks?on=2025-02-01&lang=zh")
    rows = planner.locator("#reform-tasks tbody tr")
    assert [rows.nth(i).get_attribute("data-colour") for i in range(rows.count())] == [
        "green", "red", "yellow", "green"]
    assert planner.locator("tr[data-task=data] .tag.requested").inner_text() == "缺书面说明"
    text = planner.inner_text("main")
    assert "住房和城乡建设局" in text and "县政务服务和数据管理局" in text
    assert not re.search(r"[A-Za-z]{3,}", text.replace("Excel", "")), text
    _shot(planner, f"16-reform-tasks-{width}px")
    assert _sideways(planner) == [], f"at {width} px"
    planner.click("tr[data-task=permits] a")
    planner.wait_for_url(re.compile(r"/planner\?procedure_id=construction_permit"))
    assert "宾县 工程项目审批 60 个工作日以内" in planner.inner_text("#scenario-name")
    assert _sideways(planner) == [], f"the planner at {width} px"
    _shot(planner, f"17-reform-task-scenario-{width}px")
    planner.set_viewport_size({"width": 1280, "height": 900})
