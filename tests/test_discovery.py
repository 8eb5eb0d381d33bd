"""``onething discover``: a procedure from a log's cases that validates and simulates, with
parallel steps kept parallel, rare activities folded, and every number fitted."""

from __future__ import annotations

import csv
import json
import random
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from process_models.calendar import country_calendar
from process_models.errors import EventLogError
from process_models.loading import load_procedure
from process_models.provenance import numbers
from simulations.interchange.log_cases import ActivityRun, LogCase
from simulations.planning.discovery import discover

DATA = Path(__file__).parent / "data" / "logs"
WABO = Path(__file__).resolve().parents[2] / "shared" / "logs" / "wabo_receipt.csv"


def parallel_cases(n: int = 60, seed: int = 1) -> list[LogCase]:
    """受理, then 消防 and 环评 in either order (parallel), then 发证 after both."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        t0 = datetime(2025, 3, 3, 9) + timedelta(days=i % 20)
        a, b = t0 + timedelta(hours=rng.randint(20, 90)), t0 + timedelta(hours=rng.randint(20, 90))
        end = max(a, b) + timedelta(hours=rng.randint(20, 40))
        runs = sorted([ActivityRun("受理", t0, resource="窗口"),
                       ActivityRun("消防", a, group="消防救援"),
                       ActivityRun("环评", b, group="生态环境"),
                       ActivityRun("发证", end, group="住建")], key=lambda r: r.end)
        out.append(LogCase(str(i), runs, t0, end))
    return out


def test_steps_without_an_order_between_them_stay_parallel():
    found = discover(parallel_cases(), log="p.csv", calendar=country_calendar())
    deps = {s.name: sorted(s.predecessors) for s in found.procedure.steps}
    assert deps == {"受理": [], "消防": ["受理"], "环评": ["受理"], "发证": ["消防", "环评"]}


def test_every_number_of_a_discovered_procedure_is_fitted_with_the_log_as_source():
    found = discover(parallel_cases(), log="p.csv", calendar=country_calendar())
    limits = [s.committed for s in found.procedure.steps]
    assert {lim.basis.value for lim in limits} == {"fitted"}
    assert all("p.csv, 2025-03-03–" in lim.source and "60 cases" in lim.source for lim in limits)
    deps = [d for s in found.procedure.steps for d in s.depends_on]
    assert {(d.kind.value, d.basis.value) for d in deps} == {("practice", "fitted")}
    assert all(s.duration is not None and s.duration.fit for s in found.procedure.steps)


def test_departments_come_from_the_groups_that_complete_the_steps():
    found = discover(parallel_cases(), log="p.csv", calendar=country_calendar())
    assert {s.name: s.department for s in found.procedure.steps}["消防"] == "消防救援"


def test_rare_activities_are_folded_and_reported():
    """A log of 400 activity codes: the 395 rare ones are folded, the frequent ones kept."""
    cases = []
    for i in range(100):
        t0 = datetime(2025, 3, 3, 9)
        runs = [ActivityRun(f"common-{k}", t0 + timedelta(hours=k)) for k in range(5)]
        runs.insert(2, ActivityRun(f"code-{i % 395:03d}", t0 + timedelta(hours=1, minutes=30)))
        cases.append(LogCase(str(i), runs, t0, runs[-1].end))
    found = discover(cases, log="codes.csv", calendar=country_calendar(), min_share=0.05)
    assert len(found.procedure.steps) == 5
    assert len(found.folded) == 100 and found.folded[0][1] == 1


def test_optional_steps_are_skipped_as_often_as_the_log_skips_them():
    cases = parallel_cases()
    for c in cases[::4]:
        c.runs = [r for r in c.runs if r.activity != "环评"]
    found = discover(cases, log="p.csv", calendar=country_calendar())
    step = next(s for s in found.procedure.steps if s.name == "环评")
    zeros = sum(1 for x in step.duration.samples if x == 0) / len(step.duration.samples)
    assert step.duration.kind == "empirical" and zeros == pytest.approx(0.25, abs=0.02)


def test_start_events_separate_waiting_from_processing():
    from simulations.interchange.log_cases import log_cases
    from simulations.interchange.read import read_log

    found = discover(log_cases(read_log(DATA / "start_complete.xes")), log="x.xes",
                     calendar=country_calendar("NL"))
    review = next(s for s in found.steps if s.activity == "review")
    assert review.waiting_p50 > 0 and review.processing_p50 > 0


def test_an_empty_log_is_one_line():
    with pytest.raises(EventLogError, match="no completed activity"):
        discover([LogCase("1")], log="x.csv", calendar=country_calendar())


@pytest.mark.skipif(not WABO.exists(), reason="the WABO log is not checked out")
def test_the_wabo_procedure_validates_and_simulates(run_cli, tmp_path):
    out = tmp_path / "wabo.yaml"
    code, text, err = run_cli("discover", WABO, "-o", out, "--calendar", "NL", "--json")
    assert code == 0, err
    report = json.loads(text)
    with open(WABO, encoding="utf-8", newline="") as f:
        case_count = len({row["case:concept:name"] for row in csv.DictReader(f)})
    assert report["cases"] == case_count
    proc = load_procedure(out)
    assert all(n.basis == "fitted" for n in numbers(proc) if n.stated)
    assert run_cli("validate", out)[0] == 0
    code, text, err = run_cli("simulate", out, "--runs", "500", "--lang", "en")
    assert code == 0, err
    assert "P50" in text


DATES_ONLY = ("--case", "办件编号", "--activity", "环节", "--timestamp", "办结日期", "--group", "部门")


@pytest.mark.parametrize(("log", "options"), [
    ("dates_only.csv", DATES_ONLY),
    ("start_complete.xes", ("--calendar", "NL")),
])
def test_each_shape_of_log_gives_a_procedure_that_validates(run_cli, tmp_path, log, options):
    out = tmp_path / "found.yaml"
    code, _, err = run_cli("discover", DATA / log, "-o", out, *options)
    assert code == 0, err
    assert run_cli("validate", out)[0] == 0
    arrivals = tmp_path / "found.arrivals.yaml"
    assert arrivals.read_text(encoding="utf-8").startswith("# basis: fitted — ")
    from simulations.capacity.plans import load_arrivals

    plan = load_arrivals(arrivals)
    assert [p.per_day > 0 for p in plan.procedures.values()] == [True]


def test_a_log_whose_columns_are_not_found_fails_in_one_line(run_cli, tmp_path):
    code, out, err = run_cli("discover", DATA / "dates_only.csv", "-o", tmp_path / "x.yaml")
    assert code == 2 and not out
    assert err.count("\n") == 1 and "请用 --timestamp 指定" in err
    assert not (tmp_path / "x.yaml").exists()


def test_a_reform_lever_applies_to_a_discovered_procedure(run_cli, tmp_path):
    """串联改并联 on the discovered (practice) dependencies; compare --runs pairs the two."""
    from process_models.loading import save_procedure

    found = discover(parallel_cases(), log="p.csv", calendar=country_calendar())
    before, after = tmp_path / "before.yaml", tmp_path / "after.yaml"
    save_procedure(found.procedure, before)
    scenario = tmp_path / "parallel.yaml"
    scenario.write_text(f"procedure: {found.procedure.id}\nname: 串联改并联\n"
                        "levers:\n- lever: parallelise\n", encoding="utf-8")
    assert run_cli("reform", before, scenario, "-o", after)[0] == 0
    code, out, err = run_cli("compare", before, after, "--runs", "2000", "--json")
    assert code == 0, err
    assert json.loads(out)["risk"]["saving_mean"] > 0


@settings(max_examples=25, deadline=None)
@given(traces=st.lists(st.lists(st.sampled_from("ABCDE"), min_size=1, max_size=6),
                       min_size=1, max_size=30),
       gaps=st.lists(st.integers(0, 50), min_size=6, max_size=6))
def test_any_log_gives_an_acyclic_procedure_that_checks(traces, gaps):
    """Whatever the traces (rework, ties, any order), the discovered procedure passes the
    loader's checks: known ids, no duplicate, no cycle."""
    from process_models.loading import check_procedure

    cases = []
    for i, trace in enumerate(traces):
        t0 = datetime(2025, 3, 3, 9)
        runs = [ActivityRun(a, t0 + timedelta(hours=sum(gaps[:k + 1])))
                for k, a in enumerate(trace)]
        cases.append(LogCase(str(i), runs, runs[0].end, runs[-1].end))
    found = discover(cases, log="h.csv", calendar=country_calendar(), dependency_share=0.5)
    check_procedure(found.procedure)
    assert {s.name for s in found.procedure.steps} <= set("ABCDE")


def test_fit_reads_a_log_with_named_columns_onto_a_discovered_procedure(run_cli, tmp_path):
    log, found, fitted = tmp_path / "log.csv", tmp_path / "found.yaml", tmp_path / "fitted.yaml"
    with open(log, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter=";")
        w.writerow(["办件编号", "环节", "办结日期"])
        for c in parallel_cases():
            w.writerows([c.case_id, r.activity, r.end.isoformat()] for r in c.runs)
    assert run_cli("discover", log, "-o", found, *DATES_ONLY[:6])[0] == 0
    code, out, err = run_cli("fit", found, log, "-o", fitted, *DATES_ONLY[:6], "--json")
    assert code == 0, err
    # 受理 opens each case: without a start event it has no earlier event to run from
    assert {s["step_id"] for s in json.loads(out)["steps"]} == {"消防", "环评", "发证"}


def test_activities_whose_names_differ_only_in_unsafe_characters_get_distinct_ids():
    cases = [LogCase(str(i), [ActivityRun("check a/b", datetime(2025, 3, 3, 9)),
                              ActivityRun("check a b", datetime(2025, 3, 4, 9))],
                     datetime(2025, 3, 3, 9), datetime(2025, 3, 4, 9)) for i in range(3)]
    found = discover(cases, log="x.csv", calendar=country_calendar())
    assert [s.id for s in found.procedure.steps] == ["1-check_a_b", "2-check_a_b"]
    assert [s.step_id for s in found.steps] == ["1-check_a_b", "2-check_a_b"]
    assert found.procedure.steps[1].predecessors == ["1-check_a_b"]
