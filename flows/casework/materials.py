"""Materials brought after opening: owed (容缺) or asked for (补正); paused steps resume;
the applicant's promise to bring an owed material by a date (:func:`promise_material`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from flows.casework._rows import (
    CASE_STATE,
    DECISIONS_WITH,
    NOT_RECEIVED,
    PAUSED_STEPS,
    SAVE_CASES,
    SAVE_STEPS,
    STEP_STATE,
    Transaction,
    as_model,
    ensure_open,
    new_submission,
    read_case,
    read_steps,
    read_submissions,
    save_submissions,
)
from flows.casework.definitions import case_procedure
from flows.casework.due_dates import DEFERRAL_WORKING_DAYS, planned_due_date
from flows.casework.notice import check_materials
from flows.casework.opening import accept_case
from flows.casework.pauses import close_pause
from flows.casework.tables import (
    Case,
    CaseStatus,
    StepStatus,
    SubmissionStatus,
    aware_time,
)
from process_models.calendar import default_calendar, local_date
from process_models.errors import Conflict, InvalidInput

__all__ = [
    "promise_bounds",
    "promise_material",
    "resume_step",
    "stuck_steps",
    "submit_materials",
]


def submit_materials(
    session: Session, case_id: str, material_ids: Sequence[str], *, now: datetime,
    deferral_working_days: int = DEFERRAL_WORKING_DAYS,
) -> Case:
    """Record materials brought later: 补正 at the window, owed 容缺 items, or a step's request.

    When the last requested key material arrives the case is accepted; a step paused for
    补正 resumes when every material it asked for has arrived, its due date moved by the
    working days it was paused. A material already received is a duplicate submission.
    """
    at = aware_time(now)
    today = local_date(at)
    with Transaction(session) as tx:
        case, definition = read_case(tx, case_id)
        ensure_open(case, "submit materials")
        proc = case_procedure(case, definition)
        if not material_ids:
            raise InvalidInput("no materials given; name at least one material id",
                               path="material_ids")
        ids = check_materials(proc, material_ids, path="material_ids")
        rows = read_submissions(tx, [case.id])[case.id]
        for material_id in ids:
            row = rows.get(material_id)
            if row is not None and row.status == SubmissionStatus.RECEIVED:
                raise InvalidInput(
                    f"duplicate submission: material '{material_id}' of case {case.id} was "
                    f"already received on {local_date(row.received_at)}; nothing was recorded"
                )
        for material_id in ids:
            row = rows.setdefault(material_id, new_submission(case.id, material_id,
                                                               SubmissionStatus.RECEIVED))
            row.status, row.received_at = SubmissionStatus.RECEIVED, at
        tx.audit(case.id, "materials_received", {"materials": ids}, at)

        steps = read_steps(tx, [case.id])[case.id]
        accepted = case.status == CaseStatus.AWAITING_SUPPLEMENT and not any(
            r.status == SubmissionStatus.REQUESTED and r.requested_by_step is None
            and proc.material(r.material_id).key for r in rows.values()
        )
        started = (accept_case(tx, case, proc, rows.values(), steps, at, deferral_working_days)
                   if accepted else [])
        resumed = _resume_steps(tx, case, steps, rows, today, at)
        if resumed:
            paused = {s.step_id: s.paused_working_days for s in steps}
            case.due_date = planned_due_date(proc, local_date(case.accepted_at), paused)
            case.version += 1
        if accepted or resumed:
            tx.save(SAVE_CASES, [case], CASE_STATE)
        tx.save(SAVE_STEPS, started + resumed, STEP_STATE)
        save_submissions(tx, rows.values())
        tx.outbox(case.id, "materials_submitted",
                  {"materials": ids, "resumed": [s.step_id for s in resumed]}, at)
    return as_model(Case, case)


def promise_bounds(today: date, due_date: date, *, margin_working_days: int,
                   max_working_days: int) -> date:
    """The latest date a 容缺 promise made on ``today`` may name for a case due on
    ``due_date``: at most ``max_working_days`` away and at least ``margin_working_days``
    before the committed limit (深圳's rule: 20 and 2).

    >>> from datetime import date
    >>> promise_bounds(date(2025, 3, 3), date(2025, 3, 31), margin_working_days=2,
    ...                max_working_days=20)
    datetime.date(2025, 3, 27)
    """
    calendar = default_calendar()
    return min(calendar.add_working_days(today, max_working_days),
               calendar.add_working_days(due_date, -margin_working_days))


def promise_material(
    session: Session, case_id: str, material_id: str, promised: date, *, by: str,
    now: datetime, margin_working_days: int | None = None,
    max_working_days: int | None = None,
) -> Case:
    """容缺受理: the applicant promises to bring the owed ``material_id`` by ``promised``.

    The date lies after today and no later than :func:`promise_bounds` (settings
    ``promise_margin_working_days``, ``promise_max_working_days``); else one line says the
    latest date allowed. The material is then owed by that date; a missed promise ends the
    case when the sweep finds it (:func:`~flows.casework.sweep`). Recorded as a
    ``material_promised`` audit event.
    """
    from process_models.settings import settings

    by = (by or "").strip()
    if not by:
        raise InvalidInput("no member of staff named; say who records the promise", path="by")
    margin = (settings.promise_margin_working_days if margin_working_days is None
              else margin_working_days)
    furthest = settings.promise_max_working_days if max_working_days is None else max_working_days
    at = aware_time(now)
    today = local_date(at)
    with Transaction(session) as tx:
        case, definition = read_case(tx, case_id)
        ensure_open(case, f"accept a promise for material '{material_id}'")
        check_materials(case_procedure(case, definition), [material_id], path="material_id")
        row = read_submissions(tx, [case.id])[case.id].get(material_id)
        if row is None or row.status != SubmissionStatus.DEFERRED or case.due_date is None:
            status = ("the case is not accepted yet" if case.due_date is None
                      else "it is not owed" if row is None else f"it is '{row.status}'")
            raise Conflict(f"material '{material_id}' of case {case.id} cannot be promised: "
                           f"{status}; only a 容缺 material owed by an accepted case can")
        latest = promise_bounds(today, case.due_date, margin_working_days=margin,
                                max_working_days=furthest)
        if not today < promised <= latest:
            raise InvalidInput(
                f"promised date {promised} for material '{material_id}' of case {case.id} is "
                f"outside the 容缺 bounds (after {today}, at most {furthest} working days away "
                f"and {margin} before the committed limit {case.due_date}); promise a date "
                + (f"from {_next_working_day(today)} to {latest}" if latest > today
                   else "— none is left: bring the material now"), path="promised")
        row.due_date, row.promised_at = promised, at
        tx.audit(case.id, "material_promised", {
            "material_id": material_id, "promised": promised.isoformat(), "by": by}, at)
        save_submissions(tx, [row])
    return as_model(Case, case)


def _next_working_day(day: date) -> date:
    """The working day after ``day``."""
    return default_calendar().add_working_days(day, 1)


def _resume_steps(tx: Transaction, case, steps: list, rows: dict[str, Any], today: date,
                  at: datetime) -> list:
    """Resume the steps paused for 补正 whose requested materials have all arrived."""
    paused_steps = [s for s in steps if s.status == StepStatus.SUPPLEMENT]
    if not paused_steps:
        return []
    asked = {request.case_step_id: request.materials or [] for request in tx.execute(
        DECISIONS_WITH, {"ids": [case.id], "outcome": "supplement"})}
    resumed = []
    for step in paused_steps:
        if any(rows.get(m) is None or rows[m].status != SubmissionStatus.RECEIVED
               for m in asked.get(step.id, [])):
            continue
        _resume(tx, case, step, today, at, "step_resumed", {})
        resumed.append(step)
    return resumed


def _resume(tx: Transaction, case, step, today: date, at: datetime, kind: str,
            details: dict[str, Any]) -> None:
    """Resume the step paused for 补正 in place: its due date moves by the working days
    paused (:func:`~flows.casework.pauses.close_pause`)."""
    paused = close_pause(tx, step, today=today, by=details.get("by", "applicant"))
    step.status = StepStatus.PENDING
    tx.audit(case.id, kind, {
        "step_id": step.step_id, "paused_working_days": paused,
        "due_date": step.due_date.isoformat(), **details,
    }, at)


def stuck_steps(session: Session, case_ids: Sequence[str]) -> dict[str, list[str]]:
    """The steps of ``case_ids`` paused for 补正 that no material brought can resume: every
    material their 补正 asked for was received (or it asked for none). Only an admin's
    :func:`resume_step` moves them on.
    """
    if not case_ids:
        return {}
    paused = session.execute(PAUSED_STEPS, {"ids": list(case_ids)}).all()
    if not paused:
        return {}
    asked = {request.case_step_id: request.materials or [] for request in session.execute(
        DECISIONS_WITH, {"ids": [p.case_id for p in paused], "outcome": "supplement"})}
    owed = {(row.case_id, row.material_id) for row in session.execute(
        NOT_RECEIVED, {"ids": [p.case_id for p in paused]})}
    stuck: dict[str, list[str]] = {}
    for step in paused:
        if not any((step.case_id, m) in owed for m in asked.get(step.id, [])):
            stuck.setdefault(step.case_id, []).append(step.step_id)
    return stuck


def resume_step(session: Session, case_id: str, step_id: str, *, by: str, reason: str,
                now: datetime) -> Case:
    """An admin's repair: resume the step ``step_id`` paused for 补正, whatever it waits for.

    The way out for a step nothing else can move on (:func:`stuck_steps`); materials it asked
    for and not yet brought stay owed. Recorded as a ``step_repaired`` audit event naming
    ``by`` and the ``reason``.
    """
    if not reason or not reason.strip():
        raise InvalidInput("resuming a paused step needs a reason; give one", path="reason")
    at = aware_time(now)
    with Transaction(session) as tx:
        case, definition = read_case(tx, case_id)
        ensure_open(case, f"resume step '{step_id}'")
        proc = case_procedure(case, definition)
        proc.step(step_id)
        steps = read_steps(tx, [case.id])[case.id]
        step = next((s for s in steps if s.step_id == step_id), None)
        if step is None or step.status != "supplement":
            status = "not part of the case" if step is None else f"'{step.status}'"
            raise Conflict(f"step '{step_id}' of case {case.id} is {status}, not paused for "
                           "补正; only a paused step can be resumed")
        _resume(tx, case, step, local_date(at), at, "step_repaired",
                {"by": by, "reason": reason.strip()})
        paused = {s.step_id: s.paused_working_days for s in steps}
        case.due_date = planned_due_date(proc, local_date(case.accepted_at), paused)
        case.version += 1
        tx.save(SAVE_CASES, [case], CASE_STATE)
        tx.save(SAVE_STEPS, [step], STEP_STATE)
    return as_model(Case, case)
