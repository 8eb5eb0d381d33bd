"""Commands on reforms: reform (apply a scenario; the catalog's published figures), advise."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli._app import (
    LangOpt,
    app,
    console,
    named,
    names_of,
    on_limits,
    path_names,
    print_json,
    words,
)
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
    lang: LangOpt = "zh",
    json_: JsonOpt = False,
) -> None:
    """Apply a reform scenario; print what changed and the figures before and after,
    next to the published ones."""
    from process_models.errors import InvalidInput

    t = words(lang)
    if catalog:
        if path is not None or scenario is not None or output is not None or gantt is not None:
            raise InvalidInput("--catalog takes no procedure, scenario, -o or --gantt",
                               path="--catalog")
        _catalog_table(limits, json_, t)
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

        write_gantt(gantt, result.before, result.after, limits=limits, lang=lang)
    if json_:
        print_json(result.as_dict())
        return
    _print_reform(result, plan, limits, t, lang)
    out = console()
    if output is not None:
        out.print(t["cli.wrote"].format(path=output))
    if gantt is not None:
        out.print(t["cli.wrote"].format(path=gantt))


def _print_reform(result, plan, limits: str, t: dict[str, str], lang: str) -> None:
    from rich.markup import escape
    from rich.table import Table

    from api.i18n import label
    from api.names import change_sentence, note_in
    from simulations.planning.metrics import FIGURES

    out = console()
    b = result.before
    out.print(t["reform.heading"].format(name=f"[bold]{escape(b.name)}[/bold]", key=b.key,
                                         plan=escape(plan.name or str(plan.file))))
    if plan.note:
        out.print(escape(note_in(plan, lang)))
    names = names_of(result.before, result.after, language=lang)
    for c in result.changes:
        line = t["reform.change"].format(lever=label(t, "lever", c.lever),
                                         sentence=change_sentence(c, t, names))
        line += t["reform.note"].format(note=named(note_in(c, lang), names)) if c.note else ""
        line += t["reform.source"].format(source=c.source) if c.source else ""
        out.print(f"  {escape(line)}")
    published = {c.figure: c for c in result.checks}
    table = Table(t["planner.metric"], t["reform.published_before"], t["planner.before"],
                  t["reform.published_after"], t["planner.after"], t["reform.change_percent"],
                  t["reform.reproduced_by"], title=on_limits(t, limits))
    for figure in FIGURES:
        ch = getattr(result.comparison, figure)
        check = published.get(figure)
        table.add_row(
            t[f"metric.{figure}"], _figure(check and check.published_before)
            + _before_mark(check, t), f"{ch.before:g}", _published_after(check, t),
            f"{ch.after:g}", "—" if ch.percent is None else f"{ch.percent:+.1f}%",
            _verdict(check, t),
        )
    out.print(table)
    out.print(t["simulate.critical_after"].format(
        path=path_names(result.after, result.comparison.after.critical_path)))
    _print_calibration(result, t)
    _print_attribution(result, t)
    if result.checks and not result.reproduces:
        out.print(f"[yellow]{t['reform.not_reproduced']}[/yellow]")


def _figure(value) -> str:
    return "—" if value is None else f"{value:g}"


def _published_after(check, t: dict[str, str]) -> str:
    if check is None or check.published_after is None:
        return "—"
    bound = "≤" if check.kind == "ceiling" else ""
    inferred = t["reform.inferred"] if check.inferred else ""
    return f"{bound}{check.published_after:g}{inferred}"


def _before_mark(check, t: dict[str, str]) -> str:
    if check is None or check.before_within is None:
        return ""
    return "" if check.before_within else t["reform.before_off"]


def _verdict(check, t: dict[str, str]) -> str:
    if check is None or check.reproduced_by is None:
        return ""
    tolerance = f" ±{check.tolerance:.0%}" if check.kind == "value" else ""
    return t[f"reproduced.{check.reproduced_by}"] + tolerance


def _print_calibration(result, t: dict[str, str]) -> None:
    c = result.calibration
    console().print(t["reform.calibration"].format(
        chain=t["reform.serial_chain"] if c["serial_chain"] else "",
        practice=c["practice_dependencies"], unsourced=c["unsourced_limits"],
        limits=c["limits"]))


def _print_attribution(result, t: dict[str, str]) -> None:
    from rich.table import Table

    from api.i18n import label

    ch = result.comparison.elapsed_working_days
    table = Table(t["planner.lever"], t["reform.days_change"], t["reform.after_lever"],
                  title=t["reform.attribution"].format(saved=f"{ch.before - ch.after:g}",
                                                       before=f"{ch.before:g}"))
    elapsed = ch.before
    for lever, days in result.attribution.items():
        elapsed -= days
        table.add_row(label(t, "lever", lever), f"{0.0 - days:+g}", f"{elapsed:g}")
    console().print(table)


def _catalog_table(limits: str, json_: bool, w: dict[str, str]) -> None:
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

    t = Table(w["cli.id"], w["case.procedure"], w["planner.metric"], w["reform.published"],
              w["reform.computed"], w["reform.reproduced_by"],
              title=w["reform.catalog_title"].format(on=on_limits(w, limits)))
    for r in results:
        checks = {c.figure: c for c in r.checks}
        rows = [c.figure for c in r.checks if c.published_after is not None]
        if "elapsed_working_days" not in rows:
            rows.insert(0, "elapsed_working_days")
        for i, figure in enumerate(rows):
            c = checks.get(figure)
            computed = getattr(r.comparison, figure)
            t.add_row(
                r.before.id if i == 0 else "", r.before.name if i == 0 else "",
                w[f"metric.{figure}"],
                f"{_figure(c.published_before)} → {_published_after(c, w)}" if c else "—",
                _arrow(computed.before, computed.after), _verdict(c, w),
            )
    out = console()
    out.print(t)
    out.print(_headline(results, w))
    missed = _missed(results, w)
    if missed:
        out.print(f"[yellow]{missed}[/yellow]")
    serial = [r.before.name for r in results if r.calibration["serial_chain"]]
    out.print(w["reform.catalog_calibration"].format(
        serial=len(serial), names=w["cli.comma"].join(serial),
        limits=sum(r.calibration["limits"] for r in results),
        unsourced=sum(r.calibration["unsourced_limits"] for r in results)))


def _headline(results, w: dict[str, str]) -> str:
    """How many published after-figures the catalog reproduces, counting only those reached
    by mechanism or by sourced after-limits."""
    from collections import Counter

    checks = [c for r in results for c in r.checks if c.published_after is not None]
    by = Counter(c.reproduced_by for c in checks if not c.inferred)
    inferred = sum(c.inferred for c in checks)
    total = sum(by.values())
    before = [c for r in results for c in r.checks if c.before_within is not None]
    return w["reform.headline"].format(
        total=total, reproduced=by["mechanism"] + by["sourced_limit"],
        mechanism=by["mechanism"], sourced=by["sourced_limit"], definition=by["definition"],
        none=by["none"], inferred=inferred, before=len(before),
        within=sum(c.before_within for c in before))


def _missed(results, w: dict[str, str]) -> str:
    """The published after-figures (not inferred) that the scenarios do not reproduce, each
    named with its procedure, the published and the computed value; empty when none."""
    items = [w["reform.missed_item"].format(
        name=r.before.name, metric=w[f"metric.{c.figure}"], published=_published_after(c, w),
        computed=f"{c.computed_after:g}")
        for r in results for c in r.checks
        if c.published_after is not None and not c.inferred and c.reproduced_by == "none"]
    return w["reform.missed"].format(items=w["cli.separator"].join(items)) if items else ""


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
