"""Learning from another system's case log: ``discover`` and ``fidelity``, and the log
options ``audit actual --log`` shares with them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli._app import LangOpt, app, console, print_json, words

CaseOpt = Annotated[str | None, typer.Option(
    "--case", help="case id column (default case:concept:name or an alias)")]
ActivityOpt = Annotated[str | None, typer.Option(
    "--activity", help="activity column (default concept:name or an alias)")]
TimestampOpt = Annotated[str | None, typer.Option(
    "--timestamp", help="event time column (default time:timestamp or an alias)")]
StartTimestampOpt = Annotated[str | None, typer.Option(
    "--start-timestamp", help="column with each activity's start time, if the log has one")]
ResourceOpt = Annotated[str | None, typer.Option(
    "--resource", help="resource column (default org:resource or an alias)")]
GroupOpt = Annotated[str | None, typer.Option(
    "--group", help="department column (default org:group or an alias)")]
CaseStartOpt = Annotated[str | None, typer.Option(
    "--case-start", help="case start column (default: the case's first event)")]
CaseEndOpt = Annotated[str | None, typer.Option(
    "--case-end", help="case end column; an empty value is a case still open "
                       "(default: the case's last event)")]
CalendarOpt = Annotated[str, typer.Option(
    "--calendar", help="working days of this country: CN (default, with 调休) or an "
                       "ISO 3166 code such as NL, DE")]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def log_columns(**names: str | None) -> Any:
    """A :class:`~simulations.interchange.read.LogColumns` of the options given."""
    from simulations.interchange.read import LogColumns

    return LogColumns(**names)


def read_cases(log: Path, columns: Any) -> Any:
    """The cases of ``log`` (a log file, or SPGL tables), streamed."""
    from simulations.interchange.log_cases import log_cases
    from simulations.interchange.spgl import open_log

    return log_cases(open_log(log, columns), file=str(log))


def read_case_table(log: Path, columns: Any) -> Any:
    """The cases of ``log`` as columns (a CSV log read by array, anything else as
    :func:`read_cases` reads it)."""
    from simulations.interchange.read_columns import read_table

    return read_table(log, columns)


def _time_table(title: str, rows: dict[str, dict], t: dict[str, str], top: int = 15) -> Any:
    from rich.table import Table

    table = Table(t["log.key"], t["log.runs"], t["log.waiting"], t["log.working"], title=title)
    ranked = sorted(rows.items(), key=lambda kv: -(kv[1]["waiting_working_days"]
                                                   + kv[1]["working_working_days"]))
    for key, v in ranked[:top]:
        table.add_row(key, str(v["runs"]), f"{v['waiting_working_days']:.1f}",
                      f"{v['working_working_days']:.1f}")
    return table


def print_log_audit(result: dict, lang: str, *, deadline: str | None,
                    limit_days: float | None, limit_unit: str) -> None:
    """``audit actual --log`` for people: the headline, then where the time goes and the
    months."""
    from rich.table import Table

    t = words(lang)
    out = console()

    def shown(x: float | None, fmt: str) -> str:
        return "—" if x is None else format(x, fmt)

    out.print(t["log.audit.head"].format(
        cases=result["cases"], closed=result["closed_cases"], open=result["open_cases"],
        past=result["open_past_limit"], overdue=result["overdue_cases"],
        share=shown(result["overdue_share"], ".1%"),
        limit=t["log.limit.column"].format(column=deadline) if deadline else
        t["log.limit.days"].format(days=f"{limit_days:g}", unit=t[f"log.unit.{limit_unit}"])))
    out.print(t["log.audit.cycle"].format(
        p50=shown(result["p50_days"], ".1f"), p90=shown(result["p90_days"], ".1f"),
        wp50=shown(result["p50_working_days"], ".1f"),
        wp90=shown(result["p90_working_days"], ".1f")))
    if not any(v["working_working_days"] for v in result["by_activity"].values()):
        out.print(t["log.no_starts"])
    out.print(_time_table(t["log.by_activity"], result["by_activity"], t))
    out.print(_time_table(t["log.by_resource"], result["by_resource"], t))
    months = Table(t["log.month"], t["log.cases"], t["log.closed"], t["log.overdue"],
                   t["log.share"], title=t["log.by_month"])
    for month, m in result["by_month"].items():
        months.add_row(month, str(m["cases"]), str(m["closed"]), str(m["overdue"]),
                       shown(m["overdue_share"], ".1%"))
    out.print(months)
    out.print(t["log.basis"].format(source=result["source"]))


LogArg = Annotated[Path, typer.Argument(
    help="an event log: .xes or .csv, either may be .gz; or a folder or .zip of a 工改 "
         "system's SPGL_*.csv tables")]
MinShareOpt = Annotated[float, typer.Option(
    "--min-share", min=0.0, max=1.0, help="a step runs in at least this share of the cases; "
                                          "rarer activities are folded away")]
DependencyShareOpt = Annotated[float, typer.Option(
    "--dependency-share", min=0.5, max=1.0,
    help="a step depends on another when it begins after that one ends in at least this "
         "share of the cases running both")]


def _arrivals_path(output: Path) -> Path:
    return output.with_name(f"{output.name.split('.', 1)[0]}.arrivals.yaml")


def write_arrivals(discovery: Any, path: Path) -> None:
    """The discovered arrivals as an arrival plan (``onething capacity --arrivals``)."""
    import yaml

    text = yaml.safe_dump({discovery.procedure.id: discovery.arrivals}, allow_unicode=True,
                          sort_keys=False)
    path.write_text(f"# basis: fitted — {discovery.source}\n{text}", encoding="utf-8")


@app.command("discover")
def discover_command(
    log: LogArg,
    output: Annotated[Path, typer.Option("-o", "--output", help="procedure file to write")],
    min_share: MinShareOpt = 0.05,
    dependency_share: DependencyShareOpt = 0.9,
    procedure_id: Annotated[str | None, typer.Option(
        "--id", help="procedure id (default: from the log's file name)")] = None,
    case_column: CaseOpt = None,
    activity: ActivityOpt = None,
    timestamp: TimestampOpt = None,
    start_timestamp: StartTimestampOpt = None,
    resource: ResourceOpt = None,
    group: GroupOpt = None,
    calendar: CalendarOpt = "CN",
    json_: JsonOpt = False,
    lang: LangOpt = "zh",
) -> None:
    """Discover a procedure from a log: steps, dependencies, fitted durations, arrivals."""
    from process_models.calendar import country_calendar
    from process_models.loading import check_procedure, save_procedure
    from simulations.planning.discovery import discover

    t = words(lang)
    columns = log_columns(case=case_column, activity=activity, timestamp=timestamp,
                          start_timestamp=start_timestamp, resource=resource, group=group)
    found = discover(read_case_table(log, columns), log=str(log),
                     calendar=country_calendar(calendar),
                     min_share=min_share, dependency_share=dependency_share,
                     procedure_id=procedure_id)
    check_procedure(found.procedure)
    save_procedure(found.procedure, output)
    arrivals = _arrivals_path(output)
    write_arrivals(found, arrivals)
    if json_:
        print_json({"output": str(output), "arrivals": str(arrivals), **found.as_dict()})
        return
    _print_discovery(found, t)
    console().print(t["log.discover.wrote"].format(path=output, arrivals=arrivals))


def _print_discovery(found: Any, t: dict[str, str]) -> None:
    from rich.table import Table

    out = console()
    names = {s.step_id: s.activity for s in found.steps}
    share = {(a, b): x for a, b, x in found.dependencies}
    after = {s.step_id: [f"{names[d.step]} ({share[names[d.step], s.activity]:.0%})"
                         for d in st.depends_on]
             for s, st in zip(found.steps, found.procedure.steps, strict=True)}
    table = Table(t["log.step"], t["log.cases"], t["log.step_share"], t["log.rework"],
                  t["log.department"], t["log.after"], t["log.duration"],
                  title=t["log.discover.title"].format(id=found.procedure.id))
    for s, step in zip(found.steps, found.procedure.steps, strict=True):
        table.add_row(s.activity, str(s.cases), f"{s.share:.0%}", f"{s.rework_share:.0%}",
                      s.department, "、".join(after[s.step_id]) or "—", step.duration.kind)
    out.print(table)
    if found.folded:
        shown_folded = "、".join(f"{a} ({n})" for a, n in found.folded[:10])
        more = len(found.folded) - 10
        out.print(t["log.folded"].format(count=len(found.folded), list=shown_folded)
                  + (t["log.more"].format(count=more) if more > 0 else ""))
    out.print(t["log.practice"])
    out.print(t["log.basis"].format(source=found.source))


@app.command("fidelity")
def fidelity_command(
    log: LogArg,
    train_share: Annotated[float, typer.Option(
        "--train-share", min=0.05, max=0.95,
        help="the earlier share of the cases (by start) to discover and fit on")] = 0.7,
    seed: Annotated[int, typer.Option("--seed", help="random seed")] = 0,
    arrivals: Annotated[str, typer.Option(
        "--arrivals", help="replay (the later cases' own arrival times) or fitted (drawn "
                           "from the rates discovered on the earlier part)")] = "replay",
    min_share: MinShareOpt = 0.05,
    dependency_share: DependencyShareOpt = 0.9,
    case_column: CaseOpt = None,
    activity: ActivityOpt = None,
    timestamp: TimestampOpt = None,
    start_timestamp: StartTimestampOpt = None,
    resource: ResourceOpt = None,
    group: GroupOpt = None,
    calendar: CalendarOpt = "CN",
    json_: JsonOpt = False,
    lang: LangOpt = "zh",
) -> None:
    """How faithful a discovered procedure is: learn on the earlier cases, simulate the later
    ones, and compare with what happened — beside a naive and an empirical baseline."""
    from rich.table import Table

    from process_models.calendar import country_calendar
    from simulations.planning.fidelity import fidelity

    t = words(lang)
    columns = log_columns(case=case_column, activity=activity, timestamp=timestamp,
                          start_timestamp=start_timestamp, resource=resource, group=group)
    result = fidelity(read_cases(log, columns), log=str(log), calendar=country_calendar(calendar),
                      train_share=train_share, seed=seed, arrivals=arrivals,
                      min_share=min_share,
                      dependency_share=dependency_share).as_dict()
    if json_:
        print_json(result)
        return
    split = result["split"]
    measures = ("cycle_time_emd_days", "ngram_distance", "arrival_emd_hours",
                "activity_duration_emd_days")
    table = Table(t["fidelity.against"], *(t[f"fidelity.{m}"] for m in measures),
                  title=t["fidelity.title"].format(train=split["train_cases"],
                                                   test=split["test_cases"],
                                                   start=split["test_starts"][:10]))
    for name in ("model", "naive", "train_empirical"):
        table.add_row(t[f"fidelity.{name}"], *(f"{result[name][m]:.3f}" for m in measures))
    out = console()
    out.print(table)
    out.print(t[f"fidelity.note.{split['arrivals']}"])
    out.print(t["log.basis"].format(source=split["source"]))
