"""The before/after report: pairing versions, per-item limits, totals, flags and its files."""

from __future__ import annotations

import json
import re

import pytest

from process_models.catalog import catalog_path, load_catalog_procedure
from process_models.errors import ScenarioError
from process_models.loading import save_procedure
from process_models.procedure import Limit
from simulations.planning.audit_report import (
    audit_report,
    load_pairs,
    pair_procedures,
    report_views,
)
from simulations.planning.metrics import measure


@pytest.fixture
def newborn():
    return load_catalog_procedure("newborn")


def _reformed(proc, **committed_days):
    steps = [s.model_copy(update={"committed": Limit(days=committed_days[s.id])})
             if s.id in committed_days else s for s in proc.steps]
    return proc.model_copy(update={"steps": steps, "form": "after", "version": "after"})


def test_two_versions_of_one_procedure_pair_before_against_after_whatever_the_order(newborn):
    after = _reformed(newborn, social_security_card=5)
    assert pair_procedures([after, newborn]) == [(newborn, after)]


def test_one_version_is_paired_with_its_catalog_reform_scenario(newborn):
    [(before, after)] = pair_procedures([newborn])
    assert before == newborn
    assert after.form == "after" and after.version.startswith("改革: ")
    assert measure(after).elapsed_working_days < measure(before).elapsed_working_days


def test_a_scenario_for_a_procedure_not_given_is_refused_with_a_suggestion(newborn):
    from simulations.planning.scenario import parse_scenario

    scenario = parse_scenario("procedure: newbron\nlevers: [{lever: share_data}]\n")
    with pytest.raises(ScenarioError, match="procedure 'newbron'.*did you mean 'newborn'"):
        pair_procedures([newborn], [scenario])


def test_per_item_limits_and_totals_follow_the_committed_limits(newborn):
    after = _reformed(newborn, social_security_card=5, maternity_benefit=4)
    report = audit_report([(newborn, after)])
    row = next(i for i in report.items if i.step_id == "social_security_card")
    assert (row.committed_before_days, row.committed_after_days, row.change_days) == (15, 5, -10)
    assert row.change_percent == pytest.approx(-66.7)
    before_sum = sum(s.committed.days for s in newborn.steps)
    assert report.item_totals.before_days == before_sum
    assert report.item_totals.after_days == before_sum - 16
    assert str(report.item_totals) == (
        f"9个事项：承诺时限合计{before_sum:g}个工作日压缩至{before_sum - 16:g}个，"
        f"压缩{16 / before_sum * 100:.1f}%")
    assert report.comparisons[0].elapsed_working_days.before == measure(newborn).elapsed_working_days


def test_items_whose_committed_limit_is_not_below_the_statutory_one_are_flagged(newborn):
    """Flagged: committed ≥ statutory (except both 0, 当场办结 cannot be shorter)."""
    steps = [s.model_copy(update={"statutory": Limit(days=10)}) if s.id == "maternity_benefit"
             else s.model_copy(update={"statutory": Limit(days=20)})
             if s.id == "social_security_card" else s for s in newborn.steps]
    before = newborn.model_copy(update={"steps": steps})
    report = audit_report([(before, _reformed(before, social_security_card=5))])
    flagged = {i.step_id for i in report.flagged}
    assert "maternity_benefit" in flagged          # committed 10 = statutory 10
    assert "social_security_card" not in flagged   # 5 < 20
    assert "household_registration" not in flagged  # 当场: statutory 0, committed 0


def test_follow_up_checks_are_listed_apart_and_in_no_sum():
    """事中事后核查 after 告知承诺 is supervision, not 办理时限: the restaurant's check of its
    fire-safety inspection (10 days) appears in its own view and in none of the item sums."""
    pairs = load_pairs(["restaurant"])
    report = audit_report(pairs)
    checks = [i for i in report.items if i.follow_up_check]
    assert {i.step_id for i in checks} == {"fire_inspection_verification"}
    after = pairs[0][1]
    assert report.item_totals.after_days == sum(
        s.committed.days for s in after.steps if not s.follow_up)
    assert report.item_totals.checks == 1
    views = {v.title: list(v.rows) for v in report_views(report)}
    assert len(views["事中事后核查"]) == 1
    assert not any("verification" in row[1] for row in views["事项"])


def test_items_count_the_distinct_items_before_the_reform(newborn):
    """Nine newborn items merged into one bundle are still nine 事项, not ten."""
    report = audit_report(load_pairs(["newborn"]))
    assert report.item_totals.items == len(newborn.steps) == 9


def test_a_joint_bundle_takes_the_joint_statutory_limit_and_is_not_flagged():
    """行政许可法 第26条: a joint procedure of several departments takes at most 45 days; its
    statutory limit is not its members' longest (a local 当场办理 stored as statutory 0)."""
    report = audit_report(load_pairs(["newborn"]))
    bundle = next(i for i in report.items if i.step_id == "newborn_bundle")
    assert (bundle.statutory_days, bundle.flagged) == (45, False)


def test_scenarios_name_the_lead_department_of_a_joint_acceptance():
    report = audit_report(load_pairs(["construction_permit"]))
    joint = next(i for i in report.items if i.step_id == "joint_acceptance")
    assert joint.department == "住房和城乡建设局"


def test_immediate_share_counts_即办件_before_and_after(newborn):
    after = _reformed(newborn, social_security_card=0)
    report = audit_report([(newborn, after)])
    immediate = sum(s.kind.value == "即办件" or s.committed.days == 0 for s in newborn.steps)
    assert report.item_totals.immediate_before == round(immediate / 9, 4)
    assert report.item_totals.immediate_after > report.item_totals.immediate_before


def test_load_pairs_reads_files_scenarios_and_catalog_ids(newborn, tmp_path):
    before, after = tmp_path / "before.yaml", tmp_path / "after.yaml"
    save_procedure(newborn, before)
    save_procedure(_reformed(newborn, social_security_card=5), after)
    assert [a.version for _, a in load_pairs([before, after])] == ["after"]
    scenario = tmp_path / "reform.yaml"
    scenario.write_text("procedure: newborn\nname: 数据共享\nlevers: [{lever: share_data}]\n",
                        encoding="utf-8")
    assert [a.version for _, a in load_pairs([catalog_path("newborn"), scenario])] == \
        ["改革: 数据共享"]
    with pytest.raises(ScenarioError, match="'newbron' is neither a file nor a catalog "
                                            "procedure.*did you mean 'newborn'"):
        load_pairs(["newbron"])


# --- the command -----------------------------------------------------------------------------


def test_report_table_prints_the_portfolio_headline(run_cli):
    """The headline is Chinese in the report (8个一件事：办理时限…压缩至…); --lang en gives English."""
    code, out, err = run_cli("audit", "report", "newborn")
    assert (code, err) == (0, "")
    assert "1个一件事：办理时限32个工作日压缩至20个，压缩37.5%" in out
    assert "事项" in out and "汇总" in out
    code, out, _ = run_cli("audit", "report", "newborn", "--lang", "en")
    assert code == 0 and "1 procedures: elapsed 32 → 20 working days, −37.5%" in out


def test_every_line_of_the_report_follows_the_language(run_cli, tmp_path):
    """Chinese by default; with ``--lang en`` the views, the sourced share and the chain's
    anchor line are English, and the only Chinese left is in names (of procedures, items,
    departments, versions) and in the domain's 即办件."""
    code, zh, _ = run_cli("audit", "report", "newborn", "--database",
                          f"sqlite:///{tmp_path / 'none.db'}")
    assert code == 0
    assert "改革前有来源的承诺时限" in zh and "审计链锚点：—（没有案件数据库）" in zh
    code, en, _ = run_cli("audit", "report", "newborn", "--lang", "en", "--database",
                          f"sqlite:///{tmp_path / 'none.db'}")
    assert code == 0
    assert "before: sourced committed limits 2/9 (22%); after: sourced committed limits" in en
    assert "audit chain anchor: — (no case database)" in en
    assert "Audit report · Items" in en and "Headline" in en
    newborn = load_pairs(["newborn"])[0]
    names = {x for p in newborn for x in (p.name, p.version, *(
        y.name for y in (*p.steps, *p.departments)))} | {"即办件"}
    left = {run for run in re.findall(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]+", en)
            if not any(run in name for name in names)}
    assert not left


def test_report_json_holds_items_procedures_and_totals(run_cli):
    code, out, _ = run_cli("audit", "report", "newborn", "--format", "json")
    data = json.loads(out)
    assert code == 0
    assert data["totals"]["headline"] == "1个一件事：办理时限32个工作日压缩至20个，压缩37.5%"
    assert data["totals"]["headline_en"] == "1 procedures: elapsed 32 → 20 working days, −37.5%"
    assert len(data["items"]) == data["item_totals"]["items"] + 1   # + the newborn bundle


def test_report_csv_is_utf8_with_bom_and_one_row_per_item(run_cli, tmp_path):
    out = tmp_path / "report.csv"
    code, _, err = run_cli("audit", "report", "newborn", "--format", "csv", "-o", out)
    assert (code, err) == (0, "")
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].split(",")[:3] == ["一件事", "事项编号", "事项"]
    assert len(lines) == 1 + len(audit_report(load_pairs(["newborn"])).items)


def test_report_xlsx_has_one_sheet_per_view_with_chinese_headers(run_cli, tmp_path):
    from openpyxl import load_workbook

    out = tmp_path / "report.xlsx"
    assert run_cli("audit", "report", "newborn", "restaurant", "--format", "xlsx",
                   "-o", out)[0] == 0
    wb = load_workbook(out)
    assert wb.sheetnames == ["事项", "一件事", "事中事后核查", "汇总"]
    assert wb["一件事"]["A1"].value == "一件事" and wb["一件事"].max_row == 3
    assert wb["汇总"]["A2"].value == "一件事 办理时限合计(工作日)"


def test_report_html_is_printable_and_self_contained(run_cli, tmp_path):
    out = tmp_path / "report.html"
    assert run_cli("audit", "report", "--format", "html", "-o", out)[0] == 0
    text = out.read_text(encoding="utf-8")
    assert "@media print" in text and "@page" in text
    assert "<script" not in text and "http" not in text.split("</style>")[0]
    assert text.count("<table>") == 4


@pytest.mark.parametrize(("args", "message"), [
    (("--format", "xls", "-o", "x.xls"), "unknown format 'xls'.*did you mean 'xlsx'"),
    (("--format", "csv"), "--format csv writes a file; give it with -o FILE"),
])
def test_report_bad_options_give_one_line_and_exit_2(run_cli, args, message):
    import re

    code, _, err = run_cli("audit", "report", "newborn", *args)
    assert code == 2
    assert re.search(message, err)
