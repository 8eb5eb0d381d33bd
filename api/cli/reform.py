"""Commands on reforms: reform (apply a scenario; the catalog's published figures), advise."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli._app import LangOpt, app, console, path_names, print_json, words
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
              "reproduced by", title=f"on {limits} limits")
    for figure in FIGURES:
        ch = getattr(result.comparison, figure)
        check = published.get(figure)
        t.add_row(
            figure, _figure(check and check.published_before) + _before_mark(check),
            f"{ch.before:g}", _published_after(check), f"{ch.after:g}",
            "—" if ch.percent is None else f"{ch.percent:+.1f}%", _verdict(check),
        )
    out.print(t)
    out.print(f"critical path after: "
              f"{path_names(result.after, result.comparison.after.critical_path)}")
    _print_calibration(result)
    _print_attribution(result)
    if result.checks and not result.reproduces:
        out.print("[yellow]the scenario does not reproduce every published figure[/yellow]")


#: How a planner reads each way a published figure is reproduced.
REPRODUCED_BY_LABELS = {"mechanism": "机制 (mechanism)",
                        "sourced_limit": "有来源的承诺时限 (sourced limit)",
                        "definition": "按定义 (definition)", "none": "未复现 (NO)"}


def _figure(value) -> str:
    return "—" if value is None else f"{value:g}"


def _published_after(check) -> str:
    if check is None or check.published_after is None:
        return "—"
    bound = "≤" if check.kind == "ceiling" else ""
    inferred = " (推算, inferred)" if check.inferred else ""
    return f"{bound}{check.published_after:g}{inferred}"


def _before_mark(check) -> str:
    if check is None or check.before_within is None:
        return ""
    return "" if check.before_within else " (NO)"


def _verdict(check) -> str:
    if check is None or check.reproduced_by is None:
        return ""
    tolerance = f" ±{check.tolerance:.0%}" if check.kind == "value" else ""
    return REPRODUCED_BY_LABELS[check.reproduced_by] + tolerance


def _print_calibration(result) -> None:
    c = result.calibration
    chain = "惯例依赖把每一步串成一条链 (serial practice chain), " if c["serial_chain"] else ""
    console().print(f"改革前模型的校准: {chain}{c['practice_dependencies']} 个惯例依赖; "
                    f"{c['unsourced_limits']} / {c['limits']} 个承诺时限无来源 (estimates)")


def _print_attribution(result) -> None:
    from rich.table import Table

    from simulations.planning.scenario import LEVER_LABELS

    ch = result.comparison.elapsed_working_days
    t = Table("举措 (lever)", "工作日变化", "之后", title=(
        f"压缩的 {ch.before - ch.after:g} 个工作日来自 (依次施加各举措, {ch.before:g} 起)"))
    elapsed = ch.before
    for lever, days in result.attribution.items():
        elapsed -= days
        t.add_row(f"{LEVER_LABELS[lever]} ({lever})", f"{0.0 - days:+g}", f"{elapsed:g}")
    console().print(t)


def _catalog_table(limits: str, json_: bool) -> None:
    from process_models.catalog import catalog_ids
    from simulations.planning.scenario import catalog_reform

    results = [catalog_reform(pid, limits=limits) for pid in catalog_ids()]
    if json_:
        print_json([{"procedure_id": r.before.id, "name": r.before.name,
                     "published": [c.as_dict() for c in r.checks],
                     "elapsed_working_days": r.comparison.elapsed_working_days.as_dict(),
                     "attribution": r.attribution, "calibration": r.calibration,
                     "reproduces_published": r.reproduces} for r in results])
        return
    from rich.table import Table

    t = Table("id", "procedure", "figure", "published", "computed", "reproduced by",
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
                f"{_figure(c.published_before)} → {_published_after(c)}" if c else "—",
                _arrow(computed.before, computed.after), _verdict(c),
            )
    out = console()
    out.print(t)
    out.print(_headline(results))
    serial = [r.before.id for r in results if r.calibration["serial_chain"]]
    unsourced = sum(r.calibration["unsourced_limits"] for r in results)
    out.print(f"改革前模型的校准: {len(serial)} 个按惯例依赖串成一条链 ({', '.join(serial)}); "
              f"承诺时限 {sum(r.calibration['limits'] for r in results)} 个中 {unsourced} 个"
              "无来源 (estimates)")


def _headline(results) -> str:
    """How many published after-figures the catalog reproduces, counting only those reached
    by mechanism or by sourced after-limits."""
    from collections import Counter

    checks = [c for r in results for c in r.checks if c.published_after is not None]
    by = Counter(c.reproduced_by for c in checks if not c.inferred)
    inferred = sum(c.inferred for c in checks)
    total = sum(by.values())
    before = [c for r in results for c in r.checks if c.before_within is not None]
    return (f"公布的改革后数字 {total} 项，复现 {by['mechanism'] + by['sourced_limit']} 项："
            f"机制 {by['mechanism']} 项，有来源的承诺时限 {by['sourced_limit']} 项；"
            f"另有 {by['definition']} 项按举措定义成立、{by['none']} 项未复现，均不计；"
            f"推算的数字 {inferred} 项不计。改革前数字 {len(before)} 项，模型符合 "
            f"{sum(c.before_within for c in before)} 项 (按公布的总数校准)。")


def _arrow(before, after) -> str:
    return f"{_figure(before)} → {_figure(after)}"


@app.command()
def advise(
    path: Annotated[str, typer.Argument(help="a procedure file, or a catalog id")],
    runs: Annotated[int, typer.Option(
        "--runs", min=0, help="Monte-Carlo replications for P90 savings (0: none)")] = 0,
    seed: Annotated[int, typer.Option("--seed", help="random seed of the Monte-Carlo runs")] = 0,
    limits: LimitsOpt = "committed",
    lang: LangOpt = "zh",
    json_: JsonOpt = False,
) -> None:
    """Rank the single mechanism levers by working days saved, with the ones closed on the
    critical path and why, and a greedy plan that stacks them."""
    from simulations.planning.advisor import advise as rank

    t = words(lang)
    proc = load_procedure_argument(path)
    advice = rank(proc, limits=limits, runs=runs, seed=seed)
    if json_:
        print_json(advice.as_dict())
        return
    from rich.table import Table

    from api.i18n import label

    out = console()
    out.print(t["advice.heading"].format(name=f"[bold]{proc.name}[/bold]",
                                         days=f"{advice.elapsed_working_days:g}",
                                         limits=t[f"limits.{limits}"]))
    p90 = advice.p90 is not None
    order = t["advice.from_modelled_order"]
    table = Table(t["advice.number"], t["planner.lever"], t["planner.subject"],
                  t["planner.saved"], *([t["advice.saves_p90"]] if p90 else []),
                  t["planner.saved_trips"], t["planner.from_order"], title=t["advice.options"])
    for i, o in enumerate(advice.options, 1):
        table.add_row(str(i), label(t, "lever", o.lever), o.subject_name,
                      f"{o.saved_working_days:g}", *([_figure(o.saved_p90)] if p90 else []),
                      str(o.saved_trips), order if o.from_modelled_order else "")
    out.print(table)
    if advice.blocked:
        b = Table(t["planner.lever"], t["planner.subject"], t["planner.reason"],
                  title=t["planner.blocked"])
        for x in advice.blocked:
            b.add_row(label(t, "lever", x.lever), x.subject_name,
                      t[f"blocked.{x.reason}"].format(source=x.source))
        out.print(b)
    out.print(t["advice.plan"].format(
        days=f"{advice.plan_elapsed_working_days:g}",
        saved=f"{advice.elapsed_working_days - advice.plan_elapsed_working_days:g}"))
    for i, step in enumerate(advice.plan, 1):
        line = t["advice.plan_step"].format(
            lever=label(t, "lever", step.lever), subject=step.subject_name,
            saved=f"{step.saved_working_days:g}", after=f"{step.elapsed_after:g}")
        out.print(f"  {i}. {line}" + (f" ({order})" if step.from_modelled_order else ""))
