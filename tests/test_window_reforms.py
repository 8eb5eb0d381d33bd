"""The window runs reformed bundles; 告知承诺 and 容缺 promises in case handling.

On SQLite and PostgreSQL (the ``session`` fixture). Dates are hand-computed on the 2025
calendar: March has no holiday, so Mon 03-03 + 5 working days is Mon 03-10.
"""

from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import select

from flows.casework import (
    Applicant,
    advance_case,
    check_commitment,
    check_tasks,
    decide,
    open_case,
    promise_material,
    publish_procedure,
    sign_commitment,
    submit_materials,
    sweep,
    verify_chain,
    window_procedure,
)
from flows.casework.materials import promise_bounds
from flows.casework.tables import (
    AuditEvent,
    Case,
    CaseStatus,
    CaseStep,
    Certificate,
    StepStatus,
    Submission,
)
from process_models import parse_procedure
from process_models.calendar import default_calendar
from process_models.errors import Conflict, Forbidden, InvalidInput

SHOP = """
id: shop
name: 开店一件事
version: "2025"
departments:
- {id: samr, name: 市场监管局}
- {id: fire, name: 消防救援支队}
- {id: urban, name: 城管局}
materials:
- {id: id_card, name: 身份证}
- {id: lease, name: 租赁合同, key: false}
steps:
- {id: food, name: 食品经营许可, department: samr, committed: {days: 20},
   materials: [id_card], certificates: [食品经营许可证], commitment_allowed: true}
- {id: food_check, name: 食品经营许可 事中事后核查, department: samr, committed: {days: 10},
   depends_on: [food], follow_up: true}
- {id: fire, name: 消防检查, department: fire, committed: {days: 5}, materials: [lease],
   commitment_allowed: true, risk: high}
- {id: sign, name: 招牌, department: urban, committed: {days: 5}, commitment_allowed: false}
- {id: tax, name: 税务, department: samr, committed: {days: 5}}
"""
APPLICANT = Applicant("张三", "11010519491231002X")
LETTER = "本人承诺经营场所符合食品安全要求，如有不实，愿承担撤销许可的后果。"


def mar(day: int, hour: int = 10) -> datetime:
    return datetime(2025, 3, day, hour)


@pytest.fixture
def shop():
    return parse_procedure(SHOP)


@pytest.fixture
def case(session, shop):
    """A shop case accepted on Mon 2025-03-03; the lease is owed under 容缺."""
    return open_case(session, shop, APPLICANT, ["id_card"], now=mar(3, 9))


def sign(session, case_id, step_id="food", when=None):
    return sign_commitment(session, case_id, step_id, text=LETTER, signed_by="张三",
                           recorded_by="前台李四", now=when or mar(3))


def events(session, kind):
    return [e.payload for e in session.exec(select(AuditEvent).where(AuditEvent.kind == kind))]


# --- the reformed bundle ----------------------------------------------------------------------


def test_a_newborn_case_opens_on_the_reformed_bundle_unless_the_before_version_is_asked(session):
    """Without a published version the window runs the catalog's after-version; ``before``
    is explicit."""
    after = window_procedure("newborn", session=session)
    before = window_procedure("newborn", "before", session=session)
    assert (after.version, after.form, before.version) == ("after-2023", "after", "before-2023")
    opened = open_case(session, after, APPLICANT, [], now=mar(3))
    steps = session.exec(select(CaseStep.step_id).where(CaseStep.case_id == opened.id)).all()
    assert (opened.procedure_version, steps) == ("after-2023", ["newborn_bundle"])


def test_a_restaurant_case_on_the_reformed_bundle_signs_one_commitment_for_the_bundle(session):
    """The merged 开办餐饮店 bundle keeps its members' known 告知承诺 (食品经营许可, sourced
    四川; 消防安全检查), so the window signs the bundle and decides it at once."""
    after = window_procedure("restaurant", session=session)
    bundle = after.step("restaurant_bundle")
    received = [m.id for m in after.materials if m.provider.value == "applicant"]
    opened = open_case(session, after, APPLICANT, received, now=mar(3))
    sign(session, opened.id, "restaurant_bundle")
    step = session.exec(select(CaseStep).where(CaseStep.case_id == opened.id,
                                               CaseStep.step_id == "restaurant_bundle")).one()
    assert step.status == StepStatus.APPROVED
    assert bundle.provenance_of("commitment_allowed").source == "四川 开办餐饮店一件事"


def test_publishing_a_version_is_one_audited_act_that_new_cases_follow(session):
    """An admin publishes the before-version; the window opens it from then on."""
    publish_procedure(session, "newborn", "before", by="管理员", now=mar(3))
    assert window_procedure("newborn", session=session).version == "before-2023"
    assert events(session, "definition_published")[0]["version"] == "before-2023"
    assert verify_chain(session).ok


# --- 告知承诺 at the window -------------------------------------------------------------------


def test_a_signed_commitment_decides_the_step_at_once_and_creates_a_dated_check(session, case):
    """The follow-up step's 10 working days give the 核查 its due date: 03-03 + 10 = 03-17."""
    commitment = sign(session, case.id)
    step = session.exec(select(CaseStep).where(CaseStep.case_id == case.id,
                                               CaseStep.step_id == "food")).one()
    assert step.status == StepStatus.APPROVED
    assert commitment.check_due_date == date(2025, 3, 17)
    signed = events(session, "commitment_signed")[0]
    assert (signed["text"], signed["signed_by"]) == (LETTER, "张三")
    tasks = check_tasks(session, today=date(2025, 3, 18), department_id="samr")
    assert [(t.case_id, t.step_id, t.check_due_date, t.colour) for t in tasks] == [
        (case.id, "food", date(2025, 3, 17), "red")]


@pytest.mark.parametrize(("step_id", "why"), [
    ("fire", "high-risk item"), ("sign", "not allowed"), ("tax", "not marked"),
])
def test_a_step_that_does_not_allow_a_commitment_is_refused_and_nothing_is_written(
        session, case, step_id, why):
    """Only ``commitment_allowed: true`` allows it, and never a high-risk item."""
    with pytest.raises(Conflict, match=why):
        sign(session, case.id, step_id)
    assert events(session, "commitment_signed") == []


def test_an_empty_commitment_letter_is_refused(session, case):
    with pytest.raises(InvalidInput, match="commitment letter's text is empty"):
        sign_commitment(session, case.id, "food", text=" ", signed_by="张三",
                        recorded_by="李四", now=mar(3))


def approve_all_but_food(session, case_id, when):
    submit_materials(session, case_id, ["lease"], now=when)
    for step_id, department in (("fire", "fire"), ("sign", "urban"), ("tax", "samr")):
        decide(session, case_id, step_id, "approve", department_id=department,
               decided_by="王五", now=when)
    advance_case(session, case_id, now=when)


def test_a_failed_check_revokes_the_certificate_and_records_why(session, case):
    """After issue, a failed 核查 revokes the step's certificate; the reason is kept."""
    sign(session, case.id)
    approve_all_but_food(session, case.id, mar(4))
    assert session.get(Case, case.id).status == CaseStatus.APPROVED
    check_commitment(session, case.id, "food", passed=False, department_id="samr",
                     checked_by="执法员", reason="现场无消毒设施", now=mar(10))
    certificate = session.exec(select(Certificate).where(Certificate.step_id == "food")).one()
    assert certificate.revoked_reason == "核查未通过: 现场无消毒设施"
    assert certificate.revoked_at is not None
    assert events(session, "certificate_revoked")[0]["certificates"] == [certificate.number]
    assert check_tasks(session, today=date(2025, 3, 10)) == []
    assert verify_chain(session).ok


def test_a_failed_check_while_the_case_runs_rejects_the_step_and_the_rest_goes_on(session, case):
    """Nothing else in the shop depends on the food licence: the case closes partially
    approved once the other items are decided, with the failed check as its reason."""
    sign(session, case.id)
    check_commitment(session, case.id, "food", passed=False, department_id="samr",
                     checked_by="执法员", reason="承诺不实", now=mar(4))
    advance_case(session, case.id, now=mar(4))
    assert session.get(Case, case.id).status == CaseStatus.ACCEPTED
    approve_all_but_food(session, case.id, mar(5))
    closed = session.get(Case, case.id)
    assert (closed.status, closed.close_reason) == (CaseStatus.PARTIALLY_APPROVED,
                                                    "food: 核查未通过: 承诺不实")


def test_a_check_is_recorded_once_by_its_own_department_and_a_failure_needs_a_reason(
        session, case):
    sign(session, case.id)
    with pytest.raises(Forbidden, match="belongs to department 'samr'"):
        check_commitment(session, case.id, "food", passed=True, department_id="fire",
                         checked_by="x", now=mar(4))
    with pytest.raises(InvalidInput, match="failed 核查's reason is empty"):
        check_commitment(session, case.id, "food", passed=False, department_id="samr",
                         checked_by="x", now=mar(4))
    check_commitment(session, case.id, "food", passed=True, department_id="samr",
                     checked_by="执法员", now=mar(4))
    with pytest.raises(Conflict, match="recorded already: passed by 执法员"):
        check_commitment(session, case.id, "food", passed=True, department_id="samr",
                         checked_by="执法员", now=mar(5))


# --- 容缺 promises -----------------------------------------------------------------------------


@pytest.mark.parametrize("promised", [
    date(2025, 3, 3),    # today
    date(2025, 4, 1),    # 21 working days away
])
def test_a_promise_outside_the_bounds_is_refused_with_the_dates_allowed(session, case, promised):
    """深圳's bounds: at most 20 working days away (03-31), 2 before the limit (03-27)."""
    with pytest.raises(InvalidInput, match=r"outside the 容缺 bounds.*from 2025-03-04 to "):
        promise_material(session, case.id, "lease", promised, by="李四", now=mar(3))


def test_a_promise_too_close_to_the_committed_limit_is_refused(session, case):
    """The case is due 03-31 (food's 20 working days); 2 before it is 03-27."""
    assert session.get(Case, case.id).due_date == date(2025, 3, 31)
    with pytest.raises(InvalidInput, match="to 2025-03-27"):
        promise_material(session, case.id, "lease", date(2025, 3, 28), by="李四", now=mar(3))


def test_a_missed_promise_ends_the_case_when_the_sweep_finds_it(session, case):
    promise_material(session, case.id, "lease", date(2025, 3, 7), by="李四", now=mar(3))
    owed = session.exec(select(Submission).where(Submission.material_id == "lease")).one()
    assert owed.due_date == date(2025, 3, 7)
    sweep(session, now=mar(7, 18))
    assert session.get(Case, case.id).status == CaseStatus.ACCEPTED
    sweep(session, now=mar(10))
    ended = session.get(Case, case.id)
    assert ended.status == CaseStatus.TERMINATED
    assert "lease (promised 2025-03-07)" in ended.close_reason
    assert events(session, "case_terminated")[0]["missed"] == {"lease": "2025-03-07"}
    assert verify_chain(session).ok


def test_a_material_that_is_not_owed_cannot_be_promised(session, case):
    with pytest.raises(Conflict, match="it is 'received'"):
        promise_material(session, case.id, "id_card", date(2025, 3, 5), by="李四", now=mar(3))


@settings(deadline=None)   # the first call builds the working-day calendar
@given(today=st.dates(date(2025, 1, 1), date(2026, 12, 1)),
       limit_days=st.integers(1, 120), margin=st.integers(0, 5), furthest=st.integers(1, 30))
def test_the_latest_promise_lies_within_both_bounds_for_any_case(today, limit_days, margin,
                                                                 furthest):
    """深圳's two bounds hold for every day, limit and setting: the latest promised date is at
    most ``furthest`` working days away and ``margin`` working days before the limit."""
    calendar = default_calendar()
    due = calendar.add_working_days(today, limit_days)
    latest = promise_bounds(today, due, margin_working_days=margin, max_working_days=furthest)
    assert calendar.working_days_between(today, latest) <= furthest
    assert calendar.working_days_between(latest, due) >= margin
