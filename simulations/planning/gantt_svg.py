"""The Gantt chart as light SVG text for a page, drawn directly (no matplotlib).

The same chart as :func:`simulations.planning.gantt.plot_gantt` draws, from the same bars
(:func:`~simulations.planning.gantt.gantt_bars`), colours and words
(:data:`~simulations.planning.gantt.GANTT_WORDS`): ``before`` above ``after`` on one shared
axis of working days after acceptance, each step by name, critical steps red and the
others blue with their total slack as a thin grey tail, 即办 steps as diamonds, each
panel titled with the procedure's elapsed working days. Text stays text (the browser
draws it in its CJK font), and each bar's ``<title>`` (shown on hover) holds the step's
department, its days and its slack. matplotlib stays for the files the CLI writes and the
Word report's picture; a page draws this in milliseconds where matplotlib took seconds.

>>> from process_models.catalog import load_catalog_procedure
>>> svg = gantt_svg(load_catalog_procedure("restaurant"))
>>> svg.startswith("<svg") and "营业执照" in svg and "改革前" in svg
True
>>> svg.count('<g class="bar critical"')
5
"""

from __future__ import annotations

import html
import math

from process_models.procedure import Procedure
from simulations.planning.gantt import (
    CRITICAL,
    GANTT_WORDS,
    OTHER,
    SLACK,
    GanttBar,
    gantt_bars,
    text_width,
)

__all__ = ["gantt_svg"]

FONT_SIZE, ROW_HEIGHT, BAR_HEIGHT, PLOT_WIDTH, MARGIN = 12, 20, 12, 720, 12
TITLE_HEIGHT, PANEL_GAP, AXIS_HEIGHT, LEGEND_HEIGHT = 26, 14, 40, 26
LABEL_MOST = 24
"""Characters of a step's name drawn beside its bar (the whole name is in its hover text)."""


def _tick_step(end: float) -> float:
    """A round step (1, 2 or 5 times a power of ten) giving at most ten ticks up to ``end``."""
    step = 10 ** math.floor(math.log10(max(end, 1) / 10))
    return next(k * step for k in (1, 2, 5, 10) if end / (k * step) <= 10)


def _clip(text: str, most: int) -> str:
    return text if len(text) <= most else text[:most - 1] + "…"


def _bar(b: GanttBar, y: float, x, words: dict) -> str:
    """One step's row: its name at the left, its bar (or diamond) and slack tail."""
    colour = CRITICAL if b.critical else OTHER
    middle = y + ROW_HEIGHT / 2
    hover = "；".join(part for part in (
        b.name, b.department,
        words["span"].format(start=f"{b.start:g}", finish=f"{b.finish:g}"),
        words["slack"].format(days=f"{b.total_slack:g}")) if part)
    critical = " critical" if b.critical else ""
    out = [f'<g class="bar{critical}" data-step="{html.escape(b.step_id)}">',
           f"<title>{html.escape(hover)}</title>",
           f'<text x="{x(0) - 10}" y="{middle + 4}" text-anchor="end">',
           f"{html.escape(_clip(b.name, LABEL_MOST))}</text>"]
    if b.total_slack > 0:
        out.append(f'<line x1="{x(b.finish):.1f}" y1="{middle}" '
                   f'x2="{x(b.finish + b.total_slack):.1f}" y2="{middle}" stroke="{SLACK}" '
                   'stroke-width="2"/>')
    if b.duration > 0:
        out.append(f'<rect x="{x(b.start):.1f}" y="{middle - BAR_HEIGHT / 2}" '
                   f'width="{x(b.finish) - x(b.start):.1f}" height="{BAR_HEIGHT}" '
                   f'fill="{colour}"/><text x="{x(b.finish) + 3:.1f}" y="{middle + 4}" '
                   f'font-size="10">{b.duration:g}</text>')
    else:
        out.append(f'<path d="{_diamond(x(b.start), middle)}" fill="{colour}"/>')
    out.append("</g>")
    return "".join(out)


def _diamond(cx: float, cy: float) -> str:
    return f"M{cx:.1f},{cy - 6} l6,6 l-6,6 l-6,-6 z"


def _legend(y: float, left: float, words: dict) -> str:
    """The legend in one row: critical bar, other bar, slack tail, 即办 diamond."""
    marks = (f'<rect x="{{x}}" y="{y - 5}" width="20" height="10" fill="{CRITICAL}"/>',
             f'<rect x="{{x}}" y="{y - 5}" width="20" height="10" fill="{OTHER}"/>',
             f'<line x1="{{x}}" y1="{y}" x2="{{x20}}" y2="{y}" stroke="{SLACK}" stroke-width="2"/>',
             f'<path d="{{diamond}}" fill="{OTHER}"/>')
    out, x = [], left
    for label, mark in zip(words["legend"], marks, strict=True):
        out.append(mark.format(x=x, x20=x + 20, diamond=_diamond(x + 10, y))
                   + f'<text x="{x + 26}" y="{y + 4}">{html.escape(label)}</text>')
        x += 26 + text_width(label) + 24
    return f'<g class="legend">{"".join(out)}</g>'


def gantt_svg(before: Procedure, after: Procedure | None = None, *,
              limits: str = "committed", lang: str = "zh") -> str:
    """``before`` (and, when given, ``after`` below it) as one ``<svg>`` element, its
    words in ``lang`` (Chinese for anything but ``en``)."""
    words = GANTT_WORDS["en" if lang == "en" else "zh"]
    panels = [("before", before)] + ([("after", after)] if after is not None else [])
    charts = [(label, proc, gantt_bars(proc, limits=limits)) for label, proc in panels]
    every = [b for _, _, bars in charts for b in bars]
    end = max([b.finish + b.total_slack for b in every] + [1.0]) * 1.06
    label_width = max([text_width(_clip(b.name, LABEL_MOST)) for b in every] + [40.0]) + 12
    left = MARGIN + label_width
    width = left + PLOT_WIDTH + 30 + MARGIN

    def x(days: float) -> float:
        return left + days / end * PLOT_WIDTH

    step = _tick_step(end)
    ticks = [k * step for k in range(int(end // step) + 1)]
    out, y = [], MARGIN
    for label, proc, bars in charts:
        elapsed = max((b.finish for b in bars), default=0.0)
        title = words["title"].format(label=words[label], name=proc.name, days=f"{elapsed:g}",
                                      limits=words.get(limits, limits))
        out.append(f'<g class="panel" data-panel="{label}"><text class="title" x="{MARGIN}" '
                   f'y="{y + 16}" font-size="13" font-weight="bold">{html.escape(title)}</text>')
        top, y = y + TITLE_HEIGHT, y + TITLE_HEIGHT + max(len(bars), 1) * ROW_HEIGHT
        out.extend(f'<line x1="{x(t):.1f}" y1="{top}" x2="{x(t):.1f}" y2="{y}" '
                   f'stroke="#e5e7e9"/>' for t in ticks)
        out.append(f'<rect x="{left}" y="{top}" width="{PLOT_WIDTH}" height="{y - top}" '
                   'fill="none" stroke="#888"/>')
        out.extend(_bar(b, top + i * ROW_HEIGHT, x, words) for i, b in enumerate(bars))
        out.append("</g>")
        y += PANEL_GAP
    out.extend(f'<text x="{x(t):.1f}" y="{y + 2}" text-anchor="middle" font-size="10">'
               f"{t:g}</text>" for t in ticks)
    out.append(f'<text x="{left + PLOT_WIDTH / 2}" y="{y + 22}" text-anchor="middle">'
               f'{html.escape(words["axis"])}</text>')
    out.append(_legend(y + AXIS_HEIGHT, left, words))
    height = y + AXIS_HEIGHT + LEGEND_HEIGHT
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="gantt-chart" role="img" '
            f'width="{width:.0f}" height="{height}" viewBox="0 0 {width:.0f} {height}" '
            f'font-family="Noto Sans CJK SC, sans-serif" font-size="{FONT_SIZE}">'
            f"<title>{html.escape(before.name)}</title>{''.join(out)}</svg>")
