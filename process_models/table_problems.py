"""What can be wrong with a step table, by reason: the English line of each, with blanks
its error's ``values`` fill in.

A :class:`~process_models.errors.TableError` made by :func:`table_error` carries its
``reason`` and ``values`` besides the line, so that a page says the same in its reader's
language (``api/words_zh_analysis.py`` words each reason as ``error.<reason>``; the English
pages use these lines). The CLI and the API print the line.

>>> error = table_error("not_days", {"value": "'十天'"}, file="开店.csv", path="row 3, 承诺时限",
...                     row=3, column="承诺时限")
>>> str(error), error.reason
("开店.csv: row 3, 承诺时限: '十天' is not a number of days; write e.g. 20 or 0.5", 'not_days')
"""

from __future__ import annotations

from typing import Any

from process_models.errors import OnethingError, TableError, problem_error

__all__ = ["TABLE_PROBLEMS", "table_error"]

TABLE_PROBLEMS: dict[str, str] = {
    # cells
    "not_days": "{value} is not a number of days; write e.g. 20 or 0.5",
    "negative_days": "{value} is negative; a time limit is 0 days or more",
    "not_count": "{value} is not a whole number of 0 or more; write e.g. 2",
    "too_many": "{value} is more {what} than a step may have ({most}); check the number",
    "not_allowed": "{value} is not allowed; use {choices}",
    "uncached_formula": "a formula without a cached value ({value}): open and save it in "
                        "Excel, which stores the values",
    "invalid": "{problem}",
    "basis_unreadable": "cannot read {part}; write label=basis source, e.g. 承诺=S 随州服务标准 "
                        "(labels 法定, 承诺, 跑动, 依赖)",
    # rows and steps
    "too_many_steps": "more than {most} steps, more than a step table may hold; split the "
                      "procedure",
    "no_steps": "the table has a header but no steps; add one row per step",
    "empty_step": "is empty; every row needs a step name",
    "duplicate_step": "duplicate step {value} (already in row {first}); give each step its "
                      "own name",
    "empty_department": "is empty; name the department that handles the step",
    "empty_committed": "is empty; give the committed limit in days (use the statutory limit "
                       "when there is no commitment)",
    "unknown_step": "unknown step {value}; use a name from the {column} column",
    "self_dependency": "step {value} depends on itself; remove it here",
    "cycle": "dependency cycle: {loop}; remove one of these prerequisites",
    "kinds_count": "{kinds} kinds for {prerequisites} prerequisites; give one kind for all, or "
                   "one per prerequisite",
    "bases_count": "{bases} 依赖 bases for {prerequisites} prerequisites; give one for all, or "
                   "one per prerequisite in order",
    "too_many_material_names": "lists {count} materials, more than a step may need ({most}); "
                               "check the separators",
    "materials_mismatch": "says {count} but {column} lists {names} names; make them agree or "
                          "leave one blank",
    "duplicate_material": "material {value} is listed twice; list it once",
    # the header
    "empty_table": "the table is empty; add a header row and one row per step",
    "full_width_separator": "the columns are separated by '{separator}' ({what}); separate "
                            "them with ',' (in Excel: save as CSV UTF-8 (逗号分隔))",
    "unknown_column": "unknown column {value}",
    "repeated_column": "column {value} repeats {first}; keep one of them",
    "missing_column": "missing column {columns}; the header row needs 事项, 部门 and 承诺时限",
    "no_header_sheet": "no sheet has a header row (事项, 部门, 承诺时限) in its first {rows} "
                       "rows: {sheets}; add one, or name the sheet with --sheet",
    # the file
    "too_big": "the file has {size} MB, more than a table may ({most} MB); keep only the table "
               "in it",
    "bom_mismatch": "starts with a {label} byte-order mark but byte 0x{byte} at offset "
                    "{offset} is not {label}{other}; save it again as CSV UTF-8",
    "nul_byte": "holds a NUL byte at offset {offset}: UTF-16 without its byte-order mark, or "
                "not a CSV file; save it from Excel as CSV UTF-8",
    "not_utf8": "not UTF-8 (byte 0x{byte} at offset {offset}){other}; save it from Excel as "
                "CSV UTF-8",
    "unclosed_cell": "a cell runs on for more than {most} characters: a quote (\") opened here "
                     "may never close; close it, or shorten the cell",
    "unclosed_quote": "a quote (\") opened in this row is never closed; close it or remove it",
    "malformed_csv": "malformed CSV ({problem}); quote a cell that holds quotes or separators",
    "too_many_rows": "more than {most} rows, more than a step table may hold; split the "
                     "procedure",
    "beyond_columns": "holds {value} in column {position}, beyond the {most} columns a step "
                      "table may use; delete it",
    "long_cell": "a cell of {length} characters in column {position}, more than a cell may "
                 "hold ({most}); shorten it",
}
"""Reason → the English line, ``{name}`` a value of the error's ``values`` (a list is
joined with " or ")."""


def table_error(reason: str, values: dict[str, Any] | None = None, *,
                kind: type[OnethingError] = TableError, **where: Any) -> OnethingError:
    """The error (a :class:`TableError` unless ``kind`` says otherwise) of ``reason`` with
    its ``values``, located by ``where`` (file, line, path, row, column, suggestion)."""
    return problem_error(kind, TABLE_PROBLEMS, reason, values, **where)
