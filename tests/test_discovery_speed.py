"""The fast path of ``onething discover`` (columns read at once, working days counted by
array) gives exactly the procedure the row-by-row path gave: the same YAML and the same
report, byte for byte, on the WABO log and on generated logs of every shape the reader
takes. The expected files in ``tests/data/discovery/`` were written by the row-by-row
path before the fast one replaced it."""

from __future__ import annotations

import csv
import dataclasses
import gzip
import json
import random
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from process_models.calendar import country_calendar
from process_models.errors import EventLogError
from process_models.loading import dump_procedure
from simulations.interchange import read_columns
from simulations.interchange.log_cases import LogTable, case_table, log_cases
from simulations.interchange.read import LogColumns, read_log
from simulations.interchange.read_columns import read_table
from simulations.planning.discovery import discover

EXPECTED = Path(__file__).parent / "data" / "discovery"
WABO = Path(__file__).resolve().parents[2] / "shared" / "logs" / "wabo_receipt.csv"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
RARE = [f"code-{k:02d}" for k in range(40)]


def _run(rng: random.Random, runs: list, at: datetime, activity: str, hours: int) -> datetime:
    """Add a run of ``activity`` starting up to three hours after ``at``; its end."""
    start = at + timedelta(hours=rng.randint(0, 3))
    end = start + timedelta(hours=hours)
    runs.append((activity, start, end))
    return end


def generated_runs(seed: int, cases: int = 300) -> list[list[tuple[str, datetime, datetime]]]:
    """Cases of (activity, start, end): 受理, then 审查 A and 现场/勘验 in either order, 补正
    and a second 审查 A in some, 会审 in most, a rare code in a few, then 发证; gaps of whole
    hours so that some events share a timestamp."""
    rng = random.Random(seed)
    out = []
    for _ in range(cases):
        at = datetime(2025, 2, 20, 8) + timedelta(days=rng.randint(0, 70),
                                                  hours=rng.randint(0, 9))
        runs: list[tuple[str, datetime, datetime]] = []
        at = _run(rng, runs, at, "受理", rng.randint(0, 2))
        pair = [("审查 A", rng.randint(4, 60)), ("现场/勘验", rng.randint(4, 90))]
        rng.shuffle(pair)
        for activity, hours in pair:
            at = _run(rng, runs, at, activity, hours)
        if rng.random() < 0.2:
            at = _run(rng, runs, at, "补正", rng.randint(10, 200))
            at = _run(rng, runs, at, "审查 A", rng.randint(2, 30))
        if rng.random() < 0.7:
            at = _run(rng, runs, at, "会审", rng.randint(1, 40))
        if rng.random() < 0.04:
            at = _run(rng, runs, at, rng.choice(RARE), rng.randint(0, 5))
        _run(rng, runs, at, "发证", rng.randint(0, 20))
        out.append(runs)
    return out


def _zoned(at: datetime) -> str:
    return at.replace(tzinfo=AMSTERDAM).isoformat(sep=" ")


SHAPES = {
    # name: (header, rows of one run, delimiter, columns, calendar)
    "zoned": (["case:concept:name", "concept:name", "time:timestamp", "org:group",
               "org:resource"],
              lambda c, a, s, e, k: [[c, a, _zoned(e), "" if k % 5 == 0 else f"G{len(a)}",
                                      f"R{k % 7}"]], ",", LogColumns(), "NL"),
    "lifecycle": (["case", "activity", "lifecycle:transition", "timestamp", "user"],
                  lambda c, a, s, e, k: [[c, a, "start", s.isoformat(), f"u{k % 3}"],
                                         [c, a, "complete", e.isoformat(), f"u{k % 3}"]],
                  "\t", LogColumns(), "CN"),
    "dates": (["办件编号", "环节", "办结日期", "部门"],
              lambda c, a, s, e, k: [[c, a, e.date().isoformat(), f"部门{len(a)}"]], ";",
              LogColumns(case="办件编号", activity="环节", timestamp="办结日期", group="部门"),
              "CN"),
    "start_end": (["case_id", "step", "started_at", "decided_at", "department"],
                  lambda c, a, s, e, k: [[c, a, s.strftime("%Y/%m/%d %H:%M"),
                                          e.strftime("%Y/%m/%d %H:%M"), "窗口"]], "|",
                  LogColumns(start_timestamp="started_at"), "DE"),
}


def write_shape(shape: str, seed: int, folder: Path, gz: bool = False) -> Path:
    header, rows_of, delimiter, _, _ = SHAPES[shape]
    path = folder / f"{shape}-{seed}.csv{'.gz' if gz else ''}"
    opener = gzip.open if gz else open
    with opener(path, "wt", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow(header)
        for i, runs in enumerate(generated_runs(seed)):
            for k, (a, s, e) in enumerate(runs):
                w.writerows(rows_of(f"C-{seed}-{i}", a, s, e, k))
    return path


def discovered(path: Path, columns: LogColumns, calendar: str) -> tuple[str, str]:
    """The procedure's YAML and the report's JSON for one log, read as ``discover`` reads
    it."""
    found = discover(read_table(path, columns), log=path.name,
                     calendar=country_calendar(calendar))
    return dump_procedure(found.procedure), json.dumps(found.as_dict(), ensure_ascii=False,
                                                        indent=1, sort_keys=True)


CASES = [(shape, seed, gz) for shape in SHAPES for seed, gz in ((1, False), (2, shape == "zoned"))]


@pytest.mark.parametrize(("shape", "seed", "gz"), CASES)
def test_a_generated_log_gives_the_procedure_the_row_by_row_path_gave(shape, seed, gz,
                                                                      tmp_path):
    path = write_shape(shape, seed, tmp_path, gz)
    yaml_text, report = discovered(path, SHAPES[shape][3], SHAPES[shape][4])
    name = f"{shape}-{seed}"
    assert yaml_text == (EXPECTED / f"{name}.yaml").read_text(encoding="utf-8")
    assert report == (EXPECTED / f"{name}.json").read_text(encoding="utf-8")


@pytest.mark.skipif(not WABO.exists(), reason="the WABO log is not checked out")
def test_the_wabo_log_gives_the_procedure_the_row_by_row_path_gave():
    yaml_text, report = discovered(WABO, LogColumns(), "NL")
    assert yaml_text == (EXPECTED / "wabo_receipt.yaml").read_text(encoding="utf-8")
    assert report == (EXPECTED / "wabo_receipt.json").read_text(encoding="utf-8")


def row_table(path: Path, columns: LogColumns | None = None) -> LogTable:
    """The table of ``path`` by the row reader: the reference for the column reader."""
    return case_table(log_cases(read_log(path, columns), file=str(path)))


def assert_same_table(fast: LogTable, rows: LogTable) -> None:
    for f in dataclasses.fields(LogTable):
        a, b = getattr(fast, f.name), getattr(rows, f.name)
        assert (a == b) if isinstance(a, list) else np.array_equal(a, b), f.name


COLUMN_SHAPES = [(shape, seed, gz) for shape, seed, gz in CASES if shape != "lifecycle"]


@pytest.mark.parametrize(("shape", "seed", "gz"), COLUMN_SHAPES)
def test_the_column_reader_reads_each_shape_as_the_row_reader_does(shape, seed, gz, tmp_path):
    """Zoned with daylight saving, date-only, slashed dates with start columns, gzipped:
    read by column (not handed to the row reader), the same table to the last bit."""
    path = write_shape(shape, seed, tmp_path, gz)
    columns = SHAPES[shape][3]
    assert_same_table(read_columns._Reader(path, columns).table(), row_table(path, columns))


def test_cases_cut_by_a_block_end_are_one_case(tmp_path, monkeypatch):
    """Blocks of a few hundred bytes cut cases and lines anywhere: still one table."""
    path = write_shape("zoned", 1, tmp_path)
    monkeypatch.setattr(read_columns, "BLOCK_BYTES", 333)
    assert_same_table(read_columns._Reader(path, LogColumns()).table(), row_table(path))


HEADER = "case_id,activity,timestamp\n"


@pytest.mark.parametrize(("body", "why"), [
    ('C-1,"受理, 登记",2025-03-03T09:00\n', "a quoted cell"),
    ("C-1,受理,2025-03-03T09:00\n\nC-1,发证,2025-03-04T09:00\n", "a blank line"),
    ("C-1,受理,2025-03-03T09:00\nC-1, 发证 ,2025-03-04T09:00\n", "a padded name"),
    ("C-1,受理,2025-03-03\rC-1,发证,2025-03-04\n", "a bare carriage return"),
    ("C-1,受理,20250303T0900+08:00\nC-1,发证,2025-03-04T09:00+08:00\n", "another ISO form"),
    ("C-1,受理,2025-03-03T09:00:00.5Z\nC-1,发证,2025-03-04T09:00:00.5Z\n", "a tenth"),
])
def test_what_the_column_reader_does_not_read_reads_as_the_row_reader_reads_it(
        tmp_path, body, why):
    path = tmp_path / "log.csv"
    path.write_text(HEADER + body, encoding="utf-8")
    assert_same_table(read_table(path), row_table(path)), why


@pytest.mark.parametrize(("body", "message"), [
    ("C-1,受理,2025-03-03T09:00\nC-2,受理,2025-03-03T10:00\nC-1,发证,2025-03-04\n",
     "are not together"),
    ("C-1,受理,2025-03-04T09:00\nC-1,发证,2025-03-03T09:00\n", "earlier than the case's"),
    ("C-1,受理,2025-03-03T09:00+01:00\nC-1,发证,2025-03-04T09:00+08:00\n", "one time zone"),
    ("C-1,受理,2025-03-03T09:00\nC-1,发证,2025-03-04T09:00Z\n", "one time zone"),
    ("C-1,受理,2025-02-30\n", "is not a timestamp"),
    ("C-1,受理,0000-01-01\n", "is not a timestamp"),
    ("C-1,受理,2025-03-03T24:00\n", "is not a timestamp"),
    ("C-1,受理,\n", "empty timestamp"),
    (",受理,2025-03-03\n", "empty case"),
    ("C-1,受理\n", "the header has 3"),
    ("", "holds no events"),
])
def test_a_bad_log_is_the_row_readers_one_line(tmp_path, body, message):
    path = tmp_path / "log.csv"
    path.write_text(HEADER + body, encoding="utf-8")
    with pytest.raises(EventLogError, match=message) as fast:
        read_table(path)
    with pytest.raises(EventLogError) as rows:
        row_table(path)
    assert str(fast.value) == str(rows.value)


def test_bytes_that_are_not_utf8_are_the_row_readers_one_line(tmp_path):
    path = tmp_path / "log.csv"
    path.write_bytes(HEADER.encode() + "C-1,受理,2025-03-03\n".encode("gb18030"))
    with pytest.raises(EventLogError, match="not UTF-8"):
        read_table(path)


LAYOUTS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f",
           "%Y/%m/%d %H:%M"]


@settings(max_examples=40, deadline=None)
@given(moments=st.lists(st.datetimes(min_value=datetime(1970, 1, 1),
                                     max_value=datetime(2100, 1, 1)), min_size=1, max_size=30),
       layout=st.sampled_from(LAYOUTS), millis=st.booleans(),
       zone=st.sampled_from([None, UTC, timezone(timedelta(hours=-5, minutes=-30)),
                             ZoneInfo("Europe/Amsterdam")]))
def test_any_timestamp_reads_by_column_as_datetime_reads_it(tmp_path_factory, moments, layout,
                                                            millis, zone):
    """Every date and time (dates alone, minutes, seconds, micro- and milliseconds, with or
    without a zone, Z for UTC, offsets across daylight saving) gives the instant and wall
    clock of ``datetime.fromisoformat``."""
    def text(at: datetime) -> str:
        out = at.strftime(layout)
        if millis and out.endswith(f"{at.microsecond:06d}"):
            out = out[:-3]
        if zone is not None and layout != "%Y-%m-%d":
            offset = at.replace(tzinfo=zone).strftime("%z")
            out += "Z" if zone is UTC else f"{offset[:3]}:{offset[3:]}"
        return out

    path = tmp_path_factory.mktemp("times") / "log.csv"
    rows = [f"C-1,a,{text(at)}" for at in sorted(moments)]
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    assert_same_table(read_columns._Reader(path, LogColumns()).table(), row_table(path))
