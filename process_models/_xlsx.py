"""Reading the cells of an ``.xlsx`` step table within fixed bounds (see :mod:`process_models.table_files`).

A workbook is untrusted input: a 5 KB file can declare a cell at ``XFD1`` and another at
``A1048576``, and a reader that pads rows to the sheet's extent builds 17 billion empty cells.
Here only the cells the sheet holds are kept: the sheet XML is parsed row by row and reading
stops with a located error at the first value beyond :data:`~process_models.table_files.MAX_TABLE_ROWS`
or :data:`~process_models.table_files.MAX_TABLE_COLUMNS`. The parts a workbook unpacks to are bounded
before openpyxl opens it.

openpyxl's read-only worksheets neither report merged cells nor tell a formula without a cached
value from an empty cell, so the sheet XML goes through openpyxl's own worksheet parser here,
told to keep both.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterator
from typing import Any
from xml.etree.ElementTree import ParseError, SubElement

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.worksheet._reader import FORMULA_TAG, INLINE_STRING, VALUE_TAG, WorkSheetParser
from openpyxl.xml.constants import SHEET_MAIN_NS

from process_models._cells import (
    MAX_CELL_CHARS,
    MAX_TABLE_COLUMNS,
    MAX_TABLE_ROWS,
    MAX_XLSX_UNPACKED_BYTES,
    UncachedFormula,
    close_match,
    one_line,
    shown_cell,
)
from process_models.errors import OnethingError, TableError
from process_models.reading_problems import reading_error

# What openpyxl and the zip and XML readers raise on a damaged workbook.
_BROKEN = (zipfile.BadZipFile, zlib.error, ParseError, EOFError, KeyError, IndexError,
           ValueError, TypeError, AttributeError, OSError)


_TEXT_TAG = f"{{{SHEET_MAIN_NS}}}t"
_RUN_TAG = f"{{{SHEET_MAIN_NS}}}r"


def _inline_text(inline: Any) -> str:
    """The text of an inline string (``<is>``): its plain text and its runs' text, without
    the phonetic guide, as openpyxl's ``Text.content`` reads it, without building the
    ``Text`` object (most of the time a sheet written by openpyxl takes to read)."""
    parts = []
    for child in inline:
        if child.tag == _TEXT_TAG:
            parts.append(child.text or "")
        elif child.tag == _RUN_TAG:
            parts.append(child.findtext(_TEXT_TAG) or "")
    return "".join(parts)


class _Parser(WorkSheetParser):
    """openpyxl's worksheet parser, marking formulas that carry no cached value, and
    reading inline strings directly."""

    def parse_cell(self, element):
        if element.get("t") == "inlineStr" and (inline := element.find(INLINE_STRING)) is not None:
            value = SubElement(element, VALUE_TAG)
            value.text = _inline_text(inline)
            element.remove(inline)
            element.set("t", "str")  # a formula's text result: openpyxl reads <v> as it is
        cell = super().parse_cell(element)
        if cell["value"] is None and (formula := element.find(FORMULA_TAG)) is not None:
            cell["value"] = UncachedFormula(f"={formula.text or ''}")
        return cell


class Sheet:
    """The cells one worksheet holds, row by row (1-based), and its vertical merges filled."""

    def __init__(self, name: str, rows: list[list[Any]], merged: list[str]) -> None:
        self.name = name
        self.rows = rows
        self.merged = merged  # "B2:B3": ranges whose top value now stands in every row


def read_sheets(data: bytes, file: str, name: str | None = None) -> Iterator[Sheet]:
    """The sheet called ``name``; without a name, the visible worksheets one by one (all of
    them when every one is hidden), each read only when the caller asks for the next."""
    _check_unpacked_size(data, file)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except _BROKEN as e:
        raise _unreadable(file, e) from None
    try:
        sheets = book.worksheets
        if not sheets:
            raise reading_error("xlsx_no_sheet", file=file)
        if name is not None:
            chosen = [ws for ws in sheets if ws.title == name]
            if not chosen:
                titles = [ws.title for ws in sheets]
                raise reading_error("xlsx_unknown_sheet", {"value": shown_cell(name),
                                                           "sheets": "、".join(titles)},
                                    kind=TableError, file=file, path="--sheet",
                                    suggestion=close_match(name, titles))
        else:
            chosen = [ws for ws in sheets if ws.sheet_state == "visible"] or sheets
        for ws in chosen:
            yield _read_sheet(book, ws, file)
    finally:
        book.close()


def _check_unpacked_size(data: bytes, file: str) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except _BROKEN as e:
        raise _unreadable(file, e) from None
    if unpacked > MAX_XLSX_UNPACKED_BYTES:
        raise reading_error("xlsx_unpacked_too_big", {"size": unpacked // 2**20,
                                                      "most": MAX_XLSX_UNPACKED_BYTES // 2**20},
                            kind=TableError, file=file)


def _unreadable(file: str, e: BaseException) -> OnethingError:
    return reading_error("xlsx_unreadable", {"problem": type(e).__name__}, file=file)


def _read_sheet(book: Any, ws: Any, file: str) -> Sheet:
    cells: dict[int, list[Any]] = {}
    try:
        with ws._get_source() as source:
            parser = _Parser(source, ws._shared_strings, data_only=True, epoch=book.epoch,
                             date_formats=book._date_formats,
                             timedelta_formats=book._timedelta_formats)
            for number, row in parser.parse():
                if number < 1:
                    continue
                values = [(c["column"], c["value"]) for c in row if c["value"] not in (None, "")]
                if values:
                    cells[number] = _bounded_row(number, values, file, ws.title)
            merges = [m.ref for m in parser.merged_cells.mergeCell] if parser.merged_cells else []
    except OnethingError:
        raise
    except _BROKEN as e:
        raise _unreadable(file, e) from None
    rows = [cells.get(n, []) for n in range(1, max(cells, default=0) + 1)]
    return Sheet(ws.title, rows, _fill_merges(rows, merges))


def _bounded_row(number: int, values: list[tuple[int, Any]], file: str, sheet: str) -> list[Any]:
    """One row's cells as a list, refusing a value beyond the bounds (named by its cell)."""
    def cell(column: int) -> dict[str, str]:
        return {"sheet": one_line(sheet), "cell": f"{get_column_letter(column)}{number}"}

    for column, value in values:
        if number > MAX_TABLE_ROWS or column > MAX_TABLE_COLUMNS:
            raise reading_error("xlsx_outside", {**cell(column), "value": shown_cell(value),
                                                 "rows": MAX_TABLE_ROWS,
                                                 "columns": MAX_TABLE_COLUMNS},
                                kind=TableError, file=file)
        if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
            raise reading_error("xlsx_long_cell", {**cell(column), "length": len(value),
                                                   "most": MAX_CELL_CHARS},
                                kind=TableError, file=file)
    row: list[Any] = [None] * max(column for column, _ in values)
    for column, value in values:
        row[column - 1] = value
    return row


def _fill_merges(rows: list[list[Any]], merges: list[str]) -> list[str]:
    """Give each row of a vertical merge its top value (Excel keeps it in the top cell only);
    returns the ranges filled."""
    filled, budget = [], MAX_TABLE_ROWS * MAX_TABLE_COLUMNS
    for ref in merges:
        try:
            column, top, _, bottom = range_boundaries(ref)
        except (ValueError, TypeError):
            continue
        if top is None or bottom is None or column is None or top > len(rows):
            continue
        head = rows[top - 1]
        value = head[column - 1] if column <= len(head) else None
        if value is None or bottom <= top:
            continue
        for r in range(top + 1, min(bottom, len(rows)) + 1):
            budget -= 1
            if budget < 0:
                return filled
            row = rows[r - 1]
            if len(row) < column:
                row.extend([None] * (column - len(row)))
            if row[column - 1] is None:
                row[column - 1] = value
        filled.append(ref)
    return filled
