"""The planner's workspace: procedures uploaded as a step table, YAML or BPMN, their graph
as SVG, the scenarios kept of them and the report (Word or XLSX) (:mod:`api.workspace`).

A workspace procedure belongs to the planner who uploaded it: a colleague it is shared with
(by name, or with everyone) reads it, as planners, auditors and admins may
(:data:`~api.workspace.WORKSPACE_READ`); anyone else gets 404 as for a missing one. It never
reaches live cases by itself (publishing is an admin's act on ``/api/procedures``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlmodel import Session

from api.deps import SessionDep, allowed
from api.models import REPORT_MEDIA
from api.workspace import MAX_UPLOAD_BYTES, WORKSPACE_LEVERS, WORKSPACE_READ, WORKSPACE_WRITE
from flows.casework import workspace
from flows.casework.accounts import User

router = APIRouter(prefix="/workspace", tags=["workspace"])

Planner = Annotated[User, Depends(allowed(WORKSPACE_WRITE))]
Reader = Annotated[User, Depends(allowed(WORKSPACE_READ))]
WorkspaceId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="a workspace id")]
LeverQuery = Annotated[list[str], Query(max_length=len(WORKSPACE_LEVERS),
                                        description="lever kinds, e.g. parallelise")]


class WorkspaceProcedurePublic(BaseModel):
    """A workspace procedure: its id (for URLs), name, revision and who changed what."""

    id: str
    procedure_id: str
    name: str
    revision: int
    owner: str
    shared: bool
    changed_by: str
    changed_at: datetime
    change: str
    steps: int


class ScenarioCreate(BaseModel):
    """A scenario to keep: its name and the lever kinds ticked."""

    name: str = Field(min_length=1, max_length=200)
    levers: list[str] = Field(default_factory=list, max_length=len(WORKSPACE_LEVERS))


class ScenarioPublic(BaseModel):
    """A kept scenario."""

    id: str
    name: str
    levers: list[str]
    saved_at: datetime


def procedure_public(row: workspace.WorkspaceProcedure, steps: int) -> WorkspaceProcedurePublic:
    return WorkspaceProcedurePublic(steps=steps, **row.model_dump(exclude={"definition"}))


@router.post("/procedures", status_code=201)
async def create_workspace_procedure(request: Request, file: UploadFile,
                                     user: Planner) -> WorkspaceProcedurePublic:
    """Upload a step table (CSV, XLSX), a procedure YAML or BPMN to your workspace."""
    from api.workspace import procedure_from_upload

    data = await file.read(MAX_UPLOAD_BYTES + 1)
    engine = request.app.state.engine

    def store() -> WorkspaceProcedurePublic:
        proc = procedure_from_upload(file.filename, data)
        with Session(engine) as session:
            row = workspace.add_procedure(session, proc, owner=user.username,
                                          change=f"上传 {file.filename or ''}".strip(),
                                          now=datetime.now(UTC))
            return procedure_public(row, len(proc.steps))

    return await run_in_threadpool(store)


@router.get("/procedures")
def read_workspace_procedures(session: SessionDep,
                              user: Reader) -> list[WorkspaceProcedurePublic]:
    """Your workspace procedures and those shared with you, newest change first."""
    from process_models.loading import parse_procedure

    return [procedure_public(row, len(parse_procedure(row.definition, file=row.name).steps))
            for row in workspace.list_procedures(session, user.username)]


SVG = {200: {"content": {"image/svg+xml": {"schema": {"type": "string"}}}}}
REPORT_FILE = {200: {"content": {REPORT_MEDIA[kind]: {"schema": {"type": "string",
                                                               "format": "binary"}}
                                   for kind in ("docx", "xlsx")}}}


@router.get("/procedures/{workspace_id}/graph.svg", response_class=Response, responses=SVG)
def read_workspace_graph(workspace_id: WorkspaceId, session: SessionDep, user: Reader,
                         lever: LeverQuery = [],  # noqa: B006
                         lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh") -> Response:
    """The dependency graph as layered SVG (after the levers, when any are given)."""
    from api.workspace import workspace_reform
    from simulations.planning.graph_drawing import graph_layout, graph_svg

    row, proc = workspace.read_procedure(session, workspace_id, viewer=user.username)
    drawn = workspace_reform(row, lever).after if lever else proc
    return Response(graph_svg(graph_layout(drawn), lang=lang), media_type="image/svg+xml")


@router.get("/procedures/{workspace_id}/report.{report_format}", response_class=Response,
            responses=REPORT_FILE)
def read_workspace_report(workspace_id: WorkspaceId, session: SessionDep, user: Reader,
                          report_format: Annotated[Literal["docx", "xlsx"], Path(
                              description="docx (Word, with pictures) or xlsx (a sheet a table)")],
                          lever: LeverQuery = [],  # noqa: B006
                          lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh") -> Response:
    """The before/after report: headline figures, items, method, bases (Word adds pictures)."""
    from api.workspace_report import report_file

    proc = workspace.read_procedure(session, workspace_id, viewer=user.username)[1]
    return report_file(proc, lever, report_format, language=lang)


@router.post("/procedures/{workspace_id}/scenarios", status_code=201)
def create_workspace_scenario(workspace_id: WorkspaceId, body: ScenarioCreate,
                              session: SessionDep, user: Planner) -> ScenarioPublic:
    """Keep a named set of ticked levers for a workspace procedure."""
    from api.workspace import check_levers, workspace_reform

    stored = workspace.read_procedure(session, workspace_id, viewer=user.username)[0]
    workspace_reform(stored, body.levers)  # a scenario kept is one that applies
    row = workspace.save_scenario(session, workspace_id, owner=user.username, name=body.name,
                                  levers=check_levers(body.levers), now=datetime.now(UTC))
    return ScenarioPublic(**row.model_dump(include={"id", "name", "levers", "saved_at"}))


@router.get("/procedures/{workspace_id}/scenarios")
def read_workspace_scenarios(workspace_id: WorkspaceId, session: SessionDep,
                             user: Reader) -> list[ScenarioPublic]:
    """The scenarios its owner keeps of a workspace procedure, oldest first."""
    row = workspace.read_procedure(session, workspace_id, viewer=user.username)[0]
    return [ScenarioPublic(**kept.model_dump(include={"id", "name", "levers", "saved_at"}))
            for kept in workspace.list_scenarios(session, workspace_id, owner=row.owner)]
