"""Reform levers: each one changes exactly what it says, refuses what the law forbids,
returns a valid procedure and leaves its input alone."""

import pytest

from process_models.errors import ScenarioError
from process_models.loading import check_procedure, dump_procedure, parse_procedure
from process_models.procedure import DependencyKind, Provider, StepKind
from simulations.planning import applicant_levers, reforms
from simulations.planning.cpm import critical_path_length, schedule
from simulations.planning.scenario import LEVERS

SHOP = """
id: shop
name: 开店
departments:
- {id: samr, name: 市场监管局}
- {id: fire, name: 消防救援机构}
- {id: city, name: 城市管理局}
- {id: zone, name: 开发区管委会}
materials:
- {id: id_card, name: 身份证, held_by: samr}
- {id: lease, name: 租赁合同}
- {id: licence_copy, name: 营业执照, provider: step, from_step: licence}
- {id: plan, name: 平面图, key: false}
- {id: report, name: 环评报告, provider: step, from_step: assessment, key: false}
- {id: rules, name: 管理制度, count: 3}
steps:
- {id: licence, name: 营业执照, department: samr, committed: {days: 3}, materials: [id_card, lease],
   trips: 1}
- {id: assessment, name: 环境影响评价, department: zone, committed: {days: 10},
   untimed: [{kind: 专家评审, days: 5}], materials: [plan]}
- id: food
  name: 食品经营许可
  department: samr
  statutory: {days: 20}
  committed: {days: 10}
  depends_on: [licence, {step: assessment, kind: practice}]
  materials: [licence_copy, plan, report, rules]
  trips: 2
  commitment_allowed: true
- id: fire
  name: 消防安全检查
  department: fire
  committed: {days: 10}
  depends_on: [licence, {step: food, kind: practice, lag: {days: 2}}]
  materials: [licence_copy, lease, plan]
  trips: 1
- {id: sign, name: 户外招牌, department: city, committed: {days: 5}, depends_on: [fire], trips: 1}
"""


@pytest.fixture
def shop():
    return parse_procedure(SHOP)


def deps(proc, step_id):
    return {d.step: d.kind.value for d in proc.step(step_id).depends_on}


def test_parallelise_drops_every_practice_dependency_and_keeps_the_legal_ones(shop):
    after, log = reforms.parallelise(shop)
    assert deps(after, "food") == {"licence": "legal"}
    assert deps(after, "fire") == {"licence": "legal"}
    assert deps(after, "sign") == {"fire": "legal"}
    assert [c.subject for c in log] == ["assessment → food", "food → fire"]


def test_parallelise_can_be_limited_to_named_steps_or_dependencies(shop):
    only_fire, _ = reforms.parallelise(shop, steps=["fire"])
    assert deps(only_fire, "food") == {"licence": "legal", "assessment": "practice"}
    assert deps(only_fire, "fire") == {"licence": "legal"}
    one_pair, _ = reforms.parallelise(shop, dependencies=[("assessment", "food")])
    assert deps(one_pair, "fire") == {"licence": "legal", "food": "practice"}


def test_parallelising_a_named_legal_dependency_is_refused(shop):
    with pytest.raises(ScenarioError, match="fire → sign is a legal dependency"):
        reforms.parallelise(shop, dependencies=[("fire", "sign")])


def test_parallelise_shortens_the_critical_path(shop):
    after, _ = reforms.parallelise(shop)
    assert critical_path_length(shop) == 15 + 10 + 2 + 10 + 5
    assert critical_path_length(after) == 18


def test_merge_lasts_as_long_as_the_longest_member_plus_overhead(shop):
    after, log = reforms.merge(shop, ["food", "fire"], id="joint", overhead_days=1)
    joint = after.step("joint")
    assert joint.committed.days == 11
    assert joint.materials == ["licence_copy", "plan", "report", "rules", "lease"]
    assert joint.trips == 1
    assert deps(after, "joint") == {"licence": "legal", "assessment": "practice"}
    assert deps(after, "sign") == {"joint": "legal"}
    assert joint.kind is StepKind.joint
    assert "food" not in {s.id for s in after.steps}
    assert (log[0].what, log[0].values["steps"], log[0].values["overhead"]) == (
        "merged_longest", ["food", "fire"], 1)


def test_merged_members_that_legally_depend_on_each_other_last_their_chain(shop):
    """A joint review cannot skip an order the law imposes between its members."""
    after, _ = reforms.merge(shop, ["licence", "food"], id="joint")
    assert after.step("joint").committed.days == 13
    assert after.step("joint").untimed == []


def test_merge_redirects_materials_produced_by_a_member(shop):
    after, _ = reforms.merge(shop, ["licence", "assessment"], id="joint")
    assert after.material("licence_copy").from_step == "joint"
    assert after.material("report").from_step == "joint"


def test_merge_across_a_legal_chain_through_another_step_is_refused_naming_the_chain(shop):
    with pytest.raises(ScenarioError,
                       match="cannot merge licence, sign: licence → fire → sign is a legal chain"):
        reforms.merge(shop, ["licence", "sign"])


def test_merge_across_a_practice_chain_suggests_parallelising_first(shop):
    with pytest.raises(ScenarioError, match="food → fire → sign is a chain.*parallelise"):
        reforms.merge(shop, ["food", "sign"])
    after, _ = reforms.parallelise(shop)
    merged, _ = reforms.merge(after, ["food", "sign"], id="joint")
    assert merged.step("joint").committed.days == 10


@pytest.mark.parametrize("steps, match", [
    (["food"], "at least two steps"),
    (["food", "fyre"], "no step 'fyre' \\(did you mean 'fire'\\?\\)"),
])
def test_merge_needs_two_known_steps(shop, steps, match):
    with pytest.raises(ScenarioError, match=match):
        reforms.merge(shop, steps)


def test_eliminated_step_passes_its_waits_on_to_its_dependents(shop):
    """fire waited for food (practice, lag 2), food for assessment (practice): fire now waits
    for assessment by practice with the lag, and still for licence by law."""
    after, _ = reforms.eliminate(shop, ["food"])
    fire = after.step("fire")
    assert deps(after, "fire") == {"licence": "legal", "assessment": "practice"}
    assert next(d for d in fire.depends_on if d.step == "assessment").lag.days == 2


def test_eliminated_step_no_longer_asks_for_what_it_alone_produced(shop):
    after, _ = reforms.eliminate(shop, ["licence"])
    assert "licence_copy" not in {m.id for m in after.materials}
    assert "licence_copy" not in after.step("fire").materials


def test_a_filing_is_an_immediate_step_of_zero_days(shop):
    after, _ = reforms.filing(shop, ["fire"])
    fire = after.step("fire")
    assert (fire.kind, fire.committed.days, fire.statutory) == (StepKind.immediate, 0, None)
    assert deps(after, "sign") == {"fire": "legal"}


@pytest.mark.parametrize(("allowed", "why"), [
    (None, r"is not marked as allowing 告知承诺 in this model \(no source\)"),
    (False, r"cannot switch to 告知承诺: this model does not allow it here")])
def test_commitment_where_not_allowed_names_the_step_and_whether_a_rule_forbids_it(
        shop, allowed, why):
    """告知承诺 is refused both where a rule forbids it and where nothing says it is allowed,
    and the message tells the two apart without citing a law nobody entered."""
    fire = shop.step("fire").model_copy(update={"commitment_allowed": allowed})
    shop = shop.model_copy(update={"steps": [fire if s.id == "fire" else s for s in shop.steps]})
    with pytest.raises(ScenarioError, match=f"step 'fire' \\(消防安全检查\\) {why}"):
        applicant_levers.commitment(shop, ["fire"])


def test_commitment_decides_on_the_spot_and_verifies_off_the_applicants_path(shop):
    """The 20-day check would end on day 23, past everything else (day 18), if it counted."""
    parallel, _ = reforms.parallelise(shop)
    after, _ = applicant_levers.commitment(parallel, ["food"], verification_days=20)
    food, check = after.step("food"), after.step("food_verification")
    assert (food.kind, food.committed.days, food.statutory.days) == (StepKind.immediate, 0, 0)
    assert check.follow_up and check.committed.days == 20 and check.predecessors == ["food"]
    assert not any("food_verification" in s.predecessors for s in after.steps)
    timing = schedule(after)
    assert timing.earliest_finish["food"] == 3
    assert "food_verification" not in timing.critical_steps
    assert timing.elapsed_working_days == 18


def test_commitment_letter_replaces_the_named_proofs(shop):
    after, _ = applicant_levers.commitment(shop, ["food"], replaces=["rules"])
    assert "rules" not in after.step("food").materials
    assert "rules" not in {m.id for m in after.materials}
    with pytest.raises(ScenarioError, match="material 'id_card' is not asked for by food"):
        applicant_levers.commitment(shop, ["food"], replaces=["id_card"])


def test_deferred_non_key_material_no_longer_holds_the_step_back(shop):
    """food waits for assessment only for its report, a non-key material: 容缺 drops the wait.
    It still waits for the licence, whose copy is key."""
    after, log = applicant_levers.defer_materials(shop)
    assert deps(after, "food") == {"licence": "legal"}
    assert [c.subject for c in log] == ["assessment → food"]


def test_deferring_keeps_a_legal_order_but_drops_its_material_wait_lag(shop):
    legal = parse_procedure(SHOP.replace("{step: assessment, kind: practice}",
                                         "{step: assessment, lag: {days: 4}}"))
    after, _ = applicant_levers.defer_materials(legal)
    dep = next(d for d in after.step("food").depends_on if d.step == "assessment")
    assert dep.kind is DependencyKind.legal and dep.lag is None


def test_shared_materials_leave_the_applicants_list(shop):
    after, _ = applicant_levers.share_data(shop)
    assert after.material("id_card").provider is Provider.data_sharing
    named, _ = applicant_levers.share_data(shop, ["licence_copy"])
    assert named.material("licence_copy").provider is Provider.data_sharing
    assert named.material("licence_copy").from_step == "licence"


def test_dropped_materials_leave_every_step(shop):
    after, _ = applicant_levers.drop_materials(shop, ["plan"])
    assert all("plan" not in s.materials for s in after.steps)
    with pytest.raises(ScenarioError, match="no material 'plann' \\(did you mean 'plan'\\?\\)"):
        applicant_levers.drop_materials(shop, ["plann"])


@pytest.mark.parametrize("kwargs, food_days, licence_days", [
    ({"factor": 0.5}, 5, 1.5),
    ({"factor": 0.3}, 3, 1),
    ({"to_days": 4}, 4, 3),
    ({"by_days": 4}, 6, 0),
    ({"by_days": 1, "steps": ["food"]}, 9, 3),
])
def test_compress_cuts_committed_limits_and_never_raises_them(shop, kwargs, food_days, licence_days):
    after, _ = reforms.compress(shop, **kwargs)
    assert after.step("food").committed.days == food_days
    assert after.step("licence").committed.days == licence_days
    assert after.step("food").statutory.days == 20


@pytest.mark.parametrize("kwargs", [{}, {"factor": 0.5, "to_days": 1}, {"factor": 2}])
def test_compress_needs_exactly_one_sensible_amount(shop, kwargs):
    with pytest.raises(ScenarioError, match="compress"):
        reforms.compress(shop, **kwargs)


def test_one_window_makes_every_trip_one_and_online_makes_none(shop):
    window, _ = applicant_levers.one_window(shop)
    assert sum(s.trips for s in window.steps) == 1
    assert {s.window for s in window.steps} == {"综合窗口"}
    web, log = applicant_levers.online(shop)
    assert sum(s.trips for s in web.steps) == 0
    assert (log[0].what, log[0].values) == ("online", {"before": 5})


def test_zone_assessment_leaves_the_procedure_and_its_report_comes_by_data_sharing(shop):
    after, _ = reforms.zone_assessment(shop, ["assessment"])
    assert "assessment" not in {s.id for s in after.steps}
    report = after.material("report")
    assert (report.provider, report.held_by) == (Provider.data_sharing, "zone")
    assert deps(after, "food") == {"licence": "legal"}


@pytest.mark.parametrize("days", [None, 4.0])
def test_intermediary_time_waits_the_applicant_but_not_the_approval_clock(shop, days):
    """Moved (no days) or added, the intermediary's time is an untimed part with a basis:
    the step's duration gains the added days, the committed limit keeps none of them."""
    from simulations.planning.cpm import step_duration_working_days

    before = shop.step("sign")
    after, log = reforms.intermediary(shop, ["sign"], kind="测绘", days=days)
    step = after.step("sign")
    part = step.untimed[-1]
    assert part.kind == "中介服务: 测绘" and part.basis is not None and len(log) == 1
    if days is None:
        assert (step.committed.days, part.days) == (0, before.committed.days)
    else:
        assert (step.committed, part.days) == (before.committed, days)
    assert step_duration_working_days(step) == step_duration_working_days(before) + (days or 0)


def test_a_moved_limit_and_a_joint_review_say_so_in_both_languages():
    """The notes a lever writes read Chinese, with their English in ``note_en``: a limit
    moved to an intermediary does not keep the English of the note it had."""
    from api.names import note_in
    from process_models.catalog import load_catalog_procedure

    restaurant = load_catalog_procedure("restaurant")
    moved, _ = reforms.intermediary(restaurant, ["health_certificate"], kind="体检机构")
    limit = moved.step("health_certificate").committed
    assert (note_in(limit, "zh"), note_in(limit, "en")) == (
        "移入中介服务", "moved to the intermediary service")
    joint, _ = reforms.merge(restaurant, ["food_licence", "signboard"], id="bundle")
    assert (note_in(joint.step("bundle"), "zh"), note_in(joint.step("bundle"), "en")) == (
        "联审：食品经营许可 (餐饮服务)、户外招牌设施设置",
        "joint review: Food business licence, Outdoor signboard")


LEVER_CALLS = [
    ("parallelise", {}),
    ("merge", {"steps": ["food", "fire"]}),
    ("eliminate", {"steps": ["assessment"]}),
    ("filing", {"steps": ["sign"]}),
    ("commitment", {"steps": ["food"], "replaces": ["rules"]}),
    ("defer_materials", {}),
    ("share_data", {}),
    ("drop_materials", {"materials": ["lease"]}),
    ("compress", {"factor": 0.5}),
    ("one_window", {}),
    ("online", {}),
    ("zone_assessment", {"steps": ["assessment"]}),
    ("intermediary", {"steps": ["sign"], "kind": "审图机构"}),
]


def test_every_lever_is_exercised_here():
    assert {name for name, _ in LEVER_CALLS} == set(LEVERS)


@pytest.mark.parametrize("name, kwargs", LEVER_CALLS, ids=[n for n, _ in LEVER_CALLS])
def test_every_lever_returns_a_valid_procedure_and_leaves_its_input_unchanged(shop, name, kwargs):
    untouched = shop.model_copy(deep=True)
    after, log = LEVERS[name](shop, **kwargs)
    assert shop == untouched
    assert check_procedure(after) is after
    assert parse_procedure(dump_procedure(after)) == after
    assert log and all(c.lever == name for c in log)
    assert critical_path_length(after) <= critical_path_length(shop)


def test_a_stage_whose_milestones_all_leave_goes_and_passes_its_waits_on(shop):
    """sign waited for stage 'review' (milestone: food); with food gone it waits for what
    food waited for: licence by law, assessment by practice."""
    staged = parse_procedure(
        SHOP.replace("depends_on: [fire], trips: 1}", "depends_on: [fire, review], trips: 1}")
        + "stages:\n- {id: review, name: 评审, steps: [food, fire], milestones: [food]}\n")
    after, _ = reforms.eliminate(staged, ["food"])
    assert after.stages == []
    assert deps(after, "sign") == {"fire": "legal", "licence": "legal", "assessment": "practice"}
