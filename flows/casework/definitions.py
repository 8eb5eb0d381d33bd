"""The definition each case runs: stored by id and version, resolved back (else the catalog).

A case keeps the exact YAML it was opened with (``procedure_definition``), so a later
edit of the catalog never changes a running case.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from sqlalchemy import insert
from sqlmodel import Session, col, select

from flows.casework._rows import DEFINITIONS, READ_DEFINITION
from flows.casework.tables import ProcedureDefinition, aware_time
from process_models.errors import Conflict, ProcedureNotFound
from process_models.procedure import Procedure

__all__ = [
    "resolve_procedure",
    "store_procedure",
]


@lru_cache(maxsize=64)
def _parse_stored(definition: str) -> Procedure:
    """A stored definition, parsed once per process (YAML parsing is the slow part).

    The cached procedure is shared: callers treat definitions as read-only.
    """
    from process_models.loading import parse_procedure

    return parse_procedure(definition, file="<stored procedure>")


def resolve_procedure(
    procedure_id: str, version: str | None = None, *, session: Session | None = None
) -> Procedure:
    """The procedure definition a case runs: from the store (when given a session), else
    the catalog. ``version=None`` means the newest stored, or the catalog's.

    >>> resolve_procedure("newborn").id
    'newborn'
    >>> resolve_procedure("newborn", "2099")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    process_models.errors.ProcedureNotFound: procedure 'newborn' version '2099' is neither stored nor in the catalog (the catalog holds version '...')
    """
    from process_models.catalog import load_catalog_procedure

    if session is not None:
        query = select(ProcedureDefinition.definition).where(
            ProcedureDefinition.procedure_id == procedure_id
        )
        if version is not None:
            query = query.where(ProcedureDefinition.version == version)
        stored = session.exec(
            query.order_by(col(ProcedureDefinition.stored_at).desc()).limit(1)
        ).first()
        if stored is not None:
            return _parse_stored(stored)
    proc = load_catalog_procedure(procedure_id)
    if version is not None and proc.version != version:
        raise ProcedureNotFound(
            f"procedure '{procedure_id}' version '{version}' is neither stored nor in the "
            f"catalog (the catalog holds version '{proc.version}')"
        )
    return proc


def store_procedure(session: Session, proc: Procedure, *, now: datetime) -> None:
    """Keep ``proc``'s definition under its id and version (inside the caller's transaction).

    A different definition under a stored id and version is refused: change the version.
    """
    from process_models.loading import dump_procedure

    key = {"procedure_id": proc.id, "version": proc.version}
    stored = session.execute(READ_DEFINITION, key).scalar_one_or_none()
    if stored is None:
        session.execute(insert(DEFINITIONS), {
            **key, "definition": dump_procedure(proc), "stored_at": aware_time(now)})
    elif _parse_stored(stored) != proc:
        raise Conflict(
            f"procedure '{proc.id}' version '{proc.version}' is already stored with a "
            "different definition; give the changed procedure a new version"
        )


def case_procedure(case, definition: str | None) -> Procedure:
    """The procedure version ``case`` runs: its stored definition, else the catalog's."""
    if definition is not None:
        return _parse_stored(definition)
    return resolve_procedure(case.procedure_id, case.procedure_version)
