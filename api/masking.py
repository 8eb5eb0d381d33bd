"""Applicants' personal data: who sees what, and ID numbers kept out of logs.

Front desk and administrators see applicants in full; clerks and auditors see the name,
a masked ID number and a masked phone number, never the address; planners see no
applicant at all (the case routes refuse them). Free text staff type (decision reasons,
withdrawal reasons, anything in an audit event's payload) goes through :func:`free_text`:
for every role but the full view its ID numbers and phone numbers are masked by the same
rules (:func:`mask_text`). :class:`MaskIdNumbers` applies :func:`mask_text` to every log
record, whatever logger wrote it; :func:`install_log_masking` puts it in front of every
record of the process.

What :func:`mask_text` finds: 18-character ID numbers (17 digits, then a digit or X);
mobile numbers (11 digits from 13 to 19, alone or after +86 / 86, spaced or hyphenated
3-4-4); landline numbers written with their area code and a hyphen (``010-12345678``).
What it does not find: addresses (free Chinese text has no reliable shape: a clerk who
writes 住东城区东华门街道 in a reason shows it to auditors), old 15-digit ID numbers,
landline numbers without an area code, numbers spelled in words or split by anything but
one space or hyphen (一三八..., 138.1234.5678), bank card and passport numbers.

>>> mask_text("applicant 11010519491231002X opened C-20250124-0001")
'applicant 1101**********002X opened C-20250124-0001'
>>> mask_text("身份证号11010519491231002X，电话13812345678，座机010-65123456")
'身份证号1101**********002X，电话138****5678，座机010*****3456'
>>> mask_phone("13812345678")
'138****5678'
"""

from __future__ import annotations

import logging
import re
from typing import Literal, TypeVar

from flows.casework.identity import mask_id_number

__all__ = [
    "ID_NUMBER_PATTERN",
    "PHONE_PATTERN",
    "MaskIdNumbers",
    "PersonalData",
    "free_text",
    "install_log_masking",
    "mask_phone",
    "mask_text",
    "personal_data",
]

PersonalData = Literal["full", "masked", "none"]
T = TypeVar("T")

ID_NUMBER_PATTERN = re.compile(r"(?<![0-9A-Za-z_])\d{17}[\dXxＸｘ](?![0-9A-Za-z_])")
"""17 digits and a digit or X, not inside a longer identifier (hashes, case ids stay as they
are); Chinese text around it does not hide it. ``\\d`` is any decimal digit, full-width
ones included."""

PHONE_PATTERN = re.compile(
    r"(?<![0-9A-Za-z_+])(?P<prefix>(?:\+?86[- ]?)?)"
    r"(?P<number>1[3-9]\d(?:[- ]?\d{4}){2}|0\d{2,3}-\d{7,8})(?![0-9A-Za-z_])")
"""A mobile number (11 digits, 13x-19x, optionally +86 and 3-4-4 groups) or a landline
number with its area code and a hyphen, not inside a longer identifier."""

_VIEWS: dict[str, PersonalData] = {
    "front_desk": "full", "admin": "full", "clerk": "masked", "auditor": "masked",
    "supervisor": "masked", "planner": "none",
}


def personal_data(role: str) -> PersonalData:
    """How much of an applicant's personal data ``role`` sees.

    >>> personal_data("front_desk"), personal_data("clerk"), personal_data("planner")
    ('full', 'masked', 'none')
    """
    return _VIEWS.get(role, "none")


def mask_text(text: str) -> str:
    """``text`` with every ID number (first four and last four kept) and phone number
    (:func:`mask_phone`) masked.

    >>> mask_text("联系 +86 138-1234-5678")
    '联系 +86 138******5678'
    """
    text = ID_NUMBER_PATTERN.sub(lambda m: mask_id_number(m.group(0)), text)
    return PHONE_PATTERN.sub(lambda m: m["prefix"] + mask_phone(m["number"]), text)


def free_text(value: T, view: PersonalData) -> T:
    """Free text (a string, or the strings in lists and dicts such as an audit event's
    payload) as a role with personal-data ``view`` may see it: as typed for the full view,
    with ID numbers and phone numbers masked (:func:`mask_text`) for any other.

    >>> free_text({"reason": "电话13812345678", "steps": ["a"]}, "masked")
    {'reason': '电话138****5678', 'steps': ['a']}
    """
    if view == "full":
        return value
    return _masked(value)


def mask_phone(phone: str) -> str:
    """Keep the first three and last four digits of a phone number.

    >>> mask_phone("010-1234")
    '********'
    """
    if len(phone) < 11:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def _masked(value):
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_masked(item) for item in value)
    return value


class MaskIdNumbers(logging.Filter):
    """Mask ID numbers in a record's message, arguments, exception and stack text; never
    drops a record. The exception is kept as masked text (``exc_text``), not as an object."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_text(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_masked(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _masked(v) for k, v in record.args.items()}
        if record.exc_info:
            # Handlers that render exc_info themselves (rich tracebacks) would show the
            # exception's own text; they get the masked traceback text instead.
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            record.exc_text, record.exc_info = mask_text(text), None
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


_installed = False


def install_log_masking() -> None:
    """Mask every log record of this process as it is created (idempotent).

    A record factory sees records of every logger, including those that propagate to
    handlers added later (uvicorn's, Prefect's, pytest's).
    """
    global _installed
    if _installed:
        return
    make_record = logging.getLogRecordFactory()
    mask = MaskIdNumbers()

    def masked_record(*args, **kwargs) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        mask.filter(record)
        return record

    logging.setLogRecordFactory(masked_record)
    _installed = True
