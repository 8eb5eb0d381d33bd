"""The before/after report a planner hands in, as Word (.docx), in the shape a county
report takes: headline figures, a table per item (事项), the method and sources, the basis
share of the numbers, and the Gantt chart and dependency graph as pictures.

Its figures are those of ``onething reform --json`` for the same procedure and scenario
(:class:`~simulations.planning.scenario.Reform`'s comparison): the report computes
nothing itself. A lever that sets a typed target (压缩时限) is named as a target with its
source, not as a result.
"""

from __future__ import annotations

import io
from collections import Counter

from api.i18n import messages
from api.names import change_sentence, display_name, names_of
from process_models.procedure import Basis, Procedure

__all__ = ["HEADLINE_FIGURES", "report_docx"]

HEADLINE_FIGURES = ("elapsed_working_days", "steps", "materials", "trips", "departments")
"""The figures of the report's headline table, in order."""

PICTURE_DPI = 80
"""Resolution of the report's pictures: each is placed 16 cm wide, where 80 dpi of an 11-inch
chart is about 140 dpi on the page; more only makes the file and the wait longer."""

DOCX_MEDIA = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


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


def _table(document, header: list[str], rows: list[list[str]]) -> None:
    table = document.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = text
    for row in rows:
        for cell, text in zip(table.add_row().cells, row, strict=True):
            cell.text = text


def report_docx(before: Procedure, levers: list[str], *, language: str = "zh") -> bytes:
    """The Word report of ``before`` reformed by the ticked ``levers``
    (:func:`api.workspace.reformed`)."""
    from docx import Document
    from docx.shared import Cm

    from api.workspace import reformed
    from process_models.provenance import sourced_line

    strings = messages(language)
    result = reformed(before, levers)
    after, comparison = result.after, result.comparison
    names = names_of(before, after, language=language)
    title = display_name(before, language)
    document = Document()
    document.add_heading(f"{title} {strings['report.title']}", level=0)
    elapsed = comparison.elapsed_working_days
    document.add_paragraph(strings["report.headline"].format(
        before=_number(elapsed.before), after=_number(elapsed.after),
        percent=_number(-elapsed.percent if elapsed.percent is not None else None)))
    document.add_heading(strings["report.figures"], level=1)
    _table(document, [strings["report.figure"], strings["planner.before"],
                      strings["planner.after"], strings["report.change"]],
           [[strings[f"metric.{f}"], _number(getattr(comparison, f).before),
             _number(getattr(comparison, f).after), _number(getattr(comparison, f).absolute)]
            for f in HEADLINE_FIGURES])
    document.add_heading(strings["report.items"], level=1)
    after_steps = {s.id: s for s in after.steps}
    _table(document, [strings["basis.step"], strings["report.department"],
                      strings["report.limit_before"], strings["report.limit_after"],
                      strings["basis.source"]],
           [[display_name(s, language), names.get(s.department, s.department),
             _number(s.committed.days),
             _number(after_steps[s.id].committed.days) if s.id in after_steps
             else strings["report.merged_away"],
             s.committed.source or strings[f"basis.{(s.committed.basis or Basis.estimate).value}"]]
            for s in before.steps])
    document.add_heading(strings["report.method"], level=1)
    document.add_paragraph(strings["report.method_text"])
    levers_named = "、".join(strings.get(f"lever.{x}", x) for x in dict.fromkeys(
        c.lever for c in result.changes)) or strings["report.no_lever"]
    document.add_paragraph(f"{strings['report.levers']}：{levers_named}")
    for change in result.changes:
        target = f"（{strings['report.target']}：{change.source}）" if change.source else ""
        document.add_paragraph(change_sentence(change, strings, names) + target,
                               style="List Bullet")
    document.add_heading(strings["report.basis"], level=1)
    document.add_paragraph(sourced_line([before], language=language))
    _table(document, [strings["report.basis_kind"], strings["report.count"],
                      strings["report.share"]],
           [[label, str(count), share] for label, count, share in
            _basis_share(before, strings)])
    gantt, graph_before, graph_after = _pictures(before, after, language)
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
