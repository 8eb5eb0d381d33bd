"""Commands on timing: simulate (critical path, dates, Monte-Carlo), compare, portfolio.

``onething simulate`` must answer in well under half a second: it imports the simulator
(numpy) and the procedure loader, never networkx, Prefect or the web stack.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli._app import LangOpt, app, console, on_limits, path_names, print_json, words
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
    lang: LangOpt = "zh",
    json_: JsonOpt = False,
    auto: Annotated[list[str], typer.Option(
        "--auto", help="with --runs: STEP=SHARE, the share of cases a 秒批 rule decides "
        "(zero days for them), typed by hand: basis estimate")] = [],  # noqa: B006
    auto_rule: Annotated[list[Path], typer.Option(
        "--auto-rule", help="with --runs: a 秒批 rule file; its step takes zero days in the "
        "share of past cases its dry-run over the case history decides: basis fitted")
    ] = [],  # noqa: B006
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
    t = words(lang)
    proc = load_procedure_argument(path)
    start_date = due = None
    if start is not None or finish_by is not None:
        from process_models.calendar import parse_date

        start_date = None if start is None else parse_date(start, path="--start")
        due = None if finish_by is None else parse_date(finish_by, path="--finish-by")
    s = schedule(proc, limits=limits, start=start_date)
    back = None if due is None else backward_schedule(proc, due, limits=limits)
    m = measure(proc, limits=limits)
    shares = _auto_shares(auto) | _fitted_shares(proc, auto_rule)
    risk = _risk(proc, runs, seed, show_progress=not json_,
                 auto_shares={k: v["share"] for k, v in shares.items()}) if runs else None
    if gantt is not None:
        from simulations.planning.gantt import write_gantt

        write_gantt(gantt, proc, limits=limits, lang=lang)

    data = {"procedure_id": proc.id, "limits": limits, **m.as_dict(),
            "critical_paths": s.critical_paths,
            "schedule": s.step_times(list(m.slack))}
    if shares:
        data["auto_shares"] = shares   # 秒批: the share of cases each step's rule decides
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
    _print_schedule(proc, s, m, risk, t)
    for step_id, share in shares.items() if risk is not None else ():
        console().print(t[f"simulate.auto_{share['basis']}"].format(
            step=proc.step(step_id).name, **{**share, "share": f"{share['share']:.1%}"}))
    if back is not None:
        _print_backward(proc, back, t)


def _auto_shares(items: list[str]) -> dict[str, dict]:
    """``--auto STEP=SHARE`` options as step id → the share typed (basis estimate)."""
    from process_models.errors import InvalidInput

    shares = {}
    for item in items:
        step, _, share = item.partition("=")
        try:
            shares[step] = {"share": float(share), "basis": "estimate"}
        except ValueError:
            raise InvalidInput(f"'{item[:60]}' is not STEP=SHARE; write e.g. vaccination=0.7",
                               path="--auto") from None
    return shares


def _fitted_shares(proc, files: list[Path]) -> dict[str, dict]:
    """``--auto-rule FILE`` options as step id → the share of past cases of the settings'
    case history the rule's dry-run decides (basis fitted, with its cases and period)."""
    if not files:
        return {}
    from api.cli.cases import case_session
    from flows.casework.auto_decisions import dry_run
    from process_models.auto_rules import load_auto_rule
    from process_models.errors import InvalidInput

    shares = {}
    with case_session() as session:
        for path in files:
            rule = load_auto_rule(path)
            if rule.procedure != proc.id or rule.step not in {s.id for s in proc.steps}:
                raise InvalidInput(f"rule {rule.id} decides {rule.procedure}.{rule.step}, not a "
                                   f"step of {proc.id} {proc.version}", file=str(path))
            found = dry_run(session, rule)
            if found.share is None:
                raise InvalidInput(
                    f"no past case of {rule.procedure} had step {rule.step} decided by staff, "
                    f"so the rule's share cannot be fitted; give --auto {rule.step}=SHARE "
                    "(an estimate) instead", file=str(path))
            shares[rule.step] = {
                "share": found.share, "basis": "fitted", "rule": f"{rule.id}@{rule.version}",
                "cases": found.cases, "decided": found.decided,
                "from": str(found.first), "to": str(found.last)}
    return shares


def _risk(proc, runs: int, seed: int, *, show_progress: bool,
          auto_shares: dict[str, float] | None = None):
    from simulations.planning.montecarlo import simulate as replicate

    if not show_progress or runs < PROGRESS_FROM_RUNS:
        return replicate(proc, runs=runs, seed=seed, auto_shares=auto_shares)
    from rich.progress import Progress

    with Progress(console=console(stderr=True), transient=True) as bar:
        task = bar.add_task("replicating", total=runs)
        return replicate(proc, runs=runs, seed=seed, auto_shares=auto_shares,
                         progress=lambda done: bar.update(task, completed=done))


def _figures_line(t: dict[str, str], m) -> str:
    """Every figure of ``m`` after its label, in the order of :data:`FIGURES`."""
    from simulations.planning.metrics import FIGURES

    return t["cli.separator"].join(f"{t[f'metric.{f}']} {getattr(m, f):g}" for f in FIGURES)


def _print_schedule(proc, s, m, risk, t: dict[str, str]) -> None:
    from rich.table import Table

    from simulations.planning.cpm import WORKING_DAYS_PER_CALENDAR_DAY

    out = console()
    out.print(t["simulate.heading"].format(name=f"[bold]{proc.name}[/bold]", key=proc.key,
                                           on=on_limits(t, s.limits)))
    critical = set(s.critical_steps)
    names = {st.id: st.name for st in proc.steps}
    columns = [t[k] for k in ("case.step", "simulate.earliest_start",
                              "simulate.earliest_finish", "simulate.latest_start",
                              "simulate.latest_finish", "simulate.total_slack",
                              "simulate.free_slack")]
    table = Table(*columns, *([t["simulate.dates"]] if s.dates else []))
    for sid in m.slack:
        mark = "[bold red]*[/bold red]" if sid in critical else " "
        row = [f"{mark}{names[sid]}", *(f"{d[sid]:g}" for d in (
            s.earliest_start, s.earliest_finish, s.latest_start, s.latest_finish,
            s.total_slack, s.free_slack))]
        if s.dates:
            a, b = s.dates[sid]
            row.append(f"{a} → {b}")
        table.add_row(*row)
    out.print(table)
    out.print(_figures_line(t, m))
    for i, path in enumerate(s.critical_paths, 1):
        out.print(t["simulate.critical_path"].format(number=i, path=path_names(proc, path)))
    if s.dates:
        out.print(t["simulate.accepted_done"].format(
            accepted=min(a for a, _ in s.dates.values()),
            done=max(b for _, b in s.dates.values())))
    if s.calendar_days_converted:
        out.print(t["simulate.calendar_note"].format(
            steps=t["cli.comma"].join(names[x] for x in s.calendar_days_converted),
            rate=f"{WORKING_DAYS_PER_CALENDAR_DAY:.3f}"))
    if risk is not None:
        out.print(t["simulate.risk"].format(
            runs=risk.runs, seed=risk.seed, p50=f"{risk.p50:.1f}", p90=f"{risk.p90:.1f}",
            p95=f"{risk.p95:.1f}", share=f"{risk.on_time_probability:.1%}",
            limit=f"{risk.limit_working_days:g}"))
        ranked = sorted(risk.criticality.items(), key=lambda kv: -kv[1])
        out.print(t["simulate.criticality"].format(
            steps=t["cli.comma"].join(f"{names[k]} {v:.0%}" for k, v in ranked if v > 0)))
        if risk.fallback_steps:
            out.print(t["simulate.fallback"].format(
                steps=t["cli.comma"].join(names[x] for x in risk.fallback_steps)))


def _print_backward(proc, back, t: dict[str, str]) -> None:
    from rich.table import Table

    out = console()
    out.print(t["backward.heading"].format(finish_by=back.finish_by, accept_by=back.accept_by))
    names = {st.id: st.name for st in proc.steps}
    table = Table(t["case.step"], t["simulate.latest_start"], t["simulate.latest_finish"])
    for sid, (a, b) in sorted(back.dates.items(), key=lambda kv: kv[1]):
        table.add_row(names[sid], str(a), str(b))
    out.print(table)


@app.command()
def compare(
    before: Annotated[str, typer.Argument(help="the procedure before the reform (file or id)")],
    after: Annotated[str, typer.Argument(help="the procedure after the reform (file or id)")],
    limits: LimitsOpt = "committed",
    runs: RunsOpt = 0,
    seed: SeedOpt = 0,
    lang: LangOpt = "zh",
    json_: JsonOpt = False,
) -> None:
    """Before/after figures and their compression; with --runs, the paired risk too."""
    from simulations.planning.metrics import FIGURES
    from simulations.planning.metrics import compare as compare_metrics

    w = words(lang)
    b, a = load_procedure_argument(before), load_procedure_argument(after)
    c = compare_metrics(b, a, limits=limits)
    risk = None
    if runs:
        from simulations.planning.montecarlo import compare_risk

        risk = compare_risk(b, a, runs=runs, seed=seed)
    if json_:
        print_json({**c.as_dict(), **({"risk": risk.as_dict()} if risk else {})})
        return
    out = console()
    out.print(f"[bold]{b.name}[/bold] ({b.key} → {a.key}) {on_limits(w, limits)}")
    t = _figures_table(w)
    for f in FIGURES:
        ch = getattr(c, f)
        t.add_row(w[f"metric.{f}"], f"{ch.before:g}", f"{ch.after:g}", f"{ch.absolute:+g}",
                  "—" if ch.percent is None else f"{ch.percent:+.1f}%")
    out.print(t)
    out.print(w["simulate.critical_before"].format(path=path_names(b, c.before.critical_path)))
    out.print(w["simulate.critical_after"].format(path=path_names(a, c.after.critical_path)))
    if risk is not None:
        out.print(w["simulate.paired_risk"].format(
            runs=runs, seed=seed, mean=f"{risk.saving_mean:.1f}", p50=f"{risk.saving_p50:.1f}",
            p90=f"{risk.saving_p90:.1f}", share=f"{risk.faster_probability:.1%}"))


def _figures_table(w: dict[str, str], *, after: bool = True, title: str | None = None):
    """A table of figures: before, and after with the change when ``after``."""
    from rich.table import Table

    return Table(w["planner.metric"], w["planner.before"],
                 *([w["planner.after"], w["planner.change"], "%"] if after else []), title=title)


@app.command()
def portfolio(
    folder: Annotated[Path, typer.Argument(help="a folder of procedure files")],
    limits: LimitsOpt = "committed",
    lang: LangOpt = "zh",
    json_: JsonOpt = False,
) -> None:
    """Totals over a folder of procedures; a procedure and its ``form: after`` version
    (same id) pair up, and procedures without one count unchanged."""
    from process_models.loading import load_procedures
    from process_models.provenance import sourced_line
    from simulations.planning.metrics import FIGURES
    from simulations.planning.metrics import portfolio as totals

    w = words(lang)
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
    out = console()
    table = _figures_table(w, after=t.after is not None,
                           title=w["portfolio.title"].format(folder=folder,
                                                             on=on_limits(w, limits)))
    for f in FIGURES:
        row = [w[f"metric.{f}"], f"{t.before[f]:g}"]
        if t.change:
            ch = t.change[f]
            row += [f"{ch.after:g}", f"{ch.absolute:+g}",
                    "—" if ch.percent is None else f"{ch.percent:+.1f}%"]
        table.add_row(*row)
    out.print(table)
    out.print(t.headline(lang))
    if unchanged:
        names = {p.id: p.name for p in befores}
        out.print(w["portfolio.unchanged"].format(names=w["cli.comma"].join(names[i] for i in unchanged)))
    labels = ("改革前：", "改革后：") if lang == "zh" else ("before: ", "after: ")
    for label, counts in zip(labels, (t.distinct_before, t.distinct_after), strict=True):
        if counts is not None:
            out.print((label if afters else "") + w["portfolio.distinct"].format(**counts))
    before, after = ("改革前", "；改革后") if lang == "zh" else ("before: ", "; after: ")
    line = before + sourced_line((b for b, _ in pairs), language=lang)
    out.print(line + (after + sourced_line((a for _, a in pairs), language=lang) if afters else ""))
