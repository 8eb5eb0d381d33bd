"""Applicants' personal data: who sees what, and ID numbers kept out of logs.

Front desk and administrators see applicants in full; clerks and auditors see the name,
a masked ID number and a masked phone number, never the address; planners see no
applicant at all (the case routes refuse them). :class:`MaskIdNumbers` rewrites any
18-character ID number pattern in a log record to its masked form, whatever logger wrote
it; :func:`install_log_masking` puts it in front of every record of the process.

>>> mask_text("applicant 11010519491231002X opened C-20250124-0001")
'applicant 1101**********002X opened C-20250124-0001'
>>> mask_text("身份证号11010519491231002X")
'身份证号1101**********002X'
>>> mask_phone("13812345678")
'138****5678'
"""

from __future__ import annotations

import logging
import re
from typing import Literal

from flows.casework.identity import mask_id_number

__all__ = [
    "ID_NUMBER_PATTERN",
    "MaskIdNumbers",
    "PersonalData",
    "install_log_masking",
    "mask_phone",
    "mask_text",
    "personal_data",
]

PersonalData = Literal["full", "masked", "none"]

ID_NUMBER_PATTERN = re.compile(r"(?<![0-9A-Za-z_])\d{17}[\dXx](?![0-9A-Za-z_])")
"""17 digits and a digit or X, not inside a longer identifier (hashes, case ids stay as they
are); Chinese text around it does not hide it."""

_VIEWS: dict[str, PersonalData] = {
    "front_desk": "full", "admin": "full", "clerk": "masked", "auditor": "masked",
    "planner": "none",
}


def personal_data(role: str) -> PersonalData:
    """How much of an applicant's personal data ``role`` sees.

    >>> personal_data("front_desk"), personal_data("clerk"), personal_data("planner")
    ('full', 'masked', 'none')
    """
    return _VIEWS.get(role, "none")


def mask_text(text: str) -> str:
    """``text`` with every ID number pattern masked (first four and last four kept)."""
    return ID_NUMBER_PATTERN.sub(lambda m: mask_id_number(m.group(0)), text)


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
