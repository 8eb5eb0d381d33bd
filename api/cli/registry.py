"""The county item registry (事项目录): ``registry import|export|report|demo``.

A list is an ``.xlsx`` or ``.csv`` file as the county keeps it (several sheets, merged
cells, its own headers through ``--mapping``) or the registry's ``.yaml``; ``demo`` in
place of a file is the synthetic demo county (合成数据), before-version with ``--before demo``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli._app import LangOpt, app, console, print_json, words

registry_app = typer.Typer(help="The county item registry (事项目录): import, export, the "
                                "county report in 宾县's format, a demo county.",
                           no_args_is_help=True)
app.add_typer(registry_app, name="registry")

DEMO = "demo"
REPORT_FORMATS = ("table", "xlsx", "html", "csv")

ListArg = Annotated[str, typer.Argument(
    help="an item list (.xlsx, .csv) or registry (.yaml); 'demo' for the demo county")]
MappingOpt = Annotated[Path | None, typer.Option(
    "--mapping", help="column mapping file: lines of 'header: column' for the list's own "
                      "headers")]
OutOpt = Annotated[Path | None, typer.Option("-o", "--output", help="file to write")]


def _load(argument: str, mapping: Path | None, *, before: bool = False, source: str | None = None):
    """The registry ``argument`` names: a file, or the demo county."""
    from process_models.registry import demo_versions, load_registry

    if argument == DEMO and not Path(argument).exists():
        return demo_versions()[0 if before else 1]
    return load_registry(argument, mapping=mapping, source=source)


def _said(registry, t: dict[str, str]) -> str:
    """"N 项事项，M 个部门" and the synthetic mark, as the summary after a read or write."""
    mark = t["registry.synthetic"] if registry.synthetic else ""
    return t["registry.summary"].format(name=registry.name, items=len(registry.items),
                                        departments=len(registry.departments)) + mark


@registry_app.command("import")
def import_list(
    file: ListArg,
    mapping: MappingOpt = None,
    output: OutOpt = None,
    source: Annotated[str | None, typer.Option(
        "--source", help="the published list this file is (its figures become sourced)")]
    = None,
    lang: LangOpt = "zh",
) -> None:
    """Read and check an item list; write it as a registry (.yaml, .xlsx or .csv by the
    suffix of -o; YAML on stdout without -o)."""
    from process_models.registry import dump_registry, save_registry

    t = words(lang)
    registry = _load(file, mapping, source=source)
    if output is None:
        typer.echo(dump_registry(registry), nl=False)
    else:
        save_registry(registry, output)
    console(stderr=True).print(f"[green]ok[/green] {output or file}: {_said(registry, t)}")


@registry_app.command("export")
def export(
    file: ListArg,
    output: Annotated[Path, typer.Option("-o", "--output",
                                         help="list to write: .xlsx, .csv or .yaml")],
    mapping: MappingOpt = None,
    headers: Annotated[str, typer.Option("--headers", help="header language: zh or en")]
    = "zh",
    lang: LangOpt = "zh",
) -> None:
    """Write a registry back as the item list counties keep (one row per item)."""
    from process_models.registry import save_registry

    t = words(lang)
    registry = _load(file, mapping)
    save_registry(registry, output, headers=headers)
    console(stderr=True).print(f"[green]ok[/green] {output}: {_said(registry, t)}")


@registry_app.command("report")
def report(
    file: ListArg,
    before: Annotated[str | None, typer.Option(
        "--before", help="the before-version of the list ('demo' for the demo county's): "
                         "compare with it instead of the statutory limits")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="the figures as JSON")] = False,
    fmt: Annotated[str, typer.Option("--format", help="table, xlsx, html or csv")] = "table",
    output: OutOpt = None,
    mapping: MappingOpt = None,
    headline_only: Annotated[bool, typer.Option(
        "--headline", help="only the headline and its basis")] = False,
    lang: LangOpt = "zh",
) -> None:
    """The county report in 宾县's format: items and departments, 网上可办, 最多跑一次, 即办件,
    materials and 环节 removed, days compressed; per department and service level."""
    from rich.markup import escape

    from process_models.errors import InvalidInput, did_you_mean
    from simulations.planning.audit_report import write_views
    from simulations.planning.county_report import county_report, report_data, report_views

    t = words(lang)
    if fmt not in REPORT_FORMATS:
        raise InvalidInput(f"unknown format '{fmt}'; use one of {', '.join(REPORT_FORMATS)}",
                           path="--format", suggestion=did_you_mean(fmt, REPORT_FORMATS))
    if fmt != "table" and output is None:
        raise InvalidInput(f"--format {fmt} writes a file; give it with -o FILE", path="-o")
    registry = _load(file, mapping)
    old = _load(before, mapping, before=True) if before else None
    result = county_report(registry, old)
    if as_json:
        print_json(report_data(result))
        return
    if fmt != "table":
        title = ("【合成数据】" if result.synthetic else "") + t["registry.title"].format(
            name=registry.name)
        write_views(report_views(result, registry, lang), output, fmt, title=title)
        console(stderr=True).print(f"[green]ok[/green] {escape(str(output))}: "
                                   f"{escape(result.headline(lang))}")
        return
    out = console()
    out.print(result.headline(lang), markup=False)
    if not headline_only:
        _print_tables(report_views(result, registry, lang)[1:], out)
        out.print(t["registry.not_compressed"].format(count=len(result.not_compressed)))
    out.print(result.basis_line(lang), markup=False)


def _print_tables(views, out) -> None:
    from rich.table import Table

    for view in views:
        if not view.rows:
            continue
        table = Table(*view.headers, title=view.title)
        for row in view.rows:
            table.add_row(*(f"{v:g}" if isinstance(v, float) else str(v) for v in row))
        out.print(table)


@registry_app.command("demo")
def demo(
    output: Annotated[Path, typer.Option("-o", "--output",
                                         help="list to write: .xlsx, .csv or .yaml")],
    items: Annotated[int, typer.Option("--items", help="how many items (宾县: 1038)")] = 1038,
    seed: Annotated[int, typer.Option("--seed", help="the random seed")] = 2021,
    before: Annotated[Path | None, typer.Option(
        "--before", help="also write the before-version here")] = None,
    lang: LangOpt = "zh",
) -> None:
    """Write the synthetic demo county (合成数据), generated from 宾县's published totals and
    documented distributions (see process_models/registry/demo.py)."""
    from process_models.errors import InvalidInput
    from process_models.registry import MAX_ITEMS, demo_versions, save_registry

    t = words(lang)
    if not 27 <= items <= MAX_ITEMS:
        raise InvalidInput(f"--items {items} is outside 27–{MAX_ITEMS} (one item per "
                           "department at least); give e.g. 1038 or 10000", path="--items")
    old, new = demo_versions(items, seed=seed)
    save_registry(new, output)
    if before is not None:
        save_registry(old, before)
    console(stderr=True).print(f"[green]ok[/green] {output}: {_said(new, t)}")
