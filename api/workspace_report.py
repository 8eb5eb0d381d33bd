"""The before/after report a planner hands in, as Word (.docx), XLSX and a printable page,
in the shape a county report takes: headline figures, a table per item (事项), the method and sources, the basis
share of the numbers, and the Gantt chart and dependency graph as pictures.

Its figures are those of ``onething reform --json`` for the same procedure and scenario
(:class:`~simulations.planning.scenario.Reform`'s comparison): the report computes
nothing itself. A lever that sets a typed target (压缩时限) is named as a target with its
source, not as a result.
"""

from __future__ import annotations

import io
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from fastapi import Response

from api.i18n import messages
from api.models import REPORT_MEDIA
from api.names import change_sentence, display_name, names_of
from process_models.procedure import Basis, Procedure
from simulations.planning.audit_report import View

__all__ = ["HEADLINE_FIGURES", "Report", "report", "report_docx", "report_file", "report_xlsx"]

HEADLINE_FIGURES = ("elapsed_working_days", "steps", "materials", "trips", "departments")
"""The figures of the report's headline table, in order."""

PICTURE_DPI = 80
"""Resolution of the report's pictures: each is placed 16 cm wide, where 80 dpi of an 11-inch
chart is about 140 dpi on the page; more only makes the file and the wait longer."""


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _basis_share(proc: Procedure, strings: dict[str, str]) -> list[tuple[str, int, str]]:
    """(basis label, count, share) of every number of ``proc``, most first."""
    from process_models.provenance import numbers

    counts = Counter(n.basis.value for n in numbers(proc))
    total = sum(counts.values()) or 1
    return [(strings.get(f"basis.{basis}", basis), count, f"{count / total:.0%}")
            for basis, count in counts.most_common()]


def _pictures(before: Procedure, after: Procedure, language: str) -> tuple[bytes, bytes,
                                                                            bytes]:
    """The Gantt chart (before above after) and the graphs before and after, as PNG at
    :data:`PICTURE_DPI`, compressed lightly (the tall chart of a large procedure takes longer
    to squeeze than to draw)."""
    from simulations.planning.gantt import plot_gantt
    from simulations.planning.graph_drawing import graph_layout, graph_png

    gantt = io.BytesIO()
    plot_gantt(before, after, lang=language).savefig(gantt, format="png", dpi=PICTURE_DPI,
                                                     pil_kwargs={"compress_level": 1})
    return (gantt.getvalue(), graph_png(graph_layout(before), lang=language, dpi=PICTURE_DPI),
            graph_png(graph_layout(after), lang=language, dpi=PICTURE_DPI))


@dataclass(frozen=True)
class Report:
    """What the report says, in the reader's language, whatever it is written to."""

    title: str
    headline: str
    method: str
    levers: str
    changes: list[str]
    sourced: str
    figures: View
    items: View
    basis: View
    before: Procedure
    after: Procedure
    language: str

    def tables(self) -> list[View]:
        """The report's tables in order, its text as a first table (one sheet each in XLSX)."""
        strings = messages(self.language)
        text = View(strings["report.summary"], [strings["report.summary"]],
                    [[self.title], [self.headline], [self.method], [self.levers],
                     *([change] for change in self.changes), [self.sourced]])
        return [text, self.figures, self.items, self.basis]


def report(before: Procedure, levers: list[str], *, language: str = "zh") -> Report:
    """The report of ``before`` reformed by the ticked ``levers`` (:func:`api.workspace.reformed`).

    >>> from process_models.catalog import load_catalog_procedure
    >>> r = report(load_catalog_procedure("newborn"), ["parallelise"])
    >>> r.figures.headers, [row[0] for row in r.figures.rows][:2]
    (['指标', '改革前', '改革后', '变化'], ['办理时间（工作日）', '事项数'])
    """
    from api.planner_page import step_bases
    from api.workspace import reformed
    from process_models.provenance import sourced_line

    strings = messages(language)
    result = reformed(before, levers)
    after, comparison = result.after, result.comparison
    names = names_of(before, after, language=language)
    elapsed = comparison.elapsed_working_days
    after_steps = {s.id: s for s in after.steps}
    figures = View(strings["report.figures"],
                   [strings["report.figure"], strings["planner.before"], strings["planner.after"],
                    strings["report.change"]],
                   [[strings[f"metric.{f}"], _number(getattr(comparison, f).before),
                     _number(getattr(comparison, f).after),
                     _number(getattr(comparison, f).absolute)] for f in HEADLINE_FIGURES])
    items = View(strings["report.items"],
                 [strings["basis.step"], strings["report.department"],
                  strings["report.limit_before"], strings["report.limit_after"],
                  strings["basis.source"], strings["basis.note"]],
                 [[display_name(s, language), names.get(s.department, s.department),
                   _number(s.committed.days),
                   _number(after_steps[s.id].committed.days) if s.id in after_steps
                   else strings["report.merged_away"],
                   bases["committed"]["source"]
                   or strings[f"basis.{(s.committed.basis or Basis.estimate).value}"],
                   strings["cli.separator"].join(bases["notes"])]
                  for s, bases in zip(before.steps, step_bases(before, language), strict=True)])
    basis = View(strings["report.basis"],
                 [strings["report.basis_kind"], strings["report.count"], strings["report.share"]],
                 [[label, str(count), share] for label, count, share in
                  _basis_share(before, strings)])
    levers_named = "、".join(strings.get(f"lever.{x}", x) for x in dict.fromkeys(
        c.lever for c in result.changes)) or strings["report.no_lever"]
    return Report(
        title=f"{display_name(before, language)} {strings['report.title']}",
        headline=strings["report.headline"].format(
            before=_number(elapsed.before), after=_number(elapsed.after),
            percent=_number(-elapsed.percent if elapsed.percent is not None else None)),
        method=strings["report.method_text"],
        levers=f"{strings['report.levers']}{strings['report.colon']}{levers_named}",
        changes=[change_sentence(change, strings, names)
                 + (f"（{strings['report.target']}{strings['report.colon']}{change.source}）"
                    if change.source else "") for change in result.changes],
        sourced=sourced_line([before], language=language),
        figures=figures, items=items, basis=basis, before=before, after=after,
        language=language)


def _table(document, table: View) -> None:
    grid = document.add_table(rows=1, cols=len(table.headers))
    grid.style = "Table Grid"
    for cell, text in zip(grid.rows[0].cells, table.headers, strict=True):
        cell.text = text
    for row in table.rows:
        for cell, text in zip(grid.add_row().cells, row, strict=True):
            cell.text = text


def report_docx(before: Procedure, levers: list[str], *, language: str = "zh") -> bytes:
    """The Word report of ``before`` reformed by the ticked ``levers`` (:func:`report`),
    with the Gantt chart and the graphs as pictures."""
    from docx import Document
    from docx.shared import Cm

    content = report(before, levers, language=language)
    strings = messages(language)
    document = Document()
    document.add_heading(content.title, level=0)
    document.add_paragraph(content.headline)
    for table in (content.figures, content.items):
        document.add_heading(table.title, level=1)
        _table(document, table)
    document.add_heading(strings["report.method"], level=1)
    document.add_paragraph(content.method)
    document.add_paragraph(content.levers)
    for change in content.changes:
        document.add_paragraph(change, style="List Bullet")
    document.add_heading(content.basis.title, level=1)
    document.add_paragraph(content.sourced)
    _table(document, content.basis)
    gantt, graph_before, graph_after = _pictures(content.before, content.after, language)
    document.add_heading(strings["report.gantt"], level=1)
    document.add_picture(io.BytesIO(gantt), width=Cm(16))
    document.add_heading(strings["report.graph"], level=1)
    for caption, picture in ((strings["planner.before"], graph_before),
                             (strings["planner.after"], graph_after)):
        document.add_paragraph(caption)
        document.add_picture(io.BytesIO(picture), width=Cm(16))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def report_xlsx(before: Procedure, levers: list[str], *, language: str = "zh") -> bytes:
    """The report's text and tables as a workbook, one sheet each (:func:`report`)."""
    from simulations.planning.audit_report import write_views

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "report.xlsx"
        write_views(report(before, levers, language=language).tables(), path, "xlsx")
        return path.read_bytes()


def report_file(before: Procedure, levers: list[str], report_format: str, *,
                language: str = "zh") -> Response:
    """The report as a download: ``docx`` (:func:`report_docx`) or ``xlsx``
    (:func:`report_xlsx`)."""
    write = {"docx": report_docx, "xlsx": report_xlsx}[report_format]
    return Response(write(before, levers, language=language),
                    media_type=REPORT_MEDIA[report_format], headers={
                        "Content-Disposition": f'attachment; filename="report.{report_format}"'})
