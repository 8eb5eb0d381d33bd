"""FastAPI dependencies: the database session, the current user and what each role may do.

:data:`PERMISSIONS` is the one table of which role may do what; routes name their action
(``Depends(allowed("cases:decide"))``) and never test roles themselves. A clerk's
department scope is checked where the department is known (:func:`deciding_department`,
:func:`check_case_visible`).

>>> sorted(PERMISSIONS["cases:decide"])
['admin', 'clerk']
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, TypeVar

from fastapi import Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import Connection, Engine, bindparam
from sqlalchemy import select as sa_select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import SingletonThreadPool
from sqlmodel import Session, col, select

from api.security import InvalidToken, decode_access_token, session_epoch, session_user_id
from flows.casework import CHANGE_MARKER
from flows.casework.accounts import User
from flows.casework.tables import Case, CaseStep
from process_models.errors import CaseNotFound, Forbidden

__all__ = [
    "API_PREFIX",
    "PERMISSIONS",
    "TOKEN_URL",
    "CurrentUser",
    "EngineDep",
    "LoopReads",
    "PageUser",
    "SessionDep",
    "allowed",
    "case_scope",
    "check_allowed",
    "check_case_visible",
    "deciding_department",
    "get_engine",
    "get_session",
    "visible_case_ids",
]

T = TypeVar("T")

API_PREFIX = "/api"
TOKEN_URL = f"{API_PREFIX}/login/access-token"

_EVERYONE = frozenset({"front_desk", "clerk", "planner", "auditor", "supervisor", "admin"})

PERMISSIONS: dict[str, frozenset[str]] = {
    "procedures:read": _EVERYONE,
    "procedures:write": frozenset({"planner", "admin"}),
    "procedures:publish": frozenset({"admin"}),
    "simulations:run": frozenset({"planner", "auditor", "admin"}),
    "workspace:read": frozenset({"planner", "auditor", "admin"}),
    "cases:read": frozenset({"front_desk", "clerk", "auditor", "supervisor", "admin"}),
    "cases:open": frozenset({"front_desk", "admin"}),
    "cases:submit": frozenset({"front_desk", "admin"}),
    "cases:withdraw": frozenset({"front_desk", "admin"}),
    "cases:decide": frozenset({"clerk", "admin"}),
    "cases:repair": frozenset({"admin"}),
    "audit:report": frozenset({"planner", "auditor", "admin"}),
    "audit:verify": frozenset({"auditor", "admin"}),
    "audit:cases": frozenset({"auditor", "admin"}),
    "supervision:read": frozenset({"clerk", "auditor", "supervisor", "admin"}),
    "supervision:answer": frozenset({"clerk", "admin"}),
    "supervision:report": frozenset({"auditor", "supervisor", "admin"}),
    "users:manage": frozenset({"admin"}),
    "ratings:follow_up": frozenset({"front_desk", "clerk", "admin"}),
    "ratings:decide_appeal": frozenset({"admin"}),
    "ratings:report": frozenset({"planner", "auditor", "admin"}),
    "reform_tasks:read": frozenset({"planner", "auditor", "supervisor", "admin"}),
}
"""Action → the roles allowed to do it."""


async def get_engine(request: Request) -> Engine:
    """The application's engine (set by :func:`api.main.create_app`)."""
    return request.app.state.engine


EngineDep = Annotated[Engine, Depends(get_engine)]


async def get_session(engine: EngineDep) -> AsyncIterator[Session]:
    """One session per request.

    Dependencies that only compute, or read through :class:`LoopReads`, are ``async``; the
    others are plain functions, which FastAPI runs in a worker thread (a hop that costs as
    much as a small query). Opening a session does no I/O; closing one still in a
    transaction gives its connection back to the pool (a rollback), in a worker thread.
    """
    session = Session(engine)
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


SessionDep = Annotated[Session, Depends(get_session)]


class LoopReads:
    """Short reads done on the event loop itself: the bearer token's account, the case board
    and case statuses, the busiest reads, without a worker-thread hop.

    Their engine keeps one connection per thread (only the event loop's reads here), so they
    never wait for a connection that a worker thread holds; each read is done before the
    next ``await``. On PostgreSQL each statement commits by itself: a read of single
    statements needs no BEGIN and ROLLBACK round trips. The connection is not pinged before
    each read; a read that finds it dropped (the database restarted) runs once more on a
    new one (:meth:`run`).
    """

    def __init__(self, engine: Engine) -> None:
        from flows.casework.store import make_engine

        own = make_engine(engine.url.render_as_string(hide_password=False),
                          poolclass=SingletonThreadPool, pool_pre_ping=False)
        self.engine = (own.execution_options(isolation_level="AUTOCOMMIT")
                       if own.dialect.name == "postgresql" else own)
        self._accounts: dict[int, tuple[tuple, User]] = {}

    def run(self, read: Callable[[Connection], T]) -> T:
        """``read(connection)``, once more on a new connection if the database had dropped
        the one kept (a read has no effect to repeat)."""
        try:
            with self.engine.connect() as connection:
                return read(connection)
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
        with self.engine.connect() as connection:
            return read(connection)

    def account(self, user_id: int, case_id: str | None = None
                ) -> tuple[User | None, int, int | None]:
        """The active account ``user_id`` (``None`` if gone or deactivated), the cases'
        :data:`~flows.casework.audit_chain.CHANGE_MARKER` and, with ``case_id``, that case's
        own (:attr:`~flows.casework.tables.Case.changed_seq`; ``None``: no such case), in
        one round trip.

        The row is read every time, so a deactivation or a new role counts at once; the
        :class:`User` built from it is kept while the row is unchanged.
        """
        row = self.run(lambda connection: connection.execute(
            _ACCOUNT_AND_MARKERS, {"user_id": user_id, "case_id": case_id}).one())
        marker, case_marker, values = row[0], row[1], tuple(row[2:])
        if values[0] is None:
            return None, marker, case_marker
        kept = self._accounts.get(user_id)
        if kept is None or kept[0] != values:
            kept = values, User(**dict(zip(_ACCOUNT_COLUMNS, values, strict=True)))
            self._accounts[user_id] = kept
        user = kept[1]
        return (user if user.active else None), marker, case_marker

    def dispose(self) -> None:
        """Close the connection (when the application stops)."""
        self.engine.dispose()


_ACCOUNT_COLUMNS = tuple(User.model_fields)
_MARKER = CHANGE_MARKER.subquery()
_ACCOUNT_AND_MARKERS = (
    sa_select(_MARKER.c.seq,
              sa_select(Case.changed_seq).where(Case.id == bindparam("case_id"))
              .scalar_subquery(),
              *(getattr(User, name) for name in _ACCOUNT_COLUMNS))
    .select_from(_MARKER)
    .outerjoin(User, col(User.id) == bindparam("user_id"))
)
"""The cases' change marker, one case's and the account's columns (``NULL`` when there is
none)."""

oauth2_scheme = OAuth2PasswordBearer(tokenUrl=TOKEN_URL)
TokenDep = Annotated[str, Depends(oauth2_scheme)]

_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


def _active_user(session: Session, user_id: int | None) -> User | None:
    user = session.get(User, user_id) if user_id is not None else None
    return user if user is not None and user.active else None


async def get_current_user(request: Request, token: TokenDep) -> User:
    """The user named by the bearer token; 401 when it is missing, forged, expired or from
    before the account's last logout.

    Sets ``request.state.cases_marker`` and ``request.state.case_marker``, the cases'
    change marker and that of the path's case (if any), read with the account
    (:meth:`LoopReads.account`), which the kept case reads go by, and
    ``request.state.user_id`` (:class:`api.main.WriteClock` notes the account's changes).
    """
    try:
        claims = decode_access_token(token, secret_key=request.app.state.secret_key)
    except InvalidToken:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid or expired token; "
                            "log in again at " + TOKEN_URL, headers=_UNAUTHORIZED) from None
    user, request.state.cases_marker, request.state.case_marker = \
        request.app.state.loop_reads.account(claims.user_id,
                                             request.path_params.get("case_id"))
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "the token's account no longer "
                            "exists or was deactivated", headers=_UNAUTHORIZED)
    if user.session_epoch != claims.epoch:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "the token ended when its account "
                            "logged out; log in again at " + TOKEN_URL, headers=_UNAUTHORIZED)
    request.state.user_id = user.id
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def get_page_user(request: Request, session: SessionDep) -> User | None:
    """The user of the pages' session cookie, or ``None`` (the pages send them to log in):
    also when the session was idle too long or its account logged out since."""
    user_id = session_user_id(request, idle_seconds=request.app.state.session_idle_seconds)
    user = _active_user(session, user_id)
    if user is not None and user.session_epoch != session_epoch(request):
        request.session.clear()
        request.state.session_expired = True
        return None
    return user


PageUser = Annotated[User | None, Depends(get_page_user)]


def check_allowed(user: User, action: str) -> None:
    """Raise :class:`Forbidden` unless ``user``'s role may do ``action``."""
    if user.role not in PERMISSIONS[action]:
        roles = ", ".join(sorted(PERMISSIONS[action]))
        raise Forbidden(f"role '{user.role}' may not do {action}; it needs one of: {roles}")


def allowed(action: str):
    """A dependency giving the current user after checking that its role may do ``action``."""

    async def dependency(user: CurrentUser) -> User:
        check_allowed(user, action)
        return user

    dependency.__name__ = f"allowed_{action.replace(':', '_')}"
    return dependency


def case_scope(user: User) -> tuple[str, ...] | None:
    """The departments whose cases ``user`` may see (a clerk's), or ``None`` for every case."""
    return tuple(user.departments) if user.role == "clerk" else None


def visible_case_ids(user: User):
    """A subquery of the case ids ``user`` may see, or ``None`` for every case."""
    scope = case_scope(user)
    if scope is None:
        return None
    return select(CaseStep.case_id).where(col(CaseStep.department_id).in_(scope))


def check_case_visible(session: Session, user: User, case_id: str) -> Case:
    """The case, if it exists and ``user`` may see it (a clerk: one of its departments has a
    step in it); otherwise :class:`CaseNotFound`, the same answer whether the case is
    missing or out of sight, so that ids outside a clerk's scope cannot be probed."""
    case = session.get(Case, case_id)
    if case is None or (user.role == "clerk" and session.exec(select(CaseStep.id).where(
            CaseStep.case_id == case_id, col(CaseStep.department_id).in_(user.departments)
    ).limit(1)).first() is None):
        raise CaseNotFound(f"no case '{case_id}'; GET {API_PREFIX}/cases lists the cases")
    return case


def deciding_department(session: Session, user: User, case_id: str, step_id: str) -> str:
    """The department ``user`` decides ``step_id`` for: the step's own department when the
    user is an administrator or a clerk of it; otherwise :class:`Forbidden`.

    Unknown cases and steps fall through to the domain, which names them.
    """
    step = session.exec(select(CaseStep).where(CaseStep.case_id == case_id,
                                               CaseStep.step_id == step_id)).first()
    if step is None:
        return user.departments[0] if user.role == "clerk" and user.departments else ""
    if user.role == "admin" or step.department_id in user.departments:
        return step.department_id
    raise Forbidden(f"step '{step_id}' of case {case_id} belongs to department "
                    f"'{step.department_id}'; user '{user.username}' decides only for "
                    f"{', '.join(user.departments)}")
