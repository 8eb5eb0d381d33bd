"""The working-day calendar: official holidays and 调休, limits, overrides, the CLI."""

from __future__ import annotations

import warnings
from datetime import date, time, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.i18n import error_line
from process_models.calendar import CalendarWarning, WorkingCalendar, add_working_days
from process_models.errors import CalendarError

EXAMPLE_OVERRIDES = "process_models/calendar_overrides/example.yaml"


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return WorkingCalendar()


def dates(texts: list[str]) -> list[date]:
    return [date.fromisoformat(t) for t in texts]


def days(first: str, last: str | None = None) -> list[date]:
    """Every date from ``first`` to ``last`` (inclusive)."""
    a = date.fromisoformat(first)
    b = date.fromisoformat(last or first)
    return [a + timedelta(n) for n in range((b - a).days + 1)]


# Every rest day (statutory holidays with the weekends merged into them) and every 调休
# working day for 2023–2026, written out from the State Council notices (reform-data.md §0.1).
HOLIDAYS = {
    2023: [
        "2022-12-31", "2023-01-01", "2023-01-02", "2023-01-21", "2023-01-22", "2023-01-23",
        "2023-01-24", "2023-01-25", "2023-01-26", "2023-01-27", "2023-04-05", "2023-04-29",
        "2023-04-30", "2023-05-01", "2023-05-02", "2023-05-03", "2023-06-22", "2023-06-23",
        "2023-06-24", "2023-09-29", "2023-09-30", "2023-10-01", "2023-10-02", "2023-10-03",
        "2023-10-04", "2023-10-05", "2023-10-06",
    ],
    2024: [
        "2024-01-01", "2024-02-10", "2024-02-11", "2024-02-12", "2024-02-13", "2024-02-14",
        "2024-02-15", "2024-02-16", "2024-02-17", "2024-04-04", "2024-04-05", "2024-04-06",
        "2024-05-01", "2024-05-02", "2024-05-03", "2024-05-04", "2024-05-05", "2024-06-10",
        "2024-09-15", "2024-09-16", "2024-09-17", "2024-10-01", "2024-10-02", "2024-10-03",
        "2024-10-04", "2024-10-05", "2024-10-06", "2024-10-07",
    ],
    2025: [
        "2025-01-01", "2025-01-28", "2025-01-29", "2025-01-30", "2025-01-31", "2025-02-01",
        "2025-02-02", "2025-02-03", "2025-02-04", "2025-04-04", "2025-04-05", "2025-04-06",
        "2025-05-01", "2025-05-02", "2025-05-03", "2025-05-04", "2025-05-05", "2025-05-31",
        "2025-06-01", "2025-06-02", "2025-10-01", "2025-10-02", "2025-10-03", "2025-10-04",
        "2025-10-05", "2025-10-06", "2025-10-07", "2025-10-08",
    ],
    2026: [
        "2026-01-01", "2026-01-02", "2026-01-03", "2026-02-15", "2026-02-16", "2026-02-17",
        "2026-02-18", "2026-02-19", "2026-02-20", "2026-02-21", "2026-02-22", "2026-02-23",
        "2026-04-04", "2026-04-05", "2026-04-06", "2026-05-01", "2026-05-02", "2026-05-03",
        "2026-05-04", "2026-05-05", "2026-06-19", "2026-06-20", "2026-06-21", "2026-09-25",
        "2026-09-26", "2026-09-27", "2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04",
        "2026-10-05", "2026-10-06", "2026-10-07",
    ],
}
MAKE_UP_WORKING_DAYS = {
    2023: [
        "2023-01-28", "2023-01-29", "2023-04-23", "2023-05-06", "2023-06-25", "2023-10-07",
        "2023-10-08",
    ],
    2024: [
        "2024-02-04", "2024-02-18", "2024-04-07", "2024-04-28", "2024-05-11", "2024-09-14",
        "2024-09-29", "2024-10-12",
    ],
    2025: [
        "2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11",
    ],
    2026: [
        "2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10",
    ],
}


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2025, 1, 24), 5, date(2025, 2, 7)),
        (date(2025, 9, 26), 5, date(2025, 10, 10)),
        (date(2025, 9, 26), 20, date(2025, 10, 30)),
        (date(2025, 4, 25), 3, date(2025, 4, 29)),
    ],
)
def test_add_working_days_matches_the_published_vectors(cal, start, n, expected):
    """The acceptance day is not counted; holidays are skipped and 调休 days count."""
    assert cal.add_working_days(start, n) == expected
    assert cal.working_days_between(start, expected) == n


def test_2025_has_248_working_days(cal):
    assert cal.working_days_in(2025) == 248


@pytest.mark.parametrize("year", sorted(HOLIDAYS))
def test_every_listed_holiday_is_a_rest_day(cal, year):
    assert [d for d in dates(HOLIDAYS[year]) if cal.is_working_day(d)] == []


@pytest.mark.parametrize("year", sorted(MAKE_UP_WORKING_DAYS))
def test_every_make_up_weekend_day_is_a_working_day(cal, year):
    make_up = dates(MAKE_UP_WORKING_DAYS[year])
    assert all(d.weekday() >= 5 for d in make_up)
    assert [d for d in make_up if not cal.is_working_day(d)] == []


@pytest.mark.parametrize("year", sorted(HOLIDAYS))
def test_the_written_tables_are_the_only_exceptions_to_monday_to_friday(cal, year):
    """Every other day of the year is a working day exactly when it is Monday–Friday."""
    listed = {*dates(HOLIDAYS[year]), *dates(MAKE_UP_WORKING_DAYS[year])}
    for d in days(f"{year}-01-01", f"{year}-12-31"):
        if d not in listed:
            assert cal.is_working_day(d) == (d.weekday() < 5), d


@pytest.mark.parametrize("year", range(2020, 2027))
def test_every_day_agrees_with_the_chinesecalendar_package(cal, year):
    """An independent source (chinesecalendar, from the gov.cn notices) agrees day for day."""
    chinese_calendar = pytest.importorskip("chinese_calendar")
    disagree = [d for d in days(f"{year}-01-01", f"{year}-12-31")
                if cal.is_working_day(d) != chinese_calendar.is_workday(d)]
    assert disagree == []


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2025, 9, 30), 0.5, date(2025, 10, 9)),
        (date(2025, 9, 30), 1, date(2025, 10, 9)),
        (date(2025, 9, 30), 1.5, date(2025, 10, 10)),
        (date(2025, 1, 24), 0, date(2025, 1, 24)),
        (date(2025, 1, 25), 0, date(2025, 1, 25)),
        (date(2025, 1, 24), 0.25, date(2025, 1, 26)),
    ],
)
def test_half_days_end_on_the_working_day_the_fraction_falls_in(cal, start, n, expected):
    """+0.5 ends on the next working day; +0 is the acceptance day itself (即办)."""
    assert cal.add_working_days(start, n) == expected


def test_negative_working_days_go_back(cal):
    assert cal.add_working_days(date(2025, 2, 7), -5) == date(2025, 1, 24)
    assert cal.working_days_between(date(2025, 2, 7), date(2025, 1, 24)) == -5


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2025, 9, 26), 5, date(2025, 10, 9)),    # 10-01 is 国庆: moves to 10-09
        (date(2025, 9, 26), 15, date(2025, 10, 11)),  # Saturday 10-11 is a 调休 working day
        (date(2025, 3, 3), 5, date(2025, 3, 10)),     # Saturday 03-08 moves to Monday
        (date(2025, 1, 20), 3, date(2025, 1, 23)),    # a working day stays
        (date(2025, 1, 20), 2.5, date(2025, 1, 23)),  # fractions round up
    ],
)
def test_calendar_day_limits_landing_on_a_rest_day_move_to_the_next_working_day(
    cal, start, n, expected
):
    assert cal.add_calendar_days(start, n) == expected


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "5", None])
def test_a_day_count_must_be_a_finite_number(cal, bad):
    with pytest.raises(CalendarError, match="day count must be a finite number"):
        cal.add_working_days(date(2025, 1, 1), bad)


def test_opening_hours_default_to_the_service_centre_day(cal):
    assert cal.opening_hours(date(2025, 1, 24)) == [(time(9), time(12)),
                                                   (time(13, 30), time(17, 30))]
    assert cal.opening_hours(date(2025, 1, 26)) == cal.opening_hours(date(2025, 1, 24))
    assert cal.opening_hours(date(2025, 1, 25)) == []
    assert cal.opening_hours(date(2025, 1, 29)) == []


def test_the_module_functions_use_the_default_calendar():
    assert add_working_days(date(2025, 1, 24), 5) == date(2025, 2, 7)


# --- years without official data -------------------------------------------------------------


def test_a_year_without_official_data_warns_once_and_counts_weekends_only():
    cal = WorkingCalendar()
    with pytest.warns(CalendarWarning, match="no official holiday data for 2030") as record:
        answers = (cal.working_days_in(2030), cal.add_working_days(date(2030, 1, 4), 1),
                   cal.is_working_day(date(2030, 10, 1)))
    assert answers == (261, date(2030, 1, 7), True)
    assert len(record) == 1


def test_missing_year_warnings_can_be_turned_off():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert WorkingCalendar(warn_missing_years=False).working_days_in(2019) == 261


def test_counting_far_across_years_extends_the_calendar_as_needed():
    cal = WorkingCalendar(warn_missing_years=False)
    end = cal.add_working_days(date(2025, 12, 31), 2000)
    assert cal.working_days_between(date(2025, 12, 31), end) == 2000
    assert cal.add_working_days(end, -2000) == date(2025, 12, 31)


# --- properties ------------------------------------------------------------------------------

any_day = st.dates(min_value=date(2020, 1, 1), max_value=date(2026, 1, 31))


@settings(max_examples=200, deadline=None)
@given(start=any_day, n=st.integers(min_value=0, max_value=200))
def test_working_days_between_inverts_add_working_days(cal, start, n):
    assert cal.working_days_between(start, cal.add_working_days(start, n)) == n


@settings(max_examples=200, deadline=None)
@given(start=any_day, a=st.floats(0, 120), b=st.floats(0, 120))
def test_add_working_days_is_monotonic_in_the_day_count(cal, start, a, b):
    lo, hi = sorted((a, b))
    assert cal.add_working_days(start, lo) <= cal.add_working_days(start, hi)


@settings(max_examples=200, deadline=None)
@given(start=any_day, n=st.floats(min_value=0.01, max_value=120))
def test_a_positive_count_always_ends_on_a_working_day_after_the_start(cal, start, n):
    end = cal.add_working_days(start, n)
    assert end > start and cal.is_working_day(end)


# --- override files --------------------------------------------------------------------------


def test_the_example_override_file_closes_opens_and_sets_hours():
    cal = WorkingCalendar([EXAMPLE_OVERRIDES])
    assert not cal.is_working_day(date(2025, 3, 14))
    assert cal.is_working_day(date(2025, 3, 15))
    assert not any(map(cal.is_working_day, days("2025-07-01", "2025-07-02")))
    assert cal.add_working_days(date(2025, 3, 13), 1) == date(2025, 3, 15)
    assert cal.opening_hours(date(2025, 3, 22)) == [(time(9), time(12))]   # open Saturday
    assert not cal.is_working_day(date(2025, 3, 22))                       # clock stopped
    assert cal.opening_hours(date(2025, 3, 21))[-1] == (time(13, 30), time(17))
    assert cal.opening_hours(date(2025, 10, 4)) == []                      # 国庆 Saturday
    assert cal.opening_hours(date(2024, 6, 8)) == []                       # 端午 break
    assert cal.working_days_in(2025) == 248 - 1 + 1 - 2


def test_a_later_override_file_wins(tmp_path):
    reopen = tmp_path / "reopen.yaml"
    reopen.write_text("working_days: [2025-03-14]\n", encoding="utf-8")
    assert WorkingCalendar([EXAMPLE_OVERRIDES, reopen]).is_working_day(date(2025, 3, 14))


@pytest.mark.parametrize(
    ("text", "message", "zh"),
    [
        ("closures: [2025-02-30]", r"closures\[0\]: '2025-02-30' is not a date; use YYYY-MM-DD",
         "：closures[0]：'2025-02-30' 不是日期；请写成 YYYY-MM-DD"),
        ("closures: 2025-02-03", r"closures: must be a list of dates",
         "：closures：应为日期列表，实际为 '2025-02-03'"),
        ("closures: [{from: 2025-02-05, to: 2025-02-03}]", r"'to' 2025-02-03 is before 'from'",
         "：closures[0]：'to' 2025-02-03 早于 'from' 2025-02-05；请交换两者"),
        ("closures: [{day: 2025-02-05}]", r"closures\[0\]: expected a date, \{date, note\}",
         "：closures[0]：应为日期、{date, note} 或 {from, to, note}，实际的键为 day"),
        ("working_day: [2025-02-08]", r"unknown field 'working_day'.*did you mean 'working_days'",
         ("：未知字段 'working_day'；请用 closures、working_days、opening_hours 或 "
          "schedule_years（是不是「working_days」？）")),
        ("closures: [2025-03-03]\nworking_days: [2025-03-03]",
         r"2025-03-03 is both a closure and a working day",
         "：working_days：2025-03-03 既是停办日又是工作日；请只保留在一个列表中"),
        ("schedule_years: [x]", r"schedule_years\[0\]: 'x' is not a year",
         "：schedule_years[0]：'x' 不是年份；请写成 2027 这样的形式"),
        ("opening_hours: [a]", r"opening_hours: must map weekdays",
         "：opening_hours：应把星期（monday … sunday、default）对应到 'HH:MM-HH:MM' 列表"),
        ("opening_hours: {satday: ['09:00-12:00']}",
         r"unknown weekday 'satday'.*did you mean 'saturday'",
         "：opening_hours：没有星期 'satday'；请用 monday … sunday 或 default（是不是「saturday」？）"),
        ("opening_hours: {saturday: ['9-12']}",
         r"opening_hours.saturday\[0\]: '9-12' is not a time span; use 'HH:MM-HH:MM'",
         "：opening_hours.saturday[0]：'9-12' 不是时间段；请写成 'HH:MM-HH:MM'，如 '09:00-12:00'"),
        ("opening_hours: {default: ['12:00-09:00']}", r"ends before it starts",
         "：opening_hours.default[0]：'12:00-09:00' 结束早于开始；请写成 'HH:MM-HH:MM'，且开始早于结束"),
        ("opening_hours: {default: ['09:00-12:00', '11:00-13:00']}", r"overlap at 11:00",
         "：opening_hours.default：办公时间在 11:00 重叠；请合并这些时间段"),
        ("closures: [2025-03-03", r"malformed YAML",
         " 第 1 行：YAML 格式有误：'closures: [2025-03-03'；请检查这一行的缩进或引号"),
        ("- 2025-03-03", r"expected a mapping",
         " 第 1 行：顶层应为含 closures、working_days 或 opening_hours 的映射"),
    ],
)
def test_a_malformed_override_file_is_one_line_naming_file_and_field(tmp_path, text, message,
                                                                     zh):
    """A service centre's override file is refused in one line naming the file and the
    field: in English, and in Chinese for a page or the CLI."""
    path = tmp_path / "centre.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CalendarError, match=message) as info:
        WorkingCalendar([path])
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)
    assert error_line(info.value, "zh") == f"{path}{zh}"


def test_a_gbk_override_file_is_refused_with_advice(tmp_path):
    path = tmp_path / "gbk.yaml"
    path.write_bytes("closures: [{date: 2025-03-14, note: 县庆}]\n".encode("gbk"))
    with pytest.raises(CalendarError, match="not UTF-8.*save the file as UTF-8"):
        WorkingCalendar([path])


def test_a_missing_override_file_is_a_calendar_error(tmp_path):
    with pytest.raises(CalendarError, match="no such file"):
        WorkingCalendar([tmp_path / "missing.yaml"])


# --- CLI -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "out"),
    [
        (["add", "2025-01-24", "5"], "2025-02-07"),
        (["add", "2025-04-25", "3"], "2025-04-29"),
        (["add", "2025-09-26", "5", "--calendar-days"], "2025-10-09"),
        (["add", "2025-03-13", "1", "--overrides", EXAMPLE_OVERRIDES], "2025-03-15"),
        (["between", "2025-09-26", "2025-10-30"], "20"),
        (["between", "2025-10-30", "2025-09-26"], "-20"),
    ],
)
def test_calendar_commands_print_one_answer(run_cli, args, out):
    assert run_cli("calendar", *args) == (0, out + "\n", "")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "2025-02-30", "5"], "START: '2025-02-30' is not a date; use YYYY-MM-DD"),
        (["add", "2025-01-24", "five"], "DAYS: 'five' is not a number of days"),
        (["between", "2025-01-01", "01/02/2025"], "END: '01/02/2025' is not a date"),
    ],
)
def test_bad_calendar_input_is_one_line_and_exit_code_2(run_cli, args, message):
    code, out, err = run_cli("calendar", *args, "--lang", "en")
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1


def test_a_bad_date_is_refused_in_chinese_by_default(run_cli):
    """The calendar commands speak Chinese unless --lang en asks for English."""
    assert run_cli("calendar", "add", "2025-02-30", "5") == (
        2, "", "错误：START：'2025-02-30' 不是日期；请写成 YYYY-MM-DD\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "2025-01-24", "1e9"], "DAYS: 1e+09 days is more than the 3650 a limit may span"),
        (["add", "2025-01-24", "1e308", "--calendar-days"], "DAYS: 1e+308 days is more than"),
        (["add", "9999-12-30", "5", "--calendar-days"],
         "9999-12-30 + 5 days is past 9999-12-31; check the date and day count"),
    ],
)
def test_a_calendar_overflow_is_one_line_and_exit_code_2(run_cli, args, message):
    """Day counts beyond ten years and dates past 9999 are refused, not an OverflowError."""
    code, out, err = run_cli("calendar", *args)
    assert (code, out) == (2, "")
    assert err.startswith(f"error: {message}") and err.count("\n") == 1


# -- the official days' cache file ----------------------------------------------------------
@pytest.fixture
def official_cache(tmp_path, monkeypatch):
    """A fresh cache folder for the official days; the in-process copy is dropped around it."""
    from process_models import calendar

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    calendar._official.cache_clear()
    yield calendar._official_cache()[1]
    calendar._official.cache_clear()


def test_the_official_days_read_back_from_the_cache_file_equal_the_holidays_package(
    official_cache,
):
    """The first use writes the cache file; a later process reads the same days from it."""
    from process_models import calendar

    first = calendar._official()
    assert official_cache.exists()
    calendar._official.cache_clear()
    assert calendar._official() == first == calendar._official_from_holidays()


@pytest.mark.parametrize("stored", [
    '{"key": "another holidays release", "years": [2020, 2021], "rest": [1], "worked": [2]}',
    "not json {",
])
def test_a_stale_or_broken_cache_file_is_rebuilt(official_cache, stored):
    """A cache written for another ``holidays`` release, or damaged, is never trusted."""
    from process_models import calendar

    official_cache.parent.mkdir(parents=True)
    official_cache.write_text(stored, encoding="utf-8")
    assert calendar._official() == calendar._official_from_holidays()
    assert "another holidays release" not in official_cache.read_text(encoding="utf-8")


def test_checkouts_with_the_same_holidays_module_share_one_cache_file(official_cache, tmp_path,
                                                                       monkeypatch):
    """The key is the China module's content, not its path: the same module in another
    virtual environment finds the same file; a changed module has a file of its own."""
    import importlib.util
    import shutil
    from types import SimpleNamespace

    from process_models import calendar

    china = Path(importlib.util.find_spec("holidays").origin).parent / "countries" / "china.py"
    other = tmp_path / "other-checkout" / ".venv" / "holidays"
    (other / "countries").mkdir(parents=True)
    shutil.copy(china, other / "countries" / "china.py")
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name: SimpleNamespace(origin=str(other / "__init__.py")))
    assert calendar._official_cache()[1] == official_cache
    with (other / "countries" / "china.py").open("a") as module:
        module.write("# a later release\n")
    assert calendar._official_cache()[1] != official_cache


def test_an_unwritable_cache_folder_still_gives_the_official_days(official_cache):
    """Where the cache folder cannot be made, the days come straight from ``holidays``."""
    from process_models import calendar

    official_cache.parent.parent.rmdir()
    official_cache.parent.parent.write_text("a file where the cache folder would be")
    assert calendar._official() == calendar._official_from_holidays()
    assert WorkingCalendar().add_working_days(date(2025, 1, 24), 5) == date(2025, 2, 7)


# -- the default calendar and the settings ----------------------------------------------------
@pytest.mark.parametrize("how", ["environment", "dotenv"])
@pytest.mark.slow  # a child process
def test_the_default_calendar_applies_override_files_set_in_the_environment_or_a_dotenv(
    tmp_path, how
):
    """``ONETHING_CALENDAR_OVERRIDES`` closes 2025-03-14 whether set in the environment or .env."""
    import json
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    value = json.dumps([str(ROOT / EXAMPLE_OVERRIDES)])
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("ONETHING_")}
    if how == "environment":
        env["ONETHING_CALENDAR_OVERRIDES"] = value
    else:
        (tmp_path / ".env").write_text(f"ONETHING_CALENDAR_OVERRIDES='{value}'\n")
    probe = ("from datetime import date; from process_models.calendar import default_calendar; "
             "print(default_calendar().is_working_day(date(2025, 3, 14)))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, check=True,
                         capture_output=True, text=True).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize(("variable", "dotenv", "expected"), [
    (None, False, False),
    ("ONETHING_DATA_DIR", False, True),
    ("onething_data_dir", False, True),
    ("OTHER_DATA_DIR", False, False),
    (None, True, True),
])
def test_settings_count_as_configured_by_any_onething_variable_or_a_dotenv_file(
    tmp_path, monkeypatch, variable, dotenv, expected
):
    """Only then is pydantic-settings loaded for the calendar."""
    import os

    from process_models._env import configured

    for name in list(os.environ):
        if name.upper().startswith("ONETHING_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    if variable:
        monkeypatch.setenv(variable, "var")
    if dotenv:
        (tmp_path / ".env").write_text("ONETHING_DATA_DIR=var\n")
    assert configured() is expected


def test_an_override_carrying_a_years_schedule_silences_the_missing_year_warning(tmp_path):
    """``schedule_years: [2099]``: the file is that year's State Council schedule, so no
    warning about missing official data, and its closures count."""
    path = tmp_path / "cn-2099.yaml"
    path.write_text("schedule_years: [2099]\nclosures: [{date: 2099-01-02, note: 元旦}]\n",
                    encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        calendar = WorkingCalendar([path])
        assert calendar.add_working_days(date(2099, 1, 1), 1) == date(2099, 1, 5)


def test_a_schedule_year_that_is_not_a_year_is_one_located_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("schedule_years: [二〇二七]\n", encoding="utf-8")
    with pytest.raises(CalendarError, match=r"schedule_years\[0\].*is not a year"):
        WorkingCalendar([path])
