"""The dependency graph a planner can see: a layered drawing, left to right by CPM level.

:func:`graph_layout` places each step (and stage) of a procedure in the column of its CPM
level (the longest chain of dependencies before it, counted in steps, from
:func:`process_models.graph.to_graph`), departments in colours and sorted together within
a column; it marks the steps and dependencies on a critical path and keeps each step's
limit and total slack (:func:`simulations.planning.cpm.schedule`). :func:`graph_svg` draws
it as SVG for the page (legal dependencies solid, practice ones dashed, the critical path
red and thick, each step's slack in its ``<title>`` for hover); :func:`graph_png` draws
the same layout with matplotlib, for a Word report. Names are drawn as written.

>>> from process_models.catalog import load_catalog_procedure
>>> layout = graph_layout(load_catalog_procedure("restaurant"))
>>> [node.level for node in layout.nodes][:3], layout.levels
([0, 1, 2], 5)
>>> svg = graph_svg(layout)
>>> svg.startswith("<svg") and "营业执照" in svg, svg.count('<g class="step critical"')
(True, 5)
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass
from itertools import pairwise

from process_models.procedure import Procedure

__all__ = ["DEPARTMENT_COLOURS", "GRAPH_WORDS", "GraphLayout", "GraphNode", "graph_layout",
           "graph_png", "graph_svg"]

DEPARTMENT_COLOURS = ("#dbeafe", "#dcfce7", "#fef9c3", "#fce7f3", "#ede9fe", "#ffedd5",
                      "#cffafe", "#e5e7eb", "#fee2e2", "#d9f99d")
"""Fill colours given to departments in the order they first appear (then again)."""

GRAPH_WORDS = {
    "zh": {"days": "工作日", "calendar": "自然日", "slack": "总时差", "critical": "关键路径",
           "legal": "法定依赖", "practice": "惯例依赖", "level": "层级"},
    "en": {"days": "working days", "calendar": "calendar days", "slack": "total slack",
           "critical": "critical path", "legal": "legal dependency",
           "practice": "practice dependency", "level": "level"},
}
"""The drawing's words in each language (names stay as written)."""

BOX_WIDTH, BOX_HEIGHT, COLUMN_GAP, ROW_GAP, MARGIN, LEGEND_HEIGHT = 150, 46, 60, 18, 16, 28


@dataclass(frozen=True)
class GraphNode:
    """One step or stage as drawn: its column (``level``), row, department and figures."""

    id: str
    name: str
    department: str
    colour: str
    level: int
    row: int
    days: float | None
    unit: str
    slack: float | None
    critical: bool

    @property
    def x(self) -> int:
        """The box's left edge in SVG units."""
        return MARGIN + self.level * (BOX_WIDTH + COLUMN_GAP)

    @property
    def y(self) -> int:
        """The box's top edge in SVG units."""
        return MARGIN + LEGEND_HEIGHT + self.row * (BOX_HEIGHT + ROW_GAP)


@dataclass(frozen=True)
class GraphLayout:
    """A procedure's graph laid out: nodes, edges ``(from, to, kind, critical)``, the
    number of columns and the department colours (name → colour)."""

    name: str
    nodes: list[GraphNode]
    edges: list[tuple[str, str, str, bool]]
    levels: int
    departments: dict[str, str]

    @property
    def width(self) -> int:
        """The drawing's width in SVG units."""
        return 2 * MARGIN + max(self.levels, 1) * (BOX_WIDTH + COLUMN_GAP) - COLUMN_GAP

    @property
    def height(self) -> int:
        """The drawing's height in SVG units."""
        rows = max((n.row for n in self.nodes), default=0) + 1
        return 2 * MARGIN + LEGEND_HEIGHT + rows * (BOX_HEIGHT + ROW_GAP) - ROW_GAP


def graph_layout(proc: Procedure, *, limits: str = "committed") -> GraphLayout:
    """``proc``'s steps and stages in columns by CPM level, critical ones marked."""
    import networkx as nx

    from process_models.graph import to_graph
    from simulations.planning.cpm import schedule

    g = to_graph(proc)
    plan = schedule(proc, limits=limits)
    critical = set(plan.critical_steps)
    critical_edges = {pair for path in plan.critical_paths for pair in pairwise(path)}
    level: dict[str, int] = {}
    for node in nx.topological_sort(g):
        level[node] = max((level[p] + 1 for p in g.predecessors(node)), default=0)
    departments = {d.id: d.name for d in proc.departments}
    colours: dict[str, str] = {}
    for step in proc.steps:
        name = departments.get(step.department, step.department)
        colours.setdefault(name, DEPARTMENT_COLOURS[len(colours) % len(DEPARTMENT_COLOURS)])
    order = {node: i for i, node in enumerate(g.nodes)}
    columns: dict[int, list[str]] = {}
    for node in sorted(g.nodes, key=lambda n: (level[n], str(g.nodes[n].get("department")),
                                               order[n])):
        columns.setdefault(level[node], []).append(node)
    nodes = []
    for column, members in columns.items():
        for row, node in enumerate(members):
            data = g.nodes[node]
            department = departments.get(data.get("department"), data.get("department") or "")
            nodes.append(GraphNode(
                id=node, name=data["name"], department=department,
                colour=colours.get(department, "#f3f4f6"), level=column, row=row,
                days=data.get("committed_days") if limits == "committed"
                else data.get("statutory_days") or data.get("committed_days"),
                unit=data.get("committed_unit", "working"),
                slack=plan.total_slack.get(node), critical=node in critical))
    edges = [(a, b, data["kind"], (a, b) in critical_edges) for a, b, data in g.edges(data=True)]
    return GraphLayout(name=proc.name, nodes=sorted(nodes, key=lambda n: (n.level, n.row)),
                       edges=edges, levels=len(columns), departments=colours)


def _days(value: float) -> str:
    return f"{value:g}"


def _edge_path(a: GraphNode, b: GraphNode) -> str:
    x1, y1 = a.x + BOX_WIDTH, a.y + BOX_HEIGHT / 2
    x2, y2 = b.x, b.y + BOX_HEIGHT / 2
    bend = max((x2 - x1) / 2, 20)
    return f"M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2},{y2}"


def graph_svg(layout: GraphLayout, *, lang: str = "zh", link: str | None = None) -> str:
    """The layout as one ``<svg>`` element: boxes coloured by department, legal
    dependencies solid and practice ones dashed, the critical path red, each step's
    department, limit and slack in its ``<title>`` (shown on hover). Given ``link`` (a
    format with ``{id}``, e.g. ``#step-{id}``), each box is a link to it.

    >>> layout = graph_layout(Procedure.model_validate({"id": "p", "name": "p", "steps": [
    ...     {"id": "a", "name": "甲", "department": "d", "committed": {"days": 1}}]}))
    >>> '<a href="#step-a" class="step-link">' in graph_svg(layout, link="#step-{id}")
    True
    """
    w = GRAPH_WORDS["en" if lang == "en" else "zh"]
    at = {n.id: n for n in layout.nodes}
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="graph" role="img" '
            f'width="{layout.width}" height="{layout.height}" '
            f'viewBox="0 0 {layout.width} {layout.height}" font-family="Noto Sans CJK SC, '
            f'sans-serif" font-size="12"><title>{html.escape(layout.name)}</title>')
    markers = "".join(
        f'<marker id="{name}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        f'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{fill}"/></marker>'
        for name, fill in (("arrow", "#555"), ("arrow-critical", "#c0392b")))
    out = [head, f"<defs>{markers}</defs>"]
    legend_x = MARGIN
    for label, style in ((w["legal"], ""), (w["practice"], ' stroke-dasharray="5 4"'),
                         (w["critical"], ' stroke="#c0392b" stroke-width="3"')):
        stroke = "" if "stroke=" in style else ' stroke="#555"'
        out.append(f'<line class="legend" x1="{legend_x}" y1="{MARGIN + 6}" x2="{legend_x + 28}" '
                   f'y2="{MARGIN + 6}"{stroke} stroke-width="1.5"{style}/>'
                   f'<text x="{legend_x + 34}" y="{MARGIN + 10}">{html.escape(label)}</text>')
        legend_x += 140
    for a, b, kind, critical in layout.edges:
        colour, width = ("#c0392b", 3) if critical else ("#555", 1.5)
        dash = ' stroke-dasharray="5 4"' if kind == "practice" else ""
        marker = "arrow-critical" if critical else "arrow"
        out.append(f'<path class="edge {kind}{" critical" if critical else ""}" '
                   f'd="{_edge_path(at[a], at[b])}" fill="none" stroke="{colour}" '
                   f'stroke-width="{width}"{dash} marker-end="url(#{marker})"/>')
    for n in layout.nodes:
        limit = "" if n.days is None else (
            f"{_days(n.days)} {w['calendar'] if n.unit == 'calendar' else w['days']}")
        slack = "" if n.slack is None else f"{w['slack']} {_days(n.slack)} {w['days']}"
        hover = "；".join(part for part in (n.name, n.department, limit, slack) if part)
        border = ' stroke="#c0392b" stroke-width="3"' if n.critical else \
            ' stroke="#555" stroke-width="1"'
        opening, closing = "", ""
        if link is not None:
            opening = f'<a href="{html.escape(link.format(id=n.id))}" class="step-link">'
            closing = "</a>"
        out.append(f'{opening}<g class="step{" critical" if n.critical else ""}" data-step="'
                   f'{html.escape(n.id)}"><title>{html.escape(hover)}</title>'
                   f'<rect x="{n.x}" y="{n.y}" width="{BOX_WIDTH}" height="{BOX_HEIGHT}" rx="6" '
                   f'fill="{n.colour}"{border}/>'
                   f'<text x="{n.x + 8}" y="{n.y + 19}" font-weight="bold">'
                   f'{html.escape(_clip(n.name, 11))}</text>'
                   f'<text x="{n.x + 8}" y="{n.y + 37}" fill="#333">'
                   f'{html.escape(_clip(n.department, 7))} {html.escape(limit)}</text></g>{closing}')
    out.append("</svg>")
    return "".join(out)


def _clip(text: str, most: int) -> str:
    return text if len(text) <= most else text[:most - 1] + "…"


def graph_png(layout: GraphLayout, *, lang: str = "zh", dpi: int = 120) -> bytes:
    """The same drawing as a PNG picture (matplotlib), e.g. for a Word report. The axes
    fill the figure, sized to the layout, and the shapes are added without autoscaling:
    matplotlib draws it once (no tight box to measure) and clips no arrow to its boxes; the
    PNG is compressed lightly (faster to write, a quarter larger)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    from simulations.planning.gantt import use_cjk_font

    family = use_cjk_font()
    at = {n.id: n for n in layout.nodes}
    fig = Figure(figsize=(layout.width / 100, layout.height / 100))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, layout.width)
    ax.set_ylim(layout.height, 0)
    ax.axis("off")
    for a, b, kind, critical in layout.edges:
        start, end = at[a], at[b]
        ax.add_artist(FancyArrowPatch(
            (start.x + BOX_WIDTH, start.y + BOX_HEIGHT / 2), (end.x, end.y + BOX_HEIGHT / 2),
            arrowstyle="-|>", mutation_scale=10, shrinkA=0, shrinkB=0,
            linestyle="--" if kind == "practice" else "-",
            color="#c0392b" if critical else "#555", linewidth=2.5 if critical else 1.0))
    for n in layout.nodes:
        ax.add_artist(FancyBboxPatch((n.x, n.y), BOX_WIDTH, BOX_HEIGHT,
                                     boxstyle="round,pad=0,rounding_size=6", facecolor=n.colour,
                                     edgecolor="#c0392b" if n.critical else "#555",
                                     linewidth=2.5 if n.critical else 1.0))
        ax.text(n.x + 8, n.y + 19, _clip(n.name, 11), fontsize=8,
                family=family, va="center")
        days = "" if n.days is None else f"{_days(n.days)}{'天' if lang != 'en' else ' d'}"
        ax.text(n.x + 8, n.y + 36, f"{_clip(n.department, 7)} {days}", fontsize=7,
                family=family, va="center")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()
