"""How an applicant proves who they are: an ID number (or 统一社会信用代码) and a one-time code
sent by SMS.

:func:`request_code` checks the number, draws a six-digit code, keeps only keyed digests of
the number and the code (:class:`~flows.casework.tables.ApplicantCode`) and hands the code
to an :class:`SmsSender`. :func:`verify_code` accepts it once, within
:data:`CODE_TTL_SECONDS`, and refuses every code of that number after
:data:`MAX_ATTEMPTS` wrong tries; at most :data:`MAX_CODES_PER_WINDOW` codes are sent to one
number within :data:`CODE_WINDOW_SECONDS`. There is no real SMS gateway:
:class:`LogSmsSender`, for development, writes the code to the log.

>>> subject_of("11010519491231002x"), subject_of("91110000802100433B")
('11010519491231002X', '91110000802100433B')
"""

from __future__ import annotations

import hmac
import logging
import secrets
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import bindparam, func, insert, update
from sqlalchemy import select as sa_select
from sqlmodel import Session

from flows.casework.audit_key import audit_key
from flows.casework.identity import check_credit_code, check_id_number, mask_id_number
from flows.casework.store import begin_write
from flows.casework.tables import ApplicantCode, aware_time
from process_models.errors import Forbidden, InvalidInput

__all__ = [
    "CODE_TTL_SECONDS",
    "MAX_ATTEMPTS",
    "MAX_CODES_PER_WINDOW",
    "LogSmsSender",
    "SmsSender",
    "request_code",
    "subject_of",
    "verify_code",
]

CODE_TTL_SECONDS = 300
"""A code is valid for five minutes."""
MAX_ATTEMPTS = 5
"""Wrong codes tried against one number's newest code before it is refused."""
MAX_CODES_PER_WINDOW = 3
CODE_WINDOW_SECONDS = 600
"""At most three codes are sent to one number in ten minutes."""

_CODES = ApplicantCode.__table__
_log = logging.getLogger("onething.applicant")


class SmsSender(Protocol):
    """Sends a one-time code to the applicant's phone."""

    def send(self, phone: str, code: str) -> None:
        """Deliver ``code`` to ``phone`` (raises when it cannot)."""


class LogSmsSender:
    """Development: writes the code to the log instead of sending it (no SMS gateway)."""

    def send(self, phone: str, code: str) -> None:
        """Log the code with the phone number's last four digits."""
        _log.warning("一次性验证码 %s (发往尾号 %s 的手机; 开发模式，未发短信)", code, phone[-4:])


def subject_of(value: str, *, field: str = "id_number") -> str:
    """The applicant's number checked: an ID number (GB 11643) if it is one, else a
    统一社会信用代码 (GB 32100); when it is neither, the message of the one it resembles
    (17 digits holding a birth year and month where an ID number has them: an ID number).

    >>> subject_of("911100008021004330")
    Traceback (most recent call last):
    ...
    process_models.errors.InvalidInput: id_number: 统一社会信用代码 '911100008021004330' fails its check character (last character should be 'B'); check the code on the business licence
    """
    try:
        return check_id_number(value, field=field)
    except InvalidInput as id_error:
        try:
            return check_credit_code(value, field=field)
        except InvalidInput:
            text = str(value).strip().upper()
            if text[:17].isdigit() and text[6:8] in ("18", "19", "20") \
                    and "01" <= text[10:12] <= "12":
                raise id_error from None
            raise


def _digest(key: bytes, *parts: str) -> str:
    return hmac.new(key, "\x1f".join(parts).encode(), "sha256").hexdigest()


def _phone(value: str) -> str:
    phone = str(value).strip().replace(" ", "").replace("-", "")
    if not (phone.isascii() and phone.isdigit() and len(phone) == 11 and phone[0] == "1"):
        raise InvalidInput(f"phone number '{value}' must be 11 digits starting with 1",
                           path="phone")
    return phone


def request_code(session: Session, number: str, phone: str, *, sender: SmsSender,
                 now: datetime) -> None:
    """Send a new one-time code for ``number`` to ``phone``; refused (:class:`Forbidden`)
    past :data:`MAX_CODES_PER_WINDOW` codes in :data:`CODE_WINDOW_SECONDS`."""
    subject = subject_of(number)
    phone = _phone(phone)
    at = aware_time(now)
    key = audit_key()
    subject_digest = _digest(key, subject)
    code = f"{secrets.randbelow(10**6):06d}"
    begin_write(session)
    try:
        recent = session.connection().execute(
            sa_select(func.count()).select_from(_CODES).where(
                _CODES.c.subject_digest == subject_digest,
                _CODES.c.created_at > at - timedelta(seconds=CODE_WINDOW_SECONDS))).scalar_one()
        if recent >= MAX_CODES_PER_WINDOW:
            raise Forbidden(f"{MAX_CODES_PER_WINDOW} codes were sent for "
                            f"{mask_id_number(subject)} in the last "
                            f"{CODE_WINDOW_SECONDS // 60} minutes; wait and ask again")
        session.connection().execute(insert(_CODES), {
            "subject_digest": subject_digest, "code_digest": _digest(key, subject, code),
            "created_at": at, "expires_at": at + timedelta(seconds=CODE_TTL_SECONDS),
            "attempts": 0, "used_at": None})
        sender.send(phone, code)
        session.commit()
    except BaseException:
        session.rollback()
        raise


_NEWEST = (sa_select(*_CODES.c).where(_CODES.c.subject_digest == bindparam("subject"))
           .order_by(_CODES.c.id.desc()).limit(1))


def verify_code(session: Session, number: str, code: str, *, now: datetime) -> str:
    """The checked ``number`` when ``code`` is its newest code, unused, unexpired and tried
    fewer than :data:`MAX_ATTEMPTS` times wrongly; else :class:`Forbidden` (one message for
    every refusal but the attempts, so a code cannot be probed)."""
    subject = subject_of(number)
    at = aware_time(now)
    key = audit_key()
    begin_write(session)
    try:
        connection = session.connection()
        row = connection.execute(_NEWEST, {"subject": _digest(key, subject)}).first()
        if row is None:
            raise Forbidden("wrong or expired code; ask for a new one")
        if row.attempts >= MAX_ATTEMPTS:
            raise Forbidden(f"{MAX_ATTEMPTS} wrong codes; ask for a new one")
        right = hmac.compare_digest(row.code_digest, _digest(key, subject, str(code).strip()))
        expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(
            tzinfo=at.tzinfo)
        if right and row.used_at is None and at <= expires:
            connection.execute(update(_CODES).where(_CODES.c.id == row.id).values(used_at=at))
        else:
            connection.execute(update(_CODES).where(_CODES.c.id == row.id)
                               .values(attempts=row.attempts + (0 if right else 1)))
            session.commit()
            raise Forbidden("wrong or expired code; ask for a new one")
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return subject
