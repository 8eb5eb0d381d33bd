"""Commands on running cases (``onething case ...``) and the worker (``onething worker``).

Each command commits through :mod:`flows.casework` (the database is the
record), then asks the flows to move the case on (:func:`flows.runs.advance_after_commit`):
in embedded mode here and now, in server mode through the ``advance`` deployment.
Bad input raises the domain's own errors, which the CLI prints as one line (exit 2).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

import typer

from api.cli._app import app, console, print_json

case_app = typer.Typer(name="case", help="Run cases: open, submit, decide, show, list, withdraw, resume.",
                       no_args_is_help=True)
app.add_typer(case_app, name="case")

JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]
CaseArg = Annotated[str, typer.Argument(help="case id, e.g. C-20250124-0001")]


def _engine():
    """The settings' database, migrated to head."""
    from flows.casework.store import init_db
    from flows.runs import engine_for

    engine = engine_for()
    init_db(engine)
    return engine


def case_session():
    from sqlmodel import Session

    return Session(_engine())


def _now() -> datetime:
    return datetime.now(UTC)


def _today():
    from process_models.calendar import local_date

    return local_date(_now())


_SHOWN = {
    "case": ("case_id", "procedure_id", "procedure_version", "applicant_name", "status",
             "colour", "received_at", "accepted_at", "due_date", "closed_at", "close_reason"),
    "steps": ("step_id", "department_id", "status", "colour", "due_date", "version",
              "decided_at"),
    "materials": ("material_id", "status", "due_date"),
    "decisions": ("step_id", "outcome", "reason", "department_id", "decided_by", "decided_at"),
    "certificates": ("number", "name", "step_id", "department_id", "issued_at"),
    "line": ("case_id", "procedure_id", "applicant_name", "status", "colour", "due_date"),
}
"""What the CLI shows of the read model (:mod:`flows.casework.views`)."""


def _shown(item, part: str) -> dict:
    return {key: getattr(item, key) for key in _SHOWN[part]}


def _case_data(view) -> dict:
    """A case view (:func:`flows.casework.views.case_view`) as the CLI shows it."""
    return {**_shown(view, "case"),
            **{part: [_shown(item, part) for item in getattr(view, part)]
               for part in ("steps", "materials", "decisions", "certificates")}}


def _print_case(data: dict) -> None:
    out = console()
    out.print(f"[bold]{data['case_id']}[/bold] {data['procedure_id']}@"
              f"{data['procedure_version']} {data['applicant_name']}: {data['status']} "
              f"({data['colour']}), due {data['due_date'] or '—'}")
    for s in data["steps"]:
        out.print(f"  {s['step_id']:<32} {s['department_id']:<20} {s['status']:<11} "
                  f"{s['colour']:<6} due {s['due_date'] or '—'}")
    for m in data["materials"]:
        if m["status"] != "received":
            out.print(f"  material {m['material_id']}: {m['status']}"
                      + (f", due {m['due_date']}" if m["due_date"] else ""))
    for c in data["certificates"]:
        out.print(f"  certificate {c['number']} {c['name']} ({c['department_id']})")
    if data["close_reason"]:
        out.print(f"  closed: {data['close_reason']}")


@case_app.command("open")
def open_case(
    procedure: Annotated[str, typer.Argument(help="catalog procedure id, e.g. newborn")],
    name: Annotated[str, typer.Option("--name", help="applicant's name")],
    id_number: Annotated[str, typer.Option("--id-number", help="applicant's ID number")],
    material: Annotated[list[str], typer.Option(
        "--material", "-m", help="a material brought (repeat for each)")] = [],  # noqa: B006
    address: Annotated[str | None, typer.Option("--address")] = None,
    phone: Annotated[str | None, typer.Option("--phone")] = None,
    version: Annotated[str | None, typer.Option(
        "--version", help="before (the procedure before its reform), or a published version; "
        "default the published, else the reformed bundle")] = None,
    json_: JsonOpt = False,
) -> None:
    """Open a case at the window on the reformed bundle; print the 一次性告知单 and the case id."""
    from api.models import ApplicantCreate
    from flows import casework
    from flows.runs import run_open_case

    applicant = ApplicantCreate.checked(lambda field: "--" + field.replace("_", "-"),
                                        name=name, id_number=id_number, address=address,
                                        phone=phone)
    with case_session() as session:   # the version new cases open on
        proc = casework.window_procedure(procedure, version, session=session)
    notice = casework.notification_list(proc)
    _engine()
    opened = run_open_case(proc.id, applicant.model_dump(), list(material), version=proc.version)
    brought = set(material)
    items = [{"material_id": i.material_id, "name": i.name, "key": i.key, "count": i.count,
              "steps": list(i.steps), "brought": i.material_id in brought} for i in notice]
    if json_:
        print_json({**opened, "notification_list": items})
        return
    out = console()
    out.print(f"一次性告知单 {proc.name} ({proc.id}, 版本 {proc.version}): {len(items)} materials")
    for item in items:
        mark = "✓" if item["brought"] else ("✗" if item["key"] else "容缺")
        out.print(f"  {mark:<4} {item['material_id']:<28} {item['name']} ×{item['count']}"
                  f"  ({', '.join(item['steps'])})")
    out.print(f"case {opened['case_id']}: {opened['status']}, due {opened['due_date'] or '—'}")


@case_app.command("submit")
def submit(
    case_id: CaseArg,
    materials: Annotated[list[str], typer.Argument(help="material ids brought")],
) -> None:
    """Record materials brought later (补正, or items owed under 容缺受理)."""
    from api import case_runner

    with case_session() as session:
        case, advance = case_runner.submit_materials(session.get_bind(), session, case_id,
                                                     materials)
        status = case.status
    console().print(f"case {case_id}: {status}; {advance}")


@case_app.command("decide")
def decide(
    case_id: CaseArg,
    step: Annotated[str, typer.Argument(help="step id")],
    outcome: Annotated[Literal["approve", "reject", "supplement"], typer.Argument()],
    department: Annotated[str, typer.Option("--department", help="deciding department id")],
    reason: Annotated[str | None, typer.Option("--reason", help="required to reject")] = None,
    by: Annotated[str, typer.Option("--by", help="who decides")] = "staff",
    material: Annotated[list[str], typer.Option(
        "--material", "-m", help="material asked for again (supplement)")] = [],  # noqa: B006
) -> None:
    """A department approves, rejects (with --reason) or asks for supplements on its step."""
    from api import case_runner

    with case_session() as session:
        _decision, advance = case_runner.decide(
            session.get_bind(), session, case_id, step, outcome, department_id=department,
            decided_by=by, reason=reason, materials=material)
    console().print(f"case {case_id}: {step} {outcome}; {advance}")


@case_app.command("show")
def show(case_id: CaseArg, json_: JsonOpt = False) -> None:
    """A case's status, colour, steps, materials, decisions and certificates."""
    from flows.casework.views import case_view

    with case_session() as session:
        data = _case_data(case_view(session, case_id, today=_today()))
    if json_:
        print_json(data)
    else:
        _print_case(data)


@case_app.command("list")
def list_cases(
    status: Annotated[str | None, typer.Option(
        "--status", help="only cases of this status, e.g. accepted")] = None,
    colour: Annotated[Literal["red", "yellow", "green"] | None, typer.Option(
        "--colour", help="only cases of this colour")] = None,
    json_: JsonOpt = False,
) -> None:
    """Every case, one line each, with its red / yellow / green colour."""
    from flows.casework.tables import CaseStatus
    from flows.casework.views import case_board
    from process_models.errors import InvalidInput, did_you_mean

    statuses = [s.value for s in CaseStatus]
    if status is not None and status not in statuses:
        raise InvalidInput(f"unknown status '{status[:40]}'; use one of {', '.join(statuses)}",
                           path="--status", suggestion=did_you_mean(status, statuses))
    with case_session() as session:
        board = case_board(session, today=_today(), status=status, colour=colour,
                           include_closed=True)
    rows = [_shown(line, "line") for line in board.lines]
    if json_:
        print_json(rows)
        return
    out = console()
    for r in rows:
        out.print(f"{r['case_id']}  {r['procedure_id']:<24} {r['status']:<20} {r['colour']:<6} "
                  f"due {r['due_date'] or '—'}  {r['applicant_name']}")
    out.print(f"{len(rows)} case(s)")


@case_app.command("withdraw")
def withdraw(
    case_id: CaseArg,
    reason: Annotated[str, typer.Option("--reason", help="why the applicant withdraws")],
) -> None:
    """The applicant withdraws the case: open steps are cancelled."""
    from api import case_runner

    with case_session() as session:
        case = case_runner.withdraw_case(session, case_id, reason)
        status = case.status
    console().print(f"case {case_id}: {status}")


@case_app.command("resume")
def resume(
    case_id: CaseArg,
    step: Annotated[str, typer.Argument(help="step id of the step paused for 补正")],
    reason: Annotated[str, typer.Option("--reason", help="why the step is resumed")],
    by: Annotated[str, typer.Option("--by", help="who repairs the case")] = "admin",
) -> None:
    """Repair a stuck case: resume a step paused for 补正 (recorded in the audit trail)."""
    from flows import casework

    with case_session() as session:
        case = casework.resume_step(session, case_id, step, by=by, reason=reason, now=_now())
        status = case.status
    console().print(f"case {case_id}: {step} resumed; {status}")


@app.command()
def worker(
    pool: Annotated[str, typer.Option("--pool", help="work pool (server mode)")] = "onething",
    interval_seconds: Annotated[float, typer.Option(
        "--interval-seconds", help="how often the relay looks for rows left behind")] = 2.0,
) -> None:
    """Run the outbox relay and, in server mode, a Prefect worker of the work pool."""
    from flows.worker import run_worker

    run_worker(pool=pool, interval_seconds=interval_seconds)
