"""Passwords, tokens, the pages' session cookie, CSRF tokens and login rate limiting.

- Passwords are hashed with argon2id (``pwdlib``); an unknown username still costs one
  verification, so timing does not tell which usernames exist.
- The API takes OAuth2 bearer tokens: JWTs signed HS256 with a key derived from
  ``settings.secret_key``, ``sub`` the user id, valid :data:`ACCESS_TOKEN_MINUTES`.
- The pages keep the user in Starlette's signed session cookie (:func:`login_session`);
  every page form carries :func:`csrf_token` and its handler calls :func:`check_csrf`.
- :class:`LoginLimiter` refuses a username from one address after
  :data:`LOGIN_ATTEMPTS` failures within :data:`LOGIN_WINDOW_SECONDS`.

>>> token = create_access_token(7, secret_key="s" * 32)
>>> decode_access_token(token, secret_key="s" * 32)
7
>>> verify_password("秘密", hash_password("秘密")), verify_password("guess", hash_password("秘密"))
(True, False)
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import deque
from datetime import UTC, datetime, timedelta

import jwt
from pwdlib import PasswordHash
from pwdlib.exceptions import PwdlibError
from sqlmodel import Session

from flows.casework.accounts import User, find_user
from process_models.errors import Forbidden
from process_models.settings import settings

__all__ = [
    "ACCESS_TOKEN_MINUTES",
    "ALGORITHM",
    "LOGIN_ATTEMPTS",
    "LOGIN_WINDOW_SECONDS",
    "InvalidToken",
    "LoginLimiter",
    "TooManyAttempts",
    "authenticate",
    "check_csrf",
    "create_access_token",
    "csrf_token",
    "decode_access_token",
    "hash_password",
    "login_session",
    "logout_session",
    "session_user_id",
    "verify_password",
]

ALGORITHM = "HS256"
ACCESS_TOKEN_MINUTES = 8 * 60
"""One working day: staff log in each morning."""
LOGIN_ATTEMPTS = 5
LOGIN_WINDOW_SECONDS = 300.0

_hasher = PasswordHash.recommended()
_DUMMY_HASH = _hasher.hash("onething-no-such-user")


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (salted; two calls give different hashes)."""
    return _hasher.hash(password)


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


def _signing_key(secret_key: str | None) -> bytes:
    """A 32-byte HMAC key derived from the settings' secret (any length of secret works)."""
    secret = secret_key or settings.secret_key
    return hashlib.sha256(b"onething access token|" + secret.encode("utf-8")).digest()


def create_access_token(user_id: int, *, secret_key: str | None = None,
                        minutes: float = ACCESS_TOKEN_MINUTES) -> str:
    """A signed JWT naming ``user_id``, expiring after ``minutes``."""
    expires = datetime.now(UTC) + timedelta(minutes=minutes)
    return jwt.encode({"sub": str(user_id), "exp": expires}, _signing_key(secret_key),
                      algorithm=ALGORITHM)


def decode_access_token(token: str, *, secret_key: str | None = None) -> int:
    """The user id in ``token``, or :class:`InvalidToken`."""
    try:
        claims = jwt.decode(token, _signing_key(secret_key), algorithms=[ALGORITHM],
                            options={"require": ["exp", "sub"]})
        return int(claims["sub"])
    except (jwt.PyJWTError, ValueError, TypeError) as e:
        raise InvalidToken(str(e)) from None


# --- the pages' session cookie and CSRF -----------------------------------------------------

_SESSION_USER = "user_id"
_SESSION_CSRF = "csrf"


def login_session(request, user: User) -> None:
    """Remember ``user`` in the signed session cookie (a fresh CSRF token with it)."""
    request.session.clear()
    request.session[_SESSION_USER] = user.id
    request.session[_SESSION_CSRF] = secrets.token_urlsafe(32)


def logout_session(request) -> None:
    """Forget the user of this browser."""
    request.session.clear()


def session_user_id(request) -> int | None:
    """The user id the session cookie names, if any."""
    value = request.session.get(_SESSION_USER)
    return value if isinstance(value, int) else None


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
    """Too many failed logins for one username from one address (the API answers 429)."""

    def __init__(self, retry_after_seconds: float) -> None:
        self.retry_after_seconds = max(1, int(retry_after_seconds + 0.999))
        super().__init__(f"too many failed logins; try again in {self.retry_after_seconds} s")


class LoginLimiter:
    """Failed logins per (username, address) in a sliding window, in this process.

    >>> limiter = LoginLimiter(attempts=2, window_seconds=60, clock=lambda: 100.0)
    >>> limiter.failed("wang", "127.0.0.1"); limiter.failed("wang", "127.0.0.1")
    >>> limiter.check("li", "127.0.0.1")    # another username is not affected
    >>> limiter.check("wang", "127.0.0.1")
    Traceback (most recent call last):
    ...
    api.security.TooManyAttempts: too many failed logins; try again in 60 s
    """

    def __init__(self, attempts: int = LOGIN_ATTEMPTS,
                 window_seconds: float = LOGIN_WINDOW_SECONDS, clock=time.monotonic) -> None:
        self.attempts = attempts
        self.window_seconds = window_seconds
        self._clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and times[0] <= now - self.window_seconds:
            times.popleft()
        return times

    def check(self, username: str, address: str) -> None:
        """Raise :class:`TooManyAttempts` while this pair is locked out."""
        now = self._clock()
        with self._lock:
            times = self._recent((username, address), now)
            if len(times) >= self.attempts:
                raise TooManyAttempts(times[0] + self.window_seconds - now)

    def failed(self, username: str, address: str) -> None:
        """Count one failed login."""
        now = self._clock()
        with self._lock:
            key = (username, address)
            times = self._recent(key, now)
            times.append(now)
            self._failures[key] = times

    def succeeded(self, username: str, address: str) -> None:
        """Forget the failures of this pair."""
        with self._lock:
            self._failures.pop((username, address), None)
