"""The applicant proves a number (ID number, or 统一社会信用代码 checked by GB 32100) with a
one-time SMS code: sent through an ``SmsSender``, kept only as a keyed digest, valid once,
for five minutes, refused after five wrong tries; enterprises apply under their code."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import select

from flows import casework
from flows.casework.applicant_login import (
    CODE_TTL_SECONDS,
    MAX_ATTEMPTS,
    MAX_CODES_PER_WINDOW,
    request_code,
    verify_code,
)
from flows.casework.identity import (
    CREDIT_CODE_CHARACTERS,
    check_credit_code,
    credit_code_check_character,
)
from flows.casework.tables import ApplicantCode
from process_models.catalog import load_catalog_procedure
from process_models.errors import Forbidden, InvalidInput

NOW = datetime(2025, 3, 3, 9, 0)
ID_NUMBER = "11010519491231002X"
CREDIT_CODE = "91110000802100433B"
PHONE = "13812345678"


class Outbox:
    """An SmsSender keeping what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, phone: str, code: str) -> None:
        self.sent.append((phone, code))


@pytest.fixture
def sms() -> Outbox:
    return Outbox()


def code_for(session, sms: Outbox, number: str = ID_NUMBER, now: datetime = NOW) -> str:
    request_code(session, number, PHONE, sender=sms, now=now)
    return sms.sent[-1][1]


@pytest.mark.parametrize("number", [ID_NUMBER, CREDIT_CODE, "91110000802100433b"])
def test_the_code_sent_logs_the_applicant_in_once(session, sms, number):
    code = code_for(session, sms, number)
    assert len(code) == 6 and code.isdigit() and sms.sent[-1][0] == PHONE
    assert verify_code(session, number, code, now=NOW + timedelta(seconds=60)) == number.upper()
    with pytest.raises(Forbidden, match="wrong or expired code"):
        verify_code(session, number, code, now=NOW + timedelta(seconds=61))


def test_neither_the_code_nor_the_number_is_stored_in_clear(session, sms):
    code = code_for(session, sms)
    row = session.exec(select(ApplicantCode)).one()
    assert ID_NUMBER not in repr(row.model_dump()) and code not in repr(row.model_dump())


def test_an_expired_code_is_refused(session, sms):
    code = code_for(session, sms)
    with pytest.raises(Forbidden, match="wrong or expired code"):
        verify_code(session, ID_NUMBER, code, now=NOW + timedelta(seconds=CODE_TTL_SECONDS + 1))


def test_after_five_wrong_codes_even_the_right_one_is_refused(session, sms):
    code = code_for(session, sms)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(MAX_ATTEMPTS):
        with pytest.raises(Forbidden, match="wrong or expired code"):
            verify_code(session, ID_NUMBER, wrong, now=NOW)
    with pytest.raises(Forbidden, match=f"{MAX_ATTEMPTS} wrong codes"):
        verify_code(session, ID_NUMBER, code, now=NOW)


def test_a_code_for_one_number_does_not_log_in_another(session, sms):
    code = code_for(session, sms, ID_NUMBER)
    with pytest.raises(Forbidden):
        verify_code(session, CREDIT_CODE, code, now=NOW)


def test_codes_sent_to_one_number_are_limited(session, sms):
    for _ in range(MAX_CODES_PER_WINDOW):
        code_for(session, sms)
    with pytest.raises(Forbidden, match="wait and ask again"):
        code_for(session, sms)
    assert len(sms.sent) == MAX_CODES_PER_WINDOW
    code_for(session, sms, now=NOW + timedelta(minutes=11))


@pytest.mark.parametrize(("number", "phone", "message"), [
    ("110105194912310021", PHONE, "fails its checksum"),
    ("911100008021004330", PHONE, "fails its check character"),
    (ID_NUMBER, "12345", "phone number '12345' must be 11 digits")])
def test_a_bad_number_or_phone_sends_nothing(session, sms, number, phone, message):
    with pytest.raises(InvalidInput, match=message):
        request_code(session, number, phone, sender=sms, now=NOW)
    assert sms.sent == []


@given(st.text(alphabet=CREDIT_CODE_CHARACTERS, min_size=17, max_size=17))
def test_every_code_with_its_check_character_passes_and_any_other_last_character_fails(first17):
    right = credit_code_check_character(first17)
    assert check_credit_code(first17 + right) == first17 + right
    wrong = CREDIT_CODE_CHARACTERS[(CREDIT_CODE_CHARACTERS.index(right) + 1) % 31]
    with pytest.raises(InvalidInput, match="fails its check character"):
        check_credit_code(first17 + wrong)


def test_an_enterprise_applies_under_its_code_with_its_legal_representative(session):
    proc = load_catalog_procedure("restaurant")
    case = casework.open_case(session, proc, casework.Applicant(
        "某某餐饮有限公司", CREDIT_CODE.lower(), kind="enterprise", legal_representative="李四"),
        [], now=NOW)
    assert (case.applicant_kind, case.applicant_id_number, case.legal_representative) == (
        "enterprise", CREDIT_CODE, "李四")
    with pytest.raises(InvalidInput, match="legal_representative: an enterprise needs"):
        casework.open_case(session, proc, casework.Applicant(
            "某某餐饮有限公司", CREDIT_CODE, kind="enterprise"), [], now=NOW)
