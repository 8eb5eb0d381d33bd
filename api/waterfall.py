"""The planner's waterfall: where a reform's saved working days come from.

One bar for the elapsed working days before the reform, one per lever kind in the order the
scenario applied it (its share of :attr:`simulations.planning.scenario.Reform.attribution`),
one for the days after; each lever's bar runs from the level before it to the level after
it, so the bars add up to the total exactly. A target lever (one whose change log names the
published commitment it sets, e.g. 压缩时限) is marked as a target with its source: what it
"saves" was typed in, not computed.

>>> rows = waterfall(32.0, {"parallelise": 12.0, "share_data": 0.0, "compress": 15.0})
>>> [(r.kind, r.lever, r.days, r.low, r.high) for r in rows]  # doctest: +NORMALIZE_WHITESPACE
[('before', None, 32.0, 0.0, 32.0), ('lever', 'parallelise', -12.0, 20.0, 32.0),
 ('lever', 'share_data', 0.0, 20.0, 20.0), ('lever', 'compress', -15.0, 5.0, 20.0),
 ('after', None, 5.0, 0.0, 5.0)]
>>> rows[0].days + sum(r.days for r in rows if r.kind == "lever") == rows[-1].days
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["WaterfallRow", "waterfall"]


@dataclass(frozen=True)
class WaterfallRow:
    """One bar: the total before or after (``days`` the total), or a lever kind (``days``
    its signed change of the elapsed working days, negative when it saves). The bar spans
    ``low``–``high`` working days; ``sources`` are the published commitments a target lever
    took its numbers from (empty for a mechanism)."""

    kind: Literal["before", "lever", "after"]
    lever: str | None
    days: float
    low: float
    high: float
    sources: tuple[str, ...] = ()

    def left_percent(self, top: float) -> float:
        """Where the bar starts, in percent of ``top`` working days."""
        return round(100 * self.low / top, 2) if top else 0.0

    def width_percent(self, top: float) -> float:
        """The bar's length in percent of ``top`` working days."""
        return round(100 * (self.high - self.low) / top, 2) if top else 0.0


def waterfall(before: float, attribution: dict[str, float],
              sources: dict[str, tuple[str, ...]] | None = None) -> list[WaterfallRow]:
    """The bars from ``before`` elapsed working days through each lever's saving
    (``attribution``: lever kind → working days saved, in the order applied) to the days
    after; ``sources``: lever kind → the sources of its target values."""
    rows = [WaterfallRow("before", None, before, 0.0, before)]
    level = before
    for lever, saved in attribution.items():
        after = level - saved
        rows.append(WaterfallRow("lever", lever, 0.0 - saved, min(level, after),
                                 max(level, after), (sources or {}).get(lever, ())))
        level = after
    rows.append(WaterfallRow("after", None, level, 0.0, level))
    return rows
