"""Commands on running cases (``onething case ...``) and the worker (``onething worker``).

Each command commits through :mod:`flows.casework` (the database is the
record), then has the case moved on (:mod:`api.case_runner`): in server
mode through the ``advance`` deployment; in embedded mode by the running service's or
worker's relay if one watches the database, else here, without starting Prefect. Reads
(``show``, ``list``, ``checks``) import no Prefect.
Bad input raises the domain's own errors, which the CLI prints as one line (exit 2).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

import typer

from api.cli._app import LangOpt, app, console, print_json, words

case_app = typer.Typer(name="case", help="Run cases: open, submit, decide, sign (告知承诺), "
                       "check (核查), promise (容缺), pause, resume, show, list, checks, withdraw.",
                       no_args_is_help=True)
app.add_typer(case_app, name="case")

JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]
CaseArg = Annotated[str, typer.Argument(help="case id, e.g. C-20250124-0001")]


def _engine():
    """The settings' database, migrated to head."""
    from flows.casework.store import init_db
    from flows.handoff import engine_for

    engine = engine_for()
    init_db(engine)
    return engine


def case_session():
    from sqlmodel import Session

    return Session(_engine())


def staff_now() -> datetime:
    """Now, for the operations the commands record."""
    return datetime.now(UTC)


def staff_today():
    """Today on the service centre's clock."""
    from process_models.calendar import local_date

    return local_date(staff_now())


_SHOWN = {
    "case": ("case_id", "procedure_id", "procedure_version", "applicant_name", "status",
             "colour", "received_at", "accepted_at", "due_date", "closed_at", "close_reason"),
    "steps": ("step_id", "department_id", "status", "colour", "due_date", "version",
              "decided_at", "pause_reason"),
    "materials": ("material_id", "status", "due_date"),
    "decisions": ("step_id", "outcome", "reason", "department_id", "decided_by", "decided_at"),
    "certificates": ("number", "name", "step_id", "department_id", "issued_at", "revoked_at",
                     "revoked_reason", "verification_code"),
    "commitments": ("step_id", "department_id", "text", "signed_by", "signed_at",
                    "check_due_date", "check_result", "check_reason", "checked_by"),
    "agents": ("agent", "acting_for", "authorisation", "recorded_by", "at"),
    "line": ("case_id", "procedure_id", "applicant_name", "status", "colour", "due_date"),
    "check": ("case_id", "step_id", "department_id", "check_due_date", "colour"),
}
"""What the CLI shows of the read model (:mod:`flows.casework.views`)."""


def _shown(item, part: str) -> dict:
    return {key: getattr(item, key) for key in _SHOWN[part]}


def _case_data(view) -> dict:
    """A case view (:func:`flows.casework.views.case_view`) as the CLI shows it; each step
    with its pause ledger (``pauses``)."""
    from dataclasses import asdict

    data = {**_shown(view, "case"),
            **{part: [_shown(item, part) for item in getattr(view, part)]
               for part in ("steps", "materials", "decisions", "certificates", "commitments",
                            "agents")}}
    for shown, step in zip(data["steps"], view.steps, strict=True):
        shown["pauses"] = [asdict(pause) for pause in step.pauses]
    return data


def procedure_names(session, keys) -> dict[tuple[str, str | None], object]:
    """The procedure of each (id, version) of ``keys`` (version ``None``: the one cases
    open on), for the names people read."""
    from flows import casework

    return {key: casework.resolve_procedure(key[0], key[1], session=session) for key in keys}


def _case_names(session, case_id: str) -> dict[str, str]:
    """Id → name of the steps, departments and materials of the version ``case_id`` runs."""
    from api.cli._app import names_of
    from flows.casework.tables import Case

    case = session.get(Case, case_id)
    key = (case.procedure_id, case.procedure_version)
    return names_of(procedure_names(session, [key])[key])


def _print_case(data: dict, proc, t: dict[str, str]) -> None:
    """A case in the words of ``t``: names of the procedure, steps, departments and materials."""
    from api.cli._app import named, names_of
    from api.i18n import label

    names = names_of(proc)
    out = console()
    out.print(t["cli.case.head"].format(
        case_id=data["case_id"], procedure=proc.name, version=data["procedure_version"],
        applicant=data["applicant_name"], status=label(t, "status", data["status"]),
        colour=label(t, "colour", data["colour"]), due=data["due_date"] or "—"))
    for s in data["steps"]:
        out.print(t["cli.case.step"].format(
            step=names.get(s["step_id"], s["step_id"]),
            department=names.get(s["department_id"], s["department_id"]),
            status=label(t, "status", s["status"]), colour=label(t, "colour", s["colour"]),
            due=s["due_date"] or "—"))
        for p in s["pauses"]:
            out.print(t["cli.case.pause"].format(
                reason=label(t, "pause", p["reason"]),
                counted=t["pause.counted" if p["counted"] else "pause.not_counted"],
                start=p["started_on"], end=p["ended_on"] or "—",
                moved=t["cli.case.pause_moved"].format(days=p["working_days"])
                if p["working_days"] else ""))
    for m in data["materials"]:
        if m["status"] != "received":
            out.print(t["cli.case.material"].format(
                material=names.get(m["material_id"], m["material_id"]),
                status=label(t, "status", m["status"]),
                due=t["cli.case.owed_by"].format(due=m["due_date"]) if m["due_date"] else ""))
    for c in data["commitments"]:
        result = label(t, "check", c["check_result"])
        out.print(t["cli.case.commitment"].format(
            step=names.get(c["step_id"], c["step_id"]), signed_by=c["signed_by"],
            signed_at=f"{c['signed_at']:%Y-%m-%d %H:%M}", due=c["check_due_date"],
            result=f"{t['cli.separator']}{result}" + (f" {c['check_reason']}"
                                                      if c["check_reason"] else "")
            if result else ""))
    for a in data["agents"]:
        out.print(t["cli.case.agent"].format(agent=a["agent"], acting_for=a["acting_for"],
                                             at=f"{a['at']:%Y-%m-%d %H:%M}",
                                             authorisation=a["authorisation"]))
    for c in data["certificates"]:
        out.print(t["cli.case.certificate"].format(
            number=c["number"], name=c["name"], code=c["verification_code"],
            department=names.get(c["department_id"], c["department_id"]),
            revoked=t["cli.case.revoked"].format(reason=c["revoked_reason"])
            if c["revoked_at"] else ""))
    if data["close_reason"]:
        out.print(t["cli.case.closed"].format(reason=named(data["close_reason"], names)))


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
    lang: LangOpt = "zh",
) -> None:
    """Open a case at the window on the reformed bundle; print the 一次性告知单 and the case id."""
    from api import case_runner
    from api.applicant import ApplicantCreate
    from flows import casework

    applicant = ApplicantCreate.checked(lambda field: "--" + field.replace("_", "-"),
                                        name=name, id_number=id_number, address=address,
                                        phone=phone)
    with case_session() as session:   # the version new cases open on
        proc = casework.window_procedure(procedure, version, session=session)
    notice = casework.notification_list(proc)
    opened = case_runner.opened(_engine(), proc.id, applicant.model_dump(), list(material),
                                proc.version)
    brought = set(material)
    items = [{"material_id": i.material_id, "name": i.name, "key": i.key, "count": i.count,
              "steps": list(i.steps), "brought": i.material_id in brought} for i in notice]
    if json_:
        print_json({**opened, "notification_list": items})
        return
    from api.cli._app import names_of
    from api.i18n import label

    t, names = words(lang), names_of(proc)
    out = console()
    out.print(t["cli.case.notice"].format(procedure=proc.name, version=proc.version,
                                      count=len(items)))
    for item in items:
        mark = "✓" if item["brought"] else ("✗" if item["key"] else "容缺")
        steps = t["cli.comma"].join(names.get(step, step) for step in item["steps"])
        out.print(f"  {mark:<4} {item['name']} ×{item['count']}  ({steps})")
    out.print(t["cli.case.opened"].format(case_id=opened["case_id"],
                                      status=label(t, "status", opened["status"]),
                                      due=opened["due_date"] or "—"))


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


@case_app.command("sign")
def sign(
    case_id: CaseArg,
    step: Annotated[str, typer.Argument(help="step id of a step allowing 告知承诺")],
    text: Annotated[str, typer.Option("--text", help="the commitment letter's text")],
    signed_by: Annotated[str, typer.Option("--signed-by", help="the applicant signing")],
    by: Annotated[str, typer.Option("--by", help="who records it at the window")] = "front desk",
    lang: LangOpt = "zh",
) -> None:
    """告知承诺: the applicant signs at the window; the step is decided at once and a 核查
    task is created for its department."""
    from api import case_runner

    t = words(lang)
    with case_session() as session:
        commitment, advance = case_runner.sign_commitment(
            session.get_bind(), session, case_id, step, text=text, signed_by=signed_by,
            recorded_by=by)
        names = _case_names(session, case_id)
    console().print(t["cli.case.signed"].format(
        case_id=case_id, step=names.get(step, step), due=commitment.check_due_date,
        advance=advance))


@case_app.command("check")
def check(
    case_id: CaseArg,
    step: Annotated[str, typer.Argument(help="step id the commitment was signed for")],
    result: Annotated[Literal["passed", "failed"], typer.Argument()],
    department: Annotated[str, typer.Option("--department", help="checking department id")],
    reason: Annotated[str | None, typer.Option("--reason", help="required when failed")] = None,
    by: Annotated[str, typer.Option("--by", help="who checked")] = "staff",
    lang: LangOpt = "zh",
) -> None:
    """Record the 核查 of a commitment; a failed one revokes the step's certificates."""
    from api import case_runner
    from api.i18n import label

    t = words(lang)
    with case_session() as session:
        _commitment, advance = case_runner.check_commitment(
            session.get_bind(), session, case_id, step, passed=result == "passed",
            department_id=department, checked_by=by, reason=reason)
        names = _case_names(session, case_id)
    console().print(t["cli.case.checked"].format(
        case_id=case_id, step=names.get(step, step), result=label(t, "check", result),
        advance=advance))


@case_app.command("promise")
def promise(
    case_id: CaseArg,
    material: Annotated[str, typer.Argument(help="id of a material owed under 容缺")],
    promised: Annotated[str, typer.Argument(help="the date promised, YYYY-MM-DD")],
    by: Annotated[str, typer.Option("--by", help="who records the promise")] = "front desk",
    lang: LangOpt = "zh",
) -> None:
    """容缺受理: the applicant promises an owed material by a date within the rules' bounds."""
    from api import case_runner
    from process_models.errors import InvalidInput

    try:
        day = date.fromisoformat(promised)
    except ValueError:
        raise InvalidInput(f"'{promised[:40]}' is not a date; write YYYY-MM-DD, e.g. 2025-03-07",
                           path="PROMISED") from None
    t = words(lang)
    with case_session() as session:
        case_runner.promise_material(session, case_id, material, day, by)
        names = _case_names(session, case_id)
    console().print(t["cli.case.promised"].format(case_id=case_id,
                                                  material=names.get(material, material), due=day))


@case_app.command("agent")
def agent(
    case_id: CaseArg,
    name: Annotated[str, typer.Option("--agent", help="the member of staff acting (帮办员)")],
    authorisation: Annotated[str, typer.Option(
        "--authorisation", help="the applicant's 委托书 or its number")],
    by: Annotated[str, typer.Option("--by", help="who records it")] = "front desk",
    lang: LangOpt = "zh",
) -> None:
    """帮办代办: record a member of staff acting on the case for its applicant."""
    from api import case_runner

    with case_session() as session:
        case_runner.record_agent(session, case_id, name, authorisation, by)
    console().print(words(lang)["cli.case.agent_recorded"].format(case_id=case_id, agent=name))


@case_app.command("checks")
def checks(
    department: Annotated[str | None, typer.Option(
        "--department", help="only this department's 核查 tasks")] = None,
    json_: JsonOpt = False,
    lang: LangOpt = "zh",
) -> None:
    """The open 核查 tasks of commitments signed at the window, soonest due first (red when
    overdue)."""
    from api.i18n import label
    from flows.casework.views import check_tasks

    t = words(lang)
    with case_session() as session:
        tasks = check_tasks(session, today=staff_today(), department_id=department)
        procs = procedure_names(session, {(t.procedure_id, t.procedure_version) for t in tasks})
    rows = [_shown(task, "check") for task in tasks]
    if json_:
        print_json(rows)
        return
    from api.cli._app import names_of

    out = console()
    for task, r in zip(tasks, rows, strict=True):
        own = names_of(procs[(task.procedure_id, task.procedure_version)])
        out.print(t["cli.case.check"].format(
            case_id=r["case_id"], step=own.get(r["step_id"], r["step_id"]),
            department=own.get(r["department_id"], r["department_id"]),
            due=r["check_due_date"], colour=label(t, "colour", r["colour"])))
    out.print(t["cli.case.checks"].format(count=len(rows)))


@case_app.command("show")
def show(case_id: CaseArg, json_: JsonOpt = False, lang: LangOpt = "zh") -> None:
    """A case's status, colour, steps, materials, commitments and certificates, by name."""
    from flows.casework.views import case_view

    t = words(lang)
    with case_session() as session:
        data = _case_data(case_view(session, case_id, today=staff_today()))
        key = (data["procedure_id"], data["procedure_version"])
        proc = procedure_names(session, [key])[key]
    if json_:
        print_json(data)
    else:
        _print_case(data, proc, t)


@case_app.command("list")
def list_cases(
    status: Annotated[str | None, typer.Option(
        "--status", help="only cases of this status, e.g. accepted")] = None,
    colour: Annotated[Literal["red", "yellow", "green"] | None, typer.Option(
        "--colour", help="only cases of this colour")] = None,
    json_: JsonOpt = False,
    lang: LangOpt = "zh",
) -> None:
    """Every case, one line each, with its red / yellow / green colour."""
    from flows.casework.tables import CaseStatus
    from flows.casework.views import case_board
    from process_models.errors import InvalidInput, did_you_mean

    statuses = [s.value for s in CaseStatus]
    if status is not None and status not in statuses:
        raise InvalidInput(f"unknown status '{status[:40]}'; use one of {', '.join(statuses)}",
                           path="--status", suggestion=did_you_mean(status, statuses))
    t = words(lang)
    with case_session() as session:
        board = case_board(session, today=staff_today(), status=status, colour=colour,
                           include_closed=True)
        procs = procedure_names(session, {(line.procedure_id, None) for line in board.lines})
    rows = [_shown(line, "line") for line in board.lines]
    if json_:
        print_json(rows)
        return
    from api.i18n import label

    out = console()
    for r in rows:
        out.print(t["cli.case.line"].format(
            case_id=r["case_id"], procedure=procs[(r["procedure_id"], None)].name,
            status=label(t, "status", r["status"]), colour=label(t, "colour", r["colour"]),
            due=r["due_date"] or "—", applicant=r["applicant_name"]))
    out.print(t["cli.case.count"].format(count=len(rows)))


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


@case_app.command("pause")
def pause(
    case_id: CaseArg,
    step: Annotated[str, typer.Argument(help="step id of a pending step")],
    reason: Annotated[str, typer.Option(
        "--reason", help="expert_review (专家评审), site_inspection (现场踏勘), hearing (听证), "
        "publicity (公示), testing (检验检测) or other")],
    counted: Annotated[bool | None, typer.Option(
        "--counted/--not-counted", help="whether the time counts in the legal limit "
        "(default: not counted for 专家评审, 听证, 公示, 检验检测 — 第45条; counted otherwise)")]
    = None,
    by: Annotated[str, typer.Option("--by", help="who pauses the step")] = "staff",
    lang: LangOpt = "zh",
) -> None:
    """Hold a step's clock for a special procedure (行政许可法 第45条); the ledger keeps it."""
    from api.i18n import label
    from flows import casework

    t = words(lang)
    with case_session() as session:
        casework.pause_step(session, case_id, step, reason, by=by, now=staff_now(), counted=counted)
        view = next(s for s in casework.case_view(session, case_id, today=staff_today()).steps
                    if s.step_id == step)
        names = _case_names(session, case_id)
    last = view.pauses[-1]
    console().print(t["cli.case.paused"].format(
        case_id=case_id, step=names.get(step, step), reason=label(t, "pause", last.reason),
        counted=t["pause.counted" if last.counted else "pause.not_counted"]))


@case_app.command("resume")
def resume(
    case_id: CaseArg,
    step: Annotated[str, typer.Argument(help="step id of a paused step")],
    reason: Annotated[str | None, typer.Option(
        "--reason", help="an admin's repair of a step stuck in 补正: why it is resumed")] = None,
    by: Annotated[str, typer.Option("--by", help="who resumes the step")] = "staff",
    lang: LangOpt = "zh",
) -> None:
    """End a step's pause (its due date moves by the working days not counted); with
    --reason, an admin's repair of a step stuck in 补正 (recorded in the audit trail)."""
    from flows import casework

    t = words(lang)
    with case_session() as session:
        if reason is not None:
            casework.resume_step(session, case_id, step, by=by, reason=reason, now=staff_now())
        else:
            casework.end_pause(session, case_id, step, by=by, now=staff_now())
        view = next(s for s in casework.case_view(session, case_id, today=staff_today()).steps
                    if s.step_id == step)
        names = _case_names(session, case_id)
    console().print(t["cli.case.pause_ended"].format(case_id=case_id, step=names.get(step, step),
                                                     due=view.due_date))


@app.command()
def worker(
    pool: Annotated[str, typer.Option("--pool", help="work pool (server mode)")] = "onething",
    interval_seconds: Annotated[float, typer.Option(
        "--interval-seconds", help="how often the relay looks for rows left behind")] = 2.0,
) -> None:
    """Run the outbox relay and, in server mode, a Prefect worker of the work pool."""
    from flows.worker import run_worker

    run_worker(pool=pool, interval_seconds=interval_seconds)
