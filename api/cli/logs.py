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
    """The cases of ``log``, streamed."""
    from simulations.interchange.log_cases import log_cases
    from simulations.interchange.read import read_log

    return log_cases(read_log(log, columns), file=str(log))


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
