"""The files a step table lives in: reading a ``.csv`` or ``.xlsx`` file into rows of
cells, and writing rows of cells back, within bounds.

A file is untrusted input. A CSV may be UTF-8 (with or without a byte-order mark),
GBK/GB18030 or UTF-16 by its byte-order mark; an Excel ``sep=`` first line names the
separator. Workbooks are read cell by cell (:mod:`process_models._xlsx`). What is read is
bounded (:data:`MAX_TABLE_BYTES`, :data:`MAX_TABLE_ROWS`, :data:`MAX_TABLE_COLUMNS`,
:data:`MAX_CELL_CHARS`) and refused past a bound with its row or cell.

Every CSV onething writes for people goes through :func:`csv_writer`, so no cell starts a
formula in a spreadsheet.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from process_models._cells import (
    MAX_CELL_CHARS,
    MAX_MATERIALS_PER_STEP,
    MAX_TABLE_BYTES,
    MAX_TABLE_COLUMNS,
    MAX_TABLE_ROWS,
    MAX_TRIPS,
    MAX_XLSX_UNPACKED_BYTES,
    UncachedFormula,
    listed,
    looks_like_formula,
    plain_cell,
)
from process_models._cells import one_line as _one_line
from process_models._cells import shown_cell as _shown
from process_models._reading import reading_file
from process_models.errors import ProcedureSyntaxError, TableError, shown
from process_models.reading_problems import reading_error
from process_models.table_columns import HEADER_SEARCH_ROWS, header_at
from process_models.table_problems import table_error

__all__ = [
    "MAX_CELL_CHARS",
    "MAX_MATERIALS_PER_STEP",
    "MAX_TABLE_BYTES",
    "MAX_TABLE_COLUMNS",
    "MAX_TABLE_ROWS",
    "MAX_TRIPS",
    "MAX_XLSX_UNPACKED_BYTES",
    "TableWarning",
    "UncachedFormula",
    "csv_writer",
    "formula_safe",
    "read_bounded",
    "read_rows",
    "read_table",
    "read_table_data",
    "write_table",
]


class TableWarning(UserWarning):
    """A table was read, but a cell was taken to mean something not written in it
    (a merged cell's value in each row it spans). The CLI prints these."""


def formula_safe(value: Any) -> Any:
    """``value`` for a CSV cell that Excel, WPS or LibreOffice will show, not run: text
    starting with ``= + - @``, a tab or a carriage return (not a plain number like ``-3``)
    gets a leading ``'``. Reading a table takes it off again, so names survive a round trip.

    >>> formula_safe("=cmd|' /c calc'!A0"), formula_safe("-3"), formula_safe(-3)
    ("'=cmd|' /c calc'!A0", '-3', -3)
    """
    if isinstance(value, str) and looks_like_formula(value.lstrip("'")):
        return "'" + value
    return value


class _SafeWriter:
    def __init__(self, writer: Any) -> None:
        self._writer = writer

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([formula_safe(c) for c in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(file: IO[str], **fmtparams: Any) -> _SafeWriter:
    """:func:`csv.writer` whose cells go through :func:`formula_safe`: every CSV onething
    writes for people to open in a spreadsheet uses it."""
    return _SafeWriter(csv.writer(file, **fmtparams))


def read_table(path: str | os.PathLike[str], *, sheet: str | None = None) -> list[Sequence[Any]]:
    """The cells of a ``.csv`` or ``.xlsx`` file, row by row (see :func:`load_table`)."""
    return read_rows(Path(path), sheet)[0]


def read_rows(p: Path, sheet: str | None) -> tuple[list[Sequence[Any]], str]:
    """The rows of the table in ``p`` and the name errors give its place (file, sheet)."""
    _check_suffix(str(p))
    return read_table_data(read_bounded(p), str(p), sheet=sheet)


def _check_suffix(file: str) -> None:
    suffix = Path(file).suffix
    if suffix.lower() not in (".csv", ".xlsx"):
        raise reading_error("table_type", {"suffix": shown(suffix)}, kind=TableError, file=file)


def read_table_data(data: bytes, file: str, *,
                    sheet: str | None = None) -> tuple[list[Sequence[Any]], str]:
    """The rows of a ``.csv`` or ``.xlsx`` table held in ``data`` (an upload; ``file`` its
    name, whose suffix tells the type) and the name errors give its place (file, sheet)."""
    _check_suffix(file)
    if len(data) > MAX_TABLE_BYTES:
        raise _too_big(len(data), file)
    if file.lower().endswith(".csv"):
        if sheet is not None:
            raise reading_error("csv_no_sheets", kind=TableError, file=file, path="--sheet")
        return _csv_rows(_decode(data, file), file), file

    from process_models._xlsx import read_sheets

    seen = []
    for found in read_sheets(data, file, sheet):
        seen.append(found)
        if sheet is not None or header_at(found.rows) is not None:
            break
    else:
        if len(seen) > 1:
            raise table_error("no_header_sheet", {"rows": HEADER_SEARCH_ROWS,
                                                  "sheets": "、".join(s.name for s in seen)},
                              file=file)
        found = seen[0]
    place = f"{file}, sheet {_one_line(found.name)}"
    if found.merged:
        warnings.warn(f"{place}: merged cells {listed(found.merged)} read as their top value in "
                      "every row they span; check those rows", TableWarning, stacklevel=3)
    return found.rows, place


def read_bounded(p: Path) -> bytes:
    """The bytes of the table file ``p`` (a step table or an item list), refused past
    :data:`MAX_TABLE_BYTES`; a missing or unreadable file is one located line."""
    with reading_file(p):
        size = p.stat().st_size
        if size > MAX_TABLE_BYTES:
            raise _too_big(size, str(p))
        return p.read_bytes()


def _too_big(size: int, file: str) -> TableError:
    return table_error("too_big", {"size": size // 2**20, "most": MAX_TABLE_BYTES // 2**20},
                       file=file)


_BOMS = ((codecs.BOM_UTF8, "utf-8", "UTF-8"), (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
         (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"))


def _decode(raw: bytes, file: str) -> str:
    """The text of a CSV: by its byte-order mark, else UTF-8, else GB18030 (a superset of
    GBK) when it reads as simplified Chinese; anything else is refused with its cause."""
    for bom, encoding, label in _BOMS:
        if raw.startswith(bom):
            try:
                return raw[len(bom):].decode(encoding)
            except UnicodeDecodeError as e:
                at = len(bom) + e.start
                raise table_error("bom_mismatch", {
                    "label": label, "byte": f"{raw[at]:02x}", "offset": at,
                    "other": _other_encoding(raw[len(bom):])}, kind=ProcedureSyntaxError,
                    file=file, line=raw[:at].count(b"\n") + 1) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        bad = e.start
    if b"\x00" in raw:
        at = raw.index(b"\x00")
        raise table_error("nul_byte", {"offset": at}, kind=ProcedureSyntaxError, file=file,
                          line=raw[:at].count(b"\n") + 1)
    text = _decoded(raw, "gb18030")
    if text is not None and (_reads_as_simplified_chinese(text) or _decoded(raw, "big5") is None):
        return text
    raise table_error("not_utf8", {"byte": f"{raw[bad]:02x}", "offset": bad,
                                   "other": _other_encoding(raw)},
                      kind=ProcedureSyntaxError, file=file, line=raw[:bad].count(b"\n") + 1)


def _decoded(raw: bytes, encoding: str) -> str | None:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        return None


def _reads_as_simplified_chinese(text: str) -> bool:
    """Whether at least 80% of the CJK characters are in GB2312, the simplified set real GBK
    tables use; Big5 bytes decoded as GBK give mostly rarer characters and private-use ones."""
    cjk = [ch for ch in text if ch >= "\u2e80"]
    if not cjk:
        return True
    common = 0
    for ch in cjk:
        try:
            ch.encode("gb2312")
            common += 1
        except UnicodeEncodeError:
            pass
    return common >= 0.8 * len(cjk)


def _other_encoding(raw: bytes) -> str:
    """``; it reads as X`` for the encoding the bytes seem to be in, or nothing."""
    gbk = _decoded(raw, "gb18030")
    if gbk is not None and _reads_as_simplified_chinese(gbk):
        return "; it reads as GBK"
    if _decoded(raw, "big5") is not None:
        return "; it reads as Big5 (traditional Chinese), which is not read here"
    return ""


_SEPARATOR_LINE = re.compile(r'"?sep=([^"\s])"?')


def _csv_rows(text: str, file: str) -> list[Sequence[Any]]:
    """The records of a CSV text: an Excel ``sep=`` first line names the separator (and is
    not a row), otherwise the most frequent of ``,`` tab ``;`` in the first lines."""
    first, _, rest = text.partition("\n")
    if m := _SEPARATOR_LINE.fullmatch(first.strip()):
        delimiter, text = m[1], rest
    else:
        sample = text[:65536]
        delimiter = max(",\t;", key=sample.count)
    rows: list[Sequence[Any]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    number = 0
    try:
        for number, record in enumerate(reader, 1):
            _check_record(record, number, file)
            if number <= MAX_TABLE_ROWS:
                rows.append(record[:MAX_TABLE_COLUMNS])
    except csv.Error as e:
        number += 1
        if "field larger" in str(e):
            reason, values = "unclosed_cell", {"most": csv.field_size_limit()}
        elif "end of data" in str(e):
            reason, values = "unclosed_quote", {}
        else:
            reason, values = "malformed_csv", {"problem": str(e)}
        raise table_error(reason, values, file=file, path=f"row {number}", row=number) from None
    return rows


def _check_record(record: list[str], number: int, file: str) -> None:
    if number > MAX_TABLE_ROWS and any(c.strip() for c in record):
        raise table_error("too_many_rows", {"most": MAX_TABLE_ROWS}, file=file,
                          path=f"row {number}", row=number)
    for column, cell in enumerate(record, 1):
        if column > MAX_TABLE_COLUMNS and cell.strip():
            raise table_error("beyond_columns", {"value": _shown(cell), "position": column,
                                                 "most": MAX_TABLE_COLUMNS},
                              file=file, path=f"row {number}", row=number)
        if len(cell) > MAX_CELL_CHARS:
            raise table_error("long_cell", {"length": len(cell), "position": column,
                                            "most": MAX_CELL_CHARS},
                              file=file, path=f"row {number}", row=number)


def write_table(rows: Sequence[Sequence[Any]], path: str | os.PathLike[str]) -> None:
    """Write cells to ``.csv`` (UTF-8 with BOM, so Excel opens it) or ``.xlsx``, atomically."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise reading_error("table_type_written", {"suffix": shown(target.suffix)},
                            kind=TableError, file=str(target))
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        if suffix == ".csv":
            with tmp.open("w", encoding="utf-8-sig", newline="") as f:
                csv_writer(f).writerows([[plain_cell(c) for c in r] for r in rows])
        else:
            from openpyxl import Workbook

            book = Workbook()
            sheet = book.active
            sheet.title = "steps"
            for r in rows:
                sheet.append([None if c == "" else c for c in r])
                for cell in sheet[sheet.max_row]:
                    if cell.data_type == "f":  # a name like "=A1" is text, never a formula
                        cell.data_type = "s"
            book.save(tmp)
        os.replace(tmp, target)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise reading_error("cannot_write", {"problem": e.strerror}, kind=TableError,
                            file=str(target)) from None

