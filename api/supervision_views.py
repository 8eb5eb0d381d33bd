"""The 督办 report and the 秒批 share as people read them: one table each, departments,
procedures and steps by name, headers in the reader's language. ``onething supervision
report`` / ``onething auto-rule report`` and ``GET /api/supervision/report`` /
``GET /api/supervision/auto-share`` write the same tables as XLSX."""

from __future__ import annotations

from typing import Any

from api.i18n import messages
from simulations.planning.audit_report import View

__all__ = ["SUPERVISION_FIELDS", "auto_share_view", "case_names", "supervision_view"]

SUPERVISION_FIELDS = ("issued", "red", "yellow", "answered", "answered_late", "escalated",
                      "unanswered")
"""The counts of a 督办 report line, in the order the table shows them."""


def case_names(session, *, procedures: bool = False) -> dict[str, str]:
    """Id → name of every step and department of the procedures cases ran (the versions
    they ran); with ``procedures``, of those procedures instead."""
    from sqlalchemy import select

    from api.names import names_of
    from flows.casework import resolve_procedure
    from flows.casework.tables import Case

    names: dict[str, str] = {}
    for procedure_id, version in session.execute(
            select(Case.procedure_id, Case.procedure_version).distinct()):
        proc = resolve_procedure(procedure_id, version, session=session)
        names.update({proc.id: proc.name} if procedures else names_of(proc))
    return names


def supervision_view(lines: list[Any], names: dict[str, str], language: str, *,
                     title: str) -> View:
    """督办 per department (:func:`flows.casework.supervision_report`'s ``lines``), the
    last line ``*`` as 合计."""
    t = messages(language)
    return View(title[:31], [t["supervision.department"],
                             *(t[f"supervision.{f}"] for f in SUPERVISION_FIELDS)],
                [[t["supervision.all"] if line.department_id == "*"
                  else names.get(line.department_id, line.department_id),
                  *(getattr(line, f) for f in SUPERVISION_FIELDS)] for line in lines])


def auto_share_view(lines: list[Any], names: dict[str, str], procedures: dict[str, str],
                    language: str) -> View:
    """The share of 秒批 decisions per procedure and step
    (:func:`flows.casework.auto_decisions.auto_share`'s ``lines``), the last line as 合计."""
    t = messages(language)
    return View(t["auto.sheet"], [t[f"auto.{h}"] for h in (
        "procedure", "step", "decisions", "by_rule", "share")], [
        [t["supervision.all"] if line.procedure_id == "*"
         else procedures.get(line.procedure_id, line.procedure_id),
         "" if line.step_id == "*" else names.get(line.step_id, line.step_id),
         line.decisions, line.by_rule, line.share] for line in lines])
