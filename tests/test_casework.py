"""Running cases through the operations of flows.casework, on SQLite and PostgreSQL.

Dates are hand-computed on the 2025 calendar: 春节 closes 01-28 to 02-04, and Sun 01-26
and Sat 02-08 are 调休 working days. Cases are accepted on Fri 01-24, so the working
days after acceptance run 01-26, 01-27, 02-05, 02-06, 02-07, 02-08, 02-10, 02-11, ...
"""

from datetime import date, datetime

import pytest
from sqlalchemy import text
from sqlmodel import func, select

from flows.casework import (
    Applicant,
    advance_case,
    case_colour,
    decide,
    mark_processed,
    notification_list,
    open_case,
    pending_outbox,
    resolve_procedure,
    step_colour,
    submit_materials,
    sweep,
    verify_chain,
    withdraw_case,
)
from flows.casework.tables import (
    AuditEvent,
    Case,
    CaseStatus,
    CaseStep,
    Certificate,
    Decision,
    Outbox,
    StepStatus,
    Submission,
    SubmissionStatus,
)
from process_models import parse_procedure
from process_models.errors import (
    CaseNotFound,
    Conflict,
    DecisionConflict,
    Forbidden,
    InvalidInput,
    ProcedureNotFound,
    UnknownReference,
)

SHOP = """
id: shop
name: 开店一件事
version: "2025"
departments:
- {id: samr, name: 市场监管局}
- {id: fire, name: 消防救援支队}
- {id: tax, name: 税务局}
materials:
- {id: id_card, name: 身份证}
- {id: lease, name: 租赁合同}
- {id: floor_plan, name: 平面图, key: false}
- {id: tax_register, name: 税务登记信息, provider: data_sharing}
- {id: licence_copy, name: 营业执照副本, provider: step, from_step: licence}
steps:
- {id: licence, name: 营业执照, department: samr, committed: {days: 3},
   materials: [id_card, lease], certificates: [营业执照]}
- {id: fire_check, name: 消防检查, department: fire, committed: {days: 5},
   materials: [floor_plan, id_card], certificates: [消防安全检查合格证]}
- {id: invoice, name: 发票申领, department: tax, committed: {days: 1}, depends_on: [licence],
   materials: [licence_copy, tax_register], certificates: [发票领购簿]}
"""
EVERYTHING = ["id_card", "lease", "floor_plan"]
APPLICANT = Applicant("张三", "11010519491231002X", "哈尔滨市宾县", "13800000000")


def jan(day: int, hour: int = 10) -> datetime:
    return datetime(2025, 1, day, hour)


def feb(day: int, hour: int = 10) -> datetime:
    return datetime(2025, 2, day, hour)


@pytest.fixture
def shop():
    return parse_procedure(SHOP)


@pytest.fixture
def case(session, shop):
    """A shop case accepted on Fri 2025-01-24 with every material."""
    return open_case(session, shop, APPLICANT, EVERYTHING, now=jan(24, 9))


def count(session, table) -> int:
    return session.exec(select(func.count()).select_from(table)).one()


def steps_of(session, case_id) -> dict[str, CaseStep]:
    rows = session.exec(select(CaseStep).where(CaseStep.case_id == case_id)).all()
    return {row.step_id: row for row in rows}


def approve(session, case_id, step_id, department_id, when):
    decision = decide(session, case_id, step_id, "approve", department_id=department_id,
                      decided_by="王五", now=when)
    advance_case(session, case_id, now=when)
    return decision


# --- the 一次性告知单 ---------------------------------------------------------------------------


def test_the_notice_lists_each_applicant_material_once_with_the_steps_needing_it(shop):
    """Data-shared materials and other steps' outputs are not the applicant's to bring."""
    items = notification_list(shop)
    assert [(i.material_id, i.key, i.deferrable, i.steps) for i in items] == [
        ("id_card", True, False, ("licence", "fire_check")),
        ("lease", True, False, ("licence",)),
        ("floor_plan", False, True, ("fire_check",)),
    ]


# --- opening a case ---------------------------------------------------------------------------------


def test_the_statuses_are_stored_as_the_plain_strings_they_always_were(session, shop):
    """``CaseStatus``, ``StepStatus`` and ``SubmissionStatus`` values are the stored strings:
    the enums need no migration, and a row read back compares equal to its member."""
    assert [*CaseStatus] == ["accepted", "awaiting_supplement", "approved", "rejected",
                             "withdrawn", "terminated", "partially_approved"]
    assert [*StepStatus] == ["waiting", "pending", "supplement", "approved", "rejected",
                             "cancelled"]
    assert [*SubmissionStatus] == ["received", "deferred", "requested"]
    case = open_case(session, shop, APPLICANT, ["id_card", "lease"], now=jan(24, 9))
    raw = session.execute(text(
        "SELECT c.status, s.status, m.status FROM cases c JOIN case_step s ON s.case_id = c.id "
        "JOIN submission m ON m.case_id = c.id WHERE s.step_id = 'licence' "
        "AND m.material_id = 'floor_plan'")).one()
    assert tuple(raw) == (CaseStatus.ACCEPTED, StepStatus.PENDING, SubmissionStatus.DEFERRED)
    assert [type(value) for value in raw] == [str, str, str]
    assert session.get(Case, case.id).status == CaseStatus.ACCEPTED


def test_a_complete_case_is_accepted_and_its_first_steps_start_with_due_dates(session, case):
    assert (case.id, case.status, case.procedure_version) == ("C-20250124-0001", "accepted", "2025")
    steps = steps_of(session, case.id)
    assert {k: (s.status, s.due_date) for k, s in steps.items()} == {
        "licence": ("pending", date(2025, 2, 5)),      # 3 working days after 01-24
        "fire_check": ("pending", date(2025, 2, 7)),   # 5 working days
        "invoice": ("waiting", None),
    }
    assert case.due_date == date(2025, 2, 7)   # invoice planned 02-05 + 1 = 02-06 < 02-07
    assert [o.kind for o in pending_outbox(session)] == ["case_opened"]


def test_case_ids_count_up_within_a_day(session, shop, case):
    second = open_case(session, shop, APPLICANT, EVERYTHING, now=jan(24, 15))
    third = open_case(session, shop, APPLICANT, EVERYTHING, now=jan(26, 9))
    late = open_case(session, shop, APPLICANT, EVERYTHING, now=jan(24, 16))
    assert (second.id, third.id, late.id) == ("C-20250124-0002", "C-20250126-0001",
                                              "C-20250124-0003")


@pytest.mark.parametrize("last", ["C-20250124-9999", "C-20250124-0002x"])
def test_a_day_whose_last_number_does_not_count_on_counts_its_cases(session, shop, case, last):
    """Past 9999 (``-10000`` sorts before ``-9999``) or after an id that is not a number,
    the next number is the day's cases counted, plus one."""
    row = session.execute(text("SELECT * FROM cases WHERE id = :id"), {"id": case.id}).one()
    columns = ", ".join(row._fields)
    session.execute(text(f"INSERT INTO cases ({columns}) VALUES "
                         f"({', '.join(':' + c for c in row._fields)})"),
                    {**row._asdict(), "id": last})
    session.commit()
    assert open_case(session, shop, APPLICANT, EVERYTHING, now=jan(24, 15)).id == (
        "C-20250124-0003")


def test_a_missing_key_material_asks_for_supplement_and_does_not_accept(session, shop):
    """补正: the case is not accepted, no step starts, the missing material is requested."""
    case = open_case(session, shop, APPLICANT, ["id_card", "floor_plan"], now=jan(24, 9))
    assert (case.status, case.accepted_at, case.due_date) == ("awaiting_supplement", None, None)
    assert {s.status for s in steps_of(session, case.id).values()} == {"waiting"}
    requested = session.exec(select(Submission).where(Submission.status == "requested")).all()
    assert [r.material_id for r in requested] == ["lease"]
    kinds = session.exec(select(AuditEvent.kind).order_by(AuditEvent.seq)).all()
    assert kinds == ["case_opened", "supplement_requested"]


def test_bringing_the_missing_key_material_accepts_the_case_from_that_day(session, shop):
    case = open_case(session, shop, APPLICANT, ["id_card", "floor_plan"], now=jan(24, 9))
    case = submit_materials(session, case.id, ["lease"], now=jan(27, 9))
    assert case.status == "accepted" and case.accepted_at.date() == date(2025, 1, 27)
    steps = steps_of(session, case.id)
    assert steps["licence"].due_date == date(2025, 2, 7)   # 02-05, 02-06, 02-07
    assert steps["licence"].status == "pending"


def test_a_missing_non_key_material_is_owed_under_rongque_with_a_due_date(session, shop):
    """容缺受理: accepted at once; the material is owed within 5 working days (02-07)."""
    case = open_case(session, shop, APPLICANT, ["id_card", "lease"], now=jan(24, 9))
    assert case.status == "accepted"
    owed = session.exec(select(Submission).where(Submission.status == "deferred")).one()
    assert (owed.material_id, owed.due_date) == ("floor_plan", date(2025, 2, 7))


def test_a_step_needing_an_owed_material_cannot_be_approved_until_it_arrives(session, shop):
    case = open_case(session, shop, APPLICANT, ["id_card", "lease"], now=jan(24, 9))
    with pytest.raises(Conflict, match=r"step 'fire_check' of case C-20250124-0001 needs "
                                       r"material 'floor_plan' still owed"):
        decide(session, case.id, "fire_check", "approve", department_id="fire",
               decided_by="赵六", now=jan(26))
    submit_materials(session, case.id, ["floor_plan"], now=jan(27))
    decision = decide(session, case.id, "fire_check", "approve", department_id="fire",
                      decided_by="赵六", now=jan(27, 11))
    assert decision.outcome == "approve"


@pytest.mark.parametrize(("submitted", "error", "message"), [
    (["id_card", "leese"], UnknownReference,
     r"procedure 'shop' has no material 'leese' \(did you mean 'lease'\?\)"),
    (["id_card", "tax_register"], InvalidInput,
     r"submitted: material 'tax_register' \(税务登记信息\) comes from data sharing"),
    (["licence_copy"], InvalidInput,
     r"material 'licence_copy' \(营业执照副本\) is issued by step 'licence'"),
    (["id_card", "lease", "id_card"], InvalidInput,
     r"duplicate submission: material 'id_card' is listed twice"),
])
def test_bad_materials_at_the_window_are_refused_and_nothing_is_written(
    session, shop, submitted, error, message
):
    with pytest.raises(error, match=message):
        open_case(session, shop, APPLICANT, submitted, now=jan(24, 9))
    assert (count(session, Case), count(session, AuditEvent), count(session, Outbox)) == (0, 0, 0)


@pytest.mark.parametrize(("applicant", "message"), [
    (Applicant("张三", "110105194912310021"),
     r"applicant_id_number: ID number '110105194912310021' fails its checksum"),
    (Applicant(" ", "11010519491231002X"), r"applicant_name: applicant name is empty"),
])
def test_a_bad_applicant_is_refused_and_nothing_is_written(session, shop, applicant, message):
    with pytest.raises(InvalidInput, match=message):
        open_case(session, shop, applicant, EVERYTHING, now=jan(24, 9))
    assert count(session, Case) == 0 and count(session, AuditEvent) == 0


def test_a_changed_definition_under_a_stored_version_is_refused(session, shop, case):
    changed = shop.model_copy(update={"name": "开店 (changed)"})
    with pytest.raises(Conflict, match=r"procedure 'shop' version '2025' is already stored "
                                       r"with a different definition; give the changed"):
        open_case(session, changed, APPLICANT, EVERYTHING, now=jan(24, 11))


def test_an_unknown_procedure_is_refused_with_a_did_you_mean():
    with pytest.raises(ProcedureNotFound, match=r"no catalog procedure 'newbron'; known: .*"
                                                r"\(did you mean 'newborn'\?\)"):
        resolve_procedure("newbron")


def test_a_case_reloads_its_own_procedure_version_from_the_store(session, shop, case):
    assert resolve_procedure("shop", "2025", session=session) == shop
    with pytest.raises(ProcedureNotFound, match=r"no catalog procedure 'shop'"):
        resolve_procedure("shop")


# --- materials later -----------------------------------------------------------------------------


def test_a_material_already_received_is_a_duplicate_submission(session, case):
    with pytest.raises(InvalidInput, match=r"duplicate submission: material 'lease' of case "
                                           r"C-20250124-0001 was already received on 2025-01-24"):
        submit_materials(session, case.id, ["lease"], now=jan(26))
    assert count(session, AuditEvent) == session.exec(
        select(func.max(AuditEvent.seq))).one()


@pytest.mark.parametrize(("case_id", "materials", "error", "message"), [
    ("C-20990101-0001", ["lease"], CaseNotFound, r"^no case 'C-20990101-0001'$"),
    ("C-20250124-001", ["lease"], CaseNotFound,
     r"no case 'C-20250124-001' \(did you mean 'C-20250124-0001'\?\)"),
    ("C-20250124-0001", [], InvalidInput, r"material_ids: no materials given"),
    ("C-20250124-0001", ["flor_plan"], UnknownReference,
     r"has no material 'flor_plan' \(did you mean 'floor_plan'\?\)"),
])
def test_bad_submissions_are_refused(session, case, case_id, materials, error, message):
    events = count(session, AuditEvent)
    with pytest.raises(error, match=message):
        submit_materials(session, case_id, materials, now=jan(26))
    assert count(session, AuditEvent) == events


# --- decisions ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("step_id", "outcome", "department_id", "reason", "error", "message"), [
    ("licnce", "approve", "samr", None, UnknownReference,
     r"procedure 'shop' has no step 'licnce' \(did you mean 'licence'\?\)"),
    ("licence", "approve", "smar", None, UnknownReference,
     r"procedure 'shop' has no department 'smar' \(did you mean 'samr'\?\)"),
    ("licence", "approve", "tax", None, Forbidden,
     r"step 'licence' belongs to department 'samr'; department 'tax' may decide only its own"),
    ("invoice", "approve", "tax", None, Conflict,
     r"step 'invoice' of case C-20250124-0001 is not ready: it waits for licence"),
    ("licence", "reject", "samr", "  ", InvalidInput,
     r"reason: a reject decision needs a reason"),
    ("licence", "supplement", "samr", None, InvalidInput,
     r"reason: a supplement decision needs a reason"),
    ("licence", "aprove", "samr", None, InvalidInput,
     (r"outcome: unknown outcome 'aprove'; use approve, reject or supplement "
     r"\(did you mean 'approve'\?\)")),
])
def test_bad_decisions_are_refused_and_nothing_is_written(
    session, case, step_id, outcome, department_id, reason, error, message
):
    events = count(session, AuditEvent)
    with pytest.raises(error, match=message):
        decide(session, case.id, step_id, outcome, department_id=department_id,
               decided_by="王五", reason=reason, now=jan(26))
    assert count(session, Decision) == 0 and count(session, AuditEvent) == events
    assert {s.version for s in steps_of(session, case.id).values()} <= {1, 2}


def test_a_decision_on_a_closed_case_is_refused(session, case):
    withdraw_case(session, case.id, reason="申请人撤回", now=jan(26))
    with pytest.raises(Conflict, match=r"case C-20250124-0001 is closed \(withdrawn\); "
                                       r"cannot decide step 'licence'"):
        decide(session, case.id, "licence", "approve", department_id="samr",
               decided_by="王五", now=jan(27))


def test_a_decision_before_acceptance_is_refused(session, shop):
    case = open_case(session, shop, APPLICANT, ["id_card"], now=jan(24, 9))
    with pytest.raises(Conflict, match=r"case C-20250124-0001 is not accepted yet"):
        decide(session, case.id, "licence", "approve", department_id="samr",
               decided_by="王五", now=jan(26))


def test_a_second_decision_on_a_decided_step_names_who_decided_it(session, case):
    approve(session, case.id, "licence", "samr", jan(26, 9))
    with pytest.raises(DecisionConflict, match=r"step 'licence' of case C-20250124-0001 was "
                                               r"already decided: approve by 王五 \(samr\)"):
        decide(session, case.id, "licence", "reject", department_id="samr", decided_by="钱七",
               reason="材料不全", now=jan(26, 11))


def test_a_stale_expected_version_is_a_decision_conflict(session, case):
    step = steps_of(session, case.id)["licence"]
    with pytest.raises(DecisionConflict, match=r"step 'licence' of case C-20250124-0001 "
                                               r"changed \(now version 2\); reload the case"):
        decide(session, case.id, "licence", "approve", department_id="samr", decided_by="王五",
               expected_version=step.version - 1, now=jan(26))


def test_a_decision_writes_the_step_decision_audit_event_and_outbox_row_together(session, case):
    decision = decide(session, case.id, "licence", "approve", department_id="samr",
                      decided_by="王五", now=jan(26))
    step = steps_of(session, case.id)["licence"]
    assert (step.status, step.version, step.decided_at) == ("approved", 3, decision.decided_at)
    last = session.exec(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert (last.kind, last.payload["step_id"], last.payload["decision_id"]) == (
        "decision", "licence", decision.id)
    assert [o.kind for o in pending_outbox(session)] == ["case_opened", "decision"]


# --- advancing and closing ---------------------------------------------------------------------------


def test_approving_a_step_starts_the_steps_waiting_for_it(session, case):
    approve(session, case.id, "licence", "samr", jan(27))
    invoice = steps_of(session, case.id)["invoice"]
    assert (invoice.status, invoice.due_date) == ("pending", date(2025, 2, 5))


def test_certificates_are_issued_together_once_when_the_last_step_is_approved(session, case):
    approve(session, case.id, "licence", "samr", jan(26))
    approve(session, case.id, "fire_check", "fire", jan(27))
    assert count(session, Certificate) == 0
    decide(session, case.id, "invoice", "approve", department_id="tax", decided_by="孙八",
           now=feb(5))
    first = advance_case(session, case.id, now=feb(5))
    again = advance_case(session, case.id, now=feb(6))
    assert first.closed and first.status == "approved"
    assert first.certificates == ("C-20250124-0001-01", "C-20250124-0001-02", "C-20250124-0001-03")
    assert (again.certificates, again.closed) == ((), False)
    rows = session.exec(select(Certificate).order_by(Certificate.number)).all()
    assert [(c.name, c.department_id, c.issued_at.date()) for c in rows] == [
        ("营业执照", "samr", date(2025, 2, 5)),
        ("消防安全检查合格证", "fire", date(2025, 2, 5)),
        ("发票领购簿", "tax", date(2025, 2, 5)),
    ]


def test_a_rejection_ends_only_what_depends_on_it_and_the_rest_of_the_bundle_goes_on(
        session, case):
    """The fire check is refused: the licence and the invoice (which needs the licence, not
    the fire check) go on, their certificates are issued, the case closes partially
    approved with the refusal's reason."""
    decide(session, case.id, "fire_check", "reject", department_id="fire", decided_by="赵六",
           reason="疏散通道不符合要求", now=jan(27))
    result = advance_case(session, case.id, now=jan(27))
    assert (result.status, result.closed) == ("accepted", False)
    assert {k: s.status for k, s in steps_of(session, case.id).items()} == {
        "licence": "pending", "fire_check": "rejected", "invoice": "waiting"}
    approve(session, case.id, "licence", "samr", jan(27))
    approve(session, case.id, "invoice", "tax", jan(28))
    closed = session.get(Case, case.id)
    assert (closed.status, closed.close_reason) == (
        "partially_approved", "fire_check: 疏散通道不符合要求")
    assert sorted(session.exec(select(Certificate.name)).all()) == ["发票领购簿", "营业执照"]
    assert verify_chain(session).ok


def test_a_rejection_cancels_the_steps_that_depend_on_it(session, case):
    """The licence is refused: the invoice needs it and is cancelled; the fire check goes on
    and, approved, closes the case with its one certificate."""
    decide(session, case.id, "licence", "reject", department_id="samr", decided_by="赵六",
           reason="名称不合规", now=jan(27))
    advance_case(session, case.id, now=jan(27))
    assert {k: s.status for k, s in steps_of(session, case.id).items()} == {
        "licence": "rejected", "fire_check": "pending", "invoice": "cancelled"}
    assert [e["cancelled"] for e in session.exec(select(AuditEvent.payload).where(
        AuditEvent.kind == "steps_ended")).all()] == [["invoice"]]
    approve(session, case.id, "fire_check", "fire", jan(28))
    assert session.get(Case, case.id).status == "partially_approved"
    assert session.exec(select(Certificate.name)).all() == ["消防安全检查合格证"]


def test_a_case_whose_every_step_is_refused_or_ended_closes_rejected(session, case):
    for step_id, department in (("licence", "samr"), ("fire_check", "fire")):
        decide(session, case.id, step_id, "reject", department_id=department,
               decided_by="赵六", reason="不符合条件", now=jan(27))
    result = advance_case(session, case.id, now=jan(27))
    assert (result.status, result.closed) == ("rejected", True)
    assert {k: s.status for k, s in steps_of(session, case.id).items()} == {
        "licence": "rejected", "fire_check": "rejected", "invoice": "cancelled"}
    assert count(session, Certificate) == 0


def test_a_withdrawn_case_cancels_its_steps_and_cannot_be_withdrawn_again(session, case):
    withdraw_case(session, case.id, reason="申请人撤回", now=jan(26))
    assert {s.status for s in steps_of(session, case.id).values()} == {"cancelled"}
    with pytest.raises(Conflict, match=r"case C-20250124-0001 is closed \(withdrawn\); "
                                       r"cannot withdraw it"):
        withdraw_case(session, case.id, reason="again", now=jan(27))


def test_withdrawing_needs_a_reason(session, case):
    with pytest.raises(InvalidInput, match=r"reason: withdrawing a case needs a reason"):
        withdraw_case(session, case.id, reason="", now=jan(26))


# --- 补正 pauses the legal clock -------------------------------------------------------------------


def test_supplement_pauses_the_step_and_moves_its_due_date_by_the_paused_working_days(
    session, case
):
    """Paused Mon 01-27, lease back Mon 02-10: 5 working days (02-05 .. 02-08 调休, 02-10),
    so licence's due date moves from 02-05 to 02-11 and the case's from 02-07 to 02-12."""
    decide(session, case.id, "licence", "supplement", department_id="samr", decided_by="王五",
           reason="租赁合同缺少产权证明页", materials=["lease"], now=jan(27))
    licence = steps_of(session, case.id)["licence"]
    assert (licence.status, licence.paused_on) == ("supplement", date(2025, 1, 27))
    with pytest.raises(Conflict, match=r"step 'licence' of case C-20250124-0001 is paused "
                                       r"for 补正"):
        decide(session, case.id, "licence", "approve", department_id="samr",
               decided_by="王五", now=feb(5))
    submit_materials(session, case.id, ["lease"], now=feb(10))
    licence = steps_of(session, case.id)["licence"]
    assert (licence.status, licence.paused_working_days, licence.due_date) == (
        "pending", 5, date(2025, 2, 11))
    assert session.get(Case, case.id).due_date == date(2025, 2, 12)
    approve(session, case.id, "licence", "samr", feb(11))


def test_a_step_paused_for_materials_waits_until_all_of_them_arrive(session, case):
    decide(session, case.id, "fire_check", "supplement", department_id="fire",
           decided_by="赵六", reason="平面图与身份证复印件不清", materials=["floor_plan", "id_card"],
           now=jan(26))
    submit_materials(session, case.id, ["floor_plan"], now=jan(27))
    assert steps_of(session, case.id)["fire_check"].status == "supplement"
    submit_materials(session, case.id, ["id_card"], now=feb(5))
    fire = steps_of(session, case.id)["fire_check"]
    assert (fire.status, fire.paused_working_days, fire.due_date) == (
        "pending", 2, date(2025, 2, 10))   # paused 01-27 and 02-05; 02-07 + 2 = 02-10


# --- colours ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("today", "colour"), [
    (date(2025, 1, 26), "green"),    # 1 of 3 working days used
    (date(2025, 1, 27), "green"),    # 2 of 3: not past 80 %
    (date(2025, 2, 5), "yellow"),    # the due day: 3 of 3
    (date(2025, 2, 6), "red"),       # past the due date
])
def test_a_pending_step_turns_yellow_past_its_share_and_red_past_its_due_date(
    session, case, today, colour
):
    licence = steps_of(session, case.id)["licence"]
    assert step_colour(licence, today, yellow_share=0.8) == colour


def test_a_step_paused_for_supplement_is_yellow(session, case):
    decide(session, case.id, "licence", "supplement", department_id="samr", decided_by="王五",
           reason="缺页", materials=["lease"], now=jan(27))
    licence = steps_of(session, case.id)["licence"]
    assert step_colour(licence, date(2025, 2, 10), yellow_share=0.8) == "yellow"


def test_the_case_takes_its_worst_step_colour(session, case):
    steps = list(steps_of(session, case.id).values())
    case = session.get(Case, case.id)
    assert [case_colour(case, steps, day, yellow_share=0.8) for day in
            (date(2025, 1, 26), date(2025, 2, 5), date(2025, 2, 6))] == ["green", "yellow", "red"]


def test_a_case_waiting_for_supplement_at_the_window_is_yellow(session, shop):
    case = open_case(session, shop, APPLICANT, ["id_card"], now=jan(24, 9))
    assert case_colour(case, [], date(2025, 1, 24), yellow_share=0.8) == "yellow"


def test_the_sweep_escalates_each_red_step_once(session, case):
    """督办: one escalation event per step that turns red, however often the sweep runs."""
    first = sweep(session, now=feb(6), yellow_share=0.8, warning_working_days=0)
    assert [(c.step_id, c.after, c.escalated) for c in first] == [
        ("licence", "red", True), ("fire_check", "green", False),
        ("invoice", "green", False), (None, "red", False)]
    second = sweep(session, now=feb(7), yellow_share=0.8, warning_working_days=0)
    assert [(c.step_id, c.before, c.after, c.escalated) for c in second] == [
        ("fire_check", "green", "yellow", False)]
    escalations = session.exec(select(AuditEvent).where(AuditEvent.kind == "escalation")).all()
    assert [e.payload["step_id"] for e in escalations] == ["licence"]
    assert [o.kind for o in pending_outbox(session)][-1] == "escalation"


# --- outbox ------------------------------------------------------------------------------------------


def test_processed_outbox_rows_are_not_handed_out_again(session, case):
    rows = pending_outbox(session)
    assert mark_processed(session, [r.id for r in rows], now=jan(24, 10)) == len(rows) == 1
    assert mark_processed(session, [r.id for r in rows], now=jan(24, 11)) == 0
    assert pending_outbox(session) == []


def test_the_audit_trail_of_a_case_verifies(session, case):
    approve(session, case.id, "licence", "samr", jan(26))
    report = verify_chain(session)
    assert report.ok and report.events == count(session, AuditEvent)


def test_a_case_waiting_for_supplement_can_be_withdrawn_but_not_advanced(session, shop):
    case = open_case(session, shop, APPLICANT, ["id_card"], now=jan(24, 9))
    assert advance_case(session, case.id, now=jan(26)).started == ()
    case = withdraw_case(session, case.id, reason="材料无法补齐", now=jan(27))
    assert (case.status, case.close_reason) == ("withdrawn", "材料无法补齐")
    with pytest.raises(Conflict, match=r"case C-20250124-0001 is closed \(withdrawn\); "
                                       r"cannot submit materials"):
        submit_materials(session, case.id, ["lease"], now=jan(28))


def test_a_case_whose_owed_material_is_overdue_is_yellow(session, shop):
    """容缺 with one working day: floor_plan is owed by 01-26; from 01-27 the case waits on
    the applicant while its steps are still on track."""
    case = open_case(session, shop, APPLICANT, ["id_card", "lease"], now=jan(24, 9),
                     deferral_working_days=1)
    steps = list(steps_of(session, case.id).values())
    owed = session.exec(select(Submission).where(Submission.case_id == case.id)).all()
    colours = [case_colour(case, steps, day, yellow_share=0.8, owed=owed)
               for day in (date(2025, 1, 26), date(2025, 1, 27))]
    assert colours == ["green", "yellow"]


def test_the_sweep_covers_every_open_case_whatever_its_batch_size(session, shop, case,
                                                                  monkeypatch):
    monkeypatch.setattr("flows.casework.colours.SWEEP_BATCH_CASES", 1)
    second = open_case(session, shop, APPLICANT, EVERYTHING, now=jan(24, 15))
    withdrawn = open_case(session, shop, APPLICANT, EVERYTHING, now=jan(24, 16))
    withdraw_case(session, withdrawn.id, reason="申请人撤回", now=jan(26))
    changes = sweep(session, now=feb(6), yellow_share=0.8)
    assert {c.case_id for c in changes if c.step_id is None} == {case.id, second.id}
