"""The critical-path method: hand-computed schedules, properties, and the catalog."""

from __future__ import annotations

from datetime import date
from itertools import pairwise

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from process_models import DependencyCycle, InvalidInput
from process_models.loading import load_procedure
from process_models.procedure import Department, Limit, Procedure, Stage, Step, Untimed
from simulations.planning._compiled import compile_dag, forward_backward
from simulations.planning.cpm import (
    WORKING_DAYS_PER_CALENDAR_DAY,
    backward_schedule,
    critical_path,
    critical_path_length,
    critical_paths,
    schedule,
    step_duration_working_days,
)
from simulations.planning.metrics import measure
from tests.strategies import procedures


def step(sid: str, days: float, *after, unit: str = "working", **kw) -> Step:
    """A step of department ``x``; ``after`` holds ids or dependency dicts."""
    return Step(id=sid, name=sid, department="x", committed=Limit(days=days, unit=unit),
                depends_on=list(after), **kw)


def procedure(*steps: Step, stages: tuple[Stage, ...] = ()) -> Procedure:
    return Procedure(id="t", name="测试", departments=[Department(id="x", name="X")],
                     steps=list(steps), stages=list(stages))


DIAMOND = procedure(step("a", 2), step("b", 4, "a"), step("c", 1, "a"), step("d", 3, "b", "c"))


def test_diamond_matches_the_hand_computed_schedule():
    s = schedule(DIAMOND)
    assert s.elapsed_working_days == 9
    assert s.earliest_start == {"a": 0, "b": 2, "c": 2, "d": 6}
    assert s.earliest_finish == {"a": 2, "b": 6, "c": 3, "d": 9}
    assert s.latest_start == {"a": 0, "b": 2, "c": 5, "d": 6}
    assert s.latest_finish == {"a": 2, "b": 6, "c": 6, "d": 9}
    assert s.total_slack == {"a": 0, "b": 0, "c": 3, "d": 0}
    assert s.free_slack == {"a": 0, "b": 0, "c": 3, "d": 0}
    assert s.critical_paths == [["a", "b", "d"]]
    assert s.dates is None


def test_free_slack_is_what_a_step_can_slip_without_moving_any_successor():
    """c can slip 1 day before it delays d, but 3 before it delays the whole procedure."""
    p = procedure(step("a", 5), step("c", 1), step("d", 2, "c"), step("e", 0, "a", "d"))
    s = schedule(p)
    assert (s.total_slack["c"], s.free_slack["c"]) == (2, 0)
    assert (s.total_slack["d"], s.free_slack["d"]) == (2, 2)


def test_a_step_with_several_successors_is_held_by_the_tightest_one():
    """a's latest finish is c's latest start (1), not b's (4), even when a step without
    successors (d) shares a's level."""
    p = procedure(step("a", 1), step("b", 1, "a"), step("c", 5, "a"), step("d", 0))
    s = schedule(p)
    assert s.latest_finish["a"] == 1 and s.total_slack["a"] == 0
    assert s.critical_paths == [["a", "c"]]


def test_every_tied_critical_path_is_kept():
    p = procedure(step("a", 1), step("b", 3, "a"), step("c", 3, "a"), step("e", 2, "a"),
                  step("d", 1, "b", "c", "e"))
    assert critical_paths(p) == [["a", "b", "d"], ["a", "c", "d"]]
    assert critical_path(p) == ["a", "b", "d"]


def test_near_ties_within_float_rounding_count_as_ties():
    """0.1 + 0.2 and 0.3 differ in binary floating point; both paths are critical."""
    p = procedure(step("a", 0.1), step("b", 0.2, "a"), step("c", 0.3), step("d", 1, "b", "c"))
    assert critical_paths(p) == [["a", "b", "d"], ["c", "d"]]
    assert schedule(p).total_slack["c"] == 0


def test_zero_day_immediate_steps_lie_on_the_critical_path_without_adding_time():
    p = procedure(step("accept", 0), step("review", 5, "accept"), step("issue", 0, "review"),
                  step("notify", 0, "accept"))
    s = schedule(p)
    assert s.elapsed_working_days == 5
    assert s.critical_paths == [["accept", "review", "issue"]]
    assert s.total_slack["notify"] == 5


def test_untimed_parts_count_toward_elapsed_time():
    p = procedure(step("a", 10, untimed=[Untimed(kind="公示", days=5)]), step("b", 1, "a"))
    assert critical_path_length(p) == 16
    assert step_duration_working_days(p.step("a")) == 15


def test_lags_delay_the_successor():
    p = procedure(step("a", 2), step("b", 1, {"step": "a", "lag": {"days": 3}}))
    s = schedule(p)
    assert s.earliest_start["b"] == 5 and s.elapsed_working_days == 6
    assert s.critical_paths == [["a", "b"]]


def test_statutory_limits_fall_back_to_committed_ones():
    p = procedure(
        Step(id="a", name="a", department="x", statutory=Limit(days=20), committed=Limit(days=5)),
        step("b", 3, "a"),
    )
    assert critical_path_length(p) == 8
    assert critical_path_length(p, limits="statutory") == 23


def test_an_unknown_basis_names_the_choices_and_a_near_miss():
    with pytest.raises(InvalidInput, match="unknown basis 'statuory'.*did you mean 'statutory'"):
        schedule(DIAMOND, limits="statuory")


@pytest.mark.parametrize(("join", "c_start", "slack_b"), [("all", 5, 0), ("any", 3, 2)])
def test_a_stage_joins_on_all_or_the_first_of_its_milestones(join, c_start, slack_b):
    """Stage g over a (3 days) and b (5 days); c (4 days) waits for g.

    On ``any`` g completes at 3 when a does, so c runs 3–7 and b (finishing at 5, holding
    nothing back) may slip 2 days, to the end at 7."""
    p = procedure(step("a", 3), step("b", 5), step("c", 4, "g"),
                  stages=(Stage(id="g", name="阶段", milestones=["a", "b"], join=join),))
    s = schedule(p)
    assert s.earliest_start["c"] == c_start
    assert s.earliest_finish["g"] == c_start
    assert s.total_slack["b"] == slack_b
    expected = [["b", "c"]] if join == "all" else [["a", "c"]]
    assert s.critical_paths == expected


def test_an_any_stage_keeps_tied_first_milestones_critical():
    p = procedure(step("a", 3), step("b", 3), step("c", 4, "g"),
                  stages=(Stage(id="g", name="阶段", milestones=["a", "b"], join="any"),))
    assert critical_paths(p) == [["a", "c"], ["b", "c"]]


def test_a_stage_without_milestones_joins_on_its_steps():
    p = procedure(step("a", 3), step("b", 5), step("c", 1, "g"),
                  stages=(Stage(id="g", name="阶段", steps=["a", "b"]),))
    assert schedule(p).earliest_start["c"] == 5


def test_follow_up_checks_are_off_the_applicants_path():
    p = procedure(step("licence", 3), step("check", 20, "licence", follow_up=True))
    s = schedule(p)
    assert s.elapsed_working_days == 3
    assert "check" not in s.earliest_start


def test_calendar_days_without_a_start_date_use_the_fixed_ratio_and_say_so():
    p = procedure(step("a", 2), step("b", 30, "a", unit="calendar"),
                  step("c", 1, {"step": "b", "lag": {"days": 7, "unit": "calendar"}}))
    s = schedule(p)
    assert s.elapsed_working_days == pytest.approx(3 + 37 * WORKING_DAYS_PER_CALENDAR_DAY)
    assert s.calendar_days_converted == ["b", "b->c"]


def test_working_days_across_spring_festival_land_on_the_official_dates():
    """2025-01-24 + 5 working days is 2025-02-07 (春节 28 Jan – 4 Feb, 调休 on Sunday 26 Jan);
    3 more are 02-08 (调休 Saturday), 02-10 and 02-11."""
    p = procedure(step("a", 5), step("b", 3, "a"))
    s = schedule(p, start=date(2025, 1, 24))
    assert s.dates == {"a": (date(2025, 1, 24), date(2025, 2, 7)),
                       "b": (date(2025, 2, 7), date(2025, 2, 11))}
    assert s.elapsed_working_days == 8
    assert s.calendar_days_converted == []


def test_calendar_day_steps_with_a_start_date_are_laid_on_the_calendar_exactly():
    """a: 2 working days from Fri 2025-01-24 → Mon 01-27. b: 10 calendar days from 01-27 →
    02-06 (a working day), which is working day 4 after acceptance (01-26, 01-27, 02-05,
    02-06). c: a 3-calendar-day lag after b → 02-09, a Sunday, so the next working day
    02-10 (working day 7: 02-07, the 调休 Saturday 02-08, 02-10), then 1 working day →
    02-11."""
    p = procedure(step("a", 2), step("b", 10, "a", unit="calendar"),
                  step("c", 1, {"step": "b", "lag": {"days": 3, "unit": "calendar"}}))
    s = schedule(p, start=date(2025, 1, 24))
    assert s.dates["a"] == (date(2025, 1, 24), date(2025, 1, 27))
    assert s.dates["b"] == (date(2025, 1, 27), date(2025, 2, 6))
    assert s.earliest_finish["b"] == 4
    assert s.dates["c"] == (date(2025, 2, 10), date(2025, 2, 11))
    assert s.earliest_start["c"] == 7
    assert s.elapsed_working_days == 8
    assert s.critical_paths == [["a", "b", "c"]]


def test_a_backward_schedule_across_spring_festival_lands_on_working_days():
    """Done by Tue 2025-02-11: b (3 working days) starts after 02-07 (02-08 is a 调休
    Saturday, 02-10, 02-11); a (5) must start after 01-24 (01-26 调休 Sunday, 01-27, then
    春节 until 02-04, 02-05, 02-06, 02-07), so the application is accepted by 01-24."""
    b = backward_schedule(procedure(step("a", 5), step("b", 3, "a")), date(2025, 2, 11))
    assert b.dates == {"a": (date(2025, 1, 24), date(2025, 2, 7)),
                       "b": (date(2025, 2, 7), date(2025, 2, 11))}
    assert b.accept_by == date(2025, 1, 24)


def test_a_backward_schedule_lays_calendar_days_and_lags_on_the_calendar():
    """Done by 2025-02-11: c (1) starts after 02-10; a 3-calendar-day lag ending by 02-10
    starts by Fri 02-07 (from the 调休 Saturday 02-08 it would end 02-11), so b may finish
    as late as 02-07, a day later than it does forward. b's 10 calendar days ending by
    02-07 start by 01-27 (01-28 is 春节); a (2 working days: 01-26 调休, 01-27) by 01-24."""
    p = procedure(step("a", 2), step("b", 10, "a", unit="calendar"),
                  step("c", 1, {"step": "b", "lag": {"days": 3, "unit": "calendar"}}))
    b = backward_schedule(p, date(2025, 2, 11))
    assert b.dates == {"a": (date(2025, 1, 24), date(2025, 1, 27)),
                       "b": (date(2025, 1, 27), date(2025, 2, 7)),
                       "c": (date(2025, 2, 10), date(2025, 2, 11))}
    assert b.accept_by == date(2025, 1, 24)


def test_a_backward_schedule_can_accept_on_a_make_up_sunday():
    """Done by Fri 2025-10-10: b (1) starts after 10-09 (国庆 ends 10-08); a 2-working-day
    lag before it starts after 09-29 (09-30, 10-09); a (1) after Sun 09-28, a 调休 working
    day, which is the latest acceptance day."""
    p = procedure(step("a", 1), step("b", 1, {"step": "a", "lag": {"days": 2}}))
    b = backward_schedule(p, date(2025, 10, 10))
    assert b.dates == {"a": (date(2025, 9, 28), date(2025, 9, 29)),
                       "b": (date(2025, 10, 9), date(2025, 10, 10))}
    assert b.accept_by == date(2025, 9, 28)


@pytest.mark.parametrize(("finish_by", "accept_by"), [
    (date(2025, 3, 3), date(2025, 3, 3)),     # 即办 on a Monday: accepted the same day
    (date(2025, 3, 2), date(2025, 2, 28)),    # due on a Sunday: the Friday before
    (date(2025, 2, 1), date(2025, 1, 27)),    # due in 春节: the last working day before it
])
def test_immediate_steps_are_accepted_by_the_last_working_day_on_or_before_the_date(
        finish_by, accept_by):
    """Steps of 0 days finish the day they start, so the latest acceptance is the due date
    itself when it is a working day, else the working day before it."""
    b = backward_schedule(procedure(step("a", 0), step("b", 0, "a")), finish_by)
    assert b.accept_by == accept_by
    assert b.dates == {"a": (accept_by, accept_by), "b": (accept_by, accept_by)}


def test_a_cycle_in_a_raw_graph_is_named():
    with pytest.raises(DependencyCycle, match="a → b → c → a"):
        compile_dag(4, src=[0, 1, 2, 3], dst=[1, 2, 0, 0], names=["a", "b", "c", "d"])


@settings(max_examples=60, deadline=None)
@given(edges=st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7)), min_size=1, max_size=20))
def test_the_cycle_named_for_any_cyclic_graph_is_one_of_its_cycles(edges):
    """When the edges hold a cycle, compiling names one whose every link is an edge."""
    g = nx.DiGraph(edges)
    if nx.is_directed_acyclic_graph(g):
        compile_dag(8, src=[s for s, _ in edges], dst=[d for _, d in edges])
        return
    with pytest.raises(DependencyCycle) as raised:
        compile_dag(8, src=[s for s, _ in edges], dst=[d for _, d in edges],
                    names=[f"n{i}" for i in range(8)])
    named = [int(n[1:]) for n in str(raised.value).split(": ")[1].split(";")[0].split(" → ")]
    assert named[0] == named[-1]
    assert all(g.has_edge(a, b) for a, b in pairwise(named))


@pytest.mark.parametrize("seed", range(3))
def test_compiled_passes_agree_with_networkx_on_random_dags(seed):
    """networkx's longest path with node durations moved onto edges is the oracle."""
    rng = np.random.default_rng(seed)
    n, m = 300, 2000
    src = rng.integers(0, n - 1, m)
    dst = src + 1 + (rng.random(m) * (n - 1 - src)).astype(int)
    duration, lag = rng.integers(0, 10, n).astype(float), rng.integers(0, 3, m).astype(float)
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    g.add_node("end")
    for u, v, w in zip(src.tolist(), dst.tolist(), lag.tolist()):
        w += duration[u]
        if not g.has_edge(u, v) or g[u][v]["weight"] < w:
            g.add_edge(u, v, weight=w)
    for u in range(n):
        g.add_edge(u, "end", weight=duration[u])
    passes = forward_backward(compile_dag(n, src, dst, lag, duration))
    assert passes.elapsed == nx.dag_longest_path_length(g)
    assert (passes.total_slack >= 0).all() and (passes.free_slack <= passes.total_slack).all()


PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(procedures(with_metadata=False))
def test_elapsed_time_never_exceeds_the_sequential_time(proc):
    for limits in ("committed", "statutory"):
        m = measure(proc, limits=limits)
        assert m.elapsed_working_days <= m.sequential_working_days + 1e-9


@PROPERTY
@given(procedures(with_metadata=False, min_steps=2), st.data())
def test_dropping_a_dependency_never_lengthens_the_critical_path(proc, data):
    with_deps = [i for i, s in enumerate(proc.steps) if s.depends_on]
    if not with_deps:
        return
    i = data.draw(st.sampled_from(with_deps))
    j = data.draw(st.integers(0, len(proc.steps[i].depends_on) - 1))
    steps = list(proc.steps)
    deps = list(steps[i].depends_on)
    del deps[j]
    steps[i] = steps[i].model_copy(update={"depends_on": deps})
    looser = proc.model_copy(update={"steps": steps})
    assert critical_path_length(looser) <= critical_path_length(proc) + 1e-9


@PROPERTY
@given(procedures(with_metadata=False))
def test_slack_is_zero_exactly_on_critical_steps(proc):
    s = schedule(proc)
    on_path = {sid for path in s.critical_paths for sid in path}
    zero = {sid for sid, v in s.total_slack.items() if v == 0 and sid in s.earliest_start
            and sid not in {g.id for g in proc.stages}}
    assert on_path == zero
    assert all(0 <= s.free_slack[k] <= s.total_slack[k] for k in s.total_slack)


@PROPERTY
@given(procedures(with_metadata=False, max_steps=6))
def test_a_start_date_schedule_is_consistent_with_its_dates(proc):
    s = schedule(proc, start=date(2025, 1, 20))
    for sid, (first, last) in s.dates.items():
        assert first <= last
        assert s.earliest_start[sid] <= s.earliest_finish[sid]
    assert min(s.total_slack.values()) == 0


def test_every_catalog_procedure_simulates(catalog_file):
    proc = load_procedure(catalog_file)
    for limits in ("committed", "statutory"):
        s = schedule(proc, limits=limits, start=date(2025, 3, 3))
        assert s.critical_paths and s.elapsed_working_days > 0
        assert critical_path_length(proc, limits=limits) > 0


def _done(proc, start: date) -> date:
    return max((b for _, b in schedule(proc, start=start).dates.values()), default=start)


@PROPERTY
@given(procedures(with_metadata=False, max_steps=6),
       st.dates(date(2024, 3, 1), date(2026, 9, 30)))
def test_accepting_by_accept_by_finishes_by_the_date_and_a_day_later_does_not(proc, finish_by):
    """A schedule accepted on ``accept_by`` is done by ``finish_by``; one accepted the next
    working day is not; every step's earliest dates from ``accept_by`` are no later than
    its latest ones."""
    from process_models.calendar import default_calendar

    b = backward_schedule(proc, finish_by)
    assert _done(proc, b.accept_by) <= finish_by
    assert _done(proc, default_calendar().add_working_days(b.accept_by, 1)) > finish_by
    forward = schedule(proc, start=b.accept_by).dates
    for sid, (latest_start, latest_finish) in b.dates.items():
        assert forward[sid][0] <= latest_start and forward[sid][1] <= latest_finish
    assert b.accept_by <= finish_by
