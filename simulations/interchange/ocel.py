"""OCEL 2.0 out, as JSON or SQLite: cases, steps, departments and certificates as objects."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing
from functools import lru_cache
from itertools import chain
from typing import NamedTuple

from simulations.interchange.eventlog import (
    EVENT_KINDS,
    AtomicFile,
    Event,
    by_case,
    local_iso,
    without_cycle_collection,
)

__all__ = [
    "write_ocel_json",
    "write_ocel_sqlite",
]

_OBJECT_TIME = "1970-01-01T00:00:00+00:00"




def _json(value: str) -> str:
    """A JSON string literal; the escaping is skipped for plain text (ids).

    >>> _json("C-1"), _json('say "hi"') == json.dumps('say "hi"')
    ('"C-1"', True)
    """
    if value.isprintable() and '"' not in value and "\\" not in value:
        return f'"{value}"'
    return json.dumps(value, ensure_ascii=False)


_OBJECT_TYPES = {
    "case": ["procedure_id"],
    "step": ["step_id", "department_id"],
    "department": [],
    "certificate": ["number"],
}
_DEPARTMENT = "dept:"
_CERTIFICATE = "cert:"


class _OcelCase(NamedTuple):
    """One case in OCEL 2.0 terms, as rows ready for SQLite (absent values are ``''``, not
    None, which binds many times slower).

    ``events``: ``(event id, type, time, resource, case, step object, department object)``
    — each event relates to its case, its step object and its department object.
    ``steps``: ``(step object, case, step id, department id, department object)``, one per
    step of the case (``case/step``, with the department of its first event).
    ``certificates``: ``(event id, certificate object, number, case, step object)``, one per
    certificate event. ``departments``: the department ids no earlier case had.
    """

    case_id: str
    procedure: str
    events: list[tuple[str, str, str, str, str, str, str]]
    steps: list[tuple[str, str, str, str, str]]
    certificates: list[tuple[str, str, str, str, str]]
    departments: list[str]


def _ocel_cases(events: Iterable[Event]) -> Iterator[_OcelCase]:
    """Each case of ``events`` in OCEL 2.0 terms; event ids run ``e0``, ``e1``, …"""
    n = 0
    department_objects: dict[str | None, str] = {None: "", "": ""}
    for case_id, run in by_case(events):
        steps: dict[str, str] = {}
        case = _OcelCase(case_id, run[0].procedure_id or "", [], [], [], [])
        add_event = case.events.append
        for _, step_id, kind, at, department_id, resource, certificate, _, at_text in run:
            eid = f"e{n}"
            n += 1
            department = department_objects.get(department_id)
            if department is None:
                department = department_objects[department_id] = f"{_DEPARTMENT}{department_id}"
                case.departments.append(department_id)
            step = steps.get(step_id)
            if step is None:
                step = steps[step_id] = f"{case_id}/{step_id}"
                case.steps.append((step, case_id, step_id, department_id or "", department))
            if certificate:
                case.certificates.append(
                    (eid, f"{_CERTIFICATE}{certificate}", certificate, case_id, step))
            add_event((eid, kind, at_text or local_iso(at), resource or "", case_id, step,
                       department))
        yield case


def _json_object(oid: str, otype: str, attributes: str, relationships: str = "") -> str:
    """An OCEL JSON object: ``oid`` as a JSON string, the inside of its two arrays."""
    return (f'{{"id":{oid},"type":"{otype}","attributes":[{attributes}],'
            f'"relationships":[{relationships}]}}')


def _json_attribute(name: str, value: str) -> str:
    """An object attribute, valid from the start of time."""
    return f'{{"name":"{name}","time":"{_OBJECT_TIME}","value":{_json(value)}}}'


def _json_relationship(oid: str, qualifier: str) -> str:
    """A relationship to object ``oid`` (a JSON string)."""
    return f'{{"objectId":{oid},"qualifier":"{qualifier}"}}'


@lru_cache(maxsize=1 << 12)
def _json_step_parts(step_id: str, department_id: str, department: str) -> tuple[str, str]:
    """A step object's attributes and its relationship to its department (after a comma)."""
    attributes = (f'{_json_attribute("step_id", step_id)},'
                  f'{_json_attribute("department_id", department_id)}')
    return (attributes,
            f",{_json_relationship(_json(department), 'handled by')}" if department else "")


@lru_cache(maxsize=1 << 12)
def _json_event_parts(resource: str, department: str) -> tuple[str, str]:
    """An event's attributes and its relationship to its department (after a comma)."""
    return (f'{{"name":"resource","value":{_json(resource)}}}' if resource else "",
            f",{_json_relationship(_json(department), 'department')}" if department else "")


def _json_case(case: _OcelCase) -> tuple[str, str]:
    """The OCEL JSON text of one case: its events and its objects (each one a line, the
    lines joined by commas)."""
    oid = _json(case.case_id)
    objects = [_json_object(oid, "case", _json_attribute("procedure_id", case.procedure))]
    step_oids: dict[str, str] = {}
    for step, _, step_id, department_id, department in case.steps:
        step_oid = step_oids[step] = _json(step)
        attributes, handled_by = _json_step_parts(step_id, department_id, department)
        objects.append(_json_object(step_oid, "step", attributes,
                                    _json_relationship(oid, "part of") + handled_by))
    certificates: dict[str, str] = {}
    for eid, certificate, number, _, step in case.certificates:
        cert_oid = _json(certificate)
        objects.append(_json_object(
            cert_oid, "certificate", _json_attribute("number", number),
            f'{_json_relationship(oid, "issued for")},'
            f'{_json_relationship(step_oids[step], "issued by")}'))
        certificates[eid] = "," + _json_relationship(cert_oid, "certificate")
    case_relationship = _json_relationship(oid, "case")
    heads = {step: f'{case_relationship},{_json_relationship(step_oid, "step")}'
             for step, step_oid in step_oids.items()}
    events = []
    for eid, kind, at, resource, _, step, department in case.events:
        attributes, tail = _json_event_parts(resource, department)
        events.append(f'{{"id":"{eid}","type":"{kind}","time":"{at}",'
                      f'"attributes":[{attributes}],'
                      f'"relationships":[{heads[step]}{tail}{certificates.get(eid, "")}]}}\n')
    return ",".join(events), ",\n".join(objects)


@without_cycle_collection
def write_ocel_json(events: Iterable[Event], path: str | os.PathLike[str]) -> int:
    """Write ``events`` as OCEL 2.0 JSON, streaming; return the event count.

    Events are written as each case is read, its objects go to a spool file beside the
    target and are appended after them (the smaller part), so the log is read once.

    >>> import tempfile, pathlib, json
    >>> from datetime import datetime
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "log.json"
    >>> write_ocel_json([Event("C-1", "licence", "approve", datetime(2025, 1, 27),
    ...                        department_id="samr")], out)
    1
    >>> sorted(o["type"] for o in json.loads(out.read_text())["objects"])
    ['case', 'department', 'step']
    """
    count = 0
    departments: list[str] = []
    with AtomicFile(path) as tmp:
        spool = tmp.with_name(tmp.name + ".objects")
        try:
            with open(tmp, "w", encoding="utf-8", buffering=1 << 20) as f, \
                    open(spool, "w", encoding="utf-8", buffering=1 << 20) as ob:
                f.write('{"objectTypes": ')
                f.write(json.dumps([{"name": t, "attributes": [{"name": a, "type": "string"}
                                                               for a in attrs]}
                                    for t, attrs in _OBJECT_TYPES.items()]))
                f.write(',\n"eventTypes": ')
                f.write(json.dumps([{"name": k, "attributes": [{"name": "resource",
                                                                "type": "string"}]}
                                    for k in EVENT_KINDS]))
                f.write(',\n"events": [\n')
                for case in _ocel_cases(events):
                    event_text, object_text = _json_case(case)
                    if count:
                        f.write(",")
                        ob.write(",\n")
                    f.write(event_text)
                    ob.write(object_text)
                    count += len(case.events)
                    departments += case.departments
                ob.writelines(",\n" + _json_object(_json(f"{_DEPARTMENT}{d}"), "department", "")
                              for d in sorted(departments))
                f.write('],\n"objects": [\n')
                ob.flush()
                f.flush()
                with open(spool, "rb") as src:
                    shutil.copyfileobj(src, f.buffer, 1 << 20)
                f.write("]}\n")
        finally:
            spool.unlink(missing_ok=True)
    return count


# The staging tables a batch of cases goes into (columns as in :class:`_OcelCase`), and
# what each OCEL table then takes from them: (table, columns, from). SQLite copies these
# rows in C, many times faster than binding each one from Python.
_OCEL_SQLITE_STAGING = {
    "_event": "id, type, time, resource, case_id, step, department",
    "_step": "step, case_id, step_id, department_id, department",
    "_certificate": "event_id, certificate, number, case_id, step",
}
_OCEL_SQLITE_COPIES = (
    ("event", "id, type", "_event"),
    ("event_object", "id, case_id, 'case'", "_event"),
    ("event_object", "id, step, 'step'", "_event"),
    ("event_object", "id, department, 'department'", "_event WHERE department <> ''"),
    ("event_object", "event_id, certificate, 'certificate'", "_certificate"),
    ("object", "step, 'step'", "_step"),
    ("object_step", f"step, '{_OBJECT_TIME}', NULL, step_id, department_id", "_step"),
    ("object_object", "step, case_id, 'part of'", "_step"),
    ("object_object", "step, department, 'handled by'", "_step WHERE department <> ''"),
    ("object", "certificate, 'certificate'", "_certificate"),
    ("object_certificate", f"certificate, '{_OBJECT_TIME}', NULL, number", "_certificate"),
    ("object_object", "certificate, case_id, 'issued for'", "_certificate"),
    ("object_object", "certificate, step, 'issued by'", "_certificate"),
)


def _ocel_sqlite_schema(conn: sqlite3.Connection) -> None:
    """The OCEL 2.0 tables, empty and without indexes, on a fresh file: no journal and no
    syncing (it is a temporary file until it is complete), large pages; the staging
    tables in memory."""
    conn.executescript(
        """
        PRAGMA page_size = 65536;
        PRAGMA journal_mode = OFF;
        PRAGMA synchronous = OFF;
        PRAGMA temp_store = MEMORY;
        CREATE TABLE event (ocel_id TEXT, ocel_type TEXT);
        CREATE TABLE event_map_type (ocel_type TEXT PRIMARY KEY, ocel_type_map TEXT);
        CREATE TABLE object (ocel_id TEXT, ocel_type TEXT);
        CREATE TABLE object_map_type (ocel_type TEXT PRIMARY KEY, ocel_type_map TEXT);
        CREATE TABLE event_object (ocel_event_id TEXT, ocel_object_id TEXT, ocel_qualifier TEXT);
        CREATE TABLE object_object (ocel_source_id TEXT, ocel_target_id TEXT,
            ocel_qualifier TEXT);
        """
    )
    for kind in EVENT_KINDS:
        conn.execute("INSERT INTO event_map_type VALUES (?, ?)", (kind, kind))
        conn.execute(f'CREATE TABLE "event_{kind}" (ocel_id TEXT, '
                     "ocel_time TIMESTAMP, resource TEXT)")
    for otype, attrs in _OBJECT_TYPES.items():
        conn.execute("INSERT INTO object_map_type VALUES (?, ?)", (otype, otype))
        cols = "".join(f", {a} TEXT" for a in attrs)
        conn.execute(f'CREATE TABLE "object_{otype}" (ocel_id TEXT, ocel_time TIMESTAMP, '
                     f"ocel_changed_field TEXT{cols})")
    for table, columns in _OCEL_SQLITE_STAGING.items():
        conn.execute(f"CREATE TEMP TABLE {table} ({columns})")


_ROWS_PER_INSERT = 64


def _insert_rows(conn: sqlite3.Connection, table: str, rows: Sequence[tuple],
                 values: str | None = None) -> None:
    """INSERT ``rows`` into ``table``, 64 to a statement: Python's sqlite3 spends about as
    long on each statement as on all of its values. ``values`` is one row's ``(…)``
    (default: a ``?`` per column)."""
    if not rows:
        return
    values = values or f"({', '.join('?' * len(rows[0]))})"
    whole = len(rows) - len(rows) % _ROWS_PER_INSERT
    if whole:
        conn.executemany(
            f'INSERT INTO "{table}" VALUES ' + ",".join([values] * _ROWS_PER_INSERT),
            (tuple(chain.from_iterable(rows[i:i + _ROWS_PER_INSERT]))
             for i in range(0, whole, _ROWS_PER_INSERT)))
    conn.executemany(f'INSERT INTO "{table}" VALUES {values}', rows[whole:])


class _OcelSqliteBatch:
    """Cases gathered for one round of staging and copying (see ``_OCEL_SQLITE_COPIES``)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.events: list[tuple] = []
        self.steps: list[tuple] = []
        self.certificates: list[tuple] = []
        self.cases: list[tuple[str, str]] = []
        self.size = 0

    def add(self, case: _OcelCase) -> None:
        self.events += case.events
        self.steps += case.steps
        self.certificates += case.certificates
        self.cases.append((case.case_id, case.procedure))
        self.size += len(case.events)

    def write(self) -> None:
        """Stage the batch, copy it into the OCEL tables, empty the staging tables."""
        conn = self.conn
        _insert_rows(conn, "_event", self.events)
        for kind in EVENT_KINDS:
            conn.execute(f"INSERT INTO \"event_{kind}\" SELECT id, time, NULLIF(resource, '') "
                         "FROM _event WHERE type = ?", (kind,))
        _insert_rows(conn, "_step", self.steps)
        _insert_rows(conn, "_certificate", self.certificates)
        for table, columns, source in _OCEL_SQLITE_COPIES:
            conn.execute(f'INSERT INTO "{table}" SELECT {columns} FROM {source}')
        _insert_rows(conn, "object", [(case_id,) for case_id, _ in self.cases], "(?, 'case')")
        _insert_rows(conn, "object_case", self.cases, f"(?, '{_OBJECT_TIME}', NULL, ?)")
        for table in _OCEL_SQLITE_STAGING:
            conn.execute(f"DELETE FROM {table}")
        self.events.clear()
        self.steps.clear()
        self.certificates.clear()
        self.cases.clear()
        self.size = 0


@without_cycle_collection
def write_ocel_sqlite(events: Iterable[Event], path: str | os.PathLike[str],
                      *, batch_events: int = 50000) -> int:
    """Write ``events`` as an OCEL 2.0 SQLite database; return the event count.

    Cases go in about ``batch_events`` events at a time: one staging row per event, step
    and certificate (:class:`_OcelCase`), from which SQLite fills the event, object and
    relation tables itself, all in one transaction.

    >>> import tempfile, pathlib, sqlite3
    >>> from datetime import datetime
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "log.sqlite"
    >>> write_ocel_sqlite([Event("C-1", "licence", "start", datetime(2025, 1, 24, 9))], out)
    1
    >>> sqlite3.connect(out).execute("SELECT ocel_type FROM event").fetchall()
    [('start',)]
    """
    count = 0
    departments: list[str] = []
    with AtomicFile(path) as tmp, closing(sqlite3.connect(tmp)) as conn:
        _ocel_sqlite_schema(conn)
        batch = _OcelSqliteBatch(conn)
        for case in _ocel_cases(events):
            batch.add(case)
            count += len(case.events)
            departments += case.departments
            if batch.size >= batch_events:
                batch.write()
        batch.write()
        objects = [(f"{_DEPARTMENT}{d}",) for d in sorted(departments)]
        _insert_rows(conn, "object", objects, "(?, 'department')")
        _insert_rows(conn, "object_department", objects, f"(?, '{_OBJECT_TIME}', NULL)")
        conn.commit()
    return count
