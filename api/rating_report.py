"""The 好差评 report as people read it: groups by name, not id, in Chinese (or English), as JSON,
an XLSX download or the rows of the report page.

The figures are :func:`flows.casework.ratings.rating_report`'s; items and departments are
named from the catalog procedure of the same id (an id stays as it is when no catalog
procedure names it), channels and levels from the pages' dictionary.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import Response
from sqlmodel import Session

from api.i18n import label, messages
from api.models import REPORT_MEDIA
from flows.casework.ratings import SCORES, RatingFigures, RatingReport, rating_report

__all__ = ["group_names", "rating_report_answer", "report_rows"]



def group_names(report: RatingReport, lang: str) -> dict[str, str]:
    """Each group of ``report`` by the name a person reads."""
    words = messages(lang)
    if report.group_by in ("channel", "month"):
        return {line.group: (label(words, "rating.channel", line.group)
                             if report.group_by == "channel" else line.group)
                for line in report.lines}
    from process_models.catalog import catalog_ids, load_catalog_procedure

    english = lang == "en"
    names: dict[str, str] = {}
    for procedure_id in catalog_ids():
        proc = load_catalog_procedure(procedure_id)
        if report.group_by == "item":
            names[proc.id] = (proc.name_en or proc.name) if english else proc.name
        else:
            for department in proc.departments:
                names.setdefault(department.id, (department.name_en or department.name)
                                 if english else department.name)
    return {line.group: names.get(line.group, line.group) for line in report.lines}


def _rate(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _figures(line: RatingFigures) -> dict[str, Any]:
    return {"ratings": line.ratings, "by_score": {str(s): line.by_score[s] for s in SCORES},
            "bad": line.bad, "rectified": line.rectified,
            "rectified_on_time": line.rectified_on_time,
            "appeals_upheld": line.appeals_upheld,
            "satisfaction_rate": _rate(line.satisfaction_rate),
            "rectification_rate": _rate(line.rectification_rate),
            "on_time_rectification_rate": _rate(line.on_time_rectification_rate)}


def report_rows(report: RatingReport, lang: str) -> tuple[list[str], list[list[Any]]]:
    """The report's headers and rows (the groups, then the total) in ``lang``."""
    words = messages(lang)
    names = group_names(report, lang)

    def pct(value: float | None) -> str:
        return "—" if value is None else f"{value:.1%}"

    headers = [words[f"rating.group.{report.group_by}"], words["rating.count"],
               *(words[f"rating.score.{s}"] for s in SCORES), words["rating.satisfaction"],
               words["rating.bad"], words["rating.rectification"], words["rating.on_time"],
               words["rating.appeals_upheld"]]
    rows = [[names.get(line.group, words["rating.total"]) if line is not report.total
             else words["rating.total"], line.ratings, *(line.by_score[s] for s in SCORES),
             pct(line.satisfaction_rate), line.bad, pct(line.rectification_rate),
             pct(line.on_time_rectification_rate), line.appeals_upheld]
            for line in (*report.lines, report.total)]
    return headers, rows


def rating_report_answer(session: Session, group_by: str, report_format: str,
                         lang: str) -> Any:
    """The report as plain JSON data (groups named, figures with their basis) or as an XLSX
    download."""
    from simulations.planning.audit_report import View, write_views

    report = rating_report(session, group_by)  # type: ignore[arg-type]
    if report_format == "json":
        names = group_names(report, lang)
        return {"group_by": report.group_by, "basis": report.basis, "source": report.source,
                "lines": [{"group": line.group, "name": names[line.group], **_figures(line)}
                          for line in report.lines],
                "total": _figures(report.total)}
    headers, rows = report_rows(report, lang)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ratings.xlsx"
        write_views([View(messages(lang)["rating.report"][:31], headers, rows)], path, "xlsx")
        content = path.read_bytes()
    return Response(content, media_type=REPORT_MEDIA["xlsx"], headers={
        "Content-Disposition": f'attachment; filename="ratings-{group_by}.xlsx"'})
