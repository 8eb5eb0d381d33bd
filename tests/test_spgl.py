"""The SPGL_* tables of 工改 systems: generated exports (UTF-8 or GBK, any delimiter, folder or
.zip) read as a log, each kind of bad export one located line, onething's events written
as the tables and read back unchanged, and the log commands on an export."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from process_models.calendar import SERVICE_CENTRE_TZ, add_working_days
from process_models.errors import EventLogError
from simulations.interchange import spgl
from simulations.interchange.eventlog import TRANSITIONS, Event
from simulations.interchange.log_cases import log_cases
from simulations.interchange.read import LogColumns
from simulations.interchange.spgl import open_log, read_spgl, write_spgl

PROJECTS = [["GCDM", "XMMC", "XZQHDM"], ["2501-230125-04-01-000001", "宾县物流园", "230125"]]
ITEMS = [["SPSXBM", "SPSXMC", "SPJDXH"], ["0001", "建设工程规划许可证核发", "2"]]
INSTANCES = [["SPSXSLBM", "SPSXBM", "GCDM", "SLSJ", "SXBLSX"],
             ["SL-1", "0001", "2501-230125-04-01-000001", "2025-03-03 09:00:00", "5"],
             ["SL-2", "0001", "2501-230125-04-01-000001", "2025-03-04 09:00:00", ""]]
DETAILS = [["SPSXSLBM", "BLHJ", "BLCS", "BLR", "BLZT", "BLSJ", "BLYJ"],
           ["SL-2", "", "规划科", "李四", "3", "2025-03-04 09:00:00", "受理"],
           ["SL-1", "审查", "规划科", "张三", "8", "2025-03-03 10:00:00", ""],
           ["SL-1", "受理", "窗口", "王五", "3", "2025-03-03 09:00:00", "受理"],
           ["SL-2", "", "规划科", "李四", "11", "2025-03-06 16:00:00", "同意"],
           ["SL-1", "审查", "规划科", "张三", "11", "2025-03-05 15:30:00", "同意"]]
TABLES = {"SPGL_XMJBXXB": PROJECTS, "SPGL_DFXMSPLCJDSXXXB": ITEMS,
          "SPGL_XMSPSXBLXXB": INSTANCES, "SPGL_XMSPSXBLXXXXB": DETAILS}


def _csv(rows: list[list[str]], delimiter: str = ",") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return out.getvalue()


def export(folder: Path, tables: dict[str, list[list[str]]] = TABLES, *,
           encoding: str = "utf-8", delimiter: str = ",") -> Path:
    """An SPGL export as a 工改 system writes it: one CSV file a table."""
    folder.mkdir(parents=True, exist_ok=True)
    for table, rows in tables.items():
        (folder / f"{table}.csv").write_bytes(_csv(rows, delimiter).encode(encoding))
    return folder


def zipped(folder: Path, out: Path, extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(out, "w") as z:
        for f in sorted(folder.iterdir()):
            z.write(f, f"export/{f.name}")
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return out


def _without(rows: list[list[str]], column: str) -> list[list[str]]:
    i = rows[0].index(column)
    return [r[:i] + r[i + 1:] for r in rows]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
@pytest.mark.parametrize("delimiter", [",", "\t", "|", ";"])
@pytest.mark.parametrize("packed", [False, True])
def test_an_export_in_any_encoding_delimiter_and_container_reads_case_by_case(
        tmp_path, encoding, delimiter, packed):
    """Each instance's events come together and in time order, whatever the file order."""
    source = export(tmp_path / "spgl", encoding=encoding, delimiter=delimiter)
    if packed:
        source = zipped(source, tmp_path / "spgl.zip")
    events = list(open_log(source))
    assert [(e.case_id, e.activity, e.transition, e.at.strftime("%d %H:%M")) for e in events] == [
        ("SL-2", "受理", "complete", "04 09:00"), ("SL-2", "办结（通过）", "complete", "06 16:00"),
        ("SL-1", "受理", "complete", "03 09:00"), ("SL-1", "审查", "start", "03 10:00"),
        ("SL-1", "审查", "complete", "05 15:30")]
    assert {(e.resource, e.group) for e in events if e.case_id == "SL-1"} == {
        ("王五", "窗口"), ("张三", "规划科")}


def test_the_committed_limit_is_the_cases_deadline_in_working_days_after_acceptance(tmp_path):
    """SXBLSX working days after 受理时间, at the end of the day; no limit, no deadline."""
    cases = {c.case_id: c for c in log_cases(read_spgl(export(tmp_path / "spgl")))}
    due = add_working_days(datetime(2025, 3, 3).date(), 5)
    assert cases["SL-1"].deadline == datetime.combine(due, datetime.max.time().replace(
        microsecond=0), SERVICE_CENTRE_TZ)
    assert cases["SL-2"].deadline is None
    assert cases["SL-1"].runs[1].start == datetime(2025, 3, 3, 10, tzinfo=SERVICE_CENTRE_TZ)


@pytest.mark.parametrize(("table", "column"), [
    ("SPGL_XMSPSXBLXXXXB", "BLSJ"), ("SPGL_XMSPSXBLXXXXB", "BLZT"),
    ("SPGL_XMSPSXBLXXB", "SPSXBM"), ("SPGL_XMJBXXB", "GCDM")])
def test_a_missing_required_column_names_the_file_the_column_and_the_columns_present(
        tmp_path, table, column):
    tables = {**TABLES, table: _without(TABLES[table], column)}
    with pytest.raises(EventLogError, match=f"no column {column} in {table}; the columns "
                                            "are ") as err:
        list(read_spgl(export(tmp_path / "spgl", tables)))
    assert f"{table}.csv" in str(err.value)
    assert ", ".join(c for c in TABLES[table][0] if c != column) in str(err.value)


def test_rows_withdrawn_by_their_sender_are_skipped_and_the_later_row_of_an_instance_counts(
        tmp_path):
    """SJYXBS 0 marks a row the sending system withdrew."""
    details = [[*DETAILS[0], "SJYXBS"], *([*r, "1"] for r in DETAILS[1:]),
               ["SL-1", "审查", "规划科", "张三", "13", "2025-03-04 15:30:00", "", "0"]]
    instances = [*INSTANCES, ["SL-1", "0001", "2501-230125-04-01-000001",
                              "2025-03-03 09:00:00", "10"]]
    cases = {c.case_id: c for c in log_cases(read_spgl(export(
        tmp_path / "spgl", {**TABLES, "SPGL_XMSPSXBLXXXXB": details,
                            "SPGL_XMSPSXBLXXB": instances})))}
    assert "办结（不通过）" not in {e for c in cases.values() for e in c.trace}
    assert len(cases["SL-1"].runs) == 2
    assert cases["SL-1"].deadline.date() == add_working_days(datetime(2025, 3, 3).date(), 10)


def test_two_files_of_one_table_are_refused(tmp_path):
    folder = export(tmp_path / "spgl")
    (folder / "spgl_xmspsxblxxb.txt").write_text(_csv(INSTANCES), encoding="utf-8")
    with pytest.raises(EventLogError, match="two files hold SPGL_XMSPSXBLXXB"):
        list(read_spgl(folder))


def test_an_export_without_the_detail_table_names_the_files_it_has(tmp_path):
    tables = {k: v for k, v in TABLES.items() if k != "SPGL_XMSPSXBLXXXXB"}
    with pytest.raises(EventLogError, match="no SPGL_XMSPSXBLXXXXB.csv among SPGL_"):
        list(read_spgl(export(tmp_path / "spgl", tables)))


@pytest.mark.parametrize(("table", "row", "message"), [
    ("SPGL_XMSPSXBLXXXXB", ["SL-9", "", "窗口", "王五", "3", "2025-03-03 09:00:00", ""],
     "SPSXSLBM: 'SL-9' is not in SPGL_XMSPSXBLXXB"),
    ("SPGL_XMSPSXBLXXXXB", ["SL-1", "", "窗口", "王五", "3", "3月3日", ""],
     "BLSJ: '3月3日' is not a timestamp"),
    ("SPGL_XMSPSXBLXXXXB", ["SL-1", "", "窗口", "王五", "", "2025-03-03 09:00:00", ""],
     "BLZT: empty"),
    ("SPGL_XMSPSXBLXXB", ["SL-3", "0001", "2599-000000", "", ""],
     "GCDM: '2599-000000' is not in SPGL_XMJBXXB"),
    ("SPGL_XMSPSXBLXXB", ["SL-3", "9999", "2501-230125-04-01-000001", "", ""],
     "SPSXBM: '9999' is not in SPGL_DFXMSPLCJDSXXXB"),
    ("SPGL_XMSPSXBLXXB", ["SL-3", "0001", "2501-230125-04-01-000001", "", "二十"],
     "SXBLSX: '二十' is not a number of working days"),
])
def test_each_bad_row_is_one_error_naming_its_file_and_line(tmp_path, table, row, message):
    tables = {**TABLES, table: [*TABLES[table], row]}
    with pytest.raises(EventLogError, match=message) as err:
        list(read_spgl(export(tmp_path / "spgl", tables)))
    assert f"{table}.csv:{len(tables[table])}" in str(err.value)


@pytest.mark.parametrize("name", ["../../etc/SPGL_XMJBXXB.csv", "/tmp/SPGL_XMJBXXB.csv",
                                  "..\\SPGL_XMJBXXB.csv", "C:/SPGL_XMJBXXB.csv"])
def test_a_zip_member_named_outside_the_archive_is_refused(tmp_path, name):
    archive = zipped(export(tmp_path / "spgl"), tmp_path / "spgl.zip", {name: b"GCDM\n1\n"})
    with pytest.raises(EventLogError, match="is named outside the archive"):
        list(open_log(archive))


def test_a_zip_of_too_many_files_or_unpacking_too_large_is_refused(tmp_path, monkeypatch):
    """Zip bombs: the member count and the unpacked size are capped before reading."""
    archive = zipped(export(tmp_path / "spgl"), tmp_path / "spgl.zip")
    monkeypatch.setattr(spgl, "MAX_MEMBERS", 3)
    with pytest.raises(EventLogError, match="holds 4 files, more than 3"):
        list(read_spgl(archive))
    monkeypatch.setattr(spgl, "MAX_MEMBERS", 64)
    monkeypatch.setattr(spgl, "MAX_BYTES", 100)
    with pytest.raises(EventLogError, match="unpacks to more than"):
        list(read_spgl(archive))


def test_more_detail_rows_than_the_cap_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(spgl, "MAX_ROWS", 3)
    with pytest.raises(EventLogError, match="more than 3 rows; split the export by period"):
        list(read_spgl(export(tmp_path / "spgl")))


def test_a_damaged_zip_and_text_in_neither_encoding_are_one_line(tmp_path):
    (tmp_path / "bad.zip").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(EventLogError, match="not a readable .zip"):
        list(open_log(tmp_path / "bad.zip"))
    folder = export(tmp_path / "spgl")
    (folder / "SPGL_XMSPSXBLXXB.csv").write_bytes(b"SPSXSLBM,SPSXBM\n\xff\xfe\xff,1\n")
    with pytest.raises(EventLogError, match="neither UTF-8 nor GBK"):
        list(open_log(folder))


@pytest.mark.parametrize(("text", "message", "line"), [
    ("SPSXSLBM,SPSXBM\nSL-1,0001,extra\n", "row has 3 fields, the header has 2", 2),
    ('SPSXSLBM,SPSXBM\n"SL-1,0001\n', "malformed CSV", 2),
    ("", "no column SPSXSLBM in SPGL_XMSPSXBLXXB; the columns are none", 1),
])
def test_a_broken_table_file_is_one_error_naming_its_line(tmp_path, text, message, line):
    folder = export(tmp_path / "spgl")
    (folder / "SPGL_XMSPSXBLXXB.csv").write_text(text, encoding="utf-8")
    with pytest.raises(EventLogError, match=message) as err:
        list(open_log(folder))
    assert f"SPGL_XMSPSXBLXXB.csv:{line}" in str(err.value)


def test_a_table_in_utf8_that_turns_to_gbk_past_the_first_bytes_names_the_line(tmp_path):
    rows = [*INSTANCES, *([f"SL-{n}", "0001", "", "", ""] for n in range(3, 8000))]
    folder = export(tmp_path / "spgl", {**TABLES, "SPGL_XMSPSXBLXXB": rows})
    with open(folder / "SPGL_XMSPSXBLXXB.csv", "ab") as f:
        f.write("SL-规划,0001,,,\n".encode("gbk"))
    with pytest.raises(EventLogError, match="not UTF-8 text, unlike the lines before") as err:
        list(open_log(folder))
    assert f"SPGL_XMSPSXBLXXB.csv:{len(rows) + 1}" in str(err.value)


def test_a_missing_export_and_a_folder_too_large_are_one_line(tmp_path, monkeypatch):
    with pytest.raises(EventLogError, match="no such folder or .zip"):
        list(open_log(tmp_path / "nowhere.zip"))
    monkeypatch.setattr(spgl, "MAX_BYTES", 100)
    with pytest.raises(EventLogError, match="the folder's files hold more than"):
        list(open_log(export(tmp_path / "spgl")))


@pytest.mark.parametrize(("columns", "message"), [
    (LogColumns(case="GCDM"), "--case: SPGL tables have fixed columns"),
    (LogColumns(deadline="BJSX"), "--deadline BJSX: in SPGL tables the deadline is"),
])
def test_column_options_that_do_not_apply_to_spgl_tables_are_refused(tmp_path, columns,
                                                                     message):
    with pytest.raises(EventLogError, match=message):
        list(open_log(export(tmp_path / "spgl"), columns))


# --- writing ---------------------------------------------------------------------------------

STEPS = ["规划许可", "施工许可", "消防审查"]


@st.composite
def histories(draw) -> list[Event]:
    """Cases of a few steps each: start, maybe 补正, a decision, maybe a certificate; times to
    the second, as the tables keep them."""
    events: list[Event] = []
    at = datetime(2025, 3, 3, 9, tzinfo=SERVICE_CENTRE_TZ)
    for n in range(draw(st.integers(1, 5))):
        case_id = f"C-{n}"
        for step in draw(st.lists(st.sampled_from(STEPS), min_size=1, max_size=3, unique=True)):
            dept = draw(st.sampled_from(["规划科", "住建局", None]))
            kinds = ["start", *(["supplement"] if draw(st.booleans()) else []),
                     draw(st.sampled_from(["approve", "reject"]))]
            if kinds[-1] == "approve" and draw(st.booleans()):
                kinds.append("certificate")
            for kind in kinds:
                at += timedelta(seconds=draw(st.integers(0, 5 * 86400)))
                events.append(Event(case_id, step, kind, at, dept,
                                    "张三" if kind in ("approve", "reject") else None,
                                    f"证-{n}" if kind == "certificate" else None, "plan"))
    return events


@settings(max_examples=40, deadline=None)
@given(events=histories())
def test_written_tables_read_back_as_the_same_cases_activities_and_timestamps(
        tmp_path_factory, events):
    """Every step event comes back as its step, lifecycle, time, department and decider;
    certificates go to the 批复文件 table, not the events."""
    out = tmp_path_factory.mktemp("spgl") / "out"
    assert write_spgl(events, out) == len(events)
    back = [(e.case_id, e.activity, e.transition, e.at, e.group, e.resource)
            for e in read_spgl(out)]
    assert back == [(e.case_id, e.step_id, TRANSITIONS[e.kind], e.at, e.department_id,
                     e.resource) for e in events if e.kind != "certificate"]
    with open(out / "SPGL_XMSPSXPFWJXXB.csv", encoding="utf-8-sig") as f:
        assert [r["PFWH"] for r in csv.DictReader(f)] == [
            e.certificate for e in events if e.kind == "certificate"]


def test_writing_into_a_folder_that_holds_files_is_refused_and_changes_nothing(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("keep")
    with pytest.raises(EventLogError, match="exists and is not an empty folder"):
        write_spgl([Event("C-1", "a", "start", datetime(2025, 3, 3))], tmp_path / "out")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["notes.txt", "out"]


def test_an_empty_folder_is_filled_and_a_killed_runs_leftovers_are_cleared(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / ".out.tmp" / "half").mkdir(parents=True)
    assert write_spgl([Event("C-1", "a", "start", datetime(2025, 3, 3))], tmp_path / "out") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert len(list((tmp_path / "out").iterdir())) == 6


def test_a_writer_failing_half_way_leaves_no_folder_behind(tmp_path):
    """Events out of time order fail after some rows are written: nothing stays."""
    events = [Event("C-1", "a", "start", datetime(2025, 3, 4)),
              Event("C-1", "a", "approve", datetime(2025, 3, 3))]
    with pytest.raises(EventLogError, match="sort each case by time"):
        write_spgl(events, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


# --- the log commands on an export -----------------------------------------------------------


def test_audit_actual_reads_an_spgl_zip_in_chinese_by_default_and_in_english_on_request(
        run_cli, tmp_path):
    archive = zipped(export(tmp_path / "spgl"), tmp_path / "spgl.zip")
    code, out, err = run_cli("audit", "actual", "--log", archive, "--deadline", "SXBLSX")
    assert (code, err) == (0, "")
    assert "2 件：办结 2，其中超期 0" in out
    code, out, _ = run_cli("audit", "actual", "--log", archive, "--deadline", "SXBLSX",
                           "--lang", "en")
    assert code == 0
    assert "2 cases: 2 closed, 0 of them overdue" in out
    code, out, _ = run_cli("audit", "actual", "--log", archive, "--deadline", "SXBLSX",
                           "--json")
    assert json.loads(out)["closed_cases"] == 2


def test_discover_takes_an_spgl_folder(run_cli, tmp_path):
    code, out, err = run_cli("discover", export(tmp_path / "spgl"), "-o",
                             tmp_path / "found.yaml", "--min-share", "0.4")
    assert (code, err) == (0, "")
    assert "已写入" in out
    assert (tmp_path / "found.yaml").exists()


@pytest.mark.slow   # seconds: discovery, simulation and four distances
def test_fidelity_scores_a_procedure_discovered_from_spgl_tables_written_by_onething(
        run_cli, tmp_path):
    """Forty cases of three steps in a row, each started when the one before is decided."""
    events = []
    for n in range(40):
        at = datetime(2025, 3, 3, 9, tzinfo=SERVICE_CENTRE_TZ) + timedelta(days=n)
        for i, step in enumerate(STEPS):
            events.append(Event(f"C-{n:02d}", step, "start", at, "住建局"))
            at += timedelta(hours=20 + 7 * ((n * (i + 1)) % 5))
            events.append(Event(f"C-{n:02d}", step, "approve", at, "住建局", "张三"))
    write_spgl(events, tmp_path / "spgl")
    code, out, err = run_cli("fidelity", tmp_path / "spgl", "--json")
    assert (code, err) == (0, "")
    result = json.loads(out)
    assert result["split"]["train_cases"] + result["split"]["test_cases"] == 40
    assert result["model"]["ngram_distance"] == pytest.approx(0.0)


def test_a_bad_export_is_one_line_at_the_cli_not_a_traceback(run_cli, tmp_path):
    tables = {**TABLES, "SPGL_XMSPSXBLXXXXB": _without(DETAILS, "BLSJ")}
    code, out, err = run_cli("audit", "actual", "--log", export(tmp_path / "spgl", tables),
                             "--deadline", "SXBLSX")
    assert code == 2
    assert "no column BLSJ in SPGL_XMSPSXBLXXXXB" in err
    assert "Traceback" not in err + out
