"""Monte-Carlo risk: distributions, seeds, common random numbers, agreement with CPM."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from process_models.loading import load_procedure
from process_models.procedure import (
    Department,
    Dependency,
    Distribution,
    Limit,
    Procedure,
    Stage,
    Step,
)
from simulations.planning.cpm import schedule, step_duration_working_days
from simulations.planning.montecarlo import compare_risk, quantile_table, simulate
from tests.strategies import procedures


def step(sid: str, days: float, *after, duration: Distribution | None = None) -> Step:
    return Step(id=sid, name=sid, department="x", committed=Limit(days=days),
                depends_on=list(after), duration=duration)


def procedure(*steps: Step, stages=()) -> Procedure:
    return Procedure(id="mc", name="风险", departments=[Department(id="x", name="X")],
                     steps=list(steps), stages=list(stages))


TRI = Distribution(kind="triangular", low=2, mode=4, high=9)
RISKY = procedure(step("a", 3, duration=TRI), step("b", 5, "a", duration=TRI),
                  step("c", 6, "a", duration=Distribution(kind="lognormal", mean=6, sd=2)),
                  step("d", 1, "b", "c"))


ALPHA, BETA = 1 + 4 * 2 / 7, 1 + 4 * 5 / 7


@pytest.mark.parametrize(("dist", "mean", "sd"), [
    (Distribution(kind="triangular", low=2, mode=4, high=9), 5.0, (39 / 18) ** 0.5),
    (Distribution(kind="pert", low=2, mode=4, high=9), (2 + 16 + 9) / 6,
     7 * (ALPHA * BETA / ((ALPHA + BETA) ** 2 * (ALPHA + BETA + 1))) ** 0.5),
    (Distribution(kind="lognormal", mean=6, sd=2), 6.0, 2.0),
    (Distribution(kind="empirical", samples=[1, 2, 2, 7]), 3.0, 5.5 ** 0.5),
    (Distribution(kind="fixed", days=4), 4.0, 0.0),
])
def test_quantile_tables_keep_each_distributions_mean_and_spread(dist, mean, sd):
    """Triangular sd = sqrt((a²+b²+c²−ab−ac−bc)/18); PERT mean (low + 4·mode + high)/6 and
    sd (high − low)·sqrt(αβ/((α+β)²(α+β+1))), α = 1 + 4·2/7, β = 1 + 4·5/7."""
    table = quantile_table(dist)
    assert table.mean() == pytest.approx(mean, rel=2e-3)
    assert table.std() == pytest.approx(sd, rel=2e-3, abs=1e-9)
    assert (np.diff(table) >= 0).all()


def test_the_same_seed_gives_the_same_runs_and_another_seed_other_runs():
    a = simulate(RISKY, runs=5000, seed=11)
    b = simulate(RISKY, runs=5000, seed=11)
    c = simulate(RISKY, runs=5000, seed=12)
    assert np.array_equal(a.elapsed_working_days, b.elapsed_working_days)
    assert not np.array_equal(a.elapsed_working_days, c.elapsed_working_days)


def test_runs_not_divisible_by_the_chunk_or_by_four_keep_their_stream():
    """Replication i draws the same numbers whatever the total number of runs."""
    short = simulate(RISKY, runs=4099, seed=5).elapsed_working_days
    longer = simulate(RISKY, runs=20_003, seed=5).elapsed_working_days
    assert np.array_equal(short[:4096], longer[:4096])
    assert len(short) == 4099


def test_steps_without_a_distribution_fall_back_to_their_committed_duration_and_are_named():
    r = simulate(RISKY, runs=1000, seed=1)
    assert r.fallback_steps == ["d"]
    assert r.elapsed_working_days.min() >= 2 + 2 + 1


def test_quantiles_and_on_time_probability_follow_their_definitions():
    r = simulate(RISKY, runs=20_000, seed=2)
    e = r.elapsed_working_days
    assert r.limit_working_days == schedule(RISKY).elapsed_working_days == 3 + 6 + 1
    assert r.p50 == pytest.approx(np.quantile(e, 0.5))
    assert r.p90 == pytest.approx(np.quantile(e, 0.9)) and r.p50 <= r.p90 <= r.p95
    assert r.on_time_probability == pytest.approx((e <= 10).mean())
    assert simulate(RISKY, runs=20_000, seed=2, limit_working_days=100).on_time_probability == 1


def test_criticality_is_the_share_of_runs_in_which_a_step_is_critical():
    """a and d are on every critical path; b or c decides, so their indices add up to one
    (ties have probability zero with continuous durations)."""
    r = simulate(RISKY, runs=20_000, seed=3)
    assert r.criticality["a"] == r.criticality["d"] == 1.0
    assert r.criticality["b"] + r.criticality["c"] == pytest.approx(1.0, abs=1e-3)
    assert 0.2 < r.criticality["c"] < 0.8


def test_an_any_join_stage_starts_its_successor_when_the_first_milestone_finishes():
    """Streams belong to step ids, so a and b draw the same in every procedure: each run
    of the any-join takes max(a, b, min(a, b) + 1)."""
    p = procedure(step("a", 3, duration=TRI), step("b", 3, duration=TRI), step("c", 1, "g"),
                  stages=(Stage(id="g", name="阶段", milestones=["a", "b"], join="any"),))
    a = simulate(procedure(step("a", 3, duration=TRI)), runs=8000, seed=4).elapsed_working_days
    b = simulate(procedure(step("b", 3, duration=TRI)), runs=8000, seed=4).elapsed_working_days
    r = simulate(p, runs=8000, seed=4)
    assert np.array_equal(r.elapsed_working_days, np.maximum(np.maximum(a, b), np.minimum(a, b) + 1))


def test_common_random_numbers_make_shared_steps_draw_alike():
    """The after procedure keeps a, b, d and drops c: every run it is no slower."""
    after = procedure(*(s for s in RISKY.steps if s.id != "c"))
    after = after.model_copy(update={"steps": [
        s if s.id != "d" else s.model_copy(update={"depends_on": [Dependency(step="b")]})
        for s in after.steps]})
    cmp = compare_risk(RISKY, after, runs=10_000, seed=9)
    saving = cmp.before.elapsed_working_days - cmp.after.elapsed_working_days
    assert (saving >= -1e-9).all()
    assert 0 < cmp.faster_probability < 1
    assert cmp.saving_p50 == pytest.approx(np.quantile(saving, 0.5), abs=1e-9)


def test_a_procedure_compared_with_itself_saves_exactly_nothing():
    cmp = compare_risk(RISKY, RISKY, runs=3000, seed=1)
    assert cmp.saving_mean == cmp.saving_p90 == cmp.faster_probability == 0


def test_progress_is_reported_after_each_chunk():
    seen = []
    simulate(RISKY, runs=20_000, seed=0, progress=seen.append)
    assert seen[-1] == 20_000 and seen == sorted(seen) and len(seen) > 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(procedures(with_metadata=False, with_distributions=False))
def test_monte_carlo_with_fixed_durations_equals_the_critical_path(proc):
    """Every replication of fixed durations is the CPM schedule; criticality is 1 on
    critical steps and 0 elsewhere."""
    fixed = proc.model_copy(update={"steps": [
        s.model_copy(update={"duration": Distribution(kind="fixed",
                                                      days=step_duration_working_days(s))})
        if i % 2 else s for i, s in enumerate(proc.steps)]})
    s = schedule(fixed)
    r = simulate(fixed, runs=9, seed=0)
    assert r.elapsed_working_days == pytest.approx(np.full(9, s.elapsed_working_days), abs=1e-9)
    critical = set(s.critical_steps)
    assert r.criticality == {k: float(k in critical) for k in r.criticality}


def test_a_procedure_of_follow_up_checks_only_takes_no_time():
    p = procedure(step("a", 3).model_copy(update={"follow_up": True}))
    r = simulate(p, runs=10)
    assert r.p95 == 0 and r.criticality == {} and schedule(p).critical_paths == []


def test_every_catalog_procedure_replicates(catalog_file):
    proc = load_procedure(catalog_file)
    r = simulate(proc, runs=2000, seed=0)
    assert r.p50 <= r.p90 <= r.p95
    assert 0 <= r.on_time_probability <= 1
    assert set(r.criticality) == {s.id for s in proc.steps if not s.follow_up}
