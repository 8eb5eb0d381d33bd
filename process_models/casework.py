"""Operations on running cases: open, submit materials, decide, advance, withdraw, sweep.

Every operation is one transaction on a SQLModel ``Session``: it checks its input,
takes the write lock (:func:`process_models.store.begin_write` and the audit chain
head, :func:`lock_chain`), changes the tables of :mod:`process_models.cases`, appends
hash-chained :class:`~process_models.cases.AuditEvent` rows and an
:class:`~process_models.cases.Outbox` row, and commits. Bad input raises one
:class:`~process_models.errors.OnethingError` and writes nothing.

``now`` is passed in (aware, or naive service-centre time); days count on the
working-day calendar (:func:`process_models.calendar.default_calendar`), the
acceptance day not counted.

>>> import tempfile, pathlib
>>> from datetime import datetime
>>> from sqlmodel import Session
>>> from process_models import parse_procedure
>>> from process_models.store import init_db, make_engine
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
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache

from sqlalchemy import func, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from process_models.cases import (
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
from process_models.identity import check_id_number, mask_id_number
from process_models.procedure import Procedure, Provider, Step, Unit
from process_models.store import begin_write, init_db, make_engine

__all__ = [
    "DEFERRAL_WORKING_DAYS",
    "SWEEP_BATCH_CASES",
    "AdvanceResult",
    "Applicant",
    "ChainReport",
    "NoticeItem",
    "StatusChange",
    "advance_case",
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

    stored = session.get(ProcedureDefinition, (proc.id, proc.version))
    if stored is None:
        session.add(ProcedureDefinition(
            procedure_id=proc.id, version=proc.version, definition=dump_procedure(proc),
            stored_at=aware_time(now),
        ))
    elif _parse_stored(stored.definition) != proc:
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


# --- the audit chain and the outbox -------------------------------------------------------------

_HEAD = "onething_chain_head"


def lock_chain(session: Session) -> AuditChainHead:
    """Lock the audit chain head for this transaction (``SELECT ... FOR UPDATE``).

    On PostgreSQL this serialises every writer; on SQLite the ``BEGIN IMMEDIATE`` of
    :func:`~process_models.store.begin_write` already has.
    """
    head = session.exec(
        select(AuditChainHead)
        .where(AuditChainHead.id == 1)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    session.info[_HEAD] = head
    return head


def _begin(session: Session) -> None:
    begin_write(session)
    session.expire_all()
    lock_chain(session)


def _audit(session: Session, case_id: str | None, kind: str, payload: dict, at: datetime):
    head: AuditChainHead = session.info[_HEAD]
    event = AuditEvent(
        seq=head.seq + 1, case_id=case_id, kind=kind, payload=json.loads(canonical_json(payload)),
        at=at, prev_hash=head.hash, hash="",
    )
    event.hash = event.expected_hash()
    head.seq, head.hash = event.seq, event.hash
    session.add(event)
    session.add(head)
    return event


def _outbox(session: Session, case_id: str, kind: str, payload: dict, at: datetime) -> None:
    session.add(Outbox(case_id=case_id, kind=kind, payload=json.loads(canonical_json(payload)),
                       created_at=at))


def _commit(session: Session) -> None:
    session.flush()
    session.commit()


def _loaded(session: Session, row):
    """``row`` refreshed after the commit, so it can be read after the session closes."""
    session.refresh(row)
    return row


class _Transaction:
    """``with _Transaction(session):`` begins the write, commits, or rolls back on error."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def __enter__(self) -> Session:
        try:
            _begin(self.session)
        except BaseException:
            self.session.rollback()
            raise
        return self.session

    def __exit__(self, kind, error, traceback) -> bool:
        if kind is None:
            _commit(self.session)
        else:
            self.session.rollback()
        self.session.info.pop(_HEAD, None)
        return False


# --- reading -------------------------------------------------------------------------------------


def _case(session: Session, case_id: str) -> Case:
    case = session.get(Case, case_id, populate_existing=True)
    if case is None:
        same_day = session.exec(
            select(Case.id).where(col(Case.id).like(str(case_id)[:11] + "%")).limit(1000)
        ).all()
        raise CaseNotFound(f"no case '{case_id}'", suggestion=did_you_mean(case_id, same_day))
    return case


def _steps(session: Session, case_id: str) -> list[CaseStep]:
    return list(session.exec(
        select(CaseStep).where(CaseStep.case_id == case_id).order_by(col(CaseStep.id))
    ).all())


def _submissions(session: Session, case_id: str) -> dict[str, Submission]:
    rows = session.exec(select(Submission).where(Submission.case_id == case_id)).all()
    return {row.material_id: row for row in rows}


def _case_procedure(session: Session, case: Case) -> Procedure:
    return resolve_procedure(case.procedure_id, case.procedure_version, session=session)


def _ensure_open(case: Case, action: str) -> None:
    if case.status in CLOSED_STATUSES:
        raise Conflict(f"case {case.id} is closed ({case.status}); cannot {action}")


def _next_case_id(session: Session, today: date) -> str:
    prefix = f"C-{today:%Y%m%d}-"
    count = session.exec(select(func.count()).where(col(Case.id).like(prefix + "%"))).one()
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

    with _Transaction(session):
        store_procedure(session, proc, now=at)
        case = Case(
            id=_next_case_id(session, today), procedure_id=proc.id,
            procedure_version=proc.version, applicant_name=applicant.name.strip(),
            applicant_id_number=id_number, applicant_address=applicant.address,
            applicant_phone=applicant.phone,
            status="awaiting_supplement" if missing_key else "accepted", received_at=at,
        )
        session.add(case)
        session.flush()
        for material_id in received:
            session.add(Submission(case_id=case.id, material_id=material_id, status="received",
                                   received_at=at))
        for material_id in missing_key:
            session.add(Submission(case_id=case.id, material_id=material_id, status="requested"))
        for material_id in owed:
            session.add(Submission(case_id=case.id, material_id=material_id, status="deferred"))
        for step in _active_steps(proc):
            session.add(CaseStep(case_id=case.id, step_id=step.id, department_id=step.department,
                                 status="waiting"))
        session.flush()
        _audit(session, case.id, "case_opened", {
            "procedure_id": proc.id, "procedure_version": proc.version,
            "applicant_id_number": mask_id_number(id_number), "received": received,
            "missing": missing_key, "owed": owed,
        }, at)
        if missing_key:
            _audit(session, case.id, "supplement_requested",
                   {"step_id": None, "materials": missing_key}, at)
        else:
            _accept(session, case, proc, at, deferral_working_days)
        _outbox(session, case.id, "case_opened", {"status": case.status}, at)
    return _loaded(session, case)


def _accept(session: Session, case: Case, proc: Procedure, at: datetime,
            deferral_working_days: int) -> None:
    today = local_date(at)
    case.status = "accepted"
    case.accepted_at = at
    case.version += 1
    owed_until = _calendar().add_working_days(today, deferral_working_days)
    owed = [s for s in _submissions(session, case.id).values() if s.status == "deferred"]
    for row in owed:
        row.due_date = owed_until
        session.add(row)
    case.due_date = _planned_due_date(proc, today, {})
    session.add(case)
    _audit(session, case.id, "case_accepted", {
        "due_date": case.due_date.isoformat(),
        "owed": {row.material_id: owed_until.isoformat() for row in owed},
    }, at)
    _start_ready_steps(session, case, proc, _steps(session, case.id), at)


def _start_ready_steps(session: Session, case: Case, proc: Procedure,
                       steps: list[CaseStep], at: datetime) -> list[str]:
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
        session.add(row)
        started.append(row.step_id)
        _audit(session, case.id, "step_started", {
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
    with _Transaction(session):
        case = _case(session, case_id)
        _ensure_open(case, "submit materials")
        proc = _case_procedure(session, case)
        if not material_ids:
            raise InvalidInput("no materials given; name at least one material id",
                               path="material_ids")
        ids = _check_materials(proc, material_ids, path="material_ids")
        rows = _submissions(session, case.id)
        for material_id in ids:
            row = rows.get(material_id)
            if row is not None and row.status == "received":
                raise InvalidInput(
                    f"duplicate submission: material '{material_id}' of case {case.id} was "
                    f"already received on {local_date(row.received_at)}; nothing was recorded"
                )
        for material_id in ids:
            row = rows.get(material_id) or Submission(case_id=case.id, material_id=material_id,
                                                      status="received")
            row.status, row.received_at = "received", at
            rows[material_id] = row
            session.add(row)
        session.flush()
        _audit(session, case.id, "materials_received", {"materials": ids}, at)

        if case.status == "awaiting_supplement" and not any(
            r.status == "requested" and r.requested_by_step is None
            and proc.material(r.material_id).key for r in rows.values()
        ):
            _accept(session, case, proc, at, deferral_working_days)
        resumed = _resume_steps(session, case, rows, today, at)
        if resumed:
            paused = {s.step_id: s.paused_working_days for s in _steps(session, case.id)}
            case.due_date = _planned_due_date(proc, local_date(case.accepted_at), paused)
            case.version += 1
            session.add(case)
        _outbox(session, case.id, "materials_submitted",
                {"materials": ids, "resumed": resumed}, at)
    return _loaded(session, case)


def _resume_steps(session: Session, case: Case, rows: dict[str, Submission], today: date,
                  at: datetime) -> list[str]:
    resumed = []
    for step in _steps(session, case.id):
        if step.status != "supplement":
            continue
        request = session.exec(
            select(Decision)
            .where(Decision.case_step_id == step.id, Decision.outcome == "supplement")
            .order_by(col(Decision.id).desc())
        ).first()
        asked = (request.materials or []) if request else []
        if any(rows.get(m) is None or rows[m].status != "received" for m in asked):
            continue
        paused = max(0, _calendar().working_days_between(step.paused_on, today))
        step.due_date = _calendar().add_working_days(step.due_date, paused) if paused else (
            step.due_date
        )
        step.paused_working_days += paused
        step.paused_on = None
        step.status = "pending"
        step.version += 1
        session.add(step)
        resumed.append(step.step_id)
        _audit(session, case.id, "step_resumed", {
            "step_id": step.step_id, "paused_working_days": paused,
            "due_date": step.due_date.isoformat(),
        }, at)
    return resumed


def _decided_by_message(session: Session, case: Case, step: CaseStep) -> str:
    last = session.exec(
        select(Decision).where(Decision.case_step_id == step.id).order_by(col(Decision.id).desc())
    ).first()
    if last is None:
        return f"step '{step.step_id}' of case {case.id} changed (now version {step.version})"
    return (
        f"step '{step.step_id}' of case {case.id} was already decided: {last.outcome} by "
        f"{last.decided_by} ({last.department_id}) at {last.decided_at:%Y-%m-%d %H:%M} UTC"
    )


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
    with _Transaction(session):
        case = _case(session, case_id)
        proc = _case_procedure(session, case)
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
        step = session.exec(
            select(CaseStep).where(CaseStep.case_id == case.id, CaseStep.step_id == step_id)
            .execution_options(populate_existing=True)
        ).one_or_none()
        if step is None:
            raise Conflict(f"step '{step_id}' is not part of case {case.id} "
                           "(a follow-up check runs after issue)")
        version = step.version if expected_version is None else expected_version
        if step.status in ("approved", "rejected") or step.version != version:
            raise DecisionConflict(_decided_by_message(session, case, step)
                                   + "; reload the case")
        if step.status == "waiting":
            finished = {s.step_id: date.min for s in _steps(session, case.id)
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
            owed = [r for r in _submissions(session, case.id).values()
                    if r.status != "received" and r.material_id in definition.materials]
            if owed:
                names = ", ".join(f"'{r.material_id}'" for r in owed)
                raise Conflict(f"step '{step_id}' of case {case.id} needs material {names} "
                               "still owed; record it with submit_materials before approving")

        values = {"status": _OUTCOME_STATUS[outcome], "version": version + 1}
        if outcome == "supplement":
            values["paused_on"] = local_date(at)
        else:
            values["decided_at"] = at
        result = session.execute(
            update(CaseStep)
            .where(CaseStep.id == step.id, CaseStep.version == version,
                   CaseStep.status == "pending")
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            session.refresh(step)
            raise DecisionConflict(_decided_by_message(session, case, step) + "; reload the case")
        decision = Decision(
            case_id=case.id, case_step_id=step.id, step_id=step_id, outcome=outcome,
            reason=reason, materials=asked or None, decided_by=decided_by.strip(),
            department_id=department_id, decided_at=at,
        )
        session.add(decision)
        rows = _submissions(session, case.id)
        for material_id in asked:
            row = rows.get(material_id) or Submission(case_id=case.id, material_id=material_id,
                                                      status="requested")
            row.status, row.requested_by_step, row.received_at = "requested", step_id, None
            session.add(row)
        session.flush()
        _audit(session, case.id, "decision", {
            "decision_id": decision.id, "step_id": step_id, "department_id": department_id,
            "outcome": outcome, "reason": reason, "materials": asked,
            "decided_by": decision.decided_by, "step_version": version + 1,
        }, at)
        _outbox(session, case.id, "decision",
                {"decision_id": decision.id, "step_id": step_id, "outcome": outcome}, at)
    return _loaded(session, decision)


def advance_case(session: Session, case_id: str, *, now: datetime) -> AdvanceResult:
    """Move a case on after a decision; running it twice changes nothing the second time.

    Starts the steps whose dependencies are now met; when every step is approved, issues
    every certificate at once (一次办结) and closes the case ``approved``; when a step was
    rejected, cancels the open steps and closes the case ``rejected`` with that reason.
    """
    at = aware_time(now)
    with _Transaction(session):
        case = _case(session, case_id)
        if case.status != "accepted":
            return AdvanceResult(case_id=case.id, status=case.status)
        proc = _case_procedure(session, case)
        steps = _steps(session, case.id)
        rejected = [s for s in steps if s.status == "rejected"]
        if rejected:
            return _close_rejected(session, case, steps, rejected, at)
        started = _start_ready_steps(session, case, proc, steps, at)
        if started:
            _outbox(session, case.id, "steps_started", {"steps": started}, at)
        if all(s.status == "approved" for s in steps):
            numbers = _issue_certificates(session, case, proc, steps, at)
            case.status, case.closed_at = "approved", at
            case.version += 1
            session.add(case)
            _audit(session, case.id, "case_approved", {"certificates": numbers}, at)
            _outbox(session, case.id, "case_closed",
                    {"status": "approved", "certificates": numbers}, at)
            return AdvanceResult(case.id, case.status, tuple(started), tuple(numbers), True)
        return AdvanceResult(case.id, case.status, tuple(started))


def _issue_certificates(session: Session, case: Case, proc: Procedure,
                        steps: list[CaseStep], at: datetime) -> list[str]:
    existing = {(c.step_id, c.name) for c in session.exec(
        select(Certificate).where(Certificate.case_id == case.id)).all()}
    numbers = []
    index = len(existing)
    for row in steps:
        for name in proc.step(row.step_id).certificates:
            if (row.step_id, name) in existing:
                continue
            existing.add((row.step_id, name))
            index += 1
            certificate = Certificate(
                number=f"{case.id}-{index:02d}", name=name, case_id=case.id,
                step_id=row.step_id, department_id=row.department_id, issued_at=at,
            )
            session.add(certificate)
            numbers.append(certificate.number)
    session.flush()
    return numbers


def _cancel_open_steps(session: Session, steps: Iterable[CaseStep]) -> list[str]:
    cancelled = []
    for row in steps:
        if row.status in _OPEN_STEP_STATUSES:
            row.status = "cancelled"
            row.version += 1
            session.add(row)
            cancelled.append(row.step_id)
    return cancelled


def _close_rejected(session: Session, case: Case, steps: list[CaseStep],
                    rejected: list[CaseStep], at: datetime) -> AdvanceResult:
    reasons = session.exec(
        select(Decision).where(Decision.case_id == case.id, Decision.outcome == "reject")
        .order_by(col(Decision.id))
    ).all()
    reason = "; ".join(f"{d.step_id}: {d.reason}" for d in reasons)
    cancelled = _cancel_open_steps(session, steps)
    case.status, case.closed_at, case.close_reason = "rejected", at, reason
    case.version += 1
    session.add(case)
    _audit(session, case.id, "case_rejected", {
        "rejected": [s.step_id for s in rejected], "cancelled": cancelled, "reason": reason,
    }, at)
    _outbox(session, case.id, "case_closed", {"status": "rejected", "reason": reason}, at)
    return AdvanceResult(case.id, case.status, closed=True)


def withdraw_case(session: Session, case_id: str, *, reason: str, now: datetime) -> Case:
    """The applicant withdraws (撤回): open steps are cancelled and the case closes."""
    if not reason or not reason.strip():
        raise InvalidInput("withdrawing a case needs a reason; give one", path="reason")
    at = aware_time(now)
    with _Transaction(session):
        case = _case(session, case_id)
        _ensure_open(case, "withdraw it")
        cancelled = _cancel_open_steps(session, _steps(session, case.id))
        case.status, case.closed_at, case.close_reason = "withdrawn", at, reason.strip()
        case.version += 1
        session.add(case)
        _audit(session, case.id, "case_withdrawn", {"reason": reason.strip(),
                                                    "cancelled": cancelled}, at)
        _outbox(session, case.id, "case_closed", {"status": "withdrawn"}, at)
    return _loaded(session, case)


# --- colours (宾县 red / yellow / green) --------------------------------------------------------


def step_colour(step: CaseStep, today: date, *, yellow_share: float) -> Colour:
    """Red past its committed due date; yellow paused for 补正 or past ``yellow_share`` of
    its time; green on track. Decided steps keep the colour of when they were decided.
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
    A closed case is red if it closed after its due date."""
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
    open_statuses = ("accepted", "awaiting_supplement")
    case_ids = list(session.exec(
        select(Case.id).where(col(Case.status).in_(open_statuses)).order_by(col(Case.id))
    ).all())
    changes: list[StatusChange] = []
    for first in range(0, len(case_ids), SWEEP_BATCH_CASES):
        with _Transaction(session):
            batch = session.exec(
                select(Case).where(col(Case.id).in_(case_ids[first:first + SWEEP_BATCH_CASES]),
                                   col(Case.status).in_(open_statuses))
                .order_by(col(Case.id))
            ).all()
            for case in batch:
                changes += _recolour(session, case, today, yellow_share, at)
    return changes


def _recolour(session: Session, case: Case, today: date, yellow_share: float,
              at: datetime) -> list[StatusChange]:
    changes = []
    steps = _steps(session, case.id)
    for step in steps:
        colour = step_colour(step, today, yellow_share=yellow_share)
        escalate = colour == "red" and step.escalated_at is None
        if colour != step.colour or escalate:
            changes.append(StatusChange(case.id, step.step_id, step.colour, colour, escalate))
            step.colour = colour
            session.add(step)
        if escalate:
            step.escalated_at = at
            _audit(session, case.id, "escalation", {
                "step_id": step.step_id, "department_id": step.department_id,
                "due_date": step.due_date.isoformat(),
            }, at)
            _outbox(session, case.id, "escalation", {"step_id": step.step_id}, at)
    colour = case_colour(case, steps, today, yellow_share=yellow_share,
                         owed=list(_submissions(session, case.id).values()))
    if colour != case.colour:
        changes.append(StatusChange(case.id, None, case.colour, colour))
        case.colour = colour
        session.add(case)
    return changes


# --- outbox ----------------------------------------------------------------------------------------


def pending_outbox(session: Session, limit: int = 100) -> list[Outbox]:
    """Unprocessed outbox rows, oldest first."""
    return list(session.exec(
        select(Outbox).where(col(Outbox.processed_at).is_(None)).order_by(col(Outbox.id))
        .limit(limit)
    ).all())


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

