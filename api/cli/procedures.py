"""Commands on procedure files (validate, show, catalog) and stored procedures
(``procedure upload|publish``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli._app import LangOpt, app, console, print_json, words

PathsArg = Annotated[list[Path], typer.Argument(help="procedure files or folders")]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]


@app.command()
def validate(
    paths: PathsArg,
    strict: Annotated[bool, typer.Option(
        "--strict", help="refuse a number without a source in a file with status: published")]
    = False,
    lang: LangOpt = "zh",
) -> None:
    """Check procedure files; print one line per file, or the first error and exit 2."""
    from rich.markup import escape

    from process_models.loading import load_procedure, procedure_paths
    from process_models.provenance import check_sourced

    t = words(lang)
    out = console()
    for path in procedure_paths(paths):
        proc = load_procedure(path)
        if strict:
            check_sourced(proc, file=str(path))
        line = t["validate.line"].format(path=path, name=proc.name, id=proc.id,
                                         steps=len(proc.steps))
        out.print(f"[green]{t['validate.ok']}[/green] {escape(line)}")


@app.command()
def show(
    path: Annotated[str, typer.Argument(help="a procedure file, or a catalog id")],
    json_: JsonOpt = False,
) -> None:
    """Print a procedure's steps, departments, limits and dependencies."""
    from process_models.loading import procedure_data
    from process_models.provenance import basis_data, sourced_line
    from process_models.summary import summarize

    proc = load_procedure_argument(path)
    if json_:
        print_json({"procedure": procedure_data(proc), "summary": summarize(proc).as_dict(),
                    "basis": basis_data(proc)})
        return
    from rich.table import Column, Table

    s = summarize(proc)
    out = console()
    out.print(f"[bold]{proc.name}[/bold] ({proc.id}@{proc.version}, {proc.region or '—'})")
    depts = {d.id: d.name for d in proc.departments}
    t = Table(Column("step", no_wrap=True), "name", "department", "kind", "statutory", "committed",
              "untimed", "depends on", "materials", "trips")
    for st in proc.steps:
        t.add_row(
            st.id, st.name, depts.get(st.department, st.department), st.kind.value,
            _limit(st.statutory), _limit(st.committed),
            ", ".join(f"{u.kind} {u.days:g}{_mark(u.basis)}" for u in st.untimed),
            ", ".join(d.step + ("*" if d.kind.value == "practice" else "") + _mark(d.basis)
                      for d in st.depends_on),
            str(len(st.materials)), f"{st.trips}{_mark(st.provenance_of('trips').basis)}",
        )
    out.print(t)
    out.print(
        f"{s.steps} steps, {s.departments} departments, {s.materials} materials, {s.trips} trips; "
        f"summed committed limit {s.summed_limit_days:g} days; one after another "
        f"{s.sequential_working_days:g} days. (* practice dependency)"
    )
    out.print(f"{UNSOURCED_MARK} 无来源（估计、记忆、拟合或推断；E/M/F/I 标明依据） · "
              f"{sourced_line([proc])}")


@app.command()
def catalog(lang: LangOpt = "zh", json_: JsonOpt = False) -> None:
    """Overview of the catalog: one line per procedure."""
    from process_models.catalog import load_catalog
    from process_models.summary import summarize

    w = words(lang)
    rows = [summarize(p) for p in load_catalog()]
    if json_:
        print_json([r.as_dict() for r in rows])
        return
    from rich.table import Table

    t = Table(w["cli.id"], w["case.procedure"],
              *(w[f"metric.{f}"] for f in ("steps", "departments", "materials", "trips",
                                           "summed_limit_days", "sequential_working_days")),
              title=w["catalog.title"])
    for r in rows:
        t.add_row(r.id, r.name, str(r.steps), str(r.departments), str(r.materials), str(r.trips),
                  f"{r.summed_limit_days:g}", f"{r.sequential_working_days:g}")
    console().print(t)


UNSOURCED_MARK = "†"
"""Marks a number in a table that has no source; the letter after it names its basis."""


def _mark(basis) -> str:
    """``''`` for a sourced number, else ``†`` and its basis letter (no basis: estimate)."""
    from process_models.procedure import Basis

    basis = basis or Basis.estimate
    return "" if basis is Basis.sourced else f"{UNSOURCED_MARK}{basis.mark}"


def _limit(limit) -> str:
    if limit is None:
        return "—"
    return f"{limit.days:g}{'' if limit.working else ' cal'}{_mark(limit.basis)}"


def load_procedure_argument(path_or_id: str):
    """A procedure from a file path, or from the catalog by id."""
    from process_models.catalog import load_catalog_procedure
    from process_models.loading import load_procedure

    p = Path(path_or_id)
    if p.suffix in (".yaml", ".yml") or p.exists():
        return load_procedure(p)
    return load_catalog_procedure(path_or_id)


procedure_app = typer.Typer(name="procedure", no_args_is_help=True,
                            help="Stored procedures: upload a draft, publish it for new cases.")
app.add_typer(procedure_app, name="procedure")
ByOpt = Annotated[str, typer.Option("--by", help="who does it (recorded in the audit trail)")]


@procedure_app.command("upload")
def upload(
    path: Annotated[Path, typer.Argument(help="the procedure file")],
    by: ByOpt = "admin",
) -> None:
    """Store a procedure as a draft: no case opens on it until it is published."""
    from datetime import UTC, datetime

    from flows import casework
    from process_models.loading import load_procedure

    proc = load_procedure(path)
    with _session() as session:
        new = casework.upload_procedure(session, proc, by=by, now=datetime.now(UTC))
    state = "stored as a draft" if new else "already stored, unchanged"
    console().print(f"{proc.id} {proc.version}: {state}; publish it with `onething procedure "
                    f"publish {proc.id} {proc.version}`")


@procedure_app.command("publish")
def publish(
    procedure_id: Annotated[str, typer.Argument(help="procedure id, e.g. newborn")],
    version: Annotated[str, typer.Argument(help="the stored (or catalog) version to publish")],
    by: ByOpt = "admin",
) -> None:
    """Publish a version: new cases of the procedure open on it from now."""
    from datetime import UTC, datetime

    from flows import casework

    with _session() as session:
        proc = casework.publish_procedure(session, procedure_id, version, by=by,
                                          now=datetime.now(UTC))
    console().print(f"published {proc.name} ({proc.id}) version {proc.version}: new cases "
                    "open on it")


def _session():
    from api.cli.cases import case_session

    return case_session()
