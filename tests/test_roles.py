"""Route × role: every allowed action succeeds, every forbidden one gets 403 and changes nothing.

The table names each route once with the identities allowed to use it; the test runs
every (route, identity) pair against a fresh database holding one accepted
``restaurant`` case (business licence pending with 市场监管, staff photo owed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest

from tests.api_fixtures import (
    ACCOUNTS,
    DEFERRED_MATERIAL,
    ID_NUMBER,
    PROCEDURE_ID,
    small_procedure_yaml,
    snapshot,
)

EVERYONE = frozenset(ACCOUNTS)
CASE_READERS = frozenset({"front_desk", "clerk", "other_clerk", "auditor", "supervisor", "admin"})
SUPERVISION_READERS = frozenset({"clerk", "other_clerk", "auditor", "supervisor", "admin"})
SUPERVISION_REPORTERS = frozenset({"auditor", "supervisor", "admin"})
ANALYSTS = frozenset({"planner", "auditor", "admin"})
PLANNERS = frozenset({"planner", "admin"})
UPLOAD = small_procedure_yaml("roles_shop")
NO_WORKSPACE = "0" * 32


@dataclass(frozen=True)
class Route:
    """One action: method, path (``{case_id}`` filled in), request, who may do it."""

    name: str
    method: str
    path: str
    allowed: frozenset[str]
    json: dict[str, Any] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    content: bytes | None = None
    files: dict[str, tuple[str, bytes]] | None = None
    changes: bool = False
    status: int = 200


ROUTES = [
    Route("list procedures", "GET", "/api/procedures", EVERYONE),
    Route("read procedure", "GET", f"/api/procedures/{PROCEDURE_ID}", EVERYONE),
    Route("procedure versions", "GET", f"/api/procedures/{PROCEDURE_ID}/versions", EVERYONE),
    Route("notification list", "GET", f"/api/procedures/{PROCEDURE_ID}/notification-list",
          EVERYONE),
    Route("publish a version", "POST", f"/api/procedures/{PROCEDURE_ID}/publish",
          frozenset({"admin"}), json={"version": "after"}, changes=True),
    Route("validate procedure", "POST", "/api/procedures/validate", EVERYONE,
          content=UPLOAD.encode()),
    Route("upload procedure", "POST", "/api/procedures", frozenset({"planner", "admin"}),
          content=UPLOAD.encode(), changes=True, status=201),
    Route("schedule", "POST", "/api/simulations/schedule", ANALYSTS,
          json={"procedure_id": PROCEDURE_ID, "start": "2025-01-24"}),
    Route("monte-carlo", "POST", "/api/simulations/monte-carlo", ANALYSTS,
          json={"procedure_id": PROCEDURE_ID, "runs": 200}),
    Route("reform", "POST", "/api/simulations/reform", ANALYSTS,
          json={"procedure_id": PROCEDURE_ID}),
    Route("compare", "POST", "/api/simulations/compare", ANALYSTS,
          json={"before": {"procedure_id": PROCEDURE_ID}, "after": {"procedure_id": "newborn"}}),
    Route("advise", "GET", "/api/simulations/advise", ANALYSTS,
          params={"procedure_id": PROCEDURE_ID}),
    Route("gantt", "GET", "/api/simulations/gantt", ANALYSTS,
          params={"procedure_id": PROCEDURE_ID}),
    Route("audit report", "GET", "/api/audit/report", ANALYSTS,
          params={"procedure_id": PROCEDURE_ID}),
    Route("verify audit chain", "GET", "/api/audit/verify", frozenset({"auditor", "admin"})),
    Route("planned versus actual", "GET", "/api/audit/actual", frozenset({"auditor", "admin"})),
    Route("case history as XES", "GET", "/api/audit/export", frozenset({"auditor", "admin"}),
          params={"format": "xes"}),
    # No limit given with the log: past the gate, 422 (tests/test_auditor_page.py audits one).
    Route("audit another system's log", "POST", "/api/audit/log", frozenset({"auditor", "admin"}),
          files={"file": ("log.csv", b"case,activity,time\n")}, status=422),
    Route("case board", "GET", "/api/cases", CASE_READERS),
    Route("read case", "GET", "/api/cases/{case_id}", CASE_READERS),
    Route("case timeline", "GET", "/api/cases/{case_id}/timeline", CASE_READERS),
    Route("open case", "POST", "/api/cases", frozenset({"front_desk", "admin"}),
          json={"procedure_id": PROCEDURE_ID,
                "applicant": {"name": "赵六", "id_number": ID_NUMBER}, "submitted": []},
          changes=True, status=201),
    Route("submit materials", "POST", "/api/cases/{case_id}/materials",
          frozenset({"front_desk", "admin"}), json={"material_ids": [DEFERRED_MATERIAL]},
          changes=True),
    Route("decide own step", "POST", "/api/cases/{case_id}/steps/business_licence/decision",
          frozenset({"clerk", "admin"}), json={"outcome": "approve"}, changes=True),
    Route("withdraw case", "POST", "/api/cases/{case_id}/withdraw",
          frozenset({"front_desk", "admin"}), json={"reason": "申请人撤回"}, changes=True),
    Route("resume a paused step", "POST", "/api/cases/{case_id}/steps/business_licence/resume",
          frozenset({"admin"}), json={"reason": "恢复办理"}, status=409),   # not paused
    Route("核查 tasks", "GET", "/api/cases/checks", CASE_READERS),
    # The business licence allows no 告知承诺 and has no commitment: past the gate, 409.
    Route("sign a commitment", "POST", "/api/cases/{case_id}/steps/business_licence/commitment",
          frozenset({"front_desk", "admin"}), json={"text": "本人承诺", "signed_by": "张三"},
          status=409),
    Route("record a 核查", "POST", "/api/cases/{case_id}/steps/business_licence/check",
          frozenset({"clerk", "admin"}), json={"result": "passed"}, status=409),
    Route("promise a 容缺 material", "POST",
          f"/api/cases/{{case_id}}/materials/{DEFERRED_MATERIAL}/promise",
          frozenset({"front_desk", "admin"}),
          json={"promised": str(date.today() + timedelta(days=7))}, changes=True),
    Route("督办 notices", "GET", "/api/supervision/notices", SUPERVISION_READERS),
    Route("answer a 督办 notice", "POST", "/api/supervision/notices/1/answer",
          frozenset({"clerk", "other_clerk", "admin"}), json={"text": "已说明"},
          status=404),   # no notice yet: past the gate, 404
    Route("督办 report", "GET", "/api/supervision/report", SUPERVISION_REPORTERS),
    Route("督办 report as XLSX", "GET", "/api/supervision/report", SUPERVISION_REPORTERS,
          params={"format": "xlsx"}),
    Route("秒批 share", "GET", "/api/supervision/auto-share", SUPERVISION_REPORTERS),
    Route("秒批 share as XLSX", "GET", "/api/supervision/auto-share", SUPERVISION_REPORTERS,
          params={"format": "xlsx"}),
    Route("department grades", "GET", "/api/supervision/grades", SUPERVISION_REPORTERS,
          params={"year": 2025, "quarter": 1}),
    Route("record 帮办代办", "POST", "/api/cases/{case_id}/agent",
          frozenset({"front_desk", "admin"}),
          json={"agent": "王帮办", "authorisation": "委托书 2025-031"}, changes=True),
    # 好差评: only the case's applicant rates (applicant tokens: tests/test_applicant_api.py).
    Route("rate a case", "POST", "/api/cases/{case_id}/rating", frozenset(), json={"score": 2}),
    Route("the applicant's cases", "GET", "/api/applicant/cases", frozenset()),
    # No rating yet: past the gate, nothing to follow up (409).
    Route("follow up a 差评", "POST", "/api/cases/{case_id}/rating/follow-up",
          frozenset({"front_desk", "clerk", "other_clerk", "admin"}),
          json={"action": "call_back", "text": "已回访"}, status=409),
    Route("open 差评 follow-ups", "GET", "/api/ratings/follow-ups",
          frozenset({"front_desk", "clerk", "other_clerk", "admin"})),
    Route("好差评 report", "GET", "/api/ratings/report", ANALYSTS,
          params={"group_by": "department"}),
    # No ledger file set: 404 past the gate (tests/test_tasks_page.py reads one).
    Route("reform-task ledger", "GET", "/api/reform-tasks",
          frozenset({"planner", "auditor", "supervisor", "admin"}), status=404),
    # The planner's workspace, read by auditors too (what is shared with them); an unknown id
    # is 404 past the gate (tests/test_workspace.py walks a stored one, and another planner's).
    Route("upload to the workspace", "POST", "/api/workspace/procedures", PLANNERS,
          files={"file": ("shop.yaml", UPLOAD.encode())}, changes=True, status=201),
    Route("list the workspace", "GET", "/api/workspace/procedures", ANALYSTS),
    Route("workspace graph", "GET", f"/api/workspace/procedures/{NO_WORKSPACE}/graph.svg",
          ANALYSTS, status=404),
    Route("workspace report", "GET", f"/api/workspace/procedures/{NO_WORKSPACE}/report.docx",
          ANALYSTS, status=404),
    Route("workspace report as XLSX", "GET",
          f"/api/workspace/procedures/{NO_WORKSPACE}/report.xlsx", ANALYSTS, status=404),
    Route("keep a scenario", "POST", f"/api/workspace/procedures/{NO_WORKSPACE}/scenarios",
          PLANNERS, json={"name": "并联", "levers": ["parallelise"]}, status=404),
    Route("kept scenarios", "GET", f"/api/workspace/procedures/{NO_WORKSPACE}/scenarios",
          ANALYSTS, status=404),
    # Editing it (tests/test_workspace_edit.py walks a stored one, and a colleague's 403).
    Route("workspace step table", "GET", f"/api/workspace/procedures/{NO_WORKSPACE}/table",
          ANALYSTS, status=404),
    Route("edit the step table", "PUT", f"/api/workspace/procedures/{NO_WORKSPACE}/table",
          PLANNERS, json={"rows": [["营业执照", "市场监管局", "", "", "", "3", "", "", "", "",
                                    "", "", ""]]}, status=404),
    Route("undo a workspace change", "POST", f"/api/workspace/procedures/{NO_WORKSPACE}/undo",
          PLANNERS, status=404),
    Route("share a workspace procedure", "PUT",
          f"/api/workspace/procedures/{NO_WORKSPACE}/shared", PLANNERS,
          json={"shared": True}, status=404),
    Route("workspace revisions", "GET", f"/api/workspace/procedures/{NO_WORKSPACE}/revisions",
          ANALYSTS, status=404),
    Route("workspace table as XLSX", "GET",
          f"/api/workspace/procedures/{NO_WORKSPACE}/table.xlsx", ANALYSTS, status=404),
    Route("colleagues a workspace procedure is shared with", "GET",
          f"/api/workspace/procedures/{NO_WORKSPACE}/readers", PLANNERS, status=404),
    Route("share a workspace procedure with a colleague", "PUT",
          f"/api/workspace/procedures/{NO_WORKSPACE}/readers/auditor", PLANNERS, status=404),
    Route("stop sharing a workspace procedure with a colleague", "DELETE",
          f"/api/workspace/procedures/{NO_WORKSPACE}/readers/auditor", PLANNERS, status=404),
]


@pytest.mark.parametrize("identity", sorted(ACCOUNTS))
@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
def test_each_role_may_do_exactly_what_its_permissions_allow(client, auth, engine, case_id,
                                                             route, identity):
    before = snapshot(engine)
    answer = client.request(route.method, route.path.format(case_id=case_id),
                            headers=auth[identity], json=route.json, params=route.params,
                            content=route.content, files=route.files)
    if identity in route.allowed:
        assert answer.status_code == route.status, answer.text
        assert (snapshot(engine) != before) == route.changes
    else:
        assert answer.status_code == 403, answer.text
        assert snapshot(engine) == before


def test_a_clerk_cannot_see_a_case_without_a_step_of_its_departments(client, auth, engine,
                                                                      password_hash):
    """Scope: a police clerk neither lists nor reads a restaurant case (no police step), and
    cannot tell it from a missing one: the same 404 and the same body for both."""
    from datetime import UTC, datetime

    from sqlmodel import Session

    from api.security import create_access_token
    from flows.casework.accounts import add_user
    from tests.api_fixtures import SECRET_KEY, open_restaurant_case

    case = open_restaurant_case(engine)
    with Session(engine) as session:
        police = add_user(session, "police_clerk", password_hash=password_hash, role="clerk",
                          departments=["police"], now=datetime.now(UTC)).id
    headers = {"Authorization": "Bearer " + create_access_token(police, secret_key=SECRET_KEY)}
    assert client.get("/api/cases", headers=headers).json()["count"] == 0
    missing = case[:-4] + "9999"
    for path in ("", "/timeline"):  # and every other route: they all ask check_case_visible
        out_of_scope = client.get(f"/api/cases/{case}{path}", headers=headers)
        absent = client.get(f"/api/cases/{missing}{path}", headers=headers)
        assert (out_of_scope.status_code, absent.status_code) == (404, 404)
        assert out_of_scope.json() == {"detail": absent.json()["detail"].replace(missing, case)}
    assert client.get("/api/cases", headers=auth["clerk"]).json()["count"] == 1


def test_a_clerk_deciding_another_departments_step_is_refused_with_the_reason(
        client, auth, engine, case_id):
    before = snapshot(engine)
    answer = client.post(f"/api/cases/{case_id}/steps/business_licence/decision",
                         headers=auth["other_clerk"], json={"outcome": "approve"})
    assert answer.status_code == 403
    assert answer.json()["detail"] == (
        f"step 'business_licence' of case {case_id} belongs to department 'samr'; "
        "user 'cdc_clerk' decides only for cdc")
    assert snapshot(engine) == before


def test_every_api_route_is_in_the_role_table(app):
    """A new route must say who may use it here, or this test fails."""
    covered = {(r.method, r.path) for r in ROUTES}
    open_routes = {("POST", "/api/login/access-token"), ("GET", "/api/users/me"),
                   ("POST", "/api/logout"),   # any account: its own token and session
                   ("POST", "/api/applicant/code"), ("POST", "/api/applicant/token")}
                   # an applicant logging in with an SMS code
    paths = app.openapi()["paths"]   # app.routes holds included routers unexpanded
    assert "/api/cases/{case_id}/steps/{step_id}/decision" in paths
    for path, operations in paths.items():
        if path.startswith("/api"):
            for method in operations:
                key = (method.upper(), path.replace("{step_id}", "business_licence")
                       .replace("{procedure_id}", PROCEDURE_ID)
                       .replace("{material_id}", DEFERRED_MATERIAL)
                       .replace("{notice_id}", "1")
                       .replace("{workspace_id}", NO_WORKSPACE)
                       .replace("{reader}", "auditor"))
                if path.endswith("{report_format}"):
                    key = (key[0], key[1].replace("{report_format}", "docx"))
                assert key in covered | open_routes, key
