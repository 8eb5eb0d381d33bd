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
from datetime import datetime
from functools import cache
from pathlib import Path

from sqlalchemy import select as sa_select
from sqlmodel import Session

from flows.casework._rows import CASES, DECISIONS, STEPS, SUBMISSIONS
from flows.casework.decisions import decide
from flows.casework.tables import Decision, StepStatus
from process_models.auto_rules import AutoRule, load_auto_rule
from process_models.errors import Conflict

__all__ = ["AUTO_PREFIX", "AutoShare", "DryRun", "auto_decide", "auto_decide_cases",
           "auto_share", "case_facts", "dry_run", "rule_signature"]

AUTO_PREFIX = "秒批:"


def rule_signature(rule: AutoRule) -> str:
    """Who decided, for a decision by ``rule``: ``秒批:<id>@<version>``."""
    return f"{AUTO_PREFIX}{rule.id}@{rule.version}"


def case_facts(session: Session, case_ids: list[str]) -> dict[str, dict[str, set[str]]]:
    """What a rule sees of each case: ``received`` (materials brought at the window, when
    the case was received) and ``owed`` (the others the case has a row for: 容缺 owed, or
    补正 asked for and brought later)."""
    facts = {case_id: {"received": set(), "owed": set()} for case_id in case_ids}
    rows = session.execute(
        sa_select(SUBMISSIONS.c.case_id, SUBMISSIONS.c.material_id, SUBMISSIONS.c.received_at,
                  CASES.c.received_at.label("case_received_at"))
        .join(CASES, CASES.c.id == SUBMISSIONS.c.case_id)
        .where(SUBMISSIONS.c.case_id.in_(case_ids)))
    for row in rows:
        at_window = row.received_at is not None and row.received_at <= row.case_received_at
        facts[row.case_id]["received" if at_window else "owed"].add(row.material_id)
    return facts


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
    decided, it would have decided ``decided``; staff approved ``agreed`` of those at their
    first decision; ``staff`` counts the staff's first outcomes on the cases it decides.
    Counted from the record (basis ``sourced``)."""

    rule_id: str
    version: str
    cases: int
    decided: int
    agreed: int
    staff: dict[str, int] = field(default_factory=dict)

    @property
    def agreement(self) -> float | None:
        """The share of the rule's decisions staff made the same way."""
        return self.agreed / self.decided if self.decided else None


def dry_run(session: Session, rule: AutoRule) -> DryRun:
    """Run ``rule`` over every case of its procedure whose step staff decided."""
    first: dict[str, str] = {}
    for row in session.execute(
            sa_select(DECISIONS.c.case_id, DECISIONS.c.outcome, DECISIONS.c.decided_by)
            .join(CASES, CASES.c.id == DECISIONS.c.case_id)
            .where(CASES.c.procedure_id == rule.procedure, DECISIONS.c.step_id == rule.step)
            .order_by(DECISIONS.c.id)):
        if not row.decided_by.startswith(AUTO_PREFIX):
            first.setdefault(row.case_id, row.outcome)
    facts = case_facts(session, list(first))
    decided = [case_id for case_id in first if rule.decides(facts[case_id])]
    staff = Counter(first[case_id] for case_id in decided)
    return DryRun(rule.id, rule.version, len(first), len(decided), staff["approve"],
                  dict(sorted(staff.items())))


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
        if first <= local_date(row.decided_at) <= last:
            c = counts.setdefault((row.procedure_id, row.step_id), Counter())
            c["decisions"] += 1
            c["by_rule"] += row.decided_by.startswith(AUTO_PREFIX)
    total = sum(counts.values(), Counter())
    return [AutoShare(p, s, c["decisions"], c["by_rule"])
            for (p, s), c in [*sorted(counts.items()), (("*", "*"), total)]]
