"""The reform commands: reform (a scenario, or the whole catalog), advise, and --gantt."""

import json
import re

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
    """The change log names the steps and says what changed in Chinese; ``--lang en`` says
    it in English with the same names."""
    scenario = scenario_file("levers:\n- lever: parallelise\n- {lever: commitment, steps: [food]}\n")
    code, out, err = run_cli("reform", shop_file, scenario)
    assert (code, err) == (0, "")
    assert "串联改并联：食品经营许可 → 消防安全检查：惯例依赖（法律未要求）取消，两步并行办理" in out
    assert "告知承诺：食品经营许可：承诺件 10 天 → 凭申请人承诺当场办结" in out
    assert "办理时间（工作日）" in out and "42" in out and "18" in out
    code, out, _ = run_cli("reform", shop_file, scenario, "--lang", "en")
    assert "Parallelise: 食品经营许可 → 消防安全检查: practice dependency (not required by " \
           "law) dropped" in out


def test_reform_writes_the_reformed_procedure_and_a_gantt_chart(run_cli, shop_file, scenario_file,
                                                                tmp_path):
    scenario = scenario_file("levers: [{lever: parallelise}]\n")
    after, chart = tmp_path / "after.yaml", tmp_path / "chart.html"
    code, out, _ = run_cli("reform", shop_file, scenario, "-o", after, "--gantt", chart)
    assert code == 0 and f"已写入 {after}" in out
    assert load_procedure(after).form == "after"
    assert "<svg" in chart.read_text(encoding="utf-8")


def test_reform_of_a_catalog_id_uses_its_catalog_scenario(run_cli):
    code, out, _ = run_cli("reform", "restaurant", "--json")
    data = json.loads(out)
    assert code == 0 and data["reproduces_published"] is False  # materials 21, not 17
    assert data["after"]["elapsed_working_days"] == 13
    by = {c["figure"]: c["reproduced_by"] for c in data["published"]}
    assert (by["elapsed_working_days"], by["materials"]) == ("sourced_limit", "none")
    assert sum(data["attribution"].values()) == 48 - 13
    assert {c["figure"] for c in data["published"]} >= {"elapsed_working_days", "materials"}
    assert data["changes"][0]["lever"] == "parallelise"


def test_reform_catalog_shows_published_against_computed_for_every_procedure(run_cli):
    code, out, _ = run_cli("reform", "--catalog")
    assert code == 0
    assert all(pid in out for pid in catalog_ids())
    assert "48 → 13" in out and "≤120" in out and "（推算）" in out
    code, out, _ = run_cli("reform", "--catalog", "--json")
    assert [row["procedure_id"] for row in json.loads(out)] == catalog_ids()


def test_reform_catalog_headline_counts_only_mechanism_and_sourced_limits(run_cli):
    """The headline counts the published (not inferred) after-figures reproduced by mechanism
    or by sourced after-limits, says how many of each, and sets the rest apart."""
    _, out, _ = run_cli("reform", "--catalog", "--json")
    checks = [c for row in json.loads(out) for c in row["published"]
              if c["published_after"] is not None]
    published = [c for c in checks if not c["inferred"]]
    mechanism = sum(c["reproduced_by"] == "mechanism" for c in published)
    sourced = sum(c["reproduced_by"] == "sourced_limit" for c in published)
    _, out, _ = run_cli("reform", "--catalog")
    assert (f"公布的改革后数字 {len(published)} 项，复现 {mechanism + sourced} 项："
            f"机制 {mechanism} 项，有来源的承诺时限 {sourced} 项") in out
    assert f"推算的数字 {len(checks) - len(published)} 项不计" in out


def test_reform_catalog_names_each_published_figure_it_no_longer_reproduces(run_cli):
    """Each published (not inferred) after-figure no scenario reproduces is named with its
    procedure, the published and the computed value, in Chinese by default."""
    _, out, _ = run_cli("reform", "--catalog", "--json")
    missed = [(row["name"], c) for row in json.loads(out) for c in row["published"]
              if c["reproduced_by"] == "none" and not c["inferred"]]
    assert missed, "every catalog figure reproduced: nothing to name"
    _, out, _ = run_cli("reform", "--catalog")
    line = next(x for x in out.splitlines() if x.startswith("未复现："))
    for name, c in missed:
        bound = "≤" if c["kind"] == "ceiling" else ""
        assert (f"{name}的" in line and f"（公布 {bound}{c['published_after']:g}，"
                f"计算 {c['computed_after']:g}）" in line)
    assert line.count("（公布") == len(missed)


def test_reform_catalog_json_carries_kind_source_reproduced_by_and_attribution(run_cli):
    """Every published figure has kind, source and reproduced_by; every procedure an
    attribution that sums to before − after elapsed working days exactly."""
    _, out, _ = run_cli("reform", "--catalog", "--json")
    for row in json.loads(out):
        for c in row["published"]:
            assert c["kind"] in ("value", "ceiling") and c["source"]
            assert "reproduced_by" in c
        elapsed = row["elapsed_working_days"]
        assert sum(row["attribution"].values()) == elapsed["before"] - elapsed["after"]


def test_reform_prints_where_the_compression_comes_from_and_the_calibration(run_cli):
    """The saved days appear lever by lever in the order applied, with the running elapsed
    time, and the before-model's calibration is stated."""
    code, out, _ = run_cli("reform", "newborn")
    assert code == 0
    assert "压缩的 12 个工作日来自（依次施加各举措，自 32 起）" in out
    assert re.search(r"串联改并联 +│ -12 +│ 20 ", out)
    assert "改革前模型的校准：惯例依赖把每一步串成一条链" in out


BAD_SCENARIOS = {
    "an unknown lever": (
        "levers: [{lever: paralelise}]", "levers[0].lever：没有举措 'paralelise'；可用的举措：",
        "levers[0].lever: unknown lever 'paralelise'; known: "),
    "an entry without its lever": (
        "levers: [{steps: [fire]}]", "levers[0]：每一项都要用 lever: 写明举措；可用的举措：",
        "levers[0]: each entry needs 'lever:' naming the lever; known: "),
    "no list of levers": (
        "- a", "应为含 levers: 的映射（一组改革举措）",
        "expected a mapping with 'levers:' (a list of lever applications)"),
    "a lever naming an unknown step": (
        "levers: [{lever: eliminate, steps: [fyre]}]",
        "levers[0].steps[0]：没有事项 'fyre'（是不是「fire」？）",
        "levers[0].steps[0]: unknown step 'fyre' (did you mean 'fire'?)"),
    "a dependency without its arrow": (
        "levers: [{lever: parallelise, dependencies: ['licence fire']}]",
        "levers[0].dependencies：依赖请写成 '前置事项 -> 事项'，实际为 'licence fire'",
        "levers[0].dependencies: write a dependency as 'predecessor -> step', got 'licence fire'"),
    "a scenario for another procedure": (
        "procedure: other\nlevers: [{lever: eliminate, steps: [fire]}]",
        "procedure：该改革方案用于流程 'other'，不是 'shop'",
        "procedure: this scenario is for procedure 'other', not 'shop'"),
    "a merge of one step": (
        "levers: [{lever: merge, steps: [fire]}]", "levers[0].steps：至少需要 2 项，实际为 ['fire']",
        "levers[0].steps: needs at least 2 entries, got ['fire']"),
    "a merge through a legal chain": (
        "levers: [{lever: merge, steps: [licence, sign]}]",
        "levers[0]：merge：不能合并 licence, sign：licence → fire → sign 是经过合并范围外事项的法定链条",
        "levers[0]: merge: cannot merge licence, sign: licence → fire → sign is a legal chain"),
    "parallel steps the law orders": (
        "levers: [{lever: parallelise, dependencies: ['licence -> fire']}]",
        "levers[0]：parallelise：licence → fire 是法定依赖，法律规定了先后顺序，不能并联",
        "levers[0]: parallelise: licence → fire is a legal dependency; the law requires"),
    "a compression without its measure": (
        "levers: [{lever: compress, steps: [fire]}]",
        "levers[0]：compress：factor、to_days、by_days 请只给其中一个",
        "levers[0]: compress: give exactly one of factor, to_days, by_days"),
    "a commitment no rule allows": (
        "levers: [{lever: commitment, steps: [fire]}]",
        "levers[0]：commitment：本模型未标明事项 'fire'（消防安全检查）可以告知承诺（无来源）",
        "levers[0]: commitment: step 'fire' (消防安全检查) is not marked as allowing 告知承诺"),
}
"""What is wrong → (the scenario, the start of its Chinese line after the file, the same in
English)."""


@pytest.mark.parametrize(("text", "zh", "en"), BAD_SCENARIOS.values(), ids=BAD_SCENARIOS)
def test_a_bad_scenario_is_one_line_in_the_readers_language_and_exit_code_2(
        run_cli, shop_file, scenario_file, text, zh, en):
    """A planner's scenario file is refused in Chinese by default, English with --lang en:
    one line naming the file and the entry, no traceback."""
    scenario = scenario_file(text + "\n")
    on_line_1 = not text.startswith("procedure")  # the header's field has no line
    zh_file, en_file = (f"{scenario} 第 1 行", f"{scenario}:1") if on_line_1 else (scenario,) * 2
    for lang, start in (("zh", f"错误：{zh_file}：{zh}"), ("en", f"error: {en_file}: {en}")):
        code, out, err = run_cli("reform", shop_file, scenario, "--lang", lang)
        assert (code, out) == (2, "")
        assert err.startswith(start) and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("args", [(), ("--catalog", "restaurant")])
def test_reform_without_a_procedure_or_with_too_much_is_refused(run_cli, args):
    code, _, err = run_cli("reform", *args)
    assert code == 2 and "error:" in err


def test_advise_ranks_levers_and_prints_the_greedy_plan(run_cli, shop_file):
    """Chinese by default, step names in the table, the modelled order named as the source
    of a saving, and no law claimed where the model has no source."""
    code, out, _ = run_cli("advise", shop_file)
    assert code == 0
    assert "食品经营许可 → 消防安全检查" in out and "组合方案" in out
    assert "来自建模时设定的串联顺序" in out and "本模型未标注可告知承诺（无来源）" in out
    assert "not allowed by law" not in out
    code, out, _ = run_cli("advise", shop_file, "--lang", "en")
    assert code == 0 and "Greedy plan" in out and "no source" in out
    code, out, _ = run_cli("advise", shop_file, "--json")
    data = json.loads(out)
    assert data["options"][0]["saved_working_days"] == 17
    assert data["plan_elapsed_working_days"] < data["elapsed_working_days"]


def test_simulate_writes_a_gantt_chart(run_cli, shop_file, tmp_path):
    chart = tmp_path / "shop.png"
    code, _, _ = run_cli("simulate", shop_file, "--gantt", chart)
    assert code == 0 and chart.read_bytes()[:4] == b"\x89PNG"
