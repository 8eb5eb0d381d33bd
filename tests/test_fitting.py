"""Learning step durations from logs: the fits, the procedure they are written into, bad logs."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from process_models.calendar import SERVICE_CENTRE_TZ
from process_models.catalog import load_catalog_procedure
from process_models.errors import EventLogError
from process_models.loading import dump_procedure, load_procedure, parse_procedure
from simulations.interchange.read import LogEvent, read_log
from simulations.planning.fitting import (
    fit_distribution,
    fit_procedure,
    ks_statistic,
    log_durations,
    working_days_elapsed,
)


@pytest.fixture(scope="module")
def newborn():
    return load_catalog_procedure("newborn")


def test_lognormal_samples_are_fitted_as_lognormal_close_to_the_true_mean():
    """Many draws of a lognormal come back as a lognormal with nearly the same mean and sd."""
    rng = random.Random(1)
    xs = [rng.lognormvariate(math.log(5), 0.4) for _ in range(2000)]
    d = fit_distribution(xs)
    true_mean = 5 * math.exp(0.08)
    assert d.kind == "lognormal"
    assert d.mean == pytest.approx(true_mean, rel=0.05)
    assert d.sd == pytest.approx(true_mean * math.sqrt(math.expm1(0.16)), rel=0.1)
    assert "KS D=" in d.fit and "2000 observed durations" in d.fit


def test_triangular_samples_are_fitted_as_triangular():
    rng = random.Random(2)
    xs = [rng.triangular(2, 12, 4) for _ in range(3000)]
    d = fit_distribution(xs)
    assert d.kind == "triangular"
    assert (d.low, d.high) == (pytest.approx(2, abs=0.1), pytest.approx(12, abs=0.3))
    assert d.mode == pytest.approx(4, abs=0.6)


def test_samples_neither_shape_fits_fall_back_to_empirical_and_say_why():
    """Two far-apart clusters fail the KS test for both shapes."""
    xs = [1.0] * 300 + [20.0] * 300 + [1.5, 19.5]
    d = fit_distribution(xs)
    assert d.kind == "empirical"
    assert "rejected lognormal KS D=" in d.fit
    assert len(d.samples) == 200


@given(st.lists(st.floats(min_value=0, max_value=400, allow_nan=False), min_size=1, max_size=60))
@settings(max_examples=60, deadline=None)
def test_every_fit_stays_within_the_observed_range(xs):
    """Whatever the samples, the fitted distribution's location parameters (a lognormal's
    median, the geometric mean of the samples) lie between their min and max."""
    d = fit_distribution(xs)
    lo, hi = min(xs), max(xs)
    values = [v for v in (d.days, d.low, d.mode, d.high) if v is not None]
    if d.kind == "lognormal":
        values.append(d.mean / math.sqrt(1 + (d.sd / d.mean) ** 2))
    values += d.samples or []
    assert all(lo - 1e-3 <= v <= hi + 1e-3 for v in values)
    assert d.fit


def test_ks_statistic_of_the_samples_own_empirical_cdf_is_one_over_n():
    xs = [1, 2, 3, 4]
    assert ks_statistic(xs, lambda x: sum(v <= x for v in xs) / 4) == pytest.approx(0.25)


def test_working_days_elapsed_skips_the_spring_festival_and_counts_clock_time():
    start = datetime(2025, 1, 24, 9, tzinfo=SERVICE_CENTRE_TZ)
    assert working_days_elapsed(start, datetime(2025, 2, 7, 9, tzinfo=SERVICE_CENTRE_TZ)) == 5
    assert working_days_elapsed(start, start + timedelta(hours=12)) == 0.5


def test_fitted_durations_are_written_into_the_procedure_and_survive_a_round_trip(newborn):
    fitted, fits = fit_procedure(newborn, {"birth_certificate": [3, 4, 4, 6, 9],
                                           "vaccination": [0, 0, 0]})
    assert fitted.step("vaccination").duration.kind == "fixed"
    assert sorted(f.step_id for f in fits) == ["birth_certificate", "vaccination"]
    assert parse_procedure(dump_procedure(fitted)) == fitted
    assert fitted.step("maternity_benefit").duration == newborn.step("maternity_benefit").duration


def test_a_step_that_is_not_in_the_procedure_is_named_with_a_suggestion(newborn):
    with pytest.raises(EventLogError, match="no step 'vacination'.*did you mean 'vaccination'"):
        fit_procedure(newborn, {"vacination": [1, 2, 3]})


def _log(rows):
    return [LogEvent(c, a, datetime(2025, 3, 3, 9, tzinfo=SERVICE_CENTRE_TZ) + timedelta(hours=h), t,
                     line=i + 2) for i, (c, a, h, t) in enumerate(rows)]


def test_log_durations_pair_start_and_complete_and_leave_out_supplement_time(newborn):
    rows = [("1", "birth_certificate", 0, "start"), ("1", "birth_certificate", 24, "suspend"),
            ("1", "birth_certificate", 72, "resume"), ("1", "出生医学证明签发", 96, "complete")]
    assert log_durations(_log(rows), newborn) == {"birth_certificate": [2.0]}


def test_log_without_starts_times_each_step_from_the_case_previous_event(newborn):
    rows = [("1", "birth_certificate", 0, "complete"), ("1", "vaccination", 24, "complete")]
    assert log_durations(_log(rows), newborn) == {"vaccination": [1.0]}


def test_activities_matching_no_step_are_all_listed_with_suggestions(newborn):
    rows = [("1", "birth_certficate", 0, "start"), ("1", "vacination", 5, "complete"),
            ("1", "lunch", 6, "complete")]
    with pytest.raises(EventLogError, match=r"3 activities match no step of 'newborn': "
                       r"'birth_certficate' \(line 2\) \(did you mean 'birth_certificate'\?\); "
                       r"'vacination' \(line 3\) \(did you mean 'vaccination'\?\); 'lunch'"):
        log_durations(_log(rows), newborn)


def test_an_empty_log_is_an_error(newborn):
    with pytest.raises(EventLogError, match="the log holds no events"):
        log_durations([], newborn)


# --- the command ---------------------------------------------------------------------------


def _csv_log(path, rng, cases=30):
    lines = ["case_id,activity,start_timestamp,end_timestamp"]
    for i in range(cases):
        t = datetime(2025, 3, 3, 9) + timedelta(days=i)
        for step in ("birth_certificate", "household_registration"):
            end = t + timedelta(hours=rng.uniform(20, 200))
            lines.append(f"C{i},{step},{t.isoformat()},{end.isoformat()}")
            t = end
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_fit_command_writes_fitted_durations_into_the_output_procedure(run_cli, tmp_path):
    from process_models.catalog import catalog_path

    log = tmp_path / "log.csv"
    _csv_log(log, random.Random(3))
    out = tmp_path / "newborn-fitted.yaml"
    code, stdout, stderr = run_cli("fit", catalog_path("newborn"), log, "-o", out)
    assert (code, stderr) == (0, "")
    fitted = load_procedure(out)
    assert fitted.step("birth_certificate").duration.fit.endswith(")")
    assert "birth_certificate" in stdout and "30" in stdout


def test_fit_command_on_a_bad_log_writes_nothing_and_exits_2(run_cli, tmp_path):
    log = tmp_path / "log.csv"
    log.write_text("case_id,activity,timestamp\nC1,nosuchstep,2025-03-03T09:00\n",
                   encoding="utf-8")
    out = tmp_path / "out.yaml"
    code, _, stderr = run_cli("fit", "newborn", log, "-o", out)
    assert code == 2
    assert "'nosuchstep'" in stderr
    assert not out.exists()


def test_read_log_then_log_durations_reads_a_real_csv(newborn, tmp_path):
    log = tmp_path / "log.csv"
    _csv_log(log, random.Random(4), cases=5)
    durations = log_durations(read_log(log), newborn)
    assert sorted(durations) == ["birth_certificate", "household_registration"]
    assert len(durations["birth_certificate"]) == 5


def test_durations_too_small_to_state_are_not_fitted_as_a_lognormal():
    """Durations that round to zero days leave no lognormal with a zero mean behind."""
    d = fit_distribution([7.996730613266334e-212, 1.4436036724397476e-216])
    assert d.kind != "lognormal"
