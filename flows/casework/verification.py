"""Certificates anyone can verify (电子证照 practice): a bank or another department checks a
certificate from its number and the code printed on it.

The code is a keyed hash of the certificate number (HMAC-SHA256 under a key derived from the
audit key, :func:`flows.casework.audit_key.audit_key`, itself set in
:mod:`process_models.settings`): it is not stored, cannot be guessed from the number and
changes with the deployment's key. :func:`verify_certificate` answers ``valid``,
``revoked`` (a failed 核查 of a 告知承诺 revoked it) or ``unknown`` (no such number, or the
code does not match: the answer does not tell the two apart). The answer holds what the
certificate is and who issued it, never the holder's personal data.

>>> code = verification_code(b"k" * 32, "C-20250124-0001-01")
>>> code
'GQ3H-RWKL-7UFR-3C7X'
>>> normal_code(code.lower().replace("-", " ")) == normal_code(code)
True
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlmodel import Session

from flows.casework.tables import Case, Certificate

__all__ = [
    "CODE_CHARS",
    "CertificateCheck",
    "VerificationStatus",
    "normal_code",
    "verification_code",
    "verify_certificate",
]

CODE_CHARS = 16
"""Base32 characters of a verification code (80 bits), printed in groups of four."""
_PURPOSE = b"onething certificate verification"


class VerificationStatus(StrEnum):
    """What a check of a certificate found."""

    VALID = "valid"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class CertificateCheck:
    """The answer to a check of certificate ``number``: its status and, when it exists and
    the code matched, what it certifies and who issued it (no personal data)."""

    status: VerificationStatus
    number: str
    name: str | None = None
    procedure_id: str | None = None
    procedure_version: str | None = None
    step_id: str | None = None
    department_id: str | None = None
    issued_at: datetime | None = None
    revoked_at: datetime | None = None


def _code_key(key: bytes) -> bytes:
    """The key of verification codes, derived from ``key`` for this one purpose."""
    return hmac.new(key, _PURPOSE, hashlib.sha256).digest()


def verification_code(key: bytes, number: str) -> str:
    """The code printed on certificate ``number``: :data:`CODE_CHARS` base32 characters of
    its keyed hash, in groups of four joined by ``-``."""
    digest = hmac.new(_code_key(key), number.encode("utf-8"), hashlib.sha256).digest()
    text = base64.b32encode(digest).decode("ascii")[:CODE_CHARS]
    return "-".join(text[i:i + 4] for i in range(0, CODE_CHARS, 4))


def normal_code(code: str) -> str:
    """``code`` as compared: upper case, without spaces or dashes.

    >>> normal_code(" zx5b-wsay p4gk ")
    'ZX5BWSAYP4GK'
    """
    return "".join(ch for ch in code.upper() if ch not in " -")


def verify_certificate(session: Session, number: str, code: str, *,
                       key: bytes | None = None) -> CertificateCheck:
    """Check certificate ``number`` against the ``code`` printed on it (``key``: the audit
    key of this deployment by default)."""
    from flows.casework.audit_key import audit_key

    key = audit_key() if key is None else key
    expected = normal_code(verification_code(key, number))
    if not hmac.compare_digest(normal_code(code).encode("utf-8"), expected.encode("ascii")):
        return CertificateCheck(VerificationStatus.UNKNOWN, number)
    row = session.execute(
        select(Certificate.name, Certificate.step_id, Certificate.department_id,
               Certificate.issued_at, Certificate.revoked_at, Case.procedure_id,
               Case.procedure_version)
        .join(Case, Case.id == Certificate.case_id)
        .where(Certificate.number == number)).one_or_none()
    if row is None:
        return CertificateCheck(VerificationStatus.UNKNOWN, number)
    status = VerificationStatus.REVOKED if row.revoked_at else VerificationStatus.VALID
    return CertificateCheck(status, number, name=row.name, procedure_id=row.procedure_id,
                            procedure_version=row.procedure_version, step_id=row.step_id,
                            department_id=row.department_id, issued_at=row.issued_at,
                            revoked_at=row.revoked_at)
