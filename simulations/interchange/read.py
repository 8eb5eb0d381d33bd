"""Reading the XES or CSV event log of another system back, one :class:`LogEvent` a row.

Both formats may be gzipped (``.xes.gz``, ``.csv.gz``). A CSV file's delimiter is sniffed
(comma, semicolon, tab or bar) and its columns found by name — the XES standard names
(``case:concept:name``, ``concept:name``, ``time:timestamp``, ``lifecycle:transition``,
``org:resource``, ``org:group``) first, then common aliases — or named in a
:class:`LogColumns`. Timestamps are ISO 8601 with or without a time zone, or dates alone
(read as the start of the day); offsets that differ by daylight saving (at most an hour)
are one time zone, wider differences or naive mixed with zoned are refused. Events
sharing a timestamp keep the file's order.

The reader streams: it holds one row and, per case, the time of its last event (to check
that each case runs forward in time), never the log.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, NamedTuple
from xml.etree import ElementTree

from process_models.calendar import local_time
from process_models.errors import EventLogError, did_you_mean, shown
from process_models.reading_problems import reading_error

__all__ = [
    "TRANSITION_WORDS",
    "LogColumns",
    "LogEvent",
    "TimestampClock",
    "find_columns",
    "open_bytes",
    "read_log",
    "sniff_delimiter",
]


class LogEvent(NamedTuple):
    """One row of an imported log: ``transition`` is start, complete, suspend or resume.

    ``resource`` and ``group`` are who handled it and their department; ``deadline``,
    ``case_start`` and ``case_end`` are the case's attributes of that name when the log
    has them (an empty ``case_end`` where the column exists reads as a case still open).
    A tuple: cheap to make by the hundred thousand.
    """

    case_id: str
    activity: str
    at: datetime
    transition: str = "complete"
    step_id: str | None = None
    line: int | None = None
    resource: str | None = None
    group: str | None = None
    deadline: datetime | None = None
    case_start: datetime | None = None
    case_end: datetime | None = None


@dataclass(frozen=True, slots=True)
class LogColumns:
    """Column (CSV) or attribute (XES) names of a log; ``None`` finds the role by its
    standard name or an alias (``deadline``, ``case_start`` and ``case_end`` have none:
    name them to use them).

    >>> LogColumns(case="办件编号").case
    '办件编号'
    """

    case: str | None = None
    activity: str | None = None
    timestamp: str | None = None
    start_timestamp: str | None = None
    end_timestamp: str | None = None
    transition: str | None = None
    resource: str | None = None
    group: str | None = None
    deadline: str | None = None
    case_start: str | None = None
    case_end: str | None = None


_ALIASES = {
    "case": ("case:concept:name", "case_id", "case", "case id", "caseid", "案件编号", "办件编号"),
    "activity": ("concept:name", "activity", "activity name", "step_id", "step", "环节", "事项"),
    "timestamp": ("time:timestamp", "timestamp", "time", "时间"),
    "start_timestamp": ("start_timestamp", "start", "started_at", "start time", "开始时间"),
    "end_timestamp": ("end_timestamp", "complete_timestamp", "end", "decided_at", "end time",
                      "complete", "结束时间"),
    "transition": ("lifecycle:transition", "lifecycle", "transition"),
    "resource": ("org:resource", "resource", "user", "办理人"),
    "group": ("org:group", "org:role", "group", "department", "部门"),
    "deadline": (),
    "case_start": (),
    "case_end": (),
}
_TIMES = ("timestamp", "start_timestamp", "end_timestamp", "deadline", "case_start", "case_end")
TRANSITION_WORDS = {"start": "start", "complete": "complete", "suspend": "suspend",
                     "resume": "resume", "approve": "complete", "reject": "complete",
                     "supplement": "suspend", "certificate": "certificate"}
_SNIFF_BYTES = 64 * 1024
_DELIMITERS = ",;\t|"
_DST_SHIFT = timedelta(hours=1)


class TimestampClock:
    """Parses timestamps; rejects mixed time zones and cases going back in time."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.offsets: set[timedelta | None] = set()
        self.last: dict[str, datetime] = {}

    def parse(self, text: str | None, line: int, field_name: str) -> datetime:
        raw = (text or "").strip()
        try:
            at = datetime.fromisoformat(raw)
        except ValueError:
            at = self._other_form(raw, line, field_name)
        self.note_zone(at.utcoffset(), raw, line, field_name)
        return at if at.tzinfo else local_time(at)

    def note_zone(self, offset: timedelta | None, text: str, line: int,
                  field_name: str) -> None:
        """Remember the offset of ``text``, refusing one in another time zone."""
        if offset not in self.offsets:
            self._check_zone(offset, text, line, field_name)
            self.offsets.add(offset)

    def _other_form(self, raw: str, line: int, field_name: str) -> datetime:
        """A date written with slashes (2025/01/24), else one located error."""
        try:
            return datetime.fromisoformat(raw.replace("/", "-"))
        except ValueError:
            raise reading_error("log_not_timestamp", {"column": field_name, "value": shown(raw)},
                                kind=EventLogError, file=self.file, line=line) from None

    def _check_zone(self, offset: timedelta | None, text: str, line: int,
                    field_name: str) -> None:
        for seen in self.offsets:
            if (seen is None) != (offset is None) or (
                    offset is not None and abs(offset - seen) > _DST_SHIFT):
                def name(o):
                    return "no time zone" if o is None else f"UTC{_offset_text(o)}"
                raise reading_error("log_time_zones", {
                    "column": field_name, "value": f"'{text}'", "zone": name(offset),
                    "earlier": name(seen)}, kind=EventLogError, file=self.file, line=line)

    def check_order(self, case_id: str, at: datetime, line: int) -> None:
        last = self.last.get(case_id)
        if last is not None and at < last:
            raise reading_error("log_out_of_order", {
                "case": f"'{case_id}'", "at": at.isoformat(), "previous": last.isoformat()},
                kind=EventLogError, file=self.file, line=line)
        self.last[case_id] = at


def _offset_text(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def find_columns(header: list[str], columns: LogColumns, file: str) -> dict[str, int]:
    """Role → index in ``header``: named columns must exist, others are looked up."""
    names = {h.strip().lower(): i for i, h in enumerate(header)}
    index: dict[str, int] = {}
    for role, aliases in _ALIASES.items():
        given = getattr(columns, role)
        if given is not None:
            if given.strip().lower() not in names:
                raise reading_error("log_no_column", {
                    "option": role.replace("_", "-"), "value": shown(given),
                    "columns": ", ".join(header)}, kind=EventLogError, file=file, line=1,
                    suggestion=did_you_mean(given, header))
            index[role] = names[given.strip().lower()]
            continue
        found = next((names[a] for a in aliases if a in names), None)
        if found is not None:
            index[role] = found
    for role in ("case", "activity"):
        if role not in index:
            raise reading_error(f"log_no_{role}_column", {
                "header": str(header), "alias": f"'{_ALIASES[role][0]}'"}, kind=EventLogError,
                file=file, line=1, suggestion=did_you_mean(_ALIASES[role][1], header))
    if "timestamp" not in index and "end_timestamp" not in index:
        raise reading_error("log_no_timestamp_column", {"header": str(header)},
                            kind=EventLogError, file=file, line=1)
    return index


def open_bytes(path: Path) -> IO[bytes]:
    """The log's bytes, unpacked when its name ends in ``.gz`` (the caller closes it)."""
    try:
        if path.name.lower().endswith(".gz"):
            return gzip.open(path, "rb")
        return open(path, "rb")
    except OSError as err:
        raise reading_error("log_cannot_read", {"problem": err.strerror}, kind=EventLogError,
                            file=str(path)) from None


def sniff_delimiter(f: IO[str], file: str) -> str:
    """The delimiter sniffed from the header row (a comma when the sniffer cannot tell);
    quoting follows RFC 4180 whatever the delimiter."""
    try:
        sample = f.read(_SNIFF_BYTES)
    except UnicodeDecodeError:
        raise reading_error("log_not_utf8", kind=EventLogError, file=file, line=1) from None
    except (OSError, EOFError) as err:
        raise reading_error("log_damaged", {"problem": str(err)}, kind=EventLogError,
                            file=file, line=1) from None
    f.seek(0)
    first = sample.split("\n", 1)[0]
    try:
        return csv.Sniffer().sniff(first, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        return ","


def _read_csv(path: Path, columns: LogColumns) -> Iterator[LogEvent]:
    file = str(path)
    clock = TimestampClock(file)
    with io.TextIOWrapper(open_bytes(path), encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter=sniff_delimiter(f, file), strict=True)
        try:
            header = next(reader, None)
        except (csv.Error, UnicodeDecodeError, OSError, EOFError) as err:
            raise reading_error("log_not_csv", {"problem": str(err)}, kind=EventLogError,
                                file=file, line=1) from None
        if not header:
            raise reading_error("log_empty", kind=EventLogError, file=file, line=1)
        rows = _Rows(header, find_columns(header, columns, file), clock)
        width = len(header)
        line = 1
        try:
            for row in reader:
                line = reader.line_num
                if len(row) != width:
                    if not any(cell.strip() for cell in row):
                        continue
                    raise reading_error("log_row_width", {"count": len(row), "width": width},
                                        kind=EventLogError, file=file, line=line)
                yield from rows.events(row, line)
        except csv.Error as err:
            raise reading_error("log_malformed_csv", {"problem": str(err)}, kind=EventLogError,
                                file=file, line=reader.line_num) from None
        except UnicodeDecodeError:
            raise reading_error("log_not_utf8", kind=EventLogError, file=file,
                                line=line + 1) from None
        except (OSError, EOFError) as err:
            raise reading_error("log_damaged", {"problem": str(err)}, kind=EventLogError,
                                file=file, line=line + 1) from None


class _Rows:
    """Turns one CSV row into its one or two events (start and end columns), with the
    column indexes looked up once."""

    def __init__(self, header: list[str], index: dict[str, int], clock: TimestampClock) -> None:
        self.header, self.index, self.clock = header, index, clock
        self.case, self.activity = index["case"], index["activity"]
        self.times = [(role, index[role], header[index[role]]) for role in _TIMES
                      if role in index]
        self.resource, self.group = index.get("resource"), index.get("group")
        self.transition = index.get("transition")

    def events(self, row: list[str], line: int) -> tuple[LogEvent, ...]:
        clock = self.clock
        case_id, activity = row[self.case].strip(), row[self.activity].strip()
        if not case_id or not activity:
            empty = "case" if not case_id else "activity"
            raise reading_error(f"log_empty_{empty}", {"column": self.header[self.index[empty]]},
                                kind=EventLogError, file=clock.file, line=line)
        times = {role: clock.parse(row[i], line, name) for role, i, name in self.times
                 if row[i].strip()}
        resource = row[self.resource].strip() or None if self.resource is not None else None
        group = row[self.group].strip() or None if self.group is not None else None
        deadline, case_start, case_end = (times.get("deadline"), times.get("case_start"),
                                          times.get("case_end"))
        began = times.get("start_timestamp")
        first: tuple[LogEvent, ...] = ()
        if began is not None:
            clock.check_order(case_id, began, line)
            first = (LogEvent(case_id, activity, began, "start", None, line, resource, group,
                              deadline, case_start, case_end),)
        if "end_timestamp" in times:
            at, transition = times["end_timestamp"], "complete"
        elif "timestamp" in times:
            at = times["timestamp"]
            word = row[self.transition].strip().lower() if self.transition is not None else ""
            transition = TRANSITION_WORDS.get(word, word) if word else "complete"
        else:
            role = "timestamp" if "timestamp" in self.index else "end_timestamp"
            raise reading_error("log_empty_timestamp", {"column": self.header[self.index[role]]},
                                kind=EventLogError, file=clock.file, line=line)
        if began is not None and at < began:
            raise reading_error("log_ends_before_start", {"at": at.isoformat(),
                                                          "began": began.isoformat()},
                                kind=EventLogError, file=clock.file, line=line)
        clock.check_order(case_id, at, line)
        return (*first, LogEvent(case_id, activity, at, transition, None, line, resource, group,
                                 deadline, case_start, case_end))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _read_xes(path: Path, columns: LogColumns) -> Iterator[LogEvent]:
    file = str(path)
    clock = TimestampClock(file)
    parser = ElementTree.XMLPullParser(events=("start", "end"))
    trace: dict[str, str] = {}
    in_event = False
    line = 0
    with open_bytes(path) as f:
        try:
            for line, raw in enumerate(f, 1):
                parser.feed(raw)
                for what, el in parser.read_events():
                    tag = _local(el.tag)
                    if what == "start" and tag == "trace":
                        trace = {}
                    elif what == "start" and tag == "event":
                        in_event = True
                    elif what == "end" and tag == "event":
                        in_event = False
                        yield _xes_event(el, trace, columns, clock, line)
                        el.clear()
                    elif what == "end" and not in_event and el.get("key") is not None:
                        trace[el.get("key")] = el.get("value")
            parser.close()
        except ElementTree.ParseError as err:
            at_line = err.position[0] if err.position else line
            raise reading_error("log_bad_xes", {"problem": str(err)}, kind=EventLogError,
                                file=file, line=at_line) from None
        except (OSError, EOFError) as err:
            raise reading_error("log_damaged", {"problem": str(err)}, kind=EventLogError,
                                file=file, line=line + 1) from None


def _xes_event(el, trace: dict[str, str], columns: LogColumns, clock: TimestampClock,
               line: int) -> LogEvent:
    file = clock.file
    attrs = {child.get("key"): child.get("value") for child in el}
    case_key = columns.case or "concept:name"
    case_id = trace.get(case_key.removeprefix("case:"))
    if case_id is None:
        raise reading_error("log_outside_trace", {"key": case_key}, kind=EventLogError,
                            file=file, line=line)
    activity_key = columns.activity or "concept:name"
    activity = attrs.get(activity_key)
    if not activity:
        raise reading_error("log_no_activity", {"key": activity_key}, kind=EventLogError,
                            file=file, line=line)
    time_key = columns.timestamp or "time:timestamp"
    if time_key not in attrs:
        raise reading_error("log_no_time", {"activity": f"'{activity}'", "key": time_key},
                            kind=EventLogError, file=file, line=line)
    at = clock.parse(attrs[time_key], line, time_key)
    clock.check_order(case_id, at, line)

    def case_time(key: str | None) -> datetime | None:
        value = trace.get(key.removeprefix("case:")) if key else None
        return clock.parse(value, line, key) if value else None

    word = (attrs.get("onething:kind") or attrs.get(columns.transition or "lifecycle:transition")
            or "complete").lower()
    return LogEvent(case_id, activity, at, TRANSITION_WORDS.get(word, word),
                    step_id=attrs.get("onething:step_id"), line=line,
                    resource=attrs.get(columns.resource or "org:resource"),
                    group=attrs.get(columns.group or "org:group"),
                    deadline=case_time(columns.deadline), case_start=case_time(columns.case_start),
                    case_end=case_time(columns.case_end))


def read_log(path: str | os.PathLike[str], columns: LogColumns | None = None
             ) -> Iterator[LogEvent]:
    """Stream the events of an XES or CSV log (either may be gzipped), checking each row.

    Parameters
    ----------
    path : path
        ``.xes``, ``.csv`` or ``.txt``, optionally ending in ``.gz`` (a folder or ``.zip`` of
        SPGL tables: :func:`simulations.interchange.spgl.open_log`).
    columns : LogColumns, optional
        Column names where the log does not use the standard ones.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> log = pathlib.Path(tempfile.mkdtemp()) / "log.csv"
    >>> _ = log.write_text("case_id;activity;timestamp\\nC-1;licence;2025-01-24T09:00\\n")
    >>> [(e.case_id, e.activity, e.at.isoformat()) for e in read_log(log)]
    [('C-1', 'licence', '2025-01-24T09:00:00+08:00')]
    """
    path = Path(path)
    columns = columns or LogColumns()
    name = path.name.lower().removesuffix(".gz")
    suffix = Path(name).suffix
    if suffix == ".xes":
        return _read_xes(path, columns)
    if suffix in (".csv", ".txt"):
        return _read_csv(path, columns)
    raise reading_error("log_format", {"value": f"'{suffix or path.name}'"}, kind=EventLogError,
                        file=str(path), suggestion=did_you_mean(suffix, [".xes", ".csv"]))

