"""秒批 on running cases: a step approved by a rule (:mod:`process_models.auto_rules`), and
the dry-run of a rule over history ("how many past cases would it have decided, and did
staff decide them the same way").

A decision by rule is an ordinary decision (:func:`~flows.casework.decide`) whose
``decided_by`` is ``秒批:<rule id>@<version>`` (:func:`rule_signature`), so the rule and its
version are in the ``decision`` audit event.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path

from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from flows.casework._rows import CASES, DECISIONS, STEPS
from flows.casework.decisions import decide
from flows.casework.tables import AuditEvent, Decision, StepStatus, stored_time
from process_models.auto_rules import AutoRule, CaseFacts, load_auto_rule
from process_models.errors import Conflict

__all__ = [
    "AUTO_PREFIX",
    "AutoShare",
    "DryRun",
    "applicant_fields",
    "auto_decide",
    "auto_decide_cases",
    "auto_share",
    "case_facts",
    "dry_run",
    "rule_signature",
]

AUTO_PREFIX = "秒批:"


def rule_signature(rule: AutoRule) -> str:
    """Who decided, for a decision by ``rule``: ``秒批:<id>@<version>``."""
    return f"{AUTO_PREFIX}{rule.id}@{rule.version}"


def applicant_fields(kind: str, number: str, on: date) -> dict[str, str | int]:
    """The submitted fields a rule reads (:data:`~process_models.auto_rules.CASE_FIELDS`)
    of an applicant of ``kind`` with ID number or 统一社会信用代码 ``number``, on day ``on``:
    the kind, a person's age in whole years (from the birth date in the number) and the
    行政区划代码 (digits 1–6 of an ID number, 3–8 of a credit code).

    >>> from datetime import date
    >>> applicant_fields("person", "11010519491231002X", date(2025, 1, 24))
    {'applicant_kind': 'person', 'applicant_region': '110105', 'applicant_age': 75}
    >>> applicant_fields("enterprise", "91350100M000100Y43", date(2025, 1, 24))
    {'applicant_kind': 'enterprise', 'applicant_region': '350100'}
    """
    if kind != "person":
        return {"applicant_kind": kind, "applicant_region": number[2:8]}
    born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    return {"applicant_kind": kind, "applicant_region": number[:6], "applicant_age": age}


def case_facts(session: Session, case_ids: list[str]) -> dict[str, CaseFacts]:
    """What a rule sees of each case (:class:`~process_models.auto_rules.CaseFacts`), as
    the window recorded it when the case was received (the ``case_opened`` audit event, so
    a dry-run sees no later 补正): ``received`` (materials brought), ``owed`` (容缺 owed, or
    key materials missing: 补正 at the window), ``shared`` (materials its procedure version
    gets by 数据共享) and its submitted fields on that day."""
    from flows.casework.definitions import resolve_procedure
    from process_models.calendar import local_date
    from process_models.procedure import Provider

    cases = {row.id: row for row in session.execute(
        sa_select(CASES.c.id, CASES.c.procedure_id, CASES.c.procedure_version,
                  CASES.c.applicant_kind, CASES.c.applicant_id_number, CASES.c.received_at)
        .where(CASES.c.id.in_(case_ids)))}
    window = {row.case_id: row.payload for row in session.execute(
        sa_select(AuditEvent.case_id, AuditEvent.payload)
        .where(AuditEvent.kind == "case_opened", col(AuditEvent.case_id).in_(case_ids)))}
    shared: dict[tuple[str, str], frozenset[str]] = {}
    for key in {(c.procedure_id, c.procedure_version) for c in cases.values()}:
        proc = resolve_procedure(*key, session=session)
        shared[key] = frozenset(m.id for m in proc.materials
                                if m.provider is Provider.data_sharing)
    return {case_id: CaseFacts(
        received=frozenset(window[case_id]["received"]),
        owed=frozenset(window[case_id]["missing"] + window[case_id]["owed"]),
        shared=shared[c.procedure_id, c.procedure_version],
        fields=applicant_fields(c.applicant_kind, c.applicant_id_number,
                                local_date(stored_time(c.received_at))))
        for case_id, c in cases.items()}


def auto_decide(session: Session, case_id: str, rule: AutoRule, *,
                now: datetime) -> Decision | None:
    """Approve the pending step of ``rule`` in case ``case_id`` when the rule holds on the
    case's facts (no member of staff acts); ``None`` when the step is not pending, the
    rule does not hold, or the step cannot be approved yet (a material it needs is owed)."""
    step = session.execute(
        sa_select(STEPS.c.status, STEPS.c.department_id)
        .join(CASES, CASES.c.id == STEPS.c.case_id)
        .where(STEPS.c.case_id == case_id, STEPS.c.step_id == rule.step,
               CASES.c.procedure_id == rule.procedure)).first()
    if step is None or step.status != StepStatus.PENDING:
        return None
    if not rule.decides(case_facts(session, [case_id])[case_id]):
        return None
    try:
        return decide(session, case_id, rule.step, "approve", department_id=step.department_id,
                      decided_by=rule_signature(rule), now=now)
    except Conflict:  # a material the step needs still owed, or staff decided first
        return None


@cache
def _rules(files: tuple[Path, ...]) -> tuple[AutoRule, ...]:
    return tuple(load_auto_rule(path) for path in files)


def auto_decide_cases(session: Session, case_ids: list[str], *,
                      now: datetime) -> list[Decision]:
    """秒批 at the window: in each case of ``case_ids``, the pending steps a rule of
    ``settings.auto_rule_files`` holds for, approved; the decisions."""
    from process_models._env import configured

    if not case_ids or not configured():
        return []
    from process_models.settings import settings

    return [decision for case_id in case_ids for rule in _rules(tuple(settings.auto_rule_files))
            if (decision := auto_decide(session, case_id, rule, now=now)) is not None]


@dataclass(frozen=True)
class DryRun:
    """What ``rule`` would have done over the history: of ``cases`` whose step staff
    decided (first decisions from ``first`` to ``last``, service-centre days), it would
    have decided ``decided``; staff approved ``agreed`` of those at their first decision;
    ``staff`` counts the staff's first outcomes on the cases it decides. Counted from the
    record (basis ``sourced``)."""

    rule_id: str
    version: str
    cases: int
    decided: int
    agreed: int
    staff: dict[str, int] = field(default_factory=dict)
    first: date | None = None
    last: date | None = None

    @property
    def agreement(self) -> float | None:
        """The share of the rule's decisions staff made the same way."""
        return self.agreed / self.decided if self.decided else None

    @property
    def share(self) -> float | None:
        """The share of the cases the rule would have decided (what the simulator takes
        as the share of 秒批 cases, basis ``fitted``)."""
        return self.decided / self.cases if self.cases else None


def dry_run(session: Session, rule: AutoRule) -> DryRun:
    """Run ``rule`` over every case of its procedure whose step staff decided."""
    from process_models.calendar import local_date

    first: dict[str, str] = {}
    days: list[date] = []
    for row in session.execute(
            sa_select(DECISIONS.c.case_id, DECISIONS.c.outcome, DECISIONS.c.decided_by,
                      DECISIONS.c.decided_at)
            .join(CASES, CASES.c.id == DECISIONS.c.case_id)
            .where(CASES.c.procedure_id == rule.procedure, DECISIONS.c.step_id == rule.step)
            .order_by(DECISIONS.c.id)):
        if not row.decided_by.startswith(AUTO_PREFIX) and row.case_id not in first:
            first[row.case_id] = row.outcome
            days.append(local_date(stored_time(row.decided_at)))
    facts = case_facts(session, list(first))
    decided = [case_id for case_id in first if rule.decides(facts[case_id])]
    staff = Counter(first[case_id] for case_id in decided)
    return DryRun(rule.id, rule.version, len(first), len(decided), staff["approve"],
                  dict(sorted(staff.items())), min(days, default=None), max(days, default=None))


@dataclass(frozen=True)
class AutoShare:
    """Decisions from ``first`` to ``last`` per procedure and step: all of them, those by a
    秒批 rule, and the share by rule (counted from the record: basis ``sourced``)."""

    procedure_id: str
    step_id: str
    decisions: int
    by_rule: int

    @property
    def share(self) -> float:
        """The share of the decisions a rule made."""
        return self.by_rule / self.decisions if self.decisions else 0.0


def auto_share(session: Session, *, first, last) -> list[AutoShare]:
    """The share of 秒批 decisions per procedure and step, decided from ``first`` to
    ``last`` (service-centre days), with a last line ``*`` / ``*`` for all of them."""
    from process_models.calendar import local_date

    counts: dict[tuple[str, str], Counter] = {}
    for row in session.execute(
            sa_select(CASES.c.procedure_id, DECISIONS.c.step_id, DECISIONS.c.decided_by,
                      DECISIONS.c.decided_at)
            .join(CASES, CASES.c.id == DECISIONS.c.case_id)):
        if first <= local_date(stored_time(row.decided_at)) <= last:
            c = counts.setdefault((row.procedure_id, row.step_id), Counter())
            c["decisions"] += 1
            c["by_rule"] += row.decided_by.startswith(AUTO_PREFIX)
    total = sum(counts.values(), Counter())
    return [AutoShare(p, s, c["decisions"], c["by_rule"])
            for (p, s), c in [*sorted(counts.items()), (("*", "*"), total)]]
