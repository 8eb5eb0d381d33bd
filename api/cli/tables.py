"""Commands on step tables (CSV/XLSX spreadsheets): import-table, export-table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli._app import LangOpt, app, console, words


@app.command("import-table")
def import_table(
    table: Annotated[Path, typer.Argument(
        help="a step table: .csv (UTF-8, GBK or UTF-16, as Excel saves it) or .xlsx")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="procedure YAML to write (else stdout)")
    ] = None,
    procedure_id: Annotated[
        str | None, typer.Option("--id", help="procedure id (default: from the file name)")
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="procedure name (default: the file name)")
    ] = None,
    sheet: Annotated[
        str | None, typer.Option(
            "--sheet", help="the workbook sheet to read (default: the first visible sheet "
            "with a header row)")
    ] = None,
    lang: LangOpt = "zh",
) -> None:
    """Read one row per step (Chinese or English headers) into a procedure YAML file."""
    from process_models.loading import dump_procedure, save_procedure
    from process_models.table import load_table

    words(lang)  # an unknown language is refused before the file is read

    proc = load_table(table, procedure_id=procedure_id, name=name, sheet=sheet)
    if output is None:
        typer.echo(dump_procedure(proc), nl=False)
        return
    save_procedure(proc, output)
    console(stderr=True).print(f"[green]ok[/green] {output}: {proc.id} {proc.name} "
                               f"({len(proc.steps)} steps)")


@app.command("export-table")
def export_table(
    procedure: Annotated[str, typer.Argument(help="a procedure file, or a catalog id")],
    output: Annotated[Path, typer.Option("-o", "--output", help="table to write: .csv or .xlsx")],
    headers: Annotated[str, typer.Option("--headers", help="header language: zh or en")] = "zh",
) -> None:
    """Write a procedure as a step table, one row per step (CSV in UTF-8 with BOM)."""
    from api.cli.procedures import load_procedure_argument
    from process_models.table import save_table

    proc = load_procedure_argument(procedure)
    save_table(proc, output, headers=headers)
    console(stderr=True).print(f"[green]ok[/green] {output}: {len(proc.steps)} steps")
