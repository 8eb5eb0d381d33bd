"""Editing a workspace procedure in place: its step table in the page, checked as the
planner types, saved as a new revision saying who changed what, undone by a revision
restoring the one before, shared read-only with every colleague or with colleagues by
account, and taken away as XLSX.

The table is the one a step table file holds (:func:`process_models.table.table_from_procedure`
and back through :func:`process_models.table.procedure_from_table`), so the page's checks
are the upload's: one located :class:`~process_models.errors.TableError` naming the row and
column. Row numbers are those of the table as a spreadsheet would show it (the header is
row 1), so the page's row *i* (from 0) is table row *i* + 2; a removed row is sent as a
blank row, which the table passes over, so numbers do not shift.

>>> from process_models.table import procedure_from_table
>>> shop = procedure_from_table([["事项", "部门", "前置事项", "承诺时限"],
...                              ["营业执照", "市场监管局", "", 1],
...                              ["食品经营许可", "市场监管局", "营业执照", 10]])
>>> rows = table_rows(edit_cells(shop))
>>> rows[2][5] = 5
>>> edited = edited_procedure(rows, shop)
>>> change_lines(table_changes(shop, edited), "zh")
['「食品经营许可」承诺时限：10 → 5']
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from api.i18n import messages
from flows.casework import workspace
from process_models._memo import text_memo
from process_models.errors import InvalidInput, TableError
from process_models.procedure import Procedure
from process_models.table_columns import COLUMNS

__all__ = ["EDIT_KEYS", "MAX_EDIT_ROWS", "XLSX_MEDIA", "change_lines", "column_headers", "edit_cells", "edit_changes",
           "edited_procedure", "problem_of", "revision_log", "save_table_edit", "sharing",
           "table_changes", "table_rows", "table_xlsx", "workbench_context"]

MAX_EDIT_ROWS = 500
"""Steps the page's table edits at once (a longer procedure is edited as a file)."""

EDIT_KEYS = tuple(c.key for c in COLUMNS)
"""The table's columns, in order, as the form names its inputs."""

XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_FILE = "事项表"


def edit_cells(proc: Procedure) -> list[list[str]]:
    """The step table of ``proc`` below its header, every cell as text, for the form.
    Raises :class:`TableError` when a table cannot hold the procedure (keep it in YAML)."""
    from process_models.table import table_from_procedure

    return [["" if c is None else str(c) for c in row]
            for row in table_from_procedure(proc)[1:]]


def table_rows(cells: list[list[Any]], removed: frozenset[int] = frozenset()) -> list[list[Any]]:
    """The header and ``cells`` as table rows, each removed row (by index) left blank."""
    if len(cells) > MAX_EDIT_ROWS + 1:
        raise InvalidInput(f"{len(cells)} rows; the page edits at most {MAX_EDIT_ROWS} steps, "
                           "edit a longer procedure as a file and upload it", path="step")
    return [[c.zh for c in COLUMNS],
            *([""] * len(COLUMNS) if i in removed else list(row)
              for i, row in enumerate(cells))]


def edited_procedure(rows: list[list[Any]], before: Procedure) -> Procedure:
    """The procedure the edited table holds, with ``before``'s id and name; a bad cell is one
    located :class:`TableError`."""
    from process_models.table import procedure_from_table

    return procedure_from_table(rows, procedure_id=before.id, name=before.name, file=_FILE)


def problem_of(error: TableError | InvalidInput, language: str) -> dict[str, Any]:
    """Where the page marks a refused edit: the form's row (from 0) and column key, with a
    heading in ``language`` and the error's one line in ``language``."""
    import copy

    from api.page_kit import page_message

    keys = {c.zh: c.key for c in COLUMNS}
    row, column = getattr(error, "row", None), getattr(error, "column", None)
    if row:  # the heading names the cell; the table file's row numbers would only confuse
        error = copy.copy(error)
        error.file = error.path = error.row = error.column = None
    strings = messages(language)
    header = column_headers(language).get(keys.get(column or "", ""), column or "")
    heading = (strings["ws.edit_fault"].format(row=row - 1, column=header) if row
               else strings["ws.edit_refused"])
    return {"row": row - 2 if row else None, "column": keys.get(column or ""),
            "heading": heading, "message": page_message(error, language)}


def table_changes(before: Procedure, after: Procedure) -> list[dict[str, Any]]:
    """What an edit changed, step by step name: steps added and removed, and each cell
    that differs (``column`` a :data:`EDIT_KEYS` key); empty when either procedure is
    one a table cannot hold."""
    try:
        old = {row[0]: row for row in edit_cells(before)}
        new = {row[0]: row for row in edit_cells(after)}
    except TableError:
        return []
    changes: list[dict[str, Any]] = [{"kind": "added", "step": name} for name in new
                                     if name not in old]
    changes += [{"kind": "removed", "step": name} for name in old if name not in new]
    for name in (n for n in new if n in old):
        changes += [{"kind": "changed", "step": name, "column": key, "old": a, "new": b}
                    for key, a, b in zip(EDIT_KEYS, old[name], new[name], strict=True)
                    if a != b]
    return changes


def edit_changes(before: Procedure,
                 rows: list[list[Any]]) -> tuple[Procedure, list[dict[str, Any]]]:
    """The procedure the edited table ``rows`` hold and what changed: measured against
    ``before`` as its table holds it (as the page showed it, a cell read without its
    surrounding blanks), so a table saved untouched changes nothing; a procedure no table
    holds is replaced whole.

    >>> from process_models.table import procedure_from_table
    >>> shop = procedure_from_table([["事项", "部门", "承诺时限"], ["营业执照", "市场监管局", 1]])
    >>> edit_changes(shop, table_rows(edit_cells(shop)))[1]
    []
    """
    after = edited_procedure(rows, before)
    try:
        shown = edited_procedure(table_rows(edit_cells(before)), before)
    except TableError:
        return after, [{"kind": "replaced", "step": before.name}]
    return after, table_changes(shown, after)


def column_headers(language: str) -> dict[str, str]:
    """Each column's header as the page shows it in ``language`` (the table file's Chinese
    header in Chinese), by :data:`EDIT_KEYS` key."""
    strings = messages(language)
    return {key: strings[f"ws.column.{key}"] for key in EDIT_KEYS}


def change_lines(changes: list[dict[str, Any]], language: str) -> list[str]:
    """:func:`table_changes` as sentences of ``language`` (names, never ids)."""
    strings = messages(language)
    headers = column_headers(language)
    return [strings[f"ws.edit.{c['kind']}"].format(
        step=c["step"], column=headers.get(c.get("column", ""), ""),
        old=c.get("old") or "—", new=c.get("new") or "—") for c in changes]


def save_table_edit(session: Session, workspace_id: str, *, owner: str,
                    rows: list[list[Any]], now: datetime) -> workspace.WorkspaceProcedure:
    """Store the edited table as the next revision of ``owner``'s procedure, its change
    the sentences of what changed; an edit that changes nothing is refused."""
    workspace.owned_procedure(session, workspace_id, owner)
    row, before = workspace.read_procedure(session, workspace_id, viewer=owner)
    after, changes = edit_changes(before, rows)
    if not changes:
        raise InvalidInput("the table is as it was; change a cell before saving", path="step")
    return workspace.add_procedure(session, after, owner=owner, now=now,
                                   workspace_id=row.id,
                                   change="；".join(change_lines(changes, "zh")))


def table_xlsx(proc: Procedure) -> bytes:
    """``proc`` as the step table workbook an upload reads back (Chinese headers)."""
    from process_models.table import save_table

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "steps.xlsx"
        save_table(proc, path)
        return path.read_bytes()


@text_memo()
def _revision_lines(older: str, older_name: str, newer: str, newer_name: str,
                    language: str) -> tuple[str, ...]:
    """What changed from the stored definition ``older`` to ``newer`` (each with the name
    its errors give), in ``language``: kept per pair of texts, since a revision never
    changes."""
    from flows.casework.definitions import parse_stored

    return tuple(change_lines(table_changes(parse_stored(older, older_name),
                                            parse_stored(newer, newer_name)), language))


def revision_log(session: Session, workspace_id: str, *, viewer: str,
                 language: str) -> list[dict[str, Any]]:
    """The newest revisions, newest first: number, who, when, and what changed against the
    revision before in ``language`` (the upload: its stored line)."""
    rows = workspace.revisions(session, workspace_id, viewer=viewer)
    log = []
    for row, older in zip(rows[:workspace.MAX_REVISIONS_SHOWN], [*rows[1:], None],
                          strict=False):
        lines = (_revision_lines(older.definition, older.name, row.definition, row.name,
                                 language) if older is not None else ())
        log.append({"revision": row.revision, "changed_by": row.changed_by,
                    "changed_at": row.changed_at, "lines": list(lines) or [row.change]})
    return log


def sharing(session: Session, workspace_id: str, owner: str) -> dict[str, list[dict[str, Any]]]:
    """The colleagues ``owner`` shares a workspace procedure with by account (``readers``:
    account, role, since when) and those it may still be shared with (``colleagues``: the
    active accounts of a role that reads workspaces, but the owner's)."""
    from api.deps import PERMISSIONS
    from api.workspace import WORKSPACE_READ
    from flows.casework.accounts import list_users

    shares = workspace.readers(session, workspace_id, owner=owner)
    accounts = {u.username: u for u in list_users(session)}
    shared = {s.reader for s in shares}
    return {"readers": [{"reader": s.reader, "since": s.shared_at,
                         "role": getattr(accounts.get(s.reader), "role", "")} for s in shares],
            "colleagues": [{"reader": u.username, "role": u.role} for u in accounts.values()
                           if u.active and u.role in PERMISSIONS[WORKSPACE_READ]
                           and u.username != owner and u.username not in shared]}


def workbench_context(session: Session, row: workspace.WorkspaceProcedure, proc: Procedure,
                      after: Procedure, scenarios: list[Any], viewer: str, language: str,
                      cells: list[list[str]] | None = None,
                      removed: frozenset[int] = frozenset(),
                      problem: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the procedure page shows beyond its figures: the editable table (``cells`` as
    typed when a save was refused, with its ``problem``), whether the viewer only reads,
    the owner's sharing (:func:`sharing`), the revisions, each step's details before and
    after, each scenario's change log."""
    from api.models import public_message
    from api.workspace_view import scenario_logs, step_details

    refused = None
    if cells is None:
        try:
            cells = edit_cells(proc)
        except TableError as error:
            cells, refused = [], public_message(error)
    read_only = row.owner != viewer
    return {"edit": {"columns": EDIT_KEYS, "headers": column_headers(language), "cells": cells,
                     "removed": removed, "problem": problem, "refused": refused},
            "read_only": read_only,
            **({"readers": [], "colleagues": []} if read_only
               else sharing(session, row.id, viewer)),
            "revisions": revision_log(session, row.id, viewer=viewer,
                                      language=language),
            "details_before": step_details(proc, language),
            "details_after": step_details(after, language),
            "scenario_logs": scenario_logs(row, scenarios, language)}
