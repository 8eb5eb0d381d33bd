"""Applicant ID numbers (居民身份证号码, GB 11643-1999): checks and masking.

An ID number has 18 characters: a 6-digit area code, the birth date ``YYYYMMDD``,
a 3-digit sequence and a check character (``0``-``9`` or ``X``) computed with
ISO 7064 MOD 11-2 over the first 17 digits.

>>> check_id_number("11010519491231002X")
'11010519491231002X'
>>> check_id_number("110105194912310021")
Traceback (most recent call last):
...
process_models.errors.InvalidInput: applicant_id_number: ID number '110105194912310021' fails its checksum (last character should be 'X'); check the number on the card
>>> mask_id_number("110101199003071234")
'1101**********1234'
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from process_models.errors import InvalidInput

__all__ = [
    "check_credit_code",
    "check_digit",
    "check_id_number",
    "credit_code_check_character",
    "is_valid_id_number",
    "mask_id_number",
]

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"
EARLIEST_BIRTH = date(1800, 1, 1)
_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")


def check_digit(first17: str) -> str:
    """The GB 11643 check character of the first 17 digits.

    >>> check_digit("11010519491231002")
    'X'
    """
    total = sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARACTERS[total % 11]


def check_id_number(
    value: str, *, field: str = "applicant_id_number", today: date | None = None
) -> str:
    """Return ``value`` normalised (NFKC, so full-width characters become ASCII; stripped;
    upper-case ``X``) or raise :class:`InvalidInput`.

    Checks the shape (17 ASCII digits and a digit or ``X``: other scripts' digits are
    refused), the birth date (a real date, not before 1800, not in the future) and the
    check character. The message names ``field``.

    >>> check_id_number(" 11010519491231002x ")
    '11010519491231002X'
    >>> check_id_number("１１０１０５１９４９１２３１００２Ｘ")
    '11010519491231002X'
    >>> check_id_number("110105194902300029")
    Traceback (most recent call last):
    ...
    process_models.errors.InvalidInput: applicant_id_number: ID number '110105194902300029' has no valid birth date ('19490230'); check the number on the card
    """
    number = unicodedata.normalize("NFKC", str(value)).strip().upper()
    if not _SHAPE.match(number):
        raise InvalidInput(
            f"ID number '{value}' must be 18 characters: 17 digits then a digit or X",
            path=field,
        )
    birth = number[6:14]
    try:
        born = date(int(birth[:4]), int(birth[4:6]), int(birth[6:]))
    except ValueError:
        born = None
    if born is None or born < EARLIEST_BIRTH or born > (today or date.today()):
        raise InvalidInput(
            f"ID number '{number}' has no valid birth date ('{birth}'); "
            "check the number on the card",
            path=field,
        )
    expected = check_digit(number[:17])
    if number[17] != expected:
        raise InvalidInput(
            f"ID number '{number}' fails its checksum (last character should be "
            f"'{expected}'); check the number on the card",
            path=field,
        )
    return number


def is_valid_id_number(value: str) -> bool:
    """Whether :func:`check_id_number` accepts ``value``.

    >>> is_valid_id_number("11010519491231002X"), is_valid_id_number("110105194912310020")
    (True, False)
    """
    try:
        check_id_number(value)
    except InvalidInput:
        return False
    return True


def mask_id_number(value: str) -> str:
    """Keep the first four and last four characters, star the rest (for pages and logs).

    >>> mask_id_number("11010519491231002X")
    '1101**********002X'
    >>> mask_id_number("1234")
    '****'
    """
    text = str(value)
    if len(text) <= 8:
        return "*" * len(text)
    return text[:4] + "*" * (len(text) - 8) + text[-4:]


CREDIT_CODE_CHARACTERS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""The 31 characters of a 统一社会信用代码 (GB 32100-2015: no I, O, S, V, Z)."""
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CREDIT_SHAPE = re.compile(f"^[{CREDIT_CODE_CHARACTERS}]{{18}}$")


def credit_code_check_character(first17: str) -> str:
    """The GB 32100 check character of the first 17 characters of a 统一社会信用代码.

    >>> credit_code_check_character("91110000802100433")
    'B'
    """
    total = sum(CREDIT_CODE_CHARACTERS.index(c) * w
                for c, w in zip(first17, CREDIT_CODE_WEIGHTS, strict=True))
    return CREDIT_CODE_CHARACTERS[(31 - total % 31) % 31]


def check_credit_code(value: str, *, field: str = "credit_code") -> str:
    """Return the 统一社会信用代码 ``value`` normalised (NFKC, stripped, upper case) or raise
    :class:`InvalidInput` naming ``field``: 18 characters of GB 32100's alphabet whose last
    is the check character of the others.

    >>> check_credit_code(" 91110000802100433b ")
    '91110000802100433B'
    >>> check_credit_code("911100008021004330")
    Traceback (most recent call last):
    ...
    process_models.errors.InvalidInput: credit_code: 统一社会信用代码 '911100008021004330' fails its check character (last character should be 'B'); check the code on the business licence
    """
    code = unicodedata.normalize("NFKC", str(value)).strip().upper()
    if not _CREDIT_SHAPE.match(code):
        raise InvalidInput(
            f"统一社会信用代码 '{value}' must be 18 characters of digits and capital letters "
            "without I, O, S, V, Z", path=field)
    expected = credit_code_check_character(code[:17])
    if code[17] != expected:
        raise InvalidInput(
            f"统一社会信用代码 '{code}' fails its check character (last character should be "
            f"'{expected}'); check the code on the business licence", path=field)
    return code
