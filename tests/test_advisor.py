"""The reform advisor ranks single levers by days saved and stacks them greedily."""

import re

import pytest

from process_models.catalog import catalog_ids, load_catalog_procedure
from process_models.errors import ScenarioError
from process_models.loading import parse_procedure
from process_models.procedure import Basis, Distribution
from simulations.planning.advisor import advise, candidates
from simulations.planning.cpm import critical_path_length
from simulations.planning.scenario import LEVERS
from tests.test_reforms import SHOP


@pytest.fixture
def shop():
    return parse_procedure(SHOP)


def test_single_levers_are_ranked_by_working_days_saved(shop):
    """shop runs assessment 15 → food 10 (+2 lag) → fire 10 → sign 5 = 42 days; without
    food → fire it runs 25 (assessment → food), without assessment → food 30. Merging food
    and fire saves as many days as the latter and a trip too, so it ranks above it."""
    advice = advise(shop)
    assert advice.elapsed_working_days == 42
    saved = [o.saved_working_days for o in advice.options]
    assert saved == sorted(saved, reverse=True)
    top = [(o.lever, o.subject, o.saved_working_days) for o in advice.options[:2]]
    assert top == [("parallelise", "food → fire", 17.0), ("merge", "food + fire", 12.0)]
    assert advice.options[1].saved_trips == 2


def test_each_saving_is_what_applying_the_lever_alone_gives(shop):
    for option in advise(shop).options:
        after, _ = LEVERS[option.lever](shop, **option.args)
        assert critical_path_length(shop) - critical_path_length(after) == pytest.approx(
            option.saved_working_days)


def test_closed_levers_say_why_without_claiming_a_law_nobody_entered(shop):
    """A legal dependency keeps its order, called the law's only with a source; a step the
    model does not mark as allowing 告知承诺 is "not marked as allowed in this model (no
    source)", never "not allowed by law"."""
    blocked = {(b.lever, b.subject): b for b in advise(shop).blocked}
    assert blocked[("parallelise", "fire → sign")].reason == "legal_dependency_unsourced"
    fire = blocked[("commitment", "fire")]
    assert (fire.reason, fire.source, fire.subject_name) == (
        "commitment_unmarked", None, "消防安全检查")
    assert ("commitment", "food") not in blocked


def test_a_legal_order_with_a_source_is_called_the_laws_and_names_it(shop):
    sign = shop.step("sign")
    sign.depends_on[0].basis, sign.depends_on[0].source = Basis.sourced, "城乡规划法 第40条"
    blocked = {(b.lever, b.subject): b for b in advise(shop).blocked}
    legal = blocked[("parallelise", "fire → sign")]
    assert (legal.reason, legal.source) == ("legal_dependency", "城乡规划法 第40条")


def test_a_high_risk_item_is_refused_by_its_sourced_rule(shop):
    """国办发〔2020〕42号 keeps 告知承诺 away from high-risk items: the advisor names the rule,
    never offers the lever, and the lever refuses the step."""
    risky = shop.model_copy(deep=True)
    risky.step("food").risk = "high"
    advice = advise(risky)
    food = next(b for b in advice.blocked if (b.lever, b.subject) == ("commitment", "food"))
    assert (food.reason, food.source) == ("commitment_not_allowed", "国办发〔2020〕42号")
    assert ("commitment", "food") not in {(lever, s) for lever, s, _ in candidates(risky)}
    with pytest.raises(ScenarioError, match=r"'food' \(食品经营许可\) cannot switch to 告知承诺: "
                                            r"国办发〔2020〕42号 excludes high-risk items"):
        LEVERS["commitment"](risky, steps=["food"])


def test_savings_from_a_practice_dependency_are_labelled_as_the_modelled_order(shop):
    """Dropping a practice dependency saves only what the modeller's chosen serial order
    added; 告知承诺 saves by its own mechanism."""
    marks = {(o.lever, o.subject): o.from_modelled_order for o in advise(shop).options}
    assert marks[("parallelise", "food → fire")] and marks[("merge", "food + fire")]
    assert not marks[("commitment", "food")]
    plan = advise(shop).plan
    assert all(p.from_modelled_order == (p.lever != "commitment") for p in plan)


@pytest.mark.parametrize("procedure_id", catalog_ids())
def test_the_advisor_never_proposes_a_target_lever(procedure_id):
    """compress sets a limit to a typed number, which needs a published source; the advisor
    offers mechanisms only, so its plan is not padded with one-day cuts."""
    advice = advise(load_catalog_procedure(procedure_id))
    levers = {o.lever for o in advice.options} | {p.lever for p in advice.plan}
    assert "compress" not in levers


def test_human_subjects_are_step_names(shop):
    advice = advise(shop)
    for item in [*advice.options, *advice.blocked, *advice.plan]:
        assert not {s.id for s in shop.steps} & set(re.split(r" → | \+ ", item.subject_name))


def test_legal_dependencies_are_never_offered(shop):
    offered = {subject for lever, subject, _ in candidates(shop) if lever == "parallelise"}
    assert offered == {"assessment → food", "food → fire"}


def test_the_greedy_plan_stacks_levers_until_nothing_saves_a_day(shop):
    advice = advise(shop)
    assert advice.plan and all(p.saved_working_days > 0 for p in advice.plan[-1:])
    elapsed = [advice.elapsed_working_days] + [p.elapsed_after for p in advice.plan]
    assert elapsed == sorted(elapsed, reverse=True)
    assert advice.plan_elapsed_working_days == elapsed[-1]
    assert critical_path_length(advice.plan_procedure) == elapsed[-1]
    assert len({(p.lever, p.subject) for p in advice.plan}) == len(advice.plan)


def test_the_plan_breaks_a_tie_between_critical_paths():
    """Two 10-day chains a→b and c→d, both by practice: dropping one saves nothing alone,
    dropping both saves 5; the plan takes both."""
    proc = parse_procedure("""
id: tie
name: 并列
departments: [{id: x, name: X}]
steps:
- {id: a, name: A, department: x, committed: {days: 5}}
- {id: b, name: B, department: x, committed: {days: 5}, depends_on: [{step: a, kind: practice}]}
- {id: c, name: C, department: x, committed: {days: 5}}
- {id: d, name: D, department: x, committed: {days: 5}, depends_on: [{step: c, kind: practice}]}
""")
    advice = advise(proc)
    assert not any(o.saved_working_days > 0 for o in advice.options)
    assert [p.lever for p in advice.plan[:2]] == ["parallelise", "parallelise"]
    assert advice.plan[1].elapsed_after == 5


def test_p90_savings_appear_when_steps_carry_distributions(shop):
    risky = shop.model_copy(deep=True)
    risky.step("food").duration = Distribution(kind="triangular", low=5, mode=10, high=30)
    advice = advise(risky, runs=2000, seed=3)
    assert advice.p90 is not None
    assert all(o.saved_p90 is not None for o in advice.options)
    assert advise(shop, runs=2000).p90 is None


def test_advice_as_json_keeps_its_keys(shop):
    data = advise(shop).as_dict()
    assert list(data) == ["procedure_id", "limits", "elapsed_working_days", "p90", "options",
                          "blocked", "plan", "plan_elapsed_working_days"]
