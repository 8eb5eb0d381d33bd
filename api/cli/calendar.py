"""Commands on the working-day calendar: ``onething calendar add|between|recompute``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli._app import LangOpt, app

calendar_app = typer.Typer(
    name="calendar", help="Chinese working days (工作日, 调休) and calendar-day limits.",
    no_args_is_help=True,
)
app.add_typer(calendar_app)

OverridesOpt = Annotated[
    list[Path] | None,
    typer.Option("--overrides", help="calendar override YAML files (replace the settings' ones)"),
]


def _calendar(overrides: list[Path] | None):
    from process_models.calendar import WorkingCalendar, default_calendar

    return WorkingCalendar(overrides) if overrides else default_calendar()


@calendar_app.command("add")
def add(
    start: Annotated[str, typer.Argument(help="acceptance date, YYYY-MM-DD (not counted)")],
    days: Annotated[str, typer.Argument(help="days to add; 0.5 ends on the next working day")],
    calendar_days: Annotated[
        bool, typer.Option("--calendar-days", help="count 自然日; a rest-day end moves on")
    ] = False,
    overrides: OverridesOpt = None,
    lang: LangOpt = "zh",
) -> None:
    """Print the date DAYS working days after START, e.g. 2025-01-24 5 → 2025-02-07."""
    from api.cli._app import words
    from process_models.calendar import parse_date, parse_days

    words(lang)  # the language of an error line; an unknown one is refused first
    cal = _calendar(overrides)
    begin, count = parse_date(start, path="START"), parse_days(days, path="DAYS")
    end = cal.add_calendar_days(begin, count) if calendar_days else cal.add_working_days(begin, count)
    typer.echo(end.isoformat())


@calendar_app.command("between")
def between(
    start: Annotated[str, typer.Argument(help="first date, YYYY-MM-DD (not counted)")],
    end: Annotated[str, typer.Argument(help="last date, YYYY-MM-DD (counted)")],
    overrides: OverridesOpt = None,
    lang: LangOpt = "zh",
) -> None:
    """Print the working days after START up to and including END (negative if END < START)."""
    from api.cli._app import words
    from process_models.calendar import parse_date

    words(lang)  # the language of an error line; an unknown one is refused first
    cal = _calendar(overrides)
    typer.echo(str(cal.working_days_between(parse_date(start, path="START"),
                                            parse_date(end, path="END"))))


@calendar_app.command("recompute")
def recompute(
    by: Annotated[str, typer.Option("--by", help="who changed the calendar")] = "admin",
    lang: LangOpt = "zh",
) -> None:
    """After adding or editing an override file (e.g. the State Council's schedule for a
    new year): move the due dates of open cases onto the new calendar (audited)."""
    from api.cli._app import console, words
    from api.cli.cases import case_session, staff_now
    from flows.casework import recompute_due_dates

    with case_session() as session:
        moved = recompute_due_dates(session, by=by, now=staff_now())
    console().print(words(lang)["cli.recomputed"].format(count=len(moved),
                                                         cases=", ".join(moved) or "—"))

