"""Gantt charts of a procedure's schedule, before and after a reform on one sheet.

Each step is a bar from its earliest start to its earliest finish, in working days
after acceptance (受理); critical steps are red, the others blue with their total slack
drawn as a thin grey tail; 即办 steps (zero days) are diamonds. Follow-up checks
(事中事后核查) are off the applicant's path and not drawn.

:func:`write_gantt` writes SVG or PNG (matplotlib, Agg backend, imported only here) or a
self-contained HTML page (the chart as inline SVG plus a table per procedure; no
external assets). Chinese names need a CJK font: the Debian package ``fonts-noto-cjk``
(``make system-deps`` installs it), found by file path.

>>> from process_models.catalog import load_catalog_procedure
>>> bars = gantt_bars(load_catalog_procedure("restaurant"))
>>> [(b.step_id, b.start, b.finish, b.critical) for b in bars][:2]
[('business_licence', 0.0, 3.0, True), ('health_certificate', 3.0, 8.0, True)]
"""

from __future__ import annotations

import html
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from process_models.errors import InvalidInput, MissingDependency, did_you_mean
from process_models.procedure import Procedure
from simulations.planning.cpm import schedule

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["FORMATS", "GanttBar", "cjk_font_path", "gantt_bars", "gantt_html", "plot_gantt",
           "text_width", "use_cjk_font", "write_gantt"]

#: File suffixes :func:`write_gantt` understands.
FORMATS = (".svg", ".png", ".html")

#: Where Debian and other distributions put the Noto Sans CJK font.
FONT_DIRS = ("/usr/share/fonts/opentype/noto", "/usr/share/fonts/noto-cjk",
             "/usr/share/fonts/google-noto-cjk", "/usr/share/fonts/opentype",
             "/usr/local/share/fonts", "/usr/share/fonts")
FONT_FILES = ("NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Regular.otf", "NotoSansSC-Regular.otf")
FONT_FAMILY = "Noto Sans CJK SC"

CRITICAL = "#c0392b"
OTHER = "#2e86c1"
SLACK = "#b3b6b7"


@dataclass(frozen=True)
class GanttBar:
    """One step on the chart: when it runs (working days after acceptance) and its slack."""

    step_id: str
    name: str
    department: str
    start: float
    finish: float
    total_slack: float
    critical: bool

    @property
    def duration(self) -> float:
        return self.finish - self.start


def gantt_bars(proc: Procedure, *, limits: str = "committed") -> list[GanttBar]:
    """The applicant's steps of ``proc`` as bars, by start, then by their order in the file."""
    s = schedule(proc, limits=limits)
    critical = set(s.critical_steps)
    departments = {d.id: d.name for d in proc.departments}
    bars = [
        GanttBar(st.id, st.name, departments.get(st.department, st.department),
                 s.earliest_start[st.id], s.earliest_finish[st.id], s.total_slack[st.id],
                 st.id in critical)
        for st in proc.applicant_steps if st.id in s.earliest_start
    ]
    order = {st.id: i for i, st in enumerate(proc.steps)}
    return sorted(bars, key=lambda b: (b.start, order[b.step_id]))


def cjk_font_path() -> Path:
    """The Noto Sans CJK font file; :class:`MissingDependency` says how to install it."""
    for folder in FONT_DIRS:
        for name in FONT_FILES:
            found = next(Path(folder).rglob(name), None) if Path(folder).is_dir() else None
            if found is not None:
                return found
    raise MissingDependency(
        "no CJK font for Chinese step names; install it with `apt-get install fonts-noto-cjk` "
        "(or `make system-deps`)"
    )


def use_cjk_font() -> str:
    """Register the CJK font with matplotlib once; return the family to draw with."""
    from matplotlib import font_manager

    if not any(f.name == FONT_FAMILY for f in font_manager.fontManager.ttflist):
        font_manager.fontManager.addfont(str(cjk_font_path()))
    if not any(f.name == FONT_FAMILY for f in font_manager.fontManager.ttflist):
        raise MissingDependency(f"the font file {cjk_font_path()} holds no '{FONT_FAMILY}'; "
                                "reinstall fonts-noto-cjk")
    return FONT_FAMILY


#: The chart's words in each language (names stay as written); ``span`` and ``slack`` are
#: the hover text of :func:`simulations.planning.gantt_svg.gantt_svg`.
GANTT_WORDS = {
    "zh": {"before": "改革前", "after": "改革后", "committed": "承诺时限", "statutory": "法定时限",
           "title": "{label}：{name}，按{limits}计 {days} 个工作日", "axis": "受理后工作日",
           "legend": ("关键路径", "其他步骤", "总时差", "即办（0 天）"),
           "span": "受理后第 {start}–{finish} 个工作日", "slack": "总时差 {days} 个工作日"},
    "en": {"before": "Before", "after": "After", "committed": "committed", "statutory":
           "statutory", "title": "{label}: {name}, {days} working days on {limits} limits",
           "axis": "working days after acceptance",
           "legend": ("critical path", "other steps", "total slack", "immediate (0 days)"),
           "span": "working days {start}–{finish} after acceptance",
           "slack": "total slack {days} working days"},
}


def text_width(text: str, size: float = 12) -> float:
    """An estimate of ``text``'s drawn width in points at ``size``: a CJK character takes
    one em, others 0.6 (no font is opened to measure it).

    >>> text_width("营业执照"), text_width("ab", size=10)
    (48, 12.0)
    """
    return sum(size if ord(c) > 0x2E7F else size * 3 / 5 for c in text)


def _draw_panel(ax, bars: list[GanttBar], end: float, family: str) -> None:
    """One procedure's bars on ``ax``: a collection each for bars, slack tails and 即办
    diamonds, and the names as plain texts beside the axis (tick labels cost a tick each)."""
    from matplotlib.collections import LineCollection, PolyCollection

    timed = [(y, b) for y, b in enumerate(bars) if b.duration > 0]
    ax.add_collection(PolyCollection(
        [[(b.start, y - .3), (b.finish, y - .3), (b.finish, y + .3), (b.start, y + .3)]
         for y, b in timed],
        facecolors=[CRITICAL if b.critical else OTHER for _, b in timed], zorder=2))
    ax.add_collection(LineCollection(
        [[(b.finish, y), (b.finish + b.total_slack, y)] for y, b in enumerate(bars)
         if b.total_slack > 0], colors=SLACK, linewidths=2, zorder=1))
    for y, b in timed:
        ax.text(b.finish + end * 0.005, y, f"{b.duration:g}", va="center", fontsize=7,
                family=family, zorder=3)
    immediate = [(y, b) for y, b in enumerate(bars) if b.duration <= 0]
    if immediate:
        ax.scatter([b.start for _, b in immediate], [y for y, _ in immediate], marker="D",
                   s=36, c=[CRITICAL if b.critical else OTHER for _, b in immediate], zorder=2)
    names = ax.get_yaxis_transform()
    for y, b in enumerate(bars):
        ax.text(-0.005, y, b.name, transform=names, ha="right", va="center", fontsize=8,
                family=family)
    ax.set_yticks([])
    ax.set_ylim(max(len(bars), 1) - 0.5, -0.5)
    ax.grid(axis="x", color="#e5e7e9", zorder=0)


def plot_gantt(
    before: Procedure, after: Procedure | None = None, *, limits: str = "committed",
    lang: str = "zh",
) -> Figure:
    """A matplotlib figure: ``before`` on top and, when given, ``after`` below, on one
    shared axis of working days after acceptance; its words in ``lang`` (:data:`GANTT_WORDS`,
    Chinese for anything but ``en``). Margins are set from the longest name, not by
    matplotlib's layout engine (which lays out every text again: seconds at 200 steps)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    family = use_cjk_font()
    w = GANTT_WORDS["en" if lang == "en" else "zh"]
    panels = [("before", before)] + ([("after", after)] if after is not None else [])
    charts = [(label, proc, gantt_bars(proc, limits=limits)) for label, proc in panels]
    end = max([b.finish + b.total_slack for _, _, bars in charts for b in bars] + [1.0])
    rows = [max(len(bars), 1) for _, _, bars in charts]
    width, height = 11, 1.2 + 0.34 * sum(rows) + 0.9 * len(rows)
    names_inches = max([text_width(b.name, 8) for _, _, bars in charts for b in bars]
                       + [0.0]) / 72 + 0.2
    top, bottom, gap = 0.4, 0.9, 0.6  # inches: first title, axis and legend, between panels
    panel = (height - top - bottom - gap * (len(rows) - 1)) / len(rows)
    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(left=min(names_inches / width, 0.6), right=0.97, top=1 - top / height,
                        bottom=bottom / height, hspace=gap / panel)
    axes = fig.subplots(len(charts), 1, sharex=True, squeeze=False,
                        gridspec_kw={"height_ratios": rows})[:, 0]
    for ax, (label, proc, bars) in zip(axes, charts):
        _draw_panel(ax, bars, end, family)
        elapsed = max((b.finish for b in bars), default=0.0)
        ax.set_title(w["title"].format(label=w[label], name=proc.name, days=f"{elapsed:g}",
                                       limits=w.get(limits, limits)),
                     family=family, fontsize=10, loc="left")
    axes[-1].set_xlim(0, end * 1.06)
    axes[-1].set_xlabel(w["axis"], family=family)
    critical, other, slack, immediate = w["legend"]
    fig.legend(handles=[Patch(color=CRITICAL, label=critical), Patch(color=OTHER, label=other),
                        Line2D([], [], color=SLACK, lw=2, label=slack),
                        Line2D([], [], color=OTHER, marker="D", lw=0, label=immediate)],
               loc="lower center", ncols=4, prop={"family": family, "size": 8},
               frameon=False)
    return fig


def _svg(fig: Figure) -> str:
    """The figure as SVG text with every glyph drawn as a path (no font needed to view it)."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "onething"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def gantt_html(
    before: Procedure, after: Procedure | None = None, *, limits: str = "committed",
    lang: str = "zh",
) -> str:
    """A self-contained HTML page: the chart as inline SVG and one table per procedure."""
    svg = _svg(plot_gantt(before, after, limits=limits, lang=lang))
    svg = svg[svg.index("<svg"):]
    tables = []
    for label, proc in [("before", before)] + ([("after", after)] if after else []):
        rows = "".join(
            f"<tr class=\"{'critical' if b.critical else ''}\"><td>{html.escape(b.step_id)}</td>"
            f"<td>{html.escape(b.name)}</td><td>{html.escape(b.department)}</td>"
            f"<td>{b.start:g}</td><td>{b.finish:g}</td><td>{b.total_slack:g}</td></tr>"
            for b in gantt_bars(proc, limits=limits)
        )
        tables.append(
            f"<h2>{label}: {html.escape(proc.name)} ({html.escape(proc.key)})</h2>"
            "<table><thead><tr><th>step</th><th>name</th><th>department</th><th>start</th>"
            f"<th>finish</th><th>slack</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    title = html.escape(before.name)
    return (
        "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
        f"<title>{title} — Gantt</title><style>"
        "body{font-family:'Noto Sans CJK SC','PingFang SC','Microsoft YaHei',sans-serif;"
        "margin:2em;color:#1b2631}svg{max-width:100%;height:auto}"
        "table{border-collapse:collapse;margin-bottom:2em}"
        "td,th{border:1px solid #d5d8dc;padding:.2em .6em;text-align:left}"
        f"tr.critical td{{color:{CRITICAL};font-weight:600}}"
        f"</style></head><body><h1>{title}</h1>\n{svg}\n{''.join(tables)}\n"
        f"<p>Working days after acceptance on {limits} limits; critical steps in red.</p>"
        "</body></html>\n"
    )


def write_gantt(
    path: str | os.PathLike[str],
    before: Procedure,
    after: Procedure | None = None,
    *,
    limits: str = "committed",
    lang: str = "zh",
) -> Path:
    """Write the chart to ``path``; its suffix picks the format (.svg, .png or .html), its
    words are in ``lang``."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in FORMATS:
        raise InvalidInput(f"cannot write a Gantt chart as '{suffix or target.name}'; use one of "
                           f"{', '.join(FORMATS)}", path="--gantt",
                           suggestion=did_you_mean(suffix, FORMATS))
    if suffix == ".html":
        target.write_text(gantt_html(before, after, limits=limits, lang=lang), encoding="utf-8")
    elif suffix == ".svg":
        target.write_text(_svg(plot_gantt(before, after, limits=limits, lang=lang)),
                          encoding="utf-8")
    else:
        plot_gantt(before, after, limits=limits, lang=lang).savefig(target, format="png",
                                                                    dpi=150)
    return target
