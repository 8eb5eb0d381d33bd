"""What the workspace procedure page shows beside its figures: each step's details (limits
with their basis, materials, what it waits for and what waits for it, its slack), the
Monte-Carlo risk with the distribution of elapsed days drawn, and each kept scenario's
change log in the reader's language.

The graph's boxes link to a step's details block (``#before-step-<id>``), rendered on the
server so that it works without script; the risk is a fragment the page fetches after
load (``/workspace/{id}/risk``), so the page shows at once and says 计算中… meanwhile.

>>> from process_models.catalog import load_catalog_procedure
>>> first = step_details(load_catalog_procedure("restaurant"), "zh")[0]
>>> first["name"], first["dependents"][:1], first["committed"]["basis"]
('营业执照 (设立登记)', ['食品从业人员健康证明 (健康证)'], 'memory')
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import numpy as np

from api.i18n import messages
from api.names import change_sentence, names_of
from process_models.procedure import Procedure

if TYPE_CHECKING:
    from flows.casework.workspace import WorkspaceProcedure

__all__ = ["CHART_BINS", "RISK_RUNS", "distribution_svg", "risk_figures", "scenario_logs",
           "step_details"]

RISK_RUNS = 2_000
"""Monte-Carlo replications behind the page's P50/P90 and on-time probability (seed 0)."""

CHART_BINS = 24
"""Bars of the distribution chart (elapsed working days, before and after)."""

_CHART_WIDTH, _CHART_HEIGHT, _PAD, _AXIS = 560, 220, 30, 34
_COLOURS = {"before": "#9ca3af", "after": "#2563eb"}


def step_details(proc: Procedure, language: str) -> list[dict[str, Any]]:
    """Each step of ``proc`` by name: department, limits and trips with their basis and the
    notes in ``language`` (:func:`api.planner_page.step_bases`), materials, the steps it waits
    for (with the dependency's kind), the steps waiting for it and its total slack in working
    days."""
    from api.planner_page import step_bases
    from simulations.planning.cpm import schedule

    names = names_of(proc, language=language)
    slack = schedule(proc).total_slack
    waiting: dict[str, list[str]] = {s.id: [] for s in proc.steps}
    for s in proc.steps:
        for d in s.depends_on:
            waiting.setdefault(d.step, []).append(names[s.id])
    return [{**bases, "id": s.id, "department": names.get(s.department, s.department),
             "materials": [names.get(m, m) for m in s.materials],
             "depends_on": [(names.get(d.step, d.step), d.kind.value) for d in s.depends_on],
             "dependents": waiting[s.id], "slack": slack.get(s.id)}
            for s, bases in zip(proc.steps, step_bases(proc, language), strict=True)]


def risk_figures(before: Procedure, after: Procedure, language: str) -> dict[str, Any]:
    """P50, P90 and on-time probability before and after (:data:`RISK_RUNS` replications,
    seed 0), the probability the reform is faster, and the distribution chart."""
    from simulations.planning.montecarlo import compare_risk

    risk = compare_risk(before, after, runs=RISK_RUNS, seed=0)
    return {"before": risk.before.as_dict(), "after": risk.after.as_dict(),
            "faster": risk.faster_probability,
            "chart": distribution_svg(risk.before.elapsed_working_days,
                                      risk.after.elapsed_working_days, language)}


def distribution_svg(before: np.ndarray, after: np.ndarray, language: str) -> str:
    """The elapsed working days of every replication before and after as two histograms
    over the same bins (share of replications), with the days on the axis.

    >>> svg = distribution_svg(np.array([3.0, 4.0, 4.0]), np.array([1.0, 2.0]), "zh")
    >>> svg.count('class="bar before"'), svg.count('class="bar after"'), "办理时间" in svg
    (24, 24, True)
    """
    strings = messages(language)
    both = np.concatenate([before, after])
    low, high = (float(both.min()), float(both.max())) if both.size else (0.0, 1.0)
    edges = np.linspace(low, max(high, low + 1), CHART_BINS + 1)
    shares = {side: np.histogram(days, edges)[0] / max(len(days), 1)
              for side, days in (("before", before), ("after", after))}
    top = max(float(max(s.max() for s in shares.values())), 1e-9)
    plot = _CHART_HEIGHT - _PAD - _AXIS
    step = (_CHART_WIDTH - 2 * _PAD) / CHART_BINS
    out = [(f'<svg xmlns="http://www.w3.org/2000/svg" class="distribution" role="img" '
            f'width="{_CHART_WIDTH}" height="{_CHART_HEIGHT}" viewBox="0 0 {_CHART_WIDTH} '
            f'{_CHART_HEIGHT}" font-size="11" font-family="Noto Sans CJK SC, sans-serif">'
            f'<title>{html.escape(strings["ws.distribution"])}</title>')]
    for offset, side in enumerate(("before", "after")):
        label = strings[f"planner.{side}"]
        out.append(f'<rect x="{_PAD + offset * 90}" y="6" width="12" height="12" '
                   f'fill="{_COLOURS[side]}"/><text x="{_PAD + offset * 90 + 16}" y="16">'
                   f'{html.escape(label)}</text>')
        for i, share in enumerate(shares[side]):
            height = plot * float(share) / top
            x = _PAD + i * step + offset * step / 2
            out.append(f'<rect class="bar {side}" x="{x:.1f}" y="{_PAD + plot - height:.1f}" '
                       f'width="{step / 2 - 1:.1f}" height="{height:.1f}" '
                       f'fill="{_COLOURS[side]}"><title>{html.escape(label)} '
                       f'{edges[i]:.1f}–{edges[i + 1]:.1f}：{share * 100:.1f}%</title></rect>')
    baseline = _PAD + plot
    out.append(f'<line x1="{_PAD}" y1="{baseline}" x2="{_CHART_WIDTH - _PAD}" y2="{baseline}" '
               'stroke="#333"/>')
    for i in range(0, CHART_BINS + 1, CHART_BINS // 4):
        out.append(f'<text x="{_PAD + i * step:.1f}" y="{baseline + 14}" text-anchor="middle">'
                   f'{edges[i]:.3g}</text>')
    out.append(f'<text x="{_CHART_WIDTH / 2:.0f}" y="{_CHART_HEIGHT - 6}" text-anchor="middle">'
               f'{html.escape(strings["ws.elapsed_axis"])}</text></svg>')
    return "".join(out)


def scenario_logs(row: WorkspaceProcedure, scenarios: list[Any],
                  language: str) -> dict[str, list[str]]:
    """Each kept scenario's change log (scenario id → sentences in ``language``, names not
    ids, :func:`api.names.change_sentence`) on the workspace revision ``row``; a scenario
    that no longer applies to the procedure as it now stands says why in its one line."""
    from api.models import public_message
    from api.workspace import workspace_reform
    from process_models.errors import OnethingError

    strings = messages(language)
    logs = {}
    for scenario in scenarios:
        try:
            result = workspace_reform(row, list(scenario.levers))
        except OnethingError as error:
            logs[scenario.id] = [public_message(error)]
            continue
        names = names_of(result.before, result.after, language=language)
        logs[scenario.id] = [change_sentence(c, strings, names) for c in result.changes]
    return logs
