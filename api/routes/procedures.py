"""Procedures: list, read, versions, the 一次性告知单, validating or uploading YAML (a draft),
and publishing a version for new cases (an admin's act, in the audit trail)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session, col, select

from api.deps import SessionDep, allowed
from api.models import (
    PROCEDURE_ID_PATTERN,
    NoticeItemPublic,
    NotificationListPublic,
    ProcedurePublic,
    ProcedurePublish,
    ProcedureSummaryPublic,
    ProcedureVersionPublic,
)
from flows import casework
from flows.casework.accounts import User
from flows.casework.tables import ProcedureDefinition
from process_models.errors import InvalidInput, ProcedureSyntaxError
from process_models.procedure import Procedure

router = APIRouter(prefix="/procedures", tags=["procedures"])

Reader = Annotated[User, Depends(allowed("procedures:read"))]
Writer = Annotated[User, Depends(allowed("procedures:write"))]
Publisher = Annotated[User, Depends(allowed("procedures:publish"))]
ProcedureId = Annotated[str, Path(pattern=PROCEDURE_ID_PATTERN, examples=["newborn"])]
VersionQuery = Annotated[str | None, Query(max_length=100,
                                           description="a stored version; default the newest")]

MAX_UPLOAD_BYTES = 2_000_000
YAML_BODY = {
    "requestBody": {
        "required": True,
        "description": "The procedure as YAML: the raw body, or a multipart form with a "
                       "``file`` field.",
        "content": {
            "application/yaml": {"schema": {"type": "string"},
                                 "example": "id: shop\nname: 开店\n..."},
            "text/plain": {"schema": {"type": "string"}},
            "multipart/form-data": {"schema": {
                "type": "object", "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary"}}}},
        },
    },
}


def summary_public(proc: Procedure, *, stored: bool) -> ProcedureSummaryPublic:
    """A procedure's summary as the API returns it."""
    from process_models.summary import summarize

    return ProcedureSummaryPublic(**summarize(proc).as_dict(), stored=stored)


async def _uploaded_yaml(request: Request) -> tuple[str, str]:
    """(file name, text) of the procedure in the request: a ``file`` form field or the body."""
    name = "upload.yaml"
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise InvalidInput("the form has no 'file' field; send the procedure YAML as 'file'",
                               path="file")
        name = upload.filename or name
        data = await upload.read()
    else:
        data = await request.body()
    if len(data) > MAX_UPLOAD_BYTES:
        raise InvalidInput(f"the procedure is {len(data)} bytes; the limit is "
                           f"{MAX_UPLOAD_BYTES}", file=name)
    try:
        return name, data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ProcedureSyntaxError(f"not UTF-8 text (byte {e.start}); save the file as UTF-8",
                                   file=name) from None


def _parse(name: str, text: str) -> Procedure:
    from process_models.loading import parse_procedure

    return parse_procedure(text, file=name)


@router.get("")
def read_procedures(session: SessionDep, user: Reader) -> list[ProcedureSummaryPublic]:
    """Every catalog procedure and each uploaded one (its newest published version, else draft)."""
    from process_models.catalog import load_catalog

    rows = [summary_public(p, stored=False) for p in load_catalog()]
    stored = session.exec(select(ProcedureDefinition.procedure_id,
                                 ProcedureDefinition.version)).all()
    catalog = {(r.id, r.version) for r in rows}
    for procedure_id in dict.fromkeys(pid for pid, version in stored
                                      if (pid, version) not in catalog):
        proc = casework.resolve_procedure(procedure_id, session=session, drafts=True)
        rows.append(summary_public(proc, stored=True))
    return rows


@router.get("/{procedure_id}")
def read_procedure(procedure_id: ProcedureId, session: SessionDep, user: Reader,
                   version: VersionQuery = None) -> ProcedurePublic:
    """One procedure (default: the version cases open on), its summary and every basis."""
    from process_models.loading import procedure_data
    from process_models.provenance import basis_data

    proc = casework.resolve_procedure(procedure_id, version, session=session, drafts=True)
    return ProcedurePublic(procedure=procedure_data(proc),
                           summary=summary_public(proc, stored=_is_stored(session, proc)),
                           basis=basis_data(proc))


def _is_stored(session: Session, proc: Procedure) -> bool:
    return session.get(ProcedureDefinition, (proc.id, proc.version)) is not None


@router.get("/{procedure_id}/versions")
def read_procedure_versions(procedure_id: ProcedureId, session: SessionDep,
                            user: Reader) -> list[ProcedureVersionPublic]:
    """The catalog's version and every stored version of a procedure, newest stored first."""
    from process_models.catalog import catalog_ids, load_catalog_procedure
    from process_models.errors import ProcedureNotFound, did_you_mean

    rows = [ProcedureVersionPublic(procedure_id=procedure_id, version=d.version,
                                   source="stored", stored_at=d.stored_at,
                                   published_at=d.published_at, published_by=d.published_by)
            for d in session.exec(select(ProcedureDefinition)
                                  .where(ProcedureDefinition.procedure_id == procedure_id)
                                  .order_by(col(ProcedureDefinition.stored_at).desc()))]
    if procedure_id in catalog_ids():
        rows.append(ProcedureVersionPublic(
            procedure_id=procedure_id, source="catalog",
            version=load_catalog_procedure(procedure_id).version))
    if not rows:
        raise ProcedureNotFound(f"no procedure '{procedure_id}' in the catalog or the store",
                                suggestion=did_you_mean(procedure_id, catalog_ids()))
    return rows


@router.get("/{procedure_id}/notification-list", tags=["cases"])
def read_notification_list(procedure_id: ProcedureId, session: SessionDep, user: Reader,
                           version: VersionQuery = None) -> NotificationListPublic:
    """The 一次性告知单 of the version the window opens: each material once, with its steps."""
    proc = casework.window_procedure(procedure_id, version, session=session)
    return NotificationListPublic(
        procedure_id=proc.id, procedure_version=proc.version, name=proc.name,
        items=[NoticeItemPublic(material_id=i.material_id, name=i.name, key=i.key,
                                deferrable=i.deferrable, count=i.count, steps=list(i.steps))
               for i in casework.notification_list(proc)])


@router.post("/validate", openapi_extra=YAML_BODY)
async def validate_procedure(request: Request, user: Reader) -> ProcedureSummaryPublic:
    """Check a procedure (YAML body or file) without storing it; 422 names the first error."""
    name, text = await _uploaded_yaml(request)
    proc = await run_in_threadpool(_parse, name, text)
    return summary_public(proc, stored=False)


@router.post("", status_code=201, openapi_extra=YAML_BODY)
async def create_procedure(request: Request, user: Writer) -> ProcedureSummaryPublic:
    """Upload a procedure (YAML body or file): checked, then stored as a draft until published."""
    name, text = await _uploaded_yaml(request)
    engine = request.app.state.engine

    def store() -> ProcedureSummaryPublic:
        proc = _parse(name, text)
        with Session(engine) as session:
            casework.upload_procedure(session, proc, by=user.username, now=datetime.now(UTC))
        return summary_public(proc, stored=True)

    return await run_in_threadpool(store)


@router.post("/{procedure_id}/publish")
def publish_procedure(procedure_id: ProcedureId, body: ProcedurePublish, session: SessionDep,
                      user: Publisher) -> ProcedureSummaryPublic:
    """Publish a stored or catalog version: new cases open on it from now (audit trail)."""
    proc = casework.publish_procedure(session, procedure_id, body.version, by=user.username,
                                      now=datetime.now(UTC))
    return summary_public(proc, stored=True)
