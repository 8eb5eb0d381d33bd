"""The planner's workbench pages (``/workspace``): upload a procedure, see its graph before
and after ticked levers, keep scenarios and compare two, and take the Word report away.

The pages call :mod:`api.workspace` and :mod:`flows.casework.workspace`, as the API does;
the rendering, login gate and CSRF check are those of :mod:`api.pages`. An upload that
fails shows the table as read with the cell at fault marked (its row and column) and what
is wrong in the reader's language, and stores nothing. Auditors read what is shared with
them (:data:`~api.workspace.WORKSPACE_READ`); only planners and admins upload.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session

from api.deps import PageUser, SessionDep
from api.i18n import messages
from api.page_kit import back, error_page, gate, language, may, page_message, render, stale_form
from api.pages import METRICS
from api.security import check_csrf
from api.workspace import MAX_UPLOAD_BYTES, WORKSPACE_LEVERS, WORKSPACE_READ, WORKSPACE_WRITE
from flows.casework import workspace
from flows.casework.accounts import User
from process_models.errors import Forbidden, NotFound, OnethingError

__all__ = ["PREVIEW_ROWS", "procedure_page", "router"]

router = APIRouter(include_in_schema=False)

PREVIEW_ROWS = 60
"""Rows of a refused table shown on the page around the row at fault."""



def _list(request: Request, user: User, session: Session, *, status_code: int = 200,
          **context: Any) -> Response:
    return render(request, "workspace.html", user, status_code=status_code,
                  procedures=workspace.list_procedures(session, user.username),
                  may_upload=may(user, WORKSPACE_WRITE), max_bytes=MAX_UPLOAD_BYTES, **context)


@router.get("/workspace")
def read_workspace(request: Request, user: PageUser, session: SessionDep) -> Response:
    """Your procedures and those shared with you, marked by their owner, and the upload form
    (step table, YAML or BPMN) for those who may upload."""
    if refused := gate(request, user, WORKSPACE_READ):
        return refused
    return _list(request, user, session)


def _preview(name: str | None, data: bytes, error: OnethingError) -> dict[str, Any] | None:
    """The rows of a refused table around the row at fault, for the page to mark."""
    from process_models.table_files import read_table_data

    row = getattr(error, "row", None)
    if row is None or not (name or "").lower().endswith((".csv", ".xlsx")):
        return None
    try:
        rows = read_table_data(data, name or "upload.csv")[0]
    except OnethingError:
        return None
    first = max(row - PREVIEW_ROWS // 2, 1)
    header = [str(c) for c in rows[0]] if rows else []
    return {"row": row, "column": getattr(error, "column", None), "header": header,
            "rows": [(first + i, ["" if c is None else str(c) for c in cells])
                     for i, cells in enumerate(rows[first - 1:first - 1 + PREVIEW_ROWS])
                     if first + i > 1]}


@router.post("/workspace")
async def upload_workspace_procedure(request: Request, user: PageUser, session: SessionDep,
                                     file: UploadFile,
                                     csrf_token: Annotated[str, Form()] = "") -> Response:
    """Upload a procedure to your workspace; errors shown against their row and column."""
    from api.workspace import procedure_from_upload

    if refused := gate(request, user, WORKSPACE_WRITE, page="/workspace"):
        return refused
    try:
        check_csrf(request, csrf_token)
    except Forbidden:
        return error_page(request, user, stale_form(request))
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    try:
        proc = await run_in_threadpool(procedure_from_upload, file.filename, data)
    except OnethingError as error:
        return _list(request, user, session, status_code=422,
                     error=page_message(error, language(request)),
                     preview=_preview(file.filename, data, error))
    row = workspace.add_procedure(session, proc, owner=user.username,
                                  change=f"上传 {file.filename or ''}".strip(),
                                  now=datetime.now(UTC))
    stored = messages(language(request))["ws.stored"]
    return back(request, f"/workspace/{row.id}", "ok",
                stored.format(name=proc.name, steps=len(proc.steps)))


def _figures(row: workspace.WorkspaceProcedure, levers: list[str], lang: str, *,
             finish_by: date | None = None, with_risk: bool = True,
             graphs: bool = True) -> dict[str, Any]:
    """Before/after figures, waterfall, change log, Gantt, risk (unless ``with_risk`` is
    false: the page fetches it after load), the graphs before and after unless ``graphs`` is
    false (the comparison shows none) and, given ``finish_by``, the steps laid backwards, of
    one scenario of the revision ``row``."""
    from api.planner_page import reform_context
    from api.workspace import graph_figures, workspace_reform
    from api.workspace_view import risk_figures

    result = workspace_reform(row, levers)
    before, after = result.before, result.after
    context = reform_context(result, finish_by, lang)
    drawn = {"graph_before": graph_figures(before, lang, link="#before-step-{id}"),
             "graph_after": graph_figures(after, lang, link="#after-step-{id}")} if graphs else {}
    return {**context, **drawn,
            "risk": risk_figures(before, after, lang) if with_risk else None}


def _scenario_levers(session: Session, owner: str, scenario_id: str | None,
                     levers: list[str]) -> list[str]:
    if scenario_id:
        return list(workspace.read_scenario(session, scenario_id, owner=owner).levers)
    return levers


@router.get("/workspace/{workspace_id}")
def read_workspace_procedure(request: Request, user: PageUser, session: SessionDep,
                             workspace_id: str, scenario: str = "",
                             finish_by: str = "") -> Response:
    """One workspace procedure: its step table to edit, tick levers, graphs before and
    after, figures, risk, 倒排, the scenarios kept and the report."""
    if refused := gate(request, user, WORKSPACE_READ):
        return refused
    return procedure_page(request, user, session, workspace_id, scenario=scenario,
                          finish_by=finish_by)


def procedure_page(request: Request, user: User, session: Session, workspace_id: str, *,
                   scenario: str = "", finish_by: str = "", status_code: int = 200,
                   **edit: Any) -> Response:
    """The workspace procedure page (``edit``: the table as typed and its problem, when a
    saved edit is refused)."""
    from api.workspace_edit import workbench_context
    from process_models.calendar import parse_date

    lang = language(request)
    try:
        row, proc = workspace.read_procedure(session, workspace_id, viewer=user.username)
        levers = _scenario_levers(session, row.owner, scenario or None,
                                  request.query_params.getlist("lever"))
        due = parse_date(finish_by, path="finish_by") if finish_by else None
        figures = _figures(row, levers, lang, finish_by=due, with_risk=False)
        scenarios = workspace.list_scenarios(session, workspace_id, owner=row.owner)
        extra = workbench_context(session, row, proc, figures["after"], scenarios,
                                  user.username, lang, **edit)
    except OnethingError as error:
        return error_page(request, user, error)
    query = urlencode([("lever", x) for x in levers])
    return render(request, "workspace_procedure.html", user, status_code=status_code, row=row,
                  levers=levers, tickable=WORKSPACE_LEVERS, metrics=METRICS,
                  scenarios=scenarios, query=query, finish_by=finish_by,
                  **figures, **extra)


@router.post("/workspace/{workspace_id}/scenarios")
def save_workspace_scenario(request: Request, user: PageUser, session: SessionDep,
                            workspace_id: str, name: Annotated[str, Form(max_length=200)],
                            lever: Annotated[list[str], Form()] = [],  # noqa: B006
                            csrf_token: Annotated[str, Form()] = "") -> Response:
    """Keep the ticked levers under a name (also: duplicate a kept scenario)."""
    from api.workspace import check_levers

    home = f"/workspace/{workspace_id}"
    if refused := gate(request, user, WORKSPACE_WRITE, page=home):
        return refused
    try:
        check_csrf(request, csrf_token)
        saved = workspace.save_scenario(session, workspace_id, owner=user.username,
                                        name=name, levers=check_levers(lever),
                                        now=datetime.now(UTC))
    except Forbidden as error:  # a stale form, or a colleague's read-only procedure
        return error_page(request, user, error)
    except OnethingError as error:
        return back(request, home, "error", page_message(error, language(request)))
    return back(request, f"{home}?scenario={saved.id}", "ok", saved.name)


@router.get("/workspace/{workspace_id}/compare")
def compare_workspace_scenarios(request: Request, user: PageUser, session: SessionDep,
                                workspace_id: str, a: str, b: str) -> Response:
    """Two kept scenarios side by side: figures, waterfall and Monte-Carlo risk."""
    if refused := gate(request, user, WORKSPACE_READ):
        return refused
    lang = language(request)
    try:
        row = workspace.read_procedure(session, workspace_id, viewer=user.username)[0]
        sides = []
        for scenario_id in (a, b):
            kept = workspace.read_scenario(session, scenario_id, owner=row.owner)
            sides.append({"scenario": kept, **_figures(row, list(kept.levers), lang,
                                                       graphs=False)})
    except OnethingError as error:
        return error_page(request, user, error)
    return render(request, "workspace_compare.html", user, row=row, sides=sides,
                  metrics=METRICS)


@router.get("/workspace/{workspace_id}/report")
def read_workspace_report(request: Request, user: PageUser, session: SessionDep,
                          workspace_id: str) -> Response:
    """The before/after report of the ticked levers as a printable page, with the graphs."""
    from api.workspace import graph_figures
    from api.workspace_report import report
    from simulations.planning.gantt_svg import gantt_svg

    if refused := gate(request, user, WORKSPACE_READ):
        return refused
    lang = language(request)
    levers = request.query_params.getlist("lever")
    try:
        row, proc = workspace.read_procedure(session, workspace_id, viewer=user.username)
        content = report(proc, levers, language=lang)
    except OnethingError as error:
        return error_page(request, user, error)
    return render(request, "workspace_report.html", user, row=row, report=content,
                  gantt=gantt_svg(content.before, content.after, lang=lang),
                  graph_before=graph_figures(content.before, lang),
                  graph_after=graph_figures(content.after, lang),
                  query=urlencode([("lever", x) for x in levers]))


@router.get("/workspace/{workspace_id}/report.{report_format}")
def download_workspace_report(request: Request, user: PageUser, session: SessionDep,
                              workspace_id: str, report_format: str) -> Response:
    """The report of the ticked levers as Word or XLSX (the API's ``report.docx`` / ``.xlsx``)."""
    from api.workspace_report import report_file

    if refused := gate(request, user, WORKSPACE_READ):
        return refused
    try:
        if report_format not in ("docx", "xlsx"):
            raise NotFound(f"no report as '{report_format}'; ask for report.docx or report.xlsx",
                           path="report_format")
        proc = workspace.read_procedure(session, workspace_id, viewer=user.username)[1]
        return report_file(proc, request.query_params.getlist("lever"), report_format,
                           language=language(request))
    except OnethingError as error:
        return error_page(request, user, error)
