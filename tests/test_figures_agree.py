"""One definition per figure: every output that states a procedure's figures states the same
numbers (steps, 环节, departments, windows, materials, trips, summed limits, sequential and
elapsed days), before and after each catalog reform."""

from __future__ import annotations

import json
import shutil

import pytest
from hypothesis import given, settings

from process_models.catalog import CATALOG_DIR, catalog_ids
from process_models.summary import figures, summarize
from simulations.planning.audit_report import audit_report
from simulations.planning.metrics import compare, measure, portfolio
from tests.strategies import procedures

STATIC = ["steps", "links", "departments", "windows", "materials", "trips", "summed_limit_days",
          "sequential_working_days"]
ALL = [*STATIC, "elapsed_working_days"]


def _pick(data: dict, keys: list[str]) -> dict:
    return {k: pytest.approx(data[k]) for k in keys}


@pytest.mark.parametrize("procedure_id", catalog_ids())
def test_show_simulate_reform_portfolio_and_audit_report_agree_before_and_after(
        run_cli, tmp_path, procedure_id):
    """``show --json``, ``simulate --json``, ``reform --json``, ``portfolio --json`` and
    ``audit report --format json`` give every catalog procedure, before and after its
    reform, the same figures."""
    folder = tmp_path / "pair"
    folder.mkdir()
    before = folder / f"{procedure_id}.yaml"
    after = folder / f"{procedure_id}_after.yaml"
    shutil.copy(CATALOG_DIR / f"{procedure_id}.yaml", before)

    def cli(*args) -> dict:
        code, out, err = run_cli(*args)
        assert (code, err) == (0, ""), err
        return json.loads(out)

    reform = cli("reform", procedure_id, "--json", "-o", after)
    pf = cli("portfolio", folder, "--json")
    audit = cli("audit", "report", before, after, "--format", "json")["procedures"][0]
    for side, path in (("before", before), ("after", after)):
        shown = cli("show", path, "--json")["summary"]
        simulated = cli("simulate", path, "--json")
        expected = _pick(simulated, ALL)
        assert _pick(shown, STATIC) == _pick(simulated, STATIC), side
        assert _pick(reform[side], ALL) == expected, side
        assert _pick(pf[side], ALL) == expected, side
        assert _pick(audit[side], ALL) == expected, side


@settings(max_examples=60, deadline=None)
@given(procedures())
def test_the_summary_measure_comparison_portfolio_and_report_agree_on_any_procedure(proc):
    """For any procedure, :func:`summarize` (``show``, the API), :func:`measure`
    (``simulate``), :func:`compare` (``reform``, the planner page), :func:`portfolio` and
    :func:`audit_report` state the same figures as :func:`figures`."""
    f = figures(proc)
    one = {k: getattr(f, k) for k in STATIC}
    m = measure(proc)
    assert {k: getattr(summarize(proc), k) for k in STATIC} == one
    assert {k: getattr(m, k) for k in STATIC} == one
    c = compare(proc, proc)
    assert {k: getattr(c.after, k) for k in ALL} == {k: getattr(m, k) for k in ALL}
    assert {k: portfolio([(proc, proc)]).after[k] for k in ALL} == {k: getattr(m, k) for k in ALL}
    report = audit_report([(proc, proc)]).comparisons[0]
    assert {k: getattr(report.before, k) for k in ALL} == {k: getattr(m, k) for k in ALL}
