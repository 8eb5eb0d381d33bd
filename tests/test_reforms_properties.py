"""Properties every lever keeps, on random procedures."""

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from process_models.errors import ScenarioError
from process_models.loading import check_procedure, dump_procedure, parse_procedure
from simulations.planning import reforms
from simulations.planning.cpm import critical_path_length
from simulations.planning.scenario import LEVERS, TARGET_ARGUMENTS, LeverCall, Scenario, reform
from tests.strategies import procedures

FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: The refusals a lever may give on a random procedure, by lever; anything else is a bug.
EXPECTED_REFUSALS = {
    "merge": r"cannot merge .* would wait for itself",
    "commitment": r"(is not marked as allowing 告知承诺 in this model \(no source\)|cannot "
                  r"switch to 告知承诺: .*)",
    "eliminate": r"leaves no step",
    "zone_assessment": r"leaves no step",
}


@st.composite
def lever_calls(draw, proc):
    """A lever name and arguments that name steps and materials of ``proc``."""
    step_ids = [s.id for s in proc.steps]
    material_ids = [m.id for m in proc.materials]
    some_steps = st.lists(st.sampled_from(step_ids), min_size=1, unique=True)
    options = {
        "parallelise": st.fixed_dictionaries({}, optional={"steps": some_steps}),
        "eliminate": st.fixed_dictionaries({"steps": some_steps}),
        "filing": st.fixed_dictionaries({"steps": some_steps}),
        "commitment": st.fixed_dictionaries({"steps": some_steps}),
        "defer_materials": st.just({}),
        "share_data": st.just({}),
        "compress": st.one_of(
            st.fixed_dictionaries({"factor": st.sampled_from([0, 0.5, 0.8, 1])}),
            st.fixed_dictionaries({"by_days": st.sampled_from([0.5, 1, 5])},
                                  optional={"steps": some_steps}),
        ),
        "one_window": st.just({}),
        "online": st.just({}),
        "zone_assessment": st.fixed_dictionaries({"steps": some_steps}),
    }
    if len(step_ids) >= 2:
        options["merge"] = st.fixed_dictionaries(
            {"steps": st.lists(st.sampled_from(step_ids), min_size=2, unique=True)})
    if material_ids:
        options["drop_materials"] = st.fixed_dictionaries(
            {"materials": st.lists(st.sampled_from(material_ids), min_size=1, unique=True)})
    name = draw(st.sampled_from(sorted(options)))
    return name, draw(options[name])


def apply_or_expected_refusal(proc, name, kwargs):
    """The lever's result, or ``None`` when it refused for a reason it is allowed to give."""
    try:
        return LEVERS[name](proc, **kwargs)
    except ScenarioError as e:
        assert name in EXPECTED_REFUSALS and re.search(EXPECTED_REFUSALS[name], str(e)), str(e)
        return None


@FAST
@given(procedures(max_steps=10, with_metadata=False), st.sampled_from(["committed", "statutory"]))
def test_parallelise_never_lengthens_the_critical_path(proc, limits):
    after, _ = reforms.parallelise(proc)
    assert critical_path_length(after, limits=limits) <= critical_path_length(proc, limits=limits)


@FAST
@given(st.data())
def test_every_lever_returns_a_valid_procedure_and_leaves_its_input_unchanged(data):
    proc = data.draw(procedures(max_steps=8, with_metadata=False))
    name, kwargs = data.draw(lever_calls(proc))
    untouched = proc.model_copy(deep=True)
    result = apply_or_expected_refusal(proc, name, kwargs)
    assert proc == untouched
    if result is not None:
        after, log = result
        assert check_procedure(after) is after
        assert parse_procedure(dump_procedure(after)) == after
        assert all(c.lever == name for c in log)


@FAST
@given(st.data())
def test_no_lever_but_merge_lengthens_the_critical_path(data):
    """A merge may: its members all finish when the longest does. Every other lever only
    removes waits, shortens limits or changes what is counted."""
    proc = data.draw(procedures(max_steps=8, with_metadata=False))
    name, kwargs = data.draw(lever_calls(proc).filter(lambda call: call[0] != "merge"))
    result = apply_or_expected_refusal(proc, name, kwargs)
    if result is not None:
        assert critical_path_length(result[0]) <= critical_path_length(proc) + 1e-9


@pytest.mark.parametrize("name", sorted(EXPECTED_REFUSALS))
def test_expected_refusals_name_real_levers(name):
    assert name in LEVERS


@FAST
@given(st.data())
def test_attributions_sum_to_the_saved_elapsed_days(data):
    """Sequential attribution: applying the levers one at a time, each lever kind's share is
    the change of the critical-path length it makes, so the shares sum to before − after
    exactly (working-day procedures: every time is a multiple of half a day)."""
    proc = data.draw(procedures(max_steps=8, with_metadata=False, with_calendar_units=False))
    calls, current = [], proc
    for i in range(data.draw(st.integers(1, 5))):
        name, kwargs = data.draw(lever_calls(current))
        result = apply_or_expected_refusal(current, name, kwargs)
        if result is not None:
            current = result[0]
            source = "test" if name in TARGET_ARGUMENTS else None
            calls.append(LeverCall(lever=name, args=kwargs, source=source, index=i))
    r = reform(proc, Scenario(levers=calls))
    elapsed = r.comparison.elapsed_working_days
    assert list(r.attribution) == list(dict.fromkeys(c.lever for c in calls))
    assert sum(r.attribution.values()) == elapsed.before - elapsed.after
