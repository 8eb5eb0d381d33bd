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
def catalog(
    lang: LangOpt = "zh",
    json_: JsonOpt = False,
    national: Annotated[bool, typer.Option(
        "--national", help="the national 高效办成一件事 batches: each item, whether the "
        "catalog models it and whether a source confirms it")] = False,
) -> None:
    """Overview of the catalog: one line per procedure."""
    from process_models.catalog import load_catalog
    from process_models.summary import summarize

    w = words(lang)
    if national:
        _national(w, json_)
        return
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


def _national(w: dict[str, str], json_: bool) -> None:
    """The national batches as a table (or JSON): batch, item, the catalog procedure that
    models it (by name), verified or not and why."""
    from api.i18n import label
    from process_models.catalog import load_catalog_procedure
    from process_models.catalog.national_lists import load_national_lists

    lists = load_national_lists()
    names = {i.catalog: load_catalog_procedure(i.catalog).name
             for b in lists.batches for i in b.items if i.catalog}
    if json_:
        data = lists.model_dump(mode="json", by_alias=True)
        for batch, out in zip(lists.batches, data["batches"], strict=True):
            for item, row in zip(batch.items, out["items"], strict=True):
                row.update(catalog_name=names.get(item.catalog), reason=batch.reason_of(item))
        print_json(data)
        return
    from rich.table import Table

    t = Table(w["national.batch"], w["national.count"], w["national.item"], w["national.for"],
              w["national.in_catalog"], w["national.verified"],
              title=w["national.title"].format(total=_count(lists.total)))
    for batch in lists.batches:
        head = [f"{batch.name}（{batch.document}）" if batch.document else batch.name,
                _count(batch.count)]
        rows = [(i.name, label(w, "national.for", i.for_), names.get(i.catalog, "—"),
                 w["national.verified_by"].format(source=i.source) if i.verified
                 else w["national.unverified"] + (f" {i.reason}" if i.reason else ""))
                for i in batch.items]
        unnamed = batch.count.count - len(batch.items)
        if unnamed:
            rows.append((w["national.unnamed"].format(n=unnamed), "", "",
                         w["national.unverified"]))
        for k, row in enumerate(rows):
            t.add_row(*(head if k == 0 else ["", ""]), *row)
    out = console()
    out.print(t)
    for batch in lists.batches:
        if batch.reason:
            out.print(w["national.reason"].format(batch=batch.id, name=batch.name,
                                                  reason=batch.reason))
    items = [i for b in lists.batches for i in b.items]
    out.print(w["national.summary"].format(
        batches=len(lists.batches), counted=sum(b.count.count for b in lists.batches),
        listed=len(items), in_catalog=sum(i.catalog is not None for i in items),
        verified=sum(i.verified for i in items)))
    out.print(f"{UNSOURCED_MARK} {w['basis.legend'].removeprefix(UNSOURCED_MARK).strip()}")


def _count(count) -> str:
    """A count with its basis mark (none when sourced)."""
    return f"{count.count}{_mark(count.basis)}"


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
