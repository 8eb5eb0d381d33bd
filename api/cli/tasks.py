"""The reform programme's task ledger: ``onething reform-tasks FILE`` (red / yellow /
green, written explanations owed, the scenario each task delivers; table, JSON or XLSX),
the lines of :func:`api.reform_ledger.ledger_lines` as the page shows them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli._app import LangOpt, app, console, print_json, words


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
    from api.reform_ledger import ledger_day, ledger_lines, ledger_view
    from process_models.errors import InvalidInput
    from process_models.reform_tasks import load_reform_tasks
    from simulations.planning.audit_report import write_views

    if fmt not in ("table", "json", "xlsx") or (fmt == "xlsx" and output is None):
        raise InvalidInput(f"--format {fmt[:20]}: use table, json, or xlsx with -o FILE",
                           path="--format")
    today = ledger_day(on)
    found = load_reform_tasks(ledger)
    lines = ledger_lines(found, today, lang)
    if fmt == "json":
        print_json({"name": found.name, "on": str(today), "tasks": lines})
        return
    view = ledger_view(lines, lang)
    if fmt == "xlsx":
        write_views([view], output, "xlsx", lang=lang)
        console().print(f"{output}: {len(lines)}")
    else:
        print_views([view], f"{found.name or words(lang)['task.page']}（{today}）")
