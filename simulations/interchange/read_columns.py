"""Reading a CSV log straight into a :class:`~simulations.interchange.log_cases.LogTable`,
a block of rows at a time, by array.

:func:`read_table` cuts the file (gzipped or not) into blocks of whole lines, finds each
line's cells by the positions of its delimiters, and turns the columns it needs into
arrays: case and activity names by their distinct values, ISO 8601 timestamps digit by
digit (other forms, such as dates written with slashes, one distinct text at a time
through the row reader's parser). Only those arrays outlive a block: memory holds one
block of text (:data:`BLOCK_BYTES`) with its cell positions, then seven 8-byte numbers per
run and one id per case, never the log's text (a 50,000-event log: about 40 MB at the peak).

Whatever this path does not read the usual way goes to the row reader
(:func:`~simulations.interchange.read.read_log`, then
:func:`~simulations.interchange.log_cases.log_cases`), which reads it as before or gives
its one located line: quoted cells, carriage returns, blank or ragged rows, empty or
padded names, empty timestamps, lifecycle words other than a completion, case columns
(deadline, case start or end), an XES file, a case whose rows are not together or go
back in time, timestamps in two time zones. Both paths give the same table, so discovery
gives the same procedure either way.

>>> import tempfile, pathlib
>>> log = pathlib.Path(tempfile.mkdtemp()) / "log.csv"
>>> _ = log.write_text("case_id;activity;timestamp\\nC-1;受理;2025-01-24T09:00\\n"
...                    "C-1;发证;2025-01-27\\n", encoding="utf-8")
>>> t = read_table(log)
>>> t.cases, t.activities, int(t.end_wall[1] - t.end_wall[0]) // 3_600_000_000
(1, ['受理', '发证'], 63)
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import IO

import numpy as np

from process_models.calendar import SERVICE_CENTRE_TZ
from process_models.errors import EventLogError
from simulations.interchange.log_cases import (
    US_PER_DAY,
    LogTable,
    NameCodes,
    case_table,
    log_cases,
    wall_us,
)
from simulations.interchange.read import (
    TRANSITION_WORDS,
    LogColumns,
    TimestampClock,
    find_columns,
    open_bytes,
    sniff_delimiter,
)
from simulations.interchange.spgl import open_log

__all__ = [
    "read_table",
]

BLOCK_BYTES = 1 << 24
_US_PER_MINUTE = 60_000_000
_NAIVE_OFFSET_MINUTES = SERVICE_CENTRE_TZ.utcoffset(None) // timedelta(minutes=1)
_UNIX_EPOCH_WALL_US = 719_163 * US_PER_DAY  # wall_us(datetime(1970, 1, 1))
_DATE_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9]
_SPACE = np.zeros(256, bool)  # the ASCII characters str.strip() takes away
_SPACE[[*range(9, 14), *range(28, 33)]] = True
_LAYOUTS = {  # length of the text before any offset: digit places, separator places
    10: (_DATE_DIGITS, {4: b"-", 7: b"-"}),
    16: (_DATE_DIGITS + [11, 12, 14, 15], {4: b"-", 7: b"-", 10: b"T ", 13: b":"}),
    19: (_DATE_DIGITS + [11, 12, 14, 15, 17, 18],
         {4: b"-", 7: b"-", 10: b"T ", 13: b":", 16: b":"}),
    23: (_DATE_DIGITS + [11, 12, 14, 15, 17, 18, 20, 21, 22],
         {4: b"-", 7: b"-", 10: b"T ", 13: b":", 16: b":", 19: b"."}),
    26: (_DATE_DIGITS + [11, 12, 14, 15, 17, 18, 20, 21, 22, 23, 24, 25],
         {4: b"-", 7: b"-", 10: b"T ", 13: b":", 16: b":", 19: b"."}),
}


class _Unusual(Exception):
    """The log holds something only the row reader reads (or refuses) the usual way."""


def read_table(path: str | os.PathLike[str], columns: LogColumns | None = None) -> LogTable:
    """The cases of the log :func:`~simulations.interchange.spgl.open_log` reads (the same
    ``path`` and ``columns``) as a table: a CSV log by column; anything unusual, XES and
    SPGL tables by the row readers (see the module docstring)."""
    path = Path(path)
    columns = columns or LogColumns()
    if Path(path.name.lower().removesuffix(".gz")).suffix in (".csv", ".txt"):
        try:
            return _Reader(path, columns).table()
        except (_Unusual, EventLogError, OSError, EOFError, UnicodeDecodeError):
            pass
    return case_table(log_cases(open_log(path, columns), file=str(path)))


def _blocks(f: IO[bytes]) -> Iterator[bytes]:
    """The file in blocks of whole lines, each ending in a newline."""
    rest = b""
    while data := f.read(BLOCK_BYTES):
        data = rest + data
        cut = data.rfind(b"\n") + 1
        rest = data[cut:]
        if cut:
            yield data[:cut]
    if rest:
        yield rest + b"\n"


class _Reader:
    """One CSV log read block by block into the columns of a :class:`LogTable`."""

    def __init__(self, path: Path, columns: LogColumns) -> None:
        self.path, self.columns, self.file = path, columns, str(path)
        self.clock = TimestampClock(self.file)
        self.activities, self.departments = NameCodes(), NameCodes()
        self.case_ids: list[str] = []
        self.parts: list[tuple[np.ndarray, ...]] = []

    def table(self) -> LogTable:
        with open_bytes(self.path) as f:
            blocks = _blocks(f)
            first = next(blocks, b"")
            bom = 3 if first.startswith(b"\xef\xbb\xbf") else 0
            head = first[bom:first.find(b"\n")]
            self._header(head.decode("utf-8").removesuffix("\r"))
            if len(first) > bom + len(head) + 1:
                self._block(first, bom + len(head) + 1)
            for block in blocks:
                self._block(block)
        if not self.parts:
            raise _Unusual
        return self._assemble()

    def _header(self, line: str) -> None:
        self.delimiter = sniff_delimiter(io.StringIO(line), self.file)
        header = line.split(self.delimiter)
        index = find_columns(header, self.columns, self.file)
        if {"deadline", "case_start", "case_end"} & index.keys() or \
                {"timestamp", "end_timestamp"} <= index.keys():
            raise _Unusual
        self.width, self.index = len(header), index
        self.time = index.get("end_timestamp", index.get("timestamp"))
        self.transition = index.get("transition") if "timestamp" in index else None
        self.header = header

    def _cells(self, block: bytes, skip: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """The block's bytes from ``skip`` on, and where each row's cells end (rows by
        columns; a cell starts after the end of the one before it, the first after the end
        of the row before)."""
        if block.find(b'"', skip) >= 0 or block.find(b"\0", skip) >= 0:
            raise _Unusual
        if not block.isascii():
            str(block, "utf-8")  # refuses bytes that are not UTF-8
        raw = np.frombuffer(block, np.uint8, offset=skip)
        marks = raw == ord(self.delimiter)
        marks |= raw == 10
        ends = np.flatnonzero(marks)
        if len(ends) % self.width:
            raise _Unusual
        ends = ends.reshape(-1, self.width)
        expected = np.full(self.width, ord(self.delimiter), np.uint8)
        expected[-1] = 10
        if not (raw[ends] == expected).all():  # a row of another width
            raise _Unusual
        return raw, ends

    def _block(self, block: bytes, skip: int = 0) -> None:
        raw, ends = self._cells(block, skip)
        row_ends = ends[:, -1]
        row_starts = np.concatenate([[0], row_ends[:-1] + 1])
        if block.find(b"\r", skip) >= 0:  # lines ending in CR LF, every one of them
            if np.count_nonzero(raw == 13) != len(ends) or not (raw[row_ends - 1] == 13).all():
                raise _Unusual
            ends[:, -1] -= 1

        def column(j: int, clean: bool = True) -> tuple[np.ndarray, np.ndarray]:
            starts = ends[:, j - 1] + 1 if j else row_starts
            lengths = ends[:, j] - starts
            return _text(raw, starts, lengths, clean), lengths

        cases, lengths = column(self.index["case"])
        firsts = np.flatnonzero(np.concatenate([[True], cases[1:] != cases[:-1]]))
        ids = _names(cases[firsts], lengths[firsts])
        activity = self._codes(column(self.index["activity"])[0], self.activities)
        department = self._codes(self._department(column), self.departments, unknown=True)
        if self.transition is not None:
            words = column(self.transition)[0]
            for word in {words[0]} if (words == words[0]).all() else set(words.tolist()):
                word = word.decode("utf-8").strip().lower()
                if word and TRANSITION_WORDS.get(word, word) != "complete":
                    raise _Unusual
        end_utc, end_wall = self._times(*column(self.time, clean=False),
                                        self.header[self.time])
        if "start_timestamp" in self.index:
            j = self.index["start_timestamp"]
            start_utc, start_wall = self._times(*column(j, clean=False), self.header[j],
                                                empty_ok=True)
        else:
            start_utc = start_wall = np.full(len(cases), np.iinfo(np.int64).min)
        segment = np.diff(np.append(firsts, len(cases)))
        self.parts.append((np.repeat(np.arange(len(ids)) + len(self.case_ids), segment),
                           activity, department, end_utc, end_wall, start_utc, start_wall))
        self.case_ids += ids

    def _department(self, column: Callable[[int], tuple[np.ndarray, np.ndarray]]
                    ) -> np.ndarray:
        """The group of each run, else its resource (empty when neither is given)."""
        group, resource = self.index.get("group"), self.index.get("resource")
        if group is None and resource is None:
            return np.zeros(len(column(self.index["case"])[1]), "S1")
        if group is None:
            return column(resource)[0]
        cells, lengths = column(group)
        if resource is None or lengths.all():
            return cells
        return np.where(lengths > 0, cells, column(resource)[0])

    def _codes(self, values: np.ndarray, codes: NameCodes, unknown: bool = False) -> np.ndarray:
        cells = values.tolist()
        local = dict.fromkeys(cells)  # the distinct cells in the order first seen
        for cell in local:
            local[cell] = codes[_name(cell, "unknown" if unknown else None)]
        return np.fromiter(map(local.__getitem__, cells), np.int64, len(cells))

    def _times(self, texts: np.ndarray, lengths: np.ndarray, field_name: str,
               empty_ok: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Instants and wall clocks (microseconds) of ISO 8601 texts, the usual layouts digit
        by digit and any other one text at a time; an empty cell is the smallest integer
        where allowed."""
        cells = texts.view(np.uint8).reshape(len(texts), texts.dtype.itemsize)
        utc = np.full(len(texts), np.iinfo(np.int64).min)
        wall = utc.copy()
        done = lengths == 0
        if done.any() and not empty_ok:
            raise _Unusual
        for length in (np.flatnonzero(np.bincount(lengths)[1:]) + 1).tolist():  # but empty
            rows = np.flatnonzero(lengths == length)
            group = cells if len(rows) == len(cells) else cells[rows]
            kinds = _offset_lengths(group, length)
            for offset_len in np.unique(kinds).tolist():
                same = kinds == offset_len
                sub = rows if same.all() else rows[same]
                parsed = _iso(group if same.all() else group[same], length - offset_len,
                              offset_len)
                if parsed is None:
                    continue
                ok, walls, minutes = parsed
                sub = sub[ok]
                for m in np.unique(minutes).tolist():
                    self.clock.note_zone(timedelta(minutes=m) if offset_len else None,
                                         texts[sub[0]][:length].decode(), 0, field_name)
                wall[sub] = walls
                utc[sub] = walls - minutes * _US_PER_MINUTE
                done[sub] = True
        parsed_texts: dict[bytes, tuple[int, int]] = {}
        for i in np.flatnonzero(~done).tolist():
            text = texts[i][:lengths[i]]
            if text not in parsed_texts:
                at = self.clock.parse(text.decode("utf-8"), 0, field_name)
                parsed_texts[text] = (
                    wall_us(at) - at.utcoffset() // timedelta(microseconds=1), wall_us(at))
            utc[i], wall[i] = parsed_texts[text]
        return utc, wall

    def _assemble(self) -> LogTable:
        """One table of the blocks' columns; a case cut by a block's end is one case."""
        ids = self.case_ids
        new = np.array([True] + [a != b for a, b in zip(ids[1:], ids[:-1], strict=True)])
        case_of_segment = np.cumsum(new) - 1
        if len(set(ids)) != len(ids) - int(np.count_nonzero(~new)):
            raise _Unusual  # a case whose rows are not together
        run_case = case_of_segment[np.concatenate([p[0] for p in self.parts])]
        activity, department, end_utc, end_wall, start_utc, start_wall = (
            np.concatenate([p[k] for p in self.parts]) for k in range(1, 7))
        has_start = start_utc != np.iinfo(np.int64).min
        begin_utc = np.where(has_start, start_utc, end_utc)
        same = run_case[1:] == run_case[:-1]
        if (end_utc < begin_utc).any() or (same & (begin_utc[1:] < end_utc[:-1])).any():
            raise _Unusual  # a case going back in time
        begin_wall = np.where(has_start, start_wall, end_wall)
        firsts = np.flatnonzero(np.diff(run_case, prepend=-1))
        lasts = np.append(firsts[1:], len(run_case)) - 1
        return LogTable(list(self.activities), list(self.departments), run_case, activity,
                        department, end_utc, end_wall, begin_utc, begin_wall, has_start,
                        begin_utc[firsts], begin_wall[firsts], end_utc[lasts], end_wall[lasts],
                        begin_utc[firsts], begin_wall[firsts])


def _text(raw: np.ndarray, starts: np.ndarray, lengths: np.ndarray, clean: bool = True
          ) -> np.ndarray:
    """The cells of ``lengths`` bytes from ``starts`` in ``raw`` as one bytes array (``S``
    dtype); unless ``clean``, what follows a cell is left in place of the NULs after it."""
    width = max(1, int(lengths.max(initial=0)))
    last = len(raw) - width  # the last place a cell as wide as the widest may start
    cells = np.lib.stride_tricks.sliding_window_view(raw, width)[np.minimum(starts, last)]
    for i in np.flatnonzero(starts > last).tolist():  # the block's last cells
        cells[i, :len(raw) - starts[i]] = raw[starts[i]:]
    if clean:
        cells *= np.arange(width, dtype=np.int32) < lengths.astype(np.int32)[:, None]
    return cells.view(f"S{width}").ravel()


def _names(cells: np.ndarray, lengths: np.ndarray) -> list[str]:
    """The cells as names; an empty or padded one is unusual (checked by their edge bytes,
    and one by one where an edge is not ASCII)."""
    if not lengths.all():
        raise _Unusual
    edges = cells.view(np.uint8).reshape(len(cells), -1)
    first, last = edges[:, 0], edges[np.arange(len(cells)), lengths - 1]
    if _SPACE[first].any() or _SPACE[last].any():
        raise _Unusual
    names = b"\n".join(cells.tolist()).decode("utf-8").split("\n")
    for i in np.flatnonzero((first >= 0x80) | (last >= 0x80)).tolist():
        if names[i] != names[i].strip():
            raise _Unusual
    return names


def _name(value: bytes, empty: str | None = None) -> str:
    """A cell as a name; empty (when no ``empty`` stands in) or padded cells are unusual."""
    text = value.decode("utf-8")
    if text != text.strip() or not (text or empty):
        raise _Unusual
    return text or empty


def _offset_lengths(cells: np.ndarray, length: int) -> np.ndarray:
    """How long the time zone at the end of each text of ``length`` bytes is: 1 for a
    ``Z``, 6 for an offset ±HH:MM, 0 for none."""
    kinds = np.where(cells[:, length - 1] == ord("Z"), 1, 0)
    if length >= 7:
        sign = cells[:, length - 6]
        kinds[((sign == ord("+")) | (sign == ord("-"))) & (cells[:, length - 3] == ord(":"))] = 6
    return kinds


def _iso(cells: np.ndarray, body: int, offset_len: int
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The texts of one layout: which are dates and times as ``datetime.fromisoformat``
    reads them (the digits and separators checked here, the ranges by numpy's ISO 8601
    parser), their wall clocks and offsets in minutes (the service centre's for naive
    ones); ``None`` for a layout read one text at a time."""
    if body not in _LAYOUTS or not len(cells) or (offset_len and body == 10):
        return None
    digits, separators = _LAYOUTS[body]
    if offset_len == 6:
        digits = digits + [body + 1, body + 2, body + 4, body + 5]
    ok = ((cells[:, digits] - ord("0")) <= 9).all(axis=1)
    for at, allowed in separators.items():
        found = cells[:, at] == allowed[0]
        for other in allowed[1:]:
            found |= cells[:, at] == other
        ok &= found
    ok &= (cells[:, :4] != ord("0")).any(axis=1)  # no year 0
    cells = cells[ok]
    texts = np.ascontiguousarray(cells[:, :body]).view(f"S{body}").ravel()
    try:
        wall = texts.astype("M8[us]").view(np.int64) + _UNIX_EPOCH_WALL_US
    except ValueError:  # a day, hour or second out of range: one text at a time
        return None
    minutes = np.full(len(cells), _NAIVE_OFFSET_MINUTES if offset_len == 0 else 0)
    if offset_len == 6:
        hours = (cells[:, body + 1] - ord("0")) * 10 + cells[:, body + 2] - ord("0")
        mins = (cells[:, body + 4] - ord("0")) * 10 + cells[:, body + 5] - ord("0")
        if (hours >= 24).any() or (mins >= 60).any():
            return None
        minutes = np.where(cells[:, body] == ord("-"), -1, 1) * (
            hours.astype(np.int64) * 60 + mins)
    return ok, wall, minutes


