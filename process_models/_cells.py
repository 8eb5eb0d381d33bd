"""What the step-table readers share: the bounds on what a table may hold, and the helpers
that quote a cell in an error (:mod:`process_models.table` for CSV and the table itself,
:mod:`process_models._xlsx` for workbooks)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from process_models.errors import did_you_mean, shown

__all__ = ["MAX_CELL_CHARS", "MAX_MATERIALS_PER_STEP", "MAX_TABLE_BYTES", "MAX_TABLE_COLUMNS",
           "MAX_TABLE_ROWS", "MAX_TRIPS", "MAX_XLSX_UNPACKED_BYTES", "UncachedFormula",
           "close_match", "one_line", "shown_cell"]

# Bounds on what a table may hold; a file past one is refused with the row or cell.
MAX_TABLE_BYTES = 20 * 2**20           # the file as uploaded
MAX_XLSX_UNPACKED_BYTES = 64 * 2**20   # a workbook decompressed (shared strings are read whole)
MAX_TABLE_ROWS = 20_000                # rows read, header and title rows included
MAX_TABLE_COLUMNS = 100
MAX_CELL_CHARS = 32_767                # what Excel itself holds in one cell
MAX_MATERIALS_PER_STEP = 200           # 要件数, or names listed in 要件
MAX_TRIPS = 100                        # 跑动次数


class UncachedFormula(str):
    """A workbook cell holding a formula whose value Excel never stored (the text is the
    formula); the cell cannot be read until the workbook is opened and saved in Excel."""


def shown_cell(value: Any) -> str:
    """A cell value quoted for an error message (as text, cut like every echoed value)."""
    return shown(str(value))


def one_line(text: str) -> str:
    """``text`` with its line breaks written as ``\\n`` (step names may hold them)."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


def close_match(value: str, choices: Iterable[str]) -> str | None:
    """:func:`did_you_mean`, for values short enough to be a misspelling (its cost grows
    with the product of the lengths)."""
    return did_you_mean(value, choices) if len(value) <= 40 else None
