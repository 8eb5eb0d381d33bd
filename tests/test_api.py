"""The HTTP API: logins, every route's answer, and domain errors mapped to HTTP once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi import APIRouter, Form, Request
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.deps import PageUser, SessionDep
from api.main import create_app
from api.security import (
    LoginLimiter,
    authenticate,
    check_csrf,
    csrf_token,
    login_session,
)
from flows import casework
from flows.casework.tables import Case, ProcedureDefinition
from tests.api_fixtures import (
    DEFERRED_MATERIAL,
    ID_NUMBER,
    PASSWORD,
    PROCEDURE_ID,
    SECRET_KEY,
    STEPS,
    open_restaurant_case,
    small_procedure_yaml,
    snapshot,
)

SHOP = small_procedure_yaml("api_shop")


def _login(client, username, password):
    return client.post("/api/login/access-token",
                       data={"username": username, "password": password})


def test_health_answers_with_the_database_dialect(client, engine):
    assert client.get("/health").json() == {"status": "ok", "database": engine.dialect.name}


def test_a_user_logs_in_with_username_and_password_and_reads_its_account(client, accounts):
    token = _login(client, "samr_clerk", PASSWORD).json()["access_token"]
    me = client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me == {"username": "samr_clerk", "role": "clerk", "departments": ["samr"],
                  "active": True}


@pytest.mark.parametrize("username, password", [("samr_clerk", "wrong"), ("nobody", PASSWORD)])
def test_a_wrong_password_or_unknown_user_gets_401(client, accounts, username, password):
    answer = _login(client, username, password)
    assert answer.status_code == 401
    assert answer.json() == {"detail": "wrong username or password"}


def test_repeated_failed_logins_lock_that_username_out_even_with_the_right_password(
        client, accounts, app):
    """Rate limiting per username and address: after the allowed failures, 429."""
    app.state.login_limiter = LoginLimiter(attempts=3, window_seconds=600)
    for _ in range(3):
        assert _login(client, "desk", "guess").status_code == 401
    locked = _login(client, "desk", PASSWORD)
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    assert _login(client, "auditor", PASSWORD).status_code == 200


@pytest.mark.parametrize("header", [None, "Bearer not-a-token", "Bearer " + "e30." * 3])
def test_requests_without_a_valid_token_get_401(client, header):
    headers = {"Authorization": header} if header else {}
    assert client.get("/api/procedures", headers=headers).status_code == 401


def test_a_deactivated_account_token_stops_working(client, auth, accounts, engine):
    from flows.casework.accounts import User

    with Session(engine) as session:
        user = session.get(User, accounts["auditor"])
        user.active = False
        session.add(user)
        session.commit()
    assert client.get("/api/procedures", headers=auth["auditor"]).status_code == 401


def test_a_changed_role_counts_from_the_next_request(client, auth, accounts, engine):
    from flows.casework.accounts import User

    assert client.get("/api/cases", headers=auth["auditor"]).status_code == 200
    with Session(engine) as session:
        user = session.get(User, accounts["auditor"])
        user.role = "planner"
        session.add(user)
        session.commit()
    answer = client.get("/api/cases", headers=auth["auditor"])
    assert answer.status_code == 403 and "role 'planner'" in answer.json()["detail"]


@pytest.mark.parametrize("lag_seconds", [0.0, 60.0])
def test_a_board_lags_others_changes_at_most_its_lag_and_never_the_readers_own(
        client, auth, engine, monkeypatch, lag_seconds):
    """Cases opened elsewhere (here: through the domain) show on the board at once with no
    lag allowed, within the lag otherwise; once the reader changes something through this
    process, they see every change so far."""
    from api.routes import cases

    monkeypatch.setattr(cases, "BOARD_LAG_SECONDS", lag_seconds)

    def board_count() -> int:
        return client.get("/api/cases", headers=auth["admin"]).json()["count"]

    earlier = open_restaurant_case(engine)
    before = board_count()
    open_restaurant_case(engine), open_restaurant_case(engine)
    assert board_count() == (before + 2 if lag_seconds == 0 else before)
    withdrawn = client.post(f"/api/cases/{earlier}/withdraw", json={"reason": "申请人撤回"},
                            headers=auth["admin"])
    assert withdrawn.status_code == 200 and board_count() == before + 1


def test_a_cases_status_is_current_after_every_change_wherever_made(client, auth, engine):
    """A case's status is kept by the case's own change marker: no lag, and a change to
    another case leaves it as it was."""
    case_id, other = open_restaurant_case(engine), open_restaurant_case(engine)
    path = f"/api/cases/{case_id}"
    first = client.get(path, headers=auth["auditor"]).json()
    with Session(engine) as session:
        casework.withdraw_case(session, other, reason="申请人撤回", now=datetime.now(UTC))
    assert client.get(path, headers=auth["auditor"]).json() == first
    with Session(engine) as session:
        casework.withdraw_case(session, case_id, reason="申请人撤回", now=datetime.now(UTC))
    assert client.get(path, headers=auth["auditor"]).json()["status"] == "withdrawn"


def test_case_reads_carry_on_after_the_database_drops_their_connection(client, auth, engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("an SQLite file has no server to drop connections")
    from sqlalchemy import text

    case_id = open_restaurant_case(engine)
    assert client.get(f"/api/cases/{case_id}", headers=auth["auditor"]).status_code == 200
    with engine.connect() as connection:
        dropped = connection.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar_one()
    assert dropped >= 1
    for path in (f"/api/cases/{case_id}", "/api/cases"):
        assert client.get(path, headers=auth["auditor"]).status_code == 200


# --- procedures ----------------------------------------------------------------------------------


def test_a_procedure_carries_the_basis_of_every_number_and_the_shared_figures(client, auth):
    """``GET /api/procedures/{id}`` gives each number its basis, as ``show --json`` does, and
    the summary's figures are the one definition's."""
    from process_models.catalog import load_catalog_procedure
    from process_models.provenance import basis_data
    from process_models.summary import summarize

    data = client.get("/api/procedures/newborn", headers=auth["planner"]).json()
    newborn = load_catalog_procedure("newborn")
    assert data["basis"] == basis_data(newborn)
    assert {k: data["summary"][k] for k in summarize(newborn).as_dict()} == summarize(
        newborn).as_dict()


def test_an_unknown_procedure_is_404_with_a_did_you_mean(client, auth):
    answer = client.get("/api/procedures/utility_conection", headers=auth["planner"])
    assert answer.status_code == 404
    assert "(did you mean 'utility_connection'?)" in answer.json()["detail"]


@pytest.mark.parametrize("as_file", [False, True])
def test_validating_a_bad_procedure_gives_422_with_the_clis_message(
        client, auth, tmp_path, run_cli, as_file):
    """The API's message is the very line `onething validate --lang en` prints for the same
    file."""
    bad = SHOP.replace("department: samr", "department: smar")
    path = tmp_path / "shop.yaml"
    path.write_text(bad, encoding="utf-8")
    code, _, err = run_cli("validate", path, "--lang", "en")
    kwargs = ({"files": {"file": ("shop.yaml", bad.encode())}} if as_file
              else {"content": bad.encode(), "headers": {"Content-Type": "application/yaml"}})
    if not as_file:
        kwargs["headers"].update(auth["planner"])
    answer = client.post("/api/procedures/validate",
                         headers=auth["planner"] if as_file else kwargs.pop("headers"), **kwargs)
    assert answer.status_code == 422 and code == 2
    detail = answer.json()["detail"]
    assert "unknown department 'smar'" in detail and "did you mean 'samr'" in detail
    if as_file:
        assert detail.replace("shop.yaml", str(path)) in " ".join(err.split())


@pytest.mark.parametrize("body", [b"\xff\xfe not utf-8", b"id: [unclosed", b"- a list"])
def test_unreadable_yaml_is_422_never_500(client, auth, body):
    answer = client.post("/api/procedures/validate", content=body, headers=auth["planner"])
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("upload.yaml")


def test_an_uploaded_procedure_is_stored_listed_and_versioned(client, auth, engine):
    answer = client.post("/api/procedures", content=SHOP.encode(), headers=auth["planner"])
    assert answer.status_code == 201 and answer.json()["stored"] is True
    ids = [p["id"] for p in client.get("/api/procedures", headers=auth["planner"]).json()]
    assert "api_shop" in ids and PROCEDURE_ID in ids
    versions = client.get("/api/procedures/api_shop/versions", headers=auth["planner"]).json()
    assert [(v["version"], v["source"]) for v in versions] == [("1", "stored")]
    read = client.get("/api/procedures/api_shop", headers=auth["front_desk"]).json()
    assert read["procedure"]["steps"][0]["id"] == "licence"


def test_uploading_a_changed_definition_under_a_stored_version_is_409(client, auth, engine):
    assert client.post("/api/procedures", content=SHOP.encode(),
                       headers=auth["admin"]).status_code == 201
    before = snapshot(engine)
    changed = SHOP.replace("days: 3", "days: 2")
    answer = client.post("/api/procedures", content=changed.encode(), headers=auth["admin"])
    assert answer.status_code == 409
    assert "give the changed procedure a new version" in answer.json()["detail"]
    assert snapshot(engine) == before


OVERRIDE = small_procedure_yaml(PROCEDURE_ID).replace('version: "1"', "version: planner-override")


def open_catalog_case(client, auth) -> dict:
    answer = client.post("/api/cases", headers=auth["front_desk"], json={
        "procedure_id": PROCEDURE_ID, "applicant": {"name": "覆盖测试", "id_number": ID_NUMBER},
        "submitted": []})
    assert answer.status_code == 201, answer.text
    return answer.json()


def audit_events(engine, kind: str) -> list[dict]:
    from flows.casework.tables import AuditEvent

    with Session(engine) as session:
        return [e.payload for e in session.exec(select(AuditEvent).where(AuditEvent.kind == kind))]


def test_an_upload_under_a_catalog_id_is_a_draft_that_cases_do_not_run(client, auth, engine):
    """Uploading never changes what the window opens; the upload is in the audit trail."""
    catalog_version = open_catalog_case(client, auth)["procedure_version"]
    answer = client.post("/api/procedures", content=OVERRIDE.encode(), headers=auth["planner"])
    assert answer.status_code == 201, answer.text
    assert open_catalog_case(client, auth)["procedure_version"] == catalog_version
    [stored] = audit_events(engine, "definition_stored")
    assert (stored["procedure_id"], stored["version"], stored["by"]) == (
        PROCEDURE_ID, "planner-override", "planner")
    assert len(stored["digest"]) == 64


def test_only_an_admin_publishes_and_new_cases_then_run_the_published_version(
        client, auth, engine):
    client.post("/api/procedures", content=OVERRIDE.encode(), headers=auth["planner"])
    path = f"/api/procedures/{PROCEDURE_ID}/publish"
    refused = client.post(path, json={"version": "planner-override"}, headers=auth["planner"])
    assert refused.status_code == 403
    answer = client.post(path, json={"version": "planner-override"}, headers=auth["admin"])
    assert answer.status_code == 200, answer.text
    assert open_catalog_case(client, auth)["procedure_version"] == "planner-override"
    [published] = audit_events(engine, "definition_published")
    [stored] = audit_events(engine, "definition_stored")
    assert (published["by"], published["version"], published["digest"]) == (
        "admin", "planner-override", stored["digest"])
    versions = client.get(f"/api/procedures/{PROCEDURE_ID}/versions",
                          headers=auth["planner"]).json()
    assert (versions[0]["version"], versions[0]["published_by"]) == ("planner-override", "admin")
    assert client.get("/api/audit/verify", headers=auth["auditor"]).json()["ok"] is True


def test_publishing_a_version_nobody_uploaded_is_404_in_one_line(client, auth, engine):
    before = snapshot(engine)
    answer = client.post(f"/api/procedures/{PROCEDURE_ID}/publish", json={"version": "2099"},
                         headers=auth["admin"])
    assert answer.status_code == 404
    assert answer.json()["detail"].startswith(
        f"procedure '{PROCEDURE_ID}' version '2099' is neither stored nor in the catalog; "
        "upload it first (known versions: ")
    assert snapshot(engine) == before


def test_only_an_admin_resumes_a_stuck_step_and_the_board_shows_it_stuck(client, auth, engine):
    """A step paused with nothing owed (an older release's 补正 with no material) is stuck."""
    from sqlalchemy import text

    case_id = open_restaurant_case(engine)
    with engine.begin() as connection:
        step_id = connection.execute(text(
            "UPDATE case_step SET status = 'supplement', paused_on = CURRENT_DATE "
            "WHERE case_id = :c AND status = 'pending' RETURNING step_id"), {"c": case_id}
        ).scalars().first()
    board = client.get("/api/cases", headers=auth["auditor"]).json()["data"]
    assert next(r for r in board if r["case_id"] == case_id)["stuck_steps"] == [step_id]
    path = f"/api/cases/{case_id}/steps/{step_id}/resume"
    assert client.post(path, json={"reason": "恢复"}, headers=auth["clerk"]).status_code == 403
    answer = client.post(path, json={"reason": "补正未列材料，恢复办理"}, headers=auth["admin"])
    assert answer.status_code == 200, answer.text
    assert next(s for s in answer.json()["steps"] if s["step_id"] == step_id)["status"] == \
        "pending"
    again = client.post(path, json={"reason": "恢复"}, headers=auth["admin"])
    assert again.status_code == 409 and "not paused for 补正" in again.json()["detail"]


def test_the_notification_list_names_every_material_once_with_its_steps(client, auth):
    items = client.get(f"/api/procedures/{PROCEDURE_ID}/notification-list?version=before",
                       headers=auth["front_desk"]).json()["items"]
    ids = [i["material_id"] for i in items]
    assert len(ids) == len(set(ids)) and DEFERRED_MATERIAL in ids
    deferred = next(i for i in items if i["material_id"] == DEFERRED_MATERIAL)
    assert deferred["deferrable"] is True and deferred["steps"] == ["health_certificate"]


# --- simulations ------------------------------------------------------------------------------


def test_the_schedule_matches_the_clis_json(client, auth, run_cli):
    import json

    _, out, _ = run_cli("simulate", "newborn", "--start", "2025-01-24", "--json")
    cli = json.loads(out)
    api = client.post("/api/simulations/schedule", headers=auth["planner"],
                      json={"procedure_id": "newborn", "start": "2025-01-24"}).json()
    for key in ("elapsed_working_days", "critical_path", "slack", "critical_paths", "dates"):
        assert api[key] == cli[key]


def test_monte_carlo_with_a_seed_repeats_its_figures(client, auth):
    body = {"procedure_id": "restaurant", "runs": 2000, "seed": 7}
    first = client.post("/api/simulations/monte-carlo", headers=auth["planner"], json=body)
    second = client.post("/api/simulations/monte-carlo", headers=auth["planner"], json=body)
    assert first.json() == second.json()
    assert set(first.json()) >= {"p50", "p90", "p95", "on_time_probability", "criticality"}


def test_the_catalog_reform_shortens_the_newborn_procedure(client, auth):
    answer = client.post("/api/simulations/reform", headers=auth["planner"],
                         json={"procedure_id": "newborn"}).json()
    change = answer["comparison"]["change"]["elapsed_working_days"]
    assert change["after"] < change["before"] and answer["changes"]


def test_a_bad_scenario_is_422_naming_the_unknown_step(client, auth):
    scenario = "levers:\n- lever: eliminate\n  steps: [vacination]\n"
    answer = client.post("/api/simulations/reform", headers=auth["planner"],
                         json={"procedure_id": "newborn", "scenario": scenario})
    assert answer.status_code == 422
    assert "unknown step 'vacination'" in answer.json()["detail"]


def test_compare_gives_the_compression_of_two_versions(client, auth):
    assert client.post("/api/procedures", content=SHOP.encode(),
                       headers=auth["planner"]).status_code == 201
    faster = SHOP.replace('version: "1"', 'version: "2"').replace("days: 3", "days: 1")
    assert client.post("/api/procedures", content=faster.encode(),
                       headers=auth["planner"]).status_code == 201
    answer = client.post("/api/simulations/compare", headers=auth["planner"], json={
        "before": {"procedure_id": "api_shop", "version": "1"},
        "after": {"procedure_id": "api_shop", "version": "2"}}).json()
    assert answer["change"]["elapsed_working_days"]["absolute"] == -2


def test_the_advisor_ranks_levers_by_days_saved(client, auth):
    options = client.get("/api/simulations/advise", headers=auth["planner"],
                         params={"procedure_id": "restaurant"}).json()["options"]
    saved = [o["saved_working_days"] for o in options]
    assert saved == sorted(saved, reverse=True) and saved[0] > 0


@pytest.mark.parametrize("image_format, magic", [("svg", b"<?xml"), ("png", b"\x89PNG")])
def test_the_gantt_chart_comes_as_svg_or_png(client, auth, image_format, magic):
    answer = client.get("/api/simulations/gantt", headers=auth["planner"], params={
        "procedure_id": "restaurant", "reform": True, "format": image_format})
    assert answer.status_code == 200 and answer.content.startswith(magic), answer.text[:500]


# --- cases ------------------------------------------------------------------------------------------


def test_a_case_runs_from_the_window_to_its_certificates(client, auth, engine):
    """Open with a 容缺 item owed, bring it, four departments approve in turn, certificates."""
    proc_items = client.get(f"/api/procedures/{PROCEDURE_ID}/notification-list?version=before",
                            headers=auth["front_desk"]).json()["items"]
    brought = [i["material_id"] for i in proc_items if i["material_id"] != DEFERRED_MATERIAL]
    opened = client.post("/api/cases", headers=auth["front_desk"], json={
        "procedure_id": PROCEDURE_ID, "applicant": {"name": "李四", "id_number": ID_NUMBER},
        "submitted": brought, "version": "before"})
    assert opened.status_code == 201, opened.text
    case = opened.json()
    assert case["status"] == "accepted" and case["applicant"]["id_number"] == ID_NUMBER
    owed = [m for m in case["materials"] if m["status"] == "deferred"]
    assert [m["material_id"] for m in owed] == [DEFERRED_MATERIAL]
    case = client.post(f"/api/cases/{case['case_id']}/materials", headers=auth["front_desk"],
                       json={"material_ids": [DEFERRED_MATERIAL]}).json()
    for step in STEPS:
        answer = client.post(f"/api/cases/{case['case_id']}/steps/{step}/decision",
                             headers=auth["admin"], json={"outcome": "approve"})
        assert answer.status_code == 200, answer.text
        case = answer.json()
    assert case["status"] == "approved"
    assert sorted(c["step_id"] for c in case["certificates"]) == sorted(STEPS)
    kinds = [e["kind"] for e in client.get(f"/api/cases/{case['case_id']}/timeline",
                                           headers=auth["auditor"]).json()]
    assert kinds[0] == "case_opened" and kinds[-1] == "case_approved"
    assert client.get("/api/audit/verify", headers=auth["auditor"]).json()["ok"] is True


def test_a_missing_key_material_leaves_the_case_waiting_for_supplement(client, auth):
    opened = client.post("/api/cases", headers=auth["front_desk"], json={
        "procedure_id": PROCEDURE_ID, "applicant": {"name": "王五", "id_number": ID_NUMBER},
        "submitted": []})
    assert opened.status_code == 201
    assert opened.json()["status"] == "awaiting_supplement"


@pytest.mark.parametrize("applicant, material, message", [
    ({"name": "王五", "id_number": "110105194912310021"}, [], "fails its checksum"),
    ({"name": "王五", "id_number": ID_NUMBER}, ["registraton_form"],
     "did you mean 'registration_form'"),
])
def test_opening_with_bad_input_is_422_and_writes_nothing(client, auth, engine, applicant,
                                                          material, message):
    before = snapshot(engine)
    answer = client.post("/api/cases", headers=auth["front_desk"], json={
        "procedure_id": PROCEDURE_ID, "applicant": applicant, "submitted": material})
    assert answer.status_code == 422 and message in answer.json()["detail"]
    assert snapshot(engine) == before


def test_opening_a_case_of_an_unknown_procedure_is_404(client, auth):
    answer = client.post("/api/cases", headers=auth["front_desk"], json={
        "procedure_id": "newbron", "applicant": {"name": "王五", "id_number": ID_NUMBER}})
    assert answer.status_code == 404


def test_deciding_a_step_twice_is_409_naming_who_decided(client, auth, case_id):
    url = f"/api/cases/{case_id}/steps/business_licence/decision"
    assert client.post(url, headers=auth["clerk"], json={"outcome": "approve"}).status_code == 200
    again = client.post(url, headers=auth["admin"], json={"outcome": "approve"})
    assert again.status_code == 409
    assert "already decided: approve by samr_clerk" in again.json()["detail"]


def test_a_stale_expected_version_is_409(client, auth, case_id):
    answer = client.post(f"/api/cases/{case_id}/steps/business_licence/decision",
                         headers=auth["clerk"], json={"outcome": "approve",
                                                      "expected_version": 1})
    assert answer.status_code == 409


def test_a_step_not_ready_is_409_and_a_reject_without_reason_is_422(client, auth, case_id):
    url = f"/api/cases/{case_id}/steps/health_certificate/decision"
    answer = client.post(url, headers=auth["other_clerk"], json={"outcome": "approve"})
    assert answer.status_code == 409 and "is not ready" in answer.json()["detail"]
    answer = client.post(f"/api/cases/{case_id}/steps/business_licence/decision",
                         headers=auth["clerk"], json={"outcome": "reject"})
    assert answer.status_code == 422 and "needs a reason" in answer.json()["detail"]


def test_a_rejection_closes_the_case_with_its_reason(client, auth, case_id):
    answer = client.post(f"/api/cases/{case_id}/steps/business_licence/decision",
                         headers=auth["clerk"], json={"outcome": "reject", "reason": "容量不足"})
    assert answer.json()["status"] == "rejected"
    assert "容量不足" in answer.json()["close_reason"]


def test_a_withdrawn_case_cannot_be_withdrawn_again(client, auth, case_id):
    url = f"/api/cases/{case_id}/withdraw"
    first = client.post(url, headers=auth["front_desk"], json={"reason": "申请人撤回"})
    assert first.json()["status"] == "withdrawn"
    again = client.post(url, headers=auth["front_desk"], json={"reason": "申请人撤回"})
    assert again.status_code == 409


def test_an_unknown_case_is_404(client, auth):
    assert client.get("/api/cases/C-20990101-0001", headers=auth["auditor"]).status_code == 404


def test_the_board_counts_colours_and_filters_by_colour_and_department(client, auth, engine):
    first = open_restaurant_case(engine)
    open_restaurant_case(engine)
    board = client.get("/api/cases", headers=auth["auditor"]).json()
    assert board["count"] == 2 and sum(board["colours"].values()) == 2
    green = client.get("/api/cases", headers=auth["auditor"], params={"colour": "green"}).json()
    assert green["count"] == board["colours"]["green"]
    none = client.get("/api/cases", headers=auth["auditor"],
                      params={"department_id": "hospital"}).json()
    assert none["count"] == 0
    client.post(f"/api/cases/{first}/withdraw", headers=auth["admin"], json={"reason": "撤回"})
    assert client.get("/api/cases", headers=auth["admin"]).json()["count"] == 1
    everything = client.get("/api/cases", headers=auth["admin"],
                            params={"include_closed": True}).json()
    assert everything["count"] == 2


def test_the_board_and_a_case_show_a_change_at_once_to_whoever_made_it(
        client, auth, engine, case_id):
    """Answers are reused only while the cases are unchanged: the next read of the account
    that changed a case shows that change and every other made before it."""
    def board():
        return [c["case_id"] for c in client.get("/api/cases", headers=auth["admin"])
                .json()["data"]]

    def status():
        return client.get(f"/api/cases/{case_id}", headers=auth["admin"]).json()["status"]

    assert (board(), status()) == ([case_id], "accepted")
    later = open_restaurant_case(engine)
    client.post(f"/api/cases/{case_id}/withdraw", headers=auth["admin"], json={"reason": "撤回"})
    assert (board(), status()) == ([later], "withdrawn")


@pytest.mark.parametrize("path", ["/api/cases", "/api/cases/{case_id}"])
def test_each_role_gets_its_own_view_of_the_same_answer(client, auth, case_id, path):
    """An auditor's masked answer is never reused for the front desk, nor the other way."""
    def applicant(identity):
        answer = client.get(path.format(case_id=case_id), headers=auth[identity]).json()
        return (answer["data"][0] if "data" in answer else answer)["applicant"]

    assert applicant("auditor")["id_number"] != ID_NUMBER
    assert applicant("front_desk")["id_number"] == ID_NUMBER
    assert applicant("auditor")["masked"] is True


def test_the_audit_report_comes_as_json_and_as_csv(client, auth):
    data = client.get("/api/audit/report", headers=auth["auditor"],
                      params={"procedure_id": "newborn"}).json()
    assert data["totals"]["headline"].startswith("1个一件事：")
    csv = client.get("/api/audit/report", headers=auth["auditor"],
                     params={"procedure_id": "newborn", "format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv") and "新生儿" in csv.text


def test_a_tampered_audit_event_is_reported_by_verify(client, auth, engine, case_id):
    from sqlalchemy import text

    with engine.begin() as connection:
        connection.execute(text("UPDATE audit_event SET kind = 'edited' WHERE seq = 1"))
    report = client.get("/api/audit/verify", headers=auth["auditor"]).json()
    assert report["ok"] is False and report["first_bad_seq"] == 1


def test_uploaded_cases_refer_to_stored_rows(engine, client, auth):
    """Opening through the API stores the definition the case runs (procedure and version)."""
    case = open_restaurant_case(engine)
    with Session(engine) as session:
        row = session.get(Case, case)
        stored = session.exec(select(ProcedureDefinition.procedure_id)).all()
    assert row.procedure_id in stored


# --- the pages' session cookie and CSRF (a router mounted on the app, as the pages do) -----


@pytest.fixture
def cookie_client(engine, accounts, prefect_harness):
    """The app with a small page router: log in by cookie, then post a CSRF-checked form."""
    pages = APIRouter()

    @pages.post("/test/login")
    def login(request: Request, session: SessionDep, username: str = Form(),
              password: str = Form()) -> dict:
        login_session(request, authenticate(session, username, password))
        return {"csrf": csrf_token(request)}

    @pages.post("/test/form")
    def form(request: Request, user: PageUser, csrf_token: str = Form("")) -> dict:
        check_csrf(request, csrf_token)
        return {"user": user.username if user else None}

    app = create_app(engine, secret_key=SECRET_KEY, demo_accounts=False, relay=False)
    app.include_router(pages)
    with TestClient(app) as client:
        yield client


def test_a_page_form_needs_the_sessions_csrf_token(cookie_client):
    answer = cookie_client.post("/test/login", data={"username": "desk", "password": PASSWORD})
    assert answer.status_code == 200, (answer.status_code, answer.text)
    token = answer.json()["csrf"]
    assert cookie_client.post("/test/form", data={"csrf_token": token}).json() == {"user": "desk"}
    refused = cookie_client.post("/test/form", data={"csrf_token": "forged"})
    assert refused.status_code == 403 and "CSRF token" in refused.json()["detail"]
    assert cookie_client.post("/test/form").status_code == 403


def test_the_session_cookie_does_not_authenticate_the_json_api(cookie_client):
    """The API takes bearer tokens only, so page cookies cannot be used cross-site on it."""
    cookie_client.post("/test/login", data={"username": "admin", "password": PASSWORD})
    assert cookie_client.get("/api/procedures").status_code == 401


def test_every_operation_has_a_one_line_description_and_documented_errors(app):
    """Route docstrings become the OpenAPI text; every API route documents its error answers."""
    schema = app.openapi()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            description = operation.get("description", "")
            assert description and "\n" not in description.strip(), (method, path)
            if path.startswith("/api/") and path != "/api/login/access-token":
                assert {"401", "403", "422"} <= set(operation["responses"]), (method, path)
