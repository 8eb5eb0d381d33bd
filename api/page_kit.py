"""What every web page shares: the templates, the navigation, rendering in the visitor's
language, the login gate, error pages and post/redirect/get messages.

:mod:`api.pages` and :mod:`api.workspace_page` build their routes on these.

>>> [page for _, page, action in NAV if action == "audit:report"]
['/auditor']
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api.cli._app import named
from api.deps import PERMISSIONS, check_allowed
from api.i18n import LANGUAGE_COOKIE, LANGUAGES, choose_language, error_line, label, messages
from api.models import error_status, without_install_folder
from api.names import display_name
from api.security import csrf_token
from api.workspace import WORKSPACE_READ
from flows.casework.accounts import User
from flows.casework.tables import stored_time
from process_models.errors import Forbidden, OnethingError
from process_models.procedure import Procedure

__all__ = ["NAV", "STATIC_DIR", "TEMPLATES_DIR", "back", "catalog_audit_report",
           "catalog_procedures", "demo_county_report", "department_names", "error_page", "flash",
           "gate", "is_fragment", "language", "local_time", "may", "page_message", "render",
           "stale_form", "templates", "to_login"]

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"
templates = Jinja2Templates(directory=TEMPLATES_DIR)


def local_time(moment: datetime | None) -> str:
    """A stored UTC time as the service centre reads it (UTC+8), to the minute.

    >>> from datetime import UTC
    >>> local_time(datetime(2025, 1, 24, 1, 30, tzinfo=UTC))
    '2025-01-24 09:30'
    """
    if moment is None:
        return ""
    return stored_time(moment).strftime("%Y-%m-%d %H:%M")


templates.env.filters["local"] = local_time
templates.env.filters["named"] = named   # ids in free text (a close reason) as names

NAV = [("nav.desk", "/desk", "cases:open"), ("nav.inbox", "/inbox", "cases:decide"),
       ("nav.board", "/board", "cases:read"), ("nav.search", "/search", "cases:read"),
       ("nav.planner", "/planner", "simulations:run"),
       ("nav.reform_tasks", "/reform-tasks", "reform_tasks:read"),
       ("nav.workspace", "/workspace", WORKSPACE_READ),
       ("nav.auditor", "/auditor", "audit:report"), ("nav.ratings", "/ratings", "ratings:report"),
       ("nav.accounts", "/admin/accounts", "users:manage")]
"""(label, page, the action a role needs to see the page)."""

def language(request: Request) -> str:
    """The visitor's language: ``?lang=``, else the language cookie, else Chinese."""
    return choose_language(request.query_params.get("lang"), request.cookies.get(LANGUAGE_COOKIE))


def is_fragment(request: Request) -> bool:
    """Whether the page's script asks for a fragment to fill a box with (``X-Fragment: 1``),
    not a page of its own."""
    return request.headers.get("x-fragment") == "1"


def may(user: User | None, action: str) -> bool:
    """Whether ``user`` (``None``: nobody logged in) may do ``action``."""
    return user is not None and user.role in PERMISSIONS[action]


def render(request: Request, template: str, user: User | None, *, status_code: int = 200,
           **context: Any) -> Response:
    """``template`` in the visitor's language, with the navigation, CSRF token and message."""
    chosen = language(request)
    strings = messages(chosen)
    other = next(x for x in LANGUAGES if x != chosen)
    response = templates.TemplateResponse(request, template, {
        "t": strings, "lang": chosen, "user": user,
        "label": lambda group, value: label(strings, group, value),
        "csrf": csrf_token(request),
        "nav": [(strings[key], href) for key, href, action in NAV if may(user, action)],
        "user_departments": [department_names(chosen).get(d, d)
                             for d in (user.departments if user else [])],
        "switch_url": f"{request.url.path}?{request.url.include_query_params(lang=other).query}",
        "flash": request.session.pop("flash", None),
        "resumed": getattr(request.state, "resumed", {}),
        **context,
    }, status_code=status_code)
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, chosen, max_age=365 * 24 * 3600, samesite="lax")
    return response


@cache
def catalog_procedures() -> tuple[Procedure, ...]:
    """The catalog's procedures, read once."""
    from process_models.catalog import load_catalog

    return tuple(load_catalog())


@cache
def catalog_audit_report() -> dict[str, Any]:
    """The before/after report of every catalog procedure with a reform scenario (the API's
    default ``/audit/report``), as plain data: computed once, since the catalog is read
    once (:func:`catalog_procedures`)."""
    from api.routes.audit import audit_report_answer

    return audit_report_answer([], "json")


@cache
def demo_county_report() -> tuple[Any, Any]:
    """The demo county's report (合成数据, after against before) and its after-registry,
    generated and computed once: both come from a fixed seed."""
    from process_models.registry import demo_versions
    from simulations.planning.county_report import county_report

    before, after = demo_versions()
    return county_report(after, before), after


@cache
def department_names(language: str) -> dict[str, str]:
    """Every catalog department's name in ``language``, by id."""
    return {d.id: display_name(d, language) for p in catalog_procedures() for d in p.departments}


def page_message(error: OnethingError, language: str) -> str:
    """The error's one line as a page shows it: worded in ``language`` when the error names
    its reason (:func:`~api.i18n.error_line`), without the install folder.

    >>> from process_models.errors import TableError
    >>> bad = TableError("'x' is not a number of days", file="开店.csv", row=3, column="承诺时限",
    ...                  reason="not_days", values={"value": "'x'"})
    >>> page_message(bad, "zh")
    "开店.csv：第 3 行「承诺时限」：'x' 不是天数；请填数字，如 20 或 0.5"
    """
    return without_install_folder(error_line(error, language))


def error_page(request: Request, user: User | None, error: OnethingError) -> Response:
    """The error page of a domain error, with its status, in the page's language where the
    error names its reason (:func:`page_message`; never the install folder)."""
    return render(request, "error.html", user, status_code=error_status(error),
                  message=page_message(error, language(request)))


def stale_form(request: Request) -> Forbidden:
    """The refusal of a form whose CSRF token is not this session's, in the page's language."""
    return Forbidden(messages(language(request))["error.csrf"])


def to_login(request: Request, page: str | None = None,
              resume: dict[str, Any] | None = None) -> Response:
    """The way to the login page, then back to ``page`` (default: this one).

    A form sent without a session gets the login page at once, carrying ``resume`` (what
    was typed) to be filled in again after logging in.
    """
    strings = messages(language(request))
    if getattr(request.state, "session_expired", False):
        flash(request, "error", strings["login.expired"])
    target = page or request.url.path
    if request.method == "POST":
        return render(request, "login.html", None, status_code=401, next=target,
                      resume=json.dumps(resume, ensure_ascii=False) if resume else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


def gate(request: Request, user: User | None, action: str, *, page: str | None = None,
          resume: dict[str, Any] | None = None) -> Response | None:
    """The way to the login page (:func:`to_login`), a 403 page, or ``None`` when ``user``
    may do ``action``."""
    if user is None:
        return to_login(request, page, resume)
    try:
        check_allowed(user, action)
    except Forbidden as error:
        return error_page(request, user, error)
    return None


def flash(request: Request, kind: str, text: str) -> None:
    """Carry a message (``kind``: ok or error) to the next page shown."""
    request.session["flash"] = {"kind": kind, "text": text}


def back(request: Request, path: str, kind: str, text: str) -> Response:
    """Post/redirect/get: carry the message to ``path`` (a path on this site)."""
    flash(request, kind, text)
    return RedirectResponse(path if path.startswith("/") and not path.startswith("//")
                            else "/", status_code=303)
