"""Scenario files: levers applied in order, every mistake reported on one located line."""

import pytest

from process_models.errors import ScenarioError
from process_models.loading import parse_procedure
from simulations.planning.scenario import FigureCheck, apply_scenario, load_scenario, parse_scenario
from tests.test_reforms import SHOP


@pytest.fixture
def shop():
    return parse_procedure(SHOP)


GOOD = """\
procedure: shop
name: 开店一件事
levers:
- lever: parallelise
- lever: 告知承诺
  steps: [food]
  note: 食品经营许可 allows it
- lever: merge
  steps: [licence, food]
  id: joint
  overhead_days: 1
- lever: one_window
"""


def test_a_scenario_applies_its_levers_in_order_with_their_notes(shop):
    after, log = apply_scenario(shop, parse_scenario(GOOD, file="s.yaml"))
    assert after.step("joint").committed.days == 4
    assert after.step("food_verification").predecessors == ["joint"]
    assert sum(s.trips for s in after.steps) == 1
    assert after.form == "after"
    assert [c.lever for c in log][:3] == ["parallelise", "parallelise", "commitment"]
    assert log[2].note == "食品经营许可 allows it"


def test_a_scenario_file_loads_from_disk(shop, tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(GOOD, encoding="utf-8")
    scenario = load_scenario(path)
    assert scenario.file == str(path) and [c.lever for c in scenario.levers] == [
        "parallelise", "commitment", "merge", "one_window"]


@pytest.mark.parametrize("bad, match", [
    ("- lever: paralelise", (r"s.yaml:3: levers\[0\].lever: unknown lever 'paralelise'; known: "
                            r"parallelise, .* \(did you mean 'parallelise'\?\)")),
    ("- steps: [food]", r"s.yaml:3: levers\[0\]: each entry needs 'lever:'"),
    ("- {lever: merge, steps: [food, fire], overhead_day: 1}",
     (r"s.yaml:3: levers\[0\].overhead_day: unknown field 'overhead_day' "
     r"\(did you mean 'overhead_days'\?\)")),
    ("- lever: merge\n  steps: [food, fire]\n  overhead_days: -1",
     r"s.yaml:5: levers\[0\].overhead_days: must be at least 0, got -1"),
    ("- lever: merge\n  steps: [food]", r"s.yaml:4: levers\[0\].steps: "),
    ("- {lever: parallelise, dependencies: [food => fire]}",
     r"levers\[0\].dependencies: write a dependency as 'predecessor -> step'"),
    ("- lever: compress\n  factor: 1.5", r"s.yaml:4: levers\[0\].factor: "),
    ("- lever: compress\n  to_days: 5", (r"s.yaml:4: levers\[0\].to_days: compress sets to_days "
                                        r"to a typed number; give source: ")),
    ("- lever: merge\n  steps: [food, fire]\n  links: 2",
     r"s.yaml:5: levers\[0\].links: merge sets links to a typed number; give source: "),
])
def test_a_malformed_scenario_is_one_located_line(bad, match):
    with pytest.raises(ScenarioError, match=match) as caught:
        parse_scenario("procedure: shop\nlevers:\n" + bad + "\n", file="s.yaml")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("text, match", [
    ("levers: [", r"s.yaml:1: malformed YAML"),
    ("- lever: online", r"s.yaml:1: expected a mapping with 'levers:'"),
    ("procedure: shop\nlevers: []", r"s.yaml:2: levers: "),
    ("procedure: shop\nlever: [x]", (r"s.yaml:2: lever: unknown field 'lever' "
                                    r"\(did you mean 'levers'\?\)")),
])
def test_a_scenario_that_is_not_a_lever_list_is_refused(text, match):
    with pytest.raises(ScenarioError, match=match):
        parse_scenario(text, file="s.yaml")


@pytest.mark.parametrize("lever, match", [
    ("- lever: eliminate\n  steps: [food, fyre]",
     r"s.yaml:4: levers\[0\].steps\[1\]: unknown step 'fyre' \(did you mean 'fire'\?\)"),
    ("- lever: drop_materials\n  materials:\n  - lease\n  - plann",
     r"s.yaml:6: levers\[0\].materials\[1\]: unknown material 'plann' \(did you mean 'plan'\?\)"),
    ("- {lever: parallelise, dependencies: ['food -> fier']}",
     r"levers\[0\].dependencies\[0\]: unknown step 'fier' \(did you mean 'fire'\?\)"),
    ("- lever: merge\n  steps: [licence, sign]",
     (r"s.yaml:3: levers\[0\]: merge: cannot merge licence, sign: licence → fire → sign is a "
     r"legal chain")),
    ("- lever: commitment\n  steps: [fire]", r"levers\[0\]: commitment: step 'fire' .*告知承诺"),
    ("- {lever: parallelise, dependencies: ['fire -> sign']}",
     r"levers\[0\]: parallelise: fire → sign is a legal dependency"),
])
def test_a_scenario_that_does_not_fit_its_procedure_names_the_lever_and_line(shop, lever, match):
    scenario = parse_scenario("procedure: shop\nlevers:\n" + lever + "\n", file="s.yaml")
    with pytest.raises(ScenarioError, match=match):
        apply_scenario(shop, scenario)


def test_a_step_removed_by_an_earlier_lever_is_unknown_to_a_later_one(shop):
    text = "levers:\n- {lever: eliminate, steps: [fire]}\n- {lever: filing, steps: [fire]}\n"
    with pytest.raises(ScenarioError, match=r"levers\[1\].steps\[0\]: unknown step 'fire'"):
        apply_scenario(shop, parse_scenario(text))


def test_a_scenario_for_another_procedure_is_refused(shop):
    scenario = parse_scenario("procedure: newborn\nlevers: [{lever: online}]", file="s.yaml")
    with pytest.raises(ScenarioError, match="s.yaml: procedure: this scenario is for procedure "
                                            "'newborn', not 'shop'"):
        apply_scenario(shop, scenario)


def test_a_missing_scenario_file_is_one_line(tmp_path):
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario(tmp_path / "nope.yaml")


LONG_CHAIN = """\
id: permits
name: 两证
departments: [{id: d, name: 部门}]
steps:
- {id: a, name: A, department: d, committed: {days: 3000}}
- {id: b, name: B, department: d, committed: {days: 3000}, depends_on: [a]}
- {id: b%s, name: C, department: d, committed: {days: 1}, commitment_allowed: true}
""" % ("x" * 195)


@pytest.mark.parametrize("lever, match", [
    ("{lever: merge, steps: [a, b], id: ab}",
     (r"s.yaml:2: levers\[0\]: merge: the step it makes is not valid: days: must be at most "
      r"3650, got 6000.0")),
    ("{lever: commitment, steps: [b%s]}" % ("x" * 195),
     (r"levers\[0\]: commitment: the step it makes is not valid: id: 'bxxx.*\(209 characters\) "
      r"is not an id")),
    ("{lever: merge, steps: [a, b], id: ab, overhead_days: 1.0e+308}",
     r"s.yaml:2: levers\[0\].overhead_days: must be at most 3650"),
])
def test_a_lever_making_a_step_beyond_the_bounds_is_one_scenario_error(lever, match):
    """A joint limit past MAX_DAYS or a generated id past 200 characters names the lever."""
    scenario = "levers:\n- " + lever + "\n"
    with pytest.raises(ScenarioError, match=match):
        apply_scenario(parse_procedure(LONG_CHAIN), parse_scenario(scenario, file="s.yaml"))


def test_a_sourced_target_lever_is_kept_and_named_in_the_change_log(shop):
    """A target lever with ``source:`` applies; its changes carry the source, and the
    scenario without targets leaves it out."""
    scenario = parse_scenario("levers:\n- lever: compress\n  factor: 0.5\n"
                              "  source: 国办发〔2018〕32号\n- lever: online\n")
    _, log = apply_scenario(shop, scenario)
    assert {c.source for c in log if c.lever == "compress"} == {"国办发〔2018〕32号"}
    assert "[source: 国办发〔2018〕32号]" in str(log[0])
    assert [c.lever for c in scenario.mechanisms_only().levers] == ["online"]


@pytest.mark.parametrize(("kind", "computed", "within"), [
    ("ceiling", 3, True), ("ceiling", 5, True), ("ceiling", 5.5, False),
    ("value", 3, False), ("value", 5.4, True), ("value", 5.6, False),
])
def test_ceilings_are_one_sided_and_values_two_sided(kind, computed, within):
    """A ceiling (≤5) is met by any figure at or below it; a value within ±tolerance."""
    check = FigureCheck("elapsed_working_days", None, 10, 5, computed, 0.1, kind=kind)
    assert check.within is within
    assert check.reproduced_by == ("mechanism" if within else "none")


@pytest.mark.parametrize(("mechanism_after", "defined", "reproduced_by"), [
    (5, False, "mechanism"), (5, True, "definition"), (9, False, "sourced_limit"),
])
def test_a_figure_met_only_with_target_levers_is_reproduced_by_a_sourced_limit(
        mechanism_after, defined, reproduced_by):
    check = FigureCheck("elapsed_working_days", None, 10, 5, 5, 0.1,
                        mechanism_after=mechanism_after, defined=defined)
    assert check.reproduced_by == reproduced_by
