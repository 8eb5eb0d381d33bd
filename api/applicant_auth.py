"""The applicant as a kind of session of its own, apart from staff accounts.

An applicant proves an ID number or 统一社会信用代码 with a one-time SMS code
(:mod:`flows.casework.applicant_login`) and gets a bearer token (the API) or a mark in the
signed session cookie (the pages) naming that number, for
:data:`APPLICANT_TOKEN_MINUTES`. Applicant tokens are signed under a key of their own, so a
staff route never takes one, nor an applicant route a staff token (a staff token there is
403: the applicant does this). An applicant reaches only the cases opened under their own
number (:func:`own_case`); any other answers as if it did not exist.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated

import jwt
from fastapi import Depends, HTTPException, Request, status
from sqlmodel import Session

from api.deps import oauth2_scheme
from api.security import ALGORITHM, InvalidToken, decode_access_token
from flows.casework.tables import Case
from process_models.errors import CaseNotFound, Forbidden

__all__ = [
    "APPLICANT_TOKEN_MINUTES",
    "CurrentApplicant",
    "applicant_of_session",
    "create_applicant_token",
    "decode_applicant_token",
    "get_current_applicant",
    "login_applicant",
    "logout_applicant",
    "own_case",
]

APPLICANT_TOKEN_MINUTES = 30
_SESSION_APPLICANT = "applicant"
_SESSION_APPLICANT_SINCE = "applicant_since"


def _key(secret_key: str) -> bytes:
    return hashlib.sha256(b"onething applicant token|" + secret_key.encode("utf-8")).digest()


def create_applicant_token(subject: str, *, secret_key: str,
                           minutes: float = APPLICANT_TOKEN_MINUTES) -> str:
    """A signed JWT naming the applicant's checked number ``subject``."""
    expires = datetime.now(UTC) + timedelta(minutes=minutes)
    return jwt.encode({"app": subject, "exp": expires}, _key(secret_key), algorithm=ALGORITHM)


def decode_applicant_token(token: str, *, secret_key: str) -> str:
    """The number an applicant token names, or :class:`~api.security.InvalidToken`."""
    try:
        claims = jwt.decode(token, _key(secret_key), algorithms=[ALGORITHM],
                            options={"require": ["exp", "app"]})
        return str(claims["app"])
    except (jwt.PyJWTError, ValueError, TypeError) as e:
        raise InvalidToken(str(e)) from None


async def get_current_applicant(request: Request,
                                token: Annotated[str, Depends(oauth2_scheme)]) -> str:
    """The applicant's number from the bearer token; 403 for a staff token, else 401."""
    secret_key = request.app.state.secret_key
    try:
        return decode_applicant_token(token, secret_key=secret_key)
    except InvalidToken:
        try:
            decode_access_token(token, secret_key=secret_key)
        except InvalidToken:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid or expired applicant "
                                "token; ask for a code at /api/applicant/code",
                                headers={"WWW-Authenticate": "Bearer"}) from None
        raise Forbidden("staff accounts may not do this; only the case's applicant may") \
            from None


CurrentApplicant = Annotated[str, Depends(get_current_applicant)]


def own_case(session: Session, subject: str, case_id: str) -> Case:
    """The case, if it was opened under ``subject``; otherwise :class:`CaseNotFound`, the same
    answer as for a missing case."""
    case = session.get(Case, case_id)
    if case is None or case.applicant_id_number != subject:
        raise CaseNotFound(f"no case '{case_id}' of yours")
    return case


def login_applicant(request: Request, subject: str) -> None:
    """Mark the page session as the applicant's (any staff login in it ends)."""
    request.session.clear()
    request.session.update({_SESSION_APPLICANT: subject,
                            _SESSION_APPLICANT_SINCE: int(time.time())})


def logout_applicant(request: Request) -> None:
    """End the applicant's page session."""
    request.session.clear()


def applicant_of_session(request: Request) -> str | None:
    """The applicant's number of this page session, or ``None`` (none, or older than
    :data:`APPLICANT_TOKEN_MINUTES`)."""
    subject = request.session.get(_SESSION_APPLICANT)
    since = request.session.get(_SESSION_APPLICANT_SINCE, 0)
    if not isinstance(subject, str) or time.time() - since > APPLICANT_TOKEN_MINUTES * 60:
        return None
    return subject
