"""秒批 in the simulator: a step a rule decides takes zero days in that share of cases."""

from __future__ import annotations

import numpy as np
import pytest

from process_models import Department, Limit, Procedure, Step
from process_models.errors import ScenarioError
from simulations.planning.montecarlo import simulate

TWO = Procedure(id="two", name="两步", departments=[Department(id="x", name="X")],
                steps=[Step(id="a", name="A", department="x", committed=Limit(days=5)),
                       Step(id="b", name="B", department="x", committed=Limit(days=4),
                            depends_on=["a"])])


@pytest.mark.parametrize(("share", "elapsed"), [(0.0, {9.0}), (1.0, {4.0}), (0.5, {4.0, 9.0})])
def test_a_step_decided_by_rule_takes_no_time_in_its_share_of_cases(share, elapsed):
    risk = simulate(TWO, runs=2_000, seed=1, auto_shares={"a": share}, criticality=False)
    assert set(np.unique(risk.elapsed_working_days).tolist()) == elapsed


def test_the_share_decided_by_rule_is_about_the_share_given():
    risk = simulate(TWO, runs=20_000, seed=2, auto_shares={"a": 0.3}, criticality=False)
    assert float((risk.elapsed_working_days == 4.0).mean()) == pytest.approx(0.3, abs=0.02)


@pytest.mark.parametrize(("shares", "error"), [({"a": 1.5}, ScenarioError), ({"c": 0.5}, LookupError)])
def test_a_bad_share_or_step_is_refused(shares, error):
    with pytest.raises(error):
        simulate(TWO, runs=10, auto_shares=shares)


def test_simulate_takes_the_share_of_auto_decisions_from_the_command_line(run_cli):
    """Newborn's birth certificate (on the critical path) decided by rule in every case: a
    shorter mean, and the share shown beside the figures."""
    import json

    args = ("simulate", "newborn", "--runs", "2000", "--json")
    code, out, err = run_cli(*args)
    assert code == 0, err
    code, auto, err = run_cli(*args, "--auto", "birth_certificate=1")
    assert code == 0, err
    with_rule = json.loads(auto)
    assert with_rule["monte_carlo"]["mean"] < json.loads(out)["monte_carlo"]["mean"]
    assert with_rule["auto_shares"] == {"birth_certificate": {"share": 1.0, "basis": "estimate"}}
    code, _out, err = run_cli(*args, "--auto", "vaccination")
    assert code == 2 and "is not STEP=SHARE" in err
