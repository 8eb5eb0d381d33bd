"""Personal data: applicants' ID numbers never reach a role, a response or a log line that
should not hold them.

A full ``restaurant`` case runs through the API (opened at the window, the owed material
brought, every step approved, and a second case refused for a bad checksum); then every
role reads everything it may. Only the front desk and administrators may see an ID number
whole; every log line of the run, whoever caused it, shows it masked.
"""

from __future__ import annotations

import logging

import pytest

from api.masking import MaskIdNumbers, mask_text
from flows.casework.identity import mask_id_number
from tests.api_fixtures import (
    ACCOUNTS,
    DEFERRED_MATERIAL,
    ID_NUMBER,
    PROCEDURE_ID,
    STEPS,
)

BAD_CHECKSUM = ID_NUMBER[:-1] + "1"
FULL_VIEW = {"front_desk", "admin"}
PHONE = "13812345678"
ADDRESS = "北京市东城区东华门街道"
OUR_LOGGERS = ("api", "flows", "process_models", "simulations", "uvicorn", "fastapi")
"""Loggers captured at every level; Prefect's own lines are read from stderr (its console
handler). The root stays at its level: lowered, it would feed the HTTP client's records
into Prefect's API log handler while that handler is sending, which fails and prints."""


def _run_full_case(client, auth) -> str:
    items = client.get(f"/api/procedures/{PROCEDURE_ID}/notification-list?version=before",
                       headers=auth["front_desk"]).json()["items"]
    opened = client.post("/api/cases", headers=auth["front_desk"], json={
        "procedure_id": PROCEDURE_ID, "version": "before",
        "applicant": {"name": "张三", "id_number": ID_NUMBER, "phone": PHONE,
                      "address": ADDRESS},
        "submitted": [i["material_id"] for i in items if i["material_id"] != DEFERRED_MATERIAL]})
    case_id = opened.json()["case_id"]
    client.post(f"/api/cases/{case_id}/materials", headers=auth["front_desk"],
                json={"material_ids": [DEFERRED_MATERIAL]})
    for step in STEPS:
        who = "clerk" if step in ("business_licence", "food_licence") else "admin"
        answer = client.post(f"/api/cases/{case_id}/steps/{step}/decision", headers=auth[who],
                             json={"outcome": "approve"})
        assert answer.status_code == 200, answer.text
    refused = client.post("/api/cases", headers=auth["front_desk"], json={
        "procedure_id": PROCEDURE_ID, "applicant": {"name": "李四", "id_number": BAD_CHECKSUM}})
    assert refused.status_code == 422
    return case_id


def _reads(case_id: str) -> list[tuple[str, str, dict]]:
    return [
        ("GET", "/api/cases", {}),
        ("GET", "/api/cases", {"include_closed": True}),
        ("GET", f"/api/cases/{case_id}", {}),
        ("GET", f"/api/cases/{case_id}/timeline", {}),
        ("GET", "/api/procedures", {}),
        ("GET", "/api/audit/verify", {}),
        ("GET", "/api/users/me", {}),
    ]


def test_no_unmasked_id_number_reaches_a_role_or_a_log_line_that_should_not_hold_it(
        client, auth, caplog, capfd):
    for name in OUR_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    case_id = _run_full_case(client, auth)
    bodies: dict[str, list[str]] = {identity: [] for identity in ACCOUNTS}
    for identity in ACCOUNTS:
        for method, path, params in _reads(case_id):
            answer = client.request(method, path, params=params, headers=auth[identity])
            bodies[identity].append(answer.text)

    for identity, texts in bodies.items():
        text = "\n".join(texts)
        if identity in FULL_VIEW:
            assert ID_NUMBER in text and PHONE in text and ADDRESS in text
        else:
            assert ID_NUMBER not in text and PHONE not in text and ADDRESS not in text
        if identity in {"clerk", "auditor"}:
            assert mask_id_number(ID_NUMBER) in text
        if identity == "planner":
            assert mask_id_number(ID_NUMBER) not in text

    lines = [record.getMessage() for record in caplog.records]
    lines += [record.exc_text or "" for record in caplog.records]
    lines += capfd.readouterr().err.splitlines()
    assert lines, "the run logged nothing: the log check would be empty"
    for line in lines:
        assert ID_NUMBER not in line and BAD_CHECKSUM not in line


TYPED_ID_NUMBER = "11010119900307803X"
TYPED_PHONES = ["13912345678", "+86 139-8765-4321", "010-65123456"]


def test_id_and_phone_numbers_typed_into_reasons_reach_only_the_full_view(
        client, auth, case_id):
    """Free text is masked by the same rules as the applicant's fields: an ID number or a
    phone number a clerk types into a 补正 reason, or the window into a withdrawal reason,
    reaches clerks and auditors masked (case, timeline) and the front desk as typed."""
    reason = (f"申请人（身份证{TYPED_ID_NUMBER}，电话{TYPED_PHONES[0]}）照片不清晰，"
              f"请联系{TYPED_PHONES[1]}或{TYPED_PHONES[2]}")
    asked = client.post(f"/api/cases/{case_id}/steps/business_licence/decision",
                        headers=auth["clerk"],
                        json={"outcome": "supplement", "reason": reason, "materials": ["articles"]})
    assert asked.status_code == 200, asked.text
    withdrawn = client.post(f"/api/cases/{case_id}/withdraw", headers=auth["front_desk"],
                            json={"reason": f"申请人{TYPED_ID_NUMBER}撤回"})
    assert withdrawn.status_code == 200, withdrawn.text
    for identity in ("front_desk", "admin", "clerk", "auditor"):
        case = client.get(f"/api/cases/{case_id}", headers=auth[identity]).json()
        timeline = client.get(f"/api/cases/{case_id}/timeline", headers=auth[identity]).json()
        shown = [case["decisions"][0]["reason"], case["close_reason"],
                 *(e["payload"]["reason"] for e in timeline if "reason" in e["payload"])]
        assert len(shown) == 4
        text = "\n".join(shown)
        typed = [TYPED_ID_NUMBER, *TYPED_PHONES]
        if identity in FULL_VIEW:
            assert all(number in text for number in typed), (identity, text)
        else:
            assert not any(number in text for number in typed), (identity, text)
            assert mask_id_number(TYPED_ID_NUMBER) in text and "139****5678" in text


@pytest.mark.parametrize("text, masked", [
    ("电话13812345678。", "电话138****5678。"),
    ("tel:+8613812345678", "tel:+86138****5678"),
    ("138 1234 5678", "138******5678"),
    ("身份证１１０１０５１９４９１２３１００２Ｘ", "身份证１１０１**********００２Ｘ"),
    ("座机0571-87654321转", "座机057******4321转"),
])
def test_phone_numbers_and_full_width_id_numbers_in_text_are_masked(text, masked):
    assert mask_text(text) == masked


def test_a_log_line_naming_an_id_number_shows_it_masked(caplog):
    """Message, arguments and exception text are all masked, for any logger."""
    from api.masking import install_log_masking

    install_log_masking()
    log = logging.getLogger("anything.at.all")
    with caplog.at_level(logging.INFO):
        log.info("applicant %s at the window", ID_NUMBER)
        log.info(f"opened for {ID_NUMBER}")
        try:
            raise ValueError(f"bad card {BAD_CHECKSUM}")
        except ValueError:
            log.exception("failed")
    text = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert ID_NUMBER not in text and BAD_CHECKSUM not in text
    assert text.count(mask_id_number(ID_NUMBER)) == 2 and mask_id_number(BAD_CHECKSUM) in text


@pytest.mark.parametrize("text", [
    "case C-20250124-0001 step 3",
    "hash 1a" + "0" * 62,
    "order 12345678901234567890",          # 20 digits: not an ID number
    "step_11010519491231002X_x",           # inside a word
    "took 13812345678901 microseconds",    # 14 digits: not a phone number
    "on 2025-01-24 at 10:30",              # dates and times
])
def test_masking_leaves_other_numbers_alone(text):
    assert mask_text(text) == text


def test_the_masking_filter_never_drops_a_record():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%(id)s", ({"id": ID_NUMBER},),
                               None)
    assert MaskIdNumbers().filter(record) is True
    assert record.getMessage() == mask_id_number(ID_NUMBER)
