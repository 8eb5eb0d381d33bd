"""Every catalog procedure has a reform scenario that reproduces its published figures."""

import pytest

from process_models.catalog import catalog_ids, load_catalog_procedure
from process_models.loading import dump_procedure, parse_procedure
from simulations.planning.scenario import catalog_reform, catalog_scenario_path, load_scenario


@pytest.fixture(params=catalog_ids())
def procedure_id(request) -> str:
    return request.param


def test_each_scenario_is_written_for_its_procedure_and_justifies_every_lever(procedure_id):
    scenario = load_scenario(catalog_scenario_path(procedure_id))
    assert scenario.procedure == procedure_id
    assert scenario.source
    assert all(call.note for call in scenario.levers)


def test_each_reform_reproduces_the_published_after_figures_within_tolerance(procedure_id):
    """Published after-figure p and computed c agree when |c − p| ≤ tolerance × p."""
    result = catalog_reform(procedure_id)
    assert any(c.published_after is not None for c in result.checks), "nothing to reproduce"
    missed = [(c.figure, c.published_after, c.computed_after, c.tolerance)
              for c in result.checks if c.within is False]
    assert missed == []


def test_each_reformed_procedure_is_valid_and_round_trips(procedure_id):
    result = catalog_reform(procedure_id)
    assert result.after.form == "after"
    assert parse_procedure(dump_procedure(result.after)) == result.after


def test_the_reform_leaves_the_catalog_procedure_unchanged(procedure_id):
    before = load_catalog_procedure(procedure_id)
    result = catalog_reform(procedure_id)
    assert result.before == before
    assert result.comparison.after.elapsed_working_days <= (
        result.comparison.before.elapsed_working_days)
