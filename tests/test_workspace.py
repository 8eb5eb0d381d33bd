"""The planner's workspace: a step table, YAML or BPMN uploaded (or refused at its row and
column, nothing stored), kept private, drawn as a layered graph, scenarios kept, and the
Word report whose figures are those of ``onething reform --json``."""

from __future__ import annotations

import html
import io
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from sqlmodel import Session

from api.main import create_app
from api.workspace import procedure_from_upload, scenario_text
from flows.casework.accounts import add_user
from process_models.catalog import load_catalog_procedure
from process_models.errors import InvalidInput, TableError
from process_models.loading import dump_procedure
from simulations.planning.graph_drawing import graph_layout, graph_svg
from tests.api_fixtures import ACCOUNTS, PASSWORD, SECRET_KEY, snapshot
from tests.strategies import procedures

STEP_TABLE = """\
事项,部门,前置事项,法定时限,承诺时限,时限单位,要件数,跑动次数,依赖类型
营业执照,市场监管局,,20,3,工作日,2,1,
食品经营许可,市场监管局,营业执照,20,{food},工作日,3,1,惯例
消防安全检查,消防救援大队,食品经营许可,10,7,工作日,2,1,惯例
户外招牌设置,城管局,营业执照,10,5,工作日,1,1,法定
"""
"""开餐馆 as a planner keeps it in Excel; ``{food}`` is 食品经营许可's committed limit."""


def step_table(food: str = "10", encoding: str = "gbk") -> bytes:
    """The step table as Excel saves it on a Chinese Windows (GBK) unless told otherwise."""
    return STEP_TABLE.format(food=food).encode(encoding)


@pytest.fixture
def engine(sqlite_engine):
    """A migrated, empty SQLite file."""
    return sqlite_engine


@pytest.fixture
def client(engine, prefect_harness):
    with TestClient(create_app(engine, secret_key=SECRET_KEY, demo_accounts=False,
                               relay=False)) as client:
        yield client


@pytest.fixture
def auth(engine, client, password_hash) -> dict[str, dict[str, str]]:
    """Identity → bearer header; a second planner (``other_planner``) beside the others."""
    from datetime import UTC, datetime

    from api.security import create_access_token

    headers = {}
    with Session(engine) as session:
        for identity, (username, role, departments) in {
                **ACCOUNTS, "other_planner": ("planner2", "planner", [])}.items():
            user = add_user(session, username, password_hash=password_hash, role=role,
                            departments=departments, now=datetime.now(UTC))
            headers[identity] = {"Authorization": "Bearer " + create_access_token(
                user.id, secret_key=SECRET_KEY)}
    return headers


@pytest.fixture(scope="module")
def password_hash() -> str:
    from api.security import hash_password

    return hash_password(PASSWORD)


def upload(client, headers, data: bytes, name: str = "开餐馆.csv"):
    return client.post("/api/workspace/procedures", headers=headers,
                       files={"file": (name, data, "application/octet-stream")})


def test_a_gbk_step_table_with_a_mistake_is_refused_at_its_row_and_column_storing_nothing(
        client, auth, engine):
    """422 names the row (as the spreadsheet numbers it) and the column's header."""
    before = snapshot(engine)
    answer = upload(client, auth["planner"], step_table(food="十天"))
    assert answer.status_code == 422, answer.text
    assert (answer.json()["row"], answer.json()["column"]) == (3, "承诺时限")
    assert "开餐馆.csv: row 3, 承诺时限" in answer.json()["detail"]
    assert snapshot(engine) == before


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "utf-16"])
def test_a_step_table_in_any_encoding_excel_writes_is_stored_for_its_planner(
        client, auth, encoding):
    data = step_table(encoding=encoding)
    if encoding == "utf-16":
        data = STEP_TABLE.format(food="10").replace(",", "\t").encode("utf-16")
    answer = upload(client, auth["planner"], data)
    assert answer.status_code == 201, answer.text
    assert (answer.json()["name"], answer.json()["steps"], answer.json()["revision"]) == \
        ("开餐馆", 4, 1)


def test_a_workspace_procedure_is_invisible_to_another_planner(client, auth):
    """Another planner gets the same 404 as for a missing id, and does not list it."""
    made = upload(client, auth["planner"], step_table()).json()["id"]
    own = client.get(f"/api/workspace/procedures/{made}/graph.svg", headers=auth["planner"])
    other = client.get(f"/api/workspace/procedures/{made}/graph.svg",
                       headers=auth["other_planner"])
    missing = client.get(f"/api/workspace/procedures/{'0' * 32}/graph.svg",
                         headers=auth["other_planner"])
    assert own.status_code == 200
    assert (other.status_code, missing.status_code) == (404, 404)
    assert client.get("/api/workspace/procedures", headers=auth["other_planner"]).json() == []


@pytest.mark.parametrize("identity", ["front_desk", "clerk", "auditor"])
def test_only_planners_and_admins_may_use_a_workspace(client, auth, identity):
    assert upload(client, auth[identity], step_table()).status_code == 403


def test_a_procedure_yaml_and_a_bpmn_file_are_uploaded_too(client, auth):
    from simulations.interchange.bpmn import procedure_bpmn

    newborn = load_catalog_procedure("newborn")
    for name, data in (("newborn.yaml", dump_procedure(newborn).encode()),
                       ("newborn.bpmn", procedure_bpmn(newborn).encode())):
        answer = upload(client, auth["planner"], data, name)
        assert answer.status_code == 201, answer.text
        assert answer.json()["steps"] == len(newborn.steps)


def test_a_real_case_log_gzipped_is_uploaded_as_the_procedure_it_shows(client, auth):
    """The WABO receipt log (a Dutch municipality's, replayed) becomes a workspace procedure
    through discovery, as ``onething discover`` finds it; every limit is fitted from the log."""
    import gzip

    from api.workspace import discovered_procedure
    from process_models.provenance import numbers

    wabo = Path(__file__).resolve().parents[2] / "shared" / "logs" / "wabo_receipt.csv"
    data = gzip.compress(wabo.read_bytes())
    answer = upload(client, auth["planner"], data, "wabo_receipt.csv.gz")
    assert answer.status_code == 201, answer.text
    proc = discovered_procedure("wabo_receipt.csv.gz", data)
    assert answer.json()["steps"] == len(proc.steps) >= 2
    assert {n.basis.value for n in numbers(proc) if n.stated} == {"fitted"}


def test_a_csv_with_the_xes_columns_is_read_as_a_log_and_its_faults_are_named(client, auth):
    log = ("case:concept:name,concept:name,time:timestamp\n"
           "c1,受理,2025-03-03 09:00\nc1,审批,yesterday\n").encode()
    answer = upload(client, auth["planner"], log, "办件.csv")
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert detail.startswith("办件.csv") and "yesterday" in detail and "/tmp" not in detail


@pytest.mark.parametrize("name, data, message", [
    ("table.txt", b"x", "unknown file type '.txt'"),
    ("p.yaml", b"id: [", "p.yaml"),
    ("p.yaml", "名称".encode("gbk"), "not UTF-8 (byte 0xc3 at offset 0)"),
    ("p.bpmn", b"<definitions", "p.bpmn"),
])
def test_a_bad_file_is_one_line_naming_it(client, auth, name, data, message):
    answer = upload(client, auth["planner"], data, name)
    assert answer.status_code == 422
    assert message in answer.json()["detail"]
    assert "/tmp" not in answer.json()["detail"]


def test_the_graph_is_drawn_left_to_right_with_practice_dashed_and_the_critical_path_red(
        client, auth):
    made = upload(client, auth["planner"], step_table()).json()["id"]
    svg = client.get(f"/api/workspace/procedures/{made}/graph.svg",
                     headers=auth["planner"]).text
    assert svg.startswith("<svg") and "食品经营许可" in svg and "消防救援大队" in svg
    assert svg.count('class="edge practice critical"') == 2
    assert svg.count('class="edge legal"') == 1
    assert "总时差 12 工作日" in svg  # 户外招牌设置: 5 working days beside 10 + 7
    parallel = client.get(f"/api/workspace/procedures/{made}/graph.svg",
                          params={"lever": "parallelise"}, headers=auth["planner"]).text
    assert "edge practice" not in parallel


def test_an_unknown_lever_is_refused_with_the_levers_to_choose_from(client, auth):
    made = upload(client, auth["planner"], step_table()).json()["id"]
    answer = client.get(f"/api/workspace/procedures/{made}/graph.svg",
                        params={"lever": "paralelise"}, headers=auth["planner"])
    assert answer.status_code == 422
    assert "did you mean 'parallelise'" in answer.json()["detail"]


def test_scenarios_are_kept_by_name_in_the_order_saved(client, auth):
    made = upload(client, auth["planner"], step_table()).json()["id"]
    for name, levers in (("并联", ["parallelise"]), ("并联加合并", ["merge", "parallelise"])):
        answer = client.post(f"/api/workspace/procedures/{made}/scenarios",
                             json={"name": name, "levers": levers}, headers=auth["planner"])
        assert answer.status_code == 201, answer.text
    kept = client.get(f"/api/workspace/procedures/{made}/scenarios",
                      headers=auth["planner"]).json()
    assert [(s["name"], s["levers"]) for s in kept] == [
        ("并联", ["parallelise"]), ("并联加合并", ["parallelise", "merge"])]


def _docx_tables(content: bytes) -> list[list[list[str]]]:
    from docx import Document

    return [[[cell.text for cell in row.cells] for row in table.rows]
            for table in Document(io.BytesIO(content)).tables]


def _xlsx_sheets(content: bytes) -> list[list[list[str]]]:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(content), read_only=True)
    return [[["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
            for sheet in book.worksheets]


def _figures_table(report_format: str, content: bytes) -> list[list[str]]:
    """The headline figures table of a report file (the first table of the .docx; the
    sheet after the text in the .xlsx)."""
    return _docx_tables(content)[0] if report_format == "docx" else _xlsx_sheets(content)[1]


@pytest.mark.parametrize("report_format", ["docx", "xlsx"])
@pytest.mark.parametrize("levers", [["parallelise"], ["parallelise", "merge", "compress"]])
def test_the_report_gives_the_figures_of_onething_reform_json(client, auth, run_cli, tmp_path,
                                                              levers, report_format):
    """The headline table of the .docx and of the .xlsx equals ``onething reform --json`` on
    the same procedure and scenario, figure by figure."""
    made = upload(client, auth["planner"], step_table()).json()["id"]
    answer = client.get(f"/api/workspace/procedures/{made}/report.{report_format}",
                        params={"lever": levers}, headers=auth["planner"])
    assert answer.status_code == 200, answer.text
    proc = procedure_from_upload("开餐馆.csv", step_table())
    (tmp_path / "p.yaml").write_text(dump_procedure(proc), "utf-8")
    (tmp_path / "s.yaml").write_text(scenario_text(proc, levers), "utf-8")
    code, out, err = run_cli("reform", tmp_path / "p.yaml", tmp_path / "s.yaml", "--json")
    assert (code, err) == (0, "")
    change = json.loads(out)["change"]
    headline = _figures_table(report_format, answer.content)
    figures = {"办理时间（工作日）": "elapsed_working_days", "事项数": "steps",
               "材料数": "materials", "跑动次数": "trips", "部门数": "departments"}
    assert [row[0] for row in headline[1:]] == list(figures)
    for label, before, after, _ in headline[1:]:
        expected = change[figures[label]]
        assert (float(before), float(after)) == (expected["before"], expected["after"])
    compression = f"压缩 {-change['elapsed_working_days']['percent']:g}%"
    if report_format == "docx":
        from docx import Document

        document = Document(io.BytesIO(answer.content))
        assert len(document.inline_shapes) == 3  # the Gantt chart and both graphs
        assert compression in document.paragraphs[1].text
    else:
        assert compression in _xlsx_sheets(answer.content)[0][2][0]


def test_a_report_in_another_format_is_refused_naming_the_two(client, auth):
    made = upload(client, auth["planner"], step_table()).json()["id"]
    answer = client.get(f"/api/workspace/procedures/{made}/report.pdf", headers=auth["planner"])
    assert answer.status_code == 422 and "docx" in answer.text


@settings(max_examples=30, deadline=None)
@given(proc=procedures())
def test_every_dependency_points_to_a_later_column(proc):
    """A layered drawing: each step's column is one more than its latest predecessor's."""
    layout = graph_layout(proc)
    level = {n.id: n.level for n in layout.nodes}
    for a, b, _, _ in layout.edges:
        assert level[a] < level[b]
    for node in layout.nodes:
        before = [level[a] for a, b, _, _ in layout.edges if b == node.id]
        assert node.level == (max(before) + 1 if before else 0)
    assert graph_svg(layout).count("<g class=\"step") == len(layout.nodes)


def test_a_table_error_carries_its_cell():
    with pytest.raises(TableError, match="row 3, 承诺时限") as caught:
        procedure_from_upload("开餐馆.csv", step_table(food="十天"))
    assert (caught.value.row, caught.value.column) == (3, "承诺时限")


@pytest.mark.parametrize("lever", ["parallelise", "commitment", "drop_materials", "merge",
                                   "compress"])
def test_each_workspace_lever_applies_without_yaml(lever):
    """告知承诺, 减要件, 压缩时限 and 合并 included: ticking is enough. 告知承诺 and 减要件 on
    开办餐饮店 (its steps say where 告知承诺 is allowed, its materials which are key), the
    others on the uploaded step table."""
    from api.workspace import reformed

    proc = (load_catalog_procedure("restaurant") if lever in ("commitment", "drop_materials")
            else procedure_from_upload("开餐馆.csv", step_table()))
    assert [c.lever for c in reformed(proc, [lever]).changes][:1] == [lever]


@pytest.mark.parametrize("lever, why", [("commitment", "commitment_allowed"),
                                        ("drop_materials", "key: false")])
def test_a_lever_with_nothing_to_act_on_says_why(lever, why):
    from api.workspace import reformed

    with pytest.raises(InvalidInput, match=why):
        reformed(procedure_from_upload("开餐馆.csv", step_table()), [lever])


# --- the pages --------------------------------------------------------------------------------

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def logged_in(api, username: str) -> TestClient:
    """A browser of ``api``'s app logged in to the pages as ``username`` (its own cookies)."""
    browser = TestClient(api.app)
    form = browser.get("/login")
    answer = browser.post("/login", data={
        "username": username, "password": PASSWORD,
        "csrf_token": CSRF.search(form.text).group(1), "next": "/"}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return browser


@pytest.fixture
def planner_page(client, auth):
    """A browser logged in to the pages as the planner."""
    return logged_in(client, ACCOUNTS["planner"][0])


def post_file(browser, data: bytes, name: str = "开餐馆.csv"):
    csrf = CSRF.search(browser.get("/workspace").text).group(1)
    return browser.post("/workspace", data={"csrf_token": csrf},
                        files={"file": (name, data, "text/csv")}, follow_redirects=False)


def test_the_upload_page_marks_the_row_and_column_at_fault_and_stores_nothing(
        planner_page, engine):
    before = snapshot(engine)
    page = post_file(planner_page, step_table(food="十天"))
    assert page.status_code == 422
    assert "第 3 行「承诺时限」有误" in page.text
    assert 'id="fault-row"' in page.text and '<td class="fault-cell">十天</td>' in page.text
    assert "这个文件一行也没有保存" in page.text and "/tmp" not in page.text
    assert snapshot(engine) == before


@pytest.mark.parametrize(("table", "zh", "en"), [
    (step_table(food="十天"),
     "开餐馆.csv：第 3 行「承诺时限」：'十天' 不是天数；请填数字，如 20 或 0.5",
     "开餐馆.csv: row 3, 承诺时限: '十天' is not a number of days; write e.g. 20 or 0.5"),
    (STEP_TABLE.format(food="10").replace(",营业执照,20", ",营业执找,20").encode("gbk"),
     ("开餐馆.csv：第 3 行「前置事项」：没有名为 '营业执找' 的事项；请填「事项」列中的事项名称"
     "（是不是「营业执照」？）"),
     ("开餐馆.csv: row 3, 前置事项: unknown step '营业执找'; use a name from the 事项 column "
     "(did you mean '营业执照'?)")),
    ("事项,前置事项,承诺时限\n营业执照,,3\n".encode("gbk"),
     "开餐馆.csv：第 1 行：缺少列 部门/department；表头行须有 事项、部门 和 承诺时限",
     "开餐馆.csv: row 1: missing column 部门/department; the header row needs 事项, 部门 and 承诺时限"),
], ids=["bad limit", "unknown prerequisite", "missing column"])
def test_a_refused_gbk_step_table_is_explained_in_the_readers_language_at_its_row_and_column(
        planner_page, table, zh, en):
    """The page's line names the file, row, column, bad value and fix: Chinese by default,
    English with ?lang=en."""
    csrf = CSRF.search(planner_page.get("/workspace").text).group(1)
    for lang, line in (("zh", zh), ("en", en)):
        page = planner_page.post(f"/workspace?lang={lang}", data={"csrf_token": csrf},
                                 files={"file": ("开餐馆.csv", table, "text/csv")})
        assert page.status_code == 422
        assert f'<p class="flash error" role="alert">{line}</p>' in html.unescape(page.text)


@pytest.mark.parametrize(("lang", "says"), [("zh", "开餐馆.txt：不认识的文件类型「.txt」；请上传事项表"),
                                            ("en", "开餐馆.txt: unknown file type '.txt'; upload")])
def test_a_file_of_the_wrong_type_is_named_in_the_readers_language(planner_page, lang, says):
    csrf = CSRF.search(planner_page.get("/workspace").text).group(1)
    page = planner_page.post(f"/workspace?lang={lang}", data={"csrf_token": csrf},
                             files={"file": ("开餐馆.txt", b"x", "text/plain")})
    assert page.status_code == 422
    assert f'<p class="flash error" role="alert">{says}' in html.unescape(page.text)


def test_a_planner_walks_upload_graph_levers_two_scenarios_compare_and_report(planner_page):
    """The workbench as a planner uses it: names, not ids, on every page."""
    stored = post_file(planner_page, step_table())
    assert stored.status_code == 303
    home = stored.headers["location"]
    page = planner_page.get(home, params={"lever": ["parallelise", "merge"]})
    assert page.status_code == 200, page.text
    assert page.text.count('<svg xmlns="http://www.w3.org/2000/svg" class="graph"') == 2
    assert "关键路径：营业执照 → 食品经营许可 → 消防安全检查" in page.text
    risk = planner_page.get(f"{home}/risk", params={"lever": ["parallelise", "merge"]}).text
    assert "P50" in risk and "按时办结概率" in risk
    ids_in_markup = r'(data-step|href|id)="[^"]*"'  # ids in URLs and anchors, never in text
    assert not re.search(r"\bs_[0-9a-f]{6}", re.sub(ids_in_markup, "", page.text))
    csrf = CSRF.search(page.text).group(1)
    for name, levers in (("并联", ["parallelise"]), ("并联加合并", ["parallelise", "merge"])):
        saved = planner_page.post(f"{home}/scenarios", data={
            "csrf_token": csrf, "name": name, "lever": levers}, follow_redirects=False)
        assert saved.status_code == 303, saved.text
    page = planner_page.get(home)
    ids = re.findall(r'name="a" value="([0-9a-f]{32})"', page.text)
    compared = planner_page.get(f"{home}/compare", params={"a": ids[0], "b": ids[1]})
    assert compared.status_code == 200
    assert 'data-scenario="并联"' in compared.text and 'data-scenario="并联加合并"' in compared.text
    for report_format in ("docx", "xlsx"):
        report = planner_page.get(f"{home}/report.{report_format}",
                                  params={"lever": ["parallelise"]})
        assert report.headers["content-type"].startswith("application/vnd.openxmlformats")
        assert _figures_table(report_format, report.content)[1][0] == "办理时间（工作日）"
    printable = planner_page.get(f"{home}/report", params={"lever": ["parallelise"]})
    assert printable.status_code == 200
    assert "办理时间由" in printable.text and "一、主要指标" in printable.text
    assert printable.text.count('<svg xmlns="http://www.w3.org/2000/svg" class="graph"') == 2
    assert "report-gantt" in printable.text and "<svg" in printable.text.split("report-gantt")[1]
    assert planner_page.get(f"{home}/report.pdf").status_code == 404


def test_the_workbench_speaks_english_when_asked(planner_page):
    assert "My procedures (workspace)" in planner_page.get("/workspace?lang=en").text


def test_the_api_docs_load_their_scripts_from_the_service_not_a_cdn(client):
    docs = client.get("/docs").text
    assert "/docs-assets/swagger-ui-bundle.js" in docs and "cdn" not in docs
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    assert "cdn" not in client.get("/redoc").text



@pytest.mark.parametrize(("language", "note"), [
    ("zh", "招牌显示登记名称，因此须待营业执照核发后办理（估计）；法定时限：行政许可法规定的一般期限"),
    ("en", ("the sign shows the registered name, so it waits for the business licence "
            "(estimate); Statutory limit: the 行政许可法 default"))])
def test_the_report_gives_each_items_notes_in_its_language(language, note):
    """The report's item table (Word, XLSX and the printable page) ends in the step's notes:
    the Chinese ones, or their ``note_en`` in English."""
    from api.workspace_report import report

    items = report(load_catalog_procedure("restaurant"), [], language=language).items
    signboard = next(row for row in items.rows if row[0] in ("户外招牌设施设置", "Outdoor signboard"))
    assert signboard[-1] == note


@pytest.mark.parametrize(("language", "source"), [
    ("zh", "随州 供电：低压非居民 ≤15 个工作日（无外线工程 ≤5）"),
    ("en", ("随州 electricity: low-voltage non-residential ≤15 working days (≤5 with no "
            "outside works); 2 环节 (申请受理、办理接电)"))])
def test_the_report_names_each_items_source_in_its_language(language, source):
    """The report's item table names a committed limit's source as the procedure cites it:
    the Chinese title, or the cited source's ``title_en`` in English."""
    from api.workspace_report import report

    items = report(load_catalog_procedure("utility_connection"), [], language=language).items
    assert items.rows[0][4] == source
