"""The pages in a real browser: Debian's chromium driven by Playwright, the service on uvicorn.

One 企业开办 (``enterprise_startup``, the reformed bundle the window runs) case from the
window to its certificates: the front desk prints the 一次性告知单 and opens the case (a
material under 容缺, recorded afterwards), every department's clerk approves its step from
the inbox, the board shows the case green and then closed, the case page lists the
certificates; a clerk of another department is shown no button for a step not its own.
The window as staff tried it: the desk follows the chosen item, 待补正 is said as such with
its 补正告知书, a second case for the same applicant is warned about, search by ID number,
the current step on the board, a confirmed 不予许可 that ends only what depends on it, the
certificate's QR code and its public check, the accounts page. The planner page shows
where a reform's saved days come from and the steps laid backwards from a date, at 1280 px
and on a 390 px phone. Screenshots (and the printed list as PDF) go to
``tests/artifacts/``.
material under 容缺, recorded afterwards), every
department's clerk approves its step from the inbox, the board shows the case green and then
closed, the case page lists the certificates; a clerk trying another department's step is
refused on the page. The planner page shows where a reform's saved days come from and the
steps laid backwards from a date, at 1280 px and on a 390 px phone. A planner brings a step
table to the workbench and leaves with a Word report. Screenshots (and the printed list as
PDF) go to ``tests/artifacts/``.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
import shutil
import socket
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select

from api.security import hash_password
from flows.casework import window_procedure
from flows.casework.accounts import add_user
from flows.casework.tables import Case, Certificate

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts" / "browser"
PASSWORD = "browser-tests-password"
ID_NUMBER = "11010519491231002X"
MASKED_ID_NUMBER = "1101**********002X"
STARTUP = window_procedure("enterprise_startup")
DEFERRED = ["employee_list"]
"""The bundle's non-key material: the applicant brings it later (容缺)."""
TIMEOUT_MS = 90_000

BROWSER_MARKS = [pytest.mark.slow,
                 pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is missing: "
                                    "`make system-deps` or `apt-get install -y chromium`")]
"""What every browser test file is marked with (``pytestmark = BROWSER_MARKS``)."""

pytestmark = BROWSER_MARKS


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def engine(tmp_path_factory, sqlite_template):
    """A migrated SQLite file with the front desk, an admin, a planner and one clerk per
    department of the bundle."""
    from flows.casework.store import make_engine

    path = tmp_path_factory.mktemp("browser") / "onething.db"
    shutil.copyfile(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    password_hash = hash_password(PASSWORD)
    with Session(engine) as session:
        add_user(session, "desk", password_hash=password_hash, role="front_desk",
                 now=datetime.now(UTC))
        add_user(session, "admin", password_hash=password_hash, role="admin",
                 now=datetime.now(UTC))
        add_user(session, "planner", password_hash=password_hash, role="planner",
                 now=datetime.now(UTC))
        for department in STARTUP.departments:
            if any(step.department == department.id for step in STARTUP.steps):
                add_user(session, f"{department.id}_clerk", password_hash=password_hash,
                         role="clerk", departments=[department.id], now=datetime.now(UTC))
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def base_url(engine, prefect_harness):
    """The service on uvicorn (:func:`serve`)."""
    from api.main import create_app

    with serve(create_app(engine, secret_key="browser-tests-" + "k" * 32,
                          demo_accounts=False, relay=False)) as url:
        yield url


@contextlib.contextmanager
def serve(app):
    """``app`` on uvicorn at 127.0.0.1 and a free port, in a thread of this process (with
    this context, so its flows run on the session's Prefect harness); its base URL."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=contextvars.copy_context().run, args=(server.run,),
                              daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def log_in(browser, base_url):
    """Username → a page of its own browser context, logged in."""
    pages = {}

    def _log_in(username: str):
        if username not in pages:
            context = browser.new_context(base_url=base_url, locale="zh-CN",
                                          viewport={"width": 1280, "height": 900})
            context.set_default_timeout(TIMEOUT_MS)
            page = context.new_page()
            page.on("dialog", lambda dialog: dialog.accept())   # the confirmations: yes
            page.goto("/login")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_load_state()
            assert "/login" not in page.url, page.content()
            pages[username] = page
        return pages[username]

    yield _log_in
    for page in pages.values():
        page.context.close()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _flash(page) -> str:
    return page.locator(".flash").first.inner_text()


def test_an_enterprise_startup_case_runs_from_the_window_to_its_certificates(engine, log_in):
    desk = log_in("desk")

    # The 一次性告知单, printed: the print stylesheet drops the navigation and the button.
    desk.goto(f"/desk/notice/{STARTUP.id}")
    assert "一次性告知单" in desk.inner_text("h1")
    assert desk.locator("tr.deferrable").count() == len(DEFERRED)
    desk.emulate_media(media="print")
    assert not desk.locator("header.top").is_visible()
    _shot(desk, "01-notice-print")
    desk.pdf(path=str(ARTIFACTS / "01-notice.pdf"), format="A4")
    desk.emulate_media(media="screen")

    # Opening: every key material brought, the non-key one owed under 容缺.
    desk.goto(f"/desk?procedure_id={STARTUP.id}")
    desk.fill("input[name=name]", "王小明")
    desk.fill("input[name=id_number]", ID_NUMBER)
    desk.fill("input[name=phone]", "13812345678")
    for box in desk.locator("input[name=submitted]").all():
        if box.get_attribute("value") not in DEFERRED:
            box.check()
    _shot(desk, "02-desk")
    desk.click("form[action='/desk/cases'] button[type=submit]")
    desk.wait_for_url(re.compile(r"/cases/C-\d{8}-\d{4}$"))
    case_id = desk.url.rsplit("/", 1)[1]
    assert case_id in _flash(desk)
    assert ID_NUMBER in desk.inner_text("#applicant"), "the front desk sees the full number"
    for material in DEFERRED:
        assert desk.get_attribute(f"tr[data-material={material}]", "data-status") == "deferred"
    assert desk.locator("tr.material.deferred .tag.deferred").count() == len(DEFERRED)
    _shot(desk, "03-case-opened-with-deferred-materials")
    for material in DEFERRED:
        desk.check(f"#record-materials input[value={material}]")
    desk.click("#record-materials button[type=submit]")
    desk.wait_for_load_state()
    assert desk.locator("tr.material.received").count() == len(desk.locator("tr.material").all())

    # The board: the open case, green.
    admin = log_in("admin")
    admin.goto("/board")
    row = admin.locator(f"tr[data-case='{case_id}']")
    assert row.get_attribute("data-colour") == "green"
    assert int(admin.inner_text(".counts li[data-colour=green] strong")) == 1
    _shot(admin, "04-board-green")

    # A clerk of another department sees the step but no button to decide it (the server
    # would refuse: tests/test_pages.py).
    first = STARTUP.steps[0]
    other = next(s for s in STARTUP.steps if s.department != first.department)
    intruder = log_in(f"{other.department}_clerk")
    intruder.goto(f"/cases/{case_id}")
    assert MASKED_ID_NUMBER in intruder.inner_text("#applicant")
    assert ID_NUMBER not in intruder.content()
    assert intruder.locator(f"tr[data-step={first.id}] button").count() == 0
    assert intruder.get_attribute(f"tr[data-step={first.id}]", "data-status") == "pending"
    _shot(intruder, "05-other-department-no-buttons")

    # Each department's clerk approves its step from the inbox, in the procedure's order.
    for number, step in enumerate(STARTUP.steps):
        clerk = log_in(f"{step.department}_clerk")
        clerk.goto("/inbox")
        clerk.click(f"tr[data-case='{case_id}'][data-step={step.id}] button.approve")
        clerk.wait_for_url(re.compile(r"/inbox$"))
        assert "审批意见已提交" in _flash(clerk)
        if number == 0:
            _shot(clerk, "06-inbox-after-approval")

    # Closed: off the open board, on it with the closed ones, certificates on the case page.
    admin.goto("/board")
    assert admin.locator(f"tr[data-case='{case_id}']").count() == 0
    admin.goto("/board?closed=true")
    assert admin.get_attribute(f"tr[data-case='{case_id}']", "data-status") == "approved"
    _shot(admin, "07-board-closed")
    desk.goto(f"/cases/{case_id}")
    assert desk.get_attribute("#case-status", "data-status") == "approved"
    with Session(engine) as session:
        numbers = session.exec(select(Certificate.number)
                               .where(Certificate.case_id == case_id)).all()
        assert session.get(Case, case_id).status == "approved"
    assert numbers
    shown = desk.locator("tr.certificate td:first-child").all_inner_texts()
    assert sorted(shown) == sorted(numbers)
    assert desk.locator(".timeline li[data-kind=case_approved]").count() == 1
    _shot(desk, "08-case-certificates")


PLANNER = "/planner?procedure_id=construction_permit&finish_by=2025-12-31"
"""工程建设项目审批 by its catalog reform, done by the end of 2025."""


def _sideways(page) -> list[str]:
    """The ids (or tags) of the page itself and of every table wider than its box, once
    two frames have been laid out at the current viewport."""
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    return page.evaluate("""() => [document.documentElement, ...document.querySelectorAll(
        'table, .waterfall')].filter(e => e.scrollWidth > e.clientWidth + 1 ||
        e.getBoundingClientRect().right > window.innerWidth + 1).map(e => e.id || e.tagName)""")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_planner_shows_the_waterfall_and_the_latest_dates(log_in, lang):
    """The waterfall runs from the days before through each lever kind to the days after;
    a date in "须在此日前办结" lays the reformed steps backwards, by name; the advisor's
    ranking fills in after load; nothing of the other language is left and nothing runs off
    the page, at 1280 px or on a 390 px phone."""
    from api.i18n import MESSAGES

    planner = log_in("planner")
    planner.goto(f"{PLANNER}&lang={lang}")
    t = MESSAGES[lang]
    planner.wait_for_selector("#advice tbody tr")
    assert planner.locator("#advice tbody tr").count() > 3
    bars = planner.locator("#waterfall li")
    assert bars.first.get_attribute("data-lever") == "before"
    assert bars.last.get_attribute("data-lever") == "after"
    assert planner.locator("#waterfall .bar").first.bounding_box()["width"] > 100
    assert t["planner.finish_by"] in planner.inner_text("#levers")
    assert planner.input_value("input[name=finish_by]") == "2025-12-31"
    assert planner.locator("#backward tbody tr").count() > 10
    assert t["planner.backward"] in planner.inner_text("main")
    if lang == "zh":
        waterfall, advice = planner.inner_text("#waterfall"), planner.inner_text("#advice")
        assert "串联改并联" in waterfall and "Parallelise" not in waterfall + advice
        assert not re.search(r"[A-Za-z]{3,}", planner.inner_text("#accept-by"))
    assert _sideways(planner) == []
    _shot(planner, f"09-planner-{lang}")
    planner.set_viewport_size({"width": 390, "height": 844})
    assert _sideways(planner) == [], "at 390 px"
    _shot(planner, f"10-planner-{lang}-390px")
    planner.set_viewport_size({"width": 1280, "height": 900})


def test_the_window_as_staff_use_it(engine, log_in, browser, base_url):
    """Search, current steps, honest messages, confirmations, partial outcomes, documents,
    a certificate checked by anyone, accounts: the window of issue 17, end to end."""
    registration, seal, tax = (s.id for s in STARTUP.steps)
    desk = log_in("desk")
    desk.goto("/desk?procedure_id=newborn")
    desk.select_option("#desk-procedure", STARTUP.id)       # no 选择 pressed
    desk.wait_for_url(re.compile(rf"procedure_id={STARTUP.id}"))
    assert desk.locator("#print-notice").get_attribute("href").endswith(STARTUP.id)

    # Key material missing: 待补正, never 已受理, with the 补正告知书 and its deadline.
    desk.fill("input[name=name]", "李华")
    desk.fill("input[name=id_number]", ID_NUMBER)
    desk.click("form[action='/desk/cases'] button[type=submit]")
    desk.wait_for_url(re.compile(r"/cases/C-\d{8}-\d{4}$"))
    case_id = desk.url.rsplit("/", 1)[1]
    assert "待补正" in _flash(desk) and "已受理" not in _flash(desk)
    _shot(desk, "11-opened-awaiting-supplement")
    desk.click("#doc-supplement")
    assert "请于" in desk.inner_text("#doc-deadline")
    _shot(desk, "12-supplement-notice")
    desk.goto(f"/cases/{case_id}")
    for box in desk.locator("#record-materials input[name=material_ids]").all():
        box.check()
    desk.click("#record-materials button[type=submit]")
    desk.wait_for_load_state()
    assert desk.get_attribute("#case-status", "data-status") == "accepted"
    desk.click("#doc-receipt")
    assert "受理通知书" in desk.inner_text("h1")
    _shot(desk, "13-receipt")

    # A second case for the same applicant and item: warned, not opened.
    desk.goto(f"/desk?procedure_id={STARTUP.id}")
    desk.fill("input[name=name]", "李华")
    desk.fill("input[name=id_number]", ID_NUMBER)
    desk.click("form[action='/desk/cases'] button[type=submit]")
    desk.wait_for_load_state()
    assert case_id in desk.inner_text("#duplicate-warning")
    _shot(desk, "14-duplicate-warning")

    # Search by ID number; the board shows the current step.
    desk.goto(f"/search?q={ID_NUMBER}")
    assert desk.locator(f"#search-results tr[data-case='{case_id}']").count() == 1
    _shot(desk, "15-search")
    admin = log_in("admin")
    admin.goto("/board")
    row = admin.locator(f"tr[data-case='{case_id}']")
    assert row.locator(f"li.current-step[data-step={registration}]").count() == 1
    _shot(admin, "16-board-current-step")

    # samr approves; police refuses the seal (confirmed): the invoice, which needs the
    # seal, ends; the registration's certificates are issued.
    samr = log_in(f"{STARTUP.step(registration).department}_clerk")
    samr.goto("/inbox")
    assert samr.locator(f"tr[data-case='{case_id}']").get_attribute("data-colour") == "green"
    _shot(samr, "17-inbox-colours")
    samr.click(f"tr[data-case='{case_id}'][data-step={registration}] button.approve")
    samr.wait_for_url(re.compile(r"/inbox$"))
    police = log_in(f"{STARTUP.step(seal).department}_clerk")
    police.goto(f"/cases/{case_id}")
    police.click(f"tr[data-step={seal}] summary")
    police.fill(f"tr[data-step={seal}] input[name=reason]", "印章样式不符合规定")
    police.click(f"tr[data-step={seal}] button.reject")
    police.wait_for_load_state()
    desk.goto(f"/cases/{case_id}")
    assert desk.get_attribute("#case-status", "data-status") == "partially_approved"
    assert desk.get_attribute(f"tr[data-step={tax}]", "data-status") == "cancelled"
    _shot(desk, "18-partial-outcome")

    # The certificate to print, its QR code, and the public check without logging in.
    number = desk.locator("tr.certificate td:first-child a").first.inner_text()
    desk.click(f"text={number}")
    assert desk.locator("#qr svg").count() == 1
    assert desk.inner_text("#holder") == "李华"          # staff see the holder; the check not
    _shot(desk, "19-certificate-qr")
    url = desk.locator("#qr a").get_attribute("href")
    anyone = browser.new_context(base_url=base_url, locale="zh-CN",
                                 viewport={"width": 390, "height": 844})
    check = anyone.new_page()
    check.goto(url)
    assert "证照有效" in check.inner_text("#verdict")
    assert "李华" not in check.content() and ID_NUMBER not in check.content()
    assert _sideways(check) == []                        # nothing runs off a 390 px phone
    _shot(check, "20-verify-phone")
    anyone.close()

    admin.goto("/admin/accounts")
    assert admin.locator("tr.account").count() >= 3
    _shot(admin, "21-accounts")

# --- the planner's workbench ----------------------------------------------------------------


def _upload_table(page, data: bytes) -> None:
    page.goto("/workspace")
    page.set_input_files("#upload input[name=file]", files=[
        {"name": "开餐馆.csv", "mimeType": "text/csv", "buffer": data}])
    page.click("#upload button[type=submit]")
    page.wait_for_load_state()


def _tick(page, levers: list[str]) -> None:
    for box in page.locator("#levers input[name=lever]").all():
        box.set_checked(box.get_attribute("value") in levers)
    page.click("#levers button[type=submit]")
    page.wait_for_load_state()


def _save(page, name: str) -> None:
    page.fill("#save input[name=name]", name)
    page.click("#save button[type=submit]")
    page.wait_for_load_state()


def test_a_planner_brings_a_step_table_and_leaves_with_a_report(log_in, run_cli, tmp_path):
    """The workbench as a planner walks it: a GBK step table with a mistake refused at its
    row and column, fixed, the graph with its critical path, levers ticked, two scenarios
    saved and compared, the Word report downloaded and its figures checked against
    ``onething reform --json``."""
    import io
    import json

    from docx import Document

    from api.workspace import procedure_from_upload, scenario_text
    from process_models.loading import dump_procedure
    from tests.test_workspace import step_table

    planner = log_in("planner")
    planner.goto("/workspace?lang=zh")   # Chinese, whichever language an earlier walk chose

    # A GBK table whose 食品经营许可 says 十天: the page marks row 3, 承诺时限.
    _upload_table(planner, step_table(food="十天"))
    assert "第 3 行「承诺时限」有误" in planner.inner_text("#preview h2")
    assert planner.inner_text("#fault-row .fault-cell") == "十天"
    _shot(planner, "workspace-01-row-at-fault")

    # Fixed: the graph, left to right, the critical path named.
    _upload_table(planner, step_table())
    assert "/workspace/" in planner.url
    assert planner.locator("#graph-before g.step").count() == 4
    assert "营业执照 → 食品经营许可 → 消防安全检查" in planner.inner_text("#graph-before figcaption")
    _shot(planner, "workspace-02-graph")

    # Levers ticked, two scenarios kept.
    _tick(planner, ["parallelise"])
    assert planner.locator("#graph-after path.edge.practice").count() == 0
    _save(planner, "并联")
    _tick(planner, ["parallelise", "merge"])
    _shot(planner, "workspace-03-levers")
    _save(planner, "并联加合并")
    assert planner.locator("#scenarios tbody tr").count() == 2

    # Compared side by side.
    planner.click("#compare-button")
    planner.wait_for_load_state()
    assert planner.locator("#comparison section").count() == 2
    _shot(planner, "workspace-04-compare")

    # The report of the second scenario, checked against `onething reform --json`.
    planner.go_back()
    planner.wait_for_load_state()
    _tick(planner, ["parallelise", "merge"])
    with planner.expect_download() as download:
        planner.click("#report")
    path = ARTIFACTS / "workspace-05-report.docx"
    download.value.save_as(str(path))
    proc = procedure_from_upload("开餐馆.csv", step_table())
    (tmp_path / "p.yaml").write_text(dump_procedure(proc), "utf-8")
    (tmp_path / "s.yaml").write_text(scenario_text(proc, ["parallelise", "merge"]), "utf-8")
    code, out, _ = run_cli("reform", tmp_path / "p.yaml", tmp_path / "s.yaml", "--json")
    assert code == 0
    elapsed = json.loads(out)["change"]["elapsed_working_days"]
    headline = Document(io.BytesIO(path.read_bytes())).tables[0].rows[1].cells
    assert (headline[0].text, float(headline[1].text), float(headline[2].text)) == (
        "办理时间（工作日）", elapsed["before"], elapsed["after"])

    # The same report as a printable page.
    planner.click("#report-page")
    planner.wait_for_load_state()
    assert "一、主要指标" in planner.inner_text("#report-page")
    _shot(planner, "workspace-06-report-page")


def test_a_planner_edits_the_table_in_place_and_reads_the_graph_risk_and_dates(log_in):
    """The workbench page as a workbench: a cell typed wrong is marked as it is typed (in
    Chinese, row and column), fixed and saved as a revision with its change sentence,
    undone; a click on a step in the graph opens its details; the risk arrives after load
    with its distribution; 须在此日前办结 lays the steps backwards; at 1280 and 390 px."""
    from tests.test_workspace import step_table

    planner = log_in("planner")
    planner.goto("/workspace?lang=zh")
    _upload_table(planner, step_table())
    home = planner.url.split("?")[0]

    # Typed wrong: the script checks the table and marks the cell, nothing saved.
    food = planner.locator('#table-form tr[data-row="1"] input[data-column="committed_days"]')
    food.fill("十天")
    planner.wait_for_selector("#table-problem.error")
    assert "第 2 行「承诺时限」有误" in planner.inner_text("#table-problem")
    assert food.get_attribute("aria-invalid") == "true"
    _shot(planner, "workspace-07-edit-typed-wrong")

    # Fixed, a step added with the keyboard, saved: a revision saying who changed what.
    food.fill("6")
    planner.wait_for_selector("#table-problem.ok")
    planner.click("#add-row")
    planner.keyboard.type("户外广告审批")
    planner.keyboard.press("Tab")
    planner.keyboard.type("城管局")
    planner.keyboard.press("Tab")
    planner.keyboard.type("户外招牌设置")
    for key in ("dependency_kind", "statutory_days"):
        planner.keyboard.press("Tab")
    planner.keyboard.press("Tab")
    planner.keyboard.type("4")
    planner.wait_for_selector("#table-problem.ok")
    planner.click("#table-form button[type=submit]")
    planner.wait_for_load_state()
    assert "已保存为第 2 版" in _flash(planner)
    revisions = planner.inner_text("#revisions")
    assert "新增事项「户外广告审批」" in revisions and "「食品经营许可」承诺时限：10 → 6" in revisions
    assert planner.locator("#graph-before g.step").count() == 5
    _shot(planner, "workspace-08-edit-saved")

    # Undone: a third revision restoring the first.
    planner.click("#undo button")
    planner.wait_for_load_state()
    assert "第 3 版恢复了上一版" in _flash(planner)
    assert planner.locator("#graph-before g.step").count() == 4

    # A step clicked in the graph: its limits, basis, materials and what waits for it.
    planner.locator("#graph-before a.step-link").first.click()
    detail = planner.locator(".step-detail:target")
    assert detail.is_visible()
    assert "营业执照" in detail.inner_text() and "食品经营许可" in detail.inner_text()
    _shot(planner, "workspace-09-step-details")

    # 倒排 and the risk with its distribution, fetched after load.
    planner.goto(f"{home}?lever=parallelise&finish_by=2025-06-30")
    planner.wait_for_selector("#risk .distribution")
    assert planner.locator("#risk .bar.after").count() == 24
    assert planner.locator("#backward tbody tr").count() == 4
    assert not re.search(r"\bs_[0-9a-f]{6}", planner.inner_text("main"))
    _shot(planner, "workspace-10-risk-and-dates")
    planner.set_viewport_size({"width": 390, "height": 844})
    assert "HTML" not in _sideways(planner), "the page itself runs off a 390 px phone"
    _shot(planner, "workspace-11-workbench-390px")
    planner.set_viewport_size({"width": 1280, "height": 900})
