"""Rows and the write transaction the case operations share.

The operations read and write with SQLAlchemy Core statements built once (their compiled
forms stay in the engine's cache) on plain records: no ORM instances, no flush.
:class:`Transaction` is the one write transaction of an operation; it locks the audit
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
    Commitment,
    Decision,
    Outbox,
    ProcedureDefinition,
    StepStatus,
    Submission,
    SubmissionStatus,
    canonical_json,
    event_hash,
)
from process_models.errors import CaseNotFound, Conflict, did_you_mean

__all__ = [
    "lock_chain",
]

CASES = Case.__table__
STEPS = CaseStep.__table__
SUBMISSIONS = Submission.__table__
DECISIONS = Decision.__table__
CERTIFICATES = Certificate.__table__
COMMITMENTS = Commitment.__table__
_EVENTS = AuditEvent.__table__
_CHAIN_HEAD = AuditChainHead.__table__
OUTBOX = Outbox.__table__
DEFINITIONS = ProcedureDefinition.__table__


def _record_type(table, name: str) -> type:
    """A mutable record with one attribute per column of ``table``, in column order."""
    return make_dataclass(name, [(column.name, Any) for column in table.columns], slots=True)


CaseRow = _record_type(CASES, "CaseRow")
StepRow = _record_type(STEPS, "StepRow")
_SubmissionRow = _record_type(SUBMISSIONS, "_SubmissionRow")


def _ids(name: str = "ids"):
    return bindparam(name, expanding=True)


def _saver(table, columns: Sequence[str]):
    """``UPDATE table SET columns WHERE id = :row_id``, for executemany over records."""
    return (update(table).where(table.c.id == bindparam("row_id"))
            .values({name: bindparam(name) for name in columns}))


CASE_STATE = ("status", "accepted_at", "due_date", "closed_at", "close_reason", "colour",
               "version")
STEP_STATE = ("status", "started_at", "due_date", "paused_on", "paused_working_days",
               "colour", "escalated_at", "version", "decided_at", "pause_reason", "pause_counted")
SUBMISSION_STATE = ("status", "due_date", "requested_by_step", "received_at", "promised_at")

_LOCK_CHAIN = (sa_select(_CHAIN_HEAD.c.seq, _CHAIN_HEAD.c.hash)
               .where(_CHAIN_HEAD.c.id == 1).with_for_update())
_MOVE_CHAIN = update(_CHAIN_HEAD).where(_CHAIN_HEAD.c.id == 1)
_MARK_CASES = (update(CASES).where(CASES.c.id == bindparam("case_id"))
               .values(changed_seq=bindparam("seq")))
READ_DEFINITION = sa_select(DEFINITIONS.c.definition).where(
    DEFINITIONS.c.procedure_id == bindparam("procedure_id"),
    DEFINITIONS.c.version == bindparam("version"))
_WITH_DEFINITION = CASES.outerjoin(
    DEFINITIONS, (DEFINITIONS.c.procedure_id == CASES.c.procedure_id)
    & (DEFINITIONS.c.version == CASES.c.procedure_version))
_READ_CASES = (sa_select(*CASES.c, DEFINITIONS.c.definition).select_from(_WITH_DEFINITION)
               .where(CASES.c.id.in_(_ids())))
_OWED = SUBMISSIONS.alias("owed")
READ_FOR_DECISION = (
    sa_select(*CASES.c, DEFINITIONS.c.definition, *STEPS.c, _OWED.c.material_id)
    .select_from(
        _WITH_DEFINITION
        .outerjoin(STEPS, (STEPS.c.case_id == CASES.c.id)
                   & (STEPS.c.step_id == bindparam("step_id")))
        .outerjoin(_OWED, (_OWED.c.case_id == CASES.c.id) & (_OWED.c.status != SubmissionStatus.RECEIVED))
    )
    .where(CASES.c.id == bindparam("case_id"))
    .order_by(_OWED.c.id)
)
READ_OPEN_CASES = (sa_select(*CASES.c).where(CASES.c.id.in_(_ids()),
                                               CASES.c.status.in_(_ids("statuses")))
                    .order_by(CASES.c.id))
_READ_STEPS = sa_select(*STEPS.c).where(STEPS.c.case_id.in_(_ids())).order_by(STEPS.c.id)
READ_STEP = sa_select(*STEPS.c).where(STEPS.c.id == bindparam("row_id"))
_READ_SUBMISSIONS = (sa_select(*SUBMISSIONS.c).where(SUBMISSIONS.c.case_id.in_(_ids()))
                     .order_by(SUBMISSIONS.c.id))
_DAY_CASES = CASES.c.id.like(bindparam("pattern"))
_LAST_CASE = sa_select(CASES.c.id).where(_DAY_CASES).order_by(CASES.c.id.desc()).limit(1)
_COUNT_CASES = sa_select(func.count()).select_from(CASES).where(_DAY_CASES)
SAVE_CASES = _saver(CASES, CASE_STATE)
SAVE_STEPS = _saver(STEPS, STEP_STATE)
_SAVE_SUBMISSIONS = _saver(SUBMISSIONS, SUBMISSION_STATE)
DECIDE = {
    moment: (update(STEPS)
             .where(STEPS.c.id == bindparam("row_id"), STEPS.c.version == bindparam("expected"),
                    STEPS.c.status == StepStatus.PENDING)
             .values(status=bindparam("status"), version=bindparam("version"),
                     **{moment: bindparam(moment)}))
    for moment in ("decided_at", "paused_on")
}
LAST_DECISION = (sa_select(DECISIONS.c.outcome, DECISIONS.c.decided_by,
                            DECISIONS.c.department_id, DECISIONS.c.decided_at)
                  .where(DECISIONS.c.case_step_id == bindparam("case_step_id"))
                  .order_by(DECISIONS.c.id.desc()).limit(1))
DECISIONS_WITH = (sa_select(DECISIONS.c.case_id, DECISIONS.c.case_step_id,
                             DECISIONS.c.step_id, DECISIONS.c.reason, DECISIONS.c.materials)
                   .where(DECISIONS.c.case_id.in_(_ids()),
                          DECISIONS.c.outcome == bindparam("outcome"))
                   .order_by(DECISIONS.c.id))
PAUSED_STEPS = (sa_select(STEPS.c.id, STEPS.c.case_id, STEPS.c.step_id)
                 .where(STEPS.c.case_id.in_(_ids()), STEPS.c.status == "supplement")
                 .order_by(STEPS.c.id))
NOT_RECEIVED = sa_select(SUBMISSIONS.c.case_id, SUBMISSIONS.c.material_id).where(
    SUBMISSIONS.c.case_id.in_(_ids()), SUBMISSIONS.c.status != "received")
ISSUED = sa_select(CERTIFICATES.c.case_id, CERTIFICATES.c.step_id,
                    CERTIFICATES.c.name).where(CERTIFICATES.c.case_id.in_(_ids()))


def _values(record, columns: Sequence[str]) -> dict[str, Any]:
    return {name: getattr(record, name) for name in columns}


def as_model(model, record):
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


class Transaction:
    """``with Transaction(session) as tx:`` the one write transaction of an operation.

    Entering begins the write (:func:`~flows.casework.store.begin_write`) and locks the
    audit chain head (:func:`lock_chain`). :meth:`audit` and :meth:`outbox` collect the
    operation's audit events (hash-chained from the locked head, each with its MAC) and outbox rows; leaving
    without an error inserts them, moves the chain head, marks each case an event is of with
    the event's ``seq`` (:attr:`~flows.casework.tables.Case.changed_seq`) and commits, so
    they commit with the change they describe. An error rolls everything back.
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
                marks = {e["case_id"]: e["seq"] for e in self.events if e["case_id"]}
                if marks:
                    self.execute(_MARK_CASES, [{"case_id": case_id, "seq": seq}
                                               for case_id, seq in marks.items()])
            if self.outbox_rows:
                self.execute(insert(OUTBOX), self.outbox_rows)
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


def read_cases(tx: Transaction, case_ids: Sequence[str]) -> dict[str, tuple[Any, str | None]]:
    """Each case by id with its stored procedure definition (``None`` when not stored)."""
    found = {row[0]: (CaseRow(*row[:-1]), row[-1])
             for row in tx.execute(_READ_CASES, {"ids": list(case_ids)})}
    for case_id in case_ids:
        if case_id not in found:
            raise case_not_found(tx, case_id)
    return found


def case_not_found(tx: Transaction | Session, case_id: str) -> CaseNotFound:
    """No case ``case_id``, with a did-you-mean among the cases opened that day."""
    same_day = tx.execute(
        sa_select(CASES.c.id).where(CASES.c.id.like(str(case_id)[:11] + "%")).limit(1000)
    ).scalars().all()
    return CaseNotFound(f"no case '{case_id}'", suggestion=did_you_mean(case_id, same_day))


def read_case(tx: Transaction, case_id: str) -> tuple[Any, str | None]:
    return read_cases(tx, [case_id])[case_id]


def read_steps(tx: Transaction, case_ids: Sequence[str]) -> dict[str, list]:
    """The steps of each case, in the order they were created."""
    steps: dict[str, list] = {case_id: [] for case_id in case_ids}
    for row in tx.execute(_READ_STEPS, {"ids": list(case_ids)}):
        steps[row.case_id].append(StepRow(*row))
    return steps


def read_submissions(tx: Transaction, case_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The materials of each case by material id."""
    rows: dict[str, dict[str, Any]] = {case_id: {} for case_id in case_ids}
    for row in tx.execute(_READ_SUBMISSIONS, {"ids": list(case_ids)}):
        rows[row.case_id][row.material_id] = _SubmissionRow(*row)
    return rows


def new_submission(case_id: str, material_id: str, status: str, *,
                    received_at: datetime | None = None):
    return _SubmissionRow(id=None, case_id=case_id, material_id=material_id, status=status,
                          due_date=None, requested_by_step=None, received_at=received_at,
                          promised_at=None)


def save_submissions(tx: Transaction, rows: Iterable) -> None:
    """Insert the new ``rows`` (no id yet) and write the others back."""
    rows = list(rows)
    tx.insert(SUBMISSIONS, [r for r in rows if r.id is None],
              ("case_id", "material_id", *SUBMISSION_STATE))
    tx.save(_SAVE_SUBMISSIONS, [r for r in rows if r.id is not None], SUBMISSION_STATE)


def ensure_open(case, action: str) -> None:
    if case.status in CLOSED_STATUSES:
        raise Conflict(f"case {case.id} is closed ({case.status}); cannot {action}")


def next_case_id(tx: Transaction, today: date) -> str:
    """The number of the next case opened on ``today``: ``C-<day>-0001`` on, the day's last
    number plus one. The last is the greatest id of the day, read from the primary key's
    index backwards (today's ids are its last), so opening costs the same with ten cases
    open or ten thousand. Past ``9999`` a day's numbers no longer sort as numbers, and the
    day's cases are counted instead (as they are when the last is not a number)."""
    prefix = f"C-{today:%Y%m%d}-"
    day = {"pattern": prefix + "%"}
    last = tx.execute(_LAST_CASE, day).scalar()
    tail = "0000" if last is None else last[len(prefix):]
    number = int(tail) if len(tail) == 4 and tail.isdigit() and tail != "9999" else (
        tx.execute(_COUNT_CASES, day).scalar_one())
    return f"{prefix}{number + 1:04d}"
