"""The pause ledger, due dates moved by it and by the calendar, and 督办 notices, on SQLite
and PostgreSQL.

Dates are hand-computed on the 2025 calendar: 春节 closes 01-28 to 02-04, and Sun 01-26
and Sat 02-08 are 调休 working days. The shop case is accepted on Fri 01-24; its licence
step (3 working days) is due 02-05, its fire check (5) 02-07.
"""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlmodel import select

from flows.casework import (
    Applicant,
    answer_notice,
    case_view,
    decide,
    department_grades,
    end_pause,
    open_case,
    pause_step,
    recompute_due_dates,
    supervision_notices,
    supervision_report,
    sweep,
    verify_chain,
)
from flows.casework.supervision import quarter_bounds
from flows.casework.tables import AuditEvent
from process_models import parse_procedure
from process_models.errors import Conflict, Forbidden, InvalidInput
from tests.test_casework import EVERYTHING, SHOP

APPLICANT = Applicant("张三", "11010519491231002X")


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2025, month, day, hour)


@pytest.fixture
def case(session):
    """A shop case accepted on Fri 2025-01-24 with every material."""
    return open_case(session, parse_procedure(SHOP), APPLICANT, EVERYTHING, now=at(1, 24, 9))


def step(session, case_id: str, step_id: str, today: date):
    return next(s for s in case_view(session, case_id, today=today).steps
                if s.step_id == step_id)


def events(session, kind: str) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).where(AuditEvent.kind == kind)
                             .order_by(AuditEvent.seq)))


# --- the pause ledger --------------------------------------------------------------------------


def test_a_hold_not_counted_moves_the_due_date_by_the_working_days_held_and_stays_green(
        session, case):
    """专家评审 (第45条): held 01-27 to 02-07 = 3 working days (02-05, 02-06, 02-07), so the
    licence's 02-05 moves to 02-08 (a 调休 Saturday); green on 02-06 while held."""
    pause_step(session, case.id, "licence", "expert_review", by="王五", now=at(1, 27))
    held = step(session, case.id, "licence", date(2025, 2, 6))
    assert (held.colour, held.due_date, held.pause_reason) == ("green", date(2025, 2, 5),
                                                               "expert_review")
    end_pause(session, case.id, "licence", by="王五", now=at(2, 7))
    after = step(session, case.id, "licence", date(2025, 2, 7))
    assert after.due_date == date(2025, 2, 8)
    assert after.paused_working_days == 3
    (pause,) = after.pauses
    assert (pause.reason, pause.counted, pause.started_on, pause.ended_on,
            pause.working_days) == ("expert_review", False, date(2025, 1, 27),
                                    date(2025, 2, 7), 3)
    assert [e.payload["paused_working_days"] for e in events(session, "pause_ended")] == [3]
    assert verify_chain(session).ok


def test_a_hold_that_counts_leaves_the_due_date_and_the_step_turns_red_when_it_passes(
        session, case):
    """现场踏勘 counts in the limit by default: the due date stays 02-05; red on 02-06."""
    pause_step(session, case.id, "licence", "site_inspection", by="王五", now=at(1, 27))
    assert step(session, case.id, "licence", date(2025, 2, 6)).colour == "red"
    end_pause(session, case.id, "licence", by="王五", now=at(2, 7))
    after = step(session, case.id, "licence", date(2025, 2, 7))
    assert (after.due_date, after.colour, after.pauses[0].working_days) == (
        date(2025, 2, 5), "red", 0)


def test_the_staff_say_whether_a_hold_counts(session, case):
    """--not-counted on 现场踏勘 moves the due date like 专家评审 does."""
    pause_step(session, case.id, "licence", "site_inspection", by="王五", now=at(1, 27),
               counted=False)
    end_pause(session, case.id, "licence", by="王五", now=at(2, 5))
    assert step(session, case.id, "licence", date(2025, 2, 5)).due_date == date(2025, 2, 6)


def test_a_held_step_cannot_be_decided_until_its_hold_ends(session, case):
    pause_step(session, case.id, "licence", "hearing", by="王五", now=at(1, 27))
    with pytest.raises(Conflict, match="paused for hearing; end the pause first"):
        decide(session, case.id, "licence", "approve", department_id="samr",
               decided_by="王五", now=at(2, 5))


@pytest.mark.parametrize(("reason", "message"), [
    ("supplement", "补正 is asked for by the department's decision"),
    ("expert_reveiw", "unknown pause reason 'expert_reveiw'.*did you mean 'expert_review'"),
])
def test_a_bad_pause_reason_is_one_line_naming_the_choices(session, case, reason, message):
    with pytest.raises(InvalidInput, match=message):
        pause_step(session, case.id, "licence", reason, by="王五", now=at(1, 27))


def test_a_step_is_paused_once_and_only_a_paused_step_resumes(session, case):
    pause_step(session, case.id, "licence", "testing", by="王五", now=at(1, 27))
    with pytest.raises(Conflict, match="already paused for testing"):
        pause_step(session, case.id, "licence", "publicity", by="王五", now=at(1, 27))
    with pytest.raises(Conflict, match="step 'fire_check' .* is not paused"):
        end_pause(session, case.id, "fire_check", by="王五", now=at(1, 27))


def test_a_supplement_pause_is_in_the_ledger_too(session, case):
    """补正 is a hold not counted: the decision opens it, the materials close it."""
    from flows.casework import submit_materials

    decide(session, case.id, "licence", "supplement", department_id="samr", decided_by="王五",
           reason="缺页", materials=["lease"], now=at(1, 27))
    submit_materials(session, case.id, ["lease"], now=at(2, 6))
    (pause,) = step(session, case.id, "licence", date(2025, 2, 6)).pauses
    assert (pause.reason, pause.counted, pause.working_days) == ("supplement", False, 2)


# --- the calendar ------------------------------------------------------------------------------


@pytest.fixture
def closure_on_feb_5(tmp_path, monkeypatch):
    """An override file closing Wed 2025-02-05 (as a new State Council schedule would)."""
    from process_models.calendar import default_calendar
    from process_models.settings import settings

    path = tmp_path / "closure.yaml"
    path.write_text("closures:\n  - {date: 2025-02-05, note: 调整放假}\n", encoding="utf-8")

    def use(files):
        monkeypatch.setattr(settings, "calendar_overrides", files)
        monkeypatch.setenv("ONETHING_CALENDAR_OVERRIDES", json.dumps([str(f) for f in files]))
        default_calendar.cache_clear()

    yield lambda: use([path])
    default_calendar.cache_clear()


def test_a_calendar_override_moving_a_holiday_moves_open_due_dates(session, case,
                                                                   closure_on_feb_5):
    """02-05 closed: the licence is due 02-06 and the fire check 02-08; one audited event."""
    closure_on_feb_5()
    assert recompute_due_dates(session, by="管理员", now=at(2, 1)) == [case.id]
    view = case_view(session, case.id, today=date(2025, 2, 1))
    assert {s.step_id: s.due_date for s in view.steps if s.due_date} == {
        "licence": date(2025, 2, 6), "fire_check": date(2025, 2, 8)}
    (event,) = events(session, "due_dates_recomputed")
    assert event.payload["steps"]["licence"] == ["2025-02-05", "2025-02-06"]
    assert event.payload["by"] == "管理员"
    assert recompute_due_dates(session, by="管理员", now=at(2, 1)) == []


# --- 督办 ----------------------------------------------------------------------------------------


def test_a_red_step_gets_a_notice_that_escalates_unanswered_and_the_answer_is_audited(
        session, case):
    """02-06: the licence is red, the fire check (due 02-07) yellow by the early warning;
    each gets a notice due 02-10 (3 working days: 02-07, 02-08, 02-10). The fire brigade
    answers; on 02-11 the licence's notice escalates, once."""
    sweep(session, now=at(2, 6), yellow_share=0.8)
    notices = {n.step_id: n for n in supervision_notices(session, today=date(2025, 2, 6))}
    assert {k: (n.colour, n.department_id, n.reply_due_date) for k, n in notices.items()} == {
        "licence": ("red", "samr", date(2025, 2, 10)),
        "fire_check": ("yellow", "fire", date(2025, 2, 10))}
    fire = notices["fire_check"].notice_id
    with pytest.raises(Forbidden, match="addressed to department 'fire'"):
        answer_notice(session, fire, "专家意见未到", by="王五", department_id="samr",
                      now=at(2, 7))
    answer_notice(session, fire, "现场检查已安排，今日办结", by="李四", department_id="fire",
                  now=at(2, 7))
    decide(session, case.id, "fire_check", "approve", department_id="fire", decided_by="李四",
           now=at(2, 7))
    with pytest.raises(Conflict, match="an answer is given once"):
        answer_notice(session, fire, "再答", by="李四", department_id="fire", now=at(2, 7))
    sweep(session, now=at(2, 10), yellow_share=0.8)
    assert events(session, "supervision_escalated") == []
    sweep(session, now=at(2, 11), yellow_share=0.8)
    sweep(session, now=at(2, 12), yellow_share=0.8)
    assert [e.payload["step_id"] for e in events(session, "supervision_escalated")] == [
        "licence"]
    (answered,) = events(session, "supervision_answered")
    assert (answered.payload["answer"], answered.payload["late"]) == (
        "现场检查已安排，今日办结", False)
    states = {n.step_id: n.state for n in supervision_notices(session, today=date(2025, 2, 12))}
    assert states == {"licence": "escalated", "fire_check": "answered"}
    assert verify_chain(session).ok


def test_the_supervision_report_and_grades_match_hand_counted_cases(session, case):
    """Hand count: samr 1 red notice, unanswered, escalated; fire 1 yellow, answered on time.
    Q1 grades: fire decided 1 step on time and nothing escalated (优秀); samr decided none
    and one escalation (合格 at best: on-time share 1.0 of nothing, but escalated)."""
    sweep(session, now=at(2, 6), yellow_share=0.8)
    fire = next(n for n in supervision_notices(session, today=date(2025, 2, 6))
                if n.department_id == "fire")
    answer_notice(session, fire.notice_id, "已办结", by="李四", department_id="fire",
                  now=at(2, 7))
    decide(session, case.id, "fire_check", "approve", department_id="fire", decided_by="李四",
           now=at(2, 7))
    sweep(session, now=at(2, 11), yellow_share=0.8)
    lines = {line.department_id: line for line in supervision_report(
        session, first=date(2025, 1, 1), last=date(2025, 3, 31), today=date(2025, 2, 11))}
    fields = ("issued", "red", "yellow", "answered", "answered_late", "escalated",
              "unanswered")
    assert {k: tuple(getattr(v, f) for f in fields) for k, v in lines.items()} == {
        "samr": (1, 1, 0, 0, 0, 1, 1), "fire": (1, 0, 1, 1, 0, 0, 0),
        "*": (2, 1, 1, 1, 0, 1, 1)}
    grades = {g.department_id: (g.decided, g.on_time, g.escalated, g.grade)
              for g in department_grades(session, year=2025, quarter=1,
                                         today=date(2025, 2, 11))}
    assert grades == {"fire": (1, 1, 0, "excellent"), "samr": (0, 0, 1, "pass")}


@pytest.mark.parametrize(("quarter", "bounds"), [
    (1, (date(2025, 1, 1), date(2025, 3, 31))), (4, (date(2025, 10, 1), date(2025, 12, 31)))])
def test_a_quarter_runs_from_its_first_to_its_last_day(quarter, bounds):
    assert quarter_bounds(2025, quarter) == bounds


def test_an_empty_answer_is_refused(session, case):
    with pytest.raises(InvalidInput, match="the written explanation is empty"):
        answer_notice(session, 1, "  ", by="李四", department_id="fire", now=at(2, 7))


# --- 秒批 --------------------------------------------------------------------------------------

VACCINATION_RULE = """
id: vaccination_auto
version: "2"
procedure: newborn
step: vaccination
conditions:
  - nothing_owed: true
  - received: [mother_id]
"""


@pytest.fixture
def newborn_rule():
    from process_models.auto_rules import parse_auto_rule

    return parse_auto_rule(VACCINATION_RULE, file="vaccination.yaml")


def test_a_rule_approves_a_matching_case_with_no_staff_and_says_so_in_the_audit_trail(
        session, newborn_rule):
    from flows.casework import notification_list
    from flows.casework.auto_decisions import auto_decide
    from process_models.catalog import load_catalog_procedure

    newborn = load_catalog_procedure("newborn")
    everything = [i.material_id for i in notification_list(newborn)]
    case = open_case(session, newborn, APPLICANT, everything, now=at(1, 24, 9))
    decision = auto_decide(session, case.id, newborn_rule, now=at(1, 24, 9))
    assert (decision.outcome, decision.decided_by) == ("approve", "秒批:vaccination_auto@2")
    (event,) = events(session, "decision")
    assert event.payload["decided_by"] == "秒批:vaccination_auto@2"
    assert step(session, case.id, "vaccination", date(2025, 1, 24)).status == "approved"
    owing = open_case(session, newborn, APPLICANT, [m for m in everything if m != "photo"],
                      now=at(1, 24, 9))   # photo owed (容缺): the rule does not hold
    assert auto_decide(session, owing.id, newborn_rule, now=at(1, 24, 9)) is None


def test_a_rule_leaves_a_step_it_cannot_approve_to_staff(session, newborn_rule, monkeypatch):
    """When the decision is refused (a material the step needs is owed, or staff decided
    first), the rule decides nothing and the advance that ran it goes on."""
    from flows.casework import auto_decisions, notification_list
    from process_models.catalog import load_catalog_procedure

    def refused(*_args, **_kwargs):
        raise Conflict("step 'vaccination' needs material 'photo' still owed")

    newborn = load_catalog_procedure("newborn")
    case = open_case(session, newborn, APPLICANT,
                     [i.material_id for i in notification_list(newborn)], now=at(1, 24, 9))
    monkeypatch.setattr(auto_decisions, "decide", refused)
    assert auto_decisions.auto_decide(session, case.id, newborn_rule, now=at(1, 24, 9)) is None


def test_a_rule_in_the_settings_decides_at_the_window_as_the_step_starts(
        session, tmp_path, monkeypatch):
    """No staff action: the case opens with its vaccination pending; advancing it lets the rule approve it;
    the next advance starts the birth certificate."""
    from flows.casework import advance_case, notification_list
    from process_models.catalog import load_catalog_procedure
    from process_models.settings import settings

    path = tmp_path / "vaccination.yaml"
    path.write_text(VACCINATION_RULE, encoding="utf-8")
    monkeypatch.setattr(settings, "auto_rule_files", [path])
    monkeypatch.setenv("ONETHING_AUTO_RULE_FILES", json.dumps([str(path)]))
    newborn = load_catalog_procedure("newborn")
    case = open_case(session, newborn, APPLICANT,
                     [i.material_id for i in notification_list(newborn)], now=at(1, 24, 9))
    advance_case(session, case.id, now=at(1, 24, 9))
    assert advance_case(session, case.id, now=at(1, 24, 9)).started == ("birth_certificate",)
    assert [e.payload["decided_by"] for e in events(session, "decision")] == [
        "秒批:vaccination_auto@2"]


def test_the_dry_run_over_demo_history_reports_agreement_with_staff(session, newborn_rule):
    """Hand count from the rows: cases whose vaccination staff decided, those with nothing
    owed or missing when the window received them (not counting 补正 asked later), and the
    staff's first outcome on them."""
    from sqlalchemy import text

    from flows.casework.auto_decisions import dry_run
    from flows.casework.demo_history import demo_history
    from process_models.catalog import load_catalog_procedure

    demo_history(session, [load_catalog_procedure("newborn")], cases=12, seed=5,
                 step_supplement_share=0.5)
    first = {}
    for case_id, outcome in session.execute(text(
            "SELECT case_id, outcome FROM decision WHERE step_id = 'vaccination' ORDER BY id")):
        first.setdefault(case_id, outcome)
    late = set()
    for case_id, payload in session.execute(text(
            "SELECT case_id, payload FROM audit_event WHERE kind = 'case_opened'")):
        payload = json.loads(payload) if isinstance(payload, str) else payload
        if payload["missing"] or payload["owed"]:
            late.add(case_id)
    asked_later = {case_id for case_id, in session.execute(text(
        "SELECT case_id FROM decision WHERE outcome = 'supplement'"))}
    decided = [c for c in first if c not in late]
    result = dry_run(session, newborn_rule)
    assert (result.cases, result.decided) == (len(first), len(decided))
    assert result.agreed == sum(first[c] == "approve" for c in decided)
    assert 0 < result.decided < result.cases
    assert result.agreement == result.agreed / result.decided
    assert asked_later & set(decided), "a case asked for 补正 after the window still counts"


@pytest.mark.parametrize(("text", "message"), [
    (VACCINATION_RULE.replace("step: vaccination", "step: vacination"),
     "vaccination.yaml:5: step: unknown step 'vacination' .*did you mean 'vaccination'"),
    (VACCINATION_RULE.replace("nothing_owed", "nothing_owd"),
     (r"vaccination.yaml:7: conditions\[0\]: unknown condition 'nothing_owd'.*did you mean "
     "'nothing_owed'")),
    (VACCINATION_RULE.replace("[mother_id]", "[mother_idd]"),
     r"conditions\[1\].received\[0\]: unknown material 'mother_idd'"),
    (VACCINATION_RULE + "  - shared: [household_bok]\n",
     (r"vaccination.yaml:9: conditions\[2\].shared\[0\]: unknown material 'household_bok'.*"
     "did you mean 'household_book'")),
    (VACCINATION_RULE + "  - field: {name: applicant_ag, at_least: 18}\n",
     r"conditions\[2\].field.name: unknown field 'applicant_ag'.*did you mean 'applicant_age'"),
    (VACCINATION_RULE + "  - field: {name: applicant_age, atleast: 18}\n",
     r"conditions\[2\].field.atleast: unknown test 'atleast'.*did you mean 'at_least'"),
    (VACCINATION_RULE + "  - field: {name: applicant_age, at_least: eighteen}\n",
     r"conditions\[2\].field.at_least: 'eighteen' is not a whole number"),
    (VACCINATION_RULE + "  - field: {name: applicant_kind, at_most: person}\n",
     r"at_most compares numbers; 'applicant_kind' is text: use equals or in"),
    (VACCINATION_RULE + "  - field: {name: applicant_region, in: 110105}\n",
     r"conditions\[2\].field.in: in takes a list"),
    (VACCINATION_RULE + "  - field: {name: applicant_age}\n",
     r"conditions\[2\].field: a field condition is \{name: FIELD, TEST: VALUE\}"),
])
def test_a_bad_rule_file_is_one_located_line(text, message):
    from process_models.auto_rules import parse_auto_rule
    from process_models.errors import ProcedureError

    with pytest.raises(ProcedureError, match=message):
        parse_auto_rule(text, file="vaccination.yaml")


# --- 秒批 over submitted fields and shared data ------------------------------------------------

ADULT_PERSON = VACCINATION_RULE + """  - field: {name: applicant_kind, equals: person}
  - field: {name: applicant_age, at_least: 18}
  - field: {name: applicant_region, in: ["110105", "110106"]}
"""


@hypothesis_settings(max_examples=60, deadline=None)
@given(age=st.integers(0, 120), limit=st.integers(0, 120), test=st.sampled_from(
    ["at_least", "at_most", "equals"]))
def test_a_field_test_compares_the_submitted_field_as_written(age, limit, test):
    """For every age and bound, the rule holds exactly when the comparison does."""
    from process_models.auto_rules import CaseFacts, parse_auto_rule

    rule = parse_auto_rule(VACCINATION_RULE.replace(
        "  - received: [mother_id]\n",
        f"  - field: {{name: applicant_age, {test}: {limit}}}\n"))
    expected = {"at_least": age >= limit, "at_most": age <= limit, "equals": age == limit}[test]
    assert rule.decides(CaseFacts(fields={"applicant_age": age})) is expected


@pytest.mark.parametrize(("applicant", "decided"), [
    (Applicant("张三", "11010519491231002X"), True),                 # 110105, 75 on 2025-01-24
    (Applicant("张小三", "110105201001010010"), False),              # a child: 15
    (Applicant("某某餐饮有限公司", "91110000802100433B", kind="enterprise",
               legal_representative="李四"), False),                # not a person, no age
])
def test_a_rule_over_submitted_fields_decides_only_the_cases_whose_fields_pass(
        session, applicant, decided):
    """The applicant's kind, age on the day received and region, read from the case as the
    window stored it (SQLite and PostgreSQL)."""
    from flows.casework import notification_list
    from flows.casework.auto_decisions import auto_decide
    from process_models.auto_rules import parse_auto_rule
    from process_models.catalog import load_catalog_procedure

    newborn = load_catalog_procedure("newborn")
    case = open_case(session, newborn, applicant,
                     [i.material_id for i in notification_list(newborn)], now=at(1, 24, 9))
    decision = auto_decide(session, case.id, parse_auto_rule(ADULT_PERSON), now=at(1, 24, 9))
    assert (decision is not None) is decided


def test_the_facts_of_a_case_are_its_fields_on_the_day_received_and_its_shared_materials(
        session):
    """A newborn case on a version where 户口簿 comes by 数据共享: the rule sees it as shared,
    the 75-year-old applicant from 110105, and no material owed."""
    from flows.casework import notification_list
    from flows.casework.auto_decisions import case_facts
    from process_models.catalog import catalog_path

    newborn = parse_procedure(catalog_path("newborn").read_text("utf-8").replace(
        "version: before-2023", "version: shared-2025").replace(
        "{id: household_book, name: 户口簿,", "{id: household_book, name: 户口簿, provider: 共享,"))
    case = open_case(session, newborn, APPLICANT,
                     [i.material_id for i in notification_list(newborn)], now=at(1, 24, 9))
    facts = case_facts(session, [case.id])[case.id]
    assert facts.shared == {"household_book"} and not facts.owed
    assert "household_book" not in facts.received
    assert facts.fields == {"applicant_kind": "person", "applicant_region": "110105",
                            "applicant_age": 75}


def test_a_rule_over_shared_data_decides_only_where_the_material_came_by_sharing(session):
    """The same rule, ``shared: [household_book]``: the case on the version that shares
    the 户口簿 is approved by the rule, the one whose applicant brought it is left to staff."""
    from flows.casework import notification_list
    from flows.casework.auto_decisions import auto_decide
    from process_models.auto_rules import parse_auto_rule
    from process_models.catalog import catalog_path, load_catalog_procedure

    rule = parse_auto_rule(VACCINATION_RULE + "  - shared: [household_book]\n")
    text = catalog_path("newborn").read_text("utf-8")
    shared = parse_procedure(text.replace("version: before-2023", "version: shared-2025")
                             .replace("{id: household_book, name: 户口簿,",
                                      "{id: household_book, name: 户口簿, provider: 共享,"))
    decided = []
    for proc in (shared, load_catalog_procedure("newborn")):
        case = open_case(session, proc, APPLICANT,
                         [i.material_id for i in notification_list(proc)], now=at(1, 24, 9))
        decided.append(auto_decide(session, case.id, rule, now=at(1, 24, 9)) is not None)
    assert decided == [True, False]
