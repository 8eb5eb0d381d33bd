"""The county item registry (事项目录): reading the lists counties keep, located errors,
writing them back, the demo county, and the county report in 宾县's format."""

from __future__ import annotations

import json
import warnings
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from process_models.errors import DuplicateId, RegistryError, UnknownReference
from process_models.procedure import Limit, StepKind, Unit
from process_models.registry import (
    Item,
    OnlineLevel,
    Registry,
    demo_county,
    demo_versions,
    load_registry,
    registry_from_sheets,
    save_registry,
)
from process_models.table_files import TableWarning, write_table
from simulations.planning.county_report import county_report
from tests.strategies import registries

HEADERS = ["序号", "事项编码", "事项名称", "事项类型", "实施主体", "行使层级", "办件类型",
           "法定时限（工作日）", "承诺时限（工作日）", "是否网上可办", "到现场次数", "申请材料",
           "要件数", "办理环节数", "收费标准", "设定依据", "数据依据", "来源"]
COUNTY_ROWS = [
    [1, "A1", "食品经营许可", "行政许可", "县市场监督管理局", "县级", "承诺件", 20, 5, "是", 1,
     "申请书、营业执照", "", 3, "不收费", "《食品安全法》", "", ""],
    [2, "A2", "药品零售许可", "行政许可", None, "县级", "承诺件", 20, 20, "否", 2, "", 4, 4,
     "不收费", "《药品管理法》", "", ""],
    [3, "A3", "个体工商户登记咨询", "公共服务", None, "县级", "即办件", "", "即办", "是", 0,
     "申请书", "", 1, "不收费", "", "", ""],
    [4, "A4", "户口迁移", "行政确认", "县公安局", "县级", "承诺件", 30, 10, "是", 1, "", 2, 3,
     "", "《户口登记条例》", "S", "测试县实施清单2026"],
]
# The township sheet spells its headers differently and writes limits with their unit.
TOWN_HEADERS = ["事项编码", "名称", "部门", "层级", "法定办结时限", "承诺办结时限", "网办深度",
                "跑动次数"]
TOWN_ROWS = [
    ["B1", "临时救助", "县民政局", "乡镇", "", "3个工作日", "三级", "1次"],
    ["B2", "居住登记", "县公安局", "村", "15自然日", "10自然日", "二级", "0"],
]


@pytest.fixture
def county_xlsx(tmp_path) -> Path:
    """A county list in three sheets: a cover, the county items (a title row, the
    department merged over three rows), the township items under other header spellings."""
    book = Workbook()
    cover = book.active
    cover.title = "封面"
    cover.append(["测试县政务服务事项目录"])
    county = book.create_sheet("县级事项")
    county.append(["测试县政务服务事项实施清单（2026年）"])
    county.append(HEADERS)
    for row in COUNTY_ROWS:
        county.append(row)
    department = HEADERS.index("实施主体") + 1
    county.merge_cells(start_row=3, end_row=5, start_column=department, end_column=department)
    town = book.create_sheet("乡级事项")
    town.append(TOWN_HEADERS)
    for row in TOWN_ROWS:
        town.append(row)
    path = tmp_path / "测试县.xlsx"
    book.save(path)
    return path


@pytest.fixture
def county(county_xlsx) -> Registry:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TableWarning)
        return load_registry(county_xlsx)


def test_every_sheet_with_a_header_contributes_its_items_and_a_cover_is_passed_over(county):
    """The cover has no header; both item sheets are read, whatever their spellings."""
    assert [i.code for i in county.items] == ["A1", "A2", "A3", "A4", "B1", "B2"]
    assert [d.name for d in county.departments] == ["县市场监督管理局", "县公安局", "县民政局"]


def test_a_merged_department_is_every_row_s_department_with_a_warning(county_xlsx):
    """Excel keeps a merged cell's value in its top row; each row it spans gets it, and the
    reader says so."""
    with pytest.warns(TableWarning, match=r"sheet 县级事项: merged cells E3:E5"):
        registry = load_registry(county_xlsx)
    assert {registry.item(c).department for c in ("A1", "A2", "A3")} == {
        registry.items[0].department}


def test_cells_are_read_as_counties_write_them(county):
    """即办 is 0 days and makes a 即办件; 15自然日 is calendar days; 三级 is 网上可办; 1次 is one
    trip; 不收费 is a fee of 0; listed materials are counted."""
    a1, a3, b1, b2 = (county.item(c) for c in ("A1", "A3", "B1", "B2"))
    assert (a1.material_count, a1.materials, a1.fee_yuan) == (2, ["申请书", "营业执照"], 0.0)
    assert (a3.committed.days, a3.kind) == (0.0, StepKind.immediate)
    assert (b1.online, b1.online_level, b1.trips) == (True, OnlineLevel.pre_review, 1)
    assert b2.statutory == Limit(days=15, unit=Unit.calendar) and b2.online is False


def test_the_hand_counted_list_gives_exactly_the_hand_counted_totals(county):
    """Six items, three departments; online A1 A3 A4 B1; at most one trip all but A2; one
    即办件; compressed (20−5)+(20−20)+(30−10)+(15−10) = 40 of 85 statutory days; A2 kept
    its statutory limit; only A4 is sourced (1 of 4 items behind the compression)."""
    report = county_report(county)
    assert (report.items, report.departments) == (6, 3)
    assert (report.online, Fraction(report.online_share).limit_denominator()) == (4, Fraction(4, 6))
    assert (report.at_most_one_trip, report.at_most_one_trip_share) == (5, 5 / 6)
    assert (report.immediate, report.immediate_share) == (1, 1 / 6)
    assert (report.baseline_days, report.compressed_days) == (85, 40)
    assert report.compression_share == 40 / 85
    assert report.not_compressed == ["A2"]
    assert (report.materials_removed, report.links_removed) == (None, None)
    assert report.basis["committed"] == 1 / 6 and report.basis["compression"] == 1 / 4
    assert [(g.name, g.items) for g in report.per_level] == [("县级", 4), ("乡级", 1), ("村级", 1)]
    police = next(g for g in report.per_department if g.name == "县公安局")
    assert (police.items, police.online, police.compressed_days, police.baseline_days) == (
        2, 1, 25, 45)


def test_against_a_before_list_the_report_counts_what_was_removed(county):
    """Matched by 事项编码: A1 15→5 and 4→2 materials, 5→3 环节; A2 unchanged; A4 30→10, 3→2
    materials, 4→3 环节; OLD1 was dropped; A3, B1, B2 are new."""
    before = registry_from_sheets([("before.csv", [
        ["事项编码", "事项名称", "实施主体", "承诺时限", "要件数", "办理环节数"],
        ["A1", "食品经营许可", "县市场监督管理局", 15, 4, 5],
        ["A2", "药品零售许可", "县市场监督管理局", 20, 4, 4],
        ["A4", "户口迁移", "县公安局", 30, 3, 4],
        ["OLD1", "已取消事项", "县公安局", 10, 1, 1],
    ], [])])
    report = county_report(county, before)
    assert (report.compared_with, report.baseline_days, report.compressed_days) == (
        "before", 65, 30)
    assert (report.materials_removed, report.links_removed) == (3, 3)
    assert (report.items_added, report.items_removed) == (3, 1)
    assert "减少要件3件，精简审批环节3个，办理时限共压缩30天，压缩比例46.2%（对照改革前承诺时限）" in \
        report.headline()


def list_rows(**changes) -> list[list]:
    """A small list as CSV rows; ``changes`` replace cells of the first item by header."""
    header = ["事项编码", "事项名称", "实施主体", "法定时限", "承诺时限", "是否网上可办", "网办深度",
              "要件数", "申请材料", "到现场次数", "收费标准", "行使层级"]
    first = dict.fromkeys(header, "")
    first.update({"事项编码": "X1", "事项名称": "食品经营许可", "实施主体": "县市场监督管理局",
                  "法定时限": 20, "承诺时限": 5})
    first.update(changes)
    return [header, [first[h] for h in header],
            ["X2", "户口迁移", "县公安局", "", 3, "", "", "", "", "", "", ""]]


@pytest.mark.parametrize(("changes", "message"), [
    ({"承诺时限": "二十天"}, ("row 2, 承诺时限: '二十天' is not a time limit; write e.g. 20, "
                          "20个工作日, 15自然日 or 即办")),
    ({"承诺时限": 30}, ("row 2, 承诺时限: the committed limit (30 days) is longer than the "
                     "statutory one (20 days); commit to at most 20")),
    ({"是否网上可办": "是", "网办深度": "二级"}, ("row 2, 网办深度: 网上可办 says 是 but 网办深度 is "
                                           "二级; an item is 网上可办 from 三级 up")),
    ({"要件数": 3, "申请材料": "申请书、营业执照"}, "row 2, 要件数: 要件数 says 3 but 2 materials"),
    ({"到现场次数": "多次"}, "row 2, 到现场次数: '多次' is not a whole number"),
    ({"收费标准": "按规定收取"}, ("row 2, 收费标准: '按规定收取' is not an amount; write the fee "
                            "in yuan")),
    ({"行使层级": "省级"}, "row 2, 行使层级: '省级' is not allowed; use 县级 or 乡级 or 村级"),
    ({"是否网上可办": "也许"}, "row 2, 是否网上可办: '也许' is not 是 or 否"),
    ({"事项名称": ""}, "row 2, 事项名称: is empty; every item needs its 事项名称"),
    ({"事项编码": "X2"}, "row 3, 事项编码: 事项编码 'X2' is already used in row 2; give each item its own code"),
    ({"事项编码": "A 1"}, "row 2, 事项编码: String should match pattern"),
])
def test_a_bad_cell_is_one_line_naming_row_column_value_and_fix(tmp_path, changes, message):
    """Each bad cell is refused with the file, row, header as written, the value and a fix."""
    path = tmp_path / "list.csv"
    write_table(list_rows(**changes), path)
    with pytest.raises(RegistryError) as caught:
        load_registry(path)
    assert str(caught.value).startswith(f"{path}: ") and message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_list_without_the_needed_columns_names_them_and_the_mapping_fix(tmp_path):
    """No 实施主体 column: the error names it and shows the mapping line that fixes it."""
    path = tmp_path / "list.csv"
    write_table([["事项编码", "事项名称", "办理主体", "承诺时限"], ["X1", "许可", "县局", 5]], path)
    with pytest.raises(RegistryError, match=r"row 1: no header row .* missing 实施主体; rename "
                                            r"the column or map it in a --mapping file"):
        load_registry(path)


def test_a_mapping_file_adds_the_county_s_own_headers(tmp_path):
    """``办理主体: department`` makes 办理主体 the department column."""
    path, mapping = tmp_path / "list.csv", tmp_path / "mapping.yaml"
    write_table([["事项编码", "事项名称", "办理主体", "承诺时限"], ["X1", "许可", "县局", 5]], path)
    mapping.write_text("办理主体: department\n", encoding="utf-8")
    assert load_registry(path, mapping=mapping).departments[0].name == "县局"


def test_a_mapping_to_an_unknown_column_is_one_line_with_a_did_you_mean(tmp_path):
    """A typo in the mapping's column names the line and the column meant."""
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("事项代码: code\n办理主体: departmnt\n", encoding="utf-8")
    with pytest.raises(RegistryError, match=r"mapping.yaml:2: header '办理主体' maps to unknown "
                                            r"column 'departmnt'.*did you mean 'department'"):
        load_registry(tmp_path / "any.csv", mapping=mapping)


def test_a_registry_names_its_items_by_code_with_a_did_you_mean(county):
    """A bundle looks an item up by 事项编码; a typo is told the closest code."""
    assert county.item("A4").committed.days == 10
    with pytest.raises(UnknownReference, match=r"no item 'A5'.*did you mean 'A1'"):
        county.item("A5")
    with pytest.raises(UnknownReference, match=r"no department 'd_x'"):
        county.department("d_x")
    assert county.department(county.item("A4").department).name == "县公安局"


def test_the_example_mapping_file_reads(tmp_path):
    """The mapping shipped as an example maps 办理主体 and 事项代码 to their columns."""
    from process_models.registry.columns import load_mapping

    example = Path(__file__).parent.parent / "process_models/registry/example-mapping.yaml"
    path = tmp_path / "list.csv"
    write_table([["事项代码", "事项名称", "办理主体", "承诺办结时间"], ["X1", "许可", "县局", 5]], path)
    assert load_mapping(example)["办理主体"] == "department"
    assert load_registry(path, mapping=example).item("X1").committed.days == 5


def test_a_yaml_registry_is_checked_like_a_list(tmp_path):
    """Two items with one code, or an item naming a department not listed, are refused."""
    item = {"code": "X1", "name": "许可", "department": "d1", "committed": {"days": 5}}
    body = {"id": "r", "name": "县", "departments": [{"id": "d1", "name": "县局"}]}
    path = tmp_path / "r.yaml"
    save_registry(Registry(**body, items=[Item(**item)]), path)
    assert load_registry(path).item("X1").name == "许可"
    path.write_text(json.dumps({**body, "items": [item, item]}), encoding="utf-8")
    with pytest.raises(DuplicateId, match=r"items\[1\].code: 事项编码 'X1' is used twice"):
        load_registry(path)
    path.write_text(json.dumps({**body, "items": [{**item, "department": "d2"}]}),
                    encoding="utf-8")
    with pytest.raises(UnknownReference, match=r"items\[0\].department: unknown department "
                                               r"'d2'.*did you mean 'd1'"):
        load_registry(path)


@pytest.mark.parametrize(("suffix", "headers"), [
    (".xlsx", "zh"), (".csv", "zh"), (".csv", "en"), (".yaml", "zh")])
def test_the_demo_county_round_trips_through_every_format(tmp_path, suffix, headers):
    """Export then import gives back the same name, departments, items and synthetic mark."""
    county = demo_county(200, seed=7)
    path = tmp_path / f"county{suffix}"
    save_registry(county, path, headers=headers)
    back = load_registry(path)
    assert (back.name, back.items, back.departments, back.synthetic) == (
        county.name, county.items, county.departments, True)


def as_named(registry: Registry) -> list[dict]:
    """The items with their departments by name (a list derives department ids)."""
    names = {d.id: d.name for d in registry.departments}
    return [{**i.model_dump(), "department": names[i.department],
             "co_departments": [names[d] for d in i.co_departments]} for i in registry.items]


@settings(max_examples=40, deadline=None)
@given(registry=registries(), suffix=st.sampled_from([".csv", ".xlsx"]))
def test_any_registry_round_trips_through_a_list(tmp_path_factory, registry, suffix):
    """Whatever a registry holds, its list reads back as the same name, mark and items."""
    path = tmp_path_factory.mktemp("list") / f"county{suffix}"
    save_registry(registry, path)
    back = load_registry(path)
    assert (back.name, back.synthetic) == (registry.name, registry.synthetic)
    assert as_named(back) == as_named(registry)


def test_the_demo_county_has_binxian_s_published_totals():
    """1,038 items, 27 departments, 1,002 online, 1,019 at most one trip; the before-version
    has 192 more materials and 227 more 环节 (宾县's removals)."""
    before, after = demo_versions()
    report = county_report(after, before)
    assert (report.items, report.departments, report.online, report.at_most_one_trip) == (
        1038, 27, 1002, 1019)
    assert (report.materials_removed, report.links_removed, report.synthetic) == (192, 227, True)
    assert after == demo_versions()[1]   # a fixed seed: the same county every time


@settings(max_examples=15, deadline=None)
@given(items=st.integers(27, 300), seed=st.integers(0, 2**32))
def test_per_department_and_per_level_tables_add_up_to_the_totals(items, seed):
    """For any demo county, each table's counts and days sum to the headline figures, and
    every share lies between 0 and 1."""
    report = county_report(demo_county(items, seed=seed))
    for groups in (report.per_department, report.per_level):
        for figure in ("items", "online", "at_most_one_trip", "immediate", "compressed_days",
                       "baseline_days", "not_compressed"):
            total = getattr(report, figure)
            assert sum(getattr(g, figure) for g in groups) == (
                len(total) if isinstance(total, list) else total)
    shares = [report.online_share, report.at_most_one_trip_share, report.immediate_share,
              report.compression_share, *report.basis.values()]
    assert all(0 <= s <= 1 for s in shares if s is not None)


# --- the command line --------------------------------------------------------------------------


def test_registry_report_json_carries_the_binxian_keys_and_the_synthetic_mark(run_cli):
    """``registry report demo --json``: the issue's keys, per-department and per-level lists,
    the basis shares and ``synthetic: true``."""
    code, out, _ = run_cli("registry", "report", "demo", "--json")
    data = json.loads(out)
    assert code == 0 and data["synthetic"] is True
    assert {"items", "departments", "online", "online_share", "at_most_one_trip",
            "at_most_one_trip_share", "immediate_share", "compressed_days",
            "compression_share", "per_department", "per_level", "basis"} <= set(data)
    assert (data["items"], data["departments"]) == (1038, 27)


def test_registry_report_prints_the_headline_and_the_department_table(run_cli):
    """The table form starts with 【合成数据】 and the 宾县 sentence, then 按部门."""
    code, out, _ = run_cli("registry", "report", "demo", "--before", "demo")
    assert code == 0
    assert out.startswith("【合成数据】示范县（合成数据）：27家行政部门共认领录入政务服务事项1038项，"
                          "网上可办1002项（96.5%），最多跑一次1019项（98.2%）")
    assert "减少要件192件，精简审批环节227个" in out and "按部门" in out and "县公安局" in out


def test_registry_report_in_english(run_cli):
    """``--lang en`` says the same in English and keeps the synthetic mark."""
    code, out, _ = run_cli("registry", "report", "demo", "--headline", "--lang", "en")
    assert code == 0 and out.startswith("[synthetic] ")
    assert "27 departments claimed 1038 items; online 1002 (96.5%)" in out


def test_registry_report_writes_a_workbook_and_a_page_marked_synthetic(run_cli, tmp_path):
    """XLSX: 汇总 starts with the 合成数据 row; HTML: the title says 合成数据."""
    xlsx, page = tmp_path / "r.xlsx", tmp_path / "r.html"
    assert run_cli("registry", "report", "demo", "--format", "xlsx", "-o", xlsx)[0] == 0
    book = load_workbook(xlsx, read_only=True)
    assert book.sheetnames == ["汇总", "按部门", "按层级", "承诺时限未压缩"]
    assert next(book["汇总"].iter_rows(min_row=2, max_row=2, values_only=True))[0] == "合成数据"
    assert run_cli("registry", "report", "demo", "--format", "html", "-o", page)[0] == 0
    assert "<h1>【合成数据】示范县（合成数据） 政务服务事项改革报告</h1>" in page.read_text("utf-8")


def test_registry_import_and_export_round_trip_at_the_command_line(run_cli, county_xlsx,
                                                                    tmp_path):
    """import → YAML, export → CSV, import again: the same items."""
    yaml_file, csv_file = tmp_path / "c.yaml", tmp_path / "c.csv"
    code, _, err = run_cli("registry", "import", county_xlsx, "-o", yaml_file)
    assert code == 0 and "6 项事项，3 个部门" in err and "merged cells" in err
    assert run_cli("registry", "export", yaml_file, "-o", csv_file)[0] == 0
    assert load_registry(csv_file).items == load_registry(yaml_file).items


def test_registry_demo_writes_a_list_of_the_size_asked(run_cli, tmp_path):
    """``registry demo --items 100`` writes 100 items, marked synthetic."""
    path = tmp_path / "demo.xlsx"
    code, _, err = run_cli("registry", "demo", "--items", 100, "-o", path)
    assert code == 0 and "（合成数据" in err
    assert len(load_registry(path).items) == 100


@pytest.mark.parametrize(("args", "message"), [
    (["report", "missing.xlsx"], "missing.xlsx：文件不存在；请检查路径"),
    (["report", "demo", "--format", "pdf"], "--format: unknown format 'pdf'"),
    (["report", "demo", "--format", "xlsx"], "-o: --format xlsx writes a file"),
    (["demo", "--items", "5", "-o", "x.xlsx"], "--items: --items 5 is outside 27–20000"),
    (["import", "list.txt"], "list.txt: unknown list type '.txt'"),
])
def test_bad_input_at_the_command_line_is_one_red_line_and_exit_code_2(run_cli, args, message):
    """Never a traceback: one line naming the place, the bad value and the fix."""
    code, _, err = run_cli("registry", *args)
    assert code == 2 and message in err and "Traceback" not in err
