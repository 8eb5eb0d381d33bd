"""Auditors' commands: ``audit report|actual|verify|seal|export``, ``fit`` and
``demo-history``."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer

from api.cli._app import LangOpt, app, console, print_json, words
from api.cli.logs import (
    ActivityOpt,
    CalendarOpt,
    CaseEndOpt,
    CaseOpt,
    CaseStartOpt,
    GroupOpt,
    JsonOpt,
    ResourceOpt,
    StartTimestampOpt,
    TimestampOpt,
    log_columns,
    print_log_audit,
    read_cases,
)

audit_app = typer.Typer(help="Before/after reports, planned versus actual, the audit trail, "
                             "event-log export.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")

DatabaseOpt = Annotated[str | None, typer.Option(
    "--database", help="SQLAlchemy URL of the case database (default: from settings)")]
FromOpt = Annotated[datetime | None, typer.Option(
    "--from", formats=["%Y-%m-%d"], help="first day of the period (YYYY-MM-DD)")]
ToOpt = Annotated[datetime | None, typer.Option(
    "--to", formats=["%Y-%m-%d"], help="last day of the period (YYYY-MM-DD)")]
OutOpt = Annotated[Path | None, typer.Option("-o", "--output", help="file to write")]
FormatOpt = Annotated[str, typer.Option("--format", help="table, csv, xlsx, html or json")]
ProcedureOpt = Annotated[str | None, typer.Option("--procedure", help="only this procedure id")]


def _day(value: datetime | None) -> date | None:
    return value.date() if value else None


def _session(database: str | None):
    """A session on the case database, which must exist: reading a mistyped URL creates
    nothing and fails in one line (:func:`flows.casework.store.existing_engine`)."""
    from sqlmodel import Session

    from flows.casework.store import existing_engine

    return Session(existing_engine(database))


def _new_session(database: str | None):
    """A session on the case database, created and migrated to head if it is not there."""
    from sqlmodel import Session

    from flows.casework.store import init_db, make_engine

    engine = make_engine(database)
    init_db(engine)
    return Session(engine)


def _anchor(database: str | None):
    """Append the case database's chain head to the anchors file (none without a database)."""
    from sqlalchemy.engine import make_url

    from flows.casework import anchor_chain
    from process_models.settings import settings

    url = make_url(database or settings.effective_database_url)
    if url.get_backend_name() == "sqlite" and not (url.database and Path(url.database).exists()):
        return None
    with _session(database) as session:
        return anchor_chain(session)


def _check_format(fmt: str, output: Path | None) -> None:
    from process_models.errors import InvalidInput, did_you_mean
    from simulations.planning.audit_report import REPORT_FORMATS

    if fmt not in REPORT_FORMATS:
        raise InvalidInput(f"unknown format '{fmt}'; use one of {', '.join(REPORT_FORMATS)}",
                           path="--format", suggestion=did_you_mean(fmt, REPORT_FORMATS))
    if fmt in ("csv", "xlsx", "html") and output is None:
        raise InvalidInput(f"--format {fmt} writes a file; give it with -o FILE", path="-o")


def print_views(views, title: str) -> None:
    from rich.table import Table

    out = console()
    for view in views:
        t = Table(*view.headers, title=f"{title} · {view.title}")
        for row in view.rows:
            t.add_row(*(f"{v:g}" if isinstance(v, float) else str(v) for v in row))
        out.print(t)


@audit_app.command("report")
def report(
    paths: Annotated[list[str] | None, typer.Argument(
        help="procedure files, folders, scenario files or catalog ids (default: the catalog)")]
    = None,
    fmt: FormatOpt = "table",
    output: OutOpt = None,
    lang: LangOpt = "zh",
    database: DatabaseOpt = None,
) -> None:
    """Before/after report: limits per item, figures per procedure, portfolio totals, and
    the audit chain's anchor (appended to the anchors file)."""
    from simulations.planning.audit_report import (
        audit_report,
        load_pairs,
        report_views,
        write_views,
    )

    _check_format(fmt, output)
    t = words(lang)
    result = audit_report(load_pairs(paths or []))
    anchor = _anchor(database)
    if fmt == "json":
        print_json({**result.as_dict(), "audit_anchor": anchor and {
            "seq": anchor.seq, "hash": anchor.hash, "at": anchor.at.isoformat()}})
        return
    views = report_views(result, lang)
    sourced, anchored = result.sourced(lang), t["audit.anchor"].format(
        anchor=anchor or t["audit.no_anchor"])
    if fmt == "table":
        print_views(views, t["audit.report"])
        it = result.item_totals
        console().print(t["audit.summary"].format(
            procedures=result.totals.headline(lang), items=it.headline(lang),
            before=f"{it.immediate_before:.1%}", after=f"{it.immediate_after:.1%}",
            flagged=it.flagged, checks=it.checks))
        console().print(t["audit.sourced"].format(**sourced))
        console().print(anchored)
        return
    write_views(views, output, fmt, lang=lang)
    console().print(f"{t['cli.wrote'].format(path=output)}{t['cli.separator']}"
                    f"{result.totals.headline(lang)}{t['cli.separator']}{anchored}")


STEP_HEADERS = ["案件编号", "一件事", "步骤", "部门", "状态", "开始", "办结", "经过工作日",
                "补正暂停", "不计时环节", "法定计时", "承诺时限", "超期"]


def _summary_views(summary):
    from simulations.planning.audit_report import View

    def rates(groups):
        return [[g.key, g.cases, g.overdue, f"{g.rate:.1%}"]
                for g in sorted(groups.values(), key=lambda g: g.key)]

    split = summary.time_split()
    return [
        View("按一件事", ["一件事", "案件", "超期", "超期率"], rates(summary.by_procedure)),
        View("按部门", ["部门", "步骤", "超期", "超期率"], rates(summary.by_department)),
        View("按月份", ["受理月份", "案件", "超期", "超期率"], rates(summary.by_month)),
        View("时间去向", ["去向", "工作日", "占比"], [
            ["部门办理", summary.department_working_days, f"{split['department']:.1%}"],
            ["等待申请人(补正)", summary.applicant_working_days, f"{split['applicant']:.1%}"],
            ["部门之间(流转、不计时环节)", summary.between_working_days,
             f"{split['between']:.1%}"],
        ]),
    ]


GRADE_HEADERS = ["部门", "办结环节", "按时办结", "督办件数", "升级督办", "评级"]


def _grades(session, day: date):
    """The departments' grades for the quarter holding ``day`` (:func:`department_grades`)."""
    from flows.casework import department_grades

    return department_grades(session, year=day.year, quarter=(day.month - 1) // 3 + 1,
                             today=day)


def _grades_view(grades, day: date):
    from api.i18n import label
    from simulations.planning.audit_report import View

    grade_words = words("zh")
    return View("季度评级", [f"{day.year}Q{(day.month - 1) // 3 + 1} 部门（评级线为估计）",
                         *GRADE_HEADERS[1:]],
                [[g.department_id, g.decided, g.on_time, g.notices, g.escalated,
                  label(grade_words, "grade", g.grade)] for g in grades])


@audit_app.command("actual")
def actual(
    start: FromOpt = None,
    end: ToOpt = None,
    as_of: Annotated[datetime | None, typer.Option(
        "--as-of", formats=["%Y-%m-%d"], help="count open cases up to this day (default today)")]
    = None,
    procedure: ProcedureOpt = None,
    fmt: FormatOpt = "table",
    output: OutOpt = None,
    database: DatabaseOpt = None,
    log: Annotated[Path | None, typer.Option(
        "--log", help="audit this event log (.xes, .csv, either .gz) of another system "
                      "instead of the case database")] = None,
    deadline: Annotated[str | None, typer.Option(
        "--deadline", help="with --log: the column holding each case's deadline")] = None,
    limit_days: Annotated[float | None, typer.Option(
        "--limit-days", min=0, max=3650, help="with --log: the limit of every case in days")]
    = None,
    limit_unit: Annotated[str, typer.Option(
        "--limit-unit", help="working or calendar days for --limit-days")] = "working",
    case_column: CaseOpt = None,
    activity: ActivityOpt = None,
    timestamp: TimestampOpt = None,
    start_timestamp: StartTimestampOpt = None,
    resource: ResourceOpt = None,
    group: GroupOpt = None,
    case_start: CaseStartOpt = None,
    case_end: CaseEndOpt = None,
    calendar: CalendarOpt = "CN",
    json_: JsonOpt = False,
    lang: LangOpt = "zh",
) -> None:
    """Planned versus actual: working days per case and step, 超期率, where time goes; with
    --log, the same for another system's event log."""
    from flows.casework.actual import ActualSummary, case_actuals
    from simulations.planning.audit_report import View, write_views

    if log is not None:
        columns = log_columns(case=case_column, activity=activity, timestamp=timestamp,
                              start_timestamp=start_timestamp, resource=resource,
                              group=group, deadline=deadline, case_start=case_start,
                              case_end=case_end)
        _actual_log(log, columns, limit_days, limit_unit, calendar,
                    json_ or fmt == "json", fmt, lang)
        return
    _check_format(fmt, output)
    summary = ActualSummary()
    from api.cli.cases import staff_today

    graded_on = _day(end) or _day(as_of) or staff_today()
    with _session(database) as session:
        grades = _grades(session, graded_on)
        actuals = case_actuals(session, start=_day(start), end=_day(end), as_of=_day(as_of),
                               procedure_id=procedure)
        if fmt in ("table", "json"):
            for case, steps in actuals:
                summary.add(case, steps)
        else:
            def step_rows():
                for case, steps in actuals:
                    summary.add(case, steps)
                    for st in steps:
                        yield [st.case_id, st.procedure_id, st.step_id, st.department_id,
                               st.status, str(st.started_on), str(st.decided_on or ""),
                               st.elapsed_working_days, st.paused_working_days,
                               st.untimed_working_days, st.clock_working_days,
                               "" if st.committed_working_days is None
                               else st.committed_working_days, "超期" if st.overdue else ""]

            def views():
                yield View("步骤", STEP_HEADERS, step_rows())
                yield from _summary_views(summary)
                yield _grades_view(grades, graded_on)

            write_views(views(), output, fmt, title="办理时限执行情况(计划与实际)")
            console().print(f"wrote {output}: {summary.cases} cases, {summary.steps} steps, "
                            f"超期率 {summary.overdue_rate:.1%}")
            return
    if fmt == "json":
        print_json({**summary.as_dict(), "department_grades": [
            {**asdict(g), "year": graded_on.year, "quarter": (graded_on.month - 1) // 3 + 1}
            for g in grades]})
        return
    print_views([*_summary_views(summary), _grades_view(grades, graded_on)], "计划与实际")
    console().print(f"{summary.cases} cases, {summary.steps} steps; 超期率 "
                    f"{summary.overdue_rate:.1%}")


def _actual_log(log: Path, columns, limit_days: float | None, limit_unit: str,
                calendar: str, as_json: bool, fmt: str, lang: str) -> None:
    """``audit actual --log``: 超期率, cycle time and where the time goes of a log."""
    from process_models.calendar import country_calendar
    from process_models.errors import InvalidInput, did_you_mean
    from simulations.planning.log_audit import CaseLimit, audit_log

    words(lang)
    if not as_json and fmt != "table":
        raise InvalidInput(f"--format {fmt} writes the case database's steps; with --log use "
                           "the table (default) or --json", path="--format")
    if (columns.deadline is None) == (limit_days is None):
        raise InvalidInput("give the limit once: --deadline COLUMN (each case's deadline) or "
                           "--limit-days N (the same for every case)", path="--log")
    units = ("working", "calendar")
    if limit_unit not in units:
        raise InvalidInput(f"unknown unit '{limit_unit}'; use working or calendar",
                           path="--limit-unit", suggestion=did_you_mean(limit_unit, units))
    result = audit_log(read_cases(log, columns), log=str(log),
                       limit=CaseLimit(limit_days, limit_unit), calendar=country_calendar(calendar),
                       has_case_end=columns.case_end is not None).as_dict()
    if as_json:
        print_json(result)
        return
    print_log_audit(result, lang, deadline=columns.deadline, limit_days=limit_days,
                    limit_unit=limit_unit)


@audit_app.command("verify")
def verify(database: DatabaseOpt = None) -> None:
    """Verify the audit chain, its MACs, the records it vouches for and the anchors; exit 1
    at the first broken one. An intact chain gets a new anchor."""
    from flows.casework import anchor_chain, verify_chain

    with _session(database) as session:
        result = verify_chain(session)
        anchor = anchor_chain(session) if result.ok else None
    if result.ok:
        console().print(f"[green]ok[/green] {result}; anchored {anchor}")
        return
    console(stderr=True).print(f"[red]broken:[/red] {result}")
    raise SystemExit(1)


@audit_app.command("seal")
def seal(database: DatabaseOpt = None) -> None:
    """Once, after upgrading: give the events written before the audit key their MACs."""
    from flows.casework import seal_chain

    with _session(database) as session:
        sealed = seal_chain(session)
    console().print(f"sealed {sealed} events with the audit key")


@audit_app.command("export")
def export(
    fmt: Annotated[str, typer.Option(
        "--format", help="xes, ocel-json, ocel-sqlite or spgl (a new folder of the SPGL_*.csv "
                         "tables of 工改 systems)")],
    output: Annotated[Path, typer.Option("-o", "--output", help="file (folder for spgl) to "
                                                                "write")],
    start: FromOpt = None,
    end: ToOpt = None,
    procedure: ProcedureOpt = None,
    database: DatabaseOpt = None,
    lang: LangOpt = "zh",
) -> None:
    """Export case history as an event log (XES, OCEL 2.0 or SPGL tables) for process-mining
    tools and 工改 systems."""
    from flows.casework.history import history_events, history_names
    from simulations.interchange.export import export_events

    t = words(lang)
    with _session(database) as session:
        names = history_names(session, procedure_id=procedure) if fmt == "spgl" else None
        count = export_events(history_events(session, start=_day(start), end=_day(end),
                                             procedure_id=procedure), output, fmt, names)
    console().print(t["export.wrote"].format(path=output, count=count, format=fmt))


@app.command("fit")
def fit(
    procedure: Annotated[str, typer.Argument(help="a procedure file, or a catalog id")],
    log: Annotated[str, typer.Argument(
        help="an event log (.xes or .csv), or 'history' for the case database")],
    output: Annotated[Path, typer.Option("-o", "--output", help="procedure file to write")],
    kind: Annotated[str, typer.Option(
        "--kind", help="auto, empirical, lognormal or triangular")] = "auto",
    start: FromOpt = None,
    end: ToOpt = None,
    database: DatabaseOpt = None,
    case_column: CaseOpt = None,
    activity: ActivityOpt = None,
    timestamp: TimestampOpt = None,
    start_timestamp: StartTimestampOpt = None,
    json_: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Fit each step's duration to observed history and write them into a procedure file."""
    from api.cli.procedures import load_procedure_argument
    from flows.casework.history import history_durations
    from process_models.loading import save_procedure
    from simulations.interchange.spgl import open_log
    from simulations.planning.fitting import fit_procedure, log_durations

    proc = load_procedure_argument(procedure)
    if log == "history":
        with _session(database) as session:
            durations = history_durations(session, proc, start=_day(start), end=_day(end))
    else:
        durations = log_durations(open_log(log, log_columns(
            case=case_column, activity=activity, timestamp=timestamp,
            start_timestamp=start_timestamp)), proc)
    fitted, fits = fit_procedure(proc, durations, kind=kind)
    save_procedure(fitted, output)
    if json_:
        print_json({"output": str(output), "steps": [f.as_dict() for f in fits]})
        return
    from rich.table import Table

    t = Table("step", "cases", "duration", "fit", title=f"{proc.id}: fitted durations")
    for f in fits:
        d = f.distribution
        t.add_row(f.step_id, str(f.samples), d.kind if d else "kept (too few)",
                  d.fit if d else "")
    out = console()
    out.print(t)
    out.print(f"wrote {output}")


@app.command("demo-history")
def demo_history(
    cases: Annotated[int, typer.Option("--cases", min=1, help="how many cases to run")] = 50,
    seed: Annotated[int, typer.Option("--seed", help="random seed")] = 0,
    procedures: Annotated[list[str] | None, typer.Option(
        "--procedure", help="procedure file or catalog id (repeat; default: newborn)")] = None,
    start: Annotated[datetime, typer.Option(
        "--start", formats=["%Y-%m-%d"], help="first day cases arrive")] = datetime(2025, 3, 3),
    database: DatabaseOpt = None,
) -> None:
    """Run generated cases through the real case handling, so reports have data."""
    from api.cli.procedures import load_procedure_argument
    from flows.casework.demo_history import demo_history as run_demo

    procs = [load_procedure_argument(p) for p in (procedures or ["newborn"])]
    with _new_session(database) as session:
        stats = run_demo(session, procs, cases=cases, seed=seed, start=start.date())
    console().print(
        f"ran {stats.cases} cases ({stats.approved} approved, {stats.rejections} rejected), "
        f"{stats.decisions} decisions with {stats.supplements} 补正, "
        f"{stats.first_at:%Y-%m-%d} → {stats.last_at:%Y-%m-%d}")
