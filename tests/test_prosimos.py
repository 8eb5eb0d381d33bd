"""Prosimos 2.1 JSON and BIMP (QBP) parameters: Prosimos's Purchasing example runs here."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from process_models.errors import CapacityError
from simulations.capacity.prosimos import WeeklyCalendar, load_prosimos, simulate_prosimos

MODELS = Path(__file__).resolve().parent.parent.parent / "shared" / "bench-models"
BPMN = MODELS / "PurchasingExampleQBP.bpmn"
PARAMS = MODELS / "PurchasingExampleQBP_2.1.json"

needs_models = pytest.mark.skipif(
    not BPMN.exists(), reason=f"Prosimos's Purchasing example is not in {MODELS}")
START = datetime(2024, 1, 1, 8)


@pytest.fixture(scope="module")
def from_json():
    return load_prosimos(BPMN, PARAMS)


@pytest.fixture(scope="module")
def from_qbp():
    return load_prosimos(BPMN)


@needs_models
def test_the_purchasing_json_gives_its_pools_tasks_and_branches(from_json):
    assert sum(from_json.staff.values()) == 47
    assert len(from_json.staff) == 6
    assert len(from_json.graph.tasks) == 23
    gateway = "node_2ecaf635-9840-4f27-80dd-379a660833ba"
    probabilities = {f.id: f.probability for f in from_json.graph.outgoing(gateway)}
    assert probabilities["node_ae58dfcf-089b-40e7-b8be-235a866b2f2f"] == pytest.approx(0.85502,
                                                                                     abs=1e-5)
    assert from_json.arrival.kind == "gamma" and from_json.arrival.mean == pytest.approx(14829.6)
    role_1 = next(p for p, n in from_json.graph.pool_names.items() if n == "Role 1")
    assert from_json.calendars[role_1].always_open
    assert not from_json.calendars["QBP_DEFAULT_RESOURCE"].always_open


@needs_models
def test_the_qbp_block_gives_the_same_scenario_as_the_json(from_json, from_qbp):
    assert dict(from_qbp.staff) == dict(from_json.staff)
    qbp_tasks = {t.id: (t.pool, t.work.kind, round(t.work.mean, 6)) for t in from_qbp.graph.tasks}
    json_tasks = {t.id: (t.pool, t.work.kind, round(t.work.mean, 6))
                  for t in from_json.graph.tasks}
    assert qbp_tasks == json_tasks
    assert from_qbp.arrival_calendar == from_json.arrival_calendar


@needs_models
def test_the_purchasing_example_simulates_every_case_to_its_end(from_json):
    result = simulate_prosimos(from_json, cases=300, start=START, seed=3)
    assert result.cases == 300
    assert result.task_events > 300 * 10       # about 21 tasks per case
    assert result.mean_cycle_seconds > 0


@needs_models
def test_the_same_seed_gives_the_same_run(from_json):
    first = simulate_prosimos(from_json, cases=100, start=START, seed=9)
    again = simulate_prosimos(from_json, cases=100, start=START, seed=9)
    assert (again.mean_cycle_seconds, again.task_events) == (first.mean_cycle_seconds,
                                                             first.task_events)


def test_a_weekly_calendar_reads_prosimos_time_periods():
    cal = WeeklyCalendar.from_periods([
        {"from": "MONDAY", "to": "FRIDAY", "beginTime": "09:00:00", "endTime": "12:00:00"},
        {"from": "MONDAY", "to": "MONDAY", "beginTime": "11:00:00.000000+00:00",
         "endTime": "13:00:00"},
    ])
    assert cal.spans[0] == ((9 * 3600, 13 * 3600),)         # overlapping periods merge
    assert cal.spans[4] == ((9 * 3600, 12 * 3600),)
    assert cal.spans[6] == ()


def test_an_unknown_weekday_is_one_error():
    with pytest.raises(CapacityError, match="unknown weekday 'MONDY'.*'MONDAY'"):
        WeeklyCalendar.from_periods([{"from": "MONDY", "to": "FRIDAY",
                                      "beginTime": "09:00", "endTime": "17:00"}])


@needs_models
def test_a_parameter_file_with_an_unsupported_distribution_is_one_error(tmp_path):
    data = json.loads(PARAMS.read_text(encoding="utf-8"))
    data["task_resource_distribution"][0]["resources"][0]["distribution_name"] = "weibull"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(CapacityError, match="task_resource_distribution\\[0\\]: distribution "
                                            "'weibull' is not supported"):
        load_prosimos(BPMN, bad)


@needs_models
def test_a_bpmn_without_parameters_needs_a_parameter_file(tmp_path):
    plain = tmp_path / "plain.bpmn"
    text = BPMN.read_text(encoding="utf-8")
    plain.write_text(text[: text.index("<qbp:processSimulationInfo")] + "</definitions>\n",
                     encoding="utf-8")
    with pytest.raises(CapacityError, match="no simulation parameters.*--params"):
        load_prosimos(plain)


def test_a_resource_profile_that_cannot_be_a_department_id_is_one_error(tmp_path):
    """Departments made from Prosimos pools follow the id pattern; a pool named with a space
    is refused naming it, not a pydantic traceback."""
    from simulations.capacity.prosimos import procedure_with_params
    from simulations.interchange.bpmn import bpmn_procedure, load_bpmn

    bpmn = Path(__file__).parent / "data" / "bpmn" / "bpmnio_parallel.bpmn"
    always = [{"from": "MONDAY", "to": "SUNDAY", "beginTime": "00:00:00.000",
               "endTime": "23:59:59.999"}]
    fixed = {"distribution_name": "fix", "distribution_params": [{"value": 3600}]}
    params = {
        "resource_profiles": [{"id": "window staff", "name": "窗口", "resource_list": [
            {"id": "clerk", "amount": 2, "calendar": "always"}]}],
        "arrival_time_distribution": fixed,
        "arrival_time_calendar": always,
        "task_resource_distribution": [
            {"task_id": task, "resources": [{"resource_id": "clerk", **fixed}]}
            for task in ("Activity_licence", "Activity_food", "Activity_fire")],
        "resource_calendars": [{"id": "always", "time_periods": always}],
    }
    path = tmp_path / "params.json"
    path.write_text(json.dumps(params), encoding="utf-8")
    with pytest.raises(CapacityError, match=r"resource_profiles: resource profile id "
                                            r"'window staff' cannot be a department id"):
        procedure_with_params(bpmn_procedure(load_bpmn(bpmn)), load_prosimos(bpmn, path))
