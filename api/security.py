"""Passwords, tokens, the pages' session cookie, CSRF tokens and login rate limiting.

- Passwords are hashed with argon2id (``pwdlib``); an unknown username still costs one
  verification, so timing does not tell which usernames exist.
- The API takes OAuth2 bearer tokens: JWTs signed HS256 with a key derived from the
  service's secret (:func:`process_models.settings.secret_key`), ``sub`` the user id,
  ``ep`` the account's session epoch, valid :data:`ACCESS_TOKEN_MINUTES`.
- The pages keep the user in Starlette's signed session cookie (:func:`login_session`),
  with the account's session epoch and the time of the last request: a session ends at
  logout (the epoch moves on, :func:`flows.casework.accounts.end_sessions`), after
  ``settings.session_idle_minutes`` without a request, and after a working day. Every page
  form carries :func:`csrf_token` and its handler calls :func:`check_csrf`.
- :class:`LoginLimiter` refuses a username from one address after
  :data:`LOGIN_ATTEMPTS` failures within :data:`LOGIN_WINDOW_SECONDS`, and any username
  from an address after :data:`ADDRESS_ATTEMPTS` (password spraying); the failures are
  rows in the database.

>>> token = create_access_token(7, epoch=2, secret_key="s" * 32)
>>> decode_access_token(token, secret_key="s" * 32)
TokenClaims(user_id=7, epoch=2)
>>> verify_password("秘密", hash_password("秘密")), verify_password("guess", hash_password("秘密"))
(True, False)
"""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import jwt
from pwdlib import PasswordHash
from pwdlib.exceptions import PwdlibError
from sqlmodel import Session

from flows.casework.accounts import (
    User,
    clear_login_failures,
    find_user,
    login_failures,
    record_login_failure,
)
from process_models.errors import Forbidden

__all__ = [
    "ACCESS_TOKEN_MINUTES",
    "ADDRESS_ATTEMPTS",
    "ALGORITHM",
    "LOGIN_ATTEMPTS",
    "LOGIN_WINDOW_SECONDS",
    "MIN_PASSWORD_CHARS",
    "SESSION_MAX_SECONDS",
    "InvalidToken",
    "LoginLimiter",
    "TokenClaims",
    "TooManyAttempts",
    "authenticate",
    "check_csrf",
    "check_new_password",
    "create_access_token",
    "csrf_token",
    "decode_access_token",
    "hash_password",
    "login_session",
    "logout_session",
    "session_epoch",
    "session_user_id",
    "verify_password",
]

ALGORITHM = "HS256"
ACCESS_TOKEN_MINUTES = 8 * 60
"""One working day: staff log in each morning."""
LOGIN_ATTEMPTS = 5
LOGIN_WINDOW_SECONDS = 300.0
ADDRESS_ATTEMPTS = 30
"""Failed logins of any usernames from one address within the window (spraying)."""

_hasher = PasswordHash.recommended()
_DUMMY_HASH = _hasher.hash("onething-no-such-user")


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (salted; two calls give different hashes)."""
    return _hasher.hash(password)


MIN_PASSWORD_CHARS = 8


def check_new_password(password: str) -> str:
    """``password`` if it may be a new account's password, else :class:`InvalidInput`."""
    from process_models.errors import InvalidInput

    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidInput(f"the password is shorter than {MIN_PASSWORD_CHARS} characters; "
                           "choose a longer one", path="password")
    return password


def verify_password(password: str, password_hash: str) -> bool:
    """Whether ``password`` matches ``password_hash``."""
    try:
        return _hasher.verify(password, password_hash)
    except PwdlibError:  # a malformed stored hash never logs anybody in
        return False


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this username and password, else ``None``."""
    user = find_user(session, username)
    if user is None:
        verify_password(password, _DUMMY_HASH)
        return None
    if not verify_password(password, user.password_hash) or not user.active:
        return None
    return user


class InvalidToken(Exception):
    """A bearer token that is malformed, forged or expired (the API answers 401)."""


class TokenClaims(NamedTuple):
    """What a valid bearer token says: the account and the session epoch it was issued in."""

    user_id: int
    epoch: int


def _signing_key(secret_key: str) -> bytes:
    """A 32-byte HMAC key derived from the service's secret (any length of secret works)."""
    return hashlib.sha256(b"onething access token|" + secret_key.encode("utf-8")).digest()


def create_access_token(user_id: int, *, secret_key: str, epoch: int = 0,
                        minutes: float = ACCESS_TOKEN_MINUTES) -> str:
    """A signed JWT naming ``user_id`` and its session ``epoch``, expiring after ``minutes``."""
    expires = datetime.now(UTC) + timedelta(minutes=minutes)
    return jwt.encode({"sub": str(user_id), "ep": epoch, "exp": expires},
                      _signing_key(secret_key), algorithm=ALGORITHM)


def decode_access_token(token: str, *, secret_key: str) -> TokenClaims:
    """The claims of ``token``, or :class:`InvalidToken`."""
    try:
        claims = jwt.decode(token, _signing_key(secret_key), algorithms=[ALGORITHM],
                            options={"require": ["exp", "sub", "ep"]})
        return TokenClaims(int(claims["sub"]), int(claims["ep"]))
    except (jwt.PyJWTError, ValueError, TypeError) as e:
        raise InvalidToken(str(e)) from None


# --- the pages' session cookie and CSRF -----------------------------------------------------

_SESSION_USER = "user_id"
_SESSION_EPOCH = "epoch"
_SESSION_SINCE = "since"
_SESSION_SEEN = "seen"
_SESSION_CSRF = "csrf"
SESSION_MAX_SECONDS = ACCESS_TOKEN_MINUTES * 60
"""However busy, a page session lasts one working day, like a bearer token."""
_SEEN_RESOLUTION_SECONDS = 30
"""The last request's time is rewritten in the cookie at most this often (or a tenth of the
idle time, if shorter)."""


def login_session(request, user: User) -> None:
    """Remember ``user`` in the signed session cookie (a fresh CSRF token with it)."""
    now = int(time.time())
    request.session.clear()
    request.session.update({_SESSION_USER: user.id, _SESSION_EPOCH: user.session_epoch,
                            _SESSION_SINCE: now, _SESSION_SEEN: now,
                            _SESSION_CSRF: secrets.token_urlsafe(32)})


def logout_session(request) -> None:
    """Forget the user of this browser."""
    request.session.clear()


def session_user_id(request, *, idle_seconds: float) -> int | None:
    """The user id the session cookie names, unless the session has ended: then the cookie
    is emptied and ``request.state.session_expired`` set (the login page says why)."""
    value = request.session.get(_SESSION_USER)
    if not isinstance(value, int):
        return None
    now = int(time.time())
    seen, since = request.session.get(_SESSION_SEEN, 0), request.session.get(_SESSION_SINCE, 0)
    if now - seen > idle_seconds or now - since > SESSION_MAX_SECONDS:
        request.session.clear()
        request.state.session_expired = True
        return None
    if now - seen >= min(_SEEN_RESOLUTION_SECONDS, idle_seconds / 10):
        request.session[_SESSION_SEEN] = now
    return value


def session_epoch(request) -> int | None:
    """The account's session epoch when this session began."""
    return request.session.get(_SESSION_EPOCH)


def csrf_token(request) -> str:
    """This session's CSRF token, for a hidden ``csrf_token`` field of every page form."""
    token = request.session.get(_SESSION_CSRF)
    if not token:
        token = request.session[_SESSION_CSRF] = secrets.token_urlsafe(32)
    return token


def check_csrf(request, token: str | None) -> None:
    """Raise :class:`Forbidden` unless ``token`` is this session's CSRF token."""
    expected = request.session.get(_SESSION_CSRF)
    if not expected or not token or not secrets.compare_digest(str(token), expected):
        raise Forbidden("the form's CSRF token is missing or stale; reload the page and "
                        "submit again", path="csrf_token")


# --- login rate limiting ------------------------------------------------------------------------


class TooManyAttempts(Exception):
    """Too many failed logins for one username from one address, or for any username from
    one address (the API answers 429)."""

    def __init__(self, retry_after_seconds: float) -> None:
        self.retry_after_seconds = max(1, int(retry_after_seconds + 0.999))
        super().__init__(f"too many failed logins; try again in {self.retry_after_seconds} s")


class LoginLimiter:
    """Failed logins in a sliding window, per (username, address) and per address, counted
    in the database (:class:`flows.casework.accounts.LoginFailure`): a restart forgets
    nothing, several server processes share the count, and the rows older than the window
    are dropped as new ones come.

    >>> import tempfile, pathlib
    >>> from flows.casework.store import init_db, make_engine
    >>> engine = make_engine(f"sqlite:///{pathlib.Path(tempfile.mkdtemp()) / 'users.db'}")
    >>> init_db(engine)
    >>> limiter = LoginLimiter(attempts=2, window_seconds=60, clock=lambda: 100.0)
    >>> with Session(engine) as session:
    ...     limiter.failed(session, "wang", "127.0.0.1"); limiter.failed(session, "wang", "127.0.0.1")
    ...     limiter.check(session, "li", "127.0.0.1")    # another username is not affected
    ...     limiter.check(session, "wang", "127.0.0.1")
    Traceback (most recent call last):
    ...
    api.security.TooManyAttempts: too many failed logins; try again in 60 s
    >>> engine.dispose()
    """

    def __init__(self, attempts: int = LOGIN_ATTEMPTS,
                 window_seconds: float = LOGIN_WINDOW_SECONDS,
                 address_attempts: int = ADDRESS_ATTEMPTS, clock=time.time) -> None:
        self.attempts = attempts
        self.window_seconds = window_seconds
        self.address_attempts = address_attempts
        self._clock = clock

    def check(self, session: Session, username: str, address: str) -> None:
        """Raise :class:`TooManyAttempts` while this username from this address, or this
        address, is locked out."""
        now = self._clock()
        pair, by_address = login_failures(session, username, address,
                                          since=now - self.window_seconds)
        for (count, earliest), limit in ((pair, self.attempts),
                                         (by_address, self.address_attempts)):
            if count >= limit:
                raise TooManyAttempts(earliest + self.window_seconds - now)

    def failed(self, session: Session, username: str, address: str) -> None:
        """Count one failed login."""
        now = self._clock()
        record_login_failure(session, username, address, now=now,
                             forget_before=now - self.window_seconds)

    def succeeded(self, session: Session, username: str, address: str) -> None:
        """Forget the failures of this username from this address."""
        clear_login_failures(session, username, address)
