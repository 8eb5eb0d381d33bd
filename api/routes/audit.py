"""Audit: the before/after report over procedures and the audit-chain verification."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response, UploadFile

from api.auditing import log_fields
from api.deps import SessionDep, allowed
from api.models import PROCEDURE_ID_PATTERN, REPORT_MEDIA, ChainReportPublic, plain
from flows.casework.accounts import User

router = APIRouter(prefix="/audit", tags=["audit"])

JSON_OR_XLSX: dict[int | str, dict[str, Any]] = {200: {"content": {
    "application/json": {},
    REPORT_MEDIA["xlsx"]: {"schema": {"type": "string", "format": "binary"}}}}}
"""The OpenAPI answer of a report route that gives JSON or, with ``format=xlsx``, a file."""


def views_download(views: Any, filename: str, fmt: str = "xlsx", *,
                   lang: str = "zh") -> Response:
    """``views`` written as ``fmt`` (:func:`~simulations.planning.audit_report.write_views`),
    an attachment ``filename``."""
    from simulations.planning.audit_report import write_views

    with tempfile.TemporaryDirectory() as folder:
        path = FilePath(folder) / filename
        write_views(views, path, fmt, lang=lang)
        content = path.read_bytes()
    return Response(content, media_type=REPORT_MEDIA[fmt], headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/report", responses={200: {"content": {
    "application/json": {}, "text/csv": {"schema": {"type": "string"}},
    "text/html": {"schema": {"type": "string"}},
    REPORT_MEDIA["xlsx"]: {"schema": {"type": "string", "format": "binary"}}}}})
def read_audit_report(
    user: Annotated[User, Depends(allowed("audit:report"))],
    procedure_id: Annotated[list[str] | None, Query(
        description="catalog procedure ids (default: every one with a reform scenario)",
        max_length=50)] = None,
    report_format: Annotated[Literal["json", "csv", "html", "xlsx"], Query(alias="format")]
    = "json",
) -> Any:
    """Before/after report: limits per item, figures per procedure, portfolio totals."""
    return audit_report_answer(procedure_id or [], report_format)


def audit_report_answer(procedure_ids: list[str], report_format: str) -> Any:
    """The before/after report of ``procedure_ids`` (default: every catalog procedure with a
    reform scenario): plain data for ``json``, else a download in ``report_format``."""
    import re

    from process_models.errors import InvalidInput
    from simulations.planning.audit_report import (
        audit_report,
        load_pairs,
        report_views,
    )

    for pid in procedure_ids:
        if not re.match(PROCEDURE_ID_PATTERN, pid):
            raise InvalidInput(f"'{pid}' is not a procedure id", path="procedure_id")
    result = audit_report(load_pairs(procedure_ids))
    if report_format == "json":
        return plain(result.as_dict())
    return views_download(report_views(result), f"audit-report.{report_format}", report_format)


@router.get("/verify")
def verify_audit_chain(session: SessionDep,
                       user: Annotated[User, Depends(allowed("audit:verify"))]
                       ) -> ChainReportPublic:
    """Walk the hash chain of every audit event; name the first one changed, if any."""
    from flows.casework import verify_chain

    report = verify_chain(session)
    return ChainReportPublic(ok=report.ok, events=report.events,
                             first_bad_seq=report.first_bad_seq, problem=report.problem,
                             kind=report.kind, case_id=report.case_id, message=str(report))


@router.get("/actual")
def read_actual(session: SessionDep, user: Annotated[User, Depends(allowed("audit:cases"))],
                start: date | None = None, end: date | None = None,
                as_of: date | None = None) -> dict[str, Any]:
    """Planned versus actual: 超期率 by procedure, department and month, where time goes."""
    from api.auditing import actual_summary

    summary = actual_summary(session, start=start, end=end, as_of=as_of)
    return plain(summary.as_dict()) if summary else {"cases": 0}


@router.get("/export", responses={200: {"content": {
    "application/xml": {"schema": {"type": "string"}}, "application/json": {}}}})
def export_case_history(session: SessionDep,
                        user: Annotated[User, Depends(allowed("audit:cases"))],
                        export_format: Annotated[Literal["xes", "ocel-json"],
                                                 Query(alias="format")] = "xes") -> Response:
    """The case history as an event log to download: XES or OCEL 2.0 (JSON)."""
    from api.auditing import export_history

    content, name, media = export_history(session, export_format)
    return Response(content, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/log")
async def audit_uploaded_log(file: UploadFile,
                             fields: Annotated[dict[str, str], Depends(log_fields)],
                             user: Annotated[User, Depends(allowed("audit:cases"))]
                             ) -> dict[str, Any]:
    """Audit another system's log (CSV or XES): 超期率, P50/P90, where the time goes."""
    from fastapi.concurrency import run_in_threadpool

    from api.auditing import MAX_LOG_BYTES, LogForm, audit_upload

    data = await file.read(MAX_LOG_BYTES + 1)
    return plain(await run_in_threadpool(audit_upload, file.filename, data,
                                         LogForm.typed(fields)))
