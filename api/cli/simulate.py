"""Commands on timing: simulate (critical path, dates, Monte-Carlo), compare, portfolio.

``onething simulate`` must answer in well under half a second: it imports the simulator
(numpy) and the procedure loader, never networkx, Prefect or the web stack.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli._app import app, console, path_names, print_json
from api.cli.procedures import JsonOpt, load_procedure_argument

ProcArg = Annotated[str, typer.Argument(help="a procedure file, or a catalog id")]
LimitsOpt = Annotated[str, typer.Option("--limits", help="committed or statutory limits")]
RunsOpt = Annotated[int, typer.Option("--runs", min=0, help="Monte-Carlo replications (0: none)")]
SeedOpt = Annotated[int, typer.Option("--seed", help="random seed of the Monte-Carlo run")]

#: Runs from which the CLI shows a progress bar.
PROGRESS_FROM_RUNS = 1_000_000


@app.command()
def simulate(
    path: ProcArg,
    start: Annotated[str | None, typer.Option("--start", help="acceptance date, YYYY-MM-DD")] = None,
    finish_by: Annotated[str | None, typer.Option(
        "--finish-by", help="倒排: the date it must be done by, YYYY-MM-DD")] = None,
    runs: RunsOpt = 0,
    seed: SeedOpt = 0,
    limits: LimitsOpt = "committed",
    gantt: Annotated[Path | None, typer.Option(
        "--gantt", help="write a Gantt chart (.svg, .png or .html)")] = None,
    json_: JsonOpt = False,
) -> None:
    """Critical path, slack, dates and figures of a procedure; with --finish-by, the
    latest dates (倒排审批日期); with --runs, its risk."""
    from simulations.planning.cpm import (
        WORKING_DAYS_PER_CALENDAR_DAY,
        backward_schedule,
        check_limits,
        schedule,
    )
    from simulations.planning.metrics import measure

    check_limits(limits)
    proc = load_procedure_argument(path)
    start_date = due = None
    if start is not None or finish_by is not None:
        from process_models.calendar import parse_date

        start_date = None if start is None else parse_date(start, path="--start")
        due = None if finish_by is None else parse_date(finish_by, path="--finish-by")
    s = schedule(proc, limits=limits, start=start_date)
    back = None if due is None else backward_schedule(proc, due, limits=limits)
    m = measure(proc, limits=limits)
    risk = _risk(proc, runs, seed, show_progress=not json_) if runs else None
    if gantt is not None:
        from simulations.planning.gantt import write_gantt

        write_gantt(gantt, proc, limits=limits)

    data = {"procedure_id": proc.id, "limits": limits, **m.as_dict(),
            "critical_paths": s.critical_paths,
            "schedule": s.step_times(list(m.slack))}
    if s.dates is not None:
        data["start"] = start_date
        data["dates"] = {sid: {"start": a, "finish": b} for sid, (a, b) in s.dates.items()}
    if back is not None:
        data["finish_by"], data["accept_by"] = back.finish_by, back.accept_by
        for sid, (a, b) in back.dates.items():
            data["schedule"][sid].update(latest_start_date=a, latest_finish_date=b)
    if s.calendar_days_converted:
        data["calendar_days_converted"] = s.calendar_days_converted
        data["working_days_per_calendar_day"] = WORKING_DAYS_PER_CALENDAR_DAY
    if risk is not None:
        r = risk.as_dict()
        data.update({k: r.pop(k) for k in ("p50", "p90", "p95", "on_time_probability",
                                           "criticality")})
        data["monte_carlo"] = r
    if json_:
        print_json(data)
        return
    _print_schedule(proc, s, m, risk)
    if back is not None:
        _print_backward(proc, back)


def _risk(proc, runs: int, seed: int, *, show_progress: bool):
    from simulations.planning.montecarlo import simulate as replicate

    if not show_progress or runs < PROGRESS_FROM_RUNS:
        return replicate(proc, runs=runs, seed=seed)
    from rich.progress import Progress

    with Progress(console=console(stderr=True), transient=True) as bar:
        task = bar.add_task("replicating", total=runs)
        return replicate(proc, runs=runs, seed=seed,
                         progress=lambda done: bar.update(task, completed=done))


def _print_schedule(proc, s, m, risk) -> None:
    from rich.table import Table

    from simulations.planning.cpm import WORKING_DAYS_PER_CALENDAR_DAY

    out = console()
    out.print(f"[bold]{proc.name}[/bold] ({proc.key}) on {s.limits} limits, "
              "in working days after acceptance")
    critical = set(s.critical_steps)
    names = {st.id: st.name for st in proc.steps}
    columns = ["step", "start", "finish", "latest start", "latest finish",
               "total slack", "free slack"]
    t = Table(*columns, *(["dates"] if s.dates else []))
    for sid in m.slack:
        mark = "[bold red]*[/bold red]" if sid in critical else " "
        row = [f"{mark}{names[sid]}", *(f"{d[sid]:g}" for d in (
            s.earliest_start, s.earliest_finish, s.latest_start, s.latest_finish,
            s.total_slack, s.free_slack))]
        if s.dates:
            a, b = s.dates[sid]
            row.append(f"{a} → {b}")
        t.add_row(*row)
    out.print(t)
    out.print(f"elapsed {m.elapsed_working_days:g} working days (one after another "
              f"{m.sequential_working_days:g}; summed limits {m.summed_limit_days:g} days); "
              f"{m.steps} steps, {m.links} links, {m.materials} materials, {m.trips} trips, "
              f"{m.departments} departments, {m.windows} windows")
    for i, path in enumerate(s.critical_paths, 1):
        out.print(f"critical path {i}: {path_names(proc, path)}")
    if s.dates:
        finish = max(b for _, b in s.dates.values())
        out.print(f"accepted {min(a for a, _ in s.dates.values())}, done {finish}")
    if s.calendar_days_converted:
        out.print(f"note: calendar days of {', '.join(s.calendar_days_converted)} converted at "
                  f"{WORKING_DAYS_PER_CALENDAR_DAY:.3f} working days per calendar day; "
                  "give --start for exact dates")
    if risk is not None:
        out.print(f"Monte-Carlo, {risk.runs} runs, seed {risk.seed}: P50 {risk.p50:.1f}, "
                  f"P90 {risk.p90:.1f}, P95 {risk.p95:.1f} working days; "
                  f"{risk.on_time_probability:.1%} within {risk.limit_working_days:g} "
                  "(committed elapsed time)")
        ranked = sorted(risk.criticality.items(), key=lambda kv: -kv[1])
        out.print("criticality: " + ", ".join(f"{names[k]} {v:.0%}" for k, v in ranked if v > 0))
        if risk.fallback_steps:
            out.print("note: no duration distribution for "
                      f"{', '.join(names[x] for x in risk.fallback_steps)}; "
                      "their committed limit was used every run")


def _print_backward(proc, back) -> None:
    from rich.table import Table

    out = console()
    out.print(f"倒排审批日期：{back.finish_by} 前办结，最晚 {back.accept_by} 受理")
    names = {st.id: st.name for st in proc.steps}
    t = Table("事项", "最晚开始", "最晚办结")
    for sid, (a, b) in sorted(back.dates.items(), key=lambda kv: kv[1]):
        t.add_row(names[sid], str(a), str(b))
    out.print(t)


@app.command()
def compare(
    before: Annotated[str, typer.Argument(help="the procedure before the reform (file or id)")],
    after: Annotated[str, typer.Argument(help="the procedure after the reform (file or id)")],
    limits: LimitsOpt = "committed",
    runs: RunsOpt = 0,
    seed: SeedOpt = 0,
    json_: JsonOpt = False,
) -> None:
    """Before/after figures and their compression; with --runs, the paired risk too."""
    from simulations.planning.metrics import FIGURES
    from simulations.planning.metrics import compare as compare_metrics

    b, a = load_procedure_argument(before), load_procedure_argument(after)
    c = compare_metrics(b, a, limits=limits)
    risk = None
    if runs:
        from simulations.planning.montecarlo import compare_risk

        risk = compare_risk(b, a, runs=runs, seed=seed)
    if json_:
        print_json({**c.as_dict(), **({"risk": risk.as_dict()} if risk else {})})
        return
    from rich.table import Table

    out = console()
    out.print(f"[bold]{b.name}[/bold] ({b.key} → {a.key}) on {limits} limits")
    t = Table("figure", "before", "after", "change", "%")
    for f in FIGURES:
        ch = getattr(c, f)
        t.add_row(f, f"{ch.before:g}", f"{ch.after:g}", f"{ch.absolute:+g}",
                  "—" if ch.percent is None else f"{ch.percent:+.1f}%")
    out.print(t)
    out.print(f"critical path before: {path_names(b, c.before.critical_path)}")
    out.print(f"critical path after:  {path_names(a, c.after.critical_path)}")
    if risk is not None:
        out.print(f"Monte-Carlo, {runs} paired runs (common random numbers), seed {seed}: "
                  f"saving mean {risk.saving_mean:.1f}, P50 {risk.saving_p50:.1f}, "
                  f"P90 {risk.saving_p90:.1f} working days; after faster in "
                  f"{risk.faster_probability:.1%} of runs")


@app.command()
def portfolio(
    folder: Annotated[Path, typer.Argument(help="a folder of procedure files")],
    limits: LimitsOpt = "committed",
    json_: JsonOpt = False,
) -> None:
    """Totals over a folder of procedures; a procedure and its ``form: after`` version
    (same id) pair up, and procedures without one count unchanged."""
    from process_models.loading import load_procedures
    from process_models.provenance import sourced_line
    from simulations.planning.metrics import FIGURES
    from simulations.planning.metrics import portfolio as totals

    procs = load_procedures([folder])
    afters = {p.id: p for p in procs if p.form == "after"}
    before_ids = {p.id for p in procs if p.form != "after"}
    befores = [p for p in procs if p.form != "after" or p.id not in before_ids]
    if afters:
        items = [(p, afters.get(p.id, p)) for p in befores]
        unchanged = [p.id for p in befores if p.id not in afters]
    else:
        items, unchanged = befores, []
    t = totals(items, limits=limits)
    pairs = [i if isinstance(i, tuple) else (i, None) for i in items]
    sourced = {"before": sourced_line(b for b, _ in pairs),
               "after": sourced_line(a for _, a in pairs) if afters else None}
    if json_:
        print_json({**t.as_dict(), "unchanged": unchanged, "sourced": sourced})
        return
    from rich.table import Table

    out = console()
    table = Table("figure", "before", *(["after", "change", "%"] if t.after else []),
                  title=f"{folder} on {limits} limits")
    for f in FIGURES:
        row = [f, f"{t.before[f]:g}"]
        if t.change:
            ch = t.change[f]
            row += [f"{ch.after:g}", f"{ch.absolute:+g}",
                    "—" if ch.percent is None else f"{ch.percent:+.1f}%"]
        table.add_row(*row)
    out.print(table)
    out.print(str(t))
    if unchanged:
        out.print(f"no after form, counted unchanged: {', '.join(unchanged)}")
    out.print("改革前" + sourced["before"] + (f"；改革后{sourced['after']}" if afters else ""))
