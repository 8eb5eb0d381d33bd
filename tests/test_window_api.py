"""The HTTP API at a 一件事 window: the reformed bundle, 告知承诺 and its 核查, 容缺 promises."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.api_fixtures import DEFERRED_MATERIAL, ID_NUMBER, open_restaurant_case

LETTER = {"text": "本人承诺经营场所符合食品安全要求，如有不实，愿承担撤销许可的后果。",
          "signed_by": "张三"}


def open_newborn(client, auth, **extra) -> dict:
    answer = client.post("/api/cases", headers=auth["front_desk"], json={
        "procedure_id": "newborn", "applicant": {"name": "张三", "id_number": ID_NUMBER},
        "submitted": [], **extra})
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_the_window_opens_the_reformed_bundle_and_the_before_version_only_when_asked(
        client, auth):
    assert open_newborn(client, auth)["procedure_version"] == "after-2023"
    assert open_newborn(client, auth, version="before")["procedure_version"] == "before-2023"


def test_an_unknown_version_is_a_404_naming_the_versions_there_are(client, auth):
    answer = client.post("/api/cases", headers=auth["front_desk"], json={
        "procedure_id": "newborn", "applicant": {"name": "张三", "id_number": ID_NUMBER},
        "version": "2099"})
    assert answer.status_code == 404
    assert "before-2023, after-2023" in answer.json()["detail"]


@pytest.fixture
def food_pending(client, auth, engine) -> str:
    """A restaurant case (every material brought) with its business licence and health
    certificates approved."""
    case_id = open_restaurant_case(engine, all_materials=True)
    for step, who in (("business_licence", "clerk"), ("health_certificate", "other_clerk")):
        answer = client.post(f"/api/cases/{case_id}/steps/{step}/decision", headers=auth[who],
                             json={"outcome": "approve"})
        assert answer.status_code == 200, answer.text
    return case_id


def test_a_commitment_signed_at_the_window_decides_the_step_and_lists_its_check(
        client, auth, food_pending):
    answer = client.post(f"/api/cases/{food_pending}/steps/food_licence/commitment",
                         headers=auth["front_desk"], json=LETTER)
    assert answer.status_code == 200, answer.text
    case = answer.json()
    assert {s["step_id"]: s["status"] for s in case["steps"]}["food_licence"] == "approved"
    [commitment] = case["commitments"]
    assert (commitment["signed_by"], commitment["recorded_by"]) == ("张三", "desk")
    checks = client.get("/api/cases/checks", headers=auth["clerk"]).json()
    assert [(c["case_id"], c["step_name"], c["department_name"], c["check_due_date"])
            for c in checks["data"]] == [(food_pending, "食品经营许可 (餐饮服务)", "市场监督管理局",
                                          commitment["check_due_date"])]


def test_a_step_without_commitment_is_refused_with_409(client, auth, case_id):
    answer = client.post(f"/api/cases/{case_id}/steps/business_licence/commitment",
                         headers=auth["front_desk"], json=LETTER)
    assert answer.status_code == 409
    assert "cannot be decided under 告知承诺" in answer.json()["detail"]


def test_a_failed_check_needs_a_reason_its_own_department_and_then_rejects_the_step(
        client, auth, food_pending):
    """The signboard and the fire inspection need the food licence and end with it; the two
    items approved before keep their certificates: the case closes partially approved."""
    client.post(f"/api/cases/{food_pending}/steps/food_licence/commitment",
                headers=auth["front_desk"], json=LETTER)
    path = f"/api/cases/{food_pending}/steps/food_licence/check"
    assert client.post(path, headers=auth["other_clerk"],
                       json={"result": "passed"}).status_code in (403, 404)
    no_reason = client.post(path, headers=auth["clerk"], json={"result": "failed"})
    assert no_reason.status_code == 422 and "reason is empty" in no_reason.json()["detail"]
    answer = client.post(path, headers=auth["clerk"],
                         json={"result": "failed", "reason": "承诺不实"})
    assert answer.status_code == 200, answer.text
    case = client.get(f"/api/cases/{food_pending}", headers=auth["auditor"]).json()
    assert case["status"] == "partially_approved"
    assert "核查未通过: 承诺不实" in case["close_reason"]
    assert {s["step_id"]: s["status"] for s in case["steps"]} == {
        "business_licence": "approved", "health_certificate": "approved",
        "food_licence": "rejected", "signboard": "cancelled", "fire_inspection": "cancelled"}
    assert len(case["certificates"]) == 2


def test_a_promise_outside_the_bounds_is_a_422_and_inside_them_sets_the_due_date(
        client, auth, case_id):
    path = f"/api/cases/{case_id}/materials/{DEFERRED_MATERIAL}/promise"
    far = client.post(path, headers=auth["front_desk"],
                      json={"promised": str(date.today() + timedelta(days=90))})
    assert far.status_code == 422 and "outside the 容缺 bounds" in far.json()["detail"]
    near = date.today() + timedelta(days=7)
    answer = client.post(path, headers=auth["front_desk"], json={"promised": str(near)})
    assert answer.status_code == 200, answer.text
    owed = {m["material_id"]: m for m in answer.json()["materials"]}[DEFERRED_MATERIAL]
    assert owed["due_date"] == str(near)
