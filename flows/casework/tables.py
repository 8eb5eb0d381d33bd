"""The tables of running cases (SQLModel): the record every flow and page reads.

A :class:`Case` runs one exact procedure definition (``procedure_id`` and
``procedure_version``); each of its steps is a :class:`CaseStep` with a department, a
status, a committed due date and a ``version`` column for optimistic locking.
:class:`Submission` rows are the materials received or still owed (容缺 ``deferred``,
补正 ``requested``). :class:`Decision` and :class:`AuditEvent` are insert-only; audit
events form one hash chain over the whole table (:func:`event_hash`), whose head is the
one row of :class:`AuditChainHead`. :class:`Certificate` numbers are unique and each
certificate is issued once per case and step; a failed 核查 revokes it (``revoked_at``).
A :class:`Commitment` is the 告知承诺书 an applicant signed at the window for one step, with
its follow-up check (核查): due date, result and reason. :class:`Outbox` rows tell the flows what
happened; they are written in the same transaction as the change.

The table of cases is called ``cases`` because ``CASE`` is an SQL keyword.
The operations on these tables live in :mod:`flows.casework`.

Datetimes are stored aware, in UTC (:func:`aware_time`; a naive ``now`` is read as
service-centre time, UTC+8) and read back on the service centre's clock with
:func:`stored_time`; days and due dates are service-centre calendar days
(:func:`process_models.calendar.local_date`).

>>> from datetime import datetime
>>> event_hash(GENESIS_HASH, seq=1, case_id="C-20250124-0001", kind="case_opened",
...            payload={"procedure": "newborn"}, at=aware_time(datetime(2025, 1, 24, 9, 30)))[:12]
'00b79781cc88'
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import JSON, Column, Index, UniqueConstraint, event
from sqlmodel import Field, SQLModel

from process_models.calendar import local_time

__all__ = [
    "CLOSED_STATUSES",
    "GENESIS_HASH",
    "OPEN_STATUSES",
    "OPEN_STEP_STATUSES",
    "OUTCOMES",
    "ApplicantCode",
    "AuditChainHead",
    "AuditEvent",
    "Case",
    "CaseAgent",
    "CaseStatus",
    "CaseStep",
    "Certificate",
    "CheckResult",
    "Colour",
    "Commitment",
    "Decision",
    "MaterialFile",
    "Outbox",
    "PauseReason",
    "ProcedureDefinition",
    "Rating",
    "RatingFollowUp",
    "StepPause",
    "StepStatus",
    "Submission",
    "SubmissionStatus",
    "SupervisionNotice",
    "aware_time",
    "canonical_json",
    "event_hash",
    "stored_time",
]


class CaseStatus(StrEnum):
    """Where a case stands; stored as its value (``Case.status``)."""

    ACCEPTED = "accepted"
    AWAITING_SUPPLEMENT = "awaiting_supplement"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    TERMINATED = "terminated"
    PARTIALLY_APPROVED = "partially_approved"
    """Some items were refused (不予许可) and ended what depended on them; the others were
    approved and their certificates issued."""


class StepStatus(StrEnum):
    """Where a step of a case stands; stored as its value (``CaseStep.status``)."""

    WAITING = "waiting"
    PENDING = "pending"
    SUPPLEMENT = "supplement"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class PauseReason(StrEnum):
    """Why a step's clock is held (行政许可法 第45条): stored as its value
    (``StepPause.reason``, ``CaseStep.pause_reason``)."""

    SUPPLEMENT = "supplement"
    EXPERT_REVIEW = "expert_review"
    SITE_INSPECTION = "site_inspection"
    HEARING = "hearing"
    PUBLICITY = "publicity"
    TESTING = "testing"
    OTHER = "other"


class CheckResult(StrEnum):
    """The outcome of a 核查 of a commitment; stored as its value (``Commitment.check_result``)."""

    PASSED = "passed"
    FAILED = "failed"


class SubmissionStatus(StrEnum):
    """A material of a case: received, owed (容缺 ``deferred``) or asked for (补正 ``requested``)."""

    RECEIVED = "received"
    DEFERRED = "deferred"
    REQUESTED = "requested"


OPEN_STATUSES = (CaseStatus.ACCEPTED, CaseStatus.AWAITING_SUPPLEMENT)
CLOSED_STATUSES = (CaseStatus.APPROVED, CaseStatus.REJECTED, CaseStatus.WITHDRAWN,
                   CaseStatus.TERMINATED, CaseStatus.PARTIALLY_APPROVED)
OPEN_STEP_STATUSES = (StepStatus.WAITING, StepStatus.PENDING, StepStatus.SUPPLEMENT)
OUTCOMES = ("approve", "reject", "supplement")
GENESIS_HASH = "0" * 64

Colour = Literal["red", "yellow", "green"]


def aware_time(now: datetime) -> datetime:
    """``now`` as an aware UTC datetime; naive values are service-centre time (UTC+8).

    >>> from datetime import datetime
    >>> aware_time(datetime(2025, 1, 24, 9, 30))
    datetime.datetime(2025, 1, 24, 1, 30, tzinfo=datetime.timezone.utc)
    """
    return local_time(now).astimezone(UTC)


def stored_time(at: datetime) -> datetime:
    """A datetime read from the case tables (UTC; SQLite gives it naive) on the service
    centre's clock.

    >>> from datetime import datetime
    >>> stored_time(datetime(2025, 1, 24, 1, 30)).isoformat()
    '2025-01-24T09:30:00+08:00'
    """
    return local_time(at if at.tzinfo else at.replace(tzinfo=UTC))


class ProcedureDefinition(SQLModel, table=True):
    """The exact procedure definition (YAML) cases were opened with, by id and version.

    An uploaded definition is a draft until an admin publishes it (``published_at``): only
    published definitions replace the catalog's for new cases.
    """

    __tablename__ = "procedure_definition"

    procedure_id: str = Field(primary_key=True, max_length=200)
    version: str = Field(primary_key=True, max_length=100)
    definition: str
    stored_at: datetime
    published_at: datetime | None = None
    published_by: str | None = Field(default=None, max_length=200)


class Case(SQLModel, table=True):
    """One application for one procedure (一件事), from the window to the last certificate."""

    __tablename__ = "cases"

    id: str = Field(primary_key=True, max_length=40)
    procedure_id: str = Field(index=True, max_length=200)
    procedure_version: str = Field(max_length=100)
    applicant_name: str = Field(max_length=200)
    applicant_id_number: str = Field(max_length=18)
    applicant_address: str | None = Field(default=None, max_length=500)
    applicant_phone: str | None = Field(default=None, max_length=40)
    applicant_kind: str = Field(default="person", max_length=20)
    legal_representative: str | None = Field(default=None, max_length=200)
    status: str = Field(index=True, max_length=30)
    received_at: datetime
    accepted_at: datetime | None = None
    due_date: date | None = None
    closed_at: datetime | None = None
    close_reason: str | None = None
    colour: str | None = Field(default=None, max_length=10)
    version: int = 1
    changed_seq: int = Field(default=0, index=True)
    """The audit chain's ``seq`` of the case's last event: moves with every change to the
    case, its steps, materials, decisions and certificates (see
    :class:`~flows.casework._rows.Transaction`), so a view of the case kept under it is
    current while it stays, and the cases changed since a view are found by it
    (:class:`~flows.casework.views.BoardMembers`)."""


class CaseStep(SQLModel, table=True):
    """One step of a running case; ``version`` moves on every change (optimistic lock)."""

    __tablename__ = "case_step"
    __table_args__ = (UniqueConstraint("case_id", "step_id", name="uq_case_step_case_step"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(foreign_key="cases.id", index=True, max_length=40)
    step_id: str = Field(max_length=200)
    department_id: str = Field(index=True, max_length=200)
    status: str = Field(max_length=30)
    started_at: datetime | None = None
    due_date: date | None = None
    paused_on: date | None = None
    paused_working_days: int = 0
    colour: str | None = Field(default=None, max_length=10)
    escalated_at: datetime | None = None
    version: int = 1
    decided_at: datetime | None = Field(default=None, index=True)
    pause_reason: str | None = Field(default=None, max_length=30)
    pause_counted: bool | None = None


class StepPause(SQLModel, table=True):
    """One entry of a step's pause ledger: why its clock was held (:class:`PauseReason`),
    whether the time counts in the legal limit, from when to when, and who said so.
    ``working_days`` is what the due date moved by (0 for a counted pause)."""

    __tablename__ = "step_pause"

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(foreign_key="cases.id", index=True, max_length=40)
    case_step_id: int = Field(foreign_key="case_step.id", index=True)
    step_id: str = Field(max_length=200)
    reason: str = Field(max_length=30)
    counted: bool
    started_on: date
    started_by: str = Field(max_length=200)
    ended_on: date | None = None
    ended_by: str | None = Field(default=None, max_length=200)
    working_days: int | None = None


class SupervisionNotice(SQLModel, table=True):
    """A 督办 notice to a department about one step of a case that turned red or yellow:
    the department answers in writing by ``reply_due_date``; an unanswered notice past it
    is escalated (``escalated_at``)."""

    __tablename__ = "supervision_notice"
    __table_args__ = (UniqueConstraint("case_id", "step_id", "colour",
                                       name="uq_supervision_notice_case_step_colour"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(foreign_key="cases.id", index=True, max_length=40)
    step_id: str = Field(max_length=200)
    department_id: str = Field(index=True, max_length=200)
    colour: str = Field(max_length=10)
    issued_at: datetime
    reply_due_date: date
    answer: str | None = None
    answered_by: str | None = Field(default=None, max_length=200)
    answered_at: datetime | None = None
    escalated_at: datetime | None = None


class Submission(SQLModel, table=True):
    """A material of a case: ``received``, ``deferred`` (容缺, owed by ``due_date``) or
    ``requested`` (补正, asked for by ``requested_by_step`` or at the window). A 容缺 item
    the applicant promised for a date (``promised_at``: when) ends the case if missed."""

    __tablename__ = "submission"
    __table_args__ = (
        UniqueConstraint("case_id", "material_id", name="uq_submission_case_material"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(foreign_key="cases.id", index=True, max_length=40)
    material_id: str = Field(max_length=200)
    status: str = Field(max_length=20)
    due_date: date | None = None
    requested_by_step: str | None = Field(default=None, max_length=200)
    received_at: datetime | None = None
    promised_at: datetime | None = None


class Decision(SQLModel, table=True):
    """A department's decision on one step (insert-only)."""

    __tablename__ = "decision"

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(foreign_key="cases.id", index=True, max_length=40)
    case_step_id: int = Field(foreign_key="case_step.id")
    step_id: str = Field(max_length=200)
    outcome: str = Field(max_length=20)
    reason: str | None = None
    materials: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    decided_by: str = Field(max_length=200)
    department_id: str = Field(max_length=200)
    decided_at: datetime


class AuditEvent(SQLModel, table=True):
    """One entry of the tamper-evident trail (insert-only, hash-chained by ``seq``); ``mac``
    is the HMAC of ``hash`` under the audit key (:mod:`flows.casework.audit_key`)."""

    __tablename__ = "audit_event"

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    case_id: str | None = Field(default=None, index=True, max_length=40)
    kind: str = Field(max_length=50)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    at: datetime
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
    mac: str | None = Field(default=None, max_length=64)

    def expected_hash(self) -> str:
        """The hash this row's content and ``prev_hash`` call for."""
        return event_hash(
            self.prev_hash, seq=self.seq, case_id=self.case_id, kind=self.kind,
            payload=self.payload, at=self.at,
        )


class AuditChainHead(SQLModel, table=True):
    """The one row naming the last audit event; writers lock it to extend the chain. ``mac``
    is the HMAC of its ``seq`` and ``hash`` under the audit key."""

    __tablename__ = "audit_chain_head"

    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    seq: int = 0
    hash: str = Field(default=GENESIS_HASH, max_length=64)
    mac: str | None = Field(default=None, max_length=64)


class Certificate(SQLModel, table=True):
    """A certificate (证照) issued when the case's last step was approved."""

    __tablename__ = "certificate"
    __table_args__ = (
        UniqueConstraint("case_id", "step_id", "name", name="uq_certificate_case_step_name"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(unique=True, max_length=60)
    name: str = Field(max_length=200)
    case_id: str = Field(foreign_key="cases.id", index=True, max_length=40)
    step_id: str = Field(max_length=200)
    department_id: str = Field(max_length=200)
    issued_at: datetime
    revoked_at: datetime | None = None
    revoked_reason: str | None = None


class Commitment(SQLModel, table=True):
    """The 告知承诺书 signed at the window for one step of a case (its text, who signed, when)
    and the department's follow-up check (核查): due ``check_due_date``, then its result."""

    __tablename__ = "commitment"
    __table_args__ = (UniqueConstraint("case_id", "step_id", name="uq_commitment_case_step"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(foreign_key="cases.id", index=True, max_length=40)
    step_id: str = Field(max_length=200)
    department_id: str = Field(index=True, max_length=200)
    text: str
    signed_by: str = Field(max_length=200)
    recorded_by: str = Field(max_length=200)
    signed_at: datetime
    check_due_date: date
    check_result: str | None = Field(default=None, max_length=20)
    check_reason: str | None = None
    checked_by: str | None = Field(default=None, max_length=200)
    checked_at: datetime | None = None


class CaseAgent(SQLModel, table=True):
    """帮办代办: a member of staff (``agent``) acting on a case for its applicant
    (``acting_for``: the name of the person or enterprise), from ``at``, on the applicant's
    ``authorisation`` (委托书 or its number), recorded by ``recorded_by``."""

    __tablename__ = "case_agent"

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(foreign_key="cases.id", index=True, max_length=40)
    agent: str = Field(max_length=200)
    acting_for: str = Field(max_length=200)
    authorisation: str = Field(max_length=500)
    recorded_by: str = Field(max_length=200)
    at: datetime


class Rating(SQLModel, table=True):
    """The applicant's 好差评 of a case (国办发〔2019〕51号): once per case, five levels
    (``score`` 5 = 非常满意 … 1 = 非常不满意), an optional comment, the channel it came by."""

    __tablename__ = "rating"

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(foreign_key="cases.id", unique=True, max_length=40)
    score: int
    comment: str | None = Field(default=None, max_length=500)
    channel: str = Field(max_length=20)
    rated_at: datetime


class RatingFollowUp(SQLModel, table=True):
    """What a 差评 (score 1–2) sets going: a call-back to the applicant, the rectification
    due ``due_date``, and the department's appeal (申诉) with its outcome."""

    __tablename__ = "rating_follow_up"

    id: int | None = Field(default=None, primary_key=True)
    rating_id: int = Field(foreign_key="rating.id", unique=True)
    case_id: str = Field(foreign_key="cases.id", index=True, max_length=40)
    due_date: date
    called_back_at: datetime | None = None
    called_back_by: str | None = Field(default=None, max_length=200)
    call_back_note: str | None = Field(default=None, max_length=2000)
    rectified_at: datetime | None = None
    rectified_by: str | None = Field(default=None, max_length=200)
    rectification: str | None = Field(default=None, max_length=2000)
    appealed_at: datetime | None = None
    appealed_by: str | None = Field(default=None, max_length=200)
    appeal_reason: str | None = Field(default=None, max_length=2000)
    appeal_upheld: bool | None = None
    appeal_decided_by: str | None = Field(default=None, max_length=200)


class ApplicantCode(SQLModel, table=True):
    """A one-time code sent by SMS to an applicant logging in: only its keyed digest and the
    keyed digest of the ID number or 统一社会信用代码 it is for are kept; it expires, is used
    once, and counts the wrong attempts against it."""

    __tablename__ = "applicant_code"

    id: int | None = Field(default=None, primary_key=True)
    subject_digest: str = Field(index=True, max_length=64)
    code_digest: str = Field(max_length=64)
    created_at: datetime
    expires_at: datetime
    attempts: int = 0
    used_at: datetime | None = None


class MaterialFile(SQLModel, table=True):
    """A file an applicant uploaded for a material of the case, stored outside the web root
    under ``data_dir`` by its SHA-256; only the case's own applicant and staff read it."""

    __tablename__ = "material_file"

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(foreign_key="cases.id", index=True, max_length=40)
    material_id: str = Field(max_length=200)
    file_name: str = Field(max_length=200)
    content_type: str = Field(max_length=100)
    size_bytes: int
    sha256: str = Field(max_length=64)
    uploaded_at: datetime


class Outbox(SQLModel, table=True):
    """Something the flows must act on, written in the same transaction as the change."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_unprocessed", "processed_at", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(foreign_key="cases.id", index=True, max_length=40)
    kind: str = Field(max_length=50)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime
    processed_at: datetime | None = None


@event.listens_for(Decision, "before_update")
@event.listens_for(Decision, "before_delete")
@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _insert_only(_mapper, _connection, row) -> None:
    """Decisions and audit events are never changed or removed through the ORM."""
    from process_models.errors import Conflict

    raise Conflict(f"{type(row).__name__} rows are insert-only; record a new one instead")


def _json_value(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"cannot put {type(value).__name__} into an audit event")


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 text: the same bytes for the same content.

    >>> canonical_json({"b": 1, "a": "补正"})
    '{"a":"补正","b":1}'
    """
    return json.dumps(
        value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_json_value
    )


def event_hash(
    prev_hash: str, *, seq: int, case_id: str | None, kind: str, payload: Any, at: datetime
) -> str:
    """``sha256(prev_hash + canonical JSON of the row)`` as 64 hex digits."""
    row = {
        "seq": seq,
        "case_id": case_id,
        "kind": kind,
        "payload": payload,
        "at": at.isoformat(timespec="microseconds"),
        "prev_hash": prev_hash,
    }
    return hashlib.sha256((prev_hash + canonical_json(row)).encode("utf-8")).hexdigest()
