"""Rows and the write transaction the case operations share.

The operations read and write with SQLAlchemy Core statements built once (their compiled
forms stay in the engine's cache) on plain records: no ORM instances, no flush.
:class:`_Transaction` is the one write transaction of an operation; it locks the audit
chain head (:func:`lock_chain`) and appends the hash-chained events and outbox rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import fields, make_dataclass
from datetime import date, datetime
from typing import Any, Self

from sqlalchemy import bindparam, func, insert, update
from sqlalchemy import select as sa_select
from sqlmodel import Session

from flows.casework.audit_key import audit_key, head_mac, mac
from flows.casework.store import begin_write
from flows.casework.tables import (
    CLOSED_STATUSES,
    AuditChainHead,
    AuditEvent,
    Case,
    CaseStep,
    Certificate,
    Decision,
    Outbox,
    ProcedureDefinition,
    Submission,
    canonical_json,
    event_hash,
)
from process_models.errors import CaseNotFound, Conflict, did_you_mean

__all__ = [
    "lock_chain",
]

_CASES = Case.__table__
_STEPS = CaseStep.__table__
_SUBMISSIONS = Submission.__table__
_DECISIONS = Decision.__table__
_CERTIFICATES = Certificate.__table__
_EVENTS = AuditEvent.__table__
_CHAIN_HEAD = AuditChainHead.__table__
_OUTBOX = Outbox.__table__
_DEFINITIONS = ProcedureDefinition.__table__


def _record_type(table, name: str) -> type:
    """A mutable record with one attribute per column of ``table``, in column order."""
    return make_dataclass(name, [(column.name, Any) for column in table.columns], slots=True)


_CaseRow = _record_type(_CASES, "_CaseRow")
_StepRow = _record_type(_STEPS, "_StepRow")
_SubmissionRow = _record_type(_SUBMISSIONS, "_SubmissionRow")


def _ids(name: str = "ids"):
    return bindparam(name, expanding=True)


def _saver(table, columns: Sequence[str]):
    """``UPDATE table SET columns WHERE id = :row_id``, for executemany over records."""
    return (update(table).where(table.c.id == bindparam("row_id"))
            .values({name: bindparam(name) for name in columns}))


_CASE_STATE = ("status", "accepted_at", "due_date", "closed_at", "close_reason", "colour",
               "version")
_STEP_STATE = ("status", "started_at", "due_date", "paused_on", "paused_working_days",
               "colour", "escalated_at", "version", "decided_at")
_SUBMISSION_STATE = ("status", "due_date", "requested_by_step", "received_at")

_LOCK_CHAIN = (sa_select(_CHAIN_HEAD.c.seq, _CHAIN_HEAD.c.hash)
               .where(_CHAIN_HEAD.c.id == 1).with_for_update())
_MOVE_CHAIN = update(_CHAIN_HEAD).where(_CHAIN_HEAD.c.id == 1)
_READ_DEFINITION = sa_select(_DEFINITIONS.c.definition).where(
    _DEFINITIONS.c.procedure_id == bindparam("procedure_id"),
    _DEFINITIONS.c.version == bindparam("version"))
_WITH_DEFINITION = _CASES.outerjoin(
    _DEFINITIONS, (_DEFINITIONS.c.procedure_id == _CASES.c.procedure_id)
    & (_DEFINITIONS.c.version == _CASES.c.procedure_version))
_READ_CASES = (sa_select(*_CASES.c, _DEFINITIONS.c.definition).select_from(_WITH_DEFINITION)
               .where(_CASES.c.id.in_(_ids())))
_OWED = _SUBMISSIONS.alias("owed")
_READ_FOR_DECISION = (
    sa_select(*_CASES.c, _DEFINITIONS.c.definition, *_STEPS.c, _OWED.c.material_id)
    .select_from(
        _WITH_DEFINITION
        .outerjoin(_STEPS, (_STEPS.c.case_id == _CASES.c.id)
                   & (_STEPS.c.step_id == bindparam("step_id")))
        .outerjoin(_OWED, (_OWED.c.case_id == _CASES.c.id) & (_OWED.c.status != "received"))
    )
    .where(_CASES.c.id == bindparam("case_id"))
    .order_by(_OWED.c.id)
)
_READ_OPEN_CASES = (sa_select(*_CASES.c).where(_CASES.c.id.in_(_ids()),
                                               _CASES.c.status.in_(_ids("statuses")))
                    .order_by(_CASES.c.id))
_READ_STEPS = sa_select(*_STEPS.c).where(_STEPS.c.case_id.in_(_ids())).order_by(_STEPS.c.id)
_READ_STEP = sa_select(*_STEPS.c).where(_STEPS.c.id == bindparam("row_id"))
_READ_SUBMISSIONS = (sa_select(*_SUBMISSIONS.c).where(_SUBMISSIONS.c.case_id.in_(_ids()))
                     .order_by(_SUBMISSIONS.c.id))
_COUNT_CASES = sa_select(func.count()).select_from(_CASES).where(
    _CASES.c.id.like(bindparam("prefix")))
_SAVE_CASES = _saver(_CASES, _CASE_STATE)
_SAVE_STEPS = _saver(_STEPS, _STEP_STATE)
_SAVE_SUBMISSIONS = _saver(_SUBMISSIONS, _SUBMISSION_STATE)
_DECIDE = {
    moment: (update(_STEPS)
             .where(_STEPS.c.id == bindparam("row_id"), _STEPS.c.version == bindparam("expected"),
                    _STEPS.c.status == "pending")
             .values(status=bindparam("status"), version=bindparam("version"),
                     **{moment: bindparam(moment)}))
    for moment in ("decided_at", "paused_on")
}
_LAST_DECISION = (sa_select(_DECISIONS.c.outcome, _DECISIONS.c.decided_by,
                            _DECISIONS.c.department_id, _DECISIONS.c.decided_at)
                  .where(_DECISIONS.c.case_step_id == bindparam("case_step_id"))
                  .order_by(_DECISIONS.c.id.desc()).limit(1))
_DECISIONS_WITH = (sa_select(_DECISIONS.c.case_id, _DECISIONS.c.case_step_id,
                             _DECISIONS.c.step_id, _DECISIONS.c.reason, _DECISIONS.c.materials)
                   .where(_DECISIONS.c.case_id.in_(_ids()),
                          _DECISIONS.c.outcome == bindparam("outcome"))
                   .order_by(_DECISIONS.c.id))
_PAUSED_STEPS = (sa_select(_STEPS.c.id, _STEPS.c.case_id, _STEPS.c.step_id)
                 .where(_STEPS.c.case_id.in_(_ids()), _STEPS.c.status == "supplement")
                 .order_by(_STEPS.c.id))
_NOT_RECEIVED = sa_select(_SUBMISSIONS.c.case_id, _SUBMISSIONS.c.material_id).where(
    _SUBMISSIONS.c.case_id.in_(_ids()), _SUBMISSIONS.c.status != "received")
_ISSUED = sa_select(_CERTIFICATES.c.case_id, _CERTIFICATES.c.step_id,
                    _CERTIFICATES.c.name).where(_CERTIFICATES.c.case_id.in_(_ids()))


def _values(record, columns: Sequence[str]) -> dict[str, Any]:
    return {name: getattr(record, name) for name in columns}


def _model(model, record):
    """``record`` as an instance of its SQLModel table class, readable after the session."""
    return model(**{field.name: getattr(record, field.name) for field in fields(record)})


def lock_chain(session: Session) -> tuple[int, str]:
    """Lock the audit chain head for this transaction (``SELECT ... FOR UPDATE``); its
    ``seq`` and ``hash``.

    On PostgreSQL this serialises every writer; on SQLite the ``BEGIN IMMEDIATE`` of
    :func:`~flows.casework.store.begin_write` already has.
    """
    seq, head_hash = session.connection().execute(_LOCK_CHAIN).one()
    return seq, head_hash


class _Transaction:
    """``with _Transaction(session) as tx:`` the one write transaction of an operation.

    Entering begins the write (:func:`~flows.casework.store.begin_write`) and locks the
    audit chain head (:func:`lock_chain`). :meth:`audit` and :meth:`outbox` collect the
    operation's audit events (hash-chained from the locked head, each with its MAC) and outbox rows; leaving
    without an error inserts them, moves the chain head and commits, so they commit with
    the change they describe. An error rolls everything back.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.key = audit_key()
        self.events: list[dict[str, Any]] = []
        self.outbox_rows: list[dict[str, Any]] = []

    def __enter__(self) -> Self:
        try:
            begin_write(self.session)
            self.connection = self.session.connection()
            self.seq, self.hash = lock_chain(self.session)
        except BaseException:
            self.session.rollback()
            raise
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        if kind is not None:
            self.session.rollback()
            return False
        try:
            if self.events:
                self.execute(insert(_EVENTS), self.events)
                self.execute(_MOVE_CHAIN.values(seq=self.seq, hash=self.hash,
                                                mac=head_mac(self.key, self.seq, self.hash)))
            if self.outbox_rows:
                self.execute(insert(_OUTBOX), self.outbox_rows)
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        return False

    def execute(self, statement, parameters=None):
        """Run a Core statement in this transaction (a list of parameters: executemany)."""
        return self.connection.execute(statement, parameters)

    def insert(self, table, records: Sequence, columns: Sequence[str]) -> None:
        """Insert ``records`` (their ``columns``) into ``table`` in one executemany."""
        if records:
            self.execute(insert(table), [_values(record, columns) for record in records])

    def save(self, statement, records: Iterable, columns: Sequence[str]) -> None:
        """Write ``columns`` of changed ``records`` back by id (a :func:`_saver` statement)."""
        rows = [{"row_id": record.id, **_values(record, columns)} for record in records]
        if rows:
            self.execute(statement, rows)

    def audit(self, case_id: str | None, kind: str, payload: dict, at: datetime) -> None:
        """Append an audit event to the chain (written when the transaction commits), with
        the HMAC of its hash under the audit key."""
        payload = json.loads(canonical_json(payload))
        prev_hash, self.seq = self.hash, self.seq + 1
        self.hash = event_hash(prev_hash, seq=self.seq, case_id=case_id, kind=kind,
                               payload=payload, at=at)
        self.events.append({"seq": self.seq, "case_id": case_id, "kind": kind,
                            "payload": payload, "at": at, "prev_hash": prev_hash,
                            "hash": self.hash, "mac": mac(self.key, self.hash)})

    def outbox(self, case_id: str, kind: str, payload: dict, at: datetime) -> None:
        """Tell the flows what happened (written in this transaction)."""
        self.outbox_rows.append({"case_id": case_id, "kind": kind, "created_at": at,
                                 "payload": json.loads(canonical_json(payload))})


# --- reading -------------------------------------------------------------------------------------


def _read_cases(tx: _Transaction, case_ids: Sequence[str]) -> dict[str, tuple[Any, str | None]]:
    """Each case by id with its stored procedure definition (``None`` when not stored)."""
    found = {row[0]: (_CaseRow(*row[:-1]), row[-1])
             for row in tx.execute(_READ_CASES, {"ids": list(case_ids)})}
    for case_id in case_ids:
        if case_id not in found:
            raise _not_found(tx, case_id)
    return found


def _not_found(tx: _Transaction, case_id: str) -> CaseNotFound:
    same_day = tx.execute(
        sa_select(_CASES.c.id).where(_CASES.c.id.like(str(case_id)[:11] + "%")).limit(1000)
    ).scalars().all()
    return CaseNotFound(f"no case '{case_id}'", suggestion=did_you_mean(case_id, same_day))


def _read_case(tx: _Transaction, case_id: str) -> tuple[Any, str | None]:
    return _read_cases(tx, [case_id])[case_id]


def _read_steps(tx: _Transaction, case_ids: Sequence[str]) -> dict[str, list]:
    """The steps of each case, in the order they were created."""
    steps: dict[str, list] = {case_id: [] for case_id in case_ids}
    for row in tx.execute(_READ_STEPS, {"ids": list(case_ids)}):
        steps[row.case_id].append(_StepRow(*row))
    return steps


def _read_submissions(tx: _Transaction, case_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The materials of each case by material id."""
    rows: dict[str, dict[str, Any]] = {case_id: {} for case_id in case_ids}
    for row in tx.execute(_READ_SUBMISSIONS, {"ids": list(case_ids)}):
        rows[row.case_id][row.material_id] = _SubmissionRow(*row)
    return rows


def _new_submission(case_id: str, material_id: str, status: str, *,
                    received_at: datetime | None = None):
    return _SubmissionRow(id=None, case_id=case_id, material_id=material_id, status=status,
                          due_date=None, requested_by_step=None, received_at=received_at)


def _save_submissions(tx: _Transaction, rows: Iterable) -> None:
    """Insert the new ``rows`` (no id yet) and write the others back."""
    rows = list(rows)
    tx.insert(_SUBMISSIONS, [r for r in rows if r.id is None],
              ("case_id", "material_id", *_SUBMISSION_STATE))
    tx.save(_SAVE_SUBMISSIONS, [r for r in rows if r.id is not None], _SUBMISSION_STATE)


def _ensure_open(case, action: str) -> None:
    if case.status in CLOSED_STATUSES:
        raise Conflict(f"case {case.id} is closed ({case.status}); cannot {action}")


def _next_case_id(tx: _Transaction, today: date) -> str:
    prefix = f"C-{today:%Y%m%d}-"
    count = tx.execute(_COUNT_CASES, {"prefix": prefix + "%"}).scalar_one()
    return f"{prefix}{count + 1:04d}"
