"""What can be wrong when a file is read, by reason: the English line of each, with blanks
its error's ``values`` fill in. Step tables' own problems are in
:mod:`process_models.table_problems`.

A file that cannot be read (missing, not UTF-8), YAML that is malformed or refused (an
alias, a duplicate key, nesting too deep), a workbook that is not one, a field pydantic
refuses (missing, unknown, not a number, out of range), a BPMN file and an event log (CSV,
XES) each raise an error made by :func:`reading_error`, which carries its ``reason`` and
``values`` besides the line, so that a page and the CLI say the same in their reader's
language (``api/words_zh_analysis.py`` words each reason as ``error.<reason>``; the English
words are these lines).

>>> error = reading_error("yaml_duplicate_key", {"key": "'id'", "first": 1}, file="s.yaml",
...                       line=2, path="id")
>>> str(error), error.reason
("s.yaml:2: id: duplicate key 'id' (first on line 1); keep one", 'yaml_duplicate_key')
"""

from __future__ import annotations

from typing import Any

from process_models.errors import (
    DependencyCycle,
    FieldProblem,
    OnethingError,
    ProcedureSyntaxError,
    problem_error,
)

__all__ = ["READING_PROBLEMS", "field_problem", "reading_error"]

READING_PROBLEMS: dict[str, str] = {
    # a file's bytes
    "no_such_file": "no such file; check the path",
    "is_folder": "is a folder, expected a file",
    "cannot_read": "cannot read: {problem}",
    "text_not_utf8": "not UTF-8 (byte 0x{byte} at offset {offset}). save the file as UTF-8 and "
                     "try again",
    "text_gbk": "not UTF-8 (byte 0x{byte} at offset {offset}). It reads as GBK/GB18030; save "
                "the file as UTF-8 and try again",
    "no_yaml_files": "folder holds no .yaml procedure files",
    # YAML
    "yaml_malformed": "malformed YAML: {problem}; fix the indentation or quoting on that line",
    "yaml_unreadable": "malformed YAML: {problem}",
    "yaml_character": "character U+{code} is not allowed in YAML ({problem}); remove it",
    "yaml_too_deep_file": "nested more than {most} levels deep; flatten the file",
    "yaml_too_deep": "nested more than {most} levels deep; flatten this value",
    "yaml_alias": "aliases (*name) are not allowed; write the value out in full",
    "yaml_tag": "the tag {tag} is not supported here; remove it",
    "yaml_key_not_text": "a key must be plain text, not a list or mapping",
    "yaml_merge_key": "merge keys (<<) are not allowed; write the fields out",
    "yaml_duplicate_key": "duplicate key {key} (first on line {first}); keep one",
    "yaml_bad_null": "{value} is not a valid null; write a null, or quote it to keep it as text",
    "yaml_bad_bool": "{value} is not a valid true/false value; write a true/false value, or "
                     "quote it to keep it as text",
    "yaml_bad_int": "{value} is not a valid whole number; write a whole number, or quote it to "
                    "keep it as text",
    "yaml_bad_float": "{value} is not a valid number; write a number, or quote it to keep it "
                      "as text",
    "yaml_bad_binary": "{value} is not a valid base64 value; write a base64 value, or quote it "
                       "to keep it as text",
    "yaml_bad_timestamp": "{value} is not a valid date{because}; write a real date as "
                          "YYYY-MM-DD, or quote it to keep it as text",
    "empty_procedure": "the file is empty; a procedure needs id, name and steps",
    "not_procedure": "expected a mapping with id, name, steps at the top, got a {kind}",
    # what one field cannot check alone (process_models.loading.check_procedure)
    "no_steps_listed": "the procedure has no steps; add at least one under 'steps:'",
    "too_many_dependencies": "the procedure has {count} dependencies and stage members; the "
                             "limit is {most}: split it into procedures",
    "unknown_department": "unknown department {value}",
    "unknown_material": "unknown material {value}",
    "unknown_step_id": "unknown step {value}",
    "unknown_node": "unknown step or stage {value}",
    "duplicate_department_id": "duplicate department id {value} (already used by {first}); "
                               "give each department its own id",
    "duplicate_material_id": "duplicate material id {value} (already used by {first}); give "
                             "each material its own id",
    "duplicate_step_id": "duplicate step id {value} (already used by {first}); give each step "
                         "its own id",
    "duplicate_stage_id": "duplicate stage id {value} (already used by {first}); give each "
                          "stage its own id",
    "material_twice": "material {value} is listed twice",
    "dependency_twice": "{value} is listed twice; keep one entry",
    "empty_stage": "stage {value} has no steps or milestones to join on",
    "dependency_cycle": DependencyCycle.LINE,
    # fields, as pydantic refuses them (process_models._reading.validation_error)
    "field_unknown": "unknown field {field}",
    "field_unknown_allowed": "unknown field {field}; allowed: {allowed}",
    "field_missing": "is required but missing",
    "not_one_of": "{value} is not allowed; use one of {allowed}",
    "at_least": "must be at least {limit}, got {value}",
    "at_most": "must be at most {limit}, got {value}; check the figure",
    "not_whole_number": "must be a whole number, got {value}",
    "not_number": "must be a number, got {value}",
    "not_finite": "must be a finite number, got {value}",
    "not_bool": "must be true or false, got {value}",
    "not_text": "must be text, got {value}",
    "not_date": "must be a date as YYYY-MM-DD, got {value}",
    "must_not_be_empty": "must not be empty",
    "text_too_long": "{value} is longer than {most} characters; shorten it",
    "not_an_id": "{value} is not an id: use 1–200 letters, digits, '_', '-' or '+' (no spaces, "
                 "'/' or '.')",
    "too_many_entries": "holds more than {most} entries; split the procedure",
    "too_few_entries": "needs at least {least} entries, got {value}",
    "not_mapping": "must be a mapping (key: value), got {value}",
    "not_list": "must be a list, got {value}",
    "invalid_field": "{problem}",
    # fields, as our own validators refuse them (process_models.procedure)
    "committed_over_statutory": "the committed limit ({committed} days) is longer than the "
                                "statutory one ({statutory} days); commit to at most "
                                "{statutory}",
    "material_needs_from_step": "a material provided by a step needs from_step (the step "
                                "that provides it)",
    "distribution_needs": "a {kind} distribution needs {missing}",
    "distribution_order": "{kind} needs low <= mode <= high, got {low}, {mode}, {high}",
    "distribution_no_samples": "an empirical distribution needs at least one sample",
    # fields of a registry's item (process_models.registry.items)
    "online_disagrees": "网上可办 says {online} but 网办深度 is {level}; an item is 网上可办 "
                        "from 三级 up, so correct one",
    "material_count_disagrees": "要件数 says {count} but {listed} materials are listed; make "
                                "them agree or leave one blank",
    # calendar override files (process_models.calendar)
    "calendar_not_mapping": "expected a mapping with closures, working_days or opening_hours "
                            "at the top",
    "calendar_unknown_field": "unknown field {field}; use closures, working_days, "
                              "opening_hours or schedule_years",
    "calendar_not_year": "{value} is not a year; write it as 2027",
    "calendar_both": "{day} is both a closure and a working day; keep it in one list",
    "calendar_not_dates": "must be a list of dates, got {value}",
    "calendar_bad_date": "{value} is not a date; use YYYY-MM-DD",
    "calendar_date_entry": "expected a date (YYYY-MM-DD), got {value}",
    "calendar_entry_keys": "expected a date, {{date, note}} or {{from, to, note}}, got keys "
                           "{keys}",
    "calendar_to_before_from": "'to' {to} is before 'from' {start}; swap them",
    "hours_not_mapping": "must map weekdays (monday … sunday, default) to lists of "
                         "'HH:MM-HH:MM'",
    "hours_unknown_weekday": "unknown weekday {value}; use monday … sunday or default",
    "hours_not_list": "must be a list of 'HH:MM-HH:MM', got {value}",
    "hours_not_span": "{value} is not a time span; use 'HH:MM-HH:MM' like '09:00-12:00'",
    "hours_backwards": "{value} ends before it starts; use 'HH:MM-HH:MM' with start < end",
    "hours_overlap": "opening hours overlap at {at}; merge the spans",
    # workbooks
    "xlsx_unreadable": "not a readable .xlsx workbook ({problem}); open it in Excel and save it "
                       "as .xlsx again",
    "xlsx_no_sheet": "the workbook has no worksheet; save it from Excel as .xlsx with the step "
                     "table on a sheet",
    "xlsx_unknown_sheet": "no sheet named {value}; the sheets are {sheets}",
    "xlsx_unpacked_too_big": "the workbook unpacks to {size} MB, more than a step table may "
                             "({most} MB); keep only the step table in it",
    "xlsx_outside": "sheet {sheet}, cell {cell}: holds {value}, outside the {rows} rows and "
                    "{columns} columns a step table may use; delete it or split the table",
    "xlsx_long_cell": "sheet {sheet}, cell {cell}: holds {length} characters, more than a cell "
                      "may ({most}); shorten it",
    "table_type": "unknown table type {suffix}; use a .csv or .xlsx file",
    "table_type_written": "unknown table type {suffix}; write a .csv or .xlsx file",
    "csv_no_sheets": "a CSV file has no sheets; leave out --sheet",
    "cannot_write": "cannot write: {problem}; check the folder exists and is writable",
    # BPMN
    "bpmn_no_element": "no element {value}",
    "bpmn_extension": "onething:{name} of {element} is not valid JSON ({problem}); fix or "
                      "remove the extension element",
    "bpmn_not_xml": "not well-formed XML ({problem}); fix the file or export it again",
    "bpmn_not_definitions": "the root element is <{tag}>, not a BPMN 2.0 <definitions>; export "
                            "the model as BPMN 2.0 XML",
    "bpmn_no_process": "no process with tasks; draw at least one task",
    "bpmn_processes": "{count} processes with tasks ({ids}); onething reads one process per "
                      "file: split the file",
    "bpmn_unsupported": "unsupported BPMN element <{tag} id='{element}'>; onething reads tasks, "
                        "exclusive and parallel gateways, start and end events, lanes and "
                        "sequence flows: replace or remove it",
    "bpmn_loose_flow": "sequence flow {flow} {end}={value} names no task, gateway or event; "
                       "connect the flow at both ends or delete it",
    "bpmn_choice": "exclusive gateway {gateway}{more}: a procedure has dependencies, not "
                   "choices, so branch probabilities and loops would be lost; simulate the BPMN "
                   "file itself with `onething capacity FILE.bpmn`, or redraw the choice as "
                   "parallel steps",
    # event logs (CSV, XES)
    "log_format": "unknown log format {value}; give a .xes or .csv file (or .xes.gz, .csv.gz), "
                  "or a folder or .zip of SPGL_*.csv tables",
    "log_cannot_read": "cannot read the log: {problem}",
    "log_not_utf8": "not UTF-8 text; save the CSV as UTF-8",
    "log_damaged": "the compressed file is damaged or cut short ({problem})",
    "log_not_csv": "not a CSV file: {problem}",
    "log_empty": "the CSV file is empty; it needs a header row",
    "log_row_width": "row has {count} fields, the header has {width}; the file may be "
                     "truncated or a field holds an unquoted delimiter",
    "log_malformed_csv": "malformed CSV: {problem}",
    "log_no_column": "--{option}: no column {value} in the header; the columns are {columns}",
    "log_no_case_column": "no case column among {header}; name it with --case or call it "
                          "{alias}",
    "log_no_activity_column": "no activity column among {header}; name it with --activity or "
                              "call it {alias}",
    "log_no_timestamp_column": "no timestamp column among {header}; name it with --timestamp "
                               "or call it 'time:timestamp' (or give start and end columns)",
    "log_empty_case": "{column}: empty case; every row needs one",
    "log_empty_activity": "{column}: empty activity; every row needs one",
    "log_empty_timestamp": "{column}: empty timestamp; every event needs its time",
    "log_not_timestamp": "{column}: {value} is not a timestamp; use ISO 8601 such as "
                         "2025-01-24T09:30:00+08:00 or a date such as 2025-01-24",
    "log_time_zones": "{column}: {value} is in {zone} but earlier timestamps are in {earlier}; "
                      "give every timestamp in one time zone",
    "log_out_of_order": "case {case}: {at} is earlier than the case's previous event "
                        "({previous}); timestamps out of order — sort each case by time",
    "log_ends_before_start": "ends ({at}) before it starts ({began})",
    "log_cases_apart": "the events of case {case} are not together (it first appears at line "
                       "{first}, again here after other cases); sort the log by case, then by "
                       "time",
    "log_no_events": "the log holds no events",
    "log_bad_xes": "malformed or truncated XES ({problem}); fix the file or export it again",
    "log_outside_trace": "event outside a trace with a {key}",
    "log_no_activity": "event without {key}",
    "log_no_time": "event {activity} has no {key}",
}
"""Reason → the English line, ``{name}`` a value of the error's ``values`` (a list is
joined with " or ")."""


def reading_error(reason: str, values: dict[str, Any] | None = None, *,
                  kind: type[OnethingError] = ProcedureSyntaxError,
                  **where: Any) -> OnethingError:
    """The error (a :class:`ProcedureSyntaxError` unless ``kind`` says otherwise) of
    ``reason`` with its ``values``, located by ``where`` (file, line, path, suggestion)."""
    return problem_error(kind, READING_PROBLEMS, reason, values, **where)


def field_problem(reason: str, values: dict[str, Any] | None = None, *,
                  field: str | None = None) -> FieldProblem:
    """What a pydantic validator of ours raises for ``reason`` with its ``values`` (about
    ``field`` when a model's validator refuses one of its fields):
    :func:`process_models._reading.validation_error` keeps them with the file's error.

    >>> str(field_problem("distribution_needs", {"kind": "pert", "missing": "low, high"}))
    'a pert distribution needs low, high'
    """
    return FieldProblem(READING_PROBLEMS, reason, values, field=field)
