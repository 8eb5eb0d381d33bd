"""The workbench's editing pages beside :mod:`api.workspace_page`: the step table saved
from the page (a form post, so it works without script), checked as the planner types
(``/table/check``, which ``api/static/workspace.js`` posts the form to), undo, sharing
read-only with every colleague or with colleagues by account, the table as XLSX and the
Monte-Carlo risk fragment the page fetches after load.

A colleague a procedure is shared with sees the page without its forms; their writes are
refused (403) with a line in their language, as the API refuses them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from api.deps import PageUser, SessionDep
from api.i18n import messages
from api.page_kit import (
    back,
    error_page,
    gate,
    is_fragment,
    language,
    page_message,
    render,
    stale_form,
)
from api.security import check_csrf
from api.workspace import WORKSPACE_READ, WORKSPACE_WRITE
from api.workspace_edit import (
    EDIT_KEYS,
    MAX_EDIT_ROWS,
    XLSX_MEDIA,
    edited_procedure,
    problem_of,
    save_table_edit,
    table_rows,
    table_xlsx,
)
from flows.casework import workspace
from flows.casework.accounts import User
from process_models.errors import Forbidden, InvalidInput, OnethingError, TableError

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_MAX_FIELDS = len(EDIT_KEYS) * (MAX_EDIT_ROWS + 2) + 20


async def _typed(request: Request) -> tuple[list[list[str]], frozenset[int], str]:
    """The table as the form sent it (row by row), the rows marked removed, the CSRF token."""
    form = await request.form(max_fields=_MAX_FIELDS)
    columns = [[str(v)[:2000] for v in form.getlist(key)] for key in EDIT_KEYS]
    if len({len(c) for c in columns}) > 1:
        raise InvalidInput("the table's columns differ in length; reload the page", path="step")
    removed = frozenset(int(v) for v in form.getlist("remove") if str(v).isdigit())
    return [list(r) for r in zip(*columns, strict=True)], removed, str(form.get("csrf_token", ""))


@router.post("/workspace/{workspace_id}/table/check")
async def check_workspace_table(request: Request, user: PageUser, session: SessionDep,
                                workspace_id: str) -> Response:
    """The typed table checked as a save would check it, as JSON: ``{"ok": true}`` or
    where the problem is (the form's row and column) and what it is."""
    from api.models import error_status

    if user is None or gate(request, user, WORKSPACE_WRITE):
        return JSONResponse({"ok": False}, status_code=401 if user is None else 403)
    try:
        cells, removed, token = await _typed(request)
        check_csrf(request, token)
        before = workspace.read_procedure(session, workspace_id, viewer=user.username)[1]
        edited_procedure(table_rows(cells, removed), before)
    except (TableError, InvalidInput) as error:
        return JSONResponse({"ok": False, **problem_of(error, language(request))})
    except OnethingError as error:
        return JSONResponse({"ok": False, "message": page_message(error, language(request))},
                            status_code=error_status(error))
    return JSONResponse({"ok": True})


@router.post("/workspace/{workspace_id}/table")
async def save_workspace_table(request: Request, user: PageUser, session: SessionDep,
                               workspace_id: str) -> Response:
    """Save the edited step table as a new revision; a bad cell is shown against its row and
    column with the table as typed, nothing stored."""
    from api.workspace_page import procedure_page

    home = f"/workspace/{workspace_id}"
    if refused := gate(request, user, WORKSPACE_WRITE, page=home):
        return refused
    try:
        cells, removed, token = await _typed(request)
        check_csrf(request, token)
    except Forbidden:
        return error_page(request, user, stale_form(request))
    except InvalidInput as error:
        return error_page(request, user, error)
    try:
        saved = save_table_edit(session, workspace_id, owner=user.username,
                                rows=table_rows(cells, removed), now=datetime.now(UTC))
    except (TableError, InvalidInput) as error:
        return procedure_page(request, user, session, workspace_id, status_code=422,
                              cells=cells, removed=removed,
                              problem=problem_of(error, language(request)))
    except OnethingError as error:
        return error_page(request, user, error)
    text = messages(language(request))["ws.saved_revision"].format(revision=saved.revision)
    return back(request, home, "ok", text)


async def _owner_write(request: Request, user: User | None, workspace_id: str,
                       act: Callable[[Any], str]) -> Response:
    """A write form of the owner's: refused (login, role, stale CSRF token), or ``act`` on
    its fields and back to the page with what ``act`` says; a domain error as its page."""
    home = f"/workspace/{workspace_id}"
    if refused := gate(request, user, WORKSPACE_WRITE, page=home):
        return refused
    form = await request.form(max_fields=10)
    try:
        check_csrf(request, str(form.get("csrf_token", "")))
    except Forbidden:
        return error_page(request, user, stale_form(request))
    try:
        text = act(form)
    except InvalidInput as error:
        return back(request, home, "error", page_message(error, language(request)))
    except OnethingError as error:
        return error_page(request, user, error)
    return back(request, home, "ok", text)


@router.post("/workspace/{workspace_id}/undo")
async def undo_workspace_change(request: Request, user: PageUser, session: SessionDep,
                                workspace_id: str) -> Response:
    """Undo the newest change: a new revision restoring the one before it."""
    def undo(form: Any) -> str:
        saved = workspace.undo_revision(session, workspace_id, owner=user.username,
                                        now=datetime.now(UTC))
        return messages(language(request))["ws.undone"].format(revision=saved.revision)

    return await _owner_write(request, user, workspace_id, undo)


@router.post("/workspace/{workspace_id}/share")
async def share_workspace_procedure(request: Request, user: PageUser, session: SessionDep,
                                    workspace_id: str) -> Response:
    """Share the procedure read-only with every planner and auditor (``shared=1``), or stop."""
    def share(form: Any) -> str:
        shared = form.get("shared") == "1"
        workspace.set_shared(session, workspace_id, owner=user.username, shared=shared)
        return messages(language(request))["ws.shared_now" if shared else "ws.private_now"]

    return await _owner_write(request, user, workspace_id, share)


@router.post("/workspace/{workspace_id}/readers")
async def share_workspace_procedure_with(request: Request, user: PageUser,
                                         session: SessionDep, workspace_id: str) -> Response:
    """Share the procedure read-only with a colleague's account (``reader``)."""
    from api.deps import PERMISSIONS

    def share(form: Any) -> str:
        reader = str(form.get("reader", ""))[:64].strip()
        workspace.share_with(session, workspace_id, owner=user.username, reader=reader,
                             roles=PERMISSIONS[WORKSPACE_READ], now=datetime.now(UTC))
        return messages(language(request))["ws.shared_with_now"].format(reader=reader)

    return await _owner_write(request, user, workspace_id, share)


@router.post("/workspace/{workspace_id}/readers/remove")
async def stop_sharing_workspace_procedure(request: Request, user: PageUser,
                                           session: SessionDep, workspace_id: str) -> Response:
    """Stop sharing the procedure with a colleague's account (``reader``)."""
    def stop(form: Any) -> str:
        reader = str(form.get("reader", ""))[:64]
        workspace.stop_sharing(session, workspace_id, owner=user.username, reader=reader)
        return messages(language(request))["ws.unshared_with_now"].format(reader=reader)

    return await _owner_write(request, user, workspace_id, stop)


@router.get("/workspace/{workspace_id}/table.xlsx")
def download_workspace_table(request: Request, user: PageUser, session: SessionDep,
                             workspace_id: str) -> Response:
    """The step table as XLSX, as an upload reads it back."""
    if refused := gate(request, user, WORKSPACE_READ):
        return refused
    try:
        proc = workspace.read_procedure(session, workspace_id, viewer=user.username)[1]
        content = table_xlsx(proc)
    except OnethingError as error:
        return error_page(request, user, error)
    return Response(content, media_type=XLSX_MEDIA,
                    headers={"Content-Disposition": 'attachment; filename="steps.xlsx"'})


@router.get("/workspace/{workspace_id}/risk")
def read_workspace_risk(request: Request, user: PageUser, session: SessionDep,
                        workspace_id: str) -> Response:
    """The Monte-Carlo risk of the ticked levers with its distribution chart: a fragment
    the page fetches after load (a page of its own without script)."""
    from api.workspace import workspace_reform
    from api.workspace_view import risk_figures

    if refused := gate(request, user, WORKSPACE_READ):
        return refused
    try:
        row = workspace.read_procedure(session, workspace_id, viewer=user.username)[0]
        result = workspace_reform(row, request.query_params.getlist("lever"))
        risk = risk_figures(result.before, result.after, language(request))
    except OnethingError as error:
        return error_page(request, user, error)
    return render(request, "_risk.html" if is_fragment(request) else "workspace_risk.html",
                  user, row=row, risk=risk)
