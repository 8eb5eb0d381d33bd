"""Auditors' commands on real case history (SQLite and PostgreSQL): planned versus actual,
the audit-trail check, event-log export read back with PM4Py, fitting from history."""

from __future__ import annotations

import json
import re
import secrets
import shutil
from collections import Counter
from datetime import date, datetime
from itertools import pairwise

import pytest

from process_models.catalog import load_catalog_procedure

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CASES = 4


def _fill(url: str) -> None:
    from sqlmodel import Session

    from flows.casework.demo_history import demo_history
    from flows.casework.store import init_db, make_engine

    engine = make_engine(url)
    init_db(engine)
    with Session(engine) as session:
        demo_history(session, [load_catalog_procedure("newborn")], cases=CASES, seed=11,
                     step_supplement_share=0.3)
    engine.dispose()


@pytest.fixture(scope="module")
def sqlite_history(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("audit") / "history.db"
    _fill(f"sqlite:///{path}")
    return f"sqlite:///{path}"


@pytest.fixture(scope="module")
def postgresql_history():
    """A PostgreSQL database of this module's own, filled with generated history."""
    from sqlalchemy import create_engine, text

    name = f"onething_audit_{secrets.token_hex(6)}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        _fill(url)
        yield url
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def history(request) -> str:
    """The URL of a database holding generated case history."""
    return request.getfixturevalue(f"{request.param}_history")


def _rows(url: str, sql: str):
    from sqlalchemy import text

    from flows.casework.store import make_engine

    engine = make_engine(url)
    with engine.connect() as c:
        rows = c.execute(text(sql)).all()
    engine.dispose()
    return rows


# --- planned versus actual -------------------------------------------------------------------


def test_actual_counts_every_accepted_case_and_started_step(run_cli, history):
    code, out, err = run_cli("audit", "actual", "--format", "json", "--as-of", "2025-12-31",
                             "--database", history)
    assert (code, err) == (0, "")
    summary = json.loads(out)
    cases = _rows(history, "SELECT count(*) FROM cases WHERE accepted_at IS NOT NULL")[0][0]
    steps = _rows(history, "SELECT count(*) FROM case_step s JOIN cases c ON c.id = s.case_id "
                           "WHERE c.accepted_at IS NOT NULL AND s.started_at IS NOT NULL")[0][0]
    assert summary["cases"] == cases == CASES
    assert summary["steps"] == steps
    assert [r["key"] for r in summary["by_procedure"]] == ["newborn"]
    assert sum(r["cases"] for r in summary["by_month"]) == cases
    assert sum(summary["time_split"].values()) == pytest.approx(1)


def test_actual_grades_each_department_on_the_steps_it_decided_in_the_quarter(run_cli,
                                                                             history):
    """The quarter of --as-of (that of the last decision): each department's decided steps
    counted from the rows, on time when decided by their due date."""
    from flows.casework.tables import stored_time

    def read(value, kind):  # SQLite gives text
        return kind.fromisoformat(value) if isinstance(value, str) else value

    rows = [(d, stored_time(read(at, datetime)).date(), read(due, date)) for d, at, due in _rows(
        history, "SELECT department_id, decided_at, due_date FROM case_step "
                 "WHERE status IN ('approved', 'rejected') AND decided_at IS NOT NULL")]
    last = max(day for _d, day, _due in rows)
    quarter = (last.month - 1) // 3 + 1
    counted: dict[str, list[int]] = {}
    for department, day, due in rows:
        if day.year == last.year and (day.month - 1) // 3 + 1 == quarter:
            c = counted.setdefault(department, [0, 0])
            c[0] += 1
            c[1] += day <= due
    code, out, err = run_cli("audit", "actual", "--format", "json", "--as-of", str(last),
                             "--database", history)
    assert (code, err) == (0, "")
    grades = json.loads(out)["department_grades"]
    assert {g["department_id"]: [g["decided"], g["on_time"]] for g in grades} == counted
    assert {(g["year"], g["quarter"], g["grade_basis"]) for g in grades} == {
        (last.year, quarter, "estimate")}


@pytest.fixture
def actuals(history):
    from datetime import date

    from sqlmodel import Session

    from flows.casework.actual import case_actuals
    from flows.casework.store import make_engine

    engine = make_engine(history)
    with Session(engine) as session:
        yield list(case_actuals(session, as_of=date(2025, 12, 31)))
    engine.dispose()


def test_each_step_clock_leaves_out_supplement_pauses_and_untimed_parts(actuals):
    """legal clock = elapsed working days − 补正 pause − untimed parts (never below 0)."""
    steps = [s for _, ss in actuals for s in ss]
    assert any(s.paused_working_days for s in steps), "the history should hold a 补正 pause"
    for s in steps:
        expected = max(0, s.elapsed_working_days - s.paused_working_days - s.untimed_working_days)
        assert s.clock_working_days == expected
        assert s.overdue == (s.clock_working_days > s.committed_working_days)


def test_a_case_is_overdue_exactly_when_it_finished_after_its_committed_due_date(actuals):
    from datetime import date

    for case, _ in actuals:
        assert case.overdue == ((case.closed_on or date(2025, 12, 31)) > case.due_date)


def test_where_time_goes_adds_up_to_the_elapsed_working_days(actuals):
    for case, _ in actuals:
        assert case.department_working_days + case.applicant_working_days \
            + case.between_working_days == case.elapsed_working_days


def test_an_empty_period_is_one_error_and_writes_nothing(run_cli, sqlite_history, tmp_path):
    out = tmp_path / "actual.csv"
    code, _, err = run_cli("audit", "actual", "--from", "2030-01-01", "--format", "csv",
                           "-o", out, "--database", sqlite_history)
    assert code == 2
    assert "no accepted cases between 2030-01-01 and today" in err
    assert not out.exists()


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "html"])
def test_actual_writes_every_step_and_the_overdue_views(run_cli, sqlite_history, tmp_path, fmt):
    out = tmp_path / f"actual.{fmt}"
    code, _, err = run_cli("audit", "actual", "--format", fmt, "-o", out,
                           "--database", sqlite_history)
    assert (code, err) == (0, "")
    steps = _rows(sqlite_history,
                  "SELECT count(*) FROM case_step WHERE started_at IS NOT NULL")[0][0]
    if fmt == "csv":
        lines = out.read_text(encoding="utf-8-sig").splitlines()
        assert lines[0].startswith("案件编号,一件事,步骤,部门")
        assert len(lines) == steps + 1
    elif fmt == "xlsx":
        from openpyxl import load_workbook

        wb = load_workbook(out, read_only=True)
        assert wb.sheetnames == ["步骤", "按一件事", "按部门", "按月份", "时间去向", "季度评级"]
        assert len(list(wb["步骤"].iter_rows())) == steps + 1
    else:
        text = out.read_text(encoding="utf-8")
        assert "@media print" in text and "超期率" in text and "<script" not in text


# --- the audit trail -------------------------------------------------------------------------


def test_verify_passes_on_untouched_history(run_cli, history):
    code, out, _ = run_cli("audit", "verify", "--database", history)
    assert code == 0
    assert "audit chain intact" in out


def test_verify_names_the_first_changed_event_and_exits_non_zero(run_cli, sqlite_history,
                                                                 tmp_path):
    path = tmp_path / "tampered.db"
    shutil.copyfile(sqlite_history.removeprefix("sqlite:///"), path)
    url = f"sqlite:///{path}"
    from sqlalchemy import text

    from flows.casework.store import make_engine

    engine = make_engine(url)
    with engine.begin() as c:
        c.execute(text("UPDATE audit_event SET kind = 'decision_x' WHERE seq = 7"))
    engine.dispose()
    code, _, err = run_cli("audit", "verify", "--database", url)
    assert code == 1
    assert "broken at event 7" in err


def test_verify_catches_a_deleted_event_on_postgresql(run_cli, postgresql_history):
    """Deleting an event in the middle breaks the link of the one after it (restored after)."""
    from sqlalchemy import text

    from flows.casework.store import make_engine

    engine = make_engine(postgresql_history)
    with engine.begin() as c:
        row = c.execute(text("SELECT * FROM audit_event WHERE seq = 5")).mappings().one()
        c.execute(text("DELETE FROM audit_event WHERE seq = 5"))
    try:
        code, _, err = run_cli("audit", "verify", "--database", postgresql_history)
        assert code == 1
        assert "broken at event 5" in err
    finally:
        with engine.begin() as c:
            cols = ", ".join(row.keys())
            marks = ", ".join(f":{k}" for k in row)
            c.execute(text(f"INSERT INTO audit_event ({cols}) VALUES ({marks})"),
                      {**row, "payload": json.dumps(row["payload"])})
        engine.dispose()
    assert run_cli("audit", "verify", "--database", postgresql_history)[0] == 0


# --- event-log export ------------------------------------------------------------------------


def _history_events(url):
    from sqlmodel import Session

    from flows.casework.history import history_events
    from flows.casework.store import make_engine

    engine = make_engine(url)
    with Session(engine) as session:
        events = list(history_events(session))
    engine.dispose()
    return events


def _dfg(events, name):
    runs: dict[str, list] = {}
    for e in events:
        runs.setdefault(e.case_id, []).append(e)
    return Counter((name(a), name(b)) for run in runs.values() for a, b in pairwise(run))


@pytest.mark.slow   # PM4Py as the oracle: importing it takes seconds
@pytest.mark.parametrize("fmt", ["xes", "ocel-json", "ocel-sqlite"])
def test_export_holds_every_step_start_decision_and_certificate(run_cli, history, tmp_path, fmt):
    """Read back with PM4Py: one event per started step, decision and certificate, and the
    directly-follows relation of the case tables."""
    import pm4py

    out = tmp_path / {"xes": "log.xes", "ocel-json": "log.jsonocel",
                      "ocel-sqlite": "log.sqlite"}[fmt]
    code, stdout, err = run_cli("audit", "export", "--format", fmt, "-o", out,
                                "--database", history)
    assert (code, err) == (0, "")
    starts, decisions, certificates = (_rows(history, sql)[0][0] for sql in (
        "SELECT count(*) FROM case_step WHERE started_at IS NOT NULL",
        "SELECT count(*) FROM decision", "SELECT count(*) FROM certificate"))
    total = starts + decisions + certificates
    assert f"{total} 个事件" in stdout
    events = _history_events(history)
    if fmt == "xes":
        df = pm4py.read_xes(str(out))
        assert len(df) == total
        assert Counter(df["onething:kind"])["certificate"] == certificates
        dfg, _, _ = pm4py.discover_dfg(df)
        assert Counter(dfg) == _dfg(events, lambda e: e.activity)
        return
    ocel = (pm4py.read_ocel2_json if fmt == "ocel-json" else pm4py.read_ocel2_sqlite)(str(out))
    assert len(ocel.events) == total
    assert Counter(ocel.objects["ocel:type"])["case"] == len({e.case_id for e in events})
    assert Counter(ocel.objects["ocel:type"])["certificate"] == certificates
    flat = pm4py.ocel_flattening(ocel, "case")
    if fmt == "ocel-json":
        dfg, _, _ = pm4py.discover_dfg(flat)
        assert Counter(dfg) == _dfg(events, lambda e: e.kind)
    else:
        # The SQLite flavour keeps one table per event type, so events of the same instant
        # (a decision and the steps it starts) come back in no particular order: compare
        # each case's events instant by instant.
        def instants(rows):
            return Counter((case, at, tuple(sorted(kinds))) for (case, at), kinds in
                           _group(rows).items())
        back = [(r["case:concept:name"], r["time:timestamp"].timestamp(), r["concept:name"])
                for r in flat.to_dict("records")]
        assert instants(back) == instants([(e.case_id, e.at.timestamp(), e.kind)
                                           for e in events])


def test_spgl_export_of_history_reads_back_as_the_same_cases_steps_and_times(run_cli, history,
                                                                            tmp_path):
    """Cases become 审批事项实例, each step's start, 补正 and decision a 办理详细信息 row, the
    step's name as 环节 and its department's as 处室; read back, every one returns with its
    time (to the second)."""
    from simulations.interchange.eventlog import TRANSITIONS
    from simulations.interchange.spgl import read_spgl

    proc = load_catalog_procedure("newborn")
    steps = {s.id: s.name for s in proc.steps}
    departments = {d.id: d.name for d in proc.departments}
    out = tmp_path / "spgl"
    code, stdout, err = run_cli("audit", "export", "--format", "spgl", "-o", out,
                                "--database", history, "--lang", "en")
    events = _history_events(history)
    assert (code, err) == (0, "")
    assert f"{len(events)} events (spgl)" in stdout
    back = [(e.case_id, e.activity, e.transition, e.at, e.group, e.resource)
            for e in read_spgl(out)]
    assert back == [(e.case_id, steps[e.step_id], TRANSITIONS[e.kind],
                     e.at.replace(microsecond=0), departments[e.department_id], e.resource)
                    for e in events if e.kind != "certificate"]
    assert any(e.kind == "supplement" for e in events)


def _group(rows):
    out: dict[tuple, list] = {}
    for case, at, kind in rows:
        out.setdefault((case, at), []).append(kind)
    return out


def test_a_session_stays_usable_while_its_history_streams_and_after_it_stops_half_way(
        history):
    """A writer may fail half-way (a full disk): the session still answers and rolls back."""
    from sqlalchemy import text
    from sqlmodel import Session

    from flows.casework.history import history_events
    from flows.casework.store import make_engine

    engine = make_engine(history)
    with Session(engine) as session:
        events = history_events(session)
        first = next(events)
        assert session.execute(text("SELECT count(*) FROM cases WHERE id = :id"),
                               {"id": first.case_id}).scalar_one() == 1
    engine.dispose()


def test_export_of_an_empty_period_is_one_error_and_writes_nothing(run_cli, sqlite_history,
                                                                   tmp_path):
    out = tmp_path / "log.xes"
    code, _, err = run_cli("audit", "export", "--format", "xes", "-o", out, "--from",
                           "2030-01-01", "--database", sqlite_history)
    assert code == 2
    assert "no events to export" in err
    assert list(tmp_path.iterdir()) == []


def test_export_refuses_an_unknown_format_with_a_suggestion(run_cli, sqlite_history, tmp_path):
    code, _, err = run_cli("audit", "export", "--format", "ocel-jsn", "-o", tmp_path / "x",
                           "--database", sqlite_history)
    assert code == 2
    assert "did you mean 'ocel-json'" in err


# --- fitting from history and generating it -----------------------------------------------


def test_fit_from_history_writes_observed_durations(run_cli, sqlite_history, tmp_path):
    from process_models.loading import load_procedure

    out = tmp_path / "newborn.yaml"
    code, stdout, err = run_cli("fit", "newborn", "history", "-o", out,
                                "--database", sqlite_history)
    assert (code, err) == (0, "")
    fitted = load_procedure(out)
    assert fitted.step("birth_certificate").duration.fit
    assert "wrote" in stdout


def test_demo_history_runs_cases_through_case_handling(run_cli, tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    code, out, err = run_cli("demo-history", "--cases", "2", "--seed", "5", "--database", url)
    assert (code, err) == (0, "")
    assert out.startswith("ran 2 cases")
    assert _rows(url, "SELECT count(*) FROM cases")[0][0] == 2
    assert run_cli("audit", "verify", "--database", url)[0] == 0


def test_actual_table_prints_overdue_rates_and_where_time_goes(run_cli, sqlite_history):
    code, out, err = run_cli("audit", "actual", "--database", sqlite_history)
    assert (code, err) == (0, "")
    for heading in ("按一件事", "按部门", "按月份", "时间去向", "等待申请人(补正)"):
        assert heading in out
    assert f"{CASES} cases" in out


@pytest.mark.parametrize("command", [("audit", "actual"), ("audit", "export", "--format", "xes",
                                                           "-o", "log.xes")])
def test_a_fresh_database_without_cases_is_one_clear_error(run_cli, tmp_path, command,
                                                          monkeypatch):
    from flows.casework.store import init_db, make_engine

    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    engine = make_engine(url)
    init_db(engine)
    engine.dispose()
    code, _, err = run_cli(*command, "--database", url)
    assert code == 2
    assert err.count("\n") == 1 and ("no accepted cases" in err or "no events" in err)
    assert not (tmp_path / "log.xes").exists()


READING_COMMANDS = [
    ["audit", "verify"],
    ["audit", "actual"],
    ["audit", "export", "--format", "xes", "-o", "{out}"],
    ["fit", "newborn", "history", "-o", "{out}"],
]
"""Every command that only reads the case database named by ``--database``."""


@pytest.mark.parametrize("command", READING_COMMANDS, ids=" ".join)
@pytest.mark.parametrize("where", ["sqlite", "postgresql"])
@pytest.mark.slow  # a child process
def test_reading_a_database_that_does_not_exist_is_one_line_and_creates_nothing(
        tmp_path, command, where):
    """A mistyped ``--database`` is an error (one line, exit 2), never an empty database
    reported on: no folder, no file, no output is created."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    missing = tmp_path / "typo" / "cases.db"
    url = {"sqlite": f"sqlite:///{missing}",
           "postgresql": ADMIN_URL.rsplit("/", 1)[0] + "/onething_no_such_database"}[where]
    out = tmp_path / "out"
    args = [a.format(out=out) for a in command]
    done = subprocess.run([sys.executable, "-c", "from api.cli import main; main()", *args,
                           "--database", url], cwd=ROOT, capture_output=True, text=True,
                          check=False, timeout=120)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    expected = ("no case database at sqlite:///.*/typo/cases.db: the file does not exist"
                if where == "sqlite" else
                'cannot open the case database at .*"onething_no_such_database" does not exist')
    assert re.search(expected, " ".join(done.stderr.split())), done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_reading_a_database_without_our_tables_is_refused(run_cli, tmp_path):
    """An existing file that is not a case database is named as such, and left unchanged."""
    import sqlite3

    other = tmp_path / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE notes (text)")
    before = other.read_bytes()
    code, _, err = run_cli("audit", "verify", "--database", f"sqlite:///{other}")
    assert code == 2 and "holds no onething case database (no tables of ours)" in err
    assert other.read_bytes() == before
