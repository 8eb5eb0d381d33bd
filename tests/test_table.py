"""Step tables (CSV/XLSX): reading, writing, and one-line errors for bad cells."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from process_models._cells import join_names, split_names
from process_models.catalog import load_catalog_procedure
from process_models.errors import ProcedureSyntaxError, TableError
from process_models.loading import load_procedure
from process_models.procedure import DependencyKind, Procedure, StepKind, Unit
from process_models.table import load_table, procedure_from_table, save_table, table_from_procedure
from process_models.table_files import read_table, write_table
from tests.strategies import names

ZH = ["事项", "部门", "前置事项", "依赖类型", "法定时限", "承诺时限", "时限单位", "要件数", "要件",
      "跑动次数"]
GOOD = [
    ZH,
    ["营业执照", "市场监管局", "", "", 20, 1, "工作日", "", "身份证、租赁合同", 1],
    ["食品经营许可", "市场监管局", "营业执照", "法定", 20, 10, "", 3, "", 1],
    ["消防安全检查", "消防救援机构", "营业执照 食品经营许可", "法定、惯例", "", 0.5, "自然日", "",
     "身份证", 0],
]


def with_cell(row: int, column: str, value) -> list[list]:
    """GOOD with one cell replaced (``row`` counts like a spreadsheet: header = 1)."""
    rows = [list(r) for r in GOOD]
    rows[row - 1][ZH.index(column)] = value
    return rows


def test_a_chinese_table_becomes_a_checked_procedure():
    p = procedure_from_table(GOOD, procedure_id="shop", name="开店")
    licence, food, fire = p.steps
    assert [s.name for s in p.steps] == ["营业执照", "食品经营许可", "消防安全检查"]
    assert [d.name for d in p.departments] == ["市场监管局", "消防救援机构"]
    assert licence.statutory.days == 20 and licence.committed.unit is Unit.working
    assert [(d.step, d.kind) for d in fire.depends_on] == [
        (licence.id, DependencyKind.legal), (food.id, DependencyKind.practice)]
    assert fire.committed.days == 0.5 and fire.committed.unit is Unit.calendar
    assert fire.statutory is None and fire.trips == 0
    assert [p.material(m).name for m in licence.materials] == ["身份证", "租赁合同"]
    assert fire.materials == [licence.materials[0]]          # same name, same material
    assert [p.material(m).name for m in food.materials] == [
        "食品经营许可要件1", "食品经营许可要件2", "食品经营许可要件3"]
    assert licence.kind is StepKind.promised


def test_english_headers_and_separators_read_the_same():
    rows = [
        ["Step", "Department", "Depends on", "dependency_kind", "Statutory days",
         "committed_days", "Unit", "material_names", "Trips", "Kind", "Note"],
        ["Business licence", "SAMR", "", "", 20, 1, "working", "ID card; lease", 1, "immediate",
         "same day"],
        ["Food licence", "SAMR", "Business licence", "practice", "", 10, "", "ID card", 1, "", ""],
        ["Fire check", "Fire", "Business licence，Food licence", "legal practice", "", 5,
         "calendar", "", 0, "联办", ""],
    ]
    p = procedure_from_table(rows)
    assert [s.id for s in p.steps] == ["business_licence", "food_licence", "fire_check"]
    assert [d.id for d in p.departments] == ["samr", "fire"]
    assert p.step("business_licence").kind is StepKind.immediate
    assert p.step("business_licence").note == "same day"
    assert [m.name for m in p.materials] == ["ID card", "lease"]
    assert [(d.step, d.kind.value) for d in p.step("fire_check").depends_on] == [
        ("business_licence", "legal"), ("food_licence", "practice")]
    assert p.step("fire_check").kind is StepKind.joint


def test_ids_are_ascii_and_do_not_depend_on_row_order():
    """Reordering rows keeps every id: ids come from names, not positions."""
    forward = procedure_from_table(GOOD)
    backward = procedure_from_table([GOOD[0], *GOOD[:0:-1]])
    assert {s.name: s.id for s in forward.steps} == {s.name: s.id for s in backward.steps}
    assert all(s.id.isascii() for s in forward.steps)


def test_a_long_ascii_name_gets_a_short_hashed_id():
    """Slugs stay short (an id is at most 200 characters); a longer name is hashed instead."""
    name = "Application " * 30
    step = procedure_from_table([["step", "department", "committed_days"],
                                 [name, "SAMR", 1]]).steps[0]
    assert step.name == name.strip() and re.fullmatch(r"s_[0-9a-f]{6}", step.id)


@pytest.mark.parametrize(("procedure_id", "name", "message"), [
    ("开店", "开店", r"--id: procedure id '开店' may use only letters"),
    ("shop", " ", r"--name: procedure name is empty"),
])
def test_a_bad_procedure_id_or_name_is_one_line(procedure_id, name, message):
    with pytest.raises(TableError, match=message):
        procedure_from_table(GOOD, procedure_id=procedure_id, name=name)


def test_common_header_spellings_are_understood():
    rows = [["事项名称", "实施主体", "承诺办理时限", "要件名称", "到现场次数"],
            ["营业执照", "市场监管局", 1, "身份证", 1]]
    step = procedure_from_table(rows).steps[0]
    assert (step.committed.days, len(step.materials), step.trips) == (1, 1, 1)


def test_blank_rows_headers_with_units_and_unknown_columns_are_tolerated():
    rows = [["", ""], ["序号", "事项", "部门", "承诺时限（工作日）", "说明"],
            [1, "营业执照", "市场监管局", 1, "x"], ["", "", "", "", ""]]
    assert [s.name for s in procedure_from_table(rows).steps] == ["营业执照"]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (with_cell(3, "前置事项", "营业执找"),
         r"row 3, 前置事项: unknown step '营业执找'; use a name from the 事项 column \(did "
         + r"you mean '营业执照'\?\)"),
        (with_cell(3, "承诺时限", -1), r"row 3, 承诺时限: '-1' is negative"),
        (with_cell(3, "法定时限", "二十"), r"row 3, 法定时限: '二十' is not a number of days"),
        (with_cell(2, "承诺时限", ""), r"row 2, 承诺时限: is empty"),
        (with_cell(4, "时限单位", "工作天"),
         r"row 4, 时限单位: '工作天' is not allowed; use 工作日 or 自然日 or working or calendar"),
        (with_cell(3, "依赖类型", "必须"), r"row 3, 依赖类型: '必须' is not allowed"),
        (with_cell(4, "时限单位", "月"), r"时限单位: '月' is not allowed; use 工作日 or 自然日 or working or calendar$"),
        (with_cell(4, "依赖类型", "法定、惯例、法定"), r"row 4, 依赖类型: 3 kinds for 2 prerequisites"),
        (with_cell(3, "事项", "营业执照"),
         r"row 3, 事项: duplicate step '营业执照' \(already in row 2\)"),
        (with_cell(2, "前置事项", "消防安全检查"),
         r"row 2, 前置事项: dependency cycle: 营业执照 → 食品经营许可 → 消防安全检查 → 营业执照"),
        (with_cell(2, "前置事项", "营业执照"), r"row 2, 前置事项: step '营业执照' depends on itself"),
        (with_cell(2, "要件数", 3), r"row 2, 要件数: says 3 but 要件 lists 2 names"),
        (with_cell(3, "要件数", 1.5), r"row 3, 要件数: '1.5' is not a whole number"),
        (with_cell(3, "跑动次数", "两次"), r"row 3, 跑动次数: '两次' is not a whole number"),
        (with_cell(2, "部门", ""), r"row 2, 部门: is empty"),
        (with_cell(2, "事项", ""), r"row 2, 事项: is empty"),
        ([["事项", "承诺时限"], ["营业执照", 1]], r"row 1: missing column 部门/department"),
        ([["事项", "部们", "承诺时限"]], r"row 1: unknown column '部们' \(did you mean '部门'\?\)"),
        ([["事项", "部门", "step", "承诺时限"]], r"column 'step' repeats '事项'"),
        ([ZH], r"a header but no steps"),
        ([], r"the table is empty"),
    ],
)
def test_a_bad_table_is_one_line_naming_row_column_value_and_fix(rows, message):
    with pytest.raises(TableError, match=message) as info:
        procedure_from_table(rows, file="steps.csv")
    assert str(info.value).startswith("steps.csv: ") and "\n" not in str(info.value)


# --- files -----------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_table_file_round_trips(tmp_path, suffix):
    path = tmp_path / f"shop{suffix}"
    write_table(GOOD, path)
    p = load_table(path)
    assert p.id == "shop" and p.name == "shop"
    assert table_from_procedure(procedure_from_table(read_table(path))) == table_from_procedure(p)


def test_csv_is_written_with_a_byte_order_mark_so_excel_reads_utf8(tmp_path):
    write_table(GOOD, tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_bytes().startswith(b"\xef\xbb\xbf\xe4\xba\x8b\xe9\xa1\xb9")


def test_a_file_that_is_not_a_workbook_is_refused(tmp_path):
    path = tmp_path / "fake.xlsx"
    path.write_text("事项,部门", encoding="utf-8")
    with pytest.raises(ProcedureSyntaxError, match="not a readable .xlsx workbook"):
        load_table(path)


@pytest.mark.parametrize("name", ["steps.ods", "steps.txt"])
def test_other_file_types_are_refused(tmp_path, name):
    with pytest.raises(TableError, match="use a .csv or .xlsx file"):
        read_table(tmp_path / name)


def test_a_non_ascii_file_name_gives_an_ascii_procedure_id(tmp_path):
    path = tmp_path / "开办餐饮店.csv"
    write_table(GOOD, path)
    p = load_table(path)
    assert p.id.startswith("table_") and p.id.isascii() and p.name == "开办餐饮店"


# --- export ----------------------------------------------------------------------------------


def test_export_expands_all_join_stages_and_refuses_any_join_stages():
    data = procedure_from_table(GOOD).model_dump()
    licence, food, _ = (s["id"] for s in data["steps"])
    data["stages"] = [{"id": "g", "name": "阶段", "milestones": [licence, food]}]
    data["steps"][2]["depends_on"] = [{"step": "g"}]
    assert table_from_procedure(Procedure.model_validate(data))[3][2] == "营业执照、食品经营许可"
    data["stages"][0]["join"] = "any"
    with pytest.raises(TableError, match="any-join stage 'g'.*keep it in YAML"):
        table_from_procedure(Procedure.model_validate(data))


@given(st.lists(names(), min_size=1, max_size=4, unique=True))
def test_a_list_cell_reads_back_as_the_names_written(listed):
    """Names holding separators, spaces or brackets come back whole, or export refuses them."""
    try:
        cell = join_names(listed)
    except TableError:
        return
    assert split_names(cell) == listed
    assert split_names(cell, listed) == listed


def test_export_refuses_what_a_table_would_mix_up():
    p = procedure_from_table(GOOD)
    same_name = p.model_copy(update={"steps": [
        p.steps[0], p.steps[1].model_copy(update={"name": p.steps[0].name}), p.steps[2]]})
    with pytest.raises(TableError, match="two steps are named '营业执照'"):
        table_from_procedure(same_name)
    spaced = p.model_copy(update={"steps": [
        p.steps[0].model_copy(update={"name": f" {p.steps[0].name} "}), *p.steps[1:]]})
    with pytest.raises(TableError, match="step name ' 营业执照 ' has spaces at its ends"):
        table_from_procedure(spaced)
    mixed = p.model_copy(update={"steps": [p.steps[0].model_copy(update={
        "committed": p.steps[0].committed.model_copy(update={"unit": Unit.calendar})}),
        *p.steps[1:]]})
    with pytest.raises(TableError, match="different units"):
        table_from_procedure(mixed)
    with pytest.raises(TableError, match="unknown headers 'fr'"):
        table_from_procedure(p, headers="fr")


def test_every_catalog_procedure_exports_to_a_table_that_reads_back(catalog_file, tmp_path):
    proc = load_procedure(catalog_file)
    path = tmp_path / "catalog.xlsx"
    save_table(proc, path)
    assert table_from_procedure(load_table(path)) == table_from_procedure(proc)


# --- CLI -------------------------------------------------------------------------------------


def test_import_table_writes_the_procedure_yaml(run_cli, tmp_path):
    write_table(GOOD, tmp_path / "shop.csv")
    out = tmp_path / "shop.yaml"
    code, _, stderr = run_cli("import-table", tmp_path / "shop.csv", "-o", out,
                                   "--id", "shop", "--name", "开店")
    assert code == 0 and "3 steps" in stderr
    p = load_procedure(out)
    assert (p.id, p.name, len(p.steps)) == ("shop", "开店", 3)


def test_import_table_without_output_prints_yaml(run_cli, tmp_path):
    write_table(GOOD, tmp_path / "shop.xlsx")
    code, stdout, _ = run_cli("import-table", tmp_path / "shop.xlsx", "--id", "shop")
    assert code == 0 and stdout.startswith("id: shop\n")


def test_a_bad_table_writes_nothing_and_exits_2(run_cli, tmp_path):
    write_table(with_cell(3, "前置事项", "营业执找"), tmp_path / "bad.csv")
    out = tmp_path / "bad.yaml"
    code, stdout, stderr = run_cli("import-table", tmp_path / "bad.csv", "-o", out)
    assert code == 2 and stdout == "" and not out.exists()
    assert "bad.csv：第 3 行「前置事项」：没有名为 '营业执找' 的事项" in stderr
    assert stderr.count("\n") == 1


@pytest.mark.parametrize(("headers", "first"), [("zh", "事项"), ("en", "step")])
def test_export_table_writes_a_catalog_procedure(run_cli, tmp_path, headers, first):
    out = tmp_path / "newborn.csv"
    code, _, _ = run_cli("export-table", "newborn", "-o", out, "--headers", headers)
    assert code == 0
    assert read_table(out)[0][0] == first
    assert table_from_procedure(load_table(out), headers=headers) == table_from_procedure(
        load_catalog_procedure("newborn"), headers=headers)


def test_export_table_to_an_unknown_type_is_one_line(run_cli, tmp_path):
    code, _, stderr = run_cli("export-table", "newborn", "-o", tmp_path / "x.ods")
    assert code == 2 and "x.ods：不认识的表格类型 '.ods'；请写成 .csv 或 .xlsx 文件" in stderr
    assert not (tmp_path / "x.ods").exists()
