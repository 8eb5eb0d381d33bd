"""Moving cases on: ready steps start; when no step is open any more, the certificates of
every approved step are issued together. A rejection (不予许可) ends the steps that depend on
the refused one while the rest of the bundle goes on, as separate 行政许可 do: the case
closes ``approved``, ``partially_approved`` (some refused) or ``rejected`` (none approved).
A withdrawal or a missed 容缺 promise closes the case and cancels its open steps.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from flows.casework._rows import (
    CASE_STATE,
    CERTIFICATES,
    DECISIONS_WITH,
    ISSUED,
    SAVE_CASES,
    SAVE_STEPS,
    STEP_STATE,
    Transaction,
    as_model,
    ensure_open,
    read_case,
    read_cases,
    read_steps,
)
from flows.casework.audit_chain import certificates_digest
from flows.casework.definitions import case_procedure
from flows.casework.due_dates import ready_day, step_due
from flows.casework.outbox import ADVANCING_KINDS, pending_outbox, settle_outbox
from flows.casework.tables import (
    OPEN_STEP_STATUSES,
    Case,
    CaseStatus,
    StepStatus,
    SubmissionStatus,
    aware_time,
)
from process_models.calendar import local_date
from process_models.errors import InvalidInput
from process_models.procedure import Procedure

__all__ = [
    "ADVANCE_BATCH_CASES",
    "AdvanceResult",
    "advance_case",
    "advance_cases",
    "drain_outbox",
    "end_for_missed_promises",
    "withdraw_case",
]


@dataclass(frozen=True)
class AdvanceResult:
    """What one :func:`advance_case` call changed (empty when there was nothing to do)."""

    case_id: str
    status: str
    started: tuple[str, ...] = ()
    certificates: tuple[str, ...] = ()
    closed: bool = False


ADVANCE_BATCH_CASES = 10
"""Cases :func:`advance_cases` moves on per transaction. Every writer waits for the audit
chain while one runs (:func:`~flows.casework._rows.lock_chain`), so a batch is kept to a
few milliseconds: a clerk's decision arriving during an advance of many cases waits for one
batch, not for all of them."""


def advance_case(session: Session, case_id: str, *, now: datetime) -> AdvanceResult:
    """Move a case on after a decision; running it twice changes nothing the second time.

    Cancels the open steps depending on a rejected one, starts the steps whose dependencies
    are now met; when no step is open, issues the certificates of every approved step at
    once (一次办结) and closes the case ``approved``, ``partially_approved`` with the
    rejections' reasons, or ``rejected`` when no step was approved.
    A pending step a 秒批 rule holds for is approved by the rule
    (:func:`~flows.casework.auto_decisions.auto_decide_cases`); the next advance moves on.
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
        with Transaction(session) as tx:
            results += _advance_batch(tx, ids[first:first + ADVANCE_BATCH_CASES], at)
    from flows.casework.auto_decisions import auto_decide_cases

    auto_decide_cases(session, [r.case_id for r in results if r.status == CaseStatus.ACCEPTED],
                      now=at)
    return results


def drain_outbox(session: Session, *, now: datetime, limit: int = 5000
                 ) -> tuple[int, list[AdvanceResult]]:
    """Advance the cases of up to ``limit`` pending outbox rows here, in this process, and
    settle the rows (:func:`~flows.casework.outbox.settle_outbox`): what an ``advance``
    flow run does, without Prefect. Returns the rows settled and one result per case.

    If advancing raises, nothing is marked and the rows stay pending for the next advance.
    """
    rows = pending_outbox(session, limit)
    results = advance_cases(session, [r.case_id for r in rows if r.kind in ADVANCING_KINDS],
                            now=now)
    settled = settle_outbox(session, rows, {r.case_id for r in results}, limit=limit, now=now)
    return settled, results


def _advance_batch(tx: Transaction, case_ids: list[str], at: datetime) -> list[AdvanceResult]:
    cases = read_cases(tx, case_ids)
    open_ids = [i for i in case_ids if cases[i][0].status == CaseStatus.ACCEPTED]
    steps = read_steps(tx, open_ids)
    rejected_ids = [i for i in open_ids if any(s.status == StepStatus.REJECTED for s in steps[i])]
    reasons: dict[str, list[str]] = {case_id: [] for case_id in rejected_ids}
    if rejected_ids:
        for row in tx.execute(DECISIONS_WITH, {"ids": rejected_ids, "outcome": "reject"}):
            reasons[row.case_id].append(f"{row.step_id}: {row.reason}")
    busy = (StepStatus.PENDING, StepStatus.SUPPLEMENT)
    closing = [i for i in open_ids if not any(s.status in busy for s in steps[i])]
    issued: set[tuple[str, str, str]] = set()
    if closing:
        issued = {tuple(row) for row in tx.execute(ISSUED, {"ids": closing})}
    results, changed_cases, changed_steps, certificates = [], [], [], []
    for case_id in case_ids:
        case, definition = cases[case_id]
        if case.status != CaseStatus.ACCEPTED:
            results.append(AdvanceResult(case_id=case.id, status=case.status))
            continue
        case_steps = steps[case_id]
        proc = case_procedure(case, definition)
        reason = "; ".join(reasons.get(case_id, []))
        changed_steps += _end_dependents(tx, case, proc, case_steps, reason, at)
        started = start_ready_steps(tx, case, proc, case_steps, at)
        changed_steps += started
        started_ids = tuple(s.step_id for s in started)
        if started:
            tx.outbox(case.id, "steps_started", {"steps": list(started_ids)}, at)
        if any(s.status in OPEN_STEP_STATUSES for s in case_steps):
            results.append(AdvanceResult(case.id, case.status, started_ids))
            continue
        approved = [s for s in case_steps if s.status == StepStatus.APPROVED]
        changed_cases.append(case)
        if not approved and any(s.status == StepStatus.REJECTED for s in case_steps):
            _close_rejected(tx, case, case_steps, reason, at)
            results.append(AdvanceResult(case.id, case.status, closed=True))
            continue
        numbers = _issue_certificates(case, proc, approved, issued, certificates, at)
        refused = [s.step_id for s in case_steps if s.status == StepStatus.REJECTED]
        case.status = CaseStatus.PARTIALLY_APPROVED if refused else CaseStatus.APPROVED
        case.closed_at, case.close_reason = at, reason or None
        case.version += 1
        tx.audit(case.id, "case_approved", {
            "certificates": numbers, "certificates_digest": certificates_digest(
                tx.key, [c for c in certificates if c["case_id"] == case.id]),
            **({"rejected": refused, "reason": reason} if refused else {})}, at)
        tx.outbox(case.id, "case_closed", {"status": case.status, "certificates": numbers}, at)
        results.append(AdvanceResult(case.id, case.status, started_ids, tuple(numbers), True))
    tx.save(SAVE_STEPS, changed_steps, STEP_STATE)
    tx.save(SAVE_CASES, changed_cases, CASE_STATE)
    if certificates:
        tx.execute(insert(CERTIFICATES), certificates)
    return results


def _end_dependents(tx: Transaction, case, proc: Procedure, steps: list, reason: str,
                    at: datetime) -> list:
    """Cancel the open steps that depend, directly or not, on a rejected step of ``case``
    (a 不予许可 ends what needs the refused item; the rest of the bundle goes on); the steps
    cancelled, recorded as one ``steps_ended`` event."""
    rejected = [s.step_id for s in steps if s.status == StepStatus.REJECTED]
    if not rejected:
        return []
    import networkx as nx

    from process_models.graph import to_graph

    graph = to_graph(proc)
    needing = set().union(*(nx.descendants(graph, step_id) for step_id in rejected))
    ended = _cancel_open_steps(s for s in steps if s.step_id in needing)
    if ended:
        tx.audit(case.id, "steps_ended", {
            "rejected": rejected, "cancelled": [s.step_id for s in ended], "reason": reason,
        }, at)
    return ended


def start_ready_steps(tx: Transaction, case, proc: Procedure, steps: list,
                       at: datetime) -> list:
    """Start the waiting steps whose dependencies are met; the steps started."""
    definitions = {s.id: s for s in proc.steps}
    finished = {s.step_id: local_date(s.decided_at) for s in steps
                if s.status == StepStatus.APPROVED and s.decided_at is not None}
    accepted = local_date(case.accepted_at)
    started = []
    for row in steps:
        if row.status != StepStatus.WAITING:
            continue
        start_day = ready_day(proc, definitions[row.step_id], finished, accepted)
        if start_day is None:
            continue
        row.status = StepStatus.PENDING
        row.started_at = at
        row.due_date = step_due(definitions[row.step_id], start_day)
        row.version += 1
        started.append(row)
        tx.audit(case.id, "step_started", {
            "step_id": row.step_id, "department_id": row.department_id,
            "due_date": row.due_date.isoformat(),
        }, at)
    return started


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
        if row.status in OPEN_STEP_STATUSES:
            row.status = StepStatus.CANCELLED
            row.version += 1
            cancelled.append(row)
    return cancelled


def _close_rejected(tx: Transaction, case, steps: list, reason: str, at: datetime) -> None:
    """Close ``case`` rejected: every step was refused or ended by a refusal."""
    cancelled = [s for s in steps if s.status == StepStatus.CANCELLED]
    case.status, case.closed_at, case.close_reason = CaseStatus.REJECTED, at, reason
    case.version += 1
    tx.audit(case.id, "case_rejected", {
        "rejected": [s.step_id for s in steps if s.status == StepStatus.REJECTED],
        "cancelled": [s.step_id for s in cancelled], "reason": reason,
    }, at)
    tx.outbox(case.id, "case_closed", {"status": CaseStatus.REJECTED, "reason": reason}, at)


def end_for_missed_promises(tx: Transaction, case, steps: list, owed: Iterable, today,
                            at: datetime) -> list:
    """Close ``case`` ``terminated`` (终止办理) when a 容缺 material promised for a date
    before ``today`` has not arrived; the steps it cancelled (none when it stays open).

    Changes the records in place (the caller writes them); recorded as ``case_terminated``
    naming each missed material and its promised date.
    """
    missed = {row.material_id: row.due_date.isoformat() for row in owed
              if row.status == SubmissionStatus.DEFERRED and row.promised_at is not None
              and row.due_date < today}
    if not missed or case.status != CaseStatus.ACCEPTED:
        return []
    cancelled = _cancel_open_steps(steps)
    reason = "容缺 promise missed: " + ", ".join(f"{m} (promised {d})" for m, d in missed.items())
    case.status, case.closed_at, case.close_reason = CaseStatus.TERMINATED, at, reason
    case.version += 1
    tx.audit(case.id, "case_terminated", {
        "missed": missed, "cancelled": [s.step_id for s in cancelled], "reason": reason}, at)
    tx.outbox(case.id, "case_closed", {"status": CaseStatus.TERMINATED, "reason": reason}, at)
    return cancelled


def withdraw_case(session: Session, case_id: str, *, reason: str, now: datetime) -> Case:
    """The applicant withdraws (撤回): open steps are cancelled and the case closes."""
    if not reason or not reason.strip():
        raise InvalidInput("withdrawing a case needs a reason; give one", path="reason")
    at = aware_time(now)
    with Transaction(session) as tx:
        case, _definition = read_case(tx, case_id)
        ensure_open(case, "withdraw it")
        cancelled = _cancel_open_steps(read_steps(tx, [case.id])[case.id])
        case.status, case.closed_at, case.close_reason = CaseStatus.WITHDRAWN, at, reason.strip()
        case.version += 1
        tx.save(SAVE_STEPS, cancelled, STEP_STATE)
        tx.save(SAVE_CASES, [case], CASE_STATE)
        tx.audit(case.id, "case_withdrawn", {
            "reason": reason.strip(), "cancelled": [s.step_id for s in cancelled]}, at)
        tx.outbox(case.id, "case_closed", {"status": CaseStatus.WITHDRAWN}, at)
    return as_model(Case, case)
