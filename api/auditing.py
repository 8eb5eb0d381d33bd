"""What the auditor's desk reads, for its page (:mod:`api.auditor_page`) and its JSON
routes (:mod:`api.routes.audit`) alike: planned versus actual over the case record, the
case history as an event log to download, and another system's uploaded log audited.

Planned versus actual is :func:`flows.casework.actual.case_actuals` summarised, the same
rows ``onething audit actual`` prints; an uploaded log goes through the reader of
``audit actual --log`` (:func:`simulations.interchange.read.read_log`,
:func:`simulations.planning.log_audit.audit_log`).

>>> sorted(EXPORTS)
['ocel-json', 'xes']
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import Form
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from api.uploads import uploaded_file
from process_models.errors import EventLogError, InvalidInput, did_you_mean

__all__ = ["EXPORTS", "LOG_SUFFIXES", "MAX_LOG_BYTES", "LogForm", "actual_summary",
           "audit_upload", "export_history", "log_fields"]

EXPORTS = {"xes": ("onething-cases.xes", "application/xml"),
           "ocel-json": ("onething-cases.ocel.json", "application/json")}
"""Export format → (file name, media type) of the event-log downloads."""

LOG_SUFFIXES = (".csv", ".xes", ".csv.gz", ".xes.gz")
MAX_LOG_BYTES = 1_900_000
"""The largest log the desk takes (requests over 2 MB are refused before they are read);
larger logs go through ``onething audit actual --log``."""

UNITS = ("working", "calendar")


def actual_summary(session: Session, *, start: date | None = None, end: date | None = None,
                   as_of: date | None = None) -> Any:
    """Planned versus actual over the cases accepted in ``[start, end]`` (open ones counted
    up to ``as_of``); ``None`` when there are none."""
    from flows.casework.actual import case_actuals, summarize

    try:
        return summarize(case_actuals(session, start=start, end=end, as_of=as_of))
    except EventLogError:
        return None


def export_history(session: Session, fmt: str) -> tuple[bytes, str, str]:
    """The case history as an event log in ``fmt`` (one of :data:`EXPORTS`): its bytes,
    file name and media type."""
    from flows.casework.history import history_events
    from simulations.interchange.export import export_events

    if fmt not in EXPORTS:
        raise InvalidInput(f"unknown export format '{fmt}'; use one of {', '.join(EXPORTS)}",
                           path="format", suggestion=did_you_mean(fmt, EXPORTS))
    name, media = EXPORTS[fmt]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        export_events(history_events(session), path, fmt)
        return path.read_bytes(), name, media


_Column = Annotated[str, Field(max_length=200)]


class LogForm(BaseModel):
    """The columns of an uploaded log (empty: the XES standard name or an alias), and its
    limit: a ``deadline`` column, or ``limit_days`` in ``limit_unit`` for every case."""

    model_config = ConfigDict(frozen=True)

    case: _Column = ""
    activity: _Column = ""
    timestamp: _Column = ""
    start_timestamp: _Column = ""
    resource: _Column = ""
    group: _Column = ""
    case_start: _Column = ""
    case_end: _Column = ""
    deadline: _Column = ""
    limit_days: float | None = None
    limit_unit: Annotated[str, Field(max_length=20)] = "working"
    calendar: Annotated[str, Field(max_length=10)] = "CN"

    @classmethod
    def typed(cls, fields: dict[str, str]) -> LogForm:
        """The form of the fields as typed (:func:`log_fields`); limit days must be a
        number or empty."""
        days = fields.get("limit_days", "").strip()
        try:
            limit_days = float(days) if days else None
        except ValueError:
            raise InvalidInput(f"limit days '{days[:20]}' is not a number; type e.g. 20",
                               path="limit_days") from None
        return cls(**{**fields, "limit_days": limit_days})

    def limit(self) -> Any:
        """The :class:`~simulations.planning.log_audit.CaseLimit` the form asks for."""
        from simulations.planning.log_audit import CaseLimit

        if bool(self.deadline) == (self.limit_days is not None):
            raise InvalidInput("give the limit once: a deadline column, or limit days for "
                               "every case", path="deadline")
        if self.limit_days is not None and not 0 < self.limit_days <= 3650:
            raise InvalidInput(f"limit days {self.limit_days:g} is outside 0–3650",
                               path="limit_days")
        if self.limit_unit not in UNITS:
            raise InvalidInput(f"unknown unit '{self.limit_unit[:20]}'; use working or "
                               "calendar", path="limit_unit",
                               suggestion=did_you_mean(self.limit_unit, UNITS))
        return CaseLimit(self.limit_days, self.limit_unit)  # type: ignore[arg-type]

    def columns(self) -> Any:
        """The :class:`~simulations.interchange.read.LogColumns` the form names."""
        from simulations.interchange.read import LogColumns

        return LogColumns(**{name: getattr(self, name) or None for name in (
            "case", "activity", "timestamp", "start_timestamp", "resource", "group",
            "case_start", "case_end", "deadline")})


def log_fields(case: Annotated[str, Form(max_length=200)] = "",
               activity: Annotated[str, Form(max_length=200)] = "",
               timestamp: Annotated[str, Form(max_length=200)] = "",
               start_timestamp: Annotated[str, Form(max_length=200)] = "",
               resource: Annotated[str, Form(max_length=200)] = "",
               deadline: Annotated[str, Form(max_length=200)] = "",
               case_end: Annotated[str, Form(max_length=200)] = "",
               limit_days: Annotated[str, Form(max_length=20)] = "",
               limit_unit: Annotated[str, Form(max_length=20)] = "working",
               calendar: Annotated[str, Form(max_length=10)] = "CN") -> dict[str, str]:
    """The log form's fields as typed, for the page to show again and :meth:`LogForm.typed`
    to read (a dependency of the page and the route)."""
    return {"case": case, "activity": activity, "timestamp": timestamp,
            "start_timestamp": start_timestamp, "resource": resource, "deadline": deadline,
            "case_end": case_end, "limit_days": limit_days, "limit_unit": limit_unit,
            "calendar": calendar}


def audit_upload(file_name: str | None, data: bytes, form: LogForm) -> dict[str, Any]:
    """超期率, P50/P90, where the time goes and the months of an uploaded log
    (:meth:`~simulations.planning.log_audit.LogAudit.as_dict`)."""
    from process_models.calendar import country_calendar
    from simulations.interchange.log_cases import log_cases
    from simulations.interchange.read import read_log
    from simulations.planning.log_audit import audit_log

    limit, columns = form.limit(), form.columns()
    calendar = country_calendar(form.calendar or "CN")
    with uploaded_file(file_name, data, suffixes=LOG_SUFFIXES,
                       limit_bytes=MAX_LOG_BYTES) as path:
        return audit_log(log_cases(read_log(path, columns), file=path.name), log=path.name,
                         limit=limit, calendar=calendar,
                         has_case_end=columns.case_end is not None).as_dict()
