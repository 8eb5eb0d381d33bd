"""``onething simulate``, ``compare`` and ``portfolio``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from process_models.catalog import catalog_ids
from process_models.loading import load_procedure, save_procedure
from tests.conftest import ROOT

FIGURE_KEYS = ["elapsed_working_days", "sequential_working_days", "critical_path", "slack",
               "summed_limit_days", "steps", "links", "materials", "trips", "departments",
               "windows"]
RISK_KEYS = ["p50", "p90", "p95", "on_time_probability", "criticality"]


@pytest.mark.parametrize("procedure_id", catalog_ids())
def test_simulate_json_holds_every_documented_key_for_each_catalog_procedure(run_cli, procedure_id):
    code, out, err = run_cli("simulate", procedure_id, "--json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert all(k in data for k in FIGURE_KEYS)
    assert not any(k in data for k in RISK_KEYS)
    assert data["critical_path"] == data["critical_paths"][0]
    assert set(data["slack"]) == set(data["schedule"])


def test_simulate_with_runs_adds_the_risk_figures(run_cli, catalog_file):
    code, out, _ = run_cli("simulate", catalog_file, "--runs", "2000", "--seed", "3", "--json")
    data = json.loads(out)
    assert code == 0 and all(k in data for k in RISK_KEYS)
    assert data["p50"] <= data["p90"] <= data["p95"]
    assert data["monte_carlo"]["runs"] == 2000 and data["monte_carlo"]["seed"] == 3
    assert set(data["criticality"]) <= set(data["slack"])


def test_simulate_with_a_start_date_gives_dates_per_step(run_cli):
    code, out, _ = run_cli("simulate", "newborn", "--start", "2025-01-24", "--json")
    data = json.loads(out)
    assert code == 0 and data["start"] == "2025-01-24"
    assert set(data["dates"]) == set(data["slack"])
    assert all(d["start"] <= d["finish"] for d in data["dates"].values())
    assert "calendar_days_converted" not in data


def test_simulate_prints_a_table_with_the_critical_path_and_the_risk(run_cli):
    code, out, _ = run_cli("simulate", "newborn", "--runs", "1000")
    assert code == 0
    assert "关键路径 1：" in out and "P90" in out and "关键度：" in out


@pytest.mark.slow   # every catalog procedure twice, seconds
def test_statutory_limits_never_take_longer_than_committed_ones_on_the_catalog(run_cli):
    """Committed limits are promises shorter than or equal to the law's."""
    for pid in catalog_ids():
        _, committed, _ = run_cli("simulate", pid, "--json")
        _, statutory, _ = run_cli("simulate", pid, "--limits", "statutory", "--json")
        assert json.loads(statutory)["limits"] == "statutory"
        assert json.loads(committed)["summed_limit_days"] <= json.loads(statutory)["summed_limit_days"]


@pytest.mark.parametrize(("args", "message"), [
    (["simulate", "newborn", "--limits", "comitted"], "did you mean 'committed'"),
    (["simulate", "newborn", "--start", "2025-02-30"], "--start: '2025-02-30' is not a date"),
    (["simulate", "newbron"], "no catalog procedure 'newbron'"),
    (["compare", "newborn", "missing.yaml"], "missing.yaml"),
])
def test_bad_input_gives_one_red_line_and_exit_code_2(run_cli, args, message):
    code, out, err = run_cli(*args, "--lang", "en")
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1


def test_compare_reports_the_change_of_every_figure(run_cli, tmp_path):
    before = load_procedure(ROOT / "process_models" / "catalog" / "newborn.yaml")
    after = before.model_copy(update={"steps": [
        s.model_copy(update={"depends_on": [], "trips": min(s.trips, 1)}) for s in before.steps]})
    save_procedure(after, tmp_path / "after.yaml")
    code, out, _ = run_cli("compare", "newborn", tmp_path / "after.yaml", "--json")
    data = json.loads(out)
    assert code == 0
    change = data["change"]["elapsed_working_days"]
    assert change["after"] <= change["before"]
    assert change["absolute"] == change["after"] - change["before"]
    code, out, _ = run_cli("compare", "newborn", tmp_path / "after.yaml", "--runs", "500")
    assert code == 0 and "蒙特卡洛配对模拟" in out and "串联时间（工作日）" in out


def test_portfolio_pairs_before_and_after_forms_by_id(run_cli, tmp_path):
    for pid in catalog_ids()[:2]:
        before = load_procedure(ROOT / "process_models" / "catalog" / f"{pid}.yaml")
        save_procedure(before, tmp_path / f"{pid}.yaml")
    first = load_procedure(tmp_path / f"{catalog_ids()[0]}.yaml")
    after = first.model_copy(update={"form": "after", "steps": [
        s.model_copy(update={"depends_on": []}) for s in first.steps]})
    save_procedure(after, tmp_path / "after.yaml")
    code, out, _ = run_cli("portfolio", tmp_path, "--json")
    data = json.loads(out)
    assert code == 0 and data["items"] == 2
    assert data["unchanged"] == [catalog_ids()[1]]
    assert data["after"]["elapsed_working_days"] <= data["before"]["elapsed_working_days"]
    code, out, _ = run_cli("portfolio", tmp_path)
    assert code == 0 and "2个一件事：办理时限" in out


@pytest.mark.slow  # a child process
def test_simulate_starts_no_thread_besides_its_own():
    """numpy's OpenBLAS would start spinning threads at import, CPU the command does not use."""
    probe = ("import os, sys; from api.cli import run; run(['simulate', 'newborn', '--json']); "
             "print(len(os.listdir('/proc/self/task')), file=sys.stderr)")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=ROOT, env=env, check=True)
    assert done.stderr.strip().splitlines()[-1] == "1"


@pytest.mark.slow  # a child process
def test_simulate_imports_neither_networkx_nor_prefect_nor_the_web_stack():
    """The command must answer fast; these imports alone would cost more than it may."""
    probe = ("import sys; from api.cli import run; run(['simulate', 'newborn', '--json']); "
             "print(sorted(m for m in ('networkx', 'prefect', 'fastapi', 'starlette', "
             "'matplotlib', 'sqlmodel', 'api.cli.cases', 'api.cli.audit') "
             "if m in sys.modules), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=ROOT, check=True)
    assert done.stderr.strip().splitlines()[-1] == "[]"


def test_simulate_finish_by_gives_the_latest_dates_and_acceptance_day(run_cli):
    """``--finish-by`` adds ``accept_by`` and each step's latest start and finish dates to the
    JSON; accepting on ``accept_by`` finishes by the date."""
    code, out, err = run_cli("simulate", "newborn", "--finish-by", "2025-02-28", "--json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert data["finish_by"] == "2025-02-28"
    assert all({"latest_start_date", "latest_finish_date"} <= set(times)
               for times in data["schedule"].values())
    _, out, _ = run_cli("simulate", "newborn", "--start", data["accept_by"], "--json")
    assert max(d["finish"] for d in json.loads(out)["dates"].values()) <= "2025-02-28"


def test_simulate_finish_by_prints_step_names_in_chinese(run_cli):
    """The backward schedule speaks Chinese and names steps, never bare ids."""
    code, out, _ = run_cli("simulate", "newborn", "--finish-by", "2025-02-28")
    assert code == 0
    backward = out[out.index("倒排审批日期"):]
    assert "最晚" in backward and "社会保障卡申领" in backward
    assert "social_security_card" not in backward


def test_simulate_finish_by_refuses_a_bad_date_in_one_line(run_cli):
    """In Chinese by default, in English with --lang en."""
    assert run_cli("simulate", "newborn", "--finish-by", "2025-02-30") == (
        2, "", "错误：--finish-by：'2025-02-30' 不是日期；请写成 YYYY-MM-DD\n")
    code, out, err = run_cli("simulate", "newborn", "--finish-by", "2025-02-30", "--lang", "en")
    assert code == 2 and out == ""
    assert "--finish-by: '2025-02-30' is not a date; use YYYY-MM-DD" in err
