"""The county view: the county report in 宾县's format (``/county``, the demo county or an
uploaded item list, as ``onething registry report``) and the portfolio over every bundle of
the catalog (``/portfolio``, as ``onething portfolio``), each table with its charts.

>>> MAX_LIST_BYTES
1900000
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.charts import Bar, bar_chart
from api.deps import PageUser
from api.i18n import messages
from api.models import error_status
from api.names import display_name
from api.page_kit import (
    demo_county_report,
    error_page,
    gate,
    language,
    page_message,
    render,
    stale_form,
)
from api.security import check_csrf
from api.uploads import uploaded_file
from flows.casework.accounts import User
from process_models.errors import Forbidden, OnethingError

__all__ = ["MAX_LIST_BYTES", "county_charts", "router"]

router = APIRouter(include_in_schema=False)

MAX_LIST_BYTES = 1_900_000
"""The largest item list the page takes (a county's 1,000 items are about 200 KB)."""
LIST_SUFFIXES = (".xlsx", ".csv", ".yaml", ".yml")


def county_charts(report: Any, lang: str) -> dict[str, Any]:
    """网上可办率 and 压缩天数 per department, as charts."""
    t = messages(lang)
    rows = report.per_department
    return {
        "online": bar_chart([Bar(g.name, (g.online_share,),
                                 f"{g.online_share:.0%} ({g.online}/{g.items})") for g in rows],
                            parts=("rate",), top=1.0, title=t["county.chart_online"]),
        "compressed": bar_chart([Bar(g.name, (max(0.0, g.compressed_days),),
                                     f"{g.compressed_days:g}") for g in rows],
                                parts=("rate",), title=t["county.chart_compressed"]),
    }


def _county(request: Request, user: User, registry: Any, result: Any, *,
            status_code: int = 200, **extra: Any) -> Response:
    """The county page of ``result``, the report of ``registry``."""
    from simulations.planning.county_report import report_views

    lang = language(request)
    return render(request, "county.html", user, status_code=status_code, report=result,
                  views=report_views(result, registry, lang),
                  charts=county_charts(result, lang), **extra)


@router.get("/county")
def read_county(request: Request, user: PageUser) -> Response:
    """The county report in 宾县's format for the demo county (合成数据), before against after."""
    if refused := gate(request, user, "audit:report"):
        return refused
    result, after = demo_county_report()
    return _county(request, user, after, result)


def _registry(upload: UploadFile | None, data: bytes) -> Any:
    from process_models.registry import load_registry

    with uploaded_file(upload.filename if upload else None, data, suffixes=LIST_SUFFIXES,
                       limit_bytes=MAX_LIST_BYTES) as path:
        return load_registry(path)


@router.post("/county")
async def upload_county_list(request: Request, user: PageUser, items: UploadFile,
                             before: UploadFile | None = None,
                             csrf_token: Annotated[str, Form()] = "") -> Response:
    """The county report of an uploaded item list (XLSX, CSV), against its before-version
    when one is uploaded too."""
    from simulations.planning.county_report import county_report

    if refused := gate(request, user, "audit:report", page="/county"):
        return refused
    try:
        check_csrf(request, csrf_token)
    except Forbidden:
        return error_page(request, user, stale_form(request))
    data = await items.read(MAX_LIST_BYTES + 1)
    old = await before.read(MAX_LIST_BYTES + 1) if before and before.filename else None
    try:
        registry = await run_in_threadpool(_registry, items, data)
        previous = await run_in_threadpool(_registry, before, old) if old is not None else None
    except OnethingError as error:
        demo, demo_after = demo_county_report()
        return await run_in_threadpool(
            _county, request, user, demo_after, demo, status_code=error_status(error),
            upload_error=messages(language(request))["county.upload_failed"].format(
                message=page_message(error, language(request))))
    result = await run_in_threadpool(county_report, registry, previous)
    return await run_in_threadpool(_county, request, user, registry, result, uploaded=True)


@router.get("/portfolio")
def read_portfolio(request: Request, user: PageUser) -> Response:
    """Totals over every bundle of the catalog before and after its reform, shared items
    and departments counted once; each bundle's days before and after as a chart."""
    from simulations.planning.audit_report import audit_report, load_pairs
    from simulations.planning.metrics import FIGURES

    if refused := gate(request, user, "audit:report"):
        return refused
    lang = language(request)
    result = audit_report(load_pairs([]))
    bars = []
    for (proc, _), comparison in zip(result.pairs, result.comparisons, strict=True):
        change = comparison.elapsed_working_days
        bars.append(Bar(display_name(proc, lang), (change.after,
                                                   max(0.0, change.before - change.after)),
                        f"{round(change.before, 1):g} → {round(change.after, 1):g}"))
    return render(request, "portfolio.html", user, totals=result.totals, figures=FIGURES,
                  sourced=result.sourced(lang),
                  chart=bar_chart(bars, parts=("after", "saved"),
                                  title=messages(lang)["portfolio.chart"]))
