"""``audit actual --log``: 超期率 of another system's log, open cases apart, counted the way
an auditor would count them by hand."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path

import pytest

from process_models.calendar import country_calendar
from simulations.interchange.log_cases import ActivityRun, LogCase
from simulations.planning.log_audit import CaseLimit, audit_log

WABO = Path(__file__).resolve().parents[2] / "shared" / "logs" / "wabo_receipt.csv"
needs_wabo = pytest.mark.skipif(not WABO.exists(), reason="the WABO log is not checked out")


def independent_overdue_count(path: Path) -> tuple[int, int, int]:
    """(closed cases, overdue closed cases, open cases) by the csv module alone: a case is
    closed when its end date is filled in, overdue when that end is after its deadline."""
    cases: dict[str, dict[str, str]] = {}
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            cases.setdefault(row["case:concept:name"], row)
    closed = [r for r in cases.values() if r["case:enddate"]]
    overdue = [r for r in closed if datetime.fromisoformat(r["case:enddate"])
               > datetime.fromisoformat(r["case:deadline"])]
    return len(closed), len(overdue), len(cases) - len(closed)


@needs_wabo
def test_wabo_overdue_share_agrees_with_a_count_by_hand(run_cli):
    closed, overdue, still_open = independent_overdue_count(WABO)
    code, out, err = run_cli("audit", "actual", "--log", WABO, "--deadline", "case:deadline",
                             "--case-end", "case:enddate", "--calendar", "NL", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert (result["closed_cases"], result["overdue_cases"], result["open_cases"]) == (
        closed, overdue, still_open)
    assert result["overdue_share"] == round(overdue / closed, 4)
    assert result["cases"] == closed + still_open
    assert result["p50_days"] < result["p90_days"]


@needs_wabo
def test_wabo_audit_speaks_chinese_first_and_english_on_request(run_cli):
    args = ("audit", "actual", "--log", WABO, "--limit-days", "10", "--limit-unit",
            "calendar", "--calendar", "NL")
    _, zh, _ = run_cli(*args)
    _, en, _ = run_cli(*args, "--lang", "en")
    assert "超期率" in zh and "受理后 10 个自然日" in zh
    assert "overdue share" in en and "10 calendar days after the case starts" in en


def case(case_id: str, days: int, *, end: bool = True, deadline_day: int = 10) -> LogCase:
    start, last = datetime(2025, 3, 3, 9), datetime(2025, 3, 3 + days, 9)
    runs = [ActivityRun("receive", start), ActivityRun("decide" if end else "review", last)]
    return LogCase(case_id, runs, start, last, deadline=datetime(2025, 3, deadline_day))


def test_open_cases_are_counted_apart_never_as_on_time():
    """Cases whose last activity is not one that ends cases are open: outside the share,
    and those already past their deadline at the end of the log are named."""
    cases = [case("1", 2), case("2", 9, deadline_day=8), case("3", 20, end=False)]
    r = audit_log(cases, log="x", limit=CaseLimit(), calendar=country_calendar(),
                  end_share=0.5)
    assert (r.closed_cases, r.overdue_cases, r.open_cases, r.open_past_limit) == (2, 1, 1, 1)
    assert r.overdue_share == 0.5


@pytest.mark.parametrize(("unit", "overdue"), [("working", 0), ("calendar", 1)])
def test_a_limit_in_days_counts_in_its_unit(unit, overdue):
    """Six days after Monday 3 March: on time in working days (four), late in calendar."""
    r = audit_log([case("1", 6)], log="x", limit=CaseLimit(5, unit),
                  calendar=country_calendar("NL"))
    assert r.overdue_cases == overdue


@pytest.mark.parametrize("extra", [(), ("--deadline", "due", "--limit-days", "3")])
def test_the_limit_must_be_given_exactly_once(run_cli, extra):
    code, _, err = run_cli("audit", "actual", "--log",
                           Path(__file__).parent / "data" / "logs" / "start_complete.xes", *extra)
    assert code == 2
    assert "give the limit once" in err and len(err.strip().splitlines()) == 1


def test_an_xes_log_with_start_events_splits_waiting_from_working(run_cli):
    code, out, err = run_cli("audit", "actual", "--log",
                             Path(__file__).parent / "data" / "logs" / "start_complete.xes",
                             "--deadline", "due", "--calendar", "NL", "--json")
    assert code == 0, err
    result = json.loads(out)
    review = result["by_activity"]["review"]
    assert review["working_working_days"] > 0 and review["waiting_working_days"] > 0
    assert result["overdue_cases"] == 1 and result["closed_cases"] == 2


@needs_wabo
def test_case_start_and_end_columns_measure_the_cycle_time(run_cli):
    """With the case's own start and end columns, the cycle time runs between them."""
    with open(WABO, encoding="utf-8", newline="") as f:
        rows = {r["case:concept:name"]: r for r in csv.DictReader(f)}
    spans = sorted((datetime.fromisoformat(r["case:enddate"])
                    - datetime.fromisoformat(r["case:startdate"])).total_seconds() / 86400
                   for r in rows.values() if r["case:enddate"])
    code, out, err = run_cli("audit", "actual", "--log", WABO, "--limit-days", "40",
                             "--limit-unit", "calendar", "--case-start", "case:startdate",
                             "--case-end", "case:enddate", "--calendar", "NL", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["closed_cases"] == len(spans)
    assert result["overdue_cases"] == sum(1 for d in spans if d > 40)


def test_waiting_and_working_are_counted_in_local_working_days_across_daylight_saving(run_cli):
    """review in A-1 waits Thu 27 March 10:00 (+01:00) → Mon 31 March 09:00 (+02:00): two
    Dutch working days less an hour on the local clock, then works one day; in A-2 it waits
    Fri 28 March 09:30 → Wed 2 April 09:00 and works 1⅛ days."""
    code, out, err = run_cli("audit", "actual", "--log",
                             Path(__file__).parent / "data" / "logs" / "start_complete.xes",
                             "--deadline", "due", "--calendar", "NL", "--json")
    assert code == 0, err
    review = json.loads(out)["by_activity"]["review"]
    assert review == {"runs": 2, "waiting_working_days": round(2 - 1 / 24 + 3 - 0.5 / 24, 3),
                      "working_working_days": round(1 + 1 + 3 / 24, 3)}
