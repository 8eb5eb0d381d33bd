"""The window as staff use it in the browser: search, current steps and colours, honest
messages, only the buttons a user may press, confirmations, duplicate warnings, the
documents of 行政许可法 第32条, 帮办代办, staff accounts and the demo accounts.

The pages run on the API's fixtures (``tests/api_fixtures.py``: a ``restaurant`` case, its
business licence pending for the samr clerk, the staff photo owed under 容缺).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.main import demo_accounts
from flows import casework
from flows.casework.definitions import window_procedure
from flows.casework.tables import AuditEvent, Case, CaseStep
from process_models.catalog import catalog_ids
from tests.api_fixtures import ID_NUMBER

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
MASKED = ID_NUMBER[:4] + "*" * 10 + ID_NUMBER[-4:]


@pytest.fixture
def login(page_login):
    return page_login


def csrf(page) -> str:
    return CSRF.search(page.text).group(1)


def post(browser: TestClient, page_path: str, action: str, data: dict):
    """Send a form of ``page_path`` (its CSRF token) to ``action``; the page it leads to."""
    return browser.post(action, data={**data, "csrf_token": csrf(browser.get(page_path))})


# --- search -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("identity", "query", "found"), [
    ("front_desk", "张三", True),
    ("front_desk", ID_NUMBER, True),
    ("front_desk", ID_NUMBER.lower(), True),
    ("front_desk", "李四", False),
    ("clerk", "张三", True),
    ("clerk", ID_NUMBER, False),          # a masked view cannot probe ID numbers
    ("other_clerk", "张三", True),         # cdc's step waits in the case: it is cdc's to see
])
def test_search_finds_cases_by_name_or_id_number_as_the_role_may(login, case_id, identity,
                                                                 query, found):
    page = login(identity).get("/search", params={"q": query})
    assert page.status_code == 200
    assert (f'data-case="{case_id}"' in page.text) is found
    if found and identity != "front_desk":
        assert ID_NUMBER not in page.text and MASKED in page.text


def test_search_by_case_number_shows_the_current_step_with_its_due_date(login, engine, case_id):
    page = login("front_desk").get("/search", params={"q": case_id})
    with Session(engine) as session:
        step = session.exec(select(CaseStep).where(CaseStep.case_id == case_id,
                                                   CaseStep.step_id == "business_licence")).one()
    assert 'data-step="business_licence"' in page.text
    assert f"环节期限 {step.due_date}" in page.text and "营业执照" in page.text


# --- board, inbox, overdue -----------------------------------------------------------------------------


def test_the_board_shows_each_cases_current_step(login, case_id):
    page = login("admin").get("/board")
    row = page.text[page.text.index(f'data-case="{case_id}"'):]
    assert 'class="current-step green" data-step="business_licence"' in row[:2000]


def test_the_inbox_colours_each_step(login, case_id):
    page = login("clerk").get("/inbox")
    assert f'data-case="{case_id}" data-step="business_licence" data-colour="green"' in page.text
    assert 'class="light green"' in page.text


def test_the_overdue_list_shows_the_late_step_with_its_own_due_date(login, engine, app):
    """A case opened 40 days ago: its first step is late, the case's own due date may not
    be; the list names the late step and its date."""
    from process_models.catalog import load_catalog_procedure
    from tests.api_fixtures import PROCEDURE_ID

    proc = load_catalog_procedure(PROCEDURE_ID)
    with Session(engine) as session:
        case = casework.open_case(
            session, proc, casework.Applicant("王五", ID_NUMBER),
            [i.material_id for i in casework.notification_list(proc)],
            now=datetime.now(UTC) - timedelta(days=40))
        step = session.exec(select(CaseStep).where(CaseStep.case_id == case.id,
                                                   CaseStep.step_id == "business_licence")).one()
    page = login("auditor").get("/auditor")
    row = page.text[page.text.index(f'data-case="{case.id}"'):]
    row = row[:row.index("</tr>")]
    assert 'data-step="business_licence" data-colour="red"' in row
    assert f"环节期限 {step.due_date}" in row
    csv = login("auditor").get("/auditor/overdue.csv").text
    assert f"business_licence:{step.due_date}" in csv


# --- honest messages, buttons, confirmations -------------------------------------------------------


def test_opening_without_key_material_says_awaiting_supplement_never_accepted(login):
    desk = login("front_desk")
    page = post(desk, "/desk?procedure_id=restaurant", "/desk/cases", {
        "procedure_id": "restaurant", "name": "赵六", "id_number": ID_NUMBER})
    assert "待补正" in page.text and "已受理" not in page.text.split("<main>")[1][:400]
    assert 'id="doc-supplement"' in page.text


def test_a_clerk_sees_approve_only_on_its_own_steps_that_need_nothing_owed(login, case_id,
                                                                          client, auth):
    samr, cdc = login("clerk"), login("other_clerk")
    assert 'class="approve" data-step="business_licence"' in samr.get(f"/cases/{case_id}").text
    assert 'button type="submit" class="approve"' not in cdc.get(f"/cases/{case_id}").text
    client.post(f"/api/cases/{case_id}/steps/business_licence/decision", headers=auth["clerk"],
                json={"outcome": "approve"})
    page = cdc.get(f"/cases/{case_id}").text
    assert 'button type="submit" class="approve"' not in page      # the staff photo is owed
    assert 'class="muted no-approve" data-step="health_certificate"' in page


def test_decisions_that_end_something_ask_for_confirmation(login, case_id):
    page = login("admin").get(f"/cases/{case_id}").text
    assert 'class="reject" data-confirm="确认不予许可' in page
    assert 'data-confirm="确认通过该事项' in page
    assert 'id="withdraw" data-confirm="确认撤回' in page
    assert '<script src="/static/window.js" defer></script>' in page
    assert login("admin").get("/static/window.js").status_code == 200


def test_a_second_open_case_for_the_same_applicant_and_item_is_warned_about(login, engine,
                                                                           case_id):
    desk = login("front_desk")
    form = {"procedure_id": "restaurant", "name": "张三", "id_number": ID_NUMBER,
            "submitted": []}
    warned = post(desk, "/desk?procedure_id=restaurant", "/desk/cases", form)
    assert 'id="duplicate-warning"' in warned.text and case_id in warned.text
    with Session(engine) as session:
        assert len(session.exec(select(Case)).all()) == 1
    opened = post(desk, "/desk?procedure_id=restaurant", "/desk/cases",
                  {**form, "confirm_duplicate": "true"})
    assert opened.status_code == 200 and 'id="duplicate-warning"' not in opened.text
    with Session(engine) as session:
        assert len(session.exec(select(Case)).all()) == 2


def test_the_desk_follows_the_chosen_item_without_pressing_choose(login):
    page = login("front_desk").get("/desk", params={"procedure_id": "restaurant"}).text
    assert '<select name="procedure_id" data-follow id="desk-procedure">' in page


# --- documents of 第32条, 帮办代办 ------------------------------------------------------------------------


def test_the_receipt_names_the_items_and_the_committed_date(login, engine, case_id):
    page = login("front_desk").get(f"/cases/{case_id}/documents/receipt")
    with Session(engine) as session:
        due = session.get(Case, case_id).due_date
    assert page.status_code == 200 and "受理通知书" in page.text
    assert f"承诺办结期限：{due}" in page.text and "第三十二条" in page.text
    assert 'id="doc-owed"' in page.text          # the staff photo, owed under 容缺


def test_the_supplement_notice_lists_what_to_bring_and_its_deadline(login, client, auth,
                                                                    case_id):
    from flows.casework.tables import stored_time
    from process_models.calendar import default_calendar

    client.post(f"/api/cases/{case_id}/steps/business_licence/decision", headers=auth["clerk"],
                json={"outcome": "supplement", "reason": "章程缺签字",
                      "materials": ["articles"]})
    page = login("front_desk").get(f"/cases/{case_id}/documents/supplement").text
    today = stored_time(datetime.now(UTC)).date()
    assert "补正材料告知书" in page and "章程缺签字" in page
    assert f"请于 {default_calendar().add_working_days(today, 30)} 前补正" in page


def test_a_document_the_case_does_not_have_is_one_line(login, case_id):
    page = login("front_desk").get(f"/cases/{case_id}/documents/supplement")
    assert page.status_code == 409 and "asks for no 补正 now" in page.text


def test_the_refusal_notice_carries_the_reason(login):
    page = login("front_desk").get("/desk/refusal", params={
        "procedure_id": "restaurant", "name": "孙七", "reason": "不属于本机关职权范围"})
    assert "不予受理通知书" in page.text and "不属于本机关职权范围" in page.text


def test_an_agent_recorded_at_the_window_shows_on_the_case_and_in_the_trail(login, engine,
                                                                           case_id):
    page = post(login("front_desk"), f"/cases/{case_id}", f"/cases/{case_id}/agent",
                {"agent": "王帮办", "authorisation": "委托书 2025-031"})
    assert "已记录帮办代办" in page.text and "王帮办" in page.text
    with Session(engine) as session:
        [event] = session.exec(select(AuditEvent).where(AuditEvent.kind == "agent_recorded")).all()
        assert event.payload["agent"] == "王帮办" and "张三" not in str(event.payload)
        assert casework.verify_chain(session).ok


# --- staff accounts --------------------------------------------------------------------------------


def test_only_an_admin_manages_accounts(login):
    assert login("front_desk").get("/admin/accounts").status_code == 403
    page = login("admin").get("/admin/accounts")
    assert page.status_code == 200 and 'data-user="samr_clerk"' in page.text


def test_an_admin_adds_a_clerk_sets_its_departments_and_disables_it(login, app):
    admin = login("admin")
    added = post(admin, "/admin/accounts", "/admin/accounts", {
        "username": "fire_clerk", "password": "long enough 8", "role": "clerk",
        "departments": ["fire"]})
    assert "已新增账号 fire_clerk" in added.text
    moved = post(admin, "/admin/accounts", "/admin/accounts/fire_clerk/departments",
                 {"departments": ["fire", "cdc"]})
    assert "已设置部门" in moved.text
    disabled = post(admin, "/admin/accounts", "/admin/accounts/fire_clerk/active",
                    {"active": "false"})
    assert 'data-user="fire_clerk" data-active="false"' in disabled.text
    browser = TestClient(app)
    answer = browser.post("/login", data={"username": "fire_clerk",
                                          "password": "long enough 8",
                                          "csrf_token": csrf(browser.get("/login"))},
                          follow_redirects=False)
    assert answer.status_code == 401


@pytest.mark.parametrize(("form", "message"), [
    ({"username": "x", "password": "short", "role": "clerk", "departments": ["fire"]},
     "shorter than 8 characters"),
    ({"username": "y", "password": "long enough 8", "role": "clerk"}, "at least one"),
    ({"username": "z", "password": "long enough 8", "role": "clerk",
      "departments": ["fyre"]}, "did you mean &#39;fire&#39;"),
])
def test_a_bad_account_comes_back_with_one_line(login, form, message):
    page = post(login("admin"), "/admin/accounts", "/admin/accounts", form)
    assert page.status_code == 422 and message in page.text


# --- the demo accounts --------------------------------------------------------------------------------


def test_the_demo_accounts_hold_a_clerk_for_every_department_the_window_needs():
    clerks = {d for _u, _p, role, departments in demo_accounts() if role == "clerk"
              for d in departments}
    needed = {s.department for pid in catalog_ids() for s in window_procedure(pid).applicant_steps}
    assert needed <= clerks


@pytest.mark.parametrize(("identity", "path", "title"), [
    ("front_desk", "/search?q=%E5%BC%A0", "Find cases"),
    ("front_desk", "/cases/{case_id}/documents/receipt", "Notice of acceptance"),
    ("front_desk", "/desk/refusal?name=Li&reason=elsewhere", "Notice of non-acceptance"),
    ("admin", "/admin/accounts", "Staff accounts"),
    ("admin", "/board", "Current step"),
])
def test_the_window_pages_speak_english_when_asked(login, case_id, identity, path, title):
    page = login(identity).get(path.format(case_id=case_id), params={"lang": "en"})
    assert page.status_code == 200 and title in page.text
    assert "受理通知书</a>" not in page.text and "案件查询" not in page.text

