"""The definition each case runs: stored by id and version, resolved back (else the catalog).

A case keeps the exact YAML it was opened with (``procedure_definition``), so a later
edit of the catalog never changes a running case. An uploaded definition is a draft
(:func:`upload_procedure`): new cases open on the newest *published* definition of an id
(:func:`publish_procedure`, an admin's act in the audit trail), else the catalog's
reformed bundle (:func:`window_procedure`).

The catalog holds each procedure twice: as it ran before its reform (the YAML file, e.g.
version ``before-2023``) and after it (:func:`catalog_after`: its reform scenario under
``catalog/reforms/`` applied, version ``after-2023``). The window runs the after-version;
the before-version only when asked for (``version="before"``).
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from sqlalchemy import insert, update
from sqlmodel import Session, col, select

from flows.casework._rows import DEFINITIONS, READ_DEFINITION, Transaction
from flows.casework.audit_chain import definition_digest
from flows.casework.tables import ProcedureDefinition, aware_time
from process_models._memo import text_memo
from process_models.errors import Conflict, InvalidInput, ProcedureNotFound
from process_models.procedure import Procedure

__all__ = [
    "WINDOW_FORMS",
    "after_version",
    "catalog_after",
    "catalog_version",
    "parse_stored",
    "publish_procedure",
    "resolve_procedure",
    "store_procedure",
    "upload_procedure",
    "window_procedure",
]

WINDOW_FORMS = ("after", "before")
"""The names of the catalog's two versions of a procedure a window may ask for."""


@text_memo()
def parse_stored(definition: str, file: str = "<stored procedure>") -> Procedure:
    """A stored definition (a case's, a draft, a workspace revision), parsed once per
    process while it is in use (YAML parsing is the slow part); ``file`` names it in errors.

    The procedure is shared: callers treat definitions as read-only.
    """
    from process_models.loading import parse_procedure

    return parse_procedure(definition, file=file)


def after_version(version: str) -> str:
    """The version name of a procedure's reformed form.

    >>> after_version("before-2023"), after_version("2025")
    ('after-2023', 'after-2025')
    """
    return "after-" + version.removeprefix("before-")


@lru_cache(maxsize=64)
def catalog_after(procedure_id: str) -> Procedure | None:
    """The catalog procedure with its reform scenario applied (the bundle a 一件事 window
    runs), version :func:`after_version`; ``None`` when the catalog has no scenario for it.

    >>> after = catalog_after("newborn")
    >>> after.version, after.form, [s.id for s in after.applicant_steps]
    ('after-2023', 'after', ['newborn_bundle'])
    """
    from process_models.catalog import load_catalog_procedure
    from process_models.errors import ScenarioError
    from simulations.planning.scenario import apply_scenario, catalog_scenario_path, load_scenario

    before = load_catalog_procedure(procedure_id)
    try:
        path = catalog_scenario_path(procedure_id)
    except ScenarioError:
        return None
    after, _changes = apply_scenario(before, load_scenario(path))
    return after.model_copy(update={"version": after_version(before.version)})


def catalog_version(procedure_id: str, version: str) -> Procedure | None:
    """The catalog's ``before`` or ``after`` form of ``procedure_id`` named by its form or
    its version; ``None`` when ``version`` names neither (the id must be the catalog's).

    >>> catalog_version("newborn", "before").version, catalog_version("newborn", "after-2023").form
    ('before-2023', 'after')
    >>> catalog_version("newborn", "2099") is None
    True
    """
    from process_models.catalog import load_catalog_procedure

    before = load_catalog_procedure(procedure_id)
    after = catalog_after(procedure_id)
    for form, proc in (("before", before), ("after", after)):
        if proc is not None and version in (form, proc.version):
            return proc
    return None


def _catalog_versions(procedure_id: str) -> list[str]:
    from process_models.catalog import load_catalog_procedure

    after = catalog_after(procedure_id)
    return [load_catalog_procedure(procedure_id).version, *([after.version] if after else [])]


def resolve_procedure(
    procedure_id: str, version: str | None = None, *, session: Session | None = None,
    drafts: bool = False,
) -> Procedure:
    """The procedure definition a case runs: from the store (when given a session), else
    the catalog. ``version=None`` means the newest published, else the catalog's; with
    ``drafts``, the newest uploaded draft when neither exists (what a planner reads). A
    ``version`` may name the catalog's reformed form (:func:`catalog_version`).

    >>> resolve_procedure("newborn").id
    'newborn'
    >>> resolve_procedure("newborn", "after").version
    'after-2023'
    >>> resolve_procedure("newborn", "2099")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    process_models.errors.ProcedureNotFound: procedure 'newborn' version '2099' is neither stored nor in the catalog (the catalog holds versions before-2023, after-2023)
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
            return parse_stored(stored)
    proc = load_catalog_procedure(procedure_id)
    if version is None:
        return proc
    found = catalog_version(procedure_id, version)
    if found is None:
        raise ProcedureNotFound(
            f"procedure '{procedure_id}' version '{version}' is neither stored nor in the "
            f"catalog (the catalog holds versions {', '.join(_catalog_versions(procedure_id))})"
        )
    return found


def window_procedure(procedure_id: str, version: str | None = None, *,
                     session: Session | None = None) -> Procedure:
    """The definition a new case of ``procedure_id`` opens on at the window.

    ``version=None``: the newest published definition (:func:`publish_procedure`), else the
    catalog's reformed bundle (:func:`catalog_after`), else the catalog's procedure. A
    ``version`` is explicit: ``"before"`` or ``"after"`` (the catalog's two forms), a
    catalog version, or a published one; a draft is refused until it is published.

    >>> window_procedure("newborn").version, window_procedure("newborn", "before").version
    ('after-2023', 'before-2023')
    """
    from process_models.catalog import catalog_ids

    if version is None:
        if session is not None:
            stored = session.exec(
                select(ProcedureDefinition.definition)
                .where(ProcedureDefinition.procedure_id == procedure_id,
                       col(ProcedureDefinition.published_at).is_not(None))
                .order_by(col(ProcedureDefinition.published_at).desc()).limit(1)).first()
            if stored is not None:
                return parse_stored(stored)
        return catalog_after(procedure_id) or resolve_procedure(procedure_id)
    if procedure_id in catalog_ids() and (found := catalog_version(procedure_id, version)):
        return found
    if session is not None:
        row = session.exec(select(ProcedureDefinition).where(
            ProcedureDefinition.procedure_id == procedure_id,
            ProcedureDefinition.version == version)).first()
        if row is not None and row.published_at is None:
            raise Conflict(f"procedure '{procedure_id}' version '{version}' is a draft; an "
                           "admin publishes it before cases open on it")
        if row is not None:
            return parse_stored(row.definition)
    return resolve_procedure(procedure_id, version)


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
    if parse_stored(stored) != proc:
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
    """Make the stored ``version`` (or the catalog's: ``before``, ``after`` or its version
    name) the one new cases of ``procedure_id``
    open on; cases already open keep theirs. Recorded as a ``definition_published`` audit
    event (who, id, version, digest)."""
    from process_models.catalog import catalog_ids

    by = _who(by)
    at = aware_time(now)
    in_catalog = procedure_id in catalog_ids()
    catalog = catalog_version(procedure_id, version) if in_catalog else None
    version = catalog.version if catalog is not None else version
    with Transaction(session) as tx:
        key = {"procedure_id": procedure_id, "version": version}
        definition = tx.execute(READ_DEFINITION, key).scalar_one_or_none()
        if definition is None:
            if catalog is None:
                stored = tx.execute(select(ProcedureDefinition.version).where(
                    ProcedureDefinition.procedure_id == procedure_id)).scalars().all()
                known = [*stored, *(_catalog_versions(procedure_id) if in_catalog else [])]
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
    return parse_stored(definition)


def case_procedure(case, definition: str | None) -> Procedure:
    """The procedure version ``case`` runs: its stored definition, else the catalog's."""
    if definition is not None:
        return parse_stored(definition)
    return resolve_procedure(case.procedure_id, case.procedure_version)
