"""Audit: the before/after report over procedures and the audit-chain verification."""

from __future__ import annotations

import tempfile
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response

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
                             message=str(report))
