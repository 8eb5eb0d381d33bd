"""The FastAPI application: routers, domain errors mapped to HTTP once, accounts at start-up.

:func:`create_app` builds the service on an engine (default: the settings' database),
migrates it to head on start-up and, in development, creates one demo account per role
(:data:`DEMO_ACCOUNTS`). The JSON API lives under ``/api`` (bearer tokens); ``/health``
answers load balancers; the web pages mount their own router on the same app
(``app.include_router(pages.router)``) and use the signed session cookie.

Every :class:`~process_models.errors.OnethingError` becomes one JSON answer
``{"detail": "<the message the CLI prints>"}`` with the status of :data:`ERROR_STATUS`;
a request that does not fit its schema gets the same one-line shape (422).

>>> ERROR_STATUS[0][1], ERROR_STATUS[-1][1]
(404, 422)
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text
from sqlmodel import Session
from starlette.middleware.sessions import SessionMiddleware

from api import pages
from api.deps import API_PREFIX, LoopReads
from api.masking import install_log_masking
from api.models import ERROR_RESPONSES, ERROR_STATUS, Health, error_status
from api.routes import api_router
from api.routes.cases import CaseReads
from api.security import LoginLimiter, TooManyAttempts, hash_password
from process_models.errors import OnethingError
from process_models.settings import settings

__all__ = ["DEMO_ACCOUNTS", "ERROR_STATUS", "app", "create_app", "ensure_demo_accounts"]

log = logging.getLogger(__name__)

DEMO_ACCOUNTS: list[tuple[str, str, str, list[str]]] = [
    ("frontdesk", "frontdesk-demo", "front_desk", []),
    ("clerk", "clerk-demo", "clerk", ["hospital", "health"]),
    ("planner", "planner-demo", "planner", []),
    ("auditor", "auditor-demo", "auditor", []),
    ("admin", "admin-demo", "admin", []),
]
"""(username, password, role, departments) of the development demo accounts."""

DESCRIPTION = """\
一件事一次办 approval procedures as a service: model and simulate procedures, run cases
from the single window (一窗受理) through parallel department decisions to certificates
issued together (一次办结), and audit before/after time limits and the tamper-evident trail.

Log in at `POST /api/login/access-token` (OAuth2 password flow) and send the token as
`Authorization: Bearer <token>`. Roles: `front_desk`, `clerk` (scoped to departments),
`planner`, `auditor` (read-only), `admin`. Errors: 404 unknown, 409 conflict, 403 forbidden,
422 invalid; the `detail` is the one-line message the `onething` CLI prints.
"""

TAGS = [
    {"name": "login", "description": "Bearer tokens for the API."},
    {"name": "procedures", "description": "Procedure definitions: catalog and uploaded."},
    {"name": "simulations", "description": "Critical path, risk, reforms, advice, Gantt."},
    {"name": "cases", "description": "Running cases, from the window to the certificates."},
    {"name": "audit", "description": "Before/after reports and the audit-chain check."},
]


_PING = text("SELECT 1")


async def _domain_error(request: Request, error: OnethingError) -> JSONResponse:
    return JSONResponse({"detail": str(error)}, status_code=error_status(error))


def _field(loc) -> str:
    return ".".join(str(part) for part in loc)


async def _invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
    """Request validation errors as one line too: ``body.applicant.id_number: Field required``."""
    problems = error.errors()
    first = problems[0] if problems else {"loc": (), "msg": "invalid request"}
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return JSONResponse({"detail": f"{_field(first['loc'])}: {first['msg']}{more}"},
                        status_code=422)


async def _too_many_attempts(request: Request, error: TooManyAttempts) -> JSONResponse:
    return JSONResponse({"detail": str(error)}, status_code=429,
                        headers={"Retry-After": str(error.retry_after_seconds)})


def ensure_demo_accounts(engine: Engine) -> list[tuple[str, str, str]]:
    """Create the missing :data:`DEMO_ACCOUNTS`; (username, password, role) of every one."""
    from flows.casework.accounts import add_user, find_user
    from process_models.errors import Conflict

    with Session(engine) as session:
        for username, password, role, departments in DEMO_ACCOUNTS:
            if find_user(session, username) is None:
                try:
                    add_user(session, username, password_hash=hash_password(password),
                             role=role, departments=departments, now=datetime.now(UTC))
                except Conflict:  # another server worker created it first
                    session.rollback()
    return [(username, password, role) for username, password, role, _ in DEMO_ACCOUNTS]


def create_app(
    engine: Engine | None = None,
    *,
    secret_key: str | None = None,
    demo_accounts: bool | None = None,
    login_limiter: LoginLimiter | None = None,
) -> FastAPI:
    """The service on ``engine`` (default: the settings' database).

    ``demo_accounts`` defaults to ``True`` in development only. The database is migrated
    to head when the application starts.
    """
    from flows.casework.store import init_db, make_engine

    install_log_masking()
    engine = engine if engine is not None else make_engine()
    demo = settings.environment == "development" if demo_accounts is None else demo_accounts

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        init_db(engine)
        if demo:
            ensure_demo_accounts(engine)
        yield
        app.state.loop_reads.dispose()

    app = FastAPI(title="onething", version="0.1.0", description=DESCRIPTION,
                  openapi_tags=TAGS, lifespan=lifespan)
    app.state.engine = engine
    app.state.secret_key = secret_key or settings.secret_key
    app.state.login_limiter = login_limiter or LoginLimiter()
    app.state.loop_reads = LoopReads(engine)
    app.state.case_reads = CaseReads()
    app.add_middleware(SessionMiddleware, secret_key=app.state.secret_key,
                       session_cookie="onething_session", same_site="lax",
                       https_only=settings.environment == "production")
    app.add_exception_handler(OnethingError, _domain_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(TooManyAttempts, _too_many_attempts)

    @app.get("/health", tags=["health"])
    async def read_health(request: Request) -> Health:
        """The service answers and its database accepts a query."""
        reads = request.app.state.loop_reads
        reads.run(lambda connection: connection.execute(_PING))
        return Health(database=reads.engine.dialect.name)

    app.include_router(api_router, prefix=API_PREFIX, responses=ERROR_RESPONSES)
    app.include_router(pages.router)
    return app


def __getattr__(name: str):
    """``api.main.app``: the service on the settings' database, built on first use."""
    if name == "app":
        global app
        app = create_app()
        return app
    raise AttributeError(name)
