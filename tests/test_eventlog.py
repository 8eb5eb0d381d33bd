"""Event-log export (XES, OCEL 2.0) read back with PM4Py, and the readers' bad-input errors."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import datetime, timedelta
from itertools import pairwise

import pytest

from process_models.calendar import SERVICE_CENTRE_TZ
from process_models.errors import EventLogError
from simulations.interchange.eventlog import Event
from simulations.interchange.export import export_events
from simulations.interchange.ocel import write_ocel_json, write_ocel_sqlite
from simulations.interchange.read import read_log
from simulations.interchange.xes import write_xes

STEPS = [("birth_certificate", "hospital"), ("household_registration", "police"),
         ("social_security_card", "hrss")]


def _case_events(case_id: str, rng: random.Random, at: datetime) -> list[Event]:
    out = []
    for step_id, dept in STEPS:
        at += timedelta(hours=rng.randint(1, 30))
        out.append(Event(case_id, step_id, "start", at, department_id=dept, procedure_id="newborn"))
        if rng.random() < 0.3:
            at += timedelta(hours=rng.randint(1, 30))
            out.append(Event(case_id, step_id, "supplement", at, department_id=dept,
                             resource="clerk", procedure_id="newborn"))
        at += timedelta(hours=rng.randint(1, 30))
        outcome = "reject" if rng.random() < 0.1 else "approve"
        out.append(Event(case_id, step_id, outcome, at, department_id=dept, resource="clerk",
                         procedure_id="newborn"))
        if outcome == "reject":
            break
        at += timedelta(minutes=1)
        out.append(Event(case_id, step_id, "certificate", at, department_id=dept,
                         certificate=f"{case_id}-{step_id}", procedure_id="newborn"))
    return out


@pytest.fixture(scope="module")
def events() -> list[Event]:
    """40 cases of three steps, some 补正 and rejections, strictly increasing times per case."""
    rng = random.Random(7)
    out: list[Event] = []
    for i in range(40):
        out += _case_events(f"C-{i:04d}", rng,
                           datetime(2025, 3, 3, 9, tzinfo=SERVICE_CENTRE_TZ) + timedelta(days=i))
    return out


def _expected_dfg(events: list[Event], name) -> Counter:
    by_case: dict[str, list[Event]] = {}
    for e in events:
        by_case.setdefault(e.case_id, []).append(e)
    return Counter((name(a), name(b)) for run in by_case.values() for a, b in pairwise(run))


@pytest.mark.slow   # PM4Py as the oracle: importing it takes seconds
def test_xes_export_reads_back_with_pm4py_with_every_event_and_directly_follows(events, tmp_path):
    import pm4py

    path = tmp_path / "log.xes"
    assert write_xes(events, path) == len(events)
    df = pm4py.read_xes(str(path))
    assert len(df) == len(events)
    assert df["case:concept:name"].nunique() == 40
    assert set(df["org:group"]) == {"hospital", "police", "hrss"}
    dfg, _, _ = pm4py.discover_dfg(df)
    assert Counter(dfg) == _expected_dfg(events, lambda e: e.activity)


@pytest.mark.slow   # PM4Py as the oracle: importing it takes seconds
@pytest.mark.parametrize("fmt", ["ocel-json", "ocel-sqlite"])
def test_ocel_export_reads_back_with_pm4py_with_objects_relations_and_directly_follows(
        events, tmp_path, fmt):
    """OCEL 2.0: one object per case, case step, department and certificate; every event is
    related to its case and step; flattened on cases the directly-follows relation is the
    case's own order."""
    import pm4py

    path = tmp_path / ("log.json" if fmt == "ocel-json" else "log.sqlite")
    assert export_events(events, path, fmt) == len(events)
    ocel = (pm4py.read_ocel2_json if fmt == "ocel-json" else pm4py.read_ocel2_sqlite)(str(path))
    assert len(ocel.events) == len(events)
    types = Counter(ocel.objects["ocel:type"])
    assert types == {
        "case": 40,
        "step": len({(e.case_id, e.step_id) for e in events}),
        "department": 3,
        "certificate": sum(e.kind == "certificate" for e in events),
    }
    relations = Counter(ocel.relations["ocel:qualifier"])
    assert relations["case"] == relations["step"] == len(events)
    flat = pm4py.ocel_flattening(ocel, "case")
    dfg, _, _ = pm4py.discover_dfg(flat)
    assert Counter(dfg) == _expected_dfg(events, lambda e: e.kind)


def _ocel_content(ocel) -> tuple[list[tuple[str, ...]], ...]:
    """What an OCEL log read by PM4Py says, whatever the order of its rows and however it
    spells an absent value."""
    import pandas as pd

    def rows(table, columns):
        return sorted(tuple("" if pd.isna(v) else str(v) for v in row)
                      for row in table[columns].itertuples(index=False))

    return (rows(ocel.events, ["ocel:eid", "ocel:activity", "ocel:timestamp", "resource"]),
            rows(ocel.objects, ["ocel:oid", "ocel:type", "procedure_id", "step_id",
                                "department_id", "number"]),
            rows(ocel.relations, ["ocel:eid", "ocel:oid", "ocel:qualifier"]),
            rows(ocel.o2o, ["ocel:oid", "ocel:oid_2", "ocel:qualifier"]))


def test_ocel_json_and_sqlite_hold_the_same_events_objects_attributes_and_relations(
        events, tmp_path):
    import pm4py

    write_ocel_json(events, tmp_path / "log.json")
    write_ocel_sqlite(events, tmp_path / "log.sqlite")
    assert _ocel_content(pm4py.read_ocel2_json(str(tmp_path / "log.json"))) == \
        _ocel_content(pm4py.read_ocel2_sqlite(str(tmp_path / "log.sqlite")))


def test_ocel_json_is_plain_json_with_the_ocel_2_sections(events, tmp_path):
    path = tmp_path / "log.json"
    write_ocel_json(events, path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert set(doc) == {"objectTypes", "eventTypes", "objects", "events"}


@pytest.mark.parametrize("writer", [write_xes, write_ocel_json, write_ocel_sqlite])
def test_an_empty_period_is_an_error_and_writes_nothing(writer, tmp_path):
    path = tmp_path / "log.out"
    with pytest.raises(EventLogError, match="no events to export"):
        writer([], path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("writer", [write_xes, write_ocel_json, write_ocel_sqlite])
@pytest.mark.parametrize("collecting", [True, False])
@pytest.mark.parametrize("fails", [False, True])
def test_a_writer_reads_with_the_cycle_collector_paused_and_leaves_it_as_it_found_it(
        writer, collecting, fails, events, tmp_path):
    import gc

    seen = []

    def watched():
        for event in ([] if fails else events):
            seen.append(gc.isenabled())
            yield event
        seen.append(gc.isenabled())

    was_enabled = gc.isenabled()
    (gc.enable if collecting else gc.disable)()
    try:
        if fails:
            with pytest.raises(EventLogError):
                writer(watched(), tmp_path / "log")
        else:
            writer(watched(), tmp_path / "log")
        after = gc.isenabled()
    finally:
        (gc.enable if was_enabled else gc.disable)()
    assert not any(seen) and after is collecting


def test_events_of_one_case_out_of_time_order_are_refused_and_nothing_is_written(tmp_path):
    t = datetime(2025, 3, 3, 9)
    bad = [Event("C-1", "a", "start", t), Event("C-1", "a", "approve", t - timedelta(hours=1))]
    with pytest.raises(EventLogError, match="case 'C-1'.*sort each case by time"):
        write_xes(bad, tmp_path / "log.xes")
    assert list(tmp_path.iterdir()) == []


def test_events_of_a_case_split_apart_are_refused(tmp_path):
    t = datetime(2025, 3, 3, 9)
    split = [Event("C-1", "a", "start", t), Event("C-2", "a", "start", t),
             Event("C-1", "a", "approve", t)]
    with pytest.raises(EventLogError, match="events of case 'C-1' are not together"):
        write_ocel_sqlite(split, tmp_path / "log.sqlite")


def test_unknown_export_format_suggests_the_closest(events, tmp_path):
    with pytest.raises(EventLogError, match="did you mean 'xes'"):
        export_events(events, tmp_path / "x", "xse")


# --- readers ---------------------------------------------------------------------------------


def test_read_log_gives_back_every_exported_xes_event_with_its_step(events, tmp_path):
    path = tmp_path / "log.xes"
    write_xes(events, path)
    back = list(read_log(path))
    assert [(b.case_id, b.step_id, b.at) for b in back] == \
        [(e.case_id, e.step_id, e.at) for e in events]
    assert Counter(b.transition for b in back) == Counter(
        {"start": "start", "approve": "complete", "reject": "complete",
         "supplement": "suspend", "certificate": "certificate"}[e.kind] for e in events)


def test_read_log_reads_start_and_end_columns_of_a_csv(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("Case ID,Activity,Start Time,End Time\n"
                    "1,licence,2025-03-03 09:00,2025-03-05 10:00\n", encoding="utf-8-sig")
    got = [(e.transition, e.at) for e in read_log(path)]
    assert got == [("start", datetime(2025, 3, 3, 9, tzinfo=SERVICE_CENTRE_TZ)),
                   ("complete", datetime(2025, 3, 5, 10, tzinfo=SERVICE_CENTRE_TZ))]


BAD_CSV = [
    ("case_id,activity,timestamp\nC-1,a,2025-03-03T09:00\nC-1,a\n",
     r"log.csv:3: row has 2 fields.*truncated"),
    ("case_id,activity,timestamp\nC-1,a,yesterday\n",
     r"log.csv:2: timestamp: 'yesterday' is not a timestamp"),
    ("case_id,activity,timestamp\nC-1,a,2025-03-03T09:00+08:00\nC-1,b,2025-03-03T10:00Z\n",
     r"log.csv:3: .*UTC\+00:00 but earlier timestamps are in UTC\+08:00"),
    ("case_id,activity,timestamp\nC-1,a,2025-03-03T09:00\nC-1,b,2025-03-03T10:00+08:00\n",
     r"log.csv:3: .*earlier timestamps are in no time zone"),
    ("case_id,activity,timestamp\nC-1,a,2025-03-03T09:00\nC-1,b,2025-03-02T10:00\n",
     r"log.csv:3: case 'C-1': .*out of order"),
    ("case,activty,timestamp\nC-1,a,2025-03-03T09:00\n",
     r"log.csv:1: no activity column .*did you mean 'activty'"),
    ("case_id,activity,timestamp\nC-1,\"a,2025-03-03T09:00\n", r"log.csv:\d+: "),
    ("", r"log.csv:1: the CSV file is empty"),
]


@pytest.mark.parametrize(("text", "message"), BAD_CSV)
def test_each_bad_csv_gives_one_error_naming_the_line(tmp_path, text, message):
    path = tmp_path / "log.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(EventLogError, match=message):
        list(read_log(path))


def test_a_truncated_xes_names_the_line_where_it_stops(events, tmp_path):
    full = tmp_path / "full.xes"
    write_xes(events[:6], full)
    lines = full.read_text(encoding="utf-8").splitlines(keepends=True)
    cut = tmp_path / "cut.xes"
    cut.write_text("".join(lines[:-3]), encoding="utf-8")
    with pytest.raises(EventLogError, match=rf"cut.xes:{len(lines) - 2}: malformed or truncated"):
        list(read_log(cut))


def test_malformed_xes_is_an_event_log_error_with_a_line(tmp_path):
    path = tmp_path / "bad.xes"
    path.write_text('<log>\n<trace><string key="concept:name" value="1"/>\n<event></trace>\n',
                    encoding="utf-8")
    with pytest.raises(EventLogError, match=r"bad.xes:3: malformed or truncated XES"):
        list(read_log(path))


def test_a_log_of_unknown_format_is_refused(tmp_path):
    with pytest.raises(EventLogError, match=r"unknown log format '.json'"):
        read_log(tmp_path / "log.json")


def test_an_xes_log_in_mixed_time_zones_names_the_event_line(tmp_path):
    path = tmp_path / "mixed.xes"
    path.write_text(
        '<log>\n<trace><string key="concept:name" value="1"/>\n'
        '<event><string key="concept:name" value="a"/>'
        '<date key="time:timestamp" value="2025-03-03T09:00:00+08:00"/></event>\n'
        '<event><string key="concept:name" value="b"/>'
        '<date key="time:timestamp" value="2025-03-03T02:00:00+00:00"/></event>\n'
        "</trace>\n</log>\n", encoding="utf-8")
    with pytest.raises(EventLogError, match=r"mixed.xes:4: time:timestamp: .*UTC\+00:00 but "
                                            r"earlier timestamps are in UTC\+08:00"):
        list(read_log(path))


@pytest.mark.slow   # PM4Py as the oracle: importing it takes seconds
@pytest.mark.parametrize("writer", [write_xes, write_ocel_json])
def test_ids_with_markup_characters_are_escaped(writer, tmp_path):
    """Ids holding quotes, ampersands, angle brackets or tabs come back unchanged."""
    import pm4py

    odd = 'C-"1" <&>\t'
    events = [Event(odd, "a&b", "start", datetime(2025, 3, 3, 9), department_id='x"y'),
              Event(odd, "a&b", "approve", datetime(2025, 3, 3, 10), department_id='x"y',
                    resource="<staff>")]
    path = tmp_path / ("log.xes" if writer is write_xes else "log.json")
    writer(events, path)
    if writer is write_xes:
        df = pm4py.read_xes(str(path))
        assert set(df["case:concept:name"]) == {odd}
        assert list(df["org:resource"].dropna()) == ["<staff>"]
    else:
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert {o["id"] for o in doc["objects"]} == {odd, f"{odd}/a&b", 'dept:x"y'}
