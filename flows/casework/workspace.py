"""The planner's workspace: procedures a planner brought in and the scenarios they keep.

A workspace procedure is not the catalog and not a definition cases open on: it never
reaches a live case by itself (publishing stays an admin's act on
:class:`~flows.casework.tables.ProcedureDefinition`). Each change adds a revision
(:class:`WorkspaceProcedure`, one row per revision, with who changed what and when); the
newest revision is the procedure. A planner sees their own procedures, those shared with
every colleague (``shared``) and those shared with them by name (:class:`WorkspaceShare`,
read-only: a change is :class:`~process_models.errors.ReadOnly`); anyone else's is
answered as unknown (:class:`ProcedureNotFound`), so a foreign id cannot be told from a
missing one. A :class:`WorkspaceScenario` is a named set of ticked levers on one workspace
procedure, kept by its owner.

>>> import tempfile, pathlib
>>> from datetime import datetime
>>> from sqlmodel import Session
>>> from process_models import load_catalog_procedure
>>> from flows.casework.store import init_db, make_engine
>>> engine = make_engine(f"sqlite:///{pathlib.Path(tempfile.mkdtemp()) / 'w.db'}")
>>> init_db(engine)
>>> with Session(engine) as session:
...     row = add_procedure(session, load_catalog_procedure("newborn"), owner="王芳",
...                         change="上传 newborn.yaml", now=datetime(2026, 12, 5, 9, 0))
...     print(row.revision, read_procedure(session, row.id, viewer="王芳")[1].id)
...     read_procedure(session, row.id, viewer="李强")
Traceback (most recent call last):
...
process_models.errors.ProcedureNotFound: no workspace procedure '...'; upload it first
>>> engine.dispose()
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, Session, SQLModel, col, select

from flows.casework.tables import aware_time
from process_models.errors import InvalidInput, ProcedureNotFound, ReadOnly, did_you_mean
from process_models.procedure import Procedure

__all__ = [
    "MAX_REVISIONS_SHOWN",
    "MAX_SCENARIOS",
    "WorkspaceProcedure",
    "WorkspaceScenario",
    "WorkspaceShare",
    "add_procedure",
    "list_procedures",
    "list_scenarios",
    "owned_procedure",
    "read_procedure",
    "read_scenario",
    "readers",
    "revisions",
    "save_scenario",
    "set_shared",
    "share_with",
    "stop_sharing",
    "undo_revision",
]

MAX_REVISIONS_SHOWN = 20
"""Revisions a page lists of one workspace procedure, newest first."""

MAX_SCENARIOS = 200
"""Scenarios one planner keeps of one procedure."""


class WorkspaceProcedure(SQLModel, table=True):
    """One revision of a procedure in a planner's workspace: the definition as YAML, its
    owner, who made this revision, when and what they changed."""

    __tablename__ = "workspace_procedure"

    id: str = Field(primary_key=True, max_length=32)
    revision: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    owner: str = Field(index=True, max_length=200)
    procedure_id: str = Field(max_length=200)
    name: str = Field(max_length=500)
    definition: str
    shared: bool = False
    changed_by: str = Field(max_length=200)
    changed_at: datetime
    change: str = Field(max_length=500)


class WorkspaceShare(SQLModel, table=True):
    """A colleague a workspace procedure is shared with read-only, by account name."""

    __tablename__ = "workspace_share"

    procedure: str = Field(primary_key=True, max_length=32)
    reader: str = Field(primary_key=True, index=True, max_length=200)
    shared_at: datetime


class WorkspaceScenario(SQLModel, table=True):
    """A named scenario a planner keeps: the lever kinds ticked, in the order applied."""

    __tablename__ = "workspace_scenario"

    id: str = Field(primary_key=True, max_length=32)
    procedure: str = Field(index=True, max_length=32)
    owner: str = Field(max_length=200)
    name: str = Field(max_length=200)
    levers: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    saved_at: datetime


def add_procedure(session: Session, proc: Procedure, *, owner: str, change: str,
                  now: datetime, workspace_id: str | None = None) -> WorkspaceProcedure:
    """Store ``proc`` as a new workspace procedure of ``owner`` (revision 1), or as the next
    revision of ``workspace_id`` (the viewer must see it); committed."""
    from process_models.loading import dump_procedure

    revision, shared = 1, False
    if workspace_id is not None:
        newest = owned_procedure(session, workspace_id, owner)
        revision, shared = newest.revision + 1, newest.shared
    row = WorkspaceProcedure(id=workspace_id or uuid.uuid4().hex, revision=revision,
                             owner=owner, procedure_id=proc.id, name=proc.name,
                             definition=dump_procedure(proc), shared=shared, changed_by=owner,
                             changed_at=aware_time(now), change=change[:500])
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def _visible_to(viewer: str):
    """The clause of the revisions ``viewer`` sees: their own, shared with every colleague,
    or shared with them by name."""
    named = select(WorkspaceShare.procedure).where(WorkspaceShare.reader == viewer)
    return ((WorkspaceProcedure.owner == viewer) | col(WorkspaceProcedure.shared)
            | col(WorkspaceProcedure.id).in_(named))


def _newest(session: Session, workspace_id: str, viewer: str) -> WorkspaceProcedure:
    row = session.exec(select(WorkspaceProcedure)
                       .where(WorkspaceProcedure.id == workspace_id, _visible_to(viewer))
                       .order_by(col(WorkspaceProcedure.revision).desc())).first()
    if row is None:
        raise ProcedureNotFound(f"no workspace procedure '{workspace_id[:40]}'; upload it first")
    return row


def owned_procedure(session: Session, workspace_id: str, owner: str) -> WorkspaceProcedure:
    """The newest revision of a workspace procedure, for a change by ``owner``: one shared
    with them but not theirs is read-only (:class:`ReadOnly`), anyone else's unknown."""
    row = _newest(session, workspace_id, owner)
    if row.owner != owner:
        raise ReadOnly(f"this workspace procedure is shared with you read-only by {row.owner}; "
                       "only its owner changes it (export the step table and upload your own "
                       "copy)", reason="read_only", values={"owner": row.owner})
    return row


def undo_revision(session: Session, workspace_id: str, *, owner: str,
                  now: datetime) -> WorkspaceProcedure:
    """Undo the newest change: a new revision restoring the one before it (the history
    keeps both); committed. The first revision has nothing to undo."""
    newest = owned_procedure(session, workspace_id, owner)
    previous = session.get(WorkspaceProcedure, (workspace_id, newest.revision - 1))
    if previous is None:
        raise InvalidInput("revision 1 is the upload; there is nothing to undo", path="revision")
    row = WorkspaceProcedure(**{**previous.model_dump(), "revision": newest.revision + 1,
                                "shared": newest.shared, "changed_by": owner,
                                "changed_at": aware_time(now),
                                "change": f"撤销第 {newest.revision} 版（{newest.change}）"[:500]})
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def set_shared(session: Session, workspace_id: str, *, owner: str, shared: bool) -> None:
    """Share a workspace procedure read-only with every colleague who reads workspaces, or
    stop; committed. Every revision follows, so an older one never shows a colleague what
    is no longer shared."""
    from sqlalchemy import update

    owned_procedure(session, workspace_id, owner)
    session.exec(update(WorkspaceProcedure).where(col(WorkspaceProcedure.id) == workspace_id)
                 .values(shared=shared))
    session.commit()


def share_with(session: Session, workspace_id: str, *, owner: str, reader: str,
               roles: Collection[str], now: datetime) -> WorkspaceShare:
    """Share a workspace procedure of ``owner`` read-only with the colleague whose account is
    ``reader``; committed. The account must exist, be active and hold one of ``roles`` (those
    that read workspaces); the owner is refused, and sharing twice keeps the first."""
    from flows.casework.accounts import User, find_user

    owned_procedure(session, workspace_id, owner)
    reader = reader.strip()
    if reader == owner:
        raise InvalidInput(f"'{reader[:64]}' is you, the owner; name a colleague's account",
                           path="reader", reason="share_self")
    account = find_user(session, reader)
    if account is None or not account.active:
        names = session.exec(select(User.username).where(col(User.role).in_(roles),
                                                         col(User.active))).all()
        raise InvalidInput(f"no active account '{reader[:64]}'; name a colleague's account",
                           path="reader", suggestion=did_you_mean(reader, names),
                           reason="share_unknown", values={"reader": reader[:64]})
    if account.role not in roles:
        raise InvalidInput(f"'{reader}' is a {account.role} account, which does not read "
                           "workspaces; share with an account of role "
                           f"{', '.join(sorted(roles))}",
                           path="reader", reason="share_role",
                           values={"reader": reader, "role": account.role})
    row = session.get(WorkspaceShare, (workspace_id, reader))
    if row is None:
        from sqlalchemy.exc import IntegrityError

        session.add(WorkspaceShare(procedure=workspace_id, reader=reader,
                                   shared_at=aware_time(now)))
        try:
            session.commit()
        except IntegrityError:  # shared at the same moment by another request of the owner
            session.rollback()
        row = session.get(WorkspaceShare, (workspace_id, reader))
    return row


def stop_sharing(session: Session, workspace_id: str, *, owner: str, reader: str) -> None:
    """Stop sharing a workspace procedure of ``owner`` with ``reader``; committed. A
    colleague it was not shared with is refused, named."""
    owned_procedure(session, workspace_id, owner)
    row = session.get(WorkspaceShare, (workspace_id, reader))
    if row is None:
        raise InvalidInput(f"the procedure is not shared with '{reader[:64]}'; nothing to stop",
                           path="reader", reason="share_absent", values={"reader": reader[:64]})
    session.delete(row)
    session.commit()


def readers(session: Session, workspace_id: str, *, owner: str) -> list[WorkspaceShare]:
    """The colleagues ``owner`` shares a workspace procedure with by name, by account."""
    owned_procedure(session, workspace_id, owner)
    return list(session.exec(select(WorkspaceShare)
                             .where(WorkspaceShare.procedure == workspace_id)
                             .order_by(col(WorkspaceShare.reader))).all())


def revisions(session: Session, workspace_id: str, *,
              viewer: str) -> list[WorkspaceProcedure]:
    """The newest :data:`MAX_REVISIONS_SHOWN` revisions ``viewer`` may see, newest first,
    with the one before the oldest shown (what its change is measured against)."""
    _newest(session, workspace_id, viewer)
    return list(session.exec(select(WorkspaceProcedure)
                             .where(WorkspaceProcedure.id == workspace_id)
                             .order_by(col(WorkspaceProcedure.revision).desc())
                             .limit(MAX_REVISIONS_SHOWN + 1)).all())


def read_procedure(session: Session, workspace_id: str, *,
                   viewer: str) -> tuple[WorkspaceProcedure, Procedure]:
    """The newest revision of a workspace procedure ``viewer`` may see, and the procedure
    (shared with other readers of the same definition: read-only)."""
    from flows.casework.definitions import parse_stored

    row = _newest(session, workspace_id, viewer)
    return row, parse_stored(row.definition, row.name)


def list_procedures(session: Session, viewer: str) -> list[WorkspaceProcedure]:
    """The newest revision of each workspace procedure ``viewer`` sees, newest change first."""
    rows = session.exec(select(WorkspaceProcedure)
                        .where(_visible_to(viewer))
                        .order_by(col(WorkspaceProcedure.changed_at).desc(),
                                  col(WorkspaceProcedure.revision).desc())).all()
    newest: dict[str, WorkspaceProcedure] = {}
    for row in rows:
        newest.setdefault(row.id, row)
    return list(newest.values())


def save_scenario(session: Session, workspace_id: str, *, owner: str, name: str,
                  levers: list[str], now: datetime) -> WorkspaceScenario:
    """Keep ``levers`` under ``name`` for a workspace procedure ``owner`` sees; committed.

    The lever kinds are checked by the caller against the levers the page offers.
    """
    owned_procedure(session, workspace_id, owner)
    if len(list_scenarios(session, workspace_id, owner=owner)) >= MAX_SCENARIOS:
        raise InvalidInput(f"{MAX_SCENARIOS} scenarios are kept already; delete one first",
                           path="name")
    row = WorkspaceScenario(id=uuid.uuid4().hex, procedure=workspace_id, owner=owner,
                            name=name.strip()[:200] or "方案", levers=list(levers),
                            saved_at=aware_time(now))
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def list_scenarios(session: Session, workspace_id: str, *,
                   owner: str) -> list[WorkspaceScenario]:
    """The scenarios ``owner`` keeps of a workspace procedure, oldest first."""
    return list(session.exec(select(WorkspaceScenario)
                             .where(WorkspaceScenario.procedure == workspace_id,
                                    WorkspaceScenario.owner == owner)
                             .order_by(col(WorkspaceScenario.saved_at))).all())


def read_scenario(session: Session, scenario_id: str, *, owner: str) -> WorkspaceScenario:
    """One kept scenario of ``owner``; anyone else's is unknown."""
    row = session.get(WorkspaceScenario, scenario_id)
    if row is None or row.owner != owner:
        raise ProcedureNotFound(f"no kept scenario '{scenario_id[:40]}'")
    return row
