"""The web pages: logging in, CSRF, roles, masking, the front desk, inbox, board, case page,
planner and auditor, in Chinese and English.

The pages call the same functions as the JSON routes, which ``tests/test_api.py`` runs on
SQLite and PostgreSQL; here SQLite is enough.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import Session, SQLModel, select

from api.i18n import MESSAGES, WORD_PARTS
from api.main import create_app
from api.page_kit import TEMPLATES_DIR
from api.security import hash_password
from api.waterfall import waterfall
from flows import casework
from flows.casework.accounts import add_user
from flows.casework.tables import Case, CaseStep, Submission
from process_models.catalog import catalog_ids, load_catalog_procedure
from process_models.provenance import sourced_count
from simulations.planning.scenario import LEVERS


@pytest.fixture
def engine(sqlite_engine):
    """A migrated, empty SQLite file (the JSON routes' tests cover PostgreSQL)."""
    return sqlite_engine


PASSWORD = "correct horse battery staple"
ID_NUMBER = "11010519491231002X"
PROCEDURE_ID = "utility_connection"
"""水电气网联合报装: power, water, gas, broadband one after another; one 容缺 material."""
DEFERRED_MATERIAL = "water_demand"
ACCOUNTS = {
    "front_desk": ("desk", "front_desk", []),
    "clerk": ("power_clerk", "clerk", ["power"]),
    "other_clerk": ("water_clerk", "clerk", ["water"]),
    "planner": ("planner", "planner", []),
    "auditor": ("auditor", "auditor", []),
    "supervisor": ("supervisor", "supervisor", []),
    "admin": ("admin", "admin", []),
}
"""Test identity → (username, role, departments)."""
MASKED_ID_NUMBER = ID_NUMBER[:4] + "*" * 10 + ID_NUMBER[-4:]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _csrf(page) -> str:
    return CSRF.search(page.text).group(1)


@pytest.fixture(scope="module")
def password_hash() -> str:
    """One argon2 hash of :data:`PASSWORD` (hashing is slow on purpose)."""
    return hash_password(PASSWORD)


@pytest.fixture
def app(engine):
    """The service without the outbox relay: the rows a test leaves pending stay so."""
    return create_app(engine, secret_key="pages-tests-" + "k" * 32, demo_accounts=False,
                      relay=False)


@pytest.fixture
def client(app, prefect_harness):
    """A TestClient (start-up migrations run), Prefect on the session's test harness."""
    with TestClient(app) as client:
        yield client


@pytest.fixture
def accounts(engine, client, password_hash) -> None:
    with Session(engine) as session:
        for username, role, departments in ACCOUNTS.values():
            add_user(session, username, password_hash=password_hash, role=role,
                     departments=departments, now=datetime.now(UTC))


def open_utility_case(engine) -> str:
    """An accepted case through the domain: the power step pending, ``water_demand`` owed."""
    proc = load_catalog_procedure(PROCEDURE_ID)
    materials = [i.material_id for i in casework.notification_list(proc)
                 if i.material_id != DEFERRED_MATERIAL]
    with Session(engine) as session:
        return casework.open_case(
            session, proc, casework.Applicant("张三", ID_NUMBER, address="北京市东城区",
                                              phone="13812345678"),
            materials, now=datetime.now(UTC)).id


@pytest.fixture
def case_id(engine, client) -> str:
    return open_utility_case(engine)


def snapshot(engine) -> dict[str, list[tuple]]:
    """Every row of every table, sorted: equal snapshots mean nothing changed."""
    with Session(engine) as session:
        return {table.name: sorted(map(tuple, session.execute(table.select()).all()), key=repr)
                for table in SQLModel.metadata.sorted_tables}


@pytest.fixture
def login(app, client, accounts):
    """Identity → a TestClient logged in to the pages as that account (its own cookies)."""

    def _login(identity: str) -> TestClient:
        browser = TestClient(app)
        form = browser.get("/login")
        answer = browser.post("/login", data={
            "username": ACCOUNTS[identity][0], "password": PASSWORD,
            "csrf_token": _csrf(form), "next": "/"}, follow_redirects=False)
        assert answer.status_code == 303, answer.text
        return browser

    return _login


def _step(engine, case_id: str, step_id: str) -> CaseStep:
    with Session(engine) as session:
        return session.exec(select(CaseStep).where(CaseStep.case_id == case_id,
                                                   CaseStep.step_id == step_id)).one()


# --- words ---------------------------------------------------------------------------------------


def test_every_language_has_the_same_keys():
    assert MESSAGES["zh"].keys() == MESSAGES["en"].keys()


@pytest.mark.parametrize("language", sorted(WORD_PARTS))
def test_each_key_is_defined_in_one_part_of_a_language_and_in_the_same_part_everywhere(language):
    """A key in two parts would be overwritten silently by the later one."""
    parts = WORD_PARTS[language]
    assert sum(len(part) for part in parts) == len(MESSAGES[language])
    assert [part.keys() for part in parts] == [part.keys() for part in WORD_PARTS["zh"]]


def test_every_key_a_template_uses_exists():
    """A template asking for a missing key would fail only on the page that shows it."""
    used = {key for path in Path(TEMPLATES_DIR).glob("*.html")
            for key in re.findall(r"t\['([^']+)'\]", path.read_text("utf-8"))}
    assert used, "the templates name their strings as t['key']"
    assert used - MESSAGES["zh"].keys() == set()


def test_pages_speak_chinese_until_the_visitor_switches_to_english(client):
    assert "登录" in client.get("/login").text
    english = client.get("/login?lang=en")
    assert "Log in" in english.text and "登录" not in english.text
    assert "Log in" in client.get("/login").text, "the cookie remembers the choice"
    assert "登录" in client.get("/login?lang=zh").text


# --- logging in and CSRF -----------------------------------------------------------------------


def test_a_visitor_who_is_not_logged_in_is_sent_to_the_login_page(client):
    answer = client.get("/board", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/board"


@pytest.mark.parametrize(("identity", "home"), [
    ("front_desk", "/desk"), ("clerk", "/inbox"), ("planner", "/planner"),
    ("auditor", "/auditor"), ("supervisor", "/board"), ("admin", "/board")])
def test_each_role_lands_on_its_own_page(app, client, accounts, identity, home):
    form = client.get("/login")
    answer = client.post("/login", data={"username": ACCOUNTS[identity][0], "password": PASSWORD,
                                         "csrf_token": _csrf(form)}, follow_redirects=False)
    assert answer.headers["location"] == home


def test_a_wrong_password_is_refused_on_the_login_page(client, accounts):
    form = client.get("/login")
    answer = client.post("/login", data={"username": "desk", "password": "wrong",
                                         "csrf_token": _csrf(form)})
    assert answer.status_code == 401
    assert "用户名或密码错误" in answer.text
    assert client.get("/desk", follow_redirects=False).status_code == 303


def test_logins_from_one_address_are_rate_limited(client, accounts):
    form = client.get("/login")
    for _ in range(5):
        client.post("/login", data={"username": "desk", "password": "wrong",
                                    "csrf_token": _csrf(form)})
    answer = client.post("/login", data={"username": "desk", "password": PASSWORD,
                                         "csrf_token": _csrf(form)})
    assert answer.status_code == 429
    assert "登录失败次数过多" in answer.text


def test_a_login_without_the_forms_csrf_token_is_refused_in_the_pages_language(client, accounts):
    client.get("/login")
    answer = client.post("/login", data={"username": "desk", "password": PASSWORD,
                                         "csrf_token": "forged"})
    assert answer.status_code == 403
    assert MESSAGES["zh"]["error.csrf"] in answer.text and "CSRF" not in answer.text


def test_every_form_of_every_page_carries_the_csrf_token(login, case_id):
    """Every POST form has the session's token (GET forms need none)."""
    pages = {"front_desk": ["/desk", f"/cases/{case_id}"], "clerk": ["/inbox", f"/cases/{case_id}"],
             "planner": ["/planner?lever=parallelise"]}
    for identity, paths in pages.items():
        browser = login(identity)
        for path in paths:
            text = browser.get(path).text
            forms = re.findall(r"<form[^>]*method=\"post\".*?</form>", text, flags=re.DOTALL)
            assert len(forms) >= 2, path  # the page's own form and logging out
            for form in forms:
                assert f'name="csrf_token" value="{_csrf(browser.get(path))}"' in form, path


def test_a_decision_without_the_csrf_token_changes_nothing_and_says_so_in_chinese(
        engine, login, case_id):
    """A stale form comes back to its page with the reason in the page's language."""
    browser = login("clerk")
    before = snapshot(engine)
    answer = browser.post(f"/cases/{case_id}/steps/power_connection/decision",
                          data={"outcome": "approve", "csrf_token": "stale"})
    assert answer.status_code == 200 and MESSAGES["zh"]["error.csrf"] in answer.text
    assert snapshot(engine) == before


# --- roles and personal data --------------------------------------------------------------------


@pytest.mark.parametrize(("identity", "path"), [
    ("planner", "/board"), ("planner", "/desk"), ("planner", "/inbox"),
    ("auditor", "/desk"), ("auditor", "/inbox"), ("clerk", "/desk"), ("clerk", "/planner"),
    ("clerk", "/planner/advice"), ("front_desk", "/auditor"), ("front_desk", "/planner"),
    ("front_desk", "/inbox")])
def test_a_page_of_another_role_answers_403(login, identity, path):
    answer = login(identity).get(path)
    assert answer.status_code == 403
    assert "may not do" in answer.text


def test_a_planner_cannot_open_a_case_page(login, case_id):
    answer = login("planner").get(f"/cases/{case_id}")
    assert answer.status_code == 403
    assert "张三" not in answer.text


@pytest.mark.parametrize(("identity", "shows_full"), [
    ("front_desk", True), ("admin", True), ("clerk", False), ("auditor", False)])
def test_the_case_page_masks_the_applicant_like_the_api(login, case_id, identity, shows_full):
    text = login(identity).get(f"/cases/{case_id}").text
    assert "张三" in text
    assert (ID_NUMBER in text) is shows_full
    assert (MASKED_ID_NUMBER in text) is not shows_full
    assert ("北京市东城区" in text) is shows_full, "clerks and auditors never see the address"
    assert ("13812345678" in text) is shows_full


@pytest.mark.parametrize("path", ["/board", "/inbox", "/auditor", "/auditor/overdue.csv"])
def test_lists_show_a_clerk_only_masked_id_numbers(login, case_id, path):
    identity = "auditor" if path.startswith("/auditor") else "clerk"
    text = login(identity).get(path).text
    assert ID_NUMBER not in text


def test_a_clerk_cannot_see_a_case_without_a_step_of_its_department(engine, login, accounts):
    other = open_utility_case(engine)
    with Session(engine) as session:
        for step in session.exec(select(CaseStep).where(CaseStep.case_id == other)):
            step.department_id = "gas"
            session.add(step)
        session.commit()
    answer = login("clerk").get(f"/cases/{other}")
    assert answer.status_code == 404  # the same answer as for a case that does not exist
    assert "张三" not in answer.text


# --- front desk --------------------------------------------------------------------------------


def test_the_notification_list_lists_every_material_once_with_deferrable_ones_marked(login):
    """The window's 一次性告知单 is the reformed bundle's: shared data is not asked for."""
    text = login("front_desk").get("/desk/notice/newborn").text
    for name in ("申请表", "母亲银行卡"):
        assert text.count(f"<td>{name}</td>") == 1, name
    assert "母亲身份证" not in text
    assert text.count("容缺（可后补）") == 1
    assert "window.print()" in text and "@media print" in (
        Path(TEMPLATES_DIR).parent / "static" / "onething.css").read_text("utf-8")


def test_the_front_desk_opens_a_case_with_deferred_materials_and_records_them(engine, login):
    browser = login("front_desk")
    desk = browser.get("/desk?procedure_id=utility_connection")
    form = {"procedure_id": "utility_connection", "name": "李四", "id_number": ID_NUMBER,
            "csrf_token": _csrf(desk),
            "submitted": [m for m in re.findall(r'name="submitted" value="([^"]+)"', desk.text)
                          if m != DEFERRED_MATERIAL]}
    page = browser.post("/desk/cases", data=form)
    assert page.status_code == 200
    case_id = re.search(r"C-\d{8}-\d{4}", str(page.url)).group(0)
    assert "已受理，案件编号" in page.text
    assert f'data-material="{DEFERRED_MATERIAL}" data-status="deferred"' in page.text
    assert "容缺（待补交）" in page.text
    page = browser.post(f"/cases/{case_id}/materials", data={
        "material_ids": [DEFERRED_MATERIAL], "csrf_token": _csrf(page)})
    assert "材料已登记" in page.text
    with Session(engine) as session:
        row = session.exec(select(Submission).where(
            Submission.case_id == case_id, Submission.material_id == DEFERRED_MATERIAL)).one()
    assert row.status == "received"


def test_a_bad_id_number_comes_back_to_the_form_with_the_domains_message(engine, login):
    browser = login("front_desk")
    desk = browser.get("/desk?procedure_id=utility_connection")
    answer = browser.post("/desk/cases", data={
        "procedure_id": "utility_connection", "name": "李四", "id_number": "110105194912310021",
        "csrf_token": _csrf(desk)})
    assert answer.status_code == 422
    assert "fails its checksum" in answer.text
    assert 'value="李四"' in answer.text, "what the clerk typed stays in the form"
    with Session(engine) as session:
        assert session.exec(select(Case)).all() == []


# --- inbox, decisions, board ----------------------------------------------------------------------


def test_the_inbox_lists_my_pending_steps_and_approves_one(engine, login, case_id):
    browser = login("clerk")
    inbox = browser.get("/inbox")
    assert f'data-case="{case_id}" data-step="power_connection"' in inbox.text
    page = browser.post(f"/cases/{case_id}/steps/power_connection/decision", data={
        "outcome": "approve", "back": "/inbox", "csrf_token": _csrf(inbox),
        "expected_version": _step(engine, case_id, "power_connection").version})
    assert str(page.url).endswith("/inbox")
    assert "审批意见已提交" in page.text
    assert _step(engine, case_id, "power_connection").status == "approved"


def test_the_inbox_is_sorted_by_due_date(engine, login, case_id):
    later = open_utility_case(engine)
    with Session(engine) as session:
        first = session.exec(select(CaseStep).where(CaseStep.case_id == later,
                                                    CaseStep.step_id == "power_connection")).one()
        first.due_date = first.due_date.replace(year=first.due_date.year - 1)
        session.add(first)
        session.commit()
    text = login("clerk").get("/inbox").text
    assert text.index(f'data-case="{later}"') < text.index(f'data-case="{case_id}"')


def test_a_clerk_deciding_another_departments_step_is_refused_on_the_page(engine, login,
                                                                          case_id):
    """The water clerk sees the case (it has a water step) but not the power decision."""
    browser = login("other_clerk")
    page = browser.get(f"/cases/{case_id}")
    before = snapshot(engine)
    page = browser.post(f"/cases/{case_id}/steps/power_connection/decision", data={
        "outcome": "approve", "csrf_token": _csrf(page)})
    assert "操作被拒绝" in page.text
    assert "belongs to department 'power'" in html.unescape(page.text)
    assert snapshot(engine) == before


def test_reject_needs_a_reason_and_the_page_says_so(engine, login, case_id):
    browser = login("clerk")
    page = browser.get(f"/cases/{case_id}")
    page = browser.post(f"/cases/{case_id}/steps/power_connection/decision", data={
        "outcome": "reject", "csrf_token": _csrf(page)})
    assert "reason" in page.text
    assert _step(engine, case_id, "power_connection").status == "pending"


def test_the_board_counts_each_colour_and_filters_by_department(login, case_id):
    browser = login("admin")
    board = browser.get("/board").text
    assert f'data-case="{case_id}" data-colour="green"' in board
    assert re.search(r'data-colour="green">.*?<strong>1</strong>', board)
    assert case_id not in browser.get("/board?department_id=nobody").text
    assert case_id in browser.get("/board?department_id=water").text
    assert case_id not in browser.get("/board?colour=red").text


def freeze(engine, case_id: str) -> None:
    """What an older release let a 补正 with no material do: the step paused, nothing owed."""
    from sqlalchemy import text

    with engine.begin() as connection:
        connection.execute(text("UPDATE case_step SET status = 'supplement', paused_on = "
                                "date(started_at) WHERE case_id = :c AND status = 'pending'"),
                           {"c": case_id})


def test_a_stuck_case_shows_on_the_board_and_an_admin_resumes_it_from_the_case_page(
        engine, login, case_id):
    """卡住 · 需处理 on the board and the case page; only an admin gets the resume form."""
    freeze(engine, case_id)
    board = login("admin").get("/board").text
    assert 'data-stuck="power_connection">卡住 · 需处理 · 恢复办理' in board
    assert "卡住 · 需处理</a>" in login("front_desk").get("/board").text
    assert "/resume" not in login("clerk").get(f"/cases/{case_id}").text
    admin = login("admin")
    page = admin.get(f"/cases/{case_id}")
    assert 'data-stuck="power_connection"' in page.text
    page = admin.post(f"/cases/{case_id}/steps/power_connection/resume",
                      data={"reason": "补正未列材料，恢复办理", "csrf_token": _csrf(page)})
    assert "步骤已恢复办理" in page.text and "管理员恢复办理" in page.text
    assert _step(engine, case_id, "power_connection").status == "pending"
    assert "卡住" not in admin.get("/board").text


def test_a_clerk_cannot_resume_a_step_even_by_posting_the_form(engine, login, case_id):
    freeze(engine, case_id)
    browser = login("clerk")
    page = browser.get(f"/cases/{case_id}")
    answer = browser.post(f"/cases/{case_id}/steps/power_connection/resume",
                          data={"reason": "x", "csrf_token": _csrf(page)})
    assert answer.status_code == 403
    assert _step(engine, case_id, "power_connection").status == "supplement"


def test_the_window_withdraws_a_case_in_the_browser_with_a_reason(engine, login, case_id):
    browser = login("front_desk")
    page = browser.get(f"/cases/{case_id}")
    assert 'id="withdraw"' in page.text and "撤回申请" in page.text
    refused = browser.post(f"/cases/{case_id}/withdraw", data={"csrf_token": _csrf(page)})
    assert "操作被拒绝" in refused.text and "reason" in refused.text
    page = browser.post(f"/cases/{case_id}/withdraw",
                        data={"reason": "申请人不再办理", "csrf_token": _csrf(refused)})
    assert "案件已撤回" in page.text and 'data-status="withdrawn"' in page.text
    assert 'id="withdraw"' not in page.text


def test_a_supplement_request_with_no_material_ticked_is_refused_on_the_page(
        engine, login, case_id):
    browser = login("clerk")
    page = browser.get(f"/cases/{case_id}")
    page = browser.post(f"/cases/{case_id}/steps/power_connection/decision", data={
        "outcome": "supplement", "reason": "照片不清晰", "csrf_token": _csrf(page)})
    assert "补正 (supplement) request names no material" in page.text
    assert _step(engine, case_id, "power_connection").status == "pending"


def test_the_desk_names_the_version_it_opens(login):
    page = login("front_desk").get(f"/desk?procedure_id={PROCEDURE_ID}").text
    version = casework.window_procedure(PROCEDURE_ID).version
    assert f'<small id="desk-version">版本 {version}</small>' in page


# --- planner and auditor ----------------------------------------------------------------------


@pytest.fixture
def fresh_advice(monkeypatch):
    """The advisor's rankings as if none had been computed in this process yet."""
    from api import planner_page
    from process_models._memo import MEMO_CHARS, TextMemo

    monkeypatch.setattr(planner_page, "_advice",
                        TextMemo(planner_page._advice.__wrapped__, MEMO_CHARS))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_planner_shows_before_after_the_gantt_chart_and_the_advice_once_computed(
        login, fresh_advice, lang):
    """The page does not wait for the advisor (seconds on a large procedure): its box
    fetches the ranking after load (a link to its own page without script); once computed,
    the page shows it itself."""
    browser = login("planner")
    planner = f"/planner?procedure_id=newborn&lever=parallelise&lang={lang}"
    text = browser.get(planner).text
    assert re.search(r'data-metric="elapsed_working_days"><td>[^<]+</td>'
                     r'<td class="num">32.0</td><td class="num">(\d+\.\d)</td>', text)
    assert "<svg" in text and MESSAGES[lang]["lever.parallelise"] in text
    assert 'id="advice"' not in text
    assert ('<div id="advice-box" data-fragment="/planner/advice?procedure_id=newborn"'
            in text)
    fragment = browser.get("/planner/advice?procedure_id=newborn",
                           headers={"X-Fragment": "1"}).text
    assert fragment.lstrip().startswith('<table class="advice" id="advice">')
    assert MESSAGES[lang]["lever.parallelise"] in fragment
    own_page = browser.get("/planner/advice?procedure_id=newborn").text
    assert MESSAGES[lang]["planner.back"] in own_page and 'id="advice"' in own_page
    assert 'id="advice"' in browser.get(planner).text


def test_the_advice_of_an_unknown_procedure_is_one_line_on_its_page(login):
    answer = login("planner").get("/planner/advice?procedure_id=newbron")
    assert answer.status_code == 404
    assert "newbron" in answer.text and "newborn" in answer.text


@pytest.mark.parametrize("procedure_id", catalog_ids())
def test_the_planner_states_the_same_figures_as_simulate_and_reform(login, procedure_id):
    """The planner page's before/after table shows, for every catalog procedure and its
    catalog reform, the figures ``measure`` gives (``simulate``, ``reform``, ``show``)."""
    from simulations.planning.metrics import measure
    from simulations.planning.scenario import apply_scenario, catalog_scenario_path, load_scenario

    before = load_catalog_procedure(procedure_id)
    after, _ = apply_scenario(before, load_scenario(catalog_scenario_path(procedure_id)))
    text = login("planner").get(f"/planner?procedure_id={procedure_id}").text
    shown = {m: (float(b), float(a)) for m, b, a in re.findall(
        r'data-metric="(\w+)"><td>[^<]*</td><td class="num">([\d.]+)</td>'
        r'<td class="num">([\d.]+)</td>', text)}
    expected = {m: (getattr(measure(before), m), getattr(measure(after), m)) for m in shown}
    assert shown and all(shown[m] == pytest.approx(expected[m], abs=0.051) for m in shown), (
        shown, expected)


@pytest.mark.parametrize(("lang", "words"), [
    ("zh", ["有来源的承诺时限 2/9 (22%)", "汕头 出生医学证明", "估计"]),
    ("en", ["sourced committed limits 2/9 (22%)", "estimate"])])
def test_the_planner_shows_the_basis_of_each_limit_and_the_sourced_share(login, lang, words):
    """Each before limit and trip count carries its basis (unsourced ones marked †) and
    source, and the page states how many committed limits are sourced before and after."""
    text = login("planner").get(f"/planner?procedure_id=newborn&lang={lang}").text
    assert 'id="basis"' in text and "<sup" in text and 'id="sourced"' in text
    assert all(w in text for w in words)


WATERFALL_ROW = re.compile(
    r'<li class="(before|lever|after)[^"]*" data-lever="(\w+)">\s*<span class="what">([^<]+)'
    r'</span>.*?<span class="days">([^<]+)</span>\s*<small class="basis">([^<]*)</small>',
    re.DOTALL)
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]+")


def _section(text: str, element_id: str) -> str:
    """The element with ``element_id`` up to its closing tag, tags and entities removed."""
    start = text.index(f'id="{element_id}"')
    tag = text[text.rindex("<", 0, start) + 1:start].split()[0]
    return html.unescape(re.sub(r"<[^>]+>", " ", text[start:text.index(f"</{tag}>", start)]))


def _names(*procs) -> set[str]:
    return {x.name for p in procs for x in (p, *p.steps, *p.departments, *p.materials)}


@given(before=st.floats(0, 1000), savings=st.lists(st.tuples(
    st.sampled_from(sorted(LEVERS)), st.floats(-50, 50)), unique_by=lambda x: x[0]))
def test_the_waterfall_bars_add_up_and_fit_the_chart_for_any_attribution(before, savings):
    """Whatever the levers save (or cost), each lever's bar joins the level before it to the
    level after it, the last bar is before − the savings, and every bar fits the chart."""
    rows = waterfall(before, dict(savings))
    assert [r.kind for r in rows] == ["before", *["lever"] * len(savings), "after"]
    level = before
    for row, (_, saved) in zip(rows[1:-1], savings, strict=True):
        assert (row.low, row.high) == (min(level, level - saved), max(level, level - saved))
        assert row.days == 0.0 - saved
        level -= saved
    assert rows[-1].days == level
    top = max(r.high for r in rows)
    assert all(0 <= r.left_percent(top) and r.left_percent(top) + r.width_percent(top) <= 100.01
               for r in rows if r.low >= 0)


@pytest.mark.parametrize("procedure_id", catalog_ids())
def test_the_waterfall_runs_from_before_through_each_lever_kind_to_after(login, procedure_id):
    """The waterfall shows the elapsed days before, each lever kind's change in the order
    the catalog scenario applies it (``reform --json``'s attribution, Chinese labels), and
    the days after; the steps add up to the total exactly."""
    from simulations.planning.scenario import catalog_reform

    result = catalog_reform(procedure_id)
    rows = WATERFALL_ROW.findall(login("planner").get(f"/planner?procedure_id={procedure_id}").text)
    elapsed = result.comparison.elapsed_working_days
    assert [(kind, lever) for kind, lever, *_ in rows] == [
        ("before", "before"), *(("lever", x) for x in result.attribution), ("after", "after")]
    days = [float(d) for *_, d, _ in rows]
    shown = pytest.approx  # the page shows working days to two decimals
    assert days[0] == shown(elapsed.before, abs=0.005) and days[-1] == shown(elapsed.after, abs=0.005)
    assert days[0] + sum(days[1:-1]) == pytest.approx(days[-1], abs=1e-9)
    assert [what for _, lever, what, *_ in rows[1:-1]] == [
        MESSAGES["zh"][f"lever.{x}"] for x in result.attribution]


def test_a_target_lever_in_the_waterfall_is_marked_with_its_source_not_as_a_result(login):
    """企业开办's 压缩时限 sets the limits 国办发〔2018〕32号 commits to: its bar says it is a
    target with that source; the mechanism levers say they are computed."""
    text = login("planner").get("/planner?procedure_id=enterprise_startup").text
    basis = {lever: why for _, lever, _, _, why in WATERFALL_ROW.findall(text)}
    assert basis["compress"].startswith("目标值（有来源：国办发〔2018〕32号")
    assert basis["compress"].endswith("），不是计算结果")
    assert basis["parallelise"] == "机制计算"
    assert basis["before"] == "按承诺时限计，依据见下表"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_planner_lays_the_reformed_steps_backwards_from_a_date(login, lang):
    """倒排审批日期: with "须在此日前办结" the page gives each step of the reformed procedure
    by name with its latest start and finish, and the latest acceptance dates before and
    after: those of ``backward_schedule``, the function behind ``simulate --finish-by``."""
    from datetime import date

    from simulations.planning.cpm import backward_schedule
    from simulations.planning.scenario import catalog_reform

    result = catalog_reform("construction_permit")
    due = date(2025, 12, 31)
    text = login("planner").get("/planner?procedure_id=construction_permit"
                                f"&finish_by={due}&lang={lang}").text
    after, before = backward_schedule(result.after, due), backward_schedule(result.before, due)
    names = {s.id: s.name_en or s.name if lang == "en" else s.name for s in result.after.steps}
    shown = re.findall(r"<tr><td>([^<]+)</td><td class=\"num\">([\d-]+)</td>"
                       r"<td class=\"num\">([\d-]+)</td></tr>", text[text.index('id="backward"'):])
    assert sorted(shown) == sorted((html.escape(names[sid]), str(a), str(b))
                                   for sid, (a, b) in after.dates.items())
    line = _section(text, "accept-by")
    assert str(after.accept_by) in line and str(before.accept_by) in line
    assert bool(CJK.search(line)) is (lang == "zh")
    assert (MESSAGES[lang]["planner.backward"] in text) and (
        f'name="finish_by" value="{due}"' in text)
    assert not {sid for sid in after.dates if sid != names[sid]} & set(re.findall(
        r"[\w+-]+", _section(text, "backward")))


@pytest.mark.parametrize(("finish_by", "note"), [
    ("2025-12-31", None), ("2031-06-30", "2031 年没有官方节假日数据：这些年份只按周末计休息日")])
def test_years_without_official_holidays_are_named_under_the_latest_dates(login, finish_by,
                                                                          note):
    """Laid back from a date in a year without official holidays, the page says that only
    weekends count as rest days there; within the official years it says nothing."""
    text = login("planner").get(f"/planner?procedure_id=newborn&finish_by={finish_by}").text
    assert 'id="backward"' in text
    assert (note in text) if note else 'id="no-holidays"' not in text


@pytest.mark.parametrize("finish_by", ["2025-02-30", "31.12.2025", "9999-12-31"])
def test_a_bad_finish_by_date_is_one_line_on_the_page(login, finish_by):
    """A date that is no date, or one the calendar cannot count back from, answers 422 with
    the domain's one line, never a 500."""
    answer = login("planner").get(f"/planner?procedure_id=newborn&finish_by={finish_by}")
    assert answer.status_code == 422
    assert re.search(r"不是日期；请写成 YYYY-MM-DD|is outside 1–9999", answer.text)


@pytest.mark.parametrize(("lang", "sentence"), [
    ("zh", "惯例依赖（法律未要求）取消，两步并行办理"),
    ("en", "practice dependency (not required by law) dropped; the steps run side by side")])
def test_the_change_log_speaks_the_page_language_and_names_the_steps(login, lang, sentence):
    """What each lever changed is a sentence in the page's language naming the steps, never
    their ids; in English no Chinese is left but in names."""
    newborn = load_catalog_procedure("newborn")
    text = login("planner").get(f"/planner?procedure_id=newborn&lever=parallelise"
                                f"&lever=one_window&lang={lang}").text
    changes = _section(text, "changes")
    assert sentence in changes
    assert not {s.id for s in newborn.steps} & set(re.findall(r"[\w+-]+", changes))
    if lang == "en":
        names = {s.name_en or s.name for s in newborn.steps} | {"综合窗口"}
        for element_id in ("changes", "waterfall", "before-after"):
            assert not {run for run in CJK.findall(_section(text, element_id))
                        if not any(run in name for name in names)}, element_id


@pytest.mark.parametrize(("lang", "note", "other"), [
    ("zh", "33号 — 规划选址与用地预审合并为一个意见", "merged into one opinion"),
    ("en", "33号 — 规划选址 and 用地预审 merged into one opinion", "合并为一个意见")])
def test_a_reform_note_is_in_the_page_language(login, lang, note, other):
    """The catalog reform's notes read Chinese on the Chinese page; ``note_en`` is shown in
    English."""
    text = login("planner").get("/planner?procedure_id=construction_permit"
                                f"&scenario=construction_permit&lang={lang}").text
    changes = _section(text, "changes")
    assert note in changes and other not in changes


@pytest.mark.parametrize(("lang", "notes", "others"), [
    ("zh", ["招牌显示登记名称，因此须待营业执照核发后办理（估计）",
            "法定时限：行政许可法规定的一般期限"], ["the sign shows", "default"]),
    ("en", [("the sign shows the registered name, so it waits for the business licence "
             "(estimate)"), "Statutory limit: the 行政许可法 default"],
     ["招牌显示登记名称", "一般期限"])])
def test_a_procedure_note_is_in_the_page_language(login, lang, notes, others):
    """The basis table shows each step's notes (its own, then its limits') in Chinese on the
    Chinese page and their ``note_en`` on the English one."""
    text = login("planner").get(f"/planner?procedure_id=restaurant&lang={lang}").text
    basis = _section(text, "basis")
    assert all(note in basis for note in notes)
    assert not any(other in basis for other in others)


@pytest.mark.parametrize(("lang", "source", "other"), [
    ("zh", "汝州 出生登记", "当场办理 for children under 6"),
    ("en", "汝州 出生登记: 当场办理 for children under 6; materials", "6 周岁以下")])
def test_a_limits_source_is_in_the_page_language(login, lang, source, other):
    """The basis table names a limit's source by its Chinese title on the Chinese page and
    by the cited source's ``title_en`` on the English one."""
    text = login("planner").get(f"/planner?procedure_id=newborn&lang={lang}").text
    basis = _section(text, "basis")
    assert source in basis and other not in basis


def test_an_uploaded_scenario_is_simulated_and_a_bad_one_answers_one_line(login):
    """A scenario with a misspelt lever is refused in the page's language, with the lever
    it may mean."""
    browser = login("planner")
    page = browser.get("/planner")
    scenario = "procedure: newborn\nlevers:\n- lever: online\n"
    text = browser.post("/planner", data={"procedure_id": "newborn", "csrf_token": _csrf(page)},
                        files={"scenario": ("s.yaml", scenario.encode())}).text
    assert re.search(r'data-metric="trips"><td>[^<]+</td><td class="num">4</td>'
                     r'<td class="num">0</td>', text)
    typo = b"procedure: newborn\nlevers:\n- lever: onlin\n"
    for lang, start, hint in (("zh", "scenario.yaml 第 3 行：levers[0].lever：没有举措 'onlin'",
                               "（是不是「online」？）"),
                              ("en", "scenario.yaml:3: levers[0].lever: unknown lever 'onlin'",
                               " (did you mean 'online'?)")):
        bad = browser.post(f"/planner?lang={lang}",
                           data={"procedure_id": "newborn", "csrf_token": _csrf(page)},
                           files={"scenario": ("s.yaml", typo)})
        assert bad.status_code == 422
        assert re.search(re.escape(start) + "[^<]*" + re.escape(hint), html.unescape(bad.text))


def test_an_applicant_named_like_a_formula_is_text_in_the_overdue_csv(engine, login):
    """A name such as ``=HYPERLINK(...)`` reaches the auditor's spreadsheet as text, not a
    formula that runs when the file is opened."""
    import csv

    proc = load_catalog_procedure(PROCEDURE_ID)
    materials = [i.material_id for i in casework.notification_list(proc)]
    with Session(engine) as session:
        casework.open_case(session, proc, casework.Applicant('=HYPERLINK("http://x","张三")',
                                                             ID_NUMBER),
                           materials, now=datetime(2024, 1, 2, 9, tzinfo=UTC))
    text = login("auditor").get("/auditor/overdue.csv").text.lstrip("\ufeff")
    names = [row[5] for row in csv.reader(text.splitlines())][1:]
    assert names == ['\'=HYPERLINK("http://x","张三")']


def test_the_auditor_page_has_the_portfolio_and_both_csv_downloads(login):
    browser = login("auditor")
    text = browser.get("/auditor").text
    assert 'data-procedure="newborn"' in text
    sourced, limits = sourced_count(load_catalog_procedure(p) for p in catalog_ids())
    assert f'有来源的承诺时限 {sourced}/{limits}' in text.split('id="sourced">', 1)[1].split("<", 1)[0]
    report = browser.get("/auditor/report.csv")
    assert report.headers["content-type"].startswith("text/csv")
    assert "newborn" in report.text or "新生儿" in report.text
    overdue = browser.get("/auditor/overdue.csv")
    assert overdue.text.lstrip("\ufeff").startswith("case_id,procedure_id,status")


@pytest.mark.parametrize(("lang", "words"), [
    ("zh", ["合成数据：示范县", "27家行政部门共认领录入政务服务事项1038项", "按部门", "县公安局"]),
    ("en", ["Synthetic data", "27 departments claimed 1038 items", "by department"])])
def test_the_county_page_shows_the_binxian_report_marked_synthetic(login, lang, words):
    """/county (linked from /auditor): the headline, the basis line and the department and
    level tables of the demo county, labelled synthetic in the visitor's language."""
    browser = login("auditor")
    assert 'href="/county"' in browser.get("/auditor").text
    text = browser.get(f"/county?lang={lang}").text
    assert all(word in text for word in words), text[:2000]


def test_the_county_page_is_for_planners_and_auditors_only(login):
    """The front desk may not read the county report."""
    assert login("front_desk").get("/county").status_code == 403


def test_the_board_shows_the_notices_on_red_steps_and_a_clerk_only_its_own(engine, login,
                                                                          case_id):
    """督办 on the board: a sweep long after the due dates issues a red notice per pending
    step; the supervisor sees every one, a clerk those of its departments."""
    from datetime import UTC, datetime, timedelta

    from sqlmodel import Session, select

    from flows.casework import sweep
    from flows.casework.tables import SupervisionNotice

    with Session(engine) as session:
        sweep(session, now=datetime.now(UTC) + timedelta(days=90))
        departments = {n.department_id for n in session.exec(select(SupervisionNotice))}
    board = login("supervisor").get("/board").text
    assert "<h2>督办</h2>" in board and board.count('class="notice red"') == len(departments)
    assert 'data-state="open"' in board
    assert departments == {"power"}   # the first step; the others wait for it
    assert login("clerk").get("/board").text.count('class="notice red"') == 1
    assert 'class="notice' not in login("other_clerk").get("/board").text
