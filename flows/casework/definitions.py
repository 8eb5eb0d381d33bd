"""The definition each case runs: stored by id and version, resolved back (else the catalog).

A case keeps the exact YAML it was opened with (``procedure_definition``), so a later
edit of the catalog never changes a running case. An uploaded definition is a draft
(:func:`upload_procedure`): new cases open on the newest *published* definition of an id
(:func:`publish_procedure`, an admin's act in the audit trail), else the catalog's.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from sqlalchemy import insert, update
from sqlmodel import Session, col, select

from flows.casework._rows import DEFINITIONS, READ_DEFINITION, Transaction
from flows.casework.audit_chain import definition_digest
from flows.casework.tables import ProcedureDefinition, aware_time
from process_models.errors import Conflict, InvalidInput, ProcedureNotFound
from process_models.procedure import Procedure

__all__ = [
    "publish_procedure",
    "resolve_procedure",
    "store_procedure",
    "upload_procedure",
]


@lru_cache(maxsize=64)
def _parse_stored(definition: str) -> Procedure:
    """A stored definition, parsed once per process (YAML parsing is the slow part).

    The cached procedure is shared: callers treat definitions as read-only.
    """
    from process_models.loading import parse_procedure

    return parse_procedure(definition, file="<stored procedure>")


def resolve_procedure(
    procedure_id: str, version: str | None = None, *, session: Session | None = None,
    drafts: bool = False,
) -> Procedure:
    """The procedure definition a case runs: from the store (when given a session), else
    the catalog. ``version=None`` means the newest published, else the catalog's; with
    ``drafts``, the newest uploaded draft when neither exists (what a planner reads).

    >>> resolve_procedure("newborn").id
    'newborn'
    >>> resolve_procedure("newborn", "2099")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    process_models.errors.ProcedureNotFound: procedure 'newborn' version '2099' is neither stored nor in the catalog (the catalog holds version '...')
    """
    from process_models.catalog import catalog_ids, load_catalog_procedure

    if session is not None:
        query = select(ProcedureDefinition.definition).where(
            ProcedureDefinition.procedure_id == procedure_id)
        if version is not None:
            stored = session.exec(query.where(ProcedureDefinition.version == version)).first()
        else:
            stored = session.exec(
                query.where(col(ProcedureDefinition.published_at).is_not(None))
                .order_by(col(ProcedureDefinition.published_at).desc()).limit(1)).first()
            if stored is None and drafts and procedure_id not in catalog_ids():
                stored = session.exec(
                    query.order_by(col(ProcedureDefinition.stored_at).desc()).limit(1)).first()
        if stored is not None:
            return _parse_stored(stored)
    proc = load_catalog_procedure(procedure_id)
    if version is not None and proc.version != version:
        raise ProcedureNotFound(
            f"procedure '{procedure_id}' version '{version}' is neither stored nor in the "
            f"catalog (the catalog holds version '{proc.version}')"
        )
    return proc


def store_procedure(session: Session, proc: Procedure, *, now: datetime) -> tuple[str, bool]:
    """Keep ``proc``'s definition under its id and version (inside the caller's transaction);
    the definition text and whether it is new. A stored definition is a draft.

    A different definition under a stored id and version is refused: change the version.
    """
    from process_models.loading import dump_procedure

    key = {"procedure_id": proc.id, "version": proc.version}
    stored = session.execute(READ_DEFINITION, key).scalar_one_or_none()
    if stored is None:
        definition = dump_procedure(proc)
        session.execute(insert(DEFINITIONS), {
            **key, "definition": definition, "stored_at": aware_time(now)})
        return definition, True
    if _parse_stored(stored) != proc:
        raise Conflict(
            f"procedure '{proc.id}' version '{proc.version}' is already stored with a "
            "different definition; give the changed procedure a new version"
        )
    return stored, False


def _who(by: str) -> str:
    if not by or not by.strip():
        raise InvalidInput("no member of staff named; say who does it", path="by")
    return by.strip()


def upload_procedure(session: Session, proc: Procedure, *, by: str, now: datetime) -> bool:
    """Store ``proc`` as a draft: no case opens on it until it is published. Recorded as a
    ``definition_stored`` audit event (who, id, version, digest); whether it is new."""
    by = _who(by)
    at = aware_time(now)
    with Transaction(session) as tx:
        definition, new = store_procedure(session, proc, now=at)
        if new:
            tx.audit(None, "definition_stored", {
                "procedure_id": proc.id, "version": proc.version, "by": by,
                "digest": definition_digest(definition)}, at)
    return new


def publish_procedure(session: Session, procedure_id: str, version: str, *, by: str,
                      now: datetime) -> Procedure:
    """Make the stored ``version`` (or the catalog's) the one new cases of ``procedure_id``
    open on; cases already open keep theirs. Recorded as a ``definition_published`` audit
    event (who, id, version, digest)."""
    from process_models.catalog import catalog_ids, load_catalog_procedure

    by = _who(by)
    at = aware_time(now)
    with Transaction(session) as tx:
        key = {"procedure_id": procedure_id, "version": version}
        definition = tx.execute(READ_DEFINITION, key).scalar_one_or_none()
        if definition is None:
            catalog = (load_catalog_procedure(procedure_id)
                       if procedure_id in catalog_ids() else None)
            if catalog is None or catalog.version != version:
                stored = tx.execute(select(ProcedureDefinition.version).where(
                    ProcedureDefinition.procedure_id == procedure_id)).scalars().all()
                known = [*stored, *([catalog.version] if catalog else [])]
                raise ProcedureNotFound(
                    f"procedure '{procedure_id}' version '{version}' is neither stored nor in "
                    f"the catalog; upload it first"
                    + (f" (known versions: {', '.join(known)})" if known else ""))
            definition, _new = store_procedure(session, catalog, now=at)
        tx.execute(update(DEFINITIONS).where(
            DEFINITIONS.c.procedure_id == procedure_id, DEFINITIONS.c.version == version
        ).values(published_at=at, published_by=by))
        tx.audit(None, "definition_published", {
            "procedure_id": procedure_id, "version": version, "by": by,
            "digest": definition_digest(definition)}, at)
    return _parse_stored(definition)


def case_procedure(case, definition: str | None) -> Procedure:
    """The procedure version ``case`` runs: its stored definition, else the catalog's."""
    if definition is not None:
        return _parse_stored(definition)
    return resolve_procedure(case.procedure_id, case.procedure_version)
