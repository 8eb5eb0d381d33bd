"""Every state a case can reach has a way out, on SQLite and PostgreSQL.

A 补正 request must name a material (else nothing brought could resume the step); an
admin can resume a step that is stuck anyway (an older record), and the repair is in the
audit trail.
"""

import shutil
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import text
from sqlmodel import Session, col, select

from flows.casework import (
    advance_case,
    decide,
    open_case,
    resume_step,
    stuck_steps,
    submit_materials,
    verify_chain,
    withdraw_case,
)
from flows.casework.store import make_engine
from flows.casework.tables import CLOSED_STATUSES, AuditEvent, Case, CaseStep, Submission
from process_models import parse_procedure
from process_models.errors import Conflict, InvalidInput, OnethingError
from tests.test_casework import APPLICANT, EVERYTHING, SHOP, jan

pytestmark = pytest.mark.slow  # a Hypothesis state machine over whole cases: tens of seconds

MATERIALS = ["id_card", "lease", "floor_plan"]
SOME_MATERIALS = st.lists(st.sampled_from(MATERIALS), unique=True)


@pytest.fixture
def shop():
    return parse_procedure(SHOP)


def ask_for_nothing(session, case_id):
    return decide(session, case_id, "licence", "supplement", department_id="samr",
                  decided_by="王五", reason="照片不清晰", materials=[], now=jan(26))


def test_a_supplement_request_naming_no_material_is_refused_and_writes_nothing(session, shop):
    """补正 with no material ticked would pause the step with nothing to resume it."""
    case = open_case(session, shop, APPLICANT, EVERYTHING, now=jan(24, 9))
    events = len(session.exec(select(AuditEvent)).all())
    with pytest.raises(InvalidInput, match=r"补正 \(supplement\) request names no material"):
        ask_for_nothing(session, case.id)
    session.expire_all()
    step = session.exec(select(CaseStep).where(CaseStep.case_id == case.id,
                                               CaseStep.step_id == "licence")).one()
    assert step.status == "pending"
    assert len(session.exec(select(AuditEvent)).all()) == events


def freeze_licence(session, case_id) -> None:
    """What an older release let happen: 补正 asked for nothing, so nothing resumes it."""
    session.execute(text("UPDATE case_step SET status = 'supplement', paused_on = :day, "
                         "version = version + 1 WHERE case_id = :case AND step_id = 'licence'"),
                    {"day": jan(26).date(), "case": case_id})
    session.commit()


def test_a_paused_step_nothing_can_resume_is_stuck_until_an_admin_resumes_it(session, shop):
    """The repair resumes the step, moves its due date by the days paused and is audited."""
    case = open_case(session, shop, APPLICANT, EVERYTHING, now=jan(24, 9))
    freeze_licence(session, case.id)
    assert stuck_steps(session, [case.id]) == {case.id: ["licence"]}

    resume_step(session, case.id, "licence", by="admin", reason="补正未勾选材料，恢复办理",
                now=jan(27))
    assert stuck_steps(session, [case.id]) == {}
    step = session.exec(select(CaseStep).where(CaseStep.case_id == case.id,
                                               CaseStep.step_id == "licence")).one()
    assert (step.status, step.paused_working_days) == ("pending", 1)
    event = session.exec(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert (event.kind, event.payload["by"], event.payload["step_id"]) == (
        "step_repaired", "admin", "licence")
    assert verify_chain(session).ok


def test_a_step_waiting_for_requested_material_is_not_stuck(session, shop):
    case = open_case(session, shop, APPLICANT, EVERYTHING, now=jan(24, 9))
    decide(session, case.id, "licence", "supplement", department_id="samr", decided_by="王五",
           reason="租赁合同过期", materials=["lease"], now=jan(26))
    assert stuck_steps(session, [case.id]) == {}


@pytest.mark.parametrize("reason, status, message", [
    ("", "pending", "needs a reason"),
    ("恢复", "pending", "is 'pending', not paused for 补正"),
])
def test_only_a_paused_step_can_be_resumed_and_only_with_a_reason(session, shop, reason,
                                                                   status, message):
    case = open_case(session, shop, APPLICANT, EVERYTHING, now=jan(24, 9))
    with pytest.raises((InvalidInput, Conflict), match=message):
        resume_step(session, case.id, "licence", by="admin", reason=reason, now=jan(27))


# --- the property: ordinary actions never strand a case ------------------------------------------


def drive_to_an_end(session, case_id: str, now: datetime) -> str:
    """The window brings whatever is owed, departments approve what is pending, the flows
    advance: the case's end (no withdrawal, no repair)."""
    for _ in range(20):
        advance_case(session, case_id, now=now)
        session.expire_all()
        case = session.get(Case, case_id)
        if case.status in CLOSED_STATUSES:
            return case.status
        owed = session.exec(select(Submission.material_id).where(
            Submission.case_id == case_id, Submission.status != "received")).all()
        if owed:
            submit_materials(session, case_id, owed, now=now)
        for step in session.exec(select(CaseStep).where(CaseStep.case_id == case_id,
                                                        CaseStep.status == "pending")).all():
            decide(session, case_id, step.step_id, "approve",
                   department_id=step.department_id, decided_by="王五", now=now)
        now += timedelta(hours=1)
    session.expire_all()
    case = session.get(Case, case_id)
    steps = {s.step_id: s.status for s in session.exec(
        select(CaseStep).where(CaseStep.case_id == case_id))}
    raise AssertionError(f"case {case_id} is stuck in {case.status}: {steps}")


class CaseActions(RuleBasedStateMachine):
    """Random window, department and flow actions on shop cases; refused ones write nothing."""

    engine = None

    @initialize()
    def start(self):

        self.session = Session(self.engine)
        self.proc = parse_procedure(SHOP)
        self.cases: list[str] = []
        self.now = jan(24, 9)

    def act(self, operation, *args, **kwargs):
        self.now += timedelta(hours=3)
        try:
            operation(self.session, *args, now=self.now, **kwargs)
        except OnethingError:
            self.session.rollback()

    @rule(brought=st.one_of(st.just(MATERIALS), SOME_MATERIALS))
    def open(self, brought):
        self.cases.append(open_case(self.session, self.proc, APPLICANT, brought,
                                    now=self.now).id)

    def open_case_id(self, data) -> str | None:
        """One of the cases still open, if any."""
        open_ids = self.session.exec(select(Case.id).where(
            col(Case.id).in_(self.cases), col(Case.status).not_in(CLOSED_STATUSES))).all()
        return data.draw(st.sampled_from(sorted(open_ids))) if open_ids else None

    @precondition(lambda self: self.cases)
    @rule(data=st.data(), materials=SOME_MATERIALS)
    def submit(self, data, materials):
        if case_id := self.open_case_id(data):
            self.act(submit_materials, case_id, materials)

    @precondition(lambda self: self.cases)
    @rule(data=st.data(), outcome=st.sampled_from(["approve", "reject", "supplement"]),
          materials=st.one_of(st.just([]), SOME_MATERIALS))
    def decide(self, data, outcome, materials):
        """A department decides one of the case's steps (pending or not)."""
        if case_id := self.open_case_id(data):
            step = data.draw(st.sampled_from(self.session.exec(
                select(CaseStep).where(CaseStep.case_id == case_id)
                .order_by(col(CaseStep.status) != "pending", CaseStep.id)).all()[:2]))
            self.act(decide, case_id, step.step_id, outcome, department_id=step.department_id,
                     decided_by="王五", reason="材料不全", materials=materials)

    @precondition(lambda self: self.cases)
    @rule(data=st.data(), now=st.integers(0, 5))
    def withdraw(self, data, now):
        """The applicant withdraws (now and then: else few cases would live long)."""
        if now == 0 and (case_id := self.open_case_id(data)):
            self.act(withdraw_case, case_id, reason="申请人撤回")

    @precondition(lambda self: self.cases)
    @rule(data=st.data())
    def advance(self, data):
        if case_id := self.open_case_id(data):
            self.act(advance_case, case_id)

    @invariant()
    def nothing_is_stuck(self):
        if self.cases:
            assert stuck_steps(self.session, self.cases) == {}

    def teardown(self):
        try:
            for case_id in self.cases:
                assert drive_to_an_end(self.session, case_id, self.now) in CLOSED_STATUSES
        finally:
            self.session.close()


@pytest.fixture(scope="module")
def shared_engine(tmp_path_factory, sqlite_template):
    path = tmp_path_factory.mktemp("way_out") / "cases.db"
    shutil.copyfile(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


def test_every_open_case_can_still_reach_an_end_after_any_sequence_of_actions(shared_engine):
    """Whatever the window, the departments and the flows did, bringing what is owed and
    approving what is pending closes every open case: no state without a way out."""
    CaseActions.engine = shared_engine
    run_state_machine_as_test(CaseActions, settings=settings(
        max_examples=50, stateful_step_count=25, deadline=None,
        suppress_health_check=[HealthCheck.too_slow]))
