"""Operations on running cases: open, submit materials, decide, advance, withdraw.

Every operation is one transaction on a SQLModel ``Session``: it checks its input,
takes the write lock (:func:`flows.casework.store.begin_write` and the audit chain
head, :func:`~flows.casework._rows.lock_chain`), changes the tables of
:mod:`flows.casework.tables`, appends hash-chained :class:`~flows.casework.tables.AuditEvent` rows and an
:class:`~flows.casework.tables.Outbox` row, and commits. Bad input raises one
:class:`~process_models.errors.OnethingError` and writes nothing.

``now`` is passed in (aware, or naive service-centre time); days count on the
working-day calendar (:func:`process_models.calendar.default_calendar`), the
acceptance day not counted. The 一次性告知单 is :mod:`flows.casework.notice`, due dates
:mod:`flows.casework.due_dates`, colours and the sweep :mod:`flows.casework.colours`.

>>> import tempfile, pathlib
>>> from datetime import datetime
>>> from sqlmodel import Session
>>> from process_models import parse_procedure
>>> from flows.casework import notification_list, verify_chain
>>> from flows.casework.store import init_db, make_engine
>>> shop = parse_procedure('''
... id: shop
... name: 开店
... departments: [{id: samr, name: 市场监管局}, {id: tax, name: 税务局}]
... materials: [{id: id_card, name: 身份证}, {id: lease, name: 租赁合同, key: false}]
... steps:
...   - {id: licence, name: 营业执照, department: samr, committed: {days: 3},
...      materials: [id_card, lease], certificates: [营业执照]}
...   - {id: invoice, name: 发票申领, department: tax, committed: {days: 1},
...      depends_on: [licence], materials: [id_card], certificates: [发票]}
... ''')
>>> [(item.material_id, item.steps) for item in notification_list(shop)]
[('id_card', ('licence', 'invoice')), ('lease', ('licence',))]
>>> engine = make_engine(f"sqlite:///{pathlib.Path(tempfile.mkdtemp()) / 'cases.db'}")
>>> init_db(engine)
>>> with Session(engine) as session:
...     case = open_case(session, shop, Applicant("张三", "11010519491231002X"), ["id_card"],
...                      now=datetime(2025, 1, 24, 9, 30))    # lease owed (容缺受理)
...     print(case.id, case.status, case.due_date)
...     case = submit_materials(session, case.id, ["lease"], now=datetime(2025, 1, 26, 9, 0))
...     for step_id, department_id, day in [("licence", "samr", 27), ("invoice", "tax", 28)]:
...         _ = decide(session, case.id, step_id, "approve", department_id=department_id,
...                    decided_by="王五", now=datetime(2025, 1, day, 10, 0))
...         result = advance_case(session, case.id, now=datetime(2025, 1, day, 10, 1))
...     print(result.status, result.certificates, verify_chain(session).ok)
C-20250124-0001 accepted 2025-02-06
approved ('C-20250124-0001-01', 'C-20250124-0001-02') True
>>> engine.dispose()
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from flows.casework._rows import (
    _CASE_STATE,
    _CASES,
    _CERTIFICATES,
    _DECIDE,
    _DECISIONS,
    _DECISIONS_WITH,
    _ISSUED,
    _LAST_DECISION,
    _READ_FOR_DECISION,
    _READ_STEP,
    _SAVE_CASES,
    _SAVE_STEPS,
    _STEP_STATE,
    _STEPS,
    _SUBMISSION_STATE,
    _SUBMISSIONS,
    _CaseRow,
    _ensure_open,
    _model,
    _new_submission,
    _next_case_id,
    _not_found,
    _read_case,
    _read_cases,
    _read_steps,
    _read_submissions,
    _save_submissions,
    _StepRow,
    _Transaction,
)
from flows.casework.definitions import _active_steps, _procedure, store_procedure
from flows.casework.due_dates import (
    DEFERRAL_WORKING_DAYS,
    _calendar,
    _dependency_day,
    _planned_due_date,
    _ready_day,
    _step_due,
)
from flows.casework.identity import check_id_number, mask_id_number
from flows.casework.notice import _check_materials, notification_list
from flows.casework.tables import (
    OUTCOMES,
    Case,
    Decision,
    aware_time,
    local_date,
)
from process_models.errors import (
    Conflict,
    DecisionConflict,
    Forbidden,
    InvalidInput,
    did_you_mean,
)
from process_models.procedure import Procedure

__all__ = [
    "ADVANCE_BATCH_CASES",
    "AdvanceResult",
    "Applicant",
    "advance_case",
    "advance_cases",
    "decide",
    "open_case",
    "submit_materials",
    "withdraw_case",
]

_OUTCOME_STATUS = {"approve": "approved", "reject": "rejected", "supplement": "supplement"}
_OPEN_STEP_STATUSES = ("waiting", "pending", "supplement")


@dataclass(frozen=True)
class Applicant:
    """Who applies: name and ID number (checked, GB 11643), address and phone optional."""

    name: str
    id_number: str
    address: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class AdvanceResult:
    """What one :func:`advance_case` call changed (empty when there was nothing to do)."""

    case_id: str
    status: str
    started: tuple[str, ...] = ()
    certificates: tuple[str, ...] = ()
    closed: bool = False


def open_case(
    session: Session,
    proc: Procedure,
    applicant: Applicant,
    submitted: Sequence[str],
    *,
    now: datetime,
    deferral_working_days: int = DEFERRAL_WORKING_DAYS,
) -> Case:
    """Open a case at the window (一窗受理) with the materials the applicant brought.

    Missing key materials → ``awaiting_supplement`` (补正: not accepted; the missing ones
    are ``requested``). Missing non-key ones → accepted under 容缺受理, each owed
    (``deferred``) within ``deferral_working_days``. On acceptance the steps without
    dependencies start with their committed due dates.
    """
    at = aware_time(now)
    today = local_date(at)
    if not applicant.name or not applicant.name.strip():
        raise InvalidInput("applicant name is empty; give the applicant's name", path="applicant_name")
    id_number = check_id_number(applicant.id_number, today=today)
    received = _check_materials(proc, submitted, path="submitted")
    notice = notification_list(proc)
    missing_key = [i.material_id for i in notice if i.key and i.material_id not in received]
    owed = [i.material_id for i in notice if not i.key and i.material_id not in received]

    with _Transaction(session) as tx:
        store_procedure(session, proc, now=at)
        case = _CaseRow(
            id=_next_case_id(tx, today), procedure_id=proc.id,
            procedure_version=proc.version, applicant_name=applicant.name.strip(),
            applicant_id_number=id_number, applicant_address=applicant.address,
            applicant_phone=applicant.phone,
            status="awaiting_supplement" if missing_key else "accepted", received_at=at,
            accepted_at=None, due_date=None, closed_at=None, close_reason=None, colour=None,
            version=1,
        )
        submissions = (
            [_new_submission(case.id, m, "received", received_at=at) for m in received]
            + [_new_submission(case.id, m, "requested") for m in missing_key]
            + [_new_submission(case.id, m, "deferred") for m in owed]
        )
        steps = [
            _StepRow(id=None, case_id=case.id, step_id=step.id, department_id=step.department,
                     status="waiting", started_at=None, due_date=None, paused_on=None,
                     paused_working_days=0, colour=None, escalated_at=None, version=1,
                     decided_at=None)
            for step in _active_steps(proc)
        ]
        tx.audit(case.id, "case_opened", {
            "procedure_id": proc.id, "procedure_version": proc.version,
            "applicant_id_number": mask_id_number(id_number), "received": received,
            "missing": missing_key, "owed": owed,
        }, at)
        if missing_key:
            tx.audit(case.id, "supplement_requested",
                     {"step_id": None, "materials": missing_key}, at)
        else:
            _accept(tx, case, proc, submissions, steps, at, deferral_working_days)
        tx.insert(_CASES, [case], [column.name for column in _CASES.columns])
        tx.insert(_SUBMISSIONS, submissions, ("case_id", "material_id", *_SUBMISSION_STATE))
        tx.insert(_STEPS, steps, ("case_id", "step_id", "department_id", *_STEP_STATE))
        tx.outbox(case.id, "case_opened", {"status": case.status}, at)
    return _model(Case, case)


def _accept(tx: _Transaction, case, proc: Procedure, submissions: Iterable, steps: list,
            at: datetime, deferral_working_days: int) -> list:
    """Accept ``case``: owed materials get their due date, the ready steps start.

    Changes the records in place; returns the steps it started (the caller writes them).
    """
    today = local_date(at)
    case.status = "accepted"
    case.accepted_at = at
    case.version += 1
    owed_until = _calendar().add_working_days(today, deferral_working_days)
    owed = [s for s in submissions if s.status == "deferred"]
    for row in owed:
        row.due_date = owed_until
    case.due_date = _planned_due_date(proc, today, {})
    tx.audit(case.id, "case_accepted", {
        "due_date": case.due_date.isoformat(),
        "owed": {row.material_id: owed_until.isoformat() for row in owed},
    }, at)
    return _start_ready_steps(tx, case, proc, steps, at)


def _start_ready_steps(tx: _Transaction, case, proc: Procedure, steps: list,
                       at: datetime) -> list:
    """Start the waiting steps whose dependencies are met; the steps started."""
    definitions = {s.id: s for s in proc.steps}
    finished = {s.step_id: local_date(s.decided_at) for s in steps
                if s.status == "approved" and s.decided_at is not None}
    accepted = local_date(case.accepted_at)
    started = []
    for row in steps:
        if row.status != "waiting":
            continue
        start_day = _ready_day(proc, definitions[row.step_id], finished, accepted)
        if start_day is None:
            continue
        row.status = "pending"
        row.started_at = at
        row.due_date = _step_due(definitions[row.step_id], start_day)
        row.version += 1
        started.append(row)
        tx.audit(case.id, "step_started", {
            "step_id": row.step_id, "department_id": row.department_id,
            "due_date": row.due_date.isoformat(),
        }, at)
    return started


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
    with _Transaction(session) as tx:
        case, definition = _read_case(tx, case_id)
        _ensure_open(case, "submit materials")
        proc = _procedure(case, definition)
        if not material_ids:
            raise InvalidInput("no materials given; name at least one material id",
                               path="material_ids")
        ids = _check_materials(proc, material_ids, path="material_ids")
        rows = _read_submissions(tx, [case.id])[case.id]
        for material_id in ids:
            row = rows.get(material_id)
            if row is not None and row.status == "received":
                raise InvalidInput(
                    f"duplicate submission: material '{material_id}' of case {case.id} was "
                    f"already received on {local_date(row.received_at)}; nothing was recorded"
                )
        for material_id in ids:
            row = rows.setdefault(material_id, _new_submission(case.id, material_id, "received"))
            row.status, row.received_at = "received", at
        tx.audit(case.id, "materials_received", {"materials": ids}, at)

        steps = _read_steps(tx, [case.id])[case.id]
        accepted = case.status == "awaiting_supplement" and not any(
            r.status == "requested" and r.requested_by_step is None
            and proc.material(r.material_id).key for r in rows.values()
        )
        started = (_accept(tx, case, proc, rows.values(), steps, at, deferral_working_days)
                   if accepted else [])
        resumed = _resume_steps(tx, case, steps, rows, today, at)
        if resumed:
            paused = {s.step_id: s.paused_working_days for s in steps}
            case.due_date = _planned_due_date(proc, local_date(case.accepted_at), paused)
            case.version += 1
        if accepted or resumed:
            tx.save(_SAVE_CASES, [case], _CASE_STATE)
        tx.save(_SAVE_STEPS, started + resumed, _STEP_STATE)
        _save_submissions(tx, rows.values())
        tx.outbox(case.id, "materials_submitted",
                  {"materials": ids, "resumed": [s.step_id for s in resumed]}, at)
    return _model(Case, case)


def _resume_steps(tx: _Transaction, case, steps: list, rows: dict[str, Any], today: date,
                  at: datetime) -> list:
    """Resume the steps paused for 补正 whose requested materials have all arrived."""
    paused_steps = [s for s in steps if s.status == "supplement"]
    if not paused_steps:
        return []
    asked = {request.case_step_id: request.materials or [] for request in tx.execute(
        _DECISIONS_WITH, {"ids": [case.id], "outcome": "supplement"})}
    resumed = []
    for step in paused_steps:
        if any(rows.get(m) is None or rows[m].status != "received"
               for m in asked.get(step.id, [])):
            continue
        paused = max(0, _calendar().working_days_between(step.paused_on, today))
        if paused:
            step.due_date = _calendar().add_working_days(step.due_date, paused)
        step.paused_working_days += paused
        step.paused_on = None
        step.status = "pending"
        step.version += 1
        resumed.append(step)
        tx.audit(case.id, "step_resumed", {
            "step_id": step.step_id, "paused_working_days": paused,
            "due_date": step.due_date.isoformat(),
        }, at)
    return resumed


def _decided_by_message(tx: _Transaction, case, step) -> str:
    last = tx.execute(_LAST_DECISION, {"case_step_id": step.id}).first()
    if last is None:
        return f"step '{step.step_id}' of case {case.id} changed (now version {step.version})"
    return (
        f"step '{step.step_id}' of case {case.id} was already decided: {last.outcome} by "
        f"{last.decided_by} ({last.department_id}) at {last.decided_at:%Y-%m-%d %H:%M} UTC"
    )


def _read_for_decision(tx: _Transaction, case_id: str, step_id: str):
    """In one statement: the case, its stored definition, its step ``step_id`` (``None``
    if it has none) and the ids of its materials not received yet."""
    rows = tx.execute(_READ_FOR_DECISION, {"case_id": case_id, "step_id": step_id}).all()
    if not rows:
        raise _not_found(tx, case_id)
    case_end = len(_CASES.columns)
    first = rows[0]
    step = _StepRow(*first[case_end + 1:-1]) if first[case_end + 1] is not None else None
    return (_CaseRow(*first[:case_end]), first[case_end], step,
            [row[-1] for row in rows if row[-1] is not None])


def decide(
    session: Session,
    case_id: str,
    step_id: str,
    outcome: str,
    *,
    department_id: str,
    decided_by: str,
    reason: str | None = None,
    materials: Sequence[str] = (),
    expected_version: int | None = None,
    now: datetime,
) -> Decision:
    """A department's decision on its own step: ``approve``, ``reject`` or ``supplement``.

    One transaction: a conditional update of the step (``WHERE id = ? AND version = ?
    AND status = 'pending'``; no row → :class:`DecisionConflict` naming who decided it),
    the :class:`Decision`, an audit event and an outbox row. ``reject`` and
    ``supplement`` need a ``reason``; ``supplement`` (补正) may name the ``materials`` to
    bring again and pauses the step's legal clock until they arrive.
    """
    if outcome not in OUTCOMES:
        raise InvalidInput(
            f"unknown outcome '{outcome}'; use approve, reject or supplement",
            path="outcome", suggestion=did_you_mean(outcome, OUTCOMES),
        )
    if not decided_by or not decided_by.strip():
        raise InvalidInput("decided_by is empty; name the member of staff deciding",
                           path="decided_by")
    if outcome != "approve" and not (reason and reason.strip()):
        raise InvalidInput(f"a {outcome} decision needs a reason; give one with the decision",
                           path="reason")
    at = aware_time(now)
    with _Transaction(session) as tx:
        case, stored, step, not_received = _read_for_decision(tx, case_id, step_id)
        proc = _procedure(case, stored)
        definition = proc.step(step_id)
        proc.department(department_id)
        asked = _check_materials(proc, materials, path="materials") if materials else []
        _ensure_open(case, f"decide step '{step_id}'")
        if case.status == "awaiting_supplement":
            raise Conflict(f"case {case.id} is not accepted yet (waiting for 补正 materials); "
                           f"step '{step_id}' cannot be decided")
        if definition.department != department_id:
            raise Forbidden(
                f"step '{step_id}' belongs to department '{definition.department}'; department "
                f"'{department_id}' may decide only its own steps"
            )
        if step is None:
            raise Conflict(f"step '{step_id}' is not part of case {case.id} "
                           "(a follow-up check runs after issue)")
        version = step.version if expected_version is None else expected_version
        if step.status in ("approved", "rejected") or step.version != version:
            raise DecisionConflict(_decided_by_message(tx, case, step) + "; reload the case")
        if step.status == "waiting":
            finished = {s.step_id: date.min for s in _read_steps(tx, [case.id])[case.id]
                        if s.status == "approved"}
            waits = ", ".join(d.step for d in definition.depends_on
                              if _dependency_day(proc, d.step, finished) is None)
            raise Conflict(f"step '{step_id}' of case {case.id} is not ready: it waits for {waits}")
        if step.status == "supplement":
            raise Conflict(f"step '{step_id}' of case {case.id} is paused for 补正; it resumes "
                           "when the requested materials arrive")
        if step.status == "cancelled":
            raise Conflict(f"step '{step_id}' of case {case.id} was cancelled")
        if outcome == "approve":
            owed = [m for m in not_received if m in definition.materials]
            if owed:
                names = ", ".join(f"'{m}'" for m in owed)
                raise Conflict(f"step '{step_id}' of case {case.id} needs material {names} "
                               "still owed; record it with submit_materials before approving")

        moment = "paused_on" if outcome == "supplement" else "decided_at"
        result = tx.execute(_DECIDE[moment], {
            "row_id": step.id, "expected": version, "status": _OUTCOME_STATUS[outcome],
            "version": version + 1, moment: local_date(at) if moment == "paused_on" else at,
        })
        if result.rowcount != 1:
            step = _StepRow(*tx.execute(_READ_STEP, {"row_id": step.id}).one())
            raise DecisionConflict(_decided_by_message(tx, case, step) + "; reload the case")
        values = {
            "case_id": case.id, "case_step_id": step.id, "step_id": step_id,
            "outcome": outcome, "reason": reason, "materials": asked or None,
            "decided_by": decided_by.strip(), "department_id": department_id, "decided_at": at,
        }
        decision = Decision(id=tx.execute(insert(_DECISIONS), values).inserted_primary_key[0],
                            **values)
        if asked:
            rows = _read_submissions(tx, [case.id])[case.id]
            for material_id in asked:
                row = rows.setdefault(material_id,
                                      _new_submission(case.id, material_id, "requested"))
                row.status, row.requested_by_step, row.received_at = "requested", step_id, None
            _save_submissions(tx, [rows[m] for m in asked])
        tx.audit(case.id, "decision", {
            "decision_id": decision.id, "step_id": step_id, "department_id": department_id,
            "outcome": outcome, "reason": reason, "materials": asked,
            "decided_by": decision.decided_by, "step_version": version + 1,
        }, at)
        tx.outbox(case.id, "decision",
                  {"decision_id": decision.id, "step_id": step_id, "outcome": outcome}, at)
    return decision


ADVANCE_BATCH_CASES = 100
"""Cases :func:`advance_cases` moves on per transaction (writers wait at most one batch)."""


def advance_case(session: Session, case_id: str, *, now: datetime) -> AdvanceResult:
    """Move a case on after a decision; running it twice changes nothing the second time.

    Starts the steps whose dependencies are now met; when every step is approved, issues
    every certificate at once (一次办结) and closes the case ``approved``; when a step was
    rejected, cancels the open steps and closes the case ``rejected`` with that reason.
    """
    return advance_cases(session, [case_id], now=now)[0]


def advance_cases(session: Session, case_ids: Iterable[str], *,
                  now: datetime) -> list[AdvanceResult]:
    """:func:`advance_case` for many cases, one result per distinct case id, in order.

    One transaction per :data:`ADVANCE_BATCH_CASES` cases: their cases and steps are read
    with one statement each and their changes written with one statement per table.
    """
    at = aware_time(now)
    ids = list(dict.fromkeys(case_ids))
    results: list[AdvanceResult] = []
    for first in range(0, len(ids), ADVANCE_BATCH_CASES):
        with _Transaction(session) as tx:
            results += _advance_batch(tx, ids[first:first + ADVANCE_BATCH_CASES], at)
    return results


def _advance_batch(tx: _Transaction, case_ids: list[str], at: datetime) -> list[AdvanceResult]:
    cases = _read_cases(tx, case_ids)
    open_ids = [i for i in case_ids if cases[i][0].status == "accepted"]
    steps = _read_steps(tx, open_ids)
    rejected_ids = [i for i in open_ids if any(s.status == "rejected" for s in steps[i])]
    reasons: dict[str, list[str]] = {case_id: [] for case_id in rejected_ids}
    if rejected_ids:
        for row in tx.execute(_DECISIONS_WITH, {"ids": rejected_ids, "outcome": "reject"}):
            reasons[row.case_id].append(f"{row.step_id}: {row.reason}")
    closing = [i for i in open_ids if all(s.status == "approved" for s in steps[i])]
    issued: set[tuple[str, str, str]] = set()
    if closing:
        issued = {tuple(row) for row in tx.execute(_ISSUED, {"ids": closing})}
    results, changed_cases, changed_steps, certificates = [], [], [], []
    for case_id in case_ids:
        case, definition = cases[case_id]
        if case.status != "accepted":
            results.append(AdvanceResult(case_id=case.id, status=case.status))
            continue
        case_steps = steps[case_id]
        if case_id in reasons:
            changed_steps += _close_rejected(tx, case, case_steps, "; ".join(reasons[case_id]),
                                             at)
            changed_cases.append(case)
            results.append(AdvanceResult(case.id, case.status, closed=True))
            continue
        proc = _procedure(case, definition)
        started = _start_ready_steps(tx, case, proc, case_steps, at)
        changed_steps += started
        started_ids = tuple(s.step_id for s in started)
        if started:
            tx.outbox(case.id, "steps_started", {"steps": list(started_ids)}, at)
        if not all(s.status == "approved" for s in case_steps):
            results.append(AdvanceResult(case.id, case.status, started_ids))
            continue
        numbers = _issue_certificates(case, proc, case_steps, issued, certificates, at)
        case.status, case.closed_at = "approved", at
        case.version += 1
        changed_cases.append(case)
        tx.audit(case.id, "case_approved", {"certificates": numbers}, at)
        tx.outbox(case.id, "case_closed", {"status": "approved", "certificates": numbers}, at)
        results.append(AdvanceResult(case.id, case.status, started_ids, tuple(numbers), True))
    tx.save(_SAVE_STEPS, changed_steps, _STEP_STATE)
    tx.save(_SAVE_CASES, changed_cases, _CASE_STATE)
    if certificates:
        tx.execute(insert(_CERTIFICATES), certificates)
    return results


def _issue_certificates(case, proc: Procedure, steps: list, issued: set[tuple[str, str, str]],
                        certificates: list[dict[str, Any]], at: datetime) -> list[str]:
    """Add to ``certificates`` every certificate of ``case`` not ``issued`` yet; their numbers."""
    index = sum(1 for (case_id, _, _) in issued if case_id == case.id)
    numbers = []
    for row in steps:
        for name in proc.step(row.step_id).certificates:
            if (case.id, row.step_id, name) in issued:
                continue
            issued.add((case.id, row.step_id, name))
            index += 1
            numbers.append(f"{case.id}-{index:02d}")
            certificates.append({
                "number": numbers[-1], "name": name, "case_id": case.id,
                "step_id": row.step_id, "department_id": row.department_id, "issued_at": at,
            })
    return numbers


def _cancel_open_steps(steps: Iterable) -> list:
    """Cancel the open steps among ``steps``; the steps cancelled."""
    cancelled = []
    for row in steps:
        if row.status in _OPEN_STEP_STATUSES:
            row.status = "cancelled"
            row.version += 1
            cancelled.append(row)
    return cancelled


def _close_rejected(tx: _Transaction, case, steps: list, reason: str, at: datetime) -> list:
    """Close ``case`` rejected; the steps it cancelled."""
    cancelled = _cancel_open_steps(steps)
    case.status, case.closed_at, case.close_reason = "rejected", at, reason
    case.version += 1
    tx.audit(case.id, "case_rejected", {
        "rejected": [s.step_id for s in steps if s.status == "rejected"],
        "cancelled": [s.step_id for s in cancelled], "reason": reason,
    }, at)
    tx.outbox(case.id, "case_closed", {"status": "rejected", "reason": reason}, at)
    return cancelled


def withdraw_case(session: Session, case_id: str, *, reason: str, now: datetime) -> Case:
    """The applicant withdraws (撤回): open steps are cancelled and the case closes."""
    if not reason or not reason.strip():
        raise InvalidInput("withdrawing a case needs a reason; give one", path="reason")
    at = aware_time(now)
    with _Transaction(session) as tx:
        case, _definition = _read_case(tx, case_id)
        _ensure_open(case, "withdraw it")
        cancelled = _cancel_open_steps(_read_steps(tx, [case.id])[case.id])
        case.status, case.closed_at, case.close_reason = "withdrawn", at, reason.strip()
        case.version += 1
        tx.save(_SAVE_STEPS, cancelled, _STEP_STATE)
        tx.save(_SAVE_CASES, [case], _CASE_STATE)
        tx.audit(case.id, "case_withdrawn", {
            "reason": reason.strip(), "cancelled": [s.step_id for s in cancelled]}, at)
        tx.outbox(case.id, "case_closed", {"status": "withdrawn"}, at)
    return _model(Case, case)
