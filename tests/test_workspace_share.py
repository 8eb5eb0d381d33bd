"""A workspace procedure shared read-only with colleagues by account, through the API and the
pages: the colleague named lists it as its owner's and reads it, every change of theirs is
403 (said in their language on the pages), and anyone else gets 404 as for a missing one."""

from __future__ import annotations

import html

import pytest

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

ONE_ROW = ["营业执照", "市场监管局", "", "", "", "3", "", "", "", "", "", "", ""]


@pytest.fixture
def stored(client, auth) -> str:  # noqa: F811
    """开餐馆 uploaded by the planner (account ``planner``); its workspace id."""
    return upload(client, auth["planner"], step_table()).json()["id"]


def api_path(workspace_id: str, rest: str) -> str:
    return f"/api/workspace/procedures/{workspace_id}/{rest}"


def test_the_auditor_named_reads_it_and_another_planner_gets_404_as_for_a_missing_one(
        client, auth, stored):  # noqa: F811
    shared = client.put(api_path(stored, "readers/auditor"), headers=auth["planner"])
    assert shared.status_code == 200, shared.text
    assert [r["reader"] for r in shared.json()] == ["auditor"]
    listed = client.get("/api/workspace/procedures", headers=auth["auditor"]).json()
    assert [(p["id"], p["owner"], p["shared"]) for p in listed] == [(stored, "planner", False)]
    for rest in ("graph.svg", "table", "revisions", "scenarios", "table.xlsx"):
        assert client.get(api_path(stored, rest), headers=auth["auditor"]).status_code == 200
        assert client.get(api_path(stored, rest),
                          headers=auth["other_planner"]).status_code == 404, rest
    assert client.get("/api/workspace/procedures", headers=auth["other_planner"]).json() == []
    stopped = client.delete(api_path(stored, "readers/auditor"), headers=auth["planner"])
    assert stopped.status_code == 200 and stopped.json() == []
    assert client.get(api_path(stored, "graph.svg"), headers=auth["auditor"]).status_code == 404
    assert client.get("/api/workspace/procedures", headers=auth["auditor"]).json() == []


@pytest.mark.parametrize(("method", "rest", "body"), [
    ("PUT", "table", {"rows": [ONE_ROW]}),
    ("POST", "undo", None),
    ("PUT", "shared", {"shared": True}),
    ("POST", "scenarios", {"name": "我的", "levers": []}),
    ("GET", "readers", None),
    ("PUT", "readers/auditor", None),
    ("DELETE", "readers/planner2", None),
])
def test_every_change_by_the_colleague_named_is_403_naming_the_owner(
        client, auth, stored, method, rest, body):  # noqa: F811
    client.put(api_path(stored, "readers/planner2"), headers=auth["planner"])
    answer = client.request(method, api_path(stored, rest), headers=auth["other_planner"],
                            json=body)
    assert answer.status_code == 403, answer.text
    assert "shared with you read-only by planner" in answer.json()["detail"]


@pytest.mark.parametrize(("reader", "detail"), [
    ("planner", "reader: 'planner' is you, the owner; name a colleague's account"),
    ("planer2", ("reader: no active account 'planer2'; name a colleague's account "
                "(did you mean 'planner2'?)")),
    ("desk", ("reader: 'desk' is a front_desk account, which does not read workspaces; share "
             "with an account of role admin, auditor, planner")),
])
def test_sharing_with_an_account_that_cannot_read_it_is_422_naming_the_account(
        client, auth, stored, reader, detail):  # noqa: F811
    answer = client.put(api_path(stored, f"readers/{reader}"), headers=auth["planner"])
    assert (answer.status_code, answer.json()["detail"]) == (422, detail)
    assert client.get(api_path(stored, "readers"), headers=auth["planner"]).json() == []


# --- the pages -----------------------------------------------------------------------------


@pytest.fixture
def home(planner_page) -> str:  # noqa: F811
    """The page of 开餐馆, uploaded by the planner through the page."""
    return post_file(planner_page, step_table()).headers["location"]


def share_on_page(browser, home: str, reader: str, action: str = "readers"):
    csrf = CSRF.search(browser.get(home).text).group(1)
    return browser.post(f"{home}/{action}", data={"csrf_token": csrf, "reader": reader},
                        follow_redirects=False)


def test_the_owner_shares_on_the_page_and_the_colleague_finds_it_marked_by_its_owner(
        client, planner_page, home):  # noqa: F811
    page = planner_page.get(home).text
    assert 'id="readers-none"' in page
    assert '<option value="auditor">审计人员</option>' in page
    assert '<option value="planner">' not in page and '<option value="desk">' not in page
    assert share_on_page(planner_page, home, "auditor").status_code == 303
    page = planner_page.get(home).text
    assert "已共享给 auditor（只读）" in page
    assert '<span class="reader">auditor</span>（审计人员）' in page
    auditor = logged_in(client, "auditor")
    listing = auditor.get("/workspace").text
    assert 'id="upload"' not in listing
    assert '<td class="shared-by">planner 共享（只读）</td>' in listing
    seen = auditor.get(home)
    assert seen.status_code == 200
    assert 'id="table-form"' not in seen.text and 'id="share-with"' not in seen.text
    assert logged_in(client, "planner2").get(home).status_code == 404
    assert share_on_page(planner_page, home, "auditor", "readers/remove").status_code == 303
    assert auditor.get(home).status_code == 404


@pytest.mark.parametrize(("lang", "line"), [
    ("zh", "只读：这是 planner 共享给你的流程，只有所有者能修改"),
    ("en", "Read-only: planner shared this procedure with you, and only its owner changes it"),
])
def test_a_colleagues_change_on_the_page_is_403_in_their_language(client, planner_page, home,  # noqa: F811
                                                                   lang, line):
    share_on_page(planner_page, home, "planner2")
    colleague = logged_in(client, "planner2")
    theirs = CSRF.search(colleague.get(home).text).group(1)
    for action in ("undo", "readers"):
        answer = colleague.post(f"{home}/{action}?lang={lang}",
                                data={"csrf_token": theirs, "reader": "auditor"})
        assert answer.status_code == 403 and line in answer.text, action


def test_sharing_with_a_misspelt_account_on_the_page_says_so_in_chinese(planner_page, home):  # noqa: F811
    share_on_page(planner_page, home, "planer2")
    page = html.unescape(planner_page.get(home).text)
    assert "没有在用的账号「planer2」；请填写同事的账号（是不是「planner2」？）" in page
    assert 'id="readers-none"' in page
