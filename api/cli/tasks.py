"""The reform programme's task ledger: ``onething reform-tasks FILE`` (red / yellow /
green, written explanations owed, the scenario each task delivers; table, JSON or XLSX)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli._app import LangOpt, app, console, print_json, words

HEADERS = ["任务", "责任单位", "期限", "状态", "颜色", "交付的改革方案", "书面说明"]


@app.command("reform-tasks")
def reform_tasks(
    ledger: Annotated[Path, typer.Argument(help="the reform-task ledger (YAML)")],
    on: Annotated[str | None, typer.Option("--on", help="the day to colour on (default today)")]
    = None,
    fmt: Annotated[str, typer.Option("--format", help="table, json or xlsx")] = "table",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="file for xlsx")] = None,
    lang: LangOpt = "zh",
) -> None:
    """Each reform task red (overdue), yellow (blocked) or green; a red or yellow task
    without its written explanation is marked 缺书面说明."""
    from api.cli.audit import print_views
    from api.cli.cases import staff_today
    from api.i18n import label
    from process_models.calendar import parse_date
    from process_models.errors import InvalidInput
    from process_models.reform_tasks import load_reform_tasks
    from simulations.planning.audit_report import View, write_views

    if fmt not in ("table", "json", "xlsx") or (fmt == "xlsx" and output is None):
        raise InvalidInput(f"--format {fmt[:20]}: use table, json, or xlsx with -o FILE",
                           path="--format")
    today = parse_date(on, path="--on") if on else staff_today()
    tasks = load_reform_tasks(ledger)
    if fmt == "json":
        print_json({"on": str(today), "tasks": [
            {**task.__dict__, "deadline": str(task.deadline), "colour": task.colour(today),
             "explanation_missing": task.explanation_missing(today)} for task in tasks]})
        return
    t = words(lang)
    rows = [[task.title, task.owner, str(task.deadline), task.status,
             label(t, "colour", task.colour(today)), task.scenario or "",
             task.explanation or ("缺书面说明" if task.explanation_missing(today) else "")]
            for task in tasks]
    view = View("改革任务", HEADERS, rows)
    if fmt == "xlsx":
        write_views([view], output, "xlsx")
        console().print(f"{output}: {len(rows)}")
    else:
        print_views([view], f"改革任务台账（{today}）")
