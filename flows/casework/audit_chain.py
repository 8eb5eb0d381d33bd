"""The audit hash chain: its change marker and its verification.

``hash = sha256(prev_hash + canonical JSON of seq, case_id, kind, payload, at, prev_hash)``;
:func:`verify_chain` names the first event edited, deleted, inserted or moved.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from flows.casework.tables import GENESIS_HASH, AuditChainHead, AuditEvent, event_hash

__all__ = [
    "CHANGE_MARKER",
    "ChainReport",
    "verify_chain",
]


@dataclass(frozen=True)
class ChainReport:
    """The result of :func:`verify_chain`: ``ok``, events read, the first bad one and why."""

    ok: bool
    events: int
    first_bad_seq: int | None = None
    problem: str | None = None

    def __str__(self) -> str:
        if self.ok:
            return f"audit chain intact: {self.events} events"
        return f"audit chain broken at event {self.first_bad_seq}: {self.problem}"


CHANGE_MARKER = sa_select(AuditChainHead.seq).where(AuditChainHead.id == 1)
"""The query of a number that moves on with every change to cases: the length of the
audit chain.

Every case operation appends to the chain in the transaction of its change, so while the
marker stays the same no case, step, material, decision or certificate changed. Read it
before the rows it vouches for (alone, or within another statement): rows read after it
are at least as new.
"""


def verify_chain(session: Session) -> ChainReport:
    """Walk every audit event in order; name the first whose content or order was changed.

    Each event must carry the next ``seq``, its ``prev_hash`` must be the previous event's
    hash and its ``hash`` must match its content; the chain head must name the last event.
    """
    prev_seq, prev_hash, count = 0, GENESIS_HASH, 0
    columns = (AuditEvent.seq, AuditEvent.case_id, AuditEvent.kind, AuditEvent.payload,
               AuditEvent.at, AuditEvent.prev_hash, AuditEvent.hash)
    rows = session.execute(
        sa_select(*columns).order_by(col(AuditEvent.seq)).execution_options(yield_per=2000)
    )
    for seq, case_id, kind, payload, at, linked_hash, stored_hash in rows:
        count += 1
        where = f"event {seq} ({kind}, case {case_id})"
        if seq != prev_seq + 1:
            first = seq if seq <= prev_seq else prev_seq + 1
            return ChainReport(False, count, first,
                               f"{where} follows event {prev_seq}: events are missing or "
                               "out of order")
        intact = stored_hash == event_hash(linked_hash, seq=seq, case_id=case_id, kind=kind,
                                           payload=payload, at=at)
        if linked_hash != prev_hash:
            if prev_seq and intact:
                # This event is intact, so the one before was rewritten with a new hash.
                return ChainReport(False, count, prev_seq,
                                   f"event {prev_seq} was rewritten: event {seq} "
                                   "links to a different hash")
            return ChainReport(False, count, seq,
                               f"{where} does not link to event {prev_seq}: it was changed, "
                               "moved or inserted")
        if not intact:
            return ChainReport(False, count, seq,
                               f"{where} was changed: its content does not match its hash")
        prev_seq, prev_hash = seq, stored_hash
    head = session.exec(select(AuditChainHead).where(AuditChainHead.id == 1)
                        .execution_options(populate_existing=True)).one()
    if head.seq > prev_seq:
        return ChainReport(False, count, prev_seq + 1,
                           f"the chain head names event {head.seq} but the last event is "
                           f"{prev_seq}: events were deleted at the end")
    if head.seq < prev_seq:
        return ChainReport(False, count, head.seq + 1,
                           f"events {head.seq + 1} to {prev_seq} were added after the chain "
                           f"head (event {head.seq}) without extending it")
    if head.hash != prev_hash:
        return ChainReport(False, count, prev_seq,
                           f"event {prev_seq} is not the event the chain head names: the last "
                           "event was replaced")
    return ChainReport(True, count)
