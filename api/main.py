"""The FastAPI application: routers, domain errors mapped to HTTP once, accounts at start-up.

:func:`create_app` builds the service on an engine (default: the settings' database),
migrates it to head on start-up and, in development on SQLite, creates one demo account per
role (:data:`DEMO_ACCOUNTS`; never on PostgreSQL). It signs with the service's secret
(:func:`process_models.settings.secret_key`); request bodies over
``settings.max_request_bytes`` are refused with 413 before anything reads them
(:class:`BodyLimit`), logged in or not. The JSON API lives under ``/api`` (bearer tokens); ``/health``
answers load balancers; the web pages mount their own router on the same app
(``app.include_router(pages.router)``) and use the signed session cookie.

Every :class:`~process_models.errors.OnethingError` becomes one JSON answer
``{"detail": "<the message the CLI prints with --lang en>"}`` with the status of
:data:`ERROR_STATUS` (:func:`public_message`: without the install folder); a request that
does not fit its schema gets the same one-line shape (422).

>>> ERROR_STATUS[0][1], ERROR_STATUS[-1][1]
(404, 422)
"""

from __future__ import annotations

import gc
import json
import logging
import sys
import time
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from markupsafe import escape
from sqlalchemy import Engine, text
from sqlmodel import Session
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import HTTPConnection

# Imported with the application, not on first use: importing Prefect configures the
# process's logging, which must happen before uvicorn configures its own loggers, or
# uvicorn's INFO lines (start-up, shutdown, requests) are silenced.
import flows.runs  # noqa: F401
from api import (
    applicant_pages,
    auditor_page,
    case_runner,
    county_page,
    desk_page,
    pages,
    ratings_page,
    tasks_page,
    verify_page,
    window_page,
    workspace_edit_page,
    workspace_page,
)
from api.case_public import KEPT_SECONDS, BoardKept
from api.deps import API_PREFIX, LoopReads
from api.i18n import LANGUAGE_COOKIE, choose_language, messages
from api.kept import Kept
from api.masking import install_log_masking
from api.models import ERROR_RESPONSES, ERROR_STATUS, Health, error_status, public_message
from api.routes import api_router
from api.security import SESSION_MAX_SECONDS, LoginLimiter, TooManyAttempts, hash_password
from api.uploads import file_size
from flows.casework.applicant_login import LogSmsSender, SmsSender
from process_models.errors import OnethingError
from process_models.settings import secret_key as configured_secret_key
from process_models.settings import settings

__all__ = ["DEMO_ACCOUNTS", "DEMO_CLERK_PASSWORD", "ERROR_STATUS", "BodyLimit", "WriteClock",
           "app",
           "create_app", "demo_accounts", "ensure_demo_accounts", "error_status",
           "public_message", "settle_heap"]

log = logging.getLogger(__name__)

DEMO_ACCOUNTS: list[tuple[str, str, str, list[str]]] = [
    ("frontdesk", "frontdesk-demo", "front_desk", []),
    ("clerk", "clerk-demo", "clerk", ["hospital", "health"]),
    ("planner", "planner-demo", "planner", []),
    ("auditor", "auditor-demo", "auditor", []),
    ("supervisor", "supervisor-demo", "supervisor", []),
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
422 invalid; the `detail` is the one-line message `onething --lang en` prints.
"""

TAGS = [
    {"name": "login", "description": "Bearer tokens for the API."},
    {"name": "procedures", "description": "Procedure definitions: catalog and uploaded."},
    {"name": "simulations", "description": "Critical path, risk, reforms, advice, Gantt."},
    {"name": "cases", "description": "Running cases, from the window to the certificates."},
    {"name": "audit", "description": "Before/after reports and the audit-chain check."},
    {"name": "workspace", "description": "A planner's own procedures, graphs, scenarios and "
                                         "reports; invisible to other planners unless shared."},
    {"name": "ratings", "description": "The applicant's own login, cases and 好差评; "
                                       "差评 follow-ups and reports."},
]


_PING = text("SELECT 1")




async def _domain_error(request: Request, error: OnethingError) -> JSONResponse:
    """The one-line message; a table's cell at fault also as ``row`` and ``column``."""
    body: dict[str, object] = {"detail": public_message(error)}
    for key in ("row", "column"):
        if getattr(error, key, None) is not None:
            body[key] = getattr(error, key)
    return JSONResponse(body, status_code=error_status(error))


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


class WriteClock:
    """ASGI middleware: when a request that may change something (any method but GET,
    HEAD and OPTIONS) made with a bearer token has been answered,
    ``app.state.last_writes[user_id]`` (monotonic seconds) says so: boards kept before it
    are not shown to that account again (:func:`api.routes.cases._kept`). The account is the
    one :func:`api.deps.get_current_user` found (``request.state.user_id``)."""

    SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            if scope["type"] == "http" and scope["method"] not in self.SAFE_METHODS:
                user_id = scope.get("state", {}).get("user_id")
                if user_id is not None:
                    scope["app"].state.last_writes[user_id] = time.monotonic()


class BodyLimit:
    """ASGI middleware: a request body over ``max_bytes`` is answered 413 before any route,
    login or form parser reads it: by its ``Content-Length``, or, streamed without one,
    read here up to the limit and passed on only if it stays within it.

    >>> BodyLimit(None, max_bytes=2_000_000).max_bytes
    2000000
    """

    def __init__(self, app, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > self.max_bytes:
                await self._refuse(scope, send)
                return
            await self.app(scope, receive, send)
            return
        if b"chunked" not in headers.get(b"transfer-encoding", b""):
            await self.app(scope, receive, send)
            return
        received, size = [], 0
        while True:
            message = await receive()
            received.append(message)
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._refuse(scope, send)
                return
            if message["type"] != "http.request" or not message.get("more_body", False):
                break

        async def replay():
            return received.pop(0) if received else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope, send) -> None:
        """413: for a page (a browser asking for HTML, not under ``/api``) a short page in
        its language, else the JSON the API answers errors with."""
        connection = HTTPConnection(scope)
        if connection.url.path.startswith(API_PREFIX) or "text/html" not in \
                connection.headers.get("accept", ""):
            body = json.dumps({"detail": f"the request body is over {self.max_bytes} bytes; "
                                         "send less"}).encode()
            kind = b"application/json"
        else:
            chosen = choose_language(connection.query_params.get("lang"),
                                     connection.cookies.get(LANGUAGE_COOKIE))
            strings = messages(chosen)
            body = _TOO_BIG_PAGE.format(
                lang="zh-CN" if chosen == "zh" else "en", title=escape(strings["error.title"]),
                app=escape(strings["app.name"]), back=escape(strings["error.back"]),
                message=escape(strings["error.request_too_big"].format(
                    size=file_size(self.max_bytes)))).encode()
            kind = b"text/html; charset=utf-8"
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", kind),
            (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


_TOO_BIG_PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · {app}</title><link rel="stylesheet" href="/static/onething.css"></head>
<body><main><h1>{title}</h1><p class="flash error" role="alert">{message}</p>
<p><a href="javascript:history.back()">{back}</a></p></main></body></html>
"""
"""The page a browser gets for a request too big to read (no session is read for it)."""


def _offline_docs(app: FastAPI) -> None:
    """``/docs`` (Swagger UI) and ``/redoc`` with their scripts and styles served from the
    installed ``fastapi-offline`` package under ``/docs-assets``: nothing from a CDN."""
    from pathlib import Path

    import fastapi_offline
    from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles

    assets = "/docs-assets"
    app.mount(assets, StaticFiles(directory=Path(fastapi_offline.__file__).parent / "static"),
              name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def read_docs() -> Response:
        return get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title} API",
                                   swagger_js_url=f"{assets}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{assets}/swagger-ui.css",
                                   swagger_favicon_url=f"{assets}/favicon.png")

    @app.get("/redoc", include_in_schema=False)
    async def read_redoc() -> Response:
        return get_redoc_html(openapi_url=app.openapi_url, title=f"{app.title} API",
                              redoc_js_url=f"{assets}/redoc.standalone.js",
                              redoc_favicon_url=f"{assets}/favicon.png", with_google_fonts=False)


DEMO_CLERK_PASSWORD = "clerk-demo"
"""The password of every department's demo clerk (``clerk-<department id>``)."""


def demo_accounts() -> list[tuple[str, str, str, list[str]]]:
    """:data:`DEMO_ACCOUNTS` and one clerk per department deciding a step of a bundle the
    window runs (``clerk-<department id>``, password :data:`DEMO_CLERK_PASSWORD`), so that a
    newcomer finishes every demo case in the browser.

    >>> ("clerk-police", "clerk-demo", "clerk", ["police"]) in demo_accounts()
    True
    """
    from flows.casework.definitions import window_procedure
    from process_models.catalog import catalog_ids

    departments = sorted({s.department for pid in catalog_ids()
                          for s in window_procedure(pid).applicant_steps})
    return DEMO_ACCOUNTS + [(f"clerk-{d}", DEMO_CLERK_PASSWORD, "clerk", [d])
                            for d in departments]


def ensure_demo_accounts(engine: Engine) -> list[tuple[str, str, str]]:
    """Create the missing :func:`demo_accounts`; (username, password, role) of every one."""
    from flows.casework.accounts import add_user, find_user
    from process_models.errors import Conflict

    accounts = demo_accounts()
    hashes: dict[str, str] = {}
    with Session(engine) as session:
        for username, password, role, departments in accounts:
            if find_user(session, username) is None:
                if password not in hashes:
                    hashes[password] = hash_password(password)
                try:
                    add_user(session, username, password_hash=hashes[password],
                             role=role, departments=departments, now=datetime.now(UTC))
                except Conflict:  # another server worker created it first
                    session.rollback()
    return [(username, password, role) for username, password, role, _ in accounts]


def settle_heap() -> None:
    """Take what start-up built (modules, routes, templates, settings: some 240,000 objects)
    out of the cycle collector's full passes, once per process. Left in, every full pass
    walks them all: ~0.1 s of some request's time on a quiet machine, and the planner's
    pages on a 200-step procedure make garbage enough for a full pass every few requests."""
    if not gc.get_freeze_count():
        gc.collect()
        gc.freeze()


SWITCH_INTERVAL_SECONDS = 0.0005
"""How long the serving thread may hold the interpreter before a thread waiting for it gets
its turn (Python's default: 5 ms). A write runs in a worker thread holding the audit chain
lock (:func:`flows.casework._rows.lock_chain`) across some twenty round trips to the
database; after each it waits for the interpreter while the event loop serves reads, and
with the default, every write of every service process queued behind those waits."""


def create_app(
    engine: Engine | None = None,
    *,
    secret_key: str | None = None,
    demo_accounts: bool | None = None,
    login_limiter: LoginLimiter | None = None,
    relay: bool = True,
    sms_sender: SmsSender | None = None,
) -> FastAPI:
    """The service on ``engine`` (default: the settings' database).

    ``secret_key`` defaults to the service's secret (:func:`configured_secret_key`).
    ``demo_accounts`` defaults to ``True`` in development; never on anything but SQLite.
    The database is migrated to head when the application starts, start-up's objects are
    left out of the collector's passes (:func:`settle_heap`); then the case handling
    starts beside the requests (:func:`api.case_runner.case_handling`: Prefect's API in
    embedded mode, and the outbox relay unless ``relay`` is false). Applicants' one-time
    codes go through ``sms_sender`` (default :class:`~flows.casework.applicant_login.LogSmsSender`,
    which writes them to the log: there is no SMS gateway).
    """
    from flows.casework.store import init_db, make_engine

    install_log_masking()
    engine = engine if engine is not None else make_engine()
    demo = settings.environment == "development" if demo_accounts is None else demo_accounts
    demo = demo and engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
        init_db(engine)
        if demo:
            ensure_demo_accounts(engine)
        settle_heap()
        with case_runner.case_handling(engine, relay=relay):
            yield
        app.state.loop_reads.dispose()

    app = FastAPI(title="onething", version="0.1.0", description=DESCRIPTION,
                  openapi_tags=TAGS, lifespan=lifespan, docs_url=None, redoc_url=None)
    _offline_docs(app)
    app.state.engine = engine
    app.state.secret_key = secret_key or configured_secret_key()
    app.state.session_idle_seconds = settings.session_idle_minutes * 60
    app.state.login_limiter = login_limiter or LoginLimiter()
    app.state.verify_limiter = verify_page.RequestLimiter()
    app.state.loop_reads = LoopReads(engine)
    app.state.case_reads = Kept(4096, KEPT_SECONDS)
    app.state.board_kept = BoardKept()
    app.state.last_writes = {}
    app.state.sms_sender = sms_sender or LogSmsSender()
    app.add_middleware(SessionMiddleware, secret_key=app.state.secret_key,
                       session_cookie="onething_session", same_site="lax",
                       max_age=SESSION_MAX_SECONDS,
                       https_only=settings.environment == "production")
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(WriteClock)
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
    app.include_router(desk_page.router)
    app.include_router(verify_page.router)
    app.include_router(window_page.router)
    app.include_router(applicant_pages.router)
    app.include_router(ratings_page.router)
    app.include_router(tasks_page.router)
    app.include_router(workspace_page.router)
    app.include_router(workspace_edit_page.router)
    app.include_router(auditor_page.router)
    app.include_router(county_page.router)
    return app


def __getattr__(name: str):
    """``api.main.app``: the service on the settings' database, built on first use."""
    if name == "app":
        global app
        app = create_app()
        return app
    raise AttributeError(name)
