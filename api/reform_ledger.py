"""The reform-task ledger as people read it (:mod:`process_models.reform_tasks`): one line
per task with its owner by name, its colour, the written explanation it owes and the
catalog reform it delivers, linked to the planner. The page (:mod:`api.tasks_page`),
``GET /api/reform-tasks`` and ``onething reform-tasks`` all show these lines.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from api.i18n import label, messages
from process_models.errors import NotFound
from process_models.reform_tasks import ReformLedger, load_reform_tasks
from simulations.planning.audit_report import View

__all__ = ["HEADERS", "configured_ledger", "ledger_day", "ledger_lines", "ledger_view",
           "ledger_xlsx"]

HEADERS = ("title", "owner", "deadline", "status", "colour", "scenario", "explanation")
"""The columns of the ledger's table and XLSX (``task.<column>`` in the words files)."""


def ledger_day(on: str | None) -> date:
    """The day the colours are for: ``on`` (YYYY-MM-DD) or the service centre's today."""
    from process_models.calendar import local_date, parse_date

    return parse_date(on, path="on") if on else local_date(datetime.now(UTC))


def configured_ledger() -> ReformLedger:
    """The ledger of ``settings.reform_tasks_file``, or :class:`NotFound` saying how to set it."""
    from process_models.settings import settings

    if settings.reform_tasks_file is None:
        raise NotFound("no reform-task ledger is set; give its YAML file in "
                       "ONETHING_REFORM_TASKS_FILE (see process_models/reform_tasks.py)")
    return load_reform_tasks(settings.reform_tasks_file)


@cache
def _reform(scenario_id: str) -> tuple[str, str]:
    """The procedure and the name of the catalog reform ``scenario_id``."""
    from process_models.catalog import CATALOG_DIR
    from simulations.planning.scenario import load_scenario

    scenario = load_scenario(Path(CATALOG_DIR) / "reforms" / f"{scenario_id}.yaml")
    return scenario.procedure or scenario_id, scenario.name or scenario_id


def ledger_lines(ledger: ReformLedger, today: date, language: str) -> list[dict[str, Any]]:
    """Each task on ``today``: ids and, for people, the owner's name, the colour, whether a
    red or yellow task lacks its written explanation, and the planner page of its reform.

    >>> from process_models.reform_tasks import parse_reform_tasks
    >>> ledger = parse_reform_tasks('''
    ... departments: {data_bureau: 县数据局}
    ... tasks:
    ...   - {id: a, title: 甲, owner: health, deadline: 2025-03-31, status: on_track, scenario: newborn}
    ...   - {id: b, title: 乙, owner: data_bureau, deadline: 2025-01-31, status: blocked}
    ... ''')
    >>> [(t["owner"], t["colour"], t["explanation_missing"], t["scenario_link"])
    ...  for t in ledger_lines(ledger, date(2025, 2, 1), "zh")]
    [('卫生健康委', 'green', False, '/planner?procedure_id=newborn&scenario=newborn'), ('县数据局', 'red', True, None)]
    """
    from api.page_kit import department_names

    names = {**department_names(language), **ledger.departments}
    lines = []
    for task in ledger.tasks:
        procedure, name = _reform(task.scenario) if task.scenario else (None, None)
        lines.append({
            "id": task.id, "title": task.title, "owner_id": task.owner,
            "owner": names.get(task.owner, task.owner), "deadline": task.deadline,
            "status": task.status, "colour": task.colour(today),
            "explanation": task.explanation,
            "explanation_missing": task.explanation_missing(today),
            "scenario": task.scenario, "scenario_name": name,
            "scenario_link": None if procedure is None else "/planner?" + urlencode(
                {"procedure_id": procedure, "scenario": task.scenario})})
    return lines


def ledger_view(lines: list[dict[str, Any]], language: str) -> View:
    """The lines as one table in ``language`` (for the XLSX and the terminal)."""
    t = messages(language)
    return View(t["task.sheet"], [t[f"task.{h}"] for h in HEADERS], [
        [line["title"], line["owner"], str(line["deadline"]),
         label(t, "task.status", line["status"]), label(t, "task.colour", line["colour"]),
         line["scenario_name"] or "",
         line["explanation"] or (t["task.explanation_owed"] if line["explanation_missing"]
                                 else "")]
        for line in lines])


def ledger_xlsx(ledger: ReformLedger, today: date, language: str):
    """The ledger's table on ``today`` as an XLSX download."""
    from api.routes.audit import views_download

    return views_download([ledger_view(ledger_lines(ledger, today, language), language)],
                          "reform-tasks.xlsx", lang=language)
