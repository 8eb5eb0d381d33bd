"""Commands on service-centre capacity and BPMN: capacity, import-bpmn, export-bpmn."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli._app import LangOpt, app, console, print_json, words
from api.cli.procedures import JsonOpt, load_procedure_argument


def _graphs(paths: list[str], params: Path | None):
    """Process graphs from procedure files, folders, catalog ids or BPMN files.

    A BPMN file with ``--params`` (or its own QBP block) takes its task durations, pools
    and branch probabilities from the Prosimos parameters; the returned staff plan holds
    the pools' sizes.
    """
    from process_models.loading import load_procedure, procedure_paths
    from simulations.interchange.bpmn import bpmn_graph, load_bpmn

    graphs, staff = [], {}
    for item in paths:
        p = Path(item)
        if p.suffix.lower() == ".bpmn":
            model = load_bpmn(p)
            if params is not None or model.qbp is not None:
                from simulations.capacity.prosimos import load_prosimos

                scenario = load_prosimos(p, params)
                graphs.append(scenario.graph)
                staff.update(scenario.staff)
            else:
                graphs.append(bpmn_graph(model))
        elif p.is_dir():
            graphs.extend(load_procedure(f) for f in procedure_paths([p]))
        else:
            graphs.append(load_procedure_argument(item))
    return graphs, staff


def _staff_option(values: list[str], base: dict[str, int]):
    """``--staff FILE`` and ``--staff DEPT=+N``: (plan, changes)."""
    from simulations.capacity.plans import StaffPlan, load_staff, parse_staff_changes

    plan = StaffPlan(dict(base))
    changes: list[str] = []
    for v in values:
        if "=" in v and not Path(v).exists():
            changes.append(v)
        else:
            loaded = load_staff(v)
            plan = StaffPlan({**plan.staff, **loaded.staff}, loaded.meets_on,
                             loaded.default_staff)
    return plan, parse_staff_changes(changes)


@app.command()
def capacity(
    paths: Annotated[list[str], typer.Argument(help="procedure files, folders, catalog ids or "
                                                    ".bpmn files")],
    from_: Annotated[str, typer.Option("--from", help="first day of arrivals, YYYY-MM-DD")],
    to: Annotated[str, typer.Option("--to", help="last day of arrivals, YYYY-MM-DD")],
    arrivals: Annotated[Path | None, typer.Option(
        "--arrivals", help="arrival rates (YAML) or a replay list (CSV)")] = None,
    staff: Annotated[list[str] | None, typer.Option(
        "--staff", help="a staff YAML file, or DEPT=+N / DEPT=-N for a what-if")] = None,
    replications: Annotated[int, typer.Option("--replications", min=1)] = 1,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    warmup: Annotated[int, typer.Option("--warmup", min=0, help="days not counted")] = 0,
    params: Annotated[Path | None, typer.Option(
        "--params", help="Prosimos JSON for .bpmn inputs")] = None,
    log: Annotated[Path | None, typer.Option("--log", help="write the event log (CSV)")] = None,
    plots: Annotated[Path | None, typer.Option(
        "--plots", help="write queue and utilisation charts (PNG, SVG, HTML) here")] = None,
    lang: LangOpt = "zh",
    json_: JsonOpt = False,
) -> None:
    """Simulate cases queueing for staff: on-time share, queues, utilisation, what-ifs."""
    t = words(lang)
    from process_models.calendar import parse_date
    from simulations.capacity.plans import load_arrivals
    from simulations.capacity.service_centre import simulate_capacity, what_if

    start, end = parse_date(from_, path="--from"), parse_date(to, path="--to")
    graphs, pool_sizes = _graphs(paths, params)
    plan, changes = _staff_option(staff or [], pool_sizes)
    kw = {"start": start, "end": end, "arrivals": load_arrivals(arrivals) if arrivals else None,
              "replications": replications, "seed": seed, "warmup_days": warmup}
    result = simulate_capacity(graphs, staff=plan, log_path=log, **kw)
    rows = what_if(graphs, changes, staff=plan, **kw) if changes else None
    written = []
    if plots:
        from simulations.capacity.service_centre import capacity_plots

        written = [str(p) for p in capacity_plots(result, plots)]
    if json_:
        print_json({**result.as_dict(), "what_if": rows, "files": written})
        return
    _print(result, rows, written, t)


def _print(result, rows, written, w: dict[str, str]) -> None:
    from rich.table import Table

    from api.i18n import label

    out = console()
    ci = w["capacity.ci"] if result.replications > 1 else ""
    t = Table(w["case.procedure"], w["capacity.cases"], w["capacity.limit"],
              w["capacity.mean_working_days"], "P50", "P90", "P95",
              w["capacity.on_time_share"] + ci,
              title=w["capacity.title"].format(start=result.start, end=result.end,
                                               replications=result.replications,
                                               seed=result.seed))
    for p in result.procedures.values():
        on_time = "—" if p.limit_working_days is None else f"{p.on_time_share:.1%}" + (
            f" ± {p.on_time_share_ci:.1%}" if ci else "")
        t.add_row(p.procedure_id, str(p.cases),
                  "—" if p.limit_working_days is None else f"{p.limit_working_days:g}",
                  f"{p.mean_working_days:.1f}", f"{p.p50:g}", f"{p.p90:g}", f"{p.p95:g}",
                  on_time)
    out.print(t)
    d = Table(w["case.department"], w["capacity.staff"], w["capacity.utilisation"] + ci,
              w["capacity.mean_wait_hours"], w["capacity.max_wait"], w["capacity.max_queue"])
    for x in result.departments.values():
        d.add_row(f"{x.name} ({x.department_id})", str(x.staff),
                  f"{x.utilisation:.0%}" + (f" ± {x.utilisation_ci:.0%}" if ci else ""),
                  f"{x.mean_wait_hours:.1f}", f"{x.max_wait_hours:.1f}", str(x.max_queue))
    out.print(d)
    if rows:
        departments = {x.department_id: x.name for x in result.departments.values()}
        what_if = Table(w["capacity.what_if"], w["capacity.measure"], w["capacity.before"],
                        w["capacity.after"])
        for r in rows:
            fmt = "{:.0%}" if r["measure"] in ("on_time_share", "utilisation") else "{:g}" \
                if r["measure"] == "staff" else "{:.1f}"
            what_if.add_row(departments.get(r["id"], r["id"]) if r["kind"] == "department"
                            else r["id"], label(w, "capacity", r["measure"]),
                            fmt.format(r["before"]), fmt.format(r["after"]))
        out.print(what_if)
    out.print(w["capacity.events"].format(events=f"{result.task_events:,}"))
    for f in written:
        out.print(w["cli.wrote"].format(path=f))


@app.command("import-bpmn")
def import_bpmn(
    file: Annotated[Path, typer.Argument(help="a BPMN 2.0 file (bpmn.io, Camunda Modeler)")],
    output: Annotated[Path, typer.Option("-o", "--output", help="procedure YAML to write")],
    params: Annotated[Path | None, typer.Option(
        "--params", help="Prosimos JSON: departments from its resource pools")] = None,
    lang: LangOpt = "zh",
) -> None:
    """Turn a BPMN model into a procedure file (no exclusive gateways)."""
    from process_models.loading import save_procedure
    from simulations.interchange.bpmn import bpmn_procedure, load_bpmn

    words(lang)  # an unknown language is refused before the file is read

    proc = bpmn_procedure(load_bpmn(file))
    notes: list[str] = []
    if params is not None:
        from simulations.capacity.prosimos import load_prosimos, procedure_with_params

        proc, notes = procedure_with_params(proc, load_prosimos(file, params))
    save_procedure(proc, output)
    out = console()
    out.print(f"[green]wrote[/green] {output}: {proc.id} ({len(proc.steps)} steps, "
              f"{len(proc.departments)} departments)")
    for n in notes:
        out.print(f"[yellow]not kept:[/yellow] {n}")


@app.command("export-bpmn")
def export_bpmn(
    procedure: Annotated[str, typer.Argument(help="a procedure file, or a catalog id")],
    output: Annotated[Path, typer.Option("-o", "--output", help="BPMN file to write")],
) -> None:
    """Write a procedure as BPMN 2.0 (lanes, diagram, onething: extensions)."""
    from simulations.interchange.bpmn import save_bpmn

    proc = load_procedure_argument(procedure)
    save_bpmn(proc, output)
    console().print(f"[green]wrote[/green] {output}: {len(proc.steps)} tasks in "
                    f"{len(proc.departments)} lanes")
