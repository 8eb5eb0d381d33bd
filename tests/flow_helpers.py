"""Helpers shared by the flow, crash and CLI tests: a parallel procedure and case driving."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select

from flows import casework
from flows.casework.tables import Case, CaseStep, Certificate, Decision, Outbox
from process_models import parse_procedure

PARALLEL = parse_procedure("""
id: parallel_five
name: 五部门并联审批
version: test
departments:
- {id: samr, name: 市场监管局}
- {id: tax, name: 税务局}
- {id: fire, name: 消防救援支队}
- {id: health, name: 卫生健康委}
- {id: env, name: 生态环境局}
materials:
- {id: id_card, name: 身份证}
- {id: lease, name: 租赁合同}
steps:
- {id: licence, name: 营业执照, department: samr, committed: {days: 3}, materials: [id_card],
   certificates: [营业执照]}
- {id: tax_registration, name: 税务登记, department: tax, committed: {days: 1},
   materials: [id_card], certificates: [税务登记证]}
- {id: fire_check, name: 消防检查, department: fire, committed: {days: 5}, materials: [lease],
   certificates: [消防安全检查合格证]}
- {id: health_permit, name: 卫生许可, department: health, committed: {days: 5},
   materials: [lease], certificates: [卫生许可证]}
- {id: environment, name: 环评备案, department: env, committed: {days: 2},
   materials: [lease], certificates: [环评备案回执]}
""")
"""Five departments deciding in parallel (并联审批), one certificate each."""

ID_NUMBERS = ["11010519491231002X", "440524188001010014", "11010119900307803X"]


def test_moment() -> datetime:
    """A service-centre morning in 2025, unique to the microsecond for each call.

    Outbox rows carry it, and task cache keys name outbox rows: a database emptied and
    refilled by another test must never meet an old key.
    """
    return datetime(2025, 3, 3, 1, 0, tzinfo=UTC) + timedelta(
        microseconds=random.randrange(3_600_000_000))


test_moment.__test__ = False  # a helper, not a test


def open_cases(session: Session, proc, count: int, now: datetime) -> list[str]:
    """Open ``count`` cases of ``proc`` with every material brought; their ids."""
    materials = [item.material_id for item in casework.notification_list(proc)]
    cases = [
        casework.open_case(session, proc,
                           casework.Applicant(f"申请人{i}", ID_NUMBERS[i % len(ID_NUMBERS)]),
                           materials, now=now)
        for i in range(count)
    ]
    ids = [case.id for case in cases]
    session.commit()  # reading the ids began a transaction; end it, so later reads see others' work
    return ids


def approve_pending(session: Session, now: datetime) -> int:
    """Every department approves every step pending before it; how many were approved."""
    pending = session.exec(select(CaseStep.case_id, CaseStep.step_id, CaseStep.department_id)
                           .where(CaseStep.status == "pending").order_by(col(CaseStep.id))).all()
    for case_id, step_id, department_id in pending:
        casework.decide(session, case_id, step_id, "approve", department_id=department_id,
                        decided_by="审批员", now=now)
    return len(pending)


def statuses(session: Session) -> dict[str, str]:
    return dict(session.exec(select(Case.id, Case.status)).all())


def certificate_keys(session: Session) -> list[tuple[str, str, str]]:
    return sorted(session.exec(select(Certificate.case_id, Certificate.step_id,
                                      Certificate.name)).all())


def expected_certificates(proc, case_ids) -> list[tuple[str, str, str]]:
    return sorted((case_id, step.id, name) for case_id in case_ids for step in proc.steps
                  for name in step.certificates)


def decisions(session: Session) -> int:
    return len(session.exec(select(Decision.id)).all())


def pending_advancing_rows(session: Session) -> int:
    from flows.runs import ADVANCING_KINDS

    rows = session.exec(select(Outbox.kind).where(col(Outbox.processed_at).is_(None))).all()
    return sum(kind in ADVANCING_KINDS for kind in rows)
