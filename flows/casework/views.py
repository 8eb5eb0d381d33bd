"""How a case looks: the one read model the API, the web pages and the CLI render.

:func:`case_view` is one case with its steps, materials, decisions and certificates;
:func:`case_board` is many cases, one line each, with their colours counted;
:func:`case_timeline` is a case's audit events in order; :func:`check_tasks` the 核查 tasks
of commitments signed at the window (:mod:`flows.casework.commitments`). Colours are those of the given
``today`` (:func:`flows.casework.colours.case_colour`). The views are plain dataclasses
holding everything, the applicant's personal data too: whoever renders them decides what
a reader may see (the API masks by role, ``api/models.py: applicant_public``).

>>> import tempfile, pathlib
>>> from datetime import date, datetime
>>> from sqlmodel import Session
>>> from process_models.catalog import load_catalog_procedure
>>> from flows.casework import Applicant, open_case
>>> from flows.casework.store import init_db, make_engine
>>> engine = make_engine(f"sqlite:///{pathlib.Path(tempfile.mkdtemp()) / 'cases.db'}")
>>> init_db(engine)
>>> with Session(engine) as session:
...     case = open_case(session, load_catalog_procedure("newborn"),
...                      Applicant("张三", "11010519491231002X"), [],
...                      now=datetime(2025, 1, 24, 9, 30))
...     view = case_view(session, case.id, today=date(2025, 1, 24))
...     board = case_board(session, today=date(2025, 1, 24))
>>> view.status, [line.case_id for line in board.lines], board.colours
('awaiting_supplement', ['C-20250124-0001'], {'red': 0, 'yellow': 1, 'green': 0})
>>> engine.dispose()
"""

from __future__ import annotations

import threading
from bisect import insort
from collections import Counter
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, bindparam, or_, true
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from flows.casework._rows import case_not_found
from flows.casework.audit_chain import CHANGE_MARKER
from flows.casework.colours import case_colour, check_colour, step_colour
from flows.casework.pauses import PauseView, step_pauses
from flows.casework.tables import (
    OPEN_STATUSES,
    AuditEvent,
    Case,
    CaseAgent,
    CaseStep,
    Certificate,
    Colour,
    Commitment,
    Decision,
    StepStatus,
    Submission,
)

__all__ = [
    "COLOURS",
    "AgentView",
    "BoardMembers",
    "CaseBoard",
    "CaseLine",
    "CaseView",
    "CertificateView",
    "CheckTask",
    "CommitmentView",
    "CurrentStep",
    "DecisionView",
    "MaterialView",
    "StepView",
    "TimelineEntry",
    "case_board",
    "case_timeline",
    "case_view",
    "check_tasks",
    "current_steps",
    "search_condition",
]

COLOURS: tuple[Colour, ...] = ("red", "yellow", "green")


@dataclass(frozen=True)
class StepView:
    """One step of a case, with its colour."""

    step_id: str
    department_id: str
    status: str
    colour: Colour
    due_date: date | None
    version: int
    started_at: datetime | None
    decided_at: datetime | None
    paused_working_days: int
    pause_reason: str | None = None
    pauses: tuple[PauseView, ...] = ()


@dataclass(frozen=True)
class MaterialView:
    """A material of a case: received, owed (容缺) or asked for (补正)."""

    material_id: str
    status: str
    due_date: date | None
    requested_by_step: str | None
    received_at: datetime | None


@dataclass(frozen=True)
class DecisionView:
    """A department's decision on a step."""

    step_id: str
    outcome: str
    reason: str | None
    materials: list[str] | None
    department_id: str
    decided_by: str
    decided_at: datetime


@dataclass(frozen=True)
class CertificateView:
    """A certificate issued to the case."""

    number: str
    name: str
    step_id: str
    department_id: str
    issued_at: datetime
    revoked_at: datetime | None
    revoked_reason: str | None
    verification_code: str
    """The code printed on it, with which anyone verifies it
    (:func:`flows.casework.verification.verify_certificate`)."""


@dataclass(frozen=True)
class CommitmentView:
    """A 告知承诺书 signed at the window and its 核查."""

    step_id: str
    department_id: str
    text: str
    signed_by: str
    recorded_by: str
    signed_at: datetime
    check_due_date: date
    check_result: str | None
    check_reason: str | None
    checked_by: str | None
    checked_at: datetime | None


@dataclass(frozen=True)
class AgentView:
    """帮办代办: a member of staff acting on the case for its applicant."""

    agent: str
    acting_for: str
    authorisation: str
    recorded_by: str
    at: datetime


@dataclass(frozen=True)
class CheckTask:
    """A department's 核查 of a commitment, with its colour (red past its due date), and the
    procedure version its case runs (for the names of its step and department)."""

    case_id: str
    procedure_id: str
    procedure_version: str
    step_id: str
    department_id: str
    check_due_date: date
    check_result: str | None
    colour: Colour


@dataclass(frozen=True)
class CurrentStep:
    """A step of a case being worked on now (办理中 or paused for 补正), with its committed
    due date and colour: what the board and the overdue list show as the current step."""

    step_id: str
    department_id: str
    status: str
    due_date: date | None
    colour: Colour


@dataclass(frozen=True)
class CaseLine:
    """One case on the board, with its current steps."""

    case_id: str
    procedure_id: str
    procedure_version: str
    status: str
    colour: Colour
    applicant_name: str
    applicant_id_number: str
    applicant_address: str | None
    applicant_phone: str | None
    applicant_kind: str
    legal_representative: str | None
    received_at: datetime
    due_date: date | None
    current_steps: tuple[CurrentStep, ...]
    changed_seq: int
    """The case's change marker (:attr:`~flows.casework.tables.Case.changed_seq`) when read."""


@dataclass(frozen=True)
class CaseView(CaseLine):
    """Everything about one case, coloured as on a given day: its board line and more."""

    accepted_at: datetime | None
    closed_at: datetime | None
    close_reason: str | None
    version: int
    steps: list[StepView]
    materials: list[MaterialView]
    decisions: list[DecisionView]
    certificates: list[CertificateView]
    commitments: list[CommitmentView]
    agents: list[AgentView]


@dataclass(frozen=True)
class CaseBoard:
    """The cases asked for, in case id order, and how many of them are of each colour."""

    lines: list[CaseLine]
    colours: dict[str, int]


@dataclass(frozen=True)
class TimelineEntry:
    """One audit event of a case."""

    seq: int
    kind: str
    at: datetime
    payload: dict[str, Any]


def _colour_rule(yellow_share: float | None) -> dict[str, Any]:
    """The keywords of :func:`~flows.casework.colours.step_colour` from the settings."""
    from process_models.settings import settings

    return {"yellow_share": settings.yellow_share if yellow_share is None else yellow_share,
            "warning_working_days": settings.warning_working_days}


def _rows_of_case(view: type, table: Any, order: Any) -> Any:
    """The statement reading ``view``'s columns of ``table`` for one case (``case_id``):
    the fields of ``view`` that are columns of ``table``, in order."""
    columns = [getattr(table, name) for name in view.__dataclass_fields__
               if hasattr(table, name)]
    return sa_select(*columns).where(table.case_id == bindparam("case_id")).order_by(order)


_READ_STEPS = (sa_select(CaseStep.step_id, CaseStep.department_id, CaseStep.status,
                         CaseStep.due_date, CaseStep.version, CaseStep.started_at,
                         CaseStep.decided_at, CaseStep.paused_working_days, CaseStep.paused_on,
                         CaseStep.pause_reason)
               .where(CaseStep.case_id == bindparam("case_id")).order_by(CaseStep.id))
"""What a case's view shows of its steps, and what their colour needs."""
_READ_PARTS = {
    "materials": (MaterialView, _rows_of_case(MaterialView, Submission, Submission.id)),
    "decisions": (DecisionView, _rows_of_case(DecisionView, Decision, Decision.id)),
    "certificates": (CertificateView,
                     _rows_of_case(CertificateView, Certificate, Certificate.number)),
    "commitments": (CommitmentView, _rows_of_case(CommitmentView, Commitment, Commitment.id)),
    "agents": (AgentView, _rows_of_case(AgentView, CaseAgent, CaseAgent.id)),
}


def case_view(session: Session, case_id: str, *, today: date,
              yellow_share: float | None = None) -> CaseView:
    """Case ``case_id`` coloured as on ``today``; :class:`CaseNotFound` (with a did-you-mean)
    when there is no such case."""
    case = session.get(Case, case_id)
    if case is None:
        raise case_not_found(session, case_id)
    steps = session.execute(_READ_STEPS, {"case_id": case.id}).all()
    rule = _colour_rule(yellow_share)
    ledger = step_pauses(session, [case.id])
    return CaseView(
        case_id=case.id, procedure_id=case.procedure_id,
        procedure_version=case.procedure_version, status=case.status,
        colour=case_colour(case, steps, today, **rule),
        applicant_name=case.applicant_name, applicant_id_number=case.applicant_id_number,
        applicant_address=case.applicant_address, applicant_phone=case.applicant_phone,
        applicant_kind=case.applicant_kind, legal_representative=case.legal_representative,
        received_at=case.received_at, accepted_at=case.accepted_at, due_date=case.due_date,
        closed_at=case.closed_at, close_reason=case.close_reason, version=case.version,
        current_steps=current_steps(steps, today, **rule), changed_seq=case.changed_seq,
        steps=[StepView(step_id=s.step_id, department_id=s.department_id, status=s.status,
                        colour=step_colour(s, today, **rule), due_date=s.due_date,
                        version=s.version, started_at=s.started_at, decided_at=s.decided_at,
                        paused_working_days=s.paused_working_days, pause_reason=s.pause_reason,
                        pauses=tuple(ledger.get((case.id, s.step_id), ())))
               for s in steps],
        **{part: [view(*row, **_computed(part, row))
                  for row in session.execute(statement, {"case_id": case.id})]
           for part, (view, statement) in _READ_PARTS.items()},
    )


def _computed(part: str, row: Any) -> dict[str, Any]:
    """The fields of a part's view that no column holds: a certificate's verification code."""
    if part != "certificates":
        return {}
    from flows.casework.audit_key import audit_key
    from flows.casework.verification import verification_code

    return {"verification_code": verification_code(audit_key(), row.number)}


def current_steps(steps: Any, today: date, **rule: Any) -> tuple[CurrentStep, ...]:
    """The steps among ``steps`` (rows with the columns a colour needs, ``step_id`` and
    ``department_id``) being worked on now, coloured as on ``today`` by ``rule`` (the
    keywords of :func:`~flows.casework.colours.step_colour`), soonest due first."""
    working = [s for s in steps if s.status in (StepStatus.PENDING, StepStatus.SUPPLEMENT)]
    return tuple(CurrentStep(s.step_id, s.department_id, s.status, s.due_date,
                             step_colour(s, today, **rule))
                 for s in sorted(working, key=lambda s: (s.due_date or date.max, s.step_id)))


_BOARD_COLUMNS = (Case.id, Case.procedure_id, Case.procedure_version, Case.status,
                  Case.received_at, Case.due_date, Case.closed_at, Case.applicant_name,
                  Case.applicant_id_number, Case.applicant_address, Case.applicant_phone,
                  Case.applicant_kind, Case.legal_representative, Case.changed_seq)
"""What the board shows of a case, and what its colour needs."""

_COLOUR_COLUMNS = (CaseStep.case_id, CaseStep.step_id, CaseStep.department_id, CaseStep.status,
                   CaseStep.due_date, CaseStep.decided_at, CaseStep.paused_on,
                   CaseStep.started_at)
"""What a step's colour and the current steps need."""

_LINES_AT_ONCE = 500
"""Cases read in one statement when lines are made (bounded: SQLite limits parameters)."""


@dataclass
class BoardMembers:
    """The cases one board asks for (by its filters and whose cases its reader sees) with
    their lines, kept by the caller between reads of that board and brought up to date from
    the cases changed since (:attr:`~flows.casework.tables.Case.changed_seq` past
    :attr:`seen`, found through its index): a read costs what changed, not what is open.
    One thread at a time brings it up to date (:attr:`lock`)."""

    seen: int = -1
    """The cases' change marker read before the rows last read (-1: none read yet)."""
    day: tuple = ()
    """The day and colour rule of :attr:`lines`."""
    lines: dict[str, CaseLine] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    """The ids of :attr:`lines`, in order."""
    counts: Counter = field(default_factory=Counter)
    """:attr:`lines` by colour."""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def clear(self, day: tuple = ()) -> None:
        """Forget every case: the next read reads them all (on ``day``)."""
        self.seen, self.day = -1, day
        self.lines.clear()
        self.order.clear()
        self.counts.clear()


def case_board(
    session: Session, *, today: date, colour: str | None = None, status: str | None = None,
    procedure_id: str | None = None, department_id: str | None = None,
    include_closed: bool = False, case_ids: Any = None, yellow_share: float | None = None,
    search: str | None = None, search_id_numbers: bool = True,
    kept: MutableMapping[tuple, CaseLine] | None = None, members: BoardMembers | None = None,
) -> CaseBoard:
    """The cases on the board on ``today``: open ones (all with ``include_closed``, or those
    of ``status``), of ``procedure_id``, with a step of ``department_id``, among
    ``case_ids`` (a subquery) when given, matching ``search`` (:func:`search_condition`);
    then those of ``colour``. The colour counts are taken before the colour filter.

    ``members`` (the caller's, kept for a board of these filters; none: a new one) holds the
    cases found by an earlier read: only the cases changed since are read again, whether
    they still belong on the board too. A line is made only for a case whose line ``kept``
    (a mapping the caller keeps between calls and boards; none: nothing is kept) lacks at
    its change marker and day, so a board read again after a change to a few cases reads
    those few cases again.
    """
    conditions = []
    if search is not None:
        conditions.append(search_condition(search, id_numbers=search_id_numbers))
    if not include_closed and status is None:
        conditions.append(col(Case.status).in_(OPEN_STATUSES))
    if status is not None:
        conditions.append(Case.status == status)
    if procedure_id is not None:
        conditions.append(Case.procedure_id == procedure_id)
    if department_id is not None:
        conditions.append(col(Case.id).in_(
            select(CaseStep.case_id).where(CaseStep.department_id == department_id)))
    if case_ids is not None:
        conditions.append(col(Case.id).in_(case_ids))
    rule = _colour_rule(yellow_share)
    day = (today, *rule.values())
    members = BoardMembers() if members is None else members
    with members.lock:
        try:
            _bring_up_to_date(session, members, and_(true(), *conditions), day,
                              {} if kept is None else kept, rule)
        except BaseException:
            members.clear()
            raise
        lines = [members.lines[case_id] for case_id in members.order]
        colours = {c: members.counts.get(c, 0) for c in COLOURS}
    if colour is not None:
        lines = [line for line in lines if line.colour == colour]
    return CaseBoard(lines=lines, colours=colours)


def _bring_up_to_date(session: Session, members: BoardMembers, belongs: Any, day: tuple,
                      kept: MutableMapping[tuple, CaseLine], rule: dict[str, Any]) -> None:
    """Read the cases changed since ``members`` was read (all on a new ``day``), with
    whether each ``belongs`` on the board, and update its lines, order and counts."""
    if members.day != day:
        members.clear(day)
    marker = session.execute(CHANGE_MARKER).scalar_one()
    if marker == members.seen:
        return
    if members.seen < 0:
        rows = session.execute(sa_select(Case.id, Case.changed_seq, true()).where(belongs))
    else:
        rows = session.execute(sa_select(Case.id, Case.changed_seq, belongs)
                               .where(Case.changed_seq > members.seen))
    changed: dict[str, int] = {}
    for case_id, seq, member in rows:
        if member:
            changed[case_id] = seq
        elif (line := members.lines.pop(case_id, None)) is not None:
            members.counts[line.colour] -= 1
            members.order.remove(case_id)
    found = {case_id: line for case_id, seq in changed.items()
             if (line := kept.get((case_id, seq, *day))) is not None}
    missing = [case_id for case_id in changed if case_id not in found]
    for first in range(0, len(missing), _LINES_AT_ONCE):
        for line in _case_lines(session, missing[first:first + _LINES_AT_ONCE], day[0], rule):
            found[line.case_id] = kept[(line.case_id, line.changed_seq, *day)] = line
    whole = members.seen < 0
    for case_id, line in found.items():
        old = members.lines.get(case_id)
        if old is not None:
            members.counts[old.colour] -= 1
        elif not whole:
            insort(members.order, case_id)
        members.lines[case_id] = line
        members.counts[line.colour] += 1
    if whole:
        members.order[:] = sorted(members.lines)
    members.seen = marker


def _case_lines(session: Session, case_ids: list[str], today: date,
                rule: dict[str, Any]) -> list[CaseLine]:
    """The board lines of ``case_ids`` on ``today`` by ``rule``."""
    ids = {"ids": case_ids}
    cases = session.execute(sa_select(*_BOARD_COLUMNS).where(col(Case.id).in_(
        bindparam("ids", expanding=True))), ids).all()
    steps: dict[str, list] = {}
    for step in session.execute(sa_select(*_COLOUR_COLUMNS).where(col(CaseStep.case_id).in_(
            bindparam("ids", expanding=True))).order_by(CaseStep.id), ids):
        steps.setdefault(step.case_id, []).append(step)
    return [CaseLine(
        case_id=case.id, procedure_id=case.procedure_id,
        procedure_version=case.procedure_version, status=case.status,
        colour=case_colour(case, steps.get(case.id, []), today, **rule),
        applicant_name=case.applicant_name, applicant_id_number=case.applicant_id_number,
        applicant_address=case.applicant_address, applicant_phone=case.applicant_phone,
        applicant_kind=case.applicant_kind, legal_representative=case.legal_representative,
        received_at=case.received_at, due_date=case.due_date,
        current_steps=current_steps(steps.get(case.id, []), today, **rule),
        changed_seq=case.changed_seq) for case in cases]


def search_condition(text: str, *, id_numbers: bool = True) -> Any:
    """Cases whose number is ``text``, whose applicant's name contains it or, with
    ``id_numbers``, whose applicant's ID number is it (full-width digits and a lower-case x
    read as ASCII); what a clerk types into the window's search box."""
    import unicodedata

    text = unicodedata.normalize("NFKC", text).strip()
    found = [Case.id == text.upper(), col(Case.applicant_name).contains(text, autoescape=True)]
    if id_numbers:
        found.append(Case.applicant_id_number == text.upper())
    return or_(*found)


def case_timeline(session: Session, case_id: str) -> list[TimelineEntry]:
    """Every audit event of case ``case_id``, in order."""
    return [TimelineEntry(seq=e.seq, kind=e.kind, at=e.at, payload=e.payload)
            for e in session.exec(select(AuditEvent).where(AuditEvent.case_id == case_id)
                                  .order_by(col(AuditEvent.seq)))]


def check_tasks(session: Session, *, today: date, department_id: str | None = None,
                open_only: bool = True, case_ids: Any = None) -> list[CheckTask]:
    """The 核查 tasks of commitments (of ``department_id``, among ``case_ids`` when given;
    only those not yet recorded with ``open_only``), soonest due first, coloured on ``today``
    (:func:`~flows.casework.colours.check_colour`)."""
    query = (sa_select(Commitment.case_id, Case.procedure_id, Case.procedure_version,
                       Commitment.step_id, Commitment.department_id, Commitment.check_due_date,
                       Commitment.check_result)
             .join(Case, col(Case.id) == col(Commitment.case_id))
             .order_by(Commitment.check_due_date, Commitment.id))
    if department_id is not None:
        query = query.where(Commitment.department_id == department_id)
    if open_only:
        query = query.where(col(Commitment.check_result).is_(None))
    if case_ids is not None:
        query = query.where(col(Commitment.case_id).in_(case_ids))
    return [CheckTask(*row, colour=check_colour(row.check_due_date, row.check_result is not None,
                                                today))
            for row in session.execute(query)]
