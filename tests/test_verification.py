"""Certificates anyone can verify: the keyed code, the check on SQLite and PostgreSQL, and
the public page ``/verify/{number}`` (no login, rate-limited, no personal data)."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import Session, select

from api.verify_page import RequestLimiter
from flows.casework import (
    Applicant,
    VerificationStatus,
    advance_case,
    case_view,
    check_commitment,
    decide,
    open_case,
    sign_commitment,
    verify_certificate,
)
from flows.casework.tables import Certificate
from flows.casework.verification import normal_code, verification_code
from process_models import parse_procedure

SHOP = """
id: shop
name: 开店一件事
version: "2025"
departments: [{id: samr, name: 市场监管局}, {id: urban, name: 城管局}]
materials: [{id: id_card, name: 身份证}]
steps:
- {id: food, name: 食品经营许可, department: samr, committed: {days: 20},
   materials: [id_card], certificates: [食品经营许可证], commitment_allowed: true}
- {id: sign, name: 招牌设置, department: urban, committed: {days: 5}, certificates: [招牌许可]}
"""
HOLDER = Applicant("张三", "11010519491231002X", address="北京市东城区", phone="13812345678")


def mar(day: int, hour: int = 10) -> datetime:
    return datetime(2025, 3, day, hour)


def issued_shop(session, *, commitment: bool = False) -> str:
    """A shop case whose two certificates were issued on 2025-03-04; its id."""
    case = open_case(session, parse_procedure(SHOP), HOLDER, ["id_card"], now=mar(3, 9))
    if commitment:
        sign_commitment(session, case.id, "food", text="本人承诺符合食品安全要求。",
                        signed_by="张三", recorded_by="前台李四", now=mar(3))
    else:
        decide(session, case.id, "food", "approve", department_id="samr", decided_by="王五",
               now=mar(4))
    decide(session, case.id, "sign", "approve", department_id="urban", decided_by="赵六",
           now=mar(4))
    advance_case(session, case.id, now=mar(4))
    return case.id


def certificates(session, case_id):
    return {c.step_id: c for c in case_view(session, case_id, today=mar(4).date()).certificates}


def test_an_issued_certificate_with_its_printed_code_is_valid(session):
    """The code the case shows verifies its certificate, and names what it certifies."""
    food = certificates(session, issued_shop(session))["food"]
    check = verify_certificate(session, food.number, food.verification_code)
    assert (check.status, check.name, check.department_id) == (
        VerificationStatus.VALID, "食品经营许可证", "samr")


def test_a_certificate_revoked_after_a_failed_check_verifies_as_revoked(session):
    """告知承诺: the 核查 failed after issue, so the certificate's check says revoked."""
    case_id = issued_shop(session, commitment=True)
    check_commitment(session, case_id, "food", passed=False, department_id="samr",
                     checked_by="执法员", reason="现场无消毒设施", now=mar(10))
    food, sign = certificates(session, case_id)["food"], certificates(session, case_id)["sign"]
    assert verify_certificate(session, food.number, food.verification_code).status == \
        VerificationStatus.REVOKED
    assert verify_certificate(session, sign.number, sign.verification_code).status == \
        VerificationStatus.VALID


def test_a_wrong_code_and_an_unknown_number_both_answer_unknown_without_details(session):
    """A wrong code tells nothing of the certificate: the same answer as no certificate."""
    food = certificates(session, issued_shop(session))["food"]
    sign = certificates(session, session.exec(select(Certificate.case_id)).first())["sign"]
    wrong = verify_certificate(session, food.number, sign.verification_code)
    missing = verify_certificate(session, "C-20990101-0001-01",
                                 verification_code(b"x" * 32, "C-20990101-0001-01"))
    assert (wrong.status, wrong.name, missing.status) == (
        VerificationStatus.UNKNOWN, None, VerificationStatus.UNKNOWN)


@given(st.text(min_size=1, max_size=30), st.text(min_size=1, max_size=30))
def test_codes_of_different_numbers_or_keys_differ(number, other):
    """The code depends on the number and on the key (not guessable from the number)."""
    key = b"k" * 32
    code = verification_code(key, number)
    assert code != verification_code(b"j" * 32, number)
    if other != number:
        assert code != verification_code(key, other)
    assert len(normal_code(code)) == 16


# --- the public page ---------------------------------------------------------------------------


@pytest.fixture
def food(engine, client):
    with Session(engine) as session:
        return certificates(session, issued_shop(session))["food"]


JSON = {"Accept": "application/json"}


def test_anyone_checks_a_certificate_without_logging_in_and_gets_json(client, food):
    answer = client.get(f"/verify/{food.number}", params={"code": food.verification_code},
                        headers=JSON)
    assert answer.status_code == 200
    body = answer.json()
    assert (body["status"], body["certificate"], body["department"]) == (
        "valid", "食品经营许可证", "市场监管局")


@pytest.mark.parametrize("code", ["", "AAAA-BBBB-CCCC-DDDD"])
def test_a_missing_or_wrong_code_answers_unknown_and_nothing_else(client, food, code):
    body = client.get(f"/verify/{food.number}", params={"code": code}, headers=JSON).json()
    assert body == {"status": "unknown", "number": food.number}


def test_the_page_shows_the_verdict_in_chinese_and_no_personal_data(client, food):
    page = client.get(f"/verify/{food.number}", params={"code": food.verification_code})
    assert page.status_code == 200 and "证照有效" in page.text and "市场监管局" in page.text
    for personal in (HOLDER.name, HOLDER.id_number, HOLDER.address, HOLDER.phone):
        assert personal not in page.text
    english = client.get(f"/verify/{food.number}",
                         params={"code": food.verification_code, "lang": "en"})
    assert "The certificate is valid" in english.text


def test_checks_from_one_client_are_rate_limited(app, client, food):
    """Past the limit a client is answered 429 with Retry-After; its count is its own."""
    app.state.verify_limiter = RequestLimiter(requests=3, window_seconds=60)
    url = f"/verify/{food.number}"
    answers = [client.get(url, params={"code": "x"}, headers=JSON).status_code
               for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    refused = client.get(url, params={"code": food.verification_code}, headers=JSON)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1


def test_the_limiter_forgets_requests_older_than_its_window():
    now = [0.0]
    limiter = RequestLimiter(requests=1, window_seconds=10, clock=lambda: now[0])
    assert limiter.allow("a") and not limiter.allow("a")
    now[0] = 10.5
    assert limiter.allow("a")


def test_a_malformed_certificate_number_is_refused_with_one_line(client):
    answer = client.get("/verify/" + "X" * 61, headers=JSON)
    assert answer.status_code == 422 and "\n" not in answer.json()["detail"]


def test_the_printable_certificate_carries_its_code_and_a_qr_code_of_its_check(
        page_login, food):
    """Staff open the certificate to print: the code, an inline SVG QR code (made in-process)
    and the address of the public check with that code."""
    browser = page_login("front_desk")
    case_id = food.number.rsplit("-", 1)[0]
    page = browser.get(f"/cases/{case_id}/certificates/{food.number}")
    assert page.status_code == 200
    assert food.verification_code in page.text and "<svg" in page.text
    assert f"/verify/{food.number}?code={food.verification_code}" in page.text
    assert browser.get(f"/cases/{case_id}/certificates/{case_id}-99").status_code == 404
