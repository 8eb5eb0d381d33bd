"""督办 from the command line: ``onething supervision notices|answer|report|grades``.

Notices are issued by the sweep (``onething worker`` runs it; :func:`flows.casework.sweep`);
a department answers in writing; the report counts notices per department (XLSX or JSON)
and ``grades`` gives each department's quarterly grade (优秀/良好/合格/不合格).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from api.cli._app import LangOpt, app, console, print_json, words
from api.cli.cases import case_session, staff_now, staff_today
from api.supervision_views import auto_share_view, case_names, supervision_view

supervision_app = typer.Typer(
    name="supervision", help="督办: notices on red and yellow steps, written answers, "
    "escalation, the 督办 report and departments' quarterly grades.", no_args_is_help=True)
app.add_typer(supervision_app, name="supervision")

JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]


@supervision_app.command("notices")
def notices(
    department: Annotated[str | None, typer.Option(
        "--department", help="only this department's notices")] = None,
    open_only: Annotated[bool, typer.Option("--open", help="only unanswered notices")] = False,
    json_: JsonOpt = False,
    lang: LangOpt = "zh",
) -> None:
    """The 督办 notices, oldest first, with their reply dates and state."""
    from api.i18n import label
    from flows.casework import supervision_notices

    t = words(lang)
    with case_session() as session:
        found = supervision_notices(session, today=staff_today(), department_id=department,
                                    open_only=open_only)
        names = case_names(session) if found and not json_ else {}
    if json_:
        print_json([asdict(n) for n in found])
        return
    out = console()
    for n in found:
        out.print(t["cli.notice.line"].format(
            notice_id=n.notice_id, case_id=n.case_id, step=names.get(n.step_id, n.step_id),
            department=names.get(n.department_id, n.department_id),
            colour=label(t, "colour", n.colour), reply_due=n.reply_due_date,
            state=label(t, "notice.state", n.state)))
    out.print(t["cli.notice.count"].format(count=len(found)))


@supervision_app.command("answer")
def answer(
    notice_id: Annotated[int, typer.Argument(help="notice number, from `supervision notices`")],
    text: Annotated[str, typer.Option("--text", help="the written explanation (书面说明)")],
    department: Annotated[str, typer.Option("--department", help="answering department id")],
    by: Annotated[str, typer.Option("--by", help="who answers")] = "staff",
    lang: LangOpt = "zh",
) -> None:
    """A department's written explanation for a 督办 notice (in the audit trail)."""
    from flows.casework import answer_notice

    with case_session() as session:
        answer_notice(session, notice_id, text, by=by, department_id=department, now=staff_now())
    console().print(words(lang)["cli.notice.answered"].format(notice_id=notice_id, by=by))


def _quarter_first(today: date) -> date:
    return date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)


@supervision_app.command("report")
def report(
    first: Annotated[str | None, typer.Option(
        "--from", help="first day, YYYY-MM-DD (default: the quarter's first)")] = None,
    last: Annotated[str | None, typer.Option("--to", help="last day (default: today)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, json or xlsx")] = "table",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="file for xlsx")] = None,
    lang: LangOpt = "zh",
) -> None:
    """督办 per department: notices issued (red, yellow), answered, late, escalated."""
    from api.cli.audit import print_views
    from flows.casework import supervision_report
    from process_models.calendar import parse_date
    from process_models.errors import InvalidInput
    from simulations.planning.audit_report import write_views

    if fmt not in ("table", "json", "xlsx"):
        raise InvalidInput(f"unknown format '{fmt[:20]}'; use table, json or xlsx",
                           path="--format")
    if fmt == "xlsx" and output is None:
        raise InvalidInput("--format xlsx writes a file; give it with -o FILE", path="-o")
    today = staff_today()
    begin = parse_date(first, path="--from") if first else _quarter_first(today)
    end = parse_date(last, path="--to") if last else today
    t = words(lang)
    with case_session() as session:
        lines = supervision_report(session, first=begin, last=end, today=today)
        names = case_names(session)
    if fmt == "json":
        print_json({"from": begin.isoformat(), "to": end.isoformat(), "basis": "sourced",
                    "departments": [asdict(line) for line in lines]})
        return
    view = supervision_view(lines, names, lang,
                            title=t["supervision.title"].format(first=begin, last=end))
    if fmt == "xlsx":
        write_views([view], output, "xlsx", lang=lang)
    else:
        print_views([view], t["supervision.title"].format(first=begin, last=end))


@supervision_app.command("grades")
def grades(
    year: Annotated[int, typer.Option("--year", help="e.g. 2025")],
    quarter: Annotated[int, typer.Option("--quarter", help="1, 2, 3 or 4")],
    json_: JsonOpt = False,
    lang: LangOpt = "zh",
) -> None:
    """Each department's grade for a quarter: steps decided on time, 督办 escalations."""
    from api.cli.audit import print_views
    from api.i18n import label
    from flows.casework import department_grades
    from simulations.planning.audit_report import View

    t = words(lang)
    with case_session() as session:
        found = department_grades(session, year=year, quarter=quarter, today=staff_today())
        names = case_names(session)
    if json_:
        print_json([asdict(g) for g in found])
        return
    view = View(str(quarter), [t["supervision.department"], t["grade.decided"],
                               t["grade.on_time"], t["supervision.issued"],
                               t["supervision.escalated"], t["grade.grade"]],
                [[names.get(g.department_id, g.department_id), g.decided, g.on_time, g.notices,
                  g.escalated, label(t, "grade", g.grade)] for g in found])
    print_views([view], t["grade.title"].format(year=year, quarter=quarter))



auto_app = typer.Typer(
    name="auto-rule", help="秒批: check a rule file, dry-run it over history, report the share "
    "of decisions made by rule.", no_args_is_help=True)
app.add_typer(auto_app, name="auto-rule")

RuleArg = Annotated[Path, typer.Argument(help="a 秒批 rule file (YAML)")]


@auto_app.command("check")
def check_rule(rule: RuleArg) -> None:
    """Check a 秒批 rule file against its catalog procedure; one line per fault."""
    from process_models.auto_rules import load_auto_rule

    found = load_auto_rule(rule)
    console().print(f"{rule}: {found.id}@{found.version} {found.procedure}.{found.step} ok")


@auto_app.command("dry-run")
def dry_run_rule(rule: RuleArg, json_: JsonOpt = False, lang: LangOpt = "zh") -> None:
    """How many past cases the rule would have decided, and whether staff agreed."""
    from api.i18n import label
    from api.names import display_name
    from flows.casework.auto_decisions import dry_run
    from process_models.auto_rules import load_auto_rule
    from process_models.catalog import load_catalog_procedure

    found = load_auto_rule(rule)
    with case_session() as session:
        result = dry_run(session, found)
    if json_:
        print_json({**asdict(result), "agreement": result.agreement, "share": result.share,
                    "basis": "sourced"})
        return
    t = words(lang)
    proc = load_catalog_procedure(found.procedure)
    out = console()
    out.print(t["auto.dry_run"].format(
        rule=f"{result.rule_id}@{result.version}", procedure=display_name(proc, lang),
        step=display_name(proc.step(found.step), lang), first=result.first or t["auto.none"],
        last=result.last or t["auto.none"], cases=result.cases, decided=result.decided,
        share=_percent(result.share, t), agreed=result.agreed,
        agreement=_percent(result.agreement, t)))
    if result.staff:
        out.print(t["auto.staff"].format(outcomes=t["cli.comma"].join(
            f"{label(t, 'outcome', k)} {v}" for k, v in result.staff.items())))


def _percent(share: float | None, t: dict[str, str]) -> str:
    return t["auto.none"] if share is None else f"{share:.1%}"


@auto_app.command("report")
def auto_report(
    first: Annotated[str, typer.Option("--from", help="first day, YYYY-MM-DD")],
    last: Annotated[str | None, typer.Option("--to", help="last day (default: today)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="json or xlsx")] = "json",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="file for xlsx")] = None,
    lang: LangOpt = "zh",
) -> None:
    """The share of 秒批 decisions per procedure and step."""
    from flows.casework.auto_decisions import auto_share
    from process_models.calendar import parse_date
    from process_models.errors import InvalidInput
    from simulations.planning.audit_report import write_views

    if fmt not in ("json", "xlsx") or (fmt == "xlsx" and output is None):
        raise InvalidInput(f"--format {fmt[:20]}: use json, or xlsx with -o FILE",
                           path="--format")
    begin = parse_date(first, path="--from")
    end = parse_date(last, path="--to") if last else staff_today()
    with case_session() as session:
        lines = auto_share(session, first=begin, last=end)
        names, procedures = case_names(session), case_names(session, procedures=True)
    if fmt == "json":
        print_json({"from": str(begin), "to": str(end), "basis": "sourced",
                    "steps": [{**asdict(line), "share": line.share} for line in lines]})
        return
    write_views([auto_share_view(lines, names, procedures, lang)], output, "xlsx", lang=lang)
