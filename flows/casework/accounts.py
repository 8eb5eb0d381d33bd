"""Staff accounts: who may log in, in which role, for which departments.

A :class:`User` holds a username, a password hash (hashing lives in the API layer,
``api/security.py``; this module never sees a password), a role and, for department
clerks, the departments whose steps they decide. Roles:

- ``front_desk`` (一窗受理): opens cases, records materials, sees applicants' data;
- ``clerk``: decides the steps of its departments; sees masked ID numbers;
- ``planner``: procedures and simulations; never sees applicants' personal data;
- ``auditor``: reads everything, changes nothing; sees masked personal data;
- ``supervisor`` (督办): reads the board and the 督办 notices, sees masked personal data;
  departments answer the notices, the supervisor follows them up;
- ``admin``: everything.

An account's ``session_epoch`` moves on at each logout (:func:`end_sessions`): bearer
tokens and page sessions carry the epoch they were issued in, and one from an earlier
epoch is refused. :class:`LoginFailure` rows are the failed logins the rate limiting
counts, kept in the database so a restart or a second server process shares them.

>>> check_role("clerk")
'clerk'
>>> check_role("clerc")
Traceback (most recent call last):
...
process_models.errors.InvalidInput: role: unknown role 'clerc'; use one of front_desk, clerk, planner, auditor, supervisor, admin (did you mean 'clerk'?)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from sqlalchemy import JSON, Column, delete, func, update
from sqlmodel import Field, Session, SQLModel, col, select

from flows.casework.tables import aware_time
from process_models.errors import Conflict, InvalidInput, NotFound, did_you_mean

__all__ = [
    "ROLES",
    "LoginFailure",
    "User",
    "add_user",
    "check_role",
    "clear_login_failures",
    "end_sessions",
    "find_user",
    "get_user",
    "list_users",
    "login_failures",
    "record_login_failure",
    "set_active",
    "set_departments",
]

ROLES = ("front_desk", "clerk", "planner", "auditor", "supervisor", "admin")
_USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


class User(SQLModel, table=True):
    """One member of staff's account (the table is ``account``: ``user`` is an SQL keyword)."""

    __tablename__ = "account"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, index=True, max_length=64)
    password_hash: str = Field(max_length=300)
    role: str = Field(max_length=20)
    departments: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    active: bool = True
    created_at: datetime
    session_epoch: int = 0


class LoginFailure(SQLModel, table=True):
    """One failed login: the username tried (cut to 64 characters, the longest a username
    can be), the client address and when (seconds since the epoch)."""

    __tablename__ = "login_failure"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, index=True)
    address: str = Field(max_length=64, index=True)
    failed_at: float = Field(index=True)


def check_role(role: str) -> str:
    """``role`` if it is one of :data:`ROLES`, else :class:`InvalidInput` with a did-you-mean."""
    if role not in ROLES:
        raise InvalidInput(f"unknown role '{role}'; use one of {', '.join(ROLES)}",
                           path="role", suggestion=did_you_mean(role, ROLES))
    return role


def _check_departments(role: str, departments: Sequence[str],
                       known: Iterable[str] | None) -> list[str]:
    departments = list(dict.fromkeys(d.strip() for d in departments if d.strip()))
    if role == "clerk" and not departments:
        raise InvalidInput("a clerk decides the steps of one or more departments; "
                           "give at least one with --department", path="departments")
    if role != "clerk" and departments:
        raise InvalidInput(f"only clerks are scoped to departments; a {role} sees every "
                           "department, leave --department out", path="departments")
    if known is not None:
        known = sorted(set(known))
        for department in departments:
            if department not in known:
                raise InvalidInput(f"unknown department '{department}'; no procedure has it",
                                   path="departments", suggestion=did_you_mean(department, known))
    return departments


def add_user(
    session: Session,
    username: str,
    *,
    password_hash: str | Callable[[], str],
    role: str,
    departments: Sequence[str] = (),
    known_departments: Iterable[str] | None = None,
    now: datetime,
) -> User:
    """Create an account and commit; an existing username is a :class:`Conflict`.

    ``known_departments``, when given, is what a clerk's departments must be among.
    ``password_hash`` may be a function computing the hash, called only once every check
    has passed (a slow hash is not paid for a refused account).

    >>> import tempfile, pathlib
    >>> from flows.casework.store import init_db, make_engine
    >>> engine = make_engine(f"sqlite:///{pathlib.Path(tempfile.mkdtemp()) / 'users.db'}")
    >>> init_db(engine)
    >>> with Session(engine) as session:
    ...     user = add_user(session, "wang", password_hash="x", role="clerk",
    ...                     departments=["police"], now=datetime(2025, 1, 24, 9, 0))
    ...     print(user.username, user.role, user.departments)
    wang clerk ['police']
    >>> with Session(engine) as session:
    ...     add_user(session, "wang", password_hash="y", role="auditor",
    ...              now=datetime(2025, 1, 24, 9, 5))
    Traceback (most recent call last):
    ...
    process_models.errors.Conflict: username: user 'wang' already exists; choose another name
    >>> engine.dispose()
    """
    if not _USERNAME.match(username or ""):
        raise InvalidInput(f"username '{username}' must be 1-64 letters, digits, '.', '_' or '-'",
                           path="username")
    check_role(role)
    departments = _check_departments(role, departments, known_departments)
    if find_user(session, username) is not None:
        raise Conflict(f"user '{username}' already exists; choose another name", path="username")
    if callable(password_hash):
        password_hash = password_hash()
    user = User(username=username, password_hash=password_hash, role=role,
                departments=departments, created_at=aware_time(now))
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def list_users(session: Session) -> list[User]:
    """Every account, by username."""
    return list(session.exec(select(User).order_by(col(User.username))))


def _existing(session: Session, username: str) -> User:
    user = find_user(session, username)
    if user is None:
        raise NotFound(f"no user '{username}'", path="username",
                       suggestion=did_you_mean(username, [u.username for u in list_users(session)]))
    return user


def set_active(session: Session, username: str, active: bool) -> User:
    """Enable or disable account ``username``; disabling ends its sessions and tokens at
    once. Commits."""
    user = _existing(session, username)
    user.active = active
    if not active:
        user.session_epoch += 1
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def set_departments(session: Session, username: str, departments: Sequence[str], *,
                    known_departments: Iterable[str] | None = None) -> User:
    """Set the departments clerk ``username`` decides for (checked as in :func:`add_user`);
    its sessions end, so that no page shows the old scope. Commits."""
    user = _existing(session, username)
    user.departments = _check_departments(user.role, departments, known_departments)
    user.session_epoch += 1
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def find_user(session: Session, username: str) -> User | None:
    """The account called ``username``, or ``None``."""
    return session.exec(select(User).where(User.username == username)).first()


def get_user(session: Session, user_id: int) -> User:
    """The account with id ``user_id``, or :class:`NotFound`."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}")
    return user


def end_sessions(session: Session, user_id: int) -> None:
    """End every page session and bearer token of the account (its epoch moves on); commits."""
    session.execute(update(User).where(col(User.id) == user_id)
                    .values(session_epoch=User.session_epoch + 1))
    session.commit()


def _failure_key(username: str, address: str) -> tuple[str, str]:
    return username[:64], address[:64]


def login_failures(session: Session, username: str, address: str,
                   since: float) -> tuple[tuple[int, float | None], tuple[int, float | None]]:
    """(count, earliest time) of the failed logins since ``since``: of ``username`` from
    ``address``, and of every username from ``address``."""
    username, address = _failure_key(username, address)
    recent = col(LoginFailure.failed_at) > since
    by_address = select(func.count(), func.min(LoginFailure.failed_at)).where(
        LoginFailure.address == address, recent)
    pair = by_address.where(LoginFailure.username == username)
    return tuple(session.exec(pair).one()), tuple(session.exec(by_address).one())


def record_login_failure(session: Session, username: str, address: str, *, now: float,
                         forget_before: float) -> None:
    """Count one failed login and drop the failures older than ``forget_before``; commits."""
    username, address = _failure_key(username, address)
    session.execute(delete(LoginFailure).where(col(LoginFailure.failed_at) <= forget_before))
    session.add(LoginFailure(username=username, address=address, failed_at=now))
    session.commit()


def clear_login_failures(session: Session, username: str, address: str) -> None:
    """Forget the failed logins of ``username`` from ``address`` (it logged in); commits."""
    username, address = _failure_key(username, address)
    session.execute(delete(LoginFailure).where(LoginFailure.username == username,
                                               LoginFailure.address == address))
    session.commit()
