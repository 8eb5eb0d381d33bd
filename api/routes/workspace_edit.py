"""Editing a workspace procedure through the API, as the page does (:mod:`api.workspace_edit`):
its step table replaced as a new revision (422 with the row and column at fault), undo,
sharing read-only with every colleague or with colleagues by name, its revisions and the
table as XLSX.

Only the owner changes a procedure or its sharing: a colleague it is shared with reads it
and gets 403 for a change, anyone else 404 as for a missing one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from api.deps import SessionDep
from api.routes.workspace import (
    Planner,
    Reader,
    WorkspaceId,
    WorkspaceProcedurePublic,
    procedure_public,
)
from api.workspace_edit import EDIT_KEYS, MAX_EDIT_ROWS, XLSX_MEDIA
from flows.casework import workspace

router = APIRouter(prefix="/workspace", tags=["workspace"])

Cell = str | float | None


class StepTable(BaseModel):
    """A step table below its header: one row per step, its cells in the order of
    ``columns`` (事项, 部门, 前置事项, 依赖类型, 法定时限, 承诺时限, 时限单位, 要件数, 要件,
    跑动次数, 办件类型, 备注, 依据)."""

    columns: list[str] = Field(default=list(EDIT_KEYS), description="the column keys, in order")
    rows: list[list[Cell]] = Field(max_length=MAX_EDIT_ROWS)


class Sharing(BaseModel):
    """Whether every colleague who reads workspaces (planners, auditors) may read the
    procedure."""

    shared: bool


class ReaderPublic(BaseModel):
    """A colleague the procedure is shared with read-only: their account, since when."""

    reader: str
    shared_at: datetime


class RevisionPublic(BaseModel):
    """One revision: who changed what, when."""

    revision: int
    changed_by: str
    changed_at: datetime
    change: str


def _steps(row: workspace.WorkspaceProcedure) -> int:
    from process_models.loading import parse_procedure

    return len(parse_procedure(row.definition, file=row.name).steps)


@router.get("/procedures/{workspace_id}/table")
def read_workspace_table(workspace_id: WorkspaceId, session: SessionDep,
                         user: Reader) -> StepTable:
    """The procedure's step table (the cells the page edits)."""
    from api.workspace_edit import edit_cells

    proc = workspace.read_procedure(session, workspace_id, viewer=user.username)[1]
    return StepTable(rows=edit_cells(proc))


@router.put("/procedures/{workspace_id}/table")
def update_workspace_table(workspace_id: WorkspaceId, body: StepTable, session: SessionDep,
                           user: Planner) -> WorkspaceProcedurePublic:
    """Replace the step table: a new revision whose change says what changed."""
    from api.workspace_edit import save_table_edit, table_rows
    from process_models.errors import InvalidInput

    if body.columns != list(EDIT_KEYS):
        raise InvalidInput(f"columns must be {', '.join(EDIT_KEYS)}, in this order",
                           path="columns")
    cells = [["" if c is None else c for c in row] for row in body.rows]
    row = save_table_edit(session, workspace_id, owner=user.username,
                          rows=table_rows(cells), now=datetime.now(UTC))
    return procedure_public(row, _steps(row))


@router.post("/procedures/{workspace_id}/undo", status_code=201)
def undo_workspace_change(workspace_id: WorkspaceId, session: SessionDep,
                          user: Planner) -> WorkspaceProcedurePublic:
    """Undo the newest change: a new revision restoring the one before it."""
    row = workspace.undo_revision(session, workspace_id, owner=user.username,
                                  now=datetime.now(UTC))
    return procedure_public(row, _steps(row))


@router.put("/procedures/{workspace_id}/shared")
def share_workspace_procedure(workspace_id: WorkspaceId, body: Sharing, session: SessionDep,
                              user: Planner) -> WorkspaceProcedurePublic:
    """Share the procedure read-only with every colleague who reads workspaces, or stop."""
    workspace.set_shared(session, workspace_id, owner=user.username, shared=body.shared)
    row = workspace.read_procedure(session, workspace_id, viewer=user.username)[0]
    return procedure_public(row, _steps(row))


ReaderName = Annotated[str, Path(max_length=64, description="a colleague's account name")]


def _readers(session: SessionDep, workspace_id: str, owner: str) -> list[ReaderPublic]:
    return [ReaderPublic(reader=r.reader, shared_at=r.shared_at)
            for r in workspace.readers(session, workspace_id, owner=owner)]


@router.get("/procedures/{workspace_id}/readers")
def read_workspace_readers(workspace_id: WorkspaceId, session: SessionDep,
                           user: Planner) -> list[ReaderPublic]:
    """The colleagues you share the procedure with by name (the owner; planners, admins)."""
    return _readers(session, workspace_id, user.username)


@router.put("/procedures/{workspace_id}/readers/{reader}")
def share_workspace_procedure_with(workspace_id: WorkspaceId, reader: ReaderName,
                                   session: SessionDep, user: Planner) -> list[ReaderPublic]:
    """Share the procedure read-only with a colleague's account; who it is shared with."""
    from api.deps import PERMISSIONS
    from api.workspace import WORKSPACE_READ

    workspace.share_with(session, workspace_id, owner=user.username, reader=reader,
                         roles=PERMISSIONS[WORKSPACE_READ], now=datetime.now(UTC))
    return _readers(session, workspace_id, user.username)


@router.delete("/procedures/{workspace_id}/readers/{reader}")
def stop_sharing_workspace_procedure(workspace_id: WorkspaceId, reader: ReaderName,
                                     session: SessionDep, user: Planner) -> list[ReaderPublic]:
    """Stop sharing the procedure with a colleague; the colleagues it is still shared with."""
    workspace.stop_sharing(session, workspace_id, owner=user.username, reader=reader)
    return _readers(session, workspace_id, user.username)


@router.get("/procedures/{workspace_id}/revisions")
def read_workspace_revisions(workspace_id: WorkspaceId, session: SessionDep,
                             user: Reader) -> list[RevisionPublic]:
    """The newest revisions, newest first: who changed what, when."""
    rows = workspace.revisions(session, workspace_id, viewer=user.username)
    return [RevisionPublic(**r.model_dump(include={"revision", "changed_by", "changed_at",
                                                   "change"}))
            for r in rows[:workspace.MAX_REVISIONS_SHOWN]]


XLSX = {200: {"content": {XLSX_MEDIA: {"schema": {"type": "string", "format": "binary"}}}}}


@router.get("/procedures/{workspace_id}/table.xlsx", response_class=Response, responses=XLSX)
def read_workspace_table_xlsx(workspace_id: WorkspaceId, session: SessionDep,
                              user: Reader) -> Response:
    """The step table as XLSX, as an upload reads it back."""
    from api.workspace_edit import table_xlsx

    proc = workspace.read_procedure(session, workspace_id, viewer=user.username)[1]
    return Response(table_xlsx(proc), media_type=XLSX_MEDIA,
                    headers={"Content-Disposition": 'attachment; filename="steps.xlsx"'})
