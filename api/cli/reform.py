"""Commands on reforms: reform (apply a scenario; the catalog's published figures), advise."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli._app import app, console, print_json
from api.cli.procedures import JsonOpt, load_procedure_argument

LimitsOpt = Annotated[str, typer.Option("--limits", help="committed or statutory limits")]
GanttOpt = Annotated[
    Path | None,
    typer.Option("--gantt", help="write a before/after Gantt chart (.svg, .png or .html)"),
]


@app.command()
def reform(
    path: Annotated[str | None, typer.Argument(
        help="a procedure file, or a catalog id")] = None,
    scenario: Annotated[Path | None, typer.Argument(
        help="a scenario file (default for a catalog id: its catalog scenario)")] = None,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="write the reformed procedure here (YAML)")] = None,
    catalog: Annotated[bool, typer.Option(
        "--catalog", help="every catalog procedure by its scenario: published against computed")
    ] = False,
    gantt: GanttOpt = None,
    limits: LimitsOpt = "committed",
    json_: JsonOpt = False,
) -> None:
    """Apply a reform scenario; print what changed and the figures before and after,
    next to the published ones."""
    from process_models.errors import InvalidInput

    if catalog:
        if path is not None or scenario is not None or output is not None or gantt is not None:
            raise InvalidInput("--catalog takes no procedure, scenario, -o or --gantt",
                               path="--catalog")
        _catalog_table(limits, json_)
        return
    if path is None:
        raise InvalidInput("name a procedure file (or catalog id) and a scenario, or give "
                           "--catalog", path="PATH")
    from simulations.planning.scenario import catalog_scenario_path, load_scenario
    from simulations.planning.scenario import reform as apply

    proc = load_procedure_argument(path)
    plan = load_scenario(scenario if scenario is not None else catalog_scenario_path(proc.id))
    result = apply(proc, plan, limits=limits)
    if output is not None:
        from process_models.loading import save_procedure

        save_procedure(result.after, output)
    if gantt is not None:
        from simulations.planning.gantt import write_gantt

        write_gantt(gantt, result.before, result.after, limits=limits)
    if json_:
        print_json(result.as_dict())
        return
    _print_reform(result, plan, limits)
    out = console()
    if output is not None:
        out.print(f"wrote {output}")
    if gantt is not None:
        out.print(f"wrote {gantt}")


def _print_reform(result, plan, limits: str) -> None:
    from rich.table import Table

    from simulations.planning.metrics import FIGURES

    out = console()
    b = result.before
    out.print(f"[bold]{b.name}[/bold] ({b.key}) reformed by {plan.name or plan.file}")
    for change in result.changes:
        out.print(f"  {change}")
    published = {c.figure: c for c in result.checks}
    t = Table("figure", "published before", "before", "published after", "after", "change %",
              "within tolerance", title=f"on {limits} limits")
    for figure in FIGURES:
        ch = getattr(result.comparison, figure)
        check = published.get(figure)
        t.add_row(
            figure, _figure(check and check.published_before), f"{ch.before:g}",
            _figure(check and check.published_after), f"{ch.after:g}",
            "—" if ch.percent is None else f"{ch.percent:+.1f}%",
            _verdict(check),
        )
    out.print(t)
    out.print(f"critical path after: {' → '.join(result.comparison.after.critical_path)}")
    if result.checks and not result.reproduces:
        out.print("[yellow]the scenario does not reproduce every published figure[/yellow]")


def _figure(value) -> str:
    return "—" if value is None else f"{value:g}"


def _verdict(check) -> str:
    if check is None or check.within is None:
        return ""
    return f"yes (±{check.tolerance:.0%})" if check.within else f"NO (±{check.tolerance:.0%})"


def _catalog_table(limits: str, json_: bool) -> None:
    from process_models.catalog import catalog_ids
    from simulations.planning.scenario import catalog_reform

    results = [catalog_reform(pid, limits=limits) for pid in catalog_ids()]
    if json_:
        print_json([{"procedure_id": r.before.id, "name": r.before.name,
                     "published": [c.as_dict() for c in r.checks],
                     "elapsed_working_days": r.comparison.elapsed_working_days.as_dict(),
                     "reproduces_published": r.reproduces} for r in results])
        return
    from rich.table import Table

    t = Table("id", "procedure", "figure", "published", "computed", "within",
              title=f"onething catalog reforms: published against computed ({limits} limits)")
    for r in results:
        checks = {c.figure: c for c in r.checks}
        rows = [c.figure for c in r.checks if c.published_after is not None]
        if "elapsed_working_days" not in rows:
            rows.insert(0, "elapsed_working_days")
        for i, figure in enumerate(rows):
            c = checks.get(figure)
            computed = getattr(r.comparison, figure)
            t.add_row(
                r.before.id if i == 0 else "", r.before.name if i == 0 else "", figure,
                _arrow(c.published_before, c.published_after) if c else "—",
                _arrow(computed.before, computed.after), _verdict(c),
            )
    out = console()
    out.print(t)
    done = sum(r.reproduces for r in results)
    out.print(f"{done} of {len(results)} reforms reproduce their published after-figures "
              "within the tolerance each procedure declares")


def _arrow(before, after) -> str:
    return f"{_figure(before)} → {_figure(after)}"


@app.command()
def advise(
    path: Annotated[str, typer.Argument(help="a procedure file, or a catalog id")],
    runs: Annotated[int, typer.Option(
        "--runs", min=0, help="Monte-Carlo replications for P90 savings (0: none)")] = 0,
    seed: Annotated[int, typer.Option("--seed", help="random seed of the Monte-Carlo runs")] = 0,
    limits: LimitsOpt = "committed",
    json_: JsonOpt = False,
) -> None:
    """Rank the single levers that apply by working days saved, with what stops the others,
    and a greedy plan that stacks them."""
    from simulations.planning.advisor import advise as rank

    proc = load_procedure_argument(path)
    advice = rank(proc, limits=limits, runs=runs, seed=seed)
    if json_:
        print_json(advice.as_dict())
        return
    from rich.table import Table

    out = console()
    out.print(f"[bold]{proc.name}[/bold] ({proc.key}): {advice.elapsed_working_days:g} working "
              f"days on {limits} limits")
    p90 = advice.p90 is not None
    t = Table("#", "lever", "on", "saves (days)", *(["saves P90"] if p90 else []), "what it does",
              title="single levers, by working days saved")
    for i, o in enumerate(advice.options, 1):
        t.add_row(str(i), o.lever, o.subject, f"{o.saved_working_days:g}",
                  *([_figure(o.saved_p90)] if p90 else []), o.summary)
    out.print(t)
    if advice.blocked:
        b = Table("lever", "on", "stopped by", title="levers the law stops")
        for x in advice.blocked:
            b.add_row(x.lever, x.subject, x.reason)
        out.print(b)
    out.print(f"greedy plan: {advice.plan_elapsed_working_days:g} working days "
              f"({advice.elapsed_working_days - advice.plan_elapsed_working_days:g} saved)")
    for i, step in enumerate(advice.plan, 1):
        out.print(f"  {i}. {step.lever} {step.subject}: saves {step.saved_working_days:g} → "
                  f"{step.elapsed_after:g} days")
