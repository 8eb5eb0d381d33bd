"""The auditor's desk (``/auditor``): before against after, planned against actual with its
charts, the audit chain and its verification, the case history as an event log, and another
system's log audited from an upload.

Every figure comes from the function the CLI prints it with (:mod:`api.auditing`), each
chart beside its table and with its basis and case count; the charts are SVG drawn on the
server (:mod:`api.charts`). The verification names the first broken record in the page's
language: its number, the case and its 一件事, what broke (``chain.<kind>``).
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlmodel import Session

from api.auditing import log_fields
from api.charts import Bar, bar_chart
from api.deps import PageUser, SessionDep
from api.i18n import messages
from api.models import error_status
from api.names import display_name
from api.page_kit import (
    catalog_audit_report,
    catalog_procedures,
    department_names,
    error_page,
    gate,
    language,
    may,
    page_message,
    stale_form,
)
from api.page_kit import render as render_page
from api.security import check_csrf
from flows.casework.accounts import User
from process_models.errors import Forbidden, OnethingError

__all__ = ["actual_charts", "log_charts", "router"]

router = APIRouter(include_in_schema=False)

TIME_PARTS = ("clock", "paused", "untimed")
"""A department's step days: on the legal clock, paused for 补正, untimed."""


def _rate_bars(groups: dict[str, Any], names: dict[str, str]) -> list[Bar]:
    return [Bar(names.get(g.key, g.key), (g.rate,), f"{g.rate:.0%} ({g.overdue}/{g.cases})")
            for g in sorted(groups.values(), key=lambda g: g.key)]


def actual_charts(summary: Any, lang: str) -> dict[str, Any]:
    """Planned versus actual for the page: 超期率 by month and by department, where the
    departments' step days went and the cases' days split, each as chart and rows."""
    t, names = messages(lang), department_names(lang)
    days = sorted(summary.department_days.values(),
                  key=lambda d: -(d.clock_working_days + d.paused_working_days))
    split = summary.time_split()
    parts = ("department", "applicant", "between")
    return {
        "month": bar_chart(_rate_bars(summary.by_month, {}), parts=("rate",), top=1.0,
                           title=t["actual.by_month"]),
        "department": bar_chart(_rate_bars(summary.by_department, names), parts=("rate",),
                                top=1.0, title=t["actual.by_department"]),
        "days": bar_chart([Bar(names.get(d.key, d.key), (
            d.clock_working_days, d.paused_working_days, d.untimed_working_days),
            f"{d.clock_working_days + d.paused_working_days + d.untimed_working_days:.0f}")
            for d in days], parts=TIME_PARTS, title=t["actual.where"]),
        "split": bar_chart([Bar(t[f"actual.split.{p}"], (split[p],), f"{split[p]:.0%}")
                            for p in parts], parts=("rate",), top=1.0,
                           title=t["actual.split"]),
        "day_rows": [(names.get(d.key, d.key), d) for d in days],
        "department_names": names,
        "split_rows": [(t[f"actual.split.{p}"], getattr(summary, f"{p}_working_days"), split[p])
                       for p in parts],
    }


def log_charts(result: dict[str, Any], lang: str) -> dict[str, Any]:
    """An uploaded log's figures for the page: 超期率 by month, waiting against working by
    activity, each as chart and rows."""
    t = messages(lang)
    months = result["by_month"]
    activities = sorted(result["by_activity"].items(), key=lambda kv: -(
        kv[1]["waiting_working_days"] + kv[1]["working_working_days"]))[:15]
    return {
        "month": bar_chart([Bar(m, (v["overdue_share"] or 0.0,),
                                "—" if v["overdue_share"] is None else
                                f"{v['overdue_share']:.0%} ({v['overdue']}/{v['closed']})")
                            for m, v in months.items()], parts=("rate",), top=1.0,
                           title=t["log.by_month"]),
        "activity": bar_chart([Bar(a, (v["waiting_working_days"], v["working_working_days"]),
                                   f"{v['waiting_working_days'] + v['working_working_days']:.0f}")
                               for a, v in activities], parts=("waiting", "working"),
                              title=t["log.by_activity"]),
        "activities": activities,
    }


def _chain_state(session: Session) -> Any:
    from flows.casework.tables import AuditChainHead

    return session.get(AuditChainHead, 1)


def _broken_case(session: Session, report: Any, lang: str) -> str:
    """The case of the first broken record, by its number and its 一件事's name."""
    from flows.casework.tables import Case

    case = session.get(Case, report.case_id) if report.case_id else None
    if case is None:
        return report.case_id or ""
    names = {p.id: display_name(p, lang) for p in catalog_procedures()}
    return f"{case.id} · {names.get(case.procedure_id, case.procedure_id)}"


def _desk(request: Request, user: User, session: Session, status_code: int = 200,
          **extra: Any) -> Response:
    """The auditor's page with ``extra`` (a verification, a log's audit or an error)."""
    from api.case_public import case_board
    from api.window_views import step_names
    from process_models.calendar import local_date

    lang = language(request)
    overdue = case_board(session, user, colour="red", limit=1000).data \
        if may(user, "cases:read") else None
    context: dict[str, Any] = {}
    if may(user, "audit:cases"):
        today = local_date(datetime.now(UTC))
        summary = extra.pop("summary", None) or _summary(session, today)
        context = {"summary": summary, "today": today, "chain": _chain_state(session),
                   "charts": summary and actual_charts(summary, lang),
                   "log_form": extra.pop("log_form", {})}
    return render_page(
        request, "auditor.html", user, status_code=status_code,
        report=catalog_audit_report(), overdue=overdue,
        metrics=("elapsed_working_days", "trips", "materials"),
        step_names=step_names(session, overdue or [], lang),
        procedure_names={p.id: display_name(p, lang) for p in catalog_procedures()},
        **context, **extra)


def _summary(session: Session, today: Any) -> Any:
    from api.auditing import actual_summary

    return actual_summary(session, as_of=today)


@router.get("/auditor")
def read_auditor(request: Request, user: PageUser, session: SessionDep) -> Response:
    """Before/after, planned versus actual with charts, the audit chain, the downloads."""
    if refused := gate(request, user, "audit:report"):
        return refused
    return _desk(request, user, session)


@router.post("/auditor/verify")
def verify_chain_page(request: Request, user: PageUser, session: SessionDep,
                      csrf_token: Annotated[str, Form()] = "") -> Response:
    """Verify the audit chain; name the first broken record, its case and what broke."""
    from flows.casework import verify_chain

    if refused := gate(request, user, "audit:verify", page="/auditor"):
        return refused
    try:
        check_csrf(request, csrf_token)
    except Forbidden:
        return error_page(request, user, stale_form(request))
    report = verify_chain(session)
    return _desk(request, user, session, verified=report,
                 broken_case=_broken_case(session, report, language(request)))


@router.get("/auditor/export/{fmt}")
def download_history(request: Request, user: PageUser, session: SessionDep,
                     fmt: str) -> Response:
    """The case history as an event log (XES or OCEL 2.0 JSON), a file download."""
    from api.auditing import export_history

    if refused := gate(request, user, "audit:cases"):
        return refused
    try:
        content, name, media = export_history(session, fmt)
    except OnethingError as error:
        return error_page(request, user, error)
    return Response(content, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/auditor/log")
async def audit_log_page(request: Request, user: PageUser, session: SessionDep,
                         log: UploadFile,
                         typed: Annotated[dict[str, str], Depends(log_fields)],
                         csrf_token: Annotated[str, Form()] = "") -> Response:
    """Audit another system's log (CSV or XES): 超期率, P50/P90, where the time goes."""
    from api.auditing import MAX_LOG_BYTES, LogForm, audit_upload

    if refused := gate(request, user, "audit:cases", page="/auditor"):
        return refused
    try:
        check_csrf(request, csrf_token)
    except Forbidden:
        return error_page(request, user, stale_form(request))
    data = await log.read(MAX_LOG_BYTES + 1)
    try:
        result = await run_in_threadpool(audit_upload, log.filename, data,
                                         LogForm.typed(typed))
    except OnethingError as error:
        return await run_in_threadpool(
            _desk, request, user, session, error_status(error), log_form=typed,
            log_error=messages(language(request))["log.upload_failed"].format(
                file=log.filename or "", message=page_message(error, language(request))))
    return await run_in_threadpool(
        _desk, request, user, session, log_form=typed, log_result=result,
        log_charts=log_charts(result, language(request)))


@router.get("/auditor/report.csv")
def download_report(request: Request, user: PageUser) -> Response:
    """The before/after report as CSV (the API's ``format=csv``)."""
    from api.routes.audit import audit_report_answer

    if refused := gate(request, user, "audit:report"):
        return refused
    return audit_report_answer([], "csv")


@router.get("/auditor/overdue.csv")
def download_overdue(request: Request, user: PageUser, session: SessionDep) -> Response:
    """The overdue cases as CSV, applicants as the role may see them."""
    from api.case_public import case_board
    from process_models.table_files import csv_writer

    if refused := gate(request, user, "cases:read"):
        return refused
    out = io.StringIO()
    writer = csv_writer(out)
    writer.writerow(["case_id", "procedure_id", "status", "due_date", "received_at",
                     "applicant_name", "applicant_id_number", "late_steps"])
    for row in case_board(session, user, colour="red", limit=1000).data:
        writer.writerow([row.case_id, row.procedure_id, row.status, row.due_date,
                         row.received_at.isoformat(),
                         row.applicant.name if row.applicant else "",
                         row.applicant.id_number if row.applicant else "",
                         " ".join(f"{s.step_id}:{s.due_date}" for s in row.current_steps
                                  if s.colour == "red")])
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="overdue-cases.csv"'})
