"""``onething fidelity``: the discovered model and two baselines measured against the real
later part of a log, with the distances of ``log-distance-measures``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from process_models.calendar import country_calendar
from process_models.errors import EventLogError
from simulations.planning.fidelity import fidelity
from tests.test_discovery import parallel_cases

WABO = Path(__file__).resolve().parents[2] / "shared" / "logs" / "wabo_receipt.csv"
MEASURES = {"cycle_time_emd_days", "ngram_distance", "arrival_emd_hours",
            "activity_duration_emd_days"}


@pytest.fixture(scope="module")
def parallel_fidelity():
    return fidelity(parallel_cases(120), log="p.csv", calendar=country_calendar()).as_dict()


def test_the_model_and_both_baselines_are_measured_on_every_distance(parallel_fidelity):
    assert {k: set(v) for k, v in parallel_fidelity.items() if k != "split"} == {
        "model": MEASURES, "naive": MEASURES, "train_empirical": MEASURES}
    assert parallel_fidelity["split"]["train_cases"] == 84


def test_parallel_steps_in_either_order_beat_one_fixed_order(parallel_fidelity):
    """The real cases finish 消防 and 环评 in either order; the naive baseline always in
    one, so its 3-gram distance is larger than the model's."""
    assert parallel_fidelity["model"]["ngram_distance"] < \
        parallel_fidelity["naive"]["ngram_distance"]


def test_a_train_share_leaving_too_few_cases_is_one_line():
    with pytest.raises(EventLogError, match=r"--train-share 0.99 leaves 4 cases to learn from"
                                            r" and 1 to test on"):
        fidelity(parallel_cases(5), log="p.csv", calendar=country_calendar(), train_share=0.99)


@pytest.mark.slow   # seconds: discovery, simulation and four distances on the real log
@pytest.mark.skipif(not WABO.exists(), reason="the WABO log is not checked out")
def test_on_the_wabo_log_the_model_is_closer_than_naive_on_cycle_time(run_cli):
    code, out, err = run_cli("fidelity", WABO, "--calendar", "NL", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["model"]["cycle_time_emd_days"] < result["naive"]["cycle_time_emd_days"]


def test_fitted_arrivals_are_measured_against_the_real_ones():
    result = fidelity(parallel_cases(120), log="p.csv", calendar=country_calendar(),
                      arrivals="fitted").as_dict()
    assert result["split"]["arrivals"] == "fitted"
    assert result["model"]["arrival_emd_hours"] == result["naive"]["arrival_emd_hours"] > 0


def test_an_unknown_arrival_mode_is_refused_before_any_work():
    with pytest.raises(EventLogError, match=r"--arrivals: unknown 'fited'.*did you mean "
                                            r"'fitted'"):
        fidelity(iter(()), log="p.csv", calendar=country_calendar(), arrivals="fited")
