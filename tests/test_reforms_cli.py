"""The reform commands: reform (a scenario, or the whole catalog), advise, and --gantt."""

import json

import pytest

from process_models.catalog import catalog_ids
from process_models.loading import load_procedure
from tests.test_reforms import SHOP


@pytest.fixture
def shop_file(tmp_path):
    path = tmp_path / "shop.yaml"
    path.write_text(SHOP, encoding="utf-8")
    return path


@pytest.fixture
def scenario_file(tmp_path):
    def write(text: str):
        path = tmp_path / "scenario.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")


def test_reform_prints_the_change_log_and_the_figures(run_cli, shop_file, scenario_file):
    scenario = scenario_file("levers:\n- lever: parallelise\n- {lever: commitment, steps: [food]}\n")
    code, out, err = run_cli("reform", shop_file, scenario)
    assert (code, err) == (0, "")
    assert "parallelise: food → fire: dependency dropped" in out
    assert "elapsed_working_days" in out and "42" in out and "18" in out


def test_reform_writes_the_reformed_procedure_and_a_gantt_chart(run_cli, shop_file, scenario_file,
                                                                tmp_path):
    scenario = scenario_file("levers: [{lever: parallelise}]\n")
    after, chart = tmp_path / "after.yaml", tmp_path / "chart.html"
    code, out, _ = run_cli("reform", shop_file, scenario, "-o", after, "--gantt", chart)
    assert code == 0 and f"wrote {after}" in out
    assert load_procedure(after).form == "after"
    assert "<svg" in chart.read_text(encoding="utf-8")


def test_reform_of_a_catalog_id_uses_its_catalog_scenario(run_cli):
    code, out, _ = run_cli("reform", "restaurant", "--json")
    data = json.loads(out)
    assert code == 0 and data["reproduces_published"] is True
    assert data["after"]["elapsed_working_days"] == 13
    assert {c["figure"] for c in data["published"]} >= {"elapsed_working_days", "materials"}
    assert data["changes"][0]["lever"] == "parallelise"


def test_reform_catalog_shows_published_against_computed_for_every_procedure(run_cli):
    code, out, _ = run_cli("reform", "--catalog")
    assert code == 0
    assert all(pid in out for pid in catalog_ids())
    assert "48 → 13" in out
    n = len(catalog_ids())
    assert f"{n} of {n} reforms reproduce" in out
    code, out, _ = run_cli("reform", "--catalog", "--json")
    assert [row["procedure_id"] for row in json.loads(out)] == catalog_ids()


@pytest.mark.parametrize("text, message", [
    ("levers: [{lever: paralelise}]", "unknown lever 'paralelise'"),
    ("levers: [{lever: eliminate, steps: [fyre]}]", "unknown step 'fyre' (did you mean 'fire'?)"),
    ("levers: [{lever: merge, steps: [licence, sign]}]", "licence → fire → sign is a legal chain"),
    ("levers: [{lever: commitment, steps: [fire]}]", "cannot switch to 告知承诺"),
])
def test_a_bad_scenario_is_one_red_line_and_exit_code_2(run_cli, shop_file, scenario_file, text,
                                                       message):
    code, out, err = run_cli("reform", shop_file, scenario_file(text + "\n"))
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("args", [(), ("--catalog", "restaurant")])
def test_reform_without_a_procedure_or_with_too_much_is_refused(run_cli, args):
    code, _, err = run_cli("reform", *args)
    assert code == 2 and "error:" in err


def test_advise_ranks_levers_and_prints_the_greedy_plan(run_cli, shop_file):
    code, out, _ = run_cli("advise", shop_file)
    assert code == 0
    assert "food → fire" in out and "greedy plan" in out
    assert "legal dependency" in out
    code, out, _ = run_cli("advise", shop_file, "--json")
    data = json.loads(out)
    assert data["options"][0]["saved_working_days"] == 17
    assert data["plan_elapsed_working_days"] < data["elapsed_working_days"]


def test_simulate_writes_a_gantt_chart(run_cli, shop_file, tmp_path):
    chart = tmp_path / "shop.png"
    code, _, _ = run_cli("simulate", shop_file, "--gantt", chart)
    assert code == 0 and chart.read_bytes()[:4] == b"\x89PNG"
