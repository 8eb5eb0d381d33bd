"""Case history streamed out of the tables: event-log events, and step durations.

:func:`history_events` yields :class:`~simulations.interchange.eventlog.Event` rows,
grouped by case and in time order, for the event-log writers of
:mod:`simulations.interchange` (:func:`history_names`: the names the SPGL tables write); :func:`history_durations` gives each step's working-day
durations for fitting (:mod:`simulations.planning.fitting`). Days are service-centre days
(UTC+8), computed in SQL by :class:`local_day` and :class:`local_time_text` on SQLite and
PostgreSQL alike; rows stream in batches (:func:`stream_rows`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.types import Date, String

from process_models.calendar import SERVICE_CENTRE_TZ
from process_models.errors import EventLogError
from process_models.procedure import Procedure
from simulations.interchange.eventlog import Event
from simulations.interchange.spgl import SpglNames

__all__ = [
    "cases_in_period",
    "history_durations",
    "history_events",
    "history_names",
    "local_day",
    "local_time_text",
    "stream_rows",
]


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, SERVICE_CENTRE_TZ)


_OFFSET_HOURS = SERVICE_CENTRE_TZ.utcoffset(None) // timedelta(hours=1)
_OFFSET = f"+{_OFFSET_HOURS:02d}:00"


class local_day(FunctionElement):
    """SQL: the service-centre calendar day of a stored (UTC) timestamp column, computed by
    the database so that millions of rows need no conversion in Python."""

    type = Date()
    inherit_cache = True


@compiles(local_day, "postgresql")
def _local_day_postgresql(element, compiler, **kw) -> str:
    return f"(({compiler.process(element.clauses, **kw)}) AT TIME ZONE INTERVAL '{_OFFSET}')::date"


@compiles(local_day)
def _local_day_sqlite(element, compiler, **kw) -> str:
    return f"date({compiler.process(element.clauses, **kw)}, '+{_OFFSET_HOURS} hours')"


class local_time_text(FunctionElement):
    """SQL: a stored (UTC) timestamp as ISO 8601 text in service-centre time, to the
    millisecond — what :func:`local_iso` gives, formatted by the database."""

    type = String()
    inherit_cache = True


@compiles(local_time_text, "postgresql")
def _local_time_text_postgresql(element, compiler, **kw) -> str:
    column = compiler.process(element.clauses, **kw)
    return (f"to_char(({column}) AT TIME ZONE INTERVAL '{_OFFSET}', "
            f"'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"{_OFFSET}\"')")


@compiles(local_time_text)
def _local_time_text_sqlite(element, compiler, **kw) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"strftime('%Y-%m-%dT%H:%M:%f{_OFFSET}', {column}, '+{_OFFSET_HOURS} hours')"


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


def history_names(session: Any, *, procedure_id: str | None = None) -> SpglNames:
    """The names of the procedures, steps and departments of the stored cases (of
    ``procedure_id`` if given), from the definitions the cases ran; a definition no longer
    found leaves its ids unnamed."""
    from sqlmodel import select

    from flows.casework.definitions import resolve_procedure
    from flows.casework.tables import Case
    from process_models.errors import ProcedureNotFound

    stmt = select(Case.procedure_id, Case.procedure_version).distinct()
    if procedure_id is not None:
        stmt = stmt.where(Case.procedure_id == procedure_id)
    names = SpglNames({}, {}, {})
    for pid, version in session.exec(stmt):
        try:
            proc = resolve_procedure(pid, version, session=session)
        except ProcedureNotFound:
            continue
        names.procedures[pid] = proc.name
        names.steps.update(((pid, s.id), s.name) for s in proc.steps)
        names.departments.update((d.id, d.name) for d in proc.departments)
    return names


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


def history_durations(session: Any, proc: Procedure, *, start: date | None = None,
                      end: date | None = None, batch_rows: int = 2000,
                      calendar: Any = None) -> dict[str, list[float]]:
    """Working-day durations per step of ``proc`` from decided case steps in the database.

    Each is ``started_at`` → ``decided_at`` minus the step's 补正 pause
    (``paused_working_days``); cases are those received in ``[start, end]``.
    """
    from sqlmodel import select

    from flows.casework.tables import Case, CaseStep, stored_time
    from simulations.planning.fitting import working_days_elapsed

    stmt = (select(CaseStep.step_id, CaseStep.started_at, CaseStep.decided_at,
                   CaseStep.paused_working_days)
            .join(Case, Case.id == CaseStep.case_id)
            .where(CaseStep.started_at.is_not(None), CaseStep.decided_at.is_not(None)))
    stmt = cases_in_period(stmt, Case.received_at, start=start, end=end, procedure_id=proc.id)
    durations: dict[str, list[float]] = {}
    for step_id, began, decided, paused in session.execute(
            stmt.execution_options(yield_per=batch_rows)):
        days = working_days_elapsed(stored_time(began), stored_time(decided), calendar)
        durations.setdefault(step_id, []).append(max(0.0, days - (paused or 0)))
    if not durations:
        raise EventLogError(f"no decided cases of '{proc.id}' in the period; "
                            "choose another period or run `onething demo-history`")
    return durations
