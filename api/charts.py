"""Bar charts as inline SVG, drawn on the server: no script, no CDN, printable.

A chart is a list of :class:`Bar` rows, each a label (a name, never an id) and one or more
parts stacked left to right, with the text written after the bar (the figure and what it
counts). The SVG scales to its container (``viewBox``), so a phone shows it whole.

>>> svg = bar_chart([Bar("民政局", (0.25,), "25% (1/4)")], parts=("rate",), top=1.0)
>>> "民政局" in svg and "25% (1/4)" in svg and svg.startswith("<svg")
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

__all__ = ["Bar", "bar_chart"]

_WIDTH, _LABEL, _TEXT, _ROW = 480, 150, 110, 28


@dataclass(frozen=True)
class Bar:
    """One row: its ``label``, the lengths of its stacked ``parts`` and the ``text`` after it."""

    label: str
    parts: tuple[float, ...]
    text: str


def _cut(text: str, chars: int = 10) -> str:
    """A label short enough for the label column (the full text stays in the tooltip)."""
    return text if len(text) <= chars else text[: chars - 1] + "…"


def bar_chart(bars: Sequence[Bar], *, parts: Sequence[str], top: float | None = None,
              title: str = "") -> Markup:
    """The ``bars`` as an SVG image; ``parts`` names each stacked part's CSS class
    (``chart-<part>``); ``top`` is the full length (default: the longest bar)."""
    longest = top or max((sum(b.parts) for b in bars), default=0.0) or 1.0
    span = _WIDTH - _LABEL - _TEXT
    height = _ROW * len(bars) + 8
    rows = []
    for i, bar in enumerate(bars):
        y = 4 + i * _ROW
        x = float(_LABEL)
        rects = []
        for part, value in zip(parts, bar.parts, strict=True):
            width = max(0.0, span * value / longest)
            rects.append(f'<rect class="chart-{part}" x="{x:.1f}" y="{y + 4}" '
                         f'width="{width:.1f}" height="{_ROW - 10}"/>')
            x += width
        rows.append(
            f'<g><title>{escape(bar.label)}: {escape(bar.text)}</title>'
            f'<text class="chart-label" x="{_LABEL - 6}" y="{y + _ROW / 2 + 4}" '
            f'text-anchor="end">{escape(_cut(bar.label))}</text>{"".join(rects)}'
            f'<text class="chart-value" x="{x + 4:.1f}" y="{y + _ROW / 2 + 4}">'
            f'{escape(bar.text)}</text></g>')
    return Markup(
        f'<svg class="chart" viewBox="0 0 {_WIDTH} {height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}">'
        f'{"".join(rows)}</svg>')
