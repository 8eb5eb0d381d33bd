"""Step tables as Chinese offices save them, read within bounds, and written so no cell runs.

Every file is built here: CSVs in the encodings Excel writes on a Chinese Windows, workbooks
with openpyxl (cover sheets, hidden sheets, merged cells, formulas, stray far cells).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from process_models._cells import cell_text, looks_like_formula
from process_models.errors import OnethingError, ProcedureSyntaxError, TableError
from process_models.loading import load_procedure, save_procedure
from process_models.table import load_table, procedure_from_table, save_table
from process_models.table_files import (
    MAX_CELL_CHARS,
    MAX_MATERIALS_PER_STEP,
    MAX_TABLE_BYTES,
    MAX_TABLE_ROWS,
    MAX_TRIPS,
    MAX_XLSX_UNPACKED_BYTES,
    TableWarning,
    formula_safe,
)
from tests.conftest import ROOT
from tests.strategies import malformed_csv, malformed_xlsx, names

HEADER = ["事项", "部门", "前置事项", "承诺时限", "要件"]
ROWS = [HEADER, ["营业执照", "市场监管局", "", "1", "身份证"],
        ["食品经营许可", "市场监管局", "营业执照", "10", "身份证、健康证明"]]


def csv_text(rows: list[list[str]], sep: str = ",") -> str:
    return "".join(sep.join(r) + "\r\n" for r in rows)


def step_names(path, **options) -> list[tuple[str, str]]:
    proc = load_table(path, **options)
    return [(s.name, proc.department(s.department).name) for s in proc.steps]


READ_BACK = [("营业执照", "市场监管局"), ("食品经营许可", "市场监管局")]


def book(path, *sheets: tuple[str, list[list], str]) -> None:
    """A workbook of (title, rows, state) sheets."""
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows, state in sheets:
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
        ws.sheet_state = state
    wb.save(path)


def run_onething(*args, limit_bytes: int | None = None) -> subprocess.CompletedProcess:
    """The ``onething`` command in a child process (with an address-space limit if given)."""

    def limit() -> None:
        if limit_bytes:
            resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    probe = "import sys; from api.cli import run; sys.exit(run(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", probe, *map(str, args)], check=False,
                          capture_output=True, text=True, cwd=ROOT, env=env, preexec_fn=limit,
                          timeout=120)


# --- encodings -------------------------------------------------------------------------------


@pytest.mark.parametrize(("encoding", "bom", "sep"), [
    ("gbk", b"", ","),                          # Excel "CSV (逗号分隔)", Chinese Windows
    ("gb18030", b"", ","),                      # with a character GBK lacks (𫖯)
    ("utf-16-le", b"\xff\xfe", "\t"),           # Excel "Unicode 文本"
    ("utf-16-be", b"\xfe\xff", "\t"),
])
def test_a_csv_in_a_chinese_office_encoding_reads_like_utf8(tmp_path, encoding, bom, sep):
    """GBK, GB18030 and UTF-16 with its byte-order mark are read, not refused."""
    text = csv_text(ROWS, sep)
    if encoding == "gb18030":
        text = text.replace("健康证明", "周𫖯的委托书")
    path = tmp_path / "shop.csv"
    path.write_bytes(bom + text.encode(encoding))
    assert step_names(path) == READ_BACK
    assert load_table(path).materials[-1].name == ("周𫖯的委托书" if encoding == "gb18030"
                                                   else "健康证明")


@pytest.mark.parametrize(("content", "message"), [
    ("事項,部門,承諾時限\n營業執照,市場監督管理局,1\n".encode("big5"),
     r"shop.csv:1: not UTF-8 \(byte 0xa8 at offset 0\); it reads as Big5"),
    (b"\xef\xbb\xbf" + csv_text(ROWS).encode("gbk"),
     r"byte-order mark but byte 0xca at offset 3 is not UTF-8; it reads as GBK; save it again"),
    (csv_text(ROWS).encode("utf-16-le"), r"NUL byte at offset 5: UTF-16 without its byte-order"),
    (b"\xff\xfe" + "事项".encode("utf-16-le") + b"\x00\xdc",
     r"starts with a UTF-16 byte-order mark but byte 0x00 at offset 6 is not UTF-16"),
])
def test_a_csv_that_cannot_be_read_names_its_true_encoding_and_offset(tmp_path, content, message):
    """Big5 is not called GBK; behind a UTF-8 mark the bad byte is counted after the mark."""
    path = tmp_path / "shop.csv"
    path.write_bytes(content)
    with pytest.raises(ProcedureSyntaxError, match=message):
        load_table(path)


# --- separators, quotes, headers ---------------------------------------------------------------


@pytest.mark.parametrize("sep", ["，", "；", "、"])
def test_full_width_separators_are_named_as_the_cause(tmp_path, sep):
    path = tmp_path / "shop.csv"
    path.write_text(csv_text(ROWS, sep), encoding="utf-8")
    with pytest.raises(TableError, match=f"shop.csv: row 1: the columns are separated by '{sep}'"):
        load_table(path)


def test_an_excel_sep_line_names_the_separator(tmp_path):
    path = tmp_path / "shop.csv"
    path.write_text("sep=;\r\n" + csv_text(ROWS, ";"), encoding="utf-8-sig")
    assert step_names(path) == READ_BACK


def test_an_unclosed_quote_names_the_row_where_it_opened(tmp_path):
    path = tmp_path / "shop.csv"
    path.write_text('事项,部门,承诺时限\n营业执照,"市场监管局,1\n食品经营许可,市场监管局,10\n',
                    encoding="utf-8")
    with pytest.raises(TableError, match=r"shop.csv: row 2: a quote \(\"\) opened in this row is "
                       "never closed"):
        load_table(path)


@pytest.mark.parametrize("header", [["事项\n名称", "部  门", "承诺\n时限"],
                                    ["事项 名称", "部\u3000门", "承诺时限（工作日）"]])
def test_wrapped_and_spaced_headers_are_understood(header):
    assert [s.name for s in procedure_from_table([header, ["营业执照", "市场监管局", 1]]).steps] == [
        "营业执照"]


def test_a_title_row_above_the_header_is_passed_over(tmp_path):
    path = tmp_path / "shop.csv"
    path.write_text(csv_text([["开办餐饮店“一件事”事项清单", "", "", "", ""], *ROWS]), "utf-8")
    assert step_names(path) == READ_BACK


def test_an_empty_department_below_a_filled_one_is_filled_down_with_a_warning(tmp_path):
    """Excel writes a merged 部门 cell's value in its top row only."""
    rows = [list(r) for r in ROWS] + [["消防检查", "", "营业执照", "5", ""]]
    rows[2][1] = ""
    path = tmp_path / "shop.csv"
    path.write_text(csv_text(rows), encoding="utf-8")
    with pytest.warns(TableWarning, match=r"shop.csv: rows 3, 4, 部门: empty, read as the "
                      "department of the row above"):
        assert step_names(path)[1:] == [("食品经营许可", "市场监管局"), ("消防检查", "市场监管局")]


# --- workbooks -------------------------------------------------------------------------------


def test_a_cover_sheet_and_a_hidden_sheet_are_passed_over_for_the_sheet_with_the_header(
        tmp_path):
    path = tmp_path / "shop.xlsx"
    book(path, ("封面", [["开办餐饮店一件事"], ["2025年版"]], "visible"),
         ("旧表", [HEADER, ["旧事项", "旧部门", "", 1, ""]], "hidden"),
         ("清单", [["事项清单"], *ROWS], "visible"))
    assert step_names(path) == READ_BACK
    assert step_names(path, sheet="旧表") == [("旧事项", "旧部门")]
    with pytest.raises(TableError, match=r"shop.xlsx: --sheet: no sheet named '清单 '; the "
                       r"sheets are 封面、旧表、清单 \(did you mean '清单'\?\)"):
        load_table(path, sheet="清单 ")


def test_a_workbook_without_a_header_on_any_sheet_says_so(tmp_path):
    path = tmp_path / "shop.xlsx"
    book(path, ("封面", [["开办餐饮店"]], "visible"), ("说明", [["见附件"]], "visible"))
    with pytest.raises(TableError, match=r"no sheet has a header row .* 封面、说明; add one, or "
                       "name the sheet with --sheet"):
        load_table(path)


def test_merged_cells_in_a_workbook_give_each_row_their_value(tmp_path):
    path = tmp_path / "shop.xlsx"
    wb = Workbook()
    ws = wb.active
    ws.title = "清单"
    for r in [["开办餐饮店事项清单"], *ROWS]:
        ws.append(r)
    ws.merge_cells("A1:E1")
    ws["B4"] = None
    ws.merge_cells("B3:B4")
    wb.save(path)
    with pytest.warns(TableWarning, match=r"shop.xlsx, sheet 清单: merged cells B3:B4 read as "
                      "their top value"):
        assert step_names(path) == READ_BACK


def test_a_formula_without_a_cached_value_says_to_save_it_in_excel(tmp_path):
    """openpyxl writes formulas without values, as many tools other than Excel do."""
    path = tmp_path / "shop.xlsx"
    book(path, ("清单", [*ROWS[:2], ["食品经营许可", "市场监管局", "", "=D2*10", ""]], "visible"))
    with pytest.raises(TableError, match=r"shop.xlsx, sheet 清单: row 3, 承诺时限: a formula "
                       r"without a cached value \('=D2\*10'\): open and save it in Excel"):
        load_table(path)


@pytest.mark.parametrize("damage", ["truncated sheet", "no sheet part", "half the zip"])
def test_a_damaged_workbook_is_one_line(tmp_path, damage):
    whole = tmp_path / "whole.xlsx"
    book(whole, ("清单", ROWS, "visible"))
    path = tmp_path / "shop.xlsx"
    if damage == "half the zip":
        path.write_bytes(whole.read_bytes()[:2000])
    else:
        with zipfile.ZipFile(whole) as src, zipfile.ZipFile(path, "w") as out:
            for info in src.infolist():
                data = src.read(info)
                if info.filename.startswith("xl/worksheets/"):
                    if damage == "no sheet part":
                        continue
                    data = data[:len(data) // 2]
                out.writestr(info, data)
    with pytest.raises(ProcedureSyntaxError, match=r"^\S*shop.xlsx: (not a readable .xlsx "
                       r"workbook \(\w+\); open it in Excel|the workbook has no worksheet)"):
        load_table(path)


# --- bounds ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("column", "value", "message"), [
    ("要件数", "1000000000",
     (rf"row 2, 要件数: '1000000000' is more materials than a step may have "
      rf"\({MAX_MATERIALS_PER_STEP}\)")),
    ("跑动次数", "9" * 23,
     rf"row 2, 跑动次数: '9{{23}}' is more trips than a step may have \({MAX_TRIPS}\)"),
    ("要件", "、".join(f"材料{i}" for i in range(MAX_MATERIALS_PER_STEP + 1)),
     f"row 2, 要件: lists {MAX_MATERIALS_PER_STEP + 1} materials"),
])
def test_counts_are_bounded_with_one_line(column, value, message):
    """A 59-byte table once asked for a billion placeholder materials."""
    with pytest.raises(TableError, match=message):
        procedure_from_table([["事项", "部门", "承诺时限", column], ["营业执照", "市场监管局", 1, value]])


def test_a_cell_longer_than_the_csv_reader_takes_is_one_located_line(tmp_path):
    path = tmp_path / "shop.csv"
    path.write_text(csv_text([HEADER, ["营业执照", "市", "", "1", "x" * 140_000]]), "utf-8")
    with pytest.raises(TableError, match=r"shop.csv: row 2: a cell runs on for more than 131072"):
        load_table(path)
    path.write_text(csv_text([HEADER, ["营业执照", "市", "", "1", "x" * (MAX_CELL_CHARS + 1)]]),
                    "utf-8")
    with pytest.raises(TableError, match=rf"row 2: a cell of {MAX_CELL_CHARS + 1} characters in "
                       "column 5"):
        load_table(path)


def test_rows_past_the_bound_are_refused_at_the_first_one(tmp_path):
    path = tmp_path / "long.csv"
    body = "".join(f"事项{i},部门,1\n" for i in range(MAX_TABLE_ROWS))
    path.write_text("事项,部门,承诺时限\n" + body, "utf-8")
    with pytest.raises(TableError, match=rf"long.csv: row {MAX_TABLE_ROWS + 1}: more than "
                       f"{MAX_TABLE_ROWS} rows"):
        load_table(path)


def _past_the_file_bound(path) -> None:
    with path.open("wb") as f:
        f.truncate(MAX_TABLE_BYTES + 1)  # sparse: nothing is written


@pytest.mark.parametrize(("make", "options", "message"), [
    (lambda p: None, {}, r"shop.csv: no such file; check the path"),
    (lambda p: p.mkdir(), {}, r"shop.csv: is a folder, expected a file"),
    (_past_the_file_bound, {}, r"shop.csv: the file has 20 MB, more than a table may \(20 MB\)"),
    (lambda p: p.write_text(csv_text(ROWS)), {"sheet": "清单"},
     r"shop.csv: --sheet: a CSV file has no sheets; leave out --sheet"),
    (lambda p: p.write_text(csv_text([[*HEADER, *[""] * 100, "x"]])), {},
     r"shop.csv: row 1: holds 'x' in column 106, beyond the 100 columns"),
    (lambda p: p.write_text('事项,部门,承诺时限\n营业执照,"市场"监管局,1\n'), {},
     r"shop.csv: row 2: malformed CSV \(',' expected after '\"'\); quote a cell"),
])
def test_a_csv_file_that_cannot_be_taken_is_one_line(tmp_path, make, options, message):
    path = tmp_path / "shop.csv"
    make(path)
    with pytest.raises(OnethingError, match=message) as info:
        load_table(path, **options)
    assert "\n" not in str(info.value)


def test_a_workbook_cell_longer_than_excel_holds_is_refused_by_its_place(tmp_path):
    """openpyxl cuts what it writes to Excel's limit, so the long text goes into the XML here."""
    written = tmp_path / "written.xlsx"
    book(written, ("清单", [*ROWS, ["消防检查", "消防", "", 1, "LONG"]], "visible"))
    path = tmp_path / "shop.xlsx"
    with zipfile.ZipFile(written) as src, zipfile.ZipFile(path, "w") as out:
        for info in src.infolist():
            out.writestr(info, src.read(info).replace(b">LONG<", b">" + b"x" * (MAX_CELL_CHARS + 1)
                                                      + b"<"))
    with pytest.raises(TableError, match=rf"shop.xlsx: sheet 清单, cell E4: holds {MAX_CELL_CHARS + 1} "
                       "characters, more than a cell may"):
        load_table(path)


def test_a_workbook_that_unpacks_past_the_bound_is_refused_before_it_is_opened(tmp_path):
    """A zip member of zeros compresses a thousandfold; its declared size is checked first."""
    path = tmp_path / "bomb.xlsx"
    book(path, ("清单", ROWS, "visible"))
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/padding.bin", bytes(MAX_XLSX_UNPACKED_BYTES))
    assert path.stat().st_size < 2**20
    with pytest.raises(TableError, match=r"bomb.xlsx: the workbook unpacks to 64 MB, more than a "
                       "step table may"):
        load_table(path)


@pytest.mark.parametrize(("far", "where"), [("XFD1", "XFD1"), ("A1048576", "A1048576")])
@pytest.mark.slow  # a child process
def test_a_stray_far_cell_is_refused_by_its_place_without_reading_the_space_between(
        tmp_path, far, where):
    """Two stray cells once made the reader pad 17 billion empty cells (9.4 GB and counting);
    the command now answers within a 1 GB address space."""
    path = tmp_path / "stray.xlsx"
    wb = Workbook()
    for r in ROWS:
        wb.active.append(r)
    wb.active[far] = "x"
    wb.save(path)
    done = run_onething("import-table", path, limit_bytes=2**30)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1
    assert f"stray.xlsx：工作表「Sheet」单元格 {where} 有内容 'x'，超出事项表可用的" in done.stderr


# --- formula injection -----------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_an_exported_name_that_looks_like_a_formula_is_text_and_reads_back(tmp_path, suffix):
    proc = procedure_from_table([["事项", "部门", "承诺时限"], ["=cmd|' /c calc'!A0", "@SUM(1)", 1],
                                 ["-2+3", "+A1", 2]])
    path = tmp_path / f"out{suffix}"
    save_table(proc, path)
    if suffix == ".csv":
        cells = path.read_text("utf-8-sig").splitlines()[1].split(",")
        assert cells[:2] == ["'=cmd|' /c calc'!A0", "'@SUM(1)"]
    else:
        ws = load_workbook(path).active
        assert (ws["A2"].data_type, ws["A2"].value) == ("s", "=cmd|' /c calc'!A0")
    assert [s.name for s in load_table(path).steps] == ["=cmd|' /c calc'!A0", "-2+3"]


@given(names(max_size=12), st.sampled_from(["", "=", "+", "-", "@", "'", "''=", "'-", "-1"]))
def test_a_formula_safe_cell_never_runs_and_reads_back_as_written(name, start):
    """Whatever a cell holds, the guarded text does not start a formula, and the table reader
    undoes exactly what ``formula_safe`` added."""
    text = (start + name).strip()
    safe = formula_safe(text)
    assert safe in (text, "'" + text) and not looks_like_formula(safe)
    assert cell_text(safe) == text


def test_every_csv_writer_in_the_project_goes_through_the_formula_guard():
    """Every CSV writer goes through ``csv_writer`` (no bare ``csv.writer`` elsewhere)."""
    sources = [p for folder in ("process_models", "simulations", "flows", "api")
               for p in (ROOT / folder).rglob("*.py")]
    bare = [str(p.relative_to(ROOT)) for p in sources
            if "csv.writer(" in p.read_text("utf-8") and p.name != "table_files.py"]
    assert bare == []


# --- CLI -------------------------------------------------------------------------------------


@pytest.mark.slow  # a child process
def test_import_table_reads_a_gbk_csv_and_prints_the_fill_down_warning(tmp_path):
    rows = [list(r) for r in ROWS]
    rows[2][1] = ""
    path = tmp_path / "shop.csv"
    path.write_bytes(csv_text(rows).encode("gbk"))
    out = tmp_path / "shop.yaml"
    done = run_onething("import-table", path, "-o", out, "--id", "shop")
    assert done.returncode == 0, done.stderr
    assert "warning: " in done.stderr and "shop.csv: row 3, 部门: empty" in done.stderr
    assert [s.name for s in load_procedure(out).steps] == ["营业执照", "食品经营许可"]


@pytest.mark.slow  # a child process
def test_import_table_reads_the_sheet_named_by_the_sheet_option(tmp_path):
    path = tmp_path / "shop.xlsx"
    book(path, ("甲", ROWS, "visible"), ("乙", [HEADER, ["户口登记", "公安局", "", 1, ""]], "visible"))
    done = run_onething("import-table", path, "--sheet", "乙", "--id", "shop")
    assert done.returncode == 0, done.stderr
    assert "name: 户口登记" in done.stdout and "营业执照" not in done.stdout


# --- fuzz ------------------------------------------------------------------------------------


@pytest.mark.slow  # 60 generated workbooks and CSV files: seconds on its own
@settings(max_examples=60, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(content=st.one_of(malformed_csv(), malformed_xlsx()))
def test_any_malformed_table_gives_a_one_line_error_or_a_procedure(tmp_path_factory, content):
    """Whatever the bytes, the loader answers with a procedure or one OnethingError line."""
    suffix, data = content
    path = tmp_path_factory.mktemp("fuzz") / f"t{suffix}"
    path.write_bytes(data)
    try:
        proc = load_table(path)
    except OnethingError as e:
        assert "\n" not in str(e) and len(str(e)) < 1000
    else:
        save_procedure(proc, path.with_suffix(".yaml"))

