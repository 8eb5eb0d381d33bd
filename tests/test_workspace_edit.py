"""The workspace procedure as a planner's workbench: the step table edited in place (checked
as typed, saved as a revision saying who changed what, undone, exported to XLSX), a step's
details from the graph, each kept scenario's change log, sharing read-only, 倒排 and the
Monte-Carlo risk with its distribution chart."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings

from api.workspace_edit import (
    EDIT_KEYS,
    change_lines,
    edit_cells,
    edit_changes,
    edited_procedure,
    table_changes,
    table_rows,
)
from api.workspace_view import distribution_svg, step_details
from process_models.errors import TableError
from process_models.table import table_procedure
from tests.strategies import procedures
from tests.test_workspace import (  # noqa: F401  (the fixtures of the workspace's tests)
    CSRF,
    auth,
    client,
    engine,
    logged_in,
    password_hash,
    planner_page,
    post_file,
    step_table,
    upload,
)

COMMITTED = EDIT_KEYS.index("committed_days")
DEPENDS = EDIT_KEYS.index("depends_on")


@pytest.fixture
def stored(client, auth) -> str:  # noqa: F811
    """开餐馆 uploaded by the planner; its workspace id."""
    return upload(client, auth["planner"], step_table()).json()["id"]


def table_of(api, headers, workspace_id: str) -> list[list]:
    answer = api.get(f"/api/workspace/procedures/{workspace_id}/table", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["rows"]


def put_table(api, headers, workspace_id: str, rows: list[list]):
    return api.put(f"/api/workspace/procedures/{workspace_id}/table", headers=headers,
                      json={"rows": rows})


# --- the table's rules, without a server ------------------------------------------------


@settings(max_examples=100, deadline=None)  # about one in six procedures fits a table
@given(procedures())
def test_a_table_saved_untouched_changes_nothing(proc):
    """Whatever the procedure, the page's table saved as shown reports no change."""
    try:
        cells = edit_cells(proc)
    except TableError:
        return
    assert edit_changes(proc, table_rows(cells))[1] == []


def test_each_kind_of_edit_is_one_sentence_naming_the_step():
    shop = table_procedure(step_table(), "开餐馆.csv")
    cells = edit_cells(shop)
    cells[1][COMMITTED] = "5"
    cells.append(["招牌设置", "城管局", "营业执照", "惯例", "", "3", "工作日", "", "", "", "",
                  "", ""])
    after = edited_procedure(table_rows(cells, removed=frozenset({3})), shop)
    lines = change_lines(table_changes(shop, after), "zh")
    assert "新增事项「招牌设置」" in lines and "删除事项「户外招牌设置」" in lines
    assert "「食品经营许可」承诺时限：10 → 5" in lines
    assert "Added step “招牌设置”" in change_lines(table_changes(shop, after), "en")


def test_a_removed_row_keeps_the_row_numbers_of_the_rows_below():
    """The error names the page's row though a row above it was removed."""
    shop = table_procedure(step_table(), "开餐馆.csv")
    cells = edit_cells(shop)
    cells[2][COMMITTED] = "三天"
    with pytest.raises(TableError) as caught:
        edited_procedure(table_rows(cells, removed=frozenset({1})), shop)
    assert (caught.value.row, caught.value.column) == (4, "承诺时限")


def test_a_step_shows_what_depends_on_it_and_the_kind_of_what_it_waits_for():
    proc = table_procedure(step_table(), "开餐馆.csv")
    details = {d["name"]: d for d in step_details(proc, "zh")}
    assert sorted(details["营业执照"]["dependents"]) == ["户外招牌设置", "食品经营许可"]
    assert details["消防安全检查"]["depends_on"] == [("食品经营许可", "practice")]
    assert details["营业执照"]["committed"]["value"] == 3


def test_the_distribution_chart_has_a_bar_per_bin_for_each_side_and_its_axis_in_english():
    import numpy as np

    svg = distribution_svg(np.array([5.0, 6.0, 9.0]), np.array([2.0, 3.0]), "en")
    assert svg.count('class="bar before"') == svg.count('class="bar after"') == 24
    assert "Elapsed time (working days)" in svg and "办理" not in svg


# --- the API -----------------------------------------------------------------------------


def test_an_edited_table_is_a_new_revision_saying_who_changed_what(client, auth, stored):  # noqa: F811
    rows = table_of(client, auth["planner"], stored)
    rows[1][COMMITTED] = "6"
    answer = put_table(client, auth["planner"], stored, rows)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["revision"], answer.json()["changed_by"]) == (2, "planner")
    assert answer.json()["change"] == "「食品经营许可」承诺时限：10 → 6"
    history = client.get(f"/api/workspace/procedures/{stored}/revisions",
                         headers=auth["planner"]).json()
    assert [r["revision"] for r in history] == [2, 1]


def test_a_bad_cell_is_refused_at_its_row_and_column_storing_nothing(client, auth, stored,  # noqa: F811
                                                                    engine):  # noqa: F811
    from tests.api_fixtures import snapshot

    rows = table_of(client, auth["planner"], stored)
    rows[2][DEPENDS] = "食品许可"
    before = snapshot(engine)
    answer = put_table(client, auth["planner"], stored, rows)
    assert answer.status_code == 422
    assert (answer.json()["row"], answer.json()["column"]) == (4, "前置事项")
    assert "did you mean '食品经营许可'" in answer.json()["detail"]
    assert snapshot(engine) == before


def test_an_unchanged_table_is_not_saved(client, auth, stored):  # noqa: F811
    rows = table_of(client, auth["planner"], stored)
    assert put_table(client, auth["planner"], stored, rows).status_code == 422


def test_undo_is_a_new_revision_restoring_the_one_before(client, auth, stored):  # noqa: F811
    rows = table_of(client, auth["planner"], stored)
    original = [list(r) for r in rows]
    rows[0][COMMITTED] = "1"
    put_table(client, auth["planner"], stored, rows)
    undone = client.post(f"/api/workspace/procedures/{stored}/undo", headers=auth["planner"])
    assert undone.status_code == 201, undone.text
    assert undone.json()["revision"] == 3 and undone.json()["change"].startswith("撤销第 2 版")
    assert table_of(client, auth["planner"], stored) == original


def test_the_first_revision_has_nothing_to_undo(client, auth, stored):  # noqa: F811
    answer = client.post(f"/api/workspace/procedures/{stored}/undo", headers=auth["planner"])
    assert answer.status_code == 422 and "nothing to undo" in answer.json()["detail"]


def test_the_exported_xlsx_uploads_back_as_the_same_table(client, auth, stored):  # noqa: F811
    xlsx = client.get(f"/api/workspace/procedures/{stored}/table.xlsx", headers=auth["planner"])
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    again = upload(client, auth["planner"], xlsx.content, name="开餐馆.xlsx").json()["id"]
    assert table_of(client, auth["planner"], again) == table_of(client, auth["planner"], stored)


def test_a_shared_procedure_is_read_only_to_other_planners_and_invisible_unshared(
        client, auth, stored):  # noqa: F811
    other = auth["other_planner"]
    graph = f"/api/workspace/procedures/{stored}/graph.svg"
    assert client.get(graph, headers=other).status_code == 404
    shared = client.put(f"/api/workspace/procedures/{stored}/shared", headers=auth["planner"],
                        json={"shared": True})
    assert shared.status_code == 200 and shared.json()["shared"] is True
    assert client.get(graph, headers=other).status_code == 200
    rows = table_of(client, other, stored)
    rows[0][COMMITTED] = "1"
    assert put_table(client, other, stored, rows).status_code == 403
    assert client.post(f"/api/workspace/procedures/{stored}/undo", headers=other).status_code \
        == 403
    assert client.put(f"/api/workspace/procedures/{stored}/shared", headers=other,
                      json={"shared": False}).status_code == 403
    assert client.post(f"/api/workspace/procedures/{stored}/scenarios", headers=other,
                       json={"name": "我的", "levers": []}).status_code == 403
    client.put(f"/api/workspace/procedures/{stored}/shared", headers=auth["planner"],
               json={"shared": False})
    assert client.get(graph, headers=other).status_code == 404
    assert client.get("/api/workspace/procedures", headers=other).json() == []


# --- the pages -----------------------------------------------------------------------------


@pytest.fixture
def home(planner_page) -> str:  # noqa: F811
    """The page of 开餐馆, uploaded through the page."""
    return post_file(planner_page, step_table()).headers["location"]


def table_form(page_text: str, **changes: tuple[int, str]) -> dict[str, list[str]]:
    """The step table form as the page shows it, with ``key=(row, value)`` typed in."""
    form = {key: re.findall(rf'name="{key}" value="([^"]*)"', page_text) for key in EDIT_KEYS}
    for key, (row, value) in changes.items():
        form[key][row] = value
    return {**form, "csrf_token": CSRF.search(page_text).group(1)}


def test_the_page_saves_the_table_by_form_post_and_lists_the_change(planner_page, home):  # noqa: F811
    page = planner_page.get(home).text
    assert page.count('name="step" value="') == 5  # four steps and the empty row to add one
    form = table_form(page, committed_days=(1, "4"))
    saved = planner_page.post(f"{home}/table", data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    page = planner_page.get(home).text
    assert "已保存为第 2 版" in page
    assert "<li>「食品经营许可」承诺时限：10 → 4</li>" in page


def test_a_bad_cell_typed_on_the_page_is_marked_and_the_table_kept_as_typed(planner_page,  # noqa: F811
                                                                           home):
    page = planner_page.get(home).text
    form = table_form(page, committed_days=(1, "十天"), step=(4, "招牌"))
    answer = planner_page.post(f"{home}/table", data=form)
    assert answer.status_code == 422
    assert "第 2 行「承诺时限」有误" in answer.text
    assert 'value="十天" aria-label="2 承诺时限" data-column="committed_days" aria-invalid="true"' \
        in answer.text
    assert 'name="step" value="招牌"' in answer.text


def test_the_check_as_typed_answers_the_row_and_column_in_the_readers_language(
        planner_page, home):  # noqa: F811
    page = planner_page.get(home).text
    check = planner_page.post(f"{home}/table/check?lang=en",
                              data=table_form(page, committed_days=(2, "-1")))
    assert check.json() | {"message": ""} == {
        "ok": False, "row": 2, "column": "committed_days", "message": "",
        "heading": "Row 3, “Committed limit” is wrong"}
    assert planner_page.post(f"{home}/table/check", data=table_form(page)).json() == {"ok": True}


def test_undo_and_export_on_the_page(planner_page, home):  # noqa: F811
    page = planner_page.get(home).text
    planner_page.post(f"{home}/table", data=table_form(page, committed_days=(0, "2")))
    page = planner_page.get(home).text
    undone = planner_page.post(f"{home}/undo", data={"csrf_token": CSRF.search(page).group(1)},
                               follow_redirects=False)
    assert undone.status_code == 303
    page = planner_page.get(home).text
    assert "已撤销：第 3 版恢复了上一版" in page and "「营业执照」承诺时限：2 → 3" in page
    assert planner_page.get(f"{home}/table.xlsx").content[:2] == b"PK"


def test_a_graph_step_links_to_its_details_basis_and_dependents(planner_page,  # noqa: F811
                                                                 home):
    page = planner_page.get(home).text
    link = re.search(r'<a href="#(before-step-[^"]+)" class="step-link"><g class="step'
                     r'[^"]*" data-step="[^"]+"><title>营业执照', page)
    assert link
    block = page[page.index(f'id="{link.group(1)}"'):]
    block = block[:block.index("</section>")]
    assert "<h3>营业执照</h3>" in block and "户外招牌设置" in block and "估计" in block


def test_each_kept_scenario_shows_its_change_log_by_name_on_the_page(planner_page, home):  # noqa: F811
    page = planner_page.get(home).text
    planner_page.post(f"{home}/scenarios", data={
        "csrf_token": CSRF.search(page).group(1), "name": "并联", "lever": ["parallelise"]})
    page = planner_page.get(home + "?lang=en").text
    log = re.search(r'<details class="scenario-log">.*?</details>', page, re.DOTALL).group(0)
    assert "Fire safety inspection" not in log and "消防安全检查" in log
    assert not re.search(r"\bs_[0-9a-f]{6}", log)


def test_the_logs_on_the_page_follow_each_revision_and_the_readers_language(planner_page,  # noqa: F811
                                                                           home):
    """The page keeps its change logs between requests by the revision's text and the
    language: an edit shows its line in the history and the kept scenario's log as it now
    applies; English when asked."""
    page = planner_page.get(home).text
    planner_page.post(f"{home}/scenarios", data={
        "csrf_token": CSRF.search(page).group(1), "name": "合并", "lever": ["merge"]})

    def log(text: str) -> str:
        return re.search(r'<details class="scenario-log">.*?</details>', text, re.DOTALL)[0]

    assert "limit 10 working days" in log(planner_page.get(home + "?lang=en").text)
    assert "时限 10 个工作日" in log(planner_page.get(home + "?lang=zh").text)
    planner_page.post(f"{home}/table", data=table_form(page, committed_days=(1, "4")))
    page = planner_page.get(home).text
    assert "时限 4 个工作日" in log(page) and "时限 10 个工作日" not in log(page)
    assert "<li>「食品经营许可」承诺时限：10 → 4</li>" in page


def test_finish_by_lays_the_steps_backwards_on_the_workspace_page(planner_page, home):  # noqa: F811
    page = planner_page.get(home, params={"finish_by": "2025-06-30"}).text
    assert 'id="accept-by"' in page
    assert re.search(r"<tr><td>户外招牌设置</td><td class=\"num\">2025-06-\d\d</td>", page)


def test_the_risk_comes_after_load_with_its_distribution_chart(planner_page, home):  # noqa: F811
    page = planner_page.get(home, params={"lever": "parallelise"}).text
    assert 'data-computing="计算中…"' in page and 'class="bar before"' not in page
    risk = planner_page.get(f"{home}/risk", params={"lever": "parallelise"},
                            headers={"X-Fragment": "1"}).text
    assert "<html" not in risk and "P50" in risk and 'class="bar after"' in risk
    assert "<html" in planner_page.get(f"{home}/risk").text


def test_a_colleague_reads_a_shared_page_without_its_forms_and_is_refused_writes(
        client, planner_page, home, auth):  # noqa: F811
    from tests.api_fixtures import ACCOUNTS

    page = planner_page.get(home).text
    csrf = CSRF.search(page).group(1)
    planner_page.post(f"{home}/share", data={"csrf_token": csrf, "shared": "1"})
    colleague = logged_in(client, "planner2")
    assert colleague.get(home).status_code == 200
    seen = colleague.get(home).text
    assert f"只读：{ACCOUNTS['planner'][0]} 共享给你的流程" in seen
    assert 'id="table-form"' not in seen and 'action="' + home + '/scenarios"' not in seen
    theirs = CSRF.search(seen).group(1)
    for path in ("table", "undo", "share", "scenarios"):
        data = table_form(page) | {"csrf_token": theirs} if path == "table" else \
            {"csrf_token": theirs, "shared": "0", "name": "我的"}
        assert colleague.post(f"{home}/{path}", data=data).status_code == 403, path
    planner_page.post(f"{home}/share", data={"csrf_token": csrf, "shared": "0"})
    assert colleague.get(home).status_code == 404


def test_compare_shows_each_scenarios_change_log_and_distribution(planner_page,  # noqa: F811
                                                                  home):
    csrf = CSRF.search(planner_page.get(home).text).group(1)
    for name, levers in (("并联", ["parallelise"]), ("合并", ["merge"])):
        planner_page.post(f"{home}/scenarios", data={"csrf_token": csrf, "name": name,
                                                     "lever": levers})
    a, b = re.findall(r'name="a" value="([0-9a-f]{32})"', planner_page.get(home).text)
    compared = planner_page.get(f"{home}/compare", params={"a": a, "b": b}).text
    assert compared.count('<svg xmlns="http://www.w3.org/2000/svg" class="distribution"') == 2
    assert "营业执照" in compared.split('data-scenario="合并"')[1].split("</section>")[0]


def test_an_empty_or_bad_finish_by_is_the_page_without_dates_or_one_line(planner_page,  # noqa: F811
                                                                         home):
    """The lever form sends finish_by empty when no date is picked."""
    empty = planner_page.get(home, params={"lever": "parallelise", "finish_by": ""})
    assert empty.status_code == 200 and 'id="accept-by"' not in empty.text
    bad = planner_page.get(home, params={"finish_by": "2025-13-40"})
    assert bad.status_code == 422 and "finish_by" in bad.text and "Traceback" not in bad.text
