"""Reading other systems' logs: gzipped or not, any delimiter, columns named otherwise,
date-only timestamps, daylight saving, start/complete pairs, ties — and one located line
for each kind of bad input."""

from __future__ import annotations

import csv
import gzip
import shutil
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from process_models.calendar import SERVICE_CENTRE_TZ, country_calendar
from process_models.errors import CalendarError, EventLogError
from simulations.interchange.log_cases import log_cases
from simulations.interchange.read import LogColumns, read_log

DATA = Path(__file__).parent / "data" / "logs"


def gzipped(path: Path, tmp_path: Path) -> Path:
    out = tmp_path / f"{path.name}.gz"
    with open(path, "rb") as src, gzip.open(out, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return out


@pytest.fixture
def xes_log() -> Path:
    return DATA / "start_complete.xes"


def test_a_gzipped_xes_reads_as_the_plain_one(xes_log, tmp_path):
    plain = list(read_log(xes_log, LogColumns(deadline="due")))
    assert list(read_log(gzipped(xes_log, tmp_path), LogColumns(deadline="due"))) == plain
    assert len(plain) == 8


def test_daylight_saving_offsets_are_one_time_zone(xes_log):
    """The Amsterdam log switches from +01:00 to +02:00 on 2025-03-30; both are read."""
    offsets = {e.at.utcoffset() for e in read_log(xes_log)}
    assert offsets == {timedelta(hours=1), timedelta(hours=2)}


def test_xes_events_carry_resource_group_and_the_trace_deadline(xes_log):
    first = next(iter(read_log(xes_log, LogColumns(deadline="due"))))
    assert (first.resource, first.group, first.deadline) == (
        "ann", "front office", datetime(2025, 4, 4, 17, tzinfo=timezone(timedelta(hours=2))))


def test_start_and_complete_pair_into_one_run_per_activity(xes_log):
    cases = list(log_cases(read_log(xes_log)))
    review = cases[0].runs[1]
    assert [c.trace for c in cases] == [("intake", "review"), ("intake", "review")]
    assert (review.start.day, review.end.day, review.resource) == (31, 1, "bob")


def test_a_csv_with_named_chinese_columns_and_dates_only_reads(tmp_path):
    """Semicolons sniffed, columns named by the options, a date alone is the day's start."""
    columns = LogColumns(case="办件编号", activity="环节", timestamp="办结日期", group="部门")
    events = list(read_log(DATA / "dates_only.csv", columns))
    assert [(e.case_id, e.activity, e.at.date(), e.group) for e in events][:2] == [
        ("B-1", "受理", date(2025, 1, 24), "政务服务中心"),
        ("B-1", "审查", date(2025, 2, 7), "市场监管局")]
    assert events[0].at == datetime(2025, 1, 24, tzinfo=SERVICE_CENTRE_TZ)


def test_events_sharing_a_timestamp_keep_the_files_order():
    columns = LogColumns(case="办件编号", activity="环节", timestamp="办结日期")
    first = next(log_cases(read_log(DATA / "dates_only.csv", columns)))
    assert first.trace == ("受理", "审查", "发证")


def test_a_named_column_missing_from_the_header_is_one_line_with_a_suggestion():
    with pytest.raises(EventLogError, match=r"dates_only.csv:1: --timestamp: no column "
                                            r"'办结日' .*did you mean '办结日期'"):
        list(read_log(DATA / "dates_only.csv", LogColumns(case="办件编号", activity="环节",
                                                          timestamp="办结日")))


def test_a_log_without_recognisable_columns_names_the_option_to_use(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("id,what,when\n1,a,2025-03-03\n", encoding="utf-8")
    with pytest.raises(EventLogError, match=r"odd.csv:1: no case column .*--case"):
        list(read_log(path))


def test_a_damaged_gzip_is_one_located_line(tmp_path):
    path = gzipped(DATA / "dates_only.csv", tmp_path)
    path.write_bytes(path.read_bytes()[:-12])
    with pytest.raises(EventLogError, match=r"dates_only.csv.gz:\d+: the compressed file is "
                                            r"damaged or cut short"):
        list(read_log(path, LogColumns(case="办件编号", activity="环节", timestamp="办结日期")))


def test_cases_split_across_the_log_are_refused_with_both_lines(tmp_path):
    path = tmp_path / "by_time.csv"
    path.write_text("case_id,activity,timestamp\n1,a,2025-03-03\n2,a,2025-03-03\n"
                    "1,b,2025-03-04\n", encoding="utf-8")
    with pytest.raises(EventLogError, match=r"by_time.csv:4: the events of case '1' are not "
                                            r"together \(it first appears at line 2.*sort the "
                                            r"log by case"):
        list(log_cases(read_log(path), file=str(path)))


ROWS = st.lists(st.tuples(st.sampled_from(["1", "2", "3"]),
                          st.text("审查受理发证abc ,;\"|", min_size=1, max_size=8).filter(
                              lambda s: s.strip() == s and s.strip()),
                          st.integers(0, 10_000)), min_size=1, max_size=20)


@settings(max_examples=40, deadline=None)
@given(rows=ROWS, delimiter=st.sampled_from([",", ";", "\t", "|"]), packed=st.booleans())
def test_any_delimiter_gzipped_or_not_reads_back_every_row(tmp_path_factory, rows, delimiter,
                                                          packed):
    """Whatever the delimiter and quoting, every written row comes back as written."""
    rows = sorted(rows, key=lambda r: (r[0], r[2]))
    folder = tmp_path_factory.mktemp("log")
    path = folder / ("log.csv.gz" if packed else "log.csv")
    start = datetime(2025, 3, 3, tzinfo=SERVICE_CENTRE_TZ)
    opener = gzip.open if packed else open
    with opener(path, "wt", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow(["case:concept:name", "concept:name", "time:timestamp"])
        for case_id, activity, minutes in rows:
            w.writerow([case_id, activity, (start + timedelta(minutes=minutes)).isoformat()])
    back = [(e.case_id, e.activity, e.at) for e in read_log(path)]
    assert back == [(c, a, start + timedelta(minutes=m)) for c, a, m in rows]


def test_another_countrys_calendar_counts_its_holidays():
    """Easter Monday rests in the Netherlands; 春节 rests in China only."""
    nl, cn = country_calendar("nl"), country_calendar("CN")
    assert not nl.is_working_day(date(2025, 4, 21))
    assert nl.is_working_day(date(2025, 1, 29)) and not cn.is_working_day(date(2025, 1, 29))


def test_an_unknown_country_is_one_line_with_a_suggestion():
    with pytest.raises(CalendarError, match=r"--calendar: no public holidays known for 'Holland'"):
        country_calendar("Holland")


def test_reading_streams_the_first_events_come_before_the_rest_is_read(tmp_path):
    """A row broken at the end of a log does not stop the first events from coming: the
    reader holds one row at a time, not the log."""
    path = tmp_path / "long.csv"
    rows = "".join(f"{i},a,2025-03-03T09:00\n" for i in range(5000))
    path.write_text(f"case_id,activity,timestamp\n{rows}9999,a,later\n", encoding="utf-8")
    events = read_log(path)
    assert next(iter(events)).case_id == "0"
    with pytest.raises(EventLogError, match=r"long.csv:5002: timestamp: 'later'"):
        list(read_log(path))
