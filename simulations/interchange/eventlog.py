"""Event logs for process mining: XES and OCEL 2.0 out, XES and CSV in.

An :class:`Event` is one thing that happened to a case: a step started, a department
decided (approve, reject, or 补正 ``supplement``), a certificate was issued. The writers
take events grouped by case and in time order within each case (which is how
:func:`history_events` streams them from the case tables), write them row by row and
never hold the whole log in memory:

- :func:`write_xes` — IEEE 1849 XES, one trace per case; activity ``step_id:kind``,
  ``lifecycle:transition`` start/complete/suspend, ``org:group`` the department.
- :func:`write_ocel_json` / :func:`write_ocel_sqlite` — OCEL 2.0, event types ``start``,
  ``approve``, ``reject``, ``supplement``, ``certificate``; objects ``case``, ``step``
  (one per case and step), ``department`` and ``certificate``, related to their events
  and to each other.

Every writer writes to a temporary file next to the target and moves it into place at
the end, so a failure (an empty period, a broken row) leaves nothing behind.

:func:`read_log` reads the XES or CSV log of another system back as :class:`LogEvent`
rows for fitting durations (:mod:`simulations.planning.fitting`); each bad row is one
:class:`~process_models.errors.EventLogError` naming the file and line.

Naive datetimes are read as China Standard Time (UTC+8, :data:`CHINA_TZ`), the clock of
the service centre.

>>> from datetime import datetime
>>> e = Event("C-1", "licence", "start", datetime(2025, 1, 24, 9), department_id="samr")
>>> e.activity, e.transition, local_iso(e.at)
('licence:start', 'start', '2025-01-24T09:00:00.000+08:00')
"""

from __future__ import annotations

import csv
import functools
import gc
import json
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import lru_cache, partial
from itertools import chain, groupby, islice
from operator import itemgetter, le
from pathlib import Path
from typing import Any, NamedTuple
from xml.etree import ElementTree
from xml.sax.saxutils import quoteattr

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.types import Date, String

from process_models.errors import EventLogError, did_you_mean

__all__ = [
    "CHINA_TZ",
    "EVENT_KINDS",
    "EXPORT_FORMATS",
    "Event",
    "LogEvent",
    "cases_in_period",
    "export_events",
    "history_events",
    "local_iso",
    "read_log",
    "stream_rows",
    "write_ocel_json",
    "write_ocel_sqlite",
    "write_xes",
]

_EIGHT_HOURS = timedelta(hours=8)
CHINA_TZ = timezone(_EIGHT_HOURS, "CST")
EVENT_KINDS = ("start", "approve", "reject", "supplement", "certificate")
EXPORT_FORMATS = ("xes", "ocel-json", "ocel-sqlite")
_TRANSITIONS = {"start": "start", "approve": "complete", "reject": "complete",
                "supplement": "suspend", "certificate": "complete"}
_OBJECT_TIME = "1970-01-01T00:00:00+00:00"


def _aware(at: datetime) -> datetime:
    return at.replace(tzinfo=CHINA_TZ) if at.tzinfo is None else at


def local_iso(at: datetime) -> str:
    """``at`` in service-centre time, ISO 8601 to the millisecond (naive = already local).

    >>> from datetime import datetime, timezone
    >>> local_iso(datetime(2025, 1, 24, 1, 30, tzinfo=timezone.utc))
    '2025-01-24T09:30:00.000+08:00'
    """
    if at.tzinfo is None:
        at = at.replace(tzinfo=CHINA_TZ)
    elif at.utcoffset() != _EIGHT_HOURS:
        at = at.astimezone(CHINA_TZ)
    return at.isoformat(timespec="milliseconds")


class Event(NamedTuple):
    """One event of a case's history (a tuple: cheap to make by the million).

    ``kind`` is one of :data:`EVENT_KINDS`; ``certificate`` holds the certificate number
    for ``certificate`` events, ``resource`` who decided for decisions. A naive ``at`` is
    service-centre time; ``at_text`` may carry it already formatted (see :attr:`time`).
    """

    case_id: str
    step_id: str
    kind: str
    at: datetime
    department_id: str | None = None
    resource: str | None = None
    certificate: str | None = None
    procedure_id: str | None = None
    at_text: str | None = None

    @property
    def time(self) -> str:
        """``at`` as ISO 8601 text in service-centre time (as the database formatted it,
        when the event came from the case tables)."""
        return self.at_text or local_iso(self.at)

    @property
    def activity(self) -> str:
        """``step_id:kind``, the XES activity name."""
        return f"{self.step_id}:{self.kind}"

    @property
    def transition(self) -> str:
        """The XES lifecycle transition: start, complete or suspend."""
        return _TRANSITIONS[self.kind]


# --- reading the case tables ---------------------------------------------------------------


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, CHINA_TZ)


class local_day(FunctionElement):
    """SQL: the service-centre calendar day of a stored (UTC) timestamp column, computed by
    the database so that millions of rows need no conversion in Python."""

    type = Date()
    inherit_cache = True


@compiles(local_day, "postgresql")
def _local_day_postgresql(element, compiler, **kw) -> str:
    return f"(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'Asia/Shanghai')::date"


@compiles(local_day)
def _local_day_sqlite(element, compiler, **kw) -> str:
    return f"date({compiler.process(element.clauses, **kw)}, '+8 hours')"


class local_time_text(FunctionElement):
    """SQL: a stored (UTC) timestamp as ISO 8601 text in service-centre time, to the
    millisecond — what :func:`local_iso` gives, formatted by the database."""

    type = String()
    inherit_cache = True


@compiles(local_time_text, "postgresql")
def _local_time_text_postgresql(element, compiler, **kw) -> str:
    column = compiler.process(element.clauses, **kw)
    return (f"to_char(({column}) AT TIME ZONE INTERVAL '+08:00', "
            "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"+08:00\"')")


@compiles(local_time_text)
def _local_time_text_sqlite(element, compiler, **kw) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"strftime('%Y-%m-%dT%H:%M:%f+08:00', {column}, '+8 hours')"


def _stored(at: datetime) -> datetime:
    """A datetime read from the case tables (UTC; naive ones too) in service-centre time."""
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(CHINA_TZ)


def cases_in_period(stmt: Any, moment: Any, *, start: date | None, end: date | None,
                    procedure_id: str | None) -> Any:
    """``stmt`` (over the cases table) narrowed to the cases whose ``moment`` column falls on
    a service-centre day in ``[start, end]`` and, if given, of ``procedure_id``."""
    from flows.casework.tables import Case

    if start is not None:
        stmt = stmt.where(moment >= _day_start(start))
    if end is not None:
        stmt = stmt.where(moment < _day_start(end + timedelta(days=1)))
    if procedure_id is not None:
        stmt = stmt.where(Case.procedure_id == procedure_id)
    return stmt


def history_events(
    session: Any,
    *,
    start: date | None = None,
    end: date | None = None,
    procedure_id: str | None = None,
    batch_rows: int = 20000,
) -> Iterator[Event]:
    """Stream the events of the cases received in ``[start, end]`` from the case tables.

    One SQL query: the cases in id order, each with its step starts, decisions and
    certificates (UNION ALL) in time order. On PostgreSQL the events are a LATERAL
    subquery read through each table's ``case_id`` index, so the database sorts one case
    at a time and the rows stream out as soon as the first case is read; memory stays
    flat however many cases there are.
    """
    from sqlalchemy import literal, null, select, true, union_all

    from flows.casework.tables import Case, CaseStep, Certificate, Decision

    lateral = session.get_bind().dialect.name == "postgresql"

    def of_case(stmt, case_id_column):
        return stmt.where(case_id_column == Case.id) if lateral else stmt

    starts = of_case(select(
        CaseStep.case_id.label("case_id"), CaseStep.step_id.label("step_id"),
        literal("start").label("kind"), CaseStep.started_at.label("at"),
        CaseStep.department_id.label("department_id"), null().label("resource"),
        null().label("certificate"), literal(0).label("rank"),
    ).where(CaseStep.started_at.is_not(None)), CaseStep.case_id)
    decisions = of_case(select(
        Decision.case_id, Decision.step_id, Decision.outcome, Decision.decided_at,
        Decision.department_id, Decision.decided_by, null(), literal(1),
    ), Decision.case_id)
    certificates = of_case(select(
        Certificate.case_id, Certificate.step_id, literal("certificate"), Certificate.issued_at,
        Certificate.department_id, null(), Certificate.number, literal(2),
    ), Certificate.case_id)
    union = union_all(starts, decisions, certificates)
    events = union.lateral() if lateral else union.subquery()
    c = events.c
    stmt = (select(c.case_id, c.step_id, c.kind, c.at, c.department_id, c.resource,
                   c.certificate, Case.procedure_id, local_time_text(c.at))
            .select_from(Case)
            .join(events, true() if lateral else c.case_id == Case.id)
            .order_by(Case.id, c.at, c.rank))
    stmt = cases_in_period(stmt, Case.received_at, start=start, end=end,
                           procedure_id=procedure_id)
    # tuple.__new__ is what Event._make calls, without a Python frame per row
    return map(partial(tuple.__new__, Event), stream_rows(session, stmt, batch_rows=batch_rows))


def stream_rows(session: Any, stmt: Any, *, batch_rows: int = 20000) -> Iterator[Sequence[Any]]:
    """The rows of ``stmt``, never the whole result in memory.

    On PostgreSQL the database sends the rows while they are read (psycopg ``stream``,
    ``batch_rows`` to a chunk), so its work overlaps with the reader's; binary, so numbers
    and timestamps (in UTC) need no parsing; with enough sort memory to stay off the disk
    and no JIT compiling (it costs more than it saves on these scans). The rows come on a
    connection of their own, which a stream holds until its last row: the session's stays
    free for other queries meanwhile, and for its rollback if the reader stops half-way.
    That connection sees what is committed. Elsewhere through SQLAlchemy's ``yield_per``.
    """
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        yield from session.connection().execute(
            stmt.execution_options(yield_per=batch_rows, stream_results=True))
        return
    compiled = stmt.compile(dialect=bind.dialect)
    with bind.connect() as connection:
        raw = connection.connection.dbapi_connection
        with raw.cursor() as setup:
            setup.execute("SET LOCAL TIME ZONE 'UTC'")
            setup.execute("SET LOCAL work_mem = '256MB'")
            setup.execute("SET LOCAL jit = off")
        with raw.cursor(binary=True) as cursor:
            yield from cursor.stream(str(compiled), compiled.params, size=batch_rows)


# --- writers ---------------------------------------------------------------------------------


class _Atomic:
    """Write to ``.name.tmp`` beside ``path``; move into place only on success."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.name}.tmp")

    def __enter__(self) -> Path:
        self.tmp.unlink(missing_ok=True)
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)



def _without_cycle_collection(writer: Callable[..., int]) -> Callable[..., int]:
    """Run ``writer`` with Python's cycle collector paused: a log is millions of tuples and
    strings, none of them in a cycle, which the collector would otherwise walk again and
    again while a batch of them piles up (a sixth of the time of a large export)."""
    @functools.wraps(writer)
    def paused(*args: Any, **kwargs: Any) -> int:
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return writer(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()

    return paused


_case_of = itemgetter(0)
_at_of = itemgetter(3)


def _by_case(events: Iterable[Event]) -> Iterator[tuple[str, list[Event]]]:
    """Consecutive runs of one case's events; checks grouping and time order (in C: the
    runs come from ``groupby``, the order is one ``map`` over each run's times)."""
    seen: set[str] = set()
    for case_id, group in groupby(events, _case_of):
        if case_id in seen:
            raise EventLogError(
                f"events of case '{case_id}' are not together; sort them by case first")
        seen.add(case_id)
        run = list(group)
        times = list(map(_at_of, run))
        if not all(map(le, times, islice(times, 1, None))):
            i = next(i for i in range(1, len(run)) if times[i] < times[i - 1])
            raise EventLogError(
                f"case '{case_id}': event {run[i].activity} at {times[i].isoformat()} comes "
                f"after {run[i - 1].activity} at {times[i - 1].isoformat()}; sort each case "
                "by time")
        yield case_id, run
    if not seen:
        raise EventLogError("no events to export; choose a period that has cases")


_XML_SPECIAL = frozenset('&<>"')


def _xml(value: str) -> str:
    """An XML attribute value, quoted; the escaping is skipped for plain text (ids).

    >>> _xml("出生登记"), _xml("a & b") == quoteattr("a & b")
    ('"出生登记"', True)
    """
    if value.isprintable() and _XML_SPECIAL.isdisjoint(value):
        return f'"{value}"'
    return quoteattr(value)


def _json(value: str) -> str:
    """A JSON string literal; the escaping is skipped for plain text (ids).

    >>> _json("C-1"), _json('say "hi"') == json.dumps('say "hi"')
    ('"C-1"', True)
    """
    if value.isprintable() and '"' not in value and "\\" not in value:
        return f'"{value}"'
    return json.dumps(value, ensure_ascii=False)


_XES_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1849-2016" xes.features="nested-attributes" xmlns="http://www.xes-standard.org/">
<extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
<extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>
<extension name="Lifecycle" prefix="lifecycle" uri="http://www.xes-standard.org/lifecycle.xesext"/>
<extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>
<global scope="trace"><string key="concept:name" value="__INVALID__"/></global>
<global scope="event"><string key="concept:name" value="__INVALID__"/><date key="time:timestamp" value="1970-01-01T00:00:00.000+00:00"/><string key="lifecycle:transition" value="complete"/></global>
<classifier name="Activity" keys="concept:name"/>
"""


@lru_cache(maxsize=1 << 12)
def _xes_event_text(step_id: str, kind: str, department_id: str | None,
                    resource: str | None) -> tuple[str, str]:
    """The text of an XES event of one step, kind, department and resource before and
    after its timestamp (the certificate, if any, and ``</event>`` follow)."""
    head = (f'<event><string key="concept:name" value={_xml(f"{step_id}:{kind}")}/>'
            '<date key="time:timestamp" value="')
    tail = (f'"/><string key="lifecycle:transition" value="{_TRANSITIONS[kind]}"/>'
            f'<string key="onething:step_id" value={_xml(step_id)}/>'
            f'<string key="onething:kind" value="{kind}"/>')
    if department_id:
        tail += f'<string key="org:group" value={_xml(department_id)}/>'
    if resource:
        tail += f'<string key="org:resource" value={_xml(resource)}/>'
    return head, tail


@_without_cycle_collection
def write_xes(events: Iterable[Event], path: str | os.PathLike[str]) -> int:
    """Write ``events`` (grouped by case, in time order) as XES; return the event count.

    >>> import tempfile, pathlib
    >>> from datetime import datetime
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "log.xes"
    >>> write_xes([Event("C-1", "licence", "start", datetime(2025, 1, 24, 9)),
    ...            Event("C-1", "licence", "approve", datetime(2025, 1, 27, 10))], out)
    2
    >>> 'value="licence:approve"' in out.read_text()
    True
    """
    count = 0
    with _Atomic(path) as tmp, open(tmp, "w", encoding="utf-8", buffering=1 << 20) as f:
        f.write(_XES_HEAD)
        for case_id, run in _by_case(events):
            parts = [f'<trace><string key="concept:name" value={_xml(case_id)}/>']
            if run[0].procedure_id:
                parts.append(f'<string key="onething:procedure_id" '
                             f'value={_xml(run[0].procedure_id)}/>')
            parts.append("\n")
            for _, step_id, kind, at, department_id, resource, certificate, _, at_text in run:
                head, tail = _xes_event_text(step_id, kind, department_id, resource)
                parts += (head, at_text or local_iso(at), tail)
                if certificate:
                    parts.append(f'<string key="onething:certificate" '
                                 f'value={_xml(certificate)}/>')
                parts.append("</event>\n")
            parts.append("</trace>\n")
            f.write("".join(parts))
            count += len(run)
        f.write("</log>\n")
    return count


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
    for case_id, run in _by_case(events):
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


@_without_cycle_collection
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
    with _Atomic(path) as tmp:
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


@_without_cycle_collection
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
    with _Atomic(path) as tmp, closing(sqlite3.connect(tmp)) as conn:
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


def export_events(events: Iterable[Event], path: str | os.PathLike[str], fmt: str) -> int:
    """Write ``events`` in ``fmt`` (one of :data:`EXPORT_FORMATS`); return the event count."""
    writers: dict[str, Callable[[Iterable[Event], Any], int]] = {
        "xes": write_xes, "ocel-json": write_ocel_json, "ocel-sqlite": write_ocel_sqlite,
    }
    if fmt not in writers:
        raise EventLogError(f"unknown export format '{fmt}'; use one of {', '.join(writers)}",
                            suggestion=did_you_mean(fmt, writers))
    return writers[fmt](events, path)


# --- readers ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One row of an imported log: ``transition`` is start, complete, suspend or resume."""

    case_id: str
    activity: str
    at: datetime
    transition: str = "complete"
    step_id: str | None = None
    line: int | None = None


_CSV_COLUMNS = {
    "case": ("case_id", "case:concept:name", "case", "case id", "caseid", "案件编号", "办件编号"),
    "activity": ("activity", "concept:name", "activity name", "step_id", "step", "环节", "事项"),
    "timestamp": ("timestamp", "time:timestamp", "time", "时间"),
    "start": ("start_timestamp", "start", "started_at", "start time", "开始时间"),
    "end": ("end_timestamp", "complete_timestamp", "end", "decided_at", "end time",
            "complete", "结束时间"),
    "transition": ("lifecycle:transition", "lifecycle", "transition"),
}
_TRANSITION_WORDS = {"start": "start", "complete": "complete", "suspend": "suspend",
                     "resume": "resume", "approve": "complete", "reject": "complete",
                     "supplement": "suspend", "certificate": "certificate"}


class _Clock:
    """Parses timestamps; rejects mixed time zones and cases going back in time."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.offset: timedelta | None | str = "unset"
        self.last: dict[str, datetime] = {}

    def parse(self, text: str | None, line: int, field_name: str) -> datetime:
        try:
            at = datetime.fromisoformat((text or "").strip())
        except ValueError:
            raise EventLogError(
                f"{field_name}: '{text}' is not a timestamp; use ISO 8601 such as "
                "2025-01-24T09:30:00+08:00", file=self.file, line=line) from None
        offset = at.utcoffset()
        if self.offset == "unset":
            self.offset = offset
        elif offset != self.offset:
            def name(o):
                return "no time zone" if o is None else f"UTC{_offset_text(o)}"
            raise EventLogError(
                f"{field_name}: '{text}' is in {name(offset)} but earlier timestamps are in "
                f"{name(self.offset)}; give every timestamp in one time zone",
                file=self.file, line=line)
        return _aware(at)

    def check_order(self, case_id: str, at: datetime, line: int) -> None:
        last = self.last.get(case_id)
        if last is not None and at < last:
            raise EventLogError(
                f"case '{case_id}': {at.isoformat()} is earlier than the case's previous event "
                f"({last.isoformat()}); timestamps out of order — sort each case by time",
                file=self.file, line=line)
        self.last[case_id] = at


def _offset_text(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _column(header: list[str], role: str) -> str | None:
    names = {h.strip().lower(): h for h in header}
    for alias in _CSV_COLUMNS[role]:
        if alias in names:
            return names[alias]
    return None


def _read_csv(path: Path) -> Iterator[LogEvent]:
    file = str(path)
    clock = _Clock(file)
    try:
        f = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 (closed below)
    except OSError as err:
        raise EventLogError(f"cannot read the log: {err.strerror}", file=file) from None
    with f:
        reader = csv.reader(f, strict=True)
        try:
            header = next(reader, None)
        except (csv.Error, UnicodeDecodeError) as err:
            raise EventLogError(f"not a CSV file: {err}", file=file, line=1) from None
        if not header:
            raise EventLogError("the CSV file is empty; it needs a header row", file=file, line=1)
        cols = {role: _column(header, role) for role in _CSV_COLUMNS}
        for role in ("case", "activity"):
            if cols[role] is None:
                raise EventLogError(
                    f"no {role} column among {header}; name it '{_CSV_COLUMNS[role][0]}'",
                    file=file, line=1,
                    suggestion=did_you_mean(_CSV_COLUMNS[role][0], header))
        if cols["timestamp"] is None and cols["end"] is None:
            raise EventLogError(
                f"no timestamp column among {header}; add 'timestamp' "
                "(or 'start_timestamp' and 'end_timestamp')", file=file, line=1)
        index = {role: header.index(c) for role, c in cols.items() if c is not None}
        line = 1
        try:
            for row in reader:
                line = reader.line_num
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) != len(header):
                    raise EventLogError(
                        f"row has {len(row)} fields, the header has {len(header)}; the file "
                        "may be truncated or a field holds an unquoted comma",
                        file=file, line=line)
                case_id = row[index["case"]].strip()
                activity = row[index["activity"]].strip()
                if not case_id or not activity:
                    raise EventLogError("empty case or activity", file=file, line=line)
                if "start" in index and row[index["start"]].strip():
                    began = clock.parse(row[index["start"]], line, cols["start"])
                    clock.check_order(case_id, began, line)
                    yield LogEvent(case_id, activity, began, "start", line=line)
                if "end" in index and row[index["end"]].strip():
                    at = clock.parse(row[index["end"]], line, cols["end"])
                    transition = "complete"
                else:
                    at = clock.parse(row[index["timestamp"]] if "timestamp" in index else "",
                                     line, cols["timestamp"] or "timestamp")
                    word = row[index["transition"]].strip().lower() if "transition" in index \
                        else "complete"
                    transition = _TRANSITION_WORDS.get(word, word)
                if "start" in index and row[index["start"]].strip() and at < began:
                    raise EventLogError(
                        f"ends ({at.isoformat()}) before it starts ({began.isoformat()})",
                        file=file, line=line)
                clock.check_order(case_id, at, line)
                yield LogEvent(case_id, activity, at, transition, line=line)
        except csv.Error as err:
            raise EventLogError(f"malformed CSV: {err}", file=file, line=reader.line_num) from None
        except UnicodeDecodeError:
            raise EventLogError("not UTF-8 text; save the CSV as UTF-8",
                                file=file, line=line + 1) from None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _read_xes(path: Path) -> Iterator[LogEvent]:
    file = str(path)
    clock = _Clock(file)
    parser = ElementTree.XMLPullParser(events=("start", "end"))
    case_id: str | None = None
    in_event = False
    line = 0
    try:
        f = open(path, "rb")  # noqa: SIM115 (closed below)
    except OSError as err:
        raise EventLogError(f"cannot read the log: {err.strerror}", file=file) from None
    with f:
        try:
            for line, raw in enumerate(f, 1):
                parser.feed(raw)
                for what, el in parser.read_events():
                    tag = _local(el.tag)
                    if what == "start" and tag == "trace":
                        case_id = None
                    elif what == "start" and tag == "event":
                        in_event = True
                    elif what == "end" and tag == "string" and not in_event \
                            and el.get("key") == "concept:name":
                        case_id = el.get("value")
                    elif what == "end" and tag == "event":
                        in_event = False
                        yield _xes_event(el, case_id, clock, line, file)
                        el.clear()
            parser.close()
        except ElementTree.ParseError as err:
            at_line = err.position[0] if err.position else line
            raise EventLogError(f"malformed or truncated XES ({err}); fix the file or export "
                                "it again", file=file, line=at_line) from None


def _xes_event(el, case_id: str | None, clock: _Clock, line: int, file: str) -> LogEvent:
    attrs = {child.get("key"): child.get("value") for child in el}
    if case_id is None:
        raise EventLogError("event outside a trace with a concept:name", file=file, line=line)
    activity = attrs.get("concept:name")
    if not activity:
        raise EventLogError("event without concept:name", file=file, line=line)
    if "time:timestamp" not in attrs:
        raise EventLogError(f"event '{activity}' has no time:timestamp", file=file, line=line)
    at = clock.parse(attrs["time:timestamp"], line, "time:timestamp")
    clock.check_order(case_id, at, line)
    word = (attrs.get("onething:kind") or attrs.get("lifecycle:transition") or "complete").lower()
    return LogEvent(case_id, activity, at, _TRANSITION_WORDS.get(word, word),
                    step_id=attrs.get("onething:step_id"), line=line)


def read_log(path: str | os.PathLike[str]) -> Iterator[LogEvent]:
    """Stream the events of an XES (``.xes``) or CSV (``.csv``) log, checking each row.

    CSV columns are found by name: ``case_id``, ``activity``, and ``timestamp`` (with an
    optional ``lifecycle:transition``) or ``start_timestamp`` and ``end_timestamp``.

    >>> import tempfile, pathlib
    >>> log = pathlib.Path(tempfile.mkdtemp()) / "log.csv"
    >>> _ = log.write_text("case_id,activity,timestamp\\nC-1,licence,2025-01-24T09:00\\n")
    >>> [(e.case_id, e.activity, e.at.isoformat()) for e in read_log(log)]
    [('C-1', 'licence', '2025-01-24T09:00:00+08:00')]
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".xes":
        return _read_xes(path)
    if suffix in (".csv", ".txt"):
        return _read_csv(path)
    raise EventLogError(f"unknown log format '{suffix or path.name}'; give a .xes or .csv file",
                        file=str(path), suggestion=did_you_mean(suffix, [".xes", ".csv"]))
