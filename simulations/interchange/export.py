"""Writing an event log in a format chosen by name: XES, OCEL 2.0 (JSON or SQLite) or the
SPGL tables of a 工改 system (a folder of CSV files).

The writers live beside the event they write (:mod:`simulations.interchange.xes`,
:mod:`simulations.interchange.ocel`,
:mod:`simulations.interchange.spgl`); this module only picks one.

>>> EXPORT_FORMATS
('xes', 'ocel-json', 'ocel-sqlite', 'spgl')
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from process_models.errors import EventLogError, did_you_mean
from simulations.interchange.eventlog import Event
from simulations.interchange.ocel import write_ocel_json, write_ocel_sqlite
from simulations.interchange.spgl import SpglNames, write_spgl
from simulations.interchange.xes import write_xes

__all__ = ["EXPORT_FORMATS", "export_events"]

_WRITERS: dict[str, Callable[..., int]] = {
    "xes": write_xes, "ocel-json": write_ocel_json, "ocel-sqlite": write_ocel_sqlite,
    "spgl": write_spgl,
}
EXPORT_FORMATS = tuple(_WRITERS)


def export_events(events: Iterable[Event], path: str | os.PathLike[str], fmt: str,
                  names: SpglNames | None = None) -> int:
    """Write ``events`` in ``fmt`` (one of :data:`EXPORT_FORMATS`); return the event count.
    ``names`` are written where a format holds names (``spgl``); the others write ids."""
    if fmt not in _WRITERS:
        raise EventLogError(f"unknown export format '{fmt}'; use one of {', '.join(_WRITERS)}",
                            suggestion=did_you_mean(fmt, _WRITERS))
    writer = _WRITERS[fmt]
    return writer(events, path, names) if fmt == "spgl" else writer(events, path)
