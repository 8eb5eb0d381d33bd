"""Operations on running cases: open, submit materials, decide, advance, withdraw, sweep.

Every operation is one transaction on a SQLModel ``Session``: it checks its input,
takes the write lock (:func:`flows.casework.store.begin_write` and the audit chain
head, :func:`lock_chain`), changes the tables of :mod:`flows.casework.tables`, appends
hash-chained :class:`~flows.casework.tables.AuditEvent` rows and an
:class:`~flows.casework.tables.Outbox` row, and commits. Bad input raises one
:class:`~process_models.errors.OnethingError` and writes nothing.

``now`` is passed in (aware, or naive service-centre time); days count on the
working-day calendar (:func:`process_models.calendar.default_calendar`), the
acceptance day not counted.

>>> import tempfile, pathlib
>>> from datetime import datetime
>>> from sqlmodel import Session
>>> from process_models import parse_procedure
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

import graphlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, make_dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any, Self

from sqlalchemy import bindparam, func, insert, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from flows.casework.identity import check_id_number, mask_id_number
from flows.casework.store import begin_write, init_db, make_engine
from flows.casework.tables import (
    CLOSED_STATUSES,
    GENESIS_HASH,
    OUTCOMES,
    AuditChainHead,
    AuditEvent,
    Case,
    CaseStep,
    Certificate,
    Colour,
    Decision,
    Outbox,
    ProcedureDefinition,
    Submission,
    aware_time,
    canonical_json,
    event_hash,
    local_date,
)
from process_models.errors import (
    CaseNotFound,
    Conflict,
    DecisionConflict,
    Forbidden,
    InvalidInput,
    ProcedureNotFound,
    did_you_mean,
)
from process_models.procedure import Procedure, Provider, Step, Unit

__all__ = [
    "ADVANCE_BATCH_CASES",
    "CHANGE_MARKER",
    "DEFERRAL_WORKING_DAYS",
    "SWEEP_BATCH_CASES",
    "AdvanceResult",
    "Applicant",
    "ChainReport",
    "NoticeItem",
    "StatusChange",
    "advance_case",
    "advance_cases",
    "case_colour",
    "decide",
    "init_db",
    "lock_chain",
    "make_engine",
    "mark_processed",
    "notification_list",
    "open_case",
    "pending_outbox",
    "resolve_procedure",
    "step_colour",
    "store_procedure",
    "submit_materials",
    "sweep",
    "verify_chain",
    "withdraw_case",
]

DEFERRAL_WORKING_DAYS = 5
"""Working days an applicant has to bring a material owed under 容缺受理."""

_OUTCOME_STATUS = {"approve": "approved", "reject": "rejected", "supplement": "supplement"}
_OPEN_STEP_STATUSES = ("waiting", "pending", "supplement")


# --- value types ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Applicant:
    """Who applies: name and ID number (checked, GB 11643), address and phone optional."""

    name: str
    id_number: str
    address: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class NoticeItem:
    """One line of the 一次性告知单: a material the applicant brings and the steps needing it."""

    material_id: str
    name: str
    key: bool
    count: int
    steps: tuple[str, ...]

    @property
    def deferrable(self) -> bool:
        """Whether 容缺受理 lets the applicant bring it after acceptance (non-key only)."""
        return not self.key


@dataclass(frozen=True)
class AdvanceResult:
    """What one :func:`advance_case` call changed (empty when there was nothing to do)."""

    case_id: str
    status: str
    started: tuple[str, ...] = ()
    certificates: tuple[str, ...] = ()
    closed: bool = False


@dataclass(frozen=True)
class StatusChange:
    """A colour change found by :func:`sweep`; ``step_id`` is ``None`` for the case itself."""

    case_id: str
    step_id: str | None
    before: str | None
    after: Colour
    escalated: bool = False


@dataclass(frozen=True)
class ChainReport:
    """The result of :func:`verify_chain`: ``ok``, events read, the first bad one and why."""

    ok: bool
    events: int
    first_bad_seq: int | None = None
    problem: str | None = None

    def __str__(self) -> str:
        if self.ok:
            return f"audit chain intact: {self.events} events"
        return f"audit chain broken at event {self.first_bad_seq}: {self.problem}"


# --- procedures --------------------------------------------------------------------------------


def _active_steps(proc: Procedure) -> list[Step]:
    """Steps a case runs: 事中事后 follow-up checks happen after issue, outside the case."""
    return [s for s in proc.steps if not getattr(s, "follow_up", False)]


@lru_cache(maxsize=64)
def _parse_stored(definition: str) -> Procedure:
    """A stored definition, parsed once per process (YAML parsing is the slow part).

    The cached procedure is shared: callers treat definitions as read-only.
    """
    from process_models.loading import parse_procedure

    return parse_procedure(definition, file="<stored procedure>")


def resolve_procedure(
    procedure_id: str, version: str | None = None, *, session: Session | None = None
) -> Procedure:
    """The procedure definition a case runs: from the store (when given a session), else
    the catalog. ``version=None`` means the newest stored, or the catalog's.

    >>> resolve_procedure("newborn").id
    'newborn'
    >>> resolve_procedure("newborn", "2099")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    process_models.errors.ProcedureNotFound: procedure 'newborn' version '2099' is neither stored nor in the catalog (the catalog holds version '...')
    """
    from process_models.catalog import load_catalog_procedure

    if session is not None:
        query = select(ProcedureDefinition.definition).where(
            ProcedureDefinition.procedure_id == procedure_id
        )
        if version is not None:
            query = query.where(ProcedureDefinition.version == version)
        stored = session.exec(
            query.order_by(col(ProcedureDefinition.stored_at).desc()).limit(1)
        ).first()
        if stored is not None:
            return _parse_stored(stored)
    proc = load_catalog_procedure(procedure_id)
    if version is not None and proc.version != version:
        raise ProcedureNotFound(
            f"procedure '{procedure_id}' version '{version}' is neither stored nor in the "
            f"catalog (the catalog holds version '{proc.version}')"
        )
    return proc


def store_procedure(session: Session, proc: Procedure, *, now: datetime) -> None:
    """Keep ``proc``'s definition under its id and version (inside the caller's transaction).

    A different definition under a stored id and version is refused: change the version.
    """
    from process_models.loading import dump_procedure

    key = {"procedure_id": proc.id, "version": proc.version}
    stored = session.execute(_READ_DEFINITION, key).scalar_one_or_none()
    if stored is None:
        session.execute(insert(_DEFINITIONS), {
            **key, "definition": dump_procedure(proc), "stored_at": aware_time(now)})
    elif _parse_stored(stored) != proc:
        raise Conflict(
            f"procedure '{proc.id}' version '{proc.version}' is already stored with a "
            "different definition; give the changed procedure a new version"
        )


def notification_list(proc: Procedure) -> list[NoticeItem]:
    """The 一次性告知单: every material the applicant brings, once, with the steps needing it.

    Materials from data sharing (共享) or issued by another step are left out.

    >>> from process_models import parse_procedure
    >>> proc = parse_procedure('''
    ... id: demo
    ... name: 示例
    ... departments: [{id: police, name: 公安}]
    ... materials: [{id: id_card, name: 身份证, provider: 共享}, {id: photo, name: 照片, key: false}]
    ... steps: [{id: card, name: 办证, department: police, committed: {days: 1},
    ...          materials: [id_card, photo]}]
    ... ''')
    >>> [(i.material_id, i.deferrable, i.steps) for i in notification_list(proc)]
    [('photo', True, ('card',))]
    """
    steps_by_material: dict[str, list[str]] = {}
    for step in _active_steps(proc):
        for material_id in step.materials:
            if proc.material(material_id).provider is Provider.applicant:
                needing = steps_by_material.setdefault(material_id, [])
                if step.id not in needing:
                    needing.append(step.id)
    return [
        NoticeItem(material_id=m.id, name=m.name, key=m.key, count=m.count, steps=tuple(steps))
        for material_id, steps in steps_by_material.items()
        for m in [proc.material(material_id)]
    ]


def _check_materials(proc: Procedure, material_ids: Sequence[str], *, path: str) -> list[str]:
    """``material_ids`` if each is a known material the applicant brings, listed once."""
    if isinstance(material_ids, str):
        material_ids = [material_ids]
    notice = {item.material_id for item in notification_list(proc)}
    seen: list[str] = []
    for material_id in material_ids:
        material = proc.material(material_id)
        if material.provider is Provider.data_sharing:
            raise InvalidInput(
                f"material '{material_id}' ({material.name}) comes from data sharing; "
                "the applicant need not bring it", path=path,
            )
        if material.provider is Provider.step:
            raise InvalidInput(
                f"material '{material_id}' ({material.name}) is issued by step "
                f"'{material.from_step}'; the applicant need not bring it", path=path,
            )
        if material_id not in notice:
            raise InvalidInput(
                f"no step of procedure '{proc.id}' needs material '{material_id}'; leave it out",
                path=path,
            )
        if material_id in seen:
            raise InvalidInput(
                f"duplicate submission: material '{material_id}' is listed twice", path=path
            )
        seen.append(material_id)
    return seen


# --- calendar arithmetic -------------------------------------------------------------------------


def _calendar():
    from process_models.calendar import default_calendar

    return default_calendar()


def _after(day: date, days: float, unit: Unit) -> date:
    calendar = _calendar()
    if unit is Unit.working:
        return calendar.add_working_days(day, days)
    return calendar.add_calendar_days(day, days)


def _step_due(step: Step, start_day: date, paused_working_days: int = 0) -> date:
    """Committed due date: the limit plus untimed parts (公示 ...) plus 补正 pauses."""
    due = _after(start_day, step.committed.days + step.untimed_days(step.committed.unit),
                 step.committed.unit)
    other = Unit.calendar if step.committed.unit is Unit.working else Unit.working
    if step.untimed_days(other):
        due = _after(due, step.untimed_days(other), other)
    if paused_working_days:
        due = _calendar().add_working_days(due, paused_working_days)
    return due


def _members(proc: Procedure, target: str) -> tuple[list[str], bool]:
    """The steps of a case a dependency target stands for (itself, or a stage's milestones)
    and whether one of them is enough (a stage joining on ``any``)."""
    active = {s.id for s in _active_steps(proc)}
    for stage in proc.stages:
        if stage.id == target:
            members = [m for m in (stage.milestones or stage.steps) if m in active]
            return members, stage.join.value == "any"
    return ([target] if target in active else []), False


def _dependency_day(proc: Procedure, target: str, finished: dict[str, date]) -> date | None:
    """When a dependency target (step or stage) completed, or ``None`` while it has not.

    A target standing for no step of the case (a follow-up check) never holds anything up.
    """
    members, any_one = _members(proc, target)
    if not members:
        return date.min
    done = [finished[m] for m in members if m in finished]
    if any_one:
        return min(done) if done else None
    return max(done) if len(done) == len(members) else None


def _ready_day(proc: Procedure, step: Step, finished: dict[str, date], accepted: date):
    """The day ``step``'s clock starts (after every dependency and its lag), or ``None``."""
    day = accepted
    for dependency in step.depends_on:
        done = _dependency_day(proc, dependency.step, finished)
        if done is None:
            return None
        if done == date.min:
            continue
        if dependency.lag is not None:
            done = _after(done, dependency.lag.days, dependency.lag.unit)
        day = max(day, done)
    return day


def _planned_due_date(proc: Procedure, accepted: date, paused: dict[str, int]) -> date:
    """The case's committed due date: every step on its limit (plus pauses), in order."""
    steps = {s.id: s for s in _active_steps(proc)}
    order = graphlib.TopologicalSorter()
    for step in steps.values():
        order.add(step.id, *[m for d in step.depends_on for m in _members(proc, d.step)[0]])
    finished: dict[str, date] = {}
    for step_id in order.static_order():
        start = _ready_day(proc, steps[step_id], finished, accepted)
        finished[step_id] = _step_due(steps[step_id], start, paused.get(step_id, 0))
    return max(finished.values(), default=accepted)


# --- rows and the transaction of an operation ----------------------------------------------------
#
# The operations read and write with SQLAlchemy Core statements built once (their compiled
# forms stay in the engine's cache) on plain records: no ORM instances, no flush.

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


CHANGE_MARKER = sa_select(AuditChainHead.seq).where(AuditChainHead.id == 1)
"""The query of a number that moves on with every change to cases: the length of the
audit chain.

Every operation here appends to the chain in the transaction of its change, so while the
marker stays the same no case, step, material, decision or certificate changed. Read it
before the rows it vouches for (alone, or within another statement): rows read after it
are at least as new.
"""


class _Transaction:
    """``with _Transaction(session) as tx:`` the one write transaction of an operation.

    Entering begins the write (:func:`~flows.casework.store.begin_write`) and locks the
    audit chain head (:func:`lock_chain`). :meth:`audit` and :meth:`outbox` collect the
    operation's audit events (hash-chained from the locked head) and outbox rows; leaving
    without an error inserts them, moves the chain head and commits, so they commit with
    the change they describe. An error rolls everything back.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
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
                self.execute(_MOVE_CHAIN.values(seq=self.seq, hash=self.hash))
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
        """Append an audit event to the chain (written when the transaction commits)."""
        payload = json.loads(canonical_json(payload))
        prev_hash, self.seq = self.hash, self.seq + 1
        self.hash = event_hash(prev_hash, seq=self.seq, case_id=case_id, kind=kind,
                               payload=payload, at=at)
        self.events.append({"seq": self.seq, "case_id": case_id, "kind": kind,
                            "payload": payload, "at": at, "prev_hash": prev_hash,
                            "hash": self.hash})

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


def _procedure(case, definition: str | None) -> Procedure:
    """The procedure version ``case`` runs: its stored definition, else the catalog's."""
    if definition is not None:
        return _parse_stored(definition)
    return resolve_procedure(case.procedure_id, case.procedure_version)


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


# --- operations -----------------------------------------------------------------------------------


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


# --- colours (宾县 red / yellow / green) --------------------------------------------------------


def step_colour(step: CaseStep, today: date, *, yellow_share: float) -> Colour:
    """Red past its committed due date; yellow paused for 补正 or past ``yellow_share`` of
    its time; green on track. Decided steps keep the colour of when they were decided.

    ``step`` may also be a row of the columns read here (status, due_date, decided_at,
    paused_on, started_at), as readers that skip the ORM pass it.
    """
    if step.due_date is None or step.status in ("waiting", "cancelled"):
        return "green"
    if step.status in ("approved", "rejected"):
        return "red" if local_date(step.decided_at) > step.due_date else "green"
    if step.status == "supplement":
        return "red" if step.paused_on and step.paused_on > step.due_date else "yellow"
    if today > step.due_date:
        return "red"
    calendar = _calendar()
    start = local_date(step.started_at)
    total = calendar.working_days_between(start, step.due_date)
    elapsed = calendar.working_days_between(start, today)
    return "yellow" if total > 0 and elapsed > yellow_share * total else "green"


def case_colour(case: Case, steps: Sequence[CaseStep], today: date, *,
                yellow_share: float, owed: Sequence[Submission] = ()) -> Colour:
    """The case's colour: the worst of its steps', red past its own due date, yellow while
    waiting for 补正 at the window or for an ``owed`` 容缺 material past its due date.
    A closed case is red if it closed after its due date. ``case`` may also be a row of the
    columns read here (status, due_date, closed_at), ``steps`` rows as for
    :func:`step_colour`."""
    if case.status in CLOSED_STATUSES:
        late = case.due_date is not None and local_date(case.closed_at) > case.due_date
        return "red" if late else "green"
    if case.status == "awaiting_supplement":
        return "yellow"
    colours = {step_colour(s, today, yellow_share=yellow_share) for s in steps}
    if "red" in colours or (case.due_date is not None and today > case.due_date):
        return "red"
    overdue = any(r.status == "deferred" and r.due_date and today > r.due_date for r in owed)
    return "yellow" if "yellow" in colours or overdue else "green"


SWEEP_BATCH_CASES = 200
"""Cases recoloured per transaction by :func:`sweep` (writers wait at most one batch)."""


def sweep(
    session: Session, *, now: datetime, yellow_share: float | None = None
) -> list[StatusChange]:
    """Recolour every open case and step; a step turning red is escalated (督办) once.

    Commits every :data:`SWEEP_BATCH_CASES` cases, so staff decisions never wait long.
    """
    if yellow_share is None:
        from process_models.settings import settings

        yellow_share = settings.yellow_share
    at = aware_time(now)
    today = local_date(at)
    open_statuses = ["accepted", "awaiting_supplement"]
    case_ids = list(session.exec(
        select(Case.id).where(col(Case.status).in_(open_statuses)).order_by(col(Case.id))
    ).all())
    changes: list[StatusChange] = []
    for first in range(0, len(case_ids), SWEEP_BATCH_CASES):
        with _Transaction(session) as tx:
            batch = [_CaseRow(*row) for row in tx.execute(_READ_OPEN_CASES, {
                "ids": case_ids[first:first + SWEEP_BATCH_CASES], "statuses": open_statuses})]
            ids = [case.id for case in batch]
            steps, owed = _read_steps(tx, ids), _read_submissions(tx, ids)
            changed_cases, changed_steps = [], []
            for case in batch:
                changes += _recolour(tx, case, steps[case.id], list(owed[case.id].values()),
                                     today, yellow_share, at, changed_cases, changed_steps)
            tx.save(_SAVE_STEPS, changed_steps, _STEP_STATE)
            tx.save(_SAVE_CASES, changed_cases, _CASE_STATE)
    return changes


def _recolour(tx: _Transaction, case, steps: list, owed: list, today: date, yellow_share: float,
              at: datetime, changed_cases: list, changed_steps: list) -> list[StatusChange]:
    """Recolour ``case`` and its steps, adding the changed records to the two lists."""
    changes = []
    for step in steps:
        colour = step_colour(step, today, yellow_share=yellow_share)
        escalate = colour == "red" and step.escalated_at is None
        if colour != step.colour or escalate:
            changes.append(StatusChange(case.id, step.step_id, step.colour, colour, escalate))
            step.colour = colour
            changed_steps.append(step)
        if escalate:
            step.escalated_at = at
            tx.audit(case.id, "escalation", {
                "step_id": step.step_id, "department_id": step.department_id,
                "due_date": step.due_date.isoformat(),
            }, at)
            tx.outbox(case.id, "escalation", {"step_id": step.step_id}, at)
    colour = case_colour(case, steps, today, yellow_share=yellow_share, owed=owed)
    if colour != case.colour:
        changes.append(StatusChange(case.id, None, case.colour, colour))
        case.colour = colour
        changed_cases.append(case)
    return changes


# --- outbox ----------------------------------------------------------------------------------------


_PENDING_OUTBOX = (sa_select(*_OUTBOX.c).where(_OUTBOX.c.processed_at.is_(None))
                   .order_by(_OUTBOX.c.id).limit(bindparam("limit")))


def pending_outbox(session: Session, limit: int = 100) -> list[Any]:
    """Unprocessed outbox rows, oldest first (read-only rows with the columns of
    :class:`~flows.casework.tables.Outbox` as attributes)."""
    return list(session.execute(_PENDING_OUTBOX, {"limit": limit}).all())


def mark_processed(session: Session, ids: Iterable[int], *, now: datetime | None = None) -> int:
    """Mark outbox rows done (once; already processed rows stay as they were); commits."""
    at = aware_time(now or datetime.now(UTC))
    ids = list(ids)
    if not ids:
        return 0
    result = session.execute(
        update(Outbox).where(col(Outbox.id).in_(ids), col(Outbox.processed_at).is_(None))
        .values(processed_at=at).execution_options(synchronize_session=False)
    )
    session.commit()
    return result.rowcount


# --- verifying the audit chain ------------------------------------------------------------------


def verify_chain(session: Session) -> ChainReport:
    """Walk every audit event in order; name the first whose content or order was changed.

    Each event must carry the next ``seq``, its ``prev_hash`` must be the previous event's
    hash and its ``hash`` must match its content; the chain head must name the last event.
    """
    prev_seq, prev_hash, count = 0, GENESIS_HASH, 0
    columns = (AuditEvent.seq, AuditEvent.case_id, AuditEvent.kind, AuditEvent.payload,
               AuditEvent.at, AuditEvent.prev_hash, AuditEvent.hash)
    rows = session.execute(
        sa_select(*columns).order_by(col(AuditEvent.seq)).execution_options(yield_per=2000)
    )
    for seq, case_id, kind, payload, at, linked_hash, stored_hash in rows:
        count += 1
        where = f"event {seq} ({kind}, case {case_id})"
        if seq != prev_seq + 1:
            first = seq if seq <= prev_seq else prev_seq + 1
            return ChainReport(False, count, first,
                               f"{where} follows event {prev_seq}: events are missing or "
                               "out of order")
        intact = stored_hash == event_hash(linked_hash, seq=seq, case_id=case_id, kind=kind,
                                           payload=payload, at=at)
        if linked_hash != prev_hash:
            if prev_seq and intact:
                # This event is intact, so the one before was rewritten with a new hash.
                return ChainReport(False, count, prev_seq,
                                   f"event {prev_seq} was rewritten: event {seq} "
                                   "links to a different hash")
            return ChainReport(False, count, seq,
                               f"{where} does not link to event {prev_seq}: it was changed, "
                               "moved or inserted")
        if not intact:
            return ChainReport(False, count, seq,
                               f"{where} was changed: its content does not match its hash")
        prev_seq, prev_hash = seq, stored_hash
    head = session.exec(select(AuditChainHead).where(AuditChainHead.id == 1)
                        .execution_options(populate_existing=True)).one()
    if head.seq > prev_seq:
        return ChainReport(False, count, prev_seq + 1,
                           f"the chain head names event {head.seq} but the last event is "
                           f"{prev_seq}: events were deleted at the end")
    if head.seq < prev_seq:
        return ChainReport(False, count, head.seq + 1,
                           f"events {head.seq + 1} to {prev_seq} were added after the chain "
                           f"head (event {head.seq}) without extending it")
    if head.hash != prev_hash:
        return ChainReport(False, count, prev_seq,
                           f"event {prev_seq} is not the event the chain head names: the last "
                           "event was replaced")
    return ChainReport(True, count)

