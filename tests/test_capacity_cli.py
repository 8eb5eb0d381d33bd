"""The capacity, import-bpmn and export-bpmn commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from process_models.catalog import load_catalog_procedure
from process_models.loading import load_procedure

DATA = Path(__file__).parent / "data" / "bpmn"
PURCHASING = Path(__file__).resolve().parent.parent.parent / "shared" / "bench-models"


def test_capacity_prints_procedures_departments_and_a_what_if(run_cli):
    code, out, err = run_cli("capacity", "newborn", "--from", "2025-03-03", "--to", "2025-03-14",
                             "--staff", "hospital=+1", "--seed", "3")
    assert (code, err) == (0, "")
    assert "newborn" in out and "助产机构 (hospital)" in out and "假设" in out
    _, out, _ = run_cli("capacity", "newborn", "--from", "2025-03-03", "--to", "2025-03-14",
                        "--staff", "hospital=+1", "--seed", "3", "--lang", "en")
    assert "What if" in out and "Utilisation" in out and "task events simulated" in out


def test_capacity_json_holds_the_result_files_and_what_if(run_cli, tmp_path):
    staff = tmp_path / "staff.yaml"
    staff.write_text("hospital: 2\nhrss: 2\n", encoding="utf-8")
    arrivals = tmp_path / "arrivals.yaml"
    arrivals.write_text("newborn: {per_day: 3, urgent_share: 0.1}\n", encoding="utf-8")
    code, out, _ = run_cli("capacity", "newborn", "--from", "2025-03-03", "--to", "2025-03-14",
                           "--staff", str(staff), "--staff", "助产机构=+1",
                           "--arrivals", str(arrivals), "--replications", "2", "--json",
                           "--log", tmp_path / "log.csv", "--plots", tmp_path / "plots")
    assert code == 0
    data = json.loads(out)
    assert data["departments"]["hospital"]["staff"] == 2
    assert data["replications"] == 2
    hospital = [r for r in data["what_if"] if r["id"] == "hospital" and r["measure"] == "staff"]
    assert (hospital[0]["before"], hospital[0]["after"]) == (2, 3)
    assert (tmp_path / "log.csv").read_text(encoding="utf-8").startswith("case_id,step_id,")
    assert (tmp_path / "plots" / "capacity.html").exists()


@pytest.mark.parametrize("args, message", [
    (["--staff", "polise=+1"], "unknown department 'polise'.*did you mean 'police'"),
    (["--from", "2025-03-31"], "--to 2025-03-14 is before --from 2025-03-31"),
])
def test_capacity_bad_input_is_one_red_line(run_cli, args, message):
    base = {"--from": "2025-03-03", "--to": "2025-03-14"}
    extra = list(args)
    if "--from" in extra:
        base["--from"] = extra[extra.index("--from") + 1]
        del extra[extra.index("--from"):extra.index("--from") + 2]
    code, out, err = run_cli("capacity", "newborn", *[x for kv in base.items() for x in kv],
                             *extra)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    import re

    assert re.search(message, err)


def test_negative_arrival_rates_are_one_red_line(run_cli, tmp_path):
    arrivals = tmp_path / "arrivals.yaml"
    arrivals.write_text("newborn: {per_day: -3}\n", encoding="utf-8")
    code, _, err = run_cli("capacity", "newborn", "--from", "2025-03-03", "--to", "2025-03-14",
                           "--arrivals", arrivals)
    assert code == 2 and "newborn.per_day: rate below zero (-3)" in err


def test_capacity_runs_a_bpmn_file_with_choices(run_cli):
    code, out, _ = run_cli("capacity", DATA / "camunda_exclusive.bpmn", "--from", "2025-03-03",
                           "--to", "2025-03-07", "--json")
    assert code == 0 and json.loads(out)["procedures"]["Process_permit"]["cases"] > 0


@pytest.mark.skipif(not PURCHASING.exists(), reason=f"no {PURCHASING}")
def test_capacity_runs_the_purchasing_example_with_its_prosimos_parameters(run_cli):
    code, out, _ = run_cli("capacity", PURCHASING / "PurchasingExampleQBP.bpmn",
                           "--params", PURCHASING / "PurchasingExampleQBP_2.1.json",
                           "--from", "2025-03-03", "--to", "2025-03-07", "--json")
    data = json.loads(out)
    assert code == 0
    assert sum(d["staff"] for d in data["departments"].values()) == 47


def test_export_then_import_bpmn_gives_the_procedure_back(run_cli, tmp_path):
    bpmn, back = tmp_path / "newborn.bpmn", tmp_path / "newborn.yaml"
    assert run_cli("export-bpmn", "newborn", "-o", bpmn)[0] == 0
    code, out, _ = run_cli("import-bpmn", bpmn, "-o", back)
    assert code == 0 and "wrote" in out
    assert load_procedure(back) == load_catalog_procedure("newborn")


def test_import_bpmn_refuses_a_model_with_choices(run_cli, tmp_path):
    code, _, err = run_cli("import-bpmn", DATA / "camunda_exclusive.bpmn", "-o",
                           tmp_path / "x.yaml")
    assert code == 2 and "有 2 个排他网关（如 'Gateway_merge'）" in err
    assert not (tmp_path / "x.yaml").exists()


def test_import_bpmn_with_prosimos_parameters_says_what_it_cannot_keep(run_cli, tmp_path):
    params = tmp_path / "params.json"
    params.write_text(json.dumps({
        "resource_profiles": [{"id": "clerks", "name": "窗口", "resource_list": [
            {"id": "c1", "name": "c1", "amount": 1, "calendar": "cal",
             "assigned_tasks": ["Activity_licence", "Activity_food", "Activity_fire"]}]}],
        "arrival_time_distribution": {"distribution_name": "expon",
                                      "distribution_params": [{"value": 3600}]},
        "arrival_time_calendar": [{"from": "MONDAY", "to": "FRIDAY", "beginTime": "09:00:00",
                                   "endTime": "17:00:00"}],
        "resource_calendars": [{"id": "cal", "time_periods": [
            {"from": "MONDAY", "to": "FRIDAY", "beginTime": "09:00:00", "endTime": "17:00:00"}]}],
        "task_resource_distribution": [
            {"task_id": t, "resources": [{"resource_id": "c1", "distribution_name": d,
                                          "distribution_params": [{"value": v} for v in ps]}]}
            for t, d, ps in [("Activity_licence", "fix", [25200]),
                             ("Activity_food", "uniform", [3600, 7200]),
                             ("Activity_fire", "fix", [3600])]],
        "gateway_branching_probabilities": [],
    }), encoding="utf-8")
    out_file = tmp_path / "shop.yaml"
    code, out, _ = run_cli("import-bpmn", DATA / "bpmnio_parallel.bpmn", "--params", params,
                           "-o", out_file)
    assert code == 0
    assert "not kept: step 'Activity_food': uniform work time" in out
    proc = load_procedure(out_file)
    assert proc.step("Activity_licence").duration.days == pytest.approx(1.0)
    assert {d.id for d in proc.departments} == {"clerks"}
