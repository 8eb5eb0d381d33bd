"""The outbox: what the operations tell the flows, read and marked done by the relay."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from flows.casework._rows import OUTBOX
from flows.casework.tables import Outbox, aware_time

__all__ = [
    "ADVANCING_KINDS",
    "mark_processed",
    "pending_outbox",
    "settle_outbox",
]

ADVANCING_KINDS = frozenset({"case_opened", "materials_submitted", "decision"})
"""Outbox kinds after which a case may move on; other kinds are notices (steps started,
case closed, escalation) that need no :func:`~flows.casework.advance_case`."""

_PENDING_OUTBOX = (sa_select(*OUTBOX.c).where(OUTBOX.c.processed_at.is_(None))
                   .order_by(OUTBOX.c.id).limit(bindparam("limit")))


def pending_outbox(session: Session, limit: int = 100) -> list[Any]:
    """Unprocessed outbox rows, oldest first (read-only rows with the columns of
    :class:`~flows.casework.tables.Outbox` as attributes)."""
    return list(session.execute(_PENDING_OUTBOX, {"limit": limit}).all())


def mark_processed(session: Session, ids: Iterable[int], *, now: datetime | None = None) -> int:
    """Mark outbox rows done (once; already processed rows stay as they were); commits."""
    at = aware_time(now or datetime.now(UTC))
    ids = list(ids)
    if not ids:
        return 0
    result = session.execute(
        update(Outbox).where(col(Outbox.id).in_(ids), col(Outbox.processed_at).is_(None))
        .values(processed_at=at).execution_options(synchronize_session=False)
    )
    session.commit()
    return result.rowcount


def settle_outbox(session: Session, rows: Iterable[Any], advanced_case_ids: set[str], *,
                  limit: int, now: datetime | None = None) -> int:
    """After an advance: mark processed the advancing ``rows`` of the cases advanced, and
    every notice row pending now (those read with ``rows`` and those the advance itself
    wrote: steps started, case closed), so a case just closed leaves nothing pending.

    Rows of cases not advanced stay pending for the next advance. Returns how many rows
    were marked; commits.
    """
    handled = [r.id for r in rows if r.kind in ADVANCING_KINDS and r.case_id in advanced_case_ids]
    handled += [r.id for r in pending_outbox(session, limit) if r.kind not in ADVANCING_KINDS]
    mark_processed(session, handled, now=now)
    return len(handled)
