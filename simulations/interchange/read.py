"""Reading the XES or CSV event log of another system back, one :class:`LogEvent` a row."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree

from process_models.calendar import local_time
from process_models.errors import EventLogError, did_you_mean

__all__ = [
    "LogEvent",
    "read_log",
]


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
        return at if at.tzinfo else local_time(at)

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
