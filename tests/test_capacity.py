"""The capacity simulator: hand-checkable queues, calendars, seeds and bad input."""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import date, datetime

import pytest

from process_models.calendar import WorkingCalendar
from process_models.catalog import load_catalog_procedure
from process_models.errors import CapacityError, UnknownReference
from simulations.capacity.model import Duration, Event, Flow, Gateway, ProcessGraph, Task
from simulations.capacity.plans import (
    HOURS_PER_WORKING_DAY,
    ArrivalPlan,
    StaffPlan,
    load_arrivals,
    load_staff,
    parse_arrivals,
    parse_staff,
    parse_staff_changes,
)
from simulations.capacity.service_centre import (
    MIN_WORK_HOURS,
    WORK_SHARE,
    procedure_graph,
    simulate_capacity,
    what_if,
)

HOUR = 3600.0


def one_task(work_hours: float, *, pool: str = "clerk", rework: float = 0.0,
             wait_days: float = 0.0) -> ProcessGraph:
    """start → one task of ``pool`` taking ``work_hours`` → end."""
    return ProcessGraph(
        "single", "单一事项",
        (Event("start", "start"),
         Task("handle", "办理", pool=pool, work=Duration("fixed", (work_hours * HOUR,)),
              wait_working_days=wait_days, rework_probability=rework,
              supplement_working_days=1.0),
         Event("end", "end")),
        (Flow("f1", "start", "handle"), Flow("f2", "handle", "end")),
        limit_working_days=1.0,
    )


def replay(*times: str, urgent: tuple[int, ...] = ()) -> ArrivalPlan:
    return ArrivalPlan(replay=tuple(("single", datetime.fromisoformat(t), i in urgent)
                                    for i, t in enumerate(times)))


def read_log(path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8") as f:
        return list(csv.DictReader(f))


def times(rows, lifecycle: str) -> dict[str, str]:
    return {r["case_id"]: r["timestamp"] for r in rows if r["lifecycle"] == lifecycle}


@pytest.fixture
def calendar() -> WorkingCalendar:
    return WorkingCalendar()


def test_one_clerk_serves_a_known_queue_in_arrival_order(tmp_path, calendar):
    """Three two-hour cases at 9:00 with one clerk: 9–11, 11–12 + 13:30–14:30 (lunch), 14:30–16:30."""
    log = tmp_path / "log.csv"
    result = simulate_capacity(
        [one_task(2)], start=date(2025, 3, 3), end=date(2025, 3, 3), calendar=calendar,
        arrivals=replay("2025-03-03T09:00", "2025-03-03T09:00", "2025-03-03T09:00"),
        log_path=log)
    rows = read_log(log)
    assert times(rows, "start") == {"single-1": "2025-03-03T09:00:00+08:00",
                                    "single-2": "2025-03-03T11:00:00+08:00",
                                    "single-3": "2025-03-03T14:30:00+08:00"}
    assert times(rows, "complete") == {"single-1": "2025-03-03T11:00:00+08:00",
                                       "single-2": "2025-03-03T14:30:00+08:00",
                                       "single-3": "2025-03-03T16:30:00+08:00"}
    clerk = result.departments["clerk"]
    assert clerk.max_queue == 2
    assert clerk.mean_wait_hours == pytest.approx((0 + 2 + 5.5) / 3)
    assert clerk.utilisation == pytest.approx(6 / 7)
    assert result.procedures["single"].cases == 3
    assert result.procedures["single"].distribution == {0: 3}


def test_the_event_log_has_the_case_history_columns_and_china_time(tmp_path, calendar):
    log = tmp_path / "log.csv"
    simulate_capacity([one_task(1)], start=date(2025, 3, 3), end=date(2025, 3, 3),
                      calendar=calendar, arrivals=replay("2025-03-03T10:00"), log_path=log)
    with open(log, encoding="utf-8") as f:
        header = next(csv.reader(f))
    assert header == ["case_id", "step_id", "department_id", "activity", "lifecycle",
                      "timestamp"]
    rows = read_log(log)
    assert [(r["step_id"], r["department_id"], r["activity"], r["lifecycle"]) for r in rows] == [
        ("handle", "clerk", "办理", "start"), ("handle", "clerk", "办理", "complete")]
    assert all(datetime.fromisoformat(r["timestamp"]).utcoffset().total_seconds() == 8 * HOUR
               for r in rows)


def test_a_holiday_week_shifts_completion_by_exactly_the_closed_days(tmp_path, calendar):
    """Two working days of work from Tuesday 9:00 end Wednesday 17:30 in an ordinary week;
    from 2025-09-30 they end on 10-09, eight calendar days later (国庆 10-01..10-08 closed)."""
    completions = {}
    for start in ("2025-09-16", "2025-09-30"):
        log = tmp_path / f"{start}.csv"
        simulate_capacity([one_task(2 * HOURS_PER_WORKING_DAY)], start=date.fromisoformat(start),
                          end=date.fromisoformat(start), calendar=calendar,
                          arrivals=replay(f"{start}T09:00"), log_path=log)
        completions[start] = datetime.fromisoformat(times(read_log(log), "complete")["single-1"])
    assert completions["2025-09-16"] == datetime.fromisoformat("2025-09-17T17:30:00+08:00")
    assert completions["2025-09-30"] == datetime.fromisoformat("2025-10-09T17:30:00+08:00")
    ordinary = completions["2025-09-16"] - datetime.fromisoformat("2025-09-16T00:00+08:00")
    holiday = completions["2025-09-30"] - datetime.fromisoformat("2025-09-30T00:00+08:00")
    assert (holiday - ordinary).days == 8


def test_external_waiting_counts_working_days_only(tmp_path, calendar):
    """One hour of work Friday 9:00, then two working days of waiting: done Tuesday 10:00."""
    log = tmp_path / "log.csv"
    result = simulate_capacity([one_task(1, wait_days=2)], start=date(2025, 3, 7),
                               end=date(2025, 3, 7), calendar=calendar,
                               arrivals=replay("2025-03-07T09:00"), log_path=log)
    assert result.procedures["single"].distribution == {2: 1}   # Mon, Tue after Friday


def test_urgent_cases_are_served_before_earlier_normal_ones(tmp_path, calendar):
    log = tmp_path / "log.csv"
    simulate_capacity([one_task(1)], start=date(2025, 3, 3), end=date(2025, 3, 3),
                      calendar=calendar, log_path=log,
                      arrivals=replay("2025-03-03T09:00", "2025-03-03T09:10",
                                      "2025-03-03T09:20", urgent=(2,)))
    starts = times(read_log(log), "start")
    assert sorted(starts, key=starts.get) == ["single-1", "single-3", "single-2"]


def test_a_committee_decides_everything_queued_on_its_meeting_day(tmp_path, calendar):
    """Cases arriving Wednesday and Thursday wait for Tuesday's sitting and end together."""
    log = tmp_path / "log.csv"
    simulate_capacity([one_task(1, pool="committee")], start=date(2025, 3, 5),
                      end=date(2025, 3, 6), calendar=calendar, log_path=log,
                      staff=parse_staff({"committee": {"staff": 5, "meets_on": ["tuesday"]}}),
                      arrivals=replay("2025-03-05T10:00", "2025-03-06T15:00"))
    rows = read_log(log)
    assert set(times(rows, "start").values()) == {"2025-03-11T09:00:00+08:00"}
    assert set(times(rows, "complete").values()) == {"2025-03-11T11:00:00+08:00"}


def test_rework_repeats_the_step_after_the_applicant_supplements(tmp_path, calendar):
    log = tmp_path / "log.csv"
    result = simulate_capacity([one_task(1, rework=0.5)], start=date(2025, 3, 3),
                               end=date(2025, 3, 31), calendar=calendar, seed=4,
                               arrivals=replay(*[f"2025-03-{d:02d}T10:00" for d in range(3, 8)]),
                               log_path=log)
    completes = [r for r in read_log(log) if r["lifecycle"] == "complete"]
    assert result.procedures["single"].cases == 5
    assert len(completes) > 5
    assert max(result.procedures["single"].distribution) >= 1


def test_the_same_seed_gives_identical_results_and_another_seed_does_not():
    newborn = load_catalog_procedure("newborn")
    kw = {"start": date(2025, 3, 3), "end": date(2025, 3, 28), "replications": 3,
              "arrivals": parse_arrivals({"newborn": {"per_day": 6, "rework_probability": 0.2}})}
    first = simulate_capacity([newborn], seed=7, **kw).as_dict()
    assert simulate_capacity([newborn], seed=7, **kw).as_dict() == first
    assert simulate_capacity([newborn], seed=8, **kw).as_dict() != first


def test_replications_give_confidence_intervals():
    newborn = load_catalog_procedure("newborn")
    result = simulate_capacity([newborn], start=date(2025, 3, 3), end=date(2025, 3, 28),
                               replications=4, seed=1,
                               arrivals=parse_arrivals({"newborn": {"per_day": 6}}))
    assert result.replications == 4
    assert result.departments["hospital"].utilisation_ci > 0
    assert result.procedures["newborn"].mean_working_days_ci >= 0


def test_warm_up_cases_are_simulated_but_not_counted(calendar):
    plan = replay("2025-03-03T09:00", "2025-03-10T09:00")
    counted = simulate_capacity([one_task(1)], start=date(2025, 3, 3), end=date(2025, 3, 14),
                                calendar=calendar, arrivals=plan, warmup_days=7)
    assert counted.procedures["single"].cases == 1


def test_one_more_clerk_at_the_bottleneck_cuts_its_waiting():
    """Common random numbers: both runs see the same cases, only staff differ."""
    newborn = load_catalog_procedure("newborn")
    rows = what_if([newborn], {"助产机构": 1}, start=date(2025, 3, 3), end=date(2025, 4, 25),
                   arrivals=parse_arrivals({"newborn": {"per_day": 7}}), seed=2)
    by = {(r["id"], r["measure"]): r for r in rows}
    assert (by["hospital", "staff"]["before"], by["hospital", "staff"]["after"]) == (1, 2)
    assert by["hospital", "mean_wait_hours"]["after"] < by["hospital", "mean_wait_hours"]["before"]
    assert all(r["before"] == r["after"] for r in rows
               if r["measure"] == "staff" and r["id"] != "hospital")


def test_a_step_without_duration_works_a_share_of_its_limit_and_waits_the_rest():
    graph = procedure_graph(load_catalog_procedure("newborn"))
    tasks = {t.id: t for t in graph.tasks}
    card = tasks["social_security_card"]           # committed 15 working days
    assert card.work.mean == pytest.approx(WORK_SHARE * 15 * HOURS_PER_WORKING_DAY * HOUR)
    assert card.wait_working_days == pytest.approx(15 * (1 - WORK_SHARE))
    assert tasks["vaccination"].work.mean == pytest.approx(MIN_WORK_HOURS * HOUR)  # 即办, 0 days


def test_several_dependencies_join_at_a_parallel_gateway():
    graph = procedure_graph(load_catalog_procedure("newborn"))
    join = graph.node("join:household_registration")
    assert isinstance(join, Gateway) and join.kind == "parallel"
    assert {f.source for f in graph.incoming(join.id)} == {"birth_certificate",
                                                            "birth_registration"}


def test_memory_holds_only_cases_in_progress():
    """Finished cases are dropped: a long run keeps no per-case record."""
    import gc

    from simulations.capacity import engine

    newborn = load_catalog_procedure("newborn")
    simulate_capacity([newborn], start=date(2025, 3, 3), end=date(2025, 4, 30),
                      arrivals=parse_arrivals({"newborn": {"per_day": 5}}))
    gc.collect()
    assert not [o for o in gc.get_objects() if isinstance(o, engine._Case)]


@pytest.fixture
def no_garbage_collector():
    """The cyclic garbage collector off for one test: only reference counts free objects."""
    import gc

    gc.collect()
    gc.disable()
    yield
    gc.enable()


def test_a_finished_engine_is_freed_without_the_garbage_collector(no_garbage_collector):
    """The engine is no reference cycle (it holds no bound methods of itself): a finished
    run's engine goes with its last reference, not at the next collection."""
    import gc

    from simulations.capacity import engine

    simulate_capacity([load_catalog_procedure("newborn")], start=date(2025, 3, 3),
                      end=date(2025, 3, 14), arrivals=parse_arrivals({"newborn": {"per_day": 5}}))
    assert not [o for o in gc.get_objects() if isinstance(o, engine.Engine)]


@pytest.mark.parametrize("changes, message", [
    ({"polise": 1}, "unknown department 'polise'.*did you mean 'police'"),
    ({"市场监管": 1}, "unknown department '市场监管'"),
])
def test_an_unknown_department_is_one_error_with_a_suggestion(changes, message):
    newborn = load_catalog_procedure("newborn")
    with pytest.raises(UnknownReference, match=message):
        simulate_capacity([newborn], start=date(2025, 3, 3), end=date(2025, 3, 7),
                          staff=StaffPlan(changes))


def test_a_staff_file_is_read_and_checked(tmp_path):
    good = tmp_path / "staff.yaml"
    good.write_text("departments:\n  police: 3\n  hospital: {staff: 2}\ndefault: 2\n",
                    encoding="utf-8")
    plan = load_staff(good)
    assert (plan.staff, plan.default_staff) == ({"police": 3, "hospital": 2}, 2)
    bad = tmp_path / "bad.yaml"
    bad.write_text("police: -1\n", encoding="utf-8")
    with pytest.raises(CapacityError, match="bad.yaml: police: staff must be a whole number"):
        load_staff(bad)


@pytest.mark.parametrize("spec, message", [
    ({"newborn": {"per_day": -2}}, r"newborn.per_day: rate below zero \(-2\)"),
    ({"newborn": {"hour": {9: -1}}}, r"newborn.hour.9: rate below zero"),
    ({"newborn": {"weekday": {"firday": 2}}}, "unknown weekday 'firday'.*did you mean 'friday'"),
    ({"newborn": {"urgent_share": 2}}, "a share must be between 0 and 1"),
    ({"newborn": {"per_dya": 2}}, "unknown field 'per_dya'.*did you mean 'per_day'"),
])
def test_bad_arrival_rates_are_one_error(spec, message):
    with pytest.raises(CapacityError, match=message):
        parse_arrivals(spec)


def test_arrival_rates_for_an_unknown_procedure_are_refused():
    with pytest.raises(UnknownReference, match="unknown procedure 'newbron'.*'newborn'"):
        simulate_capacity([load_catalog_procedure("newborn")], start=date(2025, 3, 3),
                          end=date(2025, 3, 7), arrivals=parse_arrivals({"newbron": 3}))


def test_arrivals_replay_from_a_csv(tmp_path, calendar):
    path = tmp_path / "arrivals.csv"
    path.write_text("procedure_id,received_at,urgent\nsingle,2025-03-03T09:00:00+08:00,\n"
                    "single,2025-03-03T10:00:00+08:00,yes\n", encoding="utf-8")
    plan = load_arrivals(path)
    assert [a[2] for a in plan.replay] == [False, True]
    result = simulate_capacity([one_task(1)], start=date(2025, 3, 3), end=date(2025, 3, 3),
                               calendar=calendar, arrivals=plan)
    assert result.procedures["single"].cases == 2


@pytest.mark.parametrize("item", ["police", "police=+x", "=3"])
def test_malformed_staff_changes_are_refused(item):
    with pytest.raises(CapacityError, match="is not DEPT=\\+N"):
        parse_staff_changes([item])


def test_plots_are_written_as_png_svg_and_html(tmp_path):
    from simulations.capacity.service_centre import capacity_plots

    result = simulate_capacity([load_catalog_procedure("newborn")], start=date(2025, 3, 3),
                               end=date(2025, 3, 14), seed=1)
    written = {p.name for p in capacity_plots(result, tmp_path)}
    assert written == {"queue.png", "queue.svg", "utilisation.png", "utilisation.svg",
                       "capacity.html"}
    assert "<svg" in (tmp_path / "capacity.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("join, c_starts", [("any", "2025-03-04T09:00:00+08:00"),
                                           ("all", "2025-03-06T09:00:00+08:00")])
def test_a_stage_joins_on_any_or_all_of_its_milestones(tmp_path, calendar, join, c_starts):
    """a takes one working day, b three; c waits for the stage: Tuesday (any) or Thursday (all)."""
    from process_models.loading import parse_procedure

    proc = parse_procedure(f"""
id: staged
name: 阶段
departments: [{{id: d1, name: 甲}}, {{id: d2, name: 乙}}, {{id: d3, name: 丙}}]
stages: [{{id: s, name: 阶段一, steps: [a, b], milestones: [a, b], join: {join}}}]
steps:
  - {{id: a, name: A, department: d1, committed: {{days: 1}},
      duration: {{kind: fixed, days: 1}}}}
  - {{id: b, name: B, department: d2, committed: {{days: 3}},
      duration: {{kind: fixed, days: 3}}}}
  - {{id: c, name: C, department: d3, committed: {{days: 1}},
      duration: {{kind: fixed, days: 0.1}}, depends_on: [s]}}
""")
    log = tmp_path / "log.csv"
    plan = ArrivalPlan(replay=(("staged", datetime(2025, 3, 3, 9), False),))
    simulate_capacity([proc], start=date(2025, 3, 3), end=date(2025, 3, 3), calendar=calendar,
                      arrivals=plan, log_path=log)
    starts = {r["step_id"]: r["timestamp"] for r in read_log(log) if r["lifecycle"] == "start"}
    assert starts["c"] == c_starts


def test_the_simulated_event_log_reads_back_like_a_real_one(tmp_path, calendar):
    """The same reader (and so the same audit reports) takes simulated and real logs."""
    from simulations.interchange.read import read_log

    log = tmp_path / "log.csv"
    simulate_capacity([one_task(2)], start=date(2025, 3, 3), end=date(2025, 3, 3),
                      calendar=calendar, log_path=log,
                      arrivals=replay("2025-03-03T09:00", "2025-03-03T09:00"))
    events = list(read_log(log))
    assert [(e.case_id, e.at.isoformat()) for e in events] == [
        ("single-1", "2025-03-03T09:00:00+08:00"), ("single-1", "2025-03-03T11:00:00+08:00"),
        ("single-2", "2025-03-03T11:00:00+08:00"), ("single-2", "2025-03-03T14:30:00+08:00")]


def digest(data: bytes) -> str:
    """The first 16 hex digits of the SHA-256 of ``data``: a pin that changes with any bit."""
    return hashlib.sha256(data).hexdigest()[:16]


def every_event_kind() -> ProcessGraph:
    """A graph whose cases meet every kind of engine event.

    intake forks three ways (one flow after a lag); review chooses by probability between an
    ``any`` gateway and an inspection that waits working days; a committee sits on Tuesdays;
    a parallel join waits for the ``any`` gateway and the notice; then one last task.
    """
    def task(id_: str, pool: str, work: Duration, wait_days: float = 0.0) -> Task:
        return Task(id_, id_, pool=pool, work=work, wait_working_days=wait_days)

    return ProcessGraph(
        "pinned", "全事件",
        (Event("start", "start"),
         task("intake", "clerk", Duration("exponential", (1.5 * HOUR,))),
         task("review", "clerk", Duration("uniform", (HOUR, 3 * HOUR))),
         task("notice", "clerk", Duration("normal", (HOUR, 0.3 * HOUR), low=0.1 * HOUR)),
         task("inspect", "inspector", Duration("triangular", (HOUR, 2 * HOUR, 6 * HOUR)), 2.0),
         task("vote", "committee", Duration("fixed", (2 * HOUR,))),
         task("certify", "clerk", Duration("lognormal", (0.5 * HOUR, 0.2 * HOUR))),
         Gateway("choice", "exclusive"), Gateway("first", "any"), Gateway("both", "parallel"),
         Event("end", "end")),
        (Flow("f1", "start", "intake"), Flow("f2", "intake", "review"),
         Flow("f3", "intake", "notice"), Flow("f4", "intake", "vote", lag_working_days=1.5),
         Flow("f5", "review", "choice"), Flow("f6", "choice", "first", probability=0.6),
         Flow("f7", "choice", "inspect"), Flow("f8", "inspect", "first"),
         Flow("f9", "vote", "first"), Flow("f10", "first", "both"), Flow("f11", "notice", "both"),
         Flow("f12", "both", "certify"), Flow("f13", "certify", "end")),
        limit_working_days=6.0,
    )


def test_a_seeded_run_gives_exactly_the_pinned_figures_and_log(tmp_path, calendar):
    """The engine's results are pinned to the bit: a change to how it runs must not change
    what it computes (a deliberate change of the model updates the pins)."""
    log = tmp_path / "log.csv"
    result = simulate_capacity(
        [every_event_kind()], start=date(2025, 3, 24), end=date(2025, 4, 18),
        calendar=calendar, replications=2, seed=11, warmup_days=3, log_path=log,
        arrivals=parse_arrivals({"pinned": {"per_day": 7, "urgent_share": 0.2,
                                            "rework_probability": 0.1,
                                            "supplement_working_days": 2}}),
        staff=parse_staff({"clerk": 3, "inspector": 1,
                           "committee": {"staff": 3, "meets_on": ["tuesday"]}}))
    assert (result.task_events, result.procedures["pinned"].cases) == (1782, 245)
    assert digest(json.dumps(result.as_dict(), sort_keys=True).encode()) == "3c702d6f910b2f48"
    assert digest(log.read_bytes()) == "db02a798cecc9d99"


def test_a_seeded_service_centre_quarter_gives_exactly_the_pinned_figures():
    """The catalog's first eight procedures through shared departments, pinned like the graph
    above (a fixed set, so a procedure added to the catalog leaves the pin alone)."""
    from process_models.catalog import load_catalog_procedure

    procedures = [load_catalog_procedure(i) for i in (
        "construction_permit", "convenience_store", "enterprise_startup", "newborn",
        "property_transfer", "restaurant", "retirement", "utility_connection")]
    result = simulate_capacity(
        procedures, start=date(2025, 1, 2), end=date(2025, 3, 31), seed=5,
        arrivals=parse_arrivals({p.id: {"per_day": 3, "rework_probability": 0.05}
                                 for p in procedures}),
        staff=parse_staff({"departments": {"approval_bureau": {"staff": 2,
                                                               "meets_on": ["thursday"]}},
                           "default": 3}))
    assert result.task_events == 11808
    assert digest(json.dumps(result.as_dict(), sort_keys=True).encode()) == "06f2e2d5b0e22c14"
