"""The audit hash chain: its change marker, its verification, its seal and its anchors.

``hash = sha256(prev_hash + canonical JSON of seq, case_id, kind, payload, at, prev_hash)``
and ``mac = HMAC-SHA256(audit key, hash)`` (:mod:`flows.casework.audit_key`): without the
key an edited event cannot be re-chained. The records an auditor relies on are tied to the
events that wrote them: a decision to its ``decision`` event (field by field), a case's
applicant to the keyed digest in ``case_opened``, its certificates to the keyed digest in
``case_approved``. Anchors (:func:`anchor_chain`: the head's seq and hash, appended to a
file outside the database) catch a chain cut short or rebuilt from the start.
:func:`verify_chain` names the first event or record edited, deleted, inserted or moved.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from flows.casework.audit_key import audit_key, head_mac, mac, record_digest
from flows.casework.tables import (
    GENESIS_HASH,
    AuditChainHead,
    AuditEvent,
    Case,
    Certificate,
    Decision,
    ProcedureDefinition,
    event_hash,
)
from process_models.errors import Conflict

__all__ = [
    "BREAKS",
    "CHANGE_MARKER",
    "Anchor",
    "ChainReport",
    "anchor_chain",
    "anchors_file",
    "applicant_digest",
    "certificates_digest",
    "definition_digest",
    "seal_chain",
    "verify_chain",
]


@dataclass(frozen=True)
class ChainReport:
    """The result of :func:`verify_chain`: ``ok``, events read, the first bad one and why."""

    ok: bool
    events: int
    first_bad_seq: int | None = None
    problem: str | None = None
    kind: str | None = None
    """What broke, one of :data:`BREAKS` (for people: ``chain.<kind>`` in the words)."""
    case_id: str | None = None
    """The case of the first broken event or record, when it has one."""

    def __str__(self) -> str:
        if self.ok:
            return f"audit chain intact: {self.events} events"
        if self.first_bad_seq is None:
            return f"audit chain broken: {self.problem}"
        return f"audit chain broken at event {self.first_bad_seq}: {self.problem}"


CHANGE_MARKER = sa_select(AuditChainHead.seq).where(AuditChainHead.id == 1)
"""The query of a number that moves on with every change to cases: the length of the
audit chain.

Every case operation appends to the chain in the transaction of its change, so while the
marker stays the same no case, step, material, decision or certificate changed. Read it
before the rows it vouches for (alone, or within another statement): rows read after it
are at least as new.
"""


def applicant_digest(key: bytes, case) -> str:
    """The keyed digest of a case's applicant and procedure, kept in ``case_opened``."""
    return record_digest(key, [case.applicant_name, case.applicant_id_number,
                               case.applicant_address, case.applicant_phone,
                               case.procedure_id, case.procedure_version])


def definition_digest(definition: str) -> str:
    """SHA-256 of a stored procedure definition's text, as the audit trail names it."""
    return hashlib.sha256(definition.encode("utf-8")).hexdigest()


def certificates_digest(key: bytes, certificates: Iterable) -> str:
    """The keyed digest of a case's certificates (number, name, step, department), kept in
    ``case_approved``; ``certificates`` are rows or dicts."""
    def values(c) -> list[str]:
        get = c.get if isinstance(c, dict) else lambda name: getattr(c, name)
        return [get("number"), get("name"), get("step_id"), get("department_id")]

    return record_digest(key, sorted(values(c) for c in certificates))


_DECISION_FIELDS = ("step_id", "department_id", "outcome", "reason", "decided_by")


BREAKS = ("missing", "rewritten", "relinked", "changed", "no_mac", "bad_mac", "head_behind",
          "head_ahead", "head_replaced", "head_moved", "decision_inserted", "decision_changed",
          "case_inserted", "applicant_changed", "definition_changed", "published_outside",
          "certificate_inserted", "certificates_changed", "anchors_edited", "anchor_cut",
          "anchor_rewritten")
"""The kinds of break :func:`verify_chain` tells apart (:attr:`ChainReport.kind`)."""


class _Broken(Exception):
    """The first problem found: the event it is at (``None``: a record with no event), what
    is wrong, its kind (one of :data:`BREAKS`) and the case it belongs to."""

    def __init__(self, seq: int | None, problem: str, kind: str,
                 case_id: str | None = None) -> None:
        super().__init__(problem)
        self.seq, self.problem, self.kind, self.case_id = seq, problem, kind, case_id


def verify_chain(session: Session, *, anchors: Path | None = None) -> ChainReport:
    """Walk every audit event in order; name the first event or record that was changed.

    Each event must carry the next ``seq``, its ``prev_hash`` must be the previous event's
    hash, its ``hash`` must match its content and its ``mac`` the hash under the audit key;
    the chain head must name the last event, with its MAC. Then every decision, applicant
    and certificate must match the event that wrote it, and every anchor in ``anchors``
    (default :func:`anchors_file`) must name an event of this chain.
    """
    key = audit_key()
    written: dict[str, dict[Any, Any]] = {
        "decision": {}, "case_opened": {}, "case_approved": {}, "definition": {},
        "published": {}}
    counted = [0]
    try:
        _walk(session, key, written, counted)
        _check_records(session, key, written)
        _check_anchors(session, anchors or anchors_file(), key, counted[0])
    except _Broken as broken:
        return ChainReport(False, counted[0], broken.seq, broken.problem, broken.kind,
                           broken.case_id)
    return ChainReport(True, counted[0])


def _walk(session: Session, key: bytes, written: dict, counted: list[int]) -> None:
    """The events in order (see :func:`verify_chain`), counted in ``counted[0]``."""
    prev_seq, prev_hash, prev_case = 0, GENESIS_HASH, None
    columns = (AuditEvent.seq, AuditEvent.case_id, AuditEvent.kind, AuditEvent.payload,
               AuditEvent.at, AuditEvent.prev_hash, AuditEvent.hash, AuditEvent.mac)
    rows = session.execute(
        sa_select(*columns).order_by(col(AuditEvent.seq)).execution_options(yield_per=2000)
    )
    for seq, case_id, kind, payload, at, linked_hash, stored_hash, stored_mac in rows:
        counted[0] += 1
        where = f"event {seq} ({kind}, case {case_id})"
        if seq != prev_seq + 1:
            first = seq if seq <= prev_seq else prev_seq + 1
            raise _Broken(first, f"{where} follows event {prev_seq}: events are missing or "
                                 "out of order", "missing", case_id)
        intact = stored_hash == event_hash(linked_hash, seq=seq, case_id=case_id, kind=kind,
                                           payload=payload, at=at)
        if linked_hash != prev_hash:
            if prev_seq and intact:
                # This event is intact, so the one before was rewritten with a new hash.
                raise _Broken(prev_seq, f"event {prev_seq} was rewritten: event {seq} links "
                                        "to a different hash", "rewritten", prev_case)
            raise _Broken(seq, f"{where} does not link to event {prev_seq}: it was changed, "
                               "moved or inserted", "relinked", case_id)
        if not intact:
            raise _Broken(seq, f"{where} was changed: its content does not match its hash",
                          "changed", case_id)
        if stored_mac is None:
            raise _Broken(seq, f"{where} carries no MAC: it was written before the audit key "
                               "(seal the chain once: onething audit seal) or its MAC was "
                               "removed", "no_mac", case_id)
        if stored_mac != mac(key, stored_hash):
            raise _Broken(seq, f"{where} was rewritten and re-chained: its MAC does not match "
                               "its hash under the audit key (or this is not the key of the "
                               "deployment that wrote it)", "bad_mac", case_id)
        if kind == "decision":
            written["decision"][payload.get("decision_id")] = (seq, {**payload, "at": at,
                                                                     "case_id": case_id})
        elif kind in ("case_opened", "case_approved"):
            written[kind][case_id] = (seq, payload)
        if kind == "case_opened" and "procedure_digest" in payload:
            written["definition"].setdefault(
                (payload["procedure_id"], payload["procedure_version"]),
                (seq, payload["procedure_digest"]))
        elif kind in ("definition_stored", "definition_published"):
            written["definition"].setdefault((payload["procedure_id"], payload["version"]),
                                             (seq, payload["digest"]))
            if kind == "definition_published":
                written["published"][(payload["procedure_id"], payload["version"])] = seq
        prev_seq, prev_hash, prev_case = seq, stored_hash, case_id
    head = session.exec(select(AuditChainHead).where(AuditChainHead.id == 1)
                        .execution_options(populate_existing=True)).one()
    if head.seq > prev_seq:
        raise _Broken(prev_seq + 1, f"the chain head names event {head.seq} but the last "
                                    f"event is {prev_seq}: events were deleted at the end",
                      "head_behind")
    if head.seq < prev_seq:
        raise _Broken(head.seq + 1, f"events {head.seq + 1} to {prev_seq} were added after "
                                    f"the chain head (event {head.seq}) without extending it",
                      "head_ahead")
    if head.hash != prev_hash:
        raise _Broken(prev_seq, f"event {prev_seq} is not the event the chain head names: the "
                                "last event was replaced", "head_replaced")
    if head.seq and head.mac != head_mac(key, head.seq, head.hash):
        raise _Broken(prev_seq, f"the chain head (event {head.seq}) was set without the audit "
                                "key: events after it were deleted and the head moved back",
                      "head_moved")


def _check_records(session: Session, key: bytes, written: dict) -> None:
    """Each decision, applicant, stored definition and certificate set against the event
    that wrote it."""
    for row in session.exec(select(Decision).order_by(col(Decision.id))):
        what = f"decision {row.id} (case {row.case_id}, step {row.step_id})"
        seq, payload = written["decision"].get(row.id, (None, None))
        if payload is None:
            raise _Broken(None, f"{what} has no decision event: it was inserted outside the "
                             "case operations", "decision_inserted", row.case_id)
        recorded = {"case_id": payload["case_id"], "at": payload["at"],
                    "materials": payload.get("materials") or None,
                    **{name: payload.get(name) for name in _DECISION_FIELDS}}
        actual = {"case_id": row.case_id, "at": row.decided_at, "materials": row.materials,
                  **{name: getattr(row, name) for name in _DECISION_FIELDS}}
        changed = [name for name in recorded if recorded[name] != actual[name]]
        if changed:
            raise _Broken(seq, f"{what} was changed ({', '.join(changed)}): it no longer "
                               f"matches its decision event {seq}", "decision_changed", row.case_id)
    opened = written["case_opened"]
    for row in session.exec(select(Case).order_by(col(Case.id))):
        seq, payload = opened.get(row.id, (None, None))
        if payload is None:
            raise _Broken(None, f"case {row.id} has no case_opened event: it was inserted "
                             "outside the case operations", "case_inserted", row.id)
        digest = payload.get("applicant_digest")
        if digest is not None and digest != applicant_digest(key, row):
            raise _Broken(seq, f"case {row.id}: its applicant or procedure was changed; it no "
                               f"longer matches its case_opened event {seq}", "applicant_changed", row.id)
    for row in session.exec(select(ProcedureDefinition)):
        what = f"procedure '{row.procedure_id}' version '{row.version}'"
        seq, digest = written["definition"].get((row.procedure_id, row.version), (None, None))
        if digest is not None and digest != definition_digest(row.definition):
            raise _Broken(seq, f"the stored definition of {what} was changed: it no longer "
                               f"matches event {seq}", "definition_changed")
        if row.published_at is not None and (row.procedure_id, row.version) not in \
                written["published"]:
            raise _Broken(None, f"{what} is marked published but no definition_published "
                                "event records it: it was published outside `onething "
                                "procedure publish`", "published_outside")
    issued: dict[str, list[Certificate]] = {}
    for row in session.exec(select(Certificate).order_by(col(Certificate.id))):
        issued.setdefault(row.case_id, []).append(row)
    approved = written["case_approved"]
    for case_id in sorted(set(issued) | set(approved)):
        seq, payload = approved.get(case_id, (None, {}))
        if seq is None:
            raise _Broken(None, f"certificate {issued[case_id][0].number} of case {case_id} has "
                             "no case_approved event: it was inserted outside the case "
                             "operations", "certificate_inserted", case_id)
        digest = payload.get("certificates_digest")
        if digest is not None and digest != certificates_digest(key, issued.get(case_id, [])):
            raise _Broken(seq, f"the certificates of case {case_id} were changed, added or "
                               f"removed: they no longer match its case_approved event {seq}", "certificates_changed", case_id)


# --- anchors outside the database ------------------------------------------------------------


@dataclass(frozen=True)
class Anchor:
    """The chain head of a database at a moment, as appended to the anchors file."""

    at: datetime
    database: str
    seq: int
    hash: str

    def line(self, key: bytes) -> str:
        fields = (f"{self.at.isoformat(timespec='seconds')}\t{self.database}\t{self.seq}\t"
                  f"{self.hash}")
        return f"{fields}\t{mac(key, 'anchor ' + fields)}\n"

    def __str__(self) -> str:
        return f"event {self.seq} · {self.hash[:16]}…"


def anchors_file() -> Path:
    """The append-only file of anchors: ``data_dir/audit-anchors.log``."""
    from process_models.settings import settings

    return settings.data_dir / "audit-anchors.log"


def _database(session: Session) -> str:
    """Which database an anchor is of: its URL without password (SQLite: absolute path)."""
    url = session.get_bind().engine.url
    if url.get_backend_name() == "sqlite" and url.database:
        url = url.set(database=str(Path(url.database).resolve()))
    return url.render_as_string(hide_password=True)


def anchor_chain(session: Session, *, now: datetime | None = None,
                 anchors: Path | None = None) -> Anchor:
    """Append the chain head (seq and hash, under the audit key) to the anchors file.

    Run periodically (``onething audit verify`` and ``audit report`` do): an anchor is
    a point the database cannot be cut back or rebuilt behind unnoticed.
    """
    key = audit_key()
    head = session.exec(select(AuditChainHead).where(AuditChainHead.id == 1)
                        .execution_options(populate_existing=True)).one()
    anchor = Anchor(now or datetime.now(UTC), _database(session), head.seq, head.hash)
    path = anchors or anchors_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as file:
        file.write(anchor.line(key))
    return anchor


def _check_anchors(session: Session, path: Path, key: bytes, count: int) -> None:
    """Every anchor of this database names an event still there with the same hash."""
    if not path.exists():
        return
    database = _database(session)
    for number, line in enumerate(path.read_text(encoding="utf-8",
                                                 errors="replace").splitlines(), 1):
        parts = line.split("\t")
        if len(parts) == 5 and parts[1] != database:
            continue
        where = f"{path.name} line {number}"
        if len(parts) != 5 or mac(key, "anchor " + "\t".join(parts[:4])) != parts[4]:
            raise _Broken(None, f"{where} is not an anchor written with the audit key: the "
                                "anchors file was edited", "anchors_edited")
        seq, anchored_hash = int(parts[2]), parts[3]
        if seq > count:
            raise _Broken(count + 1, f"{where} anchored event {seq}, but the chain ends at "
                                     f"event {count}: events were deleted at the end", "anchor_cut")
        if seq and session.execute(sa_select(AuditEvent.hash).where(AuditEvent.seq == seq)
                                   ).scalar_one_or_none() != anchored_hash:
            raise _Broken(seq, f"event {seq} is not the event {where} anchored: the chain "
                               "was rewritten", "anchor_rewritten")


# --- sealing a chain written before the key ----------------------------------------------------


def seal_chain(session: Session) -> int:
    """Give the events written before the audit key their MACs, once; the number sealed.

    The chain must verify by its hashes first; an event that already has a MAC keeps it.
    """
    key = audit_key()
    unsealed = session.execute(sa_select(AuditEvent.seq, AuditEvent.hash)
                               .where(col(AuditEvent.mac).is_(None))).all()
    events, chain_head = AuditEvent.__table__, AuditChainHead.__table__
    connection = session.connection()
    if unsealed:
        connection.execute(update(events).where(events.c.seq == bindparam("row_seq"))
                           .values(mac=bindparam("new_mac")),
                           [{"row_seq": seq, "new_mac": mac(key, h)} for seq, h in unsealed])
    seq, head_hash = connection.execute(sa_select(chain_head.c.seq, chain_head.c.hash)).one()
    if seq:
        connection.execute(update(chain_head).values(mac=head_mac(key, seq, head_hash)))
    report = verify_chain(session)
    if not report.ok:
        session.rollback()
        raise Conflict(f"not sealed: {report}")
    session.commit()
    return len(unsealed)
