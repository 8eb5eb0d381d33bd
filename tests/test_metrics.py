"""Before/after figures: what reform reports count, compared and added up."""

from __future__ import annotations

import pytest

from process_models import InvalidInput
from process_models.loading import load_procedure
from process_models.procedure import Department, Limit, Material, Procedure, Step, Untimed
from simulations.planning.metrics import Change, compare, measure, portfolio

DEPARTMENTS = [Department(id="samr", name="市场监管局"), Department(id="fire", name="消防"),
               Department(id="health", name="卫健委")]
MATERIALS = [
    Material(id="id_card", name="身份证", provider="data_sharing"),
    Material(id="lease", name="租赁合同"),
    Material(id="plans", name="平面图", count=3),
    Material(id="licence", name="营业执照", provider="step", from_step="licence"),
]


def shop(**changes) -> Procedure:
    """A small before-reform procedure: licence → (food, fire) with a 公示 and a follow-up."""
    steps = [
        Step(id="licence", name="营业执照", department="samr", statutory=Limit(days=15),
             committed=Limit(days=3), materials=["id_card", "lease"], trips=1, links=3),
        Step(id="food", name="食品经营许可", department="samr", statutory=Limit(days=20),
             committed=Limit(days=10), depends_on=["licence"], materials=["licence", "plans"],
             trips=2, links=4, window="综合窗口",
             untimed=[Untimed(kind="公示", days=5, unit="calendar")]),
        Step(id="fire", name="消防检查", department="fire", committed=Limit(days=7),
             depends_on=[{"step": "licence", "lag": {"days": 2}}], materials=["plans", "lease"],
             trips=1, links=2, window="综合窗口"),
        Step(id="check", name="事后核查", department="health", committed=Limit(days=30),
             depends_on=["food"], materials=["lease"], trips=1, follow_up=True),
    ]
    return Procedure(id="shop", name="开店", departments=DEPARTMENTS, materials=MATERIALS,
                     steps=steps, **changes)


def test_every_figure_of_a_small_procedure_matches_the_hand_count():
    """Elapsed: 3 + 10 + 5 calendar days of 公示 (converted) versus 3 + 2 + 7 = 12.
    Materials: lease, the licence (a step output the applicant carries) and 3 plans; the
    id card is shared. Windows: the
    licence at the samr counter and the 综合窗口. The follow-up check counts nowhere."""
    m = measure(shop())
    publicity = 5 * 248 / 365
    assert m.elapsed_working_days == pytest.approx(13 + publicity)
    assert m.sequential_working_days == pytest.approx(3 + 10 + publicity + 7 + 2)
    assert m.summed_limit_days == 20
    assert (m.steps, m.links, m.materials, m.trips, m.departments, m.windows) == (3, 9, 5, 4, 2, 2)
    assert m.critical_path == ["licence", "food"]
    assert m.slack["fire"] == pytest.approx(13 + publicity - 12)


def test_statutory_figures_use_statutory_limits_where_steps_have_them():
    m = measure(shop(), limits="statutory")
    assert m.summed_limit_days == 15 + 20 + 7
    assert m.elapsed_working_days == pytest.approx(35 + 5 * 248 / 365)


def test_json_keys_are_the_documented_ones_in_order():
    assert list(measure(shop()).as_dict()) == [
        "elapsed_working_days", "sequential_working_days", "critical_path", "slack",
        "summed_limit_days", "steps", "links", "materials", "trips", "departments", "windows"]


def test_compare_gives_absolute_and_percentage_compression():
    after = shop().model_copy(update={"steps": [
        s.model_copy(update={"depends_on": [], "trips": 0}) for s in shop().steps]})
    c = compare(shop(), after)
    assert c.trips == Change(before=4, after=0, absolute=-4, percent=-100.0)
    assert c.elapsed_working_days.after == pytest.approx(10 + 5 * 248 / 365)
    assert c.steps.percent == 0.0
    assert c.as_dict()["change"]["trips"]["percent"] == -100.0


def test_a_change_from_zero_has_no_percentage():
    assert Change.of(0, 3).percent is None


def test_portfolio_totals_pairs_and_states_the_headline():
    before = shop()
    after = before.model_copy(update={"steps": [
        s.model_copy(update={"committed": Limit(days=1), "untimed": []}) for s in before.steps]})
    t = portfolio([(before, after), (before, after)])
    assert t.items == 2
    assert t.before["elapsed_working_days"] == pytest.approx(2 * (13 + 5 * 248 / 365))
    assert t.after["elapsed_working_days"] == 8
    assert t.change["trips"].absolute == 0
    assert str(t) == "2个一件事：办理时限32.8个工作日压缩至8个，压缩75.6%"
    assert t.headline("en") == "2 procedures: elapsed 32.8 → 8 working days, −75.6%"


def test_a_portfolio_of_plain_procedures_has_only_before_totals(catalog_file):
    proc = load_procedure(catalog_file)
    t = portfolio([proc, proc])
    assert t.after is None and t.change is None
    assert t.before["steps"] == 2 * measure(proc).steps


def test_a_portfolio_mixing_pairs_and_plain_procedures_is_refused():
    with pytest.raises(InvalidInput, match="either procedures or \\(before, after\\) pairs"):
        portfolio([shop(), (shop(), shop())])
